"""AWS objects several unit tests share: a layer's wanted settings and how the API
describes the same object, so that each test states only what it changes."""

from __future__ import annotations

KEY = "arn:aws:kms:us-east-1:123456789012:key/abc"

# An ElastiCache replication group as the elasticache layer wants it (add description,
# cache_subnet_group_name and, for the layer's state, replication_group_id) ...
REDIS_WANTED = {
    "engine_version": "7.1",
    "cache_node_type": "cache.r6g.large",
    "num_cache_clusters": 3,
    "automatic_failover": True,
    "multi_az": True,
    "at_rest_encryption": True,
    "kms_key_id": KEY,
    "transit_encryption": True,
    "auth_token_required": True,
    "security_group_ids": ["sg-redis"],
    "cache_parameter_group_name": "",
    "snapshot_retention_limit": 7,
    "snapshot_window": "03:00-04:00",
    "preferred_maintenance_window": "sun:05:00-sun:06:00",
}


def redis_described(**fields):
    """... and as DescribeReplicationGroups answers for it (`fields` on top)."""
    return {
        "AutomaticFailover": "enabled",
        "MultiAZ": "enabled",
        "CacheNodeType": "cache.r6g.large",
        "SnapshotRetentionLimit": 7,
        "SnapshotWindow": "03:00-04:00",
        "AtRestEncryptionEnabled": True,
        "KmsKeyId": KEY,
        "TransitEncryptionEnabled": True,
        "AuthTokenEnabled": True,
        **fields,
    }
