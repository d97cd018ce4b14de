//! What the state machine carries of a plan (no app in it) and the one-line
//! summary people read.

use super::*;
use crate::registry::HookWhen;
use crate::registry::Side;
use crate::request::{Action, Mode};
use serde::{Deserialize, Serialize};

/// What the state machine carries of a plan: no app in it, so its size grows
/// with phases and waves, never with the estate. The plan itself is in the
/// journal (`Plan::header` and each wave's apps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub run_id: String,
    pub action: Action,
    pub mode: Mode,
    pub dry_run: bool,
    pub empty: bool,
    pub soak_seconds: u32,
    pub summary: String,
    pub phases: Vec<PhaseSummary>,
    /// Apps the request named that need nothing or cannot move.
    pub skipped: usize,
    /// The run waits for a person after Validate (the state machine's Choice reads it).
    #[serde(default)]
    pub approval_required: bool,
    /// How long it waits (the callback's TimeoutSecondsPath), and what the end of the wait does.
    #[serde(default)]
    pub approval_timeout_seconds: u32,
    #[serde(default)]
    pub approval_on_timeout: crate::registry::OnTimeout,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub action: Action,
    pub target: Side,
    pub waves: Vec<WaveSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveSummary {
    pub index: usize,
    pub apps: usize,
    /// Capacity steps to raise before the wave's traffic moves (0: the state machine skips them).
    #[serde(default)]
    pub capacity: usize,
    /// A drill's failback: capacity steps to put back at the wave's end.
    #[serde(default)]
    pub restore_capacity: usize,
    /// Hooks at each point (0: the state machine skips that point).
    #[serde(default)]
    pub hooks_before_database: usize,
    #[serde(default)]
    pub hooks_before_traffic: usize,
    #[serde(default)]
    pub hooks_after_verify: usize,
}

fn hooks_at(w: &Wave, when: HookWhen) -> usize {
    w.apps.iter().map(|a| a.hooks_at(when).count()).sum()
}

impl Plan {
    pub fn summarize(&self) -> PlanSummary {
        PlanSummary {
            run_id: self.run_id.clone(),
            action: self.action,
            mode: self.mode,
            dry_run: self.dry_run,
            empty: self.empty,
            soak_seconds: self.soak_seconds,
            summary: self.summary.clone(),
            phases: self
                .phases
                .iter()
                .map(|p| PhaseSummary {
                    action: p.action,
                    target: p.target,
                    waves: p
                        .waves
                        .iter()
                        .map(|w| WaveSummary {
                            index: w.index,
                            apps: w.apps.len(),
                            capacity: w.apps.iter().map(|a| a.capacity.len()).sum(),
                            restore_capacity: w
                                .apps
                                .iter()
                                .filter(|a| a.restore_capacity)
                                .map(|a| a.capacity.len())
                                .sum(),
                            hooks_before_database: hooks_at(w, HookWhen::BeforeDatabase),
                            hooks_before_traffic: hooks_at(w, HookWhen::BeforeTraffic),
                            hooks_after_verify: hooks_at(w, HookWhen::AfterVerify),
                        })
                        .collect(),
                })
                .collect(),
            skipped: self.skipped.len(),
            approval_required: self.approval.is_some(),
            approval_timeout_seconds: self.approval.as_ref().map_or(0, |a| a.timeout_seconds),
            approval_on_timeout: self.approval.as_ref().map(|a| a.on_timeout).unwrap_or_default(),
        }
    }

    /// The plan without its waves' apps (they are stored wave by wave).
    pub fn header(&self) -> Plan {
        let mut h = self.clone();
        for w in h.phases.iter_mut().flat_map(|p| p.waves.iter_mut()) {
            w.apps.clear();
        }
        h
    }
}

/// Apps named in a summary before the rest are counted: the summary
/// travels in the state machine's data, whose size must not grow with apps.
const SUMMARY_NAMES: usize = 10;

/// `a, b, c` or `a, b, ... and 4,990 more`.
fn names_or_count<'a>(names: impl ExactSizeIterator<Item = &'a str>, sep: &str) -> String {
    let total = names.len();
    let shown: Vec<&str> = names.take(SUMMARY_NAMES).collect();
    if total > SUMMARY_NAMES {
        format!("{}{sep}... and {} more", shown.join(sep), total - SUMMARY_NAMES)
    } else {
        shown.join(sep)
    }
}

pub(super) fn summarize(plan: &Plan) -> String {
    if plan.empty {
        let reasons: Vec<String> = plan.skipped.iter().map(|s| format!("{} {}", s.app, s.reason)).collect();
        return if plan.skipped.is_empty() {
            "nothing to do".to_string()
        } else {
            format!(
                "nothing to do: {}",
                names_or_count(reasons.iter().map(String::as_str), "; ")
            )
        };
    }
    let phases: Vec<String> = plan
        .phases
        .iter()
        .map(|p| {
            let waves: Vec<String> = p
                .waves
                .iter()
                .map(|w| names_or_count(w.apps.iter().map(|a| a.app.as_str()), "+"))
                .collect();
            format!(
                "{} to {} in {} wave(s) [{}]",
                p.action,
                p.target,
                p.waves.len(),
                waves.join(" then ")
            )
        })
        .collect();
    let mut s = format!(
        "{}{}",
        if plan.dry_run { "dry run: would " } else { "" },
        phases.join(", then ")
    );
    if !plan.skipped.is_empty() {
        s.push_str(&format!(
            "; skipped {}",
            names_or_count(plan.skipped.iter().map(|k| k.app.as_str()), ", ")
        ));
    }
    s
}
