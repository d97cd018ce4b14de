//! Apps in another account (issue 21, point 5): the emulator, as AWS, puts
//! an assumed role's calls in the role's account, so an estate that lives
//! in member account 222233334444 moves only if every call for it is made as
//! the member role; lifeboat's own tables stay in the account it runs in.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, sdk_config};
use lifeboat_aws::CallCounter;
use lifeboat_aws::accounts::AssumedRoles;
use lifeboat_core::hooks::HookStatus;
use lifeboat_core::outcome::{AppStatus, RunRecord};
use lifeboat_core::registry::Account;
use lifeboat_core::registry::HookWhen;
use lifeboat_sandbox::estate::accounts::{make_member_role, member_role};
use lifeboat_states::ExecutionStatus;
use serde_json::json;

fn zones_client(config: &aws_config::SdkConfig, counter: &CallCounter) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::from_conf(
        aws_sdk_route53::config::Builder::from(config)
            .interceptor(counter.clone())
            .build(),
    )
}

async fn zone_names(client: &aws_sdk_route53::Client) -> Vec<String> {
    let out = client.list_hosted_zones().send().await.unwrap();
    out.hosted_zones().iter().map(|z| z.name().to_string()).collect()
}

async fn zone_ids(config: &aws_config::SdkConfig) -> Vec<String> {
    let out = zones_client(config, &CallCounter::new())
        .list_hosted_zones()
        .send()
        .await
        .unwrap();
    out.hosted_zones()
        .iter()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .collect()
}

fn record(exec: &lifeboat_states::Execution) -> RunRecord {
    serde_json::from_value(lifeboat::run_record(exec).expect("the run records its outcome")).unwrap()
}

#[tokio::test]
async fn a_role_in_another_account_is_assumed_once_per_region_and_its_calls_land_there() {
    let base = sdk_config(&moto().endpoint()).await;
    let roles = AssumedRoles::default();
    let role = Account {
        role_arn: "arn:aws:iam::222233334444:role/lifeboat-member".into(),
        external_id: Some("lifeboat".into()),
    };
    make_member_role(moto(), &role).unwrap();
    let first = CallCounter::new();
    let member = roles.config(&base, &role, "us-west-2", &first);
    let sts = aws_sdk_sts::Client::new(&member);
    let who = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some("222233334444"));
    let zone = format!("member-{}.example.", harness::unique("z"));
    zones_client(&member, &first)
        .create_hosted_zone()
        .name(&zone)
        .caller_reference(harness::unique("ref"))
        .send()
        .await
        .unwrap();
    // Another task of the same process (or run) asks for the same role: the same session, no new AssumeRole.
    let second = CallCounter::new();
    let again = roles.config(&base, &role, "us-west-2", &second);
    assert!(zone_names(&zones_client(&again, &second)).await.contains(&zone));
    assert_eq!(first.snapshot().get("sts:AssumeRole"), 1, "{:?}", first.snapshot());
    assert_eq!(second.snapshot().get("sts:AssumeRole"), 0);
    // The account lifeboat runs in does not see the member's zone.
    assert!(
        !zone_names(&zones_client(&base, &CallCounter::new()))
            .await
            .contains(&zone)
    );
    // The session's end is known to the SDK's identity cache, which renews it
    // before then (an hour, the role's MaxSessionDuration in infra/member-role.yaml).
    use aws_credential_types::provider::ProvideCredentials;
    let creds = member
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    let left = creds
        .expiry()
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left > std::time::Duration::from_secs(3000) && left <= std::time::Duration::from_secs(3600),
        "{left:?}"
    );
    // Another Region's STS endpoint: a session of its own.
    let third = CallCounter::new();
    let east2 = roles.config(&base, &role, "us-east-2", &third);
    aws_sdk_sts::Client::new(&east2)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(third.snapshot().get("sts:AssumeRole"), 1);
}

#[tokio::test]
async fn a_member_accounts_estate_fails_over_and_back_with_every_call_made_as_its_role() {
    let env = TestEnv::in_member_account().await;
    env.give_capacity("storefront").await;
    env.give_hook("storefront", "flush-cache", HookWhen::BeforeTraffic, "ok", 0)
        .await;
    // Nothing of the estate is in the account lifeboat runs in.
    let home_zones = zone_ids(&env.home_config).await;
    assert!(
        env.estate.zones.iter().all(|(_, id)| !home_zones.contains(id)),
        "{home_zones:?}"
    );

    let (exec, calls) = env.run(json!({"action": "failover", "mode": "disaster"})).await;
    assert_eq!(exec.status, ExecutionStatus::Succeeded, "{:?}", exec.error);

    let rec = record(&exec);
    assert_eq!(rec.apps.len(), env.estate.registry.applications.len());
    for app in &rec.apps {
        assert_eq!(app.status, AppStatus::Moved, "{}: {}", app.app, app.detail);
        assert_eq!(app.account.as_deref(), Some("222233334444"), "{}", app.app);
    }
    // The report says whose account each app is in.
    let html = lifeboat::report::html::render(&lifeboat::report::RunReport::of(&rec));
    assert!(
        html.contains("(account 222233334444)"),
        "the report names the member account"
    );
    // Records, capacity, hook and databases all changed in the member account.
    assert!(env.all_weights_are(0, 100).await, "{:?}", env.weights().await);
    let storefront = rec.apps.iter().find(|a| a.app == "storefront").unwrap();
    assert!(!storefront.capacity.is_empty(), "{storefront:?}");
    assert_eq!(storefront.hooks[0].status, HookStatus::Succeeded);
    assert!(
        env.invocations()
            .iter()
            .any(|(arn, _, _)| arn.starts_with("arn:aws:lambda:us-west-2:222233334444:function:")),
        "the hook ran in the member account"
    );
    assert!(env.global_writer_in_recovery_region("payments").await);
    // The role is assumed once for the run (its session kept by the process).
    assert_eq!(calls.get("sts:AssumeRole"), 1, "{calls:?}");

    // us-east-1 recovers: Aurora rejoins the member's old primary,
    // pending-resync at the first look: validate's preflight, reading it as
    // the role, refuses the failback before anything changes; then it is
    // connected and the failback goes.
    env.primary_region_recovers();
    let (refused, _) = env.run(json!({"action": "failback"})).await;
    assert_eq!(refused.status, ExecutionStatus::Failed);
    assert!(
        refused.error.as_ref().unwrap().cause.contains("pending-resync"),
        "{:?}",
        refused.error
    );
    let (back, calls) = env.run(json!({"action": "failback"})).await;
    assert_eq!(back.status, ExecutionStatus::Succeeded, "{:?}", back.error);
    // Home, but for orders: a restored backup has no way back but a rebuild.
    let weights = env.weights().await;
    for (app, primary, secondary) in &weights {
        let want = if app == "orders" { (0, 100) } else { (100, 0) };
        assert_eq!(
            (*primary, *secondary),
            (Some(want.0), Some(want.1)),
            "{app}: {weights:?}"
        );
    }
    assert_eq!(calls.get("rds:SwitchoverGlobalCluster"), 1, "{calls:?}");
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_refuses_the_run_before_anything_changes() {
    let env = TestEnv::in_member_account().await;
    // The member role now trusts another account: AccessDenied for lifeboat.
    let role = member_role(&env.namespace);
    moto()
        .request(
            "POST",
            "/lifeboat-emulator/sts/roles",
            &json!({"role_arn": role.role_arn, "trusted_account": "999999999999", "external_id": "lifeboat"})
                .to_string(),
        )
        .unwrap();
    let (exec, _) = env.run(json!({"action": "failover"})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let text = format!("{:?}", exec.error);
    assert!(
        text.contains("cannot be assumed") && text.contains(&role.role_arn) && text.contains("AccessDenied"),
        "{text}"
    );
    assert!(env.all_weights_are(100, 0).await, "nothing moved");
    // Readiness says the same, app by app.
    let ev = lifeboat_tasks::readiness::evaluate(&env.admin(), chrono::Utc::now())
        .await
        .unwrap();
    assert!(ev.apps.iter().all(|a| !a.ready), "{ev:?}");
    assert!(
        ev.apps[0].reasons[0].starts_with(&format!("account: role {} cannot be assumed", role.role_arn)),
        "{:?}",
        ev.apps[0].reasons
    );
}

#[tokio::test]
async fn validate_looks_for_a_member_apps_alarms_in_its_account_not_lifeboats() {
    let env = TestEnv::in_member_account().await;
    // An alarm of that name exists, but in the account lifeboat runs in.
    let name = format!("{}-lifeboats-own-alarm", env.namespace);
    lifeboat_sandbox::estate::create_ok_alarm(&env.home_config, "us-west-2", &name)
        .await
        .unwrap();
    let wanted = name.clone();
    env.update_app("search", |a| a.verification.alarms.secondary = vec![wanted])
        .await;
    let (exec, calls) = env.run(json!({"action": "failover", "apps": ["search"]})).await;
    assert_eq!(exec.status, ExecutionStatus::Failed);
    let cause = exec.error.as_ref().unwrap().cause.clone();
    assert!(
        cause.contains(&format!("search: verification alarm {name} not found in us-west-2")),
        "{cause}"
    );
    assert_eq!(calls.get("route53:ChangeResourceRecordSets"), 0, "nothing changed");
    assert!(env.all_weights_are(100, 0).await);
}
