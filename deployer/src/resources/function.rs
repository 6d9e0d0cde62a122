//! Lambda functions, one per handler: read (GetFunction gives configuration, tags and concurrency in
//! one call), created from the artifacts bucket, updated only where they differ, deleted.

use std::collections::{BTreeMap, HashMap};

use chalice_codegen::model::Vpc;
use chalice_codegen::plan::AwsContext;
use serde::Serialize;
use std::time::Duration;

use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::types::{
    ApplicationLogLevel, Architecture, Environment, EphemeralStorage, FunctionCode,
    LastUpdateStatus, LogFormat, LoggingConfig, Runtime, State, TracingConfig, TracingMode,
    VpcConfig,
};

use super::artifacts::{bucket_name, code_key};
use super::call::{CallError, found, gone, is_role_propagation, retry_propagation};
use super::change::{Action, Change, FieldChange};
use super::compare::{field, map_fields, own_tags, tag_changes};
use super::identity::{Identity, ResourceKind};
use super::kind::{Facts, Record, Resolver, Resource, Scope, Step, StepError, create_or_update};
use crate::aws::Clients;

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeRef {
    /// base64 sha256 of the zip, as Lambda reports `CodeSha256`.
    pub sha256: String,
    /// The artifacts bucket and key holding it (desired only).
    pub s3: Option<(String, String)>,
}

/// A Lambda function's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionSpec {
    pub name: String,
    pub role_arn: String,
    pub handler: String,
    pub runtime: String,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
    /// `None` when not known (desired: no code given to `plan`).
    pub code: Option<CodeRef>,
    /// `None` when the endpoint does not report it (AWS always does).
    pub logging: Option<Logging>,
    /// `Active` or `PassThrough`.
    pub tracing: String,
    /// Layer version ARNs, in order.
    pub layers: Vec<String>,
    pub ephemeral_storage_mb: u32,
    pub vpc: Option<Vpc>,
}

/// Lambda's logging configuration of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logging {
    /// `Text` or `JSON`.
    pub format: String,
    /// `INFO`, ...; JSON only.
    pub level: Option<String>,
}

/// A function as read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFunction {
    pub arn: String,
    pub spec: FunctionSpec,
    /// `Pending`, `Active`, ...
    pub state: Option<String>,
    /// `InProgress`, `Successful`, `Failed`.
    pub last_update_status: Option<String>,
}

/// A Lambda function.
pub struct Function;

impl Resource for Function {
    type Spec = FunctionSpec;
    type Store = BTreeMap<String, Option<LiveFunction>>;
    const KIND: ResourceKind = ResourceKind::LambdaFunction;
    const AFTER: &'static [(ResourceKind, Scope)] = &[
        (ResourceKind::IamRole, Scope::SameFunction),
        (ResourceKind::IamRolePolicyAttachment, Scope::SameFunction),
        (ResourceKind::LogsLogGroup, Scope::SameFunction),
        (ResourceKind::S3Object, Scope::All),
    ];
    /// A function goes after the triggers that would act on it once it is gone: a mapping keeps
    /// polling its source (an SQS mapping would take messages no function runs, counting towards the
    /// queue's `maxReceiveCount`), and S3 validates every entry of a bucket's notification
    /// configuration whenever it is written, so an entry naming a deleted function would make the next
    /// write fail (anyone's, and ours on a failed delete) until it is removed.
    /// Not waited for, as AWS needs none of it: rules, subscriptions (neither EventBridge nor SNS
    /// checks its target on delete), permissions and invoke configurations (deleted with the function).
    const DELETED_AFTER: &'static [ResourceKind] = &[
        ResourceKind::LambdaEventSourceMapping,
        ResourceKind::S3BucketNotification,
    ];

    fn identity(spec: &Self::Spec) -> Identity {
        Identity::Function {
            name: spec.name.clone(),
        }
    }

    /// One function per handler, running the code built for its architecture.
    fn desired(r: &mut Resolver<'_>) -> Vec<(String, Self::Spec)> {
        let mut out = Vec::new();
        for f in &r.plan.functions {
            let arch = f.architecture.as_str();
            let code = match r.code.get(arch) {
                Some(digest) => Some(CodeRef {
                    sha256: digest.sha256.clone(),
                    s3: Some((bucket_name(r.ctx), code_key(r.plan, digest))),
                }),
                None if r.code.is_empty() => None,
                None => {
                    r.problems.push(format!(
                        "function `{}` runs on {arch}, but no bootstrap was built for it",
                        f.name
                    ));
                    None
                }
            };
            out.push((
                f.id.clone(),
                FunctionSpec {
                    name: f.name.clone(),
                    role_arn: f.role.arn().resolve(r.ctx),
                    handler: f.handler.clone(),
                    runtime: f.runtime.clone(),
                    architecture: arch.to_string(),
                    memory_mb: f.memory_mb,
                    timeout_s: f.timeout_s,
                    env: f.env.clone(),
                    tags: f.tags.clone(),
                    reserved_concurrency: f.reserved_concurrency,
                    code,
                    logging: Some(Logging {
                        format: f.log_format.as_str().to_string(),
                        level: f.log_level.map(|l| l.as_str().to_string()),
                    }),
                    tracing: f.tracing.as_str().to_string(),
                    layers: f.layers.iter().map(|a| a.resolve(r.ctx)).collect(),
                    ephemeral_storage_mb: f.ephemeral_storage_mb,
                    vpc: f.vpc.clone(),
                },
            ));
        }
        out
    }

    fn function_of(identity: &Identity, _: Option<&Self::Spec>) -> Option<String> {
        match identity {
            Identity::Function { name } => Some(name.clone()),
            _ => None,
        }
    }

    fn exists(identity: &Identity, live: &Self::Store, _facts: &Facts<'_>) -> Option<bool> {
        let Identity::Function { name } = identity else {
            return None;
        };
        live.get(name).map(Option::is_some)
    }

    fn changes(
        id: &str,
        spec: &Self::Spec,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: Option<&str>,
    ) -> Vec<Change> {
        let found = live.get(&spec.name).map(Option::as_ref);
        create_or_update(id, Self::identity(spec), found, |l| {
            function_fields(spec, &l.spec)
        })
    }

    fn adopt(
        identity: &Identity,
        live: &Self::Store,
        _facts: &Facts<'_>,
        _: &AwsContext,
    ) -> Option<Record> {
        let Identity::Function { name } = identity else {
            return None;
        };
        let f = live.get(name)?.as_ref()?;
        Some(Record {
            arn: Some(f.arn.clone()),
            ..Record::default()
        })
    }

    async fn apply(
        step: &Step<'_, Self::Store>,
        change: &Change,
        spec: Option<&Self::Spec>,
    ) -> Result<Option<String>, StepError> {
        let c = step.clients;
        let Identity::Function { name } = &change.identity else {
            return Err(StepError::Internal(format!(
                "{} is not a function",
                change.id
            )));
        };
        if change.is_delete() {
            delete_function(c, name).await?;
            step.records.forget(&change.identity)?;
            return Ok(None);
        }
        let spec = spec.ok_or_else(|| StepError::Internal(format!("no spec for {}", change.id)))?;
        let arn = match (&change.action, step.live.get(name).map(Option::as_ref)) {
            (Action::Update { .. }, Some(Some(live))) => {
                update_function(c, spec, live).await?;
                live.arn.clone()
            }
            _ => create_function(c, spec).await?,
        };
        step.records.record(
            &change.id,
            &change.identity,
            Record {
                arn: Some(arn),
                ..Record::default()
            },
        )?;
        Ok(None)
    }
}

fn function_fields(d: &FunctionSpec, l: &FunctionSpec) -> Vec<FieldChange> {
    let mut out = Vec::new();
    field(&mut out, "role", Some(&d.role_arn), Some(&l.role_arn));
    field(&mut out, "handler", Some(&d.handler), Some(&l.handler));
    field(&mut out, "runtime", Some(&d.runtime), Some(&l.runtime));
    field(
        &mut out,
        "architecture",
        Some(&d.architecture),
        Some(&l.architecture),
    );
    field(&mut out, "memory_mb", Some(d.memory_mb), Some(l.memory_mb));
    field(&mut out, "timeout_s", Some(d.timeout_s), Some(l.timeout_s));
    map_fields(&mut out, "env", &d.env, &l.env);
    map_fields(&mut out, "tags", &own_tags(&d.tags), &own_tags(&l.tags));
    field(
        &mut out,
        "reserved_concurrency",
        d.reserved_concurrency,
        l.reserved_concurrency,
    );
    if let (Some(d), Some(l)) = (&d.logging, &l.logging) {
        field(&mut out, "log_format", Some(&d.format), Some(&l.format));
        field(&mut out, "log_level", d.level.as_ref(), l.level.as_ref());
    }
    field(&mut out, "tracing", Some(&d.tracing), Some(&l.tracing));
    field(
        &mut out,
        "layers",
        Some(d.layers.join(", ")).filter(|s| !s.is_empty()),
        Some(l.layers.join(", ")).filter(|s| !s.is_empty()),
    );
    field(
        &mut out,
        "ephemeral_storage_mb",
        Some(d.ephemeral_storage_mb),
        Some(l.ephemeral_storage_mb),
    );
    let vpc = |v: &Option<Vpc>| {
        v.as_ref().map(|v| {
            format!(
                "subnets {}; security groups {}",
                v.subnet_ids.join(", "),
                v.security_group_ids.join(", ")
            )
        })
    };
    field(&mut out, "vpc", vpc(&d.vpc), vpc(&l.vpc));
    if let Some(code) = &d.code {
        field(
            &mut out,
            "code_sha256",
            Some(&code.sha256),
            l.code.as_ref().map(|c| &c.sha256),
        );
    }
    out
}

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
        // moto accepts LoggingConfig and does not keep it (answers none); AWS always reports it.
        // Not reported: not compared.
        logging: conf.logging_config().map(|l| Logging {
            format: l.log_format().map_or("Text", |f| f.as_str()).to_string(),
            level: l.application_log_level().map(|a| a.as_str().to_string()),
        }),
        tracing: conf
            .tracing_config()
            .and_then(|t| t.mode())
            .map_or("PassThrough", |m| m.as_str())
            .to_string(),
        layers: conf
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect(),
        ephemeral_storage_mb: conf
            .ephemeral_storage()
            .map_or(chalice_codegen::model::DEFAULT_EPHEMERAL_STORAGE_MB, |e| {
                non_negative(Some(e.size()))
            }),
        // AWS answers empty lists (and no VPC id) for a function outside any VPC.
        vpc: conf
            .vpc_config()
            .filter(|v| !v.subnet_ids().is_empty() || !v.security_group_ids().is_empty())
            .map(|v| Vpc {
                subnet_ids: v.subnet_ids().to_vec(),
                security_group_ids: v.security_group_ids().to_vec(),
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

fn logging_config(spec: &FunctionSpec) -> Option<LoggingConfig> {
    let l = spec.logging.as_ref()?;
    Some(
        LoggingConfig::builder()
            .log_format(LogFormat::from(l.format.as_str()))
            .set_application_log_level(l.level.as_deref().map(ApplicationLogLevel::from))
            .build(),
    )
}

fn tracing_config(spec: &FunctionSpec) -> TracingConfig {
    TracingConfig::builder()
        .mode(TracingMode::from(spec.tracing.as_str()))
        .build()
}

fn ephemeral_storage(spec: &FunctionSpec) -> Result<EphemeralStorage, CallError> {
    EphemeralStorage::builder()
        .size(int(spec.ephemeral_storage_mb))
        .build()
        .map_err(|e| CallError::other("UpdateFunctionConfiguration", &spec.name, e.to_string()))
}

/// The VPC attachment to send: empty lists detach the function from its VPC.
fn vpc_config(spec: &FunctionSpec) -> VpcConfig {
    let (subnets, groups) = spec.vpc.as_ref().map_or((Vec::new(), Vec::new()), |v| {
        (v.subnet_ids.clone(), v.security_group_ids.clone())
    });
    VpcConfig::builder()
        .set_subnet_ids(Some(subnets))
        .set_security_group_ids(Some(groups))
        .build()
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
                .set_logging_config(logging_config(spec))
                .tracing_config(tracing_config(spec))
                .set_layers(Some(spec.layers.clone()))
                .ephemeral_storage(ephemeral_storage(spec)?)
                .set_vpc_config(spec.vpc.is_some().then(|| vpc_config(spec)))
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
                format!("waiting for Active: {}", crate::aws::causes(&e)),
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
                format!("waiting for the last update: {}", crate::aws::causes(&e)),
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
        || l.logging
            .as_ref()
            .is_some_and(|l| d.logging.as_ref() != Some(l))
        || d.tracing != l.tracing
        || d.layers != l.layers
        || d.ephemeral_storage_mb != l.ephemeral_storage_mb
        || d.vpc != l.vpc
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
    // moto applies Layers, VpcConfig and Environment here but ignores TracingConfig, EphemeralStorage
    // and LoggingConfig (AWS applies them all): on moto a change of those shows again on the next plan.
    if config_differs(spec, l) {
        // A role just made (a function moving to its own) may not be assumable yet on AWS.
        let update = || {
            retry_conflict(c, &spec.name, || async {
                c.lambda
                    .update_function_configuration()
                    .function_name(&spec.name)
                    .role(&spec.role_arn)
                    .handler(&spec.handler)
                    .runtime(Runtime::from(spec.runtime.as_str()))
                    .memory_size(int(spec.memory_mb))
                    .timeout(int(spec.timeout_s))
                    .environment(environment(spec))
                    .set_logging_config(logging_config(spec))
                    .tracing_config(tracing_config(spec))
                    .set_layers(Some(spec.layers.clone()))
                    .ephemeral_storage(ephemeral_storage(spec)?)
                    .set_vpc_config(
                        (spec.vpc.is_some() || l.vpc.is_some()).then(|| vpc_config(spec)),
                    )
                    .send()
                    .await
                    .map_err(|e| CallError::new("UpdateFunctionConfiguration", &spec.name, e))
            })
        };
        let out = retry_propagation(update, is_role_propagation).await?;
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
            logging: Some(Logging {
                format: "Text".into(),
                level: None,
            }),
            tracing: "PassThrough".into(),
            layers: Vec::new(),
            ephemeral_storage_mb: 512,
            vpc: None,
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
