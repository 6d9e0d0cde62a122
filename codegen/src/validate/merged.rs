//! What only shows once layers merge (`defaults` < stage < binding), per stage with its variables resolved:
//! the size of the environment, the number of tags and managed policies, a log level with text logs, and
//! statement ids used twice in one role's policy.

use crate::diag::{Diagnostic, ErrorKind, Span};
use crate::model::{LogFormat, Settings, SettingsPatch};

use super::policy::duplicate_sid;
use super::settings::Layer;

/// Lambda's cap on the environment of one function (keys plus values, bytes).
pub(crate) const MAX_ENV_BYTES: usize = 4096;
/// AWS allows 50 tags; chalice-rs adds `chalice:app` and `chalice:stage`.
pub(crate) const MAX_USER_TAGS: usize = 48;
/// IAM attaches at most this many managed policies to a role (the default quota is 10).
pub(crate) const MAX_MANAGED_POLICIES: usize = 20;

/// A rule on a function's merged settings.
struct Rule {
    /// What is wrong with the settings (variables resolved), if anything.
    problem: fn(&Settings) -> Option<String>,
    kind: ErrorKind,
    /// Where a layer sets what the rule is about.
    span: fn(&Layer) -> Option<Span>,
    label: &'static str,
    help: &'static str,
}

fn env_bytes(s: &Settings) -> Option<String> {
    let n: usize = s.env.iter().map(|(k, v)| k.len() + v.len()).sum();
    (n > MAX_ENV_BYTES)
        .then(|| format!("environment variables take {n} bytes; Lambda allows {MAX_ENV_BYTES}"))
}

fn tag_count(s: &Settings) -> Option<String> {
    let n = s.tags.len();
    (n > MAX_USER_TAGS).then(|| {
        format!(
            "{n} tags; at most {MAX_USER_TAGS} are allowed (AWS's 50 less the 2 chalice-rs adds)"
        )
    })
}

fn managed_policy_count(s: &Settings) -> Option<String> {
    // A function given a `role` gets no role of its own to attach them to.
    if s.role.is_some() {
        return None;
    }
    let mut distinct: Vec<&String> = s.managed_policies.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let n = distinct.len();
    (n > MAX_MANAGED_POLICIES).then(|| {
        format!("{n} managed policies for one role; IAM attaches at most {MAX_MANAGED_POLICIES}")
    })
}

fn level_with_text_logs(s: &Settings) -> Option<String> {
    let level = s.log_level?;
    (s.log_format == LogFormat::Text).then(|| {
        format!(
            "`log_level = {}` needs JSON logs, but `log_format = text`",
            level.keyword()
        )
    })
}

const RULES: [Rule; 4] = [
    Rule {
        problem: env_bytes,
        kind: ErrorKind::InvalidEnvironment,
        span: |l| l.env_span,
        label: "over the limit",
        help: "shorten or drop variables (names and values count); pass large values another way (SSM, S3)",
    },
    Rule {
        problem: tag_count,
        kind: ErrorKind::InvalidTag,
        span: |l| l.tags_span,
        label: "over the limit",
        help: "drop some tags",
    },
    Rule {
        problem: managed_policy_count,
        kind: ErrorKind::InvalidManagedPolicy,
        span: |l| l.managed_policies_span,
        label: "over the limit",
        help: "IAM's default quota is 10 managed policies per role (Service Quotas raises it to 20 at most); put statements in `policy` instead",
    },
    Rule {
        problem: level_with_text_logs,
        kind: ErrorKind::ConflictingSettings,
        span: |l| l.log_format_span,
        label: "text logs",
        help: "Lambda filters levels of JSON logs only: drop `log_format = text` (a `log_level` alone means JSON logs), or drop `log_level`",
    },
];

/// Checks every function's merged settings in every stage (`stages` includes `dev`); strings are resolved
/// for `app` and each stage first. A problem of `defaults` alone is reported once, one of a stage once per
/// stage, one of a binding once (naming the first stage it shows in).
pub(crate) fn check(
    app: &str,
    defaults: &Layer,
    stages: &[(&str, &Layer)],
    bindings: &[(&str, &Layer)],
    diags: &mut Vec<Diagnostic>,
) {
    let report = |rule: &Rule, layer: &Layer, message: String, label: String| {
        Diagnostic::new(
            rule.kind,
            (rule.span)(layer).unwrap_or(layer.anchor),
            message,
        )
        .label(label)
        .help(rule.help)
    };
    let base = Settings::default().apply(&defaults.patch);
    // `in_defaults[r]`: rule `r` fails for `defaults` alone in every stage (then said once, of `defaults`).
    let mut in_defaults = [true; RULES.len()];
    let mut first_problem: [Option<String>; RULES.len()] = Default::default();
    for (stage, _) in stages {
        let resolved = base.resolve(app, stage);
        for (r, rule) in RULES.iter().enumerate() {
            match (rule.problem)(&resolved) {
                Some(p) => {
                    first_problem[r].get_or_insert(p);
                }
                None => in_defaults[r] = false,
            }
        }
    }
    for (r, rule) in RULES.iter().enumerate() {
        if let (true, Some(problem)) = (in_defaults[r], &first_problem[r]) {
            diags.push(report(
                rule,
                defaults,
                format!("in `defaults`: {problem}"),
                rule.label.to_string(),
            ));
        }
    }
    // Each stage's merged settings, and which rules it passes (its bindings are checked against those).
    let mut merged: Vec<(&str, Settings, [bool; RULES.len()])> = Vec::new();
    for (stage, layer) in stages {
        let settings = base.apply(&layer.patch);
        let resolved = settings.resolve(app, stage);
        let mut fits = [false; RULES.len()];
        for (r, rule) in RULES.iter().enumerate() {
            if in_defaults[r] {
                continue;
            }
            match (rule.problem)(&resolved) {
                Some(problem) => diags.push(report(
                    rule,
                    layer,
                    format!("in stage `{stage}`: {problem}"),
                    rule.label.to_string(),
                )),
                None => fits[r] = true,
            }
        }
        merged.push((stage, settings, fits));
    }
    for (handler, layer) in bindings {
        // A binding that sets nothing has its stage's settings, checked above.
        if layer.patch == SettingsPatch::default() {
            continue;
        }
        let mut reported = [false; RULES.len()];
        for (stage, settings, fits) in &merged {
            let resolved = settings.apply(&layer.patch).resolve(app, stage);
            for (r, rule) in RULES.iter().enumerate() {
                if !fits[r] || reported[r] {
                    continue;
                }
                if let Some(problem) = (rule.problem)(&resolved) {
                    reported[r] = true;
                    diags.push(report(
                        rule,
                        layer,
                        format!("handler `{handler}` in stage `{stage}`: {problem}"),
                        format!("{} once merged with `defaults` and the stage", rule.label),
                    ));
                }
            }
        }
    }
    sids(defaults, stages, bindings, diags);
}

/// A `Sid` of a stage's or a binding's `policy` that a layer under it already uses: IAM wants them
/// unique in a role's policy. (Within one `policy`, `policy::read` reports them.)
fn sids(
    defaults: &Layer,
    stages: &[(&str, &Layer)],
    bindings: &[(&str, &Layer)],
    diags: &mut Vec<Diagnostic>,
) {
    let base = Settings::default().apply(&defaults.patch);
    for (stage, layer) in stages {
        let merged = base.apply(&layer.patch);
        if merged.role.is_none() {
            for again in &layer.sids {
                if let Some(first) = defaults.sids.iter().find(|f| f.node == again.node) {
                    diags.push(duplicate_sid(
                        again,
                        first,
                        &format!("`defaults` and stage `{stage}`"),
                    ));
                }
            }
        }
        for (handler, binding) in bindings {
            if binding.sids.is_empty() || merged.apply(&binding.patch).role.is_some() {
                continue;
            }
            for again in &binding.sids {
                let under = defaults.sids.iter().chain(&layer.sids);
                if let Some(first) = under.clone().find(|f| f.node == again.node) {
                    let owner = if defaults.sids.contains(first) {
                        "`defaults`".to_string()
                    } else {
                        format!("stage `{stage}`")
                    };
                    diags.push(duplicate_sid(
                        again,
                        first,
                        &format!("{owner} and handler `{handler}`"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Spanned;
    use crate::model::LogLevel;

    fn layer(anchor: usize) -> Layer {
        Layer {
            anchor: Span::new(anchor, anchor + 1),
            ..Layer::default()
        }
    }

    #[test]
    fn env_and_tags() {
        let with_env = |env: &[(&str, usize)], anchor: usize| {
            let mut l = layer(anchor);
            for (k, n) in env {
                l.patch.env.insert(k.to_string(), "x".repeat(*n));
            }
            if !env.is_empty() {
                l.env_span = Some(Span::new(anchor + 100, anchor + 103));
            }
            l
        };
        let defaults = with_env(&[("A", 2000)], 0);
        let dev = with_env(&[], 10);
        let prod = with_env(&[("B", 2000)], 20);
        let small = with_env(&[("C", 10)], 30);
        let big = with_env(&[("D", 1000)], 40);
        let mut d = Vec::new();
        check(
            "a",
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
        check("a", &tagged, &[("dev", &dev)], &[], &mut d);
        assert_eq!(d[0].kind, ErrorKind::InvalidTag);
        assert!(
            d[0].message.starts_with("in `defaults`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn env_over_only_where_the_stage_name_makes_it_so() {
        let mut defaults = layer(0);
        defaults
            .patch
            .env
            .insert("BIG".into(), format!("{}${{stage}}", "x".repeat(4085)));
        defaults.env_span = Some(Span::new(100, 103));
        let dev = layer(10);
        let long = layer(20);
        let mut d = Vec::new();
        check(
            "a",
            &defaults,
            &[("dev", &dev), ("production", &long)],
            &[],
            &mut d,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].span.start, 20, "at the stage");
        assert!(
            d[0].message
                .starts_with("in stage `production`: environment variables take 4098 bytes"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn managed_policies_count_unless_a_role_is_given() {
        let policies = |n: usize, from: usize| -> Vec<String> {
            (from..from + n)
                .map(|i| format!("arn:aws:iam::aws:policy/P{i}"))
                .collect()
        };
        let mut defaults = layer(0);
        defaults.patch.managed_policies = policies(15, 0);
        let dev = layer(10);
        let mut prod = layer(20);
        prod.patch.role = Some("arn:aws:iam::123456789012:role/r".into());
        let mut h = layer(30);
        h.patch.managed_policies = policies(6, 15);
        h.managed_policies_span = Some(Span::new(300, 316));
        let mut d = Vec::new();
        check(
            "a",
            &defaults,
            &[("dev", &dev), ("prod", &prod)],
            &[("h", &h)],
            &mut d,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, ErrorKind::InvalidManagedPolicy);
        assert_eq!(d[0].span.start, 300);
        assert!(
            d[0].message
                .contains("handler `h` in stage `dev`: 21 managed policies"),
            "{}",
            d[0].message
        );
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .contains("default quota is 10")
        );
    }

    #[test]
    fn a_log_level_needs_json_logs() {
        let mut defaults = layer(0);
        defaults.patch.log_level = Some(LogLevel::Info);
        let dev = layer(10);
        let mut prod = layer(20);
        prod.patch.log_format = Some(LogFormat::Text);
        prod.log_format_span = Some(Span::new(200, 204));
        let mut text = layer(30);
        text.patch.log_format = Some(LogFormat::Text);
        text.log_format_span = Some(Span::new(300, 304));
        let mut level = layer(40);
        level.patch.log_level = Some(LogLevel::Debug);
        let mut d = Vec::new();
        check(
            "a",
            &defaults,
            &[("dev", &dev), ("prod", &prod)],
            &[("text", &text), ("level", &level)],
            &mut d,
        );
        let got: Vec<(ErrorKind, usize, &str)> = d
            .iter()
            .map(|d| (d.kind, d.span.start, d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    ErrorKind::ConflictingSettings,
                    200,
                    "in stage `prod`: `log_level = info` needs JSON logs, but `log_format = text`"
                ),
                (
                    ErrorKind::ConflictingSettings,
                    300,
                    "handler `text` in stage `dev`: `log_level = info` needs JSON logs, but `log_format = text`"
                ),
            ]
        );
    }

    #[test]
    fn sids_unique_across_layers() {
        let sid = |s: &str, at: usize| Spanned::new(s.to_string(), Span::new(at, at + s.len()));
        let mut defaults = layer(0);
        defaults.sids = vec![sid("Read", 100)];
        let dev = layer(10);
        let mut prod = layer(20);
        prod.sids = vec![sid("Read", 200), sid("Write", 210)];
        let mut h = layer(30);
        h.sids = vec![sid("Write", 300)];
        let mut d = Vec::new();
        check(
            "a",
            &defaults,
            &[("dev", &dev), ("prod", &prod)],
            &[("h", &h)],
            &mut d,
        );
        let got: Vec<(usize, usize)> = d
            .iter()
            .map(|d| (d.span.start, d.related[0].0.start))
            .collect();
        assert_eq!(got, [(200, 100), (300, 210)], "{d:?}");
        assert!(
            d[1].message.contains("stage `prod` and handler `h`"),
            "{}",
            d[1].message
        );
    }
}
