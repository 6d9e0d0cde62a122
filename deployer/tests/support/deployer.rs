//! Running the `deployer` binary as a user would: one way to build its command (in a directory, no
//! stdin, no colours, no `RUST_LOG`), pointed at a moto server through the standard AWS environment
//! ([`against`]) or kept away from any AWS configuration ([`without_aws`]); run to the end
//! ([`run`]) or in the background ([`spawn`]), its exit code and output captured as a [`Run`].

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fault_proxy::Log;
use crate::support::moto::Moto;

/// The `deployer` binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_deployer");

/// `deployer ARGS` in `dir`: stdin closed, colours off, `RUST_LOG` unset.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    cmd
}

/// `deployer ARGS` in `dir`, pointed at `moto` through the standard AWS environment.
pub fn against(moto: &Moto, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = command(dir, args);
    moto.configure(&mut cmd);
    cmd
}

/// Keeps `cmd` away from the machine's AWS settings: no endpoint, profile, region, session token,
/// config or credentials file, instance metadata.
pub fn without_aws(cmd: &mut Command) -> &mut Command {
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// `cmd` as an `assert_cmd` command (for `.assert()`, `.write_stdin()`, `.timeout()`).
pub fn assert_cmd(cmd: Command) -> assert_cmd::Command {
    assert_cmd::Command::from_std(cmd)
}

/// One finished `deployer` run.
#[derive(Debug)]
pub struct Run {
    /// The arguments (empty when run through `assert_cmd`).
    pub args: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// What went through the fault proxy during the run, when it ran through one.
    pub log: Option<Log>,
}

impl Run {
    /// A run from its captured output.
    pub fn from_output(args: Vec<String>, output: Output, elapsed: Duration) -> Run {
        Run {
            args,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
            log: None,
        }
    }

    /// stdout, then stderr.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The calls the run made through the proxy (panics when it ran without one).
    pub fn calls(&self) -> &Log {
        self.log
            .as_ref()
            .expect("the run did not go through the proxy")
    }

    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        let calls = match &self.log {
            Some(log) => format!(
                "; {} reads, {} writes {:?}",
                log.reads(),
                log.writes(),
                log.write_names()
            ),
            None => String::new(),
        };
        format!(
            "`deployer {}` exit {:?} in {:.1?}{calls}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }

    /// `service.Operation` of the run's writes to the app's resources (not the deploy lock's), in
    /// order (it must have run through the proxy).
    pub fn app_writes(&self) -> Vec<String> {
        self.calls().app_write_names()
    }

    /// Panics with the whole run unless it exited with `code`.
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}:\n{}",
            self.describe()
        );
        self
    }

    /// Panics with the whole run unless it exited 0.
    pub fn assert_success(&self) -> &Run {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self
    }

    /// Panics unless the run made no write call at all (it must have run through the proxy).
    pub fn assert_no_writes(&self) -> &Run {
        assert_eq!(
            self.calls().writes(),
            0,
            "expected zero write calls:\n{}",
            self.describe()
        );
        self
    }

    /// stdout parsed as JSON (panics with the run when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.describe()))
    }

    /// Lines of stderr that start an error report (`error: ...`, `Error: ...`).
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.trim_start().to_lowercase().starts_with("error"))
            .collect()
    }
}

fn args_of(cmd: &Command) -> Vec<String> {
    cmd.get_args()
        .map(OsStr::to_string_lossy)
        .map(|a| a.into_owned())
        .collect()
}

/// Runs `cmd` to the end, capturing its output.
pub fn run(cmd: &mut Command) -> Run {
    let started = Instant::now();
    let output = cmd.output().expect("run deployer");
    Run::from_output(args_of(cmd), output, started.elapsed())
}

/// Runs an `assert_cmd` command to the end, capturing its output.
pub fn run_assert(cmd: &mut assert_cmd::Command) -> Run {
    let started = Instant::now();
    let output = cmd.output().expect("run deployer");
    Run::from_output(Vec::new(), output, started.elapsed())
}

/// Sends SIGINT (a terminal's Ctrl-C) to `child`; its exit status once it exits, `None` if it is
/// still running after `within`.
pub fn interrupt(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status();
    assert!(sent.expect("run kill").success(), "kill -INT {pid} failed");
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `deployer` process still running, its output going to files.
pub struct Running {
    pub child: Child,
    pub args: Vec<String>,
    started: Instant,
    out: PathBuf,
    err: PathBuf,
    _out_dir: tempfile::TempDir,
}

/// Starts `cmd` with its stdout and stderr going to files.
pub fn spawn(mut cmd: Command) -> Running {
    let out_dir = tempfile::tempdir().expect("output dir");
    let (out, err) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
    cmd.stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"));
    let child = cmd.spawn().expect("run deployer");
    Running {
        child,
        args: args_of(&cmd),
        started: Instant::now(),
        out,
        err,
        _out_dir: out_dir,
    }
}

impl Running {
    /// Whether it has exited (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL (no chance to clean up).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for the end (killing it and failing after `timeout`) and collects its output.
    pub fn finish(mut self, timeout: Duration) -> Run {
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if self.started.elapsed() > timeout {
                self.kill();
                let _ = self.child.wait();
                panic!(
                    "`deployer {}` still running after {timeout:?}; stderr so far:\n{}",
                    self.args.join(" "),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            args: self.args.clone(),
            code: status.code(),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: self.stderr(),
            elapsed: self.started.elapsed(),
            log: None,
        }
    }
}
