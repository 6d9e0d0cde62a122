//! The example app's model, built by hand (no parser involved), shared by the tests that need it.

use std::collections::BTreeMap;

use chalice_codegen::model::{
    DEFAULT_STAGE, Handler, Model, NameOrArn, QueueRef, RateUnit, Schedule, Settings,
    SettingsPatch, Source, StartingPosition,
};

/// The example app file: one binding of every kind and two schedules (the repository's
/// `events.chalice` as it was written, kept here so that editing the app does not move the tests).
pub const EXAMPLE: &str = r#"# events.chalice: the event sources of one app
app orders                               # resources are named <app>-<stage>-<handler>

defaults {                               # function settings; a binding's block may override any of them
    memory  = 256                        # MB
    timeout = 60s
    env { LOG_LEVEL = "info" }
}

stage prod { memory = 512 }              # `deployer deploy --stage prod`

schedule every_hour  rate(1 hour)
schedule nightly     cron(0 2 * * ? *) { description = "Nightly report" }

rule code_commit { pattern = { "source": ["aws.codecommit"] } }     # JSON event pattern

bucket on_upload "mybucket-name" { events = ["s3:ObjectCreated:*"], prefix = "images/", suffix = ".png" }
topic  on_notice "my-demo-topic"                                      # topic name or ARN
queue  on_order  "my-queue" { batch_size = 10, batching_window = 5s }
stream on_click  "mystream" { starting_position = trim_horizon }
table  on_audit  "orders"   { starting_position = latest }            # table name or stream ARN
"#;

/// A binding with no settings of its own, in an app with no stage but `dev`.
pub fn handler(name: &str, line: usize, declaration: &str, source: Source) -> Handler {
    Handler {
        name: name.into(),
        line,
        declaration: declaration.into(),
        kind: source.kind(),
        sources: BTreeMap::from([(DEFAULT_STAGE.to_string(), source)]),
        settings: SettingsPatch::default(),
        delivery: Default::default(),
    }
}

/// The model of [`EXAMPLE`]'s app, its bindings declared in `source`: each handler's line and
/// declaration are those of the line where `KIND NAME` starts in it (as the parser records them:
/// the line without its comment), so the same app laid out differently builds its own model.
pub fn example_model(source: &str) -> Model {
    let mut defaults = Settings {
        memory_mb: 256,
        timeout_s: 60,
        ..Settings::default()
    };
    defaults.env.insert("LOG_LEVEL".into(), "info".into());
    let bindings = [
        (
            "every_hour",
            Source::Schedule {
                expression: Schedule::Rate {
                    value: 1,
                    unit: RateUnit::Hour,
                },
                description: None,
            },
        ),
        (
            "nightly",
            Source::Schedule {
                expression: Schedule::Cron {
                    fields: ["0", "2", "*", "*", "?", "*"].map(String::from),
                },
                description: Some("Nightly report".into()),
            },
        ),
        (
            "code_commit",
            Source::Rule {
                pattern: serde_json::json!({ "source": ["aws.codecommit"] }),
                bus: None,
                description: None,
            },
        ),
        (
            "on_upload",
            Source::Bucket {
                bucket: "mybucket-name".into(),
                events: vec!["s3:ObjectCreated:*".into()],
                prefix: Some("images/".into()),
                suffix: Some(".png".into()),
            },
        ),
        (
            "on_notice",
            Source::Topic {
                topic: NameOrArn::Name("my-demo-topic".into()),
            },
        ),
        (
            "on_order",
            Source::Queue {
                queue: QueueRef::Name("my-queue".into()),
                fifo: false,
                batch_size: 10,
                batching_window_s: Some(5),
                maximum_concurrency: None,
            },
        ),
        (
            "on_click",
            Source::Stream {
                stream: NameOrArn::Name("mystream".into()),
                batch_size: 100,
                starting_position: StartingPosition::TrimHorizon,
                batching_window_s: None,
            },
        ),
        (
            "on_audit",
            Source::Table {
                table: NameOrArn::Name("orders".into()),
                batch_size: 100,
                starting_position: StartingPosition::Latest,
                batching_window_s: None,
            },
        ),
    ];
    Model {
        app: "orders".into(),
        defaults,
        stages: BTreeMap::from([(
            "prod".to_string(),
            SettingsPatch {
                memory_mb: Some(512),
                ..SettingsPatch::default()
            },
        )]),
        handlers: bindings
            .into_iter()
            .map(|(name, binding)| {
                let (line, declaration) = declared_in(source, binding.kind().keyword(), name);
                let mut h = handler(name, line, &declaration, binding.clone());
                h.sources.insert("prod".to_string(), binding);
                h
            })
            .collect(),
    }
}

/// The 1-based line where `KEYWORD NAME` starts in `source`, and that line without its comment.
fn declared_in(source: &str, keyword: &str, name: &str) -> (usize, String) {
    source
        .lines()
        .enumerate()
        .find_map(|(i, line)| {
            let mut words = line.split_whitespace();
            (words.next() == Some(keyword) && words.next() == Some(name))
                .then(|| (i + 1, without_comment(line)))
        })
        .unwrap_or_else(|| panic!("`{keyword} {name}` is not declared in:\n{source}"))
}

/// `line` up to a `#` outside a string, trimmed.
fn without_comment(line: &str) -> String {
    let mut in_string = false;
    let mut escaped = false;
    let end = line
        .char_indices()
        .find_map(|(i, c)| {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => return Some(i),
                _ => {}
            }
            None
        })
        .unwrap_or(line.len());
    line[..end].trim().to_string()
}
