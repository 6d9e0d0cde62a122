//! `deployer local` end to end: the real binary, its own emulator (or a configured one), the real
//! bootstrap, and events sent with `deployer local send` (the real binary, finding the runner by its
//! file) or, where a test reads the emulator directly, with the AWS SDK.
//!
//! The app is tests/fixtures/local/events.chalice: the example app's handlers (so the repo's
//! bootstrap serves them) with a 2 s queue timeout and a schedule that fires every minute.
//! Needs moto (`scripts/moto.sh`); the bootstrap is `support::bootstrap` (`CHALICE_BOOTSTRAP`, or built once).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_smithy_types::Blob;
use chalice_deployer::aws::Clients;
use serde_json::{Value, json};
use support::aws::{ACCOUNT, clients_at, context};
use support::bootstrap::bootstrap;
use support::deployer::{self, without_aws};
use support::moto::Moto;
use support::project::{Project, plan_of};
use support::runner::{self, Runner};

/// Generous: a loaded 2-core machine runs moto, the runner and eight bootstraps.
const READY: Duration = Duration::from_secs(120);
const DELIVERED: Duration = Duration::from_secs(30);

fn fixture_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/local/events.chalice")
}

/// The app of [`filters_retries_and_on_failure_queues_work_end_to_end`].
fn failures_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/local-failures/events.chalice")
}

/// A copy of the bootstrap at a path of its own, so its processes can be told apart from others'.
fn private_bootstrap(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(bootstrap(), &path).expect("copy the bootstrap");
    path
}

/// `deployer local --json ARGS...` in the directory `cargo test` runs tests in (the app is named
/// with --app), with no AWS configuration in its environment (so it starts its own emulator) unless
/// `configure` adds some.
fn start_runner(args: &[&str], configure: impl FnOnce(&mut Command)) -> Runner {
    let mut cmd = runner::command(Path::new(env!("CARGO_MANIFEST_DIR")), &["--json"]);
    cmd.args(args);
    configure(&mut cmd);
    Runner::spawn(cmd)
}

/// SDK clients for an emulator at `endpoint`.
async fn clients(endpoint: &str) -> Clients {
    clients_at(endpoint, None).await
}

/// The pids of running processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        // A zombie has an empty command line; it is gone as far as this test is concerned.
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

fn logs_of(invocation: &Value) -> String {
    invocation["logs"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn assert_once(runner: &Runner, handler: &str) -> Value {
    let found = runner.invocations(handler);
    assert_eq!(found.len(), 1, "{handler}: {found:#?}");
    assert_eq!(found[0]["result"], "ok", "{handler}: {:#?}", found[0]);
    found[0].clone()
}

/// `deployer local send ARGS... --app APP` in `dir`, with no AWS configuration (it finds the
/// runner by its file).
fn local_send_command(dir: &Path, app: &Path, args: &[&str]) -> Command {
    let mut cmd = deployer::command(dir, &["local", "send"]);
    without_aws(&mut cmd)
        .args(args)
        .args(["--app", app.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn spawn_local_send(dir: &Path, app: &Path, args: &[&str]) -> Child {
    local_send_command(dir, app, args)
        .spawn()
        .expect("run deployer local send")
}

/// Its one line of stdout; panics with its stderr when it failed.
fn finish_local_send(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "deployer local send failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `deployer local send ARGS...` to the end: its line of stdout.
fn local_send(dir: &Path, app: &Path, args: &[&str]) -> String {
    finish_local_send(spawn_local_send(dir, app, args))
}

/// The invocations of a stream or table `handler` until they carry `count` records in all.
fn wait_records(runner: &Runner, handler: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + DELIVERED;
    loop {
        let invocations = runner.invocations(handler);
        let records: usize = invocations
            .iter()
            .filter_map(|v| {
                v["summary"]
                    .as_str()?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        if records >= count {
            return invocations;
        }
        assert!(
            Instant::now() < deadline,
            "{handler}: {records} of {count} records: {invocations:#?}\nstderr:\n{}",
            runner.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_event_reaches_its_handler_once_and_ctrl_c_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let program = private_bootstrap(dir.path(), "bootstrap-every-kind");
    // The app in a directory of its own: the runner leaves its file beside it, and the app's
    // samples are read from there.
    let app = dir.path().join("events.chalice");
    std::fs::copy(fixture_app(), &app).unwrap();
    std::fs::create_dir(dir.path().join("samples")).unwrap();
    std::fs::write(
        dir.path().join("samples/on_audit.json"),
        r#"{"Id": "o-9", "Status": "new"}"#,
    )
    .unwrap();
    let mut runner = start_runner(
        &[
            "--app",
            app.to_str().unwrap(),
            "--bootstrap",
            program.to_str().unwrap(),
            "--fire",
            "nightly",
        ],
        |_| {},
    );
    runner.wait_ready(READY);
    let endpoint = runner.endpoint();
    let port = endpoint.rsplit(':').next().unwrap().to_owned();
    let said = runner.stderr_text();
    assert!(
        said.contains("started a local AWS emulator (moto)"),
        "{said}"
    );
    assert!(
        said.contains("Created in the emulator: bucket mybucket-name, topic my-demo-topic, queue my-queue, stream mystream, table orders"),
        "{said}"
    );
    let app_arg = app.to_str().unwrap();
    assert!(
        said.contains(&format!(
            "  cargo run --bin deployer -- local send on_order --sample --app {app_arg}"
        )),
        "{said}"
    );
    assert!(
        said.contains("put an item in table orders (payload: samples/on_audit.json)"),
        "{said}"
    );
    let runner_file = dir.path().join(".chalice-rs/local/dev.runner.json");
    assert!(runner_file.is_file(), "{said}");

    // --fire: the schedule fires once at start.
    let nightly = runner.wait_for("nightly", 1, DELIVERED);
    assert!(
        nightly[0]["summary"]
            .as_str()
            .unwrap()
            .ends_with("(fired now)"),
        "{nightly:#?}"
    );
    // `local send` of a schedule: the runner fires it.
    let fired = local_send(dir.path(), &app, &["nightly"]);
    assert!(
        fired.starts_with("schedule nightly fired by the runner at 127.0.0.1:"),
        "{fired}"
    );
    runner.wait_for("nightly", 2, DELIVERED);

    // A queue: one good order and one that is not an order, sent at once (one batch).
    let good = dir.path().join("order.json");
    std::fs::write(
        &good,
        json!({"id": "o-1", "items": [{"sku": "BOOK-42", "quantity": 2, "price_cents": 1250}]})
            .to_string(),
    )
    .unwrap();
    let bad = dir.path().join("not-an-order.txt");
    std::fs::write(&bad, "not an order").unwrap();
    let sends = [&good, &bad].map(|file| {
        spawn_local_send(
            dir.path(),
            &app,
            &["on_order", "--event", file.to_str().unwrap()],
        )
    });
    let [_, bad_sent] = sends.map(finish_local_send);
    // `message ID sent to queue my-queue at ... (payload: ...)`
    let bad_id = bad_sent
        .strip_prefix("message ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{bad_sent}"))
        .to_owned();
    assert!(
        bad_sent.contains(&format!(" sent to queue my-queue at {endpoint} (payload: ")),
        "{bad_sent}"
    );

    // A bucket: one object the notification's filter passes, two it does not.
    let png = dir.path().join("cat.png");
    std::fs::write(&png, "png").unwrap();
    for key in ["images/cat.png", "other/cat.png", "images/cat.jpg"] {
        local_send(
            dir.path(),
            &app,
            &["on_upload", "--event", png.to_str().unwrap(), "--key", key],
        );
    }

    // A topic.
    let notice = dir.path().join("notice.json");
    std::fs::write(
        &notice,
        r#"{"Subject": "Shipped", "Message": "Order o-1 left the warehouse"}"#,
    )
    .unwrap();
    local_send(
        dir.path(),
        &app,
        &["on_notice", "--event", notice.to_str().unwrap()],
    );

    // A stream: three clicks, in order.
    for page in ["/a", "/b", "/c"] {
        let click = dir.path().join("click.json");
        std::fs::write(&click, json!({"page": page, "user": "u-1"}).to_string()).unwrap();
        let sent = local_send(
            dir.path(),
            &app,
            &[
                "on_click",
                "--event",
                click.to_str().unwrap(),
                "--partition-key",
                "u-1",
            ],
        );
        assert!(sent.contains(" put on stream mystream "), "{sent}");
    }

    // A table: the app's own sample.
    let sent = local_send(dir.path(), &app, &["on_audit", "--sample"]);
    assert!(sent.ends_with("(payload: samples/on_audit.json)"), "{sent}");

    // A rule: a detail (source and detail type from the pattern), and a whole event that does
    // not match the pattern.
    let detail = dir.path().join("detail.json");
    std::fs::write(
        &detail,
        json!({"repositoryName": "my-repo", "referenceName": "main", "event": "referenceUpdated"})
            .to_string(),
    )
    .unwrap();
    local_send(
        dir.path(),
        &app,
        &["code_commit", "--event", detail.to_str().unwrap()],
    );
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        json!({"source": "aws.other", "detail-type": "CodeCommit Repository State Change", "detail": {"repositoryName": "other"}})
            .to_string(),
    )
    .unwrap();
    local_send(
        dir.path(),
        &app,
        &["code_commit", "--event", other.to_str().unwrap()],
    );

    for handler in [
        "on_order",
        "on_upload",
        "on_notice",
        "on_click",
        "on_audit",
        "code_commit",
    ] {
        runner.wait_for(handler, 1, DELIVERED);
    }
    // The failed order comes back after the queue's 2 s visibility timeout, alone.
    let orders = runner.wait_for("on_order", 2, DELIVERED);
    // Every click, however the reads split them.
    wait_records(&runner, "on_click", 3);
    // Time for anything delivered twice, or filtered wrongly, to show.
    std::thread::sleep(Duration::from_secs(2));

    let first = &orders[0];
    assert_eq!(first["summary"], "2 messages from my-queue", "{first:#?}");
    assert_eq!(first["result"], "partial", "{first:#?}");
    assert_eq!(first["failed_items"], json!([bad_id]), "{first:#?}");
    assert!(
        logs_of(first).contains("order accepted order=o-1"),
        "{first:#?}"
    );
    let second = &orders[1];
    assert!(
        second["summary"]
            .as_str()
            .unwrap()
            .starts_with("1 message from my-queue (receive #2)"),
        "{second:#?}"
    );
    assert_eq!(second["failed_items"], json!([bad_id]), "{second:#?}");
    assert!(
        !logs_of(second).contains("o-1"),
        "only the failed message comes back: {second:#?}"
    );

    let upload = assert_once(&runner, "on_upload");
    assert!(
        logs_of(&upload).contains("key=images/cat.png"),
        "{upload:#?}"
    );
    let notice = assert_once(&runner, "on_notice");
    assert!(
        logs_of(&notice).contains("subject=\"Shipped\" text=\"Order o-1 left the warehouse\""),
        "{notice:#?}"
    );
    let clicks = runner.invocations("on_click");
    let records: usize = clicks
        .iter()
        .filter_map(|v| {
            v["summary"]
                .as_str()?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(records, 3, "no click twice: {clicks:#?}");
    assert!(clicks.iter().all(|c| c["result"] == "ok"), "{clicks:#?}");
    let logs: String = clicks.iter().map(logs_of).collect();
    assert!(logs.contains("partition_key=\"u-1\""), "{logs}");
    let at = |page: &str| {
        logs.find(&format!("page={page} "))
            .unwrap_or_else(|| panic!("{page}: {logs}"))
    };
    assert!(
        at("/a") < at("/b") && at("/b") < at("/c"),
        "stream order: {logs}"
    );
    let audit = assert_once(&runner, "on_audit");
    assert_eq!(
        audit["summary"], "1 record from table orders (INSERT)",
        "{audit:#?}"
    );
    assert!(logs_of(&audit).contains("order=\"o-9\""), "{audit:#?}");
    let commit = assert_once(&runner, "code_commit");
    assert!(
        logs_of(&commit).contains("repository=my-repo"),
        "{commit:#?}"
    );

    // The schedule fires on the local clock, at the top of the next minute.
    let ticks = runner.wait_for("every_hour", 1, Duration::from_secs(75));
    assert_eq!(ticks[0]["summary"], "cron(* * * * ? *)", "{ticks:#?}");
    let second_of_minute: u32 = ticks[0]["time"].as_str().unwrap()[17..19].parse().unwrap();
    assert!(second_of_minute <= 5, "fired at {}", ticks[0]["time"]);

    // Ctrl-C: a prompt, clean exit, and no bootstrap or emulator left running.
    let status = runner.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", runner.stderr_text());
    assert!(
        runner.stderr_text().ends_with("Stopped."),
        "{}",
        runner.stderr_text()
    );
    assert!(
        !runner_file.exists(),
        "the runner's file is removed on exit"
    );
    assert_eq!(
        processes_mentioning(program.to_str().unwrap()),
        Vec::<u32>::new()
    );
    let moto: Vec<u32> = processes_mentioning(&format!("-p\0{port}"));
    assert_eq!(
        moto,
        Vec::<u32>::new(),
        "the emulator on port {port} is still running"
    );
}

/// Against a configured endpoint: the sources must exist there (missing ones are named), and on
/// exit the runner removes its own queues, subscriptions, bucket entries and rule targets and
/// gives the app back its targets and mappings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_emulator_is_used_as_it_is_and_left_as_it_was() {
    let moto = Moto::start();
    let configure = |cmd: &mut Command| moto.configure(cmd);
    // A copy of the app: the deploy record goes to .chalice-rs/local/ beside it.
    let dir = Project::new(&std::fs::read_to_string(fixture_app()).unwrap());
    let app = dir.app();
    let program = private_bootstrap(dir.path(), "bootstrap-configured");
    let args = [
        "--app",
        app.to_str().unwrap(),
        "--bootstrap",
        program.to_str().unwrap(),
    ];

    // Nothing there yet: every missing source is named, nothing runs.
    let mut runner = start_runner(&args, configure);
    let status = runner.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let said = runner.stderr_text();
    assert_eq!(status.code(), Some(1), "{said}");
    for missing in [
        "mybucket-name",
        "my-demo-topic",
        "my-queue",
        "mystream",
        "orders",
    ] {
        assert!(said.contains(missing), "{missing} not named:\n{said}");
    }
    assert!(!said.contains("started a local AWS emulator"), "{said}");

    // With the sources there, it runs; Ctrl-C leaves the emulator as the deploy left it.
    let c = moto.clients().await;
    let runner_clients = c.clone();
    let plan = plan_of(&dir.app_source());
    let wanted = chalice_deployer::local::sources::sources(&plan, &context());
    chalice_deployer::local::sources::create_missing(&runner_clients, "us-east-1", &wanted)
        .await
        .unwrap();
    let mut runner = start_runner(&args, configure);
    runner.wait_ready(READY);
    assert!(
        runner.stderr_text().contains(&format!(
            "Using the configured AWS endpoint {}",
            moto.endpoint()
        )),
        "{}",
        runner.stderr_text()
    );
    c.sqs
        .send_message()
        .queue_url(format!("{}/{ACCOUNT}/my-queue", moto.endpoint()))
        .message_body(json!({"id": "o-2", "items": []}).to_string())
        .send()
        .await
        .unwrap();
    let orders = runner.wait_for("on_order", 1, DELIVERED);
    assert_eq!(orders[0]["result"], "ok", "{orders:#?}");
    // While it runs, the app's mappings are off (the runner polls) and its rules target the runner.
    let mappings = c
        .lambda
        .list_event_source_mappings()
        .function_name("orders-dev-on_order")
        .send()
        .await
        .unwrap();
    assert_eq!(
        mappings.event_source_mappings()[0].state(),
        Some("Disabled")
    );

    let status = runner.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", runner.stderr_text());
    assert!(dir.join(".chalice-rs/local/dev.json").is_file());
    let queues = c.sqs.list_queues().send().await.unwrap();
    let left: Vec<&String> = queues
        .queue_urls()
        .iter()
        .filter(|u| u.contains("chalice-local"))
        .collect();
    assert!(left.is_empty(), "the runner's queues are left: {left:?}");
    let notifications =
        c.s3.get_bucket_notification_configuration()
            .bucket("mybucket-name")
            .send()
            .await
            .unwrap();
    assert!(notifications.queue_configurations().is_empty());
    assert_eq!(notifications.lambda_function_configurations().len(), 1);
    for rule in ["orders-dev-code_commit", "orders-dev-every_hour"] {
        let targets = c
            .eventbridge
            .list_targets_by_rule()
            .rule(rule)
            .send()
            .await
            .unwrap();
        let arns: Vec<&str> = targets.targets().iter().map(|t| t.arn()).collect();
        assert_eq!(
            arns,
            [format!(
                "arn:aws:lambda:us-east-1:{ACCOUNT}:function:{rule}"
            )],
            "{rule}"
        );
    }
    let subscriptions = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(format!("arn:aws:sns:us-east-1:{ACCOUNT}:my-demo-topic"))
        .send()
        .await
        .unwrap();
    let protocols: Vec<&str> = subscriptions
        .subscriptions()
        .iter()
        .filter_map(|s| s.protocol())
        .collect();
    assert_eq!(protocols, ["lambda"]);
    let mappings = c
        .lambda
        .list_event_source_mappings()
        .function_name("orders-dev-on_order")
        .send()
        .await
        .unwrap();
    assert_eq!(mappings.event_source_mappings()[0].state(), Some("Enabled"));
    assert_eq!(
        processes_mentioning(program.to_str().unwrap()),
        Vec::<u32>::new()
    );
}

/// The records of the runs in `project` (`.chalice-rs/local/runs/*.json`), parsed.
fn run_records(project: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(project.join(".chalice-rs/local/runs")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect()
}

/// The one run record in `project`.
fn only_run_record(project: &Path) -> Value {
    let records = run_records(project);
    assert_eq!(records.len(), 1, "{records:#?}");
    records[0].clone()
}

/// Whether process `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| Some(s[s.rfind(')')? + 2..].chars().next()? != 'Z'))
        .unwrap_or(false)
}

/// Waits until `done` holds, for up to `within`.
fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILL: the runner gets no chance to clean up.
fn kill_9(runner: &mut Runner) {
    runner.child.kill().unwrap();
    runner.child.wait().unwrap();
}

/// The names of the runner-owned queues at the endpoint.
async fn runner_queues(c: &Clients) -> Vec<String> {
    let queues = c.sqs.list_queues().send().await.unwrap();
    queues
        .queue_urls()
        .iter()
        .filter_map(|u| u.rsplit('/').next())
        .filter(|n| n.starts_with("chalice-local-"))
        .map(str::to_owned)
        .collect()
}

/// `kill -9` of a runner takes its emulator and its handlers' processes with it (parent-death
/// signal); the next runner removes the record and runner file the killed one left, and says so.
#[test]
fn a_killed_runner_takes_its_emulator_along_and_the_next_one_cleans_up() {
    let project = Project::new(&std::fs::read_to_string(fixture_app()).unwrap());
    let app = project.app();
    let program = private_bootstrap(project.path(), "bootstrap-killed");
    let args = [
        "--app",
        app.to_str().unwrap(),
        "--bootstrap",
        program.to_str().unwrap(),
    ];
    let mut runner = start_runner(&args, |_| {});
    runner.wait_ready(READY);
    let record = only_run_record(project.path());
    let run = record["run"].as_str().unwrap().to_owned();
    let moto = u32::try_from(record["emulator"]["pid"].as_u64().unwrap()).unwrap();
    assert!(running(moto), "{record:#}");
    assert_eq!(
        record["emulator"]["port"].to_string(),
        runner.endpoint().rsplit(':').next().unwrap()
    );
    assert!(!processes_mentioning(program.to_str().unwrap()).is_empty());

    kill_9(&mut runner);
    wait_until(
        "the emulator and handlers gone",
        Duration::from_secs(10),
        || {
            !running(moto)
                && processes_mentioning(program.to_str().unwrap())
                    .into_iter()
                    .all(|p| !running(p))
        },
    );
    assert!(project.join(".chalice-rs/local/dev.runner.json").is_file());

    let mut next = start_runner(&args, |_| {});
    next.wait_ready(READY);
    let said = next.stderr_text();
    assert!(
        said.contains(&format!(
            "Cleaned up after a runner that was killed (run {run}, pid {})",
            runner.child.id()
        )),
        "{said}"
    );
    assert!(
        said.contains("dev.runner.json, left by a runner that is gone"),
        "{said}"
    );
    let records = run_records(project.path());
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_ne!(records[0]["run"], run.as_str());
    let status = next.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", next.stderr_text());
    assert_eq!(run_records(project.path()), Vec::<Value>::new());
    assert!(!project.join(".chalice-rs/local/dev.runner.json").exists());
}

/// Against a configured endpoint where the app is deployed: the app's table mapping is off (deleted)
/// while the runner runs; a killed runner's queues, entries and targets are removed by the next
/// runner, and the mapping it took off comes back as it was, so that a redeploy has nothing to
/// change.
///
/// Whether the table's records then reach the handler is not asserted: moto 5.2 goes on running a
/// DynamoDB mapping after it is deleted (`DeleteEventSourceMapping` leaves it in the table's own
/// list) and drops the records it hands the function. On AWS and LocalStack the deletion holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_configured_endpoint_table_mappings_are_off_and_a_killed_runner_is_undone() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let source = std::fs::read_to_string(fixture_app()).unwrap();
    let project = Project::new(&source);
    let plan = plan_of(&source);
    let wanted = chalice_deployer::local::sources::sources(&plan, &context());
    chalice_deployer::local::sources::create_missing(&c, "us-east-1", &wanted)
        .await
        .unwrap();
    project.write_fake_bootstrap("bootstrap", "v1");
    deployer::run(&mut deployer::against(
        &moto,
        project.path(),
        &["deploy", "--yes", "--bootstrap", "bootstrap"],
    ))
    .assert_success();
    let audit = "orders-dev-on_audit";
    let list = |c: Clients| async move {
        chalice_deployer::resources::mapping::list_mappings(&c, audit)
            .await
            .unwrap()
    };
    let deployed = list(c.clone()).await;
    assert_eq!(deployed.len(), 1, "{deployed:#?}");

    let app = project.app();
    let program = private_bootstrap(project.path(), "bootstrap-table");
    let args = [
        "--app",
        app.to_str().unwrap(),
        "--bootstrap",
        program.to_str().unwrap(),
    ];
    let configure = |cmd: &mut Command| moto.configure(cmd);

    let mut runner = start_runner(&args, configure);
    runner.wait_ready(READY);
    let run = only_run_record(project.path())["run"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        list(c.clone()).await,
        [],
        "the table mapping is off while the runner runs"
    );
    let ours = runner_queues(&c).await;
    assert_eq!(ours.len(), 3, "{ours:?}");
    assert!(
        ours.iter()
            .all(|q| q.starts_with(&format!("chalice-local-{run}-"))),
        "{ours:?}"
    );

    kill_9(&mut runner);
    assert_eq!(runner_queues(&c).await, ours, "left by the killed runner");
    wait_until("its handlers gone", Duration::from_secs(10), || {
        processes_mentioning(program.to_str().unwrap())
            .into_iter()
            .all(|p| !running(p))
    });

    let mut next = start_runner(&args, configure);
    next.wait_ready(READY);
    let said = next.stderr_text();
    assert!(
        said.contains(&format!(
            "Cleaned up after a runner that was killed (run {run}"
        )),
        "{said}"
    );
    assert!(said.contains("re-created a table mapping"), "{said}");
    let now = runner_queues(&c).await;
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(now.iter().all(|q| !ours.contains(q)), "{ours:?} {now:?}");
    assert_eq!(
        list(c.clone()).await,
        [],
        "taken off again by the next runner"
    );
    let status = next.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", next.stderr_text());

    // Back as deployed: the mapping with its settings (a new UUID), nothing of the runners'.
    let back = list(c.clone()).await;
    assert_eq!(back.len(), 1, "{back:#?}");
    assert_eq!(back[0].spec, deployed[0].spec);
    let state = c
        .lambda
        .get_event_source_mapping()
        .uuid(&back[0].uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(state.state(), Some("Enabled"));
    assert_eq!(runner_queues(&c).await, Vec::<String>::new());
    let notifications =
        c.s3.get_bucket_notification_configuration()
            .bucket("mybucket-name")
            .send()
            .await
            .unwrap();
    assert!(notifications.queue_configurations().is_empty());
    assert_eq!(run_records(project.path()), Vec::<Value>::new());
    let plan = deployer::run(&mut deployer::against(
        &moto,
        project.path(),
        &["plan", "--bootstrap", "bootstrap"],
    ));
    plan.assert_success();
    assert!(plan.stdout.contains("No changes"), "{}", plan.describe());
}

/// Two runners of one app and stage against one endpoint (here from one project directory): each
/// has its own queues, bucket entry and rule target, so both get the events, and the one that
/// stops first leaves the other's routes in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_against_one_endpoint_keep_apart() {
    let moto = Moto::start();
    let c = moto.clients().await;
    let source = std::fs::read_to_string(fixture_app()).unwrap();
    let project = Project::new(&source);
    let wanted = chalice_deployer::local::sources::sources(&plan_of(&source), &context());
    chalice_deployer::local::sources::create_missing(&c, "us-east-1", &wanted)
        .await
        .unwrap();
    let app = project.app();
    let start = |name: &str| {
        let program = private_bootstrap(project.path(), name);
        let mut runner = start_runner(
            &[
                "--app",
                app.to_str().unwrap(),
                "--bootstrap",
                program.to_str().unwrap(),
            ],
            |cmd| moto.configure(cmd),
        );
        runner.wait_ready(READY);
        runner
    };
    let mut first = start("bootstrap-first");
    let mut second = start("bootstrap-second");
    let runs: Vec<String> = run_records(project.path())
        .iter()
        .map(|r| r["run"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let queues = runner_queues(&c).await;
    assert_eq!(queues.len(), 6, "three routed handlers each: {queues:?}");
    for run in &runs {
        let of_run = queues
            .iter()
            .filter(|q| q.starts_with(&format!("chalice-local-{run}-")))
            .count();
        assert_eq!(of_run, 3, "{run}: {queues:?}");
    }
    let entries =
        c.s3.get_bucket_notification_configuration()
            .bucket("mybucket-name")
            .send()
            .await
            .unwrap();
    assert_eq!(entries.queue_configurations().len(), 2);

    let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:my-demo-topic");
    let publish = |text: &'static str| c.sns.publish().topic_arn(&topic).message(text).send();
    publish("to both").await.unwrap();
    c.s3.put_object()
        .bucket("mybucket-name")
        .key("images/both.png")
        .body(b"png".to_vec().into())
        .send()
        .await
        .unwrap();
    for runner in [&mut first, &mut second] {
        runner.wait_for("on_notice", 1, DELIVERED);
        runner.wait_for("on_upload", 1, DELIVERED);
    }

    // The second stops: the first keeps its routes.
    let status = second.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", second.stderr_text());
    publish("to the first").await.unwrap();
    let notices = first.wait_for("on_notice", 2, DELIVERED);
    assert!(
        logs_of(&notices[1]).contains("to the first"),
        "{notices:#?}"
    );
    let status = first.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", first.stderr_text());

    assert_eq!(runner_queues(&c).await, Vec::<String>::new());
    let entries =
        c.s3.get_bucket_notification_configuration()
            .bucket("mybucket-name")
            .send()
            .await
            .unwrap();
    assert!(entries.queue_configurations().is_empty());
    let targets = c
        .eventbridge
        .list_targets_by_rule()
        .rule("orders-dev-code_commit")
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = targets.targets().iter().map(|t| t.arn()).collect();
    assert_eq!(
        arns,
        [format!(
            "arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders-dev-code_commit"
        )]
    );
    let mappings = c
        .lambda
        .list_event_source_mappings()
        .function_name("orders-dev-on_order")
        .send()
        .await
        .unwrap();
    assert_eq!(mappings.event_source_mappings()[0].state(), Some("Enabled"));
    assert_eq!(run_records(project.path()), Vec::<Value>::new());
}

/// Edits rebuild the bootstrap (here a stand-in `cargo` that "builds" a fresh copy each time) and
/// the handler restarts with the new build at its next event; a failed build keeps the last one.
/// The runner runs in the app's directory with the default relative `--app events.chalice` (as
/// `scripts/local.sh` does); editors' temporaries beside the source neither rebuild nor show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_rebuilds_and_the_handler_restarts_with_the_new_build() {
    let project = Project::new("app orders\nqueue on_order \"my-queue\" { timeout = 2s }\n");
    std::fs::create_dir(project.join("src")).unwrap();
    std::fs::write(project.join("src/app.rs"), "// v1\n").unwrap();
    let cargo = project.write_executable(
        "fake-cargo",
        r#"#!/bin/sh
# Stands in for `cargo build --bin bootstrap --message-format=...`: the third build fails.
n=$(( $(cat "$FAKE_BUILDS/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$FAKE_BUILDS/count"
[ "$n" = 3 ] && { echo "error: the build broke" >&2; exit 101; }
cp "$FAKE_SOURCE" "$FAKE_BUILDS/bootstrap-$n"
echo "{\"reason\":\"compiler-artifact\",\"target\":{\"name\":\"bootstrap\",\"kind\":[\"bin\"]},\"executable\":\"$FAKE_BUILDS/bootstrap-$n\"}"
"#,
    );
    let builds = project.join("builds");
    std::fs::create_dir(&builds).unwrap();
    let mut runner = start_runner(&["--app", "events.chalice"], |cmd| {
        cmd.current_dir(project.path())
            .env("CARGO", &cargo)
            .env("FAKE_BUILDS", &builds)
            .env("FAKE_SOURCE", bootstrap());
    });
    runner.wait_ready(READY);
    let endpoint = runner.endpoint();
    let c = clients(&endpoint).await;
    let queue_url = format!("{endpoint}/{ACCOUNT}/my-queue");
    let send = |body: &'static str| {
        c.sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(json!({"id": body, "items": []}).to_string())
            .send()
    };
    let build = |n: u32| builds.join(format!("bootstrap-{n}")).display().to_string();

    send("o-1").await.unwrap();
    let first = runner.wait_for("on_order", 1, DELIVERED);
    assert!(logs_of(&first[0]).contains("order=o-1"), "{first:#?}");
    assert_eq!(
        first[0]["cold"], false,
        "started before its first event: {first:#?}"
    );
    assert_eq!(processes_mentioning(&build(1)).len(), 1);

    // Editors' temporaries alone change nothing.
    for temporary in [".app.rs.swp", ".#app.rs", "app.rs~", "4913", "app.rs.tmp"] {
        std::fs::write(project.join("src").join(temporary), "x").unwrap();
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !runner.stderr_text().contains("changed"),
        "{}",
        runner.stderr_text()
    );
    // An edit (here written among temporaries, as an editor saves): rebuilt, and the next event
    // gets a fresh process of the new build.
    std::fs::write(project.join("src/.app.rs.swx"), "x").unwrap();
    std::fs::write(project.join("src/app.rs"), "// v2\n").unwrap();
    std::fs::write(project.join("src/app.rs~"), "// v1\n").unwrap();
    wait_said(&runner, "rebuilt in", 1);
    assert!(
        runner
            .stderr_text()
            .contains("\nsrc/app.rs changed: rebuilding the bootstrap..."),
        "only the source is named:\n{}",
        runner.stderr_text()
    );
    send("o-2").await.unwrap();
    let second = runner.wait_for("on_order", 2, DELIVERED);
    assert_eq!(second[1]["cold"], true, "{second:#?}");
    assert!(logs_of(&second[1]).contains("order=o-2"), "{second:#?}");
    assert_eq!(processes_mentioning(&build(1)), Vec::<u32>::new());
    assert_eq!(processes_mentioning(&build(2)).len(), 1);

    // A broken build: said, and the handler keeps serving the last good one, warm.
    std::fs::write(project.join("src/app.rs"), "// v3\n").unwrap();
    wait_said(&runner, "the build failed", 1);
    send("o-3").await.unwrap();
    let third = runner.wait_for("on_order", 3, DELIVERED);
    assert_eq!(third[2]["cold"], false, "{third:#?}");
    assert!(logs_of(&third[2]).contains("order=o-3"), "{third:#?}");
    assert_eq!(processes_mentioning(&build(2)).len(), 1);

    let status = runner.interrupt(Duration::from_secs(15));
    assert!(status.success(), "{status}:\n{}", runner.stderr_text());
}

/// Waits until the runner has said `text` `count` times on stderr.
fn wait_said(runner: &Runner, text: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while runner.stderr_text().matches(text).count() < count {
        assert!(
            Instant::now() < deadline,
            "`{text}` not said:\n{}",
            runner.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ctrl-C before the app is ready (here: during a long build) still stops the emulator it started.
#[test]
fn ctrl_c_while_starting_stops_the_emulator() {
    let project = Project::new("app orders\nqueue on_order \"my-queue\"\n");
    let app = project.app();
    let cargo = project.write_executable("slow-cargo", "#!/bin/sh\nexec sleep 60\n");
    let mut runner = start_runner(&["--app", app.to_str().unwrap()], |cmd| {
        cmd.env("CARGO", &cargo);
    });
    wait_said(&runner, "Building the bootstrap", 1);
    let endpoint = runner.endpoint();
    let port = endpoint.rsplit(':').next().unwrap().to_owned();
    assert_eq!(processes_mentioning(&format!("-p\0{port}")).len(), 1);
    let status = runner.interrupt(Duration::from_secs(10));
    assert!(status.success(), "{status}:\n{}", runner.stderr_text());
    assert!(
        runner.stderr_text().contains("Interrupted while starting"),
        "{}",
        runner.stderr_text()
    );
    assert_eq!(
        processes_mentioning(&format!("-p\0{port}")),
        Vec::<u32>::new()
    );
}

/// The first message on `queue_url` within [`DELIVERED`] (deleted), its body parsed.
async fn first_message(c: &Clients, queue_url: &str) -> Value {
    let deadline = Instant::now() + DELIVERED;
    loop {
        let out = c
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages().first() {
            c.sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            return serde_json::from_str(m.body().unwrap()).unwrap();
        }
        assert!(Instant::now() < deadline, "nothing arrived on {queue_url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_retries_and_on_failure_queues_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let program = private_bootstrap(dir.path(), "bootstrap-failures");
    let app = failures_app();
    let mut runner = start_runner(
        &[
            "--app",
            app.to_str().unwrap(),
            "--bootstrap",
            program.to_str().unwrap(),
        ],
        |_| {},
    );
    runner.wait_ready(READY);
    let endpoint = runner.endpoint();
    let said = runner.stderr_text();
    // The on-failure queues are created beside the sources, and the hints say how to read them.
    for created in ["queue clicks-failed", "queue dead"] {
        assert!(said.contains(created), "{said}");
    }
    assert!(said.contains("Read on-failure records:"), "{said}");
    assert!(said.contains("Action=ReceiveMessage"), "{said}");
    let c = clients(&endpoint).await;

    // A queue filter: the message it rejects is deleted unseen, the order reaches the handler.
    let queue_url = format!("{endpoint}/{ACCOUNT}/my-queue");
    for body in [
        json!({"id": "x-1", "items": []}).to_string(),
        json!({"id": "o-1", "items": [{"sku": "BOOK-42", "quantity": 1, "price_cents": 100}]})
            .to_string(),
    ] {
        c.sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let orders = runner.wait_for("on_order", 1, DELIVERED);
    assert!(logs_of(&orders[0]).contains("o-1"), "{orders:#?}");
    runner.wait_note("on_order", "(filter)", DELIVERED);

    // A topic's filter policy: only the shipped notice is delivered.
    let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:notices");
    for kind in ["lost", "shipped"] {
        c.sns
            .publish()
            .topic_arn(&topic)
            .message(format!("parcel {kind}"))
            .message_attributes(
                "kind",
                aws_sdk_sns::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(kind)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let notices = runner.wait_for("on_notice", 1, DELIVERED);
    assert!(
        logs_of(&notices[0]).contains("parcel shipped"),
        "{notices:#?}"
    );

    // A stream record the handler cannot read: retried once, then described in clicks-failed,
    // and the next record is delivered.
    let stream = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks");
    let bad = c
        .kinesis
        .put_record()
        .stream_arn(&stream)
        .partition_key("u-1")
        .data(Blob::new("not a click"))
        .send()
        .await
        .unwrap()
        .sequence_number()
        .to_owned();
    let failed = first_message(&c, &format!("{endpoint}/{ACCOUNT}/clicks-failed")).await;
    assert_eq!(
        failed["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(failed["KinesisBatchInfo"]["startSequenceNumber"], bad);
    assert_eq!(
        failed["KinesisBatchInfo"]["shardId"],
        "shardId-000000000000"
    );
    c.kinesis
        .put_record()
        .stream_arn(&stream)
        .partition_key("u-1")
        .data(Blob::new(r#"{"page":"/checkout","user":"u-1"}"#))
        .send()
        .await
        .unwrap();
    let clicks = runner.wait_for("on_click", 3, DELIVERED);
    assert_eq!(clicks[0]["result"], "partial", "{clicks:#?}");
    assert_eq!(clicks[2]["result"], "ok", "{clicks:#?}");
    assert!(logs_of(&clicks[2]).contains("/checkout"), "{clicks:#?}");

    // A bucket event the handler fails, no retries: its invocation record lands in dead, once.
    c.s3.put_object()
        .bucket("uploads")
        .key("other/x.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let record = first_message(&c, &format!("{endpoint}/{ACCOUNT}/dead")).await;
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(
        record["requestPayload"]["Records"][0]["s3"]["object"]["key"],
        "other/x.txt"
    );
    assert!(
        record["responsePayload"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("unexpected key"),
        "{record:#}"
    );
    runner.wait_note("on_upload", "record sent to queue dead", DELIVERED);

    // Nothing more: one order, one notice, one upload attempt.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(runner.invocations("on_order").len(), 1);
    assert_eq!(runner.invocations("on_notice").len(), 1);
    assert_eq!(runner.invocations("on_upload").len(), 1);
    assert!(runner.interrupt(Duration::from_secs(30)).success());
}

/// Issue #13: the runner counts the app's resources as `plan --offline` does, and the emulator it
/// starts runs Lambda without Docker, so `invoke --remote` against it works (moto echoes the event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_counts_as_plan_does_and_its_emulator_invokes_without_docker() {
    let dir = tempfile::tempdir().unwrap();
    let program = private_bootstrap(dir.path(), "bootstrap-count");
    let app = dir.path().join("events.chalice");
    std::fs::copy(fixture_app(), &app).unwrap();
    let app_arg = app.to_str().unwrap();

    let mut offline = deployer::command(dir.path(), &["plan", "--offline", "--app", app_arg]);
    let offline = deployer::run(without_aws(&mut offline));
    offline.assert_success();
    let count = offline
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Plan: ")?.strip_suffix(" to create."))
        .unwrap_or_else(|| panic!("no count:\n{}", offline.describe()))
        .to_owned();

    let mut runner = start_runner(
        &["--app", app_arg, "--bootstrap", program.to_str().unwrap()],
        |_| {},
    );
    runner.wait_ready(READY);
    let said = runner.stderr_text();
    let deployed = said
        .lines()
        .find(|l| l.starts_with("Deployed the app there: "))
        .unwrap_or_else(|| panic!("no deploy line:\n{said}"));
    assert!(
        deployed.contains(&format!(
            " of its {count} resources (this runner does the rest itself); "
        )) || deployed.contains(&format!(": its {count} resources; ")),
        "plan --offline counts {count}: {deployed}"
    );

    let endpoint = runner.endpoint();
    let mut invoke = deployer::command(
        dir.path(),
        &[
            "invoke", "on_order", "--remote", "--sample", "--app", app_arg,
        ],
    );
    without_aws(&mut invoke)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", support::aws::REGION)
        .env("AWS_ACCESS_KEY_ID", support::aws::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", support::aws::SECRET_KEY);
    let invoked = deployer::run(&mut invoke);
    invoked.assert_success();
    assert_eq!(
        invoked.json()["Records"][0]["eventSource"],
        "aws:sqs",
        "{}",
        invoked.describe()
    );
    runner.interrupt(Duration::from_secs(30));
}
