//! What `deployer local` prints to help send events: one `deployer local send HANDLER --sample`
//! line per handler (written the way the runner was started: `scripts/local.sh`, `cargo run`, an
//! installed `deployer` or a path), and a
//! command per on-failure queue to read the records of what was given up (curl or the AWS CLI).
//!
//! The payloads are not here: `local send` takes the app's own `samples/<handler>.json`, or a
//! generic payload of the kind ([`crate::local::send::shape`]).

use std::path::{Path, PathBuf};

use chalice_codegen::ast::Kind;
use chalice_codegen::plan::{AwsContext, DestinationKind, Plan};

use chalice_lambda::samples::{Origin, SampleContext};

use crate::project::app_file::DEFAULT_APP_FILE;
use crate::project::samples::SAMPLES_DIR;

/// How the on-failure readers reach the emulator.
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
    /// What the command does, e.g. `send a message to queue my-queue (payload: samples/on_order.json)`.
    pub about: String,
    /// The `deployer local send` command line.
    pub command: String,
}

/// How to write `deployer local send` for the user: the command that ran the runner, and the
/// `--app` and `--stage` it was given when they are not the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCommand {
    /// What runs `deployer local`: `deployer local`, `cargo run --bin deployer -- local`,
    /// `scripts/local.sh`, `target/debug/deployer local` ([`program`]).
    pub program: String,
    /// ` --stage prod --app svc/events.chalice`, or empty.
    pub options: String,
}

impl SendCommand {
    /// For a runner of `app` and `stage` started with `program` (see [`program`]).
    pub fn new(program: &str, app: &Path, stage: &str) -> SendCommand {
        let mut options = String::new();
        if stage != chalice_codegen::model::DEFAULT_STAGE {
            options.push_str(&format!(" --stage {}", sh(stage)));
        }
        if app != Path::new(DEFAULT_APP_FILE) {
            options.push_str(&format!(" --app {}", sh(&app.display().to_string())));
        }
        SendCommand {
            program: program.to_owned(),
            options,
        }
    }

    /// `PROGRAM send HANDLER [--sample] [OPTIONS]` (a schedule has no payload: no `--sample`).
    pub fn line(&self, handler: &str, kind: Kind) -> String {
        let sample = if kind == Kind::Schedule {
            ""
        } else {
            " --sample"
        };
        format!(
            "{} send {}{sample}{}",
            self.program,
            sh(handler),
            self.options
        )
    }
}

/// The variable `scripts/local.sh` sets to how it was called (its `$0`): its `send` lines then go
/// through it too (`scripts/local.sh send on_order --sample`).
pub const SCRIPT_VAR: &str = "CHALICE_LOCAL_SCRIPT";

/// How this process was started, as far as the `send` lines need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Started {
    /// [`SCRIPT_VAR`]: through `scripts/local.sh`, called so.
    pub script: Option<String>,
    /// Through `cargo run` (cargo sets `CARGO` for what it runs).
    pub cargo: bool,
    /// This executable.
    pub exe: Option<PathBuf>,
    /// The `deployer` that `PATH` finds.
    pub on_path: Option<PathBuf>,
    /// The working directory (the one the user runs the lines in).
    pub cwd: Option<PathBuf>,
}

impl Started {
    /// This process.
    pub fn this_process() -> Started {
        let canonical = |p: PathBuf| p.canonicalize().unwrap_or(p);
        let on_path = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("deployer"))
                .find(|p| p.is_file())
                .map(canonical)
        });
        Started {
            script: std::env::var(SCRIPT_VAR).ok().filter(|s| !s.is_empty()),
            cargo: std::env::var_os("CARGO").is_some(),
            exe: std::env::current_exe().ok().map(canonical),
            on_path,
            cwd: std::env::current_dir().ok().map(canonical),
        }
    }
}

/// What runs `deployer local` the way the user ran it: `scripts/local.sh` as they called it, `cargo
/// run --bin deployer -- local` under cargo, `deployer local` when `PATH` finds this executable as
/// `deployer`, else this executable's path (relative to the working directory when under it).
pub fn program(started: &Started) -> String {
    if let Some(script) = &started.script {
        return sh(script);
    }
    if started.cargo {
        return "cargo run --bin deployer -- local".to_owned();
    }
    match &started.exe {
        Some(exe) if started.on_path.as_ref() != Some(exe) => {
            let shown = started
                .cwd
                .as_ref()
                .and_then(|cwd| exe.strip_prefix(cwd).ok())
                .filter(|rel| rel.components().count() > 1)
                .unwrap_or(exe);
            format!("{} local", sh(&shown.display().to_string()))
        }
        _ => "deployer local".to_owned(),
    }
}

/// A hint per handler of `plan` with a trigger, in the plan's order; `has_sample` says whether
/// the app has its own payload for a handler.
pub fn commands(
    plan: &Plan,
    ctx: &AwsContext,
    send: &SendCommand,
    has_sample: &dyn Fn(&str) -> bool,
) -> Vec<Hint> {
    let sample = SampleContext {
        aws: ctx.clone(),
        now: std::time::UNIX_EPOCH,
    };
    plan.functions
        .iter()
        .filter_map(|function| {
            let handler = function.handler.as_str();
            let origin = Origin::for_handler(plan, handler, &sample)?;
            let payload = if has_sample(handler) {
                format!("payload: {SAMPLES_DIR}/{handler}.json")
            } else {
                "a generic payload".to_owned()
            };
            let about = match &origin {
                Origin::Schedule { .. } => schedule(plan, handler),
                Origin::Rule { .. } => {
                    let name = plan
                        .rules
                        .iter()
                        .find(|r| r.function == handler)
                        .map_or(handler, |r| r.name.as_str());
                    format!("put an event matching rule {name}'s pattern ({payload})")
                }
                Origin::Bucket { bucket, key, .. } => {
                    format!("put {key} in bucket {bucket} ({payload})")
                }
                Origin::Topic { topic_arn } => {
                    format!("publish to topic {} ({payload})", last_field(topic_arn))
                }
                Origin::Queue { queue_arn } => {
                    format!(
                        "send a message to queue {} ({payload})",
                        last_field(queue_arn)
                    )
                }
                Origin::Stream { stream_arn, .. } => {
                    let name = resource(stream_arn);
                    let name = name.strip_prefix("stream/").unwrap_or(name);
                    format!("put a record on stream {name} ({payload})")
                }
                Origin::Table { stream_arn } => {
                    let table = resource(stream_arn)
                        .strip_prefix("table/")
                        .and_then(|rest| rest.split('/').next())
                        .unwrap_or(stream_arn);
                    format!("put an item in table {table} ({payload})")
                }
            };
            Some(Hint {
                handler: handler.to_owned(),
                kind: origin.kind(),
                about,
                command: send.line(handler, origin.kind()),
            })
        })
        .collect()
}

fn schedule(plan: &Plan, handler: &str) -> String {
    let expression = plan
        .rules
        .iter()
        .find(|r| r.function == handler)
        .and_then(|r| r.schedule_expression.as_deref())
        .unwrap_or("its schedule");
    format!(
        "fires on its own at {expression} (UTC); to fire it now (or type `{handler}` and Enter in \
         the runner's terminal):"
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

/// The credentials curl signs with; the emulator accepts any.
const CURL_USER: &str = "testing:testing";

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

    fn rendered() -> String {
        let send = SendCommand::new("deployer local", Path::new("events.chalice"), "dev");
        let has_sample = |h: &str| ["on_order", "on_click", "on_audit", "on_notice"].contains(&h);
        commands(&example_plan(), &ctx(), &send, &has_sample)
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
    fn send_commands_for_the_example_app() {
        insta::assert_snapshot!(rendered());
    }

    #[test]
    fn every_handler_gets_a_hint_of_its_kind() {
        let plan = example_plan();
        let send = SendCommand::new("deployer local", Path::new("events.chalice"), "dev");
        let hints = commands(&plan, &ctx(), &send, &|_| false);
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
        assert_eq!(nightly.command, "deployer local send nightly");
        assert!(
            nightly.about.contains("cron(0 2 * * ? *)"),
            "{}",
            nightly.about
        );
        assert!(hints[5].about.ends_with("(a generic payload)"), "{hints:?}");
    }

    #[test]
    fn send_commands_repeat_the_runners_app_and_stage() {
        let send = SendCommand::new(
            "cargo run --bin deployer -- local",
            Path::new("svc/my app/events.chalice"),
            "prod",
        );
        assert_eq!(
            send.line("on_order", Kind::Queue),
            "cargo run --bin deployer -- local send on_order --sample --stage prod --app 'svc/my app/events.chalice'"
        );
    }

    #[test]
    fn send_commands_are_run_the_way_the_runner_was() {
        let exe = PathBuf::from("/src/chalice-rs/target/debug/deployer");
        let started = Started {
            exe: Some(exe.clone()),
            cwd: Some(PathBuf::from("/src/chalice-rs")),
            ..Started::default()
        };
        // A build run by its path, from the checkout or from elsewhere.
        assert_eq!(program(&started), "target/debug/deployer local");
        let elsewhere = Started {
            cwd: Some(PathBuf::from("/home/me/orders")),
            ..started.clone()
        };
        assert_eq!(
            program(&elsewhere),
            "/src/chalice-rs/target/debug/deployer local"
        );
        // The same executable, found on PATH.
        let installed = Started {
            on_path: Some(exe),
            ..elsewhere.clone()
        };
        assert_eq!(program(&installed), "deployer local");
        // `cargo run`, and scripts/local.sh (which runs `cargo run`) as the user called it.
        let cargo = Started {
            cargo: true,
            ..started.clone()
        };
        assert_eq!(program(&cargo), "cargo run --bin deployer -- local");
        let script = Started {
            script: Some("./scripts/local.sh".into()),
            ..cargo
        };
        assert_eq!(program(&script), "./scripts/local.sh");
        assert_eq!(
            SendCommand::new(&program(&script), Path::new("events.chalice"), "dev")
                .line("nightly", Kind::Schedule),
            "./scripts/local.sh send nightly"
        );
        // Tests run through cargo.
        assert_eq!(
            program(&Started::this_process()),
            "cargo run --bin deployer -- local"
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
}
