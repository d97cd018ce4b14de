"""Route 53 ARC routing controls as the cluster API reference and the ARC
developer guide say: a safety rule's refusal is a ConflictException ("There
was a conflict with this request. Try again.") whose message names the
rule's ARN, its resourceId the routing control in use; SafetyRulesToOverride
overrides it; at most 10 routing controls an UpdateRoutingControlStates call
("Quotas for routing control")."""

import pytest


@pytest.fixture
def cluster(emulator):
    config = emulator.client("route53-recovery-control-config")
    c = config.create_cluster(ClusterName="c")["Cluster"]
    controls = [
        config.create_routing_control(ClusterArn=c["ClusterArn"], RoutingControlName=f"rc{i}")["RoutingControl"]
        for i in range(12)
    ]
    panel_arn = controls[0]["ControlPanelArn"]
    rule = config.create_safety_rule(
        AssertionRule={
            "Name": "rc0-stays-on",
            "ControlPanelArn": panel_arn,
            "AssertedControls": [controls[0]["RoutingControlArn"]],
            "RuleConfig": {"Type": "ATLEAST", "Threshold": 1, "Inverted": False},
            "WaitPeriodMs": 5000,
        }
    )["AssertionRule"]["SafetyRuleArn"]
    endpoint = c["ClusterEndpoints"][0]
    data = emulator.client("route53-recovery-cluster", region=endpoint["Region"], endpoint=endpoint["Endpoint"])
    data.update_routing_control_state(RoutingControlArn=controls[0]["RoutingControlArn"], RoutingControlState="On")
    return data, [c["RoutingControlArn"] for c in controls], rule


def test_a_safety_rule_refusal_names_the_rule_in_its_message(cluster):
    data, controls, rule = cluster
    with pytest.raises(data.exceptions.ConflictException) as e:
        data.update_routing_control_state(RoutingControlArn=controls[0], RoutingControlState="Off")
    error = e.value.response
    assert rule in error["Error"]["Message"]
    assert error["resourceId"] == controls[0]
    assert data.get_routing_control_state(RoutingControlArn=controls[0])["RoutingControlState"] == "On"
    data.update_routing_control_state(
        RoutingControlArn=controls[0], RoutingControlState="Off", SafetyRulesToOverride=[rule]
    )
    assert data.get_routing_control_state(RoutingControlArn=controls[0])["RoutingControlState"] == "Off"


def test_at_most_10_routing_controls_an_update(cluster):
    data, controls, _ = cluster
    entries = [{"RoutingControlArn": arn, "RoutingControlState": "On"} for arn in controls[1:12]]
    with pytest.raises(data.exceptions.ServiceLimitExceededException):
        data.update_routing_control_states(UpdateRoutingControlStateEntries=entries)
    data.update_routing_control_states(UpdateRoutingControlStateEntries=entries[:10])


def test_five_regional_endpoints_serve_one_state_and_new_controls_are_off(emulator):
    config = emulator.client("route53-recovery-control-config")
    arn = config.create_cluster(ClusterName="five")["Cluster"]["ClusterArn"]
    control = config.create_routing_control(ClusterArn=arn, RoutingControlName="rc")["RoutingControl"]
    endpoints = config.describe_cluster(ClusterArn=arn)["Cluster"]["ClusterEndpoints"]
    assert sorted(e["Region"] for e in endpoints) == sorted(
        ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "ap-northeast-1"]
    )
    # What one endpoint sets, every other reads: one cluster behind them all.
    clients = [
        emulator.client("route53-recovery-cluster", region=e["Region"], endpoint=e["Endpoint"]) for e in endpoints
    ]
    rc = control["RoutingControlArn"]
    assert [c.get_routing_control_state(RoutingControlArn=rc)["RoutingControlState"] for c in clients] == ["Off"] * 5
    clients[-1].update_routing_control_state(RoutingControlArn=rc, RoutingControlState="On")
    assert [c.get_routing_control_state(RoutingControlArn=rc)["RoutingControlState"] for c in clients] == ["On"] * 5
