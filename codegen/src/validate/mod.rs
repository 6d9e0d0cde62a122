//! Semantic checks of `events.chalice`: everything AWS would refuse, found at build time, all at once.
//!
//! Each submodule has one job; this one walks the file, checks its structure (one app, unique stages and
//! handlers), runs the checks that need the whole file (merged settings, every stage's resolution of
//! names with variables, overlapping notifications) and assembles the [`Model`] when nothing is wrong.

mod arns;
mod delivery;
mod filters;
mod keys;
mod merged;
mod names;
mod pattern;
pub(crate) mod policy;
mod s3;
pub(crate) mod schedule;
mod settings;
mod sources;
mod stages;
mod values;
mod vars;
mod vpc;

use std::collections::BTreeMap;

use crate::ast::{Binding, File, Item, Spanned};
use crate::diag::{Diagnostic, ErrorKind, Span, line_col};
use crate::model::{DEFAULT_STAGE, Handler, Model, Settings, Source};

use keys::{Entries, Scope};
use settings::Layer;

/// What `${app}` resolves to while the file has no valid `app` (its absence is reported).
const PLACEHOLDER_APP: &str = "app";

/// Checks a parsed file against AWS's rules; every problem is reported, sorted by position.
pub fn validate(file: &File, source: &str) -> Result<Model, Vec<Diagnostic>> {
    validate_with_warnings(file, source).map(|(model, _)| model)
}

/// [`validate`], with the warnings of a valid file (sorted by position): what builds but probably does
/// not do what was meant.
pub fn validate_with_warnings(
    file: &File,
    source: &str,
) -> Result<(Model, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut warnings = Vec::new();
    let mut app: Option<&Spanned<String>> = None;
    let mut app_ok = false;
    let mut defaults: Option<Layer> = None;
    let mut stages: Vec<(&Spanned<String>, Layer, bool)> = Vec::new();
    let mut drafts: Vec<Draft<'_>> = Vec::new();

    for item in &file.items {
        match item {
            Item::App { name, .. } => match app {
                Some(first) => diags.push(duplicate(
                    "app",
                    name.span,
                    first.span,
                    "a file declares one app",
                )),
                None => {
                    app = Some(name);
                    match names::app_or_stage(name, "app") {
                        Some(d) => diags.push(d),
                        None => app_ok = true,
                    }
                }
            },
            Item::Defaults { block, span } => {
                let keyword = Span::new(
                    span.start,
                    (span.start + "defaults".len()).min(span.end.max(span.start)),
                );
                let entries = keys::check(Some(block), Scope::Defaults, &mut diags);
                let layer = settings::read(&entries, keyword, &mut diags);
                match &defaults {
                    Some(first) => diags.push(duplicate(
                        "defaults",
                        keyword,
                        first.anchor,
                        "merge the two `defaults` blocks into one",
                    )),
                    None => defaults = Some(layer),
                }
            }
            Item::Stage { name, block, .. } => {
                let name_error = names::app_or_stage(name, "stage");
                let ok = name_error.is_none();
                diags.extend(name_error);
                let entries = keys::check(block.as_ref(), Scope::Stage, &mut diags);
                let layer = settings::read(&entries, name.span, &mut diags);
                match stages.iter().find(|(first, _, _)| first.node == name.node) {
                    Some((first, _, _)) => diags.push(duplicate(
                        &format!("stage `{}`", name.node),
                        name.span,
                        first.span,
                        "merge the two stage blocks into one",
                    )),
                    None => stages.push((name, layer, ok)),
                }
            }
            Item::Binding(b) => drafts.push(draft(b, source, &mut diags, &mut warnings)),
        }
    }

    for (i, d) in drafts.iter().enumerate() {
        let name = &d.binding.handler;
        if let Some(first) = drafts[..i]
            .iter()
            .find(|f| f.binding.handler.node == name.node)
        {
            diags.push(
                Diagnostic::new(
                    ErrorKind::DuplicateHandler,
                    name.span,
                    format!("handler `{}` is bound twice", name.node),
                )
                .label("second binding")
                .related(first.binding.handler.span, "first bound here")
                .help("each binding makes its own function; give this one another name"),
            );
        }
    }

    match app {
        None => diags.push(
            Diagnostic::new(
                ErrorKind::MissingApp,
                Span::new(0, 0),
                "no `app` declaration",
            )
            .label("expected `app NAME`")
            .help("add `app my_app` at the top of the file (it prefixes every resource name)"),
        ),
        Some(app) if app_ok => {
            let stage_names: Vec<&Spanned<String>> =
                stages.iter().filter(|s| s.2).map(|s| s.0).collect();
            let handlers: Vec<&Spanned<String>> = drafts
                .iter()
                .filter(|d| d.name_ok)
                .map(|d| &d.binding.handler)
                .collect();
            names::check_lengths(app, &stage_names, &handlers, &mut diags);
        }
        Some(_) => {}
    }

    let defaults = defaults.unwrap_or_default();
    let app_name = match app {
        Some(a) if app_ok => a.node.as_str(),
        _ => PLACEHOLDER_APP,
    };
    let dev = Layer {
        anchor: app.map_or(Span::default(), |a| a.span),
        ..Layer::default()
    };
    // `dev` and every declared stage whose name is valid (an invalid one is reported already).
    let mut stage_layers: Vec<(&str, &Layer)> = stages
        .iter()
        .filter(|(_, _, ok)| *ok)
        .map(|(n, l, _)| (n.node.as_str(), l))
        .collect();
    if !stage_layers.iter().any(|(n, _)| *n == DEFAULT_STAGE) {
        stage_layers.insert(0, (DEFAULT_STAGE, &dev));
    }
    let stage_names: Vec<&str> = stage_layers.iter().map(|(n, _)| *n).collect();
    let binding_layers: Vec<(&str, &Layer)> = drafts
        .iter()
        .map(|d| (d.binding.handler.node.as_str(), &d.layer))
        .collect();
    merged::check(
        app_name,
        &defaults,
        &stage_layers,
        &binding_layers,
        &mut diags,
    );
    stages::run(&defaults.deferred, app_name, &stage_names, &mut diags);
    for (stage, layer) in &stage_layers {
        stages::run(&layer.deferred, app_name, &[stage], &mut diags);
    }
    for d in &drafts {
        stages::run(&d.layer.deferred, app_name, &stage_names, &mut diags);
        stages::run(&d.delivery.deferred, app_name, &stage_names, &mut diags);
    }

    let sources: Vec<Option<BTreeMap<String, Source>>> = drafts
        .iter()
        .map(|d| sources_per_stage(d, app_name, &stage_names, &mut diags))
        .collect();
    for stage in &stage_names {
        let notifications: Vec<s3::Notification<'_>> = drafts
            .iter()
            .zip(&sources)
            .filter_map(
                |(d, sources)| match (sources.as_ref()?.get(*stage)?, &d.binding.source) {
                    (
                        Source::Bucket {
                            bucket,
                            events,
                            prefix,
                            suffix,
                        },
                        Some(src),
                    ) => Some(s3::Notification {
                        handler: &d.binding.handler.node,
                        bucket,
                        events,
                        prefix: prefix.as_deref(),
                        suffix: suffix.as_deref(),
                        span: src.span,
                        stage: sources::text(d.binding, &d.entries)
                            .filter(|(text, _)| stages::depends_on_stage(text))
                            .map(|_| *stage),
                    }),
                    _ => None,
                },
            )
            .collect();
        s3::check_overlaps(&notifications, &mut diags);
    }

    if !diags.is_empty() {
        return Err(sorted_once(diags));
    }
    let handlers = drafts
        .into_iter()
        .zip(sources)
        .filter_map(|(d, sources)| {
            Some(Handler {
                name: d.binding.handler.node.clone(),
                line: d.line,
                declaration: d.declaration,
                kind: d.binding.kind.node,
                sources: sources?,
                settings: d.layer.patch,
                delivery: d.delivery.delivery,
            })
        })
        .collect();
    let model = Model {
        app: app.map(|a| a.node.clone()).unwrap_or_default(),
        defaults: Settings::default().apply(&defaults.patch),
        stages: stages
            .into_iter()
            .map(|(n, l, _)| (n.node.clone(), l.patch))
            .collect::<BTreeMap<_, _>>(),
        handlers,
    };
    Ok((model, sorted_once(warnings)))
}

/// The diagnostics sorted by position, each once (a check run for several stages may find the same
/// problem in each).
fn sorted_once(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.span.start, d.span.end));
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags {
        let seen = out
            .iter()
            .rev()
            .take_while(|o| o.span == d.span)
            .any(|o| *o == d);
        if !seen {
            out.push(d);
        }
    }
    out
}

/// A binding's source in each of `stages`: its name (URL, ARN, bus) is checked once per distinct
/// resolution, its options once. `None` when anything is wrong (all of it reported).
fn sources_per_stage(
    d: &Draft<'_>,
    app: &str,
    stage_names: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Option<BTreeMap<String, Source>> {
    let every_stage = |source: Source| {
        stage_names
            .iter()
            .map(|s| (s.to_string(), source.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let Some((text, span)) = sources::text(d.binding, &d.entries).filter(|_| d.vars_ok) else {
        return sources::read(d.binding, &d.entries, None, diags).map(every_stage);
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for r in stages::resolutions(text, span, app, stage_names) {
        match (
            sources::read(d.binding, &d.entries, Some(&r), diags),
            r.stage,
        ) {
            (Some(source), Some(stage)) => {
                out.insert(stage.to_string(), source);
            }
            (Some(source), None) => out.extend(every_stage(source)),
            (None, _) => ok = false,
        }
    }
    ok.then_some(out)
}

/// A binding checked on its own, before the checks across bindings and stages.
struct Draft<'a> {
    binding: &'a Binding,
    /// Its block's usable entries.
    entries: Entries<'a>,
    name_ok: bool,
    /// The variables of its source (or bus) are fine: it can be resolved for each stage.
    vars_ok: bool,
    layer: Layer,
    /// Its filters, retries and destination, with the destination's name to check per stage.
    delivery: delivery::Read,
    line: usize,
    declaration: String,
}

fn draft<'a>(
    b: &'a Binding,
    source: &str,
    diags: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Draft<'a> {
    let name_error = names::handler(&b.handler);
    let name_ok = name_error.is_none();
    diags.extend(name_error);
    let entries = keys::check(b.block.as_ref(), Scope::Binding(b.kind.node), diags);
    let layer = settings::read(&entries, b.handler.span, diags);
    let delivery = delivery::read(b.kind.node, &entries, diags, warnings);
    let vars_ok = sources::check_variables(b, &entries, diags);
    sources::check_unresolved(&entries, diags);
    Draft {
        binding: b,
        entries,
        name_ok,
        vars_ok,
        layer,
        delivery,
        line: line_col(source, b.span.start).0,
        declaration: first_line(source, b),
    }
}

/// The binding's text up to the end of its first line, without a trailing comment, trimmed.
fn first_line(source: &str, b: &Binding) -> String {
    // The binding's span may run over the white space and comments after it: stop at its last part.
    let end = [
        Some(b.handler.span),
        b.source.as_ref().map(|s| s.span),
        b.block.as_ref().map(|k| k.span),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.end)
    .max()
    .unwrap_or(b.span.end);
    let start = b.span.start.min(source.len());
    let end = end.clamp(start, source.len());
    let line = source
        .get(start..end)
        .and_then(|text| text.lines().next())
        .unwrap_or_default();
    strip_comment(line).trim().to_string()
}

/// `line` up to a `#` that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

fn duplicate(what: &str, span: Span, first: Span, help: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorKind::DuplicateDeclaration,
        span,
        format!("{what} is declared twice"),
    )
    .label("declared again here")
    .related(first, "first declared here")
    .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Block, Entry, Kind, ScheduleFn, Source as AstSource, Value};

    fn sp<T>(node: T, start: usize, end: usize) -> Spanned<T> {
        Spanned::new(node, Span::new(start, end))
    }

    /// `app orders\nqueue on_order "my-queue" { batch_size = 5 }\nschedule every_hour rate(1 hour)`
    fn file() -> (File, &'static str) {
        let src = "app orders\nqueue on_order \"my-queue\" { batch_size = 5 }\nschedule every_hour rate(1 hour)\n";
        let q = 11;
        let s = src.find("schedule").unwrap();
        let items = vec![
            Item::App {
                name: sp("orders".into(), 4, 10),
                span: Span::new(0, 10),
            },
            Item::Binding(Binding {
                kind: sp(Kind::Queue, q, q + 5),
                handler: sp("on_order".into(), q + 6, q + 14),
                source: Some(sp(AstSource::Str("my-queue".into()), q + 15, q + 25)),
                block: Some(Block {
                    entries: vec![Entry {
                        key: sp("batch_size".into(), q + 28, q + 38),
                        value: sp(Value::Int(5), q + 41, q + 42),
                        span: Span::new(q + 28, q + 42),
                    }],
                    span: Span::new(q + 26, q + 44),
                }),
                span: Span::new(q, q + 44),
            }),
            Item::Binding(Binding {
                kind: sp(Kind::Schedule, s, s + 8),
                handler: sp("every_hour".into(), s + 9, s + 19),
                source: Some(sp(
                    AstSource::Schedule {
                        function: ScheduleFn::Rate,
                        body: "1 hour".into(),
                        body_span: Span::new(s + 25, s + 31),
                    },
                    s + 20,
                    s + 32,
                )),
                block: None,
                span: Span::new(s, s + 32),
            }),
        ];
        (File { items }, src)
    }

    #[test]
    fn builds_the_model() {
        let (f, src) = file();
        let model = validate(&f, src).unwrap();
        assert_eq!(model.app, "orders");
        assert_eq!(model.handlers.len(), 2);
        let q = &model.handlers[0];
        assert_eq!(
            (q.line, q.declaration.as_str()),
            (2, "queue on_order \"my-queue\" { batch_size = 5 }")
        );
        assert!(matches!(
            q.source(DEFAULT_STAGE),
            Some(Source::Queue {
                batch_size: 5,
                fifo: false,
                ..
            })
        ));
        assert_eq!(q.sources.len(), 1, "dev only");
        assert_eq!(model.handlers[1].line, 3);
        assert_eq!(model.defaults, Settings::default());
    }

    #[test]
    fn reports_everything_at_once() {
        let (mut f, src) = file();
        f.items.remove(0);
        let Item::Binding(b) = &mut f.items[0] else {
            panic!()
        };
        b.handler.node = "every_hour".into();
        let Some(block) = &mut b.block else { panic!() };
        block.entries[0].value.node = Value::Int(0);
        let d = validate(&f, src).unwrap_err();
        let kinds: Vec<_> = d.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::MissingApp,
                ErrorKind::OutOfRange,
                ErrorKind::DuplicateHandler
            ]
        );
    }

    #[test]
    fn the_same_problem_found_for_several_stages_is_reported_once() {
        let d = |at: usize, message: &str| {
            Diagnostic::new(ErrorKind::InvalidQueue, Span::new(at, at + 1), message)
        };
        let out = sorted_once(vec![d(5, "a"), d(1, "x"), d(5, "b"), d(5, "a"), d(1, "x")]);
        let got: Vec<(usize, &str)> = out
            .iter()
            .map(|d| (d.span.start, d.message.as_str()))
            .collect();
        assert_eq!(got, [(1, "x"), (5, "a"), (5, "b")]);
    }

    #[test]
    fn sources_resolve_for_every_stage_even_when_the_app_comes_last() {
        let src = "queue q \"${app}-${stage}\"\nstage prod\napp orders\n";
        let (file, errors) = crate::parse::parse(src);
        assert!(errors.is_empty(), "{errors:?}");
        let model = validate(&file, src).unwrap();
        let names: Vec<(&str, &str)> = model.handlers[0]
            .sources
            .iter()
            .map(|(stage, s)| match s {
                Source::Queue { queue, .. } => (stage.as_str(), queue.name()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, [("dev", "orders-dev"), ("prod", "orders-prod")]);
    }

    #[test]
    fn never_panics_on_odd_spans() {
        let (mut f, _) = file();
        if let Item::Binding(b) = &mut f.items[1] {
            b.span = Span::new(500, 400);
        }
        assert!(validate(&f, "").is_ok());
        assert_eq!(
            strip_comment(r##"topic t "a#b\"#" # c"##),
            r##"topic t "a#b\"#" "##
        );
        assert_eq!(strip_comment("queue q { # c"), "queue q { ");
    }
}
