//! Schedules fired by a local clock: `rate(...)` and EventBridge's `cron(...)`, delivered as
//! EventBridge's "Scheduled Event".
//!
//! Cron expressions follow EventBridge (Quartz) rules, in UTC: six fields (minutes hours
//! day-of-month month day-of-week year), exactly one day field `?`, day-of-week 1-7 = SUN-SAT,
//! `L`, `LW`, `15W` in day-of-month and `L`, `6L`, `2#3` in day-of-week. The matcher is our own:
//! croner numbers weekdays 0-6, reads `L` alone in day-of-week differently and has no `LW`, and
//! its dates would need chrono, which this crate does not depend on.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chalice_codegen::model::{self, RateUnit};
use chalice_codegen::plan::AwsContext;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::local::{Deliver, Shutdown, stopped};
use crate::samples::{self, SampleContext};

/// A schedule expression, ready to compute fire times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(N unit)`: every N units, counted from when the runner started.
    Rate { value: u32, unit: RateUnit },
    /// `cron(...)`: at the minutes the six fields match, in UTC.
    Cron(Box<Cron>),
}

/// A schedule expression that is not one EventBridge accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule expression `{expression}`: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

impl Schedule {
    /// Parses a plan's `schedule_expression`: `rate(5 minutes)`, `rate(1 hour)`, `cron(0 2 * * ? *)`.
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        let fail = |reason: String| ScheduleError {
            expression: expression.to_owned(),
            reason,
        };
        let text = expression.trim();
        if let Some(body) = text.strip_prefix("rate(").and_then(|b| b.strip_suffix(')')) {
            return parse_rate(body).map_err(fail);
        }
        if let Some(body) = text.strip_prefix("cron(").and_then(|b| b.strip_suffix(')')) {
            return Cron::parse(body)
                .map(|cron| Schedule::Cron(Box::new(cron)))
                .map_err(fail);
        }
        Err(fail("expected `rate(...)` or `cron(...)`".to_owned()))
    }

    /// The first fire time strictly after `after`; `started` is when the runner started (rates
    /// count from it). `None` when the schedule never fires again (a cron's years are over).
    pub fn next_after(&self, after: SystemTime, started: SystemTime) -> Option<SystemTime> {
        match self {
            Schedule::Rate { value, unit } => {
                let period = u64::from(*value).checked_mul(unit.seconds())?;
                let period = Duration::from_secs(period);
                let periods = match after.duration_since(started) {
                    Ok(since) => since.as_nanos() / period.as_nanos() + 1,
                    Err(_) => 1, // `after` is before the start: the first fire
                };
                let offset = period.checked_mul(u32::try_from(periods).ok()?)?;
                started.checked_add(offset)
            }
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

impl fmt::Display for Schedule {
    /// The expression as EventBridge writes it: `rate(1 hour)`, `cron(0 2 * * ? *)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate { value, unit } => {
                let rate = model::Schedule::Rate {
                    value: *value,
                    unit: *unit,
                };
                f.write_str(&rate.expression())
            }
            Schedule::Cron(cron) => write!(f, "cron({})", cron.fields.join(" ")),
        }
    }
}

/// The body of `rate(...)`, as strict as EventBridge: `1 hour`, `5 minutes`, never `1 hours`.
fn parse_rate(body: &str) -> Result<Schedule, String> {
    let words: Vec<&str> = body.split_whitespace().collect();
    let [value, unit] = words[..] else {
        return Err("a rate is `N unit`, e.g. `rate(5 minutes)`".to_owned());
    };
    let value = match value.parse::<u32>() {
        Ok(n) if n > 0 && value.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Err(format!("`{value}` is not a positive whole number")),
    };
    let (word, plural) = match unit.strip_suffix('s') {
        Some(word) => (word, true),
        None => (unit, false),
    };
    let unit = match word {
        "minute" => RateUnit::Minute,
        "hour" => RateUnit::Hour,
        "day" => RateUnit::Day,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` (minute(s), hour(s), day(s))"
            ));
        }
    };
    if plural != (value != 1) {
        return Err("a rate of 1 takes the singular unit, any other the plural".to_owned());
    }
    Ok(Schedule::Rate { value, unit })
}

// ---------------------------------------------------------------- cron

/// An EventBridge cron expression's six fields, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// As written (for display).
    fields: Vec<String>,
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
    fn parse(body: &str) -> Result<Cron, String> {
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
    fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
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

// ---------------------------------------------------------------- calendar (proleptic Gregorian, UTC)

const MINUTES_PER_DAY: i64 = 24 * 60;

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `(year, month, day)` of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// 1-7 = SUN-SAT, as EventBridge numbers days (1970-01-01 was a Thursday).
fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32 + 1
}

fn weekday_of(year: i64, month: u32, day: u32) -> u32 {
    weekday(days_from_civil(year, month, day))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

// ---------------------------------------------------------------- the runner's loop

/// The longest single sleep: the clock is re-read at least this often, so a wall clock that
/// jumps (a laptop waking from sleep) is noticed.
const MAX_NAP: Duration = Duration::from_secs(60);
/// How far the wall clock may run ahead of the monotonic one before the clock follows it.
const RESYNC: Duration = Duration::from_secs(2);

/// Wall-clock time driven by tokio's monotonic clock, optionally sped up (tests).
#[derive(Debug)]
struct Clock {
    wall: SystemTime,
    at: Instant,
    speed: u32,
}

impl Clock {
    fn real() -> Clock {
        Clock::fast(SystemTime::now(), 1)
    }

    /// A clock reading `start` now, running `speed` times faster than real time.
    fn fast(start: SystemTime, speed: u32) -> Clock {
        Clock {
            wall: start,
            at: Instant::now(),
            speed: speed.max(1),
        }
    }

    fn now(&mut self) -> SystemTime {
        let elapsed = self.at.elapsed().saturating_mul(self.speed);
        let now = self.wall.checked_add(elapsed).unwrap_or(self.wall);
        if self.speed == 1 {
            // The monotonic clock stops while the machine sleeps; the wall clock does not.
            let wall = SystemTime::now();
            if wall.duration_since(now).is_ok_and(|ahead| ahead > RESYNC) {
                *self = Clock::fast(wall, 1);
                return wall;
            }
        }
        now
    }

    /// When to wake up next on the way to `target`: at it, or after [`MAX_NAP`].
    fn wake_for(&mut self, target: SystemTime) -> Instant {
        let left = target.duration_since(self.now()).unwrap_or_default();
        // Rounded up, so the clock has reached `target` when the sleep ends.
        let real = left.as_nanos().div_ceil(u128::from(self.speed));
        let real = Duration::from_nanos(u64::try_from(real).unwrap_or(u64::MAX));
        Instant::now() + real.min(MAX_NAP)
    }
}

/// Fires `schedule` on the local clock until `shutdown`: each fire delivers EventBridge's
/// "Scheduled Event" for `rule_arn` (its `time` the scheduled time); `fire_now` fires one at once
/// (its `time` now) without moving the schedule.
///
/// Like EventBridge, a fire is not retried when the handler fails, and fires missed while the
/// previous delivery ran (or the machine slept) are skipped.
pub async fn run<D: Deliver>(
    schedule: Schedule,
    rule_arn: String,
    ctx: AwsContext,
    deliver: Arc<D>,
    fire_now: Arc<Notify>,
    shutdown: Shutdown,
) {
    let fire = Fire {
        schedule,
        rule_arn,
        ctx,
    };
    run_on(Clock::real(), fire, deliver, fire_now, shutdown).await;
}

/// What one schedule delivers.
struct Fire {
    schedule: Schedule,
    rule_arn: String,
    ctx: AwsContext,
}

impl Fire {
    /// The event for a fire at `time`, with a fresh id.
    fn event(&self, time: SystemTime) -> Value {
        let sample = SampleContext {
            aws: self.ctx.clone(),
            now: time,
        };
        let mut event = samples::schedule_event(&self.rule_arn, &sample);
        if let Some(fields) = event.as_object_mut() {
            fields.insert("id".to_owned(), Value::String(event_id()));
        }
        event
    }
}

async fn run_on<D: Deliver>(
    mut clock: Clock,
    fire: Fire,
    deliver: Arc<D>,
    fire_now: Arc<Notify>,
    mut shutdown: Shutdown,
) {
    let started = clock.now();
    let mut next = fire.schedule.next_after(started, started);
    loop {
        let wake = next.map(|target| clock.wake_for(target));
        let (time, manual) = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => return,
            () = fire_now.notified() => (clock.now(), true),
            () = sleep_until(wake) => match next {
                Some(target) if clock.now() >= target => (target, false),
                _ => continue, // a nap on the way
            },
        };
        let summary = if manual {
            format!("{} (fired now)", fire.schedule)
        } else {
            fire.schedule.to_string()
        };
        tokio::select! {
            biased;
            () = stopped(&mut shutdown) => return,
            _ = deliver.deliver(fire.event(time), summary) => {}
        }
        if !manual {
            let after = clock.now().max(time);
            next = fire.schedule.next_after(after, started);
        }
    }
}

/// Sleeps until `wake`, or forever when there is nothing to wake for.
async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(wake) => tokio::time::sleep_until(wake).await,
        None => std::future::pending().await,
    }
}

/// A fresh random UUID (version 4 layout), as EventBridge gives each event.
fn event_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    // Each RandomState is keyed from the OS's randomness: good enough for ids, not for secrets.
    let half = |salt: u64| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(count);
        hasher.write_u128(nanos);
        hasher.write_u64(salt);
        hasher.finish()
    };
    let (high, low) = (half(1), half(2));
    let high = (high & !0xf000) | 0x4000; // version 4
    let low = (low & !(0xc0 << 56)) | (0x80 << 56); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    use serde_json::json;

    use super::*;
    use crate::local::Delivered;

    /// `2024-01-01T02:00:00Z` → a time.
    fn at(text: &str) -> SystemTime {
        let time = DateTime::from_str(text, Format::DateTime).unwrap();
        UNIX_EPOCH + Duration::from_secs(u64::try_from(time.secs()).unwrap())
    }

    fn text(time: SystemTime) -> String {
        let secs = time.duration_since(UNIX_EPOCH).unwrap().as_secs();
        DateTime::from_secs(i64::try_from(secs).unwrap())
            .fmt(Format::DateTime)
            .unwrap()
    }

    /// The next `n` fire times of `expression` after `after` (started then too).
    fn fires(expression: &str, after: &str, n: usize) -> Vec<String> {
        let schedule = Schedule::parse(expression).unwrap();
        let started = at(after);
        let mut out = Vec::new();
        let mut t = started;
        for _ in 0..n {
            let Some(next) = schedule.next_after(t, started) else {
                break;
            };
            out.push(text(next));
            t = next;
        }
        out
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-1, 0, 59, 365, 10_957, 11_016, 19_723, 85_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(weekday(0), 5, "1970-01-01 was a Thursday");
        assert_eq!(weekday_of(2024, 1, 1), 2, "2024-01-01 was a Monday");
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
    }

    #[test]
    fn rates_count_from_the_start() {
        let hourly = Schedule::parse("rate(1 hour)").unwrap();
        let start = at("2024-01-01T10:03:07Z");
        assert_eq!(
            text(hourly.next_after(start, start).unwrap()),
            "2024-01-01T11:03:07Z"
        );
        let later = at("2024-01-01T13:30:00Z");
        assert_eq!(
            text(hourly.next_after(later, start).unwrap()),
            "2024-01-01T14:03:07Z"
        );
        // Exactly on a fire time: the one after.
        assert_eq!(
            text(
                hourly
                    .next_after(at("2024-01-01T11:03:07Z"), start)
                    .unwrap()
            ),
            "2024-01-01T12:03:07Z"
        );
        let before = at("2023-12-31T00:00:00Z");
        assert_eq!(
            text(hourly.next_after(before, start).unwrap()),
            "2024-01-01T11:03:07Z"
        );
        assert_eq!(
            fires("rate(5 minutes)", "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-01T00:05:00Z",
                "2024-01-01T00:10:00Z",
                "2024-01-01T00:15:00Z"
            ]
        );
        assert_eq!(
            fires("rate(7 days)", "2024-01-01T00:00:00Z", 1),
            ["2024-01-08T00:00:00Z"]
        );
    }

    #[test]
    fn expressions_display_as_eventbridge_writes_them() {
        for expression in [
            "rate(1 hour)",
            "rate(5 minutes)",
            "rate(1 day)",
            "cron(0 2 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
        ] {
            assert_eq!(Schedule::parse(expression).unwrap().to_string(), expression);
        }
        assert_eq!(
            Schedule::parse(" cron(0  2 * * ? *) ").unwrap().to_string(),
            "cron(0 2 * * ? *)"
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "rate(1 hours)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(30 seconds)",
            "rate(5)",
            "every hour",
            "cron(0 2 * * *)",
            "cron(0 0 2 * * ? *)",
            "cron(0 2 * * * *)",
            "cron(0 2 ? * ? *)",
            "cron(60 2 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 2 32 * ? *)",
            "cron(0 2 * 13 ? *)",
            "cron(0 2 ? * 0 *)",
            "cron(0 2 ? * 8 *)",
            "cron(0 2 * * ? 1969)",
            "cron(0 2 * * ? 2200)",
            "cron(0 2 * * ? 2030-2025)",
            "cron(0/0 * * * ? *)",
            "cron(0 2 ? * 2#6 *)",
            "cron(0 2 ? * 2#1,3 *)",
            "cron(0 2 L,15 * ? *)",
            "cron(0 2 ? * FOO *)",
        ] {
            let err = Schedule::parse(bad).unwrap_err();
            assert_eq!(err.expression, bad);
            assert!(!err.reason.is_empty());
        }
    }

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

    // ------------------------------------------------------------ the loop

    /// Records what it is handed, and when (on the test's clock).
    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<(Value, String, std::time::Instant)>>,
        signal: Notify,
    }

    impl Deliver for Recorder {
        async fn deliver(&self, event: Value, summary: String) -> Delivered {
            let now = std::time::Instant::now();
            self.seen.lock().unwrap().push((event, summary, now));
            self.signal.notify_one();
            Delivered::Ok(Value::Null)
        }
    }

    impl Recorder {
        async fn wait_for(&self, n: usize) -> Vec<(Value, String, std::time::Instant)> {
            tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    {
                        let seen = self.seen.lock().unwrap();
                        if seen.len() >= n {
                            return seen.clone();
                        }
                    }
                    self.signal.notified().await;
                }
            })
            .await
            .expect("deliveries in time")
        }
    }

    fn ctx() -> AwsContext {
        AwsContext {
            partition: "aws".into(),
            region: "eu-west-3".into(),
            account: "111122223333".into(),
        }
    }

    const RULE: &str = "arn:aws:events:eu-west-3:111122223333:rule/orders-dev-nightly";

    struct Running {
        recorder: Arc<Recorder>,
        fire_now: Arc<Notify>,
        stop: tokio::sync::watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
        real_start: std::time::Instant,
    }

    fn start(expression: &str, clock: Clock) -> Running {
        let recorder = Arc::new(Recorder::default());
        let fire_now = Arc::new(Notify::new());
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let fire = Fire {
            schedule: Schedule::parse(expression).unwrap(),
            rule_arn: RULE.into(),
            ctx: ctx(),
        };
        let real_start = std::time::Instant::now();
        let task = tokio::spawn(run_on(
            clock,
            fire,
            recorder.clone(),
            fire_now.clone(),
            shutdown,
        ));
        Running {
            recorder,
            fire_now,
            stop,
            task,
            real_start,
        }
    }

    impl Running {
        async fn stop(self) {
            // The loop may have stopped already (and dropped its receiver).
            let _ = self.stop.send(true);
            tokio::time::timeout(Duration::from_secs(2), self.task)
                .await
                .expect("stops promptly")
                .unwrap();
        }
    }

    #[tokio::test]
    async fn cron_fires_scheduled_events_at_their_times() {
        // One virtual day every 144 ms; the clock starts two hours before the first 02:00.
        let clock = Clock::fast(at("2024-01-01T00:00:00Z"), 600_000);
        let running = start("cron(0 2 * * ? *)", clock);
        let seen = running.recorder.wait_for(2).await;
        running.stop().await;

        let (event, summary, _) = &seen[0];
        assert_eq!(summary, "cron(0 2 * * ? *)");
        let time = event["time"].as_str().unwrap();
        // 2024-01-01 unless this machine took over 12 ms (two virtual hours) to start the loop.
        assert!(
            ["2024-01-01T02:00:00Z", "2024-01-02T02:00:00Z"].contains(&time),
            "{time}"
        );
        let mut expected = json!({
            "version": "0",
            "id": event["id"],
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "111122223333",
            "time": time,
            "region": "eu-west-3",
            "resources": [RULE],
            "detail": {}
        });
        assert_eq!(event, &expected);
        expected["time"] = json!(text(at(time) + Duration::from_secs(86_400)));
        expected["id"] = seen[1].0["id"].clone();
        assert_eq!(seen[1].0, expected, "the next day at 02:00");
        assert_ne!(event["id"], seen[1].0["id"], "a fresh id per event");
    }

    #[tokio::test]
    async fn rate_fires_every_period_from_the_start_and_on_demand() {
        // One virtual hour every 200 ms.
        const HOUR_MS: u64 = 200;
        let start_time = at("2024-01-01T10:00:00Z");
        let running = start("rate(1 hour)", Clock::fast(start_time, 18_000));
        running.fire_now.notify_one();
        let seen = running.recorder.wait_for(2).await;
        // Half a period after the first scheduled fire, fire one by hand.
        tokio::time::sleep(Duration::from_millis(HOUR_MS / 2)).await;
        running.fire_now.notify_one();
        let seen_all = running.recorder.wait_for(4).await;
        let real_start = running.real_start;
        running.stop().await;

        let (first_manual, summary, when) = &seen[0];
        assert_eq!(summary, "rate(1 hour) (fired now)");
        assert!(
            when.duration_since(real_start) < Duration::from_millis(HOUR_MS / 2),
            "fired at once"
        );
        let (manual, scheduled): (Vec<_>, Vec<_>) = seen_all
            .iter()
            .partition(|(_, s, _)| s.ends_with("(fired now)"));
        assert_eq!((manual.len(), scheduled.len()), (2, 2), "{seen_all:?}");
        let time = |e: &Value| at(e["time"].as_str().unwrap());
        let (t1, t2) = (time(&scheduled[0].0), time(&scheduled[1].0));
        assert_eq!(scheduled[0].1, "rate(1 hour)");
        // An hour after the start (give or take the loop's start-up), then exactly an hour on:
        // the manual fires did not move the schedule.
        let first = t1.duration_since(start_time).unwrap();
        assert!(
            first >= Duration::from_secs(3600) && first < Duration::from_secs(2 * 3600),
            "{first:?}"
        );
        assert_eq!(t2.duration_since(t1).unwrap(), Duration::from_secs(3600));
        assert!(time(first_manual) < t1);
        let second_manual = time(&manual[1].0);
        assert!(t1 < second_manual && second_manual < t1 + Duration::from_secs(3600));
        // Never early: the n-th scheduled fire comes n virtual hours after the start.
        for (n, (_, _, when)) in scheduled.iter().enumerate() {
            let real = when.duration_since(real_start);
            assert!(
                real >= Duration::from_millis(HOUR_MS * (n as u64 + 1)),
                "fire {n} at {real:?}"
            );
        }
    }

    #[tokio::test]
    async fn shutdown_stops_a_sleeping_clock_at_once() {
        let running = start("rate(1 day)", Clock::real());
        tokio::time::sleep(Duration::from_millis(20)).await;
        let began = std::time::Instant::now();
        running.stop().await;
        assert!(began.elapsed() < Duration::from_millis(500));

        // Already stopped before it starts: returns without firing, even when asked to fire.
        let running = start("rate(1 minute)", Clock::real());
        running.fire_now.notify_one();
        running.stop.send(true).unwrap();
        let recorder = running.recorder.clone();
        running.stop().await;
        assert!(recorder.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn event_ids_look_like_uuids_and_differ() {
        let a = event_id();
        let b = event_id();
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn the_real_clock_reads_the_wall_clock() {
        let mut clock = Clock::real();
        let now = clock.now();
        let wall = SystemTime::now();
        let gap = wall.duration_since(now).unwrap_or_else(|e| e.duration());
        assert!(gap < Duration::from_secs(1));
    }
}
