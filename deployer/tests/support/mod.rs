//! Helpers shared by the deployer's integration tests (and its benches), by role:
//!
//! - [`moto`]: a private moto server per test, on a free port.
//! - [`aws`]: SDK clients for a moto endpoint; the ARNs moto gives.
//! - [`fixtures`]: creating event sources (all an app's plan names, or one of a kind) and others'
//!   resources.
//! - [`inventory`]: reading what is deployed through the SDK; [`checks`]: comparing it with a plan.
//! - [`policy`]: reading IAM and Lambda policy documents.
//! - [`deployer`]: running the `deployer` binary and capturing what it did; [`runner`]: `deployer
//!   local` in the background, its output line by line.
//! - [`project`]: a project directory, the stand-in bootstrap for deploys, the plan of an app.
//! - [`bootstrap`]: the example app's real `bootstrap`, for tests that run handlers.
//! - [`fault_proxy`]: a counting, fault-injecting proxy in front of moto.
//! - [`recorder`]: a recording handler for `deployer local`'s pollers run in the test, and a poller.
//! - [`proxied`]: moto, the proxy in front of it and a project directory (the smaller deploy suites).
//! - [`world`]: the deploy suite's world (moto, proxy, project, fixtures, others' resources).
#![allow(dead_code)] // each test binary uses a different part

pub mod aws;
pub mod bootstrap;
pub mod checks;
pub mod deployer;
pub mod fault_proxy;
pub mod fixtures;
pub mod inventory;
pub mod moto;
pub mod policy;
pub mod project;
pub mod proxied;
pub mod recorder;
pub mod runner;
pub mod world;
