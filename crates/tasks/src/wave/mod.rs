//! The wave tasks: each works on a whole wave (all its apps, a bounded number
//! at a time) and keeps the per-app progress in the journal, so the state
//! machine's data and history grow with waves, not with applications.
//!
//! Each module is named after the state it serves:
//! - PromoteDatabases: each app's database promoted (after its dependencies
//!   are checked), then one look whether it is writable;
//! - CheckDatabases: one more look at the databases still pending (the state
//!   machine's Wait + check loop), each bounded by its own deadline;
//! - ScaleCapacity: each app's Auto Scaling groups and ECS services raised
//!   in the target Region, then looked at until in service (its own Wait +
//!   check loop), each step bounded by its deadline; at a drill's end, the
//!   drill Region's capacity put back;
//! - RunHooks: the apps' own functions at a point of their move (before
//!   the database, before the traffic, after verification), a failure
//!   before traffic holding that app back;
//! - ShiftDns: the wave's traffic (routing controls and weights) for the apps
//!   whose database and capacity are ready;
//! - RollbackUnverified and RollbackWave ([`rollback`]): the traffic of the
//!   apps that failed verification, or of the whole wave, put back;
//! - VerifyApps: one check of every moved app not yet verified (alarms read
//!   in batches of 100 per Region), each bounded by its own deadline.

use crate::contract::{DbProgress, DbStatus, StatesError, WaveRef, WaveStep};
use crate::services::Services;
use crate::shift_dns::ShiftMode;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::plan::AppMove;
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};

mod check_databases;
mod promote_databases;
pub mod rollback;
mod run_hooks;
mod scale_capacity;
mod shift_dns;
mod verify_apps;
pub use check_databases::*;
pub use promote_databases::*;
pub use run_hooks::*;
pub use scale_capacity::*;
pub use shift_dns::*;
pub use verify_apps::*;
#[cfg(test)]
mod tests;

/// Apps worked on at once within a wave task.
pub const CONCURRENCY: usize = 16;

/// What the state machine passes to a wave task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveInput {
    pub run_id: String,
    pub phase: usize,
    pub wave: usize,
    /// When the wave started (promote_wave notes it).
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// shift_wave: shift, or roll back.
    #[serde(default)]
    pub mode: Option<ShiftMode>,
    /// shift_wave rollback of the whole wave: the error that stopped it.
    #[serde(default)]
    pub error: Option<StatesError>,
    /// When the state machine entered the task's state: the clock the
    /// progress is stamped with (the execution's; Utc::now() without it).
    #[serde(default)]
    pub entered_at: Option<DateTime<Utc>>,
    /// A check loop's running total of calls, from its previous check.
    #[serde(default)]
    pub api_calls: Option<ApiCalls>,
    /// ScaleCapacity at a drill's end: put the drill Region's capacity back.
    #[serde(default)]
    pub restore: bool,
    /// RunHooks: the point of the move whose hooks run.
    #[serde(default)]
    pub when: Option<lifeboat_core::registry::HookWhen>,
}

impl WaveInput {
    /// The wave it works on.
    pub fn at(&self) -> WaveRef {
        WaveRef {
            run_id: self.run_id.clone(),
            phase: self.phase,
            wave: self.wave,
        }
    }
}

/// A check loop's step (CheckDatabases, VerifyApps and their rechecks):
/// stamped on the execution's clock, its calls added to the running total
/// the loop's previous step passed in.
async fn check_loop_step<F, Fut>(s: &Services, input: WaveInput, look: F) -> Result<WaveStep, LifeboatError>
where
    F: FnOnce(DateTime<Utc>, WaveInput) -> Fut,
    Fut: std::future::Future<Output = Result<WaveStep, LifeboatError>>,
{
    let at = input.entered_at.unwrap_or_else(Utc::now);
    let carried = input.api_calls.clone();
    let mut step = look(at, input).await?;
    step.api_calls = s.calls_made(carried.as_ref());
    Ok(step)
}

/// Runs `job` on each item, [`CONCURRENCY`] at a time (results in the order they finish).
async fn bounded<T, O, F, Fut>(items: Vec<T>, job: F) -> Vec<O>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = O>,
{
    futures::stream::iter(items.into_iter().map(job))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

fn needs_database_step(app: &AppMove) -> bool {
    use lifeboat_core::database::DbAction;
    let rebuilt_with_cname = app.database.action == DbAction::ManualRebuild && app.database.endpoint_record.is_some();
    app.database.action.changes_database() || rebuilt_with_cname || !app.depends_on.is_empty()
}

fn seconds(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    match (from, to) {
        (Some(f), Some(t)) => Some((t - f).num_milliseconds() as f64 / 1000.0),
        _ => None,
    }
}

fn set_status(p: &mut DbProgress, status: DbStatus, error: Option<ErrorName>, detail: String) {
    p.status = status;
    p.outcome.status = status;
    p.outcome.error = error;
    p.outcome.detail = detail;
}

/// A failure of one app's step that does not stop the wave: it is that app's.
fn app_failure(e: &LifeboatError) -> bool {
    e.name != ErrorName::Throttled
}

/// A run changes nothing once its lease was broken or taken over: the
/// epoch validate was given is the fencing token, checked before each change.
async fn fence(s: &Services, run_id: &str, epoch: Option<u64>) -> Result<(), LifeboatError> {
    let Some(epoch) = epoch else {
        return Ok(());
    };
    if s.lease.holds(run_id, epoch).await? {
        return Ok(());
    }
    tracing::error!(run = %run_id, epoch, "the run lease moved on: refusing to change anything");
    Err(LifeboatError::new(
        ErrorName::LeaseHeld,
        format!(
            "run {run_id} no longer holds the run lease it took (epoch {epoch}): an operator released it \
             or another run took it over; this step changed nothing"
        ),
    ))
}
