//! `deployer sample` and `deployer invoke`, run as a user would, against the example app
//! (`events.chalice` at the workspace root) and its real `bootstrap`.
//!
//! The bootstrap: `support::bootstrap` (`CHALICE_BOOTSTRAP`, or built once).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::bootstrap::{bootstrap, workspace};
use support::deployer::{self, Run, run_assert as run, without_aws};
#[cfg(unix)]
use support::project::Project;

/// Every handler the example app declares, with its kind.
const HANDLERS: [(&str, &str); 8] = [
    ("every_hour", "schedule"),
    ("nightly", "schedule"),
    ("code_commit", "rule"),
    ("on_upload", "bucket"),
    ("on_notice", "topic"),
    ("on_order", "queue"),
    ("on_click", "stream"),
    ("on_audit", "table"),
];

const KINDS: [&str; 7] = [
    "schedule", "rule", "bucket", "topic", "queue", "stream", "table",
];

fn root() -> PathBuf {
    workspace().to_path_buf()
}

/// `deployer` in `dir`, with a known region and no profile files.
fn deployer_in(dir: &Path) -> assert_cmd::Command {
    let mut cmd = deployer::command(dir, &[]);
    without_aws(&mut cmd).env("AWS_REGION", "us-east-1");
    let mut cmd = deployer::assert_cmd(cmd);
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// `deployer` at the workspace root (the example app).
fn deployer() -> assert_cmd::Command {
    deployer_in(&root())
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn sample(args: &[&str]) -> Value {
    let run = run(deployer().arg("sample").args(args));
    assert_eq!(run.code, Some(0), "sample {args:?}: {}", run.stderr);
    assert_eq!(run.stderr, "", "sample {args:?}");
    run.json()
}

/// Every member of `sent` survives a round trip through `T`: the type knows every field by the
/// name the sample uses (aws_lambda_events silently drops fields it does not know).
fn assert_exact_shape<T: DeserializeOwned + Serialize>(what: &str, sent: &Value) -> T {
    let typed: T = serde_json::from_value(sent.clone())
        .unwrap_or_else(|e| panic!("{what}: does not deserialise: {e}\n{sent:#}"));
    let back = serde_json::to_value(&typed).unwrap();
    fn walk(path: &str, sent: &Value, back: &Value, missing: &mut Vec<String>) {
        match (sent, back) {
            (Value::Object(s), Value::Object(b)) => {
                for (key, value) in s {
                    match b.get(key) {
                        Some(v) => walk(&format!("{path}.{key}"), value, v, missing),
                        None => missing.push(format!("{path}.{key}")),
                    }
                }
            }
            (Value::Array(s), Value::Array(b)) => {
                for (i, (s, b)) in s.iter().zip(b).enumerate() {
                    walk(&format!("{path}[{i}]"), s, b, missing);
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk("", sent, &back, &mut missing);
    assert!(
        missing.is_empty(),
        "{what}: fields the type does not know: {missing:?}"
    );
    typed
}

/// Checks a sample of `kind` against the type its handler receives.
fn check_kind(kind: &str, event: &Value) {
    use aws_lambda_events::event::{dynamodb, eventbridge, kinesis, s3, sns, sqs};
    match kind {
        "schedule" | "rule" => {
            let e: eventbridge::EventBridgeEvent<Value> = assert_exact_shape(kind, event);
            assert_eq!(e.account.as_deref(), Some("123456789012"));
            assert!(e.time.is_some());
            if kind == "schedule" {
                assert_eq!(
                    (e.source.as_str(), e.detail_type.as_str()),
                    ("aws.events", "Scheduled Event")
                );
                assert_eq!(e.detail, json!({}));
                assert_eq!(e.resources.as_ref().map(Vec::len), Some(1));
            }
        }
        "bucket" => {
            let e: s3::S3Event = assert_exact_shape(kind, event);
            let r = &e.records[0];
            assert_eq!(r.event_source.as_deref(), Some("aws:s3"));
            assert!(
                r.event_name
                    .as_deref()
                    .unwrap()
                    .starts_with("ObjectCreated:")
            );
            assert!(r.s3.bucket.name.is_some() && r.s3.object.key.is_some());
        }
        "topic" => {
            let e: sns::SnsEvent = assert_exact_shape(kind, event);
            let r = &e.records[0];
            assert_eq!(r.event_source, "aws:sns");
            assert!(r.event_subscription_arn.starts_with(&r.sns.topic_arn));
        }
        "queue" => {
            let e: sqs::SqsEvent = assert_exact_shape(kind, event);
            let m = &e.records[0];
            assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
            assert_eq!(m.body.as_deref(), Some("Test message."));
            // md5("Test message."), as SQS computes it
            assert_eq!(
                m.md5_of_body.as_deref(),
                Some("e4e68fb7bd0e697a0ae8f1bb342846b3")
            );
        }
        "stream" => {
            let e: kinesis::KinesisEvent = assert_exact_shape(kind, event);
            let r = &e.records[0];
            assert_eq!(r.event_source.as_deref(), Some("aws:kinesis"));
            assert_eq!(&r.kinesis.data.0[..], b"Hello, this is a test.");
        }
        "table" => {
            let e: dynamodb::Event = assert_exact_shape(kind, event);
            let names: Vec<&str> = e.records.iter().map(|r| r.event_name.as_str()).collect();
            assert_eq!(names, ["INSERT", "MODIFY"]);
            assert!(!e.records[0].change.keys.inner().is_empty());
            assert!(!e.records[1].change.old_image.inner().is_empty());
        }
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn a_sample_of_every_kind_has_lambdas_exact_shape() {
    for kind in KINDS {
        let event = sample(&[kind]);
        check_kind(kind, &event);
    }
}

#[test]
fn samples_for_handlers_are_filled_in_from_their_bindings() {
    let region = |args: &[&str]| {
        let run = run(deployer()
            .env("AWS_REGION", "eu-west-3")
            .arg("sample")
            .args(args));
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.json()
    };
    for (handler, kind) in HANDLERS {
        let event = region(&["--handler", handler]);
        check_kind(kind, &event);
        // Naming the kind too is fine when it is the handler's.
        check_kind(kind, &region(&[kind, "--handler", handler]));
    }
    let record = |handler: &str| region(&["--handler", handler])["Records"][0].clone();

    let upload = record("on_upload");
    assert_eq!(upload["s3"]["bucket"]["name"], "mybucket-name");
    assert_eq!(upload["s3"]["bucket"]["arn"], "arn:aws:s3:::mybucket-name");
    assert_eq!(
        upload["s3"]["object"]["key"], "images/example.png",
        "under the prefix, with the suffix"
    );
    assert_eq!(upload["awsRegion"], "eu-west-3");

    assert_eq!(
        record("on_order")["eventSourceARN"],
        "arn:aws:sqs:eu-west-3:123456789012:my-queue"
    );
    let notice = record("on_notice");
    assert_eq!(
        notice["Sns"]["TopicArn"],
        "arn:aws:sns:eu-west-3:123456789012:my-demo-topic"
    );
    let click = record("on_click");
    assert_eq!(
        click["eventSourceARN"],
        "arn:aws:kinesis:eu-west-3:123456789012:stream/mystream"
    );
    assert_eq!(
        click["invokeIdentityArn"],
        "arn:aws:iam::123456789012:role/chalice/orders/dev/orders-dev-on_click",
        "the function's own role"
    );
    let audit = record("on_audit");
    let stream = audit["eventSourceARN"].as_str().unwrap();
    assert!(
        stream.starts_with("arn:aws:dynamodb:eu-west-3:123456789012:table/orders/stream/"),
        "{stream}"
    );

    let commit = region(&["--handler", "code_commit"]);
    assert_eq!(
        commit["source"], "aws.codecommit",
        "from the rule's pattern"
    );
    assert_eq!(commit["detail-type"], "CodeCommit Repository State Change");
    assert!(commit["detail"]["repositoryName"].is_string());

    for (stage, schedule) in [("dev", "nightly"), ("prod", "every_hour")] {
        let event = region(&["--handler", schedule, "--stage", stage]);
        assert_eq!(
            event["resources"],
            json!([format!(
                "arn:aws:events:eu-west-3:123456789012:rule/orders-{stage}-{schedule}"
            )])
        );
        assert_eq!(event["region"], "eu-west-3");
    }
}

#[test]
fn without_a_configured_region_samples_use_us_east_1() {
    let out = run(deployer()
        .env_remove("AWS_REGION")
        .args(["sample", "queue"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.json()["Records"][0]["eventSourceARN"],
        "arn:aws:sqs:us-east-1:123456789012:my-queue"
    );
    let out = run(deployer()
        .env_remove("AWS_REGION")
        .env("AWS_DEFAULT_REGION", "ap-south-1")
        .args(["sample", "topic"]));
    assert_eq!(
        out.json()["Records"][0]["Sns"]["TopicArn"],
        "arn:aws:sns:ap-south-1:123456789012:my-topic"
    );
}

#[test]
fn sample_usage_errors_exit_2() {
    let unknown_kind = run(deployer().args(["sample", "bukket"]));
    assert_eq!(unknown_kind.code, Some(2));
    assert!(
        unknown_kind
            .stderr
            .contains("possible values: schedule, rule, bucket"),
        "{}",
        unknown_kind.stderr
    );

    let nothing = run(deployer().arg("sample"));
    assert_eq!(nothing.code, Some(2), "{}", nothing.stderr);

    let typo = run(deployer().args(["sample", "--handler", "on_uplod"]));
    assert_eq!(typo.code, Some(2));
    assert_eq!(
        typo.stderr,
        "error: unknown handler `on_uplod` (did you mean `on_upload`?); the app's handlers are: \
         every_hour, nightly, code_commit, on_upload, on_notice, on_order, on_click, on_audit\n"
    );
    assert_eq!(typo.stdout, "");

    let mismatch = run(deployer().args(["sample", "bucket", "--handler", "on_order"]));
    assert_eq!(mismatch.code, Some(2));
    assert_eq!(
        mismatch.stderr,
        "error: handler `on_order` is a queue handler, not a bucket one\n"
    );

    let stage = run(deployer().args(["sample", "--handler", "on_order", "--stage", "prd"]));
    assert_eq!(stage.code, Some(1));
    assert!(
        stage
            .stderr
            .contains("unknown stage `prd` (did you mean `prod`?)"),
        "{}",
        stage.stderr
    );
}

/// `deployer invoke HANDLER ARGS... --bootstrap <the example app's>`.
fn invoke(handler: &str, args: &[&str]) -> Run {
    run(deployer()
        .args(["invoke", handler])
        .args(args)
        .arg("--bootstrap")
        .arg(bootstrap()))
}

/// The log line each handler writes on its sample event (the example app's `samples/<handler>.json`
/// payload for on_order, on_click, on_audit and on_notice).
fn expected_log(handler: &str) -> &'static str {
    match handler {
        "every_hour" => "hourly tick",
        "nightly" => "building the nightly report",
        "code_commit" => "repository changed",
        "on_upload" => "image uploaded",
        "on_notice" => "notice received",
        "on_order" => r#""order":"o-1001""#,
        "on_click" => r#""page":"/checkout""#,
        "on_audit" => "order row changed",
        other => panic!("unknown handler {other}"),
    }
}

#[test]
fn invoke_with_the_sample_runs_every_handler() {
    for (handler, kind) in HANDLERS {
        let out = invoke(handler, &["--sample"]);
        assert_eq!(out.code, Some(0), "{handler}: {}", out.stderr);
        let response = out.json();
        match kind {
            // Batch handlers answer with their partial failures: none, the app's samples are
            // what they read.
            "queue" | "stream" | "table" => {
                assert_eq!(
                    response["batchItemFailures"],
                    serde_json::json!([]),
                    "{handler}: {response}"
                )
            }
            _ => assert_eq!(response, Value::Null, "{handler}"),
        }
        assert!(
            out.stderr.contains(expected_log(handler)),
            "{handler}: {}",
            out.stderr
        );
        let report = out
            .stderr
            .lines()
            .find(|l| l.starts_with("REPORT RequestId: "))
            .unwrap_or_else(|| panic!("{handler}: no REPORT line in\n{}", out.stderr));
        assert!(report.contains("\tMemory Size: 256 MB"), "{report}");
        assert!(
            report.contains("\tInit Duration: ") && report.contains("\tDuration: "),
            "{report}"
        );
        // The handler's logs (JSON: the example sets `log_level`) name the function the plan gave it.
        if handler == "every_hour" {
            assert!(
                out.stderr
                    .contains("\"function\":\"orders-dev-every_hour\""),
                "{}",
                out.stderr
            );
        }
    }
}

#[test]
fn invoke_with_an_event_file_of_every_kind() {
    let cases = [
        (
            "every_hour",
            "example-eventbridge-schedule.json",
            "hourly tick",
        ),
        (
            "code_commit",
            "example-eventbridge-event-obj.json",
            "unexpected event detail",
        ),
        ("on_notice", "example-sns-event.json", "notice received"),
        (
            "on_order",
            "example-sqs-event.json",
            "not an order; will retry",
        ),
        ("on_click", "example-kinesis-event.json", "unreadable click"),
        ("on_audit", "example-dynamodb-event.json", "order row"),
    ];
    for (handler, file, log) in cases {
        let path = fixture(file);
        let out = invoke(handler, &["--event", path.to_str().unwrap()]);
        assert_eq!(out.code, Some(0), "{handler} {file}: {}", out.stderr);
        assert!(out.stderr.contains(log), "{handler}: {}", out.stderr);
        assert!(
            !out.stderr.contains("warning:"),
            "{handler}: {}",
            out.stderr
        );
        out.json();
    }
    // The SQS fixture's one message is not an order: reported back by its id, so the file went through as is.
    let out = invoke(
        "on_order",
        &[
            "--event",
            fixture("example-sqs-event.json").to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.json(),
        json!({ "batchItemFailures": [{ "itemIdentifier": "MessageID_1" }] })
    );
}

#[test]
fn a_failing_handler_exits_1_with_lambdas_error_object() {
    // AWS's S3 sample names `Happy%20Face.jpg`: outside `images/`, so on_upload returns Err.
    let path = fixture("example-s3-event.json");
    let out = invoke("on_upload", &["--event", path.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        out.json(),
        json!({
            "errorType": "HandlerError",
            "errorMessage": "unexpected key `Happy Face.jpg` in bucket `sourcebucket`"
        })
    );
    assert!(
        out.stderr.ends_with(
            "error: handler `on_upload` failed: HandlerError: unexpected key `Happy Face.jpg` in bucket `sourcebucket`\n"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("REPORT RequestId: "), "{}", out.stderr);
}

#[test]
fn invoke_reads_the_event_from_stdin() {
    let event = sample(&["--handler", "on_upload"]);
    let out = run(deployer()
        .args(["invoke", "on_upload", "--event", "-", "--bootstrap"])
        .arg(bootstrap())
        .write_stdin(event.to_string()));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("\"key\":\"images/example.png\""),
        "{}",
        out.stderr
    );
}

#[test]
fn an_event_of_another_kind_is_sent_with_a_warning() {
    let path = fixture("example-s3-event.json");
    let out = invoke("on_notice", &["--event", path.to_str().unwrap()]);
    assert!(
        out.stderr.contains(
            "warning: the event looks like a bucket event, but the handler is a topic handler"
        ),
        "{}",
        out.stderr
    );
    // What the runtime makes of it is Lambda's business: here the SNS records do not deserialise.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
}

#[test]
fn invoke_usage_errors_exit_2() {
    let typo = run(deployer().args([
        "invoke",
        "on_ordr",
        "--sample",
        "--bootstrap",
        "/nonexistent",
    ]));
    assert_eq!(typo.code, Some(2));
    assert!(
        typo.stderr.starts_with("error: unknown handler `on_ordr` (did you mean `on_order`?); the app's handlers are: every_hour,"),
        "{}",
        typo.stderr
    );
    assert_eq!(typo.stdout, "");

    let no_event = run(deployer().args(["invoke", "on_order"]));
    assert_eq!(no_event.code, Some(2));
    assert!(
        no_event.stderr.contains("--event <FILE>|--sample"),
        "{}",
        no_event.stderr
    );

    let both = run(deployer().args(["invoke", "on_order", "--sample", "--event", "x.json"]));
    assert_eq!(both.code, Some(2), "{}", both.stderr);
}

#[test]
fn bad_events_and_missing_bootstraps_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"Records\": [").unwrap();
    let out = invoke("on_order", &["--event", bad.to_str().unwrap()]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("bad.json is not JSON"),
        "{}",
        out.stderr
    );

    let out = invoke("on_order", &["--event", "/nonexistent/event.json"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("cannot read the event from /nonexistent/event.json"),
        "{}",
        out.stderr
    );

    let out = run(deployer().args([
        "invoke",
        "on_order",
        "--sample",
        "--bootstrap",
        "/nonexistent/bootstrap",
    ]));
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("/nonexistent/bootstrap"),
        "{}",
        out.stderr
    );
}

/// An app whose `on_order` has `timeout = 1s`, and an executable script in the same directory.
#[cfg(unix)]
fn app_with_script(script: &str) -> (Project, PathBuf) {
    let dir = Project::new(
        "app slow\nstage prod { memory = 512, log_level = warn }\ndefaults { env { LOG_LEVEL = \"debug\" } }\n\
         queue on_order \"my-queue\" { timeout = 1s }\n",
    );
    let path = dir.write_executable("bootstrap.sh", script);
    (dir, path)
}

/// Polls `/next` once (bash's /dev/tcp), prints the response headers to stderr, then runs `$@`.
#[cfg(unix)]
const POLL_ONCE: &str = r#"#!/bin/bash
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: localhost\r\n\r\n' >&3
while IFS= read -r line <&3; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    echo "header: $line" >&2
done
"#;

#[cfg(unix)]
#[test]
fn an_invocation_past_its_timeout_is_stopped_and_exits_1() {
    let (dir, script) = app_with_script(&format!("{POLL_ONCE}exec sleep 30\n"));
    let started = Instant::now();
    let out = run(deployer_in(dir.path())
        .args(["invoke", "on_order", "--sample", "--bootstrap"])
        .arg(&script));
    let took = started.elapsed();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let error = out.json();
    assert_eq!(error["errorType"], "Sandbox.Timedout");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Error: Task timed out after 1.00 seconds"),
        "{error}"
    );
    assert!(
        out.stderr.contains("error: handler `on_order` timed out after 1 s (its timeout in this stage); the bootstrap was stopped"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn the_function_gets_its_stages_settings() {
    let (dir, script) =
        app_with_script(&format!("{POLL_ONCE}env | sed 's/^/env: /' >&2\nexit 7\n"));
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let out = run(deployer_in(dir.path())
        .args([
            "invoke",
            "on_order",
            "--sample",
            "--stage",
            "prod",
            "--bootstrap",
        ])
        .arg(&script));
    // The script exits instead of answering: Lambda's Runtime.ExitError.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.json()["errorType"], "Runtime.ExitError");
    assert!(
        out.stderr
            .contains("the bootstrap exited (exit status: 7) before answering"),
        "{}",
        out.stderr
    );
    let has = |line: &str| out.stderr.lines().any(|l| l == line);
    for line in [
        "env: _HANDLER=on_order",
        "env: AWS_LAMBDA_FUNCTION_NAME=slow-prod-on_order",
        "env: AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
        "env: LOG_LEVEL=debug",
        "env: AWS_LAMBDA_LOG_LEVEL=WARN",
        "env: AWS_LAMBDA_LOG_FORMAT=JSON",
        "env: AWS_REGION=us-east-1",
    ] {
        assert!(has(line), "no `{line}` in:\n{}", out.stderr);
    }
    // The deadline is the function's 1 s timeout from when the event was queued.
    let deadline: u128 = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("header: lambda-runtime-deadline-ms: "))
        .unwrap_or_else(|| panic!("no deadline header in\n{}", out.stderr))
        .parse()
        .unwrap();
    let ahead = deadline.saturating_sub(now_ms);
    assert!(
        (1_000..=11_000).contains(&ahead),
        "deadline {ahead} ms after the start"
    );
    assert!(
        out.stderr.contains("header: lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:slow-prod-on_order"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_bootstrap_that_dies_at_start_is_reported() {
    let (dir, script) =
        app_with_script("#!/bin/sh\necho 'bootstrap: error: nothing here' >&2\nexit 3\n");
    let out = run(deployer_in(dir.path())
        .args(["invoke", "on_order", "--sample", "--bootstrap"])
        .arg(&script));
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("bootstrap: error: nothing here"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("INIT_REPORT Init Duration: "),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["errorType"], "Runtime.ExitError");
}

#[test]
fn without_bootstrap_it_builds_one_with_cargo() {
    bootstrap(); // built already, so cargo only checks it is fresh
    let out = run(deployer().args(["invoke", "on_notice", "--sample"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.json(), Value::Null);
    assert!(out.stderr.contains("notice received"), "{}", out.stderr);
}
