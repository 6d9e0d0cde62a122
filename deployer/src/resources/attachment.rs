//! Managed policies attached to a function's own role (IAM `AttachRolePolicy`), one resource per
//! role and policy, so a policy taken out of the file is detached and nothing else is touched.

use std::collections::{BTreeMap, BTreeSet};

use chalice_codegen::plan::AwsContext;
use serde::Serialize;

use super::call::{CallError, found, gone};
use super::change::Change;
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError};
use crate::aws::Clients;

/// One managed policy on one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentSpec {
    pub role: String,
    pub policy_arn: String,
}

/// A managed policy attachment.
pub struct Attachment;

impl Resource for Attachment {
    type Spec = AttachmentSpec;
    /// Attached policy ARNs by role (`None`: the role does not exist).
    type Store = BTreeMap<String, Option<BTreeSet<String>>>;
    const KIND: ResourceKind = ResourceKind::IamRolePolicyAttachment;
    const AFTER: &'static [(ResourceKind, Scope)] = &[(ResourceKind::IamRole, Scope::SameFunction)];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Attachment {
            role: spec.role.clone(),
            policy_arn: spec.policy_arn.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for role in &r.plan.roles {
            for arn in &role.managed_policies {
                let policy_arn = arn.resolve(r.ctx);
                out.push((
                    format!("attachment.{}@{policy_arn}", role.function),
                    AttachmentSpec {
                        role: role.name.clone(),
                        policy_arn,
                    },
                ));
            }
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        // A function's own role is named after it.
        match identity {
            Identity::Attachment { role, .. } => Some(role.clone()),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::Attachment { role, policy_arn } = identity else {
            return None;
        };
        live.get(role)
            .map(|attached| attached.as_ref().is_some_and(|a| a.contains(policy_arn)))
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let identity = Self::identity(spec);
        match Self::exists(&identity, live, facts) {
            Some(false) => vec![Change::new(id, identity, None, super::Action::Create)],
            _ => Vec::new(),
        }
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::Attachment { policy_arn, .. } = identity else {
            return None;
        };
        Self::exists(identity, live, facts)
            .filter(|e| *e)
            .map(|_| Record {
                physical_id: Some(policy_arn.clone()),
                ..Record::default()
            })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        _spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::Attachment { role, policy_arn } = &change.identity else {
            return Err(StepError::Internal(format!(
                "{} is not a policy attachment",
                change.id
            )));
        };
        if change.is_delete() {
            detach(c, role, policy_arn).await?;
            step.records.forget(&change.identity)?;
            return Ok(None);
        }
        c.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| CallError::new("AttachRolePolicy", role, e))?;
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                physical_id: Some(policy_arn.clone()),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

const NOT_FOUND: &str = "NoSuchEntity";

/// The managed policies attached to `role` (one paginated listing); `None` when the role does not exist.
pub async fn read_attached(c: &Clients, role: &str) -> Result<Option<BTreeSet<String>>, CallError> {
    let mut pages = c
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    let mut out = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = found(
            page.map_err(|e| CallError::new("ListAttachedRolePolicies", role, e)),
            |e| e.has_code(NOT_FOUND),
        )?;
        let Some(page) = page else {
            return Ok(None);
        };
        out.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
    }
    Ok(Some(out))
}

/// The managed policies attached to `role` (none when it does not exist).
pub async fn list_attached(c: &Clients, role: &str) -> Result<Vec<String>, CallError> {
    Ok(read_attached(c, role)
        .await?
        .map(|set| set.into_iter().collect())
        .unwrap_or_default())
}

/// Detaches `policy_arn` from `role`; not attached (or no such role) is fine.
pub async fn detach(c: &Clients, role: &str, policy_arn: &str) -> Result<(), CallError> {
    gone(
        c.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DetachRolePolicy", role, e)),
        &[NOT_FOUND],
    )
}
