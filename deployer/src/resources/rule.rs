//! EventBridge rules (schedules and event patterns) and their one target: the function.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};
use chalice_codegen::plan::AwsContext;
use serde::Serialize;
use serde_json::Value;

use super::call::{CallError, found, gone};
use super::change::{Action, Change, FieldChange};
use super::compare::{canonical, field};
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError, create_or_update};
use crate::aws::Clients;

/// An EventBridge rule and its one target (ours).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSpec {
    pub name: String,
    pub bus: Option<String>,
    pub schedule_expression: Option<String>,
    pub event_pattern: Option<Value>,
    pub description: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    pub target_id: String,
    /// The ARN our target points at (the function); `None` live when our target is missing.
    pub target_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A rule as read live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRule {
    pub arn: String,
    pub spec: RuleSpec,
    /// Every target id on the rule (ours and any others).
    pub target_ids: Vec<String>,
}

/// An EventBridge rule with its target.
pub struct Rule;

/// The function name at the end of a function ARN.
fn function_name(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or(arn).to_string()
}

impl Resource for Rule {
    type Spec = RuleSpec;
    type Store = BTreeMap<(Option<String>, String), Option<LiveRule>>;
    const KIND: ResourceKind = ResourceKind::EventsRule;
    const AFTER: &'static [(ResourceKind, Scope)] =
        &[(ResourceKind::LambdaFunction, Scope::SameFunction)];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Rule {
            name: spec.name.clone(),
            bus: spec.bus.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for rule in &r.plan.rules {
            let pattern = match &rule.event_pattern {
                Some(p) => match serde_json::from_str(p) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        r.problems.push(format!(
                            "rule `{}`: the event pattern is not JSON: {e}",
                            rule.name
                        ));
                        continue;
                    }
                },
                None => None,
            };
            out.push((
                rule.id.clone(),
                RuleSpec {
                    name: rule.name.clone(),
                    bus: rule.event_bus.clone(),
                    schedule_expression: rule.schedule_expression.clone(),
                    event_pattern: pattern,
                    description: rule.description.clone(),
                    state: "ENABLED".into(),
                    target_id: rule.target_id.clone(),
                    target_arn: r.function_arn(&rule.function),
                    tags: r.plan.tags.clone(),
                },
            ));
        }
        out
    }

    fn function_of(_: &Identity, spec: Option<&Self::Spec>) -> Option<String> {
        spec?.target_arn.as_deref().map(function_name)
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::Rule { name, bus } = identity else {
            return None;
        };
        live.get(&(bus.clone(), name.clone())).map(Option::is_some)
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let found = live
            .get(&(spec.bus.clone(), spec.name.clone()))
            .map(Option::as_ref);
        create_or_update(id, Self::identity(spec), found, |l| {
            rule_fields(spec, &l.spec)
        })
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::Rule { name, bus } = identity else {
            return None;
        };
        let rule = live.get(&(bus.clone(), name.clone()))?.as_ref()?;
        Some(Record {
            arn: Some(rule.arn.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::Rule { name, bus } = &change.identity else {
            return Err(StepError::Internal(format!("{} is not a rule", change.id)));
        };
        let live = step.live.get(&(bus.clone(), name.clone()));
        if change.is_delete() {
            let targets = match live {
                Some(Some(rule)) => rule.target_ids.clone(),
                _ => list_targets(c, name, bus.as_deref())
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect(),
            };
            delete_rule(c, name, bus.as_deref(), &targets).await?;
            step.records.forget(&change.identity)?;
            return Ok(None);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        let (rule_changed, target_changed) = match &change.action {
            Action::Update { fields } => (
                fields.iter().any(|f| !f.field.starts_with("target.")),
                fields.iter().any(|f| f.field.starts_with("target.")),
            ),
            _ => (true, true),
        };
        let arn = match (rule_changed, live) {
            (false, Some(Some(rule))) => rule.arn.clone(),
            _ => put_rule(c, spec).await?,
        };
        // Recorded before the target exists: a rule without its target is still ours to delete.
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                arn: Some(arn),
                ..Record::default()
            },
        )?;
        if target_changed {
            put_target(c, spec).await?;
        }
        Ok(None)
    }
}

fn rule_fields(d: &RuleSpec, l: &RuleSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(
        &mut out,
        "schedule_expression",
        d.schedule_expression.as_ref(),
        l.schedule_expression.as_ref(),
    );
    field(
        &mut out,
        "event_pattern",
        d.event_pattern.as_ref().map(canonical),
        l.event_pattern.as_ref().map(canonical),
    );
    let description = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    field(
        &mut out,
        "description",
        description(&d.description),
        description(&l.description),
    );
    field(&mut out, "state", Some(&d.state), Some(&l.state));
    field(
        &mut out,
        &format!("target.{}", d.target_id),
        d.target_arn.as_ref(),
        l.target_arn.as_ref(),
    );
    // Tags are not compared: ListRules does not return them (they are set when the rule is made).
    out
}

const NOT_FOUND: &str = "ResourceNotFoundException";

/// A rule as ListRules returns it (no targets, no tags).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRule {
    pub arn: String,
    pub spec: RuleSpec,
}

fn target(bus: Option<&str>) -> String {
    bus.unwrap_or("default").to_string()
}

/// The rules on `bus` whose name starts with `prefix` (one paginated ListRules for all of them), by
/// name; `None` when the bus does not exist.
pub async fn list_rules(
    c: &Clients,
    bus: Option<&str>,
    prefix: &str,
) -> Result<Option<BTreeMap<String, ListedRule>>, CallError> {
    let mut rules = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .eventbridge
            .list_rules()
            .name_prefix(prefix)
            .set_event_bus_name(bus.map(str::to_string))
            .set_next_token(token.clone())
            .send()
            .await;
        let Some(out) = found(
            out.map_err(|e| CallError::new("ListRules", &target(bus), e)),
            |e| e.has_code(NOT_FOUND),
        )?
        else {
            return Ok(None);
        };
        for r in out.rules() {
            let Some(name) = r.name() else { continue };
            let pattern = r.event_pattern().map(|p| {
                serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.to_string()))
            });
            rules.insert(
                name.to_string(),
                ListedRule {
                    arn: r.arn().unwrap_or_default().to_string(),
                    spec: RuleSpec {
                        name: name.to_string(),
                        bus: bus.map(str::to_string),
                        schedule_expression: r.schedule_expression().map(str::to_string),
                        event_pattern: pattern,
                        description: r.description().map(str::to_string),
                        state: r
                            .state()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        target_id: String::new(),
                        target_arn: None,
                        tags: BTreeMap::new(),
                    },
                },
            );
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(Some(rules)),
        }
    }
}

/// Every target of a rule as (id, ARN); none when the rule is gone.
pub async fn list_targets(
    c: &Clients,
    name: &str,
    bus: Option<&str>,
) -> Result<Vec<(String, String)>, CallError> {
    let mut targets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .eventbridge
            .list_targets_by_rule()
            .rule(name)
            .set_event_bus_name(bus.map(str::to_string))
            .set_next_token(token.clone())
            .send()
            .await;
        let Some(out) = found(
            out.map_err(|e| CallError::new("ListTargetsByRule", name, e)),
            |e| e.has_code(NOT_FOUND),
        )?
        else {
            return Ok(targets);
        };
        targets.extend(
            out.targets()
                .iter()
                .map(|t| (t.id().to_string(), t.arn().to_string())),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(targets),
        }
    }
}

/// Creates or replaces the rule (PutRule replaces the whole definition, so every field is sent).
pub async fn put_rule(c: &Clients, spec: &RuleSpec) -> Result<String, CallError> {
    let tags = spec
        .tags
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CallError::other("PutRule", &spec.name, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out = c
        .eventbridge
        .put_rule()
        .name(&spec.name)
        .set_event_bus_name(spec.bus.clone())
        .set_schedule_expression(spec.schedule_expression.clone())
        .set_event_pattern(spec.event_pattern.as_ref().map(ToString::to_string))
        .set_description(spec.description.clone())
        .state(RuleState::from(spec.state.as_str()))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| CallError::new("PutRule", &spec.name, e))?;
    Ok(out.rule_arn().unwrap_or_default().to_string())
}

/// Points our target at the function (PutTargets is an upsert by target id).
pub async fn put_target(c: &Clients, spec: &RuleSpec) -> Result<(), CallError> {
    let arn = spec
        .target_arn
        .as_deref()
        .ok_or_else(|| CallError::other("PutTargets", &spec.name, "no target ARN"))?;
    put_target_arn(c, &spec.name, spec.bus.as_deref(), &spec.target_id, arn).await
}

/// Puts target `target_id` of `rule` (on `bus`, else the default bus) pointing at `arn`.
pub async fn put_target_arn(
    c: &Clients,
    rule: &str,
    bus: Option<&str>,
    target_id: &str,
    arn: &str,
) -> Result<(), CallError> {
    let target = Target::builder()
        .id(target_id)
        .arn(arn)
        .build()
        .map_err(|e| CallError::other("PutTargets", rule, e.to_string()))?;
    let out = c
        .eventbridge
        .put_targets()
        .rule(rule)
        .set_event_bus_name(bus.map(str::to_owned))
        .targets(target)
        .send()
        .await
        .map_err(|e| CallError::new("PutTargets", rule, e))?;
    // Failures come back in a 200.
    if out.failed_entry_count() > 0 {
        let reasons: Vec<String> = out
            .failed_entries()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.error_code().unwrap_or("error"),
                    f.error_message().unwrap_or_default()
                )
            })
            .collect();
        return Err(CallError::other("PutTargets", rule, reasons.join("; ")));
    }
    Ok(())
}

/// Removes the rule's targets (`target_ids`; a rule with targets cannot be deleted), then the rule.
pub async fn delete_rule(
    c: &Clients,
    name: &str,
    bus: Option<&str>,
    target_ids: &[String],
) -> Result<(), CallError> {
    if !target_ids.is_empty() {
        gone(
            c.eventbridge
                .remove_targets()
                .rule(name)
                .set_event_bus_name(bus.map(str::to_string))
                .set_ids(Some(target_ids.to_vec()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::new("RemoveTargets", name, e)),
            &[NOT_FOUND],
        )?;
    }
    gone(
        c.eventbridge
            .delete_rule()
            .name(name)
            .set_event_bus_name(bus.map(str::to_string))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteRule", name, e)),
        &[NOT_FOUND],
    )
}
