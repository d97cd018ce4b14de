"""`make deploy` from an operator's machine: every parameter from the one
file, checked before anything is built, and ONLY_REGION=secondary deploys the
recovery Region alone (the break-glass path with the pipeline and the
primary Region down). A stand-in SAM records what it would have done."""

import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GOOD = {
    "PrimaryRegion": "us-east-1",
    "SecondaryRegion": "us-west-2",
    "HostedZoneIds": "Z0123456789ABCDEFGHIJ",
    "TriggerAlarmNames": "use1-region-health",
    "RoutingControlArns": "none",
    "RestoreKmsKeyArns": "none",
    "OperatorRoleArns": "arn:aws:iam::111122223333:role/sre",
    "MemberRoleArns": "none",
    "AlertEmail": "oncall@corp.test",
}


@pytest.fixture
def sam(tmp_path):
    log = tmp_path / "sam.log"
    fake = tmp_path / "sam"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    return fake, log


def deploy(tmp_path, sam, params, *extra):
    config = tmp_path / "parameters.json"
    config.write_text(json.dumps({"Parameters": params}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        ["make", "-s", "deploy-stack", f"SAM={sam[0]}", f"CONFIG={config}", "STACK=lb", *extra],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )


def calls(sam):
    return sam[1].read_text().splitlines() if sam[1].exists() else []


def test_break_glass_deploys_the_recovery_region_alone(tmp_path, sam):
    out = deploy(tmp_path, sam, GOOD, "ONLY_REGION=secondary")
    assert out.returncode == 0, out.stderr
    made = calls(sam)
    assert made[0].startswith("build"), made
    deploys = [c for c in made if c.startswith("deploy")]
    assert len(deploys) == 1, made
    assert "--region us-west-2" in deploys[0]
    assert 'AlertEmail="oncall@corp.test"' in deploys[0]


def test_both_regions_primary_first(tmp_path, sam):
    out = deploy(tmp_path, sam, GOOD)
    assert out.returncode == 0, out.stderr
    regions = [c.split("--region ")[1].split()[0] for c in calls(sam) if c.startswith("deploy")]
    assert regions == ["us-east-1", "us-west-2"]


def test_a_placeholder_stops_it_before_anything_is_built(tmp_path, sam):
    out = deploy(tmp_path, sam, dict(GOOD, AlertEmail="REPLACE-me"))
    assert out.returncode != 0
    assert "AlertEmail" in out.stderr
    assert calls(sam) == []


def test_an_unknown_only_region_is_refused(tmp_path, sam):
    out = deploy(tmp_path, sam, GOOD, "ONLY_REGION=tertiary")
    assert out.returncode != 0
    assert "ONLY_REGION is primary or secondary" in out.stdout + out.stderr
    assert not [c for c in calls(sam) if c.startswith("deploy")]
