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

/// What a wave's routing-control update did, for its ShiftDns line.
fn arc_text(arc: &Value) -> String {
    let mut s = format!(
        "; routing controls: {} set in {} UpdateRoutingControlStates call(s) through the ARC endpoint in {}",
        arc["controls_changed"],
        arc["updates"],
        short(&arc["endpoint_region"], 40)
    );
    if let Some(skipped) = arc["endpoints_skipped"].as_array().filter(|a| !a.is_empty()) {
        s.push_str(&format!(" (no answer from {})", skipped.len()));
    }
    if let Some(rules) = arc["overridden_rules"].as_array().filter(|a| !a.is_empty()) {
        s.push_str(&format!("; safety rules overridden: {}", rules.len()));
    }
    if let Some(recs) = arc["endpoint_records_not_repointed"]
        .as_array()
        .filter(|a| !a.is_empty())
    {
        s.push_str(&format!(
            "; database endpoint records NOT repointed (Route 53's API did not answer), set by hand: {}",
            recs.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
        ));
    }
    s
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
                "ShiftDns" | "RollbackUnverified" | "RollbackWave" => {
                    let n = out["records_changed"].as_u64().unwrap_or(0);
                    let apps = out["apps"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    if state != "ShiftDns" && apps.is_empty() {
                        return None;
                    }
                    let batches = out["changes"].as_array().map(Vec::len).unwrap_or(0);
                    let arc = out.get("arc").filter(|a| a.is_object());
                    let mut line = if n == 0 && arc.is_some() {
                        format!("[{apps}] no record edited")
                    } else if n == 0 {
                        format!("[{apps}] weights already in place: no change call")
                    } else {
                        format!("[{apps}] {n} record(s) changed in {batches} change batch(es)")
                    };
                    if let Some(arc) = arc {
                        line.push_str(&arc_text(arc));
                    }
                    line
                }
                "PromoteDatabase" => format!("[{}] {}", short(&out["app"], 40), short(&out["detail"], 240)),
                "CheckDatabase" => format!(
                    "[{}] {} (check {})",
                    short(&out["app"], 40),
                    if out["writable"] == Value::Bool(true) {
                        format!("writable: {}", short(&out["detail"], 160))
                    } else {
                        format!("not writable yet: {}", short(&out["detail"], 160))
                    },
                    out["checks"]
                ),
                "WaitForDnsSync" | "WaitForRollbackSync" | "WaitForWaveRollback" => {
                    format!("{} change(s) INSYNC", out["in_sync"])
                }
                "VerifyTraffic" => format!(
                    "[{}] {} (check {})",
                    short(&out["app"], 40),
                    if out["healthy"] == Value::Bool(true) {
                        "healthy".to_string()
                    } else {
                        format!("not healthy: {}", short(&out["detail"], 160))
                    },
                    out["checks"]
                ),
                "RecordOutcome" | "RecordFailure" | "RecordIgnored" => format!(
                    "recorded: {} - {}",
                    short(&out["status"], 20),
                    short(&out["summary"], 200)
                ),
                "PublishOutcome" | "PublishFailure" => "outcome event published".to_string(),
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
