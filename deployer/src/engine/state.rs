//! The record of what a stage deployed: `.chalice-rs/deployed/<stage>.json`.
//!
//! Not `.chalice/deployed/`: that is Chalice's own record, in another format, and a project may hold
//! both. A record of ours found there (written by an earlier version) is moved on first use.
//!
//! Keyed by the plan's resource ids (`role`, `function.<handler>`, `rule.<handler>`, ...) plus
//! deployer-managed artifacts (e.g. `artifacts.bucket`, `artifacts.code`). Every change is saved at once
//! with an atomic replace (temp file in the same directory, fsync, rename, fsync the directory), so a
//! deploy killed at any point leaves the last complete record and nothing that exists goes unrecorded.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Bumped when the file's shape changes incompatibly.
pub const STATE_VERSION: u32 = 1;
/// Where state files live, relative to the project directory.
pub const STATE_DIR: &str = ".chalice-rs/deployed";
/// Where `deployer local` keeps its records and run files, relative to the project directory.
pub const LOCAL_DIR: &str = ".chalice-rs/local";
/// Where earlier versions kept state files (Chalice's own directory).
const LEGACY_STATE_DIR: &str = ".chalice/deployed";
const TEMP_MARKER: &str = ".tmp-";

/// Errors reading or writing a state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("invalid stage name {0:?}: use letters, digits, `-` and `_`")]
    InvalidStage(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid deploy record: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{path} was written by a newer deployer (state version {found}, this one reads {STATE_VERSION})"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error(
        "{path} records app {found:?}, stage {found_stage:?}, not app {app:?}, stage {stage:?}"
    )]
    Mismatch {
        path: PathBuf,
        app: String,
        stage: String,
        found: String,
        found_stage: String,
    },
}

/// Everything one stage has deployed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployedState {
    pub version: u32,
    pub app: String,
    pub stage: String,
    /// The account the resources live in (set once known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Per resource id, what exists.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceRecord>,
}

impl DeployedState {
    /// An empty record for `app`'s `stage`.
    pub fn new(app: &str, stage: &str) -> DeployedState {
        DeployedState {
            version: STATE_VERSION,
            app: app.to_owned(),
            stage: stage.to_owned(),
            account: None,
            region: None,
            resources: BTreeMap::new(),
        }
    }
}

/// What was created for one plan resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// The resource's ARN, when it has one (role, function, rule, subscription, mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Another physical id needed to update or delete it: a mapping UUID, a statement id, a bucket
    /// notification `Id`, an S3 object key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// The settings applied, as the resource module chose to record them (compared on the next deploy).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub settings: serde_json::Value,
}

/// A stage's state file, loaded; every change is written through to disk.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    state: DeployedState,
}

impl StateFile {
    /// `<project_dir>/.chalice/deployed/<stage>.json`.
    pub fn path_for(project_dir: &Path, stage: &str) -> Result<PathBuf, StateError> {
        check_stage(stage)?;
        Ok(project_dir.join(STATE_DIR).join(format!("{stage}.json")))
    }

    /// Loads `app`'s `stage` record, or starts an empty one (nothing is written until a change).
    ///
    /// Temp files left by an interrupted save are removed: the state file itself is always complete.
    pub fn open(project_dir: &Path, app: &str, stage: &str) -> Result<StateFile, StateError> {
        let path = StateFile::path_for(project_dir, stage)?;
        move_legacy_record(project_dir, &path, app, stage)?;
        StateFile::open_at(path, app, stage)
    }

    /// [`StateFile::open`] for a record kept elsewhere (`deployer local` keeps its own).
    pub fn open_at(path: PathBuf, app: &str, stage: &str) -> Result<StateFile, StateError> {
        check_stage(stage)?;
        remove_stale_temp_files(&path)?;
        let state = match fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes, app, stage)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => DeployedState::new(app, stage),
            Err(source) => return Err(StateError::Io { path, source }),
        };
        Ok(StateFile { path, state })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the record again from disk: another deploy of this stage on this machine may have
    /// changed it since it was opened (read after taking the deploy lock).
    pub fn reload(&mut self) -> Result<(), StateError> {
        let (app, stage) = (self.state.app.clone(), self.state.stage.clone());
        *self = StateFile::open_at(self.path.clone(), &app, &stage)?;
        Ok(())
    }

    pub fn state(&self) -> &DeployedState {
        &self.state
    }

    /// The record of resource `id`, if it was deployed.
    pub fn get(&self, id: &str) -> Option<&ResourceRecord> {
        self.state.resources.get(id)
    }

    /// Whether the stage has nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.state.resources.is_empty()
    }

    /// Records (or replaces) what exists for `id` and saves at once.
    pub fn record(&mut self, id: &str, entry: ResourceRecord) -> Result<(), StateError> {
        if self.state.resources.get(id) == Some(&entry) {
            return Ok(());
        }
        self.state.resources.insert(id.to_owned(), entry);
        self.save()
    }

    /// Forgets `id` (after deleting it) and saves at once; returns what was recorded.
    pub fn remove(&mut self, id: &str) -> Result<Option<ResourceRecord>, StateError> {
        let old = self.state.resources.remove(id);
        if old.is_some() {
            self.save()?;
        }
        Ok(old)
    }

    /// Records the account and region the stage is deployed to, and saves if they changed.
    pub fn set_location(&mut self, account: &str, region: &str) -> Result<(), StateError> {
        if self.state.account.as_deref() == Some(account)
            && self.state.region.as_deref() == Some(region)
        {
            return Ok(());
        }
        self.state.account = Some(account.to_owned());
        self.state.region = Some(region.to_owned());
        self.save()
    }

    /// Removes the state file (after a complete delete). A missing file is fine.
    pub fn remove_file(&self) -> Result<(), StateError> {
        match fs::remove_file(&self.path) {
            Ok(()) => sync_parent(&self.path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Writes the whole record atomically.
    fn save(&self) -> Result<(), StateError> {
        let mut json =
            serde_json::to_vec_pretty(&self.state).map_err(|source| StateError::Parse {
                path: self.path.clone(),
                source,
            })?;
        json.push(b'\n');
        write_atomic(&self.path, &json)
    }
}

fn check_stage(stage: &str) -> Result<(), StateError> {
    let ok = !stage.is_empty()
        && stage.len() <= 64
        && stage
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidStage(stage.to_owned()))
    }
}

fn parse(path: &Path, bytes: &[u8], app: &str, stage: &str) -> Result<DeployedState, StateError> {
    // Check the version before the shape, so a newer file is reported as newer, not as malformed.
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    let parse_err = |source| StateError::Parse {
        path: path.to_owned(),
        source,
    };
    let Version { version } = serde_json::from_slice(bytes).map_err(parse_err)?;
    if version > STATE_VERSION {
        return Err(StateError::TooNew {
            path: path.to_owned(),
            found: version,
        });
    }
    let state: DeployedState = serde_json::from_slice(bytes).map_err(parse_err)?;
    if state.app != app || state.stage != stage {
        return Err(StateError::Mismatch {
            path: path.to_owned(),
            app: app.to_owned(),
            stage: stage.to_owned(),
            found: state.app,
            found_stage: state.stage,
        });
    }
    Ok(state)
}

/// Moves a record of ours for `app`'s `stage` from where earlier versions kept it (Chalice's
/// `.chalice/deployed/`) to `path`, when `path` has none. Chalice's own records there are left alone.
fn move_legacy_record(
    project_dir: &Path,
    path: &Path,
    app: &str,
    stage: &str,
) -> Result<(), StateError> {
    let legacy = project_dir
        .join(LEGACY_STATE_DIR)
        .join(format!("{stage}.json"));
    if path.exists() {
        return Ok(());
    }
    let Ok(bytes) = fs::read(&legacy) else {
        return Ok(());
    };
    if parse(&legacy, &bytes, app, stage).is_err() {
        return Ok(());
    }
    let io_err = |source| StateError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err)?;
    }
    fs::rename(&legacy, path).map_err(io_err)
}

/// The temp files of `path` are `.<file name>.tmp-<pid>-<n>` beside it.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}{TEMP_MARKER}")
}

fn remove_stale_temp_files(path: &Path) -> Result<(), StateError> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StateError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let prefix = temp_prefix(path);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        // `<pid>-<n>`: another deployer of this machine may be saving right now (it holds the deploy
        // lock, or reads without it): only a dead process's file is stale.
        let writer = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if writer.is_some_and(|pid| pid != std::process::id() && super::lock::process_runs(pid)) {
            continue;
        }
        let stale = entry.path();
        match fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StateError::Io {
                    path: stale,
                    source,
                });
            }
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content, complete.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StateError::Io { path, source }
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!("{}{}-{n}", temp_prefix(path), std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(io_err(&temp))?;
        file.write_all(bytes).map_err(io_err(&temp))?;
        file.sync_all().map_err(io_err(&temp))?;
        drop(file);
        fs::rename(&temp, path).map_err(io_err(path))?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// fsyncs the directory holding `path`, so a rename or removal in it survives a crash.
fn sync_parent(path: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StateError::Io {
                path: dir.to_owned(),
                source,
            })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn function_record(n: u32) -> ResourceRecord {
        ResourceRecord {
            arn: Some(format!(
                "arn:aws:lambda:us-east-1:123456789012:function:orders-dev-h{n}"
            )),
            physical_id: None,
            settings: json!({ "memory_mb": 128, "code_sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }),
        }
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_fresh_stage_is_empty_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        assert!(state.is_empty());
        assert_eq!(
            state.path(),
            dir.path().join(".chalice-rs/deployed/dev.json")
        );
        assert!(!dir.path().join(".chalice-rs").exists());
    }

    #[test]
    fn our_record_moves_out_of_chalices_directory_and_chalices_stays() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join(".chalice/deployed");
        fs::create_dir_all(&legacy).unwrap();
        let ours = DeployedState::new("orders", "dev");
        fs::write(legacy.join("dev.json"), serde_json::to_vec(&ours).unwrap()).unwrap();
        // Chalice's own record of another stage: not ours, left where it is.
        let chalice = r#"{"resources": [], "schema_version": "2.0", "backend": "api"}"#;
        fs::write(legacy.join("prod.json"), chalice).unwrap();

        let state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        assert_eq!(
            state.path(),
            dir.path().join(".chalice-rs/deployed/dev.json")
        );
        assert!(state.path().exists());
        assert!(!legacy.join("dev.json").exists());
        let prod = StateFile::open(dir.path(), "orders", "prod").unwrap();
        assert!(prod.is_empty());
        assert_eq!(
            fs::read_to_string(legacy.join("prod.json")).unwrap(),
            chalice
        );
    }

    #[test]
    fn every_record_is_on_disk_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        state.set_location("123456789012", "us-east-1").unwrap();
        state.record("function.h1", function_record(1)).unwrap();
        // Reopen without dropping the first handle: what a kill -9 right now would leave.
        let reread = StateFile::open(dir.path(), "orders", "dev").unwrap();
        assert_eq!(reread.get("function.h1"), Some(&function_record(1)));
        assert_eq!(reread.state().account.as_deref(), Some("123456789012"));

        let mapping = ResourceRecord {
            arn: Some("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u-1".into()),
            physical_id: Some("u-1".into()),
            settings: json!({ "batch_size": 10 }),
        };
        state.record("mapping.h1", mapping.clone()).unwrap();
        assert_eq!(
            state.remove("function.h1").unwrap(),
            Some(function_record(1))
        );
        assert_eq!(state.remove("function.h1").unwrap(), None);
        let reread = StateFile::open(dir.path(), "orders", "dev").unwrap();
        assert_eq!(reread.get("function.h1"), None);
        assert_eq!(reread.get("mapping.h1"), Some(&mapping));
        assert_eq!(reread.state(), state.state());
        assert_eq!(
            files_in(&dir.path().join(STATE_DIR)),
            ["dev.json"],
            "no temp file left behind"
        );
    }

    #[test]
    fn the_file_is_readable_json_in_a_stable_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        state.record("rule.b", ResourceRecord::default()).unwrap();
        state.record("role", ResourceRecord::default()).unwrap();
        state.record("function.a", function_record(2)).unwrap();
        let text = fs::read_to_string(state.path()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = value["resources"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["function.a", "role", "rule.b"]);
        assert_eq!(value["version"], STATE_VERSION);
        assert!(text.ends_with("}\n"));
        // Empty fields are left out.
        assert_eq!(value["resources"]["role"], json!({}));
    }

    #[test]
    fn a_crash_mid_save_leaves_the_old_record_and_the_temp_file_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        state.record("function.h1", function_record(1)).unwrap();
        let before = fs::read(state.path()).unwrap();

        // What a kill -9 between write and rename leaves: a half-written temp file beside the record.
        let state_dir = dir.path().join(STATE_DIR);
        let leftover = state_dir.join(".dev.json.tmp-99999-0");
        fs::write(&leftover, b"{\"version\": 1, \"app\": \"ord").unwrap();
        // Another stage's temp file is not ours to remove.
        let other = state_dir.join(".prod.json.tmp-99999-0");
        fs::write(&other, b"{").unwrap();

        let mut reopened = StateFile::open(dir.path(), "orders", "dev").unwrap();
        assert_eq!(reopened.get("function.h1"), Some(&function_record(1)));
        assert!(!leftover.exists(), "stale temp file removed");
        assert!(other.exists());
        assert_eq!(fs::read(reopened.path()).unwrap(), before);

        reopened.record("role", ResourceRecord::default()).unwrap();
        assert_eq!(files_in(&state_dir), [".prod.json.tmp-99999-0", "dev.json"]);
    }

    #[test]
    fn rerecording_the_same_entry_does_not_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        state.record("function.h1", function_record(1)).unwrap();
        // Append a blank line: a rewrite would drop it.
        let mut text = fs::read_to_string(state.path()).unwrap();
        text.push('\n');
        fs::write(state.path(), &text).unwrap();
        state.record("function.h1", function_record(1)).unwrap();
        assert_eq!(fs::read_to_string(state.path()).unwrap(), text);
        state.record("function.h1", function_record(2)).unwrap();
        assert_ne!(fs::read_to_string(state.path()).unwrap(), text);
    }

    #[test]
    fn delete_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(dir.path(), "orders", "dev").unwrap();
        state.record("role", ResourceRecord::default()).unwrap();
        let path = state.path().to_owned();
        state.remove_file().unwrap();
        assert!(!path.exists());
        // Deleting a stage that never saved anything is fine too.
        StateFile::open(dir.path(), "orders", "dev")
            .unwrap()
            .remove_file()
            .unwrap();
    }

    #[test]
    fn bad_files_are_errors_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = StateFile::path_for(dir.path(), "dev").unwrap();
        fs::create_dir_all(path.parent().unwrap()).unwrap();

        fs::write(&path, b"{ not json").unwrap();
        let err = StateFile::open(dir.path(), "orders", "dev").unwrap_err();
        assert!(matches!(err, StateError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("dev.json"), "{err}");

        fs::write(&path, br#"{"version": 99, "something": "else"}"#).unwrap();
        let err = StateFile::open(dir.path(), "orders", "dev").unwrap_err();
        assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{err}");

        fs::write(
            &path,
            br#"{"version": 1, "app": "billing", "stage": "dev", "resources": {}}"#,
        )
        .unwrap();
        let err = StateFile::open(dir.path(), "orders", "dev").unwrap_err();
        assert!(matches!(err, StateError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn stage_names_cannot_escape_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        for stage in ["", "../x", "a/b", "dev.json", "a b", &"x".repeat(65)] {
            assert!(
                matches!(
                    StateFile::open(dir.path(), "orders", stage),
                    Err(StateError::InvalidStage(_))
                ),
                "{stage:?}"
            );
        }
        assert!(StateFile::open(dir.path(), "orders", "prod_eu-1").is_ok());
    }
}
