//! What happens to an application's database when its traffic moves: the
//! action by kind and mode (docs/architecture.md, "Rules the code keeps"), the RPO gate, and the failback rules.

use crate::registry::{Application, DatabaseKind, EndpointRecord, RestoreSpec, Side, checks_within};
use crate::request::{Action, Mode, Request};
use serde::{Deserialize, Serialize};

crate::closed_names! {
    /// The one call (or none) that makes the target Region's database the writer.
    pub enum DbAction {
        /// Nothing to do (no database, DynamoDB global tables).
        None = "none",
        /// SwitchoverGlobalCluster: planned, no data lost, needs a healthy primary.
        Switchover = "switchover",
        /// FailoverGlobalCluster with AllowDataLoss: the primary may be gone; loses the lag.
        Failover = "failover",
        /// PromoteReadReplicaDBCluster.
        PromoteCluster = "promote-cluster",
        /// PromoteReadReplica.
        PromoteInstance = "promote-instance",
        /// RestoreDBInstanceToPointInTime from the replicated automated backup.
        RestoreBackup = "restore-backup",
        /// No automatic way back: an operator rebuilds replication; lifeboat moves DNS only.
        ManualRebuild = "manual-rebuild",
    }
}

impl DbAction {
    /// Whether the workflow calls AWS for it (and waits for the result).
    pub fn changes_database(self) -> bool {
        !matches!(self, DbAction::None | DbAction::ManualRebuild)
    }
}

/// One application's database step in one phase. Empty fields are left out
/// of its JSON: the plan travels in the state machine's data (256 KiB at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabasePlan {
    pub kind: DatabaseKind,
    pub action: DbAction,
    /// The Region whose database becomes the writer.
    pub region: String,
    /// The cluster/instance that becomes the writer (for rds-backup: the instance to create).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// The one it takes over from (for rds-backup: the instance whose backups are restored).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The Region `source` is in (a replicated backup is found by its source's ARN).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_cluster_id: Option<String>,
    /// The RPO gate's budget (disaster failover only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rpo_seconds: Option<u32>,
    /// The operator accepted data loss over the budget.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accept_data_loss: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreSpec>,
    /// Checks before the app fails: deadline / interval, at least one.
    pub interval_seconds: u32,
    pub max_checks: u32,
    /// The writer's CNAME, repointed once the target is writable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_record: Option<EndpointRecord>,
    /// For a manual rebuild: what the operator must do, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<String>,
}

/// What the database rules say about an app in a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbDecision {
    Move(Box<DatabasePlan>),
    /// The app must not move in this phase; the reason says why and what to do.
    Skip(String),
}

/// The database step of `app` moving to `target` in a phase of `action`.
pub fn database_step(app: &Application, action: Action, target: Side, request: &Request) -> DbDecision {
    let db = &app.database;
    let ids = db.identifiers.clone().unwrap_or_default();
    let mut plan = DatabasePlan {
        kind: db.kind,
        action: DbAction::None,
        region: app.regions.get(target).to_string(),
        target: ids.get(target).clone(),
        source: ids.get(target.other()).clone(),
        source_region: app.regions.get(target.other()).to_string(),
        global_cluster_id: db.global_cluster_id.clone(),
        max_rpo_seconds: None,
        accept_data_loss: request.accept_data_loss,
        restore: db.restore.clone(),
        interval_seconds: db.interval_seconds.max(1),
        max_checks: checks_within(db.deadline_seconds, db.interval_seconds),
        manual_steps: Vec::new(),
        endpoint_record: db.endpoint_record.clone(),
    };
    // Every failback, and each phase of a drill, is planned (a switchover: no data lost).
    let mode = if action == Action::Failover && request.action == Action::Failover {
        request.mode
    } else {
        Mode::Planned
    };
    let back_home = target == Side::Primary;
    plan.action = match db.kind {
        DatabaseKind::None | DatabaseKind::DynamodbGlobal => DbAction::None,
        DatabaseKind::AuroraGlobal | DatabaseKind::DocdbGlobal => match mode {
            Mode::Disaster if db.allow_data_loss => {
                plan.max_rpo_seconds = db.max_rpo_seconds;
                DbAction::Failover
            }
            _ => DbAction::Switchover,
        },
        kind if back_home => {
            plan.manual_steps = manual_rebuild_steps(app, kind);
            if !request.move_dns_without_database {
                return DbDecision::Skip(format!(
                    "its {} database cannot be failed back automatically: {}; then rerun the failback with \
                     move_dns_without_database to move its traffic",
                    kind.as_str(),
                    plan.manual_steps.join("; ")
                ));
            }
            DbAction::ManualRebuild
        }
        kind if request.action == Action::Drill => {
            return DbDecision::Skip(format!(
                "a drill would leave its {} database promoted in {} with no automatic way back; \
                 fail it over on its own (action failover) when you mean it",
                kind.as_str(),
                plan.region
            ));
        }
        DatabaseKind::AuroraReplica => DbAction::PromoteCluster,
        DatabaseKind::RdsReplica => DbAction::PromoteInstance,
        DatabaseKind::RdsBackup => DbAction::RestoreBackup,
    };
    DbDecision::Move(Box::new(plan))
}

/// How an operator brings a promoted replica or a restored backup home.
fn manual_rebuild_steps(app: &Application, kind: DatabaseKind) -> Vec<String> {
    let ids = app.database.identifiers.clone().unwrap_or_default();
    let (home, away) = (&app.regions.primary, &app.regions.secondary);
    let writer = &ids.secondary;
    match kind {
        DatabaseKind::AuroraReplica => vec![
            format!("create a cross-Region replica cluster of {writer} ({away}) in {home}"),
            format!(
                "promote it in {home} once replication has caught up (it replaces {})",
                ids.primary
            ),
            format!("recreate a replica cluster in {away} for the next failover"),
        ],
        DatabaseKind::RdsReplica => vec![
            format!("create a cross-Region read replica of {writer} ({away}) in {home}"),
            format!(
                "promote it in {home} once replica lag is 0 (it replaces {})",
                ids.primary
            ),
            format!("recreate a read replica in {away} for the next failover"),
        ],
        _ => vec![
            format!(
                "copy {writer}'s data ({away}) back to {home}: a snapshot copied across Regions, or a read replica"
            ),
            format!("make it the writer in {home} as {}", ids.primary),
            format!("start automated backup replication of {} to {away} again", ids.primary),
        ],
    }
}

/// Replication lag as CloudWatch reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lag {
    /// Seconds behind the source: the writes a failover or promotion now would lose.
    Seconds(f64),
    /// The lag metric says replication is not active: ReplicaLag and
    /// AuroraBinlogReplicaLag report -1 then (the RDS and Aurora metrics
    /// references). How much would be lost is unknown, never "-1 s".
    NotReplicating,
    /// No datapoint in the window read.
    NotMeasured,
}

impl Lag {
    /// From the latest value of each lag metric read (any negative value:
    /// replication is not active; none: not measured; else the largest).
    pub fn from_latest(values: impl IntoIterator<Item = f64>) -> Lag {
        let mut out = Lag::NotMeasured;
        for v in values {
            out = match out {
                _ if v < 0.0 => return Lag::NotReplicating,
                Lag::Seconds(s) => Lag::Seconds(s.max(v)),
                _ => Lag::Seconds(v),
            };
        }
        out
    }

    /// The data at risk in seconds, when known.
    pub fn seconds(self) -> Option<f64> {
        match self {
            Lag::Seconds(s) => Some(s),
            Lag::NotReplicating | Lag::NotMeasured => None,
        }
    }

    /// For people: "1.8 s", "unknown: replication is not active", ...
    pub fn describe(self) -> String {
        match self {
            Lag::Seconds(s) => format!("{s:.1} s"),
            Lag::NotReplicating => "unknown: the lag metric says replication is not active (-1)".into(),
            Lag::NotMeasured => "not measured (no datapoint in the last 10 minutes)".into(),
        }
    }
}

/// The RPO gate: may a data-loss failover go ahead with this replication lag?
/// `Err` says why not, and what to do.
pub fn rpo_gate(plan: &DatabasePlan, app: &str, lag: Lag) -> Result<(), String> {
    let Some(budget) = plan.max_rpo_seconds else {
        return Ok(());
    };
    if plan.accept_data_loss {
        return Ok(());
    }
    match lag {
        Lag::Seconds(lag) if lag <= f64::from(budget) => Ok(()),
        Lag::Seconds(lag) => Err(format!(
            "{app}: replication lag of {} is {lag:.1} s, over its max_rpo_seconds of {budget} s: a failover now \
             would lose that much data; rerun with accept_data_loss to fail over anyway, or wait for the lag to drop",
            plan.target
        )),
        Lag::NotReplicating => Err(format!(
            "{app}: the replication lag metric of {} says replication is not active (-1), so how much a failover \
             would lose is unknown and its max_rpo_seconds of {budget} s cannot be shown to hold; rerun with \
             accept_data_loss to fail over anyway",
            plan.target
        )),
        Lag::NotMeasured => Err(format!(
            "{app}: no replication lag measured for {} in the last 10 minutes (AuroraGlobalDBReplicationLag / \
             AuroraGlobalDBRPOLag), so its max_rpo_seconds of {budget} s cannot be shown to hold; rerun with \
             accept_data_loss to fail over anyway",
            plan.target
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::parse_registry;
    use crate::request::normalize_trigger;
    use serde_json::json;

    fn app(kind: &str, extra: &str) -> Application {
        let yaml = format!(
            r#"
version: 1
applications:
  - name: orders
    regions: {{ primary: us-east-1, secondary: us-west-2 }}
    dns:
      - hosted_zone_id: Z1
        name: orders.example.com
        type: A
        set_identifiers: {{ primary: orders-use1, secondary: orders-usw2 }}
    database:
      kind: {kind}
      global_cluster_id: orders-global
      identifiers: {{ primary: orders-use1, secondary: orders-usw2 }}
      max_rpo_seconds: 30
{extra}
"#
        );
        let reg = parse_registry(&yaml).unwrap_or_else(|e| panic!("{e}"));
        reg.applications[0].clone()
    }

    fn request(v: serde_json::Value) -> Request {
        normalize_trigger(&v).unwrap()
    }

    fn alarm() -> Request {
        let mut r = request(json!({"action": "failover"}));
        r.mode = Mode::Disaster;
        r
    }

    #[test]
    fn aurora_global_switches_over_when_planned_and_fails_over_in_a_disaster() {
        let a = app("aurora-global", "");
        let planned = request(json!({"action": "failover"}));
        let DbDecision::Move(p) = database_step(&a, Action::Failover, Side::Secondary, &planned) else {
            panic!()
        };
        assert_eq!((p.action, p.max_rpo_seconds), (DbAction::Switchover, None));
        assert_eq!((p.target.as_str(), p.region.as_str()), ("orders-usw2", "us-west-2"));
        let DbDecision::Move(p) = database_step(&a, Action::Failover, Side::Secondary, &alarm()) else {
            panic!()
        };
        assert_eq!((p.action, p.max_rpo_seconds), (DbAction::Failover, Some(30)));
        assert_eq!(p.max_checks, 60);
    }

    #[test]
    fn an_app_that_never_allows_data_loss_switches_over_even_in_a_disaster() {
        let a = app("aurora-global", "      allow_data_loss: false");
        let DbDecision::Move(p) = database_step(&a, Action::Failover, Side::Secondary, &alarm()) else {
            panic!()
        };
        assert_eq!(p.action, DbAction::Switchover);
    }

    #[test]
    fn failback_of_aurora_global_is_a_switchover_home() {
        let a = app("aurora-global", "");
        let r = request(json!({"action": "failback"}));
        let DbDecision::Move(p) = database_step(&a, Action::Failback, Side::Primary, &r) else {
            panic!()
        };
        assert_eq!((p.action, p.target.as_str()), (DbAction::Switchover, "orders-use1"));
    }

    #[test]
    fn failback_of_a_promoted_replica_names_the_manual_steps_and_moves_dns_only_when_asked() {
        let a = app("rds-replica", "");
        let r = request(json!({"action": "failback"}));
        let DbDecision::Skip(reason) = database_step(&a, Action::Failback, Side::Primary, &r) else {
            panic!()
        };
        assert!(reason.contains("read replica of orders-usw2"), "{reason}");
        assert!(reason.contains("move_dns_without_database"), "{reason}");
        let r = request(json!({"action": "failback", "move_dns_without_database": true}));
        let DbDecision::Move(p) = database_step(&a, Action::Failback, Side::Primary, &r) else {
            panic!()
        };
        assert_eq!(p.action, DbAction::ManualRebuild);
        assert_eq!(p.manual_steps.len(), 3);
    }

    #[test]
    fn a_drill_skips_databases_it_could_not_bring_back() {
        let r = request(json!({"action": "drill"}));
        for kind in ["aurora-replica", "rds-replica"] {
            let a = app(kind, "");
            assert!(matches!(
                database_step(&a, Action::Failover, Side::Secondary, &r),
                DbDecision::Skip(_)
            ));
        }
    }

    #[test]
    fn each_kind_has_its_action() {
        let r = request(json!({"action": "failover"}));
        for (kind, extra, action) in [
            ("aurora-replica", "", DbAction::PromoteCluster),
            ("rds-replica", "", DbAction::PromoteInstance),
            (
                "rds-backup",
                "      restore: { instance_class: db.t3.micro }",
                DbAction::RestoreBackup,
            ),
            ("dynamodb-global", "", DbAction::None),
        ] {
            let a = app(kind, extra);
            let DbDecision::Move(p) = database_step(&a, Action::Failover, Side::Secondary, &r) else {
                panic!("{kind}")
            };
            assert_eq!(p.action, action, "{kind}");
        }
    }

    #[test]
    fn the_rpo_gate_refuses_over_budget_or_unmeasured_lag_unless_data_loss_is_accepted() {
        let a = app("aurora-global", "");
        let DbDecision::Move(mut p) = database_step(&a, Action::Failover, Side::Secondary, &alarm()) else {
            panic!()
        };
        assert!(rpo_gate(&p, "orders", Lag::Seconds(12.0)).is_ok());
        let err = rpo_gate(&p, "orders", Lag::Seconds(42.5)).unwrap_err();
        assert!(err.contains("42.5 s") && err.contains("accept_data_loss"), "{err}");
        assert!(rpo_gate(&p, "orders", Lag::NotMeasured).is_err());
        let err = rpo_gate(&p, "orders", Lag::NotReplicating).unwrap_err();
        assert!(err.contains("not active") && !err.contains("-1 s"), "{err}");
        p.accept_data_loss = true;
        assert!(rpo_gate(&p, "orders", Lag::Seconds(42.5)).is_ok());
    }

    #[test]
    fn a_lag_of_minus_one_is_unknown_never_a_number_of_seconds() {
        // ReplicaLag / AuroraBinlogReplicaLag report -1 when replication is not active.
        assert_eq!(Lag::from_latest([-1.0]), Lag::NotReplicating);
        assert_eq!(Lag::from_latest([2.0, -1.0]), Lag::NotReplicating);
        assert_eq!(Lag::from_latest([]), Lag::NotMeasured);
        assert_eq!(Lag::from_latest([0.8, 1.8]), Lag::Seconds(1.8));
        assert_eq!(Lag::NotReplicating.seconds(), None);
        assert!(Lag::NotReplicating.describe().contains("not active"));
    }
}
