//! The sample databases: an Aurora global database (writer in the primary
//! Region, a secondary cluster in the recovery Region, a little replication
//! lag) and an RDS instance whose automated backups replicate to the recovery
//! Region.

use super::resources::{create_cname, put_replication_lag};
use super::sample::{DEMO_REPLICATION_LAG_MS, SAMPLE_APPS, endpoint_record_name, short_region};
use super::{PRIMARY, SECONDARY, SeedError, seed_err};
use aws_config::SdkConfig;
use lifeboat_aws::rds::managed_tag;
use lifeboat_core::registry::DatabaseKind;

fn rds(config: &SdkConfig, region: &str) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    )
}

/// A global cluster `global` of `engine`: a writer cluster in the primary
/// Region and a secondary in the recovery Region, named by `id`, tagged for
/// lifeboat; returns the writer's endpoint.
async fn create_global_cluster(
    config: &SdkConfig,
    global: &str,
    engine: &str,
    version: &str,
    id: impl Fn(&str) -> String,
) -> Result<Option<String>, SeedError> {
    let (east, west) = (rds(config, PRIMARY), rds(config, SECONDARY));
    east.create_global_cluster()
        .global_cluster_identifier(global)
        .engine(engine)
        .engine_version(version)
        .send()
        .await
        .map_err(seed_err(format!("CreateGlobalCluster {global}")))?;
    let mut writer = None;
    for (client, region) in [(&east, PRIMARY), (&west, SECONDARY)] {
        let created = client
            .create_db_cluster()
            .db_cluster_identifier(id(region))
            .engine(engine)
            .engine_version(version)
            .global_cluster_identifier(global)
            .tags(managed_tag())
            // moto asks every cluster for a master user; AWS only the primary.
            .master_username("lifeboat")
            .master_user_password("demo-only-not-a-secret")
            .send()
            .await
            .map_err(seed_err(format!("CreateDBCluster {} in {region}", id(region))))?;
        if region == PRIMARY {
            writer = created.db_cluster().and_then(|c| c.endpoint()).map(str::to_string);
        }
    }
    Ok(writer)
}

/// Creates the sample apps' databases; returns how many it created.
pub(super) async fn seed_databases(
    config: &SdkConfig,
    p: &str,
    zones: &[(String, String)],
) -> Result<usize, SeedError> {
    let (east, west) = (rds(config, PRIMARY), rds(config, SECONDARY));
    let mut created = 0;
    for app in &SAMPLE_APPS {
        let name = format!("{p}{}", app.name);
        match app.database {
            DatabaseKind::AuroraGlobal => {
                let global = format!("{name}-global");
                let id = |region: &str| format!("{name}-{}", short_region(region));
                let writer = create_global_cluster(config, &global, "aurora-postgresql", "15.4", id).await?;
                created += 2;
                if let Some(endpoint) = writer {
                    create_cname(config, &zones[app.zone].1, &endpoint_record_name(app), &endpoint).await?;
                }
                put_replication_lag(config, &format!("{name}-usw2"), DEMO_REPLICATION_LAG_MS).await?;
            }
            DatabaseKind::RdsBackup => {
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

/// A DocumentDB global cluster for `app` (writer in the primary Region, a
/// secondary in the recovery Region, `lag_ms` of replication lag), made
/// through DocumentDB's API (the RDS query API, as DocumentDB serves it);
/// returns the registry's database entry for it.
pub async fn seed_docdb_global(
    config: &SdkConfig,
    namespace: &str,
    app: &str,
    lag_ms: f64,
) -> Result<lifeboat_core::registry::Database, SeedError> {
    let global = format!("{namespace}-{app}-docdb");
    let id = |region: &str| format!("{namespace}-{app}-docdb-{}", short_region(region));
    create_global_cluster(config, &global, "docdb", "5.0.0", id).await?;
    super::resources::put_docdb_replication_lag(config, &id(SECONDARY), lag_ms).await?;
    Ok(lifeboat_core::registry::Database {
        kind: DatabaseKind::DocdbGlobal,
        global_cluster_id: Some(global),
        identifiers: Some(lifeboat_core::registry::BySide {
            primary: id(PRIMARY),
            secondary: id(SECONDARY),
        }),
        max_rpo_seconds: Some(30),
        deadline_seconds: 600,
        interval_seconds: 20,
        ..Default::default()
    })
}
