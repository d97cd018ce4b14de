"""Cross-Region replicas promoted and replicated backups restored, as the
PromoteReadReplicaDBCluster, PromoteReadReplica and
RestoreDBInstanceToPointInTime API references say: a promoted cluster is
`promoting` then `available`; a promoted read replica stops being one and is
`modifying` for a while; a restore from a replicated automated backup
(SourceDBInstanceAutomatedBackupsArn) makes a new instance with the
source's engine and the class asked for, `creating` then `available`."""

import pytest

PASSWORD = "not-a-secret-123"


def _instance_in_east(emulator, name, engine):
    """A DB instance in us-east-1 with automated backups (a replica's or a backup's source)."""
    return emulator.client("rds", region="us-east-1").create_db_instance(
        DBInstanceIdentifier=name,
        Engine=engine,
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        BackupRetentionPeriod=7,
    )["DBInstance"]


def _settle(describe, status, tries=10):
    """Describe until `status` (each Describe* moves the emulator one step)."""
    seen = []
    for _ in range(tries):
        seen.append(describe())
        if seen[-1] == status:
            break
    return seen


def test_a_promoted_replica_cluster_is_promoting_then_available(emulator):
    east, west = emulator.client("rds", region="us-east-1"), emulator.client("rds")
    source = east.create_db_cluster(
        DBClusterIdentifier="search-use1", Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword=PASSWORD
    )["DBCluster"]
    west.create_db_cluster(
        DBClusterIdentifier="search-usw2",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        ReplicationSourceIdentifier=source["DBClusterArn"],
    )
    west.promote_read_replica_db_cluster(DBClusterIdentifier="search-usw2")
    seen = _settle(
        lambda: west.describe_db_clusters(DBClusterIdentifier="search-usw2")["DBClusters"][0]["Status"], "available"
    )
    assert seen[0] == "promoting" and seen[-1] == "available", seen


def test_a_promoted_read_replica_stops_being_one_and_is_modifying_for_a_while(emulator):
    west, source = emulator.client("rds"), _instance_in_east(emulator, "store-use1", "mysql")
    west.create_db_instance_read_replica(
        DBInstanceIdentifier="store-usw2", SourceDBInstanceIdentifier=source["DBInstanceArn"]
    )
    west.promote_read_replica(DBInstanceIdentifier="store-usw2")
    first = west.describe_db_instances(DBInstanceIdentifier="store-usw2")["DBInstances"][0]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in first
    later = _settle(
        lambda: west.describe_db_instances(DBInstanceIdentifier="store-usw2")["DBInstances"][0]["DBInstanceStatus"],
        "available",
    )
    seen = [first["DBInstanceStatus"], *later]
    assert seen[0] == "modifying" and seen[-1] == "available", seen
    # A primary is not a replica: promoting it again is refused.
    with pytest.raises(west.exceptions.ClientError) as e:
        west.promote_read_replica(DBInstanceIdentifier="store-usw2")
    assert e.value.response["Error"]["Code"] == "InvalidDBInstanceState"


def test_a_restore_from_a_replicated_backup_copies_the_source_and_is_creating_then_available(emulator):
    west, source = emulator.client("rds"), _instance_in_east(emulator, "orders-use1", "postgres")
    west.start_db_instance_automated_backups_replication(SourceDBInstanceArn=source["DBInstanceArn"])
    backup = west.describe_db_instance_automated_backups(
        Filters=[{"Name": "db-instance-id", "Values": [source["DBInstanceArn"]]}]
    )["DBInstanceAutomatedBackups"][0]
    restored = west.restore_db_instance_to_point_in_time(
        SourceDBInstanceAutomatedBackupsArn=backup["DBInstanceAutomatedBackupsArn"],
        TargetDBInstanceIdentifier="orders-usw2",
        UseLatestRestorableTime=True,
        DBInstanceClass="db.r6g.large",
    )["DBInstance"]
    assert (restored["Engine"], restored["DBInstanceClass"]) == ("postgres", "db.r6g.large")
    seen = _settle(
        lambda: west.describe_db_instances(DBInstanceIdentifier="orders-usw2")["DBInstances"][0]["DBInstanceStatus"],
        "available",
    )
    assert seen[0] == "creating" and seen[-1] == "available", seen
    # The same target again is refused; an unknown backup is not found.
    with pytest.raises(west.exceptions.ClientError) as e:
        west.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=backup["DBInstanceAutomatedBackupsArn"],
            TargetDBInstanceIdentifier="orders-usw2",
            UseLatestRestorableTime=True,
        )
    assert e.value.response["Error"]["Code"] == "DBInstanceAlreadyExists"
    with pytest.raises(west.exceptions.ClientError) as e:
        west.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=backup["DBInstanceAutomatedBackupsArn"] + "-gone",
            TargetDBInstanceIdentifier="orders-usw2b",
            UseLatestRestorableTime=True,
        )
    assert e.value.response["Error"]["Code"] == "DBInstanceAutomatedBackupNotFound"
