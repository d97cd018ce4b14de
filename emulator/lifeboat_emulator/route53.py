"""Route 53: health checks as their checkers report them, and a DNS answer.

- GetHealthCheckStatus returns one observation per health checker (16 here:
  two in each of the eight checker Regions the API lists), each "Success: ..."
  or "Failure: ...". "How Amazon Route 53 determines whether a health check is
  healthy" (Route 53 developer guide): healthy when more than 18 % of the
  checkers report healthy, unhealthy at 18 % or fewer. A test sets how many
  checkers see an endpoint healthy with
  `POST /lifeboat-emulator/route53/health-checks/{id} {"healthy_checkers": n}`
  (moto: every checker always reports Success).
- GetHealthCheckStatus refuses a CALCULATED health check (InvalidInput): its
  API reference says it cannot report the status of a calculated health
  check. A calculated check is healthy when at least HealthThreshold of its
  ChildHealthChecks are (0: always healthy; more than it has: never),
  inverted when Inverted is set (UpdateHealthCheck reference,
  HealthThreshold); TestDNSAnswer follows that.
- CreateHealthCheck keeps RoutingControlArn (moto drops it), and a
  RECOVERY_CONTROL health check follows its routing control: every checker
  reports Success when it is On, Failure when Off.
- ListHealthChecks pages as its API reference says (moto: every check on one
  page): MaxItems health checks a page (100 unless given, at most 1,000),
  IsTruncated, and NextMarker, the ID of the first check of the next page,
  which the next request gives as Marker.
- TestDNSAnswer (moto: not served) answers as Route 53 documents for
  weighted records: unhealthy records are left out (a record's health is its
  health check's, by the rules above); among the rest, one is chosen in
  proportion to its weight, and records of weight 0 only when no other has
  weight; when every record is unhealthy, Route 53 answers as if all were
  healthy.
"""

from __future__ import annotations

import json
import random
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.iam.models import get_account_id_from
from moto.route53.exceptions import InvalidInput
from moto.route53.exceptions import NoSuchHostedZone as HostedZoneNotFound
from moto.route53.models import route53_backends
from moto.route53.responses import Route53

from . import arc
from .quotas import access_key

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from moto.route53.models import HealthCheck, Route53Backend

XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"

_orig_create_health_check = Route53.create_health_check

# Two health checkers in each of the Regions GetHealthCheckStatus names.
CHECKERS = [
    (region, f"15.177.{n}.{i}")
    for n, region in enumerate(
        [
            "us-east-1",
            "us-west-1",
            "us-west-2",
            "eu-west-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-northeast-1",
            "sa-east-1",
        ]
    )
    for i in (10, 11)
]
# "more than 18 percent of health checkers report that an endpoint is healthy"
HEALTHY_SHARE = 0.18

_lock = threading.Lock()
_healthy_checkers = {}  # health check id -> how many checkers see it healthy


def reset() -> None:
    with _lock:
        _healthy_checkers.clear()


def create_health_check(self: Route53) -> ActionResult:
    result = _orig_create_health_check(self)
    config = self._get_param("HealthCheckConfig") or {}
    result.result["HealthCheck"].routing_control_arn = config.get("RoutingControlArn")
    return result


def list_health_checks(self: Route53) -> ActionResult:
    checks = list(self.backend.list_health_checks())
    max_items = min(self._get_int_param("MaxItems", 100), 1000)
    marker = self._get_param("Marker")
    start = 0
    if marker:
        ids = [c.id for c in checks]
        if marker not in ids:
            raise InvalidInput(f"Marker {marker} is not the ID of a health check")
        start = ids.index(marker)
    page = checks[start : start + max_items]
    rest = checks[start + max_items :]
    return ActionResult(
        {
            "HealthChecks": page,
            "Marker": marker or "",
            "IsTruncated": bool(rest),
            "NextMarker": rest[0].id if rest else None,
            "MaxItems": str(max_items),
        }
    )


def _reports(check):
    """Each checker's verdict on an endpoint or RECOVERY_CONTROL check: [(region, ip, ok)]."""
    if check.type_ == "RECOVERY_CONTROL":
        on = arc.control_state(getattr(check, "routing_control_arn", None) or "") == "On"
        return [(region, ip, on) for region, ip in CHECKERS]
    with _lock:
        healthy = _healthy_checkers.get(check.id, len(CHECKERS))
    return [(region, ip, i < healthy) for i, (region, ip) in enumerate(CHECKERS)]


def is_healthy(backend: Route53Backend, check: HealthCheck, depth: int = 0) -> bool:
    """Route 53's verdict on a health check, by the rules in this module's docstring."""
    if check.type_ == "CALCULATED":
        children = [backend.health_checks.get(c) for c in (check.children or [])]
        healthy = sum(1 for c in children if c is not None and depth < 3 and is_healthy(backend, c, depth + 1))
        threshold = int(check.health_threshold or 0)
        verdict = healthy >= threshold if threshold <= len(children) else False
    else:
        reports = _reports(check)
        verdict = sum(1 for *_, ok in reports if ok) > HEALTHY_SHARE * len(reports)
    return verdict != bool(check.inverted)


def get_health_check_status(self: Route53) -> ActionResult:
    check = self.backend.get_health_check(self._get_param("HealthCheckId"))
    if check.type_ == "CALCULATED":
        raise InvalidInput(
            f"Health check {check.id} is a calculated health check: GetHealthCheckStatus cannot report its status"
        )
    observations = []
    for region, ip, ok in _reports(check):
        if check.type_ == "RECOVERY_CONTROL":
            status = "Success: routing control is On" if ok else "Failure: routing control is Off"
        else:
            status = "Success: HTTP Status Code 200, OK" if ok else "Failure: Connection timed out."
        observations.append(
            {"Region": region, "IPAddress": ip, "StatusReport": {"Status": status, "CheckedTime": utcnow()}}
        )
    return ActionResult({"HealthCheckObservations": observations})


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """POST /lifeboat-emulator/route53/health-checks/{id} {"healthy_checkers": n}."""
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[2] != "health-checks":
        return _json(start_response, "404 Not Found", {"error": f"unknown control {path}"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
    healthy = max(0, min(int(body.get("healthy_checkers", len(CHECKERS))), len(CHECKERS)))
    with _lock:
        _healthy_checkers[parts[3]] = healthy
    return _json(start_response, "200 OK", {"health_check": parts[3], "healthy_checkers": healthy, "of": len(CHECKERS)})


def _json(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _answer(backend, zone_id, name, record_type):
    zone = backend.get_hosted_zone(zone_id)
    wanted = name.lower().rstrip(".") + "."
    records = [r for r in zone.rrsets if r.name.lower().rstrip(".") + "." == wanted and r.type == record_type]
    if not records:
        return None, "NXDOMAIN"

    def healthy(r):
        check = backend.health_checks.get(r.health_check_id) if r.health_check_id else None
        return True if check is None else is_healthy(backend, check)

    candidates = [r for r in records if healthy(r)] or records
    weighted = [r for r in candidates if (r.weight or 0) > 0]
    if weighted:
        chosen = random.choices(weighted, weights=[int(r.weight) for r in weighted])[0]
    else:
        chosen = random.choice(candidates)
    if chosen.alias_target:
        return [chosen.alias_target.get("DNSName", "")], "NOERROR"
    return list(chosen.records), "NOERROR"


def test_dns_answer(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))

    def get(key):
        return (query.get(key) or query.get(key.lower()) or [""])[0]

    zone_id = get("hostedzoneid").replace("/hostedzone/", "")
    name, record_type = get("recordname"), get("recordtype").upper()
    # The caller's account, as moto reads it from the request's access key.
    backend = route53_backends[get_account_id_from(access_key(environ))]["aws"]
    try:
        values, code = _answer(backend, zone_id, name, record_type)
    except HostedZoneNotFound as e:
        body = (
            f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type>'
            f"<Code>NoSuchHostedZone</Code><Message>{escape(str(e))}</Message></Error></ErrorResponse>"
        ).encode()
        start_response("404 Not Found", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]
    entries = "".join(f"<RecordDataEntry>{escape(v)}</RecordDataEntry>" for v in values or [])
    body = (
        f'<?xml version="1.0"?>\n<TestDNSAnswerResponse xmlns="{XMLNS}">'
        f"<Nameserver>ns-1.lifeboat-emulator.</Nameserver><RecordName>{escape(name)}</RecordName>"
        f"<RecordType>{escape(record_type)}</RecordType><RecordData>{entries}</RecordData>"
        f"<ResponseCode>{code}</ResponseCode><Protocol>UDP</Protocol></TestDNSAnswerResponse>"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def install() -> None:
    Route53.create_health_check = create_health_check
    Route53.get_health_check_status = get_health_check_status
    Route53.list_health_checks = list_health_checks
