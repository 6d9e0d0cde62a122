//! EventBridge's cron expressions: the six fields parsed, and the next minute they match (UTC).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::calendar::{
    MINUTES_PER_DAY, civil_from_days, days_from_civil, days_in_month, weekday, weekday_of,
};

/// An EventBridge cron expression's six fields, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// As written (for display).
    pub(super) fields: Vec<String>,
    minutes: Values,
    hours: Values,
    day_of_month: DayOfMonth,
    months: Values,
    day_of_week: DayOfWeek,
    years: Values,
}

/// The values a plain field accepts, `min..=max`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Values {
    min: u32,
    on: Vec<bool>,
}

impl Values {
    fn contains(&self, value: u32) -> bool {
        value
            .checked_sub(self.min)
            .and_then(|i| self.on.get(i as usize))
            .copied()
            .unwrap_or(false)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfMonth {
    /// `?`: the day-of-week field decides.
    Any,
    Days(Values),
    /// `L`
    Last,
    /// `LW`: the month's last weekday (Monday to Friday).
    LastWeekday,
    /// `15W`: the weekday nearest the 15th, within the month.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfWeek {
    /// `?`: the day-of-month field decides.
    Any,
    /// 1-7 = SUN-SAT (`L` alone is 7).
    Days(Values),
    /// `6L`: the month's last such day.
    Last(u32),
    /// `2#3`: the month's third such day.
    Nth(u32, u32),
}

/// One field's bounds and names.
struct Spec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...
    names: &'static [&'static str],
}

const MINUTES: Spec = Spec {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Spec = Spec {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
};
const DAYS_OF_MONTH: Spec = Spec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Spec = Spec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
const DAYS_OF_WEEK: Spec = Spec {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};
const YEARS: Spec = Spec {
    name: "year",
    min: 1970,
    max: 2199,
    names: &[],
};
const SATURDAY: u32 = 7;
const SUNDAY: u32 = 1;

impl Cron {
    /// Parses the six fields of `cron(...)`'s body.
    pub(super) fn parse(body: &str) -> Result<Cron, String> {
        let fields: Vec<String> = body.split_whitespace().map(str::to_owned).collect();
        let [minutes, hours, dom, months, dow, years] = &fields[..] else {
            return Err(format!(
                "EventBridge cron expressions have 6 fields (minutes hours day-of-month month \
                 day-of-week year), this one has {}",
                fields.len()
            ));
        };
        if (dom == "?") == (dow == "?") {
            return Err("exactly one of day-of-month and day-of-week must be `?`".to_owned());
        }
        let in_field = |spec: &Spec, e: String| format!("{} field: {e}", spec.name);
        Ok(Cron {
            minutes: values(&MINUTES, minutes).map_err(|e| in_field(&MINUTES, e))?,
            hours: values(&HOURS, hours).map_err(|e| in_field(&HOURS, e))?,
            day_of_month: day_of_month(dom).map_err(|e| in_field(&DAYS_OF_MONTH, e))?,
            months: values(&MONTHS, months).map_err(|e| in_field(&MONTHS, e))?,
            day_of_week: day_of_week(dow).map_err(|e| in_field(&DAYS_OF_WEEK, e))?,
            years: values(&YEARS, years).map_err(|e| in_field(&YEARS, e))?,
            fields,
        })
    }

    /// The first matching minute strictly after `after`.
    pub(super) fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        let first_minute = match after.duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs() / 60).ok()? + 1,
            Err(_) => 0,
        };
        let mut day = first_minute.div_euclid(MINUTES_PER_DAY);
        let mut from = u32::try_from(first_minute.rem_euclid(MINUTES_PER_DAY)).ok()?;
        loop {
            let (year, month, dom) = civil_from_days(day);
            if year > i64::from(YEARS.max) {
                return None;
            }
            if !self.years.contains(u32::try_from(year).ok()?) {
                day = days_from_civil(year + 1, 1, 1);
                from = 0;
                continue;
            }
            if !self.months.contains(month) {
                day = if month == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, month + 1, 1)
                };
                from = 0;
                continue;
            }
            if self.day_matches(year, month, dom, weekday(day))
                && let Some(minute) = self.first_minute_from(from)
            {
                let minutes = day * MINUTES_PER_DAY + i64::from(minute);
                let secs = u64::try_from(minutes).ok()?.checked_mul(60)?;
                return UNIX_EPOCH.checked_add(Duration::from_secs(secs));
            }
            day += 1;
            from = 0;
        }
    }

    /// The first minute of the day, at or after `from`, the hours and minutes fields match.
    fn first_minute_from(&self, from: u32) -> Option<u32> {
        (from / 60..24)
            .filter(|&h| self.hours.contains(h))
            .find_map(|h| {
                let start = if h == from / 60 { from % 60 } else { 0 };
                (start..60)
                    .find(|&m| self.minutes.contains(m))
                    .map(|m| h * 60 + m)
            })
    }

    /// Whether both day fields accept `year-month-dom`, a `weekday` (1-7 = SUN-SAT).
    fn day_matches(&self, year: i64, month: u32, dom: u32, weekday: u32) -> bool {
        let last = days_in_month(year, month);
        let by_month = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(days) => days.contains(dom),
            DayOfMonth::Last => dom == last,
            DayOfMonth::LastWeekday => {
                let last_weekday = weekday_of(year, month, last);
                let back = match last_weekday {
                    SATURDAY => 1,
                    SUNDAY => 2,
                    _ => 0,
                };
                dom == last - back
            }
            DayOfMonth::NearestWeekday(n) => {
                // A day the month does not have matches nothing, as a plain `31` does.
                *n <= last && dom == nearest_weekday(year, month, *n, last)
            }
        };
        let by_week = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(days) => days.contains(weekday),
            DayOfWeek::Last(day) => weekday == *day && dom + 7 > last,
            DayOfWeek::Nth(day, nth) => weekday == *day && (dom - 1) / 7 + 1 == *nth,
        };
        by_month && by_week
    }
}

/// Quartz's `W`: the nearest Monday-Friday to day `n`, never leaving the month.
fn nearest_weekday(year: i64, month: u32, n: u32, last: u32) -> u32 {
    match weekday_of(year, month, n) {
        SATURDAY if n == 1 => 3,
        SATURDAY => n - 1,
        SUNDAY if n == last => n - 2,
        SUNDAY => n + 1,
        _ => n,
    }
}

fn day_of_month(text: &str) -> Result<DayOfMonth, String> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "?" => return Ok(DayOfMonth::Any),
        "L" => return Ok(DayOfMonth::Last),
        "LW" => return Ok(DayOfMonth::LastWeekday),
        _ => {}
    }
    if !upper.contains(['L', 'W']) {
        return values(&DAYS_OF_MONTH, text).map(DayOfMonth::Days);
    }
    match upper.strip_suffix('W') {
        Some(day) if !day.contains([',', '-', '/', 'L']) => {
            value(&DAYS_OF_MONTH, day).map(DayOfMonth::NearestWeekday)
        }
        _ => Err(format!(
            "`{text}`: `L` and `W` are written `L`, `LW` or `15W`"
        )),
    }
}

fn day_of_week(text: &str) -> Result<DayOfWeek, String> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "?" => return Ok(DayOfWeek::Any),
        "L" => return Ok(DayOfWeek::Days(single(&DAYS_OF_WEEK, SATURDAY))),
        _ => {}
    }
    let alone = |part: &str| !part.contains([',', '-', '/', '#']);
    if let Some((day, nth)) = upper.split_once('#') {
        let nth = match nth.parse::<u32>() {
            Ok(n @ 1..=5) if nth.bytes().all(|b| b.is_ascii_digit()) && alone(day) => n,
            _ => {
                return Err(format!(
                    "`{text}`: `#` takes a day and a week 1-5, e.g. `2#3`"
                ));
            }
        };
        return Ok(DayOfWeek::Nth(value(&DAYS_OF_WEEK, day)?, nth));
    }
    match upper.strip_suffix('L') {
        Some(day) if alone(day) => value(&DAYS_OF_WEEK, day).map(DayOfWeek::Last),
        Some(_) => Err(format!("`{text}`: `L` stands alone, e.g. `6L`")),
        None => values(&DAYS_OF_WEEK, text).map(DayOfWeek::Days),
    }
}

fn single(spec: &Spec, value: u32) -> Values {
    let mut on = vec![false; (spec.max - spec.min + 1) as usize];
    on[(value - spec.min) as usize] = true;
    Values { min: spec.min, on }
}

/// A list of `*`, `N`, `A-B` (wrapping past the maximum when `A > B`, except years) and `/STEP`s.
fn values(spec: &Spec, text: &str) -> Result<Values, String> {
    let size = spec.max - spec.min + 1;
    let mut on = vec![false; size as usize];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step = match step.parse::<u32>() {
                    Ok(n) if n > 0 && step.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => return Err(format!("`{item}`: the step must be a positive number")),
                };
                (range, Some(step))
            }
            None => (item, None),
        };
        let (low, high) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(spec, a)?, value(spec, b)?)
        } else {
            let start = value(spec, range)?;
            (start, if step.is_some() { spec.max } else { start })
        };
        if low > high && spec.min == YEARS.min {
            return Err(format!("`{range}` goes backwards"));
        }
        let span = if high >= low {
            high - low
        } else {
            high + size - low
        };
        for offset in (0..=span).step_by(step.unwrap_or(1) as usize) {
            let index = (low - spec.min + offset) % size;
            on[index as usize] = true;
        }
    }
    Ok(Values { min: spec.min, on })
}

/// A number in the field's bounds, or one of its names (any case).
fn value(spec: &Spec, text: &str) -> Result<u32, String> {
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.min + i as u32);
    }
    match text.parse::<u32>() {
        Ok(n) if (spec.min..=spec.max).contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(n)
        }
        _ => Err(format!(
            "`{text}` is not a value of {}-{}",
            spec.min, spec.max
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::local::pollers::clock::tests::fires;

    #[test]
    fn nightly_fires_at_two_utc() {
        assert_eq!(
            fires("cron(0 2 * * ? *)", "2024-01-01T02:00:00Z", 2),
            ["2024-01-02T02:00:00Z", "2024-01-03T02:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 2 * * ? *)", "2024-01-01T01:59:59Z", 1),
            ["2024-01-01T02:00:00Z"]
        );
    }

    #[test]
    fn steps_ranges_and_lists() {
        assert_eq!(
            fires("cron(0/15 * * * ? *)", "2024-01-01T10:07:30Z", 4),
            [
                "2024-01-01T10:15:00Z",
                "2024-01-01T10:30:00Z",
                "2024-01-01T10:45:00Z",
                "2024-01-01T11:00:00Z"
            ]
        );
        assert_eq!(
            fires("cron(*/20 8-9 * * ? *)", "2024-01-01T09:50:00Z", 2),
            ["2024-01-02T08:00:00Z", "2024-01-02T08:20:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1,15 * ? *)", "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-15T00:00:00Z",
                "2024-02-01T00:00:00Z",
                "2024-02-15T00:00:00Z"
            ]
        );
        // A range that wraps past midnight.
        assert_eq!(
            fires("cron(0 22-1 * * ? *)", "2024-01-01T12:00:00Z", 4),
            [
                "2024-01-01T22:00:00Z",
                "2024-01-01T23:00:00Z",
                "2024-01-02T00:00:00Z",
                "2024-01-02T01:00:00Z"
            ]
        );
    }

    #[test]
    fn weekdays_are_sun_to_sat_one_to_seven() {
        // 2024-01-05 is a Friday.
        assert_eq!(
            fires("cron(0 18 ? * MON-FRI *)", "2024-01-05T12:00:00Z", 3),
            [
                "2024-01-05T18:00:00Z",
                "2024-01-08T18:00:00Z",
                "2024-01-09T18:00:00Z"
            ]
        );
        assert_eq!(
            fires("cron(0 18 ? * 2-6 *)", "2024-01-05T12:00:00Z", 3),
            fires("cron(0 18 ? * MON-FRI *)", "2024-01-05T12:00:00Z", 3),
        );
        // 1 is Sunday (2024-01-07), 7 is Saturday (2024-01-06): not cron's 0-6.
        assert_eq!(
            fires("cron(0 9 ? * 1 *)", "2024-01-01T00:00:00Z", 1),
            ["2024-01-07T09:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 9 ? * 7 *)", "2024-01-01T00:00:00Z", 1),
            ["2024-01-06T09:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 9 ? * sun,sat *)", "2024-01-01T00:00:00Z", 2),
            ["2024-01-06T09:00:00Z", "2024-01-07T09:00:00Z"]
        );
        // `L` alone is the last day of the week: Saturday.
        assert_eq!(
            fires("cron(0 9 ? * L *)", "2024-01-01T00:00:00Z", 1),
            ["2024-01-06T09:00:00Z"]
        );
        // A range wrapping past Saturday: FRI-MON.
        assert_eq!(
            fires("cron(0 9 ? * FRI-MON *)", "2024-01-02T00:00:00Z", 4),
            [
                "2024-01-05T09:00:00Z",
                "2024-01-06T09:00:00Z",
                "2024-01-07T09:00:00Z",
                "2024-01-08T09:00:00Z"
            ]
        );
    }

    #[test]
    fn month_names_and_numbers() {
        assert_eq!(
            fires("cron(0 0 1 JUL,dec ? *)", "2024-01-01T00:00:00Z", 3),
            [
                "2024-07-01T00:00:00Z",
                "2024-12-01T00:00:00Z",
                "2025-07-01T00:00:00Z"
            ]
        );
        assert_eq!(
            fires("cron(0 0 1 7,12 ? *)", "2024-01-01T00:00:00Z", 3),
            fires("cron(0 0 1 JUL,DEC ? *)", "2024-01-01T00:00:00Z", 3),
        );
        // The 31st only in months that have one.
        assert_eq!(
            fires("cron(0 0 31 * ? *)", "2024-01-31T00:00:00Z", 2),
            ["2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z"]
        );
    }

    #[test]
    fn last_day_and_last_weekday_of_the_month() {
        assert_eq!(
            fires("cron(0 9 L * ? *)", "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-31T09:00:00Z",
                "2024-02-29T09:00:00Z",
                "2024-03-31T09:00:00Z"
            ]
        );
        assert_eq!(
            fires("cron(0 9 L 2 ? 2025)", "2024-06-01T00:00:00Z", 1),
            ["2025-02-28T09:00:00Z"]
        );
        // 2024-03-31 is a Sunday, 2024-08-31 a Saturday.
        assert_eq!(
            fires("cron(0 9 LW * ? *)", "2024-03-01T00:00:00Z", 1),
            ["2024-03-29T09:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 9 LW 8 ? *)", "2024-03-01T00:00:00Z", 1),
            ["2024-08-30T09:00:00Z"]
        );
        // Last Friday (6L) of January 2024 is the 26th.
        assert_eq!(
            fires("cron(0 9 ? * 6L *)", "2024-01-01T00:00:00Z", 2),
            ["2024-01-26T09:00:00Z", "2024-02-23T09:00:00Z"]
        );
    }

    #[test]
    fn nearest_weekday_stays_in_the_month() {
        // 2024-06-15 is a Saturday → Friday 14th; 2024-09-15 a Sunday → Monday 16th.
        assert_eq!(
            fires("cron(0 9 15W 6 ? *)", "2024-01-01T00:00:00Z", 1),
            ["2024-06-14T09:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 9 15W 9 ? *)", "2024-01-01T00:00:00Z", 1),
            ["2024-09-16T09:00:00Z"]
        );
        // 2024-06-01 is a Saturday: 1W is Monday the 3rd, not Friday May 31st.
        assert_eq!(
            fires("cron(0 9 1W 6 ? *)", "2024-01-01T00:00:00Z", 1),
            ["2024-06-03T09:00:00Z"]
        );
        // 2024-03-31 is a Sunday: 31W is Friday the 29th, not Monday April 1st.
        assert_eq!(
            fires("cron(0 9 31W 3 ? *)", "2024-01-01T00:00:00Z", 1),
            ["2024-03-29T09:00:00Z"]
        );
        // A weekday stays itself (2024-01-10 is a Wednesday).
        assert_eq!(
            fires("cron(0 9 10W 1 ? *)", "2024-01-01T00:00:00Z", 1),
            ["2024-01-10T09:00:00Z"]
        );
    }

    #[test]
    fn nth_weekday_of_the_month() {
        // The first Monday (2#1) and the second Wednesday (WED#2) of 2024's months.
        assert_eq!(
            fires("cron(0 9 ? * 2#1 *)", "2024-01-01T12:00:00Z", 2),
            ["2024-02-05T09:00:00Z", "2024-03-04T09:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 9 ? * WED#2 *)", "2024-01-01T00:00:00Z", 1),
            ["2024-01-10T09:00:00Z"]
        );
        // A fifth Friday exists in March 2024 (the 29th), not in January or February.
        assert_eq!(
            fires("cron(0 9 ? * 6#5 *)", "2024-01-01T00:00:00Z", 1),
            ["2024-03-29T09:00:00Z"]
        );
    }

    #[test]
    fn years_limit_the_schedule() {
        assert_eq!(
            fires("cron(0 0 1 1 ? 2026-2027)", "2024-06-01T00:00:00Z", 3),
            ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1 1 ? 2020)", "2024-06-01T00:00:00Z", 1),
            Vec::<String>::new()
        );
        assert_eq!(
            fires("cron(59 23 31 12 ? *)", "2199-12-31T23:59:00Z", 1),
            Vec::<String>::new(),
            "nothing after 2199"
        );
        // A leap day every four years.
        assert_eq!(
            fires("cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", 1),
            ["2028-02-29T00:00:00Z"]
        );
    }
}
