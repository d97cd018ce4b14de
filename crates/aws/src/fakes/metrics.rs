//! Published metrics and probe alarms in memory.

use super::prelude::*;

/// Published metrics and lifeboat's probe alarms, in memory.
#[derive(Debug, Default)]
pub struct FakeMetrics {
    /// (region, namespace, datum)
    pub data: Mutex<Vec<(String, String, Datum)>>,
    /// PutMetricData calls made.
    pub puts: Mutex<usize>,
    /// (region, alarm, app, failures)
    pub alarms: Mutex<Vec<(String, String, String, u32)>>,
    /// Regions with the heartbeat alarm.
    pub heartbeat_alarms: Mutex<Vec<String>>,
}

#[async_trait]
impl Metrics for FakeMetrics {
    async fn put(&self, region: &str, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        *lock(&self.puts) += data.len().div_ceil(1000);
        lock(&self.data).extend(
            data.iter()
                .map(|d| (region.to_string(), namespace.to_string(), d.clone())),
        );
        Ok(())
    }
    async fn put_probe_alarm(&self, region: &str, alarm: &str, app: &str, failures: u32) -> Result<(), AwsError> {
        let mut alarms = lock(&self.alarms);
        alarms.retain(|(r, a, _, _)| !(r == region && a == alarm));
        alarms.push((region.to_string(), alarm.to_string(), app.to_string(), failures));
        Ok(())
    }
    async fn put_heartbeat_alarm(&self, region: &str) -> Result<(), AwsError> {
        let mut regions = lock(&self.heartbeat_alarms);
        if !regions.iter().any(|r| r == region) {
            regions.push(region.to_string());
        }
        Ok(())
    }
}
