//! What `deployer local` prints per invocation: one line (time, handler, event summary, duration,
//! result) with the handler's log lines beneath it, or one JSON object per line with `--json`.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anstyle::{AnsiColor, Color, Style};
use chrono::{DateTime, Local, SecondsFormat, Utc};
use serde_json::json;

/// How the parts of a text record are coloured (with `--color`, and never with `--json`).
const HANDLER: Style = Style::new().bold();
const OK: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Green)));
const PARTIAL: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));
const ERROR: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Red)));
const LOG_RULE: Style = Style::new().dimmed();

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Result {
    Ok,
    /// The handler reported these batch items as failed; the rest succeeded.
    Partial {
        failed: Vec<String>,
    },
    /// The handler failed, timed out or its process exited.
    Error(String),
}

/// One finished invocation.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub started: SystemTime,
    pub handler: &'a str,
    pub summary: &'a str,
    pub duration: Duration,
    /// The bootstrap was (re)started for it.
    pub cold: bool,
    pub result: Result,
    pub logs: Vec<String>,
}

/// Where invocation records go (stdout), one writer at a time.
#[derive(Debug)]
pub struct Output {
    json: bool,
    color: bool,
    /// The widest handler name, so summaries line up.
    width: usize,
    lock: Mutex<()>,
}

impl Output {
    pub fn new(json: bool, color: bool, handlers: &[&str]) -> Output {
        Output {
            json,
            color: color && !json,
            width: handlers.iter().map(|h| h.len()).max().unwrap_or(0),
            lock: Mutex::new(()),
        }
    }

    /// Prints one record (and flushes, so a pipe sees it at once).
    pub fn invocation(&self, record: &Record<'_>) {
        let text = if self.json {
            json_line(record)
        } else {
            self.text(record)
        };
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        // A closed stdout (the reader went away) is not a reason to stop delivering events.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Prints a line about `handler`'s events that is not an invocation (a filtered message, a
    /// retry, a batch given up), aligned with the invocation lines.
    pub fn note(&self, handler: &str, text: &str) {
        let now = SystemTime::now();
        let line = if self.json {
            let time = DateTime::<Utc>::from(now).to_rfc3339_opts(SecondsFormat::Millis, true);
            format!(
                "{}\n",
                json!({"time": time, "handler": handler, "note": text})
            )
        } else {
            self.note_text(now, handler, text)
        };
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }

    fn note_text(&self, at: SystemTime, handler: &str, text: &str) -> String {
        let time = DateTime::<Local>::from(at).format("%H:%M:%S%.3f");
        let pad = self.width.saturating_sub(handler.len());
        let name = if self.color {
            format!("{HANDLER}{handler}{HANDLER:#}")
        } else {
            handler.to_owned()
        };
        format!("{time}  {name}{:pad$}  {text}\n", "")
    }

    fn text(&self, r: &Record<'_>) -> String {
        let time = DateTime::<Local>::from(r.started).format("%H:%M:%S%.3f");
        let paint = |style: Style, s: &str| {
            if self.color {
                format!("{style}{s}{style:#}")
            } else {
                s.to_owned()
            }
        };
        let result = match &r.result {
            Result::Ok => paint(OK, "ok"),
            Result::Partial { failed } => paint(
                PARTIAL,
                &format!("partial: {} failed ({})", failed.len(), failed.join(", ")),
            ),
            Result::Error(e) => paint(ERROR, &format!("error: {e}")),
        };
        let cold = if r.cold { ", cold start" } else { "" };
        // Padded outside the colour codes, so names line up whether or not they are coloured.
        let pad = self.width.saturating_sub(r.handler.len());
        let mut text = format!(
            "{time}  {}{:pad$}  {}  {}{cold}  {result}\n",
            paint(HANDLER, r.handler),
            "",
            r.summary,
            format_duration(r.duration),
        );
        for line in &r.logs {
            text.push_str(&format!(
                "    {} {}\n",
                paint(LOG_RULE, "│"),
                readable(line)
            ));
        }
        text
    }
}

/// A log line as a person reads it: a JSON one (a function with `log_format = json` or a
/// `log_level`, as CloudWatch gets it) as `LEVEL message key=value ...`; a text one without its span.
fn readable(line: &str) -> String {
    json_log(line).unwrap_or_else(|| without_span(line))
}

/// lambda_runtime's JSON log line (`{"level":..,"fields":{"message":..,..},"span":..}`) as text.
fn json_log(line: &str) -> Option<String> {
    if !line.starts_with('{') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let level = value.get("level")?.as_str()?;
    let fields = value.get("fields")?.as_object()?;
    let mut text = level.to_owned();
    if let Some(message) = fields.get("message") {
        text.push(' ');
        text.push_str(
            message
                .as_str()
                .map_or(message.to_string(), str::to_owned)
                .as_str(),
        );
    }
    for (key, v) in fields.iter().filter(|(k, _)| *k != "message") {
        text.push_str(&format!(" {key}={v}"));
    }
    Some(text)
}

/// A handler's log line without lambda_runtime's span prefix (`Lambda runtime invoke{requestId=..
/// xrayTraceId=..}: `), which repeats on every line of every invocation.
fn without_span(line: &str) -> String {
    const SPAN: &str = "Lambda runtime invoke{";
    match line.find(SPAN) {
        Some(start) => match line[start..].find("}: ") {
            Some(end) => format!("{}{}", &line[..start], &line[start + end + 3..]),
            None => line.to_owned(),
        },
        None => line.to_owned(),
    }
}

fn json_line(r: &Record<'_>) -> String {
    let (result, error, failed) = match &r.result {
        Result::Ok => ("ok", None, None),
        Result::Partial { failed } => ("partial", None, Some(failed.clone())),
        Result::Error(e) => ("error", Some(e.clone()), None),
    };
    let mut line = json!({
        "time": DateTime::<Utc>::from(r.started).to_rfc3339_opts(SecondsFormat::Millis, true),
        "handler": r.handler,
        "summary": r.summary,
        "duration_ms": r.duration.as_secs_f64() * 1000.0,
        "cold": r.cold,
        "result": result,
        "logs": r.logs,
    });
    if let Some(error) = error {
        line["error"] = json!(error);
    }
    if let Some(failed) = failed {
        line["failed_items"] = json!(failed);
    }
    format!("{line}\n")
}

/// `12 ms`, `1.2 s`.
fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(result: Result) -> Record<'static> {
        Record {
            started: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_085_201_123),
            handler: "on_order",
            summary: "2 messages from my-queue",
            duration: Duration::from_millis(12),
            cold: false,
            result,
            logs: vec!["INFO order accepted".into()],
        }
    }

    #[test]
    fn a_text_record_is_one_line_with_its_logs_beneath() {
        let out = Output::new(false, false, &["on_order", "every_hour"]);
        let text = out.text(&record(Result::Partial {
            failed: vec!["m-2".into()],
        }));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(
                "  on_order    2 messages from my-queue  12 ms  partial: 1 failed (m-2)"
            ),
            "{text}"
        );
        assert_eq!(lines[1], "    │ INFO order accepted");
        assert_eq!(
            readable(
                r#"{"level":"INFO","fields":{"message":"image uploaded","key":"a.png","size":7},"span":{"requestId":"r"}}"#
            ),
            r#"INFO image uploaded key="a.png" size=7"#
        );
        assert_eq!(readable("{not json"), "{not json");
    }

    #[test]
    fn notes_line_up_with_invocations() {
        let out = Output::new(false, false, &["on_order", "every_hour"]);
        let line = out.note_text(SystemTime::now(), "on_order", "skipped 1 message (filter)");
        assert!(
            line.ends_with("  on_order    skipped 1 message (filter)\n"),
            "{line:?}"
        );
    }

    #[test]
    fn a_json_record_has_every_field() {
        let line = json_line(&record(Result::Error("HandlerError: boom".into())));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["time"], "2025-11-25T15:40:01.123Z");
        assert_eq!(v["handler"], "on_order");
        assert_eq!(v["result"], "error");
        assert_eq!(v["error"], "HandlerError: boom");
        assert_eq!(v["duration_ms"], 12.0);
        assert_eq!(v["logs"][0], "INFO order accepted");
    }

    #[test]
    fn the_runtimes_span_is_left_out_of_text_logs() {
        let line = " INFO Lambda runtime invoke{requestId=\"1\" xrayTraceId=\"Root=1\"}: order accepted order=o-1";
        assert_eq!(without_span(line), " INFO order accepted order=o-1");
        assert_eq!(without_span("plain line"), "plain line");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_millis(7)), "7 ms");
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.2 s");
    }
}
