//! The run lease: one run at a time, a cooldown after each.

use super::prelude::*;

/// What taking the run lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Ours, with this epoch (each acquisition increments it).
    Acquired { epoch: u64 },
    /// Another run holds it (taken in `region`, where the lease store says).
    Held {
        holder: String,
        since: DateTime<Utc>,
        region: Option<String>,
    },
    /// The last run ended recently; triggers that respect the cooldown wait.
    Cooldown { until: DateTime<Utc>, last_run: String },
}

/// One run at a time, and a cooldown after each (flapping alarms start one run).
#[async_trait]
pub trait RunLease: Send + Sync {
    /// Creates the lease's store if missing (locally; on AWS the template
    /// makes it); true if it created it.
    async fn ensure_table(&self) -> Result<bool, AwsError>;
    /// Takes the lease for `run_id` unless another run holds it (an expired
    /// lease is free) or, with `respect_cooldown`, the cooldown has not passed.
    /// Taking it again for the same run succeeds (a retried validate).
    async fn acquire(
        &self,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
        respect_cooldown: bool,
    ) -> Result<LeaseOutcome, AwsError>;
    /// Releases it if `run_id` holds it and starts the cooldown; false if it was not ours.
    async fn release(&self, run_id: &str, now: DateTime<Utc>, cooldown: chrono::Duration) -> Result<bool, AwsError>;
    /// The lease as it is (for `lifeboat status`).
    async fn state(&self) -> Result<LeaseState, AwsError>;
    /// Whether `run_id` still holds the lease it took at `epoch` (a fencing
    /// token: a run whose lease was broken or taken over must not act). Read
    /// strongly consistent; an expired lease nobody took is still held.
    async fn holds(&self, run_id: &str, epoch: u64) -> Result<bool, AwsError> {
        let st = self.state().await?;
        Ok(st.holder.as_deref() == Some(run_id) && st.epoch == epoch)
    }
    /// Gives back a lease `run_id` took but did not use (a take-up that found
    /// nothing to run, a trigger refused after the lease was taken): the
    /// cooldown and the last run stay as they were. False if it was not ours.
    async fn give_back(&self, run_id: &str) -> Result<bool, AwsError>;
    /// Ends the cooldown now (an operator, on the record). Returns the lease
    /// as it was, or None if no cooldown was running at `now`.
    async fn clear_cooldown(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError>;
    /// Frees the lease whoever holds it (an operator breaking it): the epoch
    /// moves on, so the holder's next fenced step refuses. No cooldown starts.
    /// Returns the lease as it was, or None if nobody held it.
    async fn break_lease(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError>;
}

/// The run lease as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LeaseState {
    pub holder: Option<String>,
    /// The Region whose run took it (both Regions' state machines contend for one lease).
    pub holder_region: Option<String>,
    pub epoch: u64,
    pub acquired_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub last_run: Option<String>,
}
