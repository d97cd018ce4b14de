//! Progress for people: one line per meaningful history event, on stderr.

use lifeboat_states::{EventSink, HistoryEvent};
use serde_json::Value;
use std::io::Write;
use std::sync::Mutex;

/// Prints progress lines with the time since the execution started.
#[derive(Debug, Default)]
pub struct Progress {
    start: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }
}

fn short(v: &Value, max: usize) -> String {
    let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    if s.chars().count() > max {
        format!("{}...", s.chars().take(max).collect::<String>())
    } else {
        s
    }
}

/// The line an event deserves, if any.
pub fn describe(ev: &HistoryEvent) -> Option<String> {
    let state = ev.state.as_deref().unwrap_or("");
    let d = &ev.details;
    match ev.event_type.as_str() {
        "ExecutionStarted" => Some("execution started".to_string()),
        "MapIterationStarted" if state == "RunPhases" => Some(format!("== phase {}", d["index"])),
        "MapIterationStarted" if state == "RunWaves" => Some(format!("-- wave {}", d["index"])),
        "WaitStateEntered" if state == "Soak" => Some("soaking before failback".to_string()),
        "TaskSucceeded" | "LambdaFunctionSucceeded" => {
            let out = &d["output"];
            let text = match state {
                "Validate" => format!("plan: {}", short(&out["plan"]["summary"], 200)),
                // The wave tasks say what they did in a line (each app when
                // the wave is small, counts and the exceptions when it is not).
                "PromoteDatabases"
                | "CheckDatabases"
                | "ShiftDns"
                | "RollbackUnverified"
                | "RollbackWave"
                | "VerifyApps"
                | "RecheckApps"
                | "ScaleCapacity"
                | "CheckCapacity"
                | "RestoreCapacity"
                | "HooksBeforeDatabase"
                | "HooksBeforeTraffic"
                | "HooksAfterVerify" => short(&out["summary"], 600),
                "CheckDnsSync" | "RecheckDnsSync" | "CheckRollbackSync" | "RecheckRollbackSync" => {
                    match out["pending"].as_u64().unwrap_or(0) {
                        0 if out["in_sync"].as_u64() == Some(0) => "no Route 53 change to wait for".to_string(),
                        0 => format!("{} Route 53 change(s) INSYNC", out["in_sync"]),
                        n => format!("{n} Route 53 change(s) still PENDING (check {})", out["checks"]),
                    }
                }
                "RecordOutcome" | "RecordFailure" | "RecordIgnored" => format!(
                    "recorded: {} - {}",
                    short(&out["status"], 20),
                    short(&out["summary"], 200)
                ),
                "PublishOutcome" | "PublishFailure" => "outcome event published".to_string(),
                "AwaitApproval" => format!(
                    "approved by {}{}",
                    short(&out["approved_by"], 120),
                    out["note"].as_str().map(|n| format!(": {n}")).unwrap_or_default()
                ),
                _ => "done".to_string(),
            };
            Some(format!("{state}: {text}"))
        }
        // May be retried: the next TaskScheduled says so, the execution's end says how it ended.
        "TaskFailed" | "LambdaFunctionFailed" | "TaskTimedOut" => Some(format!(
            "{state}: {}: {}",
            short(&d["error"], 60),
            short(&d["cause"], 300)
        )),
        // A run that waits for a person says how to answer, when it starts waiting.
        "TaskScheduled" if state == "AwaitApproval" => {
            let run = d["parameters"]["Payload"]["run_id"]
                .as_str()
                .or_else(|| d["parameters"]["run_id"].as_str())
                .unwrap_or("RUN");
            Some(format!(
                "{state}: waiting for a person (up to {} s, then {}): {}",
                d["parameters"]["Payload"]["timeout_seconds"]
                    .as_u64()
                    .or_else(|| d["parameters"]["timeout_seconds"].as_u64())
                    .unwrap_or_default(),
                d["parameters"]["Payload"]["on_timeout"]
                    .as_str()
                    .or_else(|| d["parameters"]["on_timeout"].as_str())
                    .unwrap_or("reject"),
                lifeboat_tasks::approval::how_to_answer(run)
            ))
        }
        "TaskScheduled" | "LambdaFunctionScheduled" if d["retryCount"].as_u64().unwrap_or(0) > 0 => {
            Some(format!("{state}: retry {}", d["retryCount"]))
        }
        "ExecutionSucceeded" => Some("execution succeeded".to_string()),
        "ExecutionFailed" => Some(format!(
            "execution FAILED: {}: {}",
            short(&d["error"], 60),
            short(&d["cause"], 300)
        )),
        "ExecutionTimedOut" => Some("execution TIMED OUT".to_string()),
        _ => None,
    }
}

impl EventSink for Progress {
    fn on_event(&self, ev: &HistoryEvent) {
        let start = *self
            .start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(ev.timestamp);
        if let Some(line) = describe(ev) {
            let secs = (ev.timestamp - start).num_milliseconds() as f64 / 1000.0;
            let _ = writeln!(std::io::stderr(), "  [+{secs:>6.1}s] {line}");
        }
    }
}
