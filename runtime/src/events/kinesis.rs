//! Kinesis records: the data (already base64-decoded), the sequence number and partition key.

use serde::de::DeserializeOwned;

use super::KinesisEventRecord;
use crate::batch::BatchItem;

/// Chalice's `KinesisEvent` conveniences on each record of a [`KinesisEvent`](super::KinesisEvent).
pub trait KinesisRecordExt {
    /// The record's payload, base64-decoded.
    fn data(&self) -> &[u8];
    /// The payload as UTF-8 text.
    fn data_str(&self) -> Result<&str, std::str::Utf8Error>;
    /// The payload parsed as JSON.
    fn data_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error>;
    /// The record's sequence number: what [`BatchResult::fail`](crate::BatchResult::fail) takes.
    fn sequence_number(&self) -> &str;
    /// The partition key the producer chose.
    fn partition_key(&self) -> &str;
}

impl KinesisRecordExt for KinesisEventRecord {
    fn data(&self) -> &[u8] {
        &self.kinesis.data.0
    }

    fn data_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(self.data())
    }

    fn data_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.data())
    }

    fn sequence_number(&self) -> &str {
        &self.kinesis.sequence_number
    }

    fn partition_key(&self) -> &str {
        &self.kinesis.partition_key
    }
}

impl BatchItem for KinesisEventRecord {
    fn item_id(&self) -> &str {
        self.sequence_number()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KinesisEvent;

    fn event(data_b64: &str) -> KinesisEvent {
        let json = serde_json::json!({
            "Records": [{
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "user-7",
                    "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                    "data": data_b64,
                    "approximateArrivalTimestamp": 1545084650.987
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
                "awsRegion": "us-east-2",
                "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/mystream"
            }]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn data_is_base64_decoded() {
        // base64 of {"page": "/home"}
        let e = event("eyJwYWdlIjogIi9ob21lIn0=");
        let r = &e.records[0];
        assert_eq!(r.data(), br#"{"page": "/home"}"#);
        assert_eq!(r.data_str().unwrap(), r#"{"page": "/home"}"#);
        assert_eq!(r.data_json::<serde_json::Value>().unwrap()["page"], "/home");
        assert_eq!(r.partition_key(), "user-7");
        assert_eq!(
            r.sequence_number(),
            "49590338271490256608559692538361571095921575989136588898"
        );
        assert_eq!(r.item_id(), r.sequence_number());
    }

    #[test]
    fn binary_data_is_not_text() {
        // base64 of the bytes ff fe 00
        let e = event("//4A");
        assert_eq!(e.records[0].data(), [0xff, 0xfe, 0x00]);
        assert!(e.records[0].data_str().is_err());
    }

    #[test]
    fn invalid_base64_is_a_deserialisation_error() {
        let json = serde_json::json!({"Records": [{"kinesis": {
            "data": "not base64!", "approximateArrivalTimestamp": 1.0
        }}]});
        assert!(serde_json::from_value::<KinesisEvent>(json).is_err());
    }
}
