//! Lookups of the event sources an app binds to and the on-failure destinations it sends to (never
//! written): queues, streams, tables; queues, topics, buckets, buses and functions.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{AwsContext, DestinationKind, MappingSource, Plan};
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
    /// On-failure destinations by ARN: whether each exists.
    pub destinations: BTreeMap<String, bool>,
}

impl Lookups {
    /// Adds a problem when the on-failure destination `arn` of `handler` was looked up and is missing.
    pub fn destination_problem(&self, arn: &str, handler: &str, problems: &mut Vec<String>) {
        if self.destinations.get(arn) == Some(&false) {
            let service = arn_parts(arn).map(|p| p.service);
            let what = DestinationKind::ALL
                .into_iter()
                .find(|k| Some(k.service()) == service)
                .map_or("destination".to_string(), |k| {
                    format!("{} {}", k.service_name(), k.noun())
                });
            problems.push(format!(
                "on-failure {what} `{}` ({arn}) does not exist (handler `{handler}`): \
                 the deployer sends failure records there but does not create it",
                arn_parts(arn).map_or(arn, |p| p
                    .resource
                    .rsplit(['/', ':'])
                    .next()
                    .unwrap_or(p.resource))
            ));
        }
    }
}

/// Every on-failure destination of the plan, resolved, except the plan's own functions (created by
/// the deploy itself).
fn destinations(plan: &Plan, ctx: &AwsContext) -> BTreeSet<String> {
    let own: BTreeSet<String> = plan.functions.iter().map(|f| f.arn.resolve(ctx)).collect();
    plan.event_source_mappings
        .iter()
        .filter_map(|m| m.stream_failure.as_ref()?.on_failure.as_ref())
        .chain(
            plan.invoke_configs
                .iter()
                .filter_map(|c| c.on_failure.as_ref()),
        )
        .map(|d| d.arn.resolve(ctx))
        .filter(|arn| !own.contains(arn))
        .collect()
}

/// Looks up every queue, stream and table the plan's mappings read from (concurrently).
pub async fn lookup(plan: &Plan, ctx: &AwsContext, c: &Clients) -> Result<Lookups, CallError> {
    enum Found {
        Queue(String, Option<QueueInfo>),
        Stream(String, bool),
        Table(String, TableStream),
        Destination(String, bool),
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
    for d in destinations(plan, ctx) {
        futures.push(Box::pin(async move {
            let exists = destination_exists(c, &d, ctx).await?;
            Ok(Found::Destination(d, exists))
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
            Found::Destination(arn, exists) => {
                lookups.destinations.insert(arn, exists);
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
    let attributes = |url: String| async move {
        let attrs = c
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await;
        (url, attrs)
    };
    // The attributes are asked of the URL SQS most likely gives, alongside GetQueueUrl: one round
    // trip instead of two when the guess is right (checked against the answer; asked again if not).
    let guess = c.queue_url_guess(parts.account, parts.resource);
    let early = async {
        match guess {
            Some(url) => Some(attributes(url).await),
            None => None,
        }
    };
    let (url, early) = tokio::join!(
        c.sqs
            .get_queue_url()
            .queue_name(parts.resource)
            .set_queue_owner_aws_account_id(owner)
            .send(),
        early
    );
    let url = match url {
        Ok(out) => out.queue_url().unwrap_or_default().to_string(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(CallError::new("GetQueueUrl", queue_arn, e)),
    };
    let attrs = match early {
        Some((guessed, attrs)) if guessed == url => attrs,
        _ => attributes(url.clone()).await.1,
    };
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

/// Whether an on-failure destination exists, by the service its ARN names.
pub async fn destination_exists(
    c: &Clients,
    arn: &str,
    ctx: &AwsContext,
) -> Result<bool, CallError> {
    let Some(parts) = arn_parts(arn) else {
        return Err(CallError::other("lookup", arn, "not an ARN"));
    };
    let own = parts.region == ctx.region && parts.account == ctx.account;
    let not_found = |e: CallError, codes: &[&str]| {
        if codes.iter().any(|code| e.has_code(code)) {
            Ok(false)
        } else {
            Err(e)
        }
    };
    match parts.service {
        "sqs" => Ok(queue_info(c, arn, &ctx.account).await?.is_some()),
        "sns" => match c.sns.get_topic_attributes().topic_arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) => not_found(CallError::new("GetTopicAttributes", arn, e), &["NotFound"]),
        },
        "s3" => match c.s3.head_bucket().bucket(parts.resource).send().await {
            Ok(_) => Ok(true),
            Err(e) => not_found(
                CallError::new("HeadBucket", arn, e),
                &["NotFound", "NoSuchBucket"],
            ),
        },
        "events" => {
            let name = parts
                .resource
                .strip_prefix("event-bus/")
                .unwrap_or(parts.resource);
            // moto finds a bus by name only; AWS takes either.
            let name = if own { name } else { arn };
            match c.eventbridge.describe_event_bus().name(name).send().await {
                Ok(_) => Ok(true),
                Err(e) => not_found(
                    CallError::new("DescribeEventBus", arn, e),
                    &["ResourceNotFoundException"],
                ),
            }
        }
        "lambda" => match c.lambda.get_function().function_name(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) => not_found(
                CallError::new("GetFunction", arn, e),
                &["ResourceNotFoundException"],
            ),
        },
        other => Err(CallError::other(
            "lookup",
            arn,
            format!("`{other}` is not a service failure records can be sent to"),
        )),
    }
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
