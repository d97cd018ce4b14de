//! EC2 Auto Scaling groups and ECS services through the SDK, in their Region.
//!
//! Auto Scaling: DescribeAutoScalingGroups (desired, MinSize, MaxSize, the
//! instances InService) and UpdateAutoScalingGroup (DesiredCapacity, and
//! MaxSize when it must move: a desired count above MaxSize is a
//! ValidationError). ECS: DescribeServices (desiredCount, runningCount, the
//! deployments; an unknown service is a `failures` entry, not an error) and
//! UpdateService (desiredCount).

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::ports::{Capacity, CapacityState};
use async_trait::async_trait;
use lifeboat_core::capacity::{Reading, Scalable};

/// Auto Scaling and ECS, one client per Region made on demand.
#[derive(Debug, Clone)]
pub struct AwsCapacity {
    clients: AwsClients,
    /// One short attempt per call: for a source Region that may be dark.
    best_effort: bool,
}

impl AwsCapacity {
    pub fn new(clients: AwsClients) -> Self {
        AwsCapacity {
            clients,
            best_effort: false,
        }
    }

    /// Reads that give up after one short attempt (the source Region in a disaster).
    pub fn best_effort(clients: AwsClients) -> Self {
        AwsCapacity {
            clients,
            best_effort: true,
        }
    }
}

/// ECS names a missing cluster or service by its own codes.
fn ecs_missing<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    e.as_service_error().and_then(|e| e.code()).is_some_and(|c| {
        matches!(
            c,
            "ClusterNotFoundException" | "ServiceNotFoundException" | "ServiceNotActiveException"
        )
    })
}

fn count(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl Capacity for AwsCapacity {
    async fn describe(&self, resource: &Scalable) -> Result<Option<CapacityState>, AwsError> {
        match resource {
            Scalable::Asg { region, name } => {
                let out = self
                    .clients
                    .autoscaling(region, self.best_effort)
                    .describe_auto_scaling_groups()
                    .auto_scaling_group_names(name)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(&format!("DescribeAutoScalingGroups {name} in {region}"), e))?;
                let Some(g) = out
                    .auto_scaling_groups()
                    .iter()
                    .find(|g| g.auto_scaling_group_name() == Some(name))
                else {
                    return Ok(None);
                };
                let in_service = g
                    .instances()
                    .iter()
                    .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
                    .count();
                let warmup = g
                    .default_instance_warmup()
                    .or(g.health_check_grace_period())
                    .filter(|s| *s > 0);
                Ok(Some(CapacityState {
                    reading: Reading {
                        desired: count(g.desired_capacity()),
                        ready: u32::try_from(in_service).unwrap_or(u32::MAX),
                        max: Some(count(g.max_size())),
                    },
                    min: Some(count(g.min_size())),
                    steady: true,
                    warmup_seconds: warmup.map(|s| count(Some(s))),
                }))
            }
            Scalable::Ecs {
                region,
                cluster,
                service,
            } => {
                let answer = self
                    .clients
                    .ecs(region, self.best_effort)
                    .describe_services()
                    .cluster(cluster)
                    .services(service)
                    .send()
                    .await;
                let out = match answer {
                    Err(e) if ecs_missing(&e) => return Ok(None),
                    other => other.map_err(|e| {
                        AwsError::from_sdk(&format!("ECS DescribeServices {cluster}/{service} in {region}"), e)
                    })?,
                };
                // A deleted service stays describable for a while as INACTIVE: it serves nothing.
                let Some(s) = out.services().iter().find(|s| s.status() == Some("ACTIVE")) else {
                    return Ok(None);
                };
                let (desired, running) = (count(Some(s.desired_count())), count(Some(s.running_count())));
                // ECS's steady state: one deployment, every desired task running, its rollout (when reported) done.
                let deployments = s.deployments();
                let rollout_done = deployments
                    .iter()
                    .filter(|d| d.status() == Some("PRIMARY"))
                    .all(|d| d.rollout_state().is_none_or(|r| r.as_str() == "COMPLETED"));
                Ok(Some(CapacityState {
                    reading: Reading {
                        desired,
                        ready: running,
                        max: None,
                    },
                    min: None,
                    steady: deployments.len() <= 1 && rollout_done && running >= desired,
                    warmup_seconds: s.health_check_grace_period_seconds().map(|s| count(Some(s))),
                }))
            }
        }
    }

    async fn set_desired(&self, resource: &Scalable, desired: u32, max: Option<u32>) -> Result<(), AwsError> {
        match resource {
            Scalable::Asg { region, name } => {
                self.clients
                    .autoscaling(region, self.best_effort)
                    .update_auto_scaling_group()
                    .auto_scaling_group_name(name)
                    .desired_capacity(to_i32(desired))
                    .set_max_size(max.map(to_i32))
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(&format!("UpdateAutoScalingGroup {name} in {region}"), e))?;
            }
            Scalable::Ecs {
                region,
                cluster,
                service,
            } => {
                self.clients
                    .ecs(region, self.best_effort)
                    .update_service()
                    .cluster(cluster)
                    .service(service)
                    .desired_count(to_i32(desired))
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::from_sdk(&format!("ECS UpdateService {cluster}/{service} in {region}"), e)
                    })?;
            }
        }
        Ok(())
    }
}
