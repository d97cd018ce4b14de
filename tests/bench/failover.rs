//! `make bench`: fail estates of several sizes over (and back) on the
//! emulator in its quota mode (it throttles as AWS's documented rate quotas
//! do, and lifeboat paces itself under them) and report, per run: the RTO on
//! the run's clock (waits skipped, real work and quota waits counted), AWS API
//! calls by service, calls per app, ChangeResourceRecordSets calls, the
//! throttles the emulator answered, the largest state data and the
//! execution's history events.
//!
//! LIFEBOAT_BENCH_SIZES (default `200,1000,5000`) estates over
//! LIFEBOAT_BENCH_ZONES (default 20) hosted zones and 2 tiers, one weighted A
//! record pair each, each app verified by its own alarm in the recovery
//! Region; then a 200-app estate where LIFEBOAT_BENCH_DB_APPS (default 20)
//! apps have an RDS read replica to promote and every app is verified by a
//! probe of its endpoint that fails its first two checks.

use harness::endpoint::TestEndpoint;
use harness::scale::{Scale, seed};
use harness::{moto, sdk_config, setup_config};
use lifeboat::text::calls_line;
use lifeboat_aws::CallCounter;
use lifeboat_core::calls::ApiCalls;
use lifeboat_states::{Execution, ExecutionStatus, VirtualClock};
use lifeboat_tasks::apply_registry::apply_registry;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = std::env::var("LIFEBOAT_BENCH_SIZES")
        .unwrap_or_else(|_| "200,1000,5000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let zones = env_usize("LIFEBOAT_BENCH_ZONES", 20).max(1);
    let db_apps = env_usize("LIFEBOAT_BENCH_DB_APPS", 20);
    println!(
        "{:<14} {:>6} {:>8} {:>7} {:>7} {:>9} {:>8} {:>9} {:>9} {:>8}",
        "run", "apps", "RTO s", "wall s", "calls", "calls/app", "changes", "throttled", "max KiB", "events"
    );
    for (i, apps) in sizes.iter().enumerate() {
        let estate = Scale {
            name: format!("dns{i}"),
            apps: *apps,
            zones,
            db_apps: 0,
            alarms: true,
            health_checked: 0,
            probe: None,
            detection: false,
        };
        bench(&estate, true).await?;
    }
    // Databases to promote, and verification that needs re-checks.
    let endpoint = TestEndpoint::start_failing_first(2 * 200);
    let estate = Scale {
        name: "db".into(),
        apps: 200,
        zones,
        db_apps,
        alarms: false,
        health_checked: 0,
        probe: Some(endpoint.url("/health")),
        detection: false,
    };
    bench(&estate, false).await?;
    Ok(())
}

/// The emulator's throttles so far, by quota bucket.
fn throttles() -> BTreeMap<String, u64> {
    let text = moto()
        .request("GET", "/lifeboat-emulator/quotas", "")
        .unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    report["throttled"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect()
}

/// Calls summed by service (`route53`, `dynamodb`, ...).
fn by_service(calls: &ApiCalls) -> String {
    let mut out: BTreeMap<&str, u64> = BTreeMap::new();
    for (k, n) in &calls.0 {
        *out.entry(k.split(':').next().unwrap_or(k)).or_default() += n;
    }
    out.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn bench(estate: &Scale, failback: bool) -> Result<(), Box<dyn std::error::Error>> {
    let setup = setup_config(&moto().endpoint()).await;
    let config = sdk_config(&moto().endpoint()).await;
    let seeding = Instant::now();
    let registry = seed(&setup, estate).await.map_err(|e| e.to_string())?;
    let settings = Settings {
        registry_table: format!("bench-{}-registry", estate.name),
        journal_table: format!("bench-{}-journal", estate.name),
        lease_table: format!("bench-{}-lease", estate.name),
        ..Settings::default()
    };
    let admin = AwsServicesFactory::new(setup.clone(), settings.clone(), CallCounter::new());
    let s = admin.services();
    apply_registry(&*s.registry, &registry, false).await?;
    s.journal.ensure_table().await?;
    s.lease.ensure_table().await?;
    eprintln!(
        "seeded {} apps ({} with databases) in {} zones in {:.2}s",
        estate.apps,
        estate.db_apps,
        estate.zones,
        seeding.elapsed().as_secs_f64()
    );
    let definition = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
    let mut inputs = vec![serde_json::json!({"action": "failover"})];
    if failback {
        inputs.push(serde_json::json!({"action": "failback"}));
    }
    for input in inputs {
        let action = input["action"].as_str().unwrap_or("").to_string();
        let factory = Arc::new(AwsServicesFactory::new(
            config.clone(),
            settings.clone(),
            CallCounter::new(),
        ));
        let clock = Arc::new(VirtualClock::following_real_time(chrono::Utc::now()));
        let before = throttles();
        let t = Instant::now();
        let run = lifeboat::local::run_local(&definition, input, factory.clone(), clock, None).await?;
        let secs = t.elapsed().as_secs_f64();
        let exec = match run {
            lifeboat::local::LocalRun::Ran(e) if e.status == ExecutionStatus::Succeeded => *e,
            other => return Err(format!("{} {action} did not succeed: {other:?}", estate.name).into()),
        };
        let calls = factory.run_counter.snapshot();
        let (max_data, max_state) = largest_state_data(&exec);
        // The RTO on the run's clock: from the start to the last event.
        let rto = (exec.stop_date - exec.start_date).num_milliseconds() as f64 / 1000.0;
        let after = throttles();
        let met: BTreeMap<&String, u64> = after
            .iter()
            .map(|(k, n)| (k, n - before.get(k).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        println!(
            "{:<14} {:>6} {:>8.1} {:>7.1} {:>7} {:>9.3} {:>8} {:>9} {:>9.1} {:>8}",
            format!("{}-{action}", estate.name),
            estate.apps,
            rto,
            secs,
            calls.total(),
            calls.total() as f64 / estate.apps as f64,
            calls.get("route53:ChangeResourceRecordSets"),
            met.values().sum::<u64>(),
            max_data as f64 / 1024.0,
            exec.events.len(),
        );
        println!("    by service: {}", by_service(&calls));
        println!("    throttles met: {met:?}");
        println!("    largest state: {max_state}");
        println!("    calls: {}", calls_line(&calls));
    }
    Ok(())
}

/// The largest input or output of any state (Step Functions caps them at
/// 256 KiB), and where it is: the state, and its largest fields.
fn largest_state_data(exec: &Execution) -> (usize, String) {
    let largest = exec
        .events
        .iter()
        .flat_map(|ev| {
            [ev.details.get("input"), ev.details.get("output")]
                .into_iter()
                .flatten()
                .map(move |v| (v.to_string().len(), ev.state.clone().unwrap_or_default(), v))
        })
        .max_by_key(|(n, _, _)| *n);
    let Some((n, state, v)) = largest else {
        return (0, String::new());
    };
    let mut fields: Vec<(usize, String)> = v
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, f)| (f.to_string().len(), k.clone()))
        .collect();
    fields.sort_by(|a, b| b.cmp(a));
    let fields: Vec<String> = fields
        .iter()
        .take(3)
        .map(|(n, k)| format!("{k} {:.1}", *n as f64 / 1024.0))
        .collect();
    (n, format!("{state}: {}", fields.join(", ")))
}
