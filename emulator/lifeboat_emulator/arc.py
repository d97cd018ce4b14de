"""Route 53 ARC routing controls (moto has none of ARC).

Control configuration (REST-JSON, signed `route53-recovery-control-config`):
CreateCluster (with its default control panel), DescribeCluster,
CreateControlPanel, CreateRoutingControl, CreateSafetyRule (assertion rules),
ListRoutingControls. A cluster's five regional endpoints are URLs on this
server, `http://HOST/arc-cluster/ID/REGION/v1`, HOST being the one the
cluster was created or described through (so a test proxy in front of the
emulator stays in front of them).

Data plane (JSON 1.0, `ToggleCustomerAPI.*`, signed
`route53-recovery-cluster`): GetRoutingControlState, ListRoutingControls,
UpdateRoutingControlState, UpdateRoutingControlStates (at most 10 entries:
ServiceLimitExceededException past that, as ARC's quota says). Assertion
safety rules are judged on the end state of an update that touches their
controls, unless the rule is in SafetyRulesToOverride. A refusal is a
ConflictException ("There was a conflict with this request. Try again.",
the cluster API reference) whose message names the rule's ARN; its
resourceId ("Identifier of the resource in use") is the routing control the
update touched, not the rule. New routing controls are Off. ARC's quota of
3 mutating calls a second per cluster endpoint is in quotas.py.

Accounts, as "Support cross-account for clusters in ARC" (developer guide)
says: a resource belongs to the account that created it (its ARN and Owner
name it, the caller's account as moto reads it from the access key). A
cluster owner's AWS RAM share lets another account host its own control
panels and routing controls in the cluster; the emulator stands in for the
share with `POST /lifeboat-emulator/arc/clusters/share {"cluster_arn",
"account"}`. Creating a control panel in a cluster neither owned by nor
shared with the caller, or a routing control or safety rule in another
account's control panel, is AccessDeniedException; so is reading or
updating another account's routing control through the data plane, and
ListRoutingControls lists the caller's own.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import TYPE_CHECKING
from urllib.parse import unquote

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from

from .quotas import access_key

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

ENDPOINT_PREFIX = "/arc-cluster/"
ENDPOINT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "ap-northeast-1"]
MAX_UPDATE_ENTRIES = 10

_lock = threading.RLock()
_clusters = {}  # arn -> {"name", "id", "shared_with": set of accounts}
_panels = {}  # arn -> {"name", "cluster", "default"}
_controls = {}  # arn -> {"name", "panel", "state"}
_rules = {}  # arn -> {"name", "panel", "asserted", "type", "threshold", "inverted", "wait"}


def reset() -> None:
    with _lock:
        for d in (_clusters, _panels, _controls, _rules):
            d.clear()


def _arn(account, resource):
    return f"arn:aws:route53-recovery-control::{account}:{resource}"


def _owner(arn):
    """The account an ARC ARN names."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else DEFAULT_ACCOUNT_ID


def _caller(environ):
    """The calling account, as moto reads it from the request's access key."""
    return get_account_id_from(access_key(environ))


def _denied(caller, what):
    return _Error(
        "AccessDeniedException",
        f"User: arn:aws:iam::{caller}:root is not authorized to perform this action on {what}.",
        403,
    )


def _own_control(arn, caller):
    """The routing control `arn`, if the caller's account owns it."""
    control = _control(arn)
    if _owner(arn) != caller:
        raise _denied(caller, arn)
    return control


def _new_id():
    return uuid.uuid4().hex


def _respond(start_response, status, body, content_type="application/x-amz-json-1.0"):
    data = json.dumps(body).encode()
    start_response(
        f"{status} {'OK' if status == 200 else 'Error'}",
        [("Content-Type", content_type), ("Content-Length", str(len(data)))],
    )
    return [data]


class _Error(Exception):
    def __init__(self, code, message, status=400, **fields):
        super().__init__(message)
        self.code, self.message, self.status, self.fields = code, message, status, fields


def _error(start_response, e, content_type):
    body = {"__type": e.code, "message": e.message, "Message": e.message, **e.fields}
    data = json.dumps(body).encode()
    start_response(
        f"{e.status} Error",
        [("Content-Type", content_type), ("Content-Length", str(len(data))), ("x-amzn-ErrorType", e.code)],
    )
    return [data]


def _body(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    return json.loads(raw or b"{}")


def _control(arn):
    control = _controls.get(arn)
    if control is None:
        raise _Error(
            "ResourceNotFoundException",
            f"Routing control {arn} not found.",
            resourceId=arn,
            resourceType="RoutingControl",
        )
    return control


def _control_view(arn):
    c = _controls[arn]
    panel = _panels.get(c["panel"], {})
    return {
        "ControlPanelArn": c["panel"],
        "ControlPanelName": panel.get("name"),
        "RoutingControlArn": arn,
        "RoutingControlName": c["name"],
        "RoutingControlState": c["state"],
        "Owner": _owner(arn),
    }


def _rule_holds(rule, states):
    on = sum(1 for a in rule["asserted"] if states.get(a) == "On")
    kind = rule["type"]
    if kind == "ATLEAST":
        ok = on >= rule["threshold"]
    elif kind == "AND":
        ok = on == len(rule["asserted"])
    else:  # OR
        ok = on >= 1
    return ok != rule["inverted"]


def _update(entries, overrides, caller):
    if len(entries) > MAX_UPDATE_ENTRIES:
        raise _Error(
            "ServiceLimitExceededException",
            f"At most {MAX_UPDATE_ENTRIES} routing control states can be updated in one request.",
            limitCode="MaxRoutingControlsPerUpdate",
            serviceCode="route53-recovery-cluster",
        )
    with _lock:
        end = {arn: c["state"] for arn, c in _controls.items()}
        touched = set()
        for entry in entries:
            arn = entry.get("RoutingControlArn", "")
            state = entry.get("RoutingControlState", "")
            _own_control(arn, caller)
            if state not in ("On", "Off"):
                raise _Error("ValidationException", f"RoutingControlState must be On or Off, not {state!r}.")
            end[arn] = state
            touched.add(arn)
        for rule_arn, rule in _rules.items():
            if rule_arn in overrides or not touched.intersection(rule["asserted"]):
                continue
            if not _rule_holds(rule, end):
                # The rule's ARN is in the message; the resource "in use" is
                # the routing control the update touched, not the rule.
                control = sorted(touched.intersection(rule["asserted"]))[0]
                raise _Error(
                    "ConflictException",
                    f"Cannot update routing control states: the update would violate safety rule "
                    f"{rule_arn} ({rule['name']}): {rule['type']} {rule['threshold']} of its asserted "
                    "routing controls must be On.",
                    resourceId=control,
                    resourceType="RoutingControl",
                )
        for arn in touched:
            _controls[arn]["state"] = end[arn]


def data_plane(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    content_type = "application/x-amz-json-1.0"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    op = target.split(".", 1)[-1]
    caller = _caller(environ)
    try:
        body = _body(environ)
        if op == "GetRoutingControlState":
            with _lock:
                arn = body.get("RoutingControlArn", "")
                c = _own_control(arn, caller)
                return _respond(
                    start_response,
                    200,
                    {"RoutingControlArn": arn, "RoutingControlState": c["state"], "RoutingControlName": c["name"]},
                )
        if op == "ListRoutingControls":
            with _lock:
                panel = body.get("ControlPanelArn")
                if panel and panel not in _panels:
                    raise _Error(
                        "ResourceNotFoundException",
                        f"Control panel {panel} not found.",
                        resourceId=panel,
                        resourceType="ControlPanel",
                    )
                arns = sorted(
                    a for a, c in _controls.items() if (panel is None or c["panel"] == panel) and _owner(a) == caller
                )
                start = int(body.get("NextToken") or 0)
                size = int(body.get("MaxResults") or 500)
                page = arns[start : start + size]
                out = {"RoutingControls": [_control_view(a) for a in page]}
                if start + size < len(arns):
                    out["NextToken"] = str(start + size)
                return _respond(start_response, 200, out)
        if op == "UpdateRoutingControlState":
            _update([body], set(body.get("SafetyRulesToOverride") or []), caller)
            return _respond(start_response, 200, {})
        if op == "UpdateRoutingControlStates":
            _update(
                body.get("UpdateRoutingControlStateEntries") or [],
                set(body.get("SafetyRulesToOverride") or []),
                caller,
            )
            return _respond(start_response, 200, {})
        raise _Error("ValidationException", f"Unknown operation {target!r}.")
    except _Error as e:
        return _error(start_response, e, content_type)


def _endpoints(environ, cluster_id):
    host = environ.get("HTTP_HOST", "127.0.0.1")
    return [
        {"Endpoint": f"http://{host}{ENDPOINT_PREFIX}{cluster_id}/{region}/v1", "Region": region}
        for region in ENDPOINT_REGIONS
    ]


def _cluster_view(environ, arn):
    c = _clusters[arn]
    return {
        "ClusterArn": arn,
        "ClusterEndpoints": _endpoints(environ, c["id"]),
        "Name": c["name"],
        "Status": "DEPLOYED",
        "Owner": _owner(arn),
        "NetworkType": "IPV4",
    }


def _panel_view(arn):
    p = _panels[arn]
    return {
        "ClusterArn": p["cluster"],
        "ControlPanelArn": arn,
        "DefaultControlPanel": p["default"],
        "Name": p["name"],
        "RoutingControlCount": sum(1 for c in _controls.values() if c["panel"] == arn),
        "Status": "DEPLOYED",
        "Owner": _owner(arn),
    }


def _new_panel(account, cluster, name, default):
    arn = _arn(account, f"controlpanel/{_new_id()}")
    _panels[arn] = {"name": name, "cluster": cluster, "default": default}
    return arn


def control_config(environ: WSGIEnvironment, start_response: StartResponse, _region: str) -> list[bytes]:
    content_type = "application/json"
    method = environ.get("REQUEST_METHOD", "GET")
    path = unquote(environ.get("RAW_URI") or environ.get("PATH_INFO", "")).split("?", 1)[0]
    caller = _caller(environ)
    try:
        with _lock:
            if method == "POST" and path == "/cluster":
                body = _body(environ)
                cluster_id = _new_id()
                arn = _arn(caller, f"cluster/{cluster_id}")
                _clusters[arn] = {"name": body.get("ClusterName", ""), "id": cluster_id, "shared_with": set()}
                _new_panel(caller, arn, "DefaultControlPanel", True)
                return _respond(start_response, 200, {"Cluster": _cluster_view(environ, arn)}, content_type)
            if method == "GET" and path.startswith("/cluster/"):
                arn = path[len("/cluster/") :]
                if arn not in _clusters:
                    raise _Error("ResourceNotFoundException", f"Cluster {arn} not found.", 404)
                return _respond(start_response, 200, {"Cluster": _cluster_view(environ, arn)}, content_type)
            if method == "POST" and path == "/controlpanel":
                body = _body(environ)
                cluster = body.get("ClusterArn", "")
                if cluster not in _clusters:
                    raise _Error("ResourceNotFoundException", f"Cluster {cluster} not found.", 404)
                if caller != _owner(cluster) and caller not in _clusters[cluster]["shared_with"]:
                    raise _denied(caller, cluster)
                arn = _new_panel(caller, cluster, body.get("ControlPanelName", ""), False)
                return _respond(start_response, 200, {"ControlPanel": _panel_view(arn)}, content_type)
            if method == "POST" and path == "/routingcontrol":
                body = _body(environ)
                cluster = body.get("ClusterArn", "")
                if cluster not in _clusters:
                    raise _Error("ResourceNotFoundException", f"Cluster {cluster} not found.", 404)
                panel = body.get("ControlPanelArn") or next(
                    a for a, p in _panels.items() if p["cluster"] == cluster and p["default"]
                )
                if panel not in _panels:
                    raise _Error("ResourceNotFoundException", f"Control panel {panel} not found.", 404)
                if _owner(panel) != caller:
                    raise _denied(caller, panel)
                arn = f"{panel}/routingcontrol/{_new_id()[:16]}"
                _controls[arn] = {"name": body.get("RoutingControlName", ""), "panel": panel, "state": "Off"}
                view = {
                    "ControlPanelArn": panel,
                    "Name": _controls[arn]["name"],
                    "RoutingControlArn": arn,
                    "Status": "DEPLOYED",
                    "Owner": caller,
                }
                return _respond(start_response, 200, {"RoutingControl": view}, content_type)
            if method == "POST" and path == "/safetyrule":
                body = _body(environ)
                rule = body.get("AssertionRule")
                if not rule:
                    raise _Error("ValidationException", "Only assertion rules are emulated.")
                panel = rule.get("ControlPanelArn", "")
                if panel not in _panels:
                    raise _Error("ResourceNotFoundException", f"Control panel {panel} not found.", 404)
                if _owner(panel) != caller:
                    raise _denied(caller, panel)
                for a in rule.get("AssertedControls") or []:
                    _control(a)
                config = rule.get("RuleConfig") or {}
                arn = f"{panel}/safetyrule/{_new_id()[:16]}"
                _rules[arn] = {
                    "name": rule.get("Name", ""),
                    "panel": panel,
                    "asserted": list(rule.get("AssertedControls") or []),
                    "type": config.get("Type", "ATLEAST"),
                    "threshold": int(config.get("Threshold") or 0),
                    "inverted": bool(config.get("Inverted")),
                    "wait": int(rule.get("WaitPeriodMs") or 5000),
                }
                view = dict(rule, SafetyRuleArn=arn, Status="DEPLOYED", Owner=caller)
                return _respond(start_response, 200, {"AssertionRule": view}, content_type)
            if method == "GET" and path.startswith("/controlpanel/") and path.endswith("/routingcontrols"):
                panel = path[len("/controlpanel/") : -len("/routingcontrols")]
                views = [
                    {
                        "ControlPanelArn": c["panel"],
                        "Name": c["name"],
                        "RoutingControlArn": a,
                        "Status": "DEPLOYED",
                        "Owner": _owner(a),
                    }
                    for a, c in sorted(_controls.items())
                    if c["panel"] == panel
                ]
                return _respond(start_response, 200, {"RoutingControls": views}, content_type)
        raise _Error("ValidationException", f"{method} {path} is not emulated.")
    except _Error as e:
        return _error(start_response, e, content_type)


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """POST /lifeboat-emulator/arc/clusters/share {"cluster_arn", "account"}: AWS RAM's share of a cluster."""
    if environ.get("REQUEST_METHOD") == "POST" and path.rstrip("/").endswith("/arc/clusters/share"):
        body = _body(environ)
        with _lock:
            cluster = _clusters.get(str(body.get("cluster_arn", "")))
            if cluster is None:
                return _respond(start_response, 404, {"error": f"no cluster {body.get('cluster_arn')}"})
            cluster["shared_with"].add(str(body.get("account", "")))
            return _respond(start_response, 200, {"shared_with": sorted(cluster["shared_with"])})
    return _respond(start_response, 404, {"error": f"unknown control {path}"})


def control_state(arn: str) -> str | None:
    """A routing control's state, for RECOVERY_CONTROL health checks (None: unknown)."""
    with _lock:
        c = _controls.get(arn)
        return c["state"] if c else None
