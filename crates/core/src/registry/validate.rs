//! Checking a registry document: the JSON Schema generated from the types,
//! then what a schema cannot say (unique names, known dependencies, no
//! cycles), every problem with its field path.

use super::regions::{is_known_region, unknown_region_message};
use super::{Application, BySide, DatabaseKind, RecordType, Registry, Side, normalize_record_name, normalize_zone_id};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One problem found in a registry document, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryProblem {
    /// Field path such as `applications[1].dns[0].hosted_zone_id` (empty for the document).
    pub path: String,
    pub message: String,
}

impl fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(the document): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a registry document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RegistryErrors(pub Vec<RegistryProblem>);

impl fmt::Display for RegistryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "registry has {n} problem{}:", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// The registry's JSON Schema, generated from the types above.
pub fn registry_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Registry);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// Parses a registry document (YAML or JSON: JSON is YAML) and checks it.
pub fn parse_registry(text: &str) -> Result<Registry, RegistryErrors> {
    let doc: serde_json::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        RegistryErrors(vec![RegistryProblem {
            path: String::new(),
            message: format!("not valid YAML or JSON: {e}"),
        }])
    })?;
    parse_registry_value(&doc)
}

/// Checks a registry already parsed into a JSON value.
pub fn parse_registry_value(doc: &serde_json::Value) -> Result<Registry, RegistryErrors> {
    let schema = registry_schema();
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        RegistryErrors(vec![RegistryProblem {
            path: String::new(),
            message: format!("internal error: registry schema does not compile: {e}"),
        }])
    })?;
    let mut problems: Vec<RegistryProblem> = validator
        .iter_errors(doc)
        .map(|e| RegistryProblem {
            path: pointer_to_path(&e.instance_path().to_string()),
            message: e.to_string(),
        })
        .collect();
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        problems.dedup();
        return Err(RegistryErrors(problems));
    }
    let registry: Registry = serde_json::from_value(doc.clone()).map_err(|e| {
        RegistryErrors(vec![RegistryProblem {
            path: String::new(),
            message: e.to_string(),
        }])
    })?;
    let problems = check_semantics(&registry);
    if problems.is_empty() {
        Ok(registry)
    } else {
        Err(RegistryErrors(problems))
    }
}

/// `/applications/0/dns/1/name` → `applications[0].dns[1].name`.
fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

/// A routing control ARN: `arn:PARTITION:route53-recovery-control::ACCOUNT:controlpanel/ID/routingcontrol/ID`.
pub fn is_routing_control_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
        return false;
    }
    let path: Vec<&str> = parts[5].split('/').collect();
    parts[2] == "route53-recovery-control"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && path.len() == 4
        && path[0] == "controlpanel"
        && path[2] == "routingcontrol"
        && !path[1].is_empty()
        && !path[3].is_empty()
}

fn check_routing_controls(at: &str, rc: &BySide<String>, have_cluster: bool, push: &mut impl FnMut(String, String)) {
    for side in [Side::Primary, Side::Secondary] {
        let arn = rc.get(side);
        if arn.is_empty() {
            push(
                format!("{at}.traffic.routing_controls.{side}"),
                "required: the routing control ARN of this Region's cell".into(),
            );
        } else if !is_routing_control_arn(arn) {
            push(
                format!("{at}.traffic.routing_controls.{side}"),
                format!(
                    "\"{arn}\" is not a routing control ARN \
                     (arn:aws:route53-recovery-control::ACCOUNT:controlpanel/ID/routingcontrol/ID)"
                ),
            );
        }
    }
    if !rc.primary.is_empty() && rc.primary == rc.secondary {
        push(
            format!("{at}.traffic.routing_controls"),
            "primary and secondary must be different routing controls".into(),
        );
    }
    if !have_cluster {
        push(
            format!("{at}.traffic.routing_controls"),
            "needs the top-level routing_control_cluster (its endpoints, from DescribeCluster)".into(),
        );
    }
}

/// A capacity step names exactly one resource pair, each side by name.
/// An app in another account: its calls are made as the member role, so a
/// hook function or routing control of a third account would be refused on
/// the day; said now instead.
fn check_member_arns(at: &str, app: &Application, account: &super::Account, push: &mut impl FnMut(String, String)) {
    let member = account.id();
    let mut arns: Vec<(String, &str)> = Vec::new();
    for (j, hook) in app.hooks.iter().enumerate() {
        arns.push((format!("{at}.hooks[{j}].function.primary"), &hook.function.primary));
        arns.push((format!("{at}.hooks[{j}].function.secondary"), &hook.function.secondary));
    }
    // Its routing controls are the member's own, in the registry's cluster
    // (shared with the member account through AWS RAM, or the member's).
    if let Some(rc) = app.routing_controls() {
        arns.push((format!("{at}.traffic.routing_controls.primary"), &rc.primary));
        arns.push((format!("{at}.traffic.routing_controls.secondary"), &rc.secondary));
    }
    for (path, arn) in arns {
        if let Some(other) = super::arn_account(arn).filter(|a| *a != member) {
            push(
                path,
                format!(
                    "\"{arn}\" is in account {other}, but the app's calls are made as {} (account {member}): \
                     move it to that account, or drop the app's account",
                    account.role_arn
                ),
            );
        }
    }
}

fn check_capacity_step(at: &str, step: &super::CapacityStep, push: &mut impl FnMut(String, String)) {
    let names: Vec<(&str, &String)> = match (&step.asg, &step.ecs) {
        (Some(asg), None) => vec![("asg.primary", &asg.primary), ("asg.secondary", &asg.secondary)],
        (None, Some(ecs)) => vec![
            ("ecs.cluster.primary", &ecs.cluster.primary),
            ("ecs.cluster.secondary", &ecs.cluster.secondary),
            ("ecs.service.primary", &ecs.service.primary),
            ("ecs.service.secondary", &ecs.service.secondary),
        ],
        _ => {
            push(
                at.to_string(),
                "exactly one of asg (an Auto Scaling group per Region) or ecs (a cluster and service per Region)"
                    .into(),
            );
            return;
        }
    };
    for (field, name) in names {
        if name.trim().is_empty() || name.contains(':') {
            push(
                format!("{at}.{field}"),
                "required: the name in that Region (not an ARN)".into(),
            );
        }
    }
    if step.interval_seconds > step.deadline_seconds {
        push(
            format!("{at}.interval_seconds"),
            "must not exceed deadline_seconds".into(),
        );
    }
}

/// What the schema cannot express.
fn check_semantics(registry: &Registry) -> Vec<RegistryProblem> {
    let mut problems = Vec::new();
    let mut push = |path: String, message: String| problems.push(RegistryProblem { path, message });
    let mut seen_names: HashMap<&str, usize> = HashMap::new();
    let mut record_owner: HashMap<(String, String, RecordType, String), String> = HashMap::new();
    for (i, app) in registry.applications.iter().enumerate() {
        let at = format!("applications[{i}]");
        if let Some(first) = seen_names.insert(&app.name, i) {
            push(
                format!("{at}.name"),
                format!(
                    "duplicate application name \"{}\" (also applications[{first}])",
                    app.name
                ),
            );
        }
        // Alarm names: 1-255 characters (CloudWatch's limit), so a typo'd empty one is not silently never found.
        let alarm_lists = [
            ("verification.alarms.primary", &app.verification.alarms.primary),
            ("verification.alarms.secondary", &app.verification.alarms.secondary),
            ("triggers.alarms", &app.triggers.alarms),
        ];
        for (field, names) in alarm_lists {
            for (k, name) in names.iter().enumerate() {
                if name.trim().is_empty() || name.len() > 255 {
                    push(format!("{at}.{field}[{k}]"), "an alarm name is 1-255 characters".into());
                }
            }
        }
        for (side, region) in [("primary", &app.regions.primary), ("secondary", &app.regions.secondary)] {
            if !is_known_region(region) {
                push(format!("{at}.regions.{side}"), unknown_region_message(region));
            }
        }
        if app.regions.primary == app.regions.secondary {
            push(
                format!("{at}.regions"),
                "primary and secondary must be different Regions".into(),
            );
        }
        for (j, rec) in app.dns.iter().enumerate() {
            let at = format!("{at}.dns[{j}]");
            if rec.set_identifiers.primary.is_empty() || rec.set_identifiers.secondary.is_empty() {
                push(
                    format!("{at}.set_identifiers"),
                    "both primary and secondary are required".into(),
                );
            } else if rec.set_identifiers.primary == rec.set_identifiers.secondary {
                push(
                    format!("{at}.set_identifiers"),
                    "primary and secondary must differ".into(),
                );
            }
            if rec.standby_weight >= rec.active_weight {
                push(
                    format!("{at}.standby_weight"),
                    format!(
                        "must be less than active_weight ({}), or traffic would not move",
                        rec.active_weight
                    ),
                );
            }
            for side in [Side::Primary, Side::Secondary] {
                let key = (
                    normalize_zone_id(&rec.hosted_zone_id),
                    normalize_record_name(&rec.name),
                    rec.record_type,
                    rec.set_identifiers.get(side).clone(),
                );
                if let Some(owner) = record_owner.insert(key, app.name.clone())
                    && (owner != app.name || side == Side::Primary)
                {
                    push(
                        format!("{at}.set_identifiers.{side}"),
                        format!(
                            "record {} {} is already claimed by application \"{owner}\"",
                            rec.name, rec.record_type
                        ),
                    );
                }
            }
        }
        let v = &app.verification;
        if v.interval_seconds > v.deadline_seconds {
            push(
                format!("{at}.verification.interval_seconds"),
                "must not exceed deadline_seconds".into(),
            );
        }
        if app.database.kind.is_global() && app.database.global_cluster_id.is_none() {
            push(
                format!("{at}.database.global_cluster_id"),
                format!("required for kind {}", app.database.kind.as_str()),
            );
        }
        if app.database.kind.needs_action() && app.database.identifiers.is_none() {
            push(
                format!("{at}.database.identifiers"),
                format!("required for kind {}", app.database.kind.as_str()),
            );
        }
        // Without a budget the RPO gate would pass any lag: allowing data loss means saying how much.
        if app.database.kind.is_global() && app.database.allow_data_loss && app.database.max_rpo_seconds.is_none() {
            push(
                format!("{at}.database.max_rpo_seconds"),
                "required while data loss is allowed (allow_data_loss, true by default): the most replication \
                 lag, in seconds, a disaster failover may lose; or set allow_data_loss: false (switchover only)"
                    .into(),
            );
        }
        if app.database.kind == DatabaseKind::RdsBackup && app.database.restore.is_none() {
            push(
                format!("{at}.database.restore"),
                "required for kind rds-backup: the restored instance's instance_class (and optionally \
                 subnet_group, security_group_ids, parameter_group)"
                    .into(),
            );
        }
        if app.database.kind != DatabaseKind::RdsBackup && app.database.restore.is_some() {
            push(
                format!("{at}.database.restore"),
                format!("only for kind rds-backup, not {}", app.database.kind.as_str()),
            );
        }
        if app.database.endpoint_record.is_some() && !app.database.kind.needs_action() {
            push(
                format!("{at}.database.endpoint_record"),
                format!("kind {} has no writer to follow", app.database.kind.as_str()),
            );
        }
        let mut hook_names = std::collections::HashSet::new();
        for (j, hook) in app.hooks.iter().enumerate() {
            let at = format!("{at}.hooks[{j}]");
            if !hook_names.insert(hook.name.as_str()) {
                push(format!("{at}.name"), format!("duplicate hook name \"{}\"", hook.name));
            }
            for (side, region) in [("primary", &app.regions.primary), ("secondary", &app.regions.secondary)] {
                let arn = if side == "primary" {
                    &hook.function.primary
                } else {
                    &hook.function.secondary
                };
                let parts: Vec<&str> = arn.split(':').collect();
                if parts.len() < 7 || parts[2] != "lambda" || parts[5] != "function" {
                    push(
                        format!("{at}.function.{side}"),
                        format!("\"{arn}\" is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"),
                    );
                } else if parts[3] != region.as_str() {
                    push(
                        format!("{at}.function.{side}"),
                        format!(
                            "the function is in {}, not the app's {side} Region {region}: a hook runs in the Region the app moves to",
                            parts[3]
                        ),
                    );
                }
            }
            let total = (hook.retries + 1) * hook.timeout_seconds;
            if total > super::HOOK_BUDGET_SECONDS {
                push(
                    format!("{at}.timeout_seconds"),
                    format!(
                        "{} attempts of {} s take {total} s, over the {} s a wave task may give its hooks: lower timeout_seconds or retries",
                        hook.retries + 1,
                        hook.timeout_seconds,
                        super::HOOK_BUDGET_SECONDS
                    ),
                );
            }
        }
        if let Some(account) = &app.account {
            check_member_arns(&at, app, account, &mut push);
        }
        for (j, step) in app.capacity.iter().enumerate() {
            check_capacity_step(&format!("{at}.capacity[{j}]"), step, &mut push);
        }
        if let Some(rc) = app.routing_controls() {
            check_routing_controls(&at, rc, registry.routing_control_cluster.is_some(), &mut push);
        }
        if app.database.interval_seconds > app.database.deadline_seconds {
            push(
                format!("{at}.database.interval_seconds"),
                "must not exceed deadline_seconds".into(),
            );
        }
    }
    if let Some(cluster) = &registry.routing_control_cluster {
        for (k, endpoint) in cluster.endpoints.iter().enumerate() {
            if !is_known_region(&endpoint.region) {
                push(
                    format!("routing_control_cluster.endpoints[{k}].region"),
                    unknown_region_message(&endpoint.region),
                );
            }
        }
    }
    // The first application of a duplicated name stands for it (the duplicate is reported above).
    let mut by_name: BTreeMap<&str, &Application> = BTreeMap::new();
    for a in &registry.applications {
        by_name.entry(a.name.as_str()).or_insert(a);
    }
    for (i, app) in registry.applications.iter().enumerate() {
        for (k, dep) in app.depends_on.iter().enumerate() {
            let at = format!("applications[{i}].depends_on[{k}]");
            match by_name.get(dep.as_str()) {
                None => push(at, format!("unknown application \"{dep}\"")),
                Some(_) if dep == &app.name => push(at, "an application cannot depend on itself".into()),
                Some(d) if d.tier > app.tier => push(
                    at,
                    format!(
                        "\"{dep}\" is tier {} but \"{}\" is tier {}: a dependency must not be in a later tier",
                        d.tier, app.name, app.tier
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    if let Some(cycle) = find_cycle(&by_name) {
        push(
            "applications".into(),
            format!("depends_on has a cycle: {}", cycle.join(" -> ")),
        );
    }
    problems
}

fn find_cycle(apps: &BTreeMap<&str, &Application>) -> Option<Vec<String>> {
    // Colours: 0 unvisited, 1 on the stack, 2 done.
    fn visit<'a>(
        name: &'a str,
        apps: &BTreeMap<&'a str, &'a Application>,
        colour: &mut HashMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        colour.insert(name, 1);
        stack.push(name);
        if let Some(app) = apps.get(name) {
            for dep in &app.depends_on {
                let dep = dep.as_str();
                if dep == name || !apps.contains_key(dep) {
                    continue;
                }
                match colour.get(dep).copied().unwrap_or(0) {
                    1 => {
                        let start = stack.iter().position(|n| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                        cycle.push(dep.to_string());
                        return Some(cycle);
                    }
                    0 => {
                        if let Some(c) = visit(dep, apps, colour, stack) {
                            return Some(c);
                        }
                    }
                    _ => {}
                }
            }
        }
        stack.pop();
        colour.insert(name, 2);
        None
    }
    let mut colour = HashMap::new();
    for name in apps.keys() {
        if colour.get(name).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(name, apps, &mut colour, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}
