//! `lifeboat demo`: a sample estate on a local AWS emulator, failed over by a
//! real CloudWatch Alarm State Change event and failed back by a manual
//! request, through the same state machine definition that runs on AWS.

use crate::emulator::{MotoServer, find_moto_server};
use crate::report::{calls_line, weight_rows, weights_table};
use crate::{CliError, EXIT_OK, OutputFormat, exit_code, local, progress, run_record};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecord, ResourceRecordSet, RrType,
};
use lifeboat_aws::CallCounter;
use lifeboat_core::registry::{Registry, parse_registry};
use lifeboat_states::VirtualClock;
use lifeboat_tasks::apply_registry::apply_registry;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

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

/// An app of the sample estate: (name, tier, depends_on, zone index, record name, type, primary value, secondary value)
struct SampleApp {
    name: &'static str,
    tier: u32,
    depends_on: &'static [&'static str],
    zone: usize,
    record: &'static str,
    record_type: &'static str,
    values: [&'static str; 2],
    database: &'static str,
}

const SAMPLE_ZONES: [&str; 2] = ["example.com.", "example.org."];
const SAMPLE_APPS: [SampleApp; 4] = [
    SampleApp {
        name: "payments",
        tier: 0,
        depends_on: &[],
        zone: 0,
        record: "payments.example.com.",
        record_type: "A",
        values: ["192.0.2.10", "198.51.100.10"],
        database: "aurora-global",
    },
    SampleApp {
        name: "search",
        tier: 1,
        depends_on: &[],
        zone: 0,
        record: "search.example.com.",
        record_type: "A",
        values: ["192.0.2.20", "198.51.100.20"],
        database: "none",
    },
    SampleApp {
        name: "storefront",
        tier: 1,
        depends_on: &[],
        zone: 1,
        record: "www.example.org.",
        record_type: "CNAME",
        values: ["storefront-use1.example.org", "storefront-usw2.example.org"],
        database: "none",
    },
    SampleApp {
        name: "orders",
        tier: 1,
        depends_on: &["payments"],
        zone: 0,
        record: "orders.example.com.",
        record_type: "A",
        values: ["192.0.2.30", "198.51.100.30"],
        database: "rds-backup",
    },
];

fn short_region(r: &str) -> &'static str {
    if r == PRIMARY { "use1" } else { "usw2" }
}

/// The registry's `database:` block of a sample app; `p` is the namespace prefix.
fn database_yaml(app: &SampleApp, p: &str, zone_id: &str) -> String {
    let name = app.name;
    match app.database {
        "aurora-global" => format!(
            "    database:\n      kind: aurora-global\n      global_cluster_id: {p}{name}-global\n      identifiers: {{ primary: {p}{name}-use1, secondary: {p}{name}-usw2 }}\n      max_rpo_seconds: {DEMO_MAX_RPO_SECONDS}\n      deadline_seconds: 600\n      interval_seconds: 20\n      endpoint_record: {{ hosted_zone_id: {zone_id}, name: {} }}\n",
            endpoint_record_name(app)
        ),
        "rds-backup" => format!(
            "    database:\n      kind: rds-backup\n      identifiers: {{ primary: {p}{name}-use1, secondary: {p}{name}-usw2 }}\n      restore: {{ instance_class: db.r6g.large, parameter_group: {p}{name}-restore }}\n      deadline_seconds: 1800\n      interval_seconds: 60\n"
        ),
        kind => format!("    database: {{ kind: {kind} }}\n"),
    }
}

/// The CNAME clients use for an app's database writer (`payments-db.example.com.`).
fn endpoint_record_name(app: &SampleApp) -> String {
    format!("{}-db.{}", app.name, SAMPLE_ZONES[app.zone])
}

/// The RPO budget of the sample Aurora global database, and the replication lag seeded for it.
pub const DEMO_MAX_RPO_SECONDS: u32 = 30;
pub const DEMO_REPLICATION_LAG_MS: f64 = 1800.0;

fn rds(config: &SdkConfig, region: &str) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    )
}

/// Each registry endpoint record and its current value.
async fn endpoint_values(
    config: &SdkConfig,
    apps: &[lifeboat_core::registry::Application],
) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for a in apps {
        if let Some(rec) = &a.database.endpoint_record {
            let name = lifeboat_core::registry::normalize_record_name(&rec.name);
            out.push((name.clone(), cname_value(config, &rec.hosted_zone_id, &name).await));
        }
    }
    out
}

/// A simple-routing CNAME, as clients would use for a database writer.
async fn create_cname(config: &SdkConfig, zone_id: &str, name: &str, value: &str) -> Result<(), SeedError> {
    let rrs = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(seed_err("record value"))?,
        )
        .build()
        .map_err(seed_err("record set"))?;
    create_record_sets(
        &aws_sdk_route53::Client::new(config),
        zone_id,
        vec![rrs],
        &format!("creating {name} CNAME"),
    )
    .await
}

/// CREATEs record sets in one ChangeBatch; `what` names the step in an error.
async fn create_record_sets(
    r53: &aws_sdk_route53::Client,
    zone_id: &str,
    records: Vec<ResourceRecordSet>,
    what: &str,
) -> Result<(), SeedError> {
    change_record_sets(r53, zone_id, ChangeAction::Create, records, what).await
}

/// Sends record sets with one action in one ChangeBatch; `what` names the step in an error.
pub(crate) async fn change_record_sets(
    r53: &aws_sdk_route53::Client,
    zone_id: &str,
    action: ChangeAction,
    records: Vec<ResourceRecordSet>,
    what: &str,
) -> Result<(), SeedError> {
    let changes = records
        .into_iter()
        .map(|rrs| {
            Change::builder()
                .action(action.clone())
                .resource_record_set(rrs)
                .build()
                .map_err(seed_err("change"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    r53.change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .map_err(seed_err("change batch"))?,
        )
        .send()
        .await
        .map_err(seed_err(what))?;
    Ok(())
}

/// The value of a simple-routing CNAME (a database endpoint record), if any.
pub async fn cname_value(config: &SdkConfig, zone_id: &str, name: &str) -> Option<String> {
    let resp = aws_sdk_route53::Client::new(config)
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(name)
        .start_record_type(RrType::Cname)
        .max_items(1)
        .send()
        .await
        .ok()?;
    resp.resource_record_sets()
        .iter()
        .find(|r| r.name() == name && r.r#type() == &RrType::Cname && r.set_identifier().is_none())
        .and_then(|r| r.resource_records().first())
        .map(|v| v.value().to_string())
}

/// Sets the replication lag CloudWatch reports for an Aurora global database's
/// secondary cluster (AuroraGlobalDBReplicationLag, milliseconds, now).
pub async fn put_replication_lag(config: &SdkConfig, cluster: &str, lag_ms: f64) -> Result<(), SeedError> {
    put_rds_metric(
        config,
        "AuroraGlobalDBReplicationLag",
        ("DBClusterIdentifier", cluster),
        lag_ms,
        aws_sdk_cloudwatch::types::StandardUnit::Milliseconds,
    )
    .await
}

/// One datapoint, now, of an `AWS/RDS` metric in the recovery Region (as RDS would publish it).
pub async fn put_rds_metric(
    config: &SdkConfig,
    metric: &str,
    (dimension, id): (&str, &str),
    value: f64,
    unit: aws_sdk_cloudwatch::types::StandardUnit,
) -> Result<(), SeedError> {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    cloudwatch(config, SECONDARY)
        .put_metric_data()
        .namespace("AWS/RDS")
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(Dimension::builder().name(dimension).value(id).build())
                .value(value)
                .unit(unit)
                .timestamp(aws_smithy_types::DateTime::from_secs(chrono::Utc::now().timestamp()))
                .build(),
        )
        .send()
        .await
        .map_err(seed_err(format!("PutMetricData {metric} of {id}")))?;
    Ok(())
}

/// The sample databases: an Aurora global database (writer in the primary
/// Region, a secondary cluster in the recovery Region, a little replication
/// lag) and an RDS instance whose automated backups replicate to the recovery
/// Region. Returns how many databases it created.
/// The tag lifeboat's IAM policy requires on the databases it changes.
pub fn managed_tag() -> aws_sdk_rds::types::Tag {
    aws_sdk_rds::types::Tag::builder()
        .key(lifeboat_aws::rds::MANAGED_TAG)
        .value("true")
        .build()
}

async fn seed_databases(config: &SdkConfig, p: &str, zones: &[(String, String)]) -> Result<usize, SeedError> {
    let (east, west) = (rds(config, PRIMARY), rds(config, SECONDARY));
    let mut created = 0;
    for app in &SAMPLE_APPS {
        let name = format!("{p}{}", app.name);
        match app.database {
            "aurora-global" => {
                let global = format!("{name}-global");
                east.create_global_cluster()
                    .global_cluster_identifier(&global)
                    .engine("aurora-postgresql")
                    .engine_version("15.4")
                    .send()
                    .await
                    .map_err(seed_err(format!("CreateGlobalCluster {global}")))?;
                for (client, region) in [(&east, PRIMARY), (&west, SECONDARY)] {
                    let id = format!("{name}-{}", short_region(region));
                    let created_cluster = client
                        .create_db_cluster()
                        .db_cluster_identifier(&id)
                        .engine("aurora-postgresql")
                        .engine_version("15.4")
                        .global_cluster_identifier(&global)
                        .tags(managed_tag())
                        // moto asks every cluster for a master user; AWS only the primary.
                        .master_username("lifeboat")
                        .master_user_password("demo-only-not-a-secret")
                        .send()
                        .await
                        .map_err(seed_err(format!("CreateDBCluster {id} in {region}")))?;
                    created += 1;
                    let endpoint = created_cluster.db_cluster().and_then(|c| c.endpoint());
                    if let (PRIMARY, Some(endpoint)) = (region, endpoint) {
                        create_cname(config, &zones[app.zone].1, &endpoint_record_name(app), endpoint).await?;
                    }
                }
                put_replication_lag(config, &format!("{name}-usw2"), DEMO_REPLICATION_LAG_MS).await?;
            }
            "rds-backup" => {
                let id = format!("{name}-use1");
                let source = east
                    .create_db_instance()
                    .db_instance_identifier(&id)
                    .engine("postgres")
                    .db_instance_class("db.t3.micro")
                    .allocated_storage(20)
                    .master_username("lifeboat")
                    .master_user_password("demo-only-not-a-secret")
                    .backup_retention_period(7)
                    .tags(managed_tag())
                    .send()
                    .await
                    .map_err(seed_err(format!("CreateDBInstance {id}")))?;
                created += 1;
                let arn = source
                    .db_instance()
                    .and_then(|d| d.db_instance_arn())
                    .unwrap_or_default()
                    .to_string();
                west.start_db_instance_automated_backups_replication()
                    .source_db_instance_arn(&arn)
                    .backup_retention_period(7)
                    .send()
                    .await
                    .map_err(seed_err(format!("StartDBInstanceAutomatedBackupsReplication {id}")))?;
                west.create_db_parameter_group()
                    .db_parameter_group_name(format!("{name}-restore"))
                    .db_parameter_group_family("postgres16")
                    .description("lifeboat demo: parameters of the restored instance")
                    .send()
                    .await
                    .map_err(seed_err(format!("CreateDBParameterGroup {name}-restore")))?;
            }
            _ => {}
        }
    }
    Ok(created)
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
    let mut yaml =
        String::from("# Generated by `lifeboat demo` for the local emulator's zone ids.\nversion: 1\napplications:\n");
    for app in &SAMPLE_APPS {
        let (zone_name, zone_id) = &zones[app.zone];
        let _ = zone_name;
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
                .r#type(RrType::from(app.record_type))
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
        let deps = if app.depends_on.is_empty() {
            String::new()
        } else {
            format!("    depends_on: [{}]\n", app.depends_on.join(", "))
        };
        yaml.push_str(&format!(
            "  - name: {name}\n    tier: {tier}\n{deps}    regions: {{ primary: {PRIMARY}, secondary: {SECONDARY} }}\n    dns:\n      - hosted_zone_id: {zone_id}\n        name: {record}\n        type: {rt}\n        set_identifiers: {{ primary: {name}-use1, secondary: {name}-usw2 }}\n{db}    verification:\n      health_checks: {{ primary: {hc0}, secondary: {hc1} }}\n      alarms: {{ primary: [{p}{name}-use1-errors], secondary: [{p}{name}-usw2-errors] }}\n      deadline_seconds: 60\n      interval_seconds: 10\n    triggers:\n      alarms: [{trigger}, {p}{name}-use1-5xx]\n",
            p = prefix,
            trigger = ns(REGION_ALARM),
            name = app.name,
            tier = app.tier,
            record = app.record,
            rt = app.record_type,
            db = database_yaml(app, &prefix, zone_id),
            hc0 = hc_ids[0],
            hc1 = hc_ids[1],
        ));
    }
    let databases = seed_databases(config, &prefix, &zones).await?;
    let trigger_alarm = ns(REGION_ALARM);
    create_ok_alarm(config, PRIMARY, &trigger_alarm).await?;
    alarms += 1;
    let registry = parse_registry(&yaml).map_err(|e| SeedError(format!("generated registry is invalid: {e}")))?;
    Ok(Estate {
        trigger_alarm,
        registry,
        registry_yaml: yaml,
        zones,
        health_checks,
        alarms,
        databases,
    })
}

/// A Route 53 health check; returns its id. `label` makes its caller reference unique.
pub(crate) async fn create_health_check(
    r53: &aws_sdk_route53::Client,
    label: &str,
    config: HealthCheckConfig,
) -> Result<String, SeedError> {
    let hc = r53
        .create_health_check()
        .caller_reference(format!(
            "lifeboat-{label}-{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
        ))
        .health_check_config(config)
        .send()
        .await
        .map_err(seed_err(format!("CreateHealthCheck {label}")))?;
    Ok(hc.health_check().map(|h| h.id().to_string()).unwrap_or_default())
}

/// A metric alarm in `region`, set to OK (moto never evaluates alarms).
pub async fn create_ok_alarm(config: &SdkConfig, region: &str, name: &str) -> Result<(), SeedError> {
    let cw = cloudwatch(config, region);
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("Lifeboat/Demo")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .map_err(seed_err(format!("PutMetricAlarm {name}")))?;
    set_alarm(config, region, name, StateValue::Ok).await
}

/// Sets an alarm's state (the emulator's stand-in for CloudWatch evaluating it).
pub async fn set_alarm(config: &SdkConfig, region: &str, name: &str, state: StateValue) -> Result<(), SeedError> {
    cloudwatch(config, region)
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("set by lifeboat demo")
        .send()
        .await
        .map_err(seed_err(format!("SetAlarmState {name}")))?;
    Ok(())
}

fn cloudwatch(config: &SdkConfig, region: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    )
}

/// The EventBridge event CloudWatch sends when `alarm` goes to ALARM (shape
/// from the CloudWatch documentation's alarm event example).
pub fn alarm_event(alarm: &str, region: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    let ts = at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed: 3 out of the last 3 datapoints were less than the threshold (1.0).", "timestamp": ts},
            "previousState": {"value": "OK", "reason": "Threshold Crossed", "timestamp": ts},
            "configuration": {"description": "Primary Region health", "metrics": []}
        }
    })
}

/// An SDK config for the emulator: loopback endpoint, dummy static
/// credentials and an explicit Region, so nothing probes instance metadata.
pub async fn emulator_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "lifeboat-emulator",
        ))
        .load()
        .await
}

/// Where the demo writes the failover's report: `target/demo/` under the
/// current folder (the repository, from `make demo`), or the temp folder.
fn demo_report_path() -> std::path::PathBuf {
    let here = std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir());
    let base = if here.join("target").is_dir() {
        here.join("target")
    } else {
        std::env::temp_dir()
    };
    base.join("demo").join("failover-report.html")
}

pub(crate) fn say(format: OutputFormat, line: impl AsRef<str>) {
    // Text mode narrates on stdout; JSON mode keeps stdout for the final document.
    match format {
        OutputFormat::Text => println!("{}", line.as_ref()),
        OutputFormat::Json => eprintln!("{}", line.as_ref()),
    }
}

pub(crate) fn ran(run: local::LocalRun) -> Result<lifeboat_states::Execution, CliError> {
    match run {
        local::LocalRun::Ran(e) => Ok(*e),
        local::LocalRun::Duplicate { name, .. } => {
            Err(CliError::failed(format!("execution {name} unexpectedly already ran")))
        }
    }
}

pub async fn run_demo(format: OutputFormat) -> Result<i32, CliError> {
    let started = std::time::Instant::now();
    let binary = find_moto_server();
    let moto = MotoServer::start(&binary).map_err(|e| CliError::failed(e.to_string()))?;
    say(
        format,
        "lifeboat demo: a full failover and failback on a local AWS emulator",
    );
    say(
        format,
        format!("  emulator: moto server on {} (stopped at the end)", moto.endpoint()),
    );
    let config = emulator_config(&moto.endpoint(), DEMO_REGION).await;
    let estate = seed_estate(&config, "")
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    say(
        format,
        format!(
            "  seeded: {} hosted zones ({}), {} applications, {} weighted records, {} health checks, {} alarms, \
             {} databases (payments: an Aurora global database; orders: an RDS instance whose backups replicate to {SECONDARY})",
            estate.zones.len(),
            estate
                .zones
                .iter()
                .map(|(n, id)| format!("{n} {id}"))
                .collect::<Vec<_>>()
                .join(", "),
            estate.registry.applications.len(),
            estate.registry.applications.len() * 2,
            estate.health_checks,
            estate.alarms,
            estate.databases
        ),
    );
    let dir = std::env::temp_dir().join(format!("lifeboat-demo-{}", moto.port()));
    std::fs::create_dir_all(&dir).map_err(|e| CliError::failed(format!("cannot create {}: {e}", dir.display())))?;
    let registry_file = dir.join("registry.yaml");
    std::fs::write(&registry_file, &estate.registry_yaml).map_err(|e| CliError::failed(e.to_string()))?;

    let settings = Settings::default();
    let admin = AwsServicesFactory::new(config.clone(), settings.clone(), CallCounter::new());
    let s = admin.services();
    let applied = apply_registry(&*s.registry, &estate.registry, false).await?;
    s.journal.ensure_table().await?;
    say(
        format,
        format!(
            "  registry: {} written to table {} in {DEMO_REGION} ({} added)",
            registry_file.display(),
            settings.registry_table,
            applied.added.len()
        ),
    );
    let apps = &estate.registry.applications;
    let before = weight_rows(&*s.dns_read, apps).await?;
    let endpoints_before = endpoint_values(&config, apps).await;

    let definition = Path::new(local::DEFAULT_DEFINITION);
    // Waits are skipped, real work is timed: the journal's durations stay honest.
    let clock = Arc::new(VirtualClock::following_real_time(chrono::Utc::now()));
    let run = |input: Value| {
        let config = config.clone();
        let settings = settings.clone();
        let clock = clock.clone();
        async move {
            let factory = Arc::new(AwsServicesFactory::new(config, settings, CallCounter::new()));
            let run = local::run_local(
                definition,
                input,
                factory.clone(),
                clock,
                Some(Arc::new(progress::Progress::new())),
            )
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
            Ok::<_, CliError>((run, factory.run_counter.snapshot()))
        }
    };

    say(format, "");
    say(
        format,
        format!(
            "1) Failover: CloudWatch alarm \"{REGION_ALARM}\" in {PRIMARY} goes to ALARM; its EventBridge event starts the state machine"
        ),
    );
    set_alarm(&config, PRIMARY, REGION_ALARM, StateValue::Alarm)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    let event = alarm_event(REGION_ALARM, PRIMARY, chrono::Utc::now());
    let (failover, failover_calls) = run(event.clone()).await?;
    let failover = ran(failover)?;
    let after_failover = weight_rows(&*s.dns_read, apps).await?;
    let endpoints_after_failover = endpoint_values(&config, apps).await;
    say(
        format,
        format!(
            "   execution {} {:?}; AWS API calls: {}",
            failover.name,
            failover.status,
            calls_line(&failover_calls)
        ),
    );

    say(format, "");
    say(
        format,
        "2) The same alarm event delivered again (EventBridge delivers at least once)",
    );
    let (replay, replay_calls) = run(event).await?;
    let replay_json = match &replay {
        local::LocalRun::Duplicate { name, status } => {
            say(
                format,
                format!(
                    "   refused: execution {name} already ran ({status}); AWS API calls: {}",
                    calls_line(&replay_calls)
                ),
            );
            json!({"duplicate_of": name, "api_calls": replay_calls})
        }
        local::LocalRun::Ran(e) => {
            say(format, format!("   execution {} ran again: {:?}", e.name, e.status));
            json!({"execution": e.name, "status": e.status, "api_calls": replay_calls})
        }
    };
    say(format, "");
    say(
        format,
        "   and a manual failover request on top: already in place, so no change call",
    );
    let (again, again_calls) = run(json!({"action": "failover", "reason": "operator double-checks"})).await?;
    let again = ran(again)?;
    say(
        format,
        format!(
            "   execution {} {:?}; change calls to Route 53: {}; AWS API calls: {}",
            again.name,
            again.status,
            again_calls.get("route53:ChangeResourceRecordSets"),
            calls_line(&again_calls)
        ),
    );

    say(format, "");
    say(
        format,
        "3) Failback: the primary Region recovered; an operator starts {\"action\": \"failback\"}",
    );
    set_alarm(&config, PRIMARY, REGION_ALARM, StateValue::Ok)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    let (failback, failback_calls) = run(json!({"action": "failback", "reason": "primary Region recovered"})).await?;
    let failback = ran(failback)?;
    say(
        format,
        format!(
            "   execution {} {:?}; AWS API calls: {}",
            failback.name,
            failback.status,
            calls_line(&failback_calls)
        ),
    );
    if let Some(rec) = s.journal.get_run(&failback.name).await? {
        for k in &rec.skipped {
            say(format, format!("   not failed back: {}: {}", k.app, k.reason));
        }
    }

    say(format, "");
    say(
        format,
        "4) The operator rebuilt orders' database in the primary Region by hand, then moves its traffic home:\n   {\"action\": \"failback\", \"apps\": [\"orders\"], \"move_dns_without_database\": true}",
    );
    let (dns_only, dns_only_calls) = run(json!({
        "action": "failback",
        "apps": ["orders"],
        "move_dns_without_database": true,
        "reason": "orders database rebuilt in the primary Region"
    }))
    .await?;
    let dns_only = ran(dns_only)?;
    let after_failback = weight_rows(&*s.dns_read, apps).await?;
    let endpoints_after_failback = endpoint_values(&config, apps).await;
    say(
        format,
        format!(
            "   execution {} {:?}; AWS API calls: {}",
            dns_only.name,
            dns_only.status,
            calls_line(&dns_only_calls)
        ),
    );

    say(format, "");
    say(format, "Route 53 weights (primary us-east-1 / secondary us-west-2):");
    say(
        format,
        weights_table(&[
            ("before", &before),
            ("after failover", &after_failover),
            ("after failback", &after_failback),
        ]),
    );
    say(format, "Database endpoint records (CNAME to the writer):");
    for (i, (name, value)) in endpoints_before.iter().enumerate() {
        say(
            format,
            format!(
                "  {name}\n    before:         {}\n    after failover: {}\n    after failback: {}",
                value.as_deref().unwrap_or("-"),
                endpoints_after_failover
                    .get(i)
                    .and_then(|e| e.1.as_deref())
                    .unwrap_or("-"),
                endpoints_after_failback
                    .get(i)
                    .and_then(|e| e.1.as_deref())
                    .unwrap_or("-"),
            ),
        );
    }
    say(format, "");
    let mut records = Vec::new();
    for (label, name) in [("failover", &failover.name), ("failback", &failback.name)] {
        if let Some(rec) = s.journal.get_run(name).await? {
            records.push((label, rec));
        }
    }
    say(format, "Databases (from the journal):");
    say(format, crate::report::database_table(&records));
    if let Some((_, rec)) = records.first() {
        say(
            format,
            "The failover's journal record (recovery time per app: from its wave's start to verified traffic):",
        );
        say(format, crate::report::run_text(rec));
        // The failover's report as a page: its timeline, RTO and RPO per app.
        let path = demo_report_path();
        crate::write_html_report(&crate::run_report::RunReport::of(rec), &path)?;
        say(
            format,
            format!(
                "The failover's report (timeline, RTO and RPO per app), open it in a browser: {}",
                path.display()
            ),
        );
    }
    let dark = crate::demo_dark::run(format, &config, moto.port(), &estate.registry, &settings).await?;
    say(format, "");
    let history = s.journal.list_runs(10).await?;
    say(format, "Journal:");
    say(format, crate::report::history_table(&history));
    say(
        format,
        format!(
            "demo finished in {:.1}s of wall-clock time; the emulator is stopped.",
            started.elapsed().as_secs_f64()
        ),
    );

    let code = [&failover, &again, &failback, &dns_only]
        .iter()
        .map(|e| exit_code(e))
        .max()
        .unwrap_or(EXIT_OK)
        // The dark run ends partial by design (orders must wait): it fails the demo only if it went otherwise.
        .max(if dark.as_expected {
            EXIT_OK
        } else {
            crate::EXIT_RUN_FAILED
        });
    if format == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "failover": {"execution": failover.name, "status": failover.status, "record": run_record(&failover), "api_calls": failover_calls},
                "replay": replay_json,
                "failover_again": {"execution": again.name, "status": again.status, "record": run_record(&again), "api_calls": again_calls},
                "failback": {"execution": failback.name, "status": failback.status, "record": run_record(&failback), "api_calls": failback_calls},
                "failback_dns_only": {"execution": dns_only.name, "status": dns_only.status, "record": run_record(&dns_only), "api_calls": dns_only_calls},
                "weights": {"before": before, "after_failover": after_failover, "after_failback": after_failback},
                "us_east_1_dark": dark.json,
            }))
            .unwrap_or_default()
        );
    }
    drop(moto);
    Ok(code)
}
