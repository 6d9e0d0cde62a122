//! Reads what exists in AWS for every desired and recorded identity, in parallel (bounded), batching
//! where an API allows: one ListRoles for the stage's roles (by their path) plus one GetRolePolicy per
//! desired role that exists, one ListAttachedRolePolicies per role with managed policies, one
//! DescribeLogGroups for the log groups the deployer owns, one GetFunction per function (configuration,
//! tags, concurrency), one GetPolicy per function with permissions, one ListEventSourceMappings per
//! function with mappings, one GetFunctionEventInvokeConfig per function with retries or an on-failure
//! destination set, one ListRules per bus plus one ListTargetsByRule per rule, one
//! GetBucketNotificationConfiguration per bucket, one ListSubscriptionsByTopic per topic plus one
//! GetSubscriptionAttributes per subscription of ours found there, and one ListObjectsV2 for the code.
//!
//! Two rounds at most, whatever the app: a read that depends on another (a function's policy on the
//! function, a role's inline policy on the role, a rule's targets on the rule, a subscription's filter
//! on the subscription) goes out together with it when the deploy record says the resource exists,
//! and only after it otherwise (a first deploy does not pay for reads of what is not there). The code
//! zips are listed in the first round when the caller knows they will matter.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream;

use super::desired::Desired;
use crate::aws::Clients;
use crate::resources::artifacts::{self, LiveArtifacts};
use crate::resources::attachment;
use crate::resources::function::{self, LiveFunction};
use crate::resources::invoke_config::{self, InvokeConfigSpec};
use crate::resources::log_group::{self, LogGroupSpec};
use crate::resources::mapping::{self, LiveMapping};
use crate::resources::notification::{self, NotificationSpec};
use crate::resources::permission::{self, PermissionSpec};
use crate::resources::role::{self, LiveRole};
use crate::resources::rule::{self, LiveRule};
use crate::resources::subscription::{self, LiveSubscription};
use crate::resources::{CallError, Identity, Live, Recorded, Spec};

/// How many reads run at once.
pub const READ_CONCURRENCY: usize = 16;

/// Where the stage's code zips live (the artifacts bucket and the stage's key prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactsLocation {
    pub bucket: String,
    pub prefix: String,
}

/// What to read, derived from the desired and recorded identities.
#[derive(Debug, Default, PartialEq, Eq)]
struct ReadSet {
    /// Desired roles: path → role name → inline policy name (one ListRoles per path).
    role_paths: BTreeMap<String, BTreeMap<String, String>>,
    /// Other roles (recorded, e.g. by an older version without paths): name → inline policy name.
    roles: BTreeMap<String, String>,
    /// Roles whose attached managed policies matter.
    attachments: BTreeSet<String>,
    log_groups: BTreeSet<String>,
    functions: BTreeSet<String>,
    /// Functions whose resource policy matters.
    policies: BTreeSet<String>,
    /// Functions whose mappings matter.
    mappings: BTreeSet<String>,
    /// Functions with a recorded mapping: listed even when the function is gone.
    recorded_mappings: BTreeSet<String>,
    /// Functions whose event invoke configuration matters.
    invoke_configs: BTreeSet<String>,
    /// Bus → rule names (and our target id, when desired).
    rules: BTreeMap<Option<String>, BTreeMap<String, Option<String>>>,
    buckets: BTreeSet<String>,
    /// Topic → the endpoints (function ARNs) of desired subscriptions, whose filters are read.
    topics: BTreeMap<String, BTreeSet<String>>,
    /// Functions, roles and rules the record says exist: their dependent reads go out with them.
    recorded_functions: BTreeSet<String>,
    recorded_roles: BTreeSet<String>,
    recorded_rules: BTreeSet<(Option<String>, String)>,
    /// Recorded subscription ARNs by (topic, endpoint).
    recorded_subscriptions: BTreeMap<(String, String), String>,
}

impl ReadSet {
    fn new(desired: &Desired, recorded: &[Recorded]) -> ReadSet {
        let mut set = ReadSet::default();
        for r in &desired.resources {
            match &r.spec {
                Spec::Role(s) => {
                    set.role_paths
                        .entry(s.path.clone())
                        .or_default()
                        .insert(s.name.clone(), s.policy_name.clone());
                }
                Spec::Rule(s) => {
                    set.rules
                        .entry(s.bus.clone())
                        .or_default()
                        .insert(s.name.clone(), Some(s.target_id.clone()));
                }
                _ => set.add(&r.spec.identity(), false),
            }
        }
        for r in recorded {
            set.add(&r.identity, true);
            match &r.identity {
                Identity::Function { name } => {
                    set.recorded_functions.insert(name.clone());
                }
                Identity::Role { name } => {
                    set.recorded_roles.insert(name.clone());
                }
                Identity::Rule { name, bus } => {
                    set.recorded_rules.insert((bus.clone(), name.clone()));
                }
                Identity::Subscription {
                    topic_arn,
                    endpoint,
                } => {
                    if let Some(arn) = &r.physical_id {
                        set.recorded_subscriptions
                            .insert((topic_arn.clone(), endpoint.clone()), arn.clone());
                    }
                }
                _ => {}
            }
        }
        let by_path: BTreeSet<&String> = set.role_paths.values().flat_map(|r| r.keys()).collect();
        set.roles.retain(|name, _| !by_path.contains(name));
        set
    }

    /// The longest common prefix of the log group names: one listing finds them all (they share
    /// `/aws/lambda/<app>-<stage>-`).
    fn log_group_prefix(&self) -> Option<String> {
        let mut names = self.log_groups.iter();
        let first = names.next()?;
        let mut prefix = first.as_str();
        for name in names {
            let common = prefix
                .char_indices()
                .zip(name.chars())
                .find(|((_, a), b)| a != b)
                .map_or(prefix.len().min(name.len()), |((i, _), _)| i);
            prefix = &prefix[..common];
        }
        Some(prefix.to_string())
    }

    fn add(&mut self, identity: &Identity, recorded: bool) {
        match identity {
            Identity::ArtifactsBucket { .. } | Identity::CodeObject { .. } => {}
            Identity::Role { name } => {
                // The inline policy is named after the role (as the plan names it).
                self.roles
                    .entry(name.clone())
                    .or_insert_with(|| name.clone());
            }
            Identity::Attachment { role, .. } => {
                self.attachments.insert(role.clone());
            }
            Identity::LogGroup { name } => {
                self.log_groups.insert(name.clone());
            }
            Identity::Function { name } => {
                self.functions.insert(name.clone());
            }
            Identity::Rule { name, bus } => {
                self.rules
                    .entry(bus.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_insert(None);
            }
            Identity::Permission { function, .. } => {
                self.functions.insert(function.clone());
                self.policies.insert(function.clone());
            }
            Identity::Notification { bucket, .. } => {
                self.buckets.insert(bucket.clone());
            }
            Identity::Subscription {
                topic_arn,
                endpoint,
            } => {
                let endpoints = self.topics.entry(topic_arn.clone()).or_default();
                if !recorded {
                    endpoints.insert(endpoint.clone());
                }
            }
            Identity::InvokeConfig { function } => {
                self.functions.insert(function.clone());
                self.invoke_configs.insert(function.clone());
            }
            Identity::Mapping { function, .. } => {
                self.functions.insert(function.clone());
                self.mappings.insert(function.clone());
                if recorded {
                    self.recorded_mappings.insert(function.clone());
                }
            }
        }
    }
}

/// One finished read.
enum Read {
    Roles(Vec<(String, Option<LiveRole>)>),
    Attached(String, Option<BTreeSet<String>>),
    LogGroups(BTreeMap<String, LogGroupSpec>),
    Function {
        name: String,
        function: Option<Box<LiveFunction>>,
        policy: Option<Vec<PermissionSpec>>,
        mappings: Option<Vec<LiveMapping>>,
        invoke_config: Option<Option<InvokeConfigSpec>>,
    },
    /// `None`: the bus does not exist.
    Rules(Option<String>, Option<Vec<(String, LiveRule)>>),
    Bucket(String, Option<Vec<NotificationSpec>>),
    Topic(String, Option<Vec<LiveSubscription>>),
    /// The stage's code zips (`None`: no artifacts bucket).
    Artifacts(Option<BTreeSet<String>>),
}

/// A read that goes out only when `wanted`.
async fn maybe<T>(
    wanted: bool,
    read: impl std::future::Future<Output = Result<T, CallError>>,
) -> Option<Result<T, CallError>> {
    match wanted {
        true => Some(read.await),
        false => None,
    }
}

/// Whether `recorded` holds code zips or the artifacts bucket (so the zips must be listed).
pub fn records_code(recorded: &[Recorded]) -> bool {
    recorded.iter().any(|r| {
        matches!(
            r.identity,
            Identity::CodeObject { .. } | Identity::ArtifactsBucket { .. }
        )
    })
}

/// Reads everything `desired` and `recorded` name. The code zips under `artifacts` are listed with the
/// rest when `list_code`, else afterwards only when some code must be uploaded (or deleted).
pub async fn read(
    c: &Clients,
    desired: &Desired,
    recorded: &[Recorded],
    artifacts: &ArtifactsLocation,
    role_path: &str,
    list_code: bool,
) -> Result<Live, CallError> {
    let set = ReadSet::new(desired, recorded);
    let mut reads: Vec<BoxFuture<'_, Result<Read, CallError>>> = Vec::new();
    // One listing per path; roles recorded but not desired (to remove) are looked for in the
    // stage's listing first.
    static NONE: BTreeMap<String, String> = BTreeMap::new();
    let mut paths: BTreeMap<&str, &BTreeMap<String, String>> = set
        .role_paths
        .iter()
        .map(|(path, names)| (path.as_str(), names))
        .collect();
    if !set.roles.is_empty() {
        paths.entry(role_path).or_insert(&NONE);
    }
    for (path, names) in paths {
        let others = if path == role_path { &set.roles } else { &NONE };
        reads.push(Box::pin(read_roles_under(
            c,
            path,
            names,
            others,
            &set.recorded_roles,
        )));
    }
    if list_code {
        reads.push(Box::pin(async move {
            Ok(Read::Artifacts(
                artifacts::list_keys(c, &artifacts.bucket, &artifacts.prefix).await?,
            ))
        }));
    }
    for name in &set.attachments {
        reads.push(Box::pin(async move {
            Ok(Read::Attached(
                name.clone(),
                attachment::read_attached(c, name).await?,
            ))
        }));
    }
    if let Some(prefix) = set.log_group_prefix() {
        reads.push(Box::pin(async move {
            Ok(Read::LogGroups(log_group::read_groups(c, &prefix).await?))
        }));
    }
    for name in &set.functions {
        let want_policy = set.policies.contains(name);
        let want_mappings = set.mappings.contains(name);
        let recorded_mappings = set.recorded_mappings.contains(name);
        let want_invoke_config = set.invoke_configs.contains(name);
        let speculate = set.recorded_functions.contains(name);
        reads.push(Box::pin(async move {
            let policy = || permission::read_policy(c, name);
            let listed = || mapping::list_mappings(c, name);
            let config = || invoke_config::read_config(c, name);
            // Recorded: it most likely exists, so what depends on it goes out with it (its answers
            // are dropped if it does not). Else first the function.
            let (function, policy, listed, config) = if speculate {
                let (function, policy, listed, config) = tokio::join!(
                    function::read_function(c, name),
                    maybe(want_policy, policy()),
                    maybe(want_mappings || recorded_mappings, listed()),
                    maybe(want_invoke_config, config()),
                );
                (function?, policy, listed, config)
            } else {
                let function = function::read_function(c, name).await?;
                let exists = function.is_some();
                let (policy, listed, config) = tokio::join!(
                    maybe(exists && want_policy, policy()),
                    maybe((exists && want_mappings) || recorded_mappings, listed()),
                    maybe(exists && want_invoke_config, config()),
                );
                (function, policy, listed, config)
            };
            let exists = function.is_some();
            let policy = match policy {
                Some(p) if exists => Some(p?),
                _ => None,
            };
            let mappings = match listed {
                Some(m) if exists || recorded_mappings => Some(m?),
                _ => None,
            };
            let invoke_config = match (config, exists) {
                (Some(config), true) => Some(config?),
                // A function that does not exist has no configuration.
                (_, false) if want_invoke_config => Some(None),
                _ => None,
            };
            Ok(Read::Function {
                name: name.clone(),
                function: function.map(Box::new),
                policy,
                mappings,
                invoke_config,
            })
        }));
    }
    for (bus, names) in &set.rules {
        reads.push(Box::pin(read_rules(
            c,
            bus.clone(),
            names,
            &set.recorded_rules,
        )));
    }
    for bucket in &set.buckets {
        reads.push(Box::pin(async move {
            Ok(Read::Bucket(
                bucket.clone(),
                notification::read_notifications(c, bucket).await?,
            ))
        }));
    }
    for (topic, endpoints) in &set.topics {
        let recorded_arns: Vec<&String> = endpoints
            .iter()
            .filter_map(|e| set.recorded_subscriptions.get(&(topic.clone(), e.clone())))
            .collect();
        reads.push(Box::pin(async move {
            // The filters of the subscriptions a deploy wants (one GetSubscriptionAttributes each):
            // those the record names go out with the listing.
            let early: Vec<_> = recorded_arns
                .into_iter()
                .map(|arn| async move { (arn.clone(), subscription::read_filter(c, arn).await) })
                .collect();
            let early = stream::iter(early)
                .buffer_unordered(READ_CONCURRENCY)
                .collect::<BTreeMap<_, _>>();
            let (subs, mut early) = tokio::join!(subscription::list_subscriptions(c, topic), early);
            let mut subs = subs?;
            let ours: Vec<&mut LiveSubscription> = subs
                .iter_mut()
                .flatten()
                .filter(|s| s.protocol == "lambda" && endpoints.contains(&s.endpoint))
                .collect();
            let mut late = Vec::new();
            for s in ours {
                let early = early.remove(&s.arn);
                late.push(async move {
                    s.filter = match early {
                        Some(filter) => filter?,
                        None => subscription::read_filter(c, &s.arn).await?,
                    };
                    Ok::<(), CallError>(())
                });
            }
            let late: Vec<Result<(), CallError>> = stream::iter(late)
                .buffer_unordered(READ_CONCURRENCY)
                .collect()
                .await;
            late.into_iter().collect::<Result<(), _>>()?;
            Ok(Read::Topic(topic.clone(), subs))
        }));
    }
    let results: Vec<Result<Read, CallError>> = stream::iter(reads)
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await;

    let mut live = Live::default();
    for result in results {
        match result? {
            Read::Roles(roles) => live.roles.extend(roles),
            Read::Attached(role, attached) => {
                live.attachments.insert(role, attached);
            }
            Read::LogGroups(mut found) => {
                for name in &set.log_groups {
                    live.log_groups.insert(name.clone(), found.remove(name));
                }
            }
            Read::Function {
                name,
                function,
                policy,
                mappings,
                invoke_config,
            } => {
                if let Some(config) = invoke_config {
                    live.invoke_configs.insert(name.clone(), config);
                }
                if let Some(p) = policy {
                    live.policies.insert(name.clone(), p);
                }
                if let Some(m) = mappings {
                    live.mappings.insert(name.clone(), m);
                }
                live.functions.insert(name, function.map(|f| *f));
            }
            Read::Rules(bus, found) => {
                let names = set.rules.get(&bus).cloned().unwrap_or_default();
                match found {
                    Some(found) => {
                        let mut found: BTreeMap<String, LiveRule> = found.into_iter().collect();
                        for name in names.keys() {
                            live.rules
                                .insert((bus.clone(), name.clone()), found.remove(name));
                        }
                    }
                    None => {
                        if let Some(b) = &bus {
                            live.missing_buses.insert(b.clone());
                        }
                        for name in names.keys() {
                            live.rules.insert((bus.clone(), name.clone()), None);
                        }
                    }
                }
            }
            Read::Bucket(bucket, entries) => {
                live.buckets.insert(bucket, entries);
            }
            Read::Topic(topic, subs) => {
                live.topics.insert(topic, subs);
            }
            Read::Artifacts(keys) => {
                live.artifacts = Some(LiveArtifacts {
                    bucket_exists: keys.is_some(),
                    keys: keys.unwrap_or_default(),
                });
            }
        }
    }

    if !list_code && needs_artifacts(desired, recorded, &live) {
        let keys = artifacts::list_keys(c, &artifacts.bucket, &artifacts.prefix).await?;
        live.artifacts = Some(LiveArtifacts {
            bucket_exists: keys.is_some(),
            keys: keys.unwrap_or_default(),
        });
    }
    Ok(live)
}

/// The bus's rules named in `names` (one ListRules for them all), each with its targets: listed with
/// the rules for those `recorded`, after them for the others.
async fn read_rules(
    c: &Clients,
    bus: Option<String>,
    names: &BTreeMap<String, Option<String>>,
    recorded: &BTreeSet<(Option<String>, String)>,
) -> Result<Read, CallError> {
    let prefix = common_prefix(names.keys().map(String::as_str));
    let bus_ref = bus.as_deref();
    let mut early = Vec::new();
    for name in names.keys() {
        if recorded.contains(&(bus.clone(), name.clone())) {
            early.push(async move { (name.clone(), rule::list_targets(c, name, bus_ref).await) });
        }
    }
    let early = stream::iter(early)
        .buffer_unordered(READ_CONCURRENCY)
        .collect::<BTreeMap<_, _>>();
    let (listed, mut early) = tokio::join!(rule::list_rules(c, bus_ref, &prefix), early);
    let Some(mut listed) = listed? else {
        return Ok(Read::Rules(bus, None));
    };
    let wanted: Vec<_> = names
        .iter()
        .filter_map(|(name, target_id)| {
            listed
                .remove(name)
                .map(|r| (name.clone(), r, target_id.clone(), early.remove(name)))
        })
        .collect();
    let rules: Vec<Result<(String, LiveRule), CallError>> = stream::iter(wanted)
        .map(|(name, listed, target_id, early)| async move {
            let targets = match early {
                Some(targets) => targets?,
                None => rule::list_targets(c, &name, bus_ref).await?,
            };
            let mut spec = listed.spec;
            let ours = match &target_id {
                Some(id) => targets.iter().find(|(t, _)| t == id),
                None => targets.first(),
            };
            spec.target_id = target_id
                .or_else(|| ours.map(|(id, _)| id.clone()))
                .unwrap_or_default();
            spec.target_arn = ours.map(|(_, arn)| arn.clone());
            Ok((
                name,
                LiveRule {
                    arn: listed.arn,
                    spec,
                    target_ids: targets.into_iter().map(|(id, _)| id).collect(),
                },
            ))
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await;
    Ok(Read::Rules(
        bus,
        Some(rules.into_iter().collect::<Result<_, _>>()?),
    ))
}

fn common_prefix<'a>(mut names: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = names.next() else {
        return String::new();
    };
    let mut prefix = first.to_string();
    for n in names {
        let len = prefix
            .char_indices()
            .zip(n.chars())
            .take_while(|((_, a), b)| a == b)
            .count();
        let end = prefix
            .char_indices()
            .nth(len)
            .map_or(prefix.len(), |(i, _)| i);
        prefix.truncate(end);
    }
    prefix
}

/// Whether the code zips must be listed: some function needs code it does not run yet, or code zips
/// (or the bucket) are recorded but no longer desired.
fn needs_artifacts(desired: &Desired, recorded: &[Recorded], live: &Live) -> bool {
    if !desired.code_known {
        return false;
    }
    let stale_code = recorded.iter().any(|r| {
        matches!(
            r.identity,
            Identity::CodeObject { .. } | Identity::ArtifactsBucket { .. }
        ) && desired.by_identity(&r.identity).is_none()
    });
    let missing_code = desired.functions().any(|f| {
        let want = f.code.as_ref().map(|c| &c.sha256);
        match live.function(&f.name) {
            Some(Some(l)) => l.spec.code.as_ref().map(|c| &c.sha256) != want,
            _ => true,
        }
    });
    stale_code || missing_code
}

/// What the live reads show is missing among the sources the desired resources need: buckets, topics
/// and event buses (queues, streams and tables are checked by [`crate::engine::resolve`]).
pub fn source_problems(desired: &Desired, live: &Live) -> Vec<String> {
    let mut problems = BTreeSet::new();
    for r in &desired.resources {
        match &r.spec {
            Spec::Notification(n) if live.buckets.get(&n.bucket) == Some(&None) => {
                problems.insert(format!(
                    "bucket `{}` does not exist (it is not ours to create)",
                    n.bucket
                ));
            }
            Spec::Subscription(s) if live.topics.get(&s.topic_arn) == Some(&None) => {
                problems.insert(format!("SNS topic `{}` does not exist", s.topic_arn));
            }
            Spec::Rule(rule) => {
                if let Some(bus) = rule
                    .bus
                    .as_ref()
                    .filter(|b| live.missing_buses.contains(*b))
                {
                    problems.insert(format!(
                        "event bus `{bus}` does not exist (rule `{}`)",
                        rule.name
                    ));
                }
            }
            _ => {}
        }
    }
    problems.into_iter().collect()
}

/// One role's read: its name, and the role when it exists.
type RoleRead<'a> = BoxFuture<'a, Result<(String, Option<LiveRole>), CallError>>;

/// The roles under `path` (one ListRoles): the desired `names` with the inline policy of each that
/// exists (read with the listing for a role in `recorded`); of `others` (recorded, to remove) only
/// whether they exist, by GetRole for one not listed there (made by an older version, under another
/// path).
async fn read_roles_under<'a>(
    c: &'a Clients,
    path: &'a str,
    names: &'a BTreeMap<String, String>,
    others: &'a BTreeMap<String, String>,
    recorded: &'a BTreeSet<String>,
) -> Result<Read, CallError> {
    let mut early = Vec::new();
    for (name, policy_name) in names {
        if recorded.contains(name) {
            early.push(async move {
                (
                    name.clone(),
                    role::read_inline_policy(c, name, policy_name).await,
                )
            });
        }
    }
    let early = stream::iter(early)
        .buffer_unordered(READ_CONCURRENCY)
        .collect::<BTreeMap<_, _>>();
    let (listed, mut early) = tokio::join!(role::list_roles(c, path), early);
    let listed = listed?;
    let mut reads: Vec<RoleRead<'_>> = Vec::new();
    for (name, policy_name) in others {
        let listed = listed.get(name);
        reads.push(Box::pin(async move {
            let found = match listed {
                Some(l) => Some(role::listed_without_policy(name, policy_name, l)),
                None => role::read_role(c, name, policy_name).await?,
            };
            Ok((name.clone(), found))
        }));
    }
    for (name, policy_name) in names {
        let listed = listed.get(name);
        let early = early.remove(name);
        reads.push(Box::pin(async move {
            let Some(l) = listed else {
                return Ok((name.clone(), None));
            };
            let mut role = role::listed_without_policy(name, policy_name, l);
            role.spec.policy = match early {
                Some(policy) => policy?,
                None => role::read_inline_policy(c, name, policy_name).await?,
            };
            Ok((name.clone(), Some(role)))
        }));
    }
    let roles: Vec<Result<(String, Option<LiveRole>), CallError>> = stream::iter(reads)
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await;
    Ok(Read::Roles(roles.into_iter().collect::<Result<_, _>>()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::desired::DesiredResource;
    use crate::resources::rule::RuleSpec;

    #[test]
    fn rules_are_listed_by_their_common_prefix() {
        assert_eq!(
            common_prefix(["app-dev-a", "app-dev-b", "app-dev-ab"].into_iter()),
            "app-dev-"
        );
        assert_eq!(common_prefix(["only"].into_iter()), "only");
        assert_eq!(common_prefix(std::iter::empty()), "");
    }

    #[test]
    fn the_read_set_covers_desired_and_recorded() {
        let rule = RuleSpec {
            name: "app-dev-r".into(),
            bus: None,
            schedule_expression: Some("rate(1 hour)".into()),
            event_pattern: None,
            description: None,
            state: "ENABLED".into(),
            target_id: "t".into(),
            target_arn: None,
            tags: BTreeMap::new(),
        };
        let desired = Desired {
            resources: vec![DesiredResource {
                id: "rule.r".into(),
                spec: Spec::Rule(rule),
            }],
            code_known: true,
            deleting_stage: false,
        };
        let recorded = vec![Recorded {
            key: "mapping.q".into(),
            identity: Identity::Mapping {
                function: "app-dev-q".into(),
                source_arn: "*".into(),
            },
            owned: true,
            physical_id: None,
        }];
        let set = ReadSet::new(&desired, &recorded);
        assert_eq!(set.rules[&None]["app-dev-r"], Some("t".to_string()));
        assert!(set.functions.contains("app-dev-q"));
        assert!(set.recorded_mappings.contains("app-dev-q"));
        assert!(set.policies.is_empty());
    }
}
