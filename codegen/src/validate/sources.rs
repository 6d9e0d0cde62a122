//! Each kind's source and options, resolved to a `model::Source` with defaults applied.
//!
//! A binding's source name, URL or ARN (a rule's `bus`) may hold variables: it is read once per stage
//! that resolves it differently (see [`super::stages`]), and its errors then name the stage.

use crate::ast::{Binding, Entry, Json, Kind, ScheduleFn, Source as AstSource, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span};
use crate::model::{NameOrArn, Source, StartingPosition};

use super::keys::Entries;
use super::stages::Resolved;
use super::vars::{self, Allow};
use super::{names, pattern, s3, schedule, values};

/// EventBridge rule descriptions are at most this long.
const MAX_DESCRIPTION: usize = 512;

/// The string of a binding that may hold variables: its quoted source, or a rule's `bus`.
pub(crate) fn text<'a>(b: &'a Binding, e: &Entries<'a>) -> Option<(&'a str, Span)> {
    match b.kind.node {
        Kind::Schedule => None,
        Kind::Rule => match &e.get("bus")?.value {
            Spanned {
                node: Value::Str(s),
                span,
            } => Some((s.as_str(), *span)),
            _ => None,
        },
        _ => match &b.source {
            Some(Spanned {
                node: AstSource::Str(s),
                span,
            }) => Some((s.as_str(), *span)),
            _ => None,
        },
    }
}

/// Checks the variables of the binding's [`text`]: `${app}` and `${stage}` anywhere, the deploy-time
/// ones in an ARN only. `true` when there is nothing to report.
pub(crate) fn check_variables(b: &Binding, e: &Entries<'_>, diags: &mut Vec<Diagnostic>) -> bool {
    let Some((s, span)) = text(b, e) else {
        return true;
    };
    let noun = match b.kind.node {
        Kind::Rule => "an event bus",
        Kind::Bucket => "a bucket",
        Kind::Topic => "a topic",
        Kind::Queue => "a queue",
        Kind::Stream => "a stream",
        Kind::Table => "a table",
        Kind::Schedule => "a schedule",
    };
    let (allow, what) = if b.kind.node == Kind::Rule {
        // The plan passes a bus to EventBridge as written: no deploy-time placeholder in it.
        (Allow::Stage, "a rule's `bus`".to_string())
    } else if s.starts_with("arn:") {
        (Allow::Arn, format!("{noun} ARN"))
    } else if s.starts_with("https://") || s.starts_with("http://") {
        (Allow::Stage, format!("{noun} URL"))
    } else {
        (Allow::Stage, format!("{noun} name"))
    };
    let before = diags.len();
    let ok = vars::check(s, span, allow, &what, diags);
    if b.kind.node == Kind::Rule {
        for d in &mut diags[before..] {
            if d.kind == ErrorKind::MisplacedVariable && !d.message.starts_with("IAM") {
                d.help = Some(
                    "a bus named by its name is the deploy account's and region's; give another account's bus by its full ARN, written out".to_string(),
                );
            }
        }
    }
    ok
}

/// The strings of a binding that no stage resolves (descriptions, S3 filters, event patterns): a
/// variable in one is reported rather than deployed as written.
pub(crate) fn check_unresolved(e: &Entries<'_>, diags: &mut Vec<Diagnostic>) {
    for key in ["description", "prefix", "suffix"] {
        if let Some(Entry {
            value:
                Spanned {
                    node: Value::Str(s),
                    span,
                },
            ..
        }) = e.get(key)
        {
            vars::check_unresolved(s, *span, &format!("`{key}`"), diags);
        }
    }
    if let Some(Entry {
        value: Spanned {
            node: Value::Json(json),
            ..
        },
        ..
    }) = e.get("pattern")
    {
        json_strings(json, diags);
    }
}

/// Every string value of an event pattern through [`vars::check_unresolved`].
fn json_strings(json: &Json, diags: &mut Vec<Diagnostic>) {
    match json {
        Json::Str(_) | Json::Null | Json::Bool(_) | Json::Number(_) => {}
        Json::Array(items) => {
            for item in items {
                match &item.node {
                    Json::Str(s) => {
                        vars::check_unresolved(s, item.span, "an event pattern", diags);
                    }
                    other => json_strings(other, diags),
                }
            }
        }
        Json::Object(members) => {
            for (_, v) in members {
                match &v.node {
                    Json::Str(s) => {
                        vars::check_unresolved(s, v.span, "an event pattern", diags);
                    }
                    other => json_strings(other, diags),
                }
            }
        }
    }
}

/// Checks a binding's source and kind options; `None` when anything is wrong (all of it reported).
///
/// `resolved` is the binding's [`text`] as one stage resolves it; `None` when it has none, or when its
/// variables are wrong (reported already: its name is then not checked).
pub(crate) fn read(
    b: &Binding,
    e: &Entries<'_>,
    resolved: Option<&Resolved<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Source> {
    let before = diags.len();
    let source = match b.kind.node {
        Kind::Schedule => schedule_source(b, e, diags),
        Kind::Rule => rule(b, e, resolved, diags),
        Kind::Bucket => bucket(b, e, resolved, diags),
        Kind::Topic => {
            let r = quoted_source(
                b,
                resolved,
                "topic name or ARN",
                "topic on_notice \"my-topic\"",
                diags,
            )?;
            checked(names::topic(&r.text, r.span), r, diags).map(|topic| Source::Topic { topic })
        }
        Kind::Queue => queue(b, e, resolved, diags),
        Kind::Stream | Kind::Table => stream_or_table(b, e, resolved, diags),
    };
    if diags.len() > before {
        return None;
    }
    source
}

/// A name check's result, its diagnostic as the file shows it (naming the stage when it depends on one).
fn checked<T>(
    result: Result<T, Diagnostic>,
    r: &Resolved<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    result.map_err(|d| diags.push(r.adjust(d))).ok()
}

/// The binding's quoted source as resolved, or a `MissingSource`/`WrongType` diagnostic. `None` without a
/// diagnostic when the source is a string whose variables were wrong (`resolved` is then `None`).
fn quoted_source<'r, 's>(
    b: &Binding,
    resolved: Option<&'r Resolved<'s>>,
    what: &str,
    example: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'r Resolved<'s>> {
    match &b.source {
        None => {
            diags.push(missing_source(b, &format!("a quoted {what}"), example));
            None
        }
        Some(Spanned {
            node: AstSource::Str(_),
            ..
        }) => resolved,
        Some(Spanned {
            node: AstSource::Schedule { .. },
            span,
        }) => {
            diags.push(
                Diagnostic::new(
                    ErrorKind::WrongType,
                    *span,
                    format!("expected a quoted {what}, found a schedule expression"),
                )
                .label(format!("expected a quoted {what}"))
                .help(format!(
                    "rate(...) and cron(...) belong to `schedule` bindings; write `{example}`"
                )),
            );
            None
        }
    }
}

fn missing_source(b: &Binding, what: &str, example: &str) -> Diagnostic {
    let kind = b.kind.node.keyword();
    Diagnostic::new(
        ErrorKind::MissingSource,
        b.handler.span,
        format!(
            "`{kind} {}` needs {what} after the handler name",
            b.handler.node
        ),
    )
    .label(format!("{what} goes after this"))
    .help(format!("write e.g. `{example}`"))
}

fn description(e: &Entries<'_>, diags: &mut Vec<Diagnostic>) -> Option<String> {
    e.get("description")
        .and_then(|d| values::bounded_string(&d.value, "description", MAX_DESCRIPTION, diags))
}

fn schedule_source(b: &Binding, e: &Entries<'_>, diags: &mut Vec<Diagnostic>) -> Option<Source> {
    let description = description(e, diags);
    let expression = match &b.source {
        None => {
            diags.push(missing_source(
                b,
                "`rate(...)` or `cron(...)`",
                "schedule every_hour rate(1 hour)",
            ));
            return None;
        }
        Some(Spanned {
            node: AstSource::Str(s),
            span,
        }) => {
            let trimmed = s.trim();
            let help = if trimmed.starts_with("rate(") || trimmed.starts_with("cron(") {
                format!("drop the quotes: `{trimmed}`")
            } else {
                "write `rate(5 minutes)` or `cron(0 2 * * ? *)` without quotes".to_string()
            };
            diags.push(
                Diagnostic::new(
                    ErrorKind::WrongType,
                    *span,
                    "expected `rate(...)` or `cron(...)`, found a string",
                )
                .label("a quoted string")
                .help(help),
            );
            return None;
        }
        Some(Spanned {
            node:
                AstSource::Schedule {
                    function,
                    body,
                    body_span,
                },
            ..
        }) => match function {
            ScheduleFn::Rate => schedule::rate(body, *body_span)
                .map_err(|d| diags.push(d))
                .ok()?,
            ScheduleFn::Cron => schedule::cron(body, *body_span)
                .map_err(|d| diags.extend(d))
                .ok()?,
        },
    };
    Some(Source::Schedule {
        expression,
        description,
    })
}

fn rule(
    b: &Binding,
    e: &Entries<'_>,
    resolved: Option<&Resolved<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Source> {
    if let Some(src) = &b.source {
        diags.push(
            Diagnostic::new(ErrorKind::UnexpectedSource, src.span, "a `rule` binding takes no source")
                .label("unexpected source")
                .help(format!(
                    "put the event pattern in the block: `rule {} {{ pattern = {{ \"source\": [\"aws.s3\"] }} }}`",
                    b.handler.node
                )),
        );
    }
    let description = description(e, diags);
    let bus = e.get("bus").and_then(|entry| {
        values::string(&entry.value, diags)?;
        let r = resolved?;
        checked(names::event_bus(&r.text, r.span), r, diags)?;
        (r.text != "default").then(|| r.text.clone())
    });
    let pattern = match e.get("pattern") {
        Some(entry) => pattern::check(&entry.value, diags),
        None => {
            diags.push(
                Diagnostic::new(
                    ErrorKind::MissingKey,
                    b.handler.span,
                    format!("rule `{}` has no `pattern`", b.handler.node),
                )
                .label("needs an event pattern")
                .help(format!(
                    "add `{{ pattern = {{ \"source\": [\"aws.s3\"] }} }}` after `rule {}`",
                    b.handler.node
                )),
            );
            None
        }
    };
    Some(Source::Rule {
        pattern: pattern?,
        bus,
        description,
    })
}

fn filter(e: &Entries<'_>, key: &str, diags: &mut Vec<Diagnostic>) -> Option<Option<String>> {
    let Some(entry) = e.get(key) else {
        return Some(None);
    };
    let s = values::string(&entry.value, diags)?;
    let problem = if s.is_empty() {
        Some("is empty; leave it out to match every key".to_string())
    } else if s.len() > 1024 {
        Some(format!("is {} bytes; S3 allows 1024", s.len()))
    } else {
        None
    };
    if let Some(problem) = problem {
        diags.push(
            Diagnostic::new(
                ErrorKind::InvalidValue,
                entry.value.span,
                format!("`{key}` {problem}"),
            )
            .label(format!("invalid {key}"))
            .help(format!(
                "give a non-empty {key} of at most 1024 bytes, or none"
            )),
        );
        return None;
    }
    Some(Some(s.to_string()))
}

fn bucket(
    b: &Binding,
    e: &Entries<'_>,
    resolved: Option<&Resolved<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Source> {
    let events = match e.get("events") {
        Some(entry) => s3::events(&entry.value, diags),
        None => Some(vec![s3::DEFAULT_EVENT.to_string()]),
    };
    let prefix = filter(e, "prefix", diags);
    let suffix = filter(e, "suffix", diags);
    let r = quoted_source(
        b,
        resolved,
        "bucket name",
        "bucket on_upload \"my-bucket\"",
        diags,
    )?;
    checked(names::bucket(&r.text, r.span), r, diags)?;
    Some(Source::Bucket {
        bucket: r.text.clone(),
        events: events?,
        prefix: prefix?,
        suffix: suffix?,
    })
}

fn queue(
    b: &Binding,
    e: &Entries<'_>,
    resolved: Option<&Resolved<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Source> {
    let queue = quoted_source(
        b,
        resolved,
        "queue name, URL or ARN",
        "queue on_order \"my-queue\"",
        diags,
    )
    .and_then(|r| checked(names::queue(&r.text, r.span), r, diags));
    let fifo = queue.as_ref().is_some_and(|q| q.name().ends_with(".fifo"));
    let fifo_error = |span: Span, message: String, help: &str| {
        Diagnostic::new(ErrorKind::FifoConstraint, span, message)
            .label("not for FIFO queues")
            .help(help)
    };

    let batch = e.get("batch_size");
    let batch_size = match batch {
        Some(entry) => {
            values::int(&entry.value, "batch_size", 1, 10_000, "", diags).and_then(|n| {
                if fifo && n > 10 {
                    diags.push(fifo_error(
                        entry.value.span,
                        format!("`batch_size` of a FIFO queue is at most 10, found {n}"),
                        "use a batch size from 1 to 10",
                    ));
                    return None;
                }
                u32::try_from(n).ok()
            })
        }
        None => Some(10),
    };
    let window = e.get("batching_window");
    let batching_window_s = match window {
        Some(entry) if fifo => {
            diags.push(fifo_error(
                entry.key.span,
                "FIFO queues take no `batching_window`".to_string(),
                "remove `batching_window`",
            ));
            None
        }
        Some(entry) => values::seconds(&entry.value, "batching_window", 0, 300, diags).map(Some),
        None => Some(None),
    };
    let short_window = batching_window_s.is_some_and(|w| w.unwrap_or(0) == 0);
    if let Some(n) = batch_size.filter(|n| *n > 10 && !fifo && short_window) {
        let (span, kind) = match window {
            Some(w) => (w.value.span, ErrorKind::OutOfRange),
            None => (
                batch.map_or(b.handler.span, |entry| entry.value.span),
                ErrorKind::MissingKey,
            ),
        };
        diags.push(
            Diagnostic::new(
                kind,
                span,
                format!("a `batch_size` over 10 ({n}) needs a `batching_window` of at least 1s"),
            )
            .label("needs a batching window")
            .help("add `batching_window = 1s` (up to 300s), or use a batch size of at most 10"),
        );
    }
    let maximum_concurrency = match e.get("maximum_concurrency") {
        Some(entry) => values::int(&entry.value, "maximum_concurrency", 2, 1000, "", diags)
            .and_then(|n| u32::try_from(n).ok())
            .map(Some),
        None => Some(None),
    };
    Some(Source::Queue {
        queue: queue?,
        fifo,
        batch_size: batch_size?,
        batching_window_s: batching_window_s?,
        maximum_concurrency: maximum_concurrency?,
    })
}

fn stream_or_table(
    b: &Binding,
    e: &Entries<'_>,
    resolved: Option<&Resolved<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Source> {
    let is_table = b.kind.node == Kind::Table;
    let target: Option<NameOrArn> = if is_table {
        quoted_source(
            b,
            resolved,
            "table name or stream ARN",
            "table on_audit \"orders\"",
            diags,
        )
        .and_then(|r| checked(names::table(&r.text, r.span), r, diags))
    } else {
        quoted_source(
            b,
            resolved,
            "stream name or ARN",
            "stream on_click \"mystream\"",
            diags,
        )
        .and_then(|r| checked(names::stream(&r.text, r.span), r, diags))
    };
    let batch_size = match e.get("batch_size") {
        Some(entry) => values::int(&entry.value, "batch_size", 1, 10_000, "", diags)
            .and_then(|n| u32::try_from(n).ok()),
        None => Some(100),
    };
    let starting_position = match e.get("starting_position") {
        Some(entry) => starting_position(&entry.value, is_table, diags),
        None => Some(StartingPosition::Latest),
    };
    let batching_window_s = match e.get("batching_window") {
        Some(entry) => values::seconds(&entry.value, "batching_window", 0, 300, diags).map(Some),
        None => Some(None),
    };
    let (batch_size, starting_position, batching_window_s) =
        (batch_size?, starting_position?, batching_window_s?);
    Some(if is_table {
        Source::Table {
            table: target?,
            batch_size,
            starting_position,
            batching_window_s,
        }
    } else {
        Source::Stream {
            stream: target?,
            batch_size,
            starting_position,
            batching_window_s,
        }
    })
}

fn starting_position(
    v: &Spanned<Value>,
    is_table: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<StartingPosition> {
    let allowed = if is_table {
        "`trim_horizon` or `latest`"
    } else {
        "`trim_horizon`, `latest` or `at_timestamp(\"2026-01-01T00:00:00Z\")`"
    };
    let invalid = |message: String| {
        Diagnostic::new(ErrorKind::InvalidValue, v.span, message).label("unknown starting position")
    };
    match &v.node {
        Value::Ident(w) if w == "trim_horizon" => Some(StartingPosition::TrimHorizon),
        Value::Ident(w) if w == "latest" => Some(StartingPosition::Latest),
        Value::Ident(w) => {
            let d = invalid(format!(
                "unknown starting position `{w}`; expected {allowed}"
            ));
            let lower = w.to_ascii_lowercase();
            let hint = match lower.as_str() {
                "trim_horizon" | "latest" => Some(lower.clone()),
                "earliest" | "oldest" | "beginning" => Some("trim_horizon".to_string()),
                "newest" | "now" => Some("latest".to_string()),
                _ => crate::diag::did_you_mean(w, ["trim_horizon", "latest", "at_timestamp"])
                    .map(str::to_string),
            };
            diags.push(match hint {
                Some(h) => d.help(format!("did you mean `{h}`?")),
                None => d.help(format!("use {allowed}")),
            });
            None
        }
        Value::Call { name, arg } if name == "at_timestamp" => {
            if is_table {
                diags.push(
                    Diagnostic::new(
                        ErrorKind::InvalidStartingPosition,
                        v.span,
                        "DynamoDB streams cannot start at a timestamp",
                    )
                    .label("not supported for tables")
                    .help("use `trim_horizon` or `latest`"),
                );
                return None;
            }
            let Value::Str(ts) = &arg.node else {
                diags.push(
                    values::wrong_type(arg, "a string")
                        .help("write `at_timestamp(\"2026-01-01T00:00:00Z\")`"),
                );
                return None;
            };
            if !is_rfc3339(ts) {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue, arg.span, format!("`{ts}` is not an RFC 3339 timestamp"))
                        .label("expected YYYY-MM-DDTHH:MM:SSZ")
                        .help("write e.g. `at_timestamp(\"2026-01-01T00:00:00Z\")` (an offset like `+02:00` works too)"),
                );
                return None;
            }
            Some(StartingPosition::AtTimestamp(ts.clone()))
        }
        Value::Call { name, .. } => {
            diags.push(
                invalid(format!(
                    "unknown starting position `{name}(...)`; expected {allowed}"
                ))
                .help(format!("use {allowed}")),
            );
            None
        }
        _ => {
            diags.push(values::wrong_type(v, allowed));
            None
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` with plausible field values.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":"))
        || day == 0
        || day > days
        || hour > 23
        || min > 59
        || sec > 60
    {
        return false;
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        i += digits;
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && sep(i + 3, b":")
                && num(i + 1..i + 3).is_some_and(|h| h <= 23)
                && num(i + 4..i + 6).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Item;
    use crate::validate::keys::{self, Scope};

    /// The variable and unresolved-variable diagnostics of the one binding in `src`, and its text.
    fn variables(src: &str) -> (Vec<(ErrorKind, String)>, Option<String>) {
        let (file, parse_errors) = crate::parse::parse(src);
        assert!(parse_errors.is_empty(), "{parse_errors:?}");
        let Item::Binding(b) = &file.items[0] else {
            panic!()
        };
        let mut d = Vec::new();
        let e = keys::check(b.block.as_ref(), Scope::Binding(b.kind.node), &mut d);
        let before = d.len();
        let ok = check_variables(b, &e, &mut d);
        assert_eq!(
            ok,
            d.len() == before,
            "false exactly when something is reported"
        );
        check_unresolved(&e, &mut d);
        let got = d
            .iter()
            .map(|d| (d.kind, src[d.span.start..d.span.end].to_string()))
            .collect();
        (got, text(b, &e).map(|(t, _)| t.to_string()))
    }

    #[test]
    fn which_string_may_hold_variables() {
        use ErrorKind::*;
        let (d, text) =
            variables("queue q \"arn:${partition}:sqs:${region}:${account}:q-${stage}\"");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            text.as_deref(),
            Some("arn:${partition}:sqs:${region}:${account}:q-${stage}")
        );
        let (d, _) = variables("topic t \"t-${region}\"");
        assert_eq!(d, [(MisplacedVariable, "${region}".to_string())]);
        let (d, text) =
            variables("rule r { bus = \"${app}-${region}\", pattern = { \"a\": [\"x\"] } }");
        assert_eq!(d, [(MisplacedVariable, "${region}".to_string())]);
        assert_eq!(text.as_deref(), Some("${app}-${region}"));
        let (_, text) = variables("schedule s rate(1 hour) { description = \"d\" }");
        assert_eq!(text, None);
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2026-01-01T00:00:00Z",
            "2024-02-29T23:59:60.123Z",
            "2026-06-30t12:00:00+02:00",
            "2026-01-01 00:00:00-05:30",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+2:00",
            "2026-01-01T00:00:00Zjunk",
            "２０２６-01-01T00:00:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }
}
