//! Lookups of the event sources an app binds to (never written): queues, streams, tables.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{AwsContext, MappingSource, Plan};
use futures_util::StreamExt;
use futures_util::stream;

use super::CallError;
use crate::aws::Clients;

/// How many source lookups run at once.
const LOOKUP_CONCURRENCY: usize = 16;

/// What the source lookups found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookups {
    /// By queue ARN; `None`: the queue does not exist.
    pub queues: BTreeMap<String, Option<QueueInfo>>,
    /// By stream ARN: whether it exists.
    pub streams: BTreeMap<String, bool>,
    /// By table name.
    pub tables: BTreeMap<String, TableStream>,
}

/// Looks up every queue, stream and table the plan's mappings read from (concurrently).
pub async fn lookup(plan: &Plan, ctx: &AwsContext, c: &Clients) -> Result<Lookups, CallError> {
    enum Found {
        Queue(String, Option<QueueInfo>),
        Stream(String, bool),
        Table(String, TableStream),
    }
    let mut queues = BTreeSet::new();
    let mut streams = BTreeSet::new();
    let mut tables = BTreeSet::new();
    for m in &plan.event_source_mappings {
        match &m.source {
            MappingSource::Queue { arn } => queues.insert(arn.resolve(ctx)),
            MappingSource::Stream { arn } => streams.insert(arn.resolve(ctx)),
            // A stream ARN given literally is used as written (no DynamoDB Streams client to check it).
            MappingSource::TableStream { .. } => false,
            MappingSource::Table { table } => tables.insert(table.clone()),
        };
    }
    let mut futures: Vec<futures_util::future::BoxFuture<'_, Result<Found, CallError>>> =
        Vec::new();
    for q in queues {
        futures.push(Box::pin(async move {
            let info = queue_info(c, &q, &ctx.account).await?;
            Ok(Found::Queue(q, info))
        }));
    }
    for s in streams {
        futures.push(Box::pin(async move {
            let exists = stream_exists(c, &s, &ctx.region, &ctx.account).await?;
            Ok(Found::Stream(s, exists))
        }));
    }
    for t in tables {
        futures.push(Box::pin(async move {
            let stream = table_stream(c, &t).await?;
            Ok(Found::Table(t, stream))
        }));
    }
    let results: Vec<Result<Found, CallError>> = stream::iter(futures)
        .buffer_unordered(LOOKUP_CONCURRENCY)
        .collect()
        .await;
    let mut lookups = Lookups::default();
    for r in results {
        match r? {
            Found::Queue(arn, info) => {
                lookups.queues.insert(arn, info);
            }
            Found::Stream(arn, exists) => {
                lookups.streams.insert(arn, exists);
            }
            Found::Table(name, stream) => {
                lookups.tables.insert(name, stream);
            }
        }
    }
    Ok(lookups)
}

/// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnParts<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn arn_parts(arn: &str) -> Option<ArnParts<'_>> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    Some(ArnParts {
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

/// What the deployer needs to know about a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub url: String,
    pub visibility_timeout_s: u32,
}

/// The queue's URL and visibility timeout; `None` when it does not exist.
pub async fn queue_info(
    c: &Clients,
    queue_arn: &str,
    own_account: &str,
) -> Result<Option<QueueInfo>, CallError> {
    let parts = arn_parts(queue_arn)
        .ok_or_else(|| CallError::other("GetQueueUrl", queue_arn, "not an SQS queue ARN"))?;
    let owner = (parts.account != own_account).then(|| parts.account.to_string());
    let url = match c
        .sqs
        .get_queue_url()
        .queue_name(parts.resource)
        .set_queue_owner_aws_account_id(owner)
        .send()
        .await
    {
        Ok(out) => out.queue_url().unwrap_or_default().to_string(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(CallError::new("GetQueueUrl", queue_arn, e)),
    };
    let attrs = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await;
    let attrs = match attrs {
        Ok(attrs) => attrs,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(CallError::new("GetQueueAttributes", queue_arn, e)),
    };
    let visibility_timeout_s = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
        .and_then(|v| v.parse().ok())
        // SQS's default.
        .unwrap_or(30);
    Ok(Some(QueueInfo {
        url,
        visibility_timeout_s,
    }))
}

/// Whether the Kinesis stream exists.
pub async fn stream_exists(
    c: &Clients,
    stream_arn: &str,
    own_region: &str,
    own_account: &str,
) -> Result<bool, CallError> {
    let mut call = c.kinesis.describe_stream_summary();
    call = match arn_parts(stream_arn) {
        Some(p) if p.region == own_region && p.account == own_account => {
            call.stream_name(p.resource.strip_prefix("stream/").unwrap_or(p.resource))
        }
        _ => call.stream_arn(stream_arn),
    };
    match call.send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let e = CallError::new("DescribeStreamSummary", stream_arn, e);
            if e.has_code("ResourceNotFoundException") {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// A DynamoDB table's stream, as far as a mapping is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableStream {
    MissingTable,
    /// The table exists but has no stream enabled.
    NoStream,
    /// The latest stream's ARN (it carries a timestamp).
    Arn(String),
}

pub async fn table_stream(c: &Clients, table: &str) -> Result<TableStream, CallError> {
    let out = match c.dynamodb.describe_table().table_name(table).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = CallError::new("DescribeTable", table, e);
            return if e.has_code("ResourceNotFoundException") {
                Ok(TableStream::MissingTable)
            } else {
                Err(e)
            };
        }
    };
    let Some(t) = out.table() else {
        return Ok(TableStream::MissingTable);
    };
    // A disabled stream keeps its ARN for a day: trust the specification when there is one.
    let enabled = t.stream_specification().is_none_or(|s| s.stream_enabled());
    match t.latest_stream_arn() {
        Some(arn) if enabled => Ok(TableStream::Arn(arn.to_string())),
        _ => Ok(TableStream::NoStream),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_their_parts() {
        let p = arn_parts("arn:aws:sqs:eu-west-1:111122223333:jobs").unwrap();
        assert_eq!(
            (p.service, p.region, p.account, p.resource),
            ("sqs", "eu-west-1", "111122223333", "jobs")
        );
        let p = arn_parts("arn:aws:dynamodb:us-east-1:1:table/t/stream/2024-01-01T00:00:00.000")
            .unwrap();
        assert_eq!(p.resource, "table/t/stream/2024-01-01T00:00:00.000");
        assert_eq!(arn_parts("jobs"), None);
    }
}
