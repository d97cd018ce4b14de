//! Retry policies, each declared once by name, and the two kinds of Task
//! this workflow runs (a Lambda function, an EventBridge PutEvents).
//!
//! Who gets which policy:
//! - the states that take a trigger in or keep it ([`Policy::KeepsTrigger`],
//!   [`Policy::Validate`]) wait out Lambda's throttling longest, about a
//!   quarter of an hour, so no alarm is lost to a burst;
//! - a wave's steps ([`Policy::WaveStep`], [`Policy::ShiftDns`]) retry
//!   briefly: each has its own check loop, and the wave's rollback behind it;
//! - the record ([`Policy::Record`]) retries for minutes: the outcome must
//!   land and the lease be released;
//! - publishing ([`Policy::Publish`]) a few times: a lost event does not
//!   fail the run.

use lifeboat_core::ErrorName;
use lifeboat_states::LAMBDA_INVOKE;
use lifeboat_states::definition::{Retrier, TaskState};
use lifeboat_tasks::task::{RECORD_MODE_FIELD, Task};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A Lambda task's limit: longer than the functions' own timeout (300 s in
/// infra/template.yaml; the infra test holds them apart), so a slow function
/// ends by Lambda's timeout, which its retriers know, and not the state's.
pub const TASK_TIMEOUT_SECONDS: u64 = 330;

/// PutEvents answers in well under a second; a stuck call is cut short.
pub const PUBLISH_TIMEOUT_SECONDS: u64 = 30;

/// Lambda's own transient errors on an invoke (the service, the SDK's
/// client, throttling, the invoke call's timeout): the function never ran,
/// or did not answer.
const LAMBDA_TRANSIENT: [&str; 5] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
];

fn rule(errors: &[&str], interval: u64, attempts: u32, max_delay: Option<u64>, jitter: bool) -> Retrier {
    Retrier {
        error_equals: errors.iter().map(|e| e.to_string()).collect(),
        interval_seconds: Some(interval),
        max_attempts: Some(attempts),
        backoff_rate: Some(2.0),
        max_delay_seconds: max_delay,
        jitter_strategy: jitter.then(|| "FULL".to_string()),
        comment: None,
    }
}

/// Lambda throttling, waited out for about a quarter of an hour (30 tries
/// backing off to a minute).
fn lambda_throttling_waited_out() -> Retrier {
    rule(&["Lambda.TooManyRequestsException"], 2, 30, Some(60), true)
}

/// Lambda's transient errors for minutes (12 tries backing off to a minute).
fn lambda_transient_for_minutes() -> Retrier {
    rule(&LAMBDA_TRANSIENT, 2, 12, Some(60), true)
}

/// Lambda's transient errors, three quick tries.
fn lambda_transient_briefly() -> Retrier {
    rule(&LAMBDA_TRANSIENT, 1, 3, None, true)
}

/// AWS throttling our calls that outlasted the SDK's own retries, for minutes.
fn throttled_for_minutes() -> Retrier {
    rule(&[ErrorName::Throttled.as_str()], 2, 10, Some(60), true)
}

/// The same, briefly: a wave's step has its own loop and rollback.
fn throttled_briefly() -> Retrier {
    rule(&[ErrorName::Throttled.as_str()], 2, 6, Some(30), true)
}

/// An unexpected failure of ours, once more.
fn internal_once_more() -> Retrier {
    rule(&[ErrorName::Internal.as_str()], 2, 2, None, false)
}

/// Not ready yet (the recovery Region, a record's change): a few tries over
/// about a minute.
fn not_ready_for_a_minute() -> Retrier {
    rule(&[ErrorName::NotReady.as_str()], 5, 4, Some(60), true)
}

/// A named retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// RecordRefused, RecordIgnored, TakeUpKept: a trigger is never lost.
    KeepsTrigger,
    /// Validate: as KeepsTrigger, and a recovery Region not ready yet.
    Validate,
    /// A wave's steps.
    WaveStep,
    /// ShiftDns: as WaveStep, and a change not ready yet.
    ShiftDns,
    /// Recording the outcome and releasing the lease.
    Record,
    /// Publishing the outcome event.
    Publish,
}

impl Policy {
    /// The policy's rules, in the order Step Functions tries them.
    pub fn rules(self) -> Vec<Retrier> {
        let keeps_trigger = || {
            vec![
                lambda_throttling_waited_out(),
                lambda_transient_for_minutes(),
                throttled_for_minutes(),
                internal_once_more(),
            ]
        };
        let wave_step = || vec![lambda_transient_briefly(), throttled_briefly(), internal_once_more()];
        match self {
            Policy::KeepsTrigger => keeps_trigger(),
            Policy::Validate => [keeps_trigger(), vec![not_ready_for_a_minute()]].concat(),
            Policy::WaveStep => wave_step(),
            Policy::ShiftDns => [wave_step(), vec![not_ready_for_a_minute()]].concat(),
            Policy::Record => vec![
                lambda_transient_for_minutes(),
                throttled_for_minutes(),
                internal_once_more(),
            ],
            Policy::Publish => vec![rule(&["States.ALL"], 1, 3, None, true)],
        }
    }
}

/// A Task invoking `T`'s Lambda function with `payload`. Every payload
/// field must be one `T`'s input declares (the task refuses any other), and a
/// record_outcome mode's tag is added from `T`; a mistake panics, so the
/// generator's tests show it at once.
pub fn lambda<T: Task>(payload: Value) -> TaskState {
    let Value::Object(mut fields) = payload else {
        panic!("{}'s payload must be an object", std::any::type_name::<T>())
    };
    let declared = crate::fields::fields_of::<T::Input>();
    for key in fields.keys() {
        let field = key.strip_suffix(".$").unwrap_or(key);
        assert!(
            declared.contains(&field),
            "{}'s payload passes {field:?}, which its input does not declare ({declared:?})",
            std::any::type_name::<T>()
        );
    }
    if let Some(mode) = T::RECORD_MODE {
        fields.insert(RECORD_MODE_FIELD.into(), json!(mode));
    }
    TaskState {
        kind: "Task".into(),
        resource: LAMBDA_INVOKE.into(),
        timeout_seconds: Some(TASK_TIMEOUT_SECONDS),
        parameters: Some(json!({
            "FunctionName": format!("${{{}}}", T::KIND.placeholder()),
            "Payload": fields
        })),
        ..Default::default()
    }
}

/// A callback Task (`.waitForTaskToken`) invoking `T`'s function with
/// `payload` (checked as [`lambda`] does); the state waits for the token's
/// answer, up to the seconds at `timeout_path`, and that answer is its result.
pub fn lambda_callback<T: Task>(payload: Value, timeout_path: &str) -> TaskState {
    TaskState {
        resource: format!("{LAMBDA_INVOKE}{}", lifeboat_states::callback::WAIT_FOR_TASK_TOKEN),
        timeout_seconds: None,
        timeout_seconds_path: Some(timeout_path.to_string()),
        ..lambda::<T>(payload)
    }
}

/// A ResultSelector taking every field of the task's output `T` from the
/// function's answer (the API calls a task made among them, where its
/// output has them).
pub fn select_output<T: DeserializeOwned>() -> Option<Value> {
    Some(Value::Object(selection::<T>()))
}

fn selection<T: DeserializeOwned>() -> serde_json::Map<String, Value> {
    crate::fields::fields_of::<T>()
        .iter()
        .map(|f| (format!("{f}.$"), json!(format!("$.Payload.{f}"))))
        .collect()
}

/// A Task putting events on EventBridge (`parameters` holds the Entries).
pub fn put_events(parameters: Value) -> TaskState {
    TaskState {
        kind: "Task".into(),
        resource: "arn:aws:states:::events:putEvents".into(),
        timeout_seconds: Some(PUBLISH_TIMEOUT_SECONDS),
        parameters: Some(parameters),
        ..Default::default()
    }
}
