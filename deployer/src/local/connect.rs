//! Connects each binding's event source to its handler, the way Lambda would deliver it:
//! queues and streams polled directly; topics, buckets and pattern rules through queues the runner
//! owns, so the emulator does the routing, filtering and pattern matching; schedules on a local clock.
//!
//! Everything the runner creates or changes is recorded as a [`Cleanup`] in its [`Journal`], undone
//! in reverse on exit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chalice_codegen::plan::{self, AwsContext, Function, MappingSource, Plan};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::cleanup::{Cleanup, mapping_enabled, set_mapping_enabled, take_off_mapping};
use super::console::say;
use super::destinations::{Destination, LocalInvoke, Target};
use super::filter::Filters;
use super::functions::LocalHandler;
use super::leftovers::Journal;
use super::pollers::asynchronous::{AsyncPolicy, RETRY_DELAYS};
use super::pollers::sqs::{self, QueueSource, Shape};
use super::pollers::streams::{self, StreamSource};
use super::pollers::{clock, supervise};
use super::routing::{self, RouteQueue};
use super::{Deliver, Shutdown};
use crate::aws::Clients;
use crate::resources::sources::queue_info;
use crate::resources::{CallError, mapping, rule, subscription};

/// How many messages a routed queue's poller takes per receive (each is its own invocation).
/// Each message is handled in turn, so one is taken at a time: a message waiting behind others'
/// retries would otherwise outlive its visibility timeout.
const ROUTED_BATCH: u32 = 1;
/// Added to a route queue's visibility timeout beyond its handler's attempts and pauses.
const ROUTE_VISIBILITY_MARGIN_S: u32 = 30;
/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY_S: u32 = 43_200;

/// What [`connect`] works from.
pub struct Wiring<'a> {
    pub clients: &'a Clients,
    pub plan: &'a Plan,
    pub ctx: &'a AwsContext,
    pub handlers: &'a BTreeMap<String, Arc<LocalHandler>>,
    /// Per schedule handler: notified to fire one now.
    pub fires: &'a BTreeMap<String, Arc<Notify>>,
    pub shutdown: Shutdown,
    /// This run's id, in the name of everything the runner creates.
    pub run: &'a str,
}

/// Starts a poller (or clock) task per binding; what it creates or changes is recorded in `cleanup`
/// as it goes, so a failure half-way (or a `kill -9`) still leaves a complete list.
pub async fn connect(
    w: &Wiring<'_>,
    tasks: &mut JoinSet<()>,
    cleanup: &mut Journal,
) -> Result<(), CallError> {
    let c = w.clients;
    let region = w.ctx.region.clone();
    let handler = |name: &str| {
        w.handlers
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::other("connect", name, "no such handler in the plan"))
    };

    // The runner is the poller while it runs: the deployed mappings are off, so an emulator that
    // runs them (moto tries SQS ones on every SendMessage, LocalStack runs them all) does not take
    // the records too. Disabling is enough on AWS, but moto ignores `Enabled=false` on a DynamoDB
    // mapping (it invokes the function on each write and drops the stream records), so a table's
    // mapping is deleted, and made again as it was on exit (recorded first, so a killed runner's
    // successor gives it back). On AWS a mapping made again starts at its starting position, as a
    // fresh deploy's would. moto 5.2 does not honour the deletion either (the table keeps its own
    // list of mappings): the note says what to do there.
    let mapped: BTreeSet<&str> = w
        .plan
        .event_source_mappings
        .iter()
        .map(|m| m.function.as_str())
        .collect();
    for handler in mapped {
        let name = &function_of(w, handler)?.name;
        for live in mapping::list_mappings(c, name).await? {
            let enabled = mapping_enabled(c, &live.uuid).await?;
            if is_table_stream(&live.spec.source_arn) {
                cleanup.push(Cleanup::TakenOffMapping {
                    uuid: live.uuid.clone(),
                    spec: live.spec,
                    enabled,
                });
                take_off_mapping(c, &live.uuid).await?;
                say(&format!(
                    "note: {handler}'s table mapping is off while the runner runs (back on exit); \
                     on moto, where it was ever created, moto still takes the table's records: \
                     run against the runner's own emulator (no AWS_ENDPOINT_URL) to get them"
                ));
            } else if enabled {
                cleanup.push(Cleanup::Mapping {
                    uuid: live.uuid.clone(),
                });
                set_mapping_enabled(c, &live.uuid, false).await?;
            }
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
                    filters: Filters::new(&m.filters)
                        .map_err(|e| CallError::other("connect", &m.id, e.to_string()))?,
                    async_policy: None,
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
                let mut source = StreamSource::from_mapping(m, &stream_arn, &region)
                    .map_err(|e| CallError::other("connect", &stream_arn, e.to_string()))?;
                source.function_arn = function_arn(w, &m.function)?;
                if let Some(f) = &m.stream_failure
                    && (f.parallelization_factor > 1 || f.tumbling_window_s > 0)
                {
                    say(&format!(
                        "note: {} reads one batch per shard at a time locally, without a tumbling \
                         window (parallelization_factor and tumbling_window apply on AWS only)",
                        m.function
                    ));
                }
                source.on_failure = m
                    .stream_failure
                    .as_ref()
                    .and_then(|f| f.on_failure.as_ref())
                    .map(|d| destination(w, d));
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
        let lambda_subscription = subscription::subscribe(c, &topic, &function_arn, None).await?;
        let queue = route_queue(w, &s.function, &topic, cleanup).await?;
        let subscription = routing::subscribe_queue_to_topic(c, &topic, &queue.arn).await?;
        cleanup.push(Cleanup::Subscription {
            arn: subscription.clone(),
        });
        if let Some(filter) = &s.filter_policy {
            // The emulator applies the policy when it delivers to the runner's queue, as SNS
            // would before invoking the function.
            routing::set_filter_policy(c, &subscription, &filter.policy, filter.scope.as_str())
                .await?;
        }
        let shape = Shape::Topic {
            subscription_arn: lambda_subscription,
        };
        spawn_queue(
            tasks,
            c,
            routed_source(queue, &region, shape, async_policy(w, &s.function)?),
            deliver,
            w.shutdown.clone(),
        );
    }

    for n in &w.plan.bucket_notifications {
        let deliver = handler(&n.function)?;
        let bucket_arn = format!("arn:{}:s3:::{}", w.ctx.partition, n.bucket);
        let queue = route_queue(w, &n.function, &bucket_arn, cleanup).await?;
        let id = routing::bucket_entry_id(w.run, &n.notification_id);
        // Recorded first: removing an entry that was never added is harmless.
        cleanup.push(Cleanup::BucketEntry {
            bucket: n.bucket.clone(),
            id: id.clone(),
        });
        routing::add_bucket_queue_entry(
            c,
            &n.bucket,
            &id,
            &queue.arn,
            &n.events,
            n.prefix.as_deref(),
            n.suffix.as_deref(),
        )
        .await?;
        spawn_queue(
            tasks,
            c,
            routed_source(queue, &region, Shape::Bucket, async_policy(w, &n.function)?),
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
        // Only a target that is there is taken off (and given back): another runner of the app
        // may have taken it off already, and gives it back itself.
        let targets = rule::list_targets(c, &r.name, bus.as_deref()).await?;
        if targets.iter().any(|(id, _)| *id == r.target_id) {
            cleanup.push(Cleanup::LambdaTarget {
                rule: r.name.clone(),
                bus: bus.clone(),
                target_id: r.target_id.clone(),
                function_arn: function_arn(w, &r.function)?,
            });
            routing::remove_target(c, &r.name, bus.as_deref(), &r.target_id).await?;
        }
        if let Some(schedule) = &r.schedule {
            let schedule = clock::Timetable::of(schedule)
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
                async_policy(w, &r.function)?,
                deliver,
                fire,
                w.shutdown.clone(),
            ));
            continue;
        }
        let queue = route_queue(w, &r.function, &rule_arn, cleanup).await?;
        let target_id = routing::rule_target_id(w.run);
        cleanup.push(Cleanup::RuleTarget {
            rule: r.name.clone(),
            bus: bus.clone(),
            target_id: target_id.clone(),
        });
        routing::point_rule_at_queue(c, &r.name, bus.as_deref(), &queue.arn, &target_id).await?;
        spawn_queue(
            tasks,
            c,
            routed_source(queue, &region, Shape::Rule, async_policy(w, &r.function)?),
            deliver,
            w.shutdown.clone(),
        );
    }
    Ok(())
}

/// `arn:aws:dynamodb:...:table/NAME/stream/LABEL`: a table's stream.
fn is_table_stream(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("dynamodb")
}

fn function_of<'p>(w: &Wiring<'p>, handler: &str) -> Result<&'p Function, CallError> {
    w.plan
        .function(handler)
        .ok_or_else(|| CallError::other("connect", handler, "no such function in the plan"))
}

fn function_arn(w: &Wiring<'_>, handler: &str) -> Result<String, CallError> {
    function_of(w, handler).map(|f| f.arn.resolve(w.ctx))
}

/// Creates the runner's queue for `handler`, which `source_arn` may send to.
async fn route_queue(
    w: &Wiring<'_>,
    handler: &str,
    source_arn: &str,
    cleanup: &mut Journal,
) -> Result<RouteQueue, CallError> {
    let name = routing::route_queue_name(w.run, &w.plan.app, &w.plan.stage, handler);
    let queue = routing::create_route_queue(w.clients, &name, source_arn).await?;
    cleanup.push(Cleanup::Queue {
        url: queue.url.clone(),
    });
    // The runner retries a failed event while it holds the message: it stays hidden for every
    // attempt (each up to the function's timeout) and the pauses between them.
    let timeout = function_of(w, handler)?.timeout_s;
    let attempts = async_policy(w, handler)?.max_retries + 1;
    let pauses = RETRY_DELAYS
        .iter()
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .fold(0u32, u32::saturating_add);
    let visibility = timeout
        .saturating_mul(attempts)
        .saturating_add(pauses)
        .saturating_add(ROUTE_VISIBILITY_MARGIN_S)
        .min(MAX_VISIBILITY_S);
    routing::set_visibility_timeout(w.clients, &queue.url, visibility).await?;
    Ok(queue)
}

fn routed_source(
    queue: RouteQueue,
    region: &str,
    shape: Shape,
    policy: AsyncPolicy,
) -> QueueSource {
    QueueSource {
        queue_url: queue.url,
        queue_arn: queue.arn,
        region: region.to_owned(),
        batch_size: ROUTED_BATCH,
        batching_window: None,
        shape,
        filters: Filters::default(),
        async_policy: Some(policy),
    }
}

/// How `handler`'s asynchronous events are retried and given up: its invoke config (or Lambda's
/// defaults) and its on-failure destination.
fn async_policy(w: &Wiring<'_>, handler: &str) -> Result<AsyncPolicy, CallError> {
    let config = w.plan.invoke_config(handler);
    let on_failure = config
        .and_then(|c| c.on_failure.as_ref())
        .map(|d| destination(w, d));
    Ok(AsyncPolicy::from_plan(
        config,
        &function_arn(w, handler)?,
        on_failure,
    ))
}

/// A planned destination, reachable from here: a function that is one of the app's handlers is
/// invoked locally.
fn destination(w: &Wiring<'_>, d: &plan::Destination) -> Destination {
    let arn = d.arn.resolve(w.ctx);
    let local = w
        .plan
        .functions
        .iter()
        .find(|f| f.arn.resolve(w.ctx) == arn)
        .and_then(|f| w.handlers.get(&f.handler).cloned())
        .map(|handler| -> LocalInvoke {
            Arc::new(move |record| {
                let handler = Arc::clone(&handler);
                Box::pin(async move {
                    handler
                        .deliver(record, "an on-failure record".to_owned())
                        .await
                })
            })
        });
    Destination::new(w.clients.clone(), Target::new(d.kind, arn, local))
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
