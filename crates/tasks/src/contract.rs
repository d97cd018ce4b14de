//! The data contract between the state machine and the tasks: what travels
//! in the execution's state (small, whatever the estate's size) and what the
//! tasks keep in the journal (the plan and each wave's per-app progress).
//!
//! Every string the definition compares or produces is one of the enums
//! here; a test reads `statemachine/lifeboat.asl.json` and checks it.

use crate::shift_dns::{ArcReport, ChangeRef};
use chrono::{DateTime, Utc};
use lifeboat_aws::ports::Journal;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::outcome::DatabaseOutcome;
use lifeboat_core::plan::Plan;
use lifeboat_core::{FailureName, LifeboatError};
use serde::de::DeserializeOwned;
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
    /// (set by dispatch, which counts them).
    #[serde(default)]
    pub api_calls: ApiCalls,
}

/// Journal document keys of a run.
pub mod keys {
    /// The plan without its waves' apps.
    pub const PLAN: &str = "plan";
    pub fn wave_prefix(phase: usize, wave: usize) -> String {
        format!("w#{phase}#{wave}#")
    }
    /// The wave itself: its apps and its ARC endpoints.
    pub fn wave(phase: usize, wave: usize) -> String {
        format!("w#{phase}#{wave}#apps")
    }
    pub fn wave_progress(phase: usize, wave: usize) -> String {
        format!("w#{phase}#{wave}#progress")
    }
}

/// A journal document's text.
pub(crate) fn to_text<T: Serialize>(v: &T) -> Result<String, LifeboatError> {
    serde_json::to_string(v).map_err(|e| LifeboatError::internal(format!("cannot serialise: {e}")))
}

fn from_text<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, LifeboatError> {
    serde_json::from_str(text)
        .map_err(|e| LifeboatError::internal(format!("journal document {key} is unreadable: {e}")))
}

/// Writes the plan: its header and each wave whole (one BatchWriteItem for
/// most estates), so a wave task reads its wave in one Query.
pub async fn store_plan(journal: &dyn Journal, plan: &Plan) -> Result<(), LifeboatError> {
    let mut docs = vec![(keys::PLAN.to_string(), to_text(&plan.header())?)];
    for (p, phase) in plan.phases.iter().enumerate() {
        for w in &phase.waves {
            let stored = StoredWave {
                wave: w,
                lease_epoch: plan.lease_epoch,
            };
            docs.push((keys::wave(p, w.index), to_text(&stored)?));
        }
    }
    journal.put_docs(&plan.run_id, &docs).await?;
    Ok(())
}

/// A wave and its progress so far.
#[derive(Debug, Clone)]
pub struct LoadedWave {
    pub wave: lifeboat_core::plan::Wave,
    pub progress: WaveProgress,
    /// The run lease's epoch when validate took it: the fencing token the
    /// wave's changes are checked against (None for a dry run).
    pub lease_epoch: Option<u64>,
}

/// A wave as stored: the wave, with the lease epoch its run was given.
#[derive(Serialize, serde::Deserialize)]
struct StoredWave<W> {
    #[serde(flatten)]
    wave: W,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_epoch: Option<u64>,
}

/// Reads a wave (its apps and ARC endpoints) and its progress, in one Query.
pub async fn load_wave(journal: &dyn Journal, at: &WaveRef) -> Result<LoadedWave, LifeboatError> {
    let docs = journal
        .get_docs(&at.run_id, &keys::wave_prefix(at.phase, at.wave))
        .await?;
    let apps_key = keys::wave(at.phase, at.wave);
    let stored: StoredWave<lifeboat_core::plan::Wave> = match docs.get(&apps_key) {
        Some(t) => from_text(&apps_key, t)?,
        None => {
            return Err(LifeboatError::internal(format!(
                "run {}: wave {}/{} is not in the journal (validate writes the plan)",
                at.run_id, at.phase, at.wave
            )));
        }
    };
    let progress_key = keys::wave_progress(at.phase, at.wave);
    let progress = match docs.get(&progress_key) {
        Some(t) => from_text(&progress_key, t)?,
        None => WaveProgress::default(),
    };
    Ok(LoadedWave {
        wave: stored.wave,
        progress,
        lease_epoch: stored.lease_epoch,
    })
}

/// Writes a wave's progress.
pub async fn save_progress(journal: &dyn Journal, at: &WaveRef, progress: &WaveProgress) -> Result<(), LifeboatError> {
    journal
        .put_docs(
            &at.run_id,
            &[(keys::wave_progress(at.phase, at.wave), to_text(progress)?)],
        )
        .await?;
    Ok(())
}

/// A run's plan and every wave's progress, as the journal has them.
pub type LoadedRun = (Plan, BTreeMap<(usize, usize), WaveProgress>);

/// The whole plan and every wave's progress, for the record.
pub async fn load_run(journal: &dyn Journal, run_id: &str) -> Result<LoadedRun, LifeboatError> {
    try_load_run(journal, run_id).await?.ok_or_else(|| {
        LifeboatError::internal(format!(
            "run {run_id}: the plan is not in the journal (validate writes it)"
        ))
    })
}

/// As [`load_run`]; `None` when the run has no plan (it stopped before validate planned).
pub async fn try_load_run(journal: &dyn Journal, run_id: &str) -> Result<Option<LoadedRun>, LifeboatError> {
    let docs = journal.get_docs(run_id, "").await?;
    let mut plan: Plan = match docs.get(keys::PLAN) {
        Some(t) => from_text(keys::PLAN, t)?,
        None => return Ok(None),
    };
    let mut progress = BTreeMap::new();
    for (p, phase) in plan.phases.iter_mut().enumerate() {
        for w in phase.waves.iter_mut() {
            let apps_key = keys::wave(p, w.index);
            if let Some(t) = docs.get(&apps_key) {
                *w = from_text(&apps_key, t)?;
            }
            let progress_key = keys::wave_progress(p, w.index);
            if let Some(t) = docs.get(&progress_key) {
                progress.insert((p, w.index), from_text(&progress_key, t)?);
            }
        }
    }
    Ok(Some((plan, progress)))
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
        let def: Value = serde_json::from_str(DEFINITION).unwrap();
        for (name, st) in states(&def).into_iter().filter(|(_, s)| s["Type"] == "Task") {
            let function = st["Parameters"]["FunctionName"].as_str().unwrap_or_default();
            let wave_task = [
                "PromoteDatabaseFunctionArn",
                "CheckDatabaseFunctionArn",
                "ShiftDnsFunctionArn",
                "VerifyTrafficFunctionArn",
            ]
            .iter()
            .any(|f| function == format!("${{{f}}}"));
            if !wave_task {
                continue;
            }
            // The payload with each path replaced by a value of its kind.
            let mut payload = serde_json::Map::new();
            for (k, v) in st["Parameters"]["Payload"].as_object().into_iter().flatten() {
                match k.strip_suffix(".$") {
                    Some(field) => {
                        let value = match field {
                            "run_id" => Value::String("r".into()),
                            "phase" | "wave" => Value::from(0),
                            "started_at" | "entered_at" => Value::String("2026-11-29T00:00:00Z".into()),
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
    }
}
