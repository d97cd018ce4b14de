//! Cross-checks between infra/template.yaml, the state machine definition and
//! the code: every `${...}` substitution is provided, every Task's function is
//! a template function built from a task binary that exists, and every
//! function's IAM policy covers exactly the AWS calls its task makes, the
//! calls being observed, not listed by hand: each task runs with its own call
//! counter through scenarios that take every path of the definition.

#![allow(clippy::unwrap_used)]

use harness::TestEnv;
use lifeboat_aws::CallCounter;
use lifeboat_aws::dynamodb::DynamoLease;
use lifeboat_aws::ports::RunLease;
use lifeboat_core::calls::ApiCalls;
use lifeboat_core::registry::DatabaseKind;
use lifeboat_sandbox::estate::SECONDARY;
use lifeboat_states::VirtualClock;
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, TaskKind};
use serde_json::json;
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template() -> Yaml {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("infra/template.yaml")).unwrap()).unwrap()
}

/// A CloudFormation short-form tag's value (`!GetAtt X.Arn` → "X.Arn"), or the plain value.
fn untag(v: &Yaml) -> &Yaml {
    match v {
        Yaml::Tagged(t) => &t.value,
        other => other,
    }
}

fn functions(t: &Yaml) -> BTreeMap<String, Yaml> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn function_for(t: &Yaml, kind: TaskKind) -> (String, Yaml) {
    function_by_task(t, kind.binary())
}

/// The function whose `LIFEBOAT_TASK` is `task`.
fn function_by_task(t: &Yaml, task: &str) -> (String, Yaml) {
    functions(t)
        .into_iter()
        .find(|(_, f)| f["Properties"]["Environment"]["Variables"]["LIFEBOAT_TASK"].as_str() == Some(task))
        .unwrap_or_else(|| panic!("no function in the template has LIFEBOAT_TASK {task}"))
}

#[test]
fn every_substitution_maps_to_a_function_built_from_an_existing_task_binary() {
    let t = template();
    let asl = std::fs::read_to_string(root().join("statemachine/lifeboat.asl.json")).unwrap();
    let used: BTreeSet<String> = asl
        .split("${")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap().to_string())
        .collect();
    let subs = t["Resources"]["StateMachine"]["Properties"]["DefinitionSubstitutions"]
        .as_mapping()
        .unwrap();
    let provided: BTreeSet<String> = subs.keys().map(|k| k.as_str().unwrap().to_string()).collect();
    assert_eq!(
        used, provided,
        "the definition's ${{...}} and the template's DefinitionSubstitutions differ"
    );
    for &kind in TaskKind::ALL {
        let (name, f) = function_for(&t, kind);
        let target = untag(&subs[kind.placeholder().as_str()]).as_str().unwrap().to_string();
        assert_eq!(
            target,
            format!("{name}.Arn"),
            "{} should be the ARN of {name}",
            kind.placeholder()
        );
        assert_eq!(f["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
    }
    // The scheduled functions, outside the state machine.
    for task in [
        lifeboat_tasks::lambda::PROBE_TASK,
        lifeboat_tasks::lambda::READINESS_TASK,
    ] {
        function_by_task(&t, task);
    }
    // One bootstrap serves them all, and one build: `sam build` builds
    // functions of identical build metadata once.
    assert!(root().join("crates/tasks/src/bin/lifeboat_task.rs").exists());
    let metadata: BTreeSet<String> = functions(&t)
        .values()
        .map(|f| serde_yaml_ng::to_string(&f["Metadata"]).unwrap())
        .collect();
    assert_eq!(metadata.len(), 1, "functions built differently: {metadata:#?}");
    assert!(
        metadata.iter().all(|m| m.contains("Binary: lifeboat_task")),
        "{metadata:?}"
    );
    for (name, f) in functions(&t) {
        let task = f["Properties"]["Environment"]["Variables"]["LIFEBOAT_TASK"].as_str();
        assert!(
            task.is_some_and(|t| lifeboat_tasks::lambda::task_names().contains(&t)),
            "{name}: LIFEBOAT_TASK {task:?} is not a task"
        );
    }
    assert_eq!(
        functions(&t).len(),
        TaskKind::ALL.len() + 2,
        "one function per task, the probe and readiness, no more"
    );
}

/// Statements whose actions the task never calls itself: AWS checks them on
/// the task's behalf (RDS creating a KMS grant to restore, tagging what it creates).
fn is_implied(st: &Yaml) -> bool {
    st["Sid"].as_str().is_some_and(|s| s.starts_with("Implied"))
}

/// Every statement of a function's policies.
fn statements(f: &Yaml) -> impl Iterator<Item = &Yaml> {
    f["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
}

/// IAM actions in a function's inline policy statements (those the task calls).
fn allowed_actions(f: &Yaml) -> BTreeSet<String> {
    actions_in(statements(f))
}

/// The actions `statements` allow, but for the implied ones.
fn actions_in<'a>(statements: impl Iterator<Item = &'a Yaml>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for st in statements.filter(|st| !is_implied(st)) {
        match &st["Action"] {
            Yaml::Sequence(a) => out.extend(a.iter().map(|x| x.as_str().unwrap().to_string())),
            Yaml::String(a) => {
                out.insert(a.clone());
            }
            _ => {}
        }
    }
    out
}

/// The IAM action an API call needs.
fn iam_action(call: &str) -> String {
    match call {
        // TransactWriteItems is authorised item by item, by the items' own actions.
        "dynamodb:TransactWriteItems" => "dynamodb:UpdateItem".into(),
        // Lambda's Invoke operation is the lambda:InvokeFunction action (the Service Authorization Reference).
        "lambda:Invoke" => "lambda:InvokeFunction".into(),
        // The SDK's service key vs IAM's service prefix.
        other => match other.split_once(':') {
            Some(("route53recoverycluster", op)) => format!("route53-recovery-cluster:{op}"),
            _ => other.into(),
        },
    }
}

#[test]
fn every_function_policy_allows_exactly_the_calls_its_task_makes() {
    // Its scenarios run under one long future, and a member role's calls nest
    // an SDK call (AssumeRole, for credentials) inside another: more than a
    // test thread's 2 MiB of stack in a debug build.
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(policy_scenarios())
        })
        .unwrap()
        .join()
        .expect("the policy scenarios panicked (their message is above)");
}

async fn policy_scenarios() {
    // One counter per task, shared across the scenarios below.
    let counters: BTreeMap<&str, CallCounter> =
        TaskKind::ALL.iter().map(|k| (k.binary(), CallCounter::new())).collect();
    // The state machine's own calls (its EventBridge integration).
    let machine_counter = CallCounter::new();
    // The local executor over the env's endpoint (a proxy, maybe), each task counting into its own counter.
    let executor = |env: &TestEnv| {
        let config = env.run_config.clone();
        let settings = env.settings.clone();
        lifeboat::local::local_executor_per_task(
            |kind| -> Arc<dyn ServicesFactory> {
                Arc::new(AwsServicesFactory::new(
                    config.clone(),
                    settings.clone(),
                    counters[kind.binary()].clone(),
                ))
            },
            Arc::new(AwsServicesFactory::new(
                config.clone(),
                settings.clone(),
                machine_counter.clone(),
            )),
            Arc::new(VirtualClock::new(chrono::Utc::now())),
            None,
        )
    };
    let machine = || lifeboat::local::load_definition(&root().join("statemachine/lifeboat.asl.json")).unwrap();
    let run = |env: &TestEnv, input: serde_json::Value| {
        let exec = executor(env);
        async move { exec.run(&machine(), input, &harness::unique("run")).await }
    };
    // 1. A failover with one app failing verification: shift, sync, verify, rollback, record.
    let env = TestEnv::new().await;
    env.fail_verification("storefront").await;
    let first = run(&env, json!({"action": "failover"})).await;
    // 2. Another run holds the lease: validate reads it, the trigger is recorded as ignored.
    let lease = DynamoLease::new(aws_sdk_dynamodb::Client::new(&env.config), &env.settings.lease_table);
    lease
        .acquire("other", chrono::Utc::now(), chrono::Duration::hours(1), false)
        .await
        .unwrap();
    run(&env, json!({"action": "failback"})).await;
    // 2b. An alarm turned away while the lease is held is kept; the next run's
    // end takes it up (still in ALARM): a follow-up.
    let event = env.region_alarm_fires().await;
    run(&env, event).await;
    lease
        .release("other", chrono::Utc::now(), chrono::Duration::zero())
        .await
        .unwrap();
    let taking_up = run(&env, json!({"action": "failback", "apps": ["payments"]})).await;
    // 2c. The follow-up it carries: validate reads the journal's record of it (Query).
    let follow_up = lifeboat::output::follow_up_of(&taking_up).expect("the kept alarm gives a follow-up");
    run(&env, follow_up).await;
    // 2d. A run's end given to the record function (a timeout, an abort):
    // already recorded (GetItem), so left alone.
    let record = AwsServicesFactory::new(
        env.run_config.clone(),
        env.settings.clone(),
        counters[TaskKind::RecordOutcome.binary()].clone(),
    )
    .services();
    let ended = json!({
        "record": "execution_end",
        "event": {
            "source": "aws.states",
            "detail-type": lifeboat_tasks::record_outcome::EXECUTION_STATUS_CHANGE,
            "detail": {"name": first.name, "status": "TIMED_OUT", "startDate": 0, "stopDate": 0},
        },
    });
    lifeboat_tasks::dispatch(TaskKind::RecordOutcome, &record, ended)
        .await
        .unwrap();
    // 3. Route 53 keeps throttling: the wave rolls back and RecordFailure asks Route 53 where apps are.
    let proxy = harness::route53_throttling(10_000);
    let throttled = TestEnv::with_endpoint(&proxy.endpoint()).await;
    // Its first wave fails: the record asks Route 53 where the apps of the waves not reached are.
    run(&throttled, json!({"action": "failover"})).await;
    // 4. A disaster: the Aurora global database fails over after the RPO gate reads the lag.
    let disaster = TestEnv::new().await;
    run(
        &disaster,
        json!({"action": "failover", "mode": "disaster", "apps": ["payments"]}),
    )
    .await;
    // 5. Replica kinds: a replica cluster and a read replica promoted.
    let replicas = TestEnv::new().await;
    replicas.give_replica("search", DatabaseKind::AuroraReplica).await;
    replicas.give_replica("storefront", DatabaseKind::RdsReplica).await;
    run(
        &replicas,
        json!({"action": "failover", "apps": ["search", "storefront"]}),
    )
    .await;

    // 5a. Capacity: a drill raises the recovery Region's group and service, then puts them back.
    let capacity = TestEnv::new().await;
    pilot_light_and_hook(&capacity, "storefront").await;
    run(
        &capacity,
        json!({"action": "drill", "apps": ["storefront"], "soak_seconds": 30}),
    )
    .await;

    // 5b'. Approval: the record function keeps the token and announces the
    // wait on the approval topic; a person's decision answers it.
    let mut approving = TestEnv::new().await;
    let topic = aws_sdk_sns::Client::new(&approving.config)
        .create_topic()
        .name(format!("{}-AlertTopic-X", approving.namespace))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    approving.settings.approval_topic = Some(topic);
    approving
        .admin()
        .registry
        .put_approval(Some(&lifeboat_core::registry::Approval {
            required_for: vec![lifeboat_core::registry::ApprovalTrigger::Manual],
            timeout_seconds: 600,
            on_timeout: lifeboat_core::registry::OnTimeout::Reject,
        }))
        .await
        .unwrap();
    {
        let exec = executor(&approving);
        let machine = machine();
        let name = harness::unique("approved");
        let journal = approving.admin().journal;
        let relay = lifeboat::local::relay_approvals(journal.clone(), exec.task_tokens(), name.clone());
        let answer = async {
            approving.approval_requested(&name).await;
            let decision = lifeboat_tasks::approval::Decision {
                approved: true,
                by: "infra-test".into(),
                at: chrono::Utc::now(),
                reason: None,
            };
            lifeboat_tasks::approval::decide(&*journal, &name, decision)
                .await
                .unwrap();
            std::future::pending::<()>().await
        };
        let execution = tokio::select! {
            e = exec.run(&machine, json!({"action": "failover", "apps": ["search"]}), &name) => e,
            never = relay => match never {},
            () = answer => unreachable!(),
        };
        assert_eq!(
            execution.status,
            lifeboat_states::ExecutionStatus::Succeeded,
            "{:?}",
            execution.error
        );
    }

    // 5b. An app verified by a Route 53 health check alone, a calculated one
    // (read through its children): GetHealthCheck, GetHealthCheckStatus.
    let calculated = TestEnv::new().await;
    verified_by_a_calculated_health_check(&calculated, "search").await;
    run(&calculated, json!({"action": "failover", "apps": ["search"]})).await;

    // 6. us-east-1 dark: routing-control apps move through ARC's data plane
    // (one of them depends on another), a weighted app waits.
    let proxy = harness::us_east_1_dark();
    let mut dark = TestEnv::with_endpoint(&proxy.endpoint()).await;
    dark.give_routing_controls(&["payments", "orders"], Some(&proxy.endpoint()))
        .await;
    run(&dark, json!({"action": "failover", "mode": "disaster"})).await;
    // 7. The detection probe, with its own counter.
    let probe_counter = CallCounter::new();
    let endpoint = harness::endpoint::TestEndpoint::start();
    replicas
        .update_app("search", |a| {
            a.detection = Some(lifeboat_core::registry::Detection {
                probe: lifeboat_core::registry::DetectionProbe {
                    url: endpoint.url("/"),
                    expect_status: 200,
                    failures: 3,
                    alarm_name: None,
                },
            })
        })
        .await;
    {
        let s = AwsServicesFactory::new(
            replicas.run_config.clone(),
            replicas.settings.clone(),
            probe_counter.clone(),
        )
        .services();
        lifeboat_tasks::probe::probe_primaries(&*s.registry, &*s.http, &*s.metrics, SECONDARY, chrono::Utc::now())
            .await
            .unwrap();
    }

    // 8. Readiness, with its own counter, on an estate with routing controls and databases.
    let readiness_counter = CallCounter::new();
    let mut rc = TestEnv::new().await;
    rc.give_routing_controls(&["search"], None).await;
    verified_by_a_calculated_health_check(&rc, "storefront").await;
    pilot_light_and_hook(&rc, "orders").await;
    {
        let s =
            AwsServicesFactory::new(rc.run_config.clone(), rc.settings.clone(), readiness_counter.clone()).services();
        let ev = lifeboat_tasks::readiness::evaluate(&s, chrono::Utc::now())
            .await
            .unwrap();
        lifeboat_tasks::readiness::record(&s, &ev, SECONDARY).await.unwrap();
    }

    // 9. A member account's estate: a disaster failover of its apps with
    // databases (the RPO gate, an Aurora failover, a backup restore, a
    // calculated health check, routing controls), a drill raising and
    // putting back capacity with a hook, readiness, and a run whose record
    // asks the member's Route 53 where apps are: every call for them made
    // as the member role, which each function assumes.
    let member_roles: Vec<String> = {
        let member = TestEnv::in_member_account().await;
        let mut member = member;
        // payments' traffic through the member's own routing controls (first:
        // it writes the whole registry again).
        member.give_routing_controls(&["payments"], None).await;
        pilot_light_and_hook(&member, "storefront").await;
        verified_by_a_calculated_health_check(&member, "search").await;
        let failover = run(
            &member,
            json!({"action": "failover", "mode": "disaster", "apps": ["payments", "orders", "search"]}),
        )
        .await;
        assert_eq!(
            failover.status,
            lifeboat_states::ExecutionStatus::Succeeded,
            "{:?} {:?}",
            failover.error,
            lifeboat::run_record(&failover)
        );
        run(
            &member,
            json!({"action": "drill", "apps": ["storefront"], "soak_seconds": 30}),
        )
        .await;
        {
            let s = AwsServicesFactory::new(
                member.run_config.clone(),
                member.settings.clone(),
                readiness_counter.clone(),
            )
            .services();
            lifeboat_tasks::readiness::evaluate(&s, chrono::Utc::now())
                .await
                .unwrap();
        }
        let proxy = harness::route53_throttling(10_000);
        let member_throttled = TestEnv::in_member_account_with_endpoint(&proxy.endpoint()).await;
        run(&member_throttled, json!({"action": "failover"})).await;
        [&member, &member_throttled]
            .iter()
            .filter_map(|e| e.member.as_ref().map(|m| m.role_arn.clone()))
            .collect::<Vec<String>>()
    };

    let t = template();
    let mut problems = Vec::new();
    // The member role's policy allows exactly the calls made as it (STS
    // GetCallerIdentity needs no permission).
    let member_needed: BTreeSet<String> = member_roles
        .iter()
        .flat_map(|r| lifeboat_aws::accounts::member_calls(r).snapshot().0.into_keys())
        .filter(|c| c.as_str() != "sts:GetCallerIdentity")
        .map(|c| iam_action(&c))
        .collect();
    let member_template: Yaml =
        serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("infra/member-role.yaml")).unwrap()).unwrap();
    let member_policy = &member_template["Resources"]["MemberRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let member_allowed = actions_in(member_policy["Statement"].as_sequence().unwrap().iter());
    for n in member_needed.difference(&member_allowed) {
        problems.push(format!(
            "a member app's call {n} is made as the member role, which does not allow it"
        ));
    }
    for a in member_allowed.difference(&member_needed) {
        problems.push(format!(
            "the member role is allowed {a} but no call was made as it in these scenarios"
        ));
    }
    // Implied permissions go only with the call that implies them.
    for (name, f) in functions(&t) {
        let implied = statements(&f).any(is_implied);
        let restores = allowed_actions(&f).contains("rds:RestoreDBInstanceToPointInTime");
        if implied != restores {
            problems.push(format!(
                "{name}: implied statements (KMS grant, tags) must go with rds:RestoreDBInstanceToPointInTime and nothing else"
            ));
        }
    }
    let observed: Vec<(&str, ApiCalls)> = TaskKind::ALL
        .iter()
        .map(|k| (k.binary(), counters[k.binary()].snapshot()))
        .chain([
            ("probe", probe_counter.snapshot()),
            ("readiness", readiness_counter.snapshot()),
        ])
        .collect();
    // DynamoDB is authorised per table: each (operation, table) a task called
    // must be allowed by a statement naming that table.
    let tables: Vec<(&str, BTreeSet<(String, String)>)> = TaskKind::ALL
        .iter()
        .map(|k| (k.binary(), counters[k.binary()].dynamodb_tables()))
        .chain([
            ("probe", probe_counter.dynamodb_tables()),
            ("readiness", readiness_counter.dynamodb_tables()),
        ])
        .collect();
    for (binary, calls) in tables {
        let (name, f) = function_by_task(&t, binary);
        // And no statement allows an operation on a table its task never called there.
        for kind in TABLE_KINDS {
            let called: BTreeSet<String> = calls
                .iter()
                .filter(|(_, table)| table_kind(table) == kind)
                .map(|(op, _)| iam_action(&format!("dynamodb:{op}")))
                .collect();
            for st in statements(&f) {
                let resource = serde_yaml_ng::to_string(&st["Resource"]).unwrap();
                let resource = resource.trim().trim_end_matches(['"', '\'']);
                if !resource.ends_with(&format!("${{AWS::StackName}}-{kind}")) {
                    continue;
                }
                let actions = serde_yaml_ng::to_string(&st["Action"]).unwrap();
                for action in actions.lines().map(|l| l.trim_start_matches("- ").trim()) {
                    if action.starts_with("dynamodb:") && !called.contains(action) {
                        problems.push(format!(
                            "{name} is allowed {action} on the {kind} table but its task never called it there"
                        ));
                    }
                }
            }
        }
        for (op, table) in calls {
            let kind = table_kind(&table);
            let action = iam_action(&format!("dynamodb:{op}"));
            let allowed = statements(&f).any(|st| {
                let resource = serde_yaml_ng::to_string(&st["Resource"]).unwrap();
                let actions = serde_yaml_ng::to_string(&st["Action"]).unwrap();
                resource.contains(&format!("${{AWS::StackName}}-{kind}"))
                    && actions.lines().any(|l| l.trim_start_matches("- ").trim() == action)
            });
            let problem = format!("{name} calls {action} on the {kind} table but no statement allows it there");
            if !allowed && !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    for (binary, calls) in observed {
        // STS GetCallerIdentity needs no permission (its API reference): no statement for it.
        let needed: BTreeSet<String> = calls
            .0
            .keys()
            .filter(|c| c.as_str() != "sts:GetCallerIdentity")
            .map(|c| iam_action(c))
            .collect();
        let (name, f) = function_by_task(&t, binary);
        let allowed = allowed_actions(&f);
        for n in needed.difference(&allowed) {
            problems.push(format!("{name} calls {n} but its policy does not allow it"));
        }
        for a in allowed.difference(&needed) {
            problems.push(format!(
                "{name} is allowed {a} but its task never called it in these scenarios"
            ));
        }
    }
    // The state machine role: invoke the functions, and whatever its integrations call.
    let sm_policies = serde_yaml_ng::to_string(&t["Resources"]["StateMachine"]["Properties"]["Policies"]).unwrap();
    for call in machine_counter.snapshot().0.keys() {
        let allowed = match call.as_str() {
            "eventbridge:PutEvents" => sm_policies.contains("EventBridgePutEventsPolicy"),
            other => sm_policies.contains(other),
        };
        if !allowed {
            problems.push(format!(
                "the state machine calls {call} but its policies do not allow it"
            ));
        }
    }
    assert!(
        machine_counter.snapshot().get("eventbridge:PutEvents") > 0,
        "the scenarios publish outcome events"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The stack's DynamoDB tables, by the suffix of their names.
const TABLE_KINDS: [&str; 3] = ["registry", "journal", "lease"];

fn table_kind(table: &str) -> &'static str {
    TABLE_KINDS
        .into_iter()
        .find(|k| table.ends_with(&format!("-{k}")))
        .unwrap_or("journal")
}

/// ShiftDns may only UPSERT, and only the record types the registry accepts.
#[test]
fn shift_dns_may_only_upsert_the_registrys_record_types() {
    let t = template();
    let (_, f) = function_for(&t, TaskKind::ShiftDns);
    let change = statements(&f)
        .find(|st| st["Action"][0].as_str() == Some("route53:ChangeResourceRecordSets"))
        .expect("a statement for ChangeResourceRecordSets");
    let condition = &change["Condition"]["ForAllValues:StringEquals"];
    let list = |k: &str| -> Vec<String> {
        condition[k]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list("route53:ChangeResourceRecordSetsActions"), ["UPSERT"]);
    let types: Vec<String> = lifeboat_core::registry::RecordType::ALL
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    assert_eq!(list("route53:ChangeResourceRecordSetsRecordTypes"), types);
}

/// Every Task has a timeout; a Lambda task's is longer than the function's
/// own, so a slow function ends with its own error and not a lost invocation.
#[test]
fn every_task_times_out_after_its_function_would() {
    let t = template();
    let function_timeout = t["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let asl: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("statemachine/lifeboat.asl.json")).unwrap()).unwrap();
    fn tasks<'a>(states: &'a serde_json::Value, out: &mut Vec<(&'a str, &'a serde_json::Value)>) {
        for (name, s) in states.as_object().unwrap() {
            match s["Type"].as_str().unwrap() {
                "Task" => out.push((name, s)),
                "Map" => tasks(&s["ItemProcessor"]["States"], out),
                _ => {}
            }
        }
    }
    let mut all = Vec::new();
    tasks(&asl["States"], &mut all);
    assert!(all.len() > 10);
    for (name, s) in all {
        // A callback waits for a person, up to the registry's approval timeout (the plan counts it).
        if s["Resource"].as_str().unwrap().ends_with(".waitForTaskToken") {
            assert!(s["TimeoutSecondsPath"].is_string(), "{name} waits without a limit");
            continue;
        }
        let timeout = s["TimeoutSeconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} has no TimeoutSeconds"));
        if s["Resource"].as_str().unwrap().contains(":lambda:") {
            assert!(
                timeout > function_timeout,
                "{name}: {timeout} s <= the function's {function_timeout} s"
            );
        }
    }
    // Validate fits plans into the execution's timeout, which is also the lease's life.
    assert_eq!(
        asl["TimeoutSeconds"].as_u64().unwrap(),
        u64::from(lifeboat_tasks::Settings::default().lease_ttl_seconds),
        "the lease lasts as long as an execution may"
    );
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert!(
        env["LIFEBOAT_LEASE_TTL_SECONDS"].is_null(),
        "the functions use the default lease TTL, the definition's TimeoutSeconds"
    );
}

/// `app` verified by a calculated Route 53 health check alone (its child the
/// app's own health check): read through GetHealthCheck and its children.
/// `app` gets a pilot light (an Auto Scaling group and an ECS service) and a flush-cache hook before its traffic.
async fn pilot_light_and_hook(env: &TestEnv, app: &str) {
    env.give_capacity(app).await;
    env.give_hook(
        app,
        "flush-cache",
        lifeboat_core::registry::HookWhen::BeforeTraffic,
        "ok",
        0,
    )
    .await;
}

async fn verified_by_a_calculated_health_check(env: &TestEnv, app: &str) {
    let child = env
        .estate
        .registry
        .app(app)
        .unwrap()
        .verification
        .health_checks
        .secondary
        .clone()
        .unwrap();
    let parent = harness::create_health_check(&env.config, harness::calculated_check(&[&child], 1)).await;
    env.update_app(app, |a| {
        a.verification.alarms.secondary.clear();
        a.verification.health_checks.secondary = Some(parent);
    })
    .await;
}

#[test]
fn alarm_readers_may_describe_alarms_on_every_resource() {
    // DescribeAlarms returns composite alarms only to a caller whose
    // cloudwatch:DescribeAlarms is scoped to "*" (its API reference): a
    // statement scoped to alarm ARNs would hide a composite verification or
    // trigger alarm, which then reads as missing.
    let t = template();
    let mut readers = 0;
    for (name, f) in functions(&t) {
        for st in statements(&f) {
            let actions = serde_yaml_ng::to_string(&st["Action"]).unwrap();
            if actions
                .lines()
                .any(|l| l.trim_start_matches("- ").trim() == "cloudwatch:DescribeAlarms")
            {
                readers += 1;
                assert_eq!(st["Resource"].as_str(), Some("*"), "{name}: {st:?}");
            }
        }
    }
    assert!(
        readers >= 4,
        "validate, verify, record and readiness read alarms ({readers} statements)"
    );
}

/// Every EventBridge target and schedule in the template: (where, its properties).
fn event_targets(t: &Yaml) -> Vec<(String, Yaml)> {
    let mut out = Vec::new();
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        // SAM event sources on functions and the state machine.
        if let Some(events) = r["Properties"]["Events"].as_mapping() {
            for (ev, e) in events {
                if matches!(e["Type"].as_str(), Some("EventBridgeRule" | "ScheduleV2" | "Schedule")) {
                    out.push((format!("{name}.{}", ev.as_str().unwrap()), e["Properties"].clone()));
                }
            }
        }
        // Plain rules' targets.
        if r["Type"].as_str() == Some("AWS::Events::Rule") {
            for target in r["Properties"]["Targets"].as_sequence().unwrap() {
                out.push((format!("{name}.{}", target["Id"].as_str().unwrap()), target.clone()));
            }
        }
    }
    out
}

/// Nothing discarded silently: every EventBridge target and schedule keeps
/// what it cannot deliver in a dead-letter queue, the asynchronous record
/// invocation has an on-failure destination, and alarms watch the queue,
/// the rules' failed deliveries and the functions' throttles.
#[test]
fn every_trigger_path_keeps_what_it_cannot_deliver_and_alarms_on_it() {
    let t = template();
    let targets = event_targets(&t);
    assert!(
        targets.len() >= 8,
        "{:?}",
        targets.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for (name, props) in &targets {
        let dlq = serde_yaml_ng::to_string(&props["DeadLetterConfig"]).unwrap();
        // The probe's and readiness's schedules keep theirs in queues SAM makes; every trigger path in one queue.
        let own_queue =
            (name.starts_with("ProbeFunction.") || name.starts_with("ReadinessFunction.")) && dlq.contains("Type: SQS");
        assert!(
            own_queue || dlq.contains("TriggerDeadLetterQueue.Arn"),
            "{name} has no dead-letter queue: {dlq}"
        );
    }
    let record = &t["Resources"]["RecordOutcomeFunction"]["Properties"]["EventInvokeConfig"];
    let on_failure = serde_yaml_ng::to_string(&record["DestinationConfig"]["OnFailure"]).unwrap();
    assert!(on_failure.contains("TriggerDeadLetterQueue.Arn"), "{on_failure}");

    let resources = serde_yaml_ng::to_string(&t["Resources"]).unwrap();
    let alarm = |name: &str| serde_yaml_ng::to_string(&t["Resources"][name]).unwrap();
    assert!(alarm("DeadLettersAlarm").contains("ApproximateNumberOfMessagesVisible"));
    // Every named rule's failed deliveries are watched.
    let failed = alarm("TriggerDeliveryFailedAlarm");
    for rule in ["alarm-in-alarm", "probe-alarm-in-alarm", "run-ended", "follow-up"] {
        assert!(
            resources.contains(&format!("${{AWS::StackName}}-{rule}")),
            "{rule} is not named"
        );
        assert!(
            failed.contains(&format!("${{AWS::StackName}}-{rule}")),
            "FailedInvocations of {rule}"
        );
    }
    // Every function the state machine invokes is watched for throttles.
    let throttles = alarm("FunctionThrottlesAlarm");
    for &kind in TaskKind::ALL {
        let (name, _) = function_for(&t, kind);
        assert!(throttles.contains(&name), "{name}'s throttles are not alarmed on");
    }
}

/// The run-ended rule hands the record function its mode and the whole
/// status-change event: the template's input transformer, filled in as
/// EventBridge fills `<aws.events.event.json>`, is what the task reads.
#[test]
fn the_run_ended_rule_passes_what_the_record_task_reads() {
    use lifeboat_tasks::record_outcome::RecordExecutionEnd;
    use lifeboat_tasks::task::{Task, read_input};
    let t = template();
    let rule = &t["Resources"]["RecordOutcomeFunction"]["Properties"]["Events"]["RunEndedWithoutRecord"]["Properties"];
    let template = rule["InputTransformer"]["InputTemplate"]
        .as_str()
        .expect("the run-ended rule has an input transformer");
    let event = json!({
        "version": "0", "id": "e1", "source": "aws.states",
        "detail-type": lifeboat_tasks::record_outcome::EXECUTION_STATUS_CHANGE,
        "account": "111122223333", "time": "2026-12-05T00:00:00Z", "region": "us-west-2", "resources": [],
        "detail": {"name": "run-1", "status": "TIMED_OUT", "startDate": 1, "stopDate": 2, "executionArn": "arn"},
    });
    let input: serde_json::Value =
        serde_json::from_str(&template.replace("<aws.events.event.json>", &event.to_string())).unwrap();
    assert_eq!(input["record"], json!(RecordExecutionEnd::RECORD_MODE.unwrap()));
    let read = read_input::<RecordExecutionEnd>(input).unwrap();
    assert_eq!(
        (read.event.detail.name.as_str(), read.event.detail.status.as_str()),
        ("run-1", "TIMED_OUT")
    );
}

/// No forged follow-up: outcome events go to a bus of their own, which only
/// the state machine's role may put to, and the follow-up rule listens there.
/// The drill and the retry schedule run in one Region only.
#[test]
fn outcome_events_go_to_a_bus_only_the_state_machine_may_put_to() {
    let t = template();
    let asl = std::fs::read_to_string(root().join("statemachine/lifeboat.asl.json")).unwrap();
    let asl: serde_json::Value = serde_json::from_str(&asl).unwrap();
    let buses: Vec<&str> = asl["States"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["Resource"] == "arn:aws:states:::events:putEvents")
        .flat_map(|s| s["Parameters"]["Entries"].as_array().unwrap())
        .map(|e| e["EventBusName"].as_str().unwrap())
        .collect();
    assert!(!buses.is_empty());
    assert!(buses.iter().all(|b| *b == "${OutcomeBusName}"), "{buses:?}");
    let subs = &t["Resources"]["StateMachine"]["Properties"]["DefinitionSubstitutions"];
    assert_eq!(
        serde_yaml_ng::to_string(&subs["OutcomeBusName"]).unwrap().trim(),
        "!Ref OutcomeBus"
    );
    let policy = &t["Resources"]["OutcomeBusPolicy"]["Properties"]["Statement"];
    assert_eq!(policy["Effect"].as_str(), Some("Deny"));
    assert_eq!(policy["Principal"].as_str(), Some("*"));
    assert_eq!(policy["Action"].as_str(), Some("events:PutEvents"));
    let condition = serde_yaml_ng::to_string(&policy["Condition"]).unwrap();
    assert!(
        condition.contains("ArnNotEquals") && condition.contains("StateMachineRole.Arn"),
        "{condition}"
    );
    let sm = serde_yaml_ng::to_string(&t["Resources"]["StateMachine"]["Properties"]["Policies"]).unwrap();
    assert!(sm.contains("EventBusName: !Ref OutcomeBus"), "{sm}");
    assert!(!sm.contains("EventBusName: default"), "{sm}");
    let follow = serde_yaml_ng::to_string(&t["Resources"]["FollowUpRule"]["Properties"]["EventBusName"]).unwrap();
    assert_eq!(follow.trim(), "!Ref OutcomeBus");
    // Schedules that start runs: in the recovery Region only.
    let events = &t["Resources"]["StateMachine"]["Properties"]["Events"];
    for schedule in ["PracticeDrill", "TakeUpKept"] {
        let state = serde_yaml_ng::to_string(&events[schedule]["Properties"]["State"]).unwrap();
        assert!(
            state.contains("RunsDrill") || state.contains("IsSecondaryRegion"),
            "{schedule} runs in both Regions: {state}"
        );
    }
}

/// A restore needs the backup key's DescribeKey and a grant, both asked by
/// RDS on the function's behalf. kms:GrantIsForAWSResource is carried only by
/// the grant calls (CreateGrant, ListGrants, RevokeGrant: KMS's "Controlling
/// access to grants"), so DescribeKey under it was always denied: it has its
/// own statement, through RDS in the recovery Region.
#[test]
fn a_restore_may_describe_its_key_through_rds_and_grant_only_for_rds() {
    let t = template();
    let (name, f) = function_for(&t, TaskKind::PromoteDatabases);
    let kms: Vec<&Yaml> = statements(&f)
        .filter(|st| serde_yaml_ng::to_string(&st["Action"]).unwrap().contains("kms:"))
        .collect();
    let with = |action: &str| {
        kms.iter()
            .find(|st| serde_yaml_ng::to_string(&st["Action"]).unwrap().contains(action))
            .unwrap_or_else(|| panic!("{name}: no statement for {action}"))
    };
    let describe = serde_yaml_ng::to_string(with("kms:DescribeKey")).unwrap();
    assert!(!describe.contains("kms:CreateGrant"), "{describe}");
    assert!(!describe.contains("GrantIsForAWSResource"), "{describe}");
    assert!(
        describe.contains("kms:ViaService") && describe.contains("rds.${SecondaryRegion}.amazonaws.com"),
        "{describe}"
    );
    let grant = serde_yaml_ng::to_string(with("kms:CreateGrant")).unwrap();
    assert!(grant.contains("kms:GrantIsForAWSResource"), "{grant}");
    for st in kms {
        let resource = serde_yaml_ng::to_string(&st["Resource"]).unwrap();
        assert_eq!(resource.trim(), "!Ref RestoreKmsKeyArns", "{name}");
    }
}

/// The Lambda bootstrap is lifeboat-tasks; it and the crates it builds on
/// never link the sandbox (emulator launcher, sample estate, fault proxy)
/// nor the CLI: what runs on AWS carries no test support.
#[test]
fn the_lambda_crates_never_link_the_sandbox_the_console_or_the_cli() {
    let manifest = |krate: &str| std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    assert!(
        root().join("crates/tasks/src/bin/lifeboat_task.rs").is_file(),
        "the bootstrap is lifeboat-tasks'"
    );
    for krate in ["tasks", "aws", "core"] {
        let text = manifest(krate);
        // Only what it builds with, not its tests' dev-dependencies.
        let deps = text.split("[dev-dependencies]").next().unwrap_or_default();
        for forbidden in [
            "lifeboat-sandbox",
            "lifeboat-console",
            "lifeboat-workflow",
            "\nlifeboat =",
            "\nlifeboat.workspace",
        ] {
            assert!(
                !deps.contains(forbidden),
                "crates/{krate} depends on {}: the Lambda bootstrap would link it",
                forbidden.trim()
            );
        }
        assert!(
            deps.contains("[dependencies]"),
            "crates/{krate}/Cargo.toml has no [dependencies]"
        );
    }
}
