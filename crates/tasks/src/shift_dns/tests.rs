use super::*;
use crate::contract::DbStatus;
use crate::test_support::*;
use lifeboat_aws::AwsError;
use lifeboat_aws::fakes::{FakeArc, FakeRoute53};
use lifeboat_aws::ports::DnsReader;
use lifeboat_core::dns::{BatchLimits, RecordSet};

/// shift_dns against the fake Route 53 (no routing controls), the default limits.
async fn shift(r53: &FakeRoute53, input: ShiftInput) -> Result<ShiftOutput, LifeboatError> {
    shift_dns(r53, r53, &FakeArc::new(), BatchLimits::default(), input).await
}

#[tokio::test]
async fn shifts_a_wave_in_one_batch_per_zone_keeping_everything_but_the_weight() {
    let r53 = estate();
    let wave = wave_of(&r53, &["api", "web"]).await;
    let out = shift(&r53, ShiftInput::of(wave, ShiftMode::Shift)).await.unwrap();
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
    let input = ShiftInput::of(wave, ShiftMode::Shift);
    shift(&r53, input.clone()).await.unwrap();
    let before = r53.calls.lock().unwrap().get("route53:ChangeResourceRecordSets");
    let out = shift(&r53, input).await.unwrap();
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
    let out = shift(
        &r53,
        ShiftInput {
            databases: Some(vec![
                db("api", DbStatus::Refused, None),
                db("web", DbStatus::NotNeeded, None),
            ]),
            ..ShiftInput::of(wave, ShiftMode::Shift)
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
        databases: Some(vec![db(
            "api",
            DbStatus::Writable,
            Some("api.cluster-b.us-west-2.rds.amazonaws.com"),
        )]),
        ..ShiftInput::of(wave, ShiftMode::Shift)
    };
    let out = shift(&r53, input.clone()).await.unwrap();
    // Two weights and the CNAME, one batch: the zone's.
    assert_eq!((out.records_changed, out.changes.len()), (3, 1));
    let cname = r53.record_sets("Z1", "api-db.example.com.", "CNAME").await.unwrap();
    assert_eq!(
        cname[0].values,
        vec!["api.cluster-b.us-west-2.rds.amazonaws.com".to_string()]
    );
    assert_eq!(cname[0].ttl, Some(30));
    let again = shift(&r53, input).await.unwrap();
    assert_eq!(again.records_changed, 0);
}

#[tokio::test]
async fn rollback_restores_only_the_apps_that_failed_verification() {
    let r53 = estate();
    let wave = wave_of(&r53, &["api", "web"]).await;
    shift(&r53, ShiftInput::of(wave.clone(), ShiftMode::Shift))
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
    let out = shift(
        &r53,
        ShiftInput {
            verified: Some(verified),
            ..ShiftInput::of(wave, ShiftMode::Rollback)
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
    let err = shift(&r53, ShiftInput::of(wave, ShiftMode::Shift)).await.unwrap_err();
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
    let err = shift(&r53, ShiftInput::of(wave, ShiftMode::Shift)).await.unwrap_err();
    assert_eq!(err.name, lifeboat_core::ErrorName::InvalidRequest);
    assert!(r53.batches.lock().unwrap().is_empty());
}
