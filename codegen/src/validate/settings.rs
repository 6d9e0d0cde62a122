//! Function settings, one layer (`defaults`, a stage, a binding block) at a time: each key's type and
//! bounds. What only shows once layers merge is `merged`'s job.

use std::collections::BTreeMap;

use crate::ast::{Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::model::{Architecture, LogFormat, LogLevel, SettingsPatch, Tracing};

use super::keys::Entries;
use super::stages::Deferred;
use super::values::{self, Choice, Pair, duplicate_value};
use super::vars::{self, Allow};
use super::{arns, policy, vpc};

/// Environment variables Lambda sets itself and refuses in a function's configuration.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda attaches at most this many layers to a function.
pub(crate) const MAX_LAYERS: usize = 5;
/// Lambda's `/tmp` is 512 MB to 10240 MB.
const EPHEMERAL_STORAGE_MB: (i64, i64) = (512, 10240);
/// The retention periods CloudWatch Logs allows (days).
pub(crate) const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

const LOG_LEVELS: Choice<LogLevel> = Choice {
    key: "log_level",
    what: "log level",
    words: &[
        ("trace", LogLevel::Trace),
        ("debug", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
        ("fatal", LogLevel::Fatal),
    ],
    aliases: &[
        ("warning", "warn"),
        ("information", "info"),
        ("err", "error"),
        ("critical", "fatal"),
        ("crit", "fatal"),
        ("verbose", "trace"),
    ],
    help: "Lambda's log levels are `trace`, `debug`, `info`, `warn`, `error` and `fatal`",
};

const LOG_FORMATS: Choice<LogFormat> = Choice {
    key: "log_format",
    what: "log format",
    words: &[("json", LogFormat::Json), ("text", LogFormat::Text)],
    aliases: &[("plain", "text"), ("txt", "text")],
    help: "Lambda writes logs as `json` or `text`",
};

const TRACING: Choice<Tracing> = Choice {
    key: "tracing",
    what: "tracing mode",
    words: &[
        ("active", Tracing::Active),
        ("pass_through", Tracing::PassThrough),
    ],
    aliases: &[
        ("passthrough", "pass_through"),
        ("on", "active"),
        ("enabled", "active"),
        ("off", "pass_through"),
        ("disabled", "pass_through"),
        ("none", "pass_through"),
    ],
    help: "X-Ray tracing is `active` (the function samples and traces) or `pass_through` (it traces what callers trace)",
};

/// One layer of settings (`defaults`, a stage, a binding) and where it was written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layer {
    pub patch: SettingsPatch,
    /// The `env` key, if the layer sets one.
    pub env_span: Option<Span>,
    /// The `tags` key, if the layer sets one.
    pub tags_span: Option<Span>,
    /// The `managed_policies` key, if the layer sets one.
    pub managed_policies_span: Option<Span>,
    /// The `log_format` value, if the layer sets one.
    pub log_format_span: Option<Span>,
    /// The statement ids of the layer's `policy`, where they are written.
    pub sids: Vec<Spanned<String>>,
    /// Strings whose checks need the app and the stage (tag values, role and layer ARNs, ...).
    pub deferred: Vec<Deferred>,
    /// Where to point when the layer as a whole is at fault (a stage or handler name).
    pub anchor: Span,
}

/// Reads the function settings among `entries` (keys were checked already).
pub(crate) fn read(entries: &Entries<'_>, anchor: Span, diags: &mut Vec<Diagnostic>) -> Layer {
    let mut layer = Layer {
        anchor,
        ..Layer::default()
    };
    let p = &mut layer.patch;
    if let Some(e) = entries.get("memory") {
        p.memory_mb = values::int(&e.value, "memory", 128, 10240, " MB", diags)
            .and_then(|n| u32::try_from(n).ok());
    }
    if let Some(e) = entries.get("timeout") {
        p.timeout_s = values::seconds(&e.value, "timeout", 1, 900, diags);
    }
    if let Some(e) = entries.get("reserved_concurrency") {
        p.reserved_concurrency = values::int(
            &e.value,
            "reserved_concurrency",
            0,
            i64::from(u32::MAX),
            "",
            diags,
        )
        .and_then(|n| u32::try_from(n).ok());
    }
    if let Some(e) = entries.get("architecture") {
        p.architecture = architecture(&e.value, diags);
    }
    if let Some(e) = entries.get("env") {
        layer.env_span = Some(e.key.span);
        if let Some(pairs) = values::string_map(&e.value, "env", diags) {
            let pairs = pairs
                .into_iter()
                .filter(|(_, v)| vars::check(&v.node, v.span, Allow::Stage, "an env value", diags))
                .collect();
            layer.patch.env = checked_map(pairs, env_key, diags);
        }
    }
    if let Some(e) = entries.get("tags") {
        layer.tags_span = Some(e.key.span);
        if let Some(pairs) = values::string_map(&e.value, "tags", diags) {
            layer.patch.tags = tags(pairs, &mut layer.deferred, diags);
        }
    }
    let p = &mut layer.patch;
    if let Some(e) = entries.get("ephemeral_storage") {
        let (min, max) = EPHEMERAL_STORAGE_MB;
        p.ephemeral_storage_mb = values::int(&e.value, "ephemeral_storage", min, max, " MB", diags)
            .and_then(|n| u32::try_from(n).ok());
    }
    if let Some(e) = entries.get("log_retention") {
        p.log_retention_days = retention(&e.value, diags);
    }
    if let Some(e) = entries.get("log_level") {
        p.log_level = values::choice(&e.value, &LOG_LEVELS, diags);
    }
    if let Some(e) = entries.get("log_format") {
        layer.log_format_span = Some(e.value.span);
        p.log_format = values::choice(&e.value, &LOG_FORMATS, diags);
    }
    if let Some(e) = entries.get("tracing") {
        p.tracing = values::choice(&e.value, &TRACING, diags);
    }
    if let Some(e) = entries.get("vpc") {
        p.vpc = vpc::read(&e.value, e.key.span, diags);
    }
    if let Some(e) = entries.get("role")
        && let Some(s) = values::string(&e.value, diags)
    {
        let span = e.value.span;
        if vars::check(s, span, Allow::Arn, "a role ARN", diags) {
            defer(&mut layer.deferred, s, span, arns::role);
        }
        layer.patch.role = Some(s.to_string());
    }
    if let Some(e) = entries.get("layers") {
        layer.patch.layers = arn_list(&e.value, &ARN_LISTS[0], &mut layer.deferred, diags);
    }
    if let Some(e) = entries.get("managed_policies") {
        layer.managed_policies_span = Some(e.key.span);
        layer.patch.managed_policies =
            arn_list(&e.value, &ARN_LISTS[1], &mut layer.deferred, diags).unwrap_or_default();
    }
    if let Some(e) = entries.get("policy")
        && let Some(policy) = policy::read(&e.value, diags)
    {
        layer.patch.policy = policy.statements;
        layer.sids = policy.sids;
    }
    layer
}

/// A check of `text` once the stages resolve it.
fn defer(
    deferred: &mut Vec<Deferred>,
    text: &str,
    span: Span,
    check: fn(&str, Span) -> Result<(), Diagnostic>,
) {
    deferred.push(Deferred {
        text: text.to_string(),
        span,
        check,
    });
}

/// A list of ARNs a layer sets (`layers`, `managed_policies`).
struct ArnList {
    key: &'static str,
    /// "layer", "managed policy"
    what: &'static str,
    /// The most one list may hold (`None`: checked once merged).
    max: Option<usize>,
    kind: ErrorKind,
    check: fn(&str, Span) -> Result<(), Diagnostic>,
}

const ARN_LISTS: [ArnList; 2] = [
    ArnList {
        key: "layers",
        what: "layer",
        max: Some(MAX_LAYERS),
        kind: ErrorKind::InvalidLayer,
        check: arns::layer,
    },
    ArnList {
        key: "managed_policies",
        what: "managed policy",
        max: None,
        kind: ErrorKind::InvalidManagedPolicy,
        check: arns::managed_policy,
    },
];

/// The ARNs of a list, each checked for variables now and for its shape per stage; duplicates reported.
fn arn_list(
    v: &Spanned<Value>,
    list: &ArnList,
    deferred: &mut Vec<Deferred>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let items = values::string_list(v, list.key, diags)?;
    if let Some(extra) = list.max.and_then(|max| items.get(max)) {
        let max = list.max.unwrap_or_default();
        diags.push(
            Diagnostic::new(
                list.kind,
                extra.span,
                format!(
                    "`{}` lists {} {}s; Lambda allows at most {max}",
                    list.key,
                    items.len(),
                    list.what
                ),
            )
            .label(format!("{} over the limit", list.what))
            .help(format!(
                "list at most {max}: merge {}s, or build what they bring into the `bootstrap`",
                list.what
            )),
        );
    }
    let what = format!("a {} ARN", list.what);
    for (i, item) in items.iter().enumerate() {
        if let Some(first) = items[..i].iter().find(|f| f.node == item.node) {
            diags.push(duplicate_value(
                &format!("{} `{}`", list.what, item.node),
                item.span,
                first.span,
            ));
        } else if vars::check(&item.node, item.span, Allow::Arn, &what, diags) {
            defer(deferred, &item.node, item.span, list.check);
        }
    }
    Some(items.into_iter().map(|i| i.node).collect())
}

/// `log_retention`: days, one of CloudWatch Logs' retention periods.
fn retention(v: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    let Value::Int(n) = v.node else {
        diags.push(
            values::wrong_type(v, "a whole number of days")
                .help("write the days as a number, e.g. `log_retention = 14`"),
        );
        return None;
    };
    if let Some(days) = u32::try_from(n).ok().filter(|d| RETENTION_DAYS.contains(d)) {
        return Some(days);
    }
    let below = RETENTION_DAYS.iter().rev().find(|d| i64::from(**d) < n);
    let above = RETENTION_DAYS.iter().find(|d| i64::from(**d) > n);
    let nearest = match (below, above) {
        (Some(b), Some(a)) => format!("the nearest allowed values are {b} and {a}"),
        (Some(d), None) | (None, Some(d)) => format!("the nearest allowed value is {d}"),
        (None, None) => String::new(),
    };
    let all: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
    diags.push(
        Diagnostic::new(
            ErrorKind::InvalidValue,
            v.span,
            format!("CloudWatch Logs cannot keep logs for {n} days"),
        )
        .label("not a retention period")
        .help(format!(
            "{nearest} (allowed: {}); leave `log_retention` out to keep logs forever",
            all.join(", ")
        )),
    );
    None
}

/// Tag pairs: keys checked now, values now or, when they hold variables, as each stage resolves them.
fn tags(
    pairs: Vec<Pair>,
    deferred: &mut Vec<Deferred>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(d) = tag_key(&k) {
            diags.push(d);
            continue;
        }
        if v.node.contains("${") {
            if !vars::check(&v.node, v.span, Allow::Stage, "a tag value", diags) {
                continue;
            }
            defer(deferred, &v.node, v.span, tag_value);
        } else if let Err(d) = tag_value(&v.node, v.span) {
            diags.push(d);
            continue;
        }
        out.insert(k.node, v.node);
    }
    out
}

fn checked_map(
    pairs: Vec<Pair>,
    check: fn(&Spanned<String>, &Spanned<String>) -> Option<Diagnostic>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        match check(&k, &v) {
            Some(d) => diags.push(d),
            None => {
                out.insert(k.node, v.node);
            }
        }
    }
    out
}

fn architecture(v: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<Architecture> {
    const WORDS: [&str; 2] = ["x86_64", "arm64"];
    let word = match &v.node {
        Value::Ident(w) => w.as_str(),
        _ => {
            diags.push(values::wrong_type(v, "`x86_64` or `arm64`"));
            return None;
        }
    };
    match word {
        "x86_64" => Some(Architecture::X86_64),
        "arm64" => Some(Architecture::Arm64),
        other => {
            let hint = match other {
                "aarch64" | "graviton" => Some("arm64"),
                "amd64" | "x86" | "x64" => Some("x86_64"),
                _ => did_you_mean(other, WORDS),
            };
            let d = Diagnostic::new(
                ErrorKind::InvalidValue,
                v.span,
                format!("unknown architecture `{other}`; expected `x86_64` or `arm64`"),
            )
            .label("not an architecture");
            diags.push(match hint {
                Some(h) => d.help(format!("did you mean `{h}`?")),
                None => d.help("Lambda runs `x86_64` and `arm64` (Graviton)"),
            });
            None
        }
    }
}

/// Lambda's rule for variable names: `[a-zA-Z][a-zA-Z0-9_]+`, and not one it reserves.
fn env_key(k: &Spanned<String>, _v: &Spanned<String>) -> Option<Diagnostic> {
    let s = k.node.as_str();
    let mut chars = s.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped {
        return Some(
            Diagnostic::new(
                ErrorKind::InvalidEnvironment,
                k.span,
                format!("invalid environment variable name `{s}`"),
            )
            .label("invalid name")
            .help("names are at least 2 characters: a letter, then letters, digits or `_`"),
        );
    }
    if RESERVED_ENV.contains(&s) {
        return Some(
            Diagnostic::new(
                ErrorKind::InvalidEnvironment,
                k.span,
                format!("`{s}` is reserved by Lambda"),
            )
            .label("reserved variable")
            .help("Lambda sets this variable itself; pick another name"),
        );
    }
    None
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

const TAG_CHARS: &str = "tags use letters, digits, spaces and `_ . : / = + - @`";

fn tag_key(k: &Spanned<String>) -> Option<Diagnostic> {
    let key = k.node.as_str();
    let invalid = |message: String, label: &str, help: &str| {
        Some(
            Diagnostic::new(ErrorKind::InvalidTag, k.span, message)
                .label(label)
                .help(help),
        )
    };
    let n = key.chars().count();
    if !(1..=128).contains(&n) {
        return invalid(
            format!("tag key `{key}` is {n} characters; AWS allows 1 to 128"),
            "wrong length",
            TAG_CHARS,
        );
    }
    if let Some(c) = key.chars().find(|c| !tag_char(*c)) {
        return invalid(
            format!("tag key `{key}` contains `{c}`"),
            "not allowed in a tag",
            TAG_CHARS,
        );
    }
    let lower = key.to_lowercase();
    if lower.starts_with("aws:") {
        return invalid(
            format!("tag key `{key}` starts with `aws:`"),
            "reserved prefix",
            "AWS reserves the `aws:` prefix",
        );
    }
    if lower.starts_with("chalice:") {
        return invalid(
            format!("tag key `{key}` starts with `chalice:`"),
            "reserved prefix",
            "chalice-rs sets `chalice:app` and `chalice:stage` itself; pick another prefix",
        );
    }
    None
}

/// A tag value (as a stage resolves it), written at `span`.
fn tag_value(value: &str, span: Span) -> Result<(), Diagnostic> {
    let n = value.chars().count();
    if n > 256 {
        return Err(Diagnostic::new(
            ErrorKind::InvalidTag,
            span,
            format!("tag value is {n} characters; AWS allows 256"),
        )
        .label("too long")
        .help("shorten the value"));
    }
    if let Some(c) = value.chars().find(|c| !tag_char(*c)) {
        return Err(Diagnostic::new(
            ErrorKind::InvalidTag,
            span,
            format!("tag value `{value}` contains `{c}`"),
        )
        .label("not allowed in a tag")
        .help(TAG_CHARS));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Block, Entry, Json};
    use crate::validate::keys::{self, Scope};

    fn sp<T>(node: T, at: usize) -> Spanned<T> {
        Spanned::new(node, Span::new(at, at + 1))
    }

    fn entry(key: &str, value: Value, at: usize) -> Entry {
        Entry {
            key: Spanned::new(key.into(), Span::new(at, at + key.len())),
            value: sp(value, at + 20),
            span: Span::new(at, at + 21),
        }
    }

    fn run(entries: Vec<Entry>) -> (Layer, Vec<Diagnostic>) {
        let block = Block {
            entries,
            span: Span::default(),
        };
        let mut d = Vec::new();
        let e = keys::check(Some(&block), Scope::Defaults, &mut d);
        let layer = read(&e, Span::default(), &mut d);
        (layer, d)
    }

    fn json_map(pairs: &[(&str, &str)]) -> Value {
        Value::Json(Json::Object(
            pairs
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    (
                        sp(k.to_string(), i * 10),
                        sp(Json::Str(v.to_string()), i * 10 + 5),
                    )
                })
                .collect(),
        ))
    }

    #[test]
    fn reads_every_setting() {
        let (layer, d) = run(vec![
            entry("memory", Value::Int(512), 0),
            entry(
                "timeout",
                Value::Duration {
                    amount: 5,
                    unit: crate::ast::DurationUnit::Minutes,
                },
                100,
            ),
            entry("reserved_concurrency", Value::Int(0), 200),
            entry("architecture", Value::Ident("arm64".into()), 300),
            entry("env", json_map(&[("LOG_LEVEL", "info")]), 400),
            entry(
                "tags",
                json_map(&[("team", "orders"), ("cost-center", "")]),
                500,
            ),
        ]);
        assert!(d.is_empty(), "{d:?}");
        let p = layer.patch;
        assert_eq!(
            (p.memory_mb, p.timeout_s, p.reserved_concurrency),
            (Some(512), Some(300), Some(0))
        );
        assert_eq!(p.architecture, Some(Architecture::Arm64));
        assert_eq!(p.env["LOG_LEVEL"], "info");
        assert_eq!(p.tags.len(), 2);
        assert_eq!(layer.env_span, Some(Span::new(400, 403)));
    }

    #[test]
    fn bad_settings() {
        let (_, d) = run(vec![
            entry("memory", Value::Int(10241), 0),
            entry("timeout", Value::Int(60), 100),
            entry("reserved_concurrency", Value::Int(-1), 200),
            entry("architecture", Value::Ident("aarch64".into()), 300),
            entry(
                "env",
                json_map(&[("AWS_REGION", "x"), ("1A", "x"), ("A", "x"), ("OK_1", "y")]),
                400,
            ),
            entry(
                "tags",
                json_map(&[
                    ("aws:x", "1"),
                    ("chalice:app", "2"),
                    ("a|b", "3"),
                    ("", "4"),
                    ("k", "v|"),
                ]),
                500,
            ),
        ]);
        let kinds: Vec<ErrorKind> = d.iter().map(|d| d.kind).collect();
        use ErrorKind::*;
        assert_eq!(
            kinds,
            [
                OutOfRange,
                InvalidDuration,
                OutOfRange,
                InvalidValue,
                InvalidEnvironment,
                InvalidEnvironment,
                InvalidEnvironment,
                InvalidTag,
                InvalidTag,
                InvalidTag,
                InvalidTag,
                InvalidTag
            ]
        );
        assert_eq!(d[3].help.as_deref(), Some("did you mean `arm64`?"));
        assert!(
            d[0].message.contains("128 MB and 10240 MB"),
            "{}",
            d[0].message
        );
    }

    /// The layer `defaults { BODY }` reads to, with the deferred checks run for `dev` and `prod`.
    fn parsed(body: &str) -> (Layer, Vec<Diagnostic>, String) {
        let src = format!("defaults {{ {body} }}");
        let (file, parse_errors) = crate::parse::parse(&src);
        assert!(parse_errors.is_empty(), "{parse_errors:?}");
        let crate::ast::Item::Defaults { block, .. } = &file.items[0] else {
            panic!()
        };
        let mut d = Vec::new();
        let e = keys::check(Some(block), Scope::Defaults, &mut d);
        let layer = read(&e, Span::default(), &mut d);
        super::super::stages::run(&layer.deferred, "orders", &["dev", "prod"], &mut d);
        (layer, d, src)
    }

    /// Each diagnostic's kind and the text it points at.
    fn errors(body: &str) -> Vec<(ErrorKind, String)> {
        let (_, d, src) = parsed(body);
        d.iter()
            .map(|d| (d.kind, src[d.span.start..d.span.end].to_string()))
            .collect()
    }

    #[test]
    fn reads_the_new_settings() {
        let (layer, d, _) = parsed(
            r#"
            policy = { "Statement": [{ "Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:${partition}:s3:::b-${stage}/*" }] }
            managed_policies = ["arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"]
            role = "arn:${partition}:iam::${account}:role/${app}-${stage}"
            log_retention = 14, log_level = warn, log_format = json, tracing = active
            layers = ["arn:aws:lambda:us-east-1:123456789012:layer:ext:3"]
            ephemeral_storage = 1024
            vpc { subnets = ["subnet-0abc"], security_groups = ["sg-0abc"] }
            tags { env = "${app}-${stage}" }
            env { STAGE = "${stage}" }
            "#,
        );
        assert!(d.is_empty(), "{d:?}");
        let p = &layer.patch;
        assert_eq!(p.policy.len(), 1);
        assert_eq!(
            p.policy[0]["Resource"],
            "arn:${partition}:s3:::b-${stage}/*"
        );
        assert_eq!(layer.sids[0].node, "Read");
        assert_eq!(p.managed_policies.len(), 1);
        assert_eq!(
            p.role.as_deref(),
            Some("arn:${partition}:iam::${account}:role/${app}-${stage}")
        );
        assert_eq!(
            (p.log_retention_days, p.log_level, p.log_format, p.tracing),
            (
                Some(14),
                Some(LogLevel::Warn),
                Some(LogFormat::Json),
                Some(Tracing::Active)
            )
        );
        assert_eq!(p.layers.as_ref().map(Vec::len), Some(1));
        assert_eq!(p.ephemeral_storage_mb, Some(1024));
        assert_eq!(p.vpc.as_ref().map(|v| v.subnet_ids.len()), Some(1));
        assert_eq!(p.tags["env"], "${app}-${stage}", "kept as written");
        assert_eq!(p.env["STAGE"], "${stage}");
        assert!(layer.log_format_span.is_some() && layer.managed_policies_span.is_some());
        let (layer, d, _) = parsed("layers = []");
        assert!(d.is_empty());
        assert_eq!(
            layer.patch.layers,
            Some(vec![]),
            "an empty list clears inherited layers"
        );
    }

    #[test]
    fn bad_new_settings() {
        use ErrorKind::*;
        let one = |body: &str| {
            let e = errors(body);
            assert_eq!(e.len(), 1, "{body}: {e:?}");
            e.into_iter().next().unwrap()
        };
        assert_eq!(one("ephemeral_storage = 511"), (OutOfRange, "511".into()));
        assert_eq!(
            one("ephemeral_storage = 10241"),
            (OutOfRange, "10241".into())
        );
        assert_eq!(one("log_retention = 15"), (InvalidValue, "15".into()));
        assert_eq!(one("log_retention = 1s"), (WrongType, "1s".into()));
        assert_eq!(one("log_level = warning"), (InvalidValue, "warning".into()));
        assert_eq!(one("log_level = \"info\""), (WrongType, "\"info\"".into()));
        assert_eq!(one("log_format = yaml"), (InvalidValue, "yaml".into()));
        assert_eq!(
            one("tracing = passthrough"),
            (InvalidValue, "passthrough".into())
        );
        assert_eq!(one("tracing = true"), (WrongType, "true".into()));
        let (_, d, _) = parsed("tracing = true");
        assert_eq!(
            d[0].help.as_deref(),
            Some("write a bare word, e.g. `tracing = active`")
        );
        assert_eq!(one("role = \"r\""), (InvalidRole, "\"r\"".into()));
        assert_eq!(one("role = 5"), (WrongType, "5".into()));
        assert_eq!(
            one("role = \"arn:aws:iam::123456789012:role/${stag}\""),
            (UnknownVariable, "${stag}".into())
        );
        assert_eq!(one("layers = \"x\""), (WrongType, "\"x\"".into()));
        assert_eq!(
            one("managed_policies = [\"p\"]"),
            (InvalidManagedPolicy, "\"p\"".into())
        );
        assert_eq!(
            one(
                "managed_policies = [\"arn:aws:iam::aws:policy/A\", \"arn:aws:iam::aws:policy/A\"]"
            ),
            (DuplicateValue, "\"arn:aws:iam::aws:policy/A\"".into())
        );
        assert_eq!(
            one("env { A1 = \"${region}\" }"),
            (MisplacedVariable, "${region}".into())
        );
        assert_eq!(
            one("tags { t = \"${stage\" }"),
            (UnclosedVariable, "${stage".into())
        );
        assert_eq!(one("policy = \"{}\""), (WrongType, "\"{}\"".into()));
        assert_eq!(
            one("vpc { subnets = [\"subnet-1\"] }"),
            (MissingKey, "vpc".into())
        );
    }

    #[test]
    fn every_setting_key_is_read() {
        // A list is the wrong type for every setting: each key reports it, so none is ignored.
        for key in keys::SETTING_KEYS {
            let e = errors(&format!("{key} = [1]"));
            assert_eq!(e.len(), 1, "{key}: {e:?}");
            assert_eq!(e[0].0, ErrorKind::WrongType, "{key}");
        }
    }

    #[test]
    fn six_layers_and_duplicates() {
        let arn = |i: usize| format!("\"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1\"");
        let six: Vec<String> = (0..6).map(arn).collect();
        let e = errors(&format!("layers = [{}]", six.join(", ")));
        assert_eq!(e, [(ErrorKind::InvalidLayer, arn(5))]);
        let e = errors(&format!("layers = [{}, {}]", arn(1), arn(1)));
        assert_eq!(e, [(ErrorKind::DuplicateValue, arn(1))]);
    }

    #[test]
    fn retention_hints_name_the_nearest_periods() {
        let help = |body: &str| parsed(body).1[0].help.clone().unwrap();
        assert!(help("log_retention = 15").starts_with("the nearest allowed values are 14 and 30"));
        assert!(help("log_retention = 0").starts_with("the nearest allowed value is 1 "));
        assert!(help("log_retention = 4000").starts_with("the nearest allowed value is 3653 "));
        assert_eq!(
            parsed("log_level = warning").1[0].help.as_deref(),
            Some("did you mean `warn`?")
        );
        assert_eq!(
            parsed("log_level = INFO").1[0].help.as_deref(),
            Some("did you mean `info`?")
        );
        assert_eq!(
            parsed("tracing = PassThrough").1[0].help.as_deref(),
            Some("did you mean `pass_through`?")
        );
    }

    #[test]
    fn tag_values_are_checked_as_each_stage_resolves_them() {
        let long = "v".repeat(253);
        let (_, d, _) = parsed(&format!("tags {{ t = \"{long}${{stage}}\" }}"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, ErrorKind::InvalidTag);
        assert_eq!(
            d[0].message,
            "in stage `prod`: tag value is 257 characters; AWS allows 256"
        );
    }
}
