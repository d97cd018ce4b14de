"""Amazon DocumentDB global clusters, which moto 5.2.5 lacks.

DocumentDB's management API is the RDS query API: the same endpoint
(`rds.REGION.amazonaws.com`), version (2014-10-31) and signing name (`rds`),
as the DocumentDB API reference and the SDKs' service models say. So a
DocumentDB call reaches moto's RDS backend, which refuses the `docdb` engine
on a cluster (InvalidParameterValue). Here the engine is accepted, with
DocumentDB's defaults (engine version 5.0.0, port 27017, parameter group
default.docdb5.0). A DocumentDB global cluster then fails over and switches
over as rds.py models Aurora's, which is what the DocumentDB API reference
describes for FailoverGlobalCluster (AllowDataLoss, or Switchover) and
SwitchoverGlobalCluster: the global cluster's FailoverState `pending`, then
`failing-over` / `switching-over`, then empty when the target writes.
"""

from __future__ import annotations

from typing import Any

from moto.rds import models as rds_models
from moto.rds.models import DBCluster

ENGINE = "docdb"
VERSION = "5.0.0"
PORT = 27017

_orig_list = rds_models.ClusterEngine.list_cluster_engines.__func__
_orig_version = DBCluster.default_engine_version
_orig_port = DBCluster.default_port
_orig_storage = DBCluster.default_allocated_storage
_orig_init = DBCluster.__init__


def list_cluster_engines(cls: Any) -> list[str]:
    return sorted([*_orig_list(cls), ENGINE])


def default_engine_version(engine: str) -> str:
    return VERSION if engine == ENGINE else _orig_version(engine)


def default_port(engine: str) -> int:
    return PORT if engine == ENGINE else _orig_port(engine)


def default_allocated_storage(engine: str, storage_type: str) -> int:
    return 1 if engine == ENGINE else _orig_storage(engine, storage_type)


def cluster_init(self: DBCluster, *args: Any, **kwargs: Any) -> None:
    _orig_init(self, *args, **kwargs)
    if self.engine == ENGINE and not kwargs.get("db_cluster_parameter_group_name"):
        self.parameter_group = "default.docdb5.0"


def install() -> None:
    rds_models.ClusterEngine.list_cluster_engines = classmethod(list_cluster_engines)
    DBCluster.default_engine_version = staticmethod(default_engine_version)
    DBCluster.default_port = staticmethod(default_port)
    DBCluster.default_allocated_storage = staticmethod(default_allocated_storage)
    DBCluster.__init__ = cluster_init
