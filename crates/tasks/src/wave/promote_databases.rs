//! PromoteDatabases: every database of the wave that has to be made writable
//! in the target Region is (after its dependencies are checked), then looked
//! at once.

use super::check_databases::check_and_save;
use super::*;
use crate::contract::{DbProgress, DbStatus, WaveStep};
use crate::database::{PromoteInput, PromoteOutcome, promote_database};
use crate::dispatch::TaskKind;
use crate::journal::{LoadedWave, load_wave};
use crate::services::Services;
use crate::task::Task;
use chrono::{DateTime, Utc};
use lifeboat_core::outcome::DatabaseOutcome;
use lifeboat_core::plan::AppMove;
use lifeboat_core::{ErrorName, LifeboatError};

/// Promotes every database of the wave that has to be, then looks once
/// whether each is writable.
pub async fn promote_wave(s: &Services, now: DateTime<Utc>, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at()).await?;
    // Progress is stamped on the execution's clock; `now` (real time) is for AWS's data (lag windows).
    let at = input.entered_at.unwrap_or(now);
    progress.started_at = progress.started_at.or(input.started_at).or(Some(at));
    let started = progress.started_at;
    let todo: Vec<&AppMove> = wave
        .apps
        .iter()
        .filter(|a| needs_database_step(a))
        // A hook before the database failed: this app is held back.
        .filter(|a| {
            progress
                .apps
                .get(&a.app)
                .is_none_or(|p| p.hook_failed_before_traffic().is_none())
        })
        .filter(|a| progress.apps.get(&a.app).and_then(|p| p.database.as_ref()).is_none())
        .collect();
    if todo.iter().any(|a| a.database.action.changes_database()) {
        fence(s, &input.run_id, lease_epoch).await?;
    }
    let endpoints = wave.arc_endpoints.clone();
    // Owned inputs: the futures run a few at a time and must be 'static-friendly (Send for any lifetime).
    let jobs: Vec<(Services, PromoteInput)> = todo
        .into_iter()
        .map(|app| {
            (
                s.for_app(app),
                PromoteInput {
                    run_id: input.run_id.clone(),
                    app: app.clone(),
                    arc_endpoints: endpoints.clone(),
                },
            )
        })
        .collect();
    let results: Vec<(String, Result<crate::database::PromoteOutput, LifeboatError>)> =
        bounded(jobs, |(s, input)| async move {
            let name = input.app.app.clone();
            let out = promote_database(&*s.databases, &*s.lag, &*s.dns_read, &*s.arc, now, input).await;
            (name, out)
        })
        .await;
    for (name, result) in results {
        let Some(app) = wave.apps.iter().find(|a| a.app == name) else {
            continue;
        };
        let mut p = DbProgress {
            status: DbStatus::Pending,
            checks: 0,
            retry_promote: false,
            endpoint: None,
            outcome: DatabaseOutcome::of(&app.database, DbStatus::Pending, String::new()),
        };
        p.outcome.started_at = started;
        apply_promote(&mut p, result);
        progress.apps.entry(name).or_default().database = Some(p);
    }
    // One look right away: a database already the writer needs no wait.
    check_and_save(s, at, &input, &wave, progress).await
}

/// What a promote call came to, in the app's progress. A throttled call
/// (after the SDK's retries) leaves this app pending, to be made again at
/// the next check: one app's throttle never fails the wave.
pub(super) fn apply_promote(p: &mut DbProgress, result: Result<crate::database::PromoteOutput, LifeboatError>) {
    p.retry_promote = false;
    match result {
        Ok(out) => {
            p.outcome.rpo_at_risk_seconds = out.rpo_at_risk_seconds;
            p.outcome.restore_time = out.restore_time;
            p.outcome.data_window_lost_seconds = out.data_window_lost_seconds;
            p.outcome.lost_writes_snapshot = out.lost_writes_snapshot.clone();
            let error = out.error.as_ref().and_then(|e| e.error.lifeboat());
            match out.outcome {
                PromoteOutcome::Refused => set_status(
                    p,
                    DbStatus::Refused,
                    Some(error.unwrap_or(ErrorName::RpoExceeded)),
                    out.detail,
                ),
                PromoteOutcome::Blocked => set_status(p, DbStatus::Blocked, Some(ErrorName::NotReady), out.detail),
                PromoteOutcome::NotNeeded => set_status(p, DbStatus::NotNeeded, None, out.detail),
                PromoteOutcome::Started | PromoteOutcome::InProgress | PromoteOutcome::AlreadyDone => {
                    set_status(p, DbStatus::Pending, None, out.detail)
                }
            }
        }
        Err(e) if app_failure(&e) => set_status(p, DbStatus::Failed, Some(e.name), e.message.clone()),
        Err(e) => {
            tracing::warn!(error = %e, "promote throttled: made again at the next check");
            p.retry_promote = true;
            set_status(
                p,
                DbStatus::Pending,
                None,
                format!("throttled ({}); the promote is made again at the next check", e.message),
            );
        }
    }
}

/// The PromoteDatabases state.
pub struct PromoteDatabases;

impl Task for PromoteDatabases {
    const KIND: TaskKind = TaskKind::PromoteDatabases;
    type Input = WaveInput;
    type Output = WaveStep;

    async fn run(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
        let mut step = promote_wave(s, Utc::now(), input).await?;
        step.api_calls = s.calls_made(None);
        Ok(step)
    }
}
