//! Snapshots of the generated Rust for hand-built models (no parser involved), so a change to the
//! shape users implement shows up as a reviewed diff. Whether the output compiles, and what rustc
//! says when a handler is missing, is checked by the root crate's `tests/trybuild.rs`.

use std::collections::BTreeMap;

use chalice_codegen::emit_rust::emit;
use chalice_codegen::model::{
    Handler, Model, NameOrArn, QueueRef, RateUnit, Schedule, Settings, SettingsPatch, Source,
    StartingPosition,
};

fn handler(name: &str, line: usize, declaration: &str, source: Source) -> Handler {
    Handler {
        name: name.into(),
        line,
        declaration: declaration.into(),
        source,
        settings: SettingsPatch::default(),
    }
}

fn model(app: &str, handlers: Vec<Handler>) -> Model {
    Model {
        app: app.into(),
        defaults: Settings::default(),
        stages: BTreeMap::new(),
        handlers,
    }
}

/// One binding of every kind, in the order DESIGN.md §2 declares them.
fn every_kind() -> Model {
    model(
        "orders",
        vec![
            handler(
                "every_hour",
                12,
                "schedule every_hour  rate(1 hour)",
                Source::Schedule {
                    expression: Schedule::Rate {
                        value: 1,
                        unit: RateUnit::Hour,
                    },
                    description: None,
                },
            ),
            handler(
                "code_commit",
                15,
                r#"rule code_commit { pattern = { "source": ["aws.codecommit"] } }     # JSON event pattern"#,
                Source::Rule {
                    pattern: serde_json::json!({ "source": ["aws.codecommit"] }),
                    bus: None,
                    description: None,
                },
            ),
            handler(
                "on_upload",
                17,
                r#"bucket on_upload "mybucket-name" { events = ["s3:ObjectCreated:*"], prefix = "images/", suffix = ".png" }"#,
                Source::Bucket {
                    bucket: "mybucket-name".into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    prefix: Some("images/".into()),
                    suffix: Some(".png".into()),
                },
            ),
            handler(
                "on_notice",
                18,
                r#"topic  on_notice "my-demo-topic"                                      # topic name or ARN"#,
                Source::Topic {
                    topic: NameOrArn::Name("my-demo-topic".into()),
                },
            ),
            handler(
                "on_order",
                19,
                r#"queue  on_order  "my-queue" { batch_size = 10, batching_window = 5s }"#,
                Source::Queue {
                    queue: QueueRef::Name("my-queue".into()),
                    fifo: false,
                    batch_size: 10,
                    batching_window_s: Some(5),
                    maximum_concurrency: None,
                },
            ),
            handler(
                "on_click",
                20,
                r#"stream on_click  "mystream" { starting_position = trim_horizon }"#,
                Source::Stream {
                    stream: NameOrArn::Name("mystream".into()),
                    batch_size: 100,
                    starting_position: StartingPosition::TrimHorizon,
                    batching_window_s: None,
                },
            ),
            handler(
                "on_audit",
                21,
                r#"table  on_audit  "orders"   { starting_position = latest }            # table name or stream ARN"#,
                Source::Table {
                    table: NameOrArn::Name("orders".into()),
                    batch_size: 100,
                    starting_position: StartingPosition::Latest,
                    batching_window_s: None,
                },
            ),
        ],
    )
}

#[test]
fn every_kind_of_handler() {
    insta::assert_snapshot!("every_kind", emit(&every_kind()));
}

#[test]
fn one_fifo_queue_with_a_keyword_name() {
    let m = model(
        "billing",
        vec![handler(
            "r#match",
            3,
            r#"queue match "https://sqs.eu-west-1.amazonaws.com/123456789012/invoices.fifo""#,
            Source::Queue {
                queue: QueueRef::Url {
                    url: "https://sqs.eu-west-1.amazonaws.com/123456789012/invoices.fifo".into(),
                    region: "eu-west-1".into(),
                    account: "123456789012".into(),
                    name: "invoices.fifo".into(),
                },
                fifo: true,
                batch_size: 10,
                batching_window_s: None,
                maximum_concurrency: None,
            },
        )],
    );
    // Names the validator would refuse: the emitter must still produce valid Rust, never panic.
    let mut keyword = m.clone();
    keyword.handlers[0].name = "match".into();
    insta::assert_snapshot!("keyword_queue", emit(&keyword));
    let raw = emit(&m);
    assert!(raw.contains("fn r#match("), "{raw}");
    let mut odd = m.clone();
    odd.handlers[0].name = "not-an-ident".into();
    let odd = emit(&odd);
    assert!(odd.contains("fn handler_not_an_ident("), "{odd}");
    syn::parse_file(odd.split_once("\n\n").unwrap().1).unwrap();
}

#[test]
fn no_handlers() {
    insta::assert_snapshot!("no_handlers", emit(&model("empty", vec![])));
}

#[test]
fn output_is_deterministic() {
    let m = every_kind();
    assert_eq!(emit(&m), emit(&m.clone()));
}
