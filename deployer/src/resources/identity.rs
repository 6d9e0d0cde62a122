//! What each resource is found by in AWS: an [`Identity`], deterministic from the plan, so an
//! interrupted deploy finds what it already made instead of making it twice; and its [`ResourceKind`].

use serde::{Deserialize, Serialize};

/// The kinds of resource the deployer manages, in the order they are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    S3Bucket,
    S3Object,
    IamRole,
    IamRolePolicyAttachment,
    LogsLogGroup,
    LambdaFunction,
    EventsRule,
    LambdaPermission,
    LambdaEventInvokeConfig,
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
            ResourceKind::IamRolePolicyAttachment => "iam_role_policy_attachment",
            ResourceKind::LogsLogGroup => "log_group",
            ResourceKind::LambdaFunction => "lambda_function",
            ResourceKind::EventsRule => "events_rule",
            ResourceKind::LambdaPermission => "lambda_permission",
            ResourceKind::LambdaEventInvokeConfig => "lambda_event_invoke_config",
            ResourceKind::SnsSubscription => "sns_subscription",
            ResourceKind::LambdaEventSourceMapping => "lambda_event_source_mapping",
            ResourceKind::S3BucketNotification => "s3_bucket_notification",
        }
    }

    /// Whether it is the deployer's artifacts (the bucket shared by every app and stage of an
    /// account and region, and the code zips in it), not one of the app's resources: counted apart.
    pub fn is_artifact(self) -> bool {
        matches!(self, ResourceKind::S3Bucket | ResourceKind::S3Object)
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
    /// A managed policy attached to one of our roles.
    Attachment {
        role: String,
        policy_arn: String,
    },
    /// A function's CloudWatch Logs group.
    LogGroup {
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
    /// A function's event invoke configuration (retries and destination of asynchronous invocations).
    InvokeConfig {
        function: String,
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
            Identity::Attachment { .. } => ResourceKind::IamRolePolicyAttachment,
            Identity::LogGroup { .. } => ResourceKind::LogsLogGroup,
            Identity::Function { .. } => ResourceKind::LambdaFunction,
            Identity::Rule { .. } => ResourceKind::EventsRule,
            Identity::Permission { .. } => ResourceKind::LambdaPermission,
            Identity::Notification { .. } => ResourceKind::S3BucketNotification,
            Identity::Subscription { .. } => ResourceKind::SnsSubscription,
            Identity::Mapping { .. } => ResourceKind::LambdaEventSourceMapping,
            Identity::InvokeConfig { .. } => ResourceKind::LambdaEventInvokeConfig,
        }
    }

    /// The name shown in plans: the AWS name; for what belongs to a function, `function/where` (a
    /// notification's id is its function's name), so every line of a handler starts with its function.
    pub fn display_name(&self) -> String {
        match self {
            Identity::ArtifactsBucket { bucket } => bucket.clone(),
            Identity::CodeObject { bucket, key } => format!("{bucket}/{key}"),
            Identity::Role { name } | Identity::Function { name } => name.clone(),
            Identity::InvokeConfig { function } => function.clone(),
            Identity::Attachment { role, policy_arn } => {
                format!(
                    "{role}/{}",
                    policy_arn.rsplit('/').next().unwrap_or(policy_arn)
                )
            }
            Identity::LogGroup { name } => name.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_prefixes_only_when_asked() {
        assert!(matches("a/b/*", "a/b/c.zip"));
        assert!(!matches("a/b/*", "a/c"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exact2"));
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
