use super::*;
use lifeboat_aws::fakes::FakeDatabases;
use lifeboat_core::database::DatabasePlan;
use lifeboat_core::plan::{AppMove, VerifyPlan};
use lifeboat_core::registry::{DatabaseKind, RestoreSpec, Side};

const P_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:orders-use1";
const S_ARN: &str = "arn:aws:rds:us-west-2:123456789012:cluster:orders-usw2";

fn app(kind: DatabaseKind, action: DbAction) -> AppMove {
    AppMove {
        app: "orders".into(),
        target: Side::Secondary,
        from_region: "us-east-1".into(),
        to_region: "us-west-2".into(),
        account: None,
        database: DatabasePlan {
            kind,
            action,
            region: "us-west-2".into(),
            target: "orders-usw2".into(),
            source: "orders-use1".into(),
            source_region: "us-east-1".into(),
            global_cluster_id: Some("orders-global".into()),
            max_rpo_seconds: Some(30),
            accept_data_loss: false,
            restore: Some(RestoreSpec {
                instance_class: "db.r6g.large".into(),
                subnet_group: None,
                security_group_ids: vec![],
                parameter_group: None,
            }),
            interval_seconds: 30,
            max_checks: 10,
            manual_steps: vec![],
            endpoint_record: None,
        },
        dns: vec![],
        depends_on: vec![],
        capacity: vec![],
        restore_capacity: false,
        hooks: vec![],
        controls: vec![],
        verification: VerifyPlan {
            health_check_best_effort: false,
            probes: vec![],
            region: "us-west-2".into(),
            health_check_id: None,
            alarms: vec![],
            interval_seconds: 15,
            max_checks: 1,
        },
    }
}

fn global_estate() -> FakeDatabases {
    let f = FakeDatabases::default();
    f.add_global("orders-global", &[(P_ARN, true), (S_ARN, false)]);
    f.add_cluster("us-west-2", "orders-usw2", None);
    *f.pending_describes.lock().unwrap() = 4;
    f
}

async fn promote(f: &FakeDatabases, a: AppMove) -> PromoteOutput {
    promote_database(
        f,
        f,
        &lifeboat_aws::fakes::FakeRoute53::new(),
        &lifeboat_aws::fakes::FakeArc::new(),
        Utc::now(),
        PromoteInput {
            run_id: "r".into(),
            app: a,
            arc_endpoints: vec![],
        },
    )
    .await
    .unwrap()
}

async fn check_until_writable(f: &FakeDatabases, a: &AppMove) -> u32 {
    let mut checks = 0;
    loop {
        let out = check_database(f, CheckInput { app: a.clone(), checks }).await.unwrap();
        checks = out.checks;
        if out.writable {
            assert!(out.endpoint.is_some());
            return checks;
        }
        assert!(checks < 10, "never writable: {}", out.detail);
    }
}

#[tokio::test]
async fn a_switchover_moves_the_writer_and_is_not_repeated_on_a_rerun() {
    let f = global_estate();
    let a = app(DatabaseKind::AuroraGlobal, DbAction::Switchover);
    let out = promote(&f, a.clone()).await;
    assert_eq!(
        (out.outcome, out.rpo_at_risk_seconds),
        (PromoteOutcome::Started, Some(0.0))
    );
    // A rerun while it is switching over waits on it instead of calling again.
    let again = promote(&f, a.clone()).await;
    assert_eq!(again.outcome, PromoteOutcome::InProgress);
    assert!(check_until_writable(&f, &a).await > 1);
    assert_eq!(f.writer("orders-global").as_deref(), Some(S_ARN));
    assert_eq!(promote(&f, a).await.outcome, PromoteOutcome::AlreadyDone);
    assert_eq!(f.calls.lock().unwrap().get("rds:SwitchoverGlobalCluster"), 1);
}

#[tokio::test]
async fn the_rpo_gate_refuses_a_failover_over_budget_and_changes_nothing() {
    let f = global_estate();
    f.lag
        .lock()
        .unwrap()
        .insert(("us-west-2".into(), "orders-usw2".into()), 42.0);
    let a = app(DatabaseKind::AuroraGlobal, DbAction::Failover);
    let out = promote(&f, a.clone()).await;
    assert_eq!(out.outcome, PromoteOutcome::Refused);
    assert_eq!(out.rpo_at_risk_seconds, Some(42.0));
    assert_eq!(out.error.as_ref().unwrap().error, ErrorName::RpoExceeded);
    assert_eq!(f.calls.lock().unwrap().get("rds:FailoverGlobalCluster"), 0);
    assert_eq!(f.writer("orders-global").as_deref(), Some(P_ARN));

    let mut accepted = a;
    accepted.database.accept_data_loss = true;
    let out = promote(&f, accepted).await;
    assert_eq!(
        (out.outcome, out.rpo_at_risk_seconds),
        (PromoteOutcome::Started, Some(42.0))
    );
    assert_eq!(f.calls.lock().unwrap().get("rds:FailoverGlobalCluster"), 1);
}

#[tokio::test]
async fn a_lag_of_minus_one_is_unknown_data_at_risk_not_minus_one_second() {
    // ReplicaLag and AuroraBinlogReplicaLag report -1 when replication is not
    // active: the gate refuses a data-loss failover it cannot bound, and the
    // record says "unknown", never "-1 s at risk".
    let f = global_estate();
    f.lag
        .lock()
        .unwrap()
        .insert(("us-west-2".into(), "orders-usw2".into()), -1.0);
    let out = promote(&f, app(DatabaseKind::AuroraGlobal, DbAction::Failover)).await;
    assert_eq!(out.outcome, PromoteOutcome::Refused);
    assert_eq!(out.rpo_at_risk_seconds, None);
    assert!(out.detail.contains("not active"), "{}", out.detail);
    assert_eq!(f.calls.lock().unwrap().get("rds:FailoverGlobalCluster"), 0);

    let r = FakeDatabases::default();
    r.add_instance(
        "us-west-2",
        "orders-usw2",
        Some("arn:aws:rds:us-east-1:123456789012:db:orders-use1"),
    );
    r.lag
        .lock()
        .unwrap()
        .insert(("us-west-2".into(), "orders-usw2".into()), -1.0);
    let out = promote(&r, app(DatabaseKind::RdsReplica, DbAction::PromoteInstance)).await;
    assert_eq!((out.outcome, out.rpo_at_risk_seconds), (PromoteOutcome::Started, None));
    assert!(out.detail.contains("replication lag unknown"), "{}", out.detail);
}

#[tokio::test]
async fn replicas_are_promoted_once() {
    let f = FakeDatabases::default();
    *f.pending_describes.lock().unwrap() = 1;
    f.add_instance(
        "us-west-2",
        "orders-usw2",
        Some("arn:aws:rds:us-east-1:123456789012:db:orders-use1"),
    );
    let a = app(DatabaseKind::RdsReplica, DbAction::PromoteInstance);
    assert_eq!(promote(&f, a.clone()).await.outcome, PromoteOutcome::Started);
    check_until_writable(&f, &a).await;
    assert_eq!(promote(&f, a).await.outcome, PromoteOutcome::AlreadyDone);
    assert_eq!(f.calls.lock().unwrap().get("rds:PromoteReadReplica"), 1);

    f.add_cluster("us-west-2", "orders-usw2", Some(P_ARN));
    let a = app(DatabaseKind::AuroraReplica, DbAction::PromoteCluster);
    assert_eq!(promote(&f, a.clone()).await.outcome, PromoteOutcome::Started);
    check_until_writable(&f, &a).await;
    assert_eq!(f.calls.lock().unwrap().get("rds:PromoteReadReplicaDBCluster"), 1);
}

#[tokio::test]
async fn a_backup_restore_records_the_data_window_and_a_rerun_finds_the_instance() {
    let f = FakeDatabases::default();
    let now = Utc::now();
    f.add_backup("us-west-2", "orders-use1", now - chrono::Duration::seconds(300));
    let a = app(DatabaseKind::RdsBackup, DbAction::RestoreBackup);
    let out = promote_database(
        &f,
        &f,
        &lifeboat_aws::fakes::FakeRoute53::new(),
        &lifeboat_aws::fakes::FakeArc::new(),
        now,
        PromoteInput {
            run_id: "r".into(),
            app: a.clone(),
            arc_endpoints: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(out.outcome, PromoteOutcome::Started);
    assert_eq!(out.data_window_lost_seconds, Some(300.0));
    let again = promote(&f, a).await;
    assert_eq!(again.outcome, PromoteOutcome::AlreadyDone);
    assert_eq!(f.calls.lock().unwrap().get("rds:RestoreDBInstanceToPointInTime"), 1);
}

#[tokio::test]
async fn preflight_names_every_missing_or_unjoined_standby() {
    let f = FakeDatabases::default();
    f.add_global("orders-global", &[(S_ARN, true)]);
    let mut plan_app = app(DatabaseKind::AuroraGlobal, DbAction::Switchover);
    plan_app.target = Side::Primary;
    plan_app.database.target = "orders-use1".into();
    plan_app.database.region = "us-east-1".into();
    let mut backup_app = app(DatabaseKind::RdsBackup, DbAction::RestoreBackup);
    backup_app.app = "ledger".into();
    let plan = lifeboat_core::plan::Plan {
        run_id: "r".into(),
        action: lifeboat_core::request::Action::Failback,
        mode: lifeboat_core::request::Mode::Planned,
        trigger: lifeboat_core::request::TriggerKind::Manual,
        source: "t".into(),
        dry_run: false,
        empty: false,
        phases: vec![lifeboat_core::plan::Phase {
            action: lifeboat_core::request::Action::Failback,
            target: Side::Primary,
            waves: vec![lifeboat_core::plan::Wave {
                arc_endpoints: vec![],
                override_safety_rules: false,
                index: 0,
                apps: vec![plan_app, backup_app],
            }],
        }],
        skipped: vec![],
        soak_seconds: 0,
        created_at: Utc::now(),
        summary: String::new(),
        lease_epoch: None,
        triggered_at: None,
        waited: None,
        approval: None,
    };
    let r53 = lifeboat_aws::fakes::FakeRoute53::new();
    let problems = preflight_problems(&f, &r53, &r53, &plan).await.unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("orders: orders-use1 has not rejoined global cluster orders-global"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("ledger: no automated backup of orders-use1 is replicated to us-west-2"),
        "{problems:?}"
    );
}

#[tokio::test]
async fn a_check_that_never_sees_the_writer_says_what_it_saw() {
    let f = global_estate();
    let a = app(DatabaseKind::AuroraGlobal, DbAction::Switchover);
    let out = check_database(&f, CheckInput { app: a, checks: 3 }).await.unwrap();
    assert!(!out.writable);
    assert_eq!(out.checks, 4);
    assert!(out.detail.contains("not the writer yet"), "{}", out.detail);
}

#[tokio::test]
async fn a_stopped_standby_is_not_ready_and_a_throttled_promote_is_retryable() {
    // Neither is reachable on the emulator (moto never throttles, and its
    // instances cannot be stopped into other states): the fake covers them.
    let f = FakeDatabases::default();
    f.add_instance(
        "us-west-2",
        "orders-usw2",
        Some("arn:aws:rds:us-east-1:123456789012:db:orders-use1"),
    );
    f.instances
        .lock()
        .unwrap()
        .get_mut(&("us-west-2".to_string(), "orders-usw2".to_string()))
        .unwrap()
        .status = "storage-full".into();
    let a = app(DatabaseKind::RdsReplica, DbAction::PromoteInstance);
    let problem = check_standby(&f, &a.database, a.target).await.unwrap();
    assert_eq!(
        problem.as_deref(),
        Some("read replica orders-usw2 in us-west-2 is storage-full")
    );

    f.fail_actions
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled("Throttling: Rate exceeded".into()));
    let err = promote_database(
        &f,
        &f,
        &lifeboat_aws::fakes::FakeRoute53::new(),
        &lifeboat_aws::fakes::FakeArc::new(),
        Utc::now(),
        PromoteInput {
            run_id: "r".into(),
            app: a.clone(),
            arc_endpoints: vec![],
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Throttled);
    // The retry (the state machine's) promotes it.
    assert_eq!(promote(&f, a).await.outcome, PromoteOutcome::Started);
}

#[tokio::test]
async fn an_untagged_standby_is_refused_with_the_command_that_tags_it() {
    // lifeboat's IAM policy promotes only databases tagged lifeboat:managed=true:
    // an untagged one would be AccessDenied mid-run, so preflight says so first.
    let f = FakeDatabases::default();
    f.add_cluster(
        "us-west-2",
        "orders-usw2",
        Some("arn:aws:rds:us-east-1:123456789012:cluster:orders-use1"),
    );
    let a = app(DatabaseKind::AuroraReplica, DbAction::PromoteCluster);
    assert_eq!(check_standby(&f, &a.database, a.target).await.unwrap(), None);
    f.clusters
        .lock()
        .unwrap()
        .get_mut(&("us-west-2".to_string(), "orders-usw2".to_string()))
        .unwrap()
        .managed = false;
    let problem = check_standby(&f, &a.database, a.target).await.unwrap().unwrap();
    assert!(problem.contains("lacks the tag lifeboat:managed=true"), "{problem}");
    assert!(
        problem.contains("aws rds add-tags-to-resource --region us-west-2 --resource-name arn:aws:rds:us-west-2:123456789012:cluster:orders-usw2"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_global_move_is_pending_then_under_way_then_writable_only_when_failover_state_is_empty() {
    let f = global_estate();
    *f.pending_describes.lock().unwrap() = 2;
    f.lag
        .lock()
        .unwrap()
        .insert(("us-west-2".into(), "orders-usw2".into()), 1.5);
    let a = app(DatabaseKind::AuroraGlobal, DbAction::Failover);
    let out = promote(&f, a.clone()).await;
    assert_eq!(out.outcome, PromoteOutcome::Started);
    // The record names where the lost writes will be: the old primary's snapshot.
    let snapshot = out.lost_writes_snapshot.unwrap();
    assert!(
        snapshot.starts_with("rds:unplanned-global-failover-orders-use1-") && snapshot.contains("us-east-1"),
        "{snapshot}"
    );
    // FailoverState pending: not writable, and a rerun waits instead of calling again.
    let check = check_database(
        &f,
        CheckInput {
            app: a.clone(),
            checks: 0,
        },
    )
    .await
    .unwrap();
    assert!(!check.writable);
    assert!(check.detail.contains("FailoverState"), "{}", check.detail);
    let again = promote(&f, a.clone()).await;
    assert_eq!(again.outcome, PromoteOutcome::InProgress);
    assert!(again.detail.contains("failover to orders-usw2 is"), "{}", again.detail);
    check_until_writable(&f, &a).await;
    assert_eq!(f.calls.lock().unwrap().get("rds:FailoverGlobalCluster"), 1);
    // The old primary is out of the global cluster until its Region recovers.
    let g = f.globals.lock().unwrap()["orders-global"].clone();
    assert!(g.member(P_ARN).is_none() && g.failover.is_none());
}

#[tokio::test]
async fn a_member_still_resynchronising_cannot_take_the_writer_back() {
    let f = global_estate();
    *f.pending_describes.lock().unwrap() = 1;
    f.lag
        .lock()
        .unwrap()
        .insert(("us-west-2".into(), "orders-usw2".into()), 1.5);
    let over = app(DatabaseKind::AuroraGlobal, DbAction::Failover);
    promote(&f, over.clone()).await;
    check_until_writable(&f, &over).await;
    let mut back = app(DatabaseKind::AuroraGlobal, DbAction::Switchover);
    back.target = Side::Primary;
    back.database.target = "orders-use1".into();
    back.database.region = "us-east-1".into();
    f.add_cluster("us-east-1", "orders-use1", None);
    // Not rejoined yet: preflight says to wait for the Region.
    let why = check_standby(&f, &back.database, Side::Primary).await.unwrap().unwrap();
    assert!(why.contains("has not rejoined"), "{why}");
    // Rejoined, pending-resync (for three reads): preflight and promote both refuse, saying why.
    *f.pending_describes.lock().unwrap() = 3;
    f.recover_region("us-east-1");
    let why = check_standby(&f, &back.database, Side::Primary).await.unwrap().unwrap();
    assert!(why.contains("pending-resync") && why.contains("connected"), "{why}");
    let refused = promote_database(
        &f,
        &f,
        &lifeboat_aws::fakes::FakeRoute53::new(),
        &lifeboat_aws::fakes::FakeArc::new(),
        Utc::now(),
        PromoteInput {
            run_id: "r".into(),
            app: back.clone(),
            arc_endpoints: vec![],
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.name, ErrorName::NotReady);
    assert_eq!(f.calls.lock().unwrap().get("rds:SwitchoverGlobalCluster"), 0);
    // Connected (a read later): the switchover home goes ahead.
    f.global_cluster("us-east-1", "orders-global").await.unwrap();
    assert_eq!(check_standby(&f, &back.database, Side::Primary).await.unwrap(), None);
    assert_eq!(promote(&f, back).await.outcome, PromoteOutcome::Started);
}

/// A failback of traffic alone (`move_dns_without_database`) waits for the
/// rebuild: home writable, and the away database a replica of it again.
#[tokio::test]
async fn moving_traffic_home_without_the_database_needs_the_rebuild_done() {
    // Failing back to us-east-1: home is orders-use1, away orders-usw2.
    let mut back = app(DatabaseKind::RdsReplica, DbAction::ManualRebuild).database;
    back.kind = DatabaseKind::RdsReplica;
    back.region = "us-east-1".into();
    back.target = "orders-use1".into();
    back.source = "orders-usw2".into();
    back.source_region = "us-west-2".into();
    let f = FakeDatabases::default();
    let why = check_standby(&f, &back, Side::Primary).await.unwrap().unwrap();
    assert!(
        why.contains("orders-use1 is not in us-east-1: the database was not rebuilt"),
        "{why}"
    );
    f.add_instance("us-east-1", "orders-use1", Some("orders-usw2"));
    let why = check_standby(&f, &back, Side::Primary).await.unwrap().unwrap();
    assert!(why.contains("still replicates from orders-usw2: promote it"), "{why}");
    f.add_instance("us-east-1", "orders-use1", None);
    f.add_instance("us-west-2", "orders-usw2", None);
    let why = check_standby(&f, &back, Side::Primary).await.unwrap().unwrap();
    assert!(
        why.contains("orders-usw2 in us-west-2 is still a writer of its own"),
        "{why}"
    );
    f.add_instance("us-west-2", "orders-usw2", Some("orders-use1"));
    assert_eq!(check_standby(&f, &back, Side::Primary).await.unwrap(), None);
    // Readiness: a replica that lost its source is no standby.
    let mut promote = app(DatabaseKind::RdsReplica, DbAction::PromoteInstance).database;
    promote.target = "orders-usw2".into();
    assert_eq!(replica_without_source(&f, &promote).await.unwrap(), None);
    f.add_instance("us-west-2", "orders-usw2", None);
    let why = replica_without_source(&f, &promote).await.unwrap().unwrap();
    assert!(
        why.contains("orders-usw2 in us-west-2 has no replication source"),
        "{why}"
    );
}

/// After a rebuild, the writer CNAME follows the traffic home: the check
/// reads the rebuilt database's endpoint for it.
#[tokio::test]
async fn a_rebuilt_database_gives_its_writer_endpoint_for_the_cname() {
    let mut a = app(DatabaseKind::RdsBackup, DbAction::ManualRebuild);
    a.database.region = "us-east-1".into();
    a.database.target = "orders-use1".into();
    let f = FakeDatabases::default();
    f.add_instance("us-east-1", "orders-use1", None);
    let out = check_database(&f, CheckInput { app: a, checks: 0 }).await.unwrap();
    assert!(out.writable, "{out:?}");
    assert_eq!(
        out.endpoint.as_deref(),
        Some("orders-use1.x.us-east-1.rds.amazonaws.com")
    );
}
