//! Kinesis and DynamoDB stream pollers: every shard read in order and handed to a [`Deliver`] in
//! batches, the way Lambda's event source mapping does it.
//!
//! Per shard: one batch in flight; the iterator is obtained at the starting position once, then from
//! the in-memory checkpoint (`AFTER_SEQUENCE_NUMBER` the last record of the last batch handled).
//! A batch is kept in memory until every record of it succeeded or was given up. Records the mapping's filters reject are skipped
//! and checkpointed. A failed invocation retries the batch with backoff: forever by default
//! (Lambda's `MaximumRetryAttempts` of -1), or as the mapping says (retries, record age, bisection;
//! see `retry`), after which the batch is given up, its record sent to the on-failure destination,
//! and the shard moves on. Child shards start once their parents are read to the end, at
//! `TRIM_HORIZON`.

mod reader;
mod records;
mod retry;
mod shard;
mod source;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;

use self::reader::{ReadError, Reader, ShardInfo};
use self::shard::{Backoff, Poller};
pub use self::source::{
    RetryPolicy, StartingPosition, StreamError, StreamKind, StreamSource, Timing,
};
use crate::aws::Clients;
use crate::local::{Deliver, Shutdown, stopped};
use crate::resources::sources::{TableStream, table_stream};

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
