//! Route 53 ARC routing-control adapter: the cluster's data plane only
//! (GetRoutingControlState, UpdateRoutingControlStates), one regional endpoint
//! after another until one answers, as AWS advises. Each endpoint's requests
//! are signed for its own Region, so an outage of one Region costs one short
//! timeout, not the run.

use crate::calls::CallCounter;
use crate::error::AwsError;
use crate::ports::{ArcAnswer, ArcUpdateError, RoutingControls};
use async_trait::async_trait;
use aws_config::{Region, SdkConfig};
use aws_sdk_route53recoverycluster::operation::update_routing_control_states::UpdateRoutingControlStatesError;
use aws_sdk_route53recoverycluster::types::{RoutingControlState, UpdateRoutingControlStateEntry};
use futures::StreamExt;
use lifeboat_core::registry::ClusterEndpoint;
use lifeboat_core::traffic::{ControlState, ControlStates};
use std::future::Future;

/// The cluster's data plane through the SDK.
#[derive(Debug, Clone)]
pub struct ArcCluster {
    config: SdkConfig,
    counter: CallCounter,
}

impl ArcCluster {
    pub fn new(config: SdkConfig, counter: CallCounter) -> Self {
        ArcCluster { config, counter }
    }

    fn client(&self, endpoint: &ClusterEndpoint) -> aws_sdk_route53recoverycluster::Client {
        aws_sdk_route53recoverycluster::Client::from_conf(
            aws_sdk_route53recoverycluster::config::Builder::from(&self.config)
                .region(Region::new(endpoint.region.clone()))
                .endpoint_url(&endpoint.url)
                // One quick attempt: the next endpoint is the retry.
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
                .timeout_config(crate::clients::timeouts(2, 5))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// Runs `call` on each endpoint in turn until one answers (any answer
    /// that is not "unavailable", throttled or an internal error counts).
    async fn first_answer<T, E, F, Fut>(&self, endpoints: &[ClusterEndpoint], call: F) -> Result<ArcAnswer<T>, E>
    where
        F: Fn(aws_sdk_route53recoverycluster::Client, ClusterEndpoint) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: TryNext + From<AwsError>,
    {
        let mut skipped = Vec::new();
        for endpoint in endpoints {
            match call(self.client(endpoint), endpoint.clone()).await {
                Ok(value) => {
                    return Ok(ArcAnswer {
                        value,
                        endpoint_region: endpoint.region.clone(),
                        skipped,
                    });
                }
                Err(e) if e.try_next() => {
                    tracing::warn!(endpoint = %endpoint.url, region = %endpoint.region, error = %e.describe(), "ARC endpoint did not answer; trying the next");
                    skipped.push(format!("{} ({}): {}", endpoint.region, endpoint.url, e.describe()));
                }
                Err(e) => return Err(e),
            }
        }
        Err(E::from(AwsError::Unavailable(if endpoints.is_empty() {
            "no ARC cluster endpoint is configured (routing_control_cluster.endpoints)".into()
        } else {
            format!("no ARC cluster endpoint answered: {}", skipped.join("; "))
        })))
    }
}

/// Whether an error means "try the cluster's next endpoint".
trait TryNext {
    fn try_next(&self) -> bool;
    fn describe(&self) -> String;
}

impl TryNext for AwsError {
    fn try_next(&self) -> bool {
        // EndpointTemporarilyUnavailableException and InternalServerException
        // are ARC's own words for "ask another endpoint".
        matches!(self, AwsError::Unavailable(_) | AwsError::Throttled(_))
            || matches!(self, AwsError::Other(m) if m.contains("EndpointTemporarilyUnavailable") || m.contains("InternalServer"))
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl TryNext for ArcUpdateError {
    fn try_next(&self) -> bool {
        match self {
            ArcUpdateError::Aws(e) => e.try_next(),
            ArcUpdateError::Conflict(_) => true,
            ArcUpdateError::SafetyRule { .. } => false,
        }
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

/// The safety rule's ARN in a ConflictException's message, if it names one
/// (`arn:...:route53-recovery-control::ACCOUNT:controlpanel/ID/safetyrule/ID`).
pub fn safety_rule_in(message: &str) -> Option<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | ';' | '"' | '\''))
        .map(|w| w.trim_end_matches(['.', ':']))
        .find(|w| w.starts_with("arn:") && w.contains(":route53-recovery-control:") && w.contains("/safetyrule/"))
        .map(str::to_string)
}

fn state_to_sdk(s: ControlState) -> RoutingControlState {
    match s {
        ControlState::On => RoutingControlState::On,
        ControlState::Off => RoutingControlState::Off,
    }
}

/// Routing-control reads in flight at once on one endpoint.
const READ_CONCURRENCY: usize = 8;

#[async_trait]
impl RoutingControls for ArcCluster {
    async fn states(
        &self,
        endpoints: &[ClusterEndpoint],
        arns: &[String],
    ) -> Result<ArcAnswer<ControlStates>, AwsError> {
        let wanted: Vec<String> = arns
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        self.first_answer(endpoints, |client, endpoint| {
            let wanted = wanted.clone();
            async move {
                // GetRoutingControlState per control, a few at a time: its IAM
                // resource is the routing control, so the functions' policies
                // name exactly the registry's controls.
                let reads = futures::stream::iter(wanted.into_iter().map(|arn| {
                    let client = client.clone();
                    let url = endpoint.url.clone();
                    async move {
                        match client
                            .get_routing_control_state()
                            .routing_control_arn(&arn)
                            .send()
                            .await
                        {
                            Ok(out) => Ok(
                                ControlState::parse_any_case(out.routing_control_state().as_str()).map(|s| (arn, s))
                            ),
                            Err(e) => match AwsError::from_sdk(&format!("GetRoutingControlState {arn} at {url}"), e) {
                                // A control the cluster does not have: absent, for validate to name.
                                AwsError::NotFound(_) => Ok(None),
                                other => Err(other),
                            },
                        }
                    }
                }))
                .buffer_unordered(READ_CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
                let mut out = ControlStates::new();
                for r in reads {
                    if let Some((arn, state)) = r? {
                        out.insert(arn, state);
                    }
                }
                Ok(out)
            }
        })
        .await
    }

    async fn update(
        &self,
        endpoints: &[ClusterEndpoint],
        entries: &[(String, ControlState)],
        override_rules: &[String],
    ) -> Result<ArcAnswer<()>, ArcUpdateError> {
        let sdk_entries = entries
            .iter()
            .map(|(arn, state)| {
                UpdateRoutingControlStateEntry::builder()
                    .routing_control_arn(arn)
                    .routing_control_state(state_to_sdk(*state))
                    .build()
                    .map_err(|e| ArcUpdateError::Aws(AwsError::Other(e.to_string())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let overrides = override_rules.to_vec();
        self.first_answer(endpoints, |client, endpoint| {
            let sdk_entries = sdk_entries.clone();
            let overrides = overrides.clone();
            async move {
                // ARC takes 3 mutating calls a second at each cluster endpoint.
                crate::pacing::pace(
                    &format!("arc:{}", endpoint.url),
                    crate::pacing::ARC_MUTATING_PER_ENDPOINT,
                )
                .await;
                let result = client
                    .update_routing_control_states()
                    .set_update_routing_control_state_entries(Some(sdk_entries))
                    .set_safety_rules_to_override((!overrides.is_empty()).then_some(overrides))
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        if let Some(UpdateRoutingControlStatesError::ConflictException(c)) = e.as_service_error() {
                            // A safety rule's refusal names the rule's ARN in its message
                            // (the resourceId is the routing control in use). A conflict
                            // that names no rule is ARC's "try again": the next endpoint.
                            return Err(match safety_rule_in(c.message()) {
                                Some(rule) => ArcUpdateError::SafetyRule {
                                    rule,
                                    message: c.message().to_string(),
                                },
                                None => ArcUpdateError::Conflict(format!(
                                    "UpdateRoutingControlStates at {}: ConflictException: {}",
                                    endpoint.url,
                                    c.message()
                                )),
                            });
                        }
                        Err(ArcUpdateError::Aws(AwsError::from_sdk(
                            &format!("UpdateRoutingControlStates at {}", endpoint.url),
                            e,
                        )))
                    }
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_conflict_that_names_a_safety_rule_is_a_safety_rule_refusal() {
        let rule = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc/safetyrule/def";
        for message in [
            format!(
                "Cannot update routing control states: the update would violate safety rule {rule} (at-least-one)."
            ),
            format!("safety rule violated: {rule}"),
            format!("[{rule}]"),
        ] {
            assert_eq!(safety_rule_in(&message).as_deref(), Some(rule), "{message}");
        }
        assert_eq!(
            safety_rule_in("There was a conflict with this request. Try again."),
            None
        );
        // A routing control's ARN is not a rule's.
        assert_eq!(
            safety_rule_in("in use: arn:aws:route53-recovery-control::1:controlpanel/abc/routingcontrol/x"),
            None
        );
    }
}
