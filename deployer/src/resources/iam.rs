//! The execution role and its inline policy (IAM).

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;

use super::{CallError, found, gone};
use crate::aws::{Clients, parse_policy_document};
use crate::engine::spec::{LiveRole, RoleSpec};

const NOT_FOUND: &str = "NoSuchEntity";

/// The role and its inline policy `policy_name`, or `None` when the role does not exist.
pub async fn read_role(
    c: &Clients,
    name: &str,
    policy_name: &str,
) -> Result<Option<LiveRole>, CallError> {
    let role = c.iam.get_role().role_name(name).send().await;
    let role = found(role.map_err(|e| CallError::new("GetRole", name, e)), |e| {
        e.has_code(NOT_FOUND)
    })?;
    let Some(role) = role.and_then(|out| out.role) else {
        return Ok(None);
    };
    let policy = c
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .send()
        .await;
    let policy = found(
        policy.map_err(|e| CallError::new("GetRolePolicy", name, e)),
        |e| e.has_code(NOT_FOUND),
    )?;
    let parse = |op: &'static str, raw: &str| {
        parse_policy_document(raw).map_err(|e| CallError::other(op, name, e.to_string()))
    };
    let trust_policy = match role.assume_role_policy_document() {
        Some(raw) => parse("GetRole", raw)?,
        None => serde_json::Value::Null,
    };
    let policy = match policy {
        Some(out) => Some(parse("GetRolePolicy", out.policy_document())?),
        None => None,
    };
    let tags = role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    Ok(Some(LiveRole {
        arn: role.arn().to_string(),
        spec: RoleSpec {
            name: name.to_string(),
            trust_policy,
            policy_name: policy_name.to_string(),
            policy,
            tags,
        },
    }))
}

fn tags(spec: &RoleSpec) -> Result<Vec<Tag>, CallError> {
    spec.tags
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CallError::other("TagRole", &spec.name, e.to_string()))
        })
        .collect()
}

/// Creates the role with its policy and tags; returns its ARN. A role that already exists (a create
/// retried after a dropped answer, a concurrent deploy) is adopted and brought up to date.
pub async fn create_role(c: &Clients, spec: &RoleSpec) -> Result<String, CallError> {
    let created = c
        .iam
        .create_role()
        .role_name(&spec.name)
        .assume_role_policy_document(spec.trust_policy.to_string())
        .set_tags(Some(tags(spec)?))
        .send()
        .await;
    match created {
        Ok(out) => {
            let arn = out.role().map(|r| r.arn().to_string()).unwrap_or_default();
            put_policy(c, spec).await?;
            Ok(arn)
        }
        Err(e) => {
            let e = CallError::new("CreateRole", &spec.name, e);
            if !e.has_code("EntityAlreadyExists") {
                return Err(e);
            }
            let live = read_role(c, &spec.name, &spec.policy_name)
                .await?
                .ok_or(e)?;
            update_role(c, spec, &live.spec).await?;
            Ok(live.arn)
        }
    }
}

async fn put_policy(c: &Clients, spec: &RoleSpec) -> Result<(), CallError> {
    match &spec.policy {
        Some(policy) => c
            .iam
            .put_role_policy()
            .role_name(&spec.name)
            .policy_name(&spec.policy_name)
            .policy_document(policy.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("PutRolePolicy", &spec.name, e)),
        None => gone(
            c.iam
                .delete_role_policy()
                .role_name(&spec.name)
                .policy_name(&spec.policy_name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::new("DeleteRolePolicy", &spec.name, e)),
            &[NOT_FOUND],
        ),
    }
}

/// Brings the role's trust policy, inline policy and tags to `spec` (only what differs).
pub async fn update_role(c: &Clients, spec: &RoleSpec, live: &RoleSpec) -> Result<(), CallError> {
    use crate::engine::spec::normalize_policy;
    if normalize_policy(&spec.trust_policy) != normalize_policy(&live.trust_policy) {
        c.iam
            .update_assume_role_policy()
            .role_name(&spec.name)
            .policy_document(spec.trust_policy.to_string())
            .send()
            .await
            .map_err(|e| CallError::new("UpdateAssumeRolePolicy", &spec.name, e))?;
    }
    if spec.policy.as_ref().map(normalize_policy) != live.policy.as_ref().map(normalize_policy) {
        put_policy(c, spec).await?;
    }
    let (add, remove) = tag_changes(&spec.tags, &live.tags);
    if !add.is_empty() {
        let wanted = RoleSpec {
            tags: add,
            ..spec.clone()
        };
        c.iam
            .tag_role()
            .role_name(&spec.name)
            .set_tags(Some(tags(&wanted)?))
            .send()
            .await
            .map_err(|e| CallError::new("TagRole", &spec.name, e))?;
    }
    if !remove.is_empty() {
        c.iam
            .untag_role()
            .role_name(&spec.name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| CallError::new("UntagRole", &spec.name, e))?;
    }
    Ok(())
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

/// Deletes the inline policy, then the role. Gone already is fine.
pub async fn delete_role(c: &Clients, name: &str, policy_name: &str) -> Result<(), CallError> {
    gone(
        c.iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteRolePolicy", name, e)),
        &[NOT_FOUND],
    )?;
    gone(
        c.iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteRole", name, e)),
        &[NOT_FOUND],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
