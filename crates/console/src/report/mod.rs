//! A run's report as data: who or what started it, each app's timeline
//! (segments on one axis that starts at the trigger), its recovery time (RTO)
//! and the data at risk (RPO), the waves, the AWS calls by operation, and the
//! exceptions in plain words. `lifeboat report RUN --output json` prints it
//! (docs/report.md describes every field); [`html`] draws it.

pub mod html;

use chrono::{DateTime, Utc};
use lifeboat_core::outcome::{AppOutcome, AppStatus, RunRecord, RunStatus};
use lifeboat_core::request::{Action, FollowUp, Mode, TriggerKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// The report's format version (bumped when a field changes meaning).
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub report_version: u32,
    pub run_id: String,
    pub action: Action,
    pub mode: Mode,
    pub trigger: TriggerKind,
    /// The alarm, schedule or person (with the API caller) that started it.
    pub source: String,
    pub dry_run: bool,
    pub status: RunStatus,
    pub summary: String,
    pub error: Option<String>,
    /// Time zero of every `*_seconds` below: the trigger (an alarm's state
    /// change) if known, else the run's start.
    pub origin: DateTime<Utc>,
    pub origin_is_trigger: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_seconds: f64,
    pub apps_total: usize,
    pub apps_moved: usize,
    /// The largest RTO and RPO at risk of the run's apps.
    pub max_rto_seconds: Option<f64>,
    pub max_rpo_at_risk_seconds: Option<f64>,
    /// Every app outcome (one per app and phase), in wave order.
    pub apps: Vec<AppReport>,
    pub waves: Vec<WaveReport>,
    /// AWS API calls by operation (`service:Operation`), most first.
    pub api_calls: Vec<CallCount>,
    pub api_calls_total: u64,
    /// Apps that did not move, or moved and failed, with why.
    pub exceptions: Vec<Exception>,
    /// Apps the request named that needed nothing, or could not be planned.
    pub skipped: Vec<SkippedApp>,
    pub skipped_total: usize,
    pub follow_up: Option<FollowUp>,
    /// How long the trigger waited before the run started, and why.
    pub waited: Option<lifeboat_core::request::Waited>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    pub app: String,
    /// The member account it lives in, if not lifeboat's own.
    pub account: Option<String>,
    pub phase: usize,
    pub wave: Option<usize>,
    pub action: Action,
    pub to_region: String,
    pub status: AppStatus,
    /// From time zero to its traffic verified in the target Region.
    pub rto_seconds: Option<f64>,
    /// The replication lag it failed over with, or the restored backup's data window.
    pub rpo_at_risk_seconds: Option<f64>,
    pub segments: Vec<Segment>,
    pub detail: String,
}

lifeboat_core::closed_names! {
    /// A stretch of an app's timeline.
    pub enum SegmentKind {
        /// The run waited for a person, from the request to the answer (or the timeout).
        Approval = "approval",
        /// One of the app's hooks, from its first attempt to its answer.
        Hook = "hook",
        /// The first capacity step raised until the last was in service (or gave up).
        Capacity = "capacity",
        /// Promotion started until the database was writable (or gave up).
        Database = "database",
        /// Weights or routing controls changed until the change was in sync.
        Traffic = "traffic",
        /// Verification's checks until verified or given up.
        Verification = "verification",
        /// From giving up until the traffic was put back.
        Rollback = "rollback",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub kind: SegmentKind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub start_seconds: f64,
    pub end_seconds: f64,
    /// How it ended: `writable`, `timed-out`, `in-sync`, `verified`, `failed`, `rolled-back`, ...
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    pub phase: usize,
    pub wave: usize,
    pub apps: usize,
    pub moved: usize,
    pub not_moved: usize,
    pub start_seconds: Option<f64>,
    pub end_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallCount {
    pub operation: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    pub app: String,
    pub phase: usize,
    pub status: AppStatus,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedApp {
    pub app: String,
    pub reason: String,
    pub error: Option<lifeboat_core::ErrorName>,
}

fn seconds(origin: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (t - origin).num_milliseconds() as f64 / 1000.0
}

/// An app's segments, each from a start to an end on the run's clock.
fn segments(
    a: &AppOutcome,
    approval: Option<&lifeboat_core::outcome::ApprovalOutcome>,
    origin: DateTime<Utc>,
    finished: DateTime<Utc>,
) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut push = |kind, start: DateTime<Utc>, end: DateTime<Utc>, outcome: &str| {
        let end = end.max(start);
        out.push(Segment {
            kind,
            start,
            end,
            start_seconds: seconds(origin, start),
            end_seconds: seconds(origin, end),
            outcome: outcome.to_string(),
        });
    };
    let t = &a.timeline;
    // Every app of the first phase waited for the same answer.
    if let Some(w) = approval.filter(|_| a.phase == 0) {
        push(
            SegmentKind::Approval,
            w.requested_at,
            w.decided_at.unwrap_or(finished),
            w.decision.as_str(),
        );
    }
    if let Some(start) = t.capacity_started_at {
        let failed = a.capacity.iter().find(|c| c.status.is_failure());
        let (end, outcome) = match (t.capacity_ready_at, failed) {
            (Some(ready), None) => (ready, "ready"),
            (_, Some(c)) => (c.ended_at.unwrap_or(finished), c.status.as_str()),
            (None, None) => (t.shifted_at.unwrap_or(finished), "stopped"),
        };
        push(SegmentKind::Capacity, start, end, outcome);
    }
    for h in &a.hooks {
        push(SegmentKind::Hook, h.started_at, h.ended_at, h.status.as_str());
    }
    if let Some(db) = &a.database
        && let Some(start) = db.started_at
    {
        let end = db
            .writable_at
            .or(t.shifted_at)
            .or(t.verify_ended_at)
            .unwrap_or(finished);
        push(SegmentKind::Database, start, end, db.status.as_str());
    }
    if let Some(shifted) = t.shifted_at {
        let end = t.verify_started_at.or(t.rolled_back_at).unwrap_or(shifted);
        push(SegmentKind::Traffic, shifted, end, "in-sync");
    }
    if let Some(start) = t.verify_started_at {
        let (end, outcome) = match (t.verify_ended_at, a.status) {
            (Some(e), AppStatus::Moved) => (e, "verified"),
            (Some(e), _) => (e, "failed"),
            (None, _) => (t.rolled_back_at.unwrap_or(finished), "stopped"),
        };
        push(SegmentKind::Verification, start, end, outcome);
    }
    if let Some(back) = t.rolled_back_at {
        let start = t.verify_ended_at.or(t.shifted_at).unwrap_or(back);
        push(SegmentKind::Rollback, start.min(back), back, "rolled-back");
    }
    out
}

fn plain_status(s: AppStatus) -> &'static str {
    match s {
        AppStatus::Moved => "moved",
        AppStatus::RolledBack => "rolled back",
        AppStatus::Failed => "failed",
        AppStatus::NotMoved => "not moved",
    }
}

impl RunReport {
    /// The report of a run as the journal recorded it (every app).
    pub fn of(rec: &RunRecord) -> RunReport {
        let origin = rec.triggered_at.unwrap_or(rec.started_at);
        let mut apps: Vec<AppReport> = rec
            .apps
            .iter()
            .map(|a| AppReport {
                app: a.app.clone(),
                account: a.account.clone(),
                phase: a.phase,
                wave: a.timeline.wave,
                action: a.action,
                to_region: a.to_region.clone(),
                status: a.status,
                rto_seconds: a.verified_at.map(|v| seconds(origin, v)),
                rpo_at_risk_seconds: a
                    .database
                    .as_ref()
                    .and_then(|d| d.rpo_at_risk_seconds.or(d.data_window_lost_seconds)),
                segments: segments(a, rec.approval.as_ref(), origin, rec.finished_at),
                detail: match &a.apart {
                    Some(apart) => format!("{} {apart}", a.detail),
                    None => a.detail.clone(),
                },
            })
            .collect();
        apps.sort_by(|x, y| (x.phase, x.wave, &x.app).cmp(&(y.phase, y.wave, &y.app)));
        let mut waves: BTreeMap<(usize, usize), WaveReport> = BTreeMap::new();
        for a in &apps {
            let Some(w) = a.wave else { continue };
            let row = waves.entry((a.phase, w)).or_insert(WaveReport {
                phase: a.phase,
                wave: w,
                apps: 0,
                moved: 0,
                not_moved: 0,
                start_seconds: None,
                end_seconds: None,
            });
            row.apps += 1;
            if a.status == AppStatus::Moved {
                row.moved += 1;
            } else {
                row.not_moved += 1;
            }
            for s in &a.segments {
                row.start_seconds = Some(row.start_seconds.map_or(s.start_seconds, |x| x.min(s.start_seconds)));
                row.end_seconds = Some(row.end_seconds.map_or(s.end_seconds, |x| x.max(s.end_seconds)));
            }
        }
        let mut api_calls: Vec<CallCount> = rec
            .api_calls
            .0
            .iter()
            .map(|(k, v)| CallCount {
                operation: k.clone(),
                count: *v,
            })
            .collect();
        api_calls.sort_by(|a, b| b.count.cmp(&a.count).then(a.operation.cmp(&b.operation)));
        let exceptions = apps
            .iter()
            .filter(|a| a.status != AppStatus::Moved)
            .map(|a| Exception {
                app: a.app.clone(),
                phase: a.phase,
                status: a.status,
                reason: format!("{}: {}", plain_status(a.status), a.detail),
            })
            .collect();
        let max = |f: &dyn Fn(&AppReport) -> Option<f64>| apps.iter().filter_map(f).reduce(f64::max);
        RunReport {
            report_version: REPORT_VERSION,
            run_id: rec.run_id.clone(),
            action: rec.action,
            mode: rec.mode,
            trigger: rec.trigger,
            source: rec.source.clone(),
            dry_run: rec.dry_run,
            status: rec.status,
            summary: rec.summary.clone(),
            error: rec.error.clone(),
            origin,
            origin_is_trigger: rec.triggered_at.is_some(),
            started_at: rec.started_at,
            finished_at: rec.finished_at,
            duration_seconds: rec.duration_seconds,
            apps_total: rec.apps_total.max(rec.apps.len()),
            apps_moved: rec.apps.iter().filter(|a| a.status == AppStatus::Moved).count(),
            max_rto_seconds: max(&|a| a.rto_seconds),
            max_rpo_at_risk_seconds: max(&|a| a.rpo_at_risk_seconds),
            waves: waves.into_values().collect(),
            api_calls_total: rec.api_calls.total(),
            api_calls,
            exceptions,
            skipped: rec
                .skipped
                .iter()
                .map(|s| SkippedApp {
                    app: s.app.clone(),
                    reason: s.reason.clone(),
                    error: s.error,
                })
                .collect(),
            skipped_total: rec.skipped_total.max(rec.skipped.len()),
            follow_up: rec.follow_up.clone(),
            waited: rec.waited.clone(),
            apps,
        }
    }

    /// The end of the timeline's axis: the last segment's end, or the run's.
    pub fn axis_end_seconds(&self) -> f64 {
        self.apps
            .iter()
            .flat_map(|a| a.segments.iter().map(|s| s.end_seconds))
            .fold(seconds(self.origin, self.finished_at), f64::max)
            .max(1.0)
    }
}
