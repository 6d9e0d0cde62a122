//! Kinesis and DynamoDB stream pollers: every shard read in order and handed to a [`Deliver`] in
//! batches, the way Lambda's event source mapping does it.
//!
//! Per shard: one batch in flight; the iterator is obtained at the starting position once, then from
//! the in-memory checkpoint (`AFTER_SEQUENCE_NUMBER` the last delivered record, or `AT_SEQUENCE_NUMBER`
//! the earliest record a handler reported failed). A failed invocation retries the same batch with
//! backoff, forever (Lambda's default `MaximumRetryAttempts` of -1). Child shards start once their
//! parents are read to the end, at `TRIM_HORIZON`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chalice_codegen::plan::{EventSourceMapping, MappingSource};
use serde_json::{Map, Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Deliver, Delivered, Shutdown, stopped};
use crate::aws::Clients;
use crate::resources::CallError;
use crate::resources::sources::{TableStream, arn_parts, table_stream};

/// Lambda's synchronous invocation payload limit: a batch stops growing before its event exceeds it.
const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// GetRecords' `Limit` maxima.
const KINESIS_MAX_LIMIT: u32 = 10_000;
const DYNAMODB_MAX_LIMIT: u32 = 1_000;
/// Error codes worth retrying a read after (throttling, service trouble).
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "KMSThrottlingException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Errors that stop a stream poller.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("table {0} does not exist")]
    MissingTable(String),
    #[error("table {0} has no stream: enable one (StreamSpecification) for its changes to be read")]
    NoStream(String),
    /// The source cannot be read as configured.
    #[error("{0}")]
    Config(String),
    #[error("the poller of {0} stopped unexpectedly: {1}")]
    Task(String, String),
}

/// Which stream a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamKind {
    Kinesis {
        stream_arn: String,
    },
    /// A table's stream (its `LatestStreamArn`, see [`table_stream_arn`]).
    DynamoDb {
        stream_arn: String,
    },
}

impl StreamKind {
    pub fn stream_arn(&self) -> &str {
        match self {
            StreamKind::Kinesis { stream_arn } | StreamKind::DynamoDb { stream_arn } => stream_arn,
        }
    }
}

/// Where reading a shard starts the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
    /// Kinesis only.
    AtTimestamp(SystemTime),
}

/// How often a poller calls AWS; tests shorten these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The pause between GetRecords calls on a shard with nothing new.
    pub poll_interval: Duration,
    /// How often the shard list is refreshed (shards appear when a stream is resharded).
    pub discovery_interval: Duration,
    /// The first pause after a failed invocation or read; doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            // ~3 GetRecords a second per idle shard: a record reaches the handler in well under a
            // second, and a deployed mapping reading the same Kinesis shard (1/s) stays under the
            // shard's 5 reads/s.
            poll_interval: Duration::from_millis(300),
            discovery_interval: Duration::from_secs(30),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What one event source mapping reads, and how it batches.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSource {
    pub kind: StreamKind,
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`: keep reading up to this long (from the first record read)
    /// before invoking, unless the batch fills first.
    pub batching_window: Option<Duration>,
    pub starting_position: StartingPosition,
    /// `awsRegion` in the events.
    pub region: String,
    /// `invokeIdentityArn` in Kinesis events: Lambda puts the execution role there; locally it is
    /// whoever reads the stream. Left out of the events when `None`.
    pub invoke_identity_arn: Option<String>,
    pub timing: Timing,
}

impl StreamSource {
    /// Lambda's defaults: batches of up to 100, no batching window, from `TRIM_HORIZON`.
    pub fn new(kind: StreamKind, region: impl Into<String>) -> StreamSource {
        StreamSource {
            kind,
            batch_size: 100,
            batching_window: None,
            starting_position: StartingPosition::TrimHorizon,
            region: region.into(),
            invoke_identity_arn: None,
            timing: Timing::default(),
        }
    }

    /// The source of a planned mapping; `stream_arn` is its resolved stream ARN (for a
    /// [`MappingSource::Table`], the table's latest stream: [`table_stream_arn`]).
    pub fn from_mapping(
        m: &EventSourceMapping,
        stream_arn: &str,
        region: &str,
    ) -> Result<StreamSource, StreamError> {
        let stream_arn = stream_arn.to_owned();
        let kind = match &m.source {
            MappingSource::Stream { .. } => StreamKind::Kinesis { stream_arn },
            MappingSource::TableStream { .. } | MappingSource::Table { .. } => {
                StreamKind::DynamoDb { stream_arn }
            }
            MappingSource::Queue { .. } => {
                return Err(StreamError::Config(format!(
                    "mapping {} reads a queue, not a stream",
                    m.id
                )));
            }
        };
        let starting_position = parse_position(
            m.starting_position.as_deref(),
            m.starting_position_timestamp.as_deref(),
        )
        .map_err(|e| StreamError::Config(format!("mapping {}: {e}", m.id)))?;
        let source = StreamSource {
            batch_size: m.batch_size.max(1),
            batching_window: m
                .batching_window_s
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(s.into())),
            starting_position,
            ..StreamSource::new(kind, region)
        };
        source.check()?;
        Ok(source)
    }

    /// What AWS would refuse to create.
    fn check(&self) -> Result<(), StreamError> {
        if self.batch_size == 0 {
            return Err(StreamError::Config(
                "the batch size must be at least 1".into(),
            ));
        }
        if matches!(self.kind, StreamKind::DynamoDb { .. })
            && matches!(self.starting_position, StartingPosition::AtTimestamp(_))
        {
            return Err(StreamError::Config(format!(
                "{}: DynamoDB streams cannot start at a timestamp",
                self.kind.stream_arn()
            )));
        }
        Ok(())
    }
}

/// `TRIM_HORIZON` / `LATEST` / `AT_TIMESTAMP` (with an RFC 3339 time) as a [`StartingPosition`].
fn parse_position(
    position: Option<&str>,
    timestamp: Option<&str>,
) -> Result<StartingPosition, String> {
    match position {
        Some("TRIM_HORIZON") => Ok(StartingPosition::TrimHorizon),
        Some("LATEST") => Ok(StartingPosition::Latest),
        Some("AT_TIMESTAMP") => {
            let ts = timestamp.ok_or("AT_TIMESTAMP without a timestamp")?;
            let time = DateTime::from_str(ts, Format::DateTimeWithOffset)
                .map_err(|e| format!("`{ts}` is not an RFC 3339 timestamp: {e}"))?;
            SystemTime::try_from(time)
                .map(StartingPosition::AtTimestamp)
                .map_err(|e| format!("`{ts}` is out of range: {e}"))
        }
        Some(other) => Err(format!("unknown starting position `{other}`")),
        None => Err("a stream mapping needs a starting position".into()),
    }
}

/// The table's latest stream ARN (DescribeTable's `LatestStreamArn`).
pub async fn table_stream_arn(clients: &Clients, table: &str) -> Result<String, StreamError> {
    match table_stream(clients, table).await? {
        TableStream::Arn(arn) => Ok(arn),
        TableStream::MissingTable => Err(StreamError::MissingTable(table.to_owned())),
        TableStream::NoStream => Err(StreamError::NoStream(table.to_owned())),
    }
}

/// Polls every shard of `source` and invokes `deliver` with its batches until `shutdown` fires.
///
/// Returns an error when the stream cannot be read (it does not exist, access is denied, the first
/// listing of its shards fails); afterwards throttling, network trouble and expired iterators are
/// retried, forever. On shutdown the shard pollers are cancelled, an invocation in flight included.
pub async fn run<D: Deliver>(
    clients: Clients,
    source: StreamSource,
    deliver: Arc<D>,
    mut shutdown: Shutdown,
) -> Result<(), StreamError> {
    source.check()?;
    let timing = source.timing;
    let initial_position = source.starting_position;
    let ctx = Arc::new(Poller {
        reader: Reader::new(clients, &source),
        source,
        deliver,
    });
    let mut shards: HashMap<String, Tracked> = HashMap::new();
    let mut tasks: JoinSet<(String, Result<(), StreamError>)> = JoinSet::new();
    let mut listed_once = false;
    let mut list_backoff = Backoff::new(&timing);
    let mut next_listing = Instant::now();
    let result = loop {
        tokio::select! {
            biased;
            _ = stopped(&mut shutdown) => break Ok(()),
            Some(joined) = tasks.join_next() => match joined {
                Ok((shard, Ok(()))) => {
                    if let Some(tracked) = shards.get_mut(&shard) {
                        tracked.state = State::Finished;
                    }
                    start_ready(&ctx, &mut shards, &mut tasks);
                }
                Ok((_, Err(e))) => break Err(e),
                Err(e) => {
                    let stream = ctx.source.kind.stream_arn().to_owned();
                    break Err(StreamError::Task(stream, e.to_string()));
                }
            },
            listed = async {
                tokio::time::sleep_until(next_listing).await;
                ctx.reader.list_shards().await
            } => match listed {
                Ok(listing) => {
                    for shard in listing {
                        track(&mut shards, shard, (!listed_once).then_some(initial_position));
                    }
                    listed_once = true;
                    list_backoff.reset();
                    next_listing = Instant::now() + timing.discovery_interval;
                    start_ready(&ctx, &mut shards, &mut tasks);
                }
                Err(ReadError::Fatal(e)) => break Err(e.into()),
                // A stream that cannot be reached at start is reported, not waited for.
                Err(ReadError::Transient(e)) if !listed_once => break Err(e.into()),
                Err(_) => next_listing = Instant::now() + list_backoff.next(),
            },
        }
    };
    tasks.shutdown().await;
    result
}

/// A shard the poller knows of.
struct Tracked {
    parents: Vec<String>,
    state: State,
}

enum State {
    /// Waiting for its parents to be read to the end.
    Waiting(StartingPosition),
    Running,
    Finished,
}

/// Adds a newly listed shard: it starts at `initial`, or at `TRIM_HORIZON` when it appears later
/// (a reshard's child).
fn track(
    shards: &mut HashMap<String, Tracked>,
    shard: ShardInfo,
    initial: Option<StartingPosition>,
) {
    if shards.contains_key(&shard.id) {
        return;
    }
    let state = match initial {
        // Nothing comes after LATEST in a closed shard.
        Some(StartingPosition::Latest) if shard.closed => State::Finished,
        Some(position) => State::Waiting(position),
        None => State::Waiting(StartingPosition::TrimHorizon),
    };
    shards.insert(
        shard.id,
        Tracked {
            parents: shard.parents,
            state,
        },
    );
}

/// Starts every waiting shard whose parents are finished (or no longer listed).
fn start_ready<D: Deliver>(
    ctx: &Arc<Poller<D>>,
    shards: &mut HashMap<String, Tracked>,
    tasks: &mut JoinSet<(String, Result<(), StreamError>)>,
) {
    for id in ready(shards) {
        let Some(tracked) = shards.get_mut(&id) else {
            continue;
        };
        let State::Waiting(position) = tracked.state else {
            continue;
        };
        tracked.state = State::Running;
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let result = ctx.poll_shard(&id, position).await;
            (id, result)
        });
    }
}

/// The waiting shards whose parents are finished (or no longer listed), sorted.
fn ready(shards: &HashMap<String, Tracked>) -> Vec<String> {
    let mut ready: Vec<String> = shards
        .iter()
        .filter(|(_, t)| matches!(t.state, State::Waiting(_)))
        .filter(|(_, t)| {
            t.parents.iter().all(|p| {
                shards
                    .get(p)
                    .is_none_or(|parent| matches!(parent.state, State::Finished))
            })
        })
        .map(|(id, _)| id.clone())
        .collect();
    ready.sort();
    ready
}

/// Where a shard iterator is (re)obtained.
#[derive(Debug, Clone, PartialEq)]
enum Resume {
    Start(StartingPosition),
    After(String),
    At(String),
}

/// The shard iterator a poller holds.
enum Cursor {
    /// Obtain one from the checkpoint.
    Need,
    Have(String),
    /// The shard is closed and read to the end.
    End,
}

/// Everything a shard poller shares.
struct Poller<D> {
    reader: Reader,
    source: StreamSource,
    deliver: Arc<D>,
}

impl<D: Deliver> Poller<D> {
    /// Reads one shard to its end (forever, while it is open).
    async fn poll_shard(&self, shard: &str, start: StartingPosition) -> Result<(), StreamError> {
        let timing = &self.source.timing;
        let window = self.source.batching_window;
        let mut resume = Resume::Start(start);
        let mut cursor = Cursor::Need;
        // Records read but not yet delivered that did not fit the last batch (payload limit).
        let mut carry: VecDeque<Item> = VecDeque::new();
        let mut read_backoff = Backoff::new(timing);
        let mut invoke_backoff = Backoff::new(timing);
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
                    deadline = deadline.or_else(|| batch.started(window));
                } else if page.at_tip && matches!(cursor, Cursor::Have(_)) {
                    let mut pause = timing.poll_interval;
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
            let seqs: Vec<String> = batch.items.iter().map(|i| i.seq.clone()).collect();
            let summary = summary(&self.source.kind, shard, &batch.items);
            let event = json!({
                "Records": batch.items.into_iter().map(|i| i.record).collect::<Vec<_>>()
            });
            loop {
                let outcome = self.deliver.deliver(event.clone(), summary.clone()).await;
                match verdict(&outcome, &seqs) {
                    Verdict::Done => {
                        if let Some(last) = seqs.last() {
                            resume = Resume::After(last.clone());
                        }
                        invoke_backoff.reset();
                        break;
                    }
                    Verdict::RetryFrom(index) => {
                        // Checkpoint just before the earliest failed record and re-read from it.
                        if let Some(seq) = seqs.get(index) {
                            resume = Resume::At(seq.clone());
                        }
                        cursor = Cursor::Need;
                        carry.clear();
                        tokio::time::sleep(invoke_backoff.next()).await;
                        break;
                    }
                    Verdict::RetryAll => tokio::time::sleep(invoke_backoff.next()).await,
                }
            }
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

/// What a batch's outcome asks for.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Done,
    /// Re-read from this record of the batch (a partial batch failure).
    RetryFrom(usize),
    RetryAll,
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
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(timing: &Timing) -> Backoff {
        Backoff {
            first: timing.backoff,
            max: timing.max_backoff,
            next: timing.backoff,
        }
    }

    fn next(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(self.max).max(self.first);
        delay
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// One record as the handler receives it.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    seq: String,
    record: Value,
    /// Its size in the event, in bytes.
    size: usize,
    /// DynamoDB's `eventName`, for the summary.
    event_name: Option<String>,
}

impl Item {
    fn new(seq: String, record: Value, event_name: Option<String>) -> Item {
        // Serialising a Value cannot fail (its map keys are strings).
        let size = serde_json::to_vec(&record).map_or(0, |v| v.len()) + 1;
        Item {
            seq,
            record,
            size,
            event_name,
        }
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

/// A shard as listed.
#[derive(Debug, Clone, PartialEq)]
struct ShardInfo {
    id: String,
    /// `ParentShardId` and `AdjacentParentShardId`.
    parents: Vec<String>,
    /// It has an ending sequence number: no record will be added.
    closed: bool,
}

/// One GetRecords answer.
struct Page {
    items: Vec<Item>,
    /// `None` when the shard is closed and read to its end.
    next: Option<String>,
    /// Nothing more to read right now (Kinesis: `MillisBehindLatest` is 0).
    at_tip: bool,
}

/// A failed read, by what the poller does about it.
#[derive(Debug)]
enum ReadError {
    Transient(CallError),
    /// `ExpiredIteratorException`: get a new iterator from the checkpoint.
    Expired,
    /// `TrimmedDataAccessException`: the checkpoint is past the retention period.
    Trimmed,
    Fatal(CallError),
}

impl From<CallError> for ReadError {
    fn from(e: CallError) -> ReadError {
        match e.code.as_deref() {
            Some("ExpiredIteratorException") => ReadError::Expired,
            Some("TrimmedDataAccessException") => ReadError::Trimmed,
            // No code: the request did not get an answer (network, timeout).
            None => ReadError::Transient(e),
            Some(code) if TRANSIENT_CODES.contains(&code) => ReadError::Transient(e),
            Some(_) => ReadError::Fatal(e),
        }
    }
}

/// Reads one stream through the Kinesis or DynamoDB Streams API.
struct Reader {
    clients: Clients,
    kind: StreamKind,
    region: String,
    invoke_identity_arn: Option<String>,
}

impl Reader {
    fn new(clients: Clients, source: &StreamSource) -> Reader {
        Reader {
            clients,
            kind: source.kind.clone(),
            region: source.region.clone(),
            invoke_identity_arn: source.invoke_identity_arn.clone(),
        }
    }

    fn arn(&self) -> &str {
        self.kind.stream_arn()
    }

    async fn list_shards(&self) -> Result<Vec<ShardInfo>, ReadError> {
        let mut shards = Vec::new();
        match &self.kind {
            StreamKind::Kinesis { stream_arn } => {
                let mut token: Option<String> = None;
                loop {
                    // With a NextToken, AWS refuses the stream's name or ARN.
                    let call = match &token {
                        Some(t) => self.clients.kinesis.list_shards().next_token(t),
                        None => self.clients.kinesis.list_shards().stream_arn(stream_arn),
                    };
                    let out = call
                        .send()
                        .await
                        .map_err(|e| CallError::new("ListShards", stream_arn, e))?;
                    shards.extend(out.shards().iter().map(|s| {
                        ShardInfo {
                            id: s.shard_id().to_owned(),
                            parents: [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                                .into_iter()
                                .flatten()
                                .map(str::to_owned)
                                .collect(),
                            closed: s
                                .sequence_number_range()
                                .and_then(|r| r.ending_sequence_number())
                                .is_some(),
                        }
                    }));
                    token = out.next_token().map(str::to_owned);
                    if token.is_none() || out.shards().is_empty() {
                        break;
                    }
                }
            }
            StreamKind::DynamoDb { stream_arn } => {
                let mut start: Option<String> = None;
                loop {
                    let out = self
                        .clients
                        .dynamodb_streams
                        .describe_stream()
                        .stream_arn(stream_arn)
                        .set_exclusive_start_shard_id(start.take())
                        .send()
                        .await
                        .map_err(|e| CallError::new("DescribeStream", stream_arn, e))?;
                    let Some(description) = out.stream_description() else {
                        break;
                    };
                    shards.extend(description.shards().iter().filter_map(|s| {
                        Some(ShardInfo {
                            id: s.shard_id()?.to_owned(),
                            parents: s.parent_shard_id().map(str::to_owned).into_iter().collect(),
                            closed: s
                                .sequence_number_range()
                                .and_then(|r| r.ending_sequence_number())
                                .is_some(),
                        })
                    }));
                    start = description.last_evaluated_shard_id().map(str::to_owned);
                    if start.is_none() || description.shards().is_empty() {
                        break;
                    }
                }
            }
        }
        Ok(shards)
    }

    async fn iterator(&self, shard: &str, resume: &Resume) -> Result<String, ReadError> {
        let target = format!("{} {shard}", self.arn());
        let iterator = match &self.kind {
            StreamKind::Kinesis { stream_arn } => {
                use aws_sdk_kinesis::types::ShardIteratorType as T;
                let call = self
                    .clients
                    .kinesis
                    .get_shard_iterator()
                    .stream_arn(stream_arn)
                    .shard_id(shard);
                let call = match resume {
                    Resume::Start(StartingPosition::TrimHorizon) => {
                        call.shard_iterator_type(T::TrimHorizon)
                    }
                    Resume::Start(StartingPosition::Latest) => call.shard_iterator_type(T::Latest),
                    Resume::Start(StartingPosition::AtTimestamp(t)) => call
                        .shard_iterator_type(T::AtTimestamp)
                        .timestamp(DateTime::from(*t)),
                    Resume::After(seq) => call
                        .shard_iterator_type(T::AfterSequenceNumber)
                        .starting_sequence_number(seq),
                    Resume::At(seq) => call
                        .shard_iterator_type(T::AtSequenceNumber)
                        .starting_sequence_number(seq),
                };
                let out = call
                    .send()
                    .await
                    .map_err(|e| CallError::new("GetShardIterator", &target, e))?;
                out.shard_iterator().map(str::to_owned)
            }
            StreamKind::DynamoDb { stream_arn } => {
                use aws_sdk_dynamodbstreams::types::ShardIteratorType as T;
                let call = self
                    .clients
                    .dynamodb_streams
                    .get_shard_iterator()
                    .stream_arn(stream_arn)
                    .shard_id(shard);
                let call = match resume {
                    Resume::Start(StartingPosition::Latest) => call.shard_iterator_type(T::Latest),
                    // `check` refuses AT_TIMESTAMP for DynamoDB before any shard is read.
                    Resume::Start(_) => call.shard_iterator_type(T::TrimHorizon),
                    Resume::After(seq) => call
                        .shard_iterator_type(T::AfterSequenceNumber)
                        .sequence_number(seq),
                    Resume::At(seq) => call
                        .shard_iterator_type(T::AtSequenceNumber)
                        .sequence_number(seq),
                };
                let out = call
                    .send()
                    .await
                    .map_err(|e| CallError::new("GetShardIterator", &target, e))?;
                out.shard_iterator().map(str::to_owned)
            }
        };
        iterator.ok_or_else(|| {
            ReadError::Fatal(CallError::other(
                "GetShardIterator",
                &target,
                "the answer has no ShardIterator",
            ))
        })
    }

    async fn records(&self, shard: &str, iterator: &str, limit: u32) -> Result<Page, ReadError> {
        let target = format!("{} {shard}", self.arn());
        match &self.kind {
            StreamKind::Kinesis { stream_arn } => {
                let limit = limit.clamp(1, KINESIS_MAX_LIMIT);
                let out = self
                    .clients
                    .kinesis
                    .get_records()
                    .shard_iterator(iterator)
                    // AWS does not need the ARN here; moto does when the iterator came from
                    // GetShardIterator by ARN (its iterator then names stream `None`).
                    .stream_arn(stream_arn)
                    .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(|e| CallError::new("GetRecords", &target, e))?;
                let ctx = KinesisContext {
                    stream_arn,
                    shard_id: shard,
                    region: &self.region,
                    invoke_identity_arn: self.invoke_identity_arn.as_deref(),
                };
                Ok(Page {
                    items: out
                        .records()
                        .iter()
                        .map(|r| kinesis_record(r, &ctx))
                        .collect(),
                    next: out.next_shard_iterator().map(str::to_owned),
                    at_tip: out.millis_behind_latest().is_none_or(|ms| ms <= 0),
                })
            }
            StreamKind::DynamoDb { stream_arn } => {
                let limit = limit.clamp(1, DYNAMODB_MAX_LIMIT);
                let out = self
                    .clients
                    .dynamodb_streams
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(|e| CallError::new("GetRecords", &target, e))?;
                Ok(Page {
                    items: out
                        .records()
                        .iter()
                        .filter_map(|r| dynamodb_record(r, stream_arn, &self.region))
                        .collect(),
                    next: out.next_shard_iterator().map(str::to_owned),
                    at_tip: true,
                })
            }
        }
    }
}

/// `3 records from mystream (shardId-000000000000)` / `1 record from table orders (INSERT)`.
fn summary(kind: &StreamKind, shard: &str, items: &[Item]) -> String {
    let n = items.len();
    let noun = if n == 1 { "record" } else { "records" };
    match kind {
        StreamKind::Kinesis { stream_arn } => {
            let name = arn_resource(stream_arn);
            let name = name.strip_prefix("stream/").unwrap_or(name);
            format!("{n} {noun} from {name} ({shard})")
        }
        StreamKind::DynamoDb { stream_arn } => {
            let resource = arn_resource(stream_arn);
            let table = resource
                .strip_prefix("table/")
                .and_then(|r| r.split('/').next())
                .unwrap_or(resource);
            let mut names: Vec<&str> = Vec::new();
            for name in items.iter().filter_map(|i| i.event_name.as_deref()) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            format!("{n} {noun} from table {table} ({})", names.join(", "))
        }
    }
}

/// The resource part of an ARN (the whole string when it is not one).
fn arn_resource(arn: &str) -> &str {
    arn_parts(arn).map_or(arn, |p| p.resource)
}

/// What a Kinesis event record says besides the record itself.
struct KinesisContext<'a> {
    stream_arn: &'a str,
    shard_id: &'a str,
    region: &'a str,
    invoke_identity_arn: Option<&'a str>,
}

/// A Kinesis record as Lambda delivers it.
fn kinesis_record(r: &aws_sdk_kinesis::types::Record, ctx: &KinesisContext<'_>) -> Item {
    let seq = r.sequence_number();
    let arrival = r.approximate_arrival_timestamp().map_or(0.0, |t| {
        // Lambda gives milliseconds, as fractional seconds.
        t.to_millis()
            .map_or_else(|_| t.as_secs_f64(), |ms| ms as f64 / 1000.0)
    });
    let mut kinesis = json!({
        "kinesisSchemaVersion": "1.0",
        "partitionKey": r.partition_key().unwrap_or_default(),
        "sequenceNumber": seq,
        "data": BASE64.encode(r.data().as_ref()),
        "approximateArrivalTimestamp": arrival,
    });
    if r.encryption_type() == Some(&aws_sdk_kinesis::types::EncryptionType::Kms) {
        kinesis["encryptionType"] = json!("KMS");
    }
    let mut record = Map::new();
    record.insert("kinesis".into(), kinesis);
    record.insert("eventSource".into(), json!("aws:kinesis"));
    record.insert("eventVersion".into(), json!("1.0"));
    record.insert("eventID".into(), json!(format!("{}:{seq}", ctx.shard_id)));
    record.insert("eventName".into(), json!("aws:kinesis:record"));
    if let Some(arn) = ctx.invoke_identity_arn {
        record.insert("invokeIdentityArn".into(), json!(arn));
    }
    record.insert("awsRegion".into(), json!(ctx.region));
    record.insert("eventSourceARN".into(), json!(ctx.stream_arn));
    Item::new(seq.to_owned(), Value::Object(record), None)
}

/// A DynamoDB stream record as Lambda delivers it; `None` without a sequence number (never on AWS).
fn dynamodb_record(
    r: &aws_sdk_dynamodbstreams::types::Record,
    stream_arn: &str,
    region: &str,
) -> Option<Item> {
    let change = r.dynamodb()?;
    let seq = change.sequence_number()?;
    let event_name = r.event_name().map(|n| n.as_str().to_owned());
    let mut dynamodb = Map::new();
    if let Some(t) = change.approximate_creation_date_time() {
        // Whole seconds, as Lambda's events have them.
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
    }
    dynamodb.insert("Keys".into(), item_json(change.keys()));
    if let Some(image) = change.new_image() {
        dynamodb.insert("NewImage".into(), item_json(Some(image)));
    }
    if let Some(image) = change.old_image() {
        dynamodb.insert("OldImage".into(), item_json(Some(image)));
    }
    dynamodb.insert("SequenceNumber".into(), json!(seq));
    dynamodb.insert("SizeBytes".into(), json!(change.size_bytes().unwrap_or(0)));
    if let Some(view) = change.stream_view_type() {
        dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
    }
    let mut record = Map::new();
    record.insert("eventID".into(), json!(r.event_id().unwrap_or_default()));
    record.insert(
        "eventName".into(),
        json!(event_name.as_deref().unwrap_or_default()),
    );
    // Passed through: "1.1" on AWS (moto says "1.0").
    record.insert(
        "eventVersion".into(),
        json!(r.event_version().unwrap_or("1.1")),
    );
    record.insert("eventSource".into(), json!("aws:dynamodb"));
    // The mapping's region, which is the table's on AWS (moto always says us-east-1).
    record.insert("awsRegion".into(), json!(region));
    record.insert("dynamodb".into(), Value::Object(dynamodb));
    if let Some(identity) = r.user_identity() {
        // TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}.
        record.insert(
            "userIdentity".into(),
            json!({
                "type": identity.r#type().unwrap_or_default(),
                "principalId": identity.principal_id().unwrap_or_default(),
            }),
        );
    }
    record.insert("eventSourceARN".into(), json!(stream_arn));
    Some(Item::new(seq.to_owned(), Value::Object(record), event_name))
}

/// An item (a map of attributes) in DynamoDB JSON, attributes sorted by name.
fn item_json(
    item: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>,
) -> Value {
    let sorted: BTreeMap<&String, Value> = item
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, attribute_json(v)?)))
        .collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

/// One attribute value in DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, `{"B": base64}`, ...); `None` for
/// a type this SDK does not know.
fn attribute_json(v: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Option<Value> {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    let b64 = |b: &aws_smithy_types::Blob| BASE64.encode(b.as_ref());
    Some(match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::B(b) => json!({ "B": b64(b) }),
        A::Ss(v) => json!({ "SS": v }),
        A::Ns(v) => json!({ "NS": v }),
        A::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        A::M(m) => json!({ "M": item_json(Some(m)) }),
        A::L(l) => json!({ "L": l.iter().filter_map(attribute_json).collect::<Vec<_>>() }),
        A::Null(b) => json!({ "NULL": b }),
        A::Bool(b) => json!({ "BOOL": b }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue as A, Identity, OperationType, Record as DdbRecord, StreamRecord,
        StreamViewType,
    };
    use aws_sdk_kinesis::types::Record as KinesisRecord;
    use aws_smithy_types::Blob;

    use super::*;

    const STREAM: &str = "arn:aws:kinesis:eu-west-1:111122223333:stream/clicks";
    const TABLE_STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-01T00:00:00.000";

    fn ctx(identity: Option<&'static str>) -> KinesisContext<'static> {
        KinesisContext {
            stream_arn: STREAM,
            shard_id: "shardId-000000000001",
            region: "eu-west-1",
            invoke_identity_arn: identity,
        }
    }

    fn kinesis(seq: &str, data: &[u8]) -> KinesisRecord {
        KinesisRecord::builder()
            .sequence_number(seq)
            .data(Blob::new(data))
            .partition_key("pk-1")
            .approximate_arrival_timestamp(DateTime::from_millis(1_704_067_200_123))
            .build()
            .unwrap()
    }

    #[test]
    fn kinesis_records_are_lambdas() {
        let item = kinesis_record(
            &kinesis("4959", b"Hello"),
            &ctx(Some("arn:aws:iam::111122223333:role/app-dev")),
        );
        assert_eq!(item.seq, "4959");
        assert_eq!(
            item.record,
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "pk-1",
                    "sequenceNumber": "4959",
                    "data": "SGVsbG8=",
                    "approximateArrivalTimestamp": 1_704_067_200.123
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": "shardId-000000000001:4959",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::111122223333:role/app-dev",
                "awsRegion": "eu-west-1",
                "eventSourceARN": STREAM
            })
        );
        let event: aws_lambda_events::event::kinesis::KinesisEvent =
            serde_json::from_value(json!({ "Records": [item.record] })).unwrap();
        let record = &event.records[0];
        assert_eq!(record.kinesis.data.0, b"Hello");
        assert_eq!(record.kinesis.sequence_number, "4959");
        assert_eq!(
            record.event_id.as_deref(),
            Some("shardId-000000000001:4959")
        );
        let millis = record
            .kinesis
            .approximate_arrival_timestamp
            .0
            .timestamp_millis();
        assert!((millis - 1_704_067_200_123).abs() <= 1, "{millis}");
        // Without an identity the field is left out (it is optional for handlers too).
        let item = kinesis_record(&kinesis("1", b""), &ctx(None));
        assert!(item.record.get("invokeIdentityArn").is_none());
        assert_eq!(item.record["kinesis"]["data"], "");
    }

    fn every_type() -> HashMap<String, A> {
        let nested = HashMap::from([("inner".to_owned(), A::S("x".into()))]);
        HashMap::from([
            ("s".to_owned(), A::S("text".into())),
            ("n".to_owned(), A::N("12.5".into())),
            ("b".to_owned(), A::B(Blob::new(b"xy"))),
            ("ss".to_owned(), A::Ss(vec!["a".into(), "b".into()])),
            ("ns".to_owned(), A::Ns(vec!["1".into(), "2".into()])),
            (
                "bs".to_owned(),
                A::Bs(vec![Blob::new(b"a"), Blob::new(b"b")]),
            ),
            ("m".to_owned(), A::M(nested)),
            ("l".to_owned(), A::L(vec![A::N("1".into()), A::Bool(false)])),
            ("null".to_owned(), A::Null(true)),
            ("bool".to_owned(), A::Bool(true)),
        ])
    }

    fn ddb(seq: &str, name: OperationType, new: bool, old: bool) -> DdbRecord {
        let mut change = StreamRecord::builder()
            .approximate_creation_date_time(DateTime::from_millis(1_704_067_200_999))
            .keys("id", A::S("o-1".into()))
            .sequence_number(seq)
            .size_bytes(42)
            .stream_view_type(StreamViewType::NewAndOldImages);
        if new {
            change = change.set_new_image(Some(every_type()));
        }
        if old {
            change =
                change.set_old_image(Some(HashMap::from([("id".to_owned(), A::S("o-1".into()))])));
        }
        DdbRecord::builder()
            .event_id("e1")
            .event_name(name)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("us-east-1")
            .dynamodb(change.build())
            .build()
    }

    #[test]
    fn dynamodb_records_are_lambdas() {
        let item = dynamodb_record(
            &ddb("111", OperationType::Modify, true, true),
            TABLE_STREAM,
            "eu-west-1",
        )
        .unwrap();
        assert_eq!(item.seq, "111");
        assert_eq!(item.event_name.as_deref(), Some("MODIFY"));
        assert_eq!(
            item.record,
            json!({
                "eventID": "e1",
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_704_067_200,
                    "Keys": { "id": { "S": "o-1" } },
                    "NewImage": {
                        "b": { "B": "eHk=" },
                        "bool": { "BOOL": true },
                        "bs": { "BS": ["YQ==", "Yg=="] },
                        "l": { "L": [{ "N": "1" }, { "BOOL": false }] },
                        "m": { "M": { "inner": { "S": "x" } } },
                        "n": { "N": "12.5" },
                        "ns": { "NS": ["1", "2"] },
                        "null": { "NULL": true },
                        "s": { "S": "text" },
                        "ss": { "SS": ["a", "b"] }
                    },
                    "OldImage": { "id": { "S": "o-1" } },
                    "SequenceNumber": "111",
                    "SizeBytes": 42,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": TABLE_STREAM
            })
        );
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(json!({ "Records": [item.record] })).unwrap();
        let change = &event.records[0].change;
        assert_eq!(change.sequence_number.as_deref(), Some("111"));
        assert_eq!(change.size_bytes, 42);
        assert_eq!(change.new_image.len(), 10);
        assert_eq!(change.old_image.len(), 1);
        assert_eq!(event.records[0].event_name, "MODIFY");
    }

    #[test]
    fn dynamodb_ttl_deletions_name_the_service() {
        let plain = ddb("7", OperationType::Remove, false, true);
        let record = DdbRecord::builder()
            .set_event_id(plain.event_id().map(str::to_owned))
            .event_name(OperationType::Remove)
            .set_dynamodb(plain.dynamodb().cloned())
            .user_identity(
                Identity::builder()
                    .r#type("Service")
                    .principal_id("dynamodb.amazonaws.com")
                    .build(),
            )
            .build();
        let item = dynamodb_record(&record, TABLE_STREAM, "eu-west-1").unwrap();
        assert_eq!(
            item.record["userIdentity"],
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        );
        assert!(item.record["dynamodb"].get("NewImage").is_none());
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(json!({ "Records": [item.record] })).unwrap();
        assert_eq!(
            event.records[0].user_identity.as_ref().unwrap().type_,
            "Service"
        );
        // No sequence number: nothing to checkpoint, so no record.
        let bare = DdbRecord::builder()
            .dynamodb(StreamRecord::builder().build())
            .build();
        assert_eq!(dynamodb_record(&bare, TABLE_STREAM, "eu-west-1"), None);
    }

    fn named(event_name: &str) -> Item {
        Item::new("1".into(), json!({}), Some(event_name.into()))
    }

    #[test]
    fn summaries_name_the_stream_and_what_happened() {
        let k = StreamKind::Kinesis {
            stream_arn: STREAM.into(),
        };
        let items = vec![Item::new("1".into(), json!({}), None); 3];
        assert_eq!(
            summary(&k, "shardId-000000000000", &items),
            "3 records from clicks (shardId-000000000000)"
        );
        assert_eq!(
            summary(&k, "shardId-000000000000", &items[..1]),
            "1 record from clicks (shardId-000000000000)"
        );
        let d = StreamKind::DynamoDb {
            stream_arn: TABLE_STREAM.into(),
        };
        assert_eq!(
            summary(&d, "s", &[named("INSERT")]),
            "1 record from table orders (INSERT)"
        );
        assert_eq!(
            summary(
                &d,
                "s",
                &[named("INSERT"), named("MODIFY"), named("INSERT")]
            ),
            "3 records from table orders (INSERT, MODIFY)"
        );
    }

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

    #[test]
    fn read_errors_are_sorted_by_what_to_do() {
        let e = |code: Option<&str>| CallError {
            operation: "GetRecords",
            target: "s".into(),
            code: code.map(str::to_owned),
            message: "m".into(),
        };
        assert!(matches!(
            ReadError::from(e(Some("ExpiredIteratorException"))),
            ReadError::Expired
        ));
        assert!(matches!(
            ReadError::from(e(Some("TrimmedDataAccessException"))),
            ReadError::Trimmed
        ));
        assert!(matches!(
            ReadError::from(e(Some("ProvisionedThroughputExceededException"))),
            ReadError::Transient(_)
        ));
        assert!(matches!(ReadError::from(e(None)), ReadError::Transient(_)));
        assert!(matches!(
            ReadError::from(e(Some("ResourceNotFoundException"))),
            ReadError::Fatal(_)
        ));
    }

    fn mapping(source: MappingSource, position: &str, ts: Option<&str>) -> EventSourceMapping {
        EventSourceMapping {
            id: "mapping.h".into(),
            function: "h".into(),
            source,
            batch_size: 25,
            batching_window_s: Some(2),
            starting_position: Some(position.into()),
            starting_position_timestamp: ts.map(str::to_owned),
            maximum_concurrency: None,
            report_batch_item_failures: true,
        }
    }

    #[test]
    fn sources_come_from_the_plan() {
        use chalice_codegen::plan::Arn;
        let stream = MappingSource::Stream {
            arn: Arn("arn:{partition}:kinesis:{region}:{account}:stream/clicks".into()),
        };
        let s = StreamSource::from_mapping(
            &mapping(
                stream.clone(),
                "AT_TIMESTAMP",
                Some("2026-01-01T02:00:00+02:00"),
            ),
            STREAM,
            "eu-west-1",
        )
        .unwrap();
        assert_eq!(
            s.kind,
            StreamKind::Kinesis {
                stream_arn: STREAM.into()
            }
        );
        assert_eq!(s.batch_size, 25);
        assert_eq!(s.batching_window, Some(Duration::from_secs(2)));
        assert_eq!(
            s.starting_position,
            StartingPosition::AtTimestamp(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
            )
        );
        assert_eq!(s.region, "eu-west-1");

        let table = MappingSource::Table {
            table: "orders".into(),
        };
        let s = StreamSource::from_mapping(
            &mapping(table.clone(), "LATEST", None),
            TABLE_STREAM,
            "eu-west-1",
        )
        .unwrap();
        assert!(matches!(s.kind, StreamKind::DynamoDb { .. }));
        assert_eq!(s.starting_position, StartingPosition::Latest);

        let err = |m: EventSourceMapping| {
            StreamSource::from_mapping(&m, STREAM, "eu-west-1")
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(mapping(table, "AT_TIMESTAMP", Some("2026-01-01T00:00:00Z")))
                .contains("cannot start at a timestamp")
        );
        assert!(err(mapping(stream.clone(), "AT_TIMESTAMP", None)).contains("without a timestamp"));
        assert!(
            err(mapping(stream.clone(), "AT_TIMESTAMP", Some("yesterday")))
                .contains("not an RFC 3339")
        );
        assert!(err(mapping(stream, "SOMEWHERE", None)).contains("unknown starting position"));
        let queue = MappingSource::Queue {
            arn: Arn("arn:aws:sqs:eu-west-1:1:q".into()),
        };
        assert!(err(mapping(queue, "LATEST", None)).contains("reads a queue"));
    }

    #[test]
    fn shards_wait_for_their_parents() {
        let info = |id: &str, parents: &[&str], closed| ShardInfo {
            id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            closed,
        };
        let mut shards = HashMap::new();
        let initial = Some(StartingPosition::Latest);
        track(&mut shards, info("p", &[], true), initial);
        track(&mut shards, info("c", &["p", "gone"], false), initial);
        // LATEST: nothing to read in a closed shard, so its children start at once.
        assert!(matches!(shards["p"].state, State::Finished));
        assert!(matches!(
            shards["c"].state,
            State::Waiting(StartingPosition::Latest)
        ));
        // Shards that appear later start at TRIM_HORIZON; known ones are left as they are.
        track(&mut shards, info("c2", &["c"], false), None);
        assert!(matches!(
            shards["c2"].state,
            State::Waiting(StartingPosition::TrimHorizon)
        ));
        track(&mut shards, info("c", &["p"], true), None);
        assert!(matches!(
            shards["c"].state,
            State::Waiting(StartingPosition::Latest)
        ));
        // A parent not listed any more (trimmed) does not hold its child back; a running one does.
        assert_eq!(ready(&shards), ["c"]);
        shards.get_mut("c").unwrap().state = State::Running;
        assert!(ready(&shards).is_empty());
        shards.get_mut("c").unwrap().state = State::Finished;
        assert_eq!(ready(&shards), ["c2"]);
    }
}
