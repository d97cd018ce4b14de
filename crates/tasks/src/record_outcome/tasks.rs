//! The states record_outcome's function serves, one [`Task`] each. The
//! payload's `record` field names the state's [`RecordMode`]; the generator
//! (crates/workflow) writes it from the task's type.

use super::*;
use crate::dispatch::TaskKind;
use crate::services::Services;
use crate::task::{RecordMode, Task};
use lifeboat_core::request::Action;

/// The RecordOutcome and RecordFailure states: the run's record.
pub struct RecordOutcome;

impl Task for RecordOutcome {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::Outcome);
    type Input = RecordInput;
    type Output = RunRecord;

    async fn run(s: &Services, input: RecordInput) -> Result<RunRecord, LifeboatError> {
        let ports = RecordPorts {
            alarms: Some(&*s.alarms),
            ..s.record_ports()
        };
        record_outcome(&ports, input).await
    }
}

/// The RecordRefused state: a trigger validate refused.
pub struct RecordRefused;

impl Task for RecordRefused {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::Refused);
    type Input = RefusedInput;
    type Output = RefusedRecord;

    async fn run(s: &Services, input: RefusedInput) -> Result<RefusedRecord, LifeboatError> {
        record_refused(&*s.journal, &*s.lease, input).await
    }
}

/// The RecordIgnored state: a trigger the lease or the cooldown turned away.
pub struct RecordIgnored;

impl Task for RecordIgnored {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::Ignored);
    type Input = IgnoredInput;
    type Output = IgnoredRecord;

    async fn run(s: &Services, input: IgnoredInput) -> Result<IgnoredRecord, LifeboatError> {
        record_ignored(&*s.journal, &*s.lease, input).await
    }
}

/// What TakeUpKept passes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeUpInput {
    /// The execution that takes them up (and the lease).
    pub run_id: String,
    /// The execution's clock: the moment it waited the cooldown out to.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
}

/// The TakeUpKept state: an execution that waited out the cooldown, or the
/// retry schedule's, takes up what was kept.
pub struct TakeUpKept;

impl Task for TakeUpKept {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::TakeUpKept);
    type Input = TakeUpInput;
    type Output = TakenUp;

    async fn run(s: &Services, input: TakeUpInput) -> Result<TakenUp, LifeboatError> {
        take_up_kept(s, &input.run_id, input.now.unwrap_or_else(Utc::now)).await
    }
}

/// What ReleaseLease and ReleaseLeaseAfterFailure pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseLeaseInput {
    pub run_id: String,
    /// The run's action: a failback's release starts the cooldown.
    #[serde(default)]
    pub action: Option<Action>,
}

/// What releasing the lease did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Released {
    /// False when the run no longer held it.
    pub released: bool,
}

/// The ReleaseLease and ReleaseLeaseAfterFailure states: the record could
/// not be written, so the lease is freed for the next trigger.
pub struct ReleaseLease;

impl Task for ReleaseLease {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::ReleaseLease);
    type Input = ReleaseLeaseInput;
    type Output = Released;

    async fn run(s: &Services, input: ReleaseLeaseInput) -> Result<Released, LifeboatError> {
        let cooldown = s.settings.cooldown_after(input.action);
        let released = s.lease.release(&input.run_id, Utc::now(), cooldown).await?;
        tracing::warn!(run = %input.run_id, released, "lease released after the record failed");
        Ok(Released { released })
    }
}

/// Not a state: the EventBridge rule's record of an execution that timed
/// out, was aborted or failed without its own record.
pub struct RecordExecutionEnd;

impl Task for RecordExecutionEnd {
    const KIND: TaskKind = TaskKind::RecordOutcome;
    const RECORD_MODE: Option<RecordMode> = Some(RecordMode::ExecutionEnd);
    type Input = ExecutionEndInput;
    type Output = ExecutionEndRecord;

    async fn run(s: &Services, input: ExecutionEndInput) -> Result<ExecutionEndRecord, LifeboatError> {
        record_execution_end(&s.record_ports(), &input.event).await
    }
}
