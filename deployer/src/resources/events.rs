//! EventBridge rules (schedules and patterns) and their one target: the function.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use super::{CallError, found, gone};
use crate::aws::Clients;
use crate::engine::spec::RuleSpec;

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
