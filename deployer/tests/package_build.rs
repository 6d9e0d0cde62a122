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

#[test]
fn the_build_scripts_out_dir_is_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"with-plan\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n\
         [[bin]]\nname = \"bootstrap\"\npath = \"main.rs\"\n\n[workspace]\n",
    )
    .unwrap();
    // What `chalice_codegen::build::run()` does, in miniature: a plan beside the generated code.
    std::fs::write(
        dir.path().join("build.rs"),
        "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
         std::fs::write(std::path::Path::new(&out).join(\"plan.dev.json\"), \"{}\").unwrap();\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("main.rs"), "fn main() {}\n").unwrap();
    let mut options = BuildOptions::new(dir.path());
    options.target_dir = Some(dir.path().join("target"));
    options.release = false;
    let built = package::build_artifacts(&options).unwrap();
    let out_dir = built.out_dir.expect("the build script's OUT_DIR");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("plan.dev.json")).unwrap(),
        "{}"
    );
}
