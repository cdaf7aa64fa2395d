# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ElastiCache Redis replication group: what differs between AWS and the desired state.

Pure functions (no boto3), shared by the module ``aws_elasticache_replication_group`` and
the layer state function. Desired states use the module option names; ``current`` is one
entry of DescribeReplicationGroups and ``member`` (optional) one DescribeCacheClusters entry
of a member cluster: engine version, security groups, subnet group, parameter group and port
are only reported per member, not on the group.
"""

from __future__ import annotations


def _key_matches(have, want):
    """A KMS key given as ARN, key id or alias ARN matches what AWS reports (an ARN)."""
    if not want:
        return True
    have = str(have or "")
    return have == want or have.endswith("/" + want.rsplit("/", 1)[-1]) or want.endswith(have)


def default_parameter_group(engine_version):
    """ElastiCache's default parameter group of a Redis version (cluster mode disabled):
    default.redis7 for 7.x, default.redis6.x for 6.x, default.redis5.0 for 5.0.x."""
    parts = str(engine_version).split(".")
    if parts[0] == "6":
        return "default.redis6.x"
    if int(parts[0]) < 6 and len(parts) > 1:
        return f"default.redis{parts[0]}.{parts[1]}"
    return f"default.redis{parts[0]}"


def replication_group_differences(current, desired, member=None, strict_member_count=True):
    """Differences of an existing replication group from the desired one.

    Returns ``(modify, replicas, messages, immutable)``:

    * ``modify``: keyword arguments of ModifyReplicationGroup (empty when nothing to modify);
    * ``replicas``: how many replicas to add (> 0) or remove (< 0);
    * ``messages``: what differs, one sentence each;
    * ``immutable``: what only a new group can change (encryption at rest, its key, the
      subnet group, the engine).
    """
    modify = {}
    messages = []
    immutable = []

    def want(field, have, wanted, arg, value=None):
        if have != wanted:
            modify[arg] = wanted if value is None else value
            messages.append(f"{field} is {have}, want {wanted}")

    want(
        "automatic failover",
        current.get("AutomaticFailover") in ("enabled", "enabling"),
        bool(desired["automatic_failover"]),
        "AutomaticFailoverEnabled",
    )
    want(
        "Multi-AZ",
        current.get("MultiAZ") == "enabled",
        bool(desired["multi_az"]),
        "MultiAZEnabled",
    )
    want("node type", current.get("CacheNodeType"), desired["cache_node_type"], "CacheNodeType")
    want(
        "snapshot retention",
        current.get("SnapshotRetentionLimit"),
        int(desired["snapshot_retention_limit"]),
        "SnapshotRetentionLimit",
    )
    if desired.get("snapshot_window"):
        want(
            "snapshot window",
            current.get("SnapshotWindow"),
            desired["snapshot_window"],
            "SnapshotWindow",
        )
    if desired.get("description") and current.get("Description") != desired["description"]:
        want(
            "description",
            current.get("Description"),
            desired["description"],
            "ReplicationGroupDescription",
        )
    if bool(current.get("AtRestEncryptionEnabled")) != bool(desired["at_rest_encryption"]):
        immutable.append("encryption at rest can only be chosen when the group is created")
    elif desired["at_rest_encryption"] and not _key_matches(
        current.get("KmsKeyId"), desired.get("kms_key_id")
    ):
        immutable.append(f"KMS key is {current.get('KmsKeyId')}, want {desired.get('kms_key_id')}")
    if bool(current.get("TransitEncryptionEnabled")) != bool(desired["transit_encryption"]):
        want(
            "encryption in transit",
            bool(current.get("TransitEncryptionEnabled")),
            bool(desired["transit_encryption"]),
            "TransitEncryptionEnabled",
        )
    if desired.get("auth_token_required") and not current.get("AuthTokenEnabled"):
        # The caller adds AuthToken (the token itself is never part of a comparison).
        modify["AuthTokenUpdateStrategy"] = "SET"
        messages.append("AUTH is not enabled")

    if member:
        want(
            "engine version",
            member.get("EngineVersion"),
            desired["engine_version"],
            "EngineVersion",
        )
        have_sgs = sorted(g.get("SecurityGroupId") for g in member.get("SecurityGroups", []))
        want_sgs = sorted(desired.get("security_group_ids") or [])
        if have_sgs != want_sgs:
            want("security groups", have_sgs, want_sgs, "SecurityGroupIds")
        # No name: the engine's default group, which a hand-attached group is drift from.
        have_pg = (member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName")
        want(
            "parameter group",
            have_pg,
            desired.get("cache_parameter_group_name")
            or default_parameter_group(desired["engine_version"]),
            "CacheParameterGroupName",
        )
        if member.get("CacheSubnetGroupName") not in (None, desired["cache_subnet_group_name"]):
            immutable.append(
                f"subnet group is {member.get('CacheSubnetGroupName')}, "
                f"want {desired['cache_subnet_group_name']}"
            )
        if (
            desired.get("preferred_maintenance_window")
            and member.get("PreferredMaintenanceWindow") != desired["preferred_maintenance_window"]
        ):
            want(
                "maintenance window",
                member.get("PreferredMaintenanceWindow"),
                desired["preferred_maintenance_window"],
                "PreferredMaintenanceWindow",
            )

    replicas = 0
    if strict_member_count:
        have = len(current.get("MemberClusters") or [])
        replicas = int(desired["num_cache_clusters"]) - have
        if replicas:
            messages.append(f"{have} member clusters, want {desired['num_cache_clusters']}")
    return modify, replicas, messages, immutable


def settings_errors(desired):
    """Why a desired replication group is invalid for Multi-AZ Redis (empty when valid)."""
    errors = []
    count = int(desired["num_cache_clusters"])
    if count < 1 or count > 6:
        errors.append("num_cache_clusters must be 1 (primary) to 6 (primary + 5 replicas)")
    if (desired["automatic_failover"] or desired["multi_az"]) and count < 2:
        errors.append(
            "automatic failover and Multi-AZ need at least one replica (num_cache_clusters >= 2)"
        )
    if desired["multi_az"] and not desired["automatic_failover"]:
        errors.append("Multi-AZ needs automatic failover")
    if not 0 <= int(desired["snapshot_retention_limit"]) <= 35:
        errors.append("snapshot_retention_limit must be 0 to 35 days")
    token = desired.get("auth_token") or ""
    if token and (len(token) < 16 or len(token) > 128 or any(c in token for c in '@"/ ')):
        errors.append(
            'the AUTH token must be 16 to 128 printable characters without @, ", / or space'
        )
    if token and not desired["transit_encryption"]:
        errors.append("an AUTH token needs encryption in transit")
    return errors
