//! The end-to-end test harness: one moto server per test binary (under
//! nextest, each test is its own process and so gets its own), isolation by
//! unique names, SDK configs that can only reach loopback, a fault-injecting
//! proxy, and helpers to run the real state machine definition.

#![allow(clippy::unwrap_used)] // test support: a failed setup should fail the test loudly

pub mod endpoint;
pub mod scale;

/// The fault-injecting proxy (shared with the demo's dark-Region chapter).
pub use lifeboat_sandbox::fault_proxy as proxy;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatch::types::StateValue;
use lifeboat::local::{self, LocalRun};
use lifeboat_aws::CallCounter;
use lifeboat_core::calls::ApiCalls;
use lifeboat_sandbox::emulator::MotoServer;
use lifeboat_sandbox::emulator::discovery::Discovery;
use lifeboat_sandbox::estate::{Estate, PRIMARY, SECONDARY, seed_estate};
use lifeboat_states::{Execution, VirtualClock};
use lifeboat_tasks::{AwsServicesFactory, Services, ServicesFactory, Settings};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// The Region the orchestrator runs in during tests (the recovery Region).
pub const REGION: &str = "us-west-2";

static MOTO: OnceLock<MotoServer> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The project's moto_server (its venv's, or `LIFEBOAT_MOTO_SERVER`).
pub fn moto_server_path() -> PathBuf {
    let bin = std::env::var("LIFEBOAT_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server"));
    if bin.exists() {
        return bin;
    }
    match Discovery::from_env().locate(&mut |line| eprintln!("{line}")) {
        Ok(Some(found)) => found.server,
        other => panic!("no moto server for the tests ({other:?}): run `make setup`"),
    }
}

/// The test binary's moto server, started on first use.
pub fn moto() -> &'static MotoServer {
    MOTO.get_or_init(|| {
        MotoServer::start(&moto_server_path()).unwrap_or_else(|e| panic!("cannot start the emulator: {e}"))
    })
}

/// A proxy in front of the shared emulator that answers the first
/// `failures` ChangeResourceRecordSets calls as Route 53 throttling does.
pub fn route53_throttling(failures: usize) -> proxy::FaultProxy {
    proxy::FaultProxy::start(
        moto().port(),
        proxy::change_resource_record_sets,
        failures,
        400,
        proxy::ROUTE53_THROTTLING,
    )
    .unwrap()
}

/// A proxy in front of the shared emulator with us-east-1 dark: every call
/// signed for it and every Route 53 API call answered 503.
pub fn us_east_1_dark() -> proxy::FaultProxy {
    proxy::FaultProxy::start(
        moto().port(),
        proxy::us_east_1_dark,
        usize::MAX,
        503,
        proxy::SERVICE_UNAVAILABLE,
    )
    .unwrap()
}

/// A name unique in this test binary, for tables, alarms and references.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// An SDK config for `endpoint`: dummy static credentials, explicit Region,
/// quick SDK retries (the state machine's own retries are under test). Its
/// calls meet the emulator's rate quotas, as lifeboat's do on AWS.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    config_with_key(endpoint, "test").await
}

/// The same, signed with the key the emulator's quotas leave alone: for
/// building a test's estate and looking at it, which lifeboat does not do.
pub async fn setup_config(endpoint: &str) -> SdkConfig {
    config_with_key(endpoint, lifeboat_sandbox::emulator::SETUP_ACCESS_KEY).await
}

async fn config_with_key(endpoint: &str, key: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_route53::config::Credentials::new(
            key,
            "test",
            None,
            None,
            "lifeboat-tests",
        ))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(5))
                .with_max_backoff(std::time::Duration::from_millis(20)),
        )
        .load()
        .await
}

/// A scaled estate (see [`scale::Scale`]) on the shared emulator, under
/// tables of its own: seeded, its registry applied, its journal and lease
/// tables made.
pub struct ScaledEnv {
    pub registry: lifeboat_core::registry::Registry,
    /// Names its tables.
    pub settings: Settings,
    /// Exempt from the emulator's quotas, for setting the scene.
    pub setup: SdkConfig,
    /// Services on `setup`, for checks.
    pub admin: Services,
}

impl ScaledEnv {
    pub async fn new(estate: &scale::Scale) -> ScaledEnv {
        let setup = setup_config(&moto().endpoint()).await;
        let registry = scale::seed(&setup, estate).await.unwrap();
        let name = &estate.name;
        let settings = Settings {
            registry_table: format!("{name}-registry"),
            journal_table: format!("{name}-journal"),
            lease_table: format!("{name}-lease"),
            ..Settings::default()
        };
        let admin = AwsServicesFactory::new(setup.clone(), settings.clone(), CallCounter::new()).services();
        lifeboat_tasks::apply_registry::apply_registry(&*admin.registry, &registry, false)
            .await
            .unwrap();
        admin.journal.ensure_table().await.unwrap();
        admin.lease.ensure_table().await.unwrap();
        ScaledEnv {
            registry,
            settings,
            setup,
            admin,
        }
    }
}

/// A seeded estate on the shared emulator, with its own registry and journal tables.
#[derive(Clone)]
pub struct TestEnv {
    /// For setting the scene and checking it, straight against the emulator
    /// and exempt from its quotas.
    pub config: SdkConfig,
    /// For lifeboat's own calls (the runs): through the endpoint the test
    /// chose (a proxy, maybe), subject to the emulator's quotas.
    pub run_config: SdkConfig,
    pub settings: Settings,
    pub estate: Estate,
    pub namespace: String,
    /// The account lifeboat's own tables are in (`config`'s, unless the
    /// estate lives in a member account).
    pub home_config: SdkConfig,
    /// The member account the whole estate lives in, if it does.
    pub member: Option<lifeboat_core::registry::Account>,
}

impl TestEnv {
    /// Seeds the sample estate (2 zones, 4 apps) and applies its registry.
    pub async fn new() -> TestEnv {
        Self::with_endpoint(&moto().endpoint()).await
    }

    pub async fn with_endpoint(endpoint: &str) -> TestEnv {
        Self::seeded(endpoint, false).await
    }

    /// The sample estate in member account 222233334444, every app naming
    /// its role; lifeboat's tables in the account it runs in. `config`
    /// builds and reads the member's estate; `admin()` reads both.
    pub async fn in_member_account() -> TestEnv {
        Self::seeded(&moto().endpoint(), true).await
    }

    /// As [`TestEnv::in_member_account`], lifeboat's calls through `endpoint` (a proxy).
    pub async fn in_member_account_with_endpoint(endpoint: &str) -> TestEnv {
        Self::seeded(endpoint, true).await
    }

    async fn seeded(endpoint: &str, in_member: bool) -> TestEnv {
        use lifeboat_sandbox::estate::accounts;
        let namespace = unique(if in_member { "m" } else { "t" });
        let home_config = setup_config(&moto().endpoint()).await;
        let (config, member) = if in_member {
            let role = accounts::member_role(&namespace);
            accounts::make_member_role(moto(), &role).unwrap();
            (accounts::member_setup_config(&home_config, &role, REGION), Some(role))
        } else {
            (home_config.clone(), None)
        };
        let mut estate = seed_estate(&config, &namespace).await.unwrap();
        for app in &mut estate.registry.applications {
            app.account = member.clone();
        }
        let settings = Settings {
            registry_table: format!("{namespace}-registry"),
            journal_table: format!("{namespace}-journal"),
            lease_table: format!("{namespace}-lease"),
            ..Settings::default()
        };
        let env = TestEnv {
            config,
            run_config: sdk_config(endpoint).await,
            settings,
            estate,
            namespace,
            home_config,
            member,
        };
        let s = env.admin();
        lifeboat_tasks::apply_registry::apply_registry(&*s.registry, &env.estate.registry, false)
            .await
            .unwrap();
        s.journal.ensure_table().await.unwrap();
        s.lease.ensure_table().await.unwrap();
        env
    }

    /// A factory for lifeboat's own calls (through the test's endpoint), counting into a fresh counter.
    pub fn factory(&self) -> Arc<AwsServicesFactory> {
        Arc::new(AwsServicesFactory::new(
            self.run_config.clone(),
            self.settings.clone(),
            CallCounter::new(),
        ))
    }

    /// Services straight against the emulator (not through any proxy, exempt
    /// from its quotas), for setup and checks.
    pub fn admin(&self) -> Services {
        let home =
            AwsServicesFactory::new(self.home_config.clone(), self.settings.clone(), CallCounter::new()).services();
        if self.member.is_none() {
            return home;
        }
        // The member's estate through the setup session (not lifeboat's own, which a run assumes afresh).
        let scene = AwsServicesFactory::new(self.config.clone(), self.settings.clone(), CallCounter::new()).services();
        Services {
            registry: home.registry,
            journal: home.journal,
            lease: home.lease,
            ..scene
        }
    }

    /// The namespaced name of a seeded alarm (e.g. `storefront-usw2-errors`).
    pub fn alarm(&self, name: &str) -> String {
        format!("{}-{name}", self.namespace)
    }

    /// The region-health alarm goes to ALARM in the primary Region, as
    /// CloudWatch would set it; returns the EventBridge event that starts a
    /// run for it.
    pub async fn region_alarm_fires(&self) -> Value {
        lifeboat_sandbox::estate::set_alarm(&self.config, PRIMARY, &self.estate.trigger_alarm, StateValue::Alarm)
            .await
            .unwrap();
        lifeboat_sandbox::estate::alarm_event(&self.estate.trigger_alarm, PRIMARY, chrono::Utc::now())
    }

    /// `app`'s verification alarm in the recovery Region goes to ALARM: its
    /// traffic does not verify there.
    pub async fn fail_verification(&self, app: &str) {
        let alarm = self.alarm(&format!("{app}-usw2-errors"));
        lifeboat_sandbox::estate::set_alarm(&self.config, SECONDARY, &alarm, StateValue::Alarm)
            .await
            .unwrap();
    }

    /// Changes (or deletes, with `weight: None`) the `set` record of `app`.
    pub async fn edit_record(&self, app: &str, set: &str, weight: Option<i64>) {
        use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
        use lifeboat_aws::ports::DnsReader;
        let r53 = aws_sdk_route53::Client::new(&self.config);
        let pair = &self.estate.registry.app(app).unwrap().dns[0];
        let reader = lifeboat_aws::route53::Route53::new(r53.clone());
        let recs = reader
            .record_sets(&pair.hosted_zone_id, &pair.name, pair.record_type.as_str())
            .await
            .unwrap();
        let mut rec = recs
            .into_iter()
            .find(|r| r.set_identifier.as_deref() == Some(set))
            .unwrap();
        let action = match weight {
            Some(w) => {
                rec.weight = Some(w);
                ChangeAction::Upsert
            }
            // (Set identifiers are unique here: moto deletes every record sharing one.)
            None => ChangeAction::Delete,
        };
        r53.change_resource_record_sets()
            .hosted_zone_id(&pair.hosted_zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(action)
                            .resource_record_set(lifeboat_aws::route53::to_sdk(&rec).unwrap())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Runs the real definition on a virtual clock; returns the execution and its API calls.
    pub async fn run(&self, input: Value) -> (Execution, ApiCalls) {
        let factory = self.factory();
        let definition = Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
        let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
        let run = local::run_local(&definition, input, factory.clone(), clock, None)
            .await
            .unwrap();
        match run {
            LocalRun::Ran(e) => (*e, factory.run_counter.snapshot()),
            LocalRun::Duplicate { name, .. } => panic!("execution {name} was refused as a duplicate"),
        }
    }

    /// Runs the real definition as execution `name` on `clock` (a test moves it, or answers the run meanwhile).
    pub async fn run_named(&self, input: Value, name: &str, clock: Arc<VirtualClock>) -> (Execution, ApiCalls) {
        let factory = self.factory();
        let definition = Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
        let options = local::LocalOptions {
            name: Some(name.to_string()),
            ..Default::default()
        };
        match local::run_local_with(&definition, input, factory.clone(), clock, None, &options)
            .await
            .unwrap()
        {
            LocalRun::Ran(e) => (*e, factory.run_counter.snapshot()),
            LocalRun::Duplicate { name, .. } => panic!("execution {name} was refused as a duplicate"),
        }
    }

    /// Waits (real time, up to 30 s) until run `name` waits for approval; its request.
    pub async fn approval_requested(&self, name: &str) -> lifeboat_tasks::approval::ApprovalDoc {
        let journal = self.admin().journal;
        for _ in 0..300 {
            if let Some(doc) = lifeboat_tasks::approval::load(&*journal, name).await.unwrap() {
                return doc;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("run {name} never asked for approval")
    }

    /// Runs the real definition with its TimeoutSeconds set to `timeout_seconds`.
    pub async fn run_with_timeout(&self, input: Value, timeout_seconds: u64) -> (Execution, ApiCalls) {
        let definition = Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
        let mut asl: Value = serde_json::from_str(&std::fs::read_to_string(definition).unwrap()).unwrap();
        asl["TimeoutSeconds"] = timeout_seconds.into();
        let dir = std::env::temp_dir().join(unique("lifeboat-asl"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lifeboat.asl.json");
        std::fs::write(&path, asl.to_string()).unwrap();
        let factory = self.factory();
        let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
        match local::run_local(&path, input, factory.clone(), clock, None)
            .await
            .unwrap()
        {
            LocalRun::Ran(e) => (*e, factory.run_counter.snapshot()),
            LocalRun::Duplicate { name, .. } => panic!("execution {name} was refused as a duplicate"),
        }
    }

    /// Runs the real definition, returning a duplicate refusal instead of failing on it.
    pub async fn run_or_refuse(&self, input: Value) -> LocalRun {
        let factory = self.factory();
        let definition = Path::new(env!("CARGO_MANIFEST_DIR")).join("../statemachine/lifeboat.asl.json");
        let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
        local::run_local(&definition, input, factory, clock, None)
            .await
            .unwrap()
    }

    /// Whether every app's weights are `primary` / `secondary` (all in one Region).
    pub async fn all_weights_are(&self, primary: i64, secondary: i64) -> bool {
        self.weights()
            .await
            .iter()
            .all(|(_, p, s)| *p == Some(primary) && *s == Some(secondary))
    }

    /// Current weights, app by app: (app, primary weight, secondary weight).
    pub async fn weights(&self) -> Vec<(String, Option<i64>, Option<i64>)> {
        let rows = lifeboat::text::weight_rows(&*self.admin().dns_read, &self.estate.registry.applications)
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| (r.app, r.primary_weight, r.secondary_weight))
            .collect()
    }
}

/// The execution a local run ran; a duplicate refusal fails the test.
pub fn ran(run: LocalRun) -> Execution {
    match run {
        LocalRun::Ran(e) => *e,
        LocalRun::Duplicate { name, .. } => panic!("{name} was refused as a duplicate"),
    }
}

/// The `lifeboat` binary built for these tests.
pub fn lifeboat_bin() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    target.join(profile).join("lifeboat")
}

/// Runs the `lifeboat` binary against `endpoint`; returns (exit code, stdout, stderr).
pub fn run_cli(endpoint: &str, settings: &Settings, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    run_cli_with_env(endpoint, settings, args, stdin, &[])
}

/// [`run_cli`] with more environment variables (`RUST_LOG`, ...).
pub fn run_cli_with_env(
    endpoint: &str,
    settings: &Settings,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = cli_command(endpoint, settings, args);
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot run {}: {e} (build it with cargo build -p lifeboat)",
            lifeboat_bin().display()
        )
    });
    if let Some(mut pipe) = child.stdin.take()
        && let Some(text) = stdin
    {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `lifeboat` binary with `args`, against `endpoint` and the tables of
/// `settings`, nothing else from this process's environment; every stream piped.
pub fn cli_command(endpoint: &str, settings: &Settings, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(lifeboat_bin());
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("LIFEBOAT_REGISTRY_TABLE", &settings.registry_table)
        .env("LIFEBOAT_JOURNAL_TABLE", &settings.journal_table)
        .env("LIFEBOAT_LEASE_TABLE", &settings.lease_table)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// moto asks every cluster and instance for a master user; AWS only asks a primary.
const MASTER_USER: &str = "lifeboat";
const MASTER_PASSWORD: &str = "tests-only-not-a-secret";

impl TestEnv {
    /// The namespaced database identifier of `app` in `region` (e.g. `t-1-2-payments-usw2`).
    pub fn db_id(&self, app: &str, region: &str) -> String {
        let short = if region == lifeboat_sandbox::estate::PRIMARY {
            "use1"
        } else {
            "usw2"
        };
        format!("{}-{app}-{short}", self.namespace)
    }

    /// An RDS client for `region`, straight against the emulator.
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::from_conf(
            aws_sdk_rds::config::Builder::from(&self.config)
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        )
    }

    /// Changes one application in the registry table (from the seeded registry).
    pub async fn update_app(&self, name: &str, change: impl FnOnce(&mut lifeboat_core::registry::Application)) {
        let mut app = self
            .estate
            .registry
            .applications
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no app {name}"));
        change(&mut app);
        self.admin().registry.put_apps(&[app]).await.unwrap();
    }

    /// Gives `app` compute in both Regions (an Auto Scaling group, then an
    /// ECS service: full in the primary, pilot light in the secondary), and
    /// the registry's capacity steps for them.
    pub async fn give_capacity(&self, app: &str) -> Vec<lifeboat_core::registry::CapacityStep> {
        let steps = lifeboat_sandbox::estate::capacity::seed_capacity(&self.config, &self.namespace, app)
            .await
            .unwrap();
        let registry_steps = steps.clone();
        self.update_app(app, |a| a.capacity = registry_steps).await;
        steps
    }

    /// Gives `app` a hook `name` at `when`: a function in each Region
    /// answering as `behaviour` says (`ok`, `fail`, `fail-first:N`, `sleep:S`).
    pub async fn give_hook(
        &self,
        app: &str,
        name: &str,
        when: lifeboat_core::registry::HookWhen,
        behaviour: &str,
        retries: u32,
    ) {
        use lifeboat_sandbox::estate::hooks::seed_hook_function;
        let primary = seed_hook_function(
            &self.config,
            &self.namespace,
            &format!("{app}-{name}-use1"),
            PRIMARY,
            behaviour,
        )
        .await
        .unwrap();
        let secondary = seed_hook_function(
            &self.config,
            &self.namespace,
            &format!("{app}-{name}-usw2"),
            SECONDARY,
            behaviour,
        )
        .await
        .unwrap();
        let hook = lifeboat_core::registry::Hook {
            name: name.to_string(),
            when,
            function: lifeboat_core::registry::BySide { primary, secondary },
            timeout_seconds: 10,
            retries,
        };
        self.change_stored_app(app, |a| a.hooks.push(hook)).await;
    }

    /// Changes one application as the registry table has it now (earlier changes kept).
    pub async fn change_stored_app(&self, app: &str, change: impl FnOnce(&mut lifeboat_core::registry::Application)) {
        let mut now = self
            .admin()
            .registry
            .load()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.app.name == app)
            .unwrap_or_else(|| panic!("no app {app} in the registry table"))
            .app;
        change(&mut now);
        self.admin().registry.put_apps(&[now]).await.unwrap();
    }

    /// Every invocation the emulator's Lambda answered: (function ARN, payload, failed).
    pub fn invocations(&self) -> Vec<(String, Value, bool)> {
        let text = moto()
            .request("GET", "/lifeboat-emulator/lambda/invocations", "")
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        v["invocations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["function"].as_str().unwrap_or_default().contains(&self.namespace))
            .map(|i| {
                (
                    i["function"].as_str().unwrap().to_string(),
                    i["payload"].clone(),
                    i["failed"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    /// Gives `app` a DocumentDB global cluster (`lag_ms` of replication lag) in place of its database.
    pub async fn give_docdb_global(&self, app: &str, lag_ms: f64) {
        let db = lifeboat_sandbox::estate::seed_docdb_global(&self.config, &self.namespace, app, lag_ms)
            .await
            .unwrap();
        self.change_stored_app(app, |a| a.database = db).await;
    }

    /// Gives `app` a cross-Region replica database (`aurora-replica` or
    /// `rds-replica`): the source in the primary Region, the replica in the
    /// secondary; the registry says so.
    pub async fn give_replica(&self, app: &str, kind: lifeboat_core::registry::DatabaseKind) {
        use lifeboat_core::registry::DatabaseKind;
        use lifeboat_sandbox::estate::PRIMARY;
        let (east, source) = (self.rds(PRIMARY), self.db_id(app, PRIMARY));
        let arn = match kind {
            DatabaseKind::AuroraReplica => east
                .create_db_cluster()
                .db_cluster_identifier(&source)
                .tags(lifeboat_sandbox::estate::managed_tag())
                .engine("aurora-mysql")
                .engine_version("8.0.mysql_aurora.3.05.2")
                .master_username(MASTER_USER)
                .master_user_password(MASTER_PASSWORD)
                .send()
                .await
                .unwrap()
                .db_cluster()
                .and_then(|c| c.db_cluster_arn())
                .unwrap()
                .to_string(),
            DatabaseKind::RdsReplica => east
                .create_db_instance()
                .db_instance_identifier(&source)
                .tags(lifeboat_sandbox::estate::managed_tag())
                .engine("mysql")
                .db_instance_class("db.t3.micro")
                .allocated_storage(20)
                .master_username(MASTER_USER)
                .master_user_password(MASTER_PASSWORD)
                .backup_retention_period(1)
                .send()
                .await
                .unwrap()
                .db_instance()
                .and_then(|d| d.db_instance_arn())
                .unwrap()
                .to_string(),
            other => panic!("give_replica does not make {other:?}"),
        };
        self.replica_of(app, kind, &arn, "").await;
    }

    /// The operator's rebuild after a failover promoted `app`'s replica:
    /// home stays the writer, a new replica of it is made in the recovery
    /// Region (the promoted one is left alone), and the registry names it.
    pub async fn rebuild_replica(&self, app: &str, kind: lifeboat_core::registry::DatabaseKind) {
        use lifeboat_core::registry::DatabaseKind;
        use lifeboat_sandbox::estate::PRIMARY;
        let (east, source) = (self.rds(PRIMARY), self.db_id(app, PRIMARY));
        let arn = match kind {
            DatabaseKind::AuroraReplica => {
                let described = east
                    .describe_db_clusters()
                    .db_cluster_identifier(&source)
                    .send()
                    .await
                    .unwrap();
                described.db_clusters()[0].db_cluster_arn().unwrap().to_string()
            }
            _ => {
                let described = east
                    .describe_db_instances()
                    .db_instance_identifier(&source)
                    .send()
                    .await
                    .unwrap();
                described.db_instances()[0].db_instance_arn().unwrap().to_string()
            }
        };
        self.replica_of(app, kind, &arn, "-rebuilt").await;
    }

    /// A replica of `source_arn` in the recovery Region, named after `app`
    /// (with `suffix`), and the registry's `kind` and identifiers for it.
    /// (update_app starts from the seeded registry: the kind is given again.)
    async fn replica_of(&self, app: &str, kind: lifeboat_core::registry::DatabaseKind, source_arn: &str, suffix: &str) {
        use lifeboat_core::registry::{BySide, DatabaseKind};
        use lifeboat_sandbox::estate::{PRIMARY, SECONDARY};
        let west = self.rds(SECONDARY);
        let replica = format!("{}{suffix}", self.db_id(app, SECONDARY));
        match kind {
            DatabaseKind::AuroraReplica => {
                west.create_db_cluster()
                    .db_cluster_identifier(&replica)
                    .tags(lifeboat_sandbox::estate::managed_tag())
                    .engine("aurora-mysql")
                    .engine_version("8.0.mysql_aurora.3.05.2")
                    .replication_source_identifier(source_arn)
                    .master_username(MASTER_USER)
                    .master_user_password(MASTER_PASSWORD)
                    .send()
                    .await
                    .unwrap();
            }
            DatabaseKind::RdsReplica => {
                west.create_db_instance_read_replica()
                    .db_instance_identifier(&replica)
                    .tags(lifeboat_sandbox::estate::managed_tag())
                    .source_db_instance_identifier(source_arn)
                    .send()
                    .await
                    .unwrap();
            }
            other => panic!("no replica of kind {other:?}"),
        }
        let source = self.db_id(app, PRIMARY);
        self.update_app(app, |a| {
            a.database.kind = kind;
            a.database.identifiers = Some(BySide {
                primary: source,
                secondary: replica,
            });
            a.database.interval_seconds = 30;
        })
        .await;
    }

    /// `app`'s DB instance in the recovery Region (a replica, a promoted one,
    /// or a restore), if there is one.
    pub async fn standby_instance(&self, app: &str) -> Option<aws_sdk_rds::types::DbInstance> {
        let found = self
            .rds(SECONDARY)
            .describe_db_instances()
            .db_instance_identifier(self.db_id(app, SECONDARY))
            .send()
            .await;
        found.ok()?.db_instances().first().cloned()
    }

    /// The primary Region recovers (the emulator's hook): Aurora adds every
    /// old primary a failover with data loss left out back to its global
    /// cluster, `pending-resync` for a few reads, then `connected`.
    pub fn primary_region_recovers(&self) {
        moto()
            .request("POST", &format!("/lifeboat-emulator/rds/regions/{PRIMARY}/recover"), "")
            .unwrap();
    }

    /// Whether `app`'s Aurora global database has its writer in the recovery Region.
    pub async fn global_writer_in_recovery_region(&self, app: &str) -> bool {
        self.global_writer(app).await == Some(self.db_id(app, SECONDARY))
    }

    /// The cluster id that is the writer of `app`'s Aurora global database.
    pub async fn global_writer(&self, app: &str) -> Option<String> {
        let global = format!("{}-{app}-global", self.namespace);
        let resp = self
            .rds(REGION)
            .describe_global_clusters()
            .global_cluster_identifier(&global)
            .send()
            .await
            .unwrap();
        resp.global_clusters()
            .first()?
            .global_cluster_members()
            .iter()
            .find(|m| m.is_writer() == Some(true))
            .and_then(|m| m.db_cluster_arn())
            .map(|arn| arn.rsplit(':').next().unwrap_or(arn).to_string())
    }
}

impl TestEnv {
    /// Gives `apps` Route 53 ARC routing controls (made straight on the
    /// emulator: cluster, controls with the primary On, a safety rule per
    /// pair, RECOVERY_CONTROL health checks on their records) and applies the
    /// registry again. With `via`, the cluster's endpoints in the registry go
    /// through that proxy, as a run's calls do.
    pub async fn give_routing_controls(
        &mut self,
        apps: &[&str],
        via: Option<&str>,
    ) -> lifeboat_sandbox::estate::arc::ArcSeed {
        // Straight to the emulator (not a proxy), in the estate's account.
        let seed = lifeboat_sandbox::estate::arc::seed_routing_controls(
            &self.config,
            &mut self.estate.registry,
            apps,
            &self.namespace,
        )
        .await
        .unwrap();
        if let (Some(via), Some(cluster)) = (via, self.estate.registry.routing_control_cluster.as_mut()) {
            for e in &mut cluster.endpoints {
                e.url = e.url.replacen(&moto().endpoint(), via, 1);
            }
        }
        lifeboat_tasks::apply_registry::apply_registry(&*self.admin().registry, &self.estate.registry, false)
            .await
            .unwrap();
        seed
    }

    /// Each routing control's state, read straight from the emulator.
    pub async fn control_states(
        &self,
        seed: &lifeboat_sandbox::estate::arc::ArcSeed,
    ) -> lifeboat_core::traffic::ControlStates {
        use lifeboat_aws::ports::RoutingControls;
        let direct = setup_config(&moto().endpoint()).await;
        let arns: Vec<String> = seed
            .controls
            .values()
            .flat_map(|p| [p.primary.clone(), p.secondary.clone()])
            .collect();
        lifeboat_aws::arc::ArcCluster::new(direct, CallCounter::new())
            .states(&seed.endpoints, &arns)
            .await
            .unwrap()
            .value
    }

    /// What Route 53 answers for `app`'s record now (TestDNSAnswer, straight on the emulator).
    pub async fn dns_answer(&self, app: &str) -> Vec<String> {
        let a = self.estate.registry.app(app).unwrap();
        let rec = &a.dns[0];
        let direct = setup_config(&moto().endpoint()).await;
        lifeboat_sandbox::estate::arc::dns_answer(&direct, &rec.hosted_zone_id, &rec.name, rec.record_type.as_str())
            .await
            .unwrap()
    }
}

impl TestEnv {
    /// Current weights read straight from the emulator (whatever proxy the env's config goes through).
    pub async fn weights_direct(&self) -> Vec<(String, Option<i64>, Option<i64>)> {
        let direct = setup_config(&moto().endpoint()).await;
        let route53 = lifeboat_aws::route53::Route53::new(aws_sdk_route53::Client::new(&direct));
        let rows = lifeboat::text::weight_rows(&route53, &self.estate.registry.applications)
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| (r.app, r.primary_weight, r.secondary_weight))
            .collect()
    }
}

/// A Route 53 health check made straight on the emulator; its id.
pub async fn create_health_check(config: &SdkConfig, check: aws_sdk_route53::types::HealthCheckConfig) -> String {
    aws_sdk_route53::Client::new(config)
        .create_health_check()
        .caller_reference(unique("hc"))
        .health_check_config(check)
        .send()
        .await
        .unwrap()
        .health_check()
        .unwrap()
        .id()
        .to_string()
}

/// An HTTPS endpoint check.
pub fn https_check() -> aws_sdk_route53::types::HealthCheckConfig {
    aws_sdk_route53::types::HealthCheckConfig::builder()
        .r#type(aws_sdk_route53::types::HealthCheckType::Https)
        .fully_qualified_domain_name("app.example.net")
        .port(443)
        .build()
        .unwrap()
}

/// A calculated check healthy when `threshold` of `children` are.
pub fn calculated_check(children: &[&str], threshold: i32) -> aws_sdk_route53::types::HealthCheckConfig {
    aws_sdk_route53::types::HealthCheckConfig::builder()
        .r#type(aws_sdk_route53::types::HealthCheckType::Calculated)
        .set_child_health_checks(Some(children.iter().map(|c| c.to_string()).collect()))
        .health_threshold(threshold)
        .build()
        .unwrap()
}

/// How many of the emulator's 16 health checkers see `id` healthy (its control).
pub fn healthy_checkers(id: &str, n: usize) {
    moto()
        .request(
            "POST",
            &format!("/lifeboat-emulator/route53/health-checks/{id}"),
            &format!("{{\"healthy_checkers\": {n}}}"),
        )
        .unwrap();
}
