//! The database steps: `preflight` (validate: the standby exists, is healthy
//! and belongs where the registry says), `promote_database` (one call that
//! makes the target the writer, after checking it has not been made already,
//! and the RPO gate before a data-loss failover) and `check_database` (one
//! look: is the target writable yet? The state machine's Wait loop repeats it).

use chrono::{DateTime, Utc};
use lifeboat_aws::AwsError;
use lifeboat_aws::ports::{
    Databases, DbState, DnsReader, GlobalClusterState, LagOf, ReplicationLag, RestoreRequest, RoutingControls,
};
use lifeboat_core::database::{DatabasePlan, DbAction, rpo_gate};
use lifeboat_core::plan::{AppMove, Plan};
use lifeboat_core::{ErrorName, LifeboatError};
use serde::{Deserialize, Serialize};

/// Statuses in which a standby cannot take over.
fn unhealthy(status: &str) -> bool {
    matches!(
        status,
        "stopped"
            | "stopping"
            | "failed"
            | "deleting"
            | "storage-full"
            | "restore-error"
            | "inaccessible-encryption-credentials"
    ) || status.starts_with("incompatible")
}

/// The instance whose replicated backups an rds-backup plan restores.
pub(crate) fn backup_source(d: &DatabasePlan) -> lifeboat_aws::ports::BackupSource<'_> {
    lifeboat_aws::ports::BackupSource {
        region: &d.source_region,
        instance_id: &d.source,
    }
}

/// A cluster id from an id or an ARN (`...:cluster:<id>`).
pub fn cluster_id(id_or_arn: &str) -> &str {
    id_or_arn.rsplit(':').next().unwrap_or(id_or_arn)
}

fn apps_with_database(plan: &Plan) -> impl Iterator<Item = &AppMove> {
    plan.phases
        .iter()
        .flat_map(|p| p.waves.iter())
        .flat_map(|w| w.apps.iter())
        .filter(|a| a.database.action.changes_database() || a.database.action == DbAction::ManualRebuild)
}

/// Every reason a planned database step could not work, app by app.
pub async fn preflight_problems(
    dbs: &dyn Databases,
    dns: &dyn DnsReader,
    dns_best_effort: &dyn DnsReader,
    plan: &Plan,
) -> Result<Vec<String>, LifeboatError> {
    let mut problems = Vec::new();
    let disaster = plan.mode == lifeboat_core::request::Mode::Disaster;
    let mut route53_answers = true;
    for app in apps_with_database(plan) {
        if let Some(p) = check_standby(dbs, &app.database, app.target).await? {
            problems.push(format!("{}: {p}", app.app));
        }
        if let Some(rec) = app.database.endpoint_record.as_ref().filter(|_| route53_answers) {
            let name = lifeboat_core::registry::normalize_record_name(&rec.name);
            let found = if disaster {
                match dns_best_effort.record_sets(&rec.hosted_zone_id, &name, "CNAME").await {
                    Err(e) if e.is_unavailable() => {
                        tracing::warn!(error = %e, "Route 53's API did not answer: database endpoint records unchecked");
                        route53_answers = false;
                        continue;
                    }
                    other => other?,
                }
            } else {
                dns.record_sets(&rec.hosted_zone_id, &name, "CNAME").await?
            };
            if !found.iter().any(|r| r.set_identifier.is_none()) {
                problems.push(format!(
                    "{}: database endpoint record {name} CNAME (simple routing) not found in zone {}",
                    app.app, rec.hosted_zone_id
                ));
            }
        }
    }
    Ok(problems)
}

/// Whether the database `d` moves to is there, healthy, a member of its
/// global cluster and tagged for lifeboat: `Some(why not)`.
pub(crate) async fn check_standby(
    dbs: &dyn Databases,
    d: &lifeboat_core::database::DatabasePlan,
    target: lifeboat_core::registry::Side,
) -> Result<Option<String>, LifeboatError> {
    let region = d.region.as_str();
    Ok(match d.action {
        DbAction::Switchover | DbAction::Failover => {
            let gid = d.global_cluster_id.as_deref().unwrap_or_default();
            match dbs.global_cluster(region, gid).await? {
                None => Some(format!("global cluster {gid} not found (looked in {region})")),
                // A resynchronising member has not the data to take the writer
                // (after a failover with data loss, minutes to hours).
                Some(g) if g.member(&d.target).is_some_and(|m| !m.connected()) => Some(format!(
                    "{} is {} in global cluster {gid}: Aurora is still resynchronising it after the last failover \
                     (minutes to hours); {} once DescribeGlobalClusters in {region} shows it connected",
                    d.target,
                    g.member(&d.target).and_then(|m| m.sync.clone()).unwrap_or_default(),
                    if target == lifeboat_core::registry::Side::Primary {
                        "fail back"
                    } else {
                        "fail over"
                    }
                )),
                Some(g) if g.member(&d.target).is_none() => Some(if target == lifeboat_core::registry::Side::Primary {
                    format!(
                        "{} has not rejoined global cluster {gid} as a secondary, so it cannot take the writer back: \
                         wait until Aurora rejoins it once {region} has recovered (or add it to the global cluster), \
                         then run the failback again",
                        d.target
                    )
                } else {
                    format!("{} ({region}) is not a member of global cluster {gid}", d.target)
                }),
                Some(_) => match dbs.cluster(region, cluster_id(&d.target)).await? {
                    None => Some(format!("cluster {} not found in {region}", d.target)),
                    Some(c) if unhealthy(&c.status) => {
                        Some(format!("cluster {} in {region} is {}", d.target, c.status))
                    }
                    Some(c) => unmanaged("cluster", &c, region),
                },
            }
        }
        DbAction::PromoteCluster => match dbs.cluster(region, &d.target).await? {
            None => Some(format!("replica cluster {} not found in {region}", d.target)),
            Some(c) if unhealthy(&c.status) => {
                Some(format!("replica cluster {} in {region} is {}", d.target, c.status))
            }
            Some(c) => unmanaged("replica cluster", &c, region),
        },
        DbAction::PromoteInstance => match dbs.instance(region, &d.target).await? {
            None => Some(format!("read replica {} not found in {region}", d.target)),
            Some(i) if unhealthy(&i.status) => Some(format!("read replica {} in {region} is {}", d.target, i.status)),
            Some(i) => unmanaged("read replica", &i, region),
        },
        DbAction::RestoreBackup => {
            if dbs.instance(region, &d.target).await?.is_some() {
                // Restored already (a rerun): promote_database picks it up.
                None
            } else if dbs.replicated_backup(region, backup_source(d)).await?.is_none() {
                Some(format!(
                    "no automated backup of {} is replicated to {region}: start it with \
                     StartDBInstanceAutomatedBackupsReplication (in {region})",
                    d.source
                ))
            } else {
                None
            }
        }
        DbAction::ManualRebuild => rebuilt_problem(dbs, d).await?,
        DbAction::None => None,
    })
}

/// A replica that would be promoted but has no replication source: it was
/// promoted already (an earlier failover, never rebuilt as a replica), so
/// "promoting" it would move traffic to a database that has not had the
/// writer's data since. Readiness says so.
pub async fn replica_without_source(
    dbs: &dyn Databases,
    d: &lifeboat_core::database::DatabasePlan,
) -> Result<Option<String>, LifeboatError> {
    if !matches!(d.action, DbAction::PromoteCluster | DbAction::PromoteInstance) {
        return Ok(None);
    }
    let state = replica_kind_state(dbs, d.kind, &d.region, &d.target).await?;
    Ok(state.filter(|s| s.replicating_from.is_none()).map(|_| {
        format!(
            "{} in {} has no replication source: it is a writer of its own (promoted by an earlier failover?), \
             not a replica of {} ({}); recreate it as a replica before relying on it",
            d.target, d.region, d.source, d.source_region
        )
    }))
}

/// A replica kind's database `id` in `region`: a cluster for aurora-replica,
/// an instance for the RDS kinds.
async fn replica_kind_state(
    dbs: &dyn Databases,
    kind: lifeboat_core::registry::DatabaseKind,
    region: &str,
    id: &str,
) -> Result<Option<DbState>, LifeboatError> {
    Ok(match kind {
        lifeboat_core::registry::DatabaseKind::AuroraReplica => dbs.cluster(region, id).await?,
        _ => dbs.instance(region, id).await?,
    })
}

/// A failback that moves traffic without the database
/// (`move_dns_without_database`) only once the rebuild is done: the home
/// database exists, is available and takes writes (no longer a replica).
/// Otherwise its traffic would go home to a database that is not there, or
/// cannot write.
async fn rebuilt_problem(
    dbs: &dyn Databases,
    d: &lifeboat_core::database::DatabasePlan,
) -> Result<Option<String>, LifeboatError> {
    let (id, region) = (&d.target, &d.region);
    let steps = if d.manual_steps.is_empty() {
        String::new()
    } else {
        format!(" (to rebuild: {})", d.manual_steps.join("; "))
    };
    // The database an operator rebuilt by hand at home.
    Ok(match replica_kind_state(dbs, d.kind, region, id).await? {
        None => Some(format!(
            "move_dns_without_database, but {id} is not in {region}: the database was not rebuilt{steps}"
        )),
        Some(s) if s.replicating_from.is_some() => Some(format!(
            "move_dns_without_database, but {id} in {region} still replicates from {}: promote it once it has caught up, so it takes writes{steps}",
            s.replicating_from.as_deref().unwrap_or_default()
        )),
        Some(s) if s.status != "available" => Some(format!(
            "move_dns_without_database, but {id} in {region} is {}: wait until it is available",
            s.status
        )),
        Some(_) => replication_restored_problem(dbs, d).await?,
    })
}

/// The registry's replication, back in place after a rebuild: the away
/// database replicates from home again (a replica kind), or home's
/// automated backups replicate to the away Region (rds-backup). Until then
/// the away database may still hold writes home does not have.
async fn replication_restored_problem(
    dbs: &dyn Databases,
    d: &lifeboat_core::database::DatabasePlan,
) -> Result<Option<String>, LifeboatError> {
    use lifeboat_core::registry::DatabaseKind;
    let (home, away, away_region) = (&d.target, &d.source, &d.source_region);
    let away_state = match d.kind {
        DatabaseKind::AuroraReplica | DatabaseKind::RdsReplica => {
            replica_kind_state(dbs, d.kind, away_region, away).await?
        }
        DatabaseKind::RdsBackup => {
            let source = lifeboat_aws::ports::BackupSource {
                region: &d.region,
                instance_id: home,
            };
            return Ok(dbs.replicated_backup(away_region, source).await?.is_none().then(|| {
                format!(
                    "move_dns_without_database, but {home}'s automated backups are not replicated to {away_region} \
                     as the registry says: start the replication (StartDBInstanceAutomatedBackupsReplication in \
                     {away_region}), so the next failover has a backup to restore"
                )
            }));
        }
        _ => return Ok(None),
    };
    Ok(match away_state {
        Some(s) if s.replicating_from.is_none() => Some(format!(
            "move_dns_without_database, but {away} in {away_region} is still a writer of its own, not a replica of \
             {home} as the registry says: its writes since the failover would be left behind; finish the rebuild \
             (recreate {away} as a replica of {home}), then fail back"
        )),
        _ => None,
    })
}

/// lifeboat's IAM policy changes only databases tagged `lifeboat:managed` =
/// `true`: an untagged one would be refused (AccessDenied) in the middle of
/// the run, so it is refused here, before anything changes.
fn unmanaged(what: &str, db: &DbState, region: &str) -> Option<String> {
    (!db.managed).then(|| {
        format!(
            "{what} {} in {region} lacks the tag {tag}=true that lifeboat's IAM policy requires to promote it: \
             aws rds add-tags-to-resource --region {region} --resource-name {} --tags Key={tag},Value=true",
            db.id,
            db.arn,
            tag = lifeboat_aws::rds::MANAGED_TAG
        )
    })
}

/// What PromoteDatabases gives promote_database for one app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromoteInput {
    pub run_id: String,
    pub app: AppMove,
    /// The wave's ARC cluster endpoints, for dependencies that move by routing controls.
    #[serde(default)]
    pub arc_endpoints: Vec<lifeboat_core::registry::ClusterEndpoint>,
}

lifeboat_core::closed_names! {
    /// How the promote step went.
    pub enum PromoteOutcome {
        /// This call started it.
        Started = "started",
        /// A previous attempt started it; waiting on it.
        InProgress = "in-progress",
        /// The target is the writer already.
        AlreadyDone = "already-done",
        /// The RPO gate said no: nothing was changed.
        Refused = "refused",
        /// An application it depends on is not active in the target Region (its
        /// move failed): nothing was changed, its traffic stays.
        Blocked = "blocked",
        /// No database change for this app (its dependencies are in place).
        NotNeeded = "not-needed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoteOutput {
    pub app: String,
    pub action: DbAction,
    pub outcome: PromoteOutcome,
    pub detail: String,
    /// Replication lag measured before a failover (0 for a switchover): the data at risk.
    pub rpo_at_risk_seconds: Option<f64>,
    /// rds-backup: the point in time restored to.
    pub restore_time: Option<DateTime<Utc>>,
    /// rds-backup: the writes after `restore_time` that the restore does not have.
    pub data_window_lost_seconds: Option<f64>,
    /// Set when refused: `{"Error": "Lifeboat.RpoExceeded", "Cause": ...}`.
    pub error: Option<crate::contract::StatesError>,
    /// A failover with data loss: the snapshot that will hold the lost writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_writes_snapshot: Option<String>,
}

fn not_found(app: &AppMove, what: String) -> LifeboatError {
    LifeboatError::invalid(format!("{}: {what}", app.app))
}

/// The dependencies of `app` that are not active where it goes (their records
/// are not at the weights their move sets), as `"name"`s.
async fn unmet_dependencies(
    dns: &dyn DnsReader,
    arc: &dyn RoutingControls,
    arc_endpoints: &[lifeboat_core::registry::ClusterEndpoint],
    app: &AppMove,
) -> Result<Vec<String>, LifeboatError> {
    if app.depends_on.is_empty() {
        return Ok(Vec::new());
    }
    let arns: Vec<String> = app
        .depends_on
        .iter()
        .flat_map(|d| d.controls.iter().map(|(a, _)| a.clone()))
        .collect();
    let controls = if arns.is_empty() {
        Default::default()
    } else {
        arc.states(arc_endpoints, &arns)
            .await
            .map_err(|e| match e {
                lifeboat_aws::AwsError::Unavailable(m) => LifeboatError::new(lifeboat_core::ErrorName::NotReady, m),
                other => other.into(),
            })?
            .value
    };
    // Owned keys: a borrowing iterator held across the await would make the future not Send.
    let keys: Vec<lifeboat_core::dns::RecordKey> = app
        .depends_on
        .iter()
        .flat_map(|d| d.dns.iter().map(|w| w.key.clone()))
        .collect();
    let records = lifeboat_aws::route53::read_records(dns, keys.iter()).await?;
    Ok(app
        .depends_on
        .iter()
        .filter(|d| {
            d.dns
                .iter()
                .any(|w| records.get(&w.key).and_then(|r| r.weight) != Some(w.weight))
                || d.controls.iter().any(|(arn, state)| controls.get(arn) != Some(state))
        })
        .map(|d| d.app.clone())
        .collect())
}

pub async fn promote_database(
    dbs: &dyn Databases,
    lag: &dyn ReplicationLag,
    dns: &dyn DnsReader,
    arc: &dyn RoutingControls,
    now: DateTime<Utc>,
    input: PromoteInput,
) -> Result<PromoteOutput, LifeboatError> {
    let app = &input.app;
    let d = &app.database;
    let region = d.region.as_str();
    let mut out = PromoteOutput {
        app: app.app.clone(),
        action: d.action,
        outcome: PromoteOutcome::AlreadyDone,
        detail: String::new(),
        rpo_at_risk_seconds: None,
        restore_time: None,
        data_window_lost_seconds: None,
        error: None,
        lost_writes_snapshot: None,
    };
    let unmet = unmet_dependencies(dns, arc, &input.arc_endpoints, app).await?;
    if !unmet.is_empty() {
        out.outcome = PromoteOutcome::Blocked;
        out.detail = format!(
            "waits for {}, not active in {}: its move did not complete, so {} stays where it is",
            unmet.join(", "),
            app.to_region,
            app.app
        );
        tracing::warn!(app = %app.app, unmet = ?unmet, "dependencies not in place");
        return Ok(out);
    }
    match d.action {
        DbAction::ManualRebuild if d.endpoint_record.is_some() => {
            // Nothing to promote: the check reads the rebuilt writer's endpoint to repoint the CNAME.
            out.outcome = PromoteOutcome::AlreadyDone;
            out.detail = format!(
                "{} rebuilt by hand: its writer endpoint is read for the CNAME",
                d.target
            );
        }
        DbAction::None | DbAction::ManualRebuild => {
            out.outcome = PromoteOutcome::NotNeeded;
            out.detail = "no database change".into();
        }
        DbAction::Switchover | DbAction::Failover => move_global(dbs, lag, d, app, &mut out).await?,
        DbAction::PromoteCluster => {
            let c = dbs
                .cluster(region, &d.target)
                .await?
                .ok_or_else(|| not_found(app, format!("replica cluster {} not found in {region}", d.target)))?;
            let lag_now = || lag.lag(region, LagOf::ReplicaCluster(&d.target));
            let promoted = promote_replica(&mut out, &c, "promoting", lag_now, || {
                dbs.promote_cluster(region, &d.target)
            })
            .await;
            if let Err(e) = promoted {
                let now = dbs.cluster(region, &d.target).await?;
                our_own_change(&mut out, e, now.filter(|c| c.replicating_from.is_none()))?;
            }
        }
        DbAction::PromoteInstance => {
            let i = dbs
                .instance(region, &d.target)
                .await?
                .ok_or_else(|| not_found(app, format!("read replica {} not found in {region}", d.target)))?;
            let lag_now = || lag.lag(region, LagOf::ReplicaInstance(&d.target));
            let promoted = promote_replica(&mut out, &i, "modifying", lag_now, || {
                dbs.promote_instance(region, &d.target)
            })
            .await;
            if let Err(e) = promoted {
                let now = dbs.instance(region, &d.target).await?;
                our_own_change(&mut out, e, now.filter(|i| i.replicating_from.is_none()))?;
            }
        }
        DbAction::RestoreBackup => {
            if let Err(e) = restore(dbs, now, d, app, &mut out).await {
                let now = dbs.instance(region, &d.target).await?;
                our_own_change(&mut out, e, now)?;
            }
        }
    }
    tracing::info!(app = %app.app, action = d.action.as_str(), outcome = ?out.outcome, detail = %out.detail, "database");
    Ok(out)
}

/// An Aurora global database's writer moved to the target, unless it is
/// there already or on its way. The truth is the global cluster's
/// FailoverState (empty when nothing is scheduled) and the target's
/// SynchronizationStatus, as DescribeGlobalClusters reports them.
async fn move_global(
    dbs: &dyn Databases,
    lag: &dyn ReplicationLag,
    d: &DatabasePlan,
    app: &AppMove,
    out: &mut PromoteOutput,
) -> Result<(), LifeboatError> {
    let region = d.region.as_str();
    let gid = d.global_cluster_id.as_deref().unwrap_or_default();
    let g = dbs
        .global_cluster(region, gid)
        .await?
        .ok_or_else(|| not_found(app, format!("global cluster {gid} not found")))?;
    let member = g
        .member(&d.target)
        .ok_or_else(|| not_found(app, format!("{} is not a member of global cluster {gid}", d.target)))?
        .clone();
    if let Some(f) = &g.failover {
        return in_progress(out, gid, f, &member, d);
    }
    if member.is_writer {
        out.detail = format!("{} is the writer of {gid} already", d.target);
        return Ok(());
    }
    if !member.connected() {
        return Err(LifeboatError::new(
            ErrorName::NotReady,
            format!(
                "{}: {} is {} in global cluster {gid}: Aurora is resynchronising it (minutes to hours after a \
                 failover); it can take the writer once DescribeGlobalClusters shows it connected",
                app.app,
                d.target,
                member.sync.as_deref().unwrap_or("not connected")
            ),
        ));
    }
    let old_writer = g.members.iter().find(|m| m.is_writer).map(|m| m.cluster_arn.clone());
    let started = if d.action == DbAction::Switchover {
        out.rpo_at_risk_seconds = Some(0.0);
        out.detail = format!("switchover of {gid} to {} started (no data loss)", d.target);
        // A planned switchover is made in the Region of the current primary
        // (the Aurora user guide's managed planned failover: "--region: the
        // AWS Region where the primary DB cluster ... is running"), healthy
        // by definition of a planned move. A failover with data loss is made
        // in the target's Region: the primary's may be dark.
        let primary_region = if d.source_region.is_empty() {
            region
        } else {
            d.source_region.as_str()
        };
        dbs.move_global_writer(primary_region, gid, &member.cluster_arn, false)
            .await
    } else {
        let measured = lag
            .lag(region, LagOf::global_secondary(d.kind, cluster_id(&d.target)))
            .await?;
        out.rpo_at_risk_seconds = measured.seconds();
        if let Err(why) = rpo_gate(d, &app.app, measured) {
            tracing::warn!(app = %app.app, lag = ?measured, "RPO gate refused the failover");
            out.outcome = PromoteOutcome::Refused;
            out.error = Some(crate::contract::StatesError::new(ErrorName::RpoExceeded, why.clone()));
            out.detail = why;
            return Ok(());
        }
        out.detail = format!(
            "failover of {gid} to {} started, allowing data loss (replication lag {})",
            d.target,
            measured.describe()
        );
        out.lost_writes_snapshot = old_writer.as_deref().map(lost_writes_snapshot);
        dbs.move_global_writer(region, gid, &member.cluster_arn, true).await
    };
    match started {
        Ok(()) => {
            out.outcome = PromoteOutcome::Started;
            Ok(())
        }
        // A retried task whose first call went through (the answer lost to a
        // throttle or a timeout) meets its own operation: that is progress.
        Err(AwsError::InvalidState(why)) => match dbs.global_cluster(region, gid).await? {
            Some(now) if now.failover.is_some() => {
                let f = now.failover.clone().unwrap_or_default();
                in_progress(out, gid, &f, &member, d)
            }
            _ => Err(LifeboatError::from(AwsError::InvalidState(why))),
        },
        Err(e) => Err(e.into()),
    }
}

/// A switchover or failover is scheduled or under way: ours (to the target) is
/// waited for; another's is this app's failure, named.
fn in_progress(
    out: &mut PromoteOutput,
    gid: &str,
    f: &lifeboat_aws::ports::FailoverProgress,
    member: &lifeboat_aws::ports::GlobalMember,
    d: &DatabasePlan,
) -> Result<(), LifeboatError> {
    if f.to_cluster_arn.as_deref().is_some_and(|to| to != member.cluster_arn) {
        return Err(LifeboatError::new(
            ErrorName::NotReady,
            format!(
                "{gid} has a {} to {} under way ({}): not to {}; wait for it to end, then run again",
                if f.data_loss_allowed { "failover" } else { "switchover" },
                f.to_cluster_arn.as_deref().unwrap_or("?"),
                f.status,
                d.target
            ),
        ));
    }
    out.outcome = PromoteOutcome::InProgress;
    out.detail = format!(
        "{gid}'s {} to {} is {}: waiting for it",
        if f.data_loss_allowed { "failover" } else { "switchover" },
        d.target,
        f.status
    );
    if f.data_loss_allowed {
        out.lost_writes_snapshot = f.from_cluster_arn.as_deref().map(lost_writes_snapshot);
    }
    Ok(())
}

/// Where the writes a failover lost will be: Aurora's snapshot of the old
/// primary's volume, taken when it rejoins once its Region has recovered.
fn lost_writes_snapshot(old_primary_arn: &str) -> String {
    let region = old_primary_arn.split(':').nth(3).unwrap_or("its Region");
    format!(
        "rds:unplanned-global-failover-{}-* (a DB cluster snapshot in {region}, taken when {} rejoins the global \
         cluster after {region} recovers)",
        cluster_id(old_primary_arn),
        cluster_id(old_primary_arn)
    )
}

/// A promote or restore call failed, but the database now shows the change
/// (`changed`): a call AWS applied whose answer was lost (a 5xx, a timeout)
/// and that the SDK retried into "already done" (InvalidDBInstanceState,
/// DBInstanceAlreadyExists). That is our change under way, not a failure.
/// A throttled call is left to the caller's retry, whatever it shows.
fn our_own_change(out: &mut PromoteOutput, e: LifeboatError, changed: Option<DbState>) -> Result<(), LifeboatError> {
    match changed {
        Some(db) if e.name != ErrorName::Throttled => {
            tracing::warn!(error = %e, db = %db.id, "the call failed but the change is there: ours, under way");
            out.outcome = PromoteOutcome::InProgress;
            out.detail = format!(
                "{} is {} ({}): the change an earlier attempt made (this one was answered: {})",
                db.id,
                if db.status == "available" {
                    "changed"
                } else {
                    "changing"
                },
                db.status,
                e.message
            );
            Ok(())
        }
        _ => Err(e),
    }
}

/// Promotes a replica unless it is promoted already; the replica's lag just
/// before is the data at risk (writes it had not received yet).
async fn promote_replica<L, LFut, F, Fut>(
    out: &mut PromoteOutput,
    current: &DbState,
    promoting_status: &str,
    lag_now: L,
    promote: F,
) -> Result<(), LifeboatError>
where
    L: FnOnce() -> LFut,
    LFut: std::future::Future<Output = Result<lifeboat_core::database::Lag, lifeboat_aws::AwsError>>,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), lifeboat_aws::AwsError>>,
{
    if current.replicating_from.is_none() {
        out.outcome = if current.status == promoting_status {
            PromoteOutcome::InProgress
        } else {
            PromoteOutcome::AlreadyDone
        };
        out.detail = format!("{} is promoted already ({})", current.id, current.status);
    } else {
        let lag = lag_now().await?;
        out.rpo_at_risk_seconds = lag.seconds();
        promote().await?;
        out.outcome = PromoteOutcome::Started;
        out.detail = format!(
            "promotion of {} started (it stops replicating from {}; replication lag {})",
            current.id,
            current.replicating_from.as_deref().unwrap_or("its source"),
            lag.describe()
        );
    }
    Ok(())
}

async fn restore(
    dbs: &dyn Databases,
    now: DateTime<Utc>,
    d: &DatabasePlan,
    app: &AppMove,
    out: &mut PromoteOutput,
) -> Result<(), LifeboatError> {
    let region = d.region.as_str();
    if let Some(existing) = dbs.instance(region, &d.target).await? {
        out.outcome = if existing.status == "available" {
            PromoteOutcome::AlreadyDone
        } else {
            PromoteOutcome::InProgress
        };
        out.detail = format!(
            "{} exists already ({}): restored by an earlier attempt",
            d.target, existing.status
        );
        return Ok(());
    }
    let backup = dbs.replicated_backup(region, backup_source(d)).await?.ok_or_else(|| {
        not_found(
            app,
            format!("no automated backup of {} is replicated to {region}", d.source),
        )
    })?;
    let spec = d
        .restore
        .as_ref()
        .ok_or_else(|| LifeboatError::invalid(format!("{}: database.restore is required for rds-backup", app.app)))?;
    dbs.restore_backup(
        region,
        RestoreRequest {
            backup_arn: &backup.arn,
            target_instance_id: &d.target,
            spec,
        },
    )
    .await?;
    out.outcome = PromoteOutcome::Started;
    out.restore_time = backup.latest_restorable;
    out.data_window_lost_seconds = backup
        .latest_restorable
        .map(|t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0);
    // The writes after the restore point are the data at risk.
    out.rpo_at_risk_seconds = out.data_window_lost_seconds;
    out.detail = format!(
        "restore of {}'s replicated backup into {} ({}) started, to its latest restorable time{}",
        d.source,
        d.target,
        spec.instance_class,
        backup
            .latest_restorable
            .map(|t| format!(" {}", t.to_rfc3339()))
            .unwrap_or_default()
    );
    Ok(())
}

/// What CheckDatabases gives check_database for one app.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckInput {
    pub app: AppMove,
    /// Checks made so far.
    #[serde(default)]
    pub checks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutput {
    pub app: String,
    pub writable: bool,
    pub checks: u32,
    pub detail: String,
    /// The writer endpoint in the target Region, once writable.
    pub endpoint: Option<String>,
}

pub async fn check_database(dbs: &dyn Databases, input: CheckInput) -> Result<CheckOutput, LifeboatError> {
    let d = &input.app.database;
    let region = d.region.as_str();
    let (writable, detail, endpoint) = match d.action {
        DbAction::Switchover | DbAction::Failover => {
            // Writable: the target is the writer, FailoverState is empty and
            // the target cluster is available. Nothing more (the old primary
            // rejoining, the global cluster's own status) is waited for.
            let gid = d.global_cluster_id.as_deref().unwrap_or_default();
            let g = dbs
                .global_cluster(region, gid)
                .await?
                .unwrap_or_else(|| GlobalClusterState {
                    id: gid.to_string(),
                    status: "not found".into(),
                    ..GlobalClusterState::default()
                });
            let is_writer = g.member(&d.target).is_some_and(|m| m.is_writer);
            let cluster = dbs.cluster(region, cluster_id(&d.target)).await?;
            let status = cluster.as_ref().map_or("not found", |c| c.status.as_str());
            let moving = g
                .failover
                .as_ref()
                .map(|f| format!("; FailoverState {}", f.status))
                .unwrap_or_default();
            (
                is_writer && g.failover.is_none() && status == "available",
                format!(
                    "global cluster {gid} {}{moving}; {} is {} and {status}",
                    g.status,
                    d.target,
                    if is_writer { "the writer" } else { "not the writer yet" }
                ),
                cluster.and_then(|c| c.endpoint),
            )
        }
        DbAction::PromoteCluster => state_check(dbs.cluster(region, &d.target).await?, &d.target),
        DbAction::PromoteInstance | DbAction::RestoreBackup => {
            state_check(dbs.instance(region, &d.target).await?, &d.target)
        }
        // Rebuilt by hand (preflight checked it): its writer endpoint, for the CNAME.
        DbAction::ManualRebuild => state_check(replica_kind_state(dbs, d.kind, region, &d.target).await?, &d.target),
        DbAction::None => (true, "no database change".to_string(), None),
    };
    let checks = input.checks + 1;
    tracing::info!(app = %input.app.app, writable, checks, %detail, "database check");
    Ok(CheckOutput {
        app: input.app.app.clone(),
        writable,
        checks,
        detail,
        endpoint: if writable { endpoint } else { None },
    })
}

fn state_check(state: Option<DbState>, id: &str) -> (bool, String, Option<String>) {
    match state {
        None => (false, format!("{id} not found"), None),
        Some(s) => {
            let writable = s.status == "available" && s.replicating_from.is_none();
            let detail = match &s.replicating_from {
                Some(src) => format!("{id} is {} and still replicating from {src}", s.status),
                None => format!("{id} is {}", s.status),
            };
            (writable, detail, s.endpoint)
        }
    }
}

#[cfg(test)]
mod tests;
