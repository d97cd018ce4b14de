//! RDS and Aurora in memory, and their replication lag.

use super::prelude::*;

/// RDS and Aurora in memory, keyed by (Region, id). Promotions finish after
/// `pending_describes` reads of the resource, like the emulator extension; a
/// global failover or switchover is `pending`, then in progress, then done,
/// each for that many reads, and refuses a second while one is under way; a
/// failover with data loss leaves the old primary out until
/// [`FakeDatabases::recover_region`].
#[derive(Debug, Default)]
pub struct FakeDatabases {
    pub globals: Mutex<BTreeMap<String, crate::ports::GlobalClusterState>>,
    pub clusters: Mutex<BTreeMap<(String, String), crate::ports::DbState>>,
    pub instances: Mutex<BTreeMap<(String, String), crate::ports::DbState>>,
    pub backups: Mutex<BTreeMap<(String, String), crate::ports::ReplicatedBackup>>,
    /// Replication lag by (Region, cluster id), seconds as the metric reports
    /// it (-1: replication not active); absent = no datapoints.
    pub lag: Mutex<BTreeMap<(String, String), f64>>,
    /// Reads that still show the intermediate status after an action.
    pub pending_describes: Mutex<u32>,
    /// Pending changes: reads left, and what finishes them.
    pending: Mutex<Vec<(u32, Pending)>>,
    /// Errors the next promote/switchover/failover/restore call fails with.
    pub fail_actions: Mutex<VecDeque<AwsError>>,
    /// Old primaries left out of their global cluster by a failover with data loss: (global, member).
    detached: Mutex<Vec<(String, crate::ports::GlobalMember)>>,
    pub calls: Mutex<ApiCalls>,
}

#[derive(Debug, Clone)]
enum Pending {
    /// A global move's verification done: now in progress.
    GlobalBegin {
        global: String,
    },
    GlobalWriter {
        global: String,
        target_arn: String,
    },
    /// A rejoined old primary has caught up.
    Connected {
        global: String,
        arn: String,
    },
    Status {
        instance: bool,
        key: (String, String),
    },
}

impl FakeDatabases {
    fn call(&self, op: &str) {
        lock(&self.calls).add(&format!("rds:{op}"), 1);
    }

    fn action(&self, op: &str) -> Result<(), AwsError> {
        self.call(op);
        match lock(&self.fail_actions).pop_front() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn step(&self) {
        let mut pending = lock(&self.pending);
        let mut done = Vec::new();
        for p in pending.iter_mut() {
            p.0 = p.0.saturating_sub(1);
            if p.0 == 0 {
                done.push(p.1.clone());
            }
        }
        pending.retain(|p| p.0 > 0);
        drop(pending);
        for d in done {
            self.finish(d);
        }
    }

    fn finish(&self, p: Pending) {
        match p {
            Pending::GlobalBegin { global } => {
                let mut target = None;
                if let Some(g) = lock(&self.globals).get_mut(&global)
                    && let Some(f) = g.failover.as_mut()
                {
                    f.status = if f.data_loss_allowed {
                        "failing-over"
                    } else {
                        "switching-over"
                    }
                    .into();
                    g.status = f.status.clone();
                    target = f.to_cluster_arn.clone();
                }
                if let Some(target_arn) = target {
                    self.later(Pending::GlobalWriter { global, target_arn });
                }
            }
            Pending::GlobalWriter { global, target_arn } => {
                if let Some(g) = lock(&self.globals).get_mut(&global) {
                    let lost = g
                        .failover
                        .take()
                        .filter(|f| f.data_loss_allowed)
                        .and_then(|f| f.from_cluster_arn);
                    for m in &mut g.members {
                        m.is_writer = m.cluster_arn == target_arn;
                    }
                    if let Some(old) = lost
                        && let Some(i) = g.members.iter().position(|m| m.cluster_arn == old)
                    {
                        let member = g.members.remove(i);
                        lock(&self.detached).push((global.clone(), member));
                    }
                    g.status = "available".into();
                }
            }
            Pending::Connected { global, arn } => {
                if let Some(g) = lock(&self.globals).get_mut(&global)
                    && let Some(m) = g.members.iter_mut().find(|m| m.cluster_arn == arn)
                {
                    m.sync = Some("connected".into());
                }
            }
            Pending::Status { instance, key } => {
                let mut map = if instance {
                    lock(&self.instances)
                } else {
                    lock(&self.clusters)
                };
                if let Some(d) = map.get_mut(&key) {
                    d.status = "available".into();
                }
            }
        }
    }

    fn later(&self, p: Pending) {
        let steps = *lock(&self.pending_describes);
        if steps == 0 {
            self.finish(p);
        } else {
            lock(&self.pending).push((steps, p));
        }
    }

    pub fn add_global(&self, id: &str, members: &[(&str, bool)]) {
        lock(&self.globals).insert(
            id.to_string(),
            crate::ports::GlobalClusterState {
                id: id.to_string(),
                status: "available".into(),
                members: members
                    .iter()
                    .map(|(arn, w)| crate::ports::GlobalMember {
                        cluster_arn: arn.to_string(),
                        is_writer: *w,
                        sync: Some("connected".into()),
                    })
                    .collect(),
                failover: None,
            },
        );
    }

    pub fn add_cluster(&self, region: &str, id: &str, replicating_from: Option<&str>) {
        lock(&self.clusters).insert(
            (region.to_string(), id.to_string()),
            crate::ports::DbState {
                id: id.to_string(),
                arn: format!("arn:aws:rds:{region}:123456789012:cluster:{id}"),
                status: "available".into(),
                replicating_from: replicating_from.map(str::to_string),
                endpoint: Some(format!("{id}.cluster-x.{region}.rds.amazonaws.com")),
                managed: true,
            },
        );
    }

    pub fn add_instance(&self, region: &str, id: &str, replicating_from: Option<&str>) {
        lock(&self.instances).insert(
            (region.to_string(), id.to_string()),
            crate::ports::DbState {
                id: id.to_string(),
                arn: format!("arn:aws:rds:{region}:123456789012:db:{id}"),
                status: "available".into(),
                replicating_from: replicating_from.map(str::to_string),
                endpoint: Some(format!("{id}.x.{region}.rds.amazonaws.com")),
                managed: true,
            },
        );
    }

    pub fn add_backup(&self, region: &str, source: &str, latest: DateTime<Utc>) {
        self.add_encrypted_backup(region, source, latest, None);
    }

    /// A replicated backup whose replicas `kms_key` encrypts.
    pub fn add_encrypted_backup(&self, region: &str, source: &str, latest: DateTime<Utc>, kms_key: Option<&str>) {
        lock(&self.backups).insert(
            (region.to_string(), source.to_string()),
            crate::ports::ReplicatedBackup {
                arn: format!("arn:aws:rds:{region}:123456789012:auto-backup:ab-{source}"),
                source_instance_id: source.to_string(),
                status: "replicating".into(),
                latest_restorable: Some(latest),
                kms_key_id: kms_key.map(str::to_string),
            },
        );
    }

    /// The Region recovers: its old primaries rejoin as secondaries,
    /// `pending-resync` until `pending_describes` reads have passed.
    pub fn recover_region(&self, region: &str) {
        let rejoining: Vec<(String, crate::ports::GlobalMember)> = {
            let mut detached = lock(&self.detached);
            let (here, rest): (Vec<_>, Vec<_>) = detached
                .drain(..)
                .partition(|(_, m)| m.cluster_arn.contains(&format!(":rds:{region}:")));
            *detached = rest;
            here
        };
        for (global, mut member) in rejoining {
            member.is_writer = false;
            member.sync = Some("pending-resync".into());
            let arn = member.cluster_arn.clone();
            if let Some(g) = lock(&self.globals).get_mut(&global) {
                g.members.push(member);
            }
            self.later(Pending::Connected { global, arn });
        }
    }

    pub fn writer(&self, global: &str) -> Option<String> {
        lock(&self.globals)
            .get(global)?
            .members
            .iter()
            .find(|m| m.is_writer)
            .map(|m| m.cluster_arn.clone())
    }
}

#[async_trait]
impl crate::ports::Databases for FakeDatabases {
    async fn global_cluster(
        &self,
        _region: &str,
        id: &str,
    ) -> Result<Option<crate::ports::GlobalClusterState>, AwsError> {
        self.call("DescribeGlobalClusters");
        self.step();
        Ok(lock(&self.globals).get(id).cloned())
    }
    async fn cluster(&self, region: &str, id: &str) -> Result<Option<crate::ports::DbState>, AwsError> {
        self.call("DescribeDBClusters");
        self.step();
        Ok(lock(&self.clusters).get(&(region.to_string(), id.to_string())).cloned())
    }
    async fn instance(&self, region: &str, id: &str) -> Result<Option<crate::ports::DbState>, AwsError> {
        self.call("DescribeDBInstances");
        self.step();
        Ok(lock(&self.instances)
            .get(&(region.to_string(), id.to_string()))
            .cloned())
    }
    async fn replicated_backup(
        &self,
        region: &str,
        source: crate::ports::BackupSource<'_>,
    ) -> Result<Option<crate::ports::ReplicatedBackup>, AwsError> {
        self.call("DescribeDBInstanceAutomatedBackups");
        Ok(lock(&self.backups)
            .get(&(region.to_string(), source.instance_id.to_string()))
            .cloned())
    }
    async fn move_global_writer(
        &self,
        _region: &str,
        global: &str,
        target_arn: &str,
        allow_data_loss: bool,
    ) -> Result<(), AwsError> {
        self.action(if allow_data_loss {
            "FailoverGlobalCluster"
        } else {
            "SwitchoverGlobalCluster"
        })?;
        {
            let mut globals = lock(&self.globals);
            let g = globals
                .get_mut(global)
                .ok_or_else(|| AwsError::NotFound(format!("global cluster {global}")))?;
            if let Some(f) = &g.failover {
                return Err(AwsError::InvalidState(format!(
                    "InvalidGlobalClusterStateFault: global cluster {global} has a {} operation in progress",
                    f.status
                )));
            }
            if !target_arn.starts_with("arn:") || !g.members.iter().any(|m| m.cluster_arn == target_arn) {
                return Err(AwsError::NotFound(format!(
                    "DBClusterNotFoundFault: {target_arn} is not a member of {global}"
                )));
            }
            if !allow_data_loss && g.members.iter().any(|m| !m.connected()) {
                return Err(AwsError::InvalidState(format!(
                    "InvalidGlobalClusterStateFault: switchover of {global} needs every member connected"
                )));
            }
            g.failover = Some(crate::ports::FailoverProgress {
                status: "pending".into(),
                from_cluster_arn: g.members.iter().find(|m| m.is_writer).map(|m| m.cluster_arn.clone()),
                to_cluster_arn: Some(target_arn.to_string()),
                data_loss_allowed: allow_data_loss,
            });
        }
        self.later(Pending::GlobalBegin {
            global: global.to_string(),
        });
        Ok(())
    }
    async fn promote_cluster(&self, region: &str, id: &str) -> Result<(), AwsError> {
        self.action("PromoteReadReplicaDBCluster")?;
        let key = (region.to_string(), id.to_string());
        if let Some(c) = lock(&self.clusters).get_mut(&key) {
            c.replicating_from = None;
            c.status = "promoting".into();
        }
        self.later(Pending::Status { instance: false, key });
        Ok(())
    }
    async fn promote_instance(&self, region: &str, id: &str) -> Result<(), AwsError> {
        self.action("PromoteReadReplica")?;
        let key = (region.to_string(), id.to_string());
        if let Some(c) = lock(&self.instances).get_mut(&key) {
            c.replicating_from = None;
            c.status = "modifying".into();
        }
        self.later(Pending::Status { instance: true, key });
        Ok(())
    }
    async fn restore_backup(&self, region: &str, r: crate::ports::RestoreRequest<'_>) -> Result<(), AwsError> {
        self.action("RestoreDBInstanceToPointInTime")?;
        self.add_instance(region, r.target_instance_id, None);
        let key = (region.to_string(), r.target_instance_id.to_string());
        if let Some(i) = lock(&self.instances).get_mut(&key) {
            i.status = "creating".into();
        }
        self.later(Pending::Status { instance: true, key });
        Ok(())
    }
}

#[async_trait]
impl crate::ports::ReplicationLag for FakeDatabases {
    async fn lag(&self, region: &str, of: crate::ports::LagOf<'_>) -> Result<crate::ports::Lag, AwsError> {
        lock(&self.calls).add("cloudwatch:GetMetricData", 1);
        Ok(crate::ports::Lag::from_latest(
            lock(&self.lag).get(&(region.to_string(), of.id().to_string())).copied(),
        ))
    }
}
