//! `deployer local` figures (issue #4): the time from an event sent through the emulator to its handler's
//! start, per kind; the CPU an idle runner (deployer, its moto server, the bootstraps) uses; and
//! `deployer invoke on_order --sample` end to end.
//!
//! `scripts/bench-local.sh [--count N] [--idle SECONDS] [--window-count N] [--invoke-runs N]
//! [--bootstrap FILE] [--app FILE]`, or `cargo bench -p chalice-deployer --bench local -- ...`; does
//! nothing unless run by `cargo bench`. `--bootstrap` is a bootstrap built from the repo's
//! events.chalice (default `target/release/bootstrap`); `--app` the app file whose handlers it serves.
//!
//! Latency: the app file is copied to a temporary directory with every `batching_window` removed (a
//! window holds a batch back on purpose), `deployer local --json` runs it against the moto server it
//! starts itself, and each event is sent with the AWS SDK, one at a time: from just before the send to
//! the `time` of the handler's JSON line (when the runner handed the event to the handler; a
//! millisecond-truncated RFC 3339 stamp, so a figure can read up to 1 ms low). One event per kind is
//! sent first and not counted; a pseudo-random 100-400 ms pause before each send spreads the sends
//! over the stream pollers' 300 ms cycle. Idle CPU: the app file as it is, utime + stime from
//! /proc/PID/stat of the runner and every process under it, over `--idle` seconds from `Ready:`; then
//! the queue handler's latency with its batching window, if it has one.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chalice_codegen::plan::Plan;
use chalice_deployer::aws::Clients;
use chalice_lambda::samples::{Origin, SampleContext};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use support::aws::{REGION, clients_at};
use support::deployer::{self, without_aws};
use support::moto::find_moto_server;
use support::project::try_plan_of;

const DEPLOYER: &str = deployer::BIN;
/// The handlers measured, in the order of the issue's list, with the aim for each.
const HANDLERS: [(&str, Duration); 6] = [
    ("on_order", Duration::from_millis(100)),
    ("on_notice", Duration::from_millis(100)),
    ("on_upload", Duration::from_millis(100)),
    ("code_commit", Duration::from_millis(100)),
    ("on_click", Duration::from_secs(1)),
    ("on_audit", Duration::from_secs(1)),
];
/// How long `deployer local` may take to say `Ready:` (it starts moto and deploys the app first).
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one event may take to reach its handler before the bench gives up.
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
/// An order the example app's `on_order` accepts.
const ORDER: &str =
    r#"{"id":"o-1001","items":[{"sku":"BOOK-42","quantity":2,"price_cents":1250}]}"#;
/// A click the example app's `on_click` reads.
const CLICK: &str = r#"{"page":"/checkout","user":"u-42"}"#;

struct Options {
    count: usize,
    idle: Duration,
    window_count: usize,
    invoke_runs: usize,
    bootstrap: PathBuf,
    app: PathBuf,
}

fn parse_args() -> Result<Option<Options>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --benches` runs this binary without `--bench`: do nothing then.
    if !args.iter().any(|a| a == "--bench") {
        return Ok(None);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?;
    let mut options = Options {
        count: 25,
        idle: Duration::from_secs(60),
        window_count: 3,
        invoke_runs: 30,
        bootstrap: root.join("target/release/bootstrap"),
        app: root.join("events.chalice"),
    };
    let mut it = args.into_iter().filter(|a| a != "--bench");
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{arg}: {e}"));
        match arg.as_str() {
            "--count" => options.count = number(value()?)?,
            "--idle" => options.idle = Duration::from_secs(number(value()?)? as u64),
            "--window-count" => options.window_count = number(value()?)?,
            "--invoke-runs" => options.invoke_runs = number(value()?)?,
            "--bootstrap" => options.bootstrap = PathBuf::from(value()?),
            "--app" => options.app = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.count == 0 {
        return Err("--count must be at least 1".into());
    }
    options.bootstrap = options
        .bootstrap
        .canonicalize()
        .map_err(|e| format!("{}: {e} (build it first)", options.bootstrap.display()))?;
    options.app = options
        .app
        .canonicalize()
        .map_err(|e| format!("{}: {e}", options.app.display()))?;
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-local: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench-local: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-local: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let source = std::fs::read_to_string(&options.app)
        .map_err(|e| format!("{}: {e}", options.app.display()))?;
    let plan = try_plan_of(&source)?;
    println!(
        "deployer {DEPLOYER} · bootstrap {} · app {} · load {}",
        options.bootstrap.display(),
        options.app.display(),
        loadavg()
    );

    // 2. `deployer invoke` end to end (first: no emulator running beside it).
    if options.invoke_runs > 0 {
        let times = invoke_times(&options)?;
        println!();
        println!(
            "deployer invoke on_order --sample: median {} · p90 {} · min {} · max {} ({} runs after 2 warm-ups; aim < 40 ms) · load {}",
            ms(percentile(&times, 50)),
            ms(percentile(&times, 90)),
            ms(times[0]),
            ms(times[times.len() - 1]),
            times.len(),
            loadavg()
        );
    }

    // 1. Latency per kind, with no batching window.
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let unbatched = work.path().join("events.chalice");
    let stripped = without_batching_windows(&source);
    std::fs::write(&unbatched, &stripped).map_err(|e| e.to_string())?;
    let stripped_plan = try_plan_of(&stripped)?;
    if window_of(&stripped_plan).is_some() {
        return Err("could not take on_order's batching window out of the app file".into());
    }
    let mut runner = Runner::start(&unbatched, &options.bootstrap).await?;
    let measured = latencies(&mut runner, &stripped_plan, options.count).await;
    runner.stop().await;
    let measured = measured?;
    println!();
    println!(
        "event sent → handler start, no batching window ({} sequential events per kind after 1 warm-up) · load {}",
        options.count,
        loadavg()
    );
    println!(
        "{:<6} {:<12} {:>9} {:>9} {:>9} {:>9} {:>10}  {:>8}",
        "kind", "handler", "median", "p90", "min", "max", "send p50", "aim"
    );
    for m in &measured {
        let mut sorted = m.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        let median = percentile(&sorted, 50);
        println!(
            "{:<6} {:<12} {:>9} {:>9} {:>9} {:>9} {:>10}  {:>8}{}",
            m.kind,
            m.handler,
            ms(median),
            ms(percentile(&sorted, 90)),
            ms(sorted[0]),
            ms(sorted[sorted.len() - 1]),
            ms(percentile(&sorted_of(&m.sends), 50)),
            format!("< {}", ms(m.aim.as_secs_f64() * 1000.0)),
            if m.not_ok > 0 {
                format!("  ({} not ok)", m.not_ok)
            } else {
                String::new()
            }
        );
    }

    // 3. Idle CPU, then the batching window, on the app file as it is.
    let mut runner = Runner::start(&options.app, &options.bootstrap).await?;
    let idle = idle_cpu(&runner, options.idle).await;
    let window = match window_of(&plan) {
        Some(window) if options.window_count > 0 => {
            let measured = latency_of(&mut runner, &plan, "on_order", options.window_count).await;
            Some((window, measured))
        }
        _ => None,
    };
    runner.stop().await;
    let idle = idle?;
    println!();
    println!(
        "idle `deployer local` over {:.0} s from Ready (% of one core, utime+stime) · load {}",
        idle.elapsed.as_secs_f64(),
        loadavg()
    );
    let mut total = 0.0;
    for (group, (processes, ticks)) in &idle.groups {
        let percent = *ticks as f64 / idle.ticks_per_second / idle.elapsed.as_secs_f64() * 100.0;
        total += percent;
        println!("  {group:<18} {processes:>2} process(es) {percent:>7.3} %");
    }
    println!("  {:<18} {:>15} {total:>7.3} %", "total", "");
    if idle.exited > 0 {
        println!(
            "  ({} process(es) exited during the minute; their time is not counted)",
            idle.exited
        );
    }
    if let Some((window, measured)) = window {
        let m = measured?;
        let sorted = sorted_of(&m.latencies);
        println!();
        println!(
            "on_order with the app's batching window of {} s: median {} · min {} · max {} ({} events after 1 warm-up)",
            window,
            ms(percentile(&sorted, 50)),
            ms(sorted[0]),
            ms(sorted[sorted.len() - 1]),
            sorted.len()
        );
    }
    Ok(())
}

/// Runs `deployer invoke on_order --sample` repeatedly; the wall times in ms, sorted.
fn invoke_times(options: &Options) -> Result<Vec<f64>, String> {
    let dir = options
        .app
        .parent()
        .ok_or("the app file has no directory")?;
    let mut times = Vec::new();
    for round in 0..options.invoke_runs + 2 {
        let mut cmd = std::process::Command::new(DEPLOYER);
        cmd.args(["invoke", "on_order", "--sample", "--bootstrap"])
            .arg(&options.bootstrap)
            .arg("--app")
            .arg(&options.app)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        isolate(&mut cmd);
        let started = Instant::now();
        let status = cmd.status().map_err(|e| format!("run deployer: {e}"))?;
        let elapsed = started.elapsed();
        if !status.success() {
            return Err(format!(
                "`deployer invoke on_order --sample` failed ({status})"
            ));
        }
        if round >= 2 {
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    Ok(sorted_of(&times))
}

/// One handler's figures.
struct Measured {
    kind: &'static str,
    handler: &'static str,
    aim: Duration,
    /// Event sent → handler start, ms.
    latencies: Vec<f64>,
    /// How long the SDK's send call took, ms.
    sends: Vec<f64>,
    not_ok: usize,
}

async fn latencies(
    runner: &mut Runner,
    plan: &Plan,
    count: usize,
) -> Result<Vec<Measured>, String> {
    let mut all = Vec::new();
    for (handler, aim) in HANDLERS {
        let mut m = latency_of(runner, plan, handler, count).await?;
        m.aim = aim;
        all.push(m);
    }
    Ok(all)
}

/// Sends `count` events (after one not counted) to `handler`'s source, one at a time.
async fn latency_of(
    runner: &mut Runner,
    plan: &Plan,
    handler: &'static str,
    count: usize,
) -> Result<Measured, String> {
    let ctx = SampleContext::new(REGION);
    let origin = Origin::for_handler(plan, handler, &ctx)
        .ok_or(format!("the app has no trigger for `{handler}`"))?;
    let sender = Sender::new(&runner.clients, &origin, &ctx).await?;
    let mut m = Measured {
        kind: origin.kind().keyword(),
        handler,
        aim: Duration::ZERO,
        latencies: Vec::new(),
        sends: Vec::new(),
        not_ok: 0,
    };
    let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
    for i in 0..=count {
        tokio::time::sleep(Duration::from_millis(100 + jitter.next() % 300)).await;
        let stray = runner.drain();
        if stray > 0 {
            eprintln!(
                "bench-local: {stray} unexpected invocation(s) before event {i} to {handler}"
            );
        }
        let sent_at = epoch_ms(SystemTime::now());
        let clock = Instant::now();
        sender.send(&runner.clients, i).await?;
        let send_ms = clock.elapsed().as_secs_f64() * 1000.0;
        let invocation = runner.next_of(handler).await?;
        if i == 0 {
            continue;
        }
        m.latencies.push(invocation.time_ms - sent_at);
        m.sends.push(send_ms);
        if invocation.result != "ok" {
            m.not_ok += 1;
        }
    }
    Ok(m)
}

/// How an event reaches one kind of source.
enum Sender {
    Queue { url: String },
    Topic { arn: String },
    Bucket { bucket: String, key: String },
    Rule { entry: PutEventsRequestEntry },
    Stream { name: String },
    Table { name: String },
}

impl Sender {
    async fn new(aws: &Clients, origin: &Origin, ctx: &SampleContext) -> Result<Sender, String> {
        Ok(match origin {
            Origin::Queue { queue_arn } => {
                let out = aws
                    .sqs
                    .get_queue_url()
                    .queue_name(last_field(queue_arn))
                    .send()
                    .await
                    .map_err(|e| format!("GetQueueUrl {queue_arn}: {e:?}"))?;
                Sender::Queue {
                    url: out.queue_url().unwrap_or_default().to_owned(),
                }
            }
            Origin::Topic { topic_arn } => Sender::Topic {
                arn: topic_arn.clone(),
            },
            Origin::Bucket { bucket, key, .. } => Sender::Bucket {
                bucket: bucket.clone(),
                key: key.clone(),
            },
            Origin::Rule { .. } => {
                let event = origin.event(ctx);
                let text =
                    |field: &str| event.get(field).and_then(Value::as_str).map(str::to_owned);
                let resources = event.get("resources").and_then(Value::as_array).map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                });
                let detail = event.get("detail").cloned().unwrap_or(Value::Null);
                Sender::Rule {
                    entry: PutEventsRequestEntry::builder()
                        .set_source(text("source"))
                        .set_detail_type(text("detail-type"))
                        .set_resources(resources)
                        .detail(detail.to_string())
                        .build(),
                }
            }
            Origin::Stream { stream_arn, .. } => Sender::Stream {
                name: last_field(stream_arn)
                    .trim_start_matches("stream/")
                    .to_owned(),
            },
            Origin::Table { stream_arn } => Sender::Table {
                name: stream_arn
                    .split(":table/")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .ok_or(format!("no table in {stream_arn}"))?
                    .to_owned(),
            },
            Origin::Schedule { .. } => return Err("schedules are not measured".into()),
        })
    }

    /// Sends event number `i`.
    async fn send(&self, aws: &Clients, i: usize) -> Result<(), String> {
        let failed = |what: &str, e: &dyn std::fmt::Debug| format!("{what}: {e:?}");
        match self {
            Sender::Queue { url } => {
                aws.sqs
                    .send_message()
                    .queue_url(url)
                    .message_body(ORDER)
                    .send()
                    .await
                    .map_err(|e| failed("SendMessage", &e))?;
            }
            Sender::Topic { arn } => {
                aws.sns
                    .publish()
                    .topic_arn(arn)
                    .subject(format!("Order o-{i} shipped"))
                    .message(format!("Order o-{i} left the warehouse."))
                    .send()
                    .await
                    .map_err(|e| failed("Publish", &e))?;
            }
            Sender::Bucket { bucket, key } => {
                aws.s3
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("image/png")
                    .body(aws_sdk_s3::primitives::ByteStream::from(
                        format!("example {i}").into_bytes(),
                    ))
                    .send()
                    .await
                    .map_err(|e| failed("PutObject", &e))?;
            }
            Sender::Rule { entry } => {
                let out = aws
                    .eventbridge
                    .put_events()
                    .entries(entry.clone())
                    .send()
                    .await
                    .map_err(|e| failed("PutEvents", &e))?;
                if out.failed_entry_count() > 0 {
                    return Err(format!("PutEvents: an entry failed: {out:?}"));
                }
            }
            Sender::Stream { name } => {
                aws.kinesis
                    .put_record()
                    .stream_name(name)
                    .partition_key("u-42")
                    .data(aws_sdk_kinesis::primitives::Blob::new(CLICK))
                    .send()
                    .await
                    .map_err(|e| failed("PutRecord", &e))?;
            }
            Sender::Table { name } => {
                let s = aws_sdk_dynamodb::types::AttributeValue::S;
                aws.dynamodb
                    .put_item()
                    .table_name(name)
                    .item("Id", s(format!("o-{i}")))
                    .item("Status", s("shipped".into()))
                    .send()
                    .await
                    .map_err(|e| failed("PutItem", &e))?;
            }
        }
        Ok(())
    }
}

/// A `deployer local --json` the bench started, with its own moto server.
struct Runner {
    child: Child,
    pid: u32,
    clients: Clients,
    invocations: mpsc::UnboundedReceiver<Invocation>,
    stopped: bool,
}

/// One JSON line of the runner's stdout.
#[derive(Debug)]
struct Invocation {
    handler: String,
    /// `time`, ms since the epoch.
    time_ms: f64,
    result: String,
}

impl Runner {
    /// Starts it on `app` and waits for `Ready:`.
    async fn start(app: &Path, bootstrap: &Path) -> Result<Runner, String> {
        let mut cmd = Command::new(DEPLOYER);
        cmd.args(["local", "--json", "--no-watch", "--bootstrap"])
            .arg(bootstrap)
            .arg("--app")
            .arg(app)
            .current_dir(app.parent().ok_or("the app file has no directory")?)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut std_cmd = std::process::Command::new(DEPLOYER);
        isolate(&mut std_cmd);
        for (key, value) in std_cmd.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("run deployer local: {e}"))?;
        let pid = child.id().ok_or("deployer local exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;

        let (inv_tx, invocations) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(invocation) = parse_invocation(&line) {
                    let _ = inv_tx.send(invocation);
                }
            }
        });
        let (err_tx, mut err_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if std::env::var_os("BENCH_VERBOSE").is_some() {
                    eprintln!("  local: {line}");
                }
                let _ = err_tx.send(line);
            }
        });

        let mut said = Vec::new();
        let mut endpoint = None;
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = err_rx.recv().await {
                if let Some(rest) = line.split(" emulator (moto) at ").nth(1) {
                    endpoint = rest.split_whitespace().next().map(str::to_owned);
                }
                let ready = line.starts_with("Ready:");
                said.push(line);
                if ready {
                    return true;
                }
            }
            false
        })
        .await;
        let endpoint = match (ready, endpoint) {
            (Ok(true), Some(endpoint)) => endpoint,
            (ready, _) => {
                terminate(pid);
                let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
                let why = match ready {
                    Ok(true) => "did not say which emulator it started",
                    Ok(false) => "exited before it was ready",
                    Err(_) => "was not ready in time",
                };
                return Err(format!("deployer local {why}:\n{}", said.join("\n")));
            }
        };
        // Keep draining its stderr, so it never blocks on a full pipe.
        tokio::spawn(async move { while err_rx.recv().await.is_some() {} });
        Ok(Runner {
            child,
            pid,
            clients: clients_at(&endpoint, None).await,
            invocations,
            stopped: false,
        })
    }

    /// Drops invocations already reported; how many there were.
    fn drain(&mut self) -> usize {
        let mut n = 0;
        while self.invocations.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// The next invocation of `handler` (others, e.g. a schedule firing, are skipped).
    async fn next_of(&mut self, handler: &str) -> Result<Invocation, String> {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.invocations.recv()).await {
                Ok(Some(invocation)) if invocation.handler == handler => return Ok(invocation),
                Ok(Some(_)) => {}
                Ok(None) => return Err("deployer local exited".into()),
                Err(_) => {
                    return Err(format!(
                        "no invocation of {handler} within {EVENT_TIMEOUT:?}"
                    ));
                }
            }
        }
    }

    /// SIGTERM (it then stops its bootstraps and moto), and waits; SIGKILL if it hangs.
    async fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        terminate(self.pid);
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("bench-local: deployer local did not stop in 30 s; killing it");
            let _ = self.child.kill().await;
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if !self.stopped {
            terminate(self.pid);
        }
    }
}

fn terminate(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

fn parse_invocation(line: &str) -> Option<Invocation> {
    let v: Value = serde_json::from_str(line).ok()?;
    let time = chrono::DateTime::parse_from_rfc3339(v.get("time")?.as_str()?).ok()?;
    Some(Invocation {
        handler: v.get("handler")?.as_str()?.to_owned(),
        time_ms: time.timestamp_micros() as f64 / 1000.0,
        result: v.get("result")?.as_str()?.to_owned(),
    })
}

/// CPU per group of processes over the idle period.
struct Idle {
    elapsed: Duration,
    ticks_per_second: f64,
    /// group → (processes, ticks).
    groups: BTreeMap<&'static str, (usize, u64)>,
    exited: usize,
}

async fn idle_cpu(runner: &Runner, period: Duration) -> Result<Idle, String> {
    let before = processes_under(runner.pid)?;
    let clock = Instant::now();
    tokio::time::sleep(period).await;
    let after = processes_under(runner.pid)?;
    let elapsed = clock.elapsed();
    let mut groups: BTreeMap<&'static str, (usize, u64)> = BTreeMap::new();
    for (pid, p) in &after {
        let earlier = before
            .get(pid)
            .filter(|b| b.start == p.start)
            .map_or(0, |b| b.ticks);
        let entry = groups.entry(p.group).or_default();
        entry.0 += 1;
        entry.1 += p.ticks.saturating_sub(earlier);
    }
    let exited = before
        .iter()
        .filter(|(pid, b)| after.get(pid).is_none_or(|a| a.start != b.start))
        .count();
    Ok(Idle {
        elapsed,
        ticks_per_second: clock_ticks(),
        groups,
        exited,
    })
}

/// One process from /proc/PID/stat.
struct Proc {
    group: &'static str,
    /// utime + stime, in clock ticks.
    ticks: u64,
    start: u64,
}

/// `root` and every process under it, grouped: the deployer, the emulator (moto and anything under
/// it) and the bootstraps.
fn processes_under(root: u32) -> Result<HashMap<u32, Proc>, String> {
    struct Stat {
        comm: String,
        ppid: u32,
        ticks: u64,
        start: u64,
    }
    let mut all = HashMap::new();
    let entries = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so split at the last `)`.
        let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        if let (Some(ppid), Some(utime), Some(stime), Some(start)) =
            (field(1), field(11), field(12), field(19))
        {
            all.insert(
                pid,
                Stat {
                    comm: text[open + 1..close].to_owned(),
                    ppid: ppid as u32,
                    ticks: utime + stime,
                    start,
                },
            );
        }
    }
    let mut found = HashMap::new();
    let mut queue = vec![(root, "deployer")];
    while let Some((pid, inherited)) = queue.pop() {
        let Some(stat) = all.get(&pid) else { continue };
        let group = if pid == root {
            "deployer"
        } else if stat.comm == "bootstrap" {
            "bootstraps"
        } else if inherited == "deployer" {
            "emulator (moto)"
        } else {
            inherited
        };
        found.insert(
            pid,
            Proc {
                group,
                ticks: stat.ticks,
                start: stat.start,
            },
        );
        for (child, s) in &all {
            if s.ppid == pid {
                queue.push((*child, group));
            }
        }
    }
    Ok(found)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A child `deployer` with no endpoint configured (so `local` starts its own moto) and no profile.
fn isolate(cmd: &mut std::process::Command) {
    without_aws(cmd)
        .env("AWS_REGION", REGION)
        .env("NO_COLOR", "1");
    if std::env::var_os("MOTO_SERVER").is_none()
        && let Some(server) = find_moto_server()
    {
        cmd.env("MOTO_SERVER", server);
    }
}

/// `source` with the `batching_window = ...` setting of each line (and a comma joining it) taken out.
fn without_batching_windows(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        match line.find("batching_window") {
            Some(at) => {
                let end = line[at..].find([',', '}']).map_or(line.len(), |e| at + e);
                let before = line[..at].trim_end();
                let after = &line[end..];
                match (before.strip_suffix(','), after.strip_prefix(',')) {
                    (Some(before), _) => out.push_str(&format!("{before} {after}")),
                    (None, Some(after)) => out.push_str(&format!("{before}{after}")),
                    (None, None) => out.push_str(&format!("{before} {after}")),
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `on_order`'s batching window in seconds, when it has one.
fn window_of(plan: &Plan) -> Option<u32> {
    plan.event_source_mappings
        .iter()
        .find(|m| m.function == "on_order")
        .and_then(|m| m.batching_window_s)
        .filter(|w| *w > 0)
}

/// The last `:`-separated part of an ARN.
fn last_field(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn epoch_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn sorted_of(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.2} s", value / 1000.0)
    } else {
        format!("{value:.1} ms")
    }
}

/// /proc/loadavg's three figures.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Pseudo-random pauses (xorshift), the same on every run.
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 >> 33
    }
}
