//! validate: normalise the trigger, load the registry, check the recovery
//! Region is ready, and build the plan. Changes nothing.

use chrono::{DateTime, Utc};
use lifeboat_aws::ports::{AlarmStates, DnsReader, RegistryStore, read_records};
use lifeboat_core::LifeboatError;
use lifeboat_core::dns::RecordKey;
use lifeboat_core::plan::{Plan, PlanContext, build_plan, select_apps};
use lifeboat_core::registry::{REGISTRY_VERSION, Registry, Side, parse_registry_value};
use lifeboat_core::request::normalize_trigger;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the state machine passes to validate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateInput {
    /// The execution's input: an EventBridge event or a manual request.
    pub trigger: serde_json::Value,
    /// The execution name: the run's id.
    pub run_id: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
}

/// validate's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateOutput {
    pub plan: Plan,
}

/// Loads the registry table as a checked [`Registry`].
pub async fn load_registry(store: &dyn RegistryStore) -> Result<Registry, LifeboatError> {
    let stored = store.load().await?;
    let doc = serde_json::json!({
        "version": REGISTRY_VERSION,
        "applications": stored.iter().map(|s| &s.app).collect::<Vec<_>>(),
    });
    parse_registry_value(&doc)
        .map_err(|e| LifeboatError::invalid(format!("the registry table holds an invalid registry: {e}")))
}

pub async fn validate(
    registry: &dyn RegistryStore,
    dns: &dyn DnsReader,
    alarms: &dyn AlarmStates,
    input: ValidateInput,
) -> Result<ValidateOutput, LifeboatError> {
    let request = normalize_trigger(&input.trigger)?;
    let ctx = PlanContext {
        run_id: input.run_id.clone(),
        now: input.started_at.unwrap_or_else(Utc::now),
    };
    if request.ignore.is_some() {
        let empty = Registry {
            version: REGISTRY_VERSION,
            applications: vec![],
        };
        let plan = build_plan(&empty, &request, &Default::default(), &ctx)?;
        tracing::info!(run = %input.run_id, summary = %plan.summary, "trigger ignored");
        return Ok(ValidateOutput { plan });
    }
    let reg = load_registry(registry).await?;
    let apps = select_apps(&reg, &request)?;
    let keys: Vec<RecordKey> = apps
        .iter()
        .flat_map(|a| a.dns.iter())
        .flat_map(|p| [p.key(Side::Primary), p.key(Side::Secondary)])
        .collect();
    let records = read_records(dns, keys.iter()).await?;
    let plan = build_plan(&reg, &request, &records, &ctx)?;
    check_alarms_exist(alarms, &plan).await?;
    tracing::info!(run = %input.run_id, summary = %plan.summary, "plan ready");
    Ok(ValidateOutput { plan })
}

/// Every verification alarm must exist in the Region it will be read in.
async fn check_alarms_exist(alarms: &dyn AlarmStates, plan: &Plan) -> Result<(), LifeboatError> {
    let mut by_region: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in plan
        .phases
        .iter()
        .flat_map(|p| p.waves.iter())
        .flat_map(|w| w.apps.iter())
    {
        let names = by_region.entry(a.verification.region.as_str()).or_default();
        for n in &a.verification.alarms {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let mut missing = Vec::new();
    for (region, names) in by_region {
        if names.is_empty() {
            continue;
        }
        let found = alarms.alarm_states(region, &names).await?;
        missing.extend(
            names
                .into_iter()
                .filter(|n| !found.contains_key(n))
                .map(|n| format!("{n} (in {region})")),
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(LifeboatError::invalid(format!(
            "verification alarm(s) not found: {}; create them or fix verification.alarms in the registry",
            missing.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fake_services, registry};
    use serde_json::json;

    async fn run(trigger: serde_json::Value) -> Result<ValidateOutput, LifeboatError> {
        let (s, f) = fake_services();
        f.registry.put_apps(&registry().applications).await.unwrap();
        f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
        validate(
            &*s.registry,
            &*s.dns_read,
            &*s.alarms,
            ValidateInput {
                trigger,
                run_id: "r1".into(),
                started_at: None,
            },
        )
        .await
    }

    #[tokio::test]
    async fn a_manual_failover_plans_both_apps_in_dependency_order() {
        let out = run(json!({"action": "failover"})).await.unwrap();
        let waves: Vec<Vec<&str>> = out.plan.phases[0]
            .waves
            .iter()
            .map(|w| w.apps.iter().map(|a| a.app.as_str()).collect())
            .collect();
        assert_eq!(waves, vec![vec!["api"], vec!["web"]]);
        assert_eq!(out.plan.run_id, "r1");
    }

    #[tokio::test]
    async fn an_alarm_in_ok_state_gives_an_empty_plan() {
        let ev = json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "detail": {"alarmName": "api-use1-5xx", "state": {"value": "OK", "reason": "r", "timestamp": "2026-11-26T10:00:00.000+0000"}, "configuration": {}}});
        let out = run(ev).await.unwrap();
        assert!(out.plan.empty);
    }

    #[tokio::test]
    async fn a_missing_verification_alarm_is_reported_before_anything_changes() {
        let (s, f) = fake_services();
        f.registry.put_apps(&registry().applications).await.unwrap();
        let err = validate(
            &*s.registry,
            &*s.dns_read,
            &*s.alarms,
            ValidateInput {
                trigger: json!({"action": "failover"}),
                run_id: "r".into(),
                started_at: None,
            },
        )
        .await
        .unwrap_err();
        assert!(err.message.contains("api-usw2-5xx (in us-west-2)"), "{err}");
        assert!(f.r53.batches.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_empty_registry_says_how_to_fill_it() {
        let (s, _) = fake_services();
        let err = validate(
            &*s.registry,
            &*s.dns_read,
            &*s.alarms,
            ValidateInput {
                trigger: json!({"action": "failover"}),
                run_id: "r".into(),
                started_at: None,
            },
        )
        .await
        .unwrap_err();
        assert!(err.message.contains("lifeboat registry apply"), "{err}");
    }
}
