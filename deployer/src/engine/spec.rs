//! The concrete resources a deploy compares and applies: desired specs (from the plan, resolved) and what
//! was read live, in the same shapes so [`crate::engine::diff`] can compare them field by field.
//!
//! Every resource has an [`Identity`]: what it is found by in AWS, deterministic from the plan, so an
//! interrupted deploy finds what it already made instead of making it twice.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of resource the deployer manages, in the order they are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    S3Bucket,
    S3Object,
    IamRole,
    LambdaFunction,
    EventsRule,
    LambdaPermission,
    SnsSubscription,
    LambdaEventSourceMapping,
    S3BucketNotification,
}

impl ResourceKind {
    /// The name shown in plans (`lambda_function`, ...), as in the offline plan.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::S3Bucket => "s3_bucket",
            ResourceKind::S3Object => "s3_object",
            ResourceKind::IamRole => "iam_role",
            ResourceKind::LambdaFunction => "lambda_function",
            ResourceKind::EventsRule => "events_rule",
            ResourceKind::LambdaPermission => "lambda_permission",
            ResourceKind::SnsSubscription => "sns_subscription",
            ResourceKind::LambdaEventSourceMapping => "lambda_event_source_mapping",
            ResourceKind::S3BucketNotification => "s3_bucket_notification",
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a resource is found by in AWS. A trailing `*` in `source_arn` or `key` matches any suffix
/// (used by `delete` to sweep everything attached to a function or under the stage's code prefix).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Identity {
    /// The deployer-managed artifacts bucket holding the code zip.
    ArtifactsBucket {
        bucket: String,
    },
    /// A code zip in the artifacts bucket.
    CodeObject {
        bucket: String,
        key: String,
    },
    Role {
        name: String,
    },
    Function {
        name: String,
    },
    /// A rule on the default bus (`bus: None`) or a custom one (name or ARN).
    Rule {
        name: String,
        bus: Option<String>,
    },
    /// A statement of a function's resource policy.
    Permission {
        function: String,
        statement_id: String,
    },
    /// A bucket notification configuration entry, by its `Id`.
    Notification {
        bucket: String,
        id: String,
    },
    /// The topic's lambda subscription whose endpoint is the function ARN.
    Subscription {
        topic_arn: String,
        endpoint: String,
    },
    /// The function's mapping reading from the source ARN (function by name: moto ignores ARNs there).
    Mapping {
        function: String,
        source_arn: String,
    },
}

impl Identity {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Identity::ArtifactsBucket { .. } => ResourceKind::S3Bucket,
            Identity::CodeObject { .. } => ResourceKind::S3Object,
            Identity::Role { .. } => ResourceKind::IamRole,
            Identity::Function { .. } => ResourceKind::LambdaFunction,
            Identity::Rule { .. } => ResourceKind::EventsRule,
            Identity::Permission { .. } => ResourceKind::LambdaPermission,
            Identity::Notification { .. } => ResourceKind::S3BucketNotification,
            Identity::Subscription { .. } => ResourceKind::SnsSubscription,
            Identity::Mapping { .. } => ResourceKind::LambdaEventSourceMapping,
        }
    }

    /// The name shown in plans: the AWS name; for what belongs to a function, `function/where` (a
    /// notification's id is its function's name), so every line of a handler starts with its function.
    pub fn display_name(&self) -> String {
        match self {
            Identity::ArtifactsBucket { bucket } => bucket.clone(),
            Identity::CodeObject { bucket, key } => format!("{bucket}/{key}"),
            Identity::Role { name } | Identity::Function { name } => name.clone(),
            Identity::Rule { name, bus: None } => name.clone(),
            Identity::Rule {
                name,
                bus: Some(bus),
            } => format!("{}/{name}", bus_name(bus)),
            Identity::Permission {
                function,
                statement_id,
            } => format!("{function}/{statement_id}"),
            Identity::Notification { bucket, id } => format!("{id}/{bucket}"),
            Identity::Subscription {
                topic_arn,
                endpoint,
            } => format!("{}/{}", last_segment(endpoint), last_segment(topic_arn)),
            Identity::Mapping {
                function,
                source_arn,
            } => format!("{function}/{}", source_name(source_arn)),
        }
    }
}

/// `name` of a bus given as a name or an ARN (`...:event-bus/name`).
fn bus_name(bus: &str) -> &str {
    bus.rsplit_once("event-bus/").map_or(bus, |(_, name)| name)
}

/// The part after the last `:` of an ARN (a topic or function name).
fn last_segment(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// A short name for a mapping source: the queue, stream or table (`orders`, `stream/clicks`, ...).
fn source_name(arn: &str) -> String {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    match resource.split_once("/stream/") {
        // A DynamoDB stream: `table/orders/stream/2024-...` reads as `table/orders`.
        Some((table, _)) => table.to_string(),
        None => resource.to_string(),
    }
}

/// Whether `value` matches `pattern` (equal, or a prefix match when the pattern ends with `*`).
pub fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

/// The deployer-managed bucket the code zip is uploaded to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactsBucketSpec {
    pub bucket: String,
    pub region: String,
}

/// One code zip in the artifacts bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeObjectSpec {
    pub bucket: String,
    pub key: String,
    /// Lowercase hex sha256 of the zip.
    pub sha256_hex: String,
    /// The zip itself is not part of the spec (it is large): apply finds it by `sha256_hex`.
    pub size: usize,
}

/// The execution role and its inline policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleSpec {
    pub name: String,
    /// The trust policy document.
    pub trust_policy: Value,
    pub policy_name: String,
    /// The inline policy document; `None` when there is nothing to grant (or none exists live).
    pub policy: Option<Value>,
    pub tags: BTreeMap<String, String>,
}

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeRef {
    /// base64 sha256 of the zip, as Lambda reports `CodeSha256`.
    pub sha256: String,
    /// The artifacts bucket and key holding it (desired only).
    pub s3: Option<(String, String)>,
}

/// A Lambda function's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionSpec {
    pub name: String,
    pub role_arn: String,
    pub handler: String,
    pub runtime: String,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
    /// `None` when not known (desired: no code given to `plan`).
    pub code: Option<CodeRef>,
}

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

/// One statement of a function's resource policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionSpec {
    /// The function's name.
    pub function: String,
    pub statement_id: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
}

/// One lambda entry of a bucket's notification configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationSpec {
    pub bucket: String,
    pub id: String,
    pub function_arn: String,
    /// Sorted.
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// A lambda subscription of a function to a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionSpec {
    pub topic_arn: String,
    /// The function ARN.
    pub endpoint: String,
}

/// An event source mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingSpec {
    /// The function's name.
    pub function: String,
    pub source_arn: String,
    pub batch_size: u32,
    /// 0 when not set (what Lambda reports then).
    pub batching_window_s: u32,
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<String>,
    pub maximum_concurrency: Option<u32>,
    pub report_batch_item_failures: bool,
}

/// One resource the stage should have.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Spec {
    ArtifactsBucket(ArtifactsBucketSpec),
    CodeObject(CodeObjectSpec),
    Role(RoleSpec),
    Function(FunctionSpec),
    Rule(RuleSpec),
    Permission(PermissionSpec),
    Notification(NotificationSpec),
    Subscription(SubscriptionSpec),
    Mapping(MappingSpec),
}

impl Spec {
    pub fn identity(&self) -> Identity {
        match self {
            Spec::ArtifactsBucket(s) => Identity::ArtifactsBucket {
                bucket: s.bucket.clone(),
            },
            Spec::CodeObject(s) => Identity::CodeObject {
                bucket: s.bucket.clone(),
                key: s.key.clone(),
            },
            Spec::Role(s) => Identity::Role {
                name: s.name.clone(),
            },
            Spec::Function(s) => Identity::Function {
                name: s.name.clone(),
            },
            Spec::Rule(s) => Identity::Rule {
                name: s.name.clone(),
                bus: s.bus.clone(),
            },
            Spec::Permission(s) => Identity::Permission {
                function: s.function.clone(),
                statement_id: s.statement_id.clone(),
            },
            Spec::Notification(s) => Identity::Notification {
                bucket: s.bucket.clone(),
                id: s.id.clone(),
            },
            Spec::Subscription(s) => Identity::Subscription {
                topic_arn: s.topic_arn.clone(),
                endpoint: s.endpoint.clone(),
            },
            Spec::Mapping(s) => Identity::Mapping {
                function: s.function.clone(),
                source_arn: s.source_arn.clone(),
            },
        }
    }
}

/// A desired resource under its stable id (`function.<handler>`, `artifacts.bucket`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredResource {
    pub id: String,
    pub spec: Spec,
}

/// Everything the stage should have, resolved to concrete names and ARNs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Desired {
    pub resources: Vec<DesiredResource>,
    /// Whether the code is known (`plan` without `--bootstrap` does not compare code).
    pub code_known: bool,
}

impl Desired {
    pub fn get(&self, id: &str) -> Option<&Spec> {
        self.resources.iter().find(|r| r.id == id).map(|r| &r.spec)
    }

    /// The desired spec with this identity.
    pub fn by_identity(&self, identity: &Identity) -> Option<&DesiredResource> {
        self.resources
            .iter()
            .find(|r| &r.spec.identity() == identity)
    }

    pub fn functions(&self) -> impl Iterator<Item = &FunctionSpec> {
        self.resources.iter().filter_map(|r| match &r.spec {
            Spec::Function(f) => Some(f),
            _ => None,
        })
    }
}

/// A resource the state file records (or, for `delete`, one the plan's identities name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The state file key it is recorded under (`function.h`, `notification.h@replaced`, ...).
    pub key: String,
    pub identity: Identity,
    /// Whether this stage made it (false for an artifacts bucket that existed before).
    pub owned: bool,
    /// The mapping UUID or subscription ARN recorded, preferred when duplicates are found live.
    pub physical_id: Option<String>,
}

/// A function as read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFunction {
    pub arn: String,
    pub spec: FunctionSpec,
    /// `Pending`, `Active`, ...
    pub state: Option<String>,
    /// `InProgress`, `Successful`, `Failed`.
    pub last_update_status: Option<String>,
}

/// The role as read live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRole {
    pub arn: String,
    pub spec: RoleSpec,
}

/// A rule as read live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRule {
    pub arn: String,
    pub spec: RuleSpec,
    /// Every target id on the rule (ours and any others).
    pub target_ids: Vec<String>,
}

/// A topic subscription as read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSubscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}

/// An event source mapping as read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMapping {
    pub uuid: String,
    pub spec: MappingSpec,
}

/// The artifacts bucket as read live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveArtifacts {
    pub bucket_exists: bool,
    /// Keys under the stage's prefix.
    pub keys: BTreeSet<String>,
}

/// Everything read from AWS for one plan. A key missing from a map means "not read"; `None` means
/// "read, does not exist".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub artifacts: Option<LiveArtifacts>,
    pub roles: BTreeMap<String, Option<LiveRole>>,
    pub functions: BTreeMap<String, Option<LiveFunction>>,
    /// By (bus, name).
    pub rules: BTreeMap<(Option<String>, String), Option<LiveRule>>,
    /// Resource policy statements by function name.
    pub policies: BTreeMap<String, Vec<PermissionSpec>>,
    /// Lambda notification entries by bucket (`None`: the bucket does not exist).
    pub buckets: BTreeMap<String, Option<Vec<NotificationSpec>>>,
    /// Subscriptions by topic ARN (`None`: the topic does not exist).
    pub topics: BTreeMap<String, Option<Vec<LiveSubscription>>>,
    /// Mappings by function name.
    pub mappings: BTreeMap<String, Vec<LiveMapping>>,
    /// Custom event buses that do not exist.
    pub missing_buses: BTreeSet<String>,
}

impl Live {
    /// The function as read: `Some(None)` when it does not exist, `None` when not read.
    pub fn function(&self, name: &str) -> Option<Option<&LiveFunction>> {
        self.functions.get(name).map(Option::as_ref)
    }

    /// Whether `identity` exists live (`None`: not read, so not known).
    pub fn exists(&self, identity: &Identity) -> Option<bool> {
        match identity {
            Identity::ArtifactsBucket { .. } => self.artifacts.as_ref().map(|a| a.bucket_exists),
            Identity::CodeObject { key, .. } => self
                .artifacts
                .as_ref()
                .map(|a| a.keys.iter().any(|k| matches(key, k))),
            Identity::Role { name } => self.roles.get(name).map(Option::is_some),
            Identity::Function { name } => self.functions.get(name).map(Option::is_some),
            Identity::Rule { name, bus } => self
                .rules
                .get(&(bus.clone(), name.clone()))
                .map(Option::is_some),
            Identity::Permission {
                function,
                statement_id,
            } => match self.functions.get(function) {
                Some(None) => Some(false),
                _ => self
                    .policies
                    .get(function)
                    .map(|p| p.iter().any(|s| &s.statement_id == statement_id)),
            },
            Identity::Notification { bucket, id } => self
                .buckets
                .get(bucket)
                .map(|b| b.iter().flatten().any(|n| &n.id == id)),
            Identity::Subscription { .. } => Some(!self.subscriptions(identity).is_empty()),
            Identity::Mapping { .. } => Some(!self.mappings_for(identity).is_empty()),
        }
    }

    /// The lambda subscriptions a [`Identity::Subscription`] finds (more than one: duplicates).
    pub fn subscriptions(&self, identity: &Identity) -> Vec<&LiveSubscription> {
        let Identity::Subscription {
            topic_arn,
            endpoint,
        } = identity
        else {
            return Vec::new();
        };
        self.topics
            .get(topic_arn)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|s| s.protocol == "lambda" && &s.endpoint == endpoint)
            .collect()
    }

    /// The mappings a [`Identity::Mapping`] finds (more than one: duplicates, or a wildcard).
    pub fn mappings_for(&self, identity: &Identity) -> Vec<&LiveMapping> {
        let Identity::Mapping {
            function,
            source_arn,
        } = identity
        else {
            return Vec::new();
        };
        self.mappings
            .get(function)
            .into_iter()
            .flatten()
            .filter(|m| matches(source_arn, &m.spec.source_arn))
            .collect()
    }
}

/// Policy documents compared as data: keys sorted, `Action`/`Resource` always lists, sorted.
pub fn normalize_policy(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(statements) = doc.get_mut("Statement") {
        if statements.is_object() {
            *statements = Value::Array(vec![statements.take()]);
        }
        if let Some(list) = statements.as_array_mut() {
            for st in list.iter_mut() {
                for key in ["Action", "Resource", "NotAction", "NotResource"] {
                    if let Some(v) = st.get_mut(key) {
                        let mut items: Vec<Value> = match v.take() {
                            Value::Array(items) => items,
                            other => vec![other],
                        };
                        items.sort_by_key(|a| a.to_string());
                        *v = Value::Array(items);
                    }
                }
            }
        }
    }
    canonical(&doc)
}

/// `value` with every object's keys sorted (serde_json here keeps insertion order).
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wildcards_match_prefixes_only_when_asked() {
        assert!(matches("a/b/*", "a/b/c.zip"));
        assert!(!matches("a/b/*", "a/c"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exact2"));
    }

    #[test]
    fn policies_compare_regardless_of_shape_and_order() {
        let sent = json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow",
            "Action": ["b", "a"], "Resource": ["r"]}]});
        let returned = json!({"Statement": {"Resource": "r", "Effect": "Allow", "Sid": "A",
            "Action": ["a", "b"]}, "Version": "2012-10-17"});
        assert_eq!(normalize_policy(&sent), normalize_policy(&returned));
        assert_eq!(
            normalize_policy(&sent).to_string(),
            r#"{"Statement":[{"Action":["a","b"],"Effect":"Allow","Resource":["r"],"Sid":"A"}],"Version":"2012-10-17"}"#
        );
    }

    #[test]
    fn display_names_are_short_and_unique_enough() {
        let mapping = Identity::Mapping {
            function: "orders-dev-audit".into(),
            source_arn: "arn:aws:dynamodb:us-east-1:1:table/orders/stream/2024-01-01T00:00:00.000"
                .into(),
        };
        assert_eq!(mapping.display_name(), "orders-dev-audit/table/orders");
        let queue = Identity::Mapping {
            function: "f".into(),
            source_arn: "arn:aws:sqs:us-east-1:1:jobs".into(),
        };
        assert_eq!(queue.display_name(), "f/jobs");
        let rule = Identity::Rule {
            name: "r".into(),
            bus: Some("arn:aws:events:us-east-1:1:event-bus/audit".into()),
        };
        assert_eq!(rule.display_name(), "audit/r");
        let sub = Identity::Subscription {
            topic_arn: "arn:aws:sns:us-east-1:1:news".into(),
            endpoint: "arn:aws:lambda:us-east-1:1:function:f".into(),
        };
        assert_eq!(sub.display_name(), "f/news");
        assert_eq!(sub.kind().as_str(), "sns_subscription");
    }

    #[test]
    fn identities_round_trip_through_json() {
        let id = Identity::Rule {
            name: "n".into(),
            bus: None,
        };
        let text = serde_json::to_string(&id).unwrap();
        assert_eq!(text, r#"{"type":"rule","name":"n","bus":null}"#);
        assert_eq!(serde_json::from_str::<Identity>(&text).unwrap(), id);
    }
}
