//! The validated app: the one source of truth that both emitters read.
//!
//! Every value here has passed AWS's rules; emitters never re-check and never see the parse tree.

use std::collections::BTreeMap;

use crate::ast::Kind;
use crate::vars;

/// Lambda's default memory when neither the file nor a stage sets one (MB).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Chalice's default function timeout (seconds).
pub const DEFAULT_TIMEOUT_S: u32 = 60;
/// The stage used when none is named.
pub const DEFAULT_STAGE: &str = "dev";
/// Lambda's default `/tmp` size (MB).
pub const DEFAULT_EPHEMERAL_STORAGE_MB: u32 = 512;

/// A validated `events.chalice`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// `app NAME`: the prefix of every resource name.
    pub app: String,
    /// Built-in defaults with the `defaults` block applied.
    pub defaults: Settings,
    /// Declared stages and their overrides, by name. `dev` is always deployable.
    pub stages: BTreeMap<String, SettingsPatch>,
    /// One per binding, in file order.
    pub handlers: Vec<Handler>,
}

/// Function settings after every layer is applied.
///
/// Strings may hold variables (see [`crate::vars`]); [`Model::settings_for`] resolves `${app}` and
/// `${stage}` and turns `${partition}`, `${region}`, `${account}` into the plan's placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// `None`: unreserved (the account's pool).
    pub reserved_concurrency: Option<u32>,
    pub architecture: Architecture,
    /// Statements for the function's own role (IAM JSON statement objects), every layer's, in order.
    pub policy: Vec<serde_json::Value>,
    /// Managed policy ARNs attached to the function's own role, every layer's, each once.
    pub managed_policies: Vec<String>,
    /// An existing role (ARN) to run as instead of the function's own; no IAM is made for it.
    pub role: Option<String>,
    /// Days CloudWatch Logs keeps the function's logs; `None`: the log group is left to Lambda.
    pub log_retention_days: Option<u32>,
    /// The application log level Lambda filters at (needs JSON logs).
    pub log_level: Option<LogLevel>,
    pub log_format: LogFormat,
    pub tracing: Tracing,
    /// Layer version ARNs, in order (at most 5).
    pub layers: Vec<String>,
    pub ephemeral_storage_mb: u32,
    pub vpc: Option<Vpc>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            memory_mb: DEFAULT_MEMORY_MB,
            timeout_s: DEFAULT_TIMEOUT_S,
            env: BTreeMap::new(),
            tags: BTreeMap::new(),
            reserved_concurrency: None,
            architecture: Architecture::X86_64,
            policy: Vec::new(),
            managed_policies: Vec::new(),
            role: None,
            log_retention_days: None,
            log_level: None,
            log_format: LogFormat::Text,
            tracing: Tracing::PassThrough,
            layers: Vec::new(),
            ephemeral_storage_mb: DEFAULT_EPHEMERAL_STORAGE_MB,
            vpc: None,
        }
    }
}

/// Settings one layer (a stage, a binding) overrides; maps merge key by key, `policy` and
/// `managed_policies` accumulate, everything else replaces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsPatch {
    pub memory_mb: Option<u32>,
    pub timeout_s: Option<u32>,
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
    pub architecture: Option<Architecture>,
    pub policy: Vec<serde_json::Value>,
    pub managed_policies: Vec<String>,
    pub role: Option<String>,
    pub log_retention_days: Option<u32>,
    pub log_level: Option<LogLevel>,
    /// `None` with a `log_level` set anywhere means JSON (Lambda filters levels of JSON logs only).
    pub log_format: Option<LogFormat>,
    pub tracing: Option<Tracing>,
    pub layers: Option<Vec<String>>,
    pub ephemeral_storage_mb: Option<u32>,
    pub vpc: Option<Vpc>,
}

/// A function's VPC attachment (both lists non-empty).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vpc {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

impl Settings {
    /// This with `patch` laid over it.
    pub fn apply(&self, patch: &SettingsPatch) -> Settings {
        let mut s = self.clone();
        if let Some(m) = patch.memory_mb {
            s.memory_mb = m;
        }
        if let Some(t) = patch.timeout_s {
            s.timeout_s = t;
        }
        s.env
            .extend(patch.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        s.tags
            .extend(patch.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if patch.reserved_concurrency.is_some() {
            s.reserved_concurrency = patch.reserved_concurrency;
        }
        if let Some(a) = patch.architecture {
            s.architecture = a;
        }
        // The same statement written at two levels is granted once.
        for statement in &patch.policy {
            if !s.policy.contains(statement) {
                s.policy.push(statement.clone());
            }
        }
        for arn in &patch.managed_policies {
            if !s.managed_policies.contains(arn) {
                s.managed_policies.push(arn.clone());
            }
        }
        if patch.role.is_some() {
            s.role.clone_from(&patch.role);
        }
        if patch.log_retention_days.is_some() {
            s.log_retention_days = patch.log_retention_days;
        }
        if patch.log_level.is_some() {
            s.log_level = patch.log_level;
        }
        if let Some(f) = patch.log_format {
            s.log_format = f;
        } else if patch.log_level.is_some() {
            s.log_format = LogFormat::Json;
        }
        if let Some(t) = patch.tracing {
            s.tracing = t;
        }
        if let Some(layers) = &patch.layers {
            s.layers.clone_from(layers);
        }
        if let Some(n) = patch.ephemeral_storage_mb {
            s.ephemeral_storage_mb = n;
        }
        if patch.vpc.is_some() {
            s.vpc.clone_from(&patch.vpc);
        }
        s
    }

    /// These settings with the variables of `app` and `stage` resolved in every string.
    pub fn resolve(&self, app: &str, stage: &str) -> Settings {
        let r = |s: &String| vars::resolve(s, app, stage);
        Settings {
            env: self.env.iter().map(|(k, v)| (k.clone(), r(v))).collect(),
            tags: self.tags.iter().map(|(k, v)| (k.clone(), r(v))).collect(),
            policy: self
                .policy
                .iter()
                .map(|v| vars::resolve_json(v, app, stage))
                .collect(),
            managed_policies: self.managed_policies.iter().map(r).collect(),
            role: self.role.as_ref().map(r),
            layers: self.layers.iter().map(r).collect(),
            ..self.clone()
        }
    }
}

/// Lambda's application log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];

    /// The word in `events.chalice`, e.g. `info`.
    pub fn keyword(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
        }
    }

    /// Lambda's name for it (`ApplicationLogLevel`, `AWS_LAMBDA_LOG_LEVEL`), e.g. `INFO`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }
}

/// How Lambda writes a function's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// Lambda's name for it (`LogFormat`, `AWS_LAMBDA_LOG_FORMAT`): `Text` or `JSON`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "Text",
            LogFormat::Json => "JSON",
        }
    }
}

/// X-Ray tracing of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracing {
    Active,
    PassThrough,
}

impl Tracing {
    /// Lambda's name for it (`TracingConfig.Mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tracing::Active => "Active",
            Tracing::PassThrough => "PassThrough",
        }
    }
}

/// The instruction set a function runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// Lambda's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// One binding: a handler and the event source that invokes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handler {
    /// A Rust identifier and a Lambda name fragment, unique in the app.
    pub name: String,
    /// 1-based line of the binding in the file (for generated docs).
    pub line: usize,
    /// The binding as written, first line only (for generated docs).
    pub declaration: String,
    pub kind: Kind,
    /// The source in each deployable stage (`dev` and every declared one), its variables resolved:
    /// `${app}` and `${stage}` substituted, deploy-time ones as the plan's `{partition}` placeholders.
    pub sources: BTreeMap<String, Source>,
    /// This binding's own overrides (applied after `defaults` and the stage).
    pub settings: SettingsPatch,
    /// Its filters, retries and on-failure destination, variables unresolved (see [`Delivery::resolve`]).
    pub delivery: Delivery,
}

impl Handler {
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The source in `stage`; `None` for a stage the model does not know.
    pub fn source(&self, stage: &str) -> Option<&Source> {
        self.sources.get(stage)
    }
}

/// How events reach a handler and what becomes of those it fails: filters, retries, an on-failure
/// destination. Validation allows each field only on the kinds AWS has it for:
///
/// - `filters`: queue, stream, table (an event source mapping's `FilterCriteria`, ORed);
/// - `filter_policy`: topic (the subscription's);
/// - retries, age and `on_failure`: stream and table (on the mapping), schedule, rule, bucket and topic
///   (the function's event invoke configuration);
/// - `bisect_on_error`, `parallelization_factor`, `tumbling_window_s`: stream and table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivery {
    /// Event patterns, at most 5; an event passes when any matches.
    pub filters: Vec<serde_json::Value>,
    pub filter_policy: Option<FilterPolicy>,
    /// Streams: -1 (forever) to 10000. Asynchronous: 0 to 2.
    pub maximum_retry_attempts: Option<i32>,
    /// Streams: the record age, -1 (forever) or 60 to 604800. Asynchronous: the event age, 60 to 21600.
    pub maximum_age_s: Option<i32>,
    pub bisect_on_error: Option<bool>,
    /// 1 to 10.
    pub parallelization_factor: Option<u32>,
    /// 0 (off) to 900.
    pub tumbling_window_s: Option<u32>,
    pub on_failure: Option<Destination>,
}

impl Delivery {
    /// This with `${app}` and `${stage}` resolved in the destination, filters and policy.
    pub fn resolve(&self, app: &str, stage: &str) -> Delivery {
        Delivery {
            filters: self
                .filters
                .iter()
                .map(|f| vars::resolve_json(f, app, stage))
                .collect(),
            filter_policy: self.filter_policy.as_ref().map(|p| FilterPolicy {
                policy: vars::resolve_json(&p.policy, app, stage),
                scope: p.scope,
            }),
            on_failure: self.on_failure.as_ref().map(|d| Destination {
                kind: d.kind,
                target: match &d.target {
                    NameOrArn::Name(n) => NameOrArn::Name(vars::resolve(n, app, stage)),
                    NameOrArn::Arn(a) => NameOrArn::Arn(vars::resolve(a, app, stage)),
                },
            }),
            ..self.clone()
        }
    }
}

/// Where records of failed events or batches go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub kind: DestinationKind,
    pub target: NameOrArn,
}

/// The services a failure record can be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    Queue,
    Topic,
    Bucket,
    Bus,
    Function,
}

impl DestinationKind {
    pub const ALL: [DestinationKind; 5] = [
        DestinationKind::Queue,
        DestinationKind::Topic,
        DestinationKind::Bucket,
        DestinationKind::Bus,
        DestinationKind::Function,
    ];

    /// The service in its ARNs: `sqs`, `sns`, `s3`, `events`, `lambda`.
    pub fn service(self) -> &'static str {
        match self {
            DestinationKind::Queue => "sqs",
            DestinationKind::Topic => "sns",
            DestinationKind::Bucket => "s3",
            DestinationKind::Bus => "events",
            DestinationKind::Function => "lambda",
        }
    }

    /// AWS's name for that service: `SQS`, `SNS`, `S3`, `EventBridge`, `Lambda`.
    pub fn service_name(self) -> &'static str {
        match self {
            DestinationKind::Queue => "SQS",
            DestinationKind::Topic => "SNS",
            DestinationKind::Bucket => "S3",
            DestinationKind::Bus => "EventBridge",
            DestinationKind::Function => "Lambda",
        }
    }

    /// How it is named in messages: `queue`, `topic`, `bucket`, `event bus`, `function`.
    pub fn noun(self) -> &'static str {
        match self {
            DestinationKind::Bus => "event bus",
            other => other.keyword(),
        }
    }

    /// The key in an `on_failure { ... }` block, e.g. `queue`.
    pub fn keyword(self) -> &'static str {
        match self {
            DestinationKind::Queue => "queue",
            DestinationKind::Topic => "topic",
            DestinationKind::Bucket => "bucket",
            DestinationKind::Bus => "bus",
            DestinationKind::Function => "function",
        }
    }
}

/// An SNS subscription's filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    pub policy: serde_json::Value,
    pub scope: FilterPolicyScope,
}

/// What an SNS filter policy is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterPolicyScope {
    MessageAttributes,
    MessageBody,
}

impl FilterPolicyScope {
    /// SNS's name for it (`FilterPolicyScope`).
    pub fn as_str(self) -> &'static str {
        match self {
            FilterPolicyScope::MessageAttributes => "MessageAttributes",
            FilterPolicyScope::MessageBody => "MessageBody",
        }
    }
}

/// What invokes a handler, with every option resolved to its default.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Schedule {
        expression: Schedule,
        description: Option<String>,
    },
    Rule {
        /// The event pattern, member order as written.
        pattern: serde_json::Value,
        /// A custom event bus name or ARN; `None` is the default bus.
        bus: Option<String>,
        description: Option<String>,
    },
    Bucket {
        bucket: String,
        /// S3 event names; `["s3:ObjectCreated:*"]` when not given.
        events: Vec<String>,
        prefix: Option<String>,
        suffix: Option<String>,
    },
    Topic {
        topic: NameOrArn,
    },
    Queue {
        queue: QueueRef,
        /// The queue's name ends in `.fifo`.
        fifo: bool,
        batch_size: u32,
        batching_window_s: Option<u32>,
        maximum_concurrency: Option<u32>,
    },
    Stream {
        stream: NameOrArn,
        batch_size: u32,
        starting_position: StartingPosition,
        batching_window_s: Option<u32>,
    },
    Table {
        /// A table name (its latest stream is resolved at deploy time) or a stream ARN.
        table: NameOrArn,
        batch_size: u32,
        starting_position: StartingPosition,
        batching_window_s: Option<u32>,
    },
}

impl Source {
    pub fn kind(&self) -> Kind {
        match self {
            Source::Schedule { .. } => Kind::Schedule,
            Source::Rule { .. } => Kind::Rule,
            Source::Bucket { .. } => Kind::Bucket,
            Source::Topic { .. } => Kind::Topic,
            Source::Queue { .. } => Kind::Queue,
            Source::Stream { .. } => Kind::Stream,
            Source::Table { .. } => Kind::Table,
        }
    }
}

/// A schedule expression AWS accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Rate {
        value: u32,
        unit: RateUnit,
    },
    /// The six fields: minutes hours day-of-month month day-of-week year.
    Cron {
        fields: [String; 6],
    },
}

impl Schedule {
    /// The expression as EventBridge takes it, e.g. `rate(1 hour)`.
    pub fn expression(&self) -> String {
        match self {
            Schedule::Rate { value, unit } => {
                let unit = unit.as_str();
                if *value == 1 {
                    format!("rate(1 {unit})")
                } else {
                    format!("rate({value} {unit}s)")
                }
            }
            Schedule::Cron { fields } => format!("cron({})", fields.join(" ")),
        }
    }
}

/// The unit of `rate(N unit)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    /// The singular unit word.
    pub fn as_str(self) -> &'static str {
        match self {
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    pub fn seconds(self) -> u64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
            RateUnit::Day => 86_400,
        }
    }
}

/// A resource given by name (in the deploy account and region) or by full ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrArn {
    Name(String),
    Arn(String),
}

/// An SQS queue: a name, a URL or an ARN as written (the name is always known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRef {
    Name(String),
    /// `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`
    Url {
        url: String,
        region: String,
        account: String,
        name: String,
    },
    Arn {
        arn: String,
        name: String,
    },
}

impl QueueRef {
    pub fn name(&self) -> &str {
        match self {
            QueueRef::Name(n) => n,
            QueueRef::Url { name, .. } | QueueRef::Arn { name, .. } => name,
        }
    }
}

/// Where a stream mapping starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    /// Kinesis only: an RFC 3339 time.
    AtTimestamp(String),
}

impl StartingPosition {
    /// Lambda's name for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
            StartingPosition::AtTimestamp(_) => "AT_TIMESTAMP",
        }
    }
}

impl Model {
    /// The stages a deploy may name: `dev` and every declared one, sorted.
    pub fn stage_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.stages.keys().map(String::as_str).collect();
        if !self.stages.contains_key(DEFAULT_STAGE) {
            names.push(DEFAULT_STAGE);
        }
        names.sort_unstable();
        names
    }

    pub fn has_stage(&self, stage: &str) -> bool {
        stage == DEFAULT_STAGE || self.stages.contains_key(stage)
    }

    /// A handler's settings in a stage, variables resolved: built-in < `defaults` < stage < binding.
    pub fn settings_for(&self, handler: &Handler, stage: &str) -> Settings {
        let base = match self.stages.get(stage) {
            Some(patch) => self.defaults.apply(patch),
            None => self.defaults.clone(),
        };
        base.apply(&handler.settings).resolve(&self.app, stage)
    }

    /// A handler's filters, retries and destination in a stage, variables resolved.
    pub fn delivery_for(&self, handler: &Handler, stage: &str) -> Delivery {
        handler.delivery.resolve(&self.app, stage)
    }

    /// `<app>-<stage>-<handler>`: the Lambda function's name, and its own role's.
    pub fn function_name(&self, stage: &str, handler: &str) -> String {
        format!("{}-{}-{}", self.app, stage, handler)
    }

    pub fn handler(&self, name: &str) -> Option<&Handler> {
        self.handlers.iter().find(|h| h.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expression_is_singular_for_one() {
        let one = Schedule::Rate {
            value: 1,
            unit: RateUnit::Hour,
        };
        let five = Schedule::Rate {
            value: 5,
            unit: RateUnit::Minute,
        };
        assert_eq!(one.expression(), "rate(1 hour)");
        assert_eq!(five.expression(), "rate(5 minutes)");
    }

    #[test]
    fn layers_apply_in_order() {
        let mut defaults = Settings::default();
        defaults.env.insert("A".into(), "1".into());
        let stage = SettingsPatch {
            memory_mb: Some(512),
            ..Default::default()
        };
        let mut binding = SettingsPatch {
            timeout_s: Some(5),
            ..Default::default()
        };
        binding.env.insert("B".into(), "${app}-${stage}".into());
        binding.log_level = Some(LogLevel::Warn);
        let model = Model {
            app: "a".into(),
            defaults,
            stages: BTreeMap::from([("prod".to_string(), stage)]),
            handlers: vec![Handler {
                name: "h".into(),
                line: 1,
                declaration: String::new(),
                kind: Kind::Topic,
                sources: BTreeMap::from([(
                    DEFAULT_STAGE.to_string(),
                    Source::Topic {
                        topic: NameOrArn::Name("t".into()),
                    },
                )]),
                settings: binding,
                delivery: Delivery::default(),
            }],
        };
        let s = model.settings_for(&model.handlers[0], "prod");
        assert_eq!((s.memory_mb, s.timeout_s), (512, 5));
        assert_eq!(s.env.len(), 2);
        assert_eq!(s.env["B"], "a-prod");
        assert_eq!(
            (s.log_level, s.log_format),
            (Some(LogLevel::Warn), LogFormat::Json),
            "a level alone means JSON logs"
        );
        assert_eq!(
            model.settings_for(&model.handlers[0], "dev").memory_mb,
            DEFAULT_MEMORY_MB
        );
        assert_eq!(model.stage_names(), ["dev", "prod"]);
    }
}
