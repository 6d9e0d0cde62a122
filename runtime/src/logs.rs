//! The bootstrap's log subscriber: one line per `tracing` event on stdout (CloudWatch), in the
//! format lambda_runtime's default subscriber (tracing-subscriber's `fmt`) writes, without its
//! weight: tracing-subscriber with `env-filter` and `json` (and regex) was 345 KB of the 1.76 MB
//! zipped bootstrap (docs/performance.md).
//!
//! - Text (the default): `<LEVEL> <span>{<fields>}:... <message> <field>=<value> ...`, e.g.
//!   ` INFO Lambda runtime invoke{requestId="8f50..."}: order accepted order=o-1`.
//! - JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`): `{"level":"INFO","fields":{"message":..,..},
//!   "span":{..,"name":..},"spans":[..]}`: `span` is the innermost span (with the invocation's
//!   `requestId`), `spans` all of them from the outermost; both are absent outside a span.
//!
//! The level: `AWS_LAMBDA_LOG_LEVEL` (Lambda's log level; `FATAL` is `error`), else a bare level
//! in `RUST_LOG`, else `info`. `RUST_LOG`'s `target=level` directives set the level of a target
//! (by prefix, the longest wins); directives this filter does not know (span and field filters,
//! `[...]`) are ignored.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Which events are written: a level per target prefix, and one for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `(target, level)`, longest target first.
    targets: Vec<(String, LevelFilter)>,
    default: LevelFilter,
}

impl Filter {
    /// From Lambda's `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG` (either may be absent).
    pub fn new(lambda_level: Option<&str>, rust_log: Option<&str>) -> Filter {
        let mut targets = Vec::new();
        let mut bare = None;
        for directive in rust_log.unwrap_or("").split(',').map(str::trim) {
            if directive.is_empty() || directive.contains('[') {
                continue;
            }
            match directive.split_once('=') {
                Some((target, level)) => {
                    if let Some(level) = parse_level(level) {
                        targets.push((target.trim().to_owned(), level));
                    }
                }
                None => match parse_level(directive) {
                    Some(level) => bare = Some(level),
                    // A target alone: everything it logs.
                    None => targets.push((directive.to_owned(), LevelFilter::TRACE)),
                },
            }
        }
        targets.sort_by_key(|(target, _)| std::cmp::Reverse(target.len()));
        let default = lambda_level
            .and_then(parse_level)
            .or(bare)
            .unwrap_or(LevelFilter::INFO);
        Filter { targets, default }
    }

    /// From the process's environment.
    pub fn from_env() -> Filter {
        let var = |name| std::env::var(name).ok();
        Filter::new(
            var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
            var("RUST_LOG").as_deref(),
        )
    }

    fn level_of(&self, target: &str) -> LevelFilter {
        self.targets
            .iter()
            .find(|(prefix, _)| target.starts_with(prefix.as_str()))
            .map_or(self.default, |(_, level)| *level)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.level_of(metadata.target())
    }

    fn max(&self) -> LevelFilter {
        self.targets
            .iter()
            .map(|(_, level)| *level)
            .fold(self.default, LevelFilter::max)
    }
}

/// `info`, `INFO`, `warn`, `off`, Lambda's `FATAL` (as `error`).
fn parse_level(text: &str) -> Option<LevelFilter> {
    match text.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::TRACE),
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" | "warning" => Some(LevelFilter::WARN),
        "error" | "fatal" => Some(LevelFilter::ERROR),
        "off" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// How a line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// `AWS_LAMBDA_LOG_FORMAT=JSON` (any case) is JSON; anything else text.
    pub fn from_env() -> Format {
        match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(f) if f.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Text,
        }
    }
}

/// A recorded field value, kept as it was recorded so that JSON keeps numbers and booleans.
#[derive(Debug, Clone)]
enum FieldValue {
    /// `record_str`: quoted in text.
    Str(String),
    /// `record_debug` (and `%display`), already formatted: bare in text.
    Formatted(String),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Bool(bool),
}

impl FieldValue {
    fn json(&self) -> Value {
        match self {
            FieldValue::Str(s) | FieldValue::Formatted(s) => Value::String(s.clone()),
            FieldValue::I64(n) => Value::from(*n),
            FieldValue::U64(n) => Value::from(*n),
            FieldValue::I128(n) => {
                i64::try_from(*n).map_or_else(|_| n.to_string().into(), Value::from)
            }
            FieldValue::U128(n) => {
                u64::try_from(*n).map_or_else(|_| n.to_string().into(), Value::from)
            }
            FieldValue::F64(n) => Value::from(*n),
            FieldValue::Bool(b) => Value::Bool(*b),
        }
    }
}

/// A span's or event's fields, in the order recorded.
#[derive(Debug, Clone, Default)]
struct Fields(Vec<(&'static str, FieldValue)>);

impl Fields {
    fn put(&mut self, field: &Field, value: FieldValue) {
        let name = field.name();
        // The `log` crate's metadata, carried as fields by tracing's `log` bridge.
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }

    /// `message key=value key2="text"`, as tracing-subscriber's `fmt` writes them.
    fn text(&self, out: &mut String) {
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let message = *name == "message";
            if !message {
                out.push_str(name);
                out.push('=');
            }
            let _ = match value {
                FieldValue::Str(s) if message => write!(out, "{s}"),
                FieldValue::Str(s) => write!(out, "{s:?}"),
                FieldValue::Formatted(s) => write!(out, "{s}"),
                FieldValue::I64(n) => write!(out, "{n:?}"),
                FieldValue::U64(n) => write!(out, "{n:?}"),
                FieldValue::I128(n) => write!(out, "{n:?}"),
                FieldValue::U128(n) => write!(out, "{n:?}"),
                FieldValue::F64(n) => write!(out, "{n:?}"),
                FieldValue::Bool(b) => write!(out, "{b:?}"),
            };
        }
    }

    fn json(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.json()))
            .collect()
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, FieldValue::Formatted(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, FieldValue::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, FieldValue::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, FieldValue::U128(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, FieldValue::Formatted(value.to_string()));
    }
}

#[derive(Debug)]
struct Span {
    metadata: &'static Metadata<'static>,
    parent: Option<u64>,
    fields: Fields,
    /// Handles to it still alive (`clone_span` / `try_close`).
    refs: usize,
}

thread_local! {
    /// The spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Where lines go: stdout, or (in tests) a buffer.
type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Writes each enabled event as one line (see the module's documentation).
pub struct Logger {
    filter: Filter,
    format: Format,
    spans: Mutex<HashMap<u64, Span>>,
    next_id: AtomicU64,
    sink: Sink,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("filter", &self.filter)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Logger {
    /// A logger writing to stdout.
    pub fn new(filter: Filter, format: Format) -> Logger {
        Logger::with_sink(
            filter,
            format,
            Box::new(|line| {
                let _ = std::io::stdout().lock().write_all(line);
            }),
        )
    }

    fn with_sink(filter: Filter, format: Format, sink: Sink) -> Logger {
        Logger {
            filter,
            format,
            spans: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            sink,
        }
    }

    fn spans(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Span>> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current() -> Option<u64> {
        ENTERED.with(|e| e.borrow().last().copied())
    }

    fn line(&self, event: &Event<'_>) -> String {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let parent = if event.is_contextual() {
            Logger::current()
        } else {
            event.parent().map(Id::into_u64)
        };
        let spans = self.spans();
        // From the outermost span in.
        let mut scope: Vec<&Span> = Vec::new();
        let mut at = parent;
        while let Some(id) = at {
            let Some(span) = spans.get(&id) else { break };
            scope.push(span);
            at = span.parent;
        }
        scope.reverse();
        let level = *event.metadata().level();
        let mut line = String::new();
        match self.format {
            Format::Text => {
                line.push_str(match level {
                    Level::TRACE => "TRACE",
                    Level::DEBUG => "DEBUG",
                    Level::INFO => " INFO",
                    Level::WARN => " WARN",
                    Level::ERROR => "ERROR",
                });
                line.push(' ');
                for span in &scope {
                    line.push_str(span.metadata.name());
                    if !span.fields.0.is_empty() {
                        line.push('{');
                        span.fields.text(&mut line);
                        line.push('}');
                    }
                    line.push(':');
                }
                if !scope.is_empty() {
                    line.push(' ');
                }
                fields.text(&mut line);
            }
            Format::Json => {
                let span_json = |span: &Span| {
                    let mut map = span.fields.json();
                    map.insert("name".into(), Value::String(span.metadata.name().into()));
                    Value::Object(map)
                };
                let mut map = Map::new();
                map.insert("level".into(), Value::String(level.to_string()));
                map.insert("fields".into(), Value::Object(fields.json()));
                if let Some(innermost) = scope.last() {
                    map.insert("span".into(), span_json(innermost));
                    map.insert(
                        "spans".into(),
                        Value::Array(scope.iter().map(|s| span_json(s)).collect()),
                    );
                }
                line = Value::Object(map).to_string();
            }
        }
        line.push('\n');
        line
    }
}

impl Subscriber for Logger {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.filter.enabled(metadata) {
            Interest::always()
        } else {
            // Another dispatcher (a test's) may want it.
            Interest::sometimes()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.filter.max())
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let parent = if attrs.is_contextual() {
            Logger::current()
        } else {
            attrs.parent().map(Id::into_u64)
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut spans = self.spans();
        if let Some(p) = parent.and_then(|p| spans.get_mut(&p)) {
            // A child keeps its parent alive, as tracing-subscriber's registry does.
            p.refs += 1;
        }
        spans.insert(
            id,
            Span {
                metadata: attrs.metadata(),
                parent,
                fields,
                refs: 1,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(span) = self.spans().get_mut(&span.into_u64()) {
            values.record(&mut span.fields);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = self.line(event);
        (self.sink)(line.as_bytes());
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|e| e.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        let id = span.into_u64();
        ENTERED.with(|e| {
            let mut entered = e.borrow_mut();
            if let Some(at) = entered.iter().rposition(|s| *s == id) {
                entered.remove(at);
            }
        });
    }

    fn clone_span(&self, id: &Id) -> Id {
        if let Some(span) = self.spans().get_mut(&id.into_u64()) {
            span.refs += 1;
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let mut spans = self.spans();
        let mut at = Some(id.into_u64());
        let mut closed = false;
        // Closing a span lets go of its parent.
        while let Some(id) = at {
            let Some(span) = spans.get_mut(&id) else {
                break;
            };
            span.refs -= 1;
            if span.refs > 0 {
                break;
            }
            at = span.parent;
            spans.remove(&id);
            closed = true;
        }
        closed
    }

    fn current_span(&self) -> tracing_core::span::Current {
        let spans = self.spans();
        match Logger::current().and_then(|id| Some((id, spans.get(&id)?))) {
            Some((id, span)) => tracing_core::span::Current::new(Id::from_u64(id), span.metadata),
            None => tracing_core::span::Current::none(),
        }
    }
}

/// Installs the logger for the process (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`,
/// `RUST_LOG`); does nothing if a subscriber is already set.
pub fn init() {
    if !tracing::dispatcher::has_been_set() {
        let logger = Logger::new(Filter::from_env(), Format::from_env());
        let _ = tracing::subscriber::set_global_default(logger);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Runs `f` with a logger of `filter` and `format`; the lines it wrote.
    fn logged(filter: Filter, format: Format, f: impl FnOnce()) -> Vec<String> {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&buffer);
        let logger = Logger::with_sink(
            filter,
            format,
            Box::new(move |line| sink.lock().unwrap().extend_from_slice(line)),
        );
        tracing::subscriber::with_default(logger, f);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    fn info() -> Filter {
        Filter::new(Some("INFO"), None)
    }

    /// What the app logs in an invocation, inside lambda_runtime's span.
    fn invocation() {
        let span = tracing::info_span!(
            "Lambda runtime invoke",
            requestId = "r-1",
            xrayTraceId = "Root=1-2"
        );
        let _in = span.enter();
        tracing::info!(order = %"o-1", skus = ?["BOOK-42"], total_cents = 2500, paid = true, handler = "on_order", "order accepted");
        tracing::debug!("not written at info");
    }

    #[test]
    fn text_lines_are_fmts() {
        let lines = logged(info(), Format::Text, || {
            tracing::warn!(error = "boom", "outside any span");
            invocation();
        });
        assert_eq!(
            lines,
            [
                r#" WARN outside any span error="boom""#,
                r#" INFO Lambda runtime invoke{requestId="r-1" xrayTraceId="Root=1-2"}: order accepted order=o-1 skus=["BOOK-42"] total_cents=2500 paid=true handler="on_order""#,
            ]
        );
    }

    #[test]
    fn json_lines_carry_the_invocations_span() {
        let lines = logged(info(), Format::Json, || {
            tracing::error!(code = 7u64, "outside");
            invocation();
        });
        let values: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            values[0],
            serde_json::json!({"level": "ERROR", "fields": {"message": "outside", "code": 7}})
        );
        let span = serde_json::json!({"requestId": "r-1", "xrayTraceId": "Root=1-2", "name": "Lambda runtime invoke"});
        assert_eq!(
            values[1],
            serde_json::json!({
                "level": "INFO",
                "fields": {"message": "order accepted", "order": "o-1", "skus": "[\"BOOK-42\"]",
                           "total_cents": 2500, "paid": true, "handler": "on_order"},
                "span": span,
                "spans": [span],
            })
        );
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn nested_and_closed_spans() {
        let lines = logged(info(), Format::Text, || {
            let outer = tracing::info_span!("outer", n = 1);
            let _o = outer.enter();
            {
                let inner = tracing::info_span!("inner");
                let _i = inner.enter();
                tracing::info!("deep");
            }
            tracing::info!("back out");
            // Fields recorded after the span started.
            let late = tracing::info_span!("late", id = tracing::field::Empty);
            late.record("id", "x");
            late.in_scope(|| tracing::info!("recorded"));
        });
        assert_eq!(
            lines,
            [
                " INFO outer{n=1}:inner: deep",
                " INFO outer{n=1}: back out",
                r#" INFO outer{n=1}:late{id="x"}: recorded"#,
            ]
        );
    }

    #[test]
    fn the_level_comes_from_lambda_then_rust_log() {
        let f = Filter::new(None, None);
        assert_eq!(f.level_of("orders_app"), LevelFilter::INFO);
        let f = Filter::new(Some("FATAL"), Some("debug"));
        assert_eq!(f.level_of("orders_app"), LevelFilter::ERROR);
        let f = Filter::new(Some("nonsense"), Some("debug"));
        assert_eq!(f.level_of("orders_app"), LevelFilter::DEBUG);
        let f = Filter::new(
            Some("warn"),
            Some("lambda_runtime=off,orders_app=trace,orders_app::quiet=error,[span]=trace,hyper"),
        );
        assert_eq!(f.level_of("orders_app::handlers"), LevelFilter::TRACE);
        assert_eq!(f.level_of("orders_app::quiet::x"), LevelFilter::ERROR);
        assert_eq!(f.level_of("lambda_runtime::layers"), LevelFilter::OFF);
        assert_eq!(f.level_of("hyper_util"), LevelFilter::TRACE);
        assert_eq!(f.level_of("tokio"), LevelFilter::WARN);
        assert_eq!(f.max(), LevelFilter::TRACE);
        let lines = logged(
            Filter::new(Some("warn"), Some("logs_target=debug")),
            Format::Text,
            || {
                tracing::info!("dropped");
                tracing::warn!("kept");
                tracing::debug!(target: "logs_target", "kept too");
            },
        );
        assert_eq!(lines, [" WARN kept", "DEBUG kept too"]);
    }
}
