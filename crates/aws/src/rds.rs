//! RDS / Aurora adapter: read database state and promote the standby, in the
//! Region that takes over; replication lag from CloudWatch.

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::pacing;
use crate::ports::{
    BackupSource, Databases, DbState, FailoverProgress, GlobalClusterState, GlobalMember, Lag, LagOf, ReplicatedBackup,
    ReplicationLag, RestoreRequest,
};
use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime as SmithyDateTime;
use aws_smithy_types_convert::date_time::DateTimeExt;
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::BTreeMap;

/// RDS through the SDK; one client per Region, made on demand.
#[derive(Debug, Clone)]
pub struct Rds {
    clients: AwsClients,
    /// A member account's id, known from its role: its calls are not the
    /// process's own account's (nor its RDS quota).
    member: Option<String>,
}

impl Rds {
    pub fn new(clients: AwsClients) -> Self {
        Rds { clients, member: None }
    }

    /// RDS in member account `account`, its clients acting as its role.
    pub fn in_member_account(clients: AwsClients, account: &str) -> Self {
        Rds {
            clients,
            member: Some(account.to_string()),
        }
    }

    /// The account the databases are in (a source instance's ARN names it):
    /// a member's, or the functions' own, asked of STS GetCallerIdentity once
    /// per process (it needs no permission).
    async fn account_id(&self) -> Result<String, AwsError> {
        if let Some(member) = &self.member {
            return Ok(member.clone());
        }
        static ACCOUNT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        ACCOUNT
            .get_or_try_init(|| async {
                let resp = self
                    .clients
                    .sts()
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("STS GetCallerIdentity", e))?;
                resp.account()
                    .map(str::to_string)
                    .ok_or_else(|| AwsError::Other("STS GetCallerIdentity named no account".into()))
            })
            .await
            .cloned()
    }

    /// An RDS client for `region`, after a token of that Region's RDS quota.
    async fn paced(&self, region: &str) -> aws_sdk_rds::Client {
        // Each account has its own RDS quota.
        let account = self.member.as_deref().map(|a| format!("{a}:")).unwrap_or_default();
        pacing::pace(&format!("rds:{account}{region}"), pacing::RDS_ACCOUNT).await;
        self.clients.rds(region)
    }
}

/// The ARN partition of a Region.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    t.to_chrono_utc().ok()
}

#[async_trait]
impl Databases for Rds {
    async fn global_cluster(&self, region: &str, id: &str) -> Result<Option<GlobalClusterState>, AwsError> {
        let resp = match self
            .paced(region)
            .await
            .describe_global_clusters()
            .global_cluster_identifier(id)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_global_cluster_not_found_fault()) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(AwsError::from_sdk(
                    &format!("DescribeGlobalClusters {id} in {region}"),
                    e,
                ));
            }
        };
        Ok(resp
            .global_clusters()
            .iter()
            .find(|g| g.global_cluster_identifier() == Some(id))
            .map(|g| GlobalClusterState {
                id: id.to_string(),
                status: g.status().unwrap_or_default().to_string(),
                members: g
                    .global_cluster_members()
                    .iter()
                    .map(|m| GlobalMember {
                        cluster_arn: m.db_cluster_arn().unwrap_or_default().to_string(),
                        is_writer: m.is_writer().unwrap_or(false),
                        sync: m.synchronization_status().map(|s| s.as_str().to_string()),
                    })
                    .collect(),
                // "empty unless a switchover or failover operation is scheduled or is in progress"
                failover: g.failover_state().and_then(|f| {
                    let status = f.status()?.as_str().to_string();
                    Some(FailoverProgress {
                        status,
                        from_cluster_arn: f.from_db_cluster_arn().map(str::to_string),
                        to_cluster_arn: f.to_db_cluster_arn().map(str::to_string),
                        data_loss_allowed: f.is_data_loss_allowed().unwrap_or(false),
                    })
                }),
            }))
    }

    async fn cluster(&self, region: &str, id: &str) -> Result<Option<DbState>, AwsError> {
        let resp = match self
            .paced(region)
            .await
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_db_cluster_not_found_fault()) => return Ok(None),
            Err(e) => return Err(AwsError::from_sdk(&format!("DescribeDBClusters {id} in {region}"), e)),
        };
        Ok(resp.db_clusters().first().map(|c| DbState {
            id: c.db_cluster_identifier().unwrap_or(id).to_string(),
            arn: c.db_cluster_arn().unwrap_or_default().to_string(),
            status: c.status().unwrap_or_default().to_string(),
            replicating_from: c.replication_source_identifier().map(str::to_string),
            endpoint: c.endpoint().map(str::to_string),
            managed: is_managed(c.tag_list()),
        }))
    }

    async fn instance(&self, region: &str, id: &str) -> Result<Option<DbState>, AwsError> {
        let resp = match self
            .paced(region)
            .await
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => return Ok(None),
            Err(e) => return Err(AwsError::from_sdk(&format!("DescribeDBInstances {id} in {region}"), e)),
        };
        Ok(resp.db_instances().first().map(|i| DbState {
            id: i.db_instance_identifier().unwrap_or(id).to_string(),
            arn: i.db_instance_arn().unwrap_or_default().to_string(),
            status: i.db_instance_status().unwrap_or_default().to_string(),
            replicating_from: i.read_replica_source_db_instance_identifier().map(str::to_string),
            endpoint: i.endpoint().and_then(|e| e.address()).map(str::to_string),
            managed: is_managed(i.tag_list()),
        }))
    }

    async fn replicated_backup(
        &self,
        region: &str,
        source: BackupSource<'_>,
    ) -> Result<Option<ReplicatedBackup>, AwsError> {
        // DescribeDBInstanceAutomatedBackups' DBInstanceIdentifier "must match
        // the identifier of an existing DB instance", and the destination
        // Region has none: the source is found by its ARN (filter db-instance-id).
        let arn = format!(
            "arn:{}:rds:{}:{}:db:{}",
            partition(source.region),
            source.region,
            self.account_id().await?,
            source.instance_id
        );
        let what = format!("DescribeDBInstanceAutomatedBackups {arn} in {region}");
        let resp = self
            .paced(region)
            .await
            .describe_db_instance_automated_backups()
            .filters(
                aws_sdk_rds::types::Filter::builder()
                    .name("db-instance-id")
                    .values(&arn)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&what, e))?;
        // This Region's own backups (of an instance of the same name here) are not the ones.
        Ok(resp
            .db_instance_automated_backups()
            .iter()
            .filter(|b| b.db_instance_arn() == Some(arn.as_str()) || b.region() == Some(source.region))
            .find_map(|b| {
                Some(ReplicatedBackup {
                    arn: b.db_instance_automated_backups_arn()?.to_string(),
                    source_instance_id: b.db_instance_identifier().unwrap_or(source.instance_id).to_string(),
                    status: b.status().unwrap_or_default().to_string(),
                    latest_restorable: b.restore_window().and_then(|w| w.latest_time()).and_then(to_chrono),
                    kms_key_id: b.kms_key_id().map(str::to_string),
                })
            }))
    }

    async fn move_global_writer(
        &self,
        region: &str,
        global_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> Result<(), AwsError> {
        let client = self.paced(region).await;
        if allow_data_loss {
            client
                .failover_global_cluster()
                .global_cluster_identifier(global_id)
                .target_db_cluster_identifier(target_cluster_arn)
                .allow_data_loss(true)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&format!("FailoverGlobalCluster {global_id} in {region}"), e))?;
        } else {
            client
                .switchover_global_cluster()
                .global_cluster_identifier(global_id)
                .target_db_cluster_identifier(target_cluster_arn)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&format!("SwitchoverGlobalCluster {global_id} in {region}"), e))?;
        }
        Ok(())
    }

    async fn promote_cluster(&self, region: &str, id: &str) -> Result<(), AwsError> {
        self.paced(region)
            .await
            .promote_read_replica_db_cluster()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("PromoteReadReplicaDBCluster {id} in {region}"), e))?;
        Ok(())
    }

    async fn promote_instance(&self, region: &str, id: &str) -> Result<(), AwsError> {
        self.paced(region)
            .await
            .promote_read_replica()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("PromoteReadReplica {id} in {region}"), e))?;
        Ok(())
    }

    async fn restore_backup(&self, region: &str, r: RestoreRequest<'_>) -> Result<(), AwsError> {
        let spec = r.spec;
        self.paced(region)
            .await
            .restore_db_instance_to_point_in_time()
            .source_db_instance_automated_backups_arn(r.backup_arn)
            .target_db_instance_identifier(r.target_instance_id)
            .use_latest_restorable_time(true)
            .db_instance_class(&spec.instance_class)
            .set_db_subnet_group_name(spec.subnet_group.clone())
            .set_vpc_security_group_ids((!spec.security_group_ids.is_empty()).then(|| spec.security_group_ids.clone()))
            .set_db_parameter_group_name(spec.parameter_group.clone())
            // The functions' IAM policy lets them create only instances carrying this tag.
            .tags(managed_tag())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    &format!("RestoreDBInstanceToPointInTime {} in {region}", r.target_instance_id),
                    e,
                )
            })?;
        Ok(())
    }
}

/// The resource tag lifeboat's IAM policies require on every database they change
/// (`lifeboat:managed` = `true`), and that a restore puts on the instance it creates.
pub const MANAGED_TAG: &str = "lifeboat:managed";

/// The tag itself, as a restore (and anything that makes a database for
/// lifeboat to change) puts it on.
pub fn managed_tag() -> aws_sdk_rds::types::Tag {
    aws_sdk_rds::types::Tag::builder()
        .key(MANAGED_TAG)
        .value("true")
        .build()
}

fn is_managed(tags: &[aws_sdk_rds::types::Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(MANAGED_TAG) && t.value() == Some("true"))
}

/// The lag metrics of `of`: (namespace, metric names, dimension, seconds per unit).
fn lag_metrics(of: LagOf<'_>) -> (&'static str, &'static [&'static str], &'static str, f64) {
    match of {
        LagOf::GlobalSecondary(_) => (
            "AWS/RDS",
            &["AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag"],
            "DBClusterIdentifier",
            0.001,
        ),
        // "Monitoring Amazon DocumentDB global clusters": GlobalClusterReplicationLag, in milliseconds.
        LagOf::DocdbGlobalSecondary(_) => (
            "AWS/DocDB",
            &["GlobalClusterReplicationLag"],
            "DBClusterIdentifier",
            0.001,
        ),
        LagOf::ReplicaCluster(_) => ("AWS/RDS", &["AuroraBinlogReplicaLag"], "DBClusterIdentifier", 1.0),
        LagOf::ReplicaInstance(_) => ("AWS/RDS", &["ReplicaLag"], "DBInstanceIdentifier", 1.0),
    }
}

#[async_trait]
impl ReplicationLag for Rds {
    async fn lag(&self, region: &str, of: LagOf<'_>) -> Result<Lag, AwsError> {
        let now = Utc::now();
        let start = now - chrono::Duration::minutes(10);
        let (namespace, names, dimension, seconds_per_unit) = lag_metrics(of);
        let id = of.id();
        let queries = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                MetricDataQuery::builder()
                    .id(format!("lag{i}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace(namespace)
                                    .metric_name(*name)
                                    .dimensions(Dimension::builder().name(dimension).value(id).build())
                                    .build(),
                            )
                            .period(60)
                            .stat("Maximum")
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect::<Vec<_>>();
        let client = self.clients.cloudwatch(region);
        // The last value seen of each metric (whose datapoints may span
        // pages); the larger of the two is the data at risk, and -1 means
        // replication is not active (Lag::from_latest). Paged by hand: each
        // page is a call, paced under GetMetricData's quota.
        let mut latest: BTreeMap<String, (SmithyDateTime, f64)> = BTreeMap::new();
        let mut next_token: Option<String> = None;
        loop {
            pacing::pace(
                &format!("cloudwatch:{region}:GetMetricData"),
                pacing::CLOUDWATCH_GET_METRIC_DATA,
            )
            .await;
            let page = client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(SmithyDateTime::from_chrono_utc(start.trunc_subsecs(0)))
                .end_time(SmithyDateTime::from_chrono_utc(
                    now.trunc_subsecs(0) + chrono::Duration::seconds(60),
                ))
                .scan_by(ScanBy::TimestampDescending)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&format!("GetMetricData (replication lag of {id}) in {region}"), e))?;
            for r in page.metric_data_results() {
                for (t, v) in r.timestamps().iter().zip(r.values()) {
                    let seen = latest.entry(r.id().unwrap_or_default().to_string()).or_insert((*t, *v));
                    if *t >= seen.0 {
                        *seen = (*t, *v);
                    }
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next_token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(Lag::from_latest(latest.values().map(|(_, v)| {
            // -1 stays -1 (not active) whatever the unit.
            if *v < 0.0 { -1.0 } else { *v * seconds_per_unit }
        })))
    }
}
