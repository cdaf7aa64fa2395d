#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_elasticache_replication_group
short_description: Manage an ElastiCache Redis replication group (replicas, failover, TLS, AUTH)
version_added: "0.1.0"
description:
  - Neither amazon.aws nor community.aws has a replication-group module
    (community.aws.elasticache manages single cache clusters). This one manages one
    cluster-mode-disabled replication group, describe-first; a converged group costs one
    or two read calls (the group, and its first member for engine version and groups).
  - Settings that can change in place are sent with one ModifyReplicationGroup call
    (applied immediately by default); a different member count uses
    IncreaseReplicaCount / DecreaseReplicaCount. Encryption at rest, its key and the subnet
    group can only be chosen at creation; the module fails and says so.
  - The AUTH token is only sent when the group is created (or when AUTH is off); it is never
    compared, returned or logged. Rotate it with I(rotate_auth_token=true).
author:
  - tradeops engineers (@tradeops)
options:
  replication_group_id:
    description: Id of the replication group (lower case, 1 to 40 characters).
    type: str
    required: true
  description:
    description: Description of the group.
    type: str
    default: tradeops Redis
  engine:
    description: Cache engine.
    type: str
    default: redis
    choices: [redis, valkey]
  engine_version:
    description: Engine version, for example C(7.1).
    type: str
    default: "7.1"
  cache_node_type:
    description: Node type of every member.
    type: str
    default: cache.r6g.large
  num_cache_clusters:
    description: Members, the primary included (3 = primary + 2 replicas).
    type: int
    default: 3
  preferred_azs:
    description: Zones of the members, the primary's first (spread them for Multi-AZ).
    type: list
    elements: str
    default: []
  automatic_failover:
    description: Promote a replica automatically when the primary fails.
    type: bool
    default: true
  multi_az:
    description: Keep the replicas in other zones than the primary.
    type: bool
    default: true
  at_rest_encryption:
    description: Encrypt data at rest (creation only).
    type: bool
    default: true
  kms_key_id:
    description: Customer-managed KMS key (ARN) for encryption at rest (creation only).
    type: str
    default: ""
  transit_encryption:
    description: TLS between clients and nodes.
    type: bool
    default: true
  auth_token:
    description:
      - Redis AUTH token (16 to 128 characters, no C(@), C("), C(/)); needs I(transit_encryption).
      - Read it from Secrets Manager; it is never compared, returned or logged.
    type: str
  auth_token_required:
    description: Treat a group without AUTH as not converged (set AUTH with I(auth_token)).
    type: bool
    default: true
  rotate_auth_token:
    description:
      - Send I(auth_token) to an existing group with the ROTATE strategy (old and new
        tokens both valid until the next SET).
    type: bool
    default: false
  cache_subnet_group_name:
    description: Cache subnet group (creation only). Required for I(state=present).
    type: str
  security_group_ids:
    description: VPC security groups of the members.
    type: list
    elements: str
    default: []
  cache_parameter_group_name:
    description: Cache parameter group; empty for the engine's default group.
    type: str
    default: ""
  port:
    description: Port of the members.
    type: int
    default: 6379
  snapshot_retention_limit:
    description: Days of automatic snapshots (0 to 35; 0 switches them off).
    type: int
    default: 7
  snapshot_window:
    description: Daily UTC window of the automatic snapshot, C(hh24:mi-hh24:mi).
    type: str
    default: ""
  preferred_maintenance_window:
    description: Weekly UTC maintenance window, C(ddd:hh24:mi-ddd:hh24:mi).
    type: str
    default: ""
  strict_member_count:
    description:
      - Compare the number of member clusters with I(num_cache_clusters) and add or remove
        replicas to match.
      - Only false where the API misreports members (the lab's moto, docs/aws.md).
    type: bool
    default: true
  apply_immediately:
    description: Apply modifications now rather than in the next maintenance window.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the group to be C(available) (or deleted) after a change.
    type: int
    default: 3600
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
  - tradeops.platform.wait
"""

EXAMPLES = r"""
- name: Redis primary + 2 replicas, failover, encrypted, AUTH from Secrets Manager
  tradeops.platform.aws_elasticache_replication_group:
    replication_group_id: tradeops-production
    engine_version: "7.1"
    cache_node_type: cache.r6g.large
    num_cache_clusters: 3
    automatic_failover: true
    multi_az: true
    at_rest_encryption: true
    kms_key_id: "{{ data_key_arn }}"
    transit_encryption: true
    auth_token: "{{ (lookup('amazon.aws.secretsmanager_secret', redis_secret) | from_json).token }}"
    cache_subnet_group_name: tradeops-production
    security_group_ids: ["{{ redis_sg_id }}"]
    tags:
      Environment: production
  no_log: true
"""

RETURN = r"""
replication_group:
  description: The group as described by ElastiCache (snake_case) after a change; empty if absent.
  returned: always
  type: dict
  sample: {"replication_group_id": "tradeops-lab", "automatic_failover": "enabled"}
changes:
  description: What was (or, in check mode, would be) changed, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["node type is cache.r6g.large, want cache.r6g.xlarge"]
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_elasticache import (  # noqa: E402
    replication_group_differences,
    settings_errors,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import converge_tags  # noqa: E402


def describe(client, group_id):
    try:
        return client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][
            0
        ]
    except client.exceptions.ReplicationGroupNotFoundFault:
        return None


def first_member(client, group):
    """The first member cluster (engine version, groups); None where the API hides members."""
    members = group.get("MemberClusters") or []
    if not members:
        return None
    try:
        return client.describe_cache_clusters(CacheClusterId=members[0])["CacheClusters"][0]
    except client.exceptions.CacheClusterNotFoundFault:
        return None


def wait_for(module, client, deleted=False):
    if not module.params["wait"]:
        return
    delay = 15
    attempts = max(1, module.params["wait_timeout"] // delay)
    waiter = client.get_waiter(
        "replication_group_deleted" if deleted else "replication_group_available"
    )
    waiter.wait(
        ReplicationGroupId=module.params["replication_group_id"],
        WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
    )


def output(group, tags):
    if not group:
        return {}
    out = camel_dict_to_snake_dict(group)
    out["tags"] = tags
    return out


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            replication_group_id=dict(type="str", required=True),
            description=dict(type="str", default="tradeops Redis"),
            engine=dict(type="str", default="redis", choices=["redis", "valkey"]),
            engine_version=dict(type="str", default="7.1"),
            cache_node_type=dict(type="str", default="cache.r6g.large"),
            num_cache_clusters=dict(type="int", default=3),
            preferred_azs=dict(type="list", elements="str", default=[]),
            automatic_failover=dict(type="bool", default=True),
            multi_az=dict(type="bool", default=True),
            at_rest_encryption=dict(type="bool", default=True),
            kms_key_id=dict(type="str", default="", no_log=False),
            transit_encryption=dict(type="bool", default=True),
            auth_token=dict(type="str", no_log=True),
            auth_token_required=dict(type="bool", default=True, no_log=False),
            rotate_auth_token=dict(type="bool", default=False, no_log=False),
            cache_subnet_group_name=dict(type="str"),
            security_group_ids=dict(type="list", elements="str", default=[]),
            cache_parameter_group_name=dict(type="str", default=""),
            port=dict(type="int", default=6379),
            snapshot_retention_limit=dict(type="int", default=7),
            snapshot_window=dict(type="str", default=""),
            preferred_maintenance_window=dict(type="str", default=""),
            strict_member_count=dict(type="bool", default=True),
            apply_immediately=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=3600),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["cache_subnet_group_name"])],
        supports_check_mode=True,
    )
    p = module.params
    gid = p["replication_group_id"]
    client = module.client("elasticache")
    changes = []
    tags = {}
    try:
        current = describe(client, gid)
        if p["state"] == "absent":
            # A group already "deleting" (an earlier run that did not wait) needs no call.
            if current and current.get("Status") != "deleting":
                changes.append(f"delete replication group {gid}")
                if not module.check_mode:
                    client.delete_replication_group(
                        ReplicationGroupId=gid, RetainPrimaryCluster=False
                    )
            if current and not module.check_mode:
                wait_for(module, client, deleted=True)
            module.exit_json(changed=bool(changes), changes=changes, replication_group={})

        errors = settings_errors(p)
        if p["auth_token_required"] and not p["auth_token"] and current is None:
            errors.append("auth_token is required (auth_token_required is true)")
        if errors:
            module.fail_json(msg=f"replication group {gid}: " + "; ".join(errors))

        if current is None:
            changes.append(f"create replication group {gid} ({p['num_cache_clusters']} members)")
            if module.check_mode:
                module.exit_json(changed=True, changes=changes, replication_group={})
            kwargs = dict(
                ReplicationGroupId=gid,
                ReplicationGroupDescription=p["description"],
                Engine=p["engine"],
                EngineVersion=p["engine_version"],
                CacheNodeType=p["cache_node_type"],
                NumCacheClusters=p["num_cache_clusters"],
                AutomaticFailoverEnabled=p["automatic_failover"],
                MultiAZEnabled=p["multi_az"],
                AtRestEncryptionEnabled=p["at_rest_encryption"],
                TransitEncryptionEnabled=p["transit_encryption"],
                CacheSubnetGroupName=p["cache_subnet_group_name"],
                SecurityGroupIds=p["security_group_ids"],
                Port=p["port"],
                SnapshotRetentionLimit=p["snapshot_retention_limit"],
                Tags=ansible_dict_to_boto3_tag_list(p["tags"] or {}),
            )
            optional = dict(
                KmsKeyId=p["kms_key_id"] if p["at_rest_encryption"] else "",
                AuthToken=p["auth_token"],
                CacheParameterGroupName=p["cache_parameter_group_name"],
                SnapshotWindow=p["snapshot_window"],
                PreferredMaintenanceWindow=p["preferred_maintenance_window"],
            )
            kwargs.update({k: v for k, v in optional.items() if v})
            if p["preferred_azs"]:
                kwargs["PreferredCacheClusterAZs"] = p["preferred_azs"][: p["num_cache_clusters"]]
            client.create_replication_group(**kwargs)
            wait_for(module, client)
            current = describe(client, gid)
            tags = p["tags"] or {}
            module.exit_json(changed=True, changes=changes, replication_group=output(current, tags))

        modify, replicas, messages, immutable = replication_group_differences(
            current, p, first_member(client, current), p["strict_member_count"]
        )
        if immutable:
            module.fail_json(
                msg=f"replication group {gid} cannot be changed in place: " + "; ".join(immutable),
                replication_group=output(current, {}),
            )
        if p["rotate_auth_token"] and p["auth_token"]:
            modify["AuthTokenUpdateStrategy"] = "ROTATE"
            messages.append("rotate the AUTH token")
        if "AuthTokenUpdateStrategy" in modify:
            if not p["auth_token"]:
                module.fail_json(
                    msg=f"replication group {gid}: AUTH is off and no auth_token was given"
                )
            modify["AuthToken"] = p["auth_token"]
        changes.extend(messages)
        if not module.check_mode:
            if modify:
                client.modify_replication_group(
                    ReplicationGroupId=gid, ApplyImmediately=p["apply_immediately"], **modify
                )
                wait_for(module, client)
            if replicas > 0:
                client.increase_replica_count(
                    ReplicationGroupId=gid,
                    NewReplicaCount=p["num_cache_clusters"] - 1,
                    ApplyImmediately=True,
                )
                wait_for(module, client)
            elif replicas < 0:
                client.decrease_replica_count(
                    ReplicationGroupId=gid,
                    NewReplicaCount=p["num_cache_clusters"] - 1,
                    ApplyImmediately=True,
                )
                wait_for(module, client)
        tags = boto3_tag_list_to_ansible_dict(
            client.list_tags_for_resource(ResourceName=current["ARN"]).get("TagList", [])
        )
        tagged = converge_tags(
            module,
            tags,
            tag=lambda to_set: client.add_tags_to_resource(
                ResourceName=current["ARN"], Tags=ansible_dict_to_boto3_tag_list(to_set)
            ),
            untag=lambda keys: client.remove_tags_from_resource(
                ResourceName=current["ARN"], TagKeys=keys
            ),
        )
        if tagged:
            changes.append(tagged)
            if not module.check_mode:
                tags = p["tags"] if p["purge_tags"] else dict(tags, **p["tags"])
        if changes and not module.check_mode:
            current = describe(client, gid)
    except Exception as err:  # botocore ClientError / WaiterError
        module.fail_json_aws(err, msg=f"Could not converge replication group {gid}")
    module.exit_json(
        changed=bool(changes), changes=changes, replication_group=output(current, tags)
    )


if __name__ == "__main__":
    main()
