//! Shared fixtures for the tasks' unit tests: a small estate on the fakes.

use crate::services::{Services, Settings};
use lifeboat_aws::CallCounter;
use lifeboat_aws::fakes::{
    FakeAlarms, FakeArc, FakeCapacity, FakeDatabases, FakeFunctions, FakeJournal, FakeLease, FakeMetrics, FakeNotifier,
    FakeProbe, FakeRegistry, FakeRoute53,
};
use lifeboat_core::dns::{RecordIndex, RecordSet};
use lifeboat_core::plan::{PlanContext, Wave, build_plan};
use lifeboat_core::registry::{Registry, parse_registry};
use lifeboat_core::request::normalize_trigger;
use std::sync::Arc;

pub const REGISTRY: &str = r#"
version: 1
applications:
  - name: api
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z1, name: api.example.com., type: A, set_identifiers: { primary: api-use1, secondary: api-usw2 } } ]
    verification: { health_checks: { secondary: hc-api-usw2 }, alarms: { secondary: [api-usw2-5xx] }, deadline_seconds: 60, interval_seconds: 20 }
    triggers: { alarms: [api-use1-5xx] }
  - name: web
    tier: 1
    depends_on: [api]
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z2, name: www.example.org., type: CNAME, set_identifiers: { primary: web-use1, secondary: web-usw2 } } ]
"#;

pub fn registry() -> Registry {
    parse_registry(REGISTRY).expect("fixture registry is valid")
}

fn rec(name: &str, ty: &str, set: &str, weight: i64, value: &str, hc: Option<&str>) -> RecordSet {
    RecordSet {
        health_check_id: hc.map(str::to_string),
        ..RecordSet::weighted(name, ty, set, weight, value)
    }
}

/// api (zone Z1) and web (zone Z2), active in us-east-1.
pub fn estate() -> FakeRoute53 {
    let r53 = FakeRoute53::new();
    r53.add_record(
        "Z1",
        rec(
            "api.example.com.",
            "A",
            "api-use1",
            100,
            "192.0.2.10",
            Some("hc-api-use1"),
        ),
    );
    r53.add_record(
        "Z1",
        rec(
            "api.example.com.",
            "A",
            "api-usw2",
            0,
            "198.51.100.10",
            Some("hc-api-usw2"),
        ),
    );
    r53.add_record(
        "Z2",
        rec(
            "www.example.org.",
            "CNAME",
            "web-use1",
            100,
            "web-use1.example.org",
            None,
        ),
    );
    r53.add_record(
        "Z2",
        rec("www.example.org.", "CNAME", "web-usw2", 0, "web-usw2.example.org", None),
    );
    r53.set_health("hc-api-usw2", true);
    r53.set_health("hc-api-use1", true);
    r53
}

/// A failover wave of the named apps, planned against the fake's records.
pub async fn wave_of(r53: &FakeRoute53, apps: &[&str]) -> Wave {
    use lifeboat_aws::ports::DnsReader;
    let mut idx = RecordIndex::default();
    for (z, n, t) in [("Z1", "api.example.com.", "A"), ("Z2", "www.example.org.", "CNAME")] {
        for r in r53.record_sets(z, n, t).await.expect("fixture zone") {
            idx.insert(z, r);
        }
    }
    let req = normalize_trigger(&serde_json::json!({"action": "failover", "apps": apps})).expect("request");
    let ctx = PlanContext {
        run_id: "t".into(),
        now: chrono::Utc::now(),
    };
    let plan = build_plan(&registry(), &req, &idx.into(), &ctx).expect("plan");
    Wave {
        index: 0,
        apps: plan
            .phases
            .into_iter()
            .flat_map(|p| p.waves)
            .flat_map(|w| w.apps)
            .collect(),
        arc_endpoints: Vec::new(),
        override_safety_rules: false,
    }
}

pub struct Fakes {
    pub r53: Arc<FakeRoute53>,
    pub alarms: Arc<FakeAlarms>,
    pub registry: Arc<FakeRegistry>,
    pub journal: Arc<FakeJournal>,
    pub lease: Arc<FakeLease>,
    pub databases: Arc<FakeDatabases>,
    pub arc: Arc<FakeArc>,
    pub http: Arc<FakeProbe>,
    pub metrics: Arc<FakeMetrics>,
    pub capacity: Arc<FakeCapacity>,
    pub notifier: Arc<FakeNotifier>,
    pub functions: Arc<FakeFunctions>,
}

pub fn fake_services() -> (Services, Fakes) {
    let f = Fakes {
        r53: Arc::new(estate()),
        alarms: Arc::new(FakeAlarms::default()),
        registry: Arc::new(FakeRegistry::default()),
        journal: Arc::new(FakeJournal::default()),
        lease: Arc::new(FakeLease::default()),
        databases: Arc::new(FakeDatabases::default()),
        arc: Arc::new(FakeArc::new()),
        http: Arc::new(FakeProbe::default()),
        metrics: Arc::new(FakeMetrics::default()),
        capacity: Arc::new(FakeCapacity::default()),
        notifier: Arc::new(FakeNotifier::default()),
        functions: Arc::new(FakeFunctions::default()),
    };
    let s = Services {
        registry: f.registry.clone(),
        journal: f.journal.clone(),
        lease: f.lease.clone(),
        dns_read: f.r53.clone(),
        dns_read_best_effort: f.r53.clone(),
        dns_write: f.r53.clone(),
        health: f.r53.clone(),
        health_best_effort: f.r53.clone(),
        arc: f.arc.clone(),
        http: f.http.clone(),
        metrics: f.metrics.clone(),
        alarms: f.alarms.clone(),
        databases: f.databases.clone(),
        lag: f.databases.clone(),
        capacity: f.capacity.clone(),
        capacity_source: f.capacity.clone(),
        notifier: f.notifier.clone(),
        functions: f.functions.clone(),
        counter: CallCounter::new(),
        settings: Settings::default(),
        sdk_config: aws_config::SdkConfig::builder().build(),
        accounts: Arc::new(crate::services::OwnAccountOnly),
    };
    (s, f)
}

/// Routing-control ARNs of `api` in the routing-control fixture.
pub const API_RC_PRIMARY: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/p1/routingcontrol/api-use1";
pub const API_RC_SECONDARY: &str =
    "arn:aws:route53-recovery-control::111122223333:controlpanel/p1/routingcontrol/api-usw2";
/// The safety rule over `api`'s pair: at least one On.
pub const API_RULE: &str = "arn:aws:route53-recovery-control::111122223333:controlpanel/p1/safetyrule/api-one-on";

/// The fixture registry with `api` moved by routing controls (cluster
/// endpoints in us-east-1 and us-west-2), on fakes where api's primary
/// control is On, with an at-least-one-On safety rule over the pair.
pub async fn routing_control_services() -> (Services, Fakes) {
    let (s, f) = fake_services();
    let mut reg = registry();
    reg.routing_control_cluster = Some(lifeboat_core::registry::RoutingControlCluster {
        endpoints: ["us-east-1", "us-west-2", "eu-west-1"]
            .iter()
            .map(|r| lifeboat_core::registry::ClusterEndpoint {
                region: r.to_string(),
                url: format!("https://host-{r}.example.aws/v1"),
            })
            .collect(),
    });
    if let Some(api) = reg.applications.iter_mut().find(|a| a.name == "api") {
        api.traffic.routing_controls = Some(lifeboat_core::registry::BySide {
            primary: API_RC_PRIMARY.into(),
            secondary: API_RC_SECONDARY.into(),
        });
    }
    use lifeboat_aws::ports::RegistryStore;
    f.registry.put_apps(&reg.applications).await.expect("fake registry");
    f.registry
        .put_cluster(reg.routing_control_cluster.as_ref())
        .await
        .expect("fake registry");
    f.arc.set(API_RC_PRIMARY, lifeboat_core::traffic::ControlState::On);
    f.arc.set(API_RC_SECONDARY, lifeboat_core::traffic::ControlState::Off);
    f.arc
        .rules
        .lock()
        .expect("lock")
        .push((API_RULE.into(), vec![API_RC_PRIMARY.into(), API_RC_SECONDARY.into()], 1));
    f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
    (s, f)
}
