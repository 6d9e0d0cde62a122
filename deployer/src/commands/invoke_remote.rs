//! `deployer invoke --remote`: invoke the deployed function with Lambda's `Invoke` and report the
//! result as the local path does.
//!
//! The response payload goes to stdout (pretty JSON when it is JSON), the log tail Lambda returns
//! (`LogType=Tail`: the last 4 KB, START/END/REPORT lines included) to stderr. A `FunctionError`
//! prints Lambda's error object on stdout and fails the command (exit status 1).

use std::io::Write;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine as _;
use chalice_codegen::model::DEFAULT_STAGE;
use chalice_codegen::plan::{Function, Plan};

use super::CommandError;
use super::invocation::InvokeFailure;
use crate::aws::{AwsError, ClientOptions, Clients, error_code};
use crate::resources::CallError;
use chalice_lambda::runtime_api::FunctionError;

/// What Lambda's `Invoke` returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub payload: Vec<u8>,
    /// `Handled` / `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// The base64 log tail (`LogResult`).
    pub log_result: Option<String>,
}

/// AWS clients from the standard chain (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS`).
pub async fn connect() -> Result<Clients, CommandError> {
    let clients = Clients::load(&ClientOptions::default()).await;
    if clients.region().is_none() {
        return Err(AwsError::NoRegion.into());
    }
    Ok(clients)
}

/// Invokes `function` as deployed in `plan`'s stage and reports the result (see the module doc).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
    function: &Function,
    payload: Vec<u8>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let response = runtime.block_on(async {
        let clients = connect().await?;
        invoke(&clients, plan, function, payload).await
    })?;
    report(
        &function.handler,
        &response,
        out,
        &mut std::io::stderr().lock(),
    )
}

/// One synchronous `Invoke` (RequestResponse, LogType=Tail) of the deployed function.
pub async fn invoke(
    clients: &Clients,
    plan: &Plan,
    function: &Function,
    payload: Vec<u8>,
) -> Result<Response, CommandError> {
    let result = clients
        .lambda
        .invoke()
        .function_name(&function.name)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await;
    match result {
        Ok(output) => {
            let response = Response {
                payload: output
                    .payload()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default(),
                function_error: output.function_error().map(str::to_owned),
                log_result: output.log_result().map(str::to_owned),
            };
            match clients.endpoint() {
                Some(endpoint) if is_docker_failure(&response) => {
                    Err(InvokeFailure::EmulatorWithoutDocker {
                        endpoint: endpoint.trim_end_matches('/').to_owned(),
                        function: function.name.clone(),
                        handler: function.handler.clone(),
                        deploy: deploy_command(plan),
                        answer: String::from_utf8_lossy(&response.payload).trim().to_owned(),
                    }
                    .into())
                }
                _ => Ok(response),
            }
        }
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
            Err(CommandError::Usage(not_deployed(plan, function)))
        }
        Err(e) => Err(InvokeFailure::Call(CallError::new("Invoke", &function.name, e)).into()),
    }
}

/// Whether the answer is moto's when it cannot reach Docker to run a function (a `Handled` error
/// whose payload is `error running docker: ...`).
fn is_docker_failure(response: &Response) -> bool {
    response.function_error.is_some() && response.payload.starts_with(b"error running docker")
}

/// `deployer deploy`, with `--stage` unless it is the default.
fn deploy_command(plan: &Plan) -> String {
    if plan.stage == DEFAULT_STAGE {
        "deployer deploy".to_owned()
    } else {
        format!("deployer deploy --stage {}", plan.stage)
    }
}

/// Says which function is missing from which stage, and how to deploy it.
pub fn not_deployed(plan: &Plan, function: &Function) -> String {
    let deploy = deploy_command(plan);
    format!(
        "function `{}` (handler `{}`) is not deployed in stage `{}`: run `{deploy}` first, or invoke it locally without --remote",
        function.name, function.handler, plan.stage
    )
}

/// Writes the log tail to `err` and the payload (or Lambda's error object) to `out`; a function
/// error becomes [`InvokeFailure::Handler`].
pub fn report(
    handler: &str,
    response: &Response,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CommandError> {
    if let Some(tail) = &response.log_result {
        match base64::engine::general_purpose::STANDARD.decode(tail.trim()) {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => {
                err.write_all(&bytes)?;
                if !bytes.ends_with(b"\n") {
                    writeln!(err)?;
                }
            }
            Err(e) => writeln!(
                err,
                "warning: the log tail Lambda returned is not base64: {e}"
            )?,
        }
    }
    let json = serde_json::from_slice::<serde_json::Value>(&response.payload).ok();
    match &json {
        Some(value) => {
            serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        None if response.payload.is_empty() => {}
        None => {
            out.write_all(&response.payload)?;
            if !response.payload.ends_with(b"\n") {
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    let Some(kind) = &response.function_error else {
        return Ok(());
    };
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let error = FunctionError {
        error_type: field("errorType").unwrap_or_else(|| kind.clone()),
        error_message: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(&response.payload).trim().to_owned()),
    };
    Err(InvokeFailure::Handler {
        handler: handler.to_owned(),
        error,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn reported(response: &Response) -> (Result<(), CommandError>, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let result = report("on_order", response, &mut out, &mut err);
        (
            result,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn a_response_is_pretty_json_and_the_tail_goes_to_stderr() {
        let (result, out, err) = reported(&Response {
            payload: br#"{"batchItemFailures":[]}"#.to_vec(),
            function_error: None,
            log_result: Some(encode("START RequestId: 1\nhello\nEND RequestId: 1")),
        });
        assert!(result.is_ok());
        assert_eq!(out, "{\n  \"batchItemFailures\": []\n}\n");
        assert_eq!(err, "START RequestId: 1\nhello\nEND RequestId: 1\n");
    }

    #[test]
    fn a_function_error_prints_the_error_object_and_fails() {
        let (result, out, err) = reported(&Response {
            payload: br#"{"errorType":"Runtime.ExitError","errorMessage":"exited"}"#.to_vec(),
            function_error: Some("Unhandled".into()),
            log_result: Some(encode("")),
        });
        let e = result.unwrap_err();
        assert_eq!(e.exit_code(), crate::cli::EXIT_FAILURE);
        assert_eq!(
            e.to_string(),
            "handler `on_order` failed: Runtime.ExitError: exited"
        );
        let object: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(object["errorType"], "Runtime.ExitError");
        assert_eq!(err, "");
    }

    #[test]
    fn only_motos_docker_failure_is_taken_for_one() {
        let docker = Response {
            payload: b"error running docker: Error while fetching server API version".to_vec(),
            function_error: Some("Handled".into()),
            log_result: None,
        };
        assert!(is_docker_failure(&docker));
        let echoed = Response {
            function_error: None,
            ..docker.clone()
        };
        assert!(!is_docker_failure(&echoed), "a payload, not a failure");
        let handler_error = Response {
            payload: br#"{"errorMessage":"error running docker"}"#.to_vec(),
            ..docker
        };
        assert!(
            !is_docker_failure(&handler_error),
            "the handler's own error"
        );
    }

    #[test]
    fn a_text_error_payload_is_printed_as_is() {
        let (result, out, err) = reported(&Response {
            payload: b"error running docker".to_vec(),
            function_error: Some("Handled".into()),
            log_result: Some("not base64!".into()),
        });
        assert_eq!(out, "error running docker\n");
        assert!(err.starts_with("warning: the log tail"), "{err}");
        assert_eq!(
            result.unwrap_err().to_string(),
            "handler `on_order` failed: Handled: error running docker"
        );
    }

    #[test]
    fn remote_makes_the_event_optional_and_excludes_local_builds() {
        let cli = Cli::try_parse_from(["deployer", "invoke", "on_order", "--remote"]).unwrap();
        let Command::Invoke(args) = cli.command else {
            panic!("not invoke: {cli:?}");
        };
        assert!(args.remote && args.event.is_none() && !args.sample);
        for extra in [
            &["--sample"][..],
            &["--event", "e.json"],
            &["--stage", "prod", "--sample"],
        ] {
            let mut argv = vec!["deployer", "invoke", "on_order", "--remote"];
            argv.extend_from_slice(extra);
            assert!(Cli::try_parse_from(&argv).is_ok(), "{argv:?}");
        }
        for wrong in [
            &["invoke", "on_order"][..],
            &["invoke", "on_order", "--sample", "--event", "e.json"],
            &[
                "invoke", "on_order", "--remote", "--sample", "--event", "e.json",
            ],
            &["invoke", "on_order", "--remote", "--bootstrap", "b"],
            &["invoke", "on_order", "--remote", "--release"],
        ] {
            let argv = std::iter::once("deployer").chain(wrong.iter().copied());
            assert!(Cli::try_parse_from(argv).is_err(), "{wrong:?}");
        }
    }
}
