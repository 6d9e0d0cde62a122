//! Prebuilt bootstraps (`--bootstrap`): read (a binary, or the `bootstrap` entry of a zip such as
//! `cargo lambda build --output-format zip` writes), then checked before anything is asked of AWS:
//! a Linux executable for the machine of every function it is shipped to, serving the app's handlers.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use chalice_codegen::manifest::{self, Manifest};
use chalice_codegen::model::Architecture;
use chalice_codegen::plan::Plan;

use super::bootstrap_arg::Bootstraps;
use super::elf::{self, Machine, NotLinuxExecutable};
use super::package::{CodePackage, ENTRY_NAME, PackageError};

/// Why a `--bootstrap` file cannot be shipped (or run).
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("could not read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a zip this deployer can read: {source}", path.display())]
    BadZip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error(
        "{} has no `bootstrap` entry (it has: {}); `cargo lambda build --output-format zip` writes one",
        path.display(),
        if entries.is_empty() { "nothing".to_owned() } else { entries.join(", ") }
    )]
    NoBootstrapInZip { path: PathBuf, entries: Vec<String> },
    #[error(
        "`{}` is {what}; {} on {}, which runs Linux executables only",
        path.display(), functions_run(functions), architecture.as_str()
    )]
    NotLinuxExecutable {
        path: PathBuf,
        what: NotLinuxExecutable,
        architecture: Architecture,
        functions: Vec<String>,
    },
    #[error(
        "`{}` is an {found} binary, but {} on {}: build it for {}, or pass --bootstrap {}=FILE",
        path.display(), functions_run(functions), architecture.as_str(),
        default_target(*architecture), architecture.as_str()
    )]
    WrongMachine {
        path: PathBuf,
        found: Machine,
        architecture: Architecture,
        functions: Vec<String>,
    },
    #[error(
        "no --bootstrap for {}: {} on it; pass --bootstrap {}=FILE (a build for {})",
        architecture.as_str(), functions_run(functions), architecture.as_str(),
        default_target(*architecture)
    )]
    MissingArchitecture {
        architecture: Architecture,
        functions: Vec<String>,
    },
    #[error("`{}` is an {found} binary, and this machine is {host}: it cannot run here", path.display())]
    NotForThisMachine {
        path: PathBuf,
        found: Machine,
        host: Machine,
    },
    /// Several of the above, one per architecture.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))]
    Several(Vec<BootstrapError>),
    #[error("could not write the bootstrap taken from {}: {source}", path.display())]
    Extract {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `function a runs` or `functions a, b run`.
fn functions_run(functions: &[String]) -> String {
    match functions {
        [one] => format!("function {one} runs"),
        many => format!("functions {} run", many.join(", ")),
    }
}

/// The default build target for a Lambda architecture: a static musl binary (runs on provided.al2023).
pub fn default_target(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::Arm64 => "aarch64-unknown-linux-musl",
        Architecture::X86_64 => "x86_64-unknown-linux-musl",
    }
}

/// The architectures `plan`'s functions run on, by Lambda's name, each with its functions' names.
pub fn architectures(plan: &Plan) -> BTreeMap<&'static str, (Architecture, Vec<String>)> {
    let mut out: BTreeMap<&'static str, (Architecture, Vec<String>)> = BTreeMap::new();
    for f in &plan.functions {
        out.entry(f.architecture.as_str())
            .or_insert_with(|| (f.architecture, Vec::new()))
            .1
            .push(f.name.clone());
    }
    out
}

/// The zipped bootstrap for each architecture `plan` uses (by Lambda's name), from the files
/// `bootstraps` names, once each is found to be a Linux executable for that architecture's machine
/// that serves what `serves` (the app file's manifest) lists.
pub fn package(
    plan: &Plan,
    bootstraps: &Bootstraps,
    serves: &Manifest,
) -> Result<BTreeMap<String, CodePackage>, PackageError> {
    let used = architectures(plan);
    for arch in bootstraps.architectures() {
        if !used.contains_key(arch.as_str()) {
            eprintln!(
                "note: no function runs on {0}: --bootstrap {0}=... is not used",
                arch.as_str()
            );
        }
    }
    // Every architecture's problem at once (x86_64 first), then the manifests.
    let mut binaries = Vec::new();
    let mut problems = Vec::new();
    for (architecture, functions) in used.values().rev() {
        let checked = bootstraps
            .for_architecture(*architecture)
            .ok_or_else(|| BootstrapError::MissingArchitecture {
                architecture: *architecture,
                functions: functions.clone(),
            })
            .and_then(|path| {
                let binary = read_binary(path)?;
                check_machine(path, &binary, *architecture, functions)?;
                Ok((path, binary))
            });
        match checked {
            Ok((path, binary)) => binaries.push((*architecture, path, binary)),
            Err(e) => problems.push(e),
        }
    }
    if problems.len() > 1 {
        return Err(BootstrapError::Several(problems).into());
    }
    if let Some(problem) = problems.pop() {
        return Err(problem.into());
    }
    let mut packages = BTreeMap::new();
    for (architecture, path, binary) in binaries {
        check_manifest(path, &binary, serves)?;
        packages.insert(
            architecture.as_str().to_owned(),
            CodePackage::from_binary(&binary)?,
        );
    }
    Ok(packages)
}

/// The bootstrap binary at `path`: the file itself, or the `bootstrap` entry of a zip.
pub fn read_binary(path: &Path) -> Result<Vec<u8>, BootstrapError> {
    let bytes = std::fs::read(path).map_err(|source| BootstrapError::Read {
        path: path.to_owned(),
        source,
    })?;
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(bytes);
    }
    let bad_zip = |source| BootstrapError::BadZip {
        path: path.to_owned(),
        source,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad_zip)?;
    let entries: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let Some(index) = archive.index_for_name(ENTRY_NAME) else {
        return Err(BootstrapError::NoBootstrapInZip {
            path: path.to_owned(),
            entries,
        });
    };
    let mut entry = archive.by_index(index).map_err(bad_zip)?;
    let mut binary = Vec::new();
    entry
        .read_to_end(&mut binary)
        .map_err(|source| BootstrapError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(binary)
}

/// Whether `binary` is a Linux executable for `architecture`'s machine (`functions` run on it).
pub fn check_machine(
    path: &Path,
    binary: &[u8],
    architecture: Architecture,
    functions: &[String],
) -> Result<(), BootstrapError> {
    let exe = elf::inspect(binary).map_err(|what| BootstrapError::NotLinuxExecutable {
        path: path.to_owned(),
        what,
        architecture,
        functions: functions.to_vec(),
    })?;
    if exe.machine == Machine::of(architecture) {
        return Ok(());
    }
    Err(BootstrapError::WrongMachine {
        path: path.to_owned(),
        found: exe.machine,
        architecture,
        functions: functions.to_vec(),
    })
}

/// Whether the binary at `path` serves the handlers `expected` lists (a binary built from another
/// app file would refuse, or mishandle, the events its functions get).
pub fn check_manifest(path: &Path, binary: &[u8], expected: &Manifest) -> Result<(), PackageError> {
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

/// A bootstrap to run on this machine (`deployer invoke`, `deployer local`).
#[derive(Debug)]
pub struct Runnable {
    /// The executable to start.
    pub path: PathBuf,
    /// Holds a binary taken out of a zip until it is no longer run.
    _extracted: Option<tempfile::TempDir>,
}

/// The bootstrap of `bootstraps` this machine runs: the file for its architecture (or the one
/// file), a zip's `bootstrap` entry written out as an executable. An ELF binary for another machine
/// is refused; anything else (a script, a native build) is left for the system to run.
pub fn for_this_machine(bootstraps: &Bootstraps) -> Result<Runnable, BootstrapError> {
    let host = Machine::host();
    let path = match (bootstraps, host.and_then(Machine::architecture)) {
        (Bootstraps::One(path), _) => path.as_path(),
        (b, Some(arch)) => {
            b.for_architecture(arch)
                .ok_or_else(|| BootstrapError::MissingArchitecture {
                    architecture: arch,
                    functions: vec!["(this machine's) local".to_owned()],
                })?
        }
        (Bootstraps::PerArchitecture(files), None) => files
            .first()
            .map(|(_, p)| p.as_path())
            .unwrap_or(Path::new(ENTRY_NAME)),
    };
    let Ok(bytes) = std::fs::read(path) else {
        // Missing or unreadable: the spawn names the path and the reason.
        return Ok(Runnable {
            path: path.to_owned(),
            _extracted: None,
        });
    };
    let zipped = bytes.starts_with(b"PK\x03\x04");
    let binary = if zipped { read_binary(path)? } else { bytes };
    if let (Ok(exe), Some(host)) = (elf::inspect(&binary), host)
        && exe.machine != host
    {
        return Err(BootstrapError::NotForThisMachine {
            path: path.to_owned(),
            found: exe.machine,
            host,
        });
    }
    if !zipped {
        return Ok(Runnable {
            path: path.to_owned(),
            _extracted: None,
        });
    }
    extract(path, &binary)
}

/// Writes `binary` (taken from the zip at `path`) to an executable file in a temporary directory.
fn extract(path: &Path, binary: &[u8]) -> Result<Runnable, BootstrapError> {
    let failed = |source| BootstrapError::Extract {
        path: path.to_owned(),
        source,
    };
    let dir = tempfile::Builder::new()
        .prefix("chalice-bootstrap-")
        .tempdir()
        .map_err(failed)?;
    let out = dir.path().join(ENTRY_NAME);
    std::fs::write(&out, binary).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
    }
    Ok(Runnable {
        path: out,
        _extracted: Some(dir),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::project::elf::tests::header;
    use crate::project::elf::{EM_AARCH64, EM_X86_64};

    fn manifest(source: &str) -> Manifest {
        let model = chalice_codegen::load("events.chalice", source)
            .unwrap_or_else(|d| panic!("{}", d.render(false)));
        Manifest::of(&model)
    }

    fn plan(source: &str) -> Plan {
        let model = chalice_codegen::load("events.chalice", source)
            .unwrap_or_else(|d| panic!("{}", d.render(false)));
        chalice_codegen::emit_plan::plan(&model, "dev").unwrap()
    }

    const MIXED: &str = "app orders\nschedule tick rate(1 hour)\n\
                         queue on_order \"q\" { architecture = arm64 }\n";

    fn binary(e_machine: u16, source: &str) -> Vec<u8> {
        let mut b = header(2, e_machine);
        b.extend(manifest::encode(&manifest(source)));
        b
    }

    #[test]
    fn a_binary_is_checked_against_the_app_files_handlers() {
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
    fn the_wrong_machine_is_named_with_the_functions_and_the_fix() {
        let functions = vec!["orders-dev-on_order".to_owned()];
        let path = Path::new("bootstrap");
        let x86 = header(2, EM_X86_64);
        assert!(check_machine(path, &x86, Architecture::X86_64, &functions).is_ok());
        let err = check_machine(path, &x86, Architecture::Arm64, &functions).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`bootstrap` is an x86_64 (EM_X86_64) binary, but function orders-dev-on_order runs on \
             arm64: build it for aarch64-unknown-linux-musl, or pass --bootstrap arm64=FILE"
        );
        let two = vec!["a".to_owned(), "b".to_owned()];
        let err = check_machine(path, &header(2, EM_AARCH64), Architecture::X86_64, &two)
            .unwrap_err()
            .to_string();
        assert!(err.contains("aarch64 (EM_AARCH64) binary, but functions a, b run on x86_64"));
        assert!(err.contains("x86_64-unknown-linux-musl"), "{err}");

        let err = check_machine(path, b"\xcf\xfa\xed\xfe...", Architecture::X86_64, &two)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`bootstrap` is a Mach-O binary (a macOS build)"),
            "{err}"
        );
        let err = check_machine(path, b"#!/bin/sh\n", Architecture::X86_64, &functions)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a script (`#!/bin/sh`)"), "{err}");
    }

    #[test]
    fn one_file_per_architecture_and_a_missing_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let x86 = dir.path().join("x86");
        let arm = dir.path().join("arm");
        std::fs::write(&x86, binary(EM_X86_64, MIXED)).unwrap();
        std::fs::write(&arm, binary(EM_AARCH64, MIXED)).unwrap();
        let plan = plan(MIXED);
        let serves = manifest(MIXED);
        let both = Bootstraps::PerArchitecture(vec![
            (Architecture::X86_64, x86.clone()),
            (Architecture::Arm64, arm.clone()),
        ]);
        let packages = package(&plan, &both, &serves).unwrap();
        assert_eq!(packages.keys().collect::<Vec<_>>(), ["arm64", "x86_64"]);
        assert_ne!(packages["arm64"], packages["x86_64"]);

        let only_x86 = Bootstraps::PerArchitecture(vec![(Architecture::X86_64, x86.clone())]);
        let err = package(&plan, &only_x86, &serves).unwrap_err().to_string();
        assert!(
            err.contains("no --bootstrap for arm64: function orders-dev-on_order runs on it"),
            "{err}"
        );
        // One file for a two-architecture app: refused for the architecture it is not built for.
        let err = package(&plan, &Bootstraps::One(x86), &serves)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("but function orders-dev-on_order runs on arm64"),
            "{err}"
        );
        let err = package(&plan, &Bootstraps::One(arm), &serves)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("but function orders-dev-tick runs on x86_64"),
            "{err}"
        );
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_cargo_lambda_zip_is_read_and_rezipped_as_the_binary_is() {
        let dir = tempfile::tempdir().unwrap();
        let app = "app a\nschedule tick rate(1 hour)\n";
        let bin = binary(EM_X86_64, app);
        let zipped = dir.path().join("bootstrap.zip");
        std::fs::write(&zipped, zip_of(&[("bootstrap", &bin)])).unwrap();
        let plain = dir.path().join("bootstrap");
        std::fs::write(&plain, &bin).unwrap();
        assert_eq!(read_binary(&zipped).unwrap(), bin);
        let (plan, serves) = (plan(app), manifest(app));
        assert_eq!(
            package(&plan, &Bootstraps::One(zipped), &serves).unwrap(),
            package(&plan, &Bootstraps::One(plain), &serves).unwrap()
        );

        let other = dir.path().join("other.zip");
        std::fs::write(&other, zip_of(&[("main", &bin)])).unwrap();
        let err = read_binary(&other).unwrap_err().to_string();
        assert!(
            err.contains("has no `bootstrap` entry (it has: main)"),
            "{err}"
        );
    }

    #[test]
    fn a_run_here_takes_this_machines_binary() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("bootstrap.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        let r = for_this_machine(&Bootstraps::One(script.clone())).unwrap();
        assert_eq!(r.path, script);
        let Some(host) = Machine::host() else {
            return;
        };
        let foreign = if host == Machine::X86_64 {
            EM_AARCH64
        } else {
            EM_X86_64
        };
        let other = dir.path().join("other");
        std::fs::write(&other, header(2, foreign)).unwrap();
        let err = for_this_machine(&Bootstraps::One(other)).unwrap_err();
        assert!(
            matches!(err, BootstrapError::NotForThisMachine { .. }),
            "{err}"
        );

        let zipped = dir.path().join("b.zip");
        std::fs::write(&zipped, zip_of(&[("bootstrap", b"#!/bin/sh\nexit 0\n")])).unwrap();
        let r = for_this_machine(&Bootstraps::One(zipped)).unwrap();
        assert_ne!(r.path.parent(), Some(dir.path()));
        assert_eq!(std::fs::read(&r.path).unwrap(), b"#!/bin/sh\nexit 0\n");
    }
}
