//! `lifeboat lease show|release`: the run lease, and breaking it on the record.

use super::factory;
use crate::{Cli, CliError, EXIT_OK, OutputFormat, output::print_json, text};
use lifeboat_tasks::ServicesFactory;
use serde_json::json;

/// `lifeboat lease show`: who holds the run lease, since when, until when.
pub(crate) async fn show(cli: &Cli) -> Result<i32, CliError> {
    let f = factory(cli).await?;
    let lease = f.services().lease.state().await?;
    match cli.output {
        OutputFormat::Json => print_json(&lease),
        OutputFormat::Text => crate::outln!("{}", text::lease_line(&lease, chrono::Utc::now())),
    }
    Ok(EXIT_OK)
}

/// `lifeboat lease release`: breaks the lease and records who did it and why.
pub(crate) async fn release(cli: &Cli, reason: &str) -> Result<i32, CliError> {
    let reason = required_reason(reason, "lease is broken")?;
    let f = factory(cli).await?;
    let s = f.services();
    let by = caller_identity(&f.config).await;
    let now = chrono::Utc::now();
    let Some(before) = s.lease.break_lease(now).await? else {
        match cli.output {
            OutputFormat::Json => print_json(&json!({"released": false, "reason": "the lease is free"})),
            OutputFormat::Text => crate::outln!("the run lease is free: nothing to release"),
        }
        return Ok(EXIT_OK);
    };
    let holder = before.holder.clone().unwrap_or_default();
    let entry = json!({
        "holder": holder, "epoch": before.epoch, "acquired_at": before.acquired_at,
        "released_at": now, "released_by": by, "reason": reason,
    });
    journal_operator_action(&*s.journal, &holder, "lease-released", now, entry).await?;
    tracing::warn!(run = %holder, epoch = before.epoch, %by, %reason, "run lease broken by an operator");
    match cli.output {
        OutputFormat::Json => print_json(&json!({"released": true, "lease": before, "by": by, "reason": reason})),
        OutputFormat::Text => crate::outln!(
            "released the run lease of {holder} (epoch {}, {}) by {by}: {reason}\n\
             its next step changes nothing (it refuses with Lifeboat.LeaseHeld); stop its execution too if it is still running",
            before.epoch,
            before
                .acquired_at
                .map(|t| format!("taken at {}", t.to_rfc3339()))
                .unwrap_or_else(|| "taken at an unknown time".into()),
        ),
    }
    Ok(EXIT_OK)
}

/// `lifeboat lease release --cooldown`: ends the cooldown after a failback
/// now, recorded with who and why, so an alarm's failover is not held back.
pub(crate) async fn end_cooldown(cli: &Cli, reason: &str) -> Result<i32, CliError> {
    let reason = required_reason(reason, "cooldown is ended")?;
    let f = factory(cli).await?;
    let s = f.services();
    let by = caller_identity(&f.config).await;
    let now = chrono::Utc::now();
    let Some(before) = s.lease.clear_cooldown(now).await? else {
        match cli.output {
            OutputFormat::Json => print_json(&json!({"cleared": false, "reason": "no cooldown is running"})),
            OutputFormat::Text => crate::outln!("no cooldown is running: nothing to end"),
        }
        return Ok(EXIT_OK);
    };
    let last_run = before.last_run.clone().unwrap_or_default();
    let entry = json!({
        "last_run": last_run, "cooldown_until": before.cooldown_until,
        "cleared_at": now, "cleared_by": by, "reason": reason,
    });
    journal_operator_action(&*s.journal, &last_run, "cooldown-ended", now, entry).await?;
    tracing::warn!(run = %last_run, %by, %reason, "cooldown ended by an operator");
    match cli.output {
        OutputFormat::Json => print_json(&json!({"cleared": true, "lease": before, "by": by, "reason": reason})),
        OutputFormat::Text => crate::outln!(
            "ended the cooldown after run {last_run} (it ran until {}) by {by}: {reason}\n\
             an alarm's failover now starts at once",
            before
                .cooldown_until
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "?".into()),
        ),
    }
    Ok(EXIT_OK)
}

/// The operator's reason, required: it goes into the journal.
pub(super) fn required_reason<'a>(reason: &'a str, what: &str) -> Result<&'a str, CliError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CliError::bad_input(format!(
            "--reason must say why the {what} (it is recorded in the journal); nothing was changed"
        )));
    }
    Ok(reason)
}

/// Journals an operator's action on the lease under the run it concerns.
async fn journal_operator_action(
    journal: &dyn lifeboat_aws::ports::Journal,
    run: &str,
    kind: &str,
    now: chrono::DateTime<chrono::Utc>,
    entry: serde_json::Value,
) -> Result<(), CliError> {
    let key = format!("{kind}#{}", now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    journal.put_docs(run, &[(key, entry.to_string())]).await?;
    Ok(())
}

/// Who is calling: the STS caller identity's ARN, else the local user.
pub(super) async fn caller_identity(config: &aws_config::SdkConfig) -> String {
    match aws_sdk_sts::Client::new(config).get_caller_identity().send().await {
        Ok(id) => id.arn().unwrap_or("unknown").to_string(),
        Err(e) => {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            tracing::warn!(error = %lifeboat_aws::AwsError::from_sdk("GetCallerIdentity", e), "recording the local user instead");
            format!("local user {user} (GetCallerIdentity failed)")
        }
    }
}
