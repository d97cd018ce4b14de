"""DynamoDB conditional writes are atomic, as the DynamoDB developer guide
says of condition expressions ("the write succeeds only if the condition
holds", checked and written as one): of many writers racing to claim one
item, exactly one wins (moto alone checks, then writes, without a lock)."""

from concurrent.futures import ThreadPoolExecutor


def test_of_racing_conditional_writes_exactly_one_wins(emulator):
    ddb = emulator.client("dynamodb")
    ddb.create_table(
        TableName="claims",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

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
