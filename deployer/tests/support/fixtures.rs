//! Creating what tests need on moto: the event sources an app's plan reads from ([`create_sources`]),
//! one of each source kind (queues, buckets, topics, streams, tables, buses), and others' roles,
//! functions and bucket entries. Every creation of a kind goes through its one function here.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{MappingSource, Plan};
use chalice_deployer::aws::Clients;
use chalice_deployer::project::package::CodePackage;

use crate::support::aws::{arn_name, context};

/// A trust policy letting Lambda assume a role.
pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The key of the tables [`create_sources`] makes: the example app's order rows' (`Id`).
pub const TABLE_KEY: &str = "Id";

/// Creates every bucket, topic, bus, queue, stream and table `plan` reads from that is not there yet.
/// Queues get a visibility timeout of 6 × their functions' timeout (AWS's advice; a shorter one than
/// the function timeout is refused); tables have key [`TABLE_KEY`] and a stream.
pub async fn create_sources(aws: &Clients, plan: &Plan) {
    for bucket in plan_buckets(plan) {
        if aws.s3.head_bucket().bucket(&bucket).send().await.is_err() {
            create_bucket(aws, &bucket).await;
        }
    }
    let ctx = context();
    for s in &plan.subscriptions {
        create_topic(aws, arn_name(&s.topic_arn.resolve(&ctx))).await;
    }
    for bus in plan_buses(plan) {
        if aws
            .eventbridge
            .describe_event_bus()
            .name(&bus)
            .send()
            .await
            .is_err()
        {
            create_bus(aws, &bus).await;
        }
    }
    for (queue, visibility_s) in plan_queues(plan) {
        if aws
            .sqs
            .get_queue_url()
            .queue_name(&queue)
            .send()
            .await
            .is_err()
        {
            create_queue(aws, &queue, Some(visibility_s)).await;
        }
    }
    for m in &plan.event_source_mappings {
        match &m.source {
            MappingSource::Stream { arn } => {
                let name = arn_name(arn.as_str());
                let summary = aws.kinesis.describe_stream_summary().stream_name(name);
                if summary.send().await.is_err() {
                    create_stream(aws, name, 1).await;
                }
            }
            MappingSource::Table { table } => {
                let described = aws.dynamodb.describe_table().table_name(table);
                if described.send().await.is_err() {
                    create_table(aws, table, TABLE_KEY, true).await;
                }
            }
            MappingSource::Queue { .. } | MappingSource::TableStream { .. } => {}
        }
    }
}

fn plan_buckets(plan: &Plan) -> BTreeSet<String> {
    plan.bucket_notifications
        .iter()
        .map(|b| b.bucket.clone())
        .collect()
}

fn plan_buses(plan: &Plan) -> BTreeSet<String> {
    plan.rules
        .iter()
        .filter_map(|r| r.event_bus.clone())
        .collect()
}

/// Each queue the plan maps, with 6 × the longest timeout of the functions reading it.
fn plan_queues(plan: &Plan) -> BTreeMap<String, u32> {
    let mut queues = BTreeMap::new();
    for m in &plan.event_source_mappings {
        if let MappingSource::Queue { arn } = &m.source {
            let timeout = plan.function(&m.function).map_or(900, |f| f.timeout_s);
            let visibility = queues.entry(arn_name(arn.as_str()).to_owned()).or_insert(0);
            *visibility = (*visibility).max(6 * timeout);
        }
    }
    queues
}

/// A queue (`visibility_timeout_s` `None`: SQS's default, 30 s); its URL.
pub async fn create_queue(aws: &Clients, name: &str, visibility_timeout_s: Option<u32>) -> String {
    aws.sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(visibility_timeout_s.map(|v| {
            [(QueueAttributeName::VisibilityTimeout, v.to_string())]
                .into_iter()
                .collect()
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create queue {name}: {e:?}"))
        .queue_url()
        .expect("queue url")
        .to_owned()
}

pub async fn create_bucket(aws: &Clients, name: &str) {
    aws.s3
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
}

/// A topic (creating an existing one is a no-op); its ARN.
pub async fn create_topic(aws: &Clients, name: &str) -> String {
    aws.sns
        .create_topic()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create topic {name}: {e:?}"))
        .topic_arn()
        .expect("topic ARN")
        .to_owned()
}

/// A Kinesis stream with `shards` shards; its ARN (as DescribeStreamSummary gives it).
pub async fn create_stream(aws: &Clients, name: &str, shards: i32) -> String {
    aws.kinesis
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create stream {name}: {e:?}"));
    aws.kinesis
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .expect("describe stream")
        .stream_description_summary()
        .expect("stream summary")
        .stream_arn()
        .to_owned()
}

/// The one DynamoDB table builder: a pay-per-request table with a string hash key `key`, and a
/// `NEW_AND_OLD_IMAGES` stream when `stream`.
pub async fn create_table(aws: &Clients, name: &str, key: &str, stream: bool) {
    let attribute = AttributeDefinition::builder()
        .attribute_name(key)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute");
    let key_schema = KeySchemaElement::builder()
        .attribute_name(key)
        .key_type(KeyType::Hash)
        .build()
        .expect("key");
    let streams = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .expect("stream spec");
    aws.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute)
        .key_schema(key_schema)
        .billing_mode(BillingMode::PayPerRequest)
        .set_stream_specification(stream.then_some(streams))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
}

/// A custom EventBridge bus.
pub async fn create_bus(aws: &Clients, name: &str) {
    aws.eventbridge
        .create_event_bus()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bus {name}: {e:?}"));
}

/// A role Lambda may assume ([`TRUST`]); its ARN.
pub async fn create_role(aws: &Clients, name: &str) -> String {
    aws.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create role {name}: {e:?}"))
        .role()
        .expect("role")
        .arn()
        .to_owned()
}

/// A `provided.al2023` function created directly (not by the deployer) running `code` zipped; its ARN.
pub async fn create_function(
    aws: &Clients,
    name: &str,
    role_arn: &str,
    handler: &str,
    code: &[u8],
) -> String {
    let zip = CodePackage::from_binary(code).expect("zip").zip;
    aws.lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .role(role_arn)
        .handler(handler)
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .unwrap_or_else(|e| panic!("create function {name}: {e:?}"))
        .function_arn()
        .expect("function ARN")
        .to_owned()
}

/// A bucket's Lambda entry: `id` sends `events` (under `prefix`, with `suffix`, when given) to the
/// function `function_arn`.
pub fn lambda_entry(
    id: &str,
    function_arn: &str,
    events: &[&str],
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> LambdaFunctionConfiguration {
    let rules: Vec<FilterRule> = [
        (FilterRuleName::Prefix, prefix),
        (FilterRuleName::Suffix, suffix),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some(FilterRule::builder().name(name).value(value?).build()))
    .collect();
    let filter = (!rules.is_empty()).then(|| {
        let key = S3KeyFilter::builder().set_filter_rules(Some(rules)).build();
        NotificationConfigurationFilter::builder().key(key).build()
    });
    LambdaFunctionConfiguration::builder()
        .id(id)
        .lambda_function_arn(function_arn)
        .set_events(Some(events.iter().map(|e| Event::from(*e)).collect()))
        .set_filter(filter)
        .build()
        .expect("lambda function configuration")
}

/// Replaces `bucket`'s notification configuration with `entries` (as a deployer writes an app's).
pub async fn put_lambda_entries(
    aws: &Clients,
    bucket: &str,
    entries: Vec<LambdaFunctionConfiguration>,
) {
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_lambda_function_configurations(Some(entries))
                .build(),
        )
        .skip_destination_validation(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("Lambda entries on {bucket}: {e:?}"));
}

/// Replaces `bucket`'s notification configuration with one entry of someone else's: `id` sends
/// `s3:ObjectRemoved:*` (under `prefix`, when given) to the queue `queue_arn`.
pub async fn put_foreign_queue_entry(
    aws: &Clients,
    bucket: &str,
    id: &str,
    queue_arn: &str,
    prefix: Option<&str>,
) {
    let filter = prefix.map(|prefix| {
        let rule = FilterRule::builder()
            .name(FilterRuleName::Prefix)
            .value(prefix)
            .build();
        let key = S3KeyFilter::builder().filter_rules(rule).build();
        NotificationConfigurationFilter::builder().key(key).build()
    });
    let entry = QueueConfiguration::builder()
        .id(id)
        .queue_arn(queue_arn)
        .events(Event::from("s3:ObjectRemoved:*"))
        .set_filter(filter)
        .build()
        .expect("queue configuration");
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(entry)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("someone else's entry on {bucket}: {e:?}"));
}
