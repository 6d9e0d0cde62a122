//! Sends a [`Delivery`] to its source with the AWS SDK: SendMessage, PutObject, Publish,
//! PutRecord, PutItem, PutEvents. Each call goes to the region its source's ARN names.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::Blob;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::shape::Delivery;
use crate::aws::{CallCounter, Clients};
use crate::resources::CallError;

/// The message group of FIFO messages sent by `local send`.
const MESSAGE_GROUP: &str = "deployer-local-send";

/// Why the call failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("{operation} to {target} failed: {message}")]
    Call {
        operation: &'static str,
        target: String,
        message: String,
    },
    #[error("the item's attribute `{name}` is not DynamoDB JSON: {why}")]
    Attribute { name: String, why: String },
}

/// A failed call in words: the service's code and message, or the causes (never the SDK's dump).
fn call<E, R>(operation: &'static str, target: &str, e: SdkError<E, R>) -> DeliverError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    DeliverError::Call {
        operation,
        target: target.to_owned(),
        message: CallError::new(operation, target, e).message,
    }
}

/// What was sent, for one line of output: e.g. `message 5f1c... sent to queue my-queue`.
pub type Receipt = String;

/// Sends `delivery` (never a [`Delivery::Fire`]: the runner fires schedules).
pub async fn deliver(config: &SdkConfig, delivery: Delivery) -> Result<Receipt, DeliverError> {
    match delivery {
        Delivery::Message { queue_arn, body } => {
            let c = clients_for(config, &queue_arn);
            let (account, name) = (field(&queue_arn, 4), last(&queue_arn));
            let mut url = c.sqs.get_queue_url().queue_name(name);
            if !account.is_empty() {
                url = url.queue_owner_aws_account_id(account);
            }
            let url = url.send().await.map_err(|e| call("GetQueueUrl", name, e))?;
            let url = url.queue_url().unwrap_or_default();
            let mut send = c.sqs.send_message().queue_url(url).message_body(body);
            if name.ends_with(".fifo") {
                send = send
                    .message_group_id(MESSAGE_GROUP)
                    .message_deduplication_id(dedup_id());
            }
            let sent = send
                .send()
                .await
                .map_err(|e| call("SendMessage", name, e))?;
            Ok(format!(
                "message {} sent to queue {name}",
                sent.message_id().unwrap_or("?")
            ))
        }
        Delivery::Object {
            bucket,
            key,
            content,
            content_type,
        } => {
            let c = clients_for(config, "");
            let size = content.len();
            c.s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .content_type(content_type)
                .body(content.into())
                .send()
                .await
                .map_err(|e| call("PutObject", &format!("{bucket}/{key}"), e))?;
            Ok(format!(
                "object {key} ({size} bytes) put in bucket {bucket}"
            ))
        }
        Delivery::Notification {
            topic_arn,
            subject,
            message,
        } => {
            let c = clients_for(config, &topic_arn);
            let sent = c
                .sns
                .publish()
                .topic_arn(&topic_arn)
                .set_subject(subject)
                .message(message)
                .send()
                .await
                .map_err(|e| call("Publish", &topic_arn, e))?;
            Ok(format!(
                "message {} published to topic {}",
                sent.message_id().unwrap_or("?"),
                last(&topic_arn)
            ))
        }
        Delivery::Record {
            stream_arn,
            partition_key,
            data,
        } => {
            let c = clients_for(config, &stream_arn);
            let name = last(&stream_arn);
            let name = name.strip_prefix("stream/").unwrap_or(name);
            let put = c
                .kinesis
                .put_record()
                .stream_name(name)
                .partition_key(partition_key)
                .data(Blob::new(data))
                .send()
                .await
                .map_err(|e| call("PutRecord", name, e))?;
            Ok(format!(
                "record {} put on stream {name} (shard {})",
                put.sequence_number(),
                put.shard_id()
            ))
        }
        Delivery::Item {
            stream_arn,
            table,
            item,
        } => {
            let c = clients_for(config, &stream_arn);
            let item = attributes(item)?;
            c.dynamodb
                .put_item()
                .table_name(&table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| call("PutItem", &table, e))?;
            Ok(format!("item put in table {table}"))
        }
        Delivery::Event {
            bus,
            source,
            detail_type,
            detail,
            resources,
        } => {
            let c = clients_for(config, bus.as_deref().unwrap_or(""));
            let entry = PutEventsRequestEntry::builder()
                .source(&source)
                .detail_type(detail_type)
                .detail(detail)
                .set_resources((!resources.is_empty()).then_some(resources))
                .set_event_bus_name(bus.clone())
                .build();
            let bus = bus.unwrap_or_else(|| "default".to_owned());
            let put = c
                .eventbridge
                .put_events()
                .entries(entry)
                .send()
                .await
                .map_err(|e| call("PutEvents", &bus, e))?;
            let entry = put.entries().first();
            if let Some(code) = entry.and_then(|e| e.error_code()) {
                return Err(DeliverError::Call {
                    operation: "PutEvents",
                    target: bus,
                    message: format!(
                        "{code}: {}",
                        entry.and_then(|e| e.error_message()).unwrap_or_default()
                    ),
                });
            }
            Ok(format!(
                "event {} from {source} put on bus {}",
                entry.and_then(|e| e.event_id()).unwrap_or("?"),
                last(&bus)
            ))
        }
        Delivery::Fire { schedule } => Ok(format!("schedule {schedule} not sent: it is fired")),
    }
}

/// A deduplication id no earlier message of this process or machine has (the time in ns).
fn dedup_id() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

/// Clients in the region `arn` names (else the configuration's).
fn clients_for(config: &SdkConfig, arn: &str) -> Clients {
    let region = field(arn, 3);
    let config = if region.is_empty() || arn.split(':').count() < 4 {
        config.clone()
    } else {
        config
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build()
    };
    Clients::from_config(&config, None, CallCounter::new())
}

/// The `n`th `:`-separated field of an ARN, or `""`.
fn field(arn: &str, n: usize) -> &str {
    arn.split(':').nth(n).unwrap_or("")
}

/// The last `:`-separated field of an ARN (a name, `stream/NAME`), or the whole text.
fn last(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// DynamoDB JSON as the SDK's attribute values.
fn attributes(item: Map<String, Value>) -> Result<HashMap<String, AttributeValue>, DeliverError> {
    item.into_iter()
        .map(|(name, value)| {
            let attribute = attribute(&value).map_err(|why| DeliverError::Attribute {
                name: name.clone(),
                why,
            })?;
            Ok((name, attribute))
        })
        .collect()
}

fn attribute(value: &Value) -> Result<AttributeValue, String> {
    let Some((kind, inner)) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return Err(format!("expected one type descriptor, got {value}"));
    };
    let string = || {
        inner
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("`{kind}` takes a string"))
    };
    let strings = || {
        inner
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| format!("`{kind}` takes an array of strings"))
    };
    let blob = |text: &str| {
        STANDARD
            .decode(text)
            .map(Blob::new)
            .map_err(|e| format!("`{kind}` takes base64: {e}"))
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(string()?),
        "N" => AttributeValue::N(string()?),
        "B" => AttributeValue::B(blob(&string()?)?),
        "SS" => AttributeValue::Ss(strings()?),
        "NS" => AttributeValue::Ns(strings()?),
        "BS" => AttributeValue::Bs(
            strings()?
                .iter()
                .map(|s| blob(s))
                .collect::<Result<_, _>>()?,
        ),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("`BOOL` takes true or false")?),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or("`L` takes an array")?
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .ok_or("`M` takes an object")?
                .iter()
                .map(|(k, v)| Ok((k.clone(), attribute(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => return Err(format!("unknown type descriptor `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dynamodb_json_becomes_attribute_values() {
        let Value::Object(item) = json!({
            "Id": { "S": "o-1" },
            "N": { "N": "1.5" },
            "Tags": { "SS": ["a", "b"] },
            "Raw": { "B": "aGk=" },
            "Nested": { "M": { "L": { "L": [{ "BOOL": true }, { "NULL": true }] } } }
        }) else {
            unreachable!()
        };
        let found = attributes(item).unwrap();
        assert_eq!(found["Id"], AttributeValue::S("o-1".into()));
        assert_eq!(found["N"], AttributeValue::N("1.5".into()));
        assert_eq!(
            found["Tags"],
            AttributeValue::Ss(vec!["a".into(), "b".into()])
        );
        assert_eq!(found["Raw"], AttributeValue::B(Blob::new("hi")));
        let AttributeValue::M(nested) = &found["Nested"] else {
            panic!()
        };
        assert_eq!(
            nested["L"],
            AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Null(true)])
        );
        let Value::Object(bad) = json!({ "Id": { "X": "1" } }) else {
            unreachable!()
        };
        let err = attributes(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the item's attribute `Id` is not DynamoDB JSON: unknown type descriptor `X`"
        );
    }
}
