//! shift_dns: set a wave's weighted records to where the plan says, all of the
//! wave's changes in one ChangeBatch per hosted zone; or roll apps back to the
//! weights they had before the phase. Reads first, so a rerun changes nothing.

use lifeboat_aws::ports::{ArcUpdateError, DnsReader, DnsWriter, RoutingControls, read_records};
use lifeboat_core::dns::{BatchLimits, DesiredWeight, RecordSet, plan_changes};
use lifeboat_core::plan::Wave;
use lifeboat_core::traffic::{ControlState, update_batches};
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};

/// Shift to the target, or restore what was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShiftMode {
    Shift,
    Rollback,
}

/// One application's verification result, as the state machine collects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub app: String,
    pub verified: bool,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub api_calls: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShiftInput {
    pub run_id: String,
    pub wave: Wave,
    pub mode: ShiftMode,
    /// Rollback only the apps that failed verification; absent = the whole wave.
    #[serde(default)]
    pub verified: Option<Vec<VerifyResult>>,
    /// The error that made the whole wave roll back, for the log.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
    /// Shift only: each app's database step (`{"app", "status"}`); an app
    /// whose database did not become writable keeps its traffic where it is.
    #[serde(default)]
    pub databases: Option<Vec<DatabaseResult>>,
}

/// One app's database step, as the wave's progress says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseResult {
    pub app: String,
    pub status: crate::contract::DbStatus,
    /// The new writer's endpoint, once writable.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl DatabaseResult {
    /// Whether the app's traffic may follow (its data is writable where it goes).
    pub fn ready(&self) -> bool {
        self.status.ready()
    }
}

/// A submitted change, to wait on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRef {
    pub hosted_zone_id: String,
    pub change_id: String,
    pub records: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShiftOutput {
    pub mode: ShiftMode,
    /// The apps whose records this call was about.
    pub apps: Vec<String>,
    /// Shift: the apps moved (their plans), for verification.
    #[serde(default)]
    pub moving: Vec<lifeboat_core::plan::AppMove>,
    pub changes: Vec<ChangeRef>,
    pub records_changed: usize,
    /// What the routing-control apps' move did (null when the wave has none).
    #[serde(default)]
    pub arc: Option<ArcReport>,
}

/// A wave's routing-control update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArcReport {
    /// The Region of the cluster endpoint that answered.
    pub endpoint_region: String,
    /// Endpoints tried before it that did not answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints_skipped: Vec<String>,
    /// Routing controls set (0: all were already as wanted).
    pub controls_changed: usize,
    /// UpdateRoutingControlStates calls made.
    pub updates: usize,
    /// Safety rules overridden (break glass).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden_rules: Vec<String>,
    /// Database endpoint CNAMEs of these apps that could not be repointed
    /// (Route 53's API did not answer): the new writer's endpoint, to set by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_records_not_repointed: Vec<String>,
}

impl ArcReport {
    /// One line for people: what was set where, and what did not go as it should.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} routing control(s) set in {} UpdateRoutingControlStates call(s) through the ARC endpoint in {}",
            self.controls_changed, self.updates, self.endpoint_region
        );
        if !self.endpoints_skipped.is_empty() {
            s.push_str(&format!(
                " (no answer from {} endpoint(s) before it)",
                self.endpoints_skipped.len()
            ));
        }
        if !self.overridden_rules.is_empty() {
            s.push_str(&format!(
                "; safety rules overridden: {}",
                self.overridden_rules.join(", ")
            ));
        }
        if !self.endpoint_records_not_repointed.is_empty() {
            s.push_str(&format!(
                "; database endpoint records NOT repointed (Route 53's API did not answer), set by hand: {}",
                self.endpoint_records_not_repointed.join(", ")
            ));
        }
        s
    }
}

/// How many distinct safety rules one update may override, one at a time.
const MAX_OVERRIDES: usize = 20;

/// Sets the routing controls of the wave's routing-control apps, reading
/// them first so a rerun changes nothing, in as few calls as ARC allows.
async fn set_controls(
    arc: &dyn RoutingControls,
    wave: &Wave,
    apps: &[&lifeboat_core::plan::AppMove],
    mode: ShiftMode,
) -> Result<Option<ArcReport>, LifeboatError> {
    let wanted: Vec<Vec<(String, ControlState)>> = apps
        .iter()
        .filter(|a| !a.controls.is_empty())
        .map(|a| match mode {
            ShiftMode::Shift => a.shift_controls(),
            ShiftMode::Rollback => a.restore_controls(),
        })
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let endpoints = &wave.arc_endpoints;
    let arns: Vec<String> = wanted.iter().flatten().map(|(a, _)| a.clone()).collect();
    let not_ready = |e: lifeboat_aws::AwsError| match e {
        lifeboat_aws::AwsError::Unavailable(m) => LifeboatError::new(ErrorName::NotReady, m),
        other => other.into(),
    };
    let read = arc.states(endpoints, &arns).await.map_err(not_ready)?;
    let mut report = ArcReport {
        endpoint_region: read.endpoint_region,
        endpoints_skipped: read.skipped,
        controls_changed: 0,
        updates: 0,
        overridden_rules: Vec::new(),
        endpoint_records_not_repointed: Vec::new(),
    };
    for batch in update_batches(&wanted, &read.value) {
        loop {
            match arc.update(endpoints, &batch, &report.overridden_rules).await {
                Ok(answer) => {
                    tracing::info!(endpoint_region = %answer.endpoint_region, controls = batch.len(), "routing controls set");
                    report.endpoint_region = answer.endpoint_region;
                    report.endpoints_skipped.extend(answer.skipped);
                    report.controls_changed += batch.len();
                    report.updates += 1;
                    break;
                }
                Err(ArcUpdateError::SafetyRule { rule, message })
                    if wave.override_safety_rules
                        && !report.overridden_rules.contains(&rule)
                        && report.overridden_rules.len() < MAX_OVERRIDES =>
                {
                    tracing::warn!(%rule, %message, "overriding an ARC safety rule, as the request asked");
                    report.overridden_rules.push(rule);
                }
                Err(ArcUpdateError::SafetyRule { rule, message }) => {
                    return Err(LifeboatError::invalid(format!(
                        "ARC safety rule {rule} refused setting {}: {message}; nothing in this update was changed. \
                         If this end state is what you want, start a manual run with \"override_safety_rules\": true",
                        batch
                            .iter()
                            .map(|(a, s)| format!("{a} {s}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Err(ArcUpdateError::Aws(e)) => return Err(not_ready(e)),
            }
        }
    }
    Ok(Some(report))
}

/// The database endpoint CNAMEs to repoint at their new writer (none already right).
async fn endpoint_upserts(
    reader: &dyn DnsReader,
    apps: &[&lifeboat_core::plan::AppMove],
    databases: &[DatabaseResult],
) -> Result<Vec<(String, RecordSet)>, LifeboatError> {
    let mut out = Vec::new();
    for app in apps {
        let Some(rec) = &app.database.endpoint_record else {
            continue;
        };
        let Some(endpoint) = databases
            .iter()
            .find(|d| d.app == app.app)
            .and_then(|d| d.endpoint.clone())
        else {
            continue;
        };
        use lifeboat_core::registry::normalize_record_name;
        let name = normalize_record_name(&rec.name);
        let existing = reader
            .record_sets(&rec.hosted_zone_id, &name, "CNAME")
            .await?
            .into_iter()
            .find(|r| r.set_identifier.is_none());
        let Some(existing) = existing else {
            return Err(LifeboatError::invalid(format!(
                "{}: database endpoint record {name} CNAME does not exist in zone {}",
                app.app, rec.hosted_zone_id
            )));
        };
        // A DNS name compares as Route 53 does: case and the final dot do not matter.
        if existing
            .values
            .iter()
            .map(|v| normalize_record_name(v))
            .eq([normalize_record_name(&endpoint)])
        {
            continue;
        }
        tracing::info!(app = %app.app, record = %name, to = %endpoint, "repointing the database endpoint");
        let mut changed = existing;
        changed.values = vec![endpoint];
        out.push((rec.hosted_zone_id.clone(), changed));
    }
    Ok(out)
}

pub async fn shift_dns(
    reader: &dyn DnsReader,
    writer: &dyn DnsWriter,
    arc: &dyn RoutingControls,
    limits: BatchLimits,
    input: ShiftInput,
) -> Result<ShiftOutput, LifeboatError> {
    let apps: Vec<&lifeboat_core::plan::AppMove> = match (&input.mode, &input.verified) {
        (ShiftMode::Shift, _) => input
            .wave
            .apps
            .iter()
            .filter(|a| {
                let db = input.databases.as_ref().and_then(|d| d.iter().find(|r| r.app == a.app));
                match db {
                    Some(r) if !r.ready() => {
                        tracing::warn!(app = %a.app, status = %r.status.as_str(), "database not writable: traffic stays");
                        false
                    }
                    _ => true,
                }
            })
            .collect(),
        (ShiftMode::Rollback, None) => input.wave.apps.iter().collect(),
        (ShiftMode::Rollback, Some(results)) => input
            .wave
            .apps
            .iter()
            .filter(|a| results.iter().any(|r| r.app == a.app && !r.verified))
            .collect(),
    };
    let names: Vec<String> = apps.iter().map(|a| a.app.clone()).collect();
    if apps.is_empty() {
        return Ok(ShiftOutput {
            mode: input.mode,
            apps: names,
            moving: vec![],
            changes: vec![],
            records_changed: 0,
            arc: None,
        });
    }
    // Routing controls first: ARC's data plane, which a disaster can rely on.
    let mut arc_report = set_controls(arc, &input.wave, &apps, input.mode).await?;
    let desired: Vec<DesiredWeight> = apps
        .iter()
        .flat_map(|a| match input.mode {
            ShiftMode::Shift => a.shift_weights(),
            ShiftMode::Rollback => a.restore_weights(),
        })
        .collect();
    let current = read_records(reader, desired.iter().map(|d| &d.key)).await?;
    let (weighted, controlled): (Vec<_>, Vec<_>) = apps.iter().copied().partition(|a| a.controls.is_empty());
    let databases = input.databases.as_deref().unwrap_or_default();
    let mut endpoints = match input.mode {
        ShiftMode::Shift => endpoint_upserts(reader, &weighted, databases).await?,
        // The database stays promoted: its endpoint keeps pointing at the writer.
        ShiftMode::Rollback => Vec::new(),
    };
    // A routing-control app's writer CNAME is a Route 53 edit: made when
    // Route 53's API answers, reported (not fatal) when it does not.
    if input.mode == ShiftMode::Shift && !controlled.is_empty() {
        match endpoint_upserts(reader, &controlled, databases).await {
            Ok(more) => endpoints.extend(more),
            Err(e) if e.name == ErrorName::Internal || e.name == ErrorName::NotReady => {
                tracing::warn!(error = %e, "database endpoint records of routing-control apps not repointed");
                if let Some(r) = arc_report.as_mut() {
                    r.endpoint_records_not_repointed = controlled
                        .iter()
                        .filter_map(|a| {
                            let rec = a.database.endpoint_record.as_ref()?;
                            let to = databases.iter().find(|d| d.app == a.app)?.endpoint.clone()?;
                            Some(format!("{} CNAME {to}", rec.name))
                        })
                        .collect();
                }
            }
            Err(e) => return Err(e),
        }
    }
    let batches = plan_changes(&desired, &current, endpoints, limits)?;
    let verb = match input.mode {
        ShiftMode::Shift => "shift",
        ShiftMode::Rollback => "rollback",
    };
    let comment = format!(
        "lifeboat {} {verb} wave {}: {}",
        input.run_id,
        input.wave.index,
        names.join(",")
    );
    let comment: String = comment.chars().take(256).collect();
    let mut changes = Vec::new();
    let mut records_changed = 0;
    for b in &batches {
        let id = match writer.upsert(&b.hosted_zone_id, &b.upserts, &comment).await {
            Ok(id) => id,
            // Only routing-control apps' writer CNAMEs in this batch: best-effort.
            Err(e) if weighted.is_empty() && e.is_unavailable() => {
                tracing::warn!(error = %e, "database endpoint records not repointed");
                if let Some(r) = arc_report.as_mut() {
                    r.endpoint_records_not_repointed.extend(
                        b.upserts
                            .iter()
                            .map(|u| format!("{} CNAME {}", u.name, u.values.join(","))),
                    );
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(zone = %b.hosted_zone_id, change = %id, records = b.upserts.len(), mode = verb, "submitted change batch");
        records_changed += b.upserts.len();
        changes.push(ChangeRef {
            hosted_zone_id: b.hosted_zone_id.clone(),
            change_id: id,
            records: b.upserts.len(),
        });
    }
    if batches.is_empty() {
        tracing::info!(apps = ?names, mode = verb, "weights already in place: no change");
    }
    if let Some(err) = &input.error {
        tracing::warn!(apps = ?names, error = %err, "rolled back the wave after an error");
    }
    let moving = match input.mode {
        ShiftMode::Shift => apps.iter().map(|a| (*a).clone()).collect(),
        ShiftMode::Rollback => vec![],
    };
    Ok(ShiftOutput {
        mode: input.mode,
        apps: names,
        moving,
        changes,
        records_changed,
        arc: arc_report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::DbStatus;
    use crate::test_support::*;
    use lifeboat_aws::AwsError;
    use lifeboat_aws::fakes::{FakeArc, FakeRoute53};

    #[tokio::test]
    async fn shifts_a_wave_in_one_batch_per_zone_keeping_everything_but_the_weight() {
        let r53 = estate();
        let wave = wave_of(&r53, &["api", "web"]).await;
        let out = shift_dns(
            &r53,
            &r53,
            &FakeArc::new(),
            BatchLimits::default(),
            ShiftInput {
                run_id: "r".into(),
                wave,
                mode: ShiftMode::Shift,
                verified: None,
                error: None,
                databases: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(out.records_changed, 4);
        // api and web are in different zones: two batches, one per zone.
        assert_eq!(r53.batches.lock().unwrap().len(), 2);
        assert_eq!(r53.weight("Z1", "api.example.com.", "api-use1"), Some(0));
        assert_eq!(r53.weight("Z1", "api.example.com.", "api-usw2"), Some(100));
        assert_eq!(r53.weight("Z2", "www.example.org.", "web-usw2"), Some(100));
        let zones = r53.record_sets("Z1", "api.example.com.", "A").await.unwrap();
        assert!(zones.iter().all(|r| r.ttl == Some(60) && r.health_check_id.is_some()));
    }

    #[tokio::test]
    async fn a_second_identical_shift_makes_no_change_call() {
        let r53 = estate();
        let wave = wave_of(&r53, &["api"]).await;
        let input = ShiftInput {
            run_id: "r".into(),
            wave,
            mode: ShiftMode::Shift,
            verified: None,
            error: None,
            databases: None,
        };
        shift_dns(&r53, &r53, &FakeArc::new(), BatchLimits::default(), input.clone())
            .await
            .unwrap();
        let before = r53.calls.lock().unwrap().get("route53:ChangeResourceRecordSets");
        let out = shift_dns(&r53, &r53, &FakeArc::new(), BatchLimits::default(), input)
            .await
            .unwrap();
        assert!(out.changes.is_empty());
        assert_eq!(
            r53.calls.lock().unwrap().get("route53:ChangeResourceRecordSets"),
            before
        );
    }

    fn db(app: &str, status: crate::contract::DbStatus, endpoint: Option<&str>) -> DatabaseResult {
        DatabaseResult {
            app: app.into(),
            status,
            endpoint: endpoint.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn an_app_whose_database_is_not_writable_keeps_its_traffic() {
        let r53 = estate();
        let wave = wave_of(&r53, &["api", "web"]).await;
        let out = shift_dns(
            &r53,
            &r53,
            &FakeArc::new(),
            BatchLimits::default(),
            ShiftInput {
                run_id: "r".into(),
                wave,
                mode: ShiftMode::Shift,
                verified: None,
                error: None,
                databases: Some(vec![
                    db("api", DbStatus::Refused, None),
                    db("web", DbStatus::NotNeeded, None),
                ]),
            },
        )
        .await
        .unwrap();
        assert_eq!(out.apps, vec!["web".to_string()]);
        assert_eq!(out.moving.len(), 1);
        assert_eq!(r53.weight("Z1", "api.example.com.", "api-usw2"), Some(0));
        assert_eq!(r53.weight("Z2", "www.example.org.", "web-usw2"), Some(100));
    }

    #[tokio::test]
    async fn the_database_endpoint_follows_the_writer_in_its_zones_batch_once() {
        let r53 = estate();
        r53.add_record(
            "Z1",
            // A simple-routing CNAME: no set identifier, no weight.
            RecordSet {
                set_identifier: None,
                weight: None,
                ttl: Some(30),
                ..RecordSet::weighted(
                    "api-db.example.com.",
                    "CNAME",
                    "",
                    0,
                    "api.cluster-a.us-east-1.rds.amazonaws.com",
                )
            },
        );
        let mut wave = wave_of(&r53, &["api"]).await;
        wave.apps[0].database.endpoint_record = Some(lifeboat_core::registry::EndpointRecord {
            hosted_zone_id: "Z1".into(),
            name: "api-db.example.com".into(),
        });
        let input = ShiftInput {
            run_id: "r".into(),
            wave,
            mode: ShiftMode::Shift,
            verified: None,
            error: None,
            databases: Some(vec![db(
                "api",
                DbStatus::Writable,
                Some("api.cluster-b.us-west-2.rds.amazonaws.com"),
            )]),
        };
        let out = shift_dns(&r53, &r53, &FakeArc::new(), BatchLimits::default(), input.clone())
            .await
            .unwrap();
        // Two weights and the CNAME, one batch: the zone's.
        assert_eq!((out.records_changed, out.changes.len()), (3, 1));
        let cname = r53.record_sets("Z1", "api-db.example.com.", "CNAME").await.unwrap();
        assert_eq!(
            cname[0].values,
            vec!["api.cluster-b.us-west-2.rds.amazonaws.com".to_string()]
        );
        assert_eq!(cname[0].ttl, Some(30));
        let again = shift_dns(&r53, &r53, &FakeArc::new(), BatchLimits::default(), input)
            .await
            .unwrap();
        assert_eq!(again.records_changed, 0);
    }

    #[tokio::test]
    async fn rollback_restores_only_the_apps_that_failed_verification() {
        let r53 = estate();
        let wave = wave_of(&r53, &["api", "web"]).await;
        shift_dns(
            &r53,
            &r53,
            &FakeArc::new(),
            BatchLimits::default(),
            ShiftInput {
                run_id: "r".into(),
                wave: wave.clone(),
                mode: ShiftMode::Shift,
                verified: None,
                error: None,
                databases: None,
            },
        )
        .await
        .unwrap();
        let verified = vec![
            VerifyResult {
                app: "api".into(),
                verified: true,
                detail: String::new(),
                api_calls: serde_json::Value::Null,
            },
            VerifyResult {
                app: "web".into(),
                verified: false,
                detail: "alarm".into(),
                api_calls: serde_json::Value::Null,
            },
        ];
        let out = shift_dns(
            &r53,
            &r53,
            &FakeArc::new(),
            BatchLimits::default(),
            ShiftInput {
                run_id: "r".into(),
                wave,
                mode: ShiftMode::Rollback,
                verified: Some(verified),
                error: None,
                databases: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(out.apps, vec!["web".to_string()]);
        assert_eq!(r53.weight("Z2", "www.example.org.", "web-use1"), Some(100));
        assert_eq!(r53.weight("Z2", "www.example.org.", "web-usw2"), Some(0));
        assert_eq!(r53.weight("Z1", "api.example.com.", "api-usw2"), Some(100));
    }

    #[tokio::test]
    async fn a_throttled_change_surfaces_as_lifeboat_throttled() {
        let r53 = estate();
        r53.fail_upserts
            .lock()
            .unwrap()
            .push_back(AwsError::Throttled("Rate exceeded".into()));
        let wave = wave_of(&r53, &["api"]).await;
        let err = shift_dns(
            &r53,
            &r53,
            &FakeArc::new(),
            BatchLimits::default(),
            ShiftInput {
                run_id: "r".into(),
                wave,
                mode: ShiftMode::Shift,
                verified: None,
                error: None,
                databases: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, lifeboat_core::ErrorName::Throttled);
    }

    #[tokio::test]
    async fn a_record_deleted_since_validation_is_an_invalid_request_and_nothing_changes() {
        let r53 = FakeRoute53::new();
        let full = estate();
        let wave = wave_of(&full, &["api"]).await;
        // Only the primary record exists in this zone now.
        for r in full.record_sets("Z1", "api.example.com.", "A").await.unwrap() {
            if r.set_identifier.as_deref() == Some("api-use1") {
                r53.add_record("Z1", r);
            }
        }
        let err = shift_dns(
            &r53,
            &r53,
            &FakeArc::new(),
            BatchLimits::default(),
            ShiftInput {
                run_id: "r".into(),
                wave,
                mode: ShiftMode::Shift,
                verified: None,
                error: None,
                databases: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, lifeboat_core::ErrorName::InvalidRequest);
        assert!(r53.batches.lock().unwrap().is_empty());
    }
}
