//! A function's event invoke configuration: how Lambda retries an asynchronous invocation (schedule,
//! rule, bucket, topic) that fails, how old an event may get, and where the record of one that is given
//! up goes. One per function whose binding sets any of it; removed when the binding no longer does, so
//! no function keeps retrying into a destination the app has forgotten.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::{DestinationConfig, OnFailure};
use chalice_codegen::plan::AwsContext;
use serde::Serialize;

use super::call::{CallError, gone, is_role_propagation, retry_propagation};
use super::change::{Action, Change};
use super::compare::field;
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError, create_or_update};
use crate::aws::Clients;

/// A function's asynchronous invocation settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvokeConfigSpec {
    /// The function's name.
    pub function: String,
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_s: u32,
    /// The on-failure destination's ARN.
    pub on_failure: Option<String>,
}

/// An event invoke configuration.
pub struct InvokeConfig;

impl Resource for InvokeConfig {
    type Spec = InvokeConfigSpec;
    /// By function name (`None`: the function has none).
    type Store = BTreeMap<String, Option<InvokeConfigSpec>>;
    const KIND: ResourceKind = ResourceKind::LambdaEventInvokeConfig;
    /// The function must exist, and its role must allow sending to the destination (AWS checks).
    const AFTER: &'static [(ResourceKind, Scope)] = &[
        (ResourceKind::IamRole, Scope::SameFunction),
        (ResourceKind::LambdaFunction, Scope::SameFunction),
    ];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::InvokeConfig {
            function: spec.function.clone(),
        }
    }

    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for c in &r.plan.invoke_configs {
            let Some(function) = r.function_name(&c.function) else {
                continue;
            };
            let on_failure = c.on_failure.as_ref().map(|d| d.arn.resolve(r.ctx));
            if let Some(arn) = &on_failure {
                r.lookups
                    .destination_problem(arn, &c.function, &mut r.problems);
            }
            out.push((
                c.id.clone(),
                InvokeConfigSpec {
                    function,
                    maximum_retry_attempts: c.maximum_retry_attempts,
                    maximum_event_age_s: c.maximum_event_age_s,
                    on_failure,
                },
            ));
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        match identity {
            Identity::InvokeConfig { function } => Some(function.clone()),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::InvokeConfig { function } = identity else {
            return None;
        };
        live.get(function).map(Option::is_some)
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let found = live.get(&spec.function).map(Option::as_ref);
        create_or_update(id, Self::identity(spec), found, |l| {
            let mut out = Vec::new();
            field(
                &mut out,
                "maximum_retry_attempts",
                Some(spec.maximum_retry_attempts),
                Some(l.maximum_retry_attempts),
            );
            field(
                &mut out,
                "maximum_event_age_s",
                Some(spec.maximum_event_age_s),
                Some(l.maximum_event_age_s),
            );
            field(
                &mut out,
                "on_failure",
                spec.on_failure.as_ref(),
                l.on_failure.as_ref(),
            );
            out
        })
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::InvokeConfig { function } = identity else {
            return None;
        };
        live.get(function)?.as_ref()?;
        Some(Record::default())
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::InvokeConfig { function } = &change.identity else {
            return Err(StepError::Internal(format!(
                "{} is not an event invoke configuration",
                change.id
            )));
        };
        if let Action::Delete { .. } = change.action {
            let note = if step.deleted_functions.contains(function) {
                Some("removed with its function".to_string())
            } else {
                delete_config(c, function).await?;
                None
            };
            step.records.forget(&change.identity)?;
            return Ok(note);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        put_config(c, spec).await?;
        // moto keeps the first configuration a function was given and adds later puts behind it
        // (AWS replaces it): when the read-back still shows the old one, it is deleted and put again.
        // Only updates pay the read; on AWS it always matches.
        if matches!(change.action, Action::Update { .. })
            && read_config(c, function).await?.as_ref() != Some(spec)
        {
            delete_config(c, function).await?;
            put_config(c, spec).await?;
        }
        step.records
            .record(&change.id, &change.identity, Record::default())?;
        Ok(None)
    }
}

const NOT_FOUND: &str = "ResourceNotFoundException";

/// The function's configuration; `None` when it has none (or the function does not exist).
pub async fn read_config(
    c: &Clients,
    function: &str,
) -> Result<Option<InvokeConfigSpec>, CallError> {
    match c
        .lambda
        .get_function_event_invoke_config()
        .function_name(function)
        .send()
        .await
    {
        Ok(out) => Ok(Some(InvokeConfigSpec {
            function: function.to_string(),
            // Lambda reports what was set; unset means its defaults.
            maximum_retry_attempts: out
                .maximum_retry_attempts()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(chalice_codegen::plan::DEFAULT_ASYNC_RETRY_ATTEMPTS),
            maximum_event_age_s: out
                .maximum_event_age_in_seconds()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(chalice_codegen::plan::DEFAULT_ASYNC_EVENT_AGE_S),
            on_failure: out
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|o| o.destination())
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        })),
        Err(e) => {
            let e = CallError::new("GetFunctionEventInvokeConfig", function, e);
            if e.has_code(NOT_FOUND) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// Writes the whole configuration (a put replaces every setting, so no field is left from before).
async fn put_config(c: &Clients, spec: &InvokeConfigSpec) -> Result<(), CallError> {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    // AWS checks the role may send to the destination: a fresh grant may not have propagated yet.
    retry_propagation(
        || async {
            c.lambda
                .put_function_event_invoke_config()
                .function_name(&spec.function)
                .maximum_retry_attempts(int(spec.maximum_retry_attempts))
                .maximum_event_age_in_seconds(int(spec.maximum_event_age_s))
                .set_destination_config(spec.on_failure.as_ref().map(|arn| {
                    DestinationConfig::builder()
                        .on_failure(OnFailure::builder().destination(arn).build())
                        .build()
                }))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::new("PutFunctionEventInvokeConfig", &spec.function, e))
        },
        is_role_propagation,
    )
    .await
}

/// Deletes the configuration (Lambda's defaults apply again); gone already is fine.
async fn delete_config(c: &Clients, function: &str) -> Result<(), CallError> {
    gone(
        c.lambda
            .delete_function_event_invoke_config()
            .function_name(function)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::new("DeleteFunctionEventInvokeConfig", function, e)),
        &[NOT_FOUND],
    )
}
