//! CheckDatabases: one more look at each database of the wave still pending,
//! each bounded by its own deadline (the state machine's Wait + check loop).

use super::promote_databases::apply_promote;
use super::*;
use crate::contract::{DbStatus, WaveProgress, WaveStep};
use crate::database::{CheckInput, PromoteInput, check_database, promote_database};
use crate::dispatch::TaskKind;
use crate::journal::{LoadedWave, load_wave, save_progress};
use crate::services::Services;
use crate::task::Task;
use chrono::{DateTime, Utc};
use lifeboat_core::plan::AppMove;
use lifeboat_core::{ErrorName, LifeboatError};
use std::collections::BTreeMap;

/// One more look at each database still pending.
pub async fn check_wave(s: &Services, now: DateTime<Utc>, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave { wave, progress, .. } = load_wave(&*s.journal, &input.at()).await?;
    check_and_save(s, now, &input, &wave, progress).await
}

/// One look at each pending database of `wave`, the progress saved after.
pub(super) async fn check_and_save(
    s: &Services,
    now: DateTime<Utc>,
    input: &WaveInput,
    wave: &lifeboat_core::plan::Wave,
    mut progress: WaveProgress,
) -> Result<WaveStep, LifeboatError> {
    let at = WaveAt {
        run_id: &input.run_id,
        wave,
    };
    let step = check_pending(s, now, &at, &mut progress).await?;
    save_progress(&*s.journal, &input.at(), &progress).await?;
    Ok(step)
}

async fn check_pending(
    s: &Services,
    now: DateTime<Utc>,
    wave: &WaveAt<'_>,
    progress: &mut WaveProgress,
) -> Result<WaveStep, LifeboatError> {
    let apps = &wave.wave.apps;
    let pending: Vec<(&AppMove, u32, bool)> = apps
        .iter()
        .filter_map(|a| {
            let p = progress.apps.get(&a.app)?.database.as_ref()?;
            (p.status == DbStatus::Pending).then_some((a, p.checks, p.retry_promote))
        })
        .collect();
    // A throttled promote is made again; every other pending app is looked at.
    let jobs: Vec<(Services, AppMove, u32, bool)> = pending
        .into_iter()
        .map(|(app, checks, retry)| (s.for_app(app), app.clone(), checks, retry))
        .collect();
    let (run_id, endpoints) = (wave.run_id.to_string(), wave.wave.arc_endpoints.clone());
    let results: Vec<(String, Result<Look, LifeboatError>)> = bounded(jobs, |(s, app, checks, retry)| {
        let (run_id, arc_endpoints) = (run_id.clone(), endpoints.clone());
        async move {
            let name = app.app.clone();
            let look = if retry {
                let input = PromoteInput {
                    run_id,
                    app,
                    arc_endpoints,
                };
                promote_database(&*s.databases, &*s.lag, &*s.dns_read, &*s.arc, now, input)
                    .await
                    .map(Look::Promoted)
            } else {
                check_database(&*s.databases, CheckInput { app, checks })
                    .await
                    .map(Look::Checked)
            };
            (name, look)
        }
    })
    .await;
    for (name, result) in results {
        let Some(app) = apps.iter().find(|a| a.app == name) else {
            continue;
        };
        let Some(p) = progress.apps.get_mut(&name).and_then(|x| x.database.as_mut()) else {
            continue;
        };
        match result {
            Ok(Look::Promoted(out)) => {
                p.checks += 1;
                apply_promote(p, Ok(out));
            }
            Ok(Look::Checked(out)) if out.writable => {
                p.checks = out.checks;
                p.endpoint = out.endpoint;
                p.outcome.writable_at = Some(now);
                p.outcome.seconds_to_writable = seconds(p.outcome.started_at, Some(now));
                let detail = if p.outcome.detail.is_empty() {
                    out.detail
                } else {
                    p.outcome.detail.clone()
                };
                set_status(p, DbStatus::Writable, None, detail);
            }
            Ok(Look::Checked(out)) => {
                p.checks = out.checks;
                p.outcome.detail = if p.outcome.detail.is_empty() {
                    out.detail.clone()
                } else {
                    p.outcome.detail.clone()
                };
                if p.checks >= app.database.max_checks {
                    set_status(
                        p,
                        DbStatus::TimedOut,
                        Some(ErrorName::NotReady),
                        format!("not writable after {} checks: {}", p.checks, out.detail),
                    );
                }
            }
            Err(e) if app_failure(&e) && !p.retry_promote => {
                set_status(p, DbStatus::Failed, Some(e.name), e.message.clone())
            }
            Err(e) if app_failure(&e) => apply_promote(p, Err(e)),
            // A throttled look (after the SDK's retries): this app waits for the next check.
            Err(e) => {
                p.checks += 1;
                tracing::warn!(app = %name, error = %e, "database check throttled: looked at again next time");
            }
        }
        if p.status == DbStatus::Pending && p.checks >= app.database.max_checks {
            set_status(
                p,
                DbStatus::TimedOut,
                Some(ErrorName::NotReady),
                format!("not writable after {} checks: {}", p.checks, p.outcome.detail),
            );
        }
    }
    Ok(database_step(apps, progress))
}

/// A wave and the run it belongs to.
struct WaveAt<'a> {
    run_id: &'a str,
    wave: &'a lifeboat_core::plan::Wave,
}

/// One more look at a pending database: a promote made again, or a check.
enum Look {
    Promoted(crate::database::PromoteOutput),
    Checked(crate::database::CheckOutput),
}

fn database_step(apps: &[AppMove], progress: &WaveProgress) -> WaveStep {
    let mut step = WaveStep::default();
    let mut interval: Option<u32> = None;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for a in apps {
        let Some(p) = progress.apps.get(&a.app).and_then(|x| x.database.as_ref()) else {
            continue;
        };
        *counts.entry(p.status.as_str()).or_default() += 1;
        match p.status {
            DbStatus::Pending => {
                step.pending += 1;
                interval = Some(interval.map_or(a.database.interval_seconds, |i| i.min(a.database.interval_seconds)));
            }
            DbStatus::NotNeeded | DbStatus::Writable => step.done += 1,
            _ => step.failed += 1,
        }
    }
    step.interval_seconds = interval.unwrap_or(1).max(1);
    step.summary = if counts.is_empty() {
        "no database to promote".into()
    } else {
        let totals = counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        // Each app in a line when the wave is small; the exceptions otherwise.
        let few = counts.values().sum::<usize>() <= SUMMARY_APPS;
        let apps: Vec<String> = apps
            .iter()
            .filter_map(|a| {
                let p = progress.apps.get(&a.app)?.database.as_ref()?;
                (few || !p.status.ready() && p.status != DbStatus::Pending)
                    .then(|| format!("[{}] {}: {}", a.app, p.status.as_str(), short(&p.outcome.detail, 200)))
            })
            .take(SUMMARY_APPS)
            .collect();
        if apps.is_empty() {
            totals
        } else {
            format!("{totals}: {}", apps.join("; "))
        }
    };
    step
}

/// Apps named one by one in a step's summary (the rest are counted).
const SUMMARY_APPS: usize = 10;

fn short(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}...", s.chars().take(max).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The CheckDatabases state (and RecheckDatabases, its loop).
pub struct CheckDatabases;

impl Task for CheckDatabases {
    const KIND: TaskKind = TaskKind::CheckDatabases;
    type Input = WaveInput;
    type Output = WaveStep;

    async fn run(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
        // Writable-at and verified-at are stamped on the execution's clock (the report's timeline).
        check_loop_step(s, input, |at, input| check_wave(s, at, input)).await
    }
}
