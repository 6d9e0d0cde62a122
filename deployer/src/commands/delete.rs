//! `deployer delete`: remove everything the stage deployed (recorded, or found by the plan's
//! identities), and nothing else. A second delete finds nothing and says so.

use std::io::Write;
use std::time::Instant;

use super::CommandError;
use super::deploy::failure_message;
use crate::apply::{self, Applier};
use crate::diff;
use crate::session::{self, LiveOptions, Session};

/// What `deployer delete` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOptions {
    pub live: LiveOptions,
    /// Delete without asking.
    pub yes: bool,
    pub color: bool,
}

pub fn run(opts: &DeleteOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    session::require_confirmation_possible(opts.yes, "delete")?;
    let runtime = session::runtime()?;
    runtime.block_on(async {
        let mut s = Session::open("delete", &opts.live).await?;
        let result = delete(&mut s, opts, out).await;
        s.finish();
        result
    })
}

async fn delete(
    s: &mut Session,
    opts: &DeleteOptions,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let started = Instant::now();
    let planned = s.read_for_delete().await?;
    if planned.changes.is_empty() {
        writeln!(
            out,
            "Nothing to delete: app `{}`, stage `{}` has nothing deployed in account {}, {}.",
            s.plan.app, s.plan.stage, s.ctx.account, s.ctx.region
        )?;
        remove_state_file(s)?;
        return Ok(());
    }
    writeln!(
        out,
        "Deleting app `{}`, stage `{}` from account {} in {}:\n",
        s.plan.app, s.plan.stage, s.ctx.account, s.ctx.region
    )?;
    out.write_all(diff::render(&planned.changes, opts.color).as_bytes())?;
    out.flush()?;
    if !opts.yes && !session::confirm("\nDelete these resources?")? {
        return Err(CommandError::Cancelled);
    }
    eprintln!("Deleting {} resource(s):", planned.changes.len());
    let progress = |line: &str| eprintln!("{line}");
    let zips = Default::default();
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
        let path = s
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .path()
            .display()
            .to_string();
        return Err(CommandError::ApplyFailed(failure_message(
            &outcome, "delete", &path,
        )));
    }
    remove_state_file(s)?;
    writeln!(
        out,
        "\nDeleted: {} resource(s) in {:.2} s.",
        planned.changes.len(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// Everything is gone: so is its record.
fn remove_state_file(s: &Session) -> Result<(), CommandError> {
    let state = s.state.lock().unwrap_or_else(|e| e.into_inner());
    let path = state.path().to_path_buf();
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CommandError::State(crate::state::StateError::Io {
            path,
            source,
        })),
    }
}
