//! The plan: which applications move, in which waves, with which DNS weight
//! changes and checks. Built by `validate` from the request, the registry and
//! the record sets as they are; carried through the state machine as data.

use crate::database::{DatabasePlan, DbDecision, database_step};
use crate::dns::{DesiredWeight, RecordIndex, RecordKey};
use crate::error::LifeboatError;
use crate::registry::{Application, ClusterEndpoint, InsufficientData, Registry, Side};
use crate::request::{Action, AppSelection, Mode, Request, TriggerKind};
use crate::traffic::{ControlChange, ControlState, ControlStates};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One record's weight before and after the phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightChange {
    pub key: RecordKey,
    pub before: i64,
    pub after: i64,
}

/// What verifies an application in its target Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyPlan {
    pub region: String,
    pub health_check_id: Option<String>,
    pub alarms: Vec<String>,
    pub interval_seconds: u32,
    /// Checks before giving up: deadline / interval, at least one.
    pub max_checks: u32,
    /// A disaster run: the health check (Route 53's API, in us-east-1) is read
    /// if it answers, and the target Region's alarms decide if it does not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub health_check_best_effort: bool,
    /// HTTP(S) probes of the target Region's own endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::registry::HttpCheck>,
}

/// One application moving in one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMove {
    pub app: String,
    pub target: Side,
    pub from_region: String,
    pub to_region: String,
    pub database: DatabasePlan,
    /// Weight changes (weighted apps); empty for routing-control apps.
    pub dns: Vec<WeightChange>,
    /// Routing-control apps: the target's control On, the other Off, in one call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlChange>,
    pub verification: VerifyPlan,
    /// Applications this one depends on that move in the same phase (in an
    /// earlier wave): it moves only once they are active where it goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Dependency>,
}

/// A dependency moving ahead of an app: active in the target once its records have these weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub app: String,
    pub dns: Vec<DesiredWeight>,
    /// A routing-control dependency: the states its move sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<(String, ControlState)>,
}

impl AppMove {
    /// Weights that make the target Region active.
    pub fn shift_weights(&self) -> Vec<DesiredWeight> {
        self.dns
            .iter()
            .map(|c| DesiredWeight {
                key: c.key.clone(),
                weight: c.after,
            })
            .collect()
    }
    /// Routing-control states that make the target Region active.
    pub fn shift_controls(&self) -> Vec<(String, ControlState)> {
        self.controls.iter().map(|c| (c.arn.clone(), c.after)).collect()
    }
    /// Routing-control states as they were before the phase (rollback).
    pub fn restore_controls(&self) -> Vec<(String, ControlState)> {
        self.controls.iter().map(|c| (c.arn.clone(), c.before)).collect()
    }
    /// Whether the move changes nothing (already where it should be).
    pub fn is_noop(&self) -> bool {
        self.dns.iter().all(|c| c.before == c.after) && self.controls.iter().all(|c| c.before == c.after)
    }
    /// Weights as they were before the phase (rollback).
    pub fn restore_weights(&self) -> Vec<DesiredWeight> {
        self.dns
            .iter()
            .map(|c| DesiredWeight {
                key: c.key.clone(),
                weight: c.before,
            })
            .collect()
    }
}

/// Applications that move together: their DNS changes go in one batch per zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    pub index: usize,
    pub apps: Vec<AppMove>,
    /// The ARC cluster's endpoints in the order to try them (the target
    /// Region's first); empty when no app of the run uses routing controls.
    #[serde(default)]
    pub arc_endpoints: Vec<ClusterEndpoint>,
    /// Break glass: override the ARC safety rules that refuse this wave's update.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub override_safety_rules: bool,
}

/// One direction of travel (a drill has two: failover, then failback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub action: Action,
    pub target: Side,
    pub waves: Vec<Wave>,
}

/// An application the request named that needs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub app: String,
    pub reason: String,
    /// Set when the app should have moved but could not (`Lifeboat.NotReady`
    /// when Route 53's API did not answer in a disaster): the run is then partial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `error`: the Region it should have moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_region: Option<String>,
}

/// Everything the workflow will do, decided before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub run_id: String,
    pub action: Action,
    pub mode: Mode,
    pub trigger: TriggerKind,
    pub source: String,
    pub dry_run: bool,
    /// True when there is nothing to do (all apps already in place, or an ignored trigger).
    pub empty: bool,
    pub phases: Vec<Phase>,
    pub skipped: Vec<Skipped>,
    pub soak_seconds: u32,
    pub created_at: DateTime<Utc>,
    pub summary: String,
    /// The run lease's epoch, once validate took it (runs that change something).
    #[serde(default)]
    pub lease_epoch: Option<u64>,
    /// When the trigger happened (an alarm's state change), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<DateTime<Utc>>,
}

/// How long a wave's DNS change may take to be INSYNC, counted twice (the
/// shift, and a rollback's): Route 53 usually takes under a minute.
pub const DNS_SYNC_ALLOWANCE_SECONDS: u64 = 300;

/// One app's share of the worst case: its database wait and its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowApp {
    pub app: String,
    pub database_seconds: u64,
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
            verification_seconds: u64::from(a.verification.interval_seconds) * u64::from(a.verification.max_checks),
        }
    }
}

impl Plan {
    /// The longest the run can take if every wait runs to its deadline: per
    /// wave, its slowest database, the DNS sync allowance and its slowest
    /// verification; the soak between a drill's phases. With the apps that
    /// set each wave's waits, slowest first.
    pub fn worst_case(&self) -> (u64, Vec<SlowApp>) {
        let mut total = u64::from(self.soak_seconds) * self.phases.len().saturating_sub(1) as u64;
        let mut slow: Vec<SlowApp> = Vec::new();
        for wave in self.phases.iter().flat_map(|p| p.waves.iter()) {
            let apps: Vec<SlowApp> = wave.apps.iter().map(SlowApp::of).collect();
            let db = apps.iter().max_by_key(|a| a.database_seconds);
            let verify = apps.iter().max_by_key(|a| a.verification_seconds);
            total += db.map_or(0, |a| a.database_seconds)
                + 2 * DNS_SYNC_ALLOWANCE_SECONDS
                + verify.map_or(0, |a| a.verification_seconds);
            for a in db.into_iter().chain(verify) {
                if !slow.iter().any(|s| s.app == a.app) {
                    slow.push(a.clone());
                }
            }
        }
        slow.sort_by_key(|a| std::cmp::Reverse(a.database_seconds + a.verification_seconds));
        (total, slow)
    }

    /// Refuses a plan that cannot finish within the execution's timeout if
    /// its waits run to their deadlines: the run would stop half done.
    pub fn check_fits(&self, timeout_seconds: u64) -> Result<(), String> {
        let (total, slow) = self.worst_case();
        if total <= timeout_seconds {
            return Ok(());
        }
        let named: Vec<String> = slow
            .iter()
            .take(5)
            .map(|a| {
                format!(
                    "{} (database {} s, verification {} s)",
                    a.app, a.database_seconds, a.verification_seconds
                )
            })
            .collect();
        Err(format!(
            "this run can take up to {total} s if its waits run to their deadlines ({} wave(s), {DNS_SYNC_ALLOWANCE_SECONDS} s \
             per DNS sync, soak {} s), over the execution's timeout of {timeout_seconds} s: it would stop half done. \
             The slowest: {}; lower their deadline_seconds, the soak, or move fewer apps per run",
            self.phases.iter().map(|p| p.waves.len()).sum::<usize>(),
            self.soak_seconds,
            named.join(", ")
        ))
    }
}

impl Plan {
    /// Every record the plan touches, in any phase.
    pub fn record_keys(&self) -> impl Iterator<Item = &RecordKey> {
        self.phases
            .iter()
            .flat_map(|p| p.waves.iter())
            .flat_map(|w| w.apps.iter())
            .flat_map(|a| a.dns.iter().map(|c| &c.key))
    }
    pub fn app_count(&self) -> usize {
        self.phases
            .first()
            .map(|p| p.waves.iter().map(|w| w.apps.len()).sum())
            .unwrap_or(0)
    }
}

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
                        })
                        .collect(),
                })
                .collect(),
            skipped: self.skipped.len(),
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

/// What validate read of the world: the record sets and the routing controls
/// as they are, and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub records: RecordIndex,
    pub controls: ControlStates,
    /// Set when Route 53's API did not answer (a disaster run goes on
    /// without it): why. Weighted apps cannot move then; routing-control
    /// apps move, their records unchecked.
    pub route53_unavailable: Option<String>,
}

impl From<RecordIndex> for Observed {
    fn from(records: RecordIndex) -> Self {
        Observed {
            records,
            ..Default::default()
        }
    }
}

/// Facts the plan needs that are not in the request or the registry.
#[derive(Debug, Clone)]
pub struct PlanContext {
    pub run_id: String,
    pub now: DateTime<Utc>,
}

/// The applications a request selects, or why it selects none it may.
pub fn select_apps<'a>(registry: &'a Registry, request: &Request) -> Result<Vec<&'a Application>, LifeboatError> {
    match &request.apps {
        AppSelection::All => {
            if registry.applications.is_empty() {
                return Err(LifeboatError::invalid(
                    "the registry has no applications: run `lifeboat registry apply FILE` first",
                ));
            }
            Ok(registry.applications.iter().collect())
        }
        AppSelection::Named(names) => {
            let unknown: Vec<&str> = names
                .iter()
                .filter(|n| registry.app(n).is_none())
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let known: Vec<&str> = registry.applications.iter().map(|a| a.name.as_str()).collect();
                return Err(LifeboatError::invalid(format!(
                    "unknown application{} {}; the registry has: {}",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            Ok(names.iter().filter_map(|n| registry.app(n)).collect())
        }
        AppSelection::Alarm(alarm) | AppSelection::AlarmWithoutData(alarm) => {
            let apps = registry.apps_for_alarm(alarm);
            if apps.is_empty() {
                return Err(LifeboatError::invalid(format!(
                    "alarm \"{alarm}\" maps to no application: add it to an application's triggers.alarms in the registry"
                )));
            }
            if matches!(request.apps, AppSelection::AlarmWithoutData(_)) {
                return Ok(apps
                    .into_iter()
                    .filter(|a| a.triggers.insufficient_data == InsufficientData::Failover)
                    .collect());
            }
            Ok(apps)
        }
    }
}

/// Builds the plan. `records` must hold every record of the selected apps as
/// Route 53 has them now; missing or unweighted ones are an `InvalidRequest`
/// naming each, before anything changes.
pub fn build_plan(
    registry: &Registry,
    request: &Request,
    observed: &Observed,
    ctx: &PlanContext,
) -> Result<Plan, LifeboatError> {
    let records = &observed.records;
    let mut plan = Plan {
        run_id: ctx.run_id.clone(),
        action: request.action,
        mode: request.mode,
        trigger: request.trigger,
        source: request.source.clone(),
        dry_run: request.dry_run,
        empty: true,
        lease_epoch: None,
        triggered_at: request.triggered_at,
        phases: Vec::new(),
        skipped: Vec::new(),
        soak_seconds: request.soak_seconds,
        created_at: ctx.now,
        summary: String::new(),
    };
    if let Some(reason) = &request.ignore {
        plan.summary = reason.clone();
        return Ok(plan);
    }
    let mut apps = select_apps(registry, request)?;
    if let (AppSelection::AlarmWithoutData(alarm), true) = (&request.apps, apps.is_empty()) {
        plan.summary = format!(
            "alarm \"{alarm}\" went to INSUFFICIENT_DATA: ignored (no app it triggers has triggers.insufficient_data: failover)"
        );
        return Ok(plan);
    }
    if let Some(why) = &observed.route53_unavailable {
        let (cannot, can) = unmovable_without_route53(&apps, why);
        plan.skipped.extend(cannot);
        apps = can;
    }
    check_records(&apps, observed)?;
    let targets: Vec<(Action, Side)> = match request.action {
        Action::Failover => vec![(Action::Failover, Side::Secondary)],
        Action::Failback => vec![(Action::Failback, Side::Primary)],
        Action::Drill => vec![(Action::Failover, Side::Secondary), (Action::Failback, Side::Primary)],
    };
    // Weights as the phase will find them: observed for the first phase, the
    // previous phase's result after that.
    let mut current: HashMap<RecordKey, i64> = HashMap::new();
    let mut controls: HashMap<String, ControlState> = observed.controls.iter().map(|(k, v)| (k.clone(), *v)).collect();
    for app in apps.iter().filter(|a| a.routing_controls().is_none()) {
        for pair in &app.dns {
            for side in [Side::Primary, Side::Secondary] {
                let key = pair.key(side);
                let weight = records.get(&key).and_then(|r| r.weight).unwrap_or(0);
                current.insert(key, weight);
            }
        }
    }
    for (phase_index, (action, target)) in targets.into_iter().enumerate() {
        let mut moving = Vec::new();
        for app in &apps {
            let database = match database_step(app, action, target, request) {
                DbDecision::Move(d) => *d,
                DbDecision::Skip(reason) => {
                    if !plan.skipped.iter().any(|s| s.app == app.name) {
                        plan.skipped.push(Skipped {
                            app: app.name.clone(),
                            reason,
                            error: None,
                            to_region: None,
                        });
                    }
                    continue;
                }
            };
            let mut mv = app_move(app, target, &current, &controls, database);
            mv.verification.health_check_best_effort = request.mode == Mode::Disaster;
            if mv.is_noop() {
                if phase_index == 0 {
                    plan.skipped.push(Skipped {
                        app: app.name.clone(),
                        reason: format!("already active in {} ({target})", app.regions.get(target)),
                        error: None,
                        to_region: None,
                    });
                }
                continue;
            }
            for c in &mv.dns {
                current.insert(c.key.clone(), c.after);
            }
            for c in &mv.controls {
                controls.insert(c.arn.clone(), c.after);
            }
            moving.push(mv);
        }
        // A drill's failback moves back exactly what its failover moved.
        if request.action == Action::Drill && phase_index == 1 {
            let moved: Vec<&str> = plan
                .phases
                .first()
                .map(|p| {
                    p.waves
                        .iter()
                        .flat_map(|w| w.apps.iter().map(|a| a.app.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            moving.retain(|m| moved.contains(&m.app.as_str()));
        }
        if moving.is_empty() {
            continue;
        }
        let mut waves = into_waves(registry, moving);
        if let Some(cluster) = &registry.routing_control_cluster
            && waves.iter().flat_map(|w| &w.apps).any(|a| !a.controls.is_empty())
        {
            // ARC's advice: start with the endpoint in the Region we move to.
            let region = waves
                .iter()
                .flat_map(|w| &w.apps)
                .map(|a| a.to_region.clone())
                .next()
                .unwrap_or_default();
            for w in &mut waves {
                w.arc_endpoints = cluster.endpoints_from(&region);
                w.override_safety_rules = request.override_safety_rules;
            }
        }
        plan.phases.push(Phase { action, target, waves });
    }
    plan.empty = plan.phases.is_empty();
    let cannot: Vec<String> = plan
        .skipped
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| format!("{}: {}", s.app, s.reason))
        .collect();
    if plan.empty && !cannot.is_empty() {
        return Err(LifeboatError::new(
            crate::ErrorName::NotReady,
            format!("no application can move now: {}", cannot.join("; ")),
        ));
    }
    plan.summary = summarize(&plan);
    Ok(plan)
}

/// Weighted apps cannot move while Route 53's API does not answer; nor can
/// the apps that depend on one of them. Returns (those, the others).
fn unmovable_without_route53<'a>(apps: &[&'a Application], why: &str) -> (Vec<Skipped>, Vec<&'a Application>) {
    let not_ready = crate::ErrorName::NotReady.as_str().to_string();
    let mut blocked: BTreeMap<&str, String> = apps
        .iter()
        .filter(|a| a.routing_controls().is_none())
        .map(|a| {
            (
                a.name.as_str(),
                format!(
                    "its traffic moves by weighted records and Route 53's API did not answer ({why}); \
                     its database was left untouched: move it once Route 53 answers, or give it routing controls"
                ),
            )
        })
        .collect();
    loop {
        let more: Vec<(&str, String)> = apps
            .iter()
            .filter(|a| !blocked.contains_key(a.name.as_str()))
            .filter_map(|a| {
                a.depends_on
                    .iter()
                    .find(|d| blocked.contains_key(d.as_str()))
                    .map(|d| (a.name.as_str(), format!("depends on {d}, which cannot move: {why}")))
            })
            .collect();
        if more.is_empty() {
            break;
        }
        blocked.extend(more);
    }
    let skipped = apps
        .iter()
        .filter_map(|a| {
            blocked.get(a.name.as_str()).map(|reason| Skipped {
                app: a.name.clone(),
                reason: reason.clone(),
                error: Some(not_ready.clone()),
                to_region: Some(a.regions.secondary.clone()),
            })
        })
        .collect();
    let rest = apps
        .iter()
        .copied()
        .filter(|a| !blocked.contains_key(a.name.as_str()))
        .collect();
    (skipped, rest)
}

fn check_records(apps: &[&Application], observed: &Observed) -> Result<(), LifeboatError> {
    let records = &observed.records;
    let mut problems = Vec::new();
    for app in apps {
        if let Some(rc) = app.routing_controls() {
            for side in [Side::Primary, Side::Secondary] {
                if !observed.controls.contains_key(rc.get(side)) {
                    problems.push(format!(
                        "{}: {side} routing control {} was not found in the ARC cluster",
                        app.name,
                        rc.get(side)
                    ));
                }
            }
            // Its records are only read when Route 53's API answers.
            if observed.route53_unavailable.is_some() {
                continue;
            }
        }
        for (i, pair) in app.dns.iter().enumerate() {
            for side in [Side::Primary, Side::Secondary] {
                let key = pair.key(side);
                match records.get(&key) {
                    None => problems.push(format!(
                        "{}: dns[{i}] {side} record {} does not exist in Route 53",
                        app.name, key
                    )),
                    Some(r) if r.unsupported.is_some() => problems.push(format!(
                        "{}: dns[{i}] {side} record {} cannot be shifted: {}",
                        app.name,
                        key,
                        r.unsupported.as_deref().unwrap_or_default()
                    )),
                    Some(r) if r.weight.is_none() => problems.push(format!(
                        "{}: dns[{i}] {side} record {} is not a weighted record",
                        app.name, key
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LifeboatError::invalid(format!(
            "the recovery Region is not ready: {}",
            problems.join("; ")
        )))
    }
}

fn app_move(
    app: &Application,
    target: Side,
    current: &HashMap<RecordKey, i64>,
    current_controls: &HashMap<String, ControlState>,
    database: DatabasePlan,
) -> AppMove {
    let mut dns = Vec::new();
    let mut controls = Vec::new();
    if let Some(rc) = app.routing_controls() {
        for side in [Side::Primary, Side::Secondary] {
            let arn = rc.get(side).clone();
            let before = current_controls.get(&arn).copied().unwrap_or(ControlState::Off);
            let after = if side == target {
                ControlState::On
            } else {
                ControlState::Off
            };
            controls.push(ControlChange { arn, before, after });
        }
    }
    for pair in app.dns.iter().filter(|_| controls.is_empty()) {
        for side in [Side::Primary, Side::Secondary] {
            let key = pair.key(side);
            let before = current.get(&key).copied().unwrap_or(0);
            dns.push(WeightChange {
                key,
                before,
                after: pair.weight_for(side, target),
            });
        }
    }
    let v = &app.verification;
    AppMove {
        app: app.name.clone(),
        target,
        from_region: app.regions.get(target.other()).to_string(),
        to_region: app.regions.get(target).to_string(),
        database,
        dns,
        controls,
        depends_on: Vec::new(),
        verification: VerifyPlan {
            region: app.regions.get(target).to_string(),
            health_check_id: v.health_checks.get(target).clone(),
            alarms: v.alarms.get(target).clone(),
            interval_seconds: v.interval_seconds,
            max_checks: crate::registry::checks_within(v.deadline_seconds, v.interval_seconds),
            health_check_best_effort: false,
            probes: v.probes.get(target).clone(),
        },
    }
}

/// Groups moves into waves: lower tiers first; within a tier, an app comes
/// after the apps it depends on.
fn into_waves(registry: &Registry, moves: Vec<AppMove>) -> Vec<Wave> {
    let tier_of: HashMap<&str, u32> = registry
        .applications
        .iter()
        .map(|a| (a.name.as_str(), a.tier))
        .collect();
    let moving: Vec<String> = moves.iter().map(|m| m.app.clone()).collect();
    let mut depth: HashMap<String, u32> = HashMap::new();
    fn depth_of(
        name: &str,
        registry: &Registry,
        moving: &[String],
        depth: &mut HashMap<String, u32>,
        guard: u32,
    ) -> u32 {
        if let Some(d) = depth.get(name) {
            return *d;
        }
        let deps = registry.app(name).map(|a| a.depends_on.clone()).unwrap_or_default();
        // The registry is checked for cycles; the guard only stops a bad one from recursing forever.
        let d = if guard > 64 {
            0
        } else {
            deps.iter()
                .filter(|d| moving.contains(d))
                .map(|d| depth_of(d, registry, moving, depth, guard + 1) + 1)
                .max()
                .unwrap_or(0)
        };
        depth.insert(name.to_string(), d);
        d
    }
    // What each moving app looks like once active in the target: its dependents check it.
    let targets: HashMap<String, Dependency> = moves
        .iter()
        .map(|m| {
            let d = Dependency {
                app: m.app.clone(),
                dns: m.shift_weights(),
                controls: m.shift_controls(),
            };
            (m.app.clone(), d)
        })
        .collect();
    let mut grouped: BTreeMap<(u32, u32), Vec<AppMove>> = BTreeMap::new();
    for mut m in moves {
        m.depends_on = registry
            .app(&m.app)
            .map(|a| a.depends_on.clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| targets.get(&d).cloned())
            .collect();
        let tier = tier_of.get(m.app.as_str()).copied().unwrap_or(0);
        let d = depth_of(&m.app, registry, &moving, &mut depth, 0);
        grouped.entry((tier, d)).or_default().push(m);
    }
    grouped
        .into_values()
        .enumerate()
        .map(|(index, apps)| Wave {
            index,
            apps,
            arc_endpoints: Vec::new(),
            override_safety_rules: false,
        })
        .collect()
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

fn summarize(plan: &Plan) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordSet;
    use crate::registry::parse_registry;
    use crate::request::normalize_trigger;
    use crate::traffic::ControlState;
    use serde_json::json;

    const REG: &str = r#"
version: 1
applications:
  - name: db
    tier: 0
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z1, name: db.x., type: A, set_identifiers: { primary: db-p, secondary: db-s } } ]
    triggers: { alarms: [db-down] }
  - name: api
    tier: 1
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z1, name: api.x., type: A, set_identifiers: { primary: api-p, secondary: api-s } } ]
    verification: { health_checks: { secondary: hc-api-s }, deadline_seconds: 60, interval_seconds: 15 }
    triggers: { alarms: [region-down] }
  - name: web
    tier: 1
    depends_on: [api]
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z2, name: www.y., type: CNAME, set_identifiers: { primary: web-p, secondary: web-s } } ]
    triggers: { alarms: [region-down] }
"#;

    fn records(weights: &[(&str, &str, &str, &str, i64)]) -> RecordIndex {
        let mut idx = RecordIndex::default();
        for (zone, name, ty, set, w) in weights {
            idx.insert(zone, RecordSet::weighted(name, ty, set, *w, "v"));
        }
        idx
    }

    fn at_primary() -> RecordIndex {
        records(&[
            ("Z1", "db.x.", "A", "db-p", 100),
            ("Z1", "db.x.", "A", "db-s", 0),
            ("Z1", "api.x.", "A", "api-p", 100),
            ("Z1", "api.x.", "A", "api-s", 0),
            ("Z2", "www.y.", "CNAME", "web-p", 100),
            ("Z2", "www.y.", "CNAME", "web-s", 0),
        ])
    }

    fn ctx() -> PlanContext {
        PlanContext {
            run_id: "run-1".into(),
            now: Utc::now(),
        }
    }

    fn plan_for(input: serde_json::Value, recs: &RecordIndex) -> Result<Plan, LifeboatError> {
        let reg = parse_registry(REG).unwrap();
        build_plan(
            &reg,
            &normalize_trigger(&input).unwrap(),
            &Observed::from(recs.clone()),
            &ctx(),
        )
    }

    #[test]
    fn failover_orders_waves_by_tier_then_dependencies() {
        let plan = plan_for(json!({"action": "failover"}), &at_primary()).unwrap();
        assert!(!plan.empty);
        let waves: Vec<Vec<&str>> = plan.phases[0]
            .waves
            .iter()
            .map(|w| w.apps.iter().map(|a| a.app.as_str()).collect())
            .collect();
        assert_eq!(waves, vec![vec!["db"], vec!["api"], vec!["web"]]);
        let api = &plan.phases[0].waves[1].apps[0];
        assert_eq!(api.to_region, "us-west-2");
        assert_eq!(api.verification.health_check_id.as_deref(), Some("hc-api-s"));
        assert_eq!(api.verification.max_checks, 4);
        let weights: Vec<(&str, i64, i64)> = api
            .dns
            .iter()
            .map(|c| (c.key.set_identifier.as_str(), c.before, c.after))
            .collect();
        assert_eq!(weights, vec![("api-p", 100, 0), ("api-s", 0, 100)]);
    }

    #[test]
    fn an_alarm_selects_only_its_apps_in_disaster_mode() {
        let mut ev = json!({
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "detail": {"alarmName": "db-down", "state": {"value": "ALARM", "reason": "r", "timestamp": "2026-11-26T10:00:00.000+0000"}, "configuration": {}}
        });
        let plan = plan_for(ev.clone(), &at_primary()).unwrap();
        assert_eq!(plan.mode, Mode::Disaster);
        assert_eq!(plan.app_count(), 1);
        ev["detail"]["alarmName"] = json!("unrelated");
        let err = plan_for(ev, &at_primary()).unwrap_err();
        assert!(
            err.message.contains("alarm \"unrelated\" maps to no application"),
            "{err}"
        );
    }

    #[test]
    fn the_summary_the_state_machine_carries_has_no_app_in_it() {
        let reg = parse_registry(REG).unwrap();
        let req = normalize_trigger(&json!({"action": "failover"})).unwrap();
        let mut plan = build_plan(&reg, &req, &at_primary().into(), &ctx()).unwrap();
        let small = serde_json::to_vec(&plan.summarize()).unwrap().len();
        // The same move, 4,000 times over: the summary's size does not change.
        let one = plan.phases[0].waves[0].apps[0].clone();
        plan.phases[0].waves[0].apps = vec![one; 4000];
        let summary = plan.summarize();
        assert_eq!(summary.phases[0].waves[0].apps, 4000);
        assert_eq!(
            serde_json::to_vec(&summary).unwrap().len(),
            small + 3,
            "only the count grows"
        );
        assert!(plan.header().phases[0].waves[0].apps.is_empty());
    }

    #[test]
    fn apps_already_in_place_are_skipped_and_an_all_done_plan_is_empty() {
        let moved = records(&[
            ("Z1", "db.x.", "A", "db-p", 0),
            ("Z1", "db.x.", "A", "db-s", 100),
            ("Z1", "api.x.", "A", "api-p", 0),
            ("Z1", "api.x.", "A", "api-s", 100),
            ("Z2", "www.y.", "CNAME", "web-p", 100),
            ("Z2", "www.y.", "CNAME", "web-s", 0),
        ]);
        let plan = plan_for(json!({"action": "failover"}), &moved).unwrap();
        assert_eq!(plan.app_count(), 1);
        assert_eq!(plan.skipped.len(), 2);
        let plan = plan_for(json!({"action": "failback"}), &at_primary()).unwrap();
        assert!(plan.empty);
        assert!(plan.summary.starts_with("nothing to do"), "{}", plan.summary);
    }

    #[test]
    fn a_drill_fails_over_then_back_with_chained_weights() {
        let plan = plan_for(json!({"action": "drill", "apps": ["db"]}), &at_primary()).unwrap();
        assert_eq!(plan.phases.len(), 2);
        let back = &plan.phases[1].waves[0].apps[0];
        assert_eq!(back.target, Side::Primary);
        assert_eq!(back.dns[0].before, 0);
        assert_eq!(back.dns[0].after, 100);
    }

    #[test]
    fn missing_records_and_unknown_apps_are_invalid_before_any_change() {
        // Only the primary record of db exists.
        let recs = records(&[("Z1", "db.x.", "A", "db-p", 100)]);
        let err = plan_for(json!({"action": "failover", "apps": ["db"]}), &recs).unwrap_err();
        assert!(
            err.message
                .contains("db: dns[0] secondary record db.x. A (db-s) in zone Z1 does not exist"),
            "{err}"
        );
        let err = plan_for(json!({"action": "failover", "apps": ["nope"]}), &at_primary()).unwrap_err();
        assert!(
            err.message
                .contains("unknown application \"nope\"; the registry has: db, api, web"),
            "{err}"
        );
    }

    /// REG with `db` moved by routing controls.
    fn with_controls() -> Registry {
        let mut reg = parse_registry(REG).unwrap();
        reg.routing_control_cluster = Some(crate::registry::RoutingControlCluster {
            endpoints: vec![crate::registry::ClusterEndpoint {
                region: "us-west-2".into(),
                url: "https://w".into(),
            }],
        });
        reg.applications[0].traffic.routing_controls = Some(crate::registry::BySide {
            primary: "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/db-p".into(),
            secondary: "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/db-s".into(),
        });
        reg
    }

    fn observed(db_primary_on: bool, route53: bool) -> Observed {
        let (p, s) = if db_primary_on {
            (ControlState::On, ControlState::Off)
        } else {
            (ControlState::Off, ControlState::On)
        };
        let mut o = Observed::from(if route53 { at_primary() } else { RecordIndex::default() });
        o.controls.insert(
            "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/db-p".into(),
            p,
        );
        o.controls.insert(
            "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/db-s".into(),
            s,
        );
        if !route53 {
            o.route53_unavailable = Some("ListResourceRecordSets: 503".into());
        }
        o
    }

    #[test]
    fn a_routing_control_app_already_switched_is_skipped_and_a_drill_switches_back() {
        let reg = with_controls();
        let req = normalize_trigger(&json!({"action": "failover", "apps": ["db"]})).unwrap();
        let plan = build_plan(&reg, &req, &observed(false, true), &ctx()).unwrap();
        assert!(plan.empty, "{}", plan.summary);
        let req = normalize_trigger(&json!({"action": "drill", "apps": ["db"]})).unwrap();
        let plan = build_plan(&reg, &req, &observed(true, true), &ctx()).unwrap();
        let back = &plan.phases[1].waves[0].apps[0];
        assert_eq!(back.controls[0].before, ControlState::Off, "chained from the failover");
        assert_eq!(back.controls[0].after, ControlState::On);
        assert!(back.dns.is_empty());
    }

    #[test]
    fn without_route53_weighted_apps_and_their_dependents_cannot_move() {
        let mut reg = with_controls();
        // web moves by routing controls too, but depends on api (weighted),
        // which cannot move: neither can web.
        let arn = |s: &str| format!("arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/{s}");
        reg.applications[2].traffic.routing_controls = Some(crate::registry::BySide {
            primary: arn("web-p"),
            secondary: arn("web-s"),
        });
        let mut seen = observed(true, false);
        seen.controls.insert(arn("web-p"), ControlState::On);
        seen.controls.insert(arn("web-s"), ControlState::Off);
        let req = normalize_trigger(&json!({"action": "failover", "mode": "disaster"})).unwrap();
        let plan = build_plan(&reg, &req, &seen, &ctx()).unwrap();
        let moving: Vec<&str> = plan.phases[0]
            .waves
            .iter()
            .flat_map(|w| w.apps.iter().map(|a| a.app.as_str()))
            .collect();
        assert_eq!(moving, vec!["db"]);
        let cannot: Vec<(&str, &str)> = plan
            .skipped
            .iter()
            .map(|s| (s.app.as_str(), s.error.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(cannot, vec![("api", "Lifeboat.NotReady"), ("web", "Lifeboat.NotReady")]);
        assert!(
            plan.skipped[1].reason.contains("depends on api"),
            "{}",
            plan.skipped[1].reason
        );
        assert!(plan.phases[0].waves[0].apps[0].verification.health_check_best_effort);
    }

    #[test]
    fn an_insufficient_data_alarm_moves_only_the_apps_that_opt_in() {
        let mut reg = parse_registry(REG).unwrap();
        let ev = crate::request::tests::alarm_event("region-down", "INSUFFICIENT_DATA");
        let req = normalize_trigger(&ev).unwrap();
        let plan = build_plan(&reg, &req, &at_primary().into(), &ctx()).unwrap();
        assert!(plan.empty);
        assert!(plan.summary.contains("INSUFFICIENT_DATA: ignored"), "{}", plan.summary);
        reg.applications[1].triggers.insufficient_data = InsufficientData::Failover;
        let plan = build_plan(&reg, &req, &at_primary().into(), &ctx()).unwrap();
        let moving: Vec<&str> = plan.phases[0]
            .waves
            .iter()
            .flat_map(|w| w.apps.iter().map(|a| a.app.as_str()))
            .collect();
        assert_eq!(moving, vec!["api"]);
    }
}
