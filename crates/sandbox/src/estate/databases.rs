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
