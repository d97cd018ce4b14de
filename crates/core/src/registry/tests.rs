use super::*;

#[test]
fn allowing_data_loss_needs_an_rpo_budget() {
    let with = |db: &str| SAMPLE.replace("database: { kind: dynamodb-global }", db);
    let no_budget =
        with("database: { kind: aurora-global, global_cluster_id: g, identifiers: { primary: a, secondary: b } }");
    let text = parse_registry(&no_budget).unwrap_err().to_string();
    assert!(
        text.contains("applications[0].database.max_rpo_seconds: required while data loss is allowed"),
        "{text}"
    );
    // Saying how much, or allowing none (switchover only), is valid.
    parse_registry(&with(
        "database: { kind: aurora-global, global_cluster_id: g, identifiers: { primary: a, secondary: b }, max_rpo_seconds: 30 }",
    ))
    .unwrap();
    parse_registry(&with(
        "database: { kind: aurora-global, global_cluster_id: g, identifiers: { primary: a, secondary: b }, allow_data_loss: false }",
    ))
    .unwrap();
}

pub(crate) const SAMPLE: &str = r#"
version: 1
applications:
  - name: payments
    tier: 0
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - hosted_zone_id: /hostedzone/Z1
        name: payments.example.com
        type: A
        set_identifiers: { primary: payments-use1, secondary: payments-usw2 }
    database: { kind: dynamodb-global }
    triggers: { alarms: [payments-5xx] }
  - name: web
    tier: 1
    depends_on: [payments]
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - hosted_zone_id: Z2
        name: www.example.org.
        type: CNAME
        set_identifiers: { primary: web-use1, secondary: web-usw2 }
        active_weight: 200
        standby_weight: 1
    verification:
      health_checks: { secondary: hc-web-usw2 }
      alarms: { secondary: [web-usw2-errors] }
      deadline_seconds: 120
      interval_seconds: 10
"#;

#[test]
fn parses_a_yaml_registry_with_defaults() {
    let r = parse_registry(SAMPLE).unwrap();
    assert_eq!(r.applications.len(), 2);
    let p = &r.applications[0];
    assert_eq!(p.dns[0].active_weight, 100);
    assert_eq!(p.dns[0].standby_weight, 0);
    assert_eq!(p.verification.deadline_seconds, 300);
    assert_eq!(p.database.kind, DatabaseKind::DynamodbGlobal);
    assert_eq!(r.apps_for_alarm("payments-5xx")[0].name, "payments");
    assert!(r.apps_for_alarm("nope").is_empty());
}

#[test]
fn json_documents_parse_the_same() {
    let yaml = parse_registry(SAMPLE).unwrap();
    let json = serde_json::to_string(&yaml).unwrap();
    assert_eq!(parse_registry(&json).unwrap(), yaml);
}

#[test]
fn reports_every_schema_problem_with_its_field_path() {
    let doc = r#"
version: 1
applications:
  - name: Bad_Name
    regions: { primary: us-east-1 }
    dns:
      - hosted_zone_id: Z1
        name: a.example.com
        type: BOGUS
        set_identifiers: { primary: a, secondary: b }
        colour: blue
"#;
    let errs = parse_registry(doc).unwrap_err();
    let text = errs.to_string();
    let paths: Vec<&str> = errs.0.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"applications[0].name"), "{text}");
    assert!(paths.contains(&"applications[0].regions"), "{text}");
    assert!(paths.contains(&"applications[0].dns[0].type"), "{text}");
    assert!(paths.contains(&"applications[0].dns[0]"), "{text}");
    assert!(text.contains("colour"), "{text}");
}

#[test]
fn reports_semantic_problems_with_paths() {
    let doc = r#"
version: 1
applications:
  - name: a
    depends_on: [b, ghost]
    regions: { primary: us-east-1, secondary: us-east-1 }
    dns:
      - { hosted_zone_id: Z1, name: a.example.com, type: A, set_identifiers: { primary: x, secondary: x } }
  - name: b
    depends_on: [a]
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns:
      - { hosted_zone_id: Z1, name: b.example.com, type: A, set_identifiers: { primary: p, secondary: s }, active_weight: 5, standby_weight: 5 }
  - name: a
    regions: { primary: us-east-1, secondary: us-west-2 }
    database: { kind: aurora-global }
    dns:
      - { hosted_zone_id: Z1, name: B.example.com., type: A, set_identifiers: { primary: p, secondary: s2 } }
"#;
    let errs = parse_registry(doc).unwrap_err();
    let text = errs.to_string();
    for expected in [
        "applications[2].name: duplicate application name \"a\"",
        "applications[0].regions: primary and secondary must be different",
        "applications[0].dns[0].set_identifiers: primary and secondary must differ",
        "applications[1].dns[0].standby_weight: must be less than active_weight",
        "applications[2].dns[0].set_identifiers.primary: record B.example.com. A is already claimed by application \"b\"",
        "applications[2].database.global_cluster_id: required",
        "applications[0].depends_on[1]: unknown application \"ghost\"",
        "depends_on has a cycle",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn a_dependency_in_a_later_tier_is_refused() {
    let doc = r#"
version: 1
applications:
  - { name: a, tier: 0, depends_on: [b], regions: { primary: us-east-1, secondary: us-west-2 }, dns: [ { hosted_zone_id: Z1, name: a.x., type: A, set_identifiers: { primary: a1, secondary: a2 } } ] }
  - { name: b, tier: 1, regions: { primary: us-east-1, secondary: us-west-2 }, dns: [ { hosted_zone_id: Z1, name: b.x., type: A, set_identifiers: { primary: b1, secondary: b2 } } ] }
"#;
    let text = parse_registry(doc).unwrap_err().to_string();
    assert!(
        text.contains("applications[0].depends_on[0]: \"b\" is tier 1"),
        "{text}"
    );
}

#[test]
fn routing_controls_need_the_cluster_and_two_distinct_arns() {
    let arn = "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/a";
    let doc = format!(
        r#"
version: 1
applications:
  - name: a
    regions: {{ primary: us-east-1, secondary: us-west-2 }}
    traffic: {{ routing_controls: {{ primary: {arn}, secondary: {arn} }} }}
    dns: [ {{ hosted_zone_id: Z1, name: a.x., type: A, set_identifiers: {{ primary: a1, secondary: a2 }} }} ]
  - name: b
    regions: {{ primary: us-east-1, secondary: us-west-2 }}
    traffic: {{ routing_controls: {{ primary: not-an-arn }} }}
    dns: [ {{ hosted_zone_id: Z1, name: b.x., type: A, set_identifiers: {{ primary: b1, secondary: b2 }} }} ]
"#
    );
    let text = parse_registry(&doc).unwrap_err().to_string();
    for expected in [
        "applications[0].traffic.routing_controls: primary and secondary must be different",
        "applications[0].traffic.routing_controls: needs the top-level routing_control_cluster",
        "applications[1].traffic.routing_controls.primary: \"not-an-arn\" is not a routing control ARN",
        "applications[1].traffic.routing_controls.secondary: required",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn the_recovery_regions_endpoint_is_tried_first() {
    let cluster = RoutingControlCluster {
        endpoints: ["us-east-1", "us-west-2", "eu-west-1"]
            .iter()
            .map(|r| ClusterEndpoint {
                region: r.to_string(),
                url: format!("https://{r}"),
            })
            .collect(),
    };
    let order: Vec<String> = cluster
        .endpoints_from("us-west-2")
        .into_iter()
        .map(|e| e.region)
        .collect();
    assert_eq!(order, vec!["us-west-2", "us-east-1", "eu-west-1"]);
    assert!(is_routing_control_arn(
        "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/def"
    ));
    assert!(!is_routing_control_arn(
        "arn:aws:route53-recovery-control::111122223333:cluster/abc"
    ));
}

#[test]
fn malformed_text_is_one_clear_problem() {
    let errs = parse_registry("version: [1\n").unwrap_err();
    assert_eq!(errs.0.len(), 1);
    assert!(errs.0[0].message.starts_with("not valid YAML or JSON"));
}

#[test]
fn names_and_zone_ids_normalize_like_route53() {
    assert_eq!(normalize_record_name("API.Example.com"), "api.example.com.");
    assert_eq!(normalize_record_name("\\052.example.com."), "*.example.com.");
    assert_eq!(normalize_zone_id("/hostedzone/Z9"), "Z9");
}

#[test]
fn committed_schema_matches_the_types() {
    if std::env::var_os("LIFEBOAT_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&registry_schema()).unwrap() + "\n";
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/registry.schema.json"),
            text,
        )
        .unwrap();
    }
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../../../schema/registry.schema.json")).unwrap();
    assert_eq!(
        committed,
        registry_schema(),
        "schema/registry.schema.json is stale: run `lifeboat registry schema > schema/registry.schema.json`"
    );
}

#[cfg(test)]
mod example_tests {
    #[test]
    fn the_documented_example_registry_is_valid() {
        let r = super::parse_registry(include_str!("../../../../examples/registry.yaml")).unwrap();
        assert_eq!(r.applications.len(), 4);
        let member = r.app("partner-portal").unwrap().account.as_ref().unwrap();
        assert_eq!(member.id(), "222233334444");
    }
}

#[cfg(test)]
mod properties {
    //! The registry parser: any text, or a valid registry with any one field
    //! replaced by any JSON, is a registry or a list of problems with field
    //! paths, never a panic; a valid registry survives a round trip.

    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn sample() -> Value {
        serde_json::to_value(parse_registry(tests::SAMPLE).unwrap()).unwrap()
    }

    /// Every JSON pointer in `v` (objects and arrays).
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{at}/{k}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    pointers(x, p, out);
                }
            }
            _ => {}
        }
    }

    fn replacement() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!(-1)),
            Just(json!(0)),
            Just(json!(86_401)),
            ".{0,20}".prop_map(Value::from),
            Just(json!("")),
            Just(json!([])),
            Just(json!({})),
            Just(json!({"unexpected": 1})),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_is_a_registry_or_problems_never_a_panic(text in ".{0,200}") {
            if let Err(e) = parse_registry(&text) {
                prop_assert!(!e.0.is_empty());
            }
        }

        #[test]
        fn any_field_replaced_by_anything_is_a_registry_or_problems_with_paths(
            pick in any::<prop::sample::Index>(),
            with in replacement(),
        ) {
            let mut doc = sample();
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let at = pick.get(&all).clone();
            if let Some(slot) = doc.pointer_mut(&at) {
                *slot = with;
            }
            match parse_registry_value(&doc) {
                Ok(reg) => {
                    // Whatever it accepted validates again, the same.
                    let again = parse_registry_value(&serde_json::to_value(&reg).unwrap()).unwrap();
                    prop_assert_eq!(again, reg);
                }
                Err(e) => {
                    prop_assert!(!e.0.is_empty());
                    for p in &e.0 {
                        prop_assert!(!p.message.is_empty(), "{:?}", p);
                    }
                }
            }
        }

        #[test]
        fn a_valid_registry_survives_yaml_and_json_round_trips(keep in prop::collection::vec(any::<bool>(), 2)) {
            let mut reg = parse_registry(tests::SAMPLE).unwrap();
            // Drop web (it depends on payments) or keep both.
            if !keep[0] {
                reg.applications.retain(|a| a.name != "web");
            }
            let yaml = serde_yaml_ng::to_string(&reg).unwrap();
            prop_assert_eq!(parse_registry(&yaml).unwrap(), reg.clone());
            let json = serde_json::to_string(&reg).unwrap();
            prop_assert_eq!(parse_registry(&json).unwrap(), reg);
        }
    }
}

#[test]
fn a_region_typo_is_caught_offline_with_the_region_meant() {
    let text = r#"
version: 1
routing_control_cluster:
  endpoints:
    - { region: eu-wset-1, url: "https://host-a.eu-west-1.example.aws/v1" }
applications:
  - name: api
    regions: { primary: us-east-1, secondary: us-wset-2 }
    dns:
      - { hosted_zone_id: Z1, name: api.x., type: A, set_identifiers: { primary: a1, secondary: a2 } }
"#;
    let e = parse_registry(text).unwrap_err();
    let got: Vec<String> = e.0.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        got,
        vec![
            "applications[0].regions.secondary: unknown Region \"us-wset-2\" (did you mean us-west-2?)",
            "routing_control_cluster.endpoints[0].region: unknown Region \"eu-wset-1\" (did you mean eu-west-1?)",
        ]
    );
}

#[test]
fn an_app_in_another_account_names_its_role_and_keeps_its_functions_there() {
    let doc = r#"
version: 1
applications:
  - name: a
    account: { role_arn: "arn:aws:iam::222233334444:role/lifeboat-member", external_id: lifeboat }
    regions: { primary: us-east-1, secondary: us-west-2 }
    dns: [ { hosted_zone_id: Z1, name: a.x., type: A, set_identifiers: { primary: a1, secondary: a2 } } ]
    hooks:
      - name: flush
        when: before_traffic
        function:
          primary: "arn:aws:lambda:us-east-1:222233334444:function:flush"
          secondary: "arn:aws:lambda:us-west-2:111122223333:function:flush"
"#;
    let text = parse_registry(doc).unwrap_err().to_string();
    let expected = "applications[0].hooks[0].function.secondary: \"arn:aws:lambda:us-west-2:111122223333:function:flush\" is in account 111122223333, but the app's calls are made as arn:aws:iam::222233334444:role/lifeboat-member";
    assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    assert!(!text.contains("hooks[0].function.primary"), "{text}");
    let short = doc.replace("iam::222233334444:", "iam::2222:");
    let text = parse_registry(&short).unwrap_err().to_string();
    assert!(text.contains("applications[0].account.role_arn"), "{text}");
    let fixed = doc.replace("us-west-2:111122223333", "us-west-2:222233334444");
    let reg = parse_registry(&fixed).unwrap();
    let routed = fixed.replace(
        "    hooks:\n",
        "    traffic: { routing_controls: { primary: \"arn:aws:route53-recovery-control::222233334444:controlpanel/p/routingcontrol/a\", secondary: \"arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/b\" } }\n    hooks:\n",
    );
    let text = parse_registry(&routed).unwrap_err().to_string();
    assert!(
        text.contains(
            "applications[0].traffic.routing_controls.secondary: \"arn:aws:route53-recovery-control::111122223333:"
        ),
        "a routing control of a third account: {text}"
    );
    assert!(!text.contains("routing_controls.primary"), "the member's own: {text}");
    let a = reg.app("a").unwrap().account.as_ref().unwrap();
    assert_eq!((a.id(), a.external_id.as_deref()), ("222233334444", Some("lifeboat")));
}
