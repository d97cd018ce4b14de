//! Routing controls for sample apps (the demo's and the tests' estates):
//! an ARC cluster, a control panel, a pair of routing controls per app (the
//! primary's On), an "at least one On" safety rule per pair, and a
//! RECOVERY_CONTROL health check on each of the app's weighted records, so
//! Route 53 answers with whichever Region's control is On. Made through the
//! same control-configuration and Route 53 calls one would make on AWS.

use super::{PRIMARY, SECONDARY, SeedError, change_record_sets, create_health_check, seed_err};
use aws_config::SdkConfig;
use aws_sdk_route53::types::{ChangeAction, HealthCheckConfig, HealthCheckType};
use aws_sdk_route53recoverycontrolconfig::types::{NewAssertionRule, RuleConfig, RuleType};
use lifeboat_core::registry::{BySide, ClusterEndpoint, Registry, RoutingControlCluster, Side};
use std::collections::BTreeMap;

/// What [`seed_routing_controls`] made.
#[derive(Debug, Clone)]
pub struct ArcSeed {
    pub cluster_arn: String,
    pub endpoints: Vec<ClusterEndpoint>,
    /// Each app's routing controls.
    pub controls: BTreeMap<String, BySide<String>>,
    /// Each app's safety rule.
    pub rules: BTreeMap<String, String>,
}

/// Creates an assertion safety rule in `panel`: at least one of `controls`
/// stays On (ARC's ATLEAST, threshold 1, a 5 s wait period). Returns its
/// ARN; an answer without one is an error.
pub async fn create_at_least_one_on_rule(
    cc: &aws_sdk_route53recoverycontrolconfig::Client,
    panel: &str,
    name: &str,
    controls: &[&str],
) -> Result<String, SeedError> {
    let mut rule = NewAssertionRule::builder().control_panel_arn(panel).name(name);
    for control in controls {
        rule = rule.asserted_controls(*control);
    }
    let created = cc
        .create_safety_rule()
        .assertion_rule(
            rule.rule_config(
                RuleConfig::builder()
                    .r#type(RuleType::Atleast)
                    .threshold(1)
                    .inverted(false)
                    .build(),
            )
            .wait_period_ms(5000)
            .build(),
        )
        .send()
        .await
        .map_err(seed_err(format!("CreateSafetyRule {name}")))?;
    created
        .assertion_rule()
        .and_then(|r| r.safety_rule_arn())
        .map(str::to_string)
        .ok_or_else(|| SeedError(format!("CreateSafetyRule {name}: no rule ARN in the answer")))
}

/// Gives `apps` routing controls and writes them, with the cluster's
/// endpoints, into `registry`. The apps' record weights are left as they are:
/// with health checks on both records, Route 53 answers with the healthy one
/// (a weight-0 record when the weighted one is unhealthy).
pub async fn seed_routing_controls(
    config: &SdkConfig,
    registry: &mut Registry,
    apps: &[&str],
    namespace: &str,
) -> Result<ArcSeed, SeedError> {
    // ARC's control-configuration API is served from us-west-2.
    let cc = aws_sdk_route53recoverycontrolconfig::Client::from_conf(
        aws_sdk_route53recoverycontrolconfig::config::Builder::from(config)
            .region(aws_config::Region::new(SECONDARY))
            .build(),
    );
    let cluster = cc
        .create_cluster()
        .cluster_name(format!("{namespace}-lifeboat"))
        .send()
        .await
        .map_err(seed_err("CreateCluster"))?;
    let cluster = cluster
        .cluster()
        .ok_or_else(|| SeedError("CreateCluster returned no cluster".into()))?;
    let cluster_arn = cluster.cluster_arn().unwrap_or_default().to_string();
    let endpoints: Vec<ClusterEndpoint> = cluster
        .cluster_endpoints()
        .iter()
        .map(|e| ClusterEndpoint {
            region: e.region().unwrap_or_default().to_string(),
            url: e.endpoint().unwrap_or_default().to_string(),
        })
        .collect();
    let panel = cc
        .create_control_panel()
        .cluster_arn(&cluster_arn)
        .control_panel_name(format!("{namespace}-failover"))
        .send()
        .await
        .map_err(seed_err("CreateControlPanel"))?;
    let panel_arn = panel
        .control_panel()
        .and_then(|p| p.control_panel_arn())
        .unwrap_or_default()
        .to_string();
    let mut controls = BTreeMap::new();
    for app in apps {
        let mut pair = BySide::<String>::default();
        for (side, region) in [(Side::Primary, PRIMARY), (Side::Secondary, SECONDARY)] {
            let rc = cc
                .create_routing_control()
                .cluster_arn(&cluster_arn)
                .control_panel_arn(&panel_arn)
                .routing_control_name(format!("{app}-{region}"))
                .send()
                .await
                .map_err(seed_err(format!("CreateRoutingControl {app} {region}")))?;
            let arn = rc
                .routing_control()
                .and_then(|r| r.routing_control_arn())
                .unwrap_or_default()
                .to_string();
            match side {
                Side::Primary => pair.primary = arn,
                Side::Secondary => pair.secondary = arn,
            }
        }
        controls.insert(app.to_string(), pair);
    }
    set_primary_on(config, &endpoints, &controls).await?;
    let mut rules = BTreeMap::new();
    for (app, pair) in &controls {
        let arn = create_at_least_one_on_rule(
            &cc,
            &panel_arn,
            &format!("{app}-one-region-on"),
            &[&pair.primary, &pair.secondary],
        )
        .await?;
        rules.insert(app.clone(), arn);
    }
    attach_recovery_health_checks(config, registry, &controls, namespace).await?;
    for app in registry.applications.iter_mut() {
        if let Some(pair) = controls.get(&app.name) {
            app.traffic.routing_controls = Some(pair.clone());
        }
    }
    registry.routing_control_cluster = Some(RoutingControlCluster {
        endpoints: endpoints.clone(),
    });
    Ok(ArcSeed {
        cluster_arn,
        endpoints,
        controls,
        rules,
    })
}

/// Each app's primary control On, the secondary's Off (new controls are Off).
async fn set_primary_on(
    config: &SdkConfig,
    endpoints: &[ClusterEndpoint],
    controls: &BTreeMap<String, BySide<String>>,
) -> Result<(), SeedError> {
    use aws_sdk_route53recoverycluster::types::{RoutingControlState, UpdateRoutingControlStateEntry};
    let endpoint = endpoints
        .first()
        .ok_or_else(|| SeedError("the cluster has no endpoints".into()))?;
    let client = aws_sdk_route53recoverycluster::Client::from_conf(
        aws_sdk_route53recoverycluster::config::Builder::from(config)
            .region(aws_config::Region::new(endpoint.region.clone()))
            .endpoint_url(&endpoint.url)
            .build(),
    );
    let entries: Vec<UpdateRoutingControlStateEntry> = controls
        .values()
        .map(|pair| {
            UpdateRoutingControlStateEntry::builder()
                .routing_control_arn(&pair.primary)
                .routing_control_state(RoutingControlState::On)
                .build()
                .map_err(seed_err("routing control entry"))
        })
        .collect::<Result<_, _>>()?;
    for chunk in entries.chunks(lifeboat_core::traffic::MAX_CONTROLS_PER_UPDATE) {
        client
            .update_routing_control_states()
            .set_update_routing_control_state_entries(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(seed_err("UpdateRoutingControlStates"))?;
    }
    Ok(())
}

/// A RECOVERY_CONTROL health check per routing control, attached to the
/// app's weighted record of that Region (everything else of the record kept).
async fn attach_recovery_health_checks(
    config: &SdkConfig,
    registry: &Registry,
    controls: &BTreeMap<String, BySide<String>>,
    namespace: &str,
) -> Result<(), SeedError> {
    let r53 = aws_sdk_route53::Client::new(config);
    for app in registry.applications.iter().filter(|a| controls.contains_key(&a.name)) {
        let pair = &controls[&app.name];
        for rec in &app.dns {
            let listed = r53
                .list_resource_record_sets()
                .hosted_zone_id(&rec.hosted_zone_id)
                .start_record_name(&rec.name)
                .start_record_type(aws_sdk_route53::types::RrType::from(rec.record_type.as_str()))
                .send()
                .await
                .map_err(seed_err(format!("ListResourceRecordSets {}", rec.name)))?;
            let mut records = Vec::new();
            for side in [Side::Primary, Side::Secondary] {
                let set_id = rec.set_identifiers.get(side);
                let Some(existing) = listed
                    .resource_record_sets()
                    .iter()
                    .find(|r| r.set_identifier() == Some(set_id.as_str()))
                else {
                    return Err(SeedError(format!("{}: record {set_id} not found", app.name)));
                };
                let hc_id = create_health_check(
                    &r53,
                    &format!("{namespace}-{}-{side}-rc", app.name),
                    HealthCheckConfig::builder()
                        .r#type(HealthCheckType::RecoveryControl)
                        .routing_control_arn(pair.get(side))
                        .build()
                        .map_err(seed_err("health check config"))?,
                )
                .await?;
                let mut record = existing.clone();
                record.health_check_id = Some(hc_id);
                records.push(record);
            }
            change_record_sets(
                &r53,
                &rec.hosted_zone_id,
                ChangeAction::Upsert,
                records,
                &format!("attaching health checks to {}", rec.name),
            )
            .await?;
        }
    }
    Ok(())
}

/// What Route 53 answers for `name` now (TestDNSAnswer): the record values.
pub async fn dns_answer(
    config: &SdkConfig,
    zone_id: &str,
    name: &str,
    record_type: &str,
) -> Result<Vec<String>, SeedError> {
    let resp = aws_sdk_route53::Client::new(config)
        .test_dns_answer()
        .hosted_zone_id(zone_id)
        .record_name(name)
        .record_type(aws_sdk_route53::types::RrType::from(record_type))
        .send()
        .await
        .map_err(seed_err(format!("TestDNSAnswer {name}")))?;
    Ok(resp.record_data().to_vec())
}
