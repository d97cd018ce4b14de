//! The definition model and its load-time checks.
//!
//! Every state is parsed with unknown fields refused, and then checked the way
//! Step Functions checks a definition on CreateStateMachine: transitions go to
//! existing states, every state is reachable, each state type has exactly the
//! fields it needs. Fields AWS has but this executor does not run (JSONata,
//! variables, Distributed Map, heartbeats) are named as unsupported.
//!
//! The state types also serialise, fields in the order a reviewer reads them
//! (what the state does, where it goes, how it retries), absent ones left
//! out: the workflow crate writes the definition with them.

use crate::error::LoadError;
use crate::paths;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// `Some(Value::Null)` for an explicit null, `None` when absent.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// InputPath / OutputPath / ResultPath: absent (`$`), null (discard) or a path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathSpec {
    Default,
    Null,
    Path(String),
}

impl PathSpec {
    fn from_field(v: &Option<Value>, field: &str, state: &str) -> Result<PathSpec, LoadError> {
        match v {
            None => Ok(PathSpec::Default),
            Some(Value::Null) => Ok(PathSpec::Null),
            Some(Value::String(s)) => Ok(PathSpec::Path(s.clone())),
            Some(other) => Err(LoadError(format!(
                "state \"{state}\": {field} must be a string or null, not {other}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Retrier {
    pub error_equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Catcher {
    pub error_equals: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<Value>,
    pub next: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Fields shared by the states that pass data along.
#[derive(Debug, Clone, Default)]
pub struct Common {
    pub input_path: Option<Value>,
    pub output_path: Option<Value>,
    pub next: Option<String>,
    pub end: Option<bool>,
}

/// Declares a state struct with the common fields inlined (serde cannot
/// refuse unknown fields through `flatten`): the state's own fields, then
/// Next or End, then `after` (its Retry and Catch).
macro_rules! state_struct {
    ($name:ident { $($body:tt)* }) => {
        state_struct!($name { $($body)* } after {});
    };
    ($name:ident { $($body:tt)* } after { $($after:tt)* }) => {
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "PascalCase")]
        pub struct $name {
            #[serde(rename = "Type")]
            pub kind: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub comment: Option<String>,
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
            pub input_path: Option<Value>,
            #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
            pub output_path: Option<Value>,
            $($body)*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub next: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub end: Option<bool>,
            $($after)*
        }
        impl $name {
            pub fn common(&self) -> Common {
                Common {
                    input_path: self.input_path.clone(),
                    output_path: self.output_path.clone(),
                    next: self.next.clone(),
                    end: self.end,
                }
            }
        }
    };
}

state_struct!(TaskState {
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds_path: Option<String>,
    /// A callback's longest wait between heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<Value>,
} after {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
});

state_struct!(PassState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<Value>,
});

state_struct!(WaitState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<String>,
});

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ChoiceState {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<Value>,
    pub choices: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SucceedState {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub input_path: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub output_path: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct FailState {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
}

state_struct!(ParallelState {
    pub branches: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<Value>,
} after {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
});

state_struct!(MapState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_selector: Option<Value>,
    /// Legacy name of ItemSelector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<Value>,
    /// Legacy name of ItemProcessor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterator: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_selector: Option<Value>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub result_path: Option<Value>,
} after {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
});

/// A state, checked.
#[derive(Debug, Clone)]
pub enum State {
    Task(TaskState),
    Pass(PassState),
    Wait(WaitState),
    Choice(ChoiceState),
    Succeed(SucceedState),
    Fail(FailState),
    Parallel(ParallelState, Vec<StateMachine>),
    Map(MapState, Box<StateMachine>),
}

impl State {
    pub fn type_name(&self) -> &'static str {
        match self {
            State::Task(_) => "Task",
            State::Pass(_) => "Pass",
            State::Wait(_) => "Wait",
            State::Choice(_) => "Choice",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
            State::Parallel(..) => "Parallel",
            State::Map(..) => "Map",
        }
    }
}

/// A state machine (or a Parallel branch, or a Map's item processor).
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub start_at: String,
    pub states: HashMap<String, State>,
    pub timeout_seconds: Option<u64>,
}

/// Fields AWS defines that this executor does not run.
const UNSUPPORTED_FIELDS: &[(&str, &str)] = &[
    ("QueryLanguage", "JSONata is not supported; use JSONPath"),
    ("Arguments", "JSONata is not supported; use Parameters"),
    ("Output", "JSONata is not supported; use OutputPath/ResultSelector"),
    ("Assign", "variables are not supported"),
    ("HeartbeatSecondsPath", "give HeartbeatSeconds as a number"),
    ("Credentials", "cross-account task credentials are not supported"),
    ("ItemReader", "Distributed Map is not supported"),
    ("ItemBatcher", "Distributed Map is not supported"),
    ("ResultWriter", "Distributed Map is not supported"),
    ("ToleratedFailurePercentage", "Distributed Map is not supported"),
    ("ToleratedFailurePercentagePath", "Distributed Map is not supported"),
    ("ToleratedFailureCount", "Distributed Map is not supported"),
    ("ToleratedFailureCountPath", "Distributed Map is not supported"),
    (
        "MaxConcurrencyPath",
        "MaxConcurrencyPath is not supported; use MaxConcurrency",
    ),
    ("Label", "Distributed Map is not supported"),
    ("Items", "JSONata is not supported; use ItemsPath"),
];

/// Parses and checks a definition.
pub fn parse_definition(text: &str) -> Result<StateMachine, LoadError> {
    let v: Value = serde_json::from_str(text).map_err(|e| LoadError(format!("not valid JSON: {e}")))?;
    parse_machine(&v, "the definition", true)
}

fn parse_machine(v: &Value, what: &str, top: bool) -> Result<StateMachine, LoadError> {
    let obj = v
        .as_object()
        .ok_or_else(|| LoadError(format!("{what} must be a JSON object")))?;
    for key in obj.keys() {
        let ok = matches!(key.as_str(), "StartAt" | "States" | "Comment")
            || (top && matches!(key.as_str(), "TimeoutSeconds" | "Version"))
            || (!top && key == "ProcessorConfig");
        if !ok {
            let why = UNSUPPORTED_FIELDS
                .iter()
                .find(|(f, _)| f == key)
                .map(|(_, w)| *w)
                .unwrap_or("unknown field");
            return Err(LoadError(format!("{what}: field \"{key}\": {why}")));
        }
    }
    if let Some(cfg) = obj.get("ProcessorConfig") {
        let mode = cfg.get("Mode").and_then(Value::as_str).unwrap_or("INLINE");
        if mode != "INLINE" {
            return Err(LoadError(format!(
                "{what}: ProcessorConfig.Mode {mode} is not supported (only INLINE)"
            )));
        }
    }
    let start_at = obj
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| LoadError(format!("{what} has no StartAt")))?
        .to_string();
    let states_v = obj
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| LoadError(format!("{what} has no States object")))?;
    if states_v.is_empty() {
        return Err(LoadError(format!("{what} has no states")));
    }
    let timeout_seconds = match obj.get("TimeoutSeconds") {
        None => None,
        Some(t) => Some(
            t.as_u64()
                .ok_or_else(|| LoadError("TimeoutSeconds must be a positive integer".into()))?,
        ),
    };
    let mut states = HashMap::new();
    for (name, sv) in states_v {
        if name.is_empty() || name.chars().count() > 80 {
            return Err(LoadError(format!("state name \"{name}\" must be 1-80 characters")));
        }
        states.insert(name.clone(), parse_state(name, sv)?);
    }
    let machine = StateMachine {
        start_at,
        states,
        timeout_seconds,
    };
    check_transitions(&machine, what)?;
    Ok(machine)
}

fn parse_state(name: &str, v: &Value) -> Result<State, LoadError> {
    let err = |m: String| LoadError(format!("state \"{name}\": {m}"));
    let obj = v.as_object().ok_or_else(|| err("must be a JSON object".into()))?;
    for (field, why) in UNSUPPORTED_FIELDS {
        if obj.contains_key(*field) {
            return Err(err(format!("field \"{field}\": {why}")));
        }
    }
    let kind = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| err("has no Type".into()))?;
    fn de<T: serde::de::DeserializeOwned>(v: &Value, name: &str) -> Result<T, LoadError> {
        serde_json::from_value(v.clone()).map_err(|e| LoadError(format!("state \"{name}\": {e}")))
    }
    let state = match kind {
        "Task" => State::Task(de(v, name)?),
        "Pass" => State::Pass(de(v, name)?),
        "Wait" => State::Wait(de(v, name)?),
        "Choice" => State::Choice(de(v, name)?),
        "Succeed" => State::Succeed(de(v, name)?),
        "Fail" => State::Fail(de(v, name)?),
        "Parallel" => {
            let p: ParallelState = de(v, name)?;
            if p.branches.is_empty() {
                return Err(err("Branches must not be empty".into()));
            }
            let branches = p
                .branches
                .iter()
                .enumerate()
                .map(|(i, b)| parse_machine(b, &format!("state \"{name}\" branch {i}"), false))
                .collect::<Result<Vec<_>, _>>()?;
            State::Parallel(p, branches)
        }
        "Map" => {
            let m: MapState = de(v, name)?;
            let proc_v = match (&m.item_processor, &m.iterator) {
                (Some(p), None) | (None, Some(p)) => p,
                (Some(_), Some(_)) => return Err(err("has both ItemProcessor and Iterator".into())),
                (None, None) => return Err(err("needs an ItemProcessor".into())),
            };
            if m.item_selector.is_some() && m.parameters.is_some() {
                return Err(err("has both ItemSelector and Parameters".into()));
            }
            let processor = parse_machine(proc_v, &format!("state \"{name}\" ItemProcessor"), false)?;
            State::Map(m, Box::new(processor))
        }
        other => return Err(err(format!("unknown Type \"{other}\""))),
    };
    check_state(name, &state)?;
    Ok(state)
}

fn check_state(name: &str, state: &State) -> Result<(), LoadError> {
    let err = |m: String| LoadError(format!("state \"{name}\": {m}"));
    let path = |field: &str, v: &Option<Value>| -> Result<(), LoadError> {
        if let PathSpec::Path(p) = PathSpec::from_field(v, field, name)? {
            paths::check_path(&p).map_err(|e| err(format!("{field}: {e}")))?;
        }
        Ok(())
    };
    let result_path = |v: &Option<Value>| -> Result<(), LoadError> {
        if let PathSpec::Path(p) = PathSpec::from_field(v, "ResultPath", name)? {
            paths::check_reference_path(&p).map_err(|e| err(format!("ResultPath: {e}")))?;
        }
        Ok(())
    };
    let template = |field: &str, v: &Option<Value>| -> Result<(), LoadError> {
        if let Some(t) = v {
            if !t.is_object() {
                return Err(err(format!("{field} must be a JSON object")));
            }
            paths::check_template(t).map_err(|e| err(format!("{field}: {e}")))?;
        }
        Ok(())
    };
    let next_or_end = |c: &Common| -> Result<(), LoadError> {
        match (&c.next, c.end) {
            (Some(_), Some(true)) => Err(err("has both Next and End".into())),
            (None, None | Some(false)) => Err(err("needs Next or \"End\": true".into())),
            _ => Ok(()),
        }
    };
    let common = |c: &Common| -> Result<(), LoadError> {
        path("InputPath", &c.input_path)?;
        path("OutputPath", &c.output_path)?;
        next_or_end(c)
    };
    let retry_catch = |retry: &[Retrier], catch: &[Catcher]| -> Result<(), LoadError> {
        for (i, r) in retry.iter().enumerate() {
            check_error_equals(&r.error_equals, i + 1 == retry.len()).map_err(|e| err(format!("Retry[{i}]: {e}")))?;
            if r.interval_seconds == Some(0) {
                return Err(err(format!("Retry[{i}]: IntervalSeconds must be at least 1")));
            }
            if r.backoff_rate.is_some_and(|b| b < 1.0) {
                return Err(err(format!("Retry[{i}]: BackoffRate must be at least 1.0")));
            }
            if r.max_delay_seconds == Some(0) {
                return Err(err(format!("Retry[{i}]: MaxDelaySeconds must be at least 1")));
            }
            if let Some(j) = &r.jitter_strategy
                && j != "FULL"
                && j != "NONE"
            {
                return Err(err(format!("Retry[{i}]: JitterStrategy must be FULL or NONE, not {j}")));
            }
        }
        for (i, c) in catch.iter().enumerate() {
            check_error_equals(&c.error_equals, i + 1 == catch.len()).map_err(|e| err(format!("Catch[{i}]: {e}")))?;
            if let PathSpec::Path(p) = PathSpec::from_field(&c.result_path, "ResultPath", name)? {
                paths::check_reference_path(&p).map_err(|e| err(format!("Catch[{i}].ResultPath: {e}")))?;
            }
        }
        Ok(())
    };
    match state {
        State::Task(t) => {
            common(&t.common())?;
            template("Parameters", &t.parameters)?;
            template("ResultSelector", &t.result_selector)?;
            result_path(&t.result_path)?;
            retry_catch(&t.retry, &t.catch)?;
            if t.resource.ends_with(".sync") {
                return Err(err(format!(
                    "Resource {}: .sync integrations are not supported (callbacks, .waitForTaskToken, are)",
                    t.resource
                )));
            }
            if t.timeout_seconds.is_some() && t.timeout_seconds_path.is_some() {
                return Err(err("has both TimeoutSeconds and TimeoutSecondsPath".into()));
            }
            if t.timeout_seconds == Some(0) {
                return Err(err("TimeoutSeconds must be at least 1".into()));
            }
            if let Some(p) = &t.timeout_seconds_path {
                paths::check_path(p).map_err(|e| err(format!("TimeoutSecondsPath: {e}")))?;
            }
            if let (Some(h), Some(limit)) = (t.heartbeat_seconds, t.timeout_seconds)
                && h >= limit
            {
                return Err(err("HeartbeatSeconds must be smaller than TimeoutSeconds".into()));
            }
            if t.heartbeat_seconds.is_some() && crate::callback::callback_base(&t.resource).is_none() {
                return Err(err(
                    "HeartbeatSeconds is for a callback (a resource ending in .waitForTaskToken)".into(),
                ));
            }
            if crate::callback::callback_base(&t.resource).unwrap_or(&t.resource) == crate::executor::LAMBDA_INVOKE {
                let params = t.parameters.as_ref().and_then(Value::as_object);
                let has = |k: &str| params.is_some_and(|p| p.contains_key(k) || p.contains_key(&format!("{k}.$")));
                if !has("FunctionName") {
                    return Err(err(
                        "arn:aws:states:::lambda:invoke needs Parameters.FunctionName".into()
                    ));
                }
            }
        }
        State::Pass(p) => {
            common(&p.common())?;
            template("Parameters", &p.parameters)?;
            result_path(&p.result_path)?;
        }
        State::Wait(w) => {
            common(&w.common())?;
            let count = [
                w.seconds.is_some(),
                w.seconds_path.is_some(),
                w.timestamp.is_some(),
                w.timestamp_path.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if count != 1 {
                return Err(err(
                    "needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath".into(),
                ));
            }
            if let Some(ts) = &w.timestamp {
                chrono::DateTime::parse_from_rfc3339(ts).map_err(|e| err(format!("Timestamp \"{ts}\": {e}")))?;
            }
            for p in [&w.seconds_path, &w.timestamp_path].into_iter().flatten() {
                paths::check_path(p).map_err(|e| err(e.to_string()))?;
            }
        }
        State::Choice(c) => {
            path("InputPath", &c.input_path)?;
            path("OutputPath", &c.output_path)?;
            if c.choices.is_empty() {
                return Err(err("Choices must not be empty".into()));
            }
            for (i, rule) in c.choices.iter().enumerate() {
                crate::choice::check_rule(rule, true).map_err(|e| err(format!("Choices[{i}]: {e}")))?;
            }
        }
        State::Succeed(s) => {
            path("InputPath", &s.input_path)?;
            path("OutputPath", &s.output_path)?;
        }
        State::Fail(f) => {
            if f.error.is_some() && f.error_path.is_some() {
                return Err(err("has both Error and ErrorPath".into()));
            }
            if f.cause.is_some() && f.cause_path.is_some() {
                return Err(err("has both Cause and CausePath".into()));
            }
            for p in [&f.error_path, &f.cause_path].into_iter().flatten() {
                if !p.starts_with("States.") {
                    paths::check_path(p).map_err(|e| err(e.to_string()))?;
                }
            }
        }
        State::Parallel(p, _) => {
            common(&p.common())?;
            template("Parameters", &p.parameters)?;
            template("ResultSelector", &p.result_selector)?;
            result_path(&p.result_path)?;
            retry_catch(&p.retry, &p.catch)?;
        }
        State::Map(m, _) => {
            common(&m.common())?;
            if let Some(p) = &m.items_path {
                paths::check_path(p).map_err(|e| err(format!("ItemsPath: {e}")))?;
            }
            template("ItemSelector", &m.item_selector)?;
            template("Parameters", &m.parameters)?;
            template("ResultSelector", &m.result_selector)?;
            result_path(&m.result_path)?;
            retry_catch(&m.retry, &m.catch)?;
        }
    }
    Ok(())
}

fn check_error_equals(names: &[String], is_last: bool) -> Result<(), String> {
    if names.is_empty() {
        return Err("ErrorEquals must not be empty".into());
    }
    if names.iter().any(|n| n == "States.ALL") {
        if names.len() != 1 {
            return Err("States.ALL must be the only name in its ErrorEquals".into());
        }
        if !is_last {
            return Err("a States.ALL retrier or catcher must be the last one".into());
        }
    }
    Ok(())
}

/// Every transition goes to an existing state; every state is reachable.
fn check_transitions(m: &StateMachine, what: &str) -> Result<(), LoadError> {
    let exists = |target: &str, from: &str, field: &str| -> Result<(), LoadError> {
        if m.states.contains_key(target) {
            Ok(())
        } else {
            Err(LoadError(format!(
                "state \"{from}\": {field} \"{target}\" is not a state of {what}"
            )))
        }
    };
    if !m.states.contains_key(&m.start_at) {
        return Err(LoadError(format!("{what}: StartAt \"{}\" is not a state", m.start_at)));
    }
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, s) in &m.states {
        let mut targets: Vec<(&str, &str)> = Vec::new();
        match s {
            State::Task(t) => {
                targets.extend(t.next.as_deref().map(|n| (n, "Next")));
                targets.extend(t.catch.iter().map(|c| (c.next.as_str(), "Catch.Next")));
            }
            State::Pass(p) => targets.extend(p.next.as_deref().map(|n| (n, "Next"))),
            State::Wait(w) => targets.extend(w.next.as_deref().map(|n| (n, "Next"))),
            State::Parallel(p, _) => {
                targets.extend(p.next.as_deref().map(|n| (n, "Next")));
                targets.extend(p.catch.iter().map(|c| (c.next.as_str(), "Catch.Next")));
            }
            State::Map(mp, _) => {
                targets.extend(mp.next.as_deref().map(|n| (n, "Next")));
                targets.extend(mp.catch.iter().map(|c| (c.next.as_str(), "Catch.Next")));
            }
            State::Choice(c) => {
                for rule in &c.choices {
                    if let Some(n) = rule.get("Next").and_then(Value::as_str) {
                        targets.push((n, "Choices.Next"));
                    }
                }
                targets.extend(c.default.as_deref().map(|d| (d, "Default")));
            }
            State::Succeed(_) | State::Fail(_) => {}
        }
        for (t, field) in &targets {
            exists(t, name, field)?;
        }
        edges.insert(name.as_str(), targets.into_iter().map(|(t, _)| t).collect());
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack = vec![m.start_at.as_str()];
    while let Some(s) = stack.pop() {
        if seen.insert(s) {
            stack.extend(edges.get(s).into_iter().flatten().copied());
        }
    }
    let mut unreachable: Vec<&str> = m
        .states
        .keys()
        .map(String::as_str)
        .filter(|s| !seen.contains(s))
        .collect();
    if !unreachable.is_empty() {
        unreachable.sort();
        return Err(LoadError(format!(
            "{what}: state(s) {} cannot be reached from StartAt",
            unreachable.join(", ")
        )));
    }
    Ok(())
}

/// Every Task Resource (and lambda:invoke FunctionName) in a machine, recursively.
pub fn task_resources(m: &StateMachine) -> Vec<String> {
    let mut out = Vec::new();
    for s in m.states.values() {
        match s {
            State::Task(t) => {
                let resource = crate::callback::callback_base(&t.resource).unwrap_or(&t.resource);
                if resource == crate::executor::LAMBDA_INVOKE {
                    if let Some(f) = t
                        .parameters
                        .as_ref()
                        .and_then(|p| p.get("FunctionName"))
                        .and_then(Value::as_str)
                    {
                        out.push(f.to_string());
                    }
                } else {
                    out.push(resource.to_string());
                }
            }
            State::Parallel(_, branches) => branches.iter().for_each(|b| out.extend(task_resources(b))),
            State::Map(_, p) => out.extend(task_resources(p)),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(v: Value) -> Result<StateMachine, LoadError> {
        parse_definition(&v.to_string())
    }

    #[test]
    fn a_simple_machine_loads() {
        let m = load(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}))
            .unwrap();
        assert_eq!(m.states.len(), 2);
    }

    #[test]
    fn load_errors_name_the_state_and_the_problem() {
        let cases = [
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Magic", "End": true}}}),
                "state \"A\": unknown Type \"Magic\"",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
                "state \"A\": Next \"Nowhere\" is not a state",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Bogus": 1}}}),
                "state \"A\": unknown field `Bogus`",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
                "state \"A\": needs Next or \"End\": true",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "B": {"Type": "Succeed"}}}),
                "B cannot be reached",
            ),
            (
                json!({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}),
                "StartAt \"Z\" is not a state",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "HeartbeatSeconds": 5}}}),
                "HeartbeatSeconds is for a callback",
            ),
            (
                json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}),
                "JSONata is not supported",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}),
                "Retry[0]: a States.ALL retrier or catcher must be the last one",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}),
                "needs exactly one of Seconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}}}),
                "is not a reference path",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": true}}}),
                "unsupported intrinsic function \"States.Nope\"",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "A"}]}}}),
                "Choices[0]: needs exactly one comparison operator",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Map", "End": true}}}),
                "needs an ItemProcessor",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Map", "End": true, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "B", "States": {"B": {"Type": "Succeed"}}}}}}),
                "DISTRIBUTED is not supported",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "C"}}}]}}}),
                "state \"B\": Next \"C\" is not a state of state \"A\" branch 0",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}),
                "needs Parameters.FunctionName",
            ),
        ];
        for (def, expected) in cases {
            let err = load(def.clone()).unwrap_err().to_string();
            assert!(err.contains(expected), "{def}\n  expected: {expected}\n  got: {err}");
        }
    }

    #[test]
    fn task_resources_lists_functions_recursively() {
        let m = load(json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "T", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:a", "End": true}}}]},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "${B}", "Payload.$": "$"}, "End": true}
        }}))
        .unwrap();
        assert_eq!(
            task_resources(&m),
            vec!["${B}".to_string(), "arn:aws:lambda:us-east-1:1:function:a".to_string()]
        );
    }
}
