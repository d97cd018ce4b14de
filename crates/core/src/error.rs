//! The closed set of error names the state machine's Retry/Catch match on.
//!
//! Every task error ends up as one of these names (never a Rust type name), so
//! the ASL can decide what is retried, what is caught and what stops a run.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The error names a task may fail with, exactly as they appear in the ASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorName {
    /// Bad input or registry: never retried, nothing was changed.
    #[serde(rename = "Lifeboat.InvalidRequest")]
    InvalidRequest,
    /// Something is not there yet (DNS INSYNC, a database, traffic): retried with backoff.
    #[serde(rename = "Lifeboat.NotReady")]
    NotReady,
    /// AWS throttled us: retried with jitter.
    #[serde(rename = "Lifeboat.Throttled")]
    Throttled,
    /// Another run holds the lease.
    #[serde(rename = "Lifeboat.LeaseHeld")]
    LeaseHeld,
    /// Failing over would lose more data than the app's RPO budget allows.
    #[serde(rename = "Lifeboat.RpoExceeded")]
    RpoExceeded,
    /// Traffic did not verify before the deadline.
    #[serde(rename = "Lifeboat.VerificationFailed")]
    VerificationFailed,
    /// Anything else: a bug or an AWS error we do not classify.
    #[serde(rename = "Lifeboat.Internal")]
    Internal,
}

impl ErrorName {
    /// Every name, for cross-checks against the state machine definition.
    pub const ALL: [ErrorName; 7] = [
        ErrorName::InvalidRequest,
        ErrorName::NotReady,
        ErrorName::Throttled,
        ErrorName::LeaseHeld,
        ErrorName::RpoExceeded,
        ErrorName::VerificationFailed,
        ErrorName::Internal,
    ];

    /// The name as the ASL and Step Functions see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::InvalidRequest => "Lifeboat.InvalidRequest",
            ErrorName::NotReady => "Lifeboat.NotReady",
            ErrorName::Throttled => "Lifeboat.Throttled",
            ErrorName::LeaseHeld => "Lifeboat.LeaseHeld",
            ErrorName::RpoExceeded => "Lifeboat.RpoExceeded",
            ErrorName::VerificationFailed => "Lifeboat.VerificationFailed",
            ErrorName::Internal => "Lifeboat.Internal",
        }
    }

    /// Parses a name as it appears in an execution's error output.
    pub fn parse(name: &str) -> Option<ErrorName> {
        ErrorName::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task failure: one of the closed names plus a message that says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct LifeboatError {
    pub name: ErrorName,
    pub message: String,
}

impl LifeboatError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        LifeboatError {
            name,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorName::InvalidRequest, message)
    }
    pub fn not_ready(message: impl Into<String>) -> Self {
        Self::new(ErrorName::NotReady, message)
    }
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::new(ErrorName::Throttled, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorName::Internal, message)
    }
    pub fn verification_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorName::VerificationFailed, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_string_form() {
        for name in ErrorName::ALL {
            assert_eq!(ErrorName::parse(name.as_str()), Some(name));
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{}\"", name.as_str()));
        }
        assert_eq!(ErrorName::parse("LifeboatError"), None);
    }

    #[test]
    fn display_leads_with_the_closed_name() {
        let err = LifeboatError::invalid("unknown app \"x\"");
        assert_eq!(err.to_string(), "Lifeboat.InvalidRequest: unknown app \"x\"");
    }
}
