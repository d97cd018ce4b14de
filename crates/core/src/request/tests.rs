use super::*;
use serde_json::json;

pub(crate) fn alarm_event(name: &str, state: &str) -> serde_json::Value {
    // Shape from the CloudWatch documentation's "Alarm events and EventBridge" sample.
    json!({
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-26T18:43:48Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 1 datapoint [10.0] was greater than the threshold (5.0).",
                "reasonData": "{\"version\":\"1.0\"}",
                "timestamp": "2026-11-26T18:43:48.000+0000"
            },
            "previousState": {
                "value": "OK",
                "reason": "Threshold Crossed",
                "timestamp": "2026-11-26T18:40:00.000+0000"
            },
            "configuration": {
                "description": "5xx rate",
                "metrics": []
            }
        }
    })
}

#[test]
fn alarm_event_becomes_a_disaster_failover_for_that_alarm() {
    let r = normalize_trigger(&alarm_event("payments-5xx", "ALARM")).unwrap();
    assert_eq!(r.action, Action::Failover);
    assert_eq!(r.mode, Mode::Disaster);
    assert_eq!(r.trigger, TriggerKind::Alarm);
    assert_eq!(r.apps, AppSelection::Alarm("payments-5xx".into()));
    assert!(r.ignore.is_none());
    assert_eq!(execution_name_for(&r).unwrap(), "alarm-payments-5xx-20261126T184348Z");
}

#[test]
fn a_composite_alarm_event_is_a_trigger_like_a_metric_alarm_event() {
    // A composite alarm's event carries its rule, not metrics, and its
    // reasonData names the triggering alarms.
    let mut event = alarm_event("region-health", "ALARM");
    event["detail"]["configuration"] = json!({
        "alarmRule": "ALARM(\"payments-5xx\") OR ALARM(\"search-5xx\")",
        "actionsSuppressor": "",
        "actionsSuppressorWaitPeriod": 0,
        "actionsSuppressorExtensionPeriod": 0
    });
    event["detail"]["state"]["reasonData"] = json!(
        "{\"triggeringAlarms\":[{\"arn\":\"arn:aws:cloudwatch:us-east-1:123456789012:alarm:payments-5xx\",\"state\":{\"value\":\"ALARM\",\"timestamp\":\"2026-11-26T18:43:47.000+0000\"}}]}"
    );
    let r = normalize_trigger(&event).unwrap();
    assert_eq!((r.action, r.mode), (Action::Failover, Mode::Disaster));
    assert_eq!(r.apps, AppSelection::Alarm("region-health".into()));
    assert!(r.ignore.is_none());
}

#[test]
fn insufficient_data_selects_only_the_apps_that_opt_in() {
    let r = normalize_trigger(&alarm_event("payments-5xx", "INSUFFICIENT_DATA")).unwrap();
    assert_eq!(r.apps, AppSelection::AlarmWithoutData("payments-5xx".into()));
    assert!(r.ignore.is_none());
}

#[test]
fn alarm_events_from_another_account_region_or_alarm_are_refused() {
    let origin = TriggerOrigin {
        account: Some("123456789012".into()),
        regions: vec!["us-east-1".into(), "us-west-2".into()],
    };
    assert!(check_alarm_origin(&alarm_event("a", "ALARM"), &origin).is_ok());
    let mut other_account = alarm_event("a", "ALARM");
    other_account["account"] = json!("999999999999");
    let e = check_alarm_origin(&other_account, &origin).unwrap_err();
    assert!(e.message.contains("account \"999999999999\" refused"), "{e}");
    let mut other_region = alarm_event("a", "ALARM");
    other_region["region"] = json!("eu-west-1");
    assert!(
        check_alarm_origin(&other_region, &origin)
            .unwrap_err()
            .message
            .contains("eu-west-1")
    );
    let mut spoofed = alarm_event("a", "ALARM");
    spoofed["resources"] = json!(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:something-else"]);
    assert!(
        check_alarm_origin(&spoofed, &origin)
            .unwrap_err()
            .message
            .contains("do not name the alarm")
    );
    // Manual requests and schedules are not alarm events.
    assert!(check_alarm_origin(&json!({"action": "failover"}), &origin).is_ok());
}

#[test]
fn alarm_back_to_ok_is_ignored_not_an_error() {
    let r = normalize_trigger(&alarm_event("payments-5xx", "OK")).unwrap();
    assert!(r.ignore.unwrap().contains("not ALARM"));
}

#[test]
fn malformed_alarm_event_names_the_problem() {
    let mut ev = alarm_event("x", "ALARM");
    ev["detail"].as_object_mut().unwrap().remove("alarmName");
    let err = normalize_trigger(&ev).unwrap_err();
    assert!(
        err.message.contains("malformed CloudWatch Alarm State Change event"),
        "{err}"
    );
    assert!(err.message.contains("alarmName"), "{err}");
    let mut ev = alarm_event("x", "ALARM");
    ev["detail"]["state"]["value"] = json!(42);
    let err = normalize_trigger(&ev).unwrap_err();
    assert!(err.message.contains("detail.state.value"), "names the field: {err}");
}

#[test]
fn scheduled_event_is_a_practice_drill_of_everything() {
    let ev = json!({
        "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T02:00:00Z", "region": "us-west-2",
        "resources": ["arn:aws:events:us-west-2:123456789012:rule/lifeboat-drill"], "detail": {}
    });
    let r = normalize_trigger(&ev).unwrap();
    assert_eq!(
        (r.action, r.dry_run, r.trigger),
        (Action::Drill, true, TriggerKind::Schedule)
    );
    assert_eq!(r.apps, AppSelection::All);
}

#[test]
fn manual_request_defaults_to_all_apps_planned() {
    let r = normalize_trigger(&json!({"action": "failback"})).unwrap();
    assert_eq!((r.action, r.mode, r.dry_run), (Action::Failback, Mode::Planned, false));
    assert_eq!(r.apps, AppSelection::All);
    let r = normalize_trigger(&json!({"action": "failover", "apps": ["a"], "dry_run": true})).unwrap();
    assert_eq!(r.apps, AppSelection::Named(vec!["a".into()]));
    assert!(execution_name_for(&r).is_none());
}

#[test]
fn the_deployed_triggers_inputs_are_manual_requests() {
    // EventBridge Scheduler's target Input in infra/template.yaml.
    let r =
        normalize_trigger(&json!({"action": "drill", "dry_run": true, "reason": "scheduled practice drill"})).unwrap();
    assert_eq!(
        (r.action, r.dry_run, r.trigger),
        (Action::Drill, true, TriggerKind::Manual)
    );
    // The REST API passes the POST body as the execution input.
    let body: serde_json::Value =
        serde_json::from_str(r#"{"action": "failback", "apps": ["orders"], "reason": "INC-42"}"#).unwrap();
    let r = normalize_trigger(&body).unwrap();
    assert_eq!((r.action, r.source.as_str()), (Action::Failback, "INC-42"));
    // A body that is not a JSON object, or a request with a wrongly typed field.
    assert!(normalize_trigger(&json!("failover")).is_err());
    assert!(
        normalize_trigger(&json!({"action": "drill", "dry_run": "yes"}))
            .unwrap_err()
            .message
            .contains("dry_run")
    );
}

#[test]
fn an_operator_may_declare_a_disaster_for_a_failover_only() {
    let r = normalize_trigger(&json!({"action": "failover", "mode": "disaster", "accept_data_loss": true})).unwrap();
    assert_eq!((r.mode, r.accept_data_loss), (Mode::Disaster, true));
    let r = normalize_trigger(&json!({"action": "failback", "move_dns_without_database": true})).unwrap();
    assert_eq!((r.mode, r.move_dns_without_database), (Mode::Planned, true));
    let err = normalize_trigger(&json!({"action": "failback", "mode": "disaster"})).unwrap_err();
    assert!(err.message.contains("always planned"), "{}", err.message);
}

#[test]
fn an_api_body_is_a_manual_request_of_its_own_kind_and_names_its_caller() {
    let caller = "arn:aws:sts::123456789012:assumed-role/Operator/alice";
    let r = normalize_trigger(&json!({
        "api_request": {"action": "failover", "reason": "game day"},
        "caller": caller,
        "api_request_id": "abc"
    }))
    .unwrap();
    // Its own trigger kind (an approval may be required for API requests only), built like a manual one.
    assert_eq!(r.trigger, TriggerKind::Api);
    assert_eq!(r.source, format!("game day (API, by {caller})"));
    // An alarm-shaped body through the API is refused, not treated as an alarm.
    let e = normalize_trigger(&json!({"api_request": alarm_event("storefront-errors", "ALARM"), "caller": caller}))
        .unwrap_err();
    assert!(e.message.contains("always a manual request"), "{}", e.message);
    for body in [
        json!([]),
        json!("failover"),
        json!({"detail": {}}),
        json!({"action": "explode"}),
    ] {
        assert!(normalize_trigger(&json!({"api_request": body, "caller": caller})).is_err());
    }
    let e = normalize_trigger(&json!({"api_request": {"action": "failover"}, "detail-type": "x"})).unwrap_err();
    assert!(e.message.contains("unexpected field"), "{}", e.message);
}

#[test]
fn a_follow_up_is_a_disaster_failover_of_its_apps() {
    let f = FollowUp {
        after_run: "run-1".into(),
        alarms: vec!["a1".into()],
        apps: vec!["payments".into()],
        since: None,
        waited_for: vec![],
    };
    let r = normalize_trigger(&f.input()).unwrap();
    assert_eq!(
        (r.action, r.mode, r.trigger),
        (Action::Failover, Mode::Disaster, TriggerKind::FollowUp)
    );
    assert_eq!(r.apps, AppSelection::Named(vec!["payments".into()]));
    assert!(r.source.contains("a1 still in ALARM after run run-1"), "{}", r.source);
    assert!(normalize_trigger(&json!({"follow_up": {"after_run": "r", "alarms": [], "apps": []}})).is_err());
    assert!(normalize_trigger(&json!({"follow_up": 7})).is_err());
}

#[test]
fn bad_inputs_are_invalid_requests_that_say_what_is_accepted() {
    for bad in [
        json!([1, 2]),
        json!({"hello": "world"}),
        json!({"action": "explode"}),
        json!({"action": "failover", "aps": ["typo"]}),
        json!({"action": "failover", "apps": ["a", "a"]}),
        json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}),
    ] {
        let err = normalize_trigger(&bad).unwrap_err();
        assert_eq!(err.name, crate::ErrorName::InvalidRequest, "{bad}");
    }
    let err = normalize_trigger(&json!({"action": "failover", "aps": []})).unwrap_err();
    assert!(err.message.contains("unknown field `aps`"), "{err}");
}

#[test]
fn an_alarm_older_than_the_allowed_age_is_refused_with_its_age() {
    let r = normalize_trigger(&alarm_event("payments-5xx", "ALARM")).unwrap();
    let at = r.triggered_at.unwrap();
    // At the limit it passes; a second over, it is refused and says how old it is.
    check_trigger_age(&r, at + chrono::Duration::seconds(900), 900).unwrap();
    let e = check_trigger_age(&r, at + chrono::Duration::seconds(1_234), 900).unwrap_err();
    assert_eq!(e.name, crate::ErrorName::InvalidRequest);
    assert!(e.message.contains("1234 s old"), "{}", e.message);
    assert!(e.message.contains("payments-5xx"), "{}", e.message);
    assert!(e.message.contains("LIFEBOAT_MAX_TRIGGER_AGE_SECONDS"), "{}", e.message);
    // A person's request has no age limit.
    let manual = normalize_trigger(&json!({"action": "failover"})).unwrap();
    check_trigger_age(&manual, at + chrono::Duration::days(30), 900).unwrap();
}

#[test]
fn a_follow_up_taken_up_by_its_own_execution_names_what_turned_it_away_not_itself() {
    let f = FollowUp {
        after_run: "alarm-x-1".into(),
        alarms: vec!["x".into()],
        apps: vec!["api".into()],
        since: None,
        waited_for: vec!["in the cooldown after run failback-1".into()],
    };
    assert_eq!(f.source_for("run-2"), "alarm(s) x still in ALARM after run alarm-x-1");
    let own = f.source_for("alarm-x-1");
    assert_eq!(
        own,
        "alarm(s) x kept (in the cooldown after run failback-1) and still in ALARM: taken up by this execution"
    );
    let bare = FollowUp {
        waited_for: vec![],
        ..f
    };
    assert_eq!(
        bare.waited_reason_for("alarm-x-1"),
        "kept while the lease or the cooldown turned it away"
    );
    assert_eq!(
        bare.waited_reason_for("run-2"),
        "kept while run alarm-x-1 held the lease"
    );
}
