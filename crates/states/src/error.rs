//! Errors: load-time (the definition is wrong) and run-time (a state failed).

use serde::{Deserialize, Serialize};

/// A definition that cannot run, with the state it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid state machine definition: {0}")]
pub struct LoadError(pub String);

/// A run-time error as Step Functions reports it: an error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct ExecError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

impl ExecError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        ExecError {
            error: error.into(),
            cause: cause.into(),
        }
    }
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }
    /// The `{"Error": ..., "Cause": ...}` object a Catch passes on.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}
