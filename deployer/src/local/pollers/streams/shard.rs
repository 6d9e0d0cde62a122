//! One shard's poller: reads records into batches, invokes the handler, checkpoints and retries.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::time::Instant;

use super::reader::{ReadError, Reader, Resume};
use super::records::{Item, arrival, filter_view, summary};
use super::retry::{Next, Retries, Verdict};
use super::source::{StartingPosition, StreamError, StreamKind, StreamSource, Timing};
use crate::local::failure::{
    BatchInfo, StreamCondition, StreamOrigin, stream_object_key, stream_record,
};
use crate::local::{Deliver, Delivered};

/// Lambda's synchronous invocation payload limit: a batch stops growing before its event exceeds it.
const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The shard iterator a poller holds.
enum Cursor {
    /// Obtain one from the checkpoint.
    Need,
    Have(String),
    /// The shard is closed and read to the end.
    End,
}

/// Everything a shard poller shares.
pub(super) struct Poller<D> {
    pub(super) reader: Reader,
    pub(super) source: StreamSource,
    pub(super) deliver: Arc<D>,
}

impl<D: Deliver> Poller<D> {
    /// Reads one shard to its end (forever, while it is open).
    pub(super) async fn poll_shard(
        &self,
        shard: &str,
        start: StartingPosition,
    ) -> Result<(), StreamError> {
        let timing = &self.source.timing;
        let window = self.source.batching_window;
        let mut resume = Resume::Start(start);
        let mut cursor = Cursor::Need;
        // Records read but not yet delivered that did not fit the last batch (payload limit).
        let mut carry: VecDeque<Item> = VecDeque::new();
        let mut read_backoff = Backoff::new(timing);
        let mut invoke_backoff = Backoff::new(timing);
        // When the shard last had records: a shard quiet for a while is read less often.
        let mut last_records = Instant::now();
        loop {
            let mut batch = Batch::new(self.source.batch_size as usize, MAX_PAYLOAD_BYTES);
            while let Some(item) = carry.pop_front_if(|item| batch.fits(item)) {
                batch.push(item);
            }
            let mut deadline = batch.started(window);
            loop {
                if batch.full() || !carry.is_empty() {
                    break;
                }
                if !batch.is_empty() && deadline.is_none_or(|d| Instant::now() >= d) {
                    break;
                }
                let iterator = match &cursor {
                    Cursor::End => break,
                    Cursor::Have(iterator) => iterator.clone(),
                    Cursor::Need => match self.reader.iterator(shard, &resume).await {
                        Ok(iterator) => {
                            cursor = Cursor::Have(iterator.clone());
                            iterator
                        }
                        Err(e) => {
                            self.recover(e, &mut resume, &mut read_backoff).await?;
                            batch.clear();
                            carry.clear();
                            deadline = None;
                            continue;
                        }
                    },
                };
                let page = match self.reader.records(shard, &iterator, batch.room()).await {
                    Ok(page) => page,
                    // The iterator stays good for 5 minutes: try it again.
                    Err(ReadError::Transient(_)) => {
                        tokio::time::sleep(read_backoff.next()).await;
                        continue;
                    }
                    Err(e) => {
                        cursor = Cursor::Need;
                        self.recover(e, &mut resume, &mut read_backoff).await?;
                        // Re-read from the checkpoint: nothing gathered so far was delivered.
                        batch.clear();
                        carry.clear();
                        deadline = None;
                        continue;
                    }
                };
                read_backoff.reset();
                cursor = page.next.map_or(Cursor::End, Cursor::Have);
                let got_records = !page.items.is_empty();
                for item in page.items {
                    if carry.is_empty() && batch.fits(&item) {
                        batch.push(item);
                    } else {
                        carry.push_back(item);
                    }
                }
                if got_records {
                    last_records = Instant::now();
                    deadline = deadline.or_else(|| batch.started(window));
                } else if page.at_tip && matches!(cursor, Cursor::Have(_)) {
                    let mut pause = timing.pause(last_records.elapsed());
                    if let Some(d) = deadline {
                        pause = pause.min(d.saturating_duration_since(Instant::now()));
                    }
                    tokio::time::sleep(pause).await;
                }
            }
            if batch.is_empty() {
                // Only a closed shard read to its end gets here.
                return Ok(());
            }
            let Some(last) = batch.items.last().map(|i| i.seq.clone()) else {
                continue;
            };
            let items = self.filtered(shard, std::mem::take(&mut batch.items));
            self.deliver_batch(shard, &items, &mut invoke_backoff).await;
            // Delivered, filtered out or given up: the shard moves on past the whole batch. The
            // cursor already points after it (no record of it is read twice).
            resume = Resume::After(last);
        }
    }

    /// The records the mapping's filters pass; says how many were skipped.
    fn filtered(&self, shard: &str, items: Vec<Item>) -> Vec<Item> {
        if self.source.filters.is_empty() {
            return items;
        }
        let kind = &self.source.kind;
        let (passed, skipped): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|i| self.source.filters.pass(&filter_view(kind, &i.record)));
        if !skipped.is_empty() {
            let what = summary(kind, shard, &skipped);
            self.deliver.note(&format!("skipped {what} (filter)"));
        }
        passed
    }

    /// Delivers `items` until every part of them succeeded or was given up, as the mapping's
    /// retry policy says.
    async fn deliver_batch(&self, shard: &str, items: &[Item], backoff: &mut Backoff) {
        let policy = self.source.retry;
        let mut retries = Retries::new(items.len(), policy);
        while let Some(part) = retries.current().cloned() {
            let records = &items[part.range.clone()];
            if let Some(max_age) = policy.max_record_age {
                let oldest = records.iter().filter_map(|i| arrival(&i.record)).min();
                let age = oldest.and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|age| age > max_age) {
                    retries.give_up();
                    let condition = StreamCondition::RecordAgeExceeded;
                    self.give_up(shard, records, condition, part.invocations.max(1))
                        .await;
                    continue;
                }
            }
            let mut summary = summary(&self.source.kind, shard, records);
            if part.retries > 0 {
                match policy.max_retries {
                    Some(max) => summary.push_str(&format!(" (retry {} of {max})", part.retries)),
                    None => summary.push_str(&format!(" (retry {})", part.retries)),
                }
            }
            let event = json!({
                "Records": records.iter().map(|i| i.record.clone()).collect::<Vec<_>>()
            });
            let seqs: Vec<String> = records.iter().map(|i| i.seq.clone()).collect();
            let outcome = self.deliver.deliver(event, summary).await;
            match retries.outcome(verdict(&outcome, &seqs)) {
                Next::Done => backoff.reset(),
                Next::Retry => tokio::time::sleep(backoff.next()).await,
                Next::Bisected => self.deliver.note(&format!(
                    "split the failed batch of {} records in two (bisect_on_error)",
                    records.len()
                )),
                Next::GiveUp => {
                    if let Some(given) = retries.give_up() {
                        let condition = StreamCondition::RetryAttemptsExhausted;
                        self.give_up(shard, &items[given.range], condition, given.invocations)
                            .await;
                    }
                    backoff.reset();
                }
            }
        }
    }

    /// Gives `records` up: their batch's record goes to the on-failure destination, if any.
    async fn give_up(
        &self,
        shard: &str,
        records: &[Item],
        condition: StreamCondition,
        invocations: u32,
    ) {
        let what = summary(&self.source.kind, shard, records);
        let why = match condition {
            StreamCondition::RetryAttemptsExhausted => format!(
                "after {invocations} attempt{}",
                if invocations == 1 { "" } else { "s" }
            ),
            StreamCondition::RecordAgeExceeded => "(too old to retry)".to_owned(),
        };
        let Some(destination) = &self.source.on_failure else {
            self.deliver.note(&format!(
                "gave up on {what} {why}: skipped (no on_failure destination)"
            ));
            return;
        };
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return;
        };
        let origin = match self.source.kind {
            StreamKind::Kinesis { .. } => StreamOrigin::Kinesis,
            StreamKind::DynamoDb { .. } => StreamOrigin::DynamoDb,
        };
        let info = BatchInfo {
            origin,
            shard_id: shard.to_owned(),
            start_sequence_number: first.seq.clone(),
            end_sequence_number: last.seq.clone(),
            first_arrival: arrival(&first.record),
            last_arrival: arrival(&last.record),
            batch_size: records.len(),
            stream_arn: self.source.kind.stream_arn().to_owned(),
        };
        let now = SystemTime::now();
        let function_arn = &self.source.function_arn;
        let record = stream_record(function_arn, condition, invocations, &info, now);
        let function_name = function_arn.rsplit(':').next().unwrap_or(function_arn);
        let key = stream_object_key(function_name, shard, now);
        match destination.send(&record, &key, function_arn).await {
            Ok(()) => self.deliver.note(&format!(
                "gave up on {what} {why}: {} record sent to {destination}",
                condition.as_str()
            )),
            Err(e) => self.deliver.note(&format!(
                "gave up on {what} {why}; could not send its record to {destination}: {e}"
            )),
        }
    }

    /// Handles a failed read: waits out transient trouble, rewinds past trimmed data, stops on the rest.
    async fn recover(
        &self,
        error: ReadError,
        resume: &mut Resume,
        backoff: &mut Backoff,
    ) -> Result<(), StreamError> {
        match error {
            ReadError::Fatal(e) => Err(e.into()),
            // The checkpoint is still good: a new iterator from it continues where this one stopped.
            ReadError::Expired => Ok(()),
            ReadError::Trimmed => {
                *resume = Resume::Start(StartingPosition::TrimHorizon);
                Ok(())
            }
            ReadError::Transient(_) => {
                tokio::time::sleep(backoff.next()).await;
                Ok(())
            }
        }
    }
}

/// Lambda's reading of an invocation's outcome, `ReportBatchItemFailures` on.
fn verdict(outcome: &Delivered, seqs: &[String]) -> Verdict {
    let Delivered::Ok(response) = outcome else {
        return Verdict::RetryAll;
    };
    let Some(ids) = outcome.failed_items() else {
        // Entries without a usable itemIdentifier make Lambda fail the whole batch.
        let listed = response
            .get("batchItemFailures")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty());
        return if listed {
            Verdict::RetryAll
        } else {
            Verdict::Done
        };
    };
    let mut earliest = usize::MAX;
    for id in ids {
        match seqs.iter().position(|s| *s == id) {
            Some(index) => earliest = earliest.min(index),
            None => return Verdict::RetryAll,
        }
    }
    Verdict::RetryFrom(earliest)
}

/// Delays that double from `Timing::backoff` up to `Timing::max_backoff`.
pub(super) struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(super) fn new(timing: &Timing) -> Backoff {
        Backoff {
            first: timing.backoff,
            max: timing.max_backoff,
            next: timing.backoff,
        }
    }

    pub(super) fn next(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(self.max).max(self.first);
        delay
    }

    pub(super) fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The records of the next invocation, bounded by count and payload size.
struct Batch {
    items: Vec<Item>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
}

impl Batch {
    fn new(max_items: usize, max_bytes: usize) -> Batch {
        Batch {
            items: Vec::new(),
            bytes: 0,
            max_items: max_items.max(1),
            max_bytes,
        }
    }

    /// Whether `item` fits by count and payload size; a first item always fits.
    fn fits(&self, item: &Item) -> bool {
        !self.full() && (self.items.is_empty() || self.bytes + item.size <= self.max_bytes)
    }

    fn push(&mut self, item: Item) {
        self.bytes += item.size;
        self.items.push(item);
    }

    fn full(&self) -> bool {
        self.items.len() >= self.max_items
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many more records fit by count.
    fn room(&self) -> u32 {
        u32::try_from(self.max_items.saturating_sub(self.items.len())).unwrap_or(u32::MAX)
    }

    /// When the batching window of a batch with records ends.
    fn started(&self, window: Option<Duration>) -> Option<Instant> {
        if self.items.is_empty() {
            None
        } else {
            window.map(|w| Instant::now() + w)
        }
    }

    fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outcomes_read_as_lambda_reads_them() {
        let batch = seqs(&["10", "11", "12"]);
        let ok = |v: Value| Delivered::Ok(v);
        assert_eq!(verdict(&ok(Value::Null), &batch), Verdict::Done);
        assert_eq!(
            verdict(&ok(json!({"batchItemFailures": []})), &batch),
            Verdict::Done
        );
        let failures = |ids: &[&str]| {
            ok(
                json!({"batchItemFailures": ids.iter().map(|i| json!({"itemIdentifier": i})).collect::<Vec<_>>()}),
            )
        };
        assert_eq!(
            verdict(&failures(&["12", "11"]), &batch),
            Verdict::RetryFrom(1)
        );
        assert_eq!(verdict(&failures(&["10"]), &batch), Verdict::RetryFrom(0));
        // An identifier not in the batch, or none at all: the whole batch failed.
        assert_eq!(verdict(&failures(&["99"]), &batch), Verdict::RetryAll);
        assert_eq!(verdict(&failures(&[""]), &batch), Verdict::RetryAll);
        assert_eq!(
            verdict(
                &ok(json!({"batchItemFailures": [{"itemIdentifier": null}]})),
                &batch
            ),
            Verdict::RetryAll
        );
        assert_eq!(
            verdict(&Delivered::Failed("boom".into()), &batch),
            Verdict::RetryAll
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let timing = Timing {
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(3),
            ..Timing::default()
        };
        let mut b = Backoff::new(&timing);
        let delays: Vec<u128> = (0..5).map(|_| b.next().as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(500));
    }

    #[test]
    fn batches_are_bounded_by_count_and_payload() {
        let item = |n: usize| Item {
            seq: n.to_string(),
            record: json!(n),
            size: 40,
            event_name: None,
        };
        let mut by_count = Batch::new(2, MAX_PAYLOAD_BYTES);
        assert_eq!(by_count.room(), 2);
        by_count.push(item(1));
        assert!(by_count.fits(&item(2)));
        by_count.push(item(2));
        assert!(by_count.full());
        assert!(!by_count.fits(&item(3)));
        assert_eq!(by_count.room(), 0);
        let mut by_size = Batch::new(10, 100);
        by_size.push(item(1));
        by_size.push(item(2));
        assert!(!by_size.fits(&item(3)));
        // A record bigger than the limit still goes, alone.
        let mut alone = Batch::new(10, 10);
        assert!(alone.fits(&item(1)));
        alone.push(item(1));
        assert!(!alone.fits(&item(2)));
    }
}
