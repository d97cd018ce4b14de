//! Lambda functions in memory: each answers as the test set it to.

use super::prelude::*;
use crate::ports::{FunctionInfo, Functions, InvokeAnswer};

/// How a fake function answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    Succeed,
    Fail,
    /// Fails this many times, then succeeds.
    FailFirst(u32),
}

/// Functions by ARN, with every invocation's payload.
#[derive(Debug, Default)]
pub struct FakeFunctions {
    functions: Mutex<BTreeMap<String, Behaviour>>,
    pub invocations: Mutex<Vec<(String, String)>>,
    pub calls: Mutex<ApiCalls>,
}

impl FakeFunctions {
    /// A function (tagged `lifeboat:hook=true`) answering as `behaviour` says.
    pub fn add(&self, arn: &str, behaviour: Behaviour) {
        lock(&self.functions).insert(arn.to_string(), behaviour);
    }
}

#[async_trait]
impl Functions for FakeFunctions {
    async fn invoke(&self, arn: &str, payload: &str, _timeout: std::time::Duration) -> Result<InvokeAnswer, AwsError> {
        lock(&self.calls).add("lambda:Invoke", 1);
        lock(&self.invocations).push((arn.to_string(), payload.to_string()));
        let mut functions = lock(&self.functions);
        let Some(b) = functions.get_mut(arn) else {
            return Err(AwsError::NotFound(format!(
                "Lambda Invoke {arn}: ResourceNotFoundException"
            )));
        };
        let fail = match b {
            Behaviour::Succeed => false,
            Behaviour::Fail => true,
            Behaviour::FailFirst(0) => false,
            Behaviour::FailFirst(n) => {
                *n -= 1;
                true
            }
        };
        Ok(if fail {
            InvokeAnswer {
                function_error: Some("Unhandled".into()),
                payload: r#"{"errorType":"Error","errorMessage":"the hook failed"}"#.into(),
            }
        } else {
            InvokeAnswer {
                function_error: None,
                payload: r#"{"ok":true}"#.into(),
            }
        })
    }

    async fn describe(&self, arn: &str) -> Result<Option<FunctionInfo>, AwsError> {
        lock(&self.calls).add("lambda:GetFunction", 1);
        Ok(lock(&self.functions).contains_key(arn).then(|| FunctionInfo {
            tags: BTreeMap::from([("lifeboat:hook".to_string(), "true".to_string())]),
            timeout_seconds: Some(30),
        }))
    }
}
