#![allow(clippy::unwrap_used)]

use super::*;

const COMMITTED: &str = include_str!("../../../statemachine/lifeboat.asl.json");

#[test]
fn the_committed_definition_is_the_generators_output() {
    assert!(
        render() == COMMITTED,
        "statemachine/lifeboat.asl.json differs from what crates/workflow declares: run `make asl` and commit the file"
    );
}

#[test]
fn the_output_loads_in_the_executor_with_every_state() {
    let machine = lifeboat_states::parse_definition(&render()).unwrap();
    assert_eq!(machine.start_at, "Start");
    assert_eq!(
        machine.timeout_seconds,
        Some(lifeboat_core::timing::EXECUTION_TIMEOUT_SECONDS)
    );
    let declared = lifeboat::definition();
    assert_eq!(machine.states.len(), declared.states.len());
}

/// Every state, however deep (a Map's item processor too), with its name.
fn every_state(machine: &model::Machine) -> Vec<(String, model::Node)> {
    let mut out = Vec::new();
    for (name, node) in &machine.states {
        out.push((name.clone(), node.clone()));
        if let model::Node::Map(m) = node {
            out.extend(every_state(&m.processor));
        }
    }
    out
}

/// Every Task state, however deep, with its name.
fn tasks(machine: &model::Machine) -> Vec<(String, lifeboat_states::definition::TaskState)> {
    every_state(machine)
        .into_iter()
        .filter_map(|(name, node)| match node {
            model::Node::Task(t) => Some((name, t)),
            _ => None,
        })
        .collect()
}

fn retried(t: &lifeboat_states::definition::TaskState) -> Vec<String> {
    t.retry.iter().flat_map(|r| r.error_equals.clone()).collect()
}

#[test]
fn every_task_has_a_catch_and_every_lambda_task_retries_lambdas_errors_and_throttling() {
    let all = tasks(&lifeboat::definition());
    assert!(all.len() >= 15, "{} tasks", all.len());
    for (name, t) in all {
        assert!(!t.catch.is_empty(), "{name} has no Catch");
        // A callback waits for a person up to the plan's approval timeout; any other task has a fixed one.
        let callback = lifeboat_states::callback::callback_base(&t.resource).is_some();
        assert!(
            t.timeout_seconds.is_some() || (callback && t.timeout_seconds_path.is_some()),
            "{name} has no TimeoutSeconds"
        );
        let resource = lifeboat_states::callback::callback_base(&t.resource).unwrap_or(&t.resource);
        if resource != lifeboat_states::LAMBDA_INVOKE {
            continue;
        }
        let errors = retried(&t);
        for e in [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Lambda.ClientExecutionTimeoutException",
            lifeboat_core::ErrorName::Throttled.as_str(),
            lifeboat_core::ErrorName::Internal.as_str(),
        ] {
            assert!(errors.iter().any(|x| x == e), "{name} does not retry {e}");
        }
    }
}

/// A burst (one alarm per app as the primary dies) meets the functions'
/// reserved concurrency: the states that take a trigger in, or keep it,
/// wait out Lambda's throttling first and longest (30 attempts backing off
/// to a minute, about a quarter of an hour), so no trigger is lost to it.
#[test]
fn the_states_that_keep_triggers_wait_out_lambdas_throttling_longest() {
    let all = tasks(&lifeboat::definition());
    for name in ["Validate", "RecordRefused", "RecordIgnored", "TakeUpKept"] {
        let (_, t) = all.iter().find(|(n, _)| n == name).unwrap();
        let first = &t.retry[0];
        assert_eq!(first.error_equals, ["Lambda.TooManyRequestsException"], "{name}");
        assert!(first.max_attempts.unwrap() >= 30, "{name}");
        assert_eq!(first.max_delay_seconds, Some(60), "{name}");
        // Backing off from 2 s by 2 to the minute: about a quarter of an hour in all.
        let waited: u64 = (0..first.max_attempts.unwrap())
            .map(|i| (first.interval_seconds.unwrap() << i.min(6)).min(60))
            .sum();
        assert!(waited >= 15 * 60, "{name} waits {waited} s");
    }
}

/// Every Wait state, however deep, with its name.
fn waits(machine: &model::Machine) -> Vec<(String, lifeboat_states::definition::WaitState)> {
    every_state(machine)
        .into_iter()
        .filter_map(|(name, node)| match node {
            model::Node::Wait(w) => Some((name, w)),
            _ => None,
        })
        .collect()
}

/// The plan's budget gives each DNS change the checks CheckDnsSync makes, as
/// far apart as the definition waits between them.
#[test]
fn dns_changes_are_polled_as_the_budget_counts_them() {
    let all = waits(&lifeboat::definition());
    for name in ["WaitForDnsSync", "WaitForRollbackSync"] {
        let (_, w) = all.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(w.seconds, Some(lifeboat_core::timing::DNS_SYNC_POLL_SECONDS), "{name}");
    }
    assert_eq!(
        u64::from(lifeboat_tasks::check_dns_sync::MAX_CHECKS) * lifeboat_core::timing::DNS_SYNC_POLL_SECONDS,
        lifeboat_core::timing::DNS_SYNC_ALLOWANCE_SECONDS
    );
}
