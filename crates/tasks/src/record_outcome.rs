//! record_outcome: turn the plan and the state machine's results into the
//! run's journal record, update each moved application's active Region, and
//! return the record (which the CLI prints and an outcome event carries).

use crate::contract::{
    AppProgress, DbStatus, LoadedRun, StatesError, VerifyStatus, WaveProgress, load_run, try_load_run,
};
use crate::services::Settings;
use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{AlarmStates, DnsReader, Journal, RegistryStore, RunLease, read_records};
use lifeboat_core::LifeboatError;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::database::DbAction;
use lifeboat_core::dns::RecordIndex;
use lifeboat_core::outcome::{AppOutcome, AppStatus, DatabaseOutcome, RunRecord, RunStatus};
use lifeboat_core::plan::{Plan, PlanSummary};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordInput {
    /// The plan as the state machine carries it; the whole plan is in the journal.
    pub plan: PlanSummary,
    /// The phases' results (counts and the calls each step made).
    #[serde(default)]
    pub results: Option<Value>,
    /// When the run stopped on an error.
    #[serde(default)]
    pub error: Option<StatesError>,
    pub started_at: DateTime<Utc>,
    /// When the run reached this task (the executor's clock), if given.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Calls made before the phases (validate's).
    #[serde(default)]
    pub api_calls: Option<Value>,
}

/// Adds up every `api_calls` object anywhere in `v`.
pub fn sum_api_calls(v: &Value, into: &mut ApiCalls) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "api_calls"
                    && let Ok(calls) = serde_json::from_value::<ApiCalls>(child.clone())
                {
                    into.merge(&calls);
                    continue;
                }
                sum_api_calls(child, into);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| sum_api_calls(c, into)),
        _ => {}
    }
}

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
            "manual",
            format!(
                "moved DNS only; the database is rebuilt by hand: {}",
                d.manual_steps.join("; ")
            ),
        ));
    }
    Some(match progress.and_then(|p| p.database.as_ref()) {
        Some(p) => p.outcome.clone(),
        None => DatabaseOutcome::of(d, "not-reached", String::new()),
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
                let routing_controls_via = wp
                    .and_then(|w| w.arc.as_ref())
                    .filter(|_| !app.controls.is_empty() && status != AppStatus::NotMoved)
                    .map(|a| a.endpoint_region.clone());
                out.push(AppOutcome {
                    app: app.app.clone(),
                    phase: p,
                    action: phase.action,
                    to_region: app.to_region.clone(),
                    status,
                    detail,
                    wave_started_at,
                    verified_at,
                    recovery_seconds,
                    database: database_outcome(app, ap),
                    routing_controls_via,
                    timeline: lifeboat_core::outcome::Timeline {
                        wave: wp.map(|_| wave.index),
                        shifted_at: ap.and_then(|a| a.shifted_at),
                        verify_started_at: ap.and_then(|a| a.verify_started_at),
                        verify_ended_at: verify.and_then(|v| v.at),
                        rolled_back_at: ap.and_then(|a| a.rolled_back_at),
                    },
                });
            }
        }
    }
    out
}

/// The most apps a record returned to the state machine lists (the journal
/// has them all): the exceptions first, then moved apps.
pub const RECORD_APPS_MAX: usize = 100;

/// A trigger the lease turned away.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgnoredInput {
    /// `{"Error": "Lifeboat.LeaseHeld", "Cause": ...}`
    pub ignored: Value,
    pub run_id: String,
    /// The execution's input: an alarm's is kept for later.
    #[serde(default)]
    pub trigger: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgnoredRecord {
    pub run_id: String,
    pub status: String,
    pub summary: String,
    /// The alarms kept, to be taken up when the lease or the cooldown frees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Turned away by the cooldown with alarms kept: the execution waits
    /// until then and takes them up itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

/// Records that a trigger was not executed, and why; keeps its alarms for
/// when the lease or the cooldown frees (no trigger is lost).
pub async fn record_ignored(
    journal: &dyn Journal,
    lease: &dyn RunLease,
    input: IgnoredInput,
) -> Result<IgnoredRecord, LifeboatError> {
    let reason = input.ignored["Cause"].as_str().unwrap_or("lease held").to_string();
    let now = Utc::now();
    journal.record_ignored(&input.run_id, &reason, now).await?;
    let kept = match &input.trigger {
        Some(t) => crate::pending::keep(journal, t, &input.run_id, &reason, now).await?,
        None => Vec::new(),
    };
    // In the cooldown (no run holds the lease): wait it out here.
    let retry_at = if kept.is_empty() {
        None
    } else {
        let st = lease.state().await?;
        st.cooldown_until.filter(|c| st.holder.is_none() && *c > now)
    };
    tracing::warn!(run = %input.run_id, %reason, ?kept, ?retry_at, "trigger turned away");
    Ok(IgnoredRecord {
        run_id: input.run_id,
        status: "ignored".into(),
        summary: if kept.is_empty() {
            format!("ignored: {reason}")
        } else {
            format!(
                "turned away ({reason}); alarm(s) {} kept for when it frees",
                kept.join(", ")
            )
        },
        kept,
        retry_at,
    })
}

/// What an execution that waited out the cooldown found kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TakenUp {
    /// The follow-up to run now (this execution runs it), or null.
    pub follow_up: Option<lifeboat_core::request::FollowUp>,
}

/// The detail-type of Step Functions' execution status-change events.
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// What the record of an execution that ended without one did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionEndRecord {
    pub run_id: String,
    pub status: String,
    /// False when the run was already recorded (by the state machine itself,
    /// or an earlier delivery of the same event), or had no plan to record.
    pub recorded: bool,
    pub detail: String,
}

/// An execution that timed out, was aborted, or failed without its own
/// record (EventBridge's status-change event): records it from the journal's
/// plan and progress, as RecordFailure would have, and frees the lease.
/// Idempotent: a run already recorded is left as it is.
#[allow(clippy::too_many_arguments)]
pub async fn record_execution_end(
    registry: &dyn RegistryStore,
    journal: &dyn Journal,
    dns: &dyn DnsReader,
    lease: &dyn RunLease,
    settings: &Settings,
    own_calls: &(dyn Fn() -> ApiCalls + Send + Sync),
    event: &Value,
) -> Result<ExecutionEndRecord, LifeboatError> {
    let detail = &event["detail"];
    let field = |k: &str| detail[k].as_str().unwrap_or_default().to_string();
    let (run_id, status) = (field("name"), field("status"));
    if run_id.is_empty() || status.is_empty() {
        return Err(LifeboatError::invalid(format!(
            "{EXECUTION_STATUS_CHANGE} event without detail.name or detail.status"
        )));
    }
    let at = |k: &str| detail[k].as_i64().and_then(DateTime::<Utc>::from_timestamp_millis);
    let done = |recorded: bool, detail: String| ExecutionEndRecord {
        run_id: run_id.clone(),
        status: status.clone(),
        recorded,
        detail,
    };
    if journal.get_run(&run_id).await?.is_some() {
        return Ok(done(false, "already recorded".into()));
    }
    let error = match status.as_str() {
        "TIMED_OUT" => StatesError {
            error: "States.Timeout".into(),
            cause: "the execution reached its TimeoutSeconds before it finished".into(),
        },
        "ABORTED" => StatesError {
            error: "Execution.Aborted".into(),
            cause: "the execution was stopped (StopExecution) before it finished".into(),
        },
        "FAILED" => StatesError {
            error: Some(field("error"))
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "States.Runtime".into()),
            cause: field("cause"),
        },
        other => return Ok(done(false, format!("status {other}: nothing to record"))),
    };
    // A journal that does not answer is an error (EventBridge retries); only a
    // run with no plan at all has nothing to record.
    let Some(run) = try_load_run(journal, &run_id).await? else {
        // Stopped before validate wrote a plan: nothing moved; free the lease if it took it.
        if lease.state().await?.holder.as_deref() == Some(run_id.as_str()) {
            let cooldown = chrono::Duration::seconds(i64::from(settings.cooldown_seconds));
            lease.release(&run_id, Utc::now(), cooldown).await?;
        }
        return Ok(done(
            false,
            "no plan in the journal: it stopped before validate planned".into(),
        ));
    };
    let plan = &run.0;
    let input = RecordInput {
        plan: plan.summarize(),
        results: None,
        error: Some(error),
        started_at: at("startDate").unwrap_or(plan.created_at),
        finished_at: at("stopDate"),
        api_calls: None,
    };
    // Kept triggers stay kept: nobody would start this record's follow-up
    // (no outcome event); the next run's end takes them up.
    let ports = RecordPorts {
        registry,
        journal,
        dns,
        lease,
        settings,
        own_calls,
        alarms: None,
    };
    let record = record_loaded(&ports, run, input).await?;
    tracing::warn!(run = %run_id, %status, summary = %record.summary, "recorded a run that ended without its own record");
    Ok(done(true, record.summary))
}

/// What recording a run uses.
struct RecordPorts<'a> {
    registry: &'a dyn RegistryStore,
    journal: &'a dyn Journal,
    dns: &'a dyn DnsReader,
    lease: &'a dyn RunLease,
    settings: &'a Settings,
    own_calls: &'a (dyn Fn() -> ApiCalls + Send + Sync),
    /// Where kept triggers' alarms are read, to take them up (None: leave them kept).
    alarms: Option<&'a dyn AlarmStates>,
}

#[allow(clippy::too_many_arguments)]
pub async fn record_outcome(
    registry: &dyn RegistryStore,
    journal: &dyn Journal,
    dns: &dyn DnsReader,
    lease: &dyn RunLease,
    settings: &Settings,
    own_calls: &(dyn Fn() -> ApiCalls + Send + Sync),
    // Where kept triggers' alarms are read, to take them up (None: leave them kept).
    alarms: Option<&dyn AlarmStates>,
    input: RecordInput,
) -> Result<RunRecord, LifeboatError> {
    let run = load_run(journal, &input.plan.run_id).await?;
    let ports = RecordPorts {
        registry,
        journal,
        dns,
        lease,
        settings,
        own_calls,
        alarms,
    };
    record_loaded(&ports, run, input).await
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
    } = *p;
    let (plan, progress) = run;
    let plan = &plan;
    // A stopped run has no progress for the waves it did not reach: ask Route 53 where those apps are.
    let unreached: Vec<lifeboat_core::dns::RecordKey> = plan
        .phases
        .iter()
        .enumerate()
        .flat_map(|(p, phase)| phase.waves.iter().map(move |w| (p, w)))
        .filter(|(p, w)| !progress.contains_key(&(*p, w.index)))
        .flat_map(|(_, w)| w.apps.iter().flat_map(|a| a.dns.iter().map(|c| c.key.clone())))
        .collect();
    let observed = if input.error.is_some() && !unreached.is_empty() && !plan.empty && !plan.dry_run {
        match read_records(dns, unreached.iter()).await {
            Ok(idx) => Some(idx),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the records to report where apps are");
                None
            }
        }
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
                phase: 0,
                action: plan
                    .phases
                    .first()
                    .map(|p| p.action)
                    .unwrap_or(lifeboat_core::request::Action::Failover),
                to_region: s.to_region.clone().unwrap_or_default(),
                status: AppStatus::NotMoved,
                detail: format!("{}: {}", s.error.as_deref().unwrap_or_default(), s.reason),
                wave_started_at: None,
                verified_at: None,
                recovery_seconds: None,
                database: None,
                routing_controls_via: None,
                timeline: Default::default(),
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
            crate::pending::take_up(
                registry,
                journal,
                a,
                &settings.trigger_origin.regions,
                &plan.run_id,
                &moved,
            )
            .await?
        }
        _ => None,
    };
    let mut api_calls = ApiCalls::default();
    if let Some(v) = &input.api_calls {
        sum_api_calls(&serde_json::json!({"api_calls": v}), &mut api_calls);
    }
    if let Some(r) = &input.results {
        sum_api_calls(r, &mut api_calls);
    }
    api_calls.merge(&own_calls());
    // The journal write (and the lease release) below are not in the record.
    let summary = match status {
        RunStatus::NothingToDo | RunStatus::DryRun => plan.summary.clone(),
        _ => format!(
            "{}: {moved}/{} application move(s) verified{}",
            plan.action,
            apps.len(),
            input
                .error
                .as_ref()
                .map(|e| format!("; stopped by {}", e.error))
                .unwrap_or_default()
        ),
    };
    let error_name = match status {
        RunStatus::Partial | RunStatus::Failed => Some(
            apps.iter()
                .filter_map(|a| a.database.as_ref().and_then(|d| d.error.clone()))
                .min_by_key(|n| n != lifeboat_core::ErrorName::RpoExceeded.as_str())
                .or_else(|| cannot_move.first().and_then(|s| s.error.clone()))
                .or_else(|| input.error.as_ref().map(|e| e.error.clone()))
                .unwrap_or_else(|| lifeboat_core::ErrorName::VerificationFailed.as_str().to_string()),
        ),
        _ => None,
    };
    let record = RunRecord {
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
        let cooldown = chrono::Duration::seconds(i64::from(settings.cooldown_seconds));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{DbProgress, VerifyProgress};
    use crate::test_support::{estate, wave_of};
    use lifeboat_aws::fakes::{FakeJournal, FakeLease, FakeRegistry};
    use serde_json::json;

    async fn plan_with(apps: &[&str]) -> Plan {
        let r53 = estate();
        let wave = wave_of(&r53, apps).await;
        Plan {
            run_id: "run-7".into(),
            action: lifeboat_core::request::Action::Failover,
            mode: lifeboat_core::request::Mode::Planned,
            trigger: lifeboat_core::request::TriggerKind::Manual,
            source: "test".into(),
            dry_run: false,
            empty: false,
            phases: vec![lifeboat_core::plan::Phase {
                action: lifeboat_core::request::Action::Failover,
                target: lifeboat_core::registry::Side::Secondary,
                waves: vec![wave],
            }],
            skipped: vec![],
            soak_seconds: 0,
            created_at: Utc::now(),
            summary: "s".into(),
            lease_epoch: None,
            triggered_at: None,
        }
    }

    fn at(t: &str) -> Option<DateTime<Utc>> {
        t.parse().ok()
    }

    fn verified(ok: bool, detail: &str, t: &str) -> Option<VerifyProgress> {
        Some(VerifyProgress {
            status: if ok {
                VerifyStatus::Verified
            } else {
                VerifyStatus::Failed
            },
            checks: 1,
            detail: detail.into(),
            at: at(t),
        })
    }

    /// Writes the plan and wave 0's progress as the wave tasks would.
    async fn journaled(plan: &Plan, progress: WaveProgress) -> FakeJournal {
        let journal = FakeJournal::default();
        crate::contract::store_plan(&journal, plan).await.unwrap();
        let at = crate::contract::WaveRef {
            run_id: plan.run_id.clone(),
            phase: 0,
            wave: 0,
        };
        crate::contract::save_progress(&journal, &at, &progress).await.unwrap();
        journal
    }

    #[tokio::test]
    async fn partial_run_records_moved_and_rolled_back_apps_and_sums_api_calls() {
        let plan = plan_with(&["api", "web"]).await;
        let registry = FakeRegistry::default();
        registry
            .put_apps(&crate::test_support::registry().applications)
            .await
            .unwrap();
        let mut progress = WaveProgress {
            started_at: at("2026-11-26T10:00:00.000Z"),
            ..Default::default()
        };
        progress.apps.insert(
            "api".into(),
            AppProgress {
                shifted: true,
                verify: verified(true, "ok", "2026-11-26T10:00:12.500Z"),
                ..Default::default()
            },
        );
        progress.apps.insert(
            "web".into(),
            AppProgress {
                shifted: true,
                rolled_back: true,
                verify: verified(false, "alarm web is ALARM", "2026-11-26T10:01:00.000Z"),
                ..Default::default()
            },
        );
        let journal = journaled(&plan, progress).await;
        let results = json!([[{
            "wave": 0,
            "shift": {"api_calls": {"route53:ChangeResourceRecordSets": 2, "route53:ListResourceRecordSets": 2}},
            "verify": {"api_calls": {"cloudwatch:DescribeAlarms": 4}},
            "rollback": {"api_calls": {"route53:ChangeResourceRecordSets": 1}}
        }]]);
        let t0 = Utc::now();
        let rec = record_outcome(
            &registry,
            &journal,
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            None,
            RecordInput {
                plan: plan.summarize(),
                results: Some(results),
                error: None,
                started_at: t0,
                finished_at: Some(t0 + chrono::Duration::seconds(42)),
                api_calls: Some(json!({"route53:ListResourceRecordSets": 2})),
            },
        )
        .await
        .unwrap();
        assert_eq!(rec.status, RunStatus::Partial);
        assert_eq!(rec.duration_seconds, 42.0);
        let statuses: Vec<(&str, AppStatus)> = rec.apps.iter().map(|a| (a.app.as_str(), a.status)).collect();
        assert_eq!(
            statuses,
            vec![("api", AppStatus::Moved), ("web", AppStatus::RolledBack)]
        );
        assert_eq!(rec.apps[0].recovery_seconds, Some(12.5));
        assert_eq!((rec.apps_total, rec.apps_moved), (2, 1));
        assert_eq!(rec.api_calls.get("route53:ChangeResourceRecordSets"), 3);
        assert_eq!(rec.api_calls.get("route53:ListResourceRecordSets"), 4);
        assert_eq!(rec.api_calls.get("cloudwatch:DescribeAlarms"), 4);
        let stored = registry.load().await.unwrap();
        let active: Vec<(String, Option<String>)> = stored
            .iter()
            .map(|s| (s.app.name.clone(), s.active_region.clone()))
            .collect();
        assert!(active.contains(&("api".into(), Some("us-west-2".into()))));
        assert!(active.contains(&("web".into(), None)));
        assert!(journal.runs.lock().unwrap().contains_key("run-7"));
    }

    #[tokio::test]
    async fn database_steps_are_journaled_with_when_writable_and_the_rpo_at_risk() {
        let mut plan = plan_with(&["api", "web"]).await;
        for app in plan.phases[0].waves[0].apps.iter_mut() {
            app.database.action = DbAction::Failover;
            app.database.target = format!("{}-usw2", app.app);
        }
        let outcome = |status: DbStatus, rpo: f64, writable: Option<&str>, error: Option<&str>, detail: &str| {
            let started = at("2026-11-26T10:00:00.000Z");
            let writable_at = writable.and_then(at);
            DbProgress {
                status,
                checks: 4,
                endpoint: None,
                outcome: DatabaseOutcome {
                    action: "failover".into(),
                    status: status.as_str().into(),
                    region: "us-west-2".into(),
                    target: "t".into(),
                    started_at: started,
                    writable_at,
                    seconds_to_writable: writable_at.map(|w| (w - started.unwrap()).num_milliseconds() as f64 / 1000.0),
                    rpo_at_risk_seconds: Some(rpo),
                    restore_time: None,
                    data_window_lost_seconds: None,
                    error: error.map(str::to_string),
                    detail: detail.into(),
                },
            }
        };
        let mut progress = WaveProgress {
            started_at: at("2026-11-26T10:00:00.000Z"),
            ..Default::default()
        };
        progress.apps.insert(
            "api".into(),
            AppProgress {
                database: Some(outcome(
                    DbStatus::Writable,
                    2.5,
                    Some("2026-11-26T10:01:30.000Z"),
                    None,
                    "failover started",
                )),
                shifted: true,
                verify: verified(true, "ok", "2026-11-26T10:01:40.000Z"),
                ..Default::default()
            },
        );
        progress.apps.insert(
            "web".into(),
            AppProgress {
                database: Some(outcome(
                    DbStatus::Refused,
                    42.0,
                    None,
                    Some("Lifeboat.RpoExceeded"),
                    "lag 42.0 s over 30 s",
                )),
                ..Default::default()
            },
        );
        let journal = journaled(&plan, progress).await;
        let registry = FakeRegistry::default();
        registry
            .put_apps(&crate::test_support::registry().applications)
            .await
            .unwrap();
        let t0 = Utc::now();
        let rec = record_outcome(
            &registry,
            &journal,
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            None,
            RecordInput {
                plan: plan.summarize(),
                results: None,
                error: None,
                started_at: t0,
                finished_at: Some(t0),
                api_calls: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(rec.status, RunStatus::Partial);
        assert_eq!(rec.error_name.as_deref(), Some("Lifeboat.RpoExceeded"));
        let api = &rec.apps[0];
        assert_eq!(api.status, AppStatus::Moved);
        assert_eq!(api.recovery_seconds, Some(100.0));
        let db = api.database.as_ref().unwrap();
        assert_eq!(
            (db.seconds_to_writable, db.rpo_at_risk_seconds),
            (Some(90.0), Some(2.5))
        );
        let web = &rec.apps[1];
        assert_eq!(web.status, AppStatus::NotMoved);
        assert!(web.detail.contains("database not writable"), "{}", web.detail);
        let db = web.database.as_ref().unwrap();
        assert_eq!((db.status.as_str(), db.rpo_at_risk_seconds), ("refused", Some(42.0)));
        assert_eq!(db.error.as_deref(), Some("Lifeboat.RpoExceeded"));
    }

    #[tokio::test]
    async fn a_run_stopped_by_an_error_marks_unreached_apps() {
        let plan = plan_with(&["api"]).await;
        let registry = FakeRegistry::default();
        let journal = FakeJournal::default();
        crate::contract::store_plan(&journal, &plan).await.unwrap();
        let rec = record_outcome(
            &registry,
            &journal,
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            None,
            RecordInput {
                plan: plan.summarize(),
                results: None,
                error: Some(StatesError {
                    error: "Lifeboat.Internal".into(),
                    cause: "boom".into(),
                }),
                started_at: Utc::now(),
                finished_at: None,
                api_calls: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(rec.status, RunStatus::Failed);
        assert_eq!(rec.apps[0].status, AppStatus::NotMoved);
        assert!(
            rec.apps[0]
                .detail
                .contains("weights as before the run: Lifeboat.Internal: boom"),
            "{}",
            rec.apps[0].detail
        );
    }

    #[tokio::test]
    async fn the_record_in_the_state_lists_the_exceptions_first_and_at_most_a_hundred_apps() {
        let mut plan = plan_with(&["api"]).await;
        let template = plan.phases[0].waves[0].apps[0].clone();
        plan.phases[0].waves[0].apps = (0..150)
            .map(|i| {
                let mut a = template.clone();
                a.app = format!("app{i:03}");
                a
            })
            .collect();
        let mut progress = WaveProgress::default();
        for i in 0..150 {
            progress.apps.insert(
                format!("app{i:03}"),
                AppProgress {
                    shifted: true,
                    verify: verified(i != 7, "x", "2026-11-26T10:00:00.000Z"),
                    ..Default::default()
                },
            );
        }
        let journal = journaled(&plan, progress).await;
        let registry = FakeRegistry::default();
        let app = crate::test_support::registry().applications[0].clone();
        let apps: Vec<_> = (0..150)
            .map(|i| {
                let mut a = app.clone();
                a.name = format!("app{i:03}");
                a
            })
            .collect();
        registry.put_apps(&apps).await.unwrap();
        let rec = record_outcome(
            &registry,
            &journal,
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            None,
            RecordInput {
                plan: plan.summarize(),
                results: None,
                error: None,
                started_at: Utc::now(),
                finished_at: None,
                api_calls: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (rec.apps_total, rec.apps_moved, rec.apps.len()),
            (150, 149, RECORD_APPS_MAX)
        );
        assert_eq!(rec.apps[0].app, "app007", "the exception first");
        // The journal keeps every app.
        assert_eq!(journal.runs.lock().unwrap()["run-7"].apps.len(), 150);
    }
}
