use super::*;
use crate::dns::RecordSet;
use crate::error::{ErrorName, LifeboatError};
use crate::registry::parse_registry;
use crate::registry::{InsufficientData, Registry, Side};
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

/// The sample's records with each app (db, api, web) active in `active`.
fn active_in(active: [Side; 3]) -> RecordIndex {
    let w = |side: Side, app: usize| if active[app] == side { 100 } else { 0 };
    records(&[
        ("Z1", "db.x.", "A", "db-p", w(Side::Primary, 0)),
        ("Z1", "db.x.", "A", "db-s", w(Side::Secondary, 0)),
        ("Z1", "api.x.", "A", "api-p", w(Side::Primary, 1)),
        ("Z1", "api.x.", "A", "api-s", w(Side::Secondary, 1)),
        ("Z2", "www.y.", "CNAME", "web-p", w(Side::Primary, 2)),
        ("Z2", "www.y.", "CNAME", "web-s", w(Side::Secondary, 2)),
    ])
}

fn at_primary() -> RecordIndex {
    active_in([Side::Primary; 3])
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
    let moved = active_in([Side::Secondary, Side::Secondary, Side::Primary]);
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
    let cannot: Vec<(&str, Option<ErrorName>)> = plan.skipped.iter().map(|s| (s.app.as_str(), s.error)).collect();
    assert_eq!(
        cannot,
        vec![("api", Some(ErrorName::NotReady)), ("web", Some(ErrorName::NotReady))]
    );
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

#[test]
fn a_health_check_is_read_only_for_an_app_nothing_else_verifies() {
    // GetHealthCheckStatus: a bucket of 4 refilling 1 a second for the whole
    // account. An app with an alarm or a probe in the target Region is
    // verified by those; its health check is left to Route 53's routing.
    let mut reg = parse_registry(REG).unwrap();
    let api = reg.applications.iter_mut().find(|a| a.name == "api").unwrap();
    api.verification.alarms.secondary = vec!["api-usw2-5xx".into()];
    let req = normalize_trigger(&json!({"action": "failover"})).unwrap();
    let plan = build_plan(&reg, &req, &at_primary().into(), &ctx()).unwrap();
    let api = &plan.phases[0].waves[1].apps[0];
    assert_eq!(api.verification.health_check_id, None);
    assert_eq!(api.verification.alarms, vec!["api-usw2-5xx"]);
    // Without the alarm (the sample as it is), the health check is read.
    let plan = plan_for(json!({"action": "failover"}), &at_primary()).unwrap();
    assert_eq!(
        plan.phases[0].waves[1].apps[0].verification.health_check_id.as_deref(),
        Some("hc-api-s")
    );
}

/// A one-app registry verified every `interval` s for `deadline` s (by an
/// alarm, or by its health check when `health_check`), `apps` copies of it.
fn checked_every(interval: u32, deadline: u32, health_check: bool, apps: usize) -> (Registry, RecordIndex) {
    let mut yaml = String::from("version: 1\napplications:\n");
    let mut recs = Vec::new();
    for i in 0..apps {
        let verification = if health_check {
            format!(
                "{{ health_checks: {{ secondary: hc-{i} }}, deadline_seconds: {deadline}, interval_seconds: {interval} }}"
            )
        } else {
            format!(
                "{{ alarms: {{ secondary: [a-{i}] }}, deadline_seconds: {deadline}, interval_seconds: {interval} }}"
            )
        };
        yaml.push_str(&format!(
            "  - name: app{i}\n    regions: {{ primary: us-east-1, secondary: us-west-2 }}\n    \
             dns: [ {{ hosted_zone_id: Z1, name: app{i}.x., type: A, set_identifiers: {{ primary: p{i}, secondary: s{i} }} }} ]\n    \
             verification: {verification}\n"
        ));
        recs.push((format!("app{i}.x."), format!("p{i}"), 100));
        recs.push((format!("app{i}.x."), format!("s{i}"), 0));
    }
    let mut idx = RecordIndex::default();
    for (name, set, w) in recs {
        idx.insert("Z1", RecordSet::weighted(&name, "A", &set, w, "v"));
    }
    (parse_registry(&yaml).unwrap(), idx)
}

#[test]
fn the_history_a_plan_may_write_is_counted_against_step_functions_cap() {
    // A check every second for 30 minutes: about 16,000 events for one pass
    // of one app; a drill does it twice, over the 25,000 an execution keeps.
    let (reg, idx) = checked_every(1, 1800, false, 1);
    let once = build_plan(
        &reg,
        &normalize_trigger(&json!({"action": "failover"})).unwrap(),
        &idx.clone().into(),
        &ctx(),
    )
    .unwrap();
    let events = once.worst_case_events();
    assert!((16_000..18_000).contains(&events), "{events}");
    assert!(once.check_fits(u64::MAX).is_ok());
    let drill = build_plan(
        &reg,
        &normalize_trigger(&json!({"action": "drill", "soak_seconds": 60})).unwrap(),
        &idx.into(),
        &ctx(),
    )
    .unwrap();
    let err = drill.check_fits(u64::MAX).unwrap_err();
    assert!(
        err.contains("history events") && err.contains("interval_seconds") && err.contains("app0"),
        "{err}"
    );
    // Every 30 s instead: a few hundred events a pass.
    let (reg, idx) = checked_every(30, 1800, false, 1);
    let drill = build_plan(
        &reg,
        &normalize_trigger(&json!({"action": "drill", "soak_seconds": 60})).unwrap(),
        &idx.into(),
        &ctx(),
    )
    .unwrap();
    assert!(drill.check_fits(u64::MAX).is_ok(), "{}", drill.worst_case_events());
}

#[test]
fn a_round_of_checks_is_no_faster_than_its_calls_quotas_allow() {
    // 300 apps verified by health checks alone: GetHealthCheckStatus takes 1
    // a second for the whole account, so a round is 300 s, not 10.
    let (reg, idx) = checked_every(10, 60, true, 300);
    let plan = build_plan(
        &reg,
        &normalize_trigger(&json!({"action": "failover"})).unwrap(),
        &idx.into(),
        &ctx(),
    )
    .unwrap();
    let (worst, _) = plan.worst_case();
    assert!(worst >= 6 * 300, "{worst}");
    let err = plan.check_fits(1800).unwrap_err();
    assert!(err.contains("rate quotas"), "{err}");
    // The same apps verified by alarms: 3 DescribeAlarms a round, well within 9 a second.
    let (reg, idx) = checked_every(10, 60, false, 300);
    let plan = build_plan(
        &reg,
        &normalize_trigger(&json!({"action": "failover"})).unwrap(),
        &idx.into(),
        &ctx(),
    )
    .unwrap();
    assert!(plan.check_fits(1800).is_ok(), "{:?}", plan.worst_case());
}

/// An app whose database moved and whose traffic did not is apart: the
/// record says what is where and how to join them; one that moved, or whose
/// database never changed, is not.
#[test]
fn data_and_traffic_apart_says_what_is_where_and_how_to_join_them() {
    use crate::database::DbAction;
    use crate::outcome::{AppStatus, DatabaseOutcome, DbStatus, data_and_traffic_apart};
    use crate::registry::EndpointRecord;
    let plan = plan_for(json!({"action": "failover"}), &at_primary()).unwrap();
    let mut app = plan.phases[0]
        .waves
        .iter()
        .flat_map(|w| &w.apps)
        .find(|a| a.app == "db")
        .unwrap()
        .clone();
    let d = &mut app.database;
    (d.action, d.target, d.source) = (DbAction::Switchover, "db-usw2".into(), "db-use1".into());
    (d.region, d.source_region) = ("us-west-2".into(), "us-east-1".into());
    d.global_cluster_id = Some("db-global".into());
    d.endpoint_record = Some(EndpointRecord {
        hosted_zone_id: "Z9".into(),
        name: "db-writer.internal.".into(),
    });
    let writable = DatabaseOutcome::of(&app.database, DbStatus::Writable, String::new());
    let apart = |app: &AppMove, status, db: &DatabaseOutcome, shifted| {
        data_and_traffic_apart(
            app,
            Action::Failover,
            status,
            Some(db),
            shifted,
            Some("db-usw2.cluster.example"),
        )
    };
    let text = apart(&app, AppStatus::NotMoved, &writable, false).expect("apart");
    for said in [
        "writer is now db-usw2 in us-west-2, while its traffic stays in us-east-1",
        "writer CNAME db-writer.internal. was not repointed: point it at db-usw2.cluster.example",
        "{\"action\": \"failover\", \"apps\": [\"db\"]}",
        "--global-cluster-identifier db-global",
        "<the ARN of db-use1 in us-east-1>",
    ] {
        assert!(text.contains(said), "{said:?} not in {text}");
    }
    // Shifted and rolled back: the CNAME stayed with the writer, so no word of it.
    assert!(
        !apart(&app, AppStatus::RolledBack, &writable, true)
            .unwrap()
            .contains("CNAME")
    );
    assert_eq!(apart(&app, AppStatus::Moved, &writable, true), None);
    let refused = DatabaseOutcome::of(&app.database, DbStatus::Refused, String::new());
    assert_eq!(
        apart(&app, AppStatus::NotMoved, &refused, false),
        None,
        "nothing changed"
    );
    // A promoted replica has no way back but the traffic.
    app.database.action = DbAction::PromoteCluster;
    let promoted = DatabaseOutcome::of(&app.database, DbStatus::Pending, String::new());
    let text = apart(&app, AppStatus::NotMoved, &promoted, false).unwrap();
    assert!(
        text.contains("may still complete") && text.contains("no way back"),
        "{text}"
    );
}

/// A failback of an app that never failed over says it is already active
/// where it would go, not what its database would need to move there.
#[test]
fn an_app_that_never_moved_is_already_active_whatever_its_database() {
    let reg = parse_registry(&REG.replace(
        "    triggers: { alarms: [db-down] }",
        "    triggers: { alarms: [db-down] }\n    database: { kind: rds-replica, identifiers: { primary: db-use1, secondary: db-usw2 } }",
    ))
    .unwrap();
    let request = normalize_trigger(&json!({"action": "failback", "apps": ["db"]})).unwrap();
    let plan = build_plan(&reg, &request, &Observed::from(at_primary()), &ctx()).unwrap();
    let db = plan.skipped.iter().find(|s| s.app == "db").expect("skipped");
    assert_eq!(db.reason, "already active in us-east-1 (primary)");
    // Away from home, the database's rule is what stops it.
    let away = active_in([Side::Secondary, Side::Primary, Side::Primary]);
    let plan = build_plan(&reg, &request, &Observed::from(away), &ctx()).unwrap();
    let db = plan.skipped.iter().find(|s| s.app == "db").expect("skipped");
    assert!(db.reason.contains("read replica"), "{}", db.reason);
}

#[test]
fn five_thousand_apps_with_capacity_steps_fit_the_history_and_the_state_stays_small() {
    let (mut reg, idx) = checked_every(15, 300, false, 5_000);
    for app in &mut reg.applications {
        let by = |p: String, s: String| crate::registry::BySide {
            primary: p,
            secondary: s,
        };
        let step = |asg, ecs| crate::registry::CapacityStep {
            asg,
            ecs,
            percent: 100,
            deadline_seconds: 900,
            interval_seconds: 15,
        };
        app.capacity = vec![
            step(
                Some(by(format!("{}-use1", app.name), format!("{}-usw2", app.name))),
                None,
            ),
            step(
                None,
                Some(crate::registry::EcsService {
                    cluster: by("prod-use1".into(), "prod-usw2".into()),
                    service: by(app.name.clone(), app.name.clone()),
                }),
            ),
        ];
    }
    let drill = build_plan(
        &reg,
        &normalize_trigger(&json!({"action": "drill", "soak_seconds": 60})).unwrap(),
        &idx.into(),
        &ctx(),
    )
    .unwrap();
    assert_eq!(drill.app_count(), 5_000);
    // Both phases' capacity loops (two steps of 61 looks each at most) and the drill's put-back are counted.
    let events = drill.worst_case_events();
    assert!(events < MAX_HISTORY_EVENTS - HISTORY_RESERVE, "{events}");
    assert!(drill.check_fits(crate::timing::EXECUTION_TIMEOUT_SECONDS).is_ok());
    let wave = &drill.summarize().phases[1].waves[0];
    assert_eq!((wave.capacity, wave.restore_capacity), (10_000, 10_000));
    // The state carries counts, never apps: the summary is the same few hundred bytes at 5,000 apps.
    let state = serde_json::to_string(&drill.summarize()).unwrap();
    assert!(state.len() < 4_096, "{} bytes", state.len());
}
