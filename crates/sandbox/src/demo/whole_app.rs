//! The demo's chapter "the whole application": more than data and traffic.
//! A second estate on the same emulator, whose registry asks a person to
//! approve what an alarm proposes; storefront's recovery Region runs a pilot
//! light (an Auto Scaling group and an ECS service raised before its traffic
//! moves) and has a hook that flushes its cache before traffic; search keeps
//! its data in a DocumentDB global cluster; partner-portal lives in member
//! account 222233334444, every call for it made as that account's role. The
//! alarm fires, the run waits, an operator approves, and the failover goes on.

use super::{ran, say};
use crate::emulator::MotoServer;
use crate::estate::accounts::{MEMBER_ACCOUNT, make_member_role, member_role, member_setup_config};
use crate::estate::capacity::seed_capacity;
use crate::estate::hooks::seed_hook_function;
use crate::estate::{DEMO_REGION, PRIMARY, SECONDARY, alarm_event, seed_docdb_global, seed_estate, set_alarm};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::StateValue;
use lifeboat_aws::CallCounter;
use lifeboat_console::{CliError, OutputFormat, local, progress};
use lifeboat_core::outcome::{RunRecord, RunStatus};
use lifeboat_core::registry::{Approval, ApprovalTrigger, BySide, Hook, HookWhen, OnTimeout};
use lifeboat_states::VirtualClock;
use lifeboat_tasks::apply_registry::apply_registry;
use lifeboat_tasks::approval::{Decision, decide};
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// What the chapter showed, for the demo's JSON output and its exit code.
pub struct WholeAppChapter {
    pub json: Value,
    /// The run was approved, raised the capacity, ran the hook, failed the
    /// DocumentDB cluster over and moved every app.
    pub as_expected: bool,
}

/// Runs the chapter on the emulator (`config` signs lifeboat's calls, `setup` builds the scene).
pub async fn run(
    format: OutputFormat,
    moto: &MotoServer,
    config: &SdkConfig,
    setup: &SdkConfig,
) -> Result<WholeAppChapter, CliError> {
    let failed = |e: String| CliError::failed(format!("the whole-application chapter: {e}"));
    say(format, "");
    say(
        format,
        "6) The whole application: a person approves the alarm's failover; capacity, a hook and a DocumentDB \
         global cluster move with the data and the traffic",
    );
    let ns = "whole";
    let estate = seed_estate(setup, ns).await.map_err(|e| failed(e.to_string()))?;
    let mut registry = estate.registry.clone();
    registry.approval = Some(Approval {
        required_for: vec![ApprovalTrigger::Alarm],
        timeout_seconds: 900,
        on_timeout: OnTimeout::Reject,
    });
    let capacity = seed_capacity(setup, ns, "storefront")
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut hook_arns = Vec::new();
    for (region, short) in [(PRIMARY, "use1"), (SECONDARY, "usw2")] {
        hook_arns.push(
            seed_hook_function(setup, ns, &format!("storefront-flush-cache-{short}"), region, "ok")
                .await
                .map_err(|e| failed(e.to_string()))?,
        );
    }
    let docdb = seed_docdb_global(setup, ns, "search", 800.0)
        .await
        .map_err(|e| failed(e.to_string()))?;
    for app in &mut registry.applications {
        match app.name.as_str() {
            n if n.ends_with("storefront") => {
                app.capacity = capacity.clone();
                app.hooks = vec![Hook {
                    name: "flush-cache".into(),
                    when: HookWhen::BeforeTraffic,
                    function: BySide {
                        primary: hook_arns[0].clone(),
                        secondary: hook_arns[1].clone(),
                    },
                    timeout_seconds: 30,
                    retries: 2,
                }];
            }
            n if n.ends_with("search") => app.database = docdb.clone(),
            _ => {}
        }
    }
    // partner-portal: a weighted app of member account 222233334444 (its
    // records, health checks and alarms there), moved as the role the
    // account made for lifeboat; the region-health alarm is lifeboat's.
    let role = member_role(ns);
    make_member_role(moto, &role).map_err(|e| failed(e.to_string()))?;
    let member_setup = member_setup_config(setup, &role, DEMO_REGION);
    let member_estate = seed_estate(&member_setup, &format!("{ns}-member"))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut partner = member_estate
        .registry
        .app("storefront")
        .cloned()
        .ok_or_else(|| failed("the member estate has no storefront".into()))?;
    partner.name = MEMBER_APP.into();
    partner.account = Some(role.clone());
    partner.triggers.alarms = vec![estate.trigger_alarm.clone()];
    registry.applications.push(partner);
    let settings = Settings {
        registry_table: format!("{ns}-registry"),
        journal_table: format!("{ns}-journal"),
        lease_table: format!("{ns}-lease"),
        ..Settings::default()
    };
    let admin = AwsServicesFactory::new(setup.clone(), settings.clone(), CallCounter::new()).services();
    admin.registry.ensure_table().await?;
    apply_registry(&*admin.registry, &registry, false).await?;
    admin.journal.ensure_table().await?;
    admin.lease.ensure_table().await?;
    say(
        format,
        "   registry: approval required for alarms (900 s, then reject); storefront: an Auto Scaling group \
         (4 instances in us-east-1, 1 in us-west-2, MaxSize 2) then an ECS service (3 tasks, 0) raised to 100 %, \
         and a flush-cache hook before its traffic; search: a DocumentDB global cluster (0.8 s behind); \
         partner-portal: in account 222233334444, moved as its role",
    );

    set_alarm(setup, PRIMARY, &estate.trigger_alarm, StateValue::Alarm)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let event = alarm_event(&estate.trigger_alarm, PRIMARY, chrono::Utc::now());
    let name = local::execution_name(&event, chrono::Utc::now());
    say(
        format,
        format!(
            "   alarm \"{}\" in {PRIMARY} goes to ALARM: run {name} plans, then waits",
            estate.trigger_alarm
        ),
    );
    let factory = Arc::new(AwsServicesFactory::new(
        config.clone(),
        settings.clone(),
        CallCounter::new(),
    ));
    let clock = Arc::new(VirtualClock::following_real_time(chrono::Utc::now()));
    let options = local::LocalOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let journal = admin.journal.clone();
    // The person: reads the request, looks at the plan, approves (as `lifeboat approve RUN --local` does).
    let approver = {
        let (journal, name) = (journal.clone(), name.clone());
        async move {
            for _ in 0..300 {
                if let Ok(Some(request)) = lifeboat_tasks::approval::load(&*journal, &name).await {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    say(
                        format,
                        format!(
                            "   an operator reads \"{}\" and approves: lifeboat approve {name} --note \"INC-7: us-east-1 is down\"",
                            request.summary
                        ),
                    );
                    let decision = Decision {
                        approved: true,
                        by: "operator (demo)".into(),
                        at: chrono::Utc::now(),
                        reason: Some("INC-7: us-east-1 is down".into()),
                    };
                    return decide(&*journal, &name, decision).await.map(|_| ());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(lifeboat_core::LifeboatError::internal(
                "the run never asked for approval",
            ))
        }
    };
    let runner = local::run_local_with(
        Path::new(local::DEFAULT_DEFINITION),
        event,
        factory.clone(),
        clock,
        Some(Arc::new(progress::Progress::new())),
        &options,
    );
    let (run, approved) = tokio::join!(runner, approver);
    approved?;
    let exec = ran(run.map_err(|e| failed(e.to_string()))?)?;
    let record: Option<RunRecord> = lifeboat_console::run_record(&exec).and_then(|v| serde_json::from_value(v).ok());
    let Some(rec) = record else {
        return Err(failed(format!("run {} left no record ({:?})", exec.name, exec.error)));
    };
    say(
        format,
        format!("   execution {} {:?}: {}", exec.name, exec.status, rec.summary),
    );
    let steps = step_times(&rec);
    for line in &steps.lines {
        say(format, format!("   {line}"));
    }
    let calls = factory.run_counter.snapshot();
    let member_moved = rec
        .apps
        .iter()
        .any(|a| a.app == MEMBER_APP && a.status == lifeboat_core::outcome::AppStatus::Moved);
    let member_calls = lifeboat_aws::accounts::member_calls(&role.role_arn).snapshot();
    say(
        format,
        format!(
            "   {MEMBER_APP}: {} in account {MEMBER_ACCOUNT}, its {} call(s) made as {} (assumed {} time(s) for the run)",
            if member_moved { "moved" } else { "NOT moved" },
            member_calls.total(),
            role.role_arn,
            calls.get("sts:AssumeRole")
        ),
    );
    let hooks_ok = rec
        .apps
        .iter()
        .flat_map(|a| &a.hooks)
        .all(|h| h.status == lifeboat_core::hooks::HookStatus::Succeeded);
    let as_expected = rec.status == RunStatus::Succeeded
        && rec.approval.is_some()
        && steps.capacity_seconds.is_some()
        && steps.hooks == 1
        && hooks_ok
        && member_moved;
    Ok(WholeAppChapter {
        json: json!({
            "execution": exec.name,
            "status": exec.status,
            "record": rec,
            "added_seconds": {
                "approval_wait": steps.approval_seconds,
                "capacity": steps.capacity_seconds,
                "hooks": steps.hook_seconds,
            },
        }),
        as_expected,
    })
}

/// The chapter's app of member account 222233334444.
const MEMBER_APP: &str = "partner-portal";

/// What each new step added on the run's clock, and lines saying so.
struct StepTimes {
    lines: Vec<String>,
    approval_seconds: Option<f64>,
    capacity_seconds: Option<f64>,
    hook_seconds: f64,
    hooks: usize,
}

fn step_times(rec: &RunRecord) -> StepTimes {
    let mut lines = Vec::new();
    let approval_seconds = rec.approval.as_ref().and_then(|a| a.wait_seconds);
    if let Some(a) = &rec.approval {
        lines.push(format!(
            "approval: {} by {} after {:.1} s of waiting",
            a.decision.as_str(),
            a.by.as_deref().unwrap_or("nobody"),
            a.wait_seconds.unwrap_or_default()
        ));
    }
    let mut capacity_seconds = None;
    let mut hook_seconds = 0.0;
    let mut hooks = 0;
    for app in &rec.apps {
        for c in &app.capacity {
            lines.push(format!(
                "{}: capacity: {}",
                app.app,
                lifeboat_console::text::capacity_outcome_text(c)
            ));
        }
        if let (Some(s), Some(r)) = (app.timeline.capacity_started_at, app.timeline.capacity_ready_at) {
            capacity_seconds = Some((r - s).num_milliseconds() as f64 / 1000.0);
        }
        for h in &app.hooks {
            hooks += 1;
            hook_seconds += (h.ended_at - h.started_at).num_milliseconds() as f64 / 1000.0;
            lines.push(format!(
                "{}: hook {} ({}) {} after {} attempt(s)",
                app.app,
                h.name,
                h.when.as_str(),
                h.status.as_str(),
                h.attempts
            ));
        }
        if let Some(d) = app.database.as_ref().filter(|_| app.app.ends_with("search")) {
            lines.push(format!(
                "{}: DocumentDB global cluster: {}",
                app.app,
                lifeboat_console::text::database_outcome_text(d)
            ));
        }
    }
    if let Some(s) = capacity_seconds {
        lines.push(format!(
            "time on the run's clock: capacity {s:.0} s (while the databases promoted), hooks {hook_seconds:.1} s, \
             approval {:.1} s",
            approval_seconds.unwrap_or_default()
        ));
    }
    StepTimes {
        lines,
        approval_seconds,
        capacity_seconds,
        hook_seconds,
        hooks,
    }
}
