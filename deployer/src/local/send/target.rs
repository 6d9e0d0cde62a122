//! Where `deployer local send` sends: the running runner's emulator (from its file,
//! [`crate::local::runner_info`]), else the configured AWS endpoint (`AWS_ENDPOINT_URL`, the
//! profile's `endpoint_url`), else nowhere: sending to a real AWS account is `deployer invoke
//! --remote`'s job, not this command's.

use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_sts::config::Credentials;
use chalice_codegen::plan::AwsContext;

use super::SendError;
use crate::aws::{self, CallCounter, ClientOptions, Clients};
use crate::local::{emulator, runner_info};

/// The AWS side to send to.
#[derive(Debug, Clone)]
pub struct Target {
    pub config: SdkConfig,
    /// Account, region and partition that fill the plan's ARNs.
    pub ctx: AwsContext,
    pub endpoint: String,
    /// Where the runner takes schedules to fire, when a runner is running.
    pub control: Option<String>,
}

/// The runner of `stage` (of app `app`) beside `project_dir`, else the configured endpoint.
pub async fn find(project_dir: &Path, app: &str, stage: &str) -> Result<Target, SendError> {
    if let Some(info) = runner_info::read(project_dir, stage)? {
        if info.app != app {
            return Err(SendError::OtherApp {
                stage: stage.to_owned(),
                running: info.app,
                app: app.to_owned(),
            });
        }
        let mut loader = ClientOptions {
            region: Some(info.region.clone()),
            endpoint_url: Some(info.endpoint.clone()),
            ..ClientOptions::default()
        }
        .loader();
        if info.own_emulator {
            loader = loader.credentials_provider(Credentials::new(
                emulator::ACCESS_KEY,
                emulator::SECRET_KEY,
                None,
                None,
                "deployer-local-send",
            ));
        }
        return Ok(Target {
            config: loader.load().await,
            ctx: AwsContext {
                partition: AwsContext::partition_for_region(&info.region).to_owned(),
                region: info.region,
                account: info.account,
            },
            endpoint: info.endpoint,
            control: info.control,
        });
    }
    let config = ClientOptions::default().load().await;
    let Some(endpoint) = config.endpoint_url().map(str::to_owned) else {
        return Err(SendError::NoRunner {
            stage: stage.to_owned(),
        });
    };
    let clients = Clients::from_config(&config, None, CallCounter::new());
    let ctx = aws::resolve_context(&clients).await?;
    Ok(Target {
        config,
        ctx,
        endpoint,
        control: None,
    })
}
