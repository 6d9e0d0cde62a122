//! The records Lambda writes about what it gave up on, in AWS's shapes, for the on-failure
//! destinations: a stream batch ([`stream_record`]: `requestContext`, `responseContext`,
//! `KinesisBatchInfo` or `DDBStreamBatchInfo`) and an asynchronous event ([`async_record`]: the same
//! contexts, `requestPayload` and `responsePayload`); the keys Lambda gives them in an S3 bucket; and
//! request ids.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Why a stream batch was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamCondition {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

impl StreamCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamCondition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            StreamCondition::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// Why an asynchronous event was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncCondition {
    RetriesExhausted,
    EventAgeExceeded,
}

impl AsyncCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncCondition::RetriesExhausted => "RetriesExhausted",
            AsyncCondition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// Which stream a batch came from (the batch info's key differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOrigin {
    Kinesis,
    DynamoDb,
}

/// The batch a stream record describes.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInfo {
    pub origin: StreamOrigin,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub first_arrival: Option<SystemTime>,
    pub last_arrival: Option<SystemTime>,
    pub batch_size: usize,
    pub stream_arn: String,
}

/// `2019-11-14T18:16:05.568Z`.
pub fn timestamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The record of a stream batch given up, as Lambda sends it to an on-failure destination.
pub fn stream_record(
    function_arn: &str,
    condition: StreamCondition,
    invoke_count: u32,
    batch: &BatchInfo,
    now: SystemTime,
) -> Value {
    let info_key = match batch.origin {
        StreamOrigin::Kinesis => "KinesisBatchInfo",
        StreamOrigin::DynamoDb => "DDBStreamBatchInfo",
    };
    let arrival = |t: Option<SystemTime>| t.map(timestamp);
    json!({
        "requestContext": {
            "requestId": random_uuid(),
            "functionArn": function_arn,
            "condition": condition.as_str(),
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": timestamp(now),
        info_key: {
            "shardId": batch.shard_id,
            "startSequenceNumber": batch.start_sequence_number,
            "endSequenceNumber": batch.end_sequence_number,
            "approximateArrivalOfFirstRecord": arrival(batch.first_arrival),
            "approximateArrivalOfLastRecord": arrival(batch.last_arrival),
            "batchSize": batch.batch_size,
            "streamArn": batch.stream_arn,
        }
    })
}

/// The record of an asynchronous event given up, as Lambda sends it to an on-failure destination.
/// `function_arn` is the unqualified ARN; the record names `$LATEST`, as Lambda's do.
pub fn async_record(
    function_arn: &str,
    condition: AsyncCondition,
    invoke_count: u32,
    event: &Value,
    error: &str,
    now: SystemTime,
) -> Value {
    json!({
        "version": "1.0",
        "timestamp": timestamp(now),
        "requestContext": {
            "requestId": random_uuid(),
            "functionArn": format!("{function_arn}:$LATEST"),
            "condition": condition.as_str(),
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": { "errorMessage": error },
    })
}

/// Where Lambda puts an asynchronous invocation record in an S3 destination:
/// `aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`.
pub fn async_object_key(function_name: &str, now: SystemTime) -> String {
    object_key(&format!("aws/lambda/async/{function_name}"), now)
}

/// Where Lambda puts a stream batch's record in an S3 destination:
/// `aws/lambda/<mapping>/<shard>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>` (locally the mapping is
/// named by the function, as the runner reads the stream itself).
pub fn stream_object_key(mapping: &str, shard_id: &str, now: SystemTime) -> String {
    object_key(&format!("aws/lambda/{mapping}/{shard_id}"), now)
}

fn object_key(prefix: &str, now: SystemTime) -> String {
    let t = DateTime::<Utc>::from(now);
    format!(
        "{prefix}/{}/{}-{}",
        t.format("%Y/%m/%d"),
        t.format("%Y-%m-%dT%H.%M.%S"),
        random_uuid()
    )
}

/// A fresh random (version 4) UUID, for request and event ids.
pub fn random_uuid() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    // Each RandomState is keyed from the OS's randomness: good enough for ids, not for secrets.
    let half = |salt: u64| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(count);
        hasher.write_u128(nanos);
        hasher.write_u64(salt);
        hasher.finish()
    };
    let random = (u128::from(half(1)) << 64) | u128::from(half(2));
    uuid::Builder::from_random_bytes(random.to_be_bytes())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn stream_records_have_aws_shape() {
        let batch = BatchInfo {
            origin: StreamOrigin::Kinesis,
            shard_id: "shardId-000000000000".into(),
            start_sequence_number: "1".into(),
            end_sequence_number: "3".into(),
            first_arrival: Some(at(1_573_692_284_835)),
            last_arrival: Some(at(1_573_692_285_580)),
            batch_size: 3,
            stream_arn: "arn:aws:kinesis:us-east-2:123456789012:stream/mystream".into(),
        };
        let arn = "arn:aws:lambda:us-east-2:123456789012:function:f";
        let r = stream_record(
            arn,
            StreamCondition::RetryAttemptsExhausted,
            2,
            &batch,
            at(1_573_692_286_021),
        );
        assert_eq!(r["version"], "1.0");
        assert_eq!(r["timestamp"], "2019-11-14T00:44:46.021Z");
        assert_eq!(r["requestContext"]["functionArn"], arn);
        assert_eq!(r["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 2);
        assert_eq!(r["requestContext"]["requestId"].as_str().unwrap().len(), 36);
        assert_eq!(
            r["responseContext"],
            json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
        );
        let info = &r["KinesisBatchInfo"];
        assert_eq!(info["shardId"], "shardId-000000000000");
        assert_eq!(info["startSequenceNumber"], "1");
        assert_eq!(info["endSequenceNumber"], "3");
        assert_eq!(
            info["approximateArrivalOfFirstRecord"],
            "2019-11-14T00:44:44.835Z"
        );
        assert_eq!(
            info["approximateArrivalOfLastRecord"],
            "2019-11-14T00:44:45.580Z"
        );
        assert_eq!(info["batchSize"], 3);
        assert_eq!(info["streamArn"], batch.stream_arn);

        let ddb = BatchInfo {
            origin: StreamOrigin::DynamoDb,
            ..batch
        };
        let r = stream_record(arn, StreamCondition::RecordAgeExceeded, 1, &ddb, at(0));
        assert_eq!(r["requestContext"]["condition"], "RecordAgeExceeded");
        assert!(r.get("KinesisBatchInfo").is_none());
        assert_eq!(r["DDBStreamBatchInfo"]["shardId"], "shardId-000000000000");
    }

    #[test]
    fn async_records_carry_the_event_and_the_error() {
        let event = json!({"Records": [{"eventSource": "aws:s3"}]});
        let r = async_record(
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            AsyncCondition::RetriesExhausted,
            3,
            &event,
            "boom",
            at(0),
        );
        assert_eq!(
            r["requestContext"]["functionArn"],
            "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"
        );
        assert_eq!(r["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(r["requestPayload"], event);
        assert_eq!(r["responseContext"]["functionError"], "Unhandled");
        assert_eq!(r["responsePayload"]["errorMessage"], "boom");
        assert_eq!(r["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(
            AsyncCondition::EventAgeExceeded.as_str(),
            "EventAgeExceeded"
        );
    }

    #[test]
    fn object_keys_follow_lambdas_layout() {
        let t = at(1_573_692_286_021);
        let key = async_object_key("app-dev-f", t);
        assert!(
            key.starts_with("aws/lambda/async/app-dev-f/2019/11/14/2019-11-14T00.44.46-"),
            "{key}"
        );
        assert_eq!(key.rsplit('-').next().unwrap().len(), 12);
        let key = stream_object_key("app-dev-g", "shardId-0", t);
        assert!(
            key.starts_with("aws/lambda/app-dev-g/shardId-0/2019/11/14/2019-11-14T00.44.46-"),
            "{key}"
        );
        assert_ne!(random_uuid(), random_uuid());
    }
}
