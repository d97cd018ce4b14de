//! The registry table: one item per application (key `app`), the routing
//! control cluster in an item of its own.

use super::*;
use crate::error::AwsError;
use crate::ports::{RegistryStore, StoredApp};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, TransactWriteItem, Update, WriteRequest};
use chrono::{DateTime, Utc};
use lifeboat_core::registry::{Application, Approval, RoutingControlCluster};

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

/// The registry table's items for the top-level `routing_control_cluster`
/// and `approval` (application names cannot start with `@`).
const CLUSTER_ITEM: &str = "@routing_control_cluster";
const APPROVAL_ITEM: &str = "@approval";

impl DynamoRegistry {
    /// A top-level setting's item, if written.
    async fn load_setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, AwsError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("app", s(key))
            .send()
            .await
            .map_err(|e| table_error(&self.table, &format!("GetItem {} {key}", self.table), e))?;
        let Some(spec) = resp.item().and_then(|i| get_s(i, "spec")) else {
            return Ok(None);
        };
        serde_json::from_str(spec)
            .map(Some)
            .map_err(|e| AwsError::Other(format!("registry item {key} has an unreadable spec: {e}")))
    }

    /// Writes a top-level setting's item, or deletes it (`None`).
    async fn put_setting<T: serde::Serialize>(&self, key: &str, value: Option<&T>) -> Result<(), AwsError> {
        match value {
            Some(v) => {
                let spec = serde_json::to_string(v).map_err(|e| AwsError::Other(e.to_string()))?;
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .item("app", s(key))
                    .item("spec", s(spec))
                    .item("applied_at", s(Utc::now().to_rfc3339()))
                    .send()
                    .await
                    .map_err(|e| table_error(&self.table, &format!("PutItem {} {key}", self.table), e))?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("app", s(key))
                    .send()
                    .await
                    .map_err(|e| table_error(&self.table, &format!("DeleteItem {} {key}", self.table), e))?;
            }
        }
        Ok(())
    }
}

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
            if name.starts_with('@') {
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
        self.load_setting(CLUSTER_ITEM).await
    }

    async fn put_cluster(&self, cluster: Option<&RoutingControlCluster>) -> Result<(), AwsError> {
        self.put_setting(CLUSTER_ITEM, cluster).await
    }

    async fn load_approval(&self) -> Result<Option<Approval>, AwsError> {
        self.load_setting(APPROVAL_ITEM).await
    }

    async fn put_approval(&self, approval: Option<&Approval>) -> Result<(), AwsError> {
        self.put_setting(APPROVAL_ITEM, approval).await
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
