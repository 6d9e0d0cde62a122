//! Schedule expressions: `rate(N unit)` and EventBridge's six-field `cron(...)`, checked as AWS does.

use crate::diag::{Diagnostic, ErrorKind, Span, did_you_mean};
use crate::model::{RateUnit, Schedule};

/// Checks the body of `rate(...)`; `span` is the body's span.
pub(crate) fn rate(body: &str, span: Span) -> Result<Schedule, Diagnostic> {
    let tokens: Vec<(usize, &str)> = tokens(body);
    let invalid = |at: Span, message: String, label: &str, help: String| {
        Err(Diagnostic::new(ErrorKind::InvalidRate, at, message)
            .label(label)
            .help(help))
    };
    let [(v_at, value), (u_at, unit)] = tokens[..] else {
        return invalid(
            span,
            format!("`rate({body})` needs a number and a unit"),
            "expected `N unit`",
            "write e.g. `rate(5 minutes)`, `rate(1 hour)` or `rate(7 days)`".into(),
        );
    };
    let value_span = span.sub(v_at, v_at + value.len());
    let unit_span = span.sub(u_at, u_at + unit.len());
    let n = match value.parse::<u32>() {
        Ok(n) if n > 0 && value.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return invalid(
                value_span,
                format!("the rate value `{value}` is not a positive whole number"),
                "expected a positive whole number",
                "write e.g. `rate(5 minutes)`".into(),
            );
        }
    };
    let (word, plural) = match unit.strip_suffix('s') {
        Some(w) => (w, true),
        None => (unit, false),
    };
    let unit_of = match word {
        "minute" => Some(RateUnit::Minute),
        "hour" => Some(RateUnit::Hour),
        "day" => Some(RateUnit::Day),
        _ => None,
    };
    let Some(rate_unit) = unit_of else {
        let fixed = match word.to_ascii_lowercase().as_str() {
            "second" | "sec" => "EventBridge's shortest rate is `rate(1 minute)`".to_string(),
            "week" => format!(
                "EventBridge has no weeks: `{}`",
                expr(n.saturating_mul(7), RateUnit::Day)
            ),
            _ => {
                const UNITS: [&str; 6] = ["minute", "minutes", "hour", "hours", "day", "days"];
                let lower = unit.to_ascii_lowercase();
                match UNITS
                    .iter()
                    .find(|u| **u == lower)
                    .copied()
                    .or_else(|| did_you_mean(unit, UNITS))
                {
                    Some(u) => format!("did you mean `rate({value} {u})`?"),
                    None => "the units are minute(s), hour(s) and day(s)".to_string(),
                }
            }
        };
        return invalid(
            unit_span,
            format!("unknown rate unit `{unit}`"),
            "unknown unit",
            fixed,
        );
    };
    let correct = expr(n, rate_unit);
    if n == 1 && plural {
        return invalid(
            unit_span,
            format!("a rate of 1 takes the singular unit: `{correct}`"),
            "use the singular",
            format!("write `{correct}`"),
        );
    }
    if n != 1 && !plural {
        return invalid(
            unit_span,
            format!("a rate of {n} takes the plural unit: `{correct}`"),
            "use the plural",
            format!("write `{correct}`"),
        );
    }
    Ok(Schedule::Rate {
        value: n,
        unit: rate_unit,
    })
}

fn expr(value: u32, unit: RateUnit) -> String {
    Schedule::Rate { value, unit }.expression()
}

/// Whitespace-separated tokens with their byte offsets.
fn tokens(body: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in body.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &body[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &body[s..]));
    }
    out
}

/// One cron field's rules.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ... (months, days of the week).
    names: &'static [&'static str],
    allowed: &'static str,
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [Field; 6] = [
    Field {
        name: "minutes",
        min: 0,
        max: 59,
        names: &[],
        allowed: "0-59 and `, - * /`",
    },
    Field {
        name: "hours",
        min: 0,
        max: 23,
        names: &[],
        allowed: "0-23 and `, - * /`",
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        allowed: "1-31, `, - * ? / L W`",
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
        allowed: "1-12 or JAN-DEC and `, - * /`",
    },
    Field {
        name: "day-of-week",
        min: 1,
        max: 7,
        names: DAYS,
        allowed: "1-7 or SUN-SAT, `, - * ? / L #`",
    },
    Field {
        name: "year",
        min: 1970,
        max: 2199,
        names: &[],
        allowed: "1970-2199 and `, - * /`",
    },
];
const DOM: usize = 2;
const DOW: usize = 4;

/// Checks the body of `cron(...)`; `span` is the body's span. Every bad field is reported.
pub(crate) fn cron(body: &str, span: Span) -> Result<Schedule, Vec<Diagnostic>> {
    let toks = tokens(body);
    if toks.len() != 6 {
        let mut d = Diagnostic::new(
            ErrorKind::InvalidCron,
            span,
            format!(
                "EventBridge cron expressions have 6 fields, this one has {}",
                toks.len()
            ),
        )
        .label("expected: minutes hours day-of-month month day-of-week year");
        let words: Vec<&str> = toks.iter().map(|t| t.1).collect();
        d = match toks.len() {
            5 => d.help(format!("add the year field: `cron({} *)`", words.join(" "))),
            7 => d.help(format!(
                "EventBridge has no seconds field; drop the first: `cron({})`",
                words[1..].join(" ")
            )),
            _ => d.help("write e.g. `cron(0 2 * * ? *)` (minutes hours day-of-month month day-of-week year)"),
        };
        return Err(vec![d]);
    }
    let mut diags = Vec::new();
    let field_span = |i: usize| span.sub(toks[i].0, toks[i].0 + toks[i].1.len());
    let mut ok = [true; 6];
    for (i, (field, (_, text))) in FIELDS.iter().zip(&toks).enumerate() {
        if let Err(reason) = check_field(i, field, text) {
            ok[i] = false;
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidCron,
                    field_span(i),
                    format!("invalid {} field `{text}`: {reason}", field.name),
                )
                .label(format!("the {} field", field.name))
                .help(format!("the {} field takes {}", field.name, field.allowed)),
            );
        }
    }
    if ok[DOM] && ok[DOW] {
        let (dom, dow) = (toks[DOM].1, toks[DOW].1);
        let problem = match (dom == "?", dow == "?") {
            (true, true) => Some(("both day fields are `?`", DOW, "*", "?")),
            (false, false) if dow == "*" => {
                Some(("day-of-month and day-of-week are both set", DOW, dom, "?"))
            }
            (false, false) if dom == "*" => {
                Some(("day-of-month and day-of-week are both set", DOM, "?", dow))
            }
            (false, false) => Some(("day-of-month and day-of-week are both set", DOW, dom, "?")),
            _ => None,
        };
        if let Some((message, at, new_dom, new_dow)) = problem {
            let mut fixed: Vec<&str> = toks.iter().map(|t| t.1).collect();
            fixed[DOM] = new_dom;
            fixed[DOW] = new_dow;
            diags.push(
                Diagnostic::new(
                    ErrorKind::InvalidCron,
                    field_span(at),
                    format!("invalid cron: {message}"),
                )
                .label("exactly one of day-of-month and day-of-week must be `?`")
                .help(format!(
                    "use `?` in one of them: `cron({})`",
                    fixed.join(" ")
                )),
            );
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let fields = std::array::from_fn(|i| toks[i].1.to_string());
    Ok(Schedule::Cron { fields })
}

fn check_field(i: usize, f: &Field, text: &str) -> Result<(), String> {
    if text == "?" {
        return if i == DOM || i == DOW {
            Ok(())
        } else {
            Err("`?` is only allowed in day-of-month and day-of-week".into())
        };
    }
    if has_special(f, text) && (i == DOM || i == DOW) && !text.contains(',') {
        // `L`, `LW`, `15W`, `5L`, `2#3`: each stands alone in its field.
        return special_day(i, f, text);
    }
    for item in text.split(',') {
        check_item(f, item)?;
    }
    Ok(())
}

fn special_day(i: usize, f: &Field, text: &str) -> Result<(), String> {
    if i == DOM {
        if text == "L" || text == "LW" {
            return Ok(());
        }
        if let Some(day) = text.strip_suffix('W') {
            return value(f, day).map(|_| ());
        }
        return Err("`L` and `W` are written `L`, `LW` or `15W`".into());
    }
    if text == "L" {
        return Ok(());
    }
    if let Some((day, nth)) = text.split_once('#') {
        value(f, day)?;
        return match nth.parse::<u8>() {
            Ok(1..=5) if nth.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
            _ => Err(format!(
                "`#{nth}`: the week of the month is 1 to 5 (one `#` per field)"
            )),
        };
    }
    if let Some(day) = text.strip_suffix('L') {
        return value(f, day).map(|_| ());
    }
    Err("`L` and `#` are written `L`, `5L` or `2#3`".into())
}

fn check_item(f: &Field, item: &str) -> Result<(), String> {
    if item.is_empty() {
        return Err("empty value (stray `,`)".into());
    }
    if item == "?" {
        return Err("`?` must stand alone".into());
    }
    if has_special(f, item) {
        return Err(format!(
            "`{item}`: `L`, `W` and `#` must stand alone, and only in the day fields"
        ));
    }
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step {
        let max_step = if f.min == 0 { f.max } else { f.max - f.min + 1 };
        match step.parse::<u32>() {
            Ok(n) if (1..=max_step).contains(&n) && step.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => {
                return Err(format!(
                    "the step `/{step}` must be a whole number from 1 to {max_step}"
                ));
            }
        }
    }
    if range == "*" {
        return Ok(());
    }
    match range.split_once('-') {
        Some((a, b)) => {
            let lo = value(f, a)?;
            let hi = value(f, b)?;
            if f.min >= 1970 && lo > hi {
                return Err(format!("the range `{range}` goes backwards"));
            }
            Ok(())
        }
        None => value(f, range).map(|_| ()),
    }
}

fn is_name(f: &Field, s: &str) -> bool {
    f.names.iter().any(|n| s.eq_ignore_ascii_case(n))
}

/// Whether `text` uses `L`, `W` or `#` outside a month or day name (`WED`, `JUL`).
fn has_special(f: &Field, text: &str) -> bool {
    text.split([',', '-', '/'])
        .any(|p| !is_name(f, p) && p.contains(['L', 'W', '#']))
}

/// A number in the field's bounds, or a month/day name.
fn value(f: &Field, s: &str) -> Result<u32, String> {
    if let Some(pos) = f.names.iter().position(|n| s.eq_ignore_ascii_case(n)) {
        return Ok(f.min + pos as u32);
    }
    if s.is_empty() {
        return Err("a value is missing".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        let known = if f.names.is_empty() {
            String::new()
        } else {
            format!(" or a name ({}-{})", f.names[0], f.names[f.names.len() - 1])
        };
        return Err(format!("`{s}` is not a number{known}"));
    }
    match s.parse::<u32>() {
        Ok(n) if (f.min..=f.max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is out of range {}-{}", f.min, f.max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> (String, Span) {
        (s.to_string(), Span::new(100, 100 + s.len()))
    }

    fn rate_err(s: &str) -> Diagnostic {
        let (b, sp) = body(s);
        rate(&b, sp).unwrap_err()
    }

    #[test]
    fn rates() {
        let (b, sp) = body("1 hour");
        assert_eq!(
            rate(&b, sp).unwrap(),
            Schedule::Rate {
                value: 1,
                unit: RateUnit::Hour
            }
        );
        let (b, sp) = body("5 minutes");
        assert_eq!(rate(&b, sp).unwrap().expression(), "rate(5 minutes)");
        let (b, sp) = body(" 7  days ");
        assert_eq!(rate(&b, sp).unwrap().expression(), "rate(7 days)");

        let d = rate_err("1 hours");
        assert_eq!(d.kind, ErrorKind::InvalidRate);
        assert_eq!(d.help.as_deref(), Some("write `rate(1 hour)`"));
        assert_eq!(d.span, Span::new(102, 107), "points at the unit");
        assert_eq!(
            rate_err("5 minute").help.as_deref(),
            Some("write `rate(5 minutes)`")
        );
        assert_eq!(
            rate_err("2 weeks").help.as_deref(),
            Some("EventBridge has no weeks: `rate(14 days)`")
        );
        assert_eq!(
            rate_err("5 Minutes").help.as_deref(),
            Some("did you mean `rate(5 minutes)`?")
        );
        assert_eq!(
            rate_err("5 minuts").help.as_deref(),
            Some("did you mean `rate(5 minutes)`?")
        );
        assert!(
            rate_err("30 seconds")
                .help
                .unwrap()
                .contains("rate(1 minute)")
        );
        for bad in [
            "0 minutes",
            "-1 minutes",
            "+5 minutes",
            "1.5 hours",
            "99999999999 days",
            "x days",
        ] {
            let d = rate_err(bad);
            assert_eq!(d.kind, ErrorKind::InvalidRate, "{bad}");
            assert_eq!(d.span.start, 100, "{bad}: points at the value");
        }
        for bad in ["", "5", "5 minutes please", "fortnight"] {
            assert_eq!(rate_err(bad).span, Span::new(100, 100 + bad.len()), "{bad}");
        }
    }

    fn cron_errs(s: &str) -> Vec<Diagnostic> {
        let (b, sp) = body(s);
        cron(&b, sp).unwrap_err()
    }

    #[test]
    fn good_crons() {
        for ok in [
            "0 2 * * ? *",
            "0 10 * * ? *",
            "15 12 * * ? *",
            "0 18 ? * MON-FRI *",
            "0 8 1 * ? *",
            "0/15 * * * ? *",
            "0/10 * ? * MON-FRI *",
            "0/5 8-17 ? * MON-FRI *",
            "0 9 ? * 2#1 *",
            "0 9 L * ? *",
            "0 9 LW * ? *",
            "0 9 15W * ? *",
            "0 9 ? * 6L *",
            "0 9 ? * L *",
            "*/5 * * JAN-MAR ? 2026",
            "0 0 1,15 * ? 2025-2030",
            "0 0 ? jan,jul sun *",
            "59 23 31 12 ? 2199",
            "0 0 ? * 1-7/2 *",
            "0 0 ? JUL-DEC MON-WED *",
            "0 0 ? * WED#2 *",
        ] {
            let (b, sp) = body(ok);
            let Schedule::Cron { fields } = cron(&b, sp).unwrap_or_else(|e| panic!("{ok}: {e:?}"))
            else {
                panic!("not a cron")
            };
            assert_eq!(fields.join(" "), ok);
        }
    }

    #[test]
    fn bad_crons_point_at_the_field() {
        // (expression, index of the offending field)
        let cases = [
            ("60 2 * * ? *", 0),
            ("0 24 * * ? *", 1),
            ("0 2 0 * ? *", 2),
            ("0 2 32 * ? *", 2),
            ("0 2 * 13 ? *", 3),
            ("0 2 * FOO ? *", 3),
            ("0 2 ? * 8 *", 4),
            ("0 2 ? * 0 *", 4),
            ("0 2 * * ? 1969", 5),
            ("0 2 * * ? 2200", 5),
            ("0 2 * * ? 2030-2020", 5),
            ("? 2 * * ? *", 0),
            ("0 2 * ? ? *", 3),
            ("0 2 * * * *", 4),
            ("0 2 ? * ? *", 4),
            ("0 2 1 * MON *", 4),
            ("0 2 ? * 2#3,4#1 *", 4),
            ("0 2 ? * 2#6 *", 4),
            ("0 2 ? * 2#3#1 *", 4),
            ("0 2 L,15 * ? *", 2),
            ("0 2 32W * ? *", 2),
            ("0 L * * ? *", 1),
            ("0 2 ? * 9L *", 4),
            ("0/0 2 * * ? *", 0),
            ("0/61 2 * * ? *", 0),
            ("0,,5 2 * * ? *", 0),
            ("0- 2 * * ? *", 0),
            ("a 2 * * ? *", 0),
            ("0 2 ?,1 * ? *", 2),
            ("0 2 ? * 1W *", 4),
        ];
        for (expr, field) in cases {
            let errs = cron_errs(expr);
            assert_eq!(errs.len(), 1, "{expr}: {errs:?}");
            assert_eq!(errs[0].kind, ErrorKind::InvalidCron, "{expr}");
            let start = expr
                .split(' ')
                .take(field)
                .map(|f| f.len() + 1)
                .sum::<usize>();
            let len = expr.split(' ').nth(field).unwrap().len();
            assert_eq!(
                errs[0].span,
                Span::new(100 + start, 100 + start + len),
                "{expr}"
            );
        }
    }

    #[test]
    fn cron_reports_every_field_and_suggests_fixes() {
        let errs = cron_errs("60 24 * * ? 1900");
        assert_eq!(errs.len(), 3);
        let five = cron_errs("0 2 * * ?");
        assert_eq!(
            five[0].help.as_deref(),
            Some("add the year field: `cron(0 2 * * ? *)`")
        );
        let seven = cron_errs("0 0 2 * * ? *");
        assert_eq!(
            seven[0].help.as_deref(),
            Some("EventBridge has no seconds field; drop the first: `cron(0 2 * * ? *)`")
        );
        let both = cron_errs("0 2 * * * *");
        assert_eq!(
            both[0].help.as_deref(),
            Some("use `?` in one of them: `cron(0 2 * * ? *)`")
        );
        let both_q = cron_errs("0 2 ? * ? *");
        assert_eq!(
            both_q[0].help.as_deref(),
            Some("use `?` in one of them: `cron(0 2 * * ? *)`")
        );
        let dow = cron_errs("0 2 * * MON *");
        assert_eq!(
            dow[0].help.as_deref(),
            Some("use `?` in one of them: `cron(0 2 ? * MON *)`")
        );
        assert_eq!(cron_errs("").len(), 1);
    }
}
