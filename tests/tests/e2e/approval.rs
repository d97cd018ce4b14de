//! A person approves before anything changes, end to end: the run stops
//! after Validate in a callback (`.waitForTaskToken`) on the embedded
//! executor, the CLI's `approve` / `reject` answer it through the journal
//! (as SendTaskSuccess / SendTaskFailure do on AWS), and the registry's
//! `on_timeout` decides when nobody answers.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, run_cli};
use lifeboat_core::outcome::{AppStatus, ApprovalDecision, RunRecord, RunStatus};
use lifeboat_core::registry::{Approval, ApprovalTrigger, OnTimeout};
use lifeboat_states::{ExecutionStatus, VirtualClock};
use serde_json::json;
use std::sync::Arc;

async fn require_approval(env: &TestEnv, required_for: Vec<ApprovalTrigger>, on_timeout: OnTimeout) {
    env.admin()
        .registry
        .put_approval(Some(&Approval {
            required_for,
            timeout_seconds: 600,
            on_timeout,
        }))
        .await
        .unwrap();
}

/// Starts run `name` of `input` on a clock of its own (the test may move it); the run and its clock.
fn start(
    env: &TestEnv,
    input: serde_json::Value,
    name: &str,
) -> (
    tokio::task::JoinHandle<(lifeboat_states::Execution, lifeboat_core::calls::ApiCalls)>,
    Arc<VirtualClock>,
) {
    let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
    let (env, name, run_clock) = (env.clone(), name.to_string(), clock.clone());
    (
        tokio::spawn(async move { env.run_named(input, &name, run_clock).await }),
        clock,
    )
}

async fn record(env: &TestEnv, run: &str) -> RunRecord {
    env.admin()
        .journal
        .get_run(run)
        .await
        .unwrap()
        .expect("the run is recorded")
}

#[tokio::test]
async fn an_alarms_failover_waits_for_a_person_and_goes_on_when_approved() {
    let env = TestEnv::new().await;
    require_approval(&env, vec![ApprovalTrigger::Alarm], OnTimeout::Reject).await;
    let event = env.region_alarm_fires().await;
    let name = harness::unique("alarm-approved");
    let (run, _clock) = start(&env, event.clone(), &name);
    let request = env.approval_requested(&name).await;
    assert!(request.summary.contains("failover"), "{}", request.summary);
    // Nothing moved while it waits.
    assert!(
        env.weights()
            .await
            .iter()
            .all(|(_, p, s)| *p == Some(100) && *s == Some(0))
    );
    // Another alarm meanwhile does not start a second failover: it joins the waiting run.
    let (second, _) = env
        .run_named(
            event.clone(),
            &harness::unique("alarm-again"),
            Arc::new(VirtualClock::new(chrono::Utc::now())),
        )
        .await;
    assert_eq!(second.status, ExecutionStatus::Succeeded, "{:?}", second.error);
    let turned_away = second.output.as_ref().map(|o| o.to_string()).unwrap_or_default();
    assert!(turned_away.contains(&format!("joins run {name}")), "{turned_away}");
    assert!(
        env.weights()
            .await
            .iter()
            .all(|(_, p, s)| *p == Some(100) && *s == Some(0))
    );
    let (code, out, err) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["approve", &name, "--local", "--note", "INC-42: primary is down"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("approved run {name}")), "{out}");
    let (exec, _) = run.await.unwrap();
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&env, &name).await;
    assert_eq!(rec.status, RunStatus::Succeeded, "{}", rec.summary);
    assert!(rec.apps.iter().all(|a| a.status == AppStatus::Moved));
    let approval = rec.approval.expect("the record says who approved");
    assert_eq!(approval.decision, ApprovalDecision::Approved);
    assert!(approval.by.as_deref().is_some_and(|b| !b.is_empty()), "{approval:?}");
    assert_eq!(approval.reason.as_deref(), Some("INC-42: primary is down"));
    assert!(approval.wait_seconds.is_some_and(|w| w >= 0.0), "{approval:?}");
    // Answering again is refused, and changes nothing.
    let (code, _, err) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["reject", &name, "--reason", "late", "--local"],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already approved"), "{err}");
    // The report's timeline draws the wait.
    let report = lifeboat::report::RunReport::of(&record(&env, &name).await);
    let html = lifeboat::report::html::render(&report);
    assert!(html.contains("seg approval"), "the timeline draws the approval wait");
}

#[tokio::test]
async fn a_rejected_run_changes_nothing_and_says_who_rejected_it_and_why() {
    let env = TestEnv::new().await;
    require_approval(&env, vec![ApprovalTrigger::Manual], OnTimeout::Proceed).await;
    let name = harness::unique("manual-rejected");
    let (run, _clock) = start(&env, json!({"action": "failover"}), &name);
    env.approval_requested(&name).await;
    // A rejection needs a reason.
    let (code, _, err) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["reject", &name, "--reason", " ", "--local"],
        None,
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &[
            "reject",
            &name,
            "--reason",
            "false alarm: the canary's Region is down",
            "--local",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (exec, calls) = run.await.unwrap();
    assert_eq!(exec.status, ExecutionStatus::Failed);
    assert_eq!(
        exec.error.as_ref().map(|e| e.error.as_str()),
        Some("Lifeboat.ApprovalRejected")
    );
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0, "nothing changed");
    assert!(
        env.weights()
            .await
            .iter()
            .all(|(_, p, s)| *p == Some(100) && *s == Some(0))
    );
    let rec = record(&env, &name).await;
    let approval = rec.approval.unwrap();
    assert_eq!(approval.decision, ApprovalDecision::Rejected);
    assert_eq!(
        approval.reason.as_deref(),
        Some("false alarm: the canary's Region is down")
    );
    assert!(rec.apps.iter().all(|a| a.status == AppStatus::NotMoved));
    // The lease is free again: the next run may start.
    assert!(env.admin().lease.state().await.unwrap().holder.is_none());
}

#[tokio::test]
async fn nobody_answering_in_time_is_what_on_timeout_says() {
    for (on_timeout, status, decision) in [
        (
            OnTimeout::Reject,
            ExecutionStatus::Failed,
            ApprovalDecision::TimedOutRejected,
        ),
        (
            OnTimeout::Proceed,
            ExecutionStatus::Succeeded,
            ApprovalDecision::TimedOutProceeded,
        ),
    ] {
        let env = TestEnv::new().await;
        require_approval(&env, vec![ApprovalTrigger::Manual], on_timeout).await;
        let name = harness::unique("manual-unanswered");
        let (run, clock) = start(&env, json!({"action": "failover", "apps": ["search"]}), &name);
        env.approval_requested(&name).await;
        // The execution's clock passes the approval's timeout_seconds.
        clock.advance(std::time::Duration::from_secs(601));
        let (exec, _) = run.await.unwrap();
        assert_eq!(exec.status, status, "{on_timeout:?}: {:?}", exec.error);
        let rec = record(&env, &name).await;
        assert_eq!(rec.approval.as_ref().map(|a| a.decision), Some(decision));
        let search = rec.apps.iter().find(|a| a.app == "search").unwrap();
        let moved = on_timeout == OnTimeout::Proceed;
        assert_eq!(
            search.status == AppStatus::Moved,
            moved,
            "{on_timeout:?}: {}",
            search.detail
        );
    }
}

#[tokio::test]
async fn a_trigger_kind_not_listed_and_a_dry_run_do_not_wait() {
    let env = TestEnv::new().await;
    require_approval(&env, vec![ApprovalTrigger::Alarm], OnTimeout::Reject).await;
    let (exec, _) = env.run(json!({"action": "failover", "apps": ["search"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert!(record(&env, &exec.name).await.approval.is_none());
    require_approval(&env, vec![ApprovalTrigger::Manual], OnTimeout::Reject).await;
    let (exec, _) = env
        .run(json!({"action": "failback", "apps": ["search"], "dry_run": true}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert!(!exec.events.iter().any(|e| e.state.as_deref() == Some("AwaitApproval")));
}

#[tokio::test]
async fn on_aws_the_answer_goes_to_step_functions_which_takes_a_waiting_token_once() {
    let env = TestEnv::new().await;
    require_approval(&env, vec![ApprovalTrigger::Manual], OnTimeout::Reject).await;
    let name = harness::unique("manual-on-aws");
    let (run, _clock) = start(&env, json!({"action": "failover", "apps": ["search"]}), &name);
    let request = env.approval_requested(&name).await;
    // Step Functions holds the token while the run waits (the emulator stands in for the deployed execution).
    moto()
        .request(
            "POST",
            "/lifeboat-emulator/stepfunctions/tokens",
            &json!({"token": request.token}).to_string(),
        )
        .unwrap();
    let (code, out, err) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["approve", &name, "--note", "INC-9"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved run"), "{out}");
    let tokens: serde_json::Value = serde_json::from_str(
        &moto()
            .request("GET", "/lifeboat-emulator/stepfunctions/tokens", "")
            .unwrap(),
    )
    .unwrap();
    let answered = &tokens["tokens"][&request.token];
    assert_eq!(answered["status"], "succeeded", "{tokens}");
    assert_eq!(answered["output"]["note"], "INC-9");
    assert!(
        answered["output"]["approved_by"]
            .as_str()
            .is_some_and(|b| !b.is_empty())
    );
    let (exec, _) = run.await.unwrap();
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);

    // A run Step Functions no longer waits on: the CLI says the decision is
    // journaled but was not taken, and fails.
    let other = harness::unique("manual-gone");
    let (run, _clock) = start(&env, json!({"action": "failback", "apps": ["search"]}), &other);
    env.approval_requested(&other).await;
    let (code, _, err) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["reject", &other, "--reason", "not now"],
        None,
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("Step Functions did not take it") && err.contains("TaskDoesNotExist"),
        "{err}"
    );
    // The local runner still reads the journaled decision: the run stops, nothing changed.
    let (exec, _) = run.await.unwrap();
    assert_eq!(
        exec.error.map(|e| e.error),
        Some("Lifeboat.ApprovalRejected".to_string())
    );
}
