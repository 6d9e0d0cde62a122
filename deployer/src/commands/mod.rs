//! One module per `deployer` subcommand; each writes its results to the `out` it is given.
//!
//! The command layer: it turns arguments into calls of the project, engine and local layers, and
//! their errors into messages and exit codes.

pub mod check;
pub mod delete;
pub mod deploy;
pub mod invocation;
pub mod invoke;
pub mod invoke_remote;
pub mod local;
pub mod logs;
pub mod new;
pub mod package;
pub mod plan;
pub mod sample;

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;

use aws_config::retry::RetryConfig;
use chalice_codegen::emit_plan::UnknownStage;
use chalice_codegen::plan::Plan;
use clap::Args;

use crate::aws::{AwsError, ClientOptions, Clients};
use crate::engine::EngineError;
use crate::engine::session::Session;
use crate::engine::state::{StateError, StateFile};
use crate::local::runner::LocalError;
use crate::local::send::SendError;
use crate::project::app_file::DEFAULT_APP_FILE;
use crate::project::bootstrap_arg::BootstrapArgError;
use crate::project::plan::project_dir;
use crate::project::prebuilt::BootstrapError;
use crate::project::{HandlerError, LoadError, PackageError, ProjectError, ScaffoldError};
use crate::template::TemplateError;

/// Success (for `check`: the app file is valid).
pub const EXIT_OK: u8 = 0;
/// The app file has errors, or the command failed (file not found, unknown stage, ...).
pub const EXIT_FAILURE: u8 = 1;
/// The command line itself is wrong (unknown flag, missing value); clap's own code.
pub const EXIT_USAGE: u8 = 2;
/// `plan --detailed-exitcode`: the plan has changes (as Terraform's).
pub const EXIT_CHANGES: u8 = 2;

/// Which app file to read.
#[derive(Debug, Args)]
pub struct AppArg {
    /// The app file (relative to the current directory).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_APP_FILE)]
    pub app: PathBuf,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "{what} needs confirmation, but stdin is not a terminal: pass --yes to {what} without asking"
    )]
    NeedsYes { what: &'static str },
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the output")]
    Output(#[from] io::Error),
    /// `invoke`: the handler failed, timed out, or its bootstrap could not run.
    #[error(transparent)]
    Invoke(#[from] invocation::InvokeFailure),
    /// `package`: the template could not be made.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// `local`: the runner could not start.
    #[error(transparent)]
    Local(Box<LocalError>),
    /// `local send`: the event could not be sent.
    #[error(transparent)]
    Send(Box<SendError>),
}

/// The project's errors keep their own variant (and exit code: 2 for an unknown handler).
impl From<SendError> for CommandError {
    fn from(e: SendError) -> CommandError {
        match e {
            SendError::Project(e) => CommandError::Project(e),
            other => CommandError::Send(Box::new(other)),
        }
    }
}

/// The project's and the engine's errors keep their own variants (and exit codes).
impl From<LocalError> for CommandError {
    fn from(e: LocalError) -> CommandError {
        match e {
            LocalError::Project(e) => CommandError::Project(e),
            LocalError::Engine(e) => CommandError::Engine(e),
            other => CommandError::Local(Box::new(other)),
        }
    }
}

impl CommandError {
    /// The process exit status this error calls for: 2 for a handler or kind the app does not have,
    /// or a name `deployer new` cannot use, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Project(
                ProjectError::Handler(_)
                | ProjectError::BootstrapArg(_)
                | ProjectError::Scaffold(ScaffoldError::InvalidName { .. }),
            ) => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }
}

macro_rules! via {
    ($layer:ident: $($from:ty),*) => {$(
        impl From<$from> for CommandError {
            fn from(e: $from) -> CommandError {
                CommandError::$layer(e.into())
            }
        }
    )*};
}
via!(Project: LoadError, UnknownStage, HandlerError, PackageError, ScaffoldError, BootstrapArgError, BootstrapError);
via!(Engine: AwsError, StateError);

/// Options every live command (`plan`, `deploy`, `delete`) takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    pub app: PathBuf,
    pub stage: String,
    /// SDK attempts per call (retries with backoff); `None`: the chain's (`AWS_MAX_ATTEMPTS`, else 3).
    pub max_attempts: Option<u32>,
    /// Where to write the `--calls` JSON report (`-`: stderr).
    pub calls: Option<PathBuf>,
    /// How another deploy's lock of the stage is dealt with (`deploy`, `delete`).
    pub lock: crate::engine::lock::LockOptions,
}

/// Opens the stage's deploy record beside the app file and connects, to deploy or delete `plan`.
pub async fn open_session(
    command: &str,
    opts: &LiveOptions,
    plan: Plan,
) -> Result<Session, CommandError> {
    let state = StateFile::open(&project_dir(&opts.app), &plan.app, &plan.stage)?;
    let options = ClientOptions {
        retry: opts
            .max_attempts
            .map(|n| RetryConfig::standard().with_max_attempts(n.max(1))),
        ..ClientOptions::default()
    };
    let clients = Clients::load(&options).await;
    let mut session = Session::open(command, plan, clients, state, opts.calls.clone()).await?;
    session.lock_options = opts.lock.clone();
    Ok(session)
}

/// Writes `doc` to `out` as pretty JSON and a newline: the one document of `--json` output.
pub fn write_json(out: &mut dyn Write, doc: &serde_json::Value) -> Result<(), CommandError> {
    serde_json::to_writer_pretty(&mut *out, doc).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// What `deploy --json` and `delete --json` print: the changes made and their summary, with the app,
/// stage, account and region they were made in.
pub fn changes_json(s: &Session, changes: &[crate::engine::diff::Change]) -> serde_json::Value {
    let mut doc = crate::engine::diff::to_json(changes);
    doc["app"] = s.plan.app.clone().into();
    doc["stage"] = s.plan.stage.clone().into();
    doc["account"] = s.ctx.account.clone().into();
    doc["region"] = s.ctx.region.clone().into();
    doc
}

/// Asks on the terminal; `Ok(false)` unless the answer is `y` or `yes`.
pub fn confirm(question: &str) -> io::Result<bool> {
    let mut err = io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Fails early when a confirmation would be needed but cannot be asked.
pub fn require_confirmation_possible(yes: bool, what: &'static str) -> Result<(), CommandError> {
    if yes || io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(CommandError::NeedsYes { what })
    }
}
