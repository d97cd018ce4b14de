//! Lambda: invoking an application's own functions (its hooks).

use super::prelude::*;

/// What an invocation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeAnswer {
    /// Lambda's X-Amz-Function-Error (`Unhandled`, `Handled`): the function failed.
    pub function_error: Option<String>,
    /// The function's response payload (its error document when it failed).
    pub payload: String,
}

/// A function as GetFunction describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    pub tags: BTreeMap<String, String>,
    /// The function's own timeout (seconds).
    pub timeout_seconds: Option<u32>,
}

/// Invokes Lambda functions, each in its own Region (its ARN names it).
#[async_trait]
pub trait Functions: Send + Sync {
    /// A RequestResponse invocation of `arn` with `payload`, given up after `timeout`.
    async fn invoke(&self, arn: &str, payload: &str, timeout: std::time::Duration) -> Result<InvokeAnswer, AwsError>;
    /// The function's tags and timeout; `None` when it does not exist.
    async fn describe(&self, arn: &str) -> Result<Option<FunctionInfo>, AwsError>;
}
