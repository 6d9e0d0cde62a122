//! `deployer local`: the app running on this machine, with events delivered as Lambda delivers them.
//!
//! - [`runner`]: the runner's life, from start to Ctrl-C.
//! - [`emulator`]: the moto server it starts when no AWS endpoint is configured.
//! - [`sources`]: the buckets, topics, queues, streams and tables it creates in its own emulator.
//! - [`functions`]: each handler as a local function (a `bootstrap` behind a local Runtime API).
//! - [`rebuild`]: rebuilding the `bootstrap` when the code changes.
//! - [`connect`]: each binding's event source connected to its handler.
//! - [`pollers`]: what reads an event source and hands its events to a handler ([`Deliver`]).
//! - [`filter`]: Lambda's event filtering, applied by the pollers before they invoke.
//! - [`failure`]: the records Lambda writes about events and batches it gave up on.
//! - [`destinations`]: where those records go (queue, topic, bucket, bus, function).
//! - [`routing`]: the queues the runner owns for topics, buckets and pattern rules, and their removal.
//! - [`cleanup`]: what the runner created or changed, undone on exit.
//! - [`leftovers`]: the run's id and its record of those changes, so that the next runner undoes
//!   what a killed one left.
//! - [`console`]: what it prints (invocations, the `local send` line of each handler).
//! - [`runner_info`]: the file a running runner leaves for `deployer local send` (where it is).
//! - [`control`]: where a running runner takes schedules to fire.
//! - [`send`]: `deployer local send`: one event to a handler's source, through the emulator.
//!
//! Imports point one way, and no two modules import each other: `runner` uses the modules above;
//! `connect` uses `pollers`, `routing`, `cleanup`, `leftovers`, `functions`, `destinations` and
//! `console::say`; `cleanup` uses `routing`; `leftovers` uses `cleanup` and `console::say`;
//! `functions` uses `console::output`; `rebuild` uses `functions`;
//! `pollers` use [`Deliver`], [`Shutdown`], `filter`, `failure` and `destinations`; `filter` and
//! `failure` import nothing of `local`, `destinations` only [`Delivered`]; `send` uses
//! `runner_info`, `control`, `emulator` and `sources` (never `runner`), `runner` writes `runner_info`
//! and `leftovers` and serves `control`.

pub mod cleanup;
pub mod connect;
pub mod console;
pub mod control;
pub mod deliver;
pub mod destinations;
pub mod emulator;
pub mod failure;
pub mod filter;
pub mod functions;
pub mod leftovers;
pub mod pollers;
pub mod rebuild;
pub mod routing;
pub mod runner;
pub mod runner_info;
pub mod send;
pub mod sources;

pub use deliver::{Deliver, Delivered};

/// Tells long-running pollers to stop: they return once the value is `true` (or the sender is gone).
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// Resolves once `shutdown` says stop; use it in a `tokio::select!` beside a poll or a sleep.
pub async fn stopped(shutdown: &mut Shutdown) {
    // An error means the sender was dropped: nobody can ask for more work, so stop too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
