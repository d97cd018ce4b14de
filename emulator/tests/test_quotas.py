"""Rate quotas as AWS documents them (quotas.py names each page): Route 53's
account and per-operation buckets ("Throttling for Amazon Route 53 API
requests"), CloudWatch's per-Region TPS ("CloudWatch service quotas"), RDS's
burst and sustained rate ("Request throttling for the Amazon RDS API"),
ARC's mutating calls per cluster endpoint ("Quotas for routing control")."""

import json
import urllib.request
import uuid

import pytest


def _throttles(emulator):
    with urllib.request.urlopen(emulator.endpoint + "/lifeboat-emulator/quotas", timeout=5) as r:
        return json.loads(r.read())["throttled"]


def _until_throttled(call, limit):
    for n in range(1, limit + 1):
        try:
            call()
        except Exception as e:  # noqa: BLE001 - any client error ends the count; the code is checked
            return n, e
    return None, None


def test_get_health_check_status_has_a_bucket_of_4(quota_emulator):
    emulator = quota_emulator
    r53 = emulator.client("route53")
    check = r53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={"Type": "HTTP", "FullyQualifiedDomainName": "a.example.com", "Port": 80},
    )["HealthCheck"]["Id"]
    n, error = _until_throttled(lambda: r53.get_health_check_status(HealthCheckId=check), 20)
    assert n == 5, "4 in a burst, then about one a second"
    assert error.response["Error"]["Code"] == "Throttling"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _throttles(quota_emulator) == {"route53:GetHealthCheckStatus": 1}
    # What a test does to build its estate is exempt.
    setup = emulator.client("route53", key="setup")
    for _ in range(10):
        setup.get_health_check_status(HealthCheckId=check)


def test_describe_alarms_is_9_a_second_per_region(quota_emulator):
    emulator = quota_emulator
    west, east = emulator.client("cloudwatch"), emulator.client("cloudwatch", region="us-east-1")
    n, error = _until_throttled(west.describe_alarms, 40)
    assert n is not None and 10 <= n <= 12, n
    assert error.response["Error"]["Code"] == "Throttling"
    east.describe_alarms()  # another Region, another bucket


def test_rds_allows_a_burst_of_300_then_12_a_second(quota_emulator):
    emulator = quota_emulator
    rds = emulator.client("rds")
    n, error = _until_throttled(rds.describe_db_instances, 900)
    assert n is not None and n > 300, n
    assert error.response["Error"]["Code"] == "ThrottlingException"


@pytest.fixture
def arc_cluster(quota_emulator):
    emulator = quota_emulator
    config = emulator.client("route53-recovery-control-config")
    cluster = config.create_cluster(ClusterName="c")["Cluster"]
    controls = [
        config.create_routing_control(ClusterArn=cluster["ClusterArn"], RoutingControlName=f"rc{i}")["RoutingControl"][
            "RoutingControlArn"
        ]
        for i in range(2)
    ]
    return cluster["ClusterEndpoints"], controls


def test_arc_takes_3_mutating_calls_a_second_per_cluster_endpoint(quota_emulator, arc_cluster):
    emulator = quota_emulator
    endpoints, controls = arc_cluster

    def client(endpoint):
        return emulator.client("route53-recovery-cluster", region=endpoint["Region"], endpoint=endpoint["Endpoint"])

    first, second = client(endpoints[0]), client(endpoints[1])

    def update():
        first.update_routing_control_state(RoutingControlArn=controls[0], RoutingControlState="On")

    n, error = _until_throttled(update, 10)
    assert n == 4, n
    assert error.response["Error"]["Code"] == "ThrottlingException"
    # Reads are not mutating calls; another endpoint has its own quota.
    first.get_routing_control_state(RoutingControlArn=controls[0])
    second.update_routing_control_state(RoutingControlArn=controls[1], RoutingControlState="On")


def test_quota_mode_can_be_turned_off(quota_emulator):
    emulator = quota_emulator
    emulator.control("/lifeboat-emulator/quotas", {"enabled": False})
    try:
        cw = emulator.client("cloudwatch")
        for _ in range(30):
            cw.describe_alarms()
    finally:
        emulator.control("/lifeboat-emulator/quotas", {"enabled": True})
