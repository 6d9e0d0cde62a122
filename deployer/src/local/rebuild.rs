//! Rebuild on edit: watches the app's code and, once edits settle, rebuilds the `bootstrap` and
//! publishes the new build; handlers pick it up between invocations.
//!
//! Watched: `src/` (recursively) and, in the project directory, `Cargo.toml`, `build.rs` and the app
//! file, and the `Cargo.lock` of the project's workspace (in the project directory or above it).
//! `target/` is never watched (the build writes there). Only Rust sources under `src/` count, not
//! editors' temporaries (`.#app.rs`, `app.rs~`, `.app.rs.swp`, vim's `4913`, `*.tmp`). A change to
//! the app file is rebuilt too (the generated traits change), but bindings are read at start.
//!
//! Paths are compared in one form: the watcher reports absolute paths, whatever form the app file
//! was given in (`--app events.chalice`), so both sides are made absolute and canonical.

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
    let watched = Watched::new(&project_dir, &app_file);
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
    for (dir, mode) in watched.watches() {
        watcher.watch(&dir, mode).map_err(|source| WatchError {
            path: dir.clone(),
            source,
        })?;
    }

    loop {
        let first = tokio::select! {
            _ = stopped(&mut shutdown) => return Ok(()),
            path = rx.recv() => match path {
                Some(path) => path,
                None => return Ok(()),
            },
        };
        let Some(first) = watched.relevant(&first) else {
            continue;
        };
        let mut changed = vec![first];
        // Let the burst of writes settle.
        loop {
            tokio::select! {
                _ = stopped(&mut shutdown) => return Ok(()),
                _ = tokio::time::sleep(SETTLE) => break,
                path = rx.recv() => match path {
                    Some(path) => changed.extend(watched.relevant(&path)),
                    None => return Ok(()),
                },
            }
        }
        let shown = display(&changed, &watched.project_dir);
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
                if changed.contains(&watched.app_file) {
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

/// What counts as a change to the app's code, every path absolute and canonical.
#[derive(Debug)]
struct Watched {
    project_dir: PathBuf,
    app_file: PathBuf,
    /// `src/`: the Rust sources under it count.
    src: PathBuf,
    /// Files that count by name: `Cargo.toml`, `build.rs`, the app file, the workspace's `Cargo.lock`.
    files: Vec<PathBuf>,
}

impl Watched {
    fn new(project_dir: &Path, app_file: &Path) -> Watched {
        let project_dir = canonical(project_dir);
        let app_file = canonical(app_file);
        // A member of a workspace shares the workspace's lock file, above it.
        let lock = project_dir
            .ancestors()
            .map(|dir| dir.join("Cargo.lock"))
            .find(|lock| lock.is_file())
            .unwrap_or_else(|| project_dir.join("Cargo.lock"));
        let mut files: Vec<PathBuf> = ["Cargo.toml", "build.rs"]
            .iter()
            .map(|f| project_dir.join(f))
            .collect();
        files.push(app_file.clone());
        files.push(lock);
        Watched {
            src: project_dir.join("src"),
            project_dir,
            app_file,
            files,
        }
    }

    /// The directories to watch: `src/` recursively (when there is one), and each directory that
    /// holds a file counted by name, not recursively (the project's would include `target/`).
    fn watches(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut watches = Vec::new();
        if self.src.is_dir() {
            watches.push((self.src.clone(), RecursiveMode::Recursive));
        }
        for file in &self.files {
            if let Some(dir) = file.parent()
                && dir.is_dir()
                && !watches.iter().any(|(d, _)| d == dir)
            {
                watches.push((dir.to_path_buf(), RecursiveMode::NonRecursive));
            }
        }
        watches
    }

    /// `path` in canonical form when it counts: a Rust source under `src/` (outside any `target/`
    /// or hidden directory) or one of the files counted by name, never an editor's temporary.
    fn relevant(&self, path: &Path) -> Option<PathBuf> {
        let path = canonical(path);
        let name = path.file_name()?.to_str()?;
        if temporary(name) {
            return None;
        }
        if self.files.contains(&path) {
            return Some(path);
        }
        let inside = path.strip_prefix(&self.src).ok()?;
        let hidden_or_target = inside
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c == "target" || c.starts_with('.')
            });
        (path.extension().is_some_and(|e| e == "rs") && !hidden_or_target).then_some(path)
    }
}

/// Editors' swap, backup, lock and scratch files: `.app.rs.swp`, `.#app.rs`, `#app.rs#`,
/// `app.rs~`, `app.rs.tmp`, vim's `4913` (all digits).
fn temporary(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".tmp")
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.chars().all(|c| c.is_ascii_digit())
}

/// `path`, absolute, with its directory resolved (symbolic links, `..`): a file removed since the
/// event still resolves through its directory. Unresolvable paths are kept as given (made absolute).
fn canonical(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    if let Ok(resolved) = absolute.canonicalize() {
        return resolved;
    }
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map(|dir| dir.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
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

    /// `path` relative to the current directory (`../../tmp/x`), as a user's `--app` would be.
    fn relative(path: &Path) -> PathBuf {
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        let up = cwd.components().count() - 1;
        let mut rel: PathBuf = std::iter::repeat_n("..", up).collect();
        rel.push(path.strip_prefix("/").unwrap());
        rel
    }

    #[test]
    fn only_sources_and_build_files_count_whatever_form_the_app_was_given_in() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(p.join("src/nested")).unwrap();
        std::fs::write(p.join("events.chalice"), "app a\n").unwrap();
        std::fs::write(p.join("Cargo.lock"), "").unwrap();
        // The app as `--app` gives it, relative; the watcher's events are absolute.
        let app = relative(&p.join("events.chalice"));
        assert!(app.is_relative());
        let watched = Watched::new(app.parent().unwrap(), &app);
        let counts = |rel: &str| watched.relevant(&p.join(rel)).is_some();
        for rel in [
            "src/app.rs",
            "src/nested/mod.rs",
            "src/removed_since.rs",
            "Cargo.toml",
            "Cargo.lock",
            "build.rs",
            "events.chalice",
        ] {
            assert!(counts(rel), "{rel} counts");
        }
        for rel in [
            "README.md",
            "src/.app.rs.swp",
            "src/.#app.rs",
            "src/#app.rs#",
            "src/app.rs~",
            "src/app.rs.tmp",
            "src/4913",
            "src/notes.txt",
            "src/.cache/x.rs",
            "target/debug/bootstrap",
            "target/debug/build/x.rs",
        ] {
            assert!(!counts(rel), "{rel} does not count");
        }
        // Events through the relative form count too, and are shown relative to the project.
        let through_relative = watched.relevant(&relative(&p.join("src/app.rs"))).unwrap();
        assert_eq!(through_relative, p.join("src/app.rs"));
        assert_eq!(
            display(&[through_relative], &watched.project_dir),
            "src/app.rs"
        );
        assert_eq!(watched.app_file, p.join("events.chalice"));
    }

    #[test]
    fn a_workspace_members_lock_file_is_the_workspaces() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let member = root.join("apps/orders");
        std::fs::create_dir_all(member.join("src")).unwrap();
        std::fs::write(root.join("Cargo.lock"), "").unwrap();
        let watched = Watched::new(&member, &member.join("events.chalice"));
        assert!(watched.relevant(&root.join("Cargo.lock")).is_some());
        assert!(watched.relevant(&member.join("Cargo.lock")).is_none());
        let dirs: Vec<PathBuf> = watched.watches().into_iter().map(|(d, _)| d).collect();
        assert_eq!(dirs, [member.join("src"), member.clone(), root]);
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
