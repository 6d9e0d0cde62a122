//! `deployer deploy`: package the bootstrap, plan against what is deployed, confirm, apply.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use chalice_codegen::plan::Plan;

use super::CommandError;
use crate::apply::{self, Applier, Outcome};
use crate::diff::{self, Action, Counts};
use crate::package::{self, BuildOptions, CodePackage};
use crate::resolve::{self, CodeDigest, CodeSet};
use crate::session::{self, LiveOptions, Session};

/// What `deployer deploy` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOptions {
    pub live: LiveOptions,
    /// Apply without asking.
    pub yes: bool,
    /// A prebuilt bootstrap binary instead of a release build.
    pub bootstrap: Option<PathBuf>,
    /// The build target instead of `<arch>-unknown-linux-musl`.
    pub target: Option<String>,
    pub color: bool,
    /// No per-step progress on stderr (`deployer local` says it in one line).
    pub quiet: bool,
}

/// Runs the deploy; progress goes to stderr, the plan and the summary to `out`.
pub fn run(opts: &DeployOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    session::require_confirmation_possible(opts.yes, "deploy")?;
    let runtime = session::runtime()?;
    runtime.block_on(async {
        let mut s = Session::open("deploy", &opts.live).await?;
        let result = deploy(&mut s, opts, out).await;
        s.finish();
        result
    })
}

/// Packages, plans and applies on an open session (confirming unless `opts.yes`).
pub async fn deploy(
    s: &mut Session,
    opts: &DeployOptions,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let started = Instant::now();
    let (code, zips) = package_code(&s.plan, opts)?;
    let planned = s.read_for_deploy(&code).await?;
    writeln!(
        out,
        "Deploying app `{}`, stage `{}` to account {} in {}:\n",
        s.plan.app, s.plan.stage, s.ctx.account, s.ctx.region
    )?;
    out.write_all(diff::render(&planned.changes, opts.color).as_bytes())?;
    if planned.changes.is_empty() {
        apply::reconcile(&s.state, &s.ctx, &planned.desired, &planned.live)?;
        write_functions(s, out)?;
        return Ok(());
    }
    out.flush()?;
    if !opts.yes && !session::confirm("\nDeploy these changes?")? {
        return Err(CommandError::Cancelled);
    }
    s.state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_location(&s.ctx.account, &s.ctx.region)?;
    if !opts.quiet {
        eprintln!("Applying {} change(s):", planned.changes.len());
    }
    let progress = |line: &str| {
        if !opts.quiet {
            eprintln!("{line}");
        }
    };
    let applier = Applier {
        clients: &s.clients,
        ctx: &s.ctx,
        desired: &planned.desired,
        live: &planned.live,
        zips: &zips,
        state: &s.state,
        progress: &progress,
    };
    let outcome = apply::apply(&applier, &planned.changes).await;
    s.recorder.end_phase("apply");
    if !outcome.succeeded() {
        return Err(CommandError::ApplyFailed(failure_message(
            &outcome,
            "deploy",
            &state_path(s),
        )));
    }
    apply::reconcile(&s.state, &s.ctx, &planned.desired, &planned.live)?;
    let counts = Counts::of(&planned.changes);
    writeln!(
        out,
        "\nDeployed: {} created, {} updated, {} deleted in {:.2} s.",
        counts.create,
        counts.update,
        counts.delete,
        started.elapsed().as_secs_f64()
    )?;
    write_functions(s, out)
}

fn state_path(s: &Session) -> String {
    s.state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .path()
        .display()
        .to_string()
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

/// What failed, what was done, what was not attempted, and how to resume.
pub fn failure_message(outcome: &Outcome, command: &str, state_path: &str) -> String {
    let failures: Vec<_> = outcome.failures().collect();
    let mut msg = format!("{command} stopped: {} step(s) failed", failures.len());
    for f in &failures {
        let verb = match f.change.action {
            Action::Create => "create",
            Action::Update { .. } => "update",
            Action::Delete { .. } => "delete",
        };
        if let Some(e) = &f.error {
            msg.push_str(&format!(
                "\n  - {verb} {} {}: {e}",
                f.change.kind, f.change.name
            ));
        }
    }
    let done: Vec<_> = outcome.done().map(|s| s.change.clone()).collect();
    let c = Counts::of(&done);
    msg.push_str(&format!(
        "\ndone before stopping: {} created, {} updated, {} deleted (recorded in {state_path})",
        c.create, c.update, c.delete
    ));
    if !outcome.skipped.is_empty() {
        msg.push_str(&format!(
            "\nnot attempted: {} change(s)",
            outcome.skipped.len()
        ));
    }
    msg.push_str(&format!("\nrun `deployer {command}` again to resume"));
    msg
}

/// The default build target for a Lambda architecture: a static musl binary (runs on provided.al2023).
fn default_target(architecture: &str) -> String {
    match architecture {
        "arm64" => "aarch64-unknown-linux-musl".to_string(),
        _ => "x86_64-unknown-linux-musl".to_string(),
    }
}

/// The code per architecture and the zips by object key: `--bootstrap FILE` for every architecture, or
/// a release build per architecture the plan uses.
fn package_code(
    plan: &Plan,
    opts: &DeployOptions,
) -> Result<(CodeSet, BTreeMap<String, Vec<u8>>), CommandError> {
    let archs: BTreeSet<&str> = plan
        .functions
        .iter()
        .map(|f| f.architecture.as_str())
        .collect();
    let mut packages: BTreeMap<String, CodePackage> = BTreeMap::new();
    if let Some(path) = &opts.bootstrap {
        let p = CodePackage::from_file(path)?;
        for a in archs {
            packages.insert(a.to_string(), p.clone());
        }
    } else {
        if opts.target.is_some() && archs.len() > 1 {
            return Err(CommandError::Usage(
                "--target names one target, but the app's functions use several architectures"
                    .to_string(),
            ));
        }
        for a in archs {
            let target = opts.target.clone().unwrap_or_else(|| default_target(a));
            eprintln!("Building the bootstrap for {target} (release)...");
            let mut build = BuildOptions::new(session::project_dir(&opts.live.app));
            build.target = Some(target);
            let (_, p) = package::build_and_package(&build)?;
            packages.insert(a.to_string(), p);
        }
    }
    let mut code = CodeSet::new();
    let mut zips = BTreeMap::new();
    for (arch, p) in packages {
        let digest = CodeDigest {
            sha256: p.code_sha256.clone(),
            sha256_hex: p.sha256_hex.clone(),
            size: p.zip.len(),
        };
        zips.insert(resolve::code_key(plan, &digest), p.zip);
        code.insert(arch, digest);
    }
    Ok((code, zips))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::apply::{StepError, StepResult};
    use crate::diff::{Change, DeleteReason};
    use crate::spec::Identity;

    #[test]
    fn a_failure_says_what_was_done_and_how_to_resume() {
        let change = |name: &str, action| {
            let identity = Identity::Function { name: name.into() };
            Change {
                id: format!("function.{name}"),
                kind: identity.kind(),
                name: name.into(),
                identity,
                physical_id: None,
                action,
            }
        };
        let outcome = Outcome {
            steps: vec![
                StepResult {
                    change: change("a", Action::Create),
                    elapsed: Duration::ZERO,
                    note: None,
                    error: None,
                },
                StepResult {
                    change: change("b", Action::Create),
                    elapsed: Duration::ZERO,
                    note: None,
                    error: Some(StepError::Internal("CreateFunction b: Throttling".into())),
                },
            ],
            skipped: vec![change(
                "c",
                Action::Delete {
                    reason: DeleteReason::Removed,
                },
            )],
        };
        let msg = failure_message(&outcome, "deploy", ".chalice/deployed/dev.json");
        assert_eq!(
            msg,
            "deploy stopped: 1 step(s) failed\n  - create lambda_function b: CreateFunction b: Throttling\n\
             done before stopping: 1 created, 0 updated, 0 deleted (recorded in .chalice/deployed/dev.json)\n\
             not attempted: 1 change(s)\nrun `deployer deploy` again to resume"
        );
    }

    #[test]
    fn musl_by_default() {
        assert_eq!(default_target("x86_64"), "x86_64-unknown-linux-musl");
        assert_eq!(default_target("arm64"), "aarch64-unknown-linux-musl");
    }
}
