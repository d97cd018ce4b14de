//! The journal's documents of a run: the plan (written by Validate, each
//! wave whole so a wave task reads it in one Query), each wave's progress
//! between its tasks, and the whole run for the record. The shapes they hold
//! are the contract's ([`crate::contract`]); this module reads and writes
//! them through the [`Journal`] port.

use crate::contract::{WaveProgress, WaveRef};
use lifeboat_aws::ports::Journal;
use lifeboat_core::LifeboatError;
use lifeboat_core::plan::Plan;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

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

pub(crate) fn from_text<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, LifeboatError> {
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

/// The run's plan without its waves' apps (what a step needs of the run: action, mode).
pub async fn load_plan_header(journal: &dyn Journal, run_id: &str) -> Result<Plan, LifeboatError> {
    let docs = journal.get_docs(run_id, keys::PLAN).await?;
    match docs.get(keys::PLAN) {
        Some(t) => from_text(keys::PLAN, t),
        None => Err(LifeboatError::internal(format!(
            "run {run_id}: the plan is not in the journal (validate writes it)"
        ))),
    }
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
