//! Issue #9 on moto through the AWS SDK for Rust: variables, a role per function with exactly its own
//! grants, the file's policy statements and managed policies, a role given by ARN (no IAM made, a
//! warning when it lacks what the source needs), sources per stage, and the function settings
//! production needs (log retention, logging config, tracing, layers, ephemeral storage, VPC): each
//! read back, converged with zero writes, changed in place, and removed (log groups kept unless
//! `delete --logs`).

mod support;

use std::collections::BTreeSet;
use std::ops::Deref;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LayerVersionContentInput;
use chalice_deployer::aws::Clients;
use chalice_deployer::engine::converge;
use chalice_deployer::engine::session::Session;
use chalice_deployer::engine::state::StateFile;
use chalice_deployer::project::code::{self, CodeSource};
use chalice_deployer::project::package::CodePackage;
use serde_json::Value;

use support::aws::{ACCOUNT, queue_arn};
use support::checks::{Problems, check_roles};
use support::deployer::Run;
use support::fixtures::{create_bucket, create_queue, put_foreign_queue_entry};
use support::inventory::{Inventory, Scope};
use support::moto::Moto;
use support::policy;
use support::project::{Project, plan_of};
use support::proxied::{BOOTSTRAP, Proxied};

const GIVEN_ROLE: &str = "orders-prod-lambda";

/// The issue's contract example, with a layer and a managed policy that exist in moto, a third
/// binding that turns two of the defaults back off, and an env value with a variable.
fn app(layer: &str, retention: u32, managed: bool) -> String {
    let managed = if managed {
        r#"managed_policies = ["arn:${partition}:iam::${account}:policy/orders-read"]"#
    } else {
        ""
    };
    format!(
        r#"app orders
defaults {{
    policy = {{ "Statement": [ {{ "Effect": "Allow", "Action": ["s3:GetObject"],
                                 "Resource": "arn:${{partition}}:s3:::uploads-${{stage}}/*" }} ] }}
    {managed}
    log_retention = {retention}
    log_level = info
    log_format = json
    tracing = active
    layers = ["{layer}"]
    ephemeral_storage = 1024
    vpc {{ subnets = ["subnet-0abc1234"], security_groups = ["sg-0abc1234"] }}
    env {{ STAGE = "${{stage}}" }}
}}
stage prod {{ role = "arn:aws:iam::{ACCOUNT}:role/{GIVEN_ROLE}", log_retention = 90 }}
queue  on_order  "orders-${{stage}}"
bucket on_upload "uploads-${{stage}}" {{ policy = {{ "Statement": [ {{ "Sid": "WriteResults", "Effect": "Allow",
          "Action": ["s3:PutObject"], "Resource": "arn:${{partition}}:s3:::uploads-${{stage}}/results/*" }} ] }} }}
schedule tick rate(1 hour) {{ tracing = pass_through, ephemeral_storage = 512 }}
"#
    )
}

/// The orders app with its sources in both stages, a layer, a managed policy and the prod role,
/// and what this suite reads.
struct Setup {
    s: Proxied,
    layer: String,
}

impl Deref for Setup {
    type Target = Proxied;
    fn deref(&self) -> &Proxied {
        &self.s
    }
}

impl Setup {
    async fn new() -> Setup {
        let s = Proxied::start().await;
        let aws = &s.aws;
        create_queue(aws, "audit", None).await;
        for stage in ["dev", "prod"] {
            create_queue(aws, &format!("orders-{stage}"), Some(360)).await;
            let bucket = format!("uploads-{stage}");
            create_bucket(aws, &bucket).await;
            // Someone else's entry, kept throughout (and moto cannot answer for a bucket without any).
            put_foreign_queue_entry(aws, &bucket, "audit", &queue_arn("audit"), None).await;
        }
        let layer = publish_layer(aws).await;
        let read = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}]}"#;
        aws.iam
            .create_policy()
            .policy_name("orders-read")
            .policy_document(read)
            .send()
            .await
            .expect("create policy");
        // The prod role: Lambda may assume it, and it grants nothing (the deploy warns).
        support::fixtures::create_role(aws, GIVEN_ROLE).await;
        s.write_app(&app(&layer, 14, true));
        Setup { s, layer }
    }

    /// A new version of the layer `ext`; its ARN.
    async fn publish_layer(&self) -> String {
        publish_layer(&self.aws).await
    }

    fn source(&self) -> String {
        self.project.app_source()
    }

    fn deploy(&self, stage: &str) -> Run {
        let run = self.run(&[
            "deploy",
            "--yes",
            "--bootstrap",
            BOOTSTRAP,
            "--stage",
            stage,
        ]);
        run.assert_success();
        run
    }

    /// What is deployed for `stage`, reading the sources of both stages.
    async fn inventory(&self, stage: &str) -> Inventory {
        let model = chalice_codegen::load("events.chalice", &self.source()).unwrap();
        let plan = |stage| chalice_codegen::emit_plan::plan(&model, stage).unwrap();
        let other = if stage == "dev" { "prod" } else { "dev" };
        let scope = Scope::of(&plan(stage)).and(&Scope::of(&plan(other)));
        Inventory::read(&self.aws, &scope).await
    }

    /// Log group name → retention, for the stage's functions.
    async fn log_groups(&self, stage: &str) -> Vec<(String, Option<i32>)> {
        let out = self
            .aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(format!("/aws/lambda/orders-{stage}-"))
            .send()
            .await
            .expect("describe log groups");
        out.log_groups()
            .iter()
            .map(|g| {
                (
                    g.log_group_name().unwrap_or_default().to_owned(),
                    g.retention_in_days(),
                )
            })
            .collect()
    }
}

/// A new version of the layer `ext` in moto (a function's layers must exist there); its ARN.
async fn publish_layer(aws: &Clients) -> String {
    let zip = CodePackage::from_binary(b"layer").unwrap().zip;
    aws.lambda
        .publish_layer_version()
        .layer_name("ext")
        .content(
            LayerVersionContentInput::builder()
                .zip_file(Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .expect("publish layer")
        .layer_version_arn()
        .expect("layer version ARN")
        .to_owned()
}

#[tokio::test]
async fn every_setting_deploys_converges_changes_and_is_removed() {
    let s = Setup::new().await;
    let source = s.source();
    let dev = chalice_codegen::emit_plan::plan(
        &chalice_codegen::load("events.chalice", &source).unwrap(),
        "dev",
    )
    .unwrap();

    // The offline plan shows every setting.
    let offline = s.run(&["plan", "--offline"]);
    offline.assert_success();
    for shown in [
        "+ create iam_role orders-dev-on_order",
        "+ create iam_role_policy_attachment orders-dev-on_order/orders-read",
        "+ create log_group /aws/lambda/orders-dev-on_order",
        "retention = 14 days",
        "logs",
        "JSON, level info",
        "tracing",
        "active (X-Ray)",
        "ephemeral_storage = 1024 MB",
        "vpc",
        "subnets subnet-0abc1234; security groups sg-0abc1234",
        "allow XRayWrite",
        "allow VpcNetworkInterfaces",
        "file WriteResults",
        &s.layer,
    ] {
        assert!(
            offline.stdout.contains(shown),
            "{shown:?} not in:\n{}",
            offline.stdout
        );
    }

    let first = s.deploy("dev");
    let inv = s.inventory("dev").await;
    let mut p = Problems::default();
    check_roles(&inv, &dev, &mut p);
    assert!(p.0.is_empty(), "{}\n{}", p.0.join("\n"), first.describe());

    // Each role: its own source only, the file's statements that apply to it, the managed policy.
    let has = |handler: &str, action: &str, resource: &str| {
        let name = format!("orders-dev-{handler}");
        policy::allows(&inv.roles[&name].policies[&name], action, resource)
    };
    assert!(has(
        "on_order",
        "sqs:ReceiveMessage",
        &queue_arn("orders-dev")
    ));
    assert!(!has(
        "on_upload",
        "sqs:ReceiveMessage",
        &queue_arn("orders-dev")
    ));
    assert!(!has("tick", "sqs:ReceiveMessage", &queue_arn("orders-dev")));
    for h in ["on_order", "on_upload", "tick"] {
        assert!(has(h, "s3:GetObject", "arn:aws:s3:::uploads-dev/*"), "{h}");
        assert!(
            has(h, "ec2:CreateNetworkInterface", "*"),
            "{h}: VPC needs ENIs"
        );
        assert_eq!(
            inv.roles[&format!("orders-dev-{h}")].attached,
            BTreeSet::from([format!("arn:aws:iam::{ACCOUNT}:policy/orders-read")])
        );
    }
    assert!(has(
        "on_upload",
        "s3:PutObject",
        "arn:aws:s3:::uploads-dev/results/*"
    ));
    assert!(!has(
        "on_order",
        "s3:PutObject",
        "arn:aws:s3:::uploads-dev/results/*"
    ));
    assert!(has("on_order", "xray:PutTraceSegments", "*"));
    assert!(
        !has("tick", "xray:PutTraceSegments", "*"),
        "tick turned tracing off"
    );

    // Every function setting, as GetFunctionConfiguration shows it.
    for h in ["on_order", "on_upload", "tick"] {
        let name = format!("orders-dev-{h}");
        let c = s
            .aws
            .lambda
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let layers: Vec<&str> = c.layers().iter().filter_map(|l| l.arn()).collect();
        assert_eq!(layers, [s.layer.as_str()], "{name}");
        let tracing = c
            .tracing_config()
            .and_then(|t| t.mode())
            .map(|m| m.as_str());
        let storage = c.ephemeral_storage().map(|e| e.size());
        if h == "tick" {
            assert_eq!(
                (tracing, storage),
                (Some("PassThrough"), Some(512)),
                "{name}"
            );
        } else {
            assert_eq!((tracing, storage), (Some("Active"), Some(1024)), "{name}");
        }
        let vpc = c.vpc_config().unwrap();
        assert_eq!(vpc.subnet_ids(), ["subnet-0abc1234"]);
        assert_eq!(vpc.security_group_ids(), ["sg-0abc1234"]);
        let env = c.environment().and_then(|e| e.variables()).unwrap();
        assert_eq!(env.get("STAGE").map(String::as_str), Some("dev"));
        assert_eq!(c.role(), Some(inv.roles[&name].arn.as_str()));
    }
    // moto accepts LoggingConfig and does not keep it: check what was sent.
    let sent = first
        .log
        .as_ref()
        .unwrap()
        .bodies_of("lambda.CreateFunction");
    assert_eq!(sent.len(), 3);
    for body in &sent {
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["LoggingConfig"]["LogFormat"], "JSON", "{body}");
        assert_eq!(
            body["LoggingConfig"]["ApplicationLogLevel"], "INFO",
            "{body}"
        );
    }
    let mut groups = s.log_groups("dev").await;
    groups.sort();
    assert_eq!(
        groups,
        ["on_order", "on_upload", "tick"]
            .map(|h| (format!("/aws/lambda/orders-dev-{h}"), Some(14)))
    );

    // Redeploy: zero writes.
    let again = s.deploy("dev");
    assert!(again.stdout.contains("No changes."), "{}", again.describe());
    assert_eq!(again.app_writes(), Vec::<String>::new());

    // One setting changed: exactly the log groups, in place, shown old → new first.
    s.project.write_app(&app(&s.layer, 30, true));
    let plan = s.run(&["plan", "--bootstrap", "bootstrap"]);
    plan.assert_success();
    assert!(
        plan.stdout.contains(
            "~ update log_group /aws/lambda/orders-dev-on_order\n    retention_days: 14 → 30"
        ),
        "{}",
        plan.describe()
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 3 to update, 0 to delete."),
        "{}",
        plan.describe()
    );
    let changed = s.deploy("dev");
    assert_eq!(
        changed.app_writes(),
        ["logs.PutRetentionPolicy"; 3],
        "{}",
        changed.describe()
    );
    assert!(
        s.log_groups("dev")
            .await
            .iter()
            .all(|(_, r)| *r == Some(30))
    );

    // A function setting changed: each function updated in place, old → new in the plan.
    let layer2 = s.publish_layer().await;
    s.project.write_app(&app(&layer2, 30, true));
    let plan = s.run(&["plan", "--bootstrap", "bootstrap"]);
    assert!(
        plan.stdout.contains(&format!(
            "~ update lambda_function orders-dev-tick\n    layers: {} → {layer2}\n",
            s.layer
        )),
        "{}",
        plan.describe()
    );
    let relayered = s.deploy("dev");
    assert_eq!(
        relayered.app_writes(),
        ["lambda.UpdateFunctionConfiguration"; 3],
        "{}",
        relayered.describe()
    );
    assert_eq!(
        s.deploy("dev").app_writes(),
        Vec::<String>::new(),
        "converged"
    );

    // A managed policy taken out: detached from each role, nothing else.
    s.project.write_app(&app(&layer2, 30, false));
    let detached = s.deploy("dev");
    assert_eq!(
        detached.app_writes(),
        ["iam.DetachRolePolicy"; 3],
        "{}",
        detached.describe()
    );
    let inv = s.inventory("dev").await;
    assert!(inv.roles.values().all(|r| r.attached.is_empty()));

    // Delete: nothing of the app left but its log groups.
    let deleted = s.run(&["delete", "--yes"]);
    deleted.assert_success();
    assert!(
        deleted.stdout.contains("deployer delete --logs"),
        "{}",
        deleted.describe()
    );
    let inv = s.inventory("dev").await;
    assert!(inv.roles.is_empty(), "roles left: {:?}", inv.roles.keys());
    assert!(
        inv.functions.is_empty(),
        "functions left: {:?}",
        inv.functions.keys()
    );
    assert!(inv.app_mappings().is_empty());
    assert!(
        inv.notification("uploads-dev")
            .lambda_function_configurations()
            .is_empty()
    );
    assert_eq!(s.log_groups("dev").await.len(), 3, "log groups are kept");
    let customer = s
        .aws
        .iam
        .get_policy()
        .policy_arn(format!("arn:aws:iam::{ACCOUNT}:policy/orders-read"))
        .send()
        .await;
    assert!(
        customer.is_ok(),
        "a managed policy is never deleted, only detached"
    );
}

#[tokio::test]
async fn a_stage_binds_its_own_sources_and_runs_as_the_given_role() {
    let s = Setup::new().await;
    let prod = s.deploy("prod");
    // The given role grants nothing: warned before anything was written.
    let warned = prod
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: role") && l.contains("on_order"))
        .unwrap_or_else(|| panic!("no warning:\n{}", prod.describe()));
    assert!(
        warned.contains(&format!(
            "sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes, \
             sqs:ChangeMessageVisibility on {}",
            queue_arn("orders-prod")
        )),
        "{warned}"
    );
    assert!(
        prod.app_writes().iter().all(|w| !w.starts_with("iam.")),
        "no IAM is made for a given role: {:?}",
        prod.app_writes()
    );
    let inv = s.inventory("prod").await;
    assert!(inv.roles.is_empty(), "{:?}", inv.roles.keys());
    let given = format!("arn:aws:iam::{ACCOUNT}:role/{GIVEN_ROLE}");
    for h in ["on_order", "on_upload", "tick"] {
        let f = &inv.functions[&format!("orders-prod-{h}")];
        assert_eq!(f.config().unwrap().role(), Some(given.as_str()));
    }
    let mapping = inv.app_mappings();
    assert_eq!(mapping.len(), 1);
    assert_eq!(
        mapping[0].event_source_arn(),
        Some(queue_arn("orders-prod").as_str())
    );
    let entries = inv
        .notification("uploads-prod")
        .lambda_function_configurations();
    assert_eq!(entries.len(), 1, "bound to uploads-prod");
    assert!(
        inv.notification("uploads-dev")
            .lambda_function_configurations()
            .is_empty()
    );
    assert!(
        s.log_groups("prod")
            .await
            .iter()
            .all(|(_, r)| *r == Some(90))
    );
    assert_eq!(
        s.deploy("prod").app_writes(),
        Vec::<String>::new(),
        "converged"
    );

    // `delete --logs` takes the log groups too, and leaves the given role alone.
    let deleted = s.run(&["delete", "--yes", "--logs", "--stage", "prod"]);
    deleted.assert_success();
    assert!(
        s.log_groups("prod").await.is_empty(),
        "{}",
        deleted.describe()
    );
    let role = s.aws.iam.get_role().role_name(GIVEN_ROLE).send().await;
    assert!(role.is_ok(), "the given role is not ours to delete");
}

#[tokio::test]
async fn a_shared_role_from_before_converges_to_one_role_per_function() {
    let s = Setup::new().await;
    s.deploy("dev");
    // What an older version left: one role for the stage, in use, recorded in the deploy record.
    let old = support::fixtures::create_role(&s.aws, "orders-dev").await;
    s.aws
        .iam
        .put_role_policy()
        .role_name("orders-dev")
        .policy_name("orders-dev")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    s.aws
        .lambda
        .update_function_configuration()
        .function_name("orders-dev-on_order")
        .role(&old)
        .send()
        .await
        .unwrap();
    let path = s.project.state_file("dev");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["resources"]["role"] = serde_json::json!({
        "arn": old,
        "settings": {"identity": {"type": "role", "name": "orders-dev"}}
    });
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();

    let plan = s.run(&["plan", "--bootstrap", "bootstrap"]);
    assert!(
        plan.stdout.contains("- delete iam_role orders-dev\n"),
        "{}",
        plan.describe()
    );
    assert!(
        plan.stdout
            .contains("~ update lambda_function orders-dev-on_order\n    role: "),
        "{}",
        plan.describe()
    );
    let moved = s.deploy("dev");
    let role = s.aws.iam.get_role().role_name("orders-dev").send().await;
    assert!(
        role.is_err(),
        "the old role is removed:\n{}",
        moved.describe()
    );
    let inv = s.inventory("dev").await;
    assert_eq!(
        inv.functions["orders-dev-on_order"]
            .config()
            .unwrap()
            .role(),
        Some(inv.roles["orders-dev-on_order"].arn.as_str())
    );
    assert_eq!(
        s.deploy("dev").app_writes(),
        Vec::<String>::new(),
        "converged"
    );
}

/// A group that appears between the read (which found none) and its create (Lambda made it on a
/// first invocation, or a create whose answer was lost is retried) is kept, with its retention, and
/// tagged as a created one is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_group_made_before_its_create_runs_is_kept_and_tagged() {
    const GROUP: &str = "/aws/lambda/logs-dev-tick";
    let moto = Moto::start();
    let aws = moto.clients().await;
    let plan = plan_of("app logs\nschedule tick rate(1 hour) { log_retention = 7 }\n");
    let dir = Project::empty();
    let shipped = code::package(&plan, &CodeSource::Placeholder(b"never run".to_vec())).unwrap();
    let state = StateFile::open_at(dir.state_file("dev"), &plan.app, &plan.stage).unwrap();
    let mut session = Session::open("deploy", plan.clone(), aws.clone(), state, None)
        .await
        .unwrap();
    let runtime = tokio::runtime::Handle::current();
    converge::deploy(
        &mut session,
        &shipped.code,
        &shipped.zips,
        // Asked once the changes are known, before any is applied: Lambda makes the group now.
        |_, changes| {
            let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
            assert!(
                shown.contains(&format!("+ create log_group {GROUP}")),
                "{shown:#?}"
            );
            let made = aws.logs.create_log_group().log_group_name(GROUP).send();
            tokio::task::block_in_place(|| runtime.block_on(made).expect("create the group"));
            Ok(true)
        },
        &|_| {},
    )
    .await
    .expect("deploy");

    let groups = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(GROUP)
        .send()
        .await
        .expect("describe log groups");
    let [group] = groups.log_groups() else {
        panic!("{groups:?}");
    };
    assert_eq!(group.retention_in_days(), Some(7));
    // By the ARN the group answers with (moto keeps tags under any ARN it is given).
    let tags = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(group.log_group_arn().expect("the group's ARN"))
        .send()
        .await
        .expect("the group's tags");
    assert_eq!(
        tags.tags().cloned().unwrap_or_default(),
        [("chalice:app", "logs"), ("chalice:stage", "dev")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    );
}
