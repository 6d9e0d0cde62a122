//! EventBridge event patterns: the JSON shape AWS accepts, checked member by member.
//!
//! Lambda's event filters and SNS's filter policies are written in the same language with fewer
//! operators (a [`Dialect`]); `filters` checks what is particular to each.

use crate::ast::{Json, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};

use super::values::{duplicate_key, wrong_type};

/// The longest event pattern EventBridge takes (compact JSON, characters).
pub(crate) const MAX_PATTERN_LEN: usize = 4096;

const OPERATORS: &[&str] = &[
    "prefix",
    "suffix",
    "anything-but",
    "numeric",
    "exists",
    "equals-ignore-case",
    "wildcard",
    "cidr",
];

/// The content filters Lambda's event filtering documents (no `wildcard`, no `cidr`).
const LAMBDA_OPERATORS: &[&str] = &[
    "prefix",
    "suffix",
    "anything-but",
    "numeric",
    "exists",
    "equals-ignore-case",
];

/// The content filters of SNS filter policies (no `wildcard`).
const SNS_OPERATORS: &[&str] = &[
    "prefix",
    "suffix",
    "anything-but",
    "numeric",
    "exists",
    "equals-ignore-case",
    "cidr",
];

/// Which service reads a pattern: the operators it takes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// A rule's event pattern.
    EventBridge,
    /// An event source mapping's `filter`.
    Lambda,
    /// An SNS subscription's `filter_policy`.
    Sns,
}

impl Dialect {
    fn operators(self) -> &'static [&'static str] {
        match self {
            Dialect::EventBridge => OPERATORS,
            Dialect::Lambda => LAMBDA_OPERATORS,
            Dialect::Sns => SNS_OPERATORS,
        }
    }

    /// What a pattern of this dialect is called in messages.
    fn noun(self) -> &'static str {
        match self {
            Dialect::EventBridge => "an event pattern",
            Dialect::Lambda => "a Lambda event filter",
            Dialect::Sns => "an SNS filter policy",
        }
    }
}

pub(crate) type Members = [(Spanned<String>, Spanned<Json>)];

/// Checks one pattern object of `dialect` (an event source mapping's filter, an SNS filter policy):
/// every member's shape and content filters. Returns whether nothing was wrong.
pub(crate) fn check_object(
    members: &Members,
    span: Span,
    dialect: Dialect,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let before = diags.len();
    object(members, span, dialect, diags);
    diags.len() == before
}

/// The length of `value` as compact JSON, in characters (what AWS's length limits count).
pub(crate) fn compact_len(value: &serde_json::Value) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.chars().count())
}

/// Checks `pattern = {...}` and returns the pattern as JSON (members in written order).
pub(crate) fn check(v: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<serde_json::Value> {
    let example = "write `pattern = { \"source\": [\"aws.s3\"] }`";
    let json = match &v.node {
        Value::Json(json @ Json::Object(_)) => json,
        Value::Str(_) => {
            diags.push(
                wrong_type(v, "a JSON object")
                    .help("write the JSON without quotes: `pattern = { ... }`"),
            );
            return None;
        }
        _ => {
            diags.push(wrong_type(v, "a JSON object").help(example));
            return None;
        }
    };
    let before = diags.len();
    if let Json::Object(members) = json {
        object(members, v.span, Dialect::EventBridge, diags);
    }
    if diags.len() > before {
        return None;
    }
    let value = json.to_value();
    let len = compact_len(&value);
    if len > MAX_PATTERN_LEN {
        diags.push(
            Diagnostic::new(
                ErrorKind::TooLong,
                v.span,
                format!("the event pattern is {len} characters as compact JSON; EventBridge allows {MAX_PATTERN_LEN}"),
            )
            .label("pattern too long")
            .help("match fewer values, or use `prefix`/`wildcard` filters instead of long lists"),
        );
        return None;
    }
    Some(value)
}

fn invalid(
    span: Span,
    message: impl Into<String>,
    label: &str,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(ErrorKind::InvalidPattern, span, message)
        .label(label)
        .help(help)
}

/// A pattern object: each field maps to an array of values or a nested object.
fn object(members: &Members, span: Span, dialect: Dialect, diags: &mut Vec<Diagnostic>) {
    if members.is_empty() {
        diags.push(invalid(
            span,
            format!("empty object in {}", dialect.noun()),
            "empty object",
            "name at least one field to match, e.g. `{ \"source\": [\"aws.s3\"] }`",
        ));
        return;
    }
    for (i, (key, value)) in members.iter().enumerate() {
        if let Some((first, _)) = members[..i].iter().find(|(k, _)| k.node == key.node) {
            diags.push(duplicate_key(&key.node, key.span, first.span));
            continue;
        }
        if key.node == "$or" {
            or_clause(value, dialect, diags);
            continue;
        }
        match &value.node {
            Json::Object(inner) => object(inner, value.span, dialect, diags),
            Json::Array(items) => match_values(&key.node, items, value.span, dialect, diags),
            other => {
                let shown = serde_json::to_string(&other.to_value()).unwrap_or_default();
                diags.push(invalid(
                    value.span,
                    format!(
                        "the value of `{}` must be an array of values to match, found {}",
                        key.node,
                        other.describe()
                    ),
                    "expected an array",
                    format!("wrap it in brackets: `\"{}\": [{shown}]`", key.node),
                ));
            }
        }
    }
}

/// `"$or": [ {...}, {...} ]`
fn or_clause(value: &Spanned<Json>, dialect: Dialect, diags: &mut Vec<Diagnostic>) {
    let help = "write `\"$or\": [ { \"a\": [1] }, { \"b\": [2] } ]`";
    let Json::Array(items) = &value.node else {
        diags.push(invalid(
            value.span,
            format!(
                "`$or` takes an array of objects, found {}",
                value.node.describe()
            ),
            "expected an array",
            help,
        ));
        return;
    };
    if items.len() < 2 {
        diags.push(invalid(
            value.span,
            "`$or` needs at least two alternatives",
            "fewer than two alternatives",
            help,
        ));
    }
    for item in items {
        match &item.node {
            Json::Object(members) => object(members, item.span, dialect, diags),
            other => diags.push(invalid(
                item.span,
                format!(
                    "each `$or` alternative is an object, found {}",
                    other.describe()
                ),
                "expected an object",
                help,
            )),
        }
    }
}

/// The array a field matches against: plain values or content filters.
fn match_values(
    key: &str,
    items: &[Spanned<Json>],
    span: Span,
    dialect: Dialect,
    diags: &mut Vec<Diagnostic>,
) {
    if items.is_empty() {
        diags.push(invalid(
            span,
            format!("the array of `{key}` is empty and would match nothing"),
            "empty array",
            "list at least one value to match",
        ));
    }
    for item in items {
        match &item.node {
            Json::Null | Json::Bool(_) | Json::Number(_) | Json::Str(_) => {}
            Json::Array(_) => diags.push(invalid(
                item.span,
                format!("arrays cannot be nested in {}", dialect.noun()),
                "nested array",
                "list the values in one array",
            )),
            Json::Object(members) => filter(members, item.span, dialect, diags),
        }
    }
}

/// A content filter: `{ "prefix": "..." }`, `{ "numeric": [">", 0] }`, ...
fn filter(members: &Members, span: Span, dialect: Dialect, diags: &mut Vec<Diagnostic>) {
    let allowed = dialect.operators();
    let ops = format!(
        "one of {}",
        allowed
            .iter()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let [(op, arg)] = members else {
        let (at, message) = match members.get(1) {
            Some((second, _)) => (second.span, "a content filter takes exactly one operator"),
            None => (span, "a content filter needs an operator"),
        };
        diags.push(invalid(
            at,
            message,
            "one operator per filter",
            format!("use {ops}; put several filters in the array"),
        ));
        return;
    };
    if OPERATORS.contains(&op.node.as_str()) && !allowed.contains(&op.node.as_str()) {
        diags.push(invalid(
            op.span,
            format!(
                "`{}` is not a content filter of {}",
                op.node,
                dialect.noun()
            ),
            "not supported here",
            format!("use {ops}"),
        ));
        return;
    }
    let bad_arg = |expected: &str, help: &str| {
        invalid(
            arg.span,
            format!(
                "`{}` takes {expected}, found {}",
                op.node,
                arg.node.describe()
            ),
            &format!("expected {expected}"),
            help,
        )
    };
    match (op.node.as_str(), &arg.node) {
        ("prefix" | "suffix", Json::Str(_)) => {}
        ("prefix" | "suffix", Json::Object(inner)) => match &inner[..] {
            [(k, v)] if k.node == "equals-ignore-case" && matches!(v.node, Json::Str(_)) => {}
            _ => diags.push(bad_arg(
                "a string or `{ \"equals-ignore-case\": \"...\" }`",
                "e.g. `{ \"prefix\": \"images/\" }`",
            )),
        },
        ("prefix" | "suffix", _) => {
            diags.push(bad_arg("a string", "e.g. `{ \"prefix\": \"images/\" }`"))
        }
        ("equals-ignore-case" | "wildcard", Json::Str(_)) => {}
        ("equals-ignore-case" | "wildcard", _) => diags.push(bad_arg(
            "a string",
            "e.g. `{ \"wildcard\": \"dir/*.png\" }`",
        )),
        ("exists", Json::Bool(_)) => {}
        ("exists", _) => diags.push(bad_arg("`true` or `false`", "e.g. `{ \"exists\": true }`")),
        ("cidr", Json::Str(s)) => {
            if !is_cidr(s) {
                diags.push(invalid(
                    arg.span,
                    format!("`{s}` is not a CIDR block"),
                    "not a CIDR block",
                    "e.g. `{ \"cidr\": \"10.0.0.0/24\" }`",
                ));
            }
        }
        ("cidr", _) => diags.push(bad_arg("a string", "e.g. `{ \"cidr\": \"10.0.0.0/24\" }`")),
        ("numeric", Json::Array(items)) => numeric(items, arg.span, diags),
        ("numeric", _) => diags.push(bad_arg(
            "an array",
            "e.g. `{ \"numeric\": [\">\", 0, \"<=\", 5] }`",
        )),
        ("anything-but", _) => anything_but(arg, dialect, diags),
        (other, _) => {
            let help = match did_you_mean(other, allowed.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("the operators are {}", allowed.join(", ")),
            };
            diags.push(invalid(
                op.span,
                format!("unknown content filter `{other}`"),
                "unknown operator",
                help,
            ));
        }
    }
}

fn anything_but(arg: &Spanned<Json>, dialect: Dialect, diags: &mut Vec<Diagnostic>) {
    let help = "e.g. `{ \"anything-but\": [\"a\", \"b\"] }` or `{ \"anything-but\": { \"prefix\": \"tmp/\" } }`";
    let wildcard = dialect == Dialect::EventBridge;
    let ok = match &arg.node {
        Json::Str(_) | Json::Number(_) => true,
        Json::Array(items) => {
            !items.is_empty()
                && (items.iter().all(|i| matches!(i.node, Json::Str(_)))
                    || items.iter().all(|i| matches!(i.node, Json::Number(_))))
        }
        Json::Object(inner) => match &inner[..] {
            [(k, v)] => match (k.node.as_str(), &v.node) {
                ("prefix" | "suffix", Json::Str(_)) => true,
                ("wildcard", _) if !wildcard => false,
                ("equals-ignore-case" | "wildcard", Json::Str(_)) => true,
                ("equals-ignore-case" | "wildcard", Json::Array(items)) => {
                    !items.is_empty() && items.iter().all(|i| matches!(i.node, Json::Str(_)))
                }
                _ => false,
            },
            _ => false,
        },
        Json::Null | Json::Bool(_) => false,
    };
    if !ok {
        diags.push(invalid(
            arg.span,
            "`anything-but` takes a string, a number, a non-empty array of strings or of numbers, or one `prefix`/`suffix`/`equals-ignore-case`/`wildcard` filter",
            "invalid `anything-but`",
            help,
        ));
    }
}

fn numeric(items: &[Spanned<Json>], span: Span, diags: &mut Vec<Diagnostic>) {
    let help = "write `[\">\", 0]` or `[\">=\", 0, \"<\", 100]`";
    if !(items.len() == 2 || items.len() == 4) {
        diags.push(invalid(
            span,
            "`numeric` takes one or two comparisons: `[op, number]` or `[op, number, op, number]`",
            "expected 2 or 4 items",
            help,
        ));
        return;
    }
    for pair in items.chunks(2) {
        let [op, n] = pair else { continue };
        match &op.node {
            Json::Str(s) if matches!(s.as_str(), "<" | "<=" | "=" | ">" | ">=") => {
                if s == "=" && items.len() == 4 {
                    diags.push(invalid(
                        op.span,
                        "`=` cannot be combined with another comparison",
                        "`=` alone",
                        help,
                    ));
                }
            }
            _ => diags.push(invalid(
                op.span,
                "a numeric comparison is one of `<`, `<=`, `=`, `>`, `>=`",
                "expected an operator",
                help,
            )),
        }
        if !matches!(n.node, Json::Number(_)) {
            diags.push(invalid(
                n.span,
                format!("expected a number, found {}", n.node.describe()),
                "expected a number",
                help,
            ));
        }
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a spanned `Json` from `serde_json` (spans are fake but distinct per node).
    fn j(v: &serde_json::Value, at: &mut usize) -> Spanned<Json> {
        *at += 1;
        let span = Span::new(*at, *at + 1);
        let node = match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => Json::Number(n.clone()),
            serde_json::Value::String(s) => Json::Str(s.clone()),
            serde_json::Value::Array(a) => Json::Array(a.iter().map(|i| j(i, at)).collect()),
            serde_json::Value::Object(o) => Json::Object(
                o.iter()
                    .map(|(k, v)| {
                        *at += 1;
                        (Spanned::new(k.clone(), Span::new(*at, *at + 1)), j(v, at))
                    })
                    .collect(),
            ),
        };
        Spanned::new(node, span)
    }

    fn run(text: &str) -> Vec<Diagnostic> {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let json = j(&v, &mut 0);
        let value = Spanned::new(Value::Json(json.node), json.span);
        let mut d = Vec::new();
        let out = check(&value, &mut d);
        assert_eq!(out.is_some(), d.is_empty());
        if let Some(out) = out {
            assert_eq!(out, v);
        }
        d
    }

    #[test]
    fn good_patterns() {
        for ok in [
            r#"{"source": ["aws.codecommit"]}"#,
            r#"{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["running", null, 1, true]}}"#,
            r#"{"detail": {"key": [{"prefix": "images/"}, {"suffix": ".png"}, {"prefix": {"equals-ignore-case": "IMG"}}]}}"#,
            r#"{"detail": {"n": [{"numeric": [">", 0, "<=", 5]}, {"numeric": ["=", 3.5]}]}}"#,
            r#"{"detail": {"a": [{"anything-but": "x"}, {"anything-but": [1, 2]}, {"anything-but": {"prefix": "tmp/"}}]}}"#,
            r#"{"detail": {"a": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}, {"anything-but": 5}]}}"#,
            r#"{"detail": {"a": [{"exists": false}], "b": [{"equals-ignore-case": "x"}], "c": [{"wildcard": "a*b"}]}}"#,
            r#"{"detail": {"ip": [{"cidr": "10.0.0.0/24"}, {"cidr": "2001:db8::/32"}]}}"#,
            r#"{"source": ["aws.s3"], "$or": [{"detail": {"a": [1]}}, {"detail": {"b": [2]}}]}"#,
        ] {
            let d = run(ok);
            assert!(d.is_empty(), "{ok}: {d:?}");
        }
    }

    #[test]
    fn bad_patterns() {
        for bad in [
            r#"{}"#,
            r#"{"source": "aws.s3"}"#,
            r#"{"source": []}"#,
            r#"{"detail": {}}"#,
            r#"{"source": [["a"]]}"#,
            r#"{"source": [{"prefx": "a"}]}"#,
            r#"{"source": [{"prefix": "a", "suffix": "b"}]}"#,
            r#"{"source": [{}]}"#,
            r#"{"source": [{"prefix": 1}]}"#,
            r#"{"source": [{"exists": "yes"}]}"#,
            r#"{"source": [{"numeric": [">", "0"]}]}"#,
            r#"{"source": [{"numeric": [">>", 0]}]}"#,
            r#"{"source": [{"numeric": [">", 0, "<"]}]}"#,
            r#"{"source": [{"numeric": ["=", 0, "<", 5]}]}"#,
            r#"{"source": [{"cidr": "10.0.0.0"}]}"#,
            r#"{"source": [{"cidr": "10.0.0.0/33"}]}"#,
            r#"{"source": [{"anything-but": []}]}"#,
            r#"{"source": [{"anything-but": ["a", 1]}]}"#,
            r#"{"source": [{"anything-but": {"numeric": [">", 1]}}]}"#,
            r#"{"$or": [{"a": [1]}]}"#,
            r#"{"$or": {"a": [1]}}"#,
            r#"{"$or": [{"a": [1]}, 5]}"#,
        ] {
            let d = run(bad);
            assert_eq!(d.len(), 1, "{bad}: {d:?}");
            assert_eq!(d[0].kind, ErrorKind::InvalidPattern, "{bad}");
        }
    }

    #[test]
    fn operator_suggestion_and_duplicates() {
        let d = run(r#"{"source": [{"prefx": "a"}]}"#);
        assert_eq!(d[0].help.as_deref(), Some("did you mean `prefix`?"));
        let d = run(r#"{"source": [{"anything_but": "a"}]}"#);
        assert_eq!(d[0].help.as_deref(), Some("did you mean `anything-but`?"));

        let k = |s: &str, at: usize| Spanned::new(s.to_string(), Span::new(at, at + 1));
        let arr = |at: usize| {
            Spanned::new(
                Json::Array(vec![Spanned::new(
                    Json::Str("x".into()),
                    Span::new(at, at + 1),
                )]),
                Span::new(at, at + 3),
            )
        };
        let obj = Json::Object(vec![(k("source", 1), arr(3)), (k("source", 10), arr(13))]);
        let mut d = Vec::new();
        assert!(check(&Spanned::new(Value::Json(obj), Span::new(0, 20)), &mut d).is_none());
        assert_eq!(d[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(d[0].span.start, 10);
    }

    #[test]
    fn long_patterns_and_wrong_types() {
        let many: Vec<String> = (0..400).map(|i| format!("\"value-{i}\"")).collect();
        let d = run(&format!("{{\"source\": [{}]}}", many.join(",")));
        assert_eq!(d[0].kind, ErrorKind::TooLong);
        let mut d = Vec::new();
        assert!(
            check(
                &Spanned::new(Value::Str("{}".into()), Span::new(0, 4)),
                &mut d
            )
            .is_none()
        );
        assert_eq!(d[0].kind, ErrorKind::WrongType);
    }
}
