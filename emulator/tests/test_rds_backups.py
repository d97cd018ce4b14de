"""Replicated automated backups, found as the DescribeDBInstanceAutomatedBackups
API reference says: DBInstanceIdentifier "must match the identifier of an
existing DB instance" (the destination Region has none); the filters
db-instance-id (identifiers and ARNs) and dbi-resource-id, and DbiResourceId,
find a replicated backup by its source (cross-Region automated backup
replication, RDS user guide). The KmsKeyId StartDBInstanceAutomatedBackupsReplication
is given encrypts the replicas (its API reference) and is the backup's KmsKeyId."""

import pytest


def _source_with_backups_in_west(emulator, name="orders-use1", **replication):
    east, west = emulator.client("rds", region="us-east-1"), emulator.client("rds")
    source = east.create_db_instance(
        DBInstanceIdentifier=name,
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-123",
        BackupRetentionPeriod=7,
        StorageEncrypted="KmsKeyId" in replication,
    )["DBInstance"]
    west.start_db_instance_automated_backups_replication(SourceDBInstanceArn=source["DBInstanceArn"], **replication)
    return source, west


def test_a_replicated_backup_is_found_by_its_sources_arn_or_resource_id(emulator):
    source, west = _source_with_backups_in_west(emulator)
    by_arn = west.describe_db_instance_automated_backups(
        Filters=[{"Name": "db-instance-id", "Values": [source["DBInstanceArn"]]}]
    )["DBInstanceAutomatedBackups"]
    assert [b["DBInstanceArn"] for b in by_arn] == [source["DBInstanceArn"]]
    assert by_arn[0]["Region"] == "us-east-1"
    assert by_arn[0]["RestoreWindow"]["LatestTime"]
    by_resource = west.describe_db_instance_automated_backups(DbiResourceId=source["DbiResourceId"])
    assert len(by_resource["DBInstanceAutomatedBackups"]) == 1
    other = west.describe_db_instance_automated_backups(
        Filters=[{"Name": "db-instance-id", "Values": ["arn:aws:rds:us-east-1:123456789012:db:someone-else"]}]
    )
    assert other["DBInstanceAutomatedBackups"] == []


def test_db_instance_identifier_must_name_an_instance_of_the_region_asked(emulator):
    _, west = _source_with_backups_in_west(emulator)
    with pytest.raises(west.exceptions.ClientError) as e:
        west.describe_db_instance_automated_backups(DBInstanceIdentifier="orders-use1")
    assert e.value.response["Error"]["Code"] == "DBInstanceAutomatedBackupNotFound"


def test_the_replicas_kms_key_is_the_one_replication_was_started_with(emulator):
    key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    source, west = _source_with_backups_in_west(emulator, name="ledger-use1", KmsKeyId=key)
    found = west.describe_db_instance_automated_backups(DbiResourceId=source["DbiResourceId"])
    assert found["DBInstanceAutomatedBackups"][0]["KmsKeyId"] == key
