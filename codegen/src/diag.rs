//! Diagnostics for `events.chalice`: typed error kinds with spans, rendered like rustc's.

use std::fmt;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};

/// A byte range in the source file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The sub-span `start..end` relative to this span's start.
    pub fn sub(self, start: usize, end: usize) -> Self {
        Span::new(self.start + start, self.start + end)
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(s: pest::Span<'_>) -> Self {
        Span::new(s.start(), s.end())
    }
}

macro_rules! error_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, $name:literal; )*) => {
        /// What went wrong; each kind has a stable code (`E0xx` for errors, `W0xx` for warnings) and a
        /// kebab-case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in code order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant),*];

            /// The stable code, e.g. `E010`.
            pub fn code(self) -> &'static str {
                match self { $(ErrorKind::$variant => $code,)* }
            }

            /// The kebab-case name, e.g. `unknown-key`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorKind::$variant => $name,)* }
            }
        }
    };
}

error_kinds! {
    /// The text does not follow the grammar.
    Syntax = "E001", "syntax";
    /// A string has an unknown escape or is not closed on its line.
    InvalidString = "E002", "invalid-string";
    /// A number does not fit, or is not a whole number where one is needed.
    InvalidNumber = "E003", "invalid-number";
    /// No `app NAME` line.
    MissingApp = "E010", "missing-app";
    /// A second `app`, `defaults` or `stage` with the same name.
    DuplicateDeclaration = "E011", "duplicate-declaration";
    /// Two bindings name the same handler.
    DuplicateHandler = "E012", "duplicate-handler";
    /// The same key twice in one block.
    DuplicateKey = "E013", "duplicate-key";
    /// A key this block does not take.
    UnknownKey = "E014", "unknown-key";
    /// A value of the wrong type (a string where a number goes, ...).
    WrongType = "E015", "wrong-type";
    /// A key this binding needs is absent.
    MissingKey = "E016", "missing-key";
    /// A binding without the source it needs (bucket name, queue, ...).
    MissingSource = "E017", "missing-source";
    /// A source given to a kind that takes none (`rule`).
    UnexpectedSource = "E018", "unexpected-source";
    /// An app or stage name AWS resource names cannot carry.
    InvalidName = "E020", "invalid-name";
    /// A handler name that is not a Rust identifier or not a Lambda name.
    InvalidHandlerName = "E021", "invalid-handler-name";
    /// `<app>-<stage>-<handler>` (the function's name and its role's) is over AWS's 64 characters.
    NameTooLong = "E022", "name-too-long";
    /// A `rate(...)` expression AWS refuses.
    InvalidRate = "E030", "invalid-rate";
    /// A `cron(...)` expression AWS refuses.
    InvalidCron = "E031", "invalid-cron";
    /// An EventBridge event pattern AWS refuses.
    InvalidPattern = "E032", "invalid-pattern";
    /// An event bus name or ARN AWS refuses.
    InvalidEventBus = "E033", "invalid-event-bus";
    /// An S3 bucket name AWS refuses.
    InvalidBucket = "E040", "invalid-bucket";
    /// An S3 event name that does not exist.
    UnknownS3Event = "E041", "unknown-s3-event";
    /// Two notifications on one bucket whose events and filters overlap (S3 refuses them).
    OverlappingNotification = "E042", "overlapping-notification";
    /// An SNS topic name or ARN AWS refuses.
    InvalidTopic = "E050", "invalid-topic";
    /// An SQS queue name, URL or ARN AWS refuses.
    InvalidQueue = "E051", "invalid-queue";
    /// A Kinesis stream name or ARN AWS refuses.
    InvalidStream = "E052", "invalid-stream";
    /// A DynamoDB table name or stream ARN AWS refuses.
    InvalidTable = "E053", "invalid-table";
    /// A setting that FIFO queues or topics do not allow.
    FifoConstraint = "E054", "fifo-constraint";
    /// A starting position the source does not support.
    InvalidStartingPosition = "E055", "invalid-starting-position";
    /// A number or duration outside the bounds AWS accepts.
    OutOfRange = "E060", "out-of-range";
    /// A duration with a unit the setting cannot take, or none.
    InvalidDuration = "E061", "invalid-duration";
    /// An environment variable name AWS refuses or reserves.
    InvalidEnvironment = "E062", "invalid-environment";
    /// A tag key or value AWS refuses.
    InvalidTag = "E063", "invalid-tag";
    /// A string longer than AWS accepts (descriptions, ...).
    TooLong = "E064", "too-long";
    /// A value not among the allowed ones (an enum).
    InvalidValue = "E065", "invalid-value";
    /// The same value twice in one list (layers, managed policies, subnets, security groups).
    DuplicateValue = "E066", "duplicate-value";
    /// Settings that contradict each other once layered (a log level with text logs).
    ConflictingSettings = "E067", "conflicting-settings";
    /// A `${...}` that is no variable.
    UnknownVariable = "E070", "unknown-variable";
    /// A `${` never closed by `}`.
    UnclosedVariable = "E071", "unclosed-variable";
    /// A variable where it cannot be resolved: a deploy-time one outside ARNs and policy documents,
    /// an IAM one outside policy documents.
    MisplacedVariable = "E072", "misplaced-variable";
    /// An IAM policy document AWS refuses, or one using a statement id chalice-rs reserves.
    InvalidPolicy = "E080", "invalid-policy";
    /// A `role` that is not an IAM role ARN.
    InvalidRole = "E081", "invalid-role";
    /// A managed policy that is not a policy ARN, or more than a role can have attached.
    InvalidManagedPolicy = "E082", "invalid-managed-policy";
    /// A layer that is not a Lambda layer version ARN, or more layers than Lambda allows.
    InvalidLayer = "E083", "invalid-layer";
    /// A VPC configuration Lambda refuses (subnet or security group ids, their number).
    InvalidVpc = "E084", "invalid-vpc";
    /// A stream, table or queue `filter` Lambda refuses: too many, not an object, or a field its records
    /// do not have.
    InvalidFilter = "E090", "invalid-filter";
    /// An SNS subscription `filter_policy` SNS refuses (keys, combinations, nesting, values).
    InvalidFilterPolicy = "E091", "invalid-filter-policy";
    /// An `on_failure` destination Lambda refuses: a service the binding cannot send to, a name or ARN
    /// of the wrong service, a FIFO queue or topic, none or several in one block.
    InvalidDestination = "E092", "invalid-destination";
    /// A warning: a filter that can never match a record (the file still builds).
    UnmatchableFilter = "W001", "unmatchable-filter";
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a diagnostic stops the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Severity {
    /// The file is refused.
    #[default]
    Error,
    /// The file builds, but probably does not do what was meant.
    Warning,
}

/// One problem in the file: what, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: ErrorKind,
    /// An error (the default) or a warning.
    pub severity: Severity,
    /// The headline, e.g. "unknown key `batchsize` for a queue".
    pub message: String,
    /// The offending text.
    pub span: Span,
    /// What to print under the span.
    pub label: String,
    /// Other places that explain it ("first defined here").
    pub related: Vec<(Span, String)>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn new(kind: ErrorKind, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            related: Vec::new(),
            help: None,
        }
    }

    /// A warning: reported, but the file still builds.
    pub fn warning(kind: ErrorKind, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::new(kind, span, message)
        }
    }

    /// Whether this is a warning (the file still builds).
    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push((span, note.into()));
        self
    }
}

/// All the problems found in one file, with the file to render them against.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub file_name: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.source, offset)
    }

    /// Renders every diagnostic like rustc does, with or without ANSI colours.
    pub fn render(&self, color: bool) -> String {
        let file = SimpleFile::new(self.file_name.as_str(), self.source.as_str());
        let config = term::Config::default();
        let mut buf = if color {
            termcolor::Buffer::ansi()
        } else {
            termcolor::Buffer::no_color()
        };
        for d in &self.items {
            let mut labels =
                vec![Label::primary((), clamp(d.span, &self.source)).with_message(&d.label)];
            labels.extend(
                d.related
                    .iter()
                    .map(|(s, m)| Label::secondary((), clamp(*s, &self.source)).with_message(m)),
            );
            let cs = match d.severity {
                Severity::Error => CsDiagnostic::error(),
                Severity::Warning => CsDiagnostic::warning(),
            };
            let mut cs = cs
                .with_code(d.kind.code())
                .with_message(&d.message)
                .with_labels(labels);
            if let Some(help) = &d.help {
                cs = cs.with_notes(vec![format!("help: {help}")]);
            }
            // Writing into an in-memory buffer cannot fail for I/O reasons; a span
            // outside the file was clamped above.
            let _ = term::emit(&mut buf, &config, &file, &cs);
        }
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let errors = self.items.iter().filter(|d| !d.is_warning()).count();
        let warnings = self.items.len() - errors;
        let summary = if errors > 0 {
            format!(
                "error: could not compile `{}` due to {errors} previous error{}\n",
                self.file_name,
                plural(errors)
            )
        } else {
            format!(
                "warning: `{}` generated {warnings} warning{}\n",
                self.file_name,
                plural(warnings)
            )
        };
        let mut out = String::from_utf8_lossy(buf.as_slice()).into_owned();
        out.push_str(&summary);
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

/// 1-based line and column (in characters) of a byte offset in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Keeps a span inside the file and on character boundaries, so rendering never panics.
fn clamp(span: Span, source: &str) -> std::ops::Range<usize> {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let mut end = span.end.clamp(start, source.len());
    while end < source.len() && !source.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// "did you mean `x`?" for the closest candidate, if any is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "ab\ncé d\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 1));
        assert_eq!(line_col(src, 7), (2, 4));
        assert_eq!(line_col(src, 999), (3, 1));
    }

    #[test]
    fn kinds_are_listed_in_code_order() {
        let codes: Vec<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn suggestion_picks_closest() {
        let keys = ["batch_size", "batching_window", "maximum_concurrency"];
        assert_eq!(did_you_mean("batchsize", keys), Some("batch_size"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
