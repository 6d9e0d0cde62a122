//! The plan of one stage, and the functions in it.

use std::path::{Path, PathBuf};

use chalice_codegen::diag::did_you_mean;
use chalice_codegen::manifest::Manifest;
use chalice_codegen::plan::{Function, Plan};

use super::app_file;
use super::error::{HandlerError, ProjectError};

/// Loads the app file and plans `stage`.
pub fn load_plan(app: &Path, stage: &str) -> Result<Plan, ProjectError> {
    load_stage(app, stage).map(|s| s.plan)
}

/// A stage of the app file: its plan, and the handler manifest its `bootstrap` must carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub plan: Plan,
    pub manifest: Manifest,
}

/// Loads the app file and plans `stage`, with the manifest of the app's handlers.
pub fn load_stage(app: &Path, stage: &str) -> Result<Stage, ProjectError> {
    let model = app_file::load(app)?;
    Ok(Stage {
        plan: chalice_codegen::emit_plan::plan(&model, stage)?,
        manifest: Manifest::of(&model),
    })
}

/// The function serving `handler`, or an error listing the app's handlers.
pub fn function_for<'p>(plan: &'p Plan, handler: &str) -> Result<&'p Function, HandlerError> {
    plan.function(handler).ok_or_else(|| {
        let known: Vec<&str> = plan.functions.iter().map(|f| f.handler.as_str()).collect();
        HandlerError::UnknownHandler {
            name: handler.to_owned(),
            suggestion: did_you_mean(handler, known.iter().copied()).map(str::to_owned),
            known: known.into_iter().map(str::to_owned).collect(),
        }
    })
}

/// The directory the app file is in: the cargo project, and where `.chalice-rs/` lives.
pub fn project_dir(app: &Path) -> PathBuf {
    match app.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lives_next_to_the_app_file() {
        assert_eq!(project_dir(Path::new("events.chalice")), PathBuf::from("."));
        assert_eq!(
            project_dir(Path::new("svc/orders/events.chalice")),
            PathBuf::from("svc/orders")
        );
        assert_eq!(
            project_dir(Path::new("/abs/events.chalice")),
            PathBuf::from("/abs")
        );
    }
}
