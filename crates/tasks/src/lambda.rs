//! The Lambda side: errors as `Diagnostic`s named from the closed set, and the
//! runtime loop the one bootstrap (`src/bin/lifeboat_task.rs`) runs for the
//! task its function names.

use crate::dispatch::{TaskKind, dispatch};
use crate::services::{AwsServicesFactory, ServicesFactory, Settings};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use lifeboat_aws::CallCounter;
use lifeboat_core::LifeboatError;
use serde_json::Value;
use std::sync::Arc;

/// The environment variable that names a function's task: a [`TaskKind`]
/// (`validate`, `shift_dns`, ...), `probe` or `readiness`.
pub const TASK_SETTING: &str = "LIFEBOAT_TASK";

/// The scheduled functions' task names (not state machine tasks).
pub const PROBE_TASK: &str = "probe";
pub const READINESS_TASK: &str = "readiness";

/// Every value [`TASK_SETTING`] may take.
pub fn task_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = TaskKind::ALL.iter().map(|k| k.as_str()).collect();
    names.extend([PROBE_TASK, READINESS_TASK]);
    names
}

/// Runs the runtime loop of the task `name` names; an unknown name fails at
/// once, saying what it may be (a function misconfigured fails its first invoke).
pub async fn run_task(name: &str) -> Result<(), lambda_runtime::Error> {
    match name {
        PROBE_TASK => run_probe().await,
        READINESS_TASK => run_readiness().await,
        other => match other.parse::<TaskKind>() {
            Ok(kind) => run(kind).await,
            Err(_) => Err(format!(
                "{TASK_SETTING} is \"{other}\": set it to one of {}",
                task_names().join(", ")
            )
            .into()),
        },
    }
}

/// A task failure as Lambda reports it: `errorType` is the closed Lifeboat.* name.
#[derive(Debug)]
pub struct TaskError(pub LifeboatError);

impl From<TaskError> for Diagnostic {
    fn from(e: TaskError) -> Diagnostic {
        Diagnostic {
            error_type: e.0.name.as_str().to_string(),
            error_message: e.0.message,
        }
    }
}

/// lambda_runtime's own tracing setup: JSON lines when the function's log
/// format is JSON (the template's), the level from Lambda's log controls (or
/// RUST_LOG), no timestamps (CloudWatch Logs stamps every line).
fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// What a scheduled function (probe, readiness) starts with: logging, its
/// services, and the Region it runs in (the recovery Region).
async fn scheduled_function() -> Result<(Arc<AwsServicesFactory>, String), lambda_runtime::Error> {
    init_logging();
    let config = lifeboat_aws::clients::load_sdk_config(None, None).await;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let factory = Arc::new(AwsServicesFactory::new(
        config,
        Settings::from_env()?,
        CallCounter::new(),
    ));
    Ok((factory, region))
}

/// Runs the Lambda runtime loop of the detection probe (not a state machine
/// task: EventBridge Scheduler invokes it every minute in the recovery Region).
pub async fn run_probe() -> Result<(), lambda_runtime::Error> {
    let (factory, region) = scheduled_function().await?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let (factory, region) = (factory.clone(), region.clone());
        async move {
            let s = factory.services();
            crate::probe::probe_primaries(&*s.registry, &*s.http, &*s.metrics, &region, chrono::Utc::now())
                .await
                .map_err(TaskError)
        }
    }))
    .await
}

/// Runs the Lambda runtime loop of the readiness evaluation (not a state
/// machine task: EventBridge Scheduler invokes it, every 30 minutes by
/// default, in the recovery Region). Changes nothing; records and publishes.
pub async fn run_readiness() -> Result<(), lambda_runtime::Error> {
    let (factory, region) = scheduled_function().await?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let (factory, region) = (factory.clone(), region.clone());
        async move {
            let s = factory.services();
            let ev = crate::readiness::evaluate(&s, chrono::Utc::now())
                .await
                .map_err(TaskError)?;
            crate::readiness::record(&s, &ev, &region).await.map_err(TaskError)?;
            Ok::<_, TaskError>(serde_json::json!({
                "apps": ev.apps.len(),
                "not_ready": ev.not_ready().iter().map(|a| a.app.clone()).collect::<Vec<_>>(),
            }))
        }
    }))
    .await
}

/// Runs the Lambda runtime loop for one task.
pub async fn run(kind: TaskKind) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = lifeboat_aws::clients::load_sdk_config(None, None).await;
    let factory = Arc::new(AwsServicesFactory::new(
        config,
        Settings::from_env()?,
        CallCounter::new(),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let factory = factory.clone();
        async move {
            let services = factory.services();
            dispatch(kind, &services, event.payload).await.map_err(TaskError)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fake_services;

    #[test]
    fn diagnostics_carry_the_closed_error_name_not_a_rust_type() {
        let d: Diagnostic = TaskError(LifeboatError::not_ready("change PENDING")).into();
        assert_eq!(d.error_type, "Lifeboat.NotReady");
        assert_eq!(d.error_message, "change PENDING");
    }

    #[tokio::test]
    async fn the_handler_answers_a_lambda_event_like_lambda_would() {
        let (services, _) = fake_services();
        let event = LambdaEvent::new(
            serde_json::json!({"trigger": {"action": "failover", "apps": ["ghost"]}, "run_id": "r1"}),
            lambda_runtime::Context::default(),
        );
        let err = dispatch(TaskKind::Validate, &services, event.payload)
            .await
            .map_err(TaskError)
            .unwrap_err();
        let d: Diagnostic = err.into();
        assert_eq!(d.error_type, "Lifeboat.InvalidRequest");
        assert!(
            d.error_message.contains("unknown application \"ghost\""),
            "{}",
            d.error_message
        );
    }
}
