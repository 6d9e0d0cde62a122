//! How a plan's resources read in a terminal: `+ create <type> <name>` and the key settings under it.
//!
//! [`groups`] describes each resource once (type, name, settings), grouped by the handler it serves, so
//! a later live diff can reuse the descriptions for its `~ update` and `- delete` lines.

use std::fmt::Write as _;

use chalice_codegen::model::{DEFAULT_EPHEMERAL_STORAGE_MB, LogFormat, Tracing};
use chalice_codegen::plan::{
    BucketNotification, Destination, EventRule, EventSourceMapping, Function, FunctionRole,
    InvokeConfig, MappingSource, Permission, Plan, Role, Statement, Subscription,
};

/// One resource as shown to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceView {
    /// e.g. `lambda_function`
    pub kind: &'static str,
    /// The resource's AWS name (or `container/name` when it lives inside another).
    pub name: String,
    /// Key settings, in display order.
    pub settings: Vec<(String, String)>,
}

/// The resources serving one handler, under a title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `<handler> (<kind>)`
    pub title: String,
    pub resources: Vec<ResourceView>,
}

/// Every resource of the plan, each handler's in file order: its role, log group, function, trigger.
pub fn groups(plan: &Plan) -> Vec<Group> {
    let mut groups = Vec::new();
    for f in &plan.functions {
        let h = f.handler.as_str();
        let mut kind = "";
        let mut resources = Vec::new();
        if let Some(r) = plan.role(h) {
            resources.push(role(r));
            for arn in &r.managed_policies {
                resources.push(ResourceView {
                    kind: "iam_role_policy_attachment",
                    name: format!(
                        "{}/{}",
                        r.name,
                        arn.as_str().rsplit('/').next().unwrap_or(arn.as_str())
                    ),
                    settings: vec![("policy".to_string(), arn.to_string())],
                });
            }
        }
        if let Some(days) = f.log_group.retention_days {
            resources.push(ResourceView {
                kind: "log_group",
                name: f.log_group.name.clone(),
                settings: vec![("retention".to_string(), format!("{days} days"))],
            });
        }
        resources.push(function(f));
        for r in plan.rules.iter().filter(|r| r.function == h) {
            kind = if r.schedule_expression.is_some() {
                "schedule"
            } else {
                "rule"
            };
            resources.push(rule(r));
        }
        for n in plan.bucket_notifications.iter().filter(|n| n.function == h) {
            kind = "bucket";
            resources.push(notification(n));
        }
        for s in plan.subscriptions.iter().filter(|s| s.function == h) {
            kind = "topic";
            resources.push(subscription(s, &f.name));
        }
        for m in plan
            .event_source_mappings
            .iter()
            .filter(|m| m.function == h)
        {
            kind = match m.source {
                MappingSource::Queue { .. } => "queue",
                MappingSource::Stream { .. } => "stream",
                MappingSource::Table { .. } | MappingSource::TableStream { .. } => "table",
            };
            resources.push(mapping(m, &f.name));
        }
        if let Some(c) = plan.invoke_config(h) {
            resources.push(invoke_config(c, &f.name));
        }
        for p in plan.permissions.iter().filter(|p| p.function == h) {
            resources.push(permission(p, &f.name));
        }
        let title = if kind.is_empty() {
            h.to_string()
        } else {
            format!("{h} ({kind})")
        };
        groups.push(Group { title, resources });
    }
    groups
}

/// How many resources the plan creates.
pub fn count(plan: &Plan) -> usize {
    plan.roles.len()
        + plan
            .roles
            .iter()
            .map(|r| r.managed_policies.len())
            .sum::<usize>()
        + plan
            .functions
            .iter()
            .filter(|f| f.log_group.retention_days.is_some())
            .count()
        + plan.functions.len()
        + plan.rules.len()
        + plan.permissions.len()
        + plan.bucket_notifications.len()
        + plan.subscriptions.len()
        + plan.event_source_mappings.len()
        + plan.invoke_configs.len()
}

/// The whole plan as creations, ending with `Plan: N to create.`; `color` paints the `+` lines green.
pub fn render_create(plan: &Plan, color: bool) -> String {
    let (green, reset) = if color {
        ("\x1b[32m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut out = format!(
        "Offline plan for app `{}`, stage `{}`: nothing was read from AWS, so everything shows as new\n\
         and ARNs keep their {{partition}}, {{region}} and {{account}} placeholders.\n",
        plan.app, plan.stage
    );
    for group in groups(plan) {
        let _ = writeln!(out, "\n# {}", group.title);
        for r in &group.resources {
            let _ = writeln!(out, "{green}+ create {} {}{reset}", r.kind, r.name);
            let width = r.settings.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (key, value) in &r.settings {
                let _ = writeln!(out, "    {key:<width$} = {value}");
            }
        }
    }
    let _ = writeln!(out, "\nPlan: {} to create.", count(plan));
    if let Some(line) = artifacts_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// What a first deploy adds besides the app's resources: the code zips (one per architecture) and the
/// artifacts bucket they go to (`None` without functions).
fn artifacts_line(plan: &Plan) -> Option<String> {
    let zips = plan
        .functions
        .iter()
        .map(|f| f.architecture)
        .collect::<std::collections::HashSet<_>>()
        .len();
    (zips > 0).then(|| format!(
        "Artifacts: {zips} code zip{} to upload, to the artifacts bucket chalice-rs-artifacts-{{account}}-{{region}} \
         (shared by every app and stage in the account and region; made by the first deploy there).",
        if zips == 1 { "" } else { "s" }
    ))
}

fn role(role: &Role) -> ResourceView {
    let settings = vec![
        ("assumed_by", role.trust_principal.clone()),
        ("path", role.path.clone()),
        (
            "policy",
            format!(
                "{} ({} statements)",
                role.policy_name,
                role.statements.len() + role.custom_statements.len()
            ),
        ),
    ];
    let mut statements = grants("allow", &role.statements);
    for (i, s) in role.custom_statements.iter().enumerate() {
        let sid = s["Sid"]
            .as_str()
            .map_or_else(|| format!("#{}", i + 1), str::to_string);
        statements.push((format!("file {sid}"), custom_statement(s)));
    }
    ResourceView {
        kind: "iam_role",
        name: role.name.clone(),
        settings: owned(settings).into_iter().chain(statements).collect(),
    }
}

/// One `PREFIX SID = actions on resources` line per statement.
fn grants(prefix: &str, statements: &[Statement]) -> Vec<(String, String)> {
    statements
        .iter()
        .map(|s| {
            let resources = match s.resources.as_slice() {
                [one] => one.to_string(),
                many => format!("{} resources", many.len()),
            };
            (
                format!("{prefix} {}", s.sid),
                format!("{} on {resources}", actions(&s.actions)),
            )
        })
        .collect()
}

/// A statement from the file on one line: `Allow s3:GetObject on arn:...`.
fn custom_statement(s: &serde_json::Value) -> String {
    let list = |key: &str| -> Vec<String> {
        match &s[key] {
            serde_json::Value::String(one) => vec![one.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let (action_key, not_action) = match s.get("NotAction") {
        Some(_) => ("NotAction", "all but "),
        None => ("Action", ""),
    };
    let (resource_key, not_resource) = match s.get("NotResource") {
        Some(_) => ("NotResource", "all but "),
        None => ("Resource", ""),
    };
    let resources = list(resource_key);
    let resources = match resources.as_slice() {
        [one] => one.clone(),
        many => format!("{} resources", many.len()),
    };
    let mut out = format!(
        "{} {not_action}{} on {not_resource}{resources}",
        s["Effect"].as_str().unwrap_or("?"),
        actions(&list(action_key))
    );
    if s.get("Condition").is_some() {
        out.push_str(" (with conditions)");
    }
    out
}

/// `sqs:ReceiveMessage, DeleteMessage`: each service prefix written once.
fn actions(actions: &[String]) -> String {
    let mut out = String::new();
    let mut service = None;
    for action in actions {
        let (prefix, name) = action.split_once(':').unwrap_or(("", action));
        if !out.is_empty() {
            out.push_str(", ");
        }
        if service == Some(prefix) {
            out.push_str(name);
        } else {
            out.push_str(action);
            service = Some(prefix);
        }
    }
    out
}

/// Settings with static keys, as the owned pairs [`ResourceView`] holds.
fn owned(settings: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    settings
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn function(f: &Function) -> ResourceView {
    let mut settings = vec![
        ("memory", format!("{} MB", f.memory_mb)),
        ("timeout", format!("{} s", f.timeout_s)),
        ("architecture", f.architecture.as_str().to_string()),
    ];
    if let Some(n) = f.reserved_concurrency {
        settings.push(("reserved_concurrency", n.to_string()));
    }
    if !f.env.is_empty() {
        settings.push(("env", f.env.keys().cloned().collect::<Vec<_>>().join(", ")));
    }
    let mut needs = Vec::new();
    if let FunctionRole::Given { arn, needs: n } = &f.role {
        settings.push((
            "role",
            format!(
                "{arn} (given: used as is; the file's policy and managed_policies do not apply)"
            ),
        ));
        needs = grants("needs", n);
    }
    if f.log_format == LogFormat::Json || f.log_level.is_some() {
        let level = f.log_level.map(|l| format!(", level {}", l.keyword()));
        settings.push((
            "logs",
            format!("{}{}", f.log_format.as_str(), level.unwrap_or_default()),
        ));
    }
    if f.tracing == Tracing::Active {
        settings.push(("tracing", "active (X-Ray)".to_string()));
    }
    if !f.layers.is_empty() {
        settings.push((
            "layers",
            f.layers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if f.ephemeral_storage_mb != DEFAULT_EPHEMERAL_STORAGE_MB {
        settings.push((
            "ephemeral_storage",
            format!("{} MB", f.ephemeral_storage_mb),
        ));
    }
    if let Some(vpc) = &f.vpc {
        settings.push((
            "vpc",
            format!(
                "subnets {}; security groups {}",
                vpc.subnet_ids.join(", "),
                vpc.security_group_ids.join(", ")
            ),
        ));
    }
    ResourceView {
        kind: "lambda_function",
        name: f.name.clone(),
        settings: owned(settings).into_iter().chain(needs).collect(),
    }
}

fn rule(r: &EventRule) -> ResourceView {
    let mut settings = Vec::new();
    if let Some(s) = &r.schedule_expression {
        settings.push(("schedule", s.clone()));
    }
    if let Some(p) = &r.event_pattern {
        settings.push(("pattern", p.clone()));
    }
    if let Some(b) = &r.event_bus {
        settings.push(("event_bus", b.clone()));
    }
    if let Some(d) = &r.description {
        settings.push(("description", d.clone()));
    }
    settings.push(("target", r.target_id.clone()));
    ResourceView {
        kind: "events_rule",
        name: r.name.clone(),
        settings: owned(settings),
    }
}

fn permission(p: &Permission, function_name: &str) -> ResourceView {
    let mut settings = vec![
        ("principal", p.principal.clone()),
        ("source_arn", p.source_arn.to_string()),
    ];
    if p.source_account {
        settings.push(("source_account", "the deploy account".to_string()));
    }
    ResourceView {
        kind: "lambda_permission",
        name: format!("{function_name}/{}", p.statement_id),
        settings: owned(settings),
    }
}

fn notification(n: &BucketNotification) -> ResourceView {
    let mut settings = vec![("events", n.events.join(", "))];
    if let Some(p) = &n.prefix {
        settings.push(("prefix", p.clone()));
    }
    if let Some(s) = &n.suffix {
        settings.push(("suffix", s.clone()));
    }
    ResourceView {
        kind: "s3_bucket_notification",
        name: format!("{}/{}", n.bucket, n.notification_id),
        settings: owned(settings),
    }
}

fn subscription(s: &Subscription, function_name: &str) -> ResourceView {
    let mut settings = vec![
        ("topic", s.topic_arn.to_string()),
        ("protocol", "lambda".to_string()),
    ];
    if let Some(f) = &s.filter_policy {
        settings.push(("filter_policy", f.policy.clone()));
        settings.push(("filter_policy_scope", f.scope.as_str().to_string()));
    }
    ResourceView {
        kind: "sns_subscription",
        name: function_name.to_string(),
        settings: owned(settings),
    }
}

fn invoke_config(c: &InvokeConfig, function_name: &str) -> ResourceView {
    let mut settings = vec![
        (
            "maximum_retry_attempts",
            c.maximum_retry_attempts.to_string(),
        ),
        ("maximum_event_age", format!("{} s", c.maximum_event_age_s)),
    ];
    if let Some(d) = &c.on_failure {
        settings.push(("on_failure", destination(d)));
    }
    ResourceView {
        kind: "lambda_event_invoke_config",
        name: function_name.to_string(),
        settings: owned(settings),
    }
}

/// `sqs arn:...`: the service a failure record goes to, and where.
fn destination(d: &Destination) -> String {
    format!("{} {}", d.kind.service(), d.arn)
}

fn mapping(m: &EventSourceMapping, function_name: &str) -> ResourceView {
    let source = match &m.source {
        MappingSource::Queue { arn } => format!("sqs {arn}"),
        MappingSource::Stream { arn } => format!("kinesis {arn}"),
        MappingSource::TableStream { arn } => format!("dynamodb stream {arn}"),
        MappingSource::Table { table } => {
            format!("dynamodb table {table} (its latest stream, looked up on deploy)")
        }
    };
    let mut settings = vec![("source", source), ("batch_size", m.batch_size.to_string())];
    if let Some(w) = m.batching_window_s {
        settings.push(("batching_window", format!("{w} s")));
    }
    if let Some(p) = &m.starting_position {
        let at = m
            .starting_position_timestamp
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default();
        settings.push(("starting_position", format!("{p}{at}")));
    }
    if let Some(c) = m.maximum_concurrency {
        settings.push(("maximum_concurrency", c.to_string()));
    }
    if m.report_batch_item_failures {
        settings.push((
            "partial_failures",
            "reported (ReportBatchItemFailures)".to_string(),
        ));
    }
    for f in &m.filters {
        settings.push(("filter", f.clone()));
    }
    if let Some(sf) = &m.stream_failure {
        let forever = |n: i32, unit: &str| {
            if n < 0 {
                "forever".to_string()
            } else {
                format!("{n}{unit}")
            }
        };
        settings.push((
            "maximum_retry_attempts",
            forever(sf.maximum_retry_attempts, ""),
        ));
        settings.push(("maximum_record_age", forever(sf.maximum_record_age_s, " s")));
        if sf.bisect_on_error {
            settings.push(("bisect_on_error", "true".to_string()));
        }
        if sf.parallelization_factor != 1 {
            settings.push((
                "parallelization_factor",
                sf.parallelization_factor.to_string(),
            ));
        }
        if sf.tumbling_window_s > 0 {
            settings.push(("tumbling_window", format!("{} s", sf.tumbling_window_s)));
        }
        if let Some(d) = &sf.on_failure {
            settings.push(("on_failure", destination(d)));
        }
    }
    ResourceView {
        kind: "lambda_event_source_mapping",
        name: function_name.to_string(),
        settings: owned(settings),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let model = chalice_codegen::load(
            "events.chalice",
            "app shop\nschedule tick rate(5 minutes)\nqueue orders \"orders\" { batching_window = 5s }\n",
        )
        .unwrap();
        chalice_codegen::emit_plan::plan(&model, "dev").unwrap()
    }

    #[test]
    fn groups_follow_the_handlers() {
        let groups = groups(&plan());
        let titles: Vec<_> = groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(titles, ["tick (schedule)", "orders (queue)"]);
        let kinds: Vec<_> = groups[0].resources.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                "iam_role",
                "lambda_function",
                "events_rule",
                "lambda_permission"
            ]
        );
        let kinds: Vec<_> = groups[1].resources.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            ["iam_role", "lambda_function", "lambda_event_source_mapping"]
        );
    }

    #[test]
    fn render_lists_every_resource_and_counts_them() {
        let plan = plan();
        let text = render_create(&plan, false);
        assert_eq!(text.matches("\n+ create ").count(), count(&plan));
        assert_eq!(count(&plan), 7);
        assert!(
            text.contains("\nPlan: 7 to create.\nArtifacts: 1 code zip to upload, "),
            "{text}"
        );
        assert!(
            text.contains("+ create events_rule shop-dev-tick\n    schedule = rate(5 minutes)\n"),
            "{text}"
        );
        assert!(text.contains("    batching_window  = 5 s\n"), "{text}");
        assert!(
            text.contains(
                "    allow Logs       = logs:CreateLogGroup, CreateLogStream, PutLogEvents on 2 resources\n\
                 \x20   allow SqsConsume = sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes, \
                 ChangeMessageVisibility on arn:{partition}:sqs:{region}:{account}:orders\n"
            ),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        assert!(
            render_create(&plan, true).contains("\x1b[32m+ create iam_role shop-dev-orders\x1b[0m")
        );
    }

    #[test]
    fn actions_name_each_service_once() {
        let list = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            actions(&list(&["sqs:A", "sqs:B", "logs:C", "D"])),
            "sqs:A, B, logs:C, D"
        );
        assert_eq!(actions(&[]), "");
    }
}
