//! Lambda resource-policy statements letting EventBridge, S3 and SNS invoke a function.

use serde_json::Value;

use super::{CallError, found, gone};
use crate::aws::Clients;
use crate::engine::spec::PermissionSpec;

const NOT_FOUND: &str = "ResourceNotFoundException";

/// Every statement of the function's resource policy (one GetPolicy); none when it has no policy.
pub async fn read_policy(c: &Clients, function: &str) -> Result<Vec<PermissionSpec>, CallError> {
    let out = c.lambda.get_policy().function_name(function).send().await;
    let out = found(
        out.map_err(|e| CallError::new("GetPolicy", function, e)),
        |e| e.has_code(NOT_FOUND),
    )?;
    let Some(text) = out.as_ref().and_then(|o| o.policy()) else {
        return Ok(Vec::new());
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        CallError::other(
            "GetPolicy",
            function,
            format!("the policy is not JSON: {e}"),
        )
    })?;
    Ok(parse_statements(function, &doc))
}

/// The statements of a function policy document, as specs.
pub fn parse_statements(function: &str, doc: &Value) -> Vec<PermissionSpec> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .map(|st| PermissionSpec {
            function: function.to_string(),
            statement_id: st["Sid"].as_str().unwrap_or_default().to_string(),
            action: first_string(&st["Action"]).unwrap_or_default(),
            principal: match &st["Principal"] {
                Value::Object(p) => p.get("Service").and_then(first_string).unwrap_or_default(),
                other => first_string(other).unwrap_or_default(),
            },
            source_arn: condition(st, "AWS:SourceArn"),
            source_account: condition(st, "AWS:SourceAccount"),
        })
        .collect()
}

fn first_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(|i| i.as_str()).map(str::to_string),
        _ => None,
    }
}

/// The value of condition key `key` (case-insensitive) under any operator (`ArnLike`, `StringEquals`...).
fn condition(st: &Value, key: &str) -> Option<String> {
    st.get("Condition")?.as_object()?.values().find_map(|op| {
        op.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| first_string(v))
    })
}

/// Adds the statement. On AWS a statement id that exists already answers 409: that is the statement we
/// wanted (a retried add whose answer was lost), so it is adopted.
pub async fn add_permission(c: &Clients, spec: &PermissionSpec) -> Result<(), CallError> {
    let result = c
        .lambda
        .add_permission()
        .function_name(&spec.function)
        .statement_id(&spec.statement_id)
        .action(&spec.action)
        .principal(&spec.principal)
        .set_source_arn(spec.source_arn.clone())
        .set_source_account(spec.source_account.clone())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("AddPermission", &spec.function, e));
    gone(result, &["ResourceConflictException"])
}

/// Removes the statement; gone already (or the function gone) is fine.
pub async fn remove_permission(
    c: &Clients,
    function: &str,
    statement_id: &str,
) -> Result<(), CallError> {
    gone(
        c.lambda
            .remove_permission()
            .function_name(function)
            .statement_id(statement_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("RemovePermission", function, e)),
        &[NOT_FOUND],
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn statements_read_back_as_lambda_writes_them() {
        let doc = json!({"Version": "2012-10-17", "Id": "default", "Statement": [
            {"Sid": "chalice-bucket-up", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
             "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
             "Condition": {"StringEquals": {"AWS:SourceAccount": "1"},
                           "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}}},
            {"Sid": "other", "Principal": "*", "Action": ["lambda:GetFunction"]}]});
        let got = parse_statements("f", &doc);
        assert_eq!(
            got[0],
            PermissionSpec {
                function: "f".into(),
                statement_id: "chalice-bucket-up".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "s3.amazonaws.com".into(),
                source_arn: Some("arn:aws:s3:::b".into()),
                source_account: Some("1".into()),
            }
        );
        assert_eq!(got[1].principal, "*");
        assert_eq!(got[1].action, "lambda:GetFunction");
        assert_eq!(got[1].source_arn, None);
        // A single statement as an object is read too.
        let one = json!({"Statement": {"Sid": "s", "Action": "a", "Principal": {"Service": "x"}}});
        assert_eq!(parse_statements("f", &one).len(), 1);
    }
}
