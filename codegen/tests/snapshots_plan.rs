//! Snapshot of the deploy plan for an app using every kind of event source.
//!
//! The app is `fixtures/every_kind.chalice`; [`every_kind`] builds the same model by hand, so the plan is
//! pinned both through the parser and validator and without them (a failure in only one says which side).

use std::collections::BTreeMap;

use chalice_codegen::emit_plan::plan;
use chalice_codegen::model::{
    Architecture, Handler, Model, NameOrArn, QueueRef, RateUnit, Schedule, Settings, SettingsPatch,
    Source, StartingPosition,
};

/// A binding with the same source in `dev` and `prod`.
fn handler(name: &str, line: usize, source: Source) -> Handler {
    Handler {
        name: name.to_string(),
        line,
        declaration: String::new(),
        kind: source.kind(),
        sources: ["dev", "prod"]
            .into_iter()
            .map(|stage| (stage.to_string(), source.clone()))
            .collect(),
        settings: SettingsPatch::default(),
        delivery: Default::default(),
    }
}

const EVERY_KIND: &str = include_str!("fixtures/every_kind.chalice");

/// `fixtures/every_kind.chalice`, built by hand.
fn every_kind() -> Model {
    let mut defaults = Settings {
        memory_mb: 256,
        timeout_s: 60,
        ..Settings::default()
    };
    defaults.env.insert("LOG_LEVEL".into(), "info".into());
    let prod = SettingsPatch {
        memory_mb: Some(512),
        ..Default::default()
    };
    let mut nightly = handler(
        "nightly",
        11,
        Source::Schedule {
            expression: Schedule::Cron {
                fields: ["0", "2", "*", "*", "?", "*"].map(String::from),
            },
            description: Some("Nightly report".into()),
        },
    );
    nightly.settings.timeout_s = Some(300);
    nightly.settings.architecture = Some(Architecture::Arm64);
    nightly
        .settings
        .tags
        .insert("team".into(), "reports".into());
    Model {
        app: "orders".into(),
        defaults,
        stages: BTreeMap::from([("prod".to_string(), prod)]),
        handlers: vec![
            handler(
                "every_hour",
                10,
                Source::Schedule {
                    expression: Schedule::Rate {
                        value: 1,
                        unit: RateUnit::Hour,
                    },
                    description: None,
                },
            ),
            nightly,
            handler(
                "code_commit",
                13,
                Source::Rule {
                    pattern: serde_json::json!({"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"]}),
                    bus: None,
                    description: None,
                },
            ),
            handler(
                "audit_events",
                14,
                Source::Rule {
                    pattern: serde_json::json!({"source": ["my.app"]}),
                    bus: Some("audit".into()),
                    description: Some("Audit trail".into()),
                },
            ),
            handler(
                "on_upload",
                15,
                Source::Bucket {
                    bucket: "mybucket-name".into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    prefix: Some("images/".into()),
                    suffix: Some(".png".into()),
                },
            ),
            handler(
                "on_notice",
                16,
                Source::Topic {
                    topic: NameOrArn::Name("my-demo-topic".into()),
                },
            ),
            handler(
                "on_order",
                17,
                Source::Queue {
                    queue: QueueRef::Name("my-queue".into()),
                    fifo: false,
                    batch_size: 10,
                    batching_window_s: Some(5),
                    maximum_concurrency: None,
                },
            ),
            handler(
                "on_job",
                18,
                Source::Queue {
                    queue: QueueRef::Url {
                        url: "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs.fifo".into(),
                        region: "eu-west-1".into(),
                        account: "111122223333".into(),
                        name: "jobs.fifo".into(),
                    },
                    fifo: true,
                    batch_size: 10,
                    batching_window_s: None,
                    maximum_concurrency: Some(4),
                },
            ),
            handler(
                "on_click",
                19,
                Source::Stream {
                    stream: NameOrArn::Name("mystream".into()),
                    batch_size: 100,
                    starting_position: StartingPosition::TrimHorizon,
                    batching_window_s: None,
                },
            ),
            handler(
                "on_audit",
                20,
                Source::Table {
                    table: NameOrArn::Name("orders".into()),
                    batch_size: 100,
                    starting_position: StartingPosition::Latest,
                    batching_window_s: None,
                },
            ),
            handler(
                "on_legacy",
                21,
                Source::Table {
                    table: NameOrArn::Arn(
                        "arn:aws:dynamodb:us-east-1:111122223333:table/legacy/stream/2024-01-01T00:00:00.000".into(),
                    ),
                    batch_size: 50,
                    starting_position: StartingPosition::TrimHorizon,
                    batching_window_s: Some(1),
                },
            ),
        ],
    }
}

#[test]
fn plan_for_every_kind() {
    let model =
        chalice_codegen::load("every_kind.chalice", EVERY_KIND).unwrap_or_else(|d| panic!("{d}"));
    let plan = plan(&model, "prod").unwrap();
    insta::assert_json_snapshot!("plan_every_kind_prod", plan);
}

#[test]
fn plan_for_every_kind_built_by_hand() {
    let plan = plan(&every_kind(), "prod").unwrap();
    insta::assert_json_snapshot!("plan_every_kind_prod", plan);
}

const CONTRACT: &str = include_str!("fixtures/contract.chalice");

/// Issue #9's contract: in `dev` each function has its own role with the file's statements and managed
/// policies; in `prod` every function runs as the given role and no role is made.
#[test]
fn plans_of_the_contract() {
    let model =
        chalice_codegen::load("contract.chalice", CONTRACT).unwrap_or_else(|d| panic!("{d}"));
    insta::assert_json_snapshot!("plan_contract_dev", plan(&model, "dev").unwrap());
    insta::assert_json_snapshot!("plan_contract_prod", plan(&model, "prod").unwrap());
}

const DELIVERY: &str = include_str!("fixtures/delivery.chalice");

/// The failure-handling and filters contract in `dev`: mapping filters and stream failure handling,
/// invoke configs, the subscription's filter policy, destination grants.
#[test]
fn plan_of_the_delivery_contract() {
    let model =
        chalice_codegen::load("delivery.chalice", DELIVERY).unwrap_or_else(|d| panic!("{d}"));
    insta::assert_json_snapshot!("plan_delivery_dev", plan(&model, "dev").unwrap());
}

#[test]
fn fixture_parses() {
    let (_, diagnostics) = chalice_codegen::parse::parse(EVERY_KIND);
    assert_eq!(diagnostics, []);
}

#[test]
fn plan_round_trips_through_json() {
    let plan = plan(&every_kind(), "dev").unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let back: chalice_codegen::Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn typed_schedules_match_their_expressions() {
    let plan = plan(&every_kind(), "dev").unwrap();
    let mut schedules = 0;
    for rule in &plan.rules {
        let typed = rule.schedule.as_ref().map(|s| s.expression());
        assert_eq!(typed, rule.schedule_expression, "{}", rule.id);
        schedules += usize::from(typed.is_some());
    }
    assert_eq!(schedules, 2);
}

#[test]
fn a_plan_written_before_typed_schedules_still_loads() {
    let plan = plan(&every_kind(), "dev").unwrap();
    let mut json = serde_json::to_value(&plan).unwrap();
    for rule in json["rules"].as_array_mut().unwrap() {
        rule.as_object_mut().unwrap().remove("schedule");
    }
    let old: chalice_codegen::Plan = serde_json::from_value(json).unwrap();
    assert!(old.rules.iter().all(|r| r.schedule.is_none()));
    assert_eq!(
        old.rules[0].schedule_expression.as_deref(),
        Some("rate(1 hour)")
    );
}
