//! record_outcome: turn the plan and the state machine's results into the
//! run's journal record, update each moved application's active Region, and
//! return the record (which the CLI prints and an outcome event carries).

use crate::services::Settings;
use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{DnsReader, Journal, RegistryStore, RunLease, read_records};
use lifeboat_core::LifeboatError;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::database::DbAction;
use lifeboat_core::dns::RecordIndex;
use lifeboat_core::outcome::{AppOutcome, AppStatus, DatabaseOutcome, RunRecord, RunStatus};
use lifeboat_core::plan::Plan;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordInput {
    pub plan: Plan,
    /// The phases' results: `[[wave result, ...], ...]`.
    #[serde(default)]
    pub results: Option<Value>,
    /// `{"Error": ..., "Cause": ...}` when the run stopped on an error.
    #[serde(default)]
    pub error: Option<Value>,
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

fn wave_result(results: Option<&Value>, phase: usize, wave: usize) -> Option<&Value> {
    results?
        .get(phase)?
        .as_array()?
        .iter()
        .find(|w| w.get("wave").and_then(Value::as_u64) == Some(wave as u64))
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

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str).and_then(|t| t.parse::<DateTime<Utc>>().ok())
}

/// An app's entry in its wave's `databases` results.
fn database_result<'a>(app: &str, wave: Option<&'a Value>) -> Option<&'a Value> {
    wave.and_then(|w| w["databases"].as_array())
        .and_then(|a| a.iter().find(|r| r["app"].as_str() == Some(app)))
}

/// An app's database step from its wave's `databases` results.
fn database_outcome(app: &lifeboat_core::plan::AppMove, wave: Option<&Value>) -> Option<DatabaseOutcome> {
    let d = &app.database;
    if d.action == DbAction::None {
        return None;
    }
    let r = database_result(&app.app, wave);
    let mut out = DatabaseOutcome {
        action: d.action.as_str().to_string(),
        status: "not-reached".into(),
        region: d.region.clone(),
        target: d.target.clone(),
        started_at: None,
        writable_at: None,
        seconds_to_writable: None,
        rpo_at_risk_seconds: None,
        restore_time: None,
        data_window_lost_seconds: None,
        error: None,
        detail: String::new(),
    };
    if d.action == DbAction::ManualRebuild {
        out.status = "manual".into();
        out.detail = format!(
            "moved DNS only; the database is rebuilt by hand: {}",
            d.manual_steps.join("; ")
        );
        return Some(out);
    }
    let Some(r) = r else {
        return Some(out);
    };
    let p = &r["promotion"];
    out.status = r["status"].as_str().unwrap_or("unknown").to_string();
    out.started_at = time(r.get("started_at"));
    out.writable_at = time(r.get("writable_at"));
    out.seconds_to_writable = match (out.started_at, out.writable_at) {
        (Some(s), Some(w)) => Some((w - s).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    out.rpo_at_risk_seconds = p["rpo_at_risk_seconds"].as_f64();
    out.restore_time = time(p.get("restore_time"));
    out.data_window_lost_seconds = p["data_window_lost_seconds"].as_f64();
    out.error = match out.status.as_str() {
        "timed-out" => Some(lifeboat_core::ErrorName::NotReady.as_str().to_string()),
        "refused" | "failed" => Some(
            r["error"]["Error"]
                .as_str()
                .unwrap_or(lifeboat_core::ErrorName::Internal.as_str())
                .to_string(),
        ),
        _ => None,
    };
    out.detail = match out.status.as_str() {
        "timed-out" => format!(
            "not writable after {} checks: {}",
            r["check"]["checks"].as_u64().unwrap_or(0),
            r["check"]["detail"].as_str().unwrap_or("")
        ),
        "failed" => format!(
            "{}: {}",
            r["error"]["Error"].as_str().unwrap_or("error"),
            r["error"]["Cause"].as_str().unwrap_or("")
        ),
        _ => p["detail"].as_str().unwrap_or("").to_string(),
    };
    Some(out)
}

/// Works out each application's outcome from the wave results or, when the
/// run stopped without them, from the weights Route 53 has now.
pub fn outcomes(
    plan: &Plan,
    results: Option<&Value>,
    error: Option<&Value>,
    observed: Option<&RecordIndex>,
) -> Vec<AppOutcome> {
    let stop_reason = error
        .map(|e| {
            format!(
                "{}: {}",
                e["Error"].as_str().unwrap_or("error"),
                e["Cause"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_else(|| "the run stopped".into());
    let mut out = Vec::new();
    for (p, phase) in plan.phases.iter().enumerate() {
        for wave in &phase.waves {
            let wr = wave_result(results, p, wave.index);
            for app in &wave.apps {
                let database = database_outcome(app, wr);
                let db_blocked = database.as_ref().filter(|d| d.error.is_some());
                // A dependency that did not move holds the app back (whatever its database).
                let dependency_blocked = database_result(&app.app, wr)
                    .filter(|r| r["status"] == "blocked")
                    .map(|r| {
                        r["promotion"]["detail"]
                            .as_str()
                            .unwrap_or("a dependency did not move")
                            .to_string()
                    });
                let (status, detail) = match wr {
                    Some(_) if dependency_blocked.is_some() => {
                        (AppStatus::NotMoved, dependency_blocked.clone().unwrap_or_default())
                    }
                    Some(_) if db_blocked.is_some() => (
                        AppStatus::NotMoved,
                        format!(
                            "database not writable in {}, traffic left where it was: {}",
                            app.to_region,
                            db_blocked.map(|d| d.detail.as_str()).unwrap_or_default()
                        ),
                    ),
                    None => match observed {
                        Some(obs) => observed_status(app, obs, &stop_reason),
                        None => (AppStatus::NotMoved, format!("not reached: {stop_reason}")),
                    },
                    Some(w) if w.get("failed").and_then(Value::as_bool) == Some(true) => {
                        let cause = w["error"]["Cause"].as_str().unwrap_or("wave failed");
                        (
                            AppStatus::RolledBack,
                            format!("wave {} failed and was rolled back: {cause}", wave.index),
                        )
                    }
                    Some(w) => {
                        let v = w["verified"]
                            .as_array()
                            .and_then(|a| a.iter().find(|r| r["app"] == Value::String(app.app.clone())));
                        let detail = v.and_then(|r| r["detail"].as_str()).unwrap_or("").to_string();
                        let rolled_back = w["rollback"]["apps"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|n| n == &Value::String(app.app.clone())));
                        match v.and_then(|r| r["verified"].as_bool()) {
                            Some(true) => (AppStatus::Moved, detail),
                            _ if rolled_back => (
                                AppStatus::RolledBack,
                                format!("verification failed, weights restored: {detail}"),
                            ),
                            _ => (AppStatus::Failed, format!("verification failed: {detail}")),
                        }
                    }
                };
                let wave_started_at = time(wr.and_then(|w| w.get("started_at")));
                let verified_at = if status == AppStatus::Moved {
                    time(wr.and_then(|w| w["verified"].as_array()).and_then(|a| {
                        a.iter()
                            .find(|r| r["app"] == Value::String(app.app.clone()))
                            .and_then(|r| r.get("at"))
                    }))
                } else {
                    None
                };
                let recovery_seconds = match (wave_started_at, verified_at) {
                    (Some(s), Some(v)) => Some((v - s).num_milliseconds() as f64 / 1000.0),
                    _ => None,
                };
                let routing_controls_via = wr
                    .filter(|_| !app.controls.is_empty() && status != AppStatus::NotMoved)
                    .and_then(|w| w["shift"]["arc"]["endpoint_region"].as_str())
                    .map(str::to_string);
                out.push(AppOutcome {
                    routing_controls_via,
                    app: app.app.clone(),
                    phase: p,
                    action: phase.action,
                    to_region: app.to_region.clone(),
                    status,
                    detail,
                    wave_started_at,
                    verified_at,
                    recovery_seconds,
                    database,
                });
            }
        }
    }
    out
}

/// A trigger the lease turned away.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgnoredInput {
    /// `{"Error": "Lifeboat.LeaseHeld", "Cause": ...}`
    pub ignored: Value,
    pub run_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgnoredRecord {
    pub run_id: String,
    pub status: String,
    pub summary: String,
}

/// Records that a trigger was not executed, and why.
pub async fn record_ignored(journal: &dyn Journal, input: IgnoredInput) -> Result<IgnoredRecord, LifeboatError> {
    let reason = input.ignored["Cause"].as_str().unwrap_or("lease held").to_string();
    journal.record_ignored(&input.run_id, &reason, Utc::now()).await?;
    tracing::warn!(run = %input.run_id, %reason, "trigger ignored");
    Ok(IgnoredRecord {
        run_id: input.run_id,
        status: "ignored".into(),
        summary: format!("ignored: {reason}"),
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn record_outcome(
    registry: &dyn RegistryStore,
    journal: &dyn Journal,
    dns: &dyn DnsReader,
    lease: &dyn RunLease,
    settings: &Settings,
    own_calls: &(dyn Fn() -> ApiCalls + Send + Sync),
    input: RecordInput,
) -> Result<RunRecord, LifeboatError> {
    let plan = &input.plan;
    // A stopped run has no results for its waves: ask Route 53 where each app is.
    let observed = if input.results.is_none() && input.error.is_some() && !plan.empty && !plan.dry_run {
        match read_records(dns, plan.record_keys()).await {
            Ok(idx) => Some(idx),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the records to report where apps are");
                None
            }
        }
    } else {
        None
    };
    let mut apps = outcomes(plan, input.results.as_ref(), input.error.as_ref(), observed.as_ref());
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
                .map(|e| format!("; stopped by {}", e["Error"].as_str().unwrap_or("error")))
                .unwrap_or_default()
        ),
    };
    let error_name = match status {
        RunStatus::Partial | RunStatus::Failed => Some(
            apps.iter()
                .filter_map(|a| a.database.as_ref().and_then(|d| d.error.clone()))
                .min_by_key(|n| n != lifeboat_core::ErrorName::RpoExceeded.as_str())
                .or_else(|| cannot_move.first().and_then(|s| s.error.clone()))
                .or_else(|| {
                    input
                        .error
                        .as_ref()
                        .and_then(|e| e["Error"].as_str().map(str::to_string))
                })
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
        error: input.error.as_ref().map(|e| {
            format!(
                "{}: {}",
                e["Error"].as_str().unwrap_or(""),
                e["Cause"].as_str().unwrap_or("")
            )
        }),
    };
    journal.record_run(&record).await?;
    if plan.lease_epoch.is_some() {
        let cooldown = chrono::Duration::seconds(i64::from(settings.cooldown_seconds));
        if !lease.release(&plan.run_id, Utc::now(), cooldown).await? {
            tracing::warn!(run = %plan.run_id, "the lease was no longer ours to release");
        }
    }
    tracing::info!(run = %record.run_id, status = ?record.status, summary = %record.summary, "recorded outcome");
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        }
    }

    #[tokio::test]
    async fn partial_run_records_moved_and_rolled_back_apps_and_sums_api_calls() {
        let plan = plan_with(&["api", "web"]).await;
        let registry = FakeRegistry::default();
        registry
            .put_apps(&crate::test_support::registry().applications)
            .await
            .unwrap();
        let journal = FakeJournal::default();
        let results = json!([[{
            "wave": 0,
            "started_at": "2026-11-26T10:00:00.000Z",
            "shift": {"api_calls": {"route53:ChangeResourceRecordSets": 2, "route53:ListResourceRecordSets": 2}},
            "verified": [
                {"app": "api", "verified": true, "detail": "ok", "at": "2026-11-26T10:00:12.500Z", "api_calls": {"cloudwatch:DescribeAlarms": 1}},
                {"app": "web", "verified": false, "detail": "alarm web is ALARM", "api_calls": {"cloudwatch:DescribeAlarms": 3}}
            ],
            "rollback": {"apps": ["web"], "api_calls": {"route53:ChangeResourceRecordSets": 1}}
        }]]);
        let t0 = Utc::now();
        let rec = record_outcome(
            &registry,
            &journal,
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            RecordInput {
                plan,
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
        for (app, action) in plan.phases[0].waves[0]
            .apps
            .iter_mut()
            .zip([DbAction::Failover, DbAction::Failover])
        {
            app.database.action = action;
            app.database.target = format!("{}-usw2", app.app);
        }
        let results = json!([[{
            "wave": 0,
            "started_at": "2026-11-26T10:00:00.000Z",
            "databases": [
                {"app": "api", "status": "writable", "action": "failover",
                 "started_at": "2026-11-26T10:00:00.000Z", "writable_at": "2026-11-26T10:01:30.000Z",
                 "promotion": {"outcome": "started", "detail": "failover started", "rpo_at_risk_seconds": 2.5,
                               "api_calls": {"rds:FailoverGlobalCluster": 1}},
                 "check": {"checks": 4, "detail": "writer", "api_calls": {"rds:DescribeGlobalClusters": 4}}},
                {"app": "web", "status": "refused", "action": "failover",
                 "started_at": "2026-11-26T10:00:00.000Z",
                 "promotion": {"outcome": "refused", "detail": "lag 42.0 s over 30 s", "rpo_at_risk_seconds": 42.0},
                 "error": {"Error": "Lifeboat.RpoExceeded", "Cause": "lag 42.0 s over 30 s"}}
            ],
            "verified": [{"app": "api", "verified": true, "detail": "ok", "at": "2026-11-26T10:01:40.000Z"}],
            "rollback": {"apps": []}
        }]]);
        let registry = FakeRegistry::default();
        registry
            .put_apps(&crate::test_support::registry().applications)
            .await
            .unwrap();
        let t0 = Utc::now();
        let rec = record_outcome(
            &registry,
            &FakeJournal::default(),
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            RecordInput {
                plan,
                results: Some(results),
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
        assert_eq!(rec.api_calls.get("rds:DescribeGlobalClusters"), 4);
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
        let rec = record_outcome(
            &registry,
            &journal,
            &estate(),
            &FakeLease::default(),
            &Settings::default(),
            &ApiCalls::default,
            RecordInput {
                plan,
                results: None,
                error: Some(json!({"Error": "Lifeboat.Internal", "Cause": "boom"})),
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
}
