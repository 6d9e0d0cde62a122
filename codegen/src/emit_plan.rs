//! Model → deploy plan: every AWS resource one stage of the app needs, as data (see [`crate::plan`]).
//!
//! Pure and deterministic: resources come in file order, ARNs are templates (no account, region or
//! partition is known here), and every resource carries a stable id the deployer records state under.

use std::collections::BTreeMap;

use crate::diag::did_you_mean;
use crate::model::{
    Delivery, Destination as ModelDestination, DestinationKind, Handler, Model, NameOrArn,
    QueueRef, Settings, Source, Tracing,
};
use crate::plan::{
    Arn, BucketNotification, DEFAULT_ASYNC_EVENT_AGE_S, DEFAULT_ASYNC_RETRY_ATTEMPTS, Destination,
    EventRule, EventSourceMapping, FilterPolicy, Function, FunctionRole, InvokeConfig, LogGroup,
    MappingSource, PLAN_VERSION, Permission, Plan, RUNTIME, Role, Statement, StreamFailure,
    Subscription, TAG_APP, TAG_STAGE, log_group_name,
};

/// The service every function's role trusts.
pub const LAMBDA_PRINCIPAL: &str = "lambda.amazonaws.com";
const EVENTS_PRINCIPAL: &str = "events.amazonaws.com";
const S3_PRINCIPAL: &str = "s3.amazonaws.com";
const SNS_PRINCIPAL: &str = "sns.amazonaws.com";

const LOGS_ACTIONS: &[&str] = &[
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
];
const SQS_ACTIONS: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
];
const KINESIS_ACTIONS: &[&str] = &[
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
];
const DYNAMODB_STREAM_ACTIONS: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
];
/// Has no resource-level permission: granted on `*` in a statement of its own.
const DYNAMODB_LIST_STREAMS: &[&str] = &["dynamodb:ListStreams"];
/// What the X-Ray SDK and Lambda's tracing need (as AWSXRayDaemonWriteAccess grants them).
const XRAY_ACTIONS: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
];
/// What Lambda needs to attach a function to a VPC (as AWSLambdaVPCAccessExecutionRole grants them).
/// EC2 grants these on `*` only.
const VPC_ACTIONS: &[&str] = &[
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

/// A stage the model does not declare (`dev` is always known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown stage `{stage}`{}; known stages: {}",
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
    known.join(", ")
)]
pub struct UnknownStage {
    /// The stage asked for.
    pub stage: String,
    /// Every stage the app can deploy, sorted.
    pub known: Vec<String>,
    /// The closest known stage, when one is close.
    pub suggestion: Option<String>,
}

/// The plan for deploying `stage` of `model`.
pub fn plan(model: &Model, stage: &str) -> Result<Plan, UnknownStage> {
    if !model.has_stage(stage) {
        let known = model.stage_names();
        return Err(UnknownStage {
            stage: stage.to_string(),
            suggestion: did_you_mean(stage, known.iter().copied()).map(str::to_string),
            known: known.into_iter().map(str::to_string).collect(),
        });
    }
    let tags = BTreeMap::from([
        (TAG_APP.to_string(), model.app.clone()),
        (TAG_STAGE.to_string(), stage.to_string()),
    ]);
    let mut plan = Plan {
        version: PLAN_VERSION,
        app: model.app.clone(),
        stage: stage.to_string(),
        roles: Vec::new(),
        functions: Vec::new(),
        rules: Vec::new(),
        permissions: Vec::new(),
        bucket_notifications: Vec::new(),
        subscriptions: Vec::new(),
        event_source_mappings: Vec::new(),
        invoke_configs: Vec::new(),
        tags,
    };
    for handler in &model.handlers {
        // Every deployable stage has every handler's source (validation resolved them all).
        let Some(source) = handler.source(stage) else {
            continue;
        };
        let settings = model.settings_for(handler, stage);
        let delivery = model.delivery_for(handler, stage);
        let statements = grants(model, stage, handler, source, &settings, &delivery);
        let role = match &settings.role {
            Some(arn) => FunctionRole::Given {
                arn: Arn(arn.clone()),
                needs: statements,
            },
            None => {
                let role = role(model, stage, handler, statements, &settings);
                let own = FunctionRole::Own {
                    id: role.id.clone(),
                    arn: role.arn.clone(),
                };
                plan.roles.push(role);
                own
            }
        };
        plan.functions
            .push(function(model, stage, handler, settings, role, &plan.tags));
        add_trigger(&mut plan, model, stage, handler, source, &delivery);
    }
    Ok(plan)
}

fn function(
    model: &Model,
    stage: &str,
    handler: &Handler,
    settings: Settings,
    role: FunctionRole,
    plan_tags: &BTreeMap<String, String>,
) -> Function {
    let name = model.function_name(stage, &handler.name);
    let mut tags = settings.tags;
    // Ours last: these mark ownership, so the file cannot override them.
    tags.extend(plan_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    Function {
        id: format!("function.{}", handler.name),
        handler: handler.name.clone(),
        arn: function_arn(&name),
        runtime: RUNTIME.to_string(),
        architecture: settings.architecture,
        memory_mb: settings.memory_mb,
        timeout_s: settings.timeout_s,
        env: settings.env,
        tags,
        reserved_concurrency: settings.reserved_concurrency,
        role,
        log_group: LogGroup {
            id: format!("log_group.{}", handler.name),
            name: log_group_name(&name),
            retention_days: settings.log_retention_days,
        },
        log_format: settings.log_format,
        log_level: settings.log_level,
        tracing: settings.tracing,
        layers: settings.layers.into_iter().map(Arn).collect(),
        ephemeral_storage_mb: settings.ephemeral_storage_mb,
        vpc: settings.vpc,
        name,
    }
}

/// The rule, notification, subscription or mapping that invokes `handler`, with its permission.
fn add_trigger(
    plan: &mut Plan,
    model: &Model,
    stage: &str,
    handler: &Handler,
    source: &Source,
    delivery: &Delivery,
) {
    let h = handler.name.as_str();
    if let Some(config) = invoke_config(h, source, delivery) {
        plan.invoke_configs.push(config);
    }
    let function_name = model.function_name(stage, h);
    let keyword = handler.kind().keyword();
    let permission = |principal: &str, source_arn: Arn, source_account: bool| Permission {
        id: format!("permission.{h}"),
        function: h.to_string(),
        statement_id: format!("chalice-{keyword}-{h}"),
        principal: principal.to_string(),
        source_arn,
        source_account,
    };
    match source {
        Source::Schedule {
            expression,
            description,
        } => {
            let rule = event_rule(h, &function_name, None, description);
            plan.permissions
                .push(permission(EVENTS_PRINCIPAL, rule.arn.clone(), false));
            plan.rules.push(EventRule {
                schedule_expression: Some(expression.expression()),
                schedule: Some(expression.into()),
                ..rule
            });
        }
        Source::Rule {
            pattern,
            bus,
            description,
        } => {
            let rule = event_rule(h, &function_name, bus.as_deref(), description);
            plan.permissions
                .push(permission(EVENTS_PRINCIPAL, rule.arn.clone(), false));
            plan.rules.push(EventRule {
                // Serialising a `Value` cannot fail (its keys are strings).
                event_pattern: Some(pattern.to_string()),
                ..rule
            });
        }
        Source::Bucket {
            bucket,
            events,
            prefix,
            suffix,
        } => {
            let bucket_arn = Arn(format!("arn:{{partition}}:s3:::{bucket}"));
            plan.permissions
                .push(permission(S3_PRINCIPAL, bucket_arn, true));
            plan.bucket_notifications.push(BucketNotification {
                id: format!("notification.{h}"),
                function: h.to_string(),
                bucket: bucket.clone(),
                // `<app>-<stage>-<handler>`: unique per app, stage and handler, so we only ever touch ours.
                notification_id: function_name,
                events: events.clone(),
                prefix: prefix.clone(),
                suffix: suffix.clone(),
            });
        }
        Source::Topic { topic } => {
            let topic_arn = name_or_arn(topic, "sns", "");
            plan.permissions
                .push(permission(SNS_PRINCIPAL, topic_arn.clone(), false));
            plan.subscriptions.push(Subscription {
                id: format!("subscription.{h}"),
                function: h.to_string(),
                topic_arn,
                filter_policy: delivery.filter_policy.as_ref().map(|p| FilterPolicy {
                    policy: p.policy.to_string(),
                    scope: p.scope,
                }),
            });
        }
        Source::Queue {
            queue,
            batch_size,
            batching_window_s,
            maximum_concurrency,
            fifo: _,
        } => {
            let arn = queue_arn(queue);
            plan.event_source_mappings.push(EventSourceMapping {
                maximum_concurrency: *maximum_concurrency,
                ..mapping(
                    h,
                    MappingSource::Queue { arn },
                    *batch_size,
                    *batching_window_s,
                    delivery,
                )
            });
        }
        Source::Stream {
            stream,
            batch_size,
            starting_position,
            batching_window_s,
        } => {
            let arn = name_or_arn(stream, "kinesis", "stream/");
            plan.event_source_mappings.push(EventSourceMapping {
                starting_position: Some(starting_position.as_str().to_string()),
                starting_position_timestamp: timestamp(starting_position),
                stream_failure: Some(stream_failure(delivery)),
                ..mapping(
                    h,
                    MappingSource::Stream { arn },
                    *batch_size,
                    *batching_window_s,
                    delivery,
                )
            });
        }
        Source::Table {
            table,
            batch_size,
            starting_position,
            batching_window_s,
        } => {
            let source = match table {
                NameOrArn::Name(name) => MappingSource::Table {
                    table: name.clone(),
                },
                NameOrArn::Arn(arn) => MappingSource::TableStream {
                    arn: Arn(arn.clone()),
                },
            };
            plan.event_source_mappings.push(EventSourceMapping {
                starting_position: Some(starting_position.as_str().to_string()),
                starting_position_timestamp: timestamp(starting_position),
                stream_failure: Some(stream_failure(delivery)),
                ..mapping(h, source, *batch_size, *batching_window_s, delivery)
            });
        }
    }
}

/// The path of every role of a stage: `/chalice/<app>/<stage>/`.
pub fn role_path(app: &str, stage: &str) -> String {
    format!("/chalice/{app}/{stage}/")
}

/// What a function needs granted: its log group, what its source needs, X-Ray and VPC networking
/// when those are on.
fn grants(
    model: &Model,
    stage: &str,
    handler: &Handler,
    source: &Source,
    settings: &Settings,
    delivery: &Delivery,
) -> Vec<Statement> {
    let name = model.function_name(stage, &handler.name);
    let group = format!("log-group:{}", log_group_name(&name));
    let mut statements = Vec::new();
    for resource in [group.clone(), format!("{group}:*")] {
        add_statement(
            &mut statements,
            "Logs",
            LOGS_ACTIONS,
            Arn::local("logs", &resource),
        );
    }
    match source {
        Source::Queue { queue, .. } => {
            add_statement(&mut statements, "SqsConsume", SQS_ACTIONS, queue_arn(queue));
        }
        Source::Stream { stream, .. } => add_statement(
            &mut statements,
            "KinesisRead",
            KINESIS_ACTIONS,
            name_or_arn(stream, "kinesis", "stream/"),
        ),
        Source::Table { table, .. } => {
            let stream_arn = match table {
                NameOrArn::Name(name) => Arn::local("dynamodb", &format!("table/{name}/stream/*")),
                NameOrArn::Arn(arn) => Arn(arn.clone()),
            };
            add_statement(
                &mut statements,
                "DynamodbStreamRead",
                DYNAMODB_STREAM_ACTIONS,
                stream_arn,
            );
            add_statement(
                &mut statements,
                "DynamodbListStreams",
                DYNAMODB_LIST_STREAMS,
                Arn("*".to_string()),
            );
        }
        Source::Schedule { .. }
        | Source::Rule { .. }
        | Source::Bucket { .. }
        | Source::Topic { .. } => {}
    }
    if let Some(d) = &delivery.on_failure {
        for (sid, actions, resource) in destination_grants(&destination(d)) {
            add_statement(&mut statements, sid, actions, resource);
        }
    }
    if settings.tracing == Tracing::Active {
        add_statement(
            &mut statements,
            "XRayWrite",
            XRAY_ACTIONS,
            Arn("*".to_string()),
        );
    }
    if settings.vpc.is_some() {
        add_statement(
            &mut statements,
            "VpcNetworkInterfaces",
            VPC_ACTIONS,
            Arn("*".to_string()),
        );
    }
    statements
}

/// The function's own role: `statements` (its [`grants`]) and the file's statements and managed
/// policies that apply to it.
fn role(
    model: &Model,
    stage: &str,
    handler: &Handler,
    statements: Vec<Statement>,
    settings: &Settings,
) -> Role {
    let function_name = model.function_name(stage, &handler.name);
    Role {
        custom_statements: settings.policy.clone(),
        managed_policies: settings.managed_policies.iter().cloned().map(Arn).collect(),
        ..own_role(&model.app, stage, &handler.name, &function_name, statements)
    }
}

/// The own role of function `function_name` (serving `handler`) granting `statements`: named after the
/// function, under the stage's path, assumable by Lambda.
pub fn own_role(
    app: &str,
    stage: &str,
    handler: &str,
    function_name: &str,
    statements: Vec<Statement>,
) -> Role {
    let path = role_path(app, stage);
    Role {
        id: format!("role.{handler}"),
        function: handler.to_string(),
        arn: Arn(format!(
            "arn:{{partition}}:iam::{{account}}:role{path}{function_name}"
        )),
        path,
        policy_name: function_name.to_string(),
        name: function_name.to_string(),
        trust_principal: LAMBDA_PRINCIPAL.to_string(),
        statements,
        custom_statements: Vec::new(),
        managed_policies: Vec::new(),
    }
}

/// Adds `resource` to the statement granting exactly `actions`, or starts one named `sid`.
///
/// Statements with the same actions merge, and a resource is listed once, so two handlers on one
/// queue make one grant. Each action set has its own fixed sid, so sids are unique and stable.
fn add_statement(statements: &mut Vec<Statement>, sid: &str, actions: &[&str], resource: Arn) {
    match statements
        .iter_mut()
        .find(|s| s.actions.iter().eq(actions.iter()))
    {
        Some(s) => {
            if !s.resources.contains(&resource) {
                s.resources.push(resource);
            }
        }
        None => statements.push(Statement {
            sid: sid.to_string(),
            actions: actions.iter().map(|a| (*a).to_string()).collect(),
            resources: vec![resource],
        }),
    }
}

/// An EventBridge rule named after the function, on the default bus or `bus` (a name or an ARN).
fn event_rule(
    handler: &str,
    function_name: &str,
    bus: Option<&str>,
    description: &Option<String>,
) -> EventRule {
    let arn = match bus {
        None => Arn::local("events", &format!("rule/{function_name}")),
        Some(bus) => match bus_arn_parts(bus) {
            // A rule lives in its bus's region and account.
            Some((region, account, bus_name)) => Arn(format!(
                "arn:{{partition}}:events:{region}:{account}:rule/{bus_name}/{function_name}"
            )),
            None => Arn::local("events", &format!("rule/{bus}/{function_name}")),
        },
    };
    EventRule {
        id: format!("rule.{handler}"),
        function: handler.to_string(),
        name: function_name.to_string(),
        arn,
        schedule_expression: None,
        schedule: None,
        event_pattern: None,
        event_bus: bus.map(str::to_string),
        description: description.clone(),
        // The function name: unique, ours, and always within the target id's 64 characters
        // (validation bounds function names to 64).
        target_id: function_name.to_string(),
    }
}

/// `(region, account, name)` of an event bus ARN `arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME`.
fn bus_arn_parts(bus: &str) -> Option<(&str, &str, &str)> {
    let mut parts = bus.splitn(6, ':');
    let (arn, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let name = resource.strip_prefix("event-bus/")?;
    (arn == "arn" && service == "events").then_some((region, account, name))
}

fn name_or_arn(r: &NameOrArn, service: &str, resource_prefix: &str) -> Arn {
    match r {
        NameOrArn::Name(name) => Arn::local(service, &format!("{resource_prefix}{name}")),
        NameOrArn::Arn(arn) => Arn(arn.clone()),
    }
}

/// A queue's ARN: local for a name, the URL's region and account for a URL, literal for an ARN.
fn queue_arn(queue: &QueueRef) -> Arn {
    match queue {
        QueueRef::Name(name) => Arn::local("sqs", name),
        QueueRef::Url {
            region,
            account,
            name,
            ..
        } => Arn(format!("arn:{{partition}}:sqs:{region}:{account}:{name}")),
        QueueRef::Arn { arn, .. } => Arn(arn.clone()),
    }
}

fn timestamp(position: &crate::model::StartingPosition) -> Option<String> {
    match position {
        crate::model::StartingPosition::AtTimestamp(t) => Some(t.clone()),
        _ => None,
    }
}

fn mapping(
    handler: &str,
    source: MappingSource,
    batch_size: u32,
    batching_window_s: Option<u32>,
    delivery: &Delivery,
) -> EventSourceMapping {
    EventSourceMapping {
        id: format!("mapping.{handler}"),
        function: handler.to_string(),
        source,
        batch_size,
        batching_window_s,
        starting_position: None,
        starting_position_timestamp: None,
        maximum_concurrency: None,
        report_batch_item_failures: true,
        // Serialising a `Value` cannot fail (its keys are strings).
        filters: delivery.filters.iter().map(|f| f.to_string()).collect(),
        stream_failure: None,
    }
}

/// A stream or table mapping's failure handling: the binding's options over Lambda's defaults.
fn stream_failure(delivery: &Delivery) -> StreamFailure {
    let defaults = StreamFailure::default();
    StreamFailure {
        maximum_retry_attempts: delivery
            .maximum_retry_attempts
            .unwrap_or(defaults.maximum_retry_attempts),
        maximum_record_age_s: delivery
            .maximum_age_s
            .unwrap_or(defaults.maximum_record_age_s),
        bisect_on_error: delivery.bisect_on_error.unwrap_or(defaults.bisect_on_error),
        parallelization_factor: delivery
            .parallelization_factor
            .unwrap_or(defaults.parallelization_factor),
        tumbling_window_s: delivery
            .tumbling_window_s
            .unwrap_or(defaults.tumbling_window_s),
        on_failure: delivery.on_failure.as_ref().map(destination),
    }
}

/// The event invoke configuration of an asynchronously invoked function whose binding sets retries,
/// an event age or an on-failure destination; `None` leaves Lambda's defaults (and none is made).
fn invoke_config(handler: &str, source: &Source, delivery: &Delivery) -> Option<InvokeConfig> {
    let asynchronous = matches!(
        source,
        Source::Schedule { .. }
            | Source::Rule { .. }
            | Source::Bucket { .. }
            | Source::Topic { .. }
    );
    let set = delivery.maximum_retry_attempts.is_some()
        || delivery.maximum_age_s.is_some()
        || delivery.on_failure.is_some();
    // Validation bounds both to positive ranges on these kinds.
    let positive =
        |n: Option<i32>, default: u32| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(default);
    (asynchronous && set).then(|| InvokeConfig {
        id: format!("invoke_config.{handler}"),
        function: handler.to_string(),
        maximum_retry_attempts: positive(
            delivery.maximum_retry_attempts,
            DEFAULT_ASYNC_RETRY_ATTEMPTS,
        ),
        maximum_event_age_s: positive(delivery.maximum_age_s, DEFAULT_ASYNC_EVENT_AGE_S),
        on_failure: delivery.on_failure.as_ref().map(destination),
    })
}

/// The plan's form of an on-failure destination: its ARN (local to the deploy for a name).
fn destination(d: &ModelDestination) -> Destination {
    let arn = match (&d.target, d.kind) {
        (NameOrArn::Arn(arn), _) => Arn(arn.clone()),
        (NameOrArn::Name(name), DestinationKind::Queue) => Arn::local("sqs", name),
        (NameOrArn::Name(name), DestinationKind::Topic) => Arn::local("sns", name),
        (NameOrArn::Name(name), DestinationKind::Bucket) => {
            Arn(format!("arn:{{partition}}:s3:::{name}"))
        }
        (NameOrArn::Name(name), DestinationKind::Bus) => {
            Arn::local("events", &format!("event-bus/{name}"))
        }
        (NameOrArn::Name(name), DestinationKind::Function) => function_arn(name),
    };
    Destination { kind: d.kind, arn }
}

/// What the role must allow to send failure records to `d`: `(sid, actions, resource)` each.
fn destination_grants(d: &Destination) -> Vec<(&'static str, &'static [&'static str], Arn)> {
    let arn = d.arn.clone();
    match d.kind {
        DestinationKind::Queue => vec![("FailureQueue", &["sqs:SendMessage"], arn)],
        DestinationKind::Topic => vec![("FailureTopic", &["sns:Publish"], arn)],
        // AWS's documented pair for S3 destinations: list the bucket, put the record in it.
        DestinationKind::Bucket => vec![
            ("FailureBucketList", &["s3:ListBucket"], arn.clone()),
            (
                "FailureBucketPut",
                &["s3:PutObject"],
                Arn(format!("{arn}/*")),
            ),
        ],
        DestinationKind::Bus => vec![("FailureBus", &["events:PutEvents"], arn)],
        DestinationKind::Function => vec![("FailureFunction", &["lambda:InvokeFunction"], arn)],
    }
}

fn function_arn(function_name: &str) -> Arn {
    Arn::local("lambda", &format!("function:{function_name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Architecture, RateUnit, Schedule, Settings, SettingsPatch, StartingPosition,
    };
    use crate::plan::Plan;

    /// A handler with the same source in `dev` and `prod` (the stages of [`model`]).
    fn handler(name: &str, source: Source) -> Handler {
        Handler {
            name: name.to_string(),
            line: 1,
            declaration: String::new(),
            kind: source.kind(),
            sources: ["dev", "prod"]
                .into_iter()
                .map(|stage| (stage.to_string(), source.clone()))
                .collect(),
            settings: SettingsPatch::default(),
            delivery: Default::default(),
        }
    }

    /// The sids of `handler`'s own role.
    fn sids<'p>(p: &'p Plan, handler: &str) -> Vec<&'p str> {
        p.role(handler)
            .unwrap()
            .statements
            .iter()
            .map(|s| s.sid.as_str())
            .collect()
    }

    fn model(handlers: Vec<Handler>) -> Model {
        Model {
            app: "orders".to_string(),
            defaults: Settings::default(),
            stages: BTreeMap::from([(
                "prod".to_string(),
                SettingsPatch {
                    memory_mb: Some(512),
                    ..Default::default()
                },
            )]),
            handlers,
        }
    }

    fn queue(name: &str, queue: QueueRef) -> Handler {
        handler(
            name,
            Source::Queue {
                queue,
                fifo: false,
                batch_size: 10,
                batching_window_s: None,
                maximum_concurrency: Some(5),
            },
        )
    }

    fn hourly(name: &str) -> Handler {
        handler(
            name,
            Source::Schedule {
                expression: Schedule::Rate {
                    value: 1,
                    unit: RateUnit::Hour,
                },
                description: None,
            },
        )
    }

    fn table(name: &str, table: NameOrArn) -> Handler {
        handler(
            name,
            Source::Table {
                table,
                batch_size: 100,
                starting_position: StartingPosition::Latest,
                batching_window_s: None,
            },
        )
    }

    #[test]
    fn unknown_stage_lists_the_known_ones() {
        let err = plan(&model(vec![]), "prd").unwrap_err();
        assert_eq!(err.known, ["dev", "prod"]);
        assert_eq!(err.suggestion.as_deref(), Some("prod"));
        assert_eq!(
            err.to_string(),
            "unknown stage `prd` (did you mean `prod`?); known stages: dev, prod"
        );
        let far = plan(&model(vec![]), "zzz").unwrap_err();
        assert_eq!(
            far.to_string(),
            "unknown stage `zzz`; known stages: dev, prod"
        );
    }

    #[test]
    fn dev_is_always_known_and_stage_settings_apply() {
        let m = model(vec![hourly("tick")]);
        assert_eq!(plan(&m, "dev").unwrap().functions[0].memory_mb, 128);
        let prod = plan(&m, "prod").unwrap();
        assert_eq!(prod.functions[0].memory_mb, 512);
        assert_eq!(prod.functions[0].name, "orders-prod-tick");
        let role = prod.role("tick").unwrap();
        assert_eq!(role.name, "orders-prod-tick");
        assert_eq!(role.id, "role.tick");
        assert_eq!(role.path, "/chalice/orders/prod/");
        assert_eq!(
            role.arn.as_str(),
            "arn:{partition}:iam::{account}:role/chalice/orders/prod/orders-prod-tick"
        );
        assert_eq!(role.trust_principal, "lambda.amazonaws.com");
        assert_eq!(
            prod.functions[0].role,
            FunctionRole::Own {
                id: role.id.clone(),
                arn: role.arn.clone()
            }
        );
    }

    #[test]
    fn ownership_tags_are_on_every_function_and_win() {
        let mut h = hourly("tick");
        h.settings.tags.insert("team".into(), "a".into());
        h.settings.tags.insert(TAG_APP.into(), "spoofed".into());
        let p = plan(&model(vec![h]), "dev").unwrap();
        assert_eq!(p.tags.get(TAG_APP).map(String::as_str), Some("orders"));
        let tags = &p.functions[0].tags;
        assert_eq!(tags.get(TAG_APP).map(String::as_str), Some("orders"));
        assert_eq!(tags.get(TAG_STAGE).map(String::as_str), Some("dev"));
        assert_eq!(tags.get("team").map(String::as_str), Some("a"));
    }

    #[test]
    fn each_function_has_its_own_role_with_its_own_log_group() {
        let p = plan(&model(vec![hourly("a"), hourly("b")]), "dev").unwrap();
        assert_eq!(p.roles.len(), 2);
        for h in ["a", "b"] {
            let role = p.role(h).unwrap();
            assert_eq!(role.statements.len(), 1, "{h}");
            let logs = &role.statements[0];
            assert_eq!(logs.sid, "Logs");
            let resources: Vec<&str> = logs.resources.iter().map(Arn::as_str).collect();
            assert_eq!(
                resources,
                [
                    format!(
                        "arn:{{partition}}:logs:{{region}}:{{account}}:log-group:/aws/lambda/orders-dev-{h}"
                    ),
                    format!(
                        "arn:{{partition}}:logs:{{region}}:{{account}}:log-group:/aws/lambda/orders-dev-{h}:*"
                    ),
                ]
            );
            assert!(role.custom_statements.is_empty() && role.managed_policies.is_empty());
        }
        let f = p.function("a").unwrap();
        assert_eq!(f.log_group.name, "/aws/lambda/orders-dev-a");
        assert_eq!(f.log_group.id, "log_group.a");
        assert_eq!(f.log_group.retention_days, None);
    }

    #[test]
    fn each_role_grants_only_its_own_source() {
        let m = model(vec![
            queue("a", QueueRef::Name("q".into())),
            queue("b", QueueRef::Name("r".into())),
            hourly("c"),
        ]);
        let p = plan(&m, "dev").unwrap();
        let sqs = |h: &str| {
            p.role(h)
                .unwrap()
                .statements
                .iter()
                .find(|s| s.sid == "SqsConsume")
                .map(|s| s.resources.clone())
        };
        assert_eq!(sqs("a"), Some(vec![Arn::local("sqs", "q")]));
        assert_eq!(sqs("b"), Some(vec![Arn::local("sqs", "r")]));
        assert_eq!(sqs("c"), None);
        assert_eq!(sids(&p, "a"), ["Logs", "SqsConsume"]);
        for role in &p.roles {
            for sid in sids(&p, &role.function) {
                assert!(
                    crate::validate::policy::RESERVED_SIDS.contains(&sid),
                    "`{sid}` must be refused in the file's policies"
                );
            }
        }
    }

    #[test]
    fn destination_grants_use_reserved_sids() {
        let handlers: Vec<Handler> = DestinationKind::ALL
            .into_iter()
            .map(|kind| {
                let mut h = hourly(&format!("to_{}", kind.keyword()));
                h.delivery.on_failure = Some(ModelDestination {
                    kind,
                    target: NameOrArn::Name("failed".into()),
                });
                h
            })
            .collect();
        let p = plan(&model(handlers), "dev").unwrap();
        assert_eq!(p.invoke_configs.len(), DestinationKind::ALL.len());
        assert_eq!(
            sids(&p, "to_bucket"),
            ["Logs", "FailureBucketList", "FailureBucketPut"]
        );
        for role in &p.roles {
            for sid in sids(&p, &role.function) {
                assert!(
                    crate::validate::policy::RESERVED_SIDS.contains(&sid),
                    "`{sid}` must be refused in the file's policies"
                );
            }
        }
    }

    #[test]
    fn a_given_role_replaces_the_functions_own() {
        let mut h = hourly("tick");
        h.settings.policy =
            vec![serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})];
        h.settings.managed_policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
        let mut m = model(vec![h, hourly("other")]);
        m.stages.get_mut("prod").unwrap().role =
            Some("arn:${partition}:iam::${account}:role/${app}-${stage}-lambda".into());
        let prod = plan(&m, "prod").unwrap();
        assert!(prod.roles.is_empty(), "{:?}", prod.roles);
        let FunctionRole::Given { arn, needs } = &prod.function("tick").unwrap().role else {
            panic!("{:?}", prod.function("tick"))
        };
        assert_eq!(
            arn.as_str(),
            "arn:{partition}:iam::{account}:role/orders-prod-lambda"
        );
        // What the own role would have granted, for the deploy to check the given one against.
        let sids: Vec<&str> = needs.iter().map(|s| s.sid.as_str()).collect();
        assert_eq!(sids, ["Logs"]);
        let dev = plan(&m, "dev").unwrap();
        let role = dev.role("tick").unwrap();
        assert_eq!(role.custom_statements.len(), 1);
        assert_eq!(
            role.managed_policies,
            [Arn("arn:aws:iam::aws:policy/ReadOnlyAccess".into())]
        );
        assert!(dev.role("other").unwrap().custom_statements.is_empty());
    }

    #[test]
    fn tracing_and_vpc_add_their_grants_and_settings_reach_the_function() {
        let mut h = hourly("tick");
        h.settings.tracing = Some(Tracing::Active);
        h.settings.vpc = Some(crate::model::Vpc {
            subnet_ids: vec!["subnet-1".into()],
            security_group_ids: vec!["sg-1".into()],
        });
        h.settings.log_level = Some(crate::model::LogLevel::Debug);
        h.settings.log_retention_days = Some(30);
        h.settings.ephemeral_storage_mb = Some(2048);
        h.settings.layers = Some(vec![
            "arn:${partition}:lambda:${region}:${account}:layer:x:1".into(),
        ]);
        let p = plan(&model(vec![h]), "dev").unwrap();
        assert_eq!(
            sids(&p, "tick"),
            ["Logs", "XRayWrite", "VpcNetworkInterfaces"]
        );
        let role = p.role("tick").unwrap();
        assert!(
            role.statements[1..]
                .iter()
                .all(|s| s.resources == [Arn("*".into())])
        );
        let f = p.function("tick").unwrap();
        assert_eq!(f.tracing, Tracing::Active);
        assert_eq!(
            f.log_format,
            crate::model::LogFormat::Json,
            "a level means JSON"
        );
        assert_eq!(f.log_group.retention_days, Some(30));
        assert_eq!(f.ephemeral_storage_mb, 2048);
        assert_eq!(
            f.layers,
            [Arn(
                "arn:{partition}:lambda:{region}:{account}:layer:x:1".into()
            )]
        );
        assert_eq!(f.vpc.as_ref().map(|v| v.subnet_ids.len()), Some(1));
    }

    #[test]
    fn sources_may_differ_per_stage() {
        let mut h = queue("q", QueueRef::Name("orders-dev".into()));
        if let Some(Source::Queue { queue, .. }) = h.sources.get_mut("prod") {
            *queue = QueueRef::Name("orders-prod".into());
        }
        let m = model(vec![h]);
        let arn = |stage: &str| {
            let p = plan(&m, stage).unwrap();
            match &p.event_source_mappings[0].source {
                MappingSource::Queue { arn } => arn.as_str().to_string(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            arn("dev"),
            "arn:{partition}:sqs:{region}:{account}:orders-dev"
        );
        assert_eq!(
            arn("prod"),
            "arn:{partition}:sqs:{region}:{account}:orders-prod"
        );
    }

    #[test]
    fn queue_arn_follows_how_the_queue_was_written() {
        let url = QueueRef::Url {
            url: "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs".into(),
            region: "eu-west-1".into(),
            account: "111122223333".into(),
            name: "jobs".into(),
        };
        let literal = "arn:aws:sqs:us-east-2:444455556666:other";
        let m = model(vec![
            queue("by_name", QueueRef::Name("orders".into())),
            queue("by_url", url),
            queue(
                "by_arn",
                QueueRef::Arn {
                    arn: literal.into(),
                    name: "other".into(),
                },
            ),
        ]);
        let p = plan(&m, "dev").unwrap();
        let arns: Vec<_> = p
            .event_source_mappings
            .iter()
            .map(|m| match &m.source {
                MappingSource::Queue { arn } => arn.as_str().to_string(),
                other => panic!("not a queue: {other:?}"),
            })
            .collect();
        assert_eq!(
            arns,
            [
                "arn:{partition}:sqs:{region}:{account}:orders",
                "arn:{partition}:sqs:eu-west-1:111122223333:jobs",
                literal,
            ]
        );
        let mapping = &p.event_source_mappings[0];
        assert_eq!(mapping.maximum_concurrency, Some(5));
        assert_eq!(mapping.starting_position, None);
        assert!(mapping.report_batch_item_failures);
    }

    #[test]
    fn rules_on_custom_buses_name_the_bus_in_their_arn() {
        let rule = |name: &str, bus: Option<&str>| {
            handler(
                name,
                Source::Rule {
                    pattern: serde_json::json!({"source": ["aws.s3"]}),
                    bus: bus.map(str::to_string),
                    description: None,
                },
            )
        };
        let m = model(vec![
            rule("default_bus", None),
            rule("named_bus", Some("audit")),
            rule(
                "arn_bus",
                Some("arn:aws:events:eu-west-1:111122223333:event-bus/audit"),
            ),
        ]);
        let p = plan(&m, "dev").unwrap();
        let arns: Vec<&str> = p.rules.iter().map(|r| r.arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:{partition}:events:{region}:{account}:rule/orders-dev-default_bus",
                "arn:{partition}:events:{region}:{account}:rule/audit/orders-dev-named_bus",
                "arn:{partition}:events:eu-west-1:111122223333:rule/audit/orders-dev-arn_bus",
            ]
        );
        assert_eq!(
            p.rules[0].event_pattern.as_deref(),
            Some(r#"{"source":["aws.s3"]}"#)
        );
        assert_eq!(p.rules[0].schedule_expression, None);
        assert_eq!(p.rules[0].schedule, None);
        assert_eq!(
            p.rules[2].event_bus.as_deref(),
            Some("arn:aws:events:eu-west-1:111122223333:event-bus/audit")
        );
        for (rule, permission) in p.rules.iter().zip(&p.permissions) {
            assert_eq!(permission.source_arn, rule.arn);
            assert_eq!(permission.principal, "events.amazonaws.com");
            assert!(!permission.source_account);
        }
    }

    #[test]
    fn tables_by_name_resolve_later_and_stream_arns_stay_literal() {
        let stream =
            "arn:aws:dynamodb:us-east-1:111122223333:table/audit/stream/2024-01-01T00:00:00.000";
        let m = model(vec![
            table("by_name", NameOrArn::Name("orders".into())),
            table("by_arn", NameOrArn::Arn(stream.into())),
        ]);
        let p = plan(&m, "dev").unwrap();
        assert_eq!(
            p.event_source_mappings[0].source,
            MappingSource::Table {
                table: "orders".into()
            }
        );
        assert_eq!(
            p.event_source_mappings[1].source,
            MappingSource::TableStream {
                arn: Arn(stream.into())
            }
        );
        assert_eq!(
            p.event_source_mappings[0].starting_position.as_deref(),
            Some("LATEST")
        );
        assert_eq!(p.event_source_mappings[0].maximum_concurrency, None);
        let grants = |h: &str, sid: &str| {
            p.role(h)
                .unwrap()
                .statements
                .iter()
                .find(|s| s.sid == sid)
                .map(|s| s.resources.clone())
                .unwrap()
        };
        assert_eq!(
            grants("by_name", "DynamodbStreamRead"),
            [Arn::local("dynamodb", "table/orders/stream/*")]
        );
        assert_eq!(grants("by_arn", "DynamodbStreamRead"), [Arn(stream.into())]);
        // ListStreams has no resource-level permission: its own statement, on `*`.
        for h in ["by_name", "by_arn"] {
            assert_eq!(grants(h, "DynamodbListStreams"), [Arn("*".into())]);
            let read = p
                .role(h)
                .unwrap()
                .statements
                .iter()
                .find(|s| s.sid == "DynamodbStreamRead")
                .unwrap();
            assert!(!read.actions.iter().any(|a| a == "dynamodb:ListStreams"));
        }
    }

    #[test]
    fn at_timestamp_carries_its_time() {
        let m = model(vec![handler(
            "clicks",
            Source::Stream {
                stream: NameOrArn::Name("clicks".into()),
                batch_size: 100,
                starting_position: StartingPosition::AtTimestamp("2026-01-01T00:00:00Z".into()),
                batching_window_s: Some(3),
            },
        )]);
        let p = plan(&m, "dev").unwrap();
        let mapping = &p.event_source_mappings[0];
        assert_eq!(mapping.starting_position.as_deref(), Some("AT_TIMESTAMP"));
        assert_eq!(
            mapping.starting_position_timestamp.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(mapping.batching_window_s, Some(3));
        let kinesis = p
            .role("clicks")
            .unwrap()
            .statements
            .iter()
            .find(|s| s.sid == "KinesisRead")
            .unwrap();
        assert_eq!(kinesis.resources, [Arn::local("kinesis", "stream/clicks")]);
    }

    #[test]
    fn bucket_permission_names_bucket_and_account() {
        let m = model(vec![handler(
            "upload",
            Source::Bucket {
                bucket: "pics".into(),
                events: vec!["s3:ObjectCreated:*".into()],
                prefix: Some("images/".into()),
                suffix: None,
            },
        )]);
        let p = plan(&m, "prod").unwrap();
        let permission = &p.permissions[0];
        assert_eq!(permission.source_arn.as_str(), "arn:{partition}:s3:::pics");
        assert!(permission.source_account);
        assert_eq!(permission.principal, "s3.amazonaws.com");
        assert_eq!(
            p.bucket_notifications[0].notification_id,
            "orders-prod-upload"
        );
        // Push sources need nothing on the role beyond logs.
        assert_eq!(sids(&p, "upload"), ["Logs"]);
    }

    #[test]
    fn functions_run_the_shared_bootstrap() {
        let mut h = hourly("tick");
        h.settings.architecture = Some(Architecture::Arm64);
        h.settings.reserved_concurrency = Some(2);
        let p = plan(&model(vec![h]), "dev").unwrap();
        let f = &p.functions[0];
        assert_eq!(f.runtime, RUNTIME);
        assert_eq!(f.architecture, Architecture::Arm64);
        assert_eq!(f.reserved_concurrency, Some(2));
        assert_eq!(
            f.arn.as_str(),
            "arn:{partition}:lambda:{region}:{account}:function:orders-dev-tick"
        );
        assert_eq!(
            p.rules[0].schedule_expression.as_deref(),
            Some("rate(1 hour)")
        );
        assert_eq!(
            p.rules[0].schedule,
            Some(crate::plan::Schedule::Rate {
                value: 1,
                unit: RateUnit::Hour
            })
        );
    }
}
