//! CloudWatch alarm states in memory.

use super::prelude::*;

/// CloudWatch alarms in memory, by Region.
#[derive(Debug, Default)]
pub struct FakeAlarms {
    states: Mutex<BTreeMap<(String, String), String>>,
    pub calls: Mutex<ApiCalls>,
    /// Errors the next reads fail with (throttling, a dark Region).
    pub fail_reads: Mutex<VecDeque<AwsError>>,
    /// Composite alarms whose rule is ALARM(child): (Region, name) → child.
    composites: Mutex<BTreeMap<(String, String), String>>,
}

impl FakeAlarms {
    pub fn set(&self, region: &str, name: &str, state: &str) {
        lock(&self.states).insert((region.to_string(), name.to_string()), state.to_string());
    }
    /// A composite alarm in ALARM when `child` is, OK otherwise.
    pub fn set_composite(&self, region: &str, name: &str, child: &str) {
        lock(&self.composites).insert((region.to_string(), name.to_string()), child.to_string());
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
        let composites = lock(&self.composites);
        Ok(names
            .iter()
            .filter_map(|n| {
                let key = (region.to_string(), n.clone());
                if let Some(child) = composites.get(&key) {
                    let child_state = states.get(&(region.to_string(), child.clone()));
                    let state = if child_state.map(String::as_str) == Some("ALARM") {
                        "ALARM"
                    } else {
                        "OK"
                    };
                    return Some((n.clone(), state.to_string()));
                }
                states.get(&key).map(|s| (n.clone(), s.clone()))
            })
            .collect())
    }
}
