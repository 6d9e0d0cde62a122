//! Sample Lambda events, in the exact shape each event source delivers them.
//!
//! The shapes follow AWS's documented events (the Lambda developer guide's "Using Lambda with ..."
//! pages and the fixtures of the `aws_lambda_events` crate). A sample is either generic for a kind,
//! or filled in from one binding of a deploy plan: its bucket and a key under its prefix and suffix,
//! its queue, topic, stream or table stream ARN, its rule's pattern, its schedule's rule ARN.
//! ARNs use a placeholder account ([`SAMPLE_ACCOUNT`]); nothing here talks to AWS.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chalice_codegen::ast::Kind;
use chalice_codegen::plan::{AwsContext, MappingSource, Plan};
use chrono::{DateTime, SecondsFormat, Utc};
use md5::{Digest, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

/// The account id every sample ARN names.
pub const SAMPLE_ACCOUNT: &str = "123456789012";
/// The region used when the AWS configuration names none.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The kinds a sample can be asked for, by keyword.
pub const KINDS: [&str; 7] = [
    "schedule", "rule", "bucket", "topic", "queue", "stream", "table",
];

/// Where and when a sample event happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleContext {
    /// Partition, region and account that fill the ARNs.
    pub aws: AwsContext,
    /// The event's time (its timestamps all derive from it).
    pub now: SystemTime,
}

impl SampleContext {
    /// The placeholder account in `region`, now.
    pub fn new(region: &str) -> SampleContext {
        SampleContext {
            aws: AwsContext {
                partition: AwsContext::partition_for_region(region).to_owned(),
                region: region.to_owned(),
                account: SAMPLE_ACCOUNT.to_owned(),
            },
            now: SystemTime::now(),
        }
    }

    /// The same place at another time.
    pub fn at(mut self, now: SystemTime) -> SampleContext {
        self.now = now;
        self
    }

    fn region(&self) -> &str {
        &self.aws.region
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`
    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.aws.partition, self.aws.region, self.aws.account
        )
    }

    fn millis(&self) -> u128 {
        self.now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    }

    /// `2024-01-01T02:00:00Z` (EventBridge's `time`).
    fn time_seconds(&self) -> String {
        rfc3339(self.now, false)
    }

    /// `2024-01-01T02:00:00.123Z` (S3's `eventTime`, SNS's `Timestamp`).
    fn time_millis(&self) -> String {
        rfc3339(self.now, true)
    }
}

/// RFC 3339 in UTC, with exactly three fraction digits when `millis`.
fn rfc3339(time: SystemTime, millis: bool) -> String {
    let format = if millis {
        SecondsFormat::Millis
    } else {
        SecondsFormat::Secs
    };
    DateTime::<Utc>::from(time).to_rfc3339_opts(format, true)
}

/// What a sample event is built from: the source of one kind of binding.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// An EventBridge schedule (its rule's ARN).
    Schedule { rule_arn: String },
    /// An EventBridge rule; the event is made to match `pattern`.
    Rule { pattern: Option<Value> },
    /// An S3 notification for `key` (not yet URL-encoded) in `bucket`.
    Bucket {
        bucket: String,
        key: String,
        /// As in the record, e.g. `ObjectCreated:Put`.
        event_name: String,
    },
    /// An SNS topic.
    Topic { topic_arn: String },
    /// An SQS queue (FIFO when its name ends in `.fifo`).
    Queue { queue_arn: String },
    /// A Kinesis stream, read with `role_arn`.
    Stream {
        stream_arn: String,
        role_arn: String,
    },
    /// A DynamoDB table's stream.
    Table { stream_arn: String },
}

impl Origin {
    /// The kind of binding this source belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Origin::Schedule { .. } => Kind::Schedule,
            Origin::Rule { .. } => Kind::Rule,
            Origin::Bucket { .. } => Kind::Bucket,
            Origin::Topic { .. } => Kind::Topic,
            Origin::Queue { .. } => Kind::Queue,
            Origin::Stream { .. } => Kind::Stream,
            Origin::Table { .. } => Kind::Table,
        }
    }

    /// A generic source of `kind`, named as AWS's documentation names its examples.
    pub fn generic(kind: Kind, ctx: &SampleContext) -> Origin {
        match kind {
            Kind::Schedule => Origin::Schedule {
                rule_arn: ctx.arn("events", "rule/my-schedule"),
            },
            Kind::Rule => Origin::Rule { pattern: None },
            Kind::Bucket => Origin::Bucket {
                bucket: "amzn-s3-demo-bucket".to_owned(),
                key: "HappyFace.jpg".to_owned(),
                event_name: "ObjectCreated:Put".to_owned(),
            },
            Kind::Topic => Origin::Topic {
                topic_arn: ctx.arn("sns", "my-topic"),
            },
            Kind::Queue => Origin::Queue {
                queue_arn: ctx.arn("sqs", "my-queue"),
            },
            Kind::Stream => Origin::Stream {
                stream_arn: ctx.arn("kinesis", "stream/my-stream"),
                role_arn: iam_arn(ctx, "lambda-role"),
            },
            Kind::Table => Origin::Table {
                stream_arn: table_stream_arn(ctx, "my-table"),
            },
        }
    }

    /// The source of `handler`'s binding in `plan`; `None` when the plan has no trigger for it.
    pub fn for_handler(plan: &Plan, handler: &str, ctx: &SampleContext) -> Option<Origin> {
        if let Some(rule) = plan.rules.iter().find(|r| r.function == handler) {
            let rule_arn = rule.arn.resolve(&ctx.aws);
            return Some(match &rule.event_pattern {
                None => Origin::Schedule { rule_arn },
                Some(pattern) => Origin::Rule {
                    pattern: serde_json::from_str(pattern).ok(),
                },
            });
        }
        if let Some(n) = plan
            .bucket_notifications
            .iter()
            .find(|n| n.function == handler)
        {
            return Some(Origin::Bucket {
                bucket: n.bucket.clone(),
                key: sample_key(n.prefix.as_deref(), n.suffix.as_deref()),
                event_name: s3_event_name(n.events.first().map(String::as_str)),
            });
        }
        if let Some(s) = plan.subscriptions.iter().find(|s| s.function == handler) {
            return Some(Origin::Topic {
                topic_arn: s.topic_arn.resolve(&ctx.aws),
            });
        }
        let mapping = plan
            .event_source_mappings
            .iter()
            .find(|m| m.function == handler)?;
        Some(match &mapping.source {
            MappingSource::Queue { arn } => Origin::Queue {
                queue_arn: arn.resolve(&ctx.aws),
            },
            MappingSource::Stream { arn } => Origin::Stream {
                stream_arn: arn.resolve(&ctx.aws),
                // The function's role (its own, or the one given in the file).
                role_arn: plan
                    .function(handler)
                    .map(|f| f.role.arn().resolve(&ctx.aws))
                    .unwrap_or_default(),
            },
            MappingSource::TableStream { arn } => Origin::Table {
                stream_arn: arn.resolve(&ctx.aws),
            },
            MappingSource::Table { table } => Origin::Table {
                stream_arn: table_stream_arn(ctx, table),
            },
        })
    }

    /// The event Lambda would deliver from this source at `ctx.now`.
    pub fn event(&self, ctx: &SampleContext) -> Value {
        match self {
            Origin::Schedule { rule_arn } => schedule_event(rule_arn, ctx),
            Origin::Rule { pattern } => rule_event(pattern.as_ref(), ctx),
            Origin::Bucket {
                bucket,
                key,
                event_name,
            } => s3_event(bucket, key, event_name, ctx),
            Origin::Topic { topic_arn } => sns_event(topic_arn, ctx),
            Origin::Queue { queue_arn } => sqs_event(queue_arn, ctx),
            Origin::Stream {
                stream_arn,
                role_arn,
            } => kinesis_event(stream_arn, role_arn, ctx),
            Origin::Table { stream_arn } => dynamodb_event(stream_arn, ctx),
        }
    }
}

/// A generic sample event of `kind`.
pub fn sample(kind: Kind, ctx: &SampleContext) -> Value {
    Origin::generic(kind, ctx).event(ctx)
}

/// The sample event for `handler`'s binding in `plan`; `None` when the plan has no trigger for it.
pub fn sample_for_handler(plan: &Plan, handler: &str, ctx: &SampleContext) -> Option<Value> {
    Origin::for_handler(plan, handler, ctx).map(|origin| origin.event(ctx))
}

/// The kind of binding an event comes from, judged by its shape; `None` when it is not recognised.
///
/// A schedule's "Scheduled Event" and a rule's event are both EventBridge events: callers should
/// treat [`Kind::Schedule`] and [`Kind::Rule`] as compatible.
pub fn kind_of_event(event: &Value) -> Option<Kind> {
    if let Some(record) = event.get("Records").and_then(|r| r.get(0)) {
        let source = record
            .get("eventSource")
            .or_else(|| record.get("EventSource"))
            .and_then(Value::as_str)?;
        return match source {
            "aws:s3" => Some(Kind::Bucket),
            "aws:sns" => Some(Kind::Topic),
            "aws:sqs" => Some(Kind::Queue),
            "aws:kinesis" => Some(Kind::Stream),
            "aws:dynamodb" => Some(Kind::Table),
            _ => None,
        };
    }
    let detail_type = event.get("detail-type").and_then(Value::as_str)?;
    event.get("source").and_then(Value::as_str)?;
    Some(if detail_type == "Scheduled Event" {
        Kind::Schedule
    } else {
        Kind::Rule
    })
}

fn iam_arn(ctx: &SampleContext, role: &str) -> String {
    format!(
        "arn:{}:iam::{}:role/{role}",
        ctx.aws.partition, ctx.aws.account
    )
}

/// A table's latest stream ARN: `.../table/NAME/stream/2024-01-01T00:00:00.000`.
fn table_stream_arn(ctx: &SampleContext, table: &str) -> String {
    let label = ctx.time_millis();
    let label = label.strip_suffix('Z').unwrap_or(&label);
    ctx.arn("dynamodb", &format!("table/{table}/stream/{label}"))
}

/// The region an ARN names, if it names one (S3 ARNs do not).
fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The last `:`-separated field of an ARN (a queue's or topic's name).
fn last_field(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

// ---------------------------------------------------------------- EventBridge

/// The EventBridge "Scheduled Event" a schedule rule sends (its `id` is fixed: callers that fire
/// real events replace it).
pub fn schedule_event(rule_arn: &str, ctx: &SampleContext) -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ctx.aws.account,
        "time": ctx.time_seconds(),
        "region": region_of(rule_arn).unwrap_or(ctx.region()),
        "resources": [rule_arn],
        "detail": {}
    })
}

/// An EventBridge event that matches `pattern` (AWS's EC2 example when there is none).
fn rule_event(pattern: Option<&Value>, ctx: &SampleContext) -> Value {
    let example = pattern.and_then(example_for_pattern);
    let source = example
        .as_ref()
        .and_then(|e| e.get("source"))
        .and_then(Value::as_str)
        .unwrap_or(if pattern.is_some() {
            "com.example.app"
        } else {
            "aws.ec2"
        });
    let (detail_type, resources, detail) = known_source(source, ctx);
    let mut event = json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": source,
        "account": ctx.aws.account,
        "time": ctx.time_seconds(),
        "region": ctx.region(),
        "resources": resources,
        "detail": detail
    });
    if let Some(example) = example {
        overlay(&mut event, example);
    }
    event
}

/// The detail type, resources and detail AWS documents for a well-known event source.
fn known_source(source: &str, ctx: &SampleContext) -> (&'static str, Value, Value) {
    match source {
        "aws.ec2" => (
            "EC2 Instance State-change Notification",
            json!([ctx.arn("ec2", "instance/i-1234567890abcdef0")]),
            json!({ "instance-id": "i-1234567890abcdef0", "state": "running" }),
        ),
        "aws.codecommit" => (
            "CodeCommit Repository State Change",
            json!([ctx.arn("codecommit", "my-repo")]),
            json!({
                "callerUserArn": iam_arn(ctx, "developer").replace(":role/", ":user/"),
                "commitId": "26a8f2EXAMPLE76c6d6a4b20c8d4eb8ed5d0a8a5a",
                "event": "referenceUpdated",
                "oldCommitId": "3c5a3bEXAMPLE8e9c2d04c5a7c1cc5d8fa6c4d7e3",
                "referenceFullName": "refs/heads/main",
                "referenceName": "main",
                "referenceType": "branch",
                "repositoryId": "12345678-1234-5678-abcd-12345678abcd",
                "repositoryName": "my-repo"
            }),
        ),
        "aws.s3" => (
            "Object Created",
            json!([format!(
                "arn:{}:s3:::amzn-s3-demo-bucket",
                ctx.aws.partition
            )]),
            json!({
                "version": "0",
                "bucket": { "name": "amzn-s3-demo-bucket" },
                "object": {
                    "key": "HappyFace.jpg",
                    "size": 1024,
                    "etag": "d41d8cd98f00b204e9800998ecf8427e",
                    "sequencer": "0055AED6DCD90281E5"
                },
                "request-id": "C3D13FE58DE4C810",
                "requester": ctx.aws.account,
                "source-ip-address": "203.0.113.15",
                "reason": "PutObject"
            }),
        ),
        "aws.events" => ("Scheduled Event", json!([]), json!({})),
        _ => ("Example Event", json!([]), json!({})),
    }
}

/// Lays `example` over `base`: objects merge member by member, a scalar over an array becomes a
/// one-element array (EventBridge matches an array when any element matches), anything else replaces.
fn overlay(base: &mut Value, example: Value) {
    match (base, example) {
        (Value::Object(base), Value::Object(example)) => {
            for (key, value) in example {
                overlay(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base @ Value::Array(_), example) if !example.is_array() && !example.is_object() => {
            *base = Value::Array(vec![example]);
        }
        (base, example) => *base = example,
    }
}

/// An object that matches an EventBridge event pattern (object of fields → matcher arrays,
/// nested objects, `$or`), or `None` for something that is not a pattern.
pub fn example_for_pattern(pattern: &Value) -> Option<Value> {
    let fields = pattern.as_object()?;
    let mut out = Map::new();
    for (key, matcher) in fields {
        if key == "$or" {
            let first = matcher.as_array().and_then(|alts| alts.first());
            if let Some(Value::Object(alt)) = first.and_then(example_for_pattern) {
                out.extend(alt);
            }
            continue;
        }
        let value = match matcher {
            Value::Object(_) => example_for_pattern(matcher),
            Value::Array(options) => options.iter().find_map(example_for_matcher),
            _ => None,
        };
        if let Some(value) = value {
            out.insert(key.clone(), value);
        }
    }
    Some(Value::Object(out))
}

/// A value one element of a matcher array accepts; `None` when it asks for absence.
fn example_for_matcher(matcher: &Value) -> Option<Value> {
    let Value::Object(filter) = matcher else {
        return Some(matcher.clone()); // an exact value (string, number, boolean, null)
    };
    let (name, arg) = filter.iter().next()?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    match name.as_str() {
        "prefix" => text(arg)
            .or_else(|| arg.get("equals-ignore-case").and_then(text))
            .map(|p| Value::String(format!("{p}example"))),
        "suffix" => text(arg)
            .or_else(|| arg.get("equals-ignore-case").and_then(text))
            .map(|s| Value::String(format!("example{s}"))),
        "equals-ignore-case" => text(arg).map(Value::String),
        "wildcard" => text(arg).map(|w| Value::String(w.replace('*', "example"))),
        "exists" => (arg == &Value::Bool(true)).then(|| Value::String("example".to_owned())),
        "anything-but" => {
            let excluded = arg.to_string();
            let pick = ["example", "other", "sample"]
                .into_iter()
                .find(|c| !excluded.contains(c))
                .unwrap_or("x");
            Some(Value::String(pick.to_owned()))
        }
        "numeric" => arg.as_array().map(|ops| numeric_example(ops)),
        "cidr" => text(arg).map(|c| Value::String(c.split('/').next().unwrap_or("").to_owned())),
        _ => None,
    }
}

/// A number satisfying `[op, n, op, n]` comparisons (the first bound decides; a second narrows).
fn numeric_example(ops: &[Value]) -> Value {
    let mut low: Option<(f64, bool)> = None; // (bound, inclusive)
    let mut high: Option<(f64, bool)> = None;
    for pair in ops.chunks(2) {
        let (Some(op), Some(n)) = (pair.first().and_then(Value::as_str), pair.get(1)) else {
            continue;
        };
        let Some(n) = n.as_f64() else { continue };
        match op {
            "=" => return json!(n),
            ">" => low = Some((n, false)),
            ">=" => low = Some((n, true)),
            "<" => high = Some((n, false)),
            "<=" => high = Some((n, true)),
            _ => {}
        }
    }
    let value = match (low, high) {
        (Some((l, true)), _) => l,
        (Some((l, false)), Some((h, _))) => (l + h) / 2.0,
        (Some((l, false)), None) => l + 1.0,
        (None, Some((h, true))) => h,
        (None, Some((h, false))) => h - 1.0,
        (None, None) => 0.0,
    };
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

// ---------------------------------------------------------------- S3

/// A key the notification's filter accepts: `PREFIX` + `example` + (`SUFFIX` or `.txt`).
fn sample_key(prefix: Option<&str>, suffix: Option<&str>) -> String {
    format!(
        "{}example{}",
        prefix.unwrap_or(""),
        suffix.unwrap_or(".txt")
    )
}

/// The record's `eventName` for a notification's configured event (`s3:ObjectCreated:*` → `ObjectCreated:Put`).
fn s3_event_name(configured: Option<&str>) -> String {
    let name = configured.unwrap_or("s3:ObjectCreated:*");
    let name = name.strip_prefix("s3:").unwrap_or(name);
    let Some(family) = name.strip_suffix(":*") else {
        return name.to_owned();
    };
    let specific = match family {
        "ObjectCreated" => "Put",
        "ObjectRemoved" => "Delete",
        "ObjectRestore" => "Completed",
        "Replication" => "OperationReplicatedAfterThreshold",
        "LifecycleExpiration" => "Delete",
        "LifecycleTransition" => return family.to_owned(),
        "IntelligentTiering" => return family.to_owned(),
        "ObjectTagging" => "Put",
        "ObjectAcl" => "Put",
        _ => return family.to_owned(),
    };
    format!("{family}:{specific}")
}

/// Keys arrive URL-encoded as in a form: a space is `+`, `/` and unreserved characters stay.
const S3_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/')
    .remove(b' ');

fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, S3_KEY)
        .to_string()
        .replace(' ', "+")
}

/// An S3 event notification with one record.
fn s3_event(bucket: &str, key: &str, event_name: &str, ctx: &SampleContext) -> Value {
    let removed = event_name.starts_with("ObjectRemoved") || event_name.starts_with("Lifecycle");
    let mut object = json!({
        "key": encode_key(key),
        "size": 1305107,
        "eTag": "b21b84d653bb07b05b1e6b33684dc11b",
        "sequencer": "0C0F6F405D6ED209E1"
    });
    if removed && let Value::Object(o) = &mut object {
        o.remove("size");
        o.remove("eTag");
    }
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": ctx.region(),
            "eventTime": ctx.time_millis(),
            "eventName": event_name,
            "userIdentity": { "principalId": "AWS:AIDAINPONIXQXHT3IKHL2" },
            "requestParameters": { "sourceIPAddress": "203.0.113.15" },
            "responseElements": {
                "x-amz-request-id": "D82B88E5F771F645",
                "x-amz-id-2": "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo="
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "828aa6fc-f7b5-4305-8584-487c791949c1",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": { "principalId": "A3I5XTEXAMAI3E" },
                    "arn": format!("arn:{}:s3:::{bucket}", ctx.aws.partition)
                },
                "object": object
            }
        }]
    })
}

// ---------------------------------------------------------------- SNS

/// An SNS notification with one record.
fn sns_event(topic_arn: &str, ctx: &SampleContext) -> Value {
    let region = region_of(topic_arn).unwrap_or(ctx.region());
    let subscription = format!("{topic_arn}:21be56ed-a058-49f5-8c98-aedd2564c486");
    json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription,
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": topic_arn,
                "Subject": "example subject",
                "Message": "example message",
                "Timestamp": ctx.time_millis(),
                "SignatureVersion": "1",
                "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
                "SigningCertUrl": format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"),
                "UnsubscribeUrl": format!("https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}"),
                "MessageAttributes": {
                    "Test": { "Type": "String", "Value": "TestString" }
                }
            }
        }]
    })
}

// ---------------------------------------------------------------- SQS

/// An SQS batch of one message (with the FIFO attributes for a `.fifo` queue).
fn sqs_event(queue_arn: &str, ctx: &SampleContext) -> Value {
    let body = "Test message.";
    let sent = ctx.millis();
    let mut attributes = json!({
        "ApproximateReceiveCount": "1",
        "SentTimestamp": sent.to_string(),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": (sent + 2).to_string()
    });
    if last_field(queue_arn).ends_with(".fifo")
        && let Value::Object(a) = &mut attributes
    {
        a.insert("SequenceNumber".into(), json!("18849496460467696128"));
        a.insert("MessageGroupId".into(), json!("1"));
        a.insert("MessageDeduplicationId".into(), json!("1"));
    }
    json!({
        "Records": [{
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a/ZrqgZ5EXAMPLEYSxNKQ/1e1jNk3LyLH6pYl2Q0MzwbDjuYLMGIP1fsQ2ViQVj6nEn9gAAeh6BLbyZsEn9OpUDSiuEgwiNhRiGA9pXTXhc+VWDB0dM9NrVz4jrpH4o4qHPjy/OQlNoV8dnvKHeZLhnKZDpeUIOnLzfTKJDVLGxHqbDkoxyWaP47SfLOoDfwvYZ1gyq9rQ3RGw8tXzKxD2PxpYGvrNjhnmN7rwX43KFK4ZTnqsGW1Xz+vOeTPEiCyYBDBm2/OhZdgqYMeKIjZDbVXprjzNsN4y4UXdqg7fMa/9OZKqcByzKghGhpzn6xrumOoUaj93LhuNE+e+LL5Y9ti5PyO95bvBGvFLOfPj8XbVYtH3grHgPp/vVe8u9Yw2TGkt9S7ve1npQSVDjjhMlPMjGDw9DQ2DAmn6QLzZXoMNT+OSVdk8ZNiSv1nFVJ2dWVgiU1npC5GAb4gPJhMbaaRuG88fsi6SFgSbqFpRlAxlkIFa2c1dcP3f2xfwmfRUBWVqUlY+ve2YKbUvgQHp/EzcNTYwiQ0sZQYVEqc3BxBoW6zHLOiMXcZZzSHuHTSUBh9WUxoJmpDUQc",
            "body": body,
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": hex::encode(Md5::digest(body.as_bytes())),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region_of(queue_arn).unwrap_or(ctx.region())
        }]
    })
}

// ---------------------------------------------------------------- Kinesis

/// A Kinesis batch of one record (data: "Hello, this is a test.").
fn kinesis_event(stream_arn: &str, role_arn: &str, ctx: &SampleContext) -> Value {
    let sequence = "49590338271490256608559692538361571095921575989136588898";
    let arrival = Duration::from_millis(u64::try_from(ctx.millis()).unwrap_or(u64::MAX));
    json!({
        "Records": [{
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "1",
                "sequenceNumber": sequence,
                "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",
                "approximateArrivalTimestamp": arrival.as_secs_f64()
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": format!("shardId-000000000006:{sequence}"),
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role_arn,
            "awsRegion": region_of(stream_arn).unwrap_or(ctx.region()),
            "eventSourceARN": stream_arn
        }]
    })
}

// ---------------------------------------------------------------- DynamoDB

/// A DynamoDB stream batch: an item inserted, then modified.
fn dynamodb_event(stream_arn: &str, ctx: &SampleContext) -> Value {
    let created = ctx.millis() / 1000;
    let region = region_of(stream_arn).unwrap_or(ctx.region());
    let record = |event_id: &str, name: &str, change: Value| {
        json!({
            "eventID": event_id,
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": region,
            "dynamodb": change,
            "eventSourceARN": stream_arn
        })
    };
    json!({
        "Records": [
            record("c4ca4238a0b923820dcc509a6f75849b", "INSERT", json!({
                "ApproximateCreationDateTime": created,
                "Keys": { "Id": { "N": "101" } },
                "NewImage": { "Message": { "S": "New item!" }, "Id": { "N": "101" } },
                "SequenceNumber": "111",
                "SizeBytes": 26,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            })),
            record("c81e728d9d4c2f636f067f89cc14862c", "MODIFY", json!({
                "ApproximateCreationDateTime": created,
                "Keys": { "Id": { "N": "101" } },
                "NewImage": { "Message": { "S": "This item has changed" }, "Id": { "N": "101" } },
                "OldImage": { "Message": { "S": "New item!" }, "Id": { "N": "101" } },
                "SequenceNumber": "222",
                "SizeBytes": 59,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }))
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T02:00:00.123Z
    fn ctx() -> SampleContext {
        SampleContext::new("eu-west-3").at(UNIX_EPOCH + Duration::from_millis(1_704_074_400_123))
    }

    #[test]
    fn every_kind_keyword_is_listed() {
        let keywords: Vec<_> = Kind::ALL.iter().map(|k| k.keyword()).collect();
        assert_eq!(keywords, KINDS);
        for kind in Kind::ALL {
            assert_eq!(Origin::generic(kind, &ctx()).kind(), kind);
        }
    }

    #[test]
    fn generic_samples() {
        for kind in Kind::ALL {
            insta::assert_json_snapshot!(kind.keyword(), sample(kind, &ctx()));
        }
    }

    #[test]
    fn times_have_awss_formats() {
        let c = ctx();
        assert_eq!(c.time_seconds(), "2024-01-01T02:00:00Z");
        assert_eq!(c.time_millis(), "2024-01-01T02:00:00.123Z");
        assert_eq!(
            table_stream_arn(&c, "orders"),
            "arn:aws:dynamodb:eu-west-3:123456789012:table/orders/stream/2024-01-01T02:00:00.123"
        );
        let early = c.at(UNIX_EPOCH + Duration::from_millis(5));
        assert_eq!(early.time_millis(), "1970-01-01T00:00:00.005Z");
    }

    #[test]
    fn partition_follows_the_region() {
        let c = SampleContext::new("cn-north-1");
        assert_eq!(
            c.arn("sqs", "q"),
            "arn:aws-cn:sqs:cn-north-1:123456789012:q"
        );
    }

    #[test]
    fn md5_of_body_is_the_bodys() {
        let event = sample(Kind::Queue, &ctx());
        // md5("Test message.")
        assert_eq!(
            event["Records"][0]["md5OfBody"],
            hex::encode(Md5::digest(b"Test message."))
        );
        assert_eq!(
            hex::encode(Md5::digest(b"")),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    #[test]
    fn fifo_queues_get_fifo_attributes() {
        let origin = Origin::Queue {
            queue_arn: "arn:aws:sqs:us-west-2:111122223333:orders.fifo".into(),
        };
        let event = origin.event(&ctx());
        let record = &event["Records"][0];
        assert_eq!(record["attributes"]["MessageGroupId"], "1");
        assert_eq!(record["awsRegion"], "us-west-2", "region from the ARN");
        let plain = sample(Kind::Queue, &ctx());
        assert!(plain["Records"][0]["attributes"]["MessageGroupId"].is_null());
    }

    #[test]
    fn s3_event_names_from_configured_events() {
        assert_eq!(s3_event_name(None), "ObjectCreated:Put");
        assert_eq!(
            s3_event_name(Some("s3:ObjectCreated:*")),
            "ObjectCreated:Put"
        );
        assert_eq!(
            s3_event_name(Some("s3:ObjectCreated:CompleteMultipartUpload")),
            "ObjectCreated:CompleteMultipartUpload"
        );
        assert_eq!(
            s3_event_name(Some("s3:ObjectRemoved:*")),
            "ObjectRemoved:Delete"
        );
        assert_eq!(
            s3_event_name(Some("s3:ObjectRestore:*")),
            "ObjectRestore:Completed"
        );
        assert_eq!(
            s3_event_name(Some("s3:ReducedRedundancyLostObject")),
            "ReducedRedundancyLostObject"
        );
    }

    #[test]
    fn keys_are_url_encoded_like_s3s() {
        assert_eq!(
            sample_key(Some("images/"), Some(".png")),
            "images/example.png"
        );
        assert_eq!(sample_key(None, None), "example.txt");
        assert_eq!(
            encode_key("in box/Happy Face+1.jpg"),
            "in+box/Happy+Face%2B1.jpg"
        );
        assert_eq!(encode_key("café/ü.txt"), "caf%C3%A9/%C3%BC.txt");
        let deleted = Origin::Bucket {
            bucket: "b".into(),
            key: "k".into(),
            event_name: "ObjectRemoved:Delete".into(),
        }
        .event(&ctx());
        let object = &deleted["Records"][0]["s3"]["object"];
        assert!(
            object["size"].is_null() && object["eTag"].is_null(),
            "{object}"
        );
    }

    #[test]
    fn every_sample_is_recognised_as_its_kind() {
        for kind in Kind::ALL {
            assert_eq!(kind_of_event(&sample(kind, &ctx())), Some(kind));
        }
        assert_eq!(kind_of_event(&json!({})), None);
        assert_eq!(
            kind_of_event(&json!({ "Records": [{ "eventSource": "aws:ses" }] })),
            None
        );
        assert_eq!(kind_of_event(&json!([1, 2])), None);
    }

    #[test]
    fn patterns_yield_matching_examples() {
        let pattern = json!({
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "detail": {
                "event": ["referenceCreated", "referenceUpdated"],
                "referenceName": [{ "prefix": "release/" }],
                "repositoryName": [{ "anything-but": ["example"] }],
                "size": [{ "numeric": [">", 0, "<=", 10] }],
                "count": [{ "numeric": [">=", 3] }],
                "gone": [{ "exists": false }],
                "there": [{ "exists": true }],
                "file": [{ "suffix": ".png" }],
                "name": [{ "wildcard": "dir/*.txt" }],
                "ip": [{ "cidr": "10.0.0.0/24" }],
                "nested": { "flag": [true] }
            },
            "$or": [{ "account": ["111122223333"] }, { "region": ["us-west-2"] }]
        });
        assert_eq!(
            example_for_pattern(&pattern).unwrap(),
            json!({
                "source": "aws.codecommit",
                "detail-type": "CodeCommit Repository State Change",
                "detail": {
                    "event": "referenceCreated",
                    "referenceName": "release/example",
                    "repositoryName": "other",
                    "size": 5,
                    "count": 3,
                    "there": "example",
                    "file": "example.png",
                    "name": "dir/example.txt",
                    "ip": "10.0.0.0",
                    "nested": { "flag": true }
                },
                "account": "111122223333"
            })
        );
        assert_eq!(example_for_pattern(&json!([1])), None);
    }

    #[test]
    fn rule_events_match_their_pattern() {
        let origin = Origin::Rule {
            pattern: Some(json!({
                "source": ["aws.codecommit"],
                "detail": { "referenceName": ["main", "dev"] },
                "resources": ["arn:aws:codecommit:eu-west-3:123456789012:orders"]
            })),
        };
        let event = origin.event(&ctx());
        assert_eq!(event["source"], "aws.codecommit");
        assert_eq!(event["detail-type"], "CodeCommit Repository State Change");
        assert_eq!(event["detail"]["referenceName"], "main");
        assert_eq!(
            event["detail"]["repositoryName"], "my-repo",
            "kept from the base"
        );
        assert_eq!(
            event["resources"],
            json!(["arn:aws:codecommit:eu-west-3:123456789012:orders"])
        );
        let custom = Origin::Rule {
            pattern: Some(
                json!({ "source": ["com.acme.orders"], "detail-type": ["Order Placed"] }),
            ),
        }
        .event(&ctx());
        assert_eq!(
            (&custom["source"], &custom["detail-type"], &custom["detail"]),
            (
                &json!("com.acme.orders"),
                &json!("Order Placed"),
                &json!({})
            )
        );
    }
}
