//! `policy = { ... }`: an IAM policy document whose statements go into the function's own role, checked
//! the way IAM checks an identity policy, each error at the member or value at fault.

use crate::ast::{Json, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};

use super::values::{duplicate_key, wrong_type};
use super::vars::{self, Allow};

/// The statement ids of the statements chalice-rs writes into a role itself (see `emit_plan`).
pub(crate) const RESERVED_SIDS: [&str; 13] = [
    "Logs",
    "SqsConsume",
    "KinesisRead",
    "DynamodbStreamRead",
    "DynamodbListStreams",
    "XRayWrite",
    "VpcNetworkInterfaces",
    "FailureQueue",
    "FailureTopic",
    "FailureBucketList",
    "FailureBucketPut",
    "FailureBus",
    "FailureFunction",
];

/// The policy language versions IAM knows.
const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];
const DOCUMENT_KEYS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_KEYS: [&str; 7] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
/// IAM's condition operators (each may end in `IfExists`, but `Null`, and start with `ForAllValues:` or
/// `ForAnyValue:`).
const CONDITION_OPERATORS: [&str; 27] = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

const EXAMPLE: &str = "policy = { \"Statement\": [{ \"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\"], \"Resource\": \"arn:${partition}:s3:::my-bucket/*\" }] }";

type Members = [(Spanned<String>, Spanned<Json>)];

/// A checked policy document.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Policy {
    /// Its statements as written (variables unresolved: `Model::settings_for` resolves them per stage).
    pub statements: Vec<serde_json::Value>,
    /// The statement ids it uses, where they are written.
    pub sids: Vec<Spanned<String>>,
}

fn invalid(
    span: Span,
    message: impl Into<String>,
    label: &str,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(ErrorKind::InvalidPolicy, span, message)
        .label(label)
        .help(help)
}

/// Reads `policy = { ... }`; `None` when anything is wrong (all of it reported).
pub(crate) fn read(v: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<Policy> {
    let expected = "an IAM policy document (a JSON object)";
    let members = match &v.node {
        Value::Json(Json::Object(members)) => members,
        Value::Str(_) => {
            diags.push(
                wrong_type(v, expected)
                    .help("write the JSON without quotes: `policy = { \"Statement\": [ ... ] }`"),
            );
            return None;
        }
        Value::List(_) => {
            diags.push(wrong_type(v, expected).help(format!(
                "statements go in the document's `Statement`: `{EXAMPLE}`"
            )));
            return None;
        }
        _ => {
            diags.push(wrong_type(v, expected).help(format!("write `{EXAMPLE}`")));
            return None;
        }
    };
    let before = diags.len();
    let mut policy = Policy::default();
    let mut statement = None;
    for (i, (key, value)) in members.iter().enumerate() {
        if let Some((first, _)) = members[..i].iter().find(|(k, _)| k.node == key.node) {
            diags.push(duplicate_key(&key.node, key.span, first.span));
            continue;
        }
        match key.node.as_str() {
            "Version" => version(value, diags),
            "Id" if !matches!(value.node, Json::Str(_)) => diags.push(invalid(
                value.span,
                format!("`Id` is a string, found {}", value.node.describe()),
                "expected a string",
                "write e.g. `\"Id\": \"orders-access\"`, or leave it out",
            )),
            "Id" => {}
            "Statement" => statement = Some(value),
            other => {
                let help = if STATEMENT_KEYS
                    .iter()
                    .chain(&["Principal", "NotPrincipal"])
                    .any(|k| k.eq_ignore_ascii_case(other))
                {
                    format!(
                        "`{other}` goes in a statement: `\"Statement\": [{{ \"{other}\": ... }}]`"
                    )
                } else {
                    suggest(other, &DOCUMENT_KEYS).unwrap_or_else(|| {
                        "a policy document takes `Version`, `Id` and `Statement`".to_string()
                    })
                };
                diags.push(invalid(
                    key.span,
                    format!("unknown key `{other}` in a policy document"),
                    "unknown key",
                    help,
                ));
            }
        }
    }
    match statement {
        Some(s) => statements(s, &mut policy, diags),
        None => diags.push(invalid(
            v.span,
            "the policy document has no `Statement`",
            "no `Statement`",
            format!("write `{EXAMPLE}`"),
        )),
    }
    (diags.len() == before).then_some(policy)
}

/// "did you mean `X`?" for a key written in another case or misspelt.
fn suggest(key: &str, keys: &[&str]) -> Option<String> {
    keys.iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(key))
        .or_else(|| did_you_mean(key, keys.iter().copied()))
        .map(|k| format!("did you mean `{k}`?"))
}

fn version(v: &Spanned<Json>, diags: &mut Vec<Diagnostic>) {
    if matches!(&v.node, Json::Str(s) if VERSIONS.contains(&s.as_str())) {
        return;
    }
    diags.push(invalid(
        v.span,
        format!(
            "`Version` is `\"2012-10-17\"` or `\"2008-10-17\"`, found {}",
            match &v.node {
                Json::Str(s) => format!("`\"{s}\"`"),
                other => other.describe().to_string(),
            }
        ),
        "not a policy language version",
        "write `\"Version\": \"2012-10-17\"` (the current version), or leave it out",
    ));
}

fn statements(value: &Spanned<Json>, policy: &mut Policy, diags: &mut Vec<Diagnostic>) {
    match &value.node {
        Json::Object(members) => statement(value, members, policy, diags),
        Json::Array(items) => {
            if items.is_empty() {
                diags.push(invalid(
                    value.span,
                    "`Statement` is empty",
                    "no statement",
                    format!("give at least one statement: `{EXAMPLE}`"),
                ));
            }
            for item in items {
                match &item.node {
                    Json::Object(members) => statement(item, members, policy, diags),
                    other => diags.push(invalid(
                        item.span,
                        format!("a statement is an object, found {}", other.describe()),
                        "expected a statement object",
                        "write `{ \"Effect\": \"Allow\", \"Action\": [...], \"Resource\": [...] }`",
                    )),
                }
            }
        }
        other => diags.push(invalid(
            value.span,
            format!(
                "`Statement` takes a statement object or an array of them, found {}",
                other.describe()
            ),
            "expected statements",
            format!("write `{EXAMPLE}`"),
        )),
    }
}

/// One statement; kept (as written) when it has nothing wrong.
fn statement(
    node: &Spanned<Json>,
    members: &Members,
    policy: &mut Policy,
    diags: &mut Vec<Diagnostic>,
) {
    let before = diags.len();
    let mut effect = false;
    let mut action: Option<&Spanned<String>> = None;
    let mut resource: Option<&Spanned<String>> = None;
    let mut sids = Vec::new();
    for (i, (key, value)) in members.iter().enumerate() {
        if let Some((first, _)) = members[..i].iter().find(|(k, _)| k.node == key.node) {
            diags.push(duplicate_key(&key.node, key.span, first.span));
            continue;
        }
        match key.node.as_str() {
            "Sid" => {
                if let Some(s) = sid(value, diags) {
                    sids.push(Spanned::new(s.to_string(), value.span));
                }
            }
            "Effect" => {
                effect = true;
                check_effect(value, diags);
            }
            "Action" | "NotAction" => match action {
                Some(first) => diags.push(both(key, first)),
                None => {
                    action = Some(key);
                    if let Some(items) = strings(&key.node, value, diags) {
                        for (s, span) in items {
                            if let Err(d) = check_action(s, span) {
                                diags.push(d);
                            }
                        }
                    }
                }
            },
            "Resource" | "NotResource" => match resource {
                Some(first) => diags.push(both(key, first)),
                None => {
                    resource = Some(key);
                    if let Some(items) = strings(&key.node, value, diags) {
                        for (s, span) in items {
                            check_resource(s, span, diags);
                        }
                    }
                }
            },
            "Condition" => condition(value, diags),
            "Principal" | "NotPrincipal" => diags.push(invalid(
                key.span,
                format!("a function role's policy takes no `{}`", key.node),
                "not in an identity policy",
                format!(
                    "`{}` belongs in resource and trust policies; this policy says what the function may do (chalice-rs lets Lambda assume the role): remove it",
                    key.node
                ),
            )),
            other => diags.push(invalid(
                key.span,
                format!("unknown key `{other}` in a policy statement"),
                "unknown key",
                suggest(other, &STATEMENT_KEYS).unwrap_or_else(|| {
                    "a statement takes `Sid`, `Effect`, `Action` or `NotAction`, `Resource` or `NotResource`, and `Condition`".to_string()
                }),
            )),
        }
    }
    let missing = |key: &str, help: &str| {
        invalid(
            node.span,
            format!("the policy statement has no `{key}`"),
            &format!("no `{key}`"),
            help,
        )
    };
    if !effect {
        diags.push(missing(
            "Effect",
            "add `\"Effect\": \"Allow\"` (or `\"Deny\"`)",
        ));
    }
    if action.is_none() {
        diags.push(missing(
            "Action",
            "add `\"Action\": [\"s3:GetObject\"]` (or `NotAction`)",
        ));
    }
    if resource.is_none() {
        diags.push(missing(
            "Resource",
            "add `\"Resource\": \"arn:${partition}:s3:::my-bucket/*\"` (or `NotResource`; `\"*\"` for every resource)",
        ));
    }
    for s in sids {
        if let Some(first) = policy.sids.iter().find(|f| f.node == s.node) {
            diags.push(duplicate_sid(&s, first, "two statements of this `policy`"));
        } else {
            policy.sids.push(s);
        }
    }
    if diags.len() == before {
        policy.statements.push(node.node.to_value());
    }
}

/// `Sid` used twice in one role's policy (`by` says by what, e.g. "`defaults` and handler `h`").
pub(crate) fn duplicate_sid(
    again: &Spanned<String>,
    first: &Spanned<String>,
    by: &str,
) -> Diagnostic {
    invalid(
        again.span,
        format!(
            "statement id `{}` is used twice in one role's policy: by {by}",
            again.node
        ),
        "used again here",
        "IAM wants each `Sid` of a policy unique: rename one",
    )
    .related(first.span, "first used here")
}

/// `Action` and `NotAction` (or the resource pair) in one statement.
fn both(key: &Spanned<String>, first: &Spanned<String>) -> Diagnostic {
    invalid(
        key.span,
        format!(
            "a statement takes `{}` or `{}`, not both",
            first.node, key.node
        ),
        "second of the pair",
        format!("keep either `{}` or `{}`", first.node, key.node),
    )
    .related(first.span, "first given here")
}

fn sid<'a>(v: &'a Spanned<Json>, diags: &mut Vec<Diagnostic>) -> Option<&'a str> {
    let Json::Str(s) = &v.node else {
        diags.push(invalid(
            v.span,
            format!("`Sid` is a string, found {}", v.node.describe()),
            "expected a string",
            "write e.g. `\"Sid\": \"ReadUploads\"`",
        ));
        return None;
    };
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        let cleaned: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
        let help = if cleaned.is_empty() {
            "statement ids are letters and digits, e.g. `ReadUploads`".to_string()
        } else {
            format!("statement ids are letters and digits only: `{cleaned}`")
        };
        diags.push(invalid(
            v.span,
            format!("statement id `{s}` is not letters and digits"),
            "invalid Sid",
            help,
        ));
        return None;
    }
    if RESERVED_SIDS.contains(&s.as_str()) {
        diags.push(invalid(
            v.span,
            format!("statement id `{s}` is one chalice-rs writes itself"),
            "reserved Sid",
            format!(
                "chalice-rs names the statements it grants {}; pick another Sid",
                RESERVED_SIDS
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        return None;
    }
    Some(s)
}

fn check_effect(v: &Spanned<Json>, diags: &mut Vec<Diagnostic>) {
    match &v.node {
        Json::Str(s) if s == "Allow" || s == "Deny" => {}
        Json::Str(s) => {
            let help = ["Allow", "Deny"]
                .into_iter()
                .find(|e| e.eq_ignore_ascii_case(s))
                .map_or_else(
                    || "a statement allows or denies: `\"Effect\": \"Allow\"`".to_string(),
                    |e| format!("did you mean `\"{e}\"`?"),
                );
            diags.push(invalid(
                v.span,
                format!("`Effect` is `\"Allow\"` or `\"Deny\"`, found `\"{s}\"`"),
                "not an effect",
                help,
            ));
        }
        other => diags.push(invalid(
            v.span,
            format!(
                "`Effect` is `\"Allow\"` or `\"Deny\"`, found {}",
                other.describe()
            ),
            "not an effect",
            "write `\"Effect\": \"Allow\"`",
        )),
    }
}

/// A string or a non-empty array of strings, each with its span.
fn strings<'a>(
    key: &str,
    v: &'a Spanned<Json>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<(&'a str, Span)>> {
    match &v.node {
        Json::Str(s) => Some(vec![(s.as_str(), v.span)]),
        Json::Array(items) if items.is_empty() => {
            diags.push(invalid(
                v.span,
                format!("`{key}` is empty"),
                "empty list",
                "list at least one, or leave the statement out".to_string(),
            ));
            None
        }
        Json::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match &item.node {
                    Json::Str(s) => out.push((s.as_str(), item.span)),
                    other => diags.push(invalid(
                        item.span,
                        format!("`{key}` lists strings, found {}", other.describe()),
                        "expected a string",
                        "quote it",
                    )),
                }
            }
            (out.len() == items.len()).then_some(out)
        }
        other => {
            diags.push(invalid(
                v.span,
                format!(
                    "`{key}` takes a string or a list of strings, found {}",
                    other.describe()
                ),
                "expected strings",
                format!("write `\"{key}\": [\"...\"]`"),
            ));
            None
        }
    }
}

/// `*` or `service:Action`: the service lowercase letters, digits and `-`; the action letters, digits and
/// the wildcards `*`, `?`.
fn check_action(s: &str, span: Span) -> Result<(), Diagnostic> {
    const HELP: &str = "write actions as `service:Action`, e.g. `s3:GetObject` (`*` and `?` are wildcards), or `*` for every action";
    if s == "*" {
        return Ok(());
    }
    let Some((service, name)) = s.split_once(':') else {
        return Err(invalid(
            span,
            format!("action `{s}` is not `service:Action`"),
            "not an action",
            HELP,
        ));
    };
    let service_ok = |svc: &str| {
        !svc.is_empty()
            && svc
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !service_ok(service) {
        let lower = service.to_ascii_lowercase();
        let help = if service_ok(&lower) {
            format!("service prefixes are lowercase: `{lower}:{name}`")
        } else {
            HELP.to_string()
        };
        return Err(invalid(
            span,
            format!("action `{s}` has no valid service prefix (`{service}`)"),
            "invalid service",
            help,
        ));
    }
    if name.is_empty() {
        return Err(invalid(
            span,
            format!("action `{s}` names no action"),
            "no action after the `:`",
            HELP,
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '*' || *c == '?'))
    {
        return Err(invalid(
            span,
            format!("action `{s}` contains `{c}`"),
            "not an action",
            HELP,
        ));
    }
    Ok(())
}

/// `*` or an ARN (with wildcards and variables).
fn check_resource(s: &str, span: Span, diags: &mut Vec<Diagnostic>) {
    if s == "*" {
        return;
    }
    if !s.starts_with("arn:") {
        diags.push(invalid(
            span,
            format!("resource `{s}` is not an ARN"),
            "not an ARN",
            "resources are ARNs, e.g. `arn:${partition}:s3:::my-bucket/*`, or `*` for every resource",
        ));
        return;
    }
    vars::check(s, span, Allow::Policy, "a policy resource", diags);
}

/// `{ "OPERATOR": { "KEY": VALUE or [VALUES] } }`
fn condition(v: &Spanned<Json>, diags: &mut Vec<Diagnostic>) {
    const EXAMPLE: &str =
        "`\"Condition\": { \"StringEquals\": { \"aws:RequestedRegion\": \"eu-west-1\" } }`";
    let Json::Object(operators) = &v.node else {
        diags.push(invalid(
            v.span,
            format!(
                "`Condition` takes an object of condition operators, found {}",
                v.node.describe()
            ),
            "expected an object",
            format!("write e.g. {EXAMPLE}"),
        ));
        return;
    };
    for (i, (op, block)) in operators.iter().enumerate() {
        if let Some((first, _)) = operators[..i].iter().find(|(k, _)| k.node == op.node) {
            diags.push(duplicate_key(&op.node, op.span, first.span));
            continue;
        }
        if let Err(d) = operator(op) {
            diags.push(d);
        }
        let Json::Object(keys) = &block.node else {
            diags.push(invalid(
                block.span,
                format!(
                    "condition operator `{}` takes an object of condition keys, found {}",
                    op.node,
                    block.node.describe()
                ),
                "expected an object",
                format!("write e.g. {EXAMPLE}"),
            ));
            continue;
        };
        for (j, (key, value)) in keys.iter().enumerate() {
            if let Some((first, _)) = keys[..j].iter().find(|(k, _)| k.node == key.node) {
                diags.push(duplicate_key(&key.node, key.span, first.span));
                continue;
            }
            if key.node.is_empty() {
                diags.push(invalid(
                    key.span,
                    "empty condition key",
                    "no key",
                    "name a condition key, e.g. `aws:RequestedRegion`",
                ));
            }
            condition_values(value, diags);
        }
    }
}

fn condition_values(v: &Spanned<Json>, diags: &mut Vec<Diagnostic>) {
    let scalar = |item: &Spanned<Json>, diags: &mut Vec<Diagnostic>| {
        match &item.node {
        Json::Str(s) => {
            vars::check(s, item.span, Allow::Policy, "a condition value", diags);
        }
        Json::Bool(_) | Json::Number(_) => {}
        other => diags.push(invalid(
            item.span,
            format!(
                "condition values are strings, numbers or booleans, found {}",
                other.describe()
            ),
            "not a condition value",
            "write a value or a list of values, e.g. `\"eu-west-1\"` or `[\"eu-west-1\", \"eu-central-1\"]`",
        )),
    }
    };
    match &v.node {
        Json::Array(items) if items.is_empty() => diags.push(invalid(
            v.span,
            "empty list of condition values",
            "no value",
            "list at least one value",
        )),
        Json::Array(items) => {
            for item in items {
                scalar(item, diags);
            }
        }
        _ => scalar(v, diags),
    }
}

fn operator(op: &Spanned<String>) -> Result<(), Diagnostic> {
    let name = op.node.as_str();
    let base = name
        .strip_prefix("ForAllValues:")
        .or_else(|| name.strip_prefix("ForAnyValue:"))
        .unwrap_or(name);
    let base = match base.strip_suffix("IfExists") {
        Some(b) if b != "Null" => b,
        _ => base,
    };
    if CONDITION_OPERATORS.contains(&base) {
        return Ok(());
    }
    let help = CONDITION_OPERATORS
        .iter()
        .copied()
        .find(|o| o.eq_ignore_ascii_case(base))
        .or_else(|| did_you_mean(base, CONDITION_OPERATORS))
        .map_or_else(
            || "IAM's operators are `StringEquals`, `StringLike`, `ArnLike`, `Bool`, `IpAddress`, `NumericLessThan`, `DateGreaterThan`, `Null`, ... (with `IfExists`, `ForAllValues:`, `ForAnyValue:`)".to_string(),
            |o| format!("did you mean `{}`?", name.replace(base, o)),
        );
    Err(invalid(
        op.span,
        format!("unknown condition operator `{name}`"),
        "not a condition operator",
        help,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Item;
    use crate::parse::parse;

    /// The policy of `defaults { policy = ... }` as the parser reads it, and what `read` says of it.
    fn run(json: &str) -> (Option<Policy>, Vec<Diagnostic>, String) {
        let src = format!("defaults {{ policy = {json} }}");
        let (file, parse_errors) = parse(&src);
        assert!(parse_errors.is_empty(), "{parse_errors:?}");
        let Item::Defaults { block, .. } = &file.items[0] else {
            panic!()
        };
        let mut d = Vec::new();
        let policy = read(&block.entries[0].value, &mut d);
        (policy, d, src)
    }

    /// The kind of each diagnostic and the text its span covers.
    fn errors(json: &str) -> Vec<(ErrorKind, String)> {
        let (_, d, src) = run(json);
        d.iter()
            .map(|d| (d.kind, src[d.span.start..d.span.end].to_string()))
            .collect()
    }

    #[test]
    fn reads_statements_as_written() {
        let (policy, d, _) = run(r#"{ "Version": "2012-10-17", "Id": "x", "Statement": [
                { "Sid": "Read1", "Effect": "Allow", "Action": ["s3:GetObject", "s3:List*", "dynamodb:Get?tem"],
                  "Resource": ["arn:${partition}:s3:::uploads-${stage}/${aws:username}/*", "*"],
                  "Condition": { "StringEqualsIfExists": { "aws:RequestedRegion": ["eu-west-1"] },
                                 "ForAnyValue:StringLike": { "k": "v-${stage}" }, "Bool": { "aws:SecureTransport": true },
                                 "NumericLessThan": { "n": 5 } } },
                { "Effect": "Deny", "NotAction": "*", "NotResource": "arn:aws:s3:::x" } ] }"#);
        assert!(d.is_empty(), "{d:?}");
        let policy = policy.unwrap();
        assert_eq!(policy.statements.len(), 2);
        assert_eq!(
            policy.statements[0]["Resource"][0],
            "arn:${partition}:s3:::uploads-${stage}/${aws:username}/*",
            "variables stay as written"
        );
        assert_eq!(policy.sids[0].node, "Read1");
        let (policy, d, _) =
            run(r#"{ "Statement": { "Effect": "Allow", "Action": "*", "Resource": "*" } }"#);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            policy.unwrap().statements.len(),
            1,
            "a single statement object"
        );
    }

    #[test]
    fn document_errors() {
        use ErrorKind::*;
        assert_eq!(errors(r#"{ "Version": "2012-10-17" }"#)[0].0, InvalidPolicy);
        assert_eq!(
            errors(
                r#"{ "Statment": [], "Statement": { "Effect": "Allow", "Action": "*", "Resource": "*" } }"#
            ),
            [(InvalidPolicy, r#""Statment""#.to_string())]
        );
        assert_eq!(
            errors(r#"{ "Version": "2020-01-01", "Statement": [] }"#),
            [
                (InvalidPolicy, r#""2020-01-01""#.to_string()),
                (InvalidPolicy, "[]".to_string())
            ]
        );
        assert_eq!(errors(r#"{ "Statement": "x" }"#)[0].0, InvalidPolicy);
        assert_eq!(errors(r#"{ "Statement": [1] }"#)[0].1, "1");
        let (_, d, _) = run(r#"{ "Effect": "Allow", "Statement": [] }"#);
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .contains("goes in a statement"),
            "{d:?}"
        );
    }

    #[test]
    fn statement_errors_point_at_the_member() {
        use ErrorKind::*;
        let one = |members: &str| {
            let e = errors(&format!("{{ \"Statement\": [{{ {members} }}] }}"));
            assert_eq!(e.len(), 1, "{members}: {e:?}");
            e.into_iter().next().unwrap()
        };
        let ok = r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "*""#;
        assert_eq!(
            one(r#""Action": "*", "Resource": "*""#).1,
            r#"{ "Action": "*", "Resource": "*" }"#
        );
        assert_eq!(one(&format!(r#"{ok}, "Effect": "Deny""#)).0, DuplicateKey);
        assert_eq!(
            one(r#""Effect": "Maybe", "Action": "*", "Resource": "*""#).1,
            r#""Maybe""#
        );
        assert_eq!(
            one(r#""Effect": "Allow", "Action": "s3GetObject", "Resource": "*""#).1,
            r#""s3GetObject""#
        );
        assert_eq!(
            one(r#""Effect": "Allow", "Action": ["s3:Get-Object"], "Resource": "*""#).1,
            r#""s3:Get-Object""#
        );
        assert_eq!(
            one(r#""Effect": "Allow", "Action": [], "Resource": "*""#).1,
            "[]"
        );
        assert_eq!(
            one(r#""Effect": "Allow", "Action": "*", "Resource": "my-bucket""#).1,
            r#""my-bucket""#
        );
        assert_eq!(
            one(r#""Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${stag}""#),
            (UnknownVariable, "${stag}".to_string())
        );
        assert_eq!(
            one(&format!(r#"{ok}, "NotAction": "*""#)).1,
            r#""NotAction""#
        );
        assert_eq!(
            one(&format!(r#"{ok}, "Principal": "*""#)).1,
            r#""Principal""#
        );
        assert_eq!(
            one(&format!(r#"{ok}, "NotPrincipal": {{ "AWS": "*" }}"#)).1,
            r#""NotPrincipal""#
        );
        assert_eq!(one(&format!(r#"{ok}, "effect": "Allow""#)).1, r#""effect""#);
        assert_eq!(one(&format!(r#"{ok}, "Sid": "Logs""#)).1, r#""Logs""#);
        assert_eq!(
            one(&format!(r#"{ok}, "Sid": "read-uploads""#)).1,
            r#""read-uploads""#
        );
        assert_eq!(
            one(&format!(
                r#"{ok}, "Condition": {{ "StringEqual": {{ "k": "v" }} }}"#
            ))
            .1,
            r#""StringEqual""#
        );
        assert_eq!(
            one(&format!(
                r#"{ok}, "Condition": {{ "NullIfExists": {{ "k": true }} }}"#
            ))
            .1,
            r#""NullIfExists""#
        );
        assert_eq!(
            one(&format!(
                r#"{ok}, "Condition": {{ "Bool": {{ "k": null }} }}"#
            ))
            .1,
            "null"
        );
        assert_eq!(
            one(&format!(r#"{ok}, "Condition": {{ "Bool": "x" }}"#)).1,
            r#""x""#
        );
        assert_eq!(one(&format!(r#"{ok}, "Condition": []"#)).1, "[]");
    }

    #[test]
    fn helps() {
        let help = |json: &str| run(json).1[0].help.clone().unwrap();
        let statement = |extra: &str| {
            format!(
                r#"{{ "Statement": [{{ "Effect": "Allow", "Action": "*", "Resource": "*", {extra} }}] }}"#
            )
        };
        assert_eq!(
            help(&statement(r#""effect": "x""#)),
            "did you mean `Effect`?"
        );
        assert_eq!(
            help(r#"{ "Statement": [{ "Effect": "allow", "Action": "*", "Resource": "*" }] }"#),
            "did you mean `\"Allow\"`?"
        );
        assert_eq!(
            help(
                r#"{ "Statement": [{ "Effect": "Allow", "Action": "S3:GetObject", "Resource": "*" }] }"#
            ),
            "service prefixes are lowercase: `s3:GetObject`"
        );
        assert_eq!(
            help(&statement(
                r#""Condition": { "ForAllValues:StringEqual": { "k": "v" } }"#
            )),
            "did you mean `ForAllValues:StringEquals`?"
        );
        assert!(help(&statement(r#""Sid": "XRayWrite""#)).contains("pick another Sid"));
        assert_eq!(
            help(&statement(r#""Sid": "read-1""#)),
            "statement ids are letters and digits only: `read1`"
        );
        let d = run(r#"{ "Statement": [{ "Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*" }, { "Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*" }] }"#).1;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].related.len(), 1);
    }

    #[test]
    fn not_an_object() {
        let mut d = Vec::new();
        let v = Spanned::new(Value::Str("{}".into()), Span::new(0, 4));
        assert!(read(&v, &mut d).is_none());
        assert_eq!(d[0].kind, ErrorKind::WrongType);
        let v = Spanned::new(Value::List(vec![]), Span::new(0, 2));
        assert!(read(&v, &mut d).is_none());
        assert!(d[1].help.as_deref().unwrap().contains("Statement"));
    }
}
