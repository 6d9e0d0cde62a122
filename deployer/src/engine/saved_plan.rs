//! A saved plan (`plan --out FILE`, `deploy --plan FILE`): the changes a live plan found, with what they
//! were computed from (the stage's plan, the code's hashes, the account and region), so the deploy that
//! applies them can check nothing moved in between and apply exactly them.
//!
//! Staleness is judged on the changes themselves: each carries the live value it would replace
//! (`memory_mb: 128 → 256`), so a deploy that reads again and finds any other change, or any other old
//! value, knows the state the plan was reviewed against is gone.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use chalice_codegen::plan::Plan;
use serde::{Deserialize, Serialize};

use super::diff::Change;
use crate::resources::CodeSet;

/// What a saved plan file says it is.
pub const FORMAT: &str = "chalice-rs saved plan";
/// Bumped when the file's shape changes incompatibly.
pub const VERSION: u32 = 1;

/// A live plan, saved for a later `deploy --plan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub version: u32,
    pub app: String,
    pub stage: String,
    pub account: String,
    pub region: String,
    /// The code's hex sha256 per architecture (`x86_64`, `arm64`).
    pub code: BTreeMap<String, String>,
    /// The stage's plan the changes were computed from.
    pub plan: Plan,
    /// What applying it changes, in order.
    pub changes: Vec<Change>,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the saved plan `{}`: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write the saved plan `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("`{}` is not a saved plan of this version of the deployer: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the saved plan was made for {planned}, but {found}; nothing was changed")]
    Mismatch { planned: String, found: String },
}

impl SavedPlan {
    pub fn new(
        plan: Plan,
        account: &str,
        region: &str,
        code: &CodeSet,
        changes: Vec<Change>,
    ) -> SavedPlan {
        SavedPlan {
            format: FORMAT.to_string(),
            version: VERSION,
            app: plan.app.clone(),
            stage: plan.stage.clone(),
            account: account.to_string(),
            region: region.to_string(),
            code: hashes(code),
            plan,
            changes,
        }
    }

    /// Writes it as pretty JSON (temp file, then rename: a reader never sees half a plan).
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let err = |source| SavedPlanError::Write {
            path: path.to_path_buf(),
            source,
        };
        // Cannot fail: every map has string keys.
        let json = serde_json::to_string_pretty(self).map_err(|e| err(io::Error::other(e)))? + "\n";
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |reason: String| SavedPlanError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let head: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(invalid(format!(
                "it has no `\"format\": \"{FORMAT}\"` (write one with `deployer plan --out FILE`)"
            )));
        }
        let version = head.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(VERSION)) {
            return Err(invalid(format!(
                "it is version {}, this deployer reads version {VERSION}: make the plan again",
                version.map_or("?".to_string(), |v| v.to_string())
            )));
        }
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))
    }

    /// Refuses code other than the code the plan was made with.
    pub fn check_code(&self, code: &CodeSet) -> Result<(), SavedPlanError> {
        let now = hashes(code);
        if now == self.code {
            return Ok(());
        }
        let show = |c: &BTreeMap<String, String>| {
            c.iter()
                .map(|(arch, sha)| format!("{arch} {}", &sha[..sha.len().min(12)]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(SavedPlanError::Mismatch {
            planned: format!("the bootstrap with sha256 {}", show(&self.code)),
            found: format!(
                "this one is {} (pass the same --bootstrap FILE the plan was made with)",
                show(&now)
            ),
        })
    }

    /// Refuses a stage plan other than the one the changes were computed from (the app file changed).
    pub fn check_plan(&self, plan: &Plan) -> Result<(), SavedPlanError> {
        if *plan == self.plan {
            return Ok(());
        }
        Err(SavedPlanError::Mismatch {
            planned: format!("app `{}`, stage `{}` as it was then", self.app, self.stage),
            found: "the app file (or the build's plan) has changed since: make the plan again"
                .into(),
        })
    }

    /// Refuses another account or region than the one the plan read.
    pub fn check_location(&self, account: &str, region: &str) -> Result<(), SavedPlanError> {
        if account == self.account && region == self.region {
            return Ok(());
        }
        Err(SavedPlanError::Mismatch {
            planned: format!("account {} in {}", self.account, self.region),
            found: format!("the AWS configuration points at account {account} in {region}"),
        })
    }

    /// What moved between the saved changes and `now` (read again): each line a change that is no
    /// longer planned the same way (`-`) or is new (`+`). Empty: `now` is exactly the saved plan.
    pub fn moved(&self, now: &[Change]) -> Vec<String> {
        let first_line = |c: &Change| c.to_string().replace('\n', ";");
        let mut out: Vec<String> = self
            .changes
            .iter()
            .filter(|c| !now.contains(c))
            .map(|c| format!("planned, no longer so: {}", first_line(c)))
            .collect();
        out.extend(
            now.iter()
                .filter(|c| !self.changes.contains(c))
                .map(|c| format!("found now: {}", first_line(c))),
        );
        out
    }
}

fn hashes(code: &CodeSet) -> BTreeMap<String, String> {
    code.iter()
        .map(|(arch, d)| (arch.clone(), d.sha256_hex.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Action, FieldChange, Identity};

    fn update(old: &str, new: &str) -> Change {
        Change::new(
            "function.h",
            Identity::Function {
                name: "a-dev-h".into(),
            },
            None,
            Action::Update {
                fields: vec![FieldChange {
                    field: "memory_mb".into(),
                    old: Some(old.into()),
                    new: Some(new.into()),
                }],
            },
        )
    }

    fn saved(changes: Vec<Change>) -> SavedPlan {
        let model =
            chalice_codegen::load("events.chalice", "app a\nschedule h rate(1 hour)\n").unwrap();
        let plan = chalice_codegen::emit_plan::plan(&model, "dev").unwrap();
        SavedPlan::new(plan, "123456789012", "us-east-1", &CodeSet::new(), changes)
    }

    #[test]
    fn a_plan_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let s = saved(vec![update("128", "256")]);
        s.write(&path).unwrap();
        assert_eq!(SavedPlan::read(&path).unwrap(), s);
    }

    #[test]
    fn other_files_and_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "{\"changes\": []}").unwrap();
        assert!(matches!(
            SavedPlan::read(&path),
            Err(SavedPlanError::Invalid { .. })
        ));
        let mut s = serde_json::to_value(saved(Vec::new())).unwrap();
        s["version"] = 99.into();
        std::fs::write(&path, s.to_string()).unwrap();
        let err = SavedPlan::read(&path).unwrap_err().to_string();
        assert!(err.contains("version 99"), "{err}");
    }

    #[test]
    fn an_old_value_that_moved_makes_it_stale() {
        let s = saved(vec![update("128", "256")]);
        assert!(s.moved(&[update("128", "256")]).is_empty());
        let moved = s.moved(&[update("512", "256")]);
        assert_eq!(moved.len(), 2, "{moved:?}");
        assert!(moved[0].starts_with("planned, no longer so: ~ update lambda_function a-dev-h"));
        assert!(moved[1].contains("memory_mb: 512 → 256"), "{moved:?}");
        assert_eq!(s.moved(&[]).len(), 1, "already applied");
    }

    #[test]
    fn another_account_is_refused() {
        let s = saved(Vec::new());
        assert!(s.check_location("123456789012", "us-east-1").is_ok());
        let err = s.check_location("210987654321", "us-east-1").unwrap_err();
        assert!(err.to_string().contains("account 210987654321"), "{err}");
    }
}
