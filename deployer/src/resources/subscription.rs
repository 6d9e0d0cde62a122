//! SNS: a function's lambda subscription to a topic (others' subscriptions are left alone).

use std::collections::BTreeMap;

use chalice_codegen::plan::AwsContext;
use serde::Serialize;

use super::call::{CallError, gone};
use super::change::{Action, Change, DeleteReason, FieldChange, Recorded};
use super::compare::{canonical_text, field};
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError, Wanted};
use crate::aws::Clients;

/// A lambda subscription of a function to a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionSpec {
    pub topic_arn: String,
    /// The function ARN.
    pub endpoint: String,
    pub filter: Option<SubscriptionFilter>,
}

/// A subscription's filter policy and what it is matched against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionFilter {
    /// Canonical JSON (keys sorted), as compared.
    pub policy: String,
    /// `MessageAttributes` or `MessageBody`.
    pub scope: String,
}

/// A topic subscription as read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSubscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    /// Read only for the subscriptions a deploy wants (`None` otherwise, or when it has none).
    pub filter: Option<SubscriptionFilter>,
}

/// SNS's scope when none is set.
const DEFAULT_SCOPE: &str = "MessageAttributes";

/// A lambda subscription.
pub struct Subscription;

/// The lambda subscriptions an [`Identity::Subscription`] finds among what was read, by topic
/// (more than one: duplicates).
pub fn subscriptions<'a>(
    topics: &'a BTreeMap<String, Option<Vec<LiveSubscription>>>,
    identity: &Identity,
) -> Vec<&'a LiveSubscription> {
    let Identity::Subscription {
        topic_arn,
        endpoint,
    } = identity
    else {
        return Vec::new();
    };
    topics
        .get(topic_arn)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|s| s.protocol == "lambda" && &s.endpoint == endpoint)
        .collect()
}

impl Resource for Subscription {
    type Spec = SubscriptionSpec;
    type Store = BTreeMap<String, Option<Vec<LiveSubscription>>>;
    const KIND: ResourceKind = ResourceKind::SnsSubscription;
    const AFTER: &'static [(ResourceKind, Scope)] =
        &[(ResourceKind::LambdaFunction, Scope::SameFunction)];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Subscription {
            topic_arn: spec.topic_arn.clone(),
            endpoint: spec.endpoint.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for s in &r.plan.subscriptions {
            let Some(arn) = r.function_arn(&s.function) else {
                continue;
            };
            out.push((
                s.id.clone(),
                SubscriptionSpec {
                    topic_arn: s.topic_arn.resolve(r.ctx),
                    endpoint: arn,
                    filter: s.filter_policy.as_ref().map(|p| SubscriptionFilter {
                        policy: canonical_text(&p.policy),
                        scope: p.scope.as_str().to_string(),
                    }),
                },
            ));
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        match identity {
            Identity::Subscription { endpoint, .. } => {
                Some(endpoint.rsplit(':').next().unwrap_or(endpoint).to_string())
            }
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        Some(!subscriptions(live, identity).is_empty())
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let identity = Self::identity(spec);
        match live.get(&spec.topic_arn) {
            Some(Some(_)) => {
                let found = subscriptions(live, &identity);
                let Some((primary, extras)) = found.split_first() else {
                    return vec![Change::new(id, identity, None, Action::Create)];
                };
                let fields = filter_fields(spec.filter.as_ref(), primary.filter.as_ref());
                let update = (!fields.is_empty()).then(|| {
                    Change::new(
                        id,
                        identity.clone(),
                        Some(primary.arn.clone()),
                        Action::Update { fields },
                    )
                });
                update
                    .into_iter()
                    .chain(
                        extras
                            .iter()
                            .map(|s| Change::duplicate(id, &identity, &s.arn)),
                    )
                    .collect()
            }
            Some(None) => vec![Change::new(id, identity, None, Action::Create)],
            None => Vec::new(),
        }
    }

    /// Every live subscription the recorded one finds, each by its ARN.
    fn removals(
        rec: &Recorded,
        wanted: &Wanted<'_>,
        live: &Self::Store,
        _facts: &Facts<'_>,
    ) -> Vec<Change> {
        if wanted.identities.contains(&rec.identity) {
            return Vec::new();
        }
        subscriptions(live, &rec.identity)
            .into_iter()
            .map(|s| Change::removed(&rec.key, rec.identity.clone(), Some(s.arn.clone())))
            .collect()
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let s = subscriptions(live, identity).into_iter().next()?;
        Some(Record {
            arn: Some(s.arn.clone()),
            physical_id: Some(s.arn.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::Subscription {
            topic_arn,
            endpoint,
        } = &change.identity
        else {
            return Err(StepError::Internal(format!(
                "{} is not a subscription",
                change.id
            )));
        };
        if let Action::Delete { reason } = change.action {
            if let Some(arn) = &change.physical_id {
                unsubscribe(c, arn).await?;
            }
            if reason != DeleteReason::Duplicate {
                step.records.forget(&change.identity)?;
            }
            return Ok(None);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        let arn = match (&change.action, &change.physical_id) {
            (Action::Update { .. }, Some(arn)) => {
                set_filter(c, arn, spec.filter.as_ref()).await?;
                arn.clone()
            }
            _ => subscribe(c, topic_arn, endpoint, spec.filter.as_ref()).await?,
        };
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                arn: Some(arn.clone()),
                physical_id: Some(arn),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

const NOT_FOUND: &str = "NotFound";

/// The filter fields that differ (the scope matters only with a policy).
fn filter_fields(
    desired: Option<&SubscriptionFilter>,
    live: Option<&SubscriptionFilter>,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(
        &mut out,
        "filter_policy",
        desired.map(|f| &f.policy),
        live.map(|f| &f.policy),
    );
    field(
        &mut out,
        "filter_policy_scope",
        desired.map(|f| &f.scope),
        live.map(|f| &f.scope),
    );
    out
}

/// The subscription's filter policy and scope (`None`: it has no policy).
pub async fn read_filter(
    c: &Clients,
    subscription_arn: &str,
) -> Result<Option<SubscriptionFilter>, CallError> {
    let out = c
        .sns
        .get_subscription_attributes()
        .subscription_arn(subscription_arn)
        .send()
        .await
        .map_err(|e| CallError::new("GetSubscriptionAttributes", subscription_arn, e))?;
    let attributes = out.attributes();
    let policy = attributes
        .and_then(|a| a.get("FilterPolicy"))
        .map(|p| canonical_text(p))
        // `{}` is how a policy is removed.
        .filter(|p| !p.is_empty() && p != "{}");
    Ok(policy.map(|policy| SubscriptionFilter {
        policy,
        scope: attributes
            .and_then(|a| a.get("FilterPolicyScope"))
            .map_or(DEFAULT_SCOPE, String::as_str)
            .to_string(),
    }))
}

/// Sets (or, with `None`, removes) the subscription's filter policy and scope.
async fn set_filter(
    c: &Clients,
    subscription_arn: &str,
    filter: Option<&SubscriptionFilter>,
) -> Result<(), CallError> {
    let set = |name: &'static str, value: String| async move {
        c.sns
            .set_subscription_attributes()
            .subscription_arn(subscription_arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("SetSubscriptionAttributes", subscription_arn, e))
    };
    match filter {
        // SNS checks a policy against the scope in force: a nested (body) policy needs the body
        // scope first, and a flat policy replaces a nested one before the scope goes back.
        Some(f) if f.scope == "MessageBody" => {
            set("FilterPolicyScope", f.scope.clone()).await?;
            set("FilterPolicy", f.policy.clone()).await
        }
        Some(f) => {
            set("FilterPolicy", f.policy.clone()).await?;
            set("FilterPolicyScope", f.scope.clone()).await
        }
        None => set("FilterPolicy", "{}".to_string()).await,
    }
}

/// Every subscription of the topic (one paginated listing); `None` when the topic does not exist.
pub async fn list_subscriptions(
    c: &Clients,
    topic_arn: &str,
) -> Result<Option<Vec<LiveSubscription>>, CallError> {
    let mut subs = Vec::new();
    let mut pages = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let out = match page {
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
            filter: None,
        }));
    }
    Ok(Some(subs))
}

/// Subscribes the function with its filter; SNS answers an existing identical subscription with its
/// ARN (idempotent).
pub async fn subscribe(
    c: &Clients,
    topic_arn: &str,
    function_arn: &str,
    filter: Option<&SubscriptionFilter>,
) -> Result<String, CallError> {
    let attributes = filter.map(|f| {
        std::collections::HashMap::from([
            ("FilterPolicy".to_string(), f.policy.clone()),
            ("FilterPolicyScope".to_string(), f.scope.clone()),
        ])
    });
    let out = c
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("lambda")
        .endpoint(function_arn)
        .set_attributes(attributes)
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
