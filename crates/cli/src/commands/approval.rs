//! `lifeboat approve RUN` and `lifeboat reject RUN --reason ...`: answer a
//! run that waits for approval. The decision is written beside the task
//! token in the run's journal (who, when, why), then, on AWS, the token is
//! answered: SendTaskSuccess lets the run go on, SendTaskFailure stops it
//! with `Lifeboat.ApprovalRejected`. With `--local`, the local runner reads
//! the decision from the journal and answers its executor.

use super::factory;
use super::lease::{caller_identity, required_reason};
use crate::{Cli, CliError, EXIT_OK, OutputFormat, output::print_json};
use lifeboat_tasks::ServicesFactory;
use lifeboat_tasks::approval::{Decision, decide, rejection, success_output};
use serde_json::json;

pub(crate) async fn answer(
    cli: &Cli,
    run: &str,
    approved: bool,
    reason: Option<&str>,
    local: bool,
) -> Result<i32, CliError> {
    let reason = match (approved, reason) {
        (false, r) => Some(required_reason(r.unwrap_or_default(), "run is rejected")?.to_string()),
        (true, r) => r.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string),
    };
    let f = factory(cli).await?;
    let s = f.services();
    let decision = Decision {
        approved,
        by: caller_identity(&f.config).await,
        at: chrono::Utc::now(),
        reason,
    };
    let doc = decide(&*s.journal, run, decision.clone()).await?;
    if !local {
        let sfn = aws_sdk_sfn::Client::new(&f.config);
        let sent = if approved {
            sfn.send_task_success()
                .task_token(&doc.token)
                .output(success_output(&decision).to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| lifeboat_aws::AwsError::from_sdk("SendTaskSuccess", e))
        } else {
            let (error, cause) = rejection(&decision);
            sfn.send_task_failure()
                .task_token(&doc.token)
                .error(error.as_str())
                .cause(cause)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| lifeboat_aws::AwsError::from_sdk("SendTaskFailure", e))
        };
        if let Err(e) = sent {
            return Err(CliError::failed(format!(
                "the decision is in the journal, but Step Functions did not take it ({e}): the run still waits; \
                 if it timed out meanwhile, its on_timeout ({}) applies",
                doc.on_timeout.as_str()
            )));
        }
    }
    let verb = if approved { "approved" } else { "rejected" };
    tracing::warn!(%run, by = %decision.by, reason = ?decision.reason, "run {verb}");
    match cli.output {
        OutputFormat::Json => print_json(&json!({
            "run": run, "decision": verb, "by": decision.by, "at": decision.at, "reason": decision.reason,
            "waited_seconds": (decision.at - doc.requested_at).num_milliseconds() as f64 / 1000.0,
        })),
        OutputFormat::Text => crate::outln!(
            "{verb} run {run} by {} after {:.0} s of waiting{}\n{}",
            decision.by,
            (decision.at - doc.requested_at).num_seconds(),
            decision.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
            if approved {
                "it goes on: its waves start now"
            } else {
                "nothing was changed; the run is recorded as rejected"
            }
        ),
    }
    Ok(EXIT_OK)
}
