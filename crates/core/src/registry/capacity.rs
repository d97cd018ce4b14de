//! An application's compute in the registry: the Auto Scaling groups and ECS
//! services raised in the target Region before its traffic moves.

use super::BySide;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn default_percent() -> u32 {
    100
}

fn default_capacity_deadline() -> u32 {
    900
}

fn default_capacity_interval() -> u32 {
    15
}

/// One scalable resource pair and how much of the source side's capacity
/// the target side must have before traffic moves. Exactly one of `asg`
/// and `ecs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityStep {
    /// An EC2 Auto Scaling group in each Region (its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asg: Option<BySide<String>>,
    /// An ECS service in each Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsService>,
    /// The target's desired count becomes ceil(percent x the source's desired
    /// count); lifeboat never lowers it (1-1000, default 100).
    #[serde(default = "default_percent")]
    #[schemars(range(min = 1, max = 1000))]
    pub percent: u32,
    /// How long the new capacity may take to be in service before the app's
    /// move stops (its traffic stays where it is).
    #[serde(default = "default_capacity_deadline")]
    #[schemars(range(min = 1, max = 86400))]
    pub deadline_seconds: u32,
    /// How often to look whether it is.
    #[serde(default = "default_capacity_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub interval_seconds: u32,
}

/// An ECS service in each Region: its cluster and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EcsService {
    pub cluster: BySide<String>,
    pub service: BySide<String>,
}

impl CapacityStep {
    /// Checks after the first look before the step gives up: deadline / interval, at least one.
    pub fn max_checks(&self) -> u32 {
        (self.deadline_seconds / self.interval_seconds.max(1)).max(1)
    }
}
