//! `lifeboat run`: a run on the local executor (with the follow-ups its
//! outcome asks for), or an execution of a deployed state machine, followed.

use super::factory;
use crate::output::{MAX_LOCAL_FOLLOW_UPS, follow_up_of, print_execution, print_json, print_remote};
use crate::{Cli, CliError, ClockArg, EXIT_OK, OutputFormat, local, progress, remote};
use lifeboat_aws::clients::load_sdk_config;
use lifeboat_states::{Clock, SystemClock, VirtualClock};
use serde_json::{Value, json};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Starts an execution of the deployed state machine `arn` and follows it.
pub(crate) async fn on_aws(cli: &Cli, input: &str, arn: &str, wait_seconds: u64) -> Result<i32, CliError> {
    start_on_aws(cli, lifeboat_input(read_input(input)?)?, arn, wait_seconds).await
}

/// Starts an execution of `arn` with `input` (a trigger) and follows it.
pub(crate) async fn start_on_aws(cli: &Cli, input: Value, arn: &str, wait_seconds: u64) -> Result<i32, CliError> {
    let sfn = aws_sdk_sfn::Client::new(&load_sdk_config(None, None).await);
    let name = local::execution_name(&input, chrono::Utc::now());
    let progress = progress::Progress::new();
    let run = remote::run_remote(
        &sfn,
        arn,
        &name,
        &input,
        std::time::Duration::from_secs(wait_seconds),
        &progress,
    )
    .await?;
    Ok(print_remote(&run, cli.output))
}

/// Runs `definition` on the local executor, then the follow-ups its outcome carries.
pub(crate) async fn on_local(cli: &Cli, input: &str, definition: &Path, clock: &ClockArg) -> Result<i32, CliError> {
    run_locally(cli, read_input(input)?, definition, clock).await
}

/// Runs `input` on the local executor, then the follow-ups its outcome carries.
pub(crate) async fn run_locally(cli: &Cli, input: Value, definition: &Path, clock: &ClockArg) -> Result<i32, CliError> {
    // lifeboat's own definition takes a trigger: a JSON object. Any other
    // ASL file takes what it takes.
    let input = if definition == std::path::Path::new(local::DEFAULT_DEFINITION) {
        lifeboat_input(input)?
    } else {
        input
    };
    let clock: Arc<dyn Clock> = match clock {
        ClockArg::System => Arc::new(SystemClock),
        ClockArg::Virtual => Arc::new(VirtualClock::new(chrono::Utc::now())),
    };
    // The run, then what the stack's follow-up rule does with an outcome
    // event that carries one: start it (a few at most, one after another).
    let mut next = Some(input);
    let mut code = EXIT_OK;
    for attempt in 0..=MAX_LOCAL_FOLLOW_UPS {
        let Some(input) = next.take() else { break };
        if attempt > 0 {
            eprintln!("follow-up run: {input}");
        }
        let f = Arc::new(factory(cli).await?);
        let run = local::run_local(
            definition,
            input,
            f.clone(),
            clock.clone(),
            Some(Arc::new(progress::Progress::new())),
        )
        .await
        .map_err(|e| CliError::bad_input(e.to_string()))?;
        match run {
            local::LocalRun::Ran(exec) => {
                code = code.max(print_execution(&exec, &f.run_counter, cli.output));
                next = follow_up_of(&exec);
            }
            local::LocalRun::Duplicate { name, status } => match cli.output {
                OutputFormat::Json => {
                    print_json(&json!({"execution": name, "duplicate": true, "previous_status": status}))
                }
                OutputFormat::Text => {
                    crate::outln!(
                        "execution {name} already ran ({status}): the same trigger runs once; nothing was done"
                    )
                }
            },
        }
    }
    Ok(code)
}

/// The input of a lifeboat run must be a JSON object (an EventBridge event or
/// a manual request): refused here, with nothing changed, rather than failing
/// inside the state machine.
fn lifeboat_input(input: Value) -> Result<Value, CliError> {
    if input.is_object() {
        return Ok(input);
    }
    let kind = match &input {
        Value::Array(_) => "an array",
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Object(_) => "an object",
    };
    Err(CliError::bad_input(format!(
        "the input is {kind}, not a JSON object: give an EventBridge event or a manual request such as \
         {{\"action\": \"failover\"}}; nothing was changed"
    )))
}

fn read_input(input: &str) -> Result<Value, CliError> {
    let text = if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::bad_input(format!("cannot read standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(input)
            .map_err(|e| CliError::bad_input(format!("cannot read input file {input}: {e}")))?
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::bad_input(format!("input is not valid JSON ({e}); nothing was changed")))
}
