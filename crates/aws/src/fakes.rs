//! In-memory fakes of the ports, for fast unit tests of the tasks. They keep
//! the semantics the tasks rely on (UPSERT replaces by set identifier, changes
//! go INSYNC after a configurable number of polls) and count their calls.

use crate::error::AwsError;
use crate::ports::{
    AlarmStates, DnsReader, DnsWriter, HealthChecks, HealthReport, Journal, LeaseOutcome, LeaseState, PageStart,
    RecordPage, RegistryStore, RunLease, StoredApp,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::dns::RecordSet;
use lifeboat_core::outcome::RunRecord;
use lifeboat_core::registry::{Application, normalize_record_name, normalize_zone_id};
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
    fn count(&self, op: &str) {
        lock(&self.calls).add(&format!("route53:{op}"), 1);
    }
}

#[async_trait]
impl DnsReader for FakeRoute53 {
    async fn record_sets(&self, zone: &str, name: &str, record_type: &str) -> Result<Vec<RecordSet>, AwsError> {
        self.count("ListResourceRecordSets");
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
        self.count("ListResourceRecordSets");
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
        self.count("ChangeResourceRecordSets");
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
        self.count("GetChange");
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
        self.count("GetHealthCheckStatus");
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
