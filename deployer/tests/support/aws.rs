//! SDK clients for a moto endpoint (or anything that speaks AWS on 127.0.0.1), and the ARNs moto uses.
//!
//! Credentials are moto's dummy static keys; nothing here reads the machine's AWS configuration.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_sts::config::Credentials;
use chalice_codegen::plan::AwsContext;
use chalice_deployer::aws::{CallCounter, ClientOptions, Clients};

pub use crate::support::moto::{ACCOUNT, REGION};

/// moto's dummy credentials (any pair works; these are the documented ones).
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

/// Standard retries, `attempts` in all, after a short first back-off (moto's 500s are not transient).
pub fn quick_retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(10))
}

/// Client options for `endpoint` in [`REGION`]; `retry` `None` keeps the SDK's default retries.
pub fn options(endpoint: &str, retry: Option<RetryConfig>) -> ClientOptions {
    ClientOptions {
        region: Some(REGION.to_owned()),
        endpoint_url: Some(endpoint.to_owned()),
        retry,
        ..ClientOptions::default()
    }
}

/// Every client, configured by `options`, with the dummy credentials and a fresh call counter.
pub async fn clients_with(options: ClientOptions) -> Clients {
    let config = options
        .loader()
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .load()
        .await;
    Clients::from_config(&config, None, CallCounter::new())
}

/// Every client, pointed at `endpoint` (see [`options`]).
pub async fn clients_at(endpoint: &str, retry: Option<RetryConfig>) -> Clients {
    clients_with(options(endpoint, retry)).await
}

/// The AWS context moto answers with.
pub fn context() -> AwsContext {
    AwsContext {
        partition: "aws".into(),
        region: REGION.into(),
        account: ACCOUNT.into(),
    }
}

pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

pub fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

pub fn topic_arn(name: &str) -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}")
}

pub fn stream_arn(name: &str) -> String {
    format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}")
}

/// A rule's ARN: `rule/NAME` on the default bus, `rule/BUS/NAME` on a custom one.
pub fn rule_arn(bus: Option<&str>, name: &str) -> String {
    match bus {
        None => format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"),
        Some(bus) => format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}"),
    }
}

/// `{endpoint}/{account}/{name}`: a queue's URL on moto.
pub fn queue_url(endpoint: &str, name: &str) -> String {
    format!("{endpoint}/{ACCOUNT}/{name}")
}

/// The last `/`- or `:`-separated part of an ARN (a queue's, topic's or stream's name).
pub fn arn_name(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}
