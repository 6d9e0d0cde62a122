//! What every live command (`plan`, `deploy`, `delete`) shares: the app's plan, AWS clients and account,
//! the deploy record, the read phase (resolve ∥ live → diff), the deploy lock and the `--calls` report.
//!
//! The read phase is one round of independent calls, then one for what depends on them: the source
//! lookups, the live reads (those of a resource the record says exists go out with the read that finds
//! it), the roles given by ARN and the artifacts listing all start together; when the record already
//! names the account, STS is asked alongside them (and checked before anything is written) instead of
//! before them.

use std::path::PathBuf;
use std::sync::Mutex;

use chalice_codegen::plan::Plan;
use tokio::task::JoinHandle;

use super::EngineError;
use super::apply;
use super::calls_report::PhaseRecorder;
use super::desired::Desired;
use super::diff::{self, Change};
use super::lock::{self, Holder, Lock, LockOptions, Seen};
use super::read::{self, ArtifactsLocation};
use super::resolve;
use super::state::StateFile;
use crate::aws::{self, AwsContext, AwsError, Clients};
use crate::resources::{
    CodeSet, Identity, Live, Lookups, Recorded, artifacts, given_role, sources,
};

/// STS's answer: the context, and the caller's ARN.
type Caller = Result<(AwsContext, Option<String>), AwsError>;

/// An open live command.
pub struct Session {
    pub plan: Plan,
    pub clients: Clients,
    pub ctx: AwsContext,
    pub state: Mutex<StateFile>,
    pub recorder: PhaseRecorder,
    pub calls: Option<PathBuf>,
    /// How a deploy lock someone else holds is dealt with.
    pub lock_options: LockOptions,
    /// `deploy`, `delete`, `plan`, `local`.
    command: String,
    /// STS's answer still to come: `ctx` was taken from the deploy record meanwhile.
    caller_pending: Option<JoinHandle<Caller>>,
    /// The caller's ARN, once STS answered.
    caller: Option<String>,
}

/// What the read phase found, before the code is known.
pub struct LiveRead {
    pub lookups: Lookups,
    pub live: Live,
    pub recorded: Vec<Recorded>,
    /// What to tell before anything is written (a given role that looks wrong).
    pub warnings: Vec<String>,
    /// The stage's deploy lock as read with the rest.
    pub lock: Seen,
}

/// What the read phase found.
pub struct Planned {
    pub desired: Desired,
    pub live: Live,
    pub recorded: Vec<Recorded>,
    pub changes: Vec<Change>,
    /// What to tell before anything is written (a given role that looks wrong).
    pub warnings: Vec<String>,
    /// The stage's deploy lock as read with the rest (`None`: not read).
    pub lock: Option<Seen>,
}

impl Session {
    /// Connects to AWS (who am I, where) for `plan`, with its deploy record; `calls`: where to write
    /// the `--calls` report when the session finishes.
    ///
    /// When the record names the account and the configured region, STS's answer is awaited with the
    /// first reads ([`Session::read_live`]) instead of now.
    pub async fn open(
        command: &str,
        plan: Plan,
        clients: Clients,
        state: StateFile,
        calls: Option<PathBuf>,
    ) -> Result<Session, EngineError> {
        let mut recorder = PhaseRecorder::new(command, clients.calls().clone());
        let recorded = {
            let s = state.state();
            match (&s.account, &s.region, clients.region()) {
                (Some(account), Some(region), Some(configured)) if region == configured => {
                    Some(AwsContext {
                        partition: AwsContext::partition_for_region(region).to_owned(),
                        region: region.clone(),
                        account: account.clone(),
                    })
                }
                _ => None,
            }
        };
        let (ctx, caller, caller_pending) = match recorded {
            Some(ctx) => {
                let c = clients.clone();
                let pending = tokio::spawn(async move { aws::resolve_caller(&c).await });
                (ctx, None, Some(pending))
            }
            None => {
                let (ctx, caller) = aws::resolve_caller(&clients).await?;
                (ctx, caller, None)
            }
        };
        recorder.end_phase("context");
        let session = Session {
            plan,
            clients,
            ctx,
            state: Mutex::new(state),
            recorder,
            calls,
            lock_options: LockOptions::default(),
            command: command.to_owned(),
            caller_pending,
            caller,
        };
        session.check_location()?;
        Ok(session)
    }

    /// Waits for STS's answer if it is still to come, and checks it against the context used so far.
    async fn confirm_caller(&mut self) -> Result<(), EngineError> {
        let answer = wait_for(self.caller_pending.take()).await;
        self.accept_caller(answer)
    }

    /// Takes STS's answer (`None`: it came with the session), checked against the context used so far.
    fn accept_caller(&mut self, answer: Option<Caller>) -> Result<(), EngineError> {
        let Some(answer) = answer else {
            return Ok(());
        };
        let (ctx, caller) = answer?;
        self.caller = caller;
        if ctx != self.ctx {
            // The record names another account (or partition) than the credentials': not ours.
            self.ctx = ctx;
            self.check_location()?;
            return Err(EngineError::ElsewhereDeployed {
                record: self.state_path(),
                recorded: "another partition".into(),
                configured: format!("account {} in {}", self.ctx.account, self.ctx.region),
            });
        }
        Ok(())
    }

    /// The deploy record's path, for messages.
    pub fn state_path(&self) -> String {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.path().display().to_string()
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
        let read = self.read_live(!code.is_empty()).await?;
        Ok(self.planned(read, code))
    }

    /// The read phase of a deploy whose code is not known yet (it is being built meanwhile): every
    /// source, every live resource, the given roles, and the code zips when `code_coming` (the code
    /// will be compared). Every problem found (a missing source) stops it here, before any write.
    pub async fn read_live(&mut self, code_coming: bool) -> Result<LiveRead, EngineError> {
        let recorded = self.recorded();
        // The identities to read depend neither on the lookups (mappings are listed per function) nor
        // on the code (its zips are listed by the stage's prefix).
        let (preliminary, _) =
            resolve::desired(&self.plan, &self.ctx, &CodeSet::new(), &Lookups::default());
        let artifacts = self.artifacts();
        let role_path = self.role_path();
        let list_code = code_coming || read::records_code(&recorded);
        let lock_key = lock::key(&self.plan.app, &self.plan.stage);
        let (caller, lookups, live, warnings, lock) = tokio::join!(
            wait_for(self.caller_pending.take()),
            sources::lookup(&self.plan, &self.ctx, &self.clients),
            read::read(
                &self.clients,
                &preliminary,
                &recorded,
                &artifacts,
                &role_path,
                list_code,
            ),
            given_role::check(&self.clients, &self.plan, &self.ctx),
            lock::peek(&self.clients, &artifacts.bucket, &lock_key),
        );
        self.recorder.end_phase("read");
        // Who we are first: no credentials makes every read fail, and says so best.
        self.accept_caller(caller)?;
        let lookups = lookups.map_err(EngineError::Read)?;
        let live = live.map_err(EngineError::Read)?;
        let lock = lock.map_err(EngineError::Read)?;
        // A role that cannot be read (no permission to) is not a reason to stop: IAM will judge it.
        let warnings = warnings
            .unwrap_or_else(|e| vec![format!("could not check the roles given in the file: {e}")]);
        let (desired, mut problems) =
            resolve::desired(&self.plan, &self.ctx, &CodeSet::new(), &lookups);
        problems.extend(read::source_problems(&desired, &live));
        if !problems.is_empty() {
            return Err(EngineError::Problems(problems));
        }
        Ok(LiveRead {
            lookups,
            live,
            recorded,
            warnings,
            lock,
        })
    }

    /// The changes deploying the plan with `code` makes to what `read` found (no AWS call).
    pub fn planned(&self, read: LiveRead, code: &CodeSet) -> Planned {
        let (desired, _) = resolve::desired(&self.plan, &self.ctx, code, &read.lookups);
        let changes = diff::diff(&desired, &read.live, &read.recorded);
        Planned {
            desired,
            live: read.live,
            recorded: read.recorded,
            changes,
            warnings: read.warnings,
            lock: Some(read.lock),
        }
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
        let artifacts = self.artifacts();
        let list_code = read::records_code(&recorded);
        let lock_key = lock::key(&self.plan.app, &self.plan.stage);
        let (caller, live, lock) = tokio::join!(
            wait_for(self.caller_pending.take()),
            read::read(
                &self.clients,
                &desired,
                &recorded,
                &artifacts,
                &role_path,
                list_code,
            ),
            lock::peek(&self.clients, &artifacts.bucket, &lock_key),
        );
        self.recorder.end_phase("read");
        self.accept_caller(caller)?;
        let live = live.map_err(EngineError::Read)?;
        let lock = lock.map_err(EngineError::Read)?;
        let changes = diff::diff(&desired, &live, &recorded);
        Ok(Planned {
            desired,
            live,
            recorded,
            changes,
            warnings: Vec::new(),
            lock: Some(lock),
        })
    }

    /// Reads the deploy record again from disk (after waiting for the lock: another deploy of this
    /// machine may have changed it).
    pub fn reload_state(&self) -> Result<(), EngineError> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reload()?;
        Ok(())
    }

    /// Takes the stage's deploy lock (see [`lock`]) from what the reads `seen` of it; `say` tells
    /// about waiting.
    pub async fn lock(
        &mut self,
        seen: Option<Seen>,
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<Lock, EngineError> {
        self.confirm_caller().await?;
        let holder = Holder::this_process(&self.command, self.caller.clone());
        let key = lock::key(&self.plan.app, &self.plan.stage);
        let bucket = artifacts::bucket_name(&self.ctx);
        let taken = lock::acquire(
            &self.clients,
            &bucket,
            &self.ctx.region,
            &key,
            &self.plan.stage,
            &holder,
            &self.lock_options,
            seen,
            say,
        )
        .await;
        self.recorder.end_phase("lock");
        Ok(taken?)
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

/// STS's answer, when one is still to come.
async fn wait_for(pending: Option<JoinHandle<Caller>>) -> Option<Caller> {
    let pending = pending?;
    Some(pending.await.unwrap_or_else(|e| {
        Err(AwsError::CallerIdentity(format!(
            "the STS call failed: {e}"
        )))
    }))
}
