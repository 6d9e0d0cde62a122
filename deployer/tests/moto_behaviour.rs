//! What moto answers to the exact SDK calls the per-service resource modules make.
//!
//! Each test pins down a behaviour the deployer relies on (builder names, required fields, which error
//! code means "not found", and moto's quirks where it differs from AWS: an undecodable answer for a
//! bucket without notifications, `ListEventSourceMappings` filtering by function name only, 200 for
//! deleting an unknown mapping), so a moto or SDK upgrade that changes one fails here first. Needs moto:
//! `scripts/moto.sh`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_lambda::client::Waiters as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, EventSourcePosition, FunctionCode, FunctionResponseType, Runtime,
    ScalingConfig,
};
use chalice_deployer::aws::{Clients, error_code, parse_policy_document};
use chalice_deployer::project::package::CodePackage;
use support::fixtures::{
    TRUST, create_bucket, create_function, create_queue, create_role, create_stream, create_table,
    create_topic, put_foreign_queue_entry,
};
use support::moto::{ACCOUNT, Moto};

/// A function of `name` (its handler too) created directly, running a stand-in; its ARN.
async fn create_app_function(clients: &Clients, role_arn: &str, name: &str) -> String {
    create_function(clients, name, role_arn, name, b"not really an executable").await
}

#[tokio::test]
async fn iam_role_and_inline_policy() {
    let moto = Moto::start();
    let c = moto.clients().await;

    let err = c
        .iam
        .get_role()
        .role_name("app-dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("NoSuchEntity"));
    assert!(
        err.as_service_error()
            .unwrap()
            .is_no_such_entity_exception()
    );

    let tag = aws_sdk_iam::types::Tag::builder()
        .key("chalice:app")
        .value("app")
        .build()
        .unwrap();
    let created = c
        .iam
        .create_role()
        .role_name("app-dev")
        .assume_role_policy_document(TRUST)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let arn = created.role().unwrap().arn().to_owned();
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:role/app-dev"));

    // Creating it again is a conflict, not a silent success.
    let err = c
        .iam
        .create_role()
        .role_name("app-dev")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("EntityAlreadyExists"));

    let got = c.iam.get_role().role_name("app-dev").send().await.unwrap();
    let role = got.role().unwrap();
    // IAM answers policy documents URL-encoded (moto as AWS): decode before comparing.
    let doc = role.assume_role_policy_document().unwrap();
    assert!(doc.starts_with("%7B"), "{doc}");
    assert_eq!(
        parse_policy_document(doc).unwrap(),
        serde_json::from_str::<serde_json::Value>(TRUST).unwrap()
    );
    assert_eq!(role.tags().len(), 1);

    let err = c
        .iam
        .get_role_policy()
        .role_name("app-dev")
        .policy_name("app-dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("NoSuchEntity"));

    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/app-dev-h:*"]}]}"#;
    c.iam
        .put_role_policy()
        .role_name("app-dev")
        .policy_name("app-dev")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let got = c
        .iam
        .get_role_policy()
        .role_name("app-dev")
        .policy_name("app-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        parse_policy_document(got.policy_document()).unwrap(),
        serde_json::from_str::<serde_json::Value>(policy).unwrap()
    );
    c.iam
        .update_assume_role_policy()
        .role_name("app-dev")
        .policy_document(TRUST)
        .send()
        .await
        .unwrap();

    // A role with an inline policy cannot be deleted: delete the policy first.
    let err = c
        .iam
        .delete_role()
        .role_name("app-dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("DeleteConflict"));
    let names = c
        .iam
        .list_role_policies()
        .role_name("app-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["app-dev"]);
    c.iam
        .delete_role_policy()
        .role_name("app-dev")
        .policy_name("app-dev")
        .send()
        .await
        .unwrap();
    c.iam
        .delete_role()
        .role_name("app-dev")
        .send()
        .await
        .unwrap();
    let err = c
        .iam
        .delete_role()
        .role_name("app-dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("NoSuchEntity"));
}

#[tokio::test]
async fn lambda_function_create_update_delete() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let role = create_role(&c, "app-dev").await;

    let err = c
        .lambda
        .get_function()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));

    let package = CodePackage::from_binary(b"version 1").unwrap();
    // moto checks the role exists, answering what AWS answers while a new role propagates: the
    // deployer's retry on this error can be exercised here by creating the role late.
    let err = c
        .lambda
        .create_function()
        .function_name("app-dev-h")
        .runtime(Runtime::Providedal2023)
        .role(format!("arn:aws:iam::{ACCOUNT}:role/not-yet"))
        .handler("h")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(package.zip.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("InvalidParameterValueException"));
    assert!(
        format!("{err:?}").contains("cannot be assumed by Lambda"),
        "{err:?}"
    );
    let created = c
        .lambda
        .create_function()
        .function_name("app-dev-h")
        .runtime(Runtime::Providedal2023)
        .role(&role)
        .handler("h")
        .architectures(Architecture::Arm64)
        .memory_size(256)
        .timeout(30)
        .environment(
            Environment::builder()
                .variables("CHALICE_HANDLER", "h")
                .build(),
        )
        .tags("chalice:app", "app")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(package.zip.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = created.function_arn().unwrap().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:app-dev-h")
    );
    assert_eq!(created.code_sha256(), Some(package.code_sha256.as_str()));
    assert_eq!(created.state(), Some(&aws_sdk_lambda::types::State::Active));

    let err = c
        .lambda
        .create_function()
        .function_name("app-dev-h")
        .runtime(Runtime::Providedal2023)
        .role(&role)
        .handler("h")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(package.zip.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceConflictException"));

    let got = c
        .lambda
        .get_function()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap();
    let conf = got.configuration().unwrap();
    assert_eq!(conf.memory_size(), Some(256));
    assert_eq!(conf.timeout(), Some(30));
    assert_eq!(conf.handler(), Some("h"));
    assert_eq!(conf.role(), Some(role.as_str()));
    assert_eq!(conf.runtime(), Some(&Runtime::Providedal2023));
    assert_eq!(conf.architectures(), [Architecture::Arm64]);
    let vars = conf.environment().and_then(|e| e.variables()).unwrap();
    assert_eq!(vars.get("CHALICE_HANDLER").map(String::as_str), Some("h"));
    assert_eq!(
        got.tags()
            .and_then(|t| t.get("chalice:app"))
            .map(String::as_str),
        Some("app")
    );
    assert!(got.concurrency().is_none());

    // AWS: a function is `Pending` after create and `InProgress` after each update, and updating it
    // then answers ResourceConflictException: wait in between. moto is `Active`/`Successful` at once.
    c.lambda
        .wait_until_function_active_v2()
        .function_name("app-dev-h")
        .wait(Duration::from_secs(5))
        .await
        .unwrap();
    let updated = c
        .lambda
        .update_function_configuration()
        .function_name("app-dev-h")
        .memory_size(512)
        .environment(
            Environment::builder()
                .set_variables(Some(HashMap::new()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.memory_size(), Some(512));
    c.lambda
        .wait_until_function_updated_v2()
        .function_name("app-dev-h")
        .wait(Duration::from_secs(5))
        .await
        .unwrap();

    let v2 = CodePackage::from_binary(b"version 2").unwrap();
    let updated = c
        .lambda
        .update_function_code()
        .function_name("app-dev-h")
        .zip_file(Blob::new(v2.zip.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.code_sha256(), Some(v2.code_sha256.as_str()));

    // Code from S3 (an artifacts bucket holding the one shared bootstrap zip).
    create_bucket(&c, "app-artifacts").await;
    let v3 = CodePackage::from_binary(b"version 3").unwrap();
    let key = format!("bootstrap/{}.zip", v3.sha256_hex);
    c.s3.put_object()
        .bucket("app-artifacts")
        .key(&key)
        .body(v3.zip.clone().into())
        .send()
        .await
        .unwrap();
    let updated = c
        .lambda
        .update_function_code()
        .function_name("app-dev-h")
        .s3_bucket("app-artifacts")
        .s3_key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.code_sha256(), Some(v3.code_sha256.as_str()));
    let err =
        c.s3.head_object()
            .bucket("app-artifacts")
            .key("bootstrap/missing.zip")
            .send()
            .await
            .unwrap_err();
    assert!(err.as_service_error().unwrap().is_not_found());

    c.lambda
        .put_function_concurrency()
        .function_name("app-dev-h")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    let got = c
        .lambda
        .get_function()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.concurrency()
            .and_then(|x| x.reserved_concurrent_executions()),
        Some(5)
    );
    c.lambda
        .delete_function_concurrency()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap();

    // ListFunctions: paginate (AWS pages at 50; moto never does).
    let mut names = Vec::new();
    let mut pages = c.lambda.list_functions().into_paginator().items().send();
    while let Some(f) = pages.next().await {
        names.push(f.unwrap().function_name().unwrap_or_default().to_owned());
    }
    assert_eq!(names, ["app-dev-h"]);

    c.lambda
        .delete_function()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap();
    let err = c
        .lambda
        .delete_function()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn lambda_permissions_with_source_arn_and_account() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let role = create_role(&c, "app-dev").await;
    create_app_function(&c, &role, "app-dev-h").await;

    let err = c
        .lambda
        .get_policy()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));

    c.lambda
        .add_permission()
        .function_name("app-dev-h")
        .statement_id("app-dev-h-s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::uploads")
        .source_account(ACCOUNT)
        .send()
        .await
        .unwrap();
    let policy = c
        .lambda
        .get_policy()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    let st = &statements[0];
    assert_eq!(st["Sid"], "app-dev-h-s3");
    assert_eq!(st["Principal"]["Service"], "s3.amazonaws.com");
    assert_eq!(st["Action"], "lambda:InvokeFunction");
    assert_eq!(
        st["Condition"]["ArnLike"]["AWS:SourceArn"],
        "arn:aws:s3:::uploads"
    );
    assert_eq!(
        st["Condition"]["StringEquals"]["AWS:SourceAccount"],
        ACCOUNT
    );

    // moto accepts a duplicate statement id (AWS answers 409 ResourceConflictException): read first.
    let dup = c
        .lambda
        .add_permission()
        .function_name("app-dev-h")
        .statement_id("app-dev-h-s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::uploads")
        .send()
        .await;
    assert!(dup.is_ok(), "moto now refuses duplicates: {dup:?}");

    c.lambda
        .remove_permission()
        .function_name("app-dev-h")
        .statement_id("app-dev-h-s3")
        .send()
        .await
        .unwrap();
    let err = c
        .lambda
        .remove_permission()
        .function_name("app-dev-h")
        .statement_id("never-added")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn eventbridge_rule_and_target() {
    use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

    let moto = Moto::start();
    let c = moto.clients().await;

    let err = c
        .eventbridge
        .describe_rule()
        .name("app-dev-h")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));

    let put = c
        .eventbridge
        .put_rule()
        .name("app-dev-h")
        .schedule_expression("rate(5 minutes)")
        .state(RuleState::Enabled)
        .description("app dev h")
        .tags(
            Tag::builder()
                .key("chalice:app")
                .value("app")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let rule_arn = put.rule_arn().unwrap().to_owned();
    assert_eq!(
        rule_arn,
        format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/app-dev-h")
    );
    let got = c
        .eventbridge
        .describe_rule()
        .name("app-dev-h")
        .send()
        .await
        .unwrap();
    assert_eq!(got.schedule_expression(), Some("rate(5 minutes)"));
    assert_eq!(got.state(), Some(&RuleState::Enabled));
    assert_eq!(got.arn(), Some(rule_arn.as_str()));

    // PutRule on an existing name updates it in place (same ARN): the call is an upsert.
    let pattern = r#"{"source":["orders"]}"#;
    let again = c
        .eventbridge
        .put_rule()
        .name("app-dev-h")
        .event_pattern(pattern)
        .send()
        .await
        .unwrap();
    assert_eq!(again.rule_arn(), Some(rule_arn.as_str()));
    let got = c
        .eventbridge
        .describe_rule()
        .name("app-dev-h")
        .send()
        .await
        .unwrap();
    assert_eq!(got.event_pattern(), Some(pattern));
    // PutRule replaces the definition: what is not sent is gone. Always send every field.
    assert_eq!(got.schedule_expression(), None);

    let function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:app-dev-h");
    let targets = c
        .eventbridge
        .put_targets()
        .rule("app-dev-h")
        .targets(
            Target::builder()
                .id("app-dev-h")
                .arn(&function_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(targets.failed_entry_count(), 0);
    let listed = c
        .eventbridge
        .list_targets_by_rule()
        .rule("app-dev-h")
        .send()
        .await
        .unwrap();
    let listed: Vec<(&str, &str)> = listed.targets().iter().map(|t| (t.id(), t.arn())).collect();
    assert_eq!(listed, [("app-dev-h", function_arn.as_str())]);

    // A rule with targets cannot be deleted: remove them first.
    let err = c
        .eventbridge
        .delete_rule()
        .name("app-dev-h")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ValidationException"), "{err:?}");
    c.eventbridge
        .remove_targets()
        .rule("app-dev-h")
        .ids("app-dev-h")
        .send()
        .await
        .unwrap();
    c.eventbridge
        .delete_rule()
        .name("app-dev-h")
        .send()
        .await
        .unwrap();
    // Deleting a rule that is gone succeeds (as on AWS); its targets cannot be listed any more.
    c.eventbridge
        .delete_rule()
        .name("app-dev-h")
        .send()
        .await
        .unwrap();
    let err = c
        .eventbridge
        .list_targets_by_rule()
        .rule("app-dev-h")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn s3_notification_merge_keeps_others_entries() {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
        NotificationConfigurationFilter, S3KeyFilter,
    };

    let moto = Moto::start();
    let c = moto.clients().await;
    create_bucket(&c, "uploads").await;
    let err =
        c.s3.get_bucket_notification_configuration()
            .bucket("missing-bucket")
            .send()
            .await
            .unwrap_err();
    assert_eq!(error_code(&err), Some("NoSuchBucket"));

    // moto quirk: a bucket with no notification configuration answers 200 with a
    // `<GetBucketNotificationResponse/>` root, which the SDK fails to decode (AWS answers an empty
    // `<NotificationConfiguration/>`). Treat "service error with a 2xx status" as empty.
    let empty =
        c.s3.get_bucket_notification_configuration()
            .bucket("uploads")
            .send()
            .await;
    match &empty {
        Ok(out) => panic!("moto fixed its empty notification answer: {out:?}"),
        Err(err) => assert!(is_empty_notification_answer(err), "{err:?}"),
    }

    // Someone else's queue entry, there before us.
    create_queue(&c, "theirs", None).await;
    let theirs = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:theirs");
    put_foreign_queue_entry(&c, "uploads", "someone-else", &theirs, None).await;

    // Read, merge ours in by Id, write the whole configuration back.
    let current =
        c.s3.get_bucket_notification_configuration()
            .bucket("uploads")
            .send()
            .await
            .unwrap();
    let function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:app-dev-h");
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("images/")
                        .build(),
                )
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Suffix)
                        .value(".jpg")
                        .build(),
                )
                .build(),
        )
        .build();
    let ours = LambdaFunctionConfiguration::builder()
        .id("app-dev-h")
        .lambda_function_arn(&function_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .unwrap();
    let mut lambdas = current.lambda_function_configurations().to_vec();
    lambdas.retain(|l| l.id() != Some("app-dev-h"));
    lambdas.push(ours);
    let merged = NotificationConfiguration::builder()
        .set_lambda_function_configurations(Some(lambdas))
        .set_queue_configurations(Some(current.queue_configurations().to_vec()))
        .set_topic_configurations(Some(current.topic_configurations().to_vec()))
        .set_event_bridge_configuration(current.event_bridge_configuration().cloned())
        .build();
    c.s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(merged)
        .skip_destination_validation(true)
        .send()
        .await
        .unwrap();

    let after =
        c.s3.get_bucket_notification_configuration()
            .bucket("uploads")
            .send()
            .await
            .unwrap();
    assert_eq!(after.queue_configurations().len(), 1);
    assert_eq!(after.queue_configurations()[0].id(), Some("someone-else"));
    let l = &after.lambda_function_configurations()[0];
    assert_eq!(l.id(), Some("app-dev-h"));
    assert_eq!(l.lambda_function_arn(), function_arn);
    assert_eq!(l.events(), [Event::from("s3:ObjectCreated:*")]);
    let rules: Vec<(String, Option<&str>)> = l
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.name()
                    .map(|n| n.as_str().to_ascii_lowercase())
                    .unwrap_or_default(),
                r.value(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("prefix".to_owned(), Some("images/")),
            ("suffix".to_owned(), Some(".jpg"))
        ]
    );

    // Putting an empty configuration clears it (and reads back as the quirky empty answer).
    c.s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(NotificationConfiguration::builder().build())
        .send()
        .await
        .unwrap();
    let cleared =
        c.s3.get_bucket_notification_configuration()
            .bucket("uploads")
            .send()
            .await;
    assert!(
        cleared.as_ref().is_err_and(is_empty_notification_answer),
        "{cleared:?}"
    );
}

/// moto's undecodable answer for a bucket with no notification configuration (see above).
fn is_empty_notification_answer<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    matches!(err, aws_sdk_s3::error::SdkError::ServiceError(e) if e.raw().status().is_success())
}

#[tokio::test]
async fn sns_lambda_subscription() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let topic_arn = create_topic(&c, "orders").await;
    let function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:app-dev-h");

    let sub = c
        .sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("lambda")
        .endpoint(&function_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .unwrap();
    let sub_arn = sub.subscription_arn().unwrap().to_owned();
    assert!(sub_arn.starts_with(&format!("{topic_arn}:")), "{sub_arn}");

    // Subscribing again with the same protocol and endpoint returns the same subscription.
    let again = c
        .sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("lambda")
        .endpoint(&function_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .unwrap();
    assert_eq!(again.subscription_arn(), Some(sub_arn.as_str()));

    let mut found = Vec::new();
    let mut pages = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .into_paginator()
        .items()
        .send();
    while let Some(s) = pages.next().await {
        let s = s.unwrap();
        found.push((
            s.protocol().unwrap_or_default().to_owned(),
            s.endpoint().unwrap_or_default().to_owned(),
            s.subscription_arn().unwrap_or_default().to_owned(),
        ));
    }
    assert_eq!(
        found,
        [("lambda".into(), function_arn.clone(), sub_arn.clone())]
    );

    let attrs = c
        .sns
        .get_subscription_attributes()
        .subscription_arn(&sub_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes().and_then(|a| a.get("Endpoint")),
        Some(&function_arn)
    );

    c.sns
        .unsubscribe()
        .subscription_arn(&sub_arn)
        .send()
        .await
        .unwrap();
    let err = c
        .sns
        .get_subscription_attributes()
        .subscription_arn(&sub_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("NotFound"));
    let err = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(format!("arn:aws:sns:us-east-1:{ACCOUNT}:missing"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("NotFound"));
}

#[tokio::test]
async fn event_source_mappings_for_queue_stream_and_table() {
    use aws_sdk_sqs::types::QueueAttributeName;

    let moto = Moto::start();
    let c = moto.clients().await;
    let role = create_role(&c, "app-dev").await;
    let function_arn = create_app_function(&c, &role, "app-dev-h").await;

    // SQS: the queue ARN and visibility timeout (must be >= the function timeout on AWS).
    let queue_url = create_queue(&c, "jobs", None).await;
    let attrs = c
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let queue_arn = attrs[&QueueAttributeName::QueueArn].clone();
    assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "30");
    let err = c
        .sqs
        .get_queue_url()
        .queue_name("missing")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_queue_does_not_exist());
    // The raw code is the query-compatible one: match on the typed error, not on this string.
    assert_eq!(
        error_code(&err),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );

    let created = c
        .lambda
        .create_event_source_mapping()
        .function_name("app-dev-h")
        .event_source_arn(&queue_arn)
        .batch_size(10)
        .maximum_batching_window_in_seconds(5)
        .scaling_config(ScalingConfig::builder().maximum_concurrency(2).build())
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await
        .unwrap();
    let uuid = created.uuid().unwrap().to_owned();
    assert_eq!(created.batch_size(), Some(10));
    assert_eq!(created.event_source_arn(), Some(queue_arn.as_str()));
    assert_eq!(created.function_arn(), Some(function_arn.as_str()));

    // List by function *name*: on moto an ARN finds nothing (AWS accepts both).
    let by_name = c
        .lambda
        .list_event_source_mappings()
        .function_name("app-dev-h")
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.event_source_mappings().len(), 1);
    let by_arn = c
        .lambda
        .list_event_source_mappings()
        .function_name(&function_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.event_source_mappings().len(), 0, "moto learnt ARNs");
    let got = c
        .lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(got.maximum_batching_window_in_seconds(), Some(5));
    assert_eq!(
        got.scaling_config().and_then(|s| s.maximum_concurrency()),
        Some(2)
    );
    assert_eq!(
        got.function_response_types(),
        [FunctionResponseType::ReportBatchItemFailures]
    );

    let updated = c
        .lambda
        .update_event_source_mapping()
        .uuid(&uuid)
        .batch_size(20)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.batch_size(), Some(20));

    // Kinesis: the stream ARN (from DescribeStreamSummary).
    let stream_arn = create_stream(&c, "clicks", 1).await;
    let err = c
        .kinesis
        .describe_stream_summary()
        .stream_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));
    let kinesis = c
        .lambda
        .create_event_source_mapping()
        .function_name("app-dev-h")
        .event_source_arn(&stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(100)
        .send()
        .await
        .unwrap();
    assert_eq!(
        kinesis.starting_position(),
        Some(&EventSourcePosition::TrimHorizon)
    );

    // DynamoDB: the latest stream ARN comes from DescribeTable (it carries a timestamp).
    create_table(&c, "orders", "pk", true).await;
    let table = c
        .dynamodb
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap();
    let stream = table
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    assert!(
        stream.starts_with(&format!(
            "arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders/stream/"
        )),
        "{stream}"
    );
    let err = c
        .dynamodb
        .describe_table()
        .table_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));
    c.lambda
        .create_event_source_mapping()
        .function_name("app-dev-h")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::Latest)
        .send()
        .await
        .unwrap();

    // Paginate listings (AWS pages; NextMarker).
    let mut all = Vec::new();
    let mut pages = c
        .lambda
        .list_event_source_mappings()
        .function_name("app-dev-h")
        .into_paginator()
        .items()
        .send();
    while let Some(m) = pages.next().await {
        all.push(m.unwrap().uuid().unwrap_or_default().to_owned());
    }
    assert_eq!(all.len(), 3);

    c.lambda
        .delete_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    let err = c
        .lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some("ResourceNotFoundException"));
    // moto answers 200 to deleting an unknown UUID (AWS: 404 ResourceNotFoundException).
    let gone = c
        .lambda
        .delete_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await;
    assert!(gone.is_ok(), "moto now answers 404: {gone:?}");
}
