"""aws_teardown's effect in the scenario's moto: every resource the security, dr-state and
kinesis layers built (prepare.yml kept their outputs in built/) is gone from both regions,
the data keys are scheduled for deletion, the layers' outputs files are forgotten, and the
account holds nothing else of the environment."""

from __future__ import annotations

import datetime
import json

import pytest

REGIONS = ("us-east-1", "us-west-2")
LAYERS = ("security", "dr-state", "kinesis")


@pytest.fixture(scope="module")
def built(ephemeral):
    return {
        layer: json.loads((ephemeral / "built" / f"{layer}.json").read_text()) for layer in LAYERS
    }


def test_the_layers_outputs_are_forgotten(ephemeral, built):
    assert set(built) == set(LAYERS)
    for layer in LAYERS:
        assert not (ephemeral / "aws-outputs" / f"{layer}.json").exists(), layer


def test_the_streams_are_gone_in_both_regions(aws, built):
    kinesis = built["kinesis"]
    assert len(kinesis["streams"]) == 2 and len(kinesis["dr_streams"]) == 2
    for region, streams in (
        ("us-east-1", kinesis["streams"]),
        ("us-west-2", kinesis["dr_streams"]),
    ):
        names = aws("kinesis", region).list_streams()["StreamNames"]
        assert not [s["name"] for s in streams.values() if s["name"] in names], region
        assert names == [], region


def test_the_dr_state_records_are_gone_in_both_regions(aws, built):
    assert sorted(built["dr-state"]["regions"]) == list(REGIONS)
    for region in REGIONS:
        assert aws("ssm", region).describe_parameters()["Parameters"] == [], region


def test_the_secrets_and_their_replicas_are_gone(aws, built):
    assert len(built["security"]["secrets"]) == 2
    for region in REGIONS:
        assert aws("secretsmanager", region).list_secrets()["SecretList"] == [], region


def test_the_iam_roles_and_instance_profiles_are_gone(aws, built):
    iam = aws("iam")
    assert len(built["security"]["iam_roles"]) == 5
    assert iam.list_roles()["Roles"] == []
    assert iam.list_instance_profiles()["InstanceProfiles"] == []


@pytest.mark.parametrize("region", REGIONS)
def test_the_data_keys_are_scheduled_for_deletion_in_7_days(aws, built, region):
    kms = aws("kms", region)
    key = built["security"]["kms_keys"]["data"][region]
    meta = kms.describe_key(KeyId=key["id"])["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    days = (meta["DeletionDate"] - datetime.datetime.now(datetime.UTC)).days
    assert 6 <= days <= 7
    # no customer key of the region is left usable
    states = {
        kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]
        for k in kms.list_keys()["Keys"]
    }
    assert states == {"PendingDeletion"}
