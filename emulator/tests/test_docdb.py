"""DocumentDB global clusters through the DocumentDB API (the docdb client,
which speaks the RDS query API at the RDS endpoint): clusters with the
docdb engine, and a failover and a switchover as the DocumentDB API
reference's FailoverGlobalCluster and SwitchoverGlobalCluster describe."""

PASSWORD = "not-a-secret-123"


def _global_cluster(emulator):
    east, west = emulator.client("docdb", region="us-east-1"), emulator.client("docdb")
    east.create_global_cluster(GlobalClusterIdentifier="catalog-global", Engine="docdb", EngineVersion="5.0.0")
    primary = east.create_db_cluster(
        DBClusterIdentifier="catalog-use1",
        Engine="docdb",
        GlobalClusterIdentifier="catalog-global",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
    )["DBCluster"]
    secondary = west.create_db_cluster(
        DBClusterIdentifier="catalog-usw2", Engine="docdb", GlobalClusterIdentifier="catalog-global"
    )["DBCluster"]
    return west, primary, secondary


def _state(docdb):
    gc = docdb.describe_global_clusters(GlobalClusterIdentifier="catalog-global")["GlobalClusters"][0]
    writers = [m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"]]
    return gc.get("FailoverState", {}).get("Status"), writers


def test_a_docdb_cluster_takes_documentdbs_defaults(emulator):
    _, primary, secondary = _global_cluster(emulator)
    assert (primary["Engine"], primary["EngineVersion"], primary["Port"]) == ("docdb", "5.0.0", 27017)
    assert secondary["Engine"] == "docdb"


def test_a_switchover_then_a_failover_move_the_writer(emulator):
    west, primary, secondary = _global_cluster(emulator)
    west.switchover_global_cluster(
        GlobalClusterIdentifier="catalog-global", TargetDbClusterIdentifier=secondary["DBClusterArn"]
    )
    seen = [_state(west) for _ in range(4)]
    assert seen[0][0] == "pending"
    assert seen[-1] == (None, [secondary["DBClusterArn"]])
    west.failover_global_cluster(
        GlobalClusterIdentifier="catalog-global", TargetDbClusterIdentifier=primary["DBClusterArn"], AllowDataLoss=True
    )
    seen = [_state(west) for _ in range(4)]
    assert seen[-1] == (None, [primary["DBClusterArn"]])
