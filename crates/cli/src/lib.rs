//! The `lifeboat` operator CLI: registry management, plans, local runs of the
//! state machine, the journal, and the one-command demo.

pub mod arc_seed;
pub mod database_status;
pub mod demo;
pub mod demo_dark;
pub mod emulator;
pub mod fault_proxy;
pub mod html_report;
pub mod local;
pub mod progress;
pub mod remote;
pub mod report;
pub mod run_report;

use clap::{Parser, Subcommand, ValueEnum};
use lifeboat_aws::CallCounter;
use lifeboat_aws::clients::load_sdk_config;
use lifeboat_core::registry::{Registry, parse_registry, registry_schema};
use lifeboat_core::{ErrorName, LifeboatError};
use lifeboat_states::{Clock, Execution, ExecutionStatus, SystemClock, VirtualClock};
use lifeboat_tasks::validate::{ValidateInput, validate};
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Exit codes: 0 success, 1 the run failed, 2 bad usage or input.
pub const EXIT_OK: i32 = 0;
pub const EXIT_RUN_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Multi-Region disaster recovery for AWS: failover, failback and drills"
)]
pub struct Cli {
    /// Output format for results (progress always goes to stderr).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// DynamoDB table holding the application registry.
    #[arg(
        long,
        global = true,
        env = "LIFEBOAT_REGISTRY_TABLE",
        default_value = "lifeboat-registry"
    )]
    pub registry_table: String,
    /// DynamoDB table holding the run journal.
    #[arg(
        long,
        global = true,
        env = "LIFEBOAT_JOURNAL_TABLE",
        default_value = "lifeboat-journal"
    )]
    pub journal_table: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a full failover and failback of a sample estate on a local AWS emulator.
    Demo,
    /// Validate, apply or list the application registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Show what a failover, failback or drill would change (changes nothing).
    Plan {
        #[arg(long, value_enum)]
        action: ActionArg,
        /// Comma-separated application names (default: all).
        #[arg(long, value_delimiter = ',')]
        apps: Vec<String>,
        /// Plan a failover for a disaster (the primary is down): Aurora global
        /// databases fail over with data loss, after the RPO gate.
        #[arg(long)]
        disaster: bool,
        /// Fail over even if the replication lag is over an app's max_rpo_seconds.
        #[arg(long)]
        accept_data_loss: bool,
        /// Failback: move the traffic of apps whose database was rebuilt by hand.
        #[arg(long)]
        move_dns_without_database: bool,
    },
    /// Run the workflow with an input (an EventBridge event or a manual request).
    #[command(group(clap::ArgGroup::new("where").required(true).args(["local", "state_machine_arn"])))]
    Run {
        /// Input JSON file, or - for standard input.
        #[arg(long)]
        input: String,
        /// Run the definition in this process against the AWS endpoint of the
        /// environment (AWS_ENDPOINT_URL, profile, ...).
        #[arg(long)]
        local: bool,
        /// Start an execution of this deployed state machine and follow it.
        #[arg(long)]
        state_machine_arn: Option<String>,
        /// With --state-machine-arn: how long to follow the execution before leaving it running.
        #[arg(long, default_value_t = 3600)]
        wait_seconds: u64,
        /// The ASL definition to run.
        #[arg(long, default_value = local::DEFAULT_DEFINITION)]
        definition: PathBuf,
        /// `system` waits for real; `virtual` moves time forward at once (tests, emulators).
        #[arg(long, value_enum, default_value_t = ClockArg::System)]
        clock: ClockArg,
    },
    /// Recent runs from the journal.
    History {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also list the deployed state machine's recent executions.
        #[arg(long)]
        state_machine_arn: Option<String>,
    },
    /// One run's record from the journal: text, `--output json` (the report's
    /// data, docs/report.md), or `--html FILE` (a page with its timeline).
    Report {
        run: String,
        /// Also write the run's report as one self-contained HTML file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Each application's active Region and the latest run.
    Status {
        /// Also list the deployed state machine's running executions.
        #[arg(long)]
        state_machine_arn: Option<String>,
    },
    /// Could each app move now? The latest readiness evaluation (every 30
    /// minutes in the recovery Region), or `--now` to evaluate on the spot
    /// (recorded and published like the scheduled one). Exit 1 if any app is not ready.
    Readiness {
        #[arg(long)]
        now: bool,
    },
    /// The run lease: who holds it (show), or break it (release).
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// One round of detection probes from this Region (AWS_REGION, the
    /// recovery Region): GET each primary endpoint and publish the results
    /// to CloudWatch, as the scheduled probe function does every minute.
    Probe,
    /// Run the local AWS emulator (moto server with lifeboat's extensions) in
    /// the foreground, for your own tools (aws CLI, boto3, terraform).
    Emulator {
        /// The loopback port to listen on (default: a free one).
        #[arg(long)]
        port: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check a registry file and report every problem with its field path.
    Validate { file: PathBuf },
    /// Write a registry file to the registry table (created if missing).
    Apply {
        file: PathBuf,
        /// Also delete applications that are in the table but not in the file.
        #[arg(long)]
        prune: bool,
    },
    /// List the applications in the registry table.
    List,
    /// Print the registry file's JSON Schema.
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Who holds the run lease, since when, until when, and the cooldown.
    Show,
    /// Break the lease whoever holds it (a run that died, or one to stop):
    /// the holder's next step changes nothing. Recorded in the journal with
    /// your identity and the reason.
    Release {
        /// Why (recorded in the journal).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionArg {
    Failover,
    Failback,
    Drill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    System,
    Virtual,
}

/// A command's failure, with the exit code it deserves.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_RUN_FAILED,
            message: message.into(),
        }
    }
}

impl From<LifeboatError> for CliError {
    fn from(e: LifeboatError) -> Self {
        let code = if e.name == ErrorName::InvalidRequest {
            EXIT_BAD_INPUT
        } else {
            EXIT_RUN_FAILED
        };
        CliError {
            code,
            message: e.to_string(),
        }
    }
}

impl From<lifeboat_aws::AwsError> for CliError {
    fn from(e: lifeboat_aws::AwsError) -> Self {
        LifeboatError::from(e).into()
    }
}

/// Parses arguments, runs the command, returns the exit code.
pub async fn main_with_args(args: impl IntoIterator<Item = String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
        }
    };
    match run_command(&cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.code
        }
    }
}

fn settings(cli: &Cli) -> Result<Settings, CliError> {
    Ok(Settings {
        registry_table: cli.registry_table.clone(),
        journal_table: cli.journal_table.clone(),
        ..Settings::from_env()?
    })
}

async fn factory(cli: &Cli) -> Result<AwsServicesFactory, CliError> {
    Ok(AwsServicesFactory::new(
        load_sdk_config(None, None).await,
        settings(cli)?,
        CallCounter::new(),
    ))
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

/// The input of a lifeboat run must be a JSON object (an EventBridge event or
/// a manual request): refused here, with nothing changed, rather than failing
/// inside the state machine.
fn lifeboat_input(input: Value) -> Result<Value, CliError> {
    if input.is_object() {
        return Ok(input);
    }
    let kind = match &input {
        Value::Array(_) => "an array",
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Object(_) => "an object",
    };
    Err(CliError::bad_input(format!(
        "the input is {kind}, not a JSON object: give an EventBridge event or a manual request such as \
         {{\"action\": \"failover\"}}; nothing was changed"
    )))
}

fn read_input(input: &str) -> Result<Value, CliError> {
    let text = if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::bad_input(format!("cannot read standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(input)
            .map_err(|e| CliError::bad_input(format!("cannot read input file {input}: {e}")))?
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::bad_input(format!("input is not valid JSON ({e}); nothing was changed")))
}

fn read_registry_file(file: &PathBuf) -> Result<Registry, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", file.display())))?;
    parse_registry(&text).map_err(|e| CliError::bad_input(format!("{}: {e}", file.display())))
}

async fn run_command(cli: &Cli) -> Result<i32, CliError> {
    match &cli.command {
        Command::Demo => demo::run_demo(cli.output).await,
        Command::Probe => {
            let f = factory(cli).await?;
            let s = f.services();
            let region = s.sdk_config.region().map(|r| r.to_string()).ok_or_else(|| {
                CliError::bad_input("no Region: set AWS_REGION to the recovery Region the probes run from")
            })?;
            let out = lifeboat_tasks::probe::probe_primaries(
                &*s.registry,
                &*s.http,
                &*s.metrics,
                &region,
                chrono::Utc::now(),
            )
            .await?;
            match cli.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&out).unwrap_or(Value::Null)),
                OutputFormat::Text => print!("{}", report::probe_text(&out)),
            }
            Ok(if out.failing().is_empty() {
                EXIT_OK
            } else {
                EXIT_RUN_FAILED
            })
        }
        Command::Emulator { port } => emulator::serve_foreground(*port),
        Command::Readiness { now } => {
            let f = factory(cli).await?;
            let s = f.services();
            let ev = if *now {
                let region = s
                    .sdk_config
                    .region()
                    .map(|r| r.to_string())
                    .ok_or_else(|| CliError::bad_input("no Region: set AWS_REGION to the recovery Region"))?;
                let ev = lifeboat_tasks::readiness::evaluate(&s, chrono::Utc::now()).await?;
                lifeboat_tasks::readiness::record(&s, &ev, &region).await?;
                ev
            } else {
                lifeboat_tasks::readiness::latest(&s).await?.ok_or_else(|| {
                    CliError::failed(
                        "no readiness evaluation in the journal yet: run `lifeboat readiness --now`, or wait for the schedule",
                    )
                })?
            };
            match cli.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&ev).unwrap_or(Value::Null)),
                OutputFormat::Text => print!("{}", report::readiness_table(&ev, chrono::Utc::now())),
            }
            Ok(if ev.not_ready().is_empty() {
                EXIT_OK
            } else {
                EXIT_RUN_FAILED
            })
        }
        Command::Lease(LeaseCommand::Show) => {
            let f = factory(cli).await?;
            let lease = f.services().lease.state().await?;
            match cli.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&lease).unwrap_or(Value::Null)),
                OutputFormat::Text => println!("{}", report::lease_line(&lease, chrono::Utc::now())),
            }
            Ok(EXIT_OK)
        }
        Command::Lease(LeaseCommand::Release { reason }) => lease_release(cli, reason).await,
        Command::Registry(RegistryCommand::Schema) => {
            print_json(&registry_schema());
            Ok(EXIT_OK)
        }
        Command::Registry(RegistryCommand::Validate { file }) => {
            let reg = read_registry_file(file)?;
            match cli.output {
                OutputFormat::Json => print_json(&json!({"valid": true, "applications": reg.applications.len()})),
                OutputFormat::Text => println!("{}: valid, {} application(s)", file.display(), reg.applications.len()),
            }
            Ok(EXIT_OK)
        }
        Command::Registry(RegistryCommand::Apply { file, prune }) => {
            let reg = read_registry_file(file)?;
            let f = factory(cli).await?;
            let s = f.services();
            let mut summary = lifeboat_tasks::apply_registry::apply_registry(&*s.registry, &reg, *prune).await?;
            // The journal too: a first run needs it (on AWS the stack makes both).
            s.journal.ensure_table().await?;
            summary.probe_alarms = lifeboat_tasks::probe::apply_probe_alarms(&*s.metrics, &reg).await?;
            match cli.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&summary).unwrap_or(Value::Null)),
                OutputFormat::Text => println!("{}", summary.describe(&cli.registry_table)),
            }
            Ok(EXIT_OK)
        }
        Command::Registry(RegistryCommand::List) => {
            let f = factory(cli).await?;
            let apps = f.services().registry.load().await?;
            match cli.output {
                OutputFormat::Json => print_json(&report::apps_json(&apps)),
                OutputFormat::Text => print!("{}", report::apps_table(&apps)),
            }
            Ok(EXIT_OK)
        }
        Command::Plan {
            action,
            apps,
            disaster,
            accept_data_loss,
            move_dns_without_database,
        } => {
            let action = match action {
                ActionArg::Failover => "failover",
                ActionArg::Failback => "failback",
                ActionArg::Drill => "drill",
            };
            let f = factory(cli).await?;
            let s = f.services();
            let trigger = json!({"action": action, "apps": apps, "dry_run": true,
                "mode": if *disaster { "disaster" } else { "planned" },
                "accept_data_loss": accept_data_loss, "move_dns_without_database": move_dns_without_database});
            let out = validate(
                s.validate_ports(),
                ValidateInput {
                    trigger,
                    run_id: "plan".into(),
                    started_at: None,
                },
            )
            .await?;
            lifeboat_tasks::database::preflight(&*s.databases, &*s.dns_read, &*s.dns_read_best_effort, &out.plan)
                .await?;
            match cli.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&out.plan).unwrap_or(Value::Null)),
                OutputFormat::Text => print!("{}", report::plan_text(&out.plan)),
            }
            Ok(EXIT_OK)
        }
        Command::Run {
            input,
            state_machine_arn: Some(arn),
            wait_seconds,
            ..
        } => {
            let input = lifeboat_input(read_input(input)?)?;
            let sfn = aws_sdk_sfn::Client::new(&load_sdk_config(None, None).await);
            let name = local::execution_name(&input, chrono::Utc::now());
            let progress = progress::Progress::new();
            let run = remote::run_remote(
                &sfn,
                arn,
                &name,
                &input,
                std::time::Duration::from_secs(*wait_seconds),
                &progress,
            )
            .await?;
            Ok(print_remote(&run, cli.output))
        }
        Command::Run {
            input,
            definition,
            clock,
            ..
        } => {
            let input = read_input(input)?;
            // lifeboat's own definition takes a trigger: a JSON object. Any other
            // ASL file takes what it takes.
            let input = if definition.as_path() == std::path::Path::new(local::DEFAULT_DEFINITION) {
                lifeboat_input(input)?
            } else {
                input
            };
            let clock: Arc<dyn Clock> = match clock {
                ClockArg::System => Arc::new(SystemClock),
                ClockArg::Virtual => Arc::new(VirtualClock::new(chrono::Utc::now())),
            };
            // The run, then what the stack's follow-up rule does with an outcome
            // event that carries one: start it (a few at most, one after another).
            let mut next = Some(input);
            let mut code = EXIT_OK;
            for attempt in 0..=MAX_LOCAL_FOLLOW_UPS {
                let Some(input) = next.take() else { break };
                if attempt > 0 {
                    eprintln!("follow-up run: {input}");
                }
                let f = Arc::new(factory(cli).await?);
                let run = local::run_local(
                    definition,
                    input,
                    f.clone(),
                    clock.clone(),
                    Some(Arc::new(progress::Progress::new())),
                )
                .await
                .map_err(|e| CliError::bad_input(e.to_string()))?;
                match run {
                    local::LocalRun::Ran(exec) => {
                        code = code.max(print_execution(&exec, &f.run_counter, cli.output));
                        next = follow_up_of(&exec);
                    }
                    local::LocalRun::Duplicate { name, status } => match cli.output {
                        OutputFormat::Json => {
                            print_json(&json!({"execution": name, "duplicate": true, "previous_status": status}))
                        }
                        OutputFormat::Text => println!(
                            "execution {name} already ran ({status}): the same trigger runs once; nothing was done"
                        ),
                    },
                }
            }
            Ok(code)
        }
        Command::History {
            limit,
            state_machine_arn,
        } => {
            let f = factory(cli).await?;
            let runs = f.services().journal.list_runs(*limit).await?;
            let executions = match state_machine_arn {
                Some(arn) => Some(remote::executions(&aws_sdk_sfn::Client::new(&f.config), arn, None, *limit).await?),
                None => None,
            };
            match cli.output {
                OutputFormat::Json => print_json(&json!({
                    "runs": runs,
                    "executions": executions.as_ref().map(|e| e.iter().map(|(n, st, t)| json!({"name": n, "status": st, "started": t})).collect::<Vec<_>>()),
                })),
                OutputFormat::Text => {
                    print!("{}", report::history_table(&runs));
                    if let Some(e) = &executions {
                        println!("Step Functions executions:");
                        for (n, st, t) in e {
                            println!("  {n:<44} {st:<10} {t}");
                        }
                    }
                }
            }
            Ok(EXIT_OK)
        }
        Command::Report { run, html } => {
            let f = factory(cli).await?;
            let rec = f.services().journal.get_run(run).await?.ok_or_else(|| {
                CliError::bad_input(format!(
                    "no run \"{run}\" in the journal; `lifeboat history` lists runs"
                ))
            })?;
            let data = run_report::RunReport::of(&rec);
            if let Some(path) = html {
                write_html_report(&data, path)?;
                eprintln!("report written to {}", path.display());
            }
            match cli.output {
                OutputFormat::Json => print_json(&serde_json::to_value(&data).unwrap_or(Value::Null)),
                OutputFormat::Text => print!("{}", report::run_text(&rec)),
            }
            Ok(EXIT_OK)
        }
        Command::Status { state_machine_arn } => {
            let f = factory(cli).await?;
            let s = f.services();
            let apps = s.registry.load().await?;
            let last = s.journal.list_runs(1).await.unwrap_or_default();
            let lease = s.lease.state().await.unwrap_or_default();
            let mut databases = Vec::new();
            for a in &apps {
                if let Some(text) = database_status::describe_database(&*s.databases, &a.app).await {
                    databases.push((a.app.name.clone(), text));
                }
            }
            let running = match state_machine_arn {
                Some(arn) => Some(
                    remote::executions(
                        &aws_sdk_sfn::Client::new(&f.config),
                        arn,
                        Some(aws_sdk_sfn::types::ExecutionStatus::Running),
                        1000,
                    )
                    .await?,
                ),
                None => None,
            };
            match cli.output {
                OutputFormat::Json => print_json(&json!({
                    "applications": report::apps_json(&apps),
                    "last_run": last.first(),
                    "lease": lease,
                    "databases": databases.iter().map(|(n, t)| (n.clone(), json!(t))).collect::<serde_json::Map<_, _>>(),
                    "running_executions": running.as_ref().map(|r| r.iter().map(|(n, _, t)| json!({"name": n, "started": t})).collect::<Vec<_>>()),
                })),
                OutputFormat::Text => {
                    print!("{}", report::apps_table(&apps));
                    for (name, text) in &databases {
                        println!("database of {name}: {text}");
                    }
                    match last.first() {
                        Some(r) => println!("last run: {} {:?} - {}", r.run_id, r.status, r.summary),
                        None => println!("last run: none"),
                    }
                    println!("{}", report::lease_line(&lease, chrono::Utc::now()));
                    if let Some(r) = &running {
                        if r.is_empty() {
                            println!("running executions: none");
                        }
                        for (n, _, t) in r {
                            println!("running: {n} (since {t})");
                        }
                    }
                }
            }
            Ok(EXIT_OK)
        }
    }
}

/// `lifeboat lease release`: breaks the lease and records who did it and why.
async fn lease_release(cli: &Cli, reason: &str) -> Result<i32, CliError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CliError::bad_input(
            "--reason must say why the lease is broken (it is recorded in the journal); nothing was changed",
        ));
    }
    let f = factory(cli).await?;
    let s = f.services();
    let by = caller_identity(&f.config).await;
    let now = chrono::Utc::now();
    let Some(before) = s.lease.break_lease(now).await? else {
        match cli.output {
            OutputFormat::Json => print_json(&json!({"released": false, "reason": "the lease is free"})),
            OutputFormat::Text => println!("the run lease is free: nothing to release"),
        }
        return Ok(EXIT_OK);
    };
    let holder = before.holder.clone().unwrap_or_default();
    let entry = json!({
        "holder": holder, "epoch": before.epoch, "acquired_at": before.acquired_at,
        "released_at": now, "released_by": by, "reason": reason,
    });
    s.journal
        .put_docs(
            &holder,
            &[(
                format!(
                    "lease-released#{}",
                    now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ),
                entry.to_string(),
            )],
        )
        .await?;
    tracing::warn!(run = %holder, epoch = before.epoch, %by, %reason, "run lease broken by an operator");
    match cli.output {
        OutputFormat::Json => print_json(&json!({"released": true, "lease": before, "by": by, "reason": reason})),
        OutputFormat::Text => println!(
            "released the run lease of {holder} (epoch {}, {}) by {by}: {reason}\n\
             its next step changes nothing (it refuses with Lifeboat.LeaseHeld); stop its execution too if it is still running",
            before.epoch,
            before
                .acquired_at
                .map(|t| format!("taken at {}", t.to_rfc3339()))
                .unwrap_or_else(|| "taken at an unknown time".into()),
        ),
    }
    Ok(EXIT_OK)
}

/// Who is calling: the STS caller identity's ARN, else the local user.
async fn caller_identity(config: &aws_config::SdkConfig) -> String {
    match aws_sdk_sts::Client::new(config).get_caller_identity().send().await {
        Ok(id) => id.arn().unwrap_or("unknown").to_string(),
        Err(e) => {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            tracing::warn!(error = %lifeboat_aws::AwsError::from_sdk("GetCallerIdentity", e), "recording the local user instead");
            format!("local user {user} (GetCallerIdentity failed)")
        }
    }
}

/// Writes a run's HTML report (its folder created if missing).
pub fn write_html_report(data: &run_report::RunReport, path: &std::path::Path) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::bad_input(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, html_report::render(data))
        .map_err(|e| CliError::bad_input(format!("cannot write {}: {e}", path.display())))
}

/// Prints a remote run's result and returns its exit code.
pub fn print_remote(run: &remote::RemoteRun, format: OutputFormat) -> i32 {
    let (doc, text, code) = match run {
        remote::RemoteRun::Finished {
            name,
            arn,
            status,
            output,
            error,
        } => {
            let code = match (status.as_str(), error) {
                ("SUCCEEDED", _) => EXIT_OK,
                (_, Some((e, _))) if e == ErrorName::InvalidRequest.as_str() => EXIT_BAD_INPUT,
                _ => EXIT_RUN_FAILED,
            };
            let text = match error {
                Some((e, c)) => format!("execution {name}: {status}\n  error: {e}: {c}"),
                None => format!("execution {name}: {status}"),
            };
            (
                json!({"execution": name, "arn": arn, "status": status, "output": output, "error": error}),
                text,
                code,
            )
        }
        remote::RemoteRun::Running { name, arn } => (
            json!({"execution": name, "arn": arn, "status": "RUNNING"}),
            format!(
                "execution {name} is still running; follow it with `lifeboat status --state-machine-arn ...` or the console"
            ),
            EXIT_OK,
        ),
        remote::RemoteRun::Duplicate { name } => (
            json!({"execution": name, "duplicate": true}),
            format!("execution {name} already exists: the same trigger runs once; nothing was started"),
            EXIT_OK,
        ),
    };
    match format {
        OutputFormat::Json => print_json(&doc),
        OutputFormat::Text => println!("{text}"),
    }
    code
}

/// The run record the execution's RecordOutcome/RecordFailure task produced, if any.
pub fn run_record(exec: &Execution) -> Option<Value> {
    exec.events
        .iter()
        .rev()
        .find(|e| {
            e.event_type == "TaskSucceeded"
                && matches!(
                    e.state.as_deref(),
                    Some("RecordOutcome") | Some("RecordFailure") | Some("RecordIgnored")
                )
        })
        .map(|e| e.details["output"].clone())
}

/// The most follow-up runs one `lifeboat run --local` starts after its own.
const MAX_LOCAL_FOLLOW_UPS: usize = 3;

/// The follow-up run an execution's record carries, as its input.
pub fn follow_up_of(exec: &Execution) -> Option<Value> {
    let record = run_record(exec)?;
    let f: lifeboat_core::request::FollowUp = serde_json::from_value(record.get("follow_up")?.clone()).ok()?;
    Some(f.input())
}

/// The exit code an execution deserves.
pub fn exit_code(exec: &Execution) -> i32 {
    match (&exec.status, &exec.error) {
        (ExecutionStatus::Succeeded, _) => EXIT_OK,
        (_, Some(e)) if e.error == ErrorName::InvalidRequest.as_str() => EXIT_BAD_INPUT,
        _ => EXIT_RUN_FAILED,
    }
}

/// Prints an execution's result (stdout) and returns its exit code.
pub fn print_execution(exec: &Execution, counter: &CallCounter, format: OutputFormat) -> i32 {
    let record = run_record(exec);
    let calls = counter.snapshot();
    match format {
        OutputFormat::Json => print_json(&json!({
            "execution": exec.name,
            "status": exec.status,
            "error": exec.error,
            "output": exec.output,
            "record": record,
            "api_calls": calls,
        })),
        OutputFormat::Text => {
            println!("execution {}: {:?}", exec.name, exec.status);
            if let Some(e) = &exec.error {
                println!("  error: {}: {}", e.error, e.cause);
            }
            if let Some(r) = &record {
                println!("  {}", r["summary"].as_str().unwrap_or(""));
            }
            println!("  AWS API calls: {}", report::calls_line(&calls));
        }
    }
    exit_code(exec)
}
