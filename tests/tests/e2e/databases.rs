//! End-to-end: databases follow the traffic. The real definition, every task
//! over real HTTP against moto server with lifeboat's RDS extension
//! (`emulator/lifeboat_emulator/rds.py`).
//!
//! Where the emulator departs from AWS (each named where a test leans on it):
//! - moto 5.2.5 has no FailoverGlobalCluster, SwitchoverGlobalCluster or
//!   StartDBInstanceAutomatedBackupsReplication, and PromoteReadReplica /
//!   RestoreDBInstanceToPointInTime(SourceDBInstanceAutomatedBackupsArn) do
//!   not do what AWS does: the extension models them. Its intermediate
//!   statuses (`failing-over`, `switching-over`, `promoting`, `modifying`,
//!   `creating`) last two RDS Describe* calls, not minutes.
//! - CloudWatch accepts our PutMetricData into `AWS/RDS` (AWS reserves the
//!   `AWS/` namespaces for its own services): that is how tests set the
//!   replication lag Aurora would report.
//! - moto wants a master user on every cluster, also a global database's
//!   secondary and a replica cluster (AWS takes it from the source).

#![allow(clippy::unwrap_used)]

use harness::TestEnv;
use lifeboat_core::ErrorName;
use lifeboat_core::database::DbAction;
use lifeboat_core::outcome::{AppStatus, DbStatus, RunRecord};
use lifeboat_core::registry::DatabaseKind;
use lifeboat_sandbox::estate::{PRIMARY, SECONDARY, cname_value, put_rds_metric, put_replication_lag};
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

fn weights_of(w: &[(String, Option<i64>, Option<i64>)], app: &str) -> (Option<i64>, Option<i64>) {
    w.iter().find(|(a, _, _)| a == app).map(|(_, p, s)| (*p, *s)).unwrap()
}

/// No call that changes DNS or a database (the execution-name claim is the only write).
fn assert_no_change(calls: &lifeboat_core::calls::ApiCalls) {
    let changes: Vec<&String> = calls
        .0
        .keys()
        .filter(|k| k.starts_with("route53:") || k.starts_with("rds:"))
        .filter(|k| !(k.contains(":Describe") || k.contains(":List") || k.contains(":Get")))
        .collect();
    assert!(changes.is_empty(), "changed something: {calls:?}");
    assert_eq!(calls.get("dynamodb:UpdateItem"), 0, "took no lease: {calls:?}");
}

/// What `payments-db.example.com.` (the sample writer CNAME) points at.
async fn writer_cname(env: &TestEnv) -> String {
    cname_value(&env.config, &env.estate.zones[0].1, "payments-db.example.com.")
        .await
        .expect("the sample estate has the writer CNAME")
}

/// The event index of the first `event_type` in `state` (for ordering checks).
fn first(exec: &lifeboat_states::Execution, event_type: &str, state: &str) -> usize {
    exec.events
        .iter()
        .position(|e| e.event_type == event_type && e.state.as_deref() == Some(state))
        .unwrap_or_else(|| panic!("no {event_type} in {state}"))
}

#[tokio::test]
async fn an_alarm_fails_the_global_database_over_and_restores_the_backup_before_dns_moves() {
    let env = TestEnv::new().await;
    let event = env.region_alarm_fires().await;
    let (exec, calls) = env.run(event).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    // A disaster: failover with data loss allowed, never a switchover.
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 1);
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 0);
    assert_eq!(calls.get("rds:RestoreDBInstanceToPointInTime"), 1);
    assert!(env.global_writer_in_recovery_region("payments").await);
    let restored = env.standby_instance("orders").await.expect("orders restored");
    assert_eq!(restored.db_instance_status(), Some("available"));
    assert_eq!(restored.db_instance_class(), Some("db.r6g.large"));
    // The wait loop saw the intermediate status before the database was writable, and DNS moved after.
    assert!(
        exec.events
            .iter()
            .filter(|e| e.event_type == "WaitStateEntered" && e.state.as_deref() == Some("WaitForDatabases"))
            .count()
            >= 2
    );
    let last_check = exec
        .events
        .iter()
        .rposition(|e| e.event_type == "TaskSucceeded" && e.state.as_deref() == Some("CheckDatabases"))
        .unwrap();
    let first_shift = first(&exec, "TaskSucceeded", "ShiftDns");
    assert!(
        last_check < first_shift
            || exec.events[..first_shift]
                .iter()
                .any(|e| e.state.as_deref() == Some("CheckDatabases"))
    );
    // The writer's CNAME follows, in the same change batch as payments' weights (one per zone and wave).
    assert!(
        writer_cname(&env)
            .await
            .starts_with(&format!("{}.", env.db_id("payments", SECONDARY)))
    );
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 4);

    let rec = record(&exec);
    assert!(rec.apps.iter().all(|a| a.status == AppStatus::Moved), "{rec:?}");
    let payments = rec.apps.iter().find(|a| a.app == "payments").unwrap();
    let db = payments.database.as_ref().unwrap();
    assert_eq!((db.action, db.status), (DbAction::Failover, DbStatus::Writable));
    assert_eq!(db.rpo_at_risk_seconds, Some(1.8));
    assert!(db.writable_at.is_some() && db.seconds_to_writable.unwrap() > 0.0);
    let orders = rec.apps.iter().find(|a| a.app == "orders").unwrap();
    let db = orders.database.as_ref().unwrap();
    assert_eq!((db.action, db.status), (DbAction::RestoreBackup, DbStatus::Writable));
    assert!(db.restore_time.is_some());
    // The emulator's replicated backups trail by 300 s: the writes after the restore point are at risk.
    assert!(db.data_window_lost_seconds.unwrap() >= 299.0, "{db:?}");
    assert_eq!(db.rpo_at_risk_seconds, db.data_window_lost_seconds);
    // The journal keeps the same.
    let journal = env.admin().journal.get_run(&exec.name).await.unwrap().unwrap();
    assert_eq!(journal.apps, rec.apps);
}

#[tokio::test]
async fn the_rpo_gate_refuses_a_lagging_failover_then_accepts_it_with_accept_data_loss() {
    let env = TestEnv::new().await;
    put_replication_lag(&env.config, &env.db_id("payments", SECONDARY), 120_000.0)
        .await
        .unwrap();
    let event = env.region_alarm_fires().await;
    let (exec, calls) = env.run(event).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_ref().unwrap().error, "Lifeboat.RpoExceeded");
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 0);
    assert_eq!(
        env.global_writer("payments").await.as_deref(),
        Some(env.db_id("payments", PRIMARY).as_str())
    );
    assert_eq!(weights_of(&env.weights().await, "payments"), (Some(100), Some(0)));
    let rec = record(&exec);
    let payments = rec.apps.iter().find(|a| a.app == "payments").unwrap();
    assert_eq!(payments.status, AppStatus::NotMoved);
    let db = payments.database.as_ref().unwrap();
    assert_eq!(db.status, DbStatus::Refused);
    assert_eq!(
        db.rpo_at_risk_seconds,
        Some(120.0),
        "the lag is recorded when refused too"
    );
    assert!(db.detail.contains("accept_data_loss"), "{}", db.detail);
    assert_eq!(rec.error_name, Some(ErrorName::RpoExceeded.into()));
    // orders depends on payments: it is held back too, its backup not restored.
    let orders = rec.apps.iter().find(|a| a.app == "orders").unwrap();
    assert_eq!(orders.status, AppStatus::NotMoved);
    assert!(orders.detail.contains("waits for payments"), "{}", orders.detail);
    assert_eq!(calls.get("rds:RestoreDBInstanceToPointInTime"), 0);
    assert_eq!(weights_of(&env.weights().await, "orders"), (Some(100), Some(0)));
    assert_eq!(
        weights_of(&env.weights().await, "search"),
        (Some(0), Some(100)),
        "independent apps move"
    );

    // The operator accepts the loss: the primary is gone, the data since is lost either way.
    let (exec, calls) = env
        .run(
            json!({"action": "failover", "mode": "disaster", "accept_data_loss": true, "apps": ["payments"],
                    "reason": "us-east-1 down; accepting 120 s of lost writes"}),
        )
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 1);
    assert_eq!(weights_of(&env.weights().await, "payments"), (Some(0), Some(100)));
    let rec = record(&exec);
    let db = rec.apps[0].database.as_ref().unwrap();
    assert_eq!((db.status, db.rpo_at_risk_seconds), (DbStatus::Writable, Some(120.0)));
}

/// Plans `apps`' failover and calls promote_database for each, as a run
/// that died right after its promote calls would have done.
async fn promote_then_crash(env: &TestEnv, apps: &[&str]) {
    use lifeboat_tasks::database::{PromoteInput, PromoteOutcome, promote_database};
    use lifeboat_tasks::validate::{ValidateInput, validate};
    let s = env.admin();
    let planned = validate(
        s.validate_ports(),
        ValidateInput {
            trigger: json!({"action": "failover", "apps": apps}),
            run_id: "crashed".into(),
            started_at: None,
            entered_at: None,
        },
    )
    .await
    .unwrap();
    for app in planned.plan.phases[0].waves.iter().flat_map(|w| w.apps.iter()) {
        let out = promote_database(
            &*s.databases,
            &*s.lag,
            &*s.dns_read,
            &*s.arc,
            chrono::Utc::now(),
            PromoteInput {
                run_id: "crashed".into(),
                app: app.clone(),
                arc_endpoints: vec![],
            },
        )
        .await
        .unwrap();
        assert_eq!(out.outcome, PromoteOutcome::Started, "{out:?}");
    }
}

#[tokio::test]
async fn a_rerun_after_a_crash_right_after_promote_converges_without_promoting_twice() {
    let env = TestEnv::new().await;
    // The switchover was started; the run died before it saw the result.
    promote_then_crash(&env, &["payments"]).await;
    let (exec, calls) = env.run(json!({"action": "failover", "apps": ["payments"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 0);
    assert!(env.global_writer_in_recovery_region("payments").await);
    // The restore was started under the registry's name; the rerun waits for that instance.
    promote_then_crash(&env, &["orders"]).await;
    let (exec, calls) = env.run(json!({"action": "failover", "apps": ["orders"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(calls.get("rds:RestoreDBInstanceToPointInTime"), 0);
    let orders = &record(&exec).apps[0];
    assert_eq!(orders.status, AppStatus::Moved);
    let db = orders.database.as_ref().unwrap();
    assert!(db.detail.contains("exists already"), "{db:?}");
}

#[tokio::test]
async fn replicas_are_promoted_before_their_traffic_moves_and_failback_names_the_manual_rebuild() {
    let env = TestEnv::new().await;
    env.give_replica("search", DatabaseKind::AuroraReplica).await;
    env.give_replica("storefront", DatabaseKind::RdsReplica).await;
    // The read replica is 4 s behind when it is promoted: that is the data at risk.
    put_rds_metric(
        &env.config,
        "ReplicaLag",
        ("DBInstanceIdentifier", &env.db_id("storefront", SECONDARY)),
        4.0,
        aws_sdk_cloudwatch::types::StandardUnit::Seconds,
    )
    .await
    .unwrap();
    let (exec, calls) = env
        .run(json!({"action": "failover", "apps": ["search", "storefront"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(calls.get("rds:PromoteReadReplicaDBCluster"), 1);
    assert_eq!(calls.get("rds:PromoteReadReplica"), 1);
    let cluster = env
        .rds(SECONDARY)
        .describe_db_clusters()
        .db_cluster_identifier(env.db_id("search", SECONDARY))
        .send()
        .await
        .unwrap();
    assert_eq!(cluster.db_clusters()[0].replication_source_identifier(), None);
    let instance = env.standby_instance("storefront").await.expect("storefront's replica");
    assert_eq!(instance.read_replica_source_db_instance_identifier(), None);
    let rec = record(&exec);
    assert!(rec.apps.iter().all(|a| a.status == AppStatus::Moved), "{rec:?}");
    let at_risk = |app: &str| {
        rec.apps
            .iter()
            .find(|a| a.app == app)
            .and_then(|a| a.database.as_ref())
            .and_then(|d| d.rpo_at_risk_seconds)
    };
    assert_eq!(at_risk("storefront"), Some(4.0));
    assert_eq!(
        at_risk("search"),
        None,
        "no AuroraBinlogReplicaLag datapoint: not measured"
    );

    // Failback: no automatic way back for promoted replicas. The plan says what to do; DNS stays.
    let (exec, calls) = env
        .run(json!({"action": "failback", "apps": ["search", "storefront"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0);
    let rec = record(&exec);
    assert_eq!(rec.skipped.len(), 2);
    let search = rec.skipped.iter().find(|k| k.app == "search").unwrap();
    assert!(
        search.reason.contains("cross-Region replica cluster of")
            && search.reason.contains("move_dns_without_database"),
        "{}",
        search.reason
    );
    assert_eq!(weights_of(&env.weights().await, "search"), (Some(0), Some(100)));

    // Traffic only, before any rebuild: refused, naming what is missing;
    // nothing moves (the promoted replicas hold writes home lacks).
    let (refused, _) = env
        .run(json!({"action": "failback", "apps": ["search", "storefront"], "move_dns_without_database": true}))
        .await;
    let standby = |app: &str| env.db_id(app, SECONDARY);
    assert_eq!(refused.status, ExecutionStatus::Failed);
    let why = refused.error.as_ref().map(|e| e.cause.clone()).unwrap_or_default();
    for app in ["search", "storefront"] {
        assert!(
            why.contains(&format!("{} in us-west-2 is still a writer of its own", standby(app))),
            "{why}"
        );
    }
    assert_eq!(weights_of(&env.weights().await, "search"), (Some(0), Some(100)));

    // The operator rebuilt them, and asks for the traffic only.
    env.rebuild_replica("search", DatabaseKind::AuroraReplica).await;
    env.rebuild_replica("storefront", DatabaseKind::RdsReplica).await;
    let (exec, calls) = env
        .run(json!({"action": "failback", "apps": ["search", "storefront"], "move_dns_without_database": true}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(
        calls.get("rds:PromoteReadReplica") + calls.get("rds:PromoteReadReplicaDBCluster"),
        0
    );
    assert_eq!(weights_of(&env.weights().await, "search"), (Some(100), Some(0)));
    let rec = record(&exec);
    assert!(
        rec.apps
            .iter()
            .all(|a| a.database.as_ref().is_some_and(|d| d.status == DbStatus::Manual)),
        "{rec:?}"
    );
}

#[tokio::test]
async fn failback_switches_the_global_database_back_to_the_primary() {
    let env = TestEnv::new().await;
    let (exec, _) = env
        .run(json!({"action": "failover", "mode": "disaster", "apps": ["payments"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    // us-east-1 recovers; Aurora rejoins the old primary and resynchronises it.
    env.primary_region_recovers();
    // Validate's preflight reads it pending-resync once, then connected.
    let (refused, _) = env.run(json!({"action": "failback", "apps": ["payments"]})).await;
    assert_eq!(refused.status, ExecutionStatus::Failed);
    assert!(
        refused.error.as_ref().unwrap().cause.contains("pending-resync"),
        "{:?}",
        refused.error
    );
    let (exec, calls) = env.run(json!({"action": "failback", "apps": ["payments"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    // Every failback is planned: a switchover, no data lost.
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 1);
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 0);
    assert_eq!(
        env.global_writer("payments").await.as_deref(),
        Some(env.db_id("payments", PRIMARY).as_str())
    );
    assert_eq!(weights_of(&env.weights().await, "payments"), (Some(100), Some(0)));
    assert!(
        writer_cname(&env)
            .await
            .starts_with(&format!("{}.", env.db_id("payments", PRIMARY)))
    );
    let db = record(&exec).apps[0].database.clone().unwrap();
    assert_eq!((db.action, db.rpo_at_risk_seconds), (DbAction::Switchover, Some(0.0)));
}

#[tokio::test]
async fn failback_is_refused_until_the_old_primary_has_rejoined_the_global_database() {
    let env = TestEnv::new().await;
    let (exec, _) = env
        .run(json!({"action": "failover", "mode": "disaster", "apps": ["payments"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    // A failover with data loss leaves the old primary out of the global
    // cluster until its Region recovers (the emulator, as AWS): and the
    // record says where the lost writes will be.
    let db = record(&exec).apps[0].database.clone().unwrap();
    assert!(
        db.lost_writes_snapshot
            .as_deref()
            .is_some_and(|s| s.starts_with(&format!(
                "rds:unplanned-global-failover-{}-",
                env.db_id("payments", PRIMARY)
            ))),
        "{db:?}"
    );
    let (exec, calls) = env.run(json!({"action": "failback", "apps": ["payments"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let err = exec.error.clone().unwrap();
    assert_eq!(err.error, "Lifeboat.InvalidRequest");
    assert!(err.cause.contains("has not rejoined global cluster"), "{}", err.cause);
    assert_no_change(&calls);
    assert_eq!(weights_of(&env.weights().await, "payments"), (Some(0), Some(100)));
}

#[tokio::test]
async fn a_database_not_writable_by_its_deadline_keeps_that_apps_traffic_where_it_is() {
    let env = TestEnv::new().await;
    // One check only: the emulator's switchover is still under way at the first look.
    env.update_app("payments", |a| {
        a.database.deadline_seconds = 20;
        a.database.interval_seconds = 20;
    })
    .await;
    let (exec, calls) = env
        .run(json!({"action": "failover", "apps": ["payments", "search"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(exec.error.as_ref().unwrap().error, "Lifeboat.NotReady");
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 1);
    let w = env.weights().await;
    assert_eq!(weights_of(&w, "payments"), (Some(100), Some(0)), "no DNS change for it");
    assert_eq!(weights_of(&w, "search"), (Some(0), Some(100)), "the others move");
    let rec = record(&exec);
    let payments = rec.apps.iter().find(|a| a.app == "payments").unwrap();
    assert_eq!(payments.status, AppStatus::NotMoved);
    let db = payments.database.as_ref().unwrap();
    assert_eq!(db.status, DbStatus::TimedOut);
    assert!(db.detail.contains("not writable after 1 checks"), "{}", db.detail);
}

#[tokio::test]
async fn a_missing_standby_is_reported_by_validate_and_nothing_changes() {
    let env = TestEnv::new().await;
    env.update_app("payments", |a| {
        if let Some(ids) = a.database.identifiers.as_mut() {
            ids.secondary = "no-such-cluster".into();
        }
    })
    .await;
    let (exec, calls) = env.run(json!({"action": "failover"})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let err = exec.error.clone().unwrap();
    assert_eq!(err.error, "Lifeboat.InvalidRequest");
    assert!(
        err.cause
            .contains("no-such-cluster (us-west-2) is not a member of global cluster"),
        "{}",
        err.cause
    );
    assert_no_change(&calls);
}

#[tokio::test]
async fn a_switchover_is_asked_of_the_primarys_region_and_a_failover_of_the_targets() {
    // The Aurora user guide: a planned switchover with --region the primary
    // cluster's; a failover in a disaster cannot depend on that Region.
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let rule: harness::proxy::Rule = Arc::new({
        let seen = seen.clone();
        move |r: &harness::proxy::Seen| {
            for action in ["SwitchoverGlobalCluster", "FailoverGlobalCluster"] {
                if harness::proxy::rds_action(r, action) {
                    seen.lock().unwrap().push((action.to_string(), r.region.to_string()));
                }
            }
            harness::proxy::Fault::Forward
        }
    });
    let proxy = harness::proxy::FaultProxy::with_rule(harness::moto().port(), rule).unwrap();
    let env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["payments"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    env.run(json!({"action": "failback", "apps": ["payments"]})).await;
    let (exec, _) = env
        .run(json!({"action": "failover", "mode": "disaster", "apps": ["payments"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("SwitchoverGlobalCluster".to_string(), PRIMARY.to_string()),
            ("SwitchoverGlobalCluster".to_string(), SECONDARY.to_string()),
            ("FailoverGlobalCluster".to_string(), SECONDARY.to_string()),
        ]
    );
}

/// A planned move whose traffic cannot follow its database: the switchover
/// is made, then Route 53 refuses every change and the wave fails. The run
/// says the data and the traffic are apart, what is where, and how to join
/// them (move the traffic, or switch the database back).
#[tokio::test]
async fn a_wave_whose_traffic_cannot_follow_its_database_says_they_are_apart_and_how_to_join_them() {
    let proxy = harness::route53_throttling(usize::MAX);
    let env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["payments"]})).await;
    let rec = record(&exec);
    let payments = rec.apps.iter().find(|a| a.app == "payments").unwrap();
    assert_ne!(payments.status, AppStatus::Moved, "{}", payments.detail);
    assert_eq!(
        payments.database.as_ref().map(|d| d.status),
        Some(DbStatus::Writable),
        "{:?}",
        payments.database
    );
    assert!(
        env.global_writer_in_recovery_region("payments").await,
        "the switchover was made"
    );
    assert_eq!(
        weights_of(&env.weights().await, "payments"),
        (Some(100), Some(0)),
        "the traffic stayed"
    );
    let apart = payments.apart.as_deref().expect("the record says they are apart");
    for said in [
        "DATA AND TRAFFIC APART",
        &format!("writer is now {}", env.db_id("payments", SECONDARY)),
        &format!("in {SECONDARY}"),
        &format!("traffic stays in {PRIMARY}"),
        r#"{"action": "failover", "apps": ["payments"]}"#,
        "aws rds switchover-global-cluster",
    ] {
        assert!(apart.contains(said), "{said:?} not in {apart}");
    }
    assert!(
        rec.summary.contains("DATA AND TRAFFIC APART for 1: payments"),
        "{}",
        rec.summary
    );
    // No other app is said to be apart.
    assert!(rec.apps.iter().filter(|a| a.apart.is_some()).count() == 1);
}
