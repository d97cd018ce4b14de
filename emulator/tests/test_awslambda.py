"""Hook functions answered as their LIFEBOAT_HOOK says, the way the Invoke
API reference describes a function's answer: 200 either way, and a failed
function's X-Amz-Function-Error header with its error document."""

import io
import json
import urllib.request
import zipfile

import botocore.exceptions
import pytest

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _code():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def _function(emulator, name, behaviour):
    iam = emulator.client("iam", region="us-east-1")
    try:
        role = iam.create_role(RoleName="hook-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="hook-role")["Role"]["Arn"]
    return emulator.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _code()},
        Environment={"Variables": {"LIFEBOAT_HOOK": behaviour}},
        Tags={"lifeboat:hook": "true"},
    )["FunctionArn"]


def _invoke(emulator, arn, event):
    answer = emulator.client("lambda").invoke(FunctionName=arn, Payload=json.dumps(event).encode())
    return answer["StatusCode"], answer.get("FunctionError"), json.loads(answer["Payload"].read())


def test_a_hook_answers_as_registered_and_every_invocation_is_kept(emulator):
    ok = _function(emulator, "flush-cache", "ok")
    assert _invoke(emulator, ok, {"hook": "flush-cache"}) == (200, None, {"ok": True, "hook": "flush-cache"})
    bad = _function(emulator, "page-vendor", "fail")
    status, error, payload = _invoke(emulator, bad, {"hook": "page-vendor"})
    assert (status, error, payload["errorType"]) == (200, "Unhandled", "HookFailed")
    flaky = _function(emulator, "pause-consumers", "fail-first:1")
    assert _invoke(emulator, flaky, {})[1] == "Unhandled"
    assert _invoke(emulator, flaky, {})[1] is None
    with urllib.request.urlopen(emulator.endpoint + "/lifeboat-emulator/lambda/invocations") as r:
        seen = json.loads(r.read())["invocations"]
    assert [(i["function"], i["failed"]) for i in seen] == [(ok, False), (bad, True), (flaky, True), (flaky, False)]
    assert seen[0]["payload"] == {"hook": "flush-cache"} and seen[0]["region"] == "us-west-2"


def test_an_unknown_function_is_resource_not_found(emulator):
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        emulator.client("lambda").invoke(FunctionName="arn:aws:lambda:us-west-2:123456789012:function:nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_function_needs_a_role_lambda_can_assume(emulator):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        emulator.client("lambda").create_function(
            FunctionName="orphan",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/none",
            Handler="index.handler",
            Code={"ZipFile": _code()},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
