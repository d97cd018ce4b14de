//! Route 53: reading and changing record sets, and health checks.

use super::prelude::*;

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
    /// Of `ids`, those that are not health checks of this account.
    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, AwsError>;
}
