//! CloudWatch: alarm states, metrics, lifeboat's own alarms.

use super::prelude::*;

/// One CloudWatch datapoint to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub value: f64,
    pub at: DateTime<Utc>,
}

/// Publishes CloudWatch metrics and keeps lifeboat's own alarms.
#[async_trait]
pub trait Metrics: Send + Sync {
    /// PutMetricData in `region`, as few calls as CloudWatch allows.
    async fn put(&self, region: &str, namespace: &str, data: &[Datum]) -> Result<(), AwsError>;
    /// Creates or updates an app's probe alarm in `region`: the metric alarm
    /// on its probe metric (ALARM after `failures` failed minutes in a row),
    /// and `alarm` itself, a composite of it and the probe's heartbeat alarm
    /// (a probe that stops fails nothing over).
    async fn put_probe_alarm(&self, region: &str, alarm: &str, app: &str, failures: u32) -> Result<(), AwsError>;
    /// Creates or updates the probe's heartbeat alarm in `region`: ALARM when
    /// no heartbeat came for the last few minutes (missing data breaching).
    async fn put_heartbeat_alarm(&self, region: &str) -> Result<(), AwsError>;
}

/// Reads CloudWatch alarm states.
#[async_trait]
pub trait AlarmStates: Send + Sync {
    /// State (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each named alarm in `region`; missing alarms are absent.
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError>;
}
