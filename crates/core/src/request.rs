//! Requests and triggers: whatever started the run (a CloudWatch alarm through
//! EventBridge, a schedule, or a person), normalised into one [`Request`].

use crate::error::LifeboatError;
use aws_lambda_events::event::cloudwatch_alarms::{CloudWatchAlarmData, CloudWatchAlarmStateValue};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Make the secondary Region active.
    Failover,
    /// Make the primary Region active again (always planned).
    Failback,
    /// Failover then failback; with `dry_run` a practice run that changes nothing.
    Drill,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Failover => "failover",
            Action::Failback => "failback",
            Action::Drill => "drill",
        })
    }
}

/// Planned operations may rely on the primary; disaster ones must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Planned,
    Disaster,
}

/// Where the run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    Alarm,
    Schedule,
    Manual,
    /// Alarms kept while another run held the lease (or in the cooldown),
    /// still in ALARM when it ended: not held back by the cooldown.
    FollowUp,
}

/// A follow-up run's input (`{"follow_up": {...}}`): the apps whose trigger
/// alarms, kept during `after_run` or its cooldown, were still in ALARM at
/// its end and had not moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub after_run: String,
    pub alarms: Vec<String>,
    pub apps: Vec<String>,
}

impl FollowUp {
    /// The input that starts it.
    pub fn input(&self) -> serde_json::Value {
        serde_json::json!({ "follow_up": self })
    }
}

/// Which applications the request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "by", content = "value")]
pub enum AppSelection {
    All,
    Named(Vec<String>),
    /// The apps an alarm in ALARM triggers.
    Alarm(String),
    /// The apps an alarm gone to INSUFFICIENT_DATA triggers: only those whose
    /// `triggers.insufficient_data` is `failover`.
    AlarmWithoutData(String),
}

/// A normalised request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub action: Action,
    pub mode: Mode,
    pub trigger: TriggerKind,
    /// Alarm name, schedule rule, or the operator's reason.
    pub source: String,
    /// When the trigger happened (alarm state change, schedule time), if known.
    pub triggered_at: Option<DateTime<Utc>>,
    pub apps: AppSelection,
    pub dry_run: bool,
    /// Seconds to wait between the failover and failback of a real drill.
    pub soak_seconds: u32,
    /// Set when the trigger asks for nothing (e.g. an alarm back to OK).
    pub ignore: Option<String>,
    /// The operator accepts losing up to the measured replication lag: a
    /// disaster failover goes ahead even over an app's `max_rpo_seconds`.
    #[serde(default)]
    pub accept_data_loss: bool,
    /// Failback of apps whose database cannot be failed back automatically
    /// (promoted replicas, restored backups): move their DNS anyway, the
    /// database having been rebuilt by hand.
    #[serde(default)]
    pub move_dns_without_database: bool,
    /// The operator overrides ARC safety rules that refuse a routing-control
    /// update (break glass): the only way past one.
    #[serde(default)]
    pub override_safety_rules: bool,
}

/// A request made by a person (CLI, console, API): `{"action": ..., "apps": [...], "dry_run": ...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualRequest {
    action: Action,
    #[serde(default)]
    apps: Vec<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    soak_seconds: Option<u32>,
    /// `disaster` when the primary Region is down (a failover only): databases
    /// fail over without the primary, after the RPO gate.
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    accept_data_loss: bool,
    #[serde(default)]
    move_dns_without_database: bool,
    #[serde(default)]
    override_safety_rules: bool,
}

const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";
const DEFAULT_SOAK_SECONDS: u32 = 60;

const ACCEPTED: &str = "expected an EventBridge \"CloudWatch Alarm State Change\" event, an EventBridge \
\"Scheduled Event\", or a manual request {\"action\": \"failover\"|\"failback\"|\"drill\", \"apps\": [...], \"dry_run\": false, \
\"mode\": \"planned\"|\"disaster\", \"accept_data_loss\": false, \"move_dns_without_database\": false, \
\"override_safety_rules\": false}";

/// Where alarm events are accepted from: the stack's own account and the
/// Regions it is deployed to (the EventBridge rule matches the same).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerOrigin {
    pub account: Option<String>,
    pub regions: Vec<String>,
}

/// Refuses an alarm event from another account or Region, or whose
/// resource is not the alarm it names. Other inputs pass.
pub fn check_alarm_origin(input: &serde_json::Value, origin: &TriggerOrigin) -> Result<(), LifeboatError> {
    if input.get("detail-type").and_then(|v| v.as_str()) != Some(ALARM_DETAIL_TYPE) {
        return Ok(());
    }
    let field = |k: &str| input.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let (account, region) = (field("account"), field("region"));
    let alarm = input
        .pointer("/detail/alarmName")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if let Some(want) = &origin.account
        && *want != account
    {
        return Err(LifeboatError::invalid(format!(
            "alarm event from account \"{account}\" refused: only this stack's account {want} may trigger a run"
        )));
    }
    if !origin.regions.is_empty() && !origin.regions.contains(&region) {
        return Err(LifeboatError::invalid(format!(
            "alarm event from Region \"{region}\" refused: only {} may trigger a run",
            origin.regions.join(", ")
        )));
    }
    if let Some(resources) = input.get("resources").and_then(|v| v.as_array()) {
        let expected = format!("arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}");
        let partition_free = |arn: &str| arn.split(':').skip(2).collect::<Vec<_>>().join(":");
        if !resources
            .iter()
            .filter_map(|r| r.as_str())
            .any(|r| partition_free(r) == partition_free(&expected))
        {
            return Err(LifeboatError::invalid(format!(
                "alarm event refused: its resources do not name the alarm {expected}"
            )));
        }
    }
    Ok(())
}

/// Turns whatever started the run into a [`Request`], or says what is wrong with it.
pub fn normalize_trigger(input: &serde_json::Value) -> Result<Request, LifeboatError> {
    let obj = input
        .as_object()
        .ok_or_else(|| LifeboatError::invalid(format!("input is not a JSON object: {ACCEPTED}")))?;
    if let Some(body) = obj.get(API_REQUEST) {
        return from_api(obj, body);
    }
    if let Some(detail_type) = obj.get("detail-type") {
        return match detail_type.as_str() {
            Some(ALARM_DETAIL_TYPE) => from_alarm_event(input),
            Some(SCHEDULE_DETAIL_TYPE) => from_schedule_event(input),
            other => Err(LifeboatError::invalid(format!(
                "unsupported EventBridge detail-type {}: {ACCEPTED}",
                other
                    .map(|s| format!("\"{s}\""))
                    .unwrap_or_else(|| detail_type.to_string())
            ))),
        };
    }
    if obj.contains_key("action") {
        return from_manual(input);
    }
    if let Some(f) = obj.get("follow_up") {
        return from_follow_up(f);
    }
    Err(LifeboatError::invalid(format!("unrecognised input: {ACCEPTED}")))
}

fn from_follow_up(f: &serde_json::Value) -> Result<Request, LifeboatError> {
    let f: FollowUp = serde_path_to_error::deserialize(f.clone())
        .map_err(|e| LifeboatError::invalid(format!("malformed follow_up: {}: {}", e.path(), e.inner())))?;
    if f.apps.is_empty() {
        return Err(LifeboatError::invalid("follow_up names no apps"));
    }
    Ok(Request {
        action: Action::Failover,
        mode: Mode::Disaster,
        trigger: TriggerKind::FollowUp,
        source: format!(
            "alarm(s) {} still in ALARM after run {}",
            f.alarms.join(", "),
            f.after_run
        ),
        triggered_at: None,
        apps: AppSelection::Named(f.apps),
        dry_run: false,
        soak_seconds: 0,
        ignore: None,
        accept_data_loss: false,
        move_dns_without_database: false,
        override_safety_rules: false,
    })
}

/// The key under which the API puts the request body (with `caller`, the
/// signer's ARN): whatever its shape, an API body is a manual request.
pub const API_REQUEST: &str = "api_request";

fn from_api(
    obj: &serde_json::Map<String, serde_json::Value>,
    body: &serde_json::Value,
) -> Result<Request, LifeboatError> {
    if let Some(extra) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), API_REQUEST | "caller" | "api_request_id"))
    {
        return Err(LifeboatError::invalid(format!(
            "API input has an unexpected field \"{extra}\" beside api_request"
        )));
    }
    if body.get("detail-type").is_some() || body.get("detail").is_some() {
        return Err(LifeboatError::invalid(
            "an API request is always a manual request: alarm and schedule events start runs only through EventBridge",
        ));
    }
    let mut request = from_manual(body)?;
    if let Some(caller) = obj.get("caller").and_then(|c| c.as_str()).filter(|c| !c.is_empty()) {
        // Who started it goes into the journal with the run.
        request.source = format!("{} (API, by {caller})", request.source);
    }
    Ok(request)
}

fn from_alarm_event(input: &serde_json::Value) -> Result<Request, LifeboatError> {
    let event: EventBridgeEvent<CloudWatchAlarmData> =
        serde_path_to_error::deserialize(input.clone()).map_err(|e| {
            LifeboatError::invalid(format!(
                "malformed CloudWatch Alarm State Change event: {}: {}",
                e.path(),
                e.inner()
            ))
        })?;
    let alarm = event.detail.alarm_name.clone();
    if alarm.is_empty() {
        return Err(LifeboatError::invalid(
            "CloudWatch Alarm State Change event has an empty detail.alarmName",
        ));
    }
    let state = event.detail.state.as_ref().ok_or_else(|| {
        LifeboatError::invalid(format!(
            "CloudWatch Alarm State Change event for \"{alarm}\" has no detail.state"
        ))
    })?;
    let ignore = match &state.value {
        CloudWatchAlarmStateValue::Alarm | CloudWatchAlarmStateValue::InsufficientData => None,
        other => Some(format!(
            "alarm \"{alarm}\" changed to {other:?}, not ALARM: nothing to do"
        )),
    };
    let apps = if state.value == CloudWatchAlarmStateValue::InsufficientData {
        AppSelection::AlarmWithoutData(alarm.clone())
    } else {
        AppSelection::Alarm(alarm.clone())
    };
    Ok(Request {
        action: Action::Failover,
        mode: Mode::Disaster,
        trigger: TriggerKind::Alarm,
        source: alarm.clone(),
        triggered_at: Some(state.timestamp),
        apps,
        dry_run: false,
        soak_seconds: 0,
        ignore,
        accept_data_loss: false,
        move_dns_without_database: false,
        override_safety_rules: false,
    })
}

fn from_schedule_event(input: &serde_json::Value) -> Result<Request, LifeboatError> {
    let event: EventBridgeEvent<serde_json::Value> = serde_path_to_error::deserialize(input.clone())
        .map_err(|e| LifeboatError::invalid(format!("malformed Scheduled Event: {}: {}", e.path(), e.inner())))?;
    let source = event
        .resources
        .as_ref()
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| "schedule".to_string());
    // A schedule starts a practice drill: validate everything, change nothing.
    Ok(Request {
        action: Action::Drill,
        mode: Mode::Planned,
        trigger: TriggerKind::Schedule,
        source,
        triggered_at: event.time,
        apps: AppSelection::All,
        dry_run: true,
        soak_seconds: DEFAULT_SOAK_SECONDS,
        ignore: None,
        accept_data_loss: false,
        move_dns_without_database: false,
        override_safety_rules: false,
    })
}

fn from_manual(input: &serde_json::Value) -> Result<Request, LifeboatError> {
    // serde_path_to_error names the field at fault (`dry_run: invalid type ...`).
    let req: ManualRequest = serde_path_to_error::deserialize(input.clone()).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { String::new() } else { format!("{at}: ") };
        LifeboatError::invalid(format!("malformed manual request: {at}{}; {ACCEPTED}", e.inner()))
    })?;
    let mut seen = std::collections::BTreeSet::new();
    for app in &req.apps {
        if !seen.insert(app) {
            return Err(LifeboatError::invalid(format!("apps lists \"{app}\" twice")));
        }
    }
    let mode = req.mode.unwrap_or(Mode::Planned);
    if mode == Mode::Disaster && req.action != Action::Failover {
        return Err(LifeboatError::invalid(format!(
            "mode: a {} is always planned; only a failover may be a disaster",
            req.action
        )));
    }
    Ok(Request {
        action: req.action,
        mode,
        accept_data_loss: req.accept_data_loss,
        move_dns_without_database: req.move_dns_without_database,
        override_safety_rules: req.override_safety_rules,
        trigger: TriggerKind::Manual,
        source: req.reason.unwrap_or_else(|| "manual request".to_string()),
        triggered_at: None,
        apps: if req.apps.is_empty() {
            AppSelection::All
        } else {
            AppSelection::Named(req.apps)
        },
        dry_run: req.dry_run,
        soak_seconds: req.soak_seconds.unwrap_or(DEFAULT_SOAK_SECONDS),
        ignore: None,
    })
}

/// A deterministic execution name for an alarm incident: the same alarm state
/// change (EventBridge retries, duplicate deliveries) always gives the same name,
/// so Step Functions refuses a second execution for it.
pub fn execution_name_for(request: &Request) -> Option<String> {
    let at = request.triggered_at?;
    let prefix = match request.trigger {
        TriggerKind::Alarm => "alarm",
        TriggerKind::Schedule => "drill",
        TriggerKind::Manual | TriggerKind::FollowUp => return None,
    };
    // Execution names: 1-80 chars of [A-Za-z0-9-_].
    let cleaned: String = request
        .source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stamp = at.format("%Y%m%dT%H%M%SZ").to_string();
    let room = 80 - prefix.len() - stamp.len() - 2;
    let cleaned: String = cleaned.chars().take(room).collect();
    Some(format!("{prefix}-{cleaned}-{stamp}"))
}

#[cfg(test)]
pub(crate) mod tests {
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
        let r = normalize_trigger(&json!({"action": "drill", "dry_run": true, "reason": "scheduled practice drill"}))
            .unwrap();
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
        let r =
            normalize_trigger(&json!({"action": "failover", "mode": "disaster", "accept_data_loss": true})).unwrap();
        assert_eq!((r.mode, r.accept_data_loss), (Mode::Disaster, true));
        let r = normalize_trigger(&json!({"action": "failback", "move_dns_without_database": true})).unwrap();
        assert_eq!((r.mode, r.move_dns_without_database), (Mode::Planned, true));
        let err = normalize_trigger(&json!({"action": "failback", "mode": "disaster"})).unwrap_err();
        assert!(err.message.contains("always planned"), "{}", err.message);
    }

    #[test]
    fn an_api_body_is_always_a_manual_request_and_names_its_caller() {
        let caller = "arn:aws:sts::123456789012:assumed-role/Operator/alice";
        let r = normalize_trigger(&json!({
            "api_request": {"action": "failover", "reason": "game day"},
            "caller": caller,
            "api_request_id": "abc"
        }))
        .unwrap();
        assert_eq!(r.trigger, TriggerKind::Manual);
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
}

#[cfg(test)]
mod properties {
    //! The trigger parser: any JSON at all is a request or an InvalidRequest
    //! that says what is accepted, never a panic; a well-formed manual
    //! request keeps what it asked for.

    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Keys the parser looks at, and some it does not, so generated objects
    /// reach its deeper paths.
    const KEYS: &[&str] = &[
        "action",
        "apps",
        "dry_run",
        "mode",
        "reason",
        "soak_seconds",
        "accept_data_loss",
        "detail-type",
        "detail",
        "alarmName",
        "state",
        "value",
        "timestamp",
        "time",
        "resources",
        "region",
        "account",
        "source",
        "follow_up",
        "after_run",
        "alarms",
        "api_request",
        "caller",
        "x",
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            prop_oneof![
                Just("failover".to_string()),
                Just("ALARM".to_string()),
                Just("CloudWatch Alarm State Change".to_string()),
                Just("Scheduled Event".to_string()),
                Just("disaster".to_string()),
                Just("2026-11-29T10:00:00Z".to_string()),
                ".{0,12}",
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_json_is_a_request_or_an_invalid_request_never_a_panic(input in json_value()) {
            if let Err(e) = normalize_trigger(&input) {
                prop_assert_eq!(e.name, crate::ErrorName::InvalidRequest);
                prop_assert!(!e.message.is_empty());
                prop_assert!(!e.message.contains('\n'), "one line: {}", e.message);
            }
            // The origin check reads the same inputs.
            let _ = check_alarm_origin(&input, &TriggerOrigin { account: Some("1".into()), regions: vec!["r".into()] });
        }

        #[test]
        fn a_manual_request_keeps_its_action_apps_and_flags(
            action in prop::sample::select(vec!["failover", "failback", "drill"]),
            apps in prop::collection::btree_set("[a-z][a-z0-9-]{0,20}", 0..6),
            dry_run in any::<bool>(),
            soak in 0u32..100_000,
        ) {
            let apps: Vec<String> = apps.into_iter().collect();
            let r = normalize_trigger(&json!({"action": action, "apps": apps, "dry_run": dry_run, "soak_seconds": soak}))
                .unwrap();
            prop_assert_eq!(r.action.to_string(), action);
            prop_assert_eq!(r.trigger, TriggerKind::Manual);
            prop_assert_eq!(r.dry_run, dry_run);
            prop_assert_eq!(r.soak_seconds, soak);
            let expected = if apps.is_empty() { AppSelection::All } else { AppSelection::Named(apps.clone()) };
            prop_assert_eq!(r.apps, expected);
            // Through the API it is the same request.
            let via_api = normalize_trigger(&json!({"api_request": {"action": action, "apps": apps, "dry_run": dry_run, "soak_seconds": soak}}))
                .unwrap();
            prop_assert_eq!(via_api.action, r.action);
        }

        #[test]
        fn an_alarm_event_selects_its_alarm(name in "[A-Za-z0-9_.-]{1,60}", alarm in any::<bool>()) {
            let state = if alarm { "ALARM" } else { "OK" };
            let r = normalize_trigger(&tests::alarm_event(&name, state)).unwrap();
            prop_assert_eq!(r.apps, AppSelection::Alarm(name.clone()));
            prop_assert_eq!(r.ignore.is_none(), alarm);
        }
    }
}
