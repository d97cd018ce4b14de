//! RDS and Aurora: databases, promotions, replication lag.

use super::prelude::*;
pub use lifeboat_core::database::Lag;

/// An Aurora global cluster as DescribeGlobalClusters shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalClusterState {
    pub id: String,
    /// `available`, `failing-over`, `switching-over`, ...
    pub status: String,
    pub members: Vec<GlobalMember>,
    /// Its FailoverState: a switchover or failover scheduled or in progress
    /// (`None`: nothing is, the API reference's "empty").
    pub failover: Option<FailoverProgress>,
}

/// A global cluster's FailoverState (the RDS API reference's data type).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailoverProgress {
    /// `pending` (the clusters are being verified), `failing-over`,
    /// `switching-over`, or `cancelling`.
    pub status: String,
    pub from_cluster_arn: Option<String>,
    pub to_cluster_arn: Option<String>,
    /// A failover (data loss allowed) rather than a switchover.
    pub data_loss_allowed: bool,
}

/// One member cluster of a global cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMember {
    pub cluster_arn: String,
    pub is_writer: bool,
    /// Its SynchronizationStatus: `connected`, or `pending-resync` while
    /// Aurora resynchronises it (after a failover with data loss); `None`
    /// when not reported.
    pub sync: Option<String>,
}

impl GlobalMember {
    /// Replicating normally (or not said otherwise).
    pub fn connected(&self) -> bool {
        self.sync.as_deref().is_none_or(|s| s == "connected")
    }
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
    /// The KMS key that encrypts the replicas (in this Region): a restore
    /// decrypts with it, so lifeboat's role needs a grant on it.
    pub kms_key_id: Option<String>,
}

/// The DB instance whose automated backups are replicated, and its Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSource<'a> {
    pub region: &'a str,
    pub instance_id: &'a str,
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
    /// The automated backups of `source` replicated to `region`, found by
    /// what is unambiguous there: the source's ARN.
    async fn replicated_backup(
        &self,
        region: &str,
        source: BackupSource<'_>,
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
    /// A DocumentDB global cluster's secondary: GlobalClusterReplicationLag
    /// (AWS/DocDB, milliseconds).
    DocdbGlobalSecondary(&'a str),
    /// A cross-Region Aurora replica cluster: AuroraBinlogReplicaLag (seconds).
    ReplicaCluster(&'a str),
    /// An RDS read replica: ReplicaLag (seconds).
    ReplicaInstance(&'a str),
}

impl<'a> LagOf<'a> {
    /// The global secondary of a global database of `kind`.
    pub fn global_secondary(kind: lifeboat_core::registry::DatabaseKind, id: &'a str) -> LagOf<'a> {
        match kind {
            lifeboat_core::registry::DatabaseKind::DocdbGlobal => LagOf::DocdbGlobalSecondary(id),
            _ => LagOf::GlobalSecondary(id),
        }
    }
}

impl LagOf<'_> {
    pub fn id(&self) -> &str {
        match self {
            LagOf::GlobalSecondary(id)
            | LagOf::DocdbGlobalSecondary(id)
            | LagOf::ReplicaCluster(id)
            | LagOf::ReplicaInstance(id) => id,
        }
    }
}

/// Reads replication lag (CloudWatch): the data a promotion or failover may lose.
#[async_trait]
pub trait ReplicationLag: Send + Sync {
    /// The last value seen in the last 10 minutes of the lag metrics of `of`
    /// (the larger, if two), as [`Lag::from_latest`] reads them: -1 is
    /// "replication not active", no datapoint is "not measured".
    async fn lag(&self, region: &str, of: LagOf<'_>) -> Result<Lag, AwsError>;
}
