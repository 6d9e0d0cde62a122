//! The SAM form of the template: functions as `AWS::Serverless::Function` (code from the zips beside
//! the template, `CodeUri`) with SAM's own event types where they make exactly what `deploy` makes:
//!
//! - `SQS`, `Kinesis`, `DynamoDB` events for event source mappings (every setting passes through,
//!   `FunctionResponseTypes: [ReportBatchItemFailures]` included);
//! - `SNS` events for topic subscriptions (filter policy and scope pass through; SAM's permission names
//!   the topic as its `SourceArn`, as `deploy`'s does);
//! - the function's `EventInvokeConfig` (`Qualifier: $LATEST`).
//!
//! Schedules and pattern rules stay plain `AWS::Events::Rule` and `AWS::Lambda::Permission` resources:
//! SAM's `Schedule` and `EventBridgeRule` events make rules without tags (`deploy` tags every rule with
//! `chalice:app` and `chalice:stage`) and with a target id of SAM's choosing. Bucket entries keep the
//! custom resource (SAM's `S3` event needs the bucket in the template), roles and log groups stay
//! plain resources; with an explicit `Role`, SAM adds no policy of its own.

use chalice_codegen::plan::{DestinationKind, MappingSource, Plan};
use serde_json::{Map, Value, json};

use super::cloudformation::{CODE_BUCKET, code_key_parameter, suffix};
use super::logical_ids::LogicalIds;
use super::{Template, TemplateError};

/// SAM's transform.
pub const TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// SAM's `Type` of an on-failure destination of an asynchronous invocation.
fn destination_type(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Queue => "SQS",
        DestinationKind::Topic => "SNS",
        DestinationKind::Bucket => "S3Bucket",
        DestinationKind::Bus => "EventBridge",
        DestinationKind::Function => "Lambda",
    }
}

fn properties(resource: Value) -> Map<String, Value> {
    match resource {
        Value::Object(mut r) => match r.remove("Properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}

/// Turns the CloudFormation template `t` of `plan` into its SAM form.
pub fn convert(plan: &Plan, mut t: Template) -> Result<Template, TemplateError> {
    let ids = LogicalIds::new(plan.functions.iter().map(|f| f.handler.as_str()));
    t.transform = Some(TRANSFORM.into());
    t.drop_parameter(CODE_BUCKET);
    for code in &t.code.clone() {
        t.drop_parameter(&code_key_parameter(&code.architecture));
    }
    for f in &plan.functions {
        let h = f.handler.as_str();
        let fid = ids.of(h, suffix::FUNCTION);
        let mut events = Map::new();
        let mut generated = Vec::new();
        if let Some(subscription) = t.take(&ids.of(h, suffix::SUBSCRIPTION)) {
            // SAM makes the permission itself (SourceArn: the topic).
            t.take(&ids.of(h, suffix::PERMISSION));
            let mut p = properties(subscription);
            let mut e = Map::new();
            e.insert("Topic".into(), p.remove("TopicArn").unwrap_or(Value::Null));
            for key in ["Region", "FilterPolicy", "FilterPolicyScope"] {
                if let Some(v) = p.remove(key) {
                    e.insert(key.into(), v);
                }
            }
            events.insert("Topic".into(), json!({"Type": "SNS", "Properties": e}));
            generated.extend([format!("{fid}Topic"), format!("{fid}TopicPermission")]);
        }
        if let Some(mapping) = t.take(&ids.of(h, suffix::MAPPING)) {
            let source = plan
                .mapping(h)
                .map(|m| &m.source)
                .ok_or_else(|| TemplateError::UnknownHandler { handler: h.into() })?;
            let (name, kind, key) = match source {
                MappingSource::Queue { .. } => ("Queue", "SQS", "Queue"),
                MappingSource::Stream { .. } => ("Stream", "Kinesis", "Stream"),
                MappingSource::Table { .. } | MappingSource::TableStream { .. } => {
                    ("Table", "DynamoDB", "Stream")
                }
            };
            let mut p = properties(mapping);
            p.remove("FunctionName");
            let mut e = Map::new();
            e.insert(
                key.into(),
                p.remove("EventSourceArn").unwrap_or(Value::Null),
            );
            e.extend(p);
            events.insert(name.into(), json!({"Type": kind, "Properties": e}));
            generated.push(format!("{fid}{name}"));
        }
        let invoke_config = match t.take(&ids.of(h, suffix::INVOKE_CONFIG)) {
            Some(config) => {
                let mut p = properties(config);
                p.remove("FunctionName");
                p.remove("Qualifier");
                if let (Some(d), Some(dest)) = (
                    plan.invoke_config(h).and_then(|c| c.on_failure.as_ref()),
                    p.get_mut("DestinationConfig")
                        .and_then(|d| d.get_mut("OnFailure"))
                        .and_then(Value::as_object_mut),
                ) {
                    dest.insert("Type".into(), json!(destination_type(d.kind)));
                }
                generated.push(format!("{fid}EventInvokeConfig"));
                Some(Value::Object(p))
            }
            None => None,
        };
        for id in &generated {
            t.claim(id)?;
        }
        let function = t
            .get_mut(&fid)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| TemplateError::UnknownHandler { handler: h.into() })?;
        function.insert("Type".into(), json!("AWS::Serverless::Function"));
        let Some(Value::Object(p)) = function.get_mut("Properties") else {
            return Err(TemplateError::UnknownHandler { handler: h.into() });
        };
        let mut out = Map::new();
        for (k, v) in std::mem::take(p) {
            match k.as_str() {
                "Code" => {
                    out.insert(
                        "CodeUri".into(),
                        json!(super::cloudformation::code_file_name(
                            f.architecture.as_str()
                        )),
                    );
                }
                // SAM's Tags are a map; SAM adds `lambda:createdBy: SAM` to them.
                "Tags" => {
                    out.insert("Tags".into(), json!(f.tags));
                }
                "TracingConfig" => {
                    out.insert("Tracing".into(), json!(f.tracing.as_str()));
                }
                _ => {
                    out.insert(k, v);
                }
            }
        }
        if let Some(c) = invoke_config {
            out.insert("EventInvokeConfig".into(), c);
        }
        if !events.is_empty() {
            out.insert("Events".into(), Value::Object(events));
        }
        *p = out;
    }
    Ok(t)
}
