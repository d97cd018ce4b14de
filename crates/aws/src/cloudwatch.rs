//! CloudWatch adapter: alarm states, in the Region the alarms live in.

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::ports::AlarmStates;
use async_trait::async_trait;
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
}

#[async_trait]
impl AlarmStates for CloudWatch {
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        let client = self.clients.cloudwatch(region);
        let mut out = BTreeMap::new();
        // DescribeAlarms takes at most 100 names per call.
        for chunk in names.chunks(100) {
            let mut next: Option<String> = None;
            loop {
                let resp = client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .set_next_token(next.take())
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
                    Some(t) => next = Some(t.to_string()),
                    None => break,
                }
            }
        }
        Ok(out)
    }
}
