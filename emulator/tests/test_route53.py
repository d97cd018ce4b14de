"""Route 53 health checks as its developer guide and API reference say:
healthy when more than 18 % of checkers report healthy ("How Amazon Route 53
determines whether a health check is healthy"); GetHealthCheckStatus cannot
read a calculated health check (GetHealthCheckStatus API reference); a
calculated check is healthy when HealthThreshold of its children are
(UpdateHealthCheck API reference, HealthThreshold); ListHealthChecks pages
at MaxItems, 100 unless given and at most 1,000, with IsTruncated and
NextMarker (ListHealthChecks API reference)."""

import uuid

import pytest


def _check(r53, **config):
    config.setdefault("Type", "HTTP")
    if config["Type"] == "HTTP":
        config.setdefault("FullyQualifiedDomainName", "app.example.com")
        config.setdefault("Port", 80)
    return r53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig=config)["HealthCheck"]["Id"]


def _healthy_share(r53, check_id):
    observations = r53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]
    ok = sum(1 for o in observations if o["StatusReport"]["Status"].startswith("Success"))
    return ok, len(observations)


def test_each_checker_reports_and_the_share_follows_the_control(emulator):
    r53 = emulator.client("route53")
    check = _check(r53)
    assert _healthy_share(r53, check) == (16, 16)
    emulator.control(f"/lifeboat-emulator/route53/health-checks/{check}", {"healthy_checkers": 3})
    assert _healthy_share(r53, check) == (3, 16)
    regions = {o["Region"] for o in r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]}
    assert len(regions) == 8


def test_a_calculated_health_check_is_refused_by_get_health_check_status(emulator):
    r53 = emulator.client("route53")
    child = _check(r53)
    calculated = _check(r53, Type="CALCULATED", ChildHealthChecks=[child], HealthThreshold=1)
    with pytest.raises(r53.exceptions.ClientError) as e:
        r53.get_health_check_status(HealthCheckId=calculated)
    assert e.value.response["Error"]["Code"] == "InvalidInput"
    config = r53.get_health_check(HealthCheckId=calculated)["HealthCheck"]["HealthCheckConfig"]
    assert config["ChildHealthChecks"] == [child] and config["HealthThreshold"] == 1


def _zone_with_weighted_pair(r53, healthy_check, other_check):
    zone = r53.create_hosted_zone(Name="example.com", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    changes = [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": "app.example.com.",
                "Type": "A",
                "SetIdentifier": name,
                "Weight": 1,
                "TTL": 60,
                "ResourceRecords": [{"Value": value}],
                "HealthCheckId": check,
            },
        }
        for name, value, check in [("a", "192.0.2.1", healthy_check), ("b", "192.0.2.2", other_check)]
    ]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
    return zone


def _answers(r53, zone, tries=30):
    return {
        tuple(r53.test_dns_answer(HostedZoneId=zone, RecordName="app.example.com.", RecordType="A")["RecordData"])
        for _ in range(tries)
    }


def test_more_than_18_percent_of_checkers_is_healthy_18_percent_or_fewer_is_not(emulator):
    r53 = emulator.client("route53")
    a, b = _check(r53), _check(r53)
    zone = _zone_with_weighted_pair(r53, a, b)
    # 3 of 16 (18.75 %): still healthy, so both records answer.
    emulator.control(f"/lifeboat-emulator/route53/health-checks/{b}", {"healthy_checkers": 3})
    assert _answers(r53, zone) == {("192.0.2.1",), ("192.0.2.2",)}
    # 2 of 16 (12.5 %): unhealthy, left out of the answer.
    emulator.control(f"/lifeboat-emulator/route53/health-checks/{b}", {"healthy_checkers": 2})
    assert _answers(r53, zone) == {("192.0.2.1",)}


def test_a_calculated_check_is_healthy_when_its_threshold_of_children_are(emulator):
    r53 = emulator.client("route53")
    c1, c2 = _check(r53), _check(r53)
    calculated = _check(r53, Type="CALCULATED", ChildHealthChecks=[c1, c2], HealthThreshold=2)
    always = _check(r53)
    zone = _zone_with_weighted_pair(r53, always, calculated)
    assert _answers(r53, zone) == {("192.0.2.1",), ("192.0.2.2",)}
    emulator.control(f"/lifeboat-emulator/route53/health-checks/{c2}", {"healthy_checkers": 0})
    assert _answers(r53, zone) == {("192.0.2.1",)}


def test_list_health_checks_pages_at_max_items_with_a_next_marker(emulator):
    r53 = emulator.client("route53")
    made = {_check(r53) for _ in range(5)}
    seen, marker, pages = set(), None, 0
    while True:
        kwargs = {"MaxItems": "2"} | ({"Marker": marker} if marker else {})
        page = r53.list_health_checks(**kwargs)
        assert len(page["HealthChecks"]) <= 2
        seen |= {c["Id"] for c in page["HealthChecks"]}
        pages += 1
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert made <= seen
    assert pages >= 3
    assert len(r53.list_health_checks()["HealthChecks"]) <= 100
