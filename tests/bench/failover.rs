//! `make bench`: fail a large estate over and back on moto server and report
//! wall-clock time and AWS API calls. Calls are the cost that matters at
//! scale; the emulator's latency (not AWS's) dominates the times.
//!
//! LIFEBOAT_BENCH_APPS (default 200) apps, spread over LIFEBOAT_BENCH_ZONES
//! (default 4) hosted zones and 2 tiers, one weighted A record pair each.

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use harness::{moto, sdk_config};
use lifeboat::report::{apply_registry, calls_line};
use lifeboat_aws::CallCounter;
use lifeboat_core::registry::{
    Application, BySide, Database, DnsRecordPair, RecordType, RegionPair, Registry, Triggers, Verification,
};
use lifeboat_states::VirtualClock;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use std::sync::Arc;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let apps = env_usize("LIFEBOAT_BENCH_APPS", 200);
    let zones = env_usize("LIFEBOAT_BENCH_ZONES", 4).max(1);
    let config = sdk_config(&moto().endpoint()).await;
    let r53 = aws_sdk_route53::Client::new(&config);

    let seed = Instant::now();
    let mut zone_ids = Vec::new();
    for z in 0..zones {
        let resp = r53
            .create_hosted_zone()
            .name(format!("zone{z}.bench.test."))
            .caller_reference(format!("bench-{z}-{}", std::process::id()))
            .send()
            .await?;
        zone_ids.push(
            resp.hosted_zone()
                .map(|h| h.id().trim_start_matches("/hostedzone/").to_string())
                .unwrap_or_default(),
        );
    }
    let mut registry = Registry {
        version: 1,
        routing_control_cluster: None,
        applications: Vec::new(),
    };
    let mut per_zone: Vec<Vec<Change>> = vec![Vec::new(); zones];
    for i in 0..apps {
        let z = i % zones;
        let name = format!("app{i:04}.zone{z}.bench.test.");
        for (side, set, weight) in [(0, format!("app{i}-p"), 100), (1, format!("app{i}-s"), 0)] {
            let rrs = ResourceRecordSet::builder()
                .name(&name)
                .r#type(RrType::A)
                .set_identifier(set)
                .weight(weight)
                .ttl(60)
                .resource_records(
                    ResourceRecord::builder()
                        .value(format!("192.0.{side}.{}", i % 250 + 1))
                        .build()?,
                )
                .build()?;
            per_zone[z].push(
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(rrs)
                    .build()?,
            );
        }
        registry.applications.push(Application {
            name: format!("app{i:04}"),
            tier: (i % 2) as u32,
            depends_on: vec![],
            regions: RegionPair {
                primary: "us-east-1".into(),
                secondary: "us-west-2".into(),
            },
            dns: vec![DnsRecordPair {
                hosted_zone_id: zone_ids[z].clone(),
                name,
                record_type: RecordType::A,
                set_identifiers: BySide {
                    primary: format!("app{i}-p"),
                    secondary: format!("app{i}-s"),
                },
                active_weight: 100,
                standby_weight: 0,
            }],
            database: Database::default(),
            verification: Verification::default(),
            triggers: Triggers {
                alarms: vec!["bench-region-health".into()],
                insufficient_data: Default::default(),
            },
            traffic: Default::default(),
            detection: None,
        });
    }
    for (z, changes) in per_zone.into_iter().enumerate() {
        for chunk in changes.chunks(400) {
            r53.change_resource_record_sets()
                .hosted_zone_id(&zone_ids[z])
                .change_batch(ChangeBatch::builder().set_changes(Some(chunk.to_vec())).build()?)
                .send()
                .await?;
        }
    }
    let settings = Settings {
        registry_table: "bench-registry".into(),
        journal_table: "bench-journal".into(),
        ..Settings::default()
    };
    let admin = AwsServicesFactory::new(config.clone(), settings.clone(), CallCounter::new());
    let s = admin.services();
    apply_registry(&*s.registry, &registry, false).await?;
    s.journal.ensure_table().await?;
    println!(
        "seeded {apps} apps in {zones} zones in {:.2}s",
        seed.elapsed().as_secs_f64()
    );

    let definition = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
    println!(
        "{:<10} {:>6} {:>8} {:>7} {:>12} {:>10} {:>13}  calls",
        "run", "apps", "seconds", "calls", "calls/app", "changes", "max data KiB"
    );
    for input in [
        serde_json::json!({"action": "failover"}),
        serde_json::json!({"action": "failback"}),
    ] {
        let action = input["action"].as_str().unwrap_or("").to_string();
        let factory = Arc::new(AwsServicesFactory::new(
            config.clone(),
            settings.clone(),
            CallCounter::new(),
        ));
        let clock = Arc::new(VirtualClock::following_real_time(chrono::Utc::now()));
        let t = Instant::now();
        let run = lifeboat::local::run_local(&definition, input, factory.clone(), clock, None).await?;
        let secs = t.elapsed().as_secs_f64();
        let ok = matches!(&run, lifeboat::local::LocalRun::Ran(e) if e.status == lifeboat_states::ExecutionStatus::Succeeded);
        if !ok {
            return Err(format!("{action} did not succeed: {run:?}").into());
        }
        let calls = factory.run_counter.snapshot();
        // Step Functions caps a state's input or output at 256 KiB: the plan travels in them.
        if let lifeboat::local::LocalRun::Ran(e) = &run
            && let Some(plan) = e
                .events
                .iter()
                .find(|ev| ev.event_type == "TaskSucceeded" && ev.state.as_deref() == Some("Validate"))
                .and_then(|ev| ev.details["output"].get("plan").cloned())
        {
            eprintln!(
                "{action}: the plan is {:.1} KiB",
                plan.to_string().len() as f64 / 1024.0
            );
        }
        let (max_data, max_state) = match &run {
            lifeboat::local::LocalRun::Ran(e) => e
                .events
                .iter()
                .flat_map(|ev| {
                    [ev.details.get("input"), ev.details.get("output")]
                        .into_iter()
                        .flatten()
                        .map(move |v| (v.to_string().len(), ev.state.clone().unwrap_or_default()))
                })
                .max()
                .unwrap_or_default(),
            lifeboat::local::LocalRun::Duplicate { .. } => (0, String::new()),
        };
        println!(
            "{:<10} {:>6} {:>8.2} {:>7} {:>12.2} {:>10} {:>13.1}  ({max_state}) {}",
            action,
            apps,
            secs,
            calls.total(),
            calls.total() as f64 / apps as f64,
            calls.get("route53:ChangeResourceRecordSets"),
            max_data as f64 / 1024.0,
            calls_line(&calls)
        );
    }
    Ok(())
}
