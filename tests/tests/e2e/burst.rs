//! End-to-end: a burst of triggers. The primary goes dark and every app's
//! probe alarm in the recovery Region goes to ALARM in the same second: 200
//! distinct alarm events reach the state machine at once. Each function
//! reserves 5 concurrent executions (the stack's `FunctionConcurrency`), and
//! the local executor answers an invocation beyond that
//! `Lambda.TooManyRequestsException`, as Lambda does; the state machine's
//! retries back off in real time too (each execution's clock sleeps a
//! twentieth of its virtual delays), so contention plays out as on AWS.
//!
//! No trigger may be lost: every app must end in the recovery Region, and the
//! journal must account for every one of the 200 executions (it ran, or it
//! was logged as turned away or refused, its alarm kept and taken up). What
//! the stack does with the rest is done here the same way: a run's follow-up
//! is started from its record (the follow-up rule), and the retry schedule's
//! take-up runs (`{"take_up_kept": ...}`) until nothing is kept.

#![allow(clippy::unwrap_used)]

use futures::future::join_all;
use harness::scale::{Scale, misplaced};
use harness::{ScaledEnv, moto, sdk_config, unique};
use lifeboat::concurrency::ReservedConcurrency;
use lifeboat::local::{LocalOptions, LocalRun, run_local_with};
use lifeboat_aws::CallCounter;
use lifeboat_sandbox::estate::{alarm_event, set_alarm};
use lifeboat_states::{Execution, ExecutionStatus, VirtualClock};
use lifeboat_tasks::AwsServicesFactory;
use lifeboat_tasks::pending::{all_kept, pending, trigger_log};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

const APPS: usize = 200;
/// Each function's reserved concurrency (the template's default FunctionConcurrency).
const RESERVED: usize = 5;
/// Each execution's clock sleeps 1/20 of its virtual delays for real.
const REAL_DIVISOR: u32 = 20;

fn definition() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json")
}

async fn execute(factory: &Arc<AwsServicesFactory>, options: &LocalOptions, input: Value) -> Option<Execution> {
    let clock = Arc::new(VirtualClock::scaled(chrono::Utc::now(), REAL_DIVISOR));
    match run_local_with(&definition(), input, factory.clone(), clock, None, options)
        .await
        .unwrap()
    {
        LocalRun::Ran(e) => Some(*e),
        LocalRun::Duplicate { .. } => None,
    }
}

#[tokio::test]
async fn two_hundred_probe_alarms_at_once_move_every_app_and_the_journal_accounts_for_each() {
    let ScaledEnv {
        registry,
        settings,
        setup,
        admin,
    } = ScaledEnv::new(&Scale {
        name: unique("burst"),
        apps: APPS,
        zones: 4,
        db_apps: 0,
        alarms: true,
        health_checked: 0,
        probe: None,
        detection: true,
    })
    .await;
    // The primary is dark: every app's probe alarm is in ALARM. (Made with
    // the setup key: `registry apply` paces PutMetricAlarm at CloudWatch's 3
    // a second, a minute for 200; the alarms' shape is not what is tested.)
    let probe_alarms: Vec<String> = registry
        .applications
        .iter()
        .filter_map(|a| a.detection_alarm())
        .collect();
    assert_eq!(probe_alarms.len(), APPS);
    for alarm in &probe_alarms {
        lifeboat_sandbox::estate::create_ok_alarm(&setup, "us-west-2", alarm)
            .await
            .unwrap();
        set_alarm(&setup, "us-west-2", alarm, aws_sdk_cloudwatch::types::StateValue::Alarm)
            .await
            .unwrap();
    }

    let factory = Arc::new(AwsServicesFactory::new(
        sdk_config(&moto().endpoint()).await,
        settings.clone(),
        CallCounter::new(),
    ));
    let concurrency = Arc::new(ReservedConcurrency::new(RESERVED));
    let options = LocalOptions {
        concurrency: Some(concurrency.clone()),
        ..LocalOptions::default()
    };
    let wall = std::time::Instant::now();
    let now = chrono::Utc::now();
    let events: Vec<Value> = probe_alarms.iter().map(|a| alarm_event(a, "us-west-2", now)).collect();
    let burst: Vec<Execution> = join_all(events.iter().map(|e| execute(&factory, &options, e.clone())))
        .await
        .into_iter()
        .map(|e| e.expect("200 distinct alarms: no duplicate names"))
        .collect();
    let burst_names: BTreeSet<String> = burst.iter().map(|e| e.name.clone()).collect();
    assert_eq!(burst_names.len(), APPS);
    let turned_away_or_refused = burst
        .iter()
        .filter(|e| {
            lifeboat::run_record(e).is_some_and(|r| r["status"] == "ignored") || e.status != ExecutionStatus::Succeeded
        })
        .count();

    // What the stack does next: the follow-up rule starts each run's
    // follow-up; the retry schedule takes up what is still kept.
    let mut executions: Vec<Execution> = burst.clone();
    let mut next: Vec<Value> = burst.iter().filter_map(lifeboat::follow_up_of).collect();
    for _round in 0..10 {
        if next.is_empty() {
            if pending(&*admin.journal).await.unwrap().is_empty() {
                break;
            }
            next.push(json!({"take_up_kept": "schedule"}));
        }
        let ran: Vec<Execution> = join_all(next.drain(..).map(|i| execute(&factory, &options, i)))
            .await
            .into_iter()
            .flatten()
            .collect();
        next.extend(ran.iter().filter_map(lifeboat::follow_up_of));
        executions.extend(ran);
    }
    let wall = wall.elapsed();

    // Every app is in the recovery Region, and recorded there.
    let wrong = misplaced(&*admin.dns_read, &registry, |_| (0, 100)).await;
    let failed: Vec<(&str, Option<&str>)> = executions
        .iter()
        .filter(|e| e.status != ExecutionStatus::Succeeded)
        .map(|e| (e.name.as_str(), e.error.as_ref().map(|x| x.error.as_str())))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} apps not moved: {wrong:?}; failed executions: {failed:?}",
        wrong.len()
    );
    let stored = admin.registry.load().await.unwrap();
    assert!(stored.iter().all(|a| a.active_region.as_deref() == Some("us-west-2")));

    // The journal accounts for every trigger: it ran, or it was logged as
    // turned away or refused; whatever was kept was taken up.
    let log = trigger_log(&*admin.journal).await.unwrap();
    let logged: BTreeSet<&str> = log.iter().map(|e| e.run_id.as_str()).collect();
    let mut unaccounted = Vec::new();
    for e in &burst {
        let ran = admin.journal.get_run(&e.name).await.unwrap().is_some();
        if !ran && !logged.contains(e.name.as_str()) {
            unaccounted.push(e.name.clone());
        }
    }
    assert!(unaccounted.is_empty(), "{unaccounted:?}");
    assert!(
        pending(&*admin.journal).await.unwrap().is_empty(),
        "everything kept was taken up"
    );
    let kept = all_kept(&*admin.journal).await.unwrap();
    assert!(kept.iter().all(|k| k.taken_up_by.is_some()));
    // Every failed execution failed visibly, with a name: none was lost quietly.
    for e in executions.iter().filter(|e| e.status != ExecutionStatus::Succeeded) {
        let error = e.error.as_ref().unwrap();
        assert!(!error.error.is_empty(), "{}: {error:?}", e.name);
    }

    let runs_that_moved: Vec<&Execution> = executions
        .iter()
        .filter(|e| lifeboat::run_record(e).is_some_and(|r| r["apps_moved"].as_u64().unwrap_or(0) > 0))
        .collect();
    let moved: u64 = runs_that_moved
        .iter()
        .filter_map(|e| lifeboat::run_record(e).and_then(|r| r["apps_moved"].as_u64()))
        .sum();
    assert_eq!(moved, APPS as u64, "each app moved once");
    let start = executions.iter().map(|e| e.start_date).min().unwrap();
    let end = executions.iter().map(|e| e.stop_date).max().unwrap();
    eprintln!(
        "burst: {APPS} triggers delivered at once; {} executions started ({} by the burst, {} turned away or \
         refused, {} follow-ups and take-ups); {} runs moved {moved} apps; {} Lambda invocations throttled \
         (reserved concurrency {RESERVED}); {} kept triggers; virtual {:.0} s, wall {:.1} s",
        executions.len(),
        burst.len(),
        turned_away_or_refused,
        executions.len() - burst.len(),
        runs_that_moved.len(),
        concurrency.throttled(),
        kept.len(),
        (end - start).num_milliseconds() as f64 / 1000.0,
        wall.as_secs_f64()
    );
    assert!(concurrency.throttled() > 0, "the burst met the reserved concurrency");
}
