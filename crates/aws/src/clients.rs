//! One client factory: the SDK's standard configuration chain (env, profile,
//! `AWS_ENDPOINT_URL`), with the call counter attached to every client.

use crate::calls::CallCounter;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Loads the SDK configuration once (in a Lambda's main, or the CLI's start).
/// `endpoint_url` overrides `AWS_ENDPOINT_URL` (tests pass their emulator's).
pub async fn load_sdk_config(region: Option<String>, endpoint_url: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(Region::new(r));
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Clients for one unit of work (a task invocation, a CLI command), all
/// counting into the same [`CallCounter`].
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub config: SdkConfig,
    pub counter: CallCounter,
    pub route53: aws_sdk_route53::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl AwsClients {
    /// Builds clients from a loaded config. Cheap: no I/O, the HTTP client is shared.
    pub fn new(config: &SdkConfig, counter: CallCounter) -> Self {
        let route53 = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(counter.clone())
                .build(),
        );
        AwsClients {
            config: config.clone(),
            counter,
            route53,
            dynamodb,
        }
    }

    /// A CloudWatch client for `region` (alarms live in the Region they watch).
    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&self.config)
                .region(Region::new(region.to_string()))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// An RDS client for `region` (databases are promoted in the Region that takes over).
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::from_conf(
            aws_sdk_rds::config::Builder::from(&self.config)
                .region(Region::new(region.to_string()))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// The Region the SDK is configured for (where the orchestrator runs).
    pub fn region(&self) -> String {
        self.config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string())
    }
}
