//! One module per `deployer` subcommand; each writes its results to the `out` it is given.

pub mod check;
pub mod delete;
pub mod deploy;
pub mod invoke;
pub mod invoke_remote;
pub mod local;
pub mod logs;
pub mod plan;
pub mod sample;

use std::io;

use chalice_codegen::emit_plan::UnknownStage;

use crate::app_file::LoadError;
use crate::aws::AwsError;
use crate::package::PackageError;
use crate::resources::CallError;
use crate::state::StateError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    UnknownStage(#[from] UnknownStage),
    /// No credentials, no region, STS unreachable: nothing was read or changed.
    #[error(
        "{0}\n  hint: AWS settings come from the standard chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or \
             AWS_PROFILE (~/.aws/credentials), AWS_REGION, and AWS_ENDPOINT_URL for an emulator; nothing was changed \
             (`deployer plan --offline` plans without AWS)"
    )]
    Aws(AwsError),
    #[error("reading what is deployed failed: {0}; nothing was changed")]
    Read(CallError),
    /// Everything that stops a deploy, found before any write.
    #[error("{} problem(s) found; nothing was changed:{}", .0.len(), .0.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Problems(Vec<String>),
    #[error(
        "{what} needs confirmation, but stdin is not a terminal: pass --yes to {what} without asking"
    )]
    NeedsYes { what: &'static str },
    #[error("cancelled; nothing was changed")]
    Cancelled,
    /// Some steps failed: the message says what was done and how to resume.
    #[error("{0}")]
    ApplyFailed(String),
    #[error("the deploy record: {0}")]
    State(StateError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the output")]
    Output(#[from] io::Error),
    /// `invoke`/`sample` name a handler or kind the app does not have (exit status 2).
    #[error(transparent)]
    Argument(#[from] invoke::ArgumentError),
    /// `invoke`: the handler failed, timed out, or its bootstrap could not run.
    #[error(transparent)]
    Invoke(#[from] invoke::InvokeFailure),
    /// `local`: the runner could not start.
    #[error(transparent)]
    Local(#[from] crate::local::runner::LocalError),
}

impl CommandError {
    /// The process exit status this error calls for: 2 for a wrong argument, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Argument(_) => crate::cli::EXIT_USAGE,
            _ => crate::cli::EXIT_FAILURE,
        }
    }
}

// By hand, not `#[from]`: that would also make them the error's source, printed twice.
impl From<AwsError> for CommandError {
    fn from(e: AwsError) -> CommandError {
        CommandError::Aws(e)
    }
}

impl From<StateError> for CommandError {
    fn from(e: StateError) -> CommandError {
        CommandError::State(e)
    }
}
