//! Counts every AWS call the clients make, through an SDK interceptor.
//!
//! One [`Call`] is one SDK operation (an execution), however many HTTP attempts its retries took. Tests
//! use it to assert that a no-op redeploy makes zero write calls; the bench reports the totals and the
//! [sequential round trips](sequential_round_trips) a command waited for.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Whether an operation only reads (`Get*`, `List*`, `Describe*`, `Head*`) or may change something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallKind {
    Read,
    Write,
}

impl CallKind {
    /// Classifies an operation by its name: reads start with `Get`, `List`, `Describe` or `Head`.
    pub fn of(operation: &str) -> CallKind {
        const READ_PREFIXES: [&str; 4] = ["Get", "List", "Describe", "Head"];
        if READ_PREFIXES.iter().any(|p| operation.starts_with(p)) {
            CallKind::Read
        } else {
            CallKind::Write
        }
    }
}

/// One SDK operation as the interceptor saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The SDK's service name, e.g. `SQS`, `Lambda`, `STS`.
    pub service: String,
    /// The operation name, e.g. `CreateQueue`.
    pub operation: String,
    pub kind: CallKind,
    /// HTTP attempts sent (more than 1 when retried; 0 when it failed before sending).
    pub attempts: u32,
    /// `None` while in flight; `Some(true)` when the operation returned an output.
    pub succeeded: Option<bool>,
    /// When the SDK started the operation.
    pub started: Instant,
    /// When its last attempt was answered (or failed); `None` while in flight.
    pub ended: Option<Instant>,
}

/// The longest chain of calls in which each started only after the one before it had ended: how many
/// round trips a command waited for one after the other. With `L` of latency per call, the calls alone
/// take at least `chain × L`, however many run side by side. A call still in flight ends "now".
pub fn sequential_round_trips(calls: &[Call]) -> usize {
    let now = Instant::now();
    let mut order: Vec<&Call> = calls.iter().collect();
    order.sort_by_key(|c| c.started);
    let mut depth: Vec<(Instant, usize)> = Vec::with_capacity(order.len());
    for c in order {
        let before = depth
            .iter()
            .filter(|(ended, _)| *ended <= c.started)
            .map(|(_, d)| *d)
            .max()
            .unwrap_or(0);
        depth.push((c.ended.unwrap_or(now), before + 1));
    }
    depth.into_iter().map(|(_, d)| d).max().unwrap_or(0)
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.service, self.operation)
    }
}

/// Shared, cloneable record of the calls made by every client it is attached to.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<Calls>>,
}

/// Every call since the last [`CallCounter::reset`]; those before `taken` were handed out by `take`.
#[derive(Debug, Default)]
struct Calls {
    list: Vec<Call>,
    taken: usize,
    /// Bumped by `reset`, so that a call in flight across a reset updates nothing.
    generation: u64,
}

/// Where this execution's [`Call`] sits in the counter (stored in the execution's config bag).
#[derive(Debug, Clone, Copy)]
struct CallIndex {
    generation: u64,
    index: usize,
}

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl CallCounter {
    pub fn new() -> CallCounter {
        CallCounter::default()
    }

    fn lock(&self) -> MutexGuard<'_, Calls> {
        // A panic while holding the lock cannot leave the list half-updated: recover it.
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call not yet taken, in the order they started.
    pub fn calls(&self) -> Vec<Call> {
        let calls = self.lock();
        calls.list[calls.taken..].to_vec()
    }

    /// Every call since the counter was made (or reset), taken or not.
    pub fn all(&self) -> Vec<Call> {
        self.lock().list.clone()
    }

    /// Number of calls not yet taken.
    pub fn total(&self) -> usize {
        let calls = self.lock();
        calls.list.len() - calls.taken
    }

    /// Number of read calls so far.
    pub fn reads(&self) -> usize {
        self.count(CallKind::Read)
    }

    /// Number of write calls so far.
    pub fn writes(&self) -> usize {
        self.count(CallKind::Write)
    }

    fn count(&self, kind: CallKind) -> usize {
        self.calls().iter().filter(|c| c.kind == kind).count()
    }

    /// The write calls so far as `Service.Operation` strings (for assertion messages).
    pub fn write_names(&self) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|c| c.kind == CallKind::Write)
            .map(Call::to_string)
            .collect()
    }

    /// Calls per `Service.Operation`, sorted by name.
    pub fn by_operation(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in &self.calls() {
            *counts.entry(call.to_string()).or_insert(0) += 1;
        }
        counts
    }

    /// Forgets every call so far (e.g. between a deploy and the redeploy a test checks).
    pub fn reset(&self) {
        let mut calls = self.lock();
        calls.list.clear();
        calls.taken = 0;
        calls.generation += 1;
    }

    /// Takes every call not taken yet (those in flight keep being updated for [`CallCounter::all`]).
    pub fn take(&self) -> Vec<Call> {
        let mut calls = self.lock();
        let taken = calls.list[calls.taken..].to_vec();
        calls.taken = calls.list.len();
        taken
    }

    /// The calls' [`sequential_round_trips`] since the counter was made (or reset).
    pub fn sequential_round_trips(&self) -> usize {
        sequential_round_trips(&self.lock().list)
    }

    /// Updates the call `at` points to, if it is of this generation.
    fn update(&self, at: CallIndex, f: impl FnOnce(&mut Call)) {
        let mut calls = self.lock();
        if calls.generation == at.generation
            && let Some(call) = calls.list.get_mut(at.index)
        {
            f(call);
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "chalice-deployer call counter"
    }

    // Not `read_before_execution`: client interceptors see that before the operation's config
    // (holding its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(m) => (m.service().to_owned(), m.name().to_owned()),
            None => ("unknown".to_owned(), "unknown".to_owned()),
        };
        let kind = CallKind::of(&operation);
        let at = {
            let mut calls = self.lock();
            calls.list.push(Call {
                service,
                operation,
                kind,
                attempts: 0,
                succeeded: None,
                started: Instant::now(),
                ended: None,
            });
            CallIndex {
                generation: calls.generation,
                index: calls.list.len() - 1,
            }
        };
        cfg.interceptor_state().store_put(at);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(&at) = cfg.load::<CallIndex>() {
            self.update(at, |call| call.attempts += 1);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(&at) = cfg.load::<CallIndex>() {
            let ok = matches!(context.output_or_error(), Some(Ok(_)));
            self.update(at, |call| {
                call.succeeded = Some(ok);
                call.ended = Some(Instant::now());
            });
        }
        Ok(())
    }
}

/// The HTTP attempts of the operations it is attached to (`.customize().interceptor(attempts.clone())`).
///
/// A create sent more than once may have taken effect on an attempt whose answer was lost: its retry
/// then finds the resource (AWS answers 409) or, on moto, makes a second copy. Either way the kind reads
/// what is there before going on.
#[derive(Debug, Clone, Default)]
pub struct Attempts(Arc<AtomicU32>);

impl Attempts {
    pub fn new() -> Attempts {
        Attempts::default()
    }

    /// Attempts sent so far.
    pub fn count(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Whether more than one attempt was sent (an SDK retry, or the operation sent again).
    pub fn retried(&self) -> bool {
        self.count() > 1
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "chalice-deployer attempt counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_get_list_describe_head() {
        for op in [
            "GetFunction",
            "ListEventSourceMappings",
            "DescribeTable",
            "HeadBucket",
            "GetCallerIdentity",
        ] {
            assert_eq!(CallKind::of(op), CallKind::Read, "{op}");
        }
        for op in [
            "CreateFunction",
            "PutBucketNotificationConfiguration",
            "AddPermission",
            "Subscribe",
            "DeleteRole",
            "Invoke",
            "TagResource",
            "UpdateFunctionConfiguration",
        ] {
            assert_eq!(CallKind::of(op), CallKind::Write, "{op}");
        }
    }

    #[test]
    fn counts_and_reset() {
        let counter = CallCounter::new();
        {
            let mut calls = counter.lock();
            for op in ["GetQueueUrl", "CreateQueue", "ListQueues", "CreateQueue"] {
                calls.list.push(Call {
                    service: "SQS".into(),
                    operation: op.into(),
                    kind: CallKind::of(op),
                    attempts: 1,
                    succeeded: Some(true),
                    started: Instant::now(),
                    ended: Some(Instant::now()),
                });
            }
        }
        let clone = counter.clone();
        assert_eq!(clone.total(), 4);
        assert_eq!(clone.reads(), 2);
        assert_eq!(clone.writes(), 2);
        assert_eq!(clone.write_names(), ["SQS.CreateQueue", "SQS.CreateQueue"]);
        assert_eq!(clone.by_operation().get("SQS.CreateQueue"), Some(&2));
        assert_eq!(counter.take().len(), 4);
        assert_eq!(clone.total(), 0);
        assert_eq!(clone.all().len(), 4);
        counter.reset();
        assert_eq!(clone.all().len(), 0);
    }

    #[test]
    fn round_trips_are_the_longest_chain_of_calls_one_after_another() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        let call = |start: u64, end: u64| Call {
            service: "S3".into(),
            operation: "GetObject".into(),
            kind: CallKind::Read,
            attempts: 1,
            succeeded: Some(true),
            started: at(start),
            ended: Some(at(end)),
        };
        assert_eq!(sequential_round_trips(&[]), 0);
        // Three side by side, then two that waited for them, then one more: three round trips.
        let calls = [
            call(0, 30),
            call(1, 31),
            call(2, 40),
            call(31, 61),
            call(41, 71),
            call(72, 100),
        ];
        assert_eq!(sequential_round_trips(&calls), 3);
        // A call that starts before another ends overlaps it: no new round trip.
        assert_eq!(sequential_round_trips(&[call(0, 30), call(29, 60)]), 1);
        assert_eq!(sequential_round_trips(&[call(0, 30), call(30, 60)]), 2);
    }
}
