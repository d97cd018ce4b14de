//! Readiness: could each app move to its other Region now? Evaluated on a
//! schedule (every 30 minutes by default) in the recovery Region, and by
//! `lifeboat readiness --now`, without changing anything: the standby
//! database, replication lag and backups against the RPO budget, the records
//! and health checks the registry names (drift made outside lifeboat is
//! named), routing controls, verification and trigger alarms, and whether the
//! move fits in the execution's timeout. Each app's result goes to the
//! journal and to CloudWatch (`Lifeboat/Readiness`).

use crate::database::check_standby;
use crate::journal::to_text;
use crate::services::Services;
use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{Datum, LagOf};
use lifeboat_aws::route53::read_records;
use lifeboat_core::LifeboatError;
use lifeboat_core::database::{DbAction, DbDecision, Lag, database_step};
use lifeboat_core::plan::DNS_SYNC_ALLOWANCE_SECONDS;
use lifeboat_core::registry::{
    Account, Application, DatabaseKind, PROBE_HEARTBEAT_ALARM, PROBE_HEARTBEAT_MINUTES, Registry, Side, checks_within,
};
use lifeboat_core::request::{Action, Mode, normalize_trigger};
use lifeboat_core::traffic::ControlState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The journal partition of readiness records: `latest` (the whole
/// evaluation) and one `app#NAME` per app.
pub const READINESS_RUN: &str = "#readiness";
/// CloudWatch namespace: `Ready` (1/0) and `ReplicationLagSeconds` per
/// `Application`, and `NotReadyApps` for the whole estate.
pub const NAMESPACE: &str = "Lifeboat/Readiness";
/// How many lag readings the trend looks back on.
const LAG_HISTORY: usize = 6;

/// One app's readiness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppReadiness {
    pub app: String,
    pub ready: bool,
    /// The move it was evaluated for: `failover to us-west-2`, `failback to us-east-1`.
    pub next_move: String,
    /// Why not (empty when ready), each saying what to fix.
    pub reasons: Vec<String>,
    /// The data a move now would risk: the replication lag, or a restore's data window.
    pub rpo_at_risk_seconds: Option<f64>,
    /// The lag readings of the last evaluations, oldest first, and where they go.
    #[serde(default)]
    pub lag_history: Vec<f64>,
    pub lag_trend: Option<String>,
    pub evaluated_at: DateTime<Utc>,
    /// The last evaluation that found it ready.
    pub last_good: Option<DateTime<Utc>>,
    /// Its capacity steps' gap: what a move now would raise, and how long
    /// that is expected to take.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity: Vec<String>,
    /// The desired counts read of its scalable resources (both sides): what
    /// a run uses when the source Region does not answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_seen: Vec<lifeboat_core::capacity::Seen>,
}

/// One evaluation of every app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub evaluated_at: DateTime<Utc>,
    pub apps: Vec<AppReadiness>,
}

impl Evaluation {
    pub fn not_ready(&self) -> Vec<&AppReadiness> {
        self.apps.iter().filter(|a| !a.ready).collect()
    }
}

/// The side that takes traffic now, from the records' weights (or the
/// routing controls); an error names the drift when it is neither.
fn active_side(
    app: &Application,
    records: &lifeboat_core::dns::RecordIndex,
    controls: &BTreeMap<String, ControlState>,
    reasons: &mut Vec<String>,
) -> Option<Side> {
    if let Some(rc) = app.routing_controls() {
        let (p, s) = (controls.get(&rc.primary), controls.get(&rc.secondary));
        for (arn, st) in [(&rc.primary, p), (&rc.secondary, s)] {
            if st.is_none() {
                reasons.push(format!("routing control {arn} not found in the cluster"));
            }
        }
        return match (p, s) {
            (Some(ControlState::On), Some(ControlState::Off)) => Some(Side::Primary),
            (Some(ControlState::Off), Some(ControlState::On)) => Some(Side::Secondary),
            (Some(a), Some(b)) => {
                reasons.push(format!(
                    "routing controls are inconsistent: primary {a:?}, secondary {b:?} (one On, one Off expected)"
                ));
                None
            }
            _ => None,
        };
    }
    let mut sides = BTreeSet::new();
    for pair in &app.dns {
        let weight = |side: Side| records.get(&pair.key(side)).map(|r| r.weight);
        let (p, s) = (weight(Side::Primary), weight(Side::Secondary));
        for (side, w) in [(Side::Primary, p), (Side::Secondary, s)] {
            match w {
                None => reasons.push(format!(
                    "record {} {} (set identifier {}) not found in zone {}",
                    pair.name,
                    pair.record_type,
                    pair.set_identifiers.get(side),
                    pair.hosted_zone_id
                )),
                Some(None) => reasons.push(format!(
                    "record {} {} (set identifier {}) is not weighted",
                    pair.name,
                    pair.record_type,
                    pair.set_identifiers.get(side)
                )),
                Some(Some(_)) => {}
            }
        }
        let (active, standby) = (i64::from(pair.active_weight), i64::from(pair.standby_weight));
        match (p.flatten(), s.flatten()) {
            (Some(a), Some(b)) if a == active && b == standby => {
                sides.insert(Side::Primary);
            }
            (Some(a), Some(b)) if a == standby && b == active => {
                sides.insert(Side::Secondary);
            }
            (Some(a), Some(b)) => reasons.push(format!(
                "record {} {} has weights {a}/{b} (primary/secondary), not {active}/{standby} or {standby}/{active} as the registry says: changed outside lifeboat",
                pair.name, pair.record_type
            )),
            _ => {}
        }
    }
    match sides.len() {
        1 => sides.into_iter().next(),
        0 => None,
        _ => {
            reasons.push("its records disagree on which Region is active".into());
            None
        }
    }
}

fn trend(history: &[f64]) -> Option<String> {
    let (first, last) = (history.first()?, history.last()?);
    if history.len() < 2 {
        return None;
    }
    let delta = last - first;
    Some(if delta > 1.0 && delta > first * 0.25 {
        "rising".into()
    } else if delta < -1.0 && -delta > first * 0.25 {
        "falling".into()
    } else {
        "steady".into()
    })
}

/// Evaluates every app of the registry; changes nothing.
pub async fn evaluate(s: &Services, now: DateTime<Utc>) -> Result<Evaluation, LifeboatError> {
    let registry: Registry = crate::validate::load_registry(&*s.registry).await?;
    let timeout = u64::from(s.settings.lease_ttl_seconds);
    let previous: BTreeMap<String, AppReadiness> = s
        .journal
        .get_docs(READINESS_RUN, "app#")
        .await?
        .into_values()
        .filter_map(|t| serde_json::from_str::<AppReadiness>(&t).ok())
        .map(|a| (a.app.clone(), a))
        .collect();

    // Each account's apps read as its role, lifeboat's own first.
    let everyone: Vec<&Application> = registry.applications.iter().collect();
    let mut apps = Vec::new();
    for (account, group) in crate::services::by_account(everyone, |a| a.account.as_ref()) {
        let member = s.for_account(account.as_ref());
        if let Some(account) = &account
            && let Err(why) = s.accounts.assumable(s, account).await
        {
            apps.extend(group.iter().map(|app| unassumable(app, account, &why, &previous, now)));
            continue;
        }
        // Boxed: one account's evaluation is a large future.
        apps.extend(
            Box::pin(evaluate_group(
                &member,
                account.as_ref().map(|_| s),
                &registry,
                &group,
                &previous,
                now,
                timeout,
            ))
            .await?,
        );
    }
    // In the registry's order, as before accounts were grouped.
    let order: BTreeMap<&str, usize> = registry
        .applications
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    apps.sort_by_key(|a: &AppReadiness| order.get(a.app.as_str()).copied().unwrap_or(usize::MAX));
    Ok(Evaluation {
        evaluated_at: now,
        apps,
    })
}

/// An app of an account whose role lifeboat cannot assume: nothing of it can be read or moved.
fn unassumable(
    app: &Application,
    account: &Account,
    why: &str,
    previous: &BTreeMap<String, AppReadiness>,
    now: DateTime<Utc>,
) -> AppReadiness {
    let before = previous.get(&app.name);
    AppReadiness {
        app: app.name.clone(),
        ready: false,
        next_move: "unknown: its account cannot be read".into(),
        reasons: vec![format!(
            "account: role {} cannot be assumed, so no call for this app can be made: {why}",
            account.role_arn
        )],
        rpo_at_risk_seconds: None,
        lag_trend: before.and_then(|b| b.lag_trend.clone()),
        lag_history: before.map(|b| b.lag_history.clone()).unwrap_or_default(),
        evaluated_at: now,
        last_good: before.and_then(|b| b.last_good),
        capacity: before.map(|b| b.capacity.clone()).unwrap_or_default(),
        // A dark day's fallback: the last reading stays.
        capacity_seen: before.map(|b| b.capacity_seen.clone()).unwrap_or_default(),
    }
}

/// Which of `wanted` alarms exist, by Region, read with `s`; a Region whose
/// CloudWatch does not answer (the primary, dark) is unread, not missing.
async fn read_alarms(
    s: &Services,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(BTreeMap<String, BTreeMap<String, String>>, BTreeMap<String, String>), LifeboatError> {
    let mut existing = BTreeMap::new();
    let mut unread = BTreeMap::new();
    for (region, names) in wanted {
        let names: Vec<String> = names.iter().cloned().collect();
        if names.is_empty() {
            continue;
        }
        match s.alarms.alarm_states(region, &names).await {
            Ok(m) => {
                existing.insert(region.clone(), m);
            }
            Err(e) if e.is_unavailable() => {
                unread.insert(region.clone(), e.to_string());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((existing, unread))
}

/// Evaluates one account's apps with `s`, that account's services; `home`:
/// lifeboat's own, when `s` is a member account's.
async fn evaluate_group(
    s: &Services,
    home: Option<&Services>,
    registry: &Registry,
    group: &[&Application],
    previous: &BTreeMap<String, AppReadiness>,
    now: DateTime<Utc>,
    timeout: u64,
) -> Result<Vec<AppReadiness>, LifeboatError> {
    // The records every weighted app names, in as few calls as the reader can.
    let keys: Vec<lifeboat_core::dns::RecordKey> = group
        .iter()
        .filter(|a| a.routing_controls().is_none())
        .flat_map(|a| {
            a.dns
                .iter()
                .flat_map(|p| [p.key(Side::Primary), p.key(Side::Secondary)])
        })
        .collect();
    let (records, route53_error) = match read_records(&*s.dns_read, keys.iter()).await {
        Ok(r) => (r, None),
        Err(e) => (Default::default(), Some(e.to_string())),
    };
    // Routing controls, through the cluster's endpoints.
    let arns: Vec<String> = group
        .iter()
        .filter_map(|a| a.routing_controls())
        .flat_map(|rc| [rc.primary.clone(), rc.secondary.clone()])
        .collect();
    let (controls, arc_error) = match (&registry.routing_control_cluster, arns.is_empty()) {
        (Some(cluster), false) => match s.arc.states(&cluster.endpoints, &arns).await {
            Ok(a) => (a.value, None),
            Err(e) => (Default::default(), Some(e.to_string())),
        },
        _ => (Default::default(), None),
    };
    // Alarms, by Region: which exist. Verification alarms are the apps'
    // own (their account's); trigger and detection alarms are lifeboat's
    // (EventBridge and the probe see the account lifeboat runs in).
    let mut verification: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut lifeboats: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in group {
        for side in [Side::Primary, Side::Secondary] {
            let region = a.regions.get(side).to_string();
            verification
                .entry(region.clone())
                .or_default()
                .extend(a.verification.alarms.get(side).iter().cloned());
            lifeboats
                .entry(region)
                .or_default()
                .extend(a.triggers.alarms.iter().cloned());
        }
        // The detection probe's alarm and its heartbeat, where the probe runs.
        if let Some(alarm) = a.detection_alarm() {
            let entry = lifeboats.entry(a.regions.secondary.clone()).or_default();
            entry.insert(alarm);
            entry.insert(PROBE_HEARTBEAT_ALARM.to_string());
        }
    }
    // One account: one read of every name.
    let lifeboats_own = match home {
        None => {
            for (region, names) in lifeboats {
                verification.entry(region).or_default().extend(names);
            }
            None
        }
        Some(home) => Some(read_alarms(home, &lifeboats).await?),
    };
    let (existing, unread) = read_alarms(s, &verification).await?;
    let (home_existing, home_unread) = match &lifeboats_own {
        Some((e, u)) => (e, u),
        None => (&existing, &unread),
    };
    // The requests a move would be: a disaster failover, or a planned failback.
    let failover = normalize_trigger(&serde_json::json!({"action": "failover", "mode": "disaster"}))?;
    let failback = normalize_trigger(&serde_json::json!({"action": "failback"}))?;
    let mut apps = Vec::new();
    for app in group {
        let mut reasons = Vec::new();
        if app.routing_controls().is_some() {
            if let Some(e) = &arc_error {
                reasons.push(format!("routing controls unread: {e}"));
            }
        } else if let Some(e) = &route53_error {
            reasons.push(format!("records unread: {e}"));
        }
        let active = active_side(app, &records, &controls, &mut reasons);
        let target = match active {
            Some(Side::Secondary) => Side::Primary,
            _ => Side::Secondary,
        };
        let action = if target == Side::Secondary {
            Action::Failover
        } else {
            Action::Failback
        };
        let to_region = app.regions.get(target).to_string();
        // Verification: the target's health check and alarms; the triggers somewhere.
        if let Some(hc) = app.verification.health_checks.get(target) {
            match s.health.health(hc).await {
                Err(lifeboat_aws::AwsError::NotFound(_)) => {
                    reasons.push(format!("health check {hc} ({to_region}) not found"));
                }
                Err(e) if e.is_unavailable() => {}
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
        }
        let found = |region: &str, name: &str| existing.get(region).is_some_and(|m| m.contains_key(name));
        let unknown = |region: &str| unread.contains_key(region);
        let found_home = |region: &str, name: &str| home_existing.get(region).is_some_and(|m| m.contains_key(name));
        let unknown_home = |region: &str| home_unread.contains_key(region);
        for alarm in app.verification.alarms.get(target) {
            if unknown(&to_region) {
                reasons.push(format!(
                    "verification alarm {alarm} unread: CloudWatch in {to_region} did not answer"
                ));
            } else if !found(&to_region, alarm) {
                reasons.push(format!("verification alarm {alarm} not found in {to_region}"));
            }
        }
        for alarm in &app.triggers.alarms {
            let somewhere_unread = unknown_home(&app.regions.primary) || unknown_home(&app.regions.secondary);
            if !somewhere_unread
                && !found_home(&app.regions.primary, alarm)
                && !found_home(&app.regions.secondary, alarm)
            {
                reasons.push(format!(
                    "trigger alarm {alarm} not found in {} or {}",
                    app.regions.primary, app.regions.secondary
                ));
            }
        }
        // Detection, while a failover is what comes next: a probe that stopped
        // holds its alarm back, so an outage would go unnoticed.
        if let (Some(alarm), Side::Secondary) = (app.detection_alarm(), target) {
            let region = &app.regions.secondary;
            let state = |name: &str| home_existing.get(region.as_str()).and_then(|m| m.get(name)).cloned();
            if !unknown_home(region) {
                if state(&alarm).is_none() {
                    reasons.push(format!(
                        "detection: probe alarm {alarm} not found in {region}: `lifeboat registry apply` makes it"
                    ));
                }
                match state(PROBE_HEARTBEAT_ALARM).as_deref() {
                    None => reasons.push(format!(
                        "detection: heartbeat alarm {PROBE_HEARTBEAT_ALARM} not found in {region}: \
                         `lifeboat registry apply` makes it"
                    )),
                    Some("ALARM") => reasons.push(format!(
                        "detection: the probe in {region} has not reported for {PROBE_HEARTBEAT_MINUTES} minutes \
                         ({PROBE_HEARTBEAT_ALARM} in ALARM), so {alarm} holds back and an outage of {} would \
                         not start a failover: check the probe function and its schedule",
                        app.regions.primary
                    )),
                    Some(_) => {}
                }
            }
        }
        // What the deployed policy does not grant: AccessDenied mid-move.
        reasons.extend(
            s.settings
                .deployed
                .gaps(app)
                .into_iter()
                .map(|g| format!("policy: {g}")),
        );
        // The database: the step a disaster failover (or a planned failback) would take.
        let request = if action == Action::Failover {
            &failover
        } else {
            &failback
        };
        let mut rpo_at_risk = None;
        let mut db_wait = 0u64;
        match database_step(app, action, target, request) {
            DbDecision::Skip(why) => reasons.push(format!("database: {why}")),
            DbDecision::Move(d) => {
                if d.action.changes_database() {
                    db_wait = u64::from(d.interval_seconds) * u64::from(d.max_checks);
                }
                if let Some(why) = check_standby(&*s.databases, &d, target).await? {
                    reasons.push(format!("database: {why}"));
                } else if let Some(why) = crate::database::replica_without_source(&*s.databases, &d).await? {
                    reasons.push(format!("database: {why}"));
                }
                let lag_of = match (app.database.kind, d.action) {
                    (kind, DbAction::Failover | DbAction::Switchover) if kind.is_global() => {
                        Some(LagOf::global_secondary(kind, crate::database::cluster_id(&d.target)))
                    }
                    (DatabaseKind::AuroraReplica, DbAction::PromoteCluster) => Some(LagOf::ReplicaCluster(&d.target)),
                    (DatabaseKind::RdsReplica, DbAction::PromoteInstance) => Some(LagOf::ReplicaInstance(&d.target)),
                    _ => None,
                };
                if let Some(of) = lag_of {
                    let lag = s.lag.lag(&d.region, of).await?;
                    rpo_at_risk = lag.seconds();
                    match (lag, app.database.max_rpo_seconds) {
                        (Lag::Seconds(l), Some(max)) if l > f64::from(max) => reasons.push(format!(
                            "replication lag {l:.1} s is over max_rpo_seconds {max}: a disaster failover now would be refused (or lose that much with accept_data_loss)"
                        )),
                        (Lag::NotReplicating, _) => reasons.push(
                            "the replication lag metric says replication is not active (-1): the data a failover would \
                             lose is unknown; repair replication before relying on this standby"
                                .to_string(),
                        ),
                        (Lag::NotMeasured, Some(max)) if request.mode == Mode::Disaster => reasons.push(format!(
                            "no replication lag measured in the last 10 minutes: the RPO gate ({max} s) cannot pass"
                        )),
                        _ => {}
                    }
                }
                let backup = if d.action == DbAction::RestoreBackup {
                    s.databases
                        .replicated_backup(&d.region, crate::database::backup_source(&d))
                        .await?
                } else {
                    None
                };
                if let Some(key) = backup.as_ref().and_then(|b| b.kms_key_id.as_deref())
                    && !s.settings.deployed.allows_kms_key(key)
                {
                    reasons.push(format!(
                        "policy: the replicated backup's KMS key {key} is not in the stack's RestoreKmsKeyArns: the \
                         restore's kms:CreateGrant would be AccessDenied; add it to the parameters file and deploy"
                    ));
                }
                if let Some(latest) = backup.and_then(|b| b.latest_restorable) {
                    let window = (now - latest).num_milliseconds() as f64 / 1000.0;
                    rpo_at_risk = Some(window);
                    if let Some(max) = app.database.max_rpo_seconds
                        && window > f64::from(max)
                    {
                        reasons.push(format!(
                            "the replicated backup's latest restorable time is {window:.0} s old, over max_rpo_seconds {max}"
                        ));
                    }
                }
            }
        }
        reasons.extend(evaluate_hooks(s, app, target).await);
        let before = previous.get(&app.name);
        let capacity = evaluate_capacity(s, app, target, before, now).await;
        reasons.extend(capacity.reasons);
        // The move fits in the execution's timeout.
        let verify_wait = u64::from(app.verification.interval_seconds)
            * u64::from(checks_within(
                app.verification.deadline_seconds,
                app.verification.interval_seconds,
            ));
        // Capacity comes up while the database promotes: the longer of the two counts.
        let worst = db_wait.max(capacity.wait_seconds) + 2 * DNS_SYNC_ALLOWANCE_SECONDS + verify_wait;
        if worst > timeout {
            reasons.push(format!(
                "its move can take {worst} s (database {db_wait} s, capacity {} s, verification {verify_wait} s), over the execution's timeout of {timeout} s",
                capacity.wait_seconds
            ));
        }
        let mut lag_history: Vec<f64> = before.map(|b| b.lag_history.clone()).unwrap_or_default();
        if let Some(l) = rpo_at_risk {
            lag_history.push(l);
        }
        if lag_history.len() > LAG_HISTORY {
            lag_history.drain(..lag_history.len() - LAG_HISTORY);
        }
        let ready = reasons.is_empty();
        apps.push(AppReadiness {
            app: app.name.clone(),
            ready,
            next_move: format!("{action} to {to_region}"),
            reasons,
            rpo_at_risk_seconds: rpo_at_risk,
            lag_trend: trend(&lag_history),
            lag_history,
            evaluated_at: now,
            last_good: if ready {
                Some(now)
            } else {
                before.and_then(|b| b.last_good)
            },
            capacity: capacity.gaps,
            capacity_seen: capacity.seen,
        });
    }
    Ok(apps)
}

/// Writes the evaluation to the journal (one record per app, and the whole)
/// and publishes its metrics in `region`.
pub async fn record(s: &Services, ev: &Evaluation, region: &str) -> Result<(), LifeboatError> {
    let mut docs = vec![("latest".to_string(), to_text(ev)?)];
    for a in &ev.apps {
        docs.push((format!("app#{}", a.app), to_text(a)?));
    }
    s.journal.put_docs(READINESS_RUN, &docs).await?;
    let mut data: Vec<Datum> = Vec::new();
    for a in &ev.apps {
        let dims = vec![("Application".to_string(), a.app.clone())];
        data.push(Datum {
            metric: "Ready".into(),
            dimensions: dims.clone(),
            value: if a.ready { 1.0 } else { 0.0 },
            at: ev.evaluated_at,
        });
        if let Some(l) = a.rpo_at_risk_seconds {
            data.push(Datum {
                metric: "ReplicationLagSeconds".into(),
                dimensions: dims,
                value: l,
                at: ev.evaluated_at,
            });
        }
    }
    data.push(Datum {
        metric: "NotReadyApps".into(),
        dimensions: Vec::new(),
        value: ev.not_ready().len() as f64,
        at: ev.evaluated_at,
    });
    s.metrics.put(region, NAMESPACE, &data).await?;
    tracing::info!(
        apps = ev.apps.len(),
        not_ready = ev.not_ready().len(),
        "readiness evaluated"
    );
    Ok(())
}

/// The latest evaluation in the journal, if any.
pub async fn latest(s: &Services) -> Result<Option<Evaluation>, LifeboatError> {
    let docs = s.journal.get_docs(READINESS_RUN, "latest").await?;
    docs.get("latest")
        .map(|t| {
            serde_json::from_str(t)
                .map_err(|e| LifeboatError::internal(format!("the latest readiness record is unreadable: {e}")))
        })
        .transpose()
}

/// What readiness found of an app's capacity steps.
struct CapacityReadiness {
    reasons: Vec<String>,
    /// Per step: what a move now would raise, and how long it is expected to take.
    gaps: Vec<String>,
    /// The desired counts read (both sides), or kept from the last evaluation when unread.
    seen: Vec<lifeboat_core::capacity::Seen>,
    /// The steps' deadlines, one after the other: the most a move waits for capacity.
    wait_seconds: u64,
}

/// Each capacity step of `app` for a move to `target`: both resources
/// present, the gap between the target's desired count and what the move
/// needs, and the expected time (the resource's own warmup or grace period).
async fn evaluate_capacity(
    s: &Services,
    app: &Application,
    target: Side,
    before: Option<&AppReadiness>,
    now: DateTime<Utc>,
) -> CapacityReadiness {
    use lifeboat_core::capacity::{needed, resource};
    let mut out = CapacityReadiness {
        reasons: vec![],
        gaps: vec![],
        seen: vec![],
        wait_seconds: 0,
    };
    let kept = |r: &lifeboat_core::capacity::Scalable| {
        before.and_then(|b| b.capacity_seen.iter().find(|seen| &seen.resource == r).cloned())
    };
    for (i, step) in app.capacity.iter().enumerate() {
        out.wait_seconds += u64::from(step.deadline_seconds);
        let (Some(source), Some(dest)) = (resource(app, i, target.other()), resource(app, i, target)) else {
            continue;
        };
        let mut read = |state: Result<Option<lifeboat_aws::ports::CapacityState>, lifeboat_aws::AwsError>,
                        r: &lifeboat_core::capacity::Scalable,
                        reasons: &mut Vec<String>| match state {
            Ok(Some(st)) => {
                out.seen.push(lifeboat_core::capacity::Seen::of(r, &st.reading, now));
                Some(st)
            }
            Ok(None) => {
                reasons.push(format!("capacity: {} not found", r.describe()));
                None
            }
            Err(e) => {
                reasons.push(format!("capacity: {} unread: {e}", r.describe()));
                out.seen.extend(kept(r));
                None
            }
        };
        let mut reasons = Vec::new();
        let src = read(s.capacity_source.describe(&source).await, &source, &mut reasons);
        let dst = read(s.capacity.describe(&dest).await, &dest, &mut reasons);
        out.reasons.append(&mut reasons);
        let (Some(src), Some(dst)) = (src, dst) else {
            continue;
        };
        let need = needed(step.percent, src.reading.desired);
        let unit = dest.unit();
        let expected = match dst.warmup_seconds {
            Some(w) => format!("expected about {w} s (its warmup)"),
            None => "expected time unknown: it sets no warmup or health check grace period".into(),
        };
        let gap = need.saturating_sub(dst.reading.desired);
        out.gaps.push(if gap == 0 {
            format!(
                "{}: {} desired {unit}, {need} needed ({}% of {}): no gap",
                dest.describe(),
                dst.reading.desired,
                step.percent,
                source.describe()
            )
        } else {
            format!(
                "{}: {} desired {unit}, {need} needed ({}% of {}'s {}): +{gap} {unit}, {expected}{}",
                dest.describe(),
                dst.reading.desired,
                step.percent,
                source.describe(),
                src.reading.desired,
                dst.reading
                    .max
                    .filter(|m| *m < need)
                    .map(|m| format!("; MaxSize {m} is below it, a move raises it"))
                    .unwrap_or_default()
            )
        });
        if let Some(w) = dst.warmup_seconds
            && u64::from(w) > u64::from(step.deadline_seconds)
        {
            out.reasons.push(format!(
                "capacity: {} takes about {w} s to warm up, over the step's deadline_seconds {}",
                dest.describe(),
                step.deadline_seconds
            ));
        }
    }
    out
}

/// Each hook's function for a move to `target`: present in that Region,
/// tagged for lifeboat's policy, and not running longer than lifeboat waits.
async fn evaluate_hooks(s: &Services, app: &Application, target: Side) -> Vec<String> {
    let mut reasons = Vec::new();
    for hook in &app.hooks {
        let arn = hook.function.get(target);
        match s.functions.describe(arn).await {
            Ok(None) => reasons.push(format!("hook {}: function {arn} not found", hook.name)),
            Ok(Some(f)) => {
                if f.tags.get("lifeboat:hook").map(String::as_str) != Some("true") {
                    reasons.push(format!(
                        "hook {}: {arn} is not tagged lifeboat:hook=true, so lifeboat's policy cannot invoke it",
                        hook.name
                    ));
                }
                if let Some(t) = f.timeout_seconds.filter(|t| *t > hook.timeout_seconds) {
                    reasons.push(format!(
                        "hook {}: the function may run {t} s, longer than its timeout_seconds {}: lifeboat would give up on it while it still runs",
                        hook.name, hook.timeout_seconds
                    ));
                }
            }
            Err(e) => reasons.push(format!("hook {}: {arn} unread: {e}", hook.name)),
        }
    }
    reasons
}
