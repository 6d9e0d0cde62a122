//! `--calls FILE`: how many AWS calls a command made, per phase (context, read, apply), and how many
//! round trips it waited for one after the other, as JSON. The bench and the tests read it; `-` writes
//! it to stderr.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::aws::calls::sequential_round_trips;
use crate::aws::{Call, CallCounter, CallKind};

/// Calls of one phase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhaseCalls {
    pub phase: String,
    pub total: usize,
    pub reads: usize,
    pub writes: usize,
    /// HTTP attempts beyond the first (retries).
    pub retries: u32,
    /// The longest chain of this phase's calls made one after another ([`sequential_round_trips`]).
    pub round_trips: usize,
    pub elapsed_ms: u128,
    /// Calls per `Service.Operation`.
    pub operations: BTreeMap<String, usize>,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallReport {
    pub command: String,
    pub total: usize,
    pub reads: usize,
    pub writes: usize,
    pub retries: u32,
    /// The longest chain of the command's calls made one after another, whatever their phase: at `L`
    /// of latency per call, the command waits at least `round_trips × L` for AWS.
    pub round_trips: usize,
    pub elapsed_ms: u128,
    pub phases: Vec<PhaseCalls>,
}

/// Splits a counter's calls into phases as a command runs.
#[derive(Debug)]
pub struct PhaseRecorder {
    counter: CallCounter,
    report: CallReport,
    started: Instant,
    phase_started: Instant,
}

impl PhaseRecorder {
    pub fn new(command: &str, counter: CallCounter) -> PhaseRecorder {
        let now = Instant::now();
        PhaseRecorder {
            counter,
            report: CallReport {
                command: command.to_string(),
                ..CallReport::default()
            },
            started: now,
            phase_started: now,
        }
    }

    /// Ends the current phase, naming it: the calls made since the previous phase ended.
    pub fn end_phase(&mut self, phase: &str) {
        let calls = self.counter.take();
        let elapsed = self.phase_started.elapsed();
        self.phase_started = Instant::now();
        self.report.phases.push(summarise(phase, &calls, elapsed));
    }

    /// The report so far (ends nothing).
    pub fn report(&self) -> CallReport {
        let mut r = self.report.clone();
        r.total = r.phases.iter().map(|p| p.total).sum();
        r.reads = r.phases.iter().map(|p| p.reads).sum();
        r.writes = r.phases.iter().map(|p| p.writes).sum();
        r.retries = r.phases.iter().map(|p| p.retries).sum();
        r.round_trips = self.counter.sequential_round_trips();
        r.elapsed_ms = self.started.elapsed().as_millis();
        r
    }

    /// Writes the report as JSON to `path` (`-`: stderr, one line).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let report = self.report();
        if path == Path::new("-") {
            eprintln!(
                "{}",
                serde_json::to_string(&report).map_err(std::io::Error::from)?
            );
            return Ok(());
        }
        let mut json = serde_json::to_vec_pretty(&report).map_err(std::io::Error::from)?;
        json.push(b'\n');
        std::fs::write(path, json)
    }
}

fn summarise(phase: &str, calls: &[Call], elapsed: Duration) -> PhaseCalls {
    let mut operations = BTreeMap::new();
    for c in calls {
        *operations.entry(c.to_string()).or_insert(0) += 1;
    }
    PhaseCalls {
        phase: phase.to_string(),
        total: calls.len(),
        reads: calls.iter().filter(|c| c.kind == CallKind::Read).count(),
        writes: calls.iter().filter(|c| c.kind == CallKind::Write).count(),
        retries: calls.iter().map(|c| c.attempts.saturating_sub(1)).sum(),
        round_trips: sequential_round_trips(calls),
        elapsed_ms: elapsed.as_millis(),
        operations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(op: &str, attempts: u32) -> Call {
        Call {
            service: "Lambda".into(),
            operation: op.into(),
            kind: CallKind::of(op),
            attempts,
            succeeded: Some(true),
            started: std::time::Instant::now(),
            ended: Some(std::time::Instant::now()),
        }
    }

    #[test]
    fn phases_count_reads_writes_and_retries() {
        let p = summarise(
            "apply",
            &[
                call("GetFunction", 1),
                call("CreateFunction", 3),
                call("CreateFunction", 1),
            ],
            Duration::from_millis(5),
        );
        assert_eq!((p.total, p.reads, p.writes, p.retries), (3, 1, 2, 2));
        assert_eq!(p.operations["Lambda.CreateFunction"], 2);
        let mut rec = PhaseRecorder::new("deploy", CallCounter::new());
        rec.end_phase("context");
        rec.report.phases.push(p);
        let r = rec.report();
        assert_eq!((r.total, r.reads, r.writes, r.retries), (3, 1, 2, 2));
        assert_eq!(r.phases.len(), 2);
        assert_eq!(r.command, "deploy");
    }
}
