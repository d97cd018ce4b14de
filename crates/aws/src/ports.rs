//! Ports: one small trait per capability. Tasks take the narrowest one they need.

use crate::error::AwsError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lifeboat_core::dns::{RecordIndex, RecordKey, RecordSet};
use lifeboat_core::outcome::RunRecord;
use lifeboat_core::registry::{Application, ClusterEndpoint, RoutingControlCluster, normalize_record_name};
use lifeboat_core::traffic::{ControlState, ControlStates};
use std::collections::{BTreeMap, BTreeSet};

/// Where a ListResourceRecordSets page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStart {
    pub name: String,
    pub record_type: String,
    pub identifier: Option<String>,
}

/// One ListResourceRecordSets page.
#[derive(Debug, Clone, Default)]
pub struct RecordPage {
    pub records: Vec<RecordSet>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageStart>,
}

/// Reads Route 53 record sets.
#[async_trait]
pub trait DnsReader: Send + Sync {
    /// Every record set of exactly this name and type in the zone (all set identifiers).
    async fn record_sets(&self, zone: &str, name: &str, record_type: &str) -> Result<Vec<RecordSet>, AwsError>;
    /// One page of the zone's record sets, in Route 53's order, from `start` (or the top).
    async fn list_page(&self, zone: &str, start: Option<&PageStart>) -> Result<RecordPage, AwsError>;
}

/// Changes Route 53 record sets.
#[async_trait]
pub trait DnsWriter: Send + Sync {
    /// UPSERTs the record sets in one ChangeBatch; returns the change id.
    async fn upsert(&self, zone: &str, records: &[RecordSet], comment: &str) -> Result<String, AwsError>;
    /// Whether a change has propagated to every Route 53 server (INSYNC).
    async fn change_in_sync(&self, change_id: &str) -> Result<bool, AwsError>;
}

/// What a routing-control call got, and from which of the cluster's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcAnswer<T> {
    pub value: T,
    /// The Region of the endpoint that answered.
    pub endpoint_region: String,
    /// The endpoints tried before it, and why each did not answer.
    pub skipped: Vec<String>,
}

/// Route 53 ARC's routing-control data plane (the cluster's regional
/// endpoints). Each call tries the endpoints in the order given until one
/// answers; no control-configuration call is made.
#[async_trait]
pub trait RoutingControls: Send + Sync {
    /// The state of each named control (absent: the cluster does not have it).
    async fn states(
        &self,
        endpoints: &[ClusterEndpoint],
        arns: &[String],
    ) -> Result<ArcAnswer<ControlStates>, AwsError>;
    /// Sets the states in one UpdateRoutingControlStates call (at most 10
    /// entries), overriding the named safety rules.
    async fn update(
        &self,
        endpoints: &[ClusterEndpoint],
        entries: &[(String, ControlState)],
        override_rules: &[String],
    ) -> Result<ArcAnswer<()>, ArcUpdateError>;
}

/// Why an UpdateRoutingControlStates call did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArcUpdateError {
    /// A safety rule refused the end state: its ARN and ARC's message.
    #[error("refused by ARC safety rule {rule}: {message}")]
    SafetyRule { rule: String, message: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// What one HTTP(S) probe got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The status, when the endpoint answered.
    pub status: Option<u16>,
    /// Why it did not answer (connect error, timeout, TLS).
    pub error: Option<String>,
    pub millis: u64,
}

/// HTTP(S) GETs of application endpoints, with a short timeout.
#[async_trait]
pub trait HttpProbe: Send + Sync {
    async fn get(&self, url: &str) -> ProbeAnswer;
}

/// One CloudWatch datapoint to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// Publishes CloudWatch metrics and keeps lifeboat's own alarms.
#[async_trait]
pub trait Metrics: Send + Sync {
    /// PutMetricData in `region`, as few calls as CloudWatch allows.
    async fn put(&self, region: &str, namespace: &str, data: &[Datum]) -> Result<(), AwsError>;
    /// Creates or updates the alarm on an app's probe metric in `region`:
    /// ALARM after `failures` failed minutes in a row, missing data breaching.
    async fn put_probe_alarm(&self, region: &str, alarm: &str, app: &str, failures: u32) -> Result<(), AwsError>;
}

/// A Route 53 health check's current verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    pub healthy: bool,
    pub detail: String,
}

/// Reads Route 53 health check status.
#[async_trait]
pub trait HealthChecks: Send + Sync {
    async fn health(&self, health_check_id: &str) -> Result<HealthReport, AwsError>;
}

/// Reads CloudWatch alarm states.
#[async_trait]
pub trait AlarmStates: Send + Sync {
    /// State (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each named alarm in `region`; missing alarms are absent.
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError>;
}

/// An application as the registry table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredApp {
    pub app: Application,
    pub active_region: Option<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

/// The registry table.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Creates the table if it does not exist; true if it created it.
    async fn ensure_table(&self) -> Result<bool, AwsError>;
    async fn load(&self) -> Result<Vec<StoredApp>, AwsError>;
    async fn put_apps(&self, apps: &[Application]) -> Result<(), AwsError>;
    /// The registry's ARC cluster, stored beside the apps (none: no item).
    async fn load_cluster(&self) -> Result<Option<RoutingControlCluster>, AwsError>;
    async fn put_cluster(&self, cluster: Option<&RoutingControlCluster>) -> Result<(), AwsError>;
    async fn delete_apps(&self, names: &[String]) -> Result<(), AwsError>;
    async fn set_active_region(&self, app: &str, region: &str, run_id: &str, at: DateTime<Utc>)
    -> Result<(), AwsError>;
    /// Sets many apps' active Region; adapters batch where the service allows.
    async fn set_active_regions(
        &self,
        updates: &[(String, String)],
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        for (app, region) in updates {
            self.set_active_region(app, region, run_id, at).await?;
        }
        Ok(())
    }
}

/// The run journal.
#[async_trait]
pub trait Journal: Send + Sync {
    async fn ensure_table(&self) -> Result<bool, AwsError>;
    /// Writes the run's record and one entry per application (idempotent: same run id, same items).
    async fn record_run(&self, run: &RunRecord) -> Result<(), AwsError>;
    /// Recent runs, newest first.
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, AwsError>;
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, AwsError>;
    /// Claims an execution name, as StartExecution does: true for the first
    /// claim, false if the name was used before (the same trigger delivered again).
    async fn claim_execution(&self, name: &str, at: DateTime<Utc>) -> Result<bool, AwsError>;
    /// Records a trigger that was not executed (lease held, cooldown).
    async fn record_ignored(&self, run_id: &str, reason: &str, at: DateTime<Utc>) -> Result<(), AwsError>;
    /// Triggers recorded as ignored under a run id.
    async fn ignored(&self, run_id: &str) -> Result<Vec<String>, AwsError>;
    /// Writes run documents (the plan, a wave's progress): JSON text by key,
    /// each split into parts that fit an item, in as few calls as it can.
    async fn put_docs(&self, run_id: &str, docs: &[(String, String)]) -> Result<(), AwsError>;
    /// The run's documents whose key starts with `prefix`, by key.
    async fn get_docs(&self, run_id: &str, prefix: &str) -> Result<BTreeMap<String, String>, AwsError>;
}

/// The most text one document part holds: DynamoDB items are at most 400 KB.
pub const DOC_PART_BYTES: usize = 350 * 1024;

/// Splits `text` into parts of at most `max` bytes, on character boundaries.
pub fn split_parts(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}

/// Up to this many (name, type) lookups in a zone are made one by one; past
/// it the zone is read page by page (300 record sets a call), which costs
/// fewer calls whenever the records sit in a few pages.
pub const PER_NAME_LOOKUPS_MAX: usize = 3;

/// What taking the run lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Ours, with this epoch (each acquisition increments it).
    Acquired { epoch: u64 },
    /// Another run holds it.
    Held { holder: String, since: DateTime<Utc> },
    /// The last run ended recently; triggers that respect the cooldown wait.
    Cooldown { until: DateTime<Utc>, last_run: String },
}

/// One run at a time, and a cooldown after each (flapping alarms start one run).
#[async_trait]
pub trait RunLease: Send + Sync {
    /// Takes the lease for `run_id` unless another run holds it (an expired
    /// lease is free) or, with `respect_cooldown`, the cooldown has not passed.
    /// Taking it again for the same run succeeds (a retried validate).
    async fn acquire(
        &self,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
        respect_cooldown: bool,
    ) -> Result<LeaseOutcome, AwsError>;
    /// Releases it if `run_id` holds it and starts the cooldown; false if it was not ours.
    async fn release(&self, run_id: &str, now: DateTime<Utc>, cooldown: chrono::Duration) -> Result<bool, AwsError>;
    /// The lease as it is (for `lifeboat status`).
    async fn state(&self) -> Result<LeaseState, AwsError>;
    /// Whether `run_id` still holds the lease it took at `epoch` (a fencing
    /// token: a run whose lease was broken or taken over must not act). Read
    /// strongly consistent; an expired lease nobody took is still held.
    async fn holds(&self, run_id: &str, epoch: u64) -> Result<bool, AwsError> {
        let st = self.state().await?;
        Ok(st.holder.as_deref() == Some(run_id) && st.epoch == epoch)
    }
    /// Frees the lease whoever holds it (an operator breaking it): the epoch
    /// moves on, so the holder's next fenced step refuses. No cooldown starts.
    /// Returns the lease as it was, or None if nobody held it.
    async fn break_lease(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError>;
}

/// The run lease as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LeaseState {
    pub holder: Option<String>,
    pub epoch: u64,
    pub acquired_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub last_run: Option<String>,
}

/// Reads every record the keys name, with as few ListResourceRecordSets calls
/// as it can: one lookup per (name, type) in zones where few are wanted, a
/// scan of the zone's pages where many are, bounded so it never costs more
/// pages than there are names wanted (the rest are then looked up one by one).
pub async fn read_records<'a>(
    dns: &dyn DnsReader,
    keys: impl IntoIterator<Item = &'a RecordKey>,
) -> Result<RecordIndex, AwsError> {
    let mut by_zone: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for k in keys {
        by_zone
            .entry(k.hosted_zone_id.as_str())
            .or_default()
            .insert((k.name.as_str(), k.record_type.as_str()));
    }
    let mut index = RecordIndex::default();
    for (zone, wanted) in by_zone {
        let mut lookup: Vec<(&str, &str)> = Vec::new();
        if wanted.len() <= PER_NAME_LOOKUPS_MAX {
            lookup.extend(wanted.iter().copied());
        } else {
            let mut missing = wanted.clone();
            let mut start: Option<PageStart> = None;
            let mut pages = 0;
            loop {
                let page = dns.list_page(zone, start.as_ref()).await?;
                pages += 1;
                for r in page.records {
                    let group = (normalize_record_name(&r.name), r.record_type.clone());
                    if let Some(&(n, t)) = wanted.iter().find(|(n, t)| *n == group.0 && *t == group.1) {
                        missing.remove(&(n, t));
                        index.insert(zone, r);
                    }
                }
                let Some(next) = page.next else { break };
                // A (name, type) group cut by the page boundary is not complete yet.
                let cut = wanted
                    .iter()
                    .find(|(n, t)| *n == normalize_record_name(&next.name) && *t == next.record_type);
                if missing.is_empty() && cut.is_none() {
                    break;
                }
                if pages >= wanted.len() {
                    lookup.extend(cut.copied());
                    break;
                }
                start = Some(next);
            }
            lookup.extend(missing.iter().copied());
            lookup.sort();
            lookup.dedup();
        }
        for (name, record_type) in lookup {
            for r in dns.record_sets(zone, name, record_type).await? {
                index.insert(zone, r);
            }
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::FakeRoute53;

    fn rec(name: &str, set: &str, weight: i64) -> RecordSet {
        RecordSet::weighted(name, "A", set, weight, "192.0.2.1")
    }

    /// `n` names, each with a primary and a secondary record.
    fn zone(n: usize, page_size: usize) -> (FakeRoute53, Vec<RecordKey>) {
        let r53 = FakeRoute53::new();
        *r53.page_size.lock().unwrap() = page_size;
        let mut keys = Vec::new();
        for i in 0..n {
            let name = format!("r{i:03}.x.");
            for set in ["p", "s"] {
                r53.add_record("Z1", rec(&name, set, 1));
                keys.push(RecordKey::new("Z1", &name, "A", set));
            }
        }
        (r53, keys)
    }

    fn list_calls(r53: &FakeRoute53) -> u64 {
        r53.calls.lock().unwrap().get("route53:ListResourceRecordSets")
    }

    #[tokio::test]
    async fn a_few_names_are_looked_up_one_by_one() {
        let (r53, keys) = zone(50, 300);
        let idx = read_records(&r53, keys[..6].iter()).await.unwrap();
        assert_eq!(idx.len(), 6);
        assert_eq!(list_calls(&r53), 3);
    }

    #[tokio::test]
    async fn many_names_are_read_by_scanning_the_zone() {
        let (r53, keys) = zone(200, 300);
        let idx = read_records(&r53, keys.iter()).await.unwrap();
        assert_eq!(idx.len(), 400);
        // 400 record sets at 300 a page: 2 calls instead of 200.
        assert_eq!(list_calls(&r53), 2);
    }

    #[tokio::test]
    async fn a_group_cut_by_a_page_boundary_is_read_whole() {
        // Pages of 3 cut every other name's pair in two.
        let (r53, keys) = zone(8, 3);
        let idx = read_records(&r53, keys.iter()).await.unwrap();
        assert_eq!(idx.len(), 16);
        for k in &keys {
            assert!(idx.get(k).is_some(), "{k} missing");
        }
    }

    #[tokio::test]
    async fn the_scan_never_costs_more_pages_than_names_wanted() {
        // 4 wanted names spread over a 1000-name zone with tiny pages.
        let (r53, keys) = zone(1000, 10);
        let wanted: Vec<RecordKey> = keys
            .iter()
            .filter(|k| ["r000.x.", "r300.x.", "r600.x.", "r999.x."].contains(&k.name.as_str()))
            .cloned()
            .collect();
        let idx = read_records(&r53, wanted.iter()).await.unwrap();
        assert_eq!(idx.len(), 8);
        assert!(list_calls(&r53) <= 4 + 4, "{} calls", list_calls(&r53));
    }
}

/// An Aurora global cluster as DescribeGlobalClusters shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalClusterState {
    pub id: String,
    /// `available`, `failing-over`, `switching-over`, ...
    pub status: String,
    pub members: Vec<GlobalMember>,
}

/// One member cluster of a global cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMember {
    pub cluster_arn: String,
    pub is_writer: bool,
}

impl GlobalClusterState {
    /// The member whose ARN is `arn` or ends with `:cluster:<id>`.
    pub fn member(&self, id_or_arn: &str) -> Option<&GlobalMember> {
        self.members
            .iter()
            .find(|m| m.cluster_arn == id_or_arn || m.cluster_arn.ends_with(&format!(":cluster:{id_or_arn}")))
    }
}

/// An Aurora cluster or an RDS instance, as Describe* shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbState {
    pub id: String,
    pub arn: String,
    /// `available`, `creating`, `promoting`, `modifying`, ...
    pub status: String,
    /// Still replicating from another database (ReplicationSourceIdentifier,
    /// ReadReplicaSourceDBInstanceIdentifier): not yet promoted.
    pub replicating_from: Option<String>,
    /// The writer endpoint's address.
    pub endpoint: Option<String>,
    /// Carries the tag `lifeboat:managed` = `true`, without which lifeboat's
    /// IAM policy does not let it promote or switch the database.
    pub managed: bool,
}

/// An automated backup replicated to this Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatedBackup {
    pub arn: String,
    pub source_instance_id: String,
    pub status: String,
    /// The latest time it can be restored to.
    pub latest_restorable: Option<DateTime<Utc>>,
}

/// How to create the instance an rds-backup restore makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest<'a> {
    pub backup_arn: &'a str,
    pub target_instance_id: &'a str,
    pub spec: &'a lifeboat_core::registry::RestoreSpec,
}

/// Reads and promotes RDS / Aurora databases, in the Region named on each call.
#[async_trait]
pub trait Databases: Send + Sync {
    async fn global_cluster(&self, region: &str, id: &str) -> Result<Option<GlobalClusterState>, AwsError>;
    async fn cluster(&self, region: &str, id: &str) -> Result<Option<DbState>, AwsError>;
    async fn instance(&self, region: &str, id: &str) -> Result<Option<DbState>, AwsError>;
    /// The automated backups of `source_instance_id` replicated to `region`.
    async fn replicated_backup(
        &self,
        region: &str,
        source_instance_id: &str,
    ) -> Result<Option<ReplicatedBackup>, AwsError>;
    /// SwitchoverGlobalCluster (`allow_data_loss` false) or FailoverGlobalCluster with AllowDataLoss.
    async fn move_global_writer(
        &self,
        region: &str,
        global_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> Result<(), AwsError>;
    async fn promote_cluster(&self, region: &str, id: &str) -> Result<(), AwsError>;
    async fn promote_instance(&self, region: &str, id: &str) -> Result<(), AwsError>;
    async fn restore_backup(&self, region: &str, request: RestoreRequest<'_>) -> Result<(), AwsError>;
}

/// Whose replication lag, which decides the CloudWatch metrics read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LagOf<'a> {
    /// An Aurora global database's secondary cluster: AuroraGlobalDBReplicationLag and
    /// AuroraGlobalDBRPOLag (milliseconds).
    GlobalSecondary(&'a str),
    /// A cross-Region Aurora replica cluster: AuroraBinlogReplicaLag (seconds).
    ReplicaCluster(&'a str),
    /// An RDS read replica: ReplicaLag (seconds).
    ReplicaInstance(&'a str),
}

impl LagOf<'_> {
    pub fn id(&self) -> &str {
        match self {
            LagOf::GlobalSecondary(id) | LagOf::ReplicaCluster(id) | LagOf::ReplicaInstance(id) => id,
        }
    }
}

/// Reads replication lag (CloudWatch): the data a promotion or failover may lose.
#[async_trait]
pub trait ReplicationLag: Send + Sync {
    /// The last value seen in the last 10 minutes of the lag metrics of `of` (the
    /// larger, if two), in seconds; `None` when there is no datapoint.
    async fn lag_seconds(&self, region: &str, of: LagOf<'_>) -> Result<Option<f64>, AwsError>;
}
