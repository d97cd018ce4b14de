//! `lifeboat status`'s line per database: where each app's database stands,
//! read in the recovery Region.

use lifeboat_aws::ports::{Databases, DbState};
use lifeboat_tasks::database::cluster_id;

/// Where an app's database stands, in one line for `lifeboat status`: read in
/// the recovery Region (where lifeboat runs), `None` for kinds with nothing to move.
pub async fn describe_database(dbs: &dyn Databases, app: &lifeboat_core::registry::Application) -> Option<String> {
    use lifeboat_core::registry::DatabaseKind;
    let db = &app.database;
    let ids = db.identifiers.clone().unwrap_or_default();
    let region = app.regions.secondary.as_str();
    let replica = |state: Option<DbState>, what: &str| match state {
        None => format!("{what} {} not found in {region}", ids.secondary),
        Some(s) => match &s.replicating_from {
            Some(src) => format!("{what} {} ({}) replicating from {src}", s.id, s.status),
            None => format!("{} promoted: the writer ({})", s.id, s.status),
        },
    };
    let text = match db.kind {
        DatabaseKind::None | DatabaseKind::DynamodbGlobal => return None,
        DatabaseKind::AuroraGlobal | DatabaseKind::DocdbGlobal => {
            let gid = db.global_cluster_id.as_deref().unwrap_or_default();
            match dbs.global_cluster(region, gid).await {
                Ok(Some(g)) => {
                    let writer = g
                        .members
                        .iter()
                        .find(|m| m.is_writer)
                        .map_or("none", |m| cluster_id(&m.cluster_arn));
                    format!("global cluster {gid} ({}): writer {writer}", g.status)
                }
                Ok(None) => format!("global cluster {gid} not found"),
                Err(e) => format!("unknown: {e}"),
            }
        }
        DatabaseKind::AuroraReplica => match dbs.cluster(region, &ids.secondary).await {
            Ok(s) => replica(s, "replica cluster"),
            Err(e) => format!("unknown: {e}"),
        },
        DatabaseKind::RdsReplica => match dbs.instance(region, &ids.secondary).await {
            Ok(s) => replica(s, "read replica"),
            Err(e) => format!("unknown: {e}"),
        },
        DatabaseKind::RdsBackup => match dbs.instance(region, &ids.secondary).await {
            Ok(Some(s)) => format!("restored as {} ({}): the writer in {region}", s.id, s.status),
            Ok(None) => match dbs
                .replicated_backup(
                    region,
                    lifeboat_aws::ports::BackupSource {
                        region: &app.regions.primary,
                        instance_id: &ids.primary,
                    },
                )
                .await
            {
                Ok(Some(b)) => format!(
                    "backups of {} replicated to {region} ({}), restorable to {}",
                    ids.primary,
                    b.status,
                    b.latest_restorable.map_or("?".to_string(), |t| t.to_rfc3339())
                ),
                Ok(None) => format!("no backup of {} replicated to {region}", ids.primary),
                Err(e) => format!("unknown: {e}"),
            },
            Err(e) => format!("unknown: {e}"),
        },
    };
    Some(format!("{} {}", db.kind.as_str(), text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lifeboat_aws::fakes::FakeDatabases;

    #[tokio::test]
    async fn status_says_whether_a_replica_still_replicates_or_was_promoted() {
        let reg = lifeboat_core::registry::parse_registry(
            r#"
    version: 1
    applications:
      - name: orders
        regions: { primary: us-east-1, secondary: us-west-2 }
        dns: [ { hosted_zone_id: Z1, name: o.x., type: A, set_identifiers: { primary: p, secondary: s } } ]
        database: { kind: rds-replica, identifiers: { primary: orders-use1, secondary: orders-usw2 } }
    "#,
        )
        .unwrap();
        let f = FakeDatabases::default();
        f.add_instance("us-west-2", "orders-usw2", Some("orders-use1"));
        let app = &reg.applications[0];
        assert_eq!(
            describe_database(&f, app).await.as_deref(),
            Some("rds-replica read replica orders-usw2 (available) replicating from orders-use1")
        );
        f.add_instance("us-west-2", "orders-usw2", None);
        assert_eq!(
            describe_database(&f, app).await.as_deref(),
            Some("rds-replica orders-usw2 promoted: the writer (available)")
        );
    }
}
