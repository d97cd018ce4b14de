//! Every AWS adapter against moto server over real HTTP with the real SDK.

#![allow(clippy::unwrap_used)]

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use harness::{calculated_check, create_health_check, healthy_checkers, https_check, moto, sdk_config, unique};
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::dynamodb::{DynamoJournal, DynamoRegistry};
use lifeboat_aws::ports::{AlarmStates, DnsReader, DnsWriter, HealthChecks, Journal, RegistryStore};
use lifeboat_aws::route53::Route53;
use lifeboat_aws::{AwsClients, AwsError, CallCounter};
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::outcome::{RunRecord, RunStatus};
use lifeboat_core::registry::parse_registry;
use lifeboat_core::request::{Action, Mode, TriggerKind};
use lifeboat_sandbox::estate::create_ok_alarm;

async fn clients() -> AwsClients {
    AwsClients::new(&sdk_config(&moto().endpoint()).await, CallCounter::new())
}

fn weighted(name: &str, ty: &str, set: &str, weight: i64, value: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(ty))
        .set_identifier(set)
        .weight(weight)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap()
}

async fn zone_with(c: &AwsClients, records: Vec<ResourceRecordSet>) -> String {
    let zone = c
        .route53
        .create_hosted_zone()
        .name("lifeboat.test.")
        .caller_reference(unique("ref"))
        .send()
        .await
        .unwrap();
    let id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let changes = records
        .into_iter()
        .map(|r| {
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(r)
                .build()
                .unwrap()
        })
        .collect();
    c.route53
        .change_resource_record_sets()
        .hosted_zone_id(&id)
        .change_batch(ChangeBatch::builder().set_changes(Some(changes)).build().unwrap())
        .send()
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn route53_reads_exactly_one_name_and_type_and_upserts_only_the_weight() {
    let c = clients().await;
    let zone = zone_with(
        &c,
        vec![
            weighted("a.lifeboat.test.", "A", "a-1", 100, "192.0.2.1"),
            weighted("api.lifeboat.test.", "A", "p", 100, "192.0.2.10"),
            weighted("api.lifeboat.test.", "A", "s", 0, "198.51.100.10"),
            weighted("api.lifeboat.test.", "TXT", "t", 1, "\"v=1\""),
            weighted("b.lifeboat.test.", "A", "b-1", 100, "192.0.2.2"),
        ],
    )
    .await;
    let setup = c.counter.snapshot();
    let r53 = Route53::new(c.route53.clone());
    let recs = r53.record_sets(&zone, "API.lifeboat.test", "A").await.unwrap();
    let mut sets: Vec<(&str, Option<i64>)> = recs
        .iter()
        .map(|r| (r.set_identifier.as_deref().unwrap(), r.weight))
        .collect();
    sets.sort();
    assert_eq!(sets, vec![("p", Some(100)), ("s", Some(0))]);

    let mut primary = recs
        .iter()
        .find(|r| r.set_identifier.as_deref() == Some("p"))
        .unwrap()
        .clone();
    primary.weight = Some(0);
    let change = r53.upsert(&zone, &[primary], "lifeboat adapter test").await.unwrap();
    assert!(change.contains("change"), "{change}");
    // moto: every change is INSYNC at once (AWS: PENDING for a while).
    assert!(r53.change_in_sync(&change).await.unwrap());
    let after = r53.record_sets(&zone, "api.lifeboat.test.", "A").await.unwrap();
    let p = after.iter().find(|r| r.set_identifier.as_deref() == Some("p")).unwrap();
    assert_eq!(
        (p.weight, p.ttl, p.values.clone()),
        (Some(0), Some(300), vec!["192.0.2.10".to_string()])
    );
    // Every attempt is counted, by service and operation (setup calls excluded).
    let calls = c.counter.snapshot();
    let made = |op: &str| calls.get(op) - setup.get(op);
    assert_eq!(made("route53:ListResourceRecordSets"), 2);
    assert_eq!(made("route53:ChangeResourceRecordSets"), 1);
    assert_eq!(made("route53:GetChange"), 1);
}

#[tokio::test]
async fn route53_errors_are_classified_into_lifeboat_names() {
    let c = clients().await;
    let r53 = Route53::new(c.route53.clone());
    let err = r53
        .record_sets("ZNOSUCHZONE00000", "x.example.", "A")
        .await
        .unwrap_err();
    assert!(matches!(err, AwsError::NotFound(_)), "{err:?}");
    let name = lifeboat_core::LifeboatError::from(err).name;
    assert_eq!(name, lifeboat_core::ErrorName::InvalidRequest);
}

#[tokio::test]
async fn route53_health_is_more_than_18_percent_of_checkers() {
    // "How Amazon Route 53 determines whether a health check is healthy":
    // more than 18 % of checkers healthy is healthy (lifeboat said "more than half").
    let c = clients().await;
    let id = create_health_check(&c.config, https_check()).await;
    let r53 = Route53::new(c.route53.clone());
    let report = r53.health(&id).await.unwrap();
    assert!(report.healthy, "{}", report.detail);
    assert!(
        report.detail.contains(&id) && report.detail.contains("16/16"),
        "{}",
        report.detail
    );
    healthy_checkers(&id, 3);
    let report = r53.health(&id).await.unwrap();
    assert!(report.healthy, "3 of 16 (18.75 %) is healthy: {}", report.detail);
    healthy_checkers(&id, 2);
    let report = r53.health(&id).await.unwrap();
    assert!(!report.healthy, "2 of 16 (12.5 %) is not: {}", report.detail);
}

#[tokio::test]
async fn a_calculated_health_check_is_read_through_its_children() {
    // GetHealthCheckStatus cannot read a calculated check (its API reference);
    // its children can, and HealthThreshold of them decides.
    let c = clients().await;
    let (a, b) = (
        create_health_check(&c.config, https_check()).await,
        create_health_check(&c.config, https_check()).await,
    );
    let calculated = create_health_check(&c.config, calculated_check(&[&a, &b], 2)).await;
    let r53 = Route53::new(c.route53.clone());
    let report = r53.health(&calculated).await.unwrap();
    assert!(report.healthy, "{}", report.detail);
    assert!(report.detail.contains("2/2 children healthy"), "{}", report.detail);
    healthy_checkers(&b, 0);
    let report = r53.health(&calculated).await.unwrap();
    assert!(!report.healthy, "{}", report.detail);
    assert!(report.detail.contains(&format!("{b} unhealthy")), "{}", report.detail);
    let calls = c.counter.snapshot();
    assert_eq!(calls.get("route53:GetHealthCheck"), 2);
}

#[tokio::test]
async fn cloudwatch_alarm_states_are_read_per_region() {
    let c = clients().await;
    let config = sdk_config(&moto().endpoint()).await;
    let name = unique("alarm");
    create_ok_alarm(&config, "us-east-1", &name).await.unwrap();
    let cw = CloudWatch::new(c.clone());
    let east = cw
        .alarm_states("us-east-1", &[name.clone(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(east.get(&name).map(String::as_str), Some("OK"));
    assert!(!east.contains_key("missing"));
    let west = cw.alarm_states("us-west-2", std::slice::from_ref(&name)).await.unwrap();
    assert!(west.is_empty(), "alarms live in their own Region: {west:?}");
    assert_eq!(c.counter.snapshot().get("cloudwatch:DescribeAlarms"), 2);
}

#[tokio::test]
async fn composite_alarms_are_read_with_metric_alarms() {
    // DescribeAlarms returns composites only when AlarmTypes asks (the emulator
    // answers as its API reference says): a composite verification alarm read
    // without it would look missing, and its app would be rolled back.
    let c = clients().await;
    let config = sdk_config(&moto().endpoint()).await;
    let (child, composite) = (unique("child"), unique("composite"));
    create_ok_alarm(&config, "us-west-2", &child).await.unwrap();
    let raw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&config)
            .region(aws_config::Region::new("us-west-2"))
            .build(),
    );
    raw.put_composite_alarm()
        .alarm_name(&composite)
        .alarm_rule(format!("ALARM(\"{child}\")"))
        .send()
        .await
        .unwrap();
    let plain = raw.describe_alarms().alarm_names(&composite).send().await.unwrap();
    assert!(
        plain.composite_alarms().is_empty(),
        "AWS omits composites without AlarmTypes"
    );
    let cw = CloudWatch::new(c.clone());
    let names = [child.clone(), composite.clone()];
    let states = cw.alarm_states("us-west-2", &names).await.unwrap();
    assert_eq!(states.get(&composite).map(String::as_str), Some("OK"), "{states:?}");
    raw.set_alarm_state()
        .alarm_name(&child)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .unwrap();
    let states = cw.alarm_states("us-west-2", &names).await.unwrap();
    assert_eq!(states.get(&composite).map(String::as_str), Some("ALARM"), "{states:?}");
}

#[tokio::test]
async fn a_replica_lag_of_minus_one_reads_as_replication_not_active() {
    use lifeboat_aws::ports::{Lag, LagOf, ReplicationLag};
    let c = clients().await;
    let config = sdk_config(&moto().endpoint()).await;
    let (stopped, lagging) = (unique("stopped"), unique("lagging"));
    let seconds = aws_sdk_cloudwatch::types::StandardUnit::Seconds;
    lifeboat_sandbox::estate::put_rds_metric(
        &config,
        "ReplicaLag",
        ("DBInstanceIdentifier", &stopped),
        -1.0,
        seconds.clone(),
    )
    .await
    .unwrap();
    lifeboat_sandbox::estate::put_rds_metric(&config, "ReplicaLag", ("DBInstanceIdentifier", &lagging), 4.0, seconds)
        .await
        .unwrap();
    let rds = lifeboat_aws::rds::Rds::new(c);
    let lag = |id: String| {
        let rds = rds.clone();
        async move { rds.lag("us-west-2", LagOf::ReplicaInstance(&id)).await.unwrap() }
    };
    assert_eq!(lag(stopped).await, Lag::NotReplicating);
    assert_eq!(lag(lagging).await, Lag::Seconds(4.0));
    assert_eq!(lag(unique("silent")).await, Lag::NotMeasured);
}

#[tokio::test]
async fn the_registry_table_is_created_written_read_and_updated() {
    let c = clients().await;
    let store = DynamoRegistry::new(c.dynamodb.clone(), unique("registry"));
    assert!(store.ensure_table().await.unwrap(), "created");
    assert!(!store.ensure_table().await.unwrap(), "already there");
    let reg = parse_registry(include_str!("../../../examples/registry.yaml")).unwrap();
    store.put_apps(&reg.applications).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.len(), reg.applications.len());
    for s in &loaded {
        assert_eq!(Some(&s.app), reg.app(&s.app.name));
        assert_eq!(s.active_region, None);
    }
    store
        .set_active_region("orders", "us-west-2", "run-1", chrono::Utc::now())
        .await
        .unwrap();
    let orders = store
        .load()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.app.name == "orders")
        .unwrap();
    assert_eq!(
        (orders.active_region.as_deref(), orders.updated_by.as_deref()),
        (Some("us-west-2"), Some("run-1"))
    );
    // Never creates a half item for an app that is not registered.
    let err = store
        .set_active_region("ghost", "us-west-2", "run-1", chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");
    store.delete_apps(&["orders".to_string()]).await.unwrap();
    assert_eq!(store.load().await.unwrap().len(), reg.applications.len() - 1);
}

#[tokio::test]
async fn a_missing_registry_table_says_how_to_create_it() {
    let c = clients().await;
    let err = DynamoRegistry::new(c.dynamodb.clone(), unique("absent"))
        .load()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("lifeboat registry apply"), "{err}");
}

#[tokio::test]
async fn the_journal_keeps_runs_newest_first() {
    let c = clients().await;
    let journal = DynamoJournal::new(c.dynamodb.clone(), unique("journal"));
    journal.ensure_table().await.unwrap();
    let t0 = chrono::Utc::now();
    for (i, id) in ["run-a", "run-b"].iter().enumerate() {
        let rec = RunRecord {
            run_id: id.to_string(),
            action: Action::Failover,
            mode: Mode::Planned,
            trigger: TriggerKind::Manual,
            source: "test".into(),
            dry_run: false,
            status: RunStatus::Succeeded,
            started_at: t0 + chrono::Duration::seconds(i as i64),
            finished_at: t0 + chrono::Duration::seconds(10),
            duration_seconds: 10.0,
            apps: vec![],
            api_calls: ApiCalls::default(),
            summary: "ok".into(),
            error: None,
            error_name: None,
            skipped: vec![],
            apps_total: 0,
            apps_moved: 0,
            skipped_total: 0,
            follow_up: None,
            triggered_at: None,
            waited: None,
            approval: None,
        };
        journal.record_run(&rec).await.unwrap();
        // Idempotent: the same run written twice is one run.
        journal.record_run(&rec).await.unwrap();
    }
    let runs = journal.list_runs(10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        vec!["run-b", "run-a"]
    );
    assert_eq!(journal.get_run("run-a").await.unwrap().unwrap().summary, "ok");
    assert!(journal.get_run("run-z").await.unwrap().is_none());
}

/// Run documents larger than a DynamoDB item (400 KB) are split into parts and
/// read back whole in one paged Query; a rewrite with fewer parts reads as
/// the new text, whatever stale parts remain.
#[tokio::test]
async fn journal_documents_of_any_size_round_trip() {
    let c = clients().await;
    let journal = DynamoJournal::new(c.dynamodb.clone(), unique("journal"));
    journal.ensure_table().await.unwrap();
    let big: String = (0..120_000).map(|i| format!("{:07}é", i % 9_999_999)).collect();
    assert!(big.len() > 2 * lifeboat_aws::ports::DOC_PART_BYTES);
    let before = c.counter.snapshot();
    journal
        .put_docs(
            "run-d",
            &[("w#0#0#apps".into(), big.clone()), ("plan".into(), "{}".into())],
        )
        .await
        .unwrap();
    let after = c.counter.snapshot();
    assert_eq!(
        after.get("dynamodb:BatchWriteItem") - before.get("dynamodb:BatchWriteItem"),
        1,
        "every part in one call"
    );
    let docs = journal.get_docs("run-d", "w#0#0#").await.unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs["w#0#0#apps"], big);
    journal
        .put_docs("run-d", &[("w#0#0#apps".into(), "short".into())])
        .await
        .unwrap();
    assert_eq!(
        journal.get_docs("run-d", "w#0#0#").await.unwrap()["w#0#0#apps"],
        "short"
    );
    assert_eq!(journal.get_docs("run-d", "").await.unwrap().len(), 2);
}

#[tokio::test]
async fn active_regions_are_set_in_batches_and_a_missing_app_is_named() {
    let c = clients().await;
    let store = DynamoRegistry::new(c.dynamodb.clone(), unique("registry"));
    store.ensure_table().await.unwrap();
    let reg = parse_registry(include_str!("../../../examples/registry.yaml")).unwrap();
    store.put_apps(&reg.applications).await.unwrap();
    let before = c.counter.snapshot();
    let all: Vec<(String, String)> = reg
        .applications
        .iter()
        .map(|a| (a.name.clone(), "us-west-2".to_string()))
        .collect();
    store
        .set_active_regions(&all, "run-2", chrono::Utc::now())
        .await
        .unwrap();
    let calls = c.counter.snapshot();
    assert_eq!(
        calls.get("dynamodb:TransactWriteItems") - before.get("dynamodb:TransactWriteItems"),
        1
    );
    assert_eq!(calls.get("dynamodb:UpdateItem"), before.get("dynamodb:UpdateItem"));
    assert!(
        store
            .load()
            .await
            .unwrap()
            .iter()
            .all(|s| s.active_region.as_deref() == Some("us-west-2"))
    );
    let with_ghost = vec![
        ("orders".to_string(), "us-east-1".to_string()),
        ("ghost".to_string(), "us-east-1".to_string()),
    ];
    let err = store
        .set_active_regions(&with_ghost, "run-3", chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ghost"), "{err}");
}

#[tokio::test]
async fn the_lease_is_one_at_a_time_expires_and_starts_a_cooldown() {
    use lifeboat_aws::dynamodb::DynamoLease;
    use lifeboat_aws::ports::{LeaseOutcome, RunLease};
    let c = clients().await;
    let table = unique("journal");
    DynamoJournal::new(c.dynamodb.clone(), &table)
        .ensure_table()
        .await
        .unwrap();
    let lease = DynamoLease::new(c.dynamodb.clone(), &table);
    let t0 = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    assert_eq!(
        lease.acquire("a", t0, hour, true).await.unwrap(),
        LeaseOutcome::Acquired { epoch: 1 }
    );
    assert_eq!(
        lease.acquire("a", t0, hour, true).await.unwrap(),
        LeaseOutcome::Acquired { epoch: 2 },
        "same run again"
    );
    assert!(
        matches!(lease.acquire("b", t0, hour, false).await.unwrap(), LeaseOutcome::Held { holder, .. } if holder == "a")
    );
    // A holder that died: its lease expires.
    let later = t0 + hour + chrono::Duration::seconds(5);
    assert_eq!(
        lease.acquire("b", later, hour, false).await.unwrap(),
        LeaseOutcome::Acquired { epoch: 3 }
    );
    assert!(!lease.release("a", later, hour).await.unwrap(), "not a's any more");
    assert!(lease.release("b", later, chrono::Duration::seconds(600)).await.unwrap());
    let soon = later + chrono::Duration::seconds(60);
    assert!(
        matches!(lease.acquire("c", soon, hour, true).await.unwrap(), LeaseOutcome::Cooldown { last_run, .. } if last_run == "b")
    );
    assert!(matches!(
        lease.acquire("c", soon, hour, false).await.unwrap(),
        LeaseOutcome::Acquired { epoch: 4 }
    ));
}

#[tokio::test]
async fn execution_names_are_claimed_once_and_ignored_triggers_kept() {
    let c = clients().await;
    let journal = DynamoJournal::new(c.dynamodb.clone(), unique("journal"));
    journal.ensure_table().await.unwrap();
    let now = chrono::Utc::now();
    assert!(journal.claim_execution("alarm-x-20261126T000000Z", now).await.unwrap());
    assert!(!journal.claim_execution("alarm-x-20261126T000000Z", now).await.unwrap());
    journal.record_ignored("alarm-y", "cooldown", now).await.unwrap();
    journal.record_ignored("alarm-y", "cooldown again", now).await.unwrap();
    assert_eq!(journal.ignored("alarm-y").await.unwrap().len(), 2);
    assert!(
        journal.list_runs(10).await.unwrap().is_empty(),
        "claims and ignored triggers are not runs"
    );
}

#[tokio::test]
async fn capacity_is_looked_at_in_batches_of_the_services_limits() {
    use lifeboat_aws::capacity::AwsCapacity;
    use lifeboat_aws::ports::Capacity;
    use lifeboat_core::capacity::Scalable;
    let setup = harness::setup_config(&moto().endpoint()).await;
    let ns = unique("cap");
    let apps = ["a", "b", "c"];
    for app in apps {
        lifeboat_sandbox::estate::capacity::seed_capacity(&setup, &ns, app)
            .await
            .unwrap();
    }
    let mut targets: Vec<Scalable> = Vec::new();
    for app in apps {
        targets.push(Scalable::Asg {
            region: "us-west-2".into(),
            name: format!("{ns}-{app}-usw2"),
        });
        targets.push(Scalable::Ecs {
            region: "us-west-2".into(),
            cluster: format!("{ns}-usw2"),
            service: app.into(),
        });
    }
    // One that does not exist: absent, not an error for the others.
    targets.push(Scalable::Asg {
        region: "us-west-2".into(),
        name: format!("{ns}-gone-usw2"),
    });
    let c = clients().await;
    let capacity = AwsCapacity::new(c.clone());
    let many = capacity.describe_many(&targets).await;
    let calls = c.counter.snapshot();
    assert_eq!(calls.get("autoscaling:DescribeAutoScalingGroups"), 1, "{calls:?}");
    assert_eq!(calls.get("ecs:DescribeServices"), 1, "{calls:?}");
    assert_eq!(many.len(), targets.len());
    for (resource, state) in many {
        let state = state.unwrap();
        if resource.describe().contains("gone") {
            assert_eq!(state, None);
        } else {
            let one = capacity.describe(&resource).await.unwrap();
            // The same reading one by one (the emulator moves pending capacity per describe: compare what holds still).
            let (state, one) = (state.unwrap(), one.unwrap());
            assert_eq!(
                (state.reading.desired, state.min),
                (one.reading.desired, one.min),
                "{resource:?}"
            );
        }
    }
}
