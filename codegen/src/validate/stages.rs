//! Strings checked as each stage resolves them: a name with `${stage}` may be fine in `dev` and too long in
//! `production-eu-west`. Each distinct resolution is checked once, and its errors name the stage.

use crate::diag::{Diagnostic, Span};
use crate::vars;

/// A string as one stage (or every stage alike) resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved<'s> {
    /// `${app}` and `${stage}` substituted, deploy-time variables as `{partition}` placeholders.
    pub text: String,
    /// The string literal it was written as.
    pub span: Span,
    /// The stage, when the string depends on it (`${stage}`); `None` when every stage reads the same.
    pub stage: Option<&'s str>,
    /// Whether resolving changed the text (positions in `text` are then not those of the literal).
    pub changed: bool,
}

impl Resolved<'_> {
    /// A diagnostic about the resolved text, as the file shows it: it names the stage, and points at the
    /// whole literal when positions in the resolved text are not the literal's.
    pub(crate) fn adjust(&self, mut d: Diagnostic) -> Diagnostic {
        if self.changed {
            d.span = self.span;
        }
        if let Some(stage) = self.stage {
            d.message = format!("in stage `{stage}`: {}", d.message);
        }
        d
    }
}

/// Whether `text` reads differently in each stage (it uses `${stage}`).
pub(crate) fn depends_on_stage(text: &str) -> bool {
    vars::references(text).is_ok_and(|refs| refs.iter().any(|r| r.name == "stage"))
}

/// `text`, a literal written at `span`, as `stages` resolve it: one entry per stage when it uses
/// `${stage}`, a single one otherwise. (`stages` is never empty: `dev` always deploys.)
pub(crate) fn resolutions<'s>(
    text: &str,
    span: Span,
    app: &str,
    stages: &[&'s str],
) -> Vec<Resolved<'s>> {
    let resolve = |stage: &str| vars::resolve(text, app, stage);
    if depends_on_stage(text) {
        stages
            .iter()
            .map(|stage| {
                let resolved = resolve(stage);
                Resolved {
                    changed: resolved != text,
                    text: resolved,
                    span,
                    stage: Some(stage),
                }
            })
            .collect()
    } else {
        let resolved = resolve(stages.first().copied().unwrap_or_default());
        vec![Resolved {
            changed: resolved != text,
            text: resolved,
            span,
            stage: None,
        }]
    }
}

/// A string whose checks wait for the app and the stages (a tag value, a role ARN, ...).
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    /// As written, variables and all.
    pub text: String,
    pub span: Span,
    /// The check of one resolution.
    pub check: fn(&str, Span) -> Result<(), Diagnostic>,
}

/// Runs each deferred check on each distinct resolution of its string in `stages`.
pub(crate) fn run(deferred: &[Deferred], app: &str, stages: &[&str], diags: &mut Vec<Diagnostic>) {
    for d in deferred {
        for r in resolutions(&d.text, d.span, app, stages) {
            if let Err(e) = (d.check)(&r.text, r.span) {
                diags.push(r.adjust(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::ErrorKind;

    const SPAN: Span = Span { start: 5, end: 30 };

    #[test]
    fn one_resolution_per_stage_only_with_stage() {
        let r = resolutions("q-${stage}", SPAN, "a", &["dev", "prod"]);
        let texts: Vec<_> = r.iter().map(|r| (r.text.as_str(), r.stage)).collect();
        assert_eq!(texts, [("q-dev", Some("dev")), ("q-prod", Some("prod"))]);
        let r = resolutions("${app}-q", SPAN, "a", &["dev", "prod"]);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].text.as_str(), r[0].stage, r[0].changed),
            ("a-q", None, true)
        );
        let r = resolutions(
            "arn:${partition}:sqs:${region}:${account}:q",
            SPAN,
            "a",
            &["dev"],
        );
        assert_eq!(r[0].text, "arn:{partition}:sqs:{region}:{account}:q");
        assert!(!resolutions("q", SPAN, "a", &["dev"])[0].changed);
    }

    #[test]
    fn diagnostics_name_the_stage_and_the_literal() {
        let short = |s: &str, span: Span| {
            if s.len() > 5 {
                Err(Diagnostic::new(
                    ErrorKind::TooLong,
                    Span::new(span.start + 1, span.start + 2),
                    format!("`{s}` is long"),
                ))
            } else {
                Ok(())
            }
        };
        let mut d = Vec::new();
        let deferred = [Deferred {
            text: "${stage}".into(),
            span: SPAN,
            check: short,
        }];
        run(&deferred, "a", &["dev", "production"], &mut d);
        assert_eq!(d.len(), 1, "only the long stage: {d:?}");
        assert_eq!(d[0].message, "in stage `production`: `production` is long");
        assert_eq!(d[0].span, SPAN, "the whole literal");

        let mut d = Vec::new();
        let plain = [Deferred {
            text: "toolong".into(),
            span: SPAN,
            check: short,
        }];
        run(&plain, "a", &["dev", "prod"], &mut d);
        assert_eq!(d.len(), 1, "once without variables");
        assert_eq!(d[0].message, "`toolong` is long");
        assert_eq!(d[0].span, Span::new(6, 7), "positions kept");
    }
}
