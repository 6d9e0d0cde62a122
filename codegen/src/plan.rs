//! The deploy plan: every AWS resource one stage of the app needs, as data the deployer executes.
//!
//! It holds no account id, region or partition: ARNs are templates with `{partition}`, `{region}` and
//! `{account}` placeholders, filled in at deploy time by [`Arn::resolve`]. Resources refer to each other by
//! handler name (`function` fields) and carry a stable `id` the deployer records state under.

mod schedule;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Architecture, LogFormat, LogLevel, Tracing, Vpc};
pub use crate::model::{DestinationKind, FilterPolicyScope};

pub use schedule::{Cron, Schedule, ScheduleError};

/// Bumped when the plan's shape changes incompatibly.
pub const PLAN_VERSION: u32 = 3;
/// The Lambda runtime every function uses (a custom runtime running the `bootstrap` binary).
pub const RUNTIME: &str = "provided.al2023";
/// Tag keys that mark a resource as this tool's.
pub const TAG_APP: &str = "chalice:app";
pub const TAG_STAGE: &str = "chalice:stage";

/// Everything one stage of an app deploys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub app: String,
    pub stage: String,
    /// Tags put on every taggable resource (`chalice:app`, `chalice:stage`).
    pub tags: BTreeMap<String, String>,
    /// One role per function that runs as its own (none for a function given a `role`).
    pub roles: Vec<Role>,
    pub functions: Vec<Function>,
    pub rules: Vec<EventRule>,
    pub permissions: Vec<Permission>,
    pub bucket_notifications: Vec<BucketNotification>,
    pub subscriptions: Vec<Subscription>,
    pub event_source_mappings: Vec<EventSourceMapping>,
    /// Retries, event age and on-failure destination of functions invoked asynchronously (schedule,
    /// rule, bucket, topic), one per function whose binding sets any of them.
    pub invoke_configs: Vec<InvokeConfig>,
}

/// An ARN template, e.g. `arn:{partition}:sqs:{region}:{account}:orders`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Arn(pub String);

/// What fills an [`Arn`] template's placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsContext {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl AwsContext {
    /// The partition a region belongs to, from its name (`cn-north-1` → `aws-cn`); `aws` by default.
    pub fn partition_for_region(region: &str) -> &'static str {
        // Longest prefixes first: `us-isob-` must not match `us-iso-`.
        const PREFIXES: [(&str, &str); 6] = [
            ("cn-", "aws-cn"),
            ("us-gov-", "aws-us-gov"),
            ("us-isob-", "aws-iso-b"),
            ("us-isof-", "aws-iso-f"),
            ("us-iso-", "aws-iso"),
            ("eu-isoe-", "aws-iso-e"),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or("aws", |(_, partition)| partition)
    }
}

impl Arn {
    /// An ARN in this account and region: `arn:{partition}:SERVICE:{region}:{account}:RESOURCE`.
    pub fn local(service: &str, resource: &str) -> Arn {
        Arn(format!(
            "arn:{{partition}}:{service}:{{region}}:{{account}}:{resource}"
        ))
    }

    /// The ARN with the placeholders filled in.
    pub fn resolve(&self, ctx: &AwsContext) -> String {
        self.0
            .replace("{partition}", &ctx.partition)
            .replace("{region}", &ctx.region)
            .replace("{account}", &ctx.account)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A JSON value (a policy statement from the file) with the placeholders of every string filled in.
pub fn resolve_json(v: &serde_json::Value, ctx: &AwsContext) -> serde_json::Value {
    crate::vars::map_strings(v, &|s| Arn(s.to_string()).resolve(ctx))
}

/// Where Lambda writes functions' logs: `/aws/lambda/<function>`.
pub const LOG_GROUP_PREFIX: &str = "/aws/lambda/";

/// The log group Lambda writes function `function_name`'s logs to.
pub fn log_group_name(function_name: &str) -> String {
    format!("{LOG_GROUP_PREFIX}{function_name}")
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A function's own execution role: what that one function needs, nothing another function needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// `role.<handler>`
    pub id: String,
    /// The handler whose function runs as it.
    pub function: String,
    /// `<app>-<stage>-<handler>` (the function's name).
    pub name: String,
    /// `/chalice/<app>/<stage>/`: one `ListRoles` finds every role of the stage.
    pub path: String,
    pub arn: Arn,
    /// The service allowed to assume it: `lambda.amazonaws.com`.
    pub trust_principal: String,
    /// The inline policy's name.
    pub policy_name: String,
    /// What the tool grants: the function's log group, what its source needs, X-Ray and VPC
    /// networking when those are on.
    pub statements: Vec<Statement>,
    /// The file's `policy` statements that apply to the function (defaults, stage, binding), as
    /// written, with `{partition}`, `{region}`, `{account}` placeholders.
    pub custom_statements: Vec<serde_json::Value>,
    /// Managed policies attached to the role.
    pub managed_policies: Vec<Arn>,
}

/// One `Allow` statement the tool writes into a role's inline policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<Arn>,
}

/// One Lambda function per handler, all running the same `bootstrap`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub id: String,
    /// The handler this function serves; also its Lambda `Handler` setting.
    pub handler: String,
    /// `<app>-<stage>-<handler>`
    pub name: String,
    pub arn: Arn,
    pub runtime: String,
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub env: BTreeMap<String, String>,
    /// The file's tags plus the plan's.
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
    /// The role it runs as.
    pub role: FunctionRole,
    /// `/aws/lambda/<name>`, and how long it keeps logs (`None`: the group is left to Lambda).
    pub log_group: LogGroup,
    pub log_format: LogFormat,
    /// The application log level (JSON logs only).
    pub log_level: Option<LogLevel>,
    pub tracing: Tracing,
    /// Layer version ARNs, in order.
    pub layers: Vec<Arn>,
    pub ephemeral_storage_mb: u32,
    pub vpc: Option<Vpc>,
}

/// The role a function runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FunctionRole {
    /// Its own, made by the deployer: the plan's role with this id.
    Own { id: String, arn: Arn },
    /// One given in the file (`role = "ARN"`): used as is, no IAM made or changed for it.
    Given {
        arn: Arn,
        /// What the function's own role would have granted (its log group, its source, X-Ray,
        /// VPC networking): the deploy warns when the given role lacks any of it.
        needs: Vec<Statement>,
    },
}

impl FunctionRole {
    pub fn arn(&self) -> &Arn {
        match self {
            FunctionRole::Own { arn, .. } | FunctionRole::Given { arn, .. } => arn,
        }
    }
}

/// A function's CloudWatch Logs group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    /// `log_group.<handler>`
    pub id: String,
    pub name: String,
    /// Set: the deployer owns the group (creates it with this retention, keeps it on `delete`
    /// unless `--logs`). `None`: Lambda creates it on first use, and it never expires.
    pub retention_days: Option<u32>,
}

/// An EventBridge rule (a schedule or an event pattern) targeting one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRule {
    pub id: String,
    /// The handler it invokes.
    pub function: String,
    /// `<app>-<stage>-<handler>`
    pub name: String,
    pub arn: Arn,
    /// `rate(...)` or `cron(...)` as EventBridge takes it; set for schedules. Always
    /// `schedule`'s [`Schedule::expression`]: this is what is sent, that is what to compute with.
    pub schedule_expression: Option<String>,
    /// The same schedule, typed (e.g. to compute fire times); set exactly when
    /// `schedule_expression` is.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Compact JSON; set for pattern rules.
    pub event_pattern: Option<String>,
    /// A custom bus name or ARN; `None` is the default bus.
    pub event_bus: Option<String>,
    pub description: Option<String>,
    pub target_id: String,
}

/// A statement in a function's resource policy letting a service invoke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub id: String,
    pub function: String,
    pub statement_id: String,
    /// e.g. `events.amazonaws.com`
    pub principal: String,
    pub source_arn: Arn,
    /// Also condition on the deploy account (S3, whose ARNs carry no account).
    pub source_account: bool,
}

/// This app's entry in a bucket's notification configuration; others' entries are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketNotification {
    pub id: String,
    pub function: String,
    pub bucket: String,
    /// The notification configuration's `Id`, unique to this app, stage and handler.
    pub notification_id: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// A lambda-protocol subscription of a function to an SNS topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub function: String,
    pub topic_arn: Arn,
    /// Only messages it matches are delivered; `None`: every message.
    pub filter_policy: Option<FilterPolicy>,
}

/// An SNS subscription filter policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterPolicy {
    /// Compact JSON, as SNS takes it.
    pub policy: String,
    pub scope: FilterPolicyScope,
}

/// Where a record of a failed event or batch is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub kind: DestinationKind,
    pub arn: Arn,
}

/// A function's asynchronous invocation settings (`PutFunctionEventInvokeConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokeConfig {
    /// `invoke_config.<handler>`
    pub id: String,
    pub function: String,
    /// 0 to 2 (Lambda's default: 2).
    pub maximum_retry_attempts: u32,
    /// 60 to 21600 (Lambda's default: 21600).
    pub maximum_event_age_s: u32,
    pub on_failure: Option<Destination>,
}

/// Lambda's default retries of an asynchronous invocation.
pub const DEFAULT_ASYNC_RETRY_ATTEMPTS: u32 = 2;
/// Lambda's default maximum age of an asynchronous event (6 hours).
pub const DEFAULT_ASYNC_EVENT_AGE_S: u32 = 21_600;

/// How a stream or table mapping handles a batch its function fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamFailure {
    /// -1: until the record expires (Lambda's default).
    pub maximum_retry_attempts: i32,
    /// -1: the stream's retention (Lambda's default).
    pub maximum_record_age_s: i32,
    /// Split a failing batch in two and retry each half.
    pub bisect_on_error: bool,
    /// Batches processed at once per shard (1 to 10).
    pub parallelization_factor: u32,
    /// 0: no tumbling window.
    pub tumbling_window_s: u32,
    pub on_failure: Option<Destination>,
}

impl Default for StreamFailure {
    fn default() -> Self {
        StreamFailure {
            maximum_retry_attempts: -1,
            maximum_record_age_s: -1,
            bisect_on_error: false,
            parallelization_factor: 1,
            tumbling_window_s: 0,
            on_failure: None,
        }
    }
}

/// Where an event source mapping reads from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum MappingSource {
    Queue {
        arn: Arn,
    },
    Stream {
        arn: Arn,
    },
    /// A stream ARN given in the file.
    TableStream {
        arn: Arn,
    },
    /// A table name: its latest stream ARN is looked up (DescribeTable) at deploy time.
    Table {
        table: String,
    },
}

/// Lambda polls a queue or stream and invokes a function with batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSourceMapping {
    pub id: String,
    pub function: String,
    pub source: MappingSource,
    pub batch_size: u32,
    pub batching_window_s: Option<u32>,
    /// `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP`; streams only.
    pub starting_position: Option<String>,
    /// RFC 3339; with `AT_TIMESTAMP` only.
    pub starting_position_timestamp: Option<String>,
    /// SQS only.
    pub maximum_concurrency: Option<u32>,
    /// Always on: handlers may report partial batch failures.
    pub report_batch_item_failures: bool,
    /// `FilterCriteria` patterns, compact JSON; a record passes when any matches. Empty: all pass.
    pub filters: Vec<String>,
    /// Streams and tables: retries, record age, bisection, parallelization, tumbling window and
    /// on-failure destination; `None` for queues.
    pub stream_failure: Option<StreamFailure>,
}

impl Function {
    /// The environment the function runs with: its `env`, and what Lambda sets from its logging
    /// configuration (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`), which the runtime's logger reads.
    pub fn runtime_env(&self) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        env.insert(
            "AWS_LAMBDA_LOG_FORMAT".into(),
            self.log_format.as_str().into(),
        );
        if let Some(level) = self.log_level {
            env.insert("AWS_LAMBDA_LOG_LEVEL".into(), level.as_str().into());
        }
        env
    }
}

impl Plan {
    /// The function serving `handler`.
    pub fn function(&self, handler: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.handler == handler)
    }

    /// The mapping feeding `handler`, if it is fed by one.
    pub fn mapping(&self, handler: &str) -> Option<&EventSourceMapping> {
        self.event_source_mappings
            .iter()
            .find(|m| m.function == handler)
    }

    /// The asynchronous invocation settings of `handler`'s function, if its binding sets any.
    pub fn invoke_config(&self, handler: &str) -> Option<&InvokeConfig> {
        self.invoke_configs.iter().find(|c| c.function == handler)
    }

    /// The own role of the function serving `handler` (`None` when it was given one).
    pub fn role(&self, handler: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.function == handler)
    }

    /// The plan as the build writes it to `plan.<stage>.json`: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        // Cannot fail: every map has string keys and every value serialises.
        let json = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            unreachable!("a plan always serialises to JSON: {e}");
        });
        json + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_pretty_with_a_final_newline_and_reads_back() {
        let model = crate::load("events.chalice", "app a\nschedule s rate(1 hour)\n").unwrap();
        let plan = crate::emit_plan::plan(&model, "dev").unwrap();
        let json = plan.to_json();
        assert!(
            json.starts_with(&format!("{{\n  \"version\": {PLAN_VERSION},\n")),
            "{json}"
        );
        assert!(json.ends_with("}\n") && !json.ends_with("\n\n"), "{json}");
        assert_eq!(serde_json::from_str::<Plan>(&json).unwrap(), plan);
    }
}
