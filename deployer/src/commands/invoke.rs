//! `deployer invoke`: run one handler locally, through the real `bootstrap` and a local Lambda
//! Runtime API, exactly as Lambda runs it (or, with `--remote`, invoke the deployed function:
//! [`super::invoke_remote`]).
//!
//! The function gets its stage's settings from the plan (memory, timeout as the invocation's
//! deadline, environment, `_HANDLER`). The response goes to stdout, the handler's logs and a
//! Lambda-style `REPORT` line to stderr.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use chalice_codegen::ast::Kind;
use chalice_codegen::plan::{Function, Plan};
use clap::{ArgGroup, Args};
use serde_json::json;

use super::AppArg;
use super::CommandError;
use super::invocation::{InvokeFailure, MAX_EVENT_BYTES};
use crate::project::ProjectError;
use crate::project::bootstrap_arg::{BootstrapArg, Bootstraps};
use crate::project::package::{self, BuildOptions};
use crate::project::plan::{function_for, load_plan, project_dir};
use crate::project::prebuilt;
use chalice_lambda::process::{BootstrapCommand, BootstrapProcess, SpawnError};
use chalice_lambda::runtime_api::{
    FunctionConfig, FunctionError, InvokeError, Outcome, RuntimeApi,
};
use chalice_lambda::samples::{self, Origin, SampleContext};

/// Lambda's limit on a function's init phase.
pub const INIT_LIMIT: Duration = Duration::from_secs(10);
/// How long to wait for the last log lines once the bootstrap is stopped.
const LOG_DRAIN: Duration = Duration::from_millis(500);

/// `deployer invoke HANDLER (--event FILE | --sample | --remote [--event FILE | --sample]) [--stage NAME]
/// [--bootstrap FILE] [--app FILE]`
///
/// `--remote` is in the required group because it makes the event optional (`{}` is sent then).
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).multiple(true).args(["event", "sample", "remote"])))]
pub struct InvokeArgs {
    /// The handler to run, as named in the app file.
    #[arg(value_name = "HANDLER")]
    pub handler: String,
    /// The event to send: a JSON file, or `-` for stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    pub event: Option<PathBuf>,
    /// Send a sample event filled in from the handler's binding (what `deployer sample --handler` prints),
    /// carrying the app's own payload from samples/<handler>.json when it has one.
    #[arg(long)]
    pub sample: bool,
    /// The stage whose settings the function gets (memory, timeout, environment).
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Run this bootstrap instead of building one with `cargo build --bin bootstrap`: FILE, or
    /// ARCH=FILE (this machine's architecture's is run); a binary, a script, or a zip with a
    /// `bootstrap` entry. An ELF binary for another machine is refused.
    #[arg(long, value_name = "FILE|ARCH=FILE")]
    pub bootstrap: Vec<BootstrapArg>,
    /// Build the bootstrap with `--release` (default: the debug profile, quicker to build).
    #[arg(long, conflicts_with = "bootstrap")]
    pub release: bool,
    /// Invoke the function deployed in the stage (Lambda Invoke) instead of running it locally;
    /// without --event or --sample the event is `{}`.
    #[arg(long, conflicts_with_all = ["bootstrap", "release"])]
    pub remote: bool,
    #[command(flatten)]
    pub app: AppArg,
}

/// The source of `handler`'s binding, for a sample event.
pub fn origin_for(plan: &Plan, handler: &str, ctx: &SampleContext) -> Result<Origin, CommandError> {
    function_for(plan, handler)?;
    // Every planned function has a trigger; a plan without one is a bug in the plan emitter.
    Origin::for_handler(plan, handler, ctx).ok_or_else(|| {
        CommandError::Usage(format!(
            "the plan has no event source for handler `{handler}`"
        ))
    })
}

/// Reads and checks the event (`-` is stdin); warns when it looks like another kind's event.
fn read_event(path: &Path, expected: Kind) -> Result<Vec<u8>, InvokeFailure> {
    let shown = if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let read = |source| InvokeFailure::ReadEvent {
        path: shown.clone(),
        source,
    };
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(read)?;
        bytes
    } else {
        std::fs::read(path).map_err(read)?
    };
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(InvokeFailure::EventTooLarge {
            path: shown,
            size: bytes.len(),
        });
    }
    let event: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|error| InvokeFailure::EventNotJson { path: shown, error })?;
    let eventbridge = |k| matches!(k, Kind::Schedule | Kind::Rule);
    if let Some(found) = samples::kind_of_event(&event)
        && found != expected
        && !(eventbridge(found) && eventbridge(expected))
    {
        eprintln!(
            "warning: the event looks like a {} event, but the handler is a {} handler; sending it anyway",
            found.keyword(),
            expected.keyword()
        );
    }
    Ok(bytes)
}

/// Runs the invocation; the response (or error object) goes to `out`.
pub fn run(args: &InvokeArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    let plan = load_plan(&args.app.app, &args.stage)?;
    let function = function_for(&plan, &args.handler)?.clone();
    let runtime = crate::engine::runtime()?;
    let ctx = runtime.block_on(crate::aws::sample_context());
    let origin = origin_for(&plan, &args.handler, &ctx)?;
    let payload = match &args.event {
        Some(path) => read_event(path, origin.kind())?,
        None if args.sample => {
            let project = project_dir(&args.app.app);
            let event =
                crate::local::send::app_sample_event(&project, &args.handler, &origin, &ctx)?
                    .unwrap_or_else(|| origin.event(&ctx));
            serde_json::to_vec(&event).map_err(std::io::Error::from)?
        }
        // Only with --remote: the command line requires an event otherwise.
        None => b"{}".to_vec(),
    };
    if args.remote {
        return super::invoke_remote::run(&runtime, &plan, &function, payload, out);
    }
    let given = Bootstraps::combine(args.bootstrap.clone()).map_err(ProjectError::from)?;
    // Holds a binary taken out of a zip while it runs.
    let runnable = given.as_ref().map(prebuilt::for_this_machine).transpose()?;
    let program = match &runnable {
        Some(r) => r.path.clone(),
        None => {
            let mut build = BuildOptions::new(project_dir(&args.app.app));
            build.release = args.release;
            package::build(&build)?
        }
    };
    let mut command = BootstrapCommand::new(program)
        .handler(&function.handler)
        .echo_logs("");
    for (key, value) in &function.runtime_env() {
        command = command.env(key, value);
    }
    let config = FunctionConfig {
        function_name: function.name.clone(),
        region: ctx.aws.region.clone(),
        account_id: ctx.aws.account.clone(),
        memory_mb: function.memory_mb,
        version: "$LATEST".to_owned(),
        timeout: Duration::from_secs(u64::from(function.timeout_s)),
    };
    let report = runtime.block_on(invoke_once(&command, config, payload))?;
    finish(&function, report, out)
}

/// What one local invocation produced, with its measurements.
struct Report {
    /// Whether the bootstrap got as far as polling for the invocation.
    initialised: bool,
    request_id: Option<String>,
    outcome: Result<Outcome, Stopped>,
    /// From spawning the bootstrap to its first `/next` poll.
    init: Duration,
    /// From queueing the event to the outcome.
    duration: Duration,
    /// The bootstrap's peak resident memory (Linux), in kB.
    max_memory_kb: Option<u64>,
}

/// Why an invocation has no outcome.
enum Stopped {
    Timeout,
    Exited(ExitStatus),
    InitFailed(FunctionError),
}

/// Starts the Runtime API and the bootstrap, waits for its first poll (its cold start), sends the
/// event, and stops the bootstrap once the outcome is in (or the timeout passed).
async fn invoke_once(
    command: &BootstrapCommand,
    config: FunctionConfig,
    payload: Vec<u8>,
) -> Result<Report, InvokeFailure> {
    let timeout = config.timeout;
    let api = RuntimeApi::start(config).await.map_err(SpawnError::from)?;
    let mut process = command.spawn(&api)?;

    let ready = tokio::select! {
        biased;
        status = process.wait(INIT_LIMIT) => match status {
            Ok(status) => Err(Stopped::Exited(status)),
            Err(_) => Ok(false),
        },
        ready = api.wait_for_polls(1, INIT_LIMIT) => Ok(ready),
    };
    let init = process.spawned_at().elapsed();
    match ready {
        Ok(true) => {}
        Ok(false) => {
            stop(&mut process).await?;
            return Err(InvokeFailure::InitTimeout(INIT_LIMIT));
        }
        Err(stopped) => {
            stop(&mut process).await?;
            return Ok(Report {
                initialised: false,
                request_id: None,
                outcome: Err(stopped),
                init,
                duration: Duration::ZERO,
                max_memory_kb: None,
            });
        }
    }

    let started = Instant::now();
    let invocation = api.invocation(payload, timeout);
    let (request_id, outcome) = tokio::select! {
        biased;
        invocation = invocation => match invocation {
            Ok(done) => (Some(done.request_id), Ok(done.outcome)),
            Err(InvokeError::Timeout { request_id, .. }) => (Some(request_id), Err(Stopped::Timeout)),
            Err(InvokeError::InitFailed(error)) => (None, Err(Stopped::InitFailed(error))),
        },
        // Never a timeout first: the invocation's own timeout is shorter.
        status = process.wait(timeout + INIT_LIMIT) => match status {
            Ok(status) => (None, Err(Stopped::Exited(status))),
            Err(_) => (None, Err(Stopped::Timeout)),
        },
    };
    let duration = started.elapsed();
    let max_memory_kb = process.id().and_then(peak_memory_kb);
    stop(&mut process).await?;
    Ok(Report {
        initialised: true,
        request_id,
        outcome,
        init,
        duration,
        max_memory_kb,
    })
}

/// Kills the bootstrap (if it still runs) and waits for its last log lines.
async fn stop(process: &mut BootstrapProcess) -> Result<(), InvokeFailure> {
    if process.try_wait().map_err(InvokeFailure::Wait)?.is_none() {
        process.kill().await.map_err(InvokeFailure::Wait)?;
    }
    process.logs().wait_closed(LOG_DRAIN).await;
    Ok(())
}

/// `VmHWM` of a process, from `/proc/PID/status` (Linux only; `None` elsewhere).
fn peak_memory_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse().ok())
}

/// Prints the `REPORT` line on stderr and the response (or error object) on stdout.
fn finish(function: &Function, report: Report, out: &mut dyn Write) -> Result<(), CommandError> {
    eprintln!("{}", report_line(function, &report));
    if let Some(kb) = report.max_memory_kb
        && kb > u64::from(function.memory_mb) * 1024
    {
        eprintln!(
            "warning: the bootstrap used {} MB, more than the function's {} MB: Lambda would have stopped it",
            kb.div_ceil(1024),
            function.memory_mb
        );
    }
    let request_id = match &report.request_id {
        Some(id) => format!("RequestId: {id} "),
        None => String::new(),
    };
    let failure = match report.outcome {
        Ok(Outcome::Response(body)) => {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(json) => {
                    serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::from)?
                }
                Err(_) => out.write_all(&body)?,
            }
            writeln!(out)?;
            return Ok(());
        }
        Ok(Outcome::Error(error)) => InvokeFailure::Handler {
            handler: function.handler.clone(),
            error,
        },
        Err(Stopped::Timeout) => InvokeFailure::Timeout {
            handler: function.handler.clone(),
            seconds: u64::from(function.timeout_s),
        },
        Err(Stopped::Exited(status)) => InvokeFailure::Exited(status),
        Err(Stopped::InitFailed(error)) => InvokeFailure::InitFailed(error),
    };
    // What Lambda's Invoke returns as the payload of a failed invocation.
    let (error_type, error_message) = match &failure {
        InvokeFailure::Handler { error, .. } | InvokeFailure::InitFailed(error) => {
            (error.error_type.clone(), error.error_message.clone())
        }
        InvokeFailure::Timeout { .. } => (
            "Sandbox.Timedout".to_owned(),
            format!(
                "{request_id}Error: Task timed out after {}.00 seconds",
                function.timeout_s
            ),
        ),
        InvokeFailure::Exited(status) => (
            "Runtime.ExitError".to_owned(),
            format!("{request_id}Error: Runtime exited with error: {status}"),
        ),
        _ => ("Unhandled".to_owned(), failure.to_string()),
    };
    let payload = json!({ "errorType": error_type, "errorMessage": error_message });
    serde_json::to_writer_pretty(&mut *out, &payload).map_err(std::io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Err(failure.into())
}

/// Lambda's `REPORT RequestId: ID  Init Duration: 3.10 ms  Duration: 1.52 ms  Memory Size: 256 MB
/// Max Memory Used: 5 MB` (tab-separated), or `INIT_REPORT ...` when no invocation started.
fn report_line(function: &Function, report: &Report) -> String {
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    if !report.initialised {
        return format!(
            "INIT_REPORT Init Duration: {}\tPhase: init\tStatus: error",
            ms(report.init)
        );
    }
    let mut line = format!(
        "REPORT RequestId: {}\tInit Duration: {}\tDuration: {}\tMemory Size: {} MB",
        report.request_id.as_deref().unwrap_or("-"),
        ms(report.init),
        ms(report.duration),
        function.memory_mb
    );
    if let Some(kb) = report.max_memory_kb {
        line.push_str(&format!("\tMax Memory Used: {} MB", kb.div_ceil(1024)));
    }
    line
}
