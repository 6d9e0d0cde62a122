//! A failed AWS call, and the helpers every resource kind uses around its calls: "not found" as
//! `None` on reads and as success on deletes, retries while IAM changes propagate, and which copy a
//! create that may have happened already keeps.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::change::FieldChange;
use crate::aws::causes;

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
    /// Wraps an SDK error: `Code: message` for service errors, the chain of causes for the rest
    /// (never the raw answer the SDK's own rendering carries).
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
            (SdkError::ServiceError(e), None) => {
                format!("the answer could not be read ({})", causes(e.err()))
            }
            _ => causes(&err),
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

/// What a create that may have happened already adopts of the copies of its resource found live
/// (see [`keep_one`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Kept<'a, L> {
    pub keep: &'a L,
    /// Where `keep` differs from what the create wanted (to update).
    pub fields: Vec<FieldChange>,
    /// The other copies (to delete).
    pub duplicates: Vec<&'a L>,
}

/// Which of the copies `found` live a create keeps when its retry found the resource (AWS's 409) or,
/// on moto, made it twice (an attempt whose answer was lost had made it): the one the create's
/// answer named (`answered`), else the first that matches what was wanted (`fields` empty), else the
/// first. The others are duplicates. `None` when nothing was found.
pub fn keep_one<'a, L>(
    found: impl IntoIterator<Item = &'a L>,
    answered: impl Fn(&L) -> bool,
    fields: impl Fn(&L) -> Vec<FieldChange>,
) -> Option<Kept<'a, L>> {
    let mut found: Vec<&L> = found.into_iter().collect();
    let keep = found
        .iter()
        .position(|l| answered(l))
        .or_else(|| found.iter().position(|l| fields(l).is_empty()))
        .or((!found.is_empty()).then_some(0))?;
    let keep = found.remove(keep);
    Some(Kept {
        keep,
        fields: fields(keep),
        duplicates: found,
    })
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

    #[test]
    fn a_create_keeps_the_answered_copy_else_a_matching_one() {
        // (id, value): the wanted value is 1.
        let fields = |l: &(&str, u8)| {
            if l.1 == 1 {
                Vec::new()
            } else {
                vec![FieldChange {
                    field: "v".into(),
                    old: Some(l.1.to_string()),
                    new: Some("1".into()),
                }]
            }
        };
        let found = [("a", 2), ("b", 1), ("c", 1)];
        let kept = keep_one(&found, |l| l.0 == "c", fields).unwrap();
        assert_eq!(kept.keep.0, "c", "the copy the answer named");
        assert!(kept.fields.is_empty());
        assert_eq!(kept.duplicates, [&("a", 2), &("b", 1)]);

        let kept = keep_one(&found, |_| false, fields).unwrap();
        assert_eq!(
            kept.keep.0, "b",
            "no answer (a 409): the first that matches"
        );
        assert_eq!(kept.duplicates.len(), 2);

        let other = [("a", 2), ("b", 3)];
        let kept = keep_one(&other, |_| false, fields).unwrap();
        assert_eq!(kept.keep.0, "a", "none matches: the first, updated");
        assert_eq!(kept.fields[0].old.as_deref(), Some("2"));
        assert_eq!(kept.duplicates, [&("b", 3)]);

        let one = [("a", 1)];
        let kept = keep_one(&one, |l| l.0 == "a", fields).unwrap();
        assert!(
            kept.fields.is_empty() && kept.duplicates.is_empty(),
            "nothing to do"
        );
        assert!(keep_one(&[] as &[(&str, u8)], |_| true, fields).is_none());
    }

    #[test]
    fn sdk_errors_without_a_code_say_their_causes_not_the_raw_answer() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let e = CallError::new(
            "GetFunction",
            "f",
            SdkError::<aws_sdk_lambda::operation::get_function::GetFunctionError, String>::dispatch_failure(
                ConnectorError::io(io.into()),
            ),
        );
        assert_eq!(e.code, None);
        assert_eq!(e.message, "dispatch failure: io error: Connection refused");
        // An answer the SDK could not parse (moto's float timestamps): no raw body in the message.
        let unparsed = aws_sdk_lambda::operation::get_function::GetFunctionError::unhandled(
            std::io::Error::other("invalid number"),
        );
        let e = CallError::new(
            "GetFunction",
            "f",
            SdkError::service_error(unparsed, "RAW ANSWER".to_string()),
        );
        assert_eq!(
            e.to_string(),
            "GetFunction f: the answer could not be read (unhandled error: invalid number)"
        );
    }
}
