//! Connects each binding's event source to its handler, the way Lambda would deliver it:
//! queues and streams polled directly; topics, buckets and pattern rules through queues the runner
//! owns, so the emulator does the routing, filtering and pattern matching; schedules on a local clock.
//!
//! Everything the runner creates is listed as a [`Cleanup`], undone in reverse on exit.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chalice_codegen::plan::{AwsContext, Function, MappingSource, Plan};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::functions::LocalHandler;
use super::routes::{self, RouteQueue};
use super::sqs::{self, QueueSource, Shape};
use super::streams::{self, StreamSource};
use super::{Shutdown, clock, stopped};
use crate::aws::Clients;
use crate::resources::sources::queue_info;
use crate::resources::{CallError, mapping, subscription};

/// The target id of the runner's queue on a pattern rule.
const RULE_TARGET_ID: &str = "chalice-local";
/// How many messages a routed queue's poller takes per receive (each is its own invocation).
const ROUTED_BATCH: u32 = 10;
/// The longest pause before restarting a poller that stopped with an error.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

/// What [`connect`] works from.
pub struct Wiring<'a> {
    pub clients: &'a Clients,
    pub plan: &'a Plan,
    pub ctx: &'a AwsContext,
    pub handlers: &'a BTreeMap<String, Arc<LocalHandler>>,
    /// Per schedule handler: notified to fire one now.
    pub fires: &'a BTreeMap<String, Arc<Notify>>,
    pub shutdown: Shutdown,
}

/// Something the runner created for itself (or changed), to undo on exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleanup {
    Queue {
        url: String,
    },
    Subscription {
        arn: String,
    },
    BucketEntry {
        bucket: String,
        id: String,
    },
    /// The runner's queue target on a rule.
    RuleTarget {
        rule: String,
        bus: Option<String>,
    },
    /// The app's event source mapping, disabled while the runner polls its source.
    Mapping {
        uuid: String,
    },
    /// The app's Lambda target, taken off a rule while the runner delivers its events.
    LambdaTarget {
        rule: String,
        bus: Option<String>,
        target_id: String,
        function_arn: String,
    },
}

impl fmt::Display for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cleanup::Queue { url } => write!(f, "the runner's queue {url}"),
            Cleanup::Subscription { arn } => write!(f, "the runner's subscription {arn}"),
            Cleanup::BucketEntry { bucket, id } => {
                write!(f, "the runner's notification entry {id} on bucket {bucket}")
            }
            Cleanup::RuleTarget { rule, .. } => write!(f, "the runner's target on rule {rule}"),
            Cleanup::Mapping { uuid } => write!(f, "(re-enabling) the event source mapping {uuid}"),
            Cleanup::LambdaTarget { rule, .. } => {
                write!(f, "(restoring) the function's target on rule {rule}")
            }
        }
    }
}

/// Undoes one [`Cleanup`].
pub async fn undo(c: &Clients, item: &Cleanup) -> Result<(), CallError> {
    match item {
        Cleanup::Queue { url } => routes::delete_route_queue(c, url).await,
        Cleanup::Subscription { arn } => routes::unsubscribe_queue(c, arn).await,
        Cleanup::BucketEntry { bucket, id } => routes::remove_bucket_queue_entry(c, bucket, id)
            .await
            .map(|_| ()),
        Cleanup::RuleTarget { rule, bus } => {
            routes::remove_target(c, rule, bus.as_deref(), RULE_TARGET_ID).await
        }
        Cleanup::Mapping { uuid } => set_mapping_enabled(c, uuid, true).await,
        Cleanup::LambdaTarget {
            rule,
            bus,
            target_id,
            function_arn,
        } => routes::restore_lambda_target(c, rule, bus.as_deref(), target_id, function_arn).await,
    }
}

/// Starts a poller (or clock) task per binding; what it creates is appended to `cleanup` as it goes,
/// so a failure half-way still leaves a complete list.
pub async fn connect(
    w: &Wiring<'_>,
    tasks: &mut JoinSet<()>,
    cleanup: &mut Vec<Cleanup>,
) -> Result<(), CallError> {
    let c = w.clients;
    let region = w.ctx.region.clone();
    let handler = |name: &str| {
        w.handlers
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::other("connect", name, "no such handler in the plan"))
    };

    // The runner is the poller while it runs: the deployed mappings are disabled, so an emulator
    // that runs them (moto tries SQS ones on every SendMessage, LocalStack runs them all) does not
    // take the records too.
    let mapped: BTreeSet<&str> = w
        .plan
        .event_source_mappings
        .iter()
        .map(|m| m.function.as_str())
        .collect();
    for handler in mapped {
        let name = &function_of(w, handler)?.name;
        for live in mapping::list_mappings(c, name).await? {
            set_mapping_enabled(c, &live.uuid, false).await?;
            cleanup.push(Cleanup::Mapping { uuid: live.uuid });
        }
    }

    for m in &w.plan.event_source_mappings {
        let deliver = handler(&m.function)?;
        match &m.source {
            MappingSource::Queue { arn } => {
                let arn = arn.resolve(w.ctx);
                let info = queue_info(c, &arn, &w.ctx.account).await?.ok_or_else(|| {
                    CallError::other("GetQueueUrl", &arn, "the queue does not exist")
                })?;
                let source = QueueSource {
                    queue_url: info.url,
                    queue_arn: arn,
                    region: region.clone(),
                    batch_size: m.batch_size,
                    batching_window: m
                        .batching_window_s
                        .filter(|s| *s > 0)
                        .map(|s| Duration::from_secs(s.into())),
                    shape: Shape::Queue,
                };
                spawn_queue(tasks, c, source, deliver, w.shutdown.clone());
            }
            source => {
                let stream_arn = match source {
                    MappingSource::Table { table } => streams::table_stream_arn(c, table)
                        .await
                        .map_err(|e| CallError::other("DescribeTable", table, e.to_string()))?,
                    MappingSource::Stream { arn } | MappingSource::TableStream { arn } => {
                        arn.resolve(w.ctx)
                    }
                    MappingSource::Queue { .. } => unreachable!("matched above"),
                };
                let source = StreamSource::from_mapping(m, &stream_arn, &region)
                    .map_err(|e| CallError::other("connect", &stream_arn, e.to_string()))?;
                let clients = c.clone();
                supervise(
                    tasks,
                    format!("the poller of {stream_arn}"),
                    w.shutdown.clone(),
                    move |shutdown| {
                        streams::run(
                            clients.clone(),
                            source.clone(),
                            Arc::clone(&deliver),
                            shutdown,
                        )
                    },
                );
            }
        }
    }

    for s in &w.plan.subscriptions {
        let deliver = handler(&s.function)?;
        let topic = s.topic_arn.resolve(w.ctx);
        let function_arn = function_arn(w, &s.function)?;
        // Subscribe is idempotent: this answers the deployed subscription's ARN.
        let lambda_subscription = subscription::subscribe(c, &topic, &function_arn).await?;
        let queue = route_queue(w, &s.function, &topic, cleanup).await?;
        let subscription = routes::subscribe_queue_to_topic(c, &topic, &queue.arn).await?;
        cleanup.push(Cleanup::Subscription { arn: subscription });
        let shape = Shape::Topic {
            subscription_arn: lambda_subscription,
        };
        spawn_queue(
            tasks,
            c,
            routed_source(queue, &region, shape),
            deliver,
            w.shutdown.clone(),
        );
    }

    for n in &w.plan.bucket_notifications {
        let deliver = handler(&n.function)?;
        let bucket_arn = format!("arn:{}:s3:::{}", w.ctx.partition, n.bucket);
        let queue = route_queue(w, &n.function, &bucket_arn, cleanup).await?;
        let id = format!("chalice-local-{}", n.notification_id);
        routes::add_bucket_queue_entry(
            c,
            &n.bucket,
            &id,
            &queue.arn,
            &n.events,
            n.prefix.as_deref(),
            n.suffix.as_deref(),
        )
        .await?;
        cleanup.push(Cleanup::BucketEntry {
            bucket: n.bucket.clone(),
            id,
        });
        spawn_queue(
            tasks,
            c,
            routed_source(queue, &region, Shape::Bucket),
            deliver,
            w.shutdown.clone(),
        );
    }

    for r in &w.plan.rules {
        let deliver = handler(&r.function)?;
        let rule_arn = r.arn.resolve(w.ctx);
        let bus = r.event_bus.clone();
        // The runner delivers the rule's events itself, so the function's target comes off while it
        // runs and goes back on exit. On moto this is also what makes PutEvents work: it answers
        // HTTP 500 to any event a rule with a Lambda target matches (it cannot run Lambda targets),
        // and a schedule rule, having no pattern, matches every event.
        routes::remove_target(c, &r.name, bus.as_deref(), &r.target_id).await?;
        cleanup.push(Cleanup::LambdaTarget {
            rule: r.name.clone(),
            bus: bus.clone(),
            target_id: r.target_id.clone(),
            function_arn: function_arn(w, &r.function)?,
        });
        if let Some(expression) = &r.schedule_expression {
            let schedule = clock::Schedule::parse(expression)
                .map_err(|e| CallError::other("connect", &r.name, e.to_string()))?;
            let fire = w
                .fires
                .get(&r.function)
                .cloned()
                .unwrap_or_else(|| Arc::new(Notify::new()));
            tasks.spawn(clock::run(
                schedule,
                rule_arn,
                w.ctx.clone(),
                deliver,
                fire,
                w.shutdown.clone(),
            ));
            continue;
        }
        let queue = route_queue(w, &r.function, &rule_arn, cleanup).await?;
        routes::point_rule_at_queue(c, &r.name, bus.as_deref(), &queue.arn, RULE_TARGET_ID).await?;
        cleanup.push(Cleanup::RuleTarget {
            rule: r.name.clone(),
            bus,
        });
        spawn_queue(
            tasks,
            c,
            routed_source(queue, &region, Shape::Rule),
            deliver,
            w.shutdown.clone(),
        );
    }
    Ok(())
}

fn function_of<'p>(w: &Wiring<'p>, handler: &str) -> Result<&'p Function, CallError> {
    w.plan
        .function(handler)
        .ok_or_else(|| CallError::other("connect", handler, "no such function in the plan"))
}

fn function_arn(w: &Wiring<'_>, handler: &str) -> Result<String, CallError> {
    function_of(w, handler).map(|f| f.arn.resolve(w.ctx))
}

async fn set_mapping_enabled(c: &Clients, uuid: &str, enabled: bool) -> Result<(), CallError> {
    c.lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .enabled(enabled)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("UpdateEventSourceMapping", uuid, e))
}

/// Creates the runner's queue for `handler`, which `source_arn` may send to.
async fn route_queue(
    w: &Wiring<'_>,
    handler: &str,
    source_arn: &str,
    cleanup: &mut Vec<Cleanup>,
) -> Result<RouteQueue, CallError> {
    let name = routes::route_queue_name(&w.plan.app, &w.plan.stage, handler);
    let queue = routes::create_route_queue(w.clients, &name, source_arn).await?;
    cleanup.push(Cleanup::Queue {
        url: queue.url.clone(),
    });
    Ok(queue)
}

fn routed_source(queue: RouteQueue, region: &str, shape: Shape) -> QueueSource {
    QueueSource {
        queue_url: queue.url,
        queue_arn: queue.arn,
        region: region.to_owned(),
        batch_size: ROUTED_BATCH,
        batching_window: None,
        shape,
    }
}

fn spawn_queue(
    tasks: &mut JoinSet<()>,
    c: &Clients,
    source: QueueSource,
    deliver: Arc<LocalHandler>,
    shutdown: Shutdown,
) {
    let sqs = c.sqs.clone();
    supervise(
        tasks,
        format!("the poller of {}", source.queue_name()),
        shutdown,
        move |shutdown| sqs::run(sqs.clone(), source.clone(), Arc::clone(&deliver), shutdown),
    );
}

/// Runs a poller until shutdown; one that stops with an error is said and restarted, with a
/// growing pause (the emulator may be restarting, a queue may be recreated).
fn supervise<F, Fut, E>(tasks: &mut JoinSet<()>, label: String, mut shutdown: Shutdown, start: F)
where
    F: Fn(Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: fmt::Display,
{
    tasks.spawn(async move {
        let mut delay = Duration::from_secs(1);
        loop {
            match start(shutdown.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    if *shutdown.borrow() {
                        return;
                    }
                    eprintln!(
                        "warning: {label} stopped: {e}; restarting it in {} s",
                        delay.as_secs()
                    );
                }
            }
            tokio::select! {
                _ = stopped(&mut shutdown) => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RESTART_DELAY);
        }
    });
}
