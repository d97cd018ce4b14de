//! The sample estate on the local emulator: hosted zones, weighted records
//! with health checks, alarms, databases and (for some tests) routing
//! controls, and the registry that names them. The demo, the tests' harness
//! and the benchmarks build on it; `demo` narrates what a run does with it.

pub mod accounts;
pub mod arc;
pub mod capacity;
mod databases;
mod events;
pub mod hooks;
pub use databases::seed_docdb_global;
mod resources;
mod sample;

pub use events::alarm_event;
pub use lifeboat_aws::rds::managed_tag;
pub(crate) use resources::{change_record_sets, create_health_check};
pub use resources::{
    cname_value, create_ok_alarm, put_docdb_replication_lag, put_rds_metric, put_replication_lag, set_alarm,
};
pub use sample::{DEMO_MAX_RPO_SECONDS, DEMO_REPLICATION_LAG_MS};

use aws_config::SdkConfig;
use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType, ResourceRecord, ResourceRecordSet, RrType};
use databases::seed_databases;
use lifeboat_core::registry::{Registry, parse_registry_value};
use resources::create_record_sets;
use sample::{SAMPLE_APPS, SAMPLE_ZONES, SeededApp, sample_registry, short_region};

/// The Region the orchestrator runs in for the demo (the recovery Region).
pub const DEMO_REGION: &str = "us-west-2";
pub const PRIMARY: &str = "us-east-1";
pub const SECONDARY: &str = "us-west-2";
/// The alarm whose ALARM state fails every demo application over.
pub const REGION_ALARM: &str = "use1-region-health";

/// A seeded sample estate.
#[derive(Debug, Clone)]
pub struct Estate {
    /// The alarm (in the primary Region) whose ALARM fails every app over.
    pub trigger_alarm: String,
    pub registry: Registry,
    pub registry_yaml: String,
    /// (zone name, zone id)
    pub zones: Vec<(String, String)>,
    pub health_checks: usize,
    pub alarms: usize,
    pub databases: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("seeding the sample estate failed: {0}")]
pub struct SeedError(pub String);

/// Says which seeding step failed, with the error's whole chain of causes.
pub(crate) fn seed_err<E: std::error::Error>(what: impl Into<String>) -> impl FnOnce(E) -> SeedError {
    let what = what.into();
    move |e| {
        SeedError(format!(
            "{what}: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ))
    }
}

/// Creates the sample estate: 2 hosted zones, 4 applications with weighted
/// pairs at 100/0 and a health check per record, verification alarms in both
/// Regions, the trigger alarm, an Aurora global database (payments) and an RDS
/// instance with backups replicated to the recovery Region (orders); returns
/// its registry.
/// `namespace` prefixes alarm names so several estates can share one emulator.
pub async fn seed_estate(config: &SdkConfig, namespace: &str) -> Result<Estate, SeedError> {
    let prefix = if namespace.is_empty() {
        String::new()
    } else {
        format!("{namespace}-")
    };
    let ns = |name: &str| format!("{prefix}{name}");
    let r53 = aws_sdk_route53::Client::new(config);
    let mut zones = Vec::new();
    for (i, z) in SAMPLE_ZONES.iter().enumerate() {
        let resp = r53
            .create_hosted_zone()
            .name(*z)
            .caller_reference(format!(
                "lifeboat-{namespace}-zone-{i}-{}",
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ))
            .send()
            .await
            .map_err(seed_err(format!("CreateHostedZone {z}")))?;
        let id = resp
            .hosted_zone()
            .map(|h| h.id().trim_start_matches("/hostedzone/").to_string())
            .unwrap_or_default();
        zones.push((z.to_string(), id));
    }
    let mut health_checks = 0;
    let mut alarms = 0;
    let mut seeded = Vec::new();
    for app in &SAMPLE_APPS {
        let zone_id = &zones[app.zone].1;
        let mut records = Vec::new();
        let mut hc_ids = Vec::new();
        for (side, region) in [PRIMARY, SECONDARY].iter().enumerate() {
            let fqdn = format!("{}-{}.example.net", app.name, short_region(region));
            let hc_id = create_health_check(
                &r53,
                &format!("{namespace}-{}-{region}", app.name),
                HealthCheckConfig::builder()
                    .r#type(HealthCheckType::Https)
                    .fully_qualified_domain_name(&fqdn)
                    .port(443)
                    .resource_path("/health")
                    .build()
                    .map_err(seed_err("health check config"))?,
            )
            .await?;
            health_checks += 1;
            hc_ids.push(hc_id.clone());
            let rrs = ResourceRecordSet::builder()
                .name(app.record)
                .r#type(RrType::from(app.record_type.as_str()))
                .set_identifier(format!("{}-{}", app.name, short_region(region)))
                .weight(if side == 0 { 100 } else { 0 })
                .ttl(60)
                .resource_records(
                    ResourceRecord::builder()
                        .value(app.values[side])
                        .build()
                        .map_err(seed_err("record value"))?,
                )
                .health_check_id(hc_id)
                .build()
                .map_err(seed_err("record set"))?;
            records.push(rrs);
        }
        create_record_sets(&r53, zone_id, records, &format!("creating records of {}", app.name)).await?;
        for region in [PRIMARY, SECONDARY] {
            create_ok_alarm(
                config,
                region,
                &ns(&format!("{}-{}-errors", app.name, short_region(region))),
            )
            .await?;
            alarms += 1;
        }
        // Its own trigger alarm (the registry names it), in the primary Region.
        create_ok_alarm(config, PRIMARY, &ns(&format!("{}-use1-5xx", app.name))).await?;
        alarms += 1;
        seeded.push(SeededApp {
            app,
            zone_id,
            health_checks: [hc_ids[0].clone(), hc_ids[1].clone()],
        });
    }
    let databases = seed_databases(config, &prefix, &zones).await?;
    let trigger_alarm = ns(REGION_ALARM);
    create_ok_alarm(config, PRIMARY, &trigger_alarm).await?;
    alarms += 1;
    // The same checks `registry apply` makes: a sample that drifts from the
    // schema fails here, not in a run.
    let registry = sample_registry(&prefix, &trigger_alarm, &seeded);
    let value = serde_json::to_value(&registry).map_err(|e| SeedError(format!("sample registry: {e}")))?;
    let registry = parse_registry_value(&value).map_err(|e| SeedError(format!("sample registry is invalid: {e}")))?;
    let yaml = registry
        .to_yaml()
        .map_err(|e| SeedError(format!("sample registry as YAML: {e}")))?;
    Ok(Estate {
        trigger_alarm,
        registry,
        registry_yaml: format!("# Generated by `lifeboat demo` for the local emulator's zone ids.\n{yaml}"),
        zones,
        health_checks,
        alarms,
        databases,
    })
}
