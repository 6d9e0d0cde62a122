//! `deployer local`: the command line of the local runner (the engine is [`crate::local::runner`]).

use clap::Args;

use super::AppArg;
use super::CommandError;
use crate::local::runner::{self, RunnerOptions};
use crate::project::ProjectError;
use crate::project::bootstrap_arg::{BootstrapArg, Bootstraps};
use crate::project::prebuilt;

/// `deployer local [--stage NAME] [--fire HANDLER]... [--json] [--no-watch] [--bootstrap FILE]`
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// The stage whose settings the functions get (memory, timeout, environment, batch sizes).
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Fire this schedule once as soon as the app is ready (repeatable); later, type its name and Enter.
    #[arg(long, value_name = "HANDLER")]
    pub fire: Vec<String>,
    /// One JSON object per invocation on stdout (time, handler, summary, duration_ms, result, logs).
    #[arg(long)]
    pub json: bool,
    /// Do not rebuild when the code changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Run this bootstrap instead of building one (implies --no-watch): FILE, or ARCH=FILE (this
    /// machine's architecture's is run); a binary, a script, or a zip with a `bootstrap` entry. An
    /// ELF binary for another machine is refused.
    #[arg(long, value_name = "FILE|ARCH=FILE")]
    pub bootstrap: Vec<BootstrapArg>,
    /// Build the bootstrap with `--release` (default: the debug profile, quicker to build).
    #[arg(long, conflicts_with = "bootstrap")]
    pub release: bool,
    #[command(flatten)]
    pub app: AppArg,
}

/// Runs the app locally until Ctrl-C.
pub fn run(args: LocalArgs, color: bool) -> Result<(), CommandError> {
    let given = Bootstraps::combine(args.bootstrap).map_err(ProjectError::from)?;
    // Holds a binary taken out of a zip while the runner runs it.
    let runnable = given.as_ref().map(prebuilt::for_this_machine).transpose()?;
    let opts = RunnerOptions {
        app: args.app.app,
        stage: args.stage,
        fire: args.fire,
        json: args.json,
        color,
        watch: !args.no_watch && runnable.is_none(),
        bootstrap: runnable.as_ref().map(|r| r.path.clone()),
        release: args.release,
    };
    // Several handlers, pollers and the file watcher at once: two worker threads are plenty.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CommandError::Output)?;
    let result = runtime
        .block_on(runner::run(opts))
        .map_err(CommandError::from);
    // A build or a terminal read may still be running on a blocking thread: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
