//! Requests and triggers: whatever started the run (a CloudWatch alarm through
//! EventBridge, a schedule, or a person), normalised into one [`Request`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod trigger;
pub use trigger::*;
#[cfg(test)]
pub(crate) mod tests;

crate::closed_names! {
    /// What the run does.
    pub enum Action {
        /// Make the secondary Region active.
        Failover = "failover",
        /// Make the primary Region active again (always planned).
        Failback = "failback",
        /// Failover then failback; with `dry_run` a practice run that changes nothing.
        Drill = "drill",
    }
}

crate::closed_names! {
    /// Planned operations may rely on the primary; disaster ones must not.
    pub enum Mode {
        Planned = "planned",
        Disaster = "disaster",
    }
}

crate::closed_names! {
    /// Where the run came from.
    pub enum TriggerKind {
        Alarm = "alarm",
        Schedule = "schedule",
        Manual = "manual",
        /// A request through the API (API Gateway), with its caller.
        Api = "api",
        /// Alarms kept while another run held the lease (or in the cooldown),
        /// still in ALARM when it ended: not held back by the cooldown.
        FollowUp = "followup",
    }
}

/// A follow-up run's input (`{"follow_up": {...}}`): the apps whose trigger
/// alarms, kept during `after_run` or its cooldown, were still in ALARM at
/// its end and had not moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub after_run: String,
    pub alarms: Vec<String>,
    pub apps: Vec<String>,
    /// When the earliest of its triggers came: the follow-up's recovery time starts there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Why its triggers waited (another run's lease, a cooldown, a refusal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waited_for: Vec<String>,
}

/// How long a run's trigger waited before the run started moving anything,
/// and why (a follow-up's triggers were kept while another run held the
/// lease, or through a cooldown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waited {
    /// When the earliest trigger came.
    pub since: DateTime<Utc>,
    pub seconds: i64,
    pub reason: String,
}

impl FollowUp {
    /// The input that starts it.
    pub fn input(&self) -> serde_json::Value {
        serde_json::json!({ "follow_up": self })
    }

    /// What started it, as run `run_id` tells it. An execution that waited
    /// out a cooldown takes up its own kept trigger (it is `after_run`):
    /// its cause is what turned it away, never itself.
    pub fn source_for(&self, run_id: &str) -> String {
        let alarms = self.alarms.join(", ");
        if self.after_run != run_id {
            return format!("alarm(s) {alarms} still in ALARM after run {}", self.after_run);
        }
        let why = if self.waited_for.is_empty() {
            "turned away".to_string()
        } else {
            self.waited_for.join("; ")
        };
        format!("alarm(s) {alarms} kept ({why}) and still in ALARM: taken up by this execution")
    }

    /// Why its triggers waited, as run `run_id` tells it.
    pub fn waited_reason_for(&self, run_id: &str) -> String {
        match (self.waited_for.is_empty(), self.after_run == run_id) {
            (false, _) => self.waited_for.join("; "),
            (true, false) => format!("kept while run {} held the lease", self.after_run),
            (true, true) => "kept while the lease or the cooldown turned it away".to_string(),
        }
    }
}

/// Which applications the request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "by", content = "value")]
pub enum AppSelection {
    All,
    Named(Vec<String>),
    /// The apps an alarm in ALARM triggers.
    Alarm(String),
    /// The apps an alarm gone to INSUFFICIENT_DATA triggers: only those whose
    /// `triggers.insufficient_data` is `failover`.
    AlarmWithoutData(String),
}

/// A normalised request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub action: Action,
    pub mode: Mode,
    pub trigger: TriggerKind,
    /// Alarm name, schedule rule, or the operator's reason.
    pub source: String,
    /// When the trigger happened (alarm state change, schedule time), if known.
    pub triggered_at: Option<DateTime<Utc>>,
    pub apps: AppSelection,
    pub dry_run: bool,
    /// Seconds to wait between the failover and failback of a real drill.
    pub soak_seconds: u32,
    /// Set when the trigger asks for nothing (e.g. an alarm back to OK).
    pub ignore: Option<String>,
    /// The operator accepts losing up to the measured replication lag: a
    /// disaster failover goes ahead even over an app's `max_rpo_seconds`.
    #[serde(default)]
    pub accept_data_loss: bool,
    /// Failback of apps whose database cannot be failed back automatically
    /// (promoted replicas, restored backups): move their DNS anyway, the
    /// database having been rebuilt by hand.
    #[serde(default)]
    pub move_dns_without_database: bool,
    /// The operator overrides ARC safety rules that refuse a routing-control
    /// update (break glass): the only way past one.
    #[serde(default)]
    pub override_safety_rules: bool,
}
