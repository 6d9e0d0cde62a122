//! The dispatch loop the generated code calls: pick the handler named by `_HANDLER`, check the
//! Lambda environment, then serve invocations until the process is stopped.
//!
//! Everything that can be checked before talking to the Runtime API is checked first, so a
//! misconfigured function fails its init with a message naming the problem instead of a panic.
//! Once serving, a malformed event or a handler error is reported to the Runtime API's error
//! endpoint for that invocation (lambda_runtime does this) and the next invocation is served.

use std::future::Future;
use std::process::ExitCode;

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Context, Error};

/// The environment variable Lambda sets from the function's Handler setting.
pub const HANDLER_ENV: &str = "_HANDLER";

/// Variables lambda_runtime reads at start-up (it panics without them).
const REQUIRED_ENV: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Why the bootstrap refuses to start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartupError {
    #[error("{HANDLER_ENV} is not set: set the function's Handler to one of: {}", list(.known))]
    MissingHandler { known: Vec<String> },
    #[error(
        "unknown handler `{name}` in {HANDLER_ENV}{}; this bootstrap serves: {}",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        list(.known)
    )]
    UnknownHandler {
        name: String,
        known: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("{0} is not set: is this running under the Lambda Runtime API?")]
    MissingEnv(&'static str),
    #[error("{var}={value:?} is not valid: {reason}")]
    InvalidEnv {
        var: &'static str,
        value: String,
        reason: &'static str,
    },
}

fn list(known: &[String]) -> String {
    if known.is_empty() {
        "(no handlers declared in events.chalice)".to_owned()
    } else {
        known.join(", ")
    }
}

/// The known handler named `requested`, or why there is none.
pub fn select_handler(
    requested: Option<&str>,
    known: &'static [&'static str],
) -> Result<&'static str, StartupError> {
    let owned = || known.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    let Some(name) = requested.filter(|n| !n.is_empty()) else {
        return Err(StartupError::MissingHandler { known: owned() });
    };
    known
        .iter()
        .copied()
        .find(|k| *k == name)
        .ok_or_else(|| StartupError::UnknownHandler {
            name: name.to_owned(),
            known: owned(),
            suggestion: suggest(name, known).map(str::to_owned),
        })
}

/// The closest known name, if it is close enough to be a typo.
fn suggest(name: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The handler named by `_HANDLER`.
pub fn handler_from_env(known: &'static [&'static str]) -> Result<&'static str, StartupError> {
    let value = std::env::var(HANDLER_ENV).ok();
    select_handler(value.as_deref(), known)
}

/// Checks what lambda_runtime would otherwise panic on; `get` reads a variable.
pub fn check_lambda_env(get: impl Fn(&str) -> Option<String>) -> Result<(), StartupError> {
    for var in REQUIRED_ENV {
        let Some(value) = get(var).filter(|v| !v.is_empty()) else {
            return Err(StartupError::MissingEnv(var));
        };
        let invalid = |reason| StartupError::InvalidEnv {
            var,
            value: value.clone(),
            reason,
        };
        match var {
            "AWS_LAMBDA_RUNTIME_API" if value.parse::<http::Uri>().is_err() => {
                return Err(invalid("expected host:port"));
            }
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" if value.parse::<i32>().is_err() => {
                return Err(invalid("expected a whole number of MB"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Keeps the handler manifest the generated code embeds (`MANIFEST`, framed by
/// `chalice_codegen::manifest`) in the final binary: an opaque use of its bytes, which neither the
/// optimiser, LTO, `strip` nor the linker's `--gc-sections` may drop. The deployer reads it there.
pub fn keep_manifest(manifest: &'static [u8]) {
    std::hint::black_box(manifest);
}

/// The error the generated dispatch returns for a name it has no arm for.
pub fn unknown_handler(name: &str, known: &'static [&'static str]) -> Error {
    match select_handler(Some(name), known) {
        Err(e) => Box::new(e),
        // Reached only if the generated match and HANDLERS disagree.
        Ok(found) => format!("handler `{found}` is declared but has no dispatch arm").into(),
    }
}

/// Sends the handler's logs to stdout (CloudWatch), honouring `AWS_LAMBDA_LOG_LEVEL`,
/// `AWS_LAMBDA_LOG_FORMAT=JSON` and `RUST_LOG` ([`crate::logs`]). Does nothing if a subscriber is
/// already set.
pub fn init_tracing() {
    crate::logs::init();
}

/// A failed invocation as Lambda reports it: `errorType` [`HANDLER_ERROR_TYPE`] when the handler
/// returned `Err` (`errorMessage` the error and its causes joined by `: `), [`EVENT_ERROR_TYPE`] when
/// the event does not deserialise into the handler's event type (`errorMessage` says where and why).
/// Its `Debug` (which lambda_runtime logs) is that message.
pub struct HandlerFailure {
    error_type: &'static str,
    message: String,
}

/// The `errorType` of an invocation whose handler returned `Err`.
pub const HANDLER_ERROR_TYPE: &str = "HandlerError";

/// The `errorType` of an invocation whose event is JSON but not of the handler's event type (the
/// handler is not called). Stable: alarms and destinations may match on it.
pub const EVENT_ERROR_TYPE: &str = "EventError";

impl HandlerFailure {
    /// The `errorType` Lambda reports for it.
    pub fn error_type(&self) -> &'static str {
        self.error_type
    }

    /// The `errorMessage` Lambda reports for it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// An event that does not deserialise into `E` (the short name of `E` is in the message).
    pub fn malformed_event<E>(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let type_name = std::any::type_name::<E>();
        let short = type_name.rsplit("::").next().unwrap_or(type_name);
        let path = error.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        HandlerFailure {
            error_type: EVENT_ERROR_TYPE,
            message: format!(
                "the event cannot be deserialized into `{short}`{at}: {}",
                error.into_inner()
            ),
        }
    }
}

impl From<Error> for HandlerFailure {
    fn from(error: Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        HandlerFailure {
            error_type: HANDLER_ERROR_TYPE,
            message,
        }
    }
}

impl std::fmt::Debug for HandlerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<HandlerFailure> for lambda_runtime::Diagnostic {
    fn from(failure: HandlerFailure) -> Self {
        lambda_runtime::Diagnostic {
            error_type: failure.error_type.to_owned(),
            error_message: failure.message,
        }
    }
}

/// Handler results go out as JSON (`()` is `null`).
#[derive(Serialize)]
#[serde(transparent)]
struct Response<R>(R);

/// Serves `f` as the handler named `handler` until the Runtime API goes away.
///
/// Events that do not deserialise into `E` ([`EVENT_ERROR_TYPE`]), handler errors
/// ([`HANDLER_ERROR_TYPE`]) and panics are reported as that invocation's error; the loop goes on
/// with the next one.
///
/// The event is read as JSON first and then as `E` here, not by lambda_runtime, so a malformed
/// event gets a stable `errorType` (lambda_runtime would report the Rust type name of its own
/// private error). A body that is not JSON at all is still lambda_runtime's to report; Lambda's
/// Invoke refuses such payloads, so only a local Runtime API can send one.
pub async fn serve<E, R, F, Fut>(handler: &'static str, f: F) -> Result<(), Error>
where
    E: DeserializeOwned,
    R: Serialize,
    F: Fn(E, Context) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    let service = lambda_runtime::service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (payload, lambda) = event.into_parts();
        let call = serde_path_to_error::deserialize::<_, E>(payload)
            .map(|event| f(event, Context::new(handler, lambda)))
            .map_err(HandlerFailure::malformed_event::<E>);
        async move {
            match call {
                Ok(fut) => fut.await.map(Response).map_err(HandlerFailure::from),
                Err(failure) => Err(failure),
            }
        }
    });
    lambda_runtime::run(service).await
}

/// The bootstrap's `main`: checks the environment, starts a single-threaded runtime and runs
/// `serve` for the selected handler. Exits non-zero, before contacting the Runtime API, when
/// `_HANDLER` names no known handler or the Lambda environment is incomplete.
pub fn run<F, Fut>(known: &'static [&'static str], serve: F) -> ExitCode
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let handler = match handler_from_env(known)
        .and_then(|h| check_lambda_env(|v| std::env::var(v).ok()).map(|()| h))
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("bootstrap: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bootstrap: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::debug!(handler, "serving");
    match runtime.block_on(serve(handler)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(handler, error = %e, "the Runtime API loop stopped");
            eprintln!("bootstrap: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KNOWN: &[&str] = &["every_hour", "on_order", "on_upload"];

    #[test]
    fn selects_a_known_handler() {
        assert_eq!(select_handler(Some("on_order"), KNOWN), Ok("on_order"));
    }

    #[test]
    fn missing_handler_lists_the_known_ones() {
        for requested in [None, Some("")] {
            let err = select_handler(requested, KNOWN).unwrap_err();
            assert_eq!(
                err.to_string(),
                "_HANDLER is not set: set the function's Handler to one of: every_hour, on_order, on_upload"
            );
        }
    }

    #[test]
    fn unknown_handler_suggests_and_lists() {
        let err = select_handler(Some("on_ordr"), KNOWN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown handler `on_ordr` in _HANDLER (did you mean `on_order`?); this bootstrap serves: every_hour, on_order, on_upload"
        );
        let err = select_handler(Some("zzz"), KNOWN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown handler `zzz` in _HANDLER; this bootstrap serves: every_hour, on_order, on_upload"
        );
        assert!(
            unknown_handler("zzz", KNOWN)
                .to_string()
                .starts_with("unknown handler `zzz`")
        );
    }

    #[test]
    fn handler_failures_carry_their_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot parse order")]
        struct Outer(#[source] std::num::ParseIntError);
        let cause = "x".parse::<u32>().unwrap_err();
        let failure = HandlerFailure::from(Error::from(Outer(cause)));
        assert_eq!(
            format!("{failure:?}"),
            "cannot parse order: invalid digit found in string"
        );
        let diagnostic = lambda_runtime::Diagnostic::from(failure);
        assert_eq!(diagnostic.error_type, "HandlerError");
        assert_eq!(
            diagnostic.error_message,
            "cannot parse order: invalid digit found in string"
        );
        let plain = HandlerFailure::from(Error::from("unexpected key"));
        assert_eq!(
            lambda_runtime::Diagnostic::from(plain).error_message,
            "unexpected key"
        );
    }

    #[test]
    fn a_malformed_event_has_a_stable_error_type() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Order {
            id: String,
        }
        let value = serde_json::json!({ "id": 42 });
        let error = serde_path_to_error::deserialize::<_, Order>(value).unwrap_err();
        let diagnostic =
            lambda_runtime::Diagnostic::from(HandlerFailure::malformed_event::<Order>(error));
        assert_eq!(diagnostic.error_type, "EventError");
        assert_eq!(diagnostic.error_type, EVENT_ERROR_TYPE);
        assert_eq!(
            diagnostic.error_message,
            "the event cannot be deserialized into `Order` at `id`: invalid type: integer `42`, expected a string"
        );
        let error =
            serde_path_to_error::deserialize::<_, Order>(serde_json::json!("text")).unwrap_err();
        let failure = HandlerFailure::malformed_event::<Order>(error);
        assert_eq!(failure.error_type(), "EventError");
        assert!(
            failure
                .message()
                .starts_with("the event cannot be deserialized into `Order`: invalid type: string"),
            "{failure:?}"
        );
    }

    #[test]
    fn no_handlers_declared() {
        let err = select_handler(Some("x"), &[]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("(no handlers declared in events.chalice)"),
            "{err}"
        );
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const GOOD: [(&str, &str); 4] = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_FUNCTION_NAME", "orders-dev-on_order"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ];

    #[test]
    fn complete_environment_passes() {
        assert_eq!(check_lambda_env(env(&GOOD)), Ok(()));
    }

    #[test]
    fn each_missing_variable_is_named() {
        for (var, _) in GOOD {
            let partial: Vec<_> = GOOD.iter().filter(|(k, _)| *k != var).copied().collect();
            assert_eq!(
                check_lambda_env(env(&partial)),
                Err(StartupError::MissingEnv(var))
            );
        }
    }

    #[test]
    fn malformed_values_are_rejected() {
        let mut bad = GOOD;
        bad[2].1 = "lots";
        let err = check_lambda_env(env(&bad)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=\"lots\" is not valid: expected a whole number of MB"
        );
        let mut bad = GOOD;
        bad[0].1 = "not a uri";
        assert!(matches!(
            check_lambda_env(env(&bad)),
            Err(StartupError::InvalidEnv {
                var: "AWS_LAMBDA_RUNTIME_API",
                ..
            })
        ));
    }
}
