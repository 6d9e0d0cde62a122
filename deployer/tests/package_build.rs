//! Builds a tiny crate's `bootstrap` through `package::build` and zips it.

mod support;

use std::process::Command;

use chalice_deployer::project::package::{self, BuildOptions, CodePackage};
use support::project::Project;

/// A crate `name` whose one binary, `bootstrap`, is `main`; built in its own target directory (never
/// waiting on, or polluting, the workspace's).
fn bootstrap_crate(name: &str, main: &str) -> (Project, BuildOptions) {
    let dir = Project::empty();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [[bin]]\nname = \"bootstrap\"\npath = \"main.rs\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("main.rs"), main).unwrap();
    let mut options = BuildOptions::new(dir.path());
    options.target_dir = Some(dir.join("target"));
    (dir, options)
}

#[test]
fn builds_packages_and_the_zip_is_reproducible() {
    let (_dir, options) = bootstrap_crate(
        "fixture",
        "fn main() { println!(\"fixture bootstrap\"); }\n",
    );
    let (exe, first) = package::build_and_package(&options).unwrap();
    assert!(exe.ends_with("release/bootstrap"), "{}", exe.display());
    let out = Command::new(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fixture bootstrap\n");

    // A second build (a no-op) packages to the very same bytes.
    let (_, second) = package::build_and_package(&options).unwrap();
    assert_eq!(first, second);
    assert_eq!(CodePackage::from_file(&exe).unwrap(), first);
}

#[test]
fn a_failing_build_is_an_error_not_a_panic() {
    let (_dir, mut options) = bootstrap_crate("broken", "fn main() { not rust }\n");
    let err = package::build(&options).unwrap_err();
    assert!(
        matches!(err, package::PackageError::BuildFailed { .. }),
        "{err}"
    );

    // Asking for a binary the crate does not have fails too.
    options.bin = "nope".into();
    assert!(package::build(&options).is_err());
}
