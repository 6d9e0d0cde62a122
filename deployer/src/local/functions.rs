//! The handlers as local functions: one `bootstrap` process per handler, behind its own local Runtime
//! API, invoked one event at a time, restarted with new code between invocations after a rebuild
//! (and after a timeout or a crash, as Lambda starts a fresh sandbox).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::{Mutex, watch};

use super::console::output::{self, Output, Record};
use super::{Deliver, Delivered};
use chalice_lambda::process::{BootstrapCommand, LocalFunction, LocalInvokeError};
use chalice_lambda::runtime_api::{FunctionConfig, InvokeError, Outcome};

/// How long to wait for a handler's last log lines after its outcome is in.
const LOG_SETTLE: Duration = Duration::from_millis(5);
const LOG_SETTLE_MAX: Duration = Duration::from_millis(50);

/// A build of the bootstrap; `generation` goes up with every rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub program: PathBuf,
    pub generation: u64,
}

/// One handler's function, run locally.
pub struct LocalHandler {
    handler: String,
    config: FunctionConfig,
    env: BTreeMap<String, String>,
    code: watch::Receiver<Code>,
    running: Mutex<Option<Running>>,
    output: Arc<Output>,
}

struct Running {
    generation: u64,
    function: LocalFunction,
    /// Started for the invocation about to run (its cold start is part of it).
    fresh: bool,
}

impl LocalHandler {
    /// `env` is the function's environment (Lambda's reserved variables are added at start).
    pub fn new(
        handler: &str,
        config: FunctionConfig,
        env: BTreeMap<String, String>,
        code: watch::Receiver<Code>,
        output: Arc<Output>,
    ) -> LocalHandler {
        LocalHandler {
            handler: handler.to_owned(),
            config,
            env,
            code,
            running: Mutex::new(None),
            output,
        }
    }

    pub fn handler(&self) -> &str {
        &self.handler
    }

    /// Starts the bootstrap now (its cold start), so the first event does not wait for it.
    pub async fn warm(&self) -> Result<(), String> {
        let mut running = self.running.lock().await;
        // Started ahead of its first event, it is warm by the time one comes.
        self.ensure_running(&mut running).await?.fresh = false;
        Ok(())
    }

    /// Stops the bootstrap, if it runs.
    pub async fn stop(&self) {
        if let Some(mut r) = self.running.lock().await.take() {
            let _ = r.function.process().kill().await;
        }
    }

    /// The running function for the current code, (re)started if needed.
    async fn ensure_running<'a>(
        &self,
        running: &'a mut Option<Running>,
    ) -> Result<&'a mut Running, String> {
        let code = self.code.borrow().clone();
        let stale = match running {
            Some(r) => {
                r.generation != code.generation
                    || !matches!(r.function.process().try_wait(), Ok(None))
            }
            None => true,
        };
        if stale {
            if let Some(mut old) = running.take() {
                let _ = old.function.process().kill().await;
            }
            // Spawned from a tokio worker or the `block_on` thread: both live as long as the runner.
            let mut command = BootstrapCommand::new(&code.program)
                .handler(&self.handler)
                .die_with_parent();
            for (key, value) in &self.env {
                command = command.env(key, value);
            }
            let function = LocalFunction::start(&command, self.config.clone())
                .await
                .map_err(|e| e.to_string())?;
            *running = Some(Running {
                generation: code.generation,
                function,
                fresh: true,
            });
        }
        running
            .as_mut()
            .ok_or_else(|| "the bootstrap did not start".to_owned())
    }

    async fn invoke(&self, event: Value, summary: &str) -> Delivered {
        let mut slot = self.running.lock().await;
        let started = SystemTime::now();
        let clock = Instant::now();
        let running = match self.ensure_running(&mut slot).await {
            Ok(running) => running,
            Err(e) => {
                let e = format!("cannot start the bootstrap: {e}");
                self.output.invocation(&Record {
                    started,
                    handler: &self.handler,
                    summary,
                    duration: clock.elapsed(),
                    cold: false,
                    result: output::Result::Error(e.clone()),
                    logs: Vec::new(),
                });
                return Delivered::Failed(e);
            }
        };
        let cold = std::mem::replace(&mut running.fresh, false);
        let logs = running.function.logs().clone();
        let mark = logs.mark();
        let timeout = self.config.timeout;
        let result = running.function.invocation(&event, timeout).await;
        let duration = clock.elapsed();
        let (delivered, restart) = match result {
            Ok(invocation) => match invocation.outcome {
                Outcome::Response(body) => (
                    Delivered::Ok(serde_json::from_slice(&body).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&body).into_owned())
                    })),
                    false,
                ),
                Outcome::Error(e) => (Delivered::Failed(e.to_string()), false),
            },
            Err(LocalInvokeError::Invoke(InvokeError::Timeout { .. })) => (
                Delivered::Failed(format!(
                    "Task timed out after {} s (the function's timeout)",
                    timeout.as_secs()
                )),
                true,
            ),
            Err(e) => (Delivered::Failed(e.to_string()), true),
        };
        if restart {
            // Lambda discards a sandbox after a timeout or a crash: the next event gets a fresh one.
            if let Some(mut r) = slot.take() {
                let _ = r.function.process().kill().await;
            }
        }
        drop(slot);
        let lines = settled_lines(&logs, mark).await;
        let result = match &delivered {
            Delivered::Failed(e) => output::Result::Error(e.clone()),
            ok => match ok.failed_items() {
                Some(failed) => output::Result::Partial { failed },
                None => output::Result::Ok,
            },
        };
        self.output.invocation(&Record {
            started,
            handler: &self.handler,
            summary,
            duration,
            cold,
            result,
            logs: lines,
        });
        delivered
    }
}

impl Deliver for LocalHandler {
    async fn deliver(&self, event: Value, summary: String) -> Delivered {
        self.invoke(event, &summary).await
    }

    fn note(&self, text: &str) {
        self.output.note(&self.handler, text);
    }
}

/// The lines logged since `mark`, once the pipes have been quiet for a moment (a handler's last
/// lines can still be in the pipe when its response arrives).
async fn settled_lines(logs: &chalice_lambda::process::Logs, mark: usize) -> Vec<String> {
    let deadline = Instant::now() + LOG_SETTLE_MAX;
    let mut seen = logs.mark();
    loop {
        tokio::time::sleep(LOG_SETTLE).await;
        let now = logs.mark();
        if now == seen || Instant::now() > deadline {
            break;
        }
        seen = now;
    }
    logs.since(mark).into_iter().map(|l| l.text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(program: &str) -> LocalHandler {
        let (_, rx) = watch::channel(Code {
            program: PathBuf::from(program),
            generation: 0,
        });
        let mut config = FunctionConfig::new("app-dev-h");
        config.timeout = Duration::from_secs(2);
        let output = Arc::new(Output::new(true, false, &["h"]));
        LocalHandler::new("h", config, BTreeMap::new(), rx, output)
    }

    #[tokio::test]
    async fn a_bootstrap_that_cannot_start_fails_the_delivery() {
        let delivered = handler("/nonexistent/bootstrap")
            .deliver(Value::Null, "test".into())
            .await;
        assert!(
            matches!(&delivered, Delivered::Failed(e) if e.contains("cannot start")),
            "{delivered:?}"
        );
    }

    #[tokio::test]
    async fn a_bootstrap_that_exits_fails_the_delivery_and_is_restarted_next_time() {
        // `true` exits at once without polling the Runtime API.
        let h = handler("/bin/true");
        for _ in 0..2 {
            let delivered = h.deliver(Value::Null, "test".into()).await;
            assert!(
                matches!(&delivered, Delivered::Failed(e) if e.contains("exited")),
                "{delivered:?}"
            );
        }
    }
}
