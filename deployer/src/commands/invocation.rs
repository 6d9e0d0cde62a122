//! Why an invocation, local or remote, did not succeed (exit status 1).

use std::process::ExitStatus;
use std::time::Duration;

use chalice_lambda::process::SpawnError;
use chalice_lambda::runtime_api::FunctionError;

/// Lambda's limit on a synchronous invocation's payload.
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// Why an invocation did not succeed (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum InvokeFailure {
    /// The handler (or the runtime, for an event it could not read) reported an error.
    #[error("handler `{handler}` failed: {error}")]
    Handler {
        handler: String,
        error: FunctionError,
    },
    #[error(
        "handler `{handler}` timed out after {seconds} s (its timeout in this stage); the bootstrap was stopped"
    )]
    Timeout { handler: String, seconds: u64 },
    /// `--remote`: the `Invoke` call itself failed (the function did not necessarily run).
    #[error("{0}")]
    Call(crate::resources::CallError),
    /// `--remote` against an emulator (moto) that tried to run the function in Docker and could not.
    #[error(
        "the emulator at {endpoint} could not run `{function}`: it runs functions in Docker, which it cannot \
         reach ({answer}).\n\
         To invoke there without Docker, switch its Lambda to echo mode, then deploy again (moto keeps \
         functions made before the switch apart); Invoke then returns the event it was sent:\n  \
         curl -X POST {endpoint}/moto-api/config -H 'Content-Type: application/json' -d '{{\"lambda\":{{\"use_docker\":false}}}}'\n  \
         {deploy}\n\
         To run the handler's code, invoke it here instead: deployer invoke {handler} --sample"
    )]
    EmulatorWithoutDocker {
        endpoint: String,
        function: String,
        handler: String,
        /// The command that deploys the stage again.
        deploy: String,
        /// What the emulator answered.
        answer: String,
    },
    #[error("the bootstrap exited ({0}) before answering; its output is above")]
    Exited(ExitStatus),
    #[error("the bootstrap failed to initialise: {0}")]
    InitFailed(FunctionError),
    #[error(
        "the bootstrap did not ask for an invocation within {0:?} (Lambda's init limit); it was stopped"
    )]
    InitTimeout(Duration),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("cannot wait for the bootstrap: {0}")]
    Wait(std::io::Error),
    #[error("cannot read the event from {path}")]
    ReadEvent {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the event from {path} is not JSON: {error}")]
    EventNotJson {
        path: String,
        error: serde_json::Error,
    },
    #[error(
        "the event from {path} is {size} bytes; Lambda accepts at most {MAX_EVENT_BYTES} for a synchronous invocation"
    )]
    EventTooLarge { path: String, size: usize },
}
