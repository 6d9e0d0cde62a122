//! A failed AWS call, and the helpers every resource kind uses around its calls: "not found" as
//! `None` on reads and as success on deletes, and retries while IAM changes propagate.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} {target}: {message}")]
pub struct CallError {
    /// e.g. `CreateFunction`
    pub operation: &'static str,
    /// What it was called on (a name or ARN).
    pub target: String,
    /// AWS's error code, when the service answered with one.
    pub code: Option<String>,
    pub message: String,
}

impl CallError {
    /// Wraps an SDK error: `Code: message` for service errors, the full context for the rest.
    pub fn new<E, R>(operation: &'static str, target: &str, err: SdkError<E, R>) -> CallError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        let code = crate::aws::error_code(&err).map(str::to_string);
        let message = match (&err, &code) {
            (SdkError::ServiceError(_), Some(code)) => match err.message() {
                Some(m) if !m.is_empty() => format!("{code}: {m}"),
                _ => code.clone(),
            },
            _ => DisplayErrorContext(&err).to_string(),
        };
        CallError {
            operation,
            target: target.to_string(),
            code,
            message,
        }
    }

    /// An error that is not the SDK's (a malformed answer, a failed precondition).
    pub fn other(operation: &'static str, target: &str, message: impl Into<String>) -> CallError {
        CallError {
            operation,
            target: target.to_string(),
            code: None,
            message: message.into(),
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Maps "not found" (as told by `is_missing`) to `Ok(None)`.
pub fn found<T>(
    result: Result<T, CallError>,
    is_missing: impl Fn(&CallError) -> bool,
) -> Result<Option<T>, CallError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ignores "not found" on a delete: what is gone is what we wanted.
pub fn gone(result: Result<(), CallError>, codes: &[&str]) -> Result<(), CallError> {
    match result {
        Err(e) if codes.iter().any(|c| e.has_code(c)) => Ok(()),
        other => other,
    }
}

/// How long to keep retrying a call AWS refuses while a just-made IAM role or policy propagates.
pub const PROPAGATION_WAIT: Duration = Duration::from_secs(40);

/// Retries `call` while `retryable` says the error is IAM propagation delay, with backoff from 1 s.
///
/// AWS answers `InvalidParameterValueException` ("The role defined for the function cannot be assumed by
/// Lambda", "The provided execution role does not have permissions to call ReceiveMessage on SQS") for
/// several seconds after a role or its policy changes; moto never does (no propagation delay there).
pub async fn retry_propagation<T, F, Fut>(
    mut call: F,
    retryable: impl Fn(&CallError) -> bool,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        match call().await {
            Err(e) if retryable(&e) && start.elapsed() + delay < PROPAGATION_WAIT => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

/// Whether a Lambda error is IAM propagation delay (see [`retry_propagation`]).
pub fn is_role_propagation(e: &CallError) -> bool {
    e.has_code("InvalidParameterValueException") && {
        let m = e.message.to_ascii_lowercase();
        m.contains("cannot be assumed") || m.contains("execution role does not have permissions")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: Option<&str>, message: &str) -> CallError {
        CallError {
            operation: "CreateFunction",
            target: "f".into(),
            code: code.map(str::to_string),
            message: message.into(),
        }
    }

    #[test]
    fn propagation_errors_are_recognised() {
        assert!(is_role_propagation(&err(
            Some("InvalidParameterValueException"),
            "InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda."
        )));
        assert!(!is_role_propagation(&err(
            Some("InvalidParameterValueException"),
            "Unzipped size must be smaller than 262144000 bytes"
        )));
        assert!(!is_role_propagation(&err(None, "role cannot be assumed")));
    }

    #[test]
    fn gone_and_found_map_missing_to_success() {
        let missing = err(Some("ResourceNotFoundException"), "gone");
        assert!(gone(Err(missing.clone()), &["ResourceNotFoundException"]).is_ok());
        assert!(gone(Err(missing.clone()), &["NoSuchEntity"]).is_err());
        let r: Result<Option<u8>, _> =
            found(Err(missing), |e| e.has_code("ResourceNotFoundException"));
        assert_eq!(r.unwrap(), None);
        assert_eq!(found(Ok(3), |_| true).unwrap(), Some(3));
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let mut calls = 0;
        let r: Result<(), CallError> = retry_propagation(
            || {
                calls += 1;
                async { Err(err(Some("ResourceConflictException"), "exists")) }
            },
            is_role_propagation,
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }
}
