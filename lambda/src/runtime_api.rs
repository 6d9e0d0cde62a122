//! A local AWS Lambda Runtime API: the HTTP interface a `bootstrap` polls for its invocations.
//!
//! The bootstrap runs unchanged, exactly as on Lambda: it long-polls `GET /invocation/next` and
//! posts each result to `/invocation/{id}/response` or `/invocation/{id}/error`. The end-to-end
//! tests, `deployer invoke` and `deployer local` all go through this one server.
//! Reference: <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>.

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Path prefix of every Runtime API route.
pub const PATH_PREFIX: &str = "/2018-06-01/runtime/";

/// Largest response a function may return synchronously (Lambda's 6 MB quota).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Header carrying the invocation's request id on `/next`.
pub const REQUEST_ID_HEADER: &str = "lambda-runtime-aws-request-id";
/// Header carrying the invocation's deadline (Unix epoch, milliseconds) on `/next`.
pub const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";
/// Header carrying the invoked function's ARN on `/next`.
pub const FUNCTION_ARN_HEADER: &str = "lambda-runtime-invoked-function-arn";
/// Header carrying the X-Ray trace id on `/next`.
pub const TRACE_ID_HEADER: &str = "lambda-runtime-trace-id";
/// Header a runtime may set on `/error` and `/init/error` to name the error type.
pub const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// The identity and limits of the function being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// Function name, e.g. `orders-dev-on_order`.
    pub function_name: String,
    /// Region reported in the ARN and to the process.
    pub region: String,
    /// Account id reported in the ARN.
    pub account_id: String,
    /// Memory size reported to the process (MB).
    pub memory_mb: u32,
    /// Function version reported to the process.
    pub version: String,
    /// How long an invocation may run before [`RuntimeApi::invoke`] gives up.
    pub timeout: Duration,
}

impl FunctionConfig {
    /// A config with Lambda's defaults (128 MB, `$LATEST`, 3 s) in `us-east-1`.
    pub fn new(function_name: impl Into<String>) -> Self {
        Self {
            function_name: function_name.into(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            memory_mb: 128,
            version: "$LATEST".to_owned(),
            timeout: Duration::from_secs(3),
        }
    }

    /// The function's ARN, as sent in `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.function_name
        )
    }
}

/// An invocation payload: the raw bytes the bootstrap receives from `/next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(pub Bytes);

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(bytes))
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<&serde_json::Value> for Payload {
    fn from(value: &serde_json::Value) -> Self {
        Self(Bytes::from(value.to_string()))
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Self::from(&value)
    }
}

/// An error a function (or its runtime's init) reported to the Runtime API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType` from the body, else the `Lambda-Runtime-Function-Error-Type` header.
    pub error_type: String,
    /// `errorMessage` from the body, else the whole body.
    pub error_message: String,
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl FunctionError {
    /// Reads an error report the way Lambda does: a JSON body with `errorType` and
    /// `errorMessage`, falling back to the error-type header and the raw body.
    fn from_report(header_type: Option<&str>, body: &[u8]) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|v| v.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let error_type = field("errorType")
            .or_else(|| header_type.map(str::to_owned))
            .unwrap_or_else(|| "Unhandled".to_owned());
        let error_message =
            field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        Self {
            error_type,
            error_message,
        }
    }
}

/// What one invocation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The body the function posted to `/invocation/{id}/response`.
    Response(Bytes),
    /// The error the function posted to `/invocation/{id}/error`.
    Error(FunctionError),
}

impl Outcome {
    /// The response parsed as JSON; `None` for an error or a body that is not JSON.
    pub fn response_json(&self) -> Option<serde_json::Value> {
        match self {
            Self::Response(body) => serde_json::from_slice(body).ok(),
            Self::Error(_) => None,
        }
    }

    /// The reported error, if the invocation failed.
    pub fn error(&self) -> Option<&FunctionError> {
        match self {
            Self::Response(_) => None,
            Self::Error(error) => Some(error),
        }
    }
}

/// One completed invocation: its request id, outcome and how long it took end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The id sent in `Lambda-Runtime-Aws-Request-Id` (and found in the handler's log spans).
    pub request_id: String,
    /// What the function returned.
    pub outcome: Outcome,
    /// From queueing the invocation to receiving its outcome.
    pub duration: Duration,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding 127.0.0.1 failed.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[from] std::io::Error),
}

/// Why an invocation produced no [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// Neither a response nor an error arrived in time.
    #[error("invocation {request_id} timed out after {timeout:?}")]
    Timeout {
        /// The abandoned invocation.
        request_id: String,
        /// The limit that passed.
        timeout: Duration,
    },
    /// The runtime reported an init error, so it will serve no invocation.
    #[error("the runtime failed to initialise: {0}")]
    InitFailed(FunctionError),
}

/// An invocation waiting in the queue for a `/next` poll.
struct Queued {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
}

/// State shared by the handle and the HTTP handlers.
struct Shared {
    config: FunctionConfig,
    queue_tx: mpsc::UnboundedSender<Queued>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    /// Invocations whose caller still waits, by request id.
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: watch::Sender<Option<FunctionError>>,
    /// Number of `/next` requests received so far.
    polls: watch::Sender<u64>,
    ids: AtomicU64,
    hasher: RandomState,
}

impl Shared {
    fn waiting(&self) -> MutexGuard<'_, HashMap<String, oneshot::Sender<Outcome>>> {
        // The map stays consistent even if a holder panicked: every operation is a single call.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn random_u64(&self) -> u64 {
        self.hasher
            .hash_one(self.ids.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh request id: a random (version 4) UUID, as Lambda gives each invocation.
    fn new_request_id(&self) -> String {
        let random = (u128::from(self.random_u64()) << 64) | u128::from(self.random_u64());
        uuid::Builder::from_random_bytes(random.to_be_bytes())
            .into_uuid()
            .to_string()
    }

    /// A trace header in X-Ray's format (`Root=1-<epoch hex>-<96 bits>;Parent=..;Sampled=0`).
    fn new_trace_id(&self) -> String {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let (a, b, c) = (self.random_u64(), self.random_u64(), self.random_u64());
        format!(
            "Root=1-{:08x}-{:016x}{:08x};Parent={:016x};Sampled=0",
            seconds & 0xffff_ffff,
            a,
            b & 0xffff_ffff,
            c
        )
    }
}

/// Removes an invocation from the waiting map when its caller stops waiting (done, timed out
/// or cancelled), so a late `/next` skips it and a late response is refused.
struct WaitingGuard<'a> {
    shared: &'a Shared,
    request_id: String,
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.shared.waiting().remove(&self.request_id);
    }
}

/// A running Runtime API server on 127.0.0.1; stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .field("function", &self.shared.config.function_name)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Starts serving on a free 127.0.0.1 port, on the current tokio runtime.
    pub async fn start(config: FunctionConfig) -> Result<Self, StartError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            waiting: Mutex::new(HashMap::new()),
            init_error: watch::Sender::new(None),
            polls: watch::Sender::new(0),
            ids: AtomicU64::new(0),
            hasher: RandomState::new(),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for the bootstrap's `AWS_LAMBDA_RUNTIME_API` (`host:port`, no scheme).
    pub fn runtime_api_env(&self) -> String {
        self.addr.to_string()
    }

    /// The function this server stands in for.
    pub fn config(&self) -> &FunctionConfig {
        &self.shared.config
    }

    /// Invokes the function with the configured timeout.
    pub async fn invoke(&self, payload: impl Into<Payload>) -> Result<Outcome, InvokeError> {
        self.invoke_with_timeout(payload, self.shared.config.timeout)
            .await
    }

    /// [`RuntimeApi::invoke`] with its own timeout.
    pub async fn invoke_with_timeout(
        &self,
        payload: impl Into<Payload>,
        timeout: Duration,
    ) -> Result<Outcome, InvokeError> {
        Ok(self.invocation(payload, timeout).await?.outcome)
    }

    /// Queues one invocation and waits for the function's response or error, at most `timeout`.
    ///
    /// Several invocations may wait at once; each outcome is matched by request id.
    pub async fn invocation(
        &self,
        payload: impl Into<Payload>,
        timeout: Duration,
    ) -> Result<Invocation, InvokeError> {
        let started = Instant::now();
        let shared = &*self.shared;
        let request_id = shared.new_request_id();
        let (tx, rx) = oneshot::channel();
        shared.waiting().insert(request_id.clone(), tx);
        let _guard = WaitingGuard {
            shared,
            request_id: request_id.clone(),
        };
        let deadline_ms = SystemTime::now()
            .checked_add(timeout)
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let queued = Queued {
            request_id: request_id.clone(),
            payload: payload.into().0,
            deadline_ms,
        };
        // The receiver lives in `shared` as long as `self`, so the send cannot fail.
        let _ = shared.queue_tx.send(queued);

        let mut init_error = shared.init_error.subscribe();
        tokio::select! {
            outcome = rx => match outcome {
                Ok(outcome) => Ok(Invocation { request_id, outcome, duration: started.elapsed() }),
                // The sender is only dropped unsent when the guard removed it: not while we wait.
                Err(_) => Err(InvokeError::Timeout { request_id, timeout }),
            },
            error = wait_init_error(&mut init_error) => Err(InvokeError::InitFailed(error)),
            () = tokio::time::sleep(timeout) => Err(InvokeError::Timeout { request_id, timeout }),
        }
    }

    /// The init error the runtime reported, if any.
    pub fn init_error(&self) -> Option<FunctionError> {
        self.shared.init_error.borrow().clone()
    }

    /// Waits at most `timeout` for the runtime to report an init error.
    pub async fn wait_for_init_error(&self, timeout: Duration) -> Option<FunctionError> {
        let mut init_error = self.shared.init_error.subscribe();
        tokio::time::timeout(timeout, wait_init_error(&mut init_error))
            .await
            .ok()
    }

    /// How many `/next` requests the server has received.
    pub fn polls(&self) -> u64 {
        *self.shared.polls.borrow()
    }

    /// Waits at most `timeout` until at least `count` `/next` requests have arrived; says whether they did.
    ///
    /// The first poll marks the end of a cold start: the runtime is initialised and ready.
    pub async fn wait_for_polls(&self, count: u64, timeout: Duration) -> bool {
        let mut polls = self.shared.polls.subscribe();
        tokio::time::timeout(timeout, polls.wait_for(|n| *n >= count))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

/// Resolves with the first init error reported (never, if none is).
async fn wait_init_error(init_error: &mut watch::Receiver<Option<FunctionError>>) -> FunctionError {
    loop {
        if let Some(error) = init_error.borrow_and_update().clone() {
            return error;
        }
        if init_error.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Accepts connections until the server is dropped.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&shared);
                    connections.spawn(async move {
                        let service = service_fn(move |req| route(Arc::clone(&shared), req));
                        // A connection error (client gone mid-request) ends that connection only.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type HttpResponse = Response<Full<Bytes>>;

/// Dispatches one request to its route.
async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PATH_PREFIX) else {
        return Ok(status_json(
            StatusCode::NOT_FOUND,
            "UnknownRoute",
            "no such route",
        ));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let method = req.method().clone();
    let response = match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&shared).await,
        (Method::POST, ["invocation", id, "response"]) if !id.is_empty() => {
            respond(&shared, id, req).await
        }
        (Method::POST, ["invocation", id, "error"]) if !id.is_empty() => {
            fail(&shared, id, req).await
        }
        (Method::POST, ["init", "error"]) => init_failed(&shared, req).await,
        (
            _,
            ["invocation", "next"] | ["invocation", _, "response" | "error"] | ["init", "error"],
        ) => status_json(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "wrong method for this route",
        ),
        _ => status_json(StatusCode::NOT_FOUND, "UnknownRoute", "no such route"),
    };
    Ok(response)
}

/// `GET /invocation/next`: long-polls until an invocation whose caller still waits is queued.
async fn next(shared: &Shared) -> HttpResponse {
    shared.polls.send_modify(|n| *n += 1);
    // Holding the receiver's lock while waiting serialises concurrent pollers; `recv` is
    // cancel-safe, so a poller that hangs up loses no invocation.
    let mut queue = shared.queue_rx.lock().await;
    loop {
        let Some(queued) = queue.recv().await else {
            return status_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "invocation queue closed",
            );
        };
        if !shared.waiting().contains_key(&queued.request_id) {
            continue; // its caller timed out or went away: do not run it
        }
        let mut response = Response::new(Full::new(queued.payload));
        let headers = response.headers_mut();
        let values = [
            (REQUEST_ID_HEADER, queued.request_id),
            (DEADLINE_HEADER, queued.deadline_ms.to_string()),
            (FUNCTION_ARN_HEADER, shared.config.arn()),
            (TRACE_ID_HEADER, shared.new_trace_id()),
        ];
        for (name, value) in values {
            match HeaderValue::from_str(&value) {
                Ok(value) => {
                    headers.insert(name, value);
                }
                Err(_) => {
                    return status_json(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ServiceException",
                        "function name or region is not a valid header value",
                    );
                }
            }
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return response;
    }
}

/// The body of a runtime's report, or the response to send back when it is too large or broken.
async fn read_report(req: Request<Incoming>) -> Result<(Option<String>, Bytes), ReadFailure> {
    let header_type = req
        .headers()
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(body) => Ok((header_type, body.to_bytes())),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ReadFailure::TooLarge)
        }
        Err(_) => Err(ReadFailure::Broken),
    }
}

enum ReadFailure {
    TooLarge,
    Broken,
}

/// `POST /invocation/{id}/response`.
async fn respond(shared: &Shared, request_id: &str, req: Request<Incoming>) -> HttpResponse {
    match read_report(req).await {
        Ok((_, body)) => complete(shared, request_id, Outcome::Response(body)),
        Err(failure) => refuse(shared, request_id, failure),
    }
}

/// `POST /invocation/{id}/error`.
async fn fail(shared: &Shared, request_id: &str, req: Request<Incoming>) -> HttpResponse {
    match read_report(req).await {
        Ok((header_type, body)) => {
            let error = FunctionError::from_report(header_type.as_deref(), &body);
            complete(shared, request_id, Outcome::Error(error))
        }
        Err(failure) => refuse(shared, request_id, failure),
    }
}

/// Hands an outcome to the waiting caller; refuses ids nobody waits for.
fn complete(shared: &Shared, request_id: &str, outcome: Outcome) -> HttpResponse {
    let Some(caller) = shared.waiting().remove(request_id) else {
        return status_json(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation with this request id is in progress",
        );
    };
    // The caller may have stopped waiting a moment ago; the runtime's report was still fine.
    let _ = caller.send(outcome);
    accepted()
}

/// Fails the invocation the way Lambda does when the runtime's report cannot be taken.
fn refuse(shared: &Shared, request_id: &str, failure: ReadFailure) -> HttpResponse {
    match failure {
        ReadFailure::TooLarge => {
            let message = format!(
                "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            );
            let error = FunctionError {
                error_type: "Function.ResponseSizeTooLarge".to_owned(),
                error_message: message.clone(),
            };
            if let Some(caller) = shared.waiting().remove(request_id) {
                let _ = caller.send(Outcome::Error(error));
            }
            status_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &message,
            )
        }
        ReadFailure::Broken => status_json(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "the request body could not be read",
        ),
    }
}

/// `POST /init/error`.
async fn init_failed(shared: &Shared, req: Request<Incoming>) -> HttpResponse {
    match read_report(req).await {
        Ok((header_type, body)) => {
            let error = FunctionError::from_report(header_type.as_deref(), &body);
            shared.init_error.send_replace(Some(error));
            accepted()
        }
        Err(ReadFailure::TooLarge) => status_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "init error report too large",
        ),
        Err(ReadFailure::Broken) => status_json(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "the request body could not be read",
        ),
    }
}

fn accepted() -> HttpResponse {
    json_response(StatusCode::ACCEPTED, serde_json::json!({ "status": "OK" }))
}

fn status_json(status: StatusCode, error_type: &str, message: &str) -> HttpResponse {
    json_response(
        status,
        serde_json::json!({ "errorType": error_type, "errorMessage": message }),
    )
}

fn json_response(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A parsed HTTP/1.1 response from [`http_request`].
    #[derive(Debug)]
    struct Reply {
        status: u16,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    impl Reply {
        fn header(&self, name: &str) -> &str {
            self.headers.get(name).map(String::as_str).unwrap_or("")
        }

        fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap()
        }
    }

    /// One request on a fresh connection (`Connection: close`), read to the end.
    async fn http_request(
        addr: SocketAddr,
        method: &str,
        path: &str,
        extra_headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        Reply {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn invocation_path(request_id: &str, what: &str) -> String {
        format!("{PATH_PREFIX}invocation/{request_id}/{what}")
    }

    const NEXT: &str = "/2018-06-01/runtime/invocation/next";

    async fn server() -> RuntimeApi {
        let mut config = FunctionConfig::new("orders-dev-on_order");
        config.timeout = Duration::from_secs(5);
        RuntimeApi::start(config).await.unwrap()
    }

    #[tokio::test]
    async fn next_long_polls_then_delivers_the_payload_with_lambda_headers() {
        let api = server().await;
        let addr = api.addr();
        let poll = tokio::spawn(async move { http_request(addr, "GET", NEXT, &[], b"").await });
        assert!(api.wait_for_polls(1, Duration::from_secs(5)).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!poll.is_finished(), "/next must wait for an invocation");

        let invoke = api.invocation(json!({ "hello": "world" }), Duration::from_secs(5));
        let worker = async {
            let reply = poll.await.unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.json(), json!({ "hello": "world" }));
            let request_id = reply.header(REQUEST_ID_HEADER).to_owned();
            assert_eq!(request_id.len(), 36, "{request_id}");
            assert_eq!(&request_id[14..15], "4", "UUID v4 shape: {request_id}");
            let deadline: u128 = reply.header(DEADLINE_HEADER).parse().unwrap();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis();
            assert!(
                deadline > now && deadline <= now + 5_000,
                "{deadline} vs {now}"
            );
            assert_eq!(
                reply.header(FUNCTION_ARN_HEADER),
                "arn:aws:lambda:us-east-1:123456789012:function:orders-dev-on_order"
            );
            assert!(reply.header(TRACE_ID_HEADER).starts_with("Root=1-"));
            let done = http_request(
                addr,
                "POST",
                &invocation_path(&request_id, "response"),
                &[],
                br#"{"ok":true}"#,
            )
            .await;
            assert_eq!(done.status, 202);
            request_id
        };
        let (invocation, request_id) = tokio::join!(invoke, worker);
        let invocation = invocation.unwrap();
        assert_eq!(invocation.request_id, request_id);
        assert_eq!(
            invocation.outcome.response_json(),
            Some(json!({ "ok": true }))
        );
        assert_eq!(api.polls(), 1);
    }

    #[tokio::test]
    async fn error_reports_become_error_outcomes() {
        let api = server().await;
        let addr = api.addr();
        let worker = async {
            let reply = http_request(addr, "GET", NEXT, &[], b"").await;
            let id = reply.header(REQUEST_ID_HEADER).to_owned();
            let body =
                br#"{"errorType":"OrderRejected","errorMessage":"no stock","stackTrace":[]}"#;
            let done = http_request(addr, "POST", &invocation_path(&id, "error"), &[], body).await;
            assert_eq!(done.status, 202);
        };
        let (outcome, ()) = tokio::join!(api.invoke("{}"), worker);
        assert_eq!(
            outcome.unwrap(),
            Outcome::Error(FunctionError {
                error_type: "OrderRejected".into(),
                error_message: "no stock".into(),
            })
        );
    }

    #[tokio::test]
    async fn a_non_json_error_report_falls_back_to_the_header_and_raw_body() {
        let api = server().await;
        let addr = api.addr();
        let worker = async {
            let reply = http_request(addr, "GET", NEXT, &[], b"").await;
            let id = reply.header(REQUEST_ID_HEADER).to_owned();
            let path = invocation_path(&id, "error");
            let headers = [("Lambda-Runtime-Function-Error-Type", "Runtime.Crash")];
            http_request(addr, "POST", &path, &headers, b"segfault").await;
        };
        let (outcome, ()) = tokio::join!(api.invoke("{}"), worker);
        let outcome = outcome.unwrap();
        let error = outcome.error().unwrap();
        assert_eq!(error.error_type, "Runtime.Crash");
        assert_eq!(error.error_message, "segfault");
    }

    #[tokio::test]
    async fn concurrent_invocations_are_matched_by_request_id() {
        let api = server().await;
        let addr = api.addr();
        let worker = async {
            let first = http_request(addr, "GET", NEXT, &[], b"").await;
            let second = http_request(addr, "GET", NEXT, &[], b"").await;
            // Answer in reverse order, echoing each payload.
            for reply in [second, first] {
                let id = reply.header(REQUEST_ID_HEADER).to_owned();
                let path = invocation_path(&id, "response");
                http_request(addr, "POST", &path, &[], &reply.body).await;
            }
        };
        let (a, b, ()) = tokio::join!(api.invoke(json!(1)), api.invoke(json!(2)), worker);
        assert_eq!(a.unwrap().response_json(), Some(json!(1)));
        assert_eq!(b.unwrap().response_json(), Some(json!(2)));
    }

    #[tokio::test]
    async fn a_timed_out_invocation_is_never_delivered_and_its_late_response_is_refused() {
        let api = server().await;
        let addr = api.addr();
        let outcome = api
            .invoke_with_timeout("stale", Duration::from_millis(20))
            .await;
        assert!(
            matches!(outcome, Err(InvokeError::Timeout { .. })),
            "{outcome:?}"
        );

        // The stale invocation is skipped: the poll gets the next live one.
        let worker = async {
            let reply = http_request(addr, "GET", NEXT, &[], b"").await;
            assert_eq!(reply.body, b"fresh");
            let id = reply.header(REQUEST_ID_HEADER).to_owned();
            http_request(
                addr,
                "POST",
                &invocation_path(&id, "response"),
                &[],
                b"\"ok\"",
            )
            .await;
        };
        let (outcome, ()) = tokio::join!(api.invoke("fresh"), worker);
        assert_eq!(
            outcome.unwrap(),
            Outcome::Response(Bytes::from_static(b"\"ok\""))
        );
    }

    #[tokio::test]
    async fn a_response_after_the_timeout_is_refused() {
        let api = server().await;
        let addr = api.addr();
        let worker = async {
            let reply = http_request(addr, "GET", NEXT, &[], b"").await;
            let id = reply.header(REQUEST_ID_HEADER).to_owned();
            tokio::time::sleep(Duration::from_millis(300)).await;
            http_request(addr, "POST", &invocation_path(&id, "response"), &[], b"1").await
        };
        let (outcome, late) = tokio::join!(
            api.invoke_with_timeout("{}", Duration::from_millis(100)),
            worker
        );
        assert!(
            matches!(outcome, Err(InvokeError::Timeout { .. })),
            "{outcome:?}"
        );
        assert_eq!(late.status, 400);
        assert_eq!(late.json()["errorType"], "InvalidRequestID");
    }

    #[tokio::test]
    async fn unknown_request_ids_and_routes_are_refused() {
        let api = server().await;
        let addr = api.addr();
        let reply = http_request(
            addr,
            "POST",
            &invocation_path("nope", "response"),
            &[],
            b"1",
        )
        .await;
        assert_eq!(reply.status, 400);
        let reply = http_request(
            addr,
            "GET",
            "/2018-06-01/runtime/invocation/x/y/z",
            &[],
            b"",
        )
        .await;
        assert_eq!(reply.status, 404);
        let reply = http_request(addr, "GET", "/other", &[], b"").await;
        assert_eq!(reply.status, 404);
        let reply = http_request(addr, "POST", NEXT, &[], b"").await;
        assert_eq!(reply.status, 405);
        let reply = http_request(addr, "GET", &invocation_path("id", "response"), &[], b"").await;
        assert_eq!(reply.status, 405);
        assert_eq!(api.polls(), 0, "a POST to /next is not a poll");
    }

    #[tokio::test]
    async fn an_init_error_is_recorded_and_fails_waiting_invocations() {
        let api = server().await;
        let addr = api.addr();
        assert_eq!(api.init_error(), None);
        let invoke = api.invoke("{}");
        let report = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let body = br#"{"errorType":"Runtime.InitError","errorMessage":"unknown handler"}"#;
            http_request(addr, "POST", "/2018-06-01/runtime/init/error", &[], body).await
        };
        let (outcome, reply) = tokio::join!(invoke, report);
        assert_eq!(reply.status, 202);
        let expected = FunctionError {
            error_type: "Runtime.InitError".into(),
            error_message: "unknown handler".into(),
        };
        match outcome {
            Err(InvokeError::InitFailed(error)) => assert_eq!(error, expected),
            other => panic!("expected InitFailed, got {other:?}"),
        }
        assert_eq!(api.init_error(), Some(expected.clone()));
        assert_eq!(
            api.wait_for_init_error(Duration::from_millis(10)).await,
            Some(expected)
        );
    }

    #[tokio::test]
    async fn waiting_for_an_init_error_that_never_comes_times_out() {
        let api = server().await;
        assert_eq!(
            api.wait_for_init_error(Duration::from_millis(20)).await,
            None
        );
        assert!(!api.wait_for_polls(1, Duration::from_millis(20)).await);
    }

    #[tokio::test]
    async fn an_oversized_response_fails_the_invocation_like_lambda() {
        let api = server().await;
        let addr = api.addr();
        let worker = async {
            let reply = http_request(addr, "GET", NEXT, &[], b"").await;
            let id = reply.header(REQUEST_ID_HEADER).to_owned();
            let huge = vec![b'x'; MAX_RESPONSE_BYTES + 1];
            http_request(addr, "POST", &invocation_path(&id, "response"), &[], &huge).await
        };
        let (outcome, reply) = tokio::join!(api.invoke("{}"), worker);
        assert_eq!(reply.status, 413);
        let outcome = outcome.unwrap();
        assert_eq!(
            outcome.error().map(|e| e.error_type.as_str()),
            Some("Function.ResponseSizeTooLarge")
        );
    }

    #[tokio::test]
    async fn dropping_the_server_closes_its_port() {
        let api = server().await;
        let addr = api.addr();
        drop(api);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[test]
    fn payload_conversions_keep_the_bytes() {
        assert_eq!(
            Payload::from(json!({"a": 1})).0,
            Bytes::from_static(br#"{"a":1}"#)
        );
        assert_eq!(Payload::from("x").0, Bytes::from_static(b"x"));
        assert_eq!(Payload::from(vec![1u8, 2]).0, Bytes::from_static(&[1, 2]));
    }

    #[test]
    fn function_arn_has_lambdas_shape() {
        let mut config = FunctionConfig::new("f");
        config.region = "eu-west-1".into();
        assert_eq!(
            config.arn(),
            "arn:aws:lambda:eu-west-1:123456789012:function:f"
        );
    }
}
