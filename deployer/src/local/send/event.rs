//! The Lambda event a [`Delivery`] becomes: the sample event of the handler's source with the
//! payload in it (the body, message, data, item or detail), for `deployer invoke HANDLER --sample`
//! when the app has its own `samples/<handler>.json`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chalice_lambda::samples::{Origin, SampleContext};
use md5::{Digest as _, Md5};
use serde_json::{Value, json};

use super::shape::Delivery;

/// `origin`'s sample event at `sample.now`, carrying `delivery`'s payload.
pub fn lambda_event(origin: &Origin, delivery: &Delivery, sample: &SampleContext) -> Value {
    let mut event = origin.event(sample);
    match delivery {
        Delivery::Message { body, .. } => {
            if let Some(record) = event
                .pointer_mut("/Records/0")
                .and_then(Value::as_object_mut)
            {
                record.insert("body".into(), json!(body));
                record.insert(
                    "md5OfBody".into(),
                    json!(hex::encode(Md5::digest(body.as_bytes()))),
                );
            }
        }
        Delivery::Object { content, .. } => {
            if let Some(object) = event.pointer_mut("/Records/0/s3/object") {
                object["size"] = json!(content.len());
            }
        }
        Delivery::Notification {
            subject, message, ..
        } => {
            if let Some(sns) = event.pointer_mut("/Records/0/Sns") {
                sns["Subject"] = json!(subject);
                sns["Message"] = json!(message);
            }
        }
        Delivery::Record {
            partition_key,
            data,
            ..
        } => {
            if let Some(kinesis) = event.pointer_mut("/Records/0/kinesis") {
                kinesis["data"] = json!(STANDARD.encode(data));
                kinesis["partitionKey"] = json!(partition_key);
            }
        }
        Delivery::Item { item, .. } => {
            // One INSERT of the item (the sample's MODIFY dropped).
            if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
                records.truncate(1);
            }
            if let Some(change) = event.pointer_mut("/Records/0/dynamodb") {
                let keys: serde_json::Map<String, Value> = item
                    .iter()
                    .filter(|(name, _)| *name == crate::local::sources::TABLE_KEY)
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect();
                change["Keys"] = Value::Object(keys);
                change["NewImage"] = Value::Object(item.clone());
                if let Some(change) = change.as_object_mut() {
                    change.remove("OldImage");
                }
            }
        }
        Delivery::Event {
            source,
            detail_type,
            detail,
            resources,
            ..
        } => {
            event["source"] = json!(source);
            event["detail-type"] = json!(detail_type);
            event["detail"] = serde_json::from_str(detail).unwrap_or_else(|_| json!(detail));
            event["resources"] = json!(resources);
        }
        Delivery::Fire { .. } => {}
    }
    event
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::local::send::shape::{Extras, Payload, shape};

    fn event(origin: &Origin, payload: &str) -> Value {
        let ctx = SampleContext::new("us-east-1").at(UNIX_EPOCH);
        let payload = Payload::Given(payload.as_bytes().to_vec());
        let delivery = shape("h", origin, &payload, &Extras::default(), &ctx).unwrap();
        lambda_event(origin, &delivery, &ctx)
    }

    #[test]
    fn the_payload_goes_where_the_handler_reads_it() {
        let queue = Origin::Queue {
            queue_arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
        };
        let e = event(&queue, r#"{"id": "o-1"}"#);
        assert_eq!(e["Records"][0]["body"], r#"{"id":"o-1"}"#);
        assert_eq!(
            e["Records"][0]["md5OfBody"],
            hex::encode(Md5::digest(br#"{"id":"o-1"}"#))
        );

        let stream = Origin::Stream {
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s".into(),
            role_arn: String::new(),
        };
        let e = event(&stream, r#"{"page": "/a"}"#);
        assert_eq!(
            e["Records"][0]["kinesis"]["data"],
            STANDARD.encode(r#"{"page":"/a"}"#)
        );

        let table = Origin::Table {
            stream_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x".into(),
        };
        let e = event(&table, r#"{"Id": "o-1", "Status": "new"}"#);
        let records = e["Records"].as_array().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["eventName"], "INSERT");
        assert_eq!(
            records[0]["dynamodb"]["Keys"],
            json!({ "Id": { "S": "o-1" } })
        );
        assert_eq!(
            records[0]["dynamodb"]["NewImage"]["Status"],
            json!({ "S": "new" })
        );
        assert!(records[0]["dynamodb"].get("OldImage").is_none());

        let topic = Origin::Topic {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
        };
        let e = event(&topic, r#"{"Subject": "S", "Message": "M"}"#);
        assert_eq!(e["Records"][0]["Sns"]["Subject"], "S");
        assert_eq!(e["Records"][0]["Sns"]["Message"], "M");

        let rule = Origin::Rule {
            pattern: Some(json!({ "source": ["aws.codecommit"] })),
        };
        let e = event(&rule, r#"{"repositoryName": "r"}"#);
        assert_eq!(e["source"], "aws.codecommit");
        assert_eq!(e["detail"], json!({ "repositoryName": "r" }));
    }
}
