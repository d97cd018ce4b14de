//! The callback pattern (`.waitForTaskToken`), as Step Functions' "Wait for
//! a Callback with the Task Token" page and the SendTaskSuccess,
//! SendTaskFailure and SendTaskHeartbeat API references say: the Task
//! state puts a fresh token in the context object (`$$.Task.Token`), calls
//! its resource (which hands the token on), then waits until someone
//! answers with that token. SendTaskSuccess's output is the task's result;
//! SendTaskFailure's error and cause fail it; SendTaskHeartbeat resets the
//! heartbeat clock. TimeoutSeconds bounds the whole wait (`States.Timeout`),
//! HeartbeatSeconds the time between heartbeats (`States.HeartbeatTimeout`).
//! A token nobody waits for (unknown, or already answered) is
//! `TaskDoesNotExist`.
//!
//! The limits are read on the executor's clock: on a virtual clock the wait
//! lasts until an answer comes or the clock is moved past a limit.

use crate::clock::Clock;
use crate::error::ExecError;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// The suffix that turns a Task's resource into a callback.
pub const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// How often a waiting task looks at the clock for its limits.
const CLOCK_LOOK: std::time::Duration = std::time::Duration::from_millis(20);

/// The resource a callback Task calls (`arn:aws:states:::lambda:invoke` for
/// `arn:aws:states:::lambda:invoke.waitForTaskToken`), or None.
pub fn callback_base(resource: &str) -> Option<&str> {
    resource.strip_suffix(WAIT_FOR_TASK_TOKEN)
}

/// An answer to a waiting task.
#[derive(Debug)]
pub(crate) enum Answer {
    Success(Value),
    Failure(ExecError),
    Heartbeat,
}

/// No task waits for this token: unknown, or answered already.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TaskDoesNotExist: no task is waiting for token {0}")]
pub struct TaskDoesNotExist(pub String);

/// The tokens of the tasks waiting for a callback, and how to answer them
/// (what SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat do on AWS).
#[derive(Debug, Default)]
pub struct TaskTokens {
    waiting: Mutex<HashMap<String, mpsc::UnboundedSender<Answer>>>,
}

impl TaskTokens {
    /// A token no other task has.
    pub(crate) fn issue(&self) -> String {
        format!("{:032x}{:032x}", fastrand::u128(..), fastrand::u128(..))
    }

    pub(crate) fn register(&self, token: &str) -> mpsc::UnboundedReceiver<Answer> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().insert(token.to_string(), tx);
        rx
    }

    pub(crate) fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Answer>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn answer(&self, token: &str, answer: Answer, last: bool) -> Result<(), TaskDoesNotExist> {
        let mut waiting = self.lock();
        let sent = waiting.get(token).map(|tx| tx.send(answer).is_ok()).unwrap_or(false);
        if !sent || last {
            waiting.remove(token);
        }
        if sent {
            Ok(())
        } else {
            Err(TaskDoesNotExist(token.to_string()))
        }
    }

    /// SendTaskSuccess: `output` becomes the task's result.
    pub fn succeed(&self, token: &str, output: Value) -> Result<(), TaskDoesNotExist> {
        self.answer(token, Answer::Success(output), true)
    }

    /// SendTaskFailure: the task fails with `error` and `cause`.
    pub fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskDoesNotExist> {
        self.answer(token, Answer::Failure(ExecError::new(error, cause)), true)
    }

    /// SendTaskHeartbeat: the task is still being worked on.
    pub fn heartbeat(&self, token: &str) -> Result<(), TaskDoesNotExist> {
        self.answer(token, Answer::Heartbeat, false)
    }

    /// The tokens tasks wait for now.
    pub fn waiting(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self.lock().keys().cloned().collect();
        tokens.sort();
        tokens
    }
}

/// Waits for the answer to a task's token, within its limits (seconds) on `clock`.
pub(crate) async fn wait(
    clock: &dyn Clock,
    answers: &mut mpsc::UnboundedReceiver<Answer>,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
) -> Result<Value, ExecError> {
    let after = |from: DateTime<Utc>, s: Option<u64>| {
        s.map(|s| from + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX)))
    };
    let deadline = after(clock.now(), timeout_seconds);
    let mut heartbeat_due = after(clock.now(), heartbeat_seconds);
    loop {
        tokio::select! {
            biased;
            answer = answers.recv() => match answer {
                Some(Answer::Success(output)) => return Ok(output),
                Some(Answer::Failure(e)) => return Err(e),
                Some(Answer::Heartbeat) => heartbeat_due = after(clock.now(), heartbeat_seconds),
                None => return Err(ExecError::runtime("the task's callback was dropped unanswered")),
            },
            () = tokio::time::sleep(CLOCK_LOOK) => {}
        }
        let now = clock.now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(ExecError::new(
                "States.Timeout",
                format!(
                    "no callback within the task's TimeoutSeconds ({}s)",
                    timeout_seconds.unwrap_or_default()
                ),
            ));
        }
        if heartbeat_due.is_some_and(|d| now >= d) {
            return Err(ExecError::new(
                "States.HeartbeatTimeout",
                format!(
                    "no heartbeat within the task's HeartbeatSeconds ({}s)",
                    heartbeat_seconds.unwrap_or_default()
                ),
            ));
        }
    }
}
