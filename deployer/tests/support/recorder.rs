//! `deployer local`'s pollers run in the test's process: a [`Recorder`] stands for the handler (it
//! keeps every invocation and note and answers as the test scripts), a [`Poller`] runs one queue or
//! stream poller until stopped.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chalice_deployer::aws::Clients;
use chalice_deployer::local::pollers::sqs::{self, QueueError, QueueSource};
use chalice_deployer::local::pollers::streams::{self, StreamError, StreamSource};
use chalice_deployer::local::{Deliver, Delivered};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a wait for invocations lasts before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a poller may take to stop once told to.
const STOP_WITHIN: Duration = Duration::from_secs(3);

/// One invocation as the handler saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub event: Value,
    pub summary: String,
    /// When it was delivered.
    pub at: Instant,
}

impl Call {
    /// The event's records (none when it has none).
    pub fn records(&self) -> &[Value] {
        self.event["Records"].as_array().map_or(&[], Vec::as_slice)
    }

    /// Kinesis: each record's data, decoded.
    pub fn data(&self) -> Vec<String> {
        self.records().iter().map(kinesis_data).collect()
    }

    /// Kinesis: the sequence number of the record whose data is `data`.
    pub fn seq_of(&self, data: &str) -> String {
        let record = self
            .records()
            .iter()
            .find(|r| kinesis_data(r) == data)
            .unwrap();
        record["kinesis"]["sequenceNumber"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// SQS: each record's body.
    pub fn bodies(&self) -> Vec<String> {
        self.records()
            .iter()
            .map(|r| r["body"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A Kinesis record's data, decoded.
pub fn kinesis_data(record: &Value) -> String {
    let b64 = record["kinesis"]["data"].as_str().unwrap();
    String::from_utf8(BASE64.decode(b64).unwrap()).unwrap()
}

/// The handler's answer to the n-th invocation (0-based).
pub type Respond = Box<dyn Fn(usize, &Call) -> Delivered + Send + Sync>;

/// The handler: records every invocation and note, and answers as `respond` says.
pub struct Recorder {
    calls: Mutex<Vec<Call>>,
    notes: Mutex<Vec<String>>,
    respond: Respond,
    /// Never answer (an invocation that hangs).
    hang: bool,
    /// Invocations handed out by [`Recorder::next`].
    taken: AtomicUsize,
}

impl Recorder {
    /// Answers every invocation with success.
    pub fn ok() -> Arc<Recorder> {
        Recorder::scripted(|_, _| Delivered::Ok(Value::Null))
    }

    /// Answers every invocation with a handler error.
    pub fn failing() -> Arc<Recorder> {
        Recorder::scripted(|_, _| Delivered::Failed("handler error".into()))
    }

    /// Answers the n-th invocation (0-based) as `respond` says.
    pub fn scripted(
        respond: impl Fn(usize, &Call) -> Delivered + Send + Sync + 'static,
    ) -> Arc<Recorder> {
        Arc::new(Recorder::new(Box::new(respond), false))
    }

    /// Records every invocation and never answers.
    pub fn hanging() -> Arc<Recorder> {
        Arc::new(Recorder::new(
            Box::new(|_, _| Delivered::Ok(Value::Null)),
            true,
        ))
    }

    fn new(respond: Respond, hang: bool) -> Recorder {
        Recorder {
            calls: Mutex::default(),
            notes: Mutex::default(),
            respond,
            hang,
            taken: AtomicUsize::new(0),
        }
    }

    /// Every invocation so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Every note so far (filtered, retried, given up).
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the calls so far; them. Fails the test after [`PATIENCE`].
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let calls = self.calls();
            if done(&calls) {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; calls: {calls:#?}; notes: {:#?}",
                self.notes()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until there have been `n` invocations; them.
    pub async fn wait_calls(&self, n: usize) -> Vec<Call> {
        self.wait_for(&format!("{n} calls"), |c| c.len() >= n).await
    }

    /// Waits until the invocations carry `n` records in all; them.
    pub async fn wait_records(&self, n: usize) -> Vec<Call> {
        self.wait_for(&format!("{n} records"), |calls| {
            calls.iter().map(|c| c.records().len()).sum::<usize>() >= n
        })
        .await
    }

    /// Gives the poller time to (wrongly) deliver more; every invocation then.
    pub async fn settle(&self) -> Vec<Call> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.calls()
    }

    /// The first invocation [`Recorder::next`] has not handed out yet, within `within`.
    pub async fn next(&self, within: Duration) -> Call {
        let deadline = Instant::now() + within;
        let n = self.taken.load(Ordering::SeqCst);
        loop {
            if let Some(call) = self.calls.lock().unwrap().get(n) {
                self.taken.store(n + 1, Ordering::SeqCst);
                return call.clone();
            }
            assert!(Instant::now() < deadline, "no invocation within {within:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Panics if anything beyond what [`Recorder::next`] handed out is invoked during `during`.
    pub async fn none(&self, during: Duration) {
        let deadline = Instant::now() + during;
        let n = self.taken.load(Ordering::SeqCst);
        loop {
            if let Some(call) = self.calls.lock().unwrap().get(n) {
                panic!("unexpected invocation: {} {}", call.summary, call.event);
            }
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Deliver for Recorder {
    fn deliver(&self, event: Value, summary: String) -> impl Future<Output = Delivered> + Send {
        let call = Call {
            event,
            summary,
            at: Instant::now(),
        };
        let outcome = {
            let mut calls = self.calls.lock().unwrap();
            let outcome = (self.respond)(calls.len(), &call);
            calls.push(call);
            outcome
        };
        let hang = self.hang;
        async move {
            if hang {
                std::future::pending::<()>().await;
            }
            outcome
        }
    }

    fn note(&self, text: &str) {
        self.notes.lock().unwrap().push(text.to_owned());
    }
}

/// A poller running in the background until stopped (or until `stop` is dropped), delivering to
/// `rec`.
pub struct Poller<E> {
    pub stop: watch::Sender<bool>,
    pub task: JoinHandle<Result<(), E>>,
    pub rec: Arc<Recorder>,
}

impl Poller<QueueError> {
    /// Polls the queue `source` into `rec`.
    pub fn queue(c: &Clients, source: QueueSource, rec: Arc<Recorder>) -> Self {
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(sqs::run(c.sqs.clone(), source, rec.clone(), shutdown));
        Poller { stop, task, rec }
    }
}

impl Poller<StreamError> {
    /// Polls the stream `source` into `rec`.
    pub fn stream(c: &Clients, source: StreamSource, rec: Arc<Recorder>) -> Self {
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(streams::run(c.clone(), source, rec.clone(), shutdown));
        Poller { stop, task, rec }
    }
}

impl<E: std::fmt::Debug> Poller<E> {
    /// [`Recorder::next`] of its recorder.
    pub async fn next(&self, within: Duration) -> Call {
        self.rec.next(within).await
    }

    /// [`Recorder::none`] of its recorder.
    pub async fn none(&self, during: Duration) {
        self.rec.none(during).await
    }

    /// Tells it to stop; how long it took. Fails the test unless it stopped without an error
    /// within 3 s.
    pub async fn stop(self) -> Duration {
        let start = Instant::now();
        self.stop.send(true).unwrap();
        tokio::time::timeout(STOP_WITHIN, self.task)
            .await
            .unwrap_or_else(|_| panic!("the poller did not stop within {STOP_WITHIN:?}"))
            .expect("the poller's task")
            .expect("the poller ends without an error");
        start.elapsed()
    }
}
