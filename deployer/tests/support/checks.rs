//! What is deployed ([`Inventory`]) checked against a plan: every resource of the plan exactly once,
//! configured as planned, and nothing of the app that the plan does not have. Every check runs; the
//! problems are reported all at once.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput as Notifications;
use aws_sdk_s3::types::LambdaFunctionConfiguration;
use chalice_codegen::plan::{MappingSource, Plan};
use chalice_deployer::project::package::CodePackage;
use serde_json::Value;

use crate::support::aws::{ACCOUNT, context, topic_arn};
use crate::support::inventory::{Inventory, Scope};
use crate::support::policy::{condition_value, principal_service, sid, statements, string_set};

/// Collected problems: every check runs, the test reports them all at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn push(&mut self, problem: String) {
        self.0.push(problem);
    }

    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
}

/// Every check of `plan` against `inv`: role, functions (running `code`), rules, permissions, bucket
/// entries, subscriptions and mappings, each exactly once, and nothing of the app the plan lacks.
pub fn check_deployed(inv: &Inventory, plan: &Plan, code: &CodePackage, p: &mut Problems) {
    assert_eq!(
        inv.scope.prefix,
        format!("{}-{}-", plan.app, plan.stage),
        "the inventory was read for another app"
    );
    check_roles(inv, plan, p);
    check_functions(inv, plan, code, p);
    check_rules(inv, plan, p);
    check_permissions(inv, plan, p);
    check_bucket_notifications(inv, plan, p);
    check_subscriptions(inv, plan, p);
    check_mappings(inv, plan, p);
}

/// The roles: exactly the plan's own roles under the stage's path (no shared role left), each
/// assumable by Lambda, tagged, with exactly its inline policy (the tool's statements and the file's)
/// and its managed policies.
pub fn check_roles(inv: &Inventory, plan: &Plan, p: &mut Problems) {
    let live: BTreeSet<&String> = inv.roles.keys().collect();
    let planned: BTreeSet<&String> = plan.roles.iter().map(|r| &r.name).collect();
    p.eq("roles of the stage", live, planned);
    let ctx = context();
    for planned in &plan.roles {
        let Some(role) = inv.roles.get(&planned.name) else {
            continue; // reported above
        };
        let n = &planned.name;
        p.eq(
            &format!("{n} arn"),
            role.arn.clone(),
            planned.arn.resolve(&ctx),
        );
        let trusted = statements(&role.trust).iter().any(|s| {
            principal_service(s).contains("lambda.amazonaws.com")
                && string_set(s.get("Action")).contains("sts:AssumeRole")
        });
        if !trusted {
            p.push(format!(
                "role {n} does not let lambda.amazonaws.com assume it: {}",
                role.trust
            ));
        }
        for (k, v) in &plan.tags {
            p.eq(&format!("{n} tag {k}"), role.tags.get(k), Some(v));
        }
        p.eq(
            &format!("{n} inline policies"),
            role.policy_names.clone(),
            vec![planned.policy_name.clone()],
        );
        p.eq(
            &format!("{n} managed policies"),
            role.attached.clone(),
            planned
                .managed_policies
                .iter()
                .map(|a| a.resolve(&ctx))
                .collect(),
        );
        let Some(doc) = role.policies.get(&planned.policy_name) else {
            p.push(format!("role policy {} missing", planned.policy_name));
            continue;
        };
        type Grant = (String, BTreeSet<String>, BTreeSet<String>);
        let grant = |s: &Value| -> (String, Grant) {
            let effect = s.get("Effect").and_then(Value::as_str).unwrap_or("");
            let key = |k: &str, not: &str| s.get(k).or_else(|| s.get(not));
            (
                sid(s).to_owned(),
                (
                    effect.to_owned(),
                    string_set(key("Action", "NotAction")),
                    string_set(key("Resource", "NotResource")),
                ),
            )
        };
        let got: BTreeMap<String, Grant> = statements(doc).iter().map(&grant).collect();
        let mut want: BTreeMap<String, Grant> = planned
            .statements
            .iter()
            .map(|s| {
                let grant = (
                    "Allow".to_owned(),
                    s.actions.iter().cloned().collect(),
                    s.resources.iter().map(|r| r.resolve(&ctx)).collect(),
                );
                (s.sid.clone(), grant)
            })
            .collect();
        for s in &planned.custom_statements {
            want.extend([grant(&chalice_codegen::plan::resolve_json(s, &ctx))]);
        }
        p.eq(
            &format!("{n} policy statements (sid → effect, actions, resources)"),
            got,
            want,
        );
    }
}

/// Functions: exactly the plan's, each configured as planned, running `code`.
pub fn check_functions(inv: &Inventory, plan: &Plan, code: &CodePackage, p: &mut Problems) {
    let live: BTreeSet<&String> = inv.functions.keys().collect();
    let planned: BTreeSet<&String> = plan.functions.iter().map(|f| &f.name).collect();
    p.eq(
        &format!("functions named {}*", inv.scope.prefix),
        live,
        planned,
    );
    let ctx = context();
    for f in &plan.functions {
        let role = f.role.arn().resolve(&ctx);
        let Some(function) = inv.functions.get(&f.name) else {
            continue; // reported above
        };
        let n = &f.name;
        let Some(c) = function.config() else {
            p.push(format!("{n}: GetFunction has no configuration"));
            continue;
        };
        p.eq(
            &format!("{n} runtime"),
            c.runtime().map(|r| r.as_str()),
            Some(f.runtime.as_str()),
        );
        p.eq(
            &format!("{n} handler"),
            c.handler(),
            Some(f.handler.as_str()),
        );
        p.eq(&format!("{n} role"), c.role(), Some(role.as_str()));
        p.eq(
            &format!("{n} memory"),
            c.memory_size(),
            Some(f.memory_mb as i32),
        );
        p.eq(
            &format!("{n} timeout"),
            c.timeout(),
            Some(f.timeout_s as i32),
        );
        let architectures: Vec<&str> = c.architectures().iter().map(|a| a.as_str()).collect();
        p.eq(
            &format!("{n} architectures"),
            architectures,
            vec![f.architecture.as_str()],
        );
        let env: BTreeMap<String, String> = c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        p.eq(&format!("{n} environment"), env, f.env.clone());
        p.eq(
            &format!("{n} CodeSha256"),
            c.code_sha256(),
            Some(code.code_sha256.as_str()),
        );
        p.eq(&format!("{n} tags"), function.tags(), f.tags.clone());
        p.eq(
            &format!("{n} reserved concurrency"),
            function.reserved_concurrency(),
            f.reserved_concurrency.map(|c| c as i32),
        );
    }
}

/// Rules: exactly the plan's on each bus, each with its one target and the plan's tags.
pub fn check_rules(inv: &Inventory, plan: &Plan, p: &mut Problems) {
    let ctx = context();
    for bus in &inv.scope.buses {
        let live: BTreeSet<&String> = inv
            .rules
            .keys()
            .filter(|(b, _)| b == bus)
            .map(|(_, name)| name)
            .collect();
        let planned: BTreeSet<&String> = plan
            .rules
            .iter()
            .filter(|r| &r.event_bus == bus)
            .map(|r| &r.name)
            .collect();
        let bus = bus.as_deref().unwrap_or("default");
        let what = format!("rules named {}* on bus {bus}", inv.scope.prefix);
        p.eq(&what, live, planned);
    }
    let pattern =
        |s: Option<&str>| s.map(|s| serde_json::from_str(s).unwrap_or(Value::String(s.to_owned())));
    for r in &plan.rules {
        let Some(rule) = inv.rules.get(&(r.event_bus.clone(), r.name.clone())) else {
            continue; // reported above
        };
        let (d, n) = (&rule.describe, &r.name);
        let arn = d.arn().map(str::to_owned);
        p.eq(&format!("rule {n} ARN"), arn, Some(r.arn.resolve(&ctx)));
        p.eq(
            &format!("rule {n} schedule"),
            d.schedule_expression(),
            r.schedule_expression.as_deref(),
        );
        p.eq(
            &format!("rule {n} pattern"),
            pattern(d.event_pattern()),
            pattern(r.event_pattern.as_deref()),
        );
        p.eq(
            &format!("rule {n} description"),
            d.description().filter(|s| !s.is_empty()),
            r.description.as_deref(),
        );
        let state = d.state().map(|s| s.as_str());
        p.eq(&format!("rule {n} state"), state, Some("ENABLED"));
        let function = plan.function(&r.function).expect("rule's function");
        p.eq(
            &format!("rule {n} targets"),
            rule.targets.clone(),
            vec![(r.target_id.clone(), function.arn.resolve(&ctx))],
        );
        if d.arn().is_some() {
            for (k, v) in &plan.tags {
                p.eq(&format!("rule {n} tag {k}"), rule.tags.get(k), Some(v));
            }
        }
    }
}

/// Permissions: per function exactly the plan's statements, each once, with its conditions.
pub fn check_permissions(inv: &Inventory, plan: &Plan, p: &mut Problems) {
    let ctx = context();
    for f in &plan.functions {
        let wanted: Vec<_> = plan
            .permissions
            .iter()
            .filter(|x| x.function == f.handler)
            .collect();
        let policy = inv.functions.get(&f.name).and_then(|x| x.policy.clone());
        let got = statements(&policy.unwrap_or(Value::Null));
        let mut got_sids: Vec<String> = got.iter().map(|s| sid(s).to_owned()).collect();
        let mut want_sids: Vec<String> = wanted.iter().map(|x| x.statement_id.clone()).collect();
        got_sids.sort();
        want_sids.sort();
        let what = format!("{} permission statement ids", f.name);
        p.eq(&what, got_sids, want_sids);
        for w in wanted {
            let Some(s) = got.iter().find(|s| sid(s) == w.statement_id) else {
                continue;
            };
            let what = format!("{} permission {}", f.name, w.statement_id);
            let effect = s.get("Effect").and_then(Value::as_str);
            p.eq(&format!("{what} effect"), effect, Some("Allow"));
            p.eq(
                &format!("{what} principal"),
                principal_service(s),
                BTreeSet::from([w.principal.clone()]),
            );
            p.eq(
                &format!("{what} action"),
                string_set(s.get("Action")),
                BTreeSet::from(["lambda:InvokeFunction".to_owned()]),
            );
            p.eq(
                &format!("{what} resource"),
                string_set(s.get("Resource")),
                BTreeSet::from([f.arn.resolve(&ctx)]),
            );
            p.eq(
                &format!("{what} AWS:SourceArn"),
                condition_value(s, "AWS:SourceArn"),
                Some(w.source_arn.resolve(&ctx)),
            );
            p.eq(
                &format!("{what} AWS:SourceAccount"),
                condition_value(s, "AWS:SourceAccount"),
                w.source_account.then(|| ACCOUNT.to_owned()),
            );
        }
    }
}

/// The app's entries of a bucket's notification configuration (others' are left to the caller).
pub fn app_entries<'a>(inv: &'a Inventory, bucket: &str) -> Vec<&'a LambdaFunctionConfiguration> {
    inv.notification(bucket)
        .lambda_function_configurations()
        .iter()
        .filter(|c| inv.scope.is_app_function(c.lambda_function_arn()))
        .collect()
}

/// A bucket entry's filter rules as given: (`prefix`/`suffix`, lower-cased; value).
pub fn filter_rules(entry: &LambdaFunctionConfiguration) -> Vec<(String, String)> {
    let Some(key) = entry.filter().and_then(|f| f.key()) else {
        return Vec::new();
    };
    key.filter_rules()
        .iter()
        .map(|r| {
            let name = r.name().map(|n| n.as_str().to_lowercase());
            (name.unwrap_or_default(), r.value().unwrap_or("").to_owned())
        })
        .collect()
}

/// What a bucket's Lambda entry says: (id, function ARN, events, filter rules).
pub type EntryView = (String, String, Vec<String>, Vec<(String, String)>);

/// `entry` as an [`EntryView`], to compare with what was written.
pub fn entry_view(entry: &LambdaFunctionConfiguration) -> EntryView {
    (
        entry.id().unwrap_or("").to_owned(),
        entry.lambda_function_arn().to_owned(),
        entry
            .events()
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect(),
        filter_rules(entry),
    )
}

/// Every Lambda entry of a bucket's notification configuration, as [`EntryView`]s.
pub fn lambda_entry_views(config: &Notifications) -> Vec<EntryView> {
    config
        .lambda_function_configurations()
        .iter()
        .map(entry_view)
        .collect()
}

/// Bucket notifications: on each bucket in scope, the app's entries are exactly the plan's.
pub fn check_bucket_notifications(inv: &Inventory, plan: &Plan, p: &mut Problems) {
    let ctx = context();
    for bucket in &inv.scope.buckets {
        let ours = app_entries(inv, bucket);
        let mut got_ids: Vec<&str> = ours.iter().map(|c| c.id().unwrap_or("")).collect();
        let mut want_ids: Vec<&str> = plan
            .bucket_notifications
            .iter()
            .filter(|b| &b.bucket == bucket)
            .map(|b| b.notification_id.as_str())
            .collect();
        got_ids.sort();
        want_ids.sort();
        let what = format!("{bucket} notification ids of the app's functions");
        p.eq(&what, got_ids, want_ids);
    }
    for b in &plan.bucket_notifications {
        let ours = app_entries(inv, &b.bucket);
        let Some(c) = ours.iter().find(|c| c.id() == Some(&b.notification_id)) else {
            continue; // reported above
        };
        let what = format!("{} notification {}", b.bucket, b.notification_id);
        let function = plan.function(&b.function).expect("notification's function");
        p.eq(
            &format!("{what} function"),
            c.lambda_function_arn().to_owned(),
            function.arn.resolve(&ctx),
        );
        let events: BTreeSet<String> = c.events().iter().map(|e| e.as_str().to_owned()).collect();
        p.eq(
            &format!("{what} events"),
            events,
            b.events.iter().cloned().collect(),
        );
        let mut want = BTreeMap::new();
        if let Some(prefix) = &b.prefix {
            want.insert("prefix".to_owned(), prefix.clone());
        }
        if let Some(suffix) = &b.suffix {
            want.insert("suffix".to_owned(), suffix.clone());
        }
        let rules: BTreeMap<String, String> = filter_rules(c).into_iter().collect();
        p.eq(&format!("{what} filter rules"), rules, want);
    }
}

/// The `protocol endpoint` of each subscription of `topic` to one of the app's functions.
pub fn app_subscriptions(inv: &Inventory, topic: &str) -> Vec<String> {
    inv.subscriptions_of(topic)
        .iter()
        .filter(|s| s.endpoint().is_some_and(|e| inv.scope.is_app_function(e)))
        .map(|s| {
            let protocol = s.protocol().unwrap_or("");
            format!("{protocol} {}", s.endpoint().unwrap_or(""))
        })
        .collect()
}

/// Subscriptions: per topic in scope, the app's lambda subscriptions are exactly the plan's, once each.
pub fn check_subscriptions(inv: &Inventory, plan: &Plan, p: &mut Problems) {
    let ctx = context();
    for topic in &inv.scope.topics {
        let mut got = app_subscriptions(inv, topic);
        let mut want: Vec<String> = plan
            .subscriptions
            .iter()
            .filter(|s| s.topic_arn.resolve(&ctx) == topic_arn(topic))
            .map(|s| {
                let function = plan.function(&s.function).expect("function");
                format!("lambda {}", function.arn.resolve(&ctx))
            })
            .collect();
        got.sort();
        want.sort();
        let what = format!("subscriptions of the app's functions on {topic}");
        p.eq(&what, got, want);
    }
}

/// Mappings: every mapping of an app function is a planned (function, source), once each, configured
/// as planned.
pub fn check_mappings(inv: &Inventory, plan: &Plan, p: &mut Problems) {
    let ctx = context();
    let mut want: Vec<(String, String)> = Vec::new();
    for m in &plan.event_source_mappings {
        let source = match &m.source {
            MappingSource::Queue { arn }
            | MappingSource::Stream { arn }
            | MappingSource::TableStream { arn } => arn.resolve(&ctx),
            MappingSource::Table { table } => inv
                .table_streams
                .get(table)
                .unwrap_or_else(|| panic!("table {table} is not in the inventory's scope"))
                .clone(),
        };
        let function = plan.function(&m.function).expect("mapping's function");
        let function_arn = function.arn.resolve(&ctx);
        want.push((function_arn.clone(), source.clone()));
        let found = inv.mappings_of(&function_arn);
        let Some(x) = found.iter().find(|x| x.event_source_arn() == Some(&source)) else {
            continue;
        };
        let what = format!("mapping {} ← {source}", function.name);
        p.eq(
            &format!("{what} batch size"),
            x.batch_size(),
            Some(m.batch_size as i32),
        );
        let window = x.maximum_batching_window_in_seconds().filter(|w| *w != 0);
        p.eq(
            &format!("{what} batching window"),
            window,
            m.batching_window_s.map(|w| w as i32),
        );
        p.eq(
            &format!("{what} starting position"),
            x.starting_position().map(|s| s.as_str().to_owned()),
            m.starting_position.clone(),
        );
        let reports = x
            .function_response_types()
            .iter()
            .any(|t| t.as_str() == "ReportBatchItemFailures");
        let what_reports = format!("{what} ReportBatchItemFailures");
        p.eq(&what_reports, reports, m.report_batch_item_failures);
        p.eq(
            &format!("{what} maximum concurrency"),
            x.scaling_config().and_then(|s| s.maximum_concurrency()),
            m.maximum_concurrency.map(|c| c as i32),
        );
        let json = |p: &str| serde_json::from_str::<serde_json::Value>(p).expect("filter JSON");
        let mut filters: Vec<String> = x
            .filter_criteria()
            .map(|c| {
                c.filters()
                    .iter()
                    .filter_map(|f| f.pattern())
                    .map(|p| json(p).to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut planned: Vec<String> = m.filters.iter().map(|p| json(p).to_string()).collect();
        filters.sort();
        planned.sort();
        p.eq(&format!("{what} filters"), filters, planned);
        if let Some(sf) = &m.stream_failure {
            p.eq(
                &format!("{what} retries, record age, bisect, parallelization"),
                (
                    x.maximum_retry_attempts(),
                    x.maximum_record_age_in_seconds(),
                    x.bisect_batch_on_function_error(),
                    x.parallelization_factor(),
                ),
                (
                    Some(sf.maximum_retry_attempts),
                    Some(sf.maximum_record_age_s),
                    Some(sf.bisect_on_error),
                    Some(sf.parallelization_factor as i32),
                ),
            );
            p.eq(
                &format!("{what} on-failure destination"),
                x.destination_config()
                    .and_then(|d| d.on_failure())
                    .and_then(|o| o.destination())
                    .map(str::to_owned),
                sf.on_failure.as_ref().map(|d| d.arn.resolve(&ctx)),
            );
        }
    }
    let mut got: Vec<(String, String)> = inv
        .app_mappings()
        .iter()
        .map(|x| {
            let function = x.function_arn().unwrap_or("").to_owned();
            (function, x.event_source_arn().unwrap_or("").to_owned())
        })
        .collect();
    got.sort();
    want.sort();
    p.eq(
        "mappings of the app's functions (function, source)",
        got,
        want,
    );
}

/// Nothing of the app left: no function, role, rule, bucket entry, subscription or mapping, and no
/// bucket but the scope's sources (the artifacts bucket is gone).
pub fn check_nothing_deployed(inv: &Inventory, p: &mut Problems) {
    let scope: &Scope = &inv.scope;
    if !inv.functions.is_empty() {
        let names: BTreeSet<&String> = inv.functions.keys().collect();
        p.push(format!("functions left: {names:?}"));
    }
    for name in inv.roles.keys() {
        p.push(format!("role {name} left"));
    }
    for bus in &scope.buses {
        let rules: BTreeSet<&String> = inv
            .rules
            .keys()
            .filter(|(b, _)| b == bus)
            .map(|(_, name)| name)
            .collect();
        if !rules.is_empty() {
            let bus = bus.as_deref().unwrap_or("default");
            p.push(format!("rules left on bus {bus}: {rules:?}"));
        }
    }
    for bucket in &scope.buckets {
        let ours: Vec<&str> = app_entries(inv, bucket)
            .iter()
            .map(|c| c.id().unwrap_or(""))
            .collect();
        if !ours.is_empty() {
            p.push(format!("bucket notification entries left: {ours:?}"));
        }
    }
    for topic in &scope.topics {
        let left = app_subscriptions(inv, topic);
        if !left.is_empty() {
            p.push(format!("subscriptions left on {topic}: {left:?}"));
        }
    }
    let left: Vec<String> = inv
        .app_mappings()
        .iter()
        .map(|m| {
            let function = m.function_arn().unwrap_or("");
            format!("{function} ← {}", m.event_source_arn().unwrap_or(""))
        })
        .collect();
    if !left.is_empty() {
        p.push(format!("mappings left: {left:?}"));
    }
    if inv.buckets != scope.buckets {
        p.push(format!(
            "buckets other than the sources are left (the artifacts bucket?): {:?}",
            inv.buckets
        ));
    }
}
