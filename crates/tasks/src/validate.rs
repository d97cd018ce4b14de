//! validate: normalise the trigger, load the registry, check the recovery
//! Region is ready, and build the plan. Changes nothing.

use crate::dispatch::TaskKind;
use crate::services::{Services, Settings};
use crate::task::Task;
use chrono::{DateTime, Utc};
use lifeboat_aws::AwsError;
use lifeboat_aws::ports::{
    AlarmStates, Databases, DnsReader, HealthChecks, Journal, LeaseOutcome, LeaseState, RegistryStore, RoutingControls,
    RunLease,
};
use lifeboat_aws::route53::read_records;
use lifeboat_core::dns::RecordKey;
use lifeboat_core::plan::{Observed, Plan, PlanContext, build_plan, build_plan_noting_problems, select_apps};
use lifeboat_core::registry::{Account, Application, REGISTRY_VERSION, Registry, Side, parse_registry_value};
use lifeboat_core::request::{
    FollowUp, Mode, Request, TriggerKind, TriggerOrigin, check_alarm_origin, check_trigger_age, normalize_trigger,
};
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the state machine passes to validate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateInput {
    /// The execution's input: an EventBridge event or a manual request.
    pub trigger: serde_json::Value,
    /// The execution name: the run's id.
    pub run_id: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When this validate began on the execution's clock (a follow-up run
    /// in the same execution starts later than the execution did).
    #[serde(default)]
    pub entered_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
impl ValidateInput {
    /// Run `r` started by `trigger`.
    pub(crate) fn of(trigger: serde_json::Value) -> Self {
        ValidateInput {
            trigger,
            run_id: "r".into(),
            started_at: None,
            entered_at: None,
        }
    }
}

/// validate's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateOutput {
    pub plan: Plan,
}

/// What Validate answers the state machine: the plan's summary, which
/// grows with phases and waves, never with the estate (the plan itself is
/// in the journal).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateAnswer {
    pub plan: lifeboat_core::plan::PlanSummary,
    /// The AWS calls Validate made.
    #[serde(default)]
    pub api_calls: lifeboat_core::calls::ApiCalls,
}

/// The Validate state, whole: admit the trigger, look at the lease, check
/// and plan, take the lease, and write the plan to the journal.
pub struct Validate;

impl Task for Validate {
    const KIND: TaskKind = TaskKind::Validate;
    type Input = ValidateInput;
    type Output = ValidateAnswer;

    async fn run(s: &Services, input: ValidateInput) -> Result<ValidateAnswer, LifeboatError> {
        let request = admit(s.validate_ports(), &input).await?;
        peek_lease(&s.lease.state().await?, &input.run_id, &request, Utc::now())?;
        let mut out = plan_request(s.validate_ports(), input, request).await?;
        take_lease(&*s.lease, &s.settings, Utc::now(), &mut out.plan).await?;
        crate::journal::store_plan(&*s.journal, &out.plan).await?;
        Ok(ValidateAnswer {
            plan: out.plan.summarize(),
            api_calls: s.calls_made(None),
        })
    }
}

/// Loads the registry table as a checked [`Registry`].
pub async fn load_registry(store: &dyn RegistryStore) -> Result<Registry, LifeboatError> {
    let stored = store.load().await?;
    let cluster = store.load_cluster().await?;
    let mut doc = serde_json::json!({
        "version": REGISTRY_VERSION,
        "applications": stored.iter().map(|s| &s.app).collect::<Vec<_>>(),
    });
    if let Some(c) = cluster {
        doc["routing_control_cluster"] = serde_json::to_value(c)
            .map_err(|e| LifeboatError::internal(format!("cannot serialise the ARC cluster: {e}")))?;
    }
    if let Some(a) = store.load_approval().await? {
        doc["approval"] = serde_json::to_value(a)
            .map_err(|e| LifeboatError::internal(format!("cannot serialise the approval: {e}")))?;
    }
    parse_registry_value(&doc)
        .map_err(|e| LifeboatError::invalid(format!("the registry table holds an invalid registry: {e}")))
}

/// What validate reads through.
#[derive(Clone, Copy)]
pub struct ValidatePorts<'a> {
    /// The services these ports are of (their member accounts' ports come from it).
    pub services: &'a crate::services::Services,
    pub registry: &'a dyn RegistryStore,
    pub dns: &'a dyn DnsReader,
    /// Route 53 read best-effort (one short attempt): a disaster run's reader.
    pub dns_best_effort: &'a dyn DnsReader,
    pub alarms: &'a dyn AlarmStates,
    pub arc: &'a dyn RoutingControls,
    /// Route 53 health checks, and the same read best-effort (a disaster run's).
    pub health: &'a dyn HealthChecks,
    pub health_best_effort: &'a dyn HealthChecks,
    /// The databases a plan's steps need.
    pub databases: &'a dyn Databases,
    /// What the deployed stack's policy grants.
    pub deployed: &'a crate::deployed_scope::DeployedScope,
    /// Where alarm events may come from.
    pub origin: &'a TriggerOrigin,
    /// Where a follow-up's run recorded it.
    pub journal: &'a dyn Journal,
    /// An alarm event older than this is refused as late.
    pub max_trigger_age_seconds: u32,
    /// The execution's timeout (the lease lasts as long): a plan must fit in it.
    pub timeout_seconds: u64,
}

/// Reads the record sets and the routing controls the selected apps use. In
/// a disaster, Route 53's API not answering is noted, not fatal: weighted
/// apps then cannot move, routing-control apps can.
pub async fn observe(
    ports: ValidatePorts<'_>,
    registry: &Registry,
    apps: &[&Application],
    disaster: bool,
) -> Result<Observed, LifeboatError> {
    let keys: Vec<RecordKey> = apps
        .iter()
        .flat_map(|a| a.dns.iter())
        .flat_map(|p| [p.key(Side::Primary), p.key(Side::Secondary)])
        .collect();
    let mut observed = Observed::default();
    let arns: Vec<String> = apps
        .iter()
        .filter_map(|a| a.routing_controls())
        .flat_map(|rc| [rc.primary.clone(), rc.secondary.clone()])
        .collect();
    if !arns.is_empty() {
        let cluster = registry.routing_control_cluster.as_ref().ok_or_else(|| {
            LifeboatError::invalid("apps use routing controls but the registry has no routing_control_cluster")
        })?;
        // Start with the endpoint in the Region the run executes in: the recovery Region.
        let region = apps.first().map(|a| a.regions.secondary.clone()).unwrap_or_default();
        let answer = ports
            .arc
            .states(&cluster.endpoints_from(&region), &arns)
            .await
            .map_err(|e| match e {
                AwsError::Unavailable(m) => LifeboatError::new(ErrorName::NotReady, m),
                other => other.into(),
            })?;
        tracing::info!(endpoint_region = %answer.endpoint_region, skipped = ?answer.skipped, "read routing controls");
        observed.controls = answer.value;
    }
    let reader = if disaster { ports.dns_best_effort } else { ports.dns };
    match read_records(reader, keys.iter()).await {
        Ok(records) => observed.records = records,
        Err(e) if disaster && e.is_unavailable() => {
            tracing::warn!(error = %e, "Route 53's API did not answer: going on without it");
            observed.route53_unavailable = Some(e.to_string());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(observed)
}

impl crate::services::Services {
    pub fn validate_ports(&self) -> ValidatePorts<'_> {
        ValidatePorts {
            services: self,
            registry: &*self.registry,
            dns: &*self.dns_read,
            dns_best_effort: &*self.dns_read_best_effort,
            alarms: &*self.alarms,
            arc: &*self.arc,
            health: &*self.health,
            health_best_effort: &*self.health_best_effort,
            databases: &*self.databases,
            deployed: &self.settings.deployed,
            origin: &self.settings.trigger_origin,
            journal: &*self.journal,
            max_trigger_age_seconds: self.settings.max_trigger_age_seconds,
            timeout_seconds: u64::from(self.settings.lease_ttl_seconds),
        }
    }
}

/// The request a trigger makes, if it may run at all: from an allowed
/// origin, well formed, not late, and (a follow-up) one its run recorded.
/// Reads nothing but, for a follow-up, the journal.
pub async fn admit(ports: ValidatePorts<'_>, input: &ValidateInput) -> Result<Request, LifeboatError> {
    check_alarm_origin(&input.trigger, ports.origin)?;
    let mut request = normalize_trigger(&input.trigger)?;
    if let Some(f) = follow_up_of(input) {
        request.source = f.source_for(&input.run_id);
    }
    let now = input.started_at.unwrap_or_else(Utc::now);
    check_trigger_age(&request, now, ports.max_trigger_age_seconds)?;
    if request.trigger == TriggerKind::FollowUp {
        check_follow_up(ports.journal, &input.trigger["follow_up"]).await?;
    }
    Ok(request)
}

/// A follow-up runs only as its run recorded it: the same alarms and apps.
/// Anyone who may put events or start executions could otherwise send one
/// that skips the cooldown and the operators' allow-list.
async fn check_follow_up(journal: &dyn Journal, given: &serde_json::Value) -> Result<(), LifeboatError> {
    let given: FollowUp = serde_json::from_value(given.clone())
        .map_err(|e| LifeboatError::invalid(format!("malformed follow_up: {e}")))?;
    let refused = |why: String| {
        LifeboatError::invalid(format!(
            "follow-up after run {} refused: {why}; a follow-up runs only as its run recorded it, nothing was changed",
            given.after_run
        ))
    };
    let Some(recorded) = crate::pending::recorded_follow_up(journal, &given.after_run).await? else {
        return Err(refused("that run recorded no follow-up".into()));
    };
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    if sorted(&given.apps) != sorted(&recorded.apps) || sorted(&given.alarms) != sorted(&recorded.alarms) {
        return Err(refused(format!(
            "it names apps [{}] and alarms [{}], the run recorded apps [{}] and alarms [{}]",
            given.apps.join(", "),
            given.alarms.join(", "),
            recorded.apps.join(", "),
            recorded.alarms.join(", ")
        )));
    }
    Ok(())
}

pub async fn validate(ports: ValidatePorts<'_>, input: ValidateInput) -> Result<ValidateOutput, LifeboatError> {
    let request = admit(ports, &input).await?;
    plan_request(ports, input, request).await
}

/// Plans an admitted request: the registry, what the apps' records and
/// routing controls say, and the checks a plan must pass.
pub async fn plan_request(
    ports: ValidatePorts<'_>,
    input: ValidateInput,
    request: Request,
) -> Result<ValidateOutput, LifeboatError> {
    let ctx = PlanContext {
        run_id: input.run_id.clone(),
        now: input.started_at.unwrap_or_else(Utc::now),
    };
    if request.ignore.is_some() {
        let empty = Registry {
            version: REGISTRY_VERSION,
            routing_control_cluster: None,
            approval: None,
            applications: vec![],
        };
        let plan = build_plan(&empty, &request, &Default::default(), &ctx)?;
        tracing::info!(run = %input.run_id, summary = %plan.summary, "trigger ignored");
        return Ok(ValidateOutput { plan });
    }
    let reg = load_registry(ports.registry).await?;
    let apps = select_apps(&reg, &request)?;
    // Each account's records and routing controls read as its role.
    let mut observed = Observed::default();
    let mut unassumable = Vec::new();
    for (account, group) in crate::services::by_account(apps.clone(), |a| a.account.as_ref()) {
        if let Some(a) = &account
            && let Err(why) = ports.services.accounts.assumable(ports.services, a).await
        {
            let names: Vec<&str> = group.iter().map(|g| g.name.as_str()).collect();
            unassumable.push(format!(
                "{}: role {} cannot be assumed, so no call for these apps can be made: {why}",
                names.join(", "),
                a.role_arn
            ));
            continue;
        }
        let member = ports.services.for_account(account.as_ref());
        observed.absorb(observe(member.validate_ports(), &reg, &group, request.mode == Mode::Disaster).await?);
    }
    if !unassumable.is_empty() {
        // What else those apps lack follows from the role: told alone.
        return Err(not_ready(&unassumable));
    }
    // Every check runs, and every problem of every app is told at once.
    let (mut plan, mut problems) = build_plan_noting_problems(&reg, &request, &observed, &ctx)?;
    plan.waited = waited(&input);
    if let Err(why) = plan.check_fits(ports.timeout_seconds) {
        problems.push(why);
    }
    for a in plan_apps(&plan) {
        if let Some(app) = reg.app(&a.app) {
            problems.extend(ports.deployed.gaps(app).into_iter().map(|g| format!("{}: {g}", a.app)));
        }
    }
    let members: Vec<Account> = plan.member_accounts().into_iter().cloned().collect();
    if members.is_empty() {
        problems.extend(account_problems(ports, &reg, &plan).await?);
    } else {
        problems.extend(account_problems(ports, &reg, &plan.of_account(None)).await?);
        for account in &members {
            let member = ports.services.for_account(Some(account));
            let plan = plan.of_account(Some(account));
            problems.extend(account_problems(member.validate_ports(), &reg, &plan).await?);
        }
    }
    if !problems.is_empty() {
        return Err(not_ready(&problems));
    }
    tracing::info!(run = %input.run_id, summary = %plan.summary, "plan ready");
    Ok(ValidateOutput { plan })
}

/// What one account's resources lack for `plan`, whose apps are that account's (`ports` its ports).
async fn account_problems(ports: ValidatePorts<'_>, reg: &Registry, plan: &Plan) -> Result<Vec<String>, LifeboatError> {
    let mut problems = missing_alarms(ports.alarms, plan).await?;
    problems.extend(missing_health_checks(ports, reg, plan).await?);
    problems
        .extend(crate::database::preflight_problems(ports.databases, ports.dns, ports.dns_best_effort, plan).await?);
    Ok(problems)
}

/// How long a follow-up's triggers waited before this validate, and why.
fn waited(input: &ValidateInput) -> Option<lifeboat_core::request::Waited> {
    let f = follow_up_of(input)?;
    let since = f.since?;
    let now = input.entered_at.or(input.started_at).unwrap_or_else(Utc::now);
    Some(lifeboat_core::request::Waited {
        since,
        seconds: (now - since).num_seconds().max(0),
        reason: f.waited_reason_for(&input.run_id),
    })
}

/// The follow-up this run's trigger is, if it is one.
fn follow_up_of(input: &ValidateInput) -> Option<FollowUp> {
    serde_json::from_value(input.trigger.get("follow_up")?.clone()).ok()
}

/// Takes the run lease for a plan that changes something (one run at a time;
/// alarm triggers also respect the cooldown after the last run). Another run
/// holding it, or the cooldown, is `Lifeboat.LeaseHeld`: the state machine
/// records the trigger and ignores it.
pub async fn take_lease(
    lease: &dyn RunLease,
    settings: &Settings,
    now: DateTime<Utc>,
    plan: &mut Plan,
) -> Result<(), LifeboatError> {
    if plan.empty || plan.dry_run {
        return Ok(());
    }
    let ttl = chrono::Duration::seconds(i64::from(settings.lease_ttl_seconds));
    // A follow-up is not held back by the cooldown: its alarms stayed in ALARM through the run.
    let respect_cooldown = plan.trigger == TriggerKind::Alarm;
    match lease.acquire(&plan.run_id, now, ttl, respect_cooldown).await? {
        LeaseOutcome::Acquired { epoch } => {
            tracing::info!(run = %plan.run_id, epoch, "lease taken");
            plan.lease_epoch = Some(epoch);
            Ok(())
        }
        LeaseOutcome::Held { holder, since, region } => Err(lease_held(&holder, since, region.as_deref())),
        LeaseOutcome::Cooldown { until, last_run } => Err(in_cooldown(&last_run, until)),
    }
}

fn lease_held(holder: &str, since: DateTime<Utc>, region: Option<&str>) -> LifeboatError {
    // Both Regions' state machines take the one lease: say whose run won.
    let place = region
        .map(|r| format!(" (a run of {r}'s state machine)"))
        .unwrap_or_default();
    LifeboatError::new(
        ErrorName::LeaseHeld,
        format!(
            "run {holder}{place} holds the lease since {since}: one run at a time, so this trigger is recorded \
             (an alarm's is kept for when the lease frees)"
        ),
    )
}

fn in_cooldown(last_run: &str, until: DateTime<Utc>) -> LifeboatError {
    LifeboatError::new(
        ErrorName::LeaseHeld,
        format!(
            "cooldown after run {last_run} until {until}: an alarm trigger in the cooldown is recorded and kept \
             for when it ends (a manual request is not held back by it)"
        ),
    )
}

/// Turns a trigger away before planning when the lease shows it would be
/// (another live run holds it, or the cooldown holds an alarm back): in a
/// burst of alarms, every one but the first then costs one read, not a plan.
/// Taking the lease after planning stays the decision; this only saves work.
pub fn peek_lease(
    state: &LeaseState,
    run_id: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(), LifeboatError> {
    if request.dry_run || request.ignore.is_some() {
        return Ok(());
    }
    if let (Some(holder), Some(expires)) = (&state.holder, state.expires_at)
        && holder != run_id
        && expires >= now
    {
        return Err(lease_held(
            holder,
            state.acquired_at.unwrap_or(now),
            state.holder_region.as_deref(),
        ));
    }
    if request.trigger == TriggerKind::Alarm
        && state.holder.is_none()
        && let Some(until) = state.cooldown_until.filter(|u| *u > now)
    {
        return Err(in_cooldown(state.last_run.as_deref().unwrap_or("?"), until));
    }
    Ok(())
}

/// Every verification alarm must exist in the Region it will be read in.
async fn missing_alarms(alarms: &dyn AlarmStates, plan: &Plan) -> Result<Vec<String>, LifeboatError> {
    // Each app's alarms, by the Region they are read in.
    let mut by_region: BTreeMap<&str, Owners> = BTreeMap::new();
    for a in plan_apps(plan) {
        let names = by_region.entry(a.verification.region.as_str()).or_default();
        for n in &a.verification.alarms {
            add_owner(names, n, &a.app);
        }
    }
    let mut missing = Vec::new();
    for (region, names) in by_region {
        if names.is_empty() {
            continue;
        }
        let wanted: Vec<String> = names.keys().cloned().collect();
        let found = alarms.alarm_states(region, &wanted).await?;
        for (name, apps) in names.iter().filter(|(n, _)| !found.contains_key(*n)) {
            missing.push(format!(
                "{}: verification alarm {name} not found in {region}: create it or fix verification.alarms",
                apps.join(", ")
            ));
        }
    }
    Ok(missing)
}

/// Every health check the registry names for a moving app's target must
/// exist: otherwise the run would move traffic, fail to read it
/// (NoSuchHealthCheck) and roll back. In a disaster Route 53's API may not
/// answer: then they are not checked here (verification reads them
/// best-effort too).
async fn missing_health_checks(
    ports: ValidatePorts<'_>,
    reg: &Registry,
    plan: &Plan,
) -> Result<Vec<String>, LifeboatError> {
    let mut owners = Owners::new();
    for a in plan_apps(plan) {
        let named = reg
            .app(&a.app)
            .and_then(|r| r.verification.health_checks.get(a.target).as_ref());
        if let Some(id) = named {
            add_owner(&mut owners, id, &a.app);
        }
    }
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = owners.keys().cloned().collect();
    let disaster = plan.mode == Mode::Disaster;
    let reader = if disaster {
        ports.health_best_effort
    } else {
        ports.health
    };
    let missing = match reader.missing(&ids).await {
        Ok(m) => m,
        Err(e) if disaster && e.is_unavailable() => {
            tracing::warn!(error = %e, "Route 53's API did not answer: health checks not checked before the run");
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    Ok(missing
        .iter()
        .map(|id| {
            format!(
                "{}: health check {id} does not exist in Route 53: fix verification.health_checks",
                owners.get(id).map(|a| a.join(", ")).unwrap_or_default()
            )
        })
        .collect())
}

/// The apps that name each resource, in plan order, each once: a missing
/// resource is told once, naming every app it would fail.
type Owners<'a> = BTreeMap<String, Vec<&'a str>>;

fn add_owner<'a>(owners: &mut Owners<'a>, resource: &str, app: &'a str) {
    let apps = owners.entry(resource.to_string()).or_default();
    if !apps.contains(&app) {
        apps.push(app);
    }
}

fn plan_apps(plan: &Plan) -> impl Iterator<Item = &lifeboat_core::plan::AppMove> {
    plan.phases
        .iter()
        .flat_map(|p| p.waves.iter())
        .flat_map(|w| w.apps.iter())
}

/// One error for every problem found, one line each.
fn not_ready(problems: &[String]) -> LifeboatError {
    // A drill's two phases may find the same problem twice: told once.
    let mut seen = std::collections::BTreeSet::new();
    let problems: Vec<&String> = problems.iter().filter(|p| seen.insert(p.as_str())).collect();
    let n = problems.len();
    LifeboatError::invalid(format!(
        "the recovery Region is not ready, nothing was changed ({n} problem{}):\n{}",
        if n == 1 { "" } else { "s" },
        problems
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fake_services, registry};
    use serde_json::json;

    async fn run(trigger: serde_json::Value) -> Result<ValidateOutput, LifeboatError> {
        let (s, f) = fake_services();
        f.registry.put_apps(&registry().applications).await.unwrap();
        f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
        validate(
            s.validate_ports(),
            ValidateInput {
                run_id: "r1".into(),
                ..ValidateInput::of(trigger)
            },
        )
        .await
    }

    /// A record, an alarm and a health check wrong in two apps: one refusal
    /// naming all three, one line each, before anything changes.
    #[tokio::test]
    async fn every_problem_of_every_app_is_told_at_once() {
        let (s, f) = fake_services();
        let text = crate::test_support::REGISTRY
            .replace("secondary: web-usw2", "secondary: web-usw9")
            .replace("secondary: hc-api-usw2", "secondary: hc-nope");
        let reg = lifeboat_core::registry::parse_registry(&text).unwrap();
        f.registry.put_apps(&reg.applications).await.unwrap();
        // api-usw2-5xx is not made: the alarm is missing too.
        let e = validate(s.validate_ports(), ValidateInput::of(json!({"action": "failover"})))
            .await
            .unwrap_err();
        assert_eq!(e.name, lifeboat_core::ErrorName::InvalidRequest);
        let lines: Vec<&str> = e.message.lines().collect();
        assert_eq!(
            lines,
            [
                "the recovery Region is not ready, nothing was changed (3 problems):",
                "  - web: dns[0] secondary record www.example.org. CNAME (web-usw9) in zone Z2 does not exist in Route 53",
                "  - api: verification alarm api-usw2-5xx not found in us-west-2: create it or fix verification.alarms",
                "  - api: health check hc-nope does not exist in Route 53: fix verification.health_checks",
            ],
            "{}",
            e.message
        );
        assert_eq!(f.r53.weight("Z1", "api.example.com.", "api-use1"), Some(100));
    }

    #[tokio::test]
    async fn a_plan_that_cannot_finish_within_the_execution_timeout_is_refused_naming_the_apps() {
        let (s, f) = fake_services();
        let mut reg = registry();
        // web's verification may take a day: no run of it fits in 7,200 s.
        reg.applications[1].verification.deadline_seconds = 86_400;
        reg.applications[1].verification.interval_seconds = 60;
        f.registry.put_apps(&reg.applications).await.unwrap();
        f.alarms.set("us-west-2", "api-usw2-5xx", "OK");
        let e = validate(
            s.validate_ports(),
            ValidateInput {
                run_id: "r1".into(),
                ..ValidateInput::of(json!({"action": "failover"}))
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.name, lifeboat_core::ErrorName::InvalidRequest);
        assert!(
            e.message.contains("over the execution's timeout of 7200 s"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("web (database 0 s, capacity 0 s, verification 86400 s)"),
            "{}",
            e.message
        );
        // api alone fits.
        let ok = validate(
            s.validate_ports(),
            ValidateInput {
                run_id: "r2".into(),
                ..ValidateInput::of(json!({"action": "failover", "apps": ["api"]}))
            },
        )
        .await;
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[tokio::test]
    async fn a_manual_failover_plans_both_apps_in_dependency_order() {
        let out = run(json!({"action": "failover"})).await.unwrap();
        let waves: Vec<Vec<&str>> = out.plan.phases[0]
            .waves
            .iter()
            .map(|w| w.apps.iter().map(|a| a.app.as_str()).collect())
            .collect();
        assert_eq!(waves, vec![vec!["api"], vec!["web"]]);
        assert_eq!(out.plan.run_id, "r1");
    }

    #[tokio::test]
    async fn an_alarm_in_ok_state_gives_an_empty_plan() {
        let ev = json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "detail": {"alarmName": "api-use1-5xx", "state": {"value": "OK", "reason": "r", "timestamp": "2026-11-26T10:00:00.000+0000"}, "configuration": {}}});
        let out = run(ev).await.unwrap();
        assert!(out.plan.empty);
    }

    #[tokio::test]
    async fn a_missing_verification_alarm_is_reported_before_anything_changes() {
        let (s, f) = fake_services();
        f.registry.put_apps(&registry().applications).await.unwrap();
        let err = validate(s.validate_ports(), ValidateInput::of(json!({"action": "failover"})))
            .await
            .unwrap_err();
        assert!(err.message.contains("api-usw2-5xx not found in us-west-2"), "{err}");
        assert!(f.r53.batches.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_empty_registry_says_how_to_fill_it() {
        let (s, _) = fake_services();
        let err = validate(s.validate_ports(), ValidateInput::of(json!({"action": "failover"})))
            .await
            .unwrap_err();
        assert!(err.message.contains("lifeboat registry apply"), "{err}");
    }

    fn plan_of(trigger: TriggerKind, run_id: &str) -> Plan {
        let mut p = lifeboat_core::plan::build_plan(
            &registry(),
            // An alarm back to OK plans nothing and needs no records: a bare plan to take the lease for.
            &lifeboat_core::request::normalize_trigger(&json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
                "detail": {"alarmName": "a", "state": {"value": "OK", "reason": "r", "timestamp": "2026-11-26T10:00:00.000+0000"}, "configuration": {}}}))
            .unwrap(),
            &Default::default(),
            &lifeboat_core::plan::PlanContext { run_id: run_id.into(), now: Utc::now() },
        )
        .unwrap_or_else(|_| panic!("plan"));
        p.empty = false;
        p.trigger = trigger;
        p
    }

    #[tokio::test]
    async fn one_run_at_a_time_and_alarms_wait_for_the_cooldown() {
        let lease = lifeboat_aws::fakes::FakeLease::default();
        let settings = Settings::default();
        let now = Utc::now();
        let mut first = plan_of(TriggerKind::Alarm, "run-1");
        take_lease(&lease, &settings, now, &mut first).await.unwrap();
        assert_eq!(first.lease_epoch, Some(1));
        // A retried validate of the same run takes it again.
        take_lease(&lease, &settings, now, &mut first).await.unwrap();
        let mut second = plan_of(TriggerKind::Alarm, "run-2");
        let err = take_lease(&lease, &settings, now, &mut second).await.unwrap_err();
        assert_eq!(err.name, ErrorName::LeaseHeld);
        assert!(err.message.contains("run run-1 holds the lease"), "{err}");
        // Released: an alarm in the cooldown is held back, a manual request is not.
        lifeboat_aws::ports::RunLease::release(&lease, "run-1", now, chrono::Duration::seconds(900))
            .await
            .unwrap();
        let err = take_lease(&lease, &settings, now + chrono::Duration::seconds(60), &mut second)
            .await
            .unwrap_err();
        assert!(err.message.contains("cooldown after run run-1"), "{err}");
        let mut manual = plan_of(TriggerKind::Manual, "run-3");
        take_lease(&lease, &settings, now + chrono::Duration::seconds(60), &mut manual)
            .await
            .unwrap();
        assert!(manual.lease_epoch.is_some());
    }

    #[tokio::test]
    async fn an_expired_lease_is_free_and_dry_runs_take_none() {
        let lease = lifeboat_aws::fakes::FakeLease::default();
        let settings = Settings {
            lease_ttl_seconds: 60,
            ..Settings::default()
        };
        let now = Utc::now();
        take_lease(&lease, &settings, now, &mut plan_of(TriggerKind::Manual, "dead-run"))
            .await
            .unwrap();
        let mut next = plan_of(TriggerKind::Manual, "next-run");
        take_lease(&lease, &settings, now + chrono::Duration::seconds(61), &mut next)
            .await
            .unwrap();
        assert_eq!(next.lease_epoch, Some(2));
        let mut dry = plan_of(TriggerKind::Manual, "dry");
        dry.dry_run = true;
        take_lease(&lease, &settings, now, &mut dry).await.unwrap();
        assert_eq!(dry.lease_epoch, None);
    }
}
