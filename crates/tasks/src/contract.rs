//! The data contract between the state machine and the tasks: what travels
//! in the execution's state (small, whatever the estate's size) and the
//! shapes the tasks keep in the journal (each wave's per-app progress;
//! [`crate::journal`] reads and writes them).
//!
//! The definition is generated from these types (crates/workflow); a test
//! here checks what the types cannot: that each wave task's payload parses.

use crate::shift_dns::{ArcReport, ChangeRef};
use chrono::{DateTime, Utc};
use lifeboat_core::FailureName;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::outcome::DatabaseOutcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The error object Step Functions puts at a Catch's ResultPath.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesError {
    #[serde(rename = "Error")]
    pub error: FailureName,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl StatesError {
    pub fn new(error: impl Into<FailureName>, cause: impl Into<String>) -> Self {
        StatesError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Which wave a wave task works on; the rest it reads from the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveRef {
    pub run_id: String,
    pub phase: usize,
    pub wave: usize,
}

pub use lifeboat_core::outcome::DbStatus;

/// An app's database step as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbProgress {
    pub status: DbStatus,
    pub checks: u32,
    /// The promote call was throttled (AWS's quota, after the SDK's retries):
    /// it is made again at the next check, this app alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry_promote: bool,
    /// The new writer's endpoint, once writable.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// What the journal will say of it.
    pub outcome: DatabaseOutcome,
}

lifeboat_core::closed_names! {
    /// An app's verification.
    pub enum VerifyStatus {
        Pending = "pending",
        Verified = "verified",
        /// Out of checks: rolled back.
        Failed = "failed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyProgress {
    pub status: VerifyStatus,
    pub checks: u32,
    pub detail: String,
    /// When it was verified (or given up on).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// One app's progress through its wave.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppProgress {
    #[serde(default)]
    pub database: Option<DbProgress>,
    /// Its traffic was moved (weights or routing controls).
    #[serde(default)]
    pub shifted: bool,
    #[serde(default)]
    pub verify: Option<VerifyProgress>,
    /// Its traffic was put back (failed verification, or the wave's rollback).
    #[serde(default)]
    pub rolled_back: bool,
    /// When its traffic change was made, its verification first checked, and
    /// its traffic put back (the execution's clock: the report's timeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shifted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_at: Option<DateTime<Utc>>,
    /// Its capacity steps, in the registry's order (those reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<lifeboat_core::capacity::CapacityOutcome>,
    /// A drill's failback: the failover's capacity steps, with what putting them back did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_restored: Vec<lifeboat_core::capacity::CapacityOutcome>,
    /// Its hooks that ran, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<lifeboat_core::hooks::HookOutcome>,
}

impl AppProgress {
    /// A hook before `when` (or at it) failed: the app's move stops there.
    pub fn hook_failed_before_traffic(&self) -> Option<&lifeboat_core::hooks::HookOutcome> {
        use lifeboat_core::registry::HookWhen;
        self.hooks.iter().find(|h| {
            h.status == lifeboat_core::hooks::HookStatus::Failed
                && matches!(h.when, HookWhen::BeforeDatabase | HookWhen::BeforeTraffic)
        })
    }
}

/// A wave's progress, kept in the journal between its tasks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WaveProgress {
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// By app name.
    #[serde(default)]
    pub apps: BTreeMap<String, AppProgress>,
    /// The shift's routing-control update, if any.
    #[serde(default)]
    pub arc: Option<ArcReport>,
    /// Why the whole wave was rolled back, if it was.
    #[serde(default)]
    pub failed: Option<StatesError>,
    /// Why rolling back failed, if it did.
    #[serde(default)]
    pub rollback_error: Option<String>,
}

/// What a wave task returns to the state machine: counts, never apps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WaveStep {
    /// Apps still waiting (database or verification): the loop goes on while > 0.
    pub pending: usize,
    /// Seconds to wait before the next check.
    pub interval_seconds: u32,
    pub done: usize,
    pub failed: usize,
    /// Route 53 changes to wait for.
    #[serde(default)]
    pub changes: Vec<ChangeRef>,
    /// One line for people (progress, console).
    pub summary: String,
    /// The AWS calls this step made; a check loop's is its running total
    /// (each task counts its own).
    #[serde(default)]
    pub api_calls: ApiCalls,
}

#[cfg(test)]
mod tests {
    //! The definition against the contract, where the workflow crate's types
    //! do not yet guarantee it: what a wave task's payload parses as. (Error
    //! names, modes, run statuses, the fields selected from each task's
    //! output and the retry policies are typed in crates/workflow.)

    use serde_json::Value;

    const DEFINITION: &str = include_str!("../../../statemachine/lifeboat.asl.json");

    /// Every state, with its name, however deep (Map and Parallel bodies).
    fn states(def: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        fn walk(states: &Value, out: &mut Vec<(String, Value)>) {
            for (name, st) in states.as_object().into_iter().flatten() {
                out.push((name.clone(), st.clone()));
                if let Some(body) = st.get("ItemProcessor").or_else(|| st.get("Iterator")) {
                    walk(&body["States"], out);
                }
                for b in st["Branches"].as_array().into_iter().flatten() {
                    walk(&b["States"], out);
                }
            }
        }
        walk(&def["States"], &mut out);
        out
    }

    #[test]
    fn wave_task_inputs_parse_what_the_definition_passes() {
        use crate::TaskKind;
        let def: Value = serde_json::from_str(DEFINITION).unwrap();
        let mut checked = Vec::new();
        for (name, st) in states(&def).into_iter().filter(|(_, s)| s["Type"] == "Task") {
            let function = st["Parameters"]["FunctionName"].as_str().unwrap_or_default();
            let wave_task = [
                TaskKind::PromoteDatabases,
                TaskKind::CheckDatabases,
                TaskKind::ShiftDns,
                TaskKind::VerifyApps,
            ]
            .iter()
            .any(|k| function == format!("${{{}}}", k.placeholder()));
            if !wave_task {
                continue;
            }
            checked.push(name.clone());
            // The payload with each path replaced by a value of its kind.
            let mut payload = serde_json::Map::new();
            for (k, v) in st["Parameters"]["Payload"].as_object().into_iter().flatten() {
                match k.strip_suffix(".$") {
                    Some(field) => {
                        let value = match field {
                            "run_id" => Value::String("r".into()),
                            "phase" | "wave" => Value::from(0),
                            "started_at" | "entered_at" => Value::String("2026-11-29T00:00:00Z".into()),
                            "api_calls" => serde_json::json!({"route53:ChangeResourceRecordSets": 1}),
                            "error" => serde_json::json!({"Error": "Lifeboat.Internal", "Cause": "x"}),
                            _ => serde_json::json!({}),
                        };
                        payload.insert(field.to_string(), value);
                    }
                    None => {
                        payload.insert(k.clone(), v.clone());
                    }
                }
            }
            serde_json::from_value::<crate::wave::WaveInput>(Value::Object(payload))
                .unwrap_or_else(|e| panic!("{name}'s payload does not parse as WaveInput: {e}"));
        }
        // PromoteDatabases, CheckDatabases, ShiftDns, VerifyApps, RecheckApps,
        // RollbackUnverified, RollbackWave.
        assert_eq!(checked.len(), 7, "{checked:?}");
    }
}
