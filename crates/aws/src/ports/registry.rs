//! The registry table.

use super::prelude::*;

/// An application as the registry table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredApp {
    pub app: Application,
    pub active_region: Option<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

/// The registry table.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Creates the table if it does not exist; true if it created it.
    async fn ensure_table(&self) -> Result<bool, AwsError>;
    async fn load(&self) -> Result<Vec<StoredApp>, AwsError>;
    async fn put_apps(&self, apps: &[Application]) -> Result<(), AwsError>;
    /// The registry's ARC cluster, stored beside the apps (none: no item).
    async fn load_cluster(&self) -> Result<Option<RoutingControlCluster>, AwsError>;
    async fn put_cluster(&self, cluster: Option<&RoutingControlCluster>) -> Result<(), AwsError>;
    /// The top-level `approval`, in an item of its own.
    async fn load_approval(&self) -> Result<Option<lifeboat_core::registry::Approval>, AwsError>;
    async fn put_approval(&self, approval: Option<&lifeboat_core::registry::Approval>) -> Result<(), AwsError>;
    async fn delete_apps(&self, names: &[String]) -> Result<(), AwsError>;
    async fn set_active_region(&self, app: &str, region: &str, run_id: &str, at: DateTime<Utc>)
    -> Result<(), AwsError>;
    /// Sets many apps' active Region; adapters batch where the service allows.
    async fn set_active_regions(
        &self,
        updates: &[(String, String)],
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        for (app, region) in updates {
            self.set_active_region(app, region, run_id, at).await?;
        }
        Ok(())
    }
}
