//! Triggers the lease or the cooldown turned away: recorded, and their
//! alarms kept for when the lease frees.

use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{Journal, RunLease};
use lifeboat_core::LifeboatError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A trigger the lease turned away.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgnoredInput {
    /// `{"Error": "Lifeboat.LeaseHeld", "Cause": ...}`
    pub ignored: Value,
    pub run_id: String,
    /// The execution's input: an alarm's is kept for later.
    #[serde(default)]
    pub trigger: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IgnoredRecord {
    pub run_id: String,
    pub status: String,
    pub summary: String,
    /// The alarms kept, to be taken up when the lease or the cooldown frees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Turned away by the cooldown with alarms kept: the execution waits
    /// until then and takes them up itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

/// Records that a trigger was not executed, and why; keeps its alarms for
/// when the lease or the cooldown frees (no trigger is lost).
pub async fn record_ignored(
    journal: &dyn Journal,
    lease: &dyn RunLease,
    input: IgnoredInput,
) -> Result<IgnoredRecord, LifeboatError> {
    let reason = input.ignored["Cause"].as_str().unwrap_or("lease held").to_string();
    let now = Utc::now();
    journal.record_ignored(&input.run_id, &reason, now).await?;
    let kept = match &input.trigger {
        Some(t) => crate::pending::keep(journal, t, &input.run_id, &reason, now).await?,
        None => Vec::new(),
    };
    // In the cooldown (no run holds the lease): wait it out here.
    let retry_at = if kept.is_empty() {
        None
    } else {
        let st = lease.state().await?;
        st.cooldown_until.filter(|c| st.holder.is_none() && *c > now)
    };
    tracing::warn!(run = %input.run_id, %reason, ?kept, ?retry_at, "trigger turned away");
    Ok(IgnoredRecord {
        run_id: input.run_id,
        status: "ignored".into(),
        summary: if kept.is_empty() {
            format!("ignored: {reason}")
        } else {
            format!(
                "turned away ({reason}); alarm(s) {} kept for when it frees",
                kept.join(", ")
            )
        },
        kept,
        retry_at,
    })
}

/// What an execution that waited out the cooldown found kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TakenUp {
    /// The follow-up to run now (this execution runs it), or null.
    pub follow_up: Option<lifeboat_core::request::FollowUp>,
}
