"""Capacity that takes a while to come, as AWS documents it: instances an
Auto Scaling raise launches are Pending before InService ("Amazon EC2 Auto
Scaling instance lifecycle"), a desired capacity outside MinSize..MaxSize is
a ValidationError (the UpdateAutoScalingGroup and SetDesiredCapacity API
references), and an ECS service's new tasks are PENDING before RUNNING, its
deployment IN_PROGRESS until steady, then COMPLETED (the Deployment data
type's reference)."""

import botocore.exceptions
import pytest


def _group(emulator, name="web-usw2", desired=1, max_size=4):
    asg, ec2 = emulator.client("autoscaling"), emulator.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    asg.create_launch_configuration(LaunchConfigurationName=f"{name}-lc", ImageId=image, InstanceType="t3.micro")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchConfigurationName=f"{name}-lc",
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=desired,
        DefaultInstanceWarmup=90,
        AvailabilityZones=["us-west-2a"],
    )
    return asg


def _states(asg, name="web-usw2"):
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return sorted(i["LifecycleState"] for i in group["Instances"])


def test_instances_a_raise_launches_are_pending_then_in_service(emulator):
    asg = _group(emulator)
    # Raised while its first instance still launches: that one counts, two more start.
    asg.update_auto_scaling_group(AutoScalingGroupName="web-usw2", DesiredCapacity=3)
    assert _states(asg) == ["Pending", "Pending", "Pending"]
    assert _states(asg) == ["InService", "InService", "InService"]
    asg.update_auto_scaling_group(AutoScalingGroupName="web-usw2", DesiredCapacity=4)
    assert _states(asg) == ["InService", "InService", "InService", "Pending"]
    assert _states(asg) == ["InService"] * 4


def test_a_desired_capacity_above_max_size_is_refused_and_changes_nothing(emulator):
    asg = _group(emulator, name="api-usw2")
    for call in (
        lambda: asg.update_auto_scaling_group(AutoScalingGroupName="api-usw2", DesiredCapacity=6),
        lambda: asg.set_desired_capacity(AutoScalingGroupName="api-usw2", DesiredCapacity=6),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert "max size:4" in refused.value.response["Error"]["Message"]
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["api-usw2"])["AutoScalingGroups"][0]
    assert (group["DesiredCapacity"], group["MaxSize"]) == (1, 4)
    assert group["DefaultInstanceWarmup"] == 90
    # Raising the max with it is accepted.
    asg.update_auto_scaling_group(AutoScalingGroupName="api-usw2", DesiredCapacity=6, MaxSize=6)
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["api-usw2"])["AutoScalingGroups"][0]
    assert (group["DesiredCapacity"], group["MaxSize"]) == (6, 6)


def _service(emulator, desired):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="prod-usw2")
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "api", "image": "api", "memory": 128}])
    ecs.create_service(
        cluster="prod-usw2",
        serviceName="api",
        taskDefinition="api",
        desiredCount=desired,
        healthCheckGracePeriodSeconds=45,
    )
    return ecs


def _counts(ecs):
    s = ecs.describe_services(cluster="prod-usw2", services=["api"])["services"][0]
    (deployment,) = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
    return (s["desiredCount"], s["runningCount"], s["pendingCount"], deployment["rolloutState"])


def test_a_raised_service_runs_its_new_tasks_after_a_while_then_is_steady(emulator):
    ecs = _service(emulator, desired=1)
    # A new service's tasks start too; the second describe finds them running.
    assert _counts(ecs) == (1, 0, 1, "IN_PROGRESS")
    assert _counts(ecs) == (1, 1, 0, "COMPLETED")
    described = ecs.describe_services(cluster="prod-usw2", services=["api"])["services"][0]
    assert described["healthCheckGracePeriodSeconds"] == 45
    ecs.update_service(cluster="prod-usw2", service="api", desiredCount=4)
    assert _counts(ecs) == (4, 1, 3, "IN_PROGRESS")
    assert _counts(ecs) == (4, 4, 0, "COMPLETED")
    # Fewer tasks: at once.
    ecs.update_service(cluster="prod-usw2", service="api", desiredCount=2)
    assert _counts(ecs) == (2, 2, 0, "COMPLETED")


def test_an_unknown_service_is_a_failure_entry_not_an_error(emulator):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="prod-usw2")
    answer = ecs.describe_services(cluster="prod-usw2", services=["nope"])
    assert answer["services"] == []
    assert answer["failures"][0]["reason"] == "MISSING"


def test_a_describe_takes_at_most_50_groups_or_10_services(emulator):
    """DescribeAutoScalingGroups: "By default, you can only specify up to 50
    names" (MaxRecords raises it to 100); DescribeServices: "up to 10
    services"."""
    asg, ecs = emulator.client("autoscaling"), emulator.client("ecs")
    names = [f"g{i}" for i in range(51)]
    with pytest.raises(botocore.exceptions.ClientError) as many:
        asg.describe_auto_scaling_groups(AutoScalingGroupNames=names)
    assert many.value.response["Error"]["Code"] == "ValidationError"
    asg.describe_auto_scaling_groups(AutoScalingGroupNames=names[:50])
    asg.describe_auto_scaling_groups(AutoScalingGroupNames=names, MaxRecords=100)
    ecs.create_cluster(clusterName="limits")
    with pytest.raises(botocore.exceptions.ClientError) as eleven:
        ecs.describe_services(cluster="limits", services=[f"s{i}" for i in range(11)])
    assert eleven.value.response["Error"]["Code"] == "InvalidParameterException"
    ecs.describe_services(cluster="limits", services=[f"s{i}" for i in range(10)])
