//! Readiness against the emulator: a healthy estate is ready; a lag over
//! budget, a deleted record, a changed weight and a stopped standby each make
//! exactly that app not ready, with the reason.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, run_cli};
use lifeboat_tasks::readiness::{Evaluation, evaluate};

async fn eval(env: &TestEnv) -> Evaluation {
    evaluate(&env.admin(), chrono::Utc::now()).await.unwrap()
}

/// The one app not ready, and its reasons.
fn only_not_ready(ev: &Evaluation) -> (String, String) {
    let bad = ev.not_ready();
    assert_eq!(bad.len(), 1, "exactly one app not ready: {ev:#?}");
    (bad[0].app.clone(), bad[0].reasons.join("; "))
}

#[tokio::test]
async fn a_healthy_estate_is_ready_recorded_and_published() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    // Before any evaluation: says how to get one.
    let (code, _, stderr) = run_cli(&endpoint, &env.settings, &["readiness"], None);
    assert_eq!(code, 1);
    assert!(stderr.contains("lifeboat readiness --now"), "{stderr}");
    let (code, stdout, stderr) = run_cli(&endpoint, &env.settings, &["readiness", "--now"], None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("4/4 apps ready"), "{stdout}");
    // payments' RPO at risk: its global database's lag (1.8 s, seeded).
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["--output", "json", "readiness"], None);
    assert_eq!(code, 0);
    let ev: Evaluation = serde_json::from_str(&stdout).unwrap();
    assert_eq!(ev.apps.len(), 4);
    let payments = ev.apps.iter().find(|a| a.app == "payments").unwrap();
    assert!(
        (payments.rpo_at_risk_seconds.unwrap() - 1.8).abs() < 0.01,
        "{payments:?}"
    );
    assert_eq!(payments.next_move, "failover to us-west-2");
    assert!(payments.last_good.is_some());
    // One record per app in the journal; the metrics in CloudWatch.
    let docs = env
        .admin()
        .journal
        .get_docs(lifeboat_tasks::readiness::READINESS_RUN, "app#")
        .await
        .unwrap();
    assert_eq!(docs.len(), 4);
    let cw = aws_sdk_cloudwatch::Client::new(&env.config);
    let metrics = cw
        .list_metrics()
        .namespace(lifeboat_tasks::readiness::NAMESPACE)
        .send()
        .await
        .unwrap();
    let names: std::collections::BTreeSet<&str> = metrics.metrics().iter().filter_map(|m| m.metric_name()).collect();
    assert!(
        names.contains("Ready") && names.contains("NotReadyApps") && names.contains("ReplicationLagSeconds"),
        "{names:?}"
    );
}

#[tokio::test]
async fn a_lag_over_the_rpo_budget_makes_that_app_not_ready_and_the_trend_shows() {
    let env = TestEnv::new().await;
    let first = eval(&env).await;
    lifeboat_tasks::readiness::record(&env.admin(), &first, lifeboat_sandbox::estate::SECONDARY)
        .await
        .unwrap();
    lifeboat_sandbox::estate::put_replication_lag(
        &env.config,
        &env.db_id("payments", lifeboat_sandbox::estate::SECONDARY),
        45_000.0,
    )
    .await
    .unwrap();
    let ev = eval(&env).await;
    let (app, why) = only_not_ready(&ev);
    assert_eq!(app, "payments");
    assert!(
        why.contains("replication lag 45.0 s is over max_rpo_seconds 30"),
        "{why}"
    );
    let payments = ev.apps.iter().find(|a| a.app == "payments").unwrap();
    assert_eq!(payments.lag_trend.as_deref(), Some("rising"), "{payments:?}");
    // Last good: the first evaluation's time.
    assert_eq!(payments.last_good, Some(first.evaluated_at));
}

#[tokio::test]
async fn a_deleted_record_makes_that_app_not_ready() {
    let env = TestEnv::new().await;
    env.edit_record("storefront", "storefront-usw2", None).await;
    let (app, why) = only_not_ready(&eval(&env).await);
    assert_eq!(app, "storefront");
    assert!(
        why.contains("record www.example.org. CNAME (set identifier storefront-usw2) not found"),
        "{why}"
    );
}

#[tokio::test]
async fn a_weight_changed_outside_lifeboat_is_named() {
    let env = TestEnv::new().await;
    env.edit_record("search", "search-use1", Some(50)).await;
    let (app, why) = only_not_ready(&eval(&env).await);
    assert_eq!(app, "search");
    assert!(why.contains("has weights 50/0 (primary/secondary), not 100/0"), "{why}");
    assert!(why.contains("changed outside lifeboat"), "{why}");
}

#[tokio::test]
async fn a_stopped_standby_makes_that_app_not_ready() {
    let env = TestEnv::new().await;
    let standby = env.db_id("payments", lifeboat_sandbox::estate::SECONDARY);
    let rds = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(&env.config)
            .region(aws_config::Region::new(lifeboat_sandbox::estate::SECONDARY))
            .build(),
    );
    rds.stop_db_cluster()
        .db_cluster_identifier(&standby)
        .send()
        .await
        .unwrap();
    let (app, why) = only_not_ready(&eval(&env).await);
    assert_eq!(app, "payments");
    assert!(
        why.contains(&format!("cluster {standby} in us-west-2 is stopped")),
        "{why}"
    );
}

/// The stack's lists are what its policies grant: an app whose hosted zone
/// is not in HostedZoneIds is not ready (its change would be AccessDenied),
/// and the same plan is refused before anything changes.
#[tokio::test]
async fn an_app_outside_what_the_stack_grants_is_not_ready_and_its_run_is_refused() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    // The estate's first zone alone is deployed: the second's app is outside.
    let (granted, outside) = (&env.estate.zones[0].1, &env.estate.zones[1].1);
    let deployed = [("LIFEBOAT_DEPLOYED_HOSTED_ZONES", granted.as_str())];
    let (code, stdout, stderr) =
        harness::run_cli_with_env(&endpoint, &env.settings, &["readiness", "--now"], None, &deployed);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let zone = outside.trim_start_matches("/hostedzone/");
    assert!(
        stdout.contains(&format!("hosted zone {zone} is not in the stack's HostedZoneIds")),
        "{stdout}"
    );
    let (code, stdout, stderr) = harness::run_cli_with_env(
        &endpoint,
        &env.settings,
        &["plan", "--action", "failover"],
        None,
        &deployed,
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("not in the stack's HostedZoneIds"), "{stderr}");
}
