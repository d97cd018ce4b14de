"""CloudWatch as its API reference says: DescribeAlarms returns only metric
alarms unless AlarmTypes asks for composites; composite alarms follow their
AlarmRule (DescribeAlarms and PutCompositeAlarm API references)."""

import pytest


def _metric_alarm(cw, name, metric="Errors", threshold=1, **judging):
    """A Sum-per-minute alarm over `metric`; `judging` sets the periods and missing data."""
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace="App",
        MetricName=metric,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=judging.pop("EvaluationPeriods", 1),
        Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold",
        **judging,
    )


def test_describe_alarms_without_alarm_types_returns_metric_alarms_only(emulator):
    cw = emulator.client("cloudwatch")
    _metric_alarm(cw, "errors")
    cw.put_composite_alarm(AlarmName="app-health", AlarmRule='ALARM("errors")')
    plain = cw.describe_alarms(AlarmNames=["errors", "app-health"])
    assert [a["AlarmName"] for a in plain["MetricAlarms"]] == ["errors"]
    assert plain["CompositeAlarms"] == []
    both = cw.describe_alarms(AlarmNames=["errors", "app-health"], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert [a["AlarmName"] for a in both["CompositeAlarms"]] == ["app-health"]
    assert both["CompositeAlarms"][0]["AlarmRule"] == 'ALARM("errors")'
    only = cw.describe_alarms(AlarmTypes=["CompositeAlarm"])
    assert only["MetricAlarms"] == [] and len(only["CompositeAlarms"]) == 1


def test_a_composite_alarm_follows_its_rule(emulator):
    cw = emulator.client("cloudwatch")
    _metric_alarm(cw, "errors")
    _metric_alarm(cw, "latency")
    cw.put_composite_alarm(AlarmName="either", AlarmRule='ALARM("errors") OR ALARM(latency)')
    cw.put_composite_alarm(AlarmName="both", AlarmRule='ALARM("errors") AND NOT OK("latency")')
    cw.put_composite_alarm(AlarmName="outer", AlarmRule='ALARM("either") AND TRUE')

    def states():
        alarms = cw.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        return {a["AlarmName"]: a["StateValue"] for a in alarms}

    assert states() == {"either": "OK", "both": "OK", "outer": "OK"}
    cw.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test")
    assert states() == {"either": "ALARM", "both": "OK", "outer": "ALARM"}
    cw.set_alarm_state(AlarmName="latency", StateValue="INSUFFICIENT_DATA", StateReason="test")
    assert states() == {"either": "ALARM", "both": "ALARM", "outer": "ALARM"}
    cw.set_alarm_state(AlarmName="latency", StateValue="OK", StateReason="test")
    assert states() == {"either": "ALARM", "both": "OK", "outer": "ALARM"}
    cw.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="test")
    assert states() == {"either": "OK", "both": "OK", "outer": "OK"}


def test_a_rule_that_does_not_parse_is_refused(emulator):
    cw = emulator.client("cloudwatch")
    with pytest.raises(cw.exceptions.ClientError) as e:
        cw.put_composite_alarm(AlarmName="bad", AlarmRule='ALARM("x" OR')
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_cloudwatchs_clock_judges_a_metric_that_stopped(emulator):
    """Moved by the control hook, the clock evaluates alarms whose data
    stopped: missing periods count per TreatMissingData, as CloudWatch's
    minute-by-minute evaluation would (a probe's heartbeat that stops)."""
    import datetime

    cw = emulator.client("cloudwatch")
    for name, metric, stat, missing in [
        ("heartbeat-missing", "Heartbeat", "SampleCount", "breaching"),
        ("signal", "Success", "Minimum", "missing"),
    ]:
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace="Probe",
            MetricName=metric,
            Statistic=stat,
            Period=60,
            EvaluationPeriods=2,
            DatapointsToAlarm=2,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData=missing,
        )
    cw.put_composite_alarm(AlarmName="probe", AlarmRule='ALARM("signal") AND NOT ALARM("heartbeat-missing")')
    start = datetime.datetime(2026, 12, 5, 10, 0, tzinfo=datetime.UTC)
    for minute in range(3):
        at = start + datetime.timedelta(minutes=minute)
        cw.put_metric_data(
            Namespace="Probe",
            MetricData=[
                {"MetricName": "Heartbeat", "Value": 1, "Timestamp": at},
                {"MetricName": "Success", "Value": 1, "Timestamp": at},
            ],
        )

    def state(name, kind="MetricAlarms"):
        found = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        return found[kind][0]["StateValue"]

    assert (state("heartbeat-missing"), state("signal"), state("probe", "CompositeAlarms")) == ("OK", "OK", "OK")
    # Nothing more is published; five minutes on, CloudWatch judges the gap.
    later = (start + datetime.timedelta(minutes=7)).timestamp()
    answer = emulator.control("/lifeboat-emulator/cloudwatch/regions/us-west-2/evaluate", {"at": later})
    assert answer["states"]["heartbeat-missing"] == "ALARM"
    assert answer["states"]["signal"] == "INSUFFICIENT_DATA"
    assert state("probe", "CompositeAlarms") == "OK", "a stopped probe starts nothing"


def test_data_put_to_a_metric_sets_its_alarm_by_datapoints_to_alarm_and_missing_data(emulator):
    """The last EvaluationPeriods periods, DatapointsToAlarm of them breaching,
    a period with no data counted per TreatMissingData (the user guide's
    "Evaluating an alarm")."""
    import datetime

    cw = emulator.client("cloudwatch")
    _metric_alarm(
        cw,
        "five-xx",
        metric="5xx",
        threshold=10,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        TreatMissingData="notBreaching",
    )
    start = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)

    def put(minute, value):
        at = start + datetime.timedelta(minutes=minute)
        cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "5xx", "Timestamp": at, "Value": value}])
        return cw.describe_alarms(AlarmNames=["five-xx"])["MetricAlarms"][0]["StateValue"]

    assert put(0, 50) == "OK", "one breaching period of three is not two"
    assert put(2, 50) == "ALARM", "two of the last three breach (the missing minute 1 does not)"
    assert put(4, 1) == "OK", "minute 3 missing (not breaching) and minute 4 low: one of three"
