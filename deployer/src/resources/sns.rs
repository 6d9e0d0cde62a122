//! SNS: a function's lambda subscription to a topic.

use super::{CallError, gone};
use crate::aws::Clients;
use crate::engine::spec::LiveSubscription;

const NOT_FOUND: &str = "NotFound";

/// Every subscription of the topic (one paginated listing); `None` when the topic does not exist.
pub async fn list_subscriptions(
    c: &Clients,
    topic_arn: &str,
) -> Result<Option<Vec<LiveSubscription>>, CallError> {
    let mut subs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(token.clone())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::new("ListSubscriptionsByTopic", topic_arn, e);
                return if e.has_code(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        subs.extend(out.subscriptions().iter().map(|s| LiveSubscription {
            arn: s.subscription_arn().unwrap_or_default().to_string(),
            protocol: s.protocol().unwrap_or_default().to_string(),
            endpoint: s.endpoint().unwrap_or_default().to_string(),
        }));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(Some(subs)),
        }
    }
}

/// Subscribes the function; SNS answers an existing identical subscription with its ARN (idempotent).
pub async fn subscribe(
    c: &Clients,
    topic_arn: &str,
    function_arn: &str,
) -> Result<String, CallError> {
    let out = c
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("lambda")
        .endpoint(function_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| CallError::new("Subscribe", topic_arn, e))?;
    Ok(out.subscription_arn().unwrap_or_default().to_string())
}

/// Unsubscribes; gone already is fine.
pub async fn unsubscribe(c: &Clients, subscription_arn: &str) -> Result<(), CallError> {
    gone(
        c.sns
            .unsubscribe()
            .subscription_arn(subscription_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("Unsubscribe", subscription_arn, e)),
        &[NOT_FOUND],
    )
}
