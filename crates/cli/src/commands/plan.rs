//! `lifeboat plan`: what a run would do now, changing nothing.

use super::factory;
use crate::{ActionArg, Cli, CliError, EXIT_OK, OutputFormat, output::print_json, text};
use lifeboat_core::request::{Action, Mode};
use lifeboat_tasks::ServicesFactory;
use lifeboat_tasks::validate::{ValidateInput, validate};
use serde_json::json;

/// What `lifeboat plan` was asked.
pub(crate) struct PlanArgs<'a> {
    pub action: &'a ActionArg,
    pub apps: &'a [String],
    pub disaster: bool,
    pub accept_data_loss: bool,
    pub move_dns_without_database: bool,
}

pub(crate) async fn run(cli: &Cli, args: PlanArgs<'_>) -> Result<i32, CliError> {
    let PlanArgs {
        action,
        apps,
        disaster,
        accept_data_loss,
        move_dns_without_database,
    } = args;
    let action = Action::from(*action);
    let mode = if disaster { Mode::Disaster } else { Mode::Planned };
    let f = factory(cli).await?;
    let s = f.services();
    let trigger = json!({"action": action, "apps": apps, "dry_run": true,
        "mode": mode,
        "accept_data_loss": accept_data_loss, "move_dns_without_database": move_dns_without_database});
    let out = validate(
        s.validate_ports(),
        ValidateInput {
            trigger,
            run_id: "plan".into(),
            started_at: None,
            entered_at: None,
        },
    )
    .await?;
    match cli.output {
        OutputFormat::Json => print_json(&out.plan),
        OutputFormat::Text => crate::out!("{}", text::plan_text(&out.plan)),
    }
    Ok(EXIT_OK)
}
