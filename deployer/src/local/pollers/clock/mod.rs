//! Schedules fired by a local clock: `rate(...)` and EventBridge's `cron(...)`, delivered as
//! EventBridge's "Scheduled Event".
//!
//! The fire times are [`fire_times`]'s (croner under EventBridge's rules, in UTC; rates count from
//! when the runner started). This module is the loop that waits for them, on a wall clock that
//! tests can speed up.

mod fire_times;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chalice_codegen::plan::{self, AwsContext};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::asynchronous::{self, AsyncPolicy};
use crate::local::{Deliver, Shutdown, stopped};
use chalice_lambda::samples::{self, SampleContext};
use fire_times::{FireTimes, FireTimesError};

/// A schedule's fire times, and how it is shown.
pub struct Timetable {
    times: FireTimes,
    expression: String,
}

impl Timetable {
    /// The fire times of `schedule`; an error for one EventBridge would refuse.
    pub fn of(schedule: &plan::Schedule) -> Result<Timetable, FireTimesError> {
        Ok(Timetable {
            times: FireTimes::of(schedule)?,
            expression: schedule.expression(),
        })
    }

    /// The first fire time strictly after `after`; `started` is when the runner started (rates
    /// count from it). `None` when the schedule never fires again (a cron's years are over).
    fn next_after(&self, after: SystemTime, started: SystemTime) -> Option<SystemTime> {
        let next = self
            .times
            .next_after(DateTime::<Utc>::from(after), DateTime::<Utc>::from(started))?;
        Some(SystemTime::from(next))
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
/// EventBridge invokes the function asynchronously, so a failed fire is retried and given up as
/// `policy` says ([`asynchronous`]); fires missed while the previous delivery ran (or the machine
/// slept) are skipped.
pub async fn run<D: Deliver>(
    schedule: Timetable,
    rule_arn: String,
    ctx: AwsContext,
    policy: AsyncPolicy,
    deliver: Arc<D>,
    fire_now: Arc<Notify>,
    shutdown: Shutdown,
) {
    let fire = Fire {
        schedule,
        rule_arn,
        ctx,
        policy,
    };
    run_on(Clock::real(), fire, deliver, fire_now, shutdown).await;
}

/// What one schedule delivers.
struct Fire {
    schedule: Timetable,
    rule_arn: String,
    ctx: AwsContext,
    policy: AsyncPolicy,
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
            format!("{} (fired now)", fire.schedule.expression)
        } else {
            fire.schedule.expression.clone()
        };
        let event = fire.event(time);
        let between_attempts = shutdown.clone();
        tokio::select! {
            biased;
            () = stopped(&mut shutdown) => return,
            _ = asynchronous::invoke(deliver.as_ref(), &fire.policy, &event, &summary, time, &between_attempts) => {}
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

/// A fresh random (version 4) UUID, as EventBridge gives each event.
fn event_id() -> String {
    crate::local::failure::random_uuid()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::SecondsFormat;
    use serde_json::json;

    use super::*;
    use crate::local::Delivered;

    /// `2024-01-01T02:00:00Z` → a time.
    fn at(text: &str) -> SystemTime {
        SystemTime::from(DateTime::parse_from_rfc3339(text).unwrap())
    }

    fn text(time: SystemTime) -> String {
        DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The fire times of `expression`, as the plan of an app declaring it carries it.
    fn timetable(expression: &str) -> Timetable {
        let source = format!("app clock\nschedule tick {expression}\n");
        let model = chalice_codegen::load("events.chalice", &source)
            .unwrap_or_else(|d| panic!("{}", d.render(false)));
        let plan = chalice_codegen::emit_plan::plan(&model, "dev").unwrap();
        let schedule = plan.rules[0].schedule.as_ref().expect("a schedule rule");
        Timetable::of(schedule).unwrap()
    }

    /// [`fire_times`] computes the times (and tests them); here, that they reach the loop
    /// as the wall-clock times they are, rates counted from the runner's start.
    #[test]
    fn fire_times_are_wall_clock_times_from_the_start() {
        let hourly = timetable("rate(1 hour)");
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
        let nightly = timetable("cron(0 2 * * ? *)");
        assert_eq!(
            text(nightly.next_after(start, start).unwrap()),
            "2024-01-02T02:00:00Z"
        );
        assert_eq!(nightly.expression, "cron(0 2 * * ? *)");
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
            schedule: timetable(expression),
            rule_arn: RULE.into(),
            ctx: ctx(),
            policy: AsyncPolicy::lambda_default("arn:aws:lambda:eu-west-3:111122223333:function:f"),
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
