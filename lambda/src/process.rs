//! Runs a `bootstrap` binary as Lambda runs it: a child process pointed at a local [`RuntimeApi`].
//!
//! The process gets the environment Lambda gives a `provided.al2023` function, its stdout and
//! stderr (the handler's logs) are captured line by line, and it is killed when dropped.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::runtime_api::{
    FunctionConfig, Invocation, InvokeError, Outcome, Payload, RuntimeApi, StartError,
};

/// At most this many log lines are kept; older ones are dropped first.
pub const MAX_LOG_LINES: usize = 10_000;

/// How to start a bootstrap: the binary, the handler it serves and the function's own variables.
#[derive(Debug, Clone)]
pub struct BootstrapCommand {
    program: PathBuf,
    args: Vec<OsString>,
    handler: Option<String>,
    env: BTreeMap<String, String>,
    echo_prefix: Option<String>,
    die_with_parent: bool,
}

impl BootstrapCommand {
    /// Runs `program` (Lambda runs it with no arguments, with no `_HANDLER` until one is set).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            handler: None,
            env: BTreeMap::new(),
            echo_prefix: None,
            die_with_parent: false,
        }
    }

    /// Sets `_HANDLER`, which tells the shared bootstrap which handler this function is.
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = Some(handler.into());
        self
    }

    /// Adds an argument (Lambda passes none; for wrappers such as a debugger or a shell).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds a function environment variable; Lambda's reserved ones still win, as on AWS.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Also copies each log line to this process's stderr, after `prefix`.
    pub fn echo_logs(mut self, prefix: impl Into<String>) -> Self {
        self.echo_prefix = Some(prefix.into());
        self
    }

    /// Kills the process when this one dies, even by `kill -9` (see [`die_with_parent`]).
    pub fn die_with_parent(mut self) -> Self {
        self.die_with_parent = true;
        self
    }

    /// The program this command runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The reserved variables Lambda sets for a function served by `api`.
    pub fn lambda_env(&self, api: &RuntimeApi) -> Vec<(String, String)> {
        let config = api.config();
        let mut env = vec![
            ("AWS_LAMBDA_RUNTIME_API".to_owned(), api.runtime_api_env()),
            (
                "AWS_LAMBDA_FUNCTION_NAME".to_owned(),
                config.function_name.clone(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
                config.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
                config.version.clone(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
                chalice_codegen::plan::log_group_name(&config.function_name),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME".to_owned(),
                log_stream_name(&config.version, SystemTime::now(), std::process::id()),
            ),
            ("AWS_REGION".to_owned(), config.region.clone()),
            ("AWS_DEFAULT_REGION".to_owned(), config.region.clone()),
        ];
        if let Some(handler) = &self.handler {
            env.push(("_HANDLER".to_owned(), handler.clone()));
        }
        env
    }

    /// Starts the process against `api`, capturing its output.
    pub fn spawn(&self, api: &RuntimeApi) -> Result<BootstrapProcess, SpawnError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(&self.env)
            // An inherited `_HANDLER` must not stand in for a missing one.
            .env_remove("_HANDLER")
            .envs(self.lambda_env(api))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if self.die_with_parent {
            die_with_parent(&mut command);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().map_err(|source| SpawnError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        let logs = Logs::new();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(pump(
                stdout,
                LogStream::Stdout,
                logs.clone(),
                self.echo_prefix.clone(),
            ));
        } else {
            logs.close_stream();
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(pump(
                stderr,
                LogStream::Stderr,
                logs.clone(),
                self.echo_prefix.clone(),
            ));
        } else {
            logs.close_stream();
        }
        Ok(BootstrapProcess {
            child,
            logs,
            spawned_at,
        })
    }
}

/// Makes the child `command` starts die (SIGKILL) when this process dies, however it dies: on Linux
/// the parent-death signal (`PR_SET_PDEATHSIG`), elsewhere nothing (the caller cleans up by pid).
///
/// Linux sends the signal when the *thread* that spawned the child exits, not the process: spawn
/// from a thread that lives as long as the process (the thread of `Runtime::block_on`, or a tokio
/// worker), never from `spawn_blocking`, whose threads exit when idle.
pub fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: between fork and exec the closure calls only async-signal-safe functions
        // (prctl, getppid, raise) and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before the signal was armed: the child was already reparented.
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    libc::raise(libc::SIGKILL);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Lambda's log stream name: `YYYY/MM/DD/[version]<32 hex>`.
fn log_stream_name(version: &str, now: SystemTime, salt: u32) -> String {
    let elapsed = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let date = DateTime::<Utc>::from(now).format("%Y/%m/%d");
    format!(
        "{date}/[{version}]{:016x}{:08x}{salt:08x}",
        elapsed.as_nanos() as u64,
        elapsed.subsec_nanos()
    )
}

/// Why a bootstrap could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The binary could not be executed.
    #[error("cannot run {}: {source}", program.display())]
    Spawn {
        /// The binary.
        program: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The local Runtime API could not start.
    #[error(transparent)]
    Api(#[from] StartError),
}

/// Why waiting for a bootstrap to exit failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// It was still running when the time was up.
    #[error("the bootstrap was still running after {0:?}")]
    Timeout(Duration),
    /// The OS could not report its status.
    #[error("cannot wait for the bootstrap: {0}")]
    Io(#[from] std::io::Error),
}

/// Which pipe a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// The process's stdout.
    Stdout,
    /// The process's stderr.
    Stderr,
}

/// One line the process wrote, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Where it was written.
    pub stream: LogStream,
    /// The text (invalid UTF-8 replaced).
    pub text: String,
}

/// The captured output of a process, shared with the tasks reading its pipes.
///
/// Lines are numbered from 0 in arrival order; [`Logs::mark`] and [`Logs::since`] use these
/// numbers to pick out what one invocation wrote.
#[derive(Debug, Clone)]
pub struct Logs {
    inner: Arc<LogsInner>,
}

#[derive(Debug)]
struct LogsInner {
    buffer: Mutex<LogBuffer>,
    /// Total number of lines ever received.
    received: watch::Sender<usize>,
    /// Pipes still open (stdout, stderr).
    open: watch::Sender<u8>,
}

#[derive(Debug, Default)]
struct LogBuffer {
    lines: VecDeque<LogLine>,
    dropped: usize,
}

impl Logs {
    fn new() -> Self {
        Self {
            inner: Arc::new(LogsInner {
                buffer: Mutex::new(LogBuffer::default()),
                received: watch::Sender::new(0),
                open: watch::Sender::new(2),
            }),
        }
    }

    fn buffer(&self) -> MutexGuard<'_, LogBuffer> {
        // Each operation leaves the buffer consistent, so a poisoned lock is still usable.
        self.inner
            .buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, line: LogLine) {
        let mut buffer = self.buffer();
        if buffer.lines.len() == MAX_LOG_LINES {
            buffer.lines.pop_front();
            buffer.dropped += 1;
        }
        buffer.lines.push_back(line);
        let total = buffer.dropped + buffer.lines.len();
        drop(buffer);
        self.inner.received.send_replace(total);
    }

    fn close_stream(&self) {
        self.inner
            .open
            .send_modify(|open| *open = open.saturating_sub(1));
    }

    /// The number of lines received so far: pass it to [`Logs::since`] later.
    pub fn mark(&self) -> usize {
        *self.inner.received.borrow()
    }

    /// The lines received from line number `mark` on (those still kept).
    pub fn since(&self, mark: usize) -> Vec<LogLine> {
        let buffer = self.buffer();
        let skip = mark.saturating_sub(buffer.dropped);
        buffer.lines.iter().skip(skip).cloned().collect()
    }

    /// Every line kept, in arrival order.
    pub fn lines(&self) -> Vec<LogLine> {
        self.since(0)
    }

    /// Every line kept, joined with newlines.
    pub fn text(&self) -> String {
        let lines = self.lines();
        let mut text = String::new();
        for line in lines {
            text.push_str(&line.text);
            text.push('\n');
        }
        text
    }

    /// Waits at most `timeout` for a line numbered `mark` or later that satisfies `matches`.
    pub async fn wait_for(
        &self,
        mark: usize,
        timeout: Duration,
        matches: impl Fn(&LogLine) -> bool,
    ) -> Option<LogLine> {
        let mut received = self.inner.received.subscribe();
        let search = async {
            let mut from = mark;
            loop {
                let seen = *received.borrow_and_update();
                if let Some(line) = self.since(from).into_iter().find(|line| matches(line)) {
                    return Some(line);
                }
                from = seen.max(from);
                if received.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, search).await.ok().flatten()
    }

    /// Waits at most `timeout` for both pipes to close (the process and its children are gone);
    /// says whether they did.
    pub async fn wait_closed(&self, timeout: Duration) -> bool {
        let mut open = self.inner.open.subscribe();
        tokio::time::timeout(timeout, open.wait_for(|open| *open == 0))
            .await
            .is_ok_and(|closed| closed.is_ok())
    }
}

/// Copies one pipe into `logs`, line by line, until it closes.
async fn pump(
    pipe: impl AsyncRead + Unpin,
    stream: LogStream,
    logs: Logs,
    echo_prefix: Option<String>,
) {
    let mut reader = BufReader::new(pipe);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    raw.pop();
                }
                let text = String::from_utf8_lossy(&raw).into_owned();
                if let Some(prefix) = &echo_prefix {
                    eprintln!("{prefix}{text}");
                }
                logs.push(LogLine { stream, text });
            }
        }
    }
    logs.close_stream();
}

/// A running bootstrap; killed when dropped.
#[derive(Debug)]
pub struct BootstrapProcess {
    child: Child,
    logs: Logs,
    spawned_at: Instant,
}

impl BootstrapProcess {
    /// The OS process id, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Its captured stdout and stderr.
    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    /// When it was spawned (the start of its cold start).
    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// Its exit status, if it has exited.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits at most `timeout` for it to exit.
    pub async fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, WaitError> {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => Err(WaitError::Timeout(timeout)),
        }
    }

    /// Kills it and waits for it to go.
    pub async fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill().await
    }
}

/// Why a local invocation produced no [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum LocalInvokeError {
    /// The Runtime API gave up (timeout, init error).
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    /// The bootstrap exited before answering.
    #[error("the bootstrap exited ({0}) before answering")]
    Exited(ExitStatus),
    /// The OS could not report the bootstrap's status.
    #[error("cannot wait for the bootstrap: {0}")]
    Io(#[from] std::io::Error),
}

/// One function run locally: a Runtime API and the bootstrap polling it.
#[derive(Debug)]
pub struct LocalFunction {
    // Field order matters: the process is killed before the server stops.
    process: BootstrapProcess,
    api: RuntimeApi,
}

impl LocalFunction {
    /// Starts a Runtime API for `config`, then the bootstrap against it.
    pub async fn start(
        command: &BootstrapCommand,
        config: FunctionConfig,
    ) -> Result<Self, SpawnError> {
        let api = RuntimeApi::start(config).await?;
        let process = command.spawn(&api)?;
        Ok(Self { process, api })
    }

    /// The Runtime API the bootstrap polls.
    pub fn api(&self) -> &RuntimeApi {
        &self.api
    }

    /// The bootstrap process.
    pub fn process(&mut self) -> &mut BootstrapProcess {
        &mut self.process
    }

    /// The bootstrap's captured output.
    pub fn logs(&self) -> &Logs {
        &self.process.logs
    }

    /// Invokes the function; fails early if the bootstrap exits instead of answering.
    pub async fn invoke(
        &mut self,
        payload: impl Into<Payload>,
    ) -> Result<Outcome, LocalInvokeError> {
        let timeout = self.api.config().timeout;
        self.invoke_with_timeout(payload, timeout).await
    }

    /// [`LocalFunction::invoke`] with its own timeout.
    pub async fn invoke_with_timeout(
        &mut self,
        payload: impl Into<Payload>,
        timeout: Duration,
    ) -> Result<Outcome, LocalInvokeError> {
        Ok(self.invocation(payload, timeout).await?.outcome)
    }

    /// Invokes the function and reports the request id and duration with the outcome.
    pub async fn invocation(
        &mut self,
        payload: impl Into<Payload>,
        timeout: Duration,
    ) -> Result<Invocation, LocalInvokeError> {
        let invoke = self.api.invocation(payload, timeout);
        let exit = self.process.child.wait();
        tokio::select! {
            biased;
            invocation = invoke => Ok(invocation?),
            status = exit => Err(LocalInvokeError::Exited(status?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FunctionConfig {
        let mut config = FunctionConfig::new("orders-dev-on_order");
        config.memory_mb = 256;
        config.region = "eu-west-3".into();
        config.timeout = Duration::from_secs(5);
        config
    }

    /// A stand-in bootstrap: a shell script.
    fn shell(script: &str) -> BootstrapCommand {
        BootstrapCommand::new("/bin/sh").arg("-c").arg(script)
    }

    const WAIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn the_process_gets_lambdas_environment() {
        let api = RuntimeApi::start(config()).await.unwrap();
        let command = shell("env")
            .handler("on_order")
            .env("LOG_LEVEL", "debug")
            .env("AWS_REGION", "user-cannot-override");
        let mut process = command.spawn(&api).unwrap();
        assert!(process.wait(WAIT).await.unwrap().success());
        assert!(process.logs().wait_closed(WAIT).await);
        let env: BTreeMap<String, String> = process
            .logs()
            .lines()
            .into_iter()
            .filter_map(|line| {
                let (k, v) = line.text.split_once('=')?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect();
        let get = |key: &str| env.get(key).map(String::as_str).unwrap_or("<unset>");
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), api.addr().to_string());
        assert_eq!(get("_HANDLER"), "on_order");
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), "orders-dev-on_order");
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "256");
        assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), "$LATEST");
        assert_eq!(
            get("AWS_LAMBDA_LOG_GROUP_NAME"),
            "/aws/lambda/orders-dev-on_order"
        );
        assert!(get("AWS_LAMBDA_LOG_STREAM_NAME").contains("/[$LATEST]"));
        assert_eq!(get("AWS_REGION"), "eu-west-3");
        assert_eq!(get("LOG_LEVEL"), "debug");
    }

    #[tokio::test]
    async fn without_a_handler_no_handler_variable_is_set_even_if_inherited() {
        let api = RuntimeApi::start(config()).await.unwrap();
        let command = shell("echo \"handler=${_HANDLER-unset}\"").env("_HANDLER", "leaked");
        let mut process = command.spawn(&api).unwrap();
        process.wait(WAIT).await.unwrap();
        let line = process
            .logs()
            .wait_for(0, WAIT, |l| l.text.starts_with("handler="))
            .await;
        assert_eq!(line.unwrap().text, "handler=unset");
    }

    #[tokio::test]
    async fn stdout_and_stderr_are_captured_line_by_line() {
        let api = RuntimeApi::start(config()).await.unwrap();
        let mut process =
            shell("echo one; echo two >&2; printf 'three\\r\\n'; printf 'no newline'")
                .spawn(&api)
                .unwrap();
        process.wait(WAIT).await.unwrap();
        assert!(process.logs().wait_closed(WAIT).await);
        let mut lines = process.logs().lines();
        // The two pipes are read independently: only each pipe's own order is fixed.
        lines.sort_by_key(|line| line.stream == LogStream::Stderr);
        let texts: Vec<_> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                (LogStream::Stdout, "one"),
                (LogStream::Stdout, "three"),
                (LogStream::Stdout, "no newline"),
                (LogStream::Stderr, "two"),
            ]
        );
        assert_eq!(process.logs().mark(), 4);
        assert_eq!(process.logs().since(3).len(), 1);
        assert_eq!(process.logs().since(9).len(), 0);
    }

    #[tokio::test]
    async fn waiting_for_a_line_that_never_comes_times_out() {
        let api = RuntimeApi::start(config()).await.unwrap();
        let process = shell("echo hello; sleep 5").spawn(&api).unwrap();
        let logs = process.logs();
        assert!(
            logs.wait_for(0, WAIT, |l| l.text == "hello")
                .await
                .is_some()
        );
        let after = logs.mark();
        let missing = logs
            .wait_for(after, Duration::from_millis(50), |l| l.text == "hello")
            .await;
        assert_eq!(missing, None);
    }

    #[test]
    fn the_log_buffer_keeps_the_newest_lines_and_counts_the_rest() {
        let logs = Logs::new();
        for n in 0..MAX_LOG_LINES + 3 {
            logs.push(LogLine {
                stream: LogStream::Stdout,
                text: n.to_string(),
            });
        }
        assert_eq!(logs.mark(), MAX_LOG_LINES + 3);
        assert_eq!(logs.lines().len(), MAX_LOG_LINES);
        assert_eq!(logs.lines()[0].text, "3");
        let tail = logs.since(MAX_LOG_LINES + 1);
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[0].text, (MAX_LOG_LINES + 1).to_string());
    }

    #[tokio::test]
    async fn a_process_that_exits_instead_of_answering_fails_the_invocation_at_once() {
        let command = shell("echo 'unknown handler' >&2; exit 3");
        let mut function = LocalFunction::start(&command, config()).await.unwrap();
        let started = Instant::now();
        let outcome = function.invoke("{}").await;
        match outcome {
            Err(LocalInvokeError::Exited(status)) => assert_eq!(status.code(), Some(3)),
            other => panic!("expected Exited, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "must not wait for the timeout"
        );
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_spawn_error_naming_it() {
        let api = RuntimeApi::start(config()).await.unwrap();
        let error = BootstrapCommand::new("/nonexistent/bootstrap")
            .spawn(&api)
            .unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/bootstrap"),
            "{error}"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn dropping_the_process_kills_it() {
        let api = RuntimeApi::start(config()).await.unwrap();
        let process = shell("exec sleep 30").spawn(&api).unwrap();
        let pid = process.id().unwrap();
        let stat = format!("/proc/{pid}/stat");
        assert!(std::fs::read_to_string(&stat).is_ok());
        drop(process);
        let gone = async {
            loop {
                // Killed: either reaped already or a zombie waiting to be reaped.
                match std::fs::read_to_string(&stat) {
                    Err(_) => return,
                    Ok(s)
                        if s.rsplit(')')
                            .next()
                            .is_some_and(|r| r.trim_start().starts_with('Z')) =>
                    {
                        return;
                    }
                    Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        };
        tokio::time::timeout(WAIT, gone).await.unwrap();
    }

    #[test]
    fn log_stream_names_have_lambdas_date_prefix() {
        let day = Duration::from_secs(19_723 * 86_400 + 3_600); // 2024-01-01 01:00 UTC
        let name = log_stream_name("$LATEST", UNIX_EPOCH + day, 7);
        assert!(name.starts_with("2024/01/01/[$LATEST]"), "{name}");
        assert_eq!(name.len(), "2024/01/01/[$LATEST]".len() + 32);
        let leap_day = Duration::from_secs(11_016 * 86_400);
        assert!(log_stream_name("1", UNIX_EPOCH + leap_day, 7).starts_with("2000/02/29/[1]"));
        assert!(log_stream_name("1", UNIX_EPOCH, 7).starts_with("1970/01/01/[1]"));
    }
}
