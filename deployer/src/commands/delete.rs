//! `deployer delete`: remove everything the stage deployed (recorded, or found by the plan's
//! identities), and nothing else. A second delete finds nothing and says so.

use std::io::Write;

use super::{
    CommandError, LiveOptions, changes_json, confirm, open_session, require_confirmation_possible,
    write_json,
};
use crate::engine::converge;
use crate::engine::diff;
use crate::engine::session::Session;
use crate::project::plan::load_plan;

/// What `deployer delete` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteOptions {
    pub live: LiveOptions,
    /// Delete without asking.
    pub yes: bool,
    /// Delete the functions' log groups too.
    pub logs: bool,
    /// One JSON document on stdout (what was deleted) and nothing else there.
    pub json: bool,
    pub color: bool,
}

pub fn run(opts: &DeleteOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    if opts.json && !opts.yes {
        return Err(CommandError::Usage(
            "--json shows nothing to confirm: pass --yes too".into(),
        ));
    }
    require_confirmation_possible(opts.yes, "delete")?;
    let plan = load_plan(&opts.live.app, &opts.live.stage)?;
    let runtime = crate::engine::runtime()?;
    runtime.block_on(async {
        let mut s = open_session("delete", &opts.live, plan).await?;
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
    let mut shown = Ok(());
    let ask = |s: &Session, changes: &[diff::Change]| {
        let deleting = format!("Deleting {} resource(s):", diff::Counts::of(changes).delete);
        if opts.json {
            eprintln!("{deleting}");
            return Ok(true);
        }
        shown = (|| -> Result<(), CommandError> {
            writeln!(
                out,
                "Deleting app `{}`, stage `{}` from account {} in {}:\n",
                s.plan.app, s.plan.stage, s.ctx.account, s.ctx.region
            )?;
            out.write_all(diff::render(changes, opts.color).as_bytes())?;
            out.flush()?;
            Ok(())
        })();
        if shown.is_err() {
            return Ok(false);
        }
        let go = opts.yes
            || confirm("\nDelete these resources?").unwrap_or_else(|e| {
                shown = Err(e.into());
                false
            });
        if go {
            eprintln!("{deleting}");
        }
        Ok(go)
    };
    let progress = |line: &str| eprintln!("{line}");
    let result = converge::delete(s, opts.logs, ask, &progress).await;
    shown?;
    let deleted = result?;
    if opts.json {
        let mut doc = changes_json(s, &deleted.changes);
        doc["log_groups_kept"] = (!opts.logs).into();
        return write_json(out, &doc);
    }
    if deleted.changes.is_empty() {
        writeln!(
            out,
            "Nothing to delete: app `{}`, stage `{}` has nothing deployed in account {}, {}.",
            s.plan.app, s.plan.stage, s.ctx.account, s.ctx.region
        )?;
    } else {
        writeln!(
            out,
            "\nDeleted: {} resource(s) in {:.2} s.",
            deleted.counts().delete,
            deleted.elapsed.as_secs_f64()
        )?;
        if let Some(artifacts) = diff::ArtifactChanges::of(&deleted.changes).line(true) {
            writeln!(out, "{artifacts}")?;
        }
    }
    if !opts.logs {
        writeln!(
            out,
            "The functions' log groups (/aws/lambda/{}-{}-*) are kept with their logs; `deployer delete --logs` removes them.",
            s.plan.app, s.plan.stage
        )?;
    }
    Ok(())
}
