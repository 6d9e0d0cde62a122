//! SNS deliveries: the subject and the message.

use serde::de::DeserializeOwned;

use super::SnsRecord;

/// Chalice's `SNSEvent` conveniences on each record of an [`SnsEvent`](super::SnsEvent).
pub trait SnsRecordExt {
    /// The subject the publisher set, if any.
    fn subject(&self) -> Option<&str>;
    /// The message body.
    fn message(&self) -> &str;
    /// The message body parsed as JSON.
    fn message_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error>;
    /// SNS's id for this message.
    fn message_id(&self) -> &str;
    /// The topic it was published to.
    fn topic_arn(&self) -> &str;
}

impl SnsRecordExt for SnsRecord {
    fn subject(&self) -> Option<&str> {
        self.sns.subject.as_deref()
    }

    fn message(&self) -> &str {
        &self.sns.message
    }

    fn message_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.sns.message)
    }

    fn message_id(&self) -> &str {
        &self.sns.message_id
    }

    fn topic_arn(&self) -> &str {
        &self.sns.topic_arn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SnsEvent;

    fn event(subject: serde_json::Value, message: &str) -> SnsEvent {
        let json = serde_json::json!({
            "Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:my-demo-topic:1",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:my-demo-topic",
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2024-01-01T00:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://example.com/cert.pem",
                    "UnsubscribeUrl": "https://example.com/unsub",
                    "MessageAttributes": {}
                }
            }]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn subject_and_message() {
        let e = event("Hello".into(), "{\"n\": 1}");
        let r = &e.records[0];
        assert_eq!(r.subject(), Some("Hello"));
        assert_eq!(r.message(), "{\"n\": 1}");
        assert_eq!(r.message_json::<serde_json::Value>().unwrap()["n"], 1);
        assert_eq!(r.message_id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
        assert!(r.topic_arn().ends_with(":my-demo-topic"));
    }

    #[test]
    fn null_subject_is_none() {
        let e = event(serde_json::Value::Null, "plain text");
        assert_eq!(e.records[0].subject(), None);
        assert!(e.records[0].message_json::<serde_json::Value>().is_err());
    }
}
