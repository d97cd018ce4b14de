//! Turning whatever started a run (an alarm event, a schedule, a person's
//! request, the API, a follow-up) into a Request, or saying what is wrong.

use super::*;
use crate::error::LifeboatError;
use aws_lambda_events::event::cloudwatch_alarms::{CloudWatchAlarmData, CloudWatchAlarmStateValue};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;

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

/// The detail-type of CloudWatch's alarm state-change events.
pub const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
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
        // Validate tells it from this run's side (FollowUp::source_for).
        source: f.source_for(""),
        // Its recovery time starts when the first kept trigger came, not when it ran.
        triggered_at: f.since,
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
    request.trigger = TriggerKind::Api;
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

/// How old a forwarded alarm may be by default: older, the moment it
/// reported has passed (EventBridge retried it for long, or it sat in a queue).
pub const DEFAULT_MAX_TRIGGER_AGE_SECONDS: u32 = 900;

/// Refuses an alarm trigger whose state change is older than `max_age_seconds`
/// at `now`, saying how old it is. Other triggers, and alarms with no
/// timestamp, pass. A person who still wants the move starts it by hand.
pub fn check_trigger_age(request: &Request, now: DateTime<Utc>, max_age_seconds: u32) -> Result<(), LifeboatError> {
    // Only a trigger that would run: a late OK is ignored all the same.
    if request.trigger != TriggerKind::Alarm || request.ignore.is_some() {
        return Ok(());
    }
    let Some(at) = request.triggered_at else {
        return Ok(());
    };
    let age = (now - at).num_seconds();
    if age > i64::from(max_age_seconds) {
        return Err(LifeboatError::invalid(format!(
            "alarm \"{}\" changed state at {} and its event is {age} s old, over the {max_age_seconds} s a trigger \
             may be (LIFEBOAT_MAX_TRIGGER_AGE_SECONDS): refused as late. If the alarm is still in ALARM, start \
             the failover by hand (lifeboat run --input '{{\"action\": \"failover\", \"mode\": \"disaster\"}}')",
            request.source,
            at.to_rfc3339()
        )));
    }
    Ok(())
}

/// A deterministic execution name for an alarm incident: the same alarm state
/// change (EventBridge retries, duplicate deliveries) always gives the same name,
/// so Step Functions refuses a second execution for it.
pub fn execution_name_for(request: &Request) -> Option<String> {
    let at = request.triggered_at?;
    let prefix = match request.trigger {
        TriggerKind::Alarm => "alarm",
        TriggerKind::Schedule => "drill",
        TriggerKind::Manual | TriggerKind::Api | TriggerKind::FollowUp => return None,
    };
    let stamp = at.format("%Y%m%dT%H%M%SZ").to_string();
    let room = 80 - prefix.len() - stamp.len() - 2;
    Some(format!(
        "{prefix}-{}-{stamp}",
        execution_name_part(&request.source, room)
    ))
}

/// `text` as part of an execution name (1-80 chars of `[A-Za-z0-9-_]`): any
/// other character becomes `-`, and at most `max` characters are kept.
pub fn execution_name_part(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect()
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
