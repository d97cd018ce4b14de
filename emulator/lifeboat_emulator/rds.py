"""RDS: what a database failover does that moto 5.2.5 lacks, the way AWS
documents it, over the same HTTP API the SDK calls.

- FailoverGlobalCluster / SwitchoverGlobalCluster (moto: HTTP 500), as
  their API references and the FailoverState reference say. The target is
  named by its ARN ("Use the Amazon Resource Name (ARN) for the identifier
  so that Aurora can locate the cluster in its Amazon Web Services
  Region"): a bare identifier is DBClusterNotFoundFault. FailoverState is
  `pending` first (the clusters "are being verified before the operation
  starts"), then `failing-over` / `switching-over`, then empty, when the
  target is the writer; the global cluster's Status follows. While it is not
  empty, another FailoverGlobalCluster or SwitchoverGlobalCluster is
  InvalidGlobalClusterStateFault. A switchover needs every member
  `connected` (GlobalClusterMember SynchronizationStatus). A failover with
  data loss leaves the old primary out of the global cluster until its
  Region recovers: `POST /lifeboat-emulator/rds/regions/{region}/recover`
  is that hook. Then Aurora adds it back as a secondary with a new storage
  volume, `pending-resync` for a few describes, then `connected`, and takes
  a snapshot of the old volume named `rds:unplanned-global-failover-...` in
  that Region (the writes the failover lost).
- DescribeGlobalClusters honours GlobalClusterIdentifier (moto: ignored),
  answers GlobalClusterNotFoundFault for an unknown one, and reports each
  member's SynchronizationStatus.
- PromoteReadReplicaDBCluster: Status `promoting` for a few describes.
- PromoteReadReplica (moto: changes nothing visible): the instance loses
  ReadReplicaSourceDBInstanceIdentifier and shows `modifying` for a while.
- StartDBInstanceAutomatedBackupsReplication (moto: HTTP 500), called in the
  destination Region: the source's automated backups appear there in
  DescribeDBInstanceAutomatedBackups with a RestoreWindow whose LatestTime
  trails now by LIFEBOAT_MOTO_BACKUP_LAG_SECONDS (default 300). They are
  found as its API reference says: by the source's ARN (filter
  db-instance-id) or resource id (DbiResourceId, filter dbi-resource-id);
  DBInstanceIdentifier must name a DB instance of the Region asked, which a
  replicated backup's source is not (DBInstanceAutomatedBackupNotFound).
  The KmsKeyId given (the destination Region's key that encrypts the
  replicas, its API reference says) is the backup's KmsKeyId.
- RestoreDBInstanceToPointInTime with SourceDBInstanceAutomatedBackupsArn
  (moto: ignored): the new instance copies the source's engine and storage,
  takes the class, subnet group, security groups and parameter group asked
  for, and is `creating` for a few describes.

"A few describes": each RDS Describe* call moves every pending change one
step; LIFEBOAT_MOTO_RDS_STEPS (default 2) steps finish it. Counting calls,
not seconds, keeps the emulator deterministic under a virtual clock.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.rds import exceptions as rds_errors
from moto.rds.models import GlobalCluster, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

STEPS = int(os.environ.get("LIFEBOAT_MOTO_RDS_STEPS", "2"))
BACKUP_LAG = int(os.environ.get("LIFEBOAT_MOTO_BACKUP_LAG_SECONDS", "300"))

_lock = threading.RLock()
_pending = []  # [steps left, finish callback]


def _after_steps(finish):
    with _lock:
        _pending.append([STEPS, finish])


def _step():
    with _lock:
        for entry in list(_pending):
            entry[0] -= 1
            if entry[0] <= 0:
                _pending.remove(entry)
                entry[1]()


def _now():
    return datetime.datetime.now(datetime.UTC)


class _Fault(rds_errors.RDSClientError):
    def __init__(self, code, message):
        super().__init__(code, message)


def _global_cluster(response, identifier):
    gc = response.global_backend.global_clusters.get((identifier or "").lower())
    if gc is None:
        raise _Fault("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found.")
    return gc


def _sync(gc):
    """Each member's SynchronizationStatus, by cluster ARN (absent: connected)."""
    if not hasattr(gc, "lifeboat_sync"):
        gc.lifeboat_sync = {}
    return gc.lifeboat_sync


def _detached(gc):
    """Old primaries left out by a failover with data loss, waiting for their Region."""
    if not hasattr(gc, "lifeboat_detached"):
        gc.lifeboat_detached = []
    return gc.lifeboat_detached


def _member(gc, target):
    if not target.startswith("arn:"):
        raise _Fault(
            "DBClusterNotFoundFault",
            f"DB cluster {target} not found: name the secondary by its ARN so Aurora can locate it in its Region.",
        )
    for member in gc.members:
        if target == member.db_cluster_arn:
            return member
    raise _Fault(
        "DBClusterNotFoundFault",
        f"DB cluster {target} is not a member of global cluster {gc.global_cluster_identifier}.",
    )


def _global_move(response, kind):
    params = response.params
    gc = _global_cluster(response, params.get("GlobalClusterIdentifier"))
    target = _member(gc, params.get("TargetDbClusterIdentifier", ""))
    current = getattr(gc, "failover_state", None)
    if current:
        raise _Fault(
            "InvalidGlobalClusterStateFault",
            f"Global cluster {gc.global_cluster_identifier} has a {current['Status']} operation in progress.",
        )
    if target.is_writer:
        raise _Fault(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_identifier} is already the primary of {gc.global_cluster_identifier}.",
        )
    source = next((m for m in gc.members if m.is_writer), None)
    data_loss = kind == "failover"
    sync = _sync(gc)
    if kind == "switchover":
        behind = [m.db_cluster_identifier for m in gc.members if sync.get(m.db_cluster_arn, "connected") != "connected"]
        if source is None or behind:
            raise _Fault(
                "InvalidGlobalClusterStateFault",
                "Switchover needs a healthy primary and every secondary connected"
                + (f" ({', '.join(behind)} is not)" if behind else "."),
            )
    moving = "failing-over" if data_loss else "switching-over"
    gc.failover_state = {
        "Status": "pending",
        "FromDbClusterArn": source.db_cluster_arn if source else None,
        "ToDbClusterArn": target.db_cluster_arn,
        "IsDataLossAllowed": data_loss,
    }

    def begin():
        gc.status = moving
        gc.failover_state = dict(gc.failover_state, Status=moving)
        _after_steps(finish)

    def finish():
        for member in gc.members:
            member.is_writer = member is target
        if data_loss and source is not None:
            # Left out until its Region recovers (the hook below).
            gc.members = [m for m in gc.members if m is not source]
            _detached(gc).append(source)
            sync.pop(source.db_cluster_arn, None)
        gc.status = "available"
        gc.failover_state = None

    _after_steps(begin)
    return ActionResult({"GlobalCluster": gc})


def failover_global_cluster(self: RDSResponse) -> ActionResult:
    return _global_move(self, "failover")


def switchover_global_cluster(self: RDSResponse) -> ActionResult:
    return _global_move(self, "switchover")


def recover_region(region: str) -> list[dict[str, str]]:
    """The Region is healthy again: every old primary there rejoins its global
    cluster as a secondary (pending-resync, then connected), and the volume it
    had is kept as a snapshot. Returns what rejoined."""
    rejoined = []
    for account in rds_backends.values():
        backend = account.get(region)
        if backend is None:
            continue
        # moto keeps every global cluster in us-east-1's backend.
        for gc in list(account["us-east-1"].global_clusters.values()):
            for old in [m for m in _detached(gc) if m.region == region]:
                _detached(gc).remove(old)
                old.is_writer = False
                gc.members.append(old)
                sync = _sync(gc)
                sync[old.db_cluster_arn] = "pending-resync"
                stamp = _now().strftime("%Y-%m-%d-%H-%M")
                snapshot = f"rds:unplanned-global-failover-{old.db_cluster_identifier}-{stamp}"
                backend.create_db_cluster_snapshot(
                    db_cluster_identifier=old.db_cluster_identifier,
                    db_cluster_snapshot_identifier=snapshot,
                    snapshot_type="automated",
                )
                arn = old.db_cluster_arn
                _after_steps(lambda sync=sync, arn=arn: sync.__setitem__(arn, "connected"))
                rejoined.append({"cluster": old.db_cluster_identifier, "snapshot": snapshot})
    return rejoined


def control(environ: WSGIEnvironment, start_response: StartResponse, path: str) -> list[bytes]:
    """POST /lifeboat-emulator/rds/regions/{region}/recover."""
    parts = path.strip("/").split("/")
    if len(parts) == 5 and parts[2] == "regions" and parts[4] == "recover":
        with _lock:
            body = {"region": parts[3], "rejoined": recover_region(parts[3])}
        status = "200 OK"
    else:
        body, status = {"error": f"unknown control {path}"}, "404 Not Found"
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


_orig_members = GlobalCluster.global_cluster_members


def global_cluster_members(self: GlobalCluster) -> list[dict[str, Any]]:
    members = _orig_members.fget(self)
    sync = _sync(self)
    for member in members:
        member["SynchronizationStatus"] = sync.get(member["DBClusterArn"], "connected")
    return members


_orig_describe_global_clusters = RDSResponse.describe_global_clusters


def describe_global_clusters(self: RDSResponse) -> ActionResult:
    _step()
    identifier = self.params.get("GlobalClusterIdentifier")
    if identifier:
        return ActionResult({"GlobalClusters": [_global_cluster(self, identifier)]})
    return _orig_describe_global_clusters(self)


def _stepping(original):
    def describe(self):
        _step()
        return original(self)

    return describe


_orig_promote_cluster = RDSResponse.promote_read_replica_db_cluster


def promote_read_replica_db_cluster(self: RDSResponse) -> ActionResult:
    result = _orig_promote_cluster(self)
    cluster = self.backend.clusters[self.params["DBClusterIdentifier"]]
    cluster.status = "promoting"
    _after_steps(lambda: setattr(cluster, "status", "available"))
    return result


def promote_read_replica(self: RDSResponse) -> ActionResult:
    identifier = self.params.get("DBInstanceIdentifier", "")
    database = self.backend.databases.get(identifier)
    if database is None:
        raise rds_errors.DBInstanceNotFoundError(identifier)
    if not database.is_replica and not database.source_db_instance_identifier:
        raise rds_errors.InvalidDBInstanceStateError(identifier, "promote")
    database.is_replica = False
    database.source_db_instance_identifier = None
    database.status = "modifying"
    _after_steps(lambda: setattr(database, "status", "available"))
    return ActionResult({"DBInstance": database})


def _find_instance(arn):
    for account in rds_backends.values():
        for backend in account.values():
            for database in backend.databases.values():
                if database.db_instance_arn == arn:
                    return database
    return None


class ReplicatedBackup:
    """One source instance's automated backups, replicated to this Region."""

    def __init__(self, backend, source):
        self.source = source
        self.db_instance_arn = source.db_instance_arn
        self.db_instance_identifier = source.db_instance_identifier
        self.dbi_resource_id = source.dbi_resource_id
        self.region = source.region
        self.engine = source.engine
        self.engine_version = source.engine_version
        self.allocated_storage = source.allocated_storage
        self.port = source.port
        self.master_username = source.master_username
        self.storage_type = source.storage_type
        self.encrypted = bool(source.storage_encrypted)
        self.backup_retention_period = 7
        self.status = "replicating"
        self.created = _now()
        self.db_instance_automated_backups_arn = (
            f"arn:aws:rds:{backend.region_name}:{backend.account_id}:auto-backup:ab-{source.dbi_resource_id.lower()}"
        )

    @property
    def restore_window(self):
        # Backups of the retention period came along; the newest restorable
        # point trails now by the replication lag.
        earliest = self.created - datetime.timedelta(days=self.backup_retention_period)
        return {"EarliestTime": earliest, "LatestTime": _now() - datetime.timedelta(seconds=BACKUP_LAG)}


def _replicated(backend):
    if not hasattr(backend, "lifeboat_replicated_backups"):
        backend.lifeboat_replicated_backups = {}
    return backend.lifeboat_replicated_backups


def start_db_instance_automated_backups_replication(self: RDSResponse) -> ActionResult:
    arn = self.params.get("SourceDBInstanceArn", "")
    source = _find_instance(arn)
    if source is None:
        raise rds_errors.DBInstanceNotFoundError(arn)
    backups = _replicated(self.backend)
    backup = backups.get(arn)
    if backup is None:
        backup = ReplicatedBackup(self.backend, source)
        backup.kms_key_id = self.params.get("KmsKeyId")
        backups[arn] = backup
    return ActionResult({"DBInstanceAutomatedBackup": backup})


_orig_describe_backups = RDSResponse.describe_db_instance_automated_backups


def _filters(params):
    return {f.get("Name"): list(f.get("Values") or []) for f in params.get("Filters") or []}


def _backup_matches(backup, identifier, resource_id, filters):
    ids = {backup.db_instance_identifier.lower(), backup.db_instance_arn.lower()}
    if identifier is not None and identifier.lower() not in ids:
        return False
    if resource_id is not None and resource_id.lower() != backup.dbi_resource_id.lower():
        return False
    wanted_ids = filters.get("db-instance-id")
    if wanted_ids is not None and not ids.intersection(v.lower() for v in wanted_ids):
        return False
    wanted_resources = filters.get("dbi-resource-id")
    resource = {backup.dbi_resource_id.lower(), backup.db_instance_arn.lower()}
    if wanted_resources is not None and not resource.intersection(v.lower() for v in wanted_resources):
        return False
    return True


def describe_db_instance_automated_backups(self: RDSResponse) -> ActionResult:
    """As the DescribeDBInstanceAutomatedBackups reference says: DBInstanceIdentifier
    "must match the identifier of an existing DB instance" (in the Region
    asked: a replicated backup's source is not one of them); the filters
    db-instance-id (identifiers and ARNs) and dbi-resource-id, and
    DbiResourceId, pick out backups, replicated ones included."""
    params = self.params
    identifier = params.get("DBInstanceIdentifier")
    arn = params.get("DBInstanceAutomatedBackupsArn")
    resource_id = params.get("DbiResourceId")
    filters = _filters(params)
    if identifier is not None and identifier.lower() not in {k.lower() for k in self.backend.databases}:
        raise _Fault(
            "DBInstanceAutomatedBackupNotFound",
            f"DB instance {identifier} does not exist in {self.backend.region_name}: DBInstanceIdentifier must name "
            "an existing DB instance (a replicated backup's source is in another Region; use its ARN or DbiResourceId)",
        )
    replicated = [
        b
        for b in _replicated(self.backend).values()
        if (arn is None or b.db_instance_automated_backups_arn == arn)
        and _backup_matches(b, identifier, resource_id, filters)
    ]
    if arn is not None or resource_id is not None or filters:
        return ActionResult({"DBInstanceAutomatedBackups": replicated})
    own = _orig_describe_backups(self)
    own.result["DBInstanceAutomatedBackups"] = list(own.result["DBInstanceAutomatedBackups"]) + replicated
    return own


_orig_restore_pitr = RDSResponse.restore_db_instance_to_point_in_time


def restore_db_instance_to_point_in_time(self: RDSResponse) -> ActionResult:
    arn = self.params.get("SourceDBInstanceAutomatedBackupsArn")
    if not arn:
        return _orig_restore_pitr(self)
    backup = next(
        (b for b in _replicated(self.backend).values() if b.db_instance_automated_backups_arn == arn),
        None,
    )
    if backup is None:
        raise _Fault("DBInstanceAutomatedBackupNotFound", f"Automated backup {arn} not found.")
    target = self.params.get("TargetDBInstanceIdentifier", "")
    if target in self.backend.databases:
        raise rds_errors.DBInstanceAlreadyExists()
    source = backup.source
    props = {
        "db_instance_identifier": target,
        "engine": source.engine,
        "engine_version": source.engine_version,
        "allocated_storage": source.allocated_storage,
        "storage_type": source.storage_type,
        "master_username": source.master_username,
        "port": source.port,
        "db_instance_class": self.params.get("DBInstanceClass") or source.db_instance_class,
    }
    for param, prop in [
        ("DBSubnetGroupName", "db_subnet_group_name"),
        ("VpcSecurityGroupIds", "vpc_security_group_ids"),
        ("DBParameterGroupName", "db_parameter_group_name"),
    ]:
        if self.params.get(param):
            props[prop] = self.params[param]
    database = self.backend.create_db_instance(props)
    database.status = "creating"
    _after_steps(lambda: setattr(database, "status", "available"))
    return ActionResult({"DBInstance": database})


_orig_reset = RDSBackend.reset


def reset(self: RDSBackend) -> None:
    with _lock:
        _pending.clear()
    _orig_reset(self)


def install() -> None:
    RDSResponse.failover_global_cluster = failover_global_cluster
    RDSResponse.switchover_global_cluster = switchover_global_cluster
    RDSResponse.describe_global_clusters = describe_global_clusters
    GlobalCluster.global_cluster_members = property(global_cluster_members)
    RDSResponse.describe_db_clusters = _stepping(RDSResponse.describe_db_clusters)
    RDSResponse.describe_db_instances = _stepping(RDSResponse.describe_db_instances)
    RDSResponse.promote_read_replica_db_cluster = promote_read_replica_db_cluster
    RDSResponse.promote_read_replica = promote_read_replica
    RDSResponse.start_db_instance_automated_backups_replication = start_db_instance_automated_backups_replication
    RDSResponse.describe_db_instance_automated_backups = describe_db_instance_automated_backups
    RDSResponse.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time
    RDSBackend.reset = reset
