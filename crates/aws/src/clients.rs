//! One client factory: the SDK's standard configuration chain (env, profile,
//! `AWS_ENDPOINT_URL`), with the call counter attached to every client.

use crate::calls::CallCounter;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Connect and per-attempt timeouts, so a dark endpoint fails in seconds
/// rather than at the Lambda's timeout.
pub fn timeouts(connect_seconds: u64, attempt_seconds: u64) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(connect_seconds))
        .operation_attempt_timeout(std::time::Duration::from_secs(attempt_seconds))
        .build()
}

/// Every client's default: 3 s to connect, 20 s an attempt (a large
/// ChangeResourceRecordSets answers well within it).
pub const CONNECT_TIMEOUT_SECONDS: u64 = 3;
pub const ATTEMPT_TIMEOUT_SECONDS: u64 = 20;

/// Loads the SDK configuration once (in a Lambda's main, or the CLI's start).
/// `endpoint_url` overrides `AWS_ENDPOINT_URL` (tests pass their emulator's).
pub async fn load_sdk_config(region: Option<String>, endpoint_url: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts(CONNECT_TIMEOUT_SECONDS, ATTEMPT_TIMEOUT_SECONDS));
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

    /// A Route 53 client for reads a disaster run can do without: one
    /// attempt, short timeouts (Route 53's API lives in us-east-1).
    pub fn route53_best_effort(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&self.config)
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
                .timeout_config(timeouts(2, 5))
                .interceptor(self.counter.clone())
                .build(),
        )
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

    /// A DynamoDB client for `region` (the lease, where it is pinned to one Region).
    pub fn dynamodb_in(&self, region: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.config)
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

    /// An Auto Scaling client for `region`; `best_effort`: one short attempt
    /// (a source Region that may be dark).
    pub fn autoscaling(&self, region: &str, best_effort: bool) -> aws_sdk_autoscaling::Client {
        let (retry, timeout) = self.attempts(best_effort);
        aws_sdk_autoscaling::Client::from_conf(
            aws_sdk_autoscaling::config::Builder::from(&self.config)
                .region(Region::new(region.to_string()))
                .interceptor(self.counter.clone())
                .retry_config(retry)
                .timeout_config(timeout)
                .build(),
        )
    }

    /// An ECS client for `region`; `best_effort` as for [`AwsClients::autoscaling`].
    pub fn ecs(&self, region: &str, best_effort: bool) -> aws_sdk_ecs::Client {
        let (retry, timeout) = self.attempts(best_effort);
        aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&self.config)
                .region(Region::new(region.to_string()))
                .interceptor(self.counter.clone())
                .retry_config(retry)
                .timeout_config(timeout)
                .build(),
        )
    }

    /// The retries and timeouts of a call: the configuration's, or one short
    /// attempt for a read a disaster run can do without.
    fn attempts(&self, best_effort: bool) -> (aws_config::retry::RetryConfig, aws_config::timeout::TimeoutConfig) {
        if best_effort {
            (
                aws_config::retry::RetryConfig::standard().with_max_attempts(1),
                timeouts(2, 5),
            )
        } else {
            (
                self.config
                    .retry_config()
                    .cloned()
                    .unwrap_or_else(aws_config::retry::RetryConfig::standard),
                self.config
                    .timeout_config()
                    .cloned()
                    .unwrap_or_else(|| timeouts(CONNECT_TIMEOUT_SECONDS, ATTEMPT_TIMEOUT_SECONDS)),
            )
        }
    }

    /// An STS client (GetCallerIdentity: the account, for ARNs).
    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.config)
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
