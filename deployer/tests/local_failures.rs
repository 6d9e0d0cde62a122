//! `deployer local`'s filters, retries and on-failure destinations against moto, which stores these
//! settings but runs none of them: queue filters, SNS filter policies, stream retries, bisection and
//! on-failure records, asynchronous retries and invocation records. Needs moto: `scripts/moto.sh`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_s3::primitives::ByteStream;
use chalice_codegen::plan::DestinationKind;
use chalice_deployer::aws::Clients;
use chalice_deployer::local::destinations::{Destination, LocalInvoke, Target};
use chalice_deployer::local::filter::Filters;
use chalice_deployer::local::pollers::asynchronous::AsyncPolicy;
use chalice_deployer::local::pollers::sqs::{QueueSource, Shape};
use chalice_deployer::local::pollers::streams::{
    self, RetryPolicy, StartingPosition, StreamKind, StreamSource, Timing,
};
use chalice_deployer::local::{Delivered, routing as routes};
use serde_json::{Value, json};
use support::aws::{function_arn, queue_arn};
use support::fixtures::{create_bucket, create_queue, create_stream, create_topic};
use support::inventory::messages_left;
use support::moto::{Moto, REGION};
use support::recorder::{Call, PATIENCE, Poller, Recorder};

fn queue_source(url: &str, arn: &str, shape: Shape) -> QueueSource {
    QueueSource {
        queue_url: url.to_owned(),
        queue_arn: arn.to_owned(),
        region: REGION.to_owned(),
        batch_size: 10,
        batching_window: None,
        shape,
        filters: Filters::default(),
        async_policy: None,
    }
}

/// The queue destination `name` (created).
async fn dead_letter_queue(c: &Clients, name: &str) -> (String, Destination) {
    let url = create_queue(c, name, None).await;
    let target = Target::new(DestinationKind::Queue, queue_arn(name), None);
    (url, Destination::new(c.clone(), target))
}

/// Every message that arrives on `url` within `during` (each deleted), bodies parsed.
async fn drain(c: &Clients, url: &str, during: Duration) -> Vec<Value> {
    let deadline = Instant::now() + during;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        let out = c
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            got.push(serde_json::from_str(m.body().unwrap()).unwrap());
            c.sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    got
}

/// The first message to arrive on `url` (within [`PATIENCE`]), body parsed.
async fn first_message(c: &Clients, url: &str) -> (Value, Instant) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let out = c
            .sqs
            .receive_message()
            .queue_url(url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages().first() {
            c.sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            let body = serde_json::from_str(m.body().unwrap()).unwrap();
            return (body, Instant::now());
        }
        assert!(Instant::now() < deadline, "nothing arrived on {url}");
    }
}

// ------------------------------------------------------------------ queues

#[tokio::test]
async fn a_queue_message_outside_the_filter_never_reaches_the_handler_and_is_deleted() {
    let moto = Moto::start();
    let c = moto.clients().await;
    // A 1 s visibility timeout: a message left on the queue would come back at once.
    let url = create_queue(&c, "orders", Some(1)).await;
    let mut source = queue_source(&url, &queue_arn("orders"), Shape::Queue);
    source.filters = Filters::new(&[r#"{"body":{"type":["order"]}}"#.to_owned()]).unwrap();
    for body in [
        r#"{"type":"refund","id":1}"#,
        "type=order (not JSON)",
        r#"{"type":"order","id":2}"#,
    ] {
        c.sqs
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let rec = Recorder::ok();
    let run = Poller::queue(&c, source, rec.clone());
    rec.wait_for("the order", |calls| !calls.is_empty()).await;
    // Past the visibility timeout: nothing comes back, nothing else is delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    run.stop().await;
    let bodies: Vec<String> = rec.calls().iter().flat_map(Call::bodies).collect();
    assert_eq!(bodies, [r#"{"type":"order","id":2}"#]);
    assert_eq!(
        messages_left(&c, &url).await,
        0,
        "filtered messages are deleted"
    );
    let notes = rec.notes();
    let skipped: u32 = notes
        .iter()
        .map(|n| {
            assert!(
                n.starts_with("skipped ") && n.ends_with("from orders (filter)"),
                "{n}"
            );
            n.split(' ').nth(1).unwrap().parse::<u32>().unwrap()
        })
        .sum();
    assert_eq!(skipped, 2, "{notes:?}");
}

// ------------------------------------------------------------------ SNS filter policies

async fn topic_route(c: &Clients, topic: &str, policy: &str, scope: &str) -> (String, QueueSource) {
    let topic_arn = create_topic(c, topic).await;
    let name = routes::route_queue_name("run1", "app", "dev", topic);
    let queue = routes::create_route_queue(c, &name, &topic_arn)
        .await
        .unwrap();
    let sub = routes::subscribe_queue_to_topic(c, &topic_arn, &queue.arn)
        .await
        .unwrap();
    routes::set_filter_policy(c, &sub, policy, scope)
        .await
        .unwrap();
    let shape = Shape::Topic {
        subscription_arn: format!("{topic_arn}:0b7e8a1c-0000-4000-8000-000000000000"),
    };
    (topic_arn, queue_source(&queue.url, &queue.arn, shape))
}

async fn publish(c: &Clients, topic_arn: &str, message: &str, kind: Option<&str>) {
    let mut call = c.sns.publish().topic_arn(topic_arn).message(message);
    if let Some(kind) = kind {
        call = call.message_attributes(
            "kind",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(kind)
                .build()
                .unwrap(),
        );
    }
    call.send().await.unwrap();
}

fn sns_messages(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            c.event["Records"][0]["Sns"]["Message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_sns_message_outside_the_filter_policy_is_not_delivered() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let policy = r#"{"kind":["shipped"]}"#;

    // Scope MessageAttributes (SNS's default): the message's attributes are matched.
    let (topic, source) = topic_route(&c, "notices", policy, "MessageAttributes").await;
    let rec = Recorder::ok();
    let run = Poller::queue(&c, source, rec.clone());
    publish(&c, &topic, "out: lost", Some("lost")).await;
    publish(&c, &topic, "out: no attributes", None).await;
    publish(&c, &topic, "in: shipped", Some("shipped")).await;
    rec.wait_for("the shipped notice", |calls| !calls.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    run.stop().await;
    assert_eq!(sns_messages(&rec.calls()), ["in: shipped"]);

    // Scope MessageBody: the published message (JSON) is matched, not the SNS envelope the
    // runner's queue receives.
    let (topic, source) = topic_route(&c, "bodies", policy, "MessageBody").await;
    let rec = Recorder::ok();
    let run = Poller::queue(&c, source, rec.clone());
    publish(&c, &topic, r#"{"kind":"lost"}"#, Some("shipped")).await;
    publish(&c, &topic, "not JSON", None).await;
    publish(&c, &topic, r#"{"kind":"shipped","id":7}"#, None).await;
    rec.wait_for("the shipped body", |calls| !calls.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    run.stop().await;
    assert_eq!(sns_messages(&rec.calls()), [r#"{"kind":"shipped","id":7}"#]);
}

// ------------------------------------------------------------------ streams

fn fast() -> Timing {
    Timing {
        poll_interval: Duration::from_millis(50),
        idle_poll_interval: Duration::from_millis(50),
        quiet_after: Duration::from_secs(60),
        discovery_interval: Duration::from_millis(500),
        backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(200),
    }
}

fn kinesis(stream_arn: &str, retry: RetryPolicy, on_failure: Option<Destination>) -> StreamSource {
    StreamSource {
        starting_position: StartingPosition::TrimHorizon,
        timing: fast(),
        retry,
        on_failure,
        function_arn: function_arn("app-dev-on_click"),
        ..StreamSource::new(
            StreamKind::Kinesis {
                stream_arn: stream_arn.to_owned(),
            },
            REGION,
        )
    }
}

async fn put(c: &Clients, stream_arn: &str, data: &str) -> String {
    c.kinesis
        .put_record()
        .stream_arn(stream_arn)
        .data(Blob::new(data.as_bytes()))
        .partition_key("pk")
        .send()
        .await
        .unwrap()
        .sequence_number()
        .to_owned()
}

/// Fails every batch holding the record `poison`.
fn poisoned(_: usize, call: &Call) -> Delivered {
    if call.data().iter().any(|d| d == "poison") {
        Delivered::Failed("handler error".into())
    } else {
        Delivered::Ok(Value::Null)
    }
}

#[tokio::test]
async fn a_poison_record_is_retried_then_described_in_the_on_failure_queue_and_the_shard_moves_on()
{
    let moto = Moto::start();
    let c = moto.clients().await;
    let stream = create_stream(&c, "clicks", 1).await;
    let (dead_url, dead) = dead_letter_queue(&c, "clicks-failed").await;
    let poison = put(&c, &stream, "poison").await;
    let retry = RetryPolicy {
        max_retries: Some(1),
        ..RetryPolicy::default()
    };
    let rec = Recorder::scripted(poisoned);
    let run = Poller::stream(&c, kinesis(&stream, retry, Some(dead)), rec.clone());
    let calls = rec
        .wait_for("the first call", |calls| !calls.is_empty())
        .await;
    let first_call = calls[0].at;
    let next = put(&c, &stream, "next-1").await;
    put(&c, &stream, "next-2").await;
    let (record, arrived) = first_message(&c, &dead_url).await;
    assert!(
        arrived - first_call < Duration::from_secs(5),
        "described within seconds"
    );
    let calls = rec
        .wait_for("the next records", |calls| {
            calls.iter().flat_map(Call::data).any(|d| d == "next-2")
        })
        .await;
    run.stop().await;

    // The poison record: invoked, retried once, given up; then the rest of the shard, once.
    let batches: Vec<Vec<String>> = calls.iter().map(Call::data).collect();
    assert_eq!(batches[..2], [vec!["poison"], vec!["poison"]]);
    assert!(
        calls[1].summary.ends_with("(retry 1 of 1)"),
        "{}",
        calls[1].summary
    );
    let rest: Vec<String> = batches[2..].concat();
    assert_eq!(rest, ["next-1", "next-2"]);

    assert_eq!(record["version"], "1.0");
    assert!(record["timestamp"].as_str().unwrap().ends_with('Z'));
    let context = &record["requestContext"];
    assert_eq!(context["condition"], "RetryAttemptsExhausted");
    assert_eq!(context["approximateInvokeCount"], 2);
    assert_eq!(context["functionArn"], function_arn("app-dev-on_click"));
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    let info = &record["KinesisBatchInfo"];
    assert_eq!(info["shardId"], "shardId-000000000000");
    assert_eq!(info["startSequenceNumber"], poison);
    assert_eq!(info["endSequenceNumber"], poison);
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["streamArn"], stream);
    assert!(info["approximateArrivalOfFirstRecord"].is_string());
    assert_ne!(info["startSequenceNumber"], next);
    assert!(
        rec.notes()
            .iter()
            .any(|n| n.starts_with("gave up on 1 record from clicks")
                && n.ends_with("RetryAttemptsExhausted record sent to queue clicks-failed")),
        "{:?}",
        rec.notes()
    );
    assert!(
        drain(&c, &dead_url, Duration::from_millis(500))
            .await
            .is_empty(),
        "once"
    );
}

#[tokio::test]
async fn bisection_isolates_the_poison_record() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let stream = create_stream(&c, "bisected", 1).await;
    let (dead_url, dead) = dead_letter_queue(&c, "bisected-failed").await;
    let mut poison = String::new();
    for data in ["a", "b", "poison", "c"] {
        let seq = put(&c, &stream, data).await;
        if data == "poison" {
            poison = seq;
        }
    }
    let retry = RetryPolicy {
        max_retries: Some(1),
        bisect_on_error: true,
        ..RetryPolicy::default()
    };
    let rec = Recorder::scripted(poisoned);
    let run = Poller::stream(&c, kinesis(&stream, retry, Some(dead)), rec.clone());
    let (record, _) = first_message(&c, &dead_url).await;
    put(&c, &stream, "d").await;
    let calls = rec
        .wait_for("d", |calls| {
            calls.iter().flat_map(Call::data).any(|d| d == "d")
        })
        .await;
    run.stop().await;
    let batches: Vec<Vec<String>> = calls.iter().map(Call::data).collect();
    assert_eq!(
        batches,
        [
            vec!["a", "b", "poison", "c"],
            vec!["a", "b"],
            vec!["poison", "c"],
            vec!["poison"],
            vec!["poison"],
            vec!["c"],
            vec!["d"],
        ]
    );
    let info = &record["KinesisBatchInfo"];
    assert_eq!(
        (&info["startSequenceNumber"], &info["endSequenceNumber"]),
        (&json!(poison), &json!(poison))
    );
    assert_eq!(info["batchSize"], 1);
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 4);
    assert_eq!(
        rec.notes()
            .iter()
            .filter(|n| n.starts_with("split the failed batch"))
            .count(),
        2
    );
}

#[tokio::test]
async fn stream_records_outside_the_filter_are_skipped_and_checkpointed() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let stream = create_stream(&c, "pages", 1).await;
    for data in [
        r#"{"page":"/cart"}"#,
        "plain text",
        r#"{"page":"/checkout/pay"}"#,
    ] {
        put(&c, &stream, data).await;
    }
    let mut source = kinesis(&stream, RetryPolicy::default(), None);
    source.filters =
        Filters::new(&[r#"{"data":{"page":[{"prefix":"/checkout"}]}}"#.to_owned()]).unwrap();
    let rec = Recorder::ok();
    let run = Poller::stream(&c, source, rec.clone());
    rec.wait_for("the checkout", |calls| !calls.is_empty())
        .await;
    // A batch whose every record is filtered out invokes nothing, and is not read again.
    put(&c, &stream, r#"{"page":"/home"}"#).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    run.stop().await;
    let data: Vec<String> = rec.calls().iter().flat_map(Call::data).collect();
    assert_eq!(data, [r#"{"page":"/checkout/pay"}"#]);
    let notes = rec.notes();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].starts_with("skipped 2 records from pages"),
        "{notes:?}"
    );
    assert!(
        notes[1].starts_with("skipped 1 record from pages"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_failing_table_batch_is_described_on_its_on_failure_topic() {
    let moto = Moto::start();
    let c = moto.clients().await;
    support::fixtures::create_table(&c, "orders", "pk", true).await;
    let stream = streams::table_stream_arn(&c, "orders").await.unwrap();
    // The topic's records, read through a queue subscribed to it (raw: the record is the body).
    let topic = create_topic(&c, "alerts").await;
    let reader = create_queue(&c, "alerts-reader", None).await;
    c.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn("alerts-reader"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let mut source = StreamSource {
        timing: fast(),
        retry: RetryPolicy {
            max_retries: Some(0),
            ..RetryPolicy::default()
        },
        on_failure: Some(Destination::new(
            c.clone(),
            Target::new(DestinationKind::Topic, topic, None),
        )),
        function_arn: function_arn("app-dev-on_audit"),
        ..StreamSource::new(
            StreamKind::DynamoDb {
                stream_arn: stream.clone(),
            },
            REGION,
        )
    };
    source.filters = Filters::new(&[r#"{"eventName":["INSERT"]}"#.to_owned()]).unwrap();
    let rec = Recorder::failing();
    let run = Poller::stream(&c, source, rec.clone());
    for pk in ["o-1", "o-2"] {
        c.dynamodb
            .put_item()
            .table_name("orders")
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
            .send()
            .await
            .unwrap();
    }
    let (record, _) = first_message(&c, &reader).await;
    let calls = rec.calls();
    let seqs: Vec<&str> = calls[0]
        .records()
        .iter()
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    let info = &record["DDBStreamBatchInfo"];
    assert!(record.get("KinesisBatchInfo").is_none());
    assert_eq!(info["streamArn"], stream);
    assert_eq!(info["startSequenceNumber"], seqs[0]);
    assert_eq!(info["endSequenceNumber"], *seqs.last().unwrap());
    assert_eq!(info["batchSize"], seqs.len());
    // A change the filter rejects (MODIFY) is never delivered.
    c.dynamodb
        .update_item()
        .table_name("orders")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("o-1".into()),
        )
        .update_expression("SET st = :s")
        .expression_attribute_values(
            ":s",
            aws_sdk_dynamodb::types::AttributeValue::S("paid".into()),
        )
        .send()
        .await
        .unwrap();
    let skipped = async {
        while !rec
            .notes()
            .iter()
            .any(|n| n.starts_with("skipped 1 record"))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, skipped)
        .await
        .unwrap_or_else(|_| panic!("no skip note: {:?}", rec.notes()));
    run.stop().await;
    let names: Vec<String> = rec
        .calls()
        .iter()
        .flat_map(|c| {
            c.records()
                .iter()
                .map(|r| r["eventName"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(names.iter().all(|n| n == "INSERT"), "{names:?}");
}

// ------------------------------------------------------------------ asynchronous events

#[tokio::test]
async fn a_failing_bucket_event_reaches_its_on_failure_queue_exactly_once() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let bucket = "uploads";
    create_bucket(&c, bucket).await;
    let name = routes::route_queue_name("run1", "app", "dev", "on_upload");
    let queue = routes::create_route_queue(&c, &name, &format!("arn:aws:s3:::{bucket}"))
        .await
        .unwrap();
    routes::add_bucket_queue_entry(
        &c,
        bucket,
        "chalice-local-on_upload",
        &queue.arn,
        &["s3:ObjectCreated:*".to_owned()],
        None,
        None,
    )
    .await
    .unwrap();
    let (dead_url, dead) = dead_letter_queue(&c, "dead").await;
    let arn = function_arn("app-dev-on_upload");
    let mut policy = AsyncPolicy::from_plan(None, &arn, Some(dead));
    policy.max_retries = 0;
    let mut source = queue_source(&queue.url, &queue.arn, Shape::Bucket);
    source.async_policy = Some(policy);
    let rec = Recorder::failing();
    let run = Poller::queue(&c, source, rec.clone());
    c.s3.put_object()
        .bucket(bucket)
        .key("a.txt")
        .body(ByteStream::from_static(b"hi"))
        .send()
        .await
        .unwrap();
    let records = drain(&c, &dead_url, Duration::from_secs(4)).await;
    run.stop().await;
    let calls = rec.calls();
    assert_eq!(calls.len(), 1, "no retries: {calls:#?}");
    assert_eq!(records.len(), 1, "exactly once: {records:#?}");
    let record = &records[0];
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(
        record["requestContext"]["functionArn"],
        format!("{arn}:$LATEST")
    );
    assert_eq!(
        record["requestPayload"], calls[0].event,
        "the S3 event itself"
    );
    assert_eq!(
        record["requestPayload"]["Records"][0]["eventSource"],
        "aws:s3"
    );
    assert_eq!(
        record["requestPayload"]["Records"][0]["s3"]["object"]["key"],
        "a.txt"
    );
    assert_eq!(
        record["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
    );
    assert_eq!(record["responsePayload"]["errorMessage"], "handler error");
    assert_eq!(
        messages_left(&c, &queue.url).await,
        0,
        "the event is done with"
    );
    assert!(
        rec.notes()
            .iter()
            .any(|n| n.ends_with("RetriesExhausted record sent to queue dead")),
        "{:?}",
        rec.notes()
    );
}

#[tokio::test]
async fn async_records_reach_topics_buckets_and_buses() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = function_arn("app-dev-nightly");
    let record = json!({"version": "1.0", "requestContext": {"condition": "RetriesExhausted"}});

    // A topic: published (read through a queue subscribed to it).
    let topic = create_topic(&c, "alerts").await;
    let alerts_url = create_queue(&c, "alerts-reader", None).await;
    c.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn("alerts-reader"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let to_topic = Destination::new(c.clone(), Target::new(DestinationKind::Topic, topic, None));
    to_topic.send(&record, "unused", &arn).await.unwrap();
    let (got, _) = first_message(&c, &alerts_url).await;
    assert_eq!(got, record);

    // A bucket: an object at the key given.
    create_bucket(&c, "failures").await;
    let to_bucket = Destination::new(
        c.clone(),
        Target::new(
            DestinationKind::Bucket,
            "arn:aws:s3:::failures".into(),
            None,
        ),
    );
    let key = "aws/lambda/async/app-dev-nightly/2026/01/01/2026-01-01T00.00.00-x";
    to_bucket.send(&record, key, &arn).await.unwrap();
    let object =
        c.s3.get_object()
            .bucket("failures")
            .key(key)
            .send()
            .await
            .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), record);

    // A bus: Lambda's failure event (read through a rule with a queue target).
    c.eventbridge
        .create_event_bus()
        .name("ops")
        .send()
        .await
        .unwrap();
    let bus_url = create_queue(&c, "bus-reader", None).await;
    c.eventbridge
        .put_rule()
        .name("failures")
        .event_bus_name("ops")
        .event_pattern(r#"{"source":["lambda"]}"#)
        .send()
        .await
        .unwrap();
    routes::point_rule_at_queue(&c, "failures", Some("ops"), &queue_arn("bus-reader"), "q")
        .await
        .unwrap();
    let bus_arn = format!(
        "arn:aws:events:{REGION}:{}:event-bus/ops",
        support::moto::ACCOUNT
    );
    let to_bus = Destination::new(c.clone(), Target::new(DestinationKind::Bus, bus_arn, None));
    to_bus.send(&record, "unused", &arn).await.unwrap();
    let (event, _) = first_message(&c, &bus_url).await;
    assert_eq!(event["source"], "lambda");
    assert_eq!(
        event["detail-type"],
        "Lambda Function Invocation Result - Failure"
    );
    assert_eq!(event["detail"], record);

    // One of the app's handlers: invoked locally with the record; its failure is the send's.
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&got);
    let local: LocalInvoke = Arc::new(move |record| {
        seen.lock().unwrap().push(record);
        Box::pin(std::future::ready(Delivered::Ok(Value::Null)))
    });
    let to_handler = Destination::new(
        c.clone(),
        Target::new(
            DestinationKind::Function,
            function_arn("app-dev-audit"),
            Some(local),
        ),
    );
    to_handler.send(&record, "unused", &arn).await.unwrap();
    assert_eq!(*got.lock().unwrap(), std::slice::from_ref(&record));
    let failing: LocalInvoke =
        Arc::new(|_| Box::pin(std::future::ready(Delivered::Failed("boom".into()))));
    let to_failing = Destination::new(
        c.clone(),
        Target::new(
            DestinationKind::Function,
            function_arn("app-dev-audit"),
            Some(failing),
        ),
    );
    let err = to_failing.send(&record, "unused", &arn).await.unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");

    // A function that is not one of the app's cannot be reached locally.
    let elsewhere = Destination::new(
        c.clone(),
        Target::new(DestinationKind::Function, function_arn("other"), None),
    );
    let err = elsewhere.send(&record, "unused", &arn).await.unwrap_err();
    assert!(
        err.to_string().contains("cannot be reached locally"),
        "{err}"
    );
}
