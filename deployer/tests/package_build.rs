//! Builds a tiny crate's `bootstrap` through `package::build` and zips it.

use std::process::Command;

use chalice_deployer::project::package::{self, BuildOptions, CodePackage};

#[test]
fn builds_packages_and_the_zip_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [[bin]]\nname = \"bootstrap\"\npath = \"main.rs\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.rs"),
        "fn main() { println!(\"fixture bootstrap\"); }\n",
    )
    .unwrap();

    let mut options = BuildOptions::new(dir.path());
    // Its own target dir: never wait on (or pollute) the workspace's.
    options.target_dir = Some(dir.path().join("target"));
    let (built, first) = package::build_and_package(&options).unwrap();
    let exe = built.executable;
    // The fixture has no build script, so no OUT_DIR.
    assert_eq!(built.out_dir, None);
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [[bin]]\nname = \"bootstrap\"\npath = \"main.rs\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("main.rs"), "fn main() { not rust }\n").unwrap();
    let mut options = BuildOptions::new(dir.path());
    options.target_dir = Some(dir.path().join("target"));
    let err = package::build(&options).unwrap_err();
    assert!(
        matches!(err, package::PackageError::BuildFailed { .. }),
        "{err}"
    );

    // Asking for a binary the crate does not have fails too.
    options.bin = "nope".into();
    assert!(package::build(&options).is_err());
}
