//! Auto Scaling groups and ECS services in memory: a raised desired count
//! comes into service after a set number of looks, as new instances do.

use super::prelude::*;
use crate::ports::{Capacity, CapacityState};
use lifeboat_core::capacity::{Reading, Scalable};

#[derive(Debug, Clone)]
struct Group {
    desired: u32,
    ready: u32,
    max: Option<u32>,
    /// Looks left before the pending capacity is in service.
    looks_left: u32,
}

/// Scalable resources in memory.
#[derive(Debug, Default)]
pub struct FakeCapacity {
    groups: Mutex<BTreeMap<Scalable, Group>>,
    pub calls: Mutex<ApiCalls>,
    /// Regions that do not answer (a dark source Region).
    pub dark: Mutex<Vec<String>>,
    /// Looks before raised capacity is in service (default 0: at once).
    pub looks_to_ready: Mutex<u32>,
    /// Capacity that never comes (no instances available): ready stays put.
    pub stuck: Mutex<Vec<Scalable>>,
}

impl FakeCapacity {
    /// A resource with `desired` in service (an ASG with MaxSize `max`).
    pub fn add(&self, resource: Scalable, desired: u32, max: Option<u32>) {
        lock(&self.groups).insert(
            resource,
            Group {
                desired,
                ready: desired,
                max,
                looks_left: 0,
            },
        );
    }

    /// The desired count and MaxSize now.
    pub fn desired(&self, resource: &Scalable) -> Option<(u32, Option<u32>)> {
        lock(&self.groups).get(resource).map(|g| (g.desired, g.max))
    }

    fn answer(&self, resource: &Scalable, op: &str) -> Result<(), AwsError> {
        lock(&self.calls).add(op, 1);
        if lock(&self.dark).iter().any(|r| r == resource.region()) {
            return Err(AwsError::Unavailable(format!(
                "{op} in {}: no answer",
                resource.region()
            )));
        }
        Ok(())
    }
}

fn op(resource: &Scalable, asg: &'static str, ecs: &'static str) -> &'static str {
    match resource {
        Scalable::Asg { .. } => asg,
        Scalable::Ecs { .. } => ecs,
    }
}

#[async_trait]
impl Capacity for FakeCapacity {
    async fn describe(&self, resource: &Scalable) -> Result<Option<CapacityState>, AwsError> {
        self.answer(
            resource,
            op(
                resource,
                "autoscaling:DescribeAutoScalingGroups",
                "ecs:DescribeServices",
            ),
        )?;
        let stuck = lock(&self.stuck).contains(resource);
        let mut groups = lock(&self.groups);
        let Some(g) = groups.get_mut(resource) else {
            return Ok(None);
        };
        if g.ready != g.desired && !stuck {
            if g.looks_left == 0 {
                g.ready = g.desired;
            } else {
                g.looks_left -= 1;
            }
        }
        Ok(Some(CapacityState {
            reading: Reading {
                desired: g.desired,
                ready: g.ready,
                max: g.max,
            },
            min: g.max.map(|_| 0),
            steady: g.ready == g.desired,
            warmup_seconds: Some(60),
        }))
    }

    async fn set_desired(&self, resource: &Scalable, desired: u32, max: Option<u32>) -> Result<(), AwsError> {
        self.answer(
            resource,
            op(resource, "autoscaling:UpdateAutoScalingGroup", "ecs:UpdateService"),
        )?;
        let looks = *lock(&self.looks_to_ready);
        let mut groups = lock(&self.groups);
        let g = groups
            .get_mut(resource)
            .ok_or_else(|| AwsError::NotFound(resource.describe()))?;
        let max = max.or(g.max);
        if max.is_some_and(|m| desired > m) {
            return Err(AwsError::Rejected(format!(
                "ValidationError: desired {desired} above MaxSize {max:?}"
            )));
        }
        g.max = max;
        if desired < g.ready {
            g.ready = desired;
        }
        g.desired = desired;
        g.looks_left = looks;
        Ok(())
    }
}
