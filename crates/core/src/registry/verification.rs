//! How the target Region is judged healthy after traffic moved, how an
//! outage is detected, and which alarms start a failover.

use super::BySide;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn default_deadline() -> u32 {
    300
}
fn default_interval() -> u32 {
    15
}

/// What must be healthy in the target Region after DNS moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Route 53 health check id of each Region's endpoint; the target's must be healthy.
    #[serde(default)]
    pub health_checks: BySide<Option<String>>,
    /// CloudWatch alarm names in each Region; the target's must all be OK.
    #[serde(default)]
    pub alarms: BySide<Vec<String>>,
    /// HTTP(S) probes of each Region's own endpoint, made by the verify task
    /// from the recovery Region: the target's must answer as expected. They
    /// need nothing from Route 53 or the failed Region.
    #[serde(default, skip_serializing_if = "BySide::is_empty")]
    pub probes: BySide<Vec<HttpCheck>>,
    /// How long to wait for healthy traffic before rolling the app back.
    #[serde(default = "default_deadline")]
    #[schemars(range(min = 1, max = 86400))]
    pub deadline_seconds: u32,
    /// How often to check.
    #[serde(default = "default_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub interval_seconds: u32,
}

impl Default for Verification {
    fn default() -> Self {
        Verification {
            health_checks: BySide::default(),
            alarms: BySide::default(),
            probes: BySide::default(),
            deadline_seconds: default_deadline(),
            interval_seconds: default_interval(),
        }
    }
}

fn default_expect_status() -> u16 {
    200
}

/// One HTTP(S) GET and the status it must answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// e.g. `https://api-usw2.example.com/health` (the Region's own endpoint, not the failover name).
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
    /// The status a healthy endpoint answers (default 200).
    #[serde(default = "default_expect_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: u16,
}

fn default_failures() -> u32 {
    3
}

/// A probe of the primary Region's endpoint, made every minute from the
/// recovery Region: its CloudWatch alarm there fails the app over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectionProbe {
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
    #[serde(default = "default_expect_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: u16,
    /// Failed probes in a row (one a minute) before the alarm goes to ALARM.
    #[serde(default = "default_failures")]
    #[schemars(range(min = 1, max = 10))]
    pub failures: u32,
    /// The alarm's name (default `lifeboat-probe-APP`); it is one of the app's trigger alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<String>,
}

/// How the app's failure is detected from the recovery Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    pub probe: DetectionProbe,
}

/// The CloudWatch metric the probe publishes, per app, in the recovery Region.
pub const PROBE_NAMESPACE: &str = "Lifeboat/Probe";
pub const PROBE_METRIC: &str = "ProbeSuccess";
pub const PROBE_DIMENSION: &str = "Application";
/// Published once a round (no dimensions), whatever the probes found: its
/// absence means the probe itself stopped, not the primaries.
pub const PROBE_HEARTBEAT_METRIC: &str = "ProbeHeartbeat";
/// ALARM when the probe has not reported for [`PROBE_HEARTBEAT_MINUTES`]
/// minutes. Outside the probe alarms' name prefix: it starts nothing.
pub const PROBE_HEARTBEAT_ALARM: &str = "lifeboat-heartbeat-missing-probe";
pub const PROBE_HEARTBEAT_MINUTES: u32 = 2;

/// The metric alarm under an app's probe alarm: ALARM after its failed
/// minutes. The probe alarm itself (the trigger) is a composite, ALARM when
/// this one is and the heartbeat is not missing. Outside the probe alarms'
/// name prefix, so its own state changes start nothing.
pub fn probe_signal_alarm(probe_alarm: &str) -> String {
    format!("lifeboat-signal-{probe_alarm}")
}

/// The probe alarm's rule: its signal, unless the probe itself stopped.
pub fn probe_alarm_rule(probe_alarm: &str) -> String {
    format!(
        "ALARM(\"{}\") AND NOT ALARM(\"{PROBE_HEARTBEAT_ALARM}\")",
        probe_signal_alarm(probe_alarm)
    )
}

crate::closed_names! {
    /// What an INSUFFICIENT_DATA trigger alarm does.
    #[derive(Default, JsonSchema)]
    pub enum InsufficientData {
        /// Nothing (the default): an alarm without data is not evidence of an outage.
        #[default]
        Ignore = "ignore",
        /// Fail over, as on ALARM: for alarms whose data stops when the primary dies.
        Failover = "failover",
    }
}

/// What starts a failover of this application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// CloudWatch alarm names (in the primary Region's monitoring, or the
    /// recovery Region's). The detection probe's alarm is one implicitly.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// What a trigger alarm going to INSUFFICIENT_DATA does (default: ignore).
    #[serde(default, skip_serializing_if = "is_default")]
    pub insufficient_data: InsufficientData,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
