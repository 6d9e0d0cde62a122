//! How live values are compared with desired ones: field by field, with values normalised first
//! (JSON as data, maps key by key), so what AWS echoes back in its own shape never shows as a change.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::change::FieldChange;

/// Compares one field; records it when the values differ.
pub fn field<T: PartialEq + ToString>(
    out: &mut Vec<FieldChange>,
    name: &str,
    desired: Option<T>,
    live: Option<T>,
) {
    if desired != live {
        out.push(FieldChange {
            field: name.to_string(),
            old: live.map(|v| v.to_string()),
            new: desired.map(|v| v.to_string()),
        });
    }
}

/// Compares two maps key by key (`env.LOG_LEVEL: info → debug`).
pub fn map_fields(
    out: &mut Vec<FieldChange>,
    prefix: &str,
    desired: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) {
    let keys: BTreeSet<&String> = desired.keys().chain(live.keys()).collect();
    for key in keys {
        field(
            out,
            &format!("{prefix}.{key}"),
            desired.get(key),
            live.get(key),
        );
    }
}

/// Tags AWS puts on resources itself (`aws:cloudformation:...`) are not ours to compare.
pub fn own_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Policy documents compared as data: keys sorted, `Action`/`Resource` always lists, sorted.
pub fn normalize_policy(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(statements) = doc.get_mut("Statement") {
        if statements.is_object() {
            *statements = Value::Array(vec![statements.take()]);
        }
        if let Some(list) = statements.as_array_mut() {
            for st in list.iter_mut() {
                for key in ["Action", "Resource", "NotAction", "NotResource"] {
                    if let Some(v) = st.get_mut(key) {
                        let mut items: Vec<Value> = match v.take() {
                            Value::Array(items) => items,
                            other => vec![other],
                        };
                        items.sort_by_key(|a| a.to_string());
                        *v = Value::Array(items);
                    }
                }
            }
        }
    }
    canonical(&doc)
}

/// `value` with every object's keys sorted (serde_json here keeps insertion order).
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// JSON text in canonical form (keys sorted, compact), so what AWS echoes back reformatted compares
/// equal; text that is not JSON is kept as it is.
pub fn canonical_text(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .map_or_else(|_| text.to_string(), |v| canonical(&v).to_string())
}

/// Tags to set (new or changed) and tag keys to remove; keys starting `aws:` are AWS's, left alone.
pub fn tag_changes(
    desired: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let add = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !desired.contains_key(*k) && !k.starts_with("aws:"))
        .cloned()
        .collect();
    (add, remove)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn policies_compare_regardless_of_shape_and_order() {
        let sent = json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow",
            "Action": ["b", "a"], "Resource": ["r"]}]});
        let returned = json!({"Statement": {"Resource": "r", "Effect": "Allow", "Sid": "A",
            "Action": ["a", "b"]}, "Version": "2012-10-17"});
        assert_eq!(normalize_policy(&sent), normalize_policy(&returned));
        assert_eq!(
            normalize_policy(&sent).to_string(),
            r#"{"Statement":[{"Action":["a","b"],"Effect":"Allow","Resource":["r"],"Sid":"A"}],"Version":"2012-10-17"}"#
        );
    }

    #[test]
    fn tag_changes_leave_aws_tags_alone() {
        let desired =
            BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
        let live = BTreeMap::from([
            ("a".to_string(), "1".to_string()),
            ("b".into(), "old".into()),
            ("c".into(), "x".into()),
            ("aws:cloudformation:stack".into(), "s".into()),
        ]);
        let (add, remove) = tag_changes(&desired, &live);
        assert_eq!(add, BTreeMap::from([("b".to_string(), "2".to_string())]));
        assert_eq!(remove, ["c"]);
    }
}
