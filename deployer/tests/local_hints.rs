//! The `deployer local send HANDLER --sample` lines `deployer local` prints reach moto and do what
//! they say: each runs (the real binary, with no runner: the configured endpoint is moto) against the
//! sources of the repo's `events.chalice`, with the example app's `samples/`, and its effect is read
//! back through the SDK. Needs moto (`scripts/moto.sh`).

mod support;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_kinesis::types::ShardIteratorType;
use chalice_codegen::ast::Kind;
use chalice_codegen::plan::Plan;
use chalice_deployer::aws::Clients;
use chalice_deployer::local::console::hints::{self, Hint, SendCommand};
use serde_json::Value;
use support::aws::{ACCOUNT, REGION, context, queue_arn, queue_url, topic_arn};
use support::deployer;
use support::fixtures::{create_queue, create_sources};
use support::moto::Moto;
use support::project::{example_app, example_source, plan_of};

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

/// Runs one hint's `deployer local send` against moto; its line of stdout, or its failure.
fn run(hint: &Hint, moto: &Moto) -> Result<String, String> {
    let suffix = match hint.kind {
        Kind::Schedule => format!(" local send {}", hint.handler),
        _ => format!(" local send {} --sample", hint.handler),
    };
    let expected = format!("{suffix} --app {}", example_app().display());
    assert!(hint.command.ends_with(&expected), "{}", hint.command);
    let app = example_app();
    let mut cmd = deployer::against(
        moto,
        app.parent().unwrap(),
        &["local", "send", &hint.handler, "--sample"],
    );
    cmd.arg("--app").arg(&app);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(stderr)
    }
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

#[tokio::test]
async fn send_hints_reach_moto() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let plan = example_plan();
    create_example_sources(&c, &plan).await;

    let send = SendCommand::new("deployer local", &example_app(), "dev");
    let hints = hints::commands(&plan, &context(), &send, &|_| true);
    let kinds: Vec<Kind> = hints.iter().map(|h| h.kind).collect();
    assert_eq!(kinds.len(), plan.functions.len(), "one hint per handler");
    for hint in &hints {
        let sent = run(hint, &moto);
        if hint.kind == Kind::Schedule {
            // No runner to fire it: how to.
            let err = sent.unwrap_err();
            assert!(
                err.contains(&format!(
                    "no runner is running for stage dev to fire schedule {0}: start `deployer local --fire {0}`",
                    hint.handler
                )),
                "{err}"
            );
            continue;
        }
        let sent = sent.unwrap_or_else(|e| panic!("{}: {e}", hint.handler));
        println!("{}: {sent}", hint.handler);
        assert!(
            sent.contains(&format!(" at {} (payload: ", moto.endpoint())),
            "{sent}"
        );
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
    // No samples/on_upload.json: the generic content.
    assert_eq!(head.content_length(), Some(22));
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
    assert_eq!(records[0].partition_key(), Some("1"));
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

/// A send to a source that does not exist fails in words: the call, the service's code and message,
/// never the SDK's dump of the answer.
#[tokio::test]
async fn a_send_to_a_missing_source_says_what_aws_said() {
    let moto = Moto::start();
    let plan = example_plan();
    let send = SendCommand::new("deployer local", &example_app(), "dev");
    let hints = hints::commands(&plan, &context(), &send, &|_| true);
    let queue = hints
        .iter()
        .find(|h| h.kind == Kind::Queue)
        .expect("a queue handler");
    let err = run(queue, &moto).unwrap_err();
    assert!(
        err.contains("GetQueueUrl to my-queue failed: AWS.SimpleQueueService.NonExistentQueue"),
        "{err}"
    );
    assert!(!err.contains("Error {") && !err.contains("raw:"), "{err}");
}
