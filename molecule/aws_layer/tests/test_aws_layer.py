"""aws_layer's lifecycle, shown on the kinesis layer: after side_effect.yml drifted the
streams through the API (a retention cut, encryption stopped, a DR copy deleted), the
layer's describe reported each drift, its converge repaired them, its verify found none
left and saved the outputs, and the published outputs are what AWS holds."""

from __future__ import annotations

import json

import pytest

PREFIX = "tradeops-lab"


@pytest.fixture(scope="module")
def lifecycle(ephemeral):
    return json.loads((ephemeral / "lifecycle.json").read_text())


def _summary(aws, region, key):
    return aws("kinesis", region).describe_stream_summary(StreamName=f"{PREFIX}-{key}")[
        "StreamDescriptionSummary"
    ]


def test_describe_reported_each_drift(lifecycle):
    described = lifecycle["described"]
    assert described["converged"] is False
    found = "\n".join(described["differences"])
    assert f"stream {PREFIX}-market-data: retention is 24 h, want 168 h" in found
    assert f"stream {PREFIX}-order-events: not encrypted with alias/{PREFIX}-data" in found
    assert f"stream {PREFIX}-order-events (us-west-2) does not exist" in found


def test_verify_found_the_layer_converged(lifecycle):
    assert lifecycle["verified"] == {"converged": True, "differences": []}


def test_the_retention_cut_was_repaired(aws):
    assert _summary(aws, "us-east-1", "market-data")["RetentionPeriodHours"] == 168


def test_encryption_with_the_data_key_was_restored(aws, outputs):
    stream = _summary(aws, "us-east-1", "order-events")
    assert stream["EncryptionType"] == "KMS"
    resolved = aws("kms").describe_key(KeyId=stream["KeyId"])["KeyMetadata"]
    assert resolved["KeyId"] == outputs("security")["kms_keys"]["data"]["us-east-1"]["id"]


def test_the_deleted_dr_copy_was_recreated_encrypted(aws, outputs):
    stream = _summary(aws, "us-west-2", "order-events")
    assert stream["StreamStatus"] == "ACTIVE"
    assert stream["OpenShardCount"] == 2
    assert stream["EncryptionType"] == "KMS"
    resolved = aws("kms", "us-west-2").describe_key(KeyId=stream["KeyId"])["KeyMetadata"]
    assert resolved["KeyId"] == outputs("security")["kms_keys"]["data"]["us-west-2"]["id"]


def test_the_saved_and_published_outputs_name_the_recreated_stream(aws, outputs, lifecycle):
    arn = _summary(aws, "us-west-2", "order-events")["StreamARN"]
    saved = outputs("kinesis")
    assert saved["dr_streams"]["order-events"]["arn"] == arn
    assert lifecycle["published"] == saved
