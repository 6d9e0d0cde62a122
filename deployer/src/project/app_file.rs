//! Reading and validating the app's `events.chalice`.

use std::io;
use std::path::{Path, PathBuf};

use chalice_codegen::{Diagnostics, Model};

/// The file `--app` names when it is not given.
pub const DEFAULT_APP_FILE: &str = "events.chalice";

/// Why the app file could not be turned into a model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("app file `{}` not found{}", path.display(), hint_for(path))]
    NotFound { path: PathBuf },
    #[error("cannot read app file `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file has errors; [`Diagnostics::render`] shows them against the source.
    #[error("app file `{}` has {} error(s)", path.display(), diagnostics.items.len())]
    Invalid {
        path: PathBuf,
        diagnostics: Diagnostics,
    },
}

fn hint_for(path: &Path) -> String {
    let cwd = std::env::current_dir()
        .map(|d| format!(" in {}", d.display()))
        .unwrap_or_default();
    if path.is_relative() {
        format!("{cwd} (run from the app's directory or pass --app FILE)")
    } else {
        String::new()
    }
}

/// Reads `path` and parses and validates it.
pub fn load(path: &Path) -> Result<Model, LoadError> {
    load_with_warnings(path).map(|(model, _)| model)
}

/// Reads `path` and parses and validates it; also the file's warnings (patterns that can never
/// match, ...), which do not stop a build.
pub fn load_with_warnings(path: &Path) -> Result<(Model, Diagnostics), LoadError> {
    let source = std::fs::read_to_string(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => LoadError::NotFound {
            path: path.to_path_buf(),
        },
        _ => LoadError::Read {
            path: path.to_path_buf(),
            source,
        },
    })?;
    chalice_codegen::load_with_warnings(&path.display().to_string(), &source).map_err(
        |diagnostics| LoadError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_names_the_path() {
        let err = load(Path::new("no/such/events.chalice")).unwrap_err();
        assert!(matches!(err, LoadError::NotFound { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("app file `no/such/events.chalice` not found in "),
            "{msg}"
        );
        assert!(
            msg.ends_with("(run from the app's directory or pass --app FILE)"),
            "{msg}"
        );
    }

    #[test]
    fn a_directory_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, LoadError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));
    }
}
