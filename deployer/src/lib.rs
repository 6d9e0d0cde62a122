//! chalice-rs deployer: plans, deploys and deletes an app's Lambda functions and event sources.
//!
//! Layers, each using only those below it: [`cli`] and [`commands`] (arguments, output, exit codes)
//! → [`local`] (`deployer local`) → [`project`] (app file, plan, bootstrap build) → [`template`]
//! (`deployer package`: the plan as a CloudFormation or SAM template) → [`engine`]
//! (resolve, read, diff, apply, state) → [`resources`] (one module per resource kind) → [`aws`]
//! (clients, retries, call counting). Local Lambda emulation is the `chalice-lambda` crate.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod local;
pub mod project;
pub mod resources;
pub mod template;
