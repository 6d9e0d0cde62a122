//! chalice-rs code generation: `events.chalice` → parse → validate → model → emit (Rust code, deploy plan).

pub mod ast;
pub mod build;
pub mod diag;
pub mod emit_plan;
pub mod emit_rust;
pub mod manifest;
pub mod model;
pub mod parse;
pub mod plan;
pub mod validate;
pub mod vars;

/// The date-time types of [`plan::Clock`]'s fire times (feature `clock`).
#[cfg(feature = "clock")]
pub use chrono;
pub use diag::{Diagnostic, Diagnostics, ErrorKind, Span};
pub use model::Model;
pub use plan::Plan;

/// Parses and validates a whole file: the model, or every problem found.
pub fn load(file_name: &str, source: &str) -> Result<Model, Diagnostics> {
    let (file, mut items) = parse::parse(source);
    let had_syntax_errors = !items.is_empty();
    match validate::validate(&file, source) {
        Ok(model) if items.is_empty() => return Ok(model),
        Ok(_) => {}
        Err(more) => items.extend(
            more.into_iter()
                // An `app` line with a syntax error is not missing: say it once.
                .filter(|d| !(had_syntax_errors && d.kind == ErrorKind::MissingApp)),
        ),
    }
    items.sort_by_key(|d| (d.span.start, d.span.end));
    Err(Diagnostics {
        file_name: file_name.to_string(),
        source: source.to_string(),
        items,
    })
}
