//! The AWS plumbing against a private moto server: clients, account resolution, call counting.
//! Needs moto: `scripts/moto.sh` installs it (the tests fail, never skip, without it).

mod support;

use chalice_deployer::aws::{self, CallKind};
use support::fixtures::{create_bucket, create_queue};
use support::moto::{self, Moto};

#[tokio::test]
async fn clients_reach_moto_and_calls_are_counted() {
    let moto = Moto::start();
    let clients = moto.clients().await;

    let url = create_queue(&clients, "smoke-queue", None).await;
    let found = clients
        .sqs
        .get_queue_url()
        .queue_name("smoke-queue")
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(url.as_str()));
    let attrs = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned();
    assert_eq!(
        arn.as_deref(),
        Some("arn:aws:sqs:us-east-1:123456789012:smoke-queue")
    );

    // S3 on 127.0.0.1 only works path-style: this proves the client was configured so.
    create_bucket(&clients, "smoke-bucket").await;
    clients
        .s3
        .head_bucket()
        .bucket("smoke-bucket")
        .send()
        .await
        .unwrap();

    let ctx = aws::resolve_context(&clients).await.unwrap();
    assert_eq!(ctx.account, moto::ACCOUNT);
    assert_eq!(ctx.region, moto::REGION);
    assert_eq!(ctx.partition, "aws");

    let calls = clients.calls();
    assert_eq!(calls.write_names(), ["SQS.CreateQueue", "S3.CreateBucket"]);
    assert_eq!(calls.reads(), 4, "{:?}", calls.by_operation());
    let all = calls.calls();
    let ops: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(
        ops,
        [
            "SQS.CreateQueue",
            "SQS.GetQueueUrl",
            "SQS.GetQueueAttributes",
            "S3.CreateBucket",
            "S3.HeadBucket",
            "STS.GetCallerIdentity",
        ]
    );
    for call in &all {
        assert_eq!(call.succeeded, Some(true), "{call}");
        assert_eq!(call.attempts, 1, "{call}");
    }

    // A clone of the clients shares the counter; reset starts a fresh count.
    let again = clients.clone();
    calls.reset();
    again.sqs.list_queues().send().await.unwrap();
    assert_eq!((calls.reads(), calls.writes()), (1, 0));
}

#[tokio::test]
async fn not_found_errors_have_codes_and_failed_calls_are_counted() {
    let moto = Moto::start();
    let clients = moto.clients().await;

    let err = clients
        .lambda
        .get_function()
        .function_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws::error_code(&err), Some("ResourceNotFoundException"));
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())
    );

    let err = clients
        .iam
        .get_role()
        .role_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws::error_code(&err), Some("NoSuchEntity"));

    let calls = clients.calls().calls();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.kind == CallKind::Read));
    assert!(calls.iter().all(|c| c.succeeded == Some(false)));
    // A 404 is not retried.
    assert!(calls.iter().all(|c| c.attempts == 1), "{calls:?}");
}

#[tokio::test]
async fn servers_are_private_to_each_test() {
    let (a, b) = (Moto::start(), Moto::start());
    assert_ne!(a.port(), b.port());
    let (ca, cb) = (a.clients().await, b.clients().await);
    create_queue(&ca, "only-in-a", None).await;
    let in_b = cb.sqs.list_queues().send().await.unwrap();
    assert!(in_b.queue_urls().is_empty(), "{:?}", in_b.queue_urls());
    let port = a.port();
    drop(a);
    // The server is gone once dropped.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert!(std::net::TcpStream::connect(addr).is_err());
}
