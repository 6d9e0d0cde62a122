//! SQS messages: the body and the id a partial batch failure names.

use serde::de::DeserializeOwned;

use super::SqsMessage;
use crate::batch::BatchItem;

/// Chalice's `SQSEvent` conveniences on each message of an [`SqsEvent`](super::SqsEvent).
pub trait SqsMessageExt {
    /// The message body (empty if SQS sent none).
    fn body(&self) -> &str;
    /// The message body parsed as JSON.
    fn body_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error>;
    /// SQS's id for this message: what [`BatchResult::fail`](crate::BatchResult::fail) takes.
    fn message_id(&self) -> &str;
    /// The receipt handle (to delete or change visibility yourself).
    fn receipt_handle(&self) -> &str;
}

impl SqsMessageExt for SqsMessage {
    fn body(&self) -> &str {
        self.body.as_deref().unwrap_or_default()
    }

    fn body_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(SqsMessageExt::body(self))
    }

    fn message_id(&self) -> &str {
        self.message_id.as_deref().unwrap_or_default()
    }

    fn receipt_handle(&self) -> &str {
        self.receipt_handle.as_deref().unwrap_or_default()
    }
}

impl BatchItem for SqsMessage {
    fn item_id(&self) -> &str {
        SqsMessageExt::message_id(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqsEvent;

    fn event() -> SqsEvent {
        let json = serde_json::json!({
            "Records": [
                {
                    "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                    "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                    "body": "{\"order\": 42}",
                    "attributes": { "ApproximateReceiveCount": "1" },
                    "messageAttributes": {},
                    "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
                    "awsRegion": "us-east-1"
                },
                { "messageId": "2", "body": "not json" }
            ]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn body_and_id() {
        let e = event();
        let m = &e.records[0];
        assert_eq!(m.body(), "{\"order\": 42}");
        assert_eq!(m.body_json::<serde_json::Value>().unwrap()["order"], 42);
        assert_eq!(m.message_id(), "059f36b4-87a3-44ab-83d2-661975830a7d");
        assert_eq!(m.item_id(), m.message_id());
        assert_eq!(m.receipt_handle(), "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a");
    }

    #[test]
    fn invalid_json_body_is_an_error() {
        let e = event();
        assert!(e.records[1].body_json::<serde_json::Value>().is_err());
    }

    #[test]
    fn missing_fields_are_empty() {
        let m = SqsMessage::default();
        assert_eq!((m.body(), m.message_id(), m.receipt_handle()), ("", "", ""));
    }
}
