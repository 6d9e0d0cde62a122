//! The code a deploy ships: one zipped `bootstrap` per architecture the plan's functions use, and
//! the digests the engine compares with what is deployed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chalice_codegen::manifest::Manifest;
use chalice_codegen::plan::Plan;

use super::bootstrap_arg::Bootstraps;
use super::builder::{self, Builder, SystemProbes};
use super::package::{self, BuildOptions, Built, CodePackage, PackageError, StopBuild};
use super::prebuilt;
use crate::resources::artifacts::code_key;
use crate::resources::{CodeDigest, CodeSet};

/// Where the bootstrap comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// Prebuilt binaries (`--bootstrap`), each shipped once it is found to be a Linux executable for
    /// its functions' architecture that serves what `serves` (the app file's manifest) lists.
    Prebuilt {
        bootstraps: Bootstraps,
        serves: Manifest,
    },
    /// Code that is stored but never run (`deployer local` runs the handlers itself).
    Placeholder(Vec<u8>),
    /// A release build in `project_dir` per architecture, for `target` or the architecture's
    /// default, with `builder` or the one this machine has for the target.
    Build {
        project_dir: PathBuf,
        target: Option<String>,
        builder: Option<Builder>,
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

/// [`package`] on a thread of its own, so that a deploy reads what is live meanwhile.
pub struct Packaging {
    done: tokio::sync::oneshot::Receiver<Result<Shipped, PackageError>>,
    stop: StopBuild,
}

impl Packaging {
    /// Starts packaging `source` for `plan`.
    pub fn start(plan: Plan, source: CodeSource) -> Packaging {
        let stop = StopBuild::default();
        let (tx, done) = tokio::sync::oneshot::channel();
        let thread_stop = stop.clone();
        std::thread::spawn(move || {
            let _ = tx.send(package_stoppable(&plan, &source, &thread_stop));
        });
        Packaging { done, stop }
    }

    /// The code, once packaged.
    pub async fn finish(self) -> Result<Shipped, PackageError> {
        self.done.await.unwrap_or(Err(PackageError::Stopped))
    }

    /// Kills the build if one runs (the deploy stops for another reason): nothing is waited for.
    pub fn stop(self) {
        self.stop.stop();
    }
}

/// Whether `source` most likely needs no compiling: prebuilt, or a build whose bootstrap exists
/// already under `target/` (cargo then only checks that it is fresh, in about 0.2 s). A deploy runs
/// such a build alongside its reads; any other build waits until the reads found every source there.
pub fn likely_fresh(plan: &Plan, source: &CodeSource) -> bool {
    let CodeSource::Build {
        project_dir,
        target,
        ..
    } = source
    else {
        return true;
    };
    let targets: Vec<String> = match target {
        Some(t) => vec![t.clone()],
        None => prebuilt::architectures(plan)
            .values()
            .map(|(arch, _)| prebuilt::default_target(*arch).to_owned())
            .collect(),
    };
    let dirs: Vec<PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| project_dir.join(d))
        .into_iter()
        .chain(project_dir.ancestors().map(|a| a.join("target")))
        .collect();
    targets.iter().all(|t| {
        dirs.iter().any(|d| {
            d.join(t)
                .join("release")
                .join(package::ENTRY_NAME)
                .is_file()
        })
    })
}

/// Builds (or reads) and zips the bootstrap for every architecture `plan` uses.
pub fn package(plan: &Plan, source: &CodeSource) -> Result<Shipped, PackageError> {
    package_stoppable(plan, source, &StopBuild::default())
}

/// [`package`], its build stoppable through `stop`.
fn package_stoppable(
    plan: &Plan,
    source: &CodeSource,
    stop: &StopBuild,
) -> Result<Shipped, PackageError> {
    let mut built_plan = None;
    let archs = prebuilt::architectures(plan);
    let mut packages: BTreeMap<String, CodePackage> = BTreeMap::new();
    match source {
        CodeSource::Prebuilt { bootstraps, serves } => {
            packages = prebuilt::package(plan, bootstraps, serves)?;
        }
        CodeSource::Placeholder(binary) => {
            let p = CodePackage::from_binary(binary)?;
            for a in archs.keys() {
                packages.insert((*a).to_string(), p.clone());
            }
        }
        CodeSource::Build {
            project_dir,
            target,
            builder,
        } => {
            if target.is_some() && archs.len() > 1 {
                return Err(PackageError::OneTargetManyArchitectures);
            }
            for (name, (arch, _)) in &archs {
                let target = target
                    .clone()
                    .unwrap_or_else(|| prebuilt::default_target(*arch).to_owned());
                let mut build = BuildOptions::new(project_dir);
                build.stop = stop.clone();
                build.builder = builder::choose(*builder, &target, &SystemProbes)?;
                eprintln!(
                    "Building the bootstrap for {target} with {} (release)...",
                    build.builder
                );
                build.target = Some(target);
                let (built, p) = package::build_and_package(&build)?;
                built_plan = Some(built_plan_of(&built, &plan.stage)?);
                packages.insert((*name).to_string(), p);
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
    fn musl_by_default() {
        use chalice_codegen::model::Architecture;
        assert_eq!(
            prebuilt::default_target(Architecture::X86_64),
            "x86_64-unknown-linux-musl"
        );
        assert_eq!(
            prebuilt::default_target(Architecture::Arm64),
            "aarch64-unknown-linux-musl"
        );
    }
}
