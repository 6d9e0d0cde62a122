//! EventBridge's semantics, case by case: the cases of the deployer's own matcher
//! (`deployer/src/local/clock/{cron,calendar,mod}.rs`), kept so that switching to croner changes
//! no fire time.

use chrono::{DateTime, SecondsFormat, Utc};

use chalice_codegen::model::RateUnit;

use super::*;

/// `rate(...)` or `cron(...)`, validated as the app file's would be.
fn schedule(expression: &str) -> Schedule {
    expression
        .parse()
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
}

/// The fire times of `expression`.
fn times(expression: &str) -> FireTimes {
    FireTimes::of(&schedule(expression)).unwrap()
}

/// `2024-01-01T02:00:00Z` → a time.
fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The next `n` fire times of `expression` after `after` (started then too).
fn fires(expression: &str, after: &str, n: usize) -> Vec<String> {
    let start = at(after);
    let times = times(expression);
    std::iter::successors(times.next_after(start, start), |last| {
        times.next_after(*last, start)
    })
    .take(n)
    .map(text)
    .collect()
}

// ---------------------------------------------------------------- rates

#[test]
fn rates_count_from_the_start() {
    let hourly = times("rate(1 hour)");
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
    // Half a second past one: the next.
    let just_after = at("2024-01-01T11:03:07.5Z");
    assert_eq!(
        text(hourly.next_after(just_after, start).unwrap()),
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

// ---------------------------------------------------------------- crons

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
    // A fraction of a second before: still that minute.
    assert_eq!(
        fires("cron(0 2 * * ? *)", "2024-01-01T01:59:59.999Z", 1),
        ["2024-01-01T02:00:00Z"]
    );
    // A cron ignores the rate origin.
    let nightly = times("cron(0 2 * * ? *)");
    assert_eq!(
        nightly.next_after(at("2024-01-01T12:00:00Z"), at("1999-05-05T05:05:05Z")),
        Some(at("2024-01-02T02:00:00Z"))
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
    // A stepped range that wraps: 22, 0, 2.
    assert_eq!(
        fires("cron(0 22-3/2 * * ? *)", "2024-01-01T12:00:00Z", 4),
        [
            "2024-01-01T22:00:00Z",
            "2024-01-02T00:00:00Z",
            "2024-01-02T02:00:00Z",
            "2024-01-02T22:00:00Z"
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
    // Steps count from Sunday = 1: SUN, TUE, THU, SAT (croner's Quartz mode gets this wrong).
    assert_eq!(
        fires("cron(0 9 ? * */2 *)", "2024-01-01T00:00:00Z", 4),
        [
            "2024-01-02T09:00:00Z",
            "2024-01-04T09:00:00Z",
            "2024-01-06T09:00:00Z",
            "2024-01-07T09:00:00Z"
        ]
    );
    assert_eq!(
        fires("cron(0 9 ? * 1-7/2 *)", "2024-01-01T00:00:00Z", 4),
        fires("cron(0 9 ? * */2 *)", "2024-01-01T00:00:00Z", 4),
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
    // A range of months wrapping past December.
    assert_eq!(
        fires("cron(0 0 1 NOV-FEB ? *)", "2024-03-01T00:00:00Z", 4),
        [
            "2024-11-01T00:00:00Z",
            "2024-12-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z"
        ]
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
    // Month after month: 2024-04-30 is a Tuesday, 2024-05-31 a Friday, 2024-06-30 a Sunday.
    assert_eq!(
        fires("cron(0/30 9 LW * ? *)", "2024-03-29T09:00:00Z", 5),
        [
            "2024-03-29T09:30:00Z",
            "2024-04-30T09:00:00Z",
            "2024-04-30T09:30:00Z",
            "2024-05-31T09:00:00Z",
            "2024-05-31T09:30:00Z"
        ]
    );
    assert_eq!(
        fires("cron(0 9 LW 6 ? 2024)", "2024-01-01T00:00:00Z", 2),
        ["2024-06-28T09:00:00Z"]
    );
    // Last Friday (6L) of January 2024 is the 26th.
    assert_eq!(
        fires("cron(0 9 ? * 6L *)", "2024-01-01T00:00:00Z", 2),
        ["2024-01-26T09:00:00Z", "2024-02-23T09:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 9 ? * FRIL *)", "2024-01-01T00:00:00Z", 2),
        fires("cron(0 9 ? * 6L *)", "2024-01-01T00:00:00Z", 2),
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
    assert_eq!(
        fires("cron(0 0 1 1 ? 2190/5)", "2024-06-01T00:00:00Z", 3),
        ["2190-01-01T00:00:00Z", "2195-01-01T00:00:00Z"]
    );
    // A leap day every four years.
    assert_eq!(
        fires("cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", 1),
        ["2028-02-29T00:00:00Z"]
    );
    // A day no month has never fires.
    assert_eq!(
        fires("cron(0 0 30 2 ? *)", "2024-03-01T00:00:00Z", 1),
        Vec::<String>::new()
    );
}

/// The hand-written calendar's facts, as fire times.
#[test]
fn the_calendar() {
    // 1970-01-01 was a Thursday (5), 2024-01-01 a Monday (2).
    assert_eq!(
        fires("cron(0 0 ? 1 5#1 1970)", "1969-12-01T00:00:00Z", 1),
        ["1970-01-01T00:00:00Z"]
    );
    assert_eq!(
        fires("cron(0 0 ? 1 MON#1 2024)", "2023-12-01T00:00:00Z", 1),
        ["2024-01-01T00:00:00Z"]
    );
    // February has 29 days in 2024 and 2000, 28 in 2100 (and 2023).
    for (year, last) in [(2024, 29), (2000, 29), (2100, 28), (2023, 28)] {
        assert_eq!(
            fires(
                &format!("cron(0 0 L 2 ? {year})"),
                "1999-01-01T00:00:00Z",
                1
            ),
            [format!("{year}-02-{last}T00:00:00Z")]
        );
    }
    // Day after day across years, leap days and centuries.
    for day in [
        "1969-12-31",
        "1970-01-01",
        "1972-02-29",
        "2000-12-31",
        "2203-09-18",
    ] {
        let after = format!("{day}T00:00:00Z");
        let noon = fires("cron(0 12 * * ? *)", &after, 1);
        let expected = if day.starts_with("2203") {
            Vec::new()
        } else {
            vec![format!("{day}T12:00:00Z")]
        };
        assert_eq!(noon, expected, "{day}");
    }
}

// ---------------------------------------------------------------- what is refused

#[test]
fn what_eventbridge_refuses_has_no_clock() {
    for bad in [
        "0 2 * * * *",
        "0 2 ? * ? *",
        "60 2 * * ? *",
        "0 24 * * ? *",
        "0 2 32 * ? *",
        "0 2 * 13 ? *",
        "0 2 ? * 0 *",
        "0 2 ? * 8 *",
        "0 2 * * ? 1969",
        "0 2 * * ? 2200",
        "0 2 * * ? 2030-2025",
        "0/0 * * * ? *",
        "0 2 ? * 2#6 *",
        "0 2 ? * 2#1,3 *",
        "0 2 L,15 * ? *",
        "0 2 ? * FOO *",
    ] {
        let fields: Vec<String> = bad.split(' ').map(String::from).collect();
        let cron = Schedule::Cron(Cron {
            minutes: fields[0].clone(),
            hours: fields[1].clone(),
            day_of_month: fields[2].clone(),
            month: fields[3].clone(),
            day_of_week: fields[4].clone(),
            year: fields[5].clone(),
        });
        let err = FireTimes::of(&cron).unwrap_err();
        assert_eq!(err.expression, format!("cron({bad})"));
        assert!(!err.reason.is_empty(), "{bad}");
    }
    // A field holding a space would shift the others.
    let mut cron = match schedule("cron(0 2 * * ? *)") {
        Schedule::Cron(cron) => cron,
        rate => panic!("{rate:?}"),
    };
    cron.hours = "1 2".into();
    assert!(FireTimes::of(&Schedule::Cron(cron)).is_err());
    let zero = Schedule::Rate {
        value: 0,
        unit: RateUnit::Minute,
    };
    assert_eq!(
        FireTimes::of(&zero).unwrap_err().to_string(),
        "cannot compute the fire times of `rate(0 minutes)`: \
         the rate value `0` is not a positive whole number"
    );
}

#[test]
fn croner_patterns() {
    let pattern = |expression: &str| match schedule(expression) {
        Schedule::Cron(cron) => match croner_cron(&cron).unwrap() {
            Timing::Cron { cron, last_weekday } => (cron.pattern.to_string(), last_weekday),
            Timing::Rate(_) => panic!("a rate"),
        },
        rate => panic!("{rate:?}"),
    };
    assert_eq!(
        pattern("cron(0 2 * * ? *)"),
        ("0 0 2 * * ? *".into(), false)
    );
    assert_eq!(
        pattern("cron(0/20 22-1 ? jan-feb MON-FRI 2030)"),
        ("0 0,20,40 0,1,22,23 ? 1,2 1,2,3,4,5 2030".into(), false)
    );
    assert_eq!(
        pattern("cron(0 9 ? * L *)"),
        ("0 0 9 ? * 6 *".into(), false)
    );
    assert_eq!(
        pattern("cron(0 9 ? * wed#2 *)"),
        ("0 0 9 ? * 3#2 *".into(), false)
    );
    assert_eq!(
        pattern("cron(0 9 ? * 6L *)"),
        ("0 0 9 ? * 5L *".into(), false)
    );
    assert_eq!(
        pattern("cron(0 9 LW * ? *)"),
        ("0 0 9 26-31 * ? *".into(), true)
    );
    assert_eq!(
        pattern("cron(0 9 15W * ? *)"),
        ("0 0 9 15W * ? *".into(), false)
    );
}
