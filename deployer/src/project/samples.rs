//! The app's own sample payloads: `samples/<handler>.json` beside the app file, what
//! `deployer local send HANDLER --sample` sends and `deployer invoke HANDLER --sample` wraps in its
//! Lambda event. An app without one gets the tool's generic payload for the handler's kind.

use std::io;
use std::path::{Path, PathBuf};

/// The directory, beside the app file, that holds the app's samples.
pub const SAMPLES_DIR: &str = "samples";

/// Why an app sample could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the app's sample {path}: {source}")]
pub struct SampleError {
    pub path: String,
    pub source: io::Error,
}

/// `<project>/samples/<handler>.json`
pub fn path(project_dir: &Path, handler: &str) -> PathBuf {
    project_dir
        .join(SAMPLES_DIR)
        .join(format!("{handler}.json"))
}

/// The app's sample payload for `handler`, as its file holds it; `None` when the app has none.
pub fn read(project_dir: &Path, handler: &str) -> Result<Option<Vec<u8>>, SampleError> {
    let path = path(project_dir, handler);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SampleError {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Whether the app has a sample for `handler`.
pub fn exists(project_dir: &Path, handler: &str) -> bool {
    path(project_dir, handler).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_app_has_its_payloads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for handler in ["on_order", "on_click", "on_audit", "on_notice"] {
            let bytes = read(&root, handler).unwrap().expect(handler);
            serde_json::from_slice::<serde_json::Value>(&bytes).expect(handler);
        }
        assert_eq!(read(&root, "every_hour").unwrap(), None);
        assert!(exists(&root, "on_order") && !exists(&root, "nope"));
    }
}
