"""AssumeRole across accounts as the AssumeRole API reference and IAM's
external-id guide say (sts.py): the role must exist and trust the caller's
account, with the ExternalId its trust policy asks for, or AccessDenied; an
assumed role's calls land in its account, whose quota buckets are its own."""

import botocore.exceptions
import pytest

ROLE = "arn:aws:iam::222233334444:role/lifeboat-member"


def _member_role(emulator, external_id="lifeboat"):
    emulator.control(
        "/lifeboat-emulator/sts/roles",
        {"role_arn": ROLE, "trusted_account": "123456789012", "external_id": external_id},
    )


def _denied(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert ROLE in e.value.response["Error"]["Message"]


def _as_member(emulator, session="lifeboat"):
    creds = emulator.client("sts").assume_role(RoleArn=ROLE, RoleSessionName=session, ExternalId="lifeboat")[
        "Credentials"
    ]
    import boto3

    return boto3.client(
        "route53",
        region_name="us-west-2",
        endpoint_url=emulator.endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=boto3.session.Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_a_role_that_does_not_exist_or_another_external_id_is_access_denied(emulator):
    emulator.reset()
    sts = emulator.client("sts")
    _denied(lambda: sts.assume_role(RoleArn=ROLE, RoleSessionName="ss", ExternalId="lifeboat"))
    _member_role(emulator)
    _denied(lambda: sts.assume_role(RoleArn=ROLE, RoleSessionName="ss", ExternalId="guess"))
    _denied(lambda: sts.assume_role(RoleArn=ROLE, RoleSessionName="ss"))
    # A role that trusts another account is not the caller's to assume.
    emulator.control(
        "/lifeboat-emulator/sts/roles",
        {"role_arn": ROLE, "trusted_account": "999999999999", "external_id": "lifeboat"},
    )
    _denied(lambda: sts.assume_role(RoleArn=ROLE, RoleSessionName="ss", ExternalId="lifeboat"))


def test_the_role_s_calls_land_in_its_account(emulator):
    emulator.reset()
    _member_role(emulator)
    member = _as_member(emulator)
    member.create_hosted_zone(Name="member.example.", CallerReference="m-1")
    home = emulator.client("route53")
    assert [z["Name"] for z in member.list_hosted_zones()["HostedZones"]] == ["member.example."]
    assert home.list_hosted_zones()["HostedZones"] == []


def test_a_member_account_has_its_own_buckets_and_a_setup_session_none(quota_emulator):
    emulator = quota_emulator
    emulator.reset()
    _member_role(emulator)
    zone = emulator.client("route53", key="setup").create_hosted_zone(Name="z.example.", CallerReference="z-1")
    zone_id = zone["HostedZone"]["Id"]
    home = emulator.client("route53")
    # The home account's bucket of 50 emptied...
    for _ in range(60):
        try:
            home.get_hosted_zone(Id=zone_id)
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "Throttling"
            break
    else:
        pytest.fail("the home account was never throttled")
    # ...leaves the member's own bucket full.
    member = _as_member(emulator)
    for _ in range(20):
        member.list_hosted_zones()
    setup = _as_member(emulator, session="setup")
    for _ in range(80):
        setup.list_hosted_zones()
