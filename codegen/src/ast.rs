//! The parse tree of `events.chalice`: what the user wrote, every piece with its span.
//!
//! Nothing here is checked beyond the grammar; `validate` turns it into the `model`.

use crate::diag::Span;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// A whole file: its top-level items in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

/// One top-level declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `app NAME`
    App { name: Spanned<String>, span: Span },
    /// `defaults { ... }`
    Defaults { block: Block, span: Span },
    /// `stage NAME [{ ... }]`
    Stage {
        name: Spanned<String>,
        block: Option<Block>,
        span: Span,
    },
    /// `KIND HANDLER [SOURCE] [{ ... }]`
    Binding(Binding),
}

/// The seven kinds of event source (serialised as their keyword).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Schedule,
    Rule,
    Bucket,
    Topic,
    Queue,
    Stream,
    Table,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Schedule,
        Kind::Rule,
        Kind::Bucket,
        Kind::Topic,
        Kind::Queue,
        Kind::Stream,
        Kind::Table,
    ];

    /// The keyword, e.g. `queue`.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Schedule => "schedule",
            Kind::Rule => "rule",
            Kind::Bucket => "bucket",
            Kind::Topic => "topic",
            Kind::Queue => "queue",
            Kind::Stream => "stream",
            Kind::Table => "table",
        }
    }

    pub fn from_keyword(word: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.keyword() == word)
    }
}

/// `KIND HANDLER [SOURCE] [{ ... }]`
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub kind: Spanned<Kind>,
    pub handler: Spanned<String>,
    pub source: Option<Spanned<Source>>,
    pub block: Option<Block>,
    /// The whole binding, keyword to closing brace.
    pub span: Span,
}

/// What follows the handler name.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A quoted name, ARN or URL.
    Str(String),
    /// `rate(...)` or `cron(...)`; `body` is the text between the parentheses.
    Schedule {
        function: ScheduleFn,
        body: String,
        body_span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleFn {
    Rate,
    Cron,
}

/// `{ key = value, key { ... } }`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub entries: Vec<Entry>,
    pub span: Span,
}

/// `key = value` or `key { ... }` (the latter stored as `Value::Block`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Spanned<String>,
    pub value: Spanned<Value>,
    pub span: Span,
}

/// A value on the right of `=` (or a nested block).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    /// A whole number, e.g. `256` or `-1`.
    Int(i64),
    /// A number with a fraction or exponent (only meaningful inside JSON).
    Float(f64),
    /// `60s`, `5m`, `1h`, `7d`, `500ms`.
    Duration {
        amount: i64,
        unit: DurationUnit,
    },
    Bool(bool),
    /// A bare word, e.g. `trim_horizon`.
    Ident(String),
    /// `name(arg)`, e.g. `at_timestamp("2026-01-01T00:00:00Z")`.
    Call {
        name: String,
        arg: Box<Spanned<Value>>,
    },
    /// `[a, b, c]`
    List(Vec<Spanned<Value>>),
    /// `= { "json": ... }`: a JSON object, every member with its span.
    Json(Json),
    /// `key { ... }`
    Block(Block),
}

impl Value {
    /// How the value is described in "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "a number",
            Value::Float(_) => "a decimal number",
            Value::Duration { .. } => "a duration",
            Value::Bool(_) => "a boolean",
            Value::Ident(_) => "a bare word",
            Value::Call { .. } => "a call",
            Value::List(_) => "a list",
            Value::Json(_) => "a JSON object",
            Value::Block(_) => "a block",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Millis => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }

    /// Milliseconds in one unit.
    pub fn millis(self) -> i64 {
        match self {
            DurationUnit::Millis => 1,
            DurationUnit::Seconds => 1_000,
            DurationUnit::Minutes => 60_000,
            DurationUnit::Hours => 3_600_000,
            DurationUnit::Days => 86_400_000,
        }
    }
}

/// A JSON value with spans on every member, so pattern errors point at the exact place.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number as written (kept exact; `serde_json::Number` parses it).
    Number(serde_json::Number),
    Str(String),
    Array(Vec<Spanned<Json>>),
    /// Members in the order written; duplicate keys are kept for the validator to report.
    Object(Vec<(Spanned<String>, Spanned<Json>)>),
}

impl Json {
    /// The plain `serde_json` value (a later duplicate key wins).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value as V;
        match self {
            Json::Null => V::Null,
            Json::Bool(b) => V::Bool(*b),
            Json::Number(n) => V::Number(n.clone()),
            Json::Str(s) => V::String(s.clone()),
            Json::Array(items) => V::Array(items.iter().map(|i| i.node.to_value()).collect()),
            Json::Object(members) => V::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.node.clone(), v.node.to_value()))
                    .collect(),
            ),
        }
    }

    /// How the value is described in "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::Str(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}
