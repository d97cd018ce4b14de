"""DynamoDB: writes are made one at a time, and transactions back up a table once.

moto server answers requests on many threads and checks a
ConditionExpression, then writes, without a lock, so two racing conditional
writes can both succeed. On AWS a conditional write is atomic (the
developer guide's "Condition expressions": the write succeeds only if its
condition is true when it is made); lifeboat's execution-name claim and run
lease rely on it.

moto's TransactWriteItems deep-copies the whole table once per item of the
transaction (to roll back on failure): 100 copies of a 5,000-item registry
for one call, minutes for a large run's active-Region updates. The
extension copies each table once per call, which rolls back the same: all
of the call's writes or none, as the TransactWriteItems API reference says.
"""

from __future__ import annotations

import threading
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

# Re-entrant: the global-tables extension holds it around these writes too.
writes = threading.RLock()


def _one_at_a_time(original):
    def write(self):
        with writes:
            return original(self)

    return write


_orig_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # Writes are serialised (above), so swapping the module's `copy` for the
    # call's duration is seen by this call only.
    real_copy = dynamodb_models.copy
    copies = {}

    class _CopyOnce:
        @staticmethod
        def deepcopy(obj):
            if id(obj) not in copies:
                copies[id(obj)] = (obj, real_copy.deepcopy(obj))
            return copies[id(obj)][1]

    dynamodb_models.copy = _CopyOnce
    try:
        return _orig_transact_write_items(self, transact_items)
    finally:
        dynamodb_models.copy = real_copy


def install() -> None:
    for name in ["put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"]:
        setattr(DynamoHandler, name, _one_at_a_time(getattr(DynamoHandler, name)))
    DynamoDBBackend.transact_write_items = transact_write_items
