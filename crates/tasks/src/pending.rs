//! No lost triggers. CloudWatch sends an alarm's ALARM once: a trigger that
//! another run's lease or the cooldown turned away is kept in the journal,
//! and taken up when that run ends (a follow-up run, announced in its outcome
//! event) or, for the cooldown, when it expires (the turned-away execution
//! waits it out and runs the follow-up itself).

use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{AlarmStates, Journal, RegistryStore};
use lifeboat_core::LifeboatError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The journal partition that holds kept triggers, one document per alarm.
pub const PENDING_RUN: &str = "#pending";
const ALARM_PREFIX: &str = "alarm#";

/// A trigger kept for later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTrigger {
    pub alarm: String,
    pub region: String,
    /// The execution the lease or the cooldown turned away.
    pub turned_away: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// Set once a run's end (or the cooldown's) has taken it up.
    #[serde(default)]
    pub taken_up_by: Option<String>,
    /// When the alarm changed state (the event's), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_at: Option<DateTime<Utc>>,
}

pub use lifeboat_core::request::FollowUp;

/// A kept trigger as its journal document: one per alarm.
fn document(t: &PendingTrigger) -> Result<(String, String), LifeboatError> {
    Ok((format!("{ALARM_PREFIX}{}", t.alarm), crate::journal::to_text(t)?))
}

/// The alarms (name, Region) an input would have started a failover for:
/// an ALARM state change, or a follow-up's alarms (turned away again).
fn alarms_of(input: &Value) -> Vec<(String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if input["detail-type"].as_str() == Some(lifeboat_core::request::ALARM_DETAIL_TYPE)
        && input.pointer("/detail/state/value").and_then(Value::as_str) == Some("ALARM")
    {
        return vec![(s(&input["detail"]["alarmName"]), s(&input["region"]))];
    }
    if let Ok(f) = serde_json::from_value::<FollowUp>(input["follow_up"].clone()) {
        // The region is read again when the follow-up is taken up; "" means any.
        return f.alarms.into_iter().map(|a| (a, String::new())).collect();
    }
    Vec::new()
}

/// Keeps the alarms of a turned-away input (other inputs, such as a person's
/// request that was told no at once, are not kept). Returns the alarms kept.
pub async fn keep(
    journal: &dyn Journal,
    input: &Value,
    run_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, LifeboatError> {
    let alarms = alarms_of(input);
    // An alarm event's state change time; a follow-up's own start of waiting.
    let alarm_at = lifeboat_core::request::normalize_trigger(input)
        .ok()
        .and_then(|r| r.triggered_at);
    let docs = alarms
        .iter()
        .filter(|(a, _)| !a.is_empty())
        .map(|(alarm, region)| {
            let t = PendingTrigger {
                alarm: alarm.clone(),
                region: region.clone(),
                turned_away: run_id.to_string(),
                reason: reason.to_string(),
                at: now,
                taken_up_by: None,
                alarm_at,
            };
            document(&t)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !docs.is_empty() {
        journal.put_docs(PENDING_RUN, &docs).await?;
        tracing::warn!(run = %run_id, alarms = ?alarms, "trigger kept for when the lease or the cooldown frees");
    }
    Ok(alarms.into_iter().map(|(a, _)| a).collect())
}

/// The journal partition that logs every trigger turned away or refused, one
/// document each (`lifeboat triggers` lists and counts them).
pub const TRIGGER_LOG: &str = "#triggers";

/// One trigger that did not run: turned away (lease, cooldown) or refused
/// (bad input, a late alarm, a forged follow-up, a recovery Region not ready).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerLogEntry {
    /// The execution it started.
    pub run_id: String,
    /// `ignored` (turned away) or `refused`.
    pub outcome: String,
    /// The error it was refused with, if refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The alarms kept from it, to run later.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

/// Logs a trigger that did not run (idempotent: a retried task writes the same document).
pub async fn log_trigger(journal: &dyn Journal, entry: &TriggerLogEntry) -> Result<(), LifeboatError> {
    let key = format!("{}#{}", entry.outcome, entry.run_id);
    journal
        .put_docs(TRIGGER_LOG, &[(key, crate::journal::to_text(entry)?)])
        .await?;
    Ok(())
}

/// Every logged trigger, oldest first.
pub async fn trigger_log(journal: &dyn Journal) -> Result<Vec<TriggerLogEntry>, LifeboatError> {
    let mut entries: Vec<TriggerLogEntry> = journal
        .get_docs(TRIGGER_LOG, "")
        .await?
        .values()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect();
    entries.sort_by_key(|e| e.at);
    Ok(entries)
}

/// Every kept trigger, taken up or not.
pub async fn all_kept(journal: &dyn Journal) -> Result<Vec<PendingTrigger>, LifeboatError> {
    let docs = journal.get_docs(PENDING_RUN, ALARM_PREFIX).await?;
    Ok(docs
        .values()
        .filter_map(|t| serde_json::from_str::<PendingTrigger>(t).ok())
        .collect())
}

/// The triggers kept and not yet taken up.
pub async fn pending(journal: &dyn Journal) -> Result<Vec<PendingTrigger>, LifeboatError> {
    Ok(all_kept(journal)
        .await?
        .into_iter()
        .filter(|t| t.taken_up_by.is_none())
        .collect())
}

/// The journal document, under the run it follows, that records a follow-up:
/// validate runs a follow-up only as recorded there.
pub const FOLLOW_UP_DOC: &str = "follow_up";

/// The follow-up `run_id` recorded, if any.
pub async fn recorded_follow_up(journal: &dyn Journal, run_id: &str) -> Result<Option<FollowUp>, LifeboatError> {
    let docs = journal.get_docs(run_id, FOLLOW_UP_DOC).await?;
    docs.get(FOLLOW_UP_DOC)
        .map(|t| {
            serde_json::from_str(t)
                .map_err(|e| LifeboatError::internal(format!("run {run_id}'s recorded follow-up is unreadable: {e}")))
        })
        .transpose()
}

/// One follow-up holding both: every alarm, app and reason, the earliest start.
fn merged(a: FollowUp, b: FollowUp) -> FollowUp {
    let union = |x: Vec<String>, y: Vec<String>| x.into_iter().chain(y).collect::<BTreeSet<_>>().into_iter().collect();
    FollowUp {
        after_run: a.after_run,
        alarms: union(a.alarms, b.alarms),
        apps: union(a.apps, b.apps),
        since: a.since.into_iter().chain(b.since).min(),
        waited_for: union(a.waited_for, b.waited_for),
    }
}

/// What to make of a kept trigger whose alarm cannot be read (its Region's
/// CloudWatch does not answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// In a disaster the unreachable Region is the likely failed one: its
    /// alarm counts as still in ALARM.
    CountAsAlarm,
    /// Otherwise the trigger stays kept for the next take-up.
    KeepForLater,
}

/// Takes up every kept trigger: reads its alarm again (best effort, Region by
/// Region) and, for those still in ALARM, returns a follow-up of their apps
/// that did not move in `after_run` (`moved`). The follow-up is recorded
/// under `after_run` before any trigger is marked taken, so a task killed in
/// between leaves the triggers kept, never lost. A take-up retried for the
/// same run (its first attempt recorded a follow-up and marked triggers
/// taken, then failed) hands on that follow-up, with anything new added: it
/// never drops or replaces it. None when nothing is left to do.
pub async fn take_up(
    registry: &dyn RegistryStore,
    journal: &dyn Journal,
    alarms: &dyn AlarmStates,
    regions: &[String],
    after_run: &str,
    moved: &BTreeSet<String>,
    unreadable: Unreadable,
) -> Result<Option<FollowUp>, LifeboatError> {
    let recorded = recorded_follow_up(journal, after_run).await?;
    let kept = pending(journal).await?;
    if kept.is_empty() {
        return Ok(recorded);
    }
    let registry = crate::validate::load_registry(registry).await?;
    // Each alarm in its own Region; a follow-up's (no Region) in every Region
    // the stack serves (locally: every Region of the registry).
    let regions: Vec<String> = if regions.is_empty() {
        registry
            .applications
            .iter()
            .flat_map(|a| [a.regions.primary.clone(), a.regions.secondary.clone()])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        regions.to_vec()
    };
    let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &kept {
        let targets: Vec<String> = if t.region.is_empty() {
            regions.clone()
        } else {
            vec![t.region.clone()]
        };
        for r in targets {
            by_region.entry(r).or_default().push(t.alarm.clone());
        }
    }
    // An alarm is settled once one Region answered for it; unread, it is
    // counted as ALARM or left kept.
    let mut still: BTreeSet<String> = BTreeSet::new();
    let mut answered: BTreeSet<String> = BTreeSet::new();
    let mut unread: BTreeSet<String> = BTreeSet::new();
    for (region, names) in &by_region {
        match alarms.alarm_states(region, names).await {
            Ok(states) => {
                answered.extend(names.iter().cloned());
                still.extend(states.into_iter().filter(|(_, s)| s == "ALARM").map(|(n, _)| n));
            }
            Err(e) => {
                tracing::warn!(%region, error = %e, alarms = ?names, "could not read kept triggers' alarms");
                unread.extend(names.iter().cloned());
            }
        }
    }
    unread.retain(|a| !answered.contains(a));
    let left_kept: BTreeSet<String> = match unreadable {
        Unreadable::CountAsAlarm => {
            still.extend(unread.iter().cloned());
            BTreeSet::new()
        }
        Unreadable::KeepForLater => unread,
    };
    let apps: BTreeSet<String> = still
        .iter()
        .flat_map(|a| registry.apps_for_alarm(a))
        .map(|a| a.name.clone())
        .filter(|a| !moved.contains(a))
        .collect();
    let behind: Vec<&PendingTrigger> = kept.iter().filter(|t| still.contains(&t.alarm)).collect();
    let found = (!apps.is_empty()).then(|| FollowUp {
        after_run: after_run.to_string(),
        alarms: still.iter().cloned().collect(),
        apps: apps.into_iter().collect(),
        since: behind.iter().map(|t| t.alarm_at.unwrap_or(t.at)).min(),
        waited_for: behind
            .iter()
            .map(|t| t.reason.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    });
    let follow_up = match (recorded, found) {
        (Some(r), Some(f)) => Some(merged(r, f)),
        (r, f) => r.or(f),
    };
    if let Some(f) = &follow_up {
        journal
            .put_docs(after_run, &[(FOLLOW_UP_DOC.to_string(), crate::journal::to_text(f)?)])
            .await?;
    }
    let taken: Vec<(String, String)> = kept
        .iter()
        .filter(|t| !left_kept.contains(&t.alarm))
        .map(|t| {
            let mut t = t.clone();
            t.taken_up_by = Some(after_run.to_string());
            document(&t)
        })
        .collect::<Result<_, _>>()?;
    journal.put_docs(PENDING_RUN, &taken).await?;
    match &follow_up {
        Some(f) => {
            tracing::warn!(run = %after_run, alarms = ?f.alarms, apps = ?f.apps, left_kept = ?left_kept, "follow-up run for triggers kept during the run or the cooldown")
        }
        None => {
            tracing::info!(run = %after_run, kept = kept.len(), left_kept = ?left_kept, "kept triggers taken up: their alarms are no longer in ALARM or their apps moved")
        }
    }
    Ok(follow_up)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fake_services, registry};

    fn alarm_event(name: &str, state: &str) -> Value {
        serde_json::json!({
            "version": "0", "id": "e1", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": "123456789012", "time": "2026-11-29T10:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")],
            "detail": {"alarmName": name, "state": {"value": state, "timestamp": "2026-11-29T10:00:00Z"}}
        })
    }

    #[tokio::test]
    async fn a_turned_away_alarm_is_kept_and_followed_up_while_it_stays_in_alarm() {
        let (s, f) = fake_services();
        f.registry.put_apps(&registry().applications).await.unwrap();
        let now = Utc::now();
        let kept = keep(
            &*s.journal,
            &alarm_event("api-use1-5xx", "ALARM"),
            "exec-2",
            "lease held",
            now,
        )
        .await
        .unwrap();
        assert_eq!(kept, ["api-use1-5xx"]);
        // The same alarm delivered again is one kept trigger, not two.
        keep(
            &*s.journal,
            &alarm_event("api-use1-5xx", "ALARM"),
            "exec-3",
            "lease held",
            now,
        )
        .await
        .unwrap();
        assert_eq!(pending(&*s.journal).await.unwrap().len(), 1);
        // OK and INSUFFICIENT_DATA changes, and a person's request, are not kept.
        for input in [
            alarm_event("api-use1-5xx", "OK"),
            serde_json::json!({"action": "failover"}),
        ] {
            assert!(keep(&*s.journal, &input, "x", "r", now).await.unwrap().is_empty());
        }
        f.alarms.set("us-east-1", "api-use1-5xx", "ALARM");
        let regions = ["us-east-1".to_string(), "us-west-2".to_string()];
        let up = take_up(
            &*s.registry,
            &*s.journal,
            &*s.alarms,
            &regions,
            "run-1",
            &BTreeSet::new(),
            Unreadable::KeepForLater,
        )
        .await
        .unwrap()
        .expect("a follow-up");
        assert_eq!(up.apps, ["api"]);
        assert_eq!(up.alarms, ["api-use1-5xx"]);
        assert_eq!(up.input()["follow_up"]["after_run"], "run-1");
        // Taken up once: the next run's end finds nothing.
        assert!(pending(&*s.journal).await.unwrap().is_empty());
        assert_eq!(
            take_up(
                &*s.registry,
                &*s.journal,
                &*s.alarms,
                &regions,
                "run-2",
                &BTreeSet::new(),
                Unreadable::KeepForLater
            )
            .await
            .unwrap(),
            None
        );
    }

    /// The record task retried after its take-up recorded a follow-up and
    /// marked the triggers taken: the same follow-up again, with what was
    /// kept since added, never dropped or replaced.
    #[tokio::test]
    async fn a_retried_take_up_hands_on_the_follow_up_it_recorded() {
        let (s, f) = fake_services();
        let mut reg = registry();
        reg.applications[1].triggers.alarms = vec!["web-use1-5xx".into()];
        f.registry.put_apps(&reg.applications).await.unwrap();
        let regions = ["us-east-1".to_string()];
        let (now, moved) = (Utc::now(), BTreeSet::new());
        let take_up_for_run_1 = || {
            take_up(
                &*s.registry,
                &*s.journal,
                &*s.alarms,
                &regions,
                "run-1",
                &moved,
                Unreadable::KeepForLater,
            )
        };
        keep(
            &*s.journal,
            &alarm_event("api-use1-5xx", "ALARM"),
            "e1",
            "lease held",
            now,
        )
        .await
        .unwrap();
        f.alarms.set("us-east-1", "api-use1-5xx", "ALARM");
        f.alarms.set("us-east-1", "web-use1-5xx", "ALARM");
        let first = take_up_for_run_1().await.unwrap().expect("a follow-up");
        assert_eq!(first.apps, ["api"]);
        // Retried with nothing kept any more: the same follow-up, not none.
        assert_eq!(take_up_for_run_1().await.unwrap(), Some(first.clone()));
        // Retried after another alarm was kept: both, and recorded so.
        keep(
            &*s.journal,
            &alarm_event("web-use1-5xx", "ALARM"),
            "e2",
            "lease held",
            now,
        )
        .await
        .unwrap();
        let both = take_up_for_run_1().await.unwrap().expect("a follow-up");
        assert_eq!(both.apps, ["api", "web"]);
        assert_eq!(both.alarms, ["api-use1-5xx", "web-use1-5xx"]);
        assert_eq!(recorded_follow_up(&*s.journal, "run-1").await.unwrap(), Some(both));
    }

    #[tokio::test]
    async fn no_follow_up_when_the_alarm_cleared_or_its_apps_moved() {
        let (s, f) = fake_services();
        f.registry.put_apps(&registry().applications).await.unwrap();
        let regions = ["us-east-1".to_string()];
        keep(
            &*s.journal,
            &alarm_event("api-use1-5xx", "ALARM"),
            "e",
            "cooldown",
            Utc::now(),
        )
        .await
        .unwrap();
        f.alarms.set("us-east-1", "api-use1-5xx", "OK");
        assert_eq!(
            take_up(
                &*s.registry,
                &*s.journal,
                &*s.alarms,
                &regions,
                "r",
                &BTreeSet::new(),
                Unreadable::KeepForLater
            )
            .await
            .unwrap(),
            None
        );
        keep(
            &*s.journal,
            &alarm_event("api-use1-5xx", "ALARM"),
            "e",
            "lease held",
            Utc::now(),
        )
        .await
        .unwrap();
        f.alarms.set("us-east-1", "api-use1-5xx", "ALARM");
        let moved: BTreeSet<String> = ["api".to_string()].into();
        assert_eq!(
            take_up(
                &*s.registry,
                &*s.journal,
                &*s.alarms,
                &regions,
                "r",
                &moved,
                Unreadable::KeepForLater
            )
            .await
            .unwrap(),
            None
        );
    }
}
