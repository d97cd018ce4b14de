//! The apps' own steps, end to end: hook functions (answered by the
//! emulator as their LIFEBOAT_HOOK says) invoked in the target Region at
//! their point of the move, with the documented payload, retried, and a
//! failure before traffic holding only that app back.

#![allow(clippy::unwrap_used)]

use harness::TestEnv;
use lifeboat_core::hooks::HookStatus;
use lifeboat_core::outcome::{AppStatus, RunRecord, RunStatus};
use lifeboat_core::registry::HookWhen;
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

#[tokio::test]
async fn hooks_run_in_the_target_region_at_their_point_with_the_documented_payload() {
    let env = TestEnv::new().await;
    env.give_hook("search", "pause-consumers", HookWhen::BeforeDatabase, "ok", 0)
        .await;
    env.give_hook("search", "flush-cache", HookWhen::BeforeTraffic, "fail-first:1", 2)
        .await;
    env.give_hook("search", "page-vendor", HookWhen::AfterVerify, "ok", 0)
        .await;
    let (exec, calls) = env.run(json!({"action": "failover", "apps": ["search"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);
    let rec = record(&exec);
    let search = &rec.apps[0];
    assert_eq!(search.status, AppStatus::Moved, "{}", search.detail);
    let ran: Vec<(&str, HookStatus, u32)> = search
        .hooks
        .iter()
        .map(|h| (h.name.as_str(), h.status, h.attempts))
        .collect();
    assert_eq!(
        ran,
        [
            ("pause-consumers", HookStatus::Succeeded, 1),
            ("flush-cache", HookStatus::Succeeded, 2),
            ("page-vendor", HookStatus::Succeeded, 1)
        ]
    );
    // Each ran in us-west-2, where the app moved, before the next point of the move.
    let invoked = env.invocations();
    assert_eq!(invoked.len(), 4, "{invoked:?}");
    assert!(
        invoked.iter().all(|(arn, _, _)| arn.contains(":us-west-2:")),
        "{invoked:?}"
    );
    let (_, first, _) = &invoked[0];
    for (field, want) in [
        ("source", json!("lifeboat.hook")),
        ("hook", json!("pause-consumers")),
        ("when", json!("before_database")),
        ("run_id", json!(exec.name)),
        ("app", json!("search")),
        ("action", json!("failover")),
        ("phase_action", json!("failover")),
        ("phase", json!(0)),
        ("from_region", json!("us-east-1")),
        ("to_region", json!("us-west-2")),
        ("attempt", json!(1)),
    ] {
        assert_eq!(first[field], want, "{field} in {first}");
    }
    assert_eq!(invoked[2].1["attempt"], json!(2), "the retry says which attempt it is");
    // The points in order in the execution's history: hooks, promote, hooks, shift, verify, hooks.
    let entered: Vec<&str> = exec
        .events
        .iter()
        .filter(|e| e.event_type == "TaskStateEntered")
        .filter_map(|e| e.state.as_deref())
        .filter(|s| {
            [
                "HooksBeforeDatabase",
                "PromoteDatabases",
                "HooksBeforeTraffic",
                "ShiftDns",
                "VerifyApps",
                "HooksAfterVerify",
            ]
            .contains(s)
        })
        .collect();
    assert_eq!(
        entered,
        [
            "HooksBeforeDatabase",
            "PromoteDatabases",
            "HooksBeforeTraffic",
            "ShiftDns",
            "VerifyApps",
            "HooksAfterVerify"
        ]
    );
    assert_eq!(calls.get("lambda:Invoke"), 4);
    // The report draws the hooks.
    let html = lifeboat::report::html::render(&lifeboat::report::RunReport::of(&rec));
    assert!(html.contains("seg hook"), "the timeline draws the hooks");
}

#[tokio::test]
async fn a_hook_failing_before_traffic_holds_that_app_back_and_after_verify_it_is_reported() {
    let env = TestEnv::new().await;
    env.give_hook("search", "flush-cache", HookWhen::BeforeTraffic, "fail", 1)
        .await;
    env.give_hook("storefront", "page-vendor", HookWhen::AfterVerify, "fail", 0)
        .await;
    let (exec, _) = env
        .run(json!({"action": "failover", "apps": ["search", "storefront"]}))
        .await;
    let rec = record(&exec);
    assert_eq!(rec.status, RunStatus::Partial, "{}", rec.summary);
    let search = rec.apps.iter().find(|a| a.app == "search").unwrap();
    assert_eq!(search.status, AppStatus::NotMoved);
    assert!(
        search
            .detail
            .contains("hook flush-cache (before_traffic) failed after 2 attempt(s)"),
        "{}",
        search.detail
    );
    let weights = env.weights().await;
    let (_, p, s) = weights.iter().find(|(app, _, _)| app == "search").unwrap();
    assert_eq!((*p, *s), (Some(100), Some(0)), "search's traffic stayed home");
    let storefront = rec.apps.iter().find(|a| a.app == "storefront").unwrap();
    assert_eq!(storefront.status, AppStatus::Moved, "{}", storefront.detail);
    assert_eq!(
        storefront.hooks[0].status,
        HookStatus::Failed,
        "reported, the app stays moved"
    );
    assert_eq!(
        env.invocations().len(),
        3,
        "two attempts of flush-cache, one of page-vendor"
    );
}
