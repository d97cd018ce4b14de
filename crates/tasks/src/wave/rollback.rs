//! RollbackUnverified and RollbackWave: traffic put back to the weights it
//! had before the phase. After verification, only the apps that failed it;
//! after an error in the wave (the input's `error`), every app of the wave.
//! A rollback that fails is noted in the wave's progress, for the record.

use super::shift_dns::{change_traffic, load_fenced, traffic_step};
use super::*;
use crate::contract::{VerifyStatus, WaveStep};
use crate::journal::save_progress;
use crate::services::Services;
use crate::shift_dns::{ShiftInput, ShiftMode, VerifyResult};
use chrono::Utc;
use lifeboat_core::LifeboatError;

/// Puts back the traffic of the apps that failed verification, or of the
/// whole wave when the input carries the error that stopped it.
pub async fn roll_back_wave(s: &Services, input: WaveInput) -> Result<WaveStep, LifeboatError> {
    let (wave, mut progress) = load_fenced(s, &input).await?;
    let verified = input.error.is_none().then(|| {
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
            .collect()
    });
    let out = change_traffic(
        s,
        ShiftInput {
            run_id: input.run_id.clone(),
            wave,
            mode: ShiftMode::Rollback,
            verified,
            error: input.error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
            databases: None,
        },
    )
    .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            progress.rollback_error = Some(e.to_string());
            save_progress(&*s.journal, &input.at(), &progress).await?;
            return Err(e);
        }
    };
    let at = input.entered_at.unwrap_or_else(Utc::now);
    for name in &out.apps {
        let p = progress.apps.entry(name.clone()).or_default();
        p.rolled_back = true;
        p.rolled_back_at = p.rolled_back_at.or(Some(at));
    }
    if let Some(e) = &input.error {
        progress.failed = Some(e.clone());
    }
    save_progress(&*s.journal, &input.at(), &progress).await?;
    Ok(traffic_step(out, "put back"))
}
