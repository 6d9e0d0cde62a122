//! `deployer check`: validate the app file and summarise it.

use std::io::Write;
use std::path::Path;

use chalice_codegen::Model;
use chalice_codegen::ast::Kind;

use super::CommandError;
use crate::project::app_file;

/// Loads `app`; on success writes its warnings to `err` (as the build shows them, in colour with
/// `color`) and a one-line summary to `out`. With `json`, `out` gets one JSON document instead, errors
/// included.
pub fn run(
    app: &Path,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    color: bool,
) -> Result<(), CommandError> {
    let loaded = app_file::load_with_warnings(app);
    if json {
        return write_json(app, loaded, out);
    }
    let (model, warnings) = loaded?;
    if !warnings.items.is_empty() {
        write!(err, "{}", warnings.render(color))?;
    }
    writeln!(out, "{}: {}", app.display(), summary(&model))?;
    Ok(())
}

/// `{"file", "valid", "app", "stages", "handlers": [{"name", "kind"}], "warnings"}`, or with errors
/// `{"file", "valid": false, "errors"}` (and the error returned, for the exit status and stderr).
fn write_json(
    app: &Path,
    loaded: Result<(Model, chalice_codegen::Diagnostics), app_file::LoadError>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let file = app.display().to_string();
    let doc = match &loaded {
        Ok((model, warnings)) => serde_json::json!({
            "file": file,
            "valid": true,
            "app": model.app,
            "stages": model.stage_names(),
            "handlers": model
                .handlers
                .iter()
                .map(|h| serde_json::json!({"name": h.name, "kind": h.kind().keyword()}))
                .collect::<Vec<_>>(),
            "warnings": warnings.to_json(),
        }),
        Err(app_file::LoadError::Invalid { diagnostics, .. }) => serde_json::json!({
            "file": file,
            "valid": false,
            "errors": diagnostics.to_json(),
        }),
        Err(e) => serde_json::json!({"file": file, "valid": false, "error": e.to_string()}),
    };
    super::write_json(out, &doc)?;
    loaded
        .map(|_| ())
        .map_err(|e| CommandError::Project(e.into()))
}

/// `app `orders` is valid: 3 handlers (2 schedules, 1 queue); stages: dev, prod`
pub fn summary(model: &Model) -> String {
    let by_kind: Vec<String> = Kind::ALL
        .iter()
        .filter_map(|&kind| {
            let n = model.handlers.iter().filter(|h| h.kind() == kind).count();
            (n > 0).then(|| format!("{n} {}{}", kind.keyword(), if n == 1 { "" } else { "s" }))
        })
        .collect();
    let n = model.handlers.len();
    let handlers = if by_kind.is_empty() {
        format!("{n} handlers")
    } else {
        format!(
            "{n} handler{} ({})",
            if n == 1 { "" } else { "s" },
            by_kind.join(", ")
        )
    };
    format!(
        "app `{}` is valid: {handlers}; stages: {}",
        model.app,
        model.stage_names().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_handlers_by_kind() {
        let load = |text: &str| chalice_codegen::load("events.chalice", text).unwrap();
        let one = load("app shop\nstage prod\ntopic a \"t\"\n");
        assert_eq!(
            summary(&one),
            "app `shop` is valid: 1 handler (1 topic); stages: dev, prod"
        );
        let two = load("app shop\nstage prod\ntopic a \"t\"\ntopic b \"t\"\n");
        assert_eq!(
            summary(&two),
            "app `shop` is valid: 2 handlers (2 topics); stages: dev, prod"
        );
        let none = load("app shop\nstage prod\n");
        assert_eq!(
            summary(&none),
            "app `shop` is valid: 0 handlers; stages: dev, prod"
        );
    }
}
