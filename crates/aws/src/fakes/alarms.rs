//! CloudWatch alarm states in memory.

use super::prelude::*;

/// CloudWatch alarms in memory, by Region.
#[derive(Debug, Default)]
pub struct FakeAlarms {
    states: Mutex<BTreeMap<(String, String), String>>,
    pub calls: Mutex<ApiCalls>,
    /// Errors the next reads fail with (throttling, a dark Region).
    pub fail_reads: Mutex<VecDeque<AwsError>>,
}

impl FakeAlarms {
    pub fn set(&self, region: &str, name: &str, state: &str) {
        lock(&self.states).insert((region.to_string(), name.to_string()), state.to_string());
    }
}

#[async_trait]
impl AlarmStates for FakeAlarms {
    async fn alarm_states(&self, region: &str, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
        lock(&self.calls).add("cloudwatch:DescribeAlarms", 1);
        if let Some(e) = lock(&self.fail_reads).pop_front() {
            return Err(e);
        }
        let states = lock(&self.states);
        Ok(names
            .iter()
            .filter_map(|n| {
                states
                    .get(&(region.to_string(), n.clone()))
                    .map(|s| (n.clone(), s.clone()))
            })
            .collect())
    }
}
