//! In-memory fakes of the ports, for fast unit tests of the tasks. They keep
//! the semantics the tasks rely on (UPSERT replaces by set identifier, changes
//! go INSYNC after a configurable number of polls) and count their calls.

use crate::error::AwsError;
use crate::ports::{
    AlarmStates, ArcAnswer, ArcUpdateError, Datum, DnsReader, DnsWriter, HealthChecks, HealthReport, HttpProbe,
    Journal, LeaseOutcome, LeaseState, Metrics, PageStart, ProbeAnswer, RecordPage, RegistryStore, RoutingControls,
    RunLease, StoredApp,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::dns::RecordSet;
use lifeboat_core::outcome::RunRecord;
use lifeboat_core::registry::{Application, normalize_record_name, normalize_zone_id};
use lifeboat_core::registry::{ClusterEndpoint, RoutingControlCluster};
use lifeboat_core::traffic::{ControlState, ControlStates};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Route 53 in memory.
#[derive(Debug, Default)]
pub struct FakeRoute53 {
    zones: Mutex<BTreeMap<String, Vec<RecordSet>>>,
    /// Change id → GetChange polls left before INSYNC.
    changes: Mutex<HashMap<String, u32>>,
    /// How many GetChange polls answer PENDING for each new change.
    pub pending_polls: Mutex<u32>,
    /// Errors the next ChangeResourceRecordSets calls fail with, in order.
    pub fail_upserts: Mutex<VecDeque<AwsError>>,
    health: Mutex<HashMap<String, bool>>,
    pub calls: Mutex<ApiCalls>,
    pub batches: Mutex<Vec<(String, usize)>>,
    /// Record sets per ListResourceRecordSets page (Route 53: up to 300); 0 = 300.
    pub page_size: Mutex<usize>,
    /// Route 53's API does not answer (us-east-1 dark): every call fails.
    pub dark: Mutex<bool>,
}

impl FakeRoute53 {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add_record(&self, zone: &str, record: RecordSet) {
        lock(&self.zones)
            .entry(normalize_zone_id(zone))
            .or_default()
            .push(record);
    }
    pub fn set_health(&self, id: &str, healthy: bool) {
        lock(&self.health).insert(id.to_string(), healthy);
    }
    pub fn weight(&self, zone: &str, name: &str, set_identifier: &str) -> Option<i64> {
        let zones = lock(&self.zones);
        zones.get(&normalize_zone_id(zone))?.iter().find_map(|r| {
            (normalize_record_name(&r.name) == normalize_record_name(name)
                && r.set_identifier.as_deref() == Some(set_identifier))
            .then_some(r.weight)
            .flatten()
        })
    }
    fn count(&self, op: &str) -> Result<(), AwsError> {
        lock(&self.calls).add(&format!("route53:{op}"), 1);
        if *lock(&self.dark) {
            return Err(AwsError::Unavailable(format!(
                "{op}: Route 53's API did not answer (fake outage)"
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl DnsReader for FakeRoute53 {
    async fn record_sets(&self, zone: &str, name: &str, record_type: &str) -> Result<Vec<RecordSet>, AwsError> {
        self.count("ListResourceRecordSets")?;
        let zones = lock(&self.zones);
        let records = zones
            .get(&normalize_zone_id(zone))
            .ok_or_else(|| AwsError::NotFound(format!("NoSuchHostedZone: {zone}")))?;
        Ok(records
            .iter()
            .filter(|r| normalize_record_name(&r.name) == normalize_record_name(name) && r.record_type == record_type)
            .cloned()
            .collect())
    }

    async fn list_page(&self, zone: &str, start: Option<&PageStart>) -> Result<RecordPage, AwsError> {
        self.count("ListResourceRecordSets")?;
        let records = self.sorted(zone)?;
        let size = match *lock(&self.page_size) {
            0 => 300,
            n => n,
        };
        let from = match start {
            None => 0,
            Some(s) => records
                .iter()
                .position(|r| {
                    (
                        normalize_record_name(&r.name),
                        r.record_type.as_str(),
                        r.set_identifier.as_deref(),
                    ) >= (
                        normalize_record_name(&s.name),
                        s.record_type.as_str(),
                        s.identifier.as_deref(),
                    )
                })
                .unwrap_or(records.len()),
        };
        let end = (from + size).min(records.len());
        let next = records.get(end).map(|r| PageStart {
            name: r.name.clone(),
            record_type: r.record_type.clone(),
            identifier: r.set_identifier.clone(),
        });
        Ok(RecordPage {
            records: records[from..end].to_vec(),
            next,
        })
    }
}

impl FakeRoute53 {
    fn sorted(&self, zone: &str) -> Result<Vec<RecordSet>, AwsError> {
        let zones = lock(&self.zones);
        let mut records = zones
            .get(&normalize_zone_id(zone))
            .ok_or_else(|| AwsError::NotFound(format!("NoSuchHostedZone: {zone}")))?
            .clone();
        records.sort_by(|a, b| {
            (normalize_record_name(&a.name), &a.record_type, &a.set_identifier).cmp(&(
                normalize_record_name(&b.name),
                &b.record_type,
                &b.set_identifier,
            ))
        });
        Ok(records)
    }
}

#[async_trait]
impl DnsWriter for FakeRoute53 {
    async fn upsert(&self, zone: &str, records: &[RecordSet], _comment: &str) -> Result<String, AwsError> {
        self.count("ChangeResourceRecordSets")?;
        if let Some(e) = lock(&self.fail_upserts).pop_front() {
            return Err(e);
        }
        let mut zones = lock(&self.zones);
        let existing = zones
            .get_mut(&normalize_zone_id(zone))
            .ok_or_else(|| AwsError::NotFound(format!("NoSuchHostedZone: {zone}")))?;
        for r in records {
            let same = |x: &RecordSet| {
                normalize_record_name(&x.name) == normalize_record_name(&r.name)
                    && x.record_type == r.record_type
                    && x.set_identifier == r.set_identifier
            };
            match existing.iter_mut().find(|x| same(x)) {
                Some(x) => *x = r.clone(),
                None => existing.push(r.clone()),
            }
        }
        let id = format!("/change/C{:04}", lock(&self.batches).len() + 1);
        lock(&self.batches).push((normalize_zone_id(zone), records.len()));
        lock(&self.changes).insert(id.clone(), *lock(&self.pending_polls));
        Ok(id)
    }

    async fn change_in_sync(&self, change_id: &str) -> Result<bool, AwsError> {
        self.count("GetChange")?;
        let mut changes = lock(&self.changes);
        let left = changes
            .get_mut(change_id)
            .ok_or_else(|| AwsError::NotFound(format!("NoSuchChange: {change_id}")))?;
        if *left == 0 {
            Ok(true)
        } else {
            *left -= 1;
            Ok(false)
        }
    }
}

#[async_trait]
impl HealthChecks for FakeRoute53 {
    async fn health(&self, health_check_id: &str) -> Result<HealthReport, AwsError> {
        self.count("GetHealthCheckStatus")?;
        let healthy = lock(&self.health)
            .get(health_check_id)
            .copied()
            .ok_or_else(|| AwsError::NotFound(format!("NoSuchHealthCheck: {health_check_id}")))?;
        Ok(HealthReport {
            healthy,
            detail: format!(
                "health check {health_check_id}: {}",
                if healthy { "healthy" } else { "unhealthy" }
            ),
        })
    }
}

/// A Route 53 ARC cluster's data plane in memory: routing controls, ATLEAST
/// assertion rules, and endpoints whose Region can be made dark.
#[derive(Debug, Default)]
pub struct FakeArc {
    pub controls: Mutex<BTreeMap<String, ControlState>>,
    /// (rule ARN, asserted controls, at least this many On).
    pub rules: Mutex<Vec<(String, Vec<String>, usize)>>,
    /// Endpoints in these Regions do not answer.
    pub dark_regions: Mutex<Vec<String>>,
    pub calls: Mutex<ApiCalls>,
    /// Each UpdateRoutingControlStates that went through: its entries.
    pub updates: Mutex<Vec<Vec<(String, ControlState)>>>,
}

impl FakeArc {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self, arn: &str, state: ControlState) {
        lock(&self.controls).insert(arn.to_string(), state);
    }
    pub fn get(&self, arn: &str) -> Option<ControlState> {
        lock(&self.controls).get(arn).copied()
    }
    fn endpoint<'a>(&self, endpoints: &'a [ClusterEndpoint], op: &str) -> Result<&'a ClusterEndpoint, AwsError> {
        let dark = lock(&self.dark_regions).clone();
        for e in endpoints {
            lock(&self.calls).add(&format!("route53-recovery-cluster:{op}"), 1);
            if !dark.contains(&e.region) {
                return Ok(e);
            }
        }
        Err(AwsError::Unavailable(
            "no ARC cluster endpoint answered (fake outage)".into(),
        ))
    }
}

#[async_trait]
impl RoutingControls for FakeArc {
    async fn states(
        &self,
        endpoints: &[ClusterEndpoint],
        arns: &[String],
    ) -> Result<ArcAnswer<ControlStates>, AwsError> {
        let e = self.endpoint(endpoints, "GetRoutingControlState")?;
        let controls = lock(&self.controls);
        Ok(ArcAnswer {
            value: arns
                .iter()
                .filter_map(|a| controls.get(a).map(|s| (a.clone(), *s)))
                .collect(),
            endpoint_region: e.region.clone(),
            skipped: vec![],
        })
    }

    async fn update(
        &self,
        endpoints: &[ClusterEndpoint],
        entries: &[(String, ControlState)],
        override_rules: &[String],
    ) -> Result<ArcAnswer<()>, ArcUpdateError> {
        let e = self.endpoint(endpoints, "UpdateRoutingControlStates")?;
        let mut controls = lock(&self.controls);
        let mut after = controls.clone();
        for (arn, state) in entries {
            if !after.contains_key(arn) {
                return Err(AwsError::NotFound(format!("ResourceNotFoundException: {arn}")).into());
            }
            after.insert(arn.clone(), *state);
        }
        for (rule, asserted, at_least) in lock(&self.rules).iter() {
            let on = asserted
                .iter()
                .filter(|a| after.get(*a) == Some(&ControlState::On))
                .count();
            if on < *at_least && !override_rules.contains(rule) {
                return Err(ArcUpdateError::SafetyRule {
                    rule: rule.clone(),
                    message: format!("at least {at_least} of {} must be On", asserted.join(", ")),
                });
            }
        }
        *controls = after;
        lock(&self.updates).push(entries.to_vec());
        Ok(ArcAnswer {
            value: (),
            endpoint_region: e.region.clone(),
            skipped: vec![],
        })
    }
}

/// CloudWatch alarms in memory, by Region.
#[derive(Debug, Default)]
pub struct FakeAlarms {
    states: Mutex<BTreeMap<(String, String), String>>,
    pub calls: Mutex<ApiCalls>,
}

impl FakeAlarms {
    pub fn set(&self, region: &str, name: &str, state: &str) {
        lock(&self.states).insert((region.to_string(), name.to_string()), state.to_string());
    }
}

#[async_trait]
impl AlarmStates for FakeAlarms {
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        lock(&self.calls).add("cloudwatch:DescribeAlarms", 1);
        let states = lock(&self.states);
        Ok(names
            .iter()
            .filter_map(|n| {
                states
                    .get(&(region.to_string(), n.clone()))
                    .map(|s| (n.clone(), s.clone()))
            })
            .collect())
    }
}

/// The registry table in memory.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    apps: Mutex<BTreeMap<String, StoredApp>>,
    cluster: Mutex<Option<RoutingControlCluster>>,
}

#[async_trait]
impl RegistryStore for FakeRegistry {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn load(&self) -> Result<Vec<StoredApp>, AwsError> {
        Ok(lock(&self.apps).values().cloned().collect())
    }
    async fn put_apps(&self, apps: &[Application]) -> Result<(), AwsError> {
        let mut stored = lock(&self.apps);
        for a in apps {
            let prev = stored.remove(&a.name);
            stored.insert(
                a.name.clone(),
                StoredApp {
                    app: a.clone(),
                    active_region: prev.as_ref().and_then(|p| p.active_region.clone()),
                    updated_at: prev.as_ref().and_then(|p| p.updated_at.clone()),
                    updated_by: prev.and_then(|p| p.updated_by),
                },
            );
        }
        Ok(())
    }
    async fn load_cluster(&self) -> Result<Option<RoutingControlCluster>, AwsError> {
        Ok(lock(&self.cluster).clone())
    }
    async fn put_cluster(&self, cluster: Option<&RoutingControlCluster>) -> Result<(), AwsError> {
        *lock(&self.cluster) = cluster.cloned();
        Ok(())
    }
    async fn delete_apps(&self, names: &[String]) -> Result<(), AwsError> {
        let mut stored = lock(&self.apps);
        for n in names {
            stored.remove(n);
        }
        Ok(())
    }
    async fn set_active_region(
        &self,
        app: &str,
        region: &str,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let mut stored = lock(&self.apps);
        let a = stored
            .get_mut(app)
            .ok_or_else(|| AwsError::Rejected(format!("ConditionalCheckFailed: app {app}")))?;
        a.active_region = Some(region.to_string());
        a.updated_at = Some(at.to_rfc3339());
        a.updated_by = Some(run_id.to_string());
        Ok(())
    }
}

/// The journal in memory.
#[derive(Debug, Default)]
pub struct FakeJournal {
    pub runs: Mutex<BTreeMap<String, RunRecord>>,
    pub executions: Mutex<Vec<String>>,
    pub ignored: Mutex<Vec<(String, String)>>,
    /// (run id, key) → document.
    pub docs: Mutex<BTreeMap<(String, String), String>>,
}

#[async_trait]
impl Journal for FakeJournal {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn record_run(&self, run: &RunRecord) -> Result<(), AwsError> {
        lock(&self.runs).insert(run.run_id.clone(), run.clone());
        Ok(())
    }
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, AwsError> {
        let mut runs: Vec<RunRecord> = lock(&self.runs).values().cloned().collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
        runs.truncate(limit);
        Ok(runs)
    }
    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, AwsError> {
        Ok(lock(&self.runs).get(run_id).cloned())
    }
    async fn claim_execution(&self, name: &str, _at: DateTime<Utc>) -> Result<bool, AwsError> {
        let mut names = lock(&self.executions);
        if names.iter().any(|n| n == name) {
            return Ok(false);
        }
        names.push(name.to_string());
        Ok(true)
    }
    async fn record_ignored(&self, run_id: &str, reason: &str, _at: DateTime<Utc>) -> Result<(), AwsError> {
        lock(&self.ignored).push((run_id.to_string(), reason.to_string()));
        Ok(())
    }
    async fn ignored(&self, run_id: &str) -> Result<Vec<String>, AwsError> {
        Ok(lock(&self.ignored)
            .iter()
            .filter(|(r, _)| r == run_id)
            .map(|(_, why)| why.clone())
            .collect())
    }
    async fn put_docs(&self, run_id: &str, docs: &[(String, String)]) -> Result<(), AwsError> {
        let mut stored = lock(&self.docs);
        for (k, v) in docs {
            stored.insert((run_id.to_string(), k.clone()), v.clone());
        }
        Ok(())
    }
    async fn get_docs(&self, run_id: &str, prefix: &str) -> Result<BTreeMap<String, String>, AwsError> {
        Ok(lock(&self.docs)
            .iter()
            .filter(|((r, k), _)| r == run_id && k.starts_with(prefix))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// The run lease in memory, with the same rules as the DynamoDB one.
#[derive(Debug, Default)]
pub struct FakeLease {
    pub state: Mutex<FakeLeaseState>,
}

#[derive(Debug, Default, Clone)]
pub struct FakeLeaseState {
    pub holder: Option<String>,
    pub acquired_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub last_run: Option<String>,
    pub epoch: u64,
}

#[async_trait]
impl RunLease for FakeLease {
    async fn acquire(
        &self,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
        respect_cooldown: bool,
    ) -> Result<LeaseOutcome, AwsError> {
        let mut st = lock(&self.state);
        let free = match (&st.holder, st.expires_at) {
            (None, _) => true,
            (Some(h), _) if h == run_id => true,
            (Some(_), Some(exp)) => exp < now,
            (Some(_), None) => false,
        };
        if !free {
            return Ok(LeaseOutcome::Held {
                holder: st.holder.clone().unwrap_or_default(),
                since: st.acquired_at.unwrap_or(now),
            });
        }
        if respect_cooldown && st.cooldown_until.is_some_and(|c| c >= now) {
            return Ok(LeaseOutcome::Cooldown {
                until: st.cooldown_until.unwrap_or(now),
                last_run: st.last_run.clone().unwrap_or_default(),
            });
        }
        st.holder = Some(run_id.to_string());
        st.acquired_at = Some(now);
        st.expires_at = Some(now + ttl);
        st.epoch += 1;
        Ok(LeaseOutcome::Acquired { epoch: st.epoch })
    }

    async fn state(&self) -> Result<LeaseState, AwsError> {
        let st = lock(&self.state);
        Ok(LeaseState {
            holder: st.holder.clone(),
            epoch: st.epoch,
            acquired_at: st.acquired_at,
            expires_at: st.expires_at,
            cooldown_until: st.cooldown_until,
            last_run: st.last_run.clone(),
        })
    }

    async fn break_lease(&self, _now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError> {
        let mut st = lock(&self.state);
        let Some(holder) = st.holder.take() else {
            return Ok(None);
        };
        let before = LeaseState {
            holder: Some(holder),
            epoch: st.epoch,
            acquired_at: st.acquired_at,
            expires_at: st.expires_at.take(),
            cooldown_until: st.cooldown_until,
            last_run: st.last_run.clone(),
        };
        st.epoch += 1;
        Ok(Some(before))
    }

    async fn release(&self, run_id: &str, now: DateTime<Utc>, cooldown: chrono::Duration) -> Result<bool, AwsError> {
        let mut st = lock(&self.state);
        if st.holder.as_deref() != Some(run_id) {
            return Ok(false);
        }
        st.holder = None;
        st.expires_at = None;
        st.cooldown_until = Some(now + cooldown);
        st.last_run = Some(run_id.to_string());
        Ok(true)
    }
}

/// RDS and Aurora in memory, keyed by (Region, id). Promotions finish after
/// `pending_describes` reads of the resource, like the emulator extension.
#[derive(Debug, Default)]
pub struct FakeDatabases {
    pub globals: Mutex<BTreeMap<String, crate::ports::GlobalClusterState>>,
    pub clusters: Mutex<BTreeMap<(String, String), crate::ports::DbState>>,
    pub instances: Mutex<BTreeMap<(String, String), crate::ports::DbState>>,
    pub backups: Mutex<BTreeMap<(String, String), crate::ports::ReplicatedBackup>>,
    /// Replication lag by (Region, cluster id), seconds; absent = no datapoints.
    pub lag: Mutex<BTreeMap<(String, String), f64>>,
    /// Reads that still show the intermediate status after an action.
    pub pending_describes: Mutex<u32>,
    /// Pending changes: reads left, and what finishes them.
    pending: Mutex<Vec<(u32, Pending)>>,
    /// Errors the next promote/switchover/failover/restore call fails with.
    pub fail_actions: Mutex<VecDeque<AwsError>>,
    pub calls: Mutex<ApiCalls>,
}

#[derive(Debug, Clone)]
enum Pending {
    GlobalWriter { global: String, target_arn: String },
    Status { instance: bool, key: (String, String) },
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
            Pending::GlobalWriter { global, target_arn } => {
                if let Some(g) = lock(&self.globals).get_mut(&global) {
                    for m in &mut g.members {
                        m.is_writer = m.cluster_arn == target_arn;
                    }
                    g.status = "available".into();
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
                    })
                    .collect(),
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
        lock(&self.backups).insert(
            (region.to_string(), source.to_string()),
            crate::ports::ReplicatedBackup {
                arn: format!("arn:aws:rds:{region}:123456789012:auto-backup:ab-{source}"),
                source_instance_id: source.to_string(),
                status: "replicating".into(),
                latest_restorable: Some(latest),
            },
        );
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
        source: &str,
    ) -> Result<Option<crate::ports::ReplicatedBackup>, AwsError> {
        self.call("DescribeDBInstanceAutomatedBackups");
        Ok(lock(&self.backups)
            .get(&(region.to_string(), source.to_string()))
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
            if g.status != "available" {
                return Err(AwsError::Rejected(format!("global cluster {global} is {}", g.status)));
            }
            g.status = if allow_data_loss {
                "failing-over"
            } else {
                "switching-over"
            }
            .into();
        }
        self.later(Pending::GlobalWriter {
            global: global.to_string(),
            target_arn: target_arn.to_string(),
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
    async fn lag_seconds(&self, region: &str, of: crate::ports::LagOf<'_>) -> Result<Option<f64>, AwsError> {
        lock(&self.calls).add("cloudwatch:GetMetricData", 1);
        Ok(lock(&self.lag).get(&(region.to_string(), of.id().to_string())).copied())
    }
}

/// Endpoints that answer a set status; any other URL does not answer.
#[derive(Debug, Default)]
pub struct FakeProbe {
    pub answers: Mutex<HashMap<String, u16>>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeProbe {
    pub fn answer(&self, url: &str, status: u16) {
        lock(&self.answers).insert(url.to_string(), status);
    }
    pub fn silence(&self, url: &str) {
        lock(&self.answers).remove(url);
    }
}

#[async_trait]
impl HttpProbe for FakeProbe {
    async fn get(&self, url: &str) -> ProbeAnswer {
        lock(&self.calls).push(url.to_string());
        match lock(&self.answers).get(url) {
            Some(status) => ProbeAnswer {
                status: Some(*status),
                error: None,
                millis: 1,
            },
            None => ProbeAnswer {
                status: None,
                error: Some("no answer: connection refused (fake)".into()),
                millis: 1,
            },
        }
    }
}

/// Published metrics and lifeboat's probe alarms, in memory.
#[derive(Debug, Default)]
pub struct FakeMetrics {
    /// (region, namespace, datum)
    pub data: Mutex<Vec<(String, String, Datum)>>,
    /// PutMetricData calls made.
    pub puts: Mutex<usize>,
    /// (region, alarm, app, failures)
    pub alarms: Mutex<Vec<(String, String, String, u32)>>,
}

#[async_trait]
impl Metrics for FakeMetrics {
    async fn put(&self, region: &str, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        *lock(&self.puts) += data.len().div_ceil(1000);
        lock(&self.data).extend(
            data.iter()
                .map(|d| (region.to_string(), namespace.to_string(), d.clone())),
        );
        Ok(())
    }
    async fn put_probe_alarm(&self, region: &str, alarm: &str, app: &str, failures: u32) -> Result<(), AwsError> {
        let mut alarms = lock(&self.alarms);
        alarms.retain(|(r, a, _, _)| !(r == region && a == alarm));
        alarms.push((region.to_string(), alarm.to_string(), app.to_string(), failures));
        Ok(())
    }
}
