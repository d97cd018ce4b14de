//! A wave's routing controls: read first, then set in as few calls as ARC
//! allows, overriding the safety rules a one-sided update would trip.

use super::*;
use lifeboat_aws::ports::{ArcUpdateError, RoutingControls};
use lifeboat_core::plan::Wave;
use lifeboat_core::traffic::{ControlState, update_batches};
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};

/// A wave's routing-control update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArcReport {
    /// The Region of the cluster endpoint that answered.
    pub endpoint_region: String,
    /// Endpoints tried before it that did not answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints_skipped: Vec<String>,
    /// Routing controls set (0: all were already as wanted).
    pub controls_changed: usize,
    /// UpdateRoutingControlStates calls made.
    pub updates: usize,
    /// Safety rules overridden (break glass).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden_rules: Vec<String>,
    /// Database endpoint CNAMEs of these apps that could not be repointed
    /// (Route 53's API did not answer): the new writer's endpoint, to set by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_records_not_repointed: Vec<String>,
}

impl ArcReport {
    /// This account's report and another's, as one.
    pub fn and(mut self, other: ArcReport) -> ArcReport {
        if other.endpoint_region != self.endpoint_region {
            self.endpoint_region = format!("{} and {}", self.endpoint_region, other.endpoint_region);
        }
        self.endpoints_skipped.extend(other.endpoints_skipped);
        self.controls_changed += other.controls_changed;
        self.updates += other.updates;
        self.overridden_rules.extend(other.overridden_rules);
        self.endpoint_records_not_repointed
            .extend(other.endpoint_records_not_repointed);
        self
    }

    /// One line for people: what was set where, and what did not go as it should.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} routing control(s) set in {} UpdateRoutingControlStates call(s) through the ARC endpoint in {}",
            self.controls_changed, self.updates, self.endpoint_region
        );
        if !self.endpoints_skipped.is_empty() {
            s.push_str(&format!(
                " (no answer from {} endpoint(s) before it)",
                self.endpoints_skipped.len()
            ));
        }
        if !self.overridden_rules.is_empty() {
            s.push_str(&format!(
                "; safety rules overridden: {}",
                self.overridden_rules.join(", ")
            ));
        }
        if !self.endpoint_records_not_repointed.is_empty() {
            s.push_str(&format!(
                "; database endpoint records NOT repointed (Route 53's API did not answer), set by hand: {}",
                self.endpoint_records_not_repointed.join(", ")
            ));
        }
        s
    }
}

/// How many distinct safety rules one update may override, one at a time.
const MAX_OVERRIDES: usize = 20;

/// Sets the routing controls of the wave's routing-control apps, reading
/// them first so a rerun changes nothing, in as few calls as ARC allows.
pub(super) async fn set_controls(
    arc: &dyn RoutingControls,
    wave: &Wave,
    apps: &[&lifeboat_core::plan::AppMove],
    mode: ShiftMode,
) -> Result<Option<ArcReport>, LifeboatError> {
    let wanted: Vec<Vec<(String, ControlState)>> = apps
        .iter()
        .filter(|a| !a.controls.is_empty())
        .map(|a| match mode {
            ShiftMode::Shift => a.shift_controls(),
            ShiftMode::Rollback => a.restore_controls(),
        })
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let endpoints = &wave.arc_endpoints;
    let arns: Vec<String> = wanted.iter().flatten().map(|(a, _)| a.clone()).collect();
    let not_ready = |e: lifeboat_aws::AwsError| match e {
        lifeboat_aws::AwsError::Unavailable(m) => LifeboatError::new(ErrorName::NotReady, m),
        other => other.into(),
    };
    let read = arc.states(endpoints, &arns).await.map_err(not_ready)?;
    let mut report = ArcReport {
        endpoint_region: read.endpoint_region,
        endpoints_skipped: read.skipped,
        controls_changed: 0,
        updates: 0,
        overridden_rules: Vec::new(),
        endpoint_records_not_repointed: Vec::new(),
    };
    for batch in update_batches(&wanted, &read.value) {
        loop {
            match arc.update(endpoints, &batch, &report.overridden_rules).await {
                Ok(answer) => {
                    tracing::info!(endpoint_region = %answer.endpoint_region, controls = batch.len(), "routing controls set");
                    report.endpoint_region = answer.endpoint_region;
                    report.endpoints_skipped.extend(answer.skipped);
                    report.controls_changed += batch.len();
                    report.updates += 1;
                    break;
                }
                Err(ArcUpdateError::SafetyRule { rule, message })
                    if wave.override_safety_rules
                        && !report.overridden_rules.contains(&rule)
                        && report.overridden_rules.len() < MAX_OVERRIDES =>
                {
                    tracing::warn!(%rule, %message, "overriding an ARC safety rule, as the request asked");
                    report.overridden_rules.push(rule);
                }
                Err(ArcUpdateError::SafetyRule { rule, message }) => {
                    return Err(LifeboatError::invalid(format!(
                        "ARC safety rule {rule} refused setting {}: {message}; nothing in this update was changed. \
                         If this end state is what you want, start a manual run with \"override_safety_rules\": true",
                        batch
                            .iter()
                            .map(|(a, s)| format!("{a} {s}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Err(ArcUpdateError::Aws(e)) => return Err(not_ready(e)),
                // ARC's "try again" (every endpoint said it): the state machine retries.
                Err(ArcUpdateError::Conflict(m)) => return Err(LifeboatError::new(ErrorName::NotReady, m)),
            }
        }
    }
    Ok(Some(report))
}
