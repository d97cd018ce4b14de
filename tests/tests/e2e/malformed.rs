//! A table of malformed inputs and registries through the `lifeboat` binary:
//! each exits 2 with a clear message (one line for an input, one line per
//! problem with its field path for a registry), no panic, no SDK dump, and
//! nothing changes in the emulator.

#![allow(clippy::unwrap_used)]

use harness::{TestEnv, moto, run_cli};
use lifeboat_sandbox::estate::{PRIMARY, alarm_event};
use serde_json::json;

/// Inputs to `lifeboat run --local` that must be refused before anything changes.
fn bad_inputs(trigger_alarm: &str) -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = Vec::new();
    let mut add = |what: &str, input: String| cases.push((what.to_string(), input));
    // Not JSON.
    for (i, text) in [
        "",
        "{",
        "}",
        "{\"action\": }",
        "{'action': 'failover'}",
        "failover",
        "{\"action\": \"failover\",}",
        "[1, 2",
        "nul",
        "{\"action\": \"failover\"} trailing",
        "\u{feff}{\"action\": \"failover\"",
        "{\"a\": \"\\uZZZZ\"}",
    ]
    .iter()
    .enumerate()
    {
        add(&format!("not JSON #{i}"), text.to_string());
    }
    // JSON, not an object.
    for v in [
        json!(null),
        json!([]),
        json!([{"action": "failover"}]),
        json!(42),
        json!(-1.5),
        json!("failover"),
        json!(true),
        json!(false),
    ] {
        add(&format!("not an object: {v}"), v.to_string());
    }
    // Objects that are no trigger at all.
    for v in [
        json!({}),
        json!({"hello": "world"}),
        json!({"Action": "failover"}),
        json!({"actions": ["failover"]}),
    ] {
        add(&format!("unrecognised: {v}"), v.to_string());
    }
    // Manual requests with a bad field.
    let manual = [
        json!({"action": "explode"}),
        json!({"action": ""}),
        json!({"action": null}),
        json!({"action": 1}),
        json!({"action": ["failover"]}),
        json!({"action": "FAILOVER"}),
        json!({"action": "failover", "apps": "payments"}),
        json!({"action": "failover", "apps": [1]}),
        json!({"action": "failover", "apps": [null]}),
        json!({"action": "failover", "apps": [["payments"]]}),
        json!({"action": "failover", "apps": ["ghost"]}),
        json!({"action": "failover", "apps": ["payments", "payments"]}),
        json!({"action": "failover", "apps": ["payments", "ghost"]}),
        json!({"action": "failover", "apps": [""]}),
        json!({"action": "failover", "dry_run": "yes"}),
        json!({"action": "failover", "dry_run": 1}),
        json!({"action": "failover", "mode": "panic"}),
        json!({"action": "failover", "mode": 1}),
        json!({"action": "failback", "mode": "disaster"}),
        json!({"action": "drill", "mode": "disaster"}),
        json!({"action": "drill", "soak_seconds": -1}),
        json!({"action": "drill", "soak_seconds": "60"}),
        json!({"action": "drill", "soak_seconds": 1.5}),
        json!({"action": "drill", "soak_seconds": 99_999_999_999u64}),
        json!({"action": "failover", "reason": 7}),
        json!({"action": "failover", "accept_data_loss": "true"}),
        json!({"action": "failover", "move_dns_without_database": 0}),
        json!({"action": "failover", "override_safety_rules": "please"}),
        json!({"action": "failover", "unknown_field": true}),
        json!({"action": "failover", "Apps": ["payments"]}),
    ];
    for v in manual {
        add(&format!("manual: {v}"), v.to_string());
    }
    // EventBridge events that are malformed, or of a kind lifeboat does not take.
    let alarm = alarm_event(trigger_alarm, PRIMARY, chrono::Utc::now());
    let mut no_detail = alarm.clone();
    no_detail.as_object_mut().unwrap().remove("detail");
    let mut no_state = alarm.clone();
    no_state["detail"].as_object_mut().unwrap().remove("state");
    let mut empty_name = alarm.clone();
    empty_name["detail"]["alarmName"] = json!("");
    let mut bad_time = alarm.clone();
    bad_time["detail"]["state"]["timestamp"] = json!("yesterday");
    let mut bad_value = alarm.clone();
    bad_value["detail"]["state"]["value"] = json!("ON_FIRE");
    let mut name_number = alarm.clone();
    name_number["detail"]["alarmName"] = json!(42);
    let mut unknown_alarm = alarm.clone();
    unknown_alarm["detail"]["alarmName"] = json!("nobody-listens-to-this-alarm");
    let mut detail_string = alarm.clone();
    detail_string["detail"] = json!("ALARM");
    let mut wrong_detail_type = alarm.clone();
    wrong_detail_type["detail-type"] = json!("EC2 Instance State-change Notification");
    let mut detail_type_number = alarm.clone();
    detail_type_number["detail-type"] = json!(7);
    for (what, v) in [
        ("alarm without detail", no_detail),
        ("alarm without state", no_state),
        ("alarm with an empty name", empty_name),
        ("alarm with a bad timestamp", bad_time),
        ("alarm with an unknown state", bad_value),
        ("alarm whose name is a number", name_number),
        ("alarm that maps to no app", unknown_alarm),
        ("alarm whose detail is a string", detail_string),
        ("unsupported detail-type", wrong_detail_type),
        ("detail-type that is a number", detail_type_number),
        ("schedule without its fields", json!({"detail-type": "Scheduled Event"})),
        (
            "schedule with a bad time",
            json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.scheduler", "account": "1", "time": "noon", "region": "us-west-2", "resources": [], "detail": {}}),
        ),
        // Through the API, a body is always a manual request.
        (
            "API body shaped like an alarm",
            json!({"api_request": alarm, "caller": "arn:aws:sts::1:assumed-role/x/y"}),
        ),
        (
            "API body that is not an object",
            json!({"api_request": [], "caller": "c"}),
        ),
        (
            "API body with a bad action",
            json!({"api_request": {"action": "explode"}, "caller": "c"}),
        ),
        (
            "API input with an extra field",
            json!({"api_request": {"action": "failover"}, "caller": "c", "sneaky": 1}),
        ),
        (
            "follow-up without apps",
            json!({"follow_up": {"after_run": "r", "alarms": [], "apps": []}}),
        ),
        (
            "follow-up of an unknown app",
            json!({"follow_up": {"after_run": "r1", "alarms": ["a"], "apps": ["ghost"]}}),
        ),
        ("follow-up that is a number", json!({"follow_up": 3})),
        (
            "follow-up with an unknown field",
            json!({"follow_up": {"after_run": "r2", "alarms": [], "apps": ["payments"], "x": 1}}),
        ),
    ] {
        add(what, v.to_string());
    }
    cases
}

/// Registries that `lifeboat registry apply` must refuse without touching the table.
fn bad_registries() -> Vec<(String, String)> {
    let base = include_str!("../../fixtures/base-registry.yaml");
    // (what, text in the base, its replacement; `+...`: text added after it)
    let edits: &[(&str, &str, &str)] = &[
        ("version 2", "version: 1", "version: 2"),
        ("version 0", "version: 1", "version: 0"),
        ("version a string", "version: 1", "version: one"),
        ("no version", "version: 1\n", ""),
        ("applications not a list", "applications:\n", "applications: 7\n#"),
        ("duplicate app", "  - name: web", "  - name: payments"),
        ("empty name", "  - name: web", "  - name: \"\""),
        ("name with a space", "  - name: web", "  - name: \"w e b\""),
        ("name starting with @", "  - name: web", "  - name: \"@web\""),
        ("negative tier", "    tier: 1", "    tier: -1"),
        ("tier a string", "    tier: 1", "    tier: high"),
        (
            "same Region twice",
            "regions: { primary: us-east-1, secondary: us-west-2 }\n    dns:\n      - hosted_zone_id: Z2",
            "regions: { primary: us-west-2, secondary: us-west-2 }\n    dns:\n      - hosted_zone_id: Z2",
        ),
        (
            "not a Region",
            "primary: us-east-1, secondary: us-west-2 }\n    dns:\n      - hosted_zone_id: Z2",
            "primary: mars-north-1, secondary: us-west-2 }\n    dns:\n      - hosted_zone_id: Z2",
        ),
        (
            "no regions",
            "    regions: { primary: us-east-1, secondary: us-west-2 }\n    dns:\n      - hosted_zone_id: Z2",
            "    dns:\n      - hosted_zone_id: Z2",
        ),
        (
            "no dns",
            "    dns:\n      - hosted_zone_id: Z2\n        name: www.example.org.\n        type: CNAME\n        set_identifiers: { primary: web-use1, secondary: web-usw2 }\n",
            "\n",
        ),
        ("empty zone id", "hosted_zone_id: Z2", "hosted_zone_id: \"\""),
        ("empty record name", "name: www.example.org.", "name: \"\""),
        ("unknown record type", "type: CNAME", "+X"),
        ("record type lower case", "type: CNAME", "type: cname"),
        (
            "same set identifier twice",
            "secondary: web-usw2 }",
            "secondary: web-use1 }",
        ),
        (
            "no set identifiers",
            "        set_identifiers: { primary: web-use1, secondary: web-usw2 }\n",
            "",
        ),
        (
            "weight over 255",
            "set_identifiers: { primary: web-use1, secondary: web-usw2 }",
            "+\n        active_weight: 256",
        ),
        (
            "negative weight",
            "set_identifiers: { primary: web-use1, secondary: web-usw2 }",
            "+\n        standby_weight: -1",
        ),
        (
            "active weight 0",
            "set_identifiers: { primary: web-use1, secondary: web-usw2 }",
            "+\n        active_weight: 0",
        ),
        (
            "standby not under active",
            "set_identifiers: { primary: web-use1, secondary: web-usw2 }",
            "+\n        active_weight: 10\n        standby_weight: 10",
        ),
        ("unknown app field", "    tier: 1", "+\n    colour: blue"),
        ("unknown top-level field", "version: 1", "+\nowner: me"),
        ("depends on a ghost", "depends_on: [payments]", "depends_on: [ghost]"),
        ("depends on itself", "depends_on: [payments]", "depends_on: [web]"),
        ("depends on a later tier", "    tier: 0", "    tier: 2"),
        ("depends_on a string", "depends_on: [payments]", "depends_on: payments"),
        ("unknown database kind", "kind: aurora-global", "kind: oracle"),
        ("aurora-global without a cluster", "global_cluster_id: g, ", ""),
        (
            "aurora-global without identifiers",
            "identifiers: { primary: a, secondary: b }, ",
            "",
        ),
        ("data loss with no RPO budget", ", max_rpo_seconds: 30", ""),
        ("RPO budget negative", "max_rpo_seconds: 30", "max_rpo_seconds: -30"),
        ("RPO budget a string", "max_rpo_seconds: 30", "max_rpo_seconds: thirty"),
        ("database deadline 0", "max_rpo_seconds: 30", "+, deadline_seconds: 0"),
        (
            "database deadline over a day",
            "max_rpo_seconds: 30",
            "+, deadline_seconds: 86401",
        ),
        (
            "database interval over its deadline",
            "max_rpo_seconds: 30",
            "+, deadline_seconds: 60, interval_seconds: 120",
        ),
        (
            "restore on aurora",
            "max_rpo_seconds: 30",
            "+, restore: { instance_class: db.r6g.large }",
        ),
        (
            "rds-backup without restore",
            "kind: aurora-global, global_cluster_id: g, ",
            "kind: rds-backup, ",
        ),
        (
            "verification interval over deadline",
            "deadline_seconds: 300, interval_seconds: 30",
            "deadline_seconds: 30, interval_seconds: 300",
        ),
        (
            "verification deadline 0",
            "deadline_seconds: 300",
            "deadline_seconds: 0",
        ),
        (
            "alarms not a list",
            "alarms: { secondary: [payments-usw2-5xx] }",
            "alarms: { secondary: payments-usw2-5xx }",
        ),
        ("empty alarm name", "[payments-usw2-5xx]", "[\"\"]"),
        (
            "triggers not an object",
            "triggers: { alarms: [payments-5xx] }",
            "triggers: [payments-5xx]",
        ),
        (
            "unknown trigger field",
            "triggers: { alarms: [payments-5xx] }",
            "triggers: { alarms: [payments-5xx], when: always }",
        ),
        (
            "insufficient_data unknown",
            "triggers: { alarms: [payments-5xx] }",
            "triggers: { alarms: [payments-5xx], insufficient_data: panic }",
        ),
        (
            "routing controls without a cluster",
            "    tier: 1",
            "+\n    traffic: { routing_controls: { primary: \"arn:aws:route53-recovery-control::1:controlpanel/p/routingcontrol/a\", secondary: \"arn:aws:route53-recovery-control::1:controlpanel/p/routingcontrol/b\" } }",
        ),
        (
            "the same routing control twice",
            "    tier: 1",
            "+\n    traffic: { routing_controls: { primary: \"arn:aws:route53-recovery-control::1:controlpanel/p/routingcontrol/a\", secondary: \"arn:aws:route53-recovery-control::1:controlpanel/p/routingcontrol/a\" } }",
        ),
        ("YAML tab indentation", "  - name: web\n", "\t- name: web\n"),
        (
            "YAML unclosed flow",
            "{ primary: us-east-1, secondary: us-west-2 }\n    dns:\n      - hosted_zone_id: Z1",
            "{ primary: us-east-1, secondary: us-west-2\n    dns:\n      - hosted_zone_id: Z1",
        ),
    ];
    let mut cases: Vec<(String, String)> = edits
        .iter()
        .map(|(what, from, to)| {
            assert!(
                base.contains(from),
                "fixture edit {what:?}: {from:?} is not in the base registry"
            );
            let to = match to.strip_prefix('+') {
                Some(added) => format!("{from}{added}"),
                None => to.to_string(),
            };
            (what.to_string(), base.replacen(from, &to, 1))
        })
        .collect();
    for (what, text) in [
        ("empty file", ""),
        ("just a comment", "# nothing\n"),
        ("a list", "- 1\n- 2\n"),
        ("a string", "registry\n"),
        ("JSON, truncated", "{\"version\": 1, \"applications\": ["),
        ("applications a map", "version: 1\napplications: { payments: {} }\n"),
    ] {
        cases.push((what.to_string(), text.to_string()));
    }
    cases
}

/// Runs `cases` through the binary, a few at a time (each is its own process).
fn run_all(
    endpoint: &str,
    env: &TestEnv,
    cases: &[(String, String)],
    args: impl Fn(&str) -> Vec<String> + Sync,
    stdin: bool,
) -> Vec<(String, i32, String, String)> {
    let dir = std::env::temp_dir().join(harness::unique("lifeboat-malformed"));
    std::fs::create_dir_all(&dir).unwrap();
    let chunks: Vec<&[(String, String)]> = cases.chunks(cases.len().div_ceil(4).max(1)).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(c, chunk)| {
                let (dir, args, settings) = (&dir, &args, &env.settings);
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, (what, text))| {
                            let file = dir.join(format!("case-{c}-{i}.yaml"));
                            std::fs::write(&file, text).unwrap();
                            let a = args(file.to_str().unwrap());
                            let a: Vec<&str> = a.iter().map(String::as_str).collect();
                            let (code, out, err) =
                                run_cli(endpoint, settings, &a, if stdin { Some(text.as_str()) } else { None });
                            (what.clone(), code, out, err)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// Signs of a message nobody should have to read.
fn unreadable(text: &str) -> Option<&'static str> {
    [
        "panicked",
        "ServiceError",
        "Extensions {",
        "SdkBody",
        "RUST_BACKTRACE",
        "DispatchFailure",
    ]
    .into_iter()
    .find(|m| text.contains(m))
}

#[tokio::test]
async fn a_hundred_malformed_inputs_and_registries_exit_2_clearly_and_change_nothing() {
    let env = TestEnv::new().await;
    let endpoint = moto().endpoint();
    let admin = env.admin();
    let apps_before: Vec<_> = admin
        .registry
        .load()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.app)
        .collect();
    let weights_before = env.weights().await;

    let inputs = bad_inputs(&env.estate.trigger_alarm);
    let registries = bad_registries();
    eprintln!(
        "{} malformed inputs, {} malformed registries",
        inputs.len(),
        registries.len()
    );
    assert!(
        inputs.len() + registries.len() >= 100,
        "{} inputs and {} registries",
        inputs.len(),
        registries.len()
    );
    let mut problems = Vec::new();
    for (what, code, out, err) in run_all(
        &endpoint,
        &env,
        &inputs,
        |_| {
            ["run", "--local", "--clock", "virtual", "--input", "-"]
                .map(String::from)
                .to_vec()
        },
        true,
    ) {
        let all = format!("{out}{err}");
        // The one line that says what is wrong: `error: ...` (before anything
        // ran) or the execution's `  error: Lifeboat.InvalidRequest: ...`.
        let lines: Vec<&str> = all.lines().filter(|l| l.trim_start().starts_with("error:")).collect();
        if code != 2 {
            problems.push(format!("input {what}: exit {code}, not 2:\n{all}"));
        } else if lines.len() != 1 {
            problems.push(format!("input {what}: {} error lines, not one:\n{all}", lines.len()));
        } else if let Some(m) = unreadable(&all) {
            problems.push(format!("input {what}: output has {m:?}:\n{all}"));
        } else if lines[0].len() < 20 {
            problems.push(format!("input {what}: the message says too little: {}", lines[0]));
        }
    }
    for (what, code, out, err) in run_all(
        &endpoint,
        &env,
        &registries,
        |file| vec!["registry".into(), "apply".into(), file.to_string()],
        false,
    ) {
        let all = format!("{out}{err}");
        let first = err.lines().next().unwrap_or_default();
        if code != 2 {
            problems.push(format!("registry {what}: exit {code}, not 2:\n{all}"));
        } else if !first.starts_with("error: ") || !first.contains("case-") {
            problems.push(format!(
                "registry {what}: the first line does not name the file:\n{all}"
            ));
        } else if let Some(m) = unreadable(&all) {
            problems.push(format!("registry {what}: output has {m:?}:\n{all}"));
        } else if first.contains("problem") {
            // A list: one line per problem, each with its field path.
            for line in err.lines().skip(1).filter(|l| !l.trim().is_empty()) {
                if !line.starts_with("  - ") || !line.contains(": ") {
                    problems.push(format!(
                        "registry {what}: a problem line without a field path: {line:?}"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} case(s):\n{}",
        problems.len(),
        problems.join("\n\n")
    );

    // Nothing changed: the registry table, the weights, the journal, the lease.
    let apps_after: Vec<_> = admin
        .registry
        .load()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.app)
        .collect();
    assert_eq!(apps_after, apps_before);
    assert_eq!(env.weights().await, weights_before);
    assert!(admin.journal.list_runs(10).await.unwrap().is_empty());
    assert_eq!(admin.lease.state().await.unwrap().holder, None);
}
