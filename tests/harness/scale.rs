//! A large estate on the emulator, for the bench and the fault storm: `apps`
//! weighted A record pairs over `zones` hosted zones in two tiers, a
//! verification alarm per app in the recovery Region (OK), and for the first
//! `db_apps` an RDS instance in us-east-1 with its read replica in us-west-2.
//! Built with the setup key: the emulator's quotas are for lifeboat's calls.

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use lifeboat_core::registry::{
    Application, BySide, Database, DatabaseKind, DnsRecordPair, HttpCheck, RecordType, RegionPair, Registry, Triggers,
    Verification,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a scaled estate is made of.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Unique among the estates of one emulator (names and zones carry it).
    pub name: String,
    pub apps: usize,
    pub zones: usize,
    pub db_apps: usize,
    /// Each app verified by its own alarm in us-west-2 (one DescribeAlarms reads 100).
    pub alarms: bool,
    /// The last this many apps verified by a Route 53 health check instead
    /// (GetHealthCheckStatus, 4 a burst and 1 a second for the account).
    pub health_checked: usize,
    /// Each app verified by a probe of this URL.
    pub probe: Option<String>,
    /// Each app detected by a probe of its own from the recovery Region, with
    /// its own probe alarm there (`{name}-app{i}-probe`, made by
    /// `apply_probe_alarms`): a trigger alarm per app.
    pub detection: bool,
}

/// The trigger alarm every app of a scaled estate names.
pub const REGION_ALARM: &str = "scale-region-health";

/// Seeds the estate; returns its registry.
pub async fn seed(config: &aws_config::SdkConfig, estate: &Scale) -> Result<Registry, Error> {
    let r53 = aws_sdk_route53::Client::new(config);
    let mut zone_ids = Vec::new();
    for z in 0..estate.zones {
        let resp = r53
            .create_hosted_zone()
            .name(format!("zone{z}.{}.scale.test.", estate.name))
            .caller_reference(format!("scale-{}-{z}-{}", estate.name, std::process::id()))
            .send()
            .await?;
        zone_ids.push(
            resp.hosted_zone()
                .map(|h| h.id().trim_start_matches("/hostedzone/").to_string())
                .unwrap_or_default(),
        );
    }
    let mut registry = Registry {
        version: 1,
        routing_control_cluster: None,
        approval: None,
        applications: Vec::new(),
    };
    let mut per_zone: Vec<Vec<Change>> = vec![Vec::new(); estate.zones];
    for i in 0..estate.apps {
        let z = i % estate.zones;
        let name = format!("app{i:05}.zone{z}.{}.scale.test.", estate.name);
        for (side, set, weight) in [(0, format!("app{i}-p"), 100), (1, format!("app{i}-s"), 0)] {
            let rrs = ResourceRecordSet::builder()
                .name(&name)
                .r#type(RrType::A)
                .set_identifier(set)
                .weight(weight)
                .ttl(60)
                .resource_records(
                    ResourceRecord::builder()
                        .value(format!("192.0.{side}.{}", i % 250 + 1))
                        .build()?,
                )
                .build()?;
            per_zone[z].push(
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(rrs)
                    .build()?,
            );
        }
        let mut database = Database::default();
        if i < estate.db_apps {
            database = replica(config, &format!("{}-app{i}", estate.name)).await?;
        }
        let mut verification = Verification {
            deadline_seconds: 120,
            interval_seconds: 15,
            ..Verification::default()
        };
        if i + estate.health_checked >= estate.apps {
            let check = r53
                .create_health_check()
                .caller_reference(format!("scale-{}-hc{i}-{}", estate.name, std::process::id()))
                .health_check_config(
                    aws_sdk_route53::types::HealthCheckConfig::builder()
                        .r#type(aws_sdk_route53::types::HealthCheckType::Https)
                        .fully_qualified_domain_name(format!("app{i}.usw2.example.net"))
                        .port(443)
                        .build()?,
                )
                .send()
                .await?;
            verification.health_checks.secondary = check.health_check().map(|h| h.id().to_string());
        } else if estate.alarms {
            let alarm = format!("{}-app{i}-usw2-errors", estate.name);
            lifeboat_sandbox::estate::create_ok_alarm(config, "us-west-2", &alarm).await?;
            verification.alarms.secondary = vec![alarm];
        }
        if let Some(url) = &estate.probe {
            verification.probes.secondary = vec![HttpCheck {
                url: url.clone(),
                expect_status: 200,
            }];
        }
        registry.applications.push(Application {
            name: format!("app{i:05}"),
            tier: (i % 2) as u32,
            depends_on: vec![],
            regions: RegionPair {
                primary: "us-east-1".into(),
                secondary: "us-west-2".into(),
            },
            account: None,
            dns: vec![DnsRecordPair {
                hosted_zone_id: zone_ids[z].clone(),
                name,
                record_type: RecordType::A,
                set_identifiers: BySide {
                    primary: format!("app{i}-p"),
                    secondary: format!("app{i}-s"),
                },
                active_weight: 100,
                standby_weight: 0,
            }],
            database,
            verification,
            triggers: Triggers {
                alarms: vec![REGION_ALARM.into()],
                insufficient_data: Default::default(),
            },
            traffic: Default::default(),
            detection: estate.detection.then(|| lifeboat_core::registry::Detection {
                probe: lifeboat_core::registry::DetectionProbe {
                    url: format!("https://app{i}.use1.{}.scale.test/health", estate.name),
                    expect_status: 200,
                    failures: 2,
                    alarm_name: Some(format!("{}-app{i}-probe", estate.name)),
                },
            }),
            capacity: vec![],
            hooks: vec![],
        });
    }
    for (z, changes) in per_zone.into_iter().enumerate() {
        for chunk in changes.chunks(400) {
            r53.change_resource_record_sets()
                .hosted_zone_id(&zone_ids[z])
                .change_batch(ChangeBatch::builder().set_changes(Some(chunk.to_vec())).build()?)
                .send()
                .await?;
        }
    }
    Ok(registry)
}

/// An RDS instance in us-east-1 and its read replica in us-west-2.
async fn replica(config: &aws_config::SdkConfig, id: &str) -> Result<Database, Error> {
    let rds = |region: &str| {
        aws_sdk_rds::Client::from_conf(
            aws_sdk_rds::config::Builder::from(config)
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        )
    };
    let source = rds("us-east-1")
        .create_db_instance()
        .db_instance_identifier(format!("{id}-use1"))
        .tags(lifeboat_sandbox::estate::managed_tag())
        .engine("mysql")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("scale")
        .master_user_password("scale-only-not-a-secret")
        .backup_retention_period(1)
        .send()
        .await?;
    let arn = source
        .db_instance()
        .and_then(|d| d.db_instance_arn())
        .unwrap_or_default()
        .to_string();
    rds("us-west-2")
        .create_db_instance_read_replica()
        .db_instance_identifier(format!("{id}-usw2"))
        .tags(lifeboat_sandbox::estate::managed_tag())
        .source_db_instance_identifier(arn)
        .send()
        .await?;
    Ok(Database {
        kind: DatabaseKind::RdsReplica,
        identifiers: Some(BySide {
            primary: format!("{id}-use1"),
            secondary: format!("{id}-usw2"),
        }),
        interval_seconds: 30,
        ..Database::default()
    })
}

/// The apps whose first record pair's weights are not `expected(app)`
/// (primary, secondary), read straight from Route 53, with what they are.
pub async fn misplaced(
    dns: &dyn lifeboat_aws::ports::DnsReader,
    registry: &Registry,
    expected: impl Fn(&str) -> (i64, i64),
) -> Vec<String> {
    let mut wrong = Vec::new();
    for app in &registry.applications {
        let pair = &app.dns[0];
        let sets = dns
            .record_sets(&pair.hosted_zone_id, &pair.name, "A")
            .await
            .unwrap_or_default();
        let weight = |set: &str| {
            sets.iter()
                .find(|r| r.set_identifier.as_deref() == Some(set))
                .and_then(|r| r.weight)
        };
        let (p, s) = expected(&app.name);
        let found = (
            weight(&pair.set_identifiers.primary),
            weight(&pair.set_identifiers.secondary),
        );
        if found != (Some(p), Some(s)) {
            wrong.push(format!("{}: {found:?}, not ({p}, {s})", app.name));
        }
    }
    wrong
}
