//! DynamoDB adapters: the registry table and the run journal.
//!
//! Items keep their payload as a JSON string (`spec`, `record`) beside a few
//! plain attributes for humans and queries: the model stays in one place
//! (lifeboat-core) and needs no attribute-by-attribute mapping.

use crate::error::AwsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, WriteRequest,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

mod journal;
mod lease;
mod registry;
pub use journal::*;
pub use lease::*;
pub use registry::*;

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
    let mut pages = client
        .query()
        .table_name(table)
        .consistent_read(true)
        .key_condition_expression("run_id = :r AND begins_with(entry, :p)")
        .expression_attribute_values(":r", s(run_id))
        .expression_attribute_values(":p", s(prefix))
        .into_paginator()
        .send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| table_error(table, &format!("Query {table} {run_id}/{prefix}*"), e))?;
        items.extend(page.items().iter().cloned());
    }
    Ok(items)
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

/// A DynamoDB call's error; a missing table said in one line, with what creates it.
fn table_error<E>(table: &str, what: &str, err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match AwsError::from_sdk(what, err) {
        // DynamoDB's ResourceNotFoundException: the table (or its index) does not exist.
        AwsError::NotFound(_) => AwsError::NotFound(format!(
            "table {table} does not exist: `lifeboat registry apply FILE` creates the registry, journal \
             and lease tables (locally), the stack creates them on AWS; --registry-table, --journal-table and \
             --lease-table name others"
        )),
        other => other,
    }
}
