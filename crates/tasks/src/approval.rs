//! A person approves before anything changes.
//!
//! When the registry's `approval` lists the run's trigger kind, the state
//! machine stops after Validate in a callback Task (`.waitForTaskToken`):
//! [`AwaitApproval`] keeps the task token in the run's journal, with the
//! plan's summary and the deadline, and tells people how to answer (the log,
//! and the SNS topic when one is configured). `lifeboat approve RUN` and
//! `lifeboat reject RUN --reason ...` write the decision beside it and, on
//! AWS, answer the token (SendTaskSuccess / SendTaskFailure); a local run's
//! runner reads the decision from the journal and answers its executor. The
//! record reads the document back: who answered, when, and the wait.

use crate::dispatch::TaskKind;
use crate::journal::{from_text, to_text};
use crate::services::Services;
use crate::task::{RecordMode, Task};
use chrono::{DateTime, Utc};
use lifeboat_aws::ports::Journal;
use lifeboat_core::outcome::{ApprovalDecision, ApprovalOutcome};
use lifeboat_core::registry::OnTimeout;
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};

/// The run's journal document that holds the wait.
pub const APPROVAL_DOC: &str = "approval";

/// A run's wait for approval, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDoc {
    /// The callback's task token (SendTaskSuccess / SendTaskFailure answer it).
    pub token: String,
    pub requested_at: DateTime<Utc>,
    pub timeout_seconds: u32,
    pub on_timeout: OnTimeout,
    /// What the run would do: the plan's summary.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// A person's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApprovalDoc {
    /// When nobody's answer counts any more.
    pub fn deadline(&self) -> DateTime<Utc> {
        self.requested_at + chrono::Duration::seconds(i64::from(self.timeout_seconds))
    }

    /// How the wait ended, for the record: `proceeded` says whether the run
    /// went on to its phases (a timeout with `on_timeout: proceed`).
    pub fn outcome(&self, proceeded: bool, now: DateTime<Utc>) -> ApprovalOutcome {
        let (decision, decided_at, by, reason) = match &self.decision {
            Some(d) if d.approved => (
                ApprovalDecision::Approved,
                Some(d.at),
                Some(d.by.clone()),
                d.reason.clone(),
            ),
            Some(d) => (
                ApprovalDecision::Rejected,
                Some(d.at),
                Some(d.by.clone()),
                d.reason.clone(),
            ),
            None if now >= self.deadline() => {
                let decision = if proceeded {
                    ApprovalDecision::TimedOutProceeded
                } else {
                    ApprovalDecision::TimedOutRejected
                };
                (decision, Some(self.deadline()), None, None)
            }
            None => (ApprovalDecision::Unanswered, None, None, None),
        };
        ApprovalOutcome {
            decision,
            requested_at: self.requested_at,
            decided_at,
            by,
            reason,
            wait_seconds: decided_at.map(|at| (at - self.requested_at).num_milliseconds() as f64 / 1000.0),
            timeout_seconds: self.timeout_seconds,
        }
    }
}

/// The run's approval document, if it waited for one.
pub async fn load(journal: &dyn Journal, run_id: &str) -> Result<Option<ApprovalDoc>, LifeboatError> {
    let docs = journal.get_docs(run_id, APPROVAL_DOC).await?;
    docs.get(APPROVAL_DOC).map(|t| from_text(APPROVAL_DOC, t)).transpose()
}

/// Writes a person's answer beside the token; refused when the run does
/// not wait (no document, answered already, or past its deadline).
pub async fn decide(journal: &dyn Journal, run_id: &str, decision: Decision) -> Result<ApprovalDoc, LifeboatError> {
    let mut doc = load(journal, run_id).await?.ok_or_else(|| {
        LifeboatError::invalid(format!(
            "run {run_id} is not waiting for approval (no approval request in the journal): check the run id \
             with `lifeboat history`"
        ))
    })?;
    if let Some(d) = &doc.decision {
        return Err(LifeboatError::invalid(format!(
            "run {run_id} was already {} by {} at {}; nothing changed",
            if d.approved { "approved" } else { "rejected" },
            d.by,
            d.at.to_rfc3339()
        )));
    }
    if decision.at >= doc.deadline() {
        return Err(LifeboatError::invalid(format!(
            "run {run_id}'s approval timed out at {} (on_timeout: {}); nothing changed",
            doc.deadline().to_rfc3339(),
            doc.on_timeout.as_str()
        )));
    }
    doc.decision = Some(decision);
    journal
        .put_docs(run_id, &[(APPROVAL_DOC.to_string(), to_text(&doc)?)])
        .await?;
    Ok(doc)
}

/// What the callback's answer carries to the state machine (SendTaskSuccess's output).
pub fn success_output(d: &Decision) -> serde_json::Value {
    serde_json::json!({"approved_by": d.by, "approved_at": d.at, "note": d.reason})
}

/// SendTaskFailure's error and cause for a rejection.
pub fn rejection(d: &Decision) -> (ErrorName, String) {
    (
        ErrorName::ApprovalRejected,
        format!(
            "rejected by {} at {}: {}",
            d.by,
            d.at.to_rfc3339(),
            d.reason.as_deref().unwrap_or("no reason given")
        ),
    )
}

/// The AwaitApproval state's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitApprovalInput {
    pub run_id: String,
    /// `$$.Task.Token`.
    pub token: String,
    pub requested_at: DateTime<Utc>,
    pub timeout_seconds: u32,
    pub on_timeout: OnTimeout,
    pub summary: String,
}

/// What AwaitApproval answers (the state waits for the token, not for this).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AwaitApprovalOutput {
    pub waiting_until: DateTime<Utc>,
    pub notified: Option<String>,
}

/// How an operator answers run `run_id`.
pub fn how_to_answer(run_id: &str) -> String {
    format!("`lifeboat approve {run_id}` or `lifeboat reject {run_id} --reason \"...\"`")
}

/// The AwaitApproval state: keep the token, tell people.
pub struct AwaitApproval;

impl Task for AwaitApproval {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::AwaitApproval);
    type Input = AwaitApprovalInput;
    type Output = AwaitApprovalOutput;

    async fn run(s: &Services, input: AwaitApprovalInput) -> Result<AwaitApprovalOutput, LifeboatError> {
        let doc = ApprovalDoc {
            token: input.token,
            requested_at: input.requested_at,
            timeout_seconds: input.timeout_seconds,
            on_timeout: input.on_timeout,
            summary: input.summary,
            decision: None,
        };
        // A retried invoke brings a new token: the newest is the one the state waits on.
        s.journal
            .put_docs(&input.run_id, &[(APPROVAL_DOC.to_string(), to_text(&doc)?)])
            .await?;
        let until = doc.deadline();
        let message = format!(
            "lifeboat run {run} waits for approval until {until} (then: {on_timeout}).\n\nIt would: {summary}\n\nAnswer with {how}.",
            run = input.run_id,
            until = until.to_rfc3339(),
            on_timeout = doc.on_timeout.as_str(),
            summary = doc.summary,
            how = how_to_answer(&input.run_id)
        );
        tracing::warn!(run = %input.run_id, until = %until.to_rfc3339(), "waiting for approval: {}", how_to_answer(&input.run_id));
        // Telling people is best-effort: a topic that does not answer must not lose the wait.
        let notified = match &s.settings.approval_topic {
            Some(topic) => match s
                .notifier
                .publish(
                    topic,
                    &format!("lifeboat run {} waits for approval", input.run_id),
                    &message,
                )
                .await
            {
                Ok(()) => Some(topic.clone()),
                Err(e) => {
                    tracing::error!(run = %input.run_id, %topic, error = %e, "could not publish the approval request: answer it from the CLI");
                    None
                }
            },
            None => None,
        };
        Ok(AwaitApprovalOutput {
            waiting_until: until,
            notified,
        })
    }
}
