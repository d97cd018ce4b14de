//! Runs a task by kind: the function's [`TaskKind`] (and, for
//! record_outcome, the payload's mode) picks the [`crate::task::Task`].

use crate::check_dns_sync::CheckDnsSync;
use crate::record_outcome::{
    RecordExecutionEnd, RecordIgnored, RecordOutcome, RecordRefused, ReleaseLease, TakeUpKept,
};
use crate::services::Services;
use crate::task::{RECORD_MODE_FIELD, RecordMode, serve};
use crate::validate::Validate;
use crate::wave::{CheckDatabases, PromoteDatabases, RunHooks, ScaleCapacity, ShiftDns, VerifyApps};
use lifeboat_core::LifeboatError;
use serde_json::Value;

lifeboat_core::closed_names! {
    /// The workflow's Lambda functions, each named after the state it serves
    /// (record_outcome serves the record's states), all run by the one
    /// bootstrap (`src/bin/lifeboat_task.rs`), which `LIFEBOAT_TASK` points here.
    pub enum TaskKind {
        Validate = "validate",
        PromoteDatabases = "promote_databases",
        CheckDatabases = "check_databases",
        ScaleCapacity = "scale_capacity",
        RunHooks = "run_hooks",
        ShiftDns = "shift_dns",
        CheckDnsSync = "check_dns_sync",
        VerifyApps = "verify_apps",
        RecordOutcome = "record_outcome",
    }
}

impl TaskKind {
    /// Its name as its function's `LIFEBOAT_TASK` gives it (one bootstrap serves every task).
    pub fn binary(self) -> &'static str {
        self.as_str()
    }

    /// The Lambda function's name when run locally (and its default name on
    /// AWS): `lifeboat-shift-dns`.
    pub fn function_name(self) -> String {
        format!("lifeboat-{}", self.as_str().replace('_', "-"))
    }

    /// The `${...}` substitution the definition uses for this function's ARN:
    /// `ShiftDnsFunctionArn`.
    pub fn placeholder(self) -> String {
        format!("{self:?}FunctionArn")
    }
}

/// Runs one task invocation: the payload read as the task's typed input,
/// its typed output answered. record_outcome's payload names its mode in
/// its `record` field.
pub async fn dispatch(kind: TaskKind, s: &Services, input: Value) -> Result<Value, LifeboatError> {
    match kind {
        TaskKind::Validate => serve::<Validate>(s, input).await,
        TaskKind::PromoteDatabases => serve::<PromoteDatabases>(s, input).await,
        TaskKind::CheckDatabases => serve::<CheckDatabases>(s, input).await,
        TaskKind::ScaleCapacity => serve::<ScaleCapacity>(s, input).await,
        TaskKind::RunHooks => serve::<RunHooks>(s, input).await,
        TaskKind::ShiftDns => serve::<ShiftDns>(s, input).await,
        TaskKind::CheckDnsSync => serve::<CheckDnsSync>(s, input).await,
        TaskKind::VerifyApps => serve::<VerifyApps>(s, input).await,
        TaskKind::RecordOutcome => match record_mode(&input)? {
            RecordMode::Outcome => serve::<RecordOutcome>(s, input).await,
            RecordMode::Refused => serve::<RecordRefused>(s, input).await,
            RecordMode::Ignored => serve::<RecordIgnored>(s, input).await,
            RecordMode::TakeUpKept => serve::<TakeUpKept>(s, input).await,
            RecordMode::ReleaseLease => serve::<ReleaseLease>(s, input).await,
            RecordMode::ExecutionEnd => serve::<RecordExecutionEnd>(s, input).await,
            RecordMode::AwaitApproval => serve::<crate::approval::AwaitApproval>(s, input).await,
        },
    }
}

/// The mode a record_outcome payload names.
fn record_mode(input: &Value) -> Result<RecordMode, LifeboatError> {
    let named = input.get(RECORD_MODE_FIELD).and_then(Value::as_str);
    named.and_then(RecordMode::parse).ok_or_else(|| {
        LifeboatError::invalid(format!(
            "{} needs its payload's \"{RECORD_MODE_FIELD}\" to be one of {} (it is {}): the state \
             machine definition and the function disagree; deploy them together. Nothing was changed.",
            TaskKind::RecordOutcome.function_name(),
            RecordMode::NAMES.join(", "),
            input
                .get(RECORD_MODE_FIELD)
                .map_or_else(|| "absent".to_string(), Value::to_string),
        ))
    })
}
