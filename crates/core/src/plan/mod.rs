//! The plan: which applications move, in which waves, with which DNS weight
//! changes and checks. Built by `validate` from the request, the registry and
//! the record sets as they are; carried through the state machine as data.

use crate::database::DatabasePlan;
use crate::dns::{DesiredWeight, RecordIndex, RecordKey};
use crate::registry::{ClusterEndpoint, Side};
use crate::request::{Action, Mode, TriggerKind};
use crate::traffic::{ControlChange, ControlState, ControlStates};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod budget;
mod build;
mod summary;
pub use budget::*;
pub use build::*;
pub use summary::*;
#[cfg(test)]
mod tests;

/// One record's weight before and after the phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightChange {
    pub key: RecordKey,
    pub before: i64,
    pub after: i64,
}

/// What verifies an application in its target Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyPlan {
    pub region: String,
    pub health_check_id: Option<String>,
    pub alarms: Vec<String>,
    pub interval_seconds: u32,
    /// Checks before giving up: deadline / interval, at least one.
    pub max_checks: u32,
    /// A disaster run: the health check (Route 53's API, in us-east-1) is read
    /// if it answers, and the target Region's alarms decide if it does not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub health_check_best_effort: bool,
    /// HTTP(S) probes of the target Region's own endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::registry::HttpCheck>,
}

/// One application moving in one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMove {
    pub app: String,
    pub target: Side,
    pub from_region: String,
    pub to_region: String,
    /// The member account whose role every call for the app is made as (none: lifeboat's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::registry::Account>,
    pub database: DatabasePlan,
    /// Weight changes (weighted apps); empty for routing-control apps.
    pub dns: Vec<WeightChange>,
    /// Routing-control apps: the target's control On, the other Off, in one call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlChange>,
    pub verification: VerifyPlan,
    /// Applications this one depends on that move in the same phase (in an
    /// earlier wave): it moves only once they are active where it goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Dependency>,
    /// Compute raised in the target Region before the traffic moves, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<crate::capacity::CapacityMove>,
    /// A drill's failback: once home and verified, the drill Region's
    /// capacity is put back as the failover found it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restore_capacity: bool,
    /// The app's own steps (its hooks), the target Region's functions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<crate::hooks::HookPlan>,
}

impl AppMove {
    /// Its hooks that run at `when`.
    pub fn hooks_at(&self, when: crate::registry::HookWhen) -> impl Iterator<Item = &crate::hooks::HookPlan> {
        self.hooks.iter().filter(move |h| h.when == when)
    }
}

/// A dependency moving ahead of an app: active in the target once its records have these weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub app: String,
    pub dns: Vec<DesiredWeight>,
    /// A routing-control dependency: the states its move sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<(String, ControlState)>,
}

impl AppMove {
    /// Weights that make the target Region active.
    pub fn shift_weights(&self) -> Vec<DesiredWeight> {
        self.dns
            .iter()
            .map(|c| DesiredWeight {
                key: c.key.clone(),
                weight: c.after,
            })
            .collect()
    }
    /// Routing-control states that make the target Region active.
    pub fn shift_controls(&self) -> Vec<(String, ControlState)> {
        self.controls.iter().map(|c| (c.arn.clone(), c.after)).collect()
    }
    /// Routing-control states as they were before the phase (rollback).
    pub fn restore_controls(&self) -> Vec<(String, ControlState)> {
        self.controls.iter().map(|c| (c.arn.clone(), c.before)).collect()
    }
    /// Whether the move changes nothing (already where it should be).
    pub fn is_noop(&self) -> bool {
        self.dns.iter().all(|c| c.before == c.after) && self.controls.iter().all(|c| c.before == c.after)
    }
    /// Weights as they were before the phase (rollback).
    pub fn restore_weights(&self) -> Vec<DesiredWeight> {
        self.dns
            .iter()
            .map(|c| DesiredWeight {
                key: c.key.clone(),
                weight: c.before,
            })
            .collect()
    }
}

/// Applications that move together: their DNS changes go in one batch per zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    pub index: usize,
    pub apps: Vec<AppMove>,
    /// The ARC cluster's endpoints in the order to try them (the target
    /// Region's first); empty when no app of the run uses routing controls.
    #[serde(default)]
    pub arc_endpoints: Vec<ClusterEndpoint>,
    /// Break glass: override the ARC safety rules that refuse this wave's update.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub override_safety_rules: bool,
}

/// One direction of travel (a drill has two: failover, then failback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub action: Action,
    pub target: Side,
    pub waves: Vec<Wave>,
}

/// An application the request named that needs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub app: String,
    pub reason: String,
    /// Set when the app should have moved but could not (`Lifeboat.NotReady`
    /// when Route 53's API did not answer in a disaster): the run is then partial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::ErrorName>,
    /// With `error`: the Region it should have moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_region: Option<String>,
}

/// Everything the workflow will do, decided before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub run_id: String,
    pub action: Action,
    pub mode: Mode,
    pub trigger: TriggerKind,
    pub source: String,
    pub dry_run: bool,
    /// True when there is nothing to do (all apps already in place, or an ignored trigger).
    pub empty: bool,
    pub phases: Vec<Phase>,
    pub skipped: Vec<Skipped>,
    pub soak_seconds: u32,
    pub created_at: DateTime<Utc>,
    pub summary: String,
    /// The run lease's epoch, once validate took it (runs that change something).
    #[serde(default)]
    pub lease_epoch: Option<u64>,
    /// When the trigger happened (an alarm's state change), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<DateTime<Utc>>,
    /// How long the trigger waited before this run planned, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited: Option<crate::request::Waited>,
    /// A person approves before anything changes (the registry's `approval`
    /// lists this run's trigger kind); never for a dry run or an empty plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::registry::Approval>,
}

impl Plan {
    pub fn app_count(&self) -> usize {
        self.phases
            .first()
            .map(|p| p.waves.iter().map(|w| w.apps.len()).sum())
            .unwrap_or(0)
    }
}

/// What validate read of the world: the record sets and the routing controls
/// as they are, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub records: RecordIndex,
    pub controls: ControlStates,
    /// Set when Route 53's API did not answer (a disaster run goes on
    /// without it): why. Weighted apps cannot move then; routing-control
    /// apps move, their records unchecked.
    pub route53_unavailable: Option<String>,
}

impl Observed {
    /// Adds what another account's read observed.
    pub fn absorb(&mut self, other: Observed) {
        self.records.extend(other.records);
        self.controls.extend(other.controls);
        self.route53_unavailable = self.route53_unavailable.take().or(other.route53_unavailable);
    }
}

impl Plan {
    /// This plan with only the apps of `account` (none: lifeboat's own).
    pub fn of_account(&self, account: Option<&crate::registry::Account>) -> Plan {
        let mut plan = self.clone();
        for wave in plan.phases.iter_mut().flat_map(|p| p.waves.iter_mut()) {
            wave.apps.retain(|a| a.account.as_ref() == account);
        }
        plan
    }

    /// The member accounts its apps live in (lifeboat's own is not listed).
    pub fn member_accounts(&self) -> std::collections::BTreeSet<&crate::registry::Account> {
        self.phases
            .iter()
            .flat_map(|p| p.waves.iter())
            .flat_map(|w| w.apps.iter())
            .filter_map(|a| a.account.as_ref())
            .collect()
    }
}

impl From<RecordIndex> for Observed {
    fn from(records: RecordIndex) -> Self {
        Observed {
            records,
            ..Default::default()
        }
    }
}

/// Facts the plan needs that are not in the request or the registry.
#[derive(Debug, Clone)]
pub struct PlanContext {
    pub run_id: String,
    pub now: DateTime<Utc>,
}
