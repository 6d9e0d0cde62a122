//! `deployer local`'s stream pollers against moto: Kinesis and DynamoDB streams delivered to a
//! recording handler the way Lambda's event source mapping delivers them. Needs moto: `scripts/moto.sh`.

mod support;

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::primitives::Blob;
use chalice_deployer::aws::Clients;
use chalice_deployer::local::Delivered;
use chalice_deployer::local::pollers::streams::{
    StartingPosition, StreamError, StreamKind, StreamSource, Timing, run, table_stream_arn,
};
use serde_json::{Value, json};
use support::fixtures::create_stream;
use support::moto::{ACCOUNT, Moto, REGION};
use support::recorder::{Call, PATIENCE, Poller, Recorder};
use tokio::sync::watch;

/// Short intervals, so tests run fast.
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

fn kinesis_source(stream_arn: &str, position: StartingPosition) -> StreamSource {
    StreamSource {
        starting_position: position,
        timing: fast(),
        invoke_identity_arn: Some(format!("arn:aws:iam::{ACCOUNT}:role/app-dev")),
        ..StreamSource::new(
            StreamKind::Kinesis {
                stream_arn: stream_arn.to_owned(),
            },
            REGION,
        )
    }
}

/// Waits until `clients` made a GetRecords call: the poller holds its iterators.
async fn wait_polling(clients: &Clients) {
    let deadline = Instant::now() + PATIENCE;
    while !clients
        .calls()
        .calls()
        .iter()
        .any(|call| call.operation == "GetRecords")
    {
        assert!(
            Instant::now() < deadline,
            "the poller never called GetRecords"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Puts one record; `hash_key` picks the shard (2^127 splits two shards).
async fn put(c: &Clients, stream_arn: &str, data: &str, hash_key: Option<&str>) -> String {
    c.kinesis
        .put_record()
        .stream_arn(stream_arn)
        .data(Blob::new(data.as_bytes()))
        .partition_key("pk")
        .set_explicit_hash_key(hash_key.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .sequence_number()
        .to_owned()
}

async fn put_all(c: &Clients, stream_arn: &str, data: &[&str]) {
    for d in data {
        put(c, stream_arn, d, None).await;
    }
}

fn all_data(calls: &[Call]) -> Vec<String> {
    calls.iter().flat_map(Call::data).collect()
}

const SECOND_HALF: &str = "170141183460469231731687303715884105728";

#[tokio::test]
async fn kinesis_records_arrive_in_order_exactly_once() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = create_stream(&c, "clicks", 2).await;
    for (i, d) in ["a0", "b0", "a1", "b1"].iter().enumerate() {
        let key = (i % 2 == 1).then_some(SECOND_HALF);
        put(&c, &arn, d, key).await;
    }
    let rec = Recorder::ok();
    let poller = Poller::stream(
        &c,
        kinesis_source(&arn, StartingPosition::TrimHorizon),
        rec.clone(),
    );
    rec.wait_records(4).await;
    for (i, d) in ["a2", "b2", "a3", "b3"].iter().enumerate() {
        let key = (i % 2 == 1).then_some(SECOND_HALF);
        put(&c, &arn, d, key).await;
    }
    rec.wait_records(8).await;
    let calls = rec.settle().await;
    poller.stop().await;

    let mut per_shard: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for call in &calls {
        let event: KinesisEvent = serde_json::from_value(call.event.clone()).unwrap();
        let shard = call.records()[0]["eventID"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        let n = event.records.len();
        let noun = if n == 1 { "record" } else { "records" };
        assert_eq!(call.summary, format!("{n} {noun} from clicks ({shard})"));
        for (record, raw) in event.records.iter().zip(call.records()) {
            assert_eq!(record.event_source.as_deref(), Some("aws:kinesis"));
            assert_eq!(record.event_name.as_deref(), Some("aws:kinesis:record"));
            assert_eq!(record.event_version.as_deref(), Some("1.0"));
            assert_eq!(record.event_source_arn.as_deref(), Some(arn.as_str()));
            assert_eq!(record.aws_region.as_deref(), Some(REGION));
            assert_eq!(
                record.invoke_identity_arn.as_deref(),
                Some(format!("arn:aws:iam::{ACCOUNT}:role/app-dev").as_str())
            );
            assert_eq!(
                record.event_id.as_deref(),
                Some(format!("{shard}:{}", record.kinesis.sequence_number).as_str())
            );
            assert_eq!(record.kinesis.partition_key, "pk");
            assert_eq!(
                record.kinesis.kinesis_schema_version.as_deref(),
                Some("1.0")
            );
            let arrival = record.kinesis.approximate_arrival_timestamp.0.timestamp();
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            assert!((now - arrival).abs() < 60, "arrival {arrival}, now {now}");
            assert!(raw["kinesis"]["approximateArrivalTimestamp"].is_f64());
            per_shard
                .entry(shard.clone())
                .or_default()
                .push(String::from_utf8(record.kinesis.data.0.clone()).unwrap());
        }
    }
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        per_shard.into_iter().collect::<Vec<_>>(),
        [
            (
                "shardId-000000000000".to_owned(),
                strings(&["a0", "a1", "a2", "a3"])
            ),
            (
                "shardId-000000000001".to_owned(),
                strings(&["b0", "b1", "b2", "b3"])
            ),
        ]
    );
}

#[tokio::test]
async fn starting_positions_trim_horizon_latest_and_at_timestamp() {
    let moto = Moto::start();
    let setup = moto.clients().await;
    let arn = create_stream(&setup, "positions", 1).await;
    put_all(&setup, &arn, &["old1", "old2"]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let since = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    put_all(&setup, &arn, &["new1"]).await;

    let mut pollers = Vec::new();
    let mut recorders = Vec::new();
    for position in [
        StartingPosition::TrimHorizon,
        StartingPosition::Latest,
        StartingPosition::AtTimestamp(since),
    ] {
        // Own clients per poller: their call counters tell when each holds its iterator.
        let clients = moto.clients().await;
        let rec = Recorder::ok();
        pollers.push(Poller::stream(
            &clients,
            kinesis_source(&arn, position),
            rec.clone(),
        ));
        recorders.push(rec);
        wait_polling(&clients).await;
    }
    put_all(&setup, &arn, &["new2"]).await;
    let [trim, latest, at] = [0, 1, 2].map(|i| recorders[i].clone());
    trim.wait_records(4).await;
    latest.wait_records(1).await;
    at.wait_records(2).await;
    assert_eq!(
        all_data(&trim.settle().await),
        ["old1", "old2", "new1", "new2"]
    );
    assert_eq!(all_data(&latest.calls()), ["new2"]);
    assert_eq!(all_data(&at.calls()), ["new1", "new2"]);
    for p in pollers {
        p.stop().await;
    }
}

#[tokio::test]
async fn a_partial_failure_redelivers_from_the_failed_record_only() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = create_stream(&c, "partial", 1).await;
    put_all(&c, &arn, &["a", "b", "c", "d", "e"]).await;
    // The first invocation reports c and e failed: Lambda re-reads from c, the earliest.
    let rec = Recorder::scripted(|i, call| {
        if i == 0 {
            Delivered::Ok(json!({"batchItemFailures": [
                {"itemIdentifier": call.seq_of("e")},
                {"itemIdentifier": call.seq_of("c")},
            ]}))
        } else {
            Delivered::Ok(json!({"batchItemFailures": []}))
        }
    });
    let poller = Poller::stream(
        &c,
        kinesis_source(&arn, StartingPosition::TrimHorizon),
        rec.clone(),
    );
    rec.wait_calls(2).await;
    put_all(&c, &arn, &["f"]).await;
    rec.wait_calls(3).await;
    let calls = rec.settle().await;
    poller.stop().await;
    let batches: Vec<Vec<String>> = calls.iter().map(Call::data).collect();
    assert_eq!(
        batches,
        [
            vec!["a", "b", "c", "d", "e"],
            vec!["c", "d", "e"],
            vec!["f"]
        ]
    );
}

#[tokio::test]
async fn a_failed_batch_is_retried_whole_with_backoff() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = create_stream(&c, "failing", 1).await;
    put_all(&c, &arn, &["a", "b", "c"]).await;
    let rec = Recorder::scripted(|i, _| {
        if i < 2 {
            Delivered::Failed("handler error".into())
        } else {
            Delivered::Ok(Value::Null)
        }
    });
    let poller = Poller::stream(
        &c,
        kinesis_source(&arn, StartingPosition::TrimHorizon),
        rec.clone(),
    );
    rec.wait_calls(3).await;
    put_all(&c, &arn, &["d"]).await;
    rec.wait_calls(4).await;
    let calls = rec.settle().await;
    poller.stop().await;
    assert_eq!(calls.len(), 4, "{calls:#?}");
    // The same batch, event for event, until it succeeds; then only what is new.
    assert_eq!(calls[0].data(), ["a", "b", "c"]);
    assert_eq!(calls[1].event, calls[0].event);
    assert_eq!(calls[2].event, calls[0].event);
    assert_eq!(calls[3].data(), ["d"]);
    // Backoff doubles: 40 ms, then 80 ms.
    assert!(calls[1].at - calls[0].at >= Duration::from_millis(40));
    assert!(calls[2].at - calls[1].at >= Duration::from_millis(80));
}

#[tokio::test]
async fn batch_size_and_batching_window_shape_the_batches() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = create_stream(&c, "batches", 1).await;
    put_all(&c, &arn, &["1", "2", "3", "4", "5", "6", "7"]).await;
    let rec = Recorder::ok();
    let poller = Poller::stream(
        &c,
        StreamSource {
            batch_size: 3,
            ..kinesis_source(&arn, StartingPosition::TrimHorizon)
        },
        rec.clone(),
    );
    rec.wait_records(7).await;
    let calls = rec.settle().await;
    poller.stop().await;
    let batches: Vec<Vec<String>> = calls.iter().map(Call::data).collect();
    assert_eq!(
        batches,
        [vec!["1", "2", "3"], vec!["4", "5", "6"], vec!["7"]]
    );

    // With a window, records put apart are gathered; a full batch goes at once, a lone record
    // when the window closes.
    let windowed = moto.clients().await;
    let rec = Recorder::ok();
    let window = Duration::from_millis(800);
    let poller = Poller::stream(
        &windowed,
        StreamSource {
            batch_size: 3,
            batching_window: Some(window),
            ..kinesis_source(&arn, StartingPosition::Latest)
        },
        rec.clone(),
    );
    wait_polling(&windowed).await;
    let first_put = Instant::now();
    for d in ["x", "y", "z"] {
        put_all(&c, &arn, &[d]).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let calls = rec.wait_calls(1).await;
    assert_eq!(calls[0].data(), ["x", "y", "z"]);
    assert!(
        calls[0].at - first_put < window,
        "a full batch waited for the window: {:?}",
        calls[0].at - first_put
    );
    let lone_put = Instant::now();
    put_all(&c, &arn, &["w"]).await;
    let calls = rec.wait_calls(2).await;
    assert_eq!(calls[1].data(), ["w"]);
    let waited = calls[1].at - lone_put;
    assert!(
        waited >= window - Duration::from_millis(100),
        "delivered before the window closed: {waited:?}"
    );
    poller.stop().await;
}

/// A table keyed by `pk`, with a stream of new and old images when `stream`.
async fn create_table(c: &Clients, name: &str, stream: bool) {
    support::fixtures::create_table(c, name, "pk", stream).await;
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}

async fn put_item(c: &Clients, table: &str, item: Vec<(&str, AttributeValue)>) {
    c.dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(
            item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ))
        .send()
        .await
        .unwrap();
}

fn ddb_source(stream_arn: &str) -> StreamSource {
    StreamSource {
        timing: fast(),
        ..StreamSource::new(
            StreamKind::DynamoDb {
                stream_arn: stream_arn.to_owned(),
            },
            REGION,
        )
    }
}

#[tokio::test]
async fn dynamodb_changes_arrive_in_order_with_their_images() {
    let moto = Moto::start();
    let c = moto.clients().await;
    create_table(&c, "orders", true).await;
    create_table(&c, "plain", false).await;
    assert!(matches!(
        table_stream_arn(&c, "missing").await,
        Err(StreamError::MissingTable(t)) if t == "missing"
    ));
    assert!(matches!(
        table_stream_arn(&c, "plain").await,
        Err(StreamError::NoStream(t)) if t == "plain"
    ));
    let arn = table_stream_arn(&c, "orders").await.unwrap();

    put_item(
        &c,
        "orders",
        vec![
            ("pk", s("o-1")),
            ("qty", n("1")),
            ("tags", AttributeValue::Ss(vec!["new".into()])),
            ("blob", AttributeValue::B(Blob::new(b"xy".to_vec()))),
            (
                "address",
                AttributeValue::M([("city".to_owned(), s("Lyon"))].into()),
            ),
            ("lines", AttributeValue::L(vec![n("2"), s("x")])),
            ("paid", AttributeValue::Bool(false)),
            ("note", AttributeValue::Null(true)),
        ],
    )
    .await;
    put_item(&c, "orders", vec![("pk", s("o-1")), ("qty", n("2"))]).await;
    c.dynamodb
        .delete_item()
        .table_name("orders")
        .key("pk", s("o-1"))
        .send()
        .await
        .unwrap();

    let rec = Recorder::ok();
    let poller = Poller::stream(&c, ddb_source(&arn), rec.clone());
    rec.wait_records(3).await;
    put_item(&c, "orders", vec![("pk", s("o-2"))]).await;
    rec.wait_records(4).await;
    let calls = rec.settle().await;
    poller.stop().await;

    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(
        calls[0].summary,
        "3 records from table orders (INSERT, MODIFY, REMOVE)"
    );
    assert_eq!(calls[1].summary, "1 record from table orders (INSERT)");
    let records = calls[0].records();
    assert_eq!(
        records[0]["dynamodb"]["NewImage"],
        json!({
            "address": {"M": {"city": {"S": "Lyon"}}},
            "blob": {"B": "eHk="},
            "lines": {"L": [{"N": "2"}, {"S": "x"}]},
            "note": {"NULL": true},
            "paid": {"BOOL": false},
            "pk": {"S": "o-1"},
            "qty": {"N": "1"},
            "tags": {"SS": ["new"]}
        })
    );
    assert!(records[0]["dynamodb"].get("OldImage").is_none());
    assert_eq!(records[1]["dynamodb"]["OldImage"]["qty"], json!({"N": "1"}));
    assert_eq!(records[1]["dynamodb"]["NewImage"]["qty"], json!({"N": "2"}));
    assert!(records[2]["dynamodb"].get("NewImage").is_none());
    assert_eq!(records[2]["dynamodb"]["OldImage"]["qty"], json!({"N": "2"}));

    let mut sequence = Vec::new();
    for call in &calls {
        let event: DynamoDbEvent = serde_json::from_value(call.event.clone()).unwrap();
        for record in &event.records {
            assert_eq!(record.event_source.as_deref(), Some("aws:dynamodb"));
            assert_eq!(record.event_source_arn.as_deref(), Some(arn.as_str()));
            assert_eq!(record.aws_region, REGION);
            assert!(!record.event_id.is_empty());
            assert!(record.change.size_bytes > 0);
            assert_eq!(
                record
                    .change
                    .stream_view_type
                    .as_ref()
                    .map(ToString::to_string),
                Some("NEW_AND_OLD_IMAGES".to_owned())
            );
            assert_eq!(record.change.keys.len(), 1);
            sequence.push((
                record.event_name.clone(),
                record.change.sequence_number.clone().unwrap(),
            ));
        }
    }
    let names: Vec<&str> = sequence.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE", "INSERT"]);
    let seqs: Vec<u128> = sequence.iter().map(|(_, s)| s.parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[tokio::test]
async fn dynamodb_partial_failure_redelivers_from_the_failed_record() {
    let moto = Moto::start();
    let c = moto.clients().await;
    create_table(&c, "jobs", true).await;
    let arn = table_stream_arn(&c, "jobs").await.unwrap();
    for pk in ["j1", "j2", "j3"] {
        put_item(&c, "jobs", vec![("pk", s(pk))]).await;
    }
    let rec = Recorder::scripted(|i, call| {
        if i == 0 {
            let seq = &call.records()[1]["dynamodb"]["SequenceNumber"];
            Delivered::Ok(json!({"batchItemFailures": [{"itemIdentifier": seq}]}))
        } else {
            Delivered::Ok(Value::Null)
        }
    });
    let poller = Poller::stream(&c, ddb_source(&arn), rec.clone());
    rec.wait_calls(2).await;
    let calls = rec.settle().await;
    poller.stop().await;
    let keys = |call: &Call| -> Vec<String> {
        call.records()
            .iter()
            .map(|r| {
                r["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let batches: Vec<Vec<String>> = calls.iter().map(keys).collect();
    assert_eq!(batches, [vec!["j1", "j2", "j3"], vec!["j2", "j3"]]);
}

#[tokio::test]
async fn shutdown_stops_pollers_promptly() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = create_stream(&c, "quiet", 2).await;

    // Idle: polling both shards.
    let rec = Recorder::ok();
    let poller = Poller::stream(
        &c,
        kinesis_source(&arn, StartingPosition::Latest),
        rec.clone(),
    );
    wait_polling(&c).await;
    let took = poller.stop().await;
    assert!(took < Duration::from_millis(200), "took {took:?}");

    // An invocation that never returns does not hold shutdown up.
    put_all(&c, &arn, &["stuck"]).await;
    let rec = Recorder::hanging();
    let poller = Poller::stream(
        &c,
        kinesis_source(&arn, StartingPosition::TrimHorizon),
        rec.clone(),
    );
    rec.wait_calls(1).await;
    let took = poller.stop().await;
    assert!(took < Duration::from_millis(200), "took {took:?}");

    // The sender gone counts as shutdown too.
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run(
        c.clone(),
        kinesis_source(&arn, StartingPosition::Latest),
        Recorder::ok(),
        shutdown,
    ));
    drop(stop);
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // A stream that does not exist is an error, not a silent wait.
    let (_stop, shutdown) = watch::channel(false);
    let missing = format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/missing");
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        run(
            c.clone(),
            kinesis_source(&missing, StartingPosition::Latest),
            Recorder::ok(),
            shutdown,
        ),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

/// PutRecord to deliver() with the default timing (300 ms idle polls), printed for the README.
#[tokio::test]
async fn a_record_reaches_the_handler_well_under_a_second() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let arn = create_stream(&c, "latency", 1).await;
    let rec = Recorder::ok();
    let poller = Poller::stream(
        &c,
        StreamSource::new(
            StreamKind::Kinesis {
                stream_arn: arn.clone(),
            },
            REGION,
        ),
        rec.clone(),
    );
    wait_polling(&c).await;
    let mut latencies = Vec::new();
    for i in 0..8 {
        let before = Instant::now();
        put(&c, &arn, &format!("r{i}"), None).await;
        let calls = rec.wait_calls(i + 1).await;
        latencies.push(calls[i].at - before);
        // Land at different points of the poll cycle.
        tokio::time::sleep(Duration::from_millis(37 * (i as u64 + 1))).await;
    }
    poller.stop().await;
    let max = latencies.iter().max().copied().unwrap_or_default();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    eprintln!("PutRecord -> deliver(): mean {mean:?}, max {max:?} ({latencies:?})");
    assert!(max < Duration::from_millis(800), "{latencies:?}");
}
