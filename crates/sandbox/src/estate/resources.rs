//! The calls that make and change the sample estate's resources on the
//! emulator (records, health checks, alarms, RDS metrics), as one would make
//! them on AWS. Tests use them to set the scene (an alarm in ALARM, a lag).

use super::{SECONDARY, SeedError, seed_err};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HealthCheckConfig, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_smithy_types_convert::date_time::DateTimeExt;
use chrono::SubsecRound;

/// A simple-routing CNAME, as clients would use for a database writer.
pub(super) async fn create_cname(config: &SdkConfig, zone_id: &str, name: &str, value: &str) -> Result<(), SeedError> {
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
pub(super) async fn create_record_sets(
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
    put_metric(config, "AWS/RDS", metric, (dimension, id), value, unit).await
}

/// Sets the replication lag CloudWatch reports for a DocumentDB global
/// cluster's secondary (`AWS/DocDB` GlobalClusterReplicationLag, milliseconds, now).
pub async fn put_docdb_replication_lag(config: &SdkConfig, cluster: &str, lag_ms: f64) -> Result<(), SeedError> {
    put_metric(
        config,
        "AWS/DocDB",
        "GlobalClusterReplicationLag",
        ("DBClusterIdentifier", cluster),
        lag_ms,
        aws_sdk_cloudwatch::types::StandardUnit::Milliseconds,
    )
    .await
}

/// One datapoint, now, of `namespace`'s metric in the recovery Region.
async fn put_metric(
    config: &SdkConfig,
    namespace: &str,
    metric: &str,
    (dimension, id): (&str, &str),
    value: f64,
    unit: aws_sdk_cloudwatch::types::StandardUnit,
) -> Result<(), SeedError> {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    cloudwatch(config, SECONDARY)
        .put_metric_data()
        .namespace(namespace)
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(Dimension::builder().name(dimension).value(id).build())
                .value(value)
                .unit(unit)
                .timestamp(aws_smithy_types::DateTime::from_chrono_utc(
                    chrono::Utc::now().trunc_subsecs(0),
                ))
                .build(),
        )
        .send()
        .await
        .map_err(seed_err(format!("PutMetricData {metric} of {id}")))?;
    Ok(())
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
