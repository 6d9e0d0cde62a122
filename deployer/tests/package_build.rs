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

#[test]
fn the_build_scripts_out_dir_is_found() {
    let (dir, mut options) = bootstrap_crate("with-plan", "fn main() {}\n");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        manifest.replace(
            "edition = \"2021\"\n",
            "edition = \"2021\"\nbuild = \"build.rs\"\n",
        ),
    )
    .unwrap();
    // What `chalice_codegen::build::run()` does, in miniature: a plan beside the generated code.
    std::fs::write(
        dir.join("build.rs"),
        "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
         std::fs::write(std::path::Path::new(&out).join(\"plan.dev.json\"), \"{}\").unwrap();\n}\n",
    )
    .unwrap();
    options.release = false;
    let built = package::build_artifacts(&options).unwrap();
    let out_dir = built.out_dir.expect("the build script's OUT_DIR");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("plan.dev.json")).unwrap(),
        "{}"
    );
}

/// `cargo zigbuild --target aarch64-unknown-linux-musl` makes an arm64 Linux executable on any host
/// (skipped, saying why, where cargo-zigbuild or the target's standard library is not installed).
#[test]
fn zigbuild_builds_an_arm64_bootstrap() {
    use chalice_deployer::project::builder::{self, Builder, Probes, SystemProbes};
    use chalice_deployer::project::elf::{self, Machine};

    const TARGET: &str = "aarch64-unknown-linux-musl";
    let probes = SystemProbes;
    if !probes.zigbuild() {
        eprintln!(
            "skipped: cargo-zigbuild is not installed ({})",
            builder::INSTALL_ZIGBUILD
        );
        return;
    }
    if probes.target_installed(TARGET) == Some(false) {
        eprintln!("skipped: `rustup target add {TARGET}` has not been run");
        return;
    }
    let (_dir, mut options) = bootstrap_crate("arm", "fn main() {}\n");
    options.builder = builder::choose(Some(Builder::Zigbuild), TARGET, &probes).unwrap();
    options.target = Some(TARGET.into());
    let exe = package::build(&options).unwrap();
    assert!(
        exe.ends_with("aarch64-unknown-linux-musl/release/bootstrap"),
        "{}",
        exe.display()
    );
    let built = elf::inspect(&std::fs::read(&exe).unwrap()).unwrap();
    assert_eq!(built.machine, Machine::Aarch64);
}
