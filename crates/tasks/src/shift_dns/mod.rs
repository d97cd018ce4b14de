//! shift_dns: set a wave's weighted records to where the plan says, all of the
//! wave's changes in one ChangeBatch per hosted zone; or roll apps back to the
//! weights they had before the phase. Reads first, so a rerun changes nothing.

use lifeboat_aws::ports::{DnsReader, DnsWriter, RoutingControls};
use lifeboat_aws::route53::read_records;
use lifeboat_core::dns::{BatchLimits, DesiredWeight, RecordSet, plan_changes};
use lifeboat_core::plan::Wave;
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};

mod routing_controls;
pub use routing_controls::*;
#[cfg(test)]
mod tests;

lifeboat_core::closed_names! {
    /// Shift to the target, or restore what was there.
    pub enum ShiftMode {
        Shift = "shift",
        Rollback = "rollback",
    }
}

/// One application's verification result, as the state machine collects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub app: String,
    pub verified: bool,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub api_calls: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShiftInput {
    pub run_id: String,
    pub wave: Wave,
    pub mode: ShiftMode,
    /// Rollback only the apps that failed verification; absent = the whole wave.
    #[serde(default)]
    pub verified: Option<Vec<VerifyResult>>,
    /// The error that made the whole wave roll back, for the log.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
    /// Shift only: each app's database step (`{"app", "status"}`); an app
    /// whose database did not become writable keeps its traffic where it is.
    #[serde(default)]
    pub databases: Option<Vec<DatabaseResult>>,
}

#[cfg(test)]
impl ShiftInput {
    /// Run `r` moving `wave` (or putting it back), nothing else said.
    pub(crate) fn of(wave: Wave, mode: ShiftMode) -> Self {
        ShiftInput {
            run_id: "r".into(),
            wave,
            mode,
            verified: None,
            error: None,
            databases: None,
        }
    }
}

/// One app's database step, as the wave's progress says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseResult {
    pub app: String,
    pub status: crate::contract::DbStatus,
    /// The new writer's endpoint, once writable.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl DatabaseResult {
    /// Whether the app's traffic may follow (its data is writable where it goes).
    pub fn ready(&self) -> bool {
        self.status.ready()
    }
}

/// A submitted change, to wait on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRef {
    pub hosted_zone_id: String,
    pub change_id: String,
    pub records: usize,
    /// The member account whose zone it is (none: lifeboat's own): the
    /// change is looked at there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<lifeboat_core::registry::Account>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShiftOutput {
    pub mode: ShiftMode,
    /// The apps whose records this call was about.
    pub apps: Vec<String>,
    /// Shift: the apps moved (their plans), for verification.
    #[serde(default)]
    pub moving: Vec<lifeboat_core::plan::AppMove>,
    pub changes: Vec<ChangeRef>,
    pub records_changed: usize,
    /// What the routing-control apps' move did (null when the wave has none).
    #[serde(default)]
    pub arc: Option<ArcReport>,
}

impl ShiftOutput {
    /// This output and another account's, as one.
    pub fn and(mut self, other: ShiftOutput) -> ShiftOutput {
        self.apps.extend(other.apps);
        self.moving.extend(other.moving);
        self.changes.extend(other.changes);
        self.records_changed += other.records_changed;
        self.arc = match (self.arc, other.arc) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        };
        self
    }
}

/// The database endpoint CNAMEs to repoint at their new writer (none already right).
async fn endpoint_upserts(
    reader: &dyn DnsReader,
    apps: &[&lifeboat_core::plan::AppMove],
    databases: &[DatabaseResult],
) -> Result<Vec<(String, RecordSet)>, LifeboatError> {
    let mut out = Vec::new();
    for app in apps {
        let Some(rec) = &app.database.endpoint_record else {
            continue;
        };
        let Some(endpoint) = databases
            .iter()
            .find(|d| d.app == app.app)
            .and_then(|d| d.endpoint.clone())
        else {
            continue;
        };
        use lifeboat_core::registry::normalize_record_name;
        let name = normalize_record_name(&rec.name);
        let existing = reader
            .record_sets(&rec.hosted_zone_id, &name, "CNAME")
            .await?
            .into_iter()
            .find(|r| r.set_identifier.is_none());
        let Some(existing) = existing else {
            return Err(LifeboatError::invalid(format!(
                "{}: database endpoint record {name} CNAME does not exist in zone {}",
                app.app, rec.hosted_zone_id
            )));
        };
        // A DNS name compares as Route 53 does: case and the final dot do not matter.
        if existing
            .values
            .iter()
            .map(|v| normalize_record_name(v))
            .eq([normalize_record_name(&endpoint)])
        {
            continue;
        }
        tracing::info!(app = %app.app, record = %name, to = %endpoint, "repointing the database endpoint");
        let mut changed = existing;
        changed.values = vec![endpoint];
        out.push((rec.hosted_zone_id.clone(), changed));
    }
    Ok(out)
}

pub async fn shift_dns(
    reader: &dyn DnsReader,
    writer: &dyn DnsWriter,
    arc: &dyn RoutingControls,
    limits: BatchLimits,
    input: ShiftInput,
) -> Result<ShiftOutput, LifeboatError> {
    let apps: Vec<&lifeboat_core::plan::AppMove> = match (&input.mode, &input.verified) {
        (ShiftMode::Shift, _) => input
            .wave
            .apps
            .iter()
            .filter(|a| {
                let db = input.databases.as_ref().and_then(|d| d.iter().find(|r| r.app == a.app));
                match db {
                    Some(r) if !r.ready() => {
                        tracing::warn!(app = %a.app, status = %r.status.as_str(), "database not writable: traffic stays");
                        false
                    }
                    _ => true,
                }
            })
            .collect(),
        (ShiftMode::Rollback, None) => input.wave.apps.iter().collect(),
        (ShiftMode::Rollback, Some(results)) => input
            .wave
            .apps
            .iter()
            .filter(|a| results.iter().any(|r| r.app == a.app && !r.verified))
            .collect(),
    };
    let names: Vec<String> = apps.iter().map(|a| a.app.clone()).collect();
    if apps.is_empty() {
        return Ok(ShiftOutput {
            mode: input.mode,
            apps: names,
            moving: vec![],
            changes: vec![],
            records_changed: 0,
            arc: None,
        });
    }
    // Routing controls first: ARC's data plane, which a disaster can rely on.
    let mut arc_report = routing_controls::set_controls(arc, &input.wave, &apps, input.mode).await?;
    let desired: Vec<DesiredWeight> = apps
        .iter()
        .flat_map(|a| match input.mode {
            ShiftMode::Shift => a.shift_weights(),
            ShiftMode::Rollback => a.restore_weights(),
        })
        .collect();
    let current = read_records(reader, desired.iter().map(|d| &d.key)).await?;
    let (weighted, controlled): (Vec<_>, Vec<_>) = apps.iter().copied().partition(|a| a.controls.is_empty());
    let databases = input.databases.as_deref().unwrap_or_default();
    let mut endpoints = match input.mode {
        ShiftMode::Shift => endpoint_upserts(reader, &weighted, databases).await?,
        // The database stays promoted: its endpoint keeps pointing at the writer.
        ShiftMode::Rollback => Vec::new(),
    };
    // A routing-control app's writer CNAME is a Route 53 edit: made when
    // Route 53's API answers, reported (not fatal) when it does not.
    if input.mode == ShiftMode::Shift && !controlled.is_empty() {
        match endpoint_upserts(reader, &controlled, databases).await {
            Ok(more) => endpoints.extend(more),
            Err(e) if e.name == ErrorName::Internal || e.name == ErrorName::NotReady => {
                tracing::warn!(error = %e, "database endpoint records of routing-control apps not repointed");
                if let Some(r) = arc_report.as_mut() {
                    r.endpoint_records_not_repointed = controlled
                        .iter()
                        .filter_map(|a| {
                            let rec = a.database.endpoint_record.as_ref()?;
                            let to = databases.iter().find(|d| d.app == a.app)?.endpoint.clone()?;
                            Some(format!("{} CNAME {to}", rec.name))
                        })
                        .collect();
                }
            }
            Err(e) => return Err(e),
        }
    }
    let batches = plan_changes(&desired, &current, endpoints, limits)?;
    let verb = match input.mode {
        ShiftMode::Shift => "shift",
        ShiftMode::Rollback => "rollback",
    };
    let comment = format!(
        "lifeboat {} {verb} wave {}: {}",
        input.run_id,
        input.wave.index,
        names.join(",")
    );
    let comment: String = comment.chars().take(256).collect();
    let mut changes = Vec::new();
    let mut records_changed = 0;
    for b in &batches {
        let id = match writer.upsert(&b.hosted_zone_id, &b.upserts, &comment).await {
            Ok(id) => id,
            // Only routing-control apps' writer CNAMEs in this batch: best-effort.
            Err(e) if weighted.is_empty() && e.is_unavailable() => {
                tracing::warn!(error = %e, "database endpoint records not repointed");
                if let Some(r) = arc_report.as_mut() {
                    r.endpoint_records_not_repointed.extend(
                        b.upserts
                            .iter()
                            .map(|u| format!("{} CNAME {}", u.name, u.values.join(","))),
                    );
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(zone = %b.hosted_zone_id, change = %id, records = b.upserts.len(), mode = verb, "submitted change batch");
        records_changed += b.upserts.len();
        changes.push(ChangeRef {
            hosted_zone_id: b.hosted_zone_id.clone(),
            change_id: id,
            records: b.upserts.len(),
            account: None,
        });
    }
    if batches.is_empty() {
        tracing::info!(apps = ?names, mode = verb, "weights already in place: no change");
    }
    if let Some(err) = &input.error {
        tracing::warn!(apps = ?names, error = %err, "rolled back the wave after an error");
    }
    let moving = match input.mode {
        ShiftMode::Shift => apps.iter().map(|a| (*a).clone()).collect(),
        ShiftMode::Rollback => vec![],
    };
    Ok(ShiftOutput {
        mode: input.mode,
        apps: names,
        moving,
        changes,
        records_changed,
        arc: arc_report,
    })
}
