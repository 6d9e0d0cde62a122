//! End to end against a private moto server: the example app of the README (its "The language"
//! section, as written) deployed by the `deployer` binary, every resource checked through the SDK
//! (against the plan, and against literal expectations), a no-op redeploy with zero writes, `plan`
//! with no changes, `delete` removing everything of the app and nothing else. Needs moto:
//! `scripts/moto.sh`.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use chalice_deployer::aws::Clients;
use chalice_deployer::project::package::CodePackage;
use serde_json::Value;
use support::aws::{ACCOUNT, REGION, function_arn as arn_of, queue_arn};
use support::checks::{Problems, check_deployed, check_nothing_deployed, filter_rules};
use support::deployer::{self, Run};
use support::fixtures::{create_queue, create_sources, put_foreign_queue_entry};
use support::inventory::{Inventory, Scope};
use support::moto::Moto;
use support::policy::statements;
use support::project::{Project, STAGE, plan_of};

/// The example of the README, as written.
const APP: &str = r#"# events.chalice: the event sources of one app
app orders                               # resources are named <app>-<stage>-<handler>

defaults {                               # function settings; a binding's block may override any of them
    memory    = 256                      # MB
    timeout   = 60s
    log_level = info                     # JSON logs, filtered by Lambda at this level
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

const HANDLERS: [&str; 8] = [
    "every_hour",
    "nightly",
    "code_commit",
    "on_upload",
    "on_notice",
    "on_order",
    "on_click",
    "on_audit",
];
const ARTIFACTS: &str = "chalice-rs-artifacts-123456789012-us-east-1";

fn function_arn(handler: &str) -> String {
    arn_of(&format!("orders-dev-{handler}"))
}

fn topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:my-demo-topic")
}

/// A project directory with the app and a stand-in bootstrap named `bootstrap` (moto never runs it).
fn new_project() -> Project {
    let project = Project::new(APP);
    project.write_fake_bootstrap("bootstrap", "v1");
    project
}

/// `deployer ARGS` in the project, against moto.
fn run_deployer(project: &Project, moto: &Moto, args: &[&str]) -> Run {
    deployer::run(&mut deployer::against(moto, project.path(), args))
}

/// `deploy --yes --bootstrap bootstrap --calls FILE`, its report parsed.
fn deploy(project: &Project, moto: &Moto, report: &str) -> (Run, Value) {
    let calls = project.join(report);
    let run = run_deployer(
        project,
        moto,
        &[
            "deploy",
            "--yes",
            "--bootstrap",
            "bootstrap",
            "--calls",
            calls.to_str().unwrap(),
        ],
    );
    let report = std::fs::read_to_string(&calls).map(|t| serde_json::from_str(&t).unwrap());
    (run, report.unwrap_or(Value::Null))
}

/// The example's event sources, plus someone else's queue entry on the bucket.
async fn create_example_sources(aws: &Clients) {
    create_sources(aws, &plan_of(APP)).await;
    create_queue(aws, "theirs", None).await;
    put_foreign_queue_entry(
        aws,
        "mybucket-name",
        "someone-else",
        &queue_arn("theirs"),
        None,
    )
    .await;
}

/// What is deployed of the example (and on its sources).
async fn inventory(aws: &Clients) -> Inventory {
    Inventory::read(aws, &Scope::of(&plan_of(APP))).await
}

/// Every resource of the example, checked through the SDK: against the plan, then against the
/// example's literal expectations (so a planning mistake shows too).
async fn assert_deployed(aws: &Clients, code: &CodePackage) {
    let inv = inventory(aws).await;
    let mut p = Problems::default();
    check_deployed(&inv, &plan_of(APP), code, &mut p);
    assert!(
        p.0.is_empty(),
        "{} problem(s):\n  {}",
        p.0.len(),
        p.0.join("\n  ")
    );
    assert_roles(&inv);
    assert_functions(&inv, code);
    assert_rules(&inv);
    assert_permissions(&inv);
    assert_bucket_and_subscription(&inv);
    assert_mappings(&inv);
}

/// Each function's own role: the app's tag and exactly its source's statements, in order.
fn assert_roles(inv: &Inventory) {
    for (handler, want) in [
        ("every_hour", &["Logs"][..]),
        ("on_order", &["Logs", "SqsConsume"][..]),
        ("on_click", &["Logs", "KinesisRead"][..]),
        (
            "on_audit",
            &["Logs", "DynamodbStreamRead", "DynamodbListStreams"][..],
        ),
    ] {
        let name = format!("orders-dev-{handler}");
        let role = &inv.roles[&name];
        assert_eq!(
            role.tags.get("chalice:app").map(String::as_str),
            Some("orders")
        );
        assert_eq!(
            role.arn,
            format!("arn:aws:iam::{ACCOUNT}:role/chalice/orders/dev/{name}")
        );
        let sids: Vec<&str> = role.policies[&name]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, want, "{name}");
    }
}

fn assert_functions(inv: &Inventory, code: &CodePackage) {
    for h in HANDLERS {
        let name = format!("orders-dev-{h}");
        let f = &inv.functions[&name];
        let c = f.config().unwrap();
        assert_eq!(c.handler(), Some(h));
        assert_eq!(c.runtime().map(|r| r.as_str()), Some("provided.al2023"));
        assert_eq!(c.role(), Some(inv.roles[&name].arn.as_str()));
        assert_eq!(c.memory_size(), Some(256));
        assert_eq!(c.timeout(), Some(60));
        assert_eq!(
            c.code_sha256(),
            Some(code.code_sha256.as_str()),
            "{name} runs the bootstrap"
        );
        let env = c.environment().and_then(|e| e.variables());
        assert!(env.is_none_or(|v| v.is_empty()), "{name}: {env:?}");
        assert_eq!(
            f.get
                .tags()
                .and_then(|t| t.get("chalice:stage"))
                .map(String::as_str),
            Some("dev")
        );
    }
}

/// Rules and their targets.
fn assert_rules(inv: &Inventory) {
    for (h, schedule, pattern) in [
        ("every_hour", Some("rate(1 hour)"), None),
        ("nightly", Some("cron(0 2 * * ? *)"), None),
        (
            "code_commit",
            None,
            Some(r#"{"source":["aws.codecommit"]}"#),
        ),
    ] {
        let name = format!("orders-dev-{h}");
        let rule = &inv.rules[&(None, name.clone())];
        assert_eq!(rule.describe.schedule_expression(), schedule);
        let got = rule
            .describe
            .event_pattern()
            .map(|p| serde_json::from_str::<Value>(p).unwrap());
        assert_eq!(
            got,
            pattern.map(|p| serde_json::from_str::<Value>(p).unwrap())
        );
        assert_eq!(rule.targets, [(name.clone(), function_arn(h))]);
    }
    let nightly = &inv.rules[&(None, "orders-dev-nightly".to_owned())];
    assert_eq!(nightly.describe.description(), Some("Nightly report"));
}

/// Permissions: exactly one statement per push source, with its conditions.
fn assert_permissions(inv: &Inventory) {
    for (h, principal, source) in [
        (
            "every_hour",
            "events.amazonaws.com",
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/orders-dev-every_hour"),
        ),
        (
            "code_commit",
            "events.amazonaws.com",
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/orders-dev-code_commit"),
        ),
        (
            "on_upload",
            "s3.amazonaws.com",
            "arn:aws:s3:::mybucket-name".to_string(),
        ),
        ("on_notice", "sns.amazonaws.com", topic_arn()),
    ] {
        let function = &inv.functions[&format!("orders-dev-{h}")];
        let st = statements(function.policy.as_ref().unwrap());
        assert_eq!(st.len(), 1, "{h}: {st:?}");
        assert_eq!(st[0]["Principal"]["Service"], principal);
        assert_eq!(
            st[0]["Condition"]["ArnLike"]["AWS:SourceArn"],
            source.as_str()
        );
        let account = st[0]["Condition"]["StringEquals"]["AWS:SourceAccount"].as_str();
        assert_eq!(account, (h == "on_upload").then_some(ACCOUNT), "{h}");
    }
}

/// The bucket (ours added, theirs kept) and the subscription.
fn assert_bucket_and_subscription(inv: &Inventory) {
    let n = inv.notification("mybucket-name");
    assert_eq!(n.queue_configurations().len(), 1);
    assert_eq!(n.queue_configurations()[0].id(), Some("someone-else"));
    let ours = n.lambda_function_configurations();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].id(), Some("orders-dev-on_upload"));
    assert_eq!(ours[0].lambda_function_arn(), function_arn("on_upload"));
    assert_eq!(
        filter_rules(&ours[0]),
        [
            ("prefix".to_string(), "images/".to_string()),
            ("suffix".to_string(), ".png".to_string())
        ]
    );

    let subs: Vec<(&str, &str)> = inv
        .subscriptions_of("my-demo-topic")
        .iter()
        .map(|s| (s.protocol().unwrap(), s.endpoint().unwrap()))
        .collect();
    assert_eq!(subs, [("lambda", function_arn("on_notice").as_str())]);
}

/// The mappings of each function.
fn assert_mappings(inv: &Inventory) {
    let table_stream = inv.table_streams["orders"].clone();
    for (h, source, batch, position) in [
        (
            "on_order",
            format!("arn:aws:sqs:{REGION}:{ACCOUNT}:my-queue"),
            10,
            None,
        ),
        (
            "on_click",
            format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/mystream"),
            100,
            Some("TRIM_HORIZON"),
        ),
        ("on_audit", table_stream, 100, Some("LATEST")),
    ] {
        let m = inv.mappings_of(&function_arn(h));
        assert_eq!(m.len(), 1, "{h}: {m:?}");
        assert_eq!(m[0].event_source_arn(), Some(source.as_str()));
        assert_eq!(m[0].batch_size(), Some(batch), "{h}");
        assert_eq!(m[0].starting_position().map(|p| p.as_str()), position);
        assert_eq!(
            m[0].function_response_types().len(),
            1,
            "{h} reports batch item failures"
        );
    }
    let queue = inv.mappings_of(&function_arn("on_order"));
    assert_eq!(queue[0].maximum_batching_window_in_seconds(), Some(5));
}

/// Nothing of the app is left; others' entry on the bucket is.
async fn assert_nothing_deployed(aws: &Clients, state: &Path) {
    let inv = inventory(aws).await;
    let mut p = Problems::default();
    check_nothing_deployed(&inv, &mut p);
    assert!(p.0.is_empty(), "left:\n  {}", p.0.join("\n  "));
    for h in HANDLERS {
        let name = format!("orders-dev-{h}");
        assert!(!inv.functions.contains_key(&name), "function {h} left");
        assert!(
            inv.mappings_of(&function_arn(h)).is_empty(),
            "mappings of {h} left"
        );
    }
    assert!(inv.roles.is_empty(), "roles left: {:?}", inv.roles.keys());
    assert!(inv.rules.is_empty(), "rules left: {:?}", inv.rules.keys());
    let n = inv.notification("mybucket-name");
    assert!(n.lambda_function_configurations().is_empty());
    assert_eq!(
        n.queue_configurations().len(),
        1,
        "someone else's entry is kept"
    );
    let subs = inv.subscriptions_of("my-demo-topic");
    assert!(subs.is_empty());
    assert_eq!(
        inv.buckets,
        BTreeSet::from(["mybucket-name".to_owned()]),
        "the artifacts bucket is gone"
    );
    assert!(!state.exists(), "the deploy record is gone");
}

#[tokio::test]
async fn deploy_redeploy_plan_delete() {
    let moto = Moto::start();
    let aws = moto.clients().await;
    create_example_sources(&aws).await;
    let project = new_project();
    let code = CodePackage::from_file(&project.join("bootstrap")).unwrap();
    let state = project.state_file(STAGE);

    let (run, report) = deploy(&project, &moto, "deploy1.json");
    run.assert_success();
    let stdout = &run.stdout;
    assert!(
        stdout.contains("Plan: 29 to create, 0 to update, 0 to delete."),
        "{}",
        run.describe()
    );
    let arns: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        arns.contains(&vec![
            "orders-dev-on_audit",
            function_arn("on_audit").as_str()
        ]),
        "{stdout}"
    );
    assert!(
        run.stderr
            .contains("created lambda_function orders-dev-nightly"),
        "{}",
        run.describe()
    );
    assert_eq!(report["command"], "deploy");
    // 28 before roles were per function, and 2 more (CreateRole, PutRolePolicy) per extra role; and
    // the deploy lock, taken and given back (two PutObject).
    assert_eq!(report["writes"], 44, "{report:#}");
    assert_deployed(&aws, &code).await;
    // The code was uploaded once, to the artifacts bucket.
    let objects = aws
        .s3
        .list_objects_v2()
        .bucket(ARTIFACTS)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    // Beside it, the stage's deploy lock, given back.
    assert_eq!(
        keys,
        [
            ".deploy-locks/orders/dev.json".to_string(),
            format!("orders/dev/bootstrap-{}.zip", code.sha256_hex)
        ]
    );
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(recorded["resources"].as_object().unwrap().len(), 31);

    // Nothing changed: zero writes (no upload either), at most about one read per resource.
    let (run, report) = deploy(&project, &moto, "deploy2.json");
    run.assert_success();
    assert!(
        run.stdout.contains("No changes. Everything is up to date."),
        "{}",
        run.describe()
    );
    assert_eq!(report["writes"], 0, "{report:#}");
    let reads = report["reads"].as_u64().unwrap();
    // 36, one GetSubscriptionAttributes (a filter policy set outside the file must be seen), the
    // code zips' listing and the deploy lock's state (read with the rest: no round trip more).
    assert!(
        reads <= 39,
        "{reads} reads for 31 resources and 5 sources: {report:#}"
    );
    let apply = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "apply");
    assert!(apply.is_none(), "nothing applied: {report:#}");

    let plan = run_deployer(&project, &moto, &["plan"]);
    plan.assert_success();
    assert_eq!(
        plan.stdout,
        "No changes. Everything is up to date.\n",
        "{}",
        plan.describe()
    );
    let plan = run_deployer(
        &project,
        &moto,
        &["plan", "--json", "--bootstrap", "bootstrap"],
    );
    let json: Value = serde_json::from_str(&plan.assert_success().stdout).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({"create": 0, "update": 0, "delete": 0})
    );

    let run = run_deployer(&project, &moto, &["delete", "--yes"]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("Plan: 0 to create, 0 to update, 29 to delete."),
        "{}",
        run.describe()
    );
    assert_nothing_deployed(&aws, &state).await;

    let again = run_deployer(&project, &moto, &["delete", "--yes"]);
    assert!(
        again
            .assert_success()
            .stdout
            .starts_with("Nothing to delete"),
        "{}",
        again.describe()
    );
}

#[tokio::test]
async fn missing_sources_are_all_reported_and_nothing_is_written() {
    let moto = Moto::start();
    let aws = moto.clients().await;
    // Only a queue, and one AWS would refuse (visibility timeout 30 s < function timeout 60 s).
    create_queue(&aws, "my-queue", None).await;
    let project = new_project();
    let (run, report) = deploy(&project, &moto, "calls.json");
    run.assert_code(1);
    let stderr = &run.stderr;
    for expected in [
        "visibility timeout of 30 s, shorter than the 60 s timeout",
        "Kinesis stream `mystream`",
        "DynamoDB table `orders` does not exist",
        "bucket `mybucket-name` does not exist",
        "my-demo-topic` does not exist",
        "nothing was changed",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?}:\n{}",
            run.describe()
        );
    }
    assert_eq!(report["writes"], 0, "{report:#}");
    assert!(!project.state_file(STAGE).exists());

    // Without --yes and without a terminal, nothing is even read.
    let run = run_deployer(&project, &moto, &["deploy", "--bootstrap", "bootstrap"]);
    run.assert_code(1);
    assert!(run.stderr.contains("pass --yes"), "{}", run.describe());
}
