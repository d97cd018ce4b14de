//! Both Regions' state machines get the same disaster trigger at the same
//! moment: the stack forwards an alarm's event to the other Region, and each
//! Region's rule starts its own state machine, whose execution EventBridge
//! names afresh. The lease is a global table with multi-Region strong
//! consistency; the registry and the journal are global tables with eventual
//! consistency, as the emulator models DynamoDB's (its globaltables module).
//! Exactly one run changes anything; the other learns it at the lease.

#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::{
    CreateGlobalTableWitnessGroupMemberAction, CreateReplicationGroupMemberAction, GlobalTableWitnessGroupUpdate,
    MultiRegionConsistency, ReplicationGroupUpdate,
};
use harness::{REGION, TestEnv, ran};
use lifeboat::local::{LocalOptions, run_local_with};
use lifeboat_aws::CallCounter;
use lifeboat_aws::dynamodb::DynamoLease;
use lifeboat_aws::ports::RunLease;
use lifeboat_core::calls::ApiCalls;
use lifeboat_states::{ExecutionStatus, VirtualClock};
use lifeboat_tasks::ServicesFactory;
use lifeboat_tasks::services::AwsServicesFactory;
use std::path::Path;
use std::sync::Arc;

const EAST: &str = "us-east-1";
/// The third Region of the US set: a witness of the lease table, holding no data.
const WITNESS: &str = "us-east-2";

/// The registry and journal replicate to us-east-1 (eventually); the lease
/// is strongly consistent across us-west-2, us-east-1 and a witness.
async fn make_tables_global(env: &TestEnv) {
    let ddb = aws_sdk_dynamodb::Client::new(&env.config);
    let east = ReplicationGroupUpdate::builder()
        .create(
            CreateReplicationGroupMemberAction::builder()
                .region_name(EAST)
                .build()
                .unwrap(),
        )
        .build();
    for table in [&env.settings.registry_table, &env.settings.journal_table] {
        ddb.update_table()
            .table_name(table)
            .replica_updates(east.clone())
            .send()
            .await
            .unwrap();
    }
    ddb.update_table()
        .table_name(&env.settings.lease_table)
        .replica_updates(east)
        .global_table_witness_updates(
            GlobalTableWitnessGroupUpdate::builder()
                .create(
                    CreateGlobalTableWitnessGroupMemberAction::builder()
                        .region_name(WITNESS)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .multi_region_consistency(MultiRegionConsistency::Strong)
        .send()
        .await
        .unwrap();
}

/// Calls that change the estate (not the journal or the lease).
fn changes(calls: &ApiCalls) -> u64 {
    calls
        .0
        .iter()
        .filter(|(key, _)| {
            let (service, op) = key.split_once(':').unwrap_or_default();
            ["route53", "route53recoverycluster", "rds"].contains(&service)
                && [
                    "Change",
                    "Update",
                    "Failover",
                    "Switchover",
                    "Promote",
                    "Restore",
                    "Modify",
                ]
                .iter()
                .any(|verb| op.starts_with(verb))
        })
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn both_regions_get_the_same_disaster_at_once_and_exactly_one_run_changes_anything() {
    let env = TestEnv::new().await;
    make_tables_global(&env).await;
    let event = env.region_alarm_fires().await;
    let definition = Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
    let in_region = |region: &str| {
        let config = env
            .run_config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Arc::new(AwsServicesFactory::new(
            config,
            env.settings.clone(),
            CallCounter::new(),
        ))
    };
    let (west, east) = (in_region(REGION), in_region(EAST));
    let now = chrono::Utc::now();
    let start = |factory: Arc<AwsServicesFactory>, name: String| {
        let (definition, event) = (definition.clone(), event.clone());
        async move {
            let options = LocalOptions {
                name: Some(name),
                ..LocalOptions::default()
            };
            run_local_with(
                &definition,
                event,
                factory,
                Arc::new(VirtualClock::new(now)),
                None,
                &options,
            )
            .await
            .unwrap()
        }
    };
    let (west_run, east_run) = tokio::join!(
        start(west.clone(), format!("{}-west", env.namespace)),
        start(east.clone(), format!("{}-east", env.namespace)),
    );
    let runs = [
        (REGION, ran(west_run), west.run_counter.snapshot()),
        (EAST, ran(east_run), east.run_counter.snapshot()),
    ];
    let changed: Vec<_> = runs.iter().filter(|(_, _, calls)| changes(calls) > 0).collect();
    assert_eq!(
        changed.len(),
        1,
        "exactly one run changes anything: {:?}",
        runs.iter().map(|(r, _, c)| (r, changes(c))).collect::<Vec<_>>()
    );
    let (winner_region, winner, _) = changed[0];
    let (loser_region, loser, _) = runs.iter().find(|(r, _, _)| r != winner_region).unwrap();
    assert_eq!(winner.status, ExecutionStatus::Succeeded, "{:?}", winner.error);
    let record = lifeboat::run_record(winner).unwrap();
    assert_eq!(record["status"], "succeeded", "{record}");
    assert!(env.all_weights_are(0, 100).await, "every app moved, once");

    // How the loser learned: the lease named the winner's run, in either of
    // two ways. Before planning it found the lease held (its trigger kept,
    // the execution succeeds having done nothing), or it planned at the same
    // moment and its conditional write lost (Lifeboat.LeaseHeld, the trigger
    // kept by RecordRefused).
    let how = match loser.status {
        ExecutionStatus::Succeeded => {
            let record = lifeboat::run_record(loser).unwrap();
            assert!(
                record["summary"].as_str().unwrap_or_default().contains(&winner.name),
                "{record}"
            );
            assert_eq!(
                record["kept"],
                serde_json::json!([env.estate.trigger_alarm]),
                "{record}"
            );
            format!("turned away before planning: {}", record["summary"])
        }
        _ => {
            let error = loser.error.clone().unwrap();
            assert_eq!(error.error, "Lifeboat.LeaseHeld", "{error:?}");
            assert!(error.cause.contains(&winner.name), "{error:?}");
            assert!(
                error.cause.contains(winner_region),
                "names the winner's Region: {error:?}"
            );
            format!("lost the lease write: {}", error.cause)
        }
    };

    // The lease reads the same in both Regions: free, the winner's the last run.
    for region in [REGION, EAST] {
        let ddb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&env.config)
                .region(aws_config::Region::new(region))
                .build(),
        );
        let state = DynamoLease::new(ddb, &env.settings.lease_table).state().await.unwrap();
        assert_eq!(state.holder, None, "{region}: {state:?}");
        assert_eq!(
            state.last_run.as_deref(),
            Some(winner.name.as_str()),
            "{region}: {state:?}"
        );
    }
    eprintln!("race: {winner_region} won ({}); {loser_region} {how}", winner.name);
}

/// A lease client signed for `region`.
fn lease_in(env: &TestEnv, region: &'static str, table: &str) -> DynamoLease {
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.run_config)
            .region(aws_config::Region::new(region))
            .build(),
    );
    DynamoLease::new(ddb, table)
}

/// Both Regions' validates write the lease in the same instant, [`ROUNDS`]
/// times over. Strongly consistent: one wins each time, and the other is told who
/// holds it and in which Region. Eventually consistent (the journal's kind of
/// table, where the lease used to live): each Region's condition sees only
/// its own replica, and both win.
const ROUNDS: usize = 10;

#[tokio::test]
async fn at_the_same_instant_one_region_wins_the_lease_where_an_eventual_table_lets_both() {
    use lifeboat_aws::ports::LeaseOutcome;
    let env = TestEnv::new().await;
    make_tables_global(&env).await;
    let eventual = env.settings.journal_table.clone();
    let ttl = chrono::Duration::hours(2);
    let mut both_won_on_eventual = 0;
    for round in 0..ROUNDS {
        let now = chrono::Utc::now();
        for (table, strong) in [(&env.settings.lease_table, true), (&eventual, false)] {
            let (west, east) = (lease_in(&env, REGION, table), lease_in(&env, EAST, table));
            let (west_run, east_run) = (format!("west-{round}"), format!("east-{round}"));
            let (w, e) = tokio::join!(
                west.acquire(&west_run, now, ttl, true),
                east.acquire(&east_run, now, ttl, true),
            );
            let (w, e) = (w.unwrap(), e.unwrap());
            let won = [&w, &e]
                .iter()
                .filter(|o| matches!(o, LeaseOutcome::Acquired { .. }))
                .count();
            if strong {
                assert_eq!(won, 1, "round {round}: {w:?} {e:?}");
                let (winner, region, lost) = match (&w, &e) {
                    (LeaseOutcome::Acquired { .. }, lost) => (format!("west-{round}"), REGION, lost),
                    (lost, _) => (format!("east-{round}"), EAST, lost),
                };
                assert!(
                    matches!(lost, LeaseOutcome::Held { holder, region: Some(r), .. } if *holder == winner && r == region),
                    "round {round}: {lost:?}"
                );
                west.release(&winner, now, chrono::Duration::zero()).await.unwrap();
            } else {
                both_won_on_eventual += usize::from(won == 2);
                // Let replication settle, then free it for the next round.
                tokio::time::sleep(std::time::Duration::from_millis(600)).await;
                for who in [format!("west-{round}"), format!("east-{round}")] {
                    west.give_back(&who).await.unwrap();
                    east.give_back(&who).await.unwrap();
                }
                tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            }
        }
    }
    assert!(
        both_won_on_eventual > 0,
        "an eventually consistent table lets both Regions win the same instant"
    );
    eprintln!("eventual table: both Regions won {both_won_on_eventual} of {ROUNDS} rounds; strong: one every round");
}

/// The fallback for Regions outside one Region set: the lease pinned to a
/// third Region (`LIFEBOAT_LEASE_REGION`), where both Regions' functions take
/// it, so one wins there too.
#[tokio::test]
async fn a_lease_pinned_to_a_third_region_is_taken_there_by_both_regions() {
    use lifeboat_aws::ports::LeaseOutcome;
    let env = TestEnv::new().await;
    let settings = lifeboat_tasks::Settings {
        lease_region: Some(WITNESS.into()),
        ..env.settings.clone()
    };
    let services = |region: &str| {
        let config = env
            .run_config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        AwsServicesFactory::new(config, settings.clone(), CallCounter::new()).services()
    };
    let (west, east) = (services(REGION), services(EAST));
    assert!(west.lease.ensure_table().await.unwrap(), "made in {WITNESS}");
    let (now, ttl) = (chrono::Utc::now(), chrono::Duration::hours(1));
    assert!(matches!(
        west.lease.acquire("west-run", now, ttl, true).await.unwrap(),
        LeaseOutcome::Acquired { .. }
    ));
    let lost = east.lease.acquire("east-run", now, ttl, true).await.unwrap();
    assert!(
        matches!(&lost, LeaseOutcome::Held { holder, region: Some(r), .. } if holder == "west-run" && r == REGION),
        "{lost:?}"
    );
    // Nothing of it in either Region's own table of that name.
    let own = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&env.config)
            .region(aws_config::Region::new(REGION))
            .build(),
    );
    let item = own
        .get_item()
        .table_name(&env.settings.lease_table)
        .key("run_id", aws_sdk_dynamodb::types::AttributeValue::S("#lease".into()))
        .key("entry", aws_sdk_dynamodb::types::AttributeValue::S("lease".into()))
        .send()
        .await
        .unwrap();
    assert!(item.item().is_none(), "the lease is in {WITNESS} only");
}
