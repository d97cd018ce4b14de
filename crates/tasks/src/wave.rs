//! The wave tasks: each works on a whole wave (all its apps, a bounded number
//! at a time) and keeps the per-app progress in the journal, so the state
//! machine's data and history grow with waves, not with applications.
//!
//! - promote_wave: each app's database promoted (after its dependencies are
//!   checked), then one look whether it is writable;
//! - check_wave: one more look at the databases still pending (the state
//!   machine's Wait + check loop), each bounded by its own deadline;
//! - shift_wave: the wave's traffic (routing controls and weights) for the
//!   apps whose database is ready, or back for the apps that failed;
//! - verify_wave: one check of every moved app not yet verified (alarms read
//!   in batches of 100 per Region), each bounded by its own deadline.

use crate::contract::{
    DbProgress, DbStatus, LoadedWave, StatesError, VerifyProgress, VerifyStatus, WaveProgress, WaveRef, WaveStep,
    load_wave, save_progress,
};
use crate::database::{CheckInput, PromoteInput, PromoteOutcome, check_database, promote_database};
use crate::services::Services;
use crate::shift_dns::{DatabaseResult, ShiftInput, ShiftMode, VerifyResult, shift_dns};
use crate::verify_traffic::{VerifyInput, verify_traffic};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use lifeboat_aws::AwsError;
use lifeboat_aws::ports::AlarmStates;
use lifeboat_core::dns::BatchLimits;
use lifeboat_core::outcome::DatabaseOutcome;
use lifeboat_core::plan::AppMove;
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Apps worked on at once within a wave task.
pub const CONCURRENCY: usize = 16;

/// What the state machine passes to a wave task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaveInput {
    #[serde(flatten)]
    pub at: WaveRef,
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
    app.database.action.changes_database() || !app.depends_on.is_empty()
}

fn seconds(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    match (from, to) {
        (Some(f), Some(t)) => Some((t - f).num_milliseconds() as f64 / 1000.0),
        _ => None,
    }
}

fn set_status(p: &mut DbProgress, status: DbStatus, error: Option<ErrorName>, detail: String) {
    p.status = status;
    p.outcome.status = status.as_str().to_string();
    p.outcome.error = error.map(|e| e.as_str().to_string());
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

/// Promotes every database of the wave that has to be, then looks once
/// whether each is writable.
pub async fn promote_wave(s: &Services, now: DateTime<Utc>, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at).await?;
    // Progress is stamped on the execution's clock; `now` (real time) is for AWS's data (lag windows).
    let at = input.entered_at.unwrap_or(now);
    progress.started_at = progress.started_at.or(input.started_at).or(Some(at));
    let started = progress.started_at;
    let todo: Vec<&AppMove> = wave
        .apps
        .iter()
        .filter(|a| needs_database_step(a))
        .filter(|a| progress.apps.get(&a.app).and_then(|p| p.database.as_ref()).is_none())
        .collect();
    if todo.iter().any(|a| a.database.action.changes_database()) {
        fence(s, &input.at.run_id, lease_epoch).await?;
    }
    let endpoints = wave.arc_endpoints.clone();
    // Owned inputs: the futures run a few at a time and must be 'static-friendly (Send for any lifetime).
    let jobs: Vec<(Services, PromoteInput)> = todo
        .into_iter()
        .map(|app| {
            (
                s.clone(),
                PromoteInput {
                    run_id: input.at.run_id.clone(),
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
            endpoint: None,
            outcome: DatabaseOutcome::of(&app.database, DbStatus::Pending.as_str(), String::new()),
        };
        p.outcome.started_at = started;
        match result {
            Ok(out) => {
                p.outcome.rpo_at_risk_seconds = out.rpo_at_risk_seconds;
                p.outcome.restore_time = out.restore_time;
                p.outcome.data_window_lost_seconds = out.data_window_lost_seconds;
                let error = out
                    .error
                    .as_ref()
                    .and_then(|e| e["Error"].as_str())
                    .and_then(ErrorName::parse);
                match out.outcome {
                    PromoteOutcome::Refused => set_status(
                        &mut p,
                        DbStatus::Refused,
                        Some(error.unwrap_or(ErrorName::RpoExceeded)),
                        out.detail,
                    ),
                    PromoteOutcome::Blocked => {
                        set_status(&mut p, DbStatus::Blocked, Some(ErrorName::NotReady), out.detail)
                    }
                    PromoteOutcome::NotNeeded => set_status(&mut p, DbStatus::NotNeeded, None, out.detail),
                    PromoteOutcome::Started | PromoteOutcome::InProgress | PromoteOutcome::AlreadyDone => {
                        set_status(&mut p, DbStatus::Pending, None, out.detail)
                    }
                }
            }
            Err(e) if app_failure(&e) => set_status(&mut p, DbStatus::Failed, Some(e.name), e.message.clone()),
            Err(e) => return Err(e),
        }
        progress.apps.entry(name).or_default().database = Some(p);
    }
    // One look right away: a database already the writer needs no wait.
    let step = check_pending(s, at, &wave.apps, &mut progress).await?;
    save_progress(&*s.journal, &input.at, &progress).await?;
    Ok(step)
}

/// One more look at each database still pending.
pub async fn check_wave(s: &Services, now: DateTime<Utc>, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave { wave, mut progress, .. } = load_wave(&*s.journal, &input.at).await?;
    let step = check_pending(s, now, &wave.apps, &mut progress).await?;
    save_progress(&*s.journal, &input.at, &progress).await?;
    Ok(step)
}

async fn check_pending(
    s: &Services,
    now: DateTime<Utc>,
    apps: &[AppMove],
    progress: &mut WaveProgress,
) -> Result<WaveStep, LifeboatError> {
    let pending: Vec<(&AppMove, u32)> = apps
        .iter()
        .filter_map(|a| {
            let p = progress.apps.get(&a.app)?.database.as_ref()?;
            (p.status == DbStatus::Pending).then_some((a, p.checks))
        })
        .collect();
    let jobs: Vec<(Services, CheckInput)> = pending
        .into_iter()
        .map(|(app, checks)| {
            (
                s.clone(),
                CheckInput {
                    app: app.clone(),
                    checks,
                },
            )
        })
        .collect();
    let results: Vec<(String, Result<crate::database::CheckOutput, LifeboatError>)> =
        bounded(jobs, |(s, input)| async move {
            let name = input.app.app.clone();
            (name, check_database(&*s.databases, input).await)
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
            Ok(out) if out.writable => {
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
            Ok(out) => {
                p.checks = out.checks;
                if p.checks >= app.database.max_checks {
                    set_status(
                        p,
                        DbStatus::TimedOut,
                        Some(ErrorName::NotReady),
                        format!("not writable after {} checks: {}", p.checks, out.detail),
                    );
                }
            }
            Err(e) if app_failure(&e) => set_status(p, DbStatus::Failed, Some(e.name), e.message.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(database_step(apps, progress))
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

/// Moves the wave's traffic (or puts it back) as shift_dns does, for the
/// apps the progress says.
pub async fn shift_wave(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at).await?;
    fence(s, &input.at.run_id, lease_epoch).await?;
    let mode = input.mode.unwrap_or(ShiftMode::Shift);
    let databases: Vec<DatabaseResult> = wave
        .apps
        .iter()
        .filter_map(|a| {
            let p = progress.apps.get(&a.app)?.database.as_ref()?;
            Some(DatabaseResult {
                app: a.app.clone(),
                status: p.status,
                endpoint: p.endpoint.clone(),
            })
        })
        .collect();
    // A rollback after verification: only the apps that failed it; after an
    // error in the wave (input.error): every app of the wave.
    let verified = match (mode, &input.error) {
        (ShiftMode::Rollback, None) => Some(
            wave.apps
                .iter()
                .filter_map(|a| {
                    let v = progress.apps.get(&a.app)?.verify.as_ref()?;
                    Some(VerifyResult {
                        app: a.app.clone(),
                        verified: v.status == VerifyStatus::Verified,
                        detail: v.detail.clone(),
                        api_calls: serde_json::Value::Null,
                    })
                })
                .collect(),
        ),
        _ => None,
    };
    let out = shift_dns(
        &*s.dns_read,
        &*s.dns_write,
        &*s.arc,
        BatchLimits::default(),
        ShiftInput {
            run_id: input.at.run_id.clone(),
            wave: wave.clone(),
            mode,
            verified,
            error: input.error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
            databases: (mode == ShiftMode::Shift).then_some(databases),
        },
    )
    .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if mode == ShiftMode::Rollback => {
            progress.rollback_error = Some(e.to_string());
            save_progress(&*s.journal, &input.at, &progress).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    match mode {
        ShiftMode::Shift => {
            let at = input.entered_at.unwrap_or_else(Utc::now);
            for a in &out.moving {
                let p = progress.apps.entry(a.app.clone()).or_default();
                p.shifted = true;
                p.shifted_at = p.shifted_at.or(Some(at));
            }
            if out.arc.is_some() {
                progress.arc = out.arc.clone();
            }
        }
        ShiftMode::Rollback => {
            let at = input.entered_at.unwrap_or_else(Utc::now);
            for name in &out.apps {
                let p = progress.apps.entry(name.clone()).or_default();
                p.rolled_back = true;
                p.rolled_back_at = p.rolled_back_at.or(Some(at));
            }
            if let Some(e) = &input.error {
                progress.failed = Some(e.clone());
            }
        }
    }
    save_progress(&*s.journal, &input.at, &progress).await?;
    let verb = match mode {
        ShiftMode::Shift => "moved",
        ShiftMode::Rollback => "put back",
    };
    let controls = out
        .arc
        .as_ref()
        .map(|a| format!("; {}", a.describe()))
        .unwrap_or_default();
    Ok(WaveStep {
        pending: 0,
        interval_seconds: 0,
        done: out.apps.len(),
        failed: 0,
        summary: format!(
            "{} app(s) {verb}: {} record(s) changed in {} change batch(es){controls}",
            out.apps.len(),
            out.records_changed,
            out.changes.len()
        ),
        changes: out.changes,
    })
}

/// Alarm states read in advance, a batch of names per Region, so that each
/// app's check reads from memory.
struct PrefetchedAlarms(BTreeMap<String, BTreeMap<String, String>>);

#[async_trait]
impl AlarmStates for PrefetchedAlarms {
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        let known = self.0.get(region);
        Ok(names
            .iter()
            .filter_map(|n| known.and_then(|k| k.get(n)).map(|s| (n.clone(), s.clone())))
            .collect())
    }
}

/// One check of every moved app of the wave not yet verified.
pub async fn verify_wave(s: &Services, now: DateTime<Utc>, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave { wave, mut progress, .. } = load_wave(&*s.journal, &input.at).await?;
    let todo: Vec<&AppMove> = wave
        .apps
        .iter()
        .filter(|a| {
            progress.apps.get(&a.app).is_some_and(|p| {
                p.shifted && !p.rolled_back && p.verify.as_ref().is_none_or(|v| v.status == VerifyStatus::Pending)
            })
        })
        .collect();
    // DescribeAlarms takes 100 names a call: all the wave's, per Region, at once.
    let mut by_region: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in &todo {
        by_region
            .entry(a.verification.region.clone())
            .or_default()
            .extend(a.verification.alarms.iter().cloned());
    }
    let mut states = BTreeMap::new();
    for (region, names) in by_region {
        let names: Vec<String> = names.into_iter().collect();
        if !names.is_empty() {
            states.insert(region.clone(), s.alarms.alarm_states(&region, &names).await?);
        }
    }
    let alarms = std::sync::Arc::new(PrefetchedAlarms(states));
    let jobs: Vec<(Services, std::sync::Arc<PrefetchedAlarms>, VerifyInput)> = todo
        .into_iter()
        .map(|app| {
            let checks = progress
                .apps
                .get(&app.app)
                .and_then(|p| p.verify.as_ref())
                .map_or(0, |v| v.checks);
            (
                s.clone(),
                alarms.clone(),
                VerifyInput {
                    app: app.clone(),
                    checks,
                },
            )
        })
        .collect();
    let checks: Vec<(String, Result<crate::verify_traffic::VerifyOutput, LifeboatError>)> =
        bounded(jobs, |(s, alarms, input)| async move {
            let name = input.app.app.clone();
            let out = verify_traffic(&*s.health, &*s.health_best_effort, &*alarms, &*s.http, input).await;
            (name, out)
        })
        .await;
    for (name, result) in checks {
        let Some(app) = wave.apps.iter().find(|a| a.app == name) else {
            continue;
        };
        let entry = progress.apps.entry(name).or_default();
        entry.verify_started_at = entry.verify_started_at.or(Some(now));
        let previous = entry.verify.as_ref().map_or(0, |v| v.checks);
        let v = match result {
            Ok(out) if out.healthy => VerifyProgress {
                status: VerifyStatus::Verified,
                checks: out.checks,
                detail: out.detail,
                at: Some(now),
            },
            Ok(out) if out.checks >= app.verification.max_checks => VerifyProgress {
                status: VerifyStatus::Failed,
                checks: out.checks,
                detail: out.detail,
                at: Some(now),
            },
            Ok(out) => VerifyProgress {
                status: VerifyStatus::Pending,
                checks: out.checks,
                detail: out.detail,
                at: None,
            },
            Err(e) if app_failure(&e) => VerifyProgress {
                status: VerifyStatus::Failed,
                checks: previous + 1,
                detail: format!("{}: {}", e.name, e.message),
                at: Some(now),
            },
            Err(e) => return Err(e),
        };
        entry.verify = Some(v);
    }
    save_progress(&*s.journal, &input.at, &progress).await?;
    let mut step = WaveStep::default();
    let mut interval: Option<u32> = None;
    for a in &wave.apps {
        match progress
            .apps
            .get(&a.app)
            .and_then(|p| p.verify.as_ref())
            .map(|v| v.status)
        {
            Some(VerifyStatus::Pending) => {
                step.pending += 1;
                let i = a.verification.interval_seconds;
                interval = Some(interval.map_or(i, |x| x.min(i)));
            }
            Some(VerifyStatus::Verified) => step.done += 1,
            Some(VerifyStatus::Failed) => step.failed += 1,
            None => {}
        }
    }
    step.interval_seconds = interval.unwrap_or(1).max(1);
    step.summary = format!(
        "{}/{} verified{}{}",
        step.done,
        step.done + step.pending + step.failed,
        if step.pending > 0 {
            format!(", {} not yet", step.pending)
        } else {
            String::new()
        },
        if step.failed > 0 {
            format!(
                ", {} failed: {}",
                step.failed,
                wave.apps
                    .iter()
                    .filter(|a| progress
                        .apps
                        .get(&a.app)
                        .and_then(|p| p.verify.as_ref())
                        .is_some_and(|v| v.status == VerifyStatus::Failed))
                    .take(10)
                    .map(|a| a.app.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        }
    );
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{WaveRef, store_plan};
    use crate::test_support::{fake_services, registry};
    use crate::validate::{ValidateInput, take_lease, validate};
    use lifeboat_aws::ports::{DnsReader, RegistryStore, RunLease};

    /// Validate, take the lease and store the plan, as the Validate task does.
    async fn planned(s: &Services, f: &crate::test_support::Fakes) -> WaveInput {
        f.registry.put_apps(&registry().applications).await.unwrap();
        f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
        let mut plan = validate(
            s.validate_ports(),
            ValidateInput {
                trigger: serde_json::json!({"action": "failover", "apps": ["api"]}),
                run_id: "run-1".into(),
                started_at: None,
            },
        )
        .await
        .unwrap()
        .plan;
        take_lease(&*s.lease, &s.settings, Utc::now(), &mut plan).await.unwrap();
        assert_eq!(plan.lease_epoch, Some(1));
        store_plan(&*s.journal, &plan).await.unwrap();
        WaveInput {
            at: WaveRef {
                run_id: "run-1".into(),
                phase: 0,
                wave: 0,
            },
            started_at: None,
            mode: None,
            error: None,
            entered_at: None,
        }
    }

    async fn weight_of(f: &crate::test_support::Fakes, set: &str) -> Option<i64> {
        f.r53
            .record_sets("Z1", "api.example.com.", "A")
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.set_identifier.as_deref() == Some(set))
            .and_then(|r| r.weight)
    }

    #[tokio::test]
    async fn a_run_whose_lease_was_broken_changes_nothing() {
        let (s, f) = fake_services();
        let input = planned(&s, &f).await;
        // An operator breaks the lease (`lifeboat lease release`) mid-run.
        let before = f.lease.break_lease(Utc::now()).await.unwrap().unwrap();
        assert_eq!(before.holder.as_deref(), Some("run-1"));
        let e = shift_wave(&s, input.clone()).await.unwrap_err();
        assert_eq!(e.name, ErrorName::LeaseHeld);
        assert!(e.message.contains("epoch 1"), "{}", e.message);
        assert_eq!(weight_of(&f, "api-usw2").await, Some(0), "no weight moved");
        // A rollback of the wave is refused too: the run no longer owns the estate.
        let rollback = WaveInput {
            mode: Some(ShiftMode::Rollback),
            ..input
        };
        assert_eq!(shift_wave(&s, rollback).await.unwrap_err().name, ErrorName::LeaseHeld);
    }

    #[tokio::test]
    async fn a_run_taken_over_by_another_changes_nothing_but_its_own_lease_lets_it_act() {
        let (s, f) = fake_services();
        let input = planned(&s, &f).await;
        shift_wave(&s, input.clone()).await.unwrap();
        assert_eq!(weight_of(&f, "api-usw2").await, Some(100));
        // The lease expires and another run takes it (epoch 2): the first run's next step refuses.
        f.lease.state.lock().unwrap().expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
        f.lease
            .acquire("run-2", Utc::now(), chrono::Duration::hours(1), false)
            .await
            .unwrap();
        let e = shift_wave(&s, input).await.unwrap_err();
        assert_eq!(e.name, ErrorName::LeaseHeld);
    }
}
