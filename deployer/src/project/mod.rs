//! The project: the app file, the plan it gives for a stage, the `bootstrap` built from it, and a new
//! app's files (`scaffold`).
//!
//! Above the engine (which takes a plan and code digests) and below the command line.

pub mod app_file;
pub mod bootstrap_arg;
pub mod builder;
pub mod code;
pub mod elf;
pub mod error;
pub mod package;
pub mod plan;
pub mod prebuilt;
pub mod samples;
pub mod scaffold;

pub use app_file::LoadError;
pub use error::{HandlerError, ProjectError};
pub use package::PackageError;
pub use scaffold::ScaffoldError;
