//! Event source mappings: Lambda polling a queue, a Kinesis stream or a DynamoDB stream for a
//! function, with partial batch failures reported.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::types::{
    DestinationConfig, EventSourceMappingConfiguration, EventSourcePosition, Filter,
    FilterCriteria, FunctionResponseType, OnFailure, ScalingConfig,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use chalice_codegen::plan::{AwsContext, MappingSource};
use serde::{Deserialize, Serialize};

use super::call::{CallError, gone, is_role_propagation, keep_one, retry_propagation};
use super::change::{Action, Change, DeleteReason, FieldChange, Recorded};
use super::compare::{canonical_text, field};
use super::identity::matches;
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError, Wanted};
use super::sources::{TableStream, arn_parts};
use crate::aws::{Attempts, Clients};

/// An event source mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingSpec {
    /// The function's name.
    pub function: String,
    pub source_arn: String,
    pub batch_size: u32,
    /// 0 when not set (what Lambda reports then).
    pub batching_window_s: u32,
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<String>,
    pub maximum_concurrency: Option<u32>,
    pub report_batch_item_failures: bool,
    /// `FilterCriteria` patterns, canonical JSON, sorted (their order does not matter: any passes).
    pub filters: Vec<String>,
    /// Streams and tables only (`None` for queues).
    pub stream: Option<StreamSettings>,
}

/// What a stream or table mapping does with a batch its function fails, and how it batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSettings {
    /// -1: until the record expires.
    pub maximum_retry_attempts: i32,
    /// -1: the stream's retention.
    pub maximum_record_age_s: i32,
    pub bisect_on_error: bool,
    pub parallelization_factor: u32,
    /// 0: none.
    pub tumbling_window_s: u32,
    /// The on-failure destination's ARN.
    pub on_failure: Option<String>,
}

impl Default for StreamSettings {
    /// What Lambda reports for a stream mapping made without these settings.
    fn default() -> Self {
        let d = chalice_codegen::plan::StreamFailure::default();
        StreamSettings {
            maximum_retry_attempts: d.maximum_retry_attempts,
            maximum_record_age_s: d.maximum_record_age_s,
            bisect_on_error: d.bisect_on_error,
            parallelization_factor: d.parallelization_factor,
            tumbling_window_s: d.tumbling_window_s,
            on_failure: None,
        }
    }
}

/// An event source mapping as read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMapping {
    pub uuid: String,
    pub spec: MappingSpec,
}

/// An event source mapping.
pub struct Mapping;

/// The mappings an [`Identity::Mapping`] finds among what was read, by function (more than one:
/// duplicates, or a wildcard source).
pub fn mappings_for<'a>(
    mappings: &'a BTreeMap<String, Vec<LiveMapping>>,
    identity: &Identity,
) -> Vec<&'a LiveMapping> {
    let Identity::Mapping {
        function,
        source_arn,
    } = identity
    else {
        return Vec::new();
    };
    mappings
        .get(function)
        .into_iter()
        .flatten()
        .filter(|m| matches(source_arn, &m.spec.source_arn))
        .collect()
}

/// `arn:PARTITION:lambda:REGION:ACCOUNT:event-source-mapping:UUID`
fn mapping_arn(ctx: &AwsContext, uuid: &str) -> String {
    format!(
        "arn:{}:lambda:{}:{}:event-source-mapping:{uuid}",
        ctx.partition, ctx.region, ctx.account
    )
}

impl Resource for Mapping {
    type Spec = MappingSpec;
    type Store = BTreeMap<String, Vec<LiveMapping>>;
    const KIND: ResourceKind = ResourceKind::LambdaEventSourceMapping;
    /// The role's policy must let the function read the source before the mapping is made.
    const AFTER: &'static [(ResourceKind, Scope)] = &[
        (ResourceKind::IamRole, Scope::All),
        (ResourceKind::LambdaFunction, Scope::SameFunction),
    ];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Mapping {
            function: spec.function.clone(),
            source_arn: spec.source_arn.clone(),
        }
    }

    /// One mapping per queue, stream or table binding; every missing source or queue AWS would
    /// refuse is a problem.
    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for m in &r.plan.event_source_mappings {
            let Some(f) = r.plan.function(&m.function) else {
                continue;
            };
            let source_arn = match &m.source {
                MappingSource::Queue { arn } => {
                    let arn = arn.resolve(r.ctx);
                    match r.lookups.queues.get(&arn) {
                    Some(Some(q)) if q.visibility_timeout_s < f.timeout_s => r.problems.push(format!(
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
                    Some(None) => r.problems.push(format!(
                        "queue `{}` ({arn}) does not exist (handler `{}`)",
                        queue_name(&arn),
                        f.handler
                    )),
                    None => {}
                }
                    arn
                }
                MappingSource::Stream { arn } => {
                    let arn = arn.resolve(r.ctx);
                    if r.lookups.streams.get(&arn) == Some(&false) {
                        r.problems.push(format!(
                            "Kinesis stream `{}` ({arn}) does not exist (handler `{}`)",
                            queue_name(&arn).trim_start_matches("stream/"),
                            f.handler
                        ));
                    }
                    arn
                }
                MappingSource::TableStream { arn } => arn.resolve(r.ctx),
                MappingSource::Table { table } => match r.lookups.tables.get(table) {
                    Some(TableStream::Arn(arn)) => arn.clone(),
                    Some(TableStream::MissingTable) => {
                        r.problems.push(format!(
                            "DynamoDB table `{table}` does not exist (handler `{}`)",
                            f.handler
                        ));
                        continue;
                    }
                    Some(TableStream::NoStream) => {
                        r.problems.push(format!(
                        "DynamoDB table `{table}` has no stream: enable DynamoDB Streams on it (handler `{}`)",
                        f.handler
                    ));
                        continue;
                    }
                    // Not looked up (the read phase's first pass): any stream of the table.
                    None => format!(
                        "arn:{}:dynamodb:{}:{}:table/{table}/stream/*",
                        r.ctx.partition, r.ctx.region, r.ctx.account
                    ),
                },
            };
            let stream = m.stream_failure.as_ref().map(|sf| {
                let on_failure = sf.on_failure.as_ref().map(|d| d.arn.resolve(r.ctx));
                if let Some(arn) = &on_failure {
                    r.lookups
                        .destination_problem(arn, &f.handler, &mut r.problems);
                }
                StreamSettings {
                    maximum_retry_attempts: sf.maximum_retry_attempts,
                    maximum_record_age_s: sf.maximum_record_age_s,
                    bisect_on_error: sf.bisect_on_error,
                    parallelization_factor: sf.parallelization_factor,
                    tumbling_window_s: sf.tumbling_window_s,
                    on_failure,
                }
            });
            let timestamp = match &m.starting_position_timestamp {
                Some(t) => match normalize_timestamp(t) {
                    Some(t) => Some(t),
                    None => {
                        r.problems.push(format!(
                            "handler `{}`: `{t}` is not an RFC 3339 timestamp",
                            f.handler
                        ));
                        None
                    }
                },
                None => None,
            };
            out.push((
                m.id.clone(),
                MappingSpec {
                    function: f.name.clone(),
                    source_arn,
                    batch_size: m.batch_size,
                    batching_window_s: m.batching_window_s.unwrap_or(0),
                    starting_position: m.starting_position.clone(),
                    starting_position_timestamp: timestamp,
                    maximum_concurrency: m.maximum_concurrency,
                    report_batch_item_failures: m.report_batch_item_failures,
                    filters: canonical_filters(&m.filters),
                    stream,
                },
            ));
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        match identity {
            Identity::Mapping { function, .. } => Some(function.clone()),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        Some(!mappings_for(live, identity).is_empty())
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        facts: &Facts<'_>,
        preferred: Option<&str>,
    ) -> Vec<Change> {
        let identity = Self::identity(spec);
        let d = spec;
        let create = || vec![Change::new(id, identity.clone(), None, Action::Create)];
        let update = |fields: Vec<FieldChange>, physical: Option<String>| {
            if fields.is_empty() {
                Vec::new()
            } else {
                vec![Change::new(
                    id,
                    identity.clone(),
                    physical,
                    Action::Update { fields },
                )]
            }
        };
        if !live.contains_key(&d.function) {
            return if facts.function(&d.function) == Some(false) {
                create()
            } else {
                Vec::new()
            };
        }
        let mut found = mappings_for(live, &identity);
        if found.is_empty() {
            return create();
        }
        // Keep the recorded one when there are several; the others are duplicates.
        if let Some(uuid) = preferred
            && let Some(pos) = found.iter().position(|m| m.uuid == uuid)
        {
            found.swap(0, pos);
        }
        let primary = found[0];
        let mut changes = update(mapping_fields(d, &primary.spec), Some(primary.uuid.clone()));
        changes.extend(
            found[1..]
                .iter()
                .map(|m| Change::duplicate(id, &identity, &m.uuid)),
        );
        changes
    }

    /// Every live mapping the recorded one finds (a wildcard: every mapping of the function) that
    /// is not desired, each by its UUID.
    fn removals(
        rec: &Recorded,
        wanted: &Wanted<'_>,
        live: &Self::Store,
        _facts: &Facts<'_>,
    ) -> Vec<Change> {
        let Identity::Mapping { function, .. } = &rec.identity else {
            return Vec::new();
        };
        mappings_for(live, &rec.identity)
            .into_iter()
            .map(|m| {
                let identity = Identity::Mapping {
                    function: function.clone(),
                    source_arn: m.spec.source_arn.clone(),
                };
                (identity, m.uuid.clone())
            })
            .filter(|(identity, _)| !wanted.identities.contains(identity))
            .map(|(identity, uuid)| Change::removed(&rec.key, identity, Some(uuid)))
            .collect()
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        ctx: &AwsContext,
    ) -> Option<Record> {
        let m = mappings_for(live, identity).into_iter().next()?;
        Some(Record {
            arn: Some(mapping_arn(ctx, &m.uuid)),
            physical_id: Some(m.uuid.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        if let Action::Delete { reason } = change.action {
            if let Some(uuid) = &change.physical_id {
                delete_mapping(c, uuid).await?;
            }
            if reason != DeleteReason::Duplicate {
                step.records.forget(&change.identity)?;
            }
            return Ok(None);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        let uuid = match (&change.action, &change.physical_id) {
            (Action::Update { fields }, Some(uuid))
                if !fields
                    .iter()
                    .any(|f| REPLACE_FIELDS.contains(&f.field.as_str())) =>
            {
                update_mapping(c, uuid, spec).await?;
                uuid.clone()
            }
            (Action::Update { .. }, Some(uuid)) => {
                // The starting position cannot change in place: make it again.
                delete_mapping(c, uuid).await?;
                step.records.forget(&change.identity)?;
                create_mapping(c, spec).await?
            }
            _ => create_mapping(c, spec).await?,
        };
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                arn: Some(mapping_arn(step.ctx, &uuid)),
                physical_id: Some(uuid),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

/// The resource name of an ARN (a queue's name), or the ARN.
fn queue_name(arn: &str) -> &str {
    arn_parts(arn).map_or(arn, |p| p.resource)
}

fn mapping_fields(d: &MappingSpec, l: &MappingSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(
        &mut out,
        "batch_size",
        Some(d.batch_size),
        Some(l.batch_size),
    );
    field(
        &mut out,
        "batching_window_s",
        Some(d.batching_window_s),
        Some(l.batching_window_s),
    );
    field(
        &mut out,
        "starting_position",
        d.starting_position.as_ref(),
        l.starting_position.as_ref(),
    );
    // moto never echoes the timestamp back: compare it only when the live side reports one.
    if l.starting_position_timestamp.is_some() {
        field(
            &mut out,
            "starting_position_timestamp",
            d.starting_position_timestamp.as_ref(),
            l.starting_position_timestamp.as_ref(),
        );
    }
    field(
        &mut out,
        "maximum_concurrency",
        d.maximum_concurrency,
        l.maximum_concurrency,
    );
    field(
        &mut out,
        "report_batch_item_failures",
        Some(d.report_batch_item_failures),
        Some(l.report_batch_item_failures),
    );
    if d.filters != l.filters {
        let list = |f: &[String]| (!f.is_empty()).then(|| f.join(" | "));
        field(&mut out, "filters", list(&d.filters), list(&l.filters));
    }
    let (ds, ls) = (d.stream.as_ref(), l.stream.as_ref());
    field(
        &mut out,
        "maximum_retry_attempts",
        ds.map(|s| s.maximum_retry_attempts),
        ls.map(|s| s.maximum_retry_attempts),
    );
    field(
        &mut out,
        "maximum_record_age_s",
        ds.map(|s| s.maximum_record_age_s),
        ls.map(|s| s.maximum_record_age_s),
    );
    field(
        &mut out,
        "bisect_on_error",
        ds.map(|s| s.bisect_on_error),
        ls.map(|s| s.bisect_on_error),
    );
    field(
        &mut out,
        "parallelization_factor",
        ds.map(|s| s.parallelization_factor),
        ls.map(|s| s.parallelization_factor),
    );
    field(
        &mut out,
        "tumbling_window_s",
        ds.map(|s| s.tumbling_window_s),
        ls.map(|s| s.tumbling_window_s),
    );
    field(
        &mut out,
        "on_failure",
        ds.and_then(|s| s.on_failure.as_ref()),
        ls.and_then(|s| s.on_failure.as_ref()),
    );
    out
}

/// Filter patterns as compared and sent: canonical JSON, sorted.
fn canonical_filters(filters: &[String]) -> Vec<String> {
    let mut out: Vec<String> = filters.iter().map(|f| canonical_text(f)).collect();
    out.sort();
    out
}

/// The filters as Lambda takes them; an empty `FilterCriteria` removes them all.
fn filter_criteria(spec: &MappingSpec) -> FilterCriteria {
    let filters: Vec<Filter> = spec
        .filters
        .iter()
        .map(|p| Filter::builder().pattern(p).build())
        .collect();
    FilterCriteria::builder()
        .set_filters((!filters.is_empty()).then_some(filters))
        .build()
}

/// The on-failure destination as Lambda takes it; an empty `OnFailure` removes it.
fn destination_config(on_failure: Option<&String>) -> DestinationConfig {
    DestinationConfig::builder()
        .on_failure(
            OnFailure::builder()
                .set_destination(on_failure.cloned())
                .build(),
        )
        .build()
}

/// Fields whose change AWS cannot apply in place: the mapping is deleted and made again.
pub const REPLACE_FIELDS: [&str; 2] = ["starting_position", "starting_position_timestamp"];

const NOT_FOUND: &str = "ResourceNotFoundException";
/// AWS: the function already has a mapping of this source.
const CONFLICT: &str = "ResourceConflictException";
/// AWS refuses to change a mapping while it is `Creating`/`Updating`/`Deleting` (moto never is).
const IN_USE: &str = "ResourceInUseException";
const IN_USE_WAIT: Duration = Duration::from_secs(120);

/// Every mapping of the function, by function NAME (moto finds nothing by ARN), every page.
pub async fn list_mappings(c: &Clients, function: &str) -> Result<Vec<LiveMapping>, CallError> {
    let mut all = Vec::new();
    let mut pages = c
        .lambda
        .list_event_source_mappings()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let out = match page {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::new("ListEventSourceMappings", function, e);
                return if e.has_code(NOT_FOUND) {
                    Ok(all)
                } else {
                    Err(e)
                };
            }
        };
        all.extend(
            out.event_source_mappings()
                .iter()
                .map(|m| from_sdk(function, m)),
        );
    }
    Ok(all)
}

fn from_sdk(function: &str, m: &EventSourceMappingConfiguration) -> LiveMapping {
    let non_negative = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
    LiveMapping {
        uuid: m.uuid().unwrap_or_default().to_string(),
        spec: MappingSpec {
            function: function.to_string(),
            source_arn: m.event_source_arn().unwrap_or_default().to_string(),
            batch_size: non_negative(m.batch_size()).unwrap_or(0),
            batching_window_s: non_negative(m.maximum_batching_window_in_seconds()).unwrap_or(0),
            starting_position: m.starting_position().map(|p| p.as_str().to_string()),
            starting_position_timestamp: m
                .starting_position_timestamp()
                .and_then(|t| t.fmt(Format::DateTime).ok()),
            maximum_concurrency: m
                .scaling_config()
                .and_then(|s| non_negative(s.maximum_concurrency())),
            report_batch_item_failures: m
                .function_response_types()
                .contains(&FunctionResponseType::ReportBatchItemFailures),
            filters: canonical_filters(
                &m.filter_criteria()
                    .map(|c| {
                        c.filters()
                            .iter()
                            .filter_map(|f| f.pattern().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ),
            stream: (!is_sqs_arn(m.event_source_arn().unwrap_or_default())).then(|| {
                // A setting Lambda does not report is at its default (moto reports only what was sent).
                let d = StreamSettings::default();
                StreamSettings {
                    maximum_retry_attempts: m
                        .maximum_retry_attempts()
                        .unwrap_or(d.maximum_retry_attempts),
                    maximum_record_age_s: m
                        .maximum_record_age_in_seconds()
                        .unwrap_or(d.maximum_record_age_s),
                    bisect_on_error: m
                        .bisect_batch_on_function_error()
                        .unwrap_or(d.bisect_on_error),
                    parallelization_factor: non_negative(m.parallelization_factor())
                        .unwrap_or(d.parallelization_factor),
                    tumbling_window_s: non_negative(m.tumbling_window_in_seconds())
                        .unwrap_or(d.tumbling_window_s),
                    on_failure: m
                        .destination_config()
                        .and_then(|c| c.on_failure())
                        .and_then(|o| o.destination())
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                }
            }),
        },
    }
}

/// `2026-01-01T00:00:00+02:00` → `2025-12-31T22:00:00Z`: the form Lambda echoes back.
pub fn normalize_timestamp(t: &str) -> Option<String> {
    DateTime::from_str(t, Format::DateTimeWithOffset)
        .ok()
        .and_then(|d| d.fmt(Format::DateTime).ok())
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn is_sqs(spec: &MappingSpec) -> bool {
    is_sqs_arn(&spec.source_arn)
}

fn is_sqs_arn(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("sqs")
}

fn response_types(spec: &MappingSpec) -> Vec<FunctionResponseType> {
    if spec.report_batch_item_failures {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    }
}

/// Creates the mapping; returns its UUID. A create that may have happened already is settled to
/// exactly one mapping (see [`settle`]): one retried after an attempt whose answer was lost (on moto,
/// which accepts duplicates, that made a second mapping), or answered 409 (AWS: the function already
/// has a mapping of this source).
pub async fn create_mapping(c: &Clients, spec: &MappingSpec) -> Result<String, CallError> {
    let attempts = Attempts::new();
    match send_create(c, spec, &attempts).await {
        Ok(uuid) if !attempts.retried() => Ok(uuid),
        Ok(uuid) => Ok(settle(c, spec, Some(&uuid)).await?.unwrap_or(uuid)),
        Err(e) if e.has_code(CONFLICT) => settle(c, spec, None).await?.ok_or(e),
        Err(e) => Err(e),
    }
}

/// Keeps one mapping of the function and source (the one the create's answer named, else one as
/// wanted, else the first, updated or made again), deletes the others; its UUID (`None`: none found).
async fn settle(
    c: &Clients,
    spec: &MappingSpec,
    answered: Option<&str>,
) -> Result<Option<String>, CallError> {
    let listed = list_mappings(c, &spec.function).await?;
    let found = listed
        .iter()
        .filter(|m| matches(&spec.source_arn, &m.spec.source_arn));
    let Some(kept) = keep_one(
        found,
        |m| Some(m.uuid.as_str()) == answered,
        |m| mapping_fields(spec, &m.spec),
    ) else {
        return Ok(None);
    };
    for duplicate in &kept.duplicates {
        delete_mapping(c, &duplicate.uuid).await?;
    }
    if kept
        .fields
        .iter()
        .any(|f| REPLACE_FIELDS.contains(&f.field.as_str()))
    {
        delete_mapping(c, &kept.keep.uuid).await?;
        return send_create(c, spec, &Attempts::new()).await.map(Some);
    }
    if !kept.fields.is_empty() {
        update_mapping(c, &kept.keep.uuid, spec).await?;
    }
    Ok(Some(kept.keep.uuid.clone()))
}

/// One `CreateEventSourceMapping` (retried while a fresh grant propagates); the new UUID.
async fn send_create(
    c: &Clients,
    spec: &MappingSpec,
    attempts: &Attempts,
) -> Result<String, CallError> {
    let timestamp = match &spec.starting_position_timestamp {
        Some(t) => Some(
            DateTime::from_str(t, Format::DateTimeWithOffset).map_err(|e| {
                CallError::other(
                    "CreateEventSourceMapping",
                    &spec.function,
                    format!("bad timestamp {t}: {e}"),
                )
            })?,
        ),
        None => None,
    };
    let stream = spec.stream.as_ref();
    // AWS checks the role may send to the on-failure destination: a fresh grant may not have propagated.
    let created = retry_propagation(
        || async {
            c.lambda
                .create_event_source_mapping()
                .function_name(&spec.function)
                .event_source_arn(&spec.source_arn)
                .batch_size(int(spec.batch_size))
                .maximum_batching_window_in_seconds(int(spec.batching_window_s))
                .set_starting_position(
                    spec.starting_position
                        .as_deref()
                        .map(EventSourcePosition::from),
                )
                .set_starting_position_timestamp(timestamp)
                .set_scaling_config(
                    spec.maximum_concurrency
                        .map(|n| ScalingConfig::builder().maximum_concurrency(int(n)).build()),
                )
                .set_function_response_types(Some(response_types(spec)))
                .set_filter_criteria((!spec.filters.is_empty()).then(|| filter_criteria(spec)))
                .set_maximum_retry_attempts(stream.map(|s| s.maximum_retry_attempts))
                .set_maximum_record_age_in_seconds(stream.map(|s| s.maximum_record_age_s))
                .set_bisect_batch_on_function_error(stream.map(|s| s.bisect_on_error))
                .set_parallelization_factor(stream.map(|s| int(s.parallelization_factor)))
                .set_tumbling_window_in_seconds(
                    stream
                        .filter(|s| s.tumbling_window_s > 0)
                        .map(|s| int(s.tumbling_window_s)),
                )
                .set_destination_config(
                    stream
                        .and_then(|s| s.on_failure.as_ref())
                        .map(|d| destination_config(Some(d))),
                )
                .customize()
                .interceptor(attempts.clone())
                .send()
                .await
                .map_err(|e| CallError::new("CreateEventSourceMapping", &spec.function, e))
        },
        is_role_propagation,
    )
    .await?;
    Ok(created.uuid().unwrap_or_default().to_string())
}

/// Updates what can change in place (batching, concurrency, response types, filters, failure handling).
pub async fn update_mapping(c: &Clients, uuid: &str, spec: &MappingSpec) -> Result<(), CallError> {
    let stream = spec.stream.as_ref();
    // Busy (AWS refuses changes while it is updating), or a fresh grant to a new on-failure
    // destination has not propagated: both pass.
    retry_propagation(
        || async {
            c.lambda
                .update_event_source_mapping()
                .uuid(uuid)
                .batch_size(int(spec.batch_size))
                .maximum_batching_window_in_seconds(int(spec.batching_window_s))
                // SQS only; an empty scaling config clears the maximum (AWS: the default, no maximum).
                .set_scaling_config(is_sqs(spec).then(|| {
                    ScalingConfig::builder()
                        .set_maximum_concurrency(spec.maximum_concurrency.map(int))
                        .build()
                }))
                .set_function_response_types(Some(response_types(spec)))
                .filter_criteria(filter_criteria(spec))
                .set_maximum_retry_attempts(stream.map(|s| s.maximum_retry_attempts))
                .set_maximum_record_age_in_seconds(stream.map(|s| s.maximum_record_age_s))
                .set_bisect_batch_on_function_error(stream.map(|s| s.bisect_on_error))
                .set_parallelization_factor(stream.map(|s| int(s.parallelization_factor)))
                .set_tumbling_window_in_seconds(stream.map(|s| int(s.tumbling_window_s)))
                .set_destination_config(stream.map(|s| destination_config(s.on_failure.as_ref())))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::new("UpdateEventSourceMapping", uuid, e))
        },
        |e| e.has_code(IN_USE) || is_role_propagation(e),
    )
    .await
}

/// Deletes the mapping; gone already is fine.
pub async fn delete_mapping(c: &Clients, uuid: &str) -> Result<(), CallError> {
    let result = retry_in_use(|| async {
        c.lambda
            .delete_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteEventSourceMapping", uuid, e))
    })
    .await;
    gone(result, &[NOT_FOUND])
}

/// Retries while AWS says the mapping is busy (`ResourceInUseException`), every 2 s for up to 2 min.
async fn retry_in_use<F, Fut>(mut call: F) -> Result<(), CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), CallError>>,
{
    let start = tokio::time::Instant::now();
    loop {
        match call().await {
            Err(e) if e.has_code(IN_USE) && start.elapsed() < IN_USE_WAIT => {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_normalise_to_utc() {
        assert_eq!(
            normalize_timestamp("2026-01-01T02:00:00+02:00").as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            normalize_timestamp("2026-01-01T00:00:00Z").as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(normalize_timestamp("yesterday"), None);
    }

    #[test]
    fn mappings_read_back_with_defaults() {
        let m = EventSourceMappingConfiguration::builder()
            .uuid("u")
            .event_source_arn("arn:aws:sqs:us-east-1:1:q")
            .batch_size(10)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .build();
        let live = from_sdk("f", &m);
        assert_eq!(live.uuid, "u");
        assert_eq!(live.spec.batching_window_s, 0);
        assert_eq!(live.spec.maximum_concurrency, None);
        assert!(live.spec.report_batch_item_failures);
    }
}
