//! An SQS queue polled the way Lambda's SQS event source mapping polls it.
//!
//! Long polls (so an idle queue costs one request per 20 s and a new message is seen at once), gathers a
//! batch (up to `batch_size`, within the batching window), deletes the messages the mapping's filters
//! reject (as Lambda does: they never reach the handler), invokes the handler with Lambda's SQS event,
//! then deletes what succeeded. What is not deleted comes back after the queue's visibility timeout: SQS
//! does the retrying, as it does for Lambda. Queues the runner owns ([`Shape`] other than `Queue`) carry
//! notifications from SNS, S3 or EventBridge; `routed` turns each back into the event Lambda would
//! have sent, one invocation per message, retried and given up as Lambda handles an asynchronous one.
//!
//! Imports point one way: this poller uses `message` and `routed`; `routed` uses `message`; neither
//! knows the poller.

mod message;
mod routed;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use tokio::time::Instant;

pub use self::message::{Received, Shape, sqs_event};
use self::routed::Routed;
use super::asynchronous::{self, AsyncPolicy, Handled};
use crate::local::filter::{Filters, sqs_view};
use crate::local::{Deliver, Delivered, Shutdown, stopped};
use crate::resources::CallError;

/// The longest long poll SQS allows.
pub const LONG_POLL_SECONDS: u32 = 20;
/// The most messages one ReceiveMessage (and one DeleteMessageBatch) handles.
pub const MAX_PER_CALL: usize = 10;
/// SQS calls failing in a row before the poller gives up.
const MAX_FAILURES: u32 = 5;
/// First pause after a failed call; doubles with each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Pause between short polls in the last second of a batching window.
const SHORT_POLL_PAUSE: Duration = Duration::from_millis(50);

/// A queue to poll and how to batch it (the event source mapping's settings).
#[derive(Debug, Clone)]
pub struct QueueSource {
    pub queue_url: String,
    pub queue_arn: String,
    /// For `awsRegion` in the event.
    pub region: String,
    /// At most this many messages per invocation (`Shape::Queue`; routed shapes invoke per message).
    pub batch_size: u32,
    /// Keep gathering until `batch_size` messages or this long after the first one; `None`: invoke with
    /// what the first receive returned.
    pub batching_window: Option<Duration>,
    pub shape: Shape,
    /// The mapping's filter criteria (`Shape::Queue`): messages they reject are deleted unseen.
    pub filters: Filters,
    /// How a routed shape's failed events are retried and given up (`None`: Lambda's defaults,
    /// no destination).
    pub async_policy: Option<AsyncPolicy>,
}

impl QueueSource {
    /// The queue's name (the ARN's last part).
    pub fn queue_name(&self) -> &str {
        self.queue_arn.rsplit(':').next().unwrap_or(&self.queue_arn)
    }
}

/// Why a poller stopped before being told to.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue {0} does not exist")]
    NoQueue(String),
    #[error("{error} (failed {failures} times in a row)")]
    Failing { error: CallError, failures: u32 },
}

/// `3 messages from my-queue`, `1 message from my-queue (receive #2)` when redelivered.
pub fn batch_summary(queue_name: &str, batch: &[Received]) -> String {
    let n = batch.len();
    let plural = if n == 1 { "" } else { "s" };
    let mut summary = format!("{n} message{plural} from {queue_name}");
    let receive = batch.iter().map(Received::receive_count).max().unwrap_or(1);
    if receive > 1 {
        summary.push_str(&format!(" (receive #{receive})"));
    }
    summary
}

/// Which messages of `batch` to delete after the handler answered `outcome`, as Lambda decides with
/// `ReportBatchItemFailures`: all on success, none on failure, all but the reported ones on a partial
/// failure, and none when a reported `itemIdentifier` is not in the batch (Lambda: whole batch failed).
pub fn to_delete<'a>(batch: &'a [Received], outcome: &Delivered) -> Vec<&'a Received> {
    if !outcome.is_ok() {
        return Vec::new();
    }
    let Some(failed) = outcome.failed_items() else {
        return batch.iter().collect();
    };
    if !failed
        .iter()
        .all(|id| batch.iter().any(|m| &m.message_id == id))
    {
        return Vec::new();
    }
    batch
        .iter()
        .filter(|m| !failed.contains(&m.message_id))
        .collect()
}

/// Polls `source` and delivers its messages until `shutdown` says stop (then `Ok`), or the queue is gone
/// or SQS keeps failing (then `Err`).
///
/// Shutdown is seen at once during a long poll (the in-flight ReceiveMessage is dropped: the messages it
/// may have taken come back after the visibility timeout). An invocation in progress is not cut short;
/// the [`Deliver`] side enforces the function's timeout.
pub async fn run<D: Deliver>(
    sqs: aws_sdk_sqs::Client,
    source: QueueSource,
    deliver: Arc<D>,
    mut shutdown: Shutdown,
) -> Result<(), QueueError> {
    let mut poller = Poller {
        sqs,
        source,
        failures: 0,
    };
    while let Some(batch) = poller.next_batch(&mut shutdown).await? {
        if poller.source.shape == Shape::Queue {
            poller.invoke_batch(batch, deliver.as_ref()).await?;
        } else {
            poller
                .invoke_each(batch, deliver.as_ref(), &shutdown)
                .await?;
        }
    }
    Ok(())
}

/// Whether shutdown was asked for (or nobody can ask any more).
fn stopping(shutdown: &Shutdown) -> bool {
    shutdown.has_changed().is_err() || *shutdown.borrow()
}

struct Poller {
    sqs: aws_sdk_sqs::Client,
    source: QueueSource,
    /// SQS calls failed in a row.
    failures: u32,
}

impl Poller {
    /// One ReceiveMessage of up to `max` messages, waiting up to `wait_seconds` for the first.
    async fn receive(&self, max: usize, wait_seconds: u32) -> Result<Vec<Received>, CallError> {
        let max = max.clamp(1, MAX_PER_CALL);
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.source.queue_url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait_seconds.min(LONG_POLL_SECONDS)).unwrap_or(20))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| CallError::new("ReceiveMessage", &self.source.queue_url, e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(Received::from_sdk)
            .collect())
    }

    /// Counts a failed call; `Err` when the queue is gone or too many failed in a row, else the pause
    /// to make before trying again.
    fn count_failure(&mut self, error: CallError) -> Result<Duration, QueueError> {
        if is_no_queue(&error) {
            return Err(QueueError::NoQueue(self.source.queue_url.clone()));
        }
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            return Err(QueueError::Failing {
                error,
                failures: self.failures,
            });
        }
        Ok(FIRST_BACKOFF * 2u32.pow(self.failures - 1))
    }

    /// The next batch to invoke with; `None` once shutdown is asked for.
    async fn next_batch(
        &mut self,
        shutdown: &mut Shutdown,
    ) -> Result<Option<Vec<Received>>, QueueError> {
        let max = usize::try_from(self.source.batch_size.max(1)).unwrap_or(MAX_PER_CALL);
        let mut batch = loop {
            if stopping(shutdown) {
                return Ok(None);
            }
            let received = tokio::select! {
                biased;
                () = stopped(shutdown) => return Ok(None),
                r = self.receive(max, LONG_POLL_SECONDS) => r,
            };
            match received {
                Ok(messages) => {
                    self.failures = 0;
                    if !messages.is_empty() {
                        break messages;
                    }
                }
                Err(e) => {
                    let pause = self.count_failure(e)?;
                    tokio::select! {
                        biased;
                        () = stopped(shutdown) => return Ok(None),
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        };
        let Some(window) = self.source.batching_window else {
            return Ok(Some(batch));
        };
        let deadline = Instant::now() + window;
        while batch.len() < max {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            // Whole seconds of long poll while they fit in the window (SQS returns as soon as a message
            // is there), then short polls: a dropped long poll would hide the messages it took.
            let wait = u32::try_from(remaining.as_secs()).unwrap_or(LONG_POLL_SECONDS);
            let received = tokio::select! {
                biased;
                () = stopped(shutdown) => return Ok(None),
                r = self.receive(max - batch.len(), wait) => r,
            };
            match received {
                Ok(messages) => {
                    self.failures = 0;
                    let got = !messages.is_empty();
                    for m in messages {
                        add_unique(&mut batch, m);
                    }
                    if !got && wait == 0 {
                        tokio::select! {
                            biased;
                            () = stopped(shutdown) => return Ok(None),
                            () = tokio::time::sleep(remaining.min(SHORT_POLL_PAUSE)) => {}
                        }
                    }
                }
                // Invoke with what we have; the next receive backs off if SQS is still failing.
                Err(e) => {
                    self.count_failure(e)?;
                    break;
                }
            }
        }
        Ok(Some(batch))
    }

    /// One invocation with the whole batch as Lambda's SQS event.
    async fn invoke_batch<D: Deliver>(
        &mut self,
        batch: Vec<Received>,
        deliver: &D,
    ) -> Result<(), QueueError> {
        let (batch, skipped) = self.filter(batch);
        if !skipped.is_empty() {
            // Lambda deletes what its filters reject: it never reaches the handler.
            let n = skipped.len();
            deliver.note(&format!(
                "skipped {n} message{} from {} (filter)",
                if n == 1 { "" } else { "s" },
                self.source.queue_name()
            ));
            let refs: Vec<&Received> = skipped.iter().collect();
            self.delete(&refs).await?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        let event = sqs_event(&self.source.queue_arn, &self.source.region, &batch);
        let summary = batch_summary(self.source.queue_name(), &batch);
        let outcome = deliver.deliver(event, summary).await;
        let done = to_delete(&batch, &outcome);
        self.delete(&done).await
    }

    /// Splits `batch` into the messages the filters pass and those they reject.
    fn filter(&self, batch: Vec<Received>) -> (Vec<Received>, Vec<Received>) {
        if self.source.filters.is_empty() {
            return (batch, Vec::new());
        }
        let arn = &self.source.queue_arn;
        let region = &self.source.region;
        batch.into_iter().partition(|m| {
            let event = sqs_event(arn, region, std::slice::from_ref(m));
            let record = event.pointer("/Records/0").cloned().unwrap_or_default();
            self.source.filters.pass(&sqs_view(&record))
        })
    }

    /// One invocation per message, with the event Lambda would have got from SNS, S3 or EventBridge,
    /// retried and given up as Lambda handles a failed asynchronous invocation ([`asynchronous`]).
    /// A message is deleted once its event succeeded or was given up.
    async fn invoke_each<D: Deliver>(
        &mut self,
        batch: Vec<Received>,
        deliver: &D,
        shutdown: &Shutdown,
    ) -> Result<(), QueueError> {
        let default_policy;
        let policy = match &self.source.async_policy {
            Some(policy) => policy,
            None => {
                default_policy = AsyncPolicy::lambda_default("");
                &default_policy
            }
        };
        let mut done = Vec::new();
        for m in &batch {
            if stopping(shutdown) {
                break; // the rest come back after the visibility timeout
            }
            match routed::route(&self.source.shape, m) {
                Routed::Invoke { event, summary } => {
                    let sent = m
                        .sent_millis()
                        .map_or_else(SystemTime::now, |ms| UNIX_EPOCH + Duration::from_millis(ms));
                    let handled =
                        asynchronous::invoke(deliver, policy, &event, &summary, sent, shutdown)
                            .await;
                    if handled != Handled::Interrupted {
                        done.push(m);
                    }
                }
                Routed::Skip => done.push(m),
                Routed::Invalid(why) => {
                    eprintln!(
                        "warning: dropped message {} on {}: {why}",
                        m.message_id,
                        self.source.queue_name()
                    );
                    done.push(m);
                }
            }
        }
        self.delete(&done).await
    }

    /// Deletes `messages` (DeleteMessageBatch, 10 at a time). A failed delete is not fatal: the message
    /// comes back after the visibility timeout, as with Lambda (delivery is at least once).
    async fn delete(&mut self, messages: &[&Received]) -> Result<(), QueueError> {
        for chunk in messages.chunks(MAX_PER_CALL) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt_handle)
                        .build()
                        .ok()
                })
                .collect();
            let result = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.source.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| CallError::new("DeleteMessageBatch", &self.source.queue_url, e));
            match result {
                Ok(_) => self.failures = 0,
                Err(e) => {
                    self.count_failure(e)?;
                }
            }
        }
        Ok(())
    }
}

/// Adds `m` to `batch`, or refreshes the receipt handle of the copy already there (a message received
/// again after its visibility timeout is deleted with its newest handle).
fn add_unique(batch: &mut Vec<Received>, m: Received) {
    match batch.iter_mut().find(|b| b.message_id == m.message_id) {
        Some(b) => *b = m,
        None => batch.push(m),
    }
}

fn is_no_queue(e: &CallError) -> bool {
    e.has_code("AWS.SimpleQueueService.NonExistentQueue") || e.has_code("QueueDoesNotExist")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::message::tests::message;
    use super::*;

    fn source() -> QueueSource {
        QueueSource {
            queue_url: "http://localhost/123456789012/orders".into(),
            queue_arn: "arn:aws:sqs:us-east-1:123456789012:orders".into(),
            region: "us-east-1".into(),
            batch_size: 10,
            batching_window: None,
            shape: Shape::Queue,
            filters: Filters::default(),
            async_policy: None,
        }
    }

    #[test]
    fn summaries_count_messages_and_redeliveries() {
        assert_eq!(
            batch_summary(
                "orders",
                &[message("a", 1), message("b", 1), message("c", 1)]
            ),
            "3 messages from orders"
        );
        assert_eq!(
            batch_summary("orders", &[message("a", 2)]),
            "1 message from orders (receive #2)"
        );
        assert_eq!(source().queue_name(), "orders");
    }

    #[test]
    fn deletes_follow_lambdas_partial_batch_rules() {
        let batch = [message("a", 1), message("b", 1), message("c", 1)];
        let ids =
            |v: Vec<&Received>| -> Vec<String> { v.iter().map(|m| m.message_id.clone()).collect() };
        assert_eq!(
            ids(to_delete(&batch, &Delivered::Ok(Value::Null))),
            ["a", "b", "c"]
        );
        assert!(to_delete(&batch, &Delivered::Failed("boom".into())).is_empty());
        let partial = Delivered::Ok(json!({"batchItemFailures": [{"itemIdentifier": "b"}]}));
        assert_eq!(ids(to_delete(&batch, &partial)), ["a", "c"]);
        let unknown = Delivered::Ok(json!({"batchItemFailures": [{"itemIdentifier": "zz"}]}));
        assert!(to_delete(&batch, &unknown).is_empty());
        let empty = Delivered::Ok(json!({"batchItemFailures": []}));
        assert_eq!(to_delete(&batch, &empty).len(), 3);
    }

    #[test]
    fn a_redelivered_copy_replaces_the_first() {
        let mut batch = vec![message("a", 1)];
        let mut again = message("a", 2);
        again.receipt_handle = "newer".into();
        add_unique(&mut batch, again);
        add_unique(&mut batch, message("b", 1));
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].receipt_handle, "newer");
    }
}
