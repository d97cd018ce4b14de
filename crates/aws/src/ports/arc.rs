//! Route 53 ARC's routing-control data plane.

use super::prelude::*;

/// What a routing-control call got, and from which of the cluster's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcAnswer<T> {
    pub value: T,
    /// The Region of the endpoint that answered.
    pub endpoint_region: String,
    /// The endpoints tried before it, and why each did not answer.
    pub skipped: Vec<String>,
}

/// Route 53 ARC's routing-control data plane (the cluster's regional
/// endpoints). Each call tries the endpoints in the order given until one
/// answers; no control-configuration call is made.
#[async_trait]
pub trait RoutingControls: Send + Sync {
    /// The state of each named control (absent: the cluster does not have it).
    async fn states(
        &self,
        endpoints: &[ClusterEndpoint],
        arns: &[String],
    ) -> Result<ArcAnswer<ControlStates>, AwsError>;
    /// Sets the states in one UpdateRoutingControlStates call (at most 10
    /// entries), overriding the named safety rules.
    async fn update(
        &self,
        endpoints: &[ClusterEndpoint],
        entries: &[(String, ControlState)],
        override_rules: &[String],
    ) -> Result<ArcAnswer<()>, ArcUpdateError>;
}

/// Why an UpdateRoutingControlStates call did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArcUpdateError {
    /// A safety rule refused the end state: its ARN and ARC's message.
    #[error("refused by ARC safety rule {rule}: {message}")]
    SafetyRule { rule: String, message: String },
    /// ARC's ConflictException naming no safety rule: "Try again".
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}
