//! Lambda functions: read (GetFunction gives configuration, tags and concurrency in one call), create
//! from the artifacts bucket, update only what differs, delete.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State,
};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::iam::tag_changes;
use super::{CallError, found, gone, is_role_propagation, retry_propagation};
use crate::aws::Clients;
use crate::engine::spec::{CodeRef, FunctionSpec, LiveFunction};

const NOT_FOUND: &str = "ResourceNotFoundException";
const CONFLICT: &str = "ResourceConflictException";
/// How long to wait for a function to leave `Pending` / `InProgress` (AWS: seconds, rarely minutes).
const SETTLE_WAIT: Duration = Duration::from_secs(300);

/// The function named `name`, or `None` when it does not exist.
pub async fn read_function(c: &Clients, name: &str) -> Result<Option<LiveFunction>, CallError> {
    let out = c.lambda.get_function().function_name(name).send().await;
    let Some(out) = found(
        out.map_err(|e| CallError::new("GetFunction", name, e)),
        |e| e.has_code(NOT_FOUND),
    )?
    else {
        return Ok(None);
    };
    let conf = out
        .configuration()
        .ok_or_else(|| CallError::other("GetFunction", name, "the answer has no configuration"))?;
    let env: BTreeMap<String, String> = conf
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let tags: BTreeMap<String, String> = out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let spec = FunctionSpec {
        name: name.to_string(),
        role_arn: conf.role().unwrap_or_default().to_string(),
        handler: conf.handler().unwrap_or_default().to_string(),
        runtime: conf
            .runtime()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        architecture: conf
            .architectures()
            .first()
            .map_or("x86_64", |a| a.as_str())
            .to_string(),
        memory_mb: non_negative(conf.memory_size()),
        timeout_s: non_negative(conf.timeout()),
        env,
        tags,
        reserved_concurrency: out
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions())
            .map(|n| non_negative(Some(n))),
        code: conf.code_sha256().map(|sha| CodeRef {
            sha256: sha.to_string(),
            s3: None,
        }),
    };
    Ok(Some(LiveFunction {
        arn: conf.function_arn().unwrap_or_default().to_string(),
        spec,
        state: conf.state().map(|s| s.as_str().to_string()),
        last_update_status: conf.last_update_status().map(|s| s.as_str().to_string()),
    }))
}

fn non_negative(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn environment(spec: &FunctionSpec) -> Environment {
    let vars: HashMap<String, String> = spec
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Environment::builder().set_variables(Some(vars)).build()
}

fn code_location<'a>(
    spec: &'a FunctionSpec,
    op: &'static str,
) -> Result<(&'a str, &'a str), CallError> {
    spec.code
        .as_ref()
        .and_then(|c| c.s3.as_ref())
        .map(|(b, k)| (b.as_str(), k.as_str()))
        .ok_or_else(|| CallError::other(op, &spec.name, "no code package to deploy"))
}

/// Creates the function from the artifacts bucket; returns its ARN. One that already exists (a retried
/// create whose first answer was lost) is adopted and updated.
pub async fn create_function(c: &Clients, spec: &FunctionSpec) -> Result<String, CallError> {
    let (bucket, key) = code_location(spec, "CreateFunction")?;
    let created = retry_propagation(
        || async {
            c.lambda
                .create_function()
                .function_name(&spec.name)
                .runtime(Runtime::from(spec.runtime.as_str()))
                .role(&spec.role_arn)
                .handler(&spec.handler)
                .architectures(Architecture::from(spec.architecture.as_str()))
                .memory_size(int(spec.memory_mb))
                .timeout(int(spec.timeout_s))
                .environment(environment(spec))
                .set_tags(Some(
                    spec.tags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ))
                .code(
                    FunctionCode::builder()
                        .s3_bucket(bucket)
                        .s3_key(key)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| CallError::new("CreateFunction", &spec.name, e))
        },
        is_role_propagation,
    )
    .await;
    let arn = match created {
        Ok(out) => {
            // AWS: `Pending` for a few seconds after create; moto: `Active` at once.
            if out.state() == Some(&State::Pending) {
                wait_active(c, &spec.name).await?;
            }
            out.function_arn().unwrap_or_default().to_string()
        }
        Err(e) if e.has_code(CONFLICT) => {
            let live = read_function(c, &spec.name).await?.ok_or(e)?;
            update_function(c, spec, &live).await?;
            return Ok(live.arn);
        }
        Err(e) => return Err(e),
    };
    if let Some(n) = spec.reserved_concurrency {
        put_concurrency(c, &spec.name, n).await?;
    }
    Ok(arn)
}

async fn wait_active(c: &Clients, name: &str) -> Result<(), CallError> {
    c.lambda
        .wait_until_function_active_v2()
        .function_name(name)
        .wait(SETTLE_WAIT)
        .await
        .map(|_| ())
        .map_err(|e| {
            CallError::other(
                "GetFunction",
                name,
                format!("waiting for Active: {}", DisplayErrorContext(e)),
            )
        })
}

async fn wait_updated(c: &Clients, name: &str) -> Result<(), CallError> {
    c.lambda
        .wait_until_function_updated_v2()
        .function_name(name)
        .wait(SETTLE_WAIT)
        .await
        .map(|_| ())
        .map_err(|e| {
            CallError::other(
                "GetFunction",
                name,
                format!("waiting for the last update: {}", DisplayErrorContext(e)),
            )
        })
}

/// Whether the configuration (what UpdateFunctionConfiguration sets) differs.
fn config_differs(d: &FunctionSpec, l: &FunctionSpec) -> bool {
    d.role_arn != l.role_arn
        || d.handler != l.handler
        || d.runtime != l.runtime
        || d.memory_mb != l.memory_mb
        || d.timeout_s != l.timeout_s
        || d.env != l.env
}

/// Whether the code or architecture (what UpdateFunctionCode sets) differs.
fn code_differs(d: &FunctionSpec, l: &FunctionSpec) -> bool {
    let code = match (&d.code, &l.code) {
        (Some(d), Some(l)) => d.sha256 != l.sha256,
        (Some(_), None) => true,
        (None, _) => false,
    };
    code || d.architecture != l.architecture
}

/// Brings the function to `spec`, calling only what differs. Waits out `Pending`/`InProgress` first (an
/// update meanwhile answers 409 on AWS).
pub async fn update_function(
    c: &Clients,
    spec: &FunctionSpec,
    live: &LiveFunction,
) -> Result<(), CallError> {
    if live.state.as_deref() == Some(State::Pending.as_str()) {
        wait_active(c, &spec.name).await?;
    } else if live.last_update_status.as_deref() == Some(LastUpdateStatus::InProgress.as_str()) {
        wait_updated(c, &spec.name).await?;
    }
    let l = &live.spec;
    if config_differs(spec, l) {
        let out = retry_conflict(c, &spec.name, || async {
            c.lambda
                .update_function_configuration()
                .function_name(&spec.name)
                .role(&spec.role_arn)
                .handler(&spec.handler)
                .runtime(Runtime::from(spec.runtime.as_str()))
                .memory_size(int(spec.memory_mb))
                .timeout(int(spec.timeout_s))
                .environment(environment(spec))
                .send()
                .await
                .map_err(|e| CallError::new("UpdateFunctionConfiguration", &spec.name, e))
        })
        .await?;
        if out.last_update_status() == Some(&LastUpdateStatus::InProgress) {
            wait_updated(c, &spec.name).await?;
        }
    }
    if code_differs(spec, l) {
        let (bucket, key) = code_location(spec, "UpdateFunctionCode")?;
        let out = retry_conflict(c, &spec.name, || async {
            c.lambda
                .update_function_code()
                .function_name(&spec.name)
                .s3_bucket(bucket)
                .s3_key(key)
                .architectures(Architecture::from(spec.architecture.as_str()))
                .send()
                .await
                .map_err(|e| CallError::new("UpdateFunctionCode", &spec.name, e))
        })
        .await?;
        if out.last_update_status() == Some(&LastUpdateStatus::InProgress) {
            wait_updated(c, &spec.name).await?;
        }
    }
    let (add, remove) = tag_changes(&spec.tags, &l.tags);
    if !add.is_empty() {
        c.lambda
            .tag_resource()
            .resource(&live.arn)
            .set_tags(Some(add.into_iter().collect()))
            .send()
            .await
            .map_err(|e| CallError::new("TagResource", &spec.name, e))?;
    }
    if !remove.is_empty() {
        c.lambda
            .untag_resource()
            .resource(&live.arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| CallError::new("UntagResource", &spec.name, e))?;
    }
    if spec.reserved_concurrency != l.reserved_concurrency {
        match spec.reserved_concurrency {
            Some(n) => put_concurrency(c, &spec.name, n).await?,
            None => {
                c.lambda
                    .delete_function_concurrency()
                    .function_name(&spec.name)
                    .send()
                    .await
                    .map_err(|e| CallError::new("DeleteFunctionConcurrency", &spec.name, e))?;
            }
        }
    }
    Ok(())
}

/// Runs an update; on 409 (an update still in progress, AWS only) waits for it and tries once more.
async fn retry_conflict<T, F, Fut>(c: &Clients, name: &str, mut call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CallError>>,
{
    match call().await {
        Err(e) if e.has_code(CONFLICT) => {
            wait_updated(c, name).await?;
            call().await
        }
        other => other,
    }
}

async fn put_concurrency(c: &Clients, name: &str, n: u32) -> Result<(), CallError> {
    c.lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(int(n))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::new("PutFunctionConcurrency", name, e))
}

/// Deletes the function (its resource policy goes with it; mappings, subscriptions, bucket entries and
/// rule targets do not: delete those first). Gone already is fine.
pub async fn delete_function(c: &Clients, name: &str) -> Result<(), CallError> {
    gone(
        c.lambda
            .delete_function()
            .function_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteFunction", name, e)),
        &[NOT_FOUND],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FunctionSpec {
        FunctionSpec {
            name: "f".into(),
            role_arn: "r".into(),
            handler: "h".into(),
            runtime: "provided.al2023".into(),
            architecture: "x86_64".into(),
            memory_mb: 128,
            timeout_s: 3,
            env: BTreeMap::new(),
            tags: BTreeMap::new(),
            reserved_concurrency: None,
            code: Some(CodeRef {
                sha256: "a".into(),
                s3: Some(("b".into(), "k".into())),
            }),
        }
    }

    #[test]
    fn only_what_differs_is_updated() {
        let d = spec();
        let mut l = spec();
        l.code.as_mut().unwrap().s3 = None;
        assert!(!config_differs(&d, &l) && !code_differs(&d, &l));
        l.memory_mb = 256;
        assert!(config_differs(&d, &l) && !code_differs(&d, &l));
        let mut l = spec();
        l.architecture = "arm64".into();
        assert!(!config_differs(&d, &l) && code_differs(&d, &l));
        // Unknown desired code is never an update.
        let mut d = spec();
        d.code = None;
        assert!(!code_differs(&d, &spec()));
    }
}
