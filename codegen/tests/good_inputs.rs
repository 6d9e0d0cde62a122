//! Valid `events.chalice` files load into the expected model; no input ever makes `load` panic.

mod common;

use chalice_codegen::model::{
    Architecture, Model, NameOrArn, QueueRef, Settings, SettingsPatch, Source, StartingPosition,
};
use common::{EXAMPLE, example_model};
use proptest::prelude::*;

fn load(src: &str) -> Model {
    chalice_codegen::load("events.chalice", src).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

fn only_source(src: &str) -> Source {
    let model = load(src);
    assert_eq!(model.handlers.len(), 1);
    model.handlers.into_iter().next().unwrap().source
}

#[test]
fn the_example_loads_to_the_expected_model() {
    let model = load(EXAMPLE);
    assert_eq!(model, example_model(EXAMPLE));
    // Where each binding is, and its declaration as the generated docs show it.
    let declared: Vec<(usize, &str)> = model
        .handlers
        .iter()
        .map(|h| (h.line, h.declaration.as_str()))
        .collect();
    assert_eq!(
        declared,
        [
            (12, "schedule every_hour  rate(1 hour)"),
            (
                13,
                r#"schedule nightly     cron(0 2 * * ? *) { description = "Nightly report" }"#
            ),
            (
                15,
                r#"rule code_commit { pattern = { "source": ["aws.codecommit"] } }"#
            ),
            (
                17,
                r#"bucket on_upload "mybucket-name" { events = ["s3:ObjectCreated:*"], prefix = "images/", suffix = ".png" }"#
            ),
            (18, r#"topic  on_notice "my-demo-topic""#),
            (
                19,
                r#"queue  on_order  "my-queue" { batch_size = 10, batching_window = 5s }"#
            ),
            (
                20,
                r#"stream on_click  "mystream" { starting_position = trim_horizon }"#
            ),
            (
                21,
                r#"table  on_audit  "orders"   { starting_position = latest }"#
            ),
        ]
    );
    let prod = model.settings_for(&model.handlers[0], "prod");
    assert_eq!((prod.memory_mb, prod.timeout_s), (512, 60));
    assert_eq!(model.settings_for(&model.handlers[0], "dev").memory_mb, 256);
}

#[test]
fn the_example_laid_out_differently_loads_to_the_same_app() {
    // The bindings first, a blank line between each, then the stage and the defaults on one line.
    let kinds = [
        "schedule", "rule", "bucket", "topic", "queue", "stream", "table",
    ];
    let bindings: Vec<&str> = EXAMPLE
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| kinds.contains(&w))
        })
        .collect();
    assert_eq!(bindings.len(), 8);
    let relaid = format!(
        "app orders\n\n{}\n\nstage prod {{ memory = 512 }}\ndefaults {{ memory = 256, timeout = 60s, env {{ LOG_LEVEL = \"info\" }} }}\n",
        bindings.join("\n\n")
    );
    let model = load(&relaid);
    assert_eq!(model, example_model(&relaid));
    assert_eq!(model.handlers[1].line, 5);
    assert_ne!(model, example_model(EXAMPLE));
}

#[test]
fn the_every_kind_fixture_loads() {
    let model = load(include_str!("fixtures/every_kind.chalice"));
    assert_eq!(model.handlers.len(), 11);
}

#[test]
fn built_in_defaults_apply_when_nothing_is_set() {
    let model = load(
        "app a\nbucket b \"bkt\"\nqueue q \"q\"\nqueue f \"f.fifo\"\nstream s \"s\"\ntable t \"tbl\"\nrule r { pattern = { \"source\": [\"x\"] } }\n",
    );
    assert_eq!(model.defaults, Settings::default());
    assert!(model.stages.is_empty());
    assert_eq!(model.stage_names(), ["dev"]);
    let sources: Vec<&Source> = model.handlers.iter().map(|h| &h.source).collect();
    assert_eq!(
        sources[0],
        &Source::Bucket {
            bucket: "bkt".into(),
            events: vec!["s3:ObjectCreated:*".into()],
            prefix: None,
            suffix: None
        }
    );
    assert!(matches!(
        sources[1],
        Source::Queue {
            batch_size: 10,
            fifo: false,
            batching_window_s: None,
            maximum_concurrency: None,
            ..
        }
    ));
    assert!(matches!(
        sources[2],
        Source::Queue {
            batch_size: 10,
            fifo: true,
            ..
        }
    ));
    assert!(matches!(
        sources[3],
        Source::Stream {
            batch_size: 100,
            starting_position: StartingPosition::Latest,
            ..
        }
    ));
    assert!(matches!(
        sources[4],
        Source::Table {
            batch_size: 100,
            starting_position: StartingPosition::Latest,
            ..
        }
    ));
    assert!(matches!(
        sources[5],
        Source::Rule {
            bus: None,
            description: None,
            ..
        }
    ));
    for h in &model.handlers {
        assert_eq!(h.settings, SettingsPatch::default(), "{}", h.name);
    }
}

#[test]
fn every_setting_and_layer() {
    let model = load(
        r#"
app shop
defaults {
    memory = 128, timeout = 1s, reserved_concurrency = 0, architecture = x86_64,
    env = { "A_1": "x", "SHARED": "defaults" },
    tags { team = "core", "cost-center" = "a b_c.d:e/f=g+h-i@j" }
}
stage prod { memory = 10240, timeout = 15m, env { SHARED = "prod" }, architecture = arm64 }
stage staging
topic t "t" { reserved_concurrency = 5, env { SHARED = "binding" }, tags = { "team": "edge" } }
"#,
    );
    assert_eq!(model.defaults.memory_mb, 128);
    assert_eq!(model.defaults.timeout_s, 1);
    assert_eq!(model.defaults.reserved_concurrency, Some(0));
    assert_eq!(model.defaults.tags["cost-center"], "a b_c.d:e/f=g+h-i@j");
    assert_eq!(model.stage_names(), ["dev", "prod", "staging"]);
    let prod = &model.stages["prod"];
    assert_eq!(
        (prod.memory_mb, prod.timeout_s, prod.architecture),
        (Some(10240), Some(900), Some(Architecture::Arm64))
    );
    assert_eq!(model.stages["staging"], SettingsPatch::default());
    let t = &model.handlers[0];
    let s = model.settings_for(t, "prod");
    assert_eq!(s.env["SHARED"], "binding");
    assert_eq!(s.env["A_1"], "x");
    assert_eq!(s.tags["team"], "edge");
    assert_eq!(
        (s.memory_mb, s.reserved_concurrency, s.architecture),
        (10240, Some(5), Architecture::Arm64)
    );
    assert_eq!(model.settings_for(t, "staging").memory_mb, 128);
}

#[test]
fn trailing_commas_comments_and_odd_whitespace() {
    let src = "\u{FEFF}# leading comment\r\n\r\n   app\t\todd   # trailing\r\n\n\n  queue\n   on_order\n  \"my-queue\"   # the queue\n{\n\tbatch_size = 20,\n\n  batching_window = 1s , # comment\n   maximum_concurrency = 2,\n}\n\n\n# done\n";
    let model = load(src);
    assert_eq!(model.app, "odd");
    let h = &model.handlers[0];
    assert_eq!((h.line, h.declaration.as_str()), (6, "queue"));
    assert_eq!(
        h.source,
        Source::Queue {
            queue: QueueRef::Name("my-queue".into()),
            fifo: false,
            batch_size: 20,
            batching_window_s: Some(1),
            maximum_concurrency: Some(2),
        }
    );
    let model = load("app a topic t \"x\" queue q \"y\" {batch_size=1,}stream s \"z\"{}");
    assert_eq!(model.handlers.len(), 3);
    assert_eq!(model.handlers[2].declaration, "stream s \"z\"{}");
}

#[test]
fn names_urls_and_arns() {
    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders";
    assert_eq!(
        only_source(&format!("app a\nqueue q \"{url}\"")),
        Source::Queue {
            queue: QueueRef::Url {
                url: url.into(),
                region: "us-east-1".into(),
                account: "123456789012".into(),
                name: "orders".into()
            },
            fifo: false,
            batch_size: 10,
            batching_window_s: None,
            maximum_concurrency: None,
        }
    );
    let arn = "arn:aws:sqs:eu-central-1:123456789012:jobs.fifo";
    assert!(matches!(
        only_source(&format!("app a\nqueue q \"{arn}\" {{ batch_size = 10 }}")),
        Source::Queue { queue: QueueRef::Arn { name, .. }, fifo: true, batch_size: 10, .. } if name == "jobs.fifo"
    ));
    assert!(matches!(
        only_source("app a\nqueue q \"https://us-west-2.queue.amazonaws.com/123456789012/legacy\""),
        Source::Queue { queue: QueueRef::Url { name, .. }, .. } if name == "legacy"
    ));
    let topic = "arn:aws-cn:sns:cn-north-1:123456789012:alerts";
    assert_eq!(
        only_source(&format!("app a\ntopic t \"{topic}\"")),
        Source::Topic {
            topic: NameOrArn::Arn(topic.into())
        }
    );
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks";
    assert!(matches!(
        only_source(&format!(
            "app a\nstream s \"{stream}\" {{ batch_size = 10000, batching_window = 300s }}"
        )),
        Source::Stream {
            stream: NameOrArn::Arn(_),
            batch_size: 10000,
            batching_window_s: Some(300),
            ..
        }
    ));
    assert!(matches!(
        only_source("app a\nstream s \"s\" { starting_position = at_timestamp(\"2026-01-01T00:00:00Z\") }"),
        Source::Stream { starting_position: StartingPosition::AtTimestamp(t), .. } if t == "2026-01-01T00:00:00Z"
    ));
    let bus = "arn:aws:events:us-east-1:123456789012:event-bus/audit";
    assert!(matches!(
        only_source(&format!("app a\nrule r {{ pattern = {{ \"source\": [\"x\"] }}, bus = \"{bus}\" }}")),
        Source::Rule { bus: Some(b), .. } if b == bus
    ));
    assert!(matches!(
        only_source("app a\nrule r { pattern = { \"source\": [\"x\"] }, bus = \"default\" }"),
        Source::Rule { bus: None, .. }
    ));
}

#[test]
fn schedules() {
    let cases = [
        ("rate(1 minute)", "rate(1 minute)"),
        ("rate(5 minutes)", "rate(5 minutes)"),
        ("rate(1 day)", "rate(1 day)"),
        ("rate(12 hours)", "rate(12 hours)"),
        (
            "cron(0/15 8-17 ? * MON-FRI *)",
            "cron(0/15 8-17 ? * MON-FRI *)",
        ),
        ("cron(0 9 L * ? *)", "cron(0 9 L * ? *)"),
        ("cron(0 9 LW * ? *)", "cron(0 9 LW * ? *)"),
        ("cron(0 9 15W * ? *)", "cron(0 9 15W * ? *)"),
        ("cron(0 9 ? * 6L *)", "cron(0 9 ? * 6L *)"),
        ("cron(0 9 ? * 2#3 2026-2030)", "cron(0 9 ? * 2#3 2026-2030)"),
        ("cron(0 0 1,15 JAN-JUN ? *)", "cron(0 0 1,15 JAN-JUN ? *)"),
    ];
    for (written, expression) in cases {
        let Source::Schedule { expression: e, .. } =
            only_source(&format!("app a\nschedule s {written}"))
        else {
            panic!("{written}")
        };
        assert_eq!(e.expression(), expression);
    }
}

#[test]
fn rules_keep_the_pattern_as_written() {
    let Source::Rule {
        pattern,
        description,
        ..
    } = only_source(
        r#"app a
rule r {
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": { "name": ["b"] },
            "object": { "key": [{ "prefix": "in/" }, { "suffix": ".csv" }], "size": [{ "numeric": [">", 0, "<=", 1048576] }] },
            "reason": [{ "anything-but": ["a", "b"] }], "x": [{ "exists": true }], "ip": [{ "cidr": "10.0.0.0/8" }],
            "y": [{ "equals-ignore-case": "Q" }, { "wildcard": "*.txt" }, null, 1.5, false],
        },
        "$or": [{ "account": ["111122223333"] }, { "region": ["us-east-1"] }],
    },
    description = "",
}"#,
    )
    else {
        panic!()
    };
    assert_eq!(description.as_deref(), Some(""));
    let keys: Vec<&str> = pattern
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["source", "detail-type", "detail", "$or"],
        "member order as written"
    );
    assert_eq!(
        pattern["detail"]["object"]["size"][0]["numeric"][3],
        1048576
    );
}

#[test]
fn buckets_that_do_not_overlap() {
    let model = load(
        r#"app a
bucket images "bkt" { prefix = "images/" }
bucket docs   "bkt" { prefix = "docs/" }
bucket pngs   "bkt" { suffix = ".png", prefix = "raw/" }
bucket jpgs   "bkt" { suffix = ".jpg", prefix = "raw/" }
bucket gone   "bkt" { events = ["s3:ObjectRemoved:*", "s3:ObjectRestore:Completed"] }
bucket tagged "bkt" { events = ["s3:ObjectTagging:Put", "s3:ObjectAcl:Put", "s3:LifecycleTransition", "s3:IntelligentTiering"] }
bucket other  "other.bucket-2" { events = ["s3:ObjectCreated:Put", "s3:Replication:*", "s3:LifecycleExpiration:DeleteMarkerCreated"] }
"#,
    );
    assert_eq!(model.handlers.len(), 7);
}

#[test]
fn long_names_that_still_fit() {
    let handler = "h".repeat(64 - "orders-dev-".len());
    let model = load(&format!("app orders\ntopic {handler} \"t\""));
    assert_eq!(model.function_name("dev", &handler).len(), 64);
    let handler = "h".repeat(64 - "orders-prod-".len());
    assert!(
        chalice_codegen::load(
            "e",
            &format!("app orders\nstage prod\ntopic {handler} \"t\"")
        )
        .is_ok()
    );
}

const WORDS: &[&str] = &[
    "app",
    "defaults",
    "stage",
    "schedule",
    "rule",
    "bucket",
    "topic",
    "queue",
    "stream",
    "table",
    "orders",
    "prod",
    "h",
    "_",
    "type",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    ",",
    ":",
    "#",
    "\n",
    " ",
    "\"",
    "\"x\"",
    "\"s3:ObjectCreated:*\"",
    "rate(1 hour)",
    "rate(5 minute)",
    "cron(0 2 * * ? *)",
    "cron(* * * * * *)",
    "rate(",
    "cron(",
    "memory",
    "timeout",
    "env",
    "tags",
    "reserved_concurrency",
    "architecture",
    "arm64",
    "description",
    "pattern",
    "bus",
    "events",
    "prefix",
    "suffix",
    "batch_size",
    "batching_window",
    "maximum_concurrency",
    "starting_position",
    "trim_horizon",
    "latest",
    "at_timestamp(\"2026-01-01T00:00:00Z\")",
    "at_timestamp(",
    "60s",
    "500ms",
    "5m",
    "1h",
    "-1",
    "0",
    "10001",
    "99999999999999999999",
    "1.5e3",
    "true",
    "null",
    "{ \"source\": [\"a\"] }",
    "{ \"$or\": [] }",
    "\"prefix\"",
    "\\",
    "\"\\u12\"",
    "é",
    "\u{FEFF}",
    "\t",
    "\r\n",
    "\"a.fifo\"",
    "\"arn:aws:sqs:us-east-1:123456789012:q\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let src = String::from_utf8_lossy(&bytes);
        if let Err(d) = chalice_codegen::load("events.chalice", &src) {
            prop_assert!(!d.items.is_empty());
            let _ = d.render(false);
        }
    }

    #[test]
    fn random_text_never_panics(src in "\\PC{0,200}") {
        if let Err(d) = chalice_codegen::load("events.chalice", &src) {
            let _ = d.render(true);
        }
    }

    #[test]
    fn token_soup_never_panics(picks in proptest::collection::vec(0..WORDS.len(), 0..60), spaced in any::<bool>()) {
        let sep = if spaced { " " } else { "" };
        let src: Vec<&str> = picks.iter().map(|&i| WORDS[i]).collect();
        let src = src.join(sep);
        if let Err(d) = chalice_codegen::load("events.chalice", &src) {
            prop_assert!(!d.items.is_empty());
            for item in &d.items {
                prop_assert!(item.span.start <= item.span.end, "{:?}", item);
                prop_assert!(item.span.end <= src.len(), "{:?}", item);
            }
            let _ = d.render(false);
        }
    }

    #[test]
    fn valid_prefix_with_soup_never_panics(picks in proptest::collection::vec(0..WORDS.len(), 0..40)) {
        let soup: Vec<&str> = picks.iter().map(|&i| WORDS[i]).collect();
        let src = format!("app orders\nqueue q \"x\" {{ {} }}\ntopic t \"y\"\n", soup.join(" "));
        let _ = chalice_codegen::load("events.chalice", &src);
    }
}
