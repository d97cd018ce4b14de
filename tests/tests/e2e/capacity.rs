//! Capacity before traffic, end to end on the emulator (Auto Scaling
//! instances Pending before InService, ECS tasks PENDING before RUNNING):
//! a failover raises the recovery Region's group and service to the
//! primary's, in order, and moves the traffic only once they serve; a drill
//! puts the drill Region's capacity back at its end; a dry run changes
//! nothing; readiness tells the gap.

#![allow(clippy::unwrap_used)]

use harness::TestEnv;
use lifeboat_core::capacity::{CapacityStatus, Scalable};
use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_sandbox::estate::capacity::{PILOT_INSTANCES, PRIMARY_INSTANCES, PRIMARY_TASKS};
use lifeboat_sandbox::estate::{PRIMARY, SECONDARY};
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

fn group(env: &TestEnv, region: &str) -> Scalable {
    let short = if region == PRIMARY { "use1" } else { "usw2" };
    Scalable::Asg {
        region: region.into(),
        name: format!("{}-storefront-{short}", env.namespace),
    }
}

fn service(env: &TestEnv, region: &str) -> Scalable {
    let short = if region == PRIMARY { "use1" } else { "usw2" };
    Scalable::Ecs {
        region: region.into(),
        cluster: format!("{}-{short}", env.namespace),
        service: "storefront".into(),
    }
}

/// (desired, ready, max) as the services describe it now.
async fn reading(env: &TestEnv, r: &Scalable) -> (u32, u32, Option<u32>) {
    let st = env.admin().capacity.describe(r).await.unwrap().unwrap();
    (st.reading.desired, st.reading.ready, st.reading.max)
}

#[tokio::test]
async fn a_failover_raises_the_recovery_regions_capacity_before_its_traffic_and_a_drill_puts_it_back() {
    let env = TestEnv::new().await;
    env.give_capacity("storefront").await;
    let pilot = reading(&env, &group(&env, SECONDARY)).await;
    assert_eq!((pilot.0, pilot.2), (PILOT_INSTANCES as u32, Some(2)));

    // A dry run says what would be raised and changes nothing.
    let (exec, _) = env
        .run(json!({"action": "failover", "apps": ["storefront"], "dry_run": true}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(reading(&env, &group(&env, SECONDARY)).await.0, PILOT_INSTANCES as u32);

    // A drill: over to us-west-2 (its capacity raised first), soak, home, and the drill Region put back.
    let (exec, _) = env
        .run(json!({"action": "drill", "apps": ["storefront"], "soak_seconds": 30}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Succeeded, "{}", rec.summary);
    let over = rec.apps.iter().find(|a| a.phase == 0).unwrap();
    assert_eq!(over.status, AppStatus::Moved, "{}", over.detail);
    assert_eq!(over.capacity.len(), 2, "the group, then the service");
    assert!(over.capacity.iter().all(|c| c.status == CapacityStatus::Ready));
    assert_eq!(
        (
            over.capacity[0].needed,
            over.capacity[0].set_to,
            over.capacity[0].source_basis.as_str()
        ),
        (PRIMARY_INSTANCES as u32, Some(PRIMARY_INSTANCES as u32), "live")
    );
    assert!(
        over.capacity[0].detail.contains("MaxSize raised to 4"),
        "{}",
        over.capacity[0].detail
    );
    assert_eq!(over.capacity[1].needed, PRIMARY_TASKS as u32);
    // The order and the timeline: the service raised once the group served; traffic after both.
    let t = &over.timeline;
    let (started, ready, shifted) = (
        t.capacity_started_at.unwrap(),
        t.capacity_ready_at.unwrap(),
        t.shifted_at.unwrap(),
    );
    assert!(started < ready && ready <= shifted, "{t:?}");
    assert!(over.capacity[1].started_at.unwrap() >= over.capacity[0].ready_at.unwrap());
    // The report draws it: a capacity segment before the traffic's, ending ready.
    let report = lifeboat::report::RunReport::of(&rec);
    let row = report
        .apps
        .iter()
        .find(|a| a.app == "storefront" && a.phase == 0)
        .unwrap();
    let segment = |kind| row.segments.iter().find(|s| s.kind == kind).unwrap();
    let cap = segment(lifeboat::report::SegmentKind::Capacity);
    assert_eq!(cap.outcome, "ready");
    assert!(cap.end_seconds <= segment(lifeboat::report::SegmentKind::Traffic).start_seconds);
    let html = lifeboat::report::html::render(&report);
    assert!(html.contains("seg capacity"), "the timeline draws the capacity segment");
    // Home again: the drill Region is back at its pilot light, its MaxSize too.
    let home = rec.apps.iter().find(|a| a.phase == 1).unwrap();
    assert_eq!(home.status, AppStatus::Moved, "{}", home.detail);
    assert_eq!(home.capacity_restored.len(), 2);
    assert!(
        home.capacity_restored
            .iter()
            .all(|c| c.restored.as_deref().is_some_and(|r| r.starts_with("put back"))),
        "{:?}",
        home.capacity_restored
    );
    let (desired, _, max) = reading(&env, &group(&env, SECONDARY)).await;
    assert_eq!((desired, max), (PILOT_INSTANCES as u32, Some(2)));
    assert_eq!(reading(&env, &service(&env, SECONDARY)).await.0, 0);
    // The primary was never lowered.
    assert_eq!(reading(&env, &group(&env, PRIMARY)).await.0, PRIMARY_INSTANCES as u32);

    // A failover for real: raised, and left raised.
    let (exec, calls) = env.run(json!({"action": "failover", "apps": ["storefront"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(record(&exec).apps[0].status, AppStatus::Moved);
    assert_eq!(
        reading(&env, &group(&env, SECONDARY)).await,
        (
            PRIMARY_INSTANCES as u32,
            PRIMARY_INSTANCES as u32,
            Some(PRIMARY_INSTANCES as u32)
        )
    );
    let svc = reading(&env, &service(&env, SECONDARY)).await;
    assert_eq!((svc.0, svc.1), (PRIMARY_TASKS as u32, PRIMARY_TASKS as u32));
    // One raise per resource: the group and the service.
    assert_eq!(calls.get("autoscaling:UpdateAutoScalingGroup"), 1);
    assert_eq!(calls.get("ecs:UpdateService"), 1);
}

#[tokio::test]
async fn capacity_that_never_comes_keeps_that_apps_traffic_home_and_the_others_move() {
    let env = TestEnv::new().await;
    env.give_capacity("storefront").await;
    // The recovery Region's service names a cluster that does not exist there.
    env.update_app("storefront", |a| {
        let steps = lifeboat_sandbox::estate::capacity::capacity_steps(&env.namespace, "storefront");
        a.capacity = steps;
        a.capacity[1].ecs.as_mut().unwrap().cluster.secondary = "nowhere".into();
    })
    .await;
    let (exec, _) = env
        .run(json!({"action": "failover", "apps": ["storefront", "search"]}))
        .await;
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Partial, "{}", rec.summary);
    let storefront = rec.apps.iter().find(|a| a.app == "storefront").unwrap();
    assert_eq!(storefront.status, AppStatus::NotMoved);
    assert!(
        storefront.detail.contains("capacity not in service"),
        "{}",
        storefront.detail
    );
    assert!(storefront.detail.contains("does not exist"), "{}", storefront.detail);
    let search = rec.apps.iter().find(|a| a.app == "search").unwrap();
    assert_eq!(search.status, AppStatus::Moved, "{}", search.detail);
    let weights = env.weights().await;
    let (_, p, s) = weights.iter().find(|(name, _, _)| name.contains("storefront")).unwrap();
    assert_eq!((*p, *s), (Some(100), Some(0)), "storefront's traffic stayed home");
}

#[tokio::test]
async fn readiness_tells_each_steps_gap_and_expected_time_and_keeps_the_desired_counts() {
    let env = TestEnv::new().await;
    env.give_capacity("storefront").await;
    let s = env.admin();
    let ev = lifeboat_tasks::readiness::evaluate(&s, chrono::Utc::now())
        .await
        .unwrap();
    let app = ev.apps.iter().find(|a| a.app == "storefront").unwrap();
    assert_eq!(app.capacity.len(), 2, "{:?}", app.capacity);
    assert!(app.capacity[0].contains("+3 instances"), "{}", app.capacity[0]);
    assert!(
        app.capacity[0].contains("expected about 120 s (its warmup)"),
        "{}",
        app.capacity[0]
    );
    assert!(app.capacity[0].contains("MaxSize 2 is below it"), "{}", app.capacity[0]);
    assert!(
        app.capacity[1].contains("+3 tasks, expected about 60 s"),
        "{}",
        app.capacity[1]
    );
    assert_eq!(app.capacity_seen.len(), 4, "both sides of both steps");
    assert!(app.ready, "a pilot light is not a fault: {:?}", app.reasons);
}
