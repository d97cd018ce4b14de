//! End-to-end: us-east-1 goes dark. A fault-injecting proxy in front of the
//! emulator refuses every call signed for us-east-1 and every Route 53 API
//! call (Route 53's control plane lives in us-east-1), as a Region outage
//! would. A disaster failover must still move the apps whose traffic is
//! switched by ARC routing controls (data plane, five regional endpoints),
//! and report the weighted ones as not moved, with their databases untouched.
//!
//! Emulator departures that shape these tests: moto has no ARC at all (our
//! emulator extension serves the cluster data plane, the control-config calls
//! and RECOVERY_CONTROL health checks); TestDNSAnswer is the extension's, as
//! Route 53 documents it. The "dark" Region answers 503 at once here, where
//! a real outage may also time out: the clients' connect and attempt
//! timeouts bound that case.

#![allow(clippy::unwrap_used)]

use aws_sdk_cloudwatch::types::StateValue;
use harness::{TestEnv, moto};
use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_core::traffic::ControlState;
use lifeboat_sandbox::estate::{PRIMARY, SECONDARY, alarm_event, set_alarm};

/// The state of an app's probe alarm (a composite) in the recovery Region.
async fn probe_alarm_state(config: aws_config::SdkConfig, alarm: String) -> String {
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&config)
            .region(aws_config::Region::new(SECONDARY))
            .build(),
    )
    .describe_alarms()
    .alarm_names(&alarm)
    .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
    .send()
    .await
    .unwrap()
    .composite_alarms()[0]
        .state_value()
        .unwrap()
        .as_str()
        .to_string()
}

/// A detection probe of `url` expecting 200, ALARM after `failures` failed minutes.
fn probe_detection(url: String, failures: u32, alarm: &str) -> lifeboat_core::registry::Detection {
    lifeboat_core::registry::Detection {
        probe: lifeboat_core::registry::DetectionProbe {
            url,
            expect_status: 200,
            failures,
            alarm_name: Some(alarm.to_string()),
        },
    }
}

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

#[tokio::test]
async fn with_us_east_1_and_route53_dark_routing_control_apps_fail_over_and_weighted_ones_wait() {
    let proxy = harness::us_east_1_dark();
    let mut env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let rc_apps = ["payments", "search", "storefront"];
    let seed = env.give_routing_controls(&rc_apps, Some(&proxy.endpoint())).await;
    let before = env.dns_answer("payments").await;
    assert_eq!(
        before,
        vec!["192.0.2.10".to_string()],
        "the primary answers before the outage"
    );

    // The trigger alarm goes to ALARM in the (now dark) primary Region; its
    // event is what EventBridge would deliver to the recovery Region.
    set_alarm(
        &harness::sdk_config(&moto().endpoint()).await,
        PRIMARY,
        &env.estate.trigger_alarm,
        StateValue::Alarm,
    )
    .await
    .unwrap();
    let refused_before = proxy.injected();
    let started = std::time::Instant::now();
    let (exec, calls) = env
        .run(alarm_event(&env.estate.trigger_alarm, PRIMARY, chrono::Utc::now()))
        .await;
    let wall = started.elapsed();
    let rec = record(&exec);

    // The routing-control apps moved; orders (weighted) could not.
    for app in rc_apps {
        let a = rec.apps.iter().find(|a| a.app == app).unwrap();
        assert_eq!(a.status, AppStatus::Moved, "{app}: {}", a.detail);
        assert_eq!(a.to_region, SECONDARY);
        assert_eq!(a.routing_controls_via.as_deref(), Some(SECONDARY), "{app}");
    }
    let orders = rec.apps.iter().find(|a| a.app == "orders").unwrap();
    assert_eq!(orders.status, AppStatus::NotMoved);
    assert!(orders.detail.starts_with("Lifeboat.NotReady"), "{}", orders.detail);
    assert!(
        orders.detail.contains("Route 53's API did not answer"),
        "{}",
        orders.detail
    );
    assert_eq!(rec.status, RunStatus::Partial);
    assert_eq!(rec.error_name, Some(lifeboat_core::ErrorName::NotReady.into()));

    // The controls flipped through a non-us-east-1 endpoint: the target On, the other Off.
    let states = env.control_states(&seed).await;
    for app in rc_apps {
        let pair = &seed.controls[app];
        assert_eq!(states.get(&pair.primary), Some(&ControlState::Off), "{app}");
        assert_eq!(states.get(&pair.secondary), Some(&ControlState::On), "{app}");
    }
    let scopes = proxy.by_scope();
    let arc_west = scopes
        .get("route53-recovery-cluster@us-west-2")
        .copied()
        .unwrap_or_default();
    assert!(arc_west.forwarded >= 2, "{scopes:?}");
    assert_eq!(
        scopes
            .get("route53-recovery-cluster@us-east-1")
            .map(|c| c.forwarded)
            .unwrap_or(0),
        0,
        "{scopes:?}"
    );
    // Nothing signed for us-east-1 got through, and Route 53's API was asked
    // (best-effort) and refused.
    assert!(
        scopes
            .iter()
            .filter(|(k, _)| k.ends_with("@us-east-1"))
            .all(|(_, c)| c.forwarded == 0),
        "{scopes:?}"
    );
    assert!(proxy.injected() > refused_before, "{scopes:?}");
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0, "{calls:?}");
    assert!(
        calls.get("route53recoverycluster:UpdateRoutingControlStates") >= 1,
        "{calls:?}"
    );

    // Asked after the outage, DNS answers with the recovery Region.
    assert_eq!(env.dns_answer("payments").await, vec!["198.51.100.10".to_string()]);
    assert_eq!(env.dns_answer("search").await, vec!["198.51.100.20".to_string()]);
    // payments' Aurora global database fails over to the recovery Region.
    assert!(env.global_writer_in_recovery_region("payments").await);
    // orders' database was left alone: no restore in the recovery Region.
    let restored = env.standby_instance("orders").await;
    assert!(restored.is_none(), "orders must not be restored: {restored:?}");
    // orders' weights are as they were.
    let weights = env.weights_direct().await;
    assert!(
        weights
            .iter()
            .any(|(app, p, s)| app == "orders" && *p == Some(100) && *s == Some(0)),
        "{weights:?}"
    );
    eprintln!(
        "dark run: {:.1}s wall clock, {:.0}s virtual; calls by scope {scopes:?}; calls {calls:?}",
        wall.as_secs_f64(),
        rec.duration_seconds
    );
}

#[tokio::test]
async fn the_probe_from_the_recovery_region_sees_the_primary_die_and_its_alarm_fails_the_app_over() {
    use harness::endpoint::TestEndpoint;
    use lifeboat_core::registry::HttpCheck;
    let proxy = harness::us_east_1_dark();
    let mut env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let seed = env.give_routing_controls(&["payments"], Some(&proxy.endpoint())).await;
    let (primary, secondary) = (TestEndpoint::start(), TestEndpoint::start());
    let alarm = format!("{}-probe-payments", env.namespace);
    let mut registry = env.estate.registry.clone();
    if let Some(app) = registry.applications.iter_mut().find(|a| a.name == "payments") {
        app.detection = Some(probe_detection(primary.url("/health"), 3, &alarm));
        // Verified by the recovery Region's own endpoint, not by Route 53.
        app.verification.probes.secondary = vec![HttpCheck {
            url: secondary.url("/health"),
            expect_status: 200,
        }];
    }
    env.estate.registry = registry;
    let s = env.admin();
    lifeboat_tasks::apply_registry::apply_registry(&*s.registry, &env.estate.registry, false)
        .await
        .unwrap();
    let alarms = lifeboat_tasks::probe::apply_probe_alarms(&*s.metrics, &env.estate.registry)
        .await
        .unwrap();
    assert_eq!(alarms, vec![alarm.clone()]);

    let state = |env: &TestEnv| probe_alarm_state(env.config.clone(), alarm.clone());
    let probe = |at: chrono::DateTime<chrono::Utc>| {
        let s = env.admin();
        async move {
            lifeboat_tasks::probe::probe_primaries(&*s.registry, &*s.http, &*s.metrics, SECONDARY, at)
                .await
                .unwrap()
        }
    };
    let now = chrono::Utc::now();
    // Healthy minutes.
    for minutes_ago in [5, 4, 3] {
        let healthy = probe(now - chrono::Duration::minutes(minutes_ago)).await;
        assert!(healthy.failing().is_empty(), "{healthy:?}");
    }
    assert_eq!(state(&env).await, "OK");

    // The primary stops answering; the probe runs once a minute from us-west-2.
    primary.go_dark();
    for minutes_ago in [2, 1] {
        let round = probe(now - chrono::Duration::minutes(minutes_ago)).await;
        assert_eq!(round.failing(), vec!["payments"]);
        assert_eq!(state(&env).await, "OK", "not yet: {} failure(s) of 3", 3 - minutes_ago);
    }
    probe(now).await;
    assert_eq!(state(&env).await, "ALARM", "three failed minutes in a row");

    // The alarm's state change, as EventBridge delivers it in the recovery Region.
    let (exec, _calls) = env.run(alarm_event(&alarm, SECONDARY, now)).await;
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Succeeded, "{:?}", rec.apps);
    assert_eq!(rec.apps.len(), 1);
    assert_eq!(rec.apps[0].app, "payments");
    assert!(
        rec.apps[0].detail.contains(&secondary.url("/health")),
        "{}",
        rec.apps[0].detail
    );
    let states = env.control_states(&seed).await;
    assert_eq!(
        states.get(&seed.controls["payments"].secondary),
        Some(&ControlState::On)
    );
    assert_eq!(env.dns_answer("payments").await, vec!["198.51.100.10".to_string()]);
}

/// Recording must not depend on the dark Region. An alarm kept earlier is
/// taken up at the run's end; its Region (us-east-1) does not answer, so in
/// a disaster it counts as still in ALARM and is handed on as a follow-up of
/// the apps that did not move. The run itself is recorded as it went.
#[tokio::test]
async fn the_dark_regions_kept_trigger_is_handed_on_and_the_run_still_records_succeeded() {
    let proxy = harness::us_east_1_dark();
    let mut env = TestEnv::with_endpoint(&proxy.endpoint()).await;
    let rc_apps = ["payments", "search", "storefront"];
    env.give_routing_controls(&rc_apps, Some(&proxy.endpoint())).await;
    // The region alarm was turned away earlier (another run held the lease) and kept.
    let admin = env.admin();
    let kept = lifeboat_tasks::pending::keep(
        &*admin.journal,
        &alarm_event(&env.estate.trigger_alarm, PRIMARY, chrono::Utc::now()),
        "an-earlier-execution",
        "lease held",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(kept, [env.estate.trigger_alarm.clone()]);

    let (exec, _) = env
        .run(serde_json::json!({"action": "failover", "mode": "disaster", "apps": rc_apps}))
        .await;
    assert_eq!(
        exec.status,
        lifeboat_states::ExecutionStatus::Succeeded,
        "{:?}",
        exec.error
    );
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Succeeded, "{}", rec.summary);
    // us-east-1's CloudWatch did not answer: the alarm counts as in ALARM,
    // and orders (not in this run) follows up.
    let follow_up = rec.follow_up.expect("the kept trigger is handed on");
    assert_eq!(follow_up.alarms, [env.estate.trigger_alarm.clone()]);
    assert_eq!(follow_up.apps, ["orders"]);
    assert_eq!(
        lifeboat_tasks::pending::recorded_follow_up(&*admin.journal, &rec.run_id)
            .await
            .unwrap()
            .as_ref(),
        Some(&follow_up),
        "recorded before the trigger was marked taken"
    );
    assert!(
        lifeboat_tasks::pending::pending(&*admin.journal)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A probe that stops is not a disaster. The probe publishes a heartbeat each
/// round; when it stops, the heartbeat alarm goes to ALARM and the app's probe
/// alarm (a composite) holds back, so nothing fails over; readiness names
/// the dead probe. The emulator's CloudWatch clock is moved by hand (its
/// alarms otherwise judge only when data comes).
#[tokio::test]
async fn a_probe_that_stops_fails_nothing_over_and_readiness_names_it() {
    use harness::endpoint::TestEndpoint;
    use lifeboat_core::registry::PROBE_HEARTBEAT_ALARM;
    let env = TestEnv::new().await;
    let primary = TestEndpoint::start();
    let alarm = format!("{}-probe-payments", env.namespace);
    env.update_app("payments", |app| {
        app.detection = Some(probe_detection(primary.url("/health"), 2, &alarm));
    })
    .await;
    let s = env.admin();
    let registry = lifeboat_tasks::validate::load_registry(&*s.registry).await.unwrap();
    lifeboat_tasks::probe::apply_probe_alarms(&*s.metrics, &registry)
        .await
        .unwrap();
    let start = chrono::Utc::now() - chrono::Duration::minutes(10);
    for minute in 0..3 {
        let round = lifeboat_tasks::probe::probe_primaries(
            &*s.registry,
            &*s.http,
            &*s.metrics,
            SECONDARY,
            start + chrono::Duration::minutes(minute),
        )
        .await
        .unwrap();
        assert!(round.failing().is_empty(), "{round:?}");
    }
    assert_eq!(probe_alarm_state(env.config.clone(), alarm.clone()).await, "OK");

    // The probe function stops (its schedule disabled, its code broken).
    // CloudWatch's clock moves on five minutes: the gap is judged.
    let at = (start + chrono::Duration::minutes(7)).timestamp();
    let answer = moto()
        .request(
            "POST",
            &format!("/lifeboat-emulator/cloudwatch/regions/{SECONDARY}/evaluate"),
            &serde_json::json!({ "at": at }).to_string(),
        )
        .unwrap();
    let states: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(states["states"][PROBE_HEARTBEAT_ALARM], "ALARM", "{states}");
    assert_eq!(
        probe_alarm_state(env.config.clone(), alarm.clone()).await,
        "OK",
        "a stopped probe starts no failover"
    );

    // Readiness names the dead probe.
    let evaluation = lifeboat_tasks::readiness::evaluate(&env.admin(), chrono::Utc::now())
        .await
        .unwrap();
    let payments = evaluation.apps.iter().find(|a| a.app == "payments").unwrap();
    assert!(!payments.ready);
    assert!(
        payments
            .reasons
            .iter()
            .any(|r| r.contains("has not reported") && r.contains(PROBE_HEARTBEAT_ALARM)),
        "{:?}",
        payments.reasons
    );
    // The primary is untouched.
    assert_eq!(env.dns_answer("payments").await, vec!["192.0.2.10".to_string()]);
}
