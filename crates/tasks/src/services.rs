//! What a task invocation needs: the ports, built fresh per invocation so its
//! AWS calls are counted on their own, and the settings read once at start.

use lifeboat_aws::CallCounter;
use lifeboat_aws::arc::ArcCluster;
use lifeboat_aws::capacity::AwsCapacity;
use lifeboat_aws::clients::AwsClients;
use lifeboat_aws::cloudwatch::CloudWatch;
use lifeboat_aws::dynamodb::{DynamoJournal, DynamoLease, DynamoRegistry};
use lifeboat_aws::ports::{
    AlarmStates, Capacity, Databases, DnsReader, DnsWriter, Functions, HealthChecks, HttpProbe, Journal, Metrics,
    Notifier, RegistryStore, ReplicationLag, RoutingControls, RunLease,
};
use lifeboat_aws::rds::Rds;
use lifeboat_aws::route53::Route53;
use lifeboat_core::LifeboatError;
use lifeboat_core::plan::AppMove;
use lifeboat_core::registry::Account;
use std::sync::Arc;

/// The longest a cooldown may hold a disaster back: a failover an alarm asks
/// for a minute after a failback ended starts at once.
pub const MAX_COOLDOWN_SECONDS: u32 = 60;

/// Settings read from the environment once, in main (never inside a handler).
#[derive(Debug, Clone)]
pub struct Settings {
    pub registry_table: String,
    pub journal_table: String,
    /// The run lease: on AWS a global table with multi-Region strong
    /// consistency, so both Regions' runs contend for one lease.
    pub lease_table: String,
    /// Where the lease is written when it is not this Region's replica: the
    /// fallback for Regions without strong consistency (a third Region, never
    /// the primary). None: this Region.
    pub lease_region: Option<String>,
    /// After a failback, alarm triggers wait this long (at most
    /// [`MAX_COOLDOWN_SECONDS`]) before a run may fail over again: a guard
    /// against flapping between opposite moves. No other run starts one.
    pub cooldown_seconds: u32,
    /// A lease older than this is taken to belong to a run that died.
    pub lease_ttl_seconds: u32,
    /// Where alarm events may come from (empty: anywhere, as locally).
    pub trigger_origin: lifeboat_core::request::TriggerOrigin,
    /// An alarm event older than this when its execution starts is refused as late.
    pub max_trigger_age_seconds: u32,
    /// What the deployed stack's policy grants (routing controls, zones, KMS keys).
    pub deployed: crate::deployed_scope::DeployedScope,
    /// The SNS topic told when a run waits for approval (none: the log and the CLI only).
    pub approval_topic: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            registry_table: "lifeboat-registry".into(),
            journal_table: "lifeboat-journal".into(),
            lease_table: "lifeboat-lease".into(),
            lease_region: None,
            cooldown_seconds: MAX_COOLDOWN_SECONDS,
            // The state machine's own TimeoutSeconds.
            lease_ttl_seconds: lifeboat_core::timing::EXECUTION_TIMEOUT_SECONDS as u32,
            trigger_origin: Default::default(),
            max_trigger_age_seconds: lifeboat_core::request::DEFAULT_MAX_TRIGGER_AGE_SECONDS,
            deployed: Default::default(),
            approval_topic: None,
        }
    }
}

impl Settings {
    /// The cooldown a run's end starts: after a failback only (a failover
    /// right after it would be flapping); a failover or a drill starts none.
    pub fn cooldown_after(&self, action: Option<lifeboat_core::request::Action>) -> chrono::Duration {
        match action {
            Some(lifeboat_core::request::Action::Failback) => {
                chrono::Duration::seconds(i64::from(self.cooldown_seconds))
            }
            _ => chrono::Duration::zero(),
        }
    }

    /// `LIFEBOAT_REGISTRY_TABLE`, `LIFEBOAT_JOURNAL_TABLE`, `LIFEBOAT_LEASE_TABLE`, `LIFEBOAT_LEASE_REGION`, `LIFEBOAT_COOLDOWN_SECONDS`, `LIFEBOAT_LEASE_TTL_SECONDS`,
    /// `LIFEBOAT_TRIGGER_ACCOUNT`, `LIFEBOAT_TRIGGER_REGIONS` (comma-separated), `LIFEBOAT_MAX_TRIGGER_AGE_SECONDS`. A number that does not
    /// parse is an error naming the variable, at start-up, not a silent default.
    pub fn from_env() -> Result<Self, LifeboatError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`Settings::from_env`], from any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, LifeboatError> {
        let d = Settings::default();
        let num = |name: &str, default: u32| -> Result<u32, LifeboatError> {
            match var(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| {
                    LifeboatError::invalid(format!(
                        "{name}={v:?} is not a whole number of seconds (0 to {}); unset it for the default {default}",
                        u32::MAX
                    ))
                }),
            }
        };
        let lease_ttl_seconds = num("LIFEBOAT_LEASE_TTL_SECONDS", d.lease_ttl_seconds)?;
        if lease_ttl_seconds == 0 {
            return Err(LifeboatError::invalid(
                "LIFEBOAT_LEASE_TTL_SECONDS=0: a lease must last as long as a run may (the state machine's TimeoutSeconds)",
            ));
        }
        let cooldown_seconds = num("LIFEBOAT_COOLDOWN_SECONDS", d.cooldown_seconds)?;
        if cooldown_seconds > MAX_COOLDOWN_SECONDS {
            return Err(LifeboatError::invalid(format!(
                "LIFEBOAT_COOLDOWN_SECONDS={cooldown_seconds}: the cooldown after a failback may hold a disaster \
                 failover back by at most {MAX_COOLDOWN_SECONDS} s; set 0 to {MAX_COOLDOWN_SECONDS}"
            )));
        }
        Ok(Settings {
            registry_table: var("LIFEBOAT_REGISTRY_TABLE").unwrap_or(d.registry_table),
            journal_table: var("LIFEBOAT_JOURNAL_TABLE").unwrap_or(d.journal_table),
            lease_table: var("LIFEBOAT_LEASE_TABLE").unwrap_or(d.lease_table),
            lease_region: match var("LIFEBOAT_LEASE_REGION").filter(|r| !r.trim().is_empty()) {
                Some(r) if !lifeboat_core::registry::regions::is_known_region(&r) => {
                    return Err(LifeboatError::invalid(format!(
                        "LIFEBOAT_LEASE_REGION: {}",
                        lifeboat_core::registry::regions::unknown_region_message(&r)
                    )));
                }
                other => other,
            },
            cooldown_seconds,
            lease_ttl_seconds,
            max_trigger_age_seconds: num("LIFEBOAT_MAX_TRIGGER_AGE_SECONDS", d.max_trigger_age_seconds)?,
            deployed: crate::deployed_scope::DeployedScope::from_vars(&var),
            approval_topic: var("LIFEBOAT_APPROVAL_TOPIC").filter(|t| !t.trim().is_empty()),
            trigger_origin: lifeboat_core::request::TriggerOrigin {
                account: var("LIFEBOAT_TRIGGER_ACCOUNT").filter(|a| !a.is_empty()),
                regions: var("LIFEBOAT_TRIGGER_REGIONS")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
        })
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn settings_that_do_not_parse_are_an_error_naming_the_variable() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let s = Settings::from_vars(vars(&[
            ("LIFEBOAT_COOLDOWN_SECONDS", " 60 "),
            ("LIFEBOAT_TRIGGER_REGIONS", "a, b"),
        ]))
        .unwrap();
        assert_eq!((s.cooldown_seconds, s.lease_ttl_seconds), (60, 7200));
        assert_eq!(s.trigger_origin.regions, ["a", "b"]);
        assert_eq!(
            (s.lease_table.as_str(), s.lease_region.as_deref()),
            ("lifeboat-lease", None)
        );
        let pinned = Settings::from_vars(vars(&[
            ("LIFEBOAT_LEASE_TABLE", "stack-lease"),
            ("LIFEBOAT_LEASE_REGION", "us-east-2"),
        ]))
        .unwrap();
        assert_eq!(
            (pinned.lease_table.as_str(), pinned.lease_region.as_deref()),
            ("stack-lease", Some("us-east-2"))
        );
        let typo = Settings::from_vars(vars(&[("LIFEBOAT_LEASE_REGION", "us-est-2")])).unwrap_err();
        assert!(typo.message.contains("did you mean us-east-2?"), "{}", typo.message);
        // The template passes an empty LeaseRegion when the lease is not pinned.
        let unpinned = Settings::from_vars(vars(&[("LIFEBOAT_LEASE_REGION", "")])).unwrap();
        assert_eq!(unpinned.lease_region, None);
        for (name, value) in [
            ("LIFEBOAT_COOLDOWN_SECONDS", "15m"),
            ("LIFEBOAT_COOLDOWN_SECONDS", "-1"),
            ("LIFEBOAT_COOLDOWN_SECONDS", "900"),
            ("LIFEBOAT_MAX_TRIGGER_AGE_SECONDS", "15 minutes"),
            ("LIFEBOAT_LEASE_TTL_SECONDS", "two hours"),
            ("LIFEBOAT_LEASE_TTL_SECONDS", "0"),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(name, value)]));
            let e = Settings::from_vars(vars(pairs)).unwrap_err();
            assert!(e.message.contains(name), "{}", e.message);
        }
    }
}

/// The ports one invocation uses, and the counter of its AWS calls.
#[derive(Clone)]
pub struct Services {
    pub registry: Arc<dyn RegistryStore>,
    pub journal: Arc<dyn Journal>,
    pub lease: Arc<dyn RunLease>,
    pub dns_read: Arc<dyn DnsReader>,
    /// Route 53 reads a disaster run can do without: one short attempt.
    pub dns_read_best_effort: Arc<dyn DnsReader>,
    pub dns_write: Arc<dyn DnsWriter>,
    pub health: Arc<dyn HealthChecks>,
    /// Health checks read best-effort (one short attempt), for disaster runs.
    pub health_best_effort: Arc<dyn HealthChecks>,
    /// The ARC cluster's routing controls (data plane only).
    pub arc: Arc<dyn RoutingControls>,
    /// HTTP(S) probes of application endpoints.
    pub http: Arc<dyn HttpProbe>,
    /// The probe's metrics and alarms.
    pub metrics: Arc<dyn Metrics>,
    pub alarms: Arc<dyn AlarmStates>,
    pub databases: Arc<dyn Databases>,
    pub lag: Arc<dyn ReplicationLag>,
    /// Auto Scaling groups and ECS services, in the Region that takes over.
    pub capacity: Arc<dyn Capacity>,
    /// The same, read best-effort (one short attempt): the source Region, which may be dark.
    pub capacity_source: Arc<dyn Capacity>,
    /// SNS, to tell people a run waits for them.
    pub notifier: Arc<dyn Notifier>,
    /// Lambda, to run the apps' hooks.
    pub functions: Arc<dyn Functions>,
    pub counter: CallCounter,
    pub settings: Settings,
    /// The SDK configuration these services were built from (for other clients).
    pub sdk_config: aws_config::SdkConfig,
    /// The ports of the member accounts apps live in (their roles assumed).
    pub accounts: Arc<dyn MemberAccounts>,
}

/// The ports for apps of another account: each made as that account's role.
#[async_trait::async_trait]
pub trait MemberAccounts: Send + Sync {
    /// Whether `account`'s role can be assumed, and is the account it names: why not.
    async fn assumable(&self, home: &Services, account: &Account) -> Result<(), String>;
    /// `home`'s app-facing ports (records, health checks, routing controls,
    /// alarms and metrics, databases, capacity, functions) as `account`'s
    /// role; lifeboat's own (registry, journal, lease, SNS) stay `home`'s.
    fn services_as(&self, home: &Services, account: &Account) -> Services;
}

/// No member accounts: every app's calls are made as lifeboat's own role
/// (the unit tests' fakes, and a CLI that touches only its own tables).
pub struct OwnAccountOnly;

#[async_trait::async_trait]
impl MemberAccounts for OwnAccountOnly {
    async fn assumable(&self, _home: &Services, _account: &Account) -> Result<(), String> {
        Ok(())
    }
    fn services_as(&self, home: &Services, _account: &Account) -> Services {
        home.clone()
    }
}

impl Services {
    /// The services for calls about `app`: its member account's, or these.
    pub fn for_app(&self, app: &AppMove) -> Services {
        self.for_account(app.account.as_ref())
    }

    /// The services for calls about resources of `account` (none: lifeboat's own).
    pub fn for_account(&self, account: Option<&Account>) -> Services {
        match account {
            None => self.clone(),
            Some(a) => {
                let member = self.accounts.services_as(self, a);
                Services {
                    registry: self.registry.clone(),
                    journal: self.journal.clone(),
                    lease: self.lease.clone(),
                    notifier: self.notifier.clone(),
                    http: self.http.clone(),
                    counter: self.counter.clone(),
                    settings: self.settings.clone(),
                    accounts: self.accounts.clone(),
                    ..member
                }
            }
        }
    }
}

/// `items` grouped by the account each belongs to, lifeboat's own first,
/// each group in the items' order: one batch of calls per account.
pub fn by_account<T>(items: Vec<T>, account: impl Fn(&T) -> Option<&Account>) -> Vec<(Option<Account>, Vec<T>)> {
    let mut groups: std::collections::BTreeMap<Option<Account>, Vec<T>> = Default::default();
    for item in items {
        let key = account(&item).cloned();
        groups.entry(key).or_default().push(item);
    }
    groups.into_iter().collect()
}

/// Makes [`Services`] for each invocation.
pub trait ServicesFactory: Send + Sync {
    fn services(&self) -> Services;
}

/// Real AWS (or the emulator `AWS_ENDPOINT_URL` points at).
#[derive(Clone)]
pub struct AwsServicesFactory {
    pub config: aws_config::SdkConfig,
    /// The HTTP(S) prober, built once (its connection pool is shared).
    pub http: Arc<dyn HttpProbe>,
    pub settings: Settings,
    /// Every invocation's calls also count here (the whole local run's total).
    pub run_counter: CallCounter,
    /// Member accounts' roles, assumed once for the factory's life (the
    /// Lambda's process, the local run) and refreshed before they expire.
    pub assumed: lifeboat_aws::accounts::AssumedRoles,
    /// The member account its configuration acts in (None: the functions' own).
    pub member: Option<String>,
}

impl AwsServicesFactory {
    /// A factory over `config`, with the standard prober (5 s a probe).
    pub fn new(config: aws_config::SdkConfig, settings: Settings, run_counter: CallCounter) -> Self {
        AwsServicesFactory {
            config,
            http: default_prober(),
            settings,
            run_counter,
            assumed: Default::default(),
            member: None,
        }
    }
}

impl std::fmt::Debug for AwsServicesFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsServicesFactory")
            .field("settings", &self.settings)
            .finish()
    }
}

/// How long a probe waits for an answer.
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The HTTP(S) prober; without TLS roots it still probes plain HTTP and
/// reports every HTTPS probe as failed, saying why.
pub fn default_prober() -> Arc<dyn HttpProbe> {
    match lifeboat_aws::probe::HyperProbe::new(PROBE_TIMEOUT) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::warn!(error = %e, "HTTP probes unavailable");
            Arc::new(NoProbe(e))
        }
    }
}

/// A prober that cannot probe, and says why.
struct NoProbe(String);

#[async_trait::async_trait]
impl HttpProbe for NoProbe {
    async fn get(&self, _url: &str) -> lifeboat_aws::ports::ProbeAnswer {
        lifeboat_aws::ports::ProbeAnswer {
            status: None,
            error: Some(self.0.clone()),
            millis: 0,
        }
    }
}

impl ServicesFactory for AwsServicesFactory {
    fn services(&self) -> Services {
        let counter = self.run_counter.child();
        let accounts = Arc::new(AwsMemberAccounts {
            home_config: self.config.clone(),
            counter: counter.clone(),
            assumed: self.assumed.clone(),
            made: Default::default(),
        });
        self.build(&self.config, counter, accounts)
    }
}

/// Member accounts on AWS: each role assumed through the STS endpoint of
/// the Region lifeboat runs in, its session kept for the process
/// ([`lifeboat_aws::accounts`]); each account's ports built once an invocation.
struct AwsMemberAccounts {
    home_config: aws_config::SdkConfig,
    /// The invocation's counter: the member's calls (and AssumeRole) count with lifeboat's own.
    counter: CallCounter,
    assumed: lifeboat_aws::accounts::AssumedRoles,
    made: std::sync::Mutex<std::collections::HashMap<Account, Services>>,
}

#[async_trait::async_trait]
impl MemberAccounts for AwsMemberAccounts {
    /// GetCallerIdentity as the role: the AssumeRole its credentials need, then the account they act in.
    async fn assumable(&self, home: &Services, account: &Account) -> Result<(), String> {
        let member = self.services_as(home, account);
        let sts = AwsClients::new(&member.sdk_config, member.counter.clone()).sts();
        let who = sts.get_caller_identity().send().await.map_err(|e| {
            lifeboat_aws::AwsError::from_sdk(&format!("STS GetCallerIdentity as {}", account.role_arn), e).to_string()
        })?;
        match who.account() {
            Some(id) if id == account.id() => Ok(()),
            other => Err(format!(
                "its credentials act in account {}, not {}",
                other.unwrap_or("unknown"),
                account.id()
            )),
        }
    }

    fn services_as(&self, home: &Services, account: &Account) -> Services {
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = made.get(account) {
            return s.clone();
        }
        let region = home
            .sdk_config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string());
        let config = self.assumed.config(&self.home_config, account, &region, &self.counter);
        let factory = AwsServicesFactory {
            config: config.clone(),
            http: home.http.clone(),
            settings: home.settings.clone(),
            run_counter: CallCounter::new(),
            assumed: self.assumed.clone(),
            member: Some(account.id().to_string()),
        };
        // Its calls count with the invocation's, and in the role's own tally.
        let counter = self
            .counter
            .child_also(&lifeboat_aws::accounts::member_calls(&account.role_arn));
        let s = factory.build(&config, counter, Arc::new(OwnAccountOnly));
        made.insert(account.clone(), s.clone());
        s
    }
}

impl AwsServicesFactory {
    /// Every port over `config`, counting into `counter`.
    fn build(
        &self,
        config: &aws_config::SdkConfig,
        counter: CallCounter,
        accounts: Arc<dyn MemberAccounts>,
    ) -> Services {
        let clients = AwsClients::new(config, counter);
        let route53 = Arc::new(Route53::new(clients.route53.clone()));
        let route53_best_effort = Arc::new(Route53::new(clients.route53_best_effort()));
        let rds = Arc::new(match &self.member {
            Some(account) => Rds::in_member_account(clients.clone(), account),
            None => Rds::new(clients.clone()),
        });
        Services {
            registry: Arc::new(DynamoRegistry::new(
                clients.dynamodb.clone(),
                &self.settings.registry_table,
            )),
            journal: Arc::new(DynamoJournal::new(
                clients.dynamodb.clone(),
                &self.settings.journal_table,
            )),
            lease: Arc::new(
                DynamoLease::new(
                    match &self.settings.lease_region {
                        Some(region) => clients.dynamodb_in(region),
                        None => clients.dynamodb.clone(),
                    },
                    &self.settings.lease_table,
                )
                .for_region(clients.region()),
            ),
            dns_read: route53.clone(),
            dns_read_best_effort: route53_best_effort.clone(),
            dns_write: route53.clone(),
            health: route53,
            health_best_effort: route53_best_effort,
            alarms: Arc::new(CloudWatch::new(clients.clone())),
            metrics: Arc::new(CloudWatch::new(clients.clone())),
            http: self.http.clone(),
            databases: rds.clone(),
            lag: rds,
            capacity: Arc::new(AwsCapacity::new(clients.clone())),
            capacity_source: Arc::new(AwsCapacity::best_effort(clients.clone())),
            notifier: Arc::new(lifeboat_aws::notify::Sns::new(clients.clone())),
            functions: Arc::new(lifeboat_aws::functions::Lambda::new(clients.clone())),
            arc: Arc::new(ArcCluster::new(config.clone(), clients.counter.clone())),
            counter: clients.counter,
            settings: self.settings.clone(),
            sdk_config: config.clone(),
            accounts,
        }
    }
}
