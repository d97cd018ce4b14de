//! record_outcome: turn the plan and the state machine's results into the
//! run's journal record, update each moved application's active Region, and
//! return the record (which the CLI prints and an outcome event carries).

use crate::contract::StatesError;
use crate::journal::{LoadedRun, load_run};
use crate::services::Settings;
use chrono::{DateTime, Utc};
use lifeboat_aws::CallCounter;
use lifeboat_aws::ports::{AlarmStates, DnsReader, Journal, RegistryStore, RunLease};
use lifeboat_aws::route53::read_records;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::outcome::{AppOutcome, AppStatus, RunRecord, RunStatus};
use lifeboat_core::plan::PlanSummary;
use lifeboat_core::{ErrorName, FailureName, LifeboatError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

mod app_outcomes;
mod execution_end;
mod ignored;
mod tasks;
pub use app_outcomes::*;
pub use execution_end::*;
pub use ignored::*;
pub use tasks::*;
#[cfg(test)]
mod tests;

/// What RecordOutcome and RecordFailure pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// The plan as the state machine carries it; the whole plan is in the journal.
    pub plan: PlanSummary,
    /// The phases' results: per phase, per wave, its steps' answers (a run
    /// that stopped has none).
    #[serde(default)]
    pub results: Vec<Vec<WaveResult>>,
    /// When the run stopped on an error.
    #[serde(default)]
    pub error: Option<StatesError>,
    pub started_at: DateTime<Utc>,
    /// When the run reached this task (the executor's clock), if given.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Calls made before the phases (validate's).
    #[serde(default)]
    pub api_calls: Option<ApiCalls>,
}

/// What the state machine keeps of a wave (its WaveResult, RolledBackResult
/// or RollbackFailedResult state): each step's answer, of which the record
/// reads the calls. A step the wave did not reach is absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WaveResult {
    /// The hooks before the database, before the traffic, after verification.
    #[serde(default)]
    pub hooks_before_database: Option<StepCalls>,
    #[serde(default)]
    pub hooks_before_traffic: Option<StepCalls>,
    #[serde(default)]
    pub hooks_after_verify: Option<StepCalls>,
    #[serde(default)]
    pub capacity: Option<StepCalls>,
    /// A drill's failback: the drill Region's capacity put back.
    #[serde(default)]
    pub restored: Option<StepCalls>,
    #[serde(default)]
    pub databases: Option<StepCalls>,
    #[serde(default)]
    pub shift: Option<StepCalls>,
    #[serde(default)]
    pub sync: Option<StepCalls>,
    #[serde(default)]
    pub verify: Option<StepCalls>,
    #[serde(default)]
    pub rollback: Option<StepCalls>,
    #[serde(default)]
    pub rollback_sync: Option<StepCalls>,
}

/// The calls a step's answer carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepCalls {
    #[serde(default)]
    pub api_calls: ApiCalls,
}

impl WaveResult {
    /// The calls of every step the wave made.
    pub fn api_calls(&self) -> ApiCalls {
        let mut calls = ApiCalls::default();
        let steps = [
            &self.hooks_before_database,
            &self.hooks_before_traffic,
            &self.hooks_after_verify,
            &self.capacity,
            &self.restored,
            &self.databases,
            &self.shift,
            &self.sync,
            &self.verify,
            &self.rollback,
            &self.rollback_sync,
        ];
        for step in steps.into_iter().flatten() {
            calls.merge(&step.api_calls);
        }
        calls
    }
}

#[cfg(test)]
impl RecordInput {
    /// A run of `plan` started at `started_at` that ran to its end, nothing else said.
    pub(crate) fn of(plan: PlanSummary, started_at: DateTime<Utc>) -> Self {
        RecordInput {
            plan,
            results: Vec::new(),
            error: None,
            started_at,
            finished_at: None,
            api_calls: None,
        }
    }
}

/// The most apps a record returned to the state machine lists (the journal
/// has them all): the exceptions first, then moved apps.
pub const RECORD_APPS_MAX: usize = 100;

/// What recording a run uses.
#[derive(Clone, Copy)]
pub struct RecordPorts<'a> {
    pub registry: &'a dyn RegistryStore,
    pub journal: &'a dyn Journal,
    pub dns: &'a dyn DnsReader,
    pub lease: &'a dyn RunLease,
    pub settings: &'a Settings,
    /// Counts this invocation's calls (the record counts them too).
    pub own_calls: &'a CallCounter,
    /// Where kept triggers' alarms are read, to take them up (None: leave them kept).
    pub alarms: Option<&'a dyn AlarmStates>,
    /// The services whose member accounts' records are read for their apps
    /// (None: every app's records read with `dns`).
    pub members: Option<&'a crate::services::Services>,
}

impl crate::services::Services {
    /// The ports recording uses, kept triggers left alone (set `alarms` to take them up).
    pub fn record_ports(&self) -> RecordPorts<'_> {
        RecordPorts {
            registry: &*self.registry,
            journal: &*self.journal,
            dns: &*self.dns_read,
            lease: &*self.lease,
            settings: &self.settings,
            own_calls: &self.counter,
            alarms: None,
            members: Some(self),
        }
    }
}

/// Records the run the input names, from its plan and progress in the journal.
pub async fn record_outcome(ports: &RecordPorts<'_>, input: RecordInput) -> Result<RunRecord, LifeboatError> {
    let run = load_run(ports.journal, &input.plan.run_id).await?;
    record_loaded(ports, run, input).await
}

/// The record of a run whose plan and progress are loaded.
async fn record_loaded(p: &RecordPorts<'_>, run: LoadedRun, input: RecordInput) -> Result<RunRecord, LifeboatError> {
    let RecordPorts {
        registry,
        journal,
        dns,
        lease,
        settings,
        own_calls,
        alarms,
        members,
    } = *p;
    let (plan, progress) = run;
    let plan = &plan;
    // A stopped run has no progress for the waves it did not reach: ask Route 53 where those apps are.
    let unreached: Vec<&lifeboat_core::plan::AppMove> = plan
        .phases
        .iter()
        .enumerate()
        .flat_map(|(p, phase)| phase.waves.iter().map(move |w| (p, w)))
        .filter(|(p, w)| !progress.contains_key(&(*p, w.index)))
        .flat_map(|(_, w)| w.apps.iter())
        .collect();
    let observed = if input.error.is_some() && !unreached.is_empty() && !plan.empty && !plan.dry_run {
        // Each account's records read as its role.
        let mut index = lifeboat_core::dns::RecordIndex::default();
        let mut read_all = true;
        for (account, apps) in crate::services::by_account(unreached, |a| a.account.as_ref()) {
            let keys: Vec<&lifeboat_core::dns::RecordKey> =
                apps.iter().flat_map(|a| a.dns.iter().map(|c| &c.key)).collect();
            let member = members.map(|s| s.for_account(account.as_ref()));
            let reader = member.as_ref().map_or(dns, |m| &*m.dns_read);
            match read_records(reader, keys).await {
                Ok(idx) => index.extend(idx),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the records to report where apps are");
                    read_all = false;
                }
            }
        }
        read_all.then_some(index)
    } else {
        None
    };
    let mut apps = outcomes(plan, &progress, input.error.as_ref(), observed.as_ref());
    // Apps that should have moved but could not (Route 53's API dark in a disaster).
    let cannot_move: Vec<&lifeboat_core::plan::Skipped> = plan.skipped.iter().filter(|s| s.error.is_some()).collect();
    if !plan.dry_run {
        apps.extend(cannot_move.iter().map(|s| {
            AppOutcome {
                app: s.app.clone(),
                account: None,
                phase: 0,
                action: plan
                    .phases
                    .first()
                    .map(|p| p.action)
                    .unwrap_or(lifeboat_core::request::Action::Failover),
                to_region: s.to_region.clone().unwrap_or_default(),
                status: AppStatus::NotMoved,
                detail: format!("{}: {}", s.error.map(ErrorName::as_str).unwrap_or_default(), s.reason),
                wave_started_at: None,
                verified_at: None,
                recovery_seconds: None,
                database: None,
                routing_controls_via: None,
                timeline: Default::default(),
                apart: None,
                capacity: vec![],
                capacity_restored: vec![],
                hooks: vec![],
            }
        }));
    }
    let moved = apps.iter().filter(|a| a.status == AppStatus::Moved).count();
    let status = if plan.empty {
        RunStatus::NothingToDo
    } else if plan.dry_run {
        RunStatus::DryRun
    } else if moved == apps.len() && input.error.is_none() {
        RunStatus::Succeeded
    } else if moved > 0 {
        RunStatus::Partial
    } else {
        RunStatus::Failed
    };
    let finished_at = input.finished_at.unwrap_or_else(Utc::now);
    // An app's active Region is where its last successful move took it.
    let mut active: Vec<(String, String)> = Vec::new();
    for a in apps.iter().filter(|a| a.status == AppStatus::Moved) {
        active.retain(|(n, _)| *n != a.app);
        active.push((a.app.clone(), a.to_region.clone()));
    }
    registry.set_active_regions(&active, &plan.run_id, finished_at).await?;
    // Alarms turned away while this run held the lease: a follow-up for their
    // apps that did not move, if they are still in ALARM (taken up before the
    // record's calls are counted, so the record counts them).
    let follow_up = match alarms {
        Some(a) if plan.lease_epoch.is_some() && !plan.dry_run => {
            let moved: BTreeSet<String> = apps
                .iter()
                .filter(|a| a.status == AppStatus::Moved)
                .map(|a| a.app.clone())
                .collect();
            // In a disaster the primary's CloudWatch may not answer: its
            // alarms count as still in ALARM. Taking up never fails the
            // record: what cannot be taken up now stays kept.
            let unreadable = if plan.mode == lifeboat_core::request::Mode::Disaster {
                crate::pending::Unreadable::CountAsAlarm
            } else {
                crate::pending::Unreadable::KeepForLater
            };
            match crate::pending::take_up(
                registry,
                journal,
                a,
                &settings.trigger_origin.regions,
                &plan.run_id,
                &moved,
                unreadable,
            )
            .await
            {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(run = %plan.run_id, error = %e, "could not take up kept triggers: they stay kept for the next run's end or the retry schedule");
                    None
                }
            }
        }
        _ => None,
    };
    let mut api_calls = input.api_calls.clone().unwrap_or_default();
    for wave in input.results.iter().flatten() {
        api_calls.merge(&wave.api_calls());
    }
    api_calls.merge(&own_calls.snapshot());
    // The journal write (and the lease release) below are not in the record.
    let summary = match status {
        RunStatus::NothingToDo | RunStatus::DryRun => plan.summary.clone(),
        _ => format!(
            "{}: {moved}/{} application move(s) verified{}{}",
            plan.action,
            apps.len(),
            input
                .error
                .as_ref()
                .map(|e| format!("; stopped by {}", e.error))
                .unwrap_or_default(),
            apart_summary(&apps)
        ),
    };
    let error_name = match status {
        RunStatus::Partial | RunStatus::Failed => Some(
            apps.iter()
                .filter_map(|a| a.database.as_ref().and_then(|d| d.error))
                .min_by_key(|n| *n != ErrorName::RpoExceeded)
                .or_else(|| cannot_move.first().and_then(|s| s.error))
                .map(FailureName::from)
                .or_else(|| input.error.as_ref().map(|e| e.error.clone()))
                .unwrap_or(FailureName::Lifeboat(ErrorName::VerificationFailed)),
        ),
        _ => None,
    };
    for a in apps.iter().filter_map(|a| a.apart.as_ref().map(|why| (&a.app, why))) {
        tracing::error!(app = %a.0, apart = %a.1, "data and traffic left apart");
    }
    // A wait for approval: who answered, when, how long it took. A read that fails does not fail the record.
    let approval = if plan.approval.is_some() {
        match crate::approval::load(journal, &plan.run_id).await {
            Ok(doc) => {
                let stopped_by_it = input.error.as_ref().is_some_and(|e| {
                    matches!(
                        e.error,
                        FailureName::Lifeboat(ErrorName::ApprovalTimedOut | ErrorName::ApprovalRejected)
                    )
                });
                doc.map(|d| d.outcome(!stopped_by_it, finished_at))
            }
            Err(e) => {
                tracing::error!(run = %plan.run_id, error = %e, "could not read the run's approval: the record goes without it");
                None
            }
        }
    } else {
        None
    };
    let record = RunRecord {
        approval,
        error_name,
        run_id: plan.run_id.clone(),
        action: plan.action,
        mode: plan.mode,
        trigger: plan.trigger,
        source: plan.source.clone(),
        dry_run: plan.dry_run,
        status,
        started_at: input.started_at,
        finished_at,
        duration_seconds: (finished_at - input.started_at).num_milliseconds() as f64 / 1000.0,
        apps,
        api_calls,
        summary,
        skipped: plan.skipped.clone(),
        error: input.error.as_ref().map(|e| format!("{}: {}", e.error, e.cause)),
        apps_total: 0,
        apps_moved: 0,
        skipped_total: plan.skipped.len(),
        follow_up,
        triggered_at: plan.triggered_at,
        waited: plan.waited.clone(),
    };
    let mut record = record;
    record.apps_total = record.apps.len();
    record.apps_moved = moved;
    // Skipped apps (thousands when a whole estate is already in place) are
    // listed up to a bound, those that could not move first.
    if record.skipped.len() > RECORD_APPS_MAX {
        let (cannot, others): (Vec<_>, Vec<_>) = record.skipped.drain(..).partition(|k| k.error.is_some());
        record.skipped = cannot.into_iter().chain(others).take(RECORD_APPS_MAX).collect();
    }
    journal.record_run(&record).await?;
    if plan.lease_epoch.is_some() {
        let cooldown = settings.cooldown_after(Some(plan.action));
        if !lease.release(&plan.run_id, Utc::now(), cooldown).await? {
            tracing::warn!(run = %plan.run_id, "the lease was no longer ours to release");
        }
    }
    tracing::info!(run = %record.run_id, status = ?record.status, summary = %record.summary, "recorded outcome");
    // What goes on in the state data and the outcome event: bounded, the
    // exceptions first. The journal has every app.
    if record.apps.len() > RECORD_APPS_MAX {
        let (moved_apps, others): (Vec<AppOutcome>, Vec<AppOutcome>) =
            record.apps.drain(..).partition(|a| a.status == AppStatus::Moved);
        record.apps = others.into_iter().chain(moved_apps).take(RECORD_APPS_MAX).collect();
    }
    Ok(record)
}

/// The summary's word on apps whose data and traffic are apart (each app's
/// record says what is where and how to join them).
fn apart_summary(apps: &[AppOutcome]) -> String {
    let apart: Vec<&str> = apps
        .iter()
        .filter(|a| a.apart.is_some())
        .map(|a| a.app.as_str())
        .collect();
    if apart.is_empty() {
        return String::new();
    }
    format!(
        "; DATA AND TRAFFIC APART for {}: {} (each app's record says how to join them)",
        apart.len(),
        apart.join(", ")
    )
}
