//! What the runner created for itself, or changed in the app's deployment, while it runs: listed as
//! it goes (a [`Cleanup`] each), undone in reverse on exit.

use std::fmt;

use super::routing::{self, RULE_TARGET_ID};
use crate::aws::Clients;
use crate::resources::CallError;

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
        Cleanup::Queue { url } => routing::delete_route_queue(c, url).await,
        Cleanup::Subscription { arn } => routing::unsubscribe_queue(c, arn).await,
        Cleanup::BucketEntry { bucket, id } => routing::remove_bucket_queue_entry(c, bucket, id)
            .await
            .map(|_| ()),
        Cleanup::RuleTarget { rule, bus } => {
            routing::remove_target(c, rule, bus.as_deref(), RULE_TARGET_ID).await
        }
        Cleanup::Mapping { uuid } => set_mapping_enabled(c, uuid, true).await,
        Cleanup::LambdaTarget {
            rule,
            bus,
            target_id,
            function_arn,
        } => routing::restore_lambda_target(c, rule, bus.as_deref(), target_id, function_arn).await,
    }
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
