//! S3: bucket notification entries (one read-modify-write per bucket, others' entries kept) and the
//! artifacts bucket holding the code zip.

use std::collections::{BTreeSet, HashSet};

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Event, FilterRule, FilterRuleName,
    LambdaFunctionConfiguration, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};

use super::{CallError, gone};
use crate::aws::Clients;
use crate::engine::spec::NotificationSpec;

const NO_BUCKET: &str = "NoSuchBucket";

/// The bucket's notification configuration; `None` when the bucket does not exist.
pub(crate) async fn get_configuration(
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
pub(crate) async fn write_configuration(
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

/// Keys under `prefix` in `bucket` (paginated); `None` when the bucket does not exist.
pub async fn list_keys(
    c: &Clients,
    bucket: &str,
    prefix: &str,
) -> Result<Option<BTreeSet<String>>, CallError> {
    let mut keys = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out =
            c.s3.list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone())
                .send()
                .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::new("ListObjectsV2", bucket, e);
                return if e.has_code(NO_BUCKET) {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_string),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) && !t.is_empty() => {
                token = Some(t.to_string())
            }
            _ => return Ok(Some(keys)),
        }
    }
}

/// Creates the artifacts bucket in `region`; one we already own is fine.
pub async fn create_bucket(c: &Clients, bucket: &str, region: &str) -> Result<(), CallError> {
    // us-east-1 takes no location constraint (and refuses one).
    let config = (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    });
    gone(
        c.s3.create_bucket()
            .bucket(bucket)
            .set_create_bucket_configuration(config)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("CreateBucket", bucket, e)),
        &["BucketAlreadyOwnedByYou"],
    )
}

pub async fn put_object(
    c: &Clients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), CallError> {
    c.s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .content_type("application/zip")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("PutObject", &format!("{bucket}/{key}"), e))
}

pub async fn delete_object(c: &Clients, bucket: &str, key: &str) -> Result<(), CallError> {
    gone(
        c.s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteObject", &format!("{bucket}/{key}"), e)),
        &[NO_BUCKET, "NoSuchKey"],
    )
}

/// Deletes the bucket if it is empty; returns whether it is gone (false: others' objects keep it).
pub async fn delete_bucket_if_empty(c: &Clients, bucket: &str) -> Result<bool, CallError> {
    let out =
        c.s3.list_objects_v2()
            .bucket(bucket)
            .max_keys(1)
            .send()
            .await;
    match out {
        Ok(out) if !out.contents().is_empty() => return Ok(false),
        Ok(_) => {}
        Err(e) => {
            let e = CallError::new("ListObjectsV2", bucket, e);
            return if e.has_code(NO_BUCKET) {
                Ok(true)
            } else {
                Err(e)
            };
        }
    }
    gone(
        c.s3.delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteBucket", bucket, e)),
        &[NO_BUCKET],
    )?;
    Ok(true)
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
