use super::*;
use crate::journal::store_plan;
use crate::services::Services;
use crate::shift_dns::ShiftMode;
use crate::test_support::{fake_services, registry};
use crate::validate::{ValidateInput, take_lease, validate};
use chrono::Utc;
use lifeboat_aws::ports::{DnsReader, RegistryStore, RunLease};
use lifeboat_core::ErrorName;

/// Validate, take the lease and store the plan, as the Validate task does.
async fn planned(s: &Services, f: &crate::test_support::Fakes) -> WaveInput {
    planned_with(s, f, registry()).await
}

/// The same, for `reg`.
async fn planned_with(
    s: &Services,
    f: &crate::test_support::Fakes,
    reg: lifeboat_core::registry::Registry,
) -> WaveInput {
    f.registry.put_apps(&reg.applications).await.unwrap();
    f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
    let mut plan = validate(
        s.validate_ports(),
        ValidateInput {
            run_id: "run-1".into(),
            ..ValidateInput::of(serde_json::json!({"action": "failover", "apps": ["api"]}))
        },
    )
    .await
    .unwrap()
    .plan;
    take_lease(&*s.lease, &s.settings, Utc::now(), &mut plan).await.unwrap();
    assert_eq!(plan.lease_epoch, Some(1));
    store_plan(&*s.journal, &plan).await.unwrap();
    WaveInput {
        run_id: "run-1".into(),
        phase: 0,
        wave: 0,
        started_at: None,
        mode: None,
        error: None,
        entered_at: None,
        api_calls: None,
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

#[tokio::test]
async fn a_throttled_promote_leaves_its_app_pending_and_is_made_again_at_the_next_check() {
    use lifeboat_core::registry::{BySide, Database, DatabaseKind};
    let (s, f) = fake_services();
    let mut reg = registry();
    let api = reg.applications.iter_mut().find(|a| a.name == "api").unwrap();
    api.database = Database {
        kind: DatabaseKind::RdsReplica,
        identifiers: Some(BySide {
            primary: "api-use1".into(),
            secondary: "api-usw2".into(),
        }),
        interval_seconds: 10,
        deadline_seconds: 100,
        ..Database::default()
    };
    f.databases.add_instance(
        "us-west-2",
        "api-usw2",
        Some("arn:aws:rds:us-east-1:123456789012:db:api-use1"),
    );
    let input = planned_with(&s, &f, reg).await;
    // The promote is throttled past the SDK's retries: the app waits, the wave does not fail.
    f.databases
        .fail_actions
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled(
            "PromoteReadReplica: Throttling".into(),
        ));
    // (promote_wave's own first look makes it again at once.)
    // Throttled twice: after promote_wave the app is still pending, the wave unharmed.
    f.databases
        .fail_actions
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled(
            "PromoteReadReplica: Throttling".into(),
        ));
    let step = promote_wave(&s, Utc::now(), input.clone()).await.unwrap();
    assert_eq!((step.pending, step.failed), (1, 0), "{}", step.summary);
    assert!(
        step.summary.contains("made again at the next check"),
        "{}",
        step.summary
    );
    assert_eq!(f.databases.calls.lock().unwrap().get("rds:PromoteReadReplica"), 2);
    let mut done = 0;
    for _ in 0..5 {
        if done == 1 {
            break;
        }
        done = check_wave(&s, Utc::now(), input.clone()).await.unwrap().done;
    }
    assert_eq!(done, 1);
    assert_eq!(f.databases.calls.lock().unwrap().get("rds:PromoteReadReplica"), 3);
}

#[tokio::test]
async fn a_throttled_alarm_read_costs_its_apps_a_check_not_the_wave() {
    let (s, f) = fake_services();
    let input = planned(&s, &f).await;
    shift_wave(&s, input.clone()).await.unwrap();
    f.alarms
        .fail_reads
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled("DescribeAlarms: Throttling".into()));
    let step = verify_wave(&s, Utc::now(), input.clone()).await.unwrap();
    assert_eq!((step.pending, step.done, step.failed), (1, 0, 0), "{}", step.summary);
    let step = verify_wave(&s, Utc::now(), input.clone()).await.unwrap();
    assert_eq!((step.pending, step.done, step.failed), (0, 1, 0), "{}", step.summary);
}
