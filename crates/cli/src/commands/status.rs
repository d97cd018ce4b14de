//! `lifeboat status`: where each app is active, its database, the last
//! run, the lease and the running executions.

use super::{database_status, factory};
use crate::{Cli, CliError, EXIT_OK, OutputFormat, output::print_json, remote, text};
use lifeboat_tasks::ServicesFactory;
use serde_json::json;

pub(crate) async fn run(cli: &Cli, state_machine_arn: Option<&str>) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let s = f.services();
    let apps = s.registry.load().await?;
    let last = s.journal.list_runs(1).await.unwrap_or_default();
    let lease = s.lease.state().await.unwrap_or_default();
    let mut databases = Vec::new();
    for a in &apps {
        let databases_of = s.for_account(a.app.account.as_ref()).databases;
        if let Some(text) = database_status::describe_database(&*databases_of, &a.app).await {
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
            "applications": text::apps_json(&apps),
            "last_run": last.first(),
            "lease": lease,
            "databases": databases.iter().map(|(n, t)| (n.clone(), json!(t))).collect::<serde_json::Map<_, _>>(),
            "running_executions": running.as_ref().map(|r| r.iter().map(|(n, _, t)| json!({"name": n, "started": t})).collect::<Vec<_>>()),
        })),
        OutputFormat::Text => {
            crate::out!("{}", text::apps_table(&apps));
            for (name, text) in &databases {
                crate::outln!("database of {name}: {text}");
            }
            match last.first() {
                Some(r) => {
                    crate::outln!("last run: {} {:?} - {}", r.run_id, r.status, r.summary);
                    if let Some(w) = &r.waited {
                        crate::outln!(
                            "  its trigger waited {} s before it started (since {}): {}",
                            w.seconds,
                            w.since.to_rfc3339(),
                            w.reason
                        );
                    }
                }
                None => crate::outln!("last run: none"),
            }
            crate::outln!("{}", text::lease_line(&lease, chrono::Utc::now()));
            if let Some(r) = &running {
                if r.is_empty() {
                    crate::outln!("running executions: none");
                }
                for (n, _, t) in r {
                    crate::outln!("running: {n} (since {t})");
                }
            }
        }
    }
    Ok(EXIT_OK)
}
