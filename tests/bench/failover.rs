//! `make bench`: fail estates of several sizes over (and back) on moto server
//! and report, per size: wall-clock seconds, AWS API calls by operation,
//! calls per app, ChangeResourceRecordSets calls, the largest state data and
//! the execution's history events. Calls are the cost that matters at scale;
//! the emulator's latency (not AWS's) dominates the times.
//!
//! LIFEBOAT_BENCH_SIZES (default `200,1000,5000`) DNS-only estates over
//! LIFEBOAT_BENCH_ZONES (default 20) hosted zones and 2 tiers, one weighted A
//! record pair each; then a 200-app estate where LIFEBOAT_BENCH_DB_APPS
//! (default 20) apps have an RDS read replica to promote and every app is
//! verified by a probe of its endpoint that fails its first two checks.

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use harness::endpoint::TestEndpoint;
use harness::{moto, sdk_config};
use lifeboat::text::calls_line;
use lifeboat_aws::CallCounter;
use lifeboat_core::registry::{
    Application, BySide, Database, DatabaseKind, DnsRecordPair, HttpCheck, RecordType, RegionPair, Registry, Triggers,
    Verification,
};
use lifeboat_states::{Execution, ExecutionStatus, VirtualClock};
use lifeboat_tasks::apply_registry::apply_registry;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use std::sync::Arc;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What one estate's bench is made of.
struct Estate {
    name: String,
    apps: usize,
    zones: usize,
    db_apps: usize,
    /// Probes that fail their first checks (verification re-checks).
    probe: Option<String>,
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
        "{:<14} {:>6} {:>8} {:>7} {:>9} {:>8} {:>9} {:>8}  calls",
        "run", "apps", "seconds", "calls", "calls/app", "changes", "max KiB", "events"
    );
    for (i, apps) in sizes.iter().enumerate() {
        let estate = Estate {
            name: format!("dns{i}"),
            apps: *apps,
            zones,
            db_apps: 0,
            probe: None,
        };
        bench(&estate, true).await?;
    }
    // Databases to promote, and verification that needs re-checks.
    let endpoint = TestEndpoint::start_failing_first(2 * 200);
    let estate = Estate {
        name: "db".into(),
        apps: 200,
        zones,
        db_apps,
        probe: Some(endpoint.url("/health")),
    };
    bench(&estate, false).await?;
    Ok(())
}

async fn bench(estate: &Estate, failback: bool) -> Result<(), Box<dyn std::error::Error>> {
    let config = sdk_config(&moto().endpoint()).await;
    let seed = Instant::now();
    let registry = seed_estate(&config, estate).await?;
    let settings = Settings {
        registry_table: format!("bench-{}-registry", estate.name),
        journal_table: format!("bench-{}-journal", estate.name),
        ..Settings::default()
    };
    let admin = AwsServicesFactory::new(config.clone(), settings.clone(), CallCounter::new());
    let s = admin.services();
    apply_registry(&*s.registry, &registry, false).await?;
    s.journal.ensure_table().await?;
    eprintln!(
        "seeded {} apps ({} with databases) in {} zones in {:.2}s",
        estate.apps,
        estate.db_apps,
        estate.zones,
        seed.elapsed().as_secs_f64()
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
        let t = Instant::now();
        let run = lifeboat::local::run_local(&definition, input, factory.clone(), clock, None).await?;
        let secs = t.elapsed().as_secs_f64();
        let exec = match run {
            lifeboat::local::LocalRun::Ran(e) if e.status == ExecutionStatus::Succeeded => *e,
            other => return Err(format!("{} {action} did not succeed: {other:?}", estate.name).into()),
        };
        let calls = factory.run_counter.snapshot();
        let (max_data, max_state) = largest_state_data(&exec);
        println!(
            "{:<14} {:>6} {:>8.2} {:>7} {:>9.3} {:>8} {:>9.1} {:>8}  ({max_state}) {}",
            format!("{}-{action}", estate.name),
            estate.apps,
            secs,
            calls.total(),
            calls.total() as f64 / estate.apps as f64,
            calls.get("route53:ChangeResourceRecordSets"),
            max_data as f64 / 1024.0,
            exec.events.len(),
            calls_line(&calls)
        );
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

/// Hosted zones, weighted record pairs and (for `db_apps`) RDS read replicas;
/// returns the registry.
async fn seed_estate(config: &aws_config::SdkConfig, estate: &Estate) -> Result<Registry, Box<dyn std::error::Error>> {
    let r53 = aws_sdk_route53::Client::new(config);
    let mut zone_ids = Vec::new();
    for z in 0..estate.zones {
        let resp = r53
            .create_hosted_zone()
            .name(format!("zone{z}.{}.bench.test.", estate.name))
            .caller_reference(format!("bench-{}-{z}-{}", estate.name, std::process::id()))
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
    let mut per_zone: Vec<Vec<Change>> = vec![Vec::new(); estate.zones];
    for i in 0..estate.apps {
        let z = i % estate.zones;
        let name = format!("app{i:05}.zone{z}.{}.bench.test.", estate.name);
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
        let mut database = Database::default();
        if i < estate.db_apps {
            database = replica(config, &format!("{}-app{i}", estate.name)).await?;
        }
        let mut verification = Verification {
            deadline_seconds: 120,
            interval_seconds: 15,
            ..Verification::default()
        };
        if let Some(url) = &estate.probe {
            verification.probes.secondary = vec![HttpCheck {
                url: url.clone(),
                expect_status: 200,
            }];
        }
        registry.applications.push(Application {
            name: format!("app{i:05}"),
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
            database,
            verification,
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
    Ok(registry)
}

/// An RDS instance in us-east-1 and its read replica in us-west-2.
async fn replica(config: &aws_config::SdkConfig, id: &str) -> Result<Database, Box<dyn std::error::Error>> {
    let rds = |region: &str| {
        aws_sdk_rds::Client::from_conf(
            aws_sdk_rds::config::Builder::from(config)
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        )
    };
    let source = rds("us-east-1")
        .create_db_instance()
        .db_instance_identifier(format!("{id}-use1"))
        .tags(lifeboat::estate::managed_tag())
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("bench")
        .master_user_password("bench-only-not-a-secret")
        .backup_retention_period(1)
        .send()
        .await?;
    let arn = source
        .db_instance()
        .and_then(|d| d.db_instance_arn())
        .unwrap_or_default()
        .to_string();
    rds("us-west-2")
        .create_db_instance_read_replica()
        .db_instance_identifier(format!("{id}-usw2"))
        .tags(lifeboat::estate::managed_tag())
        .source_db_instance_identifier(arn)
        .send()
        .await?;
    Ok(Database {
        kind: DatabaseKind::RdsReplica,
        identifiers: Some(BySide {
            primary: format!("{id}-use1"),
            secondary: format!("{id}-usw2"),
        }),
        interval_seconds: 30,
        ..Database::default()
    })
}
