//! End-to-end tests of the real `bootstrap` binary: each runs it as Lambda would, against the
//! deployer's local Runtime API, sends AWS's sample events (`tests/fixtures/`) and checks which
//! handler ran (its log line, tagged with the invocation's request id) and what came back.

use std::time::Duration;

use chalice_lambda::process::{BootstrapCommand, LocalFunction, LocalInvokeError, LogLine};
use chalice_lambda::runtime_api::{FunctionConfig, Invocation, Outcome, Payload};
use serde_json::{Value, json};

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_bootstrap");

/// Generous: the machine is shared and the binary is a debug build.
const WAIT: Duration = Duration::from_secs(30);

/// Every handler `events.chalice` declares, in declaration order.
const HANDLERS: [&str; 8] = [
    "every_hour",
    "nightly",
    "code_commit",
    "on_upload",
    "on_notice",
    "on_order",
    "on_click",
    "on_audit",
];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn command(handler: Option<&str>) -> BootstrapCommand {
    let command = BootstrapCommand::new(BOOTSTRAP)
        // JSON logs carry the invocation's request id, so a line can be tied to its invocation.
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("RUST_LOG", "info");
    match handler {
        Some(handler) => command.handler(handler),
        None => command,
    }
}

fn config(handler: &str) -> FunctionConfig {
    let mut config = FunctionConfig::new(format!("orders-dev-{handler}"));
    config.memory_mb = 256;
    config.timeout = WAIT;
    config
}

async fn start(handler: &str) -> LocalFunction {
    LocalFunction::start(&command(Some(handler)), config(handler))
        .await
        .unwrap()
}

/// A JSON log record the handler wrote.
#[derive(Debug)]
struct Record(Value);

impl Record {
    fn message(&self) -> &str {
        self.field("message").unwrap_or("")
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.0["fields"][name].as_str()
    }

    /// The request id of the invocation span the line was written in.
    fn request_id(&self) -> Option<&str> {
        self.0["span"]["requestId"].as_str()
    }
}

fn parse_record(line: &LogLine) -> Option<Record> {
    serde_json::from_str(&line.text).ok().map(Record)
}

/// Invokes the function and waits for the log line `message` written during that invocation.
async fn invoke_logging(
    function: &mut LocalFunction,
    payload: impl Into<Payload>,
    message: &str,
) -> (Outcome, Record) {
    let mark = function.logs().mark();
    let Invocation {
        request_id,
        outcome,
        ..
    } = function.invocation(payload, WAIT).await.unwrap();
    let line = function
        .logs()
        .wait_for(mark, WAIT, |line| {
            parse_record(line).is_some_and(|r| {
                r.request_id() == Some(request_id.as_str()) && r.message() == message
            })
        })
        .await;
    let Some(line) = line else {
        panic!(
            "no log line {message:?} for request {request_id}; outcome {outcome:?}; logs:\n{}",
            function.logs().text()
        );
    };
    (outcome, parse_record(&line).unwrap())
}

fn failed_ids(outcome: &Outcome) -> Vec<String> {
    let response = outcome
        .response_json()
        .unwrap_or_else(|| panic!("expected a JSON response, got {outcome:?}"));
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_null_response(outcome: &Outcome) {
    assert_eq!(outcome.response_json(), Some(Value::Null), "{outcome:?}");
}

// ---- schedule -------------------------------------------------------------------------------

#[tokio::test]
async fn schedule_every_hour_ticks() {
    let mut function = start("every_hour").await;
    let event = fixture("example-eventbridge-schedule.json");
    let (outcome, record) = invoke_logging(&mut function, &event, "hourly tick").await;
    assert_null_response(&outcome);
    assert_eq!(record.field("function"), Some("orders-dev-every_hour"));
    assert_eq!(record.0["fields"]["orders_accepted"], json!(0));
}

#[tokio::test]
async fn schedule_nightly_builds_its_report() {
    let mut function = start("nightly").await;
    let event = fixture("example-eventbridge-schedule.json");
    let (outcome, record) =
        invoke_logging(&mut function, &event, "building the nightly report").await;
    assert_null_response(&outcome);
    let rules = record.field("rules").unwrap();
    assert!(rules.contains("rule/my-scheduled-rule"), "{rules}");
    let remaining = record.0["fields"]["remaining_ms"].as_u64().unwrap();
    assert!(
        remaining > 0 && remaining <= WAIT.as_millis() as u64,
        "{remaining}"
    );
}

// ---- rule -----------------------------------------------------------------------------------

#[tokio::test]
async fn rule_reads_a_codecommit_event_and_tolerates_other_details() {
    let mut function = start("code_commit").await;

    // AWS's sample is an EC2 state change: not what the rule matches, logged and accepted.
    let event = fixture("example-eventbridge-event-obj.json");
    let (outcome, record) = invoke_logging(&mut function, &event, "unexpected event detail").await;
    assert_null_response(&outcome);
    assert_eq!(
        record.field("detail_type"),
        Some("EC2 Instance State-change Notification")
    );

    // The same envelope carrying a CodeCommit reference change.
    let mut event = fixture("example-eventbridge-event-obj.json");
    event["source"] = json!("aws.codecommit");
    event["detail-type"] = json!("CodeCommit Repository State Change");
    event["detail"] = json!({
        "event": "referenceUpdated",
        "repositoryName": "orders-service",
        "referenceName": "main",
        "referenceType": "branch"
    });
    let (outcome, record) = invoke_logging(&mut function, &event, "repository changed").await;
    assert_null_response(&outcome);
    assert_eq!(record.field("repository"), Some("orders-service"));
    assert_eq!(record.field("reference"), Some("main"));
    assert_eq!(record.field("event"), Some("referenceUpdated"));
}

// ---- bucket ---------------------------------------------------------------------------------

#[tokio::test]
async fn bucket_handler_gets_the_url_decoded_key() {
    let mut function = start("on_upload").await;
    let mut event = fixture("example-s3-event.json");
    event["Records"][0]["s3"]["object"]["key"] = json!("images/Happy%20Face.png");
    let (outcome, record) = invoke_logging(&mut function, &event, "image uploaded").await;
    assert_null_response(&outcome);
    assert_eq!(record.field("bucket"), Some("sourcebucket"));
    assert_eq!(record.field("key"), Some("images/Happy Face.png"));
    assert_eq!(record.field("event"), Some("ObjectCreated:Put"));
    assert_eq!(record.0["fields"]["size"], json!(1024));
}

#[tokio::test]
async fn a_handler_error_goes_to_the_error_endpoint_and_the_next_invocation_succeeds() {
    let mut function = start("on_upload").await;
    // AWS's sample key is outside `images/`, which the handler refuses.
    let event = fixture("example-s3-event.json");
    let outcome = function.invoke(&event).await.unwrap();
    let error = outcome
        .error()
        .unwrap_or_else(|| panic!("expected an error, got {outcome:?}"));
    assert!(
        error
            .error_message
            .contains("unexpected key `Happy Face.jpg` in bucket `sourcebucket`"),
        "{error:?}"
    );
    assert_eq!(error.error_type, "HandlerError");

    let mut event = fixture("example-s3-event.json");
    event["Records"][0]["s3"]["object"]["key"] = json!("images/ok.png");
    let (outcome, _) = invoke_logging(&mut function, &event, "image uploaded").await;
    assert_null_response(&outcome);
}

// ---- topic ----------------------------------------------------------------------------------

#[tokio::test]
async fn topic_handler_gets_subject_and_message() {
    let mut function = start("on_notice").await;
    let event = fixture("example-sns-event.json");
    let (outcome, record) = invoke_logging(&mut function, &event, "notice received").await;
    assert_null_response(&outcome);
    assert_eq!(record.field("subject"), Some("Greetings"));
    assert_eq!(record.field("text"), Some("Hello\r\nworld!"));
}

// ---- queue ----------------------------------------------------------------------------------

#[tokio::test]
async fn queue_handler_reports_partial_batch_failures() {
    let mut function = start("on_order").await;

    // AWS's sample body ("Message Body") is not an order: that message is retried.
    let event = fixture("example-sqs-event.json");
    let (outcome, record) = invoke_logging(&mut function, &event, "batch done").await;
    assert_eq!(failed_ids(&outcome), ["MessageID_1"]);
    assert_eq!(record.0["fields"]["received"], json!(1));
    assert_eq!(record.0["fields"]["failed"], json!(1));
    assert_eq!(record.field("handler"), Some("on_order"));

    // Add a real order: only the bad message comes back.
    let mut event = fixture("example-sqs-event.json");
    let mut order = event["Records"][0].clone();
    order["messageId"] = json!("MessageID_2");
    order["body"] = json!(
        json!({ "id": "o-42", "items": [{ "sku": "tea", "quantity": 3, "price_cents": 250 }] })
            .to_string()
    );
    event["Records"].as_array_mut().unwrap().push(order);
    let (outcome, record) = invoke_logging(&mut function, &event, "order accepted").await;
    assert_eq!(failed_ids(&outcome), ["MessageID_1"]);
    assert_eq!(record.field("order"), Some("o-42"));
    assert_eq!(record.0["fields"]["total_cents"], json!(750));

    // An all-good batch reports no failure.
    event["Records"].as_array_mut().unwrap().remove(0);
    let (outcome, _) = invoke_logging(&mut function, &event, "batch done").await;
    assert_eq!(failed_ids(&outcome), Vec::<String>::new());
}

#[tokio::test]
async fn a_malformed_event_goes_to_the_error_endpoint_and_the_next_invocation_succeeds() {
    let mut function = start("on_order").await;
    for malformed in [
        json!({ "Records": 42 }),
        json!("not an event"),
        json!([1, 2]),
    ] {
        let outcome = function.invoke(&malformed).await.unwrap();
        let error = outcome
            .error()
            .unwrap_or_else(|| panic!("{malformed} should fail, got {outcome:?}"));
        assert!(
            error.error_message.contains("deserialize"),
            "{malformed}: {error:?}"
        );
        // A stable name, not the Rust type name of lambda_runtime's private error.
        assert_eq!(error.error_type, "EventError", "{malformed}: {error:?}");
        assert!(
            error.error_message.contains("`SqsEvent`"),
            "{malformed}: {error:?}"
        );
    }
    let error = function
        .invoke(&json!({ "Records": 42 }))
        .await
        .unwrap()
        .error()
        .cloned()
        .expect("an error");
    assert!(error.error_message.contains("at `Records`"), "{error:?}");
    let outcome = function.invoke(b"{not json".as_slice()).await.unwrap();
    assert!(outcome.error().is_some(), "{outcome:?}");

    let (outcome, _) = invoke_logging(
        &mut function,
        &fixture("example-sqs-event.json"),
        "batch done",
    )
    .await;
    assert_eq!(failed_ids(&outcome), ["MessageID_1"]);
    assert!(
        function.process().try_wait().unwrap().is_none(),
        "still serving"
    );
}

#[tokio::test]
async fn every_handler_survives_a_malformed_event() {
    for handler in HANDLERS {
        let mut function = start(handler).await;
        let outcome = function.invoke(json!("not an event")).await.unwrap();
        assert!(outcome.error().is_some(), "{handler}: {outcome:?}");
        let outcome = function.invoke(json!({ "unrelated": true })).await.unwrap();
        // Whatever a stray object yields, the process answers and keeps serving.
        assert!(
            matches!(outcome, Outcome::Response(_) | Outcome::Error(_)),
            "{handler}"
        );
        assert!(
            function.process().try_wait().unwrap().is_none(),
            "{handler} exited:\n{}",
            function.logs().text()
        );
    }
}

// ---- stream ---------------------------------------------------------------------------------

#[tokio::test]
async fn stream_handler_decodes_data_and_reports_unreadable_records() {
    let mut function = start("on_click").await;

    // AWS's sample data is base64 "Hello World": not a click, so both records are retried.
    let event = fixture("example-kinesis-event.json");
    let outcome = function.invoke(&event).await.unwrap();
    assert_eq!(
        failed_ids(&outcome),
        [
            "49568167373333333333333333333333333333333333333333333333",
            "49568167373333333334444444444444444444444444444444444444"
        ]
    );

    // A readable click in the first record: only the second is retried.
    let mut event = fixture("example-kinesis-event.json");
    // base64 of {"page":"/checkout","user":"ann"}
    event["Records"][0]["kinesis"]["data"] = json!("eyJwYWdlIjoiL2NoZWNrb3V0IiwidXNlciI6ImFubiJ9");
    let (outcome, record) = invoke_logging(&mut function, &event, "click").await;
    assert_eq!(
        failed_ids(&outcome),
        ["49568167373333333334444444444444444444444444444444444444"]
    );
    assert_eq!(record.field("page"), Some("/checkout"));
    assert_eq!(record.field("user"), Some("ann"));
    assert_eq!(record.field("partition_key"), Some("s1"));
}

// ---- table ----------------------------------------------------------------------------------

#[tokio::test]
async fn table_handler_reads_images_and_reports_rows_it_cannot_read() {
    let mut function = start("on_audit").await;

    // AWS's sample rows have no `Id` attribute: not order rows, so they are retried.
    let event = fixture("example-dynamodb-event.json");
    let outcome = function.invoke(&event).await.unwrap();
    let failed = failed_ids(&outcome);
    assert!(!failed.is_empty(), "{outcome:?}");
    assert!(
        failed.iter().all(|id| id == "1405400000000002063282832"),
        "{failed:?}"
    );

    // The first record turned into a status change of an order row.
    let mut event = fixture("example-dynamodb-event.json");
    let records = event["Records"].as_array_mut().unwrap();
    records.truncate(1);
    let change = &mut records[0];
    change["eventName"] = json!("MODIFY");
    change["dynamodb"]["Keys"] = json!({ "Id": { "S": "o-42" } });
    change["dynamodb"]["OldImage"] = json!({ "Id": { "S": "o-42" }, "Status": { "S": "placed" } });
    change["dynamodb"]["NewImage"] = json!({ "Id": { "S": "o-42" }, "Status": { "S": "shipped" } });
    let (outcome, record) = invoke_logging(&mut function, &event, "order row changed").await;
    assert_eq!(failed_ids(&outcome), Vec::<String>::new());
    assert_eq!(record.field("change"), Some("MODIFY"));
    assert_eq!(record.field("order"), Some("o-42"));
    assert_eq!(record.field("from"), Some("placed"));
    assert_eq!(record.field("to"), Some("shipped"));
}

// ---- handler selection ----------------------------------------------------------------------

/// Starts the bootstrap with `handler`, expects it to exit non-zero without polling, and
/// returns what it wrote.
async fn refused_start(handler: Option<&str>) -> String {
    let mut function = LocalFunction::start(&command(handler), config("refused"))
        .await
        .unwrap();
    let status = function.process().wait(WAIT).await.unwrap();
    assert!(!status.success(), "{handler:?} must not start: {status}");
    assert!(function.logs().wait_closed(WAIT).await);
    assert_eq!(function.api().polls(), 0, "it must refuse before polling");
    let text = function.logs().text();
    for known in HANDLERS {
        assert!(text.contains(known), "{known} missing from:\n{text}");
    }
    text
}

#[tokio::test]
async fn an_unknown_handler_exits_non_zero_listing_the_known_ones() {
    let text = refused_start(Some("on_ordr")).await;
    assert!(text.contains("unknown handler `on_ordr`"), "{text}");
    assert!(text.contains("did you mean `on_order`"), "{text}");
}

#[tokio::test]
async fn a_missing_handler_exits_non_zero_listing_the_known_ones() {
    let text = refused_start(None).await;
    assert!(text.contains("_HANDLER is not set"), "{text}");
}

#[tokio::test]
async fn invoking_a_refused_bootstrap_fails_fast() {
    let mut function = LocalFunction::start(&command(Some("nope")), config("refused"))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = function.invoke(json!({})).await;
    assert!(
        matches!(outcome, Err(LocalInvokeError::Exited(status)) if !status.success()),
        "{outcome:?}"
    );
    assert!(started.elapsed() < WAIT, "must not wait for the timeout");
}
