"""Unit tests for the RDS and ElastiCache layer state functions (aws_state) on fake clients."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import (
    elasticache_state,
    rds_state,
)
from botocore.exceptions import ClientError

from .aws_samples import KEY, REDIS_WANTED, redis_described

TAGS = {"Environment": "lab", "Project": "tradeops", "ManagedBy": "ansible", "CostCenter": "t"}
TAG_LIST = [{"Key": k, "Value": v} for k, v in TAGS.items()]
DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/def"
PRIMARY_ARN = "arn:aws:rds:us-east-1:123456789012:db:pg"


def _missing(op):
    return ClientError({"Error": {"Code": "NotFound", "Message": "missing"}}, op)


class FakeRds:
    def __init__(self, instances, subnet_groups=None):
        self.instances = instances
        self.subnet_groups = subnet_groups or {}

    def describe_db_instances(self, DBInstanceIdentifier):
        if DBInstanceIdentifier not in self.instances:
            raise _missing("DescribeDBInstances")
        return {"DBInstances": [self.instances[DBInstanceIdentifier]]}

    def describe_db_subnet_groups(self, DBSubnetGroupName):
        if DBSubnetGroupName not in self.subnet_groups:
            raise _missing("DescribeDBSubnetGroups")
        return {"DBSubnetGroups": [self.subnet_groups[DBSubnetGroupName]]}

    def list_tags_for_resource(self, ResourceName):
        return {"TagList": TAG_LIST}


def _instance(identifier, **over):
    base = {
        "DBInstanceIdentifier": identifier,
        "DBInstanceArn": f"arn:aws:rds:us-east-1:123456789012:db:{identifier}",
        "Endpoint": {"Address": f"{identifier}.example", "Port": 5432},
        "Engine": "postgres",
        "EngineVersion": "16.8",
        "DBInstanceClass": "db.r6i.xlarge",
        "StorageEncrypted": True,
        "KmsKeyId": KEY,
        "PubliclyAccessible": False,
        "MonitoringInterval": 60,
        "DeletionProtection": False,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-rds"}],
        "MultiAZ": True,
        "AllocatedStorage": 400,
        "MaxAllocatedStorage": 1000,
        "StorageType": "gp3",
        "Iops": 12000,
        "StorageThroughput": 500,
        "BackupRetentionPeriod": 30,
        "PreferredBackupWindow": "03:00-04:00",
        "PreferredMaintenanceWindow": "mon:04:30-mon:05:30",
        "DBSubnetGroup": {"DBSubnetGroupName": "pg"},
        "CopyTagsToSnapshot": True,
        "EnabledCloudwatchLogsExports": ["upgrade", "postgresql"],
        "TagList": TAG_LIST,
    }
    base.update(over)
    return base


COMMON = {
    "kms_key_arn": KEY,
    "monitoring_interval": 60,
    "deletion_protection": False,
    "performance_insights": True,
    "security_group_ids": ["sg-rds"],
}
SPEC = {
    "tags": TAGS,
    "region": "us-east-1",
    "subnet_group": {"name": "pg", "subnet_ids": ["s-2", "s-1"]},
    "parameter_group": None,
    "primary": dict(
        COMMON,
        identifier="pg",
        engine_version="16.8",
        instance_class="db.r6i.xlarge",
        allocated_storage=400,
        max_allocated_storage=1000,
        storage_type="gp3",
        iops=12000,
        storage_throughput=500,
        multi_az=True,
        backup_retention=30,
        backup_window="03:00-04:00",
        maintenance_window="Mon:04:30-Mon:05:30",
        cloudwatch_logs_exports=["postgresql", "upgrade"],
    ),
    "replicas": [
        dict(
            COMMON,
            key="replica-1",
            identifier="pg-replica-1",
            region="us-east-1",
            instance_class="db.r6i.xlarge",
        ),
        dict(
            COMMON,
            key="dr",
            identifier="pg-dr",
            region="us-west-2",
            kms_key_arn=DR_KEY,
            instance_class="db.r6i.xlarge",
        ),
    ],
    "master_secret_arn": "arn:secret",
    "check_performance_insights": False,
}


def _world(**primary_over):
    east = FakeRds(
        {
            "pg": _instance("pg", **primary_over),
            "pg-replica-1": _instance(
                "pg-replica-1", MultiAZ=False, ReadReplicaSourceDBInstanceIdentifier="pg"
            ),
        },
        {"pg": {"Subnets": [{"SubnetIdentifier": "s-1"}, {"SubnetIdentifier": "s-2"}]}},
    )
    west = FakeRds(
        {
            "pg-dr": _instance(
                "pg-dr", KmsKeyId=DR_KEY, ReadReplicaSourceDBInstanceIdentifier=PRIMARY_ARN
            )
        }
    )

    def clients(service, region="us-east-1"):
        assert service == "rds"
        return west if region == "us-west-2" else east

    return clients


def test_converged_rds_layer_and_its_outputs():
    differences, outputs = rds_state(_world(), SPEC)
    assert differences == []
    assert outputs["primary"]["address"] == "pg.example"
    assert outputs["replicas"]["dr"]["region"] == "us-west-2"
    assert outputs["subnet_group"] == "pg"


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"BackupRetentionPeriod": 7}, "backup retention is 7, want 30"),
        ({"MultiAZ": False}, "Multi-AZ is False, want True"),
        ({"StorageEncrypted": False}, "storage encrypted is False"),
        ({"EngineVersion": "15.9"}, "engine version"),
        ({"EngineVersion": "16.3"}, "engine version"),
        ({"AllocatedStorage": 200}, "allocated storage"),
        ({"PubliclyAccessible": True}, "publicly accessible is True"),
        ({"TagList": TAG_LIST[:2]}, "tags differ"),
    ],
)
def test_primary_differences_are_reported(over, needle):
    differences, _outputs = rds_state(_world(**over), SPEC)
    assert any(needle in d for d in differences), differences


@pytest.mark.parametrize(
    "over",
    [
        {"EngineVersion": "16.10"},  # a newer minor, from the maintenance window
        {"AllocatedStorage": 600},  # storage autoscaling grew it
    ],
)
def test_what_aws_does_by_itself_is_not_drift(over):
    assert rds_state(_world(**over), SPEC)[0] == []


def test_performance_insights_is_compared_unless_switched_off():
    spec = copy.deepcopy(SPEC)
    spec["check_performance_insights"] = True
    differences, _outputs = rds_state(_world(PerformanceInsightsEnabled=True), spec)
    # The replicas report no Performance Insights in this fake world.
    assert [d for d in differences if "Performance Insights" in d]
    assert not [d for d in differences if d.startswith("DB instance pg:")]


def test_missing_replica_and_wrong_source():
    clients = _world()
    clients("rds", "us-west-2").instances.clear()
    clients("rds").instances["pg-replica-1"]["ReadReplicaSourceDBInstanceIdentifier"] = "other"
    differences, outputs = rds_state(clients, SPEC)
    assert "read replica pg-dr (us-west-2) does not exist" in differences
    assert any("replicates other" in d for d in differences)
    assert "dr" not in outputs["replicas"]


def test_missing_primary_stops_the_comparison():
    clients = _world()
    clients("rds").instances.clear()
    differences, outputs = rds_state(clients, SPEC)
    assert differences == ["DB instance pg does not exist"]
    assert "primary" not in outputs


class FakeElastiCache:
    def __init__(self, group):
        self.group = group

    def describe_cache_subnet_groups(self, CacheSubnetGroupName):
        return {
            "CacheSubnetGroups": [
                {"Subnets": [{"SubnetIdentifier": "s-1"}, {"SubnetIdentifier": "s-2"}]}
            ]
        }

    def describe_replication_groups(self, ReplicationGroupId):
        if self.group is None:
            raise _missing("DescribeReplicationGroups")
        return {"ReplicationGroups": [self.group]}

    def describe_cache_clusters(self, CacheClusterId):
        raise _missing("DescribeCacheClusters")  # as moto: members are invisible

    def list_tags_for_resource(self, ResourceName):
        return {"TagList": TAG_LIST}


REDIS = dict(
    REDIS_WANTED,
    replication_group_id="rg",
    description="Redis",
    cache_subnet_group_name="rg",
)


def _group(**over):
    described = {
        "ReplicationGroupId": "rg",
        "ARN": "arn:rg",
        "Description": "Redis",
        "Status": "available",
        "MemberClusters": ["rg-001"],
        "NodeGroups": [{"PrimaryEndpoint": {"Address": "rg.example", "Port": 6379}}],
    }
    return redis_described(**dict(described, **over))


def _redis_spec(strict, describe_members=False):
    """describe_members false: the lab's switch (moto hides the members)."""
    return {
        "tags": TAGS,
        "subnet_group": {"name": "rg", "subnet_ids": ["s-2", "s-1"]},
        "replication_group": REDIS,
        "auth_secret_arn": "arn:secret",
        "strict_member_count": strict,
        "describe_members": describe_members,
    }


def test_redis_converged_when_member_count_is_not_strict():
    differences, outputs = elasticache_state(
        lambda s: FakeElastiCache(_group()), _redis_spec(False)
    )
    assert differences == []
    assert outputs["primary_endpoint"]["Port"] == 6379
    assert "auth_token" not in str(outputs).lower().replace("auth_secret_arn", "")


def test_redis_member_count_counts_when_strict():
    differences, _outputs = elasticache_state(
        lambda s: FakeElastiCache(_group()), _redis_spec(True)
    )
    assert differences == ["replication group rg: 1 member clusters, want 3"]


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"AuthTokenEnabled": False}, "AUTH is not enabled"),
        ({"AutomaticFailover": "disabled"}, "automatic failover is False"),
        ({"AtRestEncryptionEnabled": False}, "encryption at rest"),
        ({"Status": "create-failed"}, "is create-failed"),
    ],
)
def test_redis_differences(over, needle):
    differences, _outputs = elasticache_state(
        lambda s: FakeElastiCache(_group(**over)), _redis_spec(False)
    )
    assert any(needle in d for d in differences), differences


def test_missing_redis_group():
    differences, outputs = elasticache_state(lambda s: FakeElastiCache(None), _redis_spec(False))
    assert differences == ["replication group rg does not exist"]
    assert outputs == {"subnet_group": "rg"}


def test_primary_extra_tags_are_compared_on_the_primary_only():
    """The primary carries Backup=true for the AWS Backup selection; replicas do not."""
    spec = dict(SPEC, primary=dict(SPEC["primary"], tags=dict(TAGS, Backup="true")))
    differences, _outputs = rds_state(_world(), spec)
    assert len(differences) == 1 and "DB instance pg" in differences[0], differences
    assert "tags differ" in differences[0]
    tagged = [*TAG_LIST, {"Key": "Backup", "Value": "true"}]
    differences, _outputs = rds_state(_world(TagList=tagged), spec)
    assert differences == []


def test_redis_member_describe_error_is_an_error_in_production():
    """Production describes the first member; an error doing so fails the layer (it used to
    skip the engine-version, security-group and parameter-group checks silently)."""
    with pytest.raises(ClientError):
        elasticache_state(lambda s: FakeElastiCache(_group()), _redis_spec(False, True))


def test_redis_member_is_not_described_with_the_lab_switch():
    calls = []

    class Counting(FakeElastiCache):
        def describe_cache_clusters(self, CacheClusterId):
            calls.append(CacheClusterId)
            return super().describe_cache_clusters(CacheClusterId)

    differences, _outputs = elasticache_state(lambda s: Counting(_group()), _redis_spec(False))
    assert (differences, calls) == ([], [])
