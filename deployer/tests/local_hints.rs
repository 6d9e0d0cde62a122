//! The commands `deployer local` prints reach moto and do what they say: each runs in `sh` against
//! the sources of the repo's `events.chalice`, and its effect is read back through the SDK.
//! Needs moto (`scripts/moto.sh`) and curl 7.75+; the AWS CLI variant runs when `aws` is on PATH.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_kinesis::types::ShardIteratorType;
use chalice_codegen::ast::Kind;
use chalice_codegen::plan::Plan;
use chalice_deployer::aws::Clients;
use chalice_deployer::local::console::hints::{self, Hint, Style};
use serde_json::Value;
use support::aws::{ACCOUNT, REGION, context, queue_arn, queue_url, topic_arn};
use support::fixtures::{create_queue, create_sources};
use support::moto::Moto;
use support::project::{example_source, plan_of};

const RULE_SINK: &str = "rule-sink";
const NOTICE_SINK: &str = "notice-sink";

fn example_plan() -> Plan {
    plan_of(&example_source())
}

/// The example app's sources, as the deployer (queue, bucket, topic, stream, table, rule) and
/// the runner (an SQS subscription to the topic, an SQS target on the rule) would leave them.
async fn create_example_sources(c: &Clients, plan: &Plan) {
    create_sources(c, plan).await;
    for queue in [NOTICE_SINK, RULE_SINK] {
        create_queue(c, queue, None).await;
    }
    c.sns
        .subscribe()
        .topic_arn(topic_arn("my-demo-topic"))
        .protocol("sqs")
        .endpoint(queue_arn(NOTICE_SINK))
        .send()
        .await
        .unwrap();

    let rule = plan
        .rules
        .iter()
        .find(|r| r.event_pattern.is_some())
        .unwrap();
    c.eventbridge
        .put_rule()
        .name(&rule.name)
        .event_pattern(rule.event_pattern.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    c.eventbridge
        .put_targets()
        .rule(&rule.name)
        .targets(
            Target::builder()
                .id("sink")
                .arn(queue_arn(RULE_SINK))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Runs one hint with `sh -c`; panics with its output when it fails.
fn run(hint: &Hint, moto: &Moto) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&hint.command);
    moto.configure(&mut cmd);
    // The command must name its endpoint itself.
    cmd.env_remove("AWS_ENDPOINT_URL");
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\nstdout: {stdout}\nstderr: {stderr}",
        hint.handler,
        out.status,
        hint.command
    );
    // A JSON or XML error answer still exits 0 with curl: it is caught by the effect checks.
    println!("{}: {}", hint.handler, stdout.trim());
}

/// The bodies of the messages in `queue`, waiting up to a few seconds for the first.
async fn messages(c: &Clients, url: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = c
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let bodies: Vec<String> = out
            .messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect();
        if !bodies.is_empty() || Instant::now() > deadline {
            return bodies;
        }
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Runs every hint of `style` and checks its effect; `object_size` is what the bucket hint puts.
async fn hints_take_effect(style: Style, object_size: i64) {
    let moto = Moto::start();
    let c = moto.clients().await;
    let plan = example_plan();
    create_example_sources(&c, &plan).await;

    let hints = hints::commands(&plan, &context(), &moto.endpoint(), style);
    let kinds: Vec<Kind> = hints.iter().map(|h| h.kind).collect();
    assert_eq!(kinds.len(), plan.functions.len(), "one hint per handler");
    for hint in &hints {
        if hint.kind == Kind::Schedule {
            assert!(hint.command.starts_with("deployer local --fire "));
            continue;
        }
        run(hint, &moto);
    }

    // queue: the order is on the queue.
    let bodies = messages(&c, &queue_url(&moto.endpoint(), "my-queue")).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let order = json(&bodies[0]);
    assert_eq!(order["id"], "o-1001");
    assert_eq!(order["items"][0]["sku"], "BOOK-42");

    // bucket: the object is under the notification's prefix, with its suffix.
    let head =
        c.s3.head_object()
            .bucket("mybucket-name")
            .key("images/example.png")
            .send()
            .await
            .unwrap();
    assert_eq!(head.content_length(), Some(object_size));
    assert_eq!(head.content_type(), Some("image/png"));

    // topic: the message reached the subscribed queue, in SNS's envelope.
    let bodies = messages(&c, &queue_url(&moto.endpoint(), NOTICE_SINK)).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope = json(&bodies[0]);
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(
        envelope["TopicArn"],
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:my-demo-topic")
    );
    assert_eq!(envelope["Subject"], "Order o-1001 shipped");
    assert_eq!(envelope["Message"], "Order o-1001 left the warehouse.");

    // stream: one record, the click as raw JSON bytes.
    let shard = c
        .kinesis
        .get_shard_iterator()
        .stream_name("mystream")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let records = c
        .kinesis
        .get_records()
        .shard_iterator(shard.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    let records = records.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].partition_key(), Some("u-42"));
    let click: Value = serde_json::from_slice(records[0].data().as_ref()).unwrap();
    assert_eq!(click["page"], "/checkout");

    // table: the order row.
    let item = c
        .dynamodb
        .get_item()
        .table_name("orders")
        .key("Id", AttributeValue::S("o-1001".into()))
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(
        item.get("Status"),
        Some(&AttributeValue::S("shipped".into()))
    );

    // rule: the event matched the pattern and reached the rule's queue.
    let bodies = messages(&c, &queue_url(&moto.endpoint(), RULE_SINK)).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let event = json(&bodies[0]);
    assert_eq!(event["source"], "aws.codecommit");
    assert_eq!(event["detail-type"], "CodeCommit Repository State Change");
    assert_eq!(event["detail"]["repositoryName"], "my-repo");
}

#[tokio::test]
async fn curl_hints_reach_moto() {
    hints_take_effect(Style::Curl, 7).await;
}

#[tokio::test]
async fn aws_cli_hints_reach_moto() {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("aws").is_file()));
    if !on_path {
        println!("note: `aws` is not on PATH; the AWS CLI hints were not run");
        return;
    }
    // put-object without --body: an empty object.
    hints_take_effect(Style::AwsCli, 0).await;
}
