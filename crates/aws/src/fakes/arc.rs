//! Route 53 ARC's routing-control data plane in memory.

use super::prelude::*;

/// A Route 53 ARC cluster's data plane in memory: routing controls, ATLEAST
/// assertion rules, and endpoints whose Region can be made dark.
#[derive(Debug, Default)]
pub struct FakeArc {
    pub controls: Mutex<BTreeMap<String, ControlState>>,
    /// (rule ARN, asserted controls, at least this many On).
    pub rules: Mutex<Vec<(String, Vec<String>, usize)>>,
    /// Endpoints in these Regions do not answer.
    pub dark_regions: Mutex<Vec<String>>,
    pub calls: Mutex<ApiCalls>,
    /// Each UpdateRoutingControlStates that went through: its entries.
    pub updates: Mutex<Vec<Vec<(String, ControlState)>>>,
}

impl FakeArc {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self, arn: &str, state: ControlState) {
        lock(&self.controls).insert(arn.to_string(), state);
    }
    pub fn get(&self, arn: &str) -> Option<ControlState> {
        lock(&self.controls).get(arn).copied()
    }
    fn endpoint<'a>(&self, endpoints: &'a [ClusterEndpoint], op: &str) -> Result<&'a ClusterEndpoint, AwsError> {
        let dark = lock(&self.dark_regions).clone();
        for e in endpoints {
            lock(&self.calls).add(&format!("route53-recovery-cluster:{op}"), 1);
            if !dark.contains(&e.region) {
                return Ok(e);
            }
        }
        Err(AwsError::Unavailable(
            "no ARC cluster endpoint answered (fake outage)".into(),
        ))
    }
}

#[async_trait]
impl RoutingControls for FakeArc {
    async fn states(
        &self,
        endpoints: &[ClusterEndpoint],
        arns: &[String],
    ) -> Result<ArcAnswer<ControlStates>, AwsError> {
        let e = self.endpoint(endpoints, "GetRoutingControlState")?;
        let controls = lock(&self.controls);
        Ok(ArcAnswer {
            value: arns
                .iter()
                .filter_map(|a| controls.get(a).map(|s| (a.clone(), *s)))
                .collect(),
            endpoint_region: e.region.clone(),
            skipped: vec![],
        })
    }

    async fn update(
        &self,
        endpoints: &[ClusterEndpoint],
        entries: &[(String, ControlState)],
        override_rules: &[String],
    ) -> Result<ArcAnswer<()>, ArcUpdateError> {
        let e = self.endpoint(endpoints, "UpdateRoutingControlStates")?;
        let mut controls = lock(&self.controls);
        let mut after = controls.clone();
        for (arn, state) in entries {
            if !after.contains_key(arn) {
                return Err(AwsError::NotFound(format!("ResourceNotFoundException: {arn}")).into());
            }
            after.insert(arn.clone(), *state);
        }
        for (rule, asserted, at_least) in lock(&self.rules).iter() {
            let on = asserted
                .iter()
                .filter(|a| after.get(*a) == Some(&ControlState::On))
                .count();
            if on < *at_least && !override_rules.contains(rule) {
                return Err(ArcUpdateError::SafetyRule {
                    rule: rule.clone(),
                    message: format!("at least {at_least} of {} must be On", asserted.join(", ")),
                });
            }
        }
        *controls = after;
        lock(&self.updates).push(entries.to_vec());
        Ok(ArcAnswer {
            value: (),
            endpoint_region: e.region.clone(),
            skipped: vec![],
        })
    }
}
