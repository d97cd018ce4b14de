//! Runs a task by kind: parse its input, call the task fn over the ports,
//! and put the invocation's AWS call counts in its output.

use crate::contract::WaveStep;
use crate::record_outcome::{
    IgnoredInput, RecordInput, RecordPorts, RefusedInput, record_ignored, record_outcome, record_refused,
};
use crate::services::Services;
use crate::validate::ValidateInput;
use crate::wait_dns::{WaitDnsInput, wait_dns};
use crate::wave::{WaveInput, check_wave, promote_wave, shift_wave, verify_wave};
use lifeboat_core::LifeboatError;
use lifeboat_core::calls::ApiCalls;
use serde::de::DeserializeOwned;
use serde_json::Value;

lifeboat_core::closed_names! {
    /// The workflow's tasks: one Lambda function each, all served by the one
    /// bootstrap (`src/bin/lifeboat_task.rs`), which `LIFEBOAT_TASK` points here.
    pub enum TaskKind {
        Validate = "validate",
        PromoteDatabase = "promote_database",
        CheckDatabase = "check_database",
        ShiftDns = "shift_dns",
        WaitDns = "wait_dns",
        VerifyTraffic = "verify_traffic",
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

fn parse<T: DeserializeOwned>(kind: TaskKind, input: &Value) -> Result<T, LifeboatError> {
    serde_json::from_value(input.clone()).map_err(|e| {
        LifeboatError::internal(format!(
            "{} got input it cannot read ({e}): the state machine definition and the task disagree",
            kind.function_name()
        ))
    })
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, LifeboatError> {
    serde_json::to_value(v).map_err(|e| LifeboatError::internal(format!("cannot serialise task output: {e}")))
}

/// The calls this invocation made; a check loop's carry on the running
/// total its previous check passed in (`api_calls` in its input).
fn calls_so_far(kind: TaskKind, s: &Services, input: &Value) -> ApiCalls {
    let mut calls = s.counter.snapshot();
    if matches!(
        kind,
        TaskKind::VerifyTraffic | TaskKind::CheckDatabase | TaskKind::WaitDns
    ) && let Some(prev) = input
        .get("api_calls")
        .and_then(|v| serde_json::from_value::<ApiCalls>(v.clone()).ok())
    {
        calls.merge(&prev);
    }
    calls
}

/// Runs one task invocation. Every output but the record's carries the
/// calls it made, in its typed `api_calls`.
pub async fn dispatch(kind: TaskKind, s: &Services, input: Value) -> Result<Value, LifeboatError> {
    let with_calls = |mut step: WaveStep| {
        step.api_calls = calls_so_far(kind, s, &input);
        to_value(step)
    };
    match kind {
        TaskKind::Validate => {
            let i: ValidateInput = parse(kind, &input)?;
            let mut answer = crate::validate::run(s, i).await?;
            answer.api_calls = calls_so_far(kind, s, &input);
            to_value(answer)
        }
        TaskKind::PromoteDatabase => {
            let i: WaveInput = parse(kind, &input)?;
            with_calls(promote_wave(s, chrono::Utc::now(), i).await?)
        }
        TaskKind::CheckDatabase => {
            let i: WaveInput = parse(kind, &input)?;
            // Writable-at is stamped on the execution's clock (the report's timeline).
            let at = i.entered_at.unwrap_or_else(chrono::Utc::now);
            with_calls(check_wave(s, at, i).await?)
        }
        TaskKind::ShiftDns => {
            let i: WaveInput = parse(kind, &input)?;
            with_calls(shift_wave(s, i).await?)
        }
        TaskKind::WaitDns => {
            let i: WaitDnsInput = parse(kind, &input)?;
            let mut out = wait_dns(&*s.dns_write, i).await?;
            out.api_calls = calls_so_far(kind, s, &input);
            to_value(out)
        }
        TaskKind::VerifyTraffic => {
            let i: WaveInput = parse(kind, &input)?;
            let at = i.entered_at.unwrap_or_else(chrono::Utc::now);
            with_calls(verify_wave(s, at, i).await?)
        }
        TaskKind::RecordOutcome if input.get("release_lease").is_some() => {
            // RecordOutcome itself failed: free the lease so the next trigger can run.
            let run_id = input["release_lease"].as_str().unwrap_or_default();
            let action = input
                .get("action")
                .and_then(|a| serde_json::from_value::<lifeboat_core::request::Action>(a.clone()).ok());
            let cooldown = s.settings.cooldown_after(action);
            let released = s.lease.release(run_id, chrono::Utc::now(), cooldown).await?;
            tracing::warn!(run = %run_id, released, "lease released after the record failed");
            Ok(serde_json::json!({"released": released}))
        }
        TaskKind::RecordOutcome
            if input.get("detail-type").and_then(Value::as_str)
                == Some(crate::record_outcome::EXECUTION_STATUS_CHANGE) =>
        {
            let counter = s.counter.clone();
            let own_calls = move || counter.snapshot();
            to_value(crate::record_outcome::record_execution_end(&s.record_ports(&own_calls), &input).await?)
        }
        TaskKind::RecordOutcome if input.get("ignored").is_some() => {
            let i: IgnoredInput = parse(kind, &input)?;
            to_value(record_ignored(&*s.journal, &*s.lease, i).await?)
        }
        TaskKind::RecordOutcome if input.get("take_up_after").is_some() => {
            // An execution that waited out the cooldown, or the retry schedule's: take up what was kept.
            let run_id = input["take_up_after"].as_str().unwrap_or_default();
            // The execution's clock: the moment it waited the cooldown out to.
            let now = input
                .get("now")
                .and_then(|n| serde_json::from_value(n.clone()).ok())
                .unwrap_or_else(chrono::Utc::now);
            to_value(crate::record_outcome::take_up_kept(s, run_id, now).await?)
        }
        TaskKind::RecordOutcome if input.get("refused").is_some() => {
            let i: RefusedInput = parse(kind, &input)?;
            to_value(record_refused(&*s.journal, &*s.lease, i).await?)
        }
        TaskKind::RecordOutcome => {
            let i: RecordInput = parse(kind, &input)?;
            let counter = s.counter.clone();
            let own_calls = move || counter.snapshot();
            let ports = RecordPorts {
                alarms: Some(&*s.alarms),
                ..s.record_ports(&own_calls)
            };
            to_value(record_outcome(&ports, i).await?)
        }
    }
}
