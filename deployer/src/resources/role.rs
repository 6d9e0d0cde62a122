//! Each function's own execution role and its inline policy (IAM). Roles live under the stage's path
//! (`/chalice/<app>/<stage>/`), so one `ListRoles` finds them all; managed policies attached to them are
//! the `attachment` kind's.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::Tag;
use chalice_codegen::plan::{self, AwsContext};
use serde::Serialize;
use serde_json::{Value, json};

use super::call::{CallError, found, gone};
use super::change::{Action, Change, FieldChange};
use super::compare::{field, normalize_policy};
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Step, StepError, create_or_update};
use crate::aws::{Clients, parse_policy_document};

/// An execution role and its inline policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleSpec {
    pub name: String,
    /// `/chalice/<app>/<stage>/` (`/` for a role read by name that lives elsewhere).
    pub path: String,
    /// The trust policy document.
    pub trust_policy: Value,
    pub policy_name: String,
    /// The inline policy document; `None` when there is nothing to grant (or none exists live).
    pub policy: Option<Value>,
    pub tags: BTreeMap<String, String>,
}

/// The role as read live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRole {
    pub arn: String,
    pub spec: RoleSpec,
}

/// An execution role.
pub struct Role;

impl Resource for Role {
    type Spec = RoleSpec;
    type Store = BTreeMap<String, Option<LiveRole>>;
    const KIND: ResourceKind = ResourceKind::IamRole;
    /// IAM refuses to delete a role with managed policies attached (`DeleteConflict`). Not the
    /// functions: IAM does not know which function names a role, and a function outlives its role.
    const DELETED_AFTER: &'static [ResourceKind] = &[ResourceKind::IamRolePolicyAttachment];
    /// In a deploy that moves a function to another role, the function is updated first: it could
    /// not run between its role's deletion and its update.
    const DELETED_AFTER_WRITES_OF: &'static [ResourceKind] = &[ResourceKind::LambdaFunction];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Role {
            name: spec.name.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for role in &r.plan.roles {
            let spec = desired_role(role, &r.plan.tags, r.ctx);
            let size = spec.policy.as_ref().map_or(0, |p| {
                p.to_string().chars().filter(|c| !c.is_whitespace()).count()
            });
            if size > MAX_INLINE_POLICY {
                r.problems.push(format!(
                    "the inline policy of role `{}` is {size} characters; IAM allows {MAX_INLINE_POLICY}: \
                     move statements into a managed policy (`managed_policies`)",
                    spec.name
                ));
            }
            out.push((role.id.clone(), spec));
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        // A function's own role is named after it.
        match identity {
            Identity::Role { name } => Some(name.clone()),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::Role { name } = identity else {
            return None;
        };
        live.get(name).map(Option::is_some)
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let found = live.get(&spec.name).map(Option::as_ref);
        create_or_update(id, Self::identity(spec), found, |l| {
            role_fields(spec, &l.spec)
        })
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::Role { name } = identity else {
            return None;
        };
        let role = live.get(name)?.as_ref()?;
        Some(Record {
            arn: Some(role.arn.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::Role { name } = &change.identity else {
            return Err(StepError::Internal(format!("{} is not a role", change.id)));
        };
        if change.is_delete() {
            delete_role(c, name, name).await?;
            step.records.forget(&change.identity)?;
            return Ok(None);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        let arn = match (&change.action, step.live.get(name)) {
            (Action::Update { .. }, Some(Some(live))) => {
                update_role(c, spec, &live.spec).await?;
                live.arn.clone()
            }
            _ => create_role(c, spec).await?,
        };
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                arn: Some(arn),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

fn desired_role(r: &plan::Role, tags: &BTreeMap<String, String>, ctx: &AwsContext) -> RoleSpec {
    let trust_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": r.trust_principal},
            "Action": "sts:AssumeRole",
        }],
    });
    let statements: Vec<serde_json::Value> = r
        .statements
        .iter()
        .map(|s| {
            json!({
                "Sid": s.sid,
                "Effect": "Allow",
                "Action": s.actions,
                "Resource": s.resources.iter().map(|a| a.resolve(ctx)).collect::<Vec<_>>(),
            })
        })
        .chain(
            r.custom_statements
                .iter()
                .map(|st| plan::resolve_json(st, ctx)),
        )
        .collect();
    RoleSpec {
        name: r.name.clone(),
        path: r.path.clone(),
        trust_policy,
        policy_name: r.policy_name.clone(),
        policy: (!statements.is_empty())
            .then(|| json!({"Version": "2012-10-17", "Statement": statements})),
        tags: tags.clone(),
    }
}

fn role_fields(d: &RoleSpec, l: &RoleSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let (dt, lt) = (
        normalize_policy(&d.trust_policy),
        normalize_policy(&l.trust_policy),
    );
    if dt != lt {
        field(&mut out, "trust_policy", Some(dt), Some(lt));
    }
    let statements = |doc: &Option<Value>| -> BTreeMap<String, Value> {
        let Some(doc) = doc else {
            return BTreeMap::new();
        };
        let doc = normalize_policy(doc);
        doc["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, st)| {
                let sid = st["Sid"]
                    .as_str()
                    .map_or_else(|| format!("#{i}"), str::to_string);
                (sid, st.clone())
            })
            .collect()
    };
    let before = out.len();
    let (ds, ls) = (statements(&d.policy), statements(&l.policy));
    for sid in ds.keys().chain(ls.keys()).collect::<BTreeSet<_>>() {
        match (ds.get(sid), ls.get(sid)) {
            (Some(a), Some(b)) if a == b => {}
            // Only the resources differ (a handler added or removed): show just those.
            (Some(a), Some(b)) if without_resources(a) == without_resources(b) => {
                let (added, removed) = list_changes(&a["Resource"], &b["Resource"]);
                out.push(FieldChange {
                    field: format!("policy.{sid}.resources"),
                    old: (!removed.is_empty()).then(|| removed.join(", ")),
                    new: (!added.is_empty()).then(|| added.join(", ")),
                });
            }
            (a, b) => field(
                &mut out,
                &format!("policy.{sid}"),
                a.map(statement_summary),
                b.map(statement_summary),
            ),
        }
    }
    let (dp, lp) = (
        d.policy.as_ref().map(normalize_policy),
        l.policy.as_ref().map(normalize_policy),
    );
    if out.len() == before && dp != lp {
        // Same statements, but something else differs (Version, a condition...).
        field(&mut out, "policy", dp, lp);
    }
    // Tags are not compared: a role's are `chalice:app` and `chalice:stage`, fixed by its name (and
    // `ListRoles`, which reads the stage's roles in one call, does not return them).
    out
}

fn without_resources(st: &Value) -> Value {
    let mut st = st.clone();
    if let Some(map) = st.as_object_mut() {
        map.remove("Resource");
    }
    st
}

/// Items of `desired` not in `live` (added) and of `live` not in `desired` (removed).
fn list_changes(desired: &Value, live: &Value) -> (Vec<String>, Vec<String>) {
    let items = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect()
    };
    let (d, l) = (items(desired), items(live));
    (
        d.difference(&l).cloned().collect(),
        l.difference(&d).cloned().collect(),
    )
}

/// `Allow logs:CreateLogGroup, logs:PutLogEvents on arn:...`: a statement on one line.
fn statement_summary(st: &Value) -> String {
    let list = |key: &str| -> String {
        st[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let effect = st["Effect"].as_str().unwrap_or("?");
    let mut s = format!("{effect} {} on {}", list("Action"), list("Resource"));
    if let Some(c) = st.get("Condition") {
        s.push_str(&format!(" if {c}"));
    }
    s
}

const NOT_FOUND: &str = "NoSuchEntity";
/// IAM's limit on a role's inline policies, in characters without white space.
const MAX_INLINE_POLICY: usize = 10_240;

/// A role's trust policy as IAM answered it (`operation`), parsed; `Null` when it has none.
pub fn trust_policy_of(
    role: &aws_sdk_iam::types::Role,
    operation: &'static str,
) -> Result<Value, CallError> {
    role.assume_role_policy_document()
        .map(|raw| {
            parse_policy_document(raw)
                .map_err(|e| CallError::other(operation, role.role_name(), e.to_string()))
        })
        .transpose()
        .map(|doc| doc.unwrap_or(Value::Null))
}

/// A role found by `ListRoles`: enough to tell it exists and compare its trust policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRole {
    pub arn: String,
    pub path: String,
    pub trust_policy: Value,
}

/// Every role under `path` (one paginated `ListRoles`), by name.
pub async fn list_roles(
    c: &Clients,
    path: &str,
) -> Result<BTreeMap<String, ListedRole>, CallError> {
    let mut pages = c.iam.list_roles().path_prefix(path).into_paginator().send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CallError::new("ListRoles", path, e))?;
        for role in page.roles() {
            let trust_policy = trust_policy_of(role, "ListRoles")?;
            out.insert(
                role.role_name().to_string(),
                ListedRole {
                    arn: role.arn().to_string(),
                    path: role.path().to_string(),
                    trust_policy,
                },
            );
        }
    }
    Ok(out)
}

/// The role's inline policy `policy_name`; `None` when it (or the role) does not exist.
pub async fn read_inline_policy(
    c: &Clients,
    name: &str,
    policy_name: &str,
) -> Result<Option<Value>, CallError> {
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
    policy
        .map(|out| {
            parse_policy_document(out.policy_document())
                .map_err(|e| CallError::other("GetRolePolicy", name, e.to_string()))
        })
        .transpose()
}

/// A role listed under its path, with its inline policy read: the live role.
pub async fn read_listed_role(
    c: &Clients,
    name: &str,
    policy_name: &str,
    listed: &ListedRole,
) -> Result<LiveRole, CallError> {
    let mut role = listed_without_policy(name, policy_name, listed);
    role.spec.policy = read_inline_policy(c, name, policy_name).await?;
    Ok(role)
}

/// A listed role whose inline policy was not read (one to remove: only its existence matters).
pub fn listed_without_policy(name: &str, policy_name: &str, listed: &ListedRole) -> LiveRole {
    LiveRole {
        arn: listed.arn.clone(),
        spec: RoleSpec {
            name: name.to_string(),
            path: listed.path.clone(),
            trust_policy: listed.trust_policy.clone(),
            policy_name: policy_name.to_string(),
            policy: None,
            tags: BTreeMap::new(),
        },
    }
}

/// The role and its inline policy `policy_name` by name (GetRole), or `None` when the role does not
/// exist: for a role outside the stage's path (one recorded by an older version, a given one).
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
    let trust_policy = trust_policy_of(&role, "GetRole")?;
    let tags = role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    Ok(Some(LiveRole {
        arn: role.arn().to_string(),
        spec: RoleSpec {
            name: name.to_string(),
            path: role.path().to_string(),
            trust_policy,
            policy_name: policy_name.to_string(),
            policy: read_inline_policy(c, name, policy_name).await?,
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
        .path(&spec.path)
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
            if live.spec.path != spec.path {
                // A role's path cannot change, and the functions are given the ARN under ours.
                return Err(CallError::other(
                    "CreateRole",
                    &spec.name,
                    format!(
                        "a role of this name already exists under the path {} (this app's roles live under {}); \
                         delete it, or give the function that role with `role = \"{}\"`",
                        live.spec.path, spec.path, live.arn
                    ),
                ));
            }
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

/// Brings the role's trust policy and inline policy to `spec` (only what differs). Tags are set when
/// the role is made and never change (`chalice:app`, `chalice:stage`, fixed by its name).
pub async fn update_role(c: &Clients, spec: &RoleSpec, live: &RoleSpec) -> Result<(), CallError> {
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
    Ok(())
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
    let delete = || async {
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
    };
    match delete().await {
        // Something is still attached that we did not record (attached by hand, or an attachment
        // whose record was lost): detach it, the role is ours to remove.
        Err(e) if e.has_code("DeleteConflict") => {
            for arn in super::attachment::list_attached(c, name).await? {
                super::attachment::detach(c, name, &arn).await?;
            }
            delete().await
        }
        other => other,
    }
}
