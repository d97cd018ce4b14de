//! Runs a checked definition: input/output processing, retries, catches,
//! Parallel and Map concurrency, on the executor's clock, reporting history
//! events as it goes.

use crate::callback::{self, TaskTokens, callback_base};
use crate::choice;
use crate::clock::Clock;
use crate::definition::{Catcher, PathSpec, Retrier, State, StateMachine};
use crate::error::{ExecError, LoadError};
use crate::history::{EventSink, HistoryEvent};
use crate::paths;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The optimized Lambda integration's resource.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// An in-process stand-in for a Lambda function (or any task resource).
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Runs the task. An error's `error` is the name Retry/Catch match on.
    async fn call(&self, input: Value) -> Result<Value, ExecError>;
}

/// A handler made from an async closure.
pub struct FnHandler<F>(pub F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(Value) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<Value, ExecError>> + Send,
{
    async fn call(&self, input: Value) -> Result<Value, ExecError> {
        (self.0)(input).await
    }
}

/// Wraps an async closure as a shareable handler.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, ExecError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
}

/// The result of one execution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Execution {
    pub name: String,
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<ExecError>,
    pub start_date: DateTime<Utc>,
    pub stop_date: DateTime<Utc>,
    pub events: Vec<HistoryEvent>,
}

/// Runs state machines with registered task handlers.
pub struct Executor {
    handlers: HashMap<String, Arc<dyn TaskHandler>>,
    /// The callbacks waiting for their token's answer.
    tokens: Arc<TaskTokens>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
    state_machine_arn: String,
    max_history_events: usize,
}

/// A Standard execution's history is at most 25,000 events; AWS fails the
/// execution when it would grow past them.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Executor {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Executor {
            handlers: HashMap::new(),
            tokens: Arc::default(),
            clock,
            sink: None,
            state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:local".into(),
            max_history_events: MAX_HISTORY_EVENTS,
        }
    }

    /// A lower history limit (tests: to reach it without 25,000 events).
    pub fn with_max_history_events(mut self, max: usize) -> Self {
        self.max_history_events = max;
        self
    }

    /// Registers a handler for a Resource (or a lambda:invoke FunctionName).
    /// A Lambda function ARN also resolves to the handler registered under its bare name.
    pub fn register(&mut self, resource: impl Into<String>, handler: Arc<dyn TaskHandler>) -> &mut Self {
        self.handlers.insert(resource.into(), handler);
        self
    }

    pub fn with_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    pub fn with_state_machine_arn(mut self, arn: impl Into<String>) -> Self {
        self.state_machine_arn = arn.into();
        self
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The callbacks' tokens: how a task waiting for one is answered
    /// (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat).
    pub fn task_tokens(&self) -> Arc<TaskTokens> {
        self.tokens.clone()
    }

    /// Checks every static Task resource has a handler (load time).
    pub fn check_handlers(&self, machine: &StateMachine) -> Result<(), LoadError> {
        let missing: Vec<String> = crate::definition::task_resources(machine)
            .into_iter()
            .filter(|r| self.resolve(r).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            let mut known: Vec<&String> = self.handlers.keys().collect();
            known.sort();
            Err(LoadError(format!(
                "no task handler for resource(s) {}; registered: {}",
                missing.join(", "),
                known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }

    fn resolve(&self, key: &str) -> Option<Arc<dyn TaskHandler>> {
        if let Some(h) = self.handlers.get(key) {
            return Some(h.clone());
        }
        // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        let name = key.split(":function:").nth(1)?.split(':').next()?;
        self.handlers.get(name).cloned()
    }

    /// Runs `machine` to completion.
    pub async fn run(&self, machine: &StateMachine, input: Value, name: &str) -> Execution {
        let start = self.clock.now();
        let run = Run {
            exec: self,
            events: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            start,
            deadline: machine
                .timeout_seconds
                .map(|s| start + chrono::Duration::seconds(s as i64)),
        };
        let execution_arn = format!(
            "{}:{name}",
            self.state_machine_arn.replace(":stateMachine:", ":execution:")
        );
        let ctx = json!({
            "Execution": {
                "Id": execution_arn,
                "Name": name,
                "Input": input,
                "StartTime": start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RoleArn": "arn:aws:iam::000000000000:role/local",
            },
            "StateMachine": {
                "Id": self.state_machine_arn,
                "Name": self.state_machine_arn.rsplit(':').next().unwrap_or("local"),
            },
        });
        run.emit("ExecutionStarted", None, json!({"input": input}));
        let result = run.machine(machine, input, ctx).await;
        let (status, output, error) = match result {
            Ok(out) => {
                run.emit("ExecutionSucceeded", None, json!({"output": out}));
                (ExecutionStatus::Succeeded, Some(out), None)
            }
            Err(e) if e.error == "States.Timeout" && e.cause.starts_with("execution") => {
                run.emit("ExecutionTimedOut", None, e.to_value());
                (ExecutionStatus::TimedOut, None, Some(e))
            }
            Err(e) => {
                run.emit("ExecutionFailed", None, json!({"error": e.error, "cause": e.cause}));
                (ExecutionStatus::Failed, None, Some(e))
            }
        };
        let events = run.events.into_inner().unwrap_or_else(|e| e.into_inner());
        Execution {
            name: name.to_string(),
            status,
            output,
            error,
            start_date: start,
            stop_date: self.clock.now(),
            events,
        }
    }
}

struct Run<'e> {
    exec: &'e Executor,
    events: Mutex<Vec<HistoryEvent>>,
    next_id: AtomicU64,
    start: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
}

/// Where a state sends its output.
struct Transition {
    output: Value,
    next: Option<String>,
}

fn is_lambda_arn(resource: &str) -> bool {
    resource.starts_with("arn:aws:lambda:") && resource.contains(":function:")
}

fn error_matches(names: &[String], error: &str) -> bool {
    names.iter().any(|n| {
        n == error
            || (n == "States.ALL" && error != "States.Runtime" && error != "States.DataLimitExceeded")
            || (n == "States.TaskFailed" && error != "States.Timeout" && error != "States.Runtime")
    })
}

impl Run<'_> {
    fn emit(&self, event_type: &str, state: Option<&str>, details: Value) {
        let ev = HistoryEvent {
            id: self.next_id.fetch_add(1, Ordering::SeqCst),
            timestamp: self.exec.clock.now(),
            event_type: event_type.to_string(),
            state: state.map(str::to_string),
            details,
        };
        if let Some(sink) = &self.exec.sink {
            sink.on_event(&ev);
        }
        self.events.lock().unwrap_or_else(|e| e.into_inner()).push(ev);
    }

    fn machine<'a>(&'a self, m: &'a StateMachine, input: Value, ctx: Value) -> BoxFuture<'a, Result<Value, ExecError>> {
        Box::pin(async move {
            let mut current = m.start_at.clone();
            let mut input = input;
            loop {
                // States.Runtime: no Retry or Catch sees it, as on AWS.
                let events = self.events.lock().map(|e| e.len()).unwrap_or(0);
                if events >= self.exec.max_history_events {
                    return Err(ExecError::new(
                        "States.Runtime",
                        format!(
                            "the execution reached the maximum number of history events ({}) at state {current}",
                            self.exec.max_history_events
                        ),
                    ));
                }
                if let Some(deadline) = self.deadline
                    && self.exec.clock.now() > deadline
                {
                    return Err(ExecError::new(
                        "States.Timeout",
                        format!("execution timed out after {}s", (deadline - self.start).num_seconds()),
                    ));
                }
                let state = m
                    .states
                    .get(&current)
                    .ok_or_else(|| ExecError::runtime(format!("no state named {current}")))?;
                let kind = state.type_name();
                self.emit(&format!("{kind}StateEntered"), Some(&current), json!({"input": input}));
                let mut ctx = ctx.clone();
                ctx["State"] = json!({
                    "Name": current,
                    "EnteredTime": self.exec.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "RetryCount": 0,
                });
                let t = self.state(&current, state, input, &ctx).await?;
                check_data_size(&current, &t.output)?;
                self.emit(
                    &format!("{kind}StateExited"),
                    Some(&current),
                    json!({"output": t.output}),
                );
                match t.next {
                    Some(n) => {
                        current = n;
                        input = t.output;
                    }
                    None => return Ok(t.output),
                }
            }
        })
    }

    async fn state(&self, name: &str, state: &State, raw: Value, ctx: &Value) -> Result<Transition, ExecError> {
        match state {
            State::Pass(p) => {
                let effective = self.input(&p.input_path, &p.parameters, &raw, ctx)?;
                let result = p.result.clone().unwrap_or(effective);
                let out = apply_result_path(&p.result_path, raw, result)?;
                Ok(Transition {
                    output: apply_path(&p.output_path, out, ctx)?,
                    next: p.next.clone(),
                })
            }
            State::Succeed(s) => {
                let effective = apply_path(&s.input_path, raw, ctx)?;
                Ok(Transition {
                    output: apply_path(&s.output_path, effective, ctx)?,
                    next: None,
                })
            }
            State::Fail(f) => {
                let text = |lit: &Option<String>, path: &Option<String>, default: &str| -> Result<String, ExecError> {
                    if let Some(p) = path {
                        let v = paths::eval_expression(p, &raw, ctx)?;
                        return Ok(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                    }
                    Ok(lit.clone().unwrap_or_else(|| default.to_string()))
                };
                let error = text(&f.error, &f.error_path, "States.Fail")?;
                let cause = text(&f.cause, &f.cause_path, "")?;
                Err(ExecError::new(error, cause))
            }
            State::Wait(w) => {
                let effective = apply_path(&w.input_path, raw.clone(), ctx)?;
                let now = self.exec.clock.now();
                let until = if let Some(s) = w.seconds {
                    now + chrono::Duration::seconds(s as i64)
                } else if let Some(p) = &w.seconds_path {
                    let v = paths::read(p, &effective, ctx)?;
                    let s = v.as_u64().ok_or_else(|| {
                        ExecError::runtime(format!(
                            "SecondsPath '{p}' must point to a non-negative integer, not {v}"
                        ))
                    })?;
                    now + chrono::Duration::seconds(s as i64)
                } else {
                    let ts = match (&w.timestamp, &w.timestamp_path) {
                        (Some(t), _) => t.clone(),
                        (_, Some(p)) => {
                            let v = paths::read(p, &effective, ctx)?;
                            v.as_str().map(str::to_string).ok_or_else(|| {
                                ExecError::runtime(format!(
                                    "TimestampPath '{p}' must point to a timestamp string, not {v}"
                                ))
                            })?
                        }
                        _ => return Err(ExecError::runtime("Wait state without a duration")),
                    };
                    DateTime::parse_from_rfc3339(&ts)
                        .map_err(|e| ExecError::runtime(format!("invalid timestamp '{ts}': {e}")))?
                        .with_timezone(&Utc)
                };
                if until > now {
                    self.exec.clock.sleep((until - now).to_std().unwrap_or_default()).await;
                }
                Ok(Transition {
                    output: apply_path(&w.output_path, effective, ctx)?,
                    next: w.next.clone(),
                })
            }
            State::Choice(c) => {
                let effective = apply_path(&c.input_path, raw, ctx)?;
                let mut next = None;
                for rule in &c.choices {
                    if choice::evaluate(rule, &effective, ctx)? {
                        next = rule.get("Next").and_then(Value::as_str).map(str::to_string);
                        break;
                    }
                }
                let next = next.or_else(|| c.default.clone()).ok_or_else(|| {
                    ExecError::new(
                        "States.NoChoiceMatched",
                        format!("no choice rule of state \"{name}\" matched and there is no Default"),
                    )
                })?;
                Ok(Transition {
                    output: apply_path(&c.output_path, effective, ctx)?,
                    next: Some(next),
                })
            }
            State::Task(t) => {
                // A callback's token is in the context object its Parameters read.
                let with_token;
                let ctx = match callback_base(&t.resource) {
                    Some(_) => {
                        let mut c = ctx.clone();
                        c["Task"] = json!({"Token": self.exec.tokens.issue()});
                        with_token = c;
                        &with_token
                    }
                    None => ctx,
                };
                // TimeoutSecondsPath reads the state's input (after InputPath), not the Parameters it builds.
                let state_input = apply_path(&t.input_path, raw.clone(), ctx)?;
                let state_input = &state_input;
                let run = |effective: Value, ctx: Value| async move {
                    self.task(name, t, effective, state_input, &ctx).await
                };
                self.with_retry(
                    name,
                    &t.input_path,
                    &t.parameters,
                    &t.result_selector,
                    &t.result_path,
                    &t.output_path,
                    &t.retry,
                    &t.catch,
                    t.next.clone(),
                    raw,
                    ctx,
                    run,
                )
                .await
            }
            State::Parallel(p, branches) => {
                let run = |effective: Value, ctx: Value| async move {
                    self.emit("ParallelStateStarted", Some(name), json!({}));
                    let futs = branches.iter().map(|b| self.machine(b, effective.clone(), ctx.clone()));
                    let r = futures::future::try_join_all(futs).await.map(Value::Array);
                    self.emit(
                        if r.is_ok() {
                            "ParallelStateSucceeded"
                        } else {
                            "ParallelStateFailed"
                        },
                        Some(name),
                        json!({}),
                    );
                    r
                };
                self.with_retry(
                    name,
                    &p.input_path,
                    &p.parameters,
                    &p.result_selector,
                    &p.result_path,
                    &p.output_path,
                    &p.retry,
                    &p.catch,
                    p.next.clone(),
                    raw,
                    ctx,
                    run,
                )
                .await
            }
            State::Map(m, processor) => {
                let run = |effective: Value, ctx: Value| async move {
                    let items_path = m.items_path.clone().unwrap_or_else(|| "$".into());
                    let items = match paths::read(&items_path, &effective, &ctx)? {
                        Value::Array(a) => a,
                        other => {
                            return Err(ExecError::runtime(format!(
                                "ItemsPath '{items_path}' of state \"{name}\" must point to an array, not {other}"
                            )));
                        }
                    };
                    self.emit("MapStateStarted", Some(name), json!({"length": items.len()}));
                    let limit = match m.max_concurrency {
                        None | Some(0) => items.len().max(1),
                        Some(n) => n as usize,
                    };
                    let selector = m.item_selector.as_ref().or(m.parameters.as_ref());
                    let iterations = futures::stream::iter(items.into_iter().enumerate().map(|(i, item)| {
                        let mut item_ctx = ctx.clone();
                        item_ctx["Map"] = json!({"Item": {"Index": i, "Value": item}});
                        let input = match selector {
                            Some(sel) => paths::render_template(sel, &effective, &item_ctx),
                            None => Ok(item),
                        };
                        async move {
                            let input = input?;
                            self.emit("MapIterationStarted", Some(name), json!({"index": i}));
                            let r = self.machine(processor, input, item_ctx).await;
                            match &r {
                                Ok(_) => self.emit("MapIterationSucceeded", Some(name), json!({"index": i})),
                                Err(e) => {
                                    self.emit("MapIterationFailed", Some(name), json!({"index": i, "error": e.error}))
                                }
                            }
                            r
                        }
                    }))
                    .buffered(limit);
                    let r: Result<Vec<Value>, ExecError> = iterations.try_collect().await;
                    self.emit(
                        if r.is_ok() {
                            "MapStateSucceeded"
                        } else {
                            "MapStateFailed"
                        },
                        Some(name),
                        json!({}),
                    );
                    r.map(Value::Array)
                };
                self.with_retry(
                    name,
                    &m.input_path,
                    &None,
                    &m.result_selector,
                    &m.result_path,
                    &m.output_path,
                    &m.retry,
                    &m.catch,
                    m.next.clone(),
                    raw,
                    ctx,
                    run,
                )
                .await
            }
        }
    }

    fn input(
        &self,
        input_path: &Option<Value>,
        parameters: &Option<Value>,
        raw: &Value,
        ctx: &Value,
    ) -> Result<Value, ExecError> {
        let effective = apply_path(input_path, raw.clone(), ctx)?;
        match parameters {
            Some(t) => paths::render_template(t, &effective, ctx),
            None => Ok(effective),
        }
    }

    /// Input processing, the work with Retry, then Catch or result processing.
    #[allow(clippy::too_many_arguments)]
    async fn with_retry<F, Fut>(
        &self,
        name: &str,
        input_path: &Option<Value>,
        parameters: &Option<Value>,
        result_selector: &Option<Value>,
        result_path: &Option<Value>,
        output_path: &Option<Value>,
        retry: &[Retrier],
        catch: &[Catcher],
        next: Option<String>,
        raw: Value,
        ctx: &Value,
        work: F,
    ) -> Result<Transition, ExecError>
    where
        F: Fn(Value, Value) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ExecError>>,
    {
        let mut attempts = vec![0u32; retry.len()];
        let mut retry_count = 0u32;
        loop {
            let mut ctx = ctx.clone();
            ctx["State"]["RetryCount"] = json!(retry_count);
            let outcome = match self.input(input_path, parameters, &raw, &ctx) {
                Ok(effective) => work(effective, ctx.clone()).await,
                Err(e) => Err(e),
            };
            let err = match outcome {
                Ok(result) => {
                    let result = match result_selector {
                        Some(sel) => paths::render_template(sel, &result, &ctx)?,
                        None => result,
                    };
                    let out = apply_result_path(result_path, raw, result)?;
                    return Ok(Transition {
                        output: apply_path(output_path, out, &ctx)?,
                        next,
                    });
                }
                Err(e) => e,
            };
            if let Some(i) = retry.iter().position(|r| error_matches(&r.error_equals, &err.error)) {
                let r = &retry[i];
                let max = r.max_attempts.unwrap_or(3);
                if attempts[i] < max {
                    let delay = retry_delay(r, attempts[i]);
                    attempts[i] += 1;
                    retry_count += 1;
                    // Step Functions has no retry event: the failure event, then the
                    // task scheduled again (with its retryCount in our details).
                    tracing::debug!(state = name, error = %err.error, attempt = attempts[i], ?delay, "retrying");
                    self.exec.clock.sleep(delay).await;
                    continue;
                }
            }
            if let Some(c) = catch.iter().find(|c| error_matches(&c.error_equals, &err.error)) {
                tracing::debug!(state = name, error = %err.error, next = %c.next, "caught");
                let result_path = match &c.result_path {
                    None => PathSpec::Default,
                    Some(Value::Null) => PathSpec::Null,
                    Some(Value::String(s)) => PathSpec::Path(s.clone()),
                    Some(_) => PathSpec::Default,
                };
                let out = match result_path {
                    PathSpec::Default => err.to_value(),
                    PathSpec::Null => raw,
                    PathSpec::Path(p) => paths::write(raw, &p, err.to_value())?,
                };
                return Ok(Transition {
                    output: out,
                    next: Some(c.next.clone()),
                });
            }
            return Err(err);
        }
    }

    async fn task(
        &self,
        name: &str,
        t: &crate::definition::TaskState,
        effective: Value,
        state_input: &Value,
        ctx: &Value,
    ) -> Result<Value, ExecError> {
        let callback = callback_base(&t.resource);
        let resource = callback.unwrap_or(&t.resource);
        let (key, payload, wrap) = if resource == LAMBDA_INVOKE {
            let f = effective.get("FunctionName").and_then(Value::as_str).ok_or_else(|| {
                ExecError::runtime(format!(
                    "state \"{name}\": lambda:invoke Parameters must give FunctionName as a string"
                ))
            })?;
            (
                f.to_string(),
                effective.get("Payload").cloned().unwrap_or_else(|| json!({})),
                true,
            )
        } else {
            (resource.to_string(), effective, false)
        };
        let handler = self
            .exec
            .resolve(&key)
            .ok_or_else(|| ExecError::new("States.TaskFailed", format!("no task handler for resource {key}")))?;
        let prefix = if !wrap && is_lambda_arn(resource) {
            "LambdaFunction"
        } else {
            "Task"
        };
        let retry_count = ctx["State"]["RetryCount"].as_u64().unwrap_or(0);
        self.emit(
            &format!("{prefix}Scheduled"),
            Some(name),
            json!({"resource": key, "parameters": payload, "retryCount": retry_count}),
        );
        self.emit(&format!("{prefix}Started"), Some(name), json!({"resource": key}));
        let timeout = match (&t.timeout_seconds, &t.timeout_seconds_path) {
            (Some(s), _) => Some(*s),
            (_, Some(p)) => Some(paths::read(p, state_input, ctx)?.as_u64().ok_or_else(|| {
                ExecError::runtime(format!("TimeoutSecondsPath '{p}' must point to a positive integer"))
            })?),
            _ => None,
        };
        if callback.is_some() {
            let token = ctx["Task"]["Token"].as_str().unwrap_or_default().to_string();
            return self
                .callback(name, prefix, &token, handler, payload, timeout, t.heartbeat_seconds)
                .await;
        }
        let call = handler.call(payload);
        let result = match timeout {
            Some(s) => match tokio::time::timeout(std::time::Duration::from_secs(s), call).await {
                Ok(r) => r,
                Err(_) => {
                    let e = ExecError::new(
                        "States.Timeout",
                        format!("task of state \"{name}\" ran longer than {s}s"),
                    );
                    self.emit(
                        &format!("{prefix}TimedOut"),
                        Some(name),
                        json!({"error": e.error, "cause": e.cause}),
                    );
                    return Err(e);
                }
            },
            None => call.await,
        };
        match result {
            Ok(out) => {
                self.emit(&format!("{prefix}Succeeded"), Some(name), json!({"output": out}));
                if wrap {
                    Ok(json!({
                        "ExecutedVersion": "$LATEST",
                        "Payload": out,
                        "SdkHttpMetadata": {"HttpStatusCode": 200},
                        "SdkResponseMetadata": {},
                        "StatusCode": 200,
                    }))
                } else {
                    Ok(out)
                }
            }
            Err(e) => {
                self.emit(
                    &format!("{prefix}Failed"),
                    Some(name),
                    json!({"error": e.error, "cause": e.cause}),
                );
                Err(e)
            }
        }
    }

    /// A callback Task: the resource is called with the token in its
    /// payload, then the task waits for the token's answer.
    #[allow(clippy::too_many_arguments)]
    async fn callback(
        &self,
        name: &str,
        prefix: &str,
        token: &str,
        handler: Arc<dyn TaskHandler>,
        payload: Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) -> Result<Value, ExecError> {
        let tokens = &self.exec.tokens;
        // Registered first: the resource may answer before it returns.
        let mut answers = tokens.register(token);
        let outcome = match handler.call(payload).await {
            Ok(_) => {
                self.emit(&format!("{prefix}Submitted"), Some(name), json!({}));
                callback::wait(&*self.exec.clock, &mut answers, timeout, heartbeat).await
            }
            Err(e) => Err(e),
        };
        tokens.forget(token);
        match outcome {
            Ok(out) => {
                self.emit(&format!("{prefix}Succeeded"), Some(name), json!({"output": out}));
                Ok(out)
            }
            Err(e) => {
                let timed_out = e.error == "States.Timeout" || e.error == "States.HeartbeatTimeout";
                let kind = if timed_out { "TimedOut" } else { "Failed" };
                self.emit(
                    &format!("{prefix}{kind}"),
                    Some(name),
                    json!({"error": e.error, "cause": e.cause}),
                );
                Err(e)
            }
        }
    }
}

fn retry_delay(r: &Retrier, attempt: u32) -> std::time::Duration {
    let interval = r.interval_seconds.unwrap_or(1) as f64;
    let rate = r.backoff_rate.unwrap_or(2.0);
    let mut secs = interval * rate.powi(attempt as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    if r.jitter_strategy.as_deref() == Some("FULL") {
        secs *= fastrand::f64();
    }
    std::time::Duration::from_secs_f64(secs.clamp(0.0, 31_622_400.0))
}

fn apply_path(spec: &Option<Value>, value: Value, ctx: &Value) -> Result<Value, ExecError> {
    match spec {
        None => Ok(value),
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(p)) => paths::read(p, &value, ctx),
        Some(other) => Err(ExecError::runtime(format!("invalid path {other}"))),
    }
}

fn apply_result_path(spec: &Option<Value>, raw: Value, result: Value) -> Result<Value, ExecError> {
    match spec {
        None => Ok(result),
        Some(Value::Null) => Ok(raw),
        Some(Value::String(p)) => paths::write(raw, p, result),
        Some(other) => Err(ExecError::runtime(format!("invalid ResultPath {other}"))),
    }
}

/// Step Functions' limit on a state's input or output: 256 KiB of UTF-8.
pub const MAX_DATA_BYTES: usize = 256 * 1024;

/// Counts the bytes of a value's JSON without keeping them.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A state whose output is over the limit fails the execution as on AWS
/// (`States.DataLimitExceeded`, which `States.ALL` does not catch).
fn check_data_size(state: &str, output: &Value) -> Result<(), ExecError> {
    let mut n = ByteCount(0);
    serde_json::to_writer(&mut n, output).map_err(|e| ExecError::runtime(e.to_string()))?;
    if n.0 > MAX_DATA_BYTES {
        return Err(ExecError::new(
            "States.DataLimitExceeded",
            format!(
                "the output of state {state} is {} bytes, over Step Functions' limit of {MAX_DATA_BYTES}",
                n.0
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
