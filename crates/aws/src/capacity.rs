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

/// DescribeAutoScalingGroups takes 50 names a call by default (its API reference).
pub const GROUPS_PER_DESCRIBE: usize = 50;
/// DescribeServices takes 10 services a call, of one cluster (its API reference).
pub const SERVICES_PER_DESCRIBE: usize = 10;

/// The names of one call, for its error: the first, and how many more.
fn named(names: &[&str]) -> String {
    match names {
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
        [] => String::new(),
    }
}

/// A group as DescribeAutoScalingGroups says it.
fn group_state(g: &aws_sdk_autoscaling::types::AutoScalingGroup) -> CapacityState {
    let in_service = g
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
        .count();
    let warmup = g
        .default_instance_warmup()
        .or(g.health_check_grace_period())
        .filter(|s| *s > 0);
    CapacityState {
        reading: Reading {
            desired: count(g.desired_capacity()),
            ready: u32::try_from(in_service).unwrap_or(u32::MAX),
            max: Some(count(g.max_size())),
        },
        min: Some(count(g.min_size())),
        steady: true,
        warmup_seconds: warmup.map(|s| count(Some(s))),
    }
}

/// An ACTIVE service as DescribeServices says it.
fn service_state(s: &aws_sdk_ecs::types::Service) -> CapacityState {
    let (desired, running) = (count(Some(s.desired_count())), count(Some(s.running_count())));
    // ECS's steady state: one deployment, every desired task running, its rollout (when reported) done.
    let deployments = s.deployments();
    let rollout_done = deployments
        .iter()
        .filter(|d| d.status() == Some("PRIMARY"))
        .all(|d| d.rollout_state().is_none_or(|r| r.as_str() == "COMPLETED"));
    CapacityState {
        reading: Reading {
            desired,
            ready: running,
            max: None,
        },
        min: None,
        steady: deployments.len() <= 1 && rollout_done && running >= desired,
        warmup_seconds: s.health_check_grace_period_seconds().map(|s| count(Some(s))),
    }
}

impl AwsCapacity {
    /// Groups of one Region, 50 names a call.
    async fn describe_groups(
        &self,
        region: &str,
        names: &[&str],
    ) -> Vec<(Scalable, Result<Option<CapacityState>, AwsError>)> {
        let mut out = Vec::new();
        for chunk in names.chunks(GROUPS_PER_DESCRIBE) {
            let answer = self
                .clients
                .autoscaling(region, self.best_effort)
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(Some(chunk.iter().map(|n| n.to_string()).collect()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&format!("DescribeAutoScalingGroups {} in {region}", named(chunk)), e));
            for name in chunk {
                let resource = Scalable::Asg {
                    region: region.to_string(),
                    name: name.to_string(),
                };
                let state = match &answer {
                    Ok(o) => Ok(o
                        .auto_scaling_groups()
                        .iter()
                        .find(|g| g.auto_scaling_group_name() == Some(*name))
                        .map(group_state)),
                    Err(e) => Err(e.clone()),
                };
                out.push((resource, state));
            }
        }
        out
    }

    /// Services of one cluster, 10 a call.
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[&str],
    ) -> Vec<(Scalable, Result<Option<CapacityState>, AwsError>)> {
        let mut out = Vec::new();
        for chunk in services.chunks(SERVICES_PER_DESCRIBE) {
            let answer = self
                .clients
                .ecs(region, self.best_effort)
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.iter().map(|n| n.to_string()).collect()))
                .send()
                .await;
            // A missing cluster answers for all: none of its services exists.
            let answer = match answer {
                Err(e) if ecs_missing(&e) => Ok(None),
                Ok(o) => Ok(Some(o)),
                Err(e) => Err(AwsError::from_sdk(
                    &format!("ECS DescribeServices {cluster}/{} in {region}", named(chunk)),
                    e,
                )),
            };
            for service in chunk {
                let resource = Scalable::Ecs {
                    region: region.to_string(),
                    cluster: cluster.to_string(),
                    service: service.to_string(),
                };
                let state = match &answer {
                    Ok(Some(o)) => Ok(o
                        .services()
                        .iter()
                        // The registry may name a service or give its ARN.
                        .find(|s| {
                            (s.service_name() == Some(*service) || s.service_arn() == Some(*service))
                                && s.status() == Some("ACTIVE")
                        })
                        .map(service_state)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e.clone()),
                };
                out.push((resource, state));
            }
        }
        out
    }
}

#[async_trait]
impl Capacity for AwsCapacity {
    async fn describe(&self, resource: &Scalable) -> Result<Option<CapacityState>, AwsError> {
        let mut answer = self.describe_many(std::slice::from_ref(resource)).await;
        answer.pop().map_or(Ok(None), |(_, state)| state)
    }

    async fn describe_many(&self, resources: &[Scalable]) -> Vec<(Scalable, Result<Option<CapacityState>, AwsError>)> {
        let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        let mut services: std::collections::BTreeMap<(&str, &str), Vec<&str>> = Default::default();
        for r in resources {
            match r {
                Scalable::Asg { region, name } => groups.entry(region).or_default().push(name),
                Scalable::Ecs {
                    region,
                    cluster,
                    service,
                } => services.entry((region, cluster)).or_default().push(service),
            }
        }
        let mut out = Vec::with_capacity(resources.len());
        for (region, names) in groups {
            out.extend(self.describe_groups(region, &names).await);
        }
        for ((region, cluster), names) in services {
            out.extend(self.describe_services(region, cluster, &names).await);
        }
        out
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
