"""CloudWatch: metric alarms evaluated from the data put to them.

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
Alarms set with SetAlarmState and never sent data are left alone. Metric
math and percentiles are not evaluated.
"""

import json

from moto.cloudwatch.models import CloudWatchBackend, MetricDatum

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


def evaluate(backend, alarm):
    """Sets the alarm's state from its metric's datapoints; returns it."""
    compare = _COMPARE.get(alarm.comparison_operator)
    reduce = _STATISTIC.get(alarm.statistic or "")
    if compare is None or reduce is None or not alarm.period:
        return alarm.state_value
    data = [d for d in backend.metric_data if _matches(alarm, d)]
    if not data:
        return alarm.state_value
    period = int(alarm.period)
    periods = int(alarm.evaluation_periods or 1)
    needed = int(alarm.datapoints_to_alarm or periods)
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


def put_metric_data(self, namespace, metric_data):
    _orig_put_metric_data(self, namespace, metric_data)
    names = {m.get("MetricName") for m in metric_data}
    for alarm in list(self.alarms.values()):
        if alarm.namespace == namespace and alarm.metric_name in names:
            evaluate(self, alarm)


def install():
    CloudWatchBackend.put_metric_data = put_metric_data
