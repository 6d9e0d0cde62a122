//! Stable CloudFormation logical ids, derived from handler names: `on_order` → `OnOrder`, then a
//! suffix per resource (`OnOrderFunction`, `OnOrderRole`, ...).
//!
//! Two handlers whose names give the same base (`a_b1` and `a_b_1` both give `AB1`) each get a short
//! hash of their own name appended, so their ids differ and stay the same from run to run. Any id used
//! twice in a template is still refused when it is added ([`super::TemplateError::DuplicateLogicalId`]).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

/// The base of each handler's logical ids, by handler name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalIds {
    bases: BTreeMap<String, String>,
}

/// `on_order` → `OnOrder`: each `_`-separated part capitalised, anything not an ASCII letter or digit
/// dropped (CloudFormation allows only those).
pub fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let clean: String = part.chars().filter(char::is_ascii_alphanumeric).collect();
            let mut chars = clean.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Eight hex digits of the sha256 of `name`.
fn short_hash(name: &str) -> String {
    hex::encode(&Sha256::digest(name.as_bytes())[..4])
}

impl LogicalIds {
    /// The bases of `handlers`' ids: the name in PascalCase, with a hash of the name when another
    /// handler's name gives the same (or when the name gives nothing usable).
    pub fn new<'a>(handlers: impl IntoIterator<Item = &'a str>) -> LogicalIds {
        let handlers: BTreeSet<&str> = handlers.into_iter().collect();
        let mut by_base: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for h in &handlers {
            by_base.entry(pascal_case(h)).or_default().push(h);
        }
        let mut bases = BTreeMap::new();
        for (base, names) in by_base {
            let clash = names.len() > 1 || base.is_empty();
            for name in names {
                let id = if clash {
                    format!("H{base}{}", short_hash(name))
                } else if base.starts_with(|c: char| c.is_ascii_digit()) {
                    format!("H{base}")
                } else {
                    base.clone()
                };
                bases.insert(name.to_owned(), id);
            }
        }
        LogicalIds { bases }
    }

    /// `handler`'s base followed by `suffix` (`OnOrder` + `Function`).
    pub fn of(&self, handler: &str, suffix: &str) -> String {
        let base = self
            .bases
            .get(handler)
            .cloned()
            .unwrap_or_else(|| format!("H{}", short_hash(handler)));
        format!("{base}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_names_become_pascal_case() {
        assert_eq!(pascal_case("on_order"), "OnOrder");
        assert_eq!(pascal_case("every_hour"), "EveryHour");
        assert_eq!(pascal_case("nightly"), "Nightly");
        assert_eq!(pascal_case("a__b_"), "AB");
        assert_eq!(pascal_case("x2_y"), "X2Y");
    }

    #[test]
    fn ids_are_stable_and_clashes_get_hashes() {
        let ids = LogicalIds::new(["on_order", "a_b1", "a_b_1", "v_2"]);
        assert_eq!(ids.of("on_order", "Function"), "OnOrderFunction");
        let (x, y) = (ids.of("a_b1", "Role"), ids.of("a_b_1", "Role"));
        assert_ne!(x, y);
        assert!(x.starts_with("HAB1") && x.ends_with("Role"), "{x}");
        assert_eq!(ids, LogicalIds::new(["a_b_1", "v_2", "a_b1", "on_order"]));
        assert_eq!(ids.of("v_2", ""), "V2");
        for id in [x, y] {
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        }
    }
}
