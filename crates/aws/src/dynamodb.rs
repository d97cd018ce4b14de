//! DynamoDB adapters: the registry table and the run journal.
//!
//! Items keep their payload as a JSON string (`spec`, `record`) beside a few
//! plain attributes for humans and queries: the model stays in one place
//! (lifeboat-core) and needs no attribute-by-attribute mapping.

use crate::error::AwsError;
use crate::ports::{
    DOC_PART_BYTES, Journal, LeaseOutcome, LeaseState, RegistryStore, RunLease, StoredApp, split_parts,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType, PutRequest,
    ReturnValue, ScalarAttributeType, TransactWriteItem, Update, WriteRequest,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use lifeboat_core::outcome::RunRecord;
use lifeboat_core::registry::{Application, RoutingControlCluster};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn get_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_n(item: &Item, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn from_epoch(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Whether an SDK error is DynamoDB's ConditionalCheckFailedException.
fn is_condition_failed<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    // Each operation has its own typed variant; the code is the same for all.
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

/// Creates a table with a string hash key (and optional range key) if missing;
/// waits until it is ACTIVE. True if it created it.
async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    hash: &str,
    range: Option<&str>,
) -> Result<bool, AwsError> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => return Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) => {}
        Err(e) => return Err(AwsError::from_sdk(&format!("DescribeTable {table}"), e)),
    }
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| AwsError::Other(e.to_string()))
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| AwsError::Other(e.to_string()))
    };
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(hash)?)
        .key_schema(key(hash, KeyType::Hash)?);
    if let Some(r) = range {
        req = req.attribute_definitions(attr(r)?).key_schema(key(r, KeyType::Range)?);
    }
    match req.send().await {
        Ok(_) => {}
        // Someone else created it between our describe and create: fine.
        Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception()) => return Ok(false),
        Err(e) => return Err(AwsError::from_sdk(&format!("CreateTable {table}"), e)),
    }
    // The SDK's table-exists waiter: until the table is ACTIVE.
    use aws_sdk_dynamodb::client::Waiters;
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| {
            AwsError::Other(format!(
                "table {table} did not become ACTIVE within 60 s: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
    Ok(true)
}

/// Every item of a table (optionally filtered by `expression` with one
/// value), following Scan's pages.
async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    filter: Option<(&str, &str, AttributeValue)>,
    consistent: bool,
) -> Result<Vec<Item>, AwsError> {
    let mut req = client.scan().table_name(table).consistent_read(consistent);
    if let Some((expression, name, value)) = &filter {
        req = req
            .filter_expression(*expression)
            .expression_attribute_values(*name, value.clone());
    }
    // The SDK's paginator follows LastEvaluatedKey.
    let mut pages = req.into_paginator().send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| table_error(table, &format!("Scan {table}"), e))?;
        items.extend(page.items().iter().cloned());
    }
    Ok(items)
}

/// Every item of one run whose entry starts with `prefix`, read consistently,
/// following Query's pages.
async fn query_prefix(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    run_id: &str,
    prefix: &str,
) -> Result<Vec<Item>, AwsError> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let resp = client
            .query()
            .table_name(table)
            .consistent_read(true)
            .key_condition_expression("run_id = :r AND begins_with(entry, :p)")
            .expression_attribute_values(":r", s(run_id))
            .expression_attribute_values(":p", s(prefix))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| table_error(table, &format!("Query {table} {run_id}/{prefix}*"), e))?;
        items.extend(resp.items().iter().cloned());
        match resp.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(items),
        }
    }
}

/// One journal-table item by key, read consistently.
async fn get_entry(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    run_id: &str,
    entry: &str,
) -> Result<Option<Item>, AwsError> {
    let resp = client
        .get_item()
        .table_name(table)
        .key("run_id", s(run_id))
        .key("entry", s(entry))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| table_error(table, &format!("GetItem {table} {run_id}/{entry}"), e))?;
    Ok(resp.item().cloned())
}

/// Writes requests in BatchWriteItem chunks of 25, resending unprocessed items.
async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), AwsError> {
    for chunk in requests.chunks(25) {
        let mut pending: HashMap<String, Vec<WriteRequest>> = HashMap::from([(table.to_string(), chunk.to_vec())]);
        for attempt in 0..8u32 {
            let resp = client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(|e| table_error(table, &format!("BatchWriteItem {table}"), e))?;
            match resp.unprocessed_items() {
                Some(u) if !u.is_empty() => {
                    pending = u.clone();
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                _ => {
                    pending = HashMap::new();
                    break;
                }
            }
        }
        if !pending.is_empty() {
            return Err(AwsError::Throttled(format!(
                "BatchWriteItem {table}: items still unprocessed after 8 attempts"
            )));
        }
    }
    Ok(())
}

const SET_ACTIVE: &str = "SET active_region = :r, updated_at = :t, updated_by = :run";
const APP_EXISTS: &str = "attribute_exists(app)";

fn active_values(region: &str, run_id: &str, at: DateTime<Utc>) -> Item {
    HashMap::from([
        (":r".to_string(), s(region)),
        (":t".to_string(), s(at.to_rfc3339())),
        (":run".to_string(), s(run_id)),
    ])
}

/// The registry table: one item per application, key `app`.
#[derive(Debug, Clone)]
pub struct DynamoRegistry {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRegistry {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoRegistry {
            client,
            table: table.into(),
        }
    }
}

/// The registry table's item for the top-level `routing_control_cluster`
/// (application names cannot start with `@`).
const CLUSTER_ITEM: &str = "@routing_control_cluster";

#[async_trait]
impl RegistryStore for DynamoRegistry {
    async fn ensure_table(&self) -> Result<bool, AwsError> {
        ensure_table(&self.client, &self.table, "app", None).await
    }

    async fn load(&self) -> Result<Vec<StoredApp>, AwsError> {
        let items = scan_all(&self.client, &self.table, None, true).await?;
        let mut out = Vec::new();
        for item in &items {
            let name = get_s(item, "app").unwrap_or("?");
            if name == CLUSTER_ITEM {
                continue;
            }
            let spec = get_s(item, "spec")
                .ok_or_else(|| AwsError::Other(format!("registry item {name} has no spec attribute")))?;
            let app: Application = serde_json::from_str(spec)
                .map_err(|e| AwsError::Other(format!("registry item {name} has an unreadable spec: {e}")))?;
            out.push(StoredApp {
                app,
                active_region: get_s(item, "active_region").map(str::to_string),
                updated_at: get_s(item, "updated_at").map(str::to_string),
                updated_by: get_s(item, "updated_by").map(str::to_string),
            });
        }
        out.sort_by(|a, b| a.app.name.cmp(&b.app.name));
        Ok(out)
    }

    async fn put_apps(&self, apps: &[Application]) -> Result<(), AwsError> {
        let now = Utc::now().to_rfc3339();
        let requests = apps
            .iter()
            .map(|a| {
                let spec = serde_json::to_string(a).map_err(|e| AwsError::Other(e.to_string()))?;
                let put = PutRequest::builder()
                    .item("app", s(&a.name))
                    .item("spec", s(spec))
                    .item("primary_region", s(&a.regions.primary))
                    .item("secondary_region", s(&a.regions.secondary))
                    .item("applied_at", s(&now))
                    .build()
                    .map_err(|e| AwsError::Other(e.to_string()))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, AwsError>>()?;
        batch_write(&self.client, &self.table, requests).await
    }

    async fn load_cluster(&self) -> Result<Option<RoutingControlCluster>, AwsError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("app", s(CLUSTER_ITEM))
            .send()
            .await
            .map_err(|e| table_error(&self.table, &format!("GetItem {} {CLUSTER_ITEM}", self.table), e))?;
        let Some(spec) = resp.item().and_then(|i| get_s(i, "spec")) else {
            return Ok(None);
        };
        serde_json::from_str(spec)
            .map(Some)
            .map_err(|e| AwsError::Other(format!("registry item {CLUSTER_ITEM} has an unreadable spec: {e}")))
    }

    async fn put_cluster(&self, cluster: Option<&RoutingControlCluster>) -> Result<(), AwsError> {
        match cluster {
            Some(c) => {
                let spec = serde_json::to_string(c).map_err(|e| AwsError::Other(e.to_string()))?;
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .item("app", s(CLUSTER_ITEM))
                    .item("spec", s(spec))
                    .item("applied_at", s(Utc::now().to_rfc3339()))
                    .send()
                    .await
                    .map_err(|e| table_error(&self.table, &format!("PutItem {} {CLUSTER_ITEM}", self.table), e))?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("app", s(CLUSTER_ITEM))
                    .send()
                    .await
                    .map_err(|e| table_error(&self.table, &format!("DeleteItem {} {CLUSTER_ITEM}", self.table), e))?;
            }
        }
        Ok(())
    }

    async fn delete_apps(&self, names: &[String]) -> Result<(), AwsError> {
        let requests = names
            .iter()
            .map(|n| {
                let del = DeleteRequest::builder()
                    .key("app", s(n))
                    .build()
                    .map_err(|e| AwsError::Other(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(del).build())
            })
            .collect::<Result<Vec<_>, AwsError>>()?;
        batch_write(&self.client, &self.table, requests).await
    }

    async fn set_active_region(
        &self,
        app: &str,
        region: &str,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("app", s(app))
            .update_expression(SET_ACTIVE)
            // Only for apps that are in the registry: never create a half item.
            .condition_expression(APP_EXISTS)
            .set_expression_attribute_values(Some(active_values(region, run_id, at)))
            .send()
            .await
            .map_err(|e| table_error(&self.table, &format!("UpdateItem {} app {app}", self.table), e))?;
        Ok(())
    }

    /// One TransactWriteItems call per 100 apps instead of one UpdateItem each;
    /// if a transaction is cancelled (an app left the registry meanwhile), its
    /// apps are updated one by one so the error names the app.
    async fn set_active_regions(
        &self,
        updates: &[(String, String)],
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        for chunk in updates.chunks(100) {
            let items = chunk
                .iter()
                .map(|(app, region)| {
                    let update = Update::builder()
                        .table_name(&self.table)
                        .key("app", s(app))
                        .update_expression(SET_ACTIVE)
                        .condition_expression(APP_EXISTS)
                        .set_expression_attribute_values(Some(active_values(region, run_id, at)))
                        .build()
                        .map_err(|e| AwsError::Other(e.to_string()))?;
                    Ok(TransactWriteItem::builder().update(update).build())
                })
                .collect::<Result<Vec<_>, AwsError>>()?;
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_transaction_canceled_exception()) =>
                {
                    for (app, region) in chunk {
                        self.set_active_region(app, region, run_id, at).await?;
                    }
                }
                Err(e) => {
                    return Err(table_error(
                        &self.table,
                        &format!("TransactWriteItems {}", self.table),
                        e,
                    ));
                }
            }
        }
        Ok(())
    }
}

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
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("run_id", s(name))
            .item("entry", s("execution"))
            .item("claimed_at", s(at.to_rfc3339()))
            .condition_expression("attribute_not_exists(run_id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(table_error(
                &self.table,
                &format!("PutItem {} execution {name}", self.table),
                e,
            )),
        }
    }

    async fn record_ignored(&self, run_id: &str, reason: &str, at: DateTime<Utc>) -> Result<(), AwsError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let entry = format!(
            "ignored#{}#{}-{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
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

/// The run lease: one item (`#lease`, `lease`) in the journal table.
#[derive(Debug, Clone)]
pub struct DynamoLease {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoLease {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLease {
            client,
            table: table.into(),
        }
    }

    /// An UpdateItem of the lease's item.
    fn lease_update(&self) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("run_id", s(LEASE_KEY))
            .key("entry", s("lease"))
    }

    async fn read(&self) -> Result<Item, AwsError> {
        Ok(get_entry(&self.client, &self.table, LEASE_KEY, "lease")
            .await?
            .unwrap_or_default())
    }
}

const LEASE_KEY: &str = "#lease";

/// The lease as its item holds it.
fn lease_state(item: &Item) -> LeaseState {
    LeaseState {
        holder: get_s(item, "holder").map(str::to_string),
        epoch: get_n(item, "epoch").and_then(|e| u64::try_from(e).ok()).unwrap_or(0),
        acquired_at: get_n(item, "acquired_at").map(from_epoch),
        expires_at: get_n(item, "expires_at").map(from_epoch),
        cooldown_until: get_n(item, "cooldown_until").map(from_epoch),
        last_run: get_s(item, "last_run").map(str::to_string),
    }
}

/// A DynamoDB call's error; a missing table said in one line, with what creates it.
fn table_error<E>(table: &str, what: &str, err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match AwsError::from_sdk(what, err) {
        // DynamoDB's ResourceNotFoundException: the table (or its index) does not exist.
        AwsError::NotFound(_) => AwsError::NotFound(format!(
            "table {table} does not exist: `lifeboat registry apply FILE` creates the registry and journal \
             tables (locally), the stack creates them on AWS; --registry-table and --journal-table name others"
        )),
        other => other,
    }
}

#[async_trait]
impl RunLease for DynamoLease {
    async fn acquire(
        &self,
        run_id: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
        respect_cooldown: bool,
    ) -> Result<LeaseOutcome, AwsError> {
        // Free, already ours (a retried validate), or expired (a run that died).
        let mut condition = "(attribute_not_exists(holder) OR holder = :me OR expires_at < :now)".to_string();
        if respect_cooldown {
            condition.push_str(" AND (attribute_not_exists(cooldown_until) OR cooldown_until < :now)");
        }
        let update = self
            .lease_update()
            .update_expression("SET holder = :me, acquired_at = :now, expires_at = :exp ADD epoch :one")
            .condition_expression(condition)
            .expression_attribute_values(":me", s(run_id))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":exp", n((now + ttl).timestamp()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match update {
            Ok(out) => {
                let epoch = out.attributes().and_then(|a| get_n(a, "epoch")).unwrap_or(1);
                Ok(LeaseOutcome::Acquired {
                    epoch: u64::try_from(epoch).unwrap_or(1),
                })
            }
            Err(e) if is_condition_failed(&e) => {
                let item = self.read().await?;
                let holder = get_s(&item, "holder").map(str::to_string);
                let expires = get_n(&item, "expires_at").unwrap_or(0);
                match holder {
                    Some(h) if h != run_id && expires >= now.timestamp() => Ok(LeaseOutcome::Held {
                        holder: h,
                        since: from_epoch(get_n(&item, "acquired_at").unwrap_or(0)),
                    }),
                    _ => Ok(LeaseOutcome::Cooldown {
                        until: from_epoch(get_n(&item, "cooldown_until").unwrap_or(0)),
                        last_run: get_s(&item, "last_run").unwrap_or("?").to_string(),
                    }),
                }
            }
            Err(e) => Err(table_error(&self.table, &format!("UpdateItem {} lease", self.table), e)),
        }
    }

    async fn state(&self) -> Result<LeaseState, AwsError> {
        Ok(lease_state(&self.read().await?))
    }

    async fn break_lease(&self, now: DateTime<Utc>) -> Result<Option<LeaseState>, AwsError> {
        let update = self
            .lease_update()
            .update_expression("REMOVE holder, expires_at SET broken_at = :now ADD epoch :one")
            .condition_expression("attribute_exists(holder)")
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match update {
            Ok(out) => Ok(Some(lease_state(&out.attributes().cloned().unwrap_or_default()))),
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => Err(table_error(&self.table, &format!("UpdateItem {} lease", self.table), e)),
        }
    }

    async fn release(&self, run_id: &str, now: DateTime<Utc>, cooldown: chrono::Duration) -> Result<bool, AwsError> {
        let update = self
            .lease_update()
            .update_expression("REMOVE holder, expires_at SET cooldown_until = :cd, last_run = :me, released_at = :now")
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(run_id))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":cd", n((now + cooldown).timestamp()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(table_error(&self.table, &format!("UpdateItem {} lease", self.table), e)),
        }
    }
}
