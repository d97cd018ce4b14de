"""DynamoDB global tables (version 2019.11.21), which moto 5.2.5 lacks, as the
DynamoDB developer guide's "How DynamoDB global tables work" and the
UpdateTable API reference describe them, over the same API the SDK calls.

- UpdateTable with `ReplicaUpdates: [{"Create": {"RegionName": r}}]` adds a
  replica: the same table (key schema, attributes, billing mode) in Region r,
  holding the same items. DescribeTable in any replica's Region lists
  `Replicas` (RegionName, ReplicaStatus ACTIVE), `GlobalTableWitnesses` and
  `MultiRegionConsistency`.
- Eventual consistency (MREC, the default): a write is applied in its own
  Region at once and in every other replica after
  LIFEBOAT_MOTO_REPLICATION_SECONDS (default 0.5; AWS: "typically within a
  second"). A condition is checked against the local replica only. Writes
  that conflict resolve last writer wins: in every replica, the item of the
  later write stays.
- Multi-Region strong consistency (MRSC): `MultiRegionConsistency: STRONG` in
  the UpdateTable that adds the replicas, either three replica Regions or two
  and a witness (`GlobalTableWitnessUpdates: [{"Create": {"RegionName": w}}]`),
  all of one Region set (US: us-east-1, us-east-2, us-west-2; EU: eu-west-1,
  eu-west-2, eu-west-3, eu-central-1; AP: ap-northeast-1, ap-northeast-2,
  ap-northeast-3). The table must be empty, and its consistency cannot change
  later (ValidationException). A write is applied in every replica before it
  is answered, so a condition holds across Regions. A write to an item that
  another Region wrote less than LIFEBOAT_MOTO_MRSC_CONFLICT_SECONDS (default
  0.05) before is refused with ReplicatedWriteConflictException (HTTP 400,
  safe to retry): "one or more items in the request are being modified by a
  request in another Region".

Not modelled: a Region cut off from the others (the tests' fault proxy
refuses its calls instead), streams, and deleting replicas.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException, MockValidationException
from moto.dynamodb.models import Table, dynamodb_backends
from moto.dynamodb.responses import DynamoHandler

from . import dynamodb

if TYPE_CHECKING:
    from moto.core.responses import ActionResult

DELAY = float(os.environ.get("LIFEBOAT_MOTO_REPLICATION_SECONDS", "0.5"))
CONFLICT_WINDOW = float(os.environ.get("LIFEBOAT_MOTO_MRSC_CONFLICT_SECONDS", "0.05"))

REGION_SETS = [
    {"us-east-1", "us-east-2", "us-west-2"},
    {"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"},
    {"ap-northeast-1", "ap-northeast-2", "ap-northeast-3"},
]

# (account, table name) -> {"regions": [..], "witness": str | None, "mode": "EVENTUAL" | "STRONG"}
_globals = {}
# (account, region, table, key) -> time of the write the replica holds (last writer wins)
_versions = {}
# (account, table, key) -> (region, time) of the last write (MRSC conflicts)
_last_write = {}


class ReplicatedWriteConflict(DynamodbException):
    def __init__(self, table):
        super().__init__(
            ERROR_TYPE_PREFIX + "ReplicatedWriteConflictException",
            message=f"One or more items in the request are being modified by a request in another Region ({table})",
        )


def reset() -> None:
    with dynamodb.writes:
        _globals.clear()
        _versions.clear()
        _last_write.clear()


def _backend(account, region):
    return dynamodb_backends[account][region]


def _key(table, attrs):
    values = [attrs.get(table.hash_key_attr)]
    if table.range_key_attr:
        values.append(attrs.get(table.range_key_attr))
    return json.dumps(values, sort_keys=True, default=str)


def _key_attrs(table, attrs):
    keys = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr:
        keys[table.range_key_attr] = attrs[table.range_key_attr]
    return keys


def _written(body, action):
    """[(table name, key attributes)] a write request touches."""
    if action in ("put_item",):
        return [(body["TableName"], body["Item"])]
    if action in ("update_item", "delete_item"):
        return [(body["TableName"], body["Key"])]
    if action == "batch_write_item":
        out = []
        for name, requests in body.get("RequestItems", {}).items():
            for r in requests:
                if "PutRequest" in r:
                    out.append((name, r["PutRequest"]["Item"]))
                elif "DeleteRequest" in r:
                    out.append((name, r["DeleteRequest"]["Key"]))
        return out
    if action == "transact_write_items":
        out = []
        for t in body.get("TransactItems", []):
            for kind, field in (("Put", "Item"), ("Update", "Key"), ("Delete", "Key")):
                if kind in t:
                    out.append((t[kind]["TableName"], t[kind][field]))
        return out
    return []


def _snapshot(account, region, name, keys):
    """The item as it is now in one replica (None: deleted)."""
    item = _backend(account, region).get_item(name, keys)
    return None if item is None else item.to_json()["Attributes"]


def _apply(account, region, name, keys, attrs, at):
    """Puts (or deletes) one item in one replica unless a later write is there."""
    table = _backend(account, region).get_table(name)
    version = (account, region, name, _key(table, keys))
    if _versions.get(version, 0) > at:
        return
    _versions[version] = at
    if attrs is None:
        if _backend(account, region).get_item(name, keys) is not None:
            _backend(account, region).delete_item(name, keys)
    else:
        _backend(account, region).put_item(name, attrs)


def _replicated(action, original):
    def write(self):
        account, region = self.current_account, self.region
        with dynamodb.writes:
            touched = []
            for name, attrs in _written(self.body, action):
                spec = _globals.get((account, name))
                if spec is None or region not in spec["regions"]:
                    continue
                table = _backend(account, region).get_table(name)
                touched.append((name, spec, table, _key_attrs(table, attrs)))
            now = time.time()
            for name, spec, table, keys in touched:
                last = _last_write.get((account, name, _key(table, keys)))
                if spec["mode"] == "STRONG" and last and last[0] != region and now - last[1] < CONFLICT_WINDOW:
                    raise ReplicatedWriteConflict(name)
            result = original(self)
            for name, spec, table, keys in touched:
                _last_write[(account, name, _key(table, keys))] = (region, now)
                _versions[(account, region, name, _key(table, keys))] = now
                attrs = _snapshot(account, region, name, keys)
                others = [r for r in spec["regions"] if r != region]
                if spec["mode"] == "STRONG":
                    for other in others:
                        _apply(account, other, name, keys, attrs, now)
                elif others:
                    timer = threading.Timer(DELAY, _later, (account, others, name, keys, attrs, now))
                    timer.daemon = True
                    timer.start()
            return result

    return write


def _later(account, regions, name, keys, attrs, at):
    with dynamodb.writes:
        for region in regions:
            try:
                _apply(account, region, name, keys, attrs, at)
            except Exception:  # noqa: BLE001 - a replica deleted meanwhile: nothing to replicate to
                continue


_orig_update_table = DynamoHandler.update_table


def _region_set(regions):
    return next((s for s in REGION_SETS if set(regions) <= s), None)


def update_table(self: DynamoHandler) -> ActionResult:
    body = self.body
    account, region, name = self.current_account, self.region, body["TableName"]
    creates = [u["Create"]["RegionName"] for u in body.get("ReplicaUpdates", []) or [] if "Create" in u]
    witnesses = [u["Create"]["RegionName"] for u in body.get("GlobalTableWitnessUpdates", []) or [] if "Create" in u]
    mode = body.get("MultiRegionConsistency")
    if not creates and not witnesses and not mode:
        return _orig_update_table(self)
    with dynamodb.writes:
        table = _backend(account, region).get_table(name)
        spec = _globals.get((account, name))
        if spec is not None and mode and mode != spec["mode"]:
            raise MockValidationException(
                f"The MultiRegionConsistency of global table {name} is {spec['mode']} and cannot be changed"
            )
        mode = mode or (spec["mode"] if spec else "EVENTUAL")
        regions = sorted(set((spec["regions"] if spec else [region]) + creates))
        witness = (spec and spec["witness"]) or (witnesses[0] if witnesses else None)
        if mode == "STRONG":
            members = regions + ([witness] if witness else [])
            if len(members) != 3 or len(set(members)) != 3:
                raise MockValidationException(
                    "A global table with multi-Region strong consistency needs exactly three Regions: "
                    f"three replicas, or two replicas and a witness (got {members})"
                )
            if _region_set(members) is None:
                raise MockValidationException(
                    f"Regions {members} are not in one Region set that supports multi-Region strong consistency"
                )
            if spec is None and len(table) > 0:
                raise MockValidationException(
                    f"Table {name} must be empty to become a global table with multi-Region strong consistency"
                )
        for other in creates:
            backend = _backend(account, other)
            if name not in backend.tables:
                backend.create_table(
                    name,
                    schema=table.schema,
                    throughput=None,
                    attr=table.attr,
                    global_indexes=None,
                    indexes=None,
                    streams=None,
                    billing_mode="PAY_PER_REQUEST",
                    sse_specification=None,
                    tags=[],
                    deletion_protection_enabled=False,
                    warm_throughput=None,
                )
            for item in list(table.all_items()):
                backend.put_item(name, item.to_json()["Attributes"])
        _globals[(account, name)] = {"regions": regions, "witness": witness, "mode": mode}
    handled = ("ReplicaUpdates", "GlobalTableWitnessUpdates", "MultiRegionConsistency")
    self.body = {k: v for k, v in body.items() if k not in handled}
    return _orig_update_table(self)


_orig_describe = Table.describe


def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
    result = _orig_describe(self, base_key=base_key)
    spec = _globals.get((self.account_id, self.name))
    if spec is not None and self.region_name in spec["regions"]:
        result[base_key]["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in spec["regions"]]
        result[base_key]["MultiRegionConsistency"] = spec["mode"]
        if spec["witness"]:
            result[base_key]["GlobalTableWitnesses"] = [{"RegionName": spec["witness"], "WitnessStatus": "ACTIVE"}]
    return result


def install() -> None:
    """After dynamodb.install(): wraps its one-at-a-time writes."""
    for action in ["put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"]:
        setattr(DynamoHandler, action, _replicated(action, getattr(DynamoHandler, action)))
    DynamoHandler.update_table = update_table
    Table.describe = describe
