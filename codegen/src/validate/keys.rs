//! Which keys a block may hold: duplicates and unknown keys (with "did you mean").

use crate::ast::{Block, Entry, Kind};
use crate::diag::{Diagnostic, ErrorKind, did_you_mean};

use super::delivery;
use super::values::duplicate_key;

/// Function settings: the keys of `defaults`, `stage` and every binding block.
pub(crate) const SETTING_KEYS: &[&str] = &[
    "memory",
    "timeout",
    "env",
    "tags",
    "reserved_concurrency",
    "architecture",
    "policy",
    "managed_policies",
    "role",
    "log_retention",
    "log_level",
    "log_format",
    "tracing",
    "layers",
    "ephemeral_storage",
    "vpc",
];

/// The options a kind of binding takes besides the function settings.
pub(crate) fn kind_keys(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Schedule => &["description"],
        Kind::Rule => &["pattern", "bus", "description"],
        Kind::Bucket => &["events", "prefix", "suffix"],
        Kind::Topic => &[],
        Kind::Queue => &["batch_size", "batching_window", "maximum_concurrency"],
        Kind::Stream | Kind::Table => &["batch_size", "starting_position", "batching_window"],
    }
}

/// Where a block is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Defaults,
    Stage,
    Binding(Kind),
}

impl Scope {
    fn valid_keys(self) -> Vec<&'static str> {
        let mut keys = SETTING_KEYS.to_vec();
        if let Scope::Binding(kind) = self {
            keys.extend_from_slice(kind_keys(kind));
            keys.extend(delivery::keys_for(kind));
        }
        keys
    }

    fn place(self) -> String {
        match self {
            Scope::Defaults => "in `defaults`".to_string(),
            Scope::Stage => "in a stage".to_string(),
            Scope::Binding(kind) => format!("for a {} binding", kind.keyword()),
        }
    }
}

/// A block's entries with duplicates and unknown keys removed (and reported).
#[derive(Debug, Default)]
pub(crate) struct Entries<'a> {
    list: Vec<&'a Entry>,
}

impl<'a> Entries<'a> {
    /// The entry for `key`, if it was written (once).
    pub(crate) fn get(&self, key: &str) -> Option<&'a Entry> {
        self.list.iter().copied().find(|e| e.key.node == key)
    }
}

/// Checks a block's keys against `scope` and returns the usable entries.
pub(crate) fn check<'a>(
    block: Option<&'a Block>,
    scope: Scope,
    diags: &mut Vec<Diagnostic>,
) -> Entries<'a> {
    let mut entries = Entries::default();
    let Some(block) = block else {
        return entries;
    };
    let valid = scope.valid_keys();
    let mut seen: Vec<&Entry> = Vec::new();
    for entry in &block.entries {
        let key = entry.key.node.as_str();
        if let Some(first) = seen.iter().find(|e| e.key.node == key) {
            diags.push(duplicate_key(key, entry.key.span, first.key.span));
            continue;
        }
        seen.push(entry);
        if valid.contains(&key) {
            entries.list.push(entry);
        } else {
            diags.push(unknown_key(entry, scope, &valid));
        }
    }
    entries
}

fn unknown_key(entry: &Entry, scope: Scope, valid: &[&'static str]) -> Diagnostic {
    let key = entry.key.node.as_str();
    let d = Diagnostic::new(
        ErrorKind::UnknownKey,
        entry.key.span,
        format!("unknown key `{key}` {}", scope.place()),
    )
    .label("unknown key");
    let kind = match scope {
        Scope::Binding(kind) => Some(kind),
        Scope::Defaults | Scope::Stage => None,
    };
    if let Some(help) = delivery::misplaced_help(key, kind) {
        return d.help(help);
    }
    let owners: Vec<&str> = Kind::ALL
        .into_iter()
        .filter(|k| kind_keys(*k).contains(&key))
        .map(Kind::keyword)
        .collect();
    let only_settings = matches!(scope, Scope::Defaults | Scope::Stage);
    if !owners.is_empty() {
        let owners = join_words(&owners);
        let help = if only_settings {
            format!(
                "`{key}` is an option of {owners} bindings; `defaults` and stages take function settings only ({})",
                SETTING_KEYS.join(", ")
            )
        } else {
            format!("`{key}` is an option of {owners} bindings")
        };
        return d.help(help);
    }
    if let Some(best) = did_you_mean(key, valid.iter().copied()) {
        return d.help(format!("did you mean `{best}`?"));
    }
    d.help(format!("valid keys here: {}", valid.join(", ")))
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Spanned, Value};
    use crate::diag::Span;

    fn block(keys: &[&str]) -> Block {
        let entries = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Entry {
                key: Spanned::new(k.to_string(), Span::new(i * 10, i * 10 + k.len())),
                value: Spanned::new(Value::Int(1), Span::new(i * 10 + 8, i * 10 + 9)),
                span: Span::new(i * 10, i * 10 + 9),
            })
            .collect();
        Block {
            entries,
            span: Span::new(0, 100),
        }
    }

    #[test]
    fn unknown_keys_get_suggestions_or_owners() {
        let b = block(&["batchsize", "prefix", "zzz", "memory"]);
        let mut d = Vec::new();
        let entries = check(Some(&b), Scope::Binding(Kind::Queue), &mut d);
        assert!(entries.get("memory").is_some());
        assert_eq!(d.len(), 3);
        assert!(d.iter().all(|d| d.kind == ErrorKind::UnknownKey));
        assert_eq!(d[0].help.as_deref(), Some("did you mean `batch_size`?"));
        assert_eq!(
            d[1].help.as_deref(),
            Some("`prefix` is an option of bucket bindings")
        );
        assert!(
            d[2].help
                .as_deref()
                .unwrap()
                .starts_with("valid keys here: memory")
        );
    }

    #[test]
    fn stages_take_settings_only() {
        let b = block(&["batch_size"]);
        let mut d = Vec::new();
        check(Some(&b), Scope::Stage, &mut d);
        let help = d[0].help.as_deref().unwrap();
        assert!(
            help.starts_with("`batch_size` is an option of queue, stream and table bindings"),
            "{help}"
        );
    }

    #[test]
    fn duplicates_point_at_the_second() {
        let b = block(&["memory", "memory"]);
        let mut d = Vec::new();
        let entries = check(Some(&b), Scope::Defaults, &mut d);
        assert_eq!(d[0].kind, ErrorKind::DuplicateKey);
        assert_eq!(d[0].span.start, 10);
        assert_eq!(entries.get("memory").map(|e| e.key.span.start), Some(0));
    }
}
