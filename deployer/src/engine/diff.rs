//! Desired vs live: the typed list of changes a deploy makes, each kind compared by its own module
//! ([`crate::resources::Resource::changes`]). Pure: no SDK, no I/O.

use std::collections::BTreeSet;
use std::fmt;

use anstyle::{AnsiColor, Style};
use serde::Serialize;
use serde_json::Value;

use super::desired::Desired;
use crate::resources::{self, Identity, Live, Wanted};
pub use crate::resources::{Action, Change, DeleteReason, FieldChange, Recorded};

/// Counts of a plan's changes to the app's resources (the deployer's artifacts are
/// [`ArtifactChanges`]): the same resources `plan --offline` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Counts {
    pub fn of(changes: &[Change]) -> Counts {
        let mut c = Counts::default();
        for change in changes.iter().filter(|c| !c.kind.is_artifact()) {
            match change.action {
                Action::Create => c.create += 1,
                Action::Update { .. } => c.update += 1,
                Action::Delete { .. } => c.delete += 1,
            }
        }
        c
    }
}

impl fmt::Display for Counts {
    /// `Plan: A to create, U to update, D to delete.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to create, {} to update, {} to delete.",
            self.create, self.update, self.delete
        )
    }
}

/// A plan's changes to the deployer's artifacts: the bucket code zips are uploaded to (one per account
/// and region, shared by every app and stage there) and this stage's code zips in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArtifactChanges {
    /// The bucket's name, when it is made.
    pub bucket_create: Option<String>,
    /// The bucket's name, when it is deleted (it is kept while it holds others' code).
    pub bucket_delete: Option<String>,
    pub zips_upload: usize,
    pub zips_delete: usize,
}

impl ArtifactChanges {
    pub fn of(changes: &[Change]) -> ArtifactChanges {
        let mut a = ArtifactChanges::default();
        for c in changes.iter().filter(|c| c.kind.is_artifact()) {
            match (&c.action, &c.identity) {
                (Action::Create, Identity::ArtifactsBucket { bucket }) => {
                    a.bucket_create = Some(bucket.clone());
                }
                (Action::Delete { .. }, Identity::ArtifactsBucket { bucket }) => {
                    a.bucket_delete = Some(bucket.clone());
                }
                (Action::Delete { .. }, _) => a.zips_delete += 1,
                _ => a.zips_upload += 1,
            }
        }
        a
    }

    /// `Artifacts: 1 code zip to upload, the bucket B to create (shared by ...).`; `done`: in the
    /// past tense (`uploaded`, `created`). `None` when nothing changes.
    pub fn line(&self, done: bool) -> Option<String> {
        let verb = |todo: &str, past: &str| {
            if done {
                past.to_owned()
            } else {
                format!("to {todo}")
            }
        };
        let zips = |n: usize| format!("{n} code zip{}", if n == 1 { "" } else { "s" });
        let mut parts = Vec::new();
        if self.zips_upload > 0 {
            parts.push(format!(
                "{} {}",
                zips(self.zips_upload),
                verb("upload", "uploaded")
            ));
        }
        if self.zips_delete > 0 {
            parts.push(format!(
                "{} {}",
                zips(self.zips_delete),
                verb("delete", "deleted")
            ));
        }
        if let Some(b) = &self.bucket_create {
            parts.push(format!(
                "the artifacts bucket {b} {} (shared by every app and stage in this account and region)",
                verb("create", "created")
            ));
        }
        if let Some(b) = &self.bucket_delete {
            parts.push(format!(
                "the artifacts bucket {b} {}",
                if done {
                    "deleted unless it held other apps' or stages' code"
                } else {
                    "to delete unless it holds other apps' or stages' code"
                }
            ));
        }
        (!parts.is_empty()).then(|| format!("Artifacts: {}.", parts.join(", ")))
    }
}

/// The counts line, and the artifacts line when they change; `No changes. Everything is up to date.`
/// when nothing does.
pub fn summary(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "No changes. Everything is up to date.".to_owned();
    }
    let counts = Counts::of(changes).to_string();
    match ArtifactChanges::of(changes).line(false) {
        Some(artifacts) => format!("{counts}\n{artifacts}"),
        None => counts,
    }
}

/// The plan as text: one block per change, then the counts line. `color` paints the first lines.
pub fn render(changes: &[Change], color: bool) -> String {
    let mut out = String::new();
    for change in changes {
        let text = change.to_string();
        let (first, rest) = text
            .split_once('\n')
            .map_or((text.as_str(), ""), |(a, b)| (a, b));
        let paint = match change.action {
            Action::Create => AnsiColor::Green,
            Action::Update { .. } => AnsiColor::Yellow,
            Action::Delete { .. } => AnsiColor::Red,
        };
        if color {
            let style = Style::new().fg_color(Some(paint.into()));
            out.push_str(&format!("{style}{first}{style:#}\n"));
        } else {
            out.push_str(first);
            out.push('\n');
        }
        if !rest.is_empty() {
            out.push_str(rest);
            out.push('\n');
        }
    }
    if !changes.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary(changes));
    out.push('\n');
    out
}

/// The plan as JSON: `{"changes": [...], "summary": {"create": A, "update": U, "delete": D},
/// "artifacts": {...}}`; the summary counts the app's resources, as the text does.
pub fn to_json(changes: &[Change]) -> Value {
    serde_json::json!({
        "changes": changes,
        "summary": Counts::of(changes),
        "artifacts": ArtifactChanges::of(changes),
    })
}

/// Everything that must change for live to match desired, in the order it is applied: creations and
/// updates first (dependencies before dependents), then deletions (dependents first).
pub fn diff(desired: &Desired, live: &Live, recorded: &[Recorded]) -> Vec<Change> {
    let mut changes: Vec<(usize, Change)> = Vec::new();
    for (index, r) in desired.resources.iter().enumerate() {
        let identity = r.spec.identity();
        let preferred = recorded
            .iter()
            .find(|rec| rec.identity == identity)
            .and_then(|rec| rec.physical_id.as_deref());
        for change in r.spec.changes(&r.id, live, preferred) {
            changes.push((index, change));
        }
    }
    let desired_identities: BTreeSet<Identity> = desired
        .resources
        .iter()
        .map(|r| r.spec.identity())
        .collect();
    let wanted = Wanted {
        identities: &desired_identities,
        code_known: desired.code_known,
        deleting_stage: desired.deleting_stage,
    };
    let mut seen: BTreeSet<(Identity, Option<String>)> = changes
        .iter()
        .filter(|(_, c)| c.is_delete())
        .map(|(_, c)| (c.identity.clone(), c.physical_id.clone()))
        .collect();
    for (index, rec) in recorded.iter().enumerate() {
        for change in resources::removals(rec, &wanted, live) {
            if seen.insert((change.identity.clone(), change.physical_id.clone())) {
                changes.push((index, change));
            }
        }
    }
    changes.sort_by_key(|(i, c)| order(c, *i));
    changes.into_iter().map(|(_, c)| c).collect()
}

/// Sort key: creations/updates by kind then plan order; deletions after, by reverse kind.
fn order(change: &Change, index: usize) -> (u8, i32, usize) {
    let kind = change.kind as i32;
    if change.is_delete() {
        (1, -kind, index)
    } else {
        (0, kind, index)
    }
}

#[cfg(test)]
mod tests;
