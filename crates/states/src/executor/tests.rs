use super::*;
use crate::callback::TaskDoesNotExist;
use crate::clock::VirtualClock;
use crate::definition::parse_definition;
use serde_json::json;
use std::sync::atomic::AtomicUsize;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn executor() -> (Executor, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::new(t0()));
    (Executor::new(clock.clone()), clock)
}

async fn run(exec: &Executor, def: Value, input: Value) -> Execution {
    let m = parse_definition(&def.to_string()).unwrap();
    exec.check_handlers(&m).unwrap();
    exec.run(&m, input, "test-run").await
}

fn types(e: &Execution) -> Vec<&str> {
    e.events.iter().map(|e| e.event_type.as_str()).collect()
}

/// A handler that fails `failures` times with `error`, then echoes its input.
fn flaky(failures: usize, error: &'static str) -> (Arc<dyn TaskHandler>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let h = handler_fn(move |input| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(ExecError::new(error, format!("failure {n}")))
            } else {
                Ok(json!({"echo": input, "calls": n + 1}))
            }
        }
    });
    (h, calls)
}

#[tokio::test]
async fn pass_applies_input_path_parameters_result_path_and_output_path() {
    let (exec, _) = executor();
    let def = json!({"StartAt": "P", "States": {"P": {
        "Type": "Pass", "InputPath": "$.in", "Parameters": {"v.$": "$.x", "name.$": "$$.Execution.Name"},
        "ResultPath": "$.out", "OutputPath": "$.out", "End": true}}});
    let e = run(&exec, def, json!({"in": {"x": 7}})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.output, Some(json!({"v": 7, "name": "test-run"})));
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.res", "Next": "D"},
        "D": {"Type": "Pass", "ResultPath": null, "InputPath": null, "End": true}}});
    let e = run(&exec, def, json!({"a": 1})).await;
    assert_eq!(e.output, Some(json!({"a": 1, "res": {"r": 1}})));
}

#[tokio::test]
async fn task_by_function_arn_and_by_lambda_invoke_with_payload_wrapping() {
    let (mut exec, _) = executor();
    let (h, _) = flaky(0, "x");
    exec.register("echo", h);
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo:live", "Payload": {"k.$": "$.a.calls"}},
              "ResultSelector": {"p.$": "$.Payload", "code.$": "$.StatusCode"}, "ResultPath": "$.b", "End": true}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.error);
    let out = e.output.clone().unwrap();
    assert_eq!(out["b"], json!({"p": {"echo": {"k": 1}, "calls": 2}, "code": 200}));
    let t = types(&e);
    assert!(
        t.contains(&"LambdaFunctionScheduled") && t.contains(&"LambdaFunctionSucceeded"),
        "{t:?}"
    );
    assert!(t.contains(&"TaskScheduled") && t.contains(&"TaskSucceeded"), "{t:?}");
    assert_eq!(t.first(), Some(&"ExecutionStarted"));
    assert_eq!(t.last(), Some(&"ExecutionSucceeded"));
}

#[tokio::test]
async fn retry_backs_off_on_the_executor_clock_and_then_succeeds() {
    let (mut exec, clock) = executor();
    let (h, calls) = flaky(2, "Lifeboat.NotReady");
    exec.register("f", h);
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "f", "End": true,
        "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 0},
                  {"ErrorEquals": ["Lifeboat.NotReady"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 5}]}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // 2s then 6s of virtual back-off, no real sleeping.
    assert_eq!((clock.now() - t0()).num_seconds(), 8);
    // As on Step Functions: each failure, then the task scheduled again.
    assert_eq!(types(&e).iter().filter(|t| **t == "TaskFailed").count(), 2);
    let scheduled: Vec<u64> = e
        .events
        .iter()
        .filter(|ev| ev.event_type == "TaskScheduled")
        .map(|ev| ev.details["retryCount"].as_u64().unwrap())
        .collect();
    assert_eq!(scheduled, vec![0, 1, 2]);
}

#[tokio::test]
async fn retry_stops_at_max_attempts_and_max_delay_caps_backoff() {
    let (mut exec, clock) = executor();
    let (h, calls) = flaky(100, "Boom");
    exec.register("f", h);
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "f", "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10.0, "MaxDelaySeconds": 15, "MaxAttempts": 3}]}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error.unwrap().error, "Boom");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!((clock.now() - t0()).num_seconds(), 10 + 15 + 15);
}

#[tokio::test]
async fn full_jitter_never_exceeds_the_unjittered_delay() {
    let (mut exec, clock) = executor();
    let (h, _) = flaky(3, "Lifeboat.Throttled");
    exec.register("f", h);
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "f", "End": true,
        "Retry": [{"ErrorEquals": ["Lifeboat.Throttled"], "IntervalSeconds": 4, "BackoffRate": 2.0, "MaxAttempts": 3, "JitterStrategy": "FULL"}]}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert!((clock.now() - t0()).num_milliseconds() <= (4 + 8 + 16) * 1000);
}

#[tokio::test]
async fn catch_puts_the_error_at_result_path_and_task_failed_does_not_match_timeout() {
    let (mut exec, _) = executor();
    let (h, _) = flaky(100, "Lifeboat.VerificationFailed");
    exec.register("f", h);
    exec.register(
        "slow",
        handler_fn(|_| async {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            Ok(json!({}))
        }),
    );
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "f", "Next": "Done",
              "Catch": [{"ErrorEquals": ["Lifeboat.InvalidRequest"], "Next": "Done"},
                        {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "S"}]},
        "S": {"Type": "Task", "Resource": "slow", "TimeoutSeconds": 1, "Next": "Done",
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({"keep": true})).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    let err = e.error.clone().unwrap();
    assert_eq!(err.error, "States.Timeout");
    let caught = e.events.iter().find(|ev| ev.event_type == "TaskFailed").unwrap();
    assert_eq!(caught.details["error"], json!("Lifeboat.VerificationFailed"));
    let entered_s = e
        .events
        .iter()
        .find(|ev| ev.event_type == "TaskStateEntered" && ev.state.as_deref() == Some("S"))
        .unwrap();
    assert_eq!(entered_s.details["input"]["keep"], json!(true));
    assert_eq!(
        entered_s.details["input"]["err"]["Error"],
        json!("Lifeboat.VerificationFailed")
    );
    assert!(types(&e).contains(&"TaskTimedOut"));
}

#[tokio::test]
async fn choice_picks_the_first_match_then_default_else_fails() {
    let (exec, _) = executor();
    let def = |default: bool| {
        let mut c = json!({"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"And": [{"Variable": "$.n", "NumericGreaterThan": 5}, {"Variable": "$.s", "StringEquals": "x"}], "Next": "Mid"}]});
        if default {
            c["Default"] = json!("Small");
        }
        json!({"StartAt": "C", "States": {"C": c,
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Mid": {"Type": "Pass", "Result": "mid", "End": true},
            "Small": {"Type": "Pass", "Result": "small", "End": true}}})
    };
    assert_eq!(
        run(&exec, def(true), json!({"n": 11, "s": "x"})).await.output,
        Some(json!("big"))
    );
    assert_eq!(
        run(&exec, def(true), json!({"n": 6, "s": "x"})).await.output,
        Some(json!("mid"))
    );
    assert_eq!(
        run(&exec, def(true), json!({"n": 6, "s": "y"})).await.output,
        Some(json!("small"))
    );
    let mut d = def(false);
    d["States"].as_object_mut().unwrap().remove("Small");
    let e = run(&exec, d, json!({"n": 1, "s": "y"})).await;
    assert_eq!(e.error.unwrap().error, "States.NoChoiceMatched");
}

#[tokio::test]
async fn wait_seconds_paths_and_timestamps_use_the_virtual_clock() {
    let (exec, clock) = executor();
    let def = json!({"StartAt": "W1", "States": {
        "W1": {"Type": "Wait", "Seconds": 30, "Next": "W2"},
        "W2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "W3"},
        "W3": {"Type": "Wait", "Timestamp": "2026-11-26T01:00:00Z", "Next": "W4"},
        "W4": {"Type": "Wait", "TimestampPath": "$.until", "End": true}}});
    let e = run(&exec, def, json!({"s": 90, "until": "2026-11-26T02:00:00Z"})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(clock.now() - t0(), chrono::Duration::hours(2));
    let bad = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
    let e = run(&exec, bad, json!({"s": "soon"})).await;
    assert_eq!(e.error.unwrap().error, "States.Runtime");
}

#[tokio::test]
async fn fail_state_reports_error_and_cause_from_literals_or_paths() {
    let (exec, _) = executor();
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Lifeboat.Internal", "Cause": "boom"}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.error, Some(ExecError::new("Lifeboat.Internal", "boom")));
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('app {} failed', $.app)"}}});
    let e = run(&exec, def, json!({"e": "X", "app": "web"})).await;
    assert_eq!(e.error, Some(ExecError::new("X", "app web failed")));
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(types(&e).last(), Some(&"ExecutionFailed"));
}

#[tokio::test]
async fn parallel_returns_branch_outputs_in_order_and_fails_with_a_branch_error() {
    let (mut exec, _) = executor();
    let (h, _) = flaky(100, "Lifeboat.NotReady");
    exec.register("bad", h);
    let branch = |r: Value| json!({"StartAt": "X", "States": {"X": {"Type": "Pass", "Result": r, "End": true}}});
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [branch(json!(1)), branch(json!(2))]}}});
    assert_eq!(run(&exec, def, json!({})).await.output, Some(json!([1, 2])));
    let failing = json!({"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "bad", "End": true}}});
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Ok", "Branches": [branch(json!(1)), failing],
              "Catch": [{"ErrorEquals": ["Lifeboat.NotReady"], "ResultPath": "$.error", "Next": "Ok"}]},
        "Ok": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.output.unwrap()["error"]["Error"], json!("Lifeboat.NotReady"));
}

#[tokio::test]
async fn map_selects_items_respects_max_concurrency_and_keeps_order() {
    let (mut exec, _) = executor();
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (a, p) = (active.clone(), peak.clone());
    exec.register(
        "work",
        handler_fn(move |input: Value| {
            let (a, p) = (a.clone(), p.clone());
            async move {
                let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                a.fetch_sub(1, Ordering::SeqCst);
                Ok(json!(format!(
                    "{}#{}",
                    input["name"].as_str().unwrap_or("?"),
                    input["index"]
                )))
            }
        }),
    );
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.apps", "MaxConcurrency": 2,
        "ItemSelector": {"name.$": "$$.Map.Item.Value.name", "index.$": "$$.Map.Item.Index", "run.$": "$.run"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "work", "End": true}}},
        "ResultPath": "$.results", "End": true}}});
    let apps: Vec<Value> = (0..6).map(|i| json!({"name": format!("a{i}")})).collect();
    let e = run(&exec, def, json!({"apps": apps, "run": "r"})).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}", e.error);
    assert_eq!(
        e.output.clone().unwrap()["results"],
        json!(["a0#0", "a1#1", "a2#2", "a3#3", "a4#4", "a5#5"])
    );
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert_eq!(types(&e).iter().filter(|t| **t == "MapIterationSucceeded").count(), 6);
}

#[tokio::test]
async fn map_over_a_non_array_is_a_runtime_error() {
    let (exec, _) = executor();
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}});
    let e = run(&exec, def, json!({"not": "array"})).await;
    assert_eq!(e.error.unwrap().error, "States.Runtime");
}

#[tokio::test]
async fn execution_timeout_counts_virtual_time() {
    let (exec, _) = executor();
    let def = json!({"StartAt": "W", "TimeoutSeconds": 60, "States": {
        "W": {"Type": "Wait", "Seconds": 61, "Next": "X"}, "X": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.status, ExecutionStatus::TimedOut);
    assert_eq!(types(&e).last(), Some(&"ExecutionTimedOut"));
}

#[tokio::test]
async fn retry_count_is_visible_in_the_context_object() {
    let (mut exec, _) = executor();
    let (h, _) = flaky(1, "Lifeboat.NotReady");
    exec.register("f", h);
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "f", "End": true,
        "Parameters": {"retry.$": "$$.State.RetryCount", "state.$": "$$.State.Name"},
        "Retry": [{"ErrorEquals": ["Lifeboat.NotReady"]}]}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.output.unwrap()["echo"], json!({"retry": 1, "state": "A"}));
}

#[tokio::test]
async fn runtime_errors_are_not_caught_by_states_all() {
    let (exec, _) = executor();
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "InputPath": "$.missing", "Next": "X"},
        "X": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({})).await;
    assert_eq!(e.error.unwrap().error, "States.Runtime");
}

#[tokio::test]
async fn the_sink_sees_every_event_in_order() {
    let (exec, _) = executor();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let exec = exec.with_sink(Arc::new(move |ev: &HistoryEvent| s.lock().unwrap().push(ev.id)));
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({})).await;
    let ids = seen.lock().unwrap().clone();
    assert_eq!(ids, e.events.iter().map(|e| e.id).collect::<Vec<_>>());
    assert_eq!(
        types(&e),
        vec![
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn missing_handlers_are_a_load_error() {
    let (exec, _) = executor();
    let m = parse_definition(
        &json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "nope", "End": true}}}).to_string(),
    )
    .unwrap();
    let err = exec.check_handlers(&m).unwrap_err();
    assert!(err.to_string().contains("no task handler for resource(s) nope"));
}

#[tokio::test]
async fn a_state_output_over_256_kib_fails_the_execution_uncaught() {
    let (exec, _) = executor();
    let big = "x".repeat(MAX_DATA_BYTES);
    let def = json!({"StartAt": "Try", "States": {
        "Try": {"Type": "Parallel", "Branches": [{"StartAt": "Grow", "States": {
            "Grow": {"Type": "Pass", "Result": {"blob": big}, "End": true}}}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "Next": "Done"},
        "Caught": {"Type": "Succeed"},
        "Done": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({})).await;
    let err = e.error.unwrap();
    assert_eq!(err.error, "States.DataLimitExceeded");
    assert!(err.cause.contains("state Grow"), "{}", err.cause);

    let small =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"blob": "x".repeat(1000)}, "End": true}}});
    assert!(run(&exec, small, json!({})).await.error.is_none());
}

/// AWS: a Standard execution has at most 25,000 history events; one that
/// would grow past them fails (no Catch sees it).
#[tokio::test]
async fn an_execution_past_the_history_limit_fails_uncaught() {
    let (exec, _) = executor();
    assert_eq!(MAX_HISTORY_EVENTS, 25_000);
    let exec = exec.with_max_history_events(40);
    // A loop that never ends: only the history limit stops it.
    let def = json!({"StartAt": "Try", "States": {
        "Try": {"Type": "Parallel", "Branches": [{"StartAt": "Spin", "States": {
            "Spin": {"Type": "Pass", "Next": "Spin"}}}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let e = run(&exec, def, json!({})).await;
    let err = e.error.unwrap();
    assert_eq!(err.error, "States.Runtime");
    assert!(
        err.cause.contains("maximum number of history events (40)"),
        "{}",
        err.cause
    );
    assert!(e.events.len() <= 45, "{}", e.events.len());
}

/// A callback definition: the approver gets the token, the answer is the result.
fn callback_def(timeout: u64, heartbeat: Option<u64>) -> Value {
    let mut task = json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "approver", "Payload": {"token.$": "$$.Task.Token", "run.$": "$.run"}},
        "TimeoutSeconds": timeout, "ResultPath": "$.approval", "End": true,
        "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.rejected", "Next": "Stopped"}]
    });
    if let Some(h) = heartbeat {
        task["HeartbeatSeconds"] = json!(h);
    }
    json!({"StartAt": "Approve", "States": {"Approve": task, "Stopped": {"Type": "Pass", "End": true}}})
}

/// An approver that hands each token it is given to the test.
fn token_catcher() -> (Arc<dyn TaskHandler>, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let h = handler_fn(move |input: Value| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(input);
            Ok(json!({"StatusCode": 202}))
        }
    });
    (h, rx)
}

#[tokio::test]
async fn a_callback_waits_for_its_token_and_its_answer_is_the_result() {
    let (mut exec, _) = executor();
    let (approver, mut given) = token_catcher();
    exec.register("approver", approver);
    let tokens = exec.task_tokens();
    let def = callback_def(900, None);
    let (execution, answered) = tokio::join!(run(&exec, def, json!({"run": "r1"})), async {
        let payload = given.recv().await.unwrap();
        let token = payload["token"].as_str().unwrap().to_string();
        assert_eq!(payload["run"], "r1");
        assert_eq!(tokens.waiting(), std::slice::from_ref(&token));
        tokens.succeed(&token, json!({"approved_by": "sre"})).unwrap();
        // Answered once: a second answer finds no task.
        tokens.succeed(&token, json!({})).unwrap_err()
    });
    assert_eq!(execution.status, ExecutionStatus::Succeeded, "{:?}", execution.error);
    assert_eq!(
        execution.output.as_ref().unwrap()["approval"],
        json!({"approved_by": "sre"})
    );
    assert!(answered.0.starts_with(|c: char| c.is_ascii_hexdigit()));
    assert!(types(&execution).contains(&"TaskSubmitted"), "{:?}", types(&execution));
    assert!(tokens.waiting().is_empty());
    assert_eq!(
        tokens.heartbeat("no-such-token").unwrap_err(),
        TaskDoesNotExist("no-such-token".into())
    );
}

#[tokio::test]
async fn a_callback_failure_is_the_tasks_error_and_can_be_caught() {
    let (mut exec, _) = executor();
    let (approver, mut given) = token_catcher();
    exec.register("approver", approver);
    let tokens = exec.task_tokens();
    let (execution, ()) = tokio::join!(run(&exec, callback_def(900, None), json!({"run": "r2"})), async {
        let token = given.recv().await.unwrap()["token"].as_str().unwrap().to_string();
        tokens.fail(&token, "Rejected", "not during the sale").unwrap();
    });
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert_eq!(
        execution.output.unwrap()["rejected"],
        json!({"Error": "Rejected", "Cause": "not during the sale"})
    );
}

#[tokio::test]
async fn an_unanswered_callback_times_out_on_the_executors_clock_and_heartbeats_keep_it_alive() {
    let (mut exec, clock) = executor();
    let (approver, mut given) = token_catcher();
    exec.register("approver", approver);
    let tokens = exec.task_tokens();
    let (execution, ()) = tokio::join!(run(&exec, callback_def(900, Some(300)), json!({"run": "r3"})), async {
        let token = given.recv().await.unwrap()["token"].as_str().unwrap().to_string();
        // Two heartbeats 200 s apart keep it past its first 300 s ...
        for _ in 0..2 {
            clock.advance(std::time::Duration::from_secs(200));
            tokens.heartbeat(&token).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        }
        // ... then nothing for 300 s: its heartbeat limit passes.
        clock.advance(std::time::Duration::from_secs(300));
    });
    assert_eq!(execution.status, ExecutionStatus::Failed);
    assert_eq!(execution.error.as_ref().unwrap().error, "States.HeartbeatTimeout");
    assert!(types(&execution).contains(&"TaskTimedOut"));

    let (mut exec, clock) = executor();
    let (approver, mut given) = token_catcher();
    exec.register("approver", approver);
    let (execution, ()) = tokio::join!(run(&exec, callback_def(900, None), json!({"run": "r4"})), async {
        given.recv().await.unwrap();
        clock.advance(std::time::Duration::from_secs(901));
    });
    assert_eq!(execution.error.unwrap().error, "States.Timeout");

    // TimeoutSecondsPath reads the state's input, which the Parameters need not pass on.
    let (mut exec, clock) = executor();
    let (approver, mut given) = token_catcher();
    exec.register("approver", approver);
    let mut def = callback_def(900, None);
    let task = def["States"]["Approve"].as_object_mut().unwrap();
    task.remove("TimeoutSeconds");
    task.insert("TimeoutSecondsPath".into(), json!("$.limits.wait"));
    let input = json!({"run": "r5", "limits": {"wait": 120}});
    let (execution, ()) = tokio::join!(run(&exec, def, input), async {
        given.recv().await.unwrap();
        clock.advance(std::time::Duration::from_secs(121));
    });
    assert_eq!(execution.error.unwrap().error, "States.Timeout");
}

#[test]
fn heartbeat_seconds_is_checked_at_load() {
    let mut def = callback_def(300, Some(300));
    let e = parse_definition(&def.to_string()).unwrap_err();
    assert!(
        e.to_string()
            .contains("HeartbeatSeconds must be smaller than TimeoutSeconds"),
        "{e}"
    );
    def["States"]["Approve"]["Resource"] = json!("arn:aws:states:::lambda:invoke");
    def["States"]["Approve"]["HeartbeatSeconds"] = json!(60);
    let e = parse_definition(&def.to_string()).unwrap_err();
    assert!(e.to_string().contains("HeartbeatSeconds is for a callback"), "{e}");
}
