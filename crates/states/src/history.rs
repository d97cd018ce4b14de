//! Execution history events, named as Step Functions' GetExecutionHistory names them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub timestamp: DateTime<Utc>,
    /// e.g. `ExecutionStarted`, `TaskStateEntered`, `TaskFailed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The state the event is about, if any.
    pub state: Option<String>,
    /// Event details: input/output, error/cause, resource, ...
    pub details: Value,
}

/// Receives every history event as it happens (the CLI's progress, the journal's timings).
pub trait EventSink: Send + Sync {
    fn on_event(&self, event: &HistoryEvent);
}

impl<F: Fn(&HistoryEvent) + Send + Sync> EventSink for F {
    fn on_event(&self, event: &HistoryEvent) {
        self(event)
    }
}
