//! Lambda Invoke (RequestResponse) and GetFunction, in the function's own
//! Region. The Invoke API reference: a function that fails answers 200 with
//! the X-Amz-Function-Error header set and its error in the payload; the
//! call itself fails only when Lambda could not run it.

use crate::clients::{AwsClients, timeouts};
use crate::error::AwsError;
use crate::ports::{FunctionInfo, Functions, InvokeAnswer};
use async_trait::async_trait;
use aws_config::Region;
use aws_smithy_types::Blob;

/// Lambda through the SDK.
#[derive(Debug, Clone)]
pub struct Lambda {
    clients: AwsClients,
}

impl Lambda {
    pub fn new(clients: AwsClients) -> Self {
        Lambda { clients }
    }

    fn client(&self, arn: &str, attempt_timeout: Option<std::time::Duration>) -> aws_sdk_lambda::Client {
        let mut conf =
            aws_sdk_lambda::config::Builder::from(&self.clients.config).interceptor(self.clients.counter.clone());
        if let Some(region) = arn.split(':').nth(3).filter(|r| !r.is_empty()) {
            conf = conf.region(Region::new(region.to_string()));
        }
        if let Some(t) = attempt_timeout {
            // One attempt per call: the hook's retries are lifeboat's, counted and logged.
            conf = conf
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .connect_timeout(std::time::Duration::from_secs(crate::clients::CONNECT_TIMEOUT_SECONDS))
                        .operation_attempt_timeout(t)
                        .operation_timeout(t)
                        .build(),
                );
        } else {
            conf = conf.timeout_config(timeouts(
                crate::clients::CONNECT_TIMEOUT_SECONDS,
                crate::clients::ATTEMPT_TIMEOUT_SECONDS,
            ));
        }
        aws_sdk_lambda::Client::from_conf(conf.build())
    }
}

#[async_trait]
impl Functions for Lambda {
    async fn invoke(&self, arn: &str, payload: &str, timeout: std::time::Duration) -> Result<InvokeAnswer, AwsError> {
        let out = self
            .client(arn, Some(timeout))
            .invoke()
            .function_name(arn)
            .invocation_type(aws_sdk_lambda::types::InvocationType::RequestResponse)
            .payload(Blob::new(payload.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("Lambda Invoke {arn}"), e))?;
        Ok(InvokeAnswer {
            function_error: out.function_error().map(str::to_string),
            payload: out
                .payload()
                .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                .unwrap_or_default(),
        })
    }

    async fn describe(&self, arn: &str) -> Result<Option<FunctionInfo>, AwsError> {
        match self.client(arn, None).get_function().function_name(arn).send().await {
            Ok(out) => Ok(Some(FunctionInfo {
                tags: out.tags().cloned().unwrap_or_default().into_iter().collect(),
                timeout_seconds: out
                    .configuration()
                    .and_then(|c| c.timeout())
                    .and_then(|t| u32::try_from(t).ok()),
            })),
            Err(e) => match AwsError::from_sdk(&format!("Lambda GetFunction {arn}"), e) {
                AwsError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }
}
