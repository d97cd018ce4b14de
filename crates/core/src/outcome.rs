//! What a run did: the journal's record of it, per run and per application.

use crate::calls::ApiCalls;
use crate::request::{Action, Mode, TriggerKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::closed_names! {
    /// How a run ended.
    pub enum RunStatus {
        /// Every application moved and verified.
        Succeeded = "succeeded",
        /// Some applications moved, others were rolled back or failed.
        Partial = "partial",
        /// No application moved.
        Failed = "failed",
        /// Nothing needed doing.
        NothingToDo = "nothing_to_do",
        /// Dry run / practice drill: planned, nothing changed.
        DryRun = "dry_run",
    }
}

crate::closed_names! {
    /// How one application's move ended.
    pub enum AppStatus {
        /// Moved and verified.
        Moved = "moved",
        /// Moved, failed verification, and its DNS weights were restored.
        RolledBack = "rolled_back",
        /// Failed and could not be rolled back (see detail).
        Failed = "failed",
        /// The run stopped and this application's weights are as they were before it.
        NotMoved = "not_moved",
    }
}

/// One application in one phase of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppOutcome {
    pub app: String,
    /// The member account it lives in (its calls made as that account's role); none: lifeboat's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub phase: usize,
    pub action: Action,
    pub to_region: String,
    pub status: AppStatus,
    pub detail: String,
    /// When the app's wave started shifting DNS.
    #[serde(default)]
    pub wave_started_at: Option<DateTime<Utc>>,
    /// When its traffic verified in the target Region.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// From the wave's start to verified traffic: this app's measured recovery time.
    #[serde(default)]
    pub recovery_seconds: Option<f64>,
    /// What happened to its database (absent when it has none to move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseOutcome>,
    /// A routing-control app: the Region of the ARC cluster endpoint that set its controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_controls_via: Option<String>,
    /// Its timeline, on the execution's clock: the wave it moved in, when its
    /// traffic changed, when verification started and ended (verified or
    /// given up), and when its traffic was put back.
    #[serde(default, skip_serializing_if = "Timeline::is_empty")]
    pub timeline: Timeline,
    /// Its data and its traffic are in different Regions (the database
    /// moved, the traffic did not): what is where, and how to join them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apart: Option<String>,
    /// Its capacity steps in the target Region (those reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<crate::capacity::CapacityOutcome>,
    /// A drill's failback: the failover's capacity steps and what putting them back did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_restored: Vec<crate::capacity::CapacityOutcome>,
    /// Its hooks that ran, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<crate::hooks::HookOutcome>,
}

/// Whether an app that did not move left its database moved (or moving)
/// without its traffic, and if so what is where and how to join them.
/// `shifted`: its traffic was moved at some point (its writer CNAME was then
/// repointed, and a rollback leaves it with the writer).
pub fn data_and_traffic_apart(
    app: &crate::plan::AppMove,
    action: Action,
    status: AppStatus,
    db: Option<&DatabaseOutcome>,
    shifted: bool,
    endpoint: Option<&str>,
) -> Option<String> {
    use crate::database::DbAction;
    let db = db?;
    if status == AppStatus::Moved || !db.action.changes_database() {
        return None;
    }
    let (target, region, from) = (&db.target, &db.region, &app.from_region);
    let state = match db.status {
        DbStatus::Writable => format!("its database's writer is now {target} in {region}"),
        DbStatus::Pending | DbStatus::TimedOut => {
            format!("its database's move to {target} in {region} was started and may still complete")
        }
        _ => return None,
    };
    let plan = &app.database;
    let back = match (plan.action, &plan.global_cluster_id) {
        (DbAction::Switchover | DbAction::Failover, Some(global)) => format!(
            ", or switch the database back: aws rds switchover-global-cluster --region {region} \
             --global-cluster-identifier {global} --target-db-cluster-identifier <the ARN of {} in {}> \
             (planned, no data lost; the old primary must have rejoined)",
            plan.source, plan.source_region
        ),
        _ => " (a promoted replica or a restored backup has no way back: move the traffic)".to_string(),
    };
    let cname = match (&plan.endpoint_record, shifted) {
        (Some(rec), false) => format!(
            "; its writer CNAME {} was not repointed{}",
            rec.name,
            endpoint.map(|e| format!(": point it at {e}")).unwrap_or_default()
        ),
        _ => String::new(),
    };
    Some(format!(
        "DATA AND TRAFFIC APART: {state}, while its traffic stays in {from}{cname}. Join them: move the \
         traffic to the writer with a run of this app alone ({{\"action\": \"{}\", \"apps\": [\"{}\"]}}){back}",
        action.as_str(),
        app.app
    ))
}

/// When each step of an app's move happened (see [`AppOutcome::timeline`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
    /// When its first capacity step started, and when its last was in service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_ready_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shifted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back_at: Option<DateTime<Utc>>,
}

impl Timeline {
    pub fn is_empty(&self) -> bool {
        *self == Timeline::default()
    }
}

crate::closed_names! {
    /// An app's database step: as it goes (the wave's progress) and as it ended
    /// (the journal's record).
    pub enum DbStatus {
        /// No database action, and its dependencies are in place.
        NotNeeded = "not-needed",
        /// Promotion started; waiting until writable.
        Pending = "pending",
        Writable = "writable",
        /// The RPO gate said no; nothing changed.
        Refused = "refused",
        /// A dependency did not move; nothing changed.
        Blocked = "blocked",
        /// Not writable by the deadline.
        TimedOut = "timed-out",
        Failed = "failed",
        /// No automatic way back (manual-rebuild): lifeboat moved DNS only.
        Manual = "manual",
        /// The run stopped before the app's wave.
        NotReached = "not-reached",
    }
}

impl DbStatus {
    /// Whether the app's traffic may follow.
    pub fn ready(self) -> bool {
        matches!(self, DbStatus::NotNeeded | DbStatus::Writable)
    }
}

/// One application's database step in one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseOutcome {
    pub action: crate::database::DbAction,
    pub status: DbStatus,
    pub region: String,
    pub target: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When the target was first seen writable.
    #[serde(default)]
    pub writable_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub seconds_to_writable: Option<f64>,
    /// Replication lag when it failed over (0 for a switchover): the data at risk.
    #[serde(default)]
    pub rpo_at_risk_seconds: Option<f64>,
    /// rds-backup: the point in time restored to, and the writes after it that were lost.
    #[serde(default)]
    pub restore_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_window_lost_seconds: Option<f64>,
    /// A failover with data loss: where the writes it lost will be. Aurora
    /// keeps the old primary's volume as a DB cluster snapshot named
    /// `rds:unplanned-global-failover-...` when that cluster rejoins, in its
    /// Region, once the Region has recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_writes_snapshot: Option<String>,
    /// Why the app did not move, when its database stopped it (`Lifeboat.RpoExceeded`,
    /// `Lifeboat.NotReady` for the deadline, or the promote's own error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::ErrorName>,
    pub detail: String,
}

impl DatabaseOutcome {
    /// A step of `plan` with nothing measured yet, in `status`, saying `detail`.
    pub fn of(plan: &crate::database::DatabasePlan, status: DbStatus, detail: String) -> Self {
        DatabaseOutcome {
            action: plan.action,
            status,
            region: plan.region.clone(),
            target: plan.target.clone(),
            started_at: None,
            writable_at: None,
            seconds_to_writable: None,
            rpo_at_risk_seconds: None,
            restore_time: None,
            data_window_lost_seconds: None,
            lost_writes_snapshot: None,
            error: None,
            detail,
        }
    }
}

/// The journal's record of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub action: Action,
    pub mode: Mode,
    pub trigger: TriggerKind,
    pub source: String,
    pub dry_run: bool,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Measured recovery time: from the run's start to its last verified application.
    pub duration_seconds: f64,
    pub apps: Vec<AppOutcome>,
    /// AWS API calls by `service:Operation`, across every task of the run.
    pub api_calls: ApiCalls,
    pub summary: String,
    pub error: Option<String>,
    /// The error name a failed or partial run ends with (`Lifeboat.RpoExceeded`,
    /// `Lifeboat.VerificationFailed`, ...); none when it succeeded.
    #[serde(default)]
    pub error_name: Option<crate::FailureName>,
    /// Applications the request named that did not move, and why (what to do).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<crate::plan::Skipped>,
    /// How many app outcomes the run has (`apps` may list fewer: a record
    /// in the state machine's data lists the exceptions first, up to 100).
    #[serde(default)]
    pub apps_total: usize,
    #[serde(default)]
    pub apps_moved: usize,
    /// How many apps were skipped (`skipped` lists at most 100, those that
    /// could not move first).
    #[serde(default)]
    pub skipped_total: usize,
    /// Triggers kept while this run held the lease, whose alarms were still
    /// in ALARM at its end: the follow-up run for their apps that did not
    /// move (the outcome event carries it; a rule starts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<crate::request::FollowUp>,
    /// When the trigger happened (the alarm's state change), if known: the
    /// start of each app's recovery time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<DateTime<Utc>>,
    /// How long the trigger waited before the run started, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited: Option<crate::request::Waited>,
    /// The run waited for a person: who answered, when, and how long it waited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalOutcome>,
}

crate::closed_names! {
    /// How a run's wait for approval ended.
    pub enum ApprovalDecision {
        Approved = "approved",
        Rejected = "rejected",
        /// Nobody answered in time; `on_timeout: proceed` let it go ahead.
        TimedOutProceeded = "timed-out-proceeded",
        /// Nobody answered in time; `on_timeout: reject` stopped it.
        TimedOutRejected = "timed-out-rejected",
        /// Still waiting when the run ended (aborted, or the record of a stopped run).
        Unanswered = "unanswered",
    }
}

/// A run's wait for approval, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalOutcome {
    pub decision: ApprovalDecision,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Who answered (their AWS identity, or the name they gave locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// From the request to the answer (or the timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<f64>,
    pub timeout_seconds: u32,
}
