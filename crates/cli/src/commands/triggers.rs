//! `lifeboat triggers list|redrive`: every trigger that did not run when it
//! came, and re-driving one the stack could not deliver.

use super::{factory, run};
use crate::dead_letters::{DeadLetter, DeadLetters, Undelivered};
use crate::{Cli, CliError, ClockArg, EXIT_OK, OutputFormat, output::print_json};
use lifeboat_tasks::ServicesFactory;
use lifeboat_tasks::dispatch::TaskKind;
use lifeboat_tasks::pending::{PendingTrigger, TriggerLogEntry, all_kept, trigger_log};
use serde_json::json;
use std::path::Path;

/// Where a re-driven trigger runs.
pub(crate) enum Place<'a> {
    Local { definition: &'a Path, clock: &'a ClockArg },
    Aws { arn: &'a str, wait_seconds: u64 },
}

async fn queue(cli: &Cli, name_or_url: &str) -> Result<Option<DeadLetters>, CliError> {
    let f = factory(cli).await?;
    DeadLetters::open(aws_sdk_sqs::Client::new(&f.config), name_or_url).await
}

/// `lifeboat triggers list`.
pub(crate) async fn list(cli: &Cli, queue_name: &str) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let s = f.services();
    let mut kept = all_kept(&*s.journal).await?;
    kept.sort_by_key(|k| k.at);
    let logged = trigger_log(&*s.journal).await?;
    let dead = match queue(cli, queue_name).await? {
        Some(q) => Some((q.url().to_string(), q.list().await?)),
        None => None,
    };
    match cli.output {
        OutputFormat::Json => print_json(&json!({
            "kept": kept,
            "logged": logged,
            "dead_letter_queue": dead.as_ref().map(|(url, _)| url),
            "dead_letters": dead.as_ref().map(|(_, d)| d).cloned().unwrap_or_default(),
        })),
        OutputFormat::Text => crate::outln!("{}", list_text(&kept, &logged, queue_name, dead.as_ref())),
    }
    Ok(EXIT_OK)
}

fn list_text(
    kept: &[PendingTrigger],
    logged: &[TriggerLogEntry],
    queue_name: &str,
    dead: Option<&(String, Vec<DeadLetter>)>,
) -> String {
    let mut out = Vec::new();
    let waiting = kept.iter().filter(|k| k.taken_up_by.is_none()).count();
    out.push(format!(
        "kept triggers: {} ({waiting} waiting, {} taken up)",
        kept.len(),
        kept.len() - waiting
    ));
    for k in kept {
        let state = match &k.taken_up_by {
            Some(run) => format!("taken up by {run}"),
            None => "waiting for the lease to free (or the take-up schedule)".into(),
        };
        out.push(format!(
            "  {}  alarm {} ({})  turned away {}: {}; {state}",
            k.at.to_rfc3339(),
            k.alarm,
            k.region,
            k.turned_away,
            k.reason
        ));
    }
    out.push(format!("logged triggers (turned away or refused): {}", logged.len()));
    for l in logged {
        let kept = if l.kept.is_empty() {
            String::new()
        } else {
            format!(" (kept: {})", l.kept.join(", "))
        };
        out.push(format!(
            "  {}  {} {}: {}{kept}",
            l.at.to_rfc3339(),
            l.outcome,
            l.run_id,
            l.error
                .as_ref()
                .map(|e| format!("{e}: {}", l.reason))
                .unwrap_or_else(|| l.reason.clone())
        ));
    }
    match dead {
        None => out.push(format!(
            "dead-lettered: no queue {queue_name} in this Region (--queue or LIFEBOAT_TRIGGER_DLQ names it)"
        )),
        Some((url, letters)) => {
            out.push(format!("dead-lettered: {} in {url}", letters.len()));
            out.extend(letters.iter().map(|d| format!("  {}", d.describe())));
            if !letters.is_empty() {
                out.push("  lifeboat triggers redrive ID (--local | --state-machine-arn ARN) re-drives one".into());
            }
        }
    }
    out.join("\n")
}

/// `lifeboat triggers redrive ID`.
pub(crate) async fn redrive(cli: &Cli, id: &str, queue_name: &str, place: Option<Place<'_>>) -> Result<i32, CliError> {
    let Some(q) = queue(cli, queue_name).await? else {
        return Err(CliError::bad_input(format!(
            "no queue {queue_name} in this Region: --queue (or LIFEBOAT_TRIGGER_DLQ) names the triggers' dead-letter queue"
        )));
    };
    let Some(letter) = q.take(id).await? else {
        return Err(CliError::bad_input(format!(
            "no message {id} in {} (lifeboat triggers list shows them); nothing was re-driven",
            q.url()
        )));
    };
    let outcome = match (&letter.what, place) {
        (Undelivered::Trigger { .. }, None) => Err(CliError::bad_input(
            "a trigger re-driven starts a run: say where, --local or --state-machine-arn ARN; the message stays queued",
        )),
        (Undelivered::Trigger { input }, Some(Place::Local { definition, clock })) => {
            run::run_locally(cli, input.clone(), definition, clock).await
        }
        (Undelivered::Trigger { input }, Some(Place::Aws { arn, wait_seconds })) => {
            run::start_on_aws(cli, input.clone(), arn, wait_seconds).await
        }
        (Undelivered::RunEnded { event }, _) => {
            let f = factory(cli).await?;
            let input = lifeboat_tasks::record_outcome::ExecutionEndInput::payload(event.clone());
            match lifeboat_tasks::dispatch(TaskKind::RecordOutcome, &f.services(), input).await {
                Ok(out) => {
                    match cli.output {
                        OutputFormat::Json => print_json(&json!({"recorded": out})),
                        OutputFormat::Text => crate::outln!(
                            "recorded the end of run {}: {}",
                            event["detail"]["name"].as_str().unwrap_or("?"),
                            out["detail"].as_str().unwrap_or("done")
                        ),
                    }
                    Ok(EXIT_OK)
                }
                Err(e) => Err(CliError::from(e)),
            }
        }
        (Undelivered::Unknown { .. }, _) => Err(CliError::bad_input(format!(
            "message {id} is neither a trigger nor a run's end: read it with `lifeboat triggers list --output json`; \
             it stays queued"
        ))),
    };
    match outcome {
        Ok(code) => {
            q.delete(&letter.receipt).await?;
            tracing::info!(message = %id, code, "dead letter re-driven and deleted");
            Ok(code)
        }
        Err(e) => {
            q.release(&letter.receipt).await?;
            Err(e)
        }
    }
}
