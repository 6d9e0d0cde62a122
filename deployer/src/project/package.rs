//! Builds the app's `bootstrap` binary and packages it as a deterministic Lambda zip.
//!
//! Same binary, same zip bytes: one entry named `bootstrap`, mtime 1980-01-01, mode 0o755, deflate
//! level 6, Unix host. So the zip's hash identifies the code, and unchanged code is never re-uploaded.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::builder::{Builder, BuilderError};
use super::prebuilt::BootstrapError;

/// The name Lambda's custom runtimes execute, inside the zip.
pub const ENTRY_NAME: &str = "bootstrap";
/// The entry's Unix permissions.
pub const ENTRY_MODE: u32 = 0o755;
const DEFLATE_LEVEL: i64 = 6;

/// Errors from building or packaging the bootstrap.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error(
        "the Rust standard library for `{target}` is not installed: run `rustup target add {target}`, \
         build for another target with `--target` (e.g. `x86_64-unknown-linux-gnu`), or pass a prebuilt \
         binary with `--bootstrap FILE`"
    )]
    TargetNotInstalled { target: String },
    #[error(
        "--builder cross: `cross` is not installed: `cargo install cross` (it also needs Docker or Podman)"
    )]
    CrossMissing,
    #[error("`{command}` failed ({status}); see the compiler output above")]
    BuildFailed { command: String, status: String },
    #[error("`{command}` succeeded but reported no executable for the binary `{bin}`")]
    NoExecutable { command: String, bin: String },
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the build of {} wrote no deploy plan for stage `{stage}`: its package's build.rs must call \
         `chalice_codegen::build::run()`", executable.display()
    )]
    NoPlan { stage: String, executable: PathBuf },
    #[error("{} is not a deploy plan this deployer reads: {message}", path.display())]
    BadPlan { path: PathBuf, message: String },
    #[error(
        "{} carries no chalice-rs handler manifest, so it cannot be checked against the app file: build it \
         from this app with `cargo build --release --bin bootstrap` (a bootstrap from an older chalice-rs, or \
         another program, is not shipped)", path.display()
    )]
    NoManifest { path: PathBuf },
    #[error("{}: {source}", path.display())]
    BadManifest {
        path: PathBuf,
        source: chalice_codegen::manifest::ManifestError,
    },
    #[error(
        "{} was built from a different app file:{}\n  hint: rebuild it from this app (`cargo build --release \
         --bin bootstrap`), or deploy without --bootstrap to build it",
        path.display(),
        differences.iter().map(|d| format!("\n  - {d}")).collect::<String>()
    )]
    OtherApp {
        path: PathBuf,
        differences: Vec<String>,
    },
    #[error("--target names one target, but the app's functions use several architectures")]
    OneTargetManyArchitectures,
    #[error("the build was stopped")]
    Stopped,
    /// A `--bootstrap` file that cannot be shipped or run.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// No tool at hand builds for the target.
    #[error(transparent)]
    Builder(#[from] BuilderError),
    #[error("could not write the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("could not write the zip: {0}")]
    Io(#[from] std::io::Error),
}

/// How to build the bootstrap binary.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The directory `cargo` runs in (the app's workspace root).
    pub project_dir: PathBuf,
    /// The binary to build.
    pub bin: String,
    /// A target triple (`x86_64-unknown-linux-musl`, ...); `None` builds for the host.
    pub target: Option<String>,
    /// The tool that builds: `cargo build`, `cargo zigbuild` or `cross build`.
    pub builder: Builder,
    /// `--target-dir`; by default cargo's (`CARGO_TARGET_DIR`, `target/`).
    pub target_dir: Option<PathBuf>,
    /// The cargo executable; by default `$CARGO` (set under `cargo run`) or `cargo`.
    pub cargo: Option<PathBuf>,
    /// `--release` (the default); `false` builds the debug profile (`deployer invoke`).
    pub release: bool,
    /// Where the running build can be stopped from ([`StopBuild::stop`]).
    pub stop: StopBuild,
}

/// Stops a running build from another thread (the build then fails with [`PackageError::Stopped`]).
#[derive(Debug, Clone, Default)]
pub struct StopBuild(std::sync::Arc<std::sync::Mutex<StopState>>);

#[derive(Debug, Default)]
struct StopState {
    child: Option<std::process::Child>,
    stopped: bool,
}

impl StopBuild {
    /// Kills the build if it runs, and keeps it from starting if it has not.
    pub fn stop(&self) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        state.stopped = true;
        if let Some(child) = state.child.as_mut() {
            let _ = child.kill();
        }
    }

    fn stopped(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).stopped
    }
}

impl BuildOptions {
    /// Release build of `bootstrap` for the host, in `project_dir`.
    pub fn new(project_dir: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            project_dir: project_dir.into(),
            bin: ENTRY_NAME.to_owned(),
            target: None,
            builder: Builder::Cargo,
            target_dir: None,
            cargo: None,
            release: true,
            stop: StopBuild::default(),
        }
    }

    /// The command the build runs (in `project_dir`).
    pub fn command(&self) -> Command {
        let cargo = self
            .cargo
            .clone()
            .map(OsString::from)
            .or_else(|| std::env::var_os("CARGO"))
            .unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = match self.builder {
            Builder::Cargo => {
                let mut c = Command::new(cargo);
                c.arg("build");
                c
            }
            Builder::Zigbuild => {
                let mut c = Command::new(cargo);
                c.arg("zigbuild");
                c
            }
            Builder::Cross => {
                let mut c = Command::new("cross");
                c.arg("build");
                c
            }
        };
        cmd.current_dir(&self.project_dir)
            .args(["--bin", &self.bin])
            .arg("--message-format=json-render-diagnostics");
        if self.release {
            cmd.arg("--release");
        }
        if let Some(target) = &self.target {
            cmd.args(["--target", target]);
        }
        if let Some(dir) = &self.target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        cmd
    }

    fn describe(&self) -> String {
        let profile = if self.release { " --release" } else { "" };
        let program = match self.builder {
            Builder::Cargo => "cargo build",
            Builder::Zigbuild => "cargo zigbuild",
            Builder::Cross => "cross build",
        };
        let mut s = format!("{program}{profile} --bin {}", self.bin);
        if let Some(target) = &self.target {
            let _ = write!(s, " --target {target}");
        }
        s
    }
}

/// Whether rustup (or the toolchain) has the standard library for `target`. When the sysroot cannot
/// be asked, say yes and let cargo report whatever is wrong.
fn target_installed(target: &str) -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return true;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    !out.status.success()
        || Path::new(&sysroot)
            .join("lib/rustlib")
            .join(target)
            .is_dir()
}

/// What a build made: the executable, and the `OUT_DIR` of its package's build script, where the
/// app's `build.rs` wrote the deploy plans (`plan.<stage>.json`) it generated the code from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub executable: PathBuf,
    /// `None` when the package has no build script.
    pub out_dir: Option<PathBuf>,
}

/// Runs the build (compiler output goes to stderr) and returns the built executable's path.
pub fn build(options: &BuildOptions) -> Result<PathBuf, PackageError> {
    build_artifacts(options).map(|b| b.executable)
}

/// Runs the build (compiler output goes to stderr) and returns what it made.
pub fn build_artifacts(options: &BuildOptions) -> Result<Built, PackageError> {
    let command = options.describe();
    let (status, stdout) = run_stoppable(options, &command)?;
    if !status.success() {
        // Asked only now: the question costs as much as cargo's own check that nothing changed.
        if let Some(target) = &options.target
            && options.builder == Builder::Cargo
            && !target_installed(target)
        {
            return Err(PackageError::TargetNotInstalled {
                target: target.clone(),
            });
        }
        return Err(PackageError::BuildFailed {
            command,
            status: status.to_string(),
        });
    }
    let built = built_from_messages(&String::from_utf8_lossy(&stdout), &options.bin).ok_or(
        PackageError::NoExecutable {
            command,
            bin: options.bin.clone(),
        },
    )?;
    match (&options.target, built.executable.exists()) {
        // `cross` reports paths inside its container: the same files, under the host's target dir.
        (Some(target), false) => Ok(Built {
            executable: on_host(&built.executable, target, &host_target_dir(options)),
            out_dir: built
                .out_dir
                .map(|d| on_host(&d, target, &host_target_dir(options))),
        }),
        _ => Ok(built),
    }
}

/// Runs the build command, its stdout captured, unless or until `options.stop` stops it.
fn run_stoppable(
    options: &BuildOptions,
    command: &str,
) -> Result<(std::process::ExitStatus, Vec<u8>), PackageError> {
    use std::io::Read as _;
    let mut pipe = {
        let mut state = options.stop.0.lock().unwrap_or_else(|e| e.into_inner());
        if state.stopped {
            return Err(PackageError::Stopped);
        }
        let mut child = options
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| match (options.builder, source.kind()) {
                (Builder::Cross, std::io::ErrorKind::NotFound) => PackageError::CrossMissing,
                _ => PackageError::Spawn {
                    command: command.to_owned(),
                    source,
                },
            })?;
        let stdout = child.stdout.take();
        state.child = Some(child);
        stdout
    };
    let mut stdout = Vec::new();
    if let Some(out) = pipe.as_mut() {
        out.read_to_end(&mut stdout)?;
    }
    // The output ended: the build finished (or was killed). Wait for it outside the lock's users.
    let taken = options
        .stop
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .child
        .take();
    let status = match taken {
        Some(mut c) => c.wait()?,
        None => return Err(PackageError::Stopped),
    };
    if options.stop.stopped() {
        return Err(PackageError::Stopped);
    }
    Ok((status, stdout))
}

/// A path cargo reported inside a container (`/target/<triple>/release/bootstrap`), under the
/// host's target directory: what follows the `<triple>` component, joined to `target_dir/<triple>`.
fn on_host(path: &Path, target: &str, target_dir: &Path) -> PathBuf {
    let components: Vec<_> = path.components().collect();
    match components.iter().rposition(|c| c.as_os_str() == target) {
        Some(at) => target_dir.join(components[at..].iter().collect::<PathBuf>()),
        None => path.to_path_buf(),
    }
}

/// The target directory of the build on this machine: `--target-dir`, `CARGO_TARGET_DIR`, or
/// what `cargo metadata` says (`target/` of the workspace).
fn host_target_dir(options: &BuildOptions) -> PathBuf {
    if let Some(dir) = &options.target_dir {
        return dir.clone();
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return options.project_dir.join(dir);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    Command::new(cargo)
        .current_dir(&options.project_dir)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .and_then(|v| v["target_directory"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| options.project_dir.join("target"))
}

/// Finds the executable of binary `bin` in cargo's `--message-format=json` output, and the
/// `OUT_DIR` of its package's build script.
fn built_from_messages(stdout: &str, bin: &str) -> Option<Built> {
    let messages: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    // The last matching artifact wins (cargo reports each once; be robust to repeats).
    let artifact = messages
        .iter()
        .rev()
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == bin)
        .filter(|msg| {
            msg["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .find(|msg| msg["executable"].is_string())?;
    let out_dir = messages
        .iter()
        .rev()
        .filter(|msg| {
            msg["reason"] == "build-script-executed" && msg["package_id"] == artifact["package_id"]
        })
        .find_map(|msg| msg["out_dir"].as_str().map(PathBuf::from));
    Some(Built {
        executable: PathBuf::from(artifact["executable"].as_str()?),
        out_dir,
    })
}

/// A zipped bootstrap, ready to upload, with its hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct CodePackage {
    pub zip: Vec<u8>,
    /// sha256 of the zip, lowercase hex (for artifact object keys).
    pub sha256_hex: String,
    /// sha256 of the zip, standard base64: what Lambda reports as a function's `CodeSha256`.
    pub code_sha256: String,
}

impl std::fmt::Debug for CodePackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodePackage")
            .field("zip_len", &self.zip.len())
            .field("sha256_hex", &self.sha256_hex)
            .field("code_sha256", &self.code_sha256)
            .finish()
    }
}

/// Binaries smaller than this are zipped every time (it takes less than reading a cached zip).
const CACHE_FROM: usize = 256 * 1024;
/// How many zips the cache keeps (the newest).
const CACHE_KEEP: usize = 8;

impl CodePackage {
    /// Zips `binary` as the single entry `bootstrap`, deterministically. Deflating a release
    /// bootstrap takes a few hundred milliseconds, so the zip of a large binary is kept in the user's
    /// cache (`$XDG_CACHE_HOME/chalice-rs/zips/`, else `~/.cache/...`), keyed by the binary's sha256,
    /// and checked (one entry, its size and CRC) when reused: the same bytes come out either way.
    pub fn from_binary(binary: &[u8]) -> Result<CodePackage, PackageError> {
        CodePackage::from_binary_cached(binary, zip_cache_dir().as_deref())
    }

    /// [`CodePackage::from_binary`] with the cache in `cache` (`None`: no cache).
    fn from_binary_cached(
        binary: &[u8],
        cache: Option<&Path>,
    ) -> Result<CodePackage, PackageError> {
        let cached = cache
            .filter(|_| binary.len() >= CACHE_FROM)
            .map(|d| d.join(format!("{}.zip", hex::encode(Sha256::digest(binary)))));
        if let Some(path) = &cached
            && let Ok(zip) = std::fs::read(path)
            && zip_holds(&zip, binary)
        {
            return Ok(CodePackage::from_zip(zip));
        }
        let package = CodePackage::deflate(binary)?;
        if let Some(path) = &cached {
            // A cache that cannot be written only costs time.
            let _ = store_in_cache(path, &package.zip);
        }
        Ok(package)
    }

    fn from_zip(zip: Vec<u8>) -> CodePackage {
        let digest = Sha256::digest(&zip);
        CodePackage {
            sha256_hex: hex::encode(digest),
            code_sha256: base64::engine::general_purpose::STANDARD.encode(digest),
            zip,
        }
    }

    fn deflate(binary: &[u8]) -> Result<CodePackage, PackageError> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(DateTime::DEFAULT)
            .system(System::Unix)
            .unix_permissions(ENTRY_MODE)
            .large_file(false);
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer.start_file(ENTRY_NAME, options)?;
        writer.write_all(binary)?;
        Ok(CodePackage::from_zip(writer.finish()?.into_inner()))
    }

    /// Reads the binary at `path` and zips it.
    pub fn from_file(path: &Path) -> Result<CodePackage, PackageError> {
        let binary = std::fs::read(path).map_err(|source| PackageError::Read {
            path: path.to_owned(),
            source,
        })?;
        CodePackage::from_binary(&binary)
    }
}

/// Where zips are cached, when the user has a cache directory.
fn zip_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("chalice-rs").join("zips"))
}

/// Whether `zip` is this module's zip of `binary`: one entry named `bootstrap` holding its bytes
/// (size and CRC-32), with the options [`CodePackage::from_binary`] sets.
fn zip_holds(zip: &[u8], binary: &[u8]) -> bool {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(zip)) else {
        return false;
    };
    if archive.len() != 1 {
        return false;
    }
    let Ok(entry) = archive.by_index_raw(0) else {
        return false;
    };
    entry.name().is_ok_and(|n| n == ENTRY_NAME)
        && entry.size() == binary.len() as u64
        && entry.crc32() == crc32fast::hash(binary)
        && entry.compression() == CompressionMethod::Deflated
        && entry.unix_mode().map(|m| m & 0o777) == Some(ENTRY_MODE)
}

/// Writes `zip` at `path` atomically, keeping the [`CACHE_KEEP`] newest zips of the directory.
fn store_in_cache(path: &Path, zip: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(zip)?;
    temp.persist(path).map_err(|e| e.error)?;
    let mut zips: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    zips.sort();
    for (_, old) in zips.iter().rev().skip(CACHE_KEEP) {
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

/// Builds the bootstrap (see [`build_artifacts`]) and zips it.
pub fn build_and_package(options: &BuildOptions) -> Result<(Built, CodePackage), PackageError> {
    let built = build_artifacts(options)?;
    let package = CodePackage::from_file(&built.executable)?;
    Ok((built, package))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn args(options: &BuildOptions) -> (String, Vec<String>) {
        let cmd = options.command();
        (
            cmd.get_program().to_string_lossy().into_owned(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        )
    }

    #[test]
    fn the_command_lines_of_each_builder() {
        let mut options = BuildOptions::new("/app");
        options.cargo = Some("cargo".into());
        options.target = Some("aarch64-unknown-linux-musl".into());
        options.builder = Builder::Zigbuild;
        let (program, argv) = args(&options);
        assert_eq!(program, "cargo");
        assert_eq!(
            argv,
            [
                "zigbuild",
                "--bin",
                "bootstrap",
                "--message-format=json-render-diagnostics",
                "--release",
                "--target",
                "aarch64-unknown-linux-musl"
            ]
        );
        assert_eq!(
            options.describe(),
            "cargo zigbuild --release --bin bootstrap --target aarch64-unknown-linux-musl"
        );
        assert_eq!(options.command().get_current_dir(), Some(Path::new("/app")));
        options.builder = Builder::Cross;
        let (program, argv) = args(&options);
        assert_eq!(program, "cross");
        assert_eq!(argv[0], "build");
        assert_eq!(
            argv[1..],
            args(&BuildOptions {
                builder: Builder::Cargo,
                ..options.clone()
            })
            .1[1..]
        );
        options.builder = Builder::Cargo;
        assert_eq!(args(&options).1[0], "build");
    }

    #[test]
    fn container_paths_are_found_under_the_hosts_target_dir() {
        let t = "aarch64-unknown-linux-musl";
        assert_eq!(
            on_host(
                Path::new("/target/aarch64-unknown-linux-musl/release/bootstrap"),
                t,
                Path::new("/w/target")
            ),
            PathBuf::from("/w/target/aarch64-unknown-linux-musl/release/bootstrap")
        );
        assert_eq!(
            on_host(
                Path::new("/target/aarch64-unknown-linux-musl/release/build/app-1/out"),
                t,
                Path::new("/w/t")
            ),
            PathBuf::from("/w/t/aarch64-unknown-linux-musl/release/build/app-1/out")
        );
        assert_eq!(
            on_host(Path::new("/x/bootstrap"), t, Path::new("/w")),
            PathBuf::from("/x/bootstrap")
        );
    }

    #[test]
    fn a_missing_target_is_named() {
        let mut options = BuildOptions::new(".");
        options.target = Some("no-such-arch-unknown-none".into());
        let err = build(&options).unwrap_err();
        assert!(
            matches!(err, PackageError::TargetNotInstalled { .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("rustup target add no-such-arch-unknown-none")
        );
    }

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hex_and_base64_of_a_known_digest() {
        let digest = Sha256::digest(b"");
        assert_eq!(hex::encode(digest), EMPTY_SHA256);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(digest),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn same_input_same_bytes() {
        let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let a = CodePackage::from_binary(&binary).unwrap();
        let b = CodePackage::from_binary(&binary).unwrap();
        assert_eq!(a, b);
        let c = CodePackage::from_binary(&binary[1..]).unwrap();
        assert_ne!(a.zip, c.zip);
        assert_ne!(a.sha256_hex, c.sha256_hex);
    }

    #[test]
    fn a_cached_zip_is_the_same_bytes_and_a_damaged_one_is_made_again() {
        let cache = tempfile::tempdir().unwrap();
        let binary: Vec<u8> = (0..CACHE_FROM as u32 + 1000)
            .map(|i| (i * 31 % 253) as u8)
            .collect();
        let fresh = CodePackage::deflate(&binary).unwrap();
        let first = CodePackage::from_binary_cached(&binary, Some(cache.path())).unwrap();
        assert_eq!(first, fresh);
        let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
        assert_eq!(entries.len(), 1, "one zip cached");
        let path = entries[0].path();
        assert_eq!(std::fs::read(&path).unwrap(), fresh.zip);
        assert_eq!(
            CodePackage::from_binary_cached(&binary, Some(cache.path())).unwrap(),
            fresh
        );
        // A zip of other bytes under the binary's name (damaged, or a collision) is not used.
        let other = CodePackage::deflate(&binary[1..]).unwrap();
        std::fs::write(&path, &other.zip).unwrap();
        assert_eq!(
            CodePackage::from_binary_cached(&binary, Some(cache.path())).unwrap(),
            fresh
        );
        std::fs::write(&path, b"truncated").unwrap();
        assert_eq!(
            CodePackage::from_binary_cached(&binary, Some(cache.path())).unwrap(),
            fresh
        );
        assert_eq!(std::fs::read(&path).unwrap(), fresh.zip, "written again");
    }

    #[test]
    fn hashes_are_of_the_zip() {
        let p = CodePackage::from_binary(b"#!/bin/sh\necho hi\n").unwrap();
        let digest = Sha256::digest(&p.zip);
        assert_eq!(p.sha256_hex, hex::encode(digest));
        assert_eq!(p.sha256_hex.len(), 64);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&p.code_sha256)
                .unwrap(),
            digest.to_vec()
        );
    }

    #[test]
    fn one_executable_entry_named_bootstrap() {
        let binary = b"\x7fELF pretend".repeat(1000);
        let p = CodePackage::from_binary(&binary).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&p.zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), ENTRY_NAME);
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(ENTRY_MODE));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        let mtime = entry.last_modified().unwrap();
        assert_eq!(
            (mtime.year(), mtime.month(), mtime.day(), mtime.hour()),
            (1980, 1, 1, 0)
        );
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, binary);
        // Deflate did compress the repetitive input.
        assert!(p.zip.len() < binary.len() / 4, "{}", p.zip.len());
    }

    #[test]
    fn finds_the_bin_executable_and_its_out_dir_in_cargo_messages() {
        let stdout = r#"{"reason":"compiler-artifact","package_id":"app 0.1.0","target":{"name":"bootstrap","kind":["lib"]},"executable":null}
not json at all
{"reason":"build-script-executed","package_id":"dep 1.0.0","out_dir":"/t/release/build/dep-1/out"}
{"reason":"build-script-executed","package_id":"app 0.1.0","out_dir":"/t/release/build/app-2/out"}
{"reason":"compiler-artifact","package_id":"app 0.1.0","target":{"name":"other","kind":["bin"]},"executable":"/t/release/other"}
{"reason":"compiler-artifact","package_id":"app 0.1.0","target":{"name":"bootstrap","kind":["bin"]},"executable":"/t/release/bootstrap"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            built_from_messages(stdout, "bootstrap"),
            Some(Built {
                executable: PathBuf::from("/t/release/bootstrap"),
                out_dir: Some(PathBuf::from("/t/release/build/app-2/out")),
            })
        );
        assert_eq!(built_from_messages(stdout, "missing"), None);
        let no_build_script = stdout.replace("\"app 0.1.0\",\"out_dir", "\"x 0.1.0\",\"out_dir");
        assert_eq!(
            built_from_messages(&no_build_script, "bootstrap").map(|b| b.out_dir),
            Some(None)
        );
    }

    #[test]
    fn missing_file_is_an_error_with_the_path() {
        let err = CodePackage::from_file(Path::new("/nonexistent/bootstrap")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/bootstrap"), "{err}");
    }
}
