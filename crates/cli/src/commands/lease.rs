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
        OutputFormat::Text => println!("{}", text::lease_line(&lease, chrono::Utc::now())),
    }
    Ok(EXIT_OK)
}

/// `lifeboat lease release`: breaks the lease and records who did it and why.
pub(crate) async fn release(cli: &Cli, reason: &str) -> Result<i32, CliError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CliError::bad_input(
            "--reason must say why the lease is broken (it is recorded in the journal); nothing was changed",
        ));
    }
    let f = factory(cli).await?;
    let s = f.services();
    let by = caller_identity(&f.config).await;
    let now = chrono::Utc::now();
    let Some(before) = s.lease.break_lease(now).await? else {
        match cli.output {
            OutputFormat::Json => print_json(&json!({"released": false, "reason": "the lease is free"})),
            OutputFormat::Text => println!("the run lease is free: nothing to release"),
        }
        return Ok(EXIT_OK);
    };
    let holder = before.holder.clone().unwrap_or_default();
    let entry = json!({
        "holder": holder, "epoch": before.epoch, "acquired_at": before.acquired_at,
        "released_at": now, "released_by": by, "reason": reason,
    });
    s.journal
        .put_docs(
            &holder,
            &[(
                format!(
                    "lease-released#{}",
                    now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ),
                entry.to_string(),
            )],
        )
        .await?;
    tracing::warn!(run = %holder, epoch = before.epoch, %by, %reason, "run lease broken by an operator");
    match cli.output {
        OutputFormat::Json => print_json(&json!({"released": true, "lease": before, "by": by, "reason": reason})),
        OutputFormat::Text => println!(
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

/// Who is calling: the STS caller identity's ARN, else the local user.
async fn caller_identity(config: &aws_config::SdkConfig) -> String {
    match aws_sdk_sts::Client::new(config).get_caller_identity().send().await {
        Ok(id) => id.arn().unwrap_or("unknown").to_string(),
        Err(e) => {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            tracing::warn!(error = %lifeboat_aws::AwsError::from_sdk("GetCallerIdentity", e), "recording the local user instead");
            format!("local user {user} (GetCallerIdentity failed)")
        }
    }
}
