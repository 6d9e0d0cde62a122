//! Deploy and delete as whole operations on an open [`Session`]: read, show, confirm, apply, record.
//!
//! What is shown and how confirmation is asked is the caller's: `confirm` sees the changes before
//! anything is written and may cancel.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::EngineError;
use super::apply::{self, Applier, Outcome};
use super::diff::{Change, Counts};
use super::session::{Planned, Session};
use crate::resources::CodeSet;

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
    for w in &planned.warnings {
        progress(&format!("warning: {w}"));
    }
    if planned.changes.is_empty() {
        apply::reconcile(&s.state, &s.ctx, &planned.desired, &planned.live)?;
        return Ok(Converged {
            changes: Vec::new(),
            elapsed: started.elapsed(),
        });
    }
    if !confirm(s, &planned.changes)? {
        return Err(EngineError::Cancelled);
    }
    s.state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_location(&s.ctx.account, &s.ctx.region)?;
    run(s, &planned, zips, "deploy", progress).await?;
    apply::reconcile(&s.state, &s.ctx, &planned.desired, &planned.live)?;
    Ok(Converged {
        changes: planned.changes,
        elapsed: started.elapsed(),
    })
}

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
    if !planned.changes.is_empty() {
        if !confirm(s, &planned.changes)? {
            return Err(EngineError::Cancelled);
        }
        run(s, &planned, &BTreeMap::new(), "delete", progress).await?;
    }
    s.state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove_file()?;
    Ok(Converged {
        changes: planned.changes,
        elapsed: started.elapsed(),
    })
}

/// Applies the planned changes; a failure says what was done and how to resume.
async fn run(
    s: &mut Session,
    planned: &Planned,
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
    let outcome: Outcome = apply::apply(&applier, &planned.changes).await;
    s.recorder.end_phase("apply");
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
