//! Issue #10 on moto through the AWS SDK for Rust, deployed: failure destinations, retries, bisect and
//! filters. Each option is read back (the mappings, the subscription's attributes, the functions'
//! event invoke configurations), each role holds exactly the grant its destination needs, a missing
//! destination stops the deploy before any write, an unchanged app redeploys with zero writes, changes
//! converge in place, and an invoke configuration the app no longer sets is removed.

mod support;

use std::ops::Deref;

use serde_json::{Value, json};

use support::aws::{queue_arn, topic_arn};
use support::deployer::Run;
use support::fixtures::{
    create_bucket, create_queue, create_stream, create_table, create_topic, put_foreign_queue_entry,
};
use support::policy;
use support::proxied::Proxied;

/// A second app, unlike the example: every kind with the issue's options.
fn app(on_upload: &str, click_retries: i32, notice_kind: &str, nightly: &str) -> String {
    format!(
        r#"app shop
stream on_click "clicks" {{
    maximum_retry_attempts = {click_retries}
    maximum_record_age = 1h
    bisect_on_error = true
    parallelization_factor = 2
    tumbling_window = 30s
    on_failure {{ queue = "clicks-failed-${{stage}}" }}
    filter = {{ "data": {{ "page": [ {{ "prefix": "/checkout" }} ] }} }}
}}
table on_audit "orders" {{ on_failure {{ topic = "alerts" }}, filter = [ {{ "eventName": ["INSERT", "MODIFY"] }} ] }}
queue on_order "orders" {{ filter = {{ "body": {{ "type": ["order"] }} }} }}
topic on_notice "notices" {{ filter_policy = {{ "kind": ["{notice_kind}"] }}, filter_policy_scope = message_body }}
bucket on_upload "uploads" {{ {on_upload} }}
schedule nightly cron(0 2 * * ? *) {{ {nightly} }}
"#
    )
}

fn first_app() -> String {
    app(
        r#"maximum_retry_attempts = 0, maximum_event_age = 1h, on_failure { queue = "dead" }"#,
        3,
        "shipped",
        r#"maximum_retry_attempts = 1, on_failure { topic = "alerts" }"#,
    )
}

/// The shop app with every source and destination but the queue `dead`, and what this suite reads.
struct Setup(Proxied);

impl Deref for Setup {
    type Target = Proxied;
    fn deref(&self) -> &Proxied {
        &self.0
    }
}

impl Setup {
    async fn new() -> Setup {
        let s = Proxied::start().await;
        let aws = &s.aws;
        create_stream(aws, "clicks", 1).await;
        create_table(aws, "orders", "id", true).await;
        create_queue(aws, "orders", Some(360)).await;
        create_topic(aws, "notices").await;
        create_bucket(aws, "uploads").await;
        create_queue(aws, "audit", None).await;
        // Someone else's entry (moto cannot answer for a bucket without any).
        put_foreign_queue_entry(aws, "uploads", "audit", &queue_arn("audit"), None).await;
        create_queue(aws, "clicks-failed-dev", None).await;
        create_topic(aws, "alerts").await;
        s.write_app(&first_app());
        Setup(s)
    }

    /// The mapping of function `shop-dev-<handler>`.
    async fn mapping(
        &self,
        handler: &str,
    ) -> aws_sdk_lambda::types::EventSourceMappingConfiguration {
        let out = self
            .aws
            .lambda
            .list_event_source_mappings()
            .function_name(format!("shop-dev-{handler}"))
            .send()
            .await
            .expect("list mappings");
        let mut all = out.event_source_mappings().to_vec();
        assert_eq!(all.len(), 1, "{handler}: {all:?}");
        all.remove(0)
    }

    /// `(retries, event age, on-failure destination)` of `shop-dev-<handler>`; `None` without one.
    async fn invoke_config(
        &self,
        handler: &str,
    ) -> Option<(Option<i32>, Option<i32>, Option<String>)> {
        let out = self
            .aws
            .lambda
            .get_function_event_invoke_config()
            .function_name(format!("shop-dev-{handler}"))
            .send()
            .await
            .ok()?;
        Some((
            out.maximum_retry_attempts(),
            out.maximum_event_age_in_seconds(),
            out.destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|o| o.destination())
                .map(str::to_owned),
        ))
    }

    /// The filter policy (as JSON) and scope of the subscription of `on_notice`.
    async fn notice_filter(&self) -> (Option<Value>, Option<String>) {
        let subs = self
            .aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn("notices"))
            .send()
            .await
            .expect("list subscriptions");
        let ours: Vec<_> = subs
            .subscriptions()
            .iter()
            .filter(|s| {
                s.endpoint()
                    .is_some_and(|e| e.ends_with(":shop-dev-on_notice"))
            })
            .collect();
        assert_eq!(ours.len(), 1, "{subs:?}");
        let attrs = self
            .aws
            .sns
            .get_subscription_attributes()
            .subscription_arn(ours[0].subscription_arn().unwrap())
            .send()
            .await
            .expect("subscription attributes");
        let attrs = attrs.attributes().cloned().unwrap_or_default();
        (
            attrs
                .get("FilterPolicy")
                .map(|p| serde_json::from_str(p).expect("policy JSON")),
            attrs.get("FilterPolicyScope").cloned(),
        )
    }

    /// Whether `shop-dev-<handler>`'s role may do `action` on `resource`.
    async fn allows(&self, handler: &str, action: &str, resource: &str) -> bool {
        let name = format!("shop-dev-{handler}");
        let doc = self
            .aws
            .iam
            .get_role_policy()
            .role_name(&name)
            .policy_name(&name)
            .send()
            .await
            .expect("role policy")
            .policy_document()
            .to_owned();
        policy::allows(&policy::parse_policy(&doc), action, resource)
    }
}

/// The writes of the run to the app's resources (not the deploy lock's), sorted.
fn writes(run: &Run) -> Vec<String> {
    let mut w = run.app_writes();
    w.sort();
    w
}

/// Whether a plan line sets `key` (aligned with its neighbours) to `value`.
fn shows(text: &str, key: &str, value: &str) -> bool {
    text.lines().any(|line| {
        line.trim_start()
            .strip_prefix(key)
            .and_then(|rest| rest.trim_start().strip_prefix("= "))
            == Some(value)
    })
}

fn patterns(m: &aws_sdk_lambda::types::EventSourceMappingConfiguration) -> Vec<Value> {
    m.filter_criteria()
        .map(|c| {
            c.filters()
                .iter()
                .filter_map(|f| f.pattern())
                .map(|p| serde_json::from_str(p).expect("pattern JSON"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn failure_handling_and_filters_deploy_converge_change_and_go() {
    let s = Setup::new().await;

    // The offline plan shows every option.
    let offline = s.run(&["plan", "--offline"]);
    offline.assert_success();
    assert!(
        offline
            .stdout
            .contains("+ create lambda_event_invoke_config shop-dev-on_upload"),
        "{}",
        offline.stdout
    );
    for (key, value) in [
        ("maximum_retry_attempts", "0"),
        ("maximum_event_age", "3600 s"),
        (
            "on_failure",
            "sqs arn:{partition}:sqs:{region}:{account}:dead",
        ),
        ("maximum_record_age", "3600 s"),
        ("bisect_on_error", "true"),
        ("parallelization_factor", "2"),
        ("tumbling_window", "30 s"),
        ("filter", r#"{"body":{"type":["order"]}}"#),
        ("filter_policy", r#"{"kind":["shipped"]}"#),
        ("filter_policy_scope", "MessageBody"),
        (
            "allow FailureQueue",
            "sqs:SendMessage on arn:{partition}:sqs:{region}:{account}:dead",
        ),
    ] {
        assert!(
            shows(&offline.stdout, key, value),
            "{key} = {value} not in:\n{}",
            offline.stdout
        );
    }

    // A missing destination is reported before any write, like a missing source.
    let refused = s.deploy();
    assert_ne!(refused.code, Some(0), "{}", refused.describe());
    assert!(
        refused.stderr.contains("on-failure SQS queue `dead`")
            && refused.stderr.contains("handler `on_upload`"),
        "{}",
        refused.describe()
    );
    assert_eq!(
        writes(&refused),
        Vec::<String>::new(),
        "{}",
        refused.describe()
    );

    create_queue(&s.aws, "dead", None).await;
    let first = s.deploy();
    first.assert_success();

    // Streams and tables: every option on the mapping.
    let click = s.mapping("on_click").await;
    assert_eq!(click.maximum_retry_attempts(), Some(3));
    assert_eq!(click.maximum_record_age_in_seconds(), Some(3600));
    assert_eq!(click.bisect_batch_on_function_error(), Some(true));
    assert_eq!(click.parallelization_factor(), Some(2));
    assert_eq!(click.tumbling_window_in_seconds(), Some(30));
    assert_eq!(
        click
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination()),
        Some(queue_arn("clicks-failed-dev").as_str())
    );
    assert_eq!(
        patterns(&click),
        [json!({"data": {"page": [{"prefix": "/checkout"}]}})]
    );
    let audit = s.mapping("on_audit").await;
    assert_eq!(
        audit
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination()),
        Some(topic_arn("alerts").as_str())
    );
    assert_eq!(
        patterns(&audit),
        [json!({"eventName": ["INSERT", "MODIFY"]})]
    );
    let order = s.mapping("on_order").await;
    assert_eq!(patterns(&order), [json!({"body": {"type": ["order"]}})]);
    assert_eq!(
        order
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination()),
        None
    );

    // Topics: the subscription's filter policy and scope.
    assert_eq!(
        s.notice_filter().await,
        (
            Some(json!({"kind": ["shipped"]})),
            Some("MessageBody".to_string())
        )
    );

    // Asynchronous kinds: the function's event invoke configuration.
    assert_eq!(
        s.invoke_config("on_upload").await,
        Some((Some(0), Some(3600), Some(queue_arn("dead"))))
    );
    assert_eq!(
        s.invoke_config("nightly").await,
        Some((Some(1), Some(21_600), Some(topic_arn("alerts"))))
    );
    assert_eq!(
        s.invoke_config("on_notice").await,
        None,
        "none set, none made"
    );

    // Each role may send to exactly its own destination.
    assert!(
        s.allows(
            "on_click",
            "sqs:SendMessage",
            &queue_arn("clicks-failed-dev")
        )
        .await
    );
    assert!(
        s.allows("on_audit", "sns:Publish", &topic_arn("alerts"))
            .await
    );
    assert!(
        s.allows("on_upload", "sqs:SendMessage", &queue_arn("dead"))
            .await
    );
    assert!(
        s.allows("nightly", "sns:Publish", &topic_arn("alerts"))
            .await
    );
    assert!(
        !s.allows("on_order", "sqs:SendMessage", &queue_arn("dead"))
            .await
    );
    assert!(
        !s.allows("on_upload", "sns:Publish", &topic_arn("alerts"))
            .await
    );
    assert!(
        !s.allows("nightly", "sqs:SendMessage", &queue_arn("dead"))
            .await
    );

    // Unchanged: zero writes.
    let again = s.deploy();
    again.assert_success();
    assert!(again.stdout.contains("No changes."), "{}", again.describe());
    assert_eq!(writes(&again), Vec::<String>::new(), "{}", again.describe());

    // Changed in place: a retry count, a filter policy, an invoke configuration's destination taken
    // out, another's configuration taken out entirely.
    s.project
        .write_app(&app("maximum_retry_attempts = 1", 5, "returned", ""));
    let plan = s.run(&["plan", "--bootstrap", "bootstrap"]);
    plan.assert_success();
    for shown in [
        "~ update lambda_event_invoke_config shop-dev-on_upload",
        "maximum_retry_attempts: 0 → 1",
        &format!("on_failure: {} → (none)", queue_arn("dead")),
        "- delete lambda_event_invoke_config shop-dev-nightly",
        "~ update lambda_event_source_mapping shop-dev-on_click/stream/clicks",
        "maximum_retry_attempts: 3 → 5",
        "~ update sns_subscription shop-dev-on_notice/notices",
        r#"filter_policy: {"kind":["shipped"]} → {"kind":["returned"]}"#,
    ] {
        assert!(
            plan.stdout.contains(shown),
            "{shown:?} not in:\n{}",
            plan.describe()
        );
    }
    let changed = s.deploy();
    changed.assert_success();
    assert_eq!(
        writes(&changed),
        [
            "iam.PutRolePolicy",
            "iam.PutRolePolicy",
            // nightly's configuration; on_upload's put is followed, on moto only, by a delete and a
            // second put (moto keeps the first configuration put: see resources/invoke_config.rs).
            "lambda.DeleteFunctionEventInvokeConfig",
            "lambda.DeleteFunctionEventInvokeConfig",
            "lambda.PutFunctionEventInvokeConfig",
            "lambda.PutFunctionEventInvokeConfig",
            "lambda.UpdateEventSourceMapping",
            "sns.SetSubscriptionAttributes",
            "sns.SetSubscriptionAttributes",
        ],
        "{}",
        changed.describe()
    );
    assert_eq!(
        s.invoke_config("on_upload").await,
        Some((Some(1), Some(21_600), None))
    );
    assert_eq!(
        s.invoke_config("nightly").await,
        None,
        "removed with its settings"
    );
    assert_eq!(
        s.mapping("on_click").await.maximum_retry_attempts(),
        Some(5)
    );
    assert_eq!(
        s.notice_filter().await.0,
        Some(json!({"kind": ["returned"]}))
    );
    assert!(
        !s.allows("on_upload", "sqs:SendMessage", &queue_arn("dead"))
            .await
    );
    assert!(
        !s.allows("nightly", "sns:Publish", &topic_arn("alerts"))
            .await
    );
    assert_eq!(writes(&s.deploy()), Vec::<String>::new(), "converged");

    // Delete: nothing left, no invoke configuration either.
    let deleted = s.run(&["delete", "--yes"]);
    deleted.assert_success();
    assert_eq!(s.invoke_config("on_upload").await, None);
    let functions = s.aws.lambda.list_functions().send().await.unwrap();
    assert!(
        functions
            .functions()
            .iter()
            .all(|f| !f.function_name().unwrap_or("").starts_with("shop-dev-")),
        "{}",
        deleted.describe()
    );
}
