//! What `deployer local send` sends a handler's source, per kind, made from a payload (an event
//! file, the app's sample, or a generic one): no AWS call here, so every shape is unit-tested.
//!
//! | kind | the payload is | sent as |
//! | --- | --- | --- |
//! | queue | the message body | SendMessage |
//! | bucket | the object's content (key: `--key`, else one under the binding's prefix and suffix) | PutObject |
//! | topic | the message, or `{"Subject": ..., "Message": ...}` | Publish |
//! | stream | the record's data (partition key: `--partition-key`, else `1`) | PutRecord |
//! | table | the item: DynamoDB JSON, or plain JSON converted | PutItem |
//! | rule | the event's detail, or a whole `{source, detail-type, detail}` | PutEvents |
//! | schedule | nothing: the runner fires it | |
//!
//! A body that is a JSON string is sent as that string's text; any other JSON as compact JSON; a
//! file that is not JSON as its text.

use chalice_lambda::samples::{Origin, SampleContext};
use serde_json::{Map, Value, json};

/// The partition key of a stream record when none is given.
pub const DEFAULT_PARTITION_KEY: &str = "1";

/// The generic payloads (those of `deployer sample`'s events), for handlers the app has no sample of.
pub mod generic {
    /// A queue message body.
    pub const MESSAGE_BODY: &str = "Test message.";
    /// A topic message's subject and text.
    pub const SUBJECT: &str = "example subject";
    pub const MESSAGE: &str = "example message";
    /// A stream record's data.
    pub const RECORD: &str = "Hello, this is a test.";
    /// An object's content.
    pub const OBJECT: &str = "Hello, this is a test.";
}

/// Where the payload comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// An event file's bytes or the app's sample.
    Given(Vec<u8>),
    /// The tool's generic payload for the kind.
    Generic,
}

/// What the command line adds to the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// A bucket's object key.
    pub key: Option<String>,
    /// A stream record's partition key.
    pub partition_key: Option<String>,
    /// A rule's event bus (its name or ARN), when not the default bus.
    pub bus: Option<String>,
}

/// One event, ready to send to its source.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Message {
        queue_arn: String,
        body: String,
    },
    Object {
        bucket: String,
        key: String,
        content: Vec<u8>,
        content_type: &'static str,
    },
    Notification {
        topic_arn: String,
        subject: Option<String>,
        message: String,
    },
    Record {
        stream_arn: String,
        partition_key: String,
        data: Vec<u8>,
    },
    /// `item` is DynamoDB JSON (`{"Id": {"S": "o-1"}}`).
    Item {
        stream_arn: String,
        table: String,
        item: Map<String, Value>,
    },
    Event {
        bus: Option<String>,
        source: String,
        detail_type: String,
        /// The detail, as JSON text.
        detail: String,
        resources: Vec<String>,
    },
    /// A schedule: the runner fires it.
    Fire {
        schedule: String,
    },
}

/// Why a payload does not fit its kind.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("a {kind} payload must be text (UTF-8)")]
    NotText { kind: &'static str },
    #[error("a {kind} payload must be JSON: {what} ({source})")]
    NotJson {
        kind: &'static str,
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("a {kind} payload must be a JSON object: {what}")]
    NotAnObject {
        kind: &'static str,
        what: &'static str,
    },
    #[error("`{field}` of the event must be a string")]
    NotAString { field: &'static str },
    #[error("cannot tell the table of stream {0}")]
    NoTable(String),
}

const ITEM: &str = "the item, as DynamoDB JSON or plain JSON";
const EVENT: &str = "the event's detail, or a whole {\"source\", \"detail-type\", \"detail\"}";

/// The delivery of `payload` to `handler`'s source `origin`; `sample` fills a rule's generic event.
pub fn shape(
    handler: &str,
    origin: &Origin,
    payload: &Payload,
    extras: &Extras,
    sample: &SampleContext,
) -> Result<Delivery, ShapeError> {
    let kind = origin.kind().keyword();
    Ok(match origin {
        Origin::Schedule { .. } => Delivery::Fire {
            schedule: handler.to_owned(),
        },
        Origin::Queue { queue_arn } => Delivery::Message {
            queue_arn: queue_arn.clone(),
            body: match payload {
                Payload::Given(bytes) => text(bytes, kind)?,
                Payload::Generic => generic::MESSAGE_BODY.to_owned(),
            },
        },
        Origin::Bucket { bucket, key, .. } => {
            let key = extras.key.clone().unwrap_or_else(|| key.clone());
            Delivery::Object {
                bucket: bucket.clone(),
                content_type: content_type(&key),
                key,
                content: match payload {
                    Payload::Given(bytes) => bytes.clone(),
                    Payload::Generic => generic::OBJECT.as_bytes().to_vec(),
                },
            }
        }
        Origin::Topic { topic_arn } => {
            let (subject, message) = match payload {
                Payload::Given(bytes) => notification(bytes)?,
                Payload::Generic => (
                    Some(generic::SUBJECT.to_owned()),
                    generic::MESSAGE.to_owned(),
                ),
            };
            Delivery::Notification {
                topic_arn: topic_arn.clone(),
                subject,
                message,
            }
        }
        Origin::Stream { stream_arn, .. } => Delivery::Record {
            stream_arn: stream_arn.clone(),
            partition_key: extras
                .partition_key
                .clone()
                .unwrap_or_else(|| DEFAULT_PARTITION_KEY.to_owned()),
            data: match payload {
                Payload::Given(bytes) => text(bytes, kind)?.into_bytes(),
                Payload::Generic => generic::RECORD.as_bytes().to_vec(),
            },
        },
        Origin::Table { stream_arn } => Delivery::Item {
            stream_arn: stream_arn.clone(),
            table: table_of(stream_arn).ok_or_else(|| ShapeError::NoTable(stream_arn.clone()))?,
            item: match payload {
                Payload::Given(bytes) => item(bytes)?,
                Payload::Generic => generic_item(),
            },
        },
        Origin::Rule { .. } => {
            let matching = origin.event(sample);
            let event = match payload {
                Payload::Given(bytes) => rule_event(bytes, matching)?,
                Payload::Generic => matching,
            };
            event_delivery(&event, extras.bus.clone())?
        }
    })
}

/// A body or record's text: a JSON string's contents, other JSON compacted, else the bytes' text.
fn text(bytes: &[u8], kind: &'static str) -> Result<String, ShapeError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::String(text)) => Ok(text),
        Ok(value) => Ok(value.to_string()),
        Err(_) => String::from_utf8(bytes.to_vec()).map_err(|_| ShapeError::NotText { kind }),
    }
}

/// `{"Subject": S, "Message": M}` (either case), else the whole payload is the message.
fn notification(bytes: &[u8]) -> Result<(Option<String>, String), ShapeError> {
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(bytes) {
        let field = |names: [&str; 2]| names.iter().find_map(|n| fields.get(*n));
        if let Some(Value::String(message)) = field(["Message", "message"]) {
            let known = ["Message", "message", "Subject", "subject"];
            if fields.keys().all(|k| known.contains(&k.as_str())) {
                let subject = field(["Subject", "subject"])
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                return Ok((subject, message.clone()));
            }
        }
    }
    Ok((None, text(bytes, "topic")?))
}

/// The item: DynamoDB JSON as it is, plain JSON converted.
fn item(bytes: &[u8]) -> Result<Map<String, Value>, ShapeError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|source| ShapeError::NotJson {
        kind: "table",
        what: ITEM,
        source,
    })?;
    let Value::Object(fields) = value else {
        return Err(ShapeError::NotAnObject {
            kind: "table",
            what: ITEM,
        });
    };
    if !fields.is_empty() && fields.values().all(is_attribute_value) {
        return Ok(fields);
    }
    Ok(fields
        .into_iter()
        .map(|(name, value)| (name, to_attribute_value(value)))
        .collect())
}

/// DynamoDB's type descriptors.
const TYPES: [&str; 10] = ["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"];

/// `{"S": "x"}`, `{"N": "1"}`, ...: one member named by a type descriptor.
fn is_attribute_value(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|o| o.len() == 1 && o.keys().all(|k| TYPES.contains(&k.as_str())))
}

/// Plain JSON as DynamoDB JSON: strings `S`, numbers `N`, booleans `BOOL`, null `NULL`, arrays
/// `L`, objects `M`.
fn to_attribute_value(value: Value) -> Value {
    match value {
        Value::Null => json!({ "NULL": true }),
        Value::Bool(b) => json!({ "BOOL": b }),
        Value::Number(n) => json!({ "N": n.to_string() }),
        Value::String(s) => json!({ "S": s }),
        Value::Array(items) => {
            json!({ "L": items.into_iter().map(to_attribute_value).collect::<Vec<_>>() })
        }
        Value::Object(fields) => json!({
            "M": fields
                .into_iter()
                .map(|(k, v)| (k, to_attribute_value(v)))
                .collect::<Map<String, Value>>()
        }),
    }
}

/// An item for a table the runner made (partition key `Id`, a string).
fn generic_item() -> Map<String, Value> {
    let mut item = Map::new();
    item.insert(
        crate::local::sources::TABLE_KEY.to_owned(),
        json!({ "S": "101" }),
    );
    item.insert("Message".to_owned(), json!({ "S": "New item!" }));
    item
}

/// `table/NAME/stream/LABEL` → `NAME`.
fn table_of(stream_arn: &str) -> Option<String> {
    stream_arn
        .splitn(6, ':')
        .nth(5)?
        .strip_prefix("table/")?
        .split('/')
        .next()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// A whole event (`source` and `detail-type` given) as it is; otherwise the payload is the detail
/// of `matching` (an event that matches the rule's pattern).
fn rule_event(bytes: &[u8], mut matching: Value) -> Result<Value, ShapeError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|source| ShapeError::NotJson {
        kind: "rule",
        what: EVENT,
        source,
    })?;
    let Value::Object(fields) = value else {
        return Err(ShapeError::NotAnObject {
            kind: "rule",
            what: EVENT,
        });
    };
    if fields.contains_key("source") && fields.contains_key("detail-type") {
        return Ok(Value::Object(fields));
    }
    if let Some(event) = matching.as_object_mut() {
        event.insert("detail".to_owned(), Value::Object(fields));
    }
    Ok(matching)
}

fn event_delivery(event: &Value, bus: Option<String>) -> Result<Delivery, ShapeError> {
    let string = |field: &'static str| {
        event
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(ShapeError::NotAString { field })
    };
    let detail = match event.get("detail") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(detail) => detail.to_string(),
    };
    let resources = event
        .get("resources")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Delivery::Event {
        bus: bus.filter(|b| b != "default"),
        source: string("source")?,
        detail_type: string("detail-type")?,
        detail,
        resources,
    })
}

/// The object's media type, judged by the key's extension.
pub fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn ctx() -> SampleContext {
        SampleContext::new("us-east-1").at(UNIX_EPOCH)
    }

    fn given(text: &str) -> Payload {
        Payload::Given(text.as_bytes().to_vec())
    }

    fn shaped(origin: &Origin, payload: &Payload) -> Delivery {
        shape("h", origin, payload, &Extras::default(), &ctx()).unwrap()
    }

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:my-queue";
    const STREAM: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks";
    const TABLE: &str =
        "arn:aws:dynamodb:eu-west-1:999988887777:table/orders/stream/2024-01-01T00:00:00.000";

    #[test]
    fn a_queue_gets_the_payload_as_its_body() {
        let queue = Origin::Queue {
            queue_arn: QUEUE.into(),
        };
        let body = |payload| match shaped(&queue, &payload) {
            Delivery::Message { body, .. } => body,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            body(given("{ \"id\": \"o-1\",\n  \"n\": 2 }\n")),
            r#"{"id":"o-1","n":2}"#
        );
        assert_eq!(body(given("\"just text\"")), "just text");
        assert_eq!(body(given("not json\n")), "not json\n");
        assert_eq!(body(Payload::Generic), "Test message.");
        let err = shape(
            "h",
            &queue,
            &Payload::Given(vec![0xff, 0xfe]),
            &Extras::default(),
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "a queue payload must be text (UTF-8)");
    }

    #[test]
    fn a_bucket_gets_an_object_under_the_bindings_prefix_or_the_given_key() {
        let bucket = Origin::Bucket {
            bucket: "b".into(),
            key: "images/example.png".into(),
            event_name: "ObjectCreated:Put".into(),
        };
        assert_eq!(
            shaped(&bucket, &given("png bytes")),
            Delivery::Object {
                bucket: "b".into(),
                key: "images/example.png".into(),
                content: b"png bytes".to_vec(),
                content_type: "image/png",
            }
        );
        let extras = Extras {
            key: Some("docs/a.json".into()),
            ..Extras::default()
        };
        let Delivery::Object {
            key, content_type, ..
        } = shape("h", &bucket, &Payload::Generic, &extras, &ctx()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (key.as_str(), content_type),
            ("docs/a.json", "application/json")
        );
    }

    #[test]
    fn a_topic_takes_a_subject_and_message_or_just_a_message() {
        let topic = Origin::Topic {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
        };
        let parts = |payload| match shaped(&topic, &payload) {
            Delivery::Notification {
                subject, message, ..
            } => (subject, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            parts(given(r#"{"Subject": "Shipped", "Message": "o-1 left"}"#)),
            (Some("Shipped".into()), "o-1 left".into())
        );
        assert_eq!(parts(given(r#"{"message": "hi"}"#)), (None, "hi".into()));
        assert_eq!(
            parts(given(r#"{"Message": "hi", "other": 1}"#)),
            (None, r#"{"Message":"hi","other":1}"#.into()),
            "an object with more is the message itself"
        );
        assert_eq!(parts(given("plain")), (None, "plain".into()));
        assert_eq!(
            parts(Payload::Generic),
            (Some("example subject".into()), "example message".into())
        );
    }

    #[test]
    fn a_stream_gets_the_data_and_a_partition_key() {
        let stream = Origin::Stream {
            stream_arn: STREAM.into(),
            role_arn: String::new(),
        };
        assert_eq!(
            shaped(&stream, &given(r#"{"page": "/a"}"#)),
            Delivery::Record {
                stream_arn: STREAM.into(),
                partition_key: "1".into(),
                data: br#"{"page":"/a"}"#.to_vec(),
            }
        );
        let extras = Extras {
            partition_key: Some("u-1".into()),
            ..Extras::default()
        };
        let Delivery::Record { partition_key, .. } =
            shape("h", &stream, &Payload::Generic, &extras, &ctx()).unwrap()
        else {
            panic!()
        };
        assert_eq!(partition_key, "u-1");
    }

    #[test]
    fn a_table_takes_dynamodb_json_or_plain_json() {
        let table = Origin::Table {
            stream_arn: TABLE.into(),
        };
        let item = |payload| match shaped(&table, &payload) {
            Delivery::Item { table, item, .. } => {
                assert_eq!(table, "orders");
                Value::Object(item)
            }
            other => panic!("{other:?}"),
        };
        let dynamo = json!({ "Id": { "S": "o-1" }, "Total": { "N": "12" } });
        assert_eq!(item(given(&dynamo.to_string())), dynamo);
        assert_eq!(
            item(given(
                r#"{"Id": "o-1", "Total": 12.5, "Paid": true, "Note": null, "Tags": ["a"], "Ship": {"To": "x"}}"#
            )),
            json!({
                "Id": { "S": "o-1" },
                "Total": { "N": "12.5" },
                "Paid": { "BOOL": true },
                "Note": { "NULL": true },
                "Tags": { "L": [{ "S": "a" }] },
                "Ship": { "M": { "To": { "S": "x" } } }
            })
        );
        assert_eq!(
            item(Payload::Generic),
            json!({ "Id": { "S": "101" }, "Message": { "S": "New item!" } })
        );
        for bad in ["[1]", "nope"] {
            let err = shape("h", &table, &given(bad), &Extras::default(), &ctx()).unwrap_err();
            assert!(
                err.to_string().starts_with("a table payload must be"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_rule_takes_a_detail_or_a_whole_event() {
        let rule = Origin::Rule {
            pattern: Some(json!({ "source": ["aws.codecommit"] })),
        };
        let Delivery::Event {
            bus,
            source,
            detail_type,
            detail,
            ..
        } = shaped(&rule, &given(r#"{"repositoryName": "r"}"#))
        else {
            panic!()
        };
        assert_eq!(bus, None);
        assert_eq!(source, "aws.codecommit");
        assert_eq!(detail_type, "CodeCommit Repository State Change");
        assert_eq!(detail, r#"{"repositoryName":"r"}"#);

        let whole = r#"{"source": "com.acme", "detail-type": "Order Placed", "detail": {"id": 1}}"#;
        let extras = Extras {
            bus: Some("orders-bus".into()),
            ..Extras::default()
        };
        assert_eq!(
            shape("h", &rule, &given(whole), &extras, &ctx()).unwrap(),
            Delivery::Event {
                bus: Some("orders-bus".into()),
                source: "com.acme".into(),
                detail_type: "Order Placed".into(),
                detail: r#"{"id":1}"#.into(),
                resources: vec![],
            }
        );
        let Delivery::Event { detail, .. } = shaped(&rule, &Payload::Generic) else {
            panic!()
        };
        assert!(
            detail.contains("\"repositoryName\":\"my-repo\""),
            "{detail}"
        );
    }

    #[test]
    fn a_schedule_is_fired() {
        let schedule = Origin::Schedule {
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/x".into(),
        };
        assert_eq!(
            shape(
                "nightly",
                &schedule,
                &Payload::Generic,
                &Extras::default(),
                &ctx()
            )
            .unwrap(),
            Delivery::Fire {
                schedule: "nightly".into()
            }
        );
    }
}
