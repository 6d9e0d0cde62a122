//! Messages of the runner's routed queues turned back into Lambda's events.
//!
//! Locally nothing invokes the function for an SNS message, an S3 notification or an EventBridge event
//! (moto stores Lambda destinations but does not run them), so the runner adds an SQS destination of its
//! own beside the app's Lambda one ([`crate::local::routing`]), polls that queue ([`super`]) and converts
//! each message into what Lambda would have passed the handler: one invocation per message, retried
//! and given up as an asynchronous invocation is ([`crate::local::pollers::asynchronous`]), then
//! deleted.

use chrono::{NaiveDateTime, SecondsFormat};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use super::message::{Received, Shape};

/// What to do with one message of a routed queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Invoke the handler with `event`; `summary` is the output line's few words.
    Invoke { event: Value, summary: String },
    /// Delete it without invoking (S3's `s3:TestEvent`).
    Skip,
    /// Not what this route carries (someone else sent it): delete it, say why.
    Invalid(String),
}

/// Converts one message of a queue of `shape` into the event Lambda would have sent.
pub fn route(shape: &Shape, message: &Received) -> Routed {
    let body: Value = match serde_json::from_str(&message.body) {
        Ok(v) => v,
        Err(e) => return Routed::Invalid(format!("the body is not JSON: {e}")),
    };
    let routed = match shape {
        Shape::Topic { subscription_arn } => topic_event(body, subscription_arn),
        Shape::Bucket => bucket_event(body, message),
        Shape::Rule => rule_event(body),
        Shape::Queue => Err("a queue of the app's own is not routed".to_string()),
    };
    match routed {
        Ok(Some((event, summary))) => {
            let attempt = message.receive_count();
            let summary = if attempt > 1 {
                format!("{summary} (attempt #{attempt})")
            } else {
                summary
            };
            Routed::Invoke { event, summary }
        }
        Ok(None) => Routed::Skip,
        Err(why) => Routed::Invalid(why),
    }
}

type Converted = Result<Option<(Value, String)>, String>;

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no `{key}` string"))
}

/// The last `:`-separated part of an ARN (a topic's or queue's name).
fn arn_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// The first `n` characters of `s`, with `…` when cut.
fn first_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// SNS → SQS delivers the notification envelope (`SigningCertURL`, ...); Lambda's SNS event wraps the same
/// fields in a record, spelt `SigningCertUrl`/`UnsubscribeUrl`, with the lambda subscription's ARN.
fn topic_event(envelope: Value, subscription_arn: &str) -> Converted {
    let kind = text(&envelope, "Type")?;
    if kind != "Notification" {
        return Err(format!("an SNS `{kind}` message, not a notification"));
    }
    let topic_arn = text(&envelope, "TopicArn")?;
    let message = text(&envelope, "Message")?;
    let subject = envelope
        .get("Subject")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let region = topic_arn.split(':').nth(3).unwrap_or("us-east-1");
    let field = |key: &str| envelope.get(key).cloned().unwrap_or(Value::Null);
    let attributes = match envelope.get("MessageAttributes") {
        Some(Value::Object(a)) => Value::Object(a.clone()),
        _ => json!({}),
    };
    let event = json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": {
                "Type": kind,
                "MessageId": field("MessageId"),
                "TopicArn": topic_arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": field("Timestamp"),
                "SignatureVersion": field("SignatureVersion"),
                "Signature": field("Signature"),
                "SigningCertUrl": field("SigningCertURL"),
                "UnsubscribeUrl": format!(
                    "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                ),
                "MessageAttributes": attributes
            }
        }]
    });
    let about = subject.map_or_else(|| first_chars(message, 40), str::to_string);
    let summary = format!("message on {}: {about:?}", arn_name(topic_arn));
    Ok(Some((event, summary)))
}

/// S3 → SQS delivers the S3 event itself (`{"Records": [...]}`), first an `s3:TestEvent` (skipped).
/// moto's records lack fields AWS always sends (and Lambda's types require): those are filled in.
fn bucket_event(mut event: Value, message: &Received) -> Converted {
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(None);
    }
    let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) else {
        return Err("not an S3 event (no `Records`)".into());
    };
    if !records.is_empty() {
        records.retain(|r| !is_motos_extra_put(r));
        if records.is_empty() {
            return Ok(None);
        }
    }
    let sequencer = format!("{:016X}", message.sent_millis().unwrap_or_default());
    for record in records.iter_mut() {
        if let Value::Object(r) = record {
            complete_s3_record(r, &sequencer);
        }
    }
    let count = records.len();
    let first = records.first().ok_or("an S3 event without records")?;
    let name = text(first, "eventName")?;
    let bucket = first
        .pointer("/s3/bucket/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let key = first
        .pointer("/s3/object/key")
        .and_then(Value::as_str)
        .map(decode_key)
        .unwrap_or_default();
    let mut summary = format!("{name} {bucket}/{key}");
    if count > 1 {
        summary.push_str(&format!(" (+{} more)", count - 1));
    }
    Ok(Some((event, summary)))
}

/// moto sends `ObjectCreated:Put` and then `ObjectCreated:CompleteMultipartUpload` for one multipart
/// upload; AWS sends only the second. moto's `Put` carries the object's multipart ETag
/// (`<md5 of the parts' md5s>-<part count>`), which no `PutObject` has on AWS (a plain MD5, or
/// another 32-digit hex value under KMS): a `Put` record with one is moto's extra, and is dropped.
fn is_motos_extra_put(record: &Value) -> bool {
    let put = record.get("eventName").and_then(Value::as_str) == Some("ObjectCreated:Put");
    let etag = record
        .pointer("/s3/object/eTag")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_matches('"');
    let multipart = etag.split_once('-').is_some_and(|(hash, parts)| {
        !hash.is_empty()
            && hash.chars().all(|c| c.is_ascii_hexdigit())
            && !parts.is_empty()
            && parts.chars().all(|c| c.is_ascii_digit())
    });
    put && multipart
}

/// Adds what an AWS S3 record always has and moto's lacks; a complete record is left as it is.
fn complete_s3_record(r: &mut Map<String, Value>, sequencer: &str) {
    if let Some(Value::String(time)) = r.get_mut("eventTime") {
        *time = utc_millis(time);
    }
    r.entry("userIdentity")
        .or_insert_with(|| json!({ "principalId": "AWS:chalice-local" }));
    r.entry("requestParameters")
        .or_insert_with(|| json!({ "sourceIPAddress": "127.0.0.1" }));
    r.entry("responseElements").or_insert_with(
        || json!({ "x-amz-request-id": "CHALICELOCAL0000", "x-amz-id-2": "chalice-local" }),
    );
    if let Some(Value::Object(bucket)) = r.get_mut("s3").and_then(|s| s.get_mut("bucket")) {
        bucket
            .entry("ownerIdentity")
            .or_insert_with(|| json!({ "principalId": "chalice-local" }));
    }
    if let Some(Value::Object(object)) = r.get_mut("s3").and_then(|s| s.get_mut("object")) {
        // moto encodes the key with Python's quote_plus, which also encodes `/`; AWS leaves it.
        if let Some(Value::String(key)) = object.get_mut("key") {
            *key = key.replace("%2F", "/").replace("%2f", "/");
        }
        object
            .entry("sequencer")
            .or_insert_with(|| json!(sequencer));
    }
}

/// `2024-05-01T10:11:12.123456` (moto: no zone, microseconds) → `2024-05-01T10:11:12.123Z` (AWS);
/// a time with a zone (or anything else) is left as it is.
fn utc_millis(time: &str) -> String {
    NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S%.f").map_or_else(
        |_| time.to_string(),
        |t| t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// `images/my+cat%21.png` → `images/my cat!.png` (S3 event keys are URL-encoded, spaces as `+`).
fn decode_key(key: &str) -> String {
    percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// EventBridge sends the event itself to an SQS target, as it does to a Lambda target.
fn rule_event(mut event: Value) -> Converted {
    let source = text(&event, "source")?.to_string();
    let detail_type = text(&event, "detail-type")?.to_string();
    if let Value::Object(e) = &mut event {
        // moto's bookkeeping, never in an event AWS delivers.
        e.remove("ingestion-time");
    }
    Ok(Some((event, format!("{source} / {detail_type}"))))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn received(body: Value, receive: u32) -> Received {
        Received {
            message_id: "m1".into(),
            receipt_handle: "rh".into(),
            body: body.to_string(),
            md5_of_body: String::new(),
            md5_of_message_attributes: None,
            attributes: BTreeMap::from([
                ("ApproximateReceiveCount".into(), receive.to_string()),
                ("SentTimestamp".into(), "1700000000000".into()),
            ]),
            message_attributes: Map::new(),
        }
    }

    fn envelope(subject: Option<&str>) -> Value {
        let mut e = json!({
            "Type": "Notification",
            "MessageId": "5b1c2f3e-0000-4000-8000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:my-demo-topic",
            "Message": "a message that is longer than forty characters, surely",
            "Timestamp": "2024-05-01T10:11:12.123Z",
            "SignatureVersion": "2",
            "Signature": "c2lnbmF0dXJl",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=q",
            "MessageAttributes": { "kind": { "Type": "String", "Value": "greeting" } }
        });
        if let Some(s) = subject {
            e["Subject"] = json!(s);
        }
        e
    }

    #[test]
    fn sns_envelopes_become_lambdas_sns_event() {
        let shape = Shape::Topic {
            subscription_arn: "arn:aws:sns:us-east-1:123456789012:my-demo-topic:sub-1".into(),
        };
        let Routed::Invoke { event, summary } = route(&shape, &received(envelope(Some("Hi")), 1))
        else {
            panic!("not invoked");
        };
        assert_eq!(summary, r#"message on my-demo-topic: "Hi""#);
        let r = &event["Records"][0];
        assert_eq!(r["EventSource"], "aws:sns");
        assert_eq!(
            r["EventSubscriptionArn"],
            "arn:aws:sns:us-east-1:123456789012:my-demo-topic:sub-1"
        );
        assert_eq!(r["Sns"]["SigningCertUrl"], envelope(None)["SigningCertURL"]);
        assert!(
            r["Sns"]["UnsubscribeUrl"]
                .as_str()
                .unwrap()
                .ends_with(":my-demo-topic:sub-1")
        );
        assert_eq!(r["Sns"]["MessageAttributes"]["kind"]["Value"], "greeting");
        assert!(r["Sns"].get("SigningCertURL").is_none());

        let Routed::Invoke { event, summary } = route(&shape, &received(envelope(None), 2)) else {
            panic!("not invoked");
        };
        assert_eq!(event["Records"][0]["Sns"]["Subject"], Value::Null);
        assert_eq!(
            summary,
            r#"message on my-demo-topic: "a message that is longer than forty char…" (attempt #2)"#
        );
        assert!(matches!(
            route(&shape, &received(json!({"Records": []}), 1)),
            Routed::Invalid(_)
        ));
    }

    #[test]
    fn s3_events_pass_through_completed() {
        let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"});
        assert_eq!(
            route(&Shape::Bucket, &received(test_event, 1)),
            Routed::Skip
        );
        let moto = json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T10:11:12.123456", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                   "bucket": {"name": "mybucket-name", "arn": "arn:aws:s3:::mybucket-name"},
                   "object": {"key": "images%2Fmy+cat%21.png", "size": 3, "eTag": "e"}}
        }]});
        let Routed::Invoke { event, summary } = route(&Shape::Bucket, &received(moto, 1)) else {
            panic!("not invoked");
        };
        assert_eq!(
            summary,
            "ObjectCreated:Put mybucket-name/images/my cat!.png"
        );
        let r = &event["Records"][0];
        assert_eq!(r["eventTime"], "2024-05-01T10:11:12.123Z");
        assert_eq!(r["s3"]["object"]["key"], "images/my+cat%21.png");
        assert_eq!(r["s3"]["object"]["sequencer"], "0000018BCFE56800");
        assert!(r["userIdentity"]["principalId"].is_string());
        assert!(r["requestParameters"]["sourceIPAddress"].is_string());
        assert_eq!(utc_millis("2024-05-01T10:11:12Z"), "2024-05-01T10:11:12Z");
        assert_eq!(
            utc_millis("2024-05-01T10:11:12"),
            "2024-05-01T10:11:12.000Z"
        );
    }

    #[test]
    fn one_multipart_upload_is_one_event() {
        let record = |name: &str, etag: &str| {
            json!({"eventName": name, "eventTime": "2024-05-01T10:11:12Z",
                   "s3": {"bucket": {"name": "b"}, "object": {"key": "big.bin", "eTag": etag}}})
        };
        let multipart = "d41d8cd98f00b204e9800998ecf8427e-2";
        // moto's extra `Put`, alone in its message: nothing to invoke.
        let extra = json!({"Records": [record("ObjectCreated:Put", multipart)]});
        assert_eq!(route(&Shape::Bucket, &received(extra, 1)), Routed::Skip);
        // The `CompleteMultipartUpload` that follows is the one event.
        let complete =
            json!({"Records": [record("ObjectCreated:CompleteMultipartUpload", multipart)]});
        assert!(matches!(
            route(&Shape::Bucket, &received(complete, 1)),
            Routed::Invoke { .. }
        ));
        // A plain `PutObject` (an MD5 ETag, quoted or not) is delivered.
        for etag in [
            "d41d8cd98f00b204e9800998ecf8427e",
            "\"d41d8cd98f00b204e9800998ecf8427e\"",
        ] {
            let put = json!({"Records": [record("ObjectCreated:Put", etag)]});
            assert!(
                matches!(
                    route(&Shape::Bucket, &received(put, 1)),
                    Routed::Invoke { .. }
                ),
                "{etag}"
            );
        }
    }

    #[test]
    fn rule_events_pass_through() {
        let e = json!({"version": "0", "id": "1", "detail-type": "Order Placed", "source": "com.acme.orders",
                       "account": "123456789012", "time": "2024-05-01T10:11:12Z", "region": "us-east-1",
                       "resources": [], "detail": {"n": 1}, "ingestion-time": 1.5});
        let Routed::Invoke { event, summary } = route(&Shape::Rule, &received(e, 1)) else {
            panic!("not invoked");
        };
        assert_eq!(summary, "com.acme.orders / Order Placed");
        assert_eq!(event["detail"]["n"], 1);
        assert!(event.get("ingestion-time").is_none());
        assert!(matches!(
            route(&Shape::Rule, &received(json!({"a": 1}), 1)),
            Routed::Invalid(_)
        ));
    }
}
