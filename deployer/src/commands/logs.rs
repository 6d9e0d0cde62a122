//! `deployer logs`: a deployed function's CloudWatch Logs (`/aws/lambda/<function name>`), one line
//! per event, and with `--follow` the new ones as they come until Ctrl-C.
//!
//! Events are read with `FilterLogEvents` (every page) from `--since` on and printed oldest first.
//! Following polls every [`POLL_INTERVAL`], looking [`LATE_ARRIVALS`] back each time for events that
//! were ingested late, and prints each event id once.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use chrono::SecondsFormat;
use clap::Args;

use super::AppArg;
use super::CommandError;
use super::invoke_remote::connect;
use crate::aws::error_code;
use crate::project::plan::{function_for, load_plan};
use crate::resources::CallError;

/// How often `--follow` asks for new events.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far behind the newest event seen each `--follow` poll starts (already printed events are skipped).
pub const LATE_ARRIVALS: Duration = Duration::from_secs(10);
/// `--follow` gives up after this many failed polls in a row (each already retried by the SDK).
const MAX_FAILED_POLLS: u32 = 5;

/// `deployer logs HANDLER [--stage NAME] [--since DURATION|TIME] [--follow] [--app FILE]`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The handler whose function's logs to print, as named in the app file.
    #[arg(value_name = "HANDLER")]
    pub handler: String,
    /// The stage the function is deployed in.
    #[arg(long, value_name = "NAME", default_value = chalice_codegen::model::DEFAULT_STAGE)]
    pub stage: String,
    /// Print events from this long ago (`30s`, `5m`, `2h`, `1d`) or from this RFC 3339 time on.
    #[arg(long, value_name = "DURATION|TIME", default_value = "10m", value_parser = parse_since)]
    pub since: Since,
    /// Keep printing new events as they arrive (polling every second) until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
    #[command(flatten)]
    pub app: AppArg,
}

/// Where `--since` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(Duration),
    /// At this time, in milliseconds since the epoch.
    At(i64),
}

impl Since {
    /// The start time in milliseconds since the epoch, `now` being now.
    pub fn start_ms(self, now: SystemTime) -> i64 {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        match self {
            Since::Ago(ago) => millis(now.saturating_sub(ago)),
            Since::At(ms) => ms,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Parses `--since`: a whole number with a unit (`s`, `m`, `h`, `d`), or an RFC 3339 time.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    let unit = match text.chars().last() {
        Some('s') => Some(1),
        Some('m') => Some(60),
        Some('h') => Some(3_600),
        Some('d') => Some(86_400),
        _ => None,
    };
    let number = &text[..text.len().saturating_sub(1)];
    if let Some(unit) = unit
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        return number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .map(|secs| Since::Ago(Duration::from_secs(secs)))
            .ok_or_else(|| format!("`{text}` is too long ago"));
    }
    DateTime::from_str(text, Format::DateTimeWithOffset)
        .ok()
        .and_then(|t| t.to_millis().ok())
        .map(Since::At)
        .ok_or_else(|| {
            format!(
                "`{text}` is neither a duration (30s, 5m, 2h, 1d) nor an RFC 3339 time (2026-11-25T15:40:00Z)"
            )
        })
}

/// One log event, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The event id, or (when the service sent none) something as unique.
    pub id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

impl From<&FilteredLogEvent> for LogLine {
    fn from(e: &FilteredLogEvent) -> LogLine {
        let timestamp = e.timestamp().unwrap_or_default();
        let stream = e.log_stream_name().unwrap_or("-").to_owned();
        let message = e.message().unwrap_or_default().to_owned();
        let id = match e.event_id() {
            Some(id) => id.to_owned(),
            None => format!("{timestamp}/{stream}/{message}"),
        };
        LogLine {
            id,
            timestamp,
            stream,
            message,
        }
    }
}

impl std::fmt::Display for LogLine {
    /// `2026-11-25T15:40:01.123Z  <stream>  <message without its trailing newline>`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = self.message.trim_end_matches(['\n', '\r']);
        write!(
            f,
            "{}  {}  {message}",
            format_millis(self.timestamp),
            self.stream
        )
    }
}

/// RFC 3339 in UTC with exactly three fraction digits: `2026-11-25T15:40:01.123Z`.
pub fn format_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("????-??-??T??:??:??.{:03}Z", ms.rem_euclid(1000)),
        |time| time.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// Prints the logs (see the module doc).
pub fn run(args: &LogsArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    let plan = load_plan(&args.app.app, &args.stage)?;
    let function = function_for(&plan, &args.handler)?;
    let group = chalice_codegen::plan::log_group_name(&function.name);
    let start = args.since.start_ms(SystemTime::now());
    let runtime = crate::engine::runtime()?;
    runtime.block_on(async {
        let clients = connect().await?;
        let logs = &clients.logs;
        if !args.follow {
            return print_once(logs, &args.handler, &group, start, out).await;
        }
        tokio::select! {
            biased;
            signal = tokio::signal::ctrl_c() => signal.map_err(CommandError::Output),
            done = follow(logs, &args.handler, &group, start, out) => done,
        }
    })
}

async fn print_once(
    logs: &aws_sdk_cloudwatchlogs::Client,
    handler: &str,
    group: &str,
    start: i64,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let fetched = fetch(logs, group, start)
        .await
        .map_err(|e| CommandError::Usage(e.to_string()))?;
    let Some(events) = fetched else {
        eprintln!("no logs yet for {handler} (log group {group} does not exist)");
        return Ok(());
    };
    if events.is_empty() {
        eprintln!(
            "no log events for {handler} in {group} since {}",
            format_millis(start)
        );
    }
    for event in &events {
        writeln!(out, "{event}")?;
    }
    Ok(())
}

/// Polls until stopped (the caller races it with Ctrl-C); returns only on an error.
async fn follow(
    logs: &aws_sdk_cloudwatchlogs::Client,
    handler: &str,
    group: &str,
    mut start: i64,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let late = millis(LATE_ARRIVALS);
    // Printed events by id, with their timestamps (forgotten once before `start`).
    let mut printed: HashMap<String, i64> = HashMap::new();
    let mut said_waiting = false;
    let mut failed_polls = 0;
    loop {
        match fetch(logs, group, start).await {
            Ok(Some(events)) => {
                failed_polls = 0;
                let newest = events.last().map(|e| e.timestamp);
                for event in events {
                    if printed.insert(event.id.clone(), event.timestamp).is_none() {
                        writeln!(out, "{event}")?;
                    }
                }
                out.flush()?;
                if let Some(newest) = newest {
                    start = start.max(newest.saturating_sub(late));
                    printed.retain(|_, timestamp| *timestamp >= start);
                }
            }
            Ok(None) => {
                failed_polls = 0;
                if !said_waiting {
                    eprintln!(
                        "no logs yet for {handler} (log group {group} does not exist); waiting for it (Ctrl-C to stop)"
                    );
                    said_waiting = true;
                }
            }
            Err(e) => {
                failed_polls += 1;
                if failed_polls >= MAX_FAILED_POLLS {
                    return Err(CommandError::Usage(format!(
                        "{e} ({failed_polls} polls in a row failed)"
                    )));
                }
                eprintln!("warning: {e}; trying again");
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Every event in `group` from `start` (ms) on, oldest first; `None` when the group does not exist.
async fn fetch(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start: i64,
) -> Result<Option<Vec<LogLine>>, CallError> {
    let mut events = Vec::new();
    // The paginator also stops when a page repeats the previous token (it would page forever).
    let mut pages = logs
        .filter_log_events()
        .log_group_name(group)
        .start_time(start)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(CallError::new("FilterLogEvents", group, e)),
        };
        events.extend(page.events().iter().map(LogLine::from));
    }
    // Stable: events with the same timestamp keep the service's order.
    events.sort_by_key(|e| e.timestamp);
    Ok(Some(events))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn since_takes_durations_with_a_unit() {
        let ago = |s: u64| Ok(Since::Ago(Duration::from_secs(s)));
        assert_eq!(parse_since("30s"), ago(30));
        assert_eq!(parse_since("5m"), ago(300));
        assert_eq!(parse_since("2h"), ago(7_200));
        assert_eq!(parse_since("1d"), ago(86_400));
        assert_eq!(parse_since("0s"), ago(0));
        for wrong in ["", "s", "5", "-5m", "5 m", "1.5h", "5w", "m5", "yesterday"] {
            let e = parse_since(wrong).unwrap_err();
            assert!(e.contains("neither a duration"), "{wrong:?}: {e}");
        }
        assert!(
            parse_since("99999999999999999999d").is_err(),
            "overflow is an error, not a panic"
        );
        assert!(
            parse_since("999999999999999999d")
                .unwrap_err()
                .contains("too long ago")
        );
    }

    #[test]
    fn since_takes_rfc3339_times() {
        assert_eq!(
            parse_since("2026-11-25T15:40:01.123Z"),
            Ok(Since::At(1_795_621_201_123))
        );
        assert_eq!(
            parse_since("2026-11-25T16:40:01.123+01:00"),
            Ok(Since::At(1_795_621_201_123))
        );
        assert!(parse_since("2026-11-25").is_err());
        assert!(parse_since("2026-13-25T15:40:01Z").is_err());
    }

    #[test]
    fn since_is_counted_back_from_now() {
        let now = UNIX_EPOCH + Duration::from_millis(1_795_621_201_123);
        assert_eq!(
            Since::Ago(Duration::from_secs(600)).start_ms(now),
            1_795_620_601_123
        );
        assert_eq!(Since::At(42).start_ms(now), 42);
        assert_eq!(Since::Ago(Duration::from_secs(u64::MAX)).start_ms(now), 0);
    }

    #[test]
    fn a_line_is_time_stream_and_message_without_its_newline() {
        let line = LogLine {
            id: "1".into(),
            timestamp: 1_795_621_201_123,
            stream: "2026/11/25/[$LATEST]abc".into(),
            message: "hello world\n".into(),
        };
        assert_eq!(
            line.to_string(),
            "2026-11-25T15:40:01.123Z  2026/11/25/[$LATEST]abc  hello world"
        );
        let line = LogLine {
            timestamp: 1_795_621_201_000,
            message: "two\nlines\r\n".into(),
            ..line
        };
        assert_eq!(
            line.to_string(),
            "2026-11-25T15:40:01.000Z  2026/11/25/[$LATEST]abc  two\nlines"
        );
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn events_without_an_id_get_one() {
        let event = FilteredLogEvent::builder()
            .timestamp(5)
            .log_stream_name("s")
            .message("m")
            .build();
        assert_eq!(LogLine::from(&event).id, "5/s/m");
        let event = FilteredLogEvent::builder()
            .timestamp(5)
            .event_id("e1")
            .build();
        assert_eq!(LogLine::from(&event).id, "e1");
    }

    #[test]
    fn logs_defaults_to_dev_and_ten_minutes() {
        let cli = Cli::try_parse_from(["deployer", "logs", "on_order"]).unwrap();
        let Command::Logs(args) = cli.command else {
            panic!("not logs: {cli:?}");
        };
        assert_eq!(
            (args.handler.as_str(), args.stage.as_str()),
            ("on_order", "dev")
        );
        assert_eq!(args.since, Since::Ago(Duration::from_secs(600)));
        assert!(!args.follow);
        let cli = Cli::try_parse_from([
            "deployer", "logs", "on_order", "-f", "--since", "1h", "--stage", "prod",
        ])
        .unwrap();
        let Command::Logs(args) = cli.command else {
            panic!("not logs: {cli:?}");
        };
        assert!(args.follow);
        assert_eq!(args.since, Since::Ago(Duration::from_secs(3_600)));
        assert!(Cli::try_parse_from(["deployer", "logs", "on_order", "--since", "soon"]).is_err());
        assert!(Cli::try_parse_from(["deployer", "logs"]).is_err());
    }
}
