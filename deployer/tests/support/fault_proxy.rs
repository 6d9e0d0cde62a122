//! A counting, fault-injecting HTTP proxy between the `deployer` binary and a moto server.
//!
//! `FaultProxy::start(upstream)` listens on a free 127.0.0.1 port (point the deployer at it with
//! `AWS_ENDPOINT_URL`) and forwards every request to `upstream`. It records each request's AWS service
//! and operation (SigV4 credential scope; `X-Amz-Target`, the `Action=` form field, or the REST method
//! and path), whether it reads or writes, and what the proxy did with it. With [`Faults`] set, a
//! deterministic share of requests (chosen by seed, operation and the operation's occurrence number,
//! so reruns fault the same calls) is answered with a throttling error, a 500, or a dropped
//! connection, in each protocol's own error format so the SDK classifies it as AWS would. With
//! [`FaultProxy::stall_writes_after`], writes after the first N are held, never answered, which lets a
//! test SIGKILL the deployer at a known point.
//!
//! With [`FaultProxy::set_latency`], every request waits that long before it is forwarded (answered
//! side by side, as AWS answers: the bench's stand-in for a region's round trip).
//!
//! The proxy runs on its own tokio runtime, so tests may block (e.g. on a child process) while it works.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{
    CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, TRANSFER_ENCODING,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Whether a request reads or may change something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Read,
    Write,
}

impl Kind {
    /// RPC protocols (JSON, query) classify by operation name, REST ones (Lambda, S3) by method.
    fn classify(operation: &str, method: &Method, rpc: bool) -> Kind {
        const READ_PREFIXES: [&str; 4] = ["Get", "List", "Describe", "Head"];
        let read = if rpc {
            READ_PREFIXES.iter().any(|p| operation.starts_with(p))
        } else {
            *method == Method::GET || *method == Method::HEAD
        };
        if read { Kind::Read } else { Kind::Write }
    }
}

/// What the proxy did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; moto answered with this status, passed back unchanged.
    Forwarded(u16),
    /// Answered with a throttling error (nothing forwarded).
    Throttled,
    /// Answered with a 500 (nothing forwarded).
    ServerError,
    /// Connection closed without an answer; nothing forwarded.
    DroppedBefore,
    /// Forwarded (moto answered with this status), then the connection was closed without an answer:
    /// the change happened but the client cannot know.
    DroppedAfter(u16),
    /// Held without an answer ([`FaultProxy::stall_writes_after`]); nothing forwarded.
    Stalled,
    /// moto could not be reached or failed mid-answer; answered 502.
    UpstreamFailed,
}

impl Outcome {
    /// Whether the request reached moto (so a write took effect).
    pub fn reached_upstream(self) -> bool {
        matches!(self, Outcome::Forwarded(_) | Outcome::DroppedAfter(_))
    }

    /// Whether the proxy injected a fault.
    pub fn injected(self) -> bool {
        matches!(
            self,
            Outcome::Throttled
                | Outcome::ServerError
                | Outcome::DroppedBefore
                | Outcome::DroppedAfter(_)
        )
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The SigV4 scope's service (`lambda`, `s3`, `iam`, `events`, ...), `unknown` when unsigned.
    pub service: String,
    /// The AWS operation (`CreateFunction`), or `METHOD /path` when the proxy cannot name it.
    pub operation: String,
    pub kind: Kind,
    /// `None` while in flight.
    pub outcome: Option<Outcome>,
    /// The request body as sent (what moto does not keep can be checked here).
    pub body: Bytes,
    /// When the request reached the proxy, and when it was answered (or dropped).
    pub arrived: Instant,
    pub done: Option<Instant>,
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.service, self.operation)
    }
}

/// Which requests fail and how: percentages of the requests they apply to (together at most 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Chooses which requests fail; the same seed fails the same occurrences of the same operations.
    pub seed: u64,
    /// Answered with the protocol's throttling error (`ThrottlingException`, `Throttling`,
    /// `TooManyRequestsException` 429, S3 `SlowDown` 503).
    pub throttle_pct: u8,
    /// Answered with the protocol's internal error, HTTP 500.
    pub server_error_pct: u8,
    /// Connection closed after the request was read, before forwarding it.
    pub drop_before_pct: u8,
    /// Forwarded to moto, then the connection closed without the answer (a lost response).
    pub drop_after_pct: u8,
    /// Fault only writes (reads always pass).
    pub writes_only: bool,
}

impl Faults {
    /// No faults.
    pub const NONE: Faults = Faults {
        seed: 0,
        throttle_pct: 0,
        server_error_pct: 0,
        drop_before_pct: 0,
        drop_after_pct: 0,
        writes_only: false,
    };

    /// The fault for the `nth` (0-based) request of `key` (`service.Operation`), if any.
    pub fn pick(&self, key: &str, nth: u64, kind: Kind) -> Option<Fault> {
        if self.writes_only && kind == Kind::Read {
            return None;
        }
        let roll = (mix(self.seed
            ^ fnv1a(key.as_bytes())
            ^ nth.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            % 100) as u8;
        let mut bound = 0u8;
        for (pct, fault) in [
            (self.throttle_pct, Fault::Throttle),
            (self.server_error_pct, Fault::ServerError),
            (self.drop_before_pct, Fault::DropBefore),
            (self.drop_after_pct, Fault::DropAfter),
        ] {
            bound = bound.saturating_add(pct);
            if roll < bound {
                return Some(fault);
            }
        }
        None
    }
}

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    DropBefore,
    DropAfter,
}

/// splitmix64's finaliser: a well-mixed 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Everything the proxy has seen, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub requests: Vec<Seen>,
}

impl Log {
    /// Requests of `kind`, whatever happened to them.
    pub fn count(&self, kind: Kind) -> usize {
        self.requests.iter().filter(|r| r.kind == kind).count()
    }

    pub fn reads(&self) -> usize {
        self.count(Kind::Read)
    }

    /// Write requests seen (forwarded, faulted or held).
    pub fn writes(&self) -> usize {
        self.count(Kind::Write)
    }

    /// Write requests that reached moto.
    pub fn writes_forwarded(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.kind == Kind::Write && r.outcome.is_some_and(Outcome::reached_upstream))
            .count()
    }

    /// Requests the proxy failed on purpose.
    pub fn injected(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.outcome.is_some_and(Outcome::injected))
            .count()
    }

    /// `service.Operation` of every write request, in order (for assertion messages).
    pub fn write_names(&self) -> Vec<String> {
        self.requests
            .iter()
            .filter(|r| r.kind == Kind::Write)
            .map(Seen::to_string)
            .collect()
    }

    /// [`Log::write_names`] without the stage's deploy lock being taken and given back (S3 puts of a
    /// JSON document; code zips are zips): what a deploy changed of the app.
    pub fn app_write_names(&self) -> Vec<String> {
        self.requests
            .iter()
            .filter(|r| r.kind == Kind::Write)
            .filter(|r| {
                !(r.service == "s3" && r.operation == "PutObject" && r.body.starts_with(b"{"))
            })
            .map(Seen::to_string)
            .collect()
    }

    /// The longest chain of requests each of which arrived after the one before it was answered: the
    /// round trips the client waited for one after another, as the proxy saw them (each retry is a
    /// request of its own here).
    pub fn round_trips(&self) -> usize {
        let mut order: Vec<&Seen> = self.requests.iter().collect();
        order.sort_by_key(|r| r.arrived);
        let mut depth: Vec<(Option<Instant>, usize)> = Vec::with_capacity(order.len());
        for r in order {
            let before = depth
                .iter()
                .filter(|(done, _)| done.is_some_and(|d| d <= r.arrived))
                .map(|(_, n)| *n)
                .max()
                .unwrap_or(0);
            depth.push((r.done, before + 1));
        }
        depth.into_iter().map(|(_, n)| n).max().unwrap_or(0)
    }

    /// Requests per `service.Operation`.
    pub fn by_operation(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.requests {
            *counts.entry(r.to_string()).or_insert(0) += 1;
        }
        counts
    }

    /// The bodies of the requests of one operation (`"lambda.CreateFunction"`), as text, in order.
    pub fn bodies_of(&self, operation: &str) -> Vec<String> {
        self.requests
            .iter()
            .filter(|r| r.to_string() == operation)
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    }

    /// Requests of one operation (`"lambda.CreateFunction"`).
    pub fn of(&self, operation: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.to_string() == operation)
            .count()
    }
}

struct State {
    log: Log,
    faults: Faults,
    /// Per `service.Operation`, how many requests came so far (the fault roll's occurrence number).
    occurrences: BTreeMap<String, u64>,
    /// Hold every write after this many were admitted.
    stall_after: Option<usize>,
    writes_admitted: usize,
    /// Added to every forwarded request.
    latency: Duration,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    /// Signalled whenever a request finishes.
    changed: Condvar,
    /// Flipped to true to let held requests go (they are then dropped, never forwarded).
    release: watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running proxy; stops (dropping held and in-flight requests) when dropped.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. moto's `http://127.0.0.1:PORT` or `127.0.0.1:PORT`), no faults.
    pub fn start(upstream: &str) -> FaultProxy {
        let authority = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream: SocketAddr = authority
            .parse()
            .unwrap_or_else(|e| panic!("upstream {authority:?} is not IP:PORT: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("proxy runtime");
        let std_listener = std::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
            .expect("bind proxy");
        std_listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let port = std_listener.local_addr().expect("proxy address").port();
        let (release, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State {
                log: Log::default(),
                faults: Faults::NONE,
                occurrences: BTreeMap::new(),
                stall_after: None,
                writes_admitted: 0,
                latency: Duration::ZERO,
            }),
            changed: Condvar::new(),
            release,
        });
        let accept_shared = shared.clone();
        runtime.spawn(async move {
            let listener = match TcpListener::from_std(std_listener) {
                Ok(l) => l,
                Err(e) => panic!("proxy listener: {e}"),
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                // Answers are small: never hold one back for the client's delayed ACK.
                let _ = stream.set_nodelay(true);
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    // An `Err` from the service closes the connection without an answer: that is
                    // how faults drop connections, so the result is expected to be an error then.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            port,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:PORT`: the `AWS_ENDPOINT_URL` to give the deployer.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Delays every request forwarded from now on by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Injects `faults` from now on (`Faults::NONE` to stop).
    pub fn set_faults(&self, faults: Faults) {
        let mut state = self.shared.lock();
        state.faults = faults;
        state.occurrences.clear();
    }

    /// Holds every write request after the next `n` writes (counted from now) until the proxy is dropped
    /// or [`FaultProxy::release_stalled`] is called; `None` stops holding new ones.
    pub fn stall_writes_after(&self, n: Option<usize>) {
        let mut state = self.shared.lock();
        state.stall_after = n;
        state.writes_admitted = 0;
        if n.is_some() {
            self.shared.release.send_replace(false);
        }
    }

    /// Lets held requests go: their connections are closed without an answer (nothing is forwarded).
    pub fn release_stalled(&self) {
        self.stall_writes_after(None);
        self.shared.release.send_replace(true);
    }

    /// A copy of everything seen so far.
    pub fn log(&self) -> Log {
        self.shared.lock().log.clone()
    }

    /// Forgets everything seen so far (faults and stalls stay as set).
    pub fn reset(&self) {
        self.shared.lock().log = Log::default();
    }

    /// Waits until `n` write requests have reached moto and been answered; false on timeout.
    pub fn wait_for_forwarded_writes(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state.log.writes_forwarded() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Also wake up now and then: the deployer may have exited without sending more.
            let wait = (deadline - now).min(Duration::from_millis(200));
            state = self
                .shared
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until at least one write request is being held; false on timeout.
    pub fn wait_for_stalled(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state
                .log
                .requests
                .iter()
                .any(|r| r.outcome == Some(Outcome::Stalled))
            {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(200));
            state = self
                .shared
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What a request is, read from its headers, path and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub service: String,
    pub operation: String,
    pub kind: Kind,
    pub protocol: Protocol,
}

/// The AWS wire protocol a request uses (decides the shape of injected errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0 / 1_1 (`X-Amz-Target`): EventBridge, DynamoDB, Kinesis, SQS.
    Json,
    /// awsQuery (`Action=` form): IAM, STS, SNS.
    Query,
    /// restJson1: Lambda.
    RestJson,
    /// restXml: S3.
    RestXml,
}

/// Names a request's service, operation, kind and protocol.
pub fn classify(
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Classified {
    let service = scope_service(headers).unwrap_or_else(|| "unknown".to_owned());
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        return Classified {
            kind: Kind::classify(&operation, method, true),
            service,
            operation,
            protocol: Protocol::Json,
        };
    }
    let action = form_field(query, "Action").or_else(|| {
        let form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if form {
            std::str::from_utf8(body)
                .ok()
                .and_then(|b| form_field(b, "Action"))
        } else {
            None
        }
    });
    if let Some(operation) = action {
        return Classified {
            kind: Kind::classify(&operation, method, true),
            service,
            operation,
            protocol: Protocol::Query,
        };
    }
    let (operation, protocol) = match service.as_str() {
        "lambda" => (lambda_operation(method, path), Protocol::RestJson),
        "s3" => (
            s3_operation(method, path, query, headers),
            Protocol::RestXml,
        ),
        _ => (format!("{method} {path}"), Protocol::RestJson),
    };
    Classified {
        kind: Kind::classify(&operation, method, false),
        service,
        operation,
        protocol,
    }
}

/// The service of a SigV4 `Authorization` header's credential scope (`.../REGION/SERVICE/aws4_request`).
fn scope_service(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let mut parts = scope.rsplit('/');
    let (_request, service) = (parts.next()?, parts.next()?);
    Some(service.to_owned())
}

/// A field of an `a=b&c=d` string, percent-decoded.
fn form_field(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

/// Decodes `%XX` escapes (IAM's policy documents, form fields).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lambda's REST routes (`/2015-03-31/functions/NAME/policy`, ...) to operation names.
fn lambda_operation(method: &Method, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = segments.get(1..).unwrap_or(&[]);
    let name = match (method.as_str(), rest) {
        ("POST", ["functions"]) => "CreateFunction",
        ("GET", ["functions"]) => "ListFunctions",
        ("GET", ["functions", _]) => "GetFunction",
        ("DELETE", ["functions", _]) => "DeleteFunction",
        ("GET", ["functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("PUT", ["functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("PUT", ["functions", _, "code"]) => "UpdateFunctionCode",
        ("POST", ["functions", _, "policy"]) => "AddPermission",
        ("GET", ["functions", _, "policy"]) => "GetPolicy",
        ("DELETE", ["functions", _, "policy", _]) => "RemovePermission",
        ("PUT", ["functions", _, "concurrency"]) => "PutFunctionConcurrency",
        ("GET", ["functions", _, "concurrency"]) => "GetFunctionConcurrency",
        ("DELETE", ["functions", _, "concurrency"]) => "DeleteFunctionConcurrency",
        ("POST", ["functions", _, "invocations"]) => "Invoke",
        ("POST", ["functions", _, "versions"]) => "PublishVersion",
        ("GET", ["functions", _, "versions"]) => "ListVersionsByFunction",
        ("POST", ["event-source-mappings"]) => "CreateEventSourceMapping",
        ("GET", ["event-source-mappings"]) => "ListEventSourceMappings",
        ("GET", ["event-source-mappings", _]) => "GetEventSourceMapping",
        ("PUT", ["event-source-mappings", _]) => "UpdateEventSourceMapping",
        ("DELETE", ["event-source-mappings", _]) => "DeleteEventSourceMapping",
        ("POST", ["tags", ..]) => "TagResource",
        ("DELETE", ["tags", ..]) => "UntagResource",
        ("GET", ["tags", ..]) => "ListTags",
        ("GET", ["account-settings"]) => "GetAccountSettings",
        ("PUT", ["functions", _, "event-invoke-config"]) => "PutFunctionEventInvokeConfig",
        ("POST", ["functions", _, "event-invoke-config"]) => "UpdateFunctionEventInvokeConfig",
        ("GET", ["functions", _, "event-invoke-config"]) => "GetFunctionEventInvokeConfig",
        ("DELETE", ["functions", _, "event-invoke-config"]) => "DeleteFunctionEventInvokeConfig",
        _ => return format!("{method} {path}"),
    };
    name.to_owned()
}

/// S3's path-style REST routes to operation names.
fn s3_operation(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> String {
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let has = |sub: &str| query.split('&').any(|p| p.split('=').next() == Some(sub));
    const SUBRESOURCES: [(&str, &str); 12] = [
        ("notification", "BucketNotificationConfiguration"),
        ("tagging", "BucketTagging"),
        ("policy", "BucketPolicy"),
        ("versioning", "BucketVersioning"),
        ("encryption", "BucketEncryption"),
        ("acl", "BucketAcl"),
        ("publicAccessBlock", "PublicAccessBlock"),
        ("ownershipControls", "BucketOwnershipControls"),
        ("lifecycle", "BucketLifecycleConfiguration"),
        ("cors", "BucketCors"),
        ("website", "BucketWebsite"),
        ("logging", "BucketLogging"),
    ];
    let m = method.as_str();
    // The SDK names some operations in the query (`?x-id=PutObject`).
    if let Some(id) = form_field(query, "x-id") {
        return id;
    }
    let name: String = if bucket.is_empty() {
        match m {
            "GET" => "ListBuckets".into(),
            _ => format!("{m} /"),
        }
    } else if key.is_empty() {
        if let Some((_, resource)) = SUBRESOURCES.iter().find(|(sub, _)| has(sub)) {
            let verb = match m {
                "GET" => "Get",
                "PUT" => "Put",
                "DELETE" => "Delete",
                _ => return format!("{m} /{bucket}?{query}"),
            };
            format!("{verb}{resource}")
        } else if has("location") {
            "GetBucketLocation".into()
        } else if has("versions") {
            "ListObjectVersions".into()
        } else if has("uploads") {
            "ListMultipartUploads".into()
        } else if has("delete") && m == "POST" {
            "DeleteObjects".into()
        } else if has("list-type") {
            "ListObjectsV2".into()
        } else {
            match m {
                "GET" => "ListObjects".into(),
                "PUT" => "CreateBucket".into(),
                "HEAD" => "HeadBucket".into(),
                "DELETE" => "DeleteBucket".into(),
                _ => format!("{m} /{bucket}"),
            }
        }
    } else if has("tagging") {
        match m {
            "GET" => "GetObjectTagging".into(),
            "PUT" => "PutObjectTagging".into(),
            _ => "DeleteObjectTagging".into(),
        }
    } else if has("uploads") {
        "CreateMultipartUpload".into()
    } else if has("uploadId") {
        match m {
            "PUT" => "UploadPart".into(),
            "POST" => "CompleteMultipartUpload".into(),
            "DELETE" => "AbortMultipartUpload".into(),
            _ => "ListParts".into(),
        }
    } else {
        match m {
            "GET" => "GetObject".into(),
            "HEAD" => "HeadObject".into(),
            "DELETE" => "DeleteObject".into(),
            "PUT" if headers.contains_key("x-amz-copy-source") => "CopyObject".into(),
            "PUT" => "PutObject".into(),
            _ => format!("{m} /{bucket}/{key}"),
        }
    };
    name
}

type ProxyResponse = Response<Full<Bytes>>;

/// Why the proxy closed a connection without answering (hyper then drops it).
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<ProxyResponse, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let what = classify(&parts.method, &path, &query, &parts.headers, &body);
    let key = format!("{}.{}", what.service, what.operation);

    let (index, fault, stall) = {
        let mut state = shared.lock();
        let nth = {
            let n = state.occurrences.entry(key.clone()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let stall = what.kind == Kind::Write
            && match state.stall_after {
                Some(limit) if state.writes_admitted >= limit => true,
                Some(_) => {
                    state.writes_admitted += 1;
                    false
                }
                None => false,
            };
        let fault = if stall {
            None
        } else {
            state.faults.pick(&key, nth, what.kind)
        };
        state.log.requests.push(Seen {
            service: what.service.clone(),
            operation: what.operation.clone(),
            kind: what.kind,
            outcome: if stall { Some(Outcome::Stalled) } else { None },
            body: body.clone(),
            arrived: Instant::now(),
            done: None,
        });
        (state.log.requests.len() - 1, fault, stall)
    };
    let finish = |outcome: Outcome| {
        let mut state = shared.lock();
        if let Some(seen) = state.log.requests.get_mut(index) {
            seen.outcome = Some(outcome);
            seen.done = Some(Instant::now());
        }
        drop(state);
        shared.changed.notify_all();
    };

    if stall {
        shared.changed.notify_all();
        let mut release = shared.release.subscribe();
        // Held until released (then dropped) or until the proxy's runtime shuts down.
        let _ = release.wait_for(|released| *released).await;
        return Err(Dropped);
    }
    match fault {
        Some(Fault::Throttle) => {
            finish(Outcome::Throttled);
            return Ok(error_response(
                what.protocol,
                &parts.method,
                ErrorKind::Throttle,
            ));
        }
        Some(Fault::ServerError) => {
            finish(Outcome::ServerError);
            return Ok(error_response(
                what.protocol,
                &parts.method,
                ErrorKind::Internal,
            ));
        }
        Some(Fault::DropBefore) => {
            finish(Outcome::DroppedBefore);
            return Err(Dropped);
        }
        Some(Fault::DropAfter) | None => {}
    }
    let latency = shared.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match forward(shared.upstream, parts, body).await {
        Ok(response) => {
            let status = response.status().as_u16();
            if fault == Some(Fault::DropAfter) {
                finish(Outcome::DroppedAfter(status));
                Err(Dropped)
            } else {
                finish(Outcome::Forwarded(status));
                Ok(response)
            }
        }
        Err(message) => {
            finish(Outcome::UpstreamFailed);
            let mut response = Response::new(Full::new(Bytes::from(message)));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            Ok(response)
        }
    }
}

/// Sends the request to moto on a fresh connection and reads the whole answer.
async fn forward(
    upstream: SocketAddr,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<ProxyResponse, String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| format!("connect to moto: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake with moto: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = Request::from_parts(parts, Full::new(body.clone()));
    let headers = request.headers_mut();
    headers.remove(CONNECTION);
    headers.remove(TRANSFER_ENCODING);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("moto: {e}"))?;
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("moto's answer: {e}"))?
        .to_bytes();
    parts.headers.remove(CONNECTION);
    if parts.headers.remove(TRANSFER_ENCODING).is_some()
        || !parts.headers.contains_key(CONTENT_LENGTH)
    {
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

#[derive(Debug, Clone, Copy)]
enum ErrorKind {
    Throttle,
    Internal,
}

const REQUEST_ID: &str = "fault-proxy-0000-0000-000000000000";

/// The error a service of `protocol` answers, shaped so the SDK parses its code.
fn error_response(protocol: Protocol, method: &Method, kind: ErrorKind) -> ProxyResponse {
    let (status, content_type, body, extra): (u16, &str, String, Option<(&str, &str)>) = match (protocol, kind) {
        (Protocol::Json, ErrorKind::Throttle) => (
            400,
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded (fault proxy)"}"#.into(),
            None,
        ),
        (Protocol::Json, ErrorKind::Internal) => (
            500,
            "application/x-amz-json-1.1",
            r#"{"__type":"InternalFailure","message":"Internal failure (fault proxy)"}"#.into(),
            None,
        ),
        (Protocol::Query, kind) => {
            let (status, code, who) = match kind {
                ErrorKind::Throttle => (400, "Throttling", "Sender"),
                ErrorKind::Internal => (500, "InternalFailure", "Receiver"),
            };
            (
                status,
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>{who}</Type><Code>{code}</Code>\
                     <Message>fault proxy</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
                ),
                None,
            )
        }
        (Protocol::RestJson, ErrorKind::Throttle) => (
            429,
            "application/json",
            r#"{"Type":"User","message":"Rate exceeded (fault proxy)","Reason":"CallerRateLimitExceeded"}"#.into(),
            Some(("x-amzn-errortype", "TooManyRequestsException")),
        ),
        (Protocol::RestJson, ErrorKind::Internal) => (
            500,
            "application/json",
            r#"{"Type":"Service","message":"Internal failure (fault proxy)"}"#.into(),
            Some(("x-amzn-errortype", "ServiceException")),
        ),
        (Protocol::RestXml, kind) => {
            let (status, code) = match kind {
                ErrorKind::Throttle => (503, "SlowDown"),
                ErrorKind::Internal => (500, "InternalError"),
            };
            (
                status,
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                     <Message>fault proxy</Message><RequestId>{REQUEST_ID}</RequestId></Error>"
                ),
                None,
            )
        }
    };
    // A HEAD answer has no body; the status alone tells the SDK what happened.
    let body = if *method == Method::HEAD {
        String::new()
    } else {
        body
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("x-amzn-requestid", HeaderValue::from_static(REQUEST_ID));
    headers.insert("x-amz-request-id", HeaderValue::from_static(REQUEST_ID));
    if let Some((name, value)) = extra {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
