//! The example app's `bootstrap` for tests that run handlers: `CHALICE_BOOTSTRAP` when set (a prebuilt
//! binary), else built once per test binary with `cargo build --bin bootstrap` (debug) at the workspace
//! root, through the same `package::build` the deployer uses. `CARGO_BIN_EXE_bootstrap` cannot serve:
//! it is set only for the package that owns the binary (the root package).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chalice_deployer::project::package::{self, BuildOptions};

/// The workspace root (the example app).
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the deployer crate is in the workspace")
}

/// The example app's bootstrap.
pub fn bootstrap() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("CHALICE_BOOTSTRAP") {
            return PathBuf::from(path);
        }
        let mut build = BuildOptions::new(workspace());
        build.release = false;
        package::build(&build).expect("cargo build --bin bootstrap")
    })
}
