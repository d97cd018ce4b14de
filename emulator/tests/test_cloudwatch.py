"""CloudWatch as its API reference says: DescribeAlarms returns only metric
alarms unless AlarmTypes asks for composites; composite alarms follow their
AlarmRule (DescribeAlarms and PutCompositeAlarm API references)."""

import pytest


def _metric_alarm(cw, name):
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace="App",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
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
