//! What reads an event source and hands its events to a handler ([`Deliver`]), the way Lambda's
//! event source mappings, asynchronous invocations and EventBridge schedules do it: queues
//! ([`sqs`], including the runner's routed queues), Kinesis and DynamoDB streams ([`streams`]),
//! schedules on a local clock ([`clock`]); how a failed asynchronous event is retried and given up
//! ([`asynchronous`]); and [`supervise`], which restarts a poller that stopped
//! with an error.
//!
//! [`Deliver`]: crate::local::Deliver

pub mod asynchronous;
pub mod clock;
pub mod sqs;
pub mod streams;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::local::{Shutdown, stopped};

/// The longest pause before restarting a poller that stopped with an error.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

/// Runs a poller until shutdown; one that stops with an error is said and restarted, with a
/// growing pause (the emulator may be restarting, a queue may be recreated).
pub fn supervise<F, Fut, E>(
    tasks: &mut JoinSet<()>,
    label: String,
    mut shutdown: Shutdown,
    start: F,
) where
    F: Fn(Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: fmt::Display,
{
    tasks.spawn(async move {
        let mut delay = Duration::from_secs(1);
        loop {
            match start(shutdown.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    if *shutdown.borrow() {
                        return;
                    }
                    eprintln!(
                        "warning: {label} stopped: {e}; restarting it in {} s",
                        delay.as_secs()
                    );
                }
            }
            tokio::select! {
                _ = stopped(&mut shutdown) => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RESTART_DELAY);
        }
    });
}
