"""Converged AWS worlds built from a layer's spec: fake boto3 clients that answer the
layer's Describe/List/Get calls as AWS would for resources that match the spec exactly.

``build(layer, spec)`` returns a ``World``; ``world.clients`` has the signature the state
functions take (``clients(service, region=None)``) and ``world.state(layer, spec)`` runs
the layer's state function on it. The answers are plain dicts in AWS's shapes, kept in
``world.data[(service, region)]``: a drift case edits one of them (what a change made
outside Ansible would leave) and the state function must then name that field.
"""

from __future__ import annotations

import copy
import json

from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import alarms_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import audit_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import backup_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_edge import edge_state
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks import logging_payload
from ansible_collections.tradeops.platform.plugins.module_utils.aws_elasticache import (
    default_parameter_group,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import (
    issuer_host,
    provider_arn,
    trust_policy,
    trusted_providers,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import LAYERS
from botocore.exceptions import ClientError

from .aws_specs import ACCOUNT, STATE_LAYER

STATES = {**LAYERS, "audit": audit_state, "backup": backup_state, "alarms": alarms_state}


def missing(op, code="NotFound"):
    return ClientError({"Error": {"Code": code, "Message": "missing"}}, op)


def tag_list(tags, key="Key", value="Value"):
    return [{key: k, value: v} for k, v in tags.items()]


class _Paginator:
    def __init__(self, call):
        self.call = call

    def paginate(self, **kwargs):
        yield self.call(**kwargs)


class Fake:
    """One service in one region; its answers live in the world's data."""

    def __init__(self, world, service, region):
        self.world = world
        self.region = region
        self.d = world.data.setdefault((service, region), {})

    def get_paginator(self, name):
        return _Paginator(getattr(self, name))


def _filter_values(filters, name):
    for f in filters or []:
        if f["Name"] == name:
            return f["Values"]
    return None


def _tags_of(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


class EC2(Fake):
    def _in_vpc(self, key, filters):
        vpc = _filter_values(filters, "vpc-id")
        return [i for i in self.d.get(key, []) if vpc is None or i.get("VpcId") in vpc]

    def describe_vpcs(self, Filters=None):
        names = _filter_values(Filters, "tag:Name")
        vpcs = self.d.get("vpcs", [])
        return {"Vpcs": [v for v in vpcs if names is None or _tags_of(v).get("Name") in names]}

    def describe_subnets(self, Filters=None):
        return {"Subnets": self._in_vpc("subnets", Filters)}

    def describe_internet_gateways(self, Filters=None):
        vpc = _filter_values(Filters, "attachment.vpc-id")
        return {
            "InternetGateways": [
                g
                for g in self.d.get("igws", [])
                if vpc is None or any(a["VpcId"] in vpc for a in g.get("Attachments", []))
            ]
        }

    def describe_addresses(self, Filters=None):
        return {"Addresses": self.d.get("addresses", [])}

    def describe_nat_gateways(self, Filter=None):
        return {"NatGateways": self._in_vpc("nats", Filter)}

    def describe_route_tables(self, Filters=None):
        return {"RouteTables": self._in_vpc("route_tables", Filters)}

    def describe_security_groups(self, Filters=None):
        return {"SecurityGroups": self._in_vpc("security_groups", Filters)}

    def describe_vpc_endpoints(self, Filters=None):
        return {"VpcEndpoints": self._in_vpc("endpoints", Filters)}

    def describe_flow_logs(self, Filters=None):
        ids = _filter_values(Filters, "resource-id")
        return {
            "FlowLogs": [
                f for f in self.d.get("flow_logs", []) if ids is None or f["ResourceId"] in ids
            ]
        }

    def describe_instances(self, Filters=None):
        names = _filter_values(Filters, "tag:Name")
        states = _filter_values(Filters, "instance-state-name")
        found = [
            i
            for i in self.d.get("instances", [])
            if (names is None or _tags_of(i).get("Name") in names)
            and (states is None or i["State"]["Name"] in states)
        ]
        return {"Reservations": [{"Instances": found}]}

    def describe_launch_templates(self, LaunchTemplateNames):
        found = [
            t for t in self.d.get("templates", []) if t["LaunchTemplateName"] in LaunchTemplateNames
        ]
        if not found:
            raise missing("DescribeLaunchTemplates", "InvalidLaunchTemplateName.NotFoundException")
        return {"LaunchTemplates": found}

    def describe_launch_template_versions(self, LaunchTemplateId, Versions):
        return {
            "LaunchTemplateVersions": [
                v
                for v in self.d.get("template_versions", [])
                if v["LaunchTemplateId"] == LaunchTemplateId and str(v["VersionNumber"]) in Versions
            ]
        }

    def describe_tags(self, Filters):
        ids = _filter_values(Filters, "resource-id")
        return {
            "Tags": [
                {"ResourceId": rid, "Key": k, "Value": v}
                for rid, tags in self.d.get("resource_tags", {}).items()
                if rid in ids
                for k, v in tags.items()
            ]
        }


class Logs(Fake):
    def describe_log_groups(self, logGroupNamePrefix):
        return {
            "logGroups": [
                g
                for g in self.d.get("groups", [])
                if g["logGroupName"].startswith(logGroupNamePrefix)
            ]
        }

    def list_tags_log_group(self, logGroupName):
        return {"tags": dict(self.d.get("group_tags", {}).get(logGroupName, {}))}


class KMS(Fake):
    def _key(self, KeyId):
        keys = self.d.get("keys", {})
        key = keys.get(KeyId) or next((k for k in keys.values() if k["KeyId"] == KeyId), None)
        if key is None:
            raise missing("DescribeKey", "NotFoundException")
        return key

    def describe_key(self, KeyId):
        return {"KeyMetadata": self._key(KeyId)["meta"]}

    def get_key_rotation_status(self, KeyId):
        return {"KeyRotationEnabled": self._key(KeyId)["rotation"]}

    def list_resource_tags(self, KeyId):
        return {"Tags": tag_list(self._key(KeyId)["tags"], "TagKey", "TagValue")}

    def get_key_policy(self, KeyId, PolicyName):
        assert PolicyName == "default"
        return {"Policy": json.dumps(self._key(KeyId)["policy"]), "PolicyName": PolicyName}


class IAM(Fake):
    def _role(self, RoleName):
        if RoleName not in self.d.get("roles", {}):
            raise missing("GetRole", "NoSuchEntity")
        return self.d["roles"][RoleName]

    def get_role(self, RoleName):
        return {"Role": self._role(RoleName)["role"]}

    def list_attached_role_policies(self, RoleName):
        return {"AttachedPolicies": [{"PolicyArn": a} for a in self._role(RoleName)["attached"]]}

    def list_role_policies(self, RoleName):
        return {"PolicyNames": sorted(self._role(RoleName)["inline"])}

    def get_role_policy(self, RoleName, PolicyName):
        return {"PolicyDocument": self._role(RoleName)["inline"][PolicyName]}

    def list_instance_profiles_for_role(self, RoleName):
        return {"InstanceProfiles": self._role(RoleName)["profiles"]}

    def list_open_id_connect_providers(self):
        return {"OpenIDConnectProviderList": [{"Arn": a} for a in self.d.get("oidc", {})]}

    def get_open_id_connect_provider(self, OpenIDConnectProviderArn):
        if OpenIDConnectProviderArn not in self.d.get("oidc", {}):
            raise missing("GetOpenIDConnectProvider", "NoSuchEntity")
        return self.d["oidc"][OpenIDConnectProviderArn]


class SecretsManager(Fake):
    def describe_secret(self, SecretId):
        if SecretId not in self.d.get("secrets", {}):
            raise missing("DescribeSecret", "ResourceNotFoundException")
        return self.d["secrets"][SecretId]

    def get_secret_value(self, SecretId):
        if SecretId not in self.d.get("values", {}):
            raise missing("GetSecretValue", "ResourceNotFoundException")
        return {"SecretString": self.d["values"][SecretId]}


class Kinesis(Fake):
    def _stream(self, StreamName):
        if StreamName not in self.d.get("streams", {}):
            raise missing("DescribeStreamSummary", "ResourceNotFoundException")
        return self.d["streams"][StreamName]

    def describe_stream_summary(self, StreamName):
        return {"StreamDescriptionSummary": self._stream(StreamName)["summary"]}

    def list_tags_for_stream(self, StreamName):
        return {"Tags": tag_list(self._stream(StreamName)["tags"])}


class S3(Fake):
    def _bucket(self, Bucket):
        if Bucket not in self.d.get("buckets", {}):
            raise missing("HeadBucket", "404")
        return self.d["buckets"][Bucket]

    def head_bucket(self, Bucket):
        self._bucket(Bucket)
        return {}

    def _get(self, Bucket, what, code):
        value = self._bucket(Bucket).get(what)
        if value is None:
            raise missing(what, code)
        return copy.deepcopy(value)

    def get_bucket_versioning(self, Bucket):
        return self._bucket(Bucket).get("versioning", {})

    def get_bucket_encryption(self, Bucket):
        return self._get(Bucket, "encryption", "ServerSideEncryptionConfigurationNotFoundError")

    def get_public_access_block(self, Bucket):
        return self._get(Bucket, "public_access_block", "NoSuchPublicAccessBlockConfiguration")

    def get_bucket_ownership_controls(self, Bucket):
        return self._get(Bucket, "ownership", "OwnershipControlsNotFoundError")

    def get_bucket_tagging(self, Bucket):
        return self._get(Bucket, "tagging", "NoSuchTagSet")

    def get_bucket_lifecycle_configuration(self, Bucket):
        return self._get(Bucket, "lifecycle", "NoSuchLifecycleConfiguration")

    def get_object_lock_configuration(self, Bucket):
        return self._get(Bucket, "object_lock", "ObjectLockConfigurationNotFoundError")

    def get_bucket_replication(self, Bucket):
        return self._get(Bucket, "replication", "ReplicationConfigurationNotFoundError")

    def get_bucket_policy(self, Bucket):
        return {"Policy": json.dumps(self._get(Bucket, "policy", "NoSuchBucketPolicy"))}


class Route53(Fake):
    def list_hosted_zones_by_name(self, DNSName):
        return {"HostedZones": [z for z in self.d.get("zones", []) if z["Name"] == DNSName]}

    def list_tags_for_resource(self, ResourceType, ResourceId):
        return {"ResourceTagSet": {"Tags": tag_list(self.d["zone_tags"].get(ResourceId, {}))}}

    def list_health_checks(self, **_kwargs):
        return {"HealthChecks": self.d.get("checks", []), "IsTruncated": False}

    def list_tags_for_resources(self, ResourceType, ResourceIds):
        return {
            "ResourceTagSets": [
                {"ResourceId": i, "Tags": tag_list(self.d["check_tags"].get(i, {}))}
                for i in ResourceIds
            ]
        }

    def list_resource_record_sets(self, HostedZoneId, **_kwargs):
        return {"ResourceRecordSets": self.d.get("records", []), "IsTruncated": False}


class EKS(Fake):
    def describe_cluster(self, name):
        if name not in self.d.get("clusters", {}):
            raise missing("DescribeCluster", "ResourceNotFoundException")
        return {"cluster": self.d["clusters"][name]}

    def describe_nodegroup(self, clusterName, nodegroupName):
        groups = self.d.get("nodegroups", {})
        if nodegroupName not in groups:
            raise missing("DescribeNodegroup", "ResourceNotFoundException")
        return {"nodegroup": groups[nodegroupName]}

    def describe_addon(self, clusterName, addonName):
        if addonName not in self.d.get("addons", {}):
            raise missing("DescribeAddon", "ResourceNotFoundException")
        return {"addon": self.d["addons"][addonName]}

    def describe_addon_versions(self, addonName, kubernetesVersion):
        return {
            "addons": [a for a in self.d.get("addon_versions", []) if a["addonName"] == addonName]
        }


class RDS(Fake):
    def describe_db_instances(self, DBInstanceIdentifier):
        if DBInstanceIdentifier not in self.d.get("instances", {}):
            raise missing("DescribeDBInstances", "DBInstanceNotFound")
        return {"DBInstances": [self.d["instances"][DBInstanceIdentifier]]}

    def describe_db_subnet_groups(self, DBSubnetGroupName):
        if DBSubnetGroupName not in self.d.get("subnet_groups", {}):
            raise missing("DescribeDBSubnetGroups", "DBSubnetGroupNotFoundFault")
        return {"DBSubnetGroups": [self.d["subnet_groups"][DBSubnetGroupName]]}

    def describe_db_parameter_groups(self, DBParameterGroupName):
        if DBParameterGroupName not in self.d.get("parameter_groups", {}):
            raise missing("DescribeDBParameterGroups", "DBParameterGroupNotFound")
        return {"DBParameterGroups": [self.d["parameter_groups"][DBParameterGroupName]]}

    def describe_db_parameters(self, DBParameterGroupName, Source):
        values = self.d["parameters"][DBParameterGroupName]
        return {
            "Parameters": [{"ParameterName": k, "ParameterValue": v} for k, v in values.items()]
        }

    def list_tags_for_resource(self, ResourceName):
        return {"TagList": tag_list(self.d["tags"].get(ResourceName, {}))}


class ElastiCache(Fake):
    def describe_cache_subnet_groups(self, CacheSubnetGroupName):
        if CacheSubnetGroupName not in self.d.get("subnet_groups", {}):
            raise missing("DescribeCacheSubnetGroups", "CacheSubnetGroupNotFoundFault")
        return {"CacheSubnetGroups": [self.d["subnet_groups"][CacheSubnetGroupName]]}

    def describe_replication_groups(self, ReplicationGroupId):
        if ReplicationGroupId not in self.d.get("groups", {}):
            raise missing("DescribeReplicationGroups", "ReplicationGroupNotFoundFault")
        return {"ReplicationGroups": [self.d["groups"][ReplicationGroupId]]}

    def describe_cache_clusters(self, CacheClusterId):
        if CacheClusterId not in self.d.get("members", {}):
            raise missing("DescribeCacheClusters", "CacheClusterNotFound")
        return {"CacheClusters": [self.d["members"][CacheClusterId]]}

    def list_tags_for_resource(self, ResourceName):
        return {"TagList": tag_list(self.d["tags"].get(ResourceName, {}))}


class Backup(Fake):
    def describe_backup_vault(self, BackupVaultName):
        if BackupVaultName not in self.d.get("vaults", {}):
            raise missing("DescribeBackupVault", "AccessDeniedException")
        return self.d["vaults"][BackupVaultName]

    def list_tags(self, ResourceArn):
        return {"Tags": dict(self.d["tags"].get(ResourceArn, {}))}

    def list_backup_plans(self):
        return {"BackupPlansList": list(self.d.get("plans", {}).values())}

    def get_backup_plan(self, BackupPlanId):
        return self.d["plan_details"][BackupPlanId]

    def list_backup_selections(self, BackupPlanId):
        return {"BackupSelectionsList": self.d.get("selections", {}).get(BackupPlanId, [])}

    def get_backup_selection(self, BackupPlanId, SelectionId):
        return {"BackupSelection": self.d["selection_details"][SelectionId]}


class CloudWatch(Fake):
    def describe_alarms(self, AlarmTypes, AlarmNames=None, AlarmNamePrefix=None):
        return {
            "MetricAlarms": [
                a
                for a in self.d.get("alarms", [])
                if (AlarmNames is None or a["AlarmName"] in AlarmNames)
                and (AlarmNamePrefix is None or a["AlarmName"].startswith(AlarmNamePrefix))
            ]
        }

    def list_tags_for_resource(self, ResourceARN):
        return {"Tags": tag_list(self.d.get("tags", {}).get(ResourceARN, {}))}


class SNS(Fake):
    def _topic(self, TopicArn):
        if TopicArn not in self.d.get("topics", {}):
            raise missing("GetTopicAttributes", "NotFound")
        return self.d["topics"][TopicArn]

    def get_topic_attributes(self, TopicArn):
        return {"Attributes": self._topic(TopicArn)["attributes"]}

    def list_tags_for_resource(self, ResourceArn):
        return {"Tags": tag_list(self._topic(ResourceArn)["tags"])}

    def list_subscriptions_by_topic(self, TopicArn):
        return {"Subscriptions": self._topic(TopicArn)["subscriptions"]}


class SSM(Fake):
    def get_parameters(self, Names):
        params = self.d.get("parameters", {})
        return {"Parameters": [params[n] for n in Names if n in params]}

    def list_tags_for_resource(self, ResourceType, ResourceId):
        return {"TagList": tag_list(self.d.get("tags", {}).get(ResourceId, {}))}


class CloudTrail(Fake):
    def _trail(self, name):
        for trail in self.d.get("trails", {}).values():
            if name in (trail["trail"]["Name"], trail["trail"]["TrailARN"]):
                return trail
        raise missing("GetTrailStatus", "TrailNotFoundException")

    def describe_trails(self, trailNameList=None, includeShadowTrails=True):
        return {
            "trailList": [
                t["trail"]
                for t in self.d.get("trails", {}).values()
                if not trailNameList
                or {t["trail"]["Name"], t["trail"]["TrailARN"]} & set(trailNameList)
            ]
        }

    def get_trail_status(self, Name):
        return self._trail(Name)["status"]

    def get_event_selectors(self, TrailName):
        return self._trail(TrailName)["selectors"]

    def list_tags(self, ResourceIdList):
        return {
            "ResourceTagList": [
                {"ResourceId": arn, "TagsList": tag_list(self._trail(arn)["tags"])}
                for arn in ResourceIdList
            ]
        }


class Config(Fake):
    PAGE = 2  # DescribeConfigRules pages (AWS: 25 a page); small here so paging is tested

    def describe_configuration_recorders(self, ConfigurationRecorderNames=None):
        return {"ConfigurationRecorders": copy.deepcopy(self.d.get("recorders", []))}

    def describe_configuration_recorder_status(self, ConfigurationRecorderNames):
        status = self.d.get("status", {})
        for name in ConfigurationRecorderNames:
            if name not in status:
                raise missing("DescribeStatus", "NoSuchConfigurationRecorderException")
        return {
            "ConfigurationRecordersStatus": [
                {"name": n, "recording": status[n], "lastStatus": "SUCCESS"}
                for n in ConfigurationRecorderNames
            ]
        }

    def describe_delivery_channels(self):
        return {"DeliveryChannels": copy.deepcopy(self.d.get("channels", []))}

    def describe_config_rules(self, NextToken=None):
        rules = sorted(self.d.get("rules", {}).values(), key=lambda r: r["ConfigRuleName"])
        start = int(NextToken or 0)
        page = {"ConfigRules": copy.deepcopy(rules[start : start + self.PAGE])}
        if start + self.PAGE < len(rules):
            page["NextToken"] = str(start + self.PAGE)
        return page

    def list_tags_for_resource(self, ResourceArn):
        return {"Tags": tag_list(self.d.get("tags", {}).get(ResourceArn, {}))}


SERVICES = {
    "ec2": EC2,
    "logs": Logs,
    "kms": KMS,
    "iam": IAM,
    "secretsmanager": SecretsManager,
    "kinesis": Kinesis,
    "s3": S3,
    "route53": Route53,
    "eks": EKS,
    "rds": RDS,
    "elasticache": ElastiCache,
    "backup": Backup,
    "cloudwatch": CloudWatch,
    "sns": SNS,
    "cloudtrail": CloudTrail,
    "config": Config,
    "ssm": SSM,
}


class World:
    def __init__(self, region):
        self.region = region
        self.data = {}

    def clients(self, service, region=None):
        return SERVICES[service](self, service, region or self.region)

    def d(self, service, region=None):
        return self.data.setdefault((service, region or self.region), {})

    def state(self, layer, spec):
        return STATES[STATE_LAYER.get(layer, layer)](self.clients, spec)


# --------------------------------------------------------------------------- builders
def _kms_key(world, region, alias, description, tags, policy=None):
    short = region.replace("-", "")
    key_id = f"key-{alias.rsplit('/', 1)[-1]}-{short}"
    arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"
    world.d("kms", region).setdefault("keys", {})[alias] = {
        "policy": copy.deepcopy(policy),
        "KeyId": key_id,
        "meta": {
            "KeyId": key_id,
            "Arn": arn,
            "KeyState": "Enabled",
            "Description": description,
        },
        "rotation": True,
        "tags": dict(tags),
    }
    return arn


def _permissions(rules, own, vpc_cidr, ids):
    out = []
    for rule in rules:
        proto = str(rule.get("proto", "tcp"))
        proto = "-1" if proto in ("all", "-1") else proto
        ranges = [None, None] if proto == "-1" else None
        ports = [ranges] if ranges else []
        for port in [] if ranges else rule.get("ports", []):
            low, _sep, high = str(port).partition("-")
            ports.append([int(low), int(high or low)])
        for low, high in ports:
            perm = {"IpProtocol": proto, "IpRanges": [], "UserIdGroupPairs": [], "Ipv6Ranges": []}
            if low is not None:
                perm.update(FromPort=low, ToPort=high)
            entry = {"Description": rule.get("description")}
            if rule.get("self"):
                perm["UserIdGroupPairs"].append(dict(entry, GroupId=ids[own]))
            elif rule.get("group"):
                perm["UserIdGroupPairs"].append(dict(entry, GroupId=ids[rule["group"]]))
            else:
                cidr = vpc_cidr if rule["cidr"] == "vpc" else rule["cidr"]
                perm["IpRanges"].append(dict(entry, CidrIp=cidr))
            out.append(perm)
    return out


def network_world(spec):
    region = spec["region"]
    world = World(region)
    ec2 = world.d("ec2")
    tags = spec["tags"]
    vpc_id = "vpc-1"

    def tagged(name, **extra):
        return tag_list(dict(tags, Name=name, **extra))

    ec2["vpcs"] = [{"VpcId": vpc_id, "CidrBlock": spec["vpc_cidr"], "Tags": tagged(spec["name"])}]
    subnet_ids = {}
    ec2["subnets"] = []
    for n, sub in enumerate(spec["subnets"]):
        subnet_ids[sub["name"]] = f"subnet-{n}"
        ec2["subnets"].append(
            {
                "SubnetId": f"subnet-{n}",
                "VpcId": vpc_id,
                "CidrBlock": sub["cidr"],
                "AvailabilityZone": sub["az"],
                "MapPublicIpOnLaunch": bool(sub["public"]),
                "Tags": tagged(sub["name"], Tier=sub["tier"]),
            }
        )
    ec2["igws"] = [
        {
            "InternetGatewayId": "igw-1",
            "Attachments": [{"VpcId": vpc_id}],
            "Tags": tagged(spec["name"]),
        }
    ]
    nat_ids = {}
    ec2["addresses"], ec2["nats"] = [], []
    for n, nat in enumerate(spec["nat_gateways"]):
        nat_ids[nat["name"]] = f"nat-{n}"
        ec2["addresses"].append({"AllocationId": f"eipalloc-{n}", "Tags": tagged(nat["eip_name"])})
        ec2["nats"].append(
            {
                "NatGatewayId": f"nat-{n}",
                "VpcId": vpc_id,
                "SubnetId": subnet_ids[nat["subnet"]],
                "State": "available",
                "Tags": tagged(nat["name"]),
            }
        )
    table_ids = {}
    ec2["route_tables"] = []
    for n, table in enumerate(spec["route_tables"]):
        table_ids[table["name"]] = f"rtb-{n}"
        routes = [{"DestinationCidrBlock": spec["vpc_cidr"], "GatewayId": "local"}]
        for route in table["routes"]:
            target = (
                {"GatewayId": "igw-1"}
                if route.get("igw")
                else {"NatGatewayId": nat_ids[route["nat"]]}
            )
            routes.append(dict(target, DestinationCidrBlock=route["dest"]))
        ec2["route_tables"].append(
            {
                "RouteTableId": f"rtb-{n}",
                "VpcId": vpc_id,
                "Routes": routes,
                "Associations": [{"SubnetId": subnet_ids[s]} for s in table["subnets"]],
                "Tags": tagged(table["name"]),
            }
        )
    group_ids = {g["name"]: f"sg-{g['key']}" for g in spec["security_groups"]}
    ec2["security_groups"] = [
        {
            "GroupId": group_ids[g["name"]],
            "GroupName": g["name"],
            "Description": g["description"],
            "VpcId": vpc_id,
            "IpPermissions": _permissions(g["ingress"], g["name"], spec["vpc_cidr"], group_ids),
            "IpPermissionsEgress": _permissions(
                g["egress"], g["name"], spec["vpc_cidr"], group_ids
            ),
            "Tags": tagged(g["name"]),
        }
        for g in spec["security_groups"]
    ]
    ec2["endpoints"] = [
        {
            "VpcEndpointId": f"vpce-{n}",
            "VpcId": vpc_id,
            "ServiceName": ep["service_name"],
            "VpcEndpointType": ep["type"],
            "State": "available",
            "RouteTableIds": [table_ids[t] for t in ep["route_tables"]],
            "SubnetIds": [subnet_ids[s] for s in ep["subnets"]],
            "Groups": [
                {"GroupId": group_ids[g], "GroupName": g} for g in ep.get("security_groups", [])
            ],
            "Tags": tagged(f"{spec['name']}-{ep['service']}"),
        }
        for n, ep in enumerate(spec["vpc_endpoints"])
    ]
    flow = spec["flow_logs"]
    if flow["enabled"]:
        world.d("logs")["groups"] = [
            {"logGroupName": flow["log_group"], "retentionInDays": flow["retention_days"]}
        ]
        ec2["flow_logs"] = [
            {
                "FlowLogId": "fl-1",
                "ResourceId": vpc_id,
                "LogGroupName": flow["log_group"],
                "TrafficType": flow["traffic_type"],
                "DeliverLogsPermissionArn": f"arn:aws:iam::{ACCOUNT}:role/{flow['role_name']}",
                "Tags": tagged(spec["name"]),
            }
        ]
    return world


def security_world(spec):
    world = World(spec["region"])
    tags = spec["tags"]
    for key in spec["kms_keys"]:
        _kms_key(
            world, key["region"], "alias/" + key["alias"], key["description"], tags, key["policy"]
        )
    iam = world.d("iam")
    iam["roles"] = {}
    for role in spec["iam_roles"]:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role['name']}"
        iam["roles"][role["name"]] = {
            "role": {
                "RoleName": role["name"],
                "Arn": arn,
                "AssumeRolePolicyDocument": copy.deepcopy(role["trust"]),
                "Tags": tag_list(tags),
            },
            "attached": list(role["managed_policies"]),
            "inline": {p["name"]: copy.deepcopy(p["document"]) for p in role["inline_policies"]},
            "profiles": [
                {
                    "InstanceProfileName": role["name"],
                    "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{role['name']}",
                }
            ]
            if role["instance_profile"]
            else [],
        }
    secrets = world.d("secretsmanager")["secrets"] = {}
    for secret in spec["secrets"]:
        (alias,) = [
            k["alias"]
            for k in spec["kms_keys"]
            if k["purpose"] == secret["kms_purpose"] and k["region"] == spec["region"]
        ]
        key = world.d("kms")["keys"]["alias/" + alias]
        secrets[secret["name"]] = {
            "ARN": f"arn:aws:secretsmanager:{spec['region']}:{ACCOUNT}:secret:{secret['name']}",
            "Name": secret["name"],
            "Description": secret["description"],
            "KmsKeyId": key["meta"]["Arn"],
            "Tags": tag_list(tags),
            "ReplicationStatus": [{"Region": r} for r in secret["replica_regions"]],
        }
    return world


def _streams(world, region, spec):
    key_arn = _kms_key(world, region, spec["key_alias"], "data", spec["tags"])
    streams = world.d("kinesis", region)["streams"] = {}
    for want in spec["streams"]:
        streams[want["name"]] = {
            "summary": {
                "StreamName": want["name"],
                "StreamARN": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{want['name']}",
                "StreamStatus": "ACTIVE",
                "OpenShardCount": want["shards"],
                "RetentionPeriodHours": want["retention_hours"],
                "EncryptionType": "KMS",
                "KeyId": key_arn,
            },
            "tags": dict(spec["tags"]),
        }


def kinesis_world(spec, region="us-east-1"):
    world = World(region)
    _streams(world, region, spec)
    if spec["dr_region"]:
        _streams(world, spec["dr_region"], spec)
    return world


def _bucket(world, region, want, spec):
    key_arn = _kms_key(world, region, spec["kms_alias"], "data", spec["tags"])
    sse = {"SSEAlgorithm": want["encryption"]}
    if want["encryption"] == "aws:kms":
        sse["KMSMasterKeyID"] = key_arn
    bucket = {
        "versioning": {"Status": "Enabled"},
        "encryption": {
            "ServerSideEncryptionConfiguration": {
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": sse,
                        "BucketKeyEnabled": want["encryption"] == "aws:kms",
                    }
                ]
            }
        },
        "public_access_block": {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            }
        },
        "ownership": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
        "tagging": {"TagSet": tag_list(spec["tags"])},
    }
    if want.get("policy"):
        bucket["policy"] = copy.deepcopy(want["policy"])
    if want.get("lifecycle"):
        rules = []
        for rule in want["lifecycle"]:
            got = {"ID": rule["id"], "Filter": {"Prefix": rule.get("prefix") or ""}}
            got["Status"] = "Enabled"
            if rule.get("transitions"):
                got["Transitions"] = [
                    {"Days": t["days"], "StorageClass": t["storage_class"]}
                    for t in rule["transitions"]
                ]
            if rule.get("expiration_days") is not None:
                got["Expiration"] = {"Days": rule["expiration_days"]}
            if rule.get("noncurrent_expiration_days") is not None:
                got["NoncurrentVersionExpiration"] = {
                    "NoncurrentDays": rule["noncurrent_expiration_days"]
                }
            if rule.get("abort_multipart_days") is not None:
                got["AbortIncompleteMultipartUpload"] = {
                    "DaysAfterInitiation": rule["abort_multipart_days"]
                }
            rules.append(got)
        bucket["lifecycle"] = {"Rules": rules}
    if want.get("object_lock"):
        bucket["object_lock"] = {
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {
                    "DefaultRetention": {
                        "Mode": want["object_lock"]["mode"],
                        "Days": want["object_lock"]["days"],
                    }
                },
            }
        }
    if want.get("replicate_to"):
        bucket["replication"] = {
            "ReplicationConfiguration": {
                "Role": want["replication_role_arn"],
                "Rules": [
                    {
                        "Status": "Enabled",
                        "Destination": {"Bucket": "arn:aws:s3:::" + want["replicate_to"]},
                    }
                ],
            }
        }
    world.d("s3", region).setdefault("buckets", {})[want["name"]] = bucket


def s3_world(spec):
    world = World(spec["region"])
    for want in spec["buckets"]:
        _bucket(world, spec["region"], want, spec)
    for want in spec["dr_buckets"]:
        _bucket(world, spec["dr_region"], want, spec)
    if spec["replication_role"]:
        world.d("iam")["roles"] = {
            spec["replication_role"]: {
                "role": {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{spec['replication_role']}"}
            }
        }
    return world


def dns_world(spec):
    world = World("us-east-1")
    r53 = world.d("route53")
    zone = spec["zone"].rstrip(".") + "."
    r53["zones"] = [{"Id": "/hostedzone/Z1", "Name": zone, "Config": {"PrivateZone": False}}]
    r53["zone_tags"] = {"Z1": dict(spec["tags"])}
    r53["checks"], r53["check_tags"] = [], {}
    check_ids = {}
    for n, want in enumerate(spec["health_checks"]):
        check_ids[want["name"]] = f"hc-{n}"
        r53["checks"].append(
            {
                "Id": f"hc-{n}",
                "HealthCheckConfig": {
                    "Type": "HTTPS",
                    "FullyQualifiedDomainName": want["fqdn"],
                    "Port": want["port"],
                    "ResourcePath": want["path"],
                    "RequestInterval": spec["interval"],
                    "FailureThreshold": spec["failure_threshold"],
                },
            }
        )
        r53["check_tags"][f"hc-{n}"] = dict(spec["tags"], Name=want["name"])
    r53["records"] = [
        {
            "Name": want["fqdn"].rstrip(".") + ".",
            "Type": want["type"],
            "SetIdentifier": want["identifier"],
            "Failover": want["failover"],
            # Route 53 answers an alias target's name with a trailing dot.
            "AliasTarget": {
                "HostedZoneId": want["alias"]["zone_id"],
                "DNSName": want["alias"]["dns_name"] + ".",
                "EvaluateTargetHealth": want["alias"]["evaluate_target_health"],
            },
            "HealthCheckId": check_ids[want["health_check"]],
        }
        for want in spec["records"]
    ] + [
        {
            "Name": want["fqdn"].rstrip(".") + ".",
            "Type": want["type"],
            "AliasTarget": {
                "HostedZoneId": want["alias"]["zone_id"],
                "DNSName": want["alias"]["dns_name"] + ".",
                "EvaluateTargetHealth": want["alias"]["evaluate_target_health"],
            },
        }
        for want in spec["regional_records"]
    ]
    return world


def fleet_world(spec):
    world = World(spec["region"])
    ec2 = world.d("ec2")
    template_id = None
    lt = spec.get("launch_template")
    if lt:
        template_id = "lt-1"
        ec2["templates"] = [
            {
                "LaunchTemplateName": lt["name"],
                "LaunchTemplateId": template_id,
                "DefaultVersionNumber": 1,
                "LatestVersionNumber": 1,
            }
        ]
        ec2["template_versions"] = [
            {
                "LaunchTemplateId": template_id,
                "VersionNumber": 1,
                "LaunchTemplateData": {
                    "ImageId": lt["image_id"] or "ami-1",
                    "IamInstanceProfile": {"Arn": lt["instance_profile_arn"]},
                    "EbsOptimized": True,
                    "MetadataOptions": {
                        "HttpTokens": "required",
                        "HttpEndpoint": "enabled",
                        "HttpPutResponseHopLimit": 1,
                    },
                    "BlockDeviceMappings": [
                        {
                            "DeviceName": lt["root_device"],
                            "Ebs": {
                                "VolumeType": "gp3",
                                "Encrypted": True,
                                "KmsKeyId": lt["kms_key_arn"],
                                "VolumeSize": lt["root_volume_size"],
                            },
                        }
                    ],
                    "NetworkInterfaces": [
                        {
                            "DeviceIndex": 0,
                            "Groups": list(lt["security_group_ids"]),
                            "SubnetId": lt["subnet_id"],
                            "AssociatePublicIpAddress": False,
                        }
                    ],
                },
            }
        ]
        ec2["resource_tags"] = {template_id: dict(spec["tags"], Name=lt["name"])}
    ec2["instances"] = []
    for n, want in enumerate(spec["instances"]):
        tags = dict(spec["tags"], Name=want["name"])
        if template_id:
            tags["aws:ec2launchtemplate:id"] = template_id
        enis = [
            {
                "NetworkInterfaceId": f"eni-{n}-{i}",
                "Attachment": {"DeviceIndex": i},
                "Groups": [{"GroupId": g} for g in spec["security_group_ids"]],
            }
            for i in range(1 + int(want.get("extra_enis") or 0))
        ]
        ec2["instances"].append(
            {
                "InstanceId": f"i-{n}",
                "InstanceType": want["instance_type"],
                "State": {"Name": "running"},
                "SubnetId": spec["subnet_id"],
                "PrivateIpAddress": f"198.18.0.{10 + n}",
                "Placement": {
                    "AvailabilityZone": spec["region"] + "a",
                    "Tenancy": spec["tenancy"],
                    "GroupName": spec["placement_group"],
                },
                "MetadataOptions": {
                    "HttpTokens": "required",
                    "HttpEndpoint": "enabled",
                    "HttpPutResponseHopLimit": 1,
                },
                "EbsOptimized": True,
                "IamInstanceProfile": {"Arn": spec["instance_profile_arn"]},
                "NetworkInterfaces": enis,
                "Tags": tag_list(tags),
            }
        )
    return world


def eks_world(spec):
    world = World(spec["region"])
    eks = world.d("eks")
    want = spec["cluster"]
    eks["clusters"] = {
        want["name"]: {
            "name": want["name"],
            "arn": f"arn:aws:eks:{spec['region']}:{ACCOUNT}:cluster/{want['name']}",
            "status": "ACTIVE",
            "version": want["version"],
            "roleArn": want["role_arn"],
            "resourcesVpcConfig": {
                "subnetIds": list(want["subnet_ids"]),
                "securityGroupIds": list(want["security_group_ids"]),
                "endpointPrivateAccess": want["endpoint_private_access"],
                "endpointPublicAccess": want["endpoint_public_access"],
                "publicAccessCidrs": list(want["public_access_cidrs"] or ["0.0.0.0/0"]),
            },
            "logging": logging_payload(want["logging_types"]),
            "encryptionConfig": [
                {"resources": ["secrets"], "provider": {"keyArn": want["secrets_kms_key_arn"]}}
            ]
            if want["secrets_kms_key_arn"]
            else [],
            "tags": dict(spec["tags"]),
        }
    }
    eks["nodegroups"] = {
        ng["name"]: {
            "nodegroupName": ng["name"],
            "nodegroupArn": f"arn:aws:eks:{spec['region']}:{ACCOUNT}:nodegroup/{ng['name']}",
            "status": "ACTIVE",
            "scalingConfig": {
                "minSize": ng["min_size"],
                "maxSize": ng["max_size"],
                "desiredSize": ng["desired_size"],
            },
            "labels": {str(k): str(v) for k, v in ng["labels"].items()},
            "updateConfig": {"maxUnavailable": ng["max_unavailable"]},
            "instanceTypes": list(ng["instance_types"]),
            "capacityType": ng["capacity_type"],
            "amiType": ng["ami_type"],
            "diskSize": ng["disk_size"],
            "subnets": list(ng["subnet_ids"]),
            "nodeRole": ng["node_role_arn"],
            "tags": dict(spec["tags"]),
        }
        for ng in spec["nodegroups"]
    }
    # Each add-on at the version EKS marks default for the cluster's (v1.0.0-eksbuild.2),
    # a newer non-default one next to it.
    eks["addons"], eks["addon_versions"] = {}, []
    for addon in spec.get("addons", []):
        version = (
            "v1.0.0-eksbuild.2" if addon["version"] in ("default", "latest") else addon["version"]
        )
        compat = [{"clusterVersion": want["version"], "defaultVersion": True}]
        eks["addon_versions"].append(
            {
                "addonName": addon["name"],
                "addonVersions": [
                    {"addonVersion": version, "compatibilities": compat},
                    {
                        "addonVersion": "v0.9.0-eksbuild.1",
                        "compatibilities": [dict(compat[0], defaultVersion=False)],
                    },
                ],
            }
        )
        eks["addons"][addon["name"]] = {
            "addonName": addon["name"],
            "clusterName": want["name"],
            "status": "ACTIVE",
            "addonVersion": version,
            "addonArn": f"arn:aws:eks:{spec['region']}:{ACCOUNT}:addon/{want['name']}/x",
            "serviceAccountRoleArn": addon["service_account_role_arn"] or None,
            "configurationValues": addon["configuration_values"],
            "health": {"issues": []},
            "tags": dict(spec["tags"]),
        }
        if not eks["addons"][addon["name"]]["serviceAccountRoleArn"]:
            del eks["addons"][addon["name"]]["serviceAccountRoleArn"]
    issuer = f"https://oidc.eks.{spec['region']}.amazonaws.com/id/EXAMPLE{spec['region'][-1]}"
    eks["clusters"][want["name"]]["identity"] = {"oidc": {"issuer": issuer}}
    provider = provider_arn(ACCOUNT, issuer)
    iam = world.d("iam")
    iam["oidc"] = {
        provider: {
            "Url": issuer_host(issuer),
            "ClientIDList": list(spec["oidc_provider"]["client_ids"]),
            "ThumbprintList": [],
            "Tags": tag_list(spec["tags"]),
        }
    }
    iam["roles"] = {}
    for role in spec["irsa_roles"]:
        trusted = trusted_providers(ACCOUNT, [issuer, *spec.get("irsa_peer_issuers", [])])
        trust = trust_policy(trusted, role["namespace"], role["service_account"])
        iam["roles"][role["name"]] = {
            "role": {
                "RoleName": role["name"],
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/{role['name']}",
                "Description": role["description"],
                "AssumeRolePolicyDocument": trust,
                "Tags": tag_list(spec["tags"]),
            },
            "attached": list(role["managed_policies"]),
            "inline": {p["name"]: copy.deepcopy(p["document"]) for p in role["inline_policies"]},
            "profiles": [],
        }
    return world


def _rds_instance(region, want, spec, **extra):
    identifier = want["identifier"]
    got = {
        "DBInstanceIdentifier": identifier,
        "DBInstanceArn": f"arn:aws:rds:{region}:{ACCOUNT}:db:{identifier}",
        "Endpoint": {"Address": f"{identifier}.rds.invalid", "Port": 5432},
        "DBInstanceClass": want["instance_class"],
        "StorageEncrypted": True,
        "KmsKeyId": want["kms_key_arn"],
        "PubliclyAccessible": False,
        "MonitoringInterval": want["monitoring_interval"],
        "DeletionProtection": want["deletion_protection"],
        "VpcSecurityGroups": [{"VpcSecurityGroupId": g} for g in want["security_group_ids"]],
        "PerformanceInsightsEnabled": want["performance_insights"],
    }
    got.update(extra)
    return got


def rds_world(spec):
    region = spec["region"]
    world = World(region)
    rds = world.d("rds")
    rds["tags"] = {}
    tags = spec["tags"]

    def subnet_group(d, group, where):
        arn = f"arn:aws:rds:{where}:{ACCOUNT}:subgrp:{group['name']}"
        d.setdefault("subnet_groups", {})[group["name"]] = {
            "DBSubnetGroupName": group["name"],
            "DBSubnetGroupArn": arn,
            "Subnets": [{"SubnetIdentifier": s} for s in group["subnet_ids"]],
        }
        d.setdefault("tags", {})[arn] = dict(tags)

    subnet_group(rds, spec["subnet_group"], region)
    if spec.get("dr_subnet_group"):
        group = spec["dr_subnet_group"]
        subnet_group(world.d("rds", group["region"]), group, group["region"])
    pg = spec.get("parameter_group")
    if pg:
        arn = f"arn:aws:rds:{region}:{ACCOUNT}:pg:{pg['name']}"
        rds["parameter_groups"] = {
            pg["name"]: {
                "DBParameterGroupName": pg["name"],
                "DBParameterGroupArn": arn,
                "DBParameterGroupFamily": pg["family"],
            }
        }
        rds["parameters"] = {pg["name"]: {k: str(v) for k, v in pg["parameters"].items()}}
        rds["tags"][arn] = dict(tags)
    want = spec["primary"]
    primary = _rds_instance(
        region,
        want,
        spec,
        Engine="postgres",
        EngineVersion=want["engine_version"],
        AllocatedStorage=want["allocated_storage"],
        MaxAllocatedStorage=want["max_allocated_storage"],
        StorageType=want["storage_type"],
        Iops=want["iops"],
        StorageThroughput=want["storage_throughput"],
        MultiAZ=want["multi_az"],
        BackupRetentionPeriod=want["backup_retention"],
        PreferredBackupWindow=want["backup_window"],
        PreferredMaintenanceWindow=want["maintenance_window"],
        DBSubnetGroup={"DBSubnetGroupName": spec["subnet_group"]["name"]},
        CopyTagsToSnapshot=True,
        EnabledCloudwatchLogsExports=list(want["cloudwatch_logs_exports"]),
        DBParameterGroups=[{"DBParameterGroupName": pg["name"]}] if pg else [],
        TagList=tag_list(want.get("tags", tags)),
    )
    rds["instances"] = {want["identifier"]: primary}
    for rep in spec["replicas"]:
        extra = {
            "ReadReplicaSourceDBInstanceIdentifier": (
                primary["DBInstanceArn"] if rep["region"] != region else want["identifier"]
            ),
            "TagList": tag_list(tags),
        }
        if rep.get("subnet_group"):
            extra["DBSubnetGroup"] = {
                "DBSubnetGroupName": rep["subnet_group"],
                "Subnets": [{"SubnetIdentifier": s} for s in rep["subnet_ids"]],
            }
        if rep.get("backup_retention") is not None:
            extra["BackupRetentionPeriod"] = rep["backup_retention"]
        world.d("rds", rep["region"]).setdefault("instances", {})[rep["identifier"]] = (
            _rds_instance(rep["region"], rep, spec, **extra)
        )
    return world


def elasticache_world(spec):
    world = World("us-east-1")
    ec = world.d("elasticache")
    group = spec["subnet_group"]
    ec["subnet_groups"] = {
        group["name"]: {
            "CacheSubnetGroupName": group["name"],
            "Subnets": [{"SubnetIdentifier": s} for s in group["subnet_ids"]],
        }
    }
    want = spec["replication_group"]
    gid = want["replication_group_id"]
    arn = f"arn:aws:elasticache:us-east-1:{ACCOUNT}:replicationgroup:{gid}"
    members = [f"{gid}-{n:03d}" for n in range(1, int(want["num_cache_clusters"]) + 1)]
    ec["groups"] = {
        gid: {
            "ReplicationGroupId": gid,
            "ARN": arn,
            "Description": want["description"],
            "Status": "available",
            "MemberClusters": members,
            "NodeGroups": [
                {
                    "PrimaryEndpoint": {"Address": f"{gid}.cache.invalid", "Port": 6379},
                    "ReaderEndpoint": {"Address": f"{gid}-ro.cache.invalid", "Port": 6379},
                }
            ],
            "AutomaticFailover": "enabled" if want["automatic_failover"] else "disabled",
            "MultiAZ": "enabled" if want["multi_az"] else "disabled",
            "CacheNodeType": want["cache_node_type"],
            "SnapshotRetentionLimit": want["snapshot_retention_limit"],
            "SnapshotWindow": want["snapshot_window"],
            "AtRestEncryptionEnabled": want["at_rest_encryption"],
            "KmsKeyId": want["kms_key_id"],
            "TransitEncryptionEnabled": want["transit_encryption"],
            "AuthTokenEnabled": want["auth_token_required"],
        }
    }
    ec["members"] = {
        m: {
            "CacheClusterId": m,
            "EngineVersion": want["engine_version"],
            "SecurityGroups": [
                {"SecurityGroupId": g, "Status": "active"} for g in want["security_group_ids"]
            ],
            "CacheParameterGroup": {
                "CacheParameterGroupName": want["cache_parameter_group_name"]
                or default_parameter_group(want["engine_version"])
            },
            "CacheSubnetGroupName": want["cache_subnet_group_name"],
            "PreferredMaintenanceWindow": want["preferred_maintenance_window"],
        }
        for m in members
    }
    ec["tags"] = {arn: dict(spec["tags"])}
    return world


def backup_world(spec):
    world = World(spec["plan"]["region"])
    tags = spec["tags"]
    for want in spec["vaults"]:
        d = world.d("backup", want["region"])
        arn = f"arn:aws:backup:{want['region']}:{ACCOUNT}:backup-vault:{want['name']}"
        d.setdefault("vaults", {})[want["name"]] = {
            "BackupVaultName": want["name"],
            "BackupVaultArn": arn,
            "EncryptionKeyArn": want["key_arn"],
        }
        d.setdefault("tags", {})[arn] = dict(tags)
    plan = spec["plan"]
    d = world.d("backup", plan["region"])
    plan_arn = f"arn:aws:backup:{plan['region']}:{ACCOUNT}:backup-plan:plan-1"
    d["plans"] = {"plan-1": {"BackupPlanName": plan["name"], "BackupPlanId": "plan-1"}}
    d["plan_details"] = {
        "plan-1": {
            "BackupPlanId": "plan-1",
            "BackupPlanArn": plan_arn,
            "VersionId": "v1",
            "BackupPlan": {
                "Rules": [
                    {
                        "RuleName": r["name"],
                        "TargetBackupVaultName": r["vault"],
                        "ScheduleExpression": r["schedule"],
                        "StartWindowMinutes": r["start_window"],
                        "CompletionWindowMinutes": r["completion_window"],
                        "Lifecycle": {"DeleteAfterDays": r["delete_after_days"]},
                        "CopyActions": [
                            {
                                "DestinationBackupVaultArn": c["vault_arn"],
                                "Lifecycle": {"DeleteAfterDays": c["delete_after_days"]},
                            }
                            for c in r["copy_to"]
                        ],
                    }
                    for r in plan["rules"]
                ]
            },
        }
    }
    d["tags"][plan_arn] = dict(tags)
    sel = spec["selection"]
    if sel["enabled"]:
        d["selections"] = {"plan-1": [{"SelectionName": sel["name"], "SelectionId": "sel-1"}]}
        d["selection_details"] = {
            "sel-1": {
                "SelectionName": sel["name"],
                "IamRoleArn": sel["iam_role_arn"],
                "Resources": list(sel["resources"]),
                "Conditions": {
                    "StringEquals": [
                        {
                            "ConditionKey": "aws:ResourceTag/" + c["key"],
                            "ConditionValue": str(c["value"]),
                        }
                        for c in sel["conditions"]
                    ]
                },
            }
        }
    world.d("cloudwatch", plan["region"])["alarms"] = [
        {
            "AlarmName": a["name"],
            "AlarmArn": f"arn:aws:cloudwatch:{plan['region']}:{ACCOUNT}:alarm:{a['name']}",
            "Namespace": a["namespace"],
            "MetricName": a["metric"],
            "Dimensions": [{"Name": k, "Value": str(v)} for k, v in a["dimensions"].items()],
            "Statistic": a["statistic"],
            "ComparisonOperator": a["comparison"],
            "Threshold": float(a["threshold"]),
            "Period": int(a["period"]),
            "EvaluationPeriods": int(a["evaluation_periods"]),
            "DatapointsToAlarm": int(a["datapoints_to_alarm"]),
            "TreatMissingData": a["treat_missing_data"],
            "AlarmActions": list(a["actions"]),
            "OKActions": list(a["actions"]),
            "ActionsEnabled": True,
            "AlarmDescription": a["description"],
        }
        for a in spec["alarms"]
    ]
    return world


def dr_state_world(spec):
    world = World(spec["regions"][0])
    record = json.dumps(
        {
            "active_region": spec["regions"][0],
            "epoch": 1,
            "changed_at": "2026-12-01T00:00:00Z",
            "run_id": "site-init",
            "verb": "init",
            "reason": "site.yml created the DR state",
        }
    )
    for region in spec["regions"]:
        d = world.d("ssm", region)
        for name in spec["records"]:
            full = f"{spec['prefix'].rstrip('/')}/{name}"
            d.setdefault("parameters", {})[full] = {"Name": full, "Value": record}
            d.setdefault("tags", {})[full] = dict(spec["tags"])
    return world


def _role_record(name, trust, managed, policy_name, policy, tags):
    return {
        "role": {
            "RoleName": name,
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AssumeRolePolicyDocument": copy.deepcopy(trust),
            "Tags": tag_list(tags),
        },
        "attached": list(managed),
        "inline": {policy_name: copy.deepcopy(policy)},
        "profiles": [],
    }


def audit_world(spec):
    """The trail as DescribeTrails & co. answer for it on AWS (the key as its ARN, the log
    group's ARN with its :* suffix, one basic event selector), and AWS Config as
    DescribeConfigurationRecorders & co. answer (with the recording strategy and mode AWS
    adds, the rules' EvaluationModes and empty InputParameters)."""
    region, tags = spec["region"], spec["tags"]
    trail, world_roles = spec["trail"], {}
    world = World(region)
    world.d("iam")["roles"] = world_roles
    arn = f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{trail['name']}"
    answer = {
        "Name": trail["name"],
        "S3BucketName": trail["bucket"],
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "HomeRegion": region,
        "TrailARN": arn,
        "LogFileValidationEnabled": True,
        "KmsKeyId": trail["kms_key_arn"],
        "HasCustomEventSelectors": True,
        "HasInsightSelectors": False,
        "IsOrganizationTrail": False,
    }
    cloudwatch = trail["cloudwatch"]
    if cloudwatch:
        answer.update(
            CloudWatchLogsLogGroupArn=cloudwatch["log_group_arn"],
            CloudWatchLogsRoleArn=cloudwatch["role_arn"],
        )
        logs = world.d("logs")
        logs["groups"] = [
            {
                "logGroupName": cloudwatch["log_group"],
                "retentionInDays": cloudwatch["retention_days"],
                "arn": cloudwatch["log_group_arn"],
            }
        ]
        logs["group_tags"] = {cloudwatch["log_group"]: dict(tags)}
        world_roles[cloudwatch["role_name"]] = _role_record(
            cloudwatch["role_name"],
            cloudwatch["trust"],
            [],
            cloudwatch["policy_name"],
            cloudwatch["policy"],
            tags,
        )
    world.d("cloudtrail")["trails"] = {
        trail["name"]: {
            "trail": answer,
            "status": {"IsLogging": True, "LatestDeliveryAttemptSucceeded": ""},
            "selectors": {
                "TrailARN": arn,
                "EventSelectors": [
                    {
                        "ReadWriteType": trail["read_write_type"],
                        "IncludeManagementEvents": True,
                        "DataResources": [],
                        "ExcludeManagementEventSources": list(
                            trail["exclude_management_event_sources"]
                        ),
                    }
                ],
            },
            "tags": dict(tags),
        }
    }
    config = spec["config"]
    if not config["enabled"]:
        return world
    role = config["role"]
    world_roles[role["name"]] = _role_record(
        role["name"],
        role["trust"],
        role["managed_policies"],
        role["policy_name"],
        role["policy"],
        tags,
    )
    for where in config["regions"]:
        d = world.d("config", where)
        d["recorders"] = [
            {
                "name": config["name"],
                "roleARN": role["arn"],
                "recordingGroup": {
                    "allSupported": True,
                    "includeGlobalResourceTypes": where == config["global_resources_region"],
                    "resourceTypes": [],
                    "exclusionByResourceTypes": {"resourceTypes": []},
                    "recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"},
                },
                "recordingMode": {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []},
            }
        ]
        d["status"] = {config["name"]: True}
        d["channels"] = [
            {
                "name": config["name"],
                "s3BucketName": config["bucket"],
                "s3KmsKeyArn": config["kms_key_arn"],
                "configSnapshotDeliveryProperties": {
                    "deliveryFrequency": config["delivery_frequency"]
                },
            }
        ]
        d["rules"], d["tags"] = {}, {}
        for n, rule in enumerate(config["rules"]):
            rule_arn = f"arn:aws:config:{where}:{ACCOUNT}:config-rule/config-rule-{n}"
            d["rules"][rule["name"]] = {
                "ConfigRuleName": rule["name"],
                "ConfigRuleArn": rule_arn,
                "ConfigRuleId": f"config-rule-{n}",
                "Description": rule["description"],
                "Scope": {"ComplianceResourceTypes": list(rule["resource_types"])},
                "Source": {"Owner": "AWS", "SourceIdentifier": rule["identifier"]},
                "InputParameters": json.dumps(rule["parameters"]),
                "ConfigRuleState": "ACTIVE",
                "EvaluationModes": [{"Mode": "DETECTIVE"}],
            }
            d["tags"][rule_arn] = dict(tags)
    return world


# --------------------------------------------------------------------------- alarms
# The data key's policy in the alarms world: the account's root statement and CloudWatch's
# use of the key for encrypted topics.
CLOUDWATCH_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    ],
}


def metric_alarm(region, want, actions=None):
    """DescribeAlarms' MetricAlarms entry of an alarm exactly as its spec entry says."""
    actions = list(want["actions"] if actions is None else actions)
    return {
        "AlarmName": want["name"],
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{want['name']}",
        "Namespace": want["namespace"],
        "MetricName": want["metric"],
        "Dimensions": [{"Name": k, "Value": str(v)} for k, v in want["dimensions"].items()],
        "Statistic": want["statistic"],
        "ComparisonOperator": want["comparison"],
        "Threshold": float(want["threshold"]),
        "Period": int(want["period"]),
        "EvaluationPeriods": int(want["evaluation_periods"]),
        "DatapointsToAlarm": int(want["datapoints_to_alarm"]),
        "TreatMissingData": want["treat_missing_data"],
        "AlarmActions": actions,
        "OKActions": list(actions),
        "ActionsEnabled": True,
        "AlarmDescription": want["description"],
    }


def alarms_world(spec):
    """The topics (attributes, tags, confirmed subscriptions; an endpoint_secret's value in
    Secrets Manager of the home region), the data keys' policies, the alarms with their tags."""
    home = spec["regions"][0]["region"]
    world = World(home)
    tags = spec["tags"]
    for entry in spec["regions"]:
        region = entry["region"]
        topics = world.d("sns", region).setdefault("topics", {})
        for topic in entry["topics"]:
            subs = []
            for n, sub in enumerate(topic["subscriptions"]):
                endpoint = sub.get("endpoint")
                if endpoint is None:
                    endpoint = f"https://events.example.invalid/integration/key-{n}/enqueue"
                    world.d("secretsmanager", home).setdefault("values", {})[sub["secret"]] = (
                        endpoint
                    )
                subs.append(
                    {
                        "SubscriptionArn": f"{topic['arn']}:sub-{n}",
                        "Protocol": sub["protocol"],
                        "Endpoint": endpoint,
                        "TopicArn": topic["arn"],
                    }
                )
            topics[topic["arn"]] = {
                "attributes": {
                    "TopicArn": topic["arn"],
                    "KmsMasterKeyId": topic["key_arn"],
                    "DisplayName": topic["display_name"],
                },
                "tags": dict(tags),
                "subscriptions": subs,
            }
            world.d("kms", region).setdefault("keys", {})[topic["key_arn"]] = {
                "KeyId": topic["key_arn"],
                "policy": copy.deepcopy(CLOUDWATCH_KEY_POLICY),
            }
        cloudwatch = world.d("cloudwatch", region)
        cloudwatch["alarms"] = [metric_alarm(region, a) for a in entry["alarms"]]
        cloudwatch["tags"] = {a["AlarmArn"]: dict(tags) for a in cloudwatch["alarms"]}
    return world


BUILDERS = {
    "network": network_world,
    "security": security_world,
    "kinesis": kinesis_world,
    "s3": s3_world,
    "dns": dns_world,
    "fleet": fleet_world,
    "eks": eks_world,
    "rds": rds_world,
    "elasticache": elasticache_world,
    "backup": backup_world,
    "dr-state": dr_state_world,
    "audit": audit_world,
    "alarms": alarms_world,
}


# The edge layer's world lives in a module of its own; it builds on World above.
from .aws_edge_world import SERVICES as EDGE_SERVICES  # noqa: E402
from .aws_edge_world import edge_world  # noqa: E402

SERVICES.update(EDGE_SERVICES)
STATES["edge"] = edge_state
BUILDERS["edge"] = lambda spec: edge_world(spec, World)


def build(layer, spec):
    return BUILDERS[STATE_LAYER.get(layer, layer)](spec)
