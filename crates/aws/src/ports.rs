//! Ports: one small trait per capability. Tasks take the narrowest one they need.

use crate::error::AwsError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lifeboat_core::dns::{RecordIndex, RecordKey, RecordSet};
use lifeboat_core::outcome::RunRecord;
use lifeboat_core::registry::Application;
use std::collections::{BTreeMap, BTreeSet};

/// Reads Route 53 record sets.
#[async_trait]
pub trait DnsReader: Send + Sync {
    /// Every record set of exactly this name and type in the zone (all set identifiers).
    async fn record_sets(&self, zone: &str, name: &str, record_type: &str) -> Result<Vec<RecordSet>, AwsError>;
}

/// Changes Route 53 record sets.
#[async_trait]
pub trait DnsWriter: Send + Sync {
    /// UPSERTs the record sets in one ChangeBatch; returns the change id.
    async fn upsert(&self, zone: &str, records: &[RecordSet], comment: &str) -> Result<String, AwsError>;
    /// Whether a change has propagated to every Route 53 server (INSYNC).
    async fn change_in_sync(&self, change_id: &str) -> Result<bool, AwsError>;
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
    async fn delete_apps(&self, names: &[String]) -> Result<(), AwsError>;
    async fn set_active_region(&self, app: &str, region: &str, run_id: &str, at: DateTime<Utc>)
    -> Result<(), AwsError>;
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
}

/// Reads every record the keys name, one lookup per distinct (zone, name, type).
pub async fn read_records<'a>(
    dns: &dyn DnsReader,
    keys: impl IntoIterator<Item = &'a RecordKey>,
) -> Result<RecordIndex, AwsError> {
    let lookups: BTreeSet<(&str, &str, &str)> = keys
        .into_iter()
        .map(|k| (k.hosted_zone_id.as_str(), k.name.as_str(), k.record_type.as_str()))
        .collect();
    let mut index = RecordIndex::default();
    for (zone, name, record_type) in lookups {
        for r in dns.record_sets(zone, name, record_type).await? {
            index.insert(zone, r);
        }
    }
    Ok(index)
}
