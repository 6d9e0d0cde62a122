//! Partial batch failures for `queue`, `stream` and `table` handlers.
//!
//! Lambda retries only the items a handler names (SQS message ids; Kinesis and DynamoDB sequence
//! numbers) when the event source mapping reports `ReportBatchItemFailures`, which the deployer
//! sets on every mapping it creates. Returning `Err` from the handler retries the whole batch.
//!
//! An empty or unknown item id makes Lambda treat the whole batch as failed: that is the safe
//! direction (a retry, never a lost message).

use serde::{Deserialize, Serialize};

/// A queue or stream item that a [`BatchResult`] can name.
pub trait BatchItem {
    /// The id Lambda expects in `itemIdentifier`.
    fn item_id(&self) -> &str;
}

/// The outcome of a batch: all ok, or the items to retry.
///
/// Serialises to Lambda's `{"batchItemFailures":[{"itemIdentifier":"..."}]}`.
///
/// ```
/// use chalice_runtime::BatchResult;
///
/// let mut result = BatchResult::ok();
/// result.fail("msg-2");
/// assert_eq!(
///     serde_json::to_string(&result).unwrap(),
///     r#"{"batchItemFailures":[{"itemIdentifier":"msg-2"}]}"#
/// );
/// // Or collect the ids of the failed items:
/// let result: BatchResult = ["a", "b"].into_iter().collect();
/// assert_eq!(result.failed_ids().count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    batch_item_failures: Vec<BatchItemFailure>,
}

/// One item Lambda should retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResult {
    /// Every item succeeded.
    pub fn ok() -> Self {
        Self::default()
    }

    /// These items failed.
    pub fn failed<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ids.into_iter().collect()
    }

    /// Marks one item (by id) for retry.
    pub fn fail(&mut self, id: impl Into<String>) -> &mut Self {
        self.batch_item_failures.push(BatchItemFailure {
            item_identifier: id.into(),
        });
        self
    }

    /// Marks one item for retry.
    pub fn fail_item(&mut self, item: &impl BatchItem) -> &mut Self {
        self.fail(item.item_id())
    }

    /// No item failed.
    pub fn is_ok(&self) -> bool {
        self.batch_item_failures.is_empty()
    }

    /// The ids of the failed items, in the order they were added.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }
}

impl<S: Into<String>> FromIterator<S> for BatchResult {
    fn from_iter<T: IntoIterator<Item = S>>(iter: T) -> Self {
        let mut result = BatchResult::ok();
        result.extend(iter);
        result
    }
}

impl<S: Into<String>> Extend<S> for BatchResult {
    fn extend<T: IntoIterator<Item = S>>(&mut self, iter: T) {
        self.batch_item_failures
            .extend(iter.into_iter().map(|id| BatchItemFailure {
                item_identifier: id.into(),
            }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_an_empty_list() {
        let r = BatchResult::ok();
        assert!(r.is_ok());
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"batchItemFailures":[]}"#
        );
    }

    #[test]
    fn failures_have_lambdas_shape() {
        let mut r = BatchResult::ok();
        r.fail("a").fail(String::from("b"));
        assert!(!r.is_ok());
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
        );
    }

    #[test]
    fn collects_and_extends() {
        let mut r: BatchResult = vec!["1", "2"].into_iter().collect();
        r.extend([String::from("3")]);
        assert_eq!(r.failed_ids().collect::<Vec<_>>(), ["1", "2", "3"]);
        assert_eq!(
            BatchResult::failed(["x"]).failed_ids().collect::<Vec<_>>(),
            ["x"]
        );
        let none: BatchResult = std::iter::empty::<String>().collect();
        assert!(none.is_ok());
    }

    #[test]
    fn fail_item_uses_the_item_id() {
        struct Item;
        impl BatchItem for Item {
            fn item_id(&self) -> &str {
                "seq-9"
            }
        }
        let mut r = BatchResult::ok();
        r.fail_item(&Item);
        assert_eq!(r.failed_ids().collect::<Vec<_>>(), ["seq-9"]);
    }

    #[test]
    fn round_trips() {
        let r = BatchResult::failed(["m1"]);
        let back: BatchResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
