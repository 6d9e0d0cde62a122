//! The code a deploy ships: one zipped `bootstrap` per architecture the plan's functions use, and
//! the digests the engine compares with what is deployed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chalice_codegen::manifest::{self, Manifest};
use chalice_codegen::plan::Plan;

use super::package::{self, BuildOptions, Built, CodePackage, PackageError};
use crate::resources::artifacts::code_key;
use crate::resources::{CodeDigest, CodeSet};

/// Where the bootstrap comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// A prebuilt binary, shipped for every architecture once its handler manifest is checked:
    /// it must serve what `serves` (the app file's manifest) lists.
    Prebuilt { path: PathBuf, serves: Manifest },
    /// Code that is stored but never run (`deployer local` runs the handlers itself).
    Placeholder(Vec<u8>),
    /// A release build in `project_dir` per architecture, for `target` or the architecture's default.
    Build {
        project_dir: PathBuf,
        target: Option<String>,
    },
}

/// The code of a deploy: digests per architecture, the zips by artifacts object key, and the plan
/// the build generated the code from.
#[derive(Debug, Default)]
pub struct Shipped {
    pub code: CodeSet,
    pub zips: BTreeMap<String, Vec<u8>>,
    /// The stage's plan as the app's build wrote it (`None` for a prebuilt bootstrap).
    pub plan: Option<Plan>,
}

/// The default build target for a Lambda architecture: a static musl binary (runs on provided.al2023).
fn default_target(architecture: &str) -> String {
    match architecture {
        "arm64" => "aarch64-unknown-linux-musl".to_string(),
        _ => "x86_64-unknown-linux-musl".to_string(),
    }
}

/// Builds (or reads) and zips the bootstrap for every architecture `plan` uses.
pub fn package(plan: &Plan, source: &CodeSource) -> Result<Shipped, PackageError> {
    let mut built_plan = None;
    let archs: BTreeSet<&str> = plan
        .functions
        .iter()
        .map(|f| f.architecture.as_str())
        .collect();
    let mut packages: BTreeMap<String, CodePackage> = BTreeMap::new();
    match source {
        CodeSource::Prebuilt { path, serves } => {
            let p = prebuilt(path, serves)?;
            for a in archs {
                packages.insert(a.to_string(), p.clone());
            }
        }
        CodeSource::Placeholder(binary) => {
            let p = CodePackage::from_binary(binary)?;
            for a in archs {
                packages.insert(a.to_string(), p.clone());
            }
        }
        CodeSource::Build {
            project_dir,
            target,
        } => {
            if target.is_some() && archs.len() > 1 {
                return Err(PackageError::OneTargetManyArchitectures);
            }
            for a in archs {
                let target = target.clone().unwrap_or_else(|| default_target(a));
                eprintln!("Building the bootstrap for {target} (release)...");
                let mut build = BuildOptions::new(project_dir);
                build.target = Some(target);
                let (built, p) = package::build_and_package(&build)?;
                built_plan = Some(built_plan_of(&built, &plan.stage)?);
                packages.insert(a.to_string(), p);
            }
        }
    }
    let mut shipped = Shipped {
        plan: built_plan,
        ..Shipped::default()
    };
    for (arch, p) in packages {
        let digest = digest(&p);
        shipped.zips.insert(code_key(plan, &digest), p.zip);
        shipped.code.insert(arch, digest);
    }
    Ok(shipped)
}

/// The prebuilt bootstrap at `path`, zipped, once its manifest shows it serves what `serves` lists.
pub fn prebuilt(path: &Path, serves: &Manifest) -> Result<CodePackage, PackageError> {
    let binary = std::fs::read(path).map_err(|source| PackageError::Read {
        path: path.to_owned(),
        source,
    })?;
    check_manifest(path, &binary, serves)?;
    CodePackage::from_binary(&binary)
}

/// Whether the binary at `path` serves the handlers `expected` lists (a binary built from another
/// app file would refuse, or mishandle, the events its functions get).
fn check_manifest(path: &Path, binary: &[u8], expected: &Manifest) -> Result<(), PackageError> {
    let found = manifest::find(binary)
        .map_err(|source| PackageError::BadManifest {
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| PackageError::NoManifest {
            path: path.to_owned(),
        })?;
    let differences = manifest_differences(expected, &found);
    if differences.is_empty() {
        return Ok(());
    }
    Err(PackageError::OtherApp {
        path: path.to_owned(),
        differences,
    })
}

/// How the binary's manifest differs from the app file's, one line each.
fn manifest_differences(expected: &Manifest, found: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    if expected.app != found.app {
        out.push(format!(
            "it is app `{}`, the app file is app `{}`",
            found.app, expected.app
        ));
    }
    let kinds = |m: &Manifest| -> BTreeMap<String, &'static str> {
        m.handlers
            .iter()
            .map(|h| (h.name.clone(), h.kind.keyword()))
            .collect()
    };
    let (want, have) = (kinds(expected), kinds(found));
    for (name, kind) in &want {
        match have.get(name) {
            None => out.push(format!("it has no handler `{name}` ({kind})")),
            Some(other) if other != kind => out.push(format!(
                "its handler `{name}` is a {other} handler, the app file's is a {kind} one"
            )),
            Some(_) => {}
        }
    }
    for (name, kind) in &have {
        if !want.contains_key(name) {
            out.push(format!(
                "it has a handler `{name}` ({kind}) the app file does not declare"
            ));
        }
    }
    out
}

/// The plan of `stage` that the app's build script wrote beside the code it generated.
fn built_plan_of(built: &Built, stage: &str) -> Result<Plan, PackageError> {
    let missing = || PackageError::NoPlan {
        stage: stage.to_owned(),
        executable: built.executable.clone(),
    };
    let path = built
        .out_dir
        .as_ref()
        .ok_or_else(missing)?
        .join(format!("plan.{stage}.json"));
    let text = std::fs::read_to_string(&path).map_err(|_| missing())?;
    serde_json::from_str(&text).map_err(|e| PackageError::BadPlan {
        path,
        message: e.to_string(),
    })
}

/// The same package for every architecture the plan uses (`plan --bootstrap FILE` compares it).
pub fn digests(plan: &Plan, package: &CodePackage) -> CodeSet {
    plan.functions
        .iter()
        .map(|f| (f.architecture.as_str().to_string(), digest(package)))
        .collect()
}

fn digest(p: &CodePackage) -> CodeDigest {
    CodeDigest {
        sha256: p.code_sha256.clone(),
        sha256_hex: p.sha256_hex.clone(),
        size: p.zip.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_comes_from_the_build_scripts_out_dir() {
        let dir = tempfile::tempdir().unwrap();
        let built = Built {
            executable: dir.path().join("bootstrap"),
            out_dir: Some(dir.path().to_path_buf()),
        };
        let err = built_plan_of(&built, "dev").unwrap_err();
        assert!(matches!(err, PackageError::NoPlan { .. }), "{err}");
        assert!(
            err.to_string().contains("chalice_codegen::build::run()"),
            "{err}"
        );

        let model = chalice_codegen::load("events.chalice", "app a\nschedule tick rate(1 hour)\n")
            .unwrap_or_else(|d| panic!("{}", d.render(false)));
        let plan = chalice_codegen::emit_plan::plan(&model, "dev").unwrap();
        std::fs::write(
            dir.path().join("plan.dev.json"),
            serde_json::to_string(&plan).unwrap(),
        )
        .unwrap();
        assert_eq!(built_plan_of(&built, "dev").unwrap(), plan);

        std::fs::write(dir.path().join("plan.dev.json"), "{\"version\": 1}").unwrap();
        let err = built_plan_of(&built, "dev").unwrap_err();
        assert!(matches!(err, PackageError::BadPlan { .. }), "{err}");
    }

    #[test]
    fn a_binary_is_checked_against_the_app_files_handlers() {
        let manifest = |source: &str| {
            let model = chalice_codegen::load("events.chalice", source)
                .unwrap_or_else(|d| panic!("{}", d.render(false)));
            Manifest::of(&model)
        };
        let app = manifest("app a\nschedule tick rate(1 hour)\nqueue jobs \"q\"\n");
        let mut binary = b"\x7fELF...".to_vec();
        binary.extend(manifest::encode(&app));
        binary.extend(b"...");
        let path = Path::new("bootstrap");
        assert!(check_manifest(path, &binary, &app).is_ok());

        let other =
            manifest("app b\nschedule tick rate(1 hour)\ntopic jobs \"t\"\nqueue more \"q\"\n");
        let err = check_manifest(path, &binary, &other).unwrap_err();
        let PackageError::OtherApp { differences, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(
            differences,
            &[
                "it is app `a`, the app file is app `b`",
                "its handler `jobs` is a queue handler, the app file's is a topic one",
                "it has no handler `more` (queue)",
            ]
        );
        let err = check_manifest(path, b"#!/bin/sh\nexit 0\n", &app).unwrap_err();
        assert!(matches!(err, PackageError::NoManifest { .. }), "{err}");
    }

    #[test]
    fn musl_by_default() {
        assert_eq!(default_target("x86_64"), "x86_64-unknown-linux-musl");
        assert_eq!(default_target("arm64"), "aarch64-unknown-linux-musl");
    }
}
