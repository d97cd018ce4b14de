"""DynamoDB conditional writes are atomic, as the DynamoDB developer guide
says of condition expressions ("the write succeeds only if the condition
holds", checked and written as one): of many writers racing to claim one
item, exactly one wins (moto alone checks, then writes, without a lock)."""

from concurrent.futures import ThreadPoolExecutor


def _table(emulator, name):
    """A table keyed by the string `id`, and a client for it."""
    ddb = emulator.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb


def test_of_racing_conditional_writes_exactly_one_wins(emulator):
    _table(emulator, "claims")

    def claim(n):
        client = emulator.client("dynamodb")
        try:
            client.put_item(
                TableName="claims",
                Item={"id": {"S": "run"}, "by": {"S": str(n)}},
                ConditionExpression="attribute_not_exists(id)",
            )
            return True
        except client.exceptions.ConditionalCheckFailedException:
            return False

    with ThreadPoolExecutor(max_workers=16) as pool:
        won = list(pool.map(claim, range(32)))
    assert won.count(True) == 1, won


def test_a_transaction_whose_condition_fails_writes_nothing(emulator):
    """TransactWriteItems: all of the call's writes or none (its API reference),
    with the table backed up once per call instead of once per item."""
    ddb = _table(emulator, "apps")
    for name in ("a", "b"):
        ddb.put_item(TableName="apps", Item={"id": {"S": name}, "active": {"S": "us-east-1"}})
    move = [
        {
            "Update": {
                "TableName": "apps",
                "Key": {"id": {"S": name}},
                "UpdateExpression": "SET active = :r",
                "ExpressionAttributeValues": {":r": {"S": "us-west-2"}},
            }
        }
        for name in ("a", "b")
    ]
    refused = {
        "ConditionCheck": {
            "TableName": "apps",
            "Key": {"id": {"S": "a"}},
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }
    try:
        ddb.transact_write_items(TransactItems=[*move[1:], refused])
        raise AssertionError("the transaction should have been cancelled")
    except ddb.exceptions.TransactionCanceledException:
        pass
    active = {i["id"]["S"]: i["active"]["S"] for i in ddb.scan(TableName="apps")["Items"]}
    assert active == {"a": "us-east-1", "b": "us-east-1"}, "nothing of a cancelled transaction is written"
    ddb.transact_write_items(TransactItems=move)
    active = {i["id"]["S"]: i["active"]["S"] for i in ddb.scan(TableName="apps")["Items"]}
    assert active == {"a": "us-west-2", "b": "us-west-2"}
