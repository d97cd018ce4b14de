//! ShiftDns: the wave's traffic moved (routing controls, weights, writer
//! CNAMEs) for the apps whose database and capacity are ready.

use super::*;
use crate::contract::WaveStep;
use crate::dispatch::TaskKind;
use crate::journal::{LoadedWave, load_wave, save_progress};
use crate::services::Services;
use crate::shift_dns::{DatabaseResult, ShiftInput, ShiftMode, ShiftOutput, shift_dns};
use crate::task::Task;
use chrono::Utc;
use lifeboat_core::LifeboatError;
use lifeboat_core::dns::BatchLimits;

/// Moves the wave's traffic as shift_dns does, for the apps whose database
/// the progress says is ready (or that have none to wait for).
pub async fn shift_wave(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let (mut wave, mut progress) = load_fenced(s, &input).await?;
    // An app whose compute did not come up in the target keeps its traffic where it is.
    // So does one whose hook before the database or the traffic failed.
    wave.apps.retain(|a| {
        let p = progress.apps.get(&a.app);
        if let Some(h) = p.and_then(|p| p.hook_failed_before_traffic()) {
            tracing::warn!(app = %a.app, hook = %h.name, "hook failed: traffic stays");
            return false;
        }
        let ready = super::capacity_ready(a, p);
        if !ready {
            tracing::warn!(app = %a.app, "capacity not in service: traffic stays");
        }
        ready
    });
    let databases: Vec<DatabaseResult> = wave
        .apps
        .iter()
        .filter_map(|a| {
            let p = progress.apps.get(&a.app)?.database.as_ref()?;
            Some(DatabaseResult {
                app: a.app.clone(),
                status: p.status,
                endpoint: p.endpoint.clone(),
            })
        })
        .collect();
    let out = change_traffic(
        s,
        ShiftInput {
            run_id: input.run_id.clone(),
            wave,
            mode: ShiftMode::Shift,
            verified: None,
            error: None,
            databases: Some(databases),
        },
    )
    .await?;
    let at = input.entered_at.unwrap_or_else(Utc::now);
    for a in &out.moving {
        let p = progress.apps.entry(a.app.clone()).or_default();
        p.shifted = true;
        p.shifted_at = p.shifted_at.or(Some(at));
    }
    if out.arc.is_some() {
        progress.arc = out.arc.clone();
    }
    save_progress(&*s.journal, &input.at(), &progress).await?;
    Ok(traffic_step(out, "moved"))
}

/// The wave and its progress, once the run is known to still hold the lease.
pub(super) async fn load_fenced(
    s: &Services,
    input: &WaveInput,
) -> Result<(lifeboat_core::plan::Wave, crate::contract::WaveProgress), LifeboatError> {
    let LoadedWave {
        wave,
        progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at()).await?;
    fence(s, &input.run_id, lease_epoch).await?;
    Ok((wave, progress))
}

/// The wave's records and routing controls changed as `change` says.
/// One account's apps at a time (lifeboat's own first): a member account's
/// records, zones and routing controls are read and changed as its role.
pub(super) async fn change_traffic(s: &Services, change: ShiftInput) -> Result<ShiftOutput, LifeboatError> {
    let groups = crate::services::by_account(change.wave.apps.clone(), |a| a.account.as_ref());
    let mut merged: Option<ShiftOutput> = None;
    for (account, apps) in groups {
        let ports = s.for_account(account.as_ref());
        let mut part = change.clone();
        part.wave.apps = apps;
        let mut out = shift_dns(
            &*ports.dns_read,
            &*ports.dns_write,
            &*ports.arc,
            BatchLimits::default(),
            part,
        )
        .await?;
        for c in &mut out.changes {
            c.account = account.clone();
        }
        merged = Some(match merged {
            None => out,
            Some(m) => m.and(out),
        });
    }
    Ok(merged.unwrap_or(ShiftOutput {
        mode: change.mode,
        apps: vec![],
        moving: vec![],
        changes: vec![],
        records_changed: 0,
        arc: None,
    }))
}

/// What a traffic step answers: apps moved (or put back) and the changes to wait for.
pub(super) fn traffic_step(out: ShiftOutput, verb: &str) -> WaveStep {
    let controls = out
        .arc
        .as_ref()
        .map(|a| format!("; {}", a.describe()))
        .unwrap_or_default();
    WaveStep {
        pending: 0,
        interval_seconds: 0,
        done: out.apps.len(),
        failed: 0,
        summary: format!(
            "{} app(s) {verb}: {} record(s) changed in {} change batch(es){controls}",
            out.apps.len(),
            out.records_changed,
            out.changes.len()
        ),
        changes: out.changes,
        api_calls: Default::default(),
    }
}

/// The ShiftDns state, and the two rollbacks ([`super::rollback`]) its
/// function serves (the input's `mode`).
pub struct ShiftDns;

impl Task for ShiftDns {
    const KIND: TaskKind = TaskKind::ShiftDns;
    type Input = WaveInput;
    type Output = WaveStep;

    async fn run(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
        let mut step = match input.mode.unwrap_or(ShiftMode::Shift) {
            ShiftMode::Shift => shift_wave(s, input).await?,
            ShiftMode::Rollback => super::rollback::roll_back_wave(s, input).await?,
        };
        step.api_calls = s.calls_made(None);
        Ok(step)
    }
}
