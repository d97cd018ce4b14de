//! The run lease: one item (`#lease`, `lease`) in the lease table.
//!
//! Both Regions' state machines take the lease, so on AWS the lease table is a
//! global table with multi-Region strong consistency: a conditional write is
//! checked against every Region's writes, not only its own replica's. Such a
//! table refuses a write to an item another Region is writing at the same
//! moment (ReplicatedWriteConflictException, safe to retry): each write here
//! tries again a few times, a little later each time, beyond the SDK's retries.

use super::*;
use crate::error::AwsError;
use crate::ports::{LeaseOutcome, LeaseState, RunLease};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

/// The run lease: one item (`#lease`, `lease`) in the lease table.
#[derive(Debug, Clone)]
pub struct DynamoLease {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// The Region of the state machine whose runs take it (None: the client's).
    caller_region: Option<String>,
}

impl DynamoLease {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLease {
            client,
            table: table.into(),
            caller_region: None,
        }
    }

    /// The lease as taken by `region`'s runs, wherever it is written (a lease
    /// pinned to a third Region is written there, and names the caller's).
    pub fn for_region(mut self, region: impl Into<String>) -> Self {
        self.caller_region = Some(region.into());
        self
    }

    /// An UpdateItem of the lease's item.
    fn lease_update(&self) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("run_id", s(LEASE_KEY))
            .key("entry", s("lease"))
    }

    /// Sends an update of the lease's item, again while another Region is
    /// writing it. None: its condition did not hold (each caller says what
    /// that means); any other error names the table.
    async fn send(
        &self,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Option<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput>, AwsError> {
        let mut attempt = 0;
        loop {
            match update.clone().send().await {
                Ok(out) => return Ok(Some(out)),
                Err(e) if is_condition_failed(&e) => return Ok(None),
                Err(e) if is_replicated_write_conflict(&e) && attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tracing::info!(attempt, "another Region is writing the lease; trying again");
                    let pause = fastrand::u64(50..=150) * u64::from(attempt);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                Err(e) => return Err(table_error(&self.table, &format!("UpdateItem {} lease", self.table), e)),
            }
        }
    }

    /// The Region whose runs take the lease (recorded with the holder).
    fn region(&self) -> String {
        self.caller_region
            .clone()
            .or_else(|| self.client.config().region().map(|r| r.to_string()))
            .unwrap_or_default()
    }

    async fn read(&self) -> Result<Item, AwsError> {
        Ok(get_entry(&self.client, &self.table, LEASE_KEY, "lease")
            .await?
            .unwrap_or_default())
    }
}

const LEASE_KEY: &str = "#lease";

/// Tries beyond the SDK's after ReplicatedWriteConflictException.
const CONFLICT_RETRIES: u32 = 6;

/// Whether an SDK error is an MRSC table's ReplicatedWriteConflictException.
fn is_replicated_write_conflict<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    e.as_service_error().and_then(|se| se.code()) == Some("ReplicatedWriteConflictException")
}

/// The lease as its item holds it.
fn lease_state(item: &Item) -> LeaseState {
    LeaseState {
        holder: get_s(item, "holder").map(str::to_string),
        holder_region: get_s(item, "holder_region").map(str::to_string),
        epoch: get_n(item, "epoch").and_then(|e| u64::try_from(e).ok()).unwrap_or(0),
        acquired_at: get_n(item, "acquired_at").map(from_epoch),
        expires_at: get_n(item, "expires_at").map(from_epoch),
        cooldown_until: get_n(item, "cooldown_until").map(from_epoch),
        last_run: get_s(item, "last_run").map(str::to_string),
    }
}

#[async_trait]
impl RunLease for DynamoLease {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        ensure_table(&self.client, &self.table, "run_id", Some("entry")).await
    }

    async fn acquire(
        &self,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
        respect_cooldown: bool,
    ) -> Result<LeaseOutcome, AwsError> {
        // Free, already ours (a retried validate), or expired (a run that died).
        let mut condition = "(attribute_not_exists(holder) OR holder = :me OR expires_at < :now)".to_string();
        if respect_cooldown {
            // The cooldown holds while now < cooldown_until: at its end the lease is free.
            condition.push_str(" AND (attribute_not_exists(cooldown_until) OR cooldown_until <= :now)");
        }
        let update = self
            .send(
                self.lease_update()
                    .update_expression(
                        "SET holder = :me, holder_region = :region, acquired_at = :now, expires_at = :exp \
                         ADD epoch :one",
                    )
                    .condition_expression(condition)
                    .expression_attribute_values(":me", s(run_id))
                    .expression_attribute_values(":region", s(self.region()))
                    .expression_attribute_values(":now", n(now.timestamp()))
                    .expression_attribute_values(":exp", n((now + ttl).timestamp()))
                    .expression_attribute_values(":one", n(1))
                    .return_values(ReturnValue::UpdatedNew),
            )
            .await;
        match update? {
            Some(out) => {
                let epoch = out.attributes().and_then(|a| get_n(a, "epoch")).unwrap_or(1);
                Ok(LeaseOutcome::Acquired {
                    epoch: u64::try_from(epoch).unwrap_or(1),
                })
            }
            None => {
                let item = self.read().await?;
                let holder = get_s(&item, "holder").map(str::to_string);
                let expires = get_n(&item, "expires_at").unwrap_or(0);
                match holder {
                    Some(h) if h != run_id && expires >= now.timestamp() => Ok(LeaseOutcome::Held {
                        holder: h,
                        since: from_epoch(get_n(&item, "acquired_at").unwrap_or(0)),
                        region: get_s(&item, "holder_region").map(str::to_string),
                    }),
                    _ => Ok(LeaseOutcome::Cooldown {
                        until: from_epoch(get_n(&item, "cooldown_until").unwrap_or(0)),
                        last_run: get_s(&item, "last_run").unwrap_or("?").to_string(),
                    }),
                }
            }
        }
    }

    async fn state(&self) -> Result<LeaseState, AwsError> {
        Ok(lease_state(&self.read().await?))
    }

    async fn break_lease(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError> {
        let update = self
            .lease_update()
            .update_expression("REMOVE holder, holder_region, expires_at SET broken_at = :now ADD epoch :one")
            .condition_expression("attribute_exists(holder)")
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllOld);
        // The lease as it was, if the condition held.
        Ok(self
            .send(update)
            .await?
            .map(|out| lease_state(&out.attributes().cloned().unwrap_or_default())))
    }

    async fn give_back(&self, run_id: &str) -> Result<bool, AwsError> {
        let update = self
            .lease_update()
            .update_expression("REMOVE holder, holder_region, expires_at")
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(run_id));
        // Our own give-back applied and its answer lost reads the same: not held by us.
        Ok(self.send(update).await?.is_some())
    }

    async fn clear_cooldown(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError> {
        let update = self
            .lease_update()
            .update_expression("REMOVE cooldown_until SET cooldown_cleared_at = :now")
            .condition_expression("cooldown_until > :now")
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values(ReturnValue::AllOld);
        // The lease as it was, if the condition held.
        Ok(self
            .send(update)
            .await?
            .map(|out| lease_state(&out.attributes().cloned().unwrap_or_default())))
    }

    async fn release(&self, run_id: &str, now: DateTime<Utc>, cooldown: chrono::Duration) -> Result<bool, AwsError> {
        // No cooldown (after a failover or a drill) removes any left from before.
        let update = if cooldown > chrono::Duration::zero() {
            self.lease_update()
                .update_expression(
                    "REMOVE holder, holder_region, expires_at SET cooldown_until = :cd, last_run = :me, released_at = :now",
                )
                .expression_attribute_values(":cd", n((now + cooldown).timestamp()))
        } else {
            self.lease_update()
                .update_expression("REMOVE holder, holder_region, expires_at, cooldown_until SET last_run = :me, released_at = :now")
        }
        .condition_expression("holder = :me")
        .expression_attribute_values(":me", s(run_id))
        .expression_attribute_values(":now", n(now.timestamp()));
        if self.send(update).await?.is_some() {
            return Ok(true);
        }
        // Our own release, applied and its answer lost, left us as the last run.
        let st = lease_state(&self.read().await?);
        Ok(st.holder.is_none() && st.last_run.as_deref() == Some(run_id))
    }
}
