//! Local AWS Lambda emulation: a `bootstrap` runs here exactly as on Lambda.
//!
//! [`runtime_api`] serves the Lambda Runtime API a bootstrap polls, [`process`] runs the bootstrap as
//! Lambda runs it (its environment, its logs captured), and [`samples`] makes the events Lambda
//! delivers for each kind of event source. `deployer invoke`, `deployer local` and the example app's
//! tests all use it; it links no AWS SDK.

pub mod process;
pub mod runtime_api;
pub mod samples;
