//! Names and ARNs: app, stage and handler names, and the bucket/topic/queue/stream/table/bus a binding names.

use crate::ast::Spanned;
use crate::diag::{Diagnostic, ErrorKind, Span};
use crate::model::{DEFAULT_STAGE, NameOrArn, QueueRef};

/// Lambda function names and IAM role names are at most this long.
pub(crate) const MAX_RESOURCE_NAME: usize = 64;

/// Rust keywords (strict, reserved, and 2024's `gen`): a handler named so could not be a method.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// The span of bytes `start..end` of a string literal's text, when the literal is written without escapes
/// (its span is the text plus two quotes); the whole literal otherwise.
pub(crate) fn inside(literal: Span, text: &str, start: usize, end: usize) -> Span {
    if literal.end.saturating_sub(literal.start) == text.len() + 2
        && start <= end
        && end <= text.len()
    {
        literal.sub(1 + start, 1 + end)
    } else {
        literal
    }
}

/// App and stage names: `[A-Za-z0-9][A-Za-z0-9_-]*`.
pub(crate) fn app_or_stage(name: &Spanned<String>, what: &str) -> Option<Diagnostic> {
    let s = name.node.as_str();
    let bad = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphanumeric() || (i > 0 && (c == '-' || c == '_'))));
    let reason = match (s.is_empty(), bad) {
        (true, _) => "it is empty".to_string(),
        (false, Some((0, c))) => format!("it starts with `{c}`"),
        (false, Some((_, c))) => format!("`{c}` is not allowed"),
        (false, None) => return None,
    };
    Some(
        Diagnostic::new(ErrorKind::InvalidName, name.span, format!("invalid {what} name `{s}`: {reason}"))
            .label(format!("invalid {what} name"))
            .help(format!(
                "{what} names start with a letter or digit and hold only letters, digits, `-` and `_` (they prefix AWS resource names)"
            )),
    )
}

fn is_snake_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s != "_"
        && !RUST_KEYWORDS.contains(&s)
}

/// `onUpload` → `on_upload`, `on-upload` → `on_upload`, `1st` → `on_1st`.
fn to_snake_case(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "on_");
    }
    out
}

/// Handler names: snake_case Rust identifiers `[a-z_][a-z0-9_]*`, not `_`, not a keyword.
pub(crate) fn handler(name: &Spanned<String>) -> Option<Diagnostic> {
    let s = name.node.as_str();
    if is_snake_ident(s) {
        return None;
    }
    let d = Diagnostic::new(
        ErrorKind::InvalidHandlerName,
        name.span,
        format!("invalid handler name `{s}`"),
    );
    if RUST_KEYWORDS.contains(&s) {
        return Some(d.label("a Rust keyword").help(format!(
            "handlers become Rust methods and `{s}` is a keyword; try `on_{s}`"
        )));
    }
    if s == "_" {
        return Some(
            d.label("not a name")
                .help("give the handler a name, e.g. `on_event`"),
        );
    }
    let snake = to_snake_case(s);
    let d = d.label("not a snake_case Rust identifier");
    Some(if is_snake_ident(&snake) {
        d.help(format!(
            "handler names are snake_case Rust identifiers (`[a-z_][a-z0-9_]*`); try `{snake}`"
        ))
    } else {
        d.help(
            "handler names are snake_case Rust identifiers (`[a-z_][a-z0-9_]*`), e.g. `on_upload`",
        )
    })
}

/// `<app>-<stage>-<handler>`, the name of a function and of its own IAM role, must fit AWS's 64 characters
/// in `dev` and every declared stage (checked in the stage with the longest name, and named in the message).
pub(crate) fn check_lengths(
    app: &Spanned<String>,
    stages: &[&Spanned<String>],
    handlers: &[&Spanned<String>],
    diags: &mut Vec<Diagnostic>,
) {
    let longest = stages
        .iter()
        .map(|s| s.node.as_str())
        .chain(std::iter::once(DEFAULT_STAGE))
        .max_by_key(|s| s.chars().count())
        .unwrap_or(DEFAULT_STAGE);
    for h in handlers {
        let name = format!("{}-{longest}-{}", app.node, h.node);
        let n = name.chars().count();
        if n > MAX_RESOURCE_NAME {
            diags.push(
                Diagnostic::new(
                    ErrorKind::NameTooLong,
                    h.span,
                    format!(
                        "function and role name `{name}` (stage `{longest}`) is {n} characters; Lambda and IAM allow {MAX_RESOURCE_NAME}"
                    ),
                )
                .label(format!("makes a {n}-character function name"))
                .help(format!(
                    "the function and its own IAM role are both named `<app>-<stage>-<handler>`; shorten the handler name by {} characters (or the app or stage name)",
                    n - MAX_RESOURCE_NAME
                )),
            );
        }
    }
}

/// The parts of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

fn is_partition(s: &str) -> bool {
    s == "aws"
        || (s.starts_with("aws-")
            && s.len() > 4
            && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            && !s.ends_with('-'))
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, ...
pub(crate) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The partition of an ARN: a real one, or the plan's `{partition}` placeholder (`${partition}` resolved).
pub(crate) fn partition_ok(s: &str) -> bool {
    s == "{partition}" || is_partition(s)
}

/// The region of an ARN: a real one, or the plan's `{region}` placeholder.
pub(crate) fn region_ok(s: &str) -> bool {
    s == "{region}" || is_region(s)
}

/// The account of an ARN: 12 digits, or the plan's `{account}` placeholder.
pub(crate) fn account_ok(s: &str) -> bool {
    s == "{account}" || is_account(s)
}

/// Parses an ARN of `service`; the error says which part is wrong. The partition, region and account may be
/// the plan's `{partition}`, `{region}` and `{account}` placeholders (what `${partition}` ... resolve to).
pub(crate) fn parse_arn<'a>(s: &'a str, service: &str) -> Result<Arn<'a>, String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, svc, region, account, resource] = parts[..] else {
        return Err(
            "an ARN has six `:`-separated parts: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"
                .into(),
        );
    };
    if arn != "arn" {
        return Err("an ARN starts with `arn:`".into());
    }
    if !partition_ok(partition) {
        return Err(format!(
            "`{partition}` is not a partition (`aws`, `aws-cn`, `aws-us-gov`, ...)"
        ));
    }
    if svc != service {
        return Err(format!("this is a `{svc}` ARN, not an `{service}` one"));
    }
    if !region_ok(region) {
        return Err(format!("`{region}` is not a region (e.g. `us-east-1`)"));
    }
    if !account_ok(account) {
        return Err(format!("`{account}` is not a 12-digit account id"));
    }
    if resource.is_empty() {
        return Err("the resource part is empty".into());
    }
    Ok(Arn {
        partition,
        service: svc,
        region,
        account,
        resource,
    })
}

/// The first character of `s` not allowed by `ok`, with its byte index.
fn first_bad(s: &str, ok: impl Fn(char) -> bool) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| !ok(c))
}

fn err(kind: ErrorKind, span: Span, message: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::new(kind, span, message).label(label).help(help)
}

const BUCKET_HELP: &str = "bucket names are 3-63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit";

/// An S3 bucket name as AWS's naming rules allow.
pub(crate) fn bucket(s: &str, span: Span) -> Result<(), Diagnostic> {
    let fail = |message: String, at: Span, label: &str, help: &str| {
        Err(err(ErrorKind::InvalidBucket, at, message, label, help))
    };
    let n = s.chars().count();
    if !(3..=63).contains(&n) {
        return fail(
            format!("bucket name `{s}` is {n} characters; S3 allows 3 to 63"),
            span,
            "wrong length",
            BUCKET_HELP,
        );
    }
    if let Some((i, c)) = first_bad(s, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'
    }) {
        let lower = s.to_ascii_lowercase();
        let help = if c.is_ascii_uppercase()
            && first_bad(&lower, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'
            })
            .is_none()
        {
            format!("bucket names are lowercase: `{lower}`")
        } else {
            BUCKET_HELP.to_string()
        };
        return fail(
            format!("bucket name `{s}` contains `{c}`"),
            inside(span, s, i, i + c.len_utf8()),
            "not allowed in a bucket name",
            &help,
        );
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(s.chars().next()) || !edge_ok(s.chars().last()) {
        return fail(
            format!("bucket name `{s}` must start and end with a letter or digit"),
            span,
            "bad first or last character",
            BUCKET_HELP,
        );
    }
    if let Some(i) = s.find("..") {
        return fail(
            format!("bucket name `{s}` has two adjacent periods"),
            inside(span, s, i, i + 2),
            "`..`",
            BUCKET_HELP,
        );
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return fail(
            format!("bucket name `{s}` is formatted as an IP address"),
            span,
            "looks like an IP address",
            BUCKET_HELP,
        );
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if s.starts_with(prefix) {
            return fail(
                format!("bucket names cannot start with `{prefix}`"),
                inside(span, s, 0, prefix.len()),
                "reserved prefix",
                "S3 reserves this prefix; pick another name",
            );
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if s.ends_with(suffix) {
            return fail(
                format!("bucket names cannot end with `{suffix}`"),
                inside(span, s, s.len() - suffix.len(), s.len()),
                "reserved suffix",
                "S3 reserves this suffix; pick another name",
            );
        }
    }
    Ok(())
}

fn topic_chars(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A topic name or ARN; FIFO topics are refused (Lambda cannot subscribe to them).
pub(crate) fn topic(s: &str, span: Span) -> Result<NameOrArn, Diagnostic> {
    const HELP: &str = "give a topic name (1-256 letters, digits, `-`, `_`) or an ARN `arn:aws:sns:REGION:ACCOUNT:NAME`";
    let invalid = |message: String| {
        Err(err(
            ErrorKind::InvalidTopic,
            span,
            message,
            "invalid topic",
            HELP,
        ))
    };
    let (name, result) = if s.starts_with("arn:") {
        match parse_arn(s, "sns") {
            Ok(arn) => (arn.resource, NameOrArn::Arn(s.to_string())),
            Err(reason) => return invalid(format!("invalid topic ARN `{s}`: {reason}")),
        }
    } else {
        (s, NameOrArn::Name(s.to_string()))
    };
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let n = name.chars().count();
    if base.is_empty() || n > 256 {
        return invalid(format!(
            "topic name `{name}` is {n} characters; SNS allows 1 to 256"
        ));
    }
    if let Some((_, c)) = first_bad(base, topic_chars) {
        return invalid(format!("topic name `{name}` contains `{c}`"));
    }
    if base.len() != name.len() {
        return Err(err(
            ErrorKind::FifoConstraint,
            span,
            format!("`{name}` is a FIFO topic; Lambda cannot subscribe to FIFO topics"),
            "FIFO topic",
            "subscribe an SQS FIFO queue to the topic and bind a `queue` handler to that queue",
        ));
    }
    Ok(result)
}

const QUEUE_HELP: &str = "give a queue name (1-80 letters, digits, `-`, `_`, FIFO names end in `.fifo`), its URL `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` or its ARN `arn:aws:sqs:REGION:ACCOUNT:NAME`";

fn queue_name(name: &str) -> Result<(), String> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let n = name.chars().count();
    if base.is_empty() || n > 80 {
        return Err(format!(
            "queue name `{name}` is {n} characters; SQS allows 1 to 80 (`.fifo` included)"
        ));
    }
    if let Some((_, c)) = first_bad(base, topic_chars) {
        return Err(format!("queue name `{name}` contains `{c}`"));
    }
    Ok(())
}

fn parse_queue_url(s: &str) -> Result<QueueRef, String> {
    let rest = s
        .strip_prefix("https://")
        .ok_or_else(|| "a queue URL starts with `https://`".to_string())?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [host, account, name] = parts[..] else {
        return Err("a queue URL is `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`".into());
    };
    let region = host
        .strip_prefix("sqs.")
        .and_then(|h| {
            h.strip_suffix(".amazonaws.com")
                .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
        })
        .or_else(|| host.strip_suffix(".queue.amazonaws.com"))
        .ok_or_else(|| format!("`{host}` is not an SQS host (`sqs.REGION.amazonaws.com`)"))?;
    if !is_region(region) {
        return Err(format!("`{region}` is not a region (e.g. `us-east-1`)"));
    }
    if !is_account(account) {
        return Err(format!("`{account}` is not a 12-digit account id"));
    }
    queue_name(name)?;
    Ok(QueueRef::Url {
        url: s.to_string(),
        region: region.to_string(),
        account: account.to_string(),
        name: name.to_string(),
    })
}

/// A queue name, URL or ARN.
pub(crate) fn queue(s: &str, span: Span) -> Result<QueueRef, Diagnostic> {
    let result = if s.starts_with("https://") || s.starts_with("http://") {
        parse_queue_url(s)
    } else if s.starts_with("arn:") {
        parse_arn(s, "sqs").and_then(|arn| {
            queue_name(arn.resource)?;
            Ok(QueueRef::Arn {
                arn: s.to_string(),
                name: arn.resource.to_string(),
            })
        })
    } else {
        queue_name(s).map(|()| QueueRef::Name(s.to_string()))
    };
    result.map_err(|reason| {
        err(
            ErrorKind::InvalidQueue,
            span,
            format!("invalid queue `{s}`: {reason}"),
            "invalid queue",
            QUEUE_HELP,
        )
    })
}

fn stream_chars(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

fn dotted_name(name: &str, what: &str, min: usize, max: usize) -> Result<(), String> {
    let n = name.chars().count();
    if n < min || n > max {
        return Err(format!(
            "{what} name `{name}` is {n} characters; AWS allows {min} to {max}"
        ));
    }
    match first_bad(name, stream_chars) {
        Some((_, c)) => Err(format!("{what} name `{name}` contains `{c}`")),
        None => Ok(()),
    }
}

/// A Kinesis stream name or ARN.
pub(crate) fn stream(s: &str, span: Span) -> Result<NameOrArn, Diagnostic> {
    const HELP: &str = "give a stream name (1-128 letters, digits, `_`, `.`, `-`) or an ARN `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`";
    let result = if s.starts_with("arn:") {
        parse_arn(s, "kinesis").and_then(|arn| {
            let name = arn
                .resource
                .strip_prefix("stream/")
                .ok_or_else(|| "a stream ARN ends in `:stream/NAME`".to_string())?;
            dotted_name(name, "stream", 1, 128).map(|()| NameOrArn::Arn(s.to_string()))
        })
    } else {
        dotted_name(s, "stream", 1, 128).map(|()| NameOrArn::Name(s.to_string()))
    };
    result.map_err(|reason| {
        err(
            ErrorKind::InvalidStream,
            span,
            format!("invalid stream `{s}`: {reason}"),
            "invalid stream",
            HELP,
        )
    })
}

/// A DynamoDB table name or stream ARN.
pub(crate) fn table(s: &str, span: Span) -> Result<NameOrArn, Diagnostic> {
    const HELP: &str = "give the table name (3-255 letters, digits, `_`, `.`, `-`) or its stream ARN `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`";
    let result = if s.starts_with("arn:") {
        parse_arn(s, "dynamodb").and_then(|arn| {
            let rest = arn.resource.strip_prefix("table/").ok_or_else(|| {
                "a table stream ARN ends in `:table/NAME/stream/LABEL`".to_string()
            })?;
            match rest.split_once("/stream/") {
                Some((name, label)) if !label.is_empty() => {
                    dotted_name(name, "table", 3, 255).map(|()| NameOrArn::Arn(s.to_string()))
                }
                _ if !rest.contains('/') => {
                    Err("this is a table ARN, not its stream's ARN".to_string())
                }
                _ => Err("a table stream ARN ends in `:table/NAME/stream/LABEL`".to_string()),
            }
        })
    } else {
        dotted_name(s, "table", 3, 255).map(|()| NameOrArn::Name(s.to_string()))
    };
    result.map_err(|reason| {
        err(
            ErrorKind::InvalidTable,
            span,
            format!("invalid table `{s}`: {reason}"),
            "invalid table",
            HELP,
        )
    })
}

fn bus_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(1..=256).contains(&n) {
        return Err(format!(
            "bus name `{name}` is {n} characters; EventBridge allows 1 to 256"
        ));
    }
    match first_bad(name, |c| c.is_ascii_alphanumeric() || "/.-_".contains(c)) {
        Some((_, c)) => Err(format!("bus name `{name}` contains `{c}`")),
        None => Ok(()),
    }
}

/// An event bus name or ARN.
pub(crate) fn event_bus(s: &str, span: Span) -> Result<(), Diagnostic> {
    const HELP: &str = "give a bus name (1-256 letters, digits, `/`, `.`, `-`, `_`) or an ARN `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`";
    let result = if s.starts_with("arn:") {
        parse_arn(s, "events").and_then(|arn| {
            let name = arn
                .resource
                .strip_prefix("event-bus/")
                .ok_or_else(|| "an event bus ARN ends in `:event-bus/NAME`".to_string())?;
            bus_name(name)
        })
    } else {
        bus_name(s)
    };
    result.map_err(|reason| {
        err(
            ErrorKind::InvalidEventBus,
            span,
            format!("invalid event bus `{s}`: {reason}"),
            "invalid event bus",
            HELP,
        )
    })
}

fn function_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if !(1..=MAX_RESOURCE_NAME).contains(&n) {
        return Err(format!(
            "function name `{name}` is {n} characters; Lambda allows 1 to {MAX_RESOURCE_NAME}"
        ));
    }
    match first_bad(name, topic_chars) {
        Some((_, c)) => Err(format!("function name `{name}` contains `{c}`")),
        None => Ok(()),
    }
}

/// A Lambda function name or ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`), an
/// on-failure destination.
pub(crate) fn function(s: &str, span: Span) -> Result<(), Diagnostic> {
    const HELP: &str = "give a function name (1-64 letters, digits, `-`, `_`) or an ARN `arn:aws:lambda:REGION:ACCOUNT:function:NAME`";
    let result = if s.starts_with("arn:") {
        parse_arn(s, "lambda").and_then(|arn| {
            let rest = arn
                .resource
                .strip_prefix("function:")
                .ok_or_else(|| "a function ARN ends in `:function:NAME`".to_string())?;
            let (name, qualifier) = rest.split_once(':').unwrap_or((rest, "$LATEST"));
            function_name(name)?;
            let qualifier_ok = !qualifier.is_empty()
                && qualifier.len() <= 128
                && qualifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_$".contains(c));
            if qualifier_ok {
                Ok(())
            } else {
                Err(format!("`{qualifier}` is not a version or alias"))
            }
        })
    } else {
        function_name(s)
    };
    result.map_err(|reason| {
        err(
            ErrorKind::InvalidDestination,
            span,
            format!("invalid function `{s}`: {reason}"),
            "invalid function",
            HELP,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Span = Span {
        start: 100,
        end: 120,
    };

    fn sp(s: &str) -> Spanned<String> {
        Spanned::new(s.to_string(), Span::new(0, s.len()))
    }

    #[test]
    fn app_and_stage_names() {
        for ok in ["orders", "Orders-2", "a_b", "9lives"] {
            assert!(app_or_stage(&sp(ok), "app").is_none(), "{ok}");
        }
        for bad in ["", "-x", "_x", "a.b", "a b", "é"] {
            let d = app_or_stage(&sp(bad), "app").unwrap();
            assert_eq!(d.kind, ErrorKind::InvalidName, "{bad}");
        }
    }

    #[test]
    fn handler_names() {
        for ok in ["on_upload", "_private", "h1", "union", "raw"] {
            assert!(handler(&sp(ok)).is_none(), "{ok}");
        }
        let cases = [
            ("onUpload", Some("on_upload")),
            ("on-upload", Some("on_upload")),
            ("1st", Some("on_1st")),
            ("_", None),
            ("type", None),
            ("gen", None),
            ("Self", None),
            ("héllo", None),
        ];
        for (bad, suggestion) in cases {
            let d = handler(&sp(bad)).unwrap();
            assert_eq!(d.kind, ErrorKind::InvalidHandlerName, "{bad}");
            let help = d.help.unwrap();
            if let Some(s) = suggestion {
                assert!(help.contains(&format!("`{s}`")), "{bad}: {help}");
            }
        }
    }

    #[test]
    fn lengths_count_every_stage() {
        let app = sp("orders");
        let prod = Spanned::new("production-eu".to_string(), Span::new(50, 63));
        let long = Spanned::new("h".repeat(64 - "orders-dev-".len()), Span::new(200, 253));
        let mut d = Vec::new();
        check_lengths(&app, &[], &[&long], &mut d);
        assert!(d.is_empty(), "{d:?}");
        check_lengths(&app, &[&prod], &[&long], &mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, ErrorKind::NameTooLong);
        assert_eq!(d[0].span.start, 200);
        assert!(
            d[0].message.contains("stage `production-eu`"),
            "{}",
            d[0].message
        );
        assert!(
            d[0].message
                .starts_with("function and role name `orders-production-eu-hhh"),
            "{}",
            d[0].message
        );

        // A long app alone is fine until a handler makes a name of it (there is no shared role).
        let mut d = Vec::new();
        let huge = sp(&"a".repeat(62));
        check_lengths(&huge, &[], &[], &mut d);
        assert!(d.is_empty(), "{d:?}");
        check_lengths(&huge, &[], &[&long], &mut d);
        assert_eq!(d.len(), 1, "{d:?}");
    }

    #[test]
    fn arns() {
        let arn = parse_arn("arn:aws:sqs:us-east-1:123456789012:q", "sqs").unwrap();
        assert_eq!(
            (arn.partition, arn.region, arn.account, arn.resource),
            ("aws", "us-east-1", "123456789012", "q")
        );
        assert!(parse_arn("arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q", "sqs").is_ok());
        assert!(parse_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q", "sqs").is_ok());
        // What `${partition}`, `${region}` and `${account}` resolve to, in their places only.
        let arn = parse_arn("arn:{partition}:sqs:{region}:{account}:q-prod", "sqs").unwrap();
        assert_eq!(
            (arn.partition, arn.region, arn.account),
            ("{partition}", "{region}", "{account}")
        );
        assert!(parse_arn("arn:{region}:sqs:{partition}:{account}:q", "sqs").is_err());
        assert!(parse_arn("arn:aws:sqs:{account}:{region}:q", "sqs").is_err());
        assert!(queue("arn:{partition}:sqs:{region}:{account}:q", SPAN).is_ok());
        assert!(
            queue("https://sqs.{region}.amazonaws.com/{account}/q", SPAN).is_err(),
            "no placeholders in URLs"
        );
        for bad in [
            "arn:aws:sqs:us-east-1:123:q",
            "arn:aws:sns:us-east-1:123456789012:q",
            "arn:aws:sqs:useast1:123456789012:q",
            "arn:amazon:sqs:us-east-1:123456789012:q",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs",
            "ARN:aws:sqs:us-east-1:123456789012:q",
        ] {
            assert!(parse_arn(bad, "sqs").is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets() {
        for ok in [
            "mybucket-name",
            "a.b-c",
            "abc",
            &"a".repeat(63),
            "192.168.5.4a",
        ] {
            assert!(bucket(ok, SPAN).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "my_bucket",
            "-abc",
            "abc-",
            "a..b",
            "192.168.5.4",
            "xn--abc",
            "abc-s3alias",
            "sthree-x",
            "a.mrap",
        ] {
            assert_eq!(
                bucket(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidBucket,
                "{bad}"
            );
        }
        let d = bucket("My-Bucket", Span::new(10, 21)).unwrap_err();
        assert_eq!(d.span, Span::new(11, 12), "points at the `M`");
        assert_eq!(
            d.help.as_deref(),
            Some("bucket names are lowercase: `my-bucket`")
        );
    }

    #[test]
    fn topics() {
        assert_eq!(
            topic("my-demo-topic", SPAN).unwrap(),
            NameOrArn::Name("my-demo-topic".into())
        );
        let arn = "arn:aws:sns:eu-west-1:123456789012:alerts";
        assert_eq!(topic(arn, SPAN).unwrap(), NameOrArn::Arn(arn.into()));
        assert_eq!(
            topic("t.fifo", SPAN).unwrap_err().kind,
            ErrorKind::FifoConstraint
        );
        assert_eq!(
            topic("arn:aws:sns:eu-west-1:123456789012:t.fifo", SPAN)
                .unwrap_err()
                .kind,
            ErrorKind::FifoConstraint
        );
        for bad in [
            "",
            "a b",
            &"t".repeat(257),
            "arn:aws:sns:eu-west-1:1234:t",
            "arn:aws:sqs:eu-west-1:123456789012:t",
        ] {
            assert_eq!(
                topic(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidTopic,
                "{bad}"
            );
        }
    }

    #[test]
    fn queues() {
        assert_eq!(
            queue("my-queue", SPAN).unwrap(),
            QueueRef::Name("my-queue".into())
        );
        assert_eq!(queue("q.fifo", SPAN).unwrap().name(), "q.fifo");
        let url = queue(
            "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
            SPAN,
        )
        .unwrap();
        assert!(matches!(&url, QueueRef::Url { region, account, name, .. }
            if region == "us-east-1" && account == "123456789012" && name == "orders"));
        let legacy = queue(
            "https://eu-west-1.queue.amazonaws.com/123456789012/orders",
            SPAN,
        )
        .unwrap();
        assert_eq!(legacy.name(), "orders");
        let arn = queue("arn:aws:sqs:us-east-1:123456789012:orders.fifo", SPAN).unwrap();
        assert_eq!(arn.name(), "orders.fifo");
        assert!(queue(&format!("{}.fifo", "q".repeat(75)), SPAN).is_ok());
        for bad in [
            "",
            ".fifo",
            "a.b",
            &"q".repeat(81),
            &format!("{}.fifo", "q".repeat(76)),
            "http://sqs.us-east-1.amazonaws.com/123456789012/q",
            "https://example.com/123456789012/q",
            "https://sqs.us-east-1.amazonaws.com/123/q",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q/x",
            "arn:aws:sqs:us-east-1:123456789012:a b",
        ] {
            assert_eq!(
                queue(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidQueue,
                "{bad}"
            );
        }
    }

    #[test]
    fn streams_tables_buses() {
        assert!(stream("my.stream-1", SPAN).is_ok());
        assert!(stream("arn:aws:kinesis:us-east-1:123456789012:stream/s", SPAN).is_ok());
        for bad in [
            "",
            "a/b",
            "arn:aws:kinesis:us-east-1:123456789012:s",
            &"s".repeat(129),
        ] {
            assert_eq!(
                stream(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidStream,
                "{bad}"
            );
        }
        assert!(table("orders", SPAN).is_ok());
        let sa =
            "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000";
        assert_eq!(table(sa, SPAN).unwrap(), NameOrArn::Arn(sa.into()));
        let t = table("arn:aws:dynamodb:us-east-1:123456789012:table/orders", SPAN).unwrap_err();
        assert_eq!(t.kind, ErrorKind::InvalidTable);
        assert!(t.message.contains("not its stream's ARN"), "{}", t.message);
        for bad in [
            "ab",
            "a b c",
            "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/",
        ] {
            assert_eq!(
                table(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidTable,
                "{bad}"
            );
        }
        for ok in [
            "default",
            "aws.partner/x.com/123/y",
            "arn:aws:events:us-east-1:123456789012:event-bus/b",
        ] {
            assert!(event_bus(ok, SPAN).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "arn:aws:events:us-east-1:123456789012:rule/b"] {
            assert_eq!(
                event_bus(bad, SPAN).unwrap_err().kind,
                ErrorKind::InvalidEventBus,
                "{bad}"
            );
        }
    }
}
