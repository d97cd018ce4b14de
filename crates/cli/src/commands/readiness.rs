//! `lifeboat readiness [--now]`: whether each app could fail over now (the
//! latest scheduled evaluation, or a fresh one).

use super::{factory, recovery_region};
use crate::{Cli, CliError, EXIT_OK, EXIT_RUN_FAILED, OutputFormat, output::print_json, text};
use lifeboat_tasks::ServicesFactory;

pub(crate) async fn run(cli: &Cli, now: bool) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let s = f.services();
    let ev = if now {
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
        OutputFormat::Json => print_json(&ev),
        OutputFormat::Text => crate::out!("{}", text::readiness_table(&ev, chrono::Utc::now())),
    }
    Ok(if ev.not_ready().is_empty() {
        EXIT_OK
    } else {
        EXIT_RUN_FAILED
    })
}
