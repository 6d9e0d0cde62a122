//! The project: the app file, the plan it gives for a stage, and the `bootstrap` built from it.
//!
//! Above the engine (which takes a plan and code digests) and below the command line.

pub mod app_file;
pub mod code;
pub mod error;
pub mod package;
pub mod plan;
pub mod samples;

pub use app_file::LoadError;
pub use error::{HandlerError, ProjectError};
pub use package::PackageError;
