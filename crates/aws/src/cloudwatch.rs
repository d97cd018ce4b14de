//! CloudWatch adapter: alarm states, in the Region the alarms live in; the
//! probe's metrics and alarms, in the recovery Region.

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::pacing;
use crate::ports::{AlarmStates, Datum, Metrics};
use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, ComparisonOperator, Dimension, MetricDatum, StandardUnit, Statistic};
use aws_smithy_types_convert::date_time::DateTimeExt;
use chrono::SubsecRound;
use lifeboat_core::registry::{
    PROBE_DIMENSION, PROBE_HEARTBEAT_ALARM, PROBE_HEARTBEAT_METRIC, PROBE_HEARTBEAT_MINUTES, PROBE_METRIC,
    PROBE_NAMESPACE, probe_alarm_rule, probe_signal_alarm,
};
use std::collections::BTreeMap;

/// CloudWatch through the SDK; one client per Region, made on demand.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    clients: AwsClients,
}

impl CloudWatch {
    pub fn new(clients: AwsClients) -> Self {
        CloudWatch { clients }
    }

    /// PutMetricAlarm, PutCompositeAlarm and DeleteAlarms share the alarm
    /// writes' pace (PutMetricAlarm's quota, the lowest of them).
    async fn pace_alarm_write(&self, region: &str) {
        pacing::pace(
            &format!("cloudwatch:{region}:PutMetricAlarm"),
            pacing::CLOUDWATCH_PUT_METRIC_ALARM,
        )
        .await;
    }

    async fn pace_describe(&self, region: &str) {
        pacing::pace(
            &format!("cloudwatch:{region}:DescribeAlarms"),
            pacing::CLOUDWATCH_DESCRIBE_ALARMS,
        )
        .await;
    }
}

#[async_trait]
impl AlarmStates for CloudWatch {
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        let client = self.clients.cloudwatch(region);
        let mut out = BTreeMap::new();
        // DescribeAlarms takes at most 100 names per call, and returns
        // composite alarms only when AlarmTypes asks for them (its API
        // reference: "If you omit this parameter, only metric alarms are returned").
        for chunk in names.chunks(100) {
            // Paged by hand: each page is a call, paced under DescribeAlarms' quota.
            let mut next_token: Option<String> = None;
            loop {
                pacing::pace(
                    &format!("cloudwatch:{region}:DescribeAlarms"),
                    pacing::CLOUDWATCH_DESCRIBE_ALARMS,
                )
                .await;
                let resp = client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .alarm_types(AlarmType::CompositeAlarm)
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(&format!("DescribeAlarms in {region}"), e))?;
                for a in resp.metric_alarms() {
                    if let (Some(n), Some(s)) = (a.alarm_name(), a.state_value()) {
                        out.insert(n.to_string(), s.as_str().to_string());
                    }
                }
                for a in resp.composite_alarms() {
                    if let (Some(n), Some(s)) = (a.alarm_name(), a.state_value()) {
                        out.insert(n.to_string(), s.as_str().to_string());
                    }
                }
                match resp.next_token() {
                    Some(t) if !t.is_empty() => next_token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(out)
    }
}

/// PutMetricData takes at most 1,000 datapoints a call.
const MAX_DATA_PER_PUT: usize = 1000;

#[async_trait]
impl Metrics for CloudWatch {
    async fn put(&self, region: &str, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        let client = self.clients.cloudwatch(region);
        for chunk in data.chunks(MAX_DATA_PER_PUT) {
            let datums = chunk
                .iter()
                .map(|d| {
                    MetricDatum::builder()
                        .metric_name(&d.metric)
                        .set_dimensions(Some(
                            d.dimensions
                                .iter()
                                .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                                .collect(),
                        ))
                        .value(d.value)
                        .unit(StandardUnit::Count)
                        .timestamp(aws_smithy_types::DateTime::from_chrono_utc(d.at.trunc_subsecs(3)))
                        .build()
                })
                .collect();
            pacing::pace(
                &format!("cloudwatch:{region}:PutMetricData"),
                pacing::CLOUDWATCH_PUT_METRIC_DATA,
            )
            .await;
            client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(datums))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&format!("PutMetricData {namespace} in {region}"), e))?;
        }
        Ok(())
    }

    async fn put_probe_alarm(&self, region: &str, alarm: &str, app: &str, failures: u32) -> Result<(), AwsError> {
        let failures = i32::try_from(failures.max(1)).unwrap_or(1);
        let client = self.clients.cloudwatch(region);
        let signal = probe_signal_alarm(alarm);
        self.pace_alarm_write(region).await;
        client
            .put_metric_alarm()
            .alarm_name(&signal)
            .alarm_description(format!(
                "lifeboat: {app}'s primary endpoint failed {failures} probe(s) in a row from {region}. \
                 Missing data is left out: a probe that stops is told by {PROBE_HEARTBEAT_ALARM}, \
                 and {alarm} (the trigger) holds back while it is in ALARM"
            ))
            .namespace(PROBE_NAMESPACE)
            .metric_name(PROBE_METRIC)
            .dimensions(Dimension::builder().name(PROBE_DIMENSION).value(app).build())
            .statistic(Statistic::Minimum)
            .period(60)
            .evaluation_periods(failures)
            .datapoints_to_alarm(failures)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::LessThanThreshold)
            .treat_missing_data("missing")
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("PutMetricAlarm {signal} in {region}"), e))?;
        // Before the composite existed the probe alarm was a metric alarm of
        // this name: replaced, since a name is one alarm of either kind.
        self.pace_describe(region).await;
        let existing = client
            .describe_alarms()
            .alarm_names(alarm)
            .alarm_types(AlarmType::MetricAlarm)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("DescribeAlarms {alarm} in {region}"), e))?;
        if !existing.metric_alarms().is_empty() {
            self.pace_alarm_write(region).await;
            client
                .delete_alarms()
                .alarm_names(alarm)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&format!("DeleteAlarms {alarm} in {region}"), e))?;
        }
        self.pace_alarm_write(region).await;
        client
            .put_composite_alarm()
            .alarm_name(alarm)
            .alarm_description(format!(
                "lifeboat: starts {app}'s failover when its probe from {region} fails ({signal}), \
                 unless the probe itself stopped ({PROBE_HEARTBEAT_ALARM})"
            ))
            .alarm_rule(probe_alarm_rule(alarm))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("PutCompositeAlarm {alarm} in {region}"), e))?;
        Ok(())
    }

    async fn put_heartbeat_alarm(&self, region: &str) -> Result<(), AwsError> {
        let minutes = i32::try_from(PROBE_HEARTBEAT_MINUTES).unwrap_or(2);
        self.pace_alarm_write(region).await;
        self.clients
            .cloudwatch(region)
            .put_metric_alarm()
            .alarm_name(PROBE_HEARTBEAT_ALARM)
            .alarm_description(format!(
                "lifeboat: the detection probe in {region} has not reported for {minutes} minutes. \
                 While this is in ALARM no probe alarm starts a failover; check the probe function"
            ))
            .namespace(PROBE_NAMESPACE)
            .metric_name(PROBE_HEARTBEAT_METRIC)
            .statistic(Statistic::SampleCount)
            .period(60)
            .evaluation_periods(minutes)
            .datapoints_to_alarm(minutes)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::LessThanThreshold)
            .treat_missing_data("breaching")
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("PutMetricAlarm {PROBE_HEARTBEAT_ALARM} in {region}"), e))?;
        Ok(())
    }
}
