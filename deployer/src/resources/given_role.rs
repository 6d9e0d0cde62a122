//! Roles given in the file (`role = "ARN"`): never created, changed or deleted, but read before a
//! deploy writes anything, to warn when one cannot be assumed by Lambda or lacks what its functions
//! need (their log groups, their sources, X-Ray, VPC networking).
//!
//! The check reads the role's trust policy, inline policies and attached managed policies and asks
//! whether some `Allow` statement covers each needed action on each needed resource (wildcards
//! honoured; conditions, denies and permission boundaries are not evaluated). It only warns: IAM is
//! the judge, and a role in another account cannot be read at all.

use std::collections::BTreeMap;

use chalice_codegen::plan::{AwsContext, FunctionRole, Plan, Statement};
use serde_json::Value;

use super::call::{CallError, found};
use crate::aws::{Clients, parse_policy_document};

/// Warnings about the plan's given roles (empty when every role looks right).
pub async fn check(c: &Clients, plan: &Plan, ctx: &AwsContext) -> Result<Vec<String>, CallError> {
    let mut by_role: BTreeMap<String, Vec<(&str, &[Statement])>> = BTreeMap::new();
    for f in &plan.functions {
        if let FunctionRole::Given { arn, needs } = &f.role {
            by_role
                .entry(arn.resolve(ctx))
                .or_default()
                .push((f.handler.as_str(), needs));
        }
    }
    let mut warnings = Vec::new();
    for (arn, users) in by_role {
        let handlers: Vec<&str> = users.iter().map(|(h, _)| *h).collect();
        let Some((account, name)) = role_parts(&arn) else {
            continue;
        };
        if account != ctx.account {
            warnings.push(format!(
                "role {arn} (given for {}) is in account {account}, not {}: it cannot be read from here, \
                 so it was not checked (Lambda refuses a role it cannot assume when the function is created)",
                handlers.join(", "),
                ctx.account
            ));
            continue;
        }
        let Some(role) = read(c, name).await? else {
            warnings.push(format!(
                "role {arn} (given for {}) does not exist: creating the function will fail",
                handlers.join(", ")
            ));
            continue;
        };
        if !assumable_by_lambda(&role.trust) {
            warnings.push(format!(
                "role {arn} (given for {}) cannot be assumed by Lambda: its trust policy does not allow \
                 lambda.amazonaws.com to call sts:AssumeRole",
                handlers.join(", ")
            ));
        }
        for (handler, needs) in users {
            // `a, b on RESOURCE` for each needed resource some action on it is not allowed.
            let mut missing = Vec::new();
            for s in needs {
                for resource in s.resources.iter().map(|r| r.resolve(ctx)) {
                    let denied: Vec<&str> = s
                        .actions
                        .iter()
                        .map(String::as_str)
                        .filter(|a| !allows(&role.policies, a, &resource))
                        .collect();
                    if !denied.is_empty() {
                        missing.push(format!("{} on {resource}", denied.join(", ")));
                    }
                }
            }
            if !missing.is_empty() {
                warnings.push(format!(
                    "role {arn} (given for {handler}) does not allow what {handler} needs: {}",
                    missing.join("; ")
                ));
            }
        }
    }
    Ok(warnings)
}

/// `(account, name)` of `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn role_parts(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, service, _region) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (account, resource) = (parts.next()?, parts.next()?);
    let path_and_name = resource.strip_prefix("role/")?;
    (service == "iam").then(|| {
        (
            account,
            path_and_name.rsplit('/').next().unwrap_or(path_and_name),
        )
    })
}

/// What a given role holds: its trust policy and every policy document that grants it something.
struct ReadRole {
    trust: Value,
    policies: Vec<Value>,
}

const NOT_FOUND: &str = "NoSuchEntity";

async fn read(c: &Clients, name: &str) -> Result<Option<ReadRole>, CallError> {
    let role = c.iam.get_role().role_name(name).send().await;
    let role = found(role.map_err(|e| CallError::new("GetRole", name, e)), |e| {
        e.has_code(NOT_FOUND)
    })?;
    let Some(role) = role.and_then(|r| r.role) else {
        return Ok(None);
    };
    let parse = |op: &'static str, raw: &str| {
        parse_policy_document(raw).map_err(|e| CallError::other(op, name, e.to_string()))
    };
    let trust = super::role::trust_policy_of(&role, "GetRole")?;
    let mut policies = Vec::new();
    let inline = c
        .iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| CallError::new("ListRolePolicies", name, e))?;
    for policy_name in inline.policy_names() {
        let doc = c
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(|e| CallError::new("GetRolePolicy", name, e))?;
        policies.push(parse("GetRolePolicy", doc.policy_document())?);
    }
    for arn in super::attachment::list_attached(c, name).await? {
        let policy = c
            .iam
            .get_policy()
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| CallError::new("GetPolicy", &arn, e))?;
        let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
            continue;
        };
        let doc = c
            .iam
            .get_policy_version()
            .policy_arn(&arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| CallError::new("GetPolicyVersion", &arn, e))?;
        if let Some(raw) = doc.policy_version().and_then(|v| v.document()) {
            policies.push(parse("GetPolicyVersion", raw)?);
        }
    }
    Ok(Some(ReadRole { trust, policies }))
}

/// The statements of a policy document (one object or a list).
fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(list) => list.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    }
}

/// A string or a list of strings.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn assumable_by_lambda(trust: &Value) -> bool {
    statements(trust).into_iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Principal"]["Service"]).contains(&"lambda.amazonaws.com")
            && strings(&s["Action"])
                .iter()
                .any(|a| wildcard(a, "sts:AssumeRole"))
    })
}

/// Whether some `Allow` statement of `policies` covers `action` on `resource`.
fn allows(policies: &[Value], action: &str, resource: &str) -> bool {
    policies.iter().flat_map(statements).any(|s| {
        let covers = |key: &str, not_key: &str, value: &str| match s.get(not_key) {
            Some(not) => !strings(not).iter().any(|p| wildcard(p, value)),
            None => strings(&s[key]).iter().any(|p| wildcard(p, value)),
        };
        s["Effect"] == "Allow"
            && covers("Action", "NotAction", action)
            && covers("Resource", "NotResource", resource)
    })
}

/// IAM's matching: `*` any run of characters, `?` one; actions compare without case.
fn wildcard(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_and_not_keys() {
        let policies = [json!({"Statement": [
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:*:1:orders-*"},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:logs:*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
        ]})];
        assert!(allows(
            &policies,
            "sqs:ReceiveMessage",
            "arn:aws:sqs:us-east-1:1:orders-prod"
        ));
        assert!(!allows(
            &policies,
            "sqs:ReceiveMessage",
            "arn:aws:sqs:us-east-1:1:other"
        ));
        assert!(allows(&policies, "logs:PutLogEvents", "arn:aws:logs:x"));
        assert!(!allows(&policies, "iam:PassRole", "arn:aws:logs:x"));
        assert!(wildcard("s3:Get?bject", "S3:GETOBJECT"));
    }

    #[test]
    fn trust_and_arn_parts() {
        let lambda = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]});
        let ec2 = json!({"Statement": {"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        assert!(assumable_by_lambda(&lambda));
        assert!(!assumable_by_lambda(&ec2));
        assert_eq!(
            role_parts("arn:aws:iam::123456789012:role/team/orders-prod"),
            Some(("123456789012", "orders-prod"))
        );
        assert_eq!(role_parts("arn:aws:iam::123456789012:user/x"), None);
    }
}
