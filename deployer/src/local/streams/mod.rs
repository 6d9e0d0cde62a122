//! Kinesis and DynamoDB stream pollers: every shard read in order and handed to a [`Deliver`] in
//! batches, the way Lambda's event source mapping does it.
//!
//! Per shard: one batch in flight; the iterator is obtained at the starting position once, then from
//! the in-memory checkpoint (`AFTER_SEQUENCE_NUMBER` the last delivered record, or `AT_SEQUENCE_NUMBER`
//! the earliest record a handler reported failed). A failed invocation retries the same batch with
//! backoff, forever (Lambda's default `MaximumRetryAttempts` of -1). Child shards start once their
//! parents are read to the end, at `TRIM_HORIZON`.

mod poller;
mod reader;
mod records;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use chalice_codegen::plan::{EventSourceMapping, MappingSource};
use tokio::task::JoinSet;
use tokio::time::Instant;

use self::poller::{Backoff, Poller};
use self::reader::{ReadError, Reader, ShardInfo};
use super::{Deliver, Shutdown, stopped};
use crate::aws::Clients;
use crate::resources::CallError;
use crate::resources::sources::{TableStream, table_stream};

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
    /// The pause between GetRecords calls on a shard with nothing new that had records lately.
    pub poll_interval: Duration,
    /// The pause once the shard has had no records for `quiet_after` (Lambda reads a shard once a second).
    pub idle_poll_interval: Duration,
    pub quiet_after: Duration,
    /// How often the shard list is refreshed (shards appear when a stream is resharded).
    pub discovery_interval: Duration,
    /// The first pause after a failed invocation or read; doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Timing {
    /// The pause before reading again a shard that had records `since` ago and has none now.
    pub fn pause(&self, since: Duration) -> Duration {
        if since >= self.quiet_after {
            self.idle_poll_interval
        } else {
            self.poll_interval
        }
    }
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            // ~3 GetRecords a second while records come (a record reaches the handler in well
            // under a second; with a deployed mapping reading the shard too, under its 5 reads/s),
            // one a second after 10 quiet seconds, as Lambda reads: an idle runner costs little.
            poll_interval: Duration::from_millis(300),
            idle_poll_interval: Duration::from_secs(1),
            quiet_after: Duration::from_secs(10),
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const STREAM: &str = "arn:aws:kinesis:eu-west-1:111122223333:stream/clicks";
    pub(super) const TABLE_STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-01T00:00:00.000";

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
    fn a_quiet_shard_is_read_less_often() {
        let timing = Timing::default();
        assert_eq!(timing.pause(Duration::ZERO), Duration::from_millis(300));
        assert_eq!(
            timing.pause(Duration::from_secs(9)),
            Duration::from_millis(300)
        );
        assert_eq!(
            timing.pause(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
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
