//! The triggers' dead-letter queue (SQS): what EventBridge rules, schedules
//! and the asynchronous record invocation could not deliver.
//!
//! An EventBridge rule or a schedule puts the event (the target's input) as
//! the message body, with ERROR_CODE / ERROR_MESSAGE attributes; Lambda's
//! on-failure destination puts a record whose `requestPayload` is the event
//! the function failed on. A run's end comes wrapped in the record mode its
//! rule names (`{"record": "execution_end", "event": ...}`), or bare. Both are read here, and each message says what
//! re-driving it does.

use crate::CliError;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lifeboat_tasks::record_outcome::ExecutionEndInput;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The queue the stack makes, by its name (`STACK-trigger-dead-letters`).
pub const DEFAULT_QUEUE: &str = "lifeboat-trigger-dead-letters";

/// How long a message read for listing stays hidden from other readers.
const LIST_VISIBILITY_SECONDS: i32 = 0;
/// How long a message being re-driven stays hidden (the re-drive deletes it).
const REDRIVE_VISIBILITY_SECONDS: i32 = 300;

/// What a dead letter holds, and what re-driving it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Undelivered {
    /// A trigger (an alarm's state change, a follow-up, a drill, a take-up):
    /// re-driven by starting the state machine with it.
    Trigger { input: Value },
    /// A run's end (Step Functions status change) the record task did not
    /// take: re-driven by recording it from the journal.
    RunEnded { event: Value },
    /// Anything else: shown, never re-driven.
    Unknown { body: String },
}

/// One message of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub id: String,
    /// When SQS took it.
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why delivery failed (ERROR_CODE, ERROR_MESSAGE, or Lambda's condition).
    pub error: String,
    #[serde(flatten)]
    pub what: Undelivered,
    #[serde(skip)]
    pub receipt: String,
}

impl DeadLetter {
    /// A line for the text output.
    pub fn describe(&self) -> String {
        let at = self.sent_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "?".into());
        let what = match &self.what {
            Undelivered::Trigger { input } => format!("trigger {}", trigger_summary(input)),
            Undelivered::RunEnded { event } => format!(
                "end of run {} ({})",
                event["detail"]["name"].as_str().unwrap_or("?"),
                event["detail"]["status"].as_str().unwrap_or("?")
            ),
            Undelivered::Unknown { body } => format!("unknown message: {}", body.chars().take(120).collect::<String>()),
        };
        format!("{}  {at}  {what}  ({})", self.id, self.error)
    }
}

/// A trigger in a few words: the alarm and its state, or the kind of request.
fn trigger_summary(input: &Value) -> String {
    if let Some(alarm) = input["detail"]["alarmName"].as_str() {
        return format!(
            "alarm {alarm} {} in {}",
            input["detail"]["state"]["value"].as_str().unwrap_or("?"),
            input["region"].as_str().unwrap_or("?")
        );
    }
    if let Some(after) = input["detail"]["follow_up"]["after_run"].as_str() {
        return format!("follow-up of run {after}");
    }
    if input.get("take_up_kept").is_some() {
        return "take-up of kept triggers".into();
    }
    input["action"]
        .as_str()
        .map(|a| format!("request {a}"))
        .unwrap_or_else(|| input.to_string().chars().take(120).collect())
}

/// What a message body is.
pub fn classify(body: &str) -> Undelivered {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Undelivered::Unknown { body: body.into() };
    };
    // Lambda's on-failure destination wraps the event it failed on; the run
    // end's rule wraps the status change in the record mode it names.
    let mut event = v.get("requestPayload").cloned().unwrap_or(v);
    if let Some(inner) = ExecutionEndInput::event_of(&event) {
        event = inner.clone();
    }
    if event["source"] == "aws.states" {
        return Undelivered::RunEnded { event };
    }
    if event.is_object() {
        return Undelivered::Trigger { input: event };
    }
    Undelivered::Unknown { body: body.into() }
}

/// The dead-letter queue.
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// An SQS call's error, with its whole chain of causes.
fn sqs_error(what: &str, e: impl std::error::Error) -> CliError {
    CliError::failed(format!(
        "SQS {what}: {}",
        aws_smithy_types::error::display::DisplayErrorContext(e)
    ))
}

impl DeadLetters {
    /// The queue named `name_or_url` (a URL, or a name looked up in this
    /// Region). None if there is no such queue.
    pub async fn open(client: aws_sdk_sqs::Client, name_or_url: &str) -> Result<Option<Self>, CliError> {
        if name_or_url.starts_with("https://") || name_or_url.starts_with("http://") {
            return Ok(Some(DeadLetters {
                client,
                url: name_or_url.into(),
            }));
        }
        match client.get_queue_url().queue_name(name_or_url).send().await {
            Ok(out) => Ok(out.queue_url().map(|url| DeadLetters {
                client: client.clone(),
                url: url.into(),
            })),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_queue_does_not_exist()) => Ok(None),
            Err(e) => Err(sqs_error(&format!("GetQueueUrl {name_or_url}"), e)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads messages, hidden for `visibility` seconds, until no new one comes.
    async fn read(&self, visibility: i32) -> Result<Vec<DeadLetter>, CliError> {
        let mut seen: BTreeMap<String, DeadLetter> = BTreeMap::new();
        // Each receive samples the queue; a few empty or repeated rounds in a row end it.
        let mut quiet = 0;
        while quiet < 3 {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .visibility_timeout(visibility)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| sqs_error("ReceiveMessage", e))?;
            let before = seen.len();
            for m in out.messages() {
                let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                let body = m.body().unwrap_or_default();
                let attr = |name: &str| {
                    m.message_attributes()
                        .and_then(|a| a.get(name))
                        .and_then(|v| v.string_value())
                        .map(str::to_string)
                };
                let lambda_condition = serde_json::from_str::<Value>(body).ok().and_then(|v| {
                    v["requestContext"]["condition"]
                        .as_str()
                        .map(|c| format!("Lambda: {c}"))
                });
                let error = [attr("ERROR_CODE"), attr("ERROR_MESSAGE"), lambda_condition]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                let sent_at = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|t| t.parse::<i64>().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis);
                seen.entry(id.to_string()).or_insert(DeadLetter {
                    id: id.into(),
                    sent_at,
                    error: if error.is_empty() {
                        "no reason given".into()
                    } else {
                        error
                    },
                    what: classify(body),
                    receipt: receipt.into(),
                });
            }
            quiet = if seen.len() == before { quiet + 1 } else { 0 };
        }
        Ok(seen.into_values().collect())
    }

    /// Every message, oldest first (left in the queue).
    pub async fn list(&self) -> Result<Vec<DeadLetter>, CliError> {
        let mut all = self.read(LIST_VISIBILITY_SECONDS).await?;
        all.sort_by_key(|d| d.sent_at);
        Ok(all)
    }

    /// The message `id`, hidden from other readers while it is re-driven;
    /// the others are made visible again at once.
    pub async fn take(&self, id: &str) -> Result<Option<DeadLetter>, CliError> {
        let mut found = None;
        for d in self.read(REDRIVE_VISIBILITY_SECONDS).await? {
            if d.id == id {
                found = Some(d);
            } else {
                self.release(&d.receipt).await?;
            }
        }
        Ok(found)
    }

    /// Makes a message visible again (a re-drive that failed leaves it queued).
    pub async fn release(&self, receipt: &str) -> Result<(), CliError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| sqs_error("ChangeMessageVisibility", e))?;
        Ok(())
    }

    /// Deletes a message once re-driven.
    pub async fn delete(&self, receipt: &str) -> Result<(), CliError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sqs_error("DeleteMessage", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dead_letter_is_a_trigger_a_run_end_or_unknown() {
        let alarm = json!({"source": "aws.cloudwatch", "detail": {"alarmName": "a", "state": {"value": "ALARM"}}});
        assert_eq!(
            classify(&alarm.to_string()),
            Undelivered::Trigger { input: alarm.clone() }
        );
        let end = json!({"source": "aws.states", "detail": {"name": "run-1", "status": "TIMED_OUT"}});
        let wrapped = json!({"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": end});
        assert_eq!(
            classify(&wrapped.to_string()),
            Undelivered::RunEnded { event: end.clone() }
        );
        let as_the_rule_passes_it = json!({"requestPayload": {"record": "execution_end", "event": end}});
        assert_eq!(
            classify(&as_the_rule_passes_it.to_string()),
            Undelivered::RunEnded { event: end }
        );
        assert!(matches!(classify("not json"), Undelivered::Unknown { .. }));
        assert!(matches!(classify("[1]"), Undelivered::Unknown { .. }));
        assert_eq!(trigger_summary(&alarm), "alarm a ALARM in ?");
        assert_eq!(
            trigger_summary(&json!({"detail": {"follow_up": {"after_run": "r"}}})),
            "follow-up of run r"
        );
    }
}
