# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Describe-first state of a tradeops AWS layer, in as few read calls as possible.

Each ``<layer>_state(clients, spec)`` function describes everything one layer owns, compares
it with the desired ``spec`` (the same data the layer's tasks converge from) and returns
``(differences, outputs)``:

* ``differences``: a list of human-readable strings, empty when the layer is converged;
* ``outputs``: ids, ARNs and endpoints later layers read (only meaningful when converged).

Only read API calls (Describe*/List*/Get*) are made here. The layer roles call this before
their tasks (skip the layer when converged: the no-op run) and after them (verify + outputs).
"""

from __future__ import annotations

import json

from ansible_collections.tradeops.platform.plugins.module_utils.aws_dns import (
    alias_differences,
    alias_name,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks import (
    cluster_differences,
    nodegroup_differences,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks_addons import (
    SYMBOLIC,
    AddonError,
    addon_differences,
    addon_status_problem,
    resolve_version,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_elasticache import (
    replication_group_differences,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import (
    issuer_host,
    provider_arn,
    trust_policy,
    trusted_providers,
)
from ansible_collections.tradeops.platform.plugins.module_utils.dr import (
    authoritative,
    parse_record,
)

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - reported by AnsibleAWSModule
    ClientError = Exception


def tag_dict(tag_list):
    """AWS tag list (Key/Value, key/value or TagKey/TagValue) to a dict, without aws:* tags."""
    if isinstance(tag_list, dict):
        return {k: v for k, v in tag_list.items() if not k.startswith("aws:")}
    out = {}
    for tag in tag_list or []:
        key = tag.get("Key", tag.get("key", tag.get("TagKey")))
        value = tag.get("Value", tag.get("value", tag.get("TagValue")))
        if key is not None and not key.startswith("aws:"):
            out[key] = value
    return out


def diff_tags(what, actual, desired, differences):
    actual = {k: v for k, v in (actual or {}).items() if not k.startswith("aws:")}
    if actual != desired:
        missing = {k: v for k, v in desired.items() if actual.get(k) != v}
        extra = sorted(set(actual) - set(desired))
        differences.append(f"{what}: tags differ (to set {missing}, to remove {extra})")


def _by_name(items):
    out = {}
    for item in items:
        name = tag_dict(item.get("Tags")).get("Name")
        if name:
            out.setdefault(name, []).append(item)
    return out


# --------------------------------------------------------------------------- network
def _norm_ports(rule):
    proto = str(rule.get("proto", "tcp"))
    if proto in ("all", "-1"):
        return [("-1", None, None)]
    out = []
    for port in rule.get("ports", []):
        text = str(port)
        low, _sep, high = text.partition("-")
        out.append((proto, int(low), int(high or low)))
    return out


def desired_sg_rules(group, vpc_cidr):
    """Desired rules of one SG as a set of (direction, proto, from, to, peer, description)."""
    rules = set()
    for direction in ("ingress", "egress"):
        for rule in group.get(direction, []):
            if rule.get("self"):
                peer = "sg:" + group["name"]
            elif rule.get("group"):
                peer = "sg:" + rule["group"]
            elif rule.get("cidr") == "vpc":
                peer = "cidr:" + vpc_cidr
            else:
                peer = "cidr:" + rule["cidr"]
            for proto, low, high in _norm_ports(rule):
                rules.add((direction, proto, low, high, peer, rule.get("description")))
    return rules


def actual_sg_rules(sg, names_by_id):
    rules = set()
    for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        for perm in sg.get(key, []):
            proto = str(perm.get("IpProtocol"))
            low = perm.get("FromPort") if proto != "-1" else None
            high = perm.get("ToPort") if proto != "-1" else None
            for rng in perm.get("IpRanges", []):
                peer = "cidr:" + rng["CidrIp"]
                rules.add((direction, proto, low, high, peer, rng.get("Description")))
            for pair in perm.get("UserIdGroupPairs", []):
                peer = "sg:" + names_by_id.get(pair["GroupId"], pair["GroupId"])
                rules.add((direction, proto, low, high, peer, pair.get("Description")))
            for rng in perm.get("Ipv6Ranges", []):
                rules.add((direction, proto, low, high, "cidr6:" + rng["CidrIpv6"], None))
    return rules


def network_state(clients, spec):
    ec2 = clients("ec2")
    logs = clients("logs")
    differences = []
    outputs = {}
    name = spec["name"]
    tags = spec["tags"]

    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    vpcs = [v for v in vpcs if v["CidrBlock"] == spec["vpc_cidr"]]
    if not vpcs:
        return [f"VPC {name} ({spec['vpc_cidr']}) does not exist"], outputs
    vpc = vpcs[0]
    vpc_id = vpc["VpcId"]
    outputs.update(vpc_id=vpc_id, vpc_cidr=vpc["CidrBlock"], name=name)
    diff_tags(f"VPC {name}", tag_dict(vpc.get("Tags")), dict(tags, Name=name), differences)
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}]

    # subnets
    subnets = _by_name(ec2.describe_subnets(Filters=vpc_filter)["Subnets"])
    subnet_ids = {}
    outputs["subnets"] = {}
    for want in spec["subnets"]:
        found = subnets.get(want["name"], [])
        if not found:
            differences.append(f"subnet {want['name']} ({want['cidr']}) does not exist")
            continue
        got = found[0]
        subnet_ids[want["name"]] = got["SubnetId"]
        if got["CidrBlock"] != want["cidr"] or got["AvailabilityZone"] != want["az"]:
            differences.append(
                f"subnet {want['name']}: {got['CidrBlock']} in {got['AvailabilityZone']}, "
                f"want {want['cidr']} in {want['az']}"
            )
        if bool(got.get("MapPublicIpOnLaunch")) != bool(want.get("public")):
            differences.append(f"subnet {want['name']}: MapPublicIpOnLaunch differs")
        diff_tags(
            f"subnet {want['name']}",
            tag_dict(got.get("Tags")),
            dict(tags, Name=want["name"], Tier=want["tier"]),
            differences,
        )
        outputs["subnets"].setdefault(want["tier"], []).append(
            {"id": got["SubnetId"], "az": want["az"], "cidr": want["cidr"], "name": want["name"]}
        )

    # internet gateway
    igws = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    )["InternetGateways"]
    if not igws:
        differences.append("internet gateway is missing")
    else:
        outputs["internet_gateway_id"] = igws[0]["InternetGatewayId"]
        diff_tags(
            "internet gateway", tag_dict(igws[0].get("Tags")), dict(tags, Name=name), differences
        )

    # NAT gateways and their addresses
    nat_ids = {}
    if spec["nat_gateways"]:
        addresses = _by_name(
            ec2.describe_addresses(Filters=[{"Name": "tag:Project", "Values": [tags["Project"]]}])[
                "Addresses"
            ]
        )
        nats = _by_name(
            [
                n
                for n in ec2.describe_nat_gateways(Filter=vpc_filter)["NatGateways"]
                if n["State"] in ("pending", "available")
            ]
        )
        for want in spec["nat_gateways"]:
            eip = addresses.get(want["eip_name"], [])
            if not eip:
                differences.append(f"elastic IP {want['eip_name']} does not exist")
            else:
                diff_tags(
                    f"elastic IP {want['eip_name']}",
                    tag_dict(eip[0].get("Tags")),
                    dict(tags, Name=want["eip_name"]),
                    differences,
                )
            nat = nats.get(want["name"], [])
            if not nat:
                differences.append(f"NAT gateway {want['name']} does not exist")
                continue
            nat_ids[want["name"]] = nat[0]["NatGatewayId"]
            if nat[0]["SubnetId"] != subnet_ids.get(want["subnet"]):
                differences.append(f"NAT gateway {want['name']} is not in subnet {want['subnet']}")
            diff_tags(
                f"NAT gateway {want['name']}",
                tag_dict(nat[0].get("Tags")),
                dict(tags, Name=want["name"]),
                differences,
            )
        outputs["nat_gateway_ids"] = nat_ids

    # route tables
    tables = _by_name(ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"])
    outputs["route_tables"] = {}
    for want in spec["route_tables"]:
        found = tables.get(want["name"], [])
        if not found:
            differences.append(f"route table {want['name']} does not exist")
            continue
        table = found[0]
        outputs["route_tables"][want["name"]] = table["RouteTableId"]
        diff_tags(
            f"route table {want['name']}",
            tag_dict(table.get("Tags")),
            dict(tags, Name=want["name"]),
            differences,
        )
        assoc = {a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId")}
        want_assoc = {subnet_ids.get(s, s) for s in want["subnets"]}
        if assoc != want_assoc:
            differences.append(f"route table {want['name']}: subnet associations differ")
        routes = set()
        for route in table.get("Routes", []):
            if route.get("GatewayId") == "local" or route.get("DestinationPrefixListId"):
                continue
            target = route.get("NatGatewayId") or route.get("GatewayId")
            routes.add((route.get("DestinationCidrBlock"), target))
        want_routes = set()
        for route in want["routes"]:
            if route.get("igw"):
                target = outputs.get("internet_gateway_id", "igw")
            else:
                target = nat_ids.get(route["nat"], route["nat"])
            want_routes.add((route["dest"], target))
        if routes != want_routes:
            differences.append(f"route table {want['name']}: routes {routes} != {want_routes}")

    # security groups
    sgs = ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]
    sg_by_name = {g["GroupName"]: g for g in sgs}
    names_by_id = {g["GroupId"]: g["GroupName"] for g in sgs}
    outputs["security_groups"] = {}
    for want in spec["security_groups"]:
        got = sg_by_name.get(want["name"])
        if not got:
            differences.append(f"security group {want['name']} does not exist")
            continue
        outputs["security_groups"][want["key"]] = got["GroupId"]
        diff_tags(
            f"security group {want['name']}",
            tag_dict(got.get("Tags")),
            dict(tags, Name=want["name"]),
            differences,
        )
        if got.get("Description") != want["description"]:
            differences.append(
                f"security group {want['name']}: description is {got.get('Description')}, "
                f"want {want['description']} (EC2 cannot change a group's description: "
                "a new group is needed)"
            )
        desired = desired_sg_rules(want, spec["vpc_cidr"])
        actual = actual_sg_rules(got, names_by_id)
        if desired != actual:
            differences.append(
                f"security group {want['name']}: rules to add {sorted(desired - actual, key=str)}, "
                f"to remove {sorted(actual - desired, key=str)}"
            )

    # VPC endpoints
    endpoints = [
        e
        for e in ec2.describe_vpc_endpoints(Filters=vpc_filter)["VpcEndpoints"]
        if e["State"].lower() in ("available", "pending", "pendingacceptance")
    ]
    outputs["vpc_endpoints"] = {}
    for want in spec["vpc_endpoints"]:
        # An endpoint of another type for the service is not this one (the converge
        # creates the one the spec wants; the other is not the layer's).
        match = [
            e
            for e in endpoints
            if e["ServiceName"] == want["service_name"]
            and e.get("VpcEndpointType", want["type"]) == want["type"]
        ]
        if not match:
            differences.append(
                f"VPC endpoint {want['service_name']} ({want['type']}) does not exist"
            )
            continue
        endpoint = match[0]
        outputs["vpc_endpoints"][want["service"]] = endpoint["VpcEndpointId"]
        if want["type"] == "Gateway":
            want_rts = {outputs["route_tables"].get(r, r) for r in want["route_tables"]}
            if set(endpoint.get("RouteTableIds", [])) != want_rts:
                differences.append(f"VPC endpoint {want['service']}: route tables differ")
        else:
            want_subnets = {subnet_ids.get(s, s) for s in want["subnets"]}
            if set(endpoint.get("SubnetIds", [])) != want_subnets:
                differences.append(f"VPC endpoint {want['service']}: subnets differ")
            if want.get("security_groups") is not None:
                have = sorted(
                    names_by_id.get(g.get("GroupId"), g.get("GroupId"))
                    for g in endpoint.get("Groups", [])
                )
                if have != sorted(want["security_groups"]):
                    differences.append(
                        f"VPC endpoint {want['service']}: security groups {have}, "
                        f"want {sorted(want['security_groups'])}"
                    )
        diff_tags(
            f"VPC endpoint {want['service']}",
            tag_dict(endpoint.get("Tags")),
            dict(tags, Name=f"{name}-{want['service']}"),
            differences,
        )

    # flow logs
    flow = spec.get("flow_logs") or {}
    if flow.get("enabled"):
        groups = logs.describe_log_groups(logGroupNamePrefix=flow["log_group"])["logGroups"]
        group = [g for g in groups if g["logGroupName"] == flow["log_group"]]
        if not group:
            differences.append(f"log group {flow['log_group']} does not exist")
        elif group[0].get("retentionInDays") != flow["retention_days"]:
            differences.append(
                f"log group {flow['log_group']}: retention is "
                f"{group[0].get('retentionInDays')} days, want {flow['retention_days']}"
            )
        found = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])[
            "FlowLogs"
        ]
        found = [f for f in found if f.get("LogGroupName") == flow["log_group"]]
        outputs["flow_log_group"] = flow["log_group"]
        if flow.get("role_name"):
            outputs["flow_log_role"] = flow["role_name"]
        if not found:
            differences.append("VPC flow log does not exist")
        else:
            outputs["flow_log_id"] = found[0]["FlowLogId"]
            if found[0].get("TrafficType") != flow["traffic_type"]:
                differences.append(
                    f"VPC flow log: traffic type is {found[0].get('TrafficType')}, "
                    f"want {flow['traffic_type']}"
                )
            role = str(found[0].get("DeliverLogsPermissionArn") or "")
            if flow.get("role_name") and not role.endswith(":role/" + flow["role_name"]):
                differences.append(
                    f"VPC flow log: delivery role is {role or None}, want {flow['role_name']}"
                )
            diff_tags(
                "VPC flow log", tag_dict(found[0].get("Tags")), dict(tags, Name=name), differences
            )
    return differences, outputs


# --------------------------------------------------------------------------- security
def _policy_doc(doc):
    if isinstance(doc, str):
        doc = json.loads(doc)
    return json.dumps(doc, sort_keys=True)


def role_policy_drifts(iam, role, label, differences):
    """An IAM role's policies against its spec (``managed_policies``: ARNs;
    ``inline_policies``: name and document), for the security layer's roles and the eks
    layer's IRSA roles alike; each difference is appended, named by ``label``."""
    attached = {
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=role["name"])["AttachedPolicies"]
    }
    if attached != set(role["managed_policies"]):
        differences.append(f"{label}: managed policies differ")
    inline = set(iam.list_role_policies(RoleName=role["name"])["PolicyNames"])
    if inline != {p["name"] for p in role["inline_policies"]}:
        differences.append(f"{label}: inline policy names differ")
        return
    for pol in role["inline_policies"]:
        doc = iam.get_role_policy(RoleName=role["name"], PolicyName=pol["name"])["PolicyDocument"]
        if canonical_policy(doc) != canonical_policy(pol["document"]):
            differences.append(f"{label}: policy {pol['name']} differs")


def canonical_policy(doc):
    """A policy document (JSON text or data) in one canonical form, for comparing a
    document AWS hands back with the one sent: keys sorted, a list of strings sorted and a
    one-element list the same as its element (S3 and IAM may answer either form),
    statements in a stable order. Equal documents give equal strings."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return doc

    def norm(value):
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [norm(v) for v in value]
            if all(isinstance(v, str) for v in items):
                items = sorted(set(items))
                return items[0] if len(items) == 1 else items
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return value

    return json.dumps(norm(doc), sort_keys=True)


def security_state(clients, spec):
    differences = []
    outputs = {"kms_keys": {}, "iam_roles": {}, "instance_profiles": {}, "secrets": {}}
    tags = spec["tags"]

    for key in spec["kms_keys"]:
        kms = clients("kms", key["region"])
        alias = "alias/" + key["alias"]
        try:
            meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
        except ClientError:
            differences.append(f"KMS key {alias} ({key['region']}) does not exist")
            continue
        if meta.get("KeyState") != "Enabled":
            differences.append(f"KMS key {alias} ({key['region']}) is {meta.get('KeyState')}")
        rotation = kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
        if not rotation:
            differences.append(f"KMS key {alias} ({key['region']}): rotation is off")
        key_tags = tag_dict(kms.list_resource_tags(KeyId=meta["KeyId"]).get("Tags"))
        diff_tags(f"KMS key {alias}", key_tags, tags, differences)
        if meta.get("Description", "") != key["description"]:
            differences.append(f"KMS key {alias}: description differs")
        if key.get("policy"):
            got = kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"]
            if canonical_policy(got) != canonical_policy(key["policy"]):
                differences.append(f"KMS key {alias} ({key['region']}): key policy differs")
        outputs["kms_keys"].setdefault(key["purpose"], {})[key["region"]] = {
            "arn": meta["Arn"],
            "id": meta["KeyId"],
            "alias": alias,
        }

    iam = clients("iam")
    for role in spec["iam_roles"]:
        try:
            got = iam.get_role(RoleName=role["name"])["Role"]
        except ClientError:
            differences.append(f"IAM role {role['name']} does not exist")
            continue
        outputs["iam_roles"][role["key"]] = got["Arn"]
        if _policy_doc(got["AssumeRolePolicyDocument"]) != _policy_doc(role["trust"]):
            differences.append(f"IAM role {role['name']}: trust policy differs")
        diff_tags(f"IAM role {role['name']}", tag_dict(got.get("Tags")), tags, differences)
        role_policy_drifts(iam, role, f"IAM role {role['name']}", differences)
        if role.get("instance_profile"):
            profiles = iam.list_instance_profiles_for_role(RoleName=role["name"])[
                "InstanceProfiles"
            ]
            match = [p for p in profiles if p["InstanceProfileName"] == role["name"]]
            if not match:
                differences.append(f"instance profile {role['name']} does not exist")
            else:
                outputs["instance_profiles"][role["key"]] = match[0]["Arn"]

    sm = clients("secretsmanager")
    for secret in spec["secrets"]:
        try:
            got = sm.describe_secret(SecretId=secret["name"])
        except ClientError:
            differences.append(f"secret {secret['name']} does not exist")
            continue
        if got.get("DeletedDate"):
            differences.append(f"secret {secret['name']} is scheduled for deletion")
        outputs["secrets"][secret["key"]] = got["ARN"]
        diff_tags(f"secret {secret['name']}", tag_dict(got.get("Tags")), tags, differences)
        key = outputs["kms_keys"].get(secret["kms_purpose"], {}).get(spec["region"], {})
        accepted = {key.get("arn"), key.get("id"), key.get("alias")}
        accepted.add(str(key.get("arn", "")).rsplit(":key/", 1)[0] + ":" + str(key.get("alias")))
        if got.get("KmsKeyId") not in accepted:
            differences.append(f"secret {secret['name']}: KMS key differs")
        if got.get("Description", "") != secret["description"]:
            differences.append(f"secret {secret['name']}: description differs")
        replicas = {r["Region"] for r in got.get("ReplicationStatus", [])}
        if replicas != set(secret.get("replica_regions", [])):
            differences.append(f"secret {secret['name']}: replica regions differ")
    return differences, outputs


# --------------------------------------------------------------------------- kinesis
def _streams_state(kinesis, kms, spec, streams, region, differences, outputs):
    try:
        key_id = kms.describe_key(KeyId=spec["key_alias"])["KeyMetadata"]["KeyId"]
    except ClientError:
        key_id = None
    where = f" ({region})" if region else ""
    for want in streams:
        label = f"stream {want['name']}{where}"
        try:
            got = kinesis.describe_stream_summary(StreamName=want["name"])[
                "StreamDescriptionSummary"
            ]
        except ClientError:
            differences.append(f"{label} does not exist")
            continue
        outputs[want["key"]] = {"name": want["name"], "arn": got["StreamARN"]}
        if got["StreamStatus"] not in ("ACTIVE", "UPDATING"):
            differences.append(f"{label} is {got['StreamStatus']}")
        if got.get("OpenShardCount") != want["shards"]:
            differences.append(
                f"{label}: {got.get('OpenShardCount')} shards, want {want['shards']}"
            )
        if got.get("RetentionPeriodHours") != want["retention_hours"]:
            differences.append(
                f"{label}: retention is {got.get('RetentionPeriodHours')} h, "
                f"want {want['retention_hours']} h"
            )
        key = str(got.get("KeyId", ""))
        if got.get("EncryptionType") != "KMS" or not (
            key == spec["key_alias"] or (key_id and key_id in key)
        ):
            differences.append(f"{label}: not encrypted with {spec['key_alias']}")
        tags = tag_dict(kinesis.list_tags_for_stream(StreamName=want["name"]).get("Tags"))
        diff_tags(label, tags, spec["tags"], differences)


def kinesis_state(clients, spec):
    """The streams of the region and, when ``dr_region`` is set, their DR copies there
    (same names, each region's own data key by the same alias)."""
    differences = []
    outputs = {"streams": {}}
    _streams_state(
        clients("kinesis"),
        clients("kms"),
        spec,
        spec["streams"],
        "",
        differences,
        outputs["streams"],
    )
    if spec.get("dr_region"):
        outputs["dr_region"] = spec["dr_region"]
        outputs["dr_streams"] = {}
        _streams_state(
            clients("kinesis", spec["dr_region"]),
            clients("kms", spec["dr_region"]),
            spec,
            spec["streams"],
            spec["dr_region"],
            differences,
            outputs["dr_streams"],
        )
    return differences, outputs


# --------------------------------------------------------------------------- s3
def lifecycle_rule_prefix(rule):
    """The key prefix a lifecycle rule applies to ("" = the whole bucket), in any of the
    shapes S3 returns: Filter.Prefix, Filter.And.Prefix or the legacy top-level Prefix."""
    filt = rule.get("Filter")
    if filt is None:
        return rule.get("Prefix") or ""
    if "And" in filt:
        return filt["And"].get("Prefix") or ""
    return filt.get("Prefix") or ""


def _bucket_state(s3, want, tags, kms_arn, differences, outputs):
    name = want["name"]
    try:
        s3.head_bucket(Bucket=name)
    except ClientError:
        differences.append(f"bucket {name} does not exist")
        return
    outputs[want["key"]] = {"name": name, "arn": f"arn:aws:s3:::{name}"}
    if want.get("replicate_to"):
        outputs[want["key"]]["replicate_to"] = want["replicate_to"]

    def get(call, default=None, **kwargs):
        try:
            return getattr(s3, call)(Bucket=name, **kwargs)
        except ClientError:
            return default

    if get("get_bucket_versioning", {}).get("Status") != "Enabled":
        differences.append(f"bucket {name}: versioning is not enabled")
    rules = (
        (get("get_bucket_encryption") or {})
        .get("ServerSideEncryptionConfiguration", {})
        .get("Rules", [])
    )
    sse = rules[0]["ApplyServerSideEncryptionByDefault"] if rules else {}
    if sse.get("SSEAlgorithm") != want["encryption"]:
        differences.append(
            f"bucket {name}: encryption is {sse.get('SSEAlgorithm')}, want {want['encryption']}"
        )
    elif want["encryption"] == "aws:kms" and sse.get("KMSMasterKeyID") not in (
        kms_arn,
        want["kms_alias"],
    ):
        differences.append(f"bucket {name}: not encrypted with {want['kms_alias']}")
    elif want["encryption"] == "aws:kms" and not rules[0].get("BucketKeyEnabled"):
        # The converge sets it (fewer KMS calls, the same encryption).
        differences.append(f"bucket {name}: S3 Bucket Key is not enabled")
    block = (get("get_public_access_block") or {}).get("PublicAccessBlockConfiguration", {})
    open_flags = [
        k
        for k in (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
        if not block.get(k)
    ]
    if open_flags:
        differences.append(
            f"bucket {name}: public access is not fully blocked "
            f"({', '.join(open_flags)} {'is' if len(open_flags) == 1 else 'are'} off)"
        )
    owner = (
        (get("get_bucket_ownership_controls") or {}).get("OwnershipControls", {}).get("Rules", [])
    )
    if not owner or owner[0].get("ObjectOwnership") != "BucketOwnerEnforced":
        differences.append(f"bucket {name}: object ownership is not BucketOwnerEnforced")
    got_tags = tag_dict((get("get_bucket_tagging") or {}).get("TagSet"))
    diff_tags(f"bucket {name}", got_tags, tags, differences)
    if want.get("policy"):
        got = (get("get_bucket_policy") or {}).get("Policy")
        if canonical_policy(got) != canonical_policy(want["policy"]):
            what = "bucket policy differs" if got else "no bucket policy"
            differences.append(f"bucket {name}: {what}")
    if want.get("lifecycle") is not None:
        lc = (get("get_bucket_lifecycle_configuration") or {}).get("Rules", [])
        got_lc = {}
        for rule in lc:
            got_lc[rule.get("ID")] = {
                "prefix": lifecycle_rule_prefix(rule),
                "transitions": sorted(
                    (t.get("Days"), t.get("StorageClass")) for t in rule.get("Transitions", [])
                ),
                "expiration_days": rule.get("Expiration", {}).get("Days"),
                "noncurrent_days": rule.get("NoncurrentVersionExpiration", {}).get(
                    "NoncurrentDays"
                ),
                "abort_multipart_days": rule.get("AbortIncompleteMultipartUpload", {}).get(
                    "DaysAfterInitiation"
                ),
            }
        want_lc = {}
        for rule in want["lifecycle"]:
            want_lc[rule["id"]] = {
                "prefix": rule.get("prefix") or "",
                "transitions": sorted(
                    (t["days"], t["storage_class"]) for t in rule.get("transitions", [])
                ),
                "expiration_days": rule.get("expiration_days"),
                "noncurrent_days": rule.get("noncurrent_expiration_days"),
                "abort_multipart_days": rule.get("abort_multipart_days"),
            }
        if got_lc != want_lc:
            differences.append(f"bucket {name}: lifecycle {got_lc} != {want_lc}")
    if want.get("object_lock"):
        lock = (get("get_object_lock_configuration") or {}).get("ObjectLockConfiguration", {})
        retention = lock.get("Rule", {}).get("DefaultRetention", {})
        if (
            lock.get("ObjectLockEnabled") != "Enabled"
            or retention.get("Mode") != want["object_lock"]["mode"]
            or retention.get("Days") != want["object_lock"]["days"]
        ):
            differences.append(f"bucket {name}: object lock differs ({lock})")
        else:
            outputs.setdefault("_object_locked", []).append(name)
    if want.get("replicate_to"):
        repl = (get("get_bucket_replication") or {}).get("ReplicationConfiguration", {})
        dests = {
            r.get("Destination", {}).get("Bucket")
            for r in repl.get("Rules", [])
            if r.get("Status") == "Enabled"
        }
        if (
            dests != {"arn:aws:s3:::" + want["replicate_to"]}
            or repl.get("Role") != want["replication_role_arn"]
        ):
            differences.append(
                f"bucket {name}: replication to {want['replicate_to']} is not configured"
            )


def s3_state(clients, spec):
    differences = []
    outputs = {"buckets": {}, "dr_buckets": {}}
    for region, key, buckets in (
        (spec["region"], "buckets", spec["buckets"]),
        (spec["dr_region"], "dr_buckets", spec["dr_buckets"]),
    ):
        if not buckets:
            continue
        s3 = clients("s3", region)
        kms = clients("kms", region)
        try:
            kms_arn = kms.describe_key(KeyId=spec["kms_alias"])["KeyMetadata"]["Arn"]
        except ClientError:
            kms_arn = None
        for want in buckets:
            _bucket_state(
                s3,
                dict(want, kms_alias=spec["kms_alias"]),
                spec["tags"],
                kms_arn,
                differences,
                outputs[key],
            )
    outputs["object_locked"] = sorted(
        outputs["buckets"].pop("_object_locked", [])
        + outputs["dr_buckets"].pop("_object_locked", [])
    )
    iam = clients("iam")
    if spec.get("replication_role"):
        try:
            role = iam.get_role(RoleName=spec["replication_role"])["Role"]
            outputs["replication_role_arn"] = role["Arn"]
        except ClientError:
            differences.append(f"IAM role {spec['replication_role']} does not exist")
    return differences, outputs


# --------------------------------------------------------------------------- dns
def dns_state(clients, spec):
    r53 = clients("route53")
    differences = []
    outputs = {"health_checks": {}, "records": {}}
    zone_name = spec["zone"].rstrip(".") + "."
    zones = [
        z
        for z in r53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"]
        if z["Name"] == zone_name and not z.get("Config", {}).get("PrivateZone")
    ]
    if not zones:
        return [f"hosted zone {spec['zone']} does not exist"], outputs
    zone_id = zones[0]["Id"].split("/")[-1]
    outputs.update(zone=spec["zone"], zone_id=zone_id)
    tags = r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)
    diff_tags(
        f"zone {spec['zone']}",
        tag_dict(tags["ResourceTagSet"].get("Tags")),
        spec["tags"],
        differences,
    )

    checks = []
    marker = None
    while True:
        page = r53.list_health_checks(**({"Marker": marker} if marker else {}))
        checks.extend(page["HealthChecks"])
        if not page.get("IsTruncated"):
            break
        marker = page["NextMarker"]
    check_tags = {}
    ids = [c["Id"] for c in checks]
    for start in range(0, len(ids), 10):
        batch = r53.list_tags_for_resources(
            ResourceType="healthcheck", ResourceIds=ids[start : start + 10]
        )
        for item in batch["ResourceTagSets"]:
            check_tags[item["ResourceId"]] = tag_dict(item.get("Tags"))
    by_name = {}
    for check in checks:
        name = check_tags.get(check["Id"], {}).get("Name")
        if name:
            by_name[name] = check
    for want in spec["health_checks"]:
        check = by_name.get(want["name"])
        if not check:
            differences.append(f"health check {want['name']} does not exist")
            continue
        outputs["health_checks"][want["name"]] = check["Id"]
        conf = check["HealthCheckConfig"]
        got = (
            conf.get("Type"),
            conf.get("FullyQualifiedDomainName"),
            conf.get("Port"),
            conf.get("ResourcePath"),
            conf.get("RequestInterval"),
            conf.get("FailureThreshold"),
        )
        wanted = (
            "HTTPS",
            want["fqdn"],
            want["port"],
            want["path"],
            spec["interval"],
            spec["failure_threshold"],
        )
        if got != wanted:
            differences.append(f"health check {want['name']}: {got} != {wanted}")
        diff_tags(
            f"health check {want['name']}",
            check_tags.get(check["Id"], {}),
            dict(spec["tags"], Name=want["name"]),
            differences,
        )

    records = []
    kwargs = {"HostedZoneId": zone_id}
    while True:
        page = r53.list_resource_record_sets(**kwargs)
        records.extend(page["ResourceRecordSets"])
        if not page.get("IsTruncated"):
            break
        kwargs.update(
            StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"]
        )
        if page.get("NextRecordIdentifier"):
            kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]
    # Failover pairs alias the two regions' load balancers (module_utils/aws_dns.py). A
    # record of another type under a pair's name and identifier (the CNAME pairs of
    # earlier versions) is in the way: the converge removes it first (stale_records).
    outputs["stale_records"] = []
    outputs["regional"] = {}
    # Every alias record of the layer as Route 53 has it (what the teardown deletes).
    outputs["alias_records"] = []
    for want in spec["records"]:
        fqdn = want["fqdn"].rstrip(".") + "."
        mine = [
            r for r in records if r["Name"] == fqdn and r.get("SetIdentifier") == want["identifier"]
        ]
        match = [r for r in mine if r["Type"] == want["type"]]
        for other in mine:
            if other["Type"] != want["type"]:
                differences.append(
                    f"record {want['fqdn']} {want['failover']}: a {other['Type']} record is in "
                    "the way"
                )
                outputs["stale_records"].append(
                    {
                        "fqdn": want["fqdn"],
                        "type": other["Type"],
                        "identifier": want["identifier"],
                        "failover": other.get("Failover"),
                        "health_check_id": other.get("HealthCheckId"),
                    }
                )
        if not match:
            differences.append(f"record {want['fqdn']} {want['failover']} does not exist")
            continue
        rec = match[0]
        outputs["alias_records"].append(_alias_record(rec, want))
        checks = [
            ("failover", rec.get("Failover"), want["failover"]),
            (
                "health check",
                rec.get("HealthCheckId"),
                outputs["health_checks"].get(want["health_check"]),
            ),
            *alias_differences(rec, want["alias"]),
        ]
        for what, have, wanted in checks:
            if have != wanted:
                differences.append(
                    f"record {want['fqdn']} {want['failover']} differs: {what} is {have}, "
                    f"want {wanted}"
                )
        outputs["records"].setdefault(want["key"], {})[want["failover"].lower()] = {
            "fqdn": want["fqdn"],
            "alias": alias_name(want["alias"]["dns_name"]),
            "set_identifier": want["identifier"],
            "health_check_id": rec.get("HealthCheckId"),
        }
    # Each region's own name, aliasing its load balancer: what its health check probes.
    for want in spec.get("regional_records") or []:
        fqdn = want["fqdn"].rstrip(".") + "."
        match = [
            r
            for r in records
            if r["Name"] == fqdn and r["Type"] == want["type"] and not r.get("SetIdentifier")
        ]
        if not match:
            differences.append(f"record {want['fqdn']} does not exist")
            continue
        outputs["alias_records"].append(_alias_record(match[0], want))
        for what, have, wanted in alias_differences(match[0], want["alias"]):
            differences.append(f"record {want['fqdn']} differs: {what} is {have}, want {wanted}")
        outputs["regional"].setdefault(want["key"], {})[want["region"]] = want["fqdn"]
    return differences, outputs


def _alias_record(rec, want):
    """A record of the layer as Route 53 has it: enough to delete it (aliases have no TTL
    or values; Route 53 wants the alias target as it stands)."""
    target = rec.get("AliasTarget") or {}
    return {
        "fqdn": want["fqdn"],
        "type": rec["Type"],
        "identifier": rec.get("SetIdentifier"),
        "failover": rec.get("Failover"),
        "health_check_id": rec.get("HealthCheckId"),
        "alias": {
            "dns_name": target.get("DNSName", "").rstrip("."),
            "zone_id": target.get("HostedZoneId"),
            "evaluate_target_health": bool(target.get("EvaluateTargetHealth")),
        },
    }


# --------------------------------------------------------------------------- fleet
LAUNCH_TEMPLATE_TAG = "aws:ec2launchtemplate:id"


def launch_template_differences(data, want):
    """What differs between a launch template version's LaunchTemplateData and the engine
    launch template the fleet layer wants (IMDSv2, encrypted gp3 root with the data key,
    the engines' security groups and subnet, the instance profile)."""
    out = []
    meta = data.get("MetadataOptions") or {}
    profile = (data.get("IamInstanceProfile") or {}).get("Arn")
    checks = [
        ("IMDSv2 (HttpTokens)", meta.get("HttpTokens"), "required"),
        ("metadata endpoint", meta.get("HttpEndpoint", "enabled"), "enabled"),
        ("instance profile", profile, want["instance_profile_arn"]),
        ("EBS optimized", bool(data.get("EbsOptimized")), True),
    ]
    if want.get("image_id"):
        checks.append(("AMI", data.get("ImageId"), want["image_id"]))
    elif not data.get("ImageId"):
        out.append("no AMI")
    roots = [
        m
        for m in data.get("BlockDeviceMappings") or []
        if m.get("DeviceName") == want["root_device"]
    ]
    if not roots:
        out.append(f"no root volume {want['root_device']}")
    else:
        ebs = roots[0].get("Ebs") or {}
        checks += [
            ("root volume type", ebs.get("VolumeType"), "gp3"),
            ("root volume encrypted", bool(ebs.get("Encrypted")), True),
            ("root volume KMS key", ebs.get("KmsKeyId"), want["kms_key_arn"]),
            ("root volume size", ebs.get("VolumeSize"), want["root_volume_size"]),
        ]
    enis = [n for n in data.get("NetworkInterfaces") or [] if n.get("DeviceIndex", 0) == 0]
    if not enis:
        out.append("no network interface at device index 0")
    else:
        eni = enis[0]
        checks += [
            (
                "security groups",
                sorted(eni.get("Groups") or []),
                sorted(want["security_group_ids"]),
            ),
            ("subnet", eni.get("SubnetId"), want["subnet_id"]),
            ("public IP", bool(eni.get("AssociatePublicIpAddress")), False),
        ]
    for label, got, wanted in checks:
        if got != wanted:
            out.append(f"{label} is {got}, want {wanted}")
    return out


def _launch_template_state(ec2, want, tags, differences, outputs):
    label = f"launch template {want['name']}"
    try:
        found = ec2.describe_launch_templates(LaunchTemplateNames=[want["name"]])["LaunchTemplates"]
    except ClientError:
        found = []
    if not found:
        differences.append(f"{label} does not exist")
        return None
    template = found[0]
    default = template.get("DefaultVersionNumber")
    latest = template.get("LatestVersionNumber")
    outputs["launch_template"] = {
        "name": template["LaunchTemplateName"],
        "id": template["LaunchTemplateId"],
        "version": default,
    }
    if default != latest:
        differences.append(f"{label}: default version {default} is not the latest ({latest})")
    version = ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=[str(default)]
    )["LaunchTemplateVersions"]
    data = version[0].get("LaunchTemplateData", {}) if version else {}
    differences.extend(f"{label}: {m}" for m in launch_template_differences(data, want))
    # The template's tags as CreateTags left them (moto leaves DescribeLaunchTemplates' Tags
    # at what the create gave; AWS reports the same in both).
    got_tags = ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": [template["LaunchTemplateId"]]}]
    ).get("Tags", [])
    diff_tags(label, tag_dict(got_tags), dict(tags, Name=want["name"]), differences)
    return template["LaunchTemplateId"]


def fleet_state(clients, spec):
    ec2 = clients("ec2")
    differences = []
    outputs = {"instances": {}}
    if spec.get("region"):
        outputs["region"] = spec["region"]
    template_id = None
    if spec.get("launch_template"):
        template_id = _launch_template_state(
            ec2, spec["launch_template"], spec["tags"], differences, outputs
        )
    names = [i["name"] for i in spec["instances"]]
    if not names:
        return differences, outputs
    reservations = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Name", "Values": names},
            {"Name": "tag:Environment", "Values": [spec["tags"]["Environment"]]},
            {
                "Name": "instance-state-name",
                "Values": ["pending", "running", "stopping", "stopped"],
            },
        ]
    )["Reservations"]
    found = {}
    for res in reservations:
        for inst in res["Instances"]:
            found.setdefault(tag_dict(inst.get("Tags")).get("Name"), []).append(inst)
    for want in spec["instances"]:
        name = want["name"]
        insts = found.get(name, [])
        if not insts:
            differences.append(f"instance {name} does not exist")
            continue
        if len(insts) > 1:
            differences.append(f"instance {name}: {len(insts)} instances carry this name")
        inst = insts[0]
        enis = sorted(
            inst.get("NetworkInterfaces", []), key=lambda e: e["Attachment"]["DeviceIndex"]
        )
        outputs["instances"][name] = {
            "id": inst["InstanceId"],
            "private_ip": inst.get("PrivateIpAddress"),
            "az": inst["Placement"]["AvailabilityZone"],
            "subnet_id": inst.get("SubnetId"),
            "enis": [e["NetworkInterfaceId"] for e in enis],
        }
        meta = inst.get("MetadataOptions") or {}
        checks = [
            ("state", inst["State"]["Name"], "running"),
            ("instance type", inst["InstanceType"], want["instance_type"]),
            ("subnet", inst.get("SubnetId"), spec["subnet_id"]),
            ("IMDSv2 (HttpTokens)", meta.get("HttpTokens"), "required"),
            # moto leaves HttpEndpoint out after ModifyInstanceMetadataOptions: AWS's
            # default (enabled) stands in for an absent value.
            ("metadata endpoint", meta.get("HttpEndpoint", "enabled"), "enabled"),
            ("metadata hop limit", meta.get("HttpPutResponseHopLimit"), 1),
            ("EBS optimized", bool(inst.get("EbsOptimized")), True),
            ("tenancy", inst["Placement"].get("Tenancy", "default"), spec["tenancy"]),
            (
                "instance profile",
                inst.get("IamInstanceProfile", {}).get("Arn"),
                spec["instance_profile_arn"],
            ),
            ("extra ENIs", len(enis) - 1, int(want.get("extra_enis") or 0)),
        ]
        if spec.get("launch_template"):
            # EC2 tags an instance launched from a template with the template's id.
            raw = {t.get("Key"): t.get("Value") for t in inst.get("Tags", [])}
            checks.append(("launch template", raw.get(LAUNCH_TEMPLATE_TAG), template_id))
        if spec.get("placement_group"):
            checks.append(
                ("placement group", inst["Placement"].get("GroupName"), spec["placement_group"])
            )
        if enis:
            groups = sorted(g["GroupId"] for g in enis[0].get("Groups", []))
            checks.append(("security groups", groups, sorted(spec["security_group_ids"])))
        for label, got, wanted in checks:
            if got != wanted:
                differences.append(f"instance {name}: {label} is {got}, want {wanted}")
        diff_tags(
            f"instance {name}",
            tag_dict(inst.get("Tags")),
            dict(spec["tags"], Name=name),
            differences,
        )
    return differences, outputs


# --------------------------------------------------------------------------- eks
def eks_state(clients, spec):
    eks = clients("eks")
    differences = []
    outputs = {"nodegroups": {}}
    want = spec["cluster"]
    if spec.get("region"):
        outputs["region"] = spec["region"]
    try:
        cluster = eks.describe_cluster(name=want["name"])["cluster"]
    except ClientError:
        return [f"EKS cluster {want['name']} does not exist"], outputs
    vpc = cluster.get("resourcesVpcConfig") or {}
    outputs["cluster"] = {
        "name": cluster["name"],
        "arn": cluster["arn"],
        "version": cluster.get("version"),
        "endpoint": cluster.get("endpoint"),
        "oidc_issuer": ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer"),
        "cluster_security_group_id": vpc.get("clusterSecurityGroupId"),
        "endpoint_private_access": vpc.get("endpointPrivateAccess"),
        "endpoint_public_access": vpc.get("endpointPublicAccess"),
    }
    if cluster.get("status") not in ("ACTIVE", "UPDATING"):
        differences.append(f"EKS cluster {want['name']} is {cluster.get('status')}")
    for _kind, message in cluster_differences(cluster, want):
        differences.append(f"EKS cluster {want['name']}: {message}")
    diff_tags(f"EKS cluster {want['name']}", cluster.get("tags") or {}, spec["tags"], differences)
    for ng in spec["nodegroups"]:
        label = f"node group {ng['name']}"
        try:
            got = eks.describe_nodegroup(clusterName=want["name"], nodegroupName=ng["name"])[
                "nodegroup"
            ]
        except ClientError:
            differences.append(f"{label} does not exist")
            continue
        scaling = got.get("scalingConfig") or {}
        outputs["nodegroups"][ng["key"]] = {
            "name": got["nodegroupName"],
            "arn": got["nodegroupArn"],
            "capacity_type": got.get("capacityType"),
            "instance_types": got.get("instanceTypes"),
            "min_size": scaling.get("minSize"),
            "max_size": scaling.get("maxSize"),
            "desired_size": scaling.get("desiredSize"),
        }
        if ng.get("failover_min_size") is not None:
            # What the DR runbook raises minSize to when this region takes over.
            outputs["nodegroups"][ng["key"]]["failover_min_size"] = ng["failover_min_size"]
        if got.get("status") not in ("ACTIVE", "UPDATING"):
            differences.append(f"{label} is {got.get('status')}")
        _update, messages, immutable = nodegroup_differences(got, ng)
        differences.extend(f"{label}: {m}" for m in messages + immutable)
        diff_tags(label, got.get("tags") or {}, spec["tags"], differences)
    issuer = outputs["cluster"]["oidc_issuer"]
    if spec.get("oidc_provider") is not None:
        _eks_oidc_state(clients("iam"), spec, cluster, issuer, differences, outputs)
    if spec.get("addons"):
        _eks_addons_state(eks, spec, cluster, differences, outputs)
    return differences, outputs


def _eks_addons_state(eks, spec, cluster, differences, outputs):
    """The managed add-ons (not in the lab: moto has no add-on API, its spec lists none)."""
    outputs["addons"] = {}
    for want in spec["addons"]:
        try:
            got = eks.describe_addon(clusterName=cluster["name"], addonName=want["name"])["addon"]
        except ClientError:
            differences.append(f"add-on {want['name']} does not exist")
            continue
        version = want["version"]
        if version in SYMBOLIC:
            versions = eks.describe_addon_versions(
                addonName=want["name"], kubernetesVersion=cluster.get("version")
            )
            try:
                version = resolve_version(versions.get("addons"), cluster.get("version"), version)
            except AddonError as exc:
                differences.append(f"add-on {want['name']}: {exc}")
                continue
        outputs["addons"][want["name"]] = {
            "version": got.get("addonVersion"),
            "status": got.get("status"),
            "arn": got.get("addonArn"),
        }
        _update, messages, _notes = addon_differences(got, dict(want, version=version))
        differences.extend(messages)
        problem = addon_status_problem(got)
        if problem:
            differences.append(problem)
        diff_tags(f"add-on {want['name']}", got.get("tags") or {}, spec["tags"], differences)


def _eks_oidc_state(iam, spec, cluster, issuer, differences, outputs):
    """The cluster's IAM OIDC provider and the IAM roles of its service accounts (IRSA)."""
    if not issuer:
        differences.append(f"EKS cluster {cluster['name']} has no OIDC issuer")
        return
    # The provider's ARN is the account's (the cluster's ARN names it) and the issuer's host.
    arn_parts = cluster["arn"].split(":")
    want_arn = provider_arn(arn_parts[4], issuer, arn_parts[1])
    outputs["irsa_roles"] = {}
    listed = {p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    label = f"OIDC provider {issuer_host(issuer)}"
    if want_arn not in listed:
        differences.append(f"{label} does not exist")
    else:
        outputs["oidc_provider_arn"] = want_arn
        got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=want_arn)
        have_ids = sorted(got.get("ClientIDList") or [])
        want_ids = sorted(spec["oidc_provider"]["client_ids"])
        if have_ids != want_ids:
            differences.append(f"{label}: audiences {have_ids}, want {want_ids}")
        diff_tags(label, tag_dict(got.get("Tags")), spec["tags"], differences)
    # The roles trust this cluster's provider and the DR cluster's (spec: its issuer, from
    # the eks-dr layer's outputs), so they serve the same service accounts after failover.
    trusted = trusted_providers(
        arn_parts[4], [issuer, *(spec.get("irsa_peer_issuers") or [])], arn_parts[1]
    )
    if spec.get("irsa_roles"):
        outputs["irsa_trusted_providers"] = [arn for arn, _issuer in trusted]
    for role in spec.get("irsa_roles", []):
        _irsa_role_state(iam, spec, role, trusted, differences, outputs)


def _irsa_role_state(iam, spec, role, trusted, differences, outputs):
    label = f"IRSA role {role['name']} ({role['namespace']}/{role['service_account']})"
    try:
        got = iam.get_role(RoleName=role["name"])["Role"]
    except ClientError:
        differences.append(f"{label} does not exist")
        return
    outputs["irsa_roles"][role["key"]] = {
        "name": role["name"],
        "arn": got["Arn"],
        "namespace": role["namespace"],
        "service_account": role["service_account"],
    }
    trust = trust_policy(trusted, role["namespace"], role["service_account"])
    if canonical_policy(got.get("AssumeRolePolicyDocument")) != canonical_policy(trust):
        differences.append(
            f"{label}: trust policy differs (not its service account through the OIDC "
            f"providers of the {len(trusted)} cluster(s))"
        )
    if got.get("Description", "") != role["description"]:
        differences.append(f"{label}: description differs")
    diff_tags(label, tag_dict(got.get("Tags")), spec["tags"], differences)
    role_policy_drifts(iam, role, label, differences)


# --------------------------------------------------------------------------- rds
def _version_tuple(text):
    out = []
    for part in str(text).split("."):
        out.append(int(part) if part.isdigit() else 0)
    return tuple(out)


def _rds_tags(rds, item):
    if "TagList" in item:
        return tag_dict(item["TagList"])
    arn = (
        item.get("DBInstanceArn") or item.get("DBSubnetGroupArn") or item.get("DBParameterGroupArn")
    )
    return tag_dict(rds.list_tags_for_resource(ResourceName=arn).get("TagList"))


def _rds_instance(rds, identifier):
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError:
        return None
    return found[0] if found else None


def _rds_instance_checks(got, want, check_pi):
    """(label, actual, desired) of one DB instance; read replicas check fewer fields."""
    checks = [
        ("instance class", got.get("DBInstanceClass"), want["instance_class"]),
        ("storage encrypted", got.get("StorageEncrypted"), True),
        ("KMS key", got.get("KmsKeyId"), want["kms_key_arn"]),
        ("publicly accessible", got.get("PubliclyAccessible", False), False),
        ("monitoring interval", got.get("MonitoringInterval", 0), want["monitoring_interval"]),
        ("deletion protection", got.get("DeletionProtection"), want["deletion_protection"]),
    ]
    if want.get("security_group_ids") is not None:
        checks.append(
            (
                "security groups",
                sorted(g["VpcSecurityGroupId"] for g in got.get("VpcSecurityGroups", [])),
                sorted(want["security_group_ids"]),
            )
        )
    if want.get("multi_az") is not None:
        checks.append(("Multi-AZ", got.get("MultiAZ"), want["multi_az"]))
    if check_pi:
        checks.append(
            (
                "Performance Insights",
                bool(got.get("PerformanceInsightsEnabled")),
                want["performance_insights"],
            )
        )
    return checks


def _rds_subnet_group_state(rds, group, tags, where, differences):
    """Compare one DB subnet group; True when it exists."""
    label = f"DB subnet group {group['name']}{where}"
    try:
        got = rds.describe_db_subnet_groups(DBSubnetGroupName=group["name"])["DBSubnetGroups"]
    except ClientError:
        got = []
    if not got:
        differences.append(f"{label} does not exist")
        return False
    got = got[0]
    have = sorted(s["SubnetIdentifier"] for s in got.get("Subnets", []))
    if have != sorted(group["subnet_ids"]):
        differences.append(f"{label}: subnets {have}, want {sorted(group['subnet_ids'])}")
    diff_tags(label, _rds_tags(rds, got), tags, differences)
    return True


def replica_checks(got, rep, check_subnets=True):
    """(label, actual, desired) a replica adds to the common instance checks: where it lives
    (subnet group, and its subnets unless ``check_subnets`` is false) and the automated
    backups a cross-region replica needs before it can be promoted safely."""
    checks = []
    subnet_group = got.get("DBSubnetGroup") or {}
    if rep.get("subnet_group"):
        checks.append(("subnet group", subnet_group.get("DBSubnetGroupName"), rep["subnet_group"]))
        if check_subnets and rep.get("subnet_ids") is not None:
            have = sorted(s.get("SubnetIdentifier") for s in subnet_group.get("Subnets", []))
            checks.append(("subnets", have, sorted(rep["subnet_ids"])))
    if rep.get("backup_retention") is not None:
        checks.append(
            ("backup retention", got.get("BackupRetentionPeriod", 0), rep["backup_retention"])
        )
    return checks


def rds_state(clients, spec):
    rds = clients("rds")
    differences = []
    outputs = {"replicas": {}}
    tags = spec["tags"]

    group = spec["subnet_group"]
    if _rds_subnet_group_state(rds, group, tags, "", differences):
        outputs["subnet_group"] = group["name"]
    # The DR region's group of the same name, over the DR network's database subnets.
    dr_group = spec.get("dr_subnet_group")
    if dr_group:
        where = f" ({dr_group['region']})"
        if _rds_subnet_group_state(
            clients("rds", dr_group["region"]), dr_group, tags, where, differences
        ):
            outputs["dr_subnet_group"] = {
                "name": dr_group["name"],
                "region": dr_group["region"],
                "subnet_ids": sorted(dr_group["subnet_ids"]),
            }

    pg = spec.get("parameter_group")
    try:
        if not pg:
            raise KeyError("no parameter group")
        got = rds.describe_db_parameter_groups(DBParameterGroupName=pg["name"])["DBParameterGroups"]
        if not got:
            raise LookupError(pg["name"])
        got = got[0]
        if got.get("DBParameterGroupFamily") != pg["family"]:
            differences.append(
                f"DB parameter group {pg['name']}: family {got.get('DBParameterGroupFamily')}"
            )
        values = {}
        for page in rds.get_paginator("describe_db_parameters").paginate(
            DBParameterGroupName=pg["name"], Source="user"
        ):
            for param in page["Parameters"]:
                values[param["ParameterName"]] = param.get("ParameterValue")
        for name, value in pg["parameters"].items():
            if str(values.get(name)) != str(value):
                differences.append(
                    f"DB parameter group {pg['name']}: {name} is {values.get(name)}, want {value}"
                )
        diff_tags(f"DB parameter group {pg['name']}", _rds_tags(rds, got), tags, differences)
        outputs["parameter_group"] = pg["name"]
    except KeyError:
        pass  # the engine's default group (the lab: docs/aws.md)
    except (ClientError, LookupError):
        differences.append(f"DB parameter group {pg['name']} does not exist")

    want = spec["primary"]
    got = _rds_instance(rds, want["identifier"])
    if got is None:
        return [*differences, f"DB instance {want['identifier']} does not exist"], outputs
    outputs["primary"] = {
        "identifier": got["DBInstanceIdentifier"],
        "arn": got["DBInstanceArn"],
        "address": (got.get("Endpoint") or {}).get("Address"),
        "port": (got.get("Endpoint") or {}).get("Port"),
        "engine_version": got.get("EngineVersion"),
    }
    outputs["master_secret_arn"] = spec.get("master_secret_arn")
    label = f"DB instance {want['identifier']}"
    checks = _rds_instance_checks(got, want, spec.get("check_performance_insights", True))
    have_version = str(got.get("EngineVersion", ""))
    checks += [
        ("engine", got.get("Engine"), "postgres"),
        # Minor upgrades happen in the maintenance window: a newer minor of the same major is fine.
        (
            "engine version",
            have_version.split(".", maxsplit=1)[0]
            == str(want["engine_version"]).split(".", maxsplit=1)[0]
            and _version_tuple(have_version) >= _version_tuple(want["engine_version"]),
            True,
        ),
        # Storage autoscaling grows the allocation: at least what was asked for.
        ("allocated storage", got.get("AllocatedStorage", 0) >= want["allocated_storage"], True),
        ("max allocated storage", got.get("MaxAllocatedStorage"), want["max_allocated_storage"]),
        ("storage type", got.get("StorageType"), want["storage_type"]),
        ("backup retention", got.get("BackupRetentionPeriod"), want["backup_retention"]),
        ("backup window", got.get("PreferredBackupWindow"), want["backup_window"]),
        (
            "maintenance window",
            str(got.get("PreferredMaintenanceWindow", "")).lower(),
            want["maintenance_window"].lower(),
        ),
        ("subnet group", (got.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"), group["name"]),
        ("copy tags to snapshots", got.get("CopyTagsToSnapshot"), True),
        (
            "CloudWatch log exports",
            sorted(got.get("EnabledCloudwatchLogsExports", [])),
            sorted(want["cloudwatch_logs_exports"]),
        ),
    ]
    if pg:
        checks.append(
            (
                "parameter group",
                [g["DBParameterGroupName"] for g in got.get("DBParameterGroups", [])],
                [pg["name"]],
            )
        )
    if want["storage_type"] == "gp3":
        checks += [
            ("IOPS", got.get("Iops"), want["iops"]),
            ("storage throughput", got.get("StorageThroughput"), want["storage_throughput"]),
        ]
    for what, have, wanted in checks:
        if have != wanted:
            differences.append(f"{label}: {what} is {have}, want {wanted}")
    # The primary carries extra tags (the AWS Backup selection's Backup=true).
    diff_tags(label, _rds_tags(rds, got), want.get("tags", tags), differences)

    for rep in spec["replicas"]:
        client = clients("rds", rep["region"]) if rep["region"] != spec["region"] else rds
        label = f"read replica {rep['identifier']} ({rep['region']})"
        got = _rds_instance(client, rep["identifier"])
        if got is None:
            differences.append(f"{label} does not exist")
            continue
        outputs["replicas"][rep["key"]] = {
            "identifier": got["DBInstanceIdentifier"],
            "arn": got["DBInstanceArn"],
            "region": rep["region"],
            "address": (got.get("Endpoint") or {}).get("Address"),
            "port": (got.get("Endpoint") or {}).get("Port"),
        }
        if rep.get("subnet_group"):
            outputs["replicas"][rep["key"]].update(
                subnet_group=(got.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
                security_group_ids=sorted(
                    g["VpcSecurityGroupId"] for g in got.get("VpcSecurityGroups", [])
                ),
                backup_retention=got.get("BackupRetentionPeriod"),
            )
        source = got.get("ReadReplicaSourceDBInstanceIdentifier")
        if source not in (want["identifier"], outputs["primary"]["arn"]):
            differences.append(f"{label}: replicates {source}, want {want['identifier']}")
        checks = _rds_instance_checks(
            got, dict(rep, multi_az=None), spec.get("check_performance_insights", True)
        )
        checks += replica_checks(got, rep, spec.get("check_replica_subnets", True))
        for what, have, wanted in checks:
            if have != wanted:
                differences.append(f"{label}: {what} is {have}, want {wanted}")
        diff_tags(label, _rds_tags(client, got), tags, differences)
    return differences, outputs


# --------------------------------------------------------------------------- elasticache
def elasticache_state(clients, spec):
    ec = clients("elasticache")
    differences = []
    outputs = {}
    group = spec["subnet_group"]
    try:
        got = ec.describe_cache_subnet_groups(CacheSubnetGroupName=group["name"])[
            "CacheSubnetGroups"
        ][0]
        have = sorted(s["SubnetIdentifier"] for s in got.get("Subnets", []))
        if have != sorted(group["subnet_ids"]):
            differences.append(f"cache subnet group {group['name']}: subnets differ")
        outputs["subnet_group"] = group["name"]
    except ClientError:
        differences.append(f"cache subnet group {group['name']} does not exist")

    want = spec["replication_group"]
    gid = want["replication_group_id"]
    try:
        got = ec.describe_replication_groups(ReplicationGroupId=gid)["ReplicationGroups"][0]
    except ClientError:
        return [*differences, f"replication group {gid} does not exist"], outputs
    member = None
    # A member carries the engine version, security groups, parameter group, subnet group
    # and maintenance window. A describe error is an error (the module fails, naming it);
    # only the lab switches the member checks off (describe_members: moto hides them).
    if got.get("MemberClusters") and spec.get("describe_members", True):
        member = ec.describe_cache_clusters(CacheClusterId=got["MemberClusters"][0])[
            "CacheClusters"
        ][0]
    node_group = (got.get("NodeGroups") or [{}])[0]
    outputs.update(
        replication_group_id=gid,
        arn=got.get("ARN"),
        primary_endpoint=node_group.get("PrimaryEndpoint"),
        reader_endpoint=node_group.get("ReaderEndpoint"),
        transit_encryption=got.get("TransitEncryptionEnabled"),
        auth_secret_arn=spec.get("auth_secret_arn"),
        members=got.get("MemberClusters"),
    )
    if got.get("Status") not in ("available", "modifying", "snapshotting"):
        differences.append(f"replication group {gid} is {got.get('Status')}")
    _modify, _replicas, messages, immutable = replication_group_differences(
        got, want, member, spec.get("strict_member_count", True)
    )
    differences.extend(f"replication group {gid}: {m}" for m in messages + immutable)
    tags = tag_dict(ec.list_tags_for_resource(ResourceName=got["ARN"]).get("TagList"))
    diff_tags(f"replication group {gid}", tags, spec["tags"], differences)
    return differences, outputs


# --------------------------------------------------------------------------- dr-state
def dr_state_state(clients, spec):
    """The DR state records (docs/dr.md) in every region of ``spec["regions"]``.

    Converged when each region has every name of ``spec["records"]`` under the prefix
    (``active`` and ``epochs/00000001``) holding a DR record. The layer only ever creates
    a missing record, never rewrites one: a record that is not a DR record is reported for
    a person (or the DR runbooks) to repair, and the verify step then fails. The outputs
    name each region's ``active`` record and the authoritative one (highest epoch)."""
    differences = []
    prefix = spec["prefix"].rstrip("/")
    outputs = {"prefix": prefix, "regions": {}}
    active = {}
    for region in spec["regions"]:
        ssm = clients("ssm", region)
        names = [f"{prefix}/{name}" for name in spec["records"]]
        found = {p["Name"]: p for p in ssm.get_parameters(Names=names).get("Parameters", [])}
        for name in names:
            label = f"DR state {name} ({region})"
            if name not in found:
                differences.append(f"{label} does not exist")
                continue
            try:
                record = parse_record(found[name].get("Value"))
            except ValueError as err:
                differences.append(
                    f"{label} is not a DR record ({err}); site.yml never rewrites a record: "
                    "repair it with the DR runbooks (docs/dr.md)"
                )
                continue
            if record["active_region"] not in spec["regions"]:
                differences.append(
                    f"{label} names {record['active_region']}, not one of {spec['regions']}"
                )
            if name.endswith("/active"):
                active[region] = record
                outputs["regions"][region] = {
                    k: record.get(k) for k in ("active_region", "epoch", "changed_at", "verb")
                }
    record, regions, conflict = authoritative(active)
    outputs.update(
        active_region=None if conflict or not record else record["active_region"],
        epoch=record["epoch"] if record else None,
        authoritative_regions=regions,
        conflict=conflict,
    )
    return differences, outputs


LAYERS = {
    "network": network_state,
    "security": security_state,
    "kinesis": kinesis_state,
    "s3": s3_state,
    "dns": dns_state,
    "fleet": fleet_state,
    "eks": eks_state,
    "rds": rds_state,
    "elasticache": elasticache_state,
    "dr-state": dr_state_state,
}
