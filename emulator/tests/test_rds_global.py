"""Aurora global database failover and switchover as the FailoverGlobalCluster,
SwitchoverGlobalCluster, FailoverState and GlobalClusterMember API references
say: FailoverState `pending`, then in progress, then empty; a repeated call
while it is not empty is InvalidGlobalClusterStateFault; the target is named
by ARN; after a failover with data loss the old primary is out until its
Region recovers, then `pending-resync`, then `connected` (Aurora user guide,
recovering from an unplanned outage)."""

import pytest

PASSWORD = "not-a-secret-123"


def _global_database(emulator):
    east, west = emulator.client("rds", region="us-east-1"), emulator.client("rds")
    east.create_global_cluster(GlobalClusterIdentifier="payments-global", Engine="aurora-mysql")
    primary = east.create_db_cluster(
        DBClusterIdentifier="payments-use1",
        Engine="aurora-mysql",
        GlobalClusterIdentifier="payments-global",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
    )["DBCluster"]
    secondary = west.create_db_cluster(
        DBClusterIdentifier="payments-usw2",
        Engine="aurora-mysql",
        GlobalClusterIdentifier="payments-global",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
    )["DBCluster"]
    return west, primary["DBClusterArn"], secondary["DBClusterArn"]


def _describe(rds):
    return rds.describe_global_clusters(GlobalClusterIdentifier="payments-global")["GlobalClusters"][0]


def _members(gc):
    return {m["DBClusterArn"]: (m["IsWriter"], m["SynchronizationStatus"]) for m in gc["GlobalClusterMembers"]}


def test_failover_goes_pending_then_failing_over_then_done_and_refuses_a_repeat(emulator):
    west, _, secondary = _global_database(emulator)
    with pytest.raises(west.exceptions.ClientError) as e:
        west.failover_global_cluster(
            GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier="payments-usw2", AllowDataLoss=True
        )
    assert e.value.response["Error"]["Code"] == "DBClusterNotFoundFault", "a bare identifier: AWS wants the ARN"
    west.failover_global_cluster(
        GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=secondary, AllowDataLoss=True
    )
    seen = []
    for _ in range(10):
        gc = _describe(west)
        state = gc.get("FailoverState")
        seen.append(state["Status"] if state else None)
        if state and state["Status"] == "pending":
            with pytest.raises(west.exceptions.ClientError) as again:
                west.failover_global_cluster(
                    GlobalClusterIdentifier="payments-global",
                    TargetDbClusterIdentifier=secondary,
                    AllowDataLoss=True,
                )
            assert again.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"
        if state is None:
            break
    assert seen[0] == "pending" and "failing-over" in seen and seen[-1] is None, seen
    # The new writer; the old primary is out until its Region recovers.
    assert _members(_describe(west)) == {secondary: (True, "connected")}


def test_the_old_primary_rejoins_pending_resync_once_its_region_recovers(emulator):
    west, primary, secondary = _global_database(emulator)
    west.failover_global_cluster(
        GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=secondary, AllowDataLoss=True
    )
    while _describe(west).get("FailoverState"):
        pass
    # A switchover home needs the old primary back and connected.
    with pytest.raises(west.exceptions.ClientError) as e:
        west.switchover_global_cluster(GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=primary)
    assert e.value.response["Error"]["Code"] == "DBClusterNotFoundFault"
    rejoined = emulator.control("/lifeboat-emulator/rds/regions/us-east-1/recover")["rejoined"]
    assert rejoined[0]["cluster"] == "payments-use1"
    assert rejoined[0]["snapshot"].startswith("rds:unplanned-global-failover-payments-use1-")
    east = emulator.client("rds", region="us-east-1")
    snapshots = east.describe_db_cluster_snapshots(DBClusterIdentifier="payments-use1")["DBClusterSnapshots"]
    assert rejoined[0]["snapshot"] in [s["DBClusterSnapshotIdentifier"] for s in snapshots]
    assert _members(_describe(west))[primary] == (False, "pending-resync")
    with pytest.raises(west.exceptions.ClientError) as e:
        west.switchover_global_cluster(GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=primary)
    assert e.value.response["Error"]["Code"] == "InvalidGlobalClusterStateFault"
    for _ in range(5):
        if _members(_describe(west))[primary] == (False, "connected"):
            break
    assert _members(_describe(west))[primary] == (False, "connected")
    west.switchover_global_cluster(GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=primary)
    while _describe(west).get("FailoverState"):
        pass
    assert _members(_describe(west)) == {primary: (True, "connected"), secondary: (False, "connected")}


def test_switchover_moves_the_writer_keeps_every_member_and_refuses_the_writer_as_target(emulator):
    west, primary, secondary = _global_database(emulator)
    west.switchover_global_cluster(GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=secondary)
    seen = []
    for _ in range(10):
        state = _describe(west).get("FailoverState")
        seen.append(state["Status"] if state else None)
        if state is None:
            break
    assert seen[0] == "pending" and "switching-over" in seen and seen[-1] is None, seen
    # No data loss: the old primary stays a connected secondary.
    assert _members(_describe(west)) == {secondary: (True, "connected"), primary: (False, "connected")}
    with pytest.raises(west.exceptions.ClientError) as e:
        west.switchover_global_cluster(GlobalClusterIdentifier="payments-global", TargetDbClusterIdentifier=secondary)
    assert e.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"


def test_an_unknown_global_cluster_is_not_found(emulator):
    west = emulator.client("rds")
    with pytest.raises(west.exceptions.ClientError) as e:
        west.describe_global_clusters(GlobalClusterIdentifier="nobody-global")
    assert e.value.response["Error"]["Code"] == "GlobalClusterNotFoundFault"
