"""DynamoDB: writes are made one at a time.

moto server answers requests on many threads and checks a
ConditionExpression, then writes, without a lock, so two racing conditional
writes can both succeed. On AWS a conditional write is atomic; lifeboat's
execution-name claim and run lease rely on it.
"""

import threading

from moto.dynamodb.responses import DynamoHandler

_writes = threading.Lock()


def _one_at_a_time(original):
    def write(self):
        with _writes:
            return original(self)

    return write


def install():
    for name in ["put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"]:
        setattr(DynamoHandler, name, _one_at_a_time(getattr(DynamoHandler, name)))
