//! The messages an SQS poller receives, and Lambda's SQS event made of them.
//!
//! [`Shape`] says what a queue's messages are: the app's own (delivered as SQS batch events) or
//! notifications from SNS, S3 or EventBridge on a queue the runner owns (see [`super::routed`]).

use std::collections::BTreeMap;

use aws_sdk_sqs::types::Message;
use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::{Map, Value, json};

/// What a queue's messages are, and so what the handler is invoked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The app's own queue: the handler gets SQS batch events.
    Queue,
    /// A runner-owned queue subscribed to a topic: one SNS event per message.
    Topic {
        /// The function's lambda subscription ARN, for `EventSubscriptionArn` (what Lambda would show).
        subscription_arn: String,
    },
    /// A runner-owned queue in a bucket's notification configuration: one S3 event per message.
    Bucket,
    /// A runner-owned queue targeted by an EventBridge rule: one EventBridge event per message.
    Rule,
}

/// One received message, kept as the poller needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    /// System attributes (`ApproximateReceiveCount`, `SentTimestamp`, ...), by name.
    pub attributes: BTreeMap<String, String>,
    /// Message attributes in Lambda's shape (`{stringValue, binaryValue, ..., dataType}`), by name.
    pub message_attributes: Map<String, Value>,
}

impl Received {
    /// `None` for a message without an id or receipt handle (SQS always sends both).
    pub fn from_sdk(m: &Message) -> Option<Received> {
        let body = m.body().unwrap_or_default().to_string();
        let md5_of_body = match m.md5_of_body() {
            Some(md5) => md5.to_string(),
            None => hex::encode(Md5::digest(body.as_bytes())),
        };
        let attributes = m
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let message_attributes = m
            .message_attributes()
            .map(|a| {
                a.iter()
                    .map(|(name, v)| (name.clone(), lambda_attribute(v)))
                    .collect()
            })
            .unwrap_or_default();
        Some(Received {
            message_id: m.message_id()?.to_string(),
            receipt_handle: m.receipt_handle()?.to_string(),
            body,
            md5_of_body,
            md5_of_message_attributes: m.md5_of_message_attributes().map(str::to_string),
            attributes,
            message_attributes,
        })
    }

    /// `ApproximateReceiveCount`: 1 on the first delivery, 2 on the first redelivery, ...
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1)
    }

    /// `SentTimestamp` in milliseconds since the epoch.
    pub fn sent_millis(&self) -> Option<u64> {
        self.attributes.get("SentTimestamp")?.parse().ok()
    }
}

/// A message attribute as Lambda's SQS event spells it.
fn lambda_attribute(v: &aws_sdk_sqs::types::MessageAttributeValue) -> Value {
    let b64 = |b: &aws_smithy_types::Blob| base64::engine::general_purpose::STANDARD.encode(b);
    let mut a = Map::new();
    if let Some(s) = v.string_value() {
        a.insert("stringValue".into(), json!(s));
    }
    if let Some(b) = v.binary_value() {
        a.insert("binaryValue".into(), json!(b64(b)));
    }
    a.insert("stringListValues".into(), json!(v.string_list_values()));
    let binaries: Vec<String> = v.binary_list_values().iter().map(b64).collect();
    a.insert("binaryListValues".into(), json!(binaries));
    a.insert("dataType".into(), json!(v.data_type()));
    Value::Object(a)
}

/// System attributes in the order Lambda's events list them; others follow by name.
const ATTRIBUTE_ORDER: [&str; 4] = [
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
];

/// Lambda's SQS event for `batch`.
pub fn sqs_event(queue_arn: &str, region: &str, batch: &[Received]) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|m| {
            let mut attributes = Map::new();
            for name in ATTRIBUTE_ORDER {
                if let Some(v) = m.attributes.get(name) {
                    attributes.insert(name.into(), json!(v));
                }
            }
            for (name, v) in &m.attributes {
                if !ATTRIBUTE_ORDER.contains(&name.as_str()) {
                    attributes.insert(name.clone(), json!(v));
                }
            }
            let mut r = Map::new();
            r.insert("messageId".into(), json!(m.message_id));
            r.insert("receiptHandle".into(), json!(m.receipt_handle));
            r.insert("body".into(), json!(m.body));
            r.insert("attributes".into(), Value::Object(attributes));
            r.insert(
                "messageAttributes".into(),
                Value::Object(m.message_attributes.clone()),
            );
            if let Some(md5) = &m.md5_of_message_attributes {
                r.insert("md5OfMessageAttributes".into(), json!(md5));
            }
            r.insert("md5OfBody".into(), json!(m.md5_of_body));
            r.insert("eventSource".into(), json!("aws:sqs"));
            r.insert("eventSourceARN".into(), json!(queue_arn));
            r.insert("awsRegion".into(), json!(region));
            Value::Object(r)
        })
        .collect();
    json!({ "Records": records })
}

#[cfg(test)]
pub(super) mod tests {
    use aws_sdk_sqs::primitives::Blob;
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};

    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders";

    pub(in crate::local::pollers::sqs) fn message(id: &str, receive: u32) -> Received {
        let m = Message::builder()
            .message_id(id)
            .receipt_handle(format!("rh-{id}"))
            .body(format!("body {id}"))
            .attributes(
                MessageSystemAttributeName::ApproximateReceiveCount,
                receive.to_string(),
            )
            .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000")
            .attributes(MessageSystemAttributeName::SenderId, "AIDAEXAMPLE")
            .attributes(
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                "1700000000002",
            )
            .message_attributes(
                "kind",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("order")
                    .build()
                    .unwrap(),
            )
            .message_attributes(
                "raw",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(Blob::new(b"hi".to_vec()))
                    .build()
                    .unwrap(),
            )
            .build();
        Received::from_sdk(&m).unwrap()
    }

    #[test]
    fn the_event_is_lambdas() {
        let event = sqs_event(ARN, "us-east-1", &[message("a", 1)]);
        let r = &event["Records"][0];
        assert_eq!(r["messageId"], "a");
        assert_eq!(r["receiptHandle"], "rh-a");
        assert_eq!(r["body"], "body a");
        // md5 computed when SQS sent none
        assert_eq!(r["md5OfBody"], hex::encode(Md5::digest(b"body a")));
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(
            r["eventSourceARN"],
            "arn:aws:sqs:us-east-1:123456789012:orders"
        );
        assert_eq!(r["awsRegion"], "us-east-1");
        let names: Vec<&String> = r["attributes"].as_object().unwrap().keys().collect();
        assert_eq!(names, ATTRIBUTE_ORDER);
        assert_eq!(
            r["messageAttributes"]["kind"],
            json!({"stringValue": "order", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
        );
        assert_eq!(r["messageAttributes"]["raw"]["binaryValue"], "aGk=");
        assert!(r["messageAttributes"]["raw"].get("stringValue").is_none());
    }
}
