//! The record of an execution that timed out, was aborted or failed without
//! recording itself (Step Functions' status-change event).

use super::*;
use crate::contract::StatesError;
use crate::journal::try_load_run;
use crate::task::{RECORD_MODE_FIELD, RecordMode};
use chrono::{DateTime, Utc};
use lifeboat_core::{FailureName, LifeboatError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The detail-type of Step Functions' execution status-change events.
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";

/// Step Functions' execution status-change event, as EventBridge delivers
/// it (the fields the record reads; the rest are left to AWS).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionStatusChange {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: ExecutionDetail,
}

/// The event's detail.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetail {
    /// The execution's name: the run id.
    pub name: String,
    /// `TIMED_OUT`, `ABORTED`, `FAILED` (the rule's pattern), or another.
    pub status: String,
    /// Epoch milliseconds.
    #[serde(default)]
    pub start_date: Option<i64>,
    #[serde(default)]
    pub stop_date: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// What the template's EventBridge rule passes (its input transformer wraps
/// the event, so the function knows the mode it serves).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionEndInput {
    pub event: ExecutionStatusChange,
}

impl ExecutionEndInput {
    /// The record function's payload for a run's end, as the run-ended
    /// rule's input transformer builds it: the mode, and the whole event.
    pub fn payload(event: Value) -> Value {
        serde_json::json!({RECORD_MODE_FIELD: RecordMode::ExecutionEnd, "event": event})
    }

    /// The event in such a payload, or None if it is not one.
    pub fn event_of(payload: &Value) -> Option<&Value> {
        (payload[RECORD_MODE_FIELD] == RecordMode::ExecutionEnd.as_str()).then(|| &payload["event"])
    }
}

/// What the record of an execution that ended without one did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionEndRecord {
    pub run_id: String,
    pub status: String,
    /// False when the run was already recorded (by the state machine itself,
    /// or an earlier delivery of the same event), or had no plan to record.
    pub recorded: bool,
    pub detail: String,
}

/// An execution that timed out, was aborted, or failed without its own
/// record (EventBridge's status-change event): records it from the journal's
/// plan and progress, as RecordFailure would have, and frees the lease.
/// Idempotent: a run already recorded is left as it is.
pub async fn record_execution_end(
    ports: &RecordPorts<'_>,
    event: &ExecutionStatusChange,
) -> Result<ExecutionEndRecord, LifeboatError> {
    let RecordPorts { journal, lease, .. } = *ports;
    if event.detail_type != EXECUTION_STATUS_CHANGE {
        return Err(LifeboatError::invalid(format!(
            "the execution-end record takes a \"{EXECUTION_STATUS_CHANGE}\" event, not \"{}\": \
             check the EventBridge rule's pattern",
            event.detail_type
        )));
    }
    let detail = &event.detail;
    let (run_id, status) = (detail.name.clone(), detail.status.clone());
    if run_id.is_empty() || status.is_empty() {
        return Err(LifeboatError::invalid(format!(
            "{EXECUTION_STATUS_CHANGE} event without detail.name or detail.status"
        )));
    }
    let at = |millis: Option<i64>| millis.and_then(DateTime::<Utc>::from_timestamp_millis);
    let done = |recorded: bool, detail: String| ExecutionEndRecord {
        run_id: run_id.clone(),
        status: status.clone(),
        recorded,
        detail,
    };
    if journal.get_run(&run_id).await?.is_some() {
        return Ok(done(false, "already recorded".into()));
    }
    let error = match status.as_str() {
        "TIMED_OUT" => StatesError::new(
            FailureName::TIMED_OUT,
            "the execution reached its TimeoutSeconds before it finished",
        ),
        "ABORTED" => StatesError::new(
            FailureName::ABORTED,
            "the execution was stopped (StopExecution) before it finished",
        ),
        "FAILED" => StatesError::new(
            detail
                .error
                .clone()
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| FailureName::RUNTIME.into()),
            detail.cause.clone().unwrap_or_default(),
        ),
        other => return Ok(done(false, format!("status {other}: nothing to record"))),
    };
    // A journal that does not answer is an error (EventBridge retries); only a
    // run with no plan at all has nothing to record.
    let Some(run) = try_load_run(journal, &run_id).await? else {
        // Stopped before validate wrote a plan: nothing moved; free the lease if it took it.
        if lease.state().await?.holder.as_deref() == Some(run_id.as_str()) && lease.give_back(&run_id).await? {
            tracing::warn!(run = %run_id, "gave back the lease of a run that stopped before it planned");
        }
        return Ok(done(
            false,
            "no plan in the journal: it stopped before validate planned".into(),
        ));
    };
    let plan = &run.0;
    let input = RecordInput {
        plan: plan.summarize(),
        results: Vec::new(),
        error: Some(error),
        started_at: at(detail.start_date).unwrap_or(plan.created_at),
        finished_at: at(detail.stop_date),
        api_calls: None,
    };
    // Kept triggers stay kept: nobody would start this record's follow-up
    // (no outcome event); the next run's end takes them up.
    let ports = RecordPorts { alarms: None, ..*ports };
    let record = record_loaded(&ports, run, input).await?;
    tracing::warn!(run = %run_id, %status, summary = %record.summary, "recorded a run that ended without its own record");
    Ok(done(true, record.summary))
}
