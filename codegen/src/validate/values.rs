//! Typed readers for block values: each reports what is wrong and returns `None`, never panics.

use crate::ast::{Json, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};

/// `expected X, found Y` for a value of the wrong type, with a hint when the fix is obvious.
pub(crate) fn wrong_type(v: &Spanned<Value>, expected: &str) -> Diagnostic {
    let d = Diagnostic::new(
        ErrorKind::WrongType,
        v.span,
        format!("expected {expected}, found {}", v.node.describe()),
    )
    .label(format!("expected {expected}"));
    match &v.node {
        Value::Str(s) if expected != "a string" => d.help(format!("drop the quotes: `{s}`")),
        Value::Int(n) if expected == "a string" => d.help(format!("quote it: `\"{n}\"`")),
        Value::Bool(b) if expected == "a string" => d.help(format!("quote it: `\"{b}\"`")),
        Value::Ident(w) if expected == "a string" => d.help(format!("quote it: `\"{w}\"`")),
        _ => d,
    }
}

/// A string value.
pub(crate) fn string<'a>(v: &'a Spanned<Value>, diags: &mut Vec<Diagnostic>) -> Option<&'a str> {
    match &v.node {
        Value::Str(s) => Some(s),
        _ => {
            diags.push(wrong_type(v, "a string"));
            None
        }
    }
}

/// `true` or `false`.
pub(crate) fn boolean(v: &Spanned<Value>, key: &str, diags: &mut Vec<Diagnostic>) -> Option<bool> {
    match &v.node {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s == "true" || s == "false" => {
            diags.push(wrong_type(v, "`true` or `false`"));
            None
        }
        _ => {
            diags.push(
                wrong_type(v, "`true` or `false`")
                    .help(format!("write `{key} = true` or `{key} = false`")),
            );
            None
        }
    }
}

/// A string of at most `max` characters (`TooLong` otherwise).
pub(crate) fn bounded_string(
    v: &Spanned<Value>,
    key: &str,
    max: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let s = string(v, diags)?;
    let n = s.chars().count();
    if n > max {
        diags.push(
            Diagnostic::new(
                ErrorKind::TooLong,
                v.span,
                format!("`{key}` is {n} characters long; AWS allows at most {max}"),
            )
            .label(format!("{n} characters"))
            .help(format!("shorten it to {max} characters or fewer")),
        );
        return None;
    }
    Some(s.to_string())
}

/// A whole number in `min..=max`; `unit` (e.g. " MB") follows the bounds in messages.
pub(crate) fn int(
    v: &Spanned<Value>,
    key: &str,
    min: i64,
    max: i64,
    unit: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<i64> {
    let n = match &v.node {
        Value::Int(n) => *n,
        Value::Float(_) => {
            diags.push(wrong_type(v, "a whole number"));
            return None;
        }
        _ => {
            diags.push(wrong_type(v, "a number"));
            return None;
        }
    };
    if n < min || n > max {
        diags.push(out_of_range(
            v.span,
            key,
            &format!("{min}{unit}"),
            &format!("{max}{unit}"),
            &format!("{n}{unit}"),
        ));
        return None;
    }
    Some(n)
}

/// `OutOfRange` with the bounds in the message.
pub(crate) fn out_of_range(span: Span, key: &str, min: &str, max: &str, found: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorKind::OutOfRange,
        span,
        format!("`{key}` must be between {min} and {max}, found {found}"),
    )
    .label("out of range")
    .help(format!("use a value from {min} to {max}"))
}

/// A duration in whole seconds within `min..=max`.
pub(crate) fn seconds(
    v: &Spanned<Value>,
    key: &str,
    min: u32,
    max: u32,
    diags: &mut Vec<Diagnostic>,
) -> Option<u32> {
    let (amount, unit) = match &v.node {
        Value::Duration { amount, unit } => (*amount, *unit),
        Value::Int(n) => {
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidDuration,
                    v.span,
                    format!("`{key}` is a duration and needs a unit"),
                )
                .label("no unit")
                .help(format!("add a unit: `{n}s`")),
            );
            return None;
        }
        _ => {
            diags.push(wrong_type(v, "a duration"));
            return None;
        }
    };
    let written = format!("{amount}{}", unit.suffix());
    let millis = i128::from(amount) * i128::from(unit.millis());
    if millis % 1000 != 0 {
        let up = (millis / 1000 + 1).max(1);
        diags.push(
            Diagnostic::new(
                ErrorKind::InvalidDuration,
                v.span,
                format!("`{key}` takes whole seconds; `{written}` is not"),
            )
            .label("not a whole number of seconds")
            .help(format!("round it to whole seconds, e.g. `{up}s`")),
        );
        return None;
    }
    let secs = millis / 1000;
    if secs < i128::from(min) || secs > i128::from(max) {
        diags.push(out_of_range(
            v.span,
            key,
            &format!("{min}s"),
            &format!("{max}s"),
            &format!("`{written}`"),
        ));
        return None;
    }
    u32::try_from(secs).ok()
}

/// A key/value pair of a string map (env, tags), both with their spans.
pub(crate) type Pair = (Spanned<String>, Spanned<String>);

/// A map of strings, written `key { K = "v" }` or `key = { "K": "v" }`; duplicates are reported.
pub(crate) fn string_map(
    v: &Spanned<Value>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Pair>> {
    let mut out: Vec<Pair> = Vec::new();
    let mut ok = true;
    let push = |k: &Spanned<String>,
                val: Spanned<String>,
                out: &mut Vec<Pair>,
                diags: &mut Vec<Diagnostic>| {
        if let Some((first, _)) = out.iter().find(|(f, _)| f.node == k.node) {
            diags.push(duplicate_key(&k.node, k.span, first.span));
        } else {
            out.push((k.clone(), val));
        }
    };
    match &v.node {
        Value::Block(block) => {
            for e in &block.entries {
                match &e.value.node {
                    Value::Str(s) => push(
                        &e.key,
                        Spanned::new(s.clone(), e.value.span),
                        &mut out,
                        diags,
                    ),
                    _ => {
                        diags.push(wrong_type(&e.value, "a string"));
                        ok = false;
                    }
                }
            }
        }
        Value::Json(Json::Object(members)) => {
            for (k, val) in members {
                match &val.node {
                    Json::Str(s) => push(k, Spanned::new(s.clone(), val.span), &mut out, diags),
                    other => {
                        let d = Diagnostic::new(
                            ErrorKind::WrongType,
                            val.span,
                            format!("expected a string, found {}", other.describe()),
                        )
                        .label("expected a string");
                        let d = match other {
                            Json::Number(n) => d.help(format!("quote it: `\"{n}\"`")),
                            Json::Bool(b) => d.help(format!("quote it: `\"{b}\"`")),
                            _ => d,
                        };
                        diags.push(d);
                        ok = false;
                    }
                }
            }
        }
        _ => {
            diags.push(
                wrong_type(
                    v,
                    &format!("a map of strings (`{key} {{ NAME = \"value\" }}`)"),
                )
                .help(format!("write `{key} {{ NAME = \"value\" }}`")),
            );
            return None;
        }
    }
    ok.then_some(out)
}

/// A list of strings, e.g. `layers = ["arn:..."]`; every item that is not a string is reported.
pub(crate) fn string_list(
    v: &Spanned<Value>,
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Spanned<String>>> {
    let items = match &v.node {
        Value::List(items) => items,
        Value::Str(s) => {
            diags.push(
                wrong_type(v, "a list of strings")
                    .help(format!("put it in brackets: `{key} = [\"{s}\"]`")),
            );
            return None;
        }
        _ => {
            diags.push(
                wrong_type(v, "a list of strings")
                    .help(format!("write `{key} = [\"...\", \"...\"]`")),
            );
            return None;
        }
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match &item.node {
            Value::Str(s) => out.push(Spanned::new(s.clone(), item.span)),
            _ => {
                diags.push(wrong_type(item, "a string"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `DuplicateValue` for `what` (e.g. "layer `arn:...`") listed again at `span`, first at `first`.
pub(crate) fn duplicate_value(what: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorKind::DuplicateValue,
        span,
        format!("{what} is listed twice"),
    )
    .label("listed again here")
    .related(first, "first listed here")
    .help("remove one of the two")
}

/// The words a bare-word setting takes (`log_level = info`), and how to talk about them.
pub(crate) struct Choice<T: 'static> {
    /// The key, e.g. `log_level`.
    pub key: &'static str,
    /// What a value is, e.g. "log level".
    pub what: &'static str,
    pub words: &'static [(&'static str, T)],
    /// Common misspellings and what they mean, e.g. `("warning", "warn")`.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Said when no word is close.
    pub help: &'static str,
}

impl<T> Choice<T> {
    /// `` `a`, `b` or `c` ``
    fn expected(&self) -> String {
        let words: Vec<String> = self.words.iter().map(|(w, _)| format!("`{w}`")).collect();
        match words.as_slice() {
            [init @ .., last] if !init.is_empty() => format!("{} or {last}", init.join(", ")),
            _ => words.concat(),
        }
    }
}

/// One of `choice`'s bare words; a misspelt one is reported with the closest word.
pub(crate) fn choice<T: Copy>(
    v: &Spanned<Value>,
    choice: &Choice<T>,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    let word = match &v.node {
        Value::Ident(w) => w.as_str(),
        _ => {
            let d = wrong_type(v, &choice.expected());
            diags.push(match d.help {
                Some(_) => d,
                None => {
                    let first = choice.words.first().map_or("", |(w, _)| *w);
                    d.help(format!(
                        "write a bare word, e.g. `{} = {first}`",
                        choice.key
                    ))
                }
            });
            return None;
        }
    };
    if let Some((_, value)) = choice.words.iter().find(|(w, _)| *w == word) {
        return Some(*value);
    }
    let lower = word.to_ascii_lowercase();
    let hint = choice
        .words
        .iter()
        .map(|(w, _)| *w)
        .find(|w| *w == lower)
        .or_else(|| {
            choice
                .aliases
                .iter()
                .find(|(alias, _)| *alias == lower)
                .map(|(_, w)| *w)
        })
        .or_else(|| did_you_mean(&lower, choice.words.iter().map(|(w, _)| *w)));
    let d = Diagnostic::new(
        ErrorKind::InvalidValue,
        v.span,
        format!(
            "unknown {} `{word}`; `{}` takes {}",
            choice.what,
            choice.key,
            choice.expected()
        ),
    )
    .label(format!("not a {}", choice.what));
    diags.push(match hint {
        Some(h) => d.help(format!("did you mean `{h}`?")),
        None => d.help(choice.help),
    });
    None
}

/// `DuplicateKey` pointing at the second occurrence, with the first as related.
pub(crate) fn duplicate_key(key: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        ErrorKind::DuplicateKey,
        span,
        format!("`{key}` is set twice"),
    )
    .label("set again here")
    .related(first, "first set here")
    .help(format!("remove one of the two `{key}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Block, DurationUnit, Entry};

    fn sp<T>(node: T) -> Spanned<T> {
        Spanned::new(node, Span::new(10, 14))
    }

    #[test]
    fn seconds_need_a_unit_and_whole_seconds() {
        let mut d = Vec::new();
        assert_eq!(
            seconds(&sp(Value::Int(60)), "timeout", 1, 900, &mut d),
            None
        );
        assert_eq!(d[0].kind, ErrorKind::InvalidDuration);
        assert_eq!(d[0].help.as_deref(), Some("add a unit: `60s`"));
        let ms = Value::Duration {
            amount: 1500,
            unit: DurationUnit::Millis,
        };
        assert_eq!(seconds(&sp(ms), "timeout", 1, 900, &mut d), None);
        assert_eq!(d[1].kind, ErrorKind::InvalidDuration);
        let m = Value::Duration {
            amount: 2,
            unit: DurationUnit::Minutes,
        };
        assert_eq!(seconds(&sp(m), "timeout", 1, 900, &mut d), Some(120));
        let h = Value::Duration {
            amount: 1,
            unit: DurationUnit::Hours,
        };
        assert_eq!(seconds(&sp(h), "timeout", 1, 900, &mut d), None);
        assert_eq!(d[2].kind, ErrorKind::OutOfRange);
        assert!(d[2].message.contains("1s and 900s"), "{}", d[2].message);
        let huge = Value::Duration {
            amount: i64::MAX,
            unit: DurationUnit::Hours,
        };
        assert_eq!(seconds(&sp(huge), "timeout", 1, 900, &mut d), None);
        assert_eq!(d.len(), 4);
    }

    #[test]
    fn int_bounds_and_types() {
        let mut d = Vec::new();
        assert_eq!(
            int(&sp(Value::Int(256)), "memory", 128, 10240, "", &mut d),
            Some(256)
        );
        assert_eq!(
            int(&sp(Value::Int(64)), "memory", 128, 10240, "", &mut d),
            None
        );
        assert_eq!(
            int(
                &sp(Value::Str("256".into())),
                "memory",
                128,
                10240,
                "",
                &mut d
            ),
            None
        );
        assert_eq!(d[0].kind, ErrorKind::OutOfRange);
        assert_eq!(d[1].kind, ErrorKind::WrongType);
        assert_eq!(d[1].message, "expected a number, found a string");
        assert_eq!(d[1].help.as_deref(), Some("drop the quotes: `256`"));
    }

    #[test]
    fn string_maps_accept_blocks_and_json_and_report_duplicates() {
        let k = |s: &str, at: usize| Spanned::new(s.to_string(), Span::new(at, at + s.len()));
        let entry = |key: &str, at: usize, value: Value| Entry {
            key: k(key, at),
            value: Spanned::new(value, Span::new(at + 5, at + 8)),
            span: Span::new(at, at + 8),
        };
        let block = Value::Block(Block {
            entries: vec![
                entry("A", 0, Value::Str("1".into())),
                entry("A", 20, Value::Str("2".into())),
                entry("B", 40, Value::Int(3)),
            ],
            span: Span::new(0, 50),
        });
        let mut d = Vec::new();
        assert_eq!(string_map(&sp(block), "env", &mut d), None);
        let kinds: Vec<_> = d.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [ErrorKind::DuplicateKey, ErrorKind::WrongType]);
        assert_eq!(d[0].span.start, 20);
        assert_eq!(d[0].related[0].0.start, 0);

        let json = Value::Json(Json::Object(vec![(
            k("X", 3),
            Spanned::new(Json::Str("y".into()), Span::new(6, 9)),
        )]));
        let mut d = Vec::new();
        let map = string_map(&sp(json), "env", &mut d).unwrap();
        assert_eq!((map[0].0.node.as_str(), map[0].1.node.as_str()), ("X", "y"));
        assert!(string_map(&sp(Value::Int(1)), "env", &mut d).is_none());
        assert_eq!(d[0].kind, ErrorKind::WrongType);
    }
}
