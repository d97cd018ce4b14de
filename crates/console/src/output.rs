//! What a finished run prints: the execution, its record, its exit code; and
//! the HTML report's file.

use crate::{CliError, EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, remote, report, text};
use lifeboat_aws::CallCounter;
use lifeboat_core::ErrorName;
use lifeboat_states::{Execution, ExecutionStatus};
use serde_json::{Value, json};

/// How a verb prints: for people, or one JSON document for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Writes a run's HTML report (its folder created if missing).
pub fn write_html_report(data: &report::RunReport, path: &std::path::Path) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::bad_input(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, report::html::render(data))
        .map_err(|e| CliError::bad_input(format!("cannot write {}: {e}", path.display())))
}

/// Prints a remote run's result and returns its exit code.
pub fn print_remote(run: &remote::RemoteRun, format: OutputFormat) -> i32 {
    let (doc, text, code) = match run {
        remote::RemoteRun::Finished {
            name,
            arn,
            status,
            output,
            error,
        } => {
            let code = match (status.as_str(), error) {
                ("SUCCEEDED", _) => EXIT_OK,
                (_, Some((e, _))) if e == ErrorName::InvalidRequest.as_str() => EXIT_BAD_INPUT,
                _ => EXIT_RUN_FAILED,
            };
            let text = match error {
                Some((e, c)) => format!("execution {name}: {status}\n  error: {e}: {c}"),
                None => format!("execution {name}: {status}"),
            };
            (
                json!({"execution": name, "arn": arn, "status": status, "output": output, "error": error}),
                text,
                code,
            )
        }
        remote::RemoteRun::Running { name, arn } => (
            json!({"execution": name, "arn": arn, "status": "RUNNING"}),
            format!(
                "execution {name} is still running; follow it with `lifeboat status --state-machine-arn ...` or the console"
            ),
            EXIT_OK,
        ),
        remote::RemoteRun::Duplicate { name } => (
            json!({"execution": name, "duplicate": true}),
            format!("execution {name} already exists: the same trigger runs once; nothing was started"),
            EXIT_OK,
        ),
    };
    match format {
        OutputFormat::Json => print_json(&doc),
        OutputFormat::Text => crate::outln!("{text}"),
    }
    code
}

/// The run record the execution's RecordOutcome/RecordFailure task produced, if any.
pub fn run_record(exec: &Execution) -> Option<Value> {
    exec.events
        .iter()
        .rev()
        .find(|e| {
            e.event_type == "TaskSucceeded"
                && matches!(
                    e.state.as_deref(),
                    Some("RecordOutcome") | Some("RecordFailure") | Some("RecordIgnored")
                )
        })
        .map(|e| e.details["output"].clone())
}

/// The most follow-up runs one `lifeboat run --local` starts after its own.
pub const MAX_LOCAL_FOLLOW_UPS: usize = 3;

/// The follow-up run an execution's record carries, as its input.
pub fn follow_up_of(exec: &Execution) -> Option<Value> {
    let record = run_record(exec)?;
    let f: lifeboat_core::request::FollowUp = serde_json::from_value(record.get("follow_up")?.clone()).ok()?;
    Some(f.input())
}

/// The exit code an execution deserves.
pub fn exit_code(exec: &Execution) -> i32 {
    match (&exec.status, &exec.error) {
        (ExecutionStatus::Succeeded, _) => EXIT_OK,
        (_, Some(e)) if e.error == ErrorName::InvalidRequest.as_str() => EXIT_BAD_INPUT,
        _ => EXIT_RUN_FAILED,
    }
}

/// Prints an execution's result (stdout) and returns its exit code.
pub fn print_execution(exec: &Execution, counter: &CallCounter, format: OutputFormat) -> i32 {
    let record = run_record(exec);
    let calls = counter.snapshot();
    match format {
        OutputFormat::Json => print_json(&json!({
            "execution": exec.name,
            "status": exec.status,
            "error": exec.error,
            "output": exec.output,
            "record": record,
            "api_calls": calls,
        })),
        OutputFormat::Text => {
            crate::outln!("execution {}: {:?}", exec.name, exec.status);
            if let Some(e) = &exec.error {
                crate::outln!("  error: {}: {}", e.error, e.cause);
            }
            if let Some(r) = &record {
                crate::outln!("  {}", r["summary"].as_str().unwrap_or(""));
            }
            crate::outln!("  AWS API calls: {}", text::calls_line(&calls));
            if let Some(reported) = record.as_ref().and_then(|r| r["api_calls"].as_object()) {
                let in_report: u64 = reported.values().filter_map(Value::as_u64).sum();
                crate::outln!("  {}", text::calls_in_report(calls.total(), in_report));
            }
        }
    }
    exit_code(exec)
}

/// A JSON document on stdout, pretty-printed (through a `Value`, so its
/// keys are in the same order whatever is printed).
pub fn print_json(v: &impl serde::Serialize) {
    let v = serde_json::to_value(v).unwrap_or(Value::Null);
    crate::outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()));
}

/// Writes to standard output. A reader that went away (`lifeboat ... | head`)
/// is not an error and never a panic: the command goes on (a run is not cut
/// short because its pager closed) and its output goes nowhere.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args)
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        tracing::warn!(error = %e, "could not write to standard output");
    }
}

/// `println!` that survives a closed pipe (see [`write_stdout`]).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that survives a closed pipe (see [`write_stdout`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}
