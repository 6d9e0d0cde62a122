//! Valid `events.chalice` files load into the expected model; no input ever makes `load` panic.

mod common;

use chalice_codegen::emit_plan::plan;
use chalice_codegen::model::{
    Architecture, LogFormat, LogLevel, Model, NameOrArn, QueueRef, Settings, SettingsPatch, Source,
    StartingPosition, Tracing, Vpc,
};
use chalice_codegen::plan::{Arn, FunctionRole, MappingSource};
use common::{EXAMPLE, example_model};
use proptest::prelude::*;

fn load(src: &str) -> Model {
    chalice_codegen::load("events.chalice", src).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

fn only_source(src: &str) -> Source {
    let model = load(src);
    assert_eq!(model.handlers.len(), 1);
    let h = model.handlers.into_iter().next().unwrap();
    assert_eq!(h.sources.len(), 1, "dev only");
    h.sources.into_values().next().unwrap()
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
    let sources: Vec<&Source> = model
        .handlers
        .iter()
        .filter_map(|h| h.source("dev"))
        .collect();
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
        h.source("dev"),
        Some(&Source::Queue {
            queue: QueueRef::Name("my-queue".into()),
            fifo: false,
            batch_size: 20,
            batching_window_s: Some(1),
            maximum_concurrency: Some(2),
        })
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
    let model = load(
        "app a\nstage prod\nrule r { pattern = { \"source\": [\"x\"] }, bus = \"${app}-${stage}\" }",
    );
    let bus = |stage: &str| match model.handlers[0].source(stage) {
        Some(Source::Rule { bus, .. }) => bus.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (bus("dev").as_deref(), bus("prod").as_deref()),
        (Some("a-dev"), Some("a-prod"))
    );
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

/// Issue #9's contract example.
const CONTRACT: &str = include_str!("fixtures/contract.chalice");

#[test]
fn the_contract_example_validates_and_resolves_per_stage() {
    let model = load(CONTRACT);
    assert_eq!(model.stage_names(), ["dev", "prod"]);
    let on_order = model.handler("on_order").unwrap();
    let on_upload = model.handler("on_upload").unwrap();

    // Sources, resolved for each stage.
    let queue = |stage: &str| match on_order.source(stage) {
        Some(Source::Queue { queue, .. }) => queue.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(queue("dev"), QueueRef::Name("orders-dev".into()));
    assert_eq!(queue("prod"), QueueRef::Name("orders-prod".into()));
    assert!(matches!(
        on_upload.source("prod"),
        Some(Source::Bucket { bucket, .. }) if bucket == "uploads-prod"
    ));
    assert_eq!(on_order.source("staging"), None);

    // Settings: as written in the model, resolved by settings_for.
    assert_eq!(
        model.defaults.policy[0]["Resource"],
        "arn:${partition}:s3:::uploads-${stage}/*"
    );
    let dev = model.settings_for(on_order, "dev");
    assert_eq!(dev.policy.len(), 1);
    assert_eq!(
        dev.policy[0]["Resource"],
        "arn:{partition}:s3:::uploads-dev/*"
    );
    assert_eq!(
        dev.managed_policies,
        ["arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"]
    );
    assert_eq!(dev.role, None);
    assert_eq!(
        (
            dev.log_retention_days,
            dev.log_level,
            dev.log_format,
            dev.tracing
        ),
        (
            Some(14),
            Some(LogLevel::Info),
            LogFormat::Json,
            Tracing::Active
        )
    );
    assert_eq!(
        dev.layers,
        ["arn:aws:lambda:us-east-1:123456789012:layer:ext:3"]
    );
    assert_eq!(dev.ephemeral_storage_mb, 1024);
    assert_eq!(
        dev.vpc,
        Some(Vpc {
            subnet_ids: vec!["subnet-0abc".into()],
            security_group_ids: vec!["sg-0abc".into()],
        })
    );
    let prod = model.settings_for(on_order, "prod");
    assert_eq!(
        prod.role.as_deref(),
        Some("arn:aws:iam::123456789012:role/orders-prod-lambda")
    );
    assert_eq!(prod.log_retention_days, Some(90));
    assert_eq!(
        prod.policy[0]["Resource"],
        "arn:{partition}:s3:::uploads-prod/*"
    );
    let upload = model.settings_for(on_upload, "dev");
    assert_eq!(
        upload.policy.len(),
        1,
        "the binding repeats defaults' statement: granted once"
    );
}

#[test]
fn the_contract_plans_one_role_per_function_in_dev() {
    let model = load(CONTRACT);
    let p = plan(&model, "dev").unwrap();
    assert_eq!(p.roles.len(), 2);
    let sids = |h: &str| -> Vec<String> {
        p.role(h)
            .unwrap()
            .statements
            .iter()
            .map(|s| s.sid.clone())
            .collect()
    };
    // Each role grants its own source only, plus X-Ray and VPC networking (both on).
    assert_eq!(
        sids("on_order"),
        ["Logs", "SqsConsume", "XRayWrite", "VpcNetworkInterfaces"]
    );
    assert_eq!(
        sids("on_upload"),
        ["Logs", "XRayWrite", "VpcNetworkInterfaces"]
    );
    let order = p.role("on_order").unwrap();
    let sqs = order
        .statements
        .iter()
        .find(|s| s.sid == "SqsConsume")
        .unwrap();
    assert_eq!(
        sqs.resources,
        [Arn(
            "arn:{partition}:sqs:{region}:{account}:orders-dev".into()
        )]
    );
    let logs = &order.statements[0];
    assert!(
        logs.resources
            .iter()
            .all(|r| r.as_str().contains("/aws/lambda/orders-dev-on_order")),
        "{logs:?}"
    );
    // The file's statements (resolved) and managed policies, on each own role.
    let statement = serde_json::json!({
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:{partition}:s3:::uploads-dev/*"
    });
    assert_eq!(order.custom_statements, std::slice::from_ref(&statement));
    let upload = p.role("on_upload").unwrap();
    assert_eq!(upload.custom_statements, [statement]);
    for role in &p.roles {
        assert_eq!(
            role.managed_policies,
            [Arn(
                "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess".into()
            )]
        );
    }
    let f = p.function("on_order").unwrap();
    assert_eq!(
        f.role,
        FunctionRole::Own {
            id: "role.on_order".into(),
            arn: order.arn.clone()
        }
    );
    assert_eq!(f.log_group.retention_days, Some(14));
    assert_eq!(
        (f.log_format, f.log_level, f.tracing),
        (LogFormat::Json, Some(LogLevel::Info), Tracing::Active)
    );
    assert_eq!(f.ephemeral_storage_mb, 1024);
    assert_eq!(f.layers.len(), 1);
    assert!(f.vpc.is_some());
}

#[test]
fn the_contract_plans_the_given_role_in_prod() {
    let model = load(CONTRACT);
    let p = plan(&model, "prod").unwrap();
    assert!(p.roles.is_empty(), "prod's functions run as the given role");
    for f in &p.functions {
        let FunctionRole::Given { arn, needs } = &f.role else {
            panic!("{}: {:?}", f.handler, f.role)
        };
        assert_eq!(
            arn.as_str(),
            "arn:aws:iam::123456789012:role/orders-prod-lambda"
        );
        // What its own role would have granted: the deploy checks the given role against it.
        assert!(needs.iter().any(|s| s.sid == "XRayWrite"), "{needs:?}");
        assert_eq!(f.log_group.retention_days, Some(90));
    }
    let order = p.function("on_order").unwrap();
    let FunctionRole::Given { needs, .. } = &order.role else {
        panic!()
    };
    let sids: Vec<&str> = needs.iter().map(|s| s.sid.as_str()).collect();
    assert_eq!(
        sids,
        ["Logs", "SqsConsume", "XRayWrite", "VpcNetworkInterfaces"]
    );
    let MappingSource::Queue { arn } = &p.event_source_mappings[0].source else {
        panic!("{:?}", p.event_source_mappings[0].source)
    };
    assert_eq!(
        arn.as_str(),
        "arn:{partition}:sqs:{region}:{account}:orders-prod"
    );
    assert_eq!(p.bucket_notifications[0].bucket, "uploads-prod");
    let permission = p
        .permissions
        .iter()
        .find(|x| x.function == "on_upload")
        .unwrap();
    assert_eq!(
        permission.source_arn.as_str(),
        "arn:{partition}:s3:::uploads-prod"
    );
}

#[test]
fn a_table_binding_lists_streams_in_a_statement_of_its_own() {
    let src = format!("{CONTRACT}table on_audit \"audit-${{stage}}\"\n");
    let p = plan(&load(&src), "dev").unwrap();
    let role = p.role("on_audit").unwrap();
    let grant = |sid: &str| {
        role.statements
            .iter()
            .find(|s| s.sid == sid)
            .unwrap_or_else(|| panic!("no {sid} in {role:?}"))
    };
    let list = grant("DynamodbListStreams");
    assert_eq!(list.actions, ["dynamodb:ListStreams"]);
    assert_eq!(list.resources, [Arn("*".into())]);
    assert_eq!(
        grant("DynamodbStreamRead").resources,
        [Arn(
            "arn:{partition}:dynamodb:{region}:{account}:table/audit-dev/stream/*".into()
        )]
    );
    assert!(
        p.role("on_order")
            .unwrap()
            .statements
            .iter()
            .all(|s| !s.sid.starts_with("Dynamodb"))
    );
}

#[test]
fn the_new_settings_layer() {
    let model = load(
        r#"
app shop
defaults {
    managed_policies = ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"]
    layers = ["arn:aws:lambda:us-east-1:123456789012:layer:a:1", "arn:aws:lambda:us-east-1:123456789012:layer:b:1"]
    policy = { "Statement": { "Sid": "Base", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*" } }
    log_level = debug
}
stage prod {
    managed_policies = ["arn:aws:iam::aws:policy/B", "arn:${partition}:iam::${account}:policy/${app}-${stage}"]
    layers = ["arn:${partition}:lambda:${region}:${account}:layer:prod_only:7"]
    tracing = active
    log_format = json
}
topic t "t-${stage}" {
    layers = []
    policy = { "Version": "2012-10-17", "Statement": [{ "Sid": "Own", "Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:aws:iam::*:role/*",
               "Condition": { "StringEquals": { "aws:PrincipalTag/team": "${app}" } } }] }
    ephemeral_storage = 10240
    tags { stage = "${stage}", app = "${app}" }
    env { QUEUE = "${app}-${stage}-jobs" }
}
queue q "arn:${partition}:sqs:${region}:${account}:${app}-${stage}" { vpc { subnets = ["subnet-0123456789abcdef0"], security_groups = ["sg-12345678"] } }
"#,
    );
    let t = model.handler("t").unwrap();
    let dev = model.settings_for(t, "dev");
    let prod = model.settings_for(t, "prod");
    // managed_policies accumulate, each once; policy accumulates; layers replace as a list.
    assert_eq!(
        prod.managed_policies,
        [
            "arn:aws:iam::aws:policy/A",
            "arn:aws:iam::aws:policy/B",
            "arn:{partition}:iam::{account}:policy/shop-prod"
        ]
    );
    assert_eq!(dev.managed_policies.len(), 2);
    assert_eq!(prod.policy.len(), 2);
    assert_eq!(
        prod.policy[1]["Condition"]["StringEquals"]["aws:PrincipalTag/team"],
        "shop"
    );
    assert!(prod.layers.is_empty(), "the binding's empty list replaces");
    let q = model.handler("q").unwrap();
    assert_eq!(
        model.settings_for(q, "prod").layers,
        ["arn:{partition}:lambda:{region}:{account}:layer:prod_only:7"]
    );
    assert_eq!(model.settings_for(q, "dev").layers.len(), 2);
    assert_eq!(
        (dev.log_format, dev.tracing, prod.tracing),
        (LogFormat::Json, Tracing::PassThrough, Tracing::Active)
    );
    assert_eq!(prod.ephemeral_storage_mb, 10240);
    assert_eq!(prod.tags["stage"], "prod");
    assert_eq!(prod.tags["app"], "shop");
    assert_eq!(dev.env["QUEUE"], "shop-dev-jobs");
    assert!(matches!(
        q.source("prod"),
        Some(Source::Queue { queue: QueueRef::Arn { arn, name }, .. })
            if arn == "arn:{partition}:sqs:{region}:{account}:shop-prod" && name == "shop-prod"
    ));
    assert!(matches!(
        t.source("dev"),
        Some(Source::Topic { topic: NameOrArn::Name(n) }) if n == "t-dev"
    ));
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
    "policy",
    "managed_policies",
    "role",
    "log_retention",
    "log_level",
    "log_format",
    "tracing",
    "layers",
    "ephemeral_storage",
    "vpc",
    "subnets",
    "security_groups",
    "\"${stage}\"",
    "\"q-${stage}-${app}\"",
    "\"${region}\"",
    "\"${\"",
    "\"${}\"",
    "\"arn:${partition}:sqs:${region}:${account}:q\"",
    "\"arn:aws:iam::123456789012:role/r\"",
    "\"arn:aws:lambda:us-east-1:123456789012:layer:l:1\"",
    "{ \"Statement\": [{ \"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\" }] }",
    "{ \"Statement\": { \"Sid\": \"Logs\" } }",
    "\"Principal\"",
    "[\"subnet-1\"]",
    "info",
    "text",
    "active",
    "14",
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

const DELIVERY: &str = include_str!("fixtures/delivery.chalice");

/// The failure-handling and filters contract loads, without warnings, to the `Delivery` of each binding.
#[test]
fn the_delivery_contract_loads_to_its_delivery_values() {
    use chalice_codegen::model::{
        Delivery, Destination, DestinationKind, FilterPolicy, FilterPolicyScope,
    };
    use serde_json::json;

    let (model, warnings) = chalice_codegen::load_with_warnings("events.chalice", DELIVERY)
        .unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert!(warnings.items.is_empty(), "{}", warnings.render(false));
    let delivery = |name: &str| model.handler(name).unwrap().delivery.clone();
    let to = |kind, name: &str| {
        Some(Destination {
            kind,
            target: NameOrArn::Name(name.to_string()),
        })
    };
    assert_eq!(
        delivery("on_click"),
        Delivery {
            filters: vec![json!({ "data": { "page": [ { "prefix": "/checkout" } ] } })],
            maximum_retry_attempts: Some(3),
            maximum_age_s: Some(3600),
            bisect_on_error: Some(true),
            parallelization_factor: Some(2),
            tumbling_window_s: Some(30),
            on_failure: to(DestinationKind::Queue, "clicks-failed-${stage}"),
            ..Delivery::default()
        }
    );
    assert_eq!(
        model
            .delivery_for(model.handler("on_click").unwrap(), "dev")
            .on_failure,
        to(DestinationKind::Queue, "clicks-failed-dev"),
        "variables resolve per stage"
    );
    assert_eq!(
        delivery("on_audit"),
        Delivery {
            filters: vec![json!({ "eventName": ["INSERT", "MODIFY"] })],
            on_failure: to(DestinationKind::Topic, "alerts"),
            ..Delivery::default()
        }
    );
    assert_eq!(
        delivery("on_order"),
        Delivery {
            filters: vec![json!({ "body": { "type": ["order"] } })],
            ..Delivery::default()
        }
    );
    assert_eq!(
        delivery("on_notice"),
        Delivery {
            filter_policy: Some(FilterPolicy {
                policy: json!({ "kind": ["shipped"] }),
                scope: FilterPolicyScope::MessageBody,
            }),
            ..Delivery::default()
        }
    );
    assert_eq!(
        delivery("on_upload"),
        Delivery {
            maximum_retry_attempts: Some(0),
            maximum_age_s: Some(3600),
            on_failure: to(DestinationKind::Queue, "dead"),
            ..Delivery::default()
        }
    );
    assert_eq!(
        delivery("nightly"),
        Delivery {
            maximum_retry_attempts: Some(1),
            on_failure: to(DestinationKind::Topic, "alerts"),
            ..Delivery::default()
        }
    );
}

/// The contract's plan in `dev`: mappings with their filters and failure handling, invoke configs of
/// the asynchronous functions, the subscription's filter policy, and the roles' destination grants.
#[test]
fn the_delivery_contract_plans_filters_retries_and_destinations() {
    use chalice_codegen::plan::{
        Destination, DestinationKind, FilterPolicy, FilterPolicyScope, InvokeConfig, StreamFailure,
    };

    let model = load(DELIVERY);
    let p = plan(&model, "dev").unwrap();
    let arn = |s: &str| Arn(s.to_string());
    let click = p.mapping("on_click").unwrap();
    assert_eq!(
        click.filters,
        [r#"{"data":{"page":[{"prefix":"/checkout"}]}}"#]
    );
    assert_eq!(
        click.stream_failure,
        Some(StreamFailure {
            maximum_retry_attempts: 3,
            maximum_record_age_s: 3600,
            bisect_on_error: true,
            parallelization_factor: 2,
            tumbling_window_s: 30,
            on_failure: Some(Destination {
                kind: DestinationKind::Queue,
                arn: arn("arn:{partition}:sqs:{region}:{account}:clicks-failed-dev"),
            }),
        })
    );
    let audit = p.mapping("on_audit").unwrap();
    assert_eq!(audit.filters, [r#"{"eventName":["INSERT","MODIFY"]}"#]);
    assert_eq!(
        audit.stream_failure,
        Some(StreamFailure {
            on_failure: Some(Destination {
                kind: DestinationKind::Topic,
                arn: arn("arn:{partition}:sns:{region}:{account}:alerts"),
            }),
            ..StreamFailure::default()
        })
    );
    let order = p.mapping("on_order").unwrap();
    assert_eq!(order.filters, [r#"{"body":{"type":["order"]}}"#]);
    assert_eq!(
        order.stream_failure, None,
        "a queue has no stream failure handling"
    );

    assert_eq!(
        p.invoke_configs,
        [
            InvokeConfig {
                id: "invoke_config.on_upload".into(),
                function: "on_upload".into(),
                maximum_retry_attempts: 0,
                maximum_event_age_s: 3600,
                on_failure: Some(Destination {
                    kind: DestinationKind::Queue,
                    arn: arn("arn:{partition}:sqs:{region}:{account}:dead"),
                }),
            },
            InvokeConfig {
                id: "invoke_config.nightly".into(),
                function: "nightly".into(),
                maximum_retry_attempts: 1,
                maximum_event_age_s: 21_600,
                on_failure: Some(Destination {
                    kind: DestinationKind::Topic,
                    arn: arn("arn:{partition}:sns:{region}:{account}:alerts"),
                }),
            },
        ]
    );
    assert_eq!(
        p.invoke_config("on_notice"),
        None,
        "a topic binding without retries or destination"
    );
    let subscription = p
        .subscriptions
        .iter()
        .find(|s| s.function == "on_notice")
        .unwrap();
    assert_eq!(
        subscription.filter_policy,
        Some(FilterPolicy {
            policy: r#"{"kind":["shipped"]}"#.into(),
            scope: FilterPolicyScope::MessageBody,
        })
    );

    let grants = |handler: &str| -> Vec<(String, Vec<String>, Vec<String>)> {
        p.role(handler)
            .unwrap()
            .statements
            .iter()
            .filter(|s| s.sid.starts_with("Failure"))
            .map(|s| {
                (
                    s.sid.clone(),
                    s.actions.clone(),
                    s.resources.iter().map(|r| r.0.clone()).collect(),
                )
            })
            .collect()
    };
    let one = |sid: &str, action: &str, resource: &str| {
        vec![(
            sid.to_string(),
            vec![action.to_string()],
            vec![resource.to_string()],
        )]
    };
    assert_eq!(
        grants("on_click"),
        one(
            "FailureQueue",
            "sqs:SendMessage",
            "arn:{partition}:sqs:{region}:{account}:clicks-failed-dev"
        )
    );
    assert_eq!(
        grants("on_audit"),
        one(
            "FailureTopic",
            "sns:Publish",
            "arn:{partition}:sns:{region}:{account}:alerts"
        )
    );
    assert_eq!(
        grants("on_upload"),
        one(
            "FailureQueue",
            "sqs:SendMessage",
            "arn:{partition}:sqs:{region}:{account}:dead"
        )
    );
    assert_eq!(
        grants("nightly"),
        one(
            "FailureTopic",
            "sns:Publish",
            "arn:{partition}:sns:{region}:{account}:alerts"
        )
    );
    assert!(grants("on_order").is_empty() && grants("on_notice").is_empty());
}

/// Filters that can never match load (they may be the user's call) with a warning each, rendered like
/// rustc's; `load` ignores them.
#[test]
fn never_matching_filters_load_with_warnings() {
    let src = r#"app a
table t "orders" { filter = [ { "eventName": ["Insert"] }, { "dynamodb": { "Keys": { "id": ["x"] } } } ] }
stream s "clicks" { filter = { "data": ["abc"] } }
queue q "q" { filter = { "body": ["plain text"] } }
"#;
    assert!(chalice_codegen::load("events.chalice", src).is_ok());
    let (model, warnings) = chalice_codegen::load_with_warnings("events.chalice", src).unwrap();
    assert_eq!(model.handlers.len(), 3);
    let at: Vec<(chalice_codegen::ErrorKind, (usize, usize))> = warnings
        .items
        .iter()
        .map(|w| (w.kind, warnings.line_col(w.span.start)))
        .collect();
    use chalice_codegen::ErrorKind::UnmatchableFilter;
    assert_eq!(
        at,
        [
            (UnmatchableFilter, (2, 47)),
            (UnmatchableFilter, (2, 92)),
            (UnmatchableFilter, (3, 40)),
        ]
    );
    assert!(warnings.items.iter().all(|w| w.is_warning()));
    let text = warnings.render(false);
    assert!(
        text.starts_with("warning[W001]: `eventName` is never `Insert`"),
        "{text}"
    );
    assert!(text.contains("┌─ events.chalice:2:47"), "{text}");
    assert!(
        text.contains("help: event names are upper case: `\"INSERT\"`"),
        "{text}"
    );
    assert!(
        text.ends_with("warning: `events.chalice` generated 3 warnings\n"),
        "{text}"
    );
}

/// `7d` is a duration in days, wherever a duration is taken.
#[test]
fn durations_in_days() {
    let model = load("app a\nstream s \"x\" { maximum_record_age = 7d }\n");
    assert_eq!(model.handlers[0].delivery.maximum_age_s, Some(604_800));
    let model =
        load("app a\nstream s \"x\" { maximum_record_age = -1, maximum_retry_attempts = -1 }\n");
    assert_eq!(model.handlers[0].delivery.maximum_age_s, Some(-1));
    assert_eq!(model.handlers[0].delivery.maximum_retry_attempts, Some(-1));
}
