//! The runner's routes: queues it owns, subscribed to topics, added to buckets' notification
//! configurations and targeted by rules, so the emulator delivers those events to it; and their removal.
//!
//! The SQS poller reads these queues and turns their messages back into Lambda's events
//! ([`crate::local::pollers::sqs`]); nothing here polls.

use std::collections::HashSet;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfigurationFilter, QueueConfiguration,
    S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::aws::Clients;
use crate::resources::{self, CallError, gone};

/// What every name the runner gives its own resources starts with.
pub const PREFIX: &str = "chalice-local";
/// The most characters in an SQS queue name.
const MAX_QUEUE_NAME: usize = 80;
const NO_QUEUE: [&str; 2] = [
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];
const NO_RULE: &str = "ResourceNotFoundException";
const NO_BUCKET: &str = "NoSuchBucket";

/// A queue the runner created for a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteQueue {
    pub url: String,
    pub arn: String,
}

/// The target id of run `run`'s queue on a pattern rule (beside the app's own Lambda target):
/// `chalice-local-<run>` (AWS allows 64 characters).
pub fn rule_target_id(run: &str) -> String {
    format!("{PREFIX}-{run}")
}

/// The id of run `run`'s entry in a bucket's notification configuration for the app's
/// `notification_id`: `chalice-local-<run>-<notification id>`.
pub fn bucket_entry_id(run: &str, notification_id: &str) -> String {
    format!("{PREFIX}-{run}-{notification_id}")
}

/// `chalice-local-<run>-<app>-<stage>-<handler>`, made a valid SQS name: characters other than
/// letters, digits, `-` and `_` become `-`; a name over 80 characters is cut and ends in a hash of
/// the whole. The run id keeps two runners of one app against one endpoint apart.
pub fn route_queue_name(run: &str, app: &str, stage: &str, handler: &str) -> String {
    let full: String = format!("{PREFIX}-{run}-{app}-{stage}-{handler}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if full.len() <= MAX_QUEUE_NAME {
        return full;
    }
    let hash = hex::encode(&Sha256::digest(full.as_bytes())[..4]);
    format!("{}-{hash}", &full[..MAX_QUEUE_NAME - hash.len() - 1])
}

/// The queue policy that lets SNS, S3 and EventBridge send to `queue_arn`, from `source_arn` only.
pub fn route_queue_policy(queue_arn: &str, source_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "chalice-local-route",
            "Effect": "Allow",
            "Principal": { "Service": ["sns.amazonaws.com", "s3.amazonaws.com", "events.amazonaws.com"] },
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": { "ArnEquals": { "aws:SourceArn": source_arn } }
        }]
    })
    .to_string()
}

/// Creates (or finds) the route queue `name` with a policy letting `source_arn` (the topic, bucket or
/// rule ARN) send to it. AWS refuses to re-create a queue name for 60 s after it was deleted.
pub async fn create_route_queue(
    c: &Clients,
    name: &str,
    source_arn: &str,
) -> Result<RouteQueue, CallError> {
    let created = c
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| CallError::new("CreateQueue", name, e))?;
    let url = created
        .queue_url()
        .ok_or_else(|| CallError::other("CreateQueue", name, "no queue URL in the answer"))?
        .to_string();
    let attributes = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| CallError::new("GetQueueAttributes", &url, e))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .ok_or_else(|| CallError::other("GetQueueAttributes", &url, "no QueueArn"))?
        .clone();
    c.sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::Policy,
            route_queue_policy(&arn, source_arn),
        )
        .send()
        .await
        .map_err(|e| CallError::new("SetQueueAttributes", &url, e))?;
    Ok(RouteQueue { url, arn })
}

/// Sets the queue's visibility timeout: how long a message being handled (retries included) stays
/// hidden before SQS hands it out again.
pub async fn set_visibility_timeout(
    c: &Clients,
    queue_url: &str,
    seconds: u32,
) -> Result<(), CallError> {
    c.sqs
        .set_queue_attributes()
        .queue_url(queue_url)
        .attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string())
        .send()
        .await
        .map_err(|e| CallError::new("SetQueueAttributes", queue_url, e))?;
    Ok(())
}

/// Deletes a route queue; gone already is fine.
pub async fn delete_route_queue(c: &Clients, queue_url: &str) -> Result<(), CallError> {
    gone(
        c.sqs
            .delete_queue()
            .queue_url(queue_url)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteQueue", queue_url, e)),
        &NO_QUEUE,
    )
}

/// Subscribes the queue to the topic (raw delivery off: the body is the SNS envelope); returns the
/// subscription ARN. SNS answers an identical existing subscription with its ARN.
pub async fn subscribe_queue_to_topic(
    c: &Clients,
    topic_arn: &str,
    queue_arn: &str,
) -> Result<String, CallError> {
    let out = c
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| CallError::new("Subscribe", topic_arn, e))?;
    out.subscription_arn()
        .map(str::to_string)
        .ok_or_else(|| CallError::other("Subscribe", topic_arn, "no subscription ARN"))
}

/// Sets a subscription's filter policy and its scope (`MessageAttributes` or `MessageBody`).
pub async fn set_filter_policy(
    c: &Clients,
    subscription_arn: &str,
    policy: &str,
    scope: &str,
) -> Result<(), CallError> {
    for (name, value) in [("FilterPolicyScope", scope), ("FilterPolicy", policy)] {
        c.sns
            .set_subscription_attributes()
            .subscription_arn(subscription_arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map_err(|e| CallError::new("SetSubscriptionAttributes", subscription_arn, e))?;
    }
    Ok(())
}

/// Removes the queue's subscription; gone already is fine.
pub async fn unsubscribe_queue(c: &Clients, subscription_arn: &str) -> Result<(), CallError> {
    resources::subscription::unsubscribe(c, subscription_arn).await
}

fn key_filter(
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> Option<NotificationConfigurationFilter> {
    // Lowercase names (what the SDK sends for these variants): moto answers 500 to `Prefix`.
    let rules: Vec<FilterRule> = [
        (FilterRuleName::Prefix, prefix),
        (FilterRuleName::Suffix, suffix),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some(FilterRule::builder().name(name).value(value?).build()))
    .collect();
    (!rules.is_empty()).then(|| {
        NotificationConfigurationFilter::builder()
            .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
            .build()
    })
}

/// One read-modify-write of `bucket`'s notification configuration: the queue entries whose id is in
/// `remove` are dropped, `add` is appended, every other entry (the app's Lambda ones, others') is
/// written back as read. Returns whether a write was made.
async fn update_queue_entries(
    c: &Clients,
    bucket: &str,
    remove: &HashSet<&str>,
    add: Option<QueueConfiguration>,
) -> Result<bool, CallError> {
    let Some(current) = resources::notification::get_configuration(c, bucket).await? else {
        return match add {
            None => Ok(false),
            Some(_) => Err(CallError::other(
                "PutBucketNotificationConfiguration",
                bucket,
                "the bucket does not exist",
            )),
        };
    };
    let before = current.queue_configurations();
    let mut queues: Vec<QueueConfiguration> = before
        .iter()
        .filter(|q| !q.id().is_some_and(|id| remove.contains(id)))
        .cloned()
        .collect();
    if add.is_none() && queues.len() == before.len() {
        return Ok(false);
    }
    queues.extend(add);
    let lambdas = current.lambda_function_configurations().to_vec();
    resources::notification::write_configuration(c, bucket, &current, lambdas, queues).await?;
    Ok(true)
}

/// Adds (or replaces, by `id`) a queue entry in `bucket`'s notification configuration, keeping every
/// other entry. `events` as S3 names them (`s3:ObjectCreated:*`).
///
/// On AWS, S3 refuses entries whose filters overlap for the same event type; the app's own Lambda entry
/// with the same filter overlaps (moto does not check).
pub async fn add_bucket_queue_entry(
    c: &Clients,
    bucket: &str,
    id: &str,
    queue_arn: &str,
    events: &[String],
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> Result<(), CallError> {
    let entry = QueueConfiguration::builder()
        .id(id)
        .queue_arn(queue_arn)
        .set_events(Some(
            events.iter().map(|e| Event::from(e.as_str())).collect(),
        ))
        .set_filter(key_filter(prefix, suffix))
        .build()
        .map_err(|e| {
            CallError::other("PutBucketNotificationConfiguration", bucket, e.to_string())
        })?;
    update_queue_entries(c, bucket, &HashSet::from([id]), Some(entry)).await?;
    Ok(())
}

/// Removes the queue entry `id` from `bucket`'s notification configuration (others kept); a missing
/// entry or bucket is fine. Returns whether a write was made.
pub async fn remove_bucket_queue_entry(
    c: &Clients,
    bucket: &str,
    id: &str,
) -> Result<bool, CallError> {
    resources::found(
        update_queue_entries(c, bucket, &HashSet::from([id]), None).await,
        |e| e.has_code(NO_BUCKET),
    )
    .map(|wrote| wrote.unwrap_or(false))
}

/// Adds the queue as a target of the rule (`target_id`: ours, distinct from the app's Lambda target).
pub async fn point_rule_at_queue(
    c: &Clients,
    rule: &str,
    bus: Option<&str>,
    queue_arn: &str,
    target_id: &str,
) -> Result<(), CallError> {
    resources::rule::put_target_arn(c, rule, bus, target_id, queue_arn).await
}

/// Removes one target from the rule; a missing rule or target is fine.
///
/// The runner removes the app's Lambda target from pattern rules while it runs: on moto, every
/// `PutEvents` matching a rule with a Lambda target answers 500.
pub async fn remove_target(
    c: &Clients,
    rule: &str,
    bus: Option<&str>,
    target_id: &str,
) -> Result<(), CallError> {
    gone(
        c.eventbridge
            .remove_targets()
            .rule(rule)
            .set_event_bus_name(bus.map(str::to_string))
            .ids(target_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("RemoveTargets", rule, e)),
        &[NO_RULE],
    )
}

/// Puts the app's Lambda target back on the rule (what [`remove_target`] took off).
pub async fn restore_lambda_target(
    c: &Clients,
    rule: &str,
    bus: Option<&str>,
    target_id: &str,
    function_arn: &str,
) -> Result<(), CallError> {
    resources::rule::put_target_arn(c, rule, bus, target_id, function_arn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_valid_and_distinct() {
        assert_eq!(
            route_queue_name("1a2b3c4d", "orders", "dev", "on_upload"),
            "chalice-local-1a2b3c4d-orders-dev-on_upload"
        );
        assert_eq!(
            route_queue_name("r", "my.app", "dev", "h"),
            "chalice-local-r-my-app-dev-h"
        );
        let long_a = route_queue_name("r", &"a".repeat(60), "dev", "handler_one");
        let long_b = route_queue_name("r", &"a".repeat(60), "dev", "handler_two");
        let other_run = route_queue_name("s", &"a".repeat(60), "dev", "handler_one");
        assert_eq!(long_a.len(), 80);
        assert_ne!(long_a, long_b);
        assert_ne!(long_a, other_run);
    }
}
