//! RunHooks: each app's own functions at one point of its move, invoked in
//! the target Region with a documented payload ([`HookEvent`]), one after
//! the other per app (apps a bounded number at a time), each attempt within
//! its timeout and retried as the registry says.
//!
//! - `before_database`: every app of the wave; a failure holds the app back
//!   (its database is not promoted, its traffic stays);
//! - `before_traffic`: the apps whose database and capacity are ready; a
//!   failure holds the app back (its traffic stays);
//! - `after_verify`: the apps verified in the target Region; a failure is
//!   reported (the app stays moved).
//!
//! A hook that already ran for this wave is not run again when the task is
//! retried: the progress keeps it.

use super::*;
use crate::contract::{AppProgress, VerifyStatus, WaveProgress, WaveStep};
use crate::dispatch::TaskKind;
use crate::journal::{LoadedWave, load_plan_header, load_wave, save_progress};
use crate::services::Services;
use crate::task::Task;
use chrono::Utc;
use lifeboat_core::LifeboatError;
use lifeboat_core::hooks::{HookEvent, HookOutcome, HookPlan, HookStatus};
use lifeboat_core::plan::AppMove;
use lifeboat_core::registry::{HookWhen, Side};
use lifeboat_core::request::Action;

/// The most of a function's answer or error a record keeps.
const DETAIL_CHARS: usize = 500;

/// Runs the wave's hooks at `when`.
pub async fn run_wave_hooks(s: &Services, input: WaveInput, when: HookWhen) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at()).await?;
    let apps: Vec<&AppMove> = wave
        .apps
        .iter()
        .filter(|a| a.hooks_at(when).next().is_some())
        .filter(|a| reached(a, progress.apps.get(&a.app), when))
        .collect();
    if apps.is_empty() {
        return Ok(hooks_step(&wave.apps, &progress, when));
    }
    // A hook is the app's own change: only a run that still holds the lease makes it.
    fence(s, &input.run_id, lease_epoch).await?;
    let plan = load_plan_header(&*s.journal, &input.run_id).await?;
    // Hooks are stamped on the execution's clock (the report's timeline): the state's entry, plus the time they took.
    let clock = ExecClock {
        entered: input.entered_at.unwrap_or_else(Utc::now),
        real: Utc::now(),
    };
    let jobs: Vec<HookJob> = apps
        .into_iter()
        .map(|a| {
            let event = HookEvent {
                source: "lifeboat.hook".into(),
                hook: String::new(),
                when,
                run_id: input.run_id.clone(),
                app: a.app.clone(),
                action: plan.action,
                mode: plan.mode,
                phase_action: if a.target == Side::Secondary {
                    Action::Failover
                } else {
                    Action::Failback
                },
                phase: input.phase,
                wave: input.wave,
                from_region: a.from_region.clone(),
                to_region: a.to_region.clone(),
                attempt: 1,
            };
            let done = progress.apps.get(&a.app).map(|p| p.hooks.clone()).unwrap_or_default();
            (s.for_app(a), clock, event, a.hooks_at(when).cloned().collect(), done)
        })
        .collect();
    let results: Vec<(String, Vec<HookOutcome>)> = bounded(jobs, |(s, clock, event, hooks, done)| async move {
        let app = event.app.clone();
        (app, run_app_hooks(&s, clock, event, &hooks, done).await)
    })
    .await;
    for (app, hooks) in results {
        progress.apps.entry(app).or_default().hooks = hooks;
    }
    save_progress(&*s.journal, &input.at(), &progress).await?;
    Ok(hooks_step(&wave.apps, &progress, when))
}

/// One app's hooks to run: its services, the clock, its event, its hooks, and those that ran already.
type HookJob = (Services, ExecClock, HookEvent, Vec<HookPlan>, Vec<HookOutcome>);

/// The execution's clock during a task: its entry time, moved on as real time passes.
#[derive(Debug, Clone, Copy)]
struct ExecClock {
    entered: chrono::DateTime<Utc>,
    real: chrono::DateTime<Utc>,
}

impl ExecClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        self.entered + (Utc::now() - self.real)
    }
}

/// Whether the app's move got to `when`.
fn reached(app: &AppMove, p: Option<&AppProgress>, when: HookWhen) -> bool {
    let held = p.is_some_and(|p| p.hook_failed_before_traffic().is_some());
    match when {
        HookWhen::BeforeDatabase => !held,
        HookWhen::BeforeTraffic => {
            let db_ready = p.and_then(|p| p.database.as_ref()).is_none_or(|d| d.status.ready());
            !held && db_ready && super::capacity_ready(app, p)
        }
        HookWhen::AfterVerify => p.is_some_and(|p| {
            p.shifted && !p.rolled_back && p.verify.as_ref().is_some_and(|v| v.status == VerifyStatus::Verified)
        }),
    }
}

/// One app's hooks at this point, in order; the first that fails ends them.
async fn run_app_hooks(
    s: &Services,
    clock: ExecClock,
    event: HookEvent,
    hooks: &[HookPlan],
    mut done: Vec<HookOutcome>,
) -> Vec<HookOutcome> {
    for hook in hooks {
        if done.iter().any(|d| d.name == hook.name && d.when == hook.when) {
            if done
                .iter()
                .any(|d| d.name == hook.name && d.status == HookStatus::Failed)
            {
                break;
            }
            continue;
        }
        let outcome = run_hook(s, clock, &event, hook).await;
        let failed = outcome.status == HookStatus::Failed;
        done.push(outcome);
        if failed {
            break;
        }
    }
    done
}

/// One hook: up to `retries` more attempts after a failed one, a second
/// apart and then doubling.
async fn run_hook(s: &Services, clock: ExecClock, event: &HookEvent, hook: &HookPlan) -> HookOutcome {
    let started_at = clock.now();
    let timeout = std::time::Duration::from_secs(u64::from(hook.timeout_seconds));
    let mut detail = String::new();
    let mut attempt = 0;
    while attempt <= hook.retries {
        attempt += 1;
        let payload = HookEvent {
            hook: hook.name.clone(),
            attempt,
            ..event.clone()
        };
        let text = serde_json::to_string(&payload).unwrap_or_default();
        match s.functions.invoke(&hook.function, &text, timeout).await {
            Ok(answer) if answer.function_error.is_none() => {
                tracing::info!(app = %event.app, hook = %hook.name, when = %hook.when.as_str(), attempt, "hook succeeded");
                return HookOutcome {
                    name: hook.name.clone(),
                    when: hook.when,
                    function: hook.function.clone(),
                    status: HookStatus::Succeeded,
                    attempts: attempt,
                    started_at,
                    ended_at: clock.now(),
                    detail: short(&answer.payload),
                };
            }
            Ok(answer) => {
                detail = format!(
                    "the function failed ({}): {}",
                    answer.function_error.unwrap_or_default(),
                    short(&answer.payload)
                );
            }
            Err(e) => detail = short(&e.to_string()),
        }
        tracing::warn!(app = %event.app, hook = %hook.name, attempt, %detail, "hook attempt failed");
        if attempt <= hook.retries {
            tokio::time::sleep(std::time::Duration::from_secs(1 << (attempt - 1).min(4))).await;
        }
    }
    HookOutcome {
        name: hook.name.clone(),
        when: hook.when,
        function: hook.function.clone(),
        status: HookStatus::Failed,
        attempts: attempt,
        started_at,
        ended_at: clock.now(),
        detail,
    }
}

fn short(text: &str) -> String {
    text.chars().take(DETAIL_CHARS).collect()
}

/// The wave's counts at this point: apps whose hooks succeeded, failed.
fn hooks_step(apps: &[AppMove], progress: &WaveProgress, when: HookWhen) -> WaveStep {
    let mut step = WaveStep::default();
    let mut failures = Vec::new();
    for a in apps.iter().filter(|a| a.hooks_at(when).next().is_some()) {
        let ran: Vec<&HookOutcome> = progress
            .apps
            .get(&a.app)
            .map(|p| p.hooks.iter().filter(|h| h.when == when).collect())
            .unwrap_or_default();
        if let Some(f) = ran.iter().find(|h| h.status == HookStatus::Failed) {
            step.failed += 1;
            failures.push(format!(
                "[{}] {} failed after {} attempt(s): {}",
                a.app, f.name, f.attempts, f.detail
            ));
        } else if !ran.is_empty() {
            step.done += 1;
        }
    }
    step.summary = format!(
        "{} hooks: {} app(s) succeeded, {} failed{}",
        when.as_str(),
        step.done,
        step.failed,
        if failures.is_empty() {
            String::new()
        } else {
            format!(": {}", failures.into_iter().take(10).collect::<Vec<_>>().join("; "))
        }
    );
    step
}

/// The RunHooks states (one per point of the move, the input's `when`).
pub struct RunHooks;

impl Task for RunHooks {
    const KIND: TaskKind = TaskKind::RunHooks;
    type Input = WaveInput;
    type Output = WaveStep;

    async fn run(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
        let when = input.when.ok_or_else(|| {
            LifeboatError::invalid("RunHooks needs `when` (before_database, before_traffic or after_verify)")
        })?;
        let mut step = run_wave_hooks(s, input, when).await?;
        step.api_calls = s.calls_made(None);
        Ok(step)
    }
}
