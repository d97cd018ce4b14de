//! An application's database in the registry: its kind, where it is, and
//! how long a promotion may take.

use super::BySide;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

crate::closed_names! {
    /// How the application's data follows the traffic.
    #[derive(Default, JsonSchema)]
    pub enum DatabaseKind {
        /// No database, or one lifeboat does not manage.
        #[default]
        None = "none",
        /// DynamoDB global tables: replicated both ways, nothing to do.
        DynamodbGlobal = "dynamodb-global",
        /// Aurora global database: switchover (planned) or failover (disaster).
        AuroraGlobal = "aurora-global",
        /// Amazon DocumentDB global cluster: as aurora-global, through the DocumentDB API.
        DocdbGlobal = "docdb-global",
        /// Aurora cross-Region read replica cluster: promote.
        AuroraReplica = "aurora-replica",
        /// RDS cross-Region read replica instance: promote.
        RdsReplica = "rds-replica",
        /// RDS automated backups replicated to the secondary Region: restore.
        RdsBackup = "rds-backup",
    }
}

impl DatabaseKind {
    /// A global database (Aurora or DocumentDB): switched over or failed over as one.
    pub fn is_global(self) -> bool {
        matches!(self, DatabaseKind::AuroraGlobal | DatabaseKind::DocdbGlobal)
    }

    /// Whether failing over needs a database action at all.
    pub fn needs_action(self) -> bool {
        !matches!(self, DatabaseKind::None | DatabaseKind::DynamodbGlobal)
    }
}

/// The application's database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    #[serde(default)]
    pub kind: DatabaseKind,
    /// The global cluster identifier (aurora-global, docdb-global).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_cluster_id: Option<String>,
    /// Cluster or instance identifiers (or ARNs) in each Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers: Option<BySide<String>>,
    /// The most data, in seconds of replication lag, a disaster failover may lose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rpo_seconds: Option<u32>,
    /// Whether a disaster may fail over with data loss (aurora-global). `false`
    /// makes every failover of this app a switchover: no data lost, but it needs
    /// a healthy primary.
    #[serde(default = "default_true")]
    pub allow_data_loss: bool,
    /// How long the promoted database may take to become writable before the
    /// app fails (its DNS is not moved).
    #[serde(default = "default_db_deadline")]
    #[schemars(range(min = 1, max = 86400))]
    pub deadline_seconds: u32,
    /// How often to check whether it is writable.
    #[serde(default = "default_db_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub interval_seconds: u32,
    /// The instance an rds-backup restore creates (its name is `identifiers.secondary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreSpec>,
    /// A CNAME (simple routing, often in a private hosted zone) that clients
    /// use for the writer: repointed to the new writer's endpoint, in the
    /// wave's change batch of its zone, once the database is writable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_record: Option<EndpointRecord>,
}

/// A CNAME that points at the database writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRecord {
    /// The hosted zone id (`Z...`).
    #[schemars(length(min = 1))]
    pub hosted_zone_id: String,
    /// The record name, e.g. `orders-db.internal.example.com.`.
    #[schemars(length(min = 1, max = 1024))]
    pub name: String,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            kind: DatabaseKind::None,
            global_cluster_id: None,
            identifiers: None,
            max_rpo_seconds: None,
            allow_data_loss: true,
            deadline_seconds: default_db_deadline(),
            interval_seconds: default_db_interval(),
            restore: None,
            endpoint_record: None,
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_db_deadline() -> u32 {
    1800
}
fn default_db_interval() -> u32 {
    30
}

/// How to size and place the instance restored from a replicated automated backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreSpec {
    /// DB instance class, e.g. `db.r6g.large`.
    pub instance_class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
}

/// How many checks, `interval` apart, fit in `deadline` (at least one): the
/// bound of the state machine's Wait + check loops.
pub fn checks_within(deadline_seconds: u32, interval_seconds: u32) -> u32 {
    (deadline_seconds / interval_seconds.max(1)).max(1)
}
