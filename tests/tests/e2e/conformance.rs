//! The port conformance suite (lifeboat_aws::conformance) against the real
//! adapters over the emulator: the same cases the in-memory fakes pass, so
//! neither the fakes nor the emulator can drift from the other.

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use aws_config::SdkConfig;
use harness::{moto, sdk_config, setup_config, unique};
use lifeboat_aws::CallCounter;
use lifeboat_aws::clients::AwsClients;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::conformance::{Scene, run_all};
use lifeboat_aws::dynamodb::{DynamoJournal, DynamoLease};
use lifeboat_aws::ports::{
    AlarmStates, Databases, DnsReader, DnsWriter, HealthChecks, Journal, LagOf, ReplicationLag, RunLease,
};
use lifeboat_aws::rds::Rds;
use lifeboat_aws::route53::Route53;

/// The adapters over the emulator; the stage set with the setup key.
struct Emulator {
    setup: SdkConfig,
    route53: Route53,
    cloudwatch: CloudWatch,
    rds: Rds,
    lease: DynamoLease,
    journal: DynamoJournal,
}

fn rds(config: &SdkConfig, region: &str) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    )
}

fn cloudwatch(config: &SdkConfig, region: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(config)
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    )
}

#[async_trait]
impl Scene for Emulator {
    fn name(&self) -> &str {
        "emulator"
    }
    fn dns_read(&self) -> &dyn DnsReader {
        &self.route53
    }
    fn dns_write(&self) -> &dyn DnsWriter {
        &self.route53
    }
    fn health(&self) -> &dyn HealthChecks {
        &self.route53
    }
    fn alarms(&self) -> &dyn AlarmStates {
        &self.cloudwatch
    }
    fn databases(&self) -> &dyn Databases {
        &self.rds
    }
    fn lag(&self) -> &dyn ReplicationLag {
        &self.rds
    }
    fn lease(&self) -> &dyn RunLease {
        &self.lease
    }
    fn journal(&self) -> &dyn Journal {
        &self.journal
    }

    async fn weighted_pair(&self, name: &str) -> String {
        use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
        let r53 = aws_sdk_route53::Client::new(&self.setup);
        let zone = r53
            .create_hosted_zone()
            .name(name.split_once('.').unwrap().1)
            .caller_reference(unique("zone"))
            .send()
            .await
            .unwrap()
            .hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string();
        let record = |name: &str, set: &str, weight: i64| {
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(name)
                        .r#type(RrType::A)
                        .set_identifier(set)
                        .weight(weight)
                        .ttl(60)
                        .resource_records(ResourceRecord::builder().value("192.0.2.1").build().unwrap())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        };
        r53.change_resource_record_sets()
            .hosted_zone_id(&zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(record(name, "p", 100))
                    .changes(record(name, "s", 0))
                    .changes(record(&format!("other.{name}"), "p", 1))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        zone
    }

    async fn health_check(&self, healthy_checkers: usize) -> String {
        let id = harness::create_health_check(&self.setup, harness::https_check()).await;
        harness::healthy_checkers(&id, healthy_checkers);
        id
    }

    async fn alarm(&self, region: &str, name: &str, state: &str) {
        let existing = cloudwatch(&self.setup, region)
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .unwrap();
        if existing.metric_alarms().is_empty() {
            lifeboat_sandbox::estate::create_ok_alarm(&self.setup, region, name)
                .await
                .unwrap();
        }
        lifeboat_sandbox::estate::set_alarm(&self.setup, region, name, state.into())
            .await
            .unwrap();
    }

    async fn composite_alarm(&self, region: &str, name: &str, child: &str) {
        cloudwatch(&self.setup, region)
            .put_composite_alarm()
            .alarm_name(name)
            .alarm_rule(format!("ALARM(\"{child}\")"))
            .send()
            .await
            .unwrap();
    }

    async fn lag_datapoint(&self, region: &str, of: LagOf<'_>, value: f64) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
        let (namespace, metric, dimension, unit) = match of {
            LagOf::GlobalSecondary(_) => (
                "AWS/RDS",
                "AuroraGlobalDBReplicationLag",
                "DBClusterIdentifier",
                StandardUnit::Milliseconds,
            ),
            LagOf::DocdbGlobalSecondary(_) => (
                "AWS/DocDB",
                "GlobalClusterReplicationLag",
                "DBClusterIdentifier",
                StandardUnit::Milliseconds,
            ),
            LagOf::ReplicaCluster(_) => (
                "AWS/RDS",
                "AuroraBinlogReplicaLag",
                "DBClusterIdentifier",
                StandardUnit::Seconds,
            ),
            LagOf::ReplicaInstance(_) => ("AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", StandardUnit::Seconds),
        };
        cloudwatch(&self.setup, region)
            .put_metric_data()
            .namespace(namespace)
            .metric_data(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(Dimension::builder().name(dimension).value(of.id()).build())
                    .value(value)
                    .unit(unit)
                    .timestamp(aws_smithy_types::DateTime::from_secs(chrono::Utc::now().timestamp()))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    async fn global_database(&self, id: &str) -> (String, String) {
        let (east, west) = (rds(&self.setup, "us-east-1"), rds(&self.setup, "us-west-2"));
        east.create_global_cluster()
            .global_cluster_identifier(id)
            .engine("aurora-postgresql")
            .engine_version("15.4")
            .send()
            .await
            .unwrap();
        let mut arns = Vec::new();
        for (client, short) in [(&east, "use1"), (&west, "usw2")] {
            let cluster = client
                .create_db_cluster()
                .db_cluster_identifier(format!("{id}-{short}"))
                .engine("aurora-postgresql")
                .engine_version("15.4")
                .global_cluster_identifier(id)
                .tags(lifeboat_sandbox::estate::managed_tag())
                .master_username("lifeboat")
                .master_user_password("tests-only-not-a-secret")
                .send()
                .await
                .unwrap();
            arns.push(cluster.db_cluster().unwrap().db_cluster_arn().unwrap().to_string());
        }
        (arns[0].clone(), arns[1].clone())
    }

    async fn replicated_backups(&self, id: &str) {
        let source = rds(&self.setup, "us-east-1")
            .create_db_instance()
            .db_instance_identifier(format!("{id}-use1"))
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("lifeboat")
            .master_user_password("tests-only-not-a-secret")
            .backup_retention_period(7)
            .send()
            .await
            .unwrap();
        rds(&self.setup, "us-west-2")
            .start_db_instance_automated_backups_replication()
            .source_db_instance_arn(source.db_instance().unwrap().db_instance_arn().unwrap())
            .send()
            .await
            .unwrap();
    }

    async fn region_recovers(&self, region: &str) {
        moto()
            .request("POST", &format!("/lifeboat-emulator/rds/regions/{region}/recover"), "")
            .unwrap();
    }
}

#[tokio::test]
async fn the_emulator_passes_the_port_conformance_suite() {
    let setup = setup_config(&moto().endpoint()).await;
    // lifeboat's own calls: through the adapters, under the emulator's quotas.
    let clients = AwsClients::new(&sdk_config(&moto().endpoint()).await, CallCounter::new());
    let table = unique("conformance-journal");
    let journal = DynamoJournal::new(clients.dynamodb.clone(), &table);
    journal.ensure_table().await.unwrap();
    let scene = Emulator {
        setup,
        route53: Route53::new(clients.route53.clone()),
        cloudwatch: CloudWatch::new(clients.clone()),
        rds: Rds::new(clients.clone()),
        lease: DynamoLease::new(clients.dynamodb.clone(), &table),
        journal,
    };
    run_all(&scene, &unique("c")).await;
}
