//! What a runner leaves if it is killed, and its removal by the next one.
//!
//! Each runner has a run id ([`new_run_id`]), carried by every name it gives its own resources, and
//! a record, `.chalice-rs/local/runs/<run>.json` ([`Journal`]): its process, the emulator it started,
//! the endpoint it changed and each change ([`Cleanup`]), written as it goes and removed when it
//! stops. A runner killed before its cleanup leaves the record; the next runner of the project finds
//! it, its process gone ([`sweep`]), undoes what it lists and stops its emulator.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::retry::RetryConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::cleanup::{Cleanup, undo};
use crate::aws::{ClientOptions, Clients};

/// Where the records live, under the project's `.chalice-rs/local/`.
const RUNS_DIR: &str = "runs";

/// A short id for this run: 8 hex digits of a hash of the process id and the time.
pub fn new_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let seed = format!("{}-{nanos}", std::process::id());
    hex::encode(&Sha256::digest(seed.as_bytes())[..4])
}

/// The emulator a runner started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmulatorProcess {
    pub pid: u32,
    pub port: u16,
}

/// What one runner recorded about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: String,
    pub pid: u32,
    /// When the process started (clock ticks since boot): tells a reused pid apart.
    pub started: Option<u64>,
    pub app: String,
    pub stage: String,
    /// The configured endpoint its changes were made at; `None` in its own emulator.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub emulator: Option<EmulatorProcess>,
    /// What it created or changed, in order.
    pub cleanup: Vec<Cleanup>,
}

/// This runner's record, written through to disk at every change.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    record: RunRecord,
    warned: bool,
}

impl Journal {
    /// The record of run `run` of `app`'s `stage` in `project_dir` (written at the first change).
    pub fn new(project_dir: &Path, run: &str, app: &str, stage: &str) -> Journal {
        let pid = std::process::id();
        Journal {
            path: runs_dir(project_dir).join(format!("{run}.json")),
            record: RunRecord {
                run: run.to_owned(),
                pid,
                started: process_started(pid),
                app: app.to_owned(),
                stage: stage.to_owned(),
                endpoint: None,
                region: None,
                emulator: None,
                cleanup: Vec::new(),
            },
            warned: false,
        }
    }

    pub fn run(&self) -> &str {
        &self.record.run
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The emulator this runner started.
    pub fn set_emulator(&mut self, pid: u32, port: u16) {
        self.record.emulator = Some(EmulatorProcess { pid, port });
        self.save();
    }

    /// The configured endpoint this runner's changes are made at.
    pub fn set_endpoint(&mut self, endpoint: &str, region: Option<&str>) {
        self.record.endpoint = Some(endpoint.to_owned());
        self.record.region = region.map(str::to_owned);
        self.save();
    }

    /// Records a change: call it before taking something of the app's off, after creating
    /// something of the runner's (its name or URL is known only then).
    pub fn push(&mut self, item: Cleanup) {
        self.record.cleanup.push(item);
        self.save();
    }

    /// The changes recorded and not yet undone.
    pub fn items(&self) -> &[Cleanup] {
        &self.record.cleanup
    }

    /// Hands the changes to whoever undoes them, and records that nothing is left to undo.
    pub fn take_items(&mut self) -> Vec<Cleanup> {
        let items = std::mem::take(&mut self.record.cleanup);
        self.save();
        items
    }

    /// Changes left undone (a start interrupted before the runner could stop in order) are undone
    /// at the recorded endpoint; then the record is removed. Returns what could not be undone.
    pub async fn finish(mut self) -> Vec<String> {
        let failed = if self.record.cleanup.is_empty() {
            Vec::new()
        } else {
            undo_record(&self.record).await.failed
        };
        if failed.is_empty() {
            let _ = std::fs::remove_file(&self.path);
        } else {
            // Kept for the next runner to retry.
            self.record.pid = 0;
            self.save();
        }
        failed
    }

    fn save(&mut self) {
        if let Err(e) = write_atomically(&self.path, &self.record) {
            if !self.warned {
                super::console::say(&format!(
                    "warning: cannot record this runner's changes in {} (if it is killed, the next \
                     runner cannot undo them): {e}",
                    self.path.display()
                ));
            }
            self.warned = true;
        }
    }
}

fn runs_dir(project_dir: &Path) -> PathBuf {
    project_dir
        .join(crate::engine::state::LOCAL_DIR)
        .join(RUNS_DIR)
}

fn write_atomically(path: &Path, record: &RunRecord) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(record).map_err(io::Error::other)?;
    let partial = dir.join(format!(".{}.partial", record.run));
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}

/// What [`sweep`] did about one dead runner.
#[derive(Debug, Default)]
pub struct Swept {
    pub run: String,
    pub pid: u32,
    /// Lines saying what was removed or given back.
    pub done: Vec<String>,
    /// What could not be undone (the record is kept for the next runner).
    pub failed: Vec<String>,
}

/// Cleans up after every runner of the project whose process is gone: stops the emulator it
/// started, undoes what it changed at a configured endpoint, removes its record and runner file.
pub async fn sweep(project_dir: &Path) -> Vec<Swept> {
    let mut swept = Vec::new();
    let Ok(entries) = std::fs::read_dir(runs_dir(project_dir)) else {
        return swept;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(record) = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<RunRecord>(&text).map_err(|e| e.to_string()))
        else {
            continue;
        };
        if alive(record.pid, record.started) {
            continue;
        }
        let mut result = Swept {
            run: record.run.clone(),
            pid: record.pid,
            ..Swept::default()
        };
        if let Some(emulator) = &record.emulator
            && stop_emulator(emulator)
        {
            result
                .done
                .push(format!("stopped its emulator (pid {})", emulator.pid));
        }
        let undone = undo_record(&record).await;
        result.done.extend(undone.done);
        result.failed = undone.failed;
        if result.failed.is_empty() {
            let _ = std::fs::remove_file(&path);
        }
        swept.push(result);
    }
    swept
}

struct Undone {
    done: Vec<String>,
    failed: Vec<String>,
}

/// Undoes a record's changes in reverse at its endpoint (none in its own emulator, gone with it).
async fn undo_record(record: &RunRecord) -> Undone {
    let mut undone = Undone {
        done: Vec::new(),
        failed: Vec::new(),
    };
    let Some(endpoint) = &record.endpoint else {
        return undone;
    };
    if record.cleanup.is_empty() {
        return undone;
    }
    let clients = Clients::load(&ClientOptions {
        region: record.region.clone(),
        endpoint_url: Some(endpoint.clone()),
        // One attempt each: an endpoint that is gone must not hold up the start for long.
        retry: Some(RetryConfig::standard().with_max_attempts(1)),
        ..ClientOptions::default()
    })
    .await;
    if let Err(aws_sdk_sqs::error::SdkError::DispatchFailure(_)) =
        clients.sqs.list_queues().max_results(1).send().await
    {
        undone.done.push(format!(
            "its endpoint {endpoint} no longer answers: nothing left there to undo"
        ));
        return undone;
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for item in record.cleanup.iter().rev() {
        match undo(&clients, item).await {
            Ok(()) => match counts.iter_mut().find(|(what, _)| *what == item.undone()) {
                Some((_, n)) => *n += 1,
                None => counts.push((item.undone(), 1)),
            },
            Err(e) => undone.failed.push(format!("{item}: {e}")),
        }
    }
    undone
        .done
        .extend(counts.into_iter().map(|(what, n)| match n {
            1 => what.to_owned(),
            n => format!("{what} (x{n})"),
        }));
    undone
}

/// Kills the emulator a dead runner started, if it still runs (and is that emulator: the pid's
/// command line names its port). Returns whether it was running.
fn stop_emulator(emulator: &EmulatorProcess) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{}/cmdline", emulator.pid)) else {
        return false;
    };
    let port = format!("-p\0{}\0", emulator.port);
    if !cmdline.windows(port.len()).any(|w| w == port.as_bytes()) {
        return false;
    }
    kill(emulator.pid)
}

#[cfg(target_os = "linux")]
fn kill(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with a pid checked to be the emulator's and a constant signal.
    unsafe { libc::kill(pid, libc::SIGKILL) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn kill(_pid: u32) -> bool {
    false
}

/// `/proc/<pid>/stat`'s state and start time (clock ticks since boot).
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses; the fields follow the last `)`.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 of the whole line is the 20th after the state (field 3).
    let started = fields.get(19)?.parse().ok()?;
    Some((state, started))
}

/// When process `pid` started, where `/proc` tells.
pub fn process_started(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, started)| started)
}

/// Whether process `pid` (started at `started`, when known) still runs. Without `/proc` it is
/// assumed to: nothing is cleaned up that may still be in use.
pub fn alive(pid: u32, started: Option<u64>) -> bool {
    if pid == 0 {
        return false;
    }
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    match stat(pid) {
        None => false,
        Some(('Z' | 'X', _)) => false,
        Some((_, now)) => started.is_none_or(|s| s == now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_short_and_differ() {
        let a = new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(1));
        let b = new_run_id();
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = std::process::id();
        let started = process_started(me);
        assert!(started.is_some());
        assert!(alive(me, started));
        assert!(!alive(me, started.map(|s| s + 1)));
        assert!(!alive(0, None));
        assert!(!alive(u32::MAX, None));
    }

    #[tokio::test]
    async fn a_dead_runners_record_is_swept_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = Journal::new(dir.path(), "live0001", "orders", "dev");
        live.push(Cleanup::Queue {
            url: "http://127.0.0.1:1/123456789012/q".into(),
        });
        let mut dead = Journal::new(dir.path(), "dead0001", "orders", "dev");
        dead.record.pid = u32::MAX;
        dead.set_emulator(u32::MAX, 1);
        assert!(dead.path().is_file());
        let swept = sweep(dir.path()).await;
        assert_eq!(swept.len(), 1, "{swept:?}");
        assert_eq!(swept[0].run, "dead0001");
        assert!(swept[0].failed.is_empty(), "{swept:?}");
        assert!(!dead.path().is_file());
        assert!(live.path().is_file());
        assert_eq!(live.take_items().len(), 1);
        assert!(live.finish().await.is_empty());
        assert!(
            !dir.path()
                .join(".chalice-rs/local/runs/live0001.json")
                .exists()
        );
    }

    #[tokio::test]
    async fn changes_at_an_endpoint_that_is_gone_are_dropped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let mut dead = Journal::new(dir.path(), "dead0002", "orders", "dev");
        dead.record.pid = u32::MAX;
        // Nothing listens on port 1.
        dead.set_endpoint("http://127.0.0.1:1", Some("us-east-1"));
        dead.push(Cleanup::Queue {
            url: "http://127.0.0.1:1/123456789012/q".into(),
        });
        let swept = sweep(dir.path()).await;
        assert_eq!(swept.len(), 1, "{swept:?}");
        assert!(swept[0].failed.is_empty(), "{swept:?}");
        assert!(swept[0].done[0].contains("no longer answers"), "{swept:?}");
        assert!(!dead.path().is_file());
    }
}
