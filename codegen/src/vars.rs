//! Variables in `events.chalice` strings: `${app}` and `${stage}` (known at build time, resolved per
//! stage) and `${partition}`, `${region}`, `${account}` (known at deploy time: they become the plan's
//! `{partition}`, `{region}`, `{account}` placeholders, filled by [`crate::plan::Arn::resolve`]).
//!
//! IAM's own policy variables (`${aws:username}`, `${*}`, ...) have a `:` or are not words; they are
//! left as written, for IAM.

/// Variables resolved at build time, for each stage.
pub const STAGE_VARIABLES: [&str; 2] = ["app", "stage"];
/// Variables resolved at deploy time (ARNs and policy documents only).
pub const DEPLOY_VARIABLES: [&str; 3] = ["partition", "region", "account"];

/// One `${...}` in a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The text between the braces.
    pub name: &'a str,
    /// Byte range of the whole `${...}` in the string.
    pub start: usize,
    pub end: usize,
}

impl Reference<'_> {
    /// IAM's own policy variables (`${aws:SourceIp}`, `${*}`, `${?}`, `${$}`) pass through untouched.
    pub fn is_iam(&self) -> bool {
        self.name.contains(':') || matches!(self.name, "*" | "?" | "$")
    }
}

/// Every `${...}` in `s`, in order; `Err(start)` for a `${` that is never closed.
pub fn references(s: &str) -> Result<Vec<Reference<'_>>, usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("${") {
        let start = from + i;
        let Some(len) = s[start + 2..].find('}') else {
            return Err(start);
        };
        let end = start + 2 + len + 1;
        out.push(Reference {
            name: &s[start + 2..end - 1],
            start,
            end,
        });
        from = end;
    }
    Ok(out)
}

/// `s` with `${app}` and `${stage}` substituted and the deploy-time variables as plan placeholders.
pub fn resolve(s: &str, app: &str, stage: &str) -> String {
    if !s.contains("${") {
        return s.to_string();
    }
    let Ok(refs) = references(s) else {
        return s.to_string();
    };
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for r in refs {
        out.push_str(&s[at..r.start]);
        match r.name {
            "app" => out.push_str(app),
            "stage" => out.push_str(stage),
            name if DEPLOY_VARIABLES.contains(&name) => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
            _ => out.push_str(&s[r.start..r.end]),
        }
        at = r.end;
    }
    out.push_str(&s[at..]);
    out
}

/// Every string of a JSON value (not its keys) through [`resolve`].
pub fn resolve_json(v: &serde_json::Value, app: &str, stage: &str) -> serde_json::Value {
    map_strings(v, &|s| resolve(s, app, stage))
}

/// `v` with every string (not the keys) replaced by `f` of it.
pub(crate) fn map_strings(v: &serde_json::Value, f: &dyn Fn(&str) -> String) -> serde_json::Value {
    use serde_json::Value as V;
    match v {
        V::String(s) => V::String(f(s)),
        V::Array(items) => V::Array(items.iter().map(|i| map_strings(i, f)).collect()),
        V::Object(members) => V::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), map_strings(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_stage_variables_and_keeps_iam_ones() {
        assert_eq!(
            resolve(
                "arn:${partition}:s3:::uploads-${stage}/${aws:username}/*",
                "orders",
                "prod"
            ),
            "arn:{partition}:s3:::uploads-prod/${aws:username}/*"
        );
        assert_eq!(resolve("${app}-${stage}", "a", "dev"), "a-dev");
        assert_eq!(resolve("plain", "a", "dev"), "plain");
        assert_eq!(resolve("open ${app", "a", "dev"), "open ${app");
    }

    #[test]
    fn finds_references_with_ranges() {
        let refs = references("x${app}y${aws:x}").unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!((refs[0].name, refs[0].start, refs[0].end), ("app", 1, 7));
        assert!(refs[1].is_iam() && !refs[0].is_iam());
        assert_eq!(references("a${b"), Err(1));
    }
}
