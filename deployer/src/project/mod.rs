//! The project: the app file, the plan it gives for a stage, and the `bootstrap` built from it.
//!
//! Above the engine (which takes a plan and code digests) and below the command line.

pub mod app_file;
pub mod code;
pub mod package;
pub mod plan;

use chalice_codegen::emit_plan::UnknownStage;

pub use app_file::LoadError;
pub use package::PackageError;
pub use plan::HandlerError;

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
}
