//! Lambda's handling of an asynchronous invocation (schedules, rules, buckets, topics) that fails:
//! retried up to the invoke config's `MaximumRetryAttempts` (default 2) while the event is younger
//! than `MaximumEventAgeInSeconds` (default 6 h), then given up: its invocation record goes to the
//! on-failure destination, or, without one, the event is dropped.
//!
//! AWS waits about a minute before the first retry and two before the second; the runner retries
//! after a short pause instead ([`RETRY_DELAYS`]), and says so in its output.

use std::time::{Duration, SystemTime};

use chalice_codegen::plan::{
    DEFAULT_ASYNC_EVENT_AGE_S, DEFAULT_ASYNC_RETRY_ATTEMPTS, InvokeConfig,
};
use serde_json::Value;

use crate::local::destinations::Destination;
use crate::local::failure::{AsyncCondition, async_object_key, async_record};
use crate::local::{Deliver, Delivered, Shutdown, stopped};

/// The pauses before the first and the second retry (AWS: about 1 and 2 minutes).
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// How one function's asynchronous events are retried and given up.
#[derive(Debug, Clone)]
pub struct AsyncPolicy {
    pub max_retries: u32,
    pub max_event_age: Duration,
    pub on_failure: Option<Destination>,
    /// The function's (unqualified) ARN and name, for the invocation record.
    pub function_arn: String,
    pub function_name: String,
    /// The pause before each retry (the last repeats); tests shorten them.
    pub retry_delays: Vec<Duration>,
}

impl AsyncPolicy {
    /// Lambda's defaults (2 retries, 6 hours, no destination) for `function_arn`.
    pub fn lambda_default(function_arn: &str) -> AsyncPolicy {
        AsyncPolicy {
            max_retries: DEFAULT_ASYNC_RETRY_ATTEMPTS,
            max_event_age: Duration::from_secs(DEFAULT_ASYNC_EVENT_AGE_S.into()),
            on_failure: None,
            function_arn: function_arn.to_owned(),
            function_name: function_arn
                .rsplit(':')
                .next()
                .unwrap_or(function_arn)
                .to_owned(),
            retry_delays: RETRY_DELAYS.to_vec(),
        }
    }

    /// The plan's invoke config for the function (Lambda's defaults when it has none);
    /// `on_failure` is its destination, already reachable.
    pub fn from_plan(
        config: Option<&InvokeConfig>,
        function_arn: &str,
        on_failure: Option<Destination>,
    ) -> AsyncPolicy {
        let mut policy = AsyncPolicy::lambda_default(function_arn);
        if let Some(c) = config {
            policy.max_retries = c.maximum_retry_attempts;
            policy.max_event_age = Duration::from_secs(c.maximum_event_age_s.into());
        }
        policy.on_failure = on_failure;
        policy
    }

    fn delay(&self, retry: u32) -> Duration {
        let i = usize::try_from(retry.saturating_sub(1)).unwrap_or(usize::MAX);
        self.retry_delays
            .get(i)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or_default()
    }
}

/// How an asynchronous event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Succeeded,
    /// Given up (its record sent, or it was dropped).
    GaveUp(AsyncCondition),
    /// Shutdown came between attempts: the event was neither processed nor given up.
    Interrupted,
}

/// Invokes `deliver` with `event` (which happened at `event_time`) as Lambda runs an asynchronous
/// invocation: retried per `policy`, then given up.
pub async fn invoke<D: Deliver>(
    deliver: &D,
    policy: &AsyncPolicy,
    event: &Value,
    summary: &str,
    event_time: SystemTime,
    shutdown: &Shutdown,
) -> Handled {
    let mut attempt: u32 = 1;
    loop {
        let label = if attempt == 1 {
            summary.to_owned()
        } else {
            format!(
                "{summary} (retry {} of {})",
                attempt - 1,
                policy.max_retries
            )
        };
        let error = match deliver.deliver(event.clone(), label).await {
            Delivered::Ok(_) => return Handled::Succeeded,
            Delivered::Failed(e) => e,
        };
        let age = SystemTime::now()
            .duration_since(event_time)
            .unwrap_or_default();
        let condition = if attempt > policy.max_retries {
            AsyncCondition::RetriesExhausted
        } else if age >= policy.max_event_age {
            AsyncCondition::EventAgeExceeded
        } else {
            let delay = policy.delay(attempt);
            deliver.note(&format!(
                "retrying {summary} in {:.0?} (retry {attempt} of {}; AWS waits minutes, local retries are quick)",
                delay, policy.max_retries
            ));
            let mut shutdown = shutdown.clone();
            tokio::select! {
                biased;
                () = stopped(&mut shutdown) => return Handled::Interrupted,
                () = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
            continue;
        };
        give_up(deliver, policy, event, summary, condition, attempt, &error).await;
        return Handled::GaveUp(condition);
    }
}

/// Sends the invocation record to the destination (or drops the event), and says which.
async fn give_up<D: Deliver>(
    deliver: &D,
    policy: &AsyncPolicy,
    event: &Value,
    summary: &str,
    condition: AsyncCondition,
    attempts: u32,
    error: &str,
) {
    let tries = if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    };
    let why = match condition {
        AsyncCondition::RetriesExhausted => tries,
        AsyncCondition::EventAgeExceeded => format!("{tries}, the event is too old to retry"),
    };
    let Some(destination) = &policy.on_failure else {
        deliver.note(&format!(
            "dropped {summary} after {why} (no on_failure destination)"
        ));
        return;
    };
    let now = SystemTime::now();
    let record = async_record(&policy.function_arn, condition, attempts, event, error, now);
    let key = async_object_key(&policy.function_name, now);
    match destination.send(&record, &key, &policy.function_arn).await {
        Ok(()) => deliver.note(&format!(
            "gave up on {summary} after {why}: {} record sent to {destination}",
            condition.as_str()
        )),
        Err(e) => deliver.note(&format!(
            "gave up on {summary} after {why}; could not send its record to {destination}: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Fails the first `failures` invocations; records summaries and notes.
    struct Flaky {
        failures: usize,
        calls: Mutex<Vec<String>>,
        notes: Mutex<Vec<String>>,
    }

    impl Flaky {
        fn new(failures: usize) -> Flaky {
            Flaky {
                failures,
                calls: Mutex::default(),
                notes: Mutex::default(),
            }
        }
    }

    impl Deliver for Flaky {
        async fn deliver(&self, _event: Value, summary: String) -> Delivered {
            let mut calls = self.calls.lock().unwrap();
            calls.push(summary);
            if calls.len() <= self.failures {
                Delivered::Failed("boom".into())
            } else {
                Delivered::Ok(Value::Null)
            }
        }

        fn note(&self, text: &str) {
            self.notes.lock().unwrap().push(text.to_owned());
        }
    }

    fn policy(max_retries: u32) -> AsyncPolicy {
        AsyncPolicy {
            max_retries,
            retry_delays: vec![Duration::from_millis(1)],
            ..AsyncPolicy::lambda_default("arn:aws:lambda:us-east-1:123456789012:function:f")
        }
    }

    async fn run(flaky: &Flaky, policy: &AsyncPolicy, event_time: SystemTime) -> Handled {
        let (_tx, shutdown) = tokio::sync::watch::channel(false);
        invoke(flaky, policy, &Value::Null, "ev", event_time, &shutdown).await
    }

    #[tokio::test]
    async fn a_failure_is_retried_up_to_the_maximum_then_dropped() {
        let flaky = Flaky::new(10);
        let handled = run(&flaky, &policy(2), SystemTime::now()).await;
        assert_eq!(handled, Handled::GaveUp(AsyncCondition::RetriesExhausted));
        assert_eq!(
            *flaky.calls.lock().unwrap(),
            ["ev", "ev (retry 1 of 2)", "ev (retry 2 of 2)"]
        );
        let notes = flaky.notes.lock().unwrap();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].starts_with("retrying ev in"), "{notes:?}");
        assert_eq!(
            notes[2],
            "dropped ev after 3 attempts (no on_failure destination)"
        );
    }

    #[tokio::test]
    async fn no_retries_and_success_on_a_retry() {
        let flaky = Flaky::new(10);
        assert_eq!(
            run(&flaky, &policy(0), SystemTime::now()).await,
            Handled::GaveUp(AsyncCondition::RetriesExhausted)
        );
        assert_eq!(flaky.calls.lock().unwrap().len(), 1);
        let flaky = Flaky::new(1);
        assert_eq!(
            run(&flaky, &policy(2), SystemTime::now()).await,
            Handled::Succeeded
        );
        assert_eq!(flaky.calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_old_event_is_not_retried() {
        let flaky = Flaky::new(10);
        let mut p = policy(2);
        p.max_event_age = Duration::from_secs(60);
        let old = SystemTime::now() - Duration::from_secs(61);
        assert_eq!(
            run(&flaky, &p, old).await,
            Handled::GaveUp(AsyncCondition::EventAgeExceeded)
        );
        assert_eq!(flaky.calls.lock().unwrap().len(), 1);
        assert!(flaky.notes.lock().unwrap()[0].contains("too old"));
    }

    #[test]
    fn the_plans_config_overrides_the_defaults() {
        let arn = "arn:aws:lambda:us-east-1:1:function:app-dev-f";
        let d = AsyncPolicy::from_plan(None, arn, None);
        assert_eq!(d.max_retries, 2);
        assert_eq!(d.max_event_age, Duration::from_secs(21_600));
        assert_eq!(d.function_name, "app-dev-f");
        let c = InvokeConfig {
            id: "invoke_config.f".into(),
            function: "f".into(),
            maximum_retry_attempts: 0,
            maximum_event_age_s: 3600,
            on_failure: None,
        };
        let p = AsyncPolicy::from_plan(Some(&c), arn, None);
        assert_eq!((p.max_retries, p.max_event_age.as_secs()), (0, 3600));
        assert_eq!(p.delay(1), RETRY_DELAYS[0]);
        assert_eq!(p.delay(2), RETRY_DELAYS[1]);
        assert_eq!(p.delay(9), RETRY_DELAYS[1]);
    }
}
