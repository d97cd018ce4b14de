//! Each application's outcome: from its wave's progress, or from where
//! Route 53 has its records when the run stopped before its wave.

use crate::contract::{AppProgress, DbStatus, StatesError, VerifyStatus, WaveProgress};
use lifeboat_core::database::DbAction;
use lifeboat_core::dns::RecordIndex;
use lifeboat_core::outcome::{AppOutcome, AppStatus, DatabaseOutcome};
use lifeboat_core::plan::Plan;
use std::collections::BTreeMap;

/// Where an app's records are now, against a phase's before/after weights.
fn observed_status(
    app: &lifeboat_core::plan::AppMove,
    observed: &RecordIndex,
    stop_reason: &str,
) -> (AppStatus, String) {
    let weights: Vec<Option<i64>> = app
        .dns
        .iter()
        .map(|c| observed.get(&c.key).and_then(|r| r.weight))
        .collect();
    if app.dns.iter().zip(&weights).all(|(c, w)| *w == Some(c.after)) {
        (
            AppStatus::Moved,
            format!("moved before the run stopped ({stop_reason})"),
        )
    } else if app.dns.iter().zip(&weights).all(|(c, w)| *w == Some(c.before)) {
        (AppStatus::NotMoved, format!("weights as before the run: {stop_reason}"))
    } else {
        (
            AppStatus::Failed,
            format!("weights are partly changed; check Route 53: {stop_reason}"),
        )
    }
}

/// An app's database step as the journal will say it.
fn database_outcome(app: &lifeboat_core::plan::AppMove, progress: Option<&AppProgress>) -> Option<DatabaseOutcome> {
    let d = &app.database;
    if d.action == DbAction::None {
        return None;
    }
    if d.action == DbAction::ManualRebuild {
        return Some(DatabaseOutcome::of(
            d,
            DbStatus::Manual,
            format!(
                "moved DNS only; the database is rebuilt by hand: {}",
                d.manual_steps.join("; ")
            ),
        ));
    }
    Some(match progress.and_then(|p| p.database.as_ref()) {
        Some(p) => p.outcome.clone(),
        None => DatabaseOutcome::of(d, DbStatus::NotReached, String::new()),
    })
}

/// Works out each application's outcome from its wave's progress or, when
/// the run stopped before its wave, from the weights Route 53 has now.
pub fn outcomes(
    plan: &Plan,
    progress: &BTreeMap<(usize, usize), WaveProgress>,
    error: Option<&StatesError>,
    observed: Option<&RecordIndex>,
) -> Vec<AppOutcome> {
    let stop_reason = error
        .map(|e| format!("{}: {}", e.error, e.cause))
        .unwrap_or_else(|| "the run stopped".into());
    let mut out = Vec::new();
    for (p, phase) in plan.phases.iter().enumerate() {
        for wave in &phase.waves {
            let wp = progress.get(&(p, wave.index));
            for app in &wave.apps {
                let ap = wp.and_then(|w| w.apps.get(&app.app));
                let db = ap.and_then(|a| a.database.as_ref());
                let verify = ap.and_then(|a| a.verify.as_ref());
                let (status, detail) = match (wp, ap) {
                    (None, _) => match observed {
                        Some(obs) if app.controls.is_empty() => observed_status(app, obs, &stop_reason),
                        _ => (AppStatus::NotMoved, format!("not reached: {stop_reason}")),
                    },
                    (Some(_), Some(a)) if !a.shifted && a.hook_failed_before_traffic().is_some() => {
                        let h = a.hook_failed_before_traffic();
                        (
                            AppStatus::NotMoved,
                            format!(
                                "hook {} ({}) failed after {} attempt(s), traffic left where it was: {}",
                                h.map(|h| h.name.as_str()).unwrap_or_default(),
                                h.map(|h| h.when.as_str()).unwrap_or_default(),
                                h.map(|h| h.attempts).unwrap_or_default(),
                                h.map(|h| h.detail.as_str()).unwrap_or_default()
                            ),
                        )
                    }
                    (Some(_), Some(a)) if !a.shifted && a.capacity.iter().any(|c| c.status.is_failure()) => {
                        let detail = a
                            .capacity
                            .iter()
                            .filter(|c| c.status.is_failure())
                            .map(|c| format!("{} {}: {}", c.target.describe(), c.status.as_str(), c.detail))
                            .collect::<Vec<_>>()
                            .join("; ");
                        (
                            AppStatus::NotMoved,
                            format!(
                                "capacity not in service in {}, traffic left where it was: {detail}",
                                app.to_region
                            ),
                        )
                    }
                    (Some(_), Some(a)) if db.is_some_and(|d| !d.status.ready()) && !a.shifted => {
                        let d = db.map(|d| (d.status, d.outcome.detail.clone()));
                        match d {
                            Some((DbStatus::Blocked, detail)) => (AppStatus::NotMoved, detail),
                            Some((_, detail)) => (
                                AppStatus::NotMoved,
                                format!(
                                    "database not writable in {}, traffic left where it was: {detail}",
                                    app.to_region
                                ),
                            ),
                            None => (AppStatus::NotMoved, String::new()),
                        }
                    }
                    (Some(w), a) if w.failed.is_some() => {
                        let cause = w.failed.as_ref().map(|e| e.cause.clone()).unwrap_or_default();
                        if a.is_some_and(|a| a.shifted || a.rolled_back) {
                            (
                                AppStatus::RolledBack,
                                format!("wave {} failed and was rolled back: {cause}", wave.index),
                            )
                        } else {
                            (AppStatus::NotMoved, format!("wave {} failed: {cause}", wave.index))
                        }
                    }
                    (Some(w), Some(a)) if a.shifted => match verify.map(|v| (v.status, v.detail.clone())) {
                        Some((VerifyStatus::Verified, detail)) => (AppStatus::Moved, detail),
                        Some((VerifyStatus::Failed, detail)) if a.rolled_back => (
                            AppStatus::RolledBack,
                            format!("verification failed, traffic put back: {detail}"),
                        ),
                        Some((VerifyStatus::Failed, detail)) => (
                            AppStatus::Failed,
                            format!(
                                "verification failed: {detail}{}",
                                w.rollback_error
                                    .as_ref()
                                    .map(|e| format!("; rolling back failed: {e}"))
                                    .unwrap_or_default()
                            ),
                        ),
                        Some((VerifyStatus::Pending, detail)) => (
                            AppStatus::Failed,
                            format!("moved, not verified yet: {detail}; {stop_reason}"),
                        ),
                        None => (AppStatus::Failed, format!("moved, not verified: {stop_reason}")),
                    },
                    (Some(_), _) => (AppStatus::NotMoved, format!("not moved: {stop_reason}")),
                };
                let wave_started_at = wp.and_then(|w| w.started_at);
                let verified_at = verify
                    .filter(|v| v.status == VerifyStatus::Verified && status == AppStatus::Moved)
                    .and_then(|v| v.at);
                let recovery_seconds = match (wave_started_at, verified_at) {
                    (Some(s), Some(v)) => Some((v - s).num_milliseconds() as f64 / 1000.0),
                    _ => None,
                };
                let database = database_outcome(app, ap);
                let apart = lifeboat_core::outcome::data_and_traffic_apart(
                    app,
                    phase.action,
                    status,
                    database.as_ref(),
                    ap.is_some_and(|a| a.shifted),
                    db.and_then(|d| d.endpoint.as_deref()),
                );
                let routing_controls_via = wp
                    .and_then(|w| w.arc.as_ref())
                    .filter(|_| !app.controls.is_empty() && status != AppStatus::NotMoved)
                    .map(|a| a.endpoint_region.clone());
                out.push(AppOutcome {
                    app: app.app.clone(),
                    account: app.account.as_ref().map(|a| a.id().to_string()),
                    phase: p,
                    action: phase.action,
                    to_region: app.to_region.clone(),
                    status,
                    detail,
                    wave_started_at,
                    verified_at,
                    recovery_seconds,
                    database,
                    routing_controls_via,
                    timeline: lifeboat_core::outcome::Timeline {
                        wave: wp.map(|_| wave.index),
                        capacity_started_at: ap.and_then(|a| a.capacity.first()).and_then(|c| c.started_at),
                        capacity_ready_at: ap
                            .filter(|a| !a.capacity.is_empty() && a.capacity.len() == app.capacity.len())
                            .and_then(|a| a.capacity.iter().map(|c| c.ready_at).collect::<Option<Vec<_>>>())
                            .and_then(|at| at.into_iter().max()),
                        shifted_at: ap.and_then(|a| a.shifted_at),
                        verify_started_at: ap.and_then(|a| a.verify_started_at),
                        verify_ended_at: verify.and_then(|v| v.at),
                        rolled_back_at: ap.and_then(|a| a.rolled_back_at),
                    },
                    apart,
                    capacity: ap.map(|a| a.capacity.clone()).unwrap_or_default(),
                    capacity_restored: ap.map(|a| a.capacity_restored.clone()).unwrap_or_default(),
                    hooks: ap.map(|a| a.hooks.clone()).unwrap_or_default(),
                });
            }
        }
    }
    out
}
