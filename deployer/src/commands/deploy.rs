//! `deployer deploy`: read what is deployed and package the bootstrap side by side, plan, confirm,
//! apply. Every missing source is reported before anything is compiled.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use super::{
    CommandError, LiveOptions, changes_json, confirm, open_session, require_confirmation_possible,
    write_json,
};
use crate::engine::EngineError;
use crate::engine::converge;
use crate::engine::diff;
use crate::engine::saved_plan::SavedPlan;
use crate::engine::session::{Planned, Session};
use crate::project::bootstrap_arg::Bootstraps;
use crate::project::builder::Builder;
use crate::project::code::{self, CodeSource, Packaging, Shipped};
use crate::project::plan::{Stage, load_stage, project_dir};

/// What `deployer deploy` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOptions {
    pub live: LiveOptions,
    /// Apply without asking.
    pub yes: bool,
    /// Prebuilt bootstrap binaries instead of a release build.
    pub bootstrap: Option<Bootstraps>,
    /// The build target instead of `<arch>-unknown-linux-musl`.
    pub target: Option<String>,
    /// The build tool; `None`: the one this machine has for the target.
    pub builder: Option<Builder>,
    /// Apply exactly this saved plan (`plan --out`), without asking, if nothing moved since.
    pub saved_plan: Option<PathBuf>,
    /// One JSON document on stdout (the changes applied, the functions) and nothing else there.
    pub json: bool,
    pub color: bool,
}

/// Runs the deploy; progress goes to stderr, the plan and the summary to `out`.
pub fn run(opts: &DeployOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    let saved = match &opts.saved_plan {
        Some(path) => Some(SavedPlan::read(path).map_err(EngineError::from)?),
        // A saved plan was reviewed when it was made: it is applied without asking.
        None => {
            if opts.json && !opts.yes {
                return Err(CommandError::Usage(
                    "--json shows no plan to confirm: pass --yes too (or --plan FILE, a reviewed plan)"
                        .into(),
                ));
            }
            require_confirmation_possible(opts.yes, "deploy")?;
            None
        }
    };
    let live = LiveOptions {
        stage: saved
            .as_ref()
            .map_or_else(|| opts.live.stage.clone(), |s| s.stage.clone()),
        ..opts.live.clone()
    };
    let Stage { plan, manifest } = load_stage(&live.app, &live.stage)?;
    let source = match &opts.bootstrap {
        Some(bootstraps) => CodeSource::Prebuilt {
            bootstraps: bootstraps.clone(),
            serves: manifest,
        },
        None => CodeSource::Build {
            project_dir: project_dir(&opts.live.app),
            target: opts.target.clone(),
            builder: opts.builder,
        },
    };
    // A prebuilt bootstrap is checked (and zipped) before AWS is asked anything; a build that most
    // likely has nothing to compile runs while AWS is read; a build with compiling to do waits until
    // the reads found every source there.
    let prebuilt = match &source {
        CodeSource::Prebuilt { .. } => Some(code::package(&plan, &source)?),
        _ => None,
    };
    let early = (prebuilt.is_none() && code::likely_fresh(&plan, &source))
        .then(|| Packaging::start(plan.clone(), source.clone()));
    let runtime = crate::engine::runtime()?;
    runtime.block_on(async {
        let started = Instant::now();
        let mut s = match open_session("deploy", &live, plan.clone()).await {
            Ok(s) => s,
            Err(e) => {
                if let Some(building) = early {
                    building.stop();
                }
                return Err(e);
            }
        };
        let result = async {
            if let Some(saved) = &saved {
                saved
                    .check_location(&s.ctx.account, &s.ctx.region)
                    .map_err(EngineError::from)?;
            }
            let read = s.read_live(true).await;
            let (read, early) = match read {
                Ok(read) => (read, early),
                Err(e) => {
                    if let Some(building) = early {
                        building.stop();
                    }
                    return Err(e.into());
                }
            };
            let shipped = match (prebuilt, early) {
                (Some(shipped), _) => shipped,
                (None, Some(packaging)) => packaging.finish().await?,
                (None, None) => {
                    Packaging::start(plan.clone(), source.clone())
                        .finish()
                        .await?
                }
            };
            // What is deployed is the plan the build of the shipped code wrote: functions and binary
            // match. It is the plan read so far unless the build's codegen differs from this deployer's.
            let built = shipped.plan.clone().unwrap_or(plan);
            if let Some(saved) = &saved {
                saved.check_code(&shipped.code).map_err(EngineError::from)?;
                saved.check_plan(&built).map_err(EngineError::from)?;
            }
            let planned = if built == s.plan {
                s.planned(read, &shipped.code)
            } else {
                s.plan = built;
                s.read_for_deploy(&shipped.code).await?
            };
            deploy(
                &mut s,
                planned,
                &shipped,
                saved.as_ref(),
                opts,
                out,
                started,
            )
            .await
        }
        .await;
        s.finish();
        result
    })
}

/// Shows the plan, confirms (unless `opts.yes`, or a `saved` plan that nothing moved since) and applies.
async fn deploy(
    s: &mut Session,
    planned: Planned,
    shipped: &Shipped,
    saved: Option<&SavedPlan>,
    opts: &DeployOptions,
    out: &mut dyn Write,
    started: Instant,
) -> Result<(), CommandError> {
    let Shipped { code, zips, .. } = shipped;
    let mut shown = Ok(());
    let ask = |s: &Session, changes: &[diff::Change]| {
        if let Some(saved) = saved {
            let moved = saved.moved(changes);
            if !moved.is_empty() {
                return Err(EngineError::StalePlan(moved));
            }
        }
        if !opts.json {
            shown = show(s, changes, opts.color, &mut *out);
        }
        if shown.is_err() {
            return Ok(false);
        }
        let go = opts.yes
            || saved.is_some()
            || confirm("\nDeploy these changes?").unwrap_or_else(|e| {
                shown = Err(e.into());
                false
            });
        if go {
            eprintln!("Applying {} change(s):", changes.len());
        }
        Ok(go)
    };
    let progress = |line: &str| eprintln!("{line}");
    let result = converge::deploy_planned(s, planned, code, zips, ask, &progress, started).await;
    shown?;
    let converged = result?;
    // Nothing to do now, though the plan had changes: someone applied them (or undid them) since.
    if let Some(saved) = saved
        && converged.changes.is_empty()
        && !saved.changes.is_empty()
    {
        return Err(EngineError::StalePlan(saved.moved(&[])).into());
    }
    if opts.json {
        let mut doc = changes_json(s, &converged.changes);
        doc["elapsed_ms"] = u64::try_from(converged.elapsed.as_millis())
            .unwrap_or(u64::MAX)
            .into();
        doc["functions"] = s
            .plan
            .functions
            .iter()
            .map(|f| serde_json::json!({"handler": f.handler, "name": f.name, "arn": f.arn.resolve(&s.ctx)}))
            .collect();
        return write_json(out, &doc);
    }
    if converged.changes.is_empty() {
        show(s, &[], opts.color, out)?;
    } else {
        let counts = converged.counts();
        writeln!(
            out,
            "\nDeployed: {} created, {} updated, {} deleted in {:.2} s.",
            counts.create,
            counts.update,
            counts.delete,
            converged.elapsed.as_secs_f64()
        )?;
        if let Some(artifacts) = diff::ArtifactChanges::of(&converged.changes).line(true) {
            writeln!(out, "{artifacts}")?;
        }
    }
    write_functions(s, out)
}

/// The header and the changes.
fn show(
    s: &Session,
    changes: &[diff::Change],
    color: bool,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    writeln!(
        out,
        "Deploying app `{}`, stage `{}` to account {} in {}:\n",
        s.plan.app, s.plan.stage, s.ctx.account, s.ctx.region
    )?;
    out.write_all(diff::render(changes, color).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `Functions:` and each function's name and ARN.
fn write_functions(s: &Session, out: &mut dyn Write) -> Result<(), CommandError> {
    if s.plan.functions.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nFunctions:")?;
    let width = s
        .plan
        .functions
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0);
    for f in &s.plan.functions {
        writeln!(out, "  {:<width$}  {}", f.name, f.arn.resolve(&s.ctx))?;
    }
    Ok(())
}
