"""Rate quotas, as AWS documents them: token buckets that refill on the wall
clock, each request (or record change) taking a token; an empty bucket is
the service's own throttling error. On unless LIFEBOAT_EMULATOR_QUOTAS=off
(`lifeboat emulator --no-quotas`); requests signed with the access key
`setup`, or by a role session named `setup` (`sts.py`), are exempt (what a
test or the demo does to build its estate is not what lifeboat does on the
day). Every bucket is an account's, as AWS's quotas are: a member account's
calls take from its own buckets, keyed `ACCOUNT:...` (the default account's
keys carry no prefix). `GET /lifeboat-emulator/quotas` lists each
bucket's throttles; `POST /lifeboat-emulator/quotas {"enabled": false}`
turns the mode off.

The figures and their pages:
- Route 53, "Throttling for Amazon Route 53 API requests" (developer guide):
  every request takes a token from the account's bucket (50, refilling 10 a
  second) and from its operation's (50 / 10 unless listed; GetHealthCheckStatus
  and GetHealthCheckLastFailureReason 4 / 1; CreateHealthCheck 50 / 0.5;
  DeleteHealthCheck 15 / 3; CreateHostedZone 40 / 2). A second, independent
  bucket counts record changes across the calls that change DNS data. The
  page's figures for that bucket could not be read here: 1,000 changes,
  refilling 100 a second, stand in for them (LIFEBOAT_EMULATOR_ROUTE53_CHANGES
  = "capacity/refill" sets others). Throttled: HTTP 400, code Throttling,
  message "Rate exceeded".
- ARC, "Quotas for routing control" (ARC developer guide): 3 mutating API
  calls a second to a cluster endpoint (UpdateRoutingControlState(s)), per
  endpoint. Throttled: ThrottlingException.
- CloudWatch, "CloudWatch service quotas" (user guide): DescribeAlarms 9
  transactions a second per Region, GetMetricData 50, PutMetricData 500,
  PutMetricAlarm and SetAlarmState 3. A bucket holds one second's worth.
  Throttled: HTTP 400, code Throttling.
- RDS, "Request throttling for the Amazon RDS API" (RDS user guide): per
  account and Region, a burst of 300 requests and a sustained 12 a second,
  across RDS's API. Throttled: ThrottlingException, "Rate exceeded".
- Step Functions, "Step Functions service quotas": StartExecution (Standard)
  a bucket of 1,300 refilling 300 a second in us-east-1, us-west-2 and
  eu-west-1, 800 / 150 elsewhere. Throttled: ThrottlingException.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from

from . import sts

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

_lock = threading.Lock()
_enabled = os.environ.get("LIFEBOAT_EMULATOR_QUOTAS", "on").lower() not in ("off", "0", "false", "no")
_buckets = {}  # key -> [tokens, last refill (monotonic)]
_throttled = {}  # key -> count
_taken = {}  # key -> count

EXEMPT_KEY = "setup"


def _route53_changes():
    text = os.environ.get("LIFEBOAT_EMULATOR_ROUTE53_CHANGES", "1000/100")
    capacity, refill = text.split("/", 1)
    return float(capacity), float(refill)


ROUTE53_ACCOUNT = (50.0, 10.0)
ROUTE53_DEFAULT_OPERATION = (50.0, 10.0)
ROUTE53_OPERATIONS = {
    "GetHealthCheckStatus": (4.0, 1.0),
    "GetHealthCheckLastFailureReason": (4.0, 1.0),
    "CreateHealthCheck": (50.0, 0.5),
    "DeleteHealthCheck": (15.0, 3.0),
    "CreateHostedZone": (40.0, 2.0),
}
ARC_MUTATING = (3.0, 3.0)
ARC_MUTATING_OPERATIONS = {"UpdateRoutingControlState", "UpdateRoutingControlStates"}
CLOUDWATCH_OPERATIONS = {
    "DescribeAlarms": (9.0, 9.0),
    "GetMetricData": (50.0, 50.0),
    "PutMetricData": (500.0, 500.0),
    "PutMetricAlarm": (3.0, 3.0),
    "SetAlarmState": (3.0, 3.0),
}
RDS_ACCOUNT = (300.0, 12.0)
SFN_LARGE_REGIONS = {"us-east-1", "us-west-2", "eu-west-1"}
SFN_START_EXECUTION = {True: (1300.0, 300.0), False: (800.0, 150.0)}


def reset() -> None:
    with _lock:
        _buckets.clear()
        _throttled.clear()
        _taken.clear()


def _take_all(wanted):
    """Takes n tokens from every bucket (key, capacity, refill, n), or from none
    when one has too few; returns that bucket's key, or None."""
    with _lock:
        now = time.monotonic()
        levels = {}
        for key, capacity, refill, _ in wanted:
            tokens, last = _buckets.get(key, (capacity, now))
            levels[key] = min(capacity, tokens + (now - last) * refill)
            _buckets[key] = (levels[key], now)
        empty = next((key for key, _, _, n in wanted if levels[key] < n), None)
        if empty is not None:
            _throttled[empty] = _throttled.get(empty, 0) + 1
            return empty
        for key, _, _, n in wanted:
            _buckets[key] = (levels[key] - n, now)
            _taken[key] = _taken.get(key, 0) + 1
        return None


def _route53_operation(method, path):
    p = path.rstrip("/")
    if p.endswith("/rrset"):
        return "ChangeResourceRecordSets" if method == "POST" else "ListResourceRecordSets"
    if "/change/" in p:
        return "GetChange"
    if p.endswith("/testdnsanswer"):
        return "TestDNSAnswer"
    if "/healthcheck" in p:
        if p.endswith("/status"):
            return "GetHealthCheckStatus"
        if p.endswith("/lastfailurereason"):
            return "GetHealthCheckLastFailureReason"
        if method == "POST" and p.endswith("/healthcheck"):
            return "CreateHealthCheck"
        return {"DELETE": "DeleteHealthCheck", "POST": "UpdateHealthCheck"}.get(method, "GetHealthCheck")
    if p.endswith("/hostedzone") and method == "POST":
        return "CreateHostedZone"
    return f"{method} {p.split('/')[2] if p.count('/') >= 2 else p}"


def _changes(body):
    """Record changes in a ChangeResourceRecordSets body (one per <Change>)."""
    return max(1, body.count(b"<Change>"))


def _operation(environ, body):
    """The operation of a Query (Action=), JSON (X-Amz-Target) or Smithy RPC v2
    (/service/S/operation/OP) request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.split(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[-1].strip("/")
    params = parse_qs(environ.get("QUERY_STRING", ""))
    if body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        params.update(parse_qs(body.decode(errors="replace")))
    return (params.get("Action") or [""])[0]


def _buckets_for(service, region, environ, body):
    """[(key, capacity, refill, tokens)] a request takes, and its throttling answer's shape."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service == "route53":
        op = _route53_operation(method, path)
        wanted = [
            ("route53:account", *ROUTE53_ACCOUNT, 1.0),
            (f"route53:{op}", *ROUTE53_OPERATIONS.get(op, ROUTE53_DEFAULT_OPERATION), 1.0),
        ]
        if op == "ChangeResourceRecordSets":
            wanted.append(("route53:changes", *_route53_changes(), float(_changes(body))))
        return wanted, "route53"
    if service == "route53-recovery-cluster":
        op = target.split(".", 1)[-1]
        if op in ARC_MUTATING_OPERATIONS:
            # Per cluster endpoint: its URL names the endpoint's Region.
            endpoint = "/".join(path.split("/")[:4])
            return [(f"arc:mutating:{endpoint}", *ARC_MUTATING, 1.0)], "json"
        return [], "json"
    if service == "monitoring":
        op = _operation(environ, body)
        if op in CLOUDWATCH_OPERATIONS:
            return [(f"cloudwatch:{region}:{op}", *CLOUDWATCH_OPERATIONS[op], 1.0)], "cloudwatch"
        return [], "cloudwatch"
    if service == "rds":
        return [(f"rds:{region}", *RDS_ACCOUNT, 1.0)], "rds"
    if service == "states" and target.endswith(".StartExecution"):
        quota = SFN_START_EXECUTION[region in SFN_LARGE_REGIONS]
        return [(f"states:{region}:StartExecution", *quota, 1.0)], "json"
    return [], None


def access_key(environ: WSGIEnvironment) -> str:
    """The access key id a SigV4 request was signed with ('' when unsigned)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    except IndexError:
        return ""


# Each service's throttling error code.
THROTTLING_CODE = {"route53": "Throttling", "cloudwatch": "Throttling"}


def _answer(start_response, environ, shape, key):
    """The service's throttling error, in the protocol the request spoke."""
    message = "Rate exceeded"
    code = THROTTLING_CODE.get(shape, "ThrottlingException")
    json_request = bool(environ.get("HTTP_X_AMZ_TARGET")) or "json" in environ.get("CONTENT_TYPE", "")
    if shape == "route53":
        body = (
            '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>lifeboat-emulator-quota</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    elif json_request:
        body = json.dumps({"__type": code, "message": message, "retryAfterSeconds": 1}).encode()
        content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0"
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>lifeboat-emulator-quota</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", code),
            ("x-lifeboat-quota", key),
        ],
    )
    return [body]


def _exempt(access_key):
    return access_key == EXEMPT_KEY or sts.session_of(access_key) == EXEMPT_KEY


def _account_prefix(access_key):
    """'' for the default account, 'ACCOUNT:' for any other (its own buckets)."""
    account = get_account_id_from(access_key)
    return "" if account == DEFAULT_ACCOUNT_ID else f"{account}:"


def check(
    environ: WSGIEnvironment, start_response: StartResponse, service: str | None, region: str | None
) -> list[bytes] | None:
    """None to let the request through, or the throttling answer (body read and put back)."""
    key = access_key(environ)
    if not _enabled or not service or _exempt(key):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    wanted, shape = _buckets_for(service, region, environ, body)
    if not wanted:
        return None
    prefix = _account_prefix(key)
    wanted = [(prefix + name, *rest) for name, *rest in wanted]
    empty = _take_all(wanted)
    if empty is None:
        return None
    return _answer(start_response, environ, shape, empty)


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """GET: the throttles met, by bucket; POST {"enabled": bool}: quota mode on or off."""
    global _enabled
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        if "enabled" in body:
            _enabled = bool(body["enabled"])
    with _lock:
        report = {"enabled": _enabled, "throttled": dict(_throttled), "taken": dict(_taken)}
    data = json.dumps(report).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
