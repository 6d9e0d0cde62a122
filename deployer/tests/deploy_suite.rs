//! The live deployer (`deploy`, `plan`, `delete`) run as a binary against a private moto server per test,
//! through a counting, fault-injecting proxy; every resource is then read back with the AWS SDK for Rust.
//! Needs moto: `scripts/moto.sh` (the tests fail, never skip, without it). What the deployer must hold to:
//! a deploy makes exactly the plan real and converges whatever fails or is killed on the way, a no-op
//! redeploy writes nothing, bad input is one clear error before any write, drift is repaired, and
//! `delete` removes the app and nothing of anyone else's.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_deployer::aws::{CallKind, Clients, error_code};
use chalice_deployer::project::package::CodePackage;
use serde_json::{Value, json};

use support::aws::{clients_at, function_arn, queue_arn, role_arn, stream_arn, topic_arn};
use support::checks::{Problems, filter_rules};
use support::deployer::Run;
use support::fault_proxy::{Fault, FaultProxy, Faults, Kind, Outcome};
use support::fixtures::{create_function, create_role};
use support::inventory::{Inventory, list_mappings, list_subscriptions};
use support::moto::{self, Moto};
use support::policy::{condition_value, glob, string_set};
use support::project::plan_of;
use support::world::{
    APP_V1, APP_V2, APP_V3, BUCKET, BUS, RUN_TIMEOUT, World, state_has_resources,
};

/// The seed of injected faults: `FAULT_SEED` to replay another run's faults.
fn fault_seed() -> u64 {
    std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c4a1)
}

// ---------------------------------------------------------------------------------------------------
// The proxy itself: it must name operations as the SDK does and fail calls the way AWS would.

/// SDK clients whose requests go through `endpoint`, with `attempts` quick retries.
async fn clients_via(endpoint: String, attempts: u32) -> Clients {
    let retry = RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(20));
    clients_at(&endpoint, Some(retry)).await
}

#[tokio::test]
async fn proxy_names_every_operation_as_the_sdk_does() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let c = clients_via(proxy.endpoint(), 1).await;
    let zip = CodePackage::from_binary(b"code").unwrap().zip;

    c.sts.get_caller_identity().send().await.unwrap();
    let role = create_role(&c, "r").await;
    assert_eq!(role, role_arn("r"));
    c.iam.get_role().role_name("r").send().await.unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}]}"#;
    c.iam
        .put_role_policy()
        .role_name("r")
        .policy_name("p")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    c.iam
        .get_role_policy()
        .role_name("r")
        .policy_name("p")
        .send()
        .await
        .unwrap();
    c.iam.list_role_tags().role_name("r").send().await.unwrap();
    let q = c.sqs.create_queue().queue_name("q").send().await.unwrap();
    let q = q.queue_url().unwrap().to_owned();
    c.sqs
        .get_queue_attributes()
        .queue_url(&q)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    c.s3.create_bucket()
        .bucket("proxy-bucket")
        .send()
        .await
        .unwrap();
    c.s3.head_bucket()
        .bucket("proxy-bucket")
        .send()
        .await
        .unwrap();
    // (moto answers GetBucketNotificationConfiguration on a bucket without any entry with a
    // `GetBucketNotificationResponse` root the SDK cannot parse: put an entry first.)
    let entry = aws_sdk_s3::types::QueueConfiguration::builder()
        .queue_arn(queue_arn("q"))
        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
        .build()
        .unwrap();
    c.s3.put_bucket_notification_configuration()
        .bucket("proxy-bucket")
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(entry)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.s3.get_bucket_notification_configuration()
        .bucket("proxy-bucket")
        .send()
        .await
        .unwrap();
    c.s3.put_object()
        .bucket("proxy-bucket")
        .key("a/b.zip")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    c.s3.head_object()
        .bucket("proxy-bucket")
        .key("a/b.zip")
        .send()
        .await
        .unwrap();
    c.s3.list_objects_v2()
        .bucket("proxy-bucket")
        .send()
        .await
        .unwrap();
    c.s3.delete_object()
        .bucket("proxy-bucket")
        .key("a/b.zip")
        .send()
        .await
        .unwrap();
    c.s3.list_buckets().send().await.unwrap();
    let topic = c.sns.create_topic().name("t").send().await.unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    c.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn("q"))
        .send()
        .await
        .unwrap();
    c.sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    c.sns
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    create_function(&c, "f", &role, "f", b"code").await;
    c.lambda
        .get_function()
        .function_name("f")
        .send()
        .await
        .unwrap();
    c.lambda
        .update_function_configuration()
        .function_name("f")
        .memory_size(512)
        .send()
        .await
        .unwrap();
    c.lambda
        .update_function_code()
        .function_name("f")
        .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
        .send()
        .await
        .unwrap();
    c.lambda
        .add_permission()
        .function_name("f")
        .statement_id("s")
        .action("lambda:InvokeFunction")
        .principal("sns.amazonaws.com")
        .source_arn(&topic)
        .send()
        .await
        .unwrap();
    c.lambda
        .get_policy()
        .function_name("f")
        .send()
        .await
        .unwrap();
    c.lambda
        .remove_permission()
        .function_name("f")
        .statement_id("s")
        .send()
        .await
        .unwrap();
    c.lambda
        .put_function_concurrency()
        .function_name("f")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    let m = c
        .lambda
        .create_event_source_mapping()
        .function_name("f")
        .event_source_arn(queue_arn("q"))
        .batch_size(5)
        .send()
        .await
        .unwrap();
    let uuid = m.uuid().unwrap().to_owned();
    c.lambda
        .list_event_source_mappings()
        .function_name("f")
        .send()
        .await
        .unwrap();
    c.lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    c.lambda
        .update_event_source_mapping()
        .uuid(&uuid)
        .batch_size(6)
        .send()
        .await
        .unwrap();
    c.lambda
        .delete_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    c.lambda
        .tag_resource()
        .resource(function_arn("f"))
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    c.lambda
        .list_tags()
        .resource(function_arn("f"))
        .send()
        .await
        .unwrap();
    c.lambda
        .delete_function()
        .function_name("f")
        .send()
        .await
        .unwrap();
    c.eventbridge
        .create_event_bus()
        .name("b")
        .send()
        .await
        .unwrap();
    c.eventbridge
        .put_rule()
        .name("rl")
        .schedule_expression("rate(1 hour)")
        .send()
        .await
        .unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("t1")
        .arn(function_arn("f"))
        .build()
        .unwrap();
    c.eventbridge
        .put_targets()
        .rule("rl")
        .targets(target)
        .send()
        .await
        .unwrap();
    c.eventbridge
        .describe_rule()
        .name("rl")
        .send()
        .await
        .unwrap();
    c.eventbridge
        .list_targets_by_rule()
        .rule("rl")
        .send()
        .await
        .unwrap();
    c.eventbridge
        .list_rules()
        .name_prefix("r")
        .send()
        .await
        .unwrap();
    c.eventbridge
        .remove_targets()
        .rule("rl")
        .ids("t1")
        .send()
        .await
        .unwrap();
    c.eventbridge.delete_rule().name("rl").send().await.unwrap();
    c.kinesis
        .create_stream()
        .stream_name("s")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    c.kinesis
        .describe_stream_summary()
        .stream_name("s")
        .send()
        .await
        .unwrap();
    c.dynamodb.list_tables().send().await.unwrap();
    // A failed call is still a request.
    c.lambda
        .get_function()
        .function_name("nope")
        .send()
        .await
        .unwrap_err();

    let sdk: Vec<(String, Kind)> = c
        .calls()
        .calls()
        .iter()
        .map(|x| {
            let kind = if x.kind == CallKind::Read {
                Kind::Read
            } else {
                Kind::Write
            };
            (x.operation.clone(), kind)
        })
        .collect();
    let log = proxy.log();
    let seen: Vec<(String, Kind)> = log
        .requests
        .iter()
        .map(|r| (r.operation.clone(), r.kind))
        .collect();
    assert_eq!(
        seen, sdk,
        "the proxy must name and classify each request as the SDK's call counter does"
    );
    let services: BTreeSet<&str> = log.requests.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(
        services,
        BTreeSet::from([
            "dynamodb", "events", "iam", "kinesis", "lambda", "s3", "sns", "sqs", "sts"
        ])
    );
    let (last, rest) = log.requests.split_last().unwrap();
    assert_eq!(last.outcome, Some(Outcome::Forwarded(404)));
    for r in rest {
        assert!(
            matches!(r.outcome, Some(Outcome::Forwarded(200..=299))),
            "{r}: {:?}",
            r.outcome
        );
    }
    assert_eq!(log.writes(), c.calls().writes());
    assert_eq!(log.of("lambda.AddPermission"), 1);
}

/// One read per service through `c`; each call's error code (`None` when it succeeded or had none).
async fn one_read_per_service(c: &Clients) -> Vec<(&'static str, Option<String>)> {
    fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R, T>(
        r: Result<T, aws_sdk_sqs::error::SdkError<E, R>>,
    ) -> Option<String> {
        r.err()
            .map(|e| error_code(&e).unwrap_or("<no code>").to_owned())
    }
    vec![
        ("sts", code(c.sts.get_caller_identity().send().await)),
        ("iam", code(c.iam.list_roles().send().await)),
        ("sns", code(c.sns.list_topics().send().await)),
        ("sqs", code(c.sqs.list_queues().send().await)),
        ("events", code(c.eventbridge.list_rules().send().await)),
        ("kinesis", code(c.kinesis.list_streams().send().await)),
        ("dynamodb", code(c.dynamodb.list_tables().send().await)),
        ("lambda", code(c.lambda.list_functions().send().await)),
        ("s3", code(c.s3.list_buckets().send().await)),
    ]
}

fn expect_codes(codes: [&str; 9]) -> Vec<(&'static str, Option<String>)> {
    [
        "sts", "iam", "sns", "sqs", "events", "kinesis", "dynamodb", "lambda", "s3",
    ]
    .into_iter()
    .zip(codes)
    .map(|(s, c)| (s, Some(c.to_owned())))
    .collect()
}

#[tokio::test]
async fn proxy_faults_are_retried_and_coded_as_aws_would() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let direct = moto.clients().await;

    // Throttling: each protocol's own code, and the SDK retries it.
    let c = clients_via(proxy.endpoint(), 3).await;
    proxy.set_faults(Faults {
        throttle_pct: 100,
        ..Faults::NONE
    });
    let codes = one_read_per_service(&c).await;
    assert_eq!(
        codes,
        expect_codes([
            "Throttling",
            "Throttling",
            "Throttling",
            "ThrottlingException",
            "ThrottlingException",
            "ThrottlingException",
            "ThrottlingException",
            "TooManyRequestsException",
            "SlowDown",
        ])
    );
    for call in c.calls().calls() {
        assert_eq!(
            call.attempts, 3,
            "{call} was not retried as a throttling error"
        );
    }
    assert_eq!(proxy.log().injected(), 27);

    // 500s: retried too.
    let c = clients_via(proxy.endpoint(), 3).await;
    proxy.set_faults(Faults {
        server_error_pct: 100,
        ..Faults::NONE
    });
    let codes = one_read_per_service(&c).await;
    assert_eq!(
        codes,
        expect_codes([
            "InternalFailure",
            "InternalFailure",
            "InternalFailure",
            "InternalFailure",
            "InternalFailure",
            "InternalFailure",
            "InternalFailure",
            "ServiceException",
            "InternalError",
        ])
    );
    for call in c.calls().calls() {
        assert_eq!(call.attempts, 3, "{call} was not retried as a server error");
    }

    // A connection dropped before forwarding: retried, and nothing happened.
    let c = clients_via(proxy.endpoint(), 3).await;
    proxy.set_faults(Faults {
        drop_before_pct: 100,
        ..Faults::NONE
    });
    let err = c
        .sqs
        .create_queue()
        .queue_name("never-made")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error().is_none(),
        "a dropped connection is not a service error: {err:?}"
    );
    assert_eq!(
        c.calls().calls()[0].attempts,
        3,
        "a dropped connection must be retried"
    );
    assert!(
        direct
            .sqs
            .get_queue_url()
            .queue_name("never-made")
            .send()
            .await
            .is_err()
    );

    // A lost answer: the write happened though the client saw only errors; reads still pass.
    let c = clients_via(proxy.endpoint(), 3).await;
    proxy.set_faults(Faults {
        drop_after_pct: 100,
        writes_only: true,
        ..Faults::NONE
    });
    c.sqs
        .create_queue()
        .queue_name("made-anyway")
        .send()
        .await
        .unwrap_err();
    assert_eq!(c.calls().calls()[0].attempts, 3);
    direct
        .sqs
        .get_queue_url()
        .queue_name("made-anyway")
        .send()
        .await
        .unwrap();
    c.sqs.list_queues().send().await.unwrap();
    let log = proxy.log();
    assert_eq!(
        log.requests
            .iter()
            .filter(|r| matches!(r.outcome, Some(Outcome::DroppedAfter(200))))
            .count(),
        3
    );
}

#[test]
fn fault_choice_is_deterministic_and_near_the_share() {
    let faults = Faults {
        seed: 42,
        throttle_pct: 7,
        server_error_pct: 7,
        drop_before_pct: 6,
        ..Faults::NONE
    };
    let picks = |f: &Faults| -> Vec<Option<Fault>> {
        (0..2000u64)
            .map(|i| f.pick(&format!("lambda.Op{}", i % 13), i / 13, Kind::Write))
            .collect()
    };
    let a = picks(&faults);
    assert_eq!(a, picks(&faults), "same seed, same faults");
    assert_ne!(
        a,
        picks(&Faults { seed: 43, ..faults }),
        "another seed, other faults"
    );
    let hits = a.iter().flatten().count();
    assert!(
        (300..=500).contains(&hits),
        "{hits} of 2000 faulted, want about 400"
    );
    for kind in [Fault::Throttle, Fault::ServerError, Fault::DropBefore] {
        assert!(a.contains(&Some(kind)), "{kind:?} never chosen");
    }
    assert!(!a.contains(&Some(Fault::DropAfter)));
    let writes_only = Faults {
        writes_only: true,
        ..faults
    };
    assert!((0..500).all(|n| writes_only.pick("sqs.ListQueues", n, Kind::Read).is_none()));
    assert!((0..500).all(|n| {
        Faults::NONE
            .pick("sqs.CreateQueue", n, Kind::Write)
            .is_none()
    }));
}

// ---------------------------------------------------------------------------------------------------
// Deploy, no-op redeploy, plan, delete.

/// `(create, update, delete)` from the `Plan: A to create, U to update, D to delete.` line.
fn plan_summary(stdout: &str) -> Option<(usize, usize, usize)> {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Plan: "))?;
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match numbers.as_slice() {
        [c, u, d] => Some((*c, *u, *d)),
        _ => None,
    }
}

/// Change lines starting with `sign` (`+ create`, `~ update`, `- delete`).
fn change_lines<'a>(stdout: &'a str, sign: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with(sign))
        .collect()
}

/// The change lines of `stdout` agree with its summary line.
fn assert_plan_consistent(run: &Run) -> (usize, usize, usize) {
    let summary = plan_summary(&run.stdout).unwrap_or_else(|| {
        panic!(
            "no `Plan: A to create, U to update, D to delete.` line:\n{}",
            run.describe()
        )
    });
    // The artifacts bucket and code zips are counted apart, on the `Artifacts:` line.
    let app = |sign: &str| {
        change_lines(&run.stdout, sign)
            .iter()
            .filter(|l| !l.contains(" s3_bucket ") && !l.contains(" s3_object "))
            .count()
    };
    let counted = (app("+ create "), app("~ update "), app("- delete "));
    assert_eq!(
        summary,
        counted,
        "summary vs change lines:\n{}",
        run.describe()
    );
    summary
}

/// The fields an update block of `stdout` (starting with `header`) lists.
fn update_fields<'a>(stdout: &'a str, header: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip_while(|l| l.trim_start() != header)
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .filter_map(|l| l.trim_start().split(':').next())
        .collect()
}

fn mentions(lines: &[&str], name: &str) -> bool {
    lines.iter().any(|l| {
        l.split_whitespace()
            .any(|w| w == name || w.starts_with(&format!("{name}/")))
    })
}

#[tokio::test]
async fn deploy_checks_every_resource_then_noop_plan_and_delete() {
    let w = World::new().await;

    let before = w.plan();
    before.assert_success().assert_no_writes();
    let (creates, updates, deletes) = assert_plan_consistent(&before);
    assert!(
        creates >= 9 * 3 && updates == 0 && deletes == 0,
        "{}",
        before.describe()
    );

    let deploy = w.deploy();
    eprintln!("{}", deploy.describe()); // shown with --nocapture
    deploy.assert_success();
    w.assert_deployed(APP_V1, &deploy).await;
    let spot = spot_check_v1(&w.inventory().await);
    assert!(
        spot.is_empty(),
        "spot checks failed:\n  {}\n{}",
        spot.join("\n  "),
        deploy.describe()
    );
    for f in plan_of(APP_V1).functions {
        let arn = function_arn(&f.name);
        assert!(
            deploy.output().contains(&arn),
            "the summary should list {arn}:\n{}",
            deploy.describe()
        );
    }
    assert!(
        state_has_resources(&w.state_file()),
        "no deploy record at {}",
        w.state_file().display()
    );

    let again = w.deploy();
    again.assert_success().assert_no_writes();
    w.assert_deployed(APP_V1, &again).await;

    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    assert!(
        plan.stdout
            .contains("No changes. Everything is up to date."),
        "{}",
        plan.describe()
    );
    // The contract's form, without the code comparison.
    let bare = w.run(&["plan"]);
    bare.assert_success().assert_no_writes();
    assert!(
        bare.stdout
            .contains("No changes. Everything is up to date."),
        "{}",
        bare.describe()
    );
    let json = w.run(&["plan", "--json"]);
    json.assert_success().assert_no_writes();
    serde_json::from_str::<Value>(&json.stdout).unwrap_or_else(|e| {
        panic!(
            "`plan --json` stdout is not JSON ({e}):\n{}",
            json.describe()
        )
    });

    let delete = w.delete();
    eprintln!("{}", delete.describe()); // shown with --nocapture
    delete.assert_success();
    w.assert_nothing_deployed(&delete).await;
    assert!(
        !state_has_resources(&w.state_file()),
        "the deploy record still lists resources"
    );

    let again = w.delete();
    again.assert_success().assert_no_writes();
    w.assert_nothing_deployed(&again).await;
    let said = again.output().to_lowercase();
    assert!(
        ["nothing", "no resources", "already"]
            .iter()
            .any(|s| said.contains(s)),
        "a second delete should say there is nothing to delete:\n{}",
        again.describe()
    );
}

/// The first version checked against literal expectations (not the plan), so a planning mistake shows.
fn spot_check_v1(inv: &Inventory) -> Vec<String> {
    let mut p = Problems::default();
    spot_check_rules(inv, &mut p);
    permission(
        inv,
        &mut p,
        "on_upload",
        "s3.amazonaws.com",
        &format!("arn:aws:s3:::{BUCKET}"),
        Some(moto::ACCOUNT),
    );
    permission(
        inv,
        &mut p,
        "on_notice",
        "sns.amazonaws.com",
        &topic_arn("suite-notices"),
        None,
    );
    spot_check_bucket_and_topic(inv, &mut p);
    spot_check_mappings(inv, &mut p);
    spot_check_role_policy(inv, &mut p);
    spot_check_functions(inv, &mut p);
    p.0
}

/// `suite-dev-{h}`'s ARN.
fn f(h: &str) -> String {
    function_arn(&format!("suite-dev-{h}"))
}

/// The rules: schedule, pattern, description, target and permission of each.
fn spot_check_rules(inv: &Inventory, p: &mut Problems) {
    let account = moto::ACCOUNT;
    let rule_arn = |bus: Option<&str>, h: &str| match bus {
        None => format!("arn:aws:events:us-east-1:{account}:rule/suite-dev-{h}"),
        Some(b) => format!("arn:aws:events:us-east-1:{account}:rule/{b}/suite-dev-{h}"),
    };
    for (h, bus, schedule, pattern, description) in [
        ("every_hour", None, Some("rate(1 hour)"), None, None),
        (
            "nightly",
            None,
            Some("cron(0 2 * * ? *)"),
            None,
            Some("Nightly report"),
        ),
        (
            "code_commit",
            None,
            None,
            Some(
                json!({"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"]}),
            ),
            None,
        ),
        (
            "audit_events",
            Some(BUS),
            None,
            Some(json!({"source": ["my.app"]})),
            None,
        ),
    ] {
        let name = format!("suite-dev-{h}");
        let Some(rule) = inv.rules.get(&(bus.map(str::to_owned), name.clone())) else {
            p.push(format!("rule {name} missing"));
            continue;
        };
        let d = &rule.describe;
        p.eq(
            &format!("{name} ARN"),
            d.arn().map(str::to_owned),
            Some(rule_arn(bus, h)),
        );
        p.eq(
            &format!("{name} schedule"),
            d.schedule_expression(),
            schedule,
        );
        p.eq(
            &format!("{name} pattern"),
            d.event_pattern()
                .map(|s| serde_json::from_str::<Value>(s).unwrap_or_default()),
            pattern,
        );
        p.eq(
            &format!("{name} description"),
            d.description().filter(|s| !s.is_empty()),
            description,
        );
        p.eq(
            &format!("{name} target ARNs"),
            rule.targets
                .iter()
                .map(|(_, arn)| arn.clone())
                .collect::<Vec<_>>(),
            vec![f(h)],
        );
        let source = rule_arn(bus, h);
        permission(inv, p, h, "events.amazonaws.com", &source, None);
    }
}

/// on_upload's entry on the bucket, on_notice's subscription to its topic.
fn spot_check_bucket_and_topic(inv: &Inventory, p: &mut Problems) {
    let ours: Vec<_> = inv
        .notification(BUCKET)
        .lambda_function_configurations()
        .iter()
        .filter(|c| c.lambda_function_arn() == f("on_upload"))
        .collect();
    p.eq("notification entries for on_upload", ours.len(), 1);
    if let Some(c) = ours.first() {
        p.eq(
            "on_upload events",
            c.events()
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect::<Vec<_>>(),
            vec!["s3:ObjectCreated:*".to_owned()],
        );
        let mut rules = filter_rules(c);
        rules.sort();
        p.eq(
            "on_upload filter",
            rules,
            vec![
                ("prefix".into(), "images/".into()),
                ("suffix".into(), ".png".into()),
            ],
        );
    }

    let subs: Vec<_> = inv
        .subscriptions_of("suite-notices")
        .iter()
        .filter(|s| s.protocol() == Some("lambda"))
        .map(|s| s.endpoint().unwrap_or("").to_owned())
        .collect();
    p.eq(
        "lambda subscriptions on suite-notices",
        subs,
        vec![f("on_notice")],
    );
}

/// The mappings of on_order, on_click and on_audit.
fn spot_check_mappings(inv: &Inventory, p: &mut Problems) {
    let audit_stream = inv.table_streams["suite-audit"].clone();
    for (h, source, batch, window, position) in [
        ("on_order", queue_arn("suite-orders"), 10, Some(5), None),
        (
            "on_click",
            stream_arn("suite-clicks"),
            100,
            None,
            Some("TRIM_HORIZON"),
        ),
        ("on_audit", audit_stream, 100, None, Some("LATEST")),
    ] {
        let found = inv.mappings_of(&f(h));
        p.eq(&format!("{h} mapping count"), found.len(), 1);
        let Some(m) = found.first() else { continue };
        p.eq(
            &format!("{h} source"),
            m.event_source_arn(),
            Some(source.as_str()),
        );
        p.eq(&format!("{h} batch size"), m.batch_size(), Some(batch));
        p.eq(
            &format!("{h} batching window"),
            m.maximum_batching_window_in_seconds().filter(|w| *w != 0),
            window,
        );
        p.eq(
            &format!("{h} starting position"),
            m.starting_position().map(|s| s.as_str()),
            position,
        );
        p.eq(
            &format!("{h} response types"),
            m.function_response_types()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>(),
            vec!["ReportBatchItemFailures"],
        );
    }
}

/// Each function's own role grants what its source needs, on that source only, and nothing another
/// function's source needs: least privilege per function.
fn spot_check_role_policy(inv: &Inventory, p: &mut Problems) {
    let account = moto::ACCOUNT;
    let statements_of = |handler: &str| -> Vec<Value> {
        inv.roles
            .get(&format!("suite-dev-{handler}"))
            .and_then(|r| r.policies.get(&format!("suite-dev-{handler}")))
            .and_then(|doc| doc.get("Statement"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let grants = |handler: &str, action: &str, resource: &str| {
        statements_of(handler).iter().any(|s| {
            s.get("Effect").and_then(Value::as_str) == Some("Allow")
                && string_set(s.get("Action")).contains(action)
                && string_set(s.get("Resource"))
                    .iter()
                    .any(|r| glob(r, resource))
        })
    };
    let table_stream = inv.table_streams["suite-audit"].clone();
    let needs = [
        ("on_order", "sqs:ReceiveMessage", queue_arn("suite-orders")),
        ("on_order", "sqs:DeleteMessage", queue_arn("suite-orders")),
        ("on_click", "kinesis:GetRecords", stream_arn("suite-clicks")),
        ("on_audit", "dynamodb:GetRecords", table_stream.clone()),
        ("on_audit", "dynamodb:ListStreams", "*".to_string()),
    ];
    for (handler, action, resource) in &needs {
        if !grants(handler, action, resource) {
            p.push(format!(
                "{handler}'s role does not grant {action} on {resource}: {:?}",
                statements_of(handler)
            ));
        }
        for other in ["on_order", "on_click", "on_audit", "every_hour"] {
            if other != *handler && grants(other, action, resource) {
                p.push(format!(
                    "{other}'s role grants {handler}'s {action} on {resource}"
                ));
            }
        }
    }
    let log = |h: &str| {
        format!("arn:aws:logs:us-east-1:{account}:log-group:/aws/lambda/suite-dev-{h}:log-stream:x")
    };
    if !grants("on_order", "logs:PutLogEvents", &log("on_order")) {
        p.push("on_order's role cannot write its logs".into());
    }
    if grants("on_order", "logs:PutLogEvents", &log("on_click")) {
        p.push("on_order's role can write on_click's logs".into());
    }
    // Only ListStreams (no resource-level permission) is granted on every resource.
    for handler in ["on_order", "on_click", "on_audit", "every_hour"] {
        let wildcard: Vec<Value> = statements_of(handler)
            .into_iter()
            .filter(|s| string_set(s.get("Resource")).contains("*"))
            .filter(|s| {
                string_set(s.get("Action")) != BTreeSet::from(["dynamodb:ListStreams".to_string()])
            })
            .collect();
        if !wildcard.is_empty() {
            p.push(format!(
                "{handler}'s role grants on every resource: {wildcard:?}"
            ));
        }
    }
}

/// Each function's handler, runtime, memory, timeout, environment and tags.
fn spot_check_functions(inv: &Inventory, p: &mut Problems) {
    for h in [
        "every_hour",
        "nightly",
        "code_commit",
        "audit_events",
        "on_upload",
        "on_notice",
        "on_order",
        "on_click",
        "on_audit",
    ] {
        let name = format!("suite-dev-{h}");
        let Some(function) = inv.functions.get(&name) else {
            p.push(format!("{name} missing"));
            continue;
        };
        let c = function.config().unwrap();
        p.eq(&format!("{name} handler"), c.handler(), Some(h));
        p.eq(
            &format!("{name} runtime"),
            c.runtime().map(|r| r.as_str()),
            Some("provided.al2023"),
        );
        p.eq(&format!("{name} memory"), c.memory_size(), Some(256));
        p.eq(&format!("{name} timeout"), c.timeout(), Some(60));
        p.eq(
            &format!("{name} LOG_LEVEL"),
            c.environment()
                .and_then(|e| e.variables())
                .and_then(|v| v.get("LOG_LEVEL"))
                .map(String::as_str),
            Some("info"),
        );
        p.eq(
            &format!("{name} tags"),
            function.get.tags().map(|t| {
                (
                    t.get("chalice:app").cloned(),
                    t.get("chalice:stage").cloned(),
                )
            }),
            Some((Some("suite".to_owned()), Some("dev".to_owned()))),
        );
    }
}

/// The function of handler `h` has exactly one statement letting `principal` invoke it from `source`.
fn permission(
    inv: &Inventory,
    p: &mut Problems,
    h: &str,
    principal: &str,
    source: &str,
    account: Option<&str>,
) {
    let name = format!("suite-dev-{h}");
    let function = inv.functions.get(&name);
    let Some(policy) = function.and_then(|f| f.policy.clone()) else {
        let code = function.and_then(|f| f.policy_error.as_deref());
        p.push(format!("{name} has no resource policy: {code:?}"));
        return;
    };
    let statements: Vec<Value> = policy
        .get("Statement")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    p.eq(
        &format!("{name} permission statements"),
        statements.len(),
        1,
    );
    let Some(s) = statements.first() else { return };
    let service = s
        .get("Principal")
        .and_then(|x| x.get("Service").or(Some(x)))
        .and_then(Value::as_str);
    p.eq(&format!("{name} principal"), service, Some(principal));
    p.eq(
        &format!("{name} action"),
        string_set(s.get("Action")),
        BTreeSet::from(["lambda:InvokeFunction".to_owned()]),
    );
    p.eq(
        &format!("{name} SourceArn"),
        condition_value(s, "AWS:SourceArn").as_deref(),
        Some(source),
    );
    p.eq(
        &format!("{name} SourceAccount"),
        condition_value(s, "AWS:SourceAccount").as_deref(),
        account,
    );
}

// ---------------------------------------------------------------------------------------------------
// Editing the file converges.

#[tokio::test]
async fn editing_the_file_converges() {
    let w = World::new().await;
    let first = w.deploy();
    first.assert_success();
    w.assert_deployed(APP_V1, &first).await;

    // v2: change one of each kind, add one of each kind, remove `nightly`. The v1 bootstrap does not
    // serve v2's handlers: it is refused before anything is read or written.
    w.write_app(APP_V2);
    let stale = w.plan();
    assert_eq!(stale.code, Some(1), "{}", stale.describe());
    assert!(
        stale.stderr.contains("was built from a different app file")
            && stale
                .stderr
                .contains("it has no handler `weekly` (schedule)"),
        "{}",
        stale.describe()
    );
    stale.assert_no_writes();
    w.write_bootstrap("v2");
    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    let (creates, updates, deletes) = assert_plan_consistent(&plan);
    assert!(
        creates > 0 && updates > 0 && deletes > 0,
        "{}",
        plan.describe()
    );
    let (c, u, d) = (
        change_lines(&plan.stdout, "+ create "),
        change_lines(&plan.stdout, "~ update "),
        change_lines(&plan.stdout, "- delete "),
    );
    let all: Vec<&str> = c.iter().chain(&u).chain(&d).copied().collect();
    for h in [
        "weekly",
        "deploys",
        "on_remove",
        "on_alert",
        "on_refund",
        "on_view",
        "on_ledger",
    ] {
        assert!(
            mentions(&c, &format!("suite-dev-{h}")),
            "no creation for {h}:\n{}",
            plan.describe()
        );
    }
    for h in [
        "every_hour",
        "code_commit",
        "on_order",
        "on_click",
        "on_audit",
        "on_upload",
    ] {
        assert!(
            mentions(&u, &format!("suite-dev-{h}")),
            "no update for {h}:\n{}",
            plan.describe()
        );
    }
    assert!(
        mentions(&all, "suite-dev-on_notice"),
        "no change for on_notice's new topic:\n{}",
        plan.describe()
    );
    assert!(
        mentions(&d, "suite-dev-nightly"),
        "no deletion for nightly:\n{}",
        plan.describe()
    );
    // audit_events did not change: only its function's code (v2's bootstrap, as every function's).
    for line in all
        .iter()
        .filter(|l| mentions(&[**l], "suite-dev-audit_events"))
    {
        assert_eq!(
            *line,
            "~ update lambda_function suite-dev-audit_events",
            "audit_events did not change:\n{}",
            plan.describe()
        );
    }
    assert_eq!(
        update_fields(
            &plan.stdout,
            "~ update lambda_function suite-dev-audit_events"
        ),
        ["code_sha256"],
        "{}",
        plan.describe()
    );

    let deploy = w.deploy();
    deploy.assert_success();
    w.assert_deployed(APP_V2, &deploy).await;
    let again = w.deploy();
    again.assert_success().assert_no_writes();

    // v3: remove one of each kind; new code for every function.
    w.write_app(APP_V3);
    w.write_bootstrap("v3");
    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    assert_plan_consistent(&plan);
    let d = change_lines(&plan.stdout, "- delete ");
    for h in [
        "every_hour",
        "code_commit",
        "on_upload",
        "on_notice",
        "on_order",
        "on_click",
        "on_audit",
    ] {
        assert!(
            mentions(&d, &format!("suite-dev-{h}")),
            "no deletion for {h}:\n{}",
            plan.describe()
        );
    }
    let deploy = w.deploy();
    deploy.assert_success();
    w.assert_deployed(APP_V3, &deploy).await;
    let again = w.deploy();
    again.assert_success().assert_no_writes();
    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    assert!(
        plan.stdout
            .contains("No changes. Everything is up to date."),
        "{}",
        plan.describe()
    );

    let delete = w.delete();
    delete.assert_success();
    w.assert_nothing_deployed(&delete).await;
}

// ---------------------------------------------------------------------------------------------------
// Faults: throttling, 500s, dropped connections, lost answers, SIGKILL.

#[tokio::test]
async fn a_fifth_of_calls_failing_still_converges() {
    let mut w = World::new().await;
    w.max_attempts = 10;
    let faults = Faults {
        seed: fault_seed(),
        throttle_pct: 7,
        server_error_pct: 7,
        drop_before_pct: 6,
        ..Faults::NONE
    };
    w.proxy.set_faults(faults);
    let deploy = w.deploy();
    eprintln!(
        "deploy under faults: {} of {} requests failed on purpose, {:.1?}",
        deploy.calls().injected(),
        deploy.calls().requests.len(),
        deploy.elapsed
    );
    deploy.assert_success();
    assert!(
        deploy.calls().injected() >= 5,
        "the proxy failed only {} calls (seed {:#x})",
        deploy.calls().injected(),
        faults.seed
    );
    w.assert_deployed(APP_V1, &deploy).await;

    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    assert!(
        plan.stdout
            .contains("No changes. Everything is up to date."),
        "{}",
        plan.describe()
    );

    w.proxy.set_faults(Faults::NONE);
    w.deploy().assert_success().assert_no_writes();

    w.proxy.set_faults(faults);
    let delete = w.delete();
    delete.assert_success();
    assert!(delete.calls().injected() > 0, "no fault during delete");
    w.assert_nothing_deployed(&delete).await;
}

/// Whether a write of `operation` reached moto but its answer was lost (so the SDK retried it).
fn answer_lost(run: &Run, operation: &str) -> bool {
    run.calls()
        .requests
        .iter()
        .any(|r| r.to_string() == operation && matches!(r.outcome, Some(Outcome::DroppedAfter(_))))
}

/// One deploy under `faults`: it succeeds, everything is deployed exactly once (no duplicate left by a
/// retried create), and nothing is left to do. Returns the deploy.
async fn converges_in_one_run(faults: Faults) -> Run {
    let mut w = World::new().await;
    // Enough attempts that no call fails on every one; what is tested is what a retry finds.
    w.max_attempts = 10;
    w.proxy.set_faults(faults);
    let deploy = w.deploy();
    let log = deploy.calls();
    eprintln!(
        "seed {:#x}: {} of {} requests failed on purpose ({} answers lost after moto acted), {:.1?}",
        faults.seed,
        log.injected(),
        log.requests.len(),
        log.requests
            .iter()
            .filter(|r| matches!(r.outcome, Some(Outcome::DroppedAfter(_))))
            .count(),
        deploy.elapsed
    );
    deploy.assert_success();
    w.assert_deployed(APP_V1, &deploy).await;
    w.proxy.set_faults(Faults::NONE);
    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    assert!(
        plan.stdout
            .contains("No changes. Everything is up to date."),
        "seed {:#x}: the faulted deploy left work:\n{}\n\nthe faulted deploy:\n{}",
        faults.seed,
        plan.describe(),
        deploy.describe()
    );
    deploy
}

/// Issue #13: 15 % of all calls fail (throttled, 500, dropped before moto, answer lost after moto
/// acted) and ONE deploy converges: a create whose answer was lost and whose retry found the resource
/// (AWS's 409, or on moto a second copy) adopts it. Two seeds: the suite's, and the first one under
/// which the answers to the first role, function, permission and mapping creates are all lost.
#[tokio::test]
async fn fifteen_percent_faults_converge_in_one_run() {
    let mix = Faults {
        seed: fault_seed(),
        throttle_pct: 4,
        server_error_pct: 4,
        drop_before_pct: 3,
        drop_after_pct: 4,
        writes_only: false,
    };
    const CREATES: [&str; 4] = [
        "iam.CreateRole",
        "lambda.CreateFunction",
        "lambda.AddPermission",
        "lambda.CreateEventSourceMapping",
    ];
    let loses_creates = (0u64..)
        .map(|seed| Faults { seed, ..mix })
        .find(|f| {
            CREATES
                .iter()
                .all(|op| f.pick(op, 0, Kind::Write) == Some(Fault::DropAfter))
        })
        .expect("a seed");
    converges_in_one_run(mix).await;
    let deploy = converges_in_one_run(loses_creates).await;
    for op in CREATES {
        assert!(
            answer_lost(&deploy, op),
            "seed {:#x} did not lose the answer to {op}:\n{}",
            loses_creates.seed,
            deploy.describe()
        );
    }
}

/// Every write's answer lost at 20 %: one deploy converges, no duplicate left.
#[tokio::test]
async fn lost_answers_to_writes_converge_in_one_run_without_duplicates() {
    let deploy = converges_in_one_run(Faults {
        seed: fault_seed(),
        drop_after_pct: 20,
        writes_only: true,
        ..Faults::NONE
    })
    .await;
    assert!(deploy.calls().injected() > 0, "no answer was lost");
}

/// Starts a deploy, lets exactly `n` writes through, SIGKILLs it while write `n + 1` is held.
fn kill_after_writes(w: &World, n: usize) -> Run {
    w.proxy.stall_writes_after(Some(n));
    let args = w.deploy_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut running = w.spawn(&args);
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !w.proxy.wait_for_stalled(Duration::from_millis(50)) {
        if running.exited().is_some() {
            let run = w.finish(running);
            panic!(
                "the deploy ended before its write #{}:\n{}",
                n + 1,
                run.describe()
            );
        }
        assert!(Instant::now() < deadline, "write #{} never came", n + 1);
    }
    assert!(
        w.proxy
            .wait_for_forwarded_writes(n, Duration::from_secs(60)),
        "the first {n} writes did not finish"
    );
    running.kill();
    let run = w.finish(running);
    assert_eq!(
        run.code,
        None,
        "not killed by the signal:\n{}",
        run.describe()
    );
    w.proxy.release_stalled();
    run
}

#[tokio::test]
async fn killed_mid_deploy_then_redeployed_converges_without_duplicates() {
    // How many writes a whole deploy makes, to kill at points across it.
    let total = {
        let w = World::new().await;
        let first = w.deploy();
        first.assert_success();
        first.calls().writes_forwarded()
    };
    assert!(
        total >= 20,
        "a fresh deploy of 9 handlers made only {total} writes"
    );
    let points: BTreeSet<usize> = [1, total / 4, total / 2, 3 * total / 4, total - 1]
        .into_iter()
        .collect();
    for n in points {
        let w = World::new().await;
        let killed = kill_after_writes(&w, n);
        let resumed = w.deploy();
        eprintln!(
            "killed after write {n}/{total} ({:?}); the redeploy made {} writes: {:?}",
            killed.calls().write_names().get(n.saturating_sub(1)),
            resumed.calls().writes(),
            resumed.calls().write_names()
        );
        assert_eq!(
            resumed.code,
            Some(0),
            "redeploy after a kill at write {n}/{total} failed:\n{}\n\nthe killed run:\n{}",
            resumed.describe(),
            killed.describe()
        );
        let problems = w.problems(APP_V1).await;
        assert!(
            problems.is_empty(),
            "after a kill at write {n}/{total} and a redeploy:\n  {}\n\nkilled run:\n{}\n\nredeploy:\n{}",
            problems.join("\n  "),
            killed.describe(),
            resumed.describe()
        );
        let again = w.deploy();
        again.assert_success().assert_no_writes();
    }

    // `delete` after a partial deploy removes what exists.
    let w = World::new().await;
    let killed = kill_after_writes(&w, total / 3);
    let delete = w.delete();
    assert_eq!(
        delete.code,
        Some(0),
        "{}\n\nkilled run:\n{}",
        delete.describe(),
        killed.describe()
    );
    w.assert_nothing_deployed(&delete).await;
}

// ---------------------------------------------------------------------------------------------------
// Bad input: one clear error, exit 1, nothing changed.

/// Deploys `source`, which must be refused before any write; returns the run.
async fn refused(w: &World, source: &str) -> Run {
    w.write_app(source);
    let run = w.deploy();
    refused_run(w, run).await
}

async fn refused_run(w: &World, run: Run) -> Run {
    assert_eq!(run.code, Some(1), "expected exit 1:\n{}", run.describe());
    assert_eq!(
        run.calls().writes(),
        0,
        "a refused deploy made writes:\n{}",
        run.describe()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    w.assert_nothing_deployed(&run).await;
    assert!(
        !state_has_resources(&w.state_file()),
        "a refused deploy recorded resources"
    );
    run
}

fn assert_one_error_naming(run: &Run, words: &[&str]) {
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "expected one error:\n{}", run.describe());
    let stderr = run.stderr.to_lowercase();
    for w in words {
        assert!(
            stderr.contains(&w.to_lowercase()),
            "the error should mention {w:?}:\n{}",
            run.describe()
        );
    }
}

#[tokio::test]
async fn a_missing_queue_is_one_clear_error_and_changes_nothing() {
    let w = World::new().await;
    let run = refused(
        &w,
        &APP_V1.replace("\"suite-orders\"", "\"suite-no-such-queue\""),
    )
    .await;
    assert_one_error_naming(&run, &["suite-no-such-queue"]);
}

#[tokio::test]
async fn a_missing_bucket_is_one_clear_error_and_changes_nothing() {
    let w = World::new().await;
    let run = refused(
        &w,
        &APP_V1.replace("\"suite-uploads\"", "\"suite-no-such-bucket\""),
    )
    .await;
    assert_one_error_naming(&run, &["suite-no-such-bucket"]);
}

#[tokio::test]
async fn a_visibility_timeout_below_the_function_timeout_is_refused() {
    let w = World::new().await;
    let run = refused(&w, &APP_V1.replace("\"suite-orders\"", "\"suite-short\"")).await;
    assert_one_error_naming(&run, &["suite-short", "visibility"]);
}

#[tokio::test]
async fn every_source_problem_is_reported_before_any_write() {
    let w = World::new().await;
    let source = APP_V1
        .replace("\"suite-orders\"", "\"suite-short\"")
        .replace("\"suite-uploads\"", "\"suite-no-such-bucket\"")
        .replace("\"suite-notices\"", "\"suite-no-such-topic\"")
        .replace("\"suite-clicks\"", "\"suite-no-such-stream\"")
        .replace("\"suite-audit\"", "\"suite-no-such-table\"");
    let run = refused(&w, &source).await;
    for name in [
        "suite-short",
        "suite-no-such-bucket",
        "suite-no-such-topic",
        "suite-no-such-stream",
        "suite-no-such-table",
    ] {
        assert!(
            run.stderr.contains(name),
            "the error should name {name}:\n{}",
            run.describe()
        );
    }
}

#[tokio::test]
async fn no_credentials_is_one_clear_error_and_changes_nothing() {
    let w = World::new().await;
    let args = w.deploy_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = w.command(&args);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        cmd.env_remove(var);
    }
    let run = refused_run(&w, w.run_command(cmd)).await;
    assert_one_error_naming(&run, &["credentials"]);
}

#[tokio::test]
async fn without_a_terminal_deploy_and_delete_need_yes() {
    let w = World::new().await;
    let bootstrap = w.bootstrap.display().to_string();
    let run = refused_run(&w, w.run(&["deploy", "--bootstrap", &bootstrap])).await;
    assert!(
        run.stderr.contains("--yes"),
        "should tell to pass --yes:\n{}",
        run.describe()
    );

    w.deploy().assert_success();
    let run = w.run(&["delete"]);
    assert_ne!(run.code, Some(0), "{}", run.describe());
    assert_eq!(run.calls().writes(), 0, "{}", run.describe());
    assert!(
        run.stderr.contains("--yes"),
        "should tell to pass --yes:\n{}",
        run.describe()
    );
    w.assert_deployed(APP_V1, &run).await;
}

// ---------------------------------------------------------------------------------------------------
// Drift: changes made behind the deployer's back are seen by the checks, shown by `plan`, undone by `deploy`.

#[tokio::test]
async fn drift_is_detected_and_repaired() {
    let w = World::new().await;
    w.deploy().assert_success();
    let aws = &w.aws;
    let f = |h: &str| format!("suite-dev-{h}");

    // A duplicate mapping (as a retried create leaves on AWS), and a changed batch size.
    aws.lambda
        .create_event_source_mapping()
        .function_name(f("on_order"))
        .event_source_arn(queue_arn("suite-orders"))
        .batch_size(10)
        .send()
        .await
        .unwrap();
    let click = list_mappings(aws)
        .await
        .into_iter()
        .find(|m| m.function_arn() == Some(function_arn(&f("on_click")).as_str()))
        .unwrap();
    aws.lambda
        .update_event_source_mapping()
        .uuid(click.uuid().unwrap())
        .batch_size(3)
        .send()
        .await
        .unwrap();
    // A permission removed, a subscription removed, a schedule and a memory size changed.
    aws.lambda
        .remove_permission()
        .function_name(f("on_notice"))
        .statement_id("chalice-topic-on_notice")
        .send()
        .await
        .unwrap();
    let sub = list_subscriptions(aws, &topic_arn("suite-notices"))
        .await
        .into_iter()
        .find(|s| s.protocol() == Some("lambda"))
        .unwrap();
    aws.sns
        .unsubscribe()
        .subscription_arn(sub.subscription_arn().unwrap())
        .send()
        .await
        .unwrap();
    aws.eventbridge
        .put_rule()
        .name(f("every_hour"))
        .schedule_expression("rate(3 hours)")
        .send()
        .await
        .unwrap();
    aws.lambda
        .update_function_configuration()
        .function_name(f("nightly"))
        .memory_size(1024)
        .send()
        .await
        .unwrap();
    // Our bucket entry dropped (someone rewrote the configuration keeping only theirs).
    let foreign = w.foreign.queue_configurations.clone();
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(BUCKET)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .set_queue_configurations(Some(foreign))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let problems = w.problems(APP_V1).await.join("\n");
    for expected in [
        "mappings of the app's functions",
        "batch size",
        "suite-dev-on_notice permission statement ids",
        "subscriptions of the app's functions on suite-notices",
        "rule suite-dev-every_hour schedule",
        "suite-dev-nightly memory",
        "notification ids",
    ] {
        assert!(
            problems.contains(expected),
            "the checks missed {expected:?}:\n{problems}"
        );
    }

    let plan = w.plan();
    plan.assert_success().assert_no_writes();
    assert!(
        !plan.stdout.contains("No changes"),
        "plan should show the drift:\n{}",
        plan.describe()
    );
    let repair = w.deploy();
    repair.assert_success();
    w.assert_deployed(APP_V1, &repair).await;
    w.deploy().assert_success().assert_no_writes();
}
