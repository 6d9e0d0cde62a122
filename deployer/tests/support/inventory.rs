//! What is deployed, read through the SDK: everything named with an app's prefix (role, functions and
//! their resource policies, rules on each bus), every entry of the buckets and subscription of the
//! topics in scope, every event source mapping, the tables' stream ARNs and the account's buckets.
//! [`crate::support::checks`] compares an inventory with a plan; tests also assert on it directly.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::{EventSourceMappingConfiguration, FunctionConfiguration};
use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput as Notifications;
use aws_sdk_sns::types::Subscription;
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{MappingSource, Plan};
use chalice_deployer::aws::{Clients, error_code};
use serde_json::Value;

use crate::support::aws::{arn_name, context, topic_arn};
use crate::support::policy::parse_policy;

/// What an inventory reads: the app's names, and the sources whose entries it lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Every resource of the app is named `<app>-<stage>-...`.
    pub prefix: String,
    /// The path every own role of the stage lives under, `/chalice/<app>/<stage>/`.
    pub role_path: String,
    /// The role every function shared before roles were per function, `<app>-<stage>`.
    pub legacy_role: String,
    /// Buckets whose notification entries are read; after `delete` the only buckets left.
    pub buckets: BTreeSet<String>,
    /// Topic names whose subscriptions are read.
    pub topics: BTreeSet<String>,
    /// Buses whose rules are read (`None`: the default bus).
    pub buses: BTreeSet<Option<String>>,
    /// Tables whose latest stream ARN is read.
    pub tables: BTreeSet<String>,
}

impl Scope {
    /// The app's names and the sources `plan` binds to (the default bus always).
    pub fn of(plan: &Plan) -> Scope {
        let ctx = context();
        let mut tables = BTreeSet::new();
        for m in &plan.event_source_mappings {
            if let MappingSource::Table { table } = &m.source {
                tables.insert(table.clone());
            }
        }
        Scope {
            prefix: format!("{}-{}-", plan.app, plan.stage),
            role_path: chalice_codegen::emit_plan::role_path(&plan.app, &plan.stage),
            legacy_role: format!("{}-{}", plan.app, plan.stage),
            buckets: plan
                .bucket_notifications
                .iter()
                .map(|b| b.bucket.clone())
                .collect(),
            topics: plan
                .subscriptions
                .iter()
                .map(|s| arn_name(&s.topic_arn.resolve(&ctx)).to_owned())
                .collect(),
            buses: std::iter::once(None)
                .chain(plan.rules.iter().map(|r| r.event_bus.clone()))
                .collect(),
            tables,
        }
    }

    /// This scope and `other`'s sources (the prefix and role stay this scope's).
    pub fn and(mut self, other: &Scope) -> Scope {
        self.buckets.extend(other.buckets.iter().cloned());
        self.topics.extend(other.topics.iter().cloned());
        self.buses.extend(other.buses.iter().cloned());
        self.tables.extend(other.tables.iter().cloned());
        self
    }

    /// Whether `arn` is a function of the app.
    pub fn is_app_function(&self, arn: &str) -> bool {
        arn.contains(&format!(":function:{}", self.prefix))
    }
}

/// An execution role, as IAM describes it.
#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    /// Managed policies attached.
    pub attached: BTreeSet<String>,
    /// The trust policy, parsed.
    pub trust: Value,
    pub tags: BTreeMap<String, String>,
    /// Inline policy names, as listed.
    pub policy_names: Vec<String>,
    /// Inline policy documents by name, parsed.
    pub policies: BTreeMap<String, Value>,
}

/// A function, as GetFunction describes it, with its resource policy.
#[derive(Debug, Clone)]
pub struct Function {
    pub get: GetFunctionOutput,
    /// The resource policy, parsed; `None` when GetPolicy failed (no policy).
    pub policy: Option<Value>,
    /// GetPolicy's error code when it failed.
    pub policy_error: Option<String>,
}

impl Function {
    pub fn config(&self) -> Option<&FunctionConfiguration> {
        self.get.configuration()
    }

    pub fn tags(&self) -> BTreeMap<String, String> {
        self.get
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    pub fn reserved_concurrency(&self) -> Option<i32> {
        self.get
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions())
    }
}

/// A rule, as DescribeRule describes it, with its targets and tags.
#[derive(Debug, Clone)]
pub struct Rule {
    pub describe: DescribeRuleOutput,
    /// (id, ARN) of each target.
    pub targets: Vec<(String, String)>,
    pub tags: BTreeMap<String, String>,
}

/// Everything read; see the module documentation.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub scope: Scope,
    /// Every role under the stage's role path, and the legacy shared role if it exists, by name.
    pub roles: BTreeMap<String, Role>,
    /// The functions named with the prefix, by name.
    pub functions: BTreeMap<String, Function>,
    /// The rules named with the prefix, by (bus, name).
    pub rules: BTreeMap<(Option<String>, String), Rule>,
    /// Each bucket's whole notification configuration.
    pub notifications: BTreeMap<String, Notifications>,
    /// Every subscription of each topic, by topic name.
    pub subscriptions: BTreeMap<String, Vec<Subscription>>,
    /// Every event source mapping of the account.
    pub mappings: Vec<EventSourceMappingConfiguration>,
    /// Each table's latest stream ARN.
    pub table_streams: BTreeMap<String, String>,
    /// Every bucket of the account.
    pub buckets: BTreeSet<String>,
}

impl Inventory {
    pub async fn read(aws: &Clients, scope: &Scope) -> Inventory {
        let mut notifications = BTreeMap::new();
        for bucket in &scope.buckets {
            notifications.insert(bucket.clone(), bucket_notifications(aws, bucket).await);
        }
        let mut subscriptions = BTreeMap::new();
        for topic in &scope.topics {
            let subs = list_subscriptions(aws, &topic_arn(topic)).await;
            subscriptions.insert(topic.clone(), subs);
        }
        let mut table_streams = BTreeMap::new();
        for table in &scope.tables {
            table_streams.insert(table.clone(), table_stream_arn(aws, table).await);
        }
        Inventory {
            scope: scope.clone(),
            roles: read_roles(aws, scope).await,
            functions: read_functions(aws, &scope.prefix).await,
            rules: read_rules(aws, scope).await,
            notifications,
            subscriptions,
            mappings: list_mappings(aws).await,
            table_streams,
            buckets: bucket_names(aws).await,
        }
    }

    /// The mappings of the function `arn`.
    pub fn mappings_of(&self, function_arn: &str) -> Vec<&EventSourceMappingConfiguration> {
        self.mappings
            .iter()
            .filter(|m| m.function_arn() == Some(function_arn))
            .collect()
    }

    /// The mappings of the app's functions.
    pub fn app_mappings(&self) -> Vec<&EventSourceMappingConfiguration> {
        self.mappings
            .iter()
            .filter(|m| {
                m.function_arn()
                    .is_some_and(|a| self.scope.is_app_function(a))
            })
            .collect()
    }

    /// `bucket`'s notification configuration (it must be in scope).
    pub fn notification(&self, bucket: &str) -> &Notifications {
        self.notifications
            .get(bucket)
            .unwrap_or_else(|| panic!("bucket {bucket} is not in the inventory's scope"))
    }

    /// Every subscription of `topic` (a name in scope).
    pub fn subscriptions_of(&self, topic: &str) -> &[Subscription] {
        self.subscriptions
            .get(topic)
            .unwrap_or_else(|| panic!("topic {topic} is not in the inventory's scope"))
    }
}

async fn read_roles(aws: &Clients, scope: &Scope) -> BTreeMap<String, Role> {
    let mut names: Vec<String> = aws
        .iam
        .list_roles()
        .path_prefix(&scope.role_path)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|r| r.expect("ListRoles").role_name().to_owned())
        .collect();
    names.push(scope.legacy_role.clone());
    let mut roles = BTreeMap::new();
    for name in names {
        if let Ok(role) = read_role(aws, &name).await {
            roles.insert(name, role);
        }
    }
    roles
}

async fn read_role(aws: &Clients, name: &str) -> Result<Role, String> {
    let got = match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(e) => return Err(error_code(&e).unwrap_or("error").to_owned()),
    };
    let role = got.role().expect("GetRole has a role");
    let tags = aws.iam.list_role_tags().role_name(name).send().await;
    let tags = tags.expect("role tags");
    let names = aws.iam.list_role_policies().role_name(name).send().await;
    let policy_names = names.expect("role policies").policy_names().to_vec();
    let mut policies = BTreeMap::new();
    for policy in &policy_names {
        let doc = aws
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .expect("role policy");
        policies.insert(policy.clone(), parse_policy(doc.policy_document()));
    }
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .expect("attached role policies")
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect();
    Ok(Role {
        arn: role.arn().to_owned(),
        attached,
        trust: role
            .assume_role_policy_document()
            .map(parse_policy)
            .unwrap_or(Value::Null),
        tags: tags
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        policy_names,
        policies,
    })
}

async fn read_functions(aws: &Clients, prefix: &str) -> BTreeMap<String, Function> {
    let mut functions = BTreeMap::new();
    for name in function_names(aws, prefix).await {
        let Ok(get) = aws.lambda.get_function().function_name(&name).send().await else {
            continue; // gone since listed
        };
        let (policy, policy_error) = match aws.lambda.get_policy().function_name(&name).send().await
        {
            Ok(out) => (
                Some(out.policy().map(parse_policy).unwrap_or(Value::Null)),
                None,
            ),
            Err(e) => (None, Some(error_code(&e).unwrap_or("error").to_owned())),
        };
        let function = Function {
            get,
            policy,
            policy_error,
        };
        functions.insert(name, function);
    }
    functions
}

async fn read_rules(aws: &Clients, scope: &Scope) -> BTreeMap<(Option<String>, String), Rule> {
    let mut rules = BTreeMap::new();
    for bus in &scope.buses {
        for name in rule_names(aws, bus.as_deref(), &scope.prefix).await {
            let describe = aws
                .eventbridge
                .describe_rule()
                .name(&name)
                .set_event_bus_name(bus.clone())
                .send()
                .await;
            let Ok(describe) = describe else {
                continue; // gone since listed
            };
            let targets = rule_targets(aws, bus.as_deref(), &name).await;
            let tags = match describe.arn() {
                Some(arn) => rule_tags(aws, arn).await,
                None => BTreeMap::new(),
            };
            let rule = Rule {
                describe,
                targets,
                tags,
            };
            rules.insert((bus.clone(), name), rule);
        }
    }
    rules
}

/// (id, ARN) of each target of the rule `name` on `bus`.
pub async fn rule_targets(aws: &Clients, bus: Option<&str>, name: &str) -> Vec<(String, String)> {
    let targets = aws
        .eventbridge
        .list_targets_by_rule()
        .rule(name)
        .set_event_bus_name(bus.map(str::to_owned))
        .send()
        .await
        .expect("rule targets");
    targets
        .targets()
        .iter()
        .map(|t| (t.id().to_owned(), t.arn().to_owned()))
        .collect()
}

async fn rule_tags(aws: &Clients, arn: &str) -> BTreeMap<String, String> {
    let tags = aws
        .eventbridge
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("rule tags");
    tags.tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// `bucket`'s whole notification configuration.
pub async fn bucket_notifications(aws: &Clients, bucket: &str) -> Notifications {
    aws.s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket notification")
}

/// A table's latest stream ARN (it carries a timestamp: read it, never guess it).
pub async fn table_stream_arn(aws: &Clients, table: &str) -> String {
    aws.dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table")
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("table has a stream")
        .to_owned()
}

/// Names of the account's buckets.
pub async fn bucket_names(aws: &Clients) -> BTreeSet<String> {
    aws.s3
        .list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name())
        .map(str::to_owned)
        .collect()
}

/// Every subscription of the topic `topic_arn`, all pages.
pub async fn list_subscriptions(aws: &Clients, topic_arn: &str) -> Vec<Subscription> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("list subscriptions");
        all.extend(out.subscriptions().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return all,
        }
    }
}

/// Every event source mapping of the account, all pages.
pub async fn list_mappings(aws: &Clients) -> Vec<EventSourceMappingConfiguration> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .lambda
            .list_event_source_mappings()
            .set_marker(marker.clone())
            .send()
            .await
            .expect("list mappings");
        all.extend(out.event_source_mappings().iter().cloned());
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => return all,
        }
    }
}

/// Names of the functions whose name starts with `prefix`.
pub async fn function_names(aws: &Clients, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .lambda
            .list_functions()
            .set_marker(marker.clone())
            .send()
            .await
            .expect("list functions");
        names.extend(
            out.functions()
                .iter()
                .filter_map(|f| f.function_name())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_owned),
        );
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => return names,
        }
    }
}

/// Names of the rules on `bus` whose name starts with `prefix`.
pub async fn rule_names(aws: &Clients, bus: Option<&str>, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .eventbridge
            .list_rules()
            .name_prefix(prefix)
            .set_event_bus_name(bus.map(str::to_owned))
            .set_next_token(token.clone())
            .send()
            .await
            .expect("list rules");
        names.extend(
            out.rules()
                .iter()
                .filter_map(|r| r.name())
                .map(str::to_owned),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return names,
        }
    }
}

/// Messages in the queue at `url`, visible or in flight.
pub async fn messages_left(aws: &Clients, url: &str) -> u32 {
    let out = aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let attrs = out.attributes().expect("the queue's attributes");
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| attrs[a].parse::<u32>().expect("a count"))
    .sum()
}
