//! What the runner created for itself, or changed in the app's deployment, while it runs: listed as
//! it goes (a [`Cleanup`] each, also recorded on disk by [`super::leftovers`]), undone in reverse on
//! exit, or by the next runner when this one was killed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::routing;
use crate::aws::Clients;
use crate::resources::CallError;
use crate::resources::mapping::{self, MappingSpec};

/// Something the runner created for itself (or changed), to undo on exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
        target_id: String,
    },
    /// The app's event source mapping, disabled while the runner polls its source.
    Mapping {
        uuid: String,
    },
    /// The app's table mapping, deleted while the runner reads the table's stream: made again as
    /// it was (`enabled` or not) unless one is there by then.
    TakenOffMapping {
        uuid: String,
        spec: MappingSpec,
        enabled: bool,
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
            Cleanup::TakenOffMapping { spec, .. } => write!(
                f,
                "(re-creating) the event source mapping of {} on {}",
                spec.function, spec.source_arn
            ),
            Cleanup::LambdaTarget { rule, .. } => {
                write!(f, "(restoring) the function's target on rule {rule}")
            }
        }
    }
}

impl Cleanup {
    /// What undoing it does, in a few words (`removed its queue`, `gave back a mapping`).
    pub fn undone(&self) -> &'static str {
        match self {
            Cleanup::Queue { .. } => "removed a queue",
            Cleanup::Subscription { .. } => "removed a subscription",
            Cleanup::BucketEntry { .. } => "removed a bucket notification entry",
            Cleanup::RuleTarget { .. } => "removed a rule target",
            Cleanup::Mapping { .. } => "re-enabled a mapping",
            Cleanup::TakenOffMapping { .. } => "re-created a table mapping",
            Cleanup::LambdaTarget { .. } => "gave a rule back its function target",
        }
    }
}

/// Undoes one [`Cleanup`]; undoing one twice is harmless.
pub async fn undo(c: &Clients, item: &Cleanup) -> Result<(), CallError> {
    match item {
        Cleanup::Queue { url } => routing::delete_route_queue(c, url).await,
        Cleanup::Subscription { arn } => routing::unsubscribe_queue(c, arn).await,
        Cleanup::BucketEntry { bucket, id } => routing::remove_bucket_queue_entry(c, bucket, id)
            .await
            .map(|_| ()),
        Cleanup::RuleTarget {
            rule,
            bus,
            target_id,
        } => routing::remove_target(c, rule, bus.as_deref(), target_id).await,
        Cleanup::Mapping { uuid } => set_mapping_enabled(c, uuid, true).await,
        Cleanup::TakenOffMapping { spec, enabled, .. } => {
            // A deploy since (or another runner) may have made it again: never a second one.
            let live = mapping::list_mappings(c, &spec.function).await?;
            if live.iter().any(|m| m.spec.source_arn == spec.source_arn) {
                return Ok(());
            }
            let uuid = mapping::create_mapping(c, spec).await?;
            if !enabled {
                set_mapping_enabled(c, &uuid, false).await?;
            }
            Ok(())
        }
        Cleanup::LambdaTarget {
            rule,
            bus,
            target_id,
            function_arn,
        } => routing::restore_lambda_target(c, rule, bus.as_deref(), target_id, function_arn).await,
    }
}

/// Whether the app's mapping is enabled (`Enabled`, or on its way there).
pub(super) async fn mapping_enabled(c: &Clients, uuid: &str) -> Result<bool, CallError> {
    let out = c
        .lambda
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
        .map_err(|e| CallError::new("GetEventSourceMapping", uuid, e))?;
    Ok(matches!(
        out.state(),
        Some("Enabled" | "Enabling" | "Creating" | "Updating")
    ))
}

/// Disables (while the runner polls its source) or re-enables an event source mapping of the app.
pub(super) async fn set_mapping_enabled(
    c: &Clients,
    uuid: &str,
    enabled: bool,
) -> Result<(), CallError> {
    c.lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .enabled(enabled)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("UpdateEventSourceMapping", uuid, e))
}

/// Takes the app's table mapping `uuid` off: deleted, not disabled.
pub(super) async fn take_off_mapping(c: &Clients, uuid: &str) -> Result<(), CallError> {
    mapping::delete_mapping(c, uuid).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_json() {
        let items = vec![
            Cleanup::Queue {
                url: "http://127.0.0.1:5000/123456789012/q".into(),
            },
            Cleanup::RuleTarget {
                rule: "r".into(),
                bus: None,
                target_id: "chalice-local-1a2b3c4d".into(),
            },
            Cleanup::TakenOffMapping {
                uuid: "u".into(),
                spec: MappingSpec {
                    function: "orders-dev-on_audit".into(),
                    source_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/x"
                        .into(),
                    batch_size: 100,
                    batching_window_s: 0,
                    starting_position: Some("LATEST".into()),
                    starting_position_timestamp: None,
                    maximum_concurrency: None,
                    report_batch_item_failures: true,
                    filters: vec![],
                    stream: Some(mapping::StreamSettings::default()),
                },
                enabled: true,
            },
        ];
        let text = serde_json::to_string(&items).unwrap();
        assert!(text.contains(r#""kind":"taken_off_mapping""#), "{text}");
        let back: Vec<Cleanup> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, items);
    }
}
