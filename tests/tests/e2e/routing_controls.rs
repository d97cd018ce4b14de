//! End-to-end: routing-control apps on a healthy day (Route 53 answering):
//! a dry run changes nothing, a real drill flips the controls there and back,
//! a planned failover then a failback, and the weighted apps beside them move
//! as they always did. The emulator's ARC extension serves the cluster.

#![allow(clippy::unwrap_used)]

use harness::TestEnv;
use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_core::traffic::ControlState;
use lifeboat_sandbox::estate::PRIMARY;
use lifeboat_sandbox::estate::arc::create_at_least_one_on_rule;
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

#[tokio::test]
async fn routing_control_apps_dry_run_drill_fail_over_and_back_beside_weighted_ones() {
    let mut env = TestEnv::new().await;
    let seed = env.give_routing_controls(&["search", "storefront"], None).await;
    let on = |states: &lifeboat_core::traffic::ControlStates, app: &str| {
        let pair = &seed.controls[app];
        (states.get(&pair.primary).copied(), states.get(&pair.secondary).copied())
    };
    let home = (Some(ControlState::On), Some(ControlState::Off));
    let away = (Some(ControlState::Off), Some(ControlState::On));

    // A dry run plans and changes nothing.
    let (exec, calls) = env
        .run(json!({"action": "failover", "apps": ["search", "storefront"], "dry_run": true}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(record(&exec).status, RunStatus::DryRun);
    assert_eq!(calls.get("route53recoverycluster:UpdateRoutingControlStates"), 0);
    assert_eq!(on(&env.control_states(&seed).await, "search"), home);

    // A real drill: over to us-west-2, soak, back home, in one execution.
    let (exec, calls) = env
        .run(json!({"action": "drill", "apps": ["search", "storefront"], "soak_seconds": 30}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&exec);
    assert_eq!(rec.apps.len(), 4, "two apps, two phases");
    assert!(rec.apps.iter().all(|a| a.status == AppStatus::Moved), "{:?}", rec.apps);
    // search and storefront are in one wave each way: one update a phase.
    assert_eq!(calls.get("route53recoverycluster:UpdateRoutingControlStates"), 2);
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0, "no record edited");
    let states = env.control_states(&seed).await;
    assert_eq!((on(&states, "search"), on(&states, "storefront")), (home, home));

    // A planned failover of everything: routing controls for two apps,
    // weights for the other two (payments and orders), side by side.
    let (exec, _) = env.run(json!({"action": "failover"})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let states = env.control_states(&seed).await;
    assert_eq!((on(&states, "search"), on(&states, "storefront")), (away, away));
    let weights = env.weights().await;
    assert!(
        weights
            .iter()
            .any(|(app, p, s)| app == "payments" && *p == Some(0) && *s == Some(100)),
        "{weights:?}"
    );
    assert_eq!(env.dns_answer("search").await, vec!["198.51.100.20".to_string()]);
    assert_eq!(env.dns_answer("payments").await, vec!["198.51.100.10".to_string()]);
    // Again: already there, no update at all.
    let (_, calls) = env
        .run(json!({"action": "failover", "apps": ["search", "storefront"]}))
        .await;
    assert_eq!(calls.get("route53recoverycluster:UpdateRoutingControlStates"), 0);

    // Failback: home again.
    let (exec, _) = env
        .run(json!({"action": "failback", "apps": ["search", "storefront"]}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&exec);
    assert!(
        rec.apps
            .iter()
            .all(|a| a.to_region == PRIMARY && a.routing_controls_via.as_deref() == Some(PRIMARY)),
        "failback starts with the endpoint of the Region it moves to: {:?}",
        rec.apps
    );
    let states = env.control_states(&seed).await;
    assert_eq!((on(&states, "search"), on(&states, "storefront")), (home, home));
    assert_eq!(env.dns_answer("search").await, vec!["192.0.2.20".to_string()]);
}

#[tokio::test]
async fn a_routing_control_app_that_fails_verification_gets_its_controls_back() {
    let mut env = TestEnv::new().await;
    let seed = env.give_routing_controls(&["search", "storefront"], None).await;
    // storefront's alarm in us-west-2 says it does not serve well there.
    env.fail_verification("storefront").await;
    let (exec, _) = env
        .run(json!({"action": "failover", "apps": ["search", "storefront"]}))
        .await;
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Partial);
    let status = |app: &str| rec.apps.iter().find(|a| a.app == app).unwrap().status;
    assert_eq!(
        (status("search"), status("storefront")),
        (AppStatus::Moved, AppStatus::RolledBack)
    );
    let states = env.control_states(&seed).await;
    let pair = &seed.controls["storefront"];
    assert_eq!(
        states.get(&pair.primary),
        Some(&ControlState::On),
        "storefront back home"
    );
    assert_eq!(states.get(&pair.secondary), Some(&ControlState::Off));
    assert_eq!(states.get(&seed.controls["search"].secondary), Some(&ControlState::On));
}

#[tokio::test]
async fn a_safety_rule_refusal_names_the_rule_from_arcs_message_and_an_override_overrides_it() {
    // ARC's ConflictException names the refusing rule in its message; its
    // resourceId is the routing control in use. Overriding "the resource"
    // overrode nothing, and a break-glass run was refused again.
    let mut env = TestEnv::new().await;
    let seed = env.give_routing_controls(&["storefront"], None).await;
    let pair = seed.controls["storefront"].clone();
    let panel = seed.rules["storefront"]
        .split("/safetyrule/")
        .next()
        .unwrap()
        .to_string();
    let cc = aws_sdk_route53recoverycontrolconfig::Client::new(&env.config);
    let rule = create_at_least_one_on_rule(&cc, &panel, "storefront-primary-stays-on", &[&pair.primary])
        .await
        .unwrap();

    let (exec, _) = env.run(json!({"action": "failover", "apps": ["storefront"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let cause = exec.error.as_ref().unwrap().cause.clone();
    assert!(
        cause.contains(&rule) && cause.contains("override_safety_rules"),
        "{cause}"
    );
    assert!(!cause.contains(&format!("safety rule {}", pair.primary)), "{cause}");
    assert_eq!(
        env.control_states(&seed).await.get(&pair.primary),
        Some(&ControlState::On)
    );

    let (exec, _) = env
        .run(json!({"action": "failover", "apps": ["storefront"], "override_safety_rules": true}))
        .await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    assert_eq!(record(&exec).apps[0].status, AppStatus::Moved);
    let shifted = exec
        .events
        .iter()
        .filter(|e| e.event_type == "TaskSucceeded" && e.state.as_deref() == Some("ShiftDns"))
        .map(|e| e.details.to_string())
        .collect::<String>();
    assert!(
        shifted.contains(&format!("safety rules overridden: {rule}")),
        "{shifted}"
    );
    assert_eq!(
        env.control_states(&seed).await.get(&pair.primary),
        Some(&ControlState::Off)
    );
}
