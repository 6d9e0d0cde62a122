//! S3 bucket notification entries that invoke a function: merged into what the bucket already has
//! (one read-modify-write per bucket), other entries kept exactly as they were.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use chalice_codegen::plan::AwsContext;
use serde::Serialize;

use super::call::CallError;
use super::change::{Change, FieldChange};
use super::compare::field;
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError, create_or_update};
use crate::aws::Clients;

/// One lambda entry of a bucket's notification configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationSpec {
    pub bucket: String,
    pub id: String,
    pub function_arn: String,
    /// Sorted.
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// A bucket's notification entry for a function.
pub struct Notification;

impl Resource for Notification {
    type Spec = NotificationSpec;
    type Store = BTreeMap<String, Option<Vec<NotificationSpec>>>;
    const KIND: ResourceKind = ResourceKind::S3BucketNotification;
    /// S3 checks that it may invoke the function when the entry is written.
    const AFTER: &'static [(ResourceKind, Scope)] = &[
        (ResourceKind::LambdaFunction, Scope::SameFunction),
        (ResourceKind::LambdaPermission, Scope::SameFunction),
    ];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Notification {
            bucket: spec.bucket.clone(),
            id: spec.id.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for n in &r.plan.bucket_notifications {
            let Some(arn) = r.function_arn(&n.function) else {
                continue;
            };
            let mut events = n.events.clone();
            events.sort();
            events.dedup();
            out.push((
                n.id.clone(),
                NotificationSpec {
                    bucket: n.bucket.clone(),
                    id: n.notification_id.clone(),
                    function_arn: arn,
                    events,
                    prefix: n.prefix.clone(),
                    suffix: n.suffix.clone(),
                },
            ));
        }
        out
    }

    fn function_of(_: &Identity, spec: Option<&Self::Spec>) -> Option<String> {
        let arn = &spec?.function_arn;
        Some(arn.rsplit(':').next().unwrap_or(arn).to_string())
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::Notification { bucket, id } = identity else {
            return None;
        };
        live.get(bucket)
            .map(|b| b.iter().flatten().any(|n| &n.id == id))
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        // A missing bucket is reported as a problem before anything is written.
        let found = live
            .get(&spec.bucket)
            .map(|entries| entries.iter().flatten().find(|n| n.id == spec.id));
        create_or_update(id, Self::identity(spec), found, |l| {
            notification_fields(spec, l)
        })
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::Notification { id, .. } = identity else {
            return None;
        };
        (Self::exists(identity, live, facts) == Some(true)).then(|| Record {
            physical_id: Some(id.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        Self::apply_group(step, &[(change.clone(), spec.cloned())]).await?;
        Ok(None)
    }

    fn group_key(identity: &Identity) -> Option<String> {
        match identity {
            Identity::Notification { bucket, .. } => Some(bucket.clone()),
            _ => None,
        }
    }

    /// Every change to one bucket's entries, in one read-modify-write.
    async fn apply_group(
        step: &Step<'_, Self::Store>,
        changes: &[(Change, Option<Self::Spec>)],
    ) -> Result<(), StepError> {
        let Some(Identity::Notification { bucket, .. }) = changes.first().map(|(c, _)| &c.identity)
        else {
            return Ok(());
        };
        let mut remove = BTreeSet::new();
        let mut put: Vec<NotificationSpec> = Vec::new();
        for (change, spec) in changes {
            let Identity::Notification { id, .. } = &change.identity else {
                return Err(StepError::Internal(format!(
                    "{} is not a notification",
                    change.id
                )));
            };
            match (change.is_delete(), spec) {
                (true, _) => {
                    remove.insert(id.clone());
                }
                (false, Some(spec)) => put.push(spec.clone()),
                (false, None) => {
                    return Err(StepError::Internal(format!("no spec for {}", change.id)));
                }
            }
        }
        update_notifications(step.clients, bucket, &remove, &put).await?;
        for (change, _) in changes {
            match &change.identity {
                Identity::Notification { .. } if change.is_delete() => {
                    step.records.forget(&change.identity)?
                }
                Identity::Notification { id, .. } => step.records.record(
                    &change.id,
                    &change.identity,
                    Record {
                        physical_id: Some(id.clone()),
                        ..Record::default()
                    },
                )?,
                _ => {}
            }
        }
        Ok(())
    }
}

fn notification_fields(d: &NotificationSpec, l: &NotificationSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(
        &mut out,
        "function",
        Some(&d.function_arn),
        Some(&l.function_arn),
    );
    let events = |n: &NotificationSpec| {
        let mut e = n.events.clone();
        e.sort();
        e.dedup();
        e.join(", ")
    };
    field(&mut out, "events", Some(events(d)), Some(events(l)));
    field(&mut out, "prefix", d.prefix.as_ref(), l.prefix.as_ref());
    field(&mut out, "suffix", d.suffix.as_ref(), l.suffix.as_ref());
    out
}

const NO_BUCKET: &str = "NoSuchBucket";

/// The bucket's notification configuration; `None` when the bucket does not exist.
pub async fn get_configuration(
    c: &Clients,
    bucket: &str,
) -> Result<Option<GetBucketNotificationConfigurationOutput>, CallError> {
    match c
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        // moto answers a bucket without any configuration with a 200 the SDK cannot decode
        // (`<GetBucketNotificationResponse/>`); AWS answers `<NotificationConfiguration/>`. Both: empty.
        Err(SdkError::ServiceError(e)) if e.raw().status().is_success() => Ok(Some(
            GetBucketNotificationConfigurationOutput::builder().build(),
        )),
        Err(e) => {
            let e = CallError::new("GetBucketNotificationConfiguration", bucket, e);
            if e.has_code(NO_BUCKET) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The bucket's lambda notification entries (ours and others'); `None` when the bucket does not exist.
pub async fn read_notifications(
    c: &Clients,
    bucket: &str,
) -> Result<Option<Vec<NotificationSpec>>, CallError> {
    Ok(get_configuration(c, bucket).await?.map(|out| {
        out.lambda_function_configurations()
            .iter()
            .map(|l| from_sdk(bucket, l))
            .collect()
    }))
}

fn from_sdk(bucket: &str, l: &LambdaFunctionConfiguration) -> NotificationSpec {
    let mut events: Vec<String> = l.events().iter().map(|e| e.as_str().to_string()).collect();
    events.sort();
    events.dedup();
    let rule = |name: &str| {
        l.filter()
            .and_then(|f| f.key())
            .map(|k| k.filter_rules())
            .unwrap_or_default()
            .iter()
            // AWS answers `Prefix` (parsed as an unknown name), moto `prefix`: compare without case.
            .find(|r| {
                r.name()
                    .is_some_and(|n| n.as_str().eq_ignore_ascii_case(name))
            })
            .and_then(|r| r.value())
            .map(str::to_string)
    };
    NotificationSpec {
        bucket: bucket.to_string(),
        id: l.id().unwrap_or_default().to_string(),
        function_arn: l.lambda_function_arn().to_string(),
        events,
        prefix: rule("prefix"),
        suffix: rule("suffix"),
    }
}

fn to_sdk(n: &NotificationSpec) -> Result<LambdaFunctionConfiguration, CallError> {
    let mut rules = Vec::new();
    // Lowercase names (what the SDK sends for these variants): moto answers 500 to `Prefix`.
    if let Some(p) = &n.prefix {
        rules.push(
            FilterRule::builder()
                .name(FilterRuleName::Prefix)
                .value(p)
                .build(),
        );
    }
    if let Some(s) = &n.suffix {
        rules.push(
            FilterRule::builder()
                .name(FilterRuleName::Suffix)
                .value(s)
                .build(),
        );
    }
    let filter = (!rules.is_empty()).then(|| {
        NotificationConfigurationFilter::builder()
            .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
            .build()
    });
    LambdaFunctionConfiguration::builder()
        .id(&n.id)
        .lambda_function_arn(&n.function_arn)
        .set_events(Some(
            n.events.iter().map(|e| Event::from(e.as_str())).collect(),
        ))
        .set_filter(filter)
        .build()
        .map_err(|e| {
            CallError::other(
                "PutBucketNotificationConfiguration",
                &n.bucket,
                e.to_string(),
            )
        })
}

/// One read-modify-write of `bucket`'s notification configuration: drops the lambda entries whose `Id` is
/// in `remove` or among `put`, adds `put`, and writes back everything else (queue, topic, EventBridge
/// and others' lambda entries) as it was read. Returns whether a write was needed.
pub async fn update_notifications(
    c: &Clients,
    bucket: &str,
    remove: &BTreeSet<String>,
    put: &[NotificationSpec],
) -> Result<bool, CallError> {
    let Some(current) = get_configuration(c, bucket).await? else {
        if put.is_empty() {
            return Ok(false); // the bucket is gone, and our entries with it
        }
        return Err(CallError::other(
            "PutBucketNotificationConfiguration",
            bucket,
            "the bucket does not exist",
        ));
    };
    let ours: HashSet<&str> = remove
        .iter()
        .map(String::as_str)
        .chain(put.iter().map(|n| n.id.as_str()))
        .collect();
    let before = current.lambda_function_configurations().to_vec();
    let mut lambdas: Vec<LambdaFunctionConfiguration> = before
        .iter()
        .filter(|l| !l.id().is_some_and(|id| ours.contains(id)))
        .cloned()
        .collect();
    for n in put {
        lambdas.push(to_sdk(n)?);
    }
    let unchanged = {
        let a: Vec<NotificationSpec> = before.iter().map(|l| from_sdk(bucket, l)).collect();
        let b: Vec<NotificationSpec> = lambdas.iter().map(|l| from_sdk(bucket, l)).collect();
        a.len() == b.len() && a.iter().all(|x| b.contains(x))
    };
    if unchanged {
        return Ok(false);
    }
    let queues = current.queue_configurations().to_vec();
    write_configuration(c, bucket, &current, lambdas, queues).await?;
    Ok(true)
}

/// Writes `bucket`'s notification configuration with these Lambda and queue entries, and its topic
/// and EventBridge entries as they were read (`current`).
pub async fn write_configuration(
    c: &Clients,
    bucket: &str,
    current: &GetBucketNotificationConfigurationOutput,
    lambdas: Vec<LambdaFunctionConfiguration>,
    queues: Vec<QueueConfiguration>,
) -> Result<(), CallError> {
    let config = NotificationConfiguration::builder()
        .set_lambda_function_configurations(Some(lambdas))
        .set_queue_configurations(Some(queues))
        .set_topic_configurations(Some(current.topic_configurations().to_vec()))
        .set_event_bridge_configuration(current.event_bridge_configuration().cloned())
        .build();
    c.s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        // Destinations are set up first; skipping validation keeps others' entries from blocking ours.
        .skip_destination_validation(true)
        .send()
        .await
        .map_err(|e| CallError::new("PutBucketNotificationConfiguration", bucket, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_any_rule_name_case() {
        let n = NotificationSpec {
            bucket: "b".into(),
            id: "app-dev-h".into(),
            function_arn: "arn:aws:lambda:us-east-1:1:function:app-dev-h".into(),
            events: vec!["s3:ObjectCreated:*".into()],
            prefix: Some("images/".into()),
            suffix: None,
        };
        assert_eq!(from_sdk("b", &to_sdk(&n).unwrap()), n);
        // As AWS answers: `Prefix`, which the SDK parses as an unknown name.
        let aws = LambdaFunctionConfiguration::builder()
            .id("x")
            .lambda_function_arn("f")
            .events(Event::from("s3:ObjectRemoved:*"))
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(
                        S3KeyFilter::builder()
                            .filter_rules(
                                FilterRule::builder()
                                    .name(FilterRuleName::from("Suffix"))
                                    .value(".png")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
            .unwrap();
        let read = from_sdk("b", &aws);
        assert_eq!(read.suffix.as_deref(), Some(".png"));
        assert_eq!(read.prefix, None);
        assert_eq!(read.events, ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]);
    }
}
