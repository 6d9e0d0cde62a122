//! Plans rendered against in-memory desired and live values (no SDK).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::*;
use crate::engine::desired::DesiredResource;
use crate::resources::artifacts::{ArtifactsBucketSpec, CodeObjectSpec, LiveArtifacts};
use crate::resources::function::{CodeRef, FunctionSpec, LiveFunction, Logging};
use crate::resources::mapping::{LiveMapping, MappingSpec};
use crate::resources::notification::NotificationSpec;
use crate::resources::permission::PermissionSpec;
use crate::resources::role::{LiveRole, RoleSpec};
use crate::resources::rule::{LiveRule, RuleSpec};
use crate::resources::subscription::{LiveSubscription, SubscriptionSpec};
use crate::resources::{ResourceKind, Spec};

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "chalice-rs-artifacts-123456789012-us-east-1";
const KEY: &str = "orders/dev/bootstrap-aaaa.zip";

fn fn_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("chalice:app".to_string(), "orders".to_string()),
        ("chalice:stage".to_string(), "dev".to_string()),
    ])
}

fn role() -> RoleSpec {
    RoleSpec {
        name: "orders-dev".into(),
        path: "/chalice/orders/dev/".into(),
        trust_policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        policy_name: "orders-dev".into(),
        policy: Some(json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/orders-dev-tick:*"]},
            {"Sid": "SqsConsume", "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
             "Resource": ["arn:aws:sqs:us-east-1:123456789012:jobs"]}]})),
        tags: tags(),
    }
}

fn function(handler: &str) -> FunctionSpec {
    FunctionSpec {
        name: format!("orders-dev-{handler}"),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/orders-dev"),
        handler: handler.into(),
        runtime: "provided.al2023".into(),
        architecture: "x86_64".into(),
        memory_mb: 128,
        timeout_s: 60,
        env: BTreeMap::from([("LOG_LEVEL".to_string(), "info".to_string())]),
        tags: tags(),
        reserved_concurrency: None,
        code: Some(CodeRef {
            sha256: "c2hhLW9uZQ==".into(),
            s3: Some((BUCKET.into(), KEY.into())),
        }),
        logging: Some(Logging {
            format: "Text".into(),
            level: None,
        }),
        tracing: "PassThrough".into(),
        layers: Vec::new(),
        ephemeral_storage_mb: 512,
        vpc: None,
    }
}

fn rule() -> RuleSpec {
    RuleSpec {
        name: "orders-dev-audit".into(),
        bus: None,
        schedule_expression: None,
        event_pattern: Some(json!({"source": ["aws.s3"], "detail-type": ["Object Created"]})),
        description: None,
        state: "ENABLED".into(),
        target_id: "orders-dev-audit".into(),
        target_arn: Some(fn_arn("orders-dev-audit")),
        tags: tags(),
    }
}

fn permission(handler: &str, principal: &str, source: &str, account: bool) -> PermissionSpec {
    PermissionSpec {
        function: format!("orders-dev-{handler}"),
        statement_id: format!("chalice-{handler}"),
        action: "lambda:InvokeFunction".into(),
        principal: principal.into(),
        source_arn: Some(source.into()),
        source_account: account.then(|| ACCOUNT.to_string()),
    }
}

fn notification() -> NotificationSpec {
    NotificationSpec {
        bucket: "uploads".into(),
        id: "orders-dev-upload".into(),
        function_arn: fn_arn("orders-dev-upload"),
        events: vec!["s3:ObjectCreated:*".into(), "s3:ObjectRemoved:*".into()],
        prefix: Some("images/".into()),
        suffix: None,
    }
}

fn subscription() -> SubscriptionSpec {
    SubscriptionSpec {
        topic_arn: format!("arn:aws:sns:us-east-1:{ACCOUNT}:news"),
        endpoint: fn_arn("orders-dev-notice"),
        filter: None,
    }
}

fn mapping() -> MappingSpec {
    MappingSpec {
        function: "orders-dev-jobs".into(),
        source_arn: format!("arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"),
        batch_size: 10,
        batching_window_s: 5,
        starting_position: None,
        starting_position_timestamp: None,
        maximum_concurrency: None,
        report_batch_item_failures: true,
        filters: Vec::new(),
        stream: None,
    }
}

/// An app with one handler of each push kind, a queue, shared role and code.
fn desired() -> Desired {
    let mut resources = vec![
        DesiredResource {
            id: "artifacts.bucket".into(),
            spec: Spec::ArtifactsBucket(ArtifactsBucketSpec {
                bucket: BUCKET.into(),
                region: "us-east-1".into(),
            }),
        },
        DesiredResource {
            id: "artifacts.code.aaaa".into(),
            spec: Spec::CodeObject(CodeObjectSpec {
                bucket: BUCKET.into(),
                key: KEY.into(),
                sha256_hex: "aaaa".into(),
                size: 1000,
            }),
        },
        DesiredResource {
            id: "role".into(),
            spec: Spec::Role(role()),
        },
    ];
    for h in ["audit", "upload", "notice", "jobs"] {
        resources.push(DesiredResource {
            id: format!("function.{h}"),
            spec: Spec::Function(function(h)),
        });
    }
    let s3 = "arn:aws:s3:::uploads";
    let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:news");
    let rule_arn = format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/orders-dev-audit");
    resources.extend([
        DesiredResource {
            id: "rule.audit".into(),
            spec: Spec::Rule(rule()),
        },
        DesiredResource {
            id: "permission.audit".into(),
            spec: Spec::Permission(permission(
                "audit",
                "events.amazonaws.com",
                &rule_arn,
                false,
            )),
        },
        DesiredResource {
            id: "permission.upload".into(),
            spec: Spec::Permission(permission("upload", "s3.amazonaws.com", s3, true)),
        },
        DesiredResource {
            id: "notification.upload".into(),
            spec: Spec::Notification(notification()),
        },
        DesiredResource {
            id: "permission.notice".into(),
            spec: Spec::Permission(permission("notice", "sns.amazonaws.com", &topic, false)),
        },
        DesiredResource {
            id: "subscription.notice".into(),
            spec: Spec::Subscription(subscription()),
        },
        DesiredResource {
            id: "mapping.jobs".into(),
            spec: Spec::Mapping(mapping()),
        },
    ]);
    Desired {
        resources,
        code_known: true,
        deleting_stage: false,
    }
}

/// Nothing of the app exists; the sources do.
fn empty_live() -> Live {
    let mut live = Live {
        artifacts: Some(LiveArtifacts::default()),
        ..Live::default()
    };
    live.roles.insert("orders-dev".into(), None);
    for h in ["audit", "upload", "notice", "jobs"] {
        live.functions.insert(format!("orders-dev-{h}"), None);
    }
    live.rules.insert((None, "orders-dev-audit".into()), None);
    live.buckets.insert("uploads".into(), Some(Vec::new()));
    live.topics.insert(
        format!("arn:aws:sns:us-east-1:{ACCOUNT}:news"),
        Some(Vec::new()),
    );
    live
}

/// Everything deployed as desired, echoed back in AWS's own shapes.
fn deployed_live() -> Live {
    let mut live = empty_live();
    live.artifacts = Some(LiveArtifacts {
        bucket_exists: true,
        keys: BTreeSet::from([KEY.to_string()]),
    });
    // IAM answers with its own key order and a single Action as a string.
    let mut echoed = role();
    echoed.trust_policy = json!({"Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}}], "Version": "2012-10-17"});
    live.roles.insert(
        "orders-dev".into(),
        Some(LiveRole {
            arn: format!("arn:aws:iam::{ACCOUNT}:role/orders-dev"),
            spec: echoed,
        }),
    );
    for h in ["audit", "upload", "notice", "jobs"] {
        let mut spec = function(h);
        spec.code.as_mut().unwrap().s3 = None;
        spec.tags
            .insert("aws:cloudformation:stack-name".into(), "x".into());
        live.functions.insert(
            spec.name.clone(),
            Some(LiveFunction {
                arn: fn_arn(&spec.name),
                spec,
                state: Some("Active".into()),
                last_update_status: Some("Successful".into()),
            }),
        );
    }
    let mut echoed = rule();
    echoed.event_pattern = Some(json!({"detail-type": ["Object Created"], "source": ["aws.s3"]}));
    echoed.description = Some(String::new());
    live.rules.insert(
        (None, "orders-dev-audit".into()),
        Some(LiveRule {
            arn: format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/orders-dev-audit"),
            spec: echoed,
            target_ids: vec!["orders-dev-audit".into()],
        }),
    );
    let d = desired();
    for r in &d.resources {
        if let Spec::Permission(p) = &r.spec {
            live.policies
                .entry(p.function.clone())
                .or_default()
                .push(p.clone());
        }
    }
    let mut n = notification();
    n.events.reverse();
    let theirs = NotificationSpec {
        id: "someone-else".into(),
        function_arn: fn_arn("other"),
        ..notification()
    };
    live.buckets.insert("uploads".into(), Some(vec![theirs, n]));
    live.topics.insert(
        format!("arn:aws:sns:us-east-1:{ACCOUNT}:news"),
        Some(vec![
            LiveSubscription {
                arn: "arn:aws:sns:us-east-1:123456789012:news:other".into(),
                protocol: "sqs".into(),
                endpoint: "arn:aws:sqs:us-east-1:123456789012:theirs".into(),
                filter: None,
            },
            LiveSubscription {
                arn: "arn:aws:sns:us-east-1:123456789012:news:s1".into(),
                protocol: "lambda".into(),
                endpoint: fn_arn("orders-dev-notice"),
                filter: None,
            },
        ]),
    );
    live.mappings.insert(
        "orders-dev-jobs".into(),
        vec![LiveMapping {
            uuid: "uuid-1".into(),
            spec: mapping(),
        }],
    );
    live
}

fn recorded_all() -> Vec<Recorded> {
    desired()
        .resources
        .iter()
        .map(|r| Recorded {
            key: r.id.clone(),
            identity: r.spec.identity(),
            owned: true,
            physical_id: None,
        })
        .collect()
}

#[test]
fn fresh_deploy_creates_everything_in_dependency_order() {
    let changes = diff(&desired(), &empty_live(), &[]);
    let (artifacts, app): (Vec<_>, Vec<_>) = desired()
        .resources
        .into_iter()
        .partition(|r| r.spec.identity().kind().is_artifact());
    assert_eq!(Counts::of(&changes).create, app.len());
    let shown = ArtifactChanges::of(&changes);
    assert_eq!(
        (shown.bucket_create.is_some(), shown.zips_upload),
        (true, artifacts.len() - 1),
        "the bucket and the code zips are counted apart"
    );
    insta::assert_snapshot!(render(&changes, false));
}

#[test]
fn deployed_as_desired_is_no_change_despite_aws_shapes() {
    let changes = diff(&desired(), &deployed_live(), &recorded_all());
    assert_eq!(changes, [], "{}", render(&changes, false));
    assert_eq!(
        render(&changes, false),
        "No changes. Everything is up to date.\n"
    );
}

#[test]
fn edits_show_field_by_field() {
    let mut d = desired();
    for r in &mut d.resources {
        match &mut r.spec {
            Spec::Function(f) if f.handler == "audit" => {
                f.memory_mb = 256;
                f.env.insert("LOG_LEVEL".into(), "debug".into());
                f.env.insert("FEATURE".into(), "on".into());
                f.reserved_concurrency = Some(2);
            }
            Spec::Function(f) if f.handler == "jobs" => {
                f.code.as_mut().unwrap().sha256 = "c2hhLXR3bw==".into();
            }
            Spec::Rule(rule) => {
                rule.event_pattern = Some(json!({"source": ["aws.s3", "aws.ec2"]}));
                rule.description = Some("Audit".into());
            }
            Spec::Role(role) => {
                role.policy.as_mut().unwrap()["Statement"][1]["Resource"] = json!([
                    "arn:aws:sqs:us-east-1:123456789012:jobs",
                    "arn:aws:sqs:us-east-1:123456789012:more"
                ]);
            }
            Spec::Permission(p) if p.function.ends_with("upload") => {
                p.source_arn = Some("arn:aws:s3:::pictures".into());
            }
            Spec::Notification(n) => n.suffix = Some(".png".into()),
            Spec::Mapping(m) => {
                m.batch_size = 20;
                m.maximum_concurrency = Some(5);
            }
            _ => {}
        }
    }
    let changes = diff(&d, &deployed_live(), &recorded_all());
    let counts = Counts::of(&changes);
    assert_eq!((counts.create, counts.update, counts.delete), (0, 7, 0));
    insta::assert_snapshot!(render(&changes, false));
}

#[test]
fn removed_bindings_and_duplicates_are_deleted_dependents_first() {
    let mut live = deployed_live();
    // A retried create left a second mapping, a second subscription and (moto only) a second
    // statement with the same id.
    let upload = live.policies.get_mut("orders-dev-upload").unwrap();
    upload.push(upload[0].clone());
    live.mappings
        .get_mut("orders-dev-jobs")
        .unwrap()
        .push(LiveMapping {
            uuid: "uuid-2".into(),
            spec: mapping(),
        });
    if let Some(Some(subs)) = live.topics.values_mut().next() {
        subs.push(LiveSubscription {
            arn: "arn:aws:sns:us-east-1:123456789012:news:s2".into(),
            protocol: "lambda".into(),
            endpoint: fn_arn("orders-dev-notice"),
            filter: None,
        });
    }
    // The recorded mapping is the second one: it is kept, the first is the duplicate.
    let mut recorded = recorded_all();
    for r in &mut recorded {
        if r.key == "mapping.jobs" {
            r.physical_id = Some("uuid-2".into());
        }
    }
    // The `audit` handler was removed from the app.
    let mut d = desired();
    d.resources.retain(|r| !r.id.ends_with(".audit"));
    // Something recorded that is already gone: nothing to do.
    recorded.push(Recorded {
        key: "function.gone".into(),
        identity: Identity::Function {
            name: "orders-dev-gone".into(),
        },
        owned: true,
        physical_id: None,
    });
    live.functions.insert("orders-dev-gone".into(), None);
    let changes = diff(&d, &live, &recorded);
    insta::assert_snapshot!(render(&changes, false));
    let dup = changes
        .iter()
        .find(|c| c.kind == ResourceKind::LambdaEventSourceMapping)
        .unwrap();
    assert_eq!(dup.physical_id.as_deref(), Some("uuid-1"));
}

#[test]
fn a_notification_moved_to_another_bucket_is_replaced() {
    let mut d = desired();
    for r in &mut d.resources {
        if let Spec::Notification(n) = &mut r.spec {
            n.bucket = "pictures".into();
        }
    }
    let mut live = deployed_live();
    live.buckets.insert("pictures".into(), Some(Vec::new()));
    let changes = diff(&d, &live, &recorded_all());
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "+ create s3_bucket_notification orders-dev-upload/pictures",
            "- delete s3_bucket_notification orders-dev-upload/uploads",
        ]
    );
    assert_eq!(changes[1].id, "notification.upload");
}

#[test]
fn delete_sweeps_everything_named_and_recorded() {
    let mut recorded = recorded_all();
    // `delete` also looks for every mapping of the stage's functions and every code zip of the stage.
    recorded.push(Recorded {
        key: "mapping.jobs".into(),
        identity: Identity::Mapping {
            function: "orders-dev-jobs".into(),
            source_arn: "*".into(),
        },
        owned: true,
        physical_id: None,
    });
    recorded.push(Recorded {
        key: "artifacts.code".into(),
        identity: Identity::CodeObject {
            bucket: BUCKET.into(),
            key: "orders/dev/*".into(),
        },
        owned: true,
        physical_id: None,
    });
    let mut live = deployed_live();
    live.artifacts
        .as_mut()
        .unwrap()
        .keys
        .insert("orders/dev/bootstrap-old.zip".into());
    live.mappings
        .get_mut("orders-dev-jobs")
        .unwrap()
        .push(LiveMapping {
            uuid: "uuid-k".into(),
            spec: MappingSpec {
                source_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/clicks".into(),
                ..mapping()
            },
        });
    let nothing = Desired {
        resources: Vec::new(),
        code_known: true,
        deleting_stage: false,
    };
    let changes = diff(&nothing, &live, &recorded);
    insta::assert_snapshot!(render(&changes, false));
    assert!(changes.iter().all(Change::is_delete));

    // A shared artifacts bucket this stage did not make is left alone.
    for r in &mut recorded {
        if r.key == "artifacts.bucket" {
            r.owned = false;
        }
    }
    let changes = diff(&nothing, &live, &recorded);
    assert!(!changes.iter().any(|c| c.kind == ResourceKind::S3Bucket));

    // Deleting again finds nothing.
    assert_eq!(diff(&nothing, &empty_live(), &recorded), []);
}

#[test]
fn unknown_code_is_neither_compared_nor_cleaned_up() {
    let mut d = desired();
    d.code_known = false;
    d.resources
        .retain(|r| !matches!(r.spec, Spec::ArtifactsBucket(_) | Spec::CodeObject(_)));
    for r in &mut d.resources {
        if let Spec::Function(f) = &mut r.spec {
            f.code = None;
        }
    }
    let mut live = deployed_live();
    live.artifacts = None;
    for f in live.functions.values_mut().flatten() {
        f.spec.code.as_mut().unwrap().sha256 = "ZGlmZmVyZW50".into();
    }
    assert_eq!(diff(&d, &live, &recorded_all()), []);
}

#[test]
fn new_code_uploads_once_and_updates_every_function() {
    let mut d = desired();
    for r in &mut d.resources {
        match &mut r.spec {
            Spec::CodeObject(o) => o.key = "orders/dev/bootstrap-bbbb.zip".into(),
            Spec::Function(f) => f.code.as_mut().unwrap().sha256 = "bmV3".into(),
            _ => {}
        }
        if r.id.starts_with("artifacts.code.") {
            r.id = "artifacts.code.bbbb".into();
        }
    }
    let changes = diff(&d, &deployed_live(), &recorded_all());
    let lines: Vec<String> = changes
        .iter()
        .map(|c| c.to_string().lines().next().unwrap().to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "+ create s3_object chalice-rs-artifacts-123456789012-us-east-1/orders/dev/bootstrap-bbbb.zip",
            "~ update lambda_function orders-dev-audit",
            "~ update lambda_function orders-dev-upload",
            "~ update lambda_function orders-dev-notice",
            "~ update lambda_function orders-dev-jobs",
            "- delete s3_object chalice-rs-artifacts-123456789012-us-east-1/orders/dev/bootstrap-aaaa.zip",
        ]
    );
}

#[test]
fn json_lists_changes_and_counts() {
    let mut d = desired();
    d.resources.retain(|r| r.id == "mapping.jobs");
    if let Spec::Mapping(m) = &mut d.resources[0].spec {
        m.batch_size = 1;
    }
    let changes = diff(&d, &deployed_live(), &[]);
    insta::assert_json_snapshot!(to_json(&changes));
}

#[test]
fn colour_paints_only_the_first_line() {
    let mut d = desired();
    d.resources.retain(|r| r.id == "mapping.jobs");
    if let Spec::Mapping(m) = &mut d.resources[0].spec {
        m.batch_size = 1;
    }
    let text = render(&diff(&d, &deployed_live(), &[]), true);
    assert!(text.starts_with("\x1b[33m~ update lambda_event_source_mapping orders-dev-jobs/jobs\x1b[0m\n    batch_size: 10 → 1\n"), "{text:?}");
}
