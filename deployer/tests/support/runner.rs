//! `deployer local` in the background, as a user starts it: no AWS configuration (so it starts its
//! own emulator, found as the tests find moto) unless a test adds some, its stdout and stderr
//! collected line by line, waiting for `Ready:`, stopped with Ctrl-C.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::deployer::{self, without_aws};
use crate::support::moto::find_moto_server;

/// How long a runner dropped while running gets to stop after Ctrl-C before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// `deployer local ARGS` in `dir`, kept away from the machine's AWS settings, finding the moto
/// server the tests use.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = deployer::command(dir, &["local"]);
    without_aws(&mut cmd).args(args);
    if let Some(server) = find_moto_server() {
        cmd.env("MOTO_SERVER", server);
    }
    cmd
}

/// A running `deployer local`; on drop, stopped with Ctrl-C (the runner then stops what it started
/// and undoes what it changed), killed if it is still running after [`STOP_GRACE`].
pub struct Runner {
    pub child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Runner {
    /// Starts `cmd` (see [`command`]) with its output collected.
    pub fn spawn(mut cmd: Command) -> Runner {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run deployer local");
        let stdout = collect(child.stdout.take().expect("stdout piped"));
        let stderr = collect(child.stderr.take().expect("stderr piped"));
        Runner {
            child,
            stdout,
            stderr,
        }
    }

    /// Its stdout lines so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Its stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stderr_text(&self) -> String {
        self.stderr().join("\n")
    }

    /// Its stdout lines so far, each parsed as JSON (`--json`; panics on a line that is not).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout()
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"))
            })
            .collect()
    }

    /// Waits until `done`; fails, with everything said so far, if the runner exits first or
    /// `within` passes.
    pub fn wait_until(&mut self, what: &str, within: Duration, done: impl Fn(&Runner) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "deployer local exited ({status}) waiting for {what}:\n{}",
                    self.stderr_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {what} after {within:?}:\nstdout:\n{}\nstderr:\n{}",
                self.stdout().join("\n"),
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for its `Ready:` line.
    pub fn wait_ready(&mut self, within: Duration) {
        self.wait_until("Ready", within, |r| {
            r.stderr().iter().any(|l| l.starts_with("Ready: "))
        });
    }

    /// The endpoint of the emulator the runner started.
    pub fn endpoint(&self) -> String {
        let text = self.stderr_text();
        let start = text
            .find("http://127.0.0.1:")
            .expect("the emulator's endpoint");
        text[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// The invocations of `handler` so far (`--json`).
    pub fn invocations(&self, handler: &str) -> Vec<Value> {
        self.json_lines()
            .into_iter()
            .filter(|v| v["handler"] == handler && v.get("note").is_none())
            .collect()
    }

    /// The notes (filtered, retried, given up) about `handler`'s events so far (`--json`).
    pub fn notes(&self, handler: &str) -> Vec<String> {
        self.json_lines()
            .iter()
            .filter(|v| v["handler"] == handler)
            .filter_map(|v| v.get("note")?.as_str().map(str::to_owned))
            .collect()
    }

    /// Waits until a note about `handler` contains `text`; the note.
    pub fn wait_note(&mut self, handler: &str, text: &str, within: Duration) -> String {
        let what = format!("note about {handler} with {text:?}");
        let find = |r: &Runner| r.notes(handler).into_iter().find(|n| n.contains(text));
        self.wait_until(&what, within, |r| find(r).is_some());
        find(self).expect("found")
    }

    /// Waits until `handler` has had `count` invocations; them.
    pub fn wait_for(&mut self, handler: &str, count: usize, within: Duration) -> Vec<Value> {
        let what = format!("{count} invocation(s) of {handler}");
        self.wait_until(&what, within, |r| r.invocations(handler).len() >= count);
        self.invocations(handler)
    }

    /// Sends SIGINT (a terminal's Ctrl-C) and waits for the exit.
    pub fn interrupt(&mut self, within: Duration) -> ExitStatus {
        deployer::interrupt(&mut self.child, within).unwrap_or_else(|| {
            panic!(
                "still running {within:?} after Ctrl-C:\n{}",
                self.stderr_text()
            )
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + STOP_GRACE;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `stream`, collected by a thread of their own as they come.
fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}
