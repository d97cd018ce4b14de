//! One module per verb of the `lifeboat` CLI; [`run_command`] dispatches.

mod approval;
mod database_status;
mod emulator;
mod history;
mod lease;
mod plan;
mod probe;
mod readiness;
mod registry;
mod report;
mod run;
mod sample;
mod status;
mod triggers;

use crate::{Cli, CliError, Command, LeaseCommand, RegistryCommand, SampleCommand, TriggersCommand};
use lifeboat_aws::CallCounter;
use lifeboat_aws::clients::load_sdk_config;
use lifeboat_core::registry::regions::{is_known_region, unknown_region_message};
use lifeboat_tasks::{AwsServicesFactory, Settings};

/// Runs the command `cli` names; returns its exit code.
pub(crate) async fn run_command(cli: &Cli) -> Result<i32, CliError> {
    match &cli.command {
        Command::Demo => lifeboat_sandbox::demo::run_demo(cli.output).await,
        Command::Emulator { port, no_quotas } => emulator::serve_foreground(*port, !*no_quotas, cli.output),
        Command::Probe { .. } => probe::run(cli).await,
        Command::Sample(SampleCommand::AlarmEvent {
            app, registry, alarm, ..
        }) => sample::alarm_event_for(cli, app, registry.as_deref(), alarm.as_deref()).await,
        Command::Readiness { now, .. } => readiness::run(cli, *now).await,
        Command::Approve { run, note, local, .. } => approval::answer(cli, run, true, note.as_deref(), *local).await,
        Command::Reject { run, reason, local, .. } => approval::answer(cli, run, false, Some(reason), *local).await,
        Command::Lease {
            command: LeaseCommand::Show,
            ..
        } => lease::show(cli).await,
        Command::Lease {
            command: LeaseCommand::Release {
                reason,
                cooldown: false,
            },
            ..
        } => lease::release(cli, reason).await,
        Command::Lease {
            command: LeaseCommand::Release { reason, cooldown: true },
            ..
        } => lease::end_cooldown(cli, reason).await,
        Command::Triggers {
            command: TriggersCommand::List { queue },
            ..
        } => triggers::list(cli, queue).await,
        Command::Triggers {
            command: TriggersCommand::Redrive { id, queue, place },
            ..
        } => {
            let place = match (place.local, &place.state_machine_arn) {
                (true, _) => Some(triggers::Place::Local {
                    definition: &place.definition,
                    clock: &place.clock,
                }),
                (false, Some(arn)) => Some(triggers::Place::Aws {
                    arn,
                    wait_seconds: place.wait_seconds,
                }),
                (false, None) => None,
            };
            triggers::redrive(cli, id, queue, place).await
        }
        Command::Registry(RegistryCommand::Schema) => registry::schema(),
        Command::Registry(RegistryCommand::Validate { file }) => registry::validate(cli, file),
        Command::Registry(RegistryCommand::Apply { file, prune, .. }) => registry::apply(cli, file, *prune).await,
        Command::Registry(RegistryCommand::List { .. }) => registry::list(cli).await,
        Command::Plan {
            action,
            apps,
            disaster,
            accept_data_loss,
            move_dns_without_database,
            ..
        } => {
            let args = plan::PlanArgs {
                action,
                apps,
                disaster: *disaster,
                accept_data_loss: *accept_data_loss,
                move_dns_without_database: *move_dns_without_database,
            };
            plan::run(cli, args).await
        }
        Command::Run { input, place, .. } => match &place.state_machine_arn {
            Some(arn) => run::on_aws(cli, input, arn, place.wait_seconds).await,
            None => run::on_local(cli, input, &place.definition, &place.clock).await,
        },
        Command::History {
            limit,
            state_machine_arn,
            ..
        } => history::run(cli, *limit, state_machine_arn.as_deref()).await,
        Command::Report { run, html, .. } => report::run(cli, run, html.as_deref()).await,
        Command::Status { state_machine_arn, .. } => status::run(cli, state_machine_arn.as_deref()).await,
    }
}

/// The task settings from the environment, with the tables the flags name.
pub(crate) fn settings(cli: &Cli) -> Result<Settings, CliError> {
    let from_env = Settings::from_env()?;
    Ok(match cli.tables() {
        Some(t) => Settings {
            registry_table: t.registry_table.clone(),
            journal_table: t.journal_table.clone(),
            lease_table: t.lease_table.clone(),
            ..from_env
        },
        None => from_env,
    })
}

/// The services a command uses, on the SDK's default configuration.
pub(crate) async fn factory(cli: &Cli) -> Result<AwsServicesFactory, CliError> {
    let config = load_sdk_config(None, None).await;
    if let Some(region) = config.region().map(|r| r.to_string())
        && !is_known_region(&region)
    {
        return Err(CliError::bad_input(format!(
            "AWS_REGION (or the profile's region): {}",
            unknown_region_message(&region)
        )));
    }
    Ok(AwsServicesFactory::new(config, settings(cli)?, CallCounter::new()))
}

/// The Region the services are signed for: the recovery Region, where probes
/// and readiness run.
fn recovery_region(s: &lifeboat_tasks::Services) -> Result<String, CliError> {
    s.sdk_config.region().map(|r| r.to_string()).ok_or_else(|| {
        CliError::bad_input("no Region: set AWS_REGION to the recovery Region (probes and readiness run there)")
    })
}
