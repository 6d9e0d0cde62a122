//! `deployer invoke --remote` and `deployer logs`, run as a user would (the real binary, AWS settings
//! from the environment) against moto, for the example app (`events.chalice` at the workspace root).
//!
//! moto cannot run a function. With `{"lambda":{"use_docker":false}}` posted to `/moto-api/config`
//! before functions are created ([`Moto::without_docker`]), `Invoke` echoes the event back; without it
//! (and without Docker) it answers with `FunctionError: Handled` and a text payload, which the deployer
//! turns into what to set.
//! Needs moto: `scripts/moto.sh`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use chalice_deployer::aws::Clients;
use serde_json::json;
use support::deployer::{self, Run};
use support::fixtures::{self, create_role, create_sources};
use support::moto::Moto;
use support::project::{Project, example_source, plan_of};

const FUNCTION: &str = "orders-dev-on_order";
const GROUP: &str = "/aws/lambda/orders-dev-on_order";
const STREAM: &str = "2026/11/25/[$LATEST]0123456789abcdef";

/// `deployer ARGS` in `dir`, pointed at `moto` through the standard environment, without retries.
fn deployer(moto: &Moto, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = deployer::against(moto, dir, args);
    cmd.env("AWS_MAX_ATTEMPTS", "1");
    cmd
}

fn run(moto: &Moto, dir: &Path, args: &[&str]) -> Run {
    deployer::run(&mut deployer(moto, dir, args))
}

/// The function `name` (handler `on_order`) created directly, with its role `orders-dev`.
async fn create_function(clients: &Clients, name: &str) {
    let role = create_role(clients, "orders-dev").await;
    fixtures::create_function(clients, name, &role, "on_order", b"moto never runs this").await;
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn create_log_stream(clients: &Clients) {
    clients
        .logs
        .create_log_group()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    clients
        .logs
        .create_log_stream()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .send()
        .await
        .unwrap();
}

/// Puts `(timestamp, message)` events (oldest first) on [`STREAM`].
async fn put_events(clients: &Clients, events: &[(i64, &str)]) {
    let mut put = clients
        .logs
        .put_log_events()
        .log_group_name(GROUP)
        .log_stream_name(STREAM);
    for (timestamp, message) in events {
        put = put.log_events(
            InputLogEvent::builder()
                .timestamp(*timestamp)
                .message(*message)
                .build()
                .unwrap(),
        );
    }
    let out = put.send().await.unwrap();
    assert!(out.rejected_log_events_info().is_none(), "{out:?}");
}

/// RFC 3339 in UTC with exactly three fraction digits (`2026-11-25T15:40:01.123Z`), as `deployer logs`
/// prints times.
fn format_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time in range")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The line `deployer logs` prints for an event on [`STREAM`].
fn line(timestamp: i64, message: &str) -> String {
    format!("{}  {STREAM}  {message}", format_millis(timestamp))
}

#[tokio::test]
async fn invoke_remote_prints_what_the_deployed_function_returns() {
    let moto = Moto::start();
    moto.without_docker();
    create_function(&moto.clients().await, FUNCTION).await;
    let dir = Project::example();

    let event =
        json!({"Records": [{"messageId": "m-1", "body": "one order", "eventSource": "aws:sqs"}]});
    let path = dir.path().join("order.json");
    std::fs::write(&path, event.to_string()).unwrap();
    let out = run(
        &moto,
        dir.path(),
        &["invoke", "on_order", "--remote", "--event", "order.json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        out.json(),
        event,
        "moto echoes the event: {}",
        out.describe()
    );
    // Pretty-printed, as the local path prints it.
    assert_eq!(
        out.stdout,
        format!("{}\n", serde_json::to_string_pretty(&event).unwrap())
    );

    // Without an event, `{}` is sent.
    let out = run(&moto, dir.path(), &["invoke", "on_order", "--remote"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, "{}\n", "{}", out.describe());

    let out = run(
        &moto,
        dir.path(),
        &["invoke", "on_order", "--remote", "--sample"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let sent = out.json();
    assert_eq!(sent["Records"][0]["eventSource"], "aws:sqs", "{sent:#}");
    assert!(
        sent["Records"][0]["eventSourceARN"]
            .as_str()
            .unwrap()
            .ends_with(":my-queue"),
        "{sent:#}"
    );
}

#[tokio::test]
async fn invoke_remote_of_a_function_not_deployed_says_how_to_deploy_it() {
    let moto = Moto::start();
    let dir = Project::example();
    let out = run(&moto, dir.path(), &["invoke", "on_order", "--remote"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: function `orders-dev-on_order` (handler `on_order`) is not deployed in stage `dev`: \
         run `deployer deploy` first, or invoke it locally without --remote\n"
    );
    let out = run(
        &moto,
        dir.path(),
        &["invoke", "nightly", "--remote", "--stage", "prod"],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains(
            "`orders-prod-nightly` (handler `nightly`) is not deployed in stage `prod`: run `deployer deploy --stage prod` first"
        ),
        "{}",
        out.describe()
    );
    // Handler names are checked before AWS is asked.
    let out = run(&moto, dir.path(), &["invoke", "on_ordr", "--remote"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
}

/// The example app deployed to `moto` by `deployer deploy` (its sources made first), from `dir`.
async fn deploy_example(moto: &Moto, dir: &Project) {
    create_sources(&moto.clients().await, &plan_of(&example_source())).await;
    dir.write_fake_bootstrap("bootstrap", "v1");
    let out = run(
        moto,
        dir.path(),
        &["deploy", "--yes", "--bootstrap", "bootstrap"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

/// Issue #13: deployed to a moto whose Lambda runs without Docker (as `deployer local` sets its own),
/// `invoke --remote` works, and `logs` prints the function's log.
#[tokio::test]
async fn deployed_to_moto_without_docker_invoke_remote_and_logs_work() {
    let moto = Moto::start();
    moto.without_docker();
    let dir = Project::example();
    deploy_example(&moto, &dir).await;

    let out = run(
        &moto,
        dir.path(),
        &["invoke", "on_order", "--remote", "--sample"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        out.json()["Records"][0]["eventSource"],
        "aws:sqs",
        "{}",
        out.describe()
    );

    // moto writes no log in this mode: the function's log as Lambda would write it.
    let clients = moto.clients().await;
    create_log_stream(&clients).await;
    let now = now_ms();
    put_events(&clients, &[(now - 1_000, "an order arrived\n")]).await;
    let out = run(&moto, dir.path(), &["logs", "on_order"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        out.stdout,
        format!("{}\n", line(now - 1_000, "an order arrived"))
    );
}

/// Issue #13: on a plain moto (no Docker) `invoke --remote` says precisely what to set, and `logs`
/// prints the line moto logged for that invocation, whose timestamp is a float (`1796557537829.8408`,
/// which the SDK for Rust cannot parse).
#[tokio::test]
async fn on_a_plain_moto_invoke_remote_says_what_to_set_and_logs_survive_float_timestamps() {
    if Path::new("/var/run/docker.sock").exists() || std::env::var_os("DOCKER_HOST").is_some() {
        // With Docker, moto would try to run the (fake) code in a container instead of failing.
        eprintln!("skipped: Docker is available, so moto's Invoke does not fail at once");
        return;
    }
    let moto = Moto::start();
    let dir = Project::example();
    deploy_example(&moto, &dir).await;
    let out = run(&moto, dir.path(), &["invoke", "on_order", "--remote"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_eq!(out.stdout, "", "{}", out.describe());
    let endpoint = moto.endpoint();
    for said in [
        format!(
            "error: the emulator at {endpoint} could not run `{FUNCTION}`: it runs functions in Docker"
        ),
        format!(
            "curl -X POST {endpoint}/moto-api/config -H 'Content-Type: application/json' \
             -d '{{\"lambda\":{{\"use_docker\":false}}}}'"
        ),
        "\n  deployer deploy\n".to_owned(),
        "deployer invoke on_order --sample".to_owned(),
    ] {
        assert!(
            out.stderr.contains(&said),
            "{said:?} not in:\n{}",
            out.describe()
        );
    }

    // What moto logged for the failed invocation, at a float timestamp.
    let out = run(&moto, dir.path(), &["logs", "on_order"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("  error running docker"),
        "{}",
        out.describe()
    );
    assert_eq!(out.stderr, "", "{}", out.describe());
    let raw = moto_filter_log_events(&moto);
    assert!(
        raw.contains("\"timestamp\": ")
            && raw
                .split("\"timestamp\": ")
                .nth(1)
                .is_some_and(|t| { t.split([',', '}']).next().is_some_and(|n| n.contains('.')) }),
        "moto no longer writes float timestamps; this test proves nothing: {raw}"
    );
}

/// moto's raw `FilterLogEvents` answer for [`GROUP`] (what the SDK would have to parse).
fn moto_filter_log_events(moto: &Moto) -> String {
    let body = format!(r#"{{"logGroupName":"{GROUP}"}}"#);
    let mut stream = TcpStream::connect(("127.0.0.1", moto.port())).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-Amz-Target: Logs_20140328.FilterLogEvents\r\n\
         Content-Type: application/x-amz-json-1.1\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=a/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=x\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        moto.port(),
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test]
async fn logs_prints_events_since_a_time_oldest_first() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    create_log_stream(&clients).await;
    let now = now_ms();
    let (old, first, second) = (now - 20 * 60 * 1000, now - 2_000, now - 1_000);
    put_events(
        &clients,
        &[
            (old, "twenty minutes ago\n"),
            (first, "START RequestId: r-1\n"),
            (second, "an order\tarrived\n"),
        ],
    )
    .await;
    let dir = Project::example();
    let recent = format!(
        "{}\n{}\n",
        line(first, "START RequestId: r-1"),
        line(second, "an order\tarrived")
    );

    // Default: the last 10 minutes.
    let out = run(&moto, dir.path(), &["logs", "on_order"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, recent, "{}", out.describe());
    assert_eq!(out.stderr, "");

    let out = run(&moto, dir.path(), &["logs", "on_order", "--since", "1h"]);
    assert_eq!(
        out.stdout,
        format!("{}\n{recent}", line(old, "twenty minutes ago")),
        "{}",
        out.describe()
    );

    let five_minutes_ago = format_millis(now - 5 * 60 * 1000);
    let out = run(
        &moto,
        dir.path(),
        &["logs", "on_order", "--since", &five_minutes_ago],
    );
    assert_eq!(out.stdout, recent, "{}", out.describe());

    // Nothing that recent: said on stderr, not an error.
    let out = run(&moto, dir.path(), &["logs", "on_order", "--since", "0s"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("no log events for on_order in "),
        "{}",
        out.describe()
    );
}

#[tokio::test]
async fn logs_of_a_function_that_never_logged_says_so_and_succeeds() {
    let moto = Moto::start();
    let dir = Project::example();
    let out = run(&moto, dir.path(), &["logs", "on_order"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "no logs yet for on_order (log group /aws/lambda/orders-dev-on_order does not exist)\n"
    );

    let out = run(&moto, dir.path(), &["logs", "on_ordr"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let out = run(&moto, dir.path(), &["logs", "on_order", "--since", "soon"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("neither a duration"),
        "{}",
        out.describe()
    );
}

/// A running `deployer logs --follow`, its stdout lines arriving on a channel.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Follower {
    fn start(moto: &Moto, dir: &Path) -> Follower {
        let log_dir = tempfile::tempdir().unwrap();
        let stderr = log_dir.path().join("stderr");
        let mut child = deployer(moto, dir, &["logs", "on_order", "--follow"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if send.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            lines,
            stderr,
            _dir: log_dir,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("no line within 10 s ({e}); stderr:\n{}", self.stderr()))
    }

    /// Waits until stderr contains `text`.
    fn wait_for_stderr(&self, text: &str) {
        for _ in 0..100 {
            if self.stderr().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("stderr never said {text:?}:\n{}", self.stderr());
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn logs_follow_waits_for_the_group_prints_new_events_once_and_stops_on_ctrl_c() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let dir = Project::example();
    let follower = Follower::start(&moto, dir.path());
    let waiting = "no logs yet for on_order (log group /aws/lambda/orders-dev-on_order does not exist); waiting for it";
    follower.wait_for_stderr(waiting);

    create_log_stream(&clients).await;
    let first = now_ms();
    put_events(&clients, &[(first, "first\n")]).await;
    assert_eq!(follower.next_line(), line(first, "first"));
    let second = now_ms();
    put_events(&clients, &[(second, "second\n")]).await;
    assert_eq!(follower.next_line(), line(second, "second"));
    // Polls go on; nothing is printed twice.
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(follower.lines.try_recv().is_err(), "a line came twice");

    let mut follower = follower;
    let status = deployer::interrupt(&mut follower.child, Duration::from_secs(10));
    let status = status.expect("still running 10 s after SIGINT");
    let stderr = follower.stderr();
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(
        stderr.matches(waiting).count(),
        1,
        "waiting is said once:\n{stderr}"
    );
}
