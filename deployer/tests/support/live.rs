//! A deploy-test world: a private moto server, the fault proxy in front of it, a project directory, the
//! event sources an app binds to (plus others' resources on them), and checks of what is deployed.
//!
//! The `deployer` binary runs with the project directory as its working directory and the proxy as its
//! `AWS_ENDPOINT_URL`; every check reads moto directly (never through the proxy) with the AWS SDK.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter, TopicConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{AwsContext, MappingSource, Plan};
use chalice_deployer::aws::Clients;
use chalice_deployer::project::package::CodePackage;
use serde_json::Value;

use crate::support::fault_proxy::{FaultProxy, Log, percent_decode};
use crate::support::moto::{self, Moto};

pub const APP: &str = "suite";
pub const STAGE: &str = "dev";
/// Every resource of the app is named `suite-dev-...`.
pub const PREFIX: &str = "suite-dev-";
/// How long one `deployer` run may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Event sources every test world has (the apps below bind to some of them).
pub const BUCKET: &str = "suite-uploads";
pub const TOPICS: [&str; 3] = ["suite-notices", "suite-notices-2", "suite-alerts"];
/// Visibility timeout 360 s (6 × the functions' 60 s timeout, as AWS advises).
pub const QUEUES: [&str; 2] = ["suite-orders", "suite-refunds"];
/// Visibility timeout 30 s: shorter than a 60 s function timeout, so AWS refuses a mapping to it.
pub const SHORT_QUEUE: &str = "suite-short";
pub const STREAMS: [&str; 2] = ["suite-clicks", "suite-views"];
pub const TABLES: [&str; 2] = ["suite-audit", "suite-ledger"];
pub const BUS: &str = "audit";
/// Others' resources that must survive every deploy and delete untouched.
pub const FOREIGN_QUEUE: &str = "suite-foreign";
pub const FOREIGN_NOTIFICATION_ID: &str = "someone-elses-entry";
pub const FOREIGN_ROLE: &str = "foreign-role";
pub const FOREIGN_FUNCTION: &str = "foreign-worker";
pub const FOREIGN_RULE: &str = "foreign-rule";

/// Version 1: one binding of every kind (two schedules, two rules, one on a custom bus).
pub const APP_V1: &str = r#"# deploy_suite: every event-source kind
app suite

defaults {
    memory  = 256
    timeout = 60s
    env { LOG_LEVEL = "info" }
}

schedule every_hour   rate(1 hour)
schedule nightly      cron(0 2 * * ? *) { description = "Nightly report" }
rule     code_commit  { pattern = { "source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"] } }
rule     audit_events { pattern = { "source": ["my.app"] }, bus = "audit" }
bucket   on_upload    "suite-uploads" { events = ["s3:ObjectCreated:*"], prefix = "images/", suffix = ".png" }
topic    on_notice    "suite-notices"
queue    on_order     "suite-orders"  { batch_size = 10, batching_window = 5s }
stream   on_click     "suite-clicks"  { starting_position = trim_horizon }
table    on_audit     "suite-audit"   { starting_position = latest }
"#;

/// Version 2: every v1 binding changed (except `audit_events`), `nightly` removed, one of each kind added.
pub const APP_V2: &str = r#"# deploy_suite v2: change one of each kind, add one of each kind, remove a schedule
app suite

defaults {
    memory  = 256
    timeout = 60s
    env { LOG_LEVEL = "info" }
}

schedule every_hour   rate(2 hours) { memory = 512 }
schedule weekly       cron(0 3 ? * MON *)
rule     code_commit  { pattern = { "source": ["aws.codecommit"], "detail-type": ["CodeCommit Pull Request State Change"] } }
rule     audit_events { pattern = { "source": ["my.app"] }, bus = "audit" }
rule     deploys      { pattern = { "source": ["aws.codedeploy"] }, bus = "audit", description = "Deployments" }
bucket   on_upload    "suite-uploads" { events = ["s3:ObjectCreated:*"], prefix = "photos/", suffix = ".png" }
bucket   on_remove    "suite-uploads" { events = ["s3:ObjectRemoved:*"], prefix = "docs/" }
topic    on_notice    "suite-notices-2"
topic    on_alert     "suite-alerts"
queue    on_order     "suite-orders"  { batch_size = 5, batching_window = 10s }
queue    on_refund    "suite-refunds"
stream   on_click     "suite-clicks"  { starting_position = trim_horizon, batch_size = 50 }
stream   on_view      "suite-views"   { starting_position = latest }
table    on_audit     "suite-audit"   { starting_position = latest, batch_size = 20 }
table    on_ledger    "suite-ledger"  { starting_position = trim_horizon }
"#;

/// Version 3: the v1 binding of every kind removed; what v2 added stays.
pub const APP_V3: &str = r#"# deploy_suite v3: remove one of each kind
app suite

defaults {
    memory  = 256
    timeout = 60s
    env { LOG_LEVEL = "info" }
}

schedule weekly       cron(0 3 ? * MON *)
rule     audit_events { pattern = { "source": ["my.app"] }, bus = "audit" }
rule     deploys      { pattern = { "source": ["aws.codedeploy"] }, bus = "audit", description = "Deployments" }
bucket   on_remove    "suite-uploads" { events = ["s3:ObjectRemoved:*"], prefix = "docs/" }
topic    on_alert     "suite-alerts"
queue    on_refund    "suite-refunds"
stream   on_view      "suite-views"   { starting_position = latest }
table    on_ledger    "suite-ledger"  { starting_position = trim_horizon }
"#;

/// The AWS context moto answers with.
pub fn context() -> AwsContext {
    AwsContext {
        partition: "aws".into(),
        region: moto::REGION.into(),
        account: moto::ACCOUNT.into(),
    }
}

pub fn function_arn(name: &str) -> String {
    format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        moto::REGION,
        moto::ACCOUNT
    )
}

pub fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{}:{}:{name}", moto::REGION, moto::ACCOUNT)
}

pub fn topic_arn(name: &str) -> String {
    format!("arn:aws:sns:{}:{}:{name}", moto::REGION, moto::ACCOUNT)
}

pub fn stream_arn(name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:stream/{name}",
        moto::REGION,
        moto::ACCOUNT
    )
}

/// The plan codegen makes for `source`'s `dev` stage (what the deployer is asked to make real).
pub fn plan_of(source: &str) -> Plan {
    let model = chalice_codegen::load("events.chalice", source)
        .unwrap_or_else(|d| panic!("test app does not validate:\n{}", d.render(false)));
    chalice_codegen::emit_plan::plan(&model, STAGE).expect("dev stage")
}

/// One finished `deployer` run.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// What went through the proxy during the run.
    pub log: Log,
    pub elapsed: Duration,
}

impl Run {
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`deployer {}` exit {:?} in {:.1?}; {} reads, {} writes {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.elapsed,
            self.log.reads(),
            self.log.writes(),
            self.log.write_names(),
            self.stdout,
            self.stderr
        )
    }

    /// Panics with the whole run unless it exited 0.
    pub fn assert_success(&self) -> &Run {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self
    }

    /// Panics unless the run made no write call at all.
    pub fn assert_no_writes(&self) -> &Run {
        assert_eq!(
            self.log.writes(),
            0,
            "expected zero write calls:\n{}",
            self.describe()
        );
        self
    }

    /// Lines of stderr that start an error report (`error: ...`, `Error: ...`).
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.trim_start().to_lowercase().starts_with("error"))
            .collect()
    }
}

/// What others own next to the app; compared before and after every deploy and delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Foreign {
    pub queue_configurations: Vec<QueueConfiguration>,
    pub topic_configurations: Vec<TopicConfiguration>,
    pub other_lambda_configurations: Vec<LambdaFunctionConfiguration>,
    /// (topic, subscription ARN, protocol, endpoint) of every non-lambda subscription.
    pub subscriptions: Vec<(String, String, String, String)>,
    /// Every fixture queue's attributes, except the message counts.
    pub queues: BTreeMap<String, BTreeMap<String, String>>,
    /// (uuid, source ARN, batch size) of the foreign function's mappings.
    pub mappings: Vec<(String, String, Option<i32>)>,
    pub function_sha: Option<String>,
    pub rule_targets: Vec<(String, String)>,
    pub role_exists: bool,
}

/// One test's world: moto, the proxy, a project directory with a bootstrap file.
pub struct World {
    pub moto: Moto,
    pub proxy: FaultProxy,
    /// Clients reading moto directly (not through the proxy).
    pub aws: Clients,
    pub dir: tempfile::TempDir,
    pub bootstrap: PathBuf,
    /// `AWS_MAX_ATTEMPTS` for the deployer.
    pub max_attempts: u32,
    /// Snapshot of others' resources taken after the fixtures were made.
    pub foreign: Foreign,
}

impl World {
    /// A fresh moto with every fixture, the proxy (no faults), `APP_V1` in the project directory.
    pub async fn new() -> World {
        let moto = Moto::start();
        let proxy = FaultProxy::start(&moto.endpoint());
        let aws = moto.clients().await;
        let dir = tempfile::tempdir().expect("project dir");
        let bootstrap = dir.path().join("bootstrap.bin");
        std::fs::write(&bootstrap, bootstrap_bytes("v1")).expect("write bootstrap");
        std::fs::write(dir.path().join("events.chalice"), APP_V1).expect("write app");
        create_fixtures(&aws).await;
        let foreign = foreign_snapshot(&aws).await;
        World {
            moto,
            proxy,
            aws,
            dir,
            bootstrap,
            max_attempts: 2,
            foreign,
        }
    }

    pub fn write_app(&self, source: &str) {
        std::fs::write(self.dir.path().join("events.chalice"), source).expect("write app");
    }

    /// Replaces the bootstrap binary (a new code hash).
    pub fn write_bootstrap(&self, version: &str) {
        std::fs::write(&self.bootstrap, bootstrap_bytes(version)).expect("write bootstrap");
    }

    pub fn package(&self) -> CodePackage {
        CodePackage::from_file(&self.bootstrap).expect("package bootstrap")
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir
            .path()
            .join(".chalice/deployed")
            .join(format!("{STAGE}.json"))
    }

    /// The `deployer` command, pointed at the proxy, in the project directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deployer"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        self.moto.configure(&mut cmd);
        cmd.env("AWS_ENDPOINT_URL", self.proxy.endpoint())
            .env("AWS_MAX_ATTEMPTS", self.max_attempts.to_string())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        cmd
    }

    /// Starts `deployer ARGS`; the proxy's log restarts with it.
    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_command(args, self.command(args))
    }

    pub fn spawn_command(&self, args: &[&str], mut cmd: Command) -> Running {
        self.proxy.reset();
        let out_dir = tempfile::tempdir().expect("output dir");
        let (out, err) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
        cmd.stdout(File::create(&out).expect("stdout file"))
            .stderr(File::create(&err).expect("stderr file"));
        let child = cmd.spawn().expect("run deployer");
        Running {
            child,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            started: Instant::now(),
            out,
            err,
            _out_dir: out_dir,
        }
    }

    /// Runs `deployer ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        let running = self.spawn(args);
        running.finish(self)
    }

    pub fn run_command(&self, args: &[&str], cmd: Command) -> Run {
        self.spawn_command(args, cmd).finish(self)
    }

    pub fn deploy(&self) -> Run {
        let bootstrap = self.bootstrap.display().to_string();
        self.run(&["deploy", "--yes", "--bootstrap", &bootstrap])
    }

    pub fn deploy_args(&self) -> Vec<String> {
        ["deploy", "--yes", "--bootstrap"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([self.bootstrap.display().to_string()])
            .collect()
    }

    /// `deployer plan --bootstrap FILE`: the plan a deploy with this bootstrap would apply.
    pub fn plan(&self) -> Run {
        let bootstrap = self.bootstrap.display().to_string();
        self.run(&["plan", "--bootstrap", &bootstrap])
    }

    pub fn delete(&self) -> Run {
        self.run(&["delete", "--yes"])
    }

    /// Everything wrong with what is deployed, compared with `source`'s plan and the fixtures.
    pub async fn problems(&self, source: &str) -> Vec<String> {
        let plan = plan_of(source);
        let mut p = Problems::default();
        check_deployed(&self.aws, &plan, &self.package(), &mut p).await;
        self.check_foreign(&mut p).await;
        p.0
    }

    /// Panics listing everything wrong with what is deployed for `source`.
    pub async fn assert_deployed(&self, source: &str, after: &Run) {
        let problems = self.problems(source).await;
        assert!(
            problems.is_empty(),
            "{} problem(s) after {}:\n  {}\n\nthe run:\n{}",
            problems.len(),
            after.args.join(" "),
            problems.join("\n  "),
            after.describe()
        );
    }

    /// Everything of the app that is still there (after `delete`), or others' resources that changed.
    pub async fn leftovers(&self) -> Vec<String> {
        let mut p = Problems::default();
        check_nothing_deployed(&self.aws, &mut p).await;
        self.check_foreign(&mut p).await;
        p.0
    }

    pub async fn assert_nothing_deployed(&self, after: &Run) {
        let leftovers = self.leftovers().await;
        assert!(
            leftovers.is_empty(),
            "{} leftover(s) after {}:\n  {}\n\nthe run:\n{}",
            leftovers.len(),
            after.args.join(" "),
            leftovers.join("\n  "),
            after.describe()
        );
    }

    async fn check_foreign(&self, p: &mut Problems) {
        let now = foreign_snapshot(&self.aws).await;
        if now != self.foreign {
            p.push(format!(
                "others' resources changed:\n    before: {:?}\n    after:  {:?}",
                self.foreign, now
            ));
        }
    }
}

/// A `deployer` process still running.
pub struct Running {
    pub child: Child,
    pub args: Vec<String>,
    started: Instant,
    out: PathBuf,
    err: PathBuf,
    _out_dir: tempfile::TempDir,
}

impl Running {
    /// Whether it has exited (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL (no chance to clean up).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits for the end (killing it after [`RUN_TIMEOUT`]) and collects its output and calls.
    pub fn finish(mut self, world: &World) -> Run {
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if self.started.elapsed() > RUN_TIMEOUT {
                self.kill();
                let _ = self.child.wait();
                panic!(
                    "`deployer {}` still running after {RUN_TIMEOUT:?}; stderr so far:\n{}",
                    self.args.join(" "),
                    std::fs::read_to_string(&self.err).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            args: self.args.clone(),
            code: status.code(),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
            log: world.proxy.log(),
            elapsed: self.started.elapsed(),
        }
    }
}

/// A stand-in bootstrap: moto stores function code without running it.
pub fn bootstrap_bytes(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\n# deploy_suite stand-in bootstrap {version}: moto never runs it\nexit 0\n")
        .into_bytes()
}

/// Collected problems: every check runs, the test reports them all at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn push(&mut self, problem: String) {
        self.0.push(problem);
    }

    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
}

/// Creates the event sources and others' resources every world has.
pub async fn create_fixtures(aws: &Clients) {
    let foreign_queue_url = create_queue(aws, FOREIGN_QUEUE, 30).await;
    for q in QUEUES {
        create_queue(aws, q, 360).await;
    }
    create_queue(aws, SHORT_QUEUE, 30).await;
    let _ = foreign_queue_url;

    // The bucket, with someone else's notification entry.
    aws.s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create bucket");
    let foreign_entry = QueueConfiguration::builder()
        .id(FOREIGN_NOTIFICATION_ID)
        .queue_arn(queue_arn(FOREIGN_QUEUE))
        .events(Event::from("s3:ObjectRemoved:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(
                            FilterRule::builder()
                                .name(FilterRuleName::Prefix)
                                .value("other/")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .expect("queue configuration");
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(foreign_entry)
                .build(),
        )
        .send()
        .await
        .expect("foreign bucket notification");

    // Topics, the first with someone else's (SQS) subscription.
    for t in TOPICS {
        aws.sns
            .create_topic()
            .name(t)
            .send()
            .await
            .expect("create topic");
    }
    aws.sns
        .subscribe()
        .topic_arn(topic_arn(TOPICS[0]))
        .protocol("sqs")
        .endpoint(queue_arn(FOREIGN_QUEUE))
        .send()
        .await
        .expect("foreign subscription");

    for s in STREAMS {
        aws.kinesis
            .create_stream()
            .stream_name(s)
            .shard_count(1)
            .send()
            .await
            .expect("create stream");
    }
    for t in TABLES {
        create_table(aws, t).await;
    }
    aws.eventbridge
        .create_event_bus()
        .name(BUS)
        .send()
        .await
        .expect("create bus");

    // Someone else's function, consuming the app's queue, invoked by its own rule.
    aws.iam
        .create_role()
        .role_name(FOREIGN_ROLE)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("foreign role");
    let zip = CodePackage::from_binary(b"someone else's code")
        .expect("zip")
        .zip;
    aws.lambda
        .create_function()
        .function_name(FOREIGN_FUNCTION)
        .runtime(Runtime::Providedal2023)
        .handler("foreign")
        .role(format!(
            "arn:aws:iam::{}:role/{FOREIGN_ROLE}",
            moto::ACCOUNT
        ))
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .expect("foreign function");
    aws.lambda
        .create_event_source_mapping()
        .function_name(FOREIGN_FUNCTION)
        .event_source_arn(queue_arn(QUEUES[0]))
        .batch_size(7)
        .send()
        .await
        .expect("foreign mapping");
    aws.eventbridge
        .put_rule()
        .name(FOREIGN_RULE)
        .schedule_expression("rate(5 minutes)")
        .send()
        .await
        .expect("foreign rule");
    aws.eventbridge
        .put_targets()
        .rule(FOREIGN_RULE)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("foreign-target")
                .arn(function_arn(FOREIGN_FUNCTION))
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("foreign target");
}

async fn create_queue(aws: &Clients, name: &str, visibility_timeout_s: u32) -> String {
    aws.sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_timeout_s.to_string(),
        )
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_owned()
}

async fn create_table(aws: &Clients, name: &str) {
    aws.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream spec"),
        )
        .send()
        .await
        .expect("create table");
}

/// A table's latest stream ARN (it carries a timestamp: read it, never guess it).
pub async fn table_stream_arn(aws: &Clients, table: &str) -> String {
    aws.dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table")
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("table has a stream")
        .to_owned()
}

pub async fn foreign_snapshot(aws: &Clients) -> Foreign {
    let notification = aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket notification");
    let mut subscriptions = Vec::new();
    for t in TOPICS {
        for s in list_subscriptions(aws, &topic_arn(t)).await {
            if s.protocol() != Some("lambda") {
                subscriptions.push((
                    t.to_owned(),
                    s.subscription_arn().unwrap_or_default().to_owned(),
                    s.protocol().unwrap_or_default().to_owned(),
                    s.endpoint().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    let mut queues = BTreeMap::new();
    for q in QUEUES.iter().chain([&SHORT_QUEUE, &FOREIGN_QUEUE]) {
        queues.insert((*q).to_owned(), queue_attributes(aws, q).await);
    }
    let mappings = list_mappings(aws)
        .await
        .into_iter()
        .filter(|m| m.function_arn() == Some(function_arn(FOREIGN_FUNCTION).as_str()))
        .map(|m| {
            (
                m.uuid().unwrap_or_default().to_owned(),
                m.event_source_arn().unwrap_or_default().to_owned(),
                m.batch_size(),
            )
        })
        .collect();
    let function_sha = aws
        .lambda
        .get_function()
        .function_name(FOREIGN_FUNCTION)
        .send()
        .await
        .ok()
        .and_then(|f| {
            f.configuration()
                .and_then(|c| c.code_sha256())
                .map(str::to_owned)
        });
    let rule_targets = match aws
        .eventbridge
        .list_targets_by_rule()
        .rule(FOREIGN_RULE)
        .send()
        .await
    {
        Ok(out) => out
            .targets()
            .iter()
            .map(|t| (t.id().to_owned(), t.arn().to_owned()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let role_exists = aws
        .iam
        .get_role()
        .role_name(FOREIGN_ROLE)
        .send()
        .await
        .is_ok();
    Foreign {
        queue_configurations: notification.queue_configurations().to_vec(),
        topic_configurations: notification.topic_configurations().to_vec(),
        other_lambda_configurations: notification
            .lambda_function_configurations()
            .iter()
            .filter(|c| {
                !c.lambda_function_arn()
                    .contains(&format!(":function:{PREFIX}"))
            })
            .cloned()
            .collect(),
        subscriptions,
        queues,
        mappings,
        function_sha,
        rule_targets,
        role_exists,
    }
}

async fn queue_attributes(aws: &Clients, name: &str) -> BTreeMap<String, String> {
    let url = match aws.sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => out.queue_url().unwrap_or_default().to_owned(),
        Err(_) => return BTreeMap::from([("missing".to_owned(), name.to_owned())]),
    };
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes");
    attrs
        .attributes()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.as_str().starts_with("Approximate"))
        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
        .collect()
}

pub async fn list_subscriptions(
    aws: &Clients,
    topic_arn: &str,
) -> Vec<aws_sdk_sns::types::Subscription> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("list subscriptions");
        all.extend(out.subscriptions().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return all,
        }
    }
}

pub async fn list_mappings(
    aws: &Clients,
) -> Vec<aws_sdk_lambda::types::EventSourceMappingConfiguration> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .lambda
            .list_event_source_mappings()
            .set_marker(marker.clone())
            .send()
            .await
            .expect("list mappings");
        all.extend(out.event_source_mappings().iter().cloned());
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => return all,
        }
    }
}

/// Names of the functions whose name starts with `prefix`.
pub async fn function_names(aws: &Clients, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .lambda
            .list_functions()
            .set_marker(marker.clone())
            .send()
            .await
            .expect("list functions");
        names.extend(
            out.functions()
                .iter()
                .filter_map(|f| f.function_name())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_owned),
        );
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => return names,
        }
    }
}

/// Names of the rules on `bus` whose name starts with `prefix`.
pub async fn rule_names(aws: &Clients, bus: Option<&str>, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .eventbridge
            .list_rules()
            .name_prefix(prefix)
            .set_event_bus_name(bus.map(str::to_owned))
            .set_next_token(token.clone())
            .send()
            .await
            .expect("list rules");
        names.extend(
            out.rules()
                .iter()
                .filter_map(|r| r.name())
                .map(str::to_owned),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return names,
        }
    }
}

/// A policy document as IAM returns it (URL-encoded) or as Lambda does (plain JSON), parsed.
pub fn parse_policy(document: &str) -> Value {
    let text = if document.trim_start().starts_with('{') {
        document.to_owned()
    } else {
        percent_decode(document)
    };
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("policy document is not JSON ({e}): {text}"))
}

/// A policy field that may be a string or a list of strings, as a set.
pub fn string_set(v: Option<&Value>) -> BTreeSet<String> {
    match v {
        Some(Value::String(s)) => BTreeSet::from([s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The value of `key` (case-insensitive) under any operator of a statement's `Condition`.
pub fn condition_value(statement: &Value, key: &str) -> Option<String> {
    let condition = statement.get("Condition")?.as_object()?;
    condition.values().find_map(|op| {
        op.as_object()?.iter().find_map(|(k, v)| {
            if k.eq_ignore_ascii_case(key) {
                match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(a) => a.first().and_then(|s| s.as_str()).map(str::to_owned),
                    _ => None,
                }
            } else {
                None
            }
        })
    })
}

fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn principal_service(statement: &Value) -> BTreeSet<String> {
    match statement.get("Principal") {
        Some(Value::Object(p)) => string_set(p.get("Service")),
        Some(Value::String(s)) => BTreeSet::from([s.clone()]),
        _ => BTreeSet::new(),
    }
}

/// Every check of `plan` against moto: role, functions, rules, permissions, bucket entries,
/// subscriptions and mappings, each exactly once, and nothing of the app that the plan does not have.
pub async fn check_deployed(aws: &Clients, plan: &Plan, code: &CodePackage, p: &mut Problems) {
    let ctx = context();
    let account = moto::ACCOUNT;
    let role_arn = format!("arn:aws:iam::{account}:role/{}", plan.role.name);

    // Role: trust, tags, exactly the plan's inline policy.
    match aws.iam.get_role().role_name(&plan.role.name).send().await {
        Err(e) => p.push(format!(
            "role {}: {}",
            plan.role.name,
            chalice_deployer::aws::error_code(&e).unwrap_or("error")
        )),
        Ok(out) => {
            let trust = out
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .map(parse_policy)
                .unwrap_or(Value::Null);
            let trusted = statements(&trust).iter().any(|s| {
                principal_service(s).contains("lambda.amazonaws.com")
                    && string_set(s.get("Action")).contains("sts:AssumeRole")
            });
            if !trusted {
                p.push(format!(
                    "role {} does not let lambda.amazonaws.com assume it: {trust}",
                    plan.role.name
                ));
            }
            let tags = aws
                .iam
                .list_role_tags()
                .role_name(&plan.role.name)
                .send()
                .await
                .expect("role tags");
            let tags: BTreeMap<String, String> = tags
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            for (k, v) in &plan.tags {
                p.eq(&format!("role tag {k}"), tags.get(k), Some(v));
            }
            let names = aws
                .iam
                .list_role_policies()
                .role_name(&plan.role.name)
                .send()
                .await
                .expect("role policies");
            p.eq(
                "role inline policies",
                names.policy_names().to_vec(),
                vec![plan.role.policy_name.clone()],
            );
            match aws
                .iam
                .get_role_policy()
                .role_name(&plan.role.name)
                .policy_name(&plan.role.policy_name)
                .send()
                .await
            {
                Err(e) => p.push(format!("role policy: {e:?}")),
                Ok(out) => {
                    let doc = parse_policy(out.policy_document());
                    let got: BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)> =
                        statements(&doc)
                            .iter()
                            .map(|s| {
                                (
                                    s.get("Sid")
                                        .and_then(Value::as_str)
                                        .unwrap_or("")
                                        .to_owned(),
                                    (
                                        s.get("Effect")
                                            .and_then(Value::as_str)
                                            .unwrap_or("")
                                            .to_owned(),
                                        string_set(s.get("Action")),
                                        string_set(s.get("Resource")),
                                    ),
                                )
                            })
                            .collect();
                    let want: BTreeMap<String, (String, BTreeSet<String>, BTreeSet<String>)> = plan
                        .role
                        .statements
                        .iter()
                        .map(|s| {
                            (
                                s.sid.clone(),
                                (
                                    "Allow".to_owned(),
                                    s.actions.iter().cloned().collect(),
                                    s.resources.iter().map(|r| r.resolve(&ctx)).collect(),
                                ),
                            )
                        })
                        .collect();
                    p.eq(
                        "role policy statements (sid → effect, actions, resources)",
                        got,
                        want,
                    );
                }
            }
        }
    }

    // Functions: exactly the plan's, each configured as planned, running this bootstrap.
    let live = function_names(aws, PREFIX).await;
    let planned: BTreeSet<String> = plan.functions.iter().map(|f| f.name.clone()).collect();
    p.eq("functions named suite-dev-*", &live, &planned);
    for f in &plan.functions {
        let Ok(out) = aws
            .lambda
            .get_function()
            .function_name(&f.name)
            .send()
            .await
        else {
            continue; // reported above
        };
        let Some(c) = out.configuration() else {
            p.push(format!("{}: GetFunction has no configuration", f.name));
            continue;
        };
        let n = &f.name;
        p.eq(
            &format!("{n} runtime"),
            c.runtime().map(|r| r.as_str()),
            Some(f.runtime.as_str()),
        );
        p.eq(
            &format!("{n} handler"),
            c.handler(),
            Some(f.handler.as_str()),
        );
        p.eq(&format!("{n} role"), c.role(), Some(role_arn.as_str()));
        p.eq(
            &format!("{n} memory"),
            c.memory_size(),
            Some(f.memory_mb as i32),
        );
        p.eq(
            &format!("{n} timeout"),
            c.timeout(),
            Some(f.timeout_s as i32),
        );
        p.eq(
            &format!("{n} architectures"),
            c.architectures()
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
            vec![f.architecture.as_str()],
        );
        let env: BTreeMap<String, String> = c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        p.eq(&format!("{n} environment"), env, f.env.clone());
        p.eq(
            &format!("{n} CodeSha256"),
            c.code_sha256(),
            Some(code.code_sha256.as_str()),
        );
        let tags: BTreeMap<String, String> = out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        p.eq(&format!("{n} tags"), tags, f.tags.clone());
        p.eq(
            &format!("{n} reserved concurrency"),
            out.concurrency()
                .and_then(|c| c.reserved_concurrent_executions()),
            f.reserved_concurrency.map(|c| c as i32),
        );
    }

    // Rules: exactly the plan's on each bus, each with its one target.
    for bus in [None, Some(BUS)] {
        let live = rule_names(aws, bus, PREFIX).await;
        let planned: BTreeSet<String> = plan
            .rules
            .iter()
            .filter(|r| r.event_bus.as_deref() == bus)
            .map(|r| r.name.clone())
            .collect();
        p.eq(
            &format!(
                "rules named suite-dev-* on bus {}",
                bus.unwrap_or("default")
            ),
            live,
            planned,
        );
    }
    for r in &plan.rules {
        let bus = r.event_bus.clone();
        let Ok(d) = aws
            .eventbridge
            .describe_rule()
            .name(&r.name)
            .set_event_bus_name(bus.clone())
            .send()
            .await
        else {
            continue; // reported above
        };
        let n = &r.name;
        p.eq(
            &format!("rule {n} ARN"),
            d.arn().map(str::to_owned),
            Some(r.arn.resolve(&ctx)),
        );
        p.eq(
            &format!("rule {n} schedule"),
            d.schedule_expression(),
            r.schedule_expression.as_deref(),
        );
        let pattern = |s: Option<&str>| {
            s.map(|s| serde_json::from_str::<Value>(s).unwrap_or(Value::String(s.to_owned())))
        };
        p.eq(
            &format!("rule {n} pattern"),
            pattern(d.event_pattern()),
            pattern(r.event_pattern.as_deref()),
        );
        p.eq(
            &format!("rule {n} description"),
            d.description().filter(|s| !s.is_empty()),
            r.description.as_deref(),
        );
        p.eq(
            &format!("rule {n} state"),
            d.state().map(|s| s.as_str()),
            Some("ENABLED"),
        );
        let targets = aws
            .eventbridge
            .list_targets_by_rule()
            .rule(&r.name)
            .set_event_bus_name(bus.clone())
            .send()
            .await
            .expect("rule targets");
        let targets: Vec<(String, String)> = targets
            .targets()
            .iter()
            .map(|t| (t.id().to_owned(), t.arn().to_owned()))
            .collect();
        let function = plan.function(&r.function).expect("rule's function");
        p.eq(
            &format!("rule {n} targets"),
            targets,
            vec![(r.target_id.clone(), function.arn.resolve(&ctx))],
        );
        if let Some(arn) = d.arn() {
            let tags = aws
                .eventbridge
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .expect("rule tags");
            let tags: BTreeMap<String, String> = tags
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            for (k, v) in &plan.tags {
                p.eq(&format!("rule {n} tag {k}"), tags.get(k), Some(v));
            }
        }
    }

    // Permissions: per function exactly the plan's statements, each once, with its conditions.
    for f in &plan.functions {
        let wanted: Vec<_> = plan
            .permissions
            .iter()
            .filter(|x| x.function == f.handler)
            .collect();
        let policy = match aws.lambda.get_policy().function_name(&f.name).send().await {
            Ok(out) => out.policy().map(parse_policy).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        let got = statements(&policy);
        let sids: Vec<String> = got
            .iter()
            .map(|s| {
                s.get("Sid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        let mut want_sids: Vec<String> = wanted.iter().map(|x| x.statement_id.clone()).collect();
        let mut got_sids = sids.clone();
        got_sids.sort();
        want_sids.sort();
        p.eq(
            &format!("{} permission statement ids", f.name),
            got_sids,
            want_sids,
        );
        for w in wanted {
            let Some(s) = got
                .iter()
                .find(|s| s.get("Sid").and_then(Value::as_str) == Some(&w.statement_id))
            else {
                continue;
            };
            let what = format!("{} permission {}", f.name, w.statement_id);
            p.eq(
                &format!("{what} effect"),
                s.get("Effect").and_then(Value::as_str),
                Some("Allow"),
            );
            p.eq(
                &format!("{what} principal"),
                principal_service(s),
                BTreeSet::from([w.principal.clone()]),
            );
            p.eq(
                &format!("{what} action"),
                string_set(s.get("Action")),
                BTreeSet::from(["lambda:InvokeFunction".to_owned()]),
            );
            p.eq(
                &format!("{what} resource"),
                string_set(s.get("Resource")),
                BTreeSet::from([f.arn.resolve(&ctx)]),
            );
            p.eq(
                &format!("{what} AWS:SourceArn"),
                condition_value(s, "AWS:SourceArn"),
                Some(w.source_arn.resolve(&ctx)),
            );
            p.eq(
                &format!("{what} AWS:SourceAccount"),
                condition_value(s, "AWS:SourceAccount"),
                w.source_account.then(|| account.to_owned()),
            );
        }
    }

    // Bucket notifications: ours exactly the plan's (others' are compared by the foreign snapshot).
    let notification = aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket notification");
    let ours: Vec<&LambdaFunctionConfiguration> = notification
        .lambda_function_configurations()
        .iter()
        .filter(|c| {
            c.lambda_function_arn()
                .contains(&format!(":function:{PREFIX}"))
        })
        .collect();
    let mut got_ids: Vec<String> = ours
        .iter()
        .map(|c| c.id().unwrap_or("").to_owned())
        .collect();
    let mut want_ids: Vec<String> = plan
        .bucket_notifications
        .iter()
        .filter(|b| b.bucket == BUCKET)
        .map(|b| b.notification_id.clone())
        .collect();
    got_ids.sort();
    want_ids.sort();
    p.eq(
        &format!("{BUCKET} notification ids of the app's functions"),
        got_ids,
        want_ids,
    );
    for b in &plan.bucket_notifications {
        let Some(c) = ours
            .iter()
            .find(|c| c.id() == Some(b.notification_id.as_str()))
        else {
            continue;
        };
        let what = format!("{BUCKET} notification {}", b.notification_id);
        let function = plan.function(&b.function).expect("notification's function");
        p.eq(
            &format!("{what} function"),
            c.lambda_function_arn().to_owned(),
            function.arn.resolve(&ctx),
        );
        p.eq(
            &format!("{what} events"),
            c.events()
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect::<BTreeSet<_>>(),
            b.events.iter().cloned().collect(),
        );
        let rules: BTreeMap<String, String> = c
            .filter()
            .and_then(|f| f.key())
            .map(|k| {
                k.filter_rules()
                    .iter()
                    .map(|r| {
                        (
                            r.name()
                                .map(|n| n.as_str().to_lowercase())
                                .unwrap_or_default(),
                            r.value().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut want = BTreeMap::new();
        if let Some(prefix) = &b.prefix {
            want.insert("prefix".to_owned(), prefix.clone());
        }
        if let Some(suffix) = &b.suffix {
            want.insert("suffix".to_owned(), suffix.clone());
        }
        p.eq(&format!("{what} filter rules"), rules, want);
    }

    // Subscriptions: per topic, the app's lambda subscriptions are exactly the plan's, once each.
    for t in TOPICS {
        let arn = topic_arn(t);
        let mut got: Vec<String> = list_subscriptions(aws, &arn)
            .await
            .iter()
            .filter(|s| {
                s.endpoint()
                    .is_some_and(|e| e.contains(&format!(":function:{PREFIX}")))
            })
            .map(|s| {
                format!(
                    "{} {}",
                    s.protocol().unwrap_or(""),
                    s.endpoint().unwrap_or("")
                )
            })
            .collect();
        let mut want: Vec<String> = plan
            .subscriptions
            .iter()
            .filter(|s| s.topic_arn.resolve(&ctx) == arn)
            .map(|s| {
                format!(
                    "lambda {}",
                    plan.function(&s.function)
                        .expect("function")
                        .arn
                        .resolve(&ctx)
                )
            })
            .collect();
        got.sort();
        want.sort();
        p.eq(
            &format!("subscriptions of the app's functions on {t}"),
            got,
            want,
        );
    }

    // Mappings: every mapping of an app function is a planned (function, source), once each.
    let mappings = list_mappings(aws).await;
    let mut want: Vec<(String, String)> = Vec::new();
    for m in &plan.event_source_mappings {
        let source = match &m.source {
            MappingSource::Queue { arn }
            | MappingSource::Stream { arn }
            | MappingSource::TableStream { arn } => arn.resolve(&ctx),
            MappingSource::Table { table } => table_stream_arn(aws, table).await,
        };
        let function = plan.function(&m.function).expect("mapping's function");
        want.push((function.arn.resolve(&ctx), source.clone()));
        let found: Vec<_> = mappings
            .iter()
            .filter(|x| {
                x.function_arn() == Some(function.arn.resolve(&ctx).as_str())
                    && x.event_source_arn() == Some(&source)
            })
            .collect();
        let Some(x) = found.first() else { continue };
        let what = format!("mapping {} ← {source}", function.name);
        p.eq(
            &format!("{what} batch size"),
            x.batch_size(),
            Some(m.batch_size as i32),
        );
        let window = x.maximum_batching_window_in_seconds().filter(|w| *w != 0);
        p.eq(
            &format!("{what} batching window"),
            window,
            m.batching_window_s.map(|w| w as i32),
        );
        p.eq(
            &format!("{what} starting position"),
            x.starting_position().map(|s| s.as_str().to_owned()),
            m.starting_position.clone(),
        );
        p.eq(
            &format!("{what} ReportBatchItemFailures"),
            x.function_response_types()
                .iter()
                .any(|t| t.as_str() == "ReportBatchItemFailures"),
            m.report_batch_item_failures,
        );
        p.eq(
            &format!("{what} maximum concurrency"),
            x.scaling_config().and_then(|s| s.maximum_concurrency()),
            m.maximum_concurrency.map(|c| c as i32),
        );
    }
    let mut got: Vec<(String, String)> = mappings
        .iter()
        .filter(|x| {
            x.function_arn()
                .is_some_and(|a| a.contains(&format!(":function:{PREFIX}")))
        })
        .map(|x| {
            (
                x.function_arn().unwrap_or("").to_owned(),
                x.event_source_arn().unwrap_or("").to_owned(),
            )
        })
        .collect();
    got.sort();
    want.sort();
    p.eq(
        "mappings of the app's functions (function, source)",
        got,
        want,
    );
}

/// Nothing of the app left: no function, role, rule, bucket entry, subscription, mapping, artifact
/// bucket or state record.
pub async fn check_nothing_deployed(aws: &Clients, p: &mut Problems) {
    let functions = function_names(aws, PREFIX).await;
    if !functions.is_empty() {
        p.push(format!("functions left: {functions:?}"));
    }
    if aws
        .iam
        .get_role()
        .role_name(format!("{APP}-{STAGE}"))
        .send()
        .await
        .is_ok()
    {
        p.push(format!("role {APP}-{STAGE} left"));
    }
    for bus in [None, Some(BUS)] {
        let rules = rule_names(aws, bus, PREFIX).await;
        if !rules.is_empty() {
            p.push(format!(
                "rules left on bus {}: {rules:?}",
                bus.unwrap_or("default")
            ));
        }
    }
    let notification = aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket notification");
    let ours: Vec<_> = notification
        .lambda_function_configurations()
        .iter()
        .filter(|c| {
            c.lambda_function_arn()
                .contains(&format!(":function:{PREFIX}"))
        })
        .map(|c| c.id().unwrap_or("").to_owned())
        .collect();
    if !ours.is_empty() {
        p.push(format!("bucket notification entries left: {ours:?}"));
    }
    for t in TOPICS {
        let left: Vec<_> = list_subscriptions(aws, &topic_arn(t))
            .await
            .into_iter()
            .filter(|s| {
                s.endpoint()
                    .is_some_and(|e| e.contains(&format!(":function:{PREFIX}")))
            })
            .map(|s| s.endpoint().unwrap_or("").to_owned())
            .collect();
        if !left.is_empty() {
            p.push(format!("subscriptions left on {t}: {left:?}"));
        }
    }
    let left: Vec<_> = list_mappings(aws)
        .await
        .into_iter()
        .filter(|m| {
            m.function_arn()
                .is_some_and(|a| a.contains(&format!(":function:{PREFIX}")))
        })
        .map(|m| {
            format!(
                "{} ← {}",
                m.function_arn().unwrap_or(""),
                m.event_source_arn().unwrap_or("")
            )
        })
        .collect();
    if !left.is_empty() {
        p.push(format!("mappings left: {left:?}"));
    }
    let buckets: BTreeSet<String> = aws
        .s3
        .list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name())
        .map(str::to_owned)
        .collect();
    if buckets != BTreeSet::from([BUCKET.to_owned()]) {
        p.push(format!(
            "buckets other than the fixture's are left (the artifacts bucket?): {buckets:?}"
        ));
    }
}

/// Whether `path` holds a deploy record with any resource in it.
pub fn state_has_resources(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<Value>(&text) else {
        return true; // unreadable: not "nothing"
    };
    json.get("resources")
        .and_then(Value::as_object)
        .is_some_and(|r| !r.is_empty())
}
