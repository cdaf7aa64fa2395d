"""Unit tests for the EKS and ElastiCache comparison logic (aws_eks, aws_elasticache)."""

from __future__ import annotations

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks import (
    cluster_differences,
    enabled_log_types,
    logging_payload,
    nodegroup_differences,
    scaling_errors,
    version_step,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_elasticache import (
    replication_group_differences,
    settings_errors,
)

from .aws_samples import KEY, REDIS_WANTED, redis_described


@pytest.mark.parametrize(
    ("current", "desired", "action"),
    [
        ("1.35", "1.35", None),
        ("1.34", "1.35", "upgrade"),
        ("1.33", "1.35", "refuse"),
        ("1.35", "1.34", "refuse"),
        ("1.35", "2.0", "refuse"),
        ("latest", "1.35", "refuse"),
    ],
)
def test_version_step_one_minor_up_only(current, desired, action):
    assert version_step(current, desired)[0] == action


def test_skipping_a_minor_names_the_next_one():
    assert "set 1.34 first" in version_step("1.33", "1.35")[1]


def test_logging_payload_round_trips_and_disables_the_rest():
    payload = logging_payload(["audit", "api"])
    assert enabled_log_types({"logging": payload}) == ["api", "audit"]
    disabled = next(e for e in payload["clusterLogging"] if not e["enabled"])["types"]
    assert disabled == ["authenticator", "controllerManager", "scheduler"]


def _cluster(**over):
    base = {
        "version": "1.35",
        "roleArn": "arn:role/cluster",
        "resourcesVpcConfig": {
            "subnetIds": ["s-1", "s-2"],
            "securityGroupIds": ["sg-1"],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
        },
        "logging": logging_payload(["api", "audit"]),
        "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KEY}}],
    }
    base.update(over)
    return base


DESIRED_CLUSTER = {
    "version": "1.35",
    "role_arn": "arn:role/cluster",
    "subnet_ids": ["s-2", "s-1"],
    "security_group_ids": ["sg-1"],
    "endpoint_private_access": True,
    "endpoint_public_access": False,
    "public_access_cidrs": [],
    "logging_types": ["audit", "api"],
    "secrets_kms_key_arn": KEY,
}


def test_converged_cluster_has_no_differences():
    assert cluster_differences(_cluster(), DESIRED_CLUSTER) == []


def test_cluster_differences_are_classified():
    current = _cluster(version="1.34", logging=logging_payload(["api"]), encryptionConfig=[])
    current["resourcesVpcConfig"]["endpointPublicAccess"] = True
    kinds = [kind for kind, _detail in cluster_differences(current, DESIRED_CLUSTER)]
    assert kinds == ["version", "endpoint", "logging", "encryption"]


def test_cluster_subnets_and_role_are_immutable():
    current = _cluster(roleArn="arn:role/other")
    current["resourcesVpcConfig"]["subnetIds"] = ["s-9"]
    kinds = {kind for kind, _detail in cluster_differences(current, DESIRED_CLUSTER)}
    assert kinds == {"immutable"}


DESIRED_GROUP = {
    "min_size": 3,
    "max_size": 10,
    "desired_size": 3,
    "labels": {"workload": "general"},
    "max_unavailable": 1,
    "instance_types": ["t3.xlarge"],
    "capacity_type": "ON_DEMAND",
    "ami_type": "AL2023_x86_64_STANDARD",
    "disk_size": 100,
    "subnet_ids": ["s-1", "s-2"],
    "node_role_arn": "arn:role/nodes",
}


def _group(**over):
    base = {
        "scalingConfig": {"minSize": 3, "maxSize": 10, "desiredSize": 3},
        "labels": {"workload": "general"},
        "updateConfig": {"maxUnavailable": 1},
        "instanceTypes": ["t3.xlarge"],
        "capacityType": "ON_DEMAND",
        "amiType": "AL2023_x86_64_STANDARD",
        "diskSize": 100,
        "subnets": ["s-2", "s-1"],
        "nodeRole": "arn:role/nodes",
    }
    base.update(over)
    return base


def test_converged_node_group():
    assert nodegroup_differences(_group(), DESIRED_GROUP) == ({}, [], [])


def test_scaling_is_one_config_update():
    update, messages, immutable = nodegroup_differences(
        _group(), dict(DESIRED_GROUP, desired_size=5)
    )
    assert update == {"scalingConfig": {"minSize": 3, "maxSize": 10, "desiredSize": 5}}
    assert "3/10/3, want 3/10/5" in messages[0]
    assert immutable == []


def test_missing_update_config_is_filled_in_and_labels_are_diffed():
    current = _group(labels={"workload": "old", "stale": "x"})
    del current["updateConfig"]
    update, _messages, _immutable = nodegroup_differences(current, DESIRED_GROUP)
    assert update["updateConfig"] == {"maxUnavailable": 1}
    assert update["labels"] == {
        "addOrUpdateLabels": {"workload": "general"},
        "removeLabels": ["stale"],
    }


def test_instance_type_change_needs_a_new_group():
    _update, _messages, immutable = nodegroup_differences(
        _group(instanceTypes=["m5.large"], capacityType="SPOT"), DESIRED_GROUP
    )
    assert len(immutable) == 2


@pytest.mark.parametrize(
    ("sizes", "ok"),
    [((3, 10, 3), True), ((0, 1, 0), True), ((3, 10, 2), False), ((0, 0, 0), False)],
)
def test_scaling_errors(sizes, ok):
    min_size, max_size, desired = sizes
    assert (scaling_errors(min_size, max_size, desired) == []) is ok


DESIRED_REDIS = dict(
    REDIS_WANTED, description="tradeops lab Redis", cache_subnet_group_name="tradeops-lab"
)


def _redis(**over):
    members = {"Description": "tradeops lab Redis", "MemberClusters": ["g-001", "g-002", "g-003"]}
    return redis_described(**dict(members, **over))


MEMBER = {
    "EngineVersion": "7.1",
    "CacheParameterGroup": {"CacheParameterGroupName": "default.redis7"},
    "SecurityGroups": [{"SecurityGroupId": "sg-redis"}],
    "CacheSubnetGroupName": "tradeops-lab",
    "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
}


def test_converged_replication_group():
    assert replication_group_differences(_redis(), DESIRED_REDIS, MEMBER) == ({}, 0, [], [])


def test_replication_group_modifications_and_replicas():
    modify, replicas, _messages, immutable = replication_group_differences(
        _redis(MemberClusters=["g-001"], CacheNodeType="cache.r6g.medium", AuthTokenEnabled=False),
        DESIRED_REDIS,
        dict(MEMBER, EngineVersion="7.0"),
    )
    assert modify == {
        "CacheNodeType": "cache.r6g.large",
        "AuthTokenUpdateStrategy": "SET",
        "EngineVersion": "7.1",
    }
    assert "AuthToken" not in modify  # the token itself is never part of a comparison
    assert replicas == 2
    assert immutable == []


def test_member_count_is_ignored_when_not_strict():
    _modify, replicas, messages, _immutable = replication_group_differences(
        _redis(MemberClusters=["g-001"]), DESIRED_REDIS, None, strict_member_count=False
    )
    assert (replicas, messages) == (0, [])


def test_encryption_at_rest_is_immutable():
    _modify, _replicas, _messages, immutable = replication_group_differences(
        _redis(AtRestEncryptionEnabled=False), DESIRED_REDIS
    )
    assert immutable and "created" in immutable[0]


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"num_cache_clusters": 1}, "at least one replica"),
        ({"multi_az": True, "automatic_failover": False}, "Multi-AZ needs automatic failover"),
        ({"snapshot_retention_limit": 40}, "0 to 35"),
        ({"auth_token": "short"}, "16 to 128"),
        ({"auth_token": "a" * 20 + "@"}, "without @"),
        ({"auth_token": "a" * 20, "transit_encryption": False}, "needs encryption in transit"),
    ],
)
def test_settings_errors(over, needle):
    errors = settings_errors(dict(DESIRED_REDIS, **over))
    assert any(needle in e for e in errors), errors


def test_valid_settings():
    assert settings_errors(dict(DESIRED_REDIS, auth_token="A" * 40)) == []
