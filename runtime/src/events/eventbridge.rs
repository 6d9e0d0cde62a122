//! EventBridge events (schedules and rules): the detail as JSON or as your own type.

use serde::de::DeserializeOwned;

use super::RuleEvent;

/// Conveniences on a [`ScheduleEvent`](super::ScheduleEvent) or [`RuleEvent`].
pub trait EventBridgeEventExt {
    /// The `detail` deserialised into `T`.
    fn detail_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error>;
    /// The rules or schedules that matched (their ARNs).
    fn resources(&self) -> &[String];
}

impl EventBridgeEventExt for RuleEvent {
    fn detail_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.detail)
    }

    fn resources(&self) -> &[String] {
        self.resources.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScheduleEvent;

    #[test]
    fn schedule_event() {
        let e: ScheduleEvent = serde_json::from_value(serde_json::json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2024-01-01T02:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/orders-dev-nightly"],
            "detail": {}
        }))
        .unwrap();
        assert_eq!(e.detail_type, "Scheduled Event");
        assert_eq!(
            e.resources(),
            ["arn:aws:events:us-east-1:123456789012:rule/orders-dev-nightly"]
        );
        assert_eq!(e.detail, serde_json::json!({}));
    }

    #[test]
    fn rule_detail_typed() {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Commit {
            repository_name: String,
        }
        let e: RuleEvent = serde_json::from_value(serde_json::json!({
            "detail-type": "CodeCommit Repository State Change",
            "source": "aws.codecommit",
            "detail": { "repositoryName": "orders" }
        }))
        .unwrap();
        assert_eq!(e.detail_as::<Commit>().unwrap().repository_name, "orders");
        assert!(e.detail_as::<u32>().is_err());
        assert!(e.resources().is_empty());
    }
}
