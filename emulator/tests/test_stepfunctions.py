"""A callback's task token, answered as the SendTaskSuccess, SendTaskFailure
and SendTaskHeartbeat API references say: once, while its task waits;
unknown is TaskDoesNotExist, answered already is TaskTimedOut."""

import json

import botocore.exceptions
import pytest


def _tokens(emulator):
    return emulator.control_get("/lifeboat-emulator/stepfunctions/tokens")["tokens"]


def test_a_waiting_token_is_answered_once(emulator):
    sfn = emulator.client("stepfunctions")
    emulator.control("/lifeboat-emulator/stepfunctions/tokens", {"token": "t-1"})
    sfn.send_task_heartbeat(taskToken="t-1")
    sfn.send_task_success(taskToken="t-1", output=json.dumps({"approved_by": "ops"}))
    assert _tokens(emulator)["t-1"] == {"status": "succeeded", "output": {"approved_by": "ops"}}
    with pytest.raises(botocore.exceptions.ClientError) as closed:
        sfn.send_task_failure(taskToken="t-1", error="Lifeboat.ApprovalRejected", cause="late")
    assert closed.value.response["Error"]["Code"] == "TaskTimedOut"


def test_an_unknown_token_does_not_exist(emulator):
    with pytest.raises(botocore.exceptions.ClientError) as unknown:
        emulator.client("stepfunctions").send_task_success(taskToken="nobody-waits", output="{}")
    assert unknown.value.response["Error"]["Code"] == "TaskDoesNotExist"
