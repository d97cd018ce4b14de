//! The `lifeboat` operator CLI: registry management, plans, local runs of the
//! state machine, the journal, and the one-command demo.

pub mod args;
pub mod database_status;
pub mod demo;
pub mod emulator;
pub mod error;
pub mod estate;
pub mod fault_proxy;
pub mod html_report;
mod lease_cmd;
pub mod local;
pub mod output;
pub mod progress;
pub mod remote;
pub mod report;
pub mod run_report;

use clap::Parser;
use lifeboat_aws::CallCounter;
use lifeboat_aws::clients::load_sdk_config;
use lifeboat_core::registry::{Registry, parse_registry, registry_schema};
use lifeboat_states::{Clock, SystemClock, VirtualClock};
use lifeboat_tasks::validate::{ValidateInput, validate};
use lifeboat_tasks::{AwsServicesFactory, ServicesFactory, Settings};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

pub use args::{ActionArg, Cli, ClockArg, Command, LeaseCommand, OutputFormat, RegistryCommand};
pub use error::{CliError, EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED};
use output::MAX_LOCAL_FOLLOW_UPS;
pub use output::{exit_code, follow_up_of, print_execution, print_remote, run_record, write_html_report};

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

pub(crate) fn settings(cli: &Cli) -> Result<Settings, CliError> {
    Ok(Settings {
        registry_table: cli.registry_table.clone(),
        journal_table: cli.journal_table.clone(),
        ..Settings::from_env()?
    })
}

pub(crate) async fn factory(cli: &Cli) -> Result<AwsServicesFactory, CliError> {
    Ok(AwsServicesFactory::new(
        load_sdk_config(None, None).await,
        settings(cli)?,
        CallCounter::new(),
    ))
}

/// The Region the services are signed for: the recovery Region, where probes
/// and readiness run.
fn recovery_region(s: &lifeboat_tasks::Services) -> Result<String, CliError> {
    s.sdk_config.region().map(|r| r.to_string()).ok_or_else(|| {
        CliError::bad_input("no Region: set AWS_REGION to the recovery Region (probes and readiness run there)")
    })
}

pub(crate) fn print_json(v: &Value) {
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
            let region = recovery_region(&s)?;
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
                let region = recovery_region(&s)?;
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
        Command::Lease(LeaseCommand::Release { reason }) => lease_cmd::lease_release(cli, reason).await,
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
