//! ScaleCapacity: before a wave's traffic moves, each app's Auto Scaling
//! groups and ECS services in the target Region are raised to their percent
//! of the source side's desired count, one step after the other in the
//! registry's order, and looked at until in service (the state machine's
//! Wait + check loop), each step bounded by its own deadline. An app whose
//! capacity does not come keeps its traffic where it is; the others move.
//!
//! The source's desired count is read live, one short attempt (the source
//! Region may be dark); when it does not answer, readiness's last reading
//! stands in, and the record says which was used. lifeboat never lowers a
//! target. At a drill's end (`restore`), the drill Region's groups and
//! services are put back as the failover found them, unless someone changed
//! them since.

use super::*;
use crate::contract::{VerifyStatus, WaveProgress, WaveStep};
use crate::dispatch::TaskKind;
use crate::journal::{LoadedWave, load_wave, save_progress};
use crate::readiness::READINESS_RUN;
use crate::services::Services;
use crate::task::Task;
use chrono::{DateTime, Utc};
use lifeboat_aws::error::AwsError;
use lifeboat_aws::ports::{Capacity, CapacityState};
use lifeboat_core::LifeboatError;
use lifeboat_core::capacity::{CapacityMove, CapacityOutcome, CapacityStatus, Scalable, Seen, needed};
use lifeboat_core::plan::AppMove;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The targets looked at for this round, read in batches beforehand; any
/// other call goes to the service.
struct Looked {
    states: BTreeMap<Scalable, Result<Option<CapacityState>, AwsError>>,
    inner: Arc<dyn Capacity>,
}

#[async_trait::async_trait]
impl Capacity for Looked {
    async fn describe(&self, resource: &Scalable) -> Result<Option<CapacityState>, AwsError> {
        match self.states.get(resource) {
            Some(state) => state.clone(),
            None => self.inner.describe(resource).await,
        }
    }
    async fn set_desired(&self, resource: &Scalable, desired: u32, max: Option<u32>) -> Result<(), AwsError> {
        self.inner.set_desired(resource, desired, max).await
    }
}

/// One raise-or-look of each app of the wave with capacity steps left.
pub async fn scale_wave(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at()).await?;
    let at = input.entered_at.unwrap_or_else(Utc::now);
    let apps: Vec<&AppMove> = wave.apps.iter().filter(|a| !a.capacity.is_empty()).collect();
    let raises_left = apps.iter().any(|a| {
        let done = progress
            .apps
            .get(&a.app)
            .map(|p| p.capacity.as_slice())
            .unwrap_or_default();
        done.len() < a.capacity.len() || done.iter().any(|c| c.status == CapacityStatus::Pending && !raised(c))
    });
    if raises_left {
        fence(s, &input.run_id, lease_epoch).await?;
    }
    // The steps raised earlier and still coming up are looked at in batches
    // (50 groups, 10 services a call), per account.
    let mut to_look: BTreeMap<Option<lifeboat_core::registry::Account>, Vec<Scalable>> = BTreeMap::new();
    for a in &apps {
        let done = progress
            .apps
            .get(&a.app)
            .map(|p| p.capacity.as_slice())
            .unwrap_or_default();
        if let Some(step) = done.iter().find(|c| c.status == CapacityStatus::Pending && raised(c)) {
            to_look.entry(a.account.clone()).or_default().push(step.target.clone());
        }
    }
    let mut looked: BTreeMap<Option<lifeboat_core::registry::Account>, Arc<Looked>> = BTreeMap::new();
    for (account, targets) in to_look {
        let ports = s.for_account(account.as_ref());
        let states = ports.capacity.describe_many(&targets).await.into_iter().collect();
        looked.insert(
            account,
            Arc::new(Looked {
                states,
                inner: ports.capacity.clone(),
            }),
        );
    }
    let jobs: Vec<(Services, String, AppMove, Vec<CapacityOutcome>)> = apps
        .into_iter()
        .map(|a| {
            let steps = progress
                .apps
                .get(&a.app)
                .map(|p| p.capacity.clone())
                .unwrap_or_default();
            let mut ports = s.for_app(a);
            if let Some(l) = looked.get(&a.account) {
                ports.capacity = l.clone();
            }
            (ports, input.run_id.clone(), a.clone(), steps)
        })
        .collect();
    let results: Vec<(String, Vec<CapacityOutcome>)> = bounded(jobs, |(s, run_id, app, steps)| async move {
        let steps = advance_app(&s, &run_id, &app, steps, at).await;
        (app.app, steps)
    })
    .await;
    for (name, steps) in results {
        progress.apps.entry(name).or_default().capacity = steps;
    }
    save_progress(&*s.journal, &input.at(), &progress).await?;
    Ok(capacity_step(&wave.apps, &progress))
}

/// Whether lifeboat raised the step's target (or found it had enough).
fn raised(c: &CapacityOutcome) -> bool {
    c.before.is_some()
}

/// Moves one app's steps on: looks at the pending one, raises the next once
/// the one before is in service.
async fn advance_app(
    s: &Services,
    run_id: &str,
    app: &AppMove,
    mut steps: Vec<CapacityOutcome>,
    at: DateTime<Utc>,
) -> Vec<CapacityOutcome> {
    for (i, mv) in app.capacity.iter().enumerate() {
        if steps.get(i).is_none() {
            steps.push(CapacityOutcome {
                target: mv.target.clone(),
                status: CapacityStatus::Pending,
                source_desired: None,
                source_basis: String::new(),
                needed: 0,
                before: None,
                set_to: None,
                ready: 0,
                checks: 0,
                started_at: Some(at),
                ready_at: None,
                ended_at: None,
                seconds_to_ready: None,
                detail: String::new(),
                restored: None,
            });
        }
        let step = &mut steps[i];
        match step.status {
            CapacityStatus::Ready => continue,
            CapacityStatus::Failed | CapacityStatus::TimedOut => break,
            CapacityStatus::Pending => {}
        }
        if !raised(step) {
            raise(s, run_id, app, mv, step).await;
        }
        if step.status == CapacityStatus::Pending && raised(step) {
            look(s, mv, step, at).await;
        }
        if step.status.is_failure() {
            step.ended_at = step.ended_at.or(Some(at));
        }
        if step.status != CapacityStatus::Ready {
            break;
        }
    }
    steps
}

/// The source's desired count: live, else readiness's last reading.
async fn source_desired(s: &Services, app: &str, mv: &CapacityMove) -> Result<(u32, String), String> {
    let why = match s.capacity_source.describe(&mv.source).await {
        Ok(Some(state)) => return Ok((state.reading.desired, "live".into())),
        Ok(None) => format!("{} does not exist", mv.source.describe()),
        Err(e) => e.to_string(),
    };
    match last_seen(s, app, &mv.source).await {
        Some(seen) => Ok((
            seen.desired,
            format!(
                "readiness's last reading, {} (the source did not answer: {why})",
                seen.at.to_rfc3339()
            ),
        )),
        None => Err(format!(
            "the source's desired count is unknown: {why}, and readiness has no reading of {} (run \
             `lifeboat readiness --now` while the source Region answers)",
            mv.source.describe()
        )),
    }
}

/// Readiness's last reading of `resource` for `app`, if any.
async fn last_seen(s: &Services, app: &str, resource: &Scalable) -> Option<Seen> {
    let key = format!("app#{app}");
    let docs = s.journal.get_docs(READINESS_RUN, &key).await.ok()?;
    let doc: crate::readiness::AppReadiness = serde_json::from_str(docs.get(&key)?).ok()?;
    doc.capacity_seen.into_iter().find(|seen| &seen.resource == resource)
}

/// Raises `mv.target` to what the source needs of it (never lowers it).
async fn raise(s: &Services, run_id: &str, app: &AppMove, mv: &CapacityMove, step: &mut CapacityOutcome) {
    let (source, basis) = match source_desired(s, &app.app, mv).await {
        Ok(v) => v,
        Err(why) => return fail(step, CapacityStatus::Failed, why),
    };
    step.source_desired = Some(source);
    step.source_basis = basis;
    step.needed = needed(mv.percent, source);
    let target = match s.capacity.describe(&mv.target).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return fail(
                step,
                CapacityStatus::Failed,
                format!("{} does not exist", mv.target.describe()),
            );
        }
        Err(e) if !throttled(&e) => {
            return fail(step, CapacityStatus::Failed, e.to_string());
        }
        Err(e) => {
            step.detail = format!("throttled ({e}); raised at the next look");
            return;
        }
    };
    let unit = mv.target.unit();
    if target.reading.desired >= step.needed {
        step.detail = format!(
            "already {} desired {unit}, {} needed ({}% of {source})",
            target.reading.desired, step.needed, mv.percent
        );
        step.before = Some(target.reading);
        return;
    }
    // A desired count above MaxSize is refused (ValidationError): the max moves with it.
    let max = target.reading.max.filter(|m| *m < step.needed).map(|_| step.needed);
    match s.capacity.set_desired(&mv.target, step.needed, max).await {
        Ok(()) => {
            tracing::info!(run = %run_id, app = %app.app, target = %mv.target.describe(), from = target.reading.desired, to = step.needed, "capacity raised");
            step.before = Some(target.reading);
            step.set_to = Some(step.needed);
            step.detail = format!(
                "raised from {} to {} desired {unit} ({}% of the source's {source}){}",
                target.reading.desired,
                step.needed,
                mv.percent,
                max.map(|m| format!("; MaxSize raised to {m}")).unwrap_or_default()
            );
        }
        Err(e) if !throttled(&e) => fail(step, CapacityStatus::Failed, e.to_string()),
        Err(e) => step.detail = format!("throttled ({e}); raised at the next look"),
    }
}

/// One look whether the target's capacity is in service.
async fn look(s: &Services, mv: &CapacityMove, step: &mut CapacityOutcome, at: DateTime<Utc>) {
    match s.capacity.describe(&mv.target).await {
        Ok(Some(t)) if t.reading.ready >= step.needed && t.steady => {
            step.ready = t.reading.ready;
            step.status = CapacityStatus::Ready;
            step.ready_at = Some(at);
            step.seconds_to_ready = seconds(step.started_at, Some(at));
        }
        Ok(Some(t)) => {
            step.ready = t.reading.ready;
            step.checks += 1;
        }
        Ok(None) => {
            return fail(
                step,
                CapacityStatus::Failed,
                format!("{} no longer exists", mv.target.describe()),
            );
        }
        Err(e) if !throttled(&e) => {
            return fail(step, CapacityStatus::Failed, e.to_string());
        }
        Err(e) => {
            step.checks += 1;
            tracing::warn!(target = %mv.target.describe(), error = %e, "capacity look throttled");
        }
    }
    // Its deadline runs from its raise, on the execution's clock; the look count bounds it too.
    let elapsed = seconds(step.started_at, Some(at)).unwrap_or(0.0);
    let out_of_time = elapsed >= f64::from(mv.deadline_seconds) || u64::from(step.checks) >= mv.most_looks();
    if step.status == CapacityStatus::Pending && out_of_time {
        let why = format!(
            "{} of {} {} in service {elapsed:.0} s after the raise (deadline_seconds {}): {}",
            step.ready,
            step.needed,
            mv.target.unit(),
            mv.deadline_seconds,
            step.detail
        );
        fail(step, CapacityStatus::TimedOut, why);
    }
}

fn throttled(e: &AwsError) -> bool {
    matches!(e, AwsError::Throttled(_))
}

fn fail(step: &mut CapacityOutcome, status: CapacityStatus, why: String) {
    tracing::warn!(target = %step.target.describe(), status = status.as_str(), %why, "capacity step failed: the app's traffic stays");
    step.status = status;
    step.detail = why;
}

/// The wave's counts: apps pending, ready (or with nothing to do), failed;
/// each app's current step when the wave is small, the failures otherwise.
fn capacity_step(apps: &[AppMove], progress: &WaveProgress) -> WaveStep {
    let mut step = WaveStep::default();
    let mut interval: Option<u32> = None;
    let with_capacity: Vec<&AppMove> = apps.iter().filter(|a| !a.capacity.is_empty()).collect();
    let few = with_capacity.len() <= SUMMARY_APPS;
    let mut lines = Vec::new();
    for a in with_capacity {
        let steps = progress
            .apps
            .get(&a.app)
            .map(|p| p.capacity.as_slice())
            .unwrap_or_default();
        let current = steps.iter().find(|c| c.status.is_failure()).or(steps.last());
        let failed = steps.iter().any(|c| c.status.is_failure());
        if failed {
            step.failed += 1;
        } else if steps.len() == a.capacity.len() && steps.iter().all(|c| c.status == CapacityStatus::Ready) {
            step.done += 1;
        } else {
            step.pending += 1;
            let i = a
                .capacity
                .get(steps.len().saturating_sub(1))
                .map(|m| m.interval_seconds);
            interval = match (interval, i) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
        }
        if let Some(c) = current.filter(|_| few || failed) {
            lines.push(format!(
                "[{}] {} {}: {}/{} {} in service; {}",
                a.app,
                c.target.describe(),
                c.status.as_str(),
                c.ready,
                c.needed,
                c.target.unit(),
                c.detail
            ));
        }
    }
    step.interval_seconds = interval.unwrap_or(1).max(1);
    step.summary = format!(
        "capacity: {} app(s) ready, {} pending, {} failed{}",
        step.done,
        step.pending,
        step.failed,
        if lines.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                lines.into_iter().take(SUMMARY_APPS).collect::<Vec<_>>().join("; ")
            )
        }
    );
    step
}

/// Apps named one by one in the step's summary (the rest are counted).
const SUMMARY_APPS: usize = 10;

/// Whether an app may move its traffic: every capacity step in service.
pub fn capacity_ready(app: &AppMove, progress: Option<&crate::contract::AppProgress>) -> bool {
    let steps = progress.map(|p| p.capacity.as_slice()).unwrap_or_default();
    steps.len() >= app.capacity.len() && steps.iter().all(|c| c.status == CapacityStatus::Ready)
}

/// A drill's end: puts the drill Region's capacity back for the wave's apps
/// that came home, as the failover phase found it.
pub async fn restore_wave(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at()).await?;
    fence(s, &input.run_id, lease_epoch).await?;
    let home: Vec<&AppMove> = wave
        .apps
        .iter()
        .filter(|a| a.restore_capacity)
        .filter(|a| {
            progress.apps.get(&a.app).is_some_and(|p| {
                p.shifted && !p.rolled_back && p.verify.as_ref().is_some_and(|v| v.status == VerifyStatus::Verified)
            })
        })
        .collect();
    let mut step = WaveStep::default();
    // The failover phase's progress of each app: the same wave index first (a drill's two phases group alike).
    let mut raised_by_failover: BTreeMap<String, Vec<CapacityOutcome>> = BTreeMap::new();
    let mut wave_index = input.wave;
    let mut tried = std::collections::BTreeSet::new();
    while home.iter().any(|a| !raised_by_failover.contains_key(&a.app)) && tried.insert(wave_index) {
        let at = crate::contract::WaveRef {
            run_id: input.run_id.clone(),
            phase: 0,
            wave: wave_index,
        };
        let Ok(failover) = load_wave(&*s.journal, &at).await else {
            break;
        };
        for (name, p) in failover.progress.apps {
            if !p.capacity.is_empty() {
                raised_by_failover.insert(name, p.capacity);
            }
        }
        wave_index = if wave_index == input.wave { 0 } else { wave_index + 1 };
    }
    for app in home {
        let Some(steps) = raised_by_failover.get(&app.app) else {
            continue;
        };
        let mut restored = Vec::new();
        let s = s.for_app(app);
        for c in steps {
            let note = put_back(&s, c).await;
            if note.starts_with("put back") {
                step.done += 1;
            } else if note.starts_with("left") {
                step.failed += 1;
            }
            let mut c = c.clone();
            c.restored = Some(note);
            restored.push(c);
        }
        progress.apps.entry(app.app.clone()).or_default().capacity_restored = restored;
    }
    save_progress(&*s.journal, &input.at(), &progress).await?;
    step.summary = format!(
        "drill capacity: {} step(s) put back, {} left as they are",
        step.done, step.failed
    );
    Ok(step)
}

/// Puts one raised target back, if lifeboat raised it and nobody changed it since.
async fn put_back(s: &Services, c: &CapacityOutcome) -> String {
    let (Some(set_to), Some(before)) = (c.set_to, c.before) else {
        return "nothing to put back: lifeboat did not raise it".into();
    };
    match s.capacity.describe(&c.target).await {
        Ok(Some(now)) if now.reading.desired != set_to => format!(
            "left at {} desired: changed since lifeboat set {set_to} (not put back to {})",
            now.reading.desired, before.desired
        ),
        Ok(Some(now)) => {
            let max = before.max.filter(|m| now.reading.max.is_some_and(|n| n != *m));
            match s.capacity.set_desired(&c.target, before.desired, max).await {
                Ok(()) => format!("put back to {} desired", before.desired) + &restored_max(max),
                Err(e) => format!("left at {set_to}: putting it back failed: {e}"),
            }
        }
        Ok(None) => format!("left: {} no longer exists", c.target.describe()),
        Err(e) => format!("left at {set_to}: {e}"),
    }
}

fn restored_max(max: Option<u32>) -> String {
    max.map(|m| format!(", MaxSize {m}")).unwrap_or_default()
}

/// The ScaleCapacity state, its check loop, and a drill's RestoreCapacity (`restore`).
pub struct ScaleCapacity;

impl Task for ScaleCapacity {
    const KIND: TaskKind = TaskKind::ScaleCapacity;
    type Input = WaveInput;
    type Output = WaveStep;

    async fn run(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
        let carried = input.api_calls.clone();
        let mut step = if input.restore {
            restore_wave(s, input).await?
        } else {
            scale_wave(s, input).await?
        };
        step.api_calls = s.calls_made(carried.as_ref());
        Ok(step)
    }
}
