//! What an event source hands its events to: one handler, invoked the way Lambda invokes it.
//!
//! Pollers (SQS, streams, routed topics/buckets/rules, the schedule clock) are generic over
//! [`Deliver`], so they can be tested against the emulator with a recording stand-in for the handler.

use std::future::Future;

use serde_json::Value;

/// The result of one invocation, as an event source mapping sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivered {
    /// The handler returned; its response (`null` for `()`).
    Ok(Value),
    /// The handler (or its runtime) failed, timed out or exited: the whole batch failed.
    Failed(String),
}

impl Delivered {
    /// The `itemIdentifier`s of a partial batch failure response (`{"batchItemFailures": [...]}`);
    /// `None` when the whole batch succeeded or failed.
    ///
    /// Lambda treats a response it cannot read as a whole-batch failure; so does the caller when
    /// this returns `Some` with an identifier it does not know.
    pub fn failed_items(&self) -> Option<Vec<String>> {
        let Delivered::Ok(response) = self else {
            return None;
        };
        let items = response.get("batchItemFailures")?.as_array()?;
        let ids: Vec<String> = items
            .iter()
            .filter_map(|item| item.get("itemIdentifier")?.as_str().map(str::to_owned))
            .collect();
        (!ids.is_empty()).then_some(ids)
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Delivered::Ok(_))
    }
}

/// Invokes one handler with one event and waits for the outcome.
pub trait Deliver: Send + Sync + 'static {
    /// `summary` is the event in a few words for the runner's output line,
    /// e.g. `3 messages from orders` or `2 records from shardId-000000000000`.
    fn deliver(&self, event: Value, summary: String) -> impl Future<Output = Delivered> + Send;

    /// Says something about this handler's events that is not an invocation, as a line of the
    /// runner's output (`skipped 1 message (filter)`, `retrying ...`, `gave up on ...`).
    fn note(&self, _text: &str) {}
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn partial_failures_are_read_from_the_response() {
        let partial = Delivered::Ok(
            json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}),
        );
        assert_eq!(
            partial.failed_items(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            Delivered::Ok(json!({"batchItemFailures": []})).failed_items(),
            None
        );
        assert_eq!(Delivered::Ok(Value::Null).failed_items(), None);
        assert_eq!(Delivered::Failed("boom".into()).failed_items(), None);
    }
}
