//! How long a plan may take at worst, how many history events it may write,
//! and whether both fit: the run's time limit, Step Functions' history cap,
//! and AWS's rate quotas (a round of checks cannot go faster than its calls'
//! quotas let it).

use super::*;
use crate::database::DbAction;

/// A wave's DNS change is counted twice at its allowance (the shift, and a
/// rollback's), polled as the state machine polls it.
pub use crate::timing::{DNS_SYNC_ALLOWANCE_SECONDS, DNS_SYNC_POLL_SECONDS};

/// Step Functions ends a Standard execution at 25,000 history events
/// ("Step Functions service quotas"); the executor does the same.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// Events kept back for the retries no plan can foresee (each failed task
/// attempt writes 3: scheduled, started, failed).
pub const HISTORY_RESERVE: u64 = 2_500;

/// A Task state writes 5 events (entered, scheduled, started, succeeded,
/// exited); a Wait, Choice or Pass state 2 (entered, exited).
const TASK: u64 = 5;
const OTHER: u64 = 2;
/// One turn of a Wait + check loop: the Wait, the check, the Choice.
const LOOP_TURN: u64 = OTHER + TASK + OTHER;
/// A run's states outside its waves: the execution's start and end,
/// Validate, CheckPlan, the phases' Map, RecordOutcome, PublishOutcome,
/// CheckOutcome and Done.
const RUN_EVENTS: u64 = 2 + TASK + OTHER + 4 + TASK + TASK + OTHER + OTHER;
/// A phase's: its Map iteration, IsFirstPhase, Soak, the waves' Map.
const PHASE_EVENTS: u64 = 2 + OTHER + OTHER + 4;

/// AWS's rate quotas a round of checks meets (the same figures the
/// emulator throttles by, and lifeboat paces itself under).
/// "Request throttling for the Amazon RDS API": 12 requests a second sustained.
const RDS_PER_SECOND: f64 = 12.0;
/// "CloudWatch service quotas": DescribeAlarms 9 a second per Region.
const DESCRIBE_ALARMS_PER_SECOND: f64 = 9.0;
/// "Throttling for Amazon Route 53 API requests": GetHealthCheckStatus 1 a second per account.
const HEALTH_CHECK_STATUS_PER_SECOND: f64 = 1.0;

/// One app's share of the worst case: its database wait and its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowApp {
    pub app: String,
    pub database_seconds: u64,
    /// Its capacity steps' deadlines, one after the other (they run while the database promotes).
    pub capacity_seconds: u64,
    pub verification_seconds: u64,
}

impl SlowApp {
    fn of(a: &AppMove) -> Self {
        let db = &a.database;
        SlowApp {
            app: a.app.clone(),
            database_seconds: if db.action.changes_database() {
                u64::from(db.interval_seconds) * u64::from(db.max_checks)
            } else {
                0
            },
            capacity_seconds: crate::capacity::worst_seconds(&a.capacity),
            verification_seconds: u64::from(a.verification.interval_seconds) * u64::from(a.verification.max_checks),
        }
    }
}

/// A wave's calls in one round of database checks or of verification, and
/// how long AWS's quotas make that round at least.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaveCalls {
    /// RDS describes per round of database checks.
    pub rds_per_round: u64,
    /// DescribeAlarms per verification round (100 alarms a call, per Region).
    pub describe_alarms_per_round: u64,
    /// GetHealthCheckStatus per verification round.
    pub health_checks_per_round: u64,
}

impl WaveCalls {
    fn of(wave: &Wave) -> Self {
        let rds_per_round = wave
            .apps
            .iter()
            .map(|a| match a.database.action {
                // DescribeGlobalClusters and DescribeDBClusters.
                DbAction::Switchover | DbAction::Failover => 2,
                DbAction::PromoteCluster | DbAction::PromoteInstance | DbAction::RestoreBackup => 1,
                DbAction::None | DbAction::ManualRebuild => 0,
            })
            .sum();
        let mut alarms_by_region: std::collections::BTreeMap<&str, u64> = Default::default();
        for a in &wave.apps {
            *alarms_by_region.entry(a.verification.region.as_str()).or_default() += a.verification.alarms.len() as u64;
        }
        WaveCalls {
            rds_per_round,
            describe_alarms_per_round: alarms_by_region.values().map(|n| n.div_ceil(100)).sum(),
            health_checks_per_round: wave
                .apps
                .iter()
                .filter(|a| a.verification.health_check_id.is_some())
                .count() as u64,
        }
    }

    /// The least time a round of database checks takes under the quotas.
    fn database_round_seconds(&self) -> f64 {
        self.rds_per_round as f64 / RDS_PER_SECOND
    }

    /// The least time a verification round takes under the quotas.
    fn verification_round_seconds(&self) -> f64 {
        (self.describe_alarms_per_round as f64 / DESCRIBE_ALARMS_PER_SECOND)
            .max(self.health_checks_per_round as f64 / HEALTH_CHECK_STATUS_PER_SECOND)
    }
}

/// The most database checks and verification checks any app of the wave may make.
fn most_checks(wave: &Wave) -> (u64, u64) {
    let db = wave
        .apps
        .iter()
        .filter(|a| a.database.action.changes_database())
        .map(|a| u64::from(a.database.max_checks))
        .max()
        .unwrap_or(0);
    let verify = wave
        .apps
        .iter()
        .map(|a| u64::from(a.verification.max_checks))
        .max()
        .unwrap_or(0);
    (db, verify)
}

impl Plan {
    /// The longest the run can take if every wait runs to its deadline: per
    /// wave, its slowest database, the DNS sync allowance and its slowest
    /// verification, each round no faster than its calls' quotas allow; the
    /// soak between a drill's phases. With the apps that set each wave's
    /// waits, slowest first.
    pub fn worst_case(&self) -> (u64, Vec<SlowApp>) {
        let mut total = u64::from(self.soak_seconds) * self.phases.len().saturating_sub(1) as u64;
        // A wait for approval may last its whole timeout before anything moves.
        total += self.approval.as_ref().map_or(0, |a| u64::from(a.timeout_seconds));
        let mut slow: Vec<SlowApp> = Vec::new();
        for wave in self.phases.iter().flat_map(|p| p.waves.iter()) {
            let apps: Vec<SlowApp> = wave.apps.iter().map(SlowApp::of).collect();
            let calls = WaveCalls::of(wave);
            let db = apps.iter().max_by_key(|a| a.database_seconds.max(a.capacity_seconds));
            let verify = apps.iter().max_by_key(|a| a.verification_seconds);
            let (db_rounds, verify_rounds) = most_checks(wave);
            // Capacity is raised before the databases promote and comes up meanwhile: the longer counts.
            let db_seconds = (db.map_or(0, |a| a.database_seconds.max(a.capacity_seconds)) as f64)
                .max(db_rounds as f64 * calls.database_round_seconds());
            let verify_seconds = (verify.map_or(0, |a| a.verification_seconds) as f64)
                .max(verify_rounds as f64 * calls.verification_round_seconds());
            // Every attempt of every hook of the slowest app, with the pauses between attempts.
            let hooks_seconds = wave
                .apps
                .iter()
                .map(|a| {
                    a.hooks
                        .iter()
                        .map(|h| u64::from(h.retries + 1) * u64::from(h.timeout_seconds) + (1u64 << h.retries.min(5)))
                        .sum::<u64>()
                })
                .max()
                .unwrap_or(0);
            total += db_seconds.ceil() as u64
                + 2 * DNS_SYNC_ALLOWANCE_SECONDS
                + verify_seconds.ceil() as u64
                + hooks_seconds;
            for a in db.into_iter().chain(verify) {
                if !slow.iter().any(|s| s.app == a.app) {
                    slow.push(a.clone());
                }
            }
        }
        slow.sort_by_key(|a| std::cmp::Reverse(a.database_seconds.max(a.capacity_seconds) + a.verification_seconds));
        (total, slow)
    }

    /// The most history events the run can write if every loop runs to its
    /// last check (retries aside: [`HISTORY_RESERVE`] is kept for them).
    pub fn worst_case_events(&self) -> u64 {
        let dns_polls = DNS_SYNC_ALLOWANCE_SECONDS / DNS_SYNC_POLL_SECONDS;
        let mut events = RUN_EVENTS;
        // NeedsApproval, and AwaitApproval with its timeout's Choice.
        events += OTHER;
        if self.approval.is_some() {
            events += TASK + OTHER;
        }
        for phase in &self.phases {
            events += PHASE_EVENTS;
            for wave in &phase.waves {
                let (db_checks, verify_checks) = most_checks(wave);
                // The Map iteration and StartWave; PromoteDatabases and its
                // loop; ShiftDns, CheckDnsSync and its loop; VerifyApps and
                // its loop; AnyUnverified, RollbackUnverified,
                // CheckRollbackSync and its loop; the wave's result.
                events += 2 + OTHER;
                // AnyCapacity, AnyCapacityLeft, CapacityPending and AnyRestore
                // (passed either way); ScaleCapacity and its loop; a drill's RestoreCapacity.
                let capacity_looks = wave.apps.iter().map(|a| crate::capacity::most_looks(&a.capacity)).max();
                events += OTHER + OTHER + OTHER + OTHER;
                if let Some(looks) = capacity_looks.filter(|l| *l > 0) {
                    events += TASK + looks.saturating_sub(1) * LOOP_TURN;
                }
                if wave.apps.iter().any(|a| a.restore_capacity) {
                    events += TASK;
                }
                // The three hook points' Choices, and a RunHooks Task at each point that has hooks.
                events += 3 * OTHER;
                for when in [
                    crate::registry::HookWhen::BeforeDatabase,
                    crate::registry::HookWhen::BeforeTraffic,
                    crate::registry::HookWhen::AfterVerify,
                ] {
                    if wave.apps.iter().any(|a| a.hooks_at(when).next().is_some()) {
                        events += TASK;
                    }
                }
                events += TASK + OTHER + db_checks * LOOP_TURN;
                events += 2 * TASK + OTHER + dns_polls * LOOP_TURN;
                events += TASK + OTHER + verify_checks.saturating_sub(1) * LOOP_TURN;
                events += OTHER + 2 * TASK + OTHER + dns_polls * LOOP_TURN + OTHER;
            }
        }
        events
    }

    /// Refuses a plan that cannot finish within the execution's timeout if
    /// its waits run to their deadlines (the run would stop half done), or
    /// whose loops could write more history than Step Functions keeps.
    pub fn check_fits(&self, timeout_seconds: u64) -> Result<(), String> {
        let events = self.worst_case_events();
        if events > MAX_HISTORY_EVENTS - HISTORY_RESERVE {
            let (_, slow) = self.worst_case();
            return Err(format!(
                "this run can write up to {events} history events if its checks run to their deadlines, over the \
                 {} Step Functions keeps for an execution (less {HISTORY_RESERVE} kept for retries): every check is \
                 {LOOP_TURN} events. The apps with the most checks: {}; raise their interval_seconds (fewer checks \
                 within the same deadline_seconds) or move fewer waves per run",
                MAX_HISTORY_EVENTS,
                slow.iter()
                    .take(5)
                    .map(|a| a.app.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let (total, slow) = self.worst_case();
        if total <= timeout_seconds {
            return Ok(());
        }
        let named: Vec<String> = slow
            .iter()
            .take(5)
            .map(|a| {
                format!(
                    "{} (database {} s, capacity {} s, verification {} s)",
                    a.app, a.database_seconds, a.capacity_seconds, a.verification_seconds
                )
            })
            .collect();
        Err(format!(
            "this run can take up to {total} s if its waits run to their deadlines ({} wave(s), {DNS_SYNC_ALLOWANCE_SECONDS} s \
             per DNS sync, soak {} s, each round of checks no faster than AWS's rate quotas allow), over the \
             execution's timeout of {timeout_seconds} s: it would stop half done{}. \
             The slowest: {}; lower their deadline_seconds, the soak, or move fewer apps per run",
            self.phases.iter().map(|p| p.waves.len()).sum::<usize>(),
            self.soak_seconds,
            self.approval
                .as_ref()
                .map(|a| format!(" (counting {} s of waiting for approval)", a.timeout_seconds))
                .unwrap_or_default(),
            named.join(", ")
        ))
    }
}
