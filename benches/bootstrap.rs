//! Benchmarks of the real `bootstrap` run through the deployer's local Runtime API:
//! - `dispatch/sqs_small`: one warm invocation end to end (queue it, `/next`, deserialise, handler,
//!   serialise, `/response`) with AWS's one-message SQS sample carrying a valid order;
//! - `cold_start/spawn_to_first_poll`: from spawning the process to its first `/next` request.
//!
//! `cargo bench --bench bootstrap` (the binary is built with the bench profile, i.e. release).

use std::time::Duration;

use chalice_lambda::process::{BootstrapCommand, LocalFunction};
use chalice_lambda::runtime_api::{FunctionConfig, Outcome, RuntimeApi};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_bootstrap");
const WAIT: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn command(handler: &str) -> BootstrapCommand {
    BootstrapCommand::new(BOOTSTRAP)
        .handler(handler)
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("RUST_LOG", "info")
}

fn config(handler: &str) -> FunctionConfig {
    let mut config = FunctionConfig::new(format!("orders-bench-{handler}"));
    config.memory_mb = 256;
    config.timeout = WAIT;
    config
}

/// AWS's SQS sample with its body replaced by a one-item order.
fn small_sqs_event() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/example-sqs-event.json"
    );
    let text = std::fs::read_to_string(path).expect("SQS fixture");
    let mut event: Value = serde_json::from_str(&text).expect("SQS fixture is JSON");
    event["Records"][0]["body"] = json!(
        json!({ "id": "o-1", "items": [{ "sku": "tea", "quantity": 1, "price_cents": 250 }] })
            .to_string()
    );
    event
}

fn dispatch(c: &mut Criterion) {
    let rt = runtime();
    let mut function = rt
        .block_on(LocalFunction::start(
            &command("on_order"),
            config("on_order"),
        ))
        .expect("start the bootstrap");
    let payload = serde_json::to_vec(&small_sqs_event()).expect("serialise the event");
    // Warm up once and check the answer, so the bench measures the path it claims to.
    let first = rt
        .block_on(function.invoke(payload.as_slice()))
        .expect("first invocation");
    assert_eq!(
        first.response_json(),
        Some(json!({ "batchItemFailures": [] })),
        "{first:?}"
    );

    c.bench_function("dispatch/sqs_small", |b| {
        b.iter(|| {
            let outcome = rt.block_on(function.invoke(payload.as_slice()));
            assert!(matches!(outcome, Ok(Outcome::Response(_))), "{outcome:?}");
        });
    });
}

fn cold_start(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("spawn_to_first_poll", |b| {
        b.iter_custom(|iterations| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let api = RuntimeApi::start(config("on_order"))
                        .await
                        .expect("start the API");
                    let mut process = command("on_order").spawn(&api).expect("spawn");
                    let polled = api.wait_for_polls(1, WAIT).await;
                    let elapsed = process.spawned_at().elapsed();
                    assert!(
                        polled,
                        "no /next within {WAIT:?}:\n{}",
                        process.logs().text()
                    );
                    total += elapsed;
                    process.kill().await.expect("kill the bootstrap");
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, dispatch, cold_start);
criterion_main!(benches);
