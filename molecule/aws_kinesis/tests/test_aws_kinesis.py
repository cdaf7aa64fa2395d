"""aws_kinesis's effect in the scenario's moto: the lab's streams in the region and their
DR copies, each with its shards and retention, the standard tags, and KMS encryption with
the data key of its own region (the security layer's, built by prepare.yml)."""

from __future__ import annotations

import pytest

STREAMS = {"market-data": 4, "order-events": 2}
PLACES = [(region, key) for region in ("us-east-1", "us-west-2") for key in STREAMS]


def _summary(aws, region, key):
    return aws("kinesis", region).describe_stream_summary(StreamName=f"tradeops-lab-{key}")[
        "StreamDescriptionSummary"
    ]


@pytest.mark.parametrize(("region", "key"), PLACES)
def test_stream_is_active_with_its_shards_and_retention(aws, region, key):
    stream = _summary(aws, region, key)
    assert stream["StreamStatus"] == "ACTIVE"
    assert stream["OpenShardCount"] == STREAMS[key]
    assert stream["RetentionPeriodHours"] == 168


@pytest.mark.parametrize(("region", "key"), PLACES)
def test_stream_is_encrypted_with_its_regions_data_key(aws, outputs, region, key):
    stream = _summary(aws, region, key)
    data_key = outputs("security")["kms_keys"]["data"][region]
    assert stream["EncryptionType"] == "KMS"
    assert stream["KeyId"] in ("alias/tradeops-lab-data", data_key["id"], data_key["arn"])
    # the key it names is this region's (an alias resolves per region)
    resolved = aws("kms", region).describe_key(KeyId=stream["KeyId"])["KeyMetadata"]
    assert resolved["KeyId"] == data_key["id"]


@pytest.mark.parametrize(("region", "key"), PLACES)
def test_stream_carries_the_standard_tags(aws, tags, region, key, standard_tags):
    listed = aws("kinesis", region).list_tags_for_stream(StreamName=f"tradeops-lab-{key}")
    assert set(tags(listed)) >= standard_tags
    assert tags(listed)["Environment"] == "lab"


def test_no_other_stream_and_the_outputs_name_them(aws, outputs):
    saved = outputs("kinesis")
    assert saved["dr_region"] == "us-west-2"
    for region, streams in (("us-east-1", saved["streams"]), ("us-west-2", saved["dr_streams"])):
        names = aws("kinesis", region).list_streams()["StreamNames"]
        assert sorted(names) == [f"tradeops-lab-{key}" for key in sorted(STREAMS)]
        for key in STREAMS:
            assert streams[key]["arn"] == _summary(aws, region, key)["StreamARN"]
