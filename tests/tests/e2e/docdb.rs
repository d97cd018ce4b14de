//! DocumentDB global clusters, end to end through the DocumentDB API (the
//! RDS query API, as DocumentDB serves it) on the emulator: the RPO gate on
//! GlobalClusterReplicationLag (AWS/DocDB), a disaster failover, and the
//! failback's switchover once the old primary has rejoined.

#![allow(clippy::unwrap_used)]

use harness::TestEnv;
use lifeboat_core::database::DbAction;
use lifeboat_core::outcome::{AppStatus, DbStatus, RunRecord, RunStatus};
use lifeboat_sandbox::estate::{PRIMARY, SECONDARY};
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

/// The region of the writer of `app`'s DocumentDB global cluster.
async fn writer(env: &TestEnv, app: &str) -> String {
    let rds = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(&env.config)
            .region(aws_config::Region::new(SECONDARY))
            .build(),
    );
    let gc = rds
        .describe_global_clusters()
        .global_cluster_identifier(format!("{}-{app}-docdb", env.namespace))
        .send()
        .await
        .unwrap();
    let arn = gc.global_clusters()[0]
        .global_cluster_members()
        .iter()
        .find(|m| m.is_writer() == Some(true))
        .and_then(|m| m.db_cluster_arn())
        .unwrap()
        .to_string();
    arn.split(':').nth(3).unwrap().to_string()
}

#[tokio::test]
async fn a_docdb_global_cluster_fails_over_within_its_rpo_and_switches_back_home() {
    let env = TestEnv::new().await;
    env.give_docdb_global("search", 500.0).await;
    let (exec, calls) = env
        .run(json!({"action": "failover", "mode": "disaster", "apps": ["search"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&exec);
    let search = &rec.apps[0];
    assert_eq!(search.status, AppStatus::Moved, "{}", search.detail);
    let db = search.database.clone().unwrap();
    assert_eq!(
        (db.action, db.status, db.rpo_at_risk_seconds),
        (DbAction::Failover, DbStatus::Writable, Some(0.5))
    );
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 1);
    assert_eq!(writer(&env, "search").await, SECONDARY);

    // Home again once us-east-1 is back and has resynchronised: a switchover, no data lost.
    env.primary_region_recovers();
    let mut home = None;
    for _ in 0..3 {
        let (exec, calls) = env.run(json!({"action": "failback", "apps": ["search"]})).await;
        if exec.status == ExecutionStatus::Succeeded {
            home = Some((exec, calls));
            break;
        }
        assert!(
            exec.error.as_ref().unwrap().cause.contains("pending-resync"),
            "{:?}",
            exec.error
        );
    }
    let (exec, calls) = home.expect("the failback runs once the old primary is connected");
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 1);
    assert_eq!(
        record(&exec).apps[0].database.as_ref().unwrap().action,
        DbAction::Switchover
    );
    assert_eq!(writer(&env, "search").await, PRIMARY);
}

#[tokio::test]
async fn a_lagging_docdb_secondary_is_refused_by_the_rpo_gate_and_nothing_moves() {
    let env = TestEnv::new().await;
    // 60 s behind, over its max_rpo_seconds of 30.
    env.give_docdb_global("search", 60_000.0).await;
    let (exec, calls) = env
        .run(json!({"action": "failover", "mode": "disaster", "apps": ["search"]}))
        .await;
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Failed, "{}", rec.summary);
    let db = rec.apps[0].database.clone().unwrap();
    assert_eq!((db.status, db.rpo_at_risk_seconds), (DbStatus::Refused, Some(60.0)));
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 0);
    assert_eq!(writer(&env, "search").await, PRIMARY);
}
