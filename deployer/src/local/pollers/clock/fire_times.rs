//! Fire times of a plan's [`Schedule`]: a rate counts whole periods from an origin; a cron fires
//! at the minutes (UTC) its fields match, as EventBridge's, found by croner.
//!
//! croner reads most of EventBridge's (Quartz's) cron: `L` and `15W` in day-of-month, `6L` and
//! `2#3` in day-of-week, `?`, a year field. Only what it lacks is done here:
//! - day-of-week numbers: EventBridge counts 1-7 = SUN-SAT, croner 0-6 = SUN-SAT (its Quartz
//!   mode steps `*/2` wrongly), so day-of-week values are shifted down by one;
//! - `L` alone in day-of-week is Saturday (croner: never), written as Saturday's number;
//! - `LW` in day-of-month, the month's last weekday (croner refuses it): croner finds candidates
//!   in days 26-31 and [`is_last_weekday`] keeps the right one;
//! - ranges that wrap past the field's end (`22-1`, `FRI-MON`), which croner refuses: every list
//!   but `*` is written out as the values it stands for (so names and steps read as AWS reads them);
//! - nothing fires after 2199, EventBridge's last year.
//!
//! croner accepts what AWS refuses (both day fields `*`, several `#`): AWS's rules are codegen's,
//! which [`FireTimes::of`] runs again on the schedule (a plan may be edited by hand).
//!
//! Only the local runner needs this, so it lives here rather than in codegen: the app's build
//! script, which links codegen, compiles neither croner nor chrono.

use chalice_codegen::plan::{Cron, Schedule};
use chrono::{DateTime, Datelike as _, Months, NaiveDate, TimeDelta, Timelike as _, Utc, Weekday};
use croner::parser::{CronParser, Seconds, Year};

/// EventBridge's last year: nothing fires after it.
const LAST_YEAR: i32 = 2199;

/// Why a plan's schedule has no fire times to compute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot compute the fire times of `{expression}`: {reason}")]
pub struct FireTimesError {
    /// The schedule's expression, e.g. `cron(60 2 * * ? *)`.
    pub expression: String,
    pub reason: String,
}

/// A schedule ready to compute fire times.
#[derive(Debug, Clone)]
pub struct FireTimes {
    timing: Timing,
}

#[derive(Debug, Clone)]
enum Timing {
    /// Every so many seconds.
    Rate(i64),
    Cron {
        cron: Box<croner::Cron>,
        /// `LW`: keep only the month's last weekday among the days croner finds.
        last_weekday: bool,
    },
}

impl FireTimes {
    /// The fire times of `schedule`, or why it has none EventBridge would give.
    pub fn of(schedule: &Schedule) -> Result<FireTimes, FireTimesError> {
        let expression = schedule.expression();
        let fail = |reason: String| FireTimesError {
            expression: expression.clone(),
            reason,
        };
        let checked: Schedule = expression
            .parse()
            .map_err(|e: chalice_codegen::plan::ScheduleError| fail(e.reasons.join("; ")))?;
        let timing = match checked {
            Schedule::Rate { value, unit } => {
                // At most 2^32 days: far within i64 seconds.
                Timing::Rate(i64::from(value) * unit.seconds() as i64)
            }
            Schedule::Cron(cron) => croner_cron(&cron).map_err(fail)?,
        };
        Ok(FireTimes { timing })
    }

    /// The first fire time strictly after `after`, or `None` when there is none (a cron's years
    /// are over). A rate fires every period counted from `rate_origin` (when the schedule started:
    /// EventBridge counts from the rule's creation); a cron ignores it.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        rate_origin: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match &self.timing {
            Timing::Rate(period) => {
                let periods = if after >= rate_origin {
                    (after - rate_origin).num_seconds() / period + 1
                } else {
                    1 // before the origin: the first fire
                };
                let offset = TimeDelta::try_seconds(periods.checked_mul(*period)?)?;
                rate_origin.checked_add_signed(offset)
            }
            Timing::Cron { cron, last_weekday } => {
                // Fire times are whole minutes: from the whole second, strictly after.
                let mut from = after.with_nanosecond(0)?;
                let mut inclusive = false;
                loop {
                    let next = cron.find_next_occurrence(&from, inclusive).ok()?;
                    if next.year() > LAST_YEAR {
                        return None;
                    }
                    if !last_weekday || is_last_weekday(next.date_naive()) {
                        return Some(next);
                    }
                    // Not the last weekday: look from the start of the next day.
                    from = next
                        .date_naive()
                        .succ_opt()?
                        .and_hms_opt(0, 0, 0)?
                        .and_utc();
                    inclusive = true;
                }
            }
        }
    }
}

/// Whether `date` is its month's last Monday-to-Friday.
fn is_last_weekday(date: NaiveDate) -> bool {
    let Some(last) = date
        .with_day(1)
        .and_then(|first| first.checked_add_months(Months::new(1)))
        .and_then(|next_month| next_month.pred_opt())
    else {
        return false;
    };
    let back = match last.weekday() {
        Weekday::Sat => 1,
        Weekday::Sun => 2,
        _ => 0,
    };
    date.day() + back == last.day()
}

/// The cron as croner reads it (a `0` seconds field first); AWS's rules are already checked.
fn croner_cron(cron: &Cron) -> Result<Timing, String> {
    let (day_of_month, last_weekday) = match cron.day_of_month.to_ascii_uppercase().as_str() {
        "LW" => ("26-31".to_string(), true),
        "?" | "L" => (cron.day_of_month.to_ascii_uppercase(), false),
        upper if upper.ends_with('W') => (upper.to_string(), false),
        _ => (list(&DAYS_OF_MONTH, &cron.day_of_month, 0)?, false),
    };
    let pattern = format!(
        "0 {} {} {day_of_month} {} {} {}",
        list(&MINUTES, &cron.minutes, 0)?,
        list(&HOURS, &cron.hours, 0)?,
        list(&MONTHS, &cron.month, 0)?,
        day_of_week(&cron.day_of_week)?,
        list(&YEARS, &cron.year, 0)?,
    );
    let parsed = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .build()
        .parse(&pattern)
        .map_err(|e| format!("croner cannot read `{pattern}`: {e}"))?;
    Ok(Timing::Cron {
        cron: Box::new(parsed),
        last_weekday,
    })
}

/// The day-of-week field with croner's numbers (EventBridge's minus one).
fn day_of_week(text: &str) -> Result<String, String> {
    let upper = text.to_ascii_uppercase();
    let croner_day = |day: &str| value(&DAYS_OF_WEEK, day).map(|d| d - 1);
    if upper == "?" {
        return Ok(upper);
    }
    if upper == "L" {
        return Ok(croner_day("SAT")?.to_string());
    }
    if let Some((day, nth)) = upper.split_once('#') {
        return Ok(format!("{}#{nth}", croner_day(day)?));
    }
    if let Some(day) = upper.strip_suffix('L') {
        return Ok(format!("{}L", croner_day(day)?));
    }
    list(&DAYS_OF_WEEK, text, 1)
}

/// One plain field's bounds and names.
struct Field {
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...
    names: &'static [&'static str],
}

const MINUTES: Field = Field {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Field = Field {
    min: 0,
    max: 23,
    names: &[],
};
const DAYS_OF_MONTH: Field = Field {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Field = Field {
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
const DAYS_OF_WEEK: Field = Field {
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};
const YEARS: Field = Field {
    min: 1970,
    max: 2199,
    names: &[],
};

/// `*`, or the values a list of `N`, `A-B` (wrapping past the end when `A > B`) and `/STEP`s
/// stands for, each less `shift`, comma-separated.
fn list(field: &Field, text: &str, shift: u32) -> Result<String, String> {
    if text == "*" {
        return Ok(text.to_string());
    }
    let size = field.max - field.min + 1;
    let mut on = vec![false; size as usize];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => match step.parse::<u32>() {
                Ok(step) if step > 0 => (range, Some(step)),
                _ => return Err(format!("`{item}`: the step is not a positive number")),
            },
            None => (item, None),
        };
        let (low, high) = match range.split_once('-') {
            _ if range == "*" => (field.min, field.max),
            Some((a, b)) => (value(field, a)?, value(field, b)?),
            None => {
                let start = value(field, range)?;
                (start, if step.is_some() { field.max } else { start })
            }
        };
        let span = if high >= low {
            high - low
        } else {
            high + size - low
        };
        for offset in (0..=span).step_by(step.unwrap_or(1) as usize) {
            on[((low - field.min + offset) % size) as usize] = true;
        }
    }
    let values: Vec<String> = (field.min..=field.max)
        .filter(|v| on[(v - field.min) as usize])
        .map(|v| (v - shift).to_string())
        .collect();
    Ok(values.join(","))
}

/// A number in the field's bounds, or one of its names (any case).
fn value(field: &Field, text: &str) -> Result<u32, String> {
    if let Some(i) = field
        .names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
    {
        return Ok(field.min + i as u32);
    }
    match text.parse::<u32>() {
        Ok(n) if (field.min..=field.max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a value of {}-{}",
            field.min, field.max
        )),
    }
}

#[cfg(test)]
mod tests;
