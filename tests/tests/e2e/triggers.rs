//! Trigger handling end to end: one run per incident, one run at a time,
//! a cooldown for alarms after a run.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, ran};
use lifeboat::local::LocalRun;
use lifeboat_aws::dynamodb::DynamoLease;
use lifeboat_aws::ports::{LeaseOutcome, RunLease};
use lifeboat_sandbox::estate::{PRIMARY, alarm_event};
use lifeboat_states::ExecutionStatus;
use serde_json::json;

#[tokio::test]
async fn the_same_alarm_event_fifty_times_at_once_runs_once() {
    let env = TestEnv::new().await;
    let event = env.region_alarm_fires().await;
    // Polled together, not one after another, so the fifty claims really race.
    // (moto server's conditional writes are not atomic across its threads, as
    // AWS's are: the harness's emulator extension serialises DynamoDB writes.)
    let runs = futures::future::join_all((0..50).map(|_| env.run_or_refuse(event.clone()))).await;
    let (mut executed, mut refused) = (Vec::new(), 0);
    for r in runs {
        match r {
            LocalRun::Ran(e) => executed.push(e),
            LocalRun::Duplicate { .. } => refused += 1,
        }
    }
    assert_eq!(executed.len(), 1, "exactly one execution");
    assert_eq!(refused, 49);
    assert_eq!(
        executed[0].status,
        ExecutionStatus::Succeeded,
        "{:?}",
        executed[0].error
    );
    assert_eq!(env.admin().journal.list_runs(100).await.unwrap().len(), 1);
    // And once more, after it finished: still the same incident, still refused.
    assert!(matches!(env.run_or_refuse(event).await, LocalRun::Duplicate { .. }));
}

#[tokio::test]
async fn an_alarm_in_the_cooldown_is_recorded_and_ignored_but_an_operator_is_not_held_back() {
    let env = TestEnv::new().await;
    let t0 = chrono::Utc::now();
    let first = ran(env
        .run_or_refuse(alarm_event(&env.estate.trigger_alarm, PRIMARY, t0))
        .await);
    assert_eq!(first.status, ExecutionStatus::Succeeded, "{:?}", first.error);
    // us-east-1 recovers and Aurora resynchronises the old primary of payments' global database.
    env.primary_region_recovers();
    for _ in 0..2 {
        env.global_writer("payments").await;
    }
    // The operator fails back at once: manual requests ignore the cooldown.
    // (orders' restored database is rebuilt by hand: its traffic moves with move_dns_without_database.)
    let back = ran(env
        .run_or_refuse(json!({"action": "failback", "move_dns_without_database": true}))
        .await);
    assert_eq!(back.status, ExecutionStatus::Succeeded, "{:?}", back.error);
    // The alarm flaps: a new state change, a new execution name, inside the cooldown.
    let flap = ran(env
        .run_or_refuse(alarm_event(
            &env.estate.trigger_alarm,
            PRIMARY,
            t0 + chrono::Duration::seconds(90),
        ))
        .await);
    assert_eq!(
        flap.status,
        ExecutionStatus::Succeeded,
        "ignored, not failed: {:?}",
        flap.error
    );
    let record = lifeboat::run_record(&flap).unwrap();
    assert_eq!(record["status"], "ignored");
    assert!(
        record["summary"].as_str().unwrap().contains("cooldown after run"),
        "{record}"
    );
    assert!(env.all_weights_are(100, 0).await, "nothing moved");
    let ignored = env.admin().journal.ignored(&flap.name).await.unwrap();
    assert_eq!(ignored.len(), 1, "{ignored:?}");
}

#[tokio::test]
async fn a_trigger_while_another_run_holds_the_lease_changes_nothing() {
    let env = TestEnv::new().await;
    let lease = DynamoLease::new(aws_sdk_dynamodb_client(&env), &env.settings.lease_table);
    let taken = lease
        .acquire("someone-else", chrono::Utc::now(), chrono::Duration::hours(2), false)
        .await
        .unwrap();
    assert!(matches!(taken, LeaseOutcome::Acquired { .. }));
    let exec = ran(env.run_or_refuse(json!({"action": "failover"})).await);
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    let record = lifeboat::run_record(&exec).unwrap();
    assert!(
        record["summary"]
            .as_str()
            .unwrap()
            .contains("run someone-else (a run of us-west-2's state machine) holds the lease"),
        "{record}"
    );
    assert!(env.all_weights_are(100, 0).await);
    // Released, the same request runs.
    lease
        .release("someone-else", chrono::Utc::now(), chrono::Duration::seconds(900))
        .await
        .unwrap();
    let exec = ran(env.run_or_refuse(json!({"action": "failover"})).await);
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert!(env.all_weights_are(0, 100).await);
}

fn aws_sdk_dynamodb_client(env: &TestEnv) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&env.config)
}

/// CloudWatch sends ALARM once. An alarm that came while another run held the
/// lease is kept; the run's end takes it up and, the alarm still in ALARM, its
/// apps that did not move run as a follow-up (the stack's rule starts it from
/// the outcome event; `lifeboat run --local` does the same).
#[tokio::test]
async fn an_alarm_during_a_run_is_kept_and_its_apps_follow_up_when_the_run_ends() {
    let env = TestEnv::new().await;
    let lease = DynamoLease::new(aws_sdk_dynamodb_client(&env), &env.settings.lease_table);
    lease
        .acquire("someone-else", chrono::Utc::now(), chrono::Duration::hours(2), false)
        .await
        .unwrap();
    let event = env.region_alarm_fires().await;
    let turned_away = ran(env.run_or_refuse(event).await);
    assert_eq!(
        turned_away.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        turned_away.error
    );
    let record = lifeboat::run_record(&turned_away).unwrap();
    assert_eq!(record["kept"], json!([env.estate.trigger_alarm]), "{record}");
    // The other run ends (no cooldown for this test's sake); an operator then moves payments alone.
    lease
        .release("someone-else", chrono::Utc::now(), chrono::Duration::zero())
        .await
        .unwrap();
    let (code, stdout, stderr) = harness::run_cli(
        &harness::moto().endpoint(),
        &env.settings,
        &[
            "--output", "json", "run", "--local", "--clock", "virtual", "--input", "-",
        ],
        Some(r#"{"action": "failover", "apps": ["payments"]}"#),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("follow-up run"), "{stderr}");
    // Two executions printed: the operator's, whose outcome carries the
    // follow-up, and the follow-up, which moved the alarm's other apps.
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<serde_json::Value>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(docs.len(), 2, "{stdout}");
    let follow_up = &docs[0]["record"]["follow_up"];
    assert_eq!(follow_up["alarms"], json!([env.estate.trigger_alarm]));
    assert!(
        !follow_up["apps"].as_array().unwrap().contains(&json!("payments")),
        "{follow_up}"
    );
    assert_eq!(docs[1]["record"]["trigger"], "followup", "{}", docs[1]);
    assert_eq!(docs[1]["status"], "SUCCEEDED", "{}", docs[1]);
    assert!(
        env.all_weights_are(0, 100).await,
        "every app of the alarm moved: {:?}",
        env.weights().await
    );
    // Taken up once: nothing is kept any more.
    assert!(
        lifeboat_tasks::pending::pending(&*env.admin().journal)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The cooldown follows a failback only, and for at most a minute. An alarm
/// in it is kept; the execution it started waits the cooldown out and, the
/// alarm still in ALARM, runs the follow-up itself, saying how long it waited.
#[tokio::test]
async fn an_alarm_in_a_failbacks_cooldown_waits_it_out_then_moves_its_apps_and_says_it_waited() {
    let env = TestEnv::new().await;
    // A failback ended just now: its release started the cooldown.
    let lease = DynamoLease::new(aws_sdk_dynamodb_client(&env), &env.settings.lease_table);
    let now = chrono::Utc::now();
    lease
        .acquire("failback-run", now, chrono::Duration::hours(2), false)
        .await
        .unwrap();
    lease
        .release("failback-run", now, chrono::Duration::seconds(60))
        .await
        .unwrap();
    let event = env.region_alarm_fires().await;
    let exec = ran(env.run_or_refuse(event).await);
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let states: Vec<&str> = exec.events.iter().filter_map(|e| e.state.as_deref()).collect();
    for s in [
        "RecordIgnored",
        "WaitOutCooldown",
        "TakeUpKept",
        "StartFollowUp",
        "RecordOutcome",
    ] {
        assert!(states.contains(&s), "{s} not entered: {states:?}");
    }
    let record = lifeboat::run_record(&exec).unwrap();
    assert_eq!(record["trigger"], "followup", "{record}");
    assert_eq!(record["status"], "succeeded", "{record}");
    // It took up its own kept trigger: its cause is the cooldown, not itself.
    let source = record["source"].as_str().unwrap();
    assert!(!source.contains(&exec.name), "names itself as its cause: {source}");
    assert!(
        source.contains("cooldown after run failback-run") && source.contains("taken up by this execution"),
        "{source}"
    );
    // The wait is on the record: since the alarm, why, and for how long.
    let waited = &record["waited"];
    assert!(
        waited["reason"]
            .as_str()
            .unwrap()
            .contains("cooldown after run failback-run"),
        "{record}"
    );
    let seconds = waited["seconds"].as_i64().unwrap();
    assert!((55..=70).contains(&seconds), "waited {seconds} s: {record}");
    assert!(
        record["triggered_at"].is_string(),
        "the RTO starts at the alarm: {record}"
    );
    let rec: lifeboat_core::outcome::RunRecord = serde_json::from_value(record.clone()).unwrap();
    assert!(
        lifeboat::text::run_text(&rec).contains("waited: "),
        "{}",
        lifeboat::text::run_text(&rec)
    );
    assert!(env.all_weights_are(0, 100).await, "{:?}", env.weights().await);
}

/// A drill or a failover starts no cooldown: a disaster right after one is
/// run at once (it used to wait out 900 s after a drill).
#[tokio::test]
async fn a_disaster_right_after_a_real_drill_starts_at_once() {
    let env = TestEnv::new().await;
    let drill = ran(env
        .run_or_refuse(json!({"action": "drill", "apps": ["payments", "search"], "soak_seconds": 0}))
        .await);
    assert_eq!(drill.status, ExecutionStatus::Succeeded, "{:?}", drill.error);
    let st = env.admin().lease.state().await.unwrap();
    assert!(
        st.cooldown_until.is_none_or(|c| c <= chrono::Utc::now()),
        "a drill starts no cooldown: {st:?}"
    );
    let event = env.region_alarm_fires().await;
    let exec = ran(env.run_or_refuse(event).await);
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let states: Vec<&str> = exec.events.iter().filter_map(|e| e.state.as_deref()).collect();
    assert!(!states.contains(&"RecordIgnored"), "held back: {states:?}");
    let record = lifeboat::run_record(&exec).unwrap();
    assert_eq!(record["trigger"], "alarm", "{record}");
    assert_eq!(record["status"], "succeeded", "{record}");
    assert!(record.get("waited").is_none(), "{record}");
    assert!(env.all_weights_are(0, 100).await, "{:?}", env.weights().await);
}

/// Anyone who may put events or start executions could send a follow-up:
/// one runs only as the run it follows recorded it, else it is refused
/// (`Lifeboat.InvalidRequest`, exit 2) and nothing changes.
#[tokio::test]
async fn a_forged_follow_up_is_refused_and_changes_nothing() {
    let env = TestEnv::new().await;
    let endpoint = harness::moto().endpoint();
    let weights_before = env.weights().await;
    // A follow-up after a run that never was.
    let forged =
        json!({"follow_up": {"after_run": "no-such-run", "alarms": [env.estate.trigger_alarm], "apps": ["payments"]}});
    let exec = ran(env.run_or_refuse(forged.clone()).await);
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let error = exec.error.clone().unwrap();
    assert_eq!(error.error, "Lifeboat.InvalidRequest", "{error:?}");
    assert!(error.cause.contains("recorded no follow-up"), "{error:?}");
    assert_eq!(env.weights().await, weights_before, "nothing moved");
    let (code, stdout, stderr) = harness::run_cli(
        &endpoint,
        &env.settings,
        &["run", "--local", "--clock", "virtual", "--input", "-"],
        Some(&json!({"follow_up": {"after_run": "another-run-that-never-was", "alarms": [env.estate.trigger_alarm], "apps": ["payments"]}}).to_string()),
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");

    // A real follow-up: an alarm kept while another run held the lease, taken up by an operator's run's end.
    let lease = DynamoLease::new(aws_sdk_dynamodb_client(&env), &env.settings.lease_table);
    lease
        .acquire("someone-else", chrono::Utc::now(), chrono::Duration::hours(2), false)
        .await
        .unwrap();
    ran(env.run_or_refuse(env.region_alarm_fires().await).await);
    lease
        .release("someone-else", chrono::Utc::now(), chrono::Duration::zero())
        .await
        .unwrap();
    let operator = ran(env
        .run_or_refuse(json!({"action": "failover", "apps": ["payments"]}))
        .await);
    let record = lifeboat::run_record(&operator).unwrap();
    let recorded = record["follow_up"].clone();
    let kept_apps: Vec<String> = serde_json::from_value(recorded["apps"].clone()).unwrap();
    assert!(kept_apps.len() >= 2, "{recorded}");
    // The same run, but fewer apps than it recorded: refused, the app stays where it was.
    let mut forged = recorded.clone();
    forged["apps"] = json!([kept_apps[0]]);
    let before = env.weights().await;
    let exec = ran(env.run_or_refuse(json!({"follow_up": forged})).await);
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let error = exec.error.clone().unwrap();
    assert_eq!(error.error, "Lifeboat.InvalidRequest", "{error:?}");
    assert!(error.cause.contains("the run recorded apps"), "{error:?}");
    assert_eq!(env.weights().await, before, "nothing moved");
    // The refusals are in the journal's trigger log.
    let log = lifeboat_tasks::pending::trigger_log(&*env.admin().journal)
        .await
        .unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.error.as_deref() == Some("Lifeboat.InvalidRequest"))
            .count(),
        3,
        "{log:?}"
    );
    // As recorded, it runs.
    let exec = ran(env.run_or_refuse(json!({"follow_up": recorded})).await);
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
}

/// An alarm event delivered long after its state change (EventBridge retried
/// it for long, it sat in a queue) is refused with its age, and logged.
#[tokio::test]
async fn a_late_alarm_is_refused_with_its_age_and_logged() {
    let env = TestEnv::new().await;
    let before = env.weights().await;
    lifeboat_sandbox::estate::set_alarm(
        &env.config,
        PRIMARY,
        &env.estate.trigger_alarm,
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    )
    .await
    .unwrap();
    let event = alarm_event(
        &env.estate.trigger_alarm,
        PRIMARY,
        chrono::Utc::now() - chrono::Duration::minutes(20),
    );
    let exec = ran(env.run_or_refuse(event).await);
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let error = exec.error.clone().unwrap();
    assert_eq!(error.error, "Lifeboat.InvalidRequest", "{error:?}");
    assert!(error.cause.contains("s old, over the 900 s"), "{error:?}");
    assert_eq!(env.weights().await, before, "nothing moved");
    let log = lifeboat_tasks::pending::trigger_log(&*env.admin().journal)
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].reason.contains("refused as late"), "{log:?}");
    assert!(log[0].kept.is_empty(), "a late alarm is not kept: {log:?}");
}
