"""DynamoDB global tables, as "How DynamoDB global tables work" and the
UpdateTable API reference describe them: an eventually consistent global
table replicates after a delay and resolves conflicts last writer wins, each
Region checking conditions on its own replica; a multi-Region strongly
consistent one (three Regions of one set, or two and a witness, created
empty) checks a condition across Regions, and refuses a write to an item
another Region is writing with ReplicatedWriteConflictException."""

import time

import pytest
from botocore.exceptions import ClientError


def _table(emulator, name, region="us-west-2"):
    ddb = emulator.client("dynamodb", region=region)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb


def _claim(client, table, who):
    try:
        client.put_item(
            TableName=table,
            Item={"id": {"S": "lease"}, "holder": {"S": who}},
            ConditionExpression="attribute_not_exists(id)",
        )
        return True
    except ClientError as e:
        return e.response["Error"]["Code"]


def _holder(client, table):
    item = client.get_item(TableName=table, Key={"id": {"S": "lease"}}, ConsistentRead=True).get("Item")
    return item and item["holder"]["S"]


def test_an_eventual_global_table_lets_both_regions_win_and_keeps_the_last_writer(emulator):
    west = _table(emulator, "mrec")
    west.put_item(TableName="mrec", Item={"id": {"S": "before"}})
    west.update_table(TableName="mrec", ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}])
    east = emulator.client("dynamodb", region="us-east-1")
    assert east.get_item(TableName="mrec", Key={"id": {"S": "before"}}).get("Item"), "items copied"
    described = east.describe_table(TableName="mrec")["Table"]
    assert {r["RegionName"] for r in described["Replicas"]} == {"us-east-1", "us-west-2"}
    assert described["MultiRegionConsistency"] == "EVENTUAL"

    # Both conditions are checked on their own replica: both claims succeed.
    assert _claim(west, "mrec", "west") is True
    assert _claim(east, "mrec", "east") is True
    assert (_holder(west, "mrec"), _holder(east, "mrec")) == ("west", "east"), "not replicated yet"
    time.sleep(1.0)
    # Last writer wins in both replicas.
    assert (_holder(west, "mrec"), _holder(east, "mrec")) == ("east", "east")


def test_a_strongly_consistent_global_table_lets_one_region_win(emulator):
    west = _table(emulator, "mrsc")
    west.update_table(
        TableName="mrsc",
        ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}],
        GlobalTableWitnessUpdates=[{"Create": {"RegionName": "us-east-2"}}],
        MultiRegionConsistency="STRONG",
    )
    east = emulator.client("dynamodb", region="us-east-1")
    described = east.describe_table(TableName="mrsc")["Table"]
    assert described["MultiRegionConsistency"] == "STRONG"
    assert described["GlobalTableWitnesses"][0]["RegionName"] == "us-east-2"

    assert _claim(west, "mrsc", "west") is True
    # At once, from the other Region: another Region is writing the item.
    assert _claim(east, "mrsc", "east") == "ReplicatedWriteConflictException"
    time.sleep(0.1)
    # Retried: the condition is checked against the write in us-west-2.
    assert _claim(east, "mrsc", "east") == "ConditionalCheckFailedException"
    assert (_holder(west, "mrsc"), _holder(east, "mrsc")) == ("west", "west"), "read in either Region"
    west.delete_item(TableName="mrsc", Key={"id": {"S": "lease"}})
    assert _holder(east, "mrsc") is None, "a delete is strongly consistent too"


@pytest.mark.parametrize(
    ("replicas", "witnesses", "why"),
    [
        (["us-east-1"], [], "exactly three Regions"),
        (["eu-west-1"], ["us-east-2"], "one Region set"),
    ],
)
def test_strong_consistency_needs_three_regions_of_one_set(emulator, replicas, witnesses, why):
    west = _table(emulator, "bad")
    asked = {"ReplicaUpdates": [{"Create": {"RegionName": r}} for r in replicas]}
    if witnesses:
        asked["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": w}} for w in witnesses]
    with pytest.raises(ClientError) as e:
        west.update_table(TableName="bad", MultiRegionConsistency="STRONG", **asked)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert why in e.value.response["Error"]["Message"]


def test_strong_consistency_needs_an_empty_table(emulator):
    west = _table(emulator, "full")
    west.put_item(TableName="full", Item={"id": {"S": "x"}})
    with pytest.raises(ClientError) as e:
        west.update_table(
            TableName="full",
            ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}],
            GlobalTableWitnessUpdates=[{"Create": {"RegionName": "us-east-2"}}],
            MultiRegionConsistency="STRONG",
        )
    assert "must be empty" in e.value.response["Error"]["Message"]
