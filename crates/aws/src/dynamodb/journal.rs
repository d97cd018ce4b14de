//! The run journal: key (`run_id`, `entry`); entry `run` holds the run
//! record, `app#<phase>#<name>` one application's outcome.

use super::*;
use crate::error::AwsError;
use crate::ports::{DOC_PART_BYTES, Journal, split_parts};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use lifeboat_core::outcome::RunRecord;
use std::collections::BTreeMap;

/// The run journal: key (`run_id`, `entry`); entry `run` holds the run record,
/// `app#<phase>#<name>` one application's outcome.
#[derive(Debug, Clone)]
pub struct DynamoJournal {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoJournal {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoJournal {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl Journal for DynamoJournal {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        ensure_table(&self.client, &self.table, "run_id", Some("entry")).await
    }

    /// The run's item holds the record without its apps (an item is at most
    /// 400 KB; a run may move thousands); each app's outcome is an item of its
    /// own, `app#PHASE#INDEX#NAME`, in the record's order. All in BatchWriteItem
    /// calls of 25.
    async fn record_run(&self, run: &RunRecord) -> Result<(), AwsError> {
        let summary = RunRecord {
            apps: Vec::new(),
            ..run.clone()
        };
        let record = serde_json::to_string(&summary).map_err(|e| AwsError::Other(e.to_string()))?;
        let mut requests = Vec::new();
        let put = |items: Vec<(&str, AttributeValue)>| -> Result<WriteRequest, AwsError> {
            let mut b = PutRequest::builder();
            for (k, v) in items {
                b = b.item(k, v);
            }
            Ok(WriteRequest::builder()
                .put_request(b.build().map_err(|e| AwsError::Other(e.to_string()))?)
                .build())
        };
        requests.push(put(vec![
            ("run_id", s(&run.run_id)),
            ("entry", s("run")),
            ("record", s(record)),
            ("apps", AttributeValue::N(run.apps.len().to_string())),
            ("started_at", s(run.started_at.to_rfc3339())),
            (
                "status",
                s(serde_json::to_value(run.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()),
            ),
        ])?);
        for (i, a) in run.apps.iter().enumerate() {
            let rec = serde_json::to_string(a).map_err(|e| AwsError::Other(e.to_string()))?;
            requests.push(put(vec![
                ("run_id", s(&run.run_id)),
                ("entry", s(format!("app#{}#{i:06}#{}", a.phase, a.app))),
                ("record", s(rec)),
            ])?);
        }
        batch_write(&self.client, &self.table, requests).await
    }

    async fn put_docs(&self, run_id: &str, docs: &[(String, String)]) -> Result<(), AwsError> {
        let mut requests = Vec::new();
        for (key, text) in docs {
            let parts = split_parts(text, DOC_PART_BYTES);
            for (i, part) in parts.iter().enumerate() {
                let put = PutRequest::builder()
                    .item("run_id", s(run_id))
                    .item("entry", s(format!("doc#{key}#{i:04}")))
                    .item("body", s(*part))
                    .item("parts", AttributeValue::N(parts.len().to_string()))
                    .build()
                    .map_err(|e| AwsError::Other(e.to_string()))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
        }
        batch_write(&self.client, &self.table, requests).await
    }

    async fn get_docs(&self, run_id: &str, prefix: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let items = query_prefix(&self.client, &self.table, run_id, &format!("doc#{prefix}")).await?;
        // entry = doc#KEY#PART; a rewrite with fewer parts leaves stale ones
        // behind, so each document is read up to the part count its first part says.
        let mut parts: BTreeMap<String, (usize, Vec<(usize, String)>)> = BTreeMap::new();
        for item in &items {
            let Some(entry) = get_s(item, "entry").and_then(|e| e.strip_prefix("doc#")) else {
                continue;
            };
            let Some((key, n)) = entry.rsplit_once('#') else {
                continue;
            };
            let index: usize = n.parse().unwrap_or(0);
            let count: usize = match item.get("parts") {
                Some(AttributeValue::N(c)) => c.parse().unwrap_or(1),
                _ => 1,
            };
            let doc = parts.entry(key.to_string()).or_insert((count, Vec::new()));
            if index == 0 {
                doc.0 = count;
            }
            doc.1.push((index, get_s(item, "body").unwrap_or_default().to_string()));
        }
        Ok(parts
            .into_iter()
            .map(|(key, (count, mut ps))| {
                ps.sort_by_key(|(i, _)| *i);
                let text: String = ps.into_iter().filter(|(i, _)| *i < count).map(|(_, t)| t).collect();
                (key, text)
            })
            .collect())
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, AwsError> {
        let items = scan_all(
            &self.client,
            &self.table,
            Some(("entry = :run", ":run", s("run"))),
            false,
        )
        .await?;
        let mut runs = Vec::new();
        for rec in items.iter().filter_map(|item| get_s(item, "record")) {
            let r: RunRecord =
                serde_json::from_str(rec).map_err(|e| AwsError::Other(format!("journal record is unreadable: {e}")))?;
            runs.push(r);
        }
        runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
        runs.truncate(limit);
        Ok(runs)
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, AwsError> {
        let item = get_entry(&self.client, &self.table, run_id, "run").await?;
        let Some(rec) = item.as_ref().and_then(|i| get_s(i, "record")) else {
            return Ok(None);
        };
        let mut run: RunRecord =
            serde_json::from_str(rec).map_err(|e| AwsError::Other(format!("journal record is unreadable: {e}")))?;
        // Records written before apps had items of their own carry them inline.
        if run.apps.is_empty() {
            for item in query_prefix(&self.client, &self.table, run_id, "app#").await? {
                if let Some(a) = get_s(&item, "record") {
                    run.apps.push(
                        serde_json::from_str(a)
                            .map_err(|e| AwsError::Other(format!("journal app record is unreadable: {e}")))?,
                    );
                }
            }
        }
        Ok(Some(run))
    }

    async fn claim_execution(&self, name: &str, at: DateTime<Utc>) -> Result<bool, AwsError> {
        // A token of this claim: a write DynamoDB applied but whose answer was
        // lost (a 500, a timeout) is retried by the SDK, and the retry's
        // ConditionalCheckFailed is then our own claim, not someone else's.
        let token = format!("{:016x}", fastrand::u64(..));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("run_id", s(name))
            .item("entry", s("execution"))
            .item("claimed_at", s(at.to_rfc3339()))
            .item("claim_token", s(&token))
            .condition_expression("attribute_not_exists(run_id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => {
                let existing = get_entry(&self.client, &self.table, name, "execution").await?;
                Ok(existing.as_ref().and_then(|i| get_s(i, "claim_token")) == Some(token.as_str()))
            }
            Err(e) => Err(table_error(
                &self.table,
                &format!("PutItem {} execution {name}", self.table),
                e,
            )),
        }
    }

    async fn record_ignored(&self, run_id: &str, reason: &str, at: DateTime<Utc>) -> Result<(), AwsError> {
        // Random, not the process id: every Lambda sandbox may run as the same
        // pid, and two ignored triggers in one microsecond must not overwrite each other.
        let entry = format!(
            "ignored#{}#{:016x}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            fastrand::u64(..)
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .item("run_id", s(run_id))
            .item("entry", s(entry))
            .item("reason", s(reason))
            .item("at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(|e| table_error(&self.table, &format!("PutItem {} ignored trigger", self.table), e))?;
        Ok(())
    }

    async fn ignored(&self, run_id: &str) -> Result<Vec<String>, AwsError> {
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("run_id = :id AND begins_with(entry, :p)")
            .expression_attribute_values(":id", s(run_id))
            .expression_attribute_values(":p", s("ignored#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| table_error(&self.table, &format!("Query {}", self.table), e))?;
        Ok(resp
            .items()
            .iter()
            .filter_map(|i| get_s(i, "reason").map(str::to_string))
            .collect())
    }
}
