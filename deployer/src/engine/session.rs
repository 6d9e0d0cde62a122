//! What every live command (`plan`, `deploy`, `delete`) shares: the app's plan, AWS clients and account,
//! the deploy record, the read phase (resolve ∥ live → diff), and the `--calls` report.

use std::path::PathBuf;
use std::sync::Mutex;

use chalice_codegen::plan::Plan;

use super::EngineError;
use super::apply;
use super::calls_report::PhaseRecorder;
use super::desired::Desired;
use super::diff::{self, Change};
use super::read::{self, ArtifactsLocation};
use super::resolve;
use super::state::StateFile;
use crate::aws::{self, AwsContext, Clients};
use crate::resources::{
    CodeSet, Identity, Live, Lookups, Recorded, artifacts, given_role, sources,
};

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
    /// What to tell before anything is written (a given role that looks wrong).
    pub warnings: Vec<String>,
}

impl Session {
    /// Connects to AWS (who am I, where) for `plan`, with its deploy record; `calls`: where to write
    /// the `--calls` report when the session finishes.
    pub async fn open(
        command: &str,
        plan: Plan,
        clients: Clients,
        state: StateFile,
        calls: Option<PathBuf>,
    ) -> Result<Session, EngineError> {
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
    fn check_location(&self) -> Result<(), EngineError> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let s = state.state();
        let mismatch =
            |recorded: &Option<String>, now: &str| recorded.as_deref().is_some_and(|r| r != now);
        if mismatch(&s.account, &self.ctx.account) || mismatch(&s.region, &self.ctx.region) {
            let recorded = format!(
                "account {} in {}",
                s.account.as_deref().unwrap_or("?"),
                s.region.as_deref().unwrap_or("?")
            );
            return Err(EngineError::ElsewhereDeployed {
                record: state.path().display().to_string(),
                recorded,
                configured: format!("account {} in {}", self.ctx.account, self.ctx.region),
            });
        }
        Ok(())
    }

    pub fn artifacts(&self) -> ArtifactsLocation {
        ArtifactsLocation {
            bucket: artifacts::bucket_name(&self.ctx),
            prefix: artifacts::prefix(&self.plan),
        }
    }

    /// Where the stage's own roles live.
    fn role_path(&self) -> String {
        chalice_codegen::emit_plan::role_path(&self.plan.app, &self.plan.stage)
    }

    fn recorded(&self) -> Vec<Recorded> {
        apply::recorded(&self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Resolve ∥ live, then diff: what deploying the plan (with `code`, empty: not compared) changes.
    /// Every problem found stops it before anything is written.
    pub async fn read_for_deploy(&mut self, code: &CodeSet) -> Result<Planned, EngineError> {
        let recorded = self.recorded();
        // The identities to read do not depend on the lookups (mappings are listed per function).
        let (preliminary, _) = resolve::desired(&self.plan, &self.ctx, code, &Lookups::default());
        let artifacts = self.artifacts();
        let role_path = self.role_path();
        let (lookups, live, warnings) = tokio::join!(
            sources::lookup(&self.plan, &self.ctx, &self.clients),
            read::read(
                &self.clients,
                &preliminary,
                &recorded,
                &artifacts,
                &role_path
            ),
            given_role::check(&self.clients, &self.plan, &self.ctx)
        );
        self.recorder.end_phase("read");
        let lookups = lookups.map_err(EngineError::Read)?;
        let live = live.map_err(EngineError::Read)?;
        // A role that cannot be read (no permission to) is not a reason to stop: IAM will judge it.
        let warnings = warnings
            .unwrap_or_else(|e| vec![format!("could not check the roles given in the file: {e}")]);
        let (desired, mut problems) = resolve::desired(&self.plan, &self.ctx, code, &lookups);
        problems.extend(read::source_problems(&desired, &live));
        if !problems.is_empty() {
            return Err(EngineError::Problems(problems));
        }
        let changes = diff::diff(&desired, &live, &recorded);
        Ok(Planned {
            desired,
            live,
            recorded,
            changes,
            warnings,
        })
    }

    /// What deleting the stage removes: everything recorded, plus what the plan's identities find;
    /// the functions' log groups (whoever made them) only when `logs`.
    pub async fn read_for_delete(&mut self, logs: bool) -> Result<Planned, EngineError> {
        let mut recorded = self.recorded();
        let add_missing = |recorded: &mut Vec<Recorded>, more: Vec<Recorded>| {
            for r in more {
                if !recorded.iter().any(|x| x.identity == r.identity) {
                    recorded.push(r);
                }
            }
        };
        add_missing(
            &mut recorded,
            resolve::plan_identities(&self.plan, &self.ctx),
        );
        if logs {
            let groups = resolve::log_group_identities(&recorded);
            add_missing(&mut recorded, groups);
        } else {
            recorded.retain(|r| !matches!(r.identity, Identity::LogGroup { .. }));
        }
        let desired = Desired {
            resources: Vec::new(),
            code_known: true,
            deleting_stage: true,
        };
        let role_path = self.role_path();
        let live = read::read(
            &self.clients,
            &desired,
            &recorded,
            &self.artifacts(),
            &role_path,
        )
        .await;
        self.recorder.end_phase("read");
        let live = live.map_err(EngineError::Read)?;
        let changes = diff::diff(&desired, &live, &recorded);
        Ok(Planned {
            desired,
            live,
            recorded,
            changes,
            warnings: Vec::new(),
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
