//! One suite of port cases, run against the in-memory fakes (this crate's
//! tests) and against the adapters over the emulator (tests/tests/
//! conformance.rs), so neither can drift from the other or from AWS's
//! documented behaviour the emulator models. A [`Scene`] sets the stage on
//! its side (records, alarms, databases); the cases use only the ports.
//!
//! Counts of intermediate states differ (the fakes finish after a set
//! number of reads, the emulator after its own): the cases read until done,
//! within a bound, and assert on what AWS guarantees, not on timing.

// Test support (behind the `fakes` feature): a case that cannot go on should fail loudly.
#![allow(clippy::unwrap_used)]

use crate::error::AwsError;
use crate::ports::{
    AlarmStates, BackupSource, Databases, DnsReader, DnsWriter, HealthChecks, Journal, Lag, LagOf, LeaseOutcome,
    ReplicationLag, RunLease,
};
use async_trait::async_trait;
use chrono::{Duration, Utc};
use lifeboat_core::dns::RecordSet;

/// One side of the suite: its ports, and how it sets the stage.
#[async_trait]
pub trait Scene: Send + Sync {
    /// "fakes" or "emulator", for the failure messages.
    fn name(&self) -> &str;
    fn dns_read(&self) -> &dyn DnsReader;
    fn dns_write(&self) -> &dyn DnsWriter;
    fn health(&self) -> &dyn HealthChecks;
    fn alarms(&self) -> &dyn AlarmStates;
    fn databases(&self) -> &dyn Databases;
    fn lag(&self) -> &dyn ReplicationLag;
    fn lease(&self) -> &dyn RunLease;
    fn journal(&self) -> &dyn Journal;

    /// A hosted zone holding a weighted A pair `name` (sets `p` at 100 and
    /// `s` at 0, TTL 60) and an unrelated record beside it; its id.
    async fn weighted_pair(&self, name: &str) -> String;
    /// A health check that `healthy` of its 16 checkers see healthy; its id.
    async fn health_check(&self, healthy_checkers: usize) -> String;
    /// A metric alarm `name` in `region`, in `state`.
    async fn alarm(&self, region: &str, name: &str, state: &str);
    /// A composite alarm `name` in `region` whose rule is ALARM(`child`).
    async fn composite_alarm(&self, region: &str, name: &str, child: &str);
    /// A datapoint of `of`'s lag metric in `region` (as the metric reports it).
    async fn lag_datapoint(&self, region: &str, of: LagOf<'_>, value: f64);
    /// An Aurora global database `id`: a writer cluster in us-east-1 and a
    /// secondary in us-west-2 (`{id}-use1`, `{id}-usw2`); their ARNs.
    async fn global_database(&self, id: &str) -> (String, String);
    /// An RDS instance `{id}-use1` whose automated backups replicate to us-west-2.
    async fn replicated_backups(&self, id: &str);
    /// The Region is healthy again (old primaries rejoin their global databases).
    async fn region_recovers(&self, region: &str);
}

/// Runs every case; panics naming the scene and the case that failed.
pub async fn run_all(scene: &dyn Scene, unique: &str) {
    route53_reads_exactly_one_name_and_upserts_only_the_weight(scene, unique).await;
    health_is_more_than_18_percent_of_checkers(scene).await;
    alarms_are_read_per_region_composites_included(scene, unique).await;
    replication_lag_reads_minus_one_as_not_replicating(scene, unique).await;
    a_global_move_is_refused_while_one_is_under_way(scene, unique).await;
    a_failover_with_data_loss_leaves_the_old_primary_out_until_its_region_recovers(scene, unique).await;
    a_replicated_backup_is_found_by_its_source(scene, unique).await;
    the_lease_is_one_at_a_time_and_a_run_name_is_claimed_once(scene, unique).await;
}

fn weight(records: &[RecordSet], set: &str) -> Option<i64> {
    records
        .iter()
        .find(|r| r.set_identifier.as_deref() == Some(set))
        .and_then(|r| r.weight)
}

async fn route53_reads_exactly_one_name_and_upserts_only_the_weight(scene: &dyn Scene, unique: &str) {
    let who = scene.name();
    let name = format!("app-{unique}.conformance.test.");
    let zone = scene.weighted_pair(&name).await;
    let recs = scene
        .dns_read()
        .record_sets(&zone, &name, "A")
        .await
        .unwrap_or_default();
    assert_eq!(recs.len(), 2, "{who}: only {name}'s A records: {recs:?}");
    let mut moved = recs.iter().find(|r| r.set_identifier.as_deref() == Some("p")).cloned();
    if let Some(r) = moved.as_mut() {
        r.weight = Some(0);
    }
    let change = scene
        .dns_write()
        .upsert(&zone, &moved.into_iter().collect::<Vec<_>>(), "conformance")
        .await;
    let change = change.unwrap_or_else(|e| panic!("{who}: upsert: {e}"));
    let mut synced = false;
    for _ in 0..20 {
        if scene.dns_write().change_in_sync(&change).await.unwrap_or(false) {
            synced = true;
            break;
        }
    }
    assert!(synced, "{who}: change {change} never INSYNC");
    let after = scene
        .dns_read()
        .record_sets(&zone, &name, "A")
        .await
        .unwrap_or_default();
    assert_eq!(
        (weight(&after, "p"), weight(&after, "s")),
        (Some(0), Some(0)),
        "{who}: {after:?}"
    );
    let p = after.iter().find(|r| r.set_identifier.as_deref() == Some("p"));
    assert_eq!(p.and_then(|r| r.ttl), Some(60), "{who}: the TTL is kept");
}

async fn health_is_more_than_18_percent_of_checkers(scene: &dyn Scene) {
    let who = scene.name();
    // "How Amazon Route 53 determines whether a health check is healthy".
    for (healthy, expected) in [(16, true), (3, true), (2, false), (0, false)] {
        let id = scene.health_check(healthy).await;
        let report = scene.health().health(&id).await;
        let report = report.unwrap_or_else(|e| panic!("{who}: health {id}: {e}"));
        assert_eq!(
            report.healthy, expected,
            "{who}: {healthy} of 16 checkers: {}",
            report.detail
        );
    }
}

async fn alarms_are_read_per_region_composites_included(scene: &dyn Scene, unique: &str) {
    let who = scene.name();
    let (child, composite) = (format!("child-{unique}"), format!("composite-{unique}"));
    scene.alarm("us-west-2", &child, "OK").await;
    scene.composite_alarm("us-west-2", &composite, &child).await;
    let names = [child.clone(), composite.clone(), format!("missing-{unique}")];
    let west = scene.alarms().alarm_states("us-west-2", &names).await;
    let west = west.unwrap_or_else(|e| panic!("{who}: {e}"));
    assert_eq!(west.get(&child).map(String::as_str), Some("OK"), "{who}: {west:?}");
    assert_eq!(
        west.get(&composite).map(String::as_str),
        Some("OK"),
        "{who}: the composite too: {west:?}"
    );
    assert_eq!(west.len(), 2, "{who}: a missing alarm is absent: {west:?}");
    let east = scene
        .alarms()
        .alarm_states("us-east-1", &names)
        .await
        .unwrap_or_default();
    assert!(east.is_empty(), "{who}: alarms live in their own Region: {east:?}");
    scene.alarm("us-west-2", &child, "ALARM").await;
    let west = scene
        .alarms()
        .alarm_states("us-west-2", &names)
        .await
        .unwrap_or_default();
    assert_eq!(
        west.get(&composite).map(String::as_str),
        Some("ALARM"),
        "{who}: {west:?}"
    );
}

async fn replication_lag_reads_minus_one_as_not_replicating(scene: &dyn Scene, unique: &str) {
    let who = scene.name();
    let (stopped, lagging, silent) = (
        format!("stopped-{unique}"),
        format!("lagging-{unique}"),
        format!("silent-{unique}"),
    );
    scene
        .lag_datapoint("us-west-2", LagOf::ReplicaInstance(&stopped), -1.0)
        .await;
    scene
        .lag_datapoint("us-west-2", LagOf::ReplicaInstance(&lagging), 4.0)
        .await;
    let lag = |id: String| async move { scene.lag().lag("us-west-2", LagOf::ReplicaInstance(&id)).await.unwrap() };
    assert_eq!(lag(stopped).await, Lag::NotReplicating, "{who}");
    assert_eq!(lag(lagging).await, Lag::Seconds(4.0), "{who}");
    assert_eq!(lag(silent).await, Lag::NotMeasured, "{who}");
    // A DocumentDB global secondary's lag is its own metric (AWS/DocDB, milliseconds).
    let docdb = format!("catalog-{unique}");
    scene
        .lag_datapoint("us-west-2", LagOf::DocdbGlobalSecondary(&docdb), 2500.0)
        .await;
    let measured = scene
        .lag()
        .lag("us-west-2", LagOf::DocdbGlobalSecondary(&docdb))
        .await
        .unwrap();
    assert_eq!(measured, Lag::Seconds(2.5), "{who}");
}

async fn a_global_move_is_refused_while_one_is_under_way(scene: &dyn Scene, unique: &str) {
    let who = scene.name();
    let id = format!("planned-{unique}");
    let (primary, secondary) = scene.global_database(&id).await;
    let dbs = scene.databases();
    dbs.move_global_writer("us-west-2", &id, &secondary, false)
        .await
        .unwrap_or_else(|e| panic!("{who}: switchover: {e}"));
    let g = dbs.global_cluster("us-west-2", &id).await.unwrap().unwrap();
    let state = g
        .failover
        .clone()
        .unwrap_or_else(|| panic!("{who}: FailoverState right after the call"));
    assert_eq!(state.status, "pending", "{who}: {state:?}");
    assert_eq!(state.to_cluster_arn.as_deref(), Some(secondary.as_str()), "{who}");
    assert!(!state.data_loss_allowed, "{who}");
    let again = dbs.move_global_writer("us-west-2", &id, &secondary, false).await;
    assert!(
        matches!(again, Err(AwsError::InvalidState(_))),
        "{who}: a repeat while pending: {again:?}"
    );
    let mut seen = Vec::new();
    for _ in 0..20 {
        let g = dbs.global_cluster("us-west-2", &id).await.unwrap().unwrap();
        seen.push(g.failover.as_ref().map(|f| f.status.clone()));
        if g.failover.is_none() {
            let writer = g.members.iter().find(|m| m.is_writer).map(|m| m.cluster_arn.clone());
            assert_eq!(writer.as_deref(), Some(secondary.as_str()), "{who}: {g:?}");
            assert!(
                g.member(&primary).is_some_and(|m| m.connected()),
                "{who}: a switchover keeps the old primary"
            );
            assert!(seen.contains(&Some("switching-over".into())), "{who}: {seen:?}");
            return;
        }
    }
    panic!("{who}: the switchover never finished: {seen:?}");
}

async fn a_failover_with_data_loss_leaves_the_old_primary_out_until_its_region_recovers(
    scene: &dyn Scene,
    unique: &str,
) {
    let who = scene.name();
    let id = format!("disaster-{unique}");
    let (primary, secondary) = scene.global_database(&id).await;
    let dbs = scene.databases();
    dbs.move_global_writer("us-west-2", &id, &secondary, true)
        .await
        .unwrap_or_else(|e| panic!("{who}: failover: {e}"));
    let mut done = None;
    for _ in 0..20 {
        let g = dbs.global_cluster("us-west-2", &id).await.unwrap().unwrap();
        if g.failover.is_none() {
            done = Some(g);
            break;
        }
    }
    let g = done.unwrap_or_else(|| panic!("{who}: the failover never finished"));
    assert!(g.member(&primary).is_none(), "{who}: the old primary is out: {g:?}");
    // A switchover home is refused until it is back and connected.
    let home = dbs.move_global_writer("us-west-2", &id, &primary, false).await;
    assert!(matches!(home, Err(AwsError::NotFound(_))), "{who}: {home:?}");
    scene.region_recovers("us-east-1").await;
    let g = dbs.global_cluster("us-west-2", &id).await.unwrap().unwrap();
    let old = g
        .member(&primary)
        .cloned()
        .unwrap_or_else(|| panic!("{who}: rejoined: {g:?}"));
    assert_eq!(old.sync.as_deref(), Some("pending-resync"), "{who}: {old:?}");
    for _ in 0..20 {
        let g = dbs.global_cluster("us-west-2", &id).await.unwrap().unwrap();
        if g.member(&primary).is_some_and(|m| m.connected()) {
            return;
        }
    }
    panic!("{who}: the old primary never caught up");
}

async fn a_replicated_backup_is_found_by_its_source(scene: &dyn Scene, unique: &str) {
    let who = scene.name();
    let id = format!("orders-{unique}");
    scene.replicated_backups(&id).await;
    let source = format!("{id}-use1");
    let found = scene
        .databases()
        .replicated_backup(
            "us-west-2",
            BackupSource {
                region: "us-east-1",
                instance_id: &source,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{who}: {e}"));
    let b = found.unwrap_or_else(|| panic!("{who}: {source}'s backups in us-west-2"));
    assert!(b.latest_restorable.is_some(), "{who}: {b:?}");
    let none = scene
        .databases()
        .replicated_backup(
            "us-west-2",
            BackupSource {
                region: "us-east-1",
                instance_id: &format!("nobody-{unique}"),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{who}: {e}"));
    assert_eq!(none, None, "{who}");
}

async fn the_lease_is_one_at_a_time_and_a_run_name_is_claimed_once(scene: &dyn Scene, unique: &str) {
    let who = scene.name();
    let (lease, now) = (scene.lease(), Utc::now());
    let (a, b) = (format!("run-a-{unique}"), format!("run-b-{unique}"));
    let first = lease.acquire(&a, now, Duration::hours(1), true).await.unwrap();
    let LeaseOutcome::Acquired { epoch } = first else {
        panic!("{who}: {first:?}");
    };
    let again = lease.acquire(&a, now, Duration::hours(1), true).await.unwrap();
    assert!(
        matches!(again, LeaseOutcome::Acquired { .. }),
        "{who}: the same run again: {again:?}"
    );
    let other = lease.acquire(&b, now, Duration::hours(1), false).await.unwrap();
    assert!(
        matches!(other, LeaseOutcome::Held { ref holder, .. } if *holder == a),
        "{who}: {other:?}"
    );
    assert!(lease.release(&a, now, Duration::minutes(15)).await.unwrap(), "{who}");
    // Released again (a retry whose first answer was lost): still ours, the same release.
    assert!(
        lease.release(&a, now, Duration::minutes(15)).await.unwrap(),
        "{who}: a repeated release is the same release"
    );
    assert!(
        !lease.release(&b, now, Duration::minutes(15)).await.unwrap(),
        "{who}: a run that never held it releases nothing"
    );
    let cooling = lease.acquire(&b, now, Duration::hours(1), true).await.unwrap();
    assert!(matches!(cooling, LeaseOutcome::Cooldown { .. }), "{who}: {cooling:?}");
    let operator = lease.acquire(&b, now, Duration::hours(1), false).await.unwrap();
    assert!(
        matches!(operator, LeaseOutcome::Acquired { epoch: e } if e > epoch),
        "{who}: an operator is not held back, the epoch moves on: {operator:?}"
    );
    // Given back unused: the cooldown a's release started is still there.
    assert!(!lease.give_back(&a).await.unwrap(), "{who}: not a's to give back");
    assert!(lease.give_back(&b).await.unwrap(), "{who}");
    let st = lease.state().await.unwrap();
    assert_eq!(st.holder, None, "{who}");
    assert_eq!(
        st.last_run.as_deref(),
        Some(a.as_str()),
        "{who}: the last run is still a"
    );
    assert!(st.cooldown_until.is_some_and(|c| c > now), "{who}: {st:?}");
    // An operator ends the cooldown: an alarm's run may take the lease at once.
    let cleared = lease.clear_cooldown(now).await.unwrap();
    assert!(cleared.is_some_and(|c| c.cooldown_until.is_some()), "{who}");
    assert_eq!(
        lease.clear_cooldown(now).await.unwrap(),
        None,
        "{who}: nothing left to clear"
    );
    let after = lease.acquire(&b, now, Duration::hours(1), true).await.unwrap();
    assert!(matches!(after, LeaseOutcome::Acquired { .. }), "{who}: {after:?}");
    let name = format!("manual-{unique}");
    assert!(scene.journal().claim_execution(&name, now).await.unwrap(), "{who}");
    assert!(
        !scene.journal().claim_execution(&name, now).await.unwrap(),
        "{who}: claimed once"
    );
}

#[cfg(test)]
mod fakes_scene {
    use super::*;
    use crate::fakes::{FakeAlarms, FakeDatabases, FakeJournal, FakeLease, FakeRoute53};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The in-memory fakes as a scene.
    #[derive(Default)]
    struct Fakes {
        r53: FakeRoute53,
        alarms: FakeAlarms,
        dbs: FakeDatabases,
        lease: FakeLease,
        journal: FakeJournal,
        next: AtomicUsize,
    }

    #[async_trait]
    impl Scene for Fakes {
        fn name(&self) -> &str {
            "fakes"
        }
        fn dns_read(&self) -> &dyn DnsReader {
            &self.r53
        }
        fn dns_write(&self) -> &dyn DnsWriter {
            &self.r53
        }
        fn health(&self) -> &dyn HealthChecks {
            &self.r53
        }
        fn alarms(&self) -> &dyn AlarmStates {
            &self.alarms
        }
        fn databases(&self) -> &dyn Databases {
            &self.dbs
        }
        fn lag(&self) -> &dyn ReplicationLag {
            &self.dbs
        }
        fn lease(&self) -> &dyn RunLease {
            &self.lease
        }
        fn journal(&self) -> &dyn Journal {
            &self.journal
        }
        async fn weighted_pair(&self, name: &str) -> String {
            let zone = format!("Z{}", self.next.fetch_add(1, Ordering::SeqCst));
            let rec = |set: &str, weight| RecordSet {
                ttl: Some(60),
                ..RecordSet::weighted(name, "A", set, weight, "192.0.2.1")
            };
            self.r53.add_record(&zone, rec("p", 100));
            self.r53.add_record(&zone, rec("s", 0));
            self.r53.add_record(
                &zone,
                RecordSet::weighted(&format!("other.{name}"), "A", "p", 1, "192.0.2.9"),
            );
            *self.r53.pending_polls.lock().unwrap_or_else(|e| e.into_inner()) = 1;
            zone
        }
        async fn health_check(&self, healthy_checkers: usize) -> String {
            let id = format!("hc-{}", self.next.fetch_add(1, Ordering::SeqCst));
            self.r53.set_checkers(&id, healthy_checkers, 16);
            id
        }
        async fn alarm(&self, region: &str, name: &str, state: &str) {
            self.alarms.set(region, name, state);
        }
        async fn composite_alarm(&self, region: &str, name: &str, child: &str) {
            self.alarms.set_composite(region, name, child);
        }
        async fn lag_datapoint(&self, region: &str, of: LagOf<'_>, value: f64) {
            // The fake keeps seconds; the global databases' metrics are in milliseconds.
            let seconds = match of {
                LagOf::GlobalSecondary(_) | LagOf::DocdbGlobalSecondary(_) if value >= 0.0 => value / 1000.0,
                _ => value,
            };
            self.dbs
                .lag
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((region.to_string(), of.id().to_string()), seconds);
        }
        async fn global_database(&self, id: &str) -> (String, String) {
            let primary = format!("arn:aws:rds:us-east-1:123456789012:cluster:{id}-use1");
            let secondary = format!("arn:aws:rds:us-west-2:123456789012:cluster:{id}-usw2");
            self.dbs.add_global(id, &[(&primary, true), (&secondary, false)]);
            self.dbs.add_cluster("us-west-2", &format!("{id}-usw2"), None);
            // As the emulator: each change lasts two reads.
            *self.dbs.pending_describes.lock().unwrap_or_else(|e| e.into_inner()) = 2;
            (primary, secondary)
        }
        async fn replicated_backups(&self, id: &str) {
            self.dbs
                .add_backup("us-west-2", &format!("{id}-use1"), Utc::now() - Duration::minutes(5));
        }
        async fn region_recovers(&self, region: &str) {
            self.dbs.recover_region(region);
        }
    }

    #[tokio::test]
    async fn the_fakes_pass_the_port_conformance_suite() {
        run_all(&Fakes::default(), "fakes").await;
    }
}
