//! `deployer package`: CloudFormation and SAM templates of the example app (every stage) and of a second
//! app using failure handling, filters, a given role, log retention, a VPC, layers, a custom bus and a
//! table by stream ARN. Each template passes cfn-lint; each SAM template transforms with
//! aws-sam-translator and the result passes cfn-lint; two runs write the same bytes; the bucket binding
//! is a custom resource merging entries; and the CloudFormation template created as a stack on moto
//! makes what `deploy` makes on another moto, resource by resource.
//!
//! cfn-lint and aws-sam-translator come from `scripts/moto.sh` (target/moto-venv).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use chalice_codegen::plan::Plan;
use serde_json::Value;

use support::aws::{ACCESS_KEY, SECRET_KEY};
use support::checks::{self, Problems};
use support::deployer::{self, Run};
use support::fixtures;
use support::inventory::{self, Inventory, Scope};
use support::moto::{Moto, find_moto_server};
use support::policy::{condition_value, principal_service, statements, string_set};
use support::project::{Project, example_source, plan_of};

/// A second app: failure handling and filters (README "Failure handling and filters"), a given role in
/// prod, log retention, VPC, layers, X-Ray, a custom bus, a table by stream ARN, managed policies.
const SHOP: &str = r#"
app shop
defaults {
    memory = 256
    log_retention = 14
    log_level = info
    tracing = active
    layers = ["arn:${partition}:lambda:${region}:${account}:layer:deps:3"]
    vpc { subnets = ["subnet-0abc1234"], security_groups = ["sg-0abc1234"] }
    policy = { "Statement": [ { "Effect": "Allow", "Action": ["s3:GetObject"],
                                "Resource": "arn:${partition}:s3:::uploads-${stage}/${aws:username}/*" } ] }
    managed_policies = ["arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"]
    tags { team = "shop" }
}
stage prod { role = "arn:aws:iam::123456789012:role/shop-prod-lambda", log_retention = 90 }
stream on_click "clicks" {
    maximum_retry_attempts = 3
    maximum_record_age = 1h
    bisect_on_error = true
    parallelization_factor = 2
    tumbling_window = 30s
    starting_position = at_timestamp("2026-01-01T00:00:00Z")
    on_failure { queue = "clicks-failed-${stage}" }
    filter = { "data": { "page": [ { "prefix": "/checkout" } ] } }
}
table on_audit "arn:${partition}:dynamodb:${region}:${account}:table/orders/stream/2026-01-01T00:00:00.000" {
    on_failure { topic = "alerts" }, filter = [ { "eventName": ["INSERT", "MODIFY"] } ]
}
queue on_order "orders" { filter = { "body": { "type": ["order"] } }, maximum_concurrency = 5 }
topic on_notice "notices" { filter_policy = { "kind": ["shipped"] }, filter_policy_scope = message_body }
bucket on_upload "uploads" { maximum_retry_attempts = 0, maximum_event_age = 1h, on_failure { queue = "dead" } }
schedule nightly cron(0 2 * * ? *) { maximum_retry_attempts = 1, on_failure { topic = "alerts" } }
rule on_partner { bus = "partners", pattern = { "source": ["partner.shop"] }, description = "Partner events" }
"#;

/// The venv scripts/moto.sh makes (beside `$MOTO_SERVER` when set).
fn venv_bin(name: &str) -> PathBuf {
    let server = find_moto_server().unwrap_or_else(|| {
        panic!("moto_server not found: run scripts/moto.sh (it installs cfn-lint too)")
    });
    let bin = server.parent().expect("moto_server's directory").join(name);
    assert!(
        bin.is_file(),
        "{} not found: run scripts/moto.sh (it installs cfn-lint and aws-sam-translator)",
        bin.display()
    );
    bin
}

/// `deployer package` of `project` with a stand-in bootstrap.
fn package(project: &Project, format: &str, stage: &str, out: &Path) -> Run {
    let bootstrap = project.write_fake_bootstrap("bootstrap", "v1");
    let mut cmd = deployer::command(
        project.path(),
        &[
            "package",
            "--format",
            format,
            "--stage",
            stage,
            "--out",
            out.to_str().expect("utf-8 path"),
            "--bootstrap",
            bootstrap.to_str().expect("utf-8 path"),
        ],
    );
    deployer::without_aws(&mut cmd);
    let run = deployer::run(&mut cmd);
    run.assert_success();
    run
}

/// cfn-lint on `template`: no error (warnings are shown).
fn cfn_lint(template: &Path) {
    let out = Command::new(venv_bin("cfn-lint"))
        .arg(template)
        .output()
        .expect("cfn-lint runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    // Exit status bits: 2 errors, 4 warnings, 8 informational; anything else is a crash.
    assert!(
        code >= 0 && code & !0b1110 == 0 && code & 2 == 0,
        "cfn-lint {} found errors (exit {code}):\n{text}",
        template.display()
    );
    if !text.trim().is_empty() {
        eprintln!("cfn-lint {}:\n{text}", template.display());
    }
}

/// The SAM template at `sam` transformed by aws-sam-translator, written beside it.
fn sam_translate(sam: &Path) -> PathBuf {
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sam_translate.py");
    let out = Command::new(venv_bin("python"))
        .arg(driver)
        .arg(sam)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "aws-sam-translator refused {}:\n{}",
        sam.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = sam.with_file_name("transformed.json");
    std::fs::write(&path, &out.stdout).expect("write the transformed template");
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

fn resources(template: &Value) -> &serde_json::Map<String, Value> {
    template["Resources"].as_object().expect("Resources")
}

/// Every stage of `source`.
fn stages(source: &str) -> Vec<String> {
    let model = chalice_codegen::load("events.chalice", source).expect("app loads");
    let mut stages: BTreeSet<String> = model.stages.keys().cloned().collect();
    stages.insert(chalice_codegen::model::DEFAULT_STAGE.to_owned());
    stages.into_iter().collect()
}

/// Both formats of every stage of `source` pass cfn-lint; each SAM template transforms and lints.
fn lint_every_stage(source: &str) {
    let project = Project::new(source);
    for stage in stages(source) {
        let cfn = project.join(format!("cfn-{stage}"));
        package(&project, "cloudformation", &stage, &cfn);
        cfn_lint(&cfn.join("template.json"));
        let sam = project.join(format!("sam-{stage}"));
        package(&project, "sam", &stage, &sam);
        cfn_lint(&sam.join("template.yaml"));
        let transformed = sam_translate(&sam.join("template.yaml"));
        cfn_lint(&transformed);
        same_resources_both_ways(
            &read_json(&cfn.join("template.json")),
            &read_json(&transformed),
        );
    }
}

/// `v` as JSON text with every object's keys sorted.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let b: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(b.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// The CloudFormation template and the transformed SAM template make the same resources: the same
/// functions, roles, rules, log groups (by name), as many permissions, and mappings and subscriptions
/// with the same settings.
fn same_resources_both_ways(cfn: &Value, sam: &Value) {
    let named = |t: &Value, ty: &str, key: &str| -> BTreeMap<String, Value> {
        resources(t)
            .values()
            .filter(|r| r["Type"] == ty)
            .map(|r| {
                let mut p = r["Properties"].clone();
                let name = p[key].as_str().unwrap_or("?").to_owned();
                if let Some(o) = p.as_object_mut() {
                    o.remove("Code");
                    // SAM tags every function `lambda:createdBy: SAM`.
                    if let Some(tags) = o.get_mut("Tags").and_then(Value::as_array_mut) {
                        tags.retain(|t| t["Key"] != "lambda:createdBy");
                    }
                }
                (name, p)
            })
            .collect()
    };
    for (ty, key) in [
        ("AWS::Lambda::Function", "FunctionName"),
        ("AWS::IAM::Role", "RoleName"),
        ("AWS::Events::Rule", "Name"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
    ] {
        assert_eq!(named(cfn, ty, key), named(sam, ty, key), "{ty} differ");
    }
    let settings = |t: &Value, ty: &str| -> BTreeSet<String> {
        resources(t)
            .values()
            .filter(|r| r["Type"] == ty)
            .map(|r| {
                let mut p = r["Properties"].clone();
                if let Some(o) = p.as_object_mut() {
                    // `Ref` (name) or `GetAtt` (ARN) of the same function, by id.
                    for k in ["FunctionName", "Endpoint"] {
                        if let Some(v) = o.get_mut(k) {
                            let id = v["Ref"]
                                .as_str()
                                .or_else(|| v["Fn::GetAtt"][0].as_str())
                                .unwrap_or("?");
                            *v = Value::String(id.to_owned());
                        }
                    }
                }
                // The offline translator resolves pseudo parameters in EventInvokeConfig with its own
                // region (`sam_translate.py`); in CloudFormation both are the stack's.
                canonical(&p)
                    .replace("${AWS::Partition}", "aws")
                    .replace("${AWS::Region}", "us-east-1")
            })
            .collect()
    };
    for ty in [
        "AWS::Lambda::EventSourceMapping",
        "AWS::SNS::Subscription",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::Permission",
        "Custom::ChaliceBucketNotifications",
    ] {
        assert_eq!(settings(cfn, ty), settings(sam, ty), "{ty} differ");
    }
}

#[test]
fn the_example_apps_templates_pass_cfn_lint_and_transform() {
    lint_every_stage(&example_source());
}

#[test]
fn a_second_app_with_failure_handling_and_filters_passes_cfn_lint_and_transforms() {
    lint_every_stage(SHOP);
    let project = Project::new(SHOP);
    let out = project.join("cfn");
    package(&project, "cloudformation", "dev", &out);
    let t = read_json(&out.join("template.json"));
    let r = resources(&t);
    let click = &r["OnClickMapping"]["Properties"];
    assert_eq!(click["StartingPosition"], "AT_TIMESTAMP");
    assert_eq!(click["StartingPositionTimestamp"], 1_767_225_600);
    assert_eq!(click["MaximumRetryAttempts"], 3);
    assert_eq!(click["MaximumRecordAgeInSeconds"], 3600);
    assert_eq!(click["BisectBatchOnFunctionError"], true);
    assert_eq!(click["ParallelizationFactor"], 2);
    assert_eq!(click["TumblingWindowInSeconds"], 30);
    assert_eq!(
        click["DestinationConfig"]["OnFailure"]["Destination"]["Fn::Sub"],
        "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:clicks-failed-dev"
    );
    assert_eq!(click["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(
        r["OnOrderMapping"]["Properties"]["ScalingConfig"]["MaximumConcurrency"],
        5
    );
    let invoke = &r["OnUploadInvokeConfig"]["Properties"];
    assert_eq!(invoke["Qualifier"], "$LATEST");
    assert_eq!(invoke["MaximumRetryAttempts"], 0);
    assert_eq!(invoke["MaximumEventAgeInSeconds"], 3600);
    let sub = &r["OnNoticeSubscription"]["Properties"];
    assert_eq!(sub["FilterPolicy"]["kind"][0], "shipped");
    assert_eq!(sub["FilterPolicyScope"], "MessageBody");
    let partner = &r["OnPartnerRule"]["Properties"];
    assert_eq!(partner["EventBusName"], "partners");
    let tags: Vec<&Value> = partner["Tags"]
        .as_array()
        .expect("rule tags")
        .iter()
        .collect();
    assert_eq!(tags.len(), 2, "chalice:app and chalice:stage: {tags:?}");
    // IAM's own variables survive Fn::Sub, escaped.
    let policy = r["OnOrderRole"]["Properties"]["Policies"][0]["PolicyDocument"].to_string();
    assert!(
        policy.contains("uploads-dev/${!aws:username}/*"),
        "{policy}"
    );
    let log_group = &r["OnOrderLogGroup"];
    assert_eq!(log_group["DeletionPolicy"], "Retain");
    assert_eq!(log_group["UpdateReplacePolicy"], "Retain");
    assert_eq!(log_group["Properties"]["RetentionInDays"], 14);
    assert_eq!(r["OnOrderFunction"]["DependsOn"][0], "OnOrderLogGroup");
    let f = &r["OnOrderFunction"]["Properties"];
    assert_eq!(f["TracingConfig"]["Mode"], "Active");
    assert_eq!(f["LoggingConfig"]["ApplicationLogLevel"], "INFO");
    assert_eq!(f["VpcConfig"]["SubnetIds"][0], "subnet-0abc1234");
    assert_eq!(
        f["Layers"][0]["Fn::Sub"],
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:deps:3"
    );
    assert!(f["Tags"].to_string().contains("\"team\""), "{}", f["Tags"]);

    // prod: the given role is used as is, and no role is made.
    let prod = project.join("cfn-prod-check");
    package(&project, "cloudformation", "prod", &prod);
    let t = read_json(&prod.join("template.json"));
    let r = resources(&t);
    assert_eq!(
        r["OnOrderFunction"]["Properties"]["Role"],
        "arn:aws:iam::123456789012:role/shop-prod-lambda"
    );
    let roles: Vec<&String> = r
        .iter()
        .filter(|(_, v)| v["Type"] == "AWS::IAM::Role")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(roles, ["ChaliceBucketNotificationsHandlerRole"]);
}

#[test]
fn sam_uses_sams_event_types_where_they_are_exact() {
    let project = Project::new(SHOP);
    let out = project.join("sam");
    package(&project, "sam", "dev", &out);
    let text = std::fs::read_to_string(out.join("template.yaml")).expect("read");
    let python = venv_bin("python");
    let parsed = Command::new(&python)
        .args([
            "-c",
            "import json,sys; from samtranslator.yaml_helper import yaml_parse; \
             print(json.dumps(yaml_parse(open(sys.argv[1]).read())))",
        ])
        .arg(out.join("template.yaml"))
        .output()
        .expect("python runs");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let t: Value = serde_json::from_slice(&parsed.stdout).expect("JSON");
    assert_eq!(t["Transform"], "AWS::Serverless-2016-10-31");
    let r = resources(&t);
    let f = |id: &str| &r[id]["Properties"];
    assert_eq!(r["OnOrderFunction"]["Type"], "AWS::Serverless::Function");
    assert_eq!(f("OnOrderFunction")["CodeUri"], "bootstrap-x86_64.zip");
    assert_eq!(f("OnOrderFunction")["Events"]["Queue"]["Type"], "SQS");
    assert_eq!(
        f("OnOrderFunction")["Events"]["Queue"]["Properties"]["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(f("OnClickFunction")["Events"]["Stream"]["Type"], "Kinesis");
    assert_eq!(f("OnAuditFunction")["Events"]["Table"]["Type"], "DynamoDB");
    assert_eq!(f("OnNoticeFunction")["Events"]["Topic"]["Type"], "SNS");
    assert_eq!(
        f("NightlyFunction")["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"],
        "SNS"
    );
    // Rules stay plain (tags and target id as `deploy` makes them).
    assert_eq!(r["NightlyRule"]["Type"], "AWS::Events::Rule");
    assert!(r.get("OnOrderMapping").is_none() && r.get("OnNoticeSubscription").is_none());
    // The YAML reads back as plain PyYAML reads it, too (no value taken for another type).
    assert!(
        text.contains("Transform: AWS::Serverless-2016-10-31"),
        "{text}"
    );
}

#[test]
fn two_runs_write_the_same_bytes() {
    for source in [example_source(), SHOP.to_owned()] {
        let project = Project::new(&source);
        for format in ["cloudformation", "sam"] {
            let (a, b) = (
                project.join(format!("{format}-a")),
                project.join(format!("{format}-b")),
            );
            package(&project, format, "dev", &a);
            package(&project, format, "dev", &b);
            let files = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
                std::fs::read_dir(dir)
                    .expect("read dir")
                    .map(|e| {
                        let e = e.expect("entry");
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read(e.path()).expect("read"),
                        )
                    })
                    .collect()
            };
            let (fa, fb) = (files(&a), files(&b));
            assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
            assert!(fa.len() >= 2, "{:?}", fa.keys());
            for (name, bytes) in &fa {
                assert!(
                    bytes == &fb[name],
                    "{format}: {name} differs between two runs"
                );
            }
        }
    }
}

#[test]
fn a_bucket_binding_is_a_custom_resource_that_merges_by_id() {
    let project = Project::new(&example_source());
    let out = project.join("cfn");
    package(&project, "cloudformation", "dev", &out);
    let t = read_json(&out.join("template.json"));
    let r = resources(&t);
    // Nothing replaces the bucket's configuration wholesale.
    assert!(
        r.values().all(|v| v["Type"] != "AWS::S3::Bucket"
            && v["Properties"].get("NotificationConfiguration").is_none()),
        "the template must not own the bucket"
    );
    let c = &r["OnUploadBucketNotifications"];
    assert_eq!(c["Type"], "Custom::ChaliceBucketNotifications");
    assert_eq!(c["DependsOn"][0], "OnUploadPermission");
    let p = &c["Properties"];
    assert_eq!(p["Bucket"], "mybucket-name");
    assert_eq!(p["Entries"][0]["Id"], "orders-dev-on_upload");
    assert_eq!(p["Entries"][0]["Prefix"], "images/");
    assert_eq!(p["Entries"][0]["Suffix"], ".png");
    let handler = &r["ChaliceBucketNotificationsHandler"]["Properties"];
    let code = handler["Code"]["ZipFile"].as_str().expect("inline code");
    assert!(code.contains("def merge(") && code.contains("LambdaFunctionConfigurations"));
    let permission = &r["OnUploadPermission"]["Properties"];
    assert_eq!(permission["SourceAccount"]["Ref"], "AWS::AccountId");
    assert_eq!(
        permission["SourceArn"]["Fn::Sub"],
        "arn:${AWS::Partition}:s3:::mybucket-name"
    );
}

/// What a stack or a deploy made, normalised: functions (minus what moto's CloudFormation drops: tags,
/// architectures, logging, tracing, layers, ephemeral storage), roles, rules, permissions (without
/// their statement ids, which CloudFormation chooses) and mappings.
fn view(inv: &Inventory) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, f) in &inv.functions {
        let c = f.config().expect("configuration");
        let env: BTreeMap<String, String> = c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        out.insert(
            format!("function {name}"),
            format!(
                "{:?} {:?} {:?} {:?} {:?} {env:?} {:?} {:?}",
                c.runtime(),
                c.handler(),
                c.role(),
                c.memory_size(),
                c.timeout(),
                c.code_sha256(),
                f.reserved_concurrency()
            ),
        );
        let mut grants: Vec<String> = statements(f.policy.as_ref().unwrap_or(&Value::Null))
            .iter()
            .map(|s| {
                format!(
                    "{:?} {:?} {:?} {:?} {:?}",
                    principal_service(s),
                    string_set(s.get("Action")),
                    string_set(s.get("Resource")),
                    condition_value(s, "AWS:SourceArn"),
                    condition_value(s, "AWS:SourceAccount"),
                )
            })
            .collect();
        grants.sort();
        out.insert(format!("permissions {name}"), format!("{grants:?}"));
    }
    for (name, r) in &inv.roles {
        let policies: BTreeMap<&String, BTreeSet<String>> = r
            .policies
            .iter()
            .map(|(k, doc)| (k, statements(doc).iter().map(canonical).collect()))
            .collect();
        out.insert(
            format!("role {name}"),
            format!(
                "{} {} {:?} {policies:?} {:?}",
                r.arn,
                canonical(&r.trust),
                r.attached,
                r.tags
            ),
        );
    }
    for ((bus, name), r) in &inv.rules {
        let d = &r.describe;
        let pattern: Option<Value> = d
            .event_pattern()
            .map(|p| serde_json::from_str(p).expect("pattern"));
        out.insert(
            format!("rule {bus:?} {name}"),
            format!(
                "{:?} {:?} {pattern:?} {:?} {:?} {:?} {:?}",
                d.arn(),
                d.schedule_expression(),
                d.description(),
                d.state(),
                r.targets,
                r.tags
            ),
        );
    }
    // A table's stream ARN carries the time its stream was made: each moto has its own.
    let source = |arn: Option<&str>| -> String {
        let arn = arn.unwrap_or("");
        match inv.table_streams.iter().find(|(_, a)| a.as_str() == arn) {
            Some((table, _)) => format!("the stream of table {table}"),
            None => arn.to_owned(),
        }
    };
    for m in inv.app_mappings() {
        let filters: BTreeSet<String> = m
            .filter_criteria()
            .map(|c| {
                c.filters()
                    .iter()
                    .filter_map(|f| f.pattern())
                    .map(|p| {
                        serde_json::from_str::<Value>(p)
                            .expect("filter")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            format!(
                "mapping {:?} ← {}",
                m.function_arn(),
                source(m.event_source_arn())
            ),
            format!(
                "{:?} {:?} {:?} {:?} {:?} {filters:?} {:?} {:?} {:?} {:?} {:?}",
                m.batch_size(),
                m.maximum_batching_window_in_seconds().filter(|w| *w != 0),
                m.starting_position(),
                m.function_response_types(),
                m.scaling_config(),
                m.maximum_retry_attempts(),
                m.maximum_record_age_in_seconds(),
                m.bisect_batch_on_function_error(),
                m.parallelization_factor(),
                m.destination_config(),
            ),
        );
    }
    out
}

/// What moto's CloudFormation cannot create (checked with cfn-lint only): SNS subscriptions and event
/// invoke configurations are not supported, and the bucket notifications' custom resource would need
/// moto to run its inline Python function (which needs Docker). They, and the custom resource's
/// handler and role, are taken out of the template before CreateStack.
fn without_what_moto_lacks(mut template: Value) -> Value {
    let r = template["Resources"].as_object_mut().expect("Resources");
    r.retain(|id, v| {
        let ty = v["Type"].as_str().unwrap_or("");
        !(ty.starts_with("Custom::")
            || ty == "AWS::SNS::Subscription"
            || ty == "AWS::Lambda::EventInvokeConfig"
            || id.starts_with("ChaliceBucketNotifications"))
    });
    template
}

/// moto's CloudFormation stores an `AWS::IAM::Role`'s `Policies` as Python's repr of the document
/// (`{'Version': ...}`), which IAM (and AWS) never answers; this re-puts each such document as the JSON
/// it stands for, changing nothing else, so the inventory can read it.
async fn moto_role_policies_as_json(aws: &chalice_deployer::aws::Clients, path: &str) {
    let roles = aws
        .iam
        .list_roles()
        .path_prefix(path)
        .send()
        .await
        .expect("ListRoles");
    for role in roles.roles() {
        let name = role.role_name();
        let names = aws
            .iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .expect("policies");
        for policy in names.policy_names() {
            let doc = aws
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .expect("GetRolePolicy");
            let raw = percent_decode(doc.policy_document());
            if serde_json::from_str::<Value>(&raw).is_ok() {
                continue;
            }
            let out = Command::new(venv_bin("python"))
                .args([
                    "-c",
                    "import ast,json,sys; print(json.dumps(ast.literal_eval(sys.argv[1])))",
                    &raw,
                ])
                .output()
                .expect("python runs");
            assert!(
                out.status.success(),
                "{raw}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            aws.iam
                .put_role_policy()
                .role_name(name)
                .policy_name(policy)
                .policy_document(String::from_utf8_lossy(&out.stdout).trim())
                .send()
                .await
                .expect("PutRolePolicy");
        }
    }
}

/// `%XX` escapes decoded (IAM URL-encodes policy documents).
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn cloudformation_client(moto: &Moto) -> aws_sdk_cloudformation::Client {
    use aws_sdk_sts::config::Credentials;
    let config = moto
        .options()
        .loader()
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .load()
        .await;
    aws_sdk_cloudformation::Client::new(&config)
}

/// Creates the stack `name` from `template` with `parameters`; panics unless it completes.
async fn create_stack(moto: &Moto, name: &str, template: &Value, parameters: &[(String, String)]) {
    let cfn = cloudformation_client(moto).await;
    cfn.create_stack()
        .stack_name(name)
        .template_body(template.to_string())
        .capabilities(Capability::CapabilityNamedIam)
        .set_parameters(Some(
            parameters
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ))
        .send()
        .await
        .expect("CreateStack");
    let stacks = cfn
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .expect("DescribeStacks");
    let stack = &stacks.stacks()[0];
    assert_eq!(
        stack.stack_status(),
        Some(&StackStatus::CreateComplete),
        "{:?}\n{}",
        stack.stack_status_reason(),
        moto.log_text()
    );
}

async fn stack_vs_deploy(source: &str) {
    let plan: Plan = plan_of(source);
    let project = Project::new(source);
    let bootstrap = project.write_fake_bootstrap("bootstrap", "v1");

    // `deploy` on one moto.
    let deployed = Moto::start();
    let aws_a = deployed.clients().await;
    fixtures::create_sources(&aws_a, &plan).await;
    let mut cmd = deployer::against(
        &deployed,
        project.path(),
        &[
            "deploy",
            "--yes",
            "--bootstrap",
            bootstrap.to_str().expect("utf-8"),
        ],
    );
    deployer::run(&mut cmd).assert_success();

    // The CloudFormation template as a stack on another.
    let out = project.join("cfn");
    package(&project, "cloudformation", "dev", &out);
    let template = read_json(&out.join("template.json"));
    let stacked = Moto::start();
    let aws_b = stacked.clients().await;
    fixtures::create_sources(&aws_b, &plan).await;
    fixtures::create_bucket(&aws_b, "code-bucket").await;
    let mut parameters = vec![("CodeBucket".to_owned(), "code-bucket".to_owned())];
    for (id, p) in template["Parameters"].as_object().expect("Parameters") {
        if let Some(key) = p["Default"].as_str() {
            let arch = id.trim_start_matches("CodeKey").to_lowercase();
            let file = if arch == "x8664" {
                "bootstrap-x86_64.zip"
            } else {
                "bootstrap-arm64.zip"
            };
            let zip = std::fs::read(out.join(file)).expect("zip");
            aws_b
                .s3
                .put_object()
                .bucket("code-bucket")
                .key(key)
                .body(zip.into())
                .send()
                .await
                .expect("upload the zip");
        }
        if id.ends_with("StreamArn") {
            let tables: Vec<String> = plan
                .event_source_mappings
                .iter()
                .filter_map(|m| match &m.source {
                    chalice_codegen::plan::MappingSource::Table { table } => Some(table.clone()),
                    _ => None,
                })
                .collect();
            let arn = inventory::table_stream_arn(&aws_b, &tables[0]).await;
            parameters.push((id.clone(), arn));
        }
    }
    create_stack(
        &stacked,
        "app-stack",
        &without_what_moto_lacks(template),
        &parameters,
    )
    .await;

    // Buckets are not compared: moto cannot run the custom resource (and answers an empty notification
    // configuration with a root element the SDK cannot read).
    let mut scope = Scope::of(&plan);
    scope.buckets.clear();
    moto_role_policies_as_json(&aws_b, &scope.role_path).await;
    let (a, b) = (
        Inventory::read(&aws_a, &scope).await,
        Inventory::read(&aws_b, &scope).await,
    );
    // moto keeps the stack's own resources apart from what it tags them with.
    let (va, vb) = (view(&a), view(&b));
    let lines = |v: &BTreeMap<String, String>| -> Vec<String> {
        v.iter().map(|(k, x)| format!("{k}: {x}")).collect()
    };
    let (la, lb) = (lines(&va), lines(&vb));
    let only_a: Vec<&String> = la.iter().filter(|l| !lb.contains(l)).collect();
    let only_b: Vec<&String> = lb.iter().filter(|l| !la.contains(l)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "deploy and the stack differ:\n--- deploy only:\n{}\n+++ stack only:\n{}",
        only_a
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        only_b
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    // And the stack passes the checks `deploy` passes (what moto's CloudFormation keeps of them).
    let mut p = Problems::default();
    checks::check_roles(&b, &plan, &mut p);
    checks::check_rules(&b, &plan, &mut p);
    checks::check_mappings(&b, &plan, &mut p);
    assert!(p.0.is_empty(), "{:#?}", p.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_apps_stack_on_moto_makes_what_deploy_makes() {
    stack_vs_deploy(&example_source()).await;
}
