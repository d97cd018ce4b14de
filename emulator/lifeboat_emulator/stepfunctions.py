"""Step Functions: answering a callback's task token, as the SendTaskSuccess,
SendTaskFailure and SendTaskHeartbeat API references say.

moto 5.2.5 accepts any token and does nothing. On AWS a token is good while
its Task state waits: an unknown token is TaskDoesNotExist, and one whose
task has already been answered (or has timed out) is TaskTimedOut ("the task
token has either expired or the task associated with the token has already
been closed"). lifeboat's callbacks wait on its embedded executor, not in
moto, so a test stands in for a deployed execution by registering the token
its run waits on: `POST /lifeboat-emulator/stepfunctions/tokens
{"token": T}`. `GET` on the same path lists every token with what answered
it (its status, and the output, or the error and cause).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import AWSError
from moto.stepfunctions.models import StepFunctionBackend

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

_lock = threading.RLock()
# Token -> {"status": "waiting" | "succeeded" | "failed", ...}.
_tokens: dict[str, dict[str, Any]] = {}


class TaskDoesNotExist(AWSError):
    TYPE = "TaskDoesNotExist"
    STATUS = 400


class TaskTimedOut(AWSError):
    TYPE = "TaskTimedOut"
    STATUS = 400


def _answer(token: str, status: str, **details: Any) -> None:
    with _lock:
        entry = _tokens.get(token)
        if entry is None:
            raise TaskDoesNotExist(f"Task Token does not exist: {token[:16]}...")
        if entry["status"] != "waiting":
            raise TaskTimedOut("Task Timed Out: the task associated with the token has already been closed")
        if status != "waiting":
            _tokens[token] = {"status": status, **details}


def send_task_success(self: StepFunctionBackend, task_token: str, outcome: str) -> None:
    _answer(task_token, "succeeded", output=json.loads(outcome) if outcome else None)


def send_task_failure(self: StepFunctionBackend, task_token: str, error: str | None = None, **kwargs: Any) -> None:
    _answer(task_token, "failed", error=error)


def send_task_heartbeat(self: StepFunctionBackend, task_token: str) -> None:
    _answer(task_token, "waiting")


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """POST /lifeboat-emulator/stepfunctions/tokens {"token": T}: T waits; GET: every token and its answer."""
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        with _lock:
            _tokens[str(body.get("token", ""))] = {"status": "waiting"}
    with _lock:
        data = json.dumps({"tokens": dict(_tokens)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def reset() -> None:
    with _lock:
        _tokens.clear()


def install() -> None:
    StepFunctionBackend.send_task_success = send_task_success
    StepFunctionBackend.send_task_failure = send_task_failure
    StepFunctionBackend.send_task_heartbeat = send_task_heartbeat
