//! On-failure destinations as the runner reaches them: a record ([`crate::local::failure`]) sent to
//! a queue (SendMessage), a topic (Publish), a bucket (PutObject), an event bus (PutEvents, as
//! Lambda's "Lambda Function Invocation Result - Failure" event) or a function (one of this app's
//! handlers, invoked locally; any other cannot be reached from here).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_s3::primitives::ByteStream;
use chalice_codegen::plan::DestinationKind;
use serde_json::Value;

use crate::aws::Clients;
use crate::local::Delivered;
use crate::resources::CallError;
use crate::resources::sources::{arn_parts, queue_info};

/// EventBridge's `source` and `detail-type` for Lambda's on-failure events.
pub const BUS_SOURCE: &str = "lambda";
pub const BUS_DETAIL_TYPE: &str = "Lambda Function Invocation Result - Failure";

/// Invokes one of the app's handlers with a record (a function destination).
pub type LocalInvoke =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Delivered> + Send>> + Send + Sync>;

/// Where a record goes.
#[derive(Clone)]
pub enum Target {
    Queue {
        arn: String,
    },
    Topic {
        arn: String,
    },
    Bucket {
        name: String,
    },
    Bus {
        arn: String,
    },
    /// A function; `local` when it is one of this app's handlers.
    Function {
        arn: String,
        local: Option<LocalInvoke>,
    },
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = |arn: &str| arn.rsplit([':', '/']).next().unwrap_or(arn).to_owned();
        match self {
            Target::Queue { arn } => write!(f, "queue {}", last(arn)),
            Target::Topic { arn } => write!(f, "topic {}", last(arn)),
            Target::Bucket { name } => write!(f, "bucket {name}"),
            Target::Bus { arn } => write!(f, "event bus {}", last(arn)),
            Target::Function { arn, .. } => write!(f, "function {}", last(arn)),
        }
    }
}

impl Target {
    /// The target of a destination of `kind` at `arn` (resolved); `local` invokes the function
    /// when it is one of this app's.
    pub fn new(kind: DestinationKind, arn: String, local: Option<LocalInvoke>) -> Target {
        match kind {
            DestinationKind::Queue => Target::Queue { arn },
            DestinationKind::Topic => Target::Topic { arn },
            DestinationKind::Bucket => Target::Bucket {
                name: arn_parts(&arn).map_or_else(|| arn.clone(), |p| p.resource.to_owned()),
            },
            DestinationKind::Bus => Target::Bus { arn },
            DestinationKind::Function => Target::Function { arn, local },
        }
    }
}

/// A destination and the clients that reach it.
#[derive(Clone)]
pub struct Destination {
    clients: Clients,
    target: Target,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Destination({})", self.target)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.target.fmt(f)
    }
}

impl Destination {
    pub fn new(clients: Clients, target: Target) -> Destination {
        Destination { clients, target }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `record`; `object_key` is its key in a bucket, `function_arn` the failed function's
    /// (an event bus event names it among its resources).
    pub async fn send(
        &self,
        record: &Value,
        object_key: &str,
        function_arn: &str,
    ) -> Result<(), CallError> {
        let c = &self.clients;
        let body = record.to_string();
        match &self.target {
            Target::Queue { arn } => {
                let account = arn_parts(arn).map_or("", |p| p.account).to_owned();
                let info = queue_info(c, arn, &account)
                    .await?
                    .ok_or_else(|| CallError::other("SendMessage", arn, "no such queue"))?;
                c.sqs
                    .send_message()
                    .queue_url(&info.url)
                    .message_body(body)
                    .send()
                    .await
                    .map_err(|e| CallError::new("SendMessage", arn, e))?;
            }
            Target::Topic { arn } => {
                c.sns
                    .publish()
                    .topic_arn(arn)
                    .message(body)
                    .send()
                    .await
                    .map_err(|e| CallError::new("Publish", arn, e))?;
            }
            Target::Bucket { name } => {
                c.s3.put_object()
                    .bucket(name)
                    .key(object_key)
                    .content_type("application/json")
                    .body(ByteStream::from(body.into_bytes()))
                    .send()
                    .await
                    .map_err(|e| CallError::new("PutObject", name, e))?;
            }
            Target::Bus { arn } => {
                let entry = PutEventsRequestEntry::builder()
                    .event_bus_name(arn)
                    .source(BUS_SOURCE)
                    .detail_type(BUS_DETAIL_TYPE)
                    .detail(body)
                    .resources(arn)
                    .resources(function_arn)
                    .build();
                let out = c
                    .eventbridge
                    .put_events()
                    .entries(entry)
                    .send()
                    .await
                    .map_err(|e| CallError::new("PutEvents", arn, e))?;
                if out.failed_entry_count() > 0 {
                    let why = out
                        .entries()
                        .iter()
                        .find_map(|e| e.error_message())
                        .unwrap_or("the entry failed");
                    return Err(CallError::other("PutEvents", arn, why));
                }
            }
            Target::Function { arn, local } => {
                let Some(invoke) = local else {
                    return Err(CallError::other(
                        "Invoke",
                        arn,
                        "not one of this app's handlers: it cannot be reached locally",
                    ));
                };
                if let Delivered::Failed(e) = invoke(record.clone()).await {
                    return Err(CallError::other("Invoke", arn, e));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_named_briefly() {
        let t = |kind, arn: &str| Target::new(kind, arn.to_owned(), None).to_string();
        assert_eq!(
            t(DestinationKind::Queue, "arn:aws:sqs:us-east-1:1:dead"),
            "queue dead"
        );
        assert_eq!(
            t(DestinationKind::Topic, "arn:aws:sns:us-east-1:1:alerts"),
            "topic alerts"
        );
        assert_eq!(
            t(DestinationKind::Bucket, "arn:aws:s3:::failures"),
            "bucket failures"
        );
        assert_eq!(
            t(
                DestinationKind::Bus,
                "arn:aws:events:us-east-1:1:event-bus/ops"
            ),
            "event bus ops"
        );
        assert_eq!(
            t(
                DestinationKind::Function,
                "arn:aws:lambda:us-east-1:1:function:f"
            ),
            "function f"
        );
    }
}
