//! A deploy-test world: a private moto server, the fault proxy in front of it, a project directory,
//! the event sources three versions of an app bind to (plus others' resources on them), and checks of
//! what is deployed.
//!
//! The `deployer` binary runs with the project directory as its working directory and the proxy as its
//! `AWS_ENDPOINT_URL`; every check reads moto directly (never through the proxy) with the AWS SDK.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use aws_sdk_s3::types::{LambdaFunctionConfiguration, QueueConfiguration, TopicConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_deployer::aws::Clients;
use chalice_deployer::project::package::CodePackage;
use serde_json::Value;

use crate::support::aws::{function_arn, queue_arn, role_arn, topic_arn};
use crate::support::checks::{Problems, check_deployed, check_nothing_deployed};
use crate::support::deployer::{self, Run, Running};
use crate::support::fixtures::{
    create_function, create_queue, create_role, create_sources, put_foreign_queue_entry,
};
use crate::support::inventory::{
    Inventory, Scope, bucket_notifications, list_mappings, list_subscriptions,
};
use crate::support::project::{STAGE, plan_of};
use crate::support::proxied::Proxied;

/// Every resource of the app is named `suite-dev-...`.
pub const PREFIX: &str = "suite-dev-";
/// How long one `deployer` run may take before the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Event sources every test world has (the apps below bind to them).
pub const BUCKET: &str = "suite-uploads";
pub const TOPICS: [&str; 3] = ["suite-notices", "suite-notices-2", "suite-alerts"];
/// Visibility timeout 360 s (6 × the functions' 60 s timeout, as AWS advises).
pub const QUEUES: [&str; 2] = ["suite-orders", "suite-refunds"];
/// Visibility timeout 30 s: shorter than a 60 s function timeout, so AWS refuses a mapping to it.
pub const SHORT_QUEUE: &str = "suite-short";
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

/// One test's world: moto, the proxy, a project directory ([`Proxied`], which it derefs to) with a
/// bootstrap file, the fixtures.
pub struct World {
    pub base: Proxied,
    pub bootstrap: PathBuf,
    /// `AWS_MAX_ATTEMPTS` for the deployer.
    pub max_attempts: u32,
    /// What the checks read: the app's names, and every source any version binds to.
    pub scope: Scope,
    /// Snapshot of others' resources taken after the fixtures were made.
    pub foreign: Foreign,
}

impl Deref for World {
    type Target = Proxied;

    fn deref(&self) -> &Proxied {
        &self.base
    }
}

impl World {
    /// A fresh moto with every fixture, the proxy (no faults), `APP_V1` in the project directory.
    pub async fn new() -> World {
        let base = Proxied::start().await;
        base.project.write_app(APP_V1);
        let bootstrap = base.project.write_fake_bootstrap("bootstrap.bin", "v1");
        let scope = [APP_V2, APP_V3]
            .iter()
            .fold(Scope::of(&plan_of(APP_V1)), |scope, app| {
                scope.and(&Scope::of(&plan_of(app)))
            });
        create_fixtures(&base.aws).await;
        let foreign = foreign_snapshot(&base.aws).await;
        World {
            base,
            bootstrap,
            max_attempts: 2,
            scope,
            foreign,
        }
    }

    pub fn write_app(&self, source: &str) {
        self.project.write_app(source);
    }

    /// Replaces the bootstrap binary (a new code hash), made for the app file as it is now.
    pub fn write_bootstrap(&self, version: &str) {
        let name = self.bootstrap.file_name().expect("bootstrap file name");
        self.project
            .write_fake_bootstrap(&name.to_string_lossy(), version);
    }

    pub fn package(&self) -> CodePackage {
        CodePackage::from_file(&self.bootstrap).expect("package bootstrap")
    }

    pub fn state_file(&self) -> PathBuf {
        self.project.state_file(STAGE)
    }

    /// The `deployer` command, pointed at the proxy, in the project directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.base.command(args);
        cmd.env("AWS_MAX_ATTEMPTS", self.max_attempts.to_string());
        cmd
    }

    /// Starts `deployer ARGS`; the proxy's log restarts with it.
    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_command(self.command(args))
    }

    pub fn spawn_command(&self, cmd: Command) -> Running {
        self.proxy.reset();
        deployer::spawn(cmd)
    }

    /// Waits for `running` to end (see [`RUN_TIMEOUT`]); the run, with the calls it made.
    pub fn finish(&self, running: Running) -> Run {
        let mut run = running.finish(RUN_TIMEOUT);
        run.log = Some(self.proxy.log());
        run
    }

    /// Runs `deployer ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        self.finish(self.spawn(args))
    }

    pub fn run_command(&self, cmd: Command) -> Run {
        self.finish(self.spawn_command(cmd))
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

    /// What is deployed now.
    pub async fn inventory(&self) -> Inventory {
        Inventory::read(&self.aws, &self.scope).await
    }

    /// Everything wrong with what is deployed, compared with `source`'s plan and the fixtures.
    pub async fn problems(&self, source: &str) -> Vec<String> {
        let mut p = Problems::default();
        let inventory = self.inventory().await;
        check_deployed(&inventory, &plan_of(source), &self.package(), &mut p);
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
        check_nothing_deployed(&self.inventory().await, &mut p);
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

/// Creates the event sources of every app version, and others' resources next to them.
pub async fn create_fixtures(aws: &Clients) {
    create_queue(aws, FOREIGN_QUEUE, Some(30)).await;
    for app in [APP_V1, APP_V2, APP_V3] {
        create_sources(aws, &plan_of(app)).await;
    }
    create_queue(aws, SHORT_QUEUE, Some(30)).await;
    // Someone else's entry on the bucket, and someone else's (SQS) subscription on the first topic.
    let foreign_queue = queue_arn(FOREIGN_QUEUE);
    put_foreign_queue_entry(
        aws,
        BUCKET,
        FOREIGN_NOTIFICATION_ID,
        &foreign_queue,
        Some("other/"),
    )
    .await;
    aws.sns
        .subscribe()
        .topic_arn(topic_arn(TOPICS[0]))
        .protocol("sqs")
        .endpoint(&foreign_queue)
        .send()
        .await
        .expect("foreign subscription");
    create_foreign_function(aws).await;
}

/// Someone else's function, consuming the app's queue, invoked by its own rule.
async fn create_foreign_function(aws: &Clients) {
    let role = create_role(aws, FOREIGN_ROLE).await;
    assert_eq!(role, role_arn(FOREIGN_ROLE));
    create_function(
        aws,
        FOREIGN_FUNCTION,
        &role,
        "foreign",
        b"someone else's code",
    )
    .await;
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
    let target = Target::builder()
        .id("foreign-target")
        .arn(function_arn(FOREIGN_FUNCTION))
        .build()
        .expect("target");
    aws.eventbridge
        .put_targets()
        .rule(FOREIGN_RULE)
        .targets(target)
        .send()
        .await
        .expect("foreign target");
}

pub async fn foreign_snapshot(aws: &Clients) -> Foreign {
    let notification = bucket_notifications(aws, BUCKET).await;
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
    let (function_sha, rule_targets, role_exists) = foreign_function(aws).await;
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
        mappings: foreign_mappings(aws).await,
        function_sha,
        rule_targets,
        role_exists,
    }
}

async fn foreign_mappings(aws: &Clients) -> Vec<(String, String, Option<i32>)> {
    list_mappings(aws)
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
        .collect()
}

/// The foreign function's code hash, its rule's targets, whether its role exists.
async fn foreign_function(aws: &Clients) -> (Option<String>, Vec<(String, String)>, bool) {
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
    let role = aws.iam.get_role().role_name(FOREIGN_ROLE).send().await;
    (function_sha, rule_targets, role.is_ok())
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
