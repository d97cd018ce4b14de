//! shift_wave: the wave's traffic moved (or put back) for the apps whose
//! database is ready (or that failed).

use super::*;
use crate::contract::{VerifyStatus, WaveStep};
use crate::journal::{LoadedWave, load_wave, save_progress};
use crate::services::Services;
use crate::shift_dns::{DatabaseResult, ShiftInput, ShiftMode, VerifyResult, shift_dns};
use chrono::Utc;
use lifeboat_core::LifeboatError;
use lifeboat_core::dns::BatchLimits;

/// Moves the wave's traffic (or puts it back) as shift_dns does, for the
/// apps the progress says.
pub async fn shift_wave(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let LoadedWave {
        wave,
        mut progress,
        lease_epoch,
    } = load_wave(&*s.journal, &input.at).await?;
    fence(s, &input.at.run_id, lease_epoch).await?;
    let mode = input.mode.unwrap_or(ShiftMode::Shift);
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
    // A rollback after verification: only the apps that failed it; after an
    // error in the wave (input.error): every app of the wave.
    let verified = match (mode, &input.error) {
        (ShiftMode::Rollback, None) => Some(
            wave.apps
                .iter()
                .filter_map(|a| {
                    let v = progress.apps.get(&a.app)?.verify.as_ref()?;
                    Some(VerifyResult {
                        app: a.app.clone(),
                        verified: v.status == VerifyStatus::Verified,
                        detail: v.detail.clone(),
                        api_calls: serde_json::Value::Null,
                    })
                })
                .collect(),
        ),
        _ => None,
    };
    let out = shift_dns(
        &*s.dns_read,
        &*s.dns_write,
        &*s.arc,
        BatchLimits::default(),
        ShiftInput {
            run_id: input.at.run_id.clone(),
            wave: wave.clone(),
            mode,
            verified,
            error: input.error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
            databases: (mode == ShiftMode::Shift).then_some(databases),
        },
    )
    .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if mode == ShiftMode::Rollback => {
            progress.rollback_error = Some(e.to_string());
            save_progress(&*s.journal, &input.at, &progress).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    match mode {
        ShiftMode::Shift => {
            let at = input.entered_at.unwrap_or_else(Utc::now);
            for a in &out.moving {
                let p = progress.apps.entry(a.app.clone()).or_default();
                p.shifted = true;
                p.shifted_at = p.shifted_at.or(Some(at));
            }
            if out.arc.is_some() {
                progress.arc = out.arc.clone();
            }
        }
        ShiftMode::Rollback => {
            let at = input.entered_at.unwrap_or_else(Utc::now);
            for name in &out.apps {
                let p = progress.apps.entry(name.clone()).or_default();
                p.rolled_back = true;
                p.rolled_back_at = p.rolled_back_at.or(Some(at));
            }
            if let Some(e) = &input.error {
                progress.failed = Some(e.clone());
            }
        }
    }
    save_progress(&*s.journal, &input.at, &progress).await?;
    let verb = match mode {
        ShiftMode::Shift => "moved",
        ShiftMode::Rollback => "put back",
    };
    let controls = out
        .arc
        .as_ref()
        .map(|a| format!("; {}", a.describe()))
        .unwrap_or_default();
    Ok(WaveStep {
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
    })
}
