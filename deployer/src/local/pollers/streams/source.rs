//! What one stream event source mapping reads (a Kinesis stream or a table's stream), where it starts,
//! how it batches and how often it calls AWS; and why a stream poller stops.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use chalice_codegen::plan::{EventSourceMapping, MappingSource};

pub use super::retry::RetryPolicy;
use crate::local::destinations::Destination;
use crate::local::filter::{FilterError, Filters};
use crate::resources::CallError;

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
    #[error(transparent)]
    Filter(#[from] FilterError),
}

/// Which stream a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamKind {
    Kinesis {
        stream_arn: String,
    },
    /// A table's stream (its `LatestStreamArn`, see [`super::table_stream_arn`]).
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

/// What one event source mapping reads, how it batches, filters and handles failures.
#[derive(Debug, Clone)]
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
    /// The mapping's filter criteria: records they reject are skipped (and checkpointed).
    pub filters: Filters,
    /// Retries, record age and bisection of a failing batch.
    pub retry: RetryPolicy,
    /// Where the record of a batch given up goes (`None`: it is only skipped).
    pub on_failure: Option<Destination>,
    /// The function's ARN, for those records.
    pub function_arn: String,
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
            filters: Filters::default(),
            retry: RetryPolicy::default(),
            on_failure: None,
            function_arn: String::new(),
        }
    }

    /// The source of a planned mapping; `stream_arn` is its resolved stream ARN (for a
    /// [`MappingSource::Table`], the table's latest stream: [`super::table_stream_arn`]).
    /// The on-failure destination and function ARN are the caller's to set.
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
            filters: Filters::new(&m.filters)?,
            retry: m
                .stream_failure
                .as_ref()
                .map_or_else(RetryPolicy::default, |f| {
                    RetryPolicy::from_plan(
                        f.maximum_retry_attempts,
                        f.maximum_record_age_s,
                        f.bisect_on_error,
                    )
                }),
            ..StreamSource::new(kind, region)
        };
        source.check()?;
        Ok(source)
    }

    /// What AWS would refuse to create.
    pub(super) fn check(&self) -> Result<(), StreamError> {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::local::pollers::streams) const STREAM: &str =
        "arn:aws:kinesis:eu-west-1:111122223333:stream/clicks";
    pub(in crate::local::pollers::streams) const TABLE_STREAM: &str =
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
            filters: Vec::new(),
            stream_failure: None,
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
}
