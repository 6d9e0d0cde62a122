//! Lambda's event filtering (`FilterCriteria`) for the local runner: EventBridge pattern syntax
//! matched against one record of a queue or stream, before the handler is invoked.
//!
//! The emulator stores a mapping's filter criteria but applies none of them, so the runner does.
//! What a pattern sees is the record as Lambda's filtering sees it ([`sqs_view`], [`kinesis_view`],
//! DynamoDB records as they are): an SQS `body` is matched as JSON when it parses as JSON, otherwise
//! as the plain string it is (only string patterns, exact, prefix, ..., can match it); Kinesis `data`
//! is base64-decoded and matched as JSON when it is JSON, otherwise it stays the base64 text of the
//! record (Lambda filters a stream's data only when it is JSON; codegen warns about plain patterns
//! on `data`, which cannot match).
//!
//! Operators: exact values (strings, numbers compared as numbers, booleans, `null`), `prefix`,
//! `suffix` (either with `equals-ignore-case`), `anything-but` (a value, a list, `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `equals-ignore-case`, `wildcard`, `cidr`,
//! `$or`, and nested objects. Codegen checks a pattern's shape; a pattern this module cannot read
//! matches nothing (and [`Filters::new`] says why).

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// A pattern that is not one Lambda would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter pattern {pattern}: {reason}")]
pub struct FilterError {
    pub pattern: String,
    pub reason: String,
}

/// A mapping's filter criteria: a record passes when any pattern matches it; no patterns: all pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    patterns: Vec<Value>,
}

impl Filters {
    /// Parses each pattern (compact JSON, as the plan carries them).
    pub fn new(patterns: &[String]) -> Result<Filters, FilterError> {
        let patterns = patterns
            .iter()
            .map(|text| {
                let value: Value = serde_json::from_str(text).map_err(|e| FilterError {
                    pattern: text.clone(),
                    reason: e.to_string(),
                })?;
                if !value.is_object() {
                    return Err(FilterError {
                        pattern: text.clone(),
                        reason: "a pattern is a JSON object".into(),
                    });
                }
                Ok(value)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filters { patterns })
    }

    /// No patterns: every record passes.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `view` (a record as filtering sees it) passes.
    pub fn pass(&self, view: &Value) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| matches(p, view))
    }
}

/// An SQS record (as in Lambda's event) as filtering sees it: its `body` parsed when it is JSON.
pub fn sqs_view(record: &Value) -> Value {
    let mut view = record.clone();
    if let Some(body) = view.get_mut("body") {
        decode_json_string(body);
    }
    view
}

/// A Kinesis record (as in Lambda's event) as filtering sees it: the `kinesis` object's fields,
/// `data` base64-decoded and parsed when it is JSON (left as the record's base64 text otherwise).
pub fn kinesis_view(record: &Value) -> Value {
    let mut view = record.get("kinesis").cloned().unwrap_or(Value::Null);
    if let Some(data) = view.get_mut("data") {
        let parsed = data
            .as_str()
            .and_then(|d| BASE64.decode(d).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(json) = parsed {
            *data = json;
        }
    }
    view
}

/// A string holding a JSON object or array becomes that value; any other string stays as it is.
fn decode_json_string(v: &mut Value) {
    if let Value::String(text) = v
        && let Ok(parsed @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(text)
    {
        *v = parsed;
    }
}

/// Whether the object pattern `pattern` matches `event`.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(fields) = pattern else {
        return false;
    };
    fields.iter().all(|(key, rule)| {
        if key == "$or" {
            return rule
                .as_array()
                .is_some_and(|alts| alts.iter().any(|alt| matches(alt, event)));
        }
        field_matches(rule, event.as_object().and_then(|e| e.get(key)))
    })
}

/// One pattern field against the event's value there (`None`: the field is missing).
fn field_matches(rule: &Value, value: Option<&Value>) -> bool {
    match rule {
        Value::Object(_) => match value {
            Some(Value::Array(items)) => items.iter().any(|item| matches(rule, item)),
            Some(v) => matches(rule, v),
            None => false,
        },
        Value::Array(matchers) => matchers.iter().any(|m| matcher_matches(m, value)),
        _ => false,
    }
}

/// One entry of a pattern's list against a field; an array field matches when any element does.
fn matcher_matches(matcher: &Value, value: Option<&Value>) -> bool {
    if let Value::Object(op) = matcher
        && let Some(exists) = op.get("exists")
    {
        let present = match value {
            None => false,
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Object(_)) => false, // exists applies to leaves
            Some(_) => true,
        };
        return exists.as_bool() == Some(present);
    }
    match value {
        None => false,
        Some(Value::Array(items)) => items.iter().any(|item| leaf_matches(matcher, item)),
        Some(v) => leaf_matches(matcher, v),
    }
}

/// One matcher against one leaf value.
fn leaf_matches(matcher: &Value, value: &Value) -> bool {
    match matcher {
        Value::Object(op) => operator_matches(op, value),
        exact => equal(exact, value),
    }
}

/// Exact equality, numbers compared by value (`5` equals `5.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn operator_matches(op: &Map<String, Value>, value: &Value) -> bool {
    let Some((name, arg)) = op.iter().next() else {
        return false;
    };
    match name.as_str() {
        "prefix" => text_test(arg, value, |v, p| v.starts_with(p)),
        "suffix" => text_test(arg, value, |v, s| v.ends_with(s)),
        "equals-ignore-case" => value
            .as_str()
            .zip(arg.as_str())
            .is_some_and(|(v, a)| v.to_lowercase() == a.to_lowercase()),
        "wildcard" => value
            .as_str()
            .zip(arg.as_str())
            .is_some_and(|(v, w)| wildcard(w, v)),
        "numeric" => value.as_f64().is_some_and(|n| numeric(arg, n)),
        "cidr" => value
            .as_str()
            .zip(arg.as_str())
            .is_some_and(|(v, c)| in_cidr(v, c)),
        "anything-but" => anything_but(arg, value),
        _ => false,
    }
}

/// `prefix`/`suffix` with a plain string, or `{"equals-ignore-case": "..."}`.
fn text_test(arg: &Value, value: &Value, test: fn(&str, &str) -> bool) -> bool {
    let Some(v) = value.as_str() else {
        return false;
    };
    match arg {
        Value::String(s) => test(v, s),
        Value::Object(inner) => inner
            .get("equals-ignore-case")
            .and_then(Value::as_str)
            .is_some_and(|s| test(&v.to_lowercase(), &s.to_lowercase())),
        _ => false,
    }
}

/// `anything-but`: a value, a list of values, or an operator (`prefix`, `suffix`,
/// `equals-ignore-case` with one value or a list, `wildcard`) that must not match.
fn anything_but(arg: &Value, value: &Value) -> bool {
    let excluded = match arg {
        Value::Array(values) => values.iter().any(|x| equal(x, value)),
        Value::Object(op) => match op.iter().next() {
            Some((name, Value::Array(list))) => list.iter().any(|item| {
                let mut single = Map::new();
                single.insert(name.clone(), item.clone());
                operator_matches(&single, value)
            }),
            Some(_) => operator_matches(op, value),
            None => false,
        },
        single => equal(single, value),
    };
    !excluded
}

/// `numeric`: pairs of comparison and number, all of which must hold (`[">", 0, "<=", 5]`).
fn numeric(arg: &Value, n: f64) -> bool {
    let Some(items) = arg.as_array() else {
        return false;
    };
    if items.is_empty() || items.len() % 2 != 0 {
        return false;
    }
    items.chunks(2).all(|pair| {
        let (Some(op), Some(bound)) = (pair[0].as_str(), pair[1].as_f64()) else {
            return false;
        };
        match op {
            "=" => n == bound,
            "<" => n < bound,
            "<=" => n <= bound,
            ">" => n > bound,
            ">=" => n >= bound,
            _ => false,
        }
    })
}

/// `wildcard`: `*` matches any run of characters (`\*` a literal star, `\\` a backslash).
fn wildcard(pattern: &str, text: &str) -> bool {
    // Tokens: Some(c) a literal character, None a star.
    let mut tokens: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Some(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic greedy match with backtracking to the last star.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Some(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(None) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(Option::is_none)
}

/// Whether the address `ip` is in the block `cidr` (IPv4 or IPv6).
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(net), Ok(bits)) = (ip.parse::<IpAddr>(), net.parse::<IpAddr>(), bits.parse())
    else {
        return false;
    };
    let prefix_match = |a: u128, b: u128, width: u32, bits: u32| {
        if bits > width {
            return false;
        }
        if bits == 0 {
            return true;
        }
        let shift = width - bits;
        (a >> shift) == (b >> shift)
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            prefix_match(u32::from(a).into(), u32::from(b).into(), 32, bits)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => prefix_match(a.into(), b.into(), 128, bits),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn m(pattern: Value, event: Value) -> bool {
        matches(&pattern, &event)
    }

    #[test]
    fn exact_values_and_nested_objects() {
        let e =
            json!({"type": "order", "n": 5, "ok": true, "none": null, "detail": {"a": {"b": "c"}}});
        assert!(m(json!({"type": ["order"]}), e.clone()));
        assert!(m(json!({"type": ["refund", "order"]}), e.clone()));
        assert!(!m(json!({"type": ["refund"]}), e.clone()));
        assert!(m(json!({"n": [5.0]}), e.clone()), "numbers by value");
        assert!(
            !m(json!({"n": ["5"]}), e.clone()),
            "a string is not a number"
        );
        assert!(m(json!({"ok": [true], "none": [null]}), e.clone()));
        assert!(m(json!({"detail": {"a": {"b": ["c"]}}}), e.clone()));
        assert!(!m(json!({"detail": {"a": {"b": ["x"]}}}), e.clone()));
        assert!(!m(json!({"missing": ["x"]}), e.clone()));
        assert!(
            !m(json!({"type": {"x": ["order"]}}), e.clone()),
            "object pattern on a string"
        );
        // Every field must match.
        assert!(!m(json!({"type": ["order"], "n": [6]}), e.clone()));
        // An array field matches when any element does.
        assert!(m(json!({"tags": ["b"]}), json!({"tags": ["a", "b"]})));
        assert!(m(
            json!({"items": {"sku": ["x"]}}),
            json!({"items": [{"sku": "y"}, {"sku": "x"}]})
        ));
    }

    #[test]
    fn prefix_suffix_and_equals_ignore_case() {
        let e = json!({"path": "/checkout/pay", "file": "Photo.PNG"});
        assert!(m(json!({"path": [{"prefix": "/checkout"}]}), e.clone()));
        assert!(!m(json!({"path": [{"prefix": "/cart"}]}), e.clone()));
        assert!(m(json!({"file": [{"suffix": ".PNG"}]}), e.clone()));
        assert!(!m(json!({"file": [{"suffix": ".png"}]}), e.clone()));
        assert!(m(
            json!({"file": [{"suffix": {"equals-ignore-case": ".png"}}]}),
            e.clone()
        ));
        assert!(m(
            json!({"file": [{"prefix": {"equals-ignore-case": "photo"}}]}),
            e.clone()
        ));
        assert!(m(
            json!({"file": [{"equals-ignore-case": "photo.png"}]}),
            e.clone()
        ));
        assert!(!m(
            json!({"file": [{"equals-ignore-case": "photo.jpg"}]}),
            e.clone()
        ));
        assert!(
            !m(json!({"n": [{"prefix": "1"}]}), json!({"n": 12})),
            "strings only"
        );
    }

    #[test]
    fn anything_but() {
        let e = json!({"state": "ok", "n": 3, "file": "a.tmp"});
        assert!(m(json!({"state": [{"anything-but": "failed"}]}), e.clone()));
        assert!(!m(json!({"state": [{"anything-but": "ok"}]}), e.clone()));
        assert!(!m(
            json!({"state": [{"anything-but": ["failed", "ok"]}]}),
            e.clone()
        ));
        assert!(!m(json!({"n": [{"anything-but": [1, 2, 3]}]}), e.clone()));
        assert!(m(json!({"n": [{"anything-but": 4}]}), e.clone()));
        assert!(!m(
            json!({"state": [{"anything-but": {"prefix": "o"}}]}),
            e.clone()
        ));
        assert!(m(
            json!({"state": [{"anything-but": {"prefix": "x"}}]}),
            e.clone()
        ));
        assert!(!m(
            json!({"file": [{"anything-but": {"suffix": ".tmp"}}]}),
            e.clone()
        ));
        assert!(!m(
            json!({"state": [{"anything-but": {"equals-ignore-case": ["OK", "x"]}}]}),
            e.clone()
        ));
        assert!(!m(
            json!({"file": [{"anything-but": {"wildcard": "*.tmp"}}]}),
            e.clone()
        ));
        // A missing field is not "anything but".
        assert!(!m(json!({"gone": [{"anything-but": "x"}]}), e.clone()));
    }

    #[test]
    fn numeric_ranges() {
        let e = json!({"price": 10.5, "text": "10"});
        assert!(m(json!({"price": [{"numeric": [">", 10]}]}), e.clone()));
        assert!(m(
            json!({"price": [{"numeric": [">", 0, "<=", 10.5]}]}),
            e.clone()
        ));
        assert!(!m(
            json!({"price": [{"numeric": [">", 0, "<", 10.5]}]}),
            e.clone()
        ));
        assert!(m(json!({"price": [{"numeric": ["=", 10.5]}]}), e.clone()));
        assert!(m(json!({"price": [{"numeric": [">=", 10.5]}]}), e.clone()));
        assert!(
            !m(json!({"text": [{"numeric": [">", 1]}]}), e.clone()),
            "numbers only"
        );
        assert!(
            !m(json!({"price": [{"numeric": [">"]}]}), e.clone()),
            "malformed"
        );
    }

    #[test]
    fn exists() {
        let e = json!({"a": "x", "list": [], "obj": {"b": 1}});
        assert!(m(json!({"a": [{"exists": true}]}), e.clone()));
        assert!(!m(json!({"a": [{"exists": false}]}), e.clone()));
        assert!(m(json!({"gone": [{"exists": false}]}), e.clone()));
        assert!(!m(json!({"gone": [{"exists": true}]}), e.clone()));
        assert!(
            !m(json!({"list": [{"exists": true}]}), e.clone()),
            "an empty list"
        );
        assert!(m(json!({"obj": {"b": [{"exists": true}]}}), e.clone()));
        assert!(m(json!({"obj": {"c": [{"exists": false}]}}), e.clone()));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.png", "dir/a.png"));
        assert!(wildcard("dir/*/a.*", "dir/x/y/a.jpg"));
        assert!(!wildcard("*.png", "a.jpg"));
        assert!(wildcard("a\\*b", "a*b"));
        assert!(!wildcard("a\\*b", "axb"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a*b*c", "abbbc"));
        assert!(!wildcard("abc", "abcd"));
        assert!(m(
            json!({"k": [{"wildcard": "img/*.png"}]}),
            json!({"k": "img/cat.png"})
        ));
    }

    #[test]
    fn cidr_blocks() {
        let e = json!({"ip": "10.0.1.7", "ip6": "2001:db8::1"});
        assert!(m(json!({"ip": [{"cidr": "10.0.0.0/16"}]}), e.clone()));
        assert!(!m(json!({"ip": [{"cidr": "10.0.0.0/24"}]}), e.clone()));
        assert!(m(json!({"ip": [{"cidr": "0.0.0.0/0"}]}), e.clone()));
        assert!(m(json!({"ip6": [{"cidr": "2001:db8::/32"}]}), e.clone()));
        assert!(!m(json!({"ip6": [{"cidr": "10.0.0.0/8"}]}), e.clone()));
        assert!(!m(json!({"ip": [{"cidr": "10.0.0.0/33"}]}), e.clone()));
    }

    #[test]
    fn or_clauses() {
        let p = json!({"$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 5]}]}]});
        assert!(m(p.clone(), json!({"a": "1"})));
        assert!(m(p.clone(), json!({"b": 9})));
        assert!(!m(p.clone(), json!({"a": "2", "b": 1})));
        // Beside other fields, which must match too.
        let p = json!({"kind": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]});
        assert!(m(p.clone(), json!({"kind": "x", "b": "2"})));
        assert!(!m(p, json!({"kind": "y", "b": "2"})));
    }

    #[test]
    fn filters_are_ored_and_empty_passes_all() {
        let f = Filters::new(&[r#"{"a":["1"]}"#.into(), r#"{"b":["2"]}"#.into()]).unwrap();
        assert!(f.pass(&json!({"a": "1"})));
        assert!(f.pass(&json!({"b": "2"})));
        assert!(!f.pass(&json!({"c": "3"})));
        assert!(Filters::default().pass(&json!({})));
        assert!(Filters::new(&["[1]".into()]).is_err());
        assert!(Filters::new(&["{not json".into()]).is_err());
    }

    #[test]
    fn sqs_bodies_are_matched_as_json_when_they_are() {
        let f = Filters::new(&[r#"{"body":{"type":["order"]}}"#.into()]).unwrap();
        let record = |body: &str| json!({"messageId": "m", "body": body, "attributes": {}});
        assert!(f.pass(&sqs_view(&record(r#"{"type":"order","n":1}"#))));
        assert!(!f.pass(&sqs_view(&record(r#"{"type":"refund"}"#))));
        assert!(!f.pass(&sqs_view(&record("type=order"))), "not JSON");
        // A plain-text body: only string patterns can match it.
        let text = Filters::new(&[r#"{"body":[{"prefix":"type="}]}"#.into()]).unwrap();
        assert!(text.pass(&sqs_view(&record("type=order"))));
        assert!(!text.pass(&sqs_view(&record(r#"{"type":"order"}"#))));
        // Other fields of the record can be matched too.
        let attrs = Filters::new(&[r#"{"attributes":{"SenderId":["me"]}}"#.into()]).unwrap();
        assert!(attrs.pass(&json!({"body": "x", "attributes": {"SenderId": "me"}})));
    }

    #[test]
    fn kinesis_data_is_decoded_then_matched_as_json() {
        let record = |data: &[u8]| {
            json!({"kinesis": {"partitionKey": "pk-1", "data": BASE64.encode(data)},
                   "eventSource": "aws:kinesis"})
        };
        let f = Filters::new(&[r#"{"data":{"page":[{"prefix":"/checkout"}]}}"#.into()]).unwrap();
        assert!(f.pass(&kinesis_view(&record(br#"{"page":"/checkout/pay"}"#))));
        assert!(!f.pass(&kinesis_view(&record(br#"{"page":"/cart"}"#))));
        assert!(!f.pass(&kinesis_view(&record(b"/checkout"))), "not JSON");
        // Data that is not JSON is not decoded: a plain pattern on it cannot match.
        let text = Filters::new(&[r#"{"data":["hello"]}"#.into()]).unwrap();
        assert!(!text.pass(&kinesis_view(&record(b"hello"))));
        assert!(!text.pass(&kinesis_view(&record(&[0xff, 0xfe]))));
        // JSON scalars are JSON too.
        let number = Filters::new(&[r#"{"data":[{"numeric":[">",1]}]}"#.into()]).unwrap();
        assert!(number.pass(&kinesis_view(&record(b"42"))));
        let pk = Filters::new(&[r#"{"partitionKey":["pk-1"]}"#.into()]).unwrap();
        assert!(pk.pass(&kinesis_view(&record(b"x"))));
    }

    #[test]
    fn dynamodb_records_are_matched_as_they_are() {
        let f = Filters::new(&[
            r#"{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["paid"]}}}}"#
                .into(),
        ])
        .unwrap();
        let rec = |name: &str, status: &str| json!({"eventName": name, "dynamodb": {"NewImage": {"status": {"S": status}}}});
        assert!(f.pass(&rec("INSERT", "paid")));
        assert!(!f.pass(&rec("REMOVE", "paid")));
        assert!(!f.pass(&rec("MODIFY", "new")));
    }
}
