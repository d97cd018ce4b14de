"""CloudWatch: metric alarms evaluated from the data put to them, composite
alarms, and DescribeAlarms' AlarmTypes.

moto stores alarms and metric data but never evaluates an alarm (it stays in
whatever state it was created or set to). Here, each PutMetricData evaluates
the alarms on the metrics it wrote, the way CloudWatch documents: the last
EvaluationPeriods periods of Period seconds, ending with the period of the
newest datapoint, each reduced by the alarm's Statistic and compared with
its Threshold; ALARM when DatapointsToAlarm (default EvaluationPeriods) of
them breach. A period with no data counts per TreatMissingData: `breaching`,
`notBreaching`, or (`missing`, `ignore`) left out; with nothing left to
judge the alarm is INSUFFICIENT_DATA (`ignore` keeps its state).

Departures, named: evaluation happens when data arrives, not on CloudWatch's
clock, so an alarm whose metric stops entirely keeps its last state until
data comes (missing periods between datapoints are judged); the newest
datapoint's period stands in for "now", which keeps tests deterministic.
CloudWatch's clock is moved by hand instead: `POST
/lifeboat-emulator/cloudwatch/regions/{region}/evaluate {"at": EPOCH}`
evaluates every metric alarm of that Region, in every account, as of `at` (the periods up to
the one holding `at`, missing ones per TreatMissingData), as CloudWatch does
each minute. Alarms set with SetAlarmState and never sent data are left
alone by data arriving. Metric
math and percentiles are not evaluated.

Composite alarms (moto 5.2.5: PutCompositeAlarm not implemented). The
DescribeAlarms API reference: "AlarmTypes: Use this parameter to specify
whether you want the operation to return metric alarms or composite alarms.
If you omit this parameter, only metric alarms are returned" (moto returns
both whatever is asked). PutCompositeAlarm's reference: the AlarmRule is a
boolean expression of ALARM(...), OK(...) and INSUFFICIENT_DATA(...) of
other alarms (by name or ARN), TRUE and FALSE, joined by AND, OR, NOT and
parentheses; the composite is in ALARM when its rule is true, OK when it is
not. Here a composite is evaluated when it is put and whenever an alarm it
names changes state (composites of composites follow). The DescribeAlarms
reference also says composites are returned only to a caller whose
cloudwatch:DescribeAlarms permission is scoped to "*": IAM is not emulated,
so that is for the template to get right (tests/tests/e2e/infra.rs checks it).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.models import Alarm, CloudWatchBackend, MetricDatum, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import EmptyResult

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from moto.core.responses import ActionResult

_orig_put_metric_data = CloudWatchBackend.put_metric_data

_COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}

_STATISTIC = {
    "Minimum": min,
    "Maximum": max,
    "Sum": sum,
    "Average": lambda vs: sum(vs) / len(vs),
    "SampleCount": len,
}


def _dims(items):
    return sorted((d.name, d.value) for d in items)


def _matches(alarm, datum):
    return (
        isinstance(datum, MetricDatum)
        and datum.namespace == alarm.namespace
        and datum.name == alarm.metric_name
        and _dims(datum.dimensions) == _dims(alarm.dimensions)
    )


def _epoch(ts):
    return ts.timestamp()


def evaluate(backend: CloudWatchBackend, alarm: Alarm, at: float | None = None) -> str:
    """Sets the alarm's state from its metric's datapoints, as of `at` (epoch
    seconds) or else of the newest datapoint; returns it."""
    compare = _COMPARE.get(alarm.comparison_operator)
    reduce = _STATISTIC.get(alarm.statistic or "")
    if compare is None or reduce is None or not alarm.period:
        return alarm.state_value
    data = [d for d in backend.metric_data if _matches(alarm, d)]
    if not data and at is None:
        return alarm.state_value
    period = int(alarm.period)
    periods = int(alarm.evaluation_periods or 1)
    needed = int(alarm.datapoints_to_alarm or periods)
    if at is not None:
        newest = int(at) // period
    else:
        newest = max(int(_epoch(d.timestamp)) // period for d in data)
    treatment = alarm.treat_missing_data or "missing"
    judged, breaching, values = 0, 0, []
    for bucket in range(newest - periods + 1, newest + 1):
        vs = [d.value for d in data if int(_epoch(d.timestamp)) // period == bucket]
        if vs:
            value = reduce(vs)
            values.append(value)
            judged += 1
            breaching += 1 if compare(value, float(alarm.threshold)) else 0
        elif treatment == "breaching":
            judged += 1
            breaching += 1
        elif treatment == "notBreaching":
            judged += 1
    if breaching >= needed:
        state = "ALARM"
    elif judged == 0:
        state = alarm.state_value if treatment == "ignore" else "INSUFFICIENT_DATA"
    else:
        state = "OK"
    if state != alarm.state_value:
        reason = (
            f"Threshold Crossed: {breaching} out of the last {periods} datapoints "
            f"[{', '.join(str(v) for v in values)}] were {'' if state == 'ALARM' else 'not '}"
            f"{alarm.comparison_operator} {alarm.threshold} (missing data: {treatment})."
        )
        alarm.update_state(reason, json.dumps({"version": "1.0", "evaluatedDatapoints": len(values)}), state)
    return state


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """POST /lifeboat-emulator/cloudwatch/regions/{region}/evaluate {"at": EPOCH}."""
    parts = path.strip("/").split("/")
    if len(parts) == 5 and parts[2] == "regions" and parts[4] == "evaluate":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        asked = json.loads(environ["wsgi.input"].read(length) or b"{}")
        states = {}
        # Every account's alarms in the Region (a member account's too).
        for account in list(cloudwatch_backends.keys()):
            backend = cloudwatch_backends[account][parts[3]]
            for alarm in list(backend.alarms.values()):
                if not alarm.rule:
                    states[alarm.name] = evaluate(backend, alarm, at=float(asked["at"]))
        body, status = {"region": parts[3], "states": states}, "200 OK"
    else:
        body, status = {"error": f"unknown control {path}"}, "404 Not Found"
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def put_metric_data(self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    _orig_put_metric_data(self, namespace, metric_data)
    names = {m.get("MetricName") for m in metric_data}
    for alarm in list(self.alarms.values()):
        if alarm.namespace == namespace and alarm.metric_name in names:
            evaluate(self, alarm)


_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


def _tokens(rule):
    pos, out = 0, []
    rule = rule.strip()
    while pos < len(rule):
        m = _TOKEN.match(rule, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the alarm rule at {rule[pos:]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", None))
        elif m.group(2):
            out.append((")", None))
        elif m.group(3) is not None:
            out.append(("name", m.group(3)))
        else:
            out.append(("word", m.group(4)))
    return out


_STATE_FUNCTIONS = {"ALARM": "ALARM", "OK": "OK", "INSUFFICIENT_DATA": "INSUFFICIENT_DATA"}


class _Rule:
    """A parsed AlarmRule: evaluate(state_of) -> bool; names() -> the alarms it reads."""

    def __init__(self, rule):
        self.tokens = _tokens(rule)
        self.pos = 0
        self.tree = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos][1] or self.tokens[self.pos][0]!r} in alarm rule")

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _take(self):
        tok = self._peek()
        self.pos += 1
        return tok

    def _or(self):
        node = self._and()
        while self._peek() == ("word", "OR"):
            self._take()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self._peek() == ("word", "AND"):
            self._take()
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self._peek() == ("word", "NOT"):
            self._take()
            return ("not", self._not())
        return self._atom()

    def _atom(self):
        kind, value = self._take()
        if kind == "(":
            node = self._or()
            if self._take()[0] != ")":
                raise ValueError("unbalanced parentheses in alarm rule")
            return node
        if kind == "word" and value in ("TRUE", "FALSE"):
            return ("const", value == "TRUE")
        if kind == "word" and value in _STATE_FUNCTIONS:
            if self._take()[0] != "(":
                raise ValueError(f"{value} takes an alarm name in parentheses")
            arg_kind, arg = self._take()
            if arg_kind not in ("name", "word") or self._take()[0] != ")":
                raise ValueError(f"{value}(...) takes one alarm name or ARN")
            return ("state", _STATE_FUNCTIONS[value], arg)
        raise ValueError(f"unexpected {value or kind!r} in alarm rule")

    def names(self, node=None):
        node = node or self.tree
        if node[0] == "state":
            return {node[2]}
        if node[0] == "const":
            return set()
        return set().union(*(self.names(n) for n in node[1:]))

    def evaluate(self, state_of, node=None):
        node = node or self.tree
        op = node[0]
        if op == "const":
            return node[1]
        if op == "state":
            return state_of(node[2]) == node[1]
        if op == "not":
            return not self.evaluate(state_of, node[1])
        left, right = self.evaluate(state_of, node[1]), self.evaluate(state_of, node[2])
        return (left and right) if op == "and" else (left or right)


def _alarm_name(name_or_arn):
    return name_or_arn.split(":alarm:", 1)[1] if ":alarm:" in name_or_arn else name_or_arn


def _evaluate_composite(backend, alarm, depth=0):
    rule = _Rule(alarm.rule)

    def state_of(ref):
        found = backend.alarms.get(_alarm_name(ref))
        return found.state_value if found else None

    state = "ALARM" if rule.evaluate(state_of) else "OK"
    if state != alarm.state_value:
        alarm.update_state(
            f"Composite alarm rule {alarm.rule} evaluated to {'TRUE' if state == 'ALARM' else 'FALSE'}",
            json.dumps({"triggeringAlarms": sorted(rule.names())}),
            state,
        )


def _backend_of(alarm):
    # arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME
    parts = alarm.alarm_arn.split(":")
    return cloudwatch_backends[parts[4]][parts[3]]


_orig_update_state = Alarm.update_state
_evaluating = []


def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
    _orig_update_state(self, reason, reason_data, state_value)
    # Composites naming this alarm follow it (bounded: a rule cannot name itself usefully).
    if len(_evaluating) > 10:
        return
    _evaluating.append(self.name)
    try:
        backend = _backend_of(self)
        for other in list(backend.alarms.values()):
            if other.rule and other is not self and self.name in {_alarm_name(n) for n in _Rule(other.rule).names()}:
                _evaluate_composite(backend, other)
    finally:
        _evaluating.pop()


def put_composite_alarm(self: CloudWatchResponse) -> EmptyResult:
    name = self._get_param("AlarmName")
    rule = self._get_param("AlarmRule") or ""
    try:
        _Rule(rule)
    except ValueError as e:
        raise ValidationError(str(e)) from e
    backend = self.cloudwatch_backend
    backend.put_metric_alarm(
        name=name,
        namespace=None,
        metric_name=None,
        metric_data_queries=None,
        comparison_operator=None,
        evaluation_periods=None,
        datapoints_to_alarm=None,
        period=None,
        threshold=None,
        statistic=None,
        extended_statistic=None,
        description=self._get_param("AlarmDescription"),
        dimensions=[],
        alarm_actions=self._get_param("AlarmActions", []),
        ok_actions=self._get_param("OKActions", []),
        insufficient_data_actions=self._get_param("InsufficientDataActions", []),
        unit=None,
        actions_enabled=self._get_bool_param("ActionsEnabled"),
        rule=rule,
        tags=self._get_param("Tags", []),
    )
    alarm = backend.alarms[name]
    alarm.alarm_rule = rule
    _evaluate_composite(backend, alarm)
    return EmptyResult()


_orig_describe_alarms = CloudWatchResponse.describe_alarms


def describe_alarms(self: CloudWatchResponse) -> ActionResult:
    result = _orig_describe_alarms(self)
    types = set(self._get_param("AlarmTypes", []) or ["MetricAlarm"])
    if "MetricAlarm" not in types:
        result.result["MetricAlarms"] = []
    if "CompositeAlarm" not in types:
        result.result["CompositeAlarms"] = []
    return result


def install() -> None:
    CloudWatchBackend.put_metric_data = put_metric_data
    Alarm.update_state = update_state
    CloudWatchResponse.put_composite_alarm = put_composite_alarm
    CloudWatchResponse.describe_alarms = describe_alarms
