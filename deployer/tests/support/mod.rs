//! Helpers shared by the deployer's integration tests.
#![allow(dead_code)] // each test binary uses a different part

pub mod bootstrap;
pub mod fault_proxy;
pub mod moto;
