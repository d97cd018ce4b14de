//! End-to-end through the `lifeboat` binary: exit codes, messages, and that
//! bad input changes nothing.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, run_cli};
use lifeboat::estate::{PRIMARY, alarm_event};

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(harness::unique("lifeboat-cli-test"));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Every bad-input case must leave Route 53 and the journal as they were.
async fn assert_nothing_changed(env: &TestEnv) {
    assert!(
        env.weights()
            .await
            .iter()
            .all(|(_, p, s)| *p == Some(100) && *s == Some(0))
    );
    assert!(env.admin().journal.list_runs(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_inputs_exit_2_with_a_clear_message_and_change_nothing() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "malformed JSON",
            "{\"action\": \"failover\",".to_string(),
            "input is not valid JSON",
        ),
        (
            "unknown app",
            r#"{"action": "failover", "apps": ["ghost"]}"#.to_string(),
            "unknown application \"ghost\"",
        ),
        (
            "unknown action",
            r#"{"action": "explode"}"#.to_string(),
            "malformed manual request",
        ),
        (
            "alarm that maps to no app",
            alarm_event("nobody-listens-to-this-alarm", PRIMARY, chrono::Utc::now()).to_string(),
            "alarm \"nobody-listens-to-this-alarm\" maps to no application",
        ),
    ];
    for (what, input, expected) in cases {
        let (code, stdout, stderr) = run_cli(
            &endpoint,
            &env.settings,
            &["run", "--local", "--clock", "virtual", "--input", "-"],
            Some(&input),
        );
        assert_eq!(code, 2, "{what}: exit code\nstdout: {stdout}\nstderr: {stderr}");
        let all = format!("{stdout}{stderr}");
        assert!(all.contains(expected), "{what}: expected {expected:?} in:\n{all}");
        assert!(
            all.contains("Lifeboat.InvalidRequest") || what == "malformed JSON",
            "{what}: names the error:\n{all}"
        );
    }
    assert_nothing_changed(&env).await;
}

#[tokio::test]
async fn a_missing_recovery_record_is_refused_before_anything_changes() {
    let env = TestEnv::new().await;
    // Delete storefront's secondary record.
    env.edit_record("storefront", "storefront-usw2", None).await;
    let (code, stdout, stderr) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["run", "--local", "--clock", "virtual", "--input", "-"],
        Some(r#"{"action": "failover"}"#),
    );
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("storefront: dns[0] secondary record www.example.org. CNAME (storefront-usw2)")
            && stderr.contains("does not exist in Route 53"),
        "{stderr}"
    );
    // Nothing moved, not even the apps whose records are fine.
    let w = env.weights().await;
    assert!(
        w.iter().all(|(app, p, _)| *p == Some(100) || app == "storefront"),
        "{w:?}"
    );
    assert!(env.admin().journal.list_runs(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn registry_errors_exit_2_with_field_paths_and_leave_the_table_alone() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let bad = write_temp(
        "bad.yaml",
        "version: 1\napplications:\n  - name: Bad_Name\n    regions: { primary: us-east-1, secondary: us-east-1 }\n    dns: []\n",
    );
    for verb in ["validate", "apply"] {
        let (code, stdout, stderr) = run_cli(
            &endpoint,
            &env.settings,
            &["registry", verb, bad.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 2, "{verb}: {stdout}{stderr}");
        assert!(stderr.contains("applications[0].name"), "{verb}: {stderr}");
        assert!(stderr.contains("applications[0].dns"), "{verb}: {stderr}");
    }
    let stored = env.admin().registry.load().await.unwrap();
    assert_eq!(stored.len(), 4, "the table still holds the seeded registry");
    let (code, _, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["registry", "validate", "/nonexistent/registry.yaml"],
        None,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read /nonexistent/registry.yaml"), "{stderr}");
}

#[tokio::test]
async fn registry_apply_is_idempotent_and_list_shows_the_apps() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let file = write_temp("registry.yaml", &env.estate.registry_yaml);
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["registry", "apply", file.to_str().unwrap(), "--output", "json"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["unchanged"].as_array().unwrap().len(), 4, "{stdout}");
    assert!(summary["added"].as_array().unwrap().is_empty());
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["registry", "list"], None);
    assert_eq!(code, 0);
    for app in ["payments", "search", "storefront", "orders"] {
        assert!(stdout.contains(app), "{stdout}");
    }
}

#[tokio::test]
async fn run_plan_history_and_report_work_through_the_binary() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["plan", "--action", "failover", "--apps", "orders"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("orders -> us-west-2"), "{stdout}");
    assert!(stdout.contains("weight 100 -> 0"), "{stdout}");
    assert!(
        stdout.contains("restore t-") && stdout.contains("replicated backup as"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["plan", "--action", "failover", "--apps", "payments", "--disaster"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("data loss allowed if replication lag <= 30 s"),
        "{stdout}"
    );

    let input = alarm_event(&env.estate.trigger_alarm, PRIMARY, chrono::Utc::now()).to_string();
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &[
            "run", "--local", "--clock", "virtual", "--input", "-", "--output", "json",
        ],
        Some(&input),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        // payments' two weights and its writer CNAME, once its database is writable.
        stderr.contains("CheckDatabases: 1 writable: [payments] writable")
            && stderr.contains("ShiftDns: 1 app(s) moved: 3 record(s) changed in 1 change batch(es)"),
        "progress on stderr:\n{stderr}"
    );
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["status"], "SUCCEEDED");
    assert_eq!(result["record"]["status"], "succeeded");
    let run_id = result["execution"].as_str().unwrap().to_string();

    // The same event again: the same execution name, refused as a duplicate.
    let (code, stdout, _) = run_cli(
        &endpoint,
        &env.settings,
        &["run", "--local", "--clock", "virtual", "--input", "-"],
        Some(&input),
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("already ran"), "{stdout}");

    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["history"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains(&run_id), "{stdout}");
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["report", &run_id], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("storefront -> us-west-2: Moved"), "{stdout}");
    let (code, _, stderr) = run_cli(&endpoint, &env.settings, &["report", "no-such-run"], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("no run \"no-such-run\""), "{stderr}");
}

#[tokio::test]
async fn a_definition_error_names_the_state_and_exits_2() {
    let env = TestEnv::new().await;
    let def = write_temp(
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#,
    );
    let (code, _, stderr) = run_cli(
        &moto().endpoint(),
        &env.settings,
        &["run", "--local", "--definition", def.to_str().unwrap(), "--input", "-"],
        Some(r#"{"action": "failover"}"#),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("state \"A\": Next \"Nowhere\" is not a state"),
        "{stderr}"
    );
}

#[tokio::test]
async fn any_asl_file_runs_on_the_executor() {
    let env = TestEnv::new().await;
    let def = write_temp(
        "hello.asl.json",
        r#"{"StartAt": "Greet", "States": {"Greet": {"Type": "Pass", "Parameters": {"msg.$": "States.Format('hello {}', $.who)"}, "Next": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#,
    );
    let run = |endpoint: &str| {
        let (code, stdout, stderr) = run_cli(
            endpoint,
            &env.settings,
            &[
                "run",
                "--local",
                "--clock",
                "virtual",
                "--definition",
                def.to_str().unwrap(),
                "--input",
                "-",
                "--output",
                "json",
            ],
            Some(r#"{"who": "sre"}"#),
        );
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["output"]["msg"], "hello sre");
        (v, stderr)
    };
    run(&moto().endpoint());
    // A plain ASL file touches no table: it runs with no AWS endpoint at all,
    // making no call and waiting on no retry.
    let (v, stderr) = run("http://127.0.0.1:1");
    assert_eq!(v["api_calls"], serde_json::json!({}), "no AWS call: {stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
}

/// moto 5.2.5 outside its execute mode keeps every execution RUNNING and
/// answers GetExecutionHistory with a fixed sample history; AWS runs them.
/// What is checked here is ours: the name, one execution per trigger, following.
#[tokio::test]
async fn run_against_a_deployed_state_machine_starts_one_execution_per_trigger() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let sfn = aws_sdk_sfn::Client::new(&env.config);
    let mut definition = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json"),
    )
    .unwrap();
    for kind in lifeboat_tasks::TaskKind::ALL {
        definition = definition.replace(
            &format!("${{{}}}", kind.placeholder()),
            &format!(
                "arn:aws:lambda:us-west-2:123456789012:function:{}",
                kind.function_name()
            ),
        );
    }
    let sm = sfn
        .create_state_machine()
        .name(harness::unique("lifeboat"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/lifeboat-states")
        .send()
        .await
        .unwrap();
    let arn = sm.state_machine_arn().to_string();
    let event = alarm_event(&env.estate.trigger_alarm, PRIMARY, chrono::Utc::now());
    let args = [
        "run",
        "--state-machine-arn",
        &arn,
        "--input",
        "-",
        "--wait-seconds",
        "1",
        "--output",
        "json",
    ];
    let (code, stdout, stderr) = run_cli(&endpoint, &env.settings, &args, Some(&event.to_string()));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let name = out["execution"].as_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("alarm-{}", env.estate.trigger_alarm)),
        "{name}"
    );
    assert_eq!(out["status"], "RUNNING");
    assert!(
        stderr.contains("execution started"),
        "progress from the history:\n{stderr}"
    );

    // The same event again: same name, same input, so the same execution (as on AWS).
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &args, Some(&event.to_string()));
    assert_eq!(code, 0);
    assert!(stdout.contains(&name));
    // The same incident with another payload (a redelivery with another id): refused.
    let mut other = event.clone();
    other["id"] = serde_json::json!("another-delivery");
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &args, Some(&other.to_string()));
    assert_eq!(code, 0);
    assert!(stdout.contains("\"duplicate\": true"), "{stdout}");
    let executions = sfn.list_executions().state_machine_arn(&arn).send().await.unwrap();
    assert_eq!(executions.executions().len(), 1, "one execution for one incident");

    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["status", "--state-machine-arn", &arn], None);
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("running: {name}")), "{stdout}");
    assert!(stdout.contains("lease: free"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "database of payments: aurora-global global cluster {}-payments-global (available): writer {}",
            env.namespace,
            env.db_id("payments", PRIMARY)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("database of orders: rds-backup backups of"), "{stdout}");
    let (code, stdout, _) = run_cli(
        &endpoint,
        &env.settings,
        &["history", "--state-machine-arn", &arn],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Step Functions executions:") && stdout.contains(&name),
        "{stdout}"
    );

    let missing = arn.replace(":stateMachine:", ":stateMachine:missing-");
    let (code, _, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["run", "--state-machine-arn", &missing, "--input", "-"],
        Some(&event.to_string()),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not found"), "{stderr}");
}

/// `lifeboat emulator` serves the emulator with lifeboat's extensions in the
/// foreground, for a user's own tools: here the SDK creates an ARC cluster on
/// it and reads a routing control through the cluster's regional endpoint.
#[tokio::test]
async fn lifeboat_emulator_serves_moto_with_the_arc_extension_in_the_foreground() {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(harness::lifeboat_bin())
        .args(["emulator", "--port", &port.to_string()])
        .env("LIFEBOAT_MOTO_SERVER", harness::moto_server_path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    assert!(first.contains(&endpoint), "{first}");
    let config = harness::sdk_config(&endpoint).await;
    let mut registry = lifeboat_core::registry::parse_registry(
        r#"
version: 1
applications: []
"#,
    )
    .unwrap();
    let seeded = lifeboat::estate::arc::seed_routing_controls(&config, &mut registry, &[], "cli").await;
    let _ = child.kill();
    let _ = child.wait();
    let seeded = seeded.unwrap();
    assert_eq!(seeded.endpoints.len(), 5, "{:?}", seeded.endpoints);
    assert!(
        seeded.endpoints.iter().all(|e| e.url.starts_with(&endpoint)),
        "{:?}",
        seeded.endpoints
    );
}

/// `registry apply` makes each probed app's alarm in its recovery Region, and
/// `lifeboat probe` runs one round from AWS_REGION: exit 1 when a primary fails.
#[tokio::test]
async fn registry_apply_makes_the_probe_alarms_and_probe_reports_each_primary() {
    use harness::endpoint::TestEndpoint;
    let mut env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let (primary, dead) = (TestEndpoint::start(), TestEndpoint::start());
    dead.go_dark();
    let alarm = format!("{}-probe-search", env.namespace);
    for (app, url, name) in [
        ("search", primary.url("/health"), Some(alarm.clone())),
        (
            "storefront",
            dead.url("/"),
            Some(format!("{}-probe-storefront", env.namespace)),
        ),
    ] {
        let a = env
            .estate
            .registry
            .applications
            .iter_mut()
            .find(|a| a.name == app)
            .unwrap();
        a.detection = Some(lifeboat_core::registry::Detection {
            probe: lifeboat_core::registry::DetectionProbe {
                url,
                expect_status: 200,
                failures: 2,
                alarm_name: name,
            },
        });
    }
    let file = write_temp("registry.json", &serde_json::to_string(&env.estate.registry).unwrap());
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["registry", "apply", file.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("probe alarms: {alarm}")), "{stdout}");
    let described = aws_sdk_cloudwatch::Client::new(&env.config)
        .describe_alarms()
        .alarm_names(&alarm)
        .send()
        .await
        .unwrap();
    let a = &described.metric_alarms()[0];
    assert_eq!(a.evaluation_periods(), Some(2));
    assert_eq!(a.treat_missing_data(), Some("breaching"));
    assert_eq!(a.namespace(), Some("Lifeboat/Probe"));

    let (code, stdout, stderr) = run_cli(&endpoint, &env.settings, &["probe"], None);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("probed 2 primary endpoint(s) from us-west-2"),
        "{stdout}"
    );
    assert!(stdout.contains("search") && stdout.contains(" ok "), "{stdout}");
    assert!(stdout.contains("storefront") && stdout.contains("FAIL"), "{stdout}");
}

/// Valid JSON that is not an object is not a trigger: exit 2, one clear line,
/// and nothing ran (no execution name claimed in the journal).
#[tokio::test]
async fn input_that_is_not_a_json_object_exits_2_and_runs_nothing() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    for input in ["[]", "null", "42", "\"failover\""] {
        let (code, stdout, stderr) = run_cli(
            &endpoint,
            &env.settings,
            &["run", "--local", "--clock", "virtual", "--input", "-"],
            Some(input),
        );
        assert_eq!(code, 2, "{input}: {stdout}{stderr}");
        assert!(stderr.contains("not a JSON object"), "{input}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{input}: {stderr}");
    }
    assert!(env.admin().journal.list_runs(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn lease_show_and_release_break_a_held_lease_and_record_who_and_why() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["lease", "show"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("free"), "{stdout}");
    // A run that died holding the lease.
    let lease = env.admin().lease.clone();
    lease
        .acquire("dead-run", chrono::Utc::now(), chrono::Duration::hours(2), false)
        .await
        .unwrap();
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["lease", "show"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("dead-run"), "{stdout}");
    // No reason: refused, the lease stays.
    let (code, _, stderr) = run_cli(&endpoint, &env.settings, &["lease", "release", "--reason", " "], None);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--reason"), "{stderr}");
    assert_eq!(lease.state().await.unwrap().holder.as_deref(), Some("dead-run"));
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &[
            "--output",
            "json",
            "lease",
            "release",
            "--reason",
            "its Lambda was killed",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["released"], true);
    assert_eq!(out["lease"]["holder"], "dead-run");
    // moto's GetCallerIdentity answers for its default account.
    assert!(out["by"].as_str().unwrap().starts_with("arn:aws:"), "{out}");
    let st = lease.state().await.unwrap();
    assert_eq!(st.holder, None);
    assert_eq!(st.epoch, 2, "the epoch moved on: the dead run's fenced steps refuse");
    assert!(!lease.holds("dead-run", 1).await.unwrap());
    // The journal says who broke it and why, under the run it belonged to.
    let docs = env
        .admin()
        .journal
        .get_docs("dead-run", "lease-released#")
        .await
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(docs.values().next().unwrap()).unwrap();
    assert_eq!(entry["reason"], "its Lambda was killed");
    assert_eq!(entry["released_by"], out["by"]);
    // Releasing a free lease changes nothing.
    let (code, stdout, _) = run_cli(
        &endpoint,
        &env.settings,
        &["lease", "release", "--reason", "again"],
        None,
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("free"), "{stdout}");
}

/// The cooldown after a failback is shown, and an operator may end it on
/// the record: the alarm's failover then runs at once.
#[tokio::test]
async fn lease_release_cooldown_ends_a_failbacks_cooldown_on_the_record() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let lease = env.admin().lease.clone();
    let now = chrono::Utc::now();
    lease
        .acquire("failback-run", now, chrono::Duration::hours(2), false)
        .await
        .unwrap();
    lease
        .release("failback-run", now, chrono::Duration::seconds(60))
        .await
        .unwrap();
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["lease", "show"], None);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("cooldown after failback failback-run until"),
        "{stdout}"
    );
    // No reason: refused, the cooldown stays.
    let (code, _, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &["lease", "release", "--cooldown", "--reason", ""],
        None,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(lease.state().await.unwrap().cooldown_until.is_some());
    let (code, stdout, stderr) = run_cli(
        &endpoint,
        &env.settings,
        &[
            "--output",
            "json",
            "lease",
            "release",
            "--cooldown",
            "--reason",
            "the failback was a mistake: the primary is down again",
        ],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["cleared"], true, "{out}");
    let st = lease.state().await.unwrap();
    assert_eq!(st.cooldown_until, None, "{st:?}");
    assert_eq!(st.last_run.as_deref(), Some("failback-run"));
    let docs = env
        .admin()
        .journal
        .get_docs("failback-run", "cooldown-ended#")
        .await
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(docs.values().next().unwrap()).unwrap();
    assert_eq!(entry["reason"], "the failback was a mistake: the primary is down again");
    assert_eq!(entry["cleared_by"], out["by"]);
    // An alarm's run takes the lease at once.
    let taken = lease
        .acquire("alarm-run", chrono::Utc::now(), chrono::Duration::hours(2), true)
        .await
        .unwrap();
    assert!(
        matches!(taken, lifeboat_aws::ports::LeaseOutcome::Acquired { .. }),
        "{taken:?}"
    );
    // Nothing left to end.
    let (code, stdout, _) = run_cli(
        &endpoint,
        &env.settings,
        &["lease", "release", "--cooldown", "--reason", "again"],
        None,
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("no cooldown is running"), "{stdout}");
}
