//! `registry apply`: writes a checked registry to the table, only what
//! changed, idempotently (a reconcile, like the tasks' own writes).

use lifeboat_aws::AwsError;
use lifeboat_aws::ports::RegistryStore;
use lifeboat_core::registry::{Application, Registry};
use serde::Serialize;
use std::fmt::Write;

/// What `registry apply` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplySummary {
    pub created_table: bool,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    /// In the table but not in the file, kept because --prune was not given.
    pub kept: Vec<String>,
    /// Whether the top-level routing_control_cluster was written (added, changed or removed).
    #[serde(default)]
    pub routing_control_cluster_changed: bool,
    /// Whether the top-level approval was written (added, changed or removed).
    #[serde(default)]
    pub approval_changed: bool,
    /// The detection probes' alarms created or updated (in each app's recovery Region).
    #[serde(default)]
    pub probe_alarms: Vec<String>,
}

impl ApplySummary {
    pub fn describe(&self, table: &str) -> String {
        let mut s = String::new();
        if self.created_table {
            let _ = writeln!(s, "created table {table}");
        }
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
        let _ = writeln!(s, "added: {}", list(&self.added));
        let _ = writeln!(s, "updated: {}", list(&self.updated));
        let _ = writeln!(s, "unchanged: {}", list(&self.unchanged));
        if !self.deleted.is_empty() {
            let _ = writeln!(s, "deleted: {}", list(&self.deleted));
        }
        if self.routing_control_cluster_changed {
            let _ = writeln!(s, "routing_control_cluster: written");
        }
        if self.approval_changed {
            let _ = writeln!(s, "approval: written");
        }
        if !self.probe_alarms.is_empty() {
            let _ = writeln!(s, "probe alarms: {}", list(&self.probe_alarms));
        }
        if !self.kept.is_empty() {
            let _ = writeln!(s, "not in the file, kept (use --prune to delete): {}", list(&self.kept));
        }
        s.trim_end().to_string()
    }
}

/// Writes a checked registry to the table: only what changed, idempotently.
pub async fn apply_registry(
    store: &dyn RegistryStore,
    registry: &Registry,
    prune: bool,
) -> Result<ApplySummary, AwsError> {
    let mut summary = ApplySummary {
        created_table: store.ensure_table().await?,
        ..Default::default()
    };
    let current = store.load().await?;
    let mut to_put: Vec<Application> = Vec::new();
    for app in &registry.applications {
        match current.iter().find(|c| c.app.name == app.name) {
            None => {
                summary.added.push(app.name.clone());
                to_put.push(app.clone());
            }
            Some(c) if c.app != *app => {
                summary.updated.push(app.name.clone());
                to_put.push(app.clone());
            }
            Some(_) => summary.unchanged.push(app.name.clone()),
        }
    }
    let extra: Vec<String> = current
        .iter()
        .filter(|c| registry.app(&c.app.name).is_none())
        .map(|c| c.app.name.clone())
        .collect();
    if !to_put.is_empty() {
        store.put_apps(&to_put).await?;
    }
    if store.load_cluster().await?.as_ref() != registry.routing_control_cluster.as_ref() {
        store.put_cluster(registry.routing_control_cluster.as_ref()).await?;
        summary.routing_control_cluster_changed = true;
    }
    if store.load_approval().await?.as_ref() != registry.approval.as_ref() {
        store.put_approval(registry.approval.as_ref()).await?;
        summary.approval_changed = true;
    }
    if prune {
        if !extra.is_empty() {
            store.delete_apps(&extra).await?;
        }
        summary.deleted = extra;
    } else {
        summary.kept = extra;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_aws::fakes::FakeRegistry;
    use lifeboat_core::registry::parse_registry;

    const REG: &str = r#"
version: 1
applications:
  - { name: a, regions: { primary: us-east-1, secondary: us-west-2 }, dns: [ { hosted_zone_id: Z1, name: a.x., type: A, set_identifiers: { primary: a1, secondary: a2 } } ] }
  - { name: b, regions: { primary: us-east-1, secondary: us-west-2 }, dns: [ { hosted_zone_id: Z1, name: b.x., type: A, set_identifiers: { primary: b1, secondary: b2 } } ] }
"#;

    #[tokio::test]
    async fn apply_writes_only_changes_and_prunes_only_when_asked() {
        let store = FakeRegistry::default();
        let reg = parse_registry(REG).unwrap();
        let s = apply_registry(&store, &reg, false).await.unwrap();
        assert_eq!(s.added, vec!["a", "b"]);
        let s = apply_registry(&store, &reg, false).await.unwrap();
        assert_eq!((s.added.len(), s.updated.len(), s.unchanged.len()), (0, 0, 2));
        let mut smaller = reg.clone();
        smaller.applications.truncate(1);
        smaller.applications[0].tier = 3;
        let s = apply_registry(&store, &smaller, false).await.unwrap();
        assert_eq!(
            (s.updated.clone(), s.kept.clone()),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        let s = apply_registry(&store, &smaller, true).await.unwrap();
        assert_eq!(s.deleted, vec!["b"]);
        assert_eq!(store.load().await.unwrap().len(), 1);
    }
}
