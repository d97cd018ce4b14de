//! `lifeboat history`: the journal's runs, and the state machine's executions.

use super::factory;
use crate::{Cli, CliError, EXIT_OK, OutputFormat, output::print_json, remote, text};
use lifeboat_tasks::ServicesFactory;
use serde_json::json;

pub(crate) async fn run(cli: &Cli, limit: usize, state_machine_arn: Option<&str>) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let runs = f.services().journal.list_runs(limit).await?;
    let executions = match state_machine_arn {
        Some(arn) => Some(remote::executions(&aws_sdk_sfn::Client::new(&f.config), arn, None, limit).await?),
        None => None,
    };
    match cli.output {
        OutputFormat::Json => print_json(&json!({
            "runs": runs,
            "executions": executions.as_ref().map(|e| e.iter().map(|(n, st, t)| json!({"name": n, "status": st, "started": t})).collect::<Vec<_>>()),
        })),
        OutputFormat::Text => {
            crate::out!("{}", text::history_table(&runs));
            if let Some(e) = &executions {
                crate::outln!("Step Functions executions:");
                let rows = e
                    .iter()
                    .map(|(n, st, t)| [n.to_string(), st.to_string(), t.to_string()]);
                crate::out!(
                    "{}",
                    crate::table::render("  ", &["NAME", "STATUS", "STARTED"], &[], rows)
                );
            }
        }
    }
    Ok(EXIT_OK)
}
