//! chalice-rs deployer: plans, deploys and deletes an app's Lambda functions and event sources.

pub mod app_file;
pub mod apply;
pub mod aws;
pub mod bootstrap_process;
pub mod calls_report;
pub mod cli;
pub mod commands;
pub mod diff;
pub mod live;
pub mod local;
pub mod package;
pub mod plan_view;
pub mod resolve;
pub mod resources;
pub mod runtime_api;
pub mod samples;
pub mod session;
pub mod spec;
pub mod state;
