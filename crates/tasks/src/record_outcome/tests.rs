use super::*;
use crate::contract::{AppProgress, DbStatus, StatesError, VerifyStatus, WaveProgress};
use crate::contract::{DbProgress, VerifyProgress};
use crate::services::Settings;
use crate::test_support::{estate, wave_of};
use chrono::{DateTime, Utc};
use lifeboat_aws::fakes::{FakeJournal, FakeLease, FakeRegistry};
use lifeboat_aws::ports::RegistryStore;
use lifeboat_core::database::DbAction;
use lifeboat_core::outcome::{AppStatus, DatabaseOutcome, RunStatus};
use lifeboat_core::plan::Plan;
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
        waited: None,
        approval: None,
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
    crate::journal::store_plan(&journal, plan).await.unwrap();
    let at = crate::contract::WaveRef {
        run_id: plan.run_id.clone(),
        phase: 0,
        wave: 0,
    };
    crate::journal::save_progress(&journal, &at, &progress).await.unwrap();
    journal
}

/// A wave's progress that started at `t`, no app in it yet.
fn started_at(t: &str) -> WaveProgress {
    WaveProgress {
        started_at: at(t),
        ..Default::default()
    }
}

/// record_outcome over the sample estate's records, no lease, no kept triggers.
async fn record(
    registry: &FakeRegistry,
    journal: &FakeJournal,
    input: RecordInput,
) -> Result<RunRecord, LifeboatError> {
    let ports = RecordPorts {
        registry,
        journal,
        dns: &estate(),
        lease: &FakeLease::default(),
        settings: &Settings::default(),
        own_calls: &lifeboat_aws::CallCounter::new(),
        alarms: None,
        members: None,
    };
    record_outcome(&ports, input).await
}

#[tokio::test]
async fn partial_run_records_moved_and_rolled_back_apps_and_sums_api_calls() {
    let plan = plan_with(&["api", "web"]).await;
    let registry = FakeRegistry::default();
    registry
        .put_apps(&crate::test_support::registry().applications)
        .await
        .unwrap();
    let mut progress = started_at("2026-11-26T10:00:00.000Z");
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
    let results: Vec<Vec<WaveResult>> = serde_json::from_value(json!([[{
        "wave": 0,
        "shift": {"api_calls": {"route53:ChangeResourceRecordSets": 2, "route53:ListResourceRecordSets": 2}},
        "verify": {"api_calls": {"cloudwatch:DescribeAlarms": 4}},
        "rollback": {"api_calls": {"route53:ChangeResourceRecordSets": 1}}
    }]]))
    .unwrap();
    let t0 = Utc::now();
    let rec = record(
        &registry,
        &journal,
        RecordInput {
            results,
            finished_at: Some(t0 + chrono::Duration::seconds(42)),
            api_calls: Some(serde_json::from_value(json!({"route53:ListResourceRecordSets": 2})).unwrap()),
            ..RecordInput::of(plan.summarize(), t0)
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
    let outcome = |status: DbStatus, rpo: f64, writable: Option<&str>, error: Option<ErrorName>, detail: &str| {
        let started = at("2026-11-26T10:00:00.000Z");
        let writable_at = writable.and_then(at);
        DbProgress {
            status,
            checks: 4,
            retry_promote: false,
            endpoint: None,
            outcome: DatabaseOutcome {
                action: DbAction::Failover,
                status,
                region: "us-west-2".into(),
                target: "t".into(),
                started_at: started,
                writable_at,
                seconds_to_writable: writable_at.map(|w| (w - started.unwrap()).num_milliseconds() as f64 / 1000.0),
                rpo_at_risk_seconds: Some(rpo),
                restore_time: None,
                data_window_lost_seconds: None,
                lost_writes_snapshot: None,
                error,
                detail: detail.into(),
            },
        }
    };
    let mut progress = started_at("2026-11-26T10:00:00.000Z");
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
                Some(ErrorName::RpoExceeded),
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
    let rec = record(
        &registry,
        &journal,
        RecordInput {
            finished_at: Some(t0),
            ..RecordInput::of(plan.summarize(), t0)
        },
    )
    .await
    .unwrap();
    assert_eq!(rec.status, RunStatus::Partial);
    assert_eq!(rec.error_name, Some(ErrorName::RpoExceeded.into()));
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
    assert_eq!((db.status, db.rpo_at_risk_seconds), (DbStatus::Refused, Some(42.0)));
    assert_eq!(db.error, Some(ErrorName::RpoExceeded));
}

#[tokio::test]
async fn a_run_stopped_by_an_error_marks_unreached_apps() {
    let plan = plan_with(&["api"]).await;
    let registry = FakeRegistry::default();
    let journal = FakeJournal::default();
    crate::journal::store_plan(&journal, &plan).await.unwrap();
    let rec = record(
        &registry,
        &journal,
        RecordInput {
            error: Some(StatesError {
                error: ErrorName::Internal.into(),
                cause: "boom".into(),
            }),
            ..RecordInput::of(plan.summarize(), Utc::now())
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
    let rec = record(&registry, &journal, RecordInput::of(plan.summarize(), Utc::now()))
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
