//! A command's failure and the exit code it deserves.

use lifeboat_core::{ErrorName, LifeboatError};

/// Exit codes: 0 success, 1 the run failed, 2 bad usage or input.
pub const EXIT_OK: i32 = 0;
pub const EXIT_RUN_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// A command's failure, with the exit code it deserves.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_RUN_FAILED,
            message: message.into(),
        }
    }
}

impl From<LifeboatError> for CliError {
    fn from(e: LifeboatError) -> Self {
        let code = if e.name == ErrorName::InvalidRequest {
            EXIT_BAD_INPUT
        } else {
            EXIT_RUN_FAILED
        };
        CliError {
            code,
            message: e.to_string(),
        }
    }
}

impl From<lifeboat_aws::AwsError> for CliError {
    fn from(e: lifeboat_aws::AwsError) -> Self {
        LifeboatError::from(e).into()
    }
}
