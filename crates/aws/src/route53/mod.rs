//! Route 53 adapter: record sets, change batches, change status, health checks.

use crate::error::AwsError;
use crate::pacing;
use crate::ports::{DnsReader, DnsWriter, HealthChecks, HealthReport, PageStart, RecordPage};
use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget as SdkAlias, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use lifeboat_core::dns::{AliasTarget, RecordSet};
use lifeboat_core::health::{HEALTHY_CHECKER_PERCENT, calculated_is_healthy, checkers_say_healthy};
use lifeboat_core::registry::normalize_record_name;

mod records;
pub use records::{PER_NAME_LOOKUPS_MAX, read_records};

/// Route 53 through the SDK.
#[derive(Debug, Clone)]
pub struct Route53 {
    client: aws_sdk_route53::Client,
}

impl Route53 {
    pub fn new(client: aws_sdk_route53::Client) -> Self {
        Route53 { client }
    }
}

/// Every Route 53 request takes a token of the account's bucket (crate::pacing).
async fn paced() {
    pacing::pace("route53", pacing::ROUTE53_ACCOUNT).await;
}

/// Converts what Route 53 returned into our model, noting what we must not rewrite.
pub fn from_sdk(r: &ResourceRecordSet) -> RecordSet {
    let unsupported = if r.traffic_policy_instance_id().is_some() {
        Some("it is managed by a Route 53 traffic policy".to_string())
    } else if r.failover().is_some() {
        Some("it uses failover routing, not weighted".to_string())
    } else if r.region().is_some() {
        Some("it uses latency routing, not weighted".to_string())
    } else if r.geo_location().is_some() || r.geo_proximity_location().is_some() {
        Some("it uses geo routing, not weighted".to_string())
    } else if r.cidr_routing_config().is_some() {
        Some("it uses IP-based routing, not weighted".to_string())
    } else if r.multi_value_answer().is_some() {
        Some("it uses multivalue answer routing, not weighted".to_string())
    } else {
        None
    };
    RecordSet {
        name: r.name().to_string(),
        record_type: r.r#type().as_str().to_string(),
        set_identifier: r.set_identifier().map(str::to_string),
        weight: r.weight(),
        ttl: r.ttl(),
        values: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
        alias: r.alias_target().map(|a| AliasTarget {
            hosted_zone_id: a.hosted_zone_id().to_string(),
            dns_name: a.dns_name().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: r.health_check_id().map(str::to_string),
        unsupported,
    }
}

/// Builds the SDK record set to UPSERT: everything as read, with our weight.
pub fn to_sdk(r: &RecordSet) -> Result<ResourceRecordSet, AwsError> {
    let mut b = ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::from(r.record_type.as_str()))
        .set_set_identifier(r.set_identifier.clone())
        .set_weight(r.weight)
        .set_ttl(r.ttl)
        .set_health_check_id(r.health_check_id.clone());
    if !r.values.is_empty() {
        let values = r
            .values
            .iter()
            .map(|v| ResourceRecord::builder().value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::Other(format!("building record {}: {e}", r.name)))?;
        b = b.set_resource_records(Some(values));
    }
    if let Some(a) = &r.alias {
        let alias = SdkAlias::builder()
            .hosted_zone_id(&a.hosted_zone_id)
            .dns_name(&a.dns_name)
            .evaluate_target_health(a.evaluate_target_health)
            .build()
            .map_err(|e| AwsError::Other(format!("building alias of {}: {e}", r.name)))?;
        b = b.alias_target(alias);
    }
    b.build()
        .map_err(|e| AwsError::Other(format!("building record {}: {e}", r.name)))
}

#[async_trait]
impl DnsReader for Route53 {
    async fn record_sets(&self, zone: &str, name: &str, record_type: &str) -> Result<Vec<RecordSet>, AwsError> {
        // Route 53 allows at most 100 weighted records of one name and type,
        // so starting at ours, one page of 300 holds them all.
        let wanted = normalize_record_name(name);
        let start = PageStart {
            name: name.to_string(),
            record_type: record_type.to_string(),
            identifier: None,
        };
        let page = self.list_page(zone, Some(&start)).await?;
        Ok(page
            .records
            .into_iter()
            .filter(|r| normalize_record_name(&r.name) == wanted && r.record_type == record_type)
            .collect())
    }

    async fn list_page(&self, zone: &str, start: Option<&PageStart>) -> Result<RecordPage, AwsError> {
        paced().await;
        let resp = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .set_start_record_name(start.map(|s| s.name.clone()))
            .set_start_record_type(start.map(|s| RrType::from(s.record_type.as_str())))
            .set_start_record_identifier(start.and_then(|s| s.identifier.clone()))
            .max_items(300)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("ListResourceRecordSets in zone {zone}"), e))?;
        let next = match (resp.is_truncated(), resp.next_record_name()) {
            (true, Some(name)) => Some(PageStart {
                name: name.to_string(),
                record_type: resp
                    .next_record_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                identifier: resp.next_record_identifier().map(str::to_string),
            }),
            _ => None,
        };
        Ok(RecordPage {
            records: resp.resource_record_sets().iter().map(from_sdk).collect(),
            next,
        })
    }
}

#[async_trait]
impl DnsWriter for Route53 {
    async fn upsert(&self, zone: &str, records: &[RecordSet], comment: &str) -> Result<String, AwsError> {
        let changes = records
            .iter()
            .map(|r| {
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(to_sdk(r)?)
                    .build()
                    .map_err(|e| AwsError::Other(format!("building change for {}: {e}", r.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let batch = ChangeBatch::builder()
            .comment(comment)
            .set_changes(Some(changes))
            .build()
            .map_err(|e| AwsError::Other(format!("building change batch: {e}")))?;
        // A change takes a token of the change bucket, besides the request's.
        pacing::pace_n("route53:changes", pacing::ROUTE53_CHANGES, records.len()).await;
        paced().await;
        let resp = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("ChangeResourceRecordSets in zone {zone}"), e))?;
        Ok(resp.change_info().map(|c| c.id().to_string()).unwrap_or_default())
    }

    async fn change_in_sync(&self, change_id: &str) -> Result<bool, AwsError> {
        paced().await;
        let resp = self
            .client
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("GetChange {change_id}"), e))?;
        Ok(resp
            .change_info()
            .map(|c| c.status() == &ChangeStatus::Insync)
            .unwrap_or(false))
    }
}

#[async_trait]
impl HealthChecks for Route53 {
    /// ListHealthChecks, 1,000 a page (its API reference: the most it
    /// returns), until every id is seen or the list ends: one call for most
    /// accounts, where a GetHealthCheck each would spend the account's
    /// Route 53 rate on thousands.
    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, AwsError> {
        let mut unseen: std::collections::BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        let mut marker: Option<String> = None;
        while !unseen.is_empty() {
            paced().await;
            let page = self
                .client
                .list_health_checks()
                .max_items(1000)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ListHealthChecks", e))?;
            for check in page.health_checks() {
                unseen.remove(check.id());
            }
            match page.next_marker().filter(|_| page.is_truncated()) {
                Some(next) => marker = Some(next.to_string()),
                None => break,
            }
        }
        Ok(ids.iter().filter(|id| unseen.contains(id.as_str())).cloned().collect())
    }

    async fn health(&self, health_check_id: &str) -> Result<HealthReport, AwsError> {
        match self.checker_reports(health_check_id).await? {
            Some(report) => Ok(report),
            // GetHealthCheckStatus cannot read a calculated health check (its
            // API reference): its children can be, and its verdict is theirs.
            None => self.calculated(health_check_id).await,
        }
    }
}

impl Route53 {
    /// An endpoint or RECOVERY_CONTROL check's verdict from its checkers'
    /// reports; `None` when Route 53 says it is a calculated check.
    async fn checker_reports(&self, health_check_id: &str) -> Result<Option<HealthReport>, AwsError> {
        pacing::pace("route53:GetHealthCheckStatus", pacing::ROUTE53_GET_HEALTH_CHECK_STATUS).await;
        paced().await;
        let resp = match self
            .client
            .get_health_check_status()
            .health_check_id(health_check_id)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_input()) => return Ok(None),
            Err(e) => {
                return Err(AwsError::from_sdk(
                    &format!("GetHealthCheckStatus {health_check_id}"),
                    e,
                ));
            }
        };
        let reports: Vec<&str> = resp
            .health_check_observations()
            .iter()
            .filter_map(|o| o.status_report().and_then(|r| r.status()))
            .collect();
        // Each observation is one checker's "Success: ..." or "Failure: ...".
        let ok = reports.iter().filter(|s| s.starts_with("Success")).count();
        let healthy = checkers_say_healthy(ok, reports.len());
        Ok(Some(HealthReport {
            healthy,
            detail: format!(
                "health check {health_check_id} {}: {ok}/{} checkers report success (healthy above {HEALTHY_CHECKER_PERCENT} %)",
                if healthy { "healthy" } else { "unhealthy" },
                reports.len()
            ),
        }))
    }

    /// A calculated check: its configuration (GetHealthCheck), then each child's checkers.
    async fn calculated(&self, health_check_id: &str) -> Result<HealthReport, AwsError> {
        paced().await;
        let resp = self
            .client
            .get_health_check()
            .health_check_id(health_check_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("GetHealthCheck {health_check_id}"), e))?;
        let config = resp.health_check().and_then(|h| h.health_check_config());
        let children: Vec<String> = config.map(|c| c.child_health_checks().to_vec()).unwrap_or_default();
        let threshold = config.and_then(|c| c.health_threshold()).unwrap_or(0);
        let inverted = config.and_then(|c| c.inverted()).unwrap_or(false);
        let mut healthy_children = 0;
        let mut notes = Vec::new();
        for child in &children {
            match self.checker_reports(child).await? {
                Some(r) if r.healthy => healthy_children += 1,
                Some(_) => notes.push(format!("{child} unhealthy")),
                // Nested calculated checks are not followed: counted unhealthy, and said.
                None => notes.push(format!("{child} is itself calculated (not read)")),
            }
        }
        let threshold = usize::try_from(threshold).unwrap_or(0);
        let healthy = calculated_is_healthy(healthy_children, children.len(), threshold, inverted);
        Ok(HealthReport {
            healthy,
            detail: format!(
                "calculated health check {health_check_id} {}: {healthy_children}/{} children healthy, threshold {threshold}{}{}",
                if healthy { "healthy" } else { "unhealthy" },
                children.len(),
                if inverted { ", inverted" } else { "" },
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join(", "))
                }
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    /// The registry's offline Region check knows every Region the SDK does:
    /// an SDK upgrade that adds one fails here until the list has it.
    #[test]
    fn the_registrys_known_regions_cover_the_sdks() {
        let missing: Vec<&str> = aws_sdk_route53::types::ResourceRecordSetRegion::values()
            .iter()
            .copied()
            .filter(|r| !lifeboat_core::registry::regions::is_known_region(r))
            .collect();
        assert!(
            missing.is_empty(),
            "add to crates/core/src/registry/regions.rs: {missing:?}"
        );
    }
}
