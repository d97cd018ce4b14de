//! Capacity: how much compute the target Region needs before an app's
//! traffic moves, and what became of it.
//!
//! The rule is ARC Region switch's for its EC2 Auto Scaling and ECS
//! execution blocks: the target's desired count becomes ceil(percent x the
//! source's desired count), never lower than it already is; the step is done
//! when that many instances are InService (tasks running, the service's
//! deployment steady). Where ARC keeps the source's capacity from its plan
//! evaluations, lifeboat keeps what readiness last read, for a source
//! Region that does not answer.

use crate::registry::{Application, Side};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A scalable resource in one Region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scalable {
    /// An EC2 Auto Scaling group.
    Asg { region: String, name: String },
    /// An ECS service.
    Ecs {
        region: String,
        cluster: String,
        service: String,
    },
}

impl Scalable {
    pub fn region(&self) -> &str {
        match self {
            Scalable::Asg { region, .. } | Scalable::Ecs { region, .. } => region,
        }
    }

    /// What an operator calls it: `asg checkout-usw2 (us-west-2)`.
    pub fn describe(&self) -> String {
        match self {
            Scalable::Asg { region, name } => format!("asg {name} ({region})"),
            Scalable::Ecs {
                region,
                cluster,
                service,
            } => format!("ecs {cluster}/{service} ({region})"),
        }
    }

    /// What it counts: instances or tasks.
    pub fn unit(&self) -> &'static str {
        match self {
            Scalable::Asg { .. } => "instances",
            Scalable::Ecs { .. } => "tasks",
        }
    }
}

/// An app's capacity step `index`, on `side`.
pub fn resource(app: &Application, index: usize, side: Side) -> Option<Scalable> {
    let step = app.capacity.get(index)?;
    let region = app.regions.get(side).to_string();
    if let Some(asg) = &step.asg {
        return Some(Scalable::Asg {
            region,
            name: asg.get(side).clone(),
        });
    }
    step.ecs.as_ref().map(|ecs| Scalable::Ecs {
        region,
        cluster: ecs.cluster.get(side).clone(),
        service: ecs.service.get(side).clone(),
    })
}

/// The desired count the target needs: ceil(percent x source / 100).
pub fn needed(percent: u32, source_desired: u32) -> u32 {
    let product = u64::from(percent) * u64::from(source_desired);
    u32::try_from(product.div_ceil(100)).unwrap_or(u32::MAX)
}

/// One capacity step of a move: raise `target` to `percent` of `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityMove {
    pub source: Scalable,
    pub target: Scalable,
    pub percent: u32,
    pub interval_seconds: u32,
    /// From its raise to in service, at most.
    pub deadline_seconds: u32,
    /// Looks after the first before giving up (deadline / interval).
    pub max_checks: u32,
}

impl CapacityMove {
    /// The most looks this step can take: the first, then one per interval to its deadline.
    pub fn most_looks(&self) -> u64 {
        u64::from(self.max_checks) + 1
    }
}

/// The longest an app's capacity steps can take, one after the other.
pub fn worst_seconds(steps: &[CapacityMove]) -> u64 {
    steps.iter().map(|m| u64::from(m.deadline_seconds)).sum()
}

/// The most looks an app's capacity steps can take, one after the other.
pub fn most_looks(steps: &[CapacityMove]) -> u64 {
    steps.iter().map(CapacityMove::most_looks).sum()
}

/// The moves of an app's capacity steps towards `target`.
pub fn moves(app: &Application, target: Side) -> Vec<CapacityMove> {
    (0..app.capacity.len())
        .filter_map(|i| {
            let step = &app.capacity[i];
            Some(CapacityMove {
                source: resource(app, i, target.other())?,
                target: resource(app, i, target)?,
                percent: step.percent,
                interval_seconds: step.interval_seconds,
                deadline_seconds: step.deadline_seconds,
                max_checks: step.max_checks(),
            })
        })
        .collect()
}

/// A resource's capacity as read: desired and ready (InService instances,
/// or running tasks of a steady service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub desired: u32,
    pub ready: u32,
    /// An Auto Scaling group's MaxSize (ECS services have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// A source resource's desired count that readiness last read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub resource: Scalable,
    pub desired: u32,
    pub at: DateTime<Utc>,
}

impl Seen {
    /// What is kept of `resource` read as `reading` at `at`.
    pub fn of(resource: &Scalable, reading: &Reading, at: DateTime<Utc>) -> Seen {
        Seen {
            resource: resource.clone(),
            desired: reading.desired,
            at,
        }
    }
}

crate::closed_names! {
    /// A capacity step: as it goes (the wave's progress) and as it ended.
    pub enum CapacityStatus {
        /// Raised (or already enough); waiting until in service.
        Pending = "pending",
        /// In service at the needed count.
        Ready = "ready",
        /// Not in service by its deadline: the app's traffic stays.
        TimedOut = "timed-out",
        /// It could not be raised (missing, refused, source unknown).
        Failed = "failed",
    }
}

impl CapacityStatus {
    /// It ended without the capacity: the app's traffic stays.
    pub fn is_failure(self) -> bool {
        matches!(self, CapacityStatus::TimedOut | CapacityStatus::Failed)
    }
}

/// One capacity step's progress and, at the end, its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityOutcome {
    pub target: Scalable,
    pub status: CapacityStatus,
    /// The source's desired count the target was matched to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_desired: Option<u32>,
    /// Where `source_desired` came from: `live`, or readiness's last reading.
    #[serde(default)]
    pub source_basis: String,
    pub needed: u32,
    /// The target as it was before lifeboat raised it (a drill puts it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Reading>,
    /// The desired count lifeboat set (none when it already had enough).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_to: Option<u32>,
    /// The ready count at the last look.
    #[serde(default)]
    pub ready: u32,
    #[serde(default)]
    pub checks: u32,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ready_at: Option<DateTime<Utc>>,
    /// When it gave up (timed out or failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub seconds_to_ready: Option<f64>,
    #[serde(default)]
    pub detail: String,
    /// A drill's end: what putting it back did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_needs_the_ceiling_of_its_percent_of_the_source() {
        assert_eq!(needed(100, 10), 10);
        assert_eq!(needed(50, 3), 2);
        assert_eq!(needed(33, 10), 4);
        assert_eq!(needed(150, 4), 6);
        assert_eq!(needed(100, 0), 0);
        assert_eq!(needed(1000, u32::MAX), u32::MAX);
    }
}
