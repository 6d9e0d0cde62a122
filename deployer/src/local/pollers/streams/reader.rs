//! Reads a stream through the Kinesis or DynamoDB Streams API: shards, iterators, records.

use aws_smithy_types::DateTime;

use super::records::{Item, KinesisContext, dynamodb_record, kinesis_record};
use super::source::{StartingPosition, StreamKind, StreamSource};
use crate::aws::Clients;
use crate::resources::CallError;

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

/// Where a shard iterator is (re)obtained.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Resume {
    Start(StartingPosition),
    After(String),
}

/// A shard as listed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ShardInfo {
    pub(super) id: String,
    /// `ParentShardId` and `AdjacentParentShardId`.
    pub(super) parents: Vec<String>,
    /// It has an ending sequence number: no record will be added.
    pub(super) closed: bool,
}

/// One GetRecords answer.
pub(super) struct Page {
    pub(super) items: Vec<Item>,
    /// `None` when the shard is closed and read to its end.
    pub(super) next: Option<String>,
    /// Nothing more to read right now (Kinesis: `MillisBehindLatest` is 0).
    pub(super) at_tip: bool,
}

/// A failed read, by what the poller does about it.
#[derive(Debug)]
pub(super) enum ReadError {
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
pub(super) struct Reader {
    clients: Clients,
    kind: StreamKind,
    region: String,
    invoke_identity_arn: Option<String>,
}

impl Reader {
    pub(super) fn new(clients: Clients, source: &StreamSource) -> Reader {
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

    pub(super) async fn list_shards(&self) -> Result<Vec<ShardInfo>, ReadError> {
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

    pub(super) async fn iterator(&self, shard: &str, resume: &Resume) -> Result<String, ReadError> {
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

    pub(super) async fn records(
        &self,
        shard: &str,
        iterator: &str,
        limit: u32,
    ) -> Result<Page, ReadError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
