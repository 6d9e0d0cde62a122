//! Kinesis and DynamoDB stream records as Lambda's events carry them, and a batch's summary.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use super::source::StreamKind;
use crate::local::filter::kinesis_view;
use crate::resources::sources::arn_parts;

/// One record as the handler receives it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Item {
    pub(super) seq: String,
    pub(super) record: Value,
    /// Its size in the event, in bytes.
    pub(super) size: usize,
    /// DynamoDB's `eventName`, for the summary.
    pub(super) event_name: Option<String>,
}

impl Item {
    pub(super) fn new(seq: String, record: Value, event_name: Option<String>) -> Item {
        // Serialising a Value cannot fail (its map keys are strings).
        let size = serde_json::to_vec(&record).map_or(0, |v| v.len()) + 1;
        Item {
            seq,
            record,
            size,
            event_name,
        }
    }
}

/// When the record reached the stream (Kinesis' `approximateArrivalTimestamp`, DynamoDB's
/// `ApproximateCreationDateTime`, both in seconds).
pub(super) fn arrival(record: &Value) -> Option<SystemTime> {
    let secs = record
        .pointer("/kinesis/approximateArrivalTimestamp")
        .or_else(|| record.pointer("/dynamodb/ApproximateCreationDateTime"))?
        .as_f64()?;
    (secs.is_finite() && secs >= 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// The record as the mapping's filters see it.
pub(super) fn filter_view(kind: &StreamKind, record: &Value) -> Value {
    match kind {
        StreamKind::Kinesis { .. } => kinesis_view(record),
        StreamKind::DynamoDb { .. } => record.clone(),
    }
}

/// `3 records from mystream (shardId-000000000000)` / `1 record from table orders (INSERT)`.
pub(super) fn summary(kind: &StreamKind, shard: &str, items: &[Item]) -> String {
    let n = items.len();
    let noun = if n == 1 { "record" } else { "records" };
    match kind {
        StreamKind::Kinesis { stream_arn } => {
            let name = arn_resource(stream_arn);
            let name = name.strip_prefix("stream/").unwrap_or(name);
            format!("{n} {noun} from {name} ({shard})")
        }
        StreamKind::DynamoDb { stream_arn } => {
            let resource = arn_resource(stream_arn);
            let table = resource
                .strip_prefix("table/")
                .and_then(|r| r.split('/').next())
                .unwrap_or(resource);
            let mut names: Vec<&str> = Vec::new();
            for name in items.iter().filter_map(|i| i.event_name.as_deref()) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            format!("{n} {noun} from table {table} ({})", names.join(", "))
        }
    }
}

/// The resource part of an ARN (the whole string when it is not one).
fn arn_resource(arn: &str) -> &str {
    arn_parts(arn).map_or(arn, |p| p.resource)
}

/// What a Kinesis event record says besides the record itself.
pub(super) struct KinesisContext<'a> {
    pub(super) stream_arn: &'a str,
    pub(super) shard_id: &'a str,
    pub(super) region: &'a str,
    pub(super) invoke_identity_arn: Option<&'a str>,
}

/// A Kinesis record as Lambda delivers it.
pub(super) fn kinesis_record(r: &aws_sdk_kinesis::types::Record, ctx: &KinesisContext<'_>) -> Item {
    let seq = r.sequence_number();
    let arrival = r.approximate_arrival_timestamp().map_or(0.0, |t| {
        // Lambda gives milliseconds, as fractional seconds.
        t.to_millis()
            .map_or_else(|_| t.as_secs_f64(), |ms| ms as f64 / 1000.0)
    });
    let mut kinesis = json!({
        "kinesisSchemaVersion": "1.0",
        "partitionKey": r.partition_key().unwrap_or_default(),
        "sequenceNumber": seq,
        "data": BASE64.encode(r.data().as_ref()),
        "approximateArrivalTimestamp": arrival,
    });
    if r.encryption_type() == Some(&aws_sdk_kinesis::types::EncryptionType::Kms) {
        kinesis["encryptionType"] = json!("KMS");
    }
    let mut record = Map::new();
    record.insert("kinesis".into(), kinesis);
    record.insert("eventSource".into(), json!("aws:kinesis"));
    record.insert("eventVersion".into(), json!("1.0"));
    record.insert("eventID".into(), json!(format!("{}:{seq}", ctx.shard_id)));
    record.insert("eventName".into(), json!("aws:kinesis:record"));
    if let Some(arn) = ctx.invoke_identity_arn {
        record.insert("invokeIdentityArn".into(), json!(arn));
    }
    record.insert("awsRegion".into(), json!(ctx.region));
    record.insert("eventSourceARN".into(), json!(ctx.stream_arn));
    Item::new(seq.to_owned(), Value::Object(record), None)
}

/// A DynamoDB stream record as Lambda delivers it; `None` without a sequence number (never on AWS).
pub(super) fn dynamodb_record(
    r: &aws_sdk_dynamodbstreams::types::Record,
    stream_arn: &str,
    region: &str,
) -> Option<Item> {
    let change = r.dynamodb()?;
    let seq = change.sequence_number()?;
    let event_name = r.event_name().map(|n| n.as_str().to_owned());
    let mut dynamodb = Map::new();
    if let Some(t) = change.approximate_creation_date_time() {
        // Whole seconds, as Lambda's events have them.
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
    }
    dynamodb.insert("Keys".into(), item_json(change.keys()));
    if let Some(image) = change.new_image() {
        dynamodb.insert("NewImage".into(), item_json(Some(image)));
    }
    if let Some(image) = change.old_image() {
        dynamodb.insert("OldImage".into(), item_json(Some(image)));
    }
    dynamodb.insert("SequenceNumber".into(), json!(seq));
    dynamodb.insert("SizeBytes".into(), json!(change.size_bytes().unwrap_or(0)));
    if let Some(view) = change.stream_view_type() {
        dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
    }
    let mut record = Map::new();
    record.insert("eventID".into(), json!(r.event_id().unwrap_or_default()));
    record.insert(
        "eventName".into(),
        json!(event_name.as_deref().unwrap_or_default()),
    );
    // Passed through: "1.1" on AWS (moto says "1.0").
    record.insert(
        "eventVersion".into(),
        json!(r.event_version().unwrap_or("1.1")),
    );
    record.insert("eventSource".into(), json!("aws:dynamodb"));
    // The mapping's region, which is the table's on AWS (moto always says us-east-1).
    record.insert("awsRegion".into(), json!(region));
    record.insert("dynamodb".into(), Value::Object(dynamodb));
    if let Some(identity) = r.user_identity() {
        // TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}.
        record.insert(
            "userIdentity".into(),
            json!({
                "type": identity.r#type().unwrap_or_default(),
                "principalId": identity.principal_id().unwrap_or_default(),
            }),
        );
    }
    record.insert("eventSourceARN".into(), json!(stream_arn));
    Some(Item::new(seq.to_owned(), Value::Object(record), event_name))
}

/// An item (a map of attributes) in DynamoDB JSON, attributes sorted by name.
fn item_json(
    item: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>,
) -> Value {
    let sorted: BTreeMap<&String, Value> = item
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, attribute_json(v)?)))
        .collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

/// One attribute value in DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, `{"B": base64}`, ...); `None` for
/// a type this SDK does not know.
fn attribute_json(v: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Option<Value> {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    let b64 = |b: &aws_smithy_types::Blob| BASE64.encode(b.as_ref());
    Some(match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::B(b) => json!({ "B": b64(b) }),
        A::Ss(v) => json!({ "SS": v }),
        A::Ns(v) => json!({ "NS": v }),
        A::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        A::M(m) => json!({ "M": item_json(Some(m)) }),
        A::L(l) => json!({ "L": l.iter().filter_map(attribute_json).collect::<Vec<_>>() }),
        A::Null(b) => json!({ "NULL": b }),
        A::Bool(b) => json!({ "BOOL": b }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue as A, Identity, OperationType, Record as DdbRecord, StreamRecord,
        StreamViewType,
    };
    use aws_sdk_kinesis::types::Record as KinesisRecord;
    use aws_smithy_types::{Blob, DateTime};

    use super::*;
    use crate::local::pollers::streams::source::tests::{STREAM, TABLE_STREAM};

    fn ctx(identity: Option<&'static str>) -> KinesisContext<'static> {
        KinesisContext {
            stream_arn: STREAM,
            shard_id: "shardId-000000000001",
            region: "eu-west-1",
            invoke_identity_arn: identity,
        }
    }

    fn kinesis(seq: &str, data: &[u8]) -> KinesisRecord {
        KinesisRecord::builder()
            .sequence_number(seq)
            .data(Blob::new(data))
            .partition_key("pk-1")
            .approximate_arrival_timestamp(DateTime::from_millis(1_704_067_200_123))
            .build()
            .unwrap()
    }

    #[test]
    fn kinesis_records_are_lambdas() {
        let item = kinesis_record(
            &kinesis("4959", b"Hello"),
            &ctx(Some("arn:aws:iam::111122223333:role/app-dev")),
        );
        assert_eq!(item.seq, "4959");
        assert_eq!(
            item.record,
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "pk-1",
                    "sequenceNumber": "4959",
                    "data": "SGVsbG8=",
                    "approximateArrivalTimestamp": 1_704_067_200.123
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": "shardId-000000000001:4959",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::111122223333:role/app-dev",
                "awsRegion": "eu-west-1",
                "eventSourceARN": STREAM
            })
        );
        let event: aws_lambda_events::event::kinesis::KinesisEvent =
            serde_json::from_value(json!({ "Records": [item.record] })).unwrap();
        let record = &event.records[0];
        assert_eq!(record.kinesis.data.0, b"Hello");
        assert_eq!(record.kinesis.sequence_number, "4959");
        assert_eq!(
            record.event_id.as_deref(),
            Some("shardId-000000000001:4959")
        );
        let millis = record
            .kinesis
            .approximate_arrival_timestamp
            .0
            .timestamp_millis();
        assert!((millis - 1_704_067_200_123).abs() <= 1, "{millis}");
        // Without an identity the field is left out (it is optional for handlers too).
        let item = kinesis_record(&kinesis("1", b""), &ctx(None));
        assert!(item.record.get("invokeIdentityArn").is_none());
        assert_eq!(item.record["kinesis"]["data"], "");
    }

    fn every_type() -> HashMap<String, A> {
        let nested = HashMap::from([("inner".to_owned(), A::S("x".into()))]);
        HashMap::from([
            ("s".to_owned(), A::S("text".into())),
            ("n".to_owned(), A::N("12.5".into())),
            ("b".to_owned(), A::B(Blob::new(b"xy"))),
            ("ss".to_owned(), A::Ss(vec!["a".into(), "b".into()])),
            ("ns".to_owned(), A::Ns(vec!["1".into(), "2".into()])),
            (
                "bs".to_owned(),
                A::Bs(vec![Blob::new(b"a"), Blob::new(b"b")]),
            ),
            ("m".to_owned(), A::M(nested)),
            ("l".to_owned(), A::L(vec![A::N("1".into()), A::Bool(false)])),
            ("null".to_owned(), A::Null(true)),
            ("bool".to_owned(), A::Bool(true)),
        ])
    }

    fn ddb(seq: &str, name: OperationType, new: bool, old: bool) -> DdbRecord {
        let mut change = StreamRecord::builder()
            .approximate_creation_date_time(DateTime::from_millis(1_704_067_200_999))
            .keys("id", A::S("o-1".into()))
            .sequence_number(seq)
            .size_bytes(42)
            .stream_view_type(StreamViewType::NewAndOldImages);
        if new {
            change = change.set_new_image(Some(every_type()));
        }
        if old {
            change =
                change.set_old_image(Some(HashMap::from([("id".to_owned(), A::S("o-1".into()))])));
        }
        DdbRecord::builder()
            .event_id("e1")
            .event_name(name)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("us-east-1")
            .dynamodb(change.build())
            .build()
    }

    #[test]
    fn dynamodb_records_are_lambdas() {
        let item = dynamodb_record(
            &ddb("111", OperationType::Modify, true, true),
            TABLE_STREAM,
            "eu-west-1",
        )
        .unwrap();
        assert_eq!(item.seq, "111");
        assert_eq!(item.event_name.as_deref(), Some("MODIFY"));
        assert_eq!(
            item.record,
            json!({
                "eventID": "e1",
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_704_067_200,
                    "Keys": { "id": { "S": "o-1" } },
                    "NewImage": {
                        "b": { "B": "eHk=" },
                        "bool": { "BOOL": true },
                        "bs": { "BS": ["YQ==", "Yg=="] },
                        "l": { "L": [{ "N": "1" }, { "BOOL": false }] },
                        "m": { "M": { "inner": { "S": "x" } } },
                        "n": { "N": "12.5" },
                        "ns": { "NS": ["1", "2"] },
                        "null": { "NULL": true },
                        "s": { "S": "text" },
                        "ss": { "SS": ["a", "b"] }
                    },
                    "OldImage": { "id": { "S": "o-1" } },
                    "SequenceNumber": "111",
                    "SizeBytes": 42,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": TABLE_STREAM
            })
        );
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(json!({ "Records": [item.record] })).unwrap();
        let change = &event.records[0].change;
        assert_eq!(change.sequence_number.as_deref(), Some("111"));
        assert_eq!(change.size_bytes, 42);
        assert_eq!(change.new_image.len(), 10);
        assert_eq!(change.old_image.len(), 1);
        assert_eq!(event.records[0].event_name, "MODIFY");
    }

    #[test]
    fn dynamodb_ttl_deletions_name_the_service() {
        let plain = ddb("7", OperationType::Remove, false, true);
        let record = DdbRecord::builder()
            .set_event_id(plain.event_id().map(str::to_owned))
            .event_name(OperationType::Remove)
            .set_dynamodb(plain.dynamodb().cloned())
            .user_identity(
                Identity::builder()
                    .r#type("Service")
                    .principal_id("dynamodb.amazonaws.com")
                    .build(),
            )
            .build();
        let item = dynamodb_record(&record, TABLE_STREAM, "eu-west-1").unwrap();
        assert_eq!(
            item.record["userIdentity"],
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        );
        assert!(item.record["dynamodb"].get("NewImage").is_none());
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(json!({ "Records": [item.record] })).unwrap();
        assert_eq!(
            event.records[0].user_identity.as_ref().unwrap().type_,
            "Service"
        );
        // No sequence number: nothing to checkpoint, so no record.
        let bare = DdbRecord::builder()
            .dynamodb(StreamRecord::builder().build())
            .build();
        assert_eq!(dynamodb_record(&bare, TABLE_STREAM, "eu-west-1"), None);
    }

    fn named(event_name: &str) -> Item {
        Item::new("1".into(), json!({}), Some(event_name.into()))
    }

    #[test]
    fn summaries_name_the_stream_and_what_happened() {
        let k = StreamKind::Kinesis {
            stream_arn: STREAM.into(),
        };
        let items = vec![Item::new("1".into(), json!({}), None); 3];
        assert_eq!(
            summary(&k, "shardId-000000000000", &items),
            "3 records from clicks (shardId-000000000000)"
        );
        assert_eq!(
            summary(&k, "shardId-000000000000", &items[..1]),
            "1 record from clicks (shardId-000000000000)"
        );
        let d = StreamKind::DynamoDb {
            stream_arn: TABLE_STREAM.into(),
        };
        assert_eq!(
            summary(&d, "s", &[named("INSERT")]),
            "1 record from table orders (INSERT)"
        );
        assert_eq!(
            summary(
                &d,
                "s",
                &[named("INSERT"), named("MODIFY"), named("INSERT")]
            ),
            "3 records from table orders (INSERT, MODIFY)"
        );
    }
}
