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


MEMBER_ROLE = "arn:aws:iam::222233334444:role/arc-member"


def _member_client(emulator, service, region="us-west-2", endpoint=None):
    """A client acting as the member account's role (assumed as AWS would)."""
    import boto3

    emulator.control(
        "/lifeboat-emulator/sts/roles",
        {"role_arn": MEMBER_ROLE, "trusted_account": "123456789012", "external_id": "x1"},
    )
    creds = emulator.client("sts").assume_role(RoleArn=MEMBER_ROLE, RoleSessionName="member", ExternalId="x1")[
        "Credentials"
    ]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint or emulator.endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=boto3.session.Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_a_shared_cluster_hosts_another_accounts_controls_which_only_it_may_read_or_set(emulator):
    """ "Support cross-account for clusters in ARC": a cluster shared through
    AWS RAM hosts the participant's own control panels and routing controls."""
    home = emulator.client("route53-recovery-control-config")
    cluster = home.create_cluster(ClusterName="shared")["Cluster"]
    member = _member_client(emulator, "route53-recovery-control-config")
    with pytest.raises(member.exceptions.AccessDeniedException):
        member.create_control_panel(ClusterArn=cluster["ClusterArn"], ControlPanelName="p")
    emulator.control(
        "/lifeboat-emulator/arc/clusters/share", {"cluster_arn": cluster["ClusterArn"], "account": "222233334444"}
    )
    panel = member.create_control_panel(ClusterArn=cluster["ClusterArn"], ControlPanelName="p")["ControlPanel"]
    assert panel["Owner"] == "222233334444"
    assert ":222233334444:controlpanel/" in panel["ControlPanelArn"]
    with pytest.raises(home.exceptions.AccessDeniedException):
        home.create_routing_control(
            ClusterArn=cluster["ClusterArn"], ControlPanelArn=panel["ControlPanelArn"], RoutingControlName="x"
        )
    control = member.create_routing_control(
        ClusterArn=cluster["ClusterArn"], ControlPanelArn=panel["ControlPanelArn"], RoutingControlName="rc"
    )["RoutingControl"]["RoutingControlArn"]
    endpoint = cluster["ClusterEndpoints"][1]
    as_member = _member_client(emulator, "route53-recovery-cluster", endpoint["Region"], endpoint["Endpoint"])
    as_home = emulator.client("route53-recovery-cluster", region=endpoint["Region"], endpoint=endpoint["Endpoint"])
    as_member.update_routing_control_state(RoutingControlArn=control, RoutingControlState="On")
    assert as_member.get_routing_control_state(RoutingControlArn=control)["RoutingControlState"] == "On"
    with pytest.raises(as_home.exceptions.AccessDeniedException):
        as_home.update_routing_control_state(RoutingControlArn=control, RoutingControlState="Off")
    with pytest.raises(as_home.exceptions.AccessDeniedException):
        as_home.get_routing_control_state(RoutingControlArn=control)
    assert control not in [c["RoutingControlArn"] for c in as_home.list_routing_controls()["RoutingControls"]]
    assert as_member.get_routing_control_state(RoutingControlArn=control)["RoutingControlState"] == "On"
