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

pub use diag::{Diagnostic, Diagnostics, ErrorKind, Severity, Span};
pub use model::Model;
pub use plan::Plan;

/// Parses and validates a whole file: the model, or every problem found.
pub fn load(file_name: &str, source: &str) -> Result<Model, Diagnostics> {
    load_with_warnings(file_name, source).map(|(model, _)| model)
}

/// [`load`], with the warnings of a file that loads: things that build but probably do not do what
/// was meant (a filter that can never match, ...). The warnings may be empty.
pub fn load_with_warnings(
    file_name: &str,
    source: &str,
) -> Result<(Model, Diagnostics), Diagnostics> {
    let diagnostics = |items: Vec<Diagnostic>| Diagnostics {
        file_name: file_name.to_string(),
        source: source.to_string(),
        items,
    };
    let (file, mut items) = parse::parse(source);
    let had_syntax_errors = !items.is_empty();
    match validate::validate_with_warnings(&file, source) {
        Ok((model, warnings)) if items.is_empty() => return Ok((model, diagnostics(warnings))),
        Ok(_) => {}
        Err(more) => items.extend(
            more.into_iter()
                // An `app` line with a syntax error is not missing: say it once.
                .filter(|d| !(had_syntax_errors && d.kind == ErrorKind::MissingApp)),
        ),
    }
    items.sort_by_key(|d| (d.span.start, d.span.end));
    Err(diagnostics(items))
}
