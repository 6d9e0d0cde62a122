//! AWS SDK clients for every service the deployer touches, built from the standard configuration chain.
//!
//! The endpoint, region and credentials come from profiles, the environment and `AWS_ENDPOINT_URL`, so
//! the same binary deploys to AWS, moto or LocalStack. Every client shares one [`CallCounter`].

pub mod calls;
pub mod context;
pub mod float_millis;
pub mod policy;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use calls::{Attempts, Call, CallCounter, CallKind};
pub use context::{AwsContext, resolve as resolve_context, resolve_caller};
pub use policy::parse_policy_document;

/// Errors from setting up the AWS side.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS region configured: pass --region REGION, set AWS_REGION, or set `region` in the profile \
         (~/.aws/config; `aws configure set region REGION`)"
    )]
    NoRegion,
    #[error(
        "could not find out which AWS account the credentials belong to (STS GetCallerIdentity): {0}"
    )]
    CallerIdentity(String),
}

/// The command line's `--profile` and `--region`: they win over the environment and the profile
/// files for every client the process makes (set once, at start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub profile: Option<String>,
    pub region: Option<String>,
}

static OVERRIDES: std::sync::OnceLock<Overrides> = std::sync::OnceLock::new();

/// Sets the process's [`Overrides`]; only the first call counts.
pub fn set_overrides(overrides: Overrides) {
    let _ = OVERRIDES.set(overrides);
}

fn overrides() -> Overrides {
    OVERRIDES.get().cloned().unwrap_or_default()
}

/// What the caller may override in the standard configuration chain.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// A named profile instead of `AWS_PROFILE` / `default`.
    pub profile: Option<String>,
    /// A region instead of the chain's (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// An endpoint instead of the chain's (`AWS_ENDPOINT_URL`, the profile's `endpoint_url`).
    pub endpoint_url: Option<String>,
    /// Retries instead of the chain's (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`; by default standard mode,
    /// 3 attempts, exponential backoff with jitter from 1 s). Tests against moto want fewer, faster ones.
    pub retry: Option<RetryConfig>,
    /// S3 path-style addressing; by default on exactly when an endpoint is configured.
    pub force_path_style: Option<bool>,
}

impl ClientOptions {
    /// The standard chain's loader with these overrides applied; callers may customise it further.
    pub fn loader(&self) -> ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        let process = overrides();
        if let Some(profile) = self.profile.as_ref().or(process.profile.as_ref()) {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = self.region.as_ref().or(process.region.as_ref()) {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(retry) = &self.retry {
            loader = loader.retry_config(retry.clone());
        }
        loader
    }

    /// Loads the shared SDK configuration (reads env, profile files and, for credentials, maybe IMDS).
    pub async fn load(&self) -> SdkConfig {
        self.loader().load().await
    }
}

/// One client per AWS service the deployer uses, all sharing a config and a [`CallCounter`].
#[derive(Debug, Clone)]
pub struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub dynamodb_streams: aws_sdk_dynamodbstreams::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    calls: CallCounter,
    region: Option<String>,
    /// The configured endpoint (`AWS_ENDPOINT_URL`), if any.
    endpoint: Option<String>,
}

impl Clients {
    /// Loads the standard configuration chain with `options` and builds every client from it.
    pub async fn load(options: &ClientOptions) -> Clients {
        let config = options.load().await;
        Clients::from_config(&config, options.force_path_style, CallCounter::new())
    }

    /// Builds every client from an already loaded configuration, counting calls into `calls`.
    ///
    /// `force_path_style: None` turns S3 path-style addressing on exactly when an endpoint is set
    /// (virtual-hosted buckets do not resolve on `127.0.0.1`).
    pub fn from_config(
        config: &SdkConfig,
        force_path_style: Option<bool>,
        calls: CallCounter,
    ) -> Clients {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style(config, force_path_style))
            .interceptor(calls.clone())
            .build();
        // Every SDK crate generates the same `config::Builder` API, but as distinct types.
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(config)
                        .interceptor(calls.clone())
                        .build(),
                )
            };
        }
        let mut logs =
            aws_sdk_cloudwatchlogs::config::Builder::from(config).interceptor(calls.clone());
        // An endpoint is configured: most likely an emulator (see float_millis).
        if config.endpoint_url().is_some() {
            logs = logs.interceptor(float_millis::FloatMillis);
        }
        Clients {
            lambda: client!(aws_sdk_lambda),
            iam: client!(aws_sdk_iam),
            sts: client!(aws_sdk_sts),
            eventbridge: client!(aws_sdk_eventbridge),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sns: client!(aws_sdk_sns),
            sqs: client!(aws_sdk_sqs),
            kinesis: client!(aws_sdk_kinesis),
            dynamodb: client!(aws_sdk_dynamodb),
            dynamodb_streams: client!(aws_sdk_dynamodbstreams),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
            region: config.region().map(|r| r.as_ref().to_owned()),
            endpoint: config.endpoint_url().map(str::to_owned),
            calls,
        }
    }

    /// The calls made through these clients so far.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// The endpoint configured for every service (`AWS_ENDPOINT_URL`: an emulator), if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The URL SQS gives queue `name` of `account` (`GetQueueUrl`'s answer, as AWS and emulators form
    /// it): under the configured endpoint, else the region's. A guess, to be checked against the answer.
    pub fn queue_url_guess(&self, account: &str, name: &str) -> Option<String> {
        let base = std::env::var("AWS_ENDPOINT_URL_SQS")
            .ok()
            .or_else(|| self.endpoint.clone())
            .or_else(|| {
                let region = self.region.as_deref()?;
                let domain = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                Some(format!("https://sqs.{region}.{domain}"))
            })?;
        Some(format!("{}/{account}/{name}", base.trim_end_matches('/')))
    }
}

/// Whether S3 should use path-style addressing: as forced, else when an endpoint is configured.
fn path_style(config: &SdkConfig, forced: Option<bool>) -> bool {
    forced.unwrap_or_else(|| {
        config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
    })
}

/// The service error code of a failed call (`ResourceNotFoundException`, `NoSuchEntity`, ...), if the
/// service answered with one. Transport errors and timeouts have none.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(_) => err.code(),
        _ => None,
    }
}

/// An error and its causes, `error: cause: cause ...`, each said once (SDK errors repeat their source
/// in their message): what to show of an SDK error that has no AWS error code, without the raw
/// request or answer the SDK's own rendering (`DisplayErrorContext`) carries.
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A sample event's context in the configured region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
/// the profile's `region`, else [`DEFAULT_REGION`](chalice_lambda::samples::DEFAULT_REGION).
///
/// Only the environment and the profile files are read: no network (IMDS) lookup.
pub async fn sample_context() -> chalice_lambda::samples::SampleContext {
    use aws_config::environment::EnvironmentVariableRegionProvider;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::ProfileFileRegionProvider;
    let process = overrides();
    let profile = match &process.profile {
        Some(name) => ProfileFileRegionProvider::builder()
            .profile_name(name)
            .build(),
        None => ProfileFileRegionProvider::new(),
    };
    let chain = RegionProviderChain::first_try(process.region.map(Region::new))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(profile);
    let region = chain.region().await;
    chalice_lambda::samples::SampleContext::new(
        region
            .as_ref()
            .map_or(chalice_lambda::samples::DEFAULT_REGION, |r| r.as_ref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn options_override_the_chain() {
        let options = ClientOptions {
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://127.0.0.1:1".into()),
            retry: Some(RetryConfig::standard().with_max_attempts(1)),
            ..ClientOptions::default()
        };
        let config = options.loader().test_credentials().load().await;
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(1));
        assert!(path_style(&config, None));
        assert!(!path_style(&config, Some(false)));
        let clients = Clients::from_config(&config, None, CallCounter::new());
        assert_eq!(clients.region(), Some("eu-west-1"));
        assert_eq!(clients.calls().total(), 0);
    }

    #[test]
    fn no_path_style_without_an_endpoint() {
        let config = SdkConfig::builder().build();
        // The process env might name an S3 endpoint; only check what does not depend on it.
        if std::env::var_os("AWS_ENDPOINT_URL_S3").is_none() {
            assert!(!path_style(&config, None));
        }
        assert!(path_style(&config, Some(true)));
    }
}
