"""The deploy's one configuration file: every template parameter the
template needs is set, none is a placeholder, and what `make deploy` and the
pipeline pass is the same."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import deploy_parameters as dp  # noqa: E402 (after the path it is found on)

EXAMPLE = os.path.join(os.path.dirname(HERE), "parameters.example.json")

GOOD = {
    "PrimaryRegion": "us-east-1",
    "SecondaryRegion": "us-west-2",
    "HostedZoneIds": "Z0123456789ABCDEFGHIJ,Z9876543210ZYXWVUTSRQ",
    "TriggerAlarmNames": "use1-region-health",
    "RoutingControlArns": "none",
    "RestoreKmsKeyArns": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "OperatorRoleArns": "arn:aws:iam::111122223333:role/sre",
    "MemberRoleArns": "none",
    "AlertEmail": "oncall@corp.test",
    "DrillSchedule": "cron(0 3 ? * MON *)",
}


def write(tmp_path, params):
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({"Parameters": params}))
    return str(path)


def run(*args):
    return subprocess.run([sys.executable, dp.__file__, *args], check=False, capture_output=True, text=True)


def test_the_example_as_shipped_is_refused_naming_every_placeholder():
    out = run("check", EXAMPLE)
    assert out.returncode == 1
    for name in ["HostedZoneIds", "TriggerAlarmNames", "RoutingControlArns", "OperatorRoleArns", "AlertEmail"]:
        assert f"  - {name}: " in out.stderr, out.stderr


def test_a_full_file_passes_and_none_becomes_the_inert_default(tmp_path):
    path = write(tmp_path, GOOD)
    assert run("check", path).returncode == 0
    words = run("overrides", path).stdout
    assert 'DrillSchedule="cron(0 3 ? * MON *)"' in words
    assert 'RoutingControlArns="arn:aws:route53-recovery-control::000000000000:' in words
    assert run("get", path, "SecondaryRegion").stdout.strip() == "us-west-2"
    conf = tmp_path / "conf.json"
    assert run("configuration", path, str(conf)).returncode == 0
    assert json.loads(conf.read_text())["Parameters"]["AlertEmail"] == "oncall@corp.test"


@pytest.mark.parametrize(
    "change, says",
    [
        ({"AlertEmail": None}, "AlertEmail: missing"),
        ({"HostedZoneIds": None}, "HostedZoneIds: missing"),
        ({"TriggerAlarmNames": "lifeboat-no-alarm-configured"}, "the template's stand-in"),
        ({"OperatorRoleArns": "arn:aws:iam::000000000000:role/x"}, "is a placeholder"),
        ({"AlertEmail": "sre@example.com"}, "is a placeholder"),
        ({"RoutingControlArn": "x"}, "the template has no such parameter"),
        ({"TriggerAlarmNames": "none"}, "is a placeholder"),
    ],
)
def test_each_mistake_is_named(tmp_path, change, says):
    params = dict(GOOD)
    for k, v in change.items():
        if v is None:
            params.pop(k)
        else:
            params[k] = v
    out = run("check", write(tmp_path, params))
    assert out.returncode == 1
    assert says in out.stderr, out.stderr


def test_a_missing_file_says_how_to_make_one(tmp_path):
    out = run("check", str(tmp_path / "nope.json"))
    assert out.returncode == 1
    assert "copy infra/parameters.example.json" in out.stderr
