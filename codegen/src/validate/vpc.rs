//! `vpc { subnets = [...], security_groups = [...] }`: the subnets and security groups Lambda attaches a
//! function to.

use crate::ast::{Entry, Spanned, Value};
use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::model::Vpc;

use super::values::{self, duplicate_key, duplicate_value, wrong_type};

/// The keys of a `vpc` block.
const KEYS: [&str; 2] = ["subnets", "security_groups"];
/// Lambda attaches a function to at most this many subnets.
pub(crate) const MAX_SUBNETS: usize = 16;
/// ... and this many security groups.
pub(crate) const MAX_SECURITY_GROUPS: usize = 5;
/// Hex digits after `subnet-` or `sg-` (AWS's ids have 8 or 17).
const MAX_ID_DIGITS: usize = 17;

const EXAMPLE: &str =
    "vpc { subnets = [\"subnet-0abc1234\"], security_groups = [\"sg-0abc1234\"] }";

/// One kind of id a `vpc` block lists.
struct Ids {
    key: &'static str,
    /// `subnet` or `sg`
    prefix: &'static str,
    /// "subnet", "security group"
    what: &'static str,
    max: usize,
}

const SUBNETS: Ids = Ids {
    key: "subnets",
    prefix: "subnet",
    what: "subnet",
    max: MAX_SUBNETS,
};
const SECURITY_GROUPS: Ids = Ids {
    key: "security_groups",
    prefix: "sg",
    what: "security group",
    max: MAX_SECURITY_GROUPS,
};

/// Reads `vpc { ... }` (its key written at `key`); `None` when anything is wrong (all of it reported).
pub(crate) fn read(v: &Spanned<Value>, key: Span, diags: &mut Vec<Diagnostic>) -> Option<Vpc> {
    let Value::Block(block) = &v.node else {
        diags.push(wrong_type(v, "a `vpc { ... }` block").help(format!("write `{EXAMPLE}`")));
        return None;
    };
    let before = diags.len();
    let mut seen: Vec<&Entry> = Vec::new();
    for entry in &block.entries {
        let k = entry.key.node.as_str();
        if let Some(first) = seen.iter().find(|e| e.key.node == k) {
            diags.push(duplicate_key(k, entry.key.span, first.key.span));
        } else if KEYS.contains(&k) {
            seen.push(entry);
        } else {
            diags.push(unknown_key(entry));
        }
    }
    let get = |ids: &Ids, diags: &mut Vec<Diagnostic>| match seen
        .iter()
        .find(|e| e.key.node == ids.key)
    {
        Some(e) => list(&e.value, ids, diags),
        None => {
            diags.push(
                Diagnostic::new(
                    ErrorKind::MissingKey,
                    key,
                    format!("`vpc` has no `{}`", ids.key),
                )
                .label(format!("needs `{}`", ids.key))
                .help(format!(
                    "Lambda attaches a function to a VPC through both its subnets and its security groups: `{EXAMPLE}`"
                )),
            );
            None
        }
    };
    let subnet_ids = get(&SUBNETS, diags);
    let security_group_ids = get(&SECURITY_GROUPS, diags);
    if diags.len() > before {
        return None;
    }
    Some(Vpc {
        subnet_ids: subnet_ids?,
        security_group_ids: security_group_ids?,
    })
}

fn unknown_key(entry: &Entry) -> Diagnostic {
    let k = entry.key.node.as_str();
    let alias = match k {
        "subnet" | "subnet_ids" | "subnetIds" | "SubnetIds" => Some("subnets"),
        "security_group" | "security_group_ids" | "securityGroupIds" | "SecurityGroupIds"
        | "sg" | "sgs" => Some("security_groups"),
        _ => did_you_mean(k, KEYS),
    };
    let d = Diagnostic::new(
        ErrorKind::UnknownKey,
        entry.key.span,
        format!("unknown key `{k}` in `vpc`"),
    )
    .label("unknown key");
    match alias {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None => d.help("`vpc` takes `subnets` and `security_groups`"),
    }
}

/// A non-empty list of distinct ids, at most `ids.max`.
fn list(v: &Spanned<Value>, ids: &Ids, diags: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let items = values::string_list(v, ids.key, diags)?;
    if items.is_empty() {
        diags.push(
            Diagnostic::new(
                ErrorKind::InvalidVpc,
                v.span,
                format!("`{}` is empty", ids.key),
            )
            .label(format!("no {}", ids.what))
            .help(format!(
                "list at least one {} id, or leave `vpc` out to run outside a VPC",
                ids.what
            )),
        );
        return None;
    }
    let before = diags.len();
    for (i, item) in items.iter().enumerate() {
        if i == ids.max {
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidVpc,
                    item.span,
                    format!(
                        "`{}` lists {} {}s; Lambda allows at most {}",
                        ids.key,
                        items.len(),
                        ids.what,
                        ids.max
                    ),
                )
                .label(format!(
                    "{} {} over the limit",
                    items.len() - ids.max,
                    ids.what
                ))
                .help(format!("list at most {} {}s", ids.max, ids.what)),
            );
        }
        if let Err(d) = id(&item.node, item.span, ids) {
            diags.push(d);
        } else if let Some(first) = items[..i].iter().find(|f| f.node == item.node) {
            diags.push(duplicate_value(
                &format!("{} `{}`", ids.what, item.node),
                item.span,
                first.span,
            ));
        }
    }
    (diags.len() == before).then(|| items.into_iter().map(|i| i.node).collect())
}

/// `subnet-0abc1234`, `sg-0abc1234`: the prefix, `-`, then 1 to 17 lowercase hex digits.
fn id(s: &str, span: Span, ids: &Ids) -> Result<(), Diagnostic> {
    let hex = s
        .strip_prefix(ids.prefix)
        .and_then(|rest| rest.strip_prefix('-'));
    let shaped = |h: &str| {
        (1..=MAX_ID_DIGITS).contains(&h.len())
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if hex.is_some_and(shaped) {
        return Ok(());
    }
    let lower = s.to_ascii_lowercase();
    let other = if ids.prefix == "sg" {
        &SUBNETS
    } else {
        &SECURITY_GROUPS
    };
    let help = if lower != s
        && lower
            .strip_prefix(ids.prefix)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(shaped)
    {
        format!("ids are lowercase: `{lower}`")
    } else if s.starts_with(&format!("{}-", other.prefix)) {
        format!("`{s}` is a {} id; it goes in `{}`", other.what, other.key)
    } else {
        format!(
            "{} ids are `{}-` and lowercase hex digits (AWS's have 8 or 17), e.g. `{}-0abc1234`",
            ids.what, ids.prefix, ids.prefix
        )
    };
    Err(Diagnostic::new(
        ErrorKind::InvalidVpc,
        span,
        format!("`{s}` is not a {} id", ids.what),
    )
    .label(format!("not a {} id", ids.what))
    .help(help))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Block;

    fn sp<T>(node: T, at: usize) -> Spanned<T> {
        Spanned::new(node, Span::new(at, at + 1))
    }

    fn strings(items: &[&str], at: usize) -> Value {
        Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, s)| sp(Value::Str(s.to_string()), at + i))
                .collect(),
        )
    }

    fn block(entries: &[(&str, Value)]) -> Spanned<Value> {
        let entries = entries
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Entry {
                key: sp(k.to_string(), i * 100),
                value: sp(v.clone(), i * 100 + 10),
                span: Span::new(i * 100, i * 100 + 50),
            })
            .collect();
        sp(
            Value::Block(Block {
                entries,
                span: Span::new(0, 500),
            }),
            0,
        )
    }

    fn run(v: &Spanned<Value>) -> (Option<Vpc>, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let vpc = read(v, Span::new(900, 903), &mut d);
        (vpc, d)
    }

    #[test]
    fn reads_subnets_and_groups() {
        let (vpc, d) = run(&block(&[
            (
                "subnets",
                strings(&["subnet-0abc", "subnet-0123456789abcdef0"], 10),
            ),
            ("security_groups", strings(&["sg-0abc"], 110)),
        ]));
        assert!(d.is_empty(), "{d:?}");
        let vpc = vpc.unwrap();
        assert_eq!(vpc.subnet_ids, ["subnet-0abc", "subnet-0123456789abcdef0"]);
        assert_eq!(vpc.security_group_ids, ["sg-0abc"]);
    }

    #[test]
    fn every_mistake() {
        let kinds =
            |v: &Spanned<Value>| -> Vec<ErrorKind> { run(v).1.iter().map(|d| d.kind).collect() };
        use ErrorKind::*;
        assert_eq!(
            kinds(&block(&[("subnets", strings(&["subnet-1"], 10))])),
            [MissingKey]
        );
        assert_eq!(
            kinds(&block(&[
                ("subnets", strings(&[], 10)),
                ("security_groups", strings(&["sg-1"], 110))
            ])),
            [InvalidVpc]
        );
        assert_eq!(
            kinds(&block(&[
                (
                    "subnets",
                    strings(
                        &["subnet-1", "subnet-xyz", "sg-2", "SUBNET-3", "subnet-1"],
                        10
                    )
                ),
                ("security_groups", strings(&["sg-1"], 110)),
                ("subnet_ids", strings(&[], 210)),
            ])),
            [
                UnknownKey,
                InvalidVpc,
                InvalidVpc,
                InvalidVpc,
                DuplicateValue
            ]
        );
        let groups: Vec<String> = (1..=6).map(|i| format!("sg-{i}")).collect();
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let (_, d) = run(&block(&[
            ("subnets", strings(&["subnet-1"], 10)),
            ("security_groups", strings(&groups, 110)),
        ]));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            (d[0].kind, d[0].span.start),
            (InvalidVpc, 115),
            "at the sixth"
        );
        let (_, d) = run(&sp(Value::Str("subnet-1".into()), 0));
        assert_eq!(d[0].kind, WrongType);
    }

    #[test]
    fn helps() {
        let help = |s: &str, ids: &Ids| id(s, Span::default(), ids).unwrap_err().help.unwrap();
        assert_eq!(
            help("SUBNET-0ABC", &SUBNETS),
            "ids are lowercase: `subnet-0abc`"
        );
        assert_eq!(
            help("sg-1", &SUBNETS),
            "`sg-1` is a security group id; it goes in `security_groups`"
        );
        assert!(help("subnet-", &SUBNETS).contains("8 or 17"));
        assert!(help(&format!("sg-{}", "a".repeat(18)), &SECURITY_GROUPS).contains("8 or 17"));
        let (_, d) = run(&block(&[("subnet_ids", strings(&[], 10))]));
        assert_eq!(d[0].help.as_deref(), Some("did you mean `subnets`?"));
    }
}
