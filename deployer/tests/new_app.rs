//! `deployer new`, then the new app used as its user would: `cargo build`, `deployer check`,
//! `deployer plan --offline` and `deployer invoke <handler> --sample` in its directory, depending
//! on this workspace's crates by path.
//!
//! The app builds in the workspace's target directory with the workspace's `Cargo.lock`, so the
//! dependencies this suite already built are reused. Both apps name their binary `bootstrap`: the
//! example app's `target/debug/bootstrap` is built again (cheaply) when the test ends.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chalice_deployer::project::package::{self, BuildOptions};
use support::bootstrap::workspace;
use support::deployer::{self, Run, without_aws};

/// The target directory the workspace builds in (shared with the new app's builds).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                workspace().join(dir)
            }
        })
        .unwrap_or_else(|| workspace().join("target"))
}

/// `deployer ARGS` in `dir`, away from any AWS configuration, building in the shared target dir.
fn deployer_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = deployer::command(dir, args);
    without_aws(&mut cmd)
        .env("AWS_REGION", "us-east-1")
        .env("CARGO_TARGET_DIR", target_dir());
    deployer::run(&mut cmd)
}

/// Builds the example app's `bootstrap` again when dropped, so `target/debug/bootstrap` is the
/// example's once more (tests of the root package run it by that path).
struct RestoreExampleBootstrap;

impl Drop for RestoreExampleBootstrap {
    fn drop(&mut self) {
        let mut build = BuildOptions::new(workspace());
        build.release = false;
        build.target_dir = Some(target_dir());
        if let Err(e) = package::build(&build) {
            eprintln!("could not build the example app's bootstrap again: {e}");
        }
    }
}

#[test]
fn a_new_app_builds_checks_plans_and_invokes() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let root = workspace().to_str().expect("a UTF-8 workspace path");
    let created = deployer_in(tmp.path(), &["new", "myapp", "--chalice-path", root]);
    created.assert_success();
    for line in [
        "Created app `myapp` in myapp/",
        "  cd myapp\n",
        "deployer check",
        "deployer invoke hourly --sample",
        "deployer deploy",
    ] {
        assert!(
            created.stdout.contains(line),
            "{line}:\n{}",
            created.describe()
        );
    }
    let app = tmp.path().join("myapp");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let runtime_dir = std::fs::canonicalize(workspace()).unwrap().join("runtime");
    assert!(
        manifest.contains(&format!(
            "chalice-runtime = {{ path = \"{}\" }}",
            runtime_dir.display()
        )),
        "{manifest}"
    );

    // The workspace's dependency versions, so its builds are reused.
    std::fs::copy(workspace().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    let _restore = RestoreExampleBootstrap;
    let build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--bin", "bootstrap"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .expect("cargo runs");
    assert!(build.success(), "cargo build in the new app: {build}");
    eprintln!("new app built in {:.1?}", started.elapsed());

    let check = deployer_in(&app, &["check"]);
    check.assert_success();
    assert!(check.stdout.contains("myapp"), "{}", check.describe());

    let plan = deployer_in(&app, &["plan", "--offline"]);
    plan.assert_success();
    assert!(
        plan.stdout.contains("myapp-dev-hourly"),
        "{}",
        plan.describe()
    );

    let invoke = deployer_in(&app, &["invoke", "hourly", "--sample"]);
    invoke.assert_success();
    assert_eq!(invoke.stdout.trim(), "null", "{}", invoke.describe());
    assert!(invoke.stderr.contains("tick"), "{}", invoke.describe());
    assert!(
        invoke.stderr.contains("REPORT RequestId:"),
        "{}",
        invoke.describe()
    );
    eprintln!(
        "new app checked, planned and invoked in {:.1?}",
        started.elapsed()
    );
}

#[test]
fn a_new_app_never_overwrites_and_its_name_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/notes.txt"), "mine").unwrap();
    let taken = deployer_in(tmp.path(), &["new", "taken"]);
    taken.assert_code(1);
    assert!(
        taken.stderr.contains("already exists and is not empty"),
        "{}",
        taken.describe()
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("taken")).unwrap().count(),
        1
    );

    let bad = deployer_in(tmp.path(), &["new", "My App"]);
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("invalid app name `My App`"),
        "{}",
        bad.describe()
    );
    assert!(bad.stderr.contains("try `my-app`"), "{}", bad.describe());

    let not_a_checkout = deployer_in(
        tmp.path(),
        &[
            "new",
            "other",
            "--chalice-path",
            tmp.path().to_str().unwrap(),
        ],
    );
    not_a_checkout.assert_code(1);
    assert!(
        not_a_checkout
            .stderr
            .contains("is not a chalice-rs checkout"),
        "{}",
        not_a_checkout.describe()
    );
    assert!(!tmp.path().join("other").exists());

    let elsewhere = deployer_in(tmp.path(), &["new", "orders", "--dir", "apps/orders"]);
    elsewhere.assert_success();
    assert!(tmp.path().join("apps/orders/events.chalice").is_file());
    assert!(
        elsewhere.stdout.contains("cd apps/orders"),
        "{}",
        elsewhere.describe()
    );
}
