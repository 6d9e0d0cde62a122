//! Function settings (memory, timeout, env, tags, reserved concurrency, architecture) and their merged limits.

use std::collections::BTreeMap;

use crate::ast::{Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::model::{Architecture, Settings, SettingsPatch};

use super::keys::Entries;
use super::values::{self, Pair};

/// Lambda's cap on the environment of one function (keys plus values, bytes).
pub(crate) const MAX_ENV_BYTES: usize = 4096;
/// AWS allows 50 tags; chalice-rs adds `chalice:app` and `chalice:stage`.
pub(crate) const MAX_USER_TAGS: usize = 48;

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

/// One layer of settings (`defaults`, a stage, a binding) and where it was written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layer {
    pub patch: SettingsPatch,
    /// The `env` key, if the layer sets one.
    pub env_span: Option<Span>,
    /// The `tags` key, if the layer sets one.
    pub tags_span: Option<Span>,
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
            layer.patch.env = checked_map(pairs, env_key, diags);
        }
    }
    if let Some(e) = entries.get("tags") {
        layer.tags_span = Some(e.key.span);
        if let Some(pairs) = values::string_map(&e.value, "tags", diags) {
            layer.patch.tags = checked_map(pairs, tag, diags);
        }
    }
    layer
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

fn tag(k: &Spanned<String>, v: &Spanned<String>) -> Option<Diagnostic> {
    let key = k.node.as_str();
    let allowed = "tags use letters, digits, spaces and `_ . : / = + - @`";
    let invalid = |span: Span, message: String, label: &str, help: &str| {
        Some(
            Diagnostic::new(ErrorKind::InvalidTag, span, message)
                .label(label)
                .help(help),
        )
    };
    let n = key.chars().count();
    if !(1..=128).contains(&n) {
        return invalid(
            k.span,
            format!("tag key `{key}` is {n} characters; AWS allows 1 to 128"),
            "wrong length",
            allowed,
        );
    }
    if let Some(c) = key.chars().find(|c| !tag_char(*c)) {
        return invalid(
            k.span,
            format!("tag key `{key}` contains `{c}`"),
            "not allowed in a tag",
            allowed,
        );
    }
    let lower = key.to_lowercase();
    if lower.starts_with("aws:") {
        return invalid(
            k.span,
            format!("tag key `{key}` starts with `aws:`"),
            "reserved prefix",
            "AWS reserves the `aws:` prefix",
        );
    }
    if lower.starts_with("chalice:") {
        return invalid(
            k.span,
            format!("tag key `{key}` starts with `chalice:`"),
            "reserved prefix",
            "chalice-rs sets `chalice:app` and `chalice:stage` itself; pick another prefix",
        );
    }
    let value = v.node.as_str();
    let n = value.chars().count();
    if n > 256 {
        return invalid(
            v.span,
            format!("tag value is {n} characters; AWS allows 256"),
            "too long",
            "shorten the value",
        );
    }
    if let Some(c) = value.chars().find(|c| !tag_char(*c)) {
        return invalid(
            v.span,
            format!("tag value `{value}` contains `{c}`"),
            "not allowed in a tag",
            allowed,
        );
    }
    None
}

/// A limit on a function's merged settings, checked per stage.
struct Limit {
    measure: fn(&Settings) -> usize,
    max: usize,
    kind: ErrorKind,
    span: fn(&Layer) -> Option<Span>,
    describe: fn(usize, usize) -> String,
    help: &'static str,
}

fn env_bytes(s: &Settings) -> usize {
    s.env.iter().map(|(k, v)| k.len() + v.len()).sum()
}

const LIMITS: [Limit; 2] = [
    Limit {
        measure: env_bytes,
        max: MAX_ENV_BYTES,
        kind: ErrorKind::InvalidEnvironment,
        span: |l| l.env_span,
        describe: |n, max| format!("environment variables take {n} bytes; Lambda allows {max}"),
        help: "shorten or drop variables (names and values count); pass large values another way (SSM, S3)",
    },
    Limit {
        measure: |s| s.tags.len(),
        max: MAX_USER_TAGS,
        kind: ErrorKind::InvalidTag,
        span: |l| l.tags_span,
        describe: |n, max| {
            format!("{n} tags; at most {max} are allowed (AWS's 50 less the 2 chalice-rs adds)")
        },
        help: "drop some tags",
    },
];

/// Checks the env size and tag count of every function in every stage (`stages` includes `dev`).
pub(crate) fn check_merged(
    defaults: &Layer,
    stages: &[(&str, &Layer)],
    bindings: &[(&str, &Layer)],
    diags: &mut Vec<Diagnostic>,
) {
    for limit in &LIMITS {
        let at = |layer: &Layer| (limit.span)(layer).unwrap_or(layer.anchor);
        let base = Settings::default().apply(&defaults.patch);
        let n = (limit.measure)(&base);
        if n > limit.max {
            diags.push(
                Diagnostic::new(
                    limit.kind,
                    at(defaults),
                    format!("in `defaults`: {}", (limit.describe)(n, limit.max)),
                )
                .label("over the limit")
                .help(limit.help),
            );
            continue;
        }
        let mut fitting: Vec<(&str, Settings)> = Vec::new();
        for (name, layer) in stages {
            let merged = base.apply(&layer.patch);
            let n = (limit.measure)(&merged);
            if n > limit.max {
                diags.push(
                    Diagnostic::new(
                        limit.kind,
                        at(layer),
                        format!("in stage `{name}`: {}", (limit.describe)(n, limit.max)),
                    )
                    .label("over the limit")
                    .help(limit.help),
                );
            } else {
                fitting.push((name, merged));
            }
        }
        for (handler, layer) in bindings {
            let over = fitting.iter().find_map(|(stage, base)| {
                let n = (limit.measure)(&base.apply(&layer.patch));
                (n > limit.max).then_some((stage, n))
            });
            if let Some((stage, n)) = over {
                diags.push(
                    Diagnostic::new(
                        limit.kind,
                        at(layer),
                        format!(
                            "handler `{handler}` in stage `{stage}`: {}",
                            (limit.describe)(n, limit.max)
                        ),
                    )
                    .label("over the limit once merged with `defaults` and the stage")
                    .help(limit.help),
                );
            }
        }
    }
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

    #[test]
    fn merged_limits() {
        let layer = |env: &[(&str, usize)], anchor: usize| {
            let mut l = Layer {
                anchor: Span::new(anchor, anchor + 1),
                ..Layer::default()
            };
            for (k, n) in env {
                l.patch.env.insert(k.to_string(), "x".repeat(*n));
            }
            if !env.is_empty() {
                l.env_span = Some(Span::new(anchor + 100, anchor + 103));
            }
            l
        };
        let defaults = layer(&[("A", 2000)], 0);
        let dev = layer(&[], 10);
        let prod = layer(&[("B", 2000)], 20);
        let small = layer(&[("C", 10)], 30);
        let big = layer(&[("D", 1000)], 40);
        let mut d = Vec::new();
        check_merged(
            &defaults,
            &[("dev", &dev), ("prod", &prod)],
            &[("small", &small), ("big", &big)],
            &mut d,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].span.start, 140, "on the binding's env");
        assert!(
            d[0].message.contains("handler `big` in stage `prod`"),
            "{}",
            d[0].message
        );

        let mut tagged = Layer::default();
        for i in 0..49 {
            tagged.patch.tags.insert(format!("t{i}"), String::new());
        }
        let mut d = Vec::new();
        check_merged(&tagged, &[("dev", &dev)], &[], &mut d);
        assert_eq!(d[0].kind, ErrorKind::InvalidTag);
    }
}
