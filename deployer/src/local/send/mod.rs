//! `deployer local send`: one event to a handler's source, through the emulator's own API, so the
//! runner delivers it as Lambda would.
//!
//! - [`target`]: where to send (the running runner's emulator, else the configured endpoint).
//! - [`shape`]: the payload made into what the kind's API takes (pure; the per-kind contract).
//! - [`deliver`]: the SDK call.
//!
//! A schedule is not sent anywhere: the running runner is asked to fire it ([`crate::local::control`]).

pub mod deliver;
pub mod event;
pub mod shape;
pub mod target;

use std::io::Read;
use std::path::{Path, PathBuf};

use chalice_lambda::samples::{Origin, SampleContext};

use crate::aws::AwsError;
use crate::local::control::{self, ControlError};
use crate::local::runner_info::RunnerInfoError;
use crate::project::plan::{function_for, load_plan, project_dir};
use crate::project::samples::{self, SampleError};
use crate::project::{HandlerError, ProjectError};
pub use deliver::DeliverError;
pub use shape::{Delivery, Extras, Payload, ShapeError};

/// The largest event file read (SQS's and EventBridge's limit is 256 KiB; S3 objects may be larger,
/// but this is a test tool).
const MAX_PAYLOAD_BYTES: u64 = 8 * 1024 * 1024;

/// What to send, to which handler.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub app: PathBuf,
    pub stage: String,
    pub handler: String,
    pub input: Input,
    pub extras: Extras,
}

/// Where the payload comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (`-`: stdin).
    File(PathBuf),
    /// The app's `samples/<handler>.json`, else a generic payload.
    Sample,
}

/// Why nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(
        "no runner is running for stage {stage}: start `deployer local` first (or point AWS_ENDPOINT_URL at an emulator)"
    )]
    NoRunner { stage: String },
    #[error("the runner of stage {stage} runs app `{running}`, not `{app}`")]
    OtherApp {
        stage: String,
        running: String,
        app: String,
    },
    #[error(
        "no runner is running for stage {stage} to fire schedule {schedule}: start `deployer local --fire {schedule}`, or type `{schedule}` and Enter in the runner's terminal"
    )]
    NoRunnerToFire { stage: String, schedule: String },
    #[error("cannot fire schedule {schedule}: {source}")]
    Fire {
        schedule: String,
        source: ControlError,
    },
    #[error(transparent)]
    RunnerInfo(#[from] RunnerInfoError),
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("cannot read the event file {path}: {source}")]
    ReadEvent {
        path: String,
        source: std::io::Error,
    },
    #[error("the event file {path} is larger than {MAX_PAYLOAD_BYTES} bytes")]
    TooLarge { path: String },
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("{handler}: {source}")]
    Shape { handler: String, source: ShapeError },
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    #[error("the plan has no event source for handler `{0}`")]
    NoSource(String),
}

impl From<HandlerError> for SendError {
    fn from(e: HandlerError) -> SendError {
        SendError::Project(e.into())
    }
}

/// What was done, e.g. `message 5f1c... sent to queue my-queue (payload: samples/on_order.json)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub line: String,
}

/// Sends one event to `request.handler`'s source.
pub async fn send(request: &SendRequest) -> Result<Sent, SendError> {
    let plan = load_plan(&request.app, &request.stage)?;
    function_for(&plan, &request.handler)?;
    let project = project_dir(&request.app);
    let target = target::find(&project, &plan.app, &plan.stage).await?;
    let sample = SampleContext {
        aws: target.ctx.clone(),
        now: std::time::SystemTime::now(),
    };
    let origin = Origin::for_handler(&plan, &request.handler, &sample)
        .ok_or_else(|| SendError::NoSource(request.handler.clone()))?;
    let (payload, from) = payload(&project, &request.handler, &request.input)?;
    let mut extras = request.extras.clone();
    if extras.bus.is_none() {
        extras.bus = plan
            .rules
            .iter()
            .find(|r| r.function == request.handler)
            .and_then(|r| r.event_bus.clone());
    }
    let delivery =
        shape::shape(&request.handler, &origin, &payload, &extras, &sample).map_err(|source| {
            SendError::Shape {
                handler: request.handler.clone(),
                source,
            }
        })?;
    let line = match delivery {
        Delivery::Fire { schedule } => {
            let Some(addr) = &target.control else {
                return Err(SendError::NoRunnerToFire {
                    stage: plan.stage.clone(),
                    schedule,
                });
            };
            control::fire(addr, &schedule)
                .await
                .map_err(|source| SendError::Fire {
                    schedule: schedule.clone(),
                    source,
                })?;
            return Ok(Sent {
                line: format!("schedule {schedule} fired by the runner at {addr}"),
            });
        }
        delivery => deliver::deliver(&target.config, delivery).await?,
    };
    Ok(Sent {
        line: format!("{line} at {} (payload: {from})", target.endpoint),
    })
}

/// `handler`'s Lambda event carrying the app's own sample payload (`samples/<handler>.json`);
/// `None` when the app has none (callers send the generic sample event then).
pub fn app_sample_event(
    project: &Path,
    handler: &str,
    origin: &Origin,
    sample: &SampleContext,
) -> Result<Option<serde_json::Value>, SendError> {
    let Some(bytes) = samples::read(project, handler)? else {
        return Ok(None);
    };
    let delivery = shape::shape(
        handler,
        origin,
        &Payload::Given(bytes),
        &Extras::default(),
        sample,
    )
    .map_err(|source| SendError::Shape {
        handler: handler.to_owned(),
        source,
    })?;
    Ok(Some(event::lambda_event(origin, &delivery, sample)))
}

/// The payload and where it came from (for the output line).
fn payload(project: &Path, handler: &str, input: &Input) -> Result<(Payload, String), SendError> {
    match input {
        Input::File(path) => {
            let shown = if path == Path::new("-") {
                "stdin".to_owned()
            } else {
                path.display().to_string()
            };
            let read = |source| SendError::ReadEvent {
                path: shown.clone(),
                source,
            };
            let mut bytes = Vec::new();
            if path == Path::new("-") {
                std::io::stdin()
                    .take(MAX_PAYLOAD_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(read)?;
            } else {
                std::fs::File::open(path)
                    .map_err(read)?
                    .take(MAX_PAYLOAD_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(read)?;
            }
            if bytes.len() as u64 > MAX_PAYLOAD_BYTES {
                return Err(SendError::TooLarge { path: shown });
            }
            Ok((Payload::Given(bytes), shown))
        }
        Input::Sample => match samples::read(project, handler)? {
            Some(bytes) => Ok((
                Payload::Given(bytes),
                format!("{}/{handler}.json", samples::SAMPLES_DIR),
            )),
            None => Ok((Payload::Generic, "generic sample".to_owned())),
        },
    }
}
