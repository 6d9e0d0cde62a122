//! Variables written in strings: each `${...}` closed, known, and allowed where it is written.
//!
//! Resolving them is [`crate::vars`]' job; checking what a string becomes in each stage is
//! [`super::stages`]'.

use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::vars::{self, DEPLOY_VARIABLES, Reference, STAGE_VARIABLES};

use super::names::inside;

/// Which variables a string may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allow {
    /// `${app}` and `${stage}`: names, URLs, env and tag values.
    Stage,
    /// Those and the deploy-time `${partition}`, `${region}`, `${account}`: ARNs.
    Arn,
    /// All of those and IAM's own (`${aws:username}`, `${*}`, ...): policy documents.
    Policy,
}

/// Where the deploy-time variables may go (the help of a misplaced one).
pub(crate) const DEPLOY_TIME_PLACES: &str = "`${partition}`, `${region}` and `${account}` are known at deploy time only: they go in ARNs (a source or an `on_failure` destination given by its ARN, `role`, `layers`, `managed_policies`) and in `policy` documents";

/// Checks every `${...}` in `text`, a string literal written at `span` that holds `what`
/// (e.g. "a queue name"); `true` when there is nothing to report.
pub(crate) fn check(
    text: &str,
    span: Span,
    allow: Allow,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if !text.contains("${") {
        return true;
    }
    let before = diags.len();
    let (refs, unclosed) = match vars::references(text) {
        Ok(refs) => (refs, None),
        // Every `${` before the unclosed one is closed.
        Err(at) => (vars::references(&text[..at]).unwrap_or_default(), Some(at)),
    };
    for r in &refs {
        if let Some(d) = reference(text, span, r, allow, what) {
            diags.push(d);
        }
    }
    if let Some(at) = unclosed {
        diags.push(
            Diagnostic::new(
                ErrorKind::UnclosedVariable,
                inside(span, text, at, text.len()),
                format!("unclosed `${{` in {what}"),
            )
            .label("`${` without a closing `}`")
            .help("close the variable with `}`, e.g. `${stage}`"),
        );
    }
    diags.len() == before
}

/// Where variables are resolved (the help of one written elsewhere).
const RESOLVED_PLACES: &str = "variables are resolved in source names, URLs and ARNs, a rule's `bus`, `env` and `tags` values, `role`, `layers`, `managed_policies` and `policy` documents";

/// Reports the variables (`${app}`, `${stage}`, `${region}`, ...) in `text`, a string literal at `span`
/// where none is resolved (`what` says which, e.g. "`prefix`"), so that it is not deployed as written.
/// Other `${...}` are plain text there. `true` when there is nothing to report.
pub(crate) fn check_unresolved(
    text: &str,
    span: Span,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let refs = match vars::references(text) {
        Ok(refs) => refs,
        Err(at) => vars::references(&text[..at]).unwrap_or_default(),
    };
    let before = diags.len();
    for r in refs {
        if STAGE_VARIABLES.contains(&r.name) || DEPLOY_VARIABLES.contains(&r.name) {
            diags.push(
                Diagnostic::new(
                    ErrorKind::MisplacedVariable,
                    inside(span, text, r.start, r.end),
                    format!("`{}` is not resolved in {what}", &text[r.start..r.end]),
                )
                .label("would be deployed as written")
                .help(format!("{RESOLVED_PLACES}; write the value out here")),
            );
        }
    }
    diags.len() == before
}

/// What is wrong with one `${...}`, if anything.
fn reference(
    text: &str,
    span: Span,
    r: &Reference<'_>,
    allow: Allow,
    what: &str,
) -> Option<Diagnostic> {
    let at = inside(span, text, r.start, r.end);
    let written = &text[r.start..r.end];
    if STAGE_VARIABLES.contains(&r.name) {
        return None;
    }
    if DEPLOY_VARIABLES.contains(&r.name) {
        if allow != Allow::Stage {
            return None;
        }
        return Some(
            Diagnostic::new(
                ErrorKind::MisplacedVariable,
                at,
                format!("`{written}` cannot be used in {what}"),
            )
            .label("known at deploy time only")
            .help(format!(
                "{DEPLOY_TIME_PLACES}; here use `${{app}}` and `${{stage}}`"
            )),
        );
    }
    if r.is_iam() {
        if allow == Allow::Policy {
            return None;
        }
        return Some(
            Diagnostic::new(
                ErrorKind::MisplacedVariable,
                at,
                format!("IAM policy variable `{written}` cannot be used in {what}"),
            )
            .label("IAM's own variable")
            .help("IAM resolves its variables (`${aws:...}`, `${*}`, `${?}`, `${$}`) in `policy` documents only"),
        );
    }
    let known = STAGE_VARIABLES.iter().chain(&DEPLOY_VARIABLES).copied();
    let trimmed = r.name.trim();
    let suggestion = known
        .clone()
        .find(|k| k.eq_ignore_ascii_case(trimmed))
        .or_else(|| did_you_mean(r.name, known.clone()));
    let d = Diagnostic::new(
        ErrorKind::UnknownVariable,
        at,
        format!("unknown variable `{written}` in {what}"),
    )
    .label("not a variable");
    let mut help = match suggestion {
        Some(s) => format!("did you mean `${{{s}}}`?"),
        None => "the variables are `${app}` and `${stage}`, and in ARNs and `policy` documents `${partition}`, `${region}` and `${account}`".to_string(),
    };
    if allow == Allow::Policy && suggestion.is_none() {
        help.push_str("; IAM's own (`${aws:username}`, ...) pass through");
    }
    Some(d.help(help))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostics of `text` written as a literal at byte 10 (its text at 11).
    fn run(text: &str, allow: Allow) -> Vec<Diagnostic> {
        let mut d = Vec::new();
        let span = Span::new(10, 10 + text.len() + 2);
        let ok = check(text, span, allow, "a queue name", &mut d);
        assert_eq!(ok, d.is_empty());
        d
    }

    #[test]
    fn known_variables_pass_where_allowed() {
        assert!(run("orders-${app}-${stage}", Allow::Stage).is_empty());
        assert!(run("plain", Allow::Stage).is_empty());
        assert!(run("arn:${partition}:sqs:${region}:${account}:q", Allow::Arn).is_empty());
        assert!(
            run(
                "arn:${partition}:s3:::b/${aws:username}/${*}",
                Allow::Policy
            )
            .is_empty()
        );
    }

    #[test]
    fn unknown_variables_point_inside_the_string_and_suggest() {
        let d = run("q-${stag}", Allow::Stage);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, ErrorKind::UnknownVariable);
        assert_eq!(d[0].span, Span::new(13, 20), "the `${{stag}}`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `${stage}`?"));
        let d = run("${ STAGE }", Allow::Stage);
        assert_eq!(d[0].help.as_deref(), Some("did you mean `${stage}`?"));
        let d = run("${zzz}", Allow::Policy);
        assert!(d[0].help.as_deref().unwrap().contains("IAM's own"), "{d:?}");
        let d = run("${}", Allow::Stage);
        assert_eq!(d[0].kind, ErrorKind::UnknownVariable);
    }

    #[test]
    fn deploy_time_and_iam_variables_only_where_they_resolve() {
        let d = run("q-${region}", Allow::Stage);
        assert_eq!(d[0].kind, ErrorKind::MisplacedVariable);
        assert!(d[0].help.as_deref().unwrap().contains("ARNs"), "{d:?}");
        let d = run("arn:aws:s3:::b/${aws:username}", Allow::Arn);
        assert_eq!(d[0].kind, ErrorKind::MisplacedVariable);
        assert!(d[0].message.starts_with("IAM policy variable"));
    }

    #[test]
    fn unclosed_dollar_brace() {
        let d = run("a-${app}-${stage", Allow::Stage);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, ErrorKind::UnclosedVariable);
        assert_eq!(d[0].span, Span::new(20, 27), "from `${{` to the end");
        // The references before it are still checked.
        let d = run("${stag}-${", Allow::Stage);
        let kinds: Vec<_> = d.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [ErrorKind::UnknownVariable, ErrorKind::UnclosedVariable]
        );
    }

    #[test]
    fn variables_where_none_is_resolved() {
        let mut d = Vec::new();
        let span = Span::new(0, 20);
        assert!(check_unresolved(
            "${aws:x} ${foo} $",
            span,
            "`prefix`",
            &mut d
        ));
        assert!(!check_unresolved(
            "in/${stage}/",
            Span::new(0, 14),
            "`prefix`",
            &mut d
        ));
        assert_eq!(d[0].kind, ErrorKind::MisplacedVariable);
        assert_eq!(d[0].message, "`${stage}` is not resolved in `prefix`");
        assert_eq!(d[0].span, Span::new(4, 12));
    }

    #[test]
    fn escaped_literals_point_at_the_whole_string() {
        let mut d = Vec::new();
        // The literal was written with an escape, so it is longer than its text.
        check("\"${stag}", Span::new(0, 12), Allow::Stage, "x", &mut d);
        assert_eq!(d[0].span, Span::new(0, 12));
    }
}
