//! verify_wave: one check of every moved app not yet verified, its alarms
//! read in batches per Region.

use super::*;
use crate::contract::{LoadedWave, VerifyProgress, VerifyStatus, WaveStep, load_wave, save_progress};
use crate::services::Services;
use crate::verify_traffic::{VerifyInput, verify_traffic};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lifeboat_aws::AwsError;
use lifeboat_aws::ports::AlarmStates;
use lifeboat_core::LifeboatError;
use lifeboat_core::plan::AppMove;
use std::collections::{BTreeMap, BTreeSet};

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
