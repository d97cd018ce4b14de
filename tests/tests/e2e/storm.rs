//! End-to-end: a fault storm. A 40-app estate (two tiers over four hosted
//! zones, four apps with read replicas to promote, four verified by a Route
//! 53 health check, the rest by their own alarm) fails over, and back,
//! through a proxy that answers a fifth of all requests with their service's
//! throttling error and applies a tenth of the writes but answers them 503
//! (the answer lost, as a 500 or a timeout loses it on AWS), on top of the
//! emulator's own rate quotas. Every seed must end exactly where a calm run
//! ends: every app moved and verified, every weight where it belongs, every
//! active Region recorded, the lease free, the record written. Seeds vary
//! which requests fail; threads racing may take the draws in another order,
//! so each seed is one of many storms, not a replay.

#![allow(clippy::unwrap_used)]

use harness::proxy::{Fault, FaultProxy, Rule, Seen, rds_action, storm};
use harness::scale::Scale;
use harness::{ScaledEnv, moto, sdk_config, unique};
use lifeboat::local::{LocalRun, run_local};
use lifeboat_aws::CallCounter;

use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_core::registry::{DatabaseKind, Registry};
use lifeboat_states::{ExecutionStatus, VirtualClock};
use lifeboat_tasks::{AwsServicesFactory, Services};
use std::sync::Arc;

const APPS: usize = 40;
const DB_APPS: usize = 4;

/// One run through the storm; its record, read straight from the journal.
async fn run(factory: &Arc<AwsServicesFactory>, admin: &Services, input: serde_json::Value, seed: u64) -> RunRecord {
    let definition = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
    let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
    let exec = match run_local(&definition, input.clone(), factory.clone(), clock, None)
        .await
        .unwrap()
    {
        LocalRun::Ran(e) => *e,
        LocalRun::Duplicate { name, status } => {
            panic!("seed {seed}: {input} refused as a duplicate of {name} ({status})")
        }
    };
    assert_eq!(
        exec.status,
        ExecutionStatus::Succeeded,
        "seed {seed}: {input}: {:?}",
        exec.error
    );
    admin.journal.get_run(&exec.name).await.unwrap().unwrap()
}

/// Every app's weights, read straight: its (primary, secondary) weight.
async fn assert_weights(admin: &Services, registry: &Registry, seed: u64, expected: impl Fn(&str) -> (i64, i64)) {
    let wrong = harness::scale::misplaced(&*admin.dns_read, registry, expected).await;
    assert!(wrong.is_empty(), "seed {seed}: {wrong:?}");
}

async fn converges_under_a_storm(seed_value: u64) {
    let ScaledEnv {
        registry,
        settings,
        admin,
        ..
    } = ScaledEnv::new(&Scale {
        name: unique("storm"),
        apps: APPS,
        zones: 4,
        db_apps: DB_APPS,
        alarms: true,
        health_checked: 4,
        probe: None,
        detection: false,
    })
    .await;
    let with_database = |app: &str| {
        registry
            .app(app)
            .is_some_and(|a| a.database.kind == DatabaseKind::RdsReplica)
    };

    // The storm, counting the promotions it faulted: each may be made again.
    let faulted_promotions = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let rule = {
        let (inner, faulted) = (storm(seed_value, 20, 10), faulted_promotions.clone());
        let rule: Rule = Arc::new(move |seen: &Seen| {
            let fault = inner(seen);
            if rds_action(seen, "PromoteReadReplica") && !matches!(fault, Fault::Forward) {
                faulted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            fault
        });
        rule
    };
    let proxy = FaultProxy::with_rule(moto().port(), rule).unwrap();
    let factory = Arc::new(AwsServicesFactory::new(
        sdk_config(&proxy.endpoint()).await,
        settings.clone(),
        CallCounter::new(),
    ));

    // Over: every app moved and verified, the replicas promoted.
    let over = run(&factory, &admin, serde_json::json!({"action": "failover"}), seed_value).await;
    assert_eq!(over.status, RunStatus::Succeeded, "seed {seed_value}: {}", over.summary);
    let not_moved: Vec<_> = over.apps.iter().filter(|a| a.status != AppStatus::Moved).collect();
    assert!(not_moved.is_empty(), "seed {seed_value}: {not_moved:?}");
    assert_eq!(over.apps.len(), APPS);
    assert_weights(&admin, &registry, seed_value, |_| (0, 100)).await;
    let stored = admin.registry.load().await.unwrap();
    let elsewhere: Vec<_> = stored
        .iter()
        .filter(|a| a.active_region.as_deref() != Some("us-west-2"))
        .map(|a| &a.app.name)
        .collect();
    assert!(elsewhere.is_empty(), "seed {seed_value}: {elsewhere:?}");
    assert_eq!(admin.lease.state().await.unwrap().holder, None, "seed {seed_value}");

    // Back: the apps without a database follow; the promoted replicas stay
    // (a person rebuilds replication) and the run says so.
    let back = run(&factory, &admin, serde_json::json!({"action": "failback"}), seed_value).await;
    let moved = back.apps.iter().filter(|a| a.status == AppStatus::Moved).count();
    assert_eq!(moved, APPS - DB_APPS, "seed {seed_value}: {}", back.summary);
    assert_eq!(back.skipped.len(), DB_APPS, "seed {seed_value}: {:?}", back.skipped);
    assert_weights(&admin, &registry, seed_value, |app| {
        if with_database(app) { (0, 100) } else { (100, 0) }
    })
    .await;
    assert_eq!(admin.lease.state().await.unwrap().holder, None, "seed {seed_value}");

    eprintln!(
        "seed {seed_value}: {} requests faulted, {} forwarded, over a failover and a failback",
        proxy.injected(),
        proxy.forwarded()
    );
    assert!(
        proxy.injected() > 10,
        "seed {seed_value}: the storm blew ({} faults)",
        proxy.injected()
    );
    let calls = factory.run_counter.snapshot();
    // Each replica promoted once, plus once more for each promotion the storm faulted.
    let promoted = calls.get("rds:PromoteReadReplica");
    let faulted = faulted_promotions.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (DB_APPS as u64..=DB_APPS as u64 + faulted).contains(&promoted),
        "seed {seed_value}: {promoted} PromoteReadReplica calls, {faulted} of them faulted"
    );
}

#[tokio::test]
async fn a_storm_of_throttles_and_lost_answers_converges_seed_1() {
    converges_under_a_storm(1).await;
}

#[tokio::test]
async fn a_storm_of_throttles_and_lost_answers_converges_seed_2() {
    converges_under_a_storm(2).await;
}

#[tokio::test]
async fn a_storm_of_throttles_and_lost_answers_converges_seed_3() {
    converges_under_a_storm(3).await;
}

#[tokio::test]
async fn a_storm_of_throttles_and_lost_answers_converges_seed_4() {
    converges_under_a_storm(4).await;
}

#[tokio::test]
async fn a_storm_of_throttles_and_lost_answers_converges_seed_5() {
    converges_under_a_storm(5).await;
}

#[tokio::test]
async fn a_storm_of_throttles_and_lost_answers_converges_seed_6() {
    converges_under_a_storm(6).await;
}

// Writes AWS applied but whose answer was lost: the SDK retries them into
// "already done". Each must read as lifeboat's own progress, not a failure.

fn lost(matcher: fn(&harness::proxy::Seen) -> bool) -> FaultProxy {
    FaultProxy::with_rule(moto().port(), harness::proxy::lose_answers(matcher, 1)).unwrap()
}

#[tokio::test]
async fn a_run_name_claim_whose_answer_was_lost_is_still_this_runs() {
    let proxy = lost(|r| r.service == "dynamodb" && r.target.ends_with(".PutItem") && r.body.contains("claim_token"));
    let env = harness::TestEnv::with_endpoint(&proxy.endpoint()).await;
    let run = env
        .run_or_refuse(serde_json::json!({"action": "failover", "apps": ["search"]}))
        .await;
    assert_eq!(proxy.injected(), 1);
    match run {
        LocalRun::Ran(exec) => assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error),
        LocalRun::Duplicate { name, status } => panic!("its own claim read as another's: {name} ({status})"),
    }
}

#[tokio::test]
async fn a_global_failover_whose_answer_was_lost_is_waited_for() {
    let proxy = lost(|r| harness::proxy::rds_action(r, "FailoverGlobalCluster"));
    let env = harness::TestEnv::with_endpoint(&proxy.endpoint()).await;
    let (exec, calls) = env
        .run(serde_json::json!({"action": "failover", "mode": "disaster", "apps": ["payments"]}))
        .await;
    assert_eq!(proxy.injected(), 1);
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    // The SDK's retry met InvalidGlobalClusterStateFault: our own failover, under way.
    assert_eq!(calls.get("rds:FailoverGlobalCluster"), 2);
    assert!(env.global_writer_in_recovery_region("payments").await);
}

#[tokio::test]
async fn a_promotion_and_a_restore_whose_answers_were_lost_are_waited_for() {
    let proxy = FaultProxy::with_rule(
        moto().port(),
        Arc::new({
            let promote = harness::proxy::lose_answers(|r| harness::proxy::rds_action(r, "PromoteReadReplica"), 1);
            let restore =
                harness::proxy::lose_answers(|r| harness::proxy::rds_action(r, "RestoreDBInstanceToPointInTime"), 1);
            move |r: &harness::proxy::Seen| match promote(r) {
                harness::proxy::Fault::Forward => restore(r),
                lost => lost,
            }
        }),
    )
    .unwrap();
    let env = harness::TestEnv::with_endpoint(&proxy.endpoint()).await;
    env.give_replica("storefront", DatabaseKind::RdsReplica).await;
    let (exec, calls) = env
        .run(serde_json::json!({"action": "failover", "apps": ["storefront", "orders"]}))
        .await;
    assert_eq!(proxy.injected(), 2);
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(calls.get("rds:PromoteReadReplica"), 2);
    assert_eq!(calls.get("rds:RestoreDBInstanceToPointInTime"), 2);
    assert!(env.standby_instance("orders").await.is_some());
}
