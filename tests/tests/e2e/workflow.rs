//! End-to-end: the real statemachine/lifeboat.asl.json on the embedded
//! executor, every task over real HTTP against moto server.
//!
//! Emulator departures that shape these tests (moto 5.2.5):
//! - Route 53 GetChange answers INSYNC at once: the NotReady/INSYNC wait loop
//!   is covered by the check_dns_sync unit tests on the in-memory fake.
//! - Route 53 health checks are always healthy: verification failures are
//!   driven through CloudWatch alarm state (SetAlarmState), never evaluated
//!   by moto, which we set to what a real alarm would show.
//! - Route 53 never throttles: a fault-injecting proxy answers Throttling.

#![allow(clippy::unwrap_used)]

use harness::proxy::FaultProxy;
use harness::{TestEnv, moto};
use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_sandbox::estate::{PRIMARY, SECONDARY};
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

fn all_at(weights: &[(String, Option<i64>, Option<i64>)], primary: i64, secondary: i64) -> bool {
    weights
        .iter()
        .all(|(_, p, s)| *p == Some(primary) && *s == Some(secondary))
}

#[tokio::test]
async fn an_alarm_event_fails_every_app_over_in_waves_and_records_it() {
    let env = TestEnv::new().await;
    assert!(all_at(&env.weights().await, 100, 0));
    let event = env.region_alarm_fires().await;
    let (exec, calls) = env.run(event).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert!(
        exec.name.starts_with(&format!("alarm-{}", env.estate.trigger_alarm)),
        "{}",
        exec.name
    );
    assert!(all_at(&env.weights().await, 0, 100), "{:?}", env.weights().await);

    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Succeeded);
    assert_eq!(rec.apps.len(), 4);
    assert!(
        rec.apps
            .iter()
            .all(|a| a.status == AppStatus::Moved && a.to_region == SECONDARY)
    );
    // Waves: [payments] [search + storefront] [orders]; one ChangeBatch per
    // (wave, hosted zone): 1 + 2 + 1.
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 4);
    assert_eq!(rec.api_calls.get("route53:ChangeResourceRecordSets"), 4);
    // The record carries every task's calls but four: the local runner's claim
    // of the execution name (PutItem) before the run, the record's own journal
    // write (BatchWriteItem) and lease release (UpdateItem), and the outcome event.
    assert_eq!(calls.get("dynamodb:PutItem"), 1);
    assert_eq!(
        calls.get("dynamodb:BatchWriteItem"),
        rec.api_calls.get("dynamodb:BatchWriteItem") + 1
    );
    // The plan and each wave's progress are journal documents: validate writes
    // the plan in one call, each wave task its wave's progress in one call.
    let tasks = |state: &str| {
        exec.events
            .iter()
            .filter(|e| e.event_type == "TaskSucceeded" && e.state.as_deref() == Some(state))
            .count() as u64
    };
    assert_eq!(
        rec.api_calls.get("dynamodb:BatchWriteItem"),
        1 + 3 * 3 + tasks("CheckDatabases") + tasks("RecheckApps"),
        "the plan, then per wave: promote, shift, verify, and each re-check"
    );
    assert_eq!(
        calls.get("dynamodb:UpdateItem"),
        2,
        "lease taken by validate, released by record_outcome"
    );
    assert_eq!(rec.api_calls.get("dynamodb:UpdateItem"), 1);
    // The outcome event, published by the state machine after RecordOutcome
    // (Step Functions' EventBridge integration; moto accepts it on the default bus).
    assert_eq!(calls.get("eventbridge:PutEvents"), 1);
    assert_eq!(
        rec.api_calls.total() + 4,
        calls.total(),
        "record {:?} vs counted {:?}",
        rec.api_calls,
        calls
    );

    let s = env.admin();
    let stored = s.registry.load().await.unwrap();
    assert!(stored.iter().all(|a| a.active_region.as_deref() == Some(SECONDARY)));
    let journal = s.journal.get_run(&exec.name).await.unwrap().unwrap();
    assert_eq!(journal.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn failback_returns_every_app_whose_database_can_follow_and_the_rest_on_request() {
    let env = TestEnv::new().await;
    let (exec, _) = env.run(json!({"action": "failover"})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let (exec, _) = env.run(json!({"action": "failback"})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    // orders' database was restored from a backup: there is no automatic way back.
    let rec = record(&exec);
    assert_eq!(rec.skipped.len(), 1);
    assert_eq!(rec.skipped[0].app, "orders");
    assert!(
        env.weights()
            .await
            .iter()
            .all(|(a, p, s)| (a == "orders") == (*p == Some(0) && *s == Some(100)))
    );
    let (exec, _) = env
        .run(json!({"action": "failback", "apps": ["orders"], "move_dns_without_database": true}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert!(all_at(&env.weights().await, 100, 0));
    let rec = record(&exec);
    assert!(
        rec.apps
            .iter()
            .all(|a| a.to_region == PRIMARY && a.status == AppStatus::Moved)
    );
    let stored = env.admin().registry.load().await.unwrap();
    assert!(stored.iter().all(|a| a.active_region.as_deref() == Some(PRIMARY)));
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let env = TestEnv::new().await;
    let (exec, calls) = env.run(json!({"action": "failover", "dry_run": true})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert!(all_at(&env.weights().await, 100, 0));
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0);
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::DryRun);
    assert!(rec.summary.starts_with("dry run: would failover"), "{}", rec.summary);
}

#[tokio::test]
async fn a_rerun_of_a_finished_failover_makes_no_change_call() {
    let env = TestEnv::new().await;
    let (first, first_calls) = env.run(json!({"action": "failover"})).await;
    assert_eq!(first.status, ExecutionStatus::Succeeded);
    assert_eq!(first_calls.get("route53:ChangeResourceRecordSets"), 4);
    let (again, calls) = env.run(json!({"action": "failover"})).await;
    assert_eq!(again.status, ExecutionStatus::Succeeded);
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0);
    assert_eq!(calls.get("route53:GetChange"), 0);
    assert_eq!(record(&again).status, RunStatus::NothingToDo);
    assert!(all_at(&env.weights().await, 0, 100));
}

#[tokio::test]
async fn an_app_failing_verification_is_rolled_back_alone() {
    let env = TestEnv::new().await;
    env.fail_verification("storefront").await;
    let (exec, calls) = env.run(json!({"action": "failover"})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_ref().unwrap().error, "Lifeboat.VerificationFailed");
    assert_eq!(lifeboat::exit_code(&exec), lifeboat::EXIT_RUN_FAILED);
    let weights = env.weights().await;
    for (app, p, s) in &weights {
        let expected = if app == "storefront" {
            (Some(100), Some(0))
        } else {
            (Some(0), Some(100))
        };
        assert_eq!((*p, *s), expected, "{app}: {weights:?}");
    }
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Partial);
    let storefront = rec.apps.iter().find(|a| a.app == "storefront").unwrap();
    assert_eq!(storefront.status, AppStatus::RolledBack);
    assert!(
        storefront.detail.contains("storefront-usw2-errors is ALARM"),
        "{}",
        storefront.detail
    );
    // validate's check, then one DescribeAlarms per wave check (a wave's
    // alarms are read together): payments 1, search + storefront 6 (deadline
    // 60 s / interval 10 s for storefront, on the virtual clock), orders 1.
    assert_eq!(calls.get("cloudwatch:DescribeAlarms"), 1 + 1 + 6 + 1);
    // 4 shift batches + 1 rollback batch.
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 5);
    let stored = env.admin().registry.load().await.unwrap();
    let active = |n: &str| stored.iter().find(|a| a.app.name == n).unwrap().active_region.clone();
    assert_eq!(active("storefront"), None);
    assert_eq!(active("search").as_deref(), Some(SECONDARY));
}

#[tokio::test]
async fn a_composite_verification_alarm_is_read_and_followed() {
    // DescribeAlarms returns composite alarms only when asked (AlarmTypes):
    // read without it, a composite verification alarm looked missing and its
    // app was rolled back however healthy it was.
    let env = TestEnv::new().await;
    let (child, composite) = (env.alarm("storefront-usw2-errors"), env.alarm("storefront-usw2-health"));
    let cw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&env.config)
            .region(aws_config::Region::new(SECONDARY))
            .build(),
    );
    cw.put_composite_alarm()
        .alarm_name(&composite)
        .alarm_rule(format!("ALARM(\"{child}\")"))
        .send()
        .await
        .unwrap();
    env.update_app("storefront", |a| {
        a.verification.alarms.secondary = vec![composite.clone()]
    })
    .await;
    // Its child in ALARM: the composite is too, and the move is put back, saying why.
    env.fail_verification("storefront").await;
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["storefront"]})).await;
    let storefront = record(&exec).apps.into_iter().find(|a| a.app == "storefront").unwrap();
    assert_eq!(storefront.status, AppStatus::RolledBack, "{}", storefront.detail);
    assert!(
        storefront.detail.contains(&format!("{composite} is ALARM")),
        "{}",
        storefront.detail
    );
    // Healthy again: the composite is OK and the app moves.
    lifeboat_sandbox::estate::set_alarm(
        &env.config,
        SECONDARY,
        &child,
        aws_sdk_cloudwatch::types::StateValue::Ok,
    )
    .await
    .unwrap();
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["storefront"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let storefront = record(&exec).apps.into_iter().find(|a| a.app == "storefront").unwrap();
    assert_eq!(storefront.status, AppStatus::Moved, "{}", storefront.detail);
    assert!(
        storefront.detail.contains(&format!("alarm {composite} OK")),
        "{}",
        storefront.detail
    );
}

#[tokio::test]
async fn a_throttled_route53_change_is_retried_by_the_state_machine() {
    // Four throttles: the SDK's own three attempts all fail, the task reports
    // Lifeboat.Throttled, the state machine retries, the fourth throttle is
    // absorbed by the SDK and the fifth attempt succeeds.
    let proxy = harness::route53_throttling(4);
    let env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let (exec, calls) = env.run(json!({"action": "failover", "apps": ["payments"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(proxy.injected(), 4);
    let retried: Vec<&str> = exec
        .events
        .iter()
        .filter(|e| e.event_type == "TaskFailed" && e.state.as_deref() == Some("ShiftDns"))
        .map(|e| e.details["error"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(retried, vec!["Lifeboat.Throttled"]);
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 5);
    let w = env.weights().await;
    assert!(
        w.iter()
            .any(|(a, p, s)| a == "payments" && *p == Some(0) && *s == Some(100)),
        "{w:?}"
    );
}

#[tokio::test]
async fn a_real_drill_fails_over_soaks_and_fails_back_in_one_execution() {
    let env = TestEnv::new().await;
    let (exec, calls) = env
        .run(json!({"action": "drill", "apps": ["payments", "search"], "soak_seconds": 300}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert!(all_at(&env.weights().await, 100, 0));
    let rec = record(&exec);
    assert_eq!(rec.apps.iter().filter(|a| a.status == AppStatus::Moved).count(), 4);
    assert!(
        rec.duration_seconds >= 300.0,
        "the soak is on the virtual clock: {}",
        rec.duration_seconds
    );
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 4);
    // A drill is planned both ways: payments' Aurora global database switches over and back.
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 2);
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 0);
}

#[tokio::test]
async fn a_drill_leaves_out_databases_it_could_not_bring_back() {
    let env = TestEnv::new().await;
    let (exec, calls) = env
        .run(json!({"action": "drill", "apps": ["orders", "search"], "soak_seconds": 0}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&exec);
    assert_eq!(rec.skipped.len(), 1);
    assert!(
        rec.skipped[0]
            .reason
            .contains("a drill would leave its rds-backup database"),
        "{:?}",
        rec.skipped
    );
    assert_eq!(calls.get("rds:RestoreDBInstanceToPointInTime"), 0);
    assert!(all_at(&env.weights().await, 100, 0));
}

/// RunFailed ends a stopped run with the run's own error, after RecordFailure
/// journaled it (its ErrorPath still finds `$.error`).
#[tokio::test]
async fn a_stopped_run_is_recorded_and_fails_with_its_own_error() {
    let proxy = harness::route53_throttling(10_000);
    let env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["search"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_ref().unwrap().error, "Lifeboat.Throttled");
    let journal = env.admin().journal.get_run(&exec.name).await.unwrap().unwrap();
    assert_eq!(journal.status, RunStatus::Failed);
    assert_eq!(journal.error_name, Some(lifeboat_core::ErrorName::Throttled.into()));
    assert_eq!(
        env.admin().lease.state().await.unwrap().holder,
        None,
        "the lease was released"
    );
}

/// A record that cannot be written (DynamoDB failing) still frees the lease,
/// and the run fails with the record's error rather than hanging on to it.
#[tokio::test]
async fn a_record_that_cannot_be_written_releases_the_lease_and_fails_the_run() {
    use lifeboat_sandbox::fault_proxy::{DYNAMODB_INTERNAL_ERROR, journal_record_write};
    let proxy = FaultProxy::start(
        moto().port(),
        journal_record_write,
        usize::MAX,
        500,
        DYNAMODB_INTERNAL_ERROR,
    )
    .unwrap();
    let env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["search"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(
        exec.error.as_ref().unwrap().error,
        "Lifeboat.Internal",
        "{:?}",
        exec.error
    );
    assert!(
        exec.events
            .iter()
            .any(|e| e.event_type == "TaskSucceeded" && e.state.as_deref() == Some("ReleaseLease"))
    );
    assert!(proxy.injected() > 0);
    assert_eq!(
        env.admin().lease.state().await.unwrap().holder,
        None,
        "the lease was released"
    );
    // The traffic moved all the same: only the record is missing.
    let weights = env.weights().await;
    assert!(
        weights
            .iter()
            .any(|(app, p, s)| app == "search" && *p == Some(0) && *s == Some(100)),
        "{weights:?}"
    );
}

#[tokio::test]
async fn a_run_that_times_out_is_still_recorded_and_frees_the_lease() {
    let env = TestEnv::new().await;
    // storefront's verification keeps failing: its rechecks run past a 60 s
    // execution timeout (on the virtual clock).
    env.fail_verification("storefront").await;
    let (exec, _) = env.run_with_timeout(json!({"action": "failover"}), 60).await;
    assert_eq!(exec.status, ExecutionStatus::TimedOut, "{:?}", exec.error);
    // No record task ran inside the execution; the execution-end record (the
    // EventBridge rule's, on AWS) wrote one from the journal's plan and progress.
    assert!(lifeboat::run_record(&exec).is_none());
    let admin = env.admin();
    let rec = admin
        .journal
        .get_run(&exec.name)
        .await
        .unwrap()
        .expect("a record of the timed-out run");
    assert!(
        rec.error.as_deref().unwrap_or_default().starts_with("States.Timeout"),
        "{:?}",
        rec.error
    );
    assert!(rec.summary.contains("stopped by States.Timeout"), "{}", rec.summary);
    assert!(
        matches!(rec.status, RunStatus::Partial | RunStatus::Failed),
        "{:?}",
        rec.status
    );
    // The first wave's app moved before the timeout: the record says so.
    assert!(
        rec.apps
            .iter()
            .any(|a| a.app == "payments" && a.status == AppStatus::Moved),
        "{:?}",
        rec.apps
    );
    let lease = admin.lease.state().await.unwrap();
    assert_eq!(lease.holder, None, "the lease is free for the next run");
    assert_eq!(lease.last_run.as_deref(), Some(exec.name.as_str()));
    // The same event delivered again changes nothing.
    let again = lifeboat_tasks::dispatch(
        lifeboat_tasks::TaskKind::RecordOutcome,
        &admin,
        json!({
            "record": "execution_end",
            "event": {"detail-type": "Step Functions Execution Status Change", "detail": {"name": exec.name, "status": "TIMED_OUT"}},
        }),
    )
    .await
    .unwrap();
    assert_eq!(again["recorded"], false, "{again}");
    assert_eq!(again["detail"], "already recorded");
}
