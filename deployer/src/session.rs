//! What every live command (`plan`, `deploy`, `delete`) shares: the app's plan, AWS clients and account,
//! the deploy record, the read phase (resolve ∥ live → diff), and the `--calls` report.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aws_config::retry::RetryConfig;
use chalice_codegen::plan::Plan;

use crate::app_file;
use crate::apply;
use crate::aws::{self, AwsContext, ClientOptions, Clients};
use crate::calls_report::PhaseRecorder;
use crate::commands::CommandError;
use crate::diff::{self, Change};
use crate::live::{self, ArtifactsLocation};
use crate::resolve::{self, CodeSet, Lookups};
use crate::spec::{Desired, Live, Recorded};
use crate::state::StateFile;

/// Options every live command takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    pub app: PathBuf,
    pub stage: String,
    /// SDK attempts per call (retries with backoff); `None`: the chain's (`AWS_MAX_ATTEMPTS`, else 3).
    pub max_attempts: Option<u32>,
    /// Where to write the `--calls` JSON report (`-`: stderr).
    pub calls: Option<PathBuf>,
}

/// The directory the app file is in: state lives under its `.chalice/deployed/`.
pub fn project_dir(app: &Path) -> PathBuf {
    match app.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A single-threaded runtime: every call is I/O, and it starts in microseconds.
pub fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Output)
}

/// An open live command.
pub struct Session {
    pub plan: Plan,
    pub clients: Clients,
    pub ctx: AwsContext,
    pub state: Mutex<StateFile>,
    pub recorder: PhaseRecorder,
    pub calls: Option<PathBuf>,
}

/// What the read phase found.
pub struct Planned {
    pub desired: Desired,
    pub live: Live,
    pub recorded: Vec<Recorded>,
    pub changes: Vec<Change>,
}

impl Session {
    /// Loads the app and plans the stage, connects to AWS (who am I, where), opens the deploy record.
    pub async fn open(command: &str, opts: &LiveOptions) -> Result<Session, CommandError> {
        let model = app_file::load(&opts.app)?;
        let plan = chalice_codegen::emit_plan::plan(&model, &opts.stage)?;
        let state = StateFile::open(&project_dir(&opts.app), &plan.app, &plan.stage)?;
        let options = ClientOptions {
            retry: opts
                .max_attempts
                .map(|n| RetryConfig::standard().with_max_attempts(n.max(1))),
            ..ClientOptions::default()
        };
        let clients = Clients::load(&options).await;
        Session::open_with(command, plan, clients, state, opts.calls.clone()).await
    }

    /// Opens a session on a plan, clients and a deploy record the caller chose (`deployer local`).
    pub async fn open_with(
        command: &str,
        plan: Plan,
        clients: Clients,
        state: StateFile,
        calls: Option<PathBuf>,
    ) -> Result<Session, CommandError> {
        let mut recorder = PhaseRecorder::new(command, clients.calls().clone());
        let ctx = aws::resolve_context(&clients).await;
        recorder.end_phase("context");
        let session = Session {
            plan,
            clients,
            ctx: ctx?,
            state: Mutex::new(state),
            recorder,
            calls,
        };
        session.check_location()?;
        Ok(session)
    }

    /// A record of a deploy to another account or region is not this one's to change.
    fn check_location(&self) -> Result<(), CommandError> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let s = state.state();
        let mismatch =
            |recorded: &Option<String>, now: &str| recorded.as_deref().is_some_and(|r| r != now);
        if mismatch(&s.account, &self.ctx.account) || mismatch(&s.region, &self.ctx.region) {
            return Err(CommandError::Usage(format!(
                "{} records a deploy to account {} in {}, but the AWS configuration points at account {} in {}; \
                 use another stage, or move that file away if the old deploy is gone",
                state.path().display(),
                s.account.as_deref().unwrap_or("?"),
                s.region.as_deref().unwrap_or("?"),
                self.ctx.account,
                self.ctx.region
            )));
        }
        Ok(())
    }

    pub fn artifacts(&self) -> ArtifactsLocation {
        ArtifactsLocation {
            bucket: resolve::artifacts_bucket(&self.ctx),
            prefix: resolve::artifacts_prefix(&self.plan),
        }
    }

    fn recorded(&self) -> Vec<Recorded> {
        apply::recorded(&self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Resolve ∥ live, then diff: what deploying the plan (with `code`, empty: not compared) changes.
    /// Every problem found stops it before anything is written.
    pub async fn read_for_deploy(&mut self, code: &CodeSet) -> Result<Planned, CommandError> {
        let recorded = self.recorded();
        // The identities to read do not depend on the lookups (mappings are listed per function).
        let (preliminary, _) = resolve::desired(&self.plan, &self.ctx, code, &Lookups::default());
        let artifacts = self.artifacts();
        let (lookups, live) = tokio::join!(
            resolve::lookup(&self.plan, &self.ctx, &self.clients),
            live::read(&self.clients, &preliminary, &recorded, &artifacts)
        );
        self.recorder.end_phase("read");
        let lookups = lookups.map_err(CommandError::Read)?;
        let live = live.map_err(CommandError::Read)?;
        let (desired, mut problems) = resolve::desired(&self.plan, &self.ctx, code, &lookups);
        problems.extend(live::source_problems(&desired, &live));
        if !problems.is_empty() {
            return Err(CommandError::Problems(problems));
        }
        let changes = diff::diff(&desired, &live, &recorded);
        Ok(Planned {
            desired,
            live,
            recorded,
            changes,
        })
    }

    /// What deleting the stage removes: everything recorded, plus what the plan's identities find.
    pub async fn read_for_delete(&mut self) -> Result<Planned, CommandError> {
        let mut recorded = self.recorded();
        for r in resolve::plan_identities(&self.plan, &self.ctx) {
            if !recorded.iter().any(|x| x.identity == r.identity) {
                recorded.push(r);
            }
        }
        let desired = Desired {
            resources: Vec::new(),
            code_known: true,
        };
        let live = live::read(&self.clients, &desired, &recorded, &self.artifacts()).await;
        self.recorder.end_phase("read");
        let live = live.map_err(CommandError::Read)?;
        let changes = diff::diff(&desired, &live, &recorded);
        Ok(Planned {
            desired,
            live,
            recorded,
            changes,
        })
    }

    /// Writes the `--calls` report, if asked for (a failure to write it is reported, not fatal).
    pub fn finish(&mut self) {
        if let Some(path) = &self.calls {
            self.recorder.end_phase("finish");
            if let Err(e) = self.recorder.write(path) {
                eprintln!(
                    "warning: could not write the calls report to {}: {e}",
                    path.display()
                );
            }
        }
    }
}

/// Asks on the terminal; `Ok(false)` unless the answer is `y` or `yes`.
pub fn confirm(question: &str) -> Result<bool, CommandError> {
    let mut err = io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Fails early when a confirmation would be needed but cannot be asked.
pub fn require_confirmation_possible(yes: bool, what: &'static str) -> Result<(), CommandError> {
    if yes || io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(CommandError::NeedsYes { what })
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
