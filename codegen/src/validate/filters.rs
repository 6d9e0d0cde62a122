//! Filters: a queue's, stream's or table's `filter` (Lambda event filtering: EventBridge patterns over
//! the fields of the source's records) and a topic's `filter_policy` (an SNS subscription filter
//! policy). The pattern language is [`super::pattern`]'s; what each service adds is checked here, and
//! patterns that can never match are warned about.

use crate::ast::{Json, Kind, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::model::FilterPolicyScope;

use super::keys::join_words;
use super::pattern::{self, Dialect, MAX_PATTERN_LEN, Members};
use super::values::wrong_type;
use super::vars::{self, Allow};

/// Lambda takes at most this many filters per event source mapping (its default quota).
pub(crate) const MAX_FILTERS: usize = 5;
/// SNS: at most this many keys in a filter policy.
pub(crate) const MAX_POLICY_KEYS: usize = 5;
/// SNS: at most this many combinations of values in a filter policy.
pub(crate) const MAX_POLICY_COMBINATIONS: u64 = 150;
/// SNS: numbers in a filter policy are within ±10⁹.
const MAX_POLICY_NUMBER: f64 = 1e9;

/// The fields of an SQS message Lambda filters on.
const QUEUE_FIELDS: &[&str] = &[
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "md5OfMessageAttributes",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
];

/// The fields of a Kinesis record (its `kinesis` object) Lambda filters on.
const KINESIS_FIELDS: &[&str] = &[
    "kinesisSchemaVersion",
    "partitionKey",
    "sequenceNumber",
    "data",
    "approximateArrivalTimestamp",
    "encryptionType",
];

/// The fields of a DynamoDB stream record Lambda filters on.
const DYNAMODB_FIELDS: &[&str] = &[
    "eventID",
    "eventName",
    "eventVersion",
    "eventSource",
    "awsRegion",
    "dynamodb",
    "eventSourceARN",
    "userIdentity",
];

/// The fields of a DynamoDB stream record's `dynamodb` object that hold attribute values.
const IMAGES: &[&str] = &["Keys", "NewImage", "OldImage"];
/// The type descriptors of a DynamoDB attribute value.
const DYNAMODB_TYPES: &[&str] = &["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"];
/// The events of a DynamoDB stream.
const EVENT_NAMES: &[&str] = &["INSERT", "MODIFY", "REMOVE"];

fn record_fields(kind: Kind) -> (&'static [&'static str], &'static str) {
    match kind {
        Kind::Queue => (QUEUE_FIELDS, "an SQS message"),
        Kind::Stream => (KINESIS_FIELDS, "a Kinesis record"),
        _ => (DYNAMODB_FIELDS, "a DynamoDB stream record"),
    }
}

fn invalid(kind: ErrorKind, span: Span, message: String, label: &str, help: String) -> Diagnostic {
    Diagnostic::new(kind, span, message).label(label).help(help)
}

/// Runs the pattern checks of `dialect` over one object; their errors take `kind`.
fn pattern_object(
    members: &Members,
    span: Span,
    dialect: Dialect,
    kind: ErrorKind,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let before = diags.len();
    let ok = pattern::check_object(members, span, dialect, diags);
    for d in &mut diags[before..] {
        if d.kind == ErrorKind::InvalidPattern {
            d.kind = kind;
        }
    }
    ok
}

/// `filter = { ... }` or `filter = [ { ... }, ... ]` on a queue, stream or table binding: 1 to 5
/// patterns, each over the fields of the source's records. Returns them as JSON, in order.
pub(crate) fn read_filters(
    kind: Kind,
    v: &Spanned<Value>,
    diags: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Option<Vec<serde_json::Value>> {
    let example = "write `filter = { \"body\": { \"type\": [\"order\"] } }`, or a list of up to 5 such objects";
    let objects: Vec<Spanned<&Json>> = match &v.node {
        Value::Json(json) => vec![Spanned::new(json, v.span)],
        Value::List(items) => {
            let mut out = Vec::new();
            for item in items {
                match &item.node {
                    Value::Json(json) => out.push(Spanned::new(json, item.span)),
                    _ => diags.push(wrong_type(item, "a JSON object").help(example)),
                }
            }
            if out.len() != items.len() {
                return None;
            }
            out
        }
        Value::Str(_) => {
            diags.push(
                wrong_type(v, "a JSON object")
                    .help("write the JSON without quotes: `filter = { ... }`"),
            );
            return None;
        }
        _ => {
            diags.push(wrong_type(v, "a JSON object or a list of them").help(example));
            return None;
        }
    };
    if objects.is_empty() {
        diags.push(invalid(
            ErrorKind::InvalidFilter,
            v.span,
            "`filter` lists no pattern".into(),
            "empty list",
            format!("list 1 to {MAX_FILTERS} patterns, or remove `filter` to receive every record"),
        ));
        return None;
    }
    if let Some(extra) = objects.get(MAX_FILTERS) {
        diags.push(invalid(
            ErrorKind::InvalidFilter,
            extra.span,
            format!(
                "`filter` lists {} patterns; Lambda takes at most {MAX_FILTERS} per event source mapping",
                objects.len()
            ),
            "over the limit",
            "merge patterns (a field's array matches any of its values, `$or` joins alternatives), or ask AWS for a higher quota and split the binding".into(),
        ));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for object in &objects {
        match one_filter(kind, object, diags, warnings) {
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// One filter pattern.
fn one_filter(
    kind: Kind,
    object: &Spanned<&Json>,
    diags: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Option<serde_json::Value> {
    let Json::Object(members) = object.node else {
        diags.push(invalid(
            ErrorKind::InvalidFilter,
            object.span,
            format!(
                "a filter is a JSON object, found {}",
                object.node.describe()
            ),
            "expected an object",
            "write `filter = { \"body\": { \"type\": [\"order\"] } }`".into(),
        ));
        return None;
    };
    let before = diags.len();
    if pattern_object(
        members,
        object.span,
        Dialect::Lambda,
        ErrorKind::InvalidFilter,
        diags,
    ) {
        record_shape(kind, members, diags);
    }
    strings(object.node, object.span, "a `filter`", diags);
    if diags.len() > before {
        return None;
    }
    let value = object.node.to_value();
    let len = pattern::compact_len(&value);
    if len > MAX_PATTERN_LEN {
        diags.push(invalid(
            ErrorKind::TooLong,
            object.span,
            format!(
                "the filter is {len} characters as compact JSON; Lambda allows {MAX_PATTERN_LEN}"
            ),
            "filter too long",
            "match fewer values, or use `prefix` filters instead of long lists".into(),
        ));
        return None;
    }
    match kind {
        Kind::Table => table_warnings(members, warnings),
        Kind::Stream => stream_warnings(members, warnings),
        _ => {}
    }
    Some(value)
}

/// The top-level members of a pattern, those inside a top-level `$or` included.
fn top_level(members: &Members) -> Vec<&(Spanned<String>, Spanned<Json>)> {
    let mut out = Vec::new();
    for member in members {
        match (member.0.node.as_str(), &member.1.node) {
            ("$or", Json::Array(alternatives)) => {
                for alternative in alternatives {
                    if let Json::Object(inner) = &alternative.node {
                        out.extend(top_level(inner));
                    }
                }
            }
            _ => out.push(member),
        }
    }
    out
}

/// Every top-level key is a field of the source's records.
fn record_shape(kind: Kind, members: &Members, diags: &mut Vec<Diagnostic>) {
    let (fields, record) = record_fields(kind);
    for (key, _) in top_level(members) {
        let name = key.node.as_str();
        if fields.contains(&name) {
            continue;
        }
        let help = if kind == Kind::Stream && name == "kinesis" {
            "the pattern is matched against the record's `kinesis` object: write its fields at the top, e.g. `{ \"data\": { ... } }`".to_string()
        } else if kind == Kind::Table && (IMAGES.contains(&name) || name == "StreamViewType") {
            format!(
                "`{name}` is inside the record's `dynamodb` object: `{{ \"dynamodb\": {{ \"{name}\": ... }} }}`"
            )
        } else if kind == Kind::Queue
            && name != "body"
            && name.starts_with(|c: char| c.is_lowercase())
            && did_you_mean(name, fields.iter().copied()).is_none()
        {
            format!(
                "to match the message's JSON, put it under `body`: `{{ \"body\": {{ \"{name}\": ... }} }}`"
            )
        } else if let Some(best) = did_you_mean(name, fields.iter().copied()) {
            format!("did you mean `{best}`?")
        } else {
            format!("the fields of {record} are {}", join_words(fields))
        };
        diags.push(invalid(
            ErrorKind::InvalidFilter,
            key.span,
            format!("`{name}` is not a field of {record}"),
            "no such field",
            help,
        ));
    }
}

/// Every string of a filter or policy may hold `${app}` and `${stage}` (resolved per stage).
fn strings(json: &Json, span: Span, what: &str, diags: &mut Vec<Diagnostic>) {
    match json {
        Json::Str(s) => {
            vars::check(s, span, Allow::Stage, what, diags);
        }
        Json::Null | Json::Bool(_) | Json::Number(_) => {}
        Json::Array(items) => {
            for item in items {
                strings(&item.node, item.span, what, diags);
            }
        }
        Json::Object(members) => {
            for (_, v) in members {
                strings(&v.node, v.span, what, diags);
            }
        }
    }
}

fn warning(span: Span, message: String, label: &str, help: String) -> Diagnostic {
    Diagnostic::warning(ErrorKind::UnmatchableFilter, span, message)
        .label(label)
        .help(help)
}

/// A table filter that can never match: an `eventName` DynamoDB never sends, an attribute value
/// written without its type.
fn table_warnings(members: &Members, warnings: &mut Vec<Diagnostic>) {
    for (key, value) in top_level(members) {
        match (key.node.as_str(), &value.node) {
            ("eventName", Json::Array(items)) => {
                for item in items {
                    let Json::Str(name) = &item.node else {
                        continue;
                    };
                    if EVENT_NAMES.contains(&name.as_str()) {
                        continue;
                    }
                    let upper = name.to_ascii_uppercase();
                    let help = match EVENT_NAMES.iter().find(|n| **n == upper) {
                        Some(n) => format!("event names are upper case: `\"{n}\"`"),
                        None => "DynamoDB stream records are `INSERT`, `MODIFY` or `REMOVE` events"
                            .to_string(),
                    };
                    warnings.push(warning(
                        item.span,
                        format!("`eventName` is never `{name}`: this value matches no record"),
                        "not a DynamoDB stream event",
                        help,
                    ));
                }
            }
            ("dynamodb", Json::Object(inner)) => {
                for (image, attributes) in inner {
                    let (true, Json::Object(attributes)) =
                        (IMAGES.contains(&image.node.as_str()), &attributes.node)
                    else {
                        continue;
                    };
                    for (attribute, pattern) in attributes {
                        untyped_attribute(&image.node, attribute, pattern, warnings);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `{"Keys": {"id": ["x"]}}`: DynamoDB values are typed (`{"S": "x"}`), so this never matches.
fn untyped_attribute(
    image: &str,
    attribute: &Spanned<String>,
    pattern: &Spanned<Json>,
    warnings: &mut Vec<Diagnostic>,
) {
    let name = &attribute.node;
    match &pattern.node {
        Json::Array(items) => {
            let ty = match items.first().map(|i| &i.node) {
                Some(Json::Number(_)) => "N",
                Some(Json::Bool(_)) => "BOOL",
                _ => "S",
            };
            // DynamoDB sends numbers as strings (`{"N": "5"}`): show them quoted.
            let typed: Vec<serde_json::Value> = items
                .iter()
                .map(|i| match &i.node {
                    Json::Number(n) if ty == "N" => serde_json::Value::String(n.to_string()),
                    other => other.to_value(),
                })
                .collect();
            let shown = serde_json::to_string(&typed).unwrap_or_default();
            warnings.push(warning(
                pattern.span,
                format!("`{image}.{name}` is matched as a plain value, but DynamoDB attribute values are typed: this matches no record"),
                "untyped attribute value",
                format!("write the type around the values: `\"{name}\": {{ \"{ty}\": {shown} }}`"),
            ));
        }
        Json::Object(inner) => {
            for (ty, _) in inner {
                if !DYNAMODB_TYPES.contains(&ty.node.as_str()) {
                    let help = match did_you_mean(&ty.node, DYNAMODB_TYPES.iter().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!(
                            "an attribute value is typed by one of {}: `\"{name}\": {{ \"S\": [\"...\"] }}`",
                            DYNAMODB_TYPES.join(", ")
                        ),
                    };
                    warnings.push(warning(
                        ty.span,
                        format!(
                            "`{image}.{name}` has no `{}` type: this matches no record",
                            ty.node
                        ),
                        "not a DynamoDB type",
                        help,
                    ));
                }
            }
        }
        _ => {}
    }
}

/// A stream filter on `data` with plain values: Lambda parses `data` only when it is JSON, so a plain
/// value is compared with the base64 text of the record.
fn stream_warnings(members: &Members, warnings: &mut Vec<Diagnostic>) {
    for (key, value) in top_level(members) {
        if key.node == "data" && matches!(value.node, Json::Array(_)) {
            warnings.push(warning(
                value.span,
                "`data` is matched as a plain value: a Kinesis record's data is base64-encoded, and Lambda decodes it only to match fields of JSON data".into(),
                "compared with the base64 text",
                "a `data` pattern matches records whose data is JSON: match its fields, e.g. `{ \"data\": { \"type\": [\"click\"] } }`".into(),
            ));
        }
    }
}

/// `filter_policy = { ... }` on a topic binding: an SNS subscription filter policy for `scope`.
pub(crate) fn read_policy(
    v: &Spanned<Value>,
    scope: FilterPolicyScope,
    diags: &mut Vec<Diagnostic>,
) -> Option<serde_json::Value> {
    let members = match &v.node {
        Value::Json(Json::Object(members)) => members,
        Value::Str(_) => {
            diags.push(
                wrong_type(v, "a JSON object")
                    .help("write the JSON without quotes: `filter_policy = { ... }`"),
            );
            return None;
        }
        _ => {
            diags.push(
                wrong_type(v, "a JSON object")
                    .help("write `filter_policy = { \"kind\": [\"shipped\"] }`"),
            );
            return None;
        }
    };
    let before = diags.len();
    if pattern_object(
        members,
        v.span,
        Dialect::Sns,
        ErrorKind::InvalidFilterPolicy,
        diags,
    ) {
        policy_rules(members, v.span, scope, diags);
    }
    if let Value::Json(json) = &v.node {
        strings(json, v.span, "a `filter_policy`", diags);
        if diags.len() > before {
            return None;
        }
        return Some(json.to_value());
    }
    None
}

/// What SNS adds to the pattern language: flat attribute policies without booleans, at most 5 keys,
/// at most 150 combinations of values, numbers within ±10⁹.
fn policy_rules(
    members: &Members,
    span: Span,
    scope: FilterPolicyScope,
    diags: &mut Vec<Diagnostic>,
) {
    let attributes = scope == FilterPolicyScope::MessageAttributes;
    let mut leaves: Vec<&Spanned<String>> = Vec::new();
    walk(members, attributes, &mut leaves, diags);
    let mut distinct: Vec<&str> = Vec::new();
    for key in &leaves {
        if distinct.contains(&key.node.as_str()) {
            continue;
        }
        distinct.push(&key.node);
        if distinct.len() == MAX_POLICY_KEYS + 1 {
            diags.push(invalid(
                ErrorKind::InvalidFilterPolicy,
                key.span,
                format!("the filter policy matches more than {MAX_POLICY_KEYS} keys"),
                "key over the limit",
                format!("SNS takes at most {MAX_POLICY_KEYS} keys in a filter policy: match fewer keys, or filter the rest in the handler"),
            ));
        }
    }
    let combinations = combinations(members);
    if combinations > MAX_POLICY_COMBINATIONS {
        diags.push(invalid(
            ErrorKind::InvalidFilterPolicy,
            span,
            format!("the filter policy has {combinations} combinations of values; SNS allows {MAX_POLICY_COMBINATIONS}"),
            "too many combinations",
            "the combinations are the product of the number of values of each key (summed over `$or` alternatives): list fewer values, or use `prefix`/`anything-but` filters".into(),
        ));
    }
}

/// Collects the leaf keys (those matched against values) and checks nesting, booleans and numbers.
fn walk<'m>(
    members: &'m Members,
    attributes: bool,
    leaves: &mut Vec<&'m Spanned<String>>,
    diags: &mut Vec<Diagnostic>,
) {
    for (key, value) in members {
        match &value.node {
            Json::Array(items) if key.node == "$or" => {
                for item in items {
                    if let Json::Object(inner) = &item.node {
                        walk(inner, attributes, leaves, diags);
                    }
                }
            }
            Json::Object(inner) => {
                if attributes {
                    diags.push(invalid(
                        ErrorKind::InvalidFilterPolicy,
                        value.span,
                        format!("`{}` nests an object, but a policy on message attributes is flat", key.node),
                        "nested",
                        "match message attributes by name at the top (`{ \"kind\": [\"shipped\"] }`), or match the JSON body with `filter_policy_scope = message_body`".into(),
                    ));
                } else {
                    walk(inner, attributes, leaves, diags);
                }
            }
            Json::Array(items) => {
                leaves.push(key);
                for item in items {
                    policy_value(item, attributes, diags);
                }
            }
            _ => {}
        }
    }
}

/// One value a key matches: booleans only in a body policy, numbers within ±10⁹.
fn policy_value(item: &Spanned<Json>, attributes: bool, diags: &mut Vec<Diagnostic>) {
    match &item.node {
        Json::Bool(b) if attributes => diags.push(invalid(
            ErrorKind::InvalidFilterPolicy,
            item.span,
            format!("a policy on message attributes cannot match the boolean `{b}`"),
            "boolean",
            format!("attributes are strings or numbers: match `\"{b}\"`, or match the JSON body with `filter_policy_scope = message_body`"),
        )),
        Json::Number(n) => number(n, item.span, diags),
        Json::Object(ops) => {
            for (op, arg) in ops {
                if op.node != "numeric" {
                    continue;
                }
                if let Json::Array(args) = &arg.node {
                    for a in args {
                        if let Json::Number(n) = &a.node {
                            number(n, a.span, diags);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn number(n: &serde_json::Number, span: Span, diags: &mut Vec<Diagnostic>) {
    if n.as_f64().is_some_and(|f| f.abs() > MAX_POLICY_NUMBER) {
        diags.push(invalid(
            ErrorKind::InvalidFilterPolicy,
            span,
            format!("`{n}` is out of SNS's numeric range"),
            "out of range",
            "SNS matches numbers from -1000000000 to 1000000000 (10⁹)".into(),
        ));
    }
}

/// The number of value combinations of a policy: the product over its keys of each key's values,
/// `$or` alternatives summed.
fn combinations(members: &Members) -> u64 {
    members
        .iter()
        .map(|(key, value)| match &value.node {
            Json::Array(items) if key.node == "$or" => items
                .iter()
                .map(|i| match &i.node {
                    Json::Object(inner) => combinations(inner),
                    _ => 1,
                })
                .fold(0u64, u64::saturating_add),
            Json::Array(items) => items.len().max(1) as u64,
            Json::Object(inner) => combinations(inner),
            _ => 1,
        })
        .fold(1u64, u64::saturating_mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Spanned<Value> {
        let src = format!("app a\nqueue q \"q\" {{ x = {text} }}\n");
        let (file, errors) = crate::parse::parse(&src);
        assert!(errors.is_empty(), "{errors:?}");
        let crate::ast::Item::Binding(b) = &file.items[1] else {
            panic!("no binding")
        };
        b.block.as_ref().unwrap().entries[0].value.clone()
    }

    fn filters(kind: Kind, text: &str) -> (Vec<ErrorKind>, Vec<String>) {
        let (mut d, mut w) = (Vec::new(), Vec::new());
        let out = read_filters(kind, &json(text), &mut d, &mut w);
        assert_eq!(out.is_some(), d.is_empty(), "{d:?}");
        (
            d.iter().map(|d| d.kind).collect(),
            w.iter().map(|w| w.message.clone()).collect(),
        )
    }

    fn policy(scope: FilterPolicyScope, text: &str) -> Vec<ErrorKind> {
        let mut d = Vec::new();
        let out = read_policy(&json(text), scope, &mut d);
        assert_eq!(out.is_some(), d.is_empty(), "{d:?}");
        d.iter().map(|d| d.kind).collect()
    }

    #[test]
    fn good_filters() {
        for (kind, ok) in [
            (Kind::Queue, r#"{ "body": { "type": ["order"] } }"#),
            (
                Kind::Queue,
                r#"[ { "body": { "n": [ { "numeric": [">", 1] } ] } }, { "attributes": { "SenderId": [ { "prefix": "A" } ] } } ]"#,
            ),
            (
                Kind::Stream,
                r#"{ "data": { "page": [ { "prefix": "/checkout" } ] } }"#,
            ),
            (Kind::Stream, r#"{ "partitionKey": ["1"] }"#),
            (Kind::Table, r#"[ { "eventName": ["INSERT", "MODIFY"] } ]"#),
            (
                Kind::Table,
                r#"{ "dynamodb": { "Keys": { "id": { "S": ["x"] } } } }"#,
            ),
            (
                Kind::Table,
                r#"{ "$or": [ { "eventName": ["REMOVE"] }, { "dynamodb": { "NewImage": { "n": { "N": [ { "numeric": [">", 0] } ] } } } } ] }"#,
            ),
        ] {
            assert_eq!(filters(kind, ok), (vec![], vec![]), "{ok}");
        }
    }

    #[test]
    fn bad_filters() {
        use ErrorKind::*;
        for (kind, bad, expected) in [
            (
                Kind::Queue,
                r#"{ "bdy": { "a": ["b"] } }"#,
                vec![InvalidFilter],
            ),
            (Kind::Queue, r#"{ "type": ["order"] }"#, vec![InvalidFilter]),
            (
                Kind::Stream,
                r#"{ "kinesis": { "data": ["x"] } }"#,
                vec![InvalidFilter],
            ),
            (
                Kind::Table,
                r#"{ "NewImage": { "a": { "S": ["x"] } } }"#,
                vec![InvalidFilter],
            ),
            (
                Kind::Queue,
                r#"{ "body": { "a": [ { "wildcard": "x*" } ] } }"#,
                vec![InvalidFilter],
            ),
            (
                Kind::Queue,
                r#"{ "body": { "a": "x" } }"#,
                vec![InvalidFilter],
            ),
            (Kind::Queue, r#"[]"#, vec![InvalidFilter]),
            (
                Kind::Queue,
                r#"[{"body":["a"]},{"body":["b"]},{"body":["c"]},{"body":["d"]},{"body":["e"]},{"body":["f"]}]"#,
                vec![InvalidFilter],
            ),
            (Kind::Queue, r#"[ 5 ]"#, vec![WrongType]),
            (Kind::Queue, r#""{}""#, vec![WrongType]),
            (
                Kind::Queue,
                r#"{ "body": ["${stag}"] }"#,
                vec![UnknownVariable],
            ),
        ] {
            assert_eq!(filters(kind, bad).0, expected, "{bad}");
        }
    }

    #[test]
    fn filters_that_never_match_are_warned_about() {
        let (errors, warnings) = filters(
            Kind::Table,
            r#"{ "eventName": ["insert", "UPDATE", "REMOVE"], "dynamodb": { "Keys": { "id": ["x"] }, "NewImage": { "n": { "Str": ["y"] } } } }"#,
        );
        assert!(errors.is_empty());
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].contains("`eventName` is never `insert`"));
        assert!(warnings[2].contains("`Keys.id` is matched as a plain value"));
        assert!(warnings[3].contains("has no `Str` type"));
        let (_, warnings) = filters(Kind::Stream, r#"{ "data": [ { "prefix": "abc" } ] }"#);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("base64"));
        // The same patterns on a queue are not a table's or a stream's.
        assert!(filters(Kind::Queue, r#"{ "body": ["x"] }"#).1.is_empty());
    }

    #[test]
    fn sns_policies() {
        use ErrorKind::*;
        use FilterPolicyScope::*;
        for (scope, ok) in [
            (MessageAttributes, r#"{ "kind": ["shipped"] }"#),
            (
                MessageAttributes,
                r#"{ "n": [ { "numeric": [">=", 0, "<", 100] } ], "ip": [ { "cidr": "10.0.0.0/8" } ] }"#,
            ),
            (
                MessageBody,
                r#"{ "order": { "paid": [true], "kind": ["a", "b"] } }"#,
            ),
            (
                MessageAttributes,
                r#"{ "$or": [ { "a": ["x"] }, { "b": ["y"] } ] }"#,
            ),
        ] {
            assert!(policy(scope, ok).is_empty(), "{ok}");
        }
        let many: Vec<String> = (0..6).map(|i| format!("\"k{i}\": [\"v\"]")).collect();
        let values = |n: usize| {
            (0..n)
                .map(|i| format!("\"v{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (scope, bad, expected) in [
            (
                MessageAttributes,
                r#"{ "order": { "kind": ["a"] } }"#.to_string(),
                vec![InvalidFilterPolicy],
            ),
            (
                MessageAttributes,
                r#"{ "paid": [true] }"#.to_string(),
                vec![InvalidFilterPolicy],
            ),
            (
                MessageAttributes,
                format!("{{ {} }}", many.join(", ")),
                vec![InvalidFilterPolicy],
            ),
            (
                MessageBody,
                format!("{{ \"a\": [{}], \"b\": [{}] }}", values(10), values(16)),
                vec![InvalidFilterPolicy],
            ),
            (
                MessageAttributes,
                r#"{ "a": [ { "wildcard": "x*" } ] }"#.to_string(),
                vec![InvalidFilterPolicy],
            ),
            (
                MessageAttributes,
                r#"{ "n": [ { "numeric": [">", 2000000000] } ] }"#.to_string(),
                vec![InvalidFilterPolicy],
            ),
            (
                MessageAttributes,
                r#"{ "a": "x" }"#.to_string(),
                vec![InvalidFilterPolicy],
            ),
        ] {
            assert_eq!(policy(scope, &bad), expected, "{bad}");
        }
        // 10 × 15 = 150 is allowed; `$or` alternatives add up.
        assert!(
            policy(
                MessageBody,
                &format!("{{ \"a\": [{}], \"b\": [{}] }}", values(10), values(15))
            )
            .is_empty()
        );
        assert_eq!(
            combinations(&members(
                r#"{ "$or": [ { "a": ["1", "2"] }, { "b": ["1", "2", "3"] } ], "c": ["x", "y"] }"#
            )),
            10
        );
    }

    fn members(text: &str) -> Vec<(Spanned<String>, Spanned<Json>)> {
        match json(text).node {
            Value::Json(Json::Object(m)) => m,
            other => panic!("{other:?}"),
        }
    }
}
