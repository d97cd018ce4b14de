//! Route 53 in memory: records, changes that go INSYNC after some polls, health checks.

use super::prelude::*;

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
    /// Each health check's checkers: (how many report healthy, how many report).
    health: Mutex<HashMap<String, (usize, usize)>>,
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
    /// Every checker of `id` healthy, or none.
    pub fn set_health(&self, id: &str, healthy: bool) {
        self.set_checkers(id, if healthy { 16 } else { 0 }, 16);
    }
    /// `healthy` of `reporting` checkers of `id` report healthy.
    pub fn set_checkers(&self, id: &str, healthy: usize, reporting: usize) {
        lock(&self.health).insert(id.to_string(), (healthy, reporting));
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
    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, AwsError> {
        self.count("ListHealthChecks")?;
        let known = lock(&self.health);
        Ok(ids.iter().filter(|id| !known.contains_key(*id)).cloned().collect())
    }

    async fn health(&self, health_check_id: &str) -> Result<HealthReport, AwsError> {
        self.count("GetHealthCheckStatus")?;
        let (ok, reporting) = lock(&self.health)
            .get(health_check_id)
            .copied()
            .ok_or_else(|| AwsError::NotFound(format!("NoSuchHealthCheck: {health_check_id}")))?;
        // Route 53's rule, as the adapter applies it (core::health).
        let healthy = lifeboat_core::health::checkers_say_healthy(ok, reporting);
        Ok(HealthReport {
            healthy,
            detail: format!(
                "health check {health_check_id} {}: {ok}/{reporting} checkers report success",
                if healthy { "healthy" } else { "unhealthy" }
            ),
        })
    }
}
