//! `lifeboat registry schema|validate|apply|list`: the application registry.

use super::factory;
use crate::{Cli, CliError, EXIT_OK, OutputFormat, output::print_json, text};
use lifeboat_core::registry::{Registry, parse_registry, registry_schema};
use lifeboat_tasks::ServicesFactory;
use serde_json::json;
use std::path::Path;

pub(crate) fn schema() -> Result<i32, CliError> {
    print_json(&registry_schema());
    Ok(EXIT_OK)
}

pub(crate) fn validate(cli: &Cli, file: &Path) -> Result<i32, CliError> {
    let reg = read_registry_file(file)?;
    match cli.output {
        OutputFormat::Json => print_json(&json!({"valid": true, "applications": reg.applications.len()})),
        OutputFormat::Text => crate::outln!("{}: valid, {} application(s)", file.display(), reg.applications.len()),
    }
    Ok(EXIT_OK)
}

/// Writes the registry to its table (and creates the journal table), and the probes' alarms.
pub(crate) async fn apply(cli: &Cli, file: &Path, prune: bool) -> Result<i32, CliError> {
    let reg = read_registry_file(file)?;
    let f = factory(cli).await?;
    let s = f.services();
    let mut summary = lifeboat_tasks::apply_registry::apply_registry(&*s.registry, &reg, prune).await?;
    // The journal too: a first run needs it (on AWS the stack makes both).
    s.journal.ensure_table().await?;
    s.lease.ensure_table().await?;
    summary.probe_alarms = lifeboat_tasks::probe::apply_probe_alarms(&*s.metrics, &reg).await?;
    match cli.output {
        OutputFormat::Json => print_json(&summary),
        OutputFormat::Text => crate::outln!("{}", summary.describe(&registry_table_of(cli))),
    }
    Ok(EXIT_OK)
}

pub(crate) async fn list(cli: &Cli) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let apps = f.services().registry.load().await?;
    match cli.output {
        OutputFormat::Json => print_json(&text::apps_json(&apps)),
        OutputFormat::Text => crate::out!("{}", text::apps_table(&apps)),
    }
    Ok(EXIT_OK)
}

pub(crate) fn read_registry_file(file: &Path) -> Result<Registry, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::bad_input(format!("cannot read {}: {e}", file.display())))?;
    parse_registry(&text).map_err(|e| CliError::bad_input(format!("{}: {e}", file.display())))
}

/// The registry table the verb names.
fn registry_table_of(cli: &Cli) -> String {
    cli.tables().map(|t| t.registry_table.clone()).unwrap_or_default()
}
