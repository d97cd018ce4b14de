//! VerifyApps: one check of every moved app not yet verified, its alarms
//! read in batches per Region.

use super::*;
use crate::app_health::{VerifyInput, check_app_health};
use crate::contract::{VerifyProgress, VerifyStatus, WaveStep};
use crate::dispatch::TaskKind;
use crate::journal::{LoadedWave, load_wave, save_progress};
use crate::services::Services;
use crate::task::Task;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lifeboat_aws::AwsError;
use lifeboat_aws::ports::AlarmStates;
use lifeboat_core::LifeboatError;
use lifeboat_core::plan::AppMove;
use lifeboat_core::registry::Account;
use std::collections::{BTreeMap, BTreeSet};

/// Alarm states read in advance, a batch of names per Region, so that each
/// app's check reads from memory; a Region whose read failed answers each
/// app with that error (the app waits for the next check, the wave goes on).
struct PrefetchedAlarms(BTreeMap<String, Result<BTreeMap<String, String>, AwsError>>);

#[async_trait]
impl AlarmStates for PrefetchedAlarms {
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        let known = match self.0.get(region) {
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(k)) => Some(k),
            None => None,
        };
        Ok(names
            .iter()
            .filter_map(|n| known.and_then(|k| k.get(n)).map(|s| (n.clone(), s.clone())))
            .collect())
    }
}

/// An error that says nothing about the app's health (AWS throttled the
/// read, or did not answer it): the check is counted, the app looked at again.
fn unread(e: &LifeboatError) -> bool {
    matches!(
        e.name,
        lifeboat_core::ErrorName::Throttled | lifeboat_core::ErrorName::Internal
    )
}

/// One check of every moved app of the wave not yet verified.
pub async fn verify_wave(s: &Services, now: DateTime<Utc>, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave { wave, mut progress, .. } = load_wave(&*s.journal, &input.at()).await?;
    let todo: Vec<&AppMove> = wave
        .apps
        .iter()
        .filter(|a| {
            progress.apps.get(&a.app).is_some_and(|p| {
                p.shifted && !p.rolled_back && p.verify.as_ref().is_none_or(|v| v.status == VerifyStatus::Pending)
            })
        })
        .collect();
    // DescribeAlarms takes 100 names a call: all the wave's, per account and Region, at once.
    let mut wanted: BTreeMap<Option<Account>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for a in &todo {
        wanted
            .entry(a.account.clone())
            .or_default()
            .entry(a.verification.region.clone())
            .or_default()
            .extend(a.verification.alarms.iter().cloned());
    }
    let mut prefetched: BTreeMap<Option<Account>, std::sync::Arc<PrefetchedAlarms>> = BTreeMap::new();
    for (account, by_region) in wanted {
        let reader = s.for_account(account.as_ref());
        let mut states = BTreeMap::new();
        for (region, names) in by_region {
            let names: Vec<String> = names.into_iter().collect();
            if !names.is_empty() {
                let read = reader.alarms.alarm_states(&region, &names).await;
                if let Err(e) = &read {
                    tracing::warn!(%region, error = %e, "alarms unread this round: their apps are checked again");
                }
                states.insert(region.clone(), read);
            }
        }
        prefetched.insert(account, std::sync::Arc::new(PrefetchedAlarms(states)));
    }
    let jobs: Vec<(Services, std::sync::Arc<PrefetchedAlarms>, VerifyInput)> = todo
        .into_iter()
        .map(|app| {
            let checks = progress
                .apps
                .get(&app.app)
                .and_then(|p| p.verify.as_ref())
                .map_or(0, |v| v.checks);
            let alarms = prefetched
                .get(&app.account)
                .cloned()
                .unwrap_or_else(|| std::sync::Arc::new(PrefetchedAlarms(BTreeMap::new())));
            (
                s.for_app(app),
                alarms,
                VerifyInput {
                    app: app.clone(),
                    checks,
                },
            )
        })
        .collect();
    let checks: Vec<(String, Result<crate::app_health::VerifyOutput, LifeboatError>)> =
        bounded(jobs, |(s, alarms, input)| async move {
            let name = input.app.app.clone();
            let out = check_app_health(&*s.health, &*s.health_best_effort, &*alarms, &*s.http, input).await;
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
            // Unread this round (throttled, or AWS did not answer): a check spent.
            Err(e) if unread(&e) => VerifyProgress {
                status: if previous + 1 >= app.verification.max_checks {
                    VerifyStatus::Failed
                } else {
                    VerifyStatus::Pending
                },
                checks: previous + 1,
                detail: format!("check {}: unread: {}: {}", previous + 1, e.name, e.message),
                at: (previous + 1 >= app.verification.max_checks).then_some(now),
            },
            Err(e) => VerifyProgress {
                status: VerifyStatus::Failed,
                checks: previous + 1,
                detail: format!("{}: {}", e.name, e.message),
                at: Some(now),
            },
        };
        entry.verify = Some(v);
    }
    save_progress(&*s.journal, &input.at(), &progress).await?;
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

/// The VerifyApps state (and RecheckApps, its loop).
pub struct VerifyApps;

impl Task for VerifyApps {
    const KIND: TaskKind = TaskKind::VerifyApps;
    type Input = WaveInput;
    type Output = WaveStep;

    async fn run(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
        // Writable-at and verified-at are stamped on the execution's clock (the report's timeline).
        check_loop_step(s, input, |at, input| verify_wave(s, at, input)).await
    }
}
