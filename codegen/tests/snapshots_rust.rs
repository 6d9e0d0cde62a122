//! Snapshots of the generated Rust for hand-built models (no parser involved), so a change to the
//! shape users implement shows up as a reviewed diff. Whether the output compiles, and what rustc
//! says when a handler is missing, is checked by `runtime/tests/trybuild.rs`.

mod common;

use std::collections::BTreeMap;

use chalice_codegen::emit_rust::emit;
use chalice_codegen::model::{Handler, Model, QueueRef, Settings, Source};
use common::{EXAMPLE, example_model, handler};

fn model(app: &str, handlers: Vec<Handler>) -> Model {
    Model {
        app: app.into(),
        defaults: Settings::default(),
        stages: BTreeMap::new(),
        handlers,
    }
}

/// The example app: one binding of every kind (two schedules), in file order.
fn every_kind() -> Model {
    example_model(EXAMPLE)
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
fn declarations_are_shown_without_their_comment() {
    let plain = every_kind();
    let mut commented = plain.clone();
    for h in &mut commented.handlers {
        h.declaration = EXAMPLE.lines().nth(h.line - 1).unwrap().to_string();
    }
    assert_eq!(
        commented
            .handlers
            .iter()
            .filter(|h| h.declaration.contains(" # "))
            .count(),
        3
    );
    assert_eq!(emit(&commented), emit(&plain));
}

#[test]
fn output_is_deterministic() {
    let m = every_kind();
    assert_eq!(emit(&m), emit(&m.clone()));
}
