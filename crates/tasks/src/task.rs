//! One typed home per task: the state it serves, what that state passes it,
//! and what it answers. [`crate::dispatch`] deserialises a payload straight
//! into the task's input; a field the input does not declare, or one it
//! needs and lacks, is `Lifeboat.InvalidRequest` naming the field, before
//! anything is read or changed. The workflow generator (crates/workflow)
//! builds each Task state's payload from the same input type.

use crate::dispatch::TaskKind;
use crate::services::Services;
use lifeboat_core::LifeboatError;
use lifeboat_core::calls::ApiCalls;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;

lifeboat_core::closed_names! {
    /// record_outcome's function serves several states: the `record` field
    /// of its payload says which.
    pub enum RecordMode {
        /// RecordOutcome and RecordFailure: the run's record.
        Outcome = "outcome",
        /// RecordRefused: a trigger validate refused.
        Refused = "refused",
        /// RecordIgnored: a trigger turned away (lease held, cooldown).
        Ignored = "ignored",
        /// TakeUpKept: the kept triggers, taken up by this execution.
        TakeUpKept = "take_up_kept",
        /// ReleaseLease and ReleaseLeaseAfterFailure: the record failed; free the lease.
        ReleaseLease = "release_lease",
        /// EventBridge's rule: an execution that timed out, was aborted or failed.
        ExecutionEnd = "execution_end",
        AwaitApproval = "await_approval",
    }
}

/// The payload field that names a record_outcome mode.
pub const RECORD_MODE_FIELD: &str = "record";

/// A task of the workflow.
pub trait Task {
    /// The Lambda function that runs it.
    const KIND: TaskKind;
    /// For record_outcome's modes: the mode its payload names.
    const RECORD_MODE: Option<RecordMode> = None;
    /// What its state passes it (unknown fields refused).
    type Input: DeserializeOwned + Send;
    /// What it answers its state.
    type Output: Serialize;

    fn run(s: &Services, input: Self::Input) -> impl Future<Output = Result<Self::Output, LifeboatError>> + Send;
}

impl Services {
    /// The calls this invocation made, plus those a check loop's earlier
    /// checks carried in (their running total).
    pub fn calls_made(&self, carried: Option<&ApiCalls>) -> ApiCalls {
        let mut calls = self.counter.snapshot();
        if let Some(prev) = carried {
            calls.merge(prev);
        }
        calls
    }
}

/// Reads a payload as `T`'s input: the record mode's tag set aside, and
/// every unknown or missing field refused by name.
pub fn read_input<T: Task>(mut payload: serde_json::Value) -> Result<T::Input, LifeboatError> {
    if T::RECORD_MODE.is_some()
        && let Some(fields) = payload.as_object_mut()
    {
        fields.remove(RECORD_MODE_FIELD);
    }
    serde_json::from_value(payload).map_err(|e| {
        LifeboatError::invalid(format!(
            "{} cannot read its input ({e}): the state machine definition and the function \
             disagree; deploy them together (infra/template.yaml). Nothing was changed.",
            T::KIND.function_name()
        ))
    })
}

/// Runs `T` on a payload: its typed input in, its typed output out.
pub async fn serve<T: Task>(s: &Services, payload: serde_json::Value) -> Result<serde_json::Value, LifeboatError> {
    let input = read_input::<T>(payload)?;
    let output = T::run(s, input).await?;
    serde_json::to_value(output).map_err(|e| LifeboatError::internal(format!("cannot serialise task output: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::dispatch::{TaskKind, dispatch};
    use crate::test_support::fake_services;
    use lifeboat_core::ErrorName;
    use serde_json::json;

    #[tokio::test]
    async fn an_unknown_or_missing_field_is_invalid_request_naming_it() {
        let (s, _) = fake_services();
        let wave = json!({"run_id": "r", "phase": 0, "wave": 0, "checks": 3});
        let e = dispatch(TaskKind::ShiftDns, &s, wave).await.unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidRequest);
        assert!(e.message.contains("unknown field `checks`"), "{e}");
        assert!(e.message.contains("lifeboat-shift-dns"), "{e}");
        let e = dispatch(TaskKind::CheckDatabases, &s, json!({"run_id": "r", "phase": 0}))
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidRequest);
        assert!(e.message.contains("missing field `wave`"), "{e}");
    }

    #[tokio::test]
    async fn a_record_payload_names_its_mode_or_is_refused() {
        let (s, _) = fake_services();
        let e = dispatch(TaskKind::RecordOutcome, &s, json!({"run_id": "r"}))
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidRequest);
        assert!(e.message.contains("one of outcome, refused, ignored"), "{e}");
        assert!(e.message.contains("(it is absent)"), "{e}");
        // The old key-sniffed shape is refused, not guessed at.
        let e = dispatch(TaskKind::RecordOutcome, &s, json!({"release_lease": "r"}))
            .await
            .unwrap_err();
        assert_eq!(e.name, ErrorName::InvalidRequest);
        // A named mode runs: the lease release, of a lease nobody holds.
        let out = dispatch(
            TaskKind::RecordOutcome,
            &s,
            json!({"record": "release_lease", "run_id": "r"}),
        )
        .await
        .unwrap();
        assert_eq!(out, json!({"released": false}));
    }
}
