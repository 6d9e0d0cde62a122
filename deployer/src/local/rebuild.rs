//! Rebuild on edit: watches the app's code and, once edits settle, rebuilds the `bootstrap` and
//! publishes the new build; handlers pick it up between invocations.
//!
//! Watched: `src/` (recursively) and, in the project directory, `Cargo.toml`, `Cargo.lock`,
//! `build.rs` and the app file. `target/` is never watched (the build writes there). A change to
//! the app file is rebuilt too (the generated traits change), but bindings are read at start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use super::functions::Code;
use super::{Shutdown, stopped};
use crate::project::package::{self, BuildOptions};

/// Edits closer together than this are one change (an editor's save writes several files).
const SETTLE: Duration = Duration::from_millis(300);

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path} for changes: {source}")]
pub struct WatchError {
    path: PathBuf,
    #[source]
    source: notify::Error,
}

/// Watches `project_dir` and rebuilds with `build` after each settled change, until `shutdown`.
/// `say` reports progress (a rebuild started, finished, failed).
pub async fn run(
    project_dir: PathBuf,
    app_file: PathBuf,
    build: BuildOptions,
    code: watch::Sender<Code>,
    say: Arc<dyn Fn(&str) + Send + Sync>,
    mut shutdown: Shutdown,
) -> Result<(), WatchError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let watched = watched_files(&project_dir, &app_file);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
        {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|source| WatchError {
        path: project_dir.clone(),
        source,
    })?;
    let src = project_dir.join("src");
    if src.is_dir() {
        watcher
            .watch(&src, RecursiveMode::Recursive)
            .map_err(|source| WatchError {
                path: src.clone(),
                source,
            })?;
    }
    // The project directory itself, not recursively (that would include target/): its files are
    // filtered to the ones that affect the build.
    watcher
        .watch(&project_dir, RecursiveMode::NonRecursive)
        .map_err(|source| WatchError {
            path: project_dir.clone(),
            source,
        })?;

    loop {
        let first = tokio::select! {
            _ = stopped(&mut shutdown) => return Ok(()),
            path = rx.recv() => match path {
                Some(path) => path,
                None => return Ok(()),
            },
        };
        if !relevant(&first, &src, &watched) {
            continue;
        }
        let mut changed = vec![first];
        // Let the burst of writes settle.
        loop {
            tokio::select! {
                _ = stopped(&mut shutdown) => return Ok(()),
                _ = tokio::time::sleep(SETTLE) => break,
                path = rx.recv() => match path {
                    Some(path) if relevant(&path, &src, &watched) => changed.push(path),
                    Some(_) => {}
                    None => return Ok(()),
                },
            }
        }
        let shown = display(&changed, &project_dir);
        say(&format!("{shown} changed: rebuilding the bootstrap..."));
        let started = Instant::now();
        let options = build.clone();
        let built = tokio::select! {
            _ = stopped(&mut shutdown) => return Ok(()),
            built = tokio::task::spawn_blocking(move || package::build(&options)) => built,
        };
        match built {
            Ok(Ok(program)) => {
                code.send_modify(|c| {
                    c.program = program;
                    c.generation += 1;
                });
                say(&format!(
                    "rebuilt in {:.1} s: each handler restarts with the new code at its next event",
                    started.elapsed().as_secs_f64()
                ));
                if changed
                    .iter()
                    .any(|p| p.ends_with(&app_file) || p == &app_file)
                {
                    say(
                        "note: bindings (sources, batch sizes, schedules) are read at start: \
                         restart `deployer local` to apply changes to them",
                    );
                }
            }
            Ok(Err(e)) => say(&format!(
                "the build failed ({e}); the handlers keep running the previous build"
            )),
            Err(e) => say(&format!("the build did not finish: {e}")),
        }
    }
}

/// The project-level files that affect the build.
fn watched_files(project_dir: &Path, app_file: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["Cargo.toml", "Cargo.lock", "build.rs"]
        .iter()
        .map(|f| project_dir.join(f))
        .collect();
    files.push(app_file.to_owned());
    files
}

/// A Rust source under `src/`, or one of the project-level files.
fn relevant(path: &Path, src: &Path, watched: &[PathBuf]) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // Editors' swap and backup files.
    if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") {
        return false;
    }
    path.starts_with(src)
        || watched.iter().any(|w| {
            w == path || (w.file_name() == path.file_name() && w.parent() == path.parent())
        })
}

fn display(paths: &[PathBuf], project_dir: &Path) -> String {
    let mut names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(project_dir)
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names.dedup();
    if names.len() > 3 {
        format!("{} and {} more", names[..3].join(", "), names.len() - 3)
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_and_build_files_count() {
        let dir = Path::new("/p");
        let src = dir.join("src");
        let watched = watched_files(dir, &dir.join("events.chalice"));
        assert!(relevant(&dir.join("src/app.rs"), &src, &watched));
        assert!(relevant(&dir.join("src/nested/mod.rs"), &src, &watched));
        assert!(relevant(&dir.join("Cargo.toml"), &src, &watched));
        assert!(relevant(&dir.join("events.chalice"), &src, &watched));
        assert!(!relevant(&dir.join("README.md"), &src, &watched));
        assert!(!relevant(&dir.join("src/.app.rs.swp"), &src, &watched));
        assert!(!relevant(
            &dir.join("target/debug/bootstrap"),
            &src,
            &watched
        ));
    }

    #[test]
    fn many_changes_are_summarised() {
        let dir = Path::new("/p");
        let paths: Vec<PathBuf> = ["src/a.rs", "src/b.rs", "src/c.rs", "src/d.rs", "src/a.rs"]
            .iter()
            .map(|p| dir.join(p))
            .collect();
        assert_eq!(
            display(&paths, dir),
            "src/a.rs, src/b.rs, src/c.rs and 1 more"
        );
    }
}
