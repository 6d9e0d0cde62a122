//! The copy-paste commands `deployer local` prints: one per handler, sending its source an event
//! through the emulator, so the runner delivers it as Lambda would.
//!
//! The bodies suit the example app's handlers (an `Order` on the queue, a `Click` on the stream, an
//! order row in the table, an `images/*.png` key in the bucket); any other app gets the same
//! realistic bodies, which its handlers may or may not parse. Commands are POSIX `sh`.

use std::time::UNIX_EPOCH;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chalice_codegen::ast::Kind;
use chalice_codegen::plan::{AwsContext, DestinationKind, Plan};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use chalice_lambda::samples::{Origin, SampleContext};

/// How the commands reach the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// curl 7.75+ signing with `--aws-sigv4` and dummy credentials: the emulator (moto) tells
    /// services apart by the signature's credential scope (`.../REGION/SERVICE/aws4_request`).
    Curl,
    /// The AWS CLI (v1 or v2) with the configured credentials and an explicit `--endpoint-url`
    /// (CLI v1 ignores `AWS_ENDPOINT_URL` for SQS).
    AwsCli,
}

/// One handler's hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub handler: String,
    pub kind: Kind,
    /// What the command does, e.g. `send an order to queue my-queue`.
    pub about: String,
    /// A shell command; for a schedule, the `deployer local --fire` invocation that fires it now.
    pub command: String,
}

/// An order the example app's `on_order` accepts (`src/orders.rs` `Order`).
const ORDER: &str =
    r#"{"id":"o-1001","items":[{"sku":"BOOK-42","quantity":2,"price_cents":1250}]}"#;
/// A click the example app's `on_click` reads (`src/orders.rs` `Click`).
const CLICK: &str = r#"{"page":"/checkout","user":"u-42"}"#;
const CLICK_PARTITION_KEY: &str = "u-42";
/// The object put in a bucket.
const OBJECT_BODY: &str = "example";
const SUBJECT: &str = "Order o-1001 shipped";
const MESSAGE: &str = "Order o-1001 left the warehouse.";
/// The credentials curl signs with; the emulator accepts any.
const CURL_USER: &str = "testing:testing";

/// An order row as DynamoDB JSON (`src/orders.rs` `OrderRow`: `Id`, `Status`).
fn order_row() -> Value {
    json!({ "Id": { "S": "o-1001" }, "Status": { "S": "shipped" } })
}

/// A command per handler of `plan` with a trigger, in the plan's order; `endpoint` is the
/// emulator's URL (e.g. `http://127.0.0.1:5000`), `ctx` fills the plan's ARNs.
pub fn commands(plan: &Plan, ctx: &AwsContext, endpoint: &str, style: Style) -> Vec<Hint> {
    let sample = SampleContext {
        aws: ctx.clone(),
        now: UNIX_EPOCH,
    };
    let to = Target {
        endpoint: endpoint.trim_end_matches('/'),
        ctx,
        style,
    };
    plan.functions
        .iter()
        .filter_map(|function| {
            let handler = function.handler.as_str();
            let origin = Origin::for_handler(plan, handler, &sample)?;
            let kind = origin.kind();
            let (about, command) = match &origin {
                Origin::Schedule { .. } => schedule(plan, handler),
                Origin::Rule { .. } => to.rule(plan, handler, &origin, &sample),
                Origin::Bucket { bucket, key, .. } => to.bucket(bucket, key),
                Origin::Topic { topic_arn } => to.topic(topic_arn),
                Origin::Queue { queue_arn } => to.queue(queue_arn),
                Origin::Stream { stream_arn, .. } => to.stream(stream_arn),
                Origin::Table { stream_arn } => to.table(stream_arn),
            };
            Some(Hint {
                handler: handler.to_owned(),
                kind,
                about,
                command,
            })
        })
        .collect()
}

fn schedule(plan: &Plan, handler: &str) -> (String, String) {
    let expression = plan
        .rules
        .iter()
        .find(|r| r.function == handler)
        .and_then(|r| r.schedule_expression.as_deref())
        .unwrap_or("its schedule");
    (
        format!(
            "fires on its own at {expression} (UTC); to fire it now, type `{handler}` and Enter in \
             the runner's terminal, or start it with:"
        ),
        format!("deployer local --fire {}", sh(handler)),
    )
}

/// A command that reads an on-failure queue: the records of what a handler's events gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// What it reads, e.g. `records on_click gave up (queue clicks-failed)`.
    pub about: String,
    pub command: String,
}

/// A command per on-failure queue `plan` names (stream mappings and invoke configs), in the plan's
/// order, each queue once.
pub fn failure_readers(plan: &Plan, ctx: &AwsContext, endpoint: &str, style: Style) -> Vec<Reader> {
    let to = Target {
        endpoint: endpoint.trim_end_matches('/'),
        ctx,
        style,
    };
    let destinations = plan
        .event_source_mappings
        .iter()
        .filter_map(|m| Some((&m.function, m.stream_failure.as_ref()?.on_failure.as_ref()?)))
        .chain(
            plan.invoke_configs
                .iter()
                .filter_map(|c| Some((&c.function, c.on_failure.as_ref()?))),
        )
        .filter(|(_, d)| d.kind == DestinationKind::Queue);
    let mut readers: Vec<(String, Vec<String>)> = Vec::new();
    for (handler, d) in destinations {
        let arn = d.arn.resolve(ctx);
        match readers.iter_mut().find(|(a, _)| *a == arn) {
            Some((_, handlers)) => handlers.push(handler.clone()),
            None => readers.push((arn, vec![handler.clone()])),
        }
    }
    readers
        .into_iter()
        .map(|(arn, handlers)| Reader {
            about: format!(
                "records of what {} gave up (queue {})",
                handlers.join(", "),
                last_field(&arn)
            ),
            command: to.receive(&arn),
        })
        .collect()
}

/// Where the commands send their requests.
struct Target<'a> {
    endpoint: &'a str,
    ctx: &'a AwsContext,
    style: Style,
}

impl Target<'_> {
    /// The region an ARN names, else the context's.
    fn region<'s>(&'s self, arn: &'s str) -> &'s str {
        arn.split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.ctx.region)
    }

    /// `curl -sS --aws-sigv4 aws:amz:REGION:SERVICE --user testing:testing`
    fn curl(&self, region: &str, service: &str) -> Vec<String> {
        words(&[
            "curl",
            "-sS",
            "--aws-sigv4",
            &format!("aws:amz:{region}:{service}"),
            "--user",
            CURL_USER,
        ])
    }

    /// `aws --endpoint-url ENDPOINT --region REGION SERVICE OPERATION`
    fn aws(&self, region: &str, service: &str, operation: &str) -> Vec<String> {
        words(&[
            "aws",
            "--endpoint-url",
            self.endpoint,
            "--region",
            region,
            service,
            operation,
        ])
    }

    /// A JSON-protocol call: `curl ... -H Content-Type -H X-Amz-Target -d BODY ENDPOINT/`.
    fn curl_json(
        &self,
        region: &str,
        service: &str,
        json_version: &str,
        target: &str,
        body: &Value,
    ) -> Vec<String> {
        let mut args = self.curl(region, service);
        args.extend(words(&[
            "-H",
            &format!("Content-Type: application/x-amz-json-{json_version}"),
            "-H",
            &format!("X-Amz-Target: {target}"),
            "-d",
            &body.to_string(),
            &format!("{}/", self.endpoint),
        ]));
        args
    }

    fn queue(&self, queue_arn: &str) -> (String, String) {
        let name = last_field(queue_arn);
        let region = self.region(queue_arn);
        let url = self.queue_url(queue_arn);
        let fifo = name.ends_with(".fifo");
        let command = match self.style {
            Style::Curl => {
                let mut args = self.curl(region, "sqs");
                args.push(sh(&url));
                for param in ["Action=SendMessage", &format!("MessageBody={ORDER}")] {
                    args.extend(words(&["--data-urlencode", param]));
                }
                if fifo {
                    args.extend(words(&["--data-urlencode", "MessageGroupId=orders"]));
                    args.push("--data-urlencode".to_owned());
                    args.push(r#""MessageDeduplicationId=$(date +%s)""#.to_owned());
                }
                args.join(" ")
            }
            Style::AwsCli => {
                let mut args = self.aws(region, "sqs", "send-message");
                args.extend(words(&["--queue-url", &url, "--message-body", ORDER]));
                if fifo {
                    args.extend(words(&["--message-group-id", "orders"]));
                    args.push("--message-deduplication-id".to_owned());
                    args.push(r#""$(date +%s)""#.to_owned());
                }
                args.join(" ")
            }
        };
        (format!("send an order to queue {name}"), command)
    }

    /// Receives up to 10 messages from the queue (they come back after its visibility timeout).
    fn receive(&self, queue_arn: &str) -> String {
        let region = self.region(queue_arn);
        let url = self.queue_url(queue_arn);
        match self.style {
            Style::Curl => {
                let mut args = self.curl(region, "sqs");
                args.push(sh(&url));
                for param in ["Action=ReceiveMessage", "MaxNumberOfMessages=10"] {
                    args.extend(words(&["--data-urlencode", param]));
                }
                args.join(" ")
            }
            Style::AwsCli => {
                let mut args = self.aws(region, "sqs", "receive-message");
                args.extend(words(&[
                    "--queue-url",
                    &url,
                    "--max-number-of-messages",
                    "10",
                ]));
                args.join(" ")
            }
        }
    }

    /// How SQS (and moto) spell a queue's URL; no GetQueueUrl round trip needed.
    fn queue_url(&self, queue_arn: &str) -> String {
        let account = queue_arn
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .unwrap_or(&self.ctx.account);
        format!("{}/{account}/{}", self.endpoint, last_field(queue_arn))
    }

    fn bucket(&self, bucket: &str, key: &str) -> (String, String) {
        let region = self.ctx.region.as_str();
        let content_type = content_type(key);
        let command = match self.style {
            Style::Curl => {
                let url = format!(
                    "{}/{bucket}/{}",
                    self.endpoint,
                    utf8_percent_encode(key, KEY_PATH)
                );
                let mut args = self.curl(region, "s3");
                // A Content-Type is required: with curl's default (a form) the body is lost.
                args.extend(words(&[
                    "-X",
                    "PUT",
                    "-H",
                    &format!("Content-Type: {content_type}"),
                    "--data-binary",
                    OBJECT_BODY,
                    &url,
                ]));
                args.join(" ")
            }
            Style::AwsCli => {
                let mut args = self.aws(region, "s3api", "put-object");
                args.extend(words(&[
                    "--bucket",
                    bucket,
                    "--key",
                    key,
                    "--content-type",
                    content_type,
                ]));
                args.join(" ")
            }
        };
        (format!("put {key} in bucket {bucket}"), command)
    }

    fn topic(&self, topic_arn: &str) -> (String, String) {
        let region = self.region(topic_arn);
        let command = match self.style {
            Style::Curl => {
                let mut args = self.curl(region, "sns");
                args.push(sh(&format!("{}/", self.endpoint)));
                for param in [
                    "Action=Publish".to_owned(),
                    format!("TopicArn={topic_arn}"),
                    format!("Subject={SUBJECT}"),
                    format!("Message={MESSAGE}"),
                ] {
                    args.extend(words(&["--data-urlencode", &param]));
                }
                args.join(" ")
            }
            Style::AwsCli => {
                let mut args = self.aws(region, "sns", "publish");
                args.extend(words(&[
                    "--topic-arn",
                    topic_arn,
                    "--subject",
                    SUBJECT,
                    "--message",
                    MESSAGE,
                ]));
                args.join(" ")
            }
        };
        (
            format!("publish to topic {}", last_field(topic_arn)),
            command,
        )
    }

    fn stream(&self, stream_arn: &str) -> (String, String) {
        let region = self.region(stream_arn);
        let name = resource(stream_arn);
        let name = name.strip_prefix("stream/").unwrap_or(name);
        let command = match self.style {
            Style::Curl => {
                let body = json!({
                    "StreamName": name,
                    "PartitionKey": CLICK_PARTITION_KEY,
                    "Data": STANDARD.encode(CLICK),
                });
                let args = self.curl_json(
                    region,
                    "kinesis",
                    "1.1",
                    "Kinesis_20131202.PutRecord",
                    &body,
                );
                args.join(" ")
            }
            Style::AwsCli => {
                // `fileb://` sends the bytes as they are with CLI v1 and v2 alike (a plain
                // `--data` is base64 text to v2 and raw text to v1).
                let mut args = words(&["printf", "%s", CLICK]);
                args.push("|".to_owned());
                args.extend(self.aws(region, "kinesis", "put-record"));
                args.extend(words(&[
                    "--stream-name",
                    name,
                    "--partition-key",
                    CLICK_PARTITION_KEY,
                    "--data",
                    "fileb:///dev/stdin",
                ]));
                args.join(" ")
            }
        };
        (format!("put a click record on stream {name}"), command)
    }

    /// `stream_arn` is the table's stream: `.../table/NAME/stream/LABEL`.
    fn table(&self, stream_arn: &str) -> (String, String) {
        let region = self.region(stream_arn);
        let resource = resource(stream_arn);
        let table = resource
            .strip_prefix("table/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(resource);
        let command = match self.style {
            Style::Curl => {
                let body = json!({ "TableName": table, "Item": order_row() });
                let args = self.curl_json(
                    region,
                    "dynamodb",
                    "1.0",
                    "DynamoDB_20120810.PutItem",
                    &body,
                );
                args.join(" ")
            }
            Style::AwsCli => {
                let mut args = self.aws(region, "dynamodb", "put-item");
                args.extend(words(&[
                    "--table-name",
                    table,
                    "--item",
                    &order_row().to_string(),
                ]));
                args.join(" ")
            }
        };
        (format!("put an order row in table {table}"), command)
    }

    /// A `PutEvents` entry made from the sample event matching the rule's pattern.
    fn rule(
        &self,
        plan: &Plan,
        handler: &str,
        origin: &Origin,
        sample: &SampleContext,
    ) -> (String, String) {
        let rule = plan.rules.iter().find(|r| r.function == handler);
        let event = origin.event(sample);
        let mut entry = Map::new();
        for (field, name) in [
            ("source", "Source"),
            ("detail-type", "DetailType"),
            ("resources", "Resources"),
        ] {
            match event.get(field) {
                Some(Value::Array(items)) if items.is_empty() => {}
                Some(value) => {
                    entry.insert(name.to_owned(), value.clone());
                }
                None => {}
            }
        }
        let detail = event.get("detail").cloned().unwrap_or_else(|| json!({}));
        entry.insert("Detail".to_owned(), Value::String(detail.to_string()));
        let bus = rule.and_then(|r| r.event_bus.as_deref());
        if let Some(bus) = bus {
            entry.insert("EventBusName".to_owned(), Value::String(bus.to_owned()));
        }
        let region = bus.map_or(self.ctx.region.as_str(), |b| self.region(b));
        let entries = Value::Array(vec![Value::Object(entry)]);
        let command = match self.style {
            Style::Curl => {
                let body = json!({ "Entries": entries });
                let args = self.curl_json(region, "events", "1.1", "AWSEvents.PutEvents", &body);
                args.join(" ")
            }
            Style::AwsCli => {
                let mut args = self.aws(region, "events", "put-events");
                args.extend(words(&["--entries", &entries.to_string()]));
                args.join(" ")
            }
        };
        let name = rule.map_or(handler, |r| r.name.as_str());
        (
            format!("put an event matching rule {name}'s pattern"),
            command,
        )
    }
}

/// Each argument quoted for `sh`.
fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| sh(a)).collect()
}

/// `text` as one POSIX `sh` word: bare when it is plainly safe, else in single quotes (an
/// embedded `'` becomes `'\''`).
pub fn sh(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The last `:`-separated field of an ARN (a queue's or topic's name, `stream/NAME`, ...).
fn last_field(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Everything after an ARN's fifth `:` (`table/NAME/stream/2024-01-01T00:00:00.000`).
fn resource(arn: &str) -> &str {
    arn.splitn(6, ':').nth(5).unwrap_or(arn)
}

/// A key in a URL path: `/` and unreserved characters stay.
const KEY_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The object's media type, judged by the key's extension.
fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        Some("csv") => "text/csv",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use chalice_codegen::plan::Arn;

    use super::*;

    fn example_plan() -> Plan {
        let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../events.chalice"));
        let model = chalice_codegen::load("events.chalice", source).unwrap();
        chalice_codegen::emit_plan::plan(&model, "dev").unwrap()
    }

    fn ctx() -> AwsContext {
        AwsContext {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    const ENDPOINT: &str = "http://127.0.0.1:5000";

    fn rendered(style: Style) -> String {
        commands(&example_plan(), &ctx(), &format!("{ENDPOINT}/"), style)
            .iter()
            .map(|h| {
                format!(
                    "# {} ({}): {}\n{}\n",
                    h.handler,
                    h.kind.keyword(),
                    h.about,
                    h.command
                )
            })
            .collect()
    }

    #[test]
    fn on_failure_queues_get_a_reader_each() {
        use chalice_codegen::plan::{Destination, InvokeConfig, StreamFailure};
        // Two handlers give up to queue `dead` (read once), one to a topic (not a queue).
        let mut plan = example_plan();
        let dead = Destination {
            kind: DestinationKind::Queue,
            arn: Arn("arn:{partition}:sqs:{region}:{account}:dead".into()),
        };
        let alerts = Destination {
            kind: DestinationKind::Topic,
            arn: Arn("arn:{partition}:sns:{region}:{account}:alerts".into()),
        };
        for (handler, on_failure) in [("on_upload", &dead), ("nightly", &alerts)] {
            plan.invoke_configs.push(InvokeConfig {
                id: format!("invoke_config.{handler}"),
                function: handler.into(),
                maximum_retry_attempts: 0,
                maximum_event_age_s: 3600,
                on_failure: Some(on_failure.clone()),
            });
        }
        let click = plan
            .event_source_mappings
            .iter_mut()
            .find(|m| m.function == "on_click")
            .unwrap();
        click.stream_failure = Some(StreamFailure {
            on_failure: Some(dead),
            ..StreamFailure::default()
        });
        let plan = &plan;
        let readers = failure_readers(plan, &ctx(), ENDPOINT, Style::AwsCli);
        assert_eq!(readers.len(), 1, "one queue, read once: {readers:?}");
        assert_eq!(
            readers[0].about,
            "records of what on_click, on_upload gave up (queue dead)"
        );
        assert_eq!(
            readers[0].command,
            "aws --endpoint-url http://127.0.0.1:5000 --region us-east-1 sqs receive-message \
             --queue-url http://127.0.0.1:5000/123456789012/dead --max-number-of-messages 10"
        );
        let curl = failure_readers(plan, &ctx(), ENDPOINT, Style::Curl);
        assert!(
            curl[0].command.contains("Action=ReceiveMessage"),
            "{curl:?}"
        );
        assert!(failure_readers(&example_plan(), &ctx(), ENDPOINT, Style::Curl).is_empty());
    }

    #[test]
    fn curl_commands_for_the_example_app() {
        insta::assert_snapshot!(rendered(Style::Curl));
    }

    #[test]
    fn aws_cli_commands_for_the_example_app() {
        insta::assert_snapshot!(rendered(Style::AwsCli));
    }

    #[test]
    fn every_handler_gets_a_hint_of_its_kind() {
        let plan = example_plan();
        let hints = commands(&plan, &ctx(), ENDPOINT, Style::Curl);
        let kinds: Vec<(&str, Kind)> = hints.iter().map(|h| (h.handler.as_str(), h.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("every_hour", Kind::Schedule),
                ("nightly", Kind::Schedule),
                ("code_commit", Kind::Rule),
                ("on_upload", Kind::Bucket),
                ("on_notice", Kind::Topic),
                ("on_order", Kind::Queue),
                ("on_click", Kind::Stream),
                ("on_audit", Kind::Table),
            ]
        );
        let nightly = &hints[1];
        assert_eq!(nightly.command, "deployer local --fire nightly");
        assert!(
            nightly.about.contains("cron(0 2 * * ? *)"),
            "{}",
            nightly.about
        );
    }

    #[test]
    fn quoting_survives_sh() {
        assert_eq!(
            sh("plain-word_1.2:3/x@y%z+a=b,c"),
            "plain-word_1.2:3/x@y%z+a=b,c"
        );
        assert_eq!(sh(""), "''");
        assert_eq!(sh("two words"), "'two words'");
        assert_eq!(sh("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(sh(r#"{"a":"b"}"#), r#"'{"a":"b"}'"#);
        // Round trip through a real shell.
        for text in [
            "it's",
            "'",
            "''x'",
            "$(echo no)",
            "a\\b",
            "tab\there",
            "é \"q\"",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", sh(text)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
        }
    }

    #[test]
    fn bodies_suit_the_example_handlers() {
        let order: Value = serde_json::from_str(ORDER).unwrap();
        assert!(order["id"].is_string() && order["items"][0]["price_cents"].is_u64());
        let click: Value = serde_json::from_str(CLICK).unwrap();
        assert!(click["page"].is_string());
        assert_eq!(order_row()["Id"]["S"], "o-1001");
        assert_eq!(
            STANDARD.encode(CLICK),
            "eyJwYWdlIjoiL2NoZWNrb3V0IiwidXNlciI6InUtNDIifQ=="
        );
    }

    /// A plan with its sources elsewhere: a FIFO queue and a topic by ARN in another region, a
    /// stream and a table stream by ARN, a rule on a custom bus.
    fn foreign_plan() -> Plan {
        let source = r#"
app shop
rule   on_event  { pattern = { "source": ["com.acme.orders"], "detail": { "total": [{ "numeric": [">", 100] }] } }, bus = "orders-bus" }
queue  on_fifo   "arn:aws:sqs:eu-west-1:999988887777:jobs.fifo"
topic  on_topic  "arn:aws:sns:eu-west-1:999988887777:alerts"
stream on_stream "arn:aws:kinesis:eu-west-1:999988887777:stream/clicks"
table  on_table  "arn:aws:dynamodb:eu-west-1:999988887777:table/audit/stream/2024-01-01T00:00:00.000"
bucket on_file   "my-files" { suffix = ".json" }
"#;
        let model = chalice_codegen::load("events.chalice", source)
            .unwrap_or_else(|d| panic!("{}", d.items.len()));
        chalice_codegen::emit_plan::plan(&model, "dev").unwrap()
    }

    fn hint<'a>(hints: &'a [Hint], handler: &str) -> &'a str {
        &hints.iter().find(|h| h.handler == handler).unwrap().command
    }

    #[test]
    fn sources_elsewhere_are_addressed_where_they_are() {
        let plan = foreign_plan();
        let curl = commands(&plan, &ctx(), ENDPOINT, Style::Curl);
        let cli = commands(&plan, &ctx(), ENDPOINT, Style::AwsCli);

        let fifo = hint(&curl, "on_fifo");
        assert!(fifo.contains("--aws-sigv4 aws:amz:eu-west-1:sqs"), "{fifo}");
        assert!(
            fifo.contains(" http://127.0.0.1:5000/999988887777/jobs.fifo "),
            "{fifo}"
        );
        assert!(fifo.contains("MessageGroupId=orders"), "{fifo}");
        assert!(
            fifo.contains(r#""MessageDeduplicationId=$(date +%s)""#),
            "{fifo}"
        );
        let fifo = hint(&cli, "on_fifo");
        assert!(fifo.contains("--region eu-west-1 sqs send-message --queue-url http://127.0.0.1:5000/999988887777/jobs.fifo"), "{fifo}");
        assert!(fifo.contains("--message-group-id orders"), "{fifo}");

        assert!(hint(&curl, "on_topic").contains("aws:amz:eu-west-1:sns"));
        assert!(
            hint(&cli, "on_topic")
                .contains("--topic-arn arn:aws:sns:eu-west-1:999988887777:alerts")
        );
        assert!(hint(&curl, "on_stream").contains(r#""StreamName":"clicks""#));
        assert!(hint(&cli, "on_stream").contains("--stream-name clicks"));
        assert!(hint(&curl, "on_table").contains(r#""TableName":"audit""#));
        assert!(
            hint(&cli, "on_table")
                .contains("--region eu-west-1 dynamodb put-item --table-name audit")
        );

        let rule = hint(&curl, "on_event");
        assert!(rule.contains(r#""EventBusName":"orders-bus""#), "{rule}");
        assert!(rule.contains(r#""Source":"com.acme.orders""#), "{rule}");
        assert!(rule.contains(r#""Detail":"{\"total\":101}""#), "{rule}");

        let file = hint(&curl, "on_file");
        assert!(file.contains("'Content-Type: application/json'"), "{file}");
        assert!(
            file.contains("http://127.0.0.1:5000/my-files/example.json"),
            "{file}"
        );
    }

    #[test]
    fn keys_are_escaped_in_urls() {
        let plan = Plan {
            bucket_notifications: vec![chalice_codegen::plan::BucketNotification {
                id: "n".into(),
                function: "f".into(),
                bucket: "b-b".into(),
                notification_id: "n".into(),
                events: vec![],
                prefix: Some("in box/".into()),
                suffix: Some(".txt".into()),
            }],
            ..example_plan()
        };
        let mut plan = plan;
        plan.functions.truncate(1);
        plan.functions[0].handler = "f".into();
        plan.functions[0].arn = Arn("x".into());
        let hints = commands(&plan, &ctx(), ENDPOINT, Style::Curl);
        assert!(
            hints[0]
                .command
                .ends_with(" http://127.0.0.1:5000/b-b/in%20box/example.txt"),
            "{}",
            hints[0].command
        );
        let hints = commands(&plan, &ctx(), ENDPOINT, Style::AwsCli);
        assert!(
            hints[0].command.contains("--key 'in box/example.txt'"),
            "{}",
            hints[0].command
        );
    }
}
