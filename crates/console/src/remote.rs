//! Runs on AWS Step Functions: start an execution (its name derived from the
//! trigger, so a repeated trigger starts nothing new) and follow its history
//! with the same progress lines as a local run.

use crate::CliError;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent as SfnEvent};
use aws_smithy_types_convert::date_time::DateTimeExt;
use chrono::SubsecRound;
use lifeboat_states::{EventSink, HistoryEvent};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How a remote run ended, as far as we followed it.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteRun {
    /// Finished (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) with its output or error.
    Finished {
        name: String,
        arn: String,
        status: String,
        output: Option<Value>,
        error: Option<(String, String)>,
    },
    /// Still running when we stopped following.
    Running { name: String, arn: String },
    /// The name was used by an execution with another input, or one that ended.
    Duplicate { name: String },
}

fn parse(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null)
}

/// lambda:invoke results arrive wrapped; progress wants the function's own output.
fn unwrap_payload(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("Payload") && m.contains_key("StatusCode") => {
            m.remove("Payload").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Converts Step Functions' history events to the executor's, resolving each
/// event's state through its `previousEventId` chain.
pub fn convert(events: &[SfnEvent], states: &mut HashMap<i64, String>) -> Vec<HistoryEvent> {
    let mut out = Vec::new();
    for e in events {
        let entered = e
            .state_entered_event_details()
            .map(|d| (d.name().to_string(), parse(d.input())));
        let exited = e
            .state_exited_event_details()
            .map(|d| (d.name().to_string(), parse(d.output())));
        let state = entered
            .as_ref()
            .map(|(n, _)| n.clone())
            .or_else(|| exited.as_ref().map(|(n, _)| n.clone()))
            .or_else(|| {
                e.map_iteration_started_event_details()
                    .and_then(|d| d.name().map(str::to_string))
            })
            .or_else(|| states.get(&e.previous_event_id()).cloned());
        if let Some(s) = &state {
            states.insert(e.id(), s.clone());
        }
        let details = if let Some((_, input)) = entered {
            json!({"input": input})
        } else if let Some((_, output)) = exited {
            json!({"output": output})
        } else if let Some(d) = e.task_scheduled_event_details() {
            let params = parse(Some(d.parameters()));
            json!({"resource": d.resource(), "parameters": params.get("Payload").cloned().unwrap_or(params)})
        } else if let Some(d) = e.task_succeeded_event_details() {
            json!({"output": unwrap_payload(parse(d.output()))})
        } else if let Some(d) = e.task_failed_event_details() {
            json!({"error": d.error(), "cause": d.cause()})
        } else if let Some(d) = e.lambda_function_succeeded_event_details() {
            json!({"output": parse(d.output())})
        } else if let Some(d) = e.lambda_function_failed_event_details() {
            json!({"error": d.error(), "cause": d.cause()})
        } else if let Some(d) = e.map_iteration_started_event_details() {
            json!({"index": d.index()})
        } else if let Some(d) = e.execution_failed_event_details() {
            json!({"error": d.error(), "cause": d.cause()})
        } else if let Some(d) = e.execution_succeeded_event_details() {
            json!({"output": parse(d.output())})
        } else if let Some(d) = e.execution_started_event_details() {
            json!({"input": parse(d.input())})
        } else {
            json!({})
        };
        out.push(HistoryEvent {
            id: u64::try_from(e.id()).unwrap_or(0),
            timestamp: e.timestamp().to_chrono_utc().unwrap_or_default(),
            event_type: e.r#type().as_str().to_string(),
            state,
            details,
        });
    }
    out
}

/// Starts an execution named `name` and follows it for up to `wait`.
pub async fn run_remote(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    name: &str,
    input: &Value,
    wait: Duration,
    sink: &dyn EventSink,
) -> Result<RemoteRun, CliError> {
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    let arn = match started {
        Ok(out) => out.execution_arn().to_string(),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_execution_already_exists()) => {
            return Ok(RemoteRun::Duplicate { name: name.to_string() });
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_state_machine_does_not_exist() || se.is_invalid_arn()) =>
        {
            return Err(CliError::bad_input(format!(
                "state machine {state_machine_arn} not found: check the ARN and the Region (AWS_REGION); nothing was started"
            )));
        }
        Err(e) => {
            return Err(CliError::failed(format!(
                "StartExecution failed: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )));
        }
    };
    let deadline = Instant::now() + wait;
    let mut states = HashMap::new();
    let mut seen = 0i64;
    loop {
        // Newest first, only until the events already seen: each poll reads
        // what is new, not the whole history again.
        // The paginator asks for a page only when the loop wants one.
        let mut pages = sfn
            .get_execution_history()
            .execution_arn(&arn)
            .reverse_order(true)
            .into_paginator()
            .send();
        let mut fresh: Vec<SfnEvent> = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                CliError::failed(format!(
                    "GetExecutionHistory failed: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            })?;
            fresh.extend(page.events().iter().filter(|e| e.id() > seen).cloned());
            if page.events().iter().any(|e| e.id() <= seen) {
                break;
            }
        }
        fresh.sort_by_key(|e| e.id());
        fresh.dedup_by_key(|e| e.id());
        for ev in convert(&fresh, &mut states) {
            sink.on_event(&ev);
        }
        seen = seen.max(fresh.iter().map(|e| e.id()).max().unwrap_or(0));
        let d = sfn.describe_execution().execution_arn(&arn).send().await.map_err(|e| {
            CliError::failed(format!(
                "DescribeExecution failed: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
        if d.status() != &ExecutionStatus::Running {
            let error = d
                .error()
                .map(|e| (e.to_string(), d.cause().unwrap_or_default().to_string()));
            return Ok(RemoteRun::Finished {
                name: name.to_string(),
                arn,
                status: d.status().as_str().to_string(),
                output: d.output().map(|o| parse(Some(o))),
                error,
            });
        }
        if Instant::now() >= deadline {
            return Ok(RemoteRun::Running {
                name: name.to_string(),
                arn,
            });
        }
        tokio::time::sleep(Duration::from_secs(2).min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Executions of a state machine, newest first: (name, status, start time);
/// only those in `status` if given.
pub async fn executions(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    status: Option<ExecutionStatus>,
    limit: usize,
) -> Result<Vec<(String, String, String)>, CliError> {
    // The SDK's paginator, up to `limit` executions.
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(state_machine_arn)
        .set_status_filter(status)
        .max_results(i32::try_from(limit.clamp(1, 1000)).unwrap_or(100))
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(e) = pages.next().await else { break };
        let e = e.map_err(|e| {
            CliError::failed(format!(
                "ListExecutions failed: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
        out.push((
            e.name().to_string(),
            e.status().as_str().to_string(),
            e.start_date()
                .to_chrono_utc()
                .map(|t| t.trunc_subsecs(0).to_rfc3339())
                .unwrap_or_default(),
        ));
    }
    Ok(out)
}
