//! The small file a running `deployer local` leaves beside the app for `deployer local send`:
//! where its emulator is (endpoint, region, account), which app and stage it runs, and where it
//! listens for schedules to fire ([`super::control`]). Written once the runner is ready, removed
//! when it stops (unless another runner of the stage has written its own since); a file left by a
//! runner that was killed names a process that is gone: it is ignored, and the next runner removes it.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a running runner tells `deployer local send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerInfo {
    /// The app's name (`app NAME` in its file).
    pub app: String,
    pub stage: String,
    /// The AWS endpoint the runner's sources live at, e.g. `http://127.0.0.1:5000`.
    pub endpoint: String,
    pub region: String,
    pub account: String,
    /// Whether the runner started that emulator itself (then any credentials do).
    pub own_emulator: bool,
    /// The runner's process id.
    pub pid: u32,
    /// `127.0.0.1:PORT` where the runner takes schedule names to fire.
    pub control: Option<String>,
}

/// Why the file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RunnerInfoError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("{path} is not a runner's file ({source}); remove it if no runner is running")]
    Invalid {
        path: String,
        source: serde_json::Error,
    },
}

/// `<project>/.chalice-rs/local/<stage>.runner.json`
pub fn path(project_dir: &Path, stage: &str) -> PathBuf {
    project_dir
        .join(crate::engine::state::LOCAL_DIR)
        .join(format!("{stage}.runner.json"))
}

/// The file of a running runner of `stage`; `None` when there is none, or its runner is gone.
pub fn read(project_dir: &Path, stage: &str) -> Result<Option<RunnerInfo>, RunnerInfoError> {
    let path = path(project_dir, stage);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RunnerInfoError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let info: RunnerInfo =
        serde_json::from_str(&text).map_err(|source| RunnerInfoError::Invalid {
            path: path.display().to_string(),
            source,
        })?;
    Ok(alive(info.pid).then_some(info))
}

/// Whether process `pid` still runs (where `/proc` tells; elsewhere it is assumed to).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Removes the runner files of the project (any stage) whose runner is gone; returns them.
pub fn remove_dead(project_dir: &Path) -> Vec<PathBuf> {
    let dir = project_dir.join(crate::engine::state::LOCAL_DIR);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".runner.json"))
        })
        .filter(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|text| serde_json::from_str::<RunnerInfo>(&text).ok())
                .is_some_and(|info| !alive(info.pid))
        })
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect()
}

/// The written file; removed when dropped, unless another runner of the stage has written its own
/// since (it is that runner's now).
#[derive(Debug)]
pub struct Written {
    path: PathBuf,
}

impl Drop for Written {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| serde_json::from_str::<RunnerInfo>(&text).ok())
            .is_some_and(|info| info.pid == std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `info` for its stage beside the app (atomically: `local send` never reads half a file).
pub fn write(project_dir: &Path, info: &RunnerInfo) -> io::Result<Written> {
    let path = path(project_dir, &info.stage);
    let dir = path.parent().unwrap_or(project_dir);
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(info).map_err(io::Error::other)?;
    let partial = dir.join(format!(".{}.runner.json.partial", info.stage));
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, &path)?;
    Ok(Written { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pid: u32) -> RunnerInfo {
        RunnerInfo {
            app: "orders".into(),
            stage: "dev".into(),
            endpoint: "http://127.0.0.1:5000".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            own_emulator: true,
            pid,
            control: Some("127.0.0.1:4000".into()),
        }
    }

    #[test]
    fn written_read_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "dev").unwrap(), None);
        let written = write(dir.path(), &info(std::process::id())).unwrap();
        assert!(
            dir.path()
                .join(".chalice-rs/local/dev.runner.json")
                .is_file()
        );
        assert_eq!(
            read(dir.path(), "dev").unwrap(),
            Some(info(std::process::id()))
        );
        assert_eq!(read(dir.path(), "prod").unwrap(), None);
        drop(written);
        assert_eq!(read(dir.path(), "dev").unwrap(), None);
    }

    #[test]
    fn another_runners_file_is_left_and_dead_ones_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(dir.path(), &info(std::process::id())).unwrap();
        // A second runner of the stage took the file over: it stays when the first stops.
        let mut other = info(std::process::id());
        other.pid = 1;
        std::mem::forget(write(dir.path(), &other).unwrap());
        drop(written);
        assert!(path(dir.path(), "dev").is_file());
        assert!(remove_dead(dir.path()).is_empty());
        other.pid = u32::MAX;
        std::mem::forget(write(dir.path(), &other).unwrap());
        assert_eq!(remove_dead(dir.path()), vec![path(dir.path(), "dev")]);
        assert!(!path(dir.path(), "dev").exists());
    }

    #[test]
    fn a_dead_runners_file_is_ignored_and_garbage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(dir.path(), &info(u32::MAX)).unwrap();
        assert_eq!(read(dir.path(), "dev").unwrap(), None);
        std::mem::forget(written);
        std::fs::write(path(dir.path(), "dev"), "not json").unwrap();
        let err = read(dir.path(), "dev").unwrap_err();
        assert!(err.to_string().contains("is not a runner's file"), "{err}");
    }
}
