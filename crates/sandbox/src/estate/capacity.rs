//! An app's compute in the sample estate: an Auto Scaling group and an ECS
//! service in each Region, full in the primary, pilot light in the
//! secondary, and the registry's capacity steps that name them.

use super::{PRIMARY, SECONDARY, SeedError, seed_err};
use aws_config::SdkConfig;
use lifeboat_core::registry::{BySide, CapacityStep, EcsService};

/// The primary's group runs this many instances, its service this many tasks.
pub const PRIMARY_INSTANCES: i32 = 4;
pub const PRIMARY_TASKS: i32 = 3;
/// The secondary's pilot light: one instance (MaxSize 2, below what a move
/// needs: the raise lifts it), no tasks.
pub const PILOT_INSTANCES: i32 = 1;
const PILOT_MAX: i32 = 2;

fn short(region: &str) -> &'static str {
    if region == PRIMARY { "use1" } else { "usw2" }
}

/// Creates `app`'s group and service in both Regions (names prefixed by
/// `namespace`); returns its capacity steps: the group, then the service.
pub async fn seed_capacity(config: &SdkConfig, namespace: &str, app: &str) -> Result<Vec<CapacityStep>, SeedError> {
    let name = |region: &str| format!("{namespace}-{app}-{}", short(region));
    let cluster = |region: &str| format!("{namespace}-{}", short(region));
    for (region, desired, max, tasks) in [
        (PRIMARY, PRIMARY_INSTANCES, PRIMARY_INSTANCES, PRIMARY_TASKS),
        (SECONDARY, PILOT_INSTANCES, PILOT_MAX, 0),
    ] {
        let asg = aws_sdk_autoscaling::Client::from_conf(
            aws_sdk_autoscaling::config::Builder::from(config)
                .region(aws_config::Region::new(region))
                .build(),
        );
        let group = name(region);
        asg.create_launch_configuration()
            .launch_configuration_name(format!("{group}-lc"))
            .image_id("ami-12c6146b")
            .instance_type("t3.micro")
            .send()
            .await
            .map_err(seed_err(format!("CreateLaunchConfiguration {group}-lc in {region}")))?;
        asg.create_auto_scaling_group()
            .auto_scaling_group_name(&group)
            .launch_configuration_name(format!("{group}-lc"))
            .min_size(0)
            .max_size(max)
            .desired_capacity(desired)
            .default_instance_warmup(120)
            .availability_zones(format!("{region}a"))
            .send()
            .await
            .map_err(seed_err(format!("CreateAutoScalingGroup {group} in {region}")))?;
        let ecs = aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(config)
                .region(aws_config::Region::new(region))
                .build(),
        );
        let cluster = cluster(region);
        // One cluster per Region holds every app's service (created once, again harmlessly).
        ecs.create_cluster()
            .cluster_name(&cluster)
            .send()
            .await
            .map_err(seed_err(format!("ECS CreateCluster {cluster} in {region}")))?;
        let container = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name(app)
            .image(format!("{app}:latest"))
            .memory(256)
            .build();
        ecs.register_task_definition()
            .family(app)
            .container_definitions(container)
            .send()
            .await
            .map_err(seed_err(format!("ECS RegisterTaskDefinition {app} in {region}")))?;
        ecs.create_service()
            .cluster(&cluster)
            .service_name(app)
            .task_definition(app)
            .desired_count(tasks)
            .health_check_grace_period_seconds(60)
            .send()
            .await
            .map_err(seed_err(format!("ECS CreateService {cluster}/{app} in {region}")))?;
    }
    Ok(capacity_steps(namespace, app))
}

/// The registry's capacity steps for `app`'s seeded group and service.
pub fn capacity_steps(namespace: &str, app: &str) -> Vec<CapacityStep> {
    let name = |region: &str| format!("{namespace}-{app}-{}", short(region));
    let cluster = |region: &str| format!("{namespace}-{}", short(region));
    let by = |f: &dyn Fn(&str) -> String| BySide {
        primary: f(PRIMARY),
        secondary: f(SECONDARY),
    };
    vec![
        CapacityStep {
            asg: Some(by(&name)),
            ecs: None,
            percent: 100,
            deadline_seconds: 600,
            interval_seconds: 15,
        },
        CapacityStep {
            asg: None,
            ecs: Some(EcsService {
                cluster: by(&cluster),
                service: by(&|_| app.to_string()),
            }),
            percent: 100,
            deadline_seconds: 600,
            interval_seconds: 15,
        },
    ]
}
