//! What the CLI prints on a terminal: tables, plans, a run's record, the
//! lease, readiness and probes, call counts.

use lifeboat_aws::AwsError;
use lifeboat_aws::ports::{DnsReader, StoredApp};
use lifeboat_aws::route53::read_records;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::dns::RecordKey;
use lifeboat_core::outcome::RunRecord;
use lifeboat_core::plan::Plan;
use lifeboat_core::registry::{Application, Side};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt::Write;

/// One round of detection probes, one line an app.
pub fn probe_text(out: &lifeboat_tasks::probe::ProbeOutput) -> String {
    let mut s = format!(
        "probed {} primary endpoint(s) from {} at {}\n",
        out.results.len(),
        out.region,
        out.at.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let rows = out.results.iter().map(|r| {
        [
            r.app.clone(),
            if r.ok { "ok" } else { "FAIL" }.to_string(),
            r.url.clone(),
            format!("{} ms", r.millis),
            r.detail.clone(),
        ]
    });
    s.push_str(&crate::table::render(
        "  ",
        &["APP", "", "URL", "TOOK", "DETAIL"],
        &[3],
        rows,
    ));
    s
}

pub fn apps_json(apps: &[StoredApp]) -> Value {
    Value::Array(
        apps.iter()
            .map(|s| {
                json!({
                    "name": s.app.name, "tier": s.app.tier, "primary": s.app.regions.primary,
                    "secondary": s.app.regions.secondary, "active_region": s.active_region,
                    "updated_at": s.updated_at, "updated_by": s.updated_by, "records": s.app.dns.len(),
                    "database": s.app.database.kind.as_str(),
                })
            })
            .collect(),
    )
}

pub fn apps_table(apps: &[StoredApp]) -> String {
    let rows = apps.iter().map(|a| {
        [
            a.app.name.clone(),
            a.app.tier.to_string(),
            a.app.regions.primary.clone(),
            a.app.regions.secondary.clone(),
            a.active_region.clone().unwrap_or_else(|| "(primary)".into()),
            a.app.dns.len().to_string(),
            a.app.database.kind.as_str().to_string(),
        ]
    });
    crate::table::render(
        "",
        &["APP", "TIER", "PRIMARY", "SECONDARY", "ACTIVE", "RECORDS", "DATABASE"],
        &[1, 5],
        rows,
    )
}

/// The run lease for people: who holds it, or whether alarms are in the cooldown.
pub fn lease_line(l: &lifeboat_aws::ports::LeaseState, now: chrono::DateTime<chrono::Utc>) -> String {
    match (&l.holder, l.expires_at) {
        (Some(h), Some(exp)) if exp >= now => format!(
            "lease: held by run {h} (epoch {}{}) since {}",
            l.epoch,
            l.holder_region
                .as_deref()
                .map(|r| format!(", taken in {r}"))
                .unwrap_or_default(),
            l.acquired_at.map(|t| t.to_rfc3339()).unwrap_or_default()
        ),
        _ => match l.cooldown_until {
            Some(c) if c > now => format!(
                "lease: free; cooldown after failback {} until {} ({} s more): an alarm's failover waits \
                 until then (lifeboat lease release --cooldown --reason ... ends it now)",
                l.last_run.as_deref().unwrap_or("?"),
                c.to_rfc3339(),
                (c - now).num_seconds()
            ),
            _ => "lease: free".to_string(),
        },
    }
}

pub fn calls_line(calls: &ApiCalls) -> String {
    if calls.0.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = calls.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{} total ({})", calls.total(), parts.join(", "))
}

/// Why a run's printed count and its report's differ: the report is
/// written by the record task, before that task's own writes and the
/// outcome event.
pub fn calls_in_report(total: u64, in_report: u64) -> String {
    let after = total.saturating_sub(in_report);
    format!(
        "the report counts {in_report}: every call up to its writing; the other {after} are the record's own writes and the outcome event"
    )
}

/// What a move does to the app's database, in a few words.
pub fn database_text(app: &lifeboat_core::plan::AppMove) -> String {
    use lifeboat_core::database::DbAction;
    let d = &app.database;
    match d.action {
        DbAction::None => d.kind.as_str().to_string(),
        DbAction::Switchover => format!(
            "switchover of {} to {} (no data loss)",
            d.global_cluster_id.as_deref().unwrap_or(""),
            d.target
        ),
        DbAction::Failover => format!(
            "failover of {} to {}, data loss allowed{}",
            d.global_cluster_id.as_deref().unwrap_or(""),
            d.target,
            match (d.max_rpo_seconds, d.accept_data_loss) {
                (_, true) => " (data loss accepted)".to_string(),
                (Some(b), false) => format!(" if replication lag <= {b} s"),
                (None, false) => String::new(),
            }
        ),
        DbAction::PromoteCluster => format!("promote replica cluster {}", d.target),
        DbAction::PromoteInstance => format!("promote read replica {}", d.target),
        DbAction::RestoreBackup => format!("restore {}'s replicated backup as {}", d.source, d.target),
        DbAction::ManualRebuild => "rebuilt by hand: DNS only".to_string(),
    }
}

pub fn plan_text(plan: &Plan) -> String {
    let mut s = format!("{}\n", plan.summary);
    if let Some(a) = &plan.approval {
        let _ = writeln!(
            s,
            "waits for approval first: nothing changes until a person runs `lifeboat approve RUN` (up to {} s, then {})  *",
            a.timeout_seconds,
            a.on_timeout.as_str()
        );
    }
    for (p, phase) in plan.phases.iter().enumerate() {
        let _ = writeln!(s, "phase {p}: {} to {}", phase.action, phase.target);
        for wave in &phase.waves {
            let _ = writeln!(s, "  wave {}:", wave.index);
            for app in &wave.apps {
                let _ = writeln!(
                    s,
                    "    {} -> {} (database: {})",
                    app.app,
                    app.to_region,
                    database_text(app)
                );
                for (i, step) in app.database.manual_steps.iter().enumerate() {
                    let _ = writeln!(s, "      manual step {}: {step}", i + 1);
                }
                for c in &app.capacity {
                    let _ = writeln!(
                        s,
                        "      capacity: {} raised to {}% of {}'s desired {} (never lowered), in service within {} s  *",
                        c.target.describe(),
                        c.percent,
                        c.source.describe(),
                        c.target.unit(),
                        c.deadline_seconds
                    );
                }
                for h in &app.hooks {
                    let _ = writeln!(
                        s,
                        "      hook {} {}: {} (timeout {} s, {} retries)",
                        h.when.as_str(),
                        h.name,
                        h.function,
                        h.timeout_seconds,
                        h.retries
                    );
                }
                if app.restore_capacity {
                    let _ = writeln!(
                        s,
                        "      capacity: the drill Region's raised capacity put back once home and verified  *"
                    );
                }
                if let Some(rec) = &app.database.endpoint_record {
                    let _ = writeln!(
                        s,
                        "      writer CNAME {} (zone {}) -> {}'s writer endpoint in {}, once it takes writes  *",
                        rec.name, rec.hosted_zone_id, app.database.target, app.database.region
                    );
                }
                for c in &app.dns {
                    let mark = if c.before == c.after { "" } else { "  *" };
                    let _ = writeln!(
                        s,
                        "      {} {} [{}] weight {} -> {}{mark}",
                        c.key.name, c.key.record_type, c.key.set_identifier, c.before, c.after
                    );
                }
                for c in &app.controls {
                    let mark = if c.before == c.after { "" } else { "  *" };
                    let _ = writeln!(s, "      routing control {} {} -> {}{mark}", c.arn, c.before, c.after);
                }
            }
            if !wave.arc_endpoints.is_empty() {
                let order: Vec<&str> = wave.arc_endpoints.iter().map(|e| e.region.as_str()).collect();
                let _ = writeln!(s, "    ARC endpoints, in the order tried: {}", order.join(", "));
            }
        }
    }
    for k in &plan.skipped {
        match &k.error {
            Some(e) => {
                let _ = writeln!(s, "cannot move {}: {e}: {}", k.app, k.reason);
            }
            None => {
                let _ = writeln!(s, "skipped {}: {}", k.app, k.reason);
            }
        }
    }
    s
}

pub fn history_table(runs: &[RunRecord]) -> String {
    let rows = runs.iter().map(|r| {
        [
            r.run_id.clone(),
            r.action.to_string(),
            format!("{:?}", r.trigger).to_lowercase(),
            r.status.as_str().to_string(),
            format!("{:.1}", r.duration_seconds),
            r.summary.clone(),
        ]
    });
    crate::table::render(
        "",
        &["RUN", "ACTION", "TRIGGER", "STATUS", "SECONDS", "SUMMARY"],
        &[4],
        rows,
    )
}

pub fn run_text(r: &RunRecord) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "run {} ({} {}, {:?} trigger: {})",
        r.run_id,
        r.action,
        format!("{:?}", r.mode).to_lowercase(),
        r.trigger,
        r.source
    );
    let _ = writeln!(
        s,
        "status: {:?} in {:.1}s - {}",
        r.status, r.duration_seconds, r.summary
    );
    if let Some(e) = &r.error {
        let _ = writeln!(s, "error: {e}");
    }
    if let Some(w) = &r.waited {
        let _ = writeln!(
            s,
            "waited: {} s between the trigger ({}) and this run's start: {}",
            w.seconds,
            w.since.to_rfc3339(),
            w.reason
        );
    }
    for a in &r.apps {
        let took = a.recovery_seconds.map(|t| format!(" in {t:.2}s")).unwrap_or_default();
        let _ = writeln!(
            s,
            "  phase {} {} -> {}: {:?}{took} - {}",
            a.phase, a.app, a.to_region, a.status, a.detail
        );
        for c in &a.capacity {
            let _ = writeln!(s, "      capacity: {}", capacity_outcome_text(c));
        }
        for h in &a.hooks {
            let _ = writeln!(
                s,
                "      hook {} ({}): {} after {} attempt(s): {}",
                h.name,
                h.when.as_str(),
                h.status.as_str(),
                h.attempts,
                h.detail
            );
        }
        for c in &a.capacity_restored {
            let _ = writeln!(
                s,
                "      capacity put back: {}: {}",
                c.target.describe(),
                c.restored.as_deref().unwrap_or("not reached")
            );
        }
        if let Some(d) = &a.database {
            let _ = writeln!(s, "      database: {}", database_outcome_text(d));
        }
        if let Some(apart) = &a.apart {
            let _ = writeln!(s, "      {apart}");
        }
        if let Some(region) = &a.routing_controls_via {
            let _ = writeln!(
                s,
                "      traffic: routing controls set through the ARC endpoint in {region}"
            );
        }
    }
    // Apps that could not move are listed with the apps above.
    for k in r.skipped.iter().filter(|k| k.error.is_none()) {
        let _ = writeln!(s, "  skipped {}: {}", k.app, k.reason);
    }
    let _ = writeln!(
        s,
        "AWS API calls: {} (up to this record; its own writes and the outcome event come after)",
        calls_line(&r.api_calls)
    );
    s
}

/// Each app's database step per run: `(label, record)` in order.
pub fn database_table(runs: &[(&str, RunRecord)]) -> String {
    let mut rows = Vec::new();
    for (label, r) in runs {
        for a in &r.apps {
            let Some(d) = &a.database else { continue };
            let at_risk = match (d.rpo_at_risk_seconds, d.data_window_lost_seconds) {
                (Some(x), _) => format!("{x:.1}s"),
                (None, Some(w)) => format!("{w:.0}s lost"),
                _ => "-".to_string(),
            };
            rows.push(vec![
                a.app.clone(),
                label.to_string(),
                d.action.to_string(),
                d.status.to_string(),
                d.seconds_to_writable.map_or("-".to_string(), |t| format!("{t:.0}s")),
                at_risk,
                format!("{} in {}", d.target, d.region),
            ]);
        }
    }
    let mut s = crate::table::render(
        "  ",
        &["APP", "RUN", "ACTION", "STATUS", "WRITABLE IN", "RPO AT RISK", "TARGET"],
        &[4, 5],
        rows,
    );
    // A skip's reason is a sentence: under the table, not in a column.
    for (label, r) in runs {
        for k in &r.skipped {
            let _ = writeln!(s, "  {} ({label}) skipped: {}", k.app, k.reason);
        }
    }
    s
}

/// A capacity step in one line: what, how it ended, how long it took, and from what source count.
pub fn capacity_outcome_text(c: &lifeboat_core::capacity::CapacityOutcome) -> String {
    let took = c.seconds_to_ready.map(|t| format!(" in {t:.0} s")).unwrap_or_default();
    let source = c
        .source_desired
        .map(|n| format!(" (source {n}, {})", c.source_basis))
        .unwrap_or_default();
    format!(
        "{} {}{took}: {}/{} {} in service{source}; {}",
        c.target.describe(),
        c.status.as_str(),
        c.ready,
        c.needed,
        c.target.unit(),
        c.detail
    )
}

/// A database step in one line: what, how it ended, when writable, the data at risk.
pub fn database_outcome_text(d: &lifeboat_core::outcome::DatabaseOutcome) -> String {
    let mut s = format!("{} {} in {}: {}", d.action, d.target, d.region, d.status);
    if let Some(w) = d.writable_at {
        let _ = write!(s, ", writable at {}", w.format("%H:%M:%SZ"));
    }
    if let Some(t) = d.seconds_to_writable {
        let _ = write!(s, " ({t:.1}s after the step started)");
    }
    if let Some(r) = d.rpo_at_risk_seconds {
        let _ = write!(s, "; RPO at risk {r:.1}s");
    }
    if let Some(t) = d.restore_time {
        let _ = write!(s, "; restored to {}", t.format("%H:%M:%SZ"));
    }
    if let Some(w) = d.data_window_lost_seconds {
        let _ = write!(s, "; data window lost {w:.0}s");
    }
    if let Some(snapshot) = &d.lost_writes_snapshot {
        let _ = write!(s, "; lost writes kept in {snapshot}");
    }
    if !d.detail.is_empty() {
        let _ = write!(s, " - {}", d.detail);
    }
    s
}

/// One row of the weights table: an app's record pair and the weight of each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightRow {
    pub app: String,
    pub record: String,
    pub primary_region: String,
    pub primary_weight: Option<i64>,
    pub secondary_region: String,
    pub secondary_weight: Option<i64>,
}

/// Reads the current weights of every application's records.
pub async fn weight_rows(dns: &dyn DnsReader, apps: &[Application]) -> Result<Vec<WeightRow>, AwsError> {
    let key = |p: &lifeboat_core::registry::DnsRecordPair, side: Side| p.key(side);
    let keys: Vec<RecordKey> = apps
        .iter()
        .flat_map(|a| a.dns.iter())
        .flat_map(|p| [key(p, Side::Primary), key(p, Side::Secondary)])
        .collect();
    let idx = read_records(dns, keys.iter()).await?;
    let mut rows = Vec::new();
    for a in apps {
        for p in &a.dns {
            rows.push(WeightRow {
                app: a.name.clone(),
                record: format!("{} {}", p.name, p.record_type),
                primary_region: a.regions.primary.clone(),
                primary_weight: idx.get(&key(p, Side::Primary)).and_then(|r| r.weight),
                secondary_region: a.regions.secondary.clone(),
                secondary_weight: idx.get(&key(p, Side::Secondary)).and_then(|r| r.weight),
            });
        }
    }
    Ok(rows)
}

/// Before/after table: weights of each record pair at each moment.
pub fn weights_table(columns: &[(&str, &[WeightRow])]) -> String {
    let Some((_, first)) = columns.first() else {
        return String::new();
    };
    let header: Vec<&str> = ["APP", "RECORD"]
        .into_iter()
        .chain(columns.iter().map(|(title, _)| *title))
        .collect();
    let w = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let legend = ["", ""]
        .map(String::from)
        .into_iter()
        .chain(columns.iter().map(|_| "primary / secondary".to_string()))
        .collect::<Vec<_>>();
    let rows = first.iter().enumerate().map(|(i, row)| {
        let cells = columns.iter().map(move |(_, rows)| {
            rows.get(i)
                .map(|r| format!("{:>3} / {:<3}", w(r.primary_weight), w(r.secondary_weight)))
                .unwrap_or_default()
        });
        [row.app.clone(), row.record.clone()]
            .into_iter()
            .chain(cells)
            .collect::<Vec<_>>()
    });
    let right: Vec<usize> = (2..header.len()).collect();
    crate::table::render("  ", &header, &right, std::iter::once(legend).chain(rows))
}

/// The readiness table: app, ready, reasons, RPO at risk now, last good.
pub fn readiness_table(ev: &lifeboat_tasks::readiness::Evaluation, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = format!(
        "readiness evaluated {} ({} ago): {}/{} apps ready\n",
        ev.evaluated_at.to_rfc3339(),
        ago(now - ev.evaluated_at),
        ev.apps.len() - ev.not_ready().len(),
        ev.apps.len()
    );
    let rows = ev.apps.iter().map(|a| {
        [
            a.app.clone(),
            if a.ready { "yes" } else { "NO" }.to_string(),
            a.next_move.to_string(),
            a.rpo_at_risk_seconds
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| "-".into()),
            a.lag_trend.clone().unwrap_or_else(|| "-".into()),
            a.last_good
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_else(|| "never".into()),
            if a.reasons.is_empty() {
                "-".to_string()
            } else {
                a.reasons.join("; ")
            },
        ]
    });
    out.push_str(&crate::table::render(
        "",
        &[
            "APP",
            "READY",
            "NEXT MOVE",
            "RPO AT RISK",
            "TREND",
            "LAST GOOD",
            "REASONS",
        ],
        &[3],
        rows,
    ));
    // The capacity a move now would raise, under the table (a gap is not a fault: it is the pilot light).
    for a in ev.apps.iter().filter(|a| !a.capacity.is_empty()) {
        let _ = writeln!(out, "capacity of {} for its {}:", a.app, a.next_move);
        for line in &a.capacity {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn ago(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lease_line_says_who_holds_it_or_how_long_alarms_wait() {
        use lifeboat_aws::ports::LeaseState;
        let now = chrono::Utc::now();
        let held = LeaseState {
            holder: Some("run-9".into()),
            epoch: 4,
            acquired_at: Some(now),
            expires_at: Some(now + chrono::Duration::hours(1)),
            ..LeaseState::default()
        };
        assert!(lease_line(&held, now).starts_with("lease: held by run run-9 (epoch 4)"));
        let east = LeaseState {
            holder_region: Some("us-east-1".into()),
            ..held.clone()
        };
        assert!(lease_line(&east, now).starts_with("lease: held by run run-9 (epoch 4, taken in us-east-1)"));
        let expired = LeaseState {
            expires_at: Some(now - chrono::Duration::seconds(1)),
            ..held
        };
        assert_eq!(lease_line(&expired, now), "lease: free");
        let cooling = LeaseState {
            cooldown_until: Some(now + chrono::Duration::seconds(60)),
            last_run: Some("run-9".into()),
            ..LeaseState::default()
        };
        let line = lease_line(&cooling, now);
        assert!(line.contains("cooldown after failback run-9 until"), "{line}");
        assert!(line.contains("(60 s more)"), "{line}");
        assert!(line.contains("lease release --cooldown"), "{line}");
    }

    #[test]
    fn calls_line_lists_operations() {
        let mut c = ApiCalls::default();
        c.add("route53:GetChange", 2);
        c.add("dynamodb:Scan", 1);
        assert_eq!(calls_line(&c), "3 total (dynamodb:Scan=1, route53:GetChange=2)");
    }
}
