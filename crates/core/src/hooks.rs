//! Hooks in a move: which function runs when, and what became of it.

use crate::registry::{Application, HookWhen, Side};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One hook of a move: the target Region's function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookPlan {
    pub name: String,
    pub when: HookWhen,
    pub function: String,
    pub timeout_seconds: u32,
    pub retries: u32,
}

/// An app's hooks for a move to `target`, in the registry's order.
pub fn plans(app: &Application, target: Side) -> Vec<HookPlan> {
    app.hooks
        .iter()
        .map(|h| HookPlan {
            name: h.name.clone(),
            when: h.when,
            function: h.function.get(target).clone(),
            timeout_seconds: h.timeout_seconds,
            retries: h.retries,
        })
        .collect()
}

crate::closed_names! {
    /// How a hook ended.
    pub enum HookStatus {
        Succeeded = "succeeded",
        /// Its function failed (or timed out, or could not be invoked) on every attempt.
        Failed = "failed",
    }
}

/// What the payload a hook's function receives looks like (documented in the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEvent {
    /// Always `lifeboat.hook`.
    pub source: String,
    pub hook: String,
    pub when: HookWhen,
    pub run_id: String,
    pub app: String,
    /// failover, failback or drill (a drill's phases are a failover then a failback).
    pub action: crate::request::Action,
    pub mode: crate::request::Mode,
    /// The phase's direction: `failover` or `failback`.
    pub phase_action: crate::request::Action,
    pub phase: usize,
    pub wave: usize,
    pub from_region: String,
    pub to_region: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// One hook's run, as the wave's progress and the record keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookOutcome {
    pub name: String,
    pub when: HookWhen,
    pub function: String,
    pub status: HookStatus,
    pub attempts: u32,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// The function's answer (its first 500 characters), or the error.
    #[serde(default)]
    pub detail: String,
}
