"""Lambda: an application's hook functions answered without containers.

moto runs a function's code in Docker, which the emulator does not have.
Here Invoke answers for the function as its `LIFEBOAT_HOOK` environment
variable says, so a test (or the demo) registers a hook's behaviour when it
creates the function (or changes it with UpdateFunctionConfiguration):

- `ok` (the default): the function returns `{"ok": true, "hook": ...}`;
- `fail`: the function fails;
- `fail-first:N`: it fails the first N invocations, then succeeds;
- `sleep:S`: it takes S seconds, then succeeds (a client's timeout shows).

As the Invoke API reference says, a function that fails still answers 200:
the `X-Amz-Function-Error` header is set (`Unhandled`) and the payload is
its error document (`errorType`, `errorMessage`). The function is found as
GetFunction finds it (name or ARN; an unknown one is
ResourceNotFoundException). CreateFunction keeps moto's checks (the role
must exist and trust Lambda).

Every invocation is kept: `GET /lifeboat-emulator/lambda/invocations` lists
them (function ARN, Region, payload, the answer given).
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from moto.awslambda.models import LambdaBackend

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

_lock = threading.RLock()
_invocations: list[dict[str, Any]] = []
# Function ARN -> failures already given (fail-first:N).
_failed: dict[str, int] = {}


def _answer(arn: str, behaviour: str) -> tuple[bool, dict[str, Any]]:
    """(failed, payload) for one invocation of `arn`."""
    kind, _, arg = behaviour.partition(":")
    if kind == "fail":
        return True, {"errorType": "HookFailed", "errorMessage": f"{arn} failed (LIFEBOAT_HOOK=fail)"}
    if kind == "fail-first":
        with _lock:
            given = _failed.get(arn, 0)
            if given < int(arg or "1"):
                _failed[arn] = given + 1
                return True, {"errorType": "HookFailed", "errorMessage": f"{arn} failed (attempt {given + 1})"}
    if kind == "sleep":
        time.sleep(float(arg or "1"))
    return False, {"ok": True}


def invoke(
    self: LambdaBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    fn = self.get_function(function_name, qualifier)
    behaviour = str(fn.environment_vars.get("LIFEBOAT_HOOK", "ok"))
    failed, answer = _answer(fn.function_arn, behaviour)
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    try:
        event = json.loads(text) if text else None
    except ValueError:
        event = text
    if not failed and isinstance(event, dict):
        answer["hook"] = event.get("hook")
    with _lock:
        _invocations.append(
            {"function": fn.function_arn, "region": self.region_name, "payload": event, "failed": failed}
        )
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
    payload = json.dumps(answer).encode()
    response_headers["Content-Length"] = str(len(payload))
    return payload


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """GET /lifeboat-emulator/lambda/invocations: every invocation so far."""
    if not path.rstrip("/").endswith("/invocations"):
        data = json.dumps({"error": f"unknown lambda control {path}"}).encode()
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
    with _lock:
        data = json.dumps({"invocations": list(_invocations)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def reset() -> None:
    with _lock:
        _invocations.clear()
        _failed.clear()


def install() -> None:
    LambdaBackend.invoke = invoke
