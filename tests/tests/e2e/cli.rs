//! End-to-end through the `lifeboat` binary: exit codes, messages, and that
//! bad input changes nothing.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, run_cli};
use lifeboat_sandbox::estate::{PRIMARY, alarm_event};

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(harness::unique("lifeboat-cli-test"));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Every bad-input case must leave Route 53 and the journal as they were.
async fn assert_nothing_changed(env: &TestEnv) {
    assert!(env.all_weights_are(100, 0).await);
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

/// A Region typo (`us-wset-2`) is caught offline, exit 2 with the Region
/// meant: in the registry (validate and apply, which changes nothing), and
/// in the environment (AWS_REGION, LIFEBOAT_LEASE_REGION) before any call.
#[tokio::test]
async fn an_unknown_region_is_exit_2_everywhere_before_any_call() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let typo = env
        .estate
        .registry_yaml
        .replacen("secondary: us-west-2", "secondary: us-wset-2", 1);
    assert_ne!(typo, env.estate.registry_yaml);
    let file = write_temp("typo.yaml", &typo);
    for verb in ["validate", "apply"] {
        let (code, stdout, stderr) = run_cli(
            &endpoint,
            &env.settings,
            &["registry", verb, file.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 2, "{verb}: {stdout}{stderr}");
        assert!(
            stderr.contains("unknown Region \"us-wset-2\" (did you mean us-west-2?)"),
            "{verb}: {stderr}"
        );
    }
    for (var, value) in [("AWS_REGION", "us-wset-2"), ("LIFEBOAT_LEASE_REGION", "us-wset-2")] {
        let (code, stdout, stderr) = harness::run_cli_with_env(
            &endpoint,
            &env.settings,
            &["plan", "--action", "failover"],
            None,
            &[(var, value)],
        );
        assert_eq!(code, 2, "{var}: {stdout}{stderr}");
        assert!(stderr.contains("did you mean us-west-2?"), "{var}: {stderr}");
    }
    assert_nothing_changed(&env).await;
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
    assert!(
        stdout.contains("writer CNAME payments-db."),
        "the plan shows the repoint: {stdout}"
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
    assert!(stdout.contains("(up to this record;"), "{stdout}");
    // The run's count and the report's: the report holds every call up to
    // its writing; the run's own count adds only the record's writes and
    // the outcome event, which come after.
    let (code, stdout, _) = run_cli(&endpoint, &env.settings, &["report", &run_id, "--output", "json"], None);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let sum = |v: &serde_json::Value| -> u64 { v.as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum() };
    let in_report = sum(&result["record"]["api_calls"]);
    assert_eq!(report["api_calls_total"].as_u64(), Some(in_report), "{stdout}");
    let ran = result["api_calls"].as_object().unwrap();
    let reported = result["record"]["api_calls"].as_object().unwrap();
    for (op, n) in ran {
        let before = reported.get(op).and_then(|v| v.as_u64()).unwrap_or(0);
        let after = n.as_u64().unwrap() - before;
        assert!(
            after == 0
                || op == "eventbridge:PutEvents"
                || [
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:TransactWriteItems"
                ]
                .contains(&op.as_str()),
            "{op}: {after} call(s) after the report that are not its writes: {result}"
        );
    }
    let (code, _, stderr) = run_cli(&endpoint, &env.settings, &["report", ""], None);
    assert_eq!(code, 2);
    assert!(stderr.contains("give a run id"), "{stderr}");
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
    let seeded = lifeboat_sandbox::estate::arc::seed_routing_controls(&config, &mut registry, &[], "cli").await;
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
    // The probe alarm is a composite: its signal, unless the probe stopped.
    use aws_sdk_cloudwatch::types::AlarmType;
    use lifeboat_core::registry::{PROBE_HEARTBEAT_ALARM, probe_signal_alarm};
    let signal = probe_signal_alarm(&alarm);
    let described = aws_sdk_cloudwatch::Client::new(&env.config)
        .describe_alarms()
        .alarm_names(&alarm)
        .alarm_names(&signal)
        .alarm_names(PROBE_HEARTBEAT_ALARM)
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .unwrap();
    let composite = &described.composite_alarms()[0];
    assert_eq!(composite.alarm_name(), Some(alarm.as_str()));
    assert_eq!(
        composite.alarm_rule(),
        Some(format!("ALARM(\"{signal}\") AND NOT ALARM(\"{PROBE_HEARTBEAT_ALARM}\")").as_str())
    );
    let metric = |name: &str| {
        described
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
            .unwrap_or_else(|| panic!("{name} not made"))
            .clone()
    };
    let a = metric(&signal);
    assert_eq!(a.evaluation_periods(), Some(2));
    assert_eq!(a.treat_missing_data(), Some("missing"));
    assert_eq!(a.namespace(), Some("Lifeboat/Probe"));
    let heartbeat = metric(PROBE_HEARTBEAT_ALARM);
    assert_eq!(heartbeat.treat_missing_data(), Some("breaching"));
    assert_eq!(heartbeat.metric_name(), Some("ProbeHeartbeat"));

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

/// What EventBridge puts in a rule's dead-letter queue: the event, and why.
async fn dead_letter(sqs: &aws_sdk_sqs::Client, queue: &str, body: &str, code: &str) {
    use aws_sdk_sqs::types::MessageAttributeValue;
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    sqs.send_message()
        .queue_url(queue)
        .message_body(body)
        .message_attributes("ERROR_CODE", attr(code))
        .message_attributes("ERROR_MESSAGE", attr("the target could not be reached"))
        .send()
        .await
        .unwrap();
}

/// `lifeboat triggers list` shows kept, logged and dead-lettered triggers;
/// `redrive` runs a dead-lettered alarm and deletes it, and leaves a message
/// it could not re-drive in the queue.
#[tokio::test]
async fn triggers_lists_kept_logged_and_dead_lettered_and_redrives_one() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let sqs = aws_sdk_sqs::Client::new(&env.config);
    let name = format!("{}-trigger-dead-letters", env.namespace);
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    // An alarm turned away while another run held the lease: kept and logged.
    let lease = env.admin().lease.clone();
    lease
        .acquire("someone-else", chrono::Utc::now(), chrono::Duration::hours(2), false)
        .await
        .unwrap();
    let event = env.region_alarm_fires().await;
    env.run(event.clone()).await;
    lease
        .release("someone-else", chrono::Utc::now(), chrono::Duration::zero())
        .await
        .unwrap();
    // The same alarm's event, which the rule could not deliver, and a run's
    // end the record function failed on (Lambda's on-failure record).
    // (A later state change of it: a delivery of its own, with a name of its own.)
    let undelivered = alarm_event(
        &env.estate.trigger_alarm,
        PRIMARY,
        chrono::Utc::now() + chrono::Duration::seconds(1),
    );
    dead_letter(&sqs, &url, &undelivered.to_string(), "Throttling").await;
    let ended = serde_json::json!({
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
            "detail": {"name": "no-such-run", "status": "TIMED_OUT", "startDate": 0, "stopDate": 0}},
    });
    dead_letter(&sqs, &url, &ended.to_string(), "Lambda").await;

    let list = |output: &str| {
        let args = ["--output", output, "triggers", "list", "--queue", name.as_str()];
        let (code, stdout, stderr) = run_cli(&endpoint, &env.settings, &args, None);
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let text = list("text");
    assert!(text.contains("kept triggers: 1 (1 waiting, 0 taken up)"), "{text}");
    assert!(text.contains(&env.estate.trigger_alarm), "{text}");
    assert!(text.contains("logged triggers (turned away or refused): 1"), "{text}");
    assert!(text.contains("dead-lettered: 2"), "{text}");
    assert!(text.contains("Throttling"), "{text}");
    let listed: serde_json::Value = serde_json::from_str(&list("json")).unwrap();
    let letters = listed["dead_letters"].as_array().unwrap();
    let id_of = |kind: &str| {
        letters.iter().find(|l| l["kind"] == kind).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (alarm_id, end_id) = (id_of("trigger"), id_of("run_ended"));

    // A trigger needs a place to run: refused, still queued.
    let redrive = |id: &str, more: &[&str]| {
        let mut args = vec!["triggers", "redrive", id, "--queue", name.as_str()];
        args.extend_from_slice(more);
        run_cli(&endpoint, &env.settings, &args, None)
    };
    let (code, _, stderr) = redrive(&alarm_id, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--local or --state-machine-arn"), "{stderr}");
    let (code, _, stderr) = redrive("no-such-message", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no message no-such-message"), "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&list("json")).unwrap();
    assert_eq!(listed["dead_letters"].as_array().unwrap().len(), 2, "{listed}");
    // A run's end is recorded from the journal (this one never planned: nothing to record), then deleted.
    let (code, stdout, stderr) = redrive(&end_id, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("recorded the end of run no-such-run"), "{stdout}");

    // Re-driven locally: the failover runs, and the message is deleted.
    let (code, stdout, stderr) = redrive(&alarm_id, &["--local", "--clock", "virtual"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        env.all_weights_are(0, 100).await,
        "the re-driven alarm failed every app over"
    );
    let listed: serde_json::Value = serde_json::from_str(&list("json")).unwrap();
    let left: Vec<&str> = listed["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(left.is_empty(), "{listed}");
    // The run's end took up the kept alarm.
    assert!(
        listed["kept"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["taken_up_by"].is_string()),
        "{listed}"
    );
}

/// Output conventions: a reader that goes away is not a panic; with
/// `--output json`, errors are JSON on standard output too (usage errors
/// and command errors alike); logs to a pipe carry no colour codes.
#[tokio::test]
async fn a_closed_pipe_json_errors_and_plain_logs() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();

    // `lifeboat registry schema | true`: the reader is gone before the
    // schema is written (before this, println! panicked with exit 101).
    let mut child = harness::cli_command(&endpoint, &env.settings, &["registry", "schema"])
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A command's error, and a usage error, as JSON.
    for args in [
        &["--output", "json", "registry", "validate", "/no/such/registry.yaml"][..],
        &["--output=json", "run", "--local"][..],
    ] {
        let (code, stdout, stderr) = run_cli(&endpoint, &env.settings, args, None);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let error: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"));
        assert_eq!(error["error"]["exit_code"], 2, "{error}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty(), "{error}");
        assert!(stderr.contains("error"), "a person still reads it: {stderr}");
    }

    // Logs to a pipe: plain text.
    let (_, _, stderr) = harness::run_cli_with_env(
        &endpoint,
        &env.settings,
        &["registry", "list"],
        None,
        &[("RUST_LOG", "debug")],
    );
    assert!(!stderr.is_empty(), "debug logs were asked for");
    assert!(!stderr.contains('\u{1b}'), "no ANSI colour codes: {stderr:?}");
}

/// The definition is built into the binary: a local run works from a
/// directory outside the checkout.
#[tokio::test]
async fn a_local_run_works_from_outside_the_checkout() {
    let env = TestEnv::new().await;
    let elsewhere = std::env::temp_dir().join(harness::unique("elsewhere"));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut cmd = harness::cli_command(
        &moto().endpoint(),
        &env.settings,
        &["run", "--local", "--clock", "virtual", "--input", "-"],
    );
    let mut child = cmd.current_dir(&elsewhere).spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"action": "failover"}"#).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(env.all_weights_are(0, 100).await, "{stdout}");
}

/// A new user's first hour, with nothing but the binary: copied into an
/// empty directory (no checkout above it, an empty HOME, moto on PATH as
/// `pip install moto[server]` leaves it), it serves the emulator, applies a
/// registry, plans, makes a sample alarm event, runs it, and runs the demo.
#[tokio::test]
async fn the_binary_alone_in_an_empty_directory_runs_emulator_apply_plan_run_and_demo() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(harness::unique("alone"));
    std::fs::create_dir_all(dir.join("home")).unwrap();
    let bin = dir.join("lifeboat");
    std::fs::copy(harness::lifeboat_bin(), &bin).unwrap();
    let moto_bin = harness::moto_server_path().parent().unwrap().to_path_buf();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", moto_bin.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let user = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(args)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", dir.join("home"))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", harness::REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &endpoint);
        cmd
    };
    let output = |args: &[&str]| {
        let out = user(args).output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert_eq!(out.status.code(), Some(0), "lifeboat {args:?}:\n{stdout}\n{stderr}");
        (stdout, stderr)
    };

    let mut emulator = user(&["emulator", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(emulator.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains(&endpoint), "{first}");

    // The user's estate (here the sample one), in the emulator they started.
    let setup = harness::setup_config(&endpoint).await;
    let estate = lifeboat_sandbox::estate::seed_estate(&setup, "").await.unwrap();
    std::fs::write(dir.join("registry.yaml"), &estate.registry_yaml).unwrap();
    let env = TestEnv {
        config: setup.clone(),
        run_config: harness::sdk_config(&endpoint).await,
        settings: lifeboat_tasks::Settings::default(),
        estate,
        namespace: String::new(),
        home_config: setup.clone(),
        member: None,
    };

    let (applied, _) = output(&["registry", "apply", "registry.yaml"]);
    assert!(applied.contains("lifeboat-registry"), "{applied}");
    let (plan, _) = output(&["plan", "--action", "failover"]);
    assert!(plan.contains("storefront"), "{plan}");
    let (event, hint) = output(&["sample", "alarm-event", "storefront"]);
    assert!(event.contains(&env.estate.trigger_alarm), "{event}");
    assert!(hint.contains("lifeboat run --local --input"), "{hint}");
    std::fs::write(dir.join("alarm.json"), &event).unwrap();
    lifeboat_sandbox::estate::set_alarm(
        &setup,
        PRIMARY,
        &env.estate.trigger_alarm,
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    )
    .await
    .unwrap();
    let (ran, _) = output(&["run", "--local", "--clock", "virtual", "--input", "alarm.json"]);
    assert!(ran.contains("Succeeded"), "{ran}");
    assert!(env.all_weights_are(0, 100).await, "{ran}");

    let (demo, demo_log) = output(&["demo"]);
    assert!(demo.contains("failback"), "{demo}");
    assert!(
        !demo_log.contains("Installing"),
        "moto on PATH should serve: {demo_log}"
    );

    let _ = emulator.kill();
    let _ = emulator.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
