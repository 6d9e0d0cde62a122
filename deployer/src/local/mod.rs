//! `deployer local`: the app running on this machine, with events delivered as Lambda delivers them.

pub mod clock;
pub mod deliver;
pub mod emulator;
pub mod functions;
pub mod hints;
pub mod output;
pub mod rebuild;
pub mod routed;
pub mod routes;
pub mod runner;
pub mod sources;
pub mod sqs;
pub mod streams;
pub mod wire;

pub use deliver::{Deliver, Delivered};

/// Tells long-running pollers to stop: they return once the value is `true` (or the sender is gone).
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// Resolves once `shutdown` says stop; use it in a `tokio::select!` beside a poll or a sleep.
pub async fn stopped(shutdown: &mut Shutdown) {
    // An error means the sender was dropped: nobody can ask for more work, so stop too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
