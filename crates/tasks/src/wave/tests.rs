use super::*;
use crate::journal::store_plan;
use crate::services::Services;
use crate::shift_dns::ShiftMode;
use crate::test_support::{fake_services, registry};
use crate::validate::{ValidateInput, take_lease, validate};
use chrono::Utc;
use lifeboat_aws::ports::{DnsReader, RegistryStore, RunLease};
use lifeboat_core::ErrorName;

/// Validate, take the lease and store the plan, as the Validate task does.
async fn planned(s: &Services, f: &crate::test_support::Fakes) -> WaveInput {
    planned_with(s, f, registry()).await
}

/// The same, for `reg`.
async fn planned_with(
    s: &Services,
    f: &crate::test_support::Fakes,
    reg: lifeboat_core::registry::Registry,
) -> WaveInput {
    f.registry.put_apps(&reg.applications).await.unwrap();
    f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
    let mut plan = validate(
        s.validate_ports(),
        ValidateInput {
            run_id: "run-1".into(),
            ..ValidateInput::of(serde_json::json!({"action": "failover", "apps": ["api"]}))
        },
    )
    .await
    .unwrap()
    .plan;
    take_lease(&*s.lease, &s.settings, Utc::now(), &mut plan).await.unwrap();
    assert_eq!(plan.lease_epoch, Some(1));
    store_plan(&*s.journal, &plan).await.unwrap();
    WaveInput {
        run_id: "run-1".into(),
        phase: 0,
        wave: 0,
        started_at: None,
        mode: None,
        error: None,
        entered_at: None,
        api_calls: None,
        restore: false,
        when: None,
    }
}

async fn weight_of(f: &crate::test_support::Fakes, set: &str) -> Option<i64> {
    f.r53
        .record_sets("Z1", "api.example.com.", "A")
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.set_identifier.as_deref() == Some(set))
        .and_then(|r| r.weight)
}

#[tokio::test]
async fn a_run_whose_lease_was_broken_changes_nothing() {
    let (s, f) = fake_services();
    let input = planned(&s, &f).await;
    // An operator breaks the lease (`lifeboat lease release`) mid-run.
    let before = f.lease.break_lease(Utc::now()).await.unwrap().unwrap();
    assert_eq!(before.holder.as_deref(), Some("run-1"));
    let e = shift_wave(&s, input.clone()).await.unwrap_err();
    assert_eq!(e.name, ErrorName::LeaseHeld);
    assert!(e.message.contains("epoch 1"), "{}", e.message);
    assert_eq!(weight_of(&f, "api-usw2").await, Some(0), "no weight moved");
    // A rollback of the wave is refused too: the run no longer owns the estate.
    let rollback = WaveInput {
        mode: Some(ShiftMode::Rollback),
        ..input
    };
    assert_eq!(shift_wave(&s, rollback).await.unwrap_err().name, ErrorName::LeaseHeld);
}

#[tokio::test]
async fn a_run_taken_over_by_another_changes_nothing_but_its_own_lease_lets_it_act() {
    let (s, f) = fake_services();
    let input = planned(&s, &f).await;
    shift_wave(&s, input.clone()).await.unwrap();
    assert_eq!(weight_of(&f, "api-usw2").await, Some(100));
    // The lease expires and another run takes it (epoch 2): the first run's next step refuses.
    f.lease.state.lock().unwrap().expires_at = Some(Utc::now() - chrono::Duration::seconds(1));
    f.lease
        .acquire("run-2", Utc::now(), chrono::Duration::hours(1), false)
        .await
        .unwrap();
    let e = shift_wave(&s, input).await.unwrap_err();
    assert_eq!(e.name, ErrorName::LeaseHeld);
}

#[tokio::test]
async fn a_throttled_promote_leaves_its_app_pending_and_is_made_again_at_the_next_check() {
    use lifeboat_core::registry::{BySide, Database, DatabaseKind};
    let (s, f) = fake_services();
    let mut reg = registry();
    let api = reg.applications.iter_mut().find(|a| a.name == "api").unwrap();
    api.database = Database {
        kind: DatabaseKind::RdsReplica,
        identifiers: Some(BySide {
            primary: "api-use1".into(),
            secondary: "api-usw2".into(),
        }),
        interval_seconds: 10,
        deadline_seconds: 100,
        ..Database::default()
    };
    f.databases.add_instance(
        "us-west-2",
        "api-usw2",
        Some("arn:aws:rds:us-east-1:123456789012:db:api-use1"),
    );
    let input = planned_with(&s, &f, reg).await;
    // The promote is throttled past the SDK's retries: the app waits, the wave does not fail.
    f.databases
        .fail_actions
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled(
            "PromoteReadReplica: Throttling".into(),
        ));
    // (promote_wave's own first look makes it again at once.)
    // Throttled twice: after promote_wave the app is still pending, the wave unharmed.
    f.databases
        .fail_actions
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled(
            "PromoteReadReplica: Throttling".into(),
        ));
    let step = promote_wave(&s, Utc::now(), input.clone()).await.unwrap();
    assert_eq!((step.pending, step.failed), (1, 0), "{}", step.summary);
    assert!(
        step.summary.contains("made again at the next check"),
        "{}",
        step.summary
    );
    assert_eq!(f.databases.calls.lock().unwrap().get("rds:PromoteReadReplica"), 2);
    let mut done = 0;
    for _ in 0..5 {
        if done == 1 {
            break;
        }
        done = check_wave(&s, Utc::now(), input.clone()).await.unwrap().done;
    }
    assert_eq!(done, 1);
    assert_eq!(f.databases.calls.lock().unwrap().get("rds:PromoteReadReplica"), 3);
}

#[tokio::test]
async fn a_throttled_alarm_read_costs_its_apps_a_check_not_the_wave() {
    let (s, f) = fake_services();
    let input = planned(&s, &f).await;
    shift_wave(&s, input.clone()).await.unwrap();
    f.alarms
        .fail_reads
        .lock()
        .unwrap()
        .push_back(lifeboat_aws::AwsError::Throttled("DescribeAlarms: Throttling".into()));
    let step = verify_wave(&s, Utc::now(), input.clone()).await.unwrap();
    assert_eq!((step.pending, step.done, step.failed), (1, 0, 0), "{}", step.summary);
    let step = verify_wave(&s, Utc::now(), input.clone()).await.unwrap();
    assert_eq!((step.pending, step.done, step.failed), (0, 1, 0), "{}", step.summary);
}

mod capacity {
    use super::*;
    use lifeboat_core::capacity::{CapacityStatus, Scalable};
    use lifeboat_core::registry::{BySide, CapacityStep, EcsService};

    fn asg(region: &str, name: &str) -> Scalable {
        Scalable::Asg {
            region: region.into(),
            name: name.into(),
        }
    }

    fn ecs(region: &str, cluster: &str) -> Scalable {
        Scalable::Ecs {
            region: region.into(),
            cluster: cluster.into(),
            service: "api".into(),
        }
    }

    /// The fixture registry with api's compute: an Auto Scaling group at 50 %, then an ECS service at 100 %.
    fn with_capacity() -> lifeboat_core::registry::Registry {
        let mut reg = registry();
        let api = reg.applications.iter_mut().find(|a| a.name == "api").unwrap();
        let step = |asg: Option<BySide<String>>, ecs: Option<EcsService>, percent| CapacityStep {
            asg,
            ecs,
            percent,
            deadline_seconds: 300,
            interval_seconds: 15,
        };
        let by = |p: &str, s: &str| BySide {
            primary: p.to_string(),
            secondary: s.to_string(),
        };
        api.capacity = vec![
            step(Some(by("api-use1", "api-usw2")), None, 50),
            step(
                None,
                Some(EcsService {
                    cluster: by("prod-use1", "prod-usw2"),
                    service: by("api", "api"),
                }),
                100,
            ),
        ];
        reg
    }

    fn at(input: &WaveInput, seconds: i64) -> WaveInput {
        WaveInput {
            entered_at: Some(chrono::DateTime::UNIX_EPOCH + chrono::Duration::seconds(1_800_000_000 + seconds)),
            ..input.clone()
        }
    }

    #[tokio::test]
    async fn the_target_is_raised_step_by_step_before_traffic_and_only_ready_capacity_lets_it_move() {
        let (s, f) = fake_services();
        f.capacity.add(asg("us-east-1", "api-use1"), 9, Some(12));
        f.capacity.add(asg("us-west-2", "api-usw2"), 1, Some(4));
        f.capacity.add(ecs("us-east-1", "prod-use1"), 6, None);
        f.capacity.add(ecs("us-west-2", "prod-usw2"), 1, None);
        *f.capacity.looks_to_ready.lock().unwrap() = 1;
        let input = planned_with(&s, &f, with_capacity()).await;

        let step = scale_wave(&s, at(&input, 0)).await.unwrap();
        assert_eq!((step.pending, step.done, step.failed), (1, 0, 0), "{}", step.summary);
        // ceil(50 % of 9) = 5, above MaxSize 4: the max moves with it. The ECS step waits its turn.
        assert_eq!(f.capacity.desired(&asg("us-west-2", "api-usw2")), Some((5, Some(5))));
        assert_eq!(f.capacity.desired(&ecs("us-west-2", "prod-usw2")), Some((1, None)));
        // Traffic does not move while capacity is pending.
        shift_wave(&s, input.clone()).await.unwrap();
        assert_eq!(weight_of(&f, "api-usw2").await, Some(0));

        // Next look: the group is in service, so the service is raised (to its source's 6).
        let step = scale_wave(&s, at(&input, 15)).await.unwrap();
        assert_eq!(step.pending, 1, "{}", step.summary);
        assert_eq!(f.capacity.desired(&ecs("us-west-2", "prod-usw2")), Some((6, None)));
        let step = scale_wave(&s, at(&input, 30)).await.unwrap();
        assert_eq!((step.pending, step.done), (0, 1), "{}", step.summary);

        let loaded = crate::journal::load_wave(&*s.journal, &input.at()).await.unwrap();
        let steps = &loaded.progress.apps["api"].capacity;
        assert_eq!(steps.len(), 2);
        assert_eq!(
            (steps[0].source_desired, steps[0].needed, steps[0].set_to),
            (Some(9), 5, Some(5))
        );
        assert_eq!(steps[0].before.map(|b| (b.desired, b.max)), Some((1, Some(4))));
        assert_eq!(steps[0].source_basis, "live");
        assert!(steps.iter().all(|c| c.status == CapacityStatus::Ready));
        assert_eq!(steps[1].seconds_to_ready, Some(15.0));
        shift_wave(&s, input).await.unwrap();
        assert_eq!(
            weight_of(&f, "api-usw2").await,
            Some(100),
            "capacity ready: traffic moved"
        );
    }

    #[tokio::test]
    async fn a_dark_source_uses_readinesss_last_reading_and_without_one_the_app_stays() {
        let (s, f) = fake_services();
        f.capacity.add(asg("us-east-1", "api-use1"), 8, None);
        f.capacity.add(asg("us-west-2", "api-usw2"), 2, None);
        f.capacity.add(ecs("us-west-2", "prod-usw2"), 0, None);
        f.capacity.dark.lock().unwrap().push("us-east-1".into());
        // Without a reading: the step fails, saying how to get one, and the traffic stays.
        let input = planned_with(&s, &f, with_capacity()).await;
        let step = scale_wave(&s, at(&input, 0)).await.unwrap();
        assert_eq!(step.failed, 1, "{}", step.summary);
        assert!(step.summary.contains("lifeboat readiness --now"), "{}", step.summary);
        assert_eq!(
            f.capacity.desired(&asg("us-west-2", "api-usw2")),
            Some((2, None)),
            "nothing raised"
        );
        shift_wave(&s, input).await.unwrap();
        assert_eq!(weight_of(&f, "api-usw2").await, Some(0));

        // Readiness read the source while it answered: its reading stands in.
        let (s, f) = fake_services();
        f.capacity.add(asg("us-east-1", "api-use1"), 8, None);
        f.capacity.add(asg("us-west-2", "api-usw2"), 2, None);
        f.capacity.add(ecs("us-east-1", "prod-use1"), 3, None);
        f.capacity.add(ecs("us-west-2", "prod-usw2"), 0, None);
        f.registry.put_apps(&with_capacity().applications).await.unwrap();
        let ev = crate::readiness::evaluate(&s, Utc::now()).await.unwrap();
        crate::readiness::record(&s, &ev, "us-west-2").await.unwrap();
        let api = ev.apps.iter().find(|a| a.app == "api").unwrap();
        assert_eq!(api.capacity_seen.len(), 4, "both sides of both steps read");
        assert!(api.capacity[0].contains("+2 instances"), "{:?}", api.capacity);
        f.capacity.dark.lock().unwrap().push("us-east-1".into());
        let input = planned_with(&s, &f, with_capacity()).await;
        let step = scale_wave(&s, at(&input, 0)).await.unwrap();
        let step = if step.pending > 0 {
            scale_wave(&s, at(&input, 15)).await.unwrap()
        } else {
            step
        };
        assert_eq!(step.done, 1, "{}", step.summary);
        assert_eq!(f.capacity.desired(&asg("us-west-2", "api-usw2")), Some((4, None)));
        assert_eq!(f.capacity.desired(&ecs("us-west-2", "prod-usw2")), Some((3, None)));
        let loaded = crate::journal::load_wave(&*s.journal, &input.at()).await.unwrap();
        let basis = &loaded.progress.apps["api"].capacity[0].source_basis;
        assert!(basis.starts_with("readiness's last reading"), "{basis}");
    }

    #[tokio::test]
    async fn capacity_never_lowers_a_target_and_gives_up_at_its_deadline() {
        let (s, f) = fake_services();
        f.capacity.add(asg("us-east-1", "api-use1"), 4, None);
        f.capacity.add(asg("us-west-2", "api-usw2"), 10, None);
        f.capacity.add(ecs("us-east-1", "prod-use1"), 5, None);
        f.capacity.add(ecs("us-west-2", "prod-usw2"), 1, None);
        f.capacity.stuck.lock().unwrap().push(ecs("us-west-2", "prod-usw2"));
        let input = planned_with(&s, &f, with_capacity()).await;
        scale_wave(&s, at(&input, 0)).await.unwrap();
        assert_eq!(
            f.capacity.desired(&asg("us-west-2", "api-usw2")),
            Some((10, None)),
            "never lowered"
        );
        let mut step = scale_wave(&s, at(&input, 15)).await.unwrap();
        let mut t = 15;
        while step.pending > 0 {
            t += 15;
            assert!(t <= 400, "the deadline ends the wait");
            step = scale_wave(&s, at(&input, t)).await.unwrap();
        }
        assert_eq!(step.failed, 1, "{}", step.summary);
        assert!(step.summary.contains("timed-out"), "{}", step.summary);
        assert!(t >= 300, "not before its deadline_seconds: {t}");
        shift_wave(&s, input).await.unwrap();
        assert_eq!(weight_of(&f, "api-usw2").await, Some(0), "the app keeps its traffic");
    }
}

/// The unit tests' member accounts: every role's ports are one second set of fakes.
struct OneMemberAccount(Services);

#[async_trait::async_trait]
impl crate::services::MemberAccounts for OneMemberAccount {
    async fn assumable(&self, _home: &Services, _account: &lifeboat_core::registry::Account) -> Result<(), String> {
        Ok(())
    }
    fn services_as(&self, _home: &Services, _account: &lifeboat_core::registry::Account) -> Services {
        self.0.clone()
    }
}

#[tokio::test]
async fn a_member_apps_records_are_read_and_changed_in_its_account_and_its_change_waited_on_there() {
    let (mut s, f) = fake_services();
    let (member, mf) = fake_services();
    s.accounts = std::sync::Arc::new(OneMemberAccount(member));
    let mut reg = registry();
    let role = lifeboat_core::registry::Account {
        role_arn: "arn:aws:iam::222233334444:role/lifeboat-member".into(),
        external_id: Some("lifeboat".into()),
    };
    for app in reg.applications.iter_mut().filter(|a| a.name == "api") {
        app.account = Some(role.clone());
    }
    mf.alarms.set("us-west-2", "api-usw2-5xx", "OK");
    let input = planned_with(&s, &f, reg).await;
    let step = shift_wave(&s, input).await.unwrap();
    assert_eq!(
        weight_of(&mf, "api-usw2").await,
        Some(100),
        "moved in the member account"
    );
    assert_eq!(
        weight_of(&f, "api-usw2").await,
        Some(0),
        "lifeboat's own zone untouched"
    );
    assert_eq!(step.changes.len(), 1);
    assert_eq!(step.changes[0].account.as_ref(), Some(&role));
    // The change is looked at where it was made: lifeboat's own Route 53 never saw it.
    use lifeboat_aws::ports::DnsWriter;
    assert!(f.r53.change_in_sync(&step.changes[0].change_id).await.is_err());
    let sync = crate::check_dns_sync::check_dns_sync(
        |account| s.for_account(account).dns_write,
        crate::check_dns_sync::CheckDnsSyncInput {
            changes: step.changes.clone(),
            checks: 0,
            api_calls: None,
        },
    )
    .await
    .unwrap();
    assert_eq!((sync.in_sync, sync.pending), (1, 0));
}
