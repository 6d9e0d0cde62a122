//! `deployer plan`: what deploying a stage would do.

use std::io::Write;
use std::path::PathBuf;

use super::{CommandError, LiveOptions, open_session};
use crate::engine::diff;
use crate::engine::plan_view;
use crate::engine::saved_plan::SavedPlan;
use crate::project::bootstrap_arg::Bootstraps;
use crate::project::builder::Builder;
use crate::project::code::{self, CodeSource};
use crate::project::plan::{Stage, load_plan, load_stage, project_dir};
use crate::resources::CodeSet;

/// What `deployer plan` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    pub app: PathBuf,
    pub stage: String,
    /// Plan without reading AWS: everything shows as a creation.
    pub offline: bool,
    /// Print the plan as JSON (and nothing else) instead of text.
    pub json: bool,
    /// Colour the text output.
    pub color: bool,
    /// A bootstrap binary to compare the deployed code with (live plan only; without it code is not
    /// compared, unless `out` is set: then the bootstrap is built as `deploy` builds it).
    pub bootstrap: Option<Bootstraps>,
    /// The build target for `out` without a `bootstrap`.
    pub target: Option<String>,
    /// The build tool for `out` without a `bootstrap`; `None`: the one this machine has.
    pub builder: Option<Builder>,
    /// Save the live plan here, for `deploy --plan`.
    pub out: Option<PathBuf>,
    /// SDK attempts per call (live plan only).
    pub max_attempts: Option<u32>,
    /// Where to write the `--calls` report (live plan only).
    pub calls: Option<PathBuf>,
}

/// Loads the app, plans the stage and writes the plan to `out`; whether there is anything to change
/// (an offline plan: always).
pub fn run(opts: &PlanOptions, out: &mut dyn Write) -> Result<bool, CommandError> {
    if !opts.offline {
        return run_live(opts, out);
    }
    let plan = load_plan(&opts.app, &opts.stage)?;
    if opts.json {
        // The very document the app's build writes beside the code (`plan.<stage>.json`).
        out.write_all(plan.to_json().as_bytes())?;
    } else {
        out.write_all(plan_view::render_create(&plan, opts.color).as_bytes())?;
    }
    Ok(true)
}

/// Resolve ∥ read live → diff against what is deployed; writes nothing anywhere but `out`.
fn run_live(opts: &PlanOptions, out: &mut dyn Write) -> Result<bool, CommandError> {
    let live = LiveOptions {
        app: opts.app.clone(),
        stage: opts.stage.clone(),
        max_attempts: opts.max_attempts,
        calls: opts.calls.clone(),
        lock: Default::default(),
    };
    let Stage { plan, manifest } = load_stage(&opts.app, &opts.stage)?;
    // The code is compared when given; a saved plan needs it, so it is then built as `deploy` would.
    let source = match (&opts.bootstrap, &opts.out) {
        (Some(bootstraps), _) => Some(CodeSource::Prebuilt {
            bootstraps: bootstraps.clone(),
            serves: manifest,
        }),
        (None, Some(_)) => Some(CodeSource::Build {
            project_dir: project_dir(&opts.app),
            target: opts.target.clone(),
            builder: opts.builder,
        }),
        (None, None) => None,
    };
    let shipped = source
        .map(|source| code::package(&plan, &source))
        .transpose()?;
    // As `deploy` does: the plan the build of the code wrote, so functions and binary match.
    let plan = shipped
        .as_ref()
        .and_then(|s| s.plan.clone())
        .unwrap_or(plan);
    let runtime = crate::engine::runtime()?;
    runtime.block_on(async {
        let mut s = open_session("plan", &live, plan).await?;
        let result = async {
            let set = match &shipped {
                Some(shipped) => shipped.code.clone(),
                None => {
                    eprintln!(
                        "note: code is not compared (pass --bootstrap FILE to compare it too)"
                    );
                    CodeSet::new()
                }
            };
            let planned = s.read_for_deploy(&set).await?;
            for w in &planned.warnings {
                eprintln!("warning: {w}");
            }
            if opts.json {
                super::write_json(out, &diff::to_json(&planned.changes))?;
            } else {
                out.write_all(diff::render(&planned.changes, opts.color).as_bytes())?;
            }
            if let Some(path) = &opts.out {
                let changes = !planned.changes.is_empty();
                SavedPlan::new(
                    s.plan.clone(),
                    &s.ctx.account,
                    &s.ctx.region,
                    &set,
                    planned.changes,
                )
                .write(path)
                .map_err(crate::engine::EngineError::from)?;
                eprintln!(
                    "Saved this plan to {}: `deployer deploy --plan {}` applies exactly it{}.",
                    path.display(),
                    path.display(),
                    if changes { "" } else { " (nothing)" }
                );
                return Ok(changes);
            }
            Ok(!planned.changes.is_empty())
        }
        .await;
        s.finish();
        result
    })
}
