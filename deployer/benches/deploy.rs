//! Deploy timings on one moto server: fresh deploy, no-op redeploy and delete, for the repo's example app
//! and a generated many-handler app; median of several rounds, with the AWS calls of each phase counted
//! by the (fault-free) test proxy.
//!
//! `scripts/bench-deploy.sh [--rounds N] [--handlers N] [--bootstrap FILE] [--app FILE] [--latency MS]
//! [--build TRIPLE]`, or `cargo bench -p chalice-deployer --bench deploy -- ...`. Without
//! `--bootstrap`, each app gets the tests' stand-in bootstrap padded to 1 MiB of bytes that do not
//! compress (a release bootstrap zips to about 1 MB): moto stores the code, never runs it.
//!
//! `--latency MS` makes the proxy hold every call that long before forwarding it (calls side by side
//! are held side by side, as a region answers them). Each phase also reports its sequential round
//! trips, the longest chain of AWS calls each started after the previous one was answered, counted
//! twice: `trips` by the deployer (its `--calls` report, from an SDK interceptor: one per operation,
//! retries included) and `seen` by the proxy (from the requests' arrival and answer times; any
//! deployer, e.g. an earlier build through `DEPLOYER_BIN=path`). At `MS` per call a phase waits at
//! least round trips × MS for AWS; the rest is the process, the build check and moto itself (which
//! answers one call at a time, 2-4 ms each, where AWS answers side by side).
//!
//! `--build TRIPLE` deploys the workspace's own example app (events.chalice in the workspace root)
//! without `--bootstrap`: the deployer runs `cargo build --release --target TRIPLE` itself, as a user's
//! deploy does (built once, untimed, first: every timed deploy finds it fresh).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use chalice_deployer::project::package::CodePackage;

use support::deployer;
use support::fault_proxy::{FaultProxy, Log};
use support::fixtures::create_sources;
use support::moto::Moto;
use support::project::{fake_bootstrap_of_size, try_plan_of};

struct Options {
    rounds: usize,
    handlers: usize,
    bootstrap: Option<PathBuf>,
    app: PathBuf,
    latency: Duration,
    /// Build the workspace's example app for this target in every deploy (no `--bootstrap`).
    build: Option<String>,
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
        rounds: 5,
        handlers: 80,
        bootstrap: None,
        app: root.join("events.chalice"),
        latency: Duration::ZERO,
        build: None,
    };
    let mut it = args.into_iter().filter(|a| a != "--bench");
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--handlers" => {
                options.handlers = value()?.parse().map_err(|e| format!("--handlers: {e}"))?
            }
            "--bootstrap" => options.bootstrap = Some(PathBuf::from(value()?)),
            "--app" => options.app = PathBuf::from(value()?),
            "--latency" => {
                let ms: u64 = value()?.parse().map_err(|e| format!("--latency: {e}"))?;
                options.latency = Duration::from_millis(ms);
            }
            "--build" => options.build = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-deploy: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-deploy: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let given = match &options.bootstrap {
        Some(path) => Some(
            path.canonicalize()
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let example = std::fs::read_to_string(&options.app)
        .map_err(|e| format!("{}: {e}", options.app.display()))?;
    let generated = generated_app(options.handlers);

    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let aws = moto.clients().await;
    println!(
        "moto {} · bootstrap {} · {} rounds (median, min–max) · {} ms per call · deployer {}",
        moto.endpoint(),
        match (&options.build, &given) {
            (Some(target), _) => format!("built by the deploy (--target {target})"),
            (None, Some(p)) => p.display().to_string(),
            (None, None) => "stand-in, 1 MiB".into(),
        },
        options.rounds,
        options.latency.as_millis(),
        bin(),
    );

    // Process start-up alone, for scale.
    let mut startup = Vec::new();
    for _ in 0..options.rounds {
        let started = Instant::now();
        let status = Command::new(bin())
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("`deployer --version` failed".into());
        }
        startup.push(started.elapsed());
    }
    println!("deployer --version: {}", secs(median(&startup)));
    println!();
    println!(
        "{:<10} {:>8}  {:<9} {:>8} {:>17}  {:>5} {:>5} {:>6} {:>6}  {:>9}",
        "app",
        "handlers",
        "phase",
        "median",
        "min–max",
        "calls",
        "reads",
        "writes",
        "trips",
        "code"
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    let apps: Vec<(&str, String)> = match &options.build {
        Some(_) => vec![("example", example)],
        None => vec![("example", example), ("generated", generated)],
    };
    for (label, source) in apps {
        let plan = try_plan_of(&source)?;
        create_sources(&aws, &plan).await;
        let dir = match &options.build {
            Some(_) => root.clone(),
            None => work.path().join(label),
        };
        if options.build.is_none() {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("events.chalice"), &source).map_err(|e| e.to_string())?;
        }
        let bootstrap = match (&options.build, &given) {
            (Some(_), _) => None,
            // A real bootstrap serves the example app only.
            (None, Some(path)) if label == "example" => Some(path.clone()),
            (None, _) => {
                let path = dir.join("bootstrap");
                let bytes = fake_bootstrap_of_size(&source, label, 1 << 20);
                std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
                Some(path)
            }
        };
        let code = match &bootstrap {
            Some(b) => {
                let zipped = CodePackage::from_file(b).map_err(|e| e.to_string())?;
                format!("{} KiB", zipped.zip.len() / 1024)
            }
            None => "built".into(),
        };
        let bench = Bench {
            moto: &moto,
            proxy: &proxy,
            dir: &dir,
            bootstrap: bootstrap.as_deref(),
            build: options.build.as_deref(),
            reports: work.path(),
        };
        // Warm-up (page cache, moto's lazy imports, the build), not timed.
        proxy.set_latency(Duration::ZERO);
        bench.phase("deploy")?;
        bench.phase("delete")?;
        proxy.set_latency(options.latency);
        let mut phases: BTreeMap<&str, Rounds> = BTreeMap::new();
        for _ in 0..options.rounds {
            for (name, command) in [
                ("1 deploy", "deploy"),
                ("2 redeploy", "deploy"),
                ("3 delete", "delete"),
            ] {
                let (elapsed, log, trips) = bench.phase(command)?;
                let entry = phases.entry(name).or_default();
                entry.0.push(elapsed);
                entry.1.push(log);
                entry.2.push(trips);
            }
        }
        for (name, (times, logs, trips)) in &phases {
            report(
                label,
                plan.functions.len(),
                &name[2..],
                times,
                logs,
                trips,
                &code,
            );
        }
    }
    Ok(())
}

/// A phase's rounds: times, the proxy's logs, the deployer's round trips.
type Rounds = (Vec<Duration>, Vec<Log>, Vec<u64>);

/// One line of the table: a phase's times and (last round's) calls and sequential round trips.
fn report(
    label: &str,
    handlers: usize,
    phase: &str,
    times: &[Duration],
    logs: &[Log],
    trips: &[u64],
    code: &str,
) {
    let log = logs.last().expect("a round");
    let varies = logs.iter().any(|l| l.requests.len() != log.requests.len());
    let mut sorted = trips.to_vec();
    sorted.sort_unstable();
    let mut seen: Vec<usize> = logs.iter().map(Log::round_trips).collect();
    seen.sort_unstable();
    println!(
        "{:<10} {:>8}  {:<9} {:>8} {:>17}  {:>5} {:>5} {:>6} {:>6} {:>6}  {:>9}{}",
        label,
        handlers,
        phase,
        secs(median(times)),
        format!(
            "{}–{}",
            secs(*times.iter().min().expect("a round")),
            secs(*times.iter().max().expect("a round"))
        ),
        log.requests.len(),
        log.reads(),
        log.writes(),
        sorted[sorted.len() / 2],
        seen[seen.len() / 2],
        code,
        if varies {
            "  (call counts vary between rounds)"
        } else {
            ""
        },
    );
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        for (op, n) in log.by_operation() {
            println!("{:>40} {n}", op);
        }
    }
}

struct Bench<'a> {
    moto: &'a Moto,
    proxy: &'a FaultProxy,
    dir: &'a Path,
    bootstrap: Option<&'a Path>,
    build: Option<&'a str>,
    /// Where the `--calls` reports go.
    reports: &'a Path,
}

impl Bench<'_> {
    /// Runs `deployer deploy|delete --yes` once; its wall time, the calls it made and its
    /// sequential round trips (from its `--calls` report).
    fn phase(&self, command: &str) -> Result<(Duration, Log, u64), String> {
        let report = self.reports.join("calls.json");
        let mut cmd = deployer::against(self.moto, self.dir, &[command, "--yes"]);
        cmd.arg("--calls").arg(&report);
        if let Some(other) = std::env::var_os("DEPLOYER_BIN") {
            // Same arguments and environment, another build (e.g. an earlier version, to compare).
            let mut with = Command::new(other);
            with.stdin(Stdio::null());
            with.args(cmd.get_args()).current_dir(self.dir);
            for (k, v) in cmd.get_envs() {
                match v {
                    Some(v) => with.env(k, v),
                    None => with.env_remove(k),
                };
            }
            cmd = with;
        }
        if command == "deploy" {
            if let Some(bootstrap) = self.bootstrap {
                cmd.arg("--bootstrap").arg(bootstrap);
            }
            if let Some(target) = self.build {
                cmd.args(["--target", target]);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", self.proxy.endpoint());
        self.proxy.reset();
        let run = deployer::run(&mut cmd);
        if run.code != Some(0) {
            return Err(format!(
                "`deployer {command}` in {} failed ({:?}):\n{}",
                self.dir.display(),
                run.code,
                run.output()
            ));
        }
        // 0: the deployer's report has no round trips (an earlier version).
        let trips = std::fs::read_to_string(&report)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["round_trips"].as_u64())
            .unwrap_or(0);
        Ok((run.elapsed, self.proxy.log(), trips))
    }
}

/// `n` handlers cycling through the seven kinds, sharing a few buckets, topics, streams and tables.
fn generated_app(n: usize) -> String {
    let mut s = String::from(
        "# generated by benches/deploy.rs\napp bench\n\ndefaults { memory = 128, timeout = 30s }\n\n",
    );
    for i in 0..n {
        let line = match i % 7 {
            0 => format!("schedule h{i} rate({} minutes)\n", 5 + i),
            1 => format!("rule     h{i} {{ pattern = {{ \"source\": [\"bench.{i}\"] }} }}\n"),
            2 => format!(
                "bucket   h{i} \"bench-bucket-{}\" {{ events = [\"s3:ObjectCreated:*\"], prefix = \"p{i}/\" }}\n",
                i % 3
            ),
            3 => format!("topic    h{i} \"bench-topic-{}\"\n", i % 4),
            4 => format!("queue    h{i} \"bench-queue-{i}\" {{ batch_size = 10 }}\n"),
            5 => format!(
                "stream   h{i} \"bench-stream-{}\" {{ starting_position = latest }}\n",
                i % 3
            ),
            _ => format!(
                "table    h{i} \"bench-table-{}\" {{ starting_position = latest }}\n",
                i % 3
            ),
        };
        s.push_str(&line);
    }
    s
}

/// The deployer run: `DEPLOYER_BIN` (to compare another build), else the one cargo built.
fn bin() -> String {
    std::env::var("DEPLOYER_BIN").unwrap_or_else(|_| deployer::BIN.to_owned())
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}
