//! The build-script side: `events.chalice` → `OUT_DIR/handlers.rs` and the deploy plans.
//!
//! An app's `build.rs` is one line:
//!
//! ```text
//! fn main() {
//!     chalice_codegen::build::run();
//! }
//! ```
//!
//! and its `main.rs` includes the result with `chalice_runtime::include_handlers!()`.

use std::io::{self, IsTerminal as _};
use std::path::{Path, PathBuf};

use crate::diag::Diagnostics;

/// The file an app declares its event sources in, at the package root.
pub const SOURCE_FILE: &str = "events.chalice";
/// The generated Rust file, in `OUT_DIR`.
pub const HANDLERS_FILE: &str = "handlers.rs";
/// The deploy plan of the default stage, in `OUT_DIR`; every stage also gets `plan.<stage>.json`.
pub const PLAN_FILE: &str = "plan.json";

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file has errors; render them with [`Diagnostics::render`].
    #[error("{0}")]
    Invalid(Diagnostics),
    #[error("cannot write `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot build the deploy plan: {0}")]
    Plan(String),
}

impl BuildError {
    /// The message for a terminal: diagnostics rendered like rustc's, other errors on one line.
    pub fn render(&self, color: bool) -> String {
        match self {
            BuildError::Invalid(diagnostics) => diagnostics.render(color),
            other => format!("error: {other}\n"),
        }
    }
}

/// Reads `manifest_dir/events.chalice` and writes the generated files into `out_dir`; the file's
/// warnings are printed for cargo (see [`warning_lines`]).
///
/// Files whose content is unchanged are not rewritten, so their mtime (and cargo's
/// fingerprints) stay put.
pub fn generate(manifest_dir: &Path, out_dir: &Path) -> Result<(), BuildError> {
    let path = manifest_dir.join(SOURCE_FILE);
    let source =
        std::fs::read_to_string(&path).map_err(|source| BuildError::Read { path, source })?;
    let (model, warnings) =
        crate::load_with_warnings(SOURCE_FILE, &source).map_err(BuildError::Invalid)?;
    for line in warning_lines(&warnings) {
        println!("{line}");
    }

    write_if_changed(
        &out_dir.join(HANDLERS_FILE),
        &crate::emit_rust::emit(&model),
    )?;

    for stage in model.stage_names() {
        let plan =
            crate::emit_plan::plan(&model, stage).map_err(|e| BuildError::Plan(e.to_string()))?;
        let json = plan.to_json();
        write_if_changed(&out_dir.join(format!("plan.{stage}.json")), &json)?;
        if stage == crate::model::DEFAULT_STAGE {
            write_if_changed(&out_dir.join(PLAN_FILE), &json)?;
        }
    }
    Ok(())
}

/// The warnings rendered like rustc's, one `cargo:warning=` instruction per line (cargo shows each
/// as a `warning:` line of the build); nothing when there is no warning.
pub fn warning_lines(warnings: &Diagnostics) -> Vec<String> {
    if warnings.items.is_empty() {
        return Vec::new();
    }
    warnings
        .render(false)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("cargo:warning={line}"))
        .collect()
}

fn write_if_changed(path: &Path, content: &str) -> Result<(), BuildError> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|source| BuildError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The build-script entry point: generates from the package's `events.chalice`, or prints the
/// diagnostics and exits with status 1 (cargo then shows them under the failed build script).
pub fn run() {
    println!("cargo:rerun-if-changed={SOURCE_FILE}");
    for var in ["NO_COLOR", "CARGO_TERM_COLOR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let (Some(manifest_dir), Some(out_dir)) = (
        std::env::var_os("CARGO_MANIFEST_DIR"),
        std::env::var_os("OUT_DIR"),
    ) else {
        eprintln!(
            "error: chalice_codegen::build::run must be called from a build script (CARGO_MANIFEST_DIR and OUT_DIR are unset)"
        );
        std::process::exit(1);
    };
    if let Err(e) = generate(Path::new(&manifest_dir), Path::new(&out_dir)) {
        eprint!("{}", e.render(use_color()));
        std::process::exit(1);
    }
}

/// Colour when cargo's own output is a terminal: cargo captures a build script's stderr, so ask
/// `NO_COLOR`, `CARGO_TERM_COLOR`, and failing those whether cargo's stderr is a terminal.
fn use_color() -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    match std::env::var("CARGO_TERM_COLOR").as_deref() {
        Ok("always") => return true,
        Ok("never") => return false,
        _ => {}
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        return false;
    }
    io::stderr().is_terminal() || parent_stderr_is_terminal()
}

/// Whether the parent process's (cargo's) stderr is a terminal; Linux only, `false` elsewhere.
fn parent_stderr_is_terminal() -> bool {
    #[cfg(target_os = "linux")]
    {
        let link = format!("/proc/{}/fd/2", std::os::unix::process::parent_id());
        std::fs::read_link(link).is_ok_and(|target| {
            let target = target.to_string_lossy();
            target.starts_with("/dev/pts/") || target.starts_with("/dev/tty")
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chalice-build-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let dir = temp_dir("missing");
        let err = generate(&dir, &dir).unwrap_err();
        assert!(matches!(err, BuildError::Read { .. }), "{err:?}");
        assert!(
            err.render(false).starts_with("error: cannot read `"),
            "{}",
            err.render(false)
        );
    }

    #[test]
    fn invalid_file_renders_its_diagnostics() {
        let dir = temp_dir("invalid");
        std::fs::write(dir.join(SOURCE_FILE), "app orders\nqueue on_order\n").unwrap();
        let err = generate(&dir, &dir).unwrap_err();
        let text = err.render(false);
        assert!(matches!(err, BuildError::Invalid(_)), "{err:?}");
        assert!(text.contains("events.chalice:2:"), "{text}");
        assert!(!dir.join(HANDLERS_FILE).exists());
    }

    #[test]
    fn warnings_become_cargo_warning_lines() {
        let src = "app a\ntable t \"orders\" { filter = { \"eventName\": [\"UPDATE\"] } }\n";
        let (_, warnings) = crate::load_with_warnings(SOURCE_FILE, src).unwrap();
        let lines = warning_lines(&warnings);
        assert!(
            lines.iter().all(|l| l.starts_with("cargo:warning=")),
            "{lines:#?}"
        );
        assert!(
            lines[0].starts_with("cargo:warning=warning[W001]: `eventName` is never `UPDATE`"),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("events.chalice:2:45")),
            "{lines:#?}"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("cargo:warning=warning: `events.chalice` generated 1 warning")
        );
        let (_, none) = crate::load_with_warnings(SOURCE_FILE, "app a\n").unwrap();
        assert!(warning_lines(&none).is_empty());
        // A file with warnings still generates.
        let dir = temp_dir("warnings");
        std::fs::write(dir.join(SOURCE_FILE), src).unwrap();
        generate(&dir, &dir).unwrap();
        assert!(dir.join(PLAN_FILE).exists());
    }

    #[test]
    fn valid_file_writes_handlers_and_plans() {
        let dir = temp_dir("valid");
        std::fs::write(
            dir.join(SOURCE_FILE),
            "app orders\nstage prod { memory = 512 }\nqueue on_order \"my-queue\"\n",
        )
        .unwrap();
        generate(&dir, &dir).unwrap();
        let handlers = std::fs::read_to_string(dir.join(HANDLERS_FILE)).unwrap();
        assert!(handlers.contains("fn on_order("), "{handlers}");
        for file in [PLAN_FILE, "plan.dev.json", "plan.prod.json"] {
            let plan: crate::Plan =
                serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
            assert_eq!(plan.app, "orders");
        }
        // Byte for byte what `Plan::to_json` renders (what `deployer plan --offline --json` prints).
        let model = crate::load(
            SOURCE_FILE,
            &std::fs::read_to_string(dir.join(SOURCE_FILE)).unwrap(),
        )
        .unwrap();
        for stage in ["dev", "prod"] {
            let plan = crate::emit_plan::plan(&model, stage).unwrap();
            let written = std::fs::read_to_string(dir.join(format!("plan.{stage}.json"))).unwrap();
            assert_eq!(written, plan.to_json());
        }
        assert_eq!(
            std::fs::read_to_string(dir.join(PLAN_FILE)).unwrap(),
            std::fs::read_to_string(dir.join("plan.dev.json")).unwrap()
        );
        // A second run with nothing changed leaves the files alone.
        let before = std::fs::metadata(dir.join(HANDLERS_FILE))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        generate(&dir, &dir).unwrap();
        let after = std::fs::metadata(dir.join(HANDLERS_FILE))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
    }
}
