//! The sample estate's applications, as typed registry values: what the
//! demo, the tests' harness and the docs' examples move between Regions.

use super::{PRIMARY, SECONDARY};
use lifeboat_core::registry::{
    Application, BySide, Database, DatabaseKind, DnsRecordPair, EndpointRecord, RecordType, RegionPair, Registry,
    RestoreSpec, Triggers, Verification,
};

/// The RPO budget of the sample Aurora global database, and the replication lag seeded for it.
pub const DEMO_MAX_RPO_SECONDS: u32 = 30;
pub const DEMO_REPLICATION_LAG_MS: f64 = 1800.0;

/// One app of the sample estate.
pub(crate) struct SampleApp {
    pub name: &'static str,
    pub tier: u32,
    pub depends_on: &'static [&'static str],
    /// Index into [`SAMPLE_ZONES`].
    pub zone: usize,
    pub record: &'static str,
    pub record_type: RecordType,
    /// The record's value in the primary and in the secondary Region.
    pub values: [&'static str; 2],
    pub database: DatabaseKind,
}

pub(crate) const SAMPLE_ZONES: [&str; 2] = ["example.com.", "example.org."];
pub(crate) const SAMPLE_APPS: [SampleApp; 4] = [
    SampleApp {
        name: "payments",
        tier: 0,
        depends_on: &[],
        zone: 0,
        record: "payments.example.com.",
        record_type: RecordType::A,
        values: ["192.0.2.10", "198.51.100.10"],
        database: DatabaseKind::AuroraGlobal,
    },
    SampleApp {
        name: "search",
        tier: 1,
        depends_on: &[],
        zone: 0,
        record: "search.example.com.",
        record_type: RecordType::A,
        values: ["192.0.2.20", "198.51.100.20"],
        database: DatabaseKind::None,
    },
    SampleApp {
        name: "storefront",
        tier: 1,
        depends_on: &[],
        zone: 1,
        record: "www.example.org.",
        record_type: RecordType::CNAME,
        values: ["storefront-use1.example.org", "storefront-usw2.example.org"],
        database: DatabaseKind::None,
    },
    SampleApp {
        name: "orders",
        tier: 1,
        depends_on: &["payments"],
        zone: 0,
        record: "orders.example.com.",
        record_type: RecordType::A,
        values: ["192.0.2.30", "198.51.100.30"],
        database: DatabaseKind::RdsBackup,
    },
];

/// `use1` / `usw2`: the Region's part of the sample's resource names.
pub(crate) fn short_region(region: &str) -> &'static str {
    if region == PRIMARY { "use1" } else { "usw2" }
}

/// The CNAME clients use for an app's database writer (`payments-db.example.com.`).
pub(crate) fn endpoint_record_name(app: &SampleApp) -> String {
    format!("{}-db.{}", app.name, SAMPLE_ZONES[app.zone])
}

/// What was created for one app on the emulator that its registry entry names.
pub(crate) struct SeededApp<'a> {
    pub app: &'a SampleApp,
    pub zone_id: &'a str,
    /// The health checks of its primary and secondary records.
    pub health_checks: [String; 2],
}

/// The sample registry. `prefix` namespaces resource names (empty for the
/// demo); `region_alarm` fails every app over.
pub(crate) fn sample_registry(prefix: &str, region_alarm: &str, seeded: &[SeededApp<'_>]) -> Registry {
    Registry {
        version: lifeboat_core::registry::REGISTRY_VERSION,
        routing_control_cluster: None,
        approval: None,
        applications: seeded.iter().map(|s| application(prefix, region_alarm, s)).collect(),
    }
}

fn by_region(prefix: &str, name: &str, suffix: &str) -> BySide<String> {
    BySide {
        primary: format!("{prefix}{name}-{}{suffix}", short_region(PRIMARY)),
        secondary: format!("{prefix}{name}-{}{suffix}", short_region(SECONDARY)),
    }
}

fn application(p: &str, region_alarm: &str, seeded: &SeededApp<'_>) -> Application {
    let app = seeded.app;
    let name = app.name;
    let [hc_primary, hc_secondary] = seeded.health_checks.clone();
    let alarms = by_region(p, name, "-errors");
    Application {
        name: name.to_string(),
        tier: app.tier,
        depends_on: app.depends_on.iter().map(|d| d.to_string()).collect(),
        regions: RegionPair {
            primary: PRIMARY.to_string(),
            secondary: SECONDARY.to_string(),
        },
        account: None,
        dns: vec![DnsRecordPair {
            hosted_zone_id: seeded.zone_id.to_string(),
            name: app.record.to_string(),
            record_type: app.record_type,
            set_identifiers: by_region("", name, ""),
            active_weight: 100,
            standby_weight: 0,
        }],
        database: database(app, p, seeded.zone_id),
        verification: Verification {
            health_checks: BySide {
                primary: Some(hc_primary),
                secondary: Some(hc_secondary),
            },
            alarms: BySide {
                primary: vec![alarms.primary],
                secondary: vec![alarms.secondary],
            },
            deadline_seconds: 60,
            interval_seconds: 10,
            ..Verification::default()
        },
        triggers: Triggers {
            alarms: vec![region_alarm.to_string(), format!("{p}{name}-use1-5xx")],
            ..Triggers::default()
        },
        traffic: Default::default(),
        detection: None,
        capacity: vec![],
        hooks: vec![],
    }
}

/// The app's database entry; `p` is the namespace prefix.
fn database(app: &SampleApp, p: &str, zone_id: &str) -> Database {
    let name = app.name;
    match app.database {
        DatabaseKind::AuroraGlobal => Database {
            kind: DatabaseKind::AuroraGlobal,
            global_cluster_id: Some(format!("{p}{name}-global")),
            identifiers: Some(by_region(p, name, "")),
            max_rpo_seconds: Some(DEMO_MAX_RPO_SECONDS),
            deadline_seconds: 600,
            interval_seconds: 20,
            endpoint_record: Some(EndpointRecord {
                hosted_zone_id: zone_id.to_string(),
                name: endpoint_record_name(app),
            }),
            ..Database::default()
        },
        DatabaseKind::RdsBackup => Database {
            kind: DatabaseKind::RdsBackup,
            identifiers: Some(by_region(p, name, "")),
            restore: Some(RestoreSpec {
                instance_class: "db.r6g.large".to_string(),
                subnet_group: None,
                security_group_ids: Vec::new(),
                parameter_group: Some(format!("{p}{name}-restore")),
            }),
            deadline_seconds: 1800,
            interval_seconds: 60,
            ..Database::default()
        },
        kind => Database {
            kind,
            ..Database::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_core::registry::parse_registry_value;

    fn seeded() -> Vec<SeededApp<'static>> {
        SAMPLE_APPS
            .iter()
            .map(|app| SeededApp {
                app,
                zone_id: if app.zone == 0 { "Z1" } else { "Z2" },
                health_checks: [format!("hc-{}-1", app.name), format!("hc-{}-2", app.name)],
            })
            .collect()
    }

    #[test]
    fn the_sample_registry_is_valid_and_survives_its_own_checks_unchanged() {
        let registry = sample_registry("ns-", "ns-use1-region-health", &seeded());
        let checked = parse_registry_value(&serde_json::to_value(&registry).unwrap()).unwrap();
        assert_eq!(checked, registry);
        let yaml = registry.to_yaml().unwrap();
        assert_eq!(lifeboat_core::registry::parse_registry(&yaml).unwrap(), registry);
    }

    #[test]
    fn names_carry_the_namespace_and_each_app_its_own_database() {
        let registry = sample_registry("ns-", "ns-use1-region-health", &seeded());
        let payments = &registry.applications[0];
        assert_eq!(
            payments.database.global_cluster_id.as_deref(),
            Some("ns-payments-global")
        );
        assert_eq!(payments.database.max_rpo_seconds, Some(DEMO_MAX_RPO_SECONDS));
        assert_eq!(
            payments.database.endpoint_record.as_ref().map(|e| e.name.as_str()),
            Some("payments-db.example.com.")
        );
        assert_eq!(payments.verification.alarms.secondary, vec!["ns-payments-usw2-errors"]);
        assert_eq!(
            payments.triggers.alarms,
            vec!["ns-use1-region-health", "ns-payments-use1-5xx"]
        );
        let orders = &registry.applications[3];
        assert_eq!(orders.depends_on, vec!["payments"]);
        assert_eq!(orders.database.kind, DatabaseKind::RdsBackup);
        assert_eq!(
            orders
                .database
                .restore
                .as_ref()
                .and_then(|r| r.parameter_group.as_deref()),
            Some("ns-orders-restore")
        );
        assert_eq!(
            registry.applications[2].dns[0].set_identifiers.secondary,
            "storefront-usw2"
        );
        assert_eq!(registry.applications[1].database, Database::default());
    }
}
