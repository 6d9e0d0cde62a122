//! README's quick start, run as a user would: `deployer local` on the example app the way
//! `scripts/local.sh` starts it (repo root, default `--app`), README's `send` commands one after the
//! other, and what the runner prints compared with README's blocks. Only what must vary is
//! normalised: clock times, durations, the emulator's port, elapsed seconds, a handler's remaining time.
//! Needs moto (`scripts/moto.sh`).

mod support;

use std::time::Duration;

use support::bootstrap::{bootstrap, workspace};
use support::deployer::{self, without_aws};
use support::runner::{self, Runner};

/// Generous: a loaded 2-core machine runs moto, the runner and eight bootstraps.
const READY: Duration = Duration::from_secs(180);

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).expect("README.md")
}

/// The body of the first fenced block after the first line containing `marker`.
fn block_after(text: &str, marker: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has no `{marker}`"));
    let mut lines = text[from..].lines().skip_while(|l| !l.starts_with("```"));
    lines.next();
    lines
        .take_while(|l| !l.starts_with("```"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Replaces the digits of each `<digits><suffix>` in `line` (walking back from `suffix`) by `with`.
fn replace_before(line: &str, suffix: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(suffix) {
        let head = &rest[..at];
        let digits = head
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
            .len();
        if digits < head.len() && (digits == 0 || head[..digits].ends_with(' ')) {
            out.push_str(&head[..digits]);
            out.push_str(with);
        } else {
            out.push_str(head);
        }
        out.push_str(suffix);
        rest = &rest[at + suffix.len()..];
    }
    out.push_str(rest);
    out
}

/// Times of day, durations, the emulator's port, elapsed seconds and `remaining_ms` made constant.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut line = line.trim_end().to_owned();
            let clock = line.len() >= 12
                && line[..12].chars().enumerate().all(|(i, c)| match i {
                    2 | 5 => c == ':',
                    8 => c == '.',
                    _ => c.is_ascii_digit(),
                });
            if clock {
                line.replace_range(..12, "HH:MM:SS.mmm");
            }
            if let Some(at) = line.find("127.0.0.1:") {
                let port = at + "127.0.0.1:".len();
                let end = line[port..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(line.len(), |e| port + e);
                line.replace_range(port..end, "PORT");
            }
            // The invocation's remaining time, as the nightly handler logs it.
            if let Some(at) = line.find("remaining_ms=") {
                let from = at + "remaining_ms=".len();
                let end = line[from..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(line.len(), |e| from + e);
                line.replace_range(from..end, "N");
            }
            let line = replace_before(&line, " ms", "N");
            replace_before(&line, " s", "T") + "\n"
        })
        .collect()
}

#[test]
fn readmes_quick_start_prints_what_readme_shows() {
    let text = readme();
    // The runner builds the bootstrap itself, as in the quick start; built once here first so
    // that its build is cargo's freshness check.
    bootstrap();
    // From the repository's root with the default `--app`, as scripts/local.sh starts it.
    let mut cmd = runner::command(workspace(), &[]);
    cmd.env("CHALICE_LOCAL_SCRIPT", "scripts/local.sh");
    let mut runner = Runner::spawn(cmd);
    runner.wait_ready(READY);

    // Start-up: README's block, with its one `...` line standing for the hint lines.
    let said = runner.stderr();
    let hints: Vec<&String> = said
        .iter()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with('#') && l.contains(" send "))
        .collect();
    assert!(!hints.is_empty(), "{said:#?}");
    for hint in &hints {
        // Started as scripts/local.sh starts it, so its hints go through scripts/local.sh.
        assert!(
            hint.trim_start().starts_with("scripts/local.sh send "),
            "{hint}"
        );
    }
    let mut startup = String::new();
    let mut elided = false;
    for line in &said {
        // cargo's own progress (the bootstrap's freshness check) is not README's.
        if line.starts_with("    ") || line.starts_with("   Compiling") {
            continue;
        }
        if hints.contains(&line) || line.trim_start().starts_with("# ") {
            if !elided {
                startup.push_str(
                    "  ...one `scripts/local.sh send HANDLER --sample` line per handler...\n",
                );
                elided = true;
            }
            continue;
        }
        startup.push_str(line);
        startup.push('\n');
    }
    let expected_startup = block_after(&text, "receiving events as Lambda would deliver them");
    assert_eq!(normalise(&startup), normalise(&expected_startup));

    // README's send commands, in its order, each run once its predecessor's invocation is shown.
    let sends = block_after(&text, "From another terminal, send it events");
    for (sent, line) in sends.lines().enumerate() {
        let command = line.split('#').next().unwrap().trim();
        let args = command
            .strip_prefix("scripts/local.sh send ")
            .unwrap_or_else(|| panic!("README's send line is not a scripts/local.sh send: {line}"));
        let mut argv = vec!["local", "send"];
        argv.extend(args.split_whitespace());
        let out = deployer::command(workspace(), &argv)
            .output()
            .expect("deployer local send");
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A queue's batching window is 5 s.
        runner.wait_until(
            &format!("the invocation of `{command}`"),
            Duration::from_secs(60),
            |r| r.stdout().iter().filter(|l| !l.starts_with(' ')).count() > sent,
        );
        // Its log lines come with it; let the last of them arrive.
        std::thread::sleep(Duration::from_millis(300));
    }
    let shown: String = runner.stdout().iter().map(|l| format!("{l}\n")).collect();
    let expected = block_after(&text, "Each invocation is a line");
    assert_eq!(normalise(&shown), normalise(&expected));
}

#[test]
fn normalising_keeps_what_must_not_vary() {
    assert_eq!(
        normalise("16:16:13.153  on_order  1 message from my-queue  12 ms  ok\n"),
        "HH:MM:SS.mmm  on_order  1 message from my-queue  N ms  ok\n"
    );
    assert_eq!(
        normalise("started at http://127.0.0.1:41267 in 0.6 s\nDeployed: 30 created in 1.24 s.\n"),
        "started at http://127.0.0.1:PORT in T s\nDeployed: 30 created in T s.\n"
    );
    assert_eq!(
        normalise("size=22 total_cents=2500 remaining_ms=59998\n"),
        "size=22 total_cents=2500 remaining_ms=N\n"
    );
}

/// README's `invoke on_order --sample` succeeds: the payload is the app's samples/on_order.json, an
/// order the handler accepts.
#[test]
fn invoke_on_order_sample_succeeds_with_the_apps_sample() {
    let mut cmd = deployer::command(
        workspace(),
        &["invoke", "on_order", "--sample", "--bootstrap"],
    );
    cmd.arg(bootstrap());
    let out = without_aws(&mut cmd).output().expect("deployer invoke");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let response: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON response");
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
    assert!(
        stderr.contains(r#""message":"order accepted","order":"o-1001""#),
        "{stderr}"
    );
}
