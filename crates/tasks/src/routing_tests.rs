//! Routing-control apps across the tasks, on the fakes: validate plans them
//! from ARC's data plane, shift sets their controls (idempotently, in as few
//! calls as ARC allows, past a dark endpoint, within safety rules), verify
//! reads health checks best-effort in a disaster, and a disaster run goes on
//! without Route 53's API.

use crate::app_health::{VerifyInput, check_app_health};
use crate::shift_dns::{ShiftInput, ShiftMode, shift_dns};
use crate::test_support::*;
use crate::validate::{ValidateInput, validate};
use lifeboat_core::dns::BatchLimits;
use lifeboat_core::plan::Plan;
use lifeboat_core::traffic::ControlState;
use lifeboat_core::{ErrorName, LifeboatError};
use serde_json::json;

async fn plan(s: &crate::Services, trigger: serde_json::Value) -> Result<Plan, LifeboatError> {
    validate(s.validate_ports(), ValidateInput::of(trigger))
        .await
        .map(|o| o.plan)
}

async fn shift_with(
    s: &crate::Services,
    plan: &Plan,
    mode: ShiftMode,
) -> Result<crate::shift_dns::ShiftOutput, LifeboatError> {
    shift_dns(
        &*s.dns_read,
        &*s.dns_write,
        &*s.arc,
        BatchLimits::default(),
        shift(plan, mode),
    )
    .await
}

fn shift(plan: &Plan, mode: ShiftMode) -> ShiftInput {
    ShiftInput {
        run_id: "r".into(),
        wave: plan.phases[0].waves[0].clone(),
        mode,
        verified: None,
        error: None,
        databases: None,
    }
}

#[tokio::test]
async fn a_routing_control_app_is_planned_from_its_controls_with_no_weight_change() {
    let (s, _f) = routing_control_services().await;
    let p = plan(&s, json!({"action": "failover", "apps": ["api"]})).await.unwrap();
    let api = &p.phases[0].waves[0].apps[0];
    assert!(api.dns.is_empty(), "{:?}", api.dns);
    let controls: Vec<(&str, ControlState, ControlState)> = api
        .controls
        .iter()
        .map(|c| (c.arn.as_str(), c.before, c.after))
        .collect();
    assert_eq!(
        controls,
        vec![
            (API_RC_PRIMARY, ControlState::On, ControlState::Off),
            (API_RC_SECONDARY, ControlState::Off, ControlState::On)
        ]
    );
    // The wave tries the recovery Region's endpoint first.
    let regions: Vec<&str> = p.phases[0].waves[0]
        .arc_endpoints
        .iter()
        .map(|e| e.region.as_str())
        .collect();
    assert_eq!(regions, vec!["us-west-2", "us-east-1", "eu-west-1"]);
}

#[tokio::test]
async fn shifting_sets_both_controls_in_one_call_and_a_rerun_makes_none() {
    let (s, f) = routing_control_services().await;
    let p = plan(&s, json!({"action": "failover", "apps": ["api"]})).await.unwrap();
    let out = shift_with(&s, &p, ShiftMode::Shift).await.unwrap();
    let arc = out.arc.unwrap();
    assert_eq!(
        (arc.controls_changed, arc.updates, arc.endpoint_region.as_str()),
        (2, 1, "us-west-2")
    );
    assert_eq!(f.arc.get(API_RC_PRIMARY), Some(ControlState::Off));
    assert_eq!(f.arc.get(API_RC_SECONDARY), Some(ControlState::On));
    assert!(f.r53.batches.lock().unwrap().is_empty(), "no record edited");
    let again = shift_with(&s, &p, ShiftMode::Shift).await.unwrap();
    assert_eq!(again.arc.unwrap().updates, 0);
    assert_eq!(f.arc.updates.lock().unwrap().len(), 1);
    // Rollback restores what the phase found.
    shift_with(&s, &p, ShiftMode::Rollback).await.unwrap();
    assert_eq!(f.arc.get(API_RC_PRIMARY), Some(ControlState::On));
    assert_eq!(f.arc.get(API_RC_SECONDARY), Some(ControlState::Off));
}

#[tokio::test]
async fn a_dark_endpoint_is_skipped_for_the_next_one() {
    let (s, f) = routing_control_services().await;
    let p = plan(&s, json!({"action": "failover", "apps": ["api"]})).await.unwrap();
    f.arc
        .dark_regions
        .lock()
        .unwrap()
        .extend(["us-west-2".to_string(), "us-east-1".to_string()]);
    let out = shift_with(&s, &p, ShiftMode::Shift).await.unwrap();
    assert_eq!(out.arc.unwrap().endpoint_region, "eu-west-1");
    assert_eq!(f.arc.get(API_RC_SECONDARY), Some(ControlState::On));
    // Every endpoint dark: not ready (the state machine retries), nothing changed.
    f.arc.dark_regions.lock().unwrap().push("eu-west-1".into());
    let err = shift_with(&s, &p, ShiftMode::Rollback).await.unwrap_err();
    assert_eq!(err.name, ErrorName::NotReady, "{err}");
}

#[tokio::test]
async fn a_safety_rule_refusal_names_the_rule_and_only_break_glass_overrides_it() {
    let (s, f) = routing_control_services().await;
    // An update whose end state leaves both Regions Off is what the rule refuses.
    let mut p = plan(&s, json!({"action": "failover", "apps": ["api"]})).await.unwrap();
    for c in &mut p.phases[0].waves[0].apps[0].controls {
        c.after = ControlState::Off;
    }
    let err = shift_with(&s, &p, ShiftMode::Shift).await.unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidRequest);
    assert!(err.message.contains(API_RULE), "{err}");
    assert!(err.message.contains("override_safety_rules"), "{err}");
    assert_eq!(f.arc.get(API_RC_PRIMARY), Some(ControlState::On), "nothing changed");
    p.phases[0].waves[0].override_safety_rules = true;
    let out = shift_with(&s, &p, ShiftMode::Shift).await.unwrap();
    assert_eq!(out.arc.unwrap().overridden_rules, vec![API_RULE.to_string()]);
    assert_eq!(f.arc.get(API_RC_PRIMARY), Some(ControlState::Off));
}

#[tokio::test]
async fn override_safety_rules_comes_from_a_manual_request() {
    let (s, _f) = routing_control_services().await;
    let p = plan(
        &s,
        json!({"action": "failover", "apps": ["api"], "override_safety_rules": true}),
    )
    .await
    .unwrap();
    assert!(p.phases[0].waves[0].override_safety_rules);
}

#[tokio::test]
async fn in_a_disaster_without_route53_weighted_apps_wait_and_routing_control_apps_move() {
    let (s, f) = routing_control_services().await;
    *f.r53.dark.lock().unwrap() = true;
    let p = plan(&s, json!({"action": "failover", "mode": "disaster"}))
        .await
        .unwrap();
    let moving: Vec<&str> = p.phases[0]
        .waves
        .iter()
        .flat_map(|w| w.apps.iter().map(|a| a.app.as_str()))
        .collect();
    assert_eq!(moving, vec!["api"]);
    let web = p.skipped.iter().find(|s| s.app == "web").unwrap();
    assert_eq!(web.error, Some(lifeboat_core::ErrorName::NotReady));
    assert!(web.reason.contains("Route 53's API did not answer"), "{}", web.reason);
    // Verification is the target Region's alarms: no Route 53 call at all
    // (a health check is read only for an app nothing else verifies).
    let api = p.phases[0].waves[0].apps[0].clone();
    assert!(api.verification.health_check_best_effort);
    assert_eq!(api.verification.health_check_id, None);
    let v = check_app_health(
        &*s.health,
        &*s.health_best_effort,
        &*s.alarms,
        &*s.http,
        VerifyInput { app: api, checks: 0 },
    )
    .await
    .unwrap();
    assert!(v.healthy, "{}", v.detail);
    assert!(
        v.detail.contains("alarm api-usw2-5xx OK") && !v.detail.contains("health check"),
        "{}",
        v.detail
    );
}

#[tokio::test]
async fn a_planned_move_still_needs_route53_and_no_app_that_can_move_is_not_ready() {
    let (s, f) = routing_control_services().await;
    *f.r53.dark.lock().unwrap() = true;
    let err = plan(&s, json!({"action": "failover"})).await.unwrap_err();
    assert_eq!(err.name, ErrorName::Internal, "{err}");
    let err = plan(&s, json!({"action": "failover", "apps": ["web"], "mode": "disaster"}))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::NotReady, "{err}");
    assert!(err.message.contains("no application can move now"), "{err}");
}
