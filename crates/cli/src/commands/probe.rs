//! `lifeboat probe`: one probe of every app's primary endpoint from the
//! recovery Region, as the scheduled probe makes it.

use super::{factory, recovery_region};
use crate::{Cli, CliError, EXIT_OK, EXIT_RUN_FAILED, OutputFormat, output::print_json, text};
use lifeboat_tasks::ServicesFactory;

pub(crate) async fn run(cli: &Cli) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let s = f.services();
    let region = recovery_region(&s)?;
    let out = lifeboat_tasks::probe::probe_primaries(&*s.registry, &*s.http, &*s.metrics, &region, chrono::Utc::now())
        .await?;
    match cli.output {
        OutputFormat::Json => print_json(&out),
        OutputFormat::Text => crate::out!("{}", text::probe_text(&out)),
    }
    Ok(if out.failing().is_empty() {
        EXIT_OK
    } else {
        EXIT_RUN_FAILED
    })
}
