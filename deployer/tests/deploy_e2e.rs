//! End to end against a private moto server: the example app (DESIGN.md §2) deployed by the `deployer`
//! binary, every resource checked through the SDK, a no-op redeploy with zero writes, `plan` with no
//! changes, `delete` removing everything of the app and nothing else. Needs moto: `scripts/moto.sh`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_deployer::aws::Clients;
use chalice_deployer::project::package::CodePackage;
use serde_json::Value;
use support::moto::{ACCOUNT, Moto, REGION};

/// The example of DESIGN.md §2, as written.
const APP: &str = r#"# events.chalice: the event sources of one app
app orders                               # resources are named <app>-<stage>-<handler>

defaults {                               # function settings; a binding's block may override any of them
    memory  = 256                        # MB
    timeout = 60s
    env { LOG_LEVEL = "info" }
}

stage prod { memory = 512 }              # `deployer deploy --stage prod`

schedule every_hour  rate(1 hour)
schedule nightly     cron(0 2 * * ? *) { description = "Nightly report" }

rule code_commit { pattern = { "source": ["aws.codecommit"] } }     # JSON event pattern

bucket on_upload "mybucket-name" { events = ["s3:ObjectCreated:*"], prefix = "images/", suffix = ".png" }
topic  on_notice "my-demo-topic"                                      # topic name or ARN
queue  on_order  "my-queue" { batch_size = 10, batching_window = 5s }
stream on_click  "mystream" { starting_position = trim_horizon }
table  on_audit  "orders"   { starting_position = latest }            # table name or stream ARN
"#;

const HANDLERS: [&str; 8] = [
    "every_hour",
    "nightly",
    "code_commit",
    "on_upload",
    "on_notice",
    "on_order",
    "on_click",
    "on_audit",
];
const ARTIFACTS: &str = "chalice-rs-artifacts-123456789012-us-east-1";

fn function_arn(handler: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-dev-{handler}")
}

fn topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:my-demo-topic")
}

/// A project directory with the app and a tiny stand-in bootstrap (moto never runs it).
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("events.chalice"), APP).unwrap();
        std::fs::write(dir.path().join("bootstrap"), b"#!/bin/sh\nexit 0\n").unwrap();
        Project { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, moto: &Moto, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deployer"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .env("NO_COLOR", "1");
        moto.configure(&mut cmd);
        let output = cmd.output().unwrap();
        Run {
            args: args.join(" "),
            output,
        }
    }

    /// `deploy --yes --bootstrap bootstrap --calls FILE`, its report parsed.
    fn deploy(&self, moto: &Moto, report: &str) -> (Run, Value) {
        let calls = self.path(report);
        let run = self.run(
            moto,
            &[
                "deploy",
                "--yes",
                "--bootstrap",
                "bootstrap",
                "--calls",
                calls.to_str().unwrap(),
            ],
        );
        let report = std::fs::read_to_string(&calls).map(|t| serde_json::from_str(&t).unwrap());
        (run, report.unwrap_or(Value::Null))
    }
}

struct Run {
    args: String,
    output: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn describe(&self) -> String {
        format!(
            "`deployer {}` exited {:?}\n--- stdout\n{}--- stderr\n{}",
            self.args,
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        )
    }

    fn success(&self) -> &Run {
        assert!(self.output.status.success(), "{}", self.describe());
        self
    }

    fn failure(&self) -> &Run {
        assert_eq!(self.output.status.code(), Some(1), "{}", self.describe());
        self
    }
}

/// The example's event sources, plus someone else's queue entry on the bucket.
async fn create_sources(aws: &Clients) {
    aws.s3
        .create_bucket()
        .bucket("mybucket-name")
        .send()
        .await
        .unwrap();
    aws.sns
        .create_topic()
        .name("my-demo-topic")
        .send()
        .await
        .unwrap();
    aws.sqs
        .create_queue()
        .queue_name("my-queue")
        // At least the function timeout (60 s), or AWS refuses the mapping.
        .attributes(QueueAttributeName::VisibilityTimeout, "360")
        .send()
        .await
        .unwrap();
    aws.sqs
        .create_queue()
        .queue_name("theirs")
        .send()
        .await
        .unwrap();
    let theirs = QueueConfiguration::builder()
        .id("someone-else")
        .queue_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:theirs"))
        .events(Event::from("s3:ObjectRemoved:*"))
        .build()
        .unwrap();
    aws.s3
        .put_bucket_notification_configuration()
        .bucket("mybucket-name")
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(theirs)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.kinesis
        .create_stream()
        .stream_name("mystream")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    aws.dynamodb
        .create_table()
        .table_name("orders")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn statements(policy: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(policy).unwrap();
    match &doc["Statement"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Every resource of the example, checked through the SDK.
async fn assert_deployed(aws: &Clients, code: &CodePackage) {
    let role = aws
        .iam
        .get_role()
        .role_name("orders-dev")
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    let tags: BTreeMap<&str, &str> = role
        .role()
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags.get("chalice:app"), Some(&"orders"));
    let policy = aws
        .iam
        .get_role_policy()
        .role_name("orders-dev")
        .policy_name("orders-dev")
        .send()
        .await
        .unwrap();
    let policy = chalice_deployer::aws::parse_policy_document(policy.policy_document()).unwrap();
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        ["Logs", "SqsConsume", "KinesisRead", "DynamodbStreamRead"]
    );

    for h in HANDLERS {
        let name = format!("orders-dev-{h}");
        let f = aws
            .lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let c = f.configuration().unwrap();
        assert_eq!(c.handler(), Some(h));
        assert_eq!(c.runtime().map(|r| r.as_str()), Some("provided.al2023"));
        assert_eq!(c.role(), Some(role_arn.as_str()));
        assert_eq!(c.memory_size(), Some(256));
        assert_eq!(c.timeout(), Some(60));
        assert_eq!(
            c.code_sha256(),
            Some(code.code_sha256.as_str()),
            "{name} runs the bootstrap"
        );
        let env = c.environment().and_then(|e| e.variables()).unwrap();
        assert_eq!(env.get("LOG_LEVEL").map(String::as_str), Some("info"));
        assert_eq!(
            f.tags()
                .and_then(|t| t.get("chalice:stage"))
                .map(String::as_str),
            Some("dev")
        );
    }

    // Rules and their targets.
    for (h, schedule, pattern) in [
        ("every_hour", Some("rate(1 hour)"), None),
        ("nightly", Some("cron(0 2 * * ? *)"), None),
        (
            "code_commit",
            None,
            Some(r#"{"source":["aws.codecommit"]}"#),
        ),
    ] {
        let name = format!("orders-dev-{h}");
        let rule = aws
            .eventbridge
            .describe_rule()
            .name(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(rule.schedule_expression(), schedule);
        let got = rule
            .event_pattern()
            .map(|p| serde_json::from_str::<Value>(p).unwrap());
        assert_eq!(
            got,
            pattern.map(|p| serde_json::from_str::<Value>(p).unwrap())
        );
        let targets = aws
            .eventbridge
            .list_targets_by_rule()
            .rule(&name)
            .send()
            .await
            .unwrap();
        let targets: Vec<(&str, &str)> = targets
            .targets()
            .iter()
            .map(|t| (t.id(), t.arn()))
            .collect();
        assert_eq!(targets, [(name.as_str(), function_arn(h).as_str())]);
    }
    let nightly = aws
        .eventbridge
        .describe_rule()
        .name("orders-dev-nightly")
        .send()
        .await
        .unwrap();
    assert_eq!(nightly.description(), Some("Nightly report"));

    // Permissions: exactly one statement per push source, with its conditions.
    for (h, principal, source) in [
        (
            "every_hour",
            "events.amazonaws.com",
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/orders-dev-every_hour"),
        ),
        (
            "code_commit",
            "events.amazonaws.com",
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/orders-dev-code_commit"),
        ),
        (
            "on_upload",
            "s3.amazonaws.com",
            "arn:aws:s3:::mybucket-name".to_string(),
        ),
        ("on_notice", "sns.amazonaws.com", topic_arn()),
    ] {
        let policy = aws
            .lambda
            .get_policy()
            .function_name(format!("orders-dev-{h}"))
            .send()
            .await
            .unwrap();
        let st = statements(policy.policy().unwrap());
        assert_eq!(st.len(), 1, "{h}: {st:?}");
        assert_eq!(st[0]["Principal"]["Service"], principal);
        assert_eq!(
            st[0]["Condition"]["ArnLike"]["AWS:SourceArn"],
            source.as_str()
        );
        let account = st[0]["Condition"]["StringEquals"]["AWS:SourceAccount"].as_str();
        assert_eq!(account, (h == "on_upload").then_some(ACCOUNT), "{h}");
    }

    // The bucket: ours added, theirs kept.
    let n = aws
        .s3
        .get_bucket_notification_configuration()
        .bucket("mybucket-name")
        .send()
        .await
        .unwrap();
    assert_eq!(n.queue_configurations().len(), 1);
    assert_eq!(n.queue_configurations()[0].id(), Some("someone-else"));
    let ours = n.lambda_function_configurations();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].id(), Some("orders-dev-on_upload"));
    assert_eq!(ours[0].lambda_function_arn(), function_arn("on_upload"));
    let rules: Vec<(String, &str)> = ours[0]
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.name().unwrap().as_str().to_lowercase(),
                r.value().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("prefix".to_string(), "images/"),
            ("suffix".to_string(), ".png")
        ]
    );

    // The subscription.
    let subs = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn())
        .send()
        .await
        .unwrap();
    let subs: Vec<(&str, &str)> = subs
        .subscriptions()
        .iter()
        .map(|s| (s.protocol().unwrap(), s.endpoint().unwrap()))
        .collect();
    assert_eq!(subs, [("lambda", function_arn("on_notice").as_str())]);

    // The mappings, listed by function name.
    let stream = aws
        .dynamodb
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    let table_stream = stream
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    for (h, source, batch, position) in [
        (
            "on_order",
            format!("arn:aws:sqs:{REGION}:{ACCOUNT}:my-queue"),
            10,
            None,
        ),
        (
            "on_click",
            format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/mystream"),
            100,
            Some("TRIM_HORIZON"),
        ),
        ("on_audit", table_stream, 100, Some("LATEST")),
    ] {
        let m = aws
            .lambda
            .list_event_source_mappings()
            .function_name(format!("orders-dev-{h}"))
            .send()
            .await
            .unwrap();
        let m = m.event_source_mappings();
        assert_eq!(m.len(), 1, "{h}: {m:?}");
        assert_eq!(m[0].event_source_arn(), Some(source.as_str()));
        assert_eq!(m[0].batch_size(), Some(batch), "{h}");
        assert_eq!(m[0].starting_position().map(|p| p.as_str()), position);
        assert_eq!(
            m[0].function_response_types().len(),
            1,
            "{h} reports batch item failures"
        );
    }
    let queue = aws
        .lambda
        .list_event_source_mappings()
        .function_name("orders-dev-on_order")
        .send()
        .await
        .unwrap();
    assert_eq!(
        queue.event_source_mappings()[0].maximum_batching_window_in_seconds(),
        Some(5)
    );
}

/// Nothing of the app is left; others' entry on the bucket is.
async fn assert_nothing_deployed(aws: &Clients, state: &Path) {
    for h in HANDLERS {
        let err = aws
            .lambda
            .get_function()
            .function_name(format!("orders-dev-{h}"))
            .send()
            .await;
        assert!(err.is_err(), "function {h} left");
        let left = aws
            .lambda
            .list_event_source_mappings()
            .function_name(format!("orders-dev-{h}"))
            .send()
            .await;
        assert!(
            left.unwrap().event_source_mappings().is_empty(),
            "mappings of {h} left"
        );
    }
    assert!(
        aws.iam
            .get_role()
            .role_name("orders-dev")
            .send()
            .await
            .is_err(),
        "role left"
    );
    let rules = aws
        .eventbridge
        .list_rules()
        .name_prefix("orders-dev-")
        .send()
        .await
        .unwrap();
    assert!(rules.rules().is_empty(), "rules left: {:?}", rules.rules());
    let n = aws
        .s3
        .get_bucket_notification_configuration()
        .bucket("mybucket-name")
        .send()
        .await
        .unwrap();
    assert!(n.lambda_function_configurations().is_empty());
    assert_eq!(
        n.queue_configurations().len(),
        1,
        "someone else's entry is kept"
    );
    let subs = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn())
        .send()
        .await
        .unwrap();
    assert!(subs.subscriptions().is_empty());
    let buckets = aws.s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["mybucket-name"], "the artifacts bucket is gone");
    assert!(!state.exists(), "the deploy record is gone");
}

#[tokio::test]
async fn deploy_redeploy_plan_delete() {
    let moto = Moto::start();
    let aws = moto.clients().await;
    create_sources(&aws).await;
    let project = Project::new();
    let code = CodePackage::from_file(&project.path("bootstrap")).unwrap();
    let state = project.path(".chalice/deployed/dev.json");

    let (run, report) = project.deploy(&moto, "deploy1.json");
    run.success();
    let stdout = run.stdout();
    assert!(
        stdout.contains("Plan: 24 to create, 0 to update, 0 to delete."),
        "{}",
        run.describe()
    );
    let arns: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        arns.contains(&vec![
            "orders-dev-on_audit",
            function_arn("on_audit").as_str()
        ]),
        "{stdout}"
    );
    assert!(
        run.stderr()
            .contains("created lambda_function orders-dev-nightly"),
        "{}",
        run.describe()
    );
    assert_eq!(report["command"], "deploy");
    assert_eq!(report["writes"], 28, "{report:#}");
    assert_deployed(&aws, &code).await;
    // The code was uploaded once, to the artifacts bucket.
    let objects = aws
        .s3
        .list_objects_v2()
        .bucket(ARTIFACTS)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [format!("orders/dev/bootstrap-{}.zip", code.sha256_hex)]
    );
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(recorded["resources"].as_object().unwrap().len(), 24);

    // Nothing changed: zero writes (no upload either), at most about one read per resource.
    let (run, report) = project.deploy(&moto, "deploy2.json");
    run.success();
    assert!(
        run.stdout()
            .contains("No changes. Everything is up to date."),
        "{}",
        run.describe()
    );
    assert_eq!(report["writes"], 0, "{report:#}");
    let reads = report["reads"].as_u64().unwrap();
    assert!(
        reads <= 30,
        "{reads} reads for 24 resources and 5 sources: {report:#}"
    );
    let apply = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "apply");
    assert!(apply.is_none(), "nothing applied: {report:#}");

    let plan = project.run(&moto, &["plan"]);
    plan.success();
    assert_eq!(
        plan.stdout(),
        "No changes. Everything is up to date.\n",
        "{}",
        plan.describe()
    );
    let plan = project.run(&moto, &["plan", "--json", "--bootstrap", "bootstrap"]);
    let json: Value = serde_json::from_str(&plan.success().stdout()).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({"create": 0, "update": 0, "delete": 0})
    );

    let run = project.run(&moto, &["delete", "--yes"]);
    run.success();
    assert!(
        run.stdout()
            .contains("Plan: 0 to create, 0 to update, 24 to delete."),
        "{}",
        run.describe()
    );
    assert_nothing_deployed(&aws, &state).await;

    let again = project.run(&moto, &["delete", "--yes"]);
    assert!(
        again.success().stdout().starts_with("Nothing to delete"),
        "{}",
        again.describe()
    );
}

#[tokio::test]
async fn missing_sources_are_all_reported_and_nothing_is_written() {
    let moto = Moto::start();
    let aws = moto.clients().await;
    // Only a queue, and one AWS would refuse (visibility timeout 30 s < function timeout 60 s).
    aws.sqs
        .create_queue()
        .queue_name("my-queue")
        .send()
        .await
        .unwrap();
    let project = Project::new();
    let (run, report) = project.deploy(&moto, "calls.json");
    run.failure();
    let stderr = run.stderr();
    for expected in [
        "visibility timeout of 30 s, shorter than the 60 s timeout",
        "Kinesis stream `mystream`",
        "DynamoDB table `orders` does not exist",
        "bucket `mybucket-name` does not exist",
        "my-demo-topic` does not exist",
        "nothing was changed",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?}:\n{}",
            run.describe()
        );
    }
    assert_eq!(report["writes"], 0, "{report:#}");
    assert!(!project.path(".chalice/deployed/dev.json").exists());

    // Without --yes and without a terminal, nothing is even read.
    let run = project.run(&moto, &["deploy", "--bootstrap", "bootstrap"]);
    run.failure();
    assert!(run.stderr().contains("pass --yes"), "{}", run.describe());
}
