//! `lifeboat report RUN [--html FILE]`: one run's record, for people.

use super::factory;
use crate::output::{print_json, write_html_report};
use crate::{Cli, CliError, EXIT_OK, OutputFormat, report, text};
use lifeboat_tasks::ServicesFactory;
use std::path::Path;

pub(crate) async fn run(cli: &Cli, run: &str, html: Option<&Path>) -> Result<i32, CliError> {
    if run.trim().is_empty() {
        return Err(CliError::bad_input("give a run id: `lifeboat history` lists runs"));
    }
    let f = factory(cli).await?;
    let rec = f.services().journal.get_run(run).await?.ok_or_else(|| {
        CliError::bad_input(format!(
            "no run \"{run}\" in the journal; `lifeboat history` lists runs"
        ))
    })?;
    let data = report::RunReport::of(&rec);
    if let Some(path) = html {
        write_html_report(&data, path)?;
        eprintln!("report written to {}", path.display());
    }
    match cli.output {
        OutputFormat::Json => print_json(&data),
        OutputFormat::Text => crate::out!("{}", text::run_text(&rec)),
    }
    Ok(EXIT_OK)
}
