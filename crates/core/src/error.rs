//! The closed set of error names the state machine's Retry/Catch match on.
//!
//! Every task error ends up as one of these names (never a Rust type name), so
//! the ASL can decide what is retried, what is caught and what stops a run.

crate::closed_names! {
    /// The error names a task may fail with, exactly as they appear in the ASL.
    pub enum ErrorName {
        /// Bad input or registry: never retried, nothing was changed.
        InvalidRequest = "Lifeboat.InvalidRequest",
        /// Something is not there yet (DNS INSYNC, a database, traffic): retried with backoff.
        NotReady = "Lifeboat.NotReady",
        /// AWS throttled us: retried with jitter.
        Throttled = "Lifeboat.Throttled",
        /// Another run holds the lease.
        LeaseHeld = "Lifeboat.LeaseHeld",
        /// Failing over would lose more data than the app's RPO budget allows.
        RpoExceeded = "Lifeboat.RpoExceeded",
        /// Traffic did not verify before the deadline.
        VerificationFailed = "Lifeboat.VerificationFailed",
        /// A person rejected the run while it waited for approval: nothing changed.
        ApprovalRejected = "Lifeboat.ApprovalRejected",
        /// Nobody answered the approval in time and `on_timeout` is reject: nothing changed.
        ApprovalTimedOut = "Lifeboat.ApprovalTimedOut",
        /// Anything else: a bug or an AWS error we do not classify.
        Internal = "Lifeboat.Internal",
    }
}

/// The error a run or a step stopped with, as Step Functions names it: one
/// of lifeboat's closed names, or one of its own (`States.Timeout`,
/// `Execution.Aborted`, `States.TaskFailed`, a Lambda service error, ...).
/// Its JSON form is the plain name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
pub enum FailureName {
    Lifeboat(ErrorName),
    Other(String),
}

impl FailureName {
    /// The run exceeded the state machine's `TimeoutSeconds`.
    pub const TIMED_OUT: &'static str = "States.Timeout";
    /// Someone stopped the execution.
    pub const ABORTED: &'static str = "Execution.Aborted";
    /// The fallback Step Functions uses for a failure it does not name.
    pub const RUNTIME: &'static str = "States.Runtime";

    pub fn as_str(&self) -> &str {
        match self {
            FailureName::Lifeboat(n) => n.as_str(),
            FailureName::Other(s) => s,
        }
    }

    /// Lifeboat's own name, if it is one.
    pub fn lifeboat(&self) -> Option<ErrorName> {
        match self {
            FailureName::Lifeboat(n) => Some(*n),
            FailureName::Other(_) => None,
        }
    }
}

impl From<String> for FailureName {
    fn from(name: String) -> Self {
        match ErrorName::parse(&name) {
            Some(n) => FailureName::Lifeboat(n),
            None => FailureName::Other(name),
        }
    }
}

impl From<&str> for FailureName {
    fn from(name: &str) -> Self {
        FailureName::from(name.to_string())
    }
}

impl From<ErrorName> for FailureName {
    fn from(name: ErrorName) -> Self {
        FailureName::Lifeboat(name)
    }
}

impl From<FailureName> for String {
    fn from(name: FailureName) -> Self {
        name.as_str().to_string()
    }
}

impl std::fmt::Display for FailureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<ErrorName> for FailureName {
    fn eq(&self, other: &ErrorName) -> bool {
        self.lifeboat() == Some(*other)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_string_form() {
        for &name in ErrorName::ALL {
            assert_eq!(ErrorName::parse(name.as_str()), Some(name));
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{}\"", name.as_str()));
        }
        assert_eq!(ErrorName::parse("LifeboatError"), None);
    }

    #[test]
    fn a_failure_name_is_lifeboats_when_it_can_be_and_its_json_is_the_name() {
        let ours = FailureName::from("Lifeboat.RpoExceeded");
        assert_eq!(ours, FailureName::Lifeboat(ErrorName::RpoExceeded));
        assert_eq!(ours, ErrorName::RpoExceeded);
        let theirs: FailureName = serde_json::from_str("\"States.Timeout\"").unwrap();
        assert_eq!(theirs, FailureName::Other(FailureName::TIMED_OUT.into()));
        assert_eq!(serde_json::to_string(&theirs).unwrap(), "\"States.Timeout\"");
        assert_eq!(serde_json::to_string(&ours).unwrap(), "\"Lifeboat.RpoExceeded\"");
    }

    #[test]
    fn display_leads_with_the_closed_name() {
        let err = LifeboatError::invalid("unknown app \"x\"");
        assert_eq!(err.to_string(), "Lifeboat.InvalidRequest: unknown app \"x\"");
    }
}
