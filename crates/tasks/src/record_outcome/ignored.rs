//! Triggers the lease or the cooldown turned away: recorded, and their
//! alarms kept for when the lease frees.

use crate::contract::StatesError;
use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{Journal, LeaseState, RunLease};
use lifeboat_core::LifeboatError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A trigger the lease turned away.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoredInput {
    /// Why: `Lifeboat.LeaseHeld` or `Lifeboat.Cooldown`, with its cause.
    pub error: StatesError,
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
    let reason = match input.error.cause.as_str() {
        "" => "lease held".to_string(),
        cause => cause.to_string(),
    };
    // Read once: who holds the lease (a run waiting for approval?) and the cooldown.
    let lease_state = lease.state().await;
    // A run holding the lease while it waits for a person: this trigger joins it.
    let reason = match waiting_for_approval(journal, lease_state.as_ref().ok()).await {
        Some(holder) => format!(
            "joins run {holder}, which waits for approval (answer it with {}); kept until it ends: {reason}",
            crate::approval::how_to_answer(&holder)
        ),
        None => reason,
    };
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
        let st = lease_state?;
        st.cooldown_until.filter(|c| st.holder.is_none() && *c > now)
    };
    crate::pending::log_trigger(
        journal,
        &crate::pending::TriggerLogEntry {
            run_id: input.run_id.clone(),
            outcome: "ignored".into(),
            error: None,
            reason: reason.clone(),
            at: now,
            kept: kept.clone(),
        },
    )
    .await?;
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

/// The run holding the lease, if it waits for approval (unanswered). A read
/// that fails says nothing: the trigger is kept either way.
async fn waiting_for_approval(journal: &dyn Journal, lease: Option<&LeaseState>) -> Option<String> {
    let holder = lease?.holder.clone()?;
    let doc = crate::approval::load(journal, &holder).await.ok()??;
    doc.decision.is_none().then_some(holder)
}

/// What an execution that waited out the cooldown found kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TakenUp {
    /// The follow-up to run now (this execution runs it), or null.
    pub follow_up: Option<lifeboat_core::request::FollowUp>,
}

/// A trigger validate refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedInput {
    /// Validate's error.
    pub error: StatesError,
    pub run_id: String,
    /// The execution's input.
    #[serde(default)]
    pub trigger: Option<Value>,
}

/// What recording a refused trigger did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusedRecord {
    pub run_id: String,
    pub error: String,
    /// The alarms kept, to be run by the next run's end or the retry schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

/// Logs a trigger validate refused. Bad input (`Lifeboat.InvalidRequest`:
/// malformed, forged, late) is only logged; any other failure of an alarm or
/// a follow-up (the recovery Region not ready, AWS throttling us for
/// minutes, a Lambda error) keeps its alarms, so the disaster is run once the
/// cause passes. Gives back the lease if this execution had taken it.
pub async fn record_refused(
    journal: &dyn Journal,
    lease: &dyn RunLease,
    input: RefusedInput,
) -> Result<RefusedRecord, LifeboatError> {
    let error = input.error.error.as_str().to_string();
    let cause = input.error.cause.as_str();
    // A Lambda task's Cause is the function's error document; its message says more.
    let reason = serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|c| c["errorMessage"].as_str().map(str::to_string))
        .unwrap_or_else(|| cause.to_string());
    let now = Utc::now();
    let bad_input = error == lifeboat_core::ErrorName::InvalidRequest.as_str();
    let kept = match (&input.trigger, bad_input) {
        (Some(t), false) => crate::pending::keep(journal, t, &input.run_id, &format!("{error}: {reason}"), now).await?,
        _ => Vec::new(),
    };
    crate::pending::log_trigger(
        journal,
        &crate::pending::TriggerLogEntry {
            run_id: input.run_id.clone(),
            outcome: "refused".into(),
            error: Some(error.clone()),
            reason: reason.clone(),
            at: now,
            kept: kept.clone(),
        },
    )
    .await?;
    // Read first: most refused runs never took it, and a refusal writes no lease.
    if lease.state().await?.holder.as_deref() == Some(input.run_id.as_str()) && lease.give_back(&input.run_id).await? {
        tracing::info!(run = %input.run_id, "gave back the lease the refused run had taken");
    }
    tracing::warn!(run = %input.run_id, %error, %reason, ?kept, "trigger refused");
    Ok(RefusedRecord {
        run_id: input.run_id,
        error,
        kept,
    })
}

/// Takes up kept triggers for an execution that runs them itself (one that
/// waited out the cooldown, or the retry schedule's): takes the lease first,
/// so a take-up never races a run's end; gives it back if nothing is to run.
/// A run holding the lease, or the cooldown, leaves them kept: that run's
/// end, or the next take-up, runs them.
pub async fn take_up_kept(
    s: &crate::services::Services,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<TakenUp, LifeboatError> {
    if crate::pending::pending(&*s.journal).await?.is_empty() {
        return Ok(TakenUp { follow_up: None });
    }
    let ttl = chrono::Duration::seconds(i64::from(s.settings.lease_ttl_seconds));
    match s.lease.acquire(run_id, now, ttl, true).await? {
        lifeboat_aws::ports::LeaseOutcome::Acquired { .. } => {}
        other => {
            tracing::info!(run = %run_id, lease = ?other, "kept triggers stay kept: the lease is not free");
            return Ok(TakenUp { follow_up: None });
        }
    }
    let follow_up = crate::pending::take_up(
        &*s.registry,
        &*s.journal,
        &*s.alarms,
        &s.settings.trigger_origin.regions,
        run_id,
        &Default::default(),
        // Kept triggers are disaster failovers: an alarm its Region cannot answer for counts as ALARM.
        crate::pending::Unreadable::CountAsAlarm,
    )
    .await;
    // This execution runs the follow-up under the lease it holds; with nothing to run, or on an error, it gives it back.
    if !matches!(follow_up, Ok(Some(_))) {
        s.lease.give_back(run_id).await?;
    }
    Ok(TakenUp { follow_up: follow_up? })
}
