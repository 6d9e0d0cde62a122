//! `deployer local`'s SQS side against moto: the poller (batches, deletes, redelivery, shutdown) and the
//! routes that bring SNS, S3 and EventBridge events to a handler through a queue the runner owns.
//! Needs moto: `scripts/moto.sh`.

mod support;

use std::time::{Duration, Instant};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::MessageAttributeValue;
use chalice_deployer::aws::Clients;
use chalice_deployer::local::filter::Filters;
use chalice_deployer::local::pollers::sqs::{QueueError, QueueSource, Shape};
use chalice_deployer::local::{Delivered, routing as routes};
use serde_json::{Value, json};
use support::aws::{ACCOUNT, REGION, function_arn, queue_arn};
use support::checks::{entry_view, lambda_entry_views};
use support::fixtures::{create_bucket, create_topic, lambda_entry, put_lambda_entries};
use support::inventory::{bucket_notifications, list_subscriptions, messages_left, rule_targets};
use support::moto::Moto;
use support::recorder::{Poller, Recorder};
use tokio::time::timeout;

/// A queue with the given visibility timeout: (url, arn).
async fn create_queue(c: &Clients, name: &str, visibility_s: u32) -> (String, String) {
    let url = support::fixtures::create_queue(c, name, Some(visibility_s)).await;
    (url, queue_arn(name))
}

fn source(
    (url, arn): &(String, String),
    batch_size: u32,
    window: Option<Duration>,
    shape: Shape,
) -> QueueSource {
    QueueSource {
        queue_url: url.clone(),
        queue_arn: arn.clone(),
        region: REGION.to_owned(),
        batch_size,
        batching_window: window,
        shape,
        filters: Filters::default(),
        async_policy: None,
    }
}

/// Sends `body`; returns its message id.
async fn send(c: &Clients, url: &str, body: &str) -> String {
    let out = c
        .sqs
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
    out.message_id().unwrap().to_owned()
}

fn bodies(event: &Value) -> Vec<String> {
    let parsed: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    parsed
        .records
        .iter()
        .map(|r| r.body.clone().unwrap())
        .collect()
}

fn receive_counts(event: &Value) -> Vec<String> {
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["attributes"]["ApproximateReceiveCount"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_message_is_delivered_once_at_once_and_deleted() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let queue = create_queue(&c, "my-queue", 1).await;
    let run = Poller::queue(&c, source(&queue, 10, None, Shape::Queue), Recorder::ok());
    tokio::time::sleep(Duration::from_millis(300)).await; // the long poll is waiting

    let sent = c
        .sqs
        .send_message()
        .queue_url(&queue.0)
        .message_body(r#"{"order": 1}"#)
        .message_attributes(
            "kind",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("order")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(call.summary, "1 message from my-queue");
    let event: SqsEvent = serde_json::from_value(call.event.clone()).unwrap();
    let record = &event.records[0];
    assert_eq!(record.message_id.as_deref(), sent.message_id());
    assert_eq!(record.body.as_deref(), Some(r#"{"order": 1}"#));
    assert_eq!(record.md5_of_body.as_deref(), sent.md5_of_message_body());
    assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(record.event_source_arn.as_deref(), Some(queue.1.as_str()));
    assert_eq!(record.aws_region.as_deref(), Some(REGION));
    assert_eq!(record.attributes["ApproximateReceiveCount"], "1");
    for name in [
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] {
        assert!(record.attributes.contains_key(name), "{name}");
    }
    assert_eq!(
        record.message_attributes["kind"].string_value.as_deref(),
        Some("order")
    );
    assert_eq!(
        call.event["Records"][0]["messageAttributes"]["kind"],
        json!({"stringValue": "order", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
    );

    // Deleted: not delivered again after the 1 s visibility timeout, and the queue is empty.
    run.none(Duration::from_millis(2200)).await;
    assert_eq!(messages_left(&c, &queue.0).await, 0);

    // SendMessage → deliver(), with the long poll already waiting; and what idling costs.
    let mut latencies = Vec::new();
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let before = Instant::now();
        send(&c, &queue.0, &format!("m{i}")).await;
        let call = run.next(Duration::from_secs(5)).await;
        latencies.push(call.at - before);
    }
    latencies.sort();
    eprintln!("SendMessage -> deliver(): {latencies:?}");
    assert!(
        latencies[2] < Duration::from_millis(300),
        "median {:?}",
        latencies[2]
    );
    let calls = c.calls().clone();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = calls.by_operation().get("ReceiveMessage").copied();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        calls.by_operation().get("ReceiveMessage").copied(),
        before,
        "an idle queue is one long poll, not a loop"
    );
    run.stop().await;
}

#[tokio::test]
async fn batches_respect_their_size_and_window() {
    let moto = Moto::start();
    let c = moto.clients().await;

    // 5 waiting, batch size 3, no window: 3 then 2.
    let sized = create_queue(&c, "sized", 30).await;
    for i in 0..5 {
        send(&c, &sized.0, &format!("s{i}")).await;
    }
    let run = Poller::queue(&c, source(&sized, 3, None, Shape::Queue), Recorder::ok());
    let first = run.next(Duration::from_secs(5)).await;
    let second = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&first.event).len(), 3);
    assert_eq!(bodies(&second.event).len(), 2);
    assert_eq!(second.summary, "2 messages from sized");
    run.stop().await;

    // A 2 s window gathers messages sent 100 ms apart into one batch, invoked when the window ends.
    let windowed = create_queue(&c, "windowed", 30).await;
    let run = Poller::queue(
        &c,
        source(&windowed, 10, Some(Duration::from_secs(2)), Shape::Queue),
        Recorder::ok(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first_sent = Instant::now();
    for i in 0..4 {
        send(&c, &windowed.0, &format!("w{i}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&call.event), ["w0", "w1", "w2", "w3"]);
    let waited = call.at - first_sent;
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_millis(3500),
        "{waited:?}"
    );
    run.stop().await;

    // A full batch does not wait for the window.
    let full = create_queue(&c, "full", 30).await;
    let run = Poller::queue(
        &c,
        source(&full, 3, Some(Duration::from_secs(10)), Shape::Queue),
        Recorder::ok(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first_sent = Instant::now();
    for i in 0..3 {
        send(&c, &full.0, &format!("f{i}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&call.event).len(), 3);
    assert!(call.at - first_sent < Duration::from_secs(2));
    run.stop().await;
}

#[tokio::test]
async fn a_partial_failure_redelivers_only_the_failed_message() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let queue = create_queue(&c, "partial", 1).await;
    for body in ["good-1", "bad", "good-2"] {
        send(&c, &queue.0, body).await;
    }
    let script = Recorder::scripted(|n, call| {
        if n > 0 {
            return Delivered::Ok(Value::Null);
        }
        let failed: Vec<Value> = call.event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["body"] == "bad")
            .map(|r| json!({"itemIdentifier": r["messageId"]}))
            .collect();
        Delivered::Ok(json!({ "batchItemFailures": failed }))
    });
    let run = Poller::queue(&c, source(&queue, 10, None, Shape::Queue), script);
    let first = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&first.event), ["good-1", "bad", "good-2"]);
    let again = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&again.event), ["bad"]);
    assert_eq!(receive_counts(&again.event), ["2"]);
    assert_eq!(again.summary, "1 message from partial (receive #2)");
    run.none(Duration::from_millis(2200)).await;
    assert_eq!(messages_left(&c, &queue.0).await, 0);
    run.stop().await;
}

#[tokio::test]
async fn a_whole_failure_redelivers_the_whole_batch() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let queue = create_queue(&c, "whole", 1).await;
    for body in ["a", "b"] {
        send(&c, &queue.0, body).await;
    }
    // Fails; then names an id that is not in the batch (Lambda: the whole batch failed); then succeeds.
    let script = Recorder::scripted(|n, _| match n {
        0 => Delivered::Failed("handler error".into()),
        1 => Delivered::Ok(json!({"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]})),
        _ => Delivered::Ok(Value::Null),
    });
    let run = Poller::queue(&c, source(&queue, 10, None, Shape::Queue), script);
    let first = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&first.event), ["a", "b"]);
    let second = run.next(Duration::from_secs(5)).await;
    assert_eq!(bodies(&second.event), ["a", "b"]);
    assert_eq!(receive_counts(&second.event), ["2", "2"]);
    let third = run.next(Duration::from_secs(5)).await;
    assert_eq!(receive_counts(&third.event), ["3", "3"]);
    run.none(Duration::from_millis(2200)).await;
    assert_eq!(messages_left(&c, &queue.0).await, 0);
    run.stop().await;
}

#[tokio::test]
async fn shutdown_returns_promptly_during_a_long_poll() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let queue = create_queue(&c, "idle", 30).await;
    let run = Poller::queue(&c, source(&queue, 10, None, Shape::Queue), Recorder::ok());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = Instant::now();
    run.stop.send(true).unwrap();
    let result = timeout(Duration::from_millis(500), run.task).await;
    assert!(result.unwrap().unwrap().is_ok());
    eprintln!("stopped {:?} after shutdown", asked.elapsed());

    // Dropping the sender stops it too.
    let run = Poller::queue(&c, source(&queue, 10, None, Shape::Queue), Recorder::ok());
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(run.stop);
    let result = timeout(Duration::from_millis(500), run.task).await;
    assert!(result.unwrap().unwrap().is_ok());

    // A queue that does not exist is an error, at once.
    let missing = (
        format!("{}/{ACCOUNT}/missing", moto.endpoint()),
        format!("arn:aws:sqs:{REGION}:{ACCOUNT}:missing"),
    );
    let run = Poller::queue(&c, source(&missing, 10, None, Shape::Queue), Recorder::ok());
    let result = timeout(Duration::from_secs(2), run.task).await;
    let err = result.unwrap().unwrap().unwrap_err();
    assert!(matches!(err, QueueError::NoQueue(_)), "{err}");
}

// ---------------------------------------------------------------- routes

#[tokio::test]
async fn topic_messages_arrive_as_sns_events() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let topic_arn = create_topic(&c, "my-demo-topic").await;
    let name = routes::route_queue_name("run1", "orders", "dev", "on_notice");
    let queue = routes::create_route_queue(&c, &name, &topic_arn)
        .await
        .unwrap();
    let sub = routes::subscribe_queue_to_topic(&c, &topic_arn, &queue.arn)
        .await
        .unwrap();
    let lambda_sub = format!("{topic_arn}:0b7e8a1c-0000-4000-8000-000000000000");
    let shape = Shape::Topic {
        subscription_arn: lambda_sub.clone(),
    };
    let run = Poller::queue(
        &c,
        source(&(queue.url.clone(), queue.arn.clone()), 10, None, shape),
        Recorder::ok(),
    );

    c.sns
        .publish()
        .topic_arn(&topic_arn)
        .subject("Hello")
        .message("the message")
        .message_attributes(
            "kind",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("greeting")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.sns
        .publish()
        .topic_arn(&topic_arn)
        .message("no subject here")
        .send()
        .await
        .unwrap();

    let first = run.next(Duration::from_secs(5)).await;
    assert_eq!(first.summary, r#"message on my-demo-topic: "Hello""#);
    let event: SnsEvent = serde_json::from_value(first.event.clone()).unwrap();
    assert_eq!(event.records.len(), 1);
    let record = &event.records[0];
    assert_eq!(record.event_source, "aws:sns");
    assert_eq!(record.event_subscription_arn, lambda_sub);
    assert_eq!(record.sns.topic_arn, topic_arn);
    assert_eq!(record.sns.subject.as_deref(), Some("Hello"));
    assert_eq!(record.sns.message, "the message");
    assert_eq!(record.sns.message_attributes["kind"].value, "greeting");
    assert!(first.event["Records"][0]["Sns"]["SigningCertUrl"].is_string());

    let second = run.next(Duration::from_secs(5)).await;
    assert_eq!(
        second.summary,
        r#"message on my-demo-topic: "no subject here""#
    );
    assert_eq!(second.event["Records"][0]["Sns"]["Subject"], Value::Null);
    let _: SnsEvent = serde_json::from_value(second.event).unwrap();
    run.none(Duration::from_millis(500)).await;
    run.stop().await;

    routes::unsubscribe_queue(&c, &sub).await.unwrap();
    let subs = list_subscriptions(&c, &topic_arn).await;
    assert!(subs.is_empty(), "{subs:?}");
    routes::delete_route_queue(&c, &queue.url).await.unwrap();
    routes::delete_route_queue(&c, &queue.url).await.unwrap(); // gone already: fine
}

#[tokio::test]
async fn bucket_notifications_arrive_as_s3_events() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let bucket = "mybucket-name";
    create_bucket(&c, bucket).await;
    // The app's own Lambda entry, as the deployer writes it: it must survive our queue entry.
    let app_entry = lambda_entry(
        "orders-dev-on_upload",
        &function_arn("orders-dev-on_upload"),
        &["s3:ObjectCreated:*"],
        Some("images/"),
        None,
    );
    put_lambda_entries(&c, bucket, vec![app_entry.clone()]).await;

    let name = routes::route_queue_name("run1", "orders", "dev", "on_upload");
    let queue = routes::create_route_queue(&c, &name, &format!("arn:aws:s3:::{bucket}"))
        .await
        .unwrap();
    let entry_id = "chalice-local-on_upload";
    let events = ["s3:ObjectCreated:*".to_string()];
    routes::add_bucket_queue_entry(
        &c,
        bucket,
        entry_id,
        &queue.arn,
        &events,
        Some("images/"),
        Some(".png"),
    )
    .await
    .unwrap();
    let config = bucket_notifications(&c, bucket).await;
    assert_eq!(config.queue_configurations().len(), 1);
    assert_eq!(lambda_entry_views(&config), [entry_view(&app_entry)]);

    let run = Poller::queue(
        &c,
        source(
            &(queue.url.clone(), queue.arn.clone()),
            10,
            None,
            Shape::Bucket,
        ),
        Recorder::ok(),
    );
    for key in ["other/x.png", "images/readme.txt", "images/cat.png"] {
        c.s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(b"meow".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    // The s3:TestEvent moto sent first is skipped; keys outside the filter send nothing.
    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(
        call.summary,
        "ObjectCreated:Put mybucket-name/images/cat.png"
    );
    let event: S3Event = serde_json::from_value(call.event.clone()).unwrap();
    assert_eq!(event.records.len(), 1);
    assert_eq!(
        event.records[0].s3.object.key.as_deref(),
        Some("images/cat.png")
    );
    assert_eq!(event.records[0].s3.bucket.name.as_deref(), Some(bucket));
    run.none(Duration::from_millis(700)).await;
    assert_eq!(
        messages_left(&c, &queue.url).await,
        0,
        "the test event is deleted"
    );
    run.stop().await;

    assert!(
        routes::remove_bucket_queue_entry(&c, bucket, entry_id)
            .await
            .unwrap()
    );
    assert!(
        !routes::remove_bucket_queue_entry(&c, bucket, entry_id)
            .await
            .unwrap()
    );
    assert!(
        !routes::remove_bucket_queue_entry(&c, "no-such-bucket-here", entry_id)
            .await
            .unwrap()
    );
    let config = bucket_notifications(&c, bucket).await;
    assert!(config.queue_configurations().is_empty());
    assert_eq!(lambda_entry_views(&config), [entry_view(&app_entry)]);
    routes::delete_route_queue(&c, &queue.url).await.unwrap();
}

/// moto sends `ObjectCreated:Put` and then `ObjectCreated:CompleteMultipartUpload` for one multipart
/// upload (AWS sends only the second): the handler gets one event, the second.
#[tokio::test]
async fn a_multipart_upload_is_one_bucket_event() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let bucket = "mybucket-name";
    create_bucket(&c, bucket).await;
    let name = routes::route_queue_name("run1", "orders", "dev", "on_upload");
    let queue = routes::create_route_queue(&c, &name, &format!("arn:aws:s3:::{bucket}"))
        .await
        .unwrap();
    let events = ["s3:ObjectCreated:*".to_string()];
    routes::add_bucket_queue_entry(
        &c,
        bucket,
        "chalice-local-run1-n",
        &queue.arn,
        &events,
        None,
        None,
    )
    .await
    .unwrap();
    let run = Poller::queue(
        &c,
        source(
            &(queue.url.clone(), queue.arn.clone()),
            10,
            None,
            Shape::Bucket,
        ),
        Recorder::ok(),
    );

    // Two parts, as the AWS CLI uploads a file of 8 MB or more (every part but the last >= 5 MB).
    let key = "big.bin";
    let upload =
        c.s3.create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (n, size) in [(1, 5 * 1024 * 1024), (2, 1024)] {
        let part =
            c.s3.upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(n)
                .body(vec![b'x'; size].into())
                .send()
                .await
                .unwrap();
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    let completed =
        c.s3.complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
    // moto 5.2 answers 200 with a `CompleteMultipartUploadResponse` root element, which the SDK
    // cannot decode (AWS: `CompleteMultipartUploadResult`); the upload is complete all the same.
    if let Err(e) = completed {
        assert_eq!(
            e.raw_response().map(|r| r.status().as_u16()),
            Some(200),
            "{e:?}"
        );
    }

    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(
        call.summary,
        "ObjectCreated:CompleteMultipartUpload mybucket-name/big.bin"
    );
    let event: S3Event = serde_json::from_value(call.event).unwrap();
    assert_eq!(event.records.len(), 1);
    assert_eq!(
        event.records[0].s3.object.size,
        Some(5 * 1024 * 1024 + 1024)
    );
    run.none(Duration::from_millis(1500)).await;
    assert_eq!(
        messages_left(&c, &queue.url).await,
        0,
        "moto's extra Put is deleted"
    );

    // A plain PutObject is still one event.
    c.s3.put_object()
        .bucket(bucket)
        .key("small.bin")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(call.summary, "ObjectCreated:Put mybucket-name/small.bin");
    run.none(Duration::from_millis(700)).await;
    run.stop().await;
}

#[tokio::test]
async fn rule_events_arrive_as_eventbridge_events() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let rule = "orders-dev-on_order";
    let rule_arn = c
        .eventbridge
        .put_rule()
        .name(rule)
        .event_pattern(r#"{"source": ["com.acme.orders"], "detail-type": ["Order Placed"]}"#)
        .send()
        .await
        .unwrap()
        .rule_arn()
        .unwrap()
        .to_owned();
    let function_arn = function_arn("orders-dev-on_order");
    let app_target = "orders-dev-on_order";
    routes::restore_lambda_target(&c, rule, None, app_target, &function_arn)
        .await
        .unwrap();

    // While the runner runs: the Lambda target off (moto answers 500 to PutEvents with it), ours on.
    routes::remove_target(&c, rule, None, app_target)
        .await
        .unwrap();
    let name = routes::route_queue_name("run1", "orders", "dev", "on_order");
    let queue = routes::create_route_queue(&c, &name, &rule_arn)
        .await
        .unwrap();
    routes::point_rule_at_queue(&c, rule, None, &queue.arn, "chalice-local")
        .await
        .unwrap();
    let run = Poller::queue(
        &c,
        source(
            &(queue.url.clone(), queue.arn.clone()),
            10,
            None,
            Shape::Rule,
        ),
        Recorder::ok(),
    );

    let put = |source: &'static str| {
        let c = c.clone();
        async move {
            let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source(source)
                .detail_type("Order Placed")
                .detail(r#"{"order_id": "o-1", "total": 42}"#)
                .build();
            let out = c
                .eventbridge
                .put_events()
                .entries(entry)
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_entry_count(), 0);
        }
    };
    put("com.acme.other").await;
    put("com.acme.orders").await;
    let call = run.next(Duration::from_secs(5)).await;
    assert_eq!(call.summary, "com.acme.orders / Order Placed");
    let event: EventBridgeEvent = serde_json::from_value(call.event.clone()).unwrap();
    assert_eq!(event.source, "com.acme.orders");
    assert_eq!(event.detail["order_id"], "o-1");
    assert!(event.time.is_some());
    run.none(Duration::from_millis(700)).await;
    run.stop().await;

    // On exit: ours off, the app's back.
    routes::remove_target(&c, rule, None, "chalice-local")
        .await
        .unwrap();
    routes::restore_lambda_target(&c, rule, None, app_target, &function_arn)
        .await
        .unwrap();
    let targets = rule_targets(&c, None, rule).await;
    assert_eq!(targets, [(app_target.to_owned(), function_arn)]);
    routes::remove_target(&c, "no-such-rule", None, app_target)
        .await
        .unwrap();
    routes::delete_route_queue(&c, &queue.url).await.unwrap();
}

#[tokio::test]
async fn a_failed_routed_event_is_retried_twice_then_dropped() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let queue = create_queue(&c, "routed-retries", 1).await;
    let event = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Order Placed",
        "source": "com.acme.orders", "account": ACCOUNT, "time": "2024-05-01T10:11:12Z",
        "region": REGION, "resources": [], "detail": {"order_id": "o-1"}
    });
    send(&c, &queue.0, "not JSON: dropped without an invocation").await;
    send(&c, &queue.0, &event.to_string()).await;
    let run = Poller::queue(
        &c,
        source(&queue, 10, None, Shape::Rule),
        Recorder::failing(),
    );
    let first = run.next(Duration::from_secs(5)).await;
    assert_eq!(first.summary, "com.acme.orders / Order Placed");
    assert_eq!(first.event, event);
    // Retried at once (AWS waits about a minute, then two), with Lambda's default of 2 retries.
    let second = run.next(Duration::from_secs(5)).await;
    assert_eq!(
        second.summary,
        "com.acme.orders / Order Placed (retry 1 of 2)"
    );
    let third = run.next(Duration::from_secs(5)).await;
    assert_eq!(
        third.summary,
        "com.acme.orders / Order Placed (retry 2 of 2)"
    );
    // Lambda drops an asynchronous event after its third failed attempt (no destination).
    run.none(Duration::from_millis(2200)).await;
    assert_eq!(messages_left(&c, &queue.0).await, 0);
    run.stop().await;
}
