"""aws_elasticache's effect in the scenario's moto: the Redis replication group and its cache
subnet group, as the lab's plan says (roles/aws_elasticache/defaults, inventories/lab), in the
network and with the key and AUTH secret of the prepared layers. Not here: the member count
and the members' own settings, which moto does not model (one member whatever the count,
members hidden from DescribeCacheClusters: inventories/lab/group_vars/all/aws_lab.yml)."""

from __future__ import annotations

import json

import pytest

GROUP = "tradeops-lab"


@pytest.fixture(scope="module")
def group(aws):
    return aws("elasticache").describe_replication_groups(ReplicationGroupId=GROUP)[
        "ReplicationGroups"
    ][0]


def test_redis_fails_over_automatically_across_zones(group):
    assert group["Engine"] == "redis"
    assert group["Status"] == "available"
    assert group["AutomaticFailover"] == "enabled"
    assert group["MultiAZ"] == "enabled"
    assert group["CacheNodeType"] == "cache.r6g.large"


def test_redis_is_encrypted_at_rest_with_the_data_key_and_in_transit(group, outputs):
    assert group["AtRestEncryptionEnabled"] is True
    assert group["KmsKeyId"] == outputs("security")["kms_keys"]["data"]["us-east-1"]["arn"]
    assert group["TransitEncryptionEnabled"] is True


def test_redis_requires_auth(group):
    assert group["AuthTokenEnabled"] is True


def test_daily_snapshots_kept_seven_days(group):
    assert group["SnapshotRetentionLimit"] == 7
    assert group["SnapshotWindow"] == "03:00-04:00"


def test_the_subnet_group_holds_the_database_subnets(aws, outputs):
    network = outputs("network")
    (subnets,) = aws("elasticache").describe_cache_subnet_groups(CacheSubnetGroupName=GROUP)[
        "CacheSubnetGroups"
    ]
    assert subnets["VpcId"] == network["vpc_id"]
    assert {s["SubnetIdentifier"] for s in subnets["Subnets"]} == {
        s["id"] for s in network["subnets"]["database"]
    }


def test_the_group_carries_the_standard_tags(aws, group, tags, standard_tags):
    listed = aws("elasticache").list_tags_for_resource(ResourceName=group["ARN"])
    assert set(tags({"Tags": listed["TagList"]})) >= standard_tags
    assert tags({"Tags": listed["TagList"]})["Environment"] == "lab"


def test_the_outputs_name_the_endpoint_and_hold_no_token(aws, group, outputs, ephemeral):
    saved = outputs("elasticache")
    assert saved["arn"] == group["ARN"]
    assert saved["primary_endpoint"] == group["NodeGroups"][0]["PrimaryEndpoint"]
    assert saved["auth_secret_arn"] == outputs("security")["secrets"]["redis-auth"]
    secret = aws("secretsmanager").get_secret_value(SecretId=saved["auth_secret_arn"])
    token = json.loads(secret["SecretString"])["token"]
    assert len(token) >= 16
    assert token not in (ephemeral / "aws-outputs" / "elasticache.json").read_text()
