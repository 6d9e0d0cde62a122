//! The deploy engine: a stage's plan and code → resolve names and ARNs ∥ read what is live → diff →
//! apply in dependency order → record state. It knows no command line: it takes a plan, clients and a
//! deploy record, and reports through [`EngineError`].

pub mod apply;
pub mod calls_report;
pub mod converge;
pub mod desired;
pub mod diff;
pub mod lock;
pub mod plan_view;
pub mod read;
pub mod resolve;
pub mod saved_plan;
pub mod session;
pub mod state;

use crate::aws::AwsError;
use crate::resources::CallError;
use state::StateError;

/// Why the engine stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
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
    /// The deploy record is of another account or region than the AWS configuration.
    #[error(
        "{record} records a deploy to {recorded}, but the AWS configuration points at {configured}; use another \
         stage, or move that file away if the old deploy is gone"
    )]
    ElsewhereDeployed {
        record: String,
        /// `account 123456789012 in us-east-1`
        recorded: String,
        configured: String,
    },
    #[error("cancelled; nothing was changed")]
    Cancelled,
    /// Another deploy of the stage holds its lock.
    #[error(transparent)]
    Lock(Box<lock::LockError>),
    /// What is deployed changed while the plan was shown (another deploy of the stage ran meanwhile).
    #[error(
        "what is deployed changed while the plan was shown (another deploy of this stage ran meanwhile); \
         nothing was changed\n  hint: run the command again to see the plan as it is now"
    )]
    Moved,
    /// Ctrl-C or SIGTERM while writing: the lock was given back, what was done is recorded.
    #[error(
        "{0}: stopped; the deploy lock was released and every change made is recorded (in {1})\n  hint: run \
         `deployer {2}` again to finish"
    )]
    Interrupted(&'static str, String, String),
    /// `deploy --plan`: what is deployed is no longer what the saved plan was computed against.
    #[error(
        "the saved plan is stale: what is deployed has changed since it was made; nothing was changed:{}\n  \
         hint: make the plan again (`deployer plan --out FILE`), review it, and deploy that",
        .0.iter().map(|m| format!("\n  - {m}")).collect::<String>()
    )]
    StalePlan(Vec<String>),
    /// A saved plan that cannot be used here (unreadable, another account, other code).
    #[error(transparent)]
    SavedPlan(#[from] saved_plan::SavedPlanError),
    /// Some steps failed: the message says what was done and how to resume.
    #[error("{0}")]
    ApplyFailed(String),
    #[error("the deploy record: {0}")]
    State(StateError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

// By hand, not `#[from]`: that would also make them the error's source, printed twice.
impl From<AwsError> for EngineError {
    fn from(e: AwsError) -> EngineError {
        EngineError::Aws(e)
    }
}

impl From<lock::LockError> for EngineError {
    fn from(e: lock::LockError) -> EngineError {
        EngineError::Lock(Box::new(e))
    }
}

impl From<StateError> for EngineError {
    fn from(e: StateError) -> EngineError {
        EngineError::State(e)
    }
}

/// A single-threaded runtime: every call is I/O, and it starts in microseconds.
pub fn runtime() -> Result<tokio::runtime::Runtime, EngineError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EngineError::Runtime)
}
