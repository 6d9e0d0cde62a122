//! The plain CloudFormation template of a plan: one resource per thing `deploy` makes, with the same
//! names and settings (see `resources/` for the calls each one mirrors).

use std::collections::BTreeSet;

use chalice_codegen::plan::{
    EventRule, EventSourceMapping, Function, FunctionRole, InvokeConfig, MappingSource, Permission,
    Plan, Role, Subscription,
};
use serde_json::{Map, Value, json};

use super::logical_ids::LogicalIds;
use super::{
    CodeFile, Parameter, Template, TemplateError, bucket_notifications, get_att, reference, sub,
    sub_json,
};
use crate::resources::CodeSet;
use crate::resources::artifacts::code_key;

/// The parameter naming the bucket the code zips are uploaded to.
pub const CODE_BUCKET: &str = "CodeBucket";

/// The parameter holding the object key of the zip for `architecture` (`CodeKeyX8664`, `CodeKeyArm64`).
pub fn code_key_parameter(architecture: &str) -> String {
    format!("CodeKey{}", super::logical_ids::pascal_case(architecture))
}

/// The file name of the zip for `architecture` beside the template.
pub fn code_file_name(architecture: &str) -> String {
    format!("bootstrap-{architecture}.zip")
}

/// Logical id suffixes of each handler's resources.
pub mod suffix {
    pub const ROLE: &str = "Role";
    pub const LOG_GROUP: &str = "LogGroup";
    pub const FUNCTION: &str = "Function";
    pub const RULE: &str = "Rule";
    pub const PERMISSION: &str = "Permission";
    pub const SUBSCRIPTION: &str = "Subscription";
    pub const MAPPING: &str = "Mapping";
    pub const INVOKE_CONFIG: &str = "InvokeConfig";
    pub const STREAM_ARN: &str = "StreamArn";
}

/// `[{"Key": k, "Value": v}]`, in key order.
pub fn tag_list<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::Array(
        tags.into_iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// Parses a plan's compact JSON (a pattern, a filter policy).
fn parse(what: impl Fn() -> String, text: &str) -> Result<Value, TemplateError> {
    serde_json::from_str(text).map_err(|source| TemplateError::Json {
        what: what(),
        source,
    })
}

/// The template of `plan`: code from the `CodeBucket` parameter's bucket, at the keys `deploy` uses.
pub fn build(plan: &Plan, code: &CodeSet) -> Result<Template, TemplateError> {
    let ids = LogicalIds::new(plan.functions.iter().map(|f| f.handler.as_str()));
    let mut t = Template {
        description: format!(
            "chalice-rs app `{}`, stage `{}` (written by `deployer package`)",
            plan.app, plan.stage
        ),
        ..Template::default()
    };
    code_parameters(&mut t, plan, code)?;
    for m in &plan.event_source_mappings {
        if let MappingSource::Table { table } = &m.source {
            let name = ids.of(&m.function, suffix::STREAM_ARN);
            let description = format!(
                "The stream ARN of DynamoDB table `{table}` (its latest stream; a template cannot look up \
                 a table it does not own)"
            );
            let value = json!({
                "Type": "String",
                "Description": description,
                "AllowedPattern": "arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/.+/stream/.+",
            });
            let doc = Parameter {
                name,
                description,
                default: None,
                lookup: Some(format!(
                    "aws dynamodb describe-table --table-name {table} --query Table.LatestStreamArn --output text"
                )),
            };
            t.parameter(doc, value)?;
        }
    }
    for f in &plan.functions {
        let h = f.handler.as_str();
        if let Some(role) = plan.role(h) {
            t.resource(&ids.of(h, suffix::ROLE), role_resource(plan, role))?;
        }
        if let Some(days) = f.log_group.retention_days {
            t.resource(
                &ids.of(h, suffix::LOG_GROUP),
                json!({
                    "Type": "AWS::Logs::LogGroup",
                    // `deploy` keeps log groups (and their logs) on `delete`; so does the stack.
                    "DeletionPolicy": "Retain",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": {
                        "LogGroupName": f.log_group.name,
                        "RetentionInDays": days,
                        "Tags": tag_list(&plan.tags),
                    },
                }),
            )?;
        }
        t.resource(&ids.of(h, suffix::FUNCTION), function_resource(f, &ids)?)?;
        for r in plan.rules.iter().filter(|r| r.function == h) {
            t.resource(&ids.of(h, suffix::RULE), rule_resource(plan, r, &ids)?)?;
        }
        for p in plan.permissions.iter().filter(|p| p.function == h) {
            t.resource(&ids.of(h, suffix::PERMISSION), permission_resource(p, &ids))?;
        }
        for s in plan.subscriptions.iter().filter(|s| s.function == h) {
            t.resource(
                &ids.of(h, suffix::SUBSCRIPTION),
                subscription_resource(s, &ids)?,
            )?;
        }
        for m in plan
            .event_source_mappings
            .iter()
            .filter(|m| m.function == h)
        {
            t.resource(&ids.of(h, suffix::MAPPING), mapping_resource(m, &ids)?)?;
        }
        for c in plan.invoke_configs.iter().filter(|c| c.function == h) {
            t.resource(
                &ids.of(h, suffix::INVOKE_CONFIG),
                invoke_config_resource(c, &ids),
            )?;
        }
    }
    bucket_notifications::add(&mut t, plan, &ids)?;
    Ok(t)
}

/// `CodeBucket` and one key parameter per architecture, defaulting to the key `deploy` uploads to.
fn code_parameters(t: &mut Template, plan: &Plan, code: &CodeSet) -> Result<(), TemplateError> {
    let description = "The S3 bucket the bootstrap zips are uploaded to (in the stack's region)";
    t.parameter(
        Parameter {
            name: CODE_BUCKET.into(),
            description: description.into(),
            default: None,
            lookup: None,
        },
        json!({"Type": "String", "Description": description, "MinLength": 3}),
    )?;
    let archs: BTreeSet<&str> = plan
        .functions
        .iter()
        .map(|f| f.architecture.as_str())
        .collect();
    for arch in archs {
        let Some(digest) = code.get(arch) else {
            let function = plan
                .functions
                .iter()
                .find(|f| f.architecture.as_str() == arch)
                .map_or_else(String::new, |f| f.name.clone());
            return Err(TemplateError::NoCode {
                function,
                architecture: arch.into(),
            });
        };
        let key = code_key(plan, digest);
        let file_name = code_file_name(arch);
        let description = format!("The object key of {file_name} in CodeBucket");
        t.parameter(
            Parameter {
                name: code_key_parameter(arch),
                description: description.clone(),
                default: Some(key.clone()),
                lookup: None,
            },
            json!({"Type": "String", "Description": description, "Default": key}),
        )?;
        t.code.push(CodeFile {
            architecture: arch.into(),
            file_name,
            key,
        });
    }
    Ok(())
}

/// The trust policy of every function's own role (as `resources/role.rs` writes it).
fn trust_policy(principal: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Action": "sts:AssumeRole",
        }],
    })
}

fn role_resource(plan: &Plan, r: &Role) -> Value {
    let statements: Vec<Value> = r
        .statements
        .iter()
        .map(|s| {
            json!({
                "Sid": s.sid,
                "Effect": "Allow",
                "Action": s.actions,
                "Resource": s.resources.iter().map(|a| sub(a.as_str())).collect::<Vec<_>>(),
            })
        })
        .chain(r.custom_statements.iter().map(sub_json))
        .collect();
    let mut props = Map::new();
    props.insert("RoleName".into(), json!(r.name));
    props.insert("Path".into(), json!(r.path));
    props.insert(
        "AssumeRolePolicyDocument".into(),
        trust_policy(&r.trust_principal),
    );
    if !statements.is_empty() {
        props.insert(
            "Policies".into(),
            json!([{
                "PolicyName": r.policy_name,
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }]),
        );
    }
    if !r.managed_policies.is_empty() {
        props.insert(
            "ManagedPolicyArns".into(),
            Value::Array(r.managed_policies.iter().map(|a| sub(a.as_str())).collect()),
        );
    }
    props.insert("Tags".into(), tag_list(&plan.tags));
    json!({"Type": "AWS::IAM::Role", "Properties": props})
}

fn function_resource(f: &Function, ids: &LogicalIds) -> Result<Value, TemplateError> {
    let h = f.handler.as_str();
    let role = match &f.role {
        FunctionRole::Own { .. } => get_att(&ids.of(h, suffix::ROLE), "Arn"),
        FunctionRole::Given { arn, .. } => sub(arn.as_str()),
    };
    let arch = f.architecture.as_str();
    let mut p = Map::new();
    p.insert("FunctionName".into(), json!(f.name));
    p.insert("Runtime".into(), json!(f.runtime));
    p.insert("Handler".into(), json!(f.handler));
    p.insert("Role".into(), role);
    p.insert(
        "Code".into(),
        json!({
            "S3Bucket": reference(CODE_BUCKET),
            "S3Key": reference(&code_key_parameter(arch)),
        }),
    );
    p.insert("Architectures".into(), json!([arch]));
    p.insert("MemorySize".into(), json!(f.memory_mb));
    p.insert("Timeout".into(), json!(f.timeout_s));
    if !f.env.is_empty() {
        p.insert("Environment".into(), json!({"Variables": f.env}));
    }
    if let Some(n) = f.reserved_concurrency {
        p.insert("ReservedConcurrentExecutions".into(), json!(n));
    }
    let mut logging = Map::new();
    logging.insert("LogFormat".into(), json!(f.log_format.as_str()));
    if let Some(level) = f.log_level {
        logging.insert("ApplicationLogLevel".into(), json!(level.as_str()));
    }
    p.insert("LoggingConfig".into(), Value::Object(logging));
    p.insert("TracingConfig".into(), json!({"Mode": f.tracing.as_str()}));
    if !f.layers.is_empty() {
        p.insert(
            "Layers".into(),
            Value::Array(f.layers.iter().map(|a| sub(a.as_str())).collect()),
        );
    }
    p.insert(
        "EphemeralStorage".into(),
        json!({"Size": f.ephemeral_storage_mb}),
    );
    if let Some(vpc) = &f.vpc {
        p.insert(
            "VpcConfig".into(),
            json!({"SubnetIds": vpc.subnet_ids, "SecurityGroupIds": vpc.security_group_ids}),
        );
    }
    p.insert("Tags".into(), tag_list(&f.tags));
    let mut resource = Map::new();
    resource.insert("Type".into(), json!("AWS::Lambda::Function"));
    if f.log_group.retention_days.is_some() {
        // As `deploy` does: the group exists (with its retention) before the function can log.
        resource.insert("DependsOn".into(), json!([ids.of(h, suffix::LOG_GROUP)]));
    }
    resource.insert("Properties".into(), Value::Object(p));
    Ok(Value::Object(resource))
}

fn function_arn(ids: &LogicalIds, handler: &str) -> Value {
    get_att(&ids.of(handler, suffix::FUNCTION), "Arn")
}

fn rule_resource(plan: &Plan, r: &EventRule, ids: &LogicalIds) -> Result<Value, TemplateError> {
    let mut p = Map::new();
    p.insert("Name".into(), json!(r.name));
    if let Some(bus) = &r.event_bus {
        p.insert("EventBusName".into(), sub(bus));
    }
    if let Some(d) = &r.description {
        p.insert("Description".into(), json!(d));
    }
    if let Some(s) = &r.schedule_expression {
        p.insert("ScheduleExpression".into(), json!(s));
    }
    if let Some(pattern) = &r.event_pattern {
        let what = || format!("the event pattern of rule `{}`", r.name);
        p.insert("EventPattern".into(), parse(what, pattern)?);
    }
    p.insert("State".into(), json!("ENABLED"));
    p.insert(
        "Targets".into(),
        json!([{"Id": r.target_id, "Arn": function_arn(ids, &r.function)}]),
    );
    p.insert("Tags".into(), tag_list(&plan.tags));
    Ok(json!({"Type": "AWS::Events::Rule", "Properties": p}))
}

/// The permission letting a service invoke a function. CloudFormation chooses the statement id
/// (`deploy` names it `chalice-<kind>-<handler>`); principal, `SourceArn` and `SourceAccount` are the plan's.
fn permission_resource(p: &Permission, ids: &LogicalIds) -> Value {
    let mut props = Map::new();
    props.insert("Action".into(), json!("lambda:InvokeFunction"));
    props.insert("FunctionName".into(), function_arn(ids, &p.function));
    props.insert("Principal".into(), json!(p.principal));
    props.insert("SourceArn".into(), sub(p.source_arn.as_str()));
    if p.source_account {
        props.insert("SourceAccount".into(), reference("AWS::AccountId"));
    }
    json!({"Type": "AWS::Lambda::Permission", "Properties": props})
}

/// The region part of an ARN when it is written out (not the `{region}` placeholder).
fn literal_region(arn: &str) -> Option<&str> {
    let region = arn.split(':').nth(3)?;
    (!region.is_empty() && !region.contains('{')).then_some(region)
}

fn subscription_resource(s: &Subscription, ids: &LogicalIds) -> Result<Value, TemplateError> {
    let mut p = Map::new();
    p.insert("TopicArn".into(), sub(s.topic_arn.as_str()));
    p.insert("Protocol".into(), json!("lambda"));
    p.insert("Endpoint".into(), function_arn(ids, &s.function));
    if let Some(region) = literal_region(s.topic_arn.as_str()) {
        p.insert("Region".into(), json!(region));
    }
    if let Some(fp) = &s.filter_policy {
        let what = || format!("the filter policy of handler `{}`", s.function);
        p.insert("FilterPolicy".into(), parse(what, &fp.policy)?);
        p.insert("FilterPolicyScope".into(), json!(fp.scope.as_str()));
    }
    Ok(json!({"Type": "AWS::SNS::Subscription", "Properties": p}))
}

/// An RFC 3339 time as Unix seconds, as `StartingPositionTimestamp` takes it.
fn unix_seconds(handler: &str, value: &str) -> Result<Value, TemplateError> {
    let t = chrono::DateTime::parse_from_rfc3339(value).map_err(|_| TemplateError::Timestamp {
        handler: handler.into(),
        value: value.into(),
    })?;
    let millis = t.timestamp_subsec_millis();
    Ok(if millis == 0 {
        json!(t.timestamp())
    } else {
        json!(t.timestamp() as f64 + f64::from(millis) / 1000.0)
    })
}

fn mapping_resource(m: &EventSourceMapping, ids: &LogicalIds) -> Result<Value, TemplateError> {
    let h = m.function.as_str();
    let source = match &m.source {
        MappingSource::Queue { arn }
        | MappingSource::Stream { arn }
        | MappingSource::TableStream { arn } => sub(arn.as_str()),
        MappingSource::Table { .. } => reference(&ids.of(h, suffix::STREAM_ARN)),
    };
    let mut p = Map::new();
    p.insert(
        "FunctionName".into(),
        reference(&ids.of(h, suffix::FUNCTION)),
    );
    p.insert("EventSourceArn".into(), source);
    p.insert("BatchSize".into(), json!(m.batch_size));
    if let Some(w) = m.batching_window_s {
        p.insert("MaximumBatchingWindowInSeconds".into(), json!(w));
    }
    if let Some(s) = &m.starting_position {
        p.insert("StartingPosition".into(), json!(s));
    }
    if let Some(ts) = &m.starting_position_timestamp {
        p.insert("StartingPositionTimestamp".into(), unix_seconds(h, ts)?);
    }
    if let Some(n) = m.maximum_concurrency {
        p.insert("ScalingConfig".into(), json!({"MaximumConcurrency": n}));
    }
    if m.report_batch_item_failures {
        p.insert(
            "FunctionResponseTypes".into(),
            json!(["ReportBatchItemFailures"]),
        );
    }
    if !m.filters.is_empty() {
        let filters: Vec<Value> = m.filters.iter().map(|f| json!({"Pattern": f})).collect();
        p.insert("FilterCriteria".into(), json!({"Filters": filters}));
    }
    if let Some(sf) = &m.stream_failure {
        p.insert(
            "MaximumRetryAttempts".into(),
            json!(sf.maximum_retry_attempts),
        );
        p.insert(
            "MaximumRecordAgeInSeconds".into(),
            json!(sf.maximum_record_age_s),
        );
        p.insert(
            "BisectBatchOnFunctionError".into(),
            json!(sf.bisect_on_error),
        );
        p.insert(
            "ParallelizationFactor".into(),
            json!(sf.parallelization_factor),
        );
        if sf.tumbling_window_s > 0 {
            p.insert(
                "TumblingWindowInSeconds".into(),
                json!(sf.tumbling_window_s),
            );
        }
        if let Some(d) = &sf.on_failure {
            p.insert(
                "DestinationConfig".into(),
                json!({"OnFailure": {"Destination": sub(d.arn.as_str())}}),
            );
        }
    }
    Ok(json!({"Type": "AWS::Lambda::EventSourceMapping", "Properties": p}))
}

fn invoke_config_resource(c: &InvokeConfig, ids: &LogicalIds) -> Value {
    let mut p = Map::new();
    p.insert(
        "FunctionName".into(),
        reference(&ids.of(&c.function, suffix::FUNCTION)),
    );
    // `deploy` configures the unpublished version, as PutFunctionEventInvokeConfig without a qualifier does.
    p.insert("Qualifier".into(), json!("$LATEST"));
    p.insert(
        "MaximumRetryAttempts".into(),
        json!(c.maximum_retry_attempts),
    );
    p.insert(
        "MaximumEventAgeInSeconds".into(),
        json!(c.maximum_event_age_s),
    );
    if let Some(d) = &c.on_failure {
        p.insert(
            "DestinationConfig".into(),
            json!({"OnFailure": {"Destination": sub(d.arn.as_str())}}),
        );
    }
    json!({"Type": "AWS::Lambda::EventInvokeConfig", "Properties": p})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_unix_seconds() {
        assert_eq!(
            unix_seconds("h", "2026-01-01T00:00:00Z").unwrap(),
            json!(1_767_225_600)
        );
        assert_eq!(
            unix_seconds("h", "2026-01-01T01:00:00.5+01:00").unwrap(),
            json!(1_767_225_600.5)
        );
        assert!(matches!(
            unix_seconds("h", "yesterday"),
            Err(TemplateError::Timestamp { .. })
        ));
    }

    #[test]
    fn regions_written_out_are_found() {
        assert_eq!(
            literal_region("arn:aws:sns:eu-west-1:1:t"),
            Some("eu-west-1")
        );
        assert_eq!(
            literal_region("arn:{partition}:sns:{region}:{account}:t"),
            None
        );
    }
}
