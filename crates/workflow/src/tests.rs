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
