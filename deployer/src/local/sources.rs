//! The buckets, topics, queues, streams, tables and event buses an app binds to or sends failure
//! records to, created in an emulator `deployer local` started itself (on AWS they are the user's,
//! never the app's).
//!
//! The on-failure destinations the plan names (queues, topics, buckets, buses) are created too.
//! Each is created only when missing, so a second run against the same emulator changes nothing.
//! Queues get a visibility timeout equal to their function's timeout (the least a mapping accepts),
//! streams one shard, tables a string partition key `Id` and a stream with both images.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{AwsContext, DestinationKind, MappingSource, Plan};

use crate::aws::{Clients, error_code};
use crate::resources::CallError;
use crate::resources::sources::arn_parts;

/// The visibility timeout of an on-failure queue the runner creates (SQS's default).
const DESTINATION_VISIBILITY_S: u32 = 30;

/// The partition key of the tables the runner creates.
pub const TABLE_KEY: &str = "Id";

/// One source the app refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Bucket(String),
    /// A topic name.
    Topic(String),
    /// A queue name and the visibility timeout it needs, in seconds.
    Queue {
        name: String,
        visibility_s: u32,
    },
    /// A stream name.
    Stream(String),
    /// A table name.
    Table(String),
    /// A custom event bus name.
    Bus(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Bucket(name) => write!(f, "bucket {name}"),
            Source::Topic(name) => write!(f, "topic {name}"),
            Source::Queue { name, .. } => write!(f, "queue {name}"),
            Source::Stream(name) => write!(f, "stream {name}"),
            Source::Table(name) => write!(f, "table {name}"),
            Source::Bus(name) => write!(f, "event bus {name}"),
        }
    }
}

/// Every source `plan` refers to, once each.
pub fn sources(plan: &Plan, ctx: &AwsContext) -> Vec<Source> {
    let timeout_of = |handler: &str| plan.function(handler).map_or(30, |f| f.timeout_s);
    let last = |arn: &str| {
        arn_parts(arn).map_or_else(
            || arn.to_owned(),
            |p| {
                p.resource
                    .rsplit('/')
                    .next()
                    .unwrap_or(p.resource)
                    .to_owned()
            },
        )
    };
    let mut found = Vec::new();
    for n in &plan.bucket_notifications {
        found.push(Source::Bucket(n.bucket.clone()));
    }
    for s in &plan.subscriptions {
        found.push(Source::Topic(last(&s.topic_arn.resolve(ctx))));
    }
    let mut queues: BTreeMap<String, u32> = BTreeMap::new();
    for m in &plan.event_source_mappings {
        match &m.source {
            MappingSource::Queue { arn } => {
                let visibility = queues.entry(last(&arn.resolve(ctx))).or_default();
                *visibility = (*visibility).max(timeout_of(&m.function));
            }
            MappingSource::Stream { arn } => found.push(Source::Stream(last(&arn.resolve(ctx)))),
            MappingSource::Table { table } => found.push(Source::Table(table.clone())),
            // `arn:...:table/NAME/stream/LABEL`: the table is the part after `table/`.
            MappingSource::TableStream { arn } => {
                let arn = arn.resolve(ctx);
                if let Some(table) = arn_parts(&arn)
                    .and_then(|p| p.resource.strip_prefix("table/"))
                    .and_then(|rest| rest.split('/').next())
                {
                    found.push(Source::Table(table.to_owned()));
                }
            }
        }
    }
    // On-failure destinations, so the records of what was given up land somewhere readable.
    let destinations = plan
        .event_source_mappings
        .iter()
        .filter_map(|m| m.stream_failure.as_ref()?.on_failure.as_ref())
        .chain(
            plan.invoke_configs
                .iter()
                .filter_map(|c| c.on_failure.as_ref()),
        );
    for d in destinations {
        let name = last(&d.arn.resolve(ctx));
        match d.kind {
            DestinationKind::Queue => {
                queues.entry(name).or_insert(DESTINATION_VISIBILITY_S);
            }
            DestinationKind::Topic => found.push(Source::Topic(name)),
            DestinationKind::Bucket => found.push(Source::Bucket(name)),
            DestinationKind::Bus => found.push(Source::Bus(name)),
            // A function is one of the app's (run locally) or cannot be created here.
            DestinationKind::Function => {}
        }
    }
    found.extend(
        queues
            .into_iter()
            .map(|(name, visibility_s)| Source::Queue { name, visibility_s }),
    );
    for r in &plan.rules {
        if let Some(bus) = &r.event_bus
            && bus != "default"
        {
            found.push(Source::Bus(last(bus)));
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Creates each missing source; returns those it created.
pub async fn create_missing(
    clients: &Clients,
    region: &str,
    sources: &[Source],
) -> Result<Vec<Source>, CallError> {
    let mut created = Vec::new();
    for source in sources {
        if create(clients, region, source).await? {
            created.push(source.clone());
        }
    }
    Ok(created)
}

/// Creates one source; `Ok(false)` when it already existed.
async fn create(clients: &Clients, region: &str, source: &Source) -> Result<bool, CallError> {
    match source {
        Source::Bucket(name) => {
            if clients.s3.head_bucket().bucket(name).send().await.is_ok() {
                return Ok(false);
            }
            crate::resources::artifacts::create_bucket(clients, name, region).await?;
        }
        Source::Topic(name) => {
            // CreateTopic is idempotent: it returns the existing topic's ARN.
            clients
                .sns
                .create_topic()
                .name(name)
                .send()
                .await
                .map_err(|e| CallError::new("CreateTopic", name, e))?;
        }
        Source::Queue { name, visibility_s } => {
            if clients
                .sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .is_ok()
            {
                return Ok(false);
            }
            let mut create = clients.sqs.create_queue().queue_name(name).attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_s.to_string(),
            );
            if name.ends_with(".fifo") {
                create = create.attributes(QueueAttributeName::FifoQueue, "true");
            }
            create
                .send()
                .await
                .map_err(|e| CallError::new("CreateQueue", name, e))?;
        }
        Source::Stream(name) => {
            match clients
                .kinesis
                .create_stream()
                .stream_name(name)
                .shard_count(1)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("ResourceInUseException") => return Ok(false),
                Err(e) => return Err(CallError::new("CreateStream", name, e)),
            }
        }
        Source::Table(name) => {
            let key = || {
                KeySchemaElement::builder()
                    .attribute_name(TABLE_KEY)
                    .key_type(KeyType::Hash)
                    .build()
            };
            let attribute = || {
                AttributeDefinition::builder()
                    .attribute_name(TABLE_KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
            };
            let stream = StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| CallError::other("CreateTable", name, e.to_string()))?;
            match clients
                .dynamodb
                .create_table()
                .table_name(name)
                .key_schema(
                    key().map_err(|e| CallError::other("CreateTable", name, e.to_string()))?,
                )
                .attribute_definitions(
                    attribute()
                        .map_err(|e| CallError::other("CreateTable", name, e.to_string()))?,
                )
                .billing_mode(BillingMode::PayPerRequest)
                .stream_specification(stream)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("ResourceInUseException") => return Ok(false),
                Err(e) => return Err(CallError::new("CreateTable", name, e)),
            }
        }
        Source::Bus(name) => {
            match clients
                .eventbridge
                .create_event_bus()
                .name(name)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("ResourceAlreadyExistsException") => {
                    return Ok(false);
                }
                Err(e) => return Err(CallError::new("CreateEventBus", name, e)),
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_apps_sources_are_found_once_each() {
        let source = include_str!("../../../events.chalice");
        let model = chalice_codegen::load("events.chalice", source).unwrap();
        let plan = chalice_codegen::emit_plan::plan(&model, "dev").unwrap();
        let ctx = AwsContext {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        };
        assert_eq!(
            sources(&plan, &ctx),
            vec![
                Source::Bucket("mybucket-name".into()),
                Source::Topic("my-demo-topic".into()),
                Source::Queue {
                    name: "my-queue".into(),
                    visibility_s: 60
                },
                Source::Stream("mystream".into()),
                Source::Table("orders".into()),
            ]
        );
    }
}
