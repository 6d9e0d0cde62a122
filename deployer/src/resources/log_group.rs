//! A function's CloudWatch Logs group, owned by the deployer when the function has a `log_retention`:
//! created with that retention before the function (so no log line lands in a group that never
//! expires), updated in place, and left with its logs on `delete` unless `delete --logs`.
//!
//! Without `log_retention` the group is Lambda's (made on first use, never expiring), as before. A
//! retention taken out of the file puts the group back to that: its retention policy is removed.

use std::collections::BTreeMap;

use chalice_codegen::plan::{Arn, AwsContext, LOG_GROUP_PREFIX};
use serde::Serialize;

use super::call::{CallError, gone};
use super::change::{Action, Change, FieldChange, Recorded};
use super::compare::field;
use super::identity::{Identity, ResourceKind};
use super::kind::{
    Facts, Record, Resolver, Resource, Step, StepError, Wanted, create_or_update, removal_if_live,
};
use crate::aws::Clients;

/// A log group the deployer owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogGroupSpec {
    pub name: String,
    /// Days kept; `None` when read live without a retention policy.
    pub retention_days: Option<u32>,
    /// Set on creation (`chalice:app`, `chalice:stage`); not compared.
    pub tags: BTreeMap<String, String>,
}

/// A CloudWatch Logs group.
pub struct LogGroup;

impl Resource for LogGroup {
    type Spec = LogGroupSpec;
    /// By name (`None`: it does not exist).
    type Store = BTreeMap<String, Option<LogGroupSpec>>;
    const KIND: ResourceKind = ResourceKind::LogsLogGroup;

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::LogGroup {
            name: spec.name.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        r.plan
            .functions
            .iter()
            .filter_map(|f| {
                let days = f.log_group.retention_days?;
                Some((
                    f.log_group.id.clone(),
                    LogGroupSpec {
                        name: f.log_group.name.clone(),
                        retention_days: Some(days),
                        tags: r.plan.tags.clone(),
                    },
                ))
            })
            .collect()
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        match identity {
            Identity::LogGroup { name } => name.strip_prefix(LOG_GROUP_PREFIX).map(str::to_string),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::LogGroup { name } = identity else {
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
            let mut out = Vec::new();
            field(
                &mut out,
                "retention_days",
                spec.retention_days,
                l.retention_days,
            );
            out
        })
    }

    /// Deleted only when the stage is (and `--logs` asked for it: `delete` leaves log groups out
    /// otherwise). On deploy, a group whose `log_retention` was taken out goes back to Lambda's
    /// default: its retention policy is removed and the logs kept.
    fn removals(
        rec: &Recorded,
        wanted: &Wanted<'_>,
        live: &Self::Store,
        facts: &Facts<'_>,
    ) -> Vec<Change> {
        if wanted.deleting_stage {
            return removal_if_live::<Self>(rec, wanted, live, facts);
        }
        let Identity::LogGroup { name } = &rec.identity else {
            return Vec::new();
        };
        if wanted.identities.contains(&rec.identity) {
            return Vec::new();
        }
        match live.get(name) {
            Some(Some(l)) if l.retention_days.is_some() => vec![Change::new(
                &rec.key,
                rec.identity.clone(),
                None,
                Action::Update {
                    fields: vec![FieldChange {
                        field: "retention_days".into(),
                        old: l.retention_days.map(|d| d.to_string()),
                        new: None,
                    }],
                },
            )],
            // Already without retention: nothing to change, and its logs are never ours to delete
            // on a deploy (the record stays, harmless). Gone: the record goes (reconcile).
            _ => Vec::new(),
        }
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::LogGroup { name } = identity else {
            return None;
        };
        live.get(name)?.as_ref()?;
        Some(Record::default())
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::LogGroup { name } = &change.identity else {
            return Err(StepError::Internal(format!(
                "{} is not a log group",
                change.id
            )));
        };
        match (&change.action, spec) {
            (Action::Delete { .. }, _) => {
                if step.live.get(name).is_some_and(Option::is_some) {
                    delete_log_group(c, name).await?;
                }
                step.records.forget(&change.identity)?;
                return Ok(None);
            }
            // Not desired any more: back to never expiring, and no longer ours.
            (Action::Update { .. }, None) => {
                delete_retention(c, name).await?;
                step.records.forget(&change.identity)?;
                return Ok(Some("kept with its logs; they no longer expire".into()));
            }
            (Action::Create, Some(spec)) => create_log_group(c, step.ctx, spec).await?,
            (Action::Update { .. }, Some(_)) => {}
            (Action::Create, None) => {
                return Err(StepError::Internal(format!("no spec for {}", change.id)));
            }
        }
        if let Some(spec) = spec {
            put_retention(c, spec).await?;
        }
        step.records
            .record(&change.id, &change.identity, Record::default())?;
        Ok(None)
    }
}

/// Every log group whose name starts with `prefix` (one paginated `DescribeLogGroups`), with its retention.
pub async fn read_groups(
    c: &Clients,
    prefix: &str,
) -> Result<BTreeMap<String, LogGroupSpec>, CallError> {
    let mut pages = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CallError::new("DescribeLogGroups", prefix, e))?;
        for g in page.log_groups() {
            let Some(name) = g.log_group_name() else {
                continue;
            };
            out.insert(
                name.to_string(),
                LogGroupSpec {
                    name: name.to_string(),
                    retention_days: g.retention_in_days().and_then(|d| u32::try_from(d).ok()),
                    tags: BTreeMap::new(),
                },
            );
        }
    }
    Ok(out)
}

/// Creates the group with the stage's tags. One that exists already (Lambda made it on a first
/// invocation, or this is the retry of a create whose answer was lost) is ours from here on: it is
/// tagged as a created one is.
async fn create_log_group(
    c: &Clients,
    ctx: &AwsContext,
    spec: &LogGroupSpec,
) -> Result<(), CallError> {
    let created = c
        .logs
        .create_log_group()
        .log_group_name(&spec.name)
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .map_err(|e| CallError::new("CreateLogGroup", &spec.name, e));
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.has_code("ResourceAlreadyExistsException") => tag_log_group(c, ctx, spec).await,
        Err(e) => Err(e),
    }
}

/// Tags an existing group with the spec's tags (TagResource, by the group's ARN).
async fn tag_log_group(
    c: &Clients,
    ctx: &AwsContext,
    spec: &LogGroupSpec,
) -> Result<(), CallError> {
    if spec.tags.is_empty() {
        return Ok(());
    }
    // TagResource wants the group's ARN without the `:*` DescribeLogGroups' `arn` ends with
    // (its `logGroupArn`). moto keys tags by the ARN it is given, and accepts one of a group that
    // does not exist (AWS answers ResourceNotFoundException).
    let arn = log_group_arn(&spec.name).resolve(ctx);
    c.logs
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(spec.tags.clone().into_iter().collect()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("TagResource", &arn, e))
}

/// The ARN of log group `name` (as TagResource takes it: no trailing `:*`).
fn log_group_arn(name: &str) -> Arn {
    Arn::local("logs", &format!("log-group:{name}"))
}

async fn put_retention(c: &Clients, spec: &LogGroupSpec) -> Result<(), CallError> {
    let Some(days) = spec.retention_days else {
        return delete_retention(c, &spec.name).await;
    };
    c.logs
        .put_retention_policy()
        .log_group_name(&spec.name)
        .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("PutRetentionPolicy", &spec.name, e))
}

async fn delete_retention(c: &Clients, name: &str) -> Result<(), CallError> {
    gone(
        c.logs
            .delete_retention_policy()
            .log_group_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteRetentionPolicy", name, e)),
        &[NOT_FOUND],
    )
}

/// Deletes the group and its logs; gone already is fine.
pub async fn delete_log_group(c: &Clients, name: &str) -> Result<(), CallError> {
    gone(
        c.logs
            .delete_log_group()
            .log_group_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteLogGroup", name, e)),
        &[NOT_FOUND],
    )
}

const NOT_FOUND: &str = "ResourceNotFoundException";

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn recorded(name: &str) -> Recorded {
        Recorded {
            key: "log_group.h".into(),
            identity: Identity::LogGroup { name: name.into() },
            owned: true,
            physical_id: None,
        }
    }

    fn live(retention: Option<u32>) -> BTreeMap<String, Option<LogGroupSpec>> {
        BTreeMap::from([(
            "/aws/lambda/a-dev-h".to_string(),
            Some(LogGroupSpec {
                name: "/aws/lambda/a-dev-h".into(),
                retention_days: retention,
                tags: BTreeMap::new(),
            }),
        )])
    }

    #[test]
    fn a_retention_taken_out_keeps_the_logs_and_only_delete_removes_them() {
        let nothing = BTreeSet::new();
        let exists = |_: &str| Some(true);
        let facts = Facts::new(&exists);
        let rec = recorded("/aws/lambda/a-dev-h");
        let deploy = Wanted {
            identities: &nothing,
            code_known: true,
            deleting_stage: false,
        };
        let changes = LogGroup::removals(&rec, &deploy, &live(Some(14)), &facts);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].to_string(),
            "~ update log_group /aws/lambda/a-dev-h\n    retention_days: 14 → (none)"
        );
        let delete = Wanted {
            deleting_stage: true,
            ..deploy
        };
        let changes = LogGroup::removals(&rec, &delete, &live(Some(14)), &facts);
        assert!(changes[0].is_delete());
        assert!(
            LogGroup::removals(&rec, &deploy, &live(None), &facts).is_empty(),
            "a deploy never deletes logs"
        );
        assert_eq!(
            LogGroup::function_of(&rec.identity, None).as_deref(),
            Some("a-dev-h")
        );
    }
}
