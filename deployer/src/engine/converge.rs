//! Deploy and delete as whole operations on an open [`Session`]: read, show, confirm, apply, record.
//!
//! What is shown and how confirmation is asked is the caller's: `confirm` sees the changes before
//! anything is written and may cancel. Writes happen under the stage's deploy lock ([`super::lock`]),
//! taken once there is something to write and given back however the command ends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::EngineError;
use super::apply::{self, Applier, Outcome};
use super::diff::{Change, Counts};
use super::lock::{self, Lock};
use super::session::{Planned, Session};
use crate::aws::Clients;
use crate::resources::{CodeSet, Identity};

/// What a converge did.
#[derive(Debug)]
pub struct Converged {
    /// The changes applied (empty: nothing to do).
    pub changes: Vec<Change>,
    pub elapsed: Duration,
}

impl Converged {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.changes)
    }
}

/// Deploys `code` (its zips by object key): what differs from the plan is applied, each step recorded
/// the moment it is done. `confirm` sees the changes first (not called when there are none);
/// `progress` gets one line per finished step.
pub async fn deploy(
    s: &mut Session,
    code: &CodeSet,
    zips: &BTreeMap<String, Vec<u8>>,
    confirm: impl FnOnce(&Session, &[Change]) -> Result<bool, EngineError>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Converged, EngineError> {
    let started = Instant::now();
    let planned = s.read_for_deploy(code).await?;
    deploy_planned(s, planned, code, zips, confirm, progress, started).await
}

/// [`deploy`] from a read phase the caller ran (while the code was being built); `started`: when.
pub async fn deploy_planned(
    s: &mut Session,
    planned: Planned,
    code: &CodeSet,
    zips: &BTreeMap<String, Vec<u8>>,
    confirm: impl FnOnce(&Session, &[Change]) -> Result<bool, EngineError>,
    progress: &(dyn Fn(&str) + Sync),
    started: Instant,
) -> Result<Converged, EngineError> {
    for w in &planned.warnings {
        progress(&format!("warning: {w}"));
    }
    if planned.changes.is_empty() {
        // Another deploy of this machine may have recorded more since the record was opened.
        s.reload_state()?;
        apply::reconcile(&s.state, &s.ctx, &planned.desired, &planned.live)?;
        return Ok(Converged {
            changes: Vec::new(),
            elapsed: started.elapsed(),
        });
    }
    let work = async |s: &Session, planned: Planned, lock: &Lock| -> Result<_, EngineError> {
        if !planned.changes.is_empty() {
            s.state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_location(&s.ctx.account, &s.ctx.region)?;
            // The lock made the artifacts bucket: it is the stage's, as if the deploy had.
            let made = |c: &Change| {
                lock.created_bucket
                    && !c.is_delete()
                    && matches!(c.identity, Identity::ArtifactsBucket { .. })
            };
            let mut rest = Vec::new();
            for c in &planned.changes {
                if made(c) {
                    apply::record_created(&s.state, &c.id, &c.identity)?;
                    progress(&format!(
                        "  created {} {} (for the deploy lock)",
                        c.kind, c.name
                    ));
                } else {
                    rest.push(c.clone());
                }
            }
            run(s, &planned, &rest, zips, "deploy", progress).await?;
        }
        apply::reconcile(&s.state, &s.ctx, &planned.desired, &planned.live)?;
        Ok(planned.changes)
    };
    let changes =
        confirmed_and_locked(s, planned, Command::Deploy(code), confirm, progress, work).await;
    s.recorder.end_phase("apply");
    let changes = changes?;
    Ok(Converged {
        changes,
        elapsed: started.elapsed(),
    })
}

/// A confirmation that took this long was a person reading the plan: when another deploy ran
/// meanwhile, a plan that no longer holds is not applied.
const REVIEWED: Duration = Duration::from_secs(1);

/// Deletes everything the stage deployed (recorded, or found by the plan's identities), and its
/// record; the functions' log groups only when `logs`. `confirm` sees the deletions first (not called
/// when there are none).
pub async fn delete(
    s: &mut Session,
    logs: bool,
    confirm: impl FnOnce(&Session, &[Change]) -> Result<bool, EngineError>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Converged, EngineError> {
    let started = Instant::now();
    let planned = s.read_for_delete(logs).await?;
    if planned.changes.is_empty() {
        s.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove_file()?;
        return Ok(Converged {
            changes: Vec::new(),
            elapsed: started.elapsed(),
        });
    }
    let work = async |s: &Session, planned: Planned, _: &Lock| -> Result<_, EngineError> {
        // The artifacts bucket goes last, once the lock (an object in it) is gone.
        let (bucket, rest): (Vec<Change>, Vec<Change>) = planned
            .changes
            .iter()
            .cloned()
            .partition(|c| matches!(c.identity, Identity::ArtifactsBucket { .. }));
        run(s, &planned, &rest, &BTreeMap::new(), "delete", progress).await?;
        Ok((planned, bucket))
    };
    let done = confirmed_and_locked(
        s,
        planned,
        Command::Delete { logs },
        confirm,
        progress,
        work,
    )
    .await;
    let (planned, bucket) = match done {
        Ok(done) => done,
        Err(e) => {
            s.recorder.end_phase("apply");
            return Err(e);
        }
    };
    if !bucket.is_empty() {
        run(s, &planned, &bucket, &BTreeMap::new(), "delete", progress).await?;
    }
    s.recorder.end_phase("apply");
    s.state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove_file()?;
    Ok(Converged {
        changes: planned.changes,
        elapsed: started.elapsed(),
    })
}

/// Which command a converge is, and what it reads again under a lock it waited for.
#[derive(Clone, Copy)]
enum Command<'a> {
    Deploy(&'a CodeSet),
    Delete { logs: bool },
}

impl Command<'_> {
    fn name(self) -> &'static str {
        match self {
            Command::Deploy(_) => "deploy",
            Command::Delete { .. } => "delete",
        }
    }

    async fn read(self, s: &mut Session) -> Result<Planned, EngineError> {
        match self {
            Command::Deploy(code) => s.read_for_deploy(code).await,
            Command::Delete { logs } => s.read_for_delete(logs).await,
        }
    }
}

/// What deploy and delete share once they have changes to make: `confirm` sees them, the stage's
/// lock is taken, and when it had to be waited for, everything is read again under it (a plan a person
/// reviewed that no longer holds stops with [`EngineError::Moved`]); then `work` applies the plan,
/// holding the lock (see [`locked`]).
async fn confirmed_and_locked<T>(
    s: &mut Session,
    planned: Planned,
    command: Command<'_>,
    confirm: impl FnOnce(&Session, &[Change]) -> Result<bool, EngineError>,
    progress: &(dyn Fn(&str) + Sync),
    work: impl AsyncFnOnce(&Session, Planned, &Lock) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let asked = Instant::now();
    if !confirm(s, &planned.changes)? {
        return Err(EngineError::Cancelled);
    }
    let reviewed = asked.elapsed() >= REVIEWED;
    let lock = s.lock(planned.lock.clone(), progress).await?;
    let (clients, path) = (s.clients.clone(), s.state_path());
    let under_lock = async {
        let mut planned = planned;
        if lock.waited {
            // What was read may predate another deploy's writes: read again, under the lock.
            s.reload_state()?;
            let again = command.read(s).await?;
            if reviewed && again.changes != planned.changes {
                return Err(EngineError::Moved);
            }
            planned = again;
        }
        work(s, planned, &lock).await
    };
    let gone = matches!(command, Command::Delete { .. });
    locked(&clients, &lock, command.name(), &path, gone, under_lock).await
}

/// Runs `work` holding `lock`, and gives the lock back however it ends: done, failed, or stopped by
/// Ctrl-C or SIGTERM (in-flight calls are then abandoned; what was done is recorded). `gone`: the
/// stage is deleted once `work` succeeds, and its lock object with it.
async fn locked<T>(
    clients: &Clients,
    lock: &Lock,
    command: &str,
    state_path: &str,
    gone: bool,
    work: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    let result = tokio::select! {
        r = work => r,
        signal = interrupted() => {
            Err(EngineError::Interrupted(signal, state_path.to_owned(), command.to_owned()))
        }
    };
    let released = match (&result, gone) {
        (Ok(_), true) => lock.remove(clients).await,
        _ => lock.release(clients).await,
    };
    match (result, released) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(lock::LockError::from(e).into()),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(release)) => {
            eprintln!(
                "warning: could not release the deploy lock s3://{}/{}: {release}",
                lock.bucket, lock.key
            );
            Err(e)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (naming it).
async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "Ctrl-C"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Applies `changes` of the plan; a failure says what was done and how to resume.
async fn run(
    s: &Session,
    planned: &Planned,
    changes: &[Change],
    zips: &BTreeMap<String, Vec<u8>>,
    command: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), EngineError> {
    let applier = Applier {
        clients: &s.clients,
        ctx: &s.ctx,
        desired: &planned.desired,
        live: &planned.live,
        zips,
        state: &s.state,
        progress,
    };
    let outcome: Outcome = apply::apply(&applier, changes).await;
    if outcome.succeeded() {
        return Ok(());
    }
    let path = s
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .path()
        .display()
        .to_string();
    Err(EngineError::ApplyFailed(
        outcome.failure_message(command, &path),
    ))
}
