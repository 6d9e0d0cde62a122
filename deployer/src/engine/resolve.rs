//! Plan + account context + source lookups → the concrete desired resources ([`Desired`]), every
//! ARN filled in, each kind resolved by its own module. Every problem (a missing source, a queue AWS
//! would refuse) is collected, not just the first, and reported before anything is written.

use chalice_codegen::plan::Plan;

use super::desired::{Desired, DesiredResource};
use crate::aws::AwsContext;
use crate::resources::{self, CodeSet, Identity, Lookups, Recorded, Resolver, artifacts};

/// The desired resources of `plan`, and every problem that stops it from being deployed.
///
/// `code` empty means "not known": functions carry no code and no code object is desired.
pub fn desired(
    plan: &Plan,
    ctx: &AwsContext,
    code: &CodeSet,
    lookups: &Lookups,
) -> (Desired, Vec<String>) {
    let mut r = Resolver {
        plan,
        ctx,
        code,
        lookups,
        problems: Vec::new(),
    };
    let resources = resources::desired(&mut r)
        .into_iter()
        .map(|(id, spec)| DesiredResource { id, spec })
        .collect();
    (
        Desired {
            resources,
            code_known: !code.is_empty(),
            deleting_stage: false,
        },
        r.problems,
    )
}

/// The log group of every function among `recorded` (Lambda's `/aws/lambda/<function>`), for
/// `delete --logs`.
pub fn log_group_identities(recorded: &[Recorded]) -> Vec<Recorded> {
    recorded
        .iter()
        .filter_map(|r| match &r.identity {
            Identity::Function { name } => Some(Recorded {
                key: format!("log_group.{name}"),
                identity: Identity::LogGroup {
                    name: chalice_codegen::plan::log_group_name(name),
                },
                owned: true,
                physical_id: None,
            }),
            _ => None,
        })
        .collect()
}

/// What `delete` looks for besides the state file: every identity the plan names, every mapping of
/// the stage's functions, and every code zip under the stage's prefix. No lookups needed.
pub fn plan_identities(plan: &Plan, ctx: &AwsContext) -> Vec<Recorded> {
    let mut out = Vec::new();
    let mut push = |key: &str, identity: Identity| {
        out.push(Recorded {
            key: key.to_string(),
            identity,
            owned: true,
            physical_id: None,
        })
    };
    push(
        "artifacts.code",
        Identity::CodeObject {
            bucket: artifacts::bucket_name(ctx),
            key: format!("{}*", artifacts::prefix(plan)),
        },
    );
    for role in &plan.roles {
        push(
            &role.id,
            Identity::Role {
                name: role.name.clone(),
            },
        );
        for arn in &role.managed_policies {
            let policy_arn = arn.resolve(ctx);
            push(
                &format!("attachment.{}@{policy_arn}", role.function),
                Identity::Attachment {
                    role: role.name.clone(),
                    policy_arn,
                },
            );
        }
    }
    for f in &plan.functions {
        push(
            &f.id,
            Identity::Function {
                name: f.name.clone(),
            },
        );
        // Every mapping of a function of ours is ours (whatever its source, e.g. an old table stream).
        push(
            &format!("mapping.{}", f.handler),
            Identity::Mapping {
                function: f.name.clone(),
                source_arn: "*".into(),
            },
        );
    }
    for r in &plan.rules {
        push(
            &r.id,
            Identity::Rule {
                name: r.name.clone(),
                bus: r.event_bus.clone(),
            },
        );
    }
    for p in &plan.permissions {
        if let Some(f) = plan.function(&p.function) {
            push(
                &p.id,
                Identity::Permission {
                    function: f.name.clone(),
                    statement_id: p.statement_id.clone(),
                },
            );
        }
    }
    for n in &plan.bucket_notifications {
        push(
            &n.id,
            Identity::Notification {
                bucket: n.bucket.clone(),
                id: n.notification_id.clone(),
            },
        );
    }
    for s in &plan.subscriptions {
        if let Some(f) = plan.function(&s.function) {
            push(
                &s.id,
                Identity::Subscription {
                    topic_arn: s.topic_arn.resolve(ctx),
                    endpoint: f.arn.resolve(ctx),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::sources::{QueueInfo, TableStream};
    use std::collections::BTreeMap;

    use crate::resources::{CodeDigest, Spec};

    fn ctx() -> AwsContext {
        AwsContext {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    fn plan(source: &str) -> Plan {
        let model = chalice_codegen::load("events.chalice", source)
            .unwrap_or_else(|d| panic!("{}", d.render(false)));
        chalice_codegen::emit_plan::plan(&model, "dev").unwrap()
    }

    const APP: &str = r#"app orders
defaults { timeout = 60s }
schedule tick rate(1 hour)
queue on_order "jobs" { batch_size = 10 }
table on_audit "audit" { starting_position = latest }
topic on_notice "news"
"#;

    fn code() -> CodeSet {
        BTreeMap::from([(
            "x86_64".to_string(),
            CodeDigest {
                sha256: "c2hh".into(),
                sha256_hex: "abcdef0123456789".into(),
                size: 10,
            },
        )])
    }

    fn found_everything(p: &Plan) -> Lookups {
        let _ = p;
        Lookups {
            queues: BTreeMap::from([(
                "arn:aws:sqs:us-east-1:123456789012:jobs".to_string(),
                Some(QueueInfo {
                    url: "u".into(),
                    visibility_timeout_s: 360,
                }),
            )]),
            streams: BTreeMap::new(),
            tables: BTreeMap::from([(
                "audit".to_string(),
                TableStream::Arn(
                    "arn:aws:dynamodb:us-east-1:123456789012:table/audit/stream/2026".into(),
                ),
            )]),
            destinations: BTreeMap::new(),
        }
    }

    #[test]
    fn everything_resolves_to_concrete_arns() {
        let p = plan(APP);
        let (d, problems) = desired(&p, &ctx(), &code(), &found_everything(&p));
        assert_eq!(problems, Vec::<String>::new());
        assert!(d.code_known);
        let text = serde_json::to_string(&d).unwrap();
        assert!(
            !text.contains("{account}") && !text.contains("{region}"),
            "placeholders left: {text}"
        );
        let Some(Spec::Function(f)) = d.get("function.tick") else {
            panic!()
        };
        assert_eq!(
            f.role_arn,
            "arn:aws:iam::123456789012:role/chalice/orders/dev/orders-dev-tick"
        );
        let code = f.code.as_ref().unwrap();
        assert_eq!(
            code.s3,
            Some((
                "chalice-rs-artifacts-123456789012-us-east-1".to_string(),
                "orders/dev/bootstrap-abcdef0123456789.zip".to_string()
            ))
        );
        let Some(Spec::Mapping(m)) = d.get("mapping.on_audit") else {
            panic!()
        };
        assert_eq!(
            m.source_arn,
            "arn:aws:dynamodb:us-east-1:123456789012:table/audit/stream/2026"
        );
        assert_eq!(m.batching_window_s, 0);
        let Some(Spec::Role(r)) = d.get("role.on_audit") else {
            panic!()
        };
        let policy = r.policy.as_ref().unwrap().to_string();
        assert!(
            policy.contains("arn:aws:dynamodb:us-east-1:123456789012:table/audit/stream/*"),
            "{policy}"
        );
        assert!(d.get("artifacts.code.abcdef012345").is_some());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let p = plan(APP);
        let mut lookups = found_everything(&p);
        lookups.queues.values_mut().for_each(|q| {
            if let Some(q) = q {
                q.visibility_timeout_s = 30;
            }
        });
        lookups.tables.insert("audit".into(), TableStream::NoStream);
        let (d, problems) = desired(&p, &ctx(), &code(), &lookups);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains("visibility timeout of 30 s, shorter than the 60 s timeout"),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].contains("`audit` has no stream"),
            "{}",
            problems[1]
        );
        assert!(d.get("mapping.on_audit").is_none());

        lookups.queues.values_mut().for_each(|q| *q = None);
        lookups
            .tables
            .insert("audit".into(), TableStream::MissingTable);
        let (_, problems) = desired(&p, &ctx(), &code(), &lookups);
        assert!(problems[0].contains("queue `jobs`"), "{problems:?}");
        assert!(
            problems[1].contains("table `audit` does not exist"),
            "{problems:?}"
        );
    }

    #[test]
    fn without_code_nothing_about_code_is_desired() {
        let p = plan(APP);
        let (d, problems) = desired(&p, &ctx(), &CodeSet::new(), &found_everything(&p));
        assert!(problems.is_empty());
        assert!(!d.code_known);
        assert!(d.functions().all(|f| f.code.is_none()));
        assert!(
            !d.resources
                .iter()
                .any(|r| matches!(r.spec, Spec::CodeObject(_) | Spec::ArtifactsBucket(_)))
        );
    }

    #[test]
    fn delete_looks_for_every_mapping_and_code_zip_of_the_stage() {
        let ids = plan_identities(&plan(APP), &ctx());
        assert!(ids.iter().any(|r| r.identity
            == Identity::Mapping {
                function: "orders-dev-on_order".into(),
                source_arn: "*".into()
            }));
        assert!(ids.iter().any(|r| r.identity
            == Identity::CodeObject {
                bucket: "chalice-rs-artifacts-123456789012-us-east-1".into(),
                key: "orders/dev/*".into()
            }));
        assert!(ids.iter().all(|r| r.owned));
    }

    #[test]
    fn an_inline_policy_over_iams_limit_stops_the_deploy() {
        let statements: Vec<String> = (0..120)
            .map(|i| {
                format!(
                    r#"{{ "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket-{i}-{}/*" }}"#,
                    "x".repeat(40)
                )
            })
            .collect();
        let source = format!(
            "app orders\ndefaults {{ policy = {{ \"Statement\": [{}] }} }}\nschedule tick rate(1 hour)\n",
            statements.join(", ")
        );
        let p = plan(&source);
        let (_, problems) = desired(&p, &ctx(), &code(), &Lookups::default());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("the inline policy of role `orders-dev-tick` is ")
                && problems[0].contains("IAM allows 10240"),
            "{}",
            problems[0]
        );
        let (_, problems) = desired(&plan(APP), &ctx(), &code(), &found_everything(&plan(APP)));
        assert!(problems.is_empty(), "{problems:?}");
    }
}
