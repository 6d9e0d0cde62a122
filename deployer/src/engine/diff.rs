//! Desired vs live: the typed list of changes a deploy makes. Pure: no SDK, no I/O.
//!
//! Values are normalised before comparing (JSON patterns and policies as data, env and tags as maps, S3
//! filter rule names and event lists in one case and order), so what AWS echoes back in its own shape
//! never shows as a change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::engine::spec::{
    Desired, FunctionSpec, Identity, Live, MappingSpec, NotificationSpec, PermissionSpec, Recorded,
    ResourceKind, RoleSpec, RuleSpec, Spec, canonical, normalize_policy,
};

/// One field that differs: `old` is live, `new` desired; `None` is "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Why a resource is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteReason {
    /// No longer in the app (recorded, or named by the plan for `delete`).
    Removed,
    /// A second copy of a desired resource (e.g. a mapping made twice by a retried create).
    Duplicate,
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    Update { fields: Vec<FieldChange> },
    Delete { reason: DeleteReason },
}

/// One change of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The desired id (`function.h`) or the state key of what is deleted.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ResourceKind,
    pub name: String,
    pub identity: Identity,
    /// The live mapping UUID or subscription ARN the change acts on, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

impl Change {
    fn new(id: &str, identity: Identity, physical_id: Option<String>, action: Action) -> Change {
        Change {
            id: id.to_string(),
            kind: identity.kind(),
            name: identity.display_name(),
            identity,
            physical_id,
            action,
        }
    }

    pub fn is_delete(&self) -> bool {
        matches!(self.action, Action::Delete { .. })
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            Action::Create => write!(f, "+ create {} {}", self.kind, self.name),
            Action::Update { fields } => {
                write!(f, "~ update {} {}", self.kind, self.name)?;
                for c in fields {
                    write!(f, "\n    {c}")?;
                }
                Ok(())
            }
            Action::Delete { reason } => {
                write!(f, "- delete {} {}", self.kind, self.name)?;
                match (reason, &self.physical_id) {
                    (DeleteReason::Duplicate, Some(id)) => write!(f, " (duplicate {id})"),
                    (DeleteReason::Duplicate, None) => write!(f, " (duplicate)"),
                    (DeleteReason::Removed, _) => Ok(()),
                }
            }
        }
    }
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        write!(
            f,
            "{}: {} → {}",
            self.field,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// Counts of a plan's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Counts {
    pub fn of(changes: &[Change]) -> Counts {
        let mut c = Counts::default();
        for change in changes {
            match change.action {
                Action::Create => c.create += 1,
                Action::Update { .. } => c.update += 1,
                Action::Delete { .. } => c.delete += 1,
            }
        }
        c
    }

    pub fn total(self) -> usize {
        self.create + self.update + self.delete
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total() == 0 {
            f.write_str("No changes. Everything is up to date.")
        } else {
            write!(
                f,
                "Plan: {} to create, {} to update, {} to delete.",
                self.create, self.update, self.delete
            )
        }
    }
}

/// The plan as text: one block per change, then the counts line. `color` paints the first lines.
pub fn render(changes: &[Change], color: bool) -> String {
    let mut out = String::new();
    for change in changes {
        let text = change.to_string();
        let (first, rest) = text
            .split_once('\n')
            .map_or((text.as_str(), ""), |(a, b)| (a, b));
        let paint = match change.action {
            Action::Create => "\x1b[32m",
            Action::Update { .. } => "\x1b[33m",
            Action::Delete { .. } => "\x1b[31m",
        };
        if color {
            out.push_str(&format!("{paint}{first}\x1b[0m\n"));
        } else {
            out.push_str(first);
            out.push('\n');
        }
        if !rest.is_empty() {
            out.push_str(rest);
            out.push('\n');
        }
    }
    if !changes.is_empty() {
        out.push('\n');
    }
    out.push_str(&Counts::of(changes).to_string());
    out.push('\n');
    out
}

/// The plan as JSON: `{"changes": [...], "summary": {"create": A, "update": U, "delete": D}}`.
pub fn to_json(changes: &[Change]) -> Value {
    serde_json::json!({
        "changes": changes,
        "summary": Counts::of(changes),
    })
}

/// Everything that must change for live to match desired, in the order it is applied: creations and
/// updates first (dependencies before dependents), then deletions (dependents first).
pub fn diff(desired: &Desired, live: &Live, recorded: &[Recorded]) -> Vec<Change> {
    let mut changes: Vec<(usize, Change)> = Vec::new();
    for (index, r) in desired.resources.iter().enumerate() {
        let preferred = |identity: &Identity| {
            recorded
                .iter()
                .find(|rec| &rec.identity == identity)
                .and_then(|rec| rec.physical_id.clone())
        };
        for change in desired_changes(&r.id, &r.spec, live, preferred) {
            changes.push((index, change));
        }
    }
    let desired_identities: BTreeSet<Identity> = desired
        .resources
        .iter()
        .map(|r| r.spec.identity())
        .collect();
    let mut seen: BTreeSet<(Identity, Option<String>)> = changes
        .iter()
        .filter(|(_, c)| c.is_delete())
        .map(|(_, c)| (c.identity.clone(), c.physical_id.clone()))
        .collect();
    for (index, rec) in recorded.iter().enumerate() {
        for change in removal_changes(rec, desired, &desired_identities, live) {
            if seen.insert((change.identity.clone(), change.physical_id.clone())) {
                changes.push((index, change));
            }
        }
    }
    changes.sort_by_key(|(i, c)| order(c, *i));
    changes.into_iter().map(|(_, c)| c).collect()
}

/// Sort key: creations/updates by kind then plan order; deletions after, by reverse kind.
fn order(change: &Change, index: usize) -> (u8, i32, usize) {
    let kind = change.kind as i32;
    if change.is_delete() {
        (1, -kind, index)
    } else {
        (0, kind, index)
    }
}

/// The create / update of one desired resource, and deletions of any live duplicates of it.
fn desired_changes(
    id: &str,
    spec: &Spec,
    live: &Live,
    preferred: impl Fn(&Identity) -> Option<String>,
) -> Vec<Change> {
    let identity = spec.identity();
    let create = || vec![Change::new(id, identity.clone(), None, Action::Create)];
    let update = |fields: Vec<FieldChange>, physical: Option<String>| {
        if fields.is_empty() {
            Vec::new()
        } else {
            vec![Change::new(
                id,
                identity.clone(),
                physical,
                Action::Update { fields },
            )]
        }
    };
    match spec {
        Spec::ArtifactsBucket(_) | Spec::CodeObject(_) => match live.exists(&identity) {
            Some(false) => create(),
            _ => Vec::new(),
        },
        Spec::Role(d) => match live.roles.get(&d.name) {
            Some(None) => create(),
            Some(Some(l)) => update(role_fields(d, &l.spec), None),
            None => Vec::new(),
        },
        Spec::Function(d) => match live.functions.get(&d.name) {
            Some(None) => create(),
            Some(Some(l)) => update(function_fields(d, &l.spec), None),
            None => Vec::new(),
        },
        Spec::Rule(d) => match live.rules.get(&(d.bus.clone(), d.name.clone())) {
            Some(None) => create(),
            Some(Some(l)) => update(rule_fields(d, &l.spec), None),
            None => Vec::new(),
        },
        Spec::Permission(d) => {
            if live.function(&d.function) == Some(None) {
                return create();
            }
            let Some(statements) = live.policies.get(&d.function) else {
                return Vec::new();
            };
            let found: Vec<&PermissionSpec> = statements
                .iter()
                .filter(|s| s.statement_id == d.statement_id)
                .collect();
            let Some((first, extras)) = found.split_first() else {
                return create();
            };
            // AWS refuses a second statement with one id; moto keeps both (a retried add). Each
            // RemovePermission removes one of them.
            let mut changes = update(permission_fields(d, first), None);
            changes.extend(
                (0..extras.len()).map(|i| duplicate(id, &identity, &format!("#{}", i + 2))),
            );
            changes
        }
        Spec::Notification(d) => match live.buckets.get(&d.bucket) {
            Some(Some(entries)) => match entries.iter().find(|n| n.id == d.id) {
                Some(l) => update(notification_fields(d, l), None),
                None => create(),
            },
            Some(None) => create(),
            None => Vec::new(),
        },
        Spec::Subscription(d) => match live.topics.get(&d.topic_arn) {
            Some(Some(_)) => {
                let found = live.subscriptions(&identity);
                let Some((_, extras)) = found.split_first() else {
                    return create();
                };
                extras
                    .iter()
                    .map(|s| duplicate(id, &identity, &s.arn))
                    .collect()
            }
            Some(None) => create(),
            None => Vec::new(),
        },
        Spec::Mapping(d) => {
            if !live.mappings.contains_key(&d.function) {
                return if live.function(&d.function) == Some(None) {
                    create()
                } else {
                    Vec::new()
                };
            }
            let mut found = live.mappings_for(&identity);
            if found.is_empty() {
                return create();
            }
            // Keep the recorded one when there are several; the others are duplicates.
            if let Some(uuid) = preferred(&identity)
                && let Some(pos) = found.iter().position(|m| m.uuid == uuid)
            {
                found.swap(0, pos);
            }
            let primary = found[0];
            let mut changes = update(mapping_fields(d, &primary.spec), Some(primary.uuid.clone()));
            changes.extend(found[1..].iter().map(|m| duplicate(id, &identity, &m.uuid)));
            changes
        }
    }
}

fn duplicate(id: &str, identity: &Identity, physical: &str) -> Change {
    Change::new(
        id,
        identity.clone(),
        Some(physical.to_string()),
        Action::Delete {
            reason: DeleteReason::Duplicate,
        },
    )
}

/// Deletions for a recorded resource that is not desired (any more) and still exists live.
fn removal_changes(
    rec: &Recorded,
    desired: &Desired,
    desired_identities: &BTreeSet<Identity>,
    live: &Live,
) -> Vec<Change> {
    let removed = |identity: Identity, physical: Option<String>| {
        Change::new(
            &rec.key,
            identity,
            physical,
            Action::Delete {
                reason: DeleteReason::Removed,
            },
        )
    };
    match &rec.identity {
        Identity::ArtifactsBucket { .. } | Identity::CodeObject { .. } if !desired.code_known => {
            Vec::new()
        }
        Identity::ArtifactsBucket { .. } if !rec.owned => Vec::new(),
        Identity::Mapping { function, .. } => live
            .mappings_for(&rec.identity)
            .into_iter()
            .map(|m| {
                let identity = Identity::Mapping {
                    function: function.clone(),
                    source_arn: m.spec.source_arn.clone(),
                };
                (identity, m.uuid.clone())
            })
            .filter(|(identity, _)| !desired_identities.contains(identity))
            .map(|(identity, uuid)| removed(identity, Some(uuid)))
            .collect(),
        Identity::Subscription { .. } if !desired_identities.contains(&rec.identity) => live
            .subscriptions(&rec.identity)
            .into_iter()
            .map(|s| removed(rec.identity.clone(), Some(s.arn.clone())))
            .collect(),
        Identity::CodeObject { bucket, key } => match &live.artifacts {
            Some(a) => a
                .keys
                .iter()
                .filter(|k| crate::engine::spec::matches(key, k))
                .map(|k| Identity::CodeObject {
                    bucket: bucket.clone(),
                    key: k.clone(),
                })
                .filter(|identity| !desired_identities.contains(identity))
                .map(|identity| removed(identity, None))
                .collect(),
            None if !desired_identities.contains(&rec.identity) => {
                vec![removed(rec.identity.clone(), None)]
            }
            None => Vec::new(),
        },
        identity if desired_identities.contains(identity) => Vec::new(),
        identity => match live.exists(identity) {
            Some(false) => Vec::new(),
            // Not read is not known: deleting what is gone is harmless, leaving it is an orphan.
            Some(true) | None => vec![removed(identity.clone(), rec.physical_id.clone())],
        },
    }
}

/// Compares one field; records it when the values differ.
fn field<T: PartialEq + ToString>(
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
fn map_fields(
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
fn own_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
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
    map_fields(&mut out, "tags", &own_tags(&d.tags), &own_tags(&l.tags));
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

fn function_fields(d: &FunctionSpec, l: &FunctionSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(&mut out, "role", Some(&d.role_arn), Some(&l.role_arn));
    field(&mut out, "handler", Some(&d.handler), Some(&l.handler));
    field(&mut out, "runtime", Some(&d.runtime), Some(&l.runtime));
    field(
        &mut out,
        "architecture",
        Some(&d.architecture),
        Some(&l.architecture),
    );
    field(&mut out, "memory_mb", Some(d.memory_mb), Some(l.memory_mb));
    field(&mut out, "timeout_s", Some(d.timeout_s), Some(l.timeout_s));
    map_fields(&mut out, "env", &d.env, &l.env);
    map_fields(&mut out, "tags", &own_tags(&d.tags), &own_tags(&l.tags));
    field(
        &mut out,
        "reserved_concurrency",
        d.reserved_concurrency,
        l.reserved_concurrency,
    );
    if let Some(code) = &d.code {
        field(
            &mut out,
            "code_sha256",
            Some(&code.sha256),
            l.code.as_ref().map(|c| &c.sha256),
        );
    }
    out
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

fn permission_fields(d: &PermissionSpec, l: &PermissionSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(&mut out, "action", Some(&d.action), Some(&l.action));
    field(
        &mut out,
        "principal",
        Some(&d.principal),
        Some(&l.principal),
    );
    field(
        &mut out,
        "source_arn",
        d.source_arn.as_ref(),
        l.source_arn.as_ref(),
    );
    field(
        &mut out,
        "source_account",
        d.source_account.as_ref(),
        l.source_account.as_ref(),
    );
    out
}

fn notification_fields(d: &NotificationSpec, l: &NotificationSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(
        &mut out,
        "function",
        Some(&d.function_arn),
        Some(&l.function_arn),
    );
    let events = |n: &NotificationSpec| {
        let mut e = n.events.clone();
        e.sort();
        e.dedup();
        e.join(", ")
    };
    field(&mut out, "events", Some(events(d)), Some(events(l)));
    field(&mut out, "prefix", d.prefix.as_ref(), l.prefix.as_ref());
    field(&mut out, "suffix", d.suffix.as_ref(), l.suffix.as_ref());
    out
}

fn mapping_fields(d: &MappingSpec, l: &MappingSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(
        &mut out,
        "batch_size",
        Some(d.batch_size),
        Some(l.batch_size),
    );
    field(
        &mut out,
        "batching_window_s",
        Some(d.batching_window_s),
        Some(l.batching_window_s),
    );
    field(
        &mut out,
        "starting_position",
        d.starting_position.as_ref(),
        l.starting_position.as_ref(),
    );
    // moto never echoes the timestamp back: compare it only when the live side reports one.
    if l.starting_position_timestamp.is_some() {
        field(
            &mut out,
            "starting_position_timestamp",
            d.starting_position_timestamp.as_ref(),
            l.starting_position_timestamp.as_ref(),
        );
    }
    field(
        &mut out,
        "maximum_concurrency",
        d.maximum_concurrency,
        l.maximum_concurrency,
    );
    field(
        &mut out,
        "report_batch_item_failures",
        Some(d.report_batch_item_failures),
        Some(l.report_batch_item_failures),
    );
    out
}

/// Fields whose change AWS cannot apply in place: the mapping is deleted and made again.
pub const MAPPING_REPLACE_FIELDS: [&str; 2] = ["starting_position", "starting_position_timestamp"];

#[cfg(test)]
mod tests;
