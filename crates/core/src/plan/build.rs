//! Building the plan: which apps a request selects, their moves checked
//! against the records as Route 53 has them, and the waves they move in.

use super::*;
use crate::database::{DatabasePlan, DbDecision, database_step};
use crate::dns::RecordKey;
use crate::error::LifeboatError;
use crate::registry::{Application, InsufficientData, Registry, Side};
use crate::request::{Action, AppSelection, Mode, Request};
use crate::traffic::{ControlChange, ControlState};
use std::collections::{BTreeMap, HashMap};

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
    let (plan, problems) = build_plan_noting_problems(registry, request, observed, ctx)?;
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(LifeboatError::invalid(format!(
            "the recovery Region is not ready: {}",
            problems.join("; ")
        )))
    }
}

/// [`build_plan`], but an app whose records or routing controls are wrong
/// is left out and its problems returned, so the checks that follow (alarms,
/// health checks, databases) still look at every other app and a user hears
/// of every problem at once.
pub fn build_plan_noting_problems(
    registry: &Registry,
    request: &Request,
    observed: &Observed,
    ctx: &PlanContext,
) -> Result<(Plan, Vec<String>), LifeboatError> {
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
        waited: None,
        phases: Vec::new(),
        skipped: Vec::new(),
        soak_seconds: request.soak_seconds,
        created_at: ctx.now,
        summary: String::new(),
        approval: None,
    };
    if let Some(reason) = &request.ignore {
        plan.summary = reason.clone();
        return Ok((plan, Vec::new()));
    }
    let mut apps = select_apps(registry, request)?;
    if let (AppSelection::AlarmWithoutData(alarm), true) = (&request.apps, apps.is_empty()) {
        plan.summary = format!(
            "alarm \"{alarm}\" went to INSUFFICIENT_DATA: ignored (no app it triggers has triggers.insufficient_data: failover)"
        );
        return Ok((plan, Vec::new()));
    }
    if let Some(why) = &observed.route53_unavailable {
        let (cannot, can) = unmovable_without_route53(&apps, why);
        plan.skipped.extend(cannot);
        apps = can;
    }
    let (problems, unsound) = record_problems(&apps, observed);
    apps.retain(|a| !unsound.contains(&a.name));
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
                    // Already where it would go: that is the news, not what
                    // its database would need to move.
                    let (dns, ctl) = traffic_changes(app, target, &current, &controls);
                    let already = dns.iter().all(|c| c.before == c.after) && ctl.iter().all(|c| c.before == c.after);
                    let reason = if already {
                        format!("already active in {} ({target})", app.regions.get(target))
                    } else {
                        reason
                    };
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
            for m in &mut moving {
                m.restore_capacity = !m.capacity.is_empty();
            }
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
    // Only a run that changes something waits for a person.
    plan.approval = registry
        .approval
        .clone()
        .filter(|a| a.required(request.trigger) && !plan.empty && !plan.dry_run);
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
    plan.summary = summary::summarize(&plan);
    Ok((plan, problems))
}

/// Weighted apps cannot move while Route 53's API does not answer; nor can
/// the apps that depend on one of them. Returns (those, the others).
fn unmovable_without_route53<'a>(apps: &[&'a Application], why: &str) -> (Vec<Skipped>, Vec<&'a Application>) {
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
                error: Some(crate::ErrorName::NotReady),
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

/// Every record and routing-control problem of `apps`, and the apps that have one.
fn record_problems(apps: &[&Application], observed: &Observed) -> (Vec<String>, Vec<String>) {
    let records = &observed.records;
    let mut problems = Vec::new();
    let mut unsound = Vec::new();
    for app in apps {
        let before = problems.len();
        record_problems_of(app, observed, records, &mut problems);
        if problems.len() > before {
            unsound.push(app.name.clone());
        }
    }
    (problems, unsound)
}

fn record_problems_of(app: &Application, observed: &Observed, records: &RecordIndex, problems: &mut Vec<String>) {
    {
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
                return;
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
}

/// The weight and routing-control changes that put `app`'s traffic on `target`.
fn traffic_changes(
    app: &Application,
    target: Side,
    current: &HashMap<RecordKey, i64>,
    current_controls: &HashMap<String, ControlState>,
) -> (Vec<WeightChange>, Vec<ControlChange>) {
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
    (dns, controls)
}

fn app_move(
    app: &Application,
    target: Side,
    current: &HashMap<RecordKey, i64>,
    current_controls: &HashMap<String, ControlState>,
    database: DatabasePlan,
) -> AppMove {
    let (dns, controls) = traffic_changes(app, target, current, current_controls);
    let v = &app.verification;
    let (alarms, probes) = (v.alarms.get(target).clone(), v.probes.get(target).clone());
    // A Route 53 health check is read only where nothing else verifies the
    // app: GetHealthCheckStatus has a bucket of 4 refilling 1 a second for
    // the whole account ("Throttling for Amazon Route 53 API requests"), and
    // its API reference says it is not for production query rates. Alarms
    // (100 a call) and probes from the target Region scale; 5,000 health
    // checks a round would take 5,000 s of the account's budget.
    let health_check_id = if alarms.is_empty() && probes.is_empty() {
        v.health_checks.get(target).clone()
    } else {
        None
    };
    AppMove {
        app: app.name.clone(),
        target,
        from_region: app.regions.get(target.other()).to_string(),
        to_region: app.regions.get(target).to_string(),
        account: app.account.clone(),
        database,
        dns,
        controls,
        depends_on: Vec::new(),
        capacity: crate::capacity::moves(app, target),
        restore_capacity: false,
        hooks: crate::hooks::plans(app, target),
        verification: VerifyPlan {
            region: app.regions.get(target).to_string(),
            health_check_id,
            alarms,
            interval_seconds: v.interval_seconds,
            max_checks: crate::registry::checks_within(v.deadline_seconds, v.interval_seconds),
            health_check_best_effort: false,
            probes,
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
