//! The application registry: which applications lifeboat moves, their DNS
//! record pairs, databases, verification and the alarms that select them.
//!
//! The file format (YAML or JSON) is described by a JSON Schema generated from
//! these types (`schema/registry.schema.json`); [`parse_registry`] checks a
//! document against it and then checks what a schema cannot say (unique names,
//! known dependencies, no cycles), reporting every problem with its field path.

/// Route 53's name rules live with the records (`dns`); the registry uses them.
pub use crate::dns::{normalize_record_name, normalize_zone_id};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod account;
mod approval;
mod capacity;
mod database;
mod hooks;
pub mod regions;
mod validate;
mod verification;

pub use account::*;
pub use approval::*;
pub use capacity::*;
pub use database::*;
pub use hooks::*;
pub use validate::*;
pub use verification::*;

#[cfg(test)]
pub(crate) mod tests;

/// The registry file's format version.
pub const REGISTRY_VERSION: u32 = 1;

/// A lifeboat registry: every application lifeboat may move between Regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lifeboat registry")]
pub struct Registry {
    /// Format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The Route 53 ARC cluster whose routing controls move the traffic of
    /// apps with `traffic.routing_controls` (required when any app has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_control_cluster: Option<RoutingControlCluster>,
    /// A person approves before anything changes, for the trigger kinds listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// The applications, in any order (waves come from `tier` and `depends_on`).
    pub applications: Vec<Application>,
}

/// A Route 53 ARC cluster: its regional endpoints, as DescribeCluster lists
/// them. A run tries them one after the other (the recovery Region's first)
/// until one answers; no control-configuration call is ever on a run's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingControlCluster {
    /// The cluster's regional endpoints (ARC gives five).
    #[schemars(length(min = 1, max = 5))]
    pub endpoints: Vec<ClusterEndpoint>,
}

/// One regional endpoint of an ARC cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterEndpoint {
    /// The endpoint's Region (requests to it are signed for this Region).
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
    /// The endpoint URL, e.g. `https://host-aaaa.us-east-1.example.aws/v1`.
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
}

impl RoutingControlCluster {
    /// The endpoints in the order a run tries them: `first_region`'s first,
    /// then the others as listed.
    pub fn endpoints_from(&self, first_region: &str) -> Vec<ClusterEndpoint> {
        let (mut first, rest): (Vec<_>, Vec<_>) =
            self.endpoints.iter().cloned().partition(|e| e.region == first_region);
        first.extend(rest);
        first
    }
}

/// How an application's traffic moves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Route 53 ARC routing controls, one per Region: failover turns the
    /// target's On and the other Off in one call (data plane only, so it
    /// works with us-east-1 dark). The app's `dns` records are then only
    /// checked, never edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_controls: Option<BySide<String>>,
}

/// One application, active in one Region at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Unique name: lowercase letters, digits and dashes.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    /// Lower tiers move first (tier 0 before tier 1).
    #[serde(default)]
    pub tier: u32,
    /// Applications that must be active in the target Region before this one moves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The Region that normally serves traffic and the one that takes over.
    pub regions: RegionPair,
    /// Another AWS account the app lives in: every call for it (records,
    /// routing controls, databases, alarms, capacity, hooks) is made as this
    /// role. Absent: the account lifeboat runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Account")]
    pub account: Option<Account>,
    /// Weighted Route 53 record pairs to shift.
    #[schemars(length(min = 1))]
    pub dns: Vec<DnsRecordPair>,
    /// The application's database and how it follows the traffic.
    #[serde(default)]
    pub database: Database,
    /// How to tell the target Region serves traffic well.
    #[serde(default)]
    pub verification: Verification,
    /// The CloudWatch alarms whose ALARM state fails this application over.
    #[serde(default)]
    pub triggers: Triggers,
    /// How its traffic moves: weighted records (the default) or ARC routing controls.
    #[serde(default, skip_serializing_if = "Traffic::is_weighted")]
    pub traffic: Traffic,
    /// How its outage is detected from the recovery Region (a probe and its alarm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    /// Compute raised in the target Region before its traffic moves, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<CapacityStep>,
    /// Its own steps: Lambda functions invoked in the target Region during its move.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
}

impl Traffic {
    pub fn is_weighted(&self) -> bool {
        self.routing_controls.is_none()
    }
}

impl Application {
    /// The detection probe's alarm name, if the app has a probe.
    pub fn detection_alarm(&self) -> Option<String> {
        self.detection.as_ref().map(|d| {
            d.probe
                .alarm_name
                .clone()
                .unwrap_or_else(|| format!("lifeboat-probe-{}", self.name))
        })
    }

    /// Whether `alarm` triggers this app (its trigger alarms and its probe's alarm).
    pub fn triggered_by(&self, alarm: &str) -> bool {
        self.triggers.alarms.iter().any(|n| n == alarm) || self.detection_alarm().as_deref() == Some(alarm)
    }

    /// The routing controls that move this app's traffic, if it uses them.
    pub fn routing_controls(&self) -> Option<&BySide<String>> {
        self.traffic.routing_controls.as_ref()
    }
}

/// A primary and a secondary Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionPair {
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub primary: String,
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub secondary: String,
}

impl RegionPair {
    pub fn get(&self, side: Side) -> &str {
        match side {
            Side::Primary => &self.primary,
            Side::Secondary => &self.secondary,
        }
    }
}

crate::closed_names! {
    /// Which of an application's two Regions.
    #[derive(PartialOrd, Ord, JsonSchema)]
    pub enum Side {
        Primary = "primary",
        Secondary = "secondary",
    }
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Primary => Side::Secondary,
            Side::Secondary => Side::Primary,
        }
    }
}

/// A value for each side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, bound(deserialize = "T: Deserialize<'de> + Default"))]
#[schemars(bound = "T: JsonSchema + Default")]
pub struct BySide<T> {
    #[serde(default)]
    pub primary: T,
    #[serde(default)]
    pub secondary: T,
}

impl<T> BySide<Vec<T>> {
    pub fn is_empty(&self) -> bool {
        self.primary.is_empty() && self.secondary.is_empty()
    }
}

impl<T> BySide<T> {
    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Primary => &self.primary,
            Side::Secondary => &self.secondary,
        }
    }
}

crate::closed_names! {
    // The ShiftDns IAM policy allows exactly these (a test compares).
    /// The record types a Region switch moves: addresses and aliases. Route
    /// 53 weights other types too (MX, TXT, ...), but lifeboat's IAM policy
    /// lets ShiftDns change only these, so a registry naming another is
    /// refused here rather than AccessDenied mid-run.
    #[derive(PartialOrd, Ord, JsonSchema)]
    #[allow(clippy::upper_case_acronyms)]
    pub enum RecordType {
        A = "A",
        AAAA = "AAAA",
        CNAME = "CNAME",
    }
}

fn default_active_weight() -> u8 {
    100
}

/// Two weighted records of one name and type, one per Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsRecordPair {
    /// The hosted zone id (`Z...`; a `/hostedzone/` prefix is accepted).
    #[schemars(length(min = 1))]
    pub hosted_zone_id: String,
    /// The record name, e.g. `api.example.com.`.
    #[schemars(length(min = 1, max = 1024))]
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// The `SetIdentifier` of each Region's weighted record.
    pub set_identifiers: BySide<String>,
    /// The weight of the active Region's record (1-255; default 100).
    #[serde(default = "default_active_weight")]
    #[schemars(range(min = 1))]
    pub active_weight: u8,
    /// The weight of the standby Region's record (default 0: no traffic).
    #[serde(default)]
    pub standby_weight: u8,
}

impl DnsRecordPair {
    /// The key of `side`'s weighted record.
    pub fn key(&self, side: Side) -> crate::dns::RecordKey {
        crate::dns::RecordKey::new(
            &self.hosted_zone_id,
            &self.name,
            self.record_type.as_str(),
            self.set_identifiers.get(side),
        )
    }

    /// The weight the record of `side` should have when `active` serves traffic.
    pub fn weight_for(&self, side: Side, active: Side) -> i64 {
        if side == active {
            i64::from(self.active_weight)
        } else {
            i64::from(self.standby_weight)
        }
    }
}

impl Registry {
    pub fn app(&self, name: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.name == name)
    }

    /// Applications this alarm triggers (`triggers.alarms`, or their probe's alarm).
    pub fn apps_for_alarm(&self, alarm: &str) -> Vec<&Application> {
        self.applications.iter().filter(|a| a.triggered_by(alarm)).collect()
    }

    /// The registry as a YAML document (as `registry apply` reads it).
    pub fn to_yaml(&self) -> Result<String, serde_yaml_ng::Error> {
        serde_yaml_ng::to_string(self)
    }
}
