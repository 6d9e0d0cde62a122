//! Why the project layer could not give what was asked of it.

use chalice_codegen::emit_plan::UnknownStage;

use super::app_file::LoadError;
use super::bootstrap_arg::BootstrapArgError;
use super::package::PackageError;
use super::prebuilt::BootstrapError;
use super::scaffold::ScaffoldError;

/// Why the project could not give what was asked of it.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    UnknownStage(#[from] UnknownStage),
    /// A handler or kind the app does not have.
    #[error(transparent)]
    Handler(#[from] HandlerError),
    #[error(transparent)]
    Package(#[from] PackageError),
    /// `deployer new`: no app was created.
    #[error(transparent)]
    Scaffold(#[from] ScaffoldError),
    /// `--bootstrap` values that do not go together.
    #[error(transparent)]
    BootstrapArg(#[from] BootstrapArgError),
}

/// A `--bootstrap` file that cannot be shipped or run is a packaging error.
impl From<BootstrapError> for ProjectError {
    fn from(e: BootstrapError) -> ProjectError {
        ProjectError::Package(e.into())
    }
}

/// A handler or kind that the app does not have.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(
        "unknown handler `{name}`{}; the app's handlers are: {}",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        if known.is_empty() { "(none)".to_owned() } else { known.join(", ") }
    )]
    UnknownHandler {
        name: String,
        known: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("handler `{handler}` is a {actual} handler, not a {asked} one")]
    KindMismatch {
        handler: String,
        actual: &'static str,
        asked: &'static str,
    },
}
