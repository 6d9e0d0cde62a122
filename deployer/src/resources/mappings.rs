//! Event source mappings: Lambda polling a queue, a Kinesis stream or a DynamoDB stream.

use std::time::Duration;

use aws_sdk_lambda::types::{
    EventSourceMappingConfiguration, EventSourcePosition, FunctionResponseType, ScalingConfig,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::{CallError, gone, is_role_propagation, retry_propagation};
use crate::aws::Clients;
use crate::engine::spec::{LiveMapping, MappingSpec};

const NOT_FOUND: &str = "ResourceNotFoundException";
/// AWS refuses to change a mapping while it is `Creating`/`Updating`/`Deleting` (moto never is).
const IN_USE: &str = "ResourceInUseException";
const IN_USE_WAIT: Duration = Duration::from_secs(120);

/// Every mapping of the function, by function NAME (moto finds nothing by ARN); paginated.
pub async fn list_mappings(c: &Clients, function: &str) -> Result<Vec<LiveMapping>, CallError> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .set_marker(marker.clone())
            .send()
            .await;
        let out = match out {
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
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(all),
        }
    }
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
    spec.source_arn.split(':').nth(2) == Some("sqs")
}

fn response_types(spec: &MappingSpec) -> Vec<FunctionResponseType> {
    if spec.report_batch_item_failures {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    }
}

/// Creates the mapping; returns its UUID. On AWS a duplicate SQS mapping answers 409: the existing one
/// (a retried create whose answer was lost) is adopted and updated.
pub async fn create_mapping(c: &Clients, spec: &MappingSpec) -> Result<String, CallError> {
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
                .send()
                .await
                .map_err(|e| CallError::new("CreateEventSourceMapping", &spec.function, e))
        },
        is_role_propagation,
    )
    .await;
    match created {
        Ok(out) => Ok(out.uuid().unwrap_or_default().to_string()),
        Err(e) if e.has_code("ResourceConflictException") => {
            let existing = list_mappings(c, &spec.function)
                .await?
                .into_iter()
                .find(|m| m.spec.source_arn == spec.source_arn)
                .ok_or(e)?;
            update_mapping(c, &existing.uuid, spec).await?;
            Ok(existing.uuid)
        }
        Err(e) => Err(e),
    }
}

/// Updates what can change in place (batching, concurrency, response types).
pub async fn update_mapping(c: &Clients, uuid: &str, spec: &MappingSpec) -> Result<(), CallError> {
    retry_in_use(|| async {
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
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("UpdateEventSourceMapping", uuid, e))
    })
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
