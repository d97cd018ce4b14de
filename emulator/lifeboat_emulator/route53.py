"""Route 53: what routing controls and a DNS answer need.

- CreateHealthCheck keeps RoutingControlArn (moto drops it), and
  GetHealthCheckStatus of a RECOVERY_CONTROL health check follows its
  routing control: Success when On, Failure when Off (moto: always Success).
- TestDNSAnswer (moto: not served) answers as Route 53 documents for
  weighted records: unhealthy records are left out (a record's health is its
  health check's; checks other than RECOVERY_CONTROL count as healthy, as
  moto says of them); among the rest, one is chosen in proportion to its
  weight, and records of weight 0 only when no other has weight; when every
  record is unhealthy, Route 53 answers as if all were healthy.
"""

import random
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53.exceptions import NoSuchHostedZone as HostedZoneNotFound
from moto.route53.models import route53_backends
from moto.route53.responses import Route53

from . import arc

ACCOUNT = "123456789012"
XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"

_orig_create_health_check = Route53.create_health_check
_orig_get_health_check_status = Route53.get_health_check_status


def create_health_check(self):
    result = _orig_create_health_check(self)
    config = self._get_param("HealthCheckConfig") or {}
    result.result["HealthCheck"].routing_control_arn = config.get("RoutingControlArn")
    return result


def _recovery_control_healthy(check):
    """True/False for a RECOVERY_CONTROL check, None for any other."""
    if check is None or check.type_ != "RECOVERY_CONTROL":
        return None
    return arc.control_state(getattr(check, "routing_control_arn", None) or "") == "On"


def get_health_check_status(self):
    check = self.backend.get_health_check(self._get_param("HealthCheckId"))
    healthy = _recovery_control_healthy(check)
    if healthy is None:
        return _orig_get_health_check_status(self)
    status = "Success: routing control is On" if healthy else "Failure: routing control is Off"
    return ActionResult(
        {
            "HealthCheckObservations": [
                {
                    "Region": region,
                    "IPAddress": "127.0.13.37",
                    "StatusReport": {"Status": status, "CheckedTime": utcnow()},
                }
                for region in ("us-east-1", "us-west-2", "eu-west-1")
            ]
        }
    )


def _answer(backend, zone_id, name, record_type):
    zone = backend.get_hosted_zone(zone_id)
    wanted = name.lower().rstrip(".") + "."
    records = [r for r in zone.rrsets if r.name.lower().rstrip(".") + "." == wanted and r.type == record_type]
    if not records:
        return None, "NXDOMAIN"

    def healthy(r):
        if not r.health_check_id:
            return True
        check = backend.health_checks.get(r.health_check_id)
        verdict = _recovery_control_healthy(check)
        return True if verdict is None else verdict

    candidates = [r for r in records if healthy(r)] or records
    weighted = [r for r in candidates if (r.weight or 0) > 0]
    if weighted:
        chosen = random.choices(weighted, weights=[int(r.weight) for r in weighted])[0]
    else:
        chosen = random.choice(candidates)
    if chosen.alias_target:
        return [chosen.alias_target.get("DNSName", "")], "NOERROR"
    return list(chosen.records), "NOERROR"


def test_dns_answer(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))

    def get(key):
        return (query.get(key) or query.get(key.lower()) or [""])[0]

    zone_id = get("hostedzoneid").replace("/hostedzone/", "")
    name, record_type = get("recordname"), get("recordtype").upper()
    backend = route53_backends[ACCOUNT]["aws"]
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


def install():
    Route53.create_health_check = create_health_check
    Route53.get_health_check_status = get_health_check_status
