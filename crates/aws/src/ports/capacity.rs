//! Compute capacity: EC2 Auto Scaling groups and ECS services.

use super::prelude::*;
use lifeboat_core::capacity::{Reading, Scalable};

/// A scalable resource as its service describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityState {
    pub reading: Reading,
    /// An Auto Scaling group's MinSize (ECS services have none).
    pub min: Option<u32>,
    /// ECS: the primary deployment's rollout is COMPLETED and its running
    /// count is the desired count. Auto Scaling groups: always true.
    pub steady: bool,
    /// How long new capacity takes to serve, as the resource says: an Auto
    /// Scaling group's DefaultInstanceWarmup (or HealthCheckGracePeriod), an
    /// ECS service's healthCheckGracePeriodSeconds. `None`: not said.
    pub warmup_seconds: Option<u32>,
}

/// Reads and raises Auto Scaling groups and ECS services, in their Region.
#[async_trait]
pub trait Capacity: Send + Sync {
    /// The resource's capacity; `None` when it does not exist.
    async fn describe(&self, resource: &Scalable) -> Result<Option<CapacityState>, AwsError>;
    /// Each of `resources` as [`Capacity::describe`] says it, in as few calls
    /// as the services allow; an error answers for every resource of the
    /// call that failed. The default describes them one by one.
    async fn describe_many(&self, resources: &[Scalable]) -> Vec<(Scalable, Result<Option<CapacityState>, AwsError>)> {
        let mut out = Vec::with_capacity(resources.len());
        for r in resources {
            out.push((r.clone(), self.describe(r).await));
        }
        out
    }
    /// Sets its desired count. An Auto Scaling group's MaxSize is set too
    /// when `max` is given (raised to fit, or put back by a drill).
    async fn set_desired(&self, resource: &Scalable, desired: u32, max: Option<u32>) -> Result<(), AwsError>;
}
