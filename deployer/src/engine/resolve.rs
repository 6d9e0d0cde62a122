//! Plan + account context + source lookups → the concrete desired resources ([`Desired`]), every
//! ARN filled in. Every problem (a missing source, a queue AWS would refuse) is collected, not just the
//! first, and reported before anything is written.

use std::collections::{BTreeMap, BTreeSet};

use chalice_codegen::plan::{MappingSource, Plan};
use futures_util::StreamExt;
use futures_util::stream;
use serde_json::json;

use crate::aws::{AwsContext, Clients};
use crate::engine::spec::{
    ArtifactsBucketSpec, CodeObjectSpec, CodeRef, Desired, DesiredResource, FunctionSpec, Identity,
    MappingSpec, NotificationSpec, PermissionSpec, Recorded, RoleSpec, RuleSpec, Spec,
    SubscriptionSpec,
};
use crate::resources::CallError;
use crate::resources::mappings::normalize_timestamp;
use crate::resources::sources::{self, QueueInfo, TableStream, arn_parts};

/// How many source lookups run at once.
const LOOKUP_CONCURRENCY: usize = 16;

/// One code zip's hashes (the zip itself stays with the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDigest {
    /// base64 sha256: Lambda's `CodeSha256`.
    pub sha256: String,
    pub sha256_hex: String,
    pub size: usize,
}

/// The code per architecture (`x86_64`, `arm64`); empty when not known (`plan` without a bootstrap).
pub type CodeSet = BTreeMap<String, CodeDigest>;

/// The deployer-managed bucket for code zips: one per account and region, shared by every app.
pub fn artifacts_bucket(ctx: &AwsContext) -> String {
    format!("chalice-rs-artifacts-{}-{}", ctx.account, ctx.region)
}

/// Where this stage's code zips live in the artifacts bucket.
pub fn artifacts_prefix(plan: &Plan) -> String {
    format!("{}/{}/", plan.app, plan.stage)
}

pub fn code_key(plan: &Plan, digest: &CodeDigest) -> String {
    format!(
        "{}bootstrap-{}.zip",
        artifacts_prefix(plan),
        digest.sha256_hex
    )
}

/// What the source lookups found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookups {
    /// By queue ARN; `None`: the queue does not exist.
    pub queues: BTreeMap<String, Option<QueueInfo>>,
    /// By stream ARN: whether it exists.
    pub streams: BTreeMap<String, bool>,
    /// By table name.
    pub tables: BTreeMap<String, TableStream>,
}

/// Looks up every queue, stream and table the plan's mappings read from (concurrently).
pub async fn lookup(plan: &Plan, ctx: &AwsContext, c: &Clients) -> Result<Lookups, CallError> {
    enum Found {
        Queue(String, Option<QueueInfo>),
        Stream(String, bool),
        Table(String, TableStream),
    }
    let mut queues = BTreeSet::new();
    let mut streams = BTreeSet::new();
    let mut tables = BTreeSet::new();
    for m in &plan.event_source_mappings {
        match &m.source {
            MappingSource::Queue { arn } => queues.insert(arn.resolve(ctx)),
            MappingSource::Stream { arn } => streams.insert(arn.resolve(ctx)),
            // A stream ARN given literally is used as written (no DynamoDB Streams client to check it).
            MappingSource::TableStream { .. } => false,
            MappingSource::Table { table } => tables.insert(table.clone()),
        };
    }
    let mut futures: Vec<futures_util::future::BoxFuture<'_, Result<Found, CallError>>> =
        Vec::new();
    for q in queues {
        futures.push(Box::pin(async move {
            let info = sources::queue_info(c, &q, &ctx.account).await?;
            Ok(Found::Queue(q, info))
        }));
    }
    for s in streams {
        futures.push(Box::pin(async move {
            let exists = sources::stream_exists(c, &s, &ctx.region, &ctx.account).await?;
            Ok(Found::Stream(s, exists))
        }));
    }
    for t in tables {
        futures.push(Box::pin(async move {
            let stream = sources::table_stream(c, &t).await?;
            Ok(Found::Table(t, stream))
        }));
    }
    let results: Vec<Result<Found, CallError>> = stream::iter(futures)
        .buffer_unordered(LOOKUP_CONCURRENCY)
        .collect()
        .await;
    let mut lookups = Lookups::default();
    for r in results {
        match r? {
            Found::Queue(arn, info) => {
                lookups.queues.insert(arn, info);
            }
            Found::Stream(arn, exists) => {
                lookups.streams.insert(arn, exists);
            }
            Found::Table(name, stream) => {
                lookups.tables.insert(name, stream);
            }
        }
    }
    Ok(lookups)
}

/// The desired resources of `plan`, and every problem that stops it from being deployed.
///
/// `code` empty means "not known": functions carry no code and no code object is desired.
pub fn desired(
    plan: &Plan,
    ctx: &AwsContext,
    code: &CodeSet,
    lookups: &Lookups,
) -> (Desired, Vec<String>) {
    let mut problems = Vec::new();
    let mut resources = Vec::new();
    let bucket = artifacts_bucket(ctx);
    let mut code_refs: BTreeMap<String, CodeRef> = BTreeMap::new();
    if !code.is_empty() {
        resources.push(DesiredResource {
            id: "artifacts.bucket".into(),
            spec: Spec::ArtifactsBucket(ArtifactsBucketSpec {
                bucket: bucket.clone(),
                region: ctx.region.clone(),
            }),
        });
        let mut keys = BTreeSet::new();
        for (arch, digest) in code {
            let key = code_key(plan, digest);
            code_refs.insert(
                arch.clone(),
                CodeRef {
                    sha256: digest.sha256.clone(),
                    s3: Some((bucket.clone(), key.clone())),
                },
            );
            if keys.insert(key.clone()) {
                resources.push(DesiredResource {
                    id: format!(
                        "artifacts.code.{}",
                        &digest.sha256_hex[..digest.sha256_hex.len().min(12)]
                    ),
                    spec: Spec::CodeObject(CodeObjectSpec {
                        bucket: bucket.clone(),
                        key,
                        sha256_hex: digest.sha256_hex.clone(),
                        size: digest.size,
                    }),
                });
            }
        }
    }

    resources.push(DesiredResource {
        id: plan.role.id.clone(),
        spec: Spec::Role(role(plan, ctx)),
    });
    let role_arn = role_arn(plan, ctx);
    let function_arn = |handler: &str| plan.function(handler).map(|f| f.arn.resolve(ctx));
    let function_name = |handler: &str| plan.function(handler).map(|f| f.name.clone());

    for f in &plan.functions {
        let code = if code.is_empty() {
            None
        } else {
            match code_refs.get(f.architecture.as_str()) {
                Some(c) => Some(c.clone()),
                None => {
                    problems.push(format!(
                        "function `{}` runs on {}, but no bootstrap was built for it",
                        f.name,
                        f.architecture.as_str()
                    ));
                    None
                }
            }
        };
        resources.push(DesiredResource {
            id: f.id.clone(),
            spec: Spec::Function(FunctionSpec {
                name: f.name.clone(),
                role_arn: role_arn.clone(),
                handler: f.handler.clone(),
                runtime: f.runtime.clone(),
                architecture: f.architecture.as_str().to_string(),
                memory_mb: f.memory_mb,
                timeout_s: f.timeout_s,
                env: f.env.clone(),
                tags: f.tags.clone(),
                reserved_concurrency: f.reserved_concurrency,
                code,
            }),
        });
    }
    for r in &plan.rules {
        let pattern = match &r.event_pattern {
            Some(p) => match serde_json::from_str(p) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(format!(
                        "rule `{}`: the event pattern is not JSON: {e}",
                        r.name
                    ));
                    continue;
                }
            },
            None => None,
        };
        resources.push(DesiredResource {
            id: r.id.clone(),
            spec: Spec::Rule(RuleSpec {
                name: r.name.clone(),
                bus: r.event_bus.clone(),
                schedule_expression: r.schedule_expression.clone(),
                event_pattern: pattern,
                description: r.description.clone(),
                state: "ENABLED".into(),
                target_id: r.target_id.clone(),
                target_arn: function_arn(&r.function),
                tags: plan.tags.clone(),
            }),
        });
    }
    for p in &plan.permissions {
        let Some(function) = function_name(&p.function) else {
            continue;
        };
        resources.push(DesiredResource {
            id: p.id.clone(),
            spec: Spec::Permission(PermissionSpec {
                function,
                statement_id: p.statement_id.clone(),
                action: "lambda:InvokeFunction".into(),
                principal: p.principal.clone(),
                source_arn: Some(p.source_arn.resolve(ctx)),
                source_account: p.source_account.then(|| ctx.account.clone()),
            }),
        });
    }
    for n in &plan.bucket_notifications {
        let Some(arn) = function_arn(&n.function) else {
            continue;
        };
        let mut events = n.events.clone();
        events.sort();
        events.dedup();
        resources.push(DesiredResource {
            id: n.id.clone(),
            spec: Spec::Notification(NotificationSpec {
                bucket: n.bucket.clone(),
                id: n.notification_id.clone(),
                function_arn: arn,
                events,
                prefix: n.prefix.clone(),
                suffix: n.suffix.clone(),
            }),
        });
    }
    for s in &plan.subscriptions {
        let Some(arn) = function_arn(&s.function) else {
            continue;
        };
        resources.push(DesiredResource {
            id: s.id.clone(),
            spec: Spec::Subscription(SubscriptionSpec {
                topic_arn: s.topic_arn.resolve(ctx),
                endpoint: arn,
            }),
        });
    }
    for m in &plan.event_source_mappings {
        let Some(f) = plan.function(&m.function) else {
            continue;
        };
        let source_arn = match &m.source {
            MappingSource::Queue { arn } => {
                let arn = arn.resolve(ctx);
                match lookups.queues.get(&arn) {
                    Some(Some(q)) if q.visibility_timeout_s < f.timeout_s => problems.push(format!(
                        "queue `{}` has a visibility timeout of {} s, shorter than the {} s timeout of function \
                         `{}`: AWS refuses such a mapping; set the queue's VisibilityTimeout to at least {} s \
                         (AWS advises 6 × the function timeout)",
                        queue_name(&arn),
                        q.visibility_timeout_s,
                        f.timeout_s,
                        f.name,
                        f.timeout_s
                    )),
                    Some(Some(_)) => {}
                    Some(None) => problems.push(format!(
                        "queue `{}` ({arn}) does not exist (handler `{}`)",
                        queue_name(&arn),
                        f.handler
                    )),
                    None => {}
                }
                arn
            }
            MappingSource::Stream { arn } => {
                let arn = arn.resolve(ctx);
                if lookups.streams.get(&arn) == Some(&false) {
                    problems.push(format!(
                        "Kinesis stream `{}` ({arn}) does not exist (handler `{}`)",
                        queue_name(&arn).trim_start_matches("stream/"),
                        f.handler
                    ));
                }
                arn
            }
            MappingSource::TableStream { arn } => arn.resolve(ctx),
            MappingSource::Table { table } => match lookups.tables.get(table) {
                Some(TableStream::Arn(arn)) => arn.clone(),
                Some(TableStream::MissingTable) => {
                    problems.push(format!(
                        "DynamoDB table `{table}` does not exist (handler `{}`)",
                        f.handler
                    ));
                    continue;
                }
                Some(TableStream::NoStream) => {
                    problems.push(format!(
                        "DynamoDB table `{table}` has no stream: enable DynamoDB Streams on it (handler `{}`)",
                        f.handler
                    ));
                    continue;
                }
                // Not looked up (the read phase's first pass): any stream of the table.
                None => format!(
                    "arn:{}:dynamodb:{}:{}:table/{table}/stream/*",
                    ctx.partition, ctx.region, ctx.account
                ),
            },
        };
        let timestamp = match &m.starting_position_timestamp {
            Some(t) => match normalize_timestamp(t) {
                Some(t) => Some(t),
                None => {
                    problems.push(format!(
                        "handler `{}`: `{t}` is not an RFC 3339 timestamp",
                        f.handler
                    ));
                    None
                }
            },
            None => None,
        };
        resources.push(DesiredResource {
            id: m.id.clone(),
            spec: Spec::Mapping(MappingSpec {
                function: f.name.clone(),
                source_arn,
                batch_size: m.batch_size,
                batching_window_s: m.batching_window_s.unwrap_or(0),
                starting_position: m.starting_position.clone(),
                starting_position_timestamp: timestamp,
                maximum_concurrency: m.maximum_concurrency,
                report_batch_item_failures: m.report_batch_item_failures,
            }),
        });
    }
    (
        Desired {
            resources,
            code_known: !code.is_empty(),
        },
        problems,
    )
}

/// The resource name of an ARN (a queue's name), or the ARN.
fn queue_name(arn: &str) -> &str {
    arn_parts(arn).map_or(arn, |p| p.resource)
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`
pub fn role_arn(plan: &Plan, ctx: &AwsContext) -> String {
    format!(
        "arn:{}:iam::{}:role/{}",
        ctx.partition, ctx.account, plan.role.name
    )
}

fn role(plan: &Plan, ctx: &AwsContext) -> RoleSpec {
    let r = &plan.role;
    let trust_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": r.trust_principal},
            "Action": "sts:AssumeRole",
        }],
    });
    let statements: Vec<serde_json::Value> = r
        .statements
        .iter()
        .map(|s| {
            json!({
                "Sid": s.sid,
                "Effect": "Allow",
                "Action": s.actions,
                "Resource": s.resources.iter().map(|a| a.resolve(ctx)).collect::<Vec<_>>(),
            })
        })
        .collect();
    RoleSpec {
        name: r.name.clone(),
        trust_policy,
        policy_name: r.policy_name.clone(),
        policy: (!statements.is_empty())
            .then(|| json!({"Version": "2012-10-17", "Statement": statements})),
        tags: plan.tags.clone(),
    }
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
            bucket: artifacts_bucket(ctx),
            key: format!("{}*", artifacts_prefix(plan)),
        },
    );
    push(
        &plan.role.id,
        Identity::Role {
            name: plan.role.name.clone(),
        },
    );
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
        assert_eq!(f.role_arn, "arn:aws:iam::123456789012:role/orders-dev");
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
        let Some(Spec::Role(r)) = d.get("role") else {
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
}
