//! Runs the state machine definition in process: every `${...FunctionArn}`
//! resolves to a local function name served by the task dispatcher.

use crate::concurrency::ReservedConcurrency;
use lifeboat_core::request::{execution_name_for, execution_name_part, normalize_trigger};
use lifeboat_states::{
    Clock, EventSink, Execution, ExecutionStatus, Executor, LoadError, StateMachine, TaskHandler, parse_definition,
};
use lifeboat_tasks::{ServicesFactory, TaskKind, dispatch};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The default definition, relative to the workspace root.
pub const DEFAULT_DEFINITION: &str = "statemachine/lifeboat.asl.json";

/// The ARN a local function stands in for.
pub fn local_function_arn(kind: TaskKind) -> String {
    format!("arn:aws:lambda:local:000000000000:function:{}", kind.function_name())
}

/// Substitutes `${Name}` placeholders; any left unresolved is a load error.
pub fn substitute(text: &str, subs: &[(String, String)]) -> Result<String, LoadError> {
    let mut out = text.to_string();
    for (k, v) in subs {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    if let Some(start) = out.find("${") {
        let rest = &out[start..];
        // Characters, not bytes: the definition may hold any text after `${`.
        let shown: String = match rest.find('}') {
            Some(i) => rest[..=i].to_string(),
            None => rest.chars().take(40).collect(),
        };
        return Err(LoadError(format!(
            "unresolved substitution {shown}: no local function provides it"
        )));
    }
    Ok(out)
}

/// The bus outcome events go to locally. The stack's is a bus of its own
/// that only the state machine may put to; locally nothing consumes them
/// (`lifeboat run --local` runs a follow-up from the record itself).
pub const LOCAL_OUTCOME_BUS: &str = "default";

/// The substitutions that map each task's placeholder to its local function,
/// and the outcome bus to the local one.
pub fn local_substitutions() -> Vec<(String, String)> {
    TaskKind::ALL
        .iter()
        .map(|k| (k.placeholder(), local_function_arn(*k)))
        .chain([("OutcomeBusName".to_string(), LOCAL_OUTCOME_BUS.to_string())])
        .collect()
}

/// Finds the definition: as given, or relative to the workspace root.
pub fn resolve_definition(path: &Path) -> std::path::PathBuf {
    if path.exists() || path.is_absolute() {
        return path.to_path_buf();
    }
    let mut dir = std::env::current_dir().unwrap_or_default();
    loop {
        let c = dir.join(path);
        if c.exists() {
            return c;
        }
        if !dir.pop() {
            return path.to_path_buf();
        }
    }
}

/// lifeboat's own definition, built into the binary, so `run --local` and
/// the demo work from any directory. `statemachine/lifeboat.asl.json` stays
/// the deploy source; this is that file as it was at build time (a test
/// checks the two are equal).
pub const BUILT_IN_DEFINITION: &str = include_str!("../../../statemachine/lifeboat.asl.json");

/// Reads, substitutes and checks a definition file; [`DEFAULT_DEFINITION`]
/// is the one built in.
pub fn load_definition(path: &Path) -> Result<StateMachine, LoadError> {
    if path == Path::new(DEFAULT_DEFINITION) {
        return parse_definition(&substitute(BUILT_IN_DEFINITION, &local_substitutions())?);
    }
    let path = resolve_definition(path);
    let text = std::fs::read_to_string(&path).map_err(|e| LoadError(format!("cannot read {}: {e}", path.display())))?;
    parse_definition(&substitute(&text, &local_substitutions())?)
}

struct LocalTask {
    kind: TaskKind,
    factory: Arc<dyn ServicesFactory>,
    concurrency: Option<Arc<ReservedConcurrency>>,
}

#[async_trait::async_trait]
impl TaskHandler for LocalTask {
    async fn call(&self, input: Value) -> Result<Value, lifeboat_states::ExecError> {
        let _slot = match &self.concurrency {
            Some(c) => Some(
                c.enter(&self.kind.function_name())
                    .map_err(|m| lifeboat_states::ExecError::new(crate::concurrency::TOO_MANY_REQUESTS, m))?,
            ),
            None => None,
        };
        let services = self.factory.services();
        dispatch(self.kind, &services, input)
            .await
            .map_err(|e| lifeboat_states::ExecError::new(e.name.as_str(), e.message))
    }
}

/// Step Functions' optimized EventBridge integration, which the definition
/// uses to publish each run's outcome.
pub const EVENTS_PUT_EVENTS: &str = "arn:aws:states:::events:putEvents";

/// The local stand-in for `arn:aws:states:::events:putEvents`: the same
/// PutEvents call Step Functions makes, over the SDK, to the endpoint in use.
struct PutEvents {
    factory: Arc<dyn ServicesFactory>,
}

#[async_trait::async_trait]
impl TaskHandler for PutEvents {
    async fn call(&self, input: Value) -> Result<Value, lifeboat_states::ExecError> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let fail = |m: String| lifeboat_states::ExecError::new("EventBridge.EventBridgeException", m);
        let services = self.factory.services();
        let client = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&services.sdk_config)
                .interceptor(services.counter.clone())
                .build(),
        );
        let entries = input["Entries"].as_array().cloned().unwrap_or_default();
        let mut req = client.put_events();
        for e in &entries {
            // Like Step Functions, a JSON Detail is sent as its text.
            let detail = match &e["Detail"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            req = req.entries(
                PutEventsRequestEntry::builder()
                    .set_source(e["Source"].as_str().map(str::to_string))
                    .set_detail_type(e["DetailType"].as_str().map(str::to_string))
                    .set_event_bus_name(e["EventBusName"].as_str().map(str::to_string))
                    .detail(detail)
                    .build(),
            );
        }
        let out = req.send().await.map_err(|e| {
            fail(format!(
                "PutEvents: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
        if out.failed_entry_count() > 0 {
            return Err(fail(format!("PutEvents: {} entries failed", out.failed_entry_count())));
        }
        Ok(serde_json::json!({
            "Entries": out.entries().iter().map(|e| serde_json::json!({"EventId": e.event_id()})).collect::<Vec<_>>(),
            "FailedEntryCount": 0,
        }))
    }
}

/// An executor whose task handlers are lifeboat's tasks over `factory`'s services.
pub fn local_executor(
    factory: Arc<dyn ServicesFactory>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
) -> Executor {
    local_executor_per_task(|_| factory.clone(), factory.clone(), clock, sink)
}

/// How the local executor models Lambda beyond running the tasks.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Each function's reserved concurrency, shared by every execution that
    /// uses these options (None: unlimited).
    pub concurrency: Option<Arc<ReservedConcurrency>>,
    /// The execution's name, as StartExecution's `name` sets it (None: the
    /// name lifeboat derives from the input). An EventBridge target names
    /// each execution afresh, so two Regions' runs of one event differ.
    pub name: Option<String>,
}

/// The same, with each task's own services, and the state machine's own
/// integrations' (tests count each one's calls apart).
pub fn local_executor_per_task(
    factory_for: impl Fn(TaskKind) -> Arc<dyn ServicesFactory>,
    state_machine_factory: Arc<dyn ServicesFactory>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
) -> Executor {
    local_executor_with(
        factory_for,
        state_machine_factory,
        clock,
        sink,
        &LocalOptions::default(),
    )
}

/// The same, with Lambda modelled as `options` say.
pub fn local_executor_with(
    factory_for: impl Fn(TaskKind) -> Arc<dyn ServicesFactory>,
    state_machine_factory: Arc<dyn ServicesFactory>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
    options: &LocalOptions,
) -> Executor {
    let mut exec =
        Executor::new(clock).with_state_machine_arn("arn:aws:states:local:000000000000:stateMachine:lifeboat");
    for &kind in TaskKind::ALL {
        exec.register(
            kind.function_name(),
            Arc::new(LocalTask {
                kind,
                factory: factory_for(kind),
                concurrency: options.concurrency.clone(),
            }),
        );
    }
    exec.register(
        EVENTS_PUT_EVENTS,
        Arc::new(PutEvents {
            factory: state_machine_factory,
        }),
    );
    if let Some(s) = sink {
        exec = exec.with_sink(s);
    }
    exec
}

/// The execution name: deterministic for an alarm or schedule (one run per
/// incident), unique otherwise.
pub fn execution_name(input: &Value, now: chrono::DateTime<chrono::Utc>) -> String {
    // The retry schedule's take-up of kept triggers: a name of its own each time.
    if input.get("take_up_kept").is_some() {
        return format!("takeup-{}-{:016x}", now.format("%Y%m%dT%H%M%SZ"), fastrand::u64(..));
    }
    // A malformed input gets a name of its own, so it cannot use up the name
    // of a good one.
    let Ok(request) = normalize_trigger(input) else {
        return manual_execution_name(now);
    };
    // A run's follow-up runs once. Its apps and alarms are in the name, so a
    // forged one (refused by validate) cannot use up the genuine one's name.
    if let Some(after) = input.pointer("/follow_up/after_run").and_then(Value::as_str) {
        let what = format!("{}{}", input["follow_up"]["apps"], input["follow_up"]["alarms"]);
        return format!(
            "followup-{}-{:08x}",
            execution_name_part(after, 62),
            fnv1a(what.as_bytes())
        );
    }
    execution_name_for(&request).unwrap_or_else(|| manual_execution_name(now))
}

/// A stable 32-bit digest (FNV-1a): the same text always gives the same name.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// 64 random bits, like the UUID Step Functions gives an unnamed execution:
/// manual runs started in the same second (a script, a test suite) must never
/// share a name, or the second is refused as a duplicate.
fn manual_execution_name(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("manual-{}-{:016x}", now.format("%Y%m%dT%H%M%SZ"), fastrand::u64(..))
}

/// What a local run did.
#[derive(Debug)]
pub enum LocalRun {
    Ran(Box<Execution>),
    /// The execution name was used before (the journal has it): like Step
    /// Functions refusing a duplicate name, the same incident runs once.
    Duplicate {
        name: String,
        status: String,
    },
}

/// Why a local run did not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Definition(#[from] LoadError),
    /// Refused before anything ran (the journal table is missing).
    #[error("{0}")]
    Refused(String),
}

/// Loads the definition, checks it against the local functions, and runs it,
/// unless the journal shows this execution name already ran.
pub async fn run_local(
    definition: &Path,
    input: Value,
    factory: Arc<dyn ServicesFactory>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
) -> Result<LocalRun, LocalError> {
    run_local_with(definition, input, factory, clock, sink, &LocalOptions::default()).await
}

/// [`run_local`], with Lambda modelled as `options` say.
pub async fn run_local_with(
    definition: &Path,
    input: Value,
    factory: Arc<dyn ServicesFactory>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
    options: &LocalOptions,
) -> Result<LocalRun, LocalError> {
    let machine = load_definition(definition)?;
    let journal = factory.services().journal;
    let exec = local_executor_with(|_| factory.clone(), factory.clone(), clock, sink, options);
    exec.check_handlers(&machine)?;
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| execution_name(&input, exec.clock().now()));
    // Any other ASL file runs as it is: no journal, no table touched.
    if !is_lifeboat_machine(&machine) {
        return Ok(LocalRun::Ran(Box::new(exec.run(&machine, input, &name).await)));
    }
    // Like StartExecution, an execution name is used once: claimed atomically,
    // so the same event delivered twice, or fifty times at once, runs once.
    // A journal that does not exist yet cannot hold duplicates.
    match journal.claim_execution(&name, chrono::Utc::now()).await {
        Ok(true) => {}
        Ok(false) => {
            let status = match journal.get_run(&name).await {
                Ok(Some(previous)) => serde_json::to_value(previous.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                _ => "still running".to_string(),
            };
            return Ok(LocalRun::Duplicate { name, status });
        }
        // No journal table: refused before anything runs, in one line that says what creates it.
        Err(e @ lifeboat_aws::AwsError::NotFound(_)) => {
            return Err(LocalError::Refused(format!("{e}; nothing was run")));
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not claim the execution name; running without duplicate protection")
        }
    }
    // A run that waits for approval is answered through the journal
    // (`lifeboat approve` / `reject` write the decision there), as
    // SendTaskSuccess / SendTaskFailure answer it on AWS.
    let relay = relay_approvals(journal.clone(), exec.task_tokens(), name.clone());
    let execution = tokio::select! {
        execution = exec.run(&machine, input, &name) => execution,
        never = relay => match never {},
    };
    if execution.status != ExecutionStatus::Succeeded {
        record_execution_end(&*factory, &execution).await;
    }
    Ok(LocalRun::Ran(Box::new(execution)))
}

/// How often a waiting local run looks in the journal for its approval's answer.
const APPROVAL_LOOK: std::time::Duration = std::time::Duration::from_millis(200);

/// Answers the run's approval callback once a decision is in the journal
/// (runs as long as the execution does).
pub async fn relay_approvals(
    journal: Arc<dyn lifeboat_aws::ports::Journal>,
    tokens: Arc<lifeboat_states::TaskTokens>,
    run_id: String,
) -> std::convert::Infallible {
    loop {
        tokio::time::sleep(APPROVAL_LOOK).await;
        let waiting = tokens.waiting();
        if waiting.is_empty() {
            continue;
        }
        let doc = match lifeboat_tasks::approval::load(&*journal, &run_id).await {
            Ok(Some(doc)) => doc,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(run = %run_id, error = %e, "could not read the approval from the journal; looking again");
                continue;
            }
        };
        let (Some(decision), true) = (&doc.decision, waiting.contains(&doc.token)) else {
            continue;
        };
        let answered = if decision.approved {
            tokens.succeed(&doc.token, lifeboat_tasks::approval::success_output(decision))
        } else {
            let (error, cause) = lifeboat_tasks::approval::rejection(decision);
            tokens.fail(&doc.token, error.as_str(), &cause)
        };
        if let Err(e) = answered {
            tracing::warn!(run = %run_id, error = %e, "the approval's task had stopped waiting");
        }
    }
}

/// Whether the definition calls lifeboat's tasks (and so uses its journal).
fn is_lifeboat_machine(machine: &StateMachine) -> bool {
    let ours: Vec<String> = TaskKind::ALL.iter().map(|k| local_function_arn(*k)).collect();
    lifeboat_states::task_resources(machine)
        .iter()
        .any(|r| ours.contains(r))
}

/// What the deployed stack's EventBridge rule does when an execution times
/// out, is aborted or fails: give the record task the status-change event, so
/// the run is recorded (if its own record did not run) and the lease freed.
async fn record_execution_end(factory: &dyn ServicesFactory, execution: &Execution) {
    let status = match execution.status {
        ExecutionStatus::TimedOut => "TIMED_OUT",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::Succeeded => return,
    };
    let event = lifeboat_tasks::record_outcome::ExecutionEndInput::payload(serde_json::json!({
        "source": "aws.states",
        "detail-type": lifeboat_tasks::record_outcome::EXECUTION_STATUS_CHANGE,
        "detail": {
            "name": execution.name,
            "status": status,
            "startDate": execution.start_date.timestamp_millis(),
            "stopDate": execution.stop_date.timestamp_millis(),
            "error": execution.error.as_ref().map(|e| e.error.clone()),
            "cause": execution.error.as_ref().map(|e| e.cause.clone()),
        }
    }));
    let services = factory.services();
    match lifeboat_tasks::dispatch(TaskKind::RecordOutcome, &services, event).await {
        Ok(out) => tracing::info!(run = %execution.name, %status, outcome = %out, "execution end recorded"),
        Err(e) => tracing::error!(run = %execution.name, %status, error = %e, "could not record the execution's end"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_in_the_definition_has_a_local_function() {
        let m = load_definition(Path::new(DEFAULT_DEFINITION)).unwrap();
        let resources: Vec<String> = lifeboat_states::task_resources(&m)
            .into_iter()
            .filter(|r| r != EVENTS_PUT_EVENTS)
            .collect();
        let expected: Vec<String> = {
            let mut v: Vec<String> = TaskKind::ALL.iter().map(|k| local_function_arn(*k)).collect();
            v.sort();
            v
        };
        assert_eq!(resources, expected);
    }

    #[test]
    fn the_built_in_definition_is_the_deploy_source() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachine/lifeboat.asl.json");
        assert_eq!(
            std::fs::read_to_string(file).unwrap(),
            BUILT_IN_DEFINITION,
            "rebuild the CLI: statemachine/lifeboat.asl.json changed since"
        );
    }

    #[test]
    fn unresolved_substitutions_are_named() {
        let err = substitute("{\"x\": \"${MysteryFunctionArn}\"}", &local_substitutions()).unwrap_err();
        assert!(err.to_string().contains("${MysteryFunctionArn}"));
        // An unclosed `${` before non-ASCII text names it without splitting a character.
        let text = format!("{{\"x\": \"${{{}\"}}", "é".repeat(30));
        let err = substitute(&text, &local_substitutions()).unwrap_err();
        assert!(err.to_string().contains("${é"), "{err}");
    }

    #[test]
    fn manual_runs_started_in_the_same_second_never_share_a_name() {
        let now = chrono::Utc::now();
        let manual = serde_json::json!({"action": "failover"});
        let names: std::collections::HashSet<String> = (0..10_000).map(|_| execution_name(&manual, now)).collect();
        assert_eq!(names.len(), 10_000);
        assert!(names.iter().all(|n| n.len() <= 80 && n.starts_with("manual-")));
        // A malformed input is named like a manual run, never like an incident.
        let malformed = serde_json::json!({"Apps": ["payments"], "action": "failover"});
        assert_ne!(execution_name(&malformed, now), execution_name(&malformed, now));
    }
}
