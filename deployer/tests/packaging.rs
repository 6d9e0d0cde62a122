//! The chalice-rs crates package for crates.io: `cargo package` of every published crate (all but
//! the example app) succeeds, each `.crate` carries its metadata, license files and what it needs to
//! build (the deployer's templates), and the crates depend on each other by version.
//!
//! `--workspace` packages them in dependency order, resolving each one's dependencies on the others
//! against the crates just packaged (cargo's local registry overlay), so nothing needs publishing
//! first. Without `--no-verify` cargo would build every crate again from its package: the deployer's
//! AWS SDK made that too slow for CI. Resolving the packages' lock files reads the crates.io index.

use std::path::Path;
use std::process::Command;

const CRATES: [&str; 4] = [
    "chalice-codegen",
    "chalice-runtime",
    "chalice-lambda",
    "chalice-deployer",
];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the deployer crate is in the workspace")
}

fn tar_list(file: &Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("tzf")
        .arg(file)
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "tar tzf {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn tar_file(file: &Path, member: &str) -> String {
    let out = Command::new("tar")
        .arg("xzOf")
        .arg(file)
        .arg(member)
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "tar xzOf {} {member}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_published_crate_packages() {
    let target = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "package",
            "--workspace",
            "--exclude",
            "orders-app",
            "--no-verify",
            "--allow-dirty",
        ])
        .arg("--target-dir")
        .arg(target.path())
        .current_dir(workspace())
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo package failed:\n{stderr}");
    let version = env!("CARGO_PKG_VERSION");
    for name in CRATES {
        let file = target
            .path()
            .join("package")
            .join(format!("{name}-{version}.crate"));
        assert!(file.is_file(), "{} missing:\n{stderr}", file.display());
        let files = tar_list(&file);
        let prefix = format!("{name}-{version}/");
        for member in [
            "Cargo.toml",
            "README.md",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "src/lib.rs",
        ] {
            assert!(
                files.contains(&format!("{prefix}{member}")),
                "{name}: no {member} in {files:?}"
            );
        }
        let manifest = tar_file(&file, &format!("{prefix}Cargo.toml"));
        for field in [
            "description = ",
            "license = \"MIT OR Apache-2.0\"",
            "repository = \"https://github.com/chalice-rs/chalice-rs\"",
            "readme = \"README.md\"",
            "keywords = ",
            "categories = ",
        ] {
            assert!(
                manifest.contains(field),
                "{name}: no `{field}` in\n{manifest}"
            );
        }
        assert!(!manifest.contains("publish = false"), "{name}:\n{manifest}");
        // The other chalice crates by version only: the path is this workspace's.
        assert!(!manifest.contains("path = \"../"), "{name}:\n{manifest}");
        if name != "chalice-codegen" {
            assert!(
                manifest.contains(&format!(
                    "dependencies.chalice-codegen]\nversion = \"{version}\""
                )),
                "{name}:\n{manifest}"
            );
        }
    }
    let deployer = target
        .path()
        .join(format!("package/chalice-deployer-{version}.crate"));
    let files = tar_list(&deployer);
    for template in ["Cargo.toml.tmpl", "main.rs.tmpl", "events.chalice.tmpl"] {
        let member = format!("chalice-deployer-{version}/templates/{template}");
        assert!(files.contains(&member), "no {member} in {files:?}");
    }
}
