//! Deploy timings on one moto server: fresh deploy, no-op redeploy and delete, for the repo's example app
//! and a generated many-handler app; median of several rounds, with the AWS calls of each phase counted
//! by the (fault-free) test proxy.
//!
//! `scripts/bench-deploy.sh [--rounds N] [--handlers N] [--bootstrap FILE] [--app FILE]`, or
//! `cargo bench -p chalice-deployer --bench deploy -- ...`. Without `--bootstrap`, a 1 MiB stand-in of
//! random bytes (a release bootstrap zips to about 1 MB) is used: moto stores the code, never runs it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use chalice_codegen::plan::{MappingSource, Plan};
use chalice_deployer::aws::Clients;

use support::fault_proxy::{FaultProxy, Log};
use support::moto::Moto;

struct Options {
    rounds: usize,
    handlers: usize,
    bootstrap: Option<PathBuf>,
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
        rounds: 5,
        handlers: 80,
        bootstrap: None,
        app: root.join("events.chalice"),
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
    let bootstrap = match &options.bootstrap {
        Some(path) => path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => {
            let path = work.path().join("bootstrap");
            std::fs::write(&path, stand_in_binary(1 << 20)).map_err(|e| e.to_string())?;
            path
        }
    };
    let example = std::fs::read_to_string(&options.app)
        .map_err(|e| format!("{}: {e}", options.app.display()))?;
    let generated = generated_app(options.handlers);

    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint());
    let aws = moto.clients().await;
    let code_zip = chalice_deployer::project::package::CodePackage::from_file(&bootstrap)
        .map_err(|e| e.to_string())?;
    println!(
        "moto {} · bootstrap {} ({} KiB zipped) · {} rounds (median, min–max) · deployer {}",
        moto.endpoint(),
        bootstrap.display(),
        code_zip.zip.len() / 1024,
        options.rounds,
        env!("CARGO_BIN_EXE_deployer"),
    );

    // Process start-up alone, for scale.
    let mut startup = Vec::new();
    for _ in 0..options.rounds {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_deployer"))
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
        "{:<10} {:>8}  {:<9} {:>8} {:>17}  {:>5} {:>5} {:>6}",
        "app", "handlers", "phase", "median", "min–max", "calls", "reads", "writes"
    );

    for (label, source) in [("example", example), ("generated", generated)] {
        let plan = plan_of(&source)?;
        create_sources(&aws, &plan).await?;
        let dir = work.path().join(label);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("events.chalice"), &source).map_err(|e| e.to_string())?;
        let bench = Bench {
            moto: &moto,
            proxy: &proxy,
            dir: &dir,
            bootstrap: &bootstrap,
        };
        // Warm-up (page cache, moto's lazy imports), not timed.
        bench.phase("deploy")?;
        bench.phase("delete")?;
        let mut phases: BTreeMap<&str, (Vec<Duration>, Vec<Log>)> = BTreeMap::new();
        for _ in 0..options.rounds {
            for (name, command) in [
                ("1 deploy", "deploy"),
                ("2 redeploy", "deploy"),
                ("3 delete", "delete"),
            ] {
                let (elapsed, log) = bench.phase(command)?;
                let entry = phases.entry(name).or_default();
                entry.0.push(elapsed);
                entry.1.push(log);
            }
        }
        for (name, (times, logs)) in &phases {
            let log = logs.last().expect("a round");
            let varies = logs.iter().any(|l| l.requests.len() != log.requests.len());
            println!(
                "{:<10} {:>8}  {:<9} {:>8} {:>17}  {:>5} {:>5} {:>6}{}",
                label,
                plan.functions.len(),
                &name[2..],
                secs(median(times)),
                format!(
                    "{}–{}",
                    secs(*times.iter().min().expect("a round")),
                    secs(*times.iter().max().expect("a round"))
                ),
                log.requests.len(),
                log.reads(),
                log.writes(),
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
    }
    Ok(())
}

struct Bench<'a> {
    moto: &'a Moto,
    proxy: &'a FaultProxy,
    dir: &'a Path,
    bootstrap: &'a Path,
}

impl Bench<'_> {
    /// Runs `deployer deploy|delete --yes` once; its wall time and the calls it made.
    fn phase(&self, command: &str) -> Result<(Duration, Log), String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deployer"));
        cmd.args([command, "--yes"])
            .current_dir(self.dir)
            .stdin(Stdio::null());
        if command == "deploy" {
            cmd.arg("--bootstrap").arg(self.bootstrap);
        }
        self.moto.configure(&mut cmd);
        cmd.env("AWS_ENDPOINT_URL", self.proxy.endpoint())
            .env("NO_COLOR", "1");
        self.proxy.reset();
        let started = Instant::now();
        let output = cmd.output().map_err(|e| format!("run deployer: {e}"))?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            return Err(format!(
                "`deployer {command}` in {} failed ({}):\n{}{}",
                self.dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok((elapsed, self.proxy.log()))
    }
}

fn plan_of(source: &str) -> Result<Plan, String> {
    let model = chalice_codegen::load("events.chalice", source).map_err(|d| d.render(false))?;
    chalice_codegen::emit_plan::plan(&model, "dev").map_err(|e| e.to_string())
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

/// The last `/`- or `:`-separated part of an ARN (a queue's or topic's name).
fn arn_name(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

/// Creates every bucket, topic, queue, stream, table and bus the plan reads from (once).
async fn create_sources(aws: &Clients, plan: &Plan) -> Result<(), String> {
    let err = |what: &str, e: &dyn std::fmt::Debug| format!("create {what}: {e:?}");
    for b in &plan.bucket_notifications {
        if aws.s3.head_bucket().bucket(&b.bucket).send().await.is_err() {
            aws.s3
                .create_bucket()
                .bucket(&b.bucket)
                .send()
                .await
                .map_err(|e| err(&b.bucket, &e))?;
        }
    }
    for s in &plan.subscriptions {
        let name = arn_name(s.topic_arn.as_str());
        aws.sns
            .create_topic()
            .name(name)
            .send()
            .await
            .map_err(|e| err(name, &e))?;
    }
    for bus in plan.rules.iter().filter_map(|r| r.event_bus.as_deref()) {
        let _ = aws.eventbridge.create_event_bus().name(bus).send().await;
    }
    for m in &plan.event_source_mappings {
        match &m.source {
            MappingSource::Queue { arn } => {
                let name = arn_name(arn.as_str());
                aws.sqs
                    .create_queue()
                    .queue_name(name)
                    .attributes(QueueAttributeName::VisibilityTimeout, "900")
                    .send()
                    .await
                    .map_err(|e| err(name, &e))?;
            }
            MappingSource::Stream { arn } => {
                let name = arn_name(arn.as_str());
                if aws
                    .kinesis
                    .describe_stream_summary()
                    .stream_name(name)
                    .send()
                    .await
                    .is_err()
                {
                    aws.kinesis
                        .create_stream()
                        .stream_name(name)
                        .shard_count(1)
                        .send()
                        .await
                        .map_err(|e| err(name, &e))?;
                }
            }
            MappingSource::Table { table } => {
                if aws
                    .dynamodb
                    .describe_table()
                    .table_name(table)
                    .send()
                    .await
                    .is_err()
                {
                    create_table(aws, table).await.map_err(|e| err(table, &e))?;
                }
            }
            MappingSource::TableStream { .. } => {}
        }
    }
    Ok(())
}

async fn create_table(aws: &Clients, name: &str) -> Result<(), String> {
    let build = |e: aws_sdk_dynamodb::error::BuildError| e.to_string();
    aws.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .map_err(build)?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// `len` bytes that do not compress (like a stripped binary, roughly).
fn stand_in_binary(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}
