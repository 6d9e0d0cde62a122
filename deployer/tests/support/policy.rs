//! Reading IAM and Lambda policy documents: statements, their principals, actions and conditions.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::fault_proxy::percent_decode;

/// A policy document as IAM returns it (URL-encoded) or as Lambda does (plain JSON), parsed.
pub fn parse_policy(document: &str) -> Value {
    let text = if document.trim_start().starts_with('{') {
        document.to_owned()
    } else {
        percent_decode(document)
    };
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("policy document is not JSON ({e}): {text}"))
}

/// A policy's statements (a single statement object counts as a list of one).
pub fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A statement's `Sid` (empty when it has none).
pub fn sid(statement: &Value) -> &str {
    statement.get("Sid").and_then(Value::as_str).unwrap_or("")
}

/// A policy field that may be a string or a list of strings, as a set.
pub fn string_set(v: Option<&Value>) -> BTreeSet<String> {
    match v {
        Some(Value::String(s)) => BTreeSet::from([s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// `(actions, resources)` of each of a policy's statements.
pub fn grants(policy: &Value) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    statements(policy)
        .iter()
        .map(|st| (string_set(st.get("Action")), string_set(st.get("Resource"))))
        .collect()
}

/// Whether one of a policy's statements names both `action` and `resource` (as written: no wildcards).
pub fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    grants(policy)
        .iter()
        .any(|(a, r)| a.contains(action) && r.contains(resource))
}

/// The services a statement's `Principal` names.
pub fn principal_service(statement: &Value) -> BTreeSet<String> {
    match statement.get("Principal") {
        Some(Value::Object(p)) => string_set(p.get("Service")),
        Some(Value::String(s)) => BTreeSet::from([s.clone()]),
        _ => BTreeSet::new(),
    }
}

/// The value of `key` (case-insensitive) under any operator of a statement's `Condition`.
pub fn condition_value(statement: &Value, key: &str) -> Option<String> {
    let condition = statement.get("Condition")?.as_object()?;
    condition.values().find_map(|op| {
        op.as_object()?.iter().find_map(|(k, v)| {
            if k.eq_ignore_ascii_case(key) {
                match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(a) => a.first().and_then(|s| s.as_str()).map(str::to_owned),
                    _ => None,
                }
            } else {
                None
            }
        })
    })
}

/// `pattern` (an IAM resource with `*` wildcards) matches `value`.
pub fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || !value.ends_with(last) || value.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}
