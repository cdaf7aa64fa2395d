"""Every compared field of every AWS layer, drifted one at a time (issue 23).

Each layer's converge is skipped when aws_layer_state says the layer matches its spec, so
a field the comparison forgets is drift that is never repaired. For each layer (and the DR
copies network-dr, fleet-dr, eks-dr, which run the same state function on the DR region's
spec) this file:

* renders the layer's spec as its role builds it (aws_specs.py: the role's defaults and
  vars with the production and the lab inventory);
* builds a converged AWS world from that spec (aws_worlds.py: fake clients answering in
  AWS's shapes) and checks the layer reports nothing;
* changes ONE field of the describe answer, as a change made outside Ansible would, and
  checks the layer reports drift that names that field.

The table is generated from the specs: every field of a rendered spec must be drifted by
at least one case below, or be listed in NOT_COMPARED with the reason (an outputs key, the
region the module is pointed at, a lab switch ...). A field a role adds to its spec without
a comparison fails test_every_spec_field_is_drifted_or_explained. INVARIANTS are what a
layer enforces whatever the spec says (versioning, public access block, IMDSv2, ...): they
are drifted too, so removing one of those comparisons fails a test as well.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from .aws_specs import LAYERS, STATE_LAYER, render
from .aws_worlds import World, build

INVENTORIES = ("production", "lab")
# Free-form maps: their keys are data, not fields (one case drifts any key).
MAPS = {
    "tags",
    "primary.tags",
    "parameter_group.parameters",
    "nodegroups[].labels",
    "alarms[].dimensions",
    "regions[].alarms[].dimensions",
}
INVARIANT = "(invariant) "


def leaves(value, path=""):
    """Field paths of a spec: list items as [], free-form maps as .*."""
    if isinstance(value, dict) and path not in MAPS:
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, dict):
        yield path + ".*"
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for item in value:
            yield from leaves(item, path + "[]")
    elif isinstance(value, list):
        yield path + "[]"
    else:
        yield path


_SPECS: dict[tuple[str, str], dict] = {}


def spec_of(layer: str, inventory: str = "production") -> dict:
    if (layer, inventory) not in _SPECS:
        _SPECS[(layer, inventory)] = render(layer, inventory)
    return copy.deepcopy(_SPECS[(layer, inventory)])


@dataclass(frozen=True)
class Drift:
    field: str  # the spec field (leaf path or a prefix of it), or INVARIANT + what
    name: str
    mutate: Callable[[World, dict], None]
    needle: str  # a regular expression one difference must match


def _tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def _retag(item, **change):
    tags = _tags(item)
    for key, value in change.items():
        if value is None:
            tags.pop(key, None)
        else:
            tags[key] = value
    item["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]


def _drop_tag(item):
    _retag(item, CostCenter=None)


# --------------------------------------------------------------------------- network
def _ec2(w):
    return w.d("ec2")


def _named(items, name):
    return next(i for i in items if _tags(i).get("Name") == name)


def _private_subnet(w, s):
    want = next(x for x in s["subnets"] if not x["public"])
    return _named(_ec2(w)["subnets"], want["name"]), want


def _table_with(s, pred):
    return next(t for t in s["route_tables"] if pred(t))


def _route(w, s, kind):
    want = _table_with(s, lambda t: any(kind in r for r in t["routes"]))
    table = _named(_ec2(w)["route_tables"], want["name"])
    route = next(r for r in table["Routes"] if r.get("GatewayId") != "local")
    return table, route, want


def _sg(w, s, pred=lambda g: True):
    want = next(g for g in s["security_groups"] if pred(g))
    got = next(g for g in _ec2(w)["security_groups"] if g["GroupName"] == want["name"])
    return got, want


def _perm(w, s, direction, kind):
    """A permission of one group in `direction` whose peer is `kind` (cidr, group, self)."""
    key = "IpPermissions" if direction == "ingress" else "IpPermissionsEgress"
    for group in _ec2(w)["security_groups"]:
        for perm in group[key]:
            pairs = perm["UserIdGroupPairs"]
            if kind == "cidr" and perm["IpRanges"]:
                return group, perm
            if kind == "self" and pairs and pairs[0]["GroupId"] == group["GroupId"]:
                return group, perm
            if kind == "group" and pairs and pairs[0]["GroupId"] != group["GroupId"]:
                return group, perm
    raise LookupError((direction, kind))


def _perm_with_ports(w, s, direction):
    key = "IpPermissions" if direction == "ingress" else "IpPermissionsEgress"
    for group in _ec2(w)["security_groups"]:
        for perm in group[key]:
            if perm["IpProtocol"] == "tcp":
                return group, perm
    raise LookupError(direction)


def _first_peer(permission):
    """The first CIDR range of a permission, or its first group pair."""
    return (permission["IpRanges"] or permission["UserIdGroupPairs"])[0]


def _remove_route(table, route, _world):
    table["Routes"].remove(route)


def _rename_first_inline_policy(role, want):
    role["inline"].update(x=role["inline"].pop(want["inline_policies"][0]["name"]))


def _set(obj, **values):
    obj.update(values)


def _endpoint(w, s, kind):
    want = next(e for e in s["vpc_endpoints"] if e["type"] == kind)
    got = next(e for e in _ec2(w)["endpoints"] if e["ServiceName"] == want["service_name"])
    return got, want


def _rules(direction):
    rules = "rules to add"
    return [
        Drift(
            f"security_groups[].{direction}[].proto",
            f"{direction}-proto",
            lambda w, s: _set(_perm_with_ports(w, s, direction)[1], IpProtocol="udp"),
            rules,
        ),
        Drift(
            f"security_groups[].{direction}[].ports[]",
            f"{direction}-ports",
            lambda w, s: _set(_perm_with_ports(w, s, direction)[1], FromPort=1, ToPort=65535),
            rules,
        ),
        Drift(
            f"security_groups[].{direction}[].cidr",
            f"{direction}-cidr",
            lambda w, s: _set(_perm(w, s, direction, "cidr")[1]["IpRanges"][0], CidrIp="::/0"),
            rules,
        ),
        Drift(
            f"security_groups[].{direction}[].group",
            f"{direction}-group",
            lambda w, s: _set(
                _perm(w, s, direction, "group")[1]["UserIdGroupPairs"][0], GroupId="sg-other"
            ),
            rules,
        ),
        Drift(
            f"security_groups[].{direction}[].description",
            f"{direction}-description",
            lambda w, s: _set(
                _first_peer(_perm(w, s, direction, "cidr")[1]), Description="changed by hand"
            ),
            rules,
        ),
    ]


NETWORK = [
    Drift(
        "name",
        "vpc-name",
        lambda w, s: _retag(_ec2(w)["vpcs"][0], Name="x"),
        r"^VPC .* does not exist",
    ),
    Drift(
        "vpc_cidr",
        "vpc-cidr",
        lambda w, s: _set(_ec2(w)["vpcs"][0], CidrBlock="10.9.0.0/16"),
        r"^VPC .* does not exist",
    ),
    Drift(
        "tags.*", "vpc-tags", lambda w, s: _drop_tag(_ec2(w)["vpcs"][0]), r"^VPC .*: tags differ"
    ),
    Drift(
        "tags.*",
        "subnet-tags",
        lambda w, s: _drop_tag(_ec2(w)["subnets"][0]),
        r"^subnet .*: tags differ",
    ),
    Drift(
        "tags.*",
        "igw-tags",
        lambda w, s: _drop_tag(_ec2(w)["igws"][0]),
        r"^internet gateway: tags differ",
    ),
    Drift(
        "tags.*",
        "eip-tags",
        lambda w, s: _drop_tag(_ec2(w)["addresses"][0]),
        r"^elastic IP .*: tags differ",
    ),
    Drift(
        "tags.*",
        "nat-tags",
        lambda w, s: _drop_tag(_ec2(w)["nats"][0]),
        r"^NAT gateway .*: tags differ",
    ),
    Drift(
        "tags.*",
        "route-table-tags",
        lambda w, s: _drop_tag(_ec2(w)["route_tables"][0]),
        r"^route table .*: tags differ",
    ),
    Drift(
        "tags.*",
        "security-group-tags",
        lambda w, s: _drop_tag(_ec2(w)["security_groups"][0]),
        r"^security group .*: tags differ",
    ),
    Drift(
        "tags.*",
        "endpoint-tags",
        lambda w, s: _drop_tag(_ec2(w)["endpoints"][0]),
        r"^VPC endpoint .*: tags differ",
    ),
    Drift(
        "tags.*",
        "flow-log-tags",
        lambda w, s: _drop_tag(_ec2(w)["flow_logs"][0]),
        r"^VPC flow log: tags differ",
    ),
    Drift(
        "subnets[].name",
        "subnet-name",
        lambda w, s: _retag(_ec2(w)["subnets"][0], Name="x"),
        r"^subnet .* does not exist",
    ),
    Drift(
        "subnets[].tier",
        "subnet-tier",
        lambda w, s: _retag(_ec2(w)["subnets"][0], Tier="x"),
        r"^subnet .*: tags differ .*Tier",
    ),
    Drift(
        "subnets[].az",
        "subnet-az",
        lambda w, s: _set(_ec2(w)["subnets"][0], AvailabilityZone="us-east-1f"),
        r"^subnet .* in us-east-1f, want .* in ",
    ),
    Drift(
        "subnets[].cidr",
        "subnet-cidr",
        lambda w, s: _set(_ec2(w)["subnets"][0], CidrBlock="10.0.250.0/24"),
        r"^subnet .*: 10\.0\.250\.0/24 in .*, want ",
    ),
    Drift(
        "subnets[].public",
        "subnet-public-ip",
        lambda w, s: _set(_private_subnet(w, s)[0], MapPublicIpOnLaunch=True),
        r"^subnet .*: MapPublicIpOnLaunch differs",
    ),
    Drift(
        "nat_gateways[].name",
        "nat-name",
        lambda w, s: _retag(_ec2(w)["nats"][0], Name="x"),
        r"^NAT gateway .* does not exist",
    ),
    Drift(
        "nat_gateways[].eip_name",
        "nat-eip",
        lambda w, s: _retag(_ec2(w)["addresses"][0], Name="x"),
        r"^elastic IP .* does not exist",
    ),
    Drift(
        "nat_gateways[].subnet",
        "nat-subnet",
        lambda w, s: _set(_ec2(w)["nats"][0], SubnetId="subnet-elsewhere"),
        r"^NAT gateway .* is not in subnet ",
    ),
    Drift(
        "route_tables[].name",
        "route-table-name",
        lambda w, s: _retag(_ec2(w)["route_tables"][0], Name="x"),
        r"^route table .* does not exist",
    ),
    Drift(
        "route_tables[].subnets[]",
        "route-table-association",
        lambda w, s: _ec2(w)["route_tables"][0]["Associations"].pop(),
        r"^route table .*: subnet associations differ",
    ),
    Drift(
        "route_tables[].routes[].dest",
        "route-destination",
        lambda w, s: _set(_route(w, s, "igw")[1], DestinationCidrBlock="198.18.0.0/15"),
        r"^route table .*: routes ",
    ),
    Drift(
        "route_tables[].routes[].dest",
        "route-deleted",
        lambda w, s: _remove_route(*_route(w, s, "nat")),
        r"^route table .*: routes ",
    ),
    Drift(
        "route_tables[].routes[].igw",
        "route-igw-target",
        lambda w, s: _set(_route(w, s, "igw")[1], GatewayId="igw-other"),
        r"^route table .*: routes ",
    ),
    Drift(
        "route_tables[].routes[].nat",
        "route-nat-target",
        lambda w, s: _set(_route(w, s, "nat")[1], NatGatewayId="nat-other"),
        r"^route table .*: routes ",
    ),
    Drift(
        "vpc_endpoints[].service",
        "endpoint-name",
        lambda w, s: _retag(_ec2(w)["endpoints"][0], Name="x"),
        r"^VPC endpoint .*: tags differ",
    ),
    Drift(
        "vpc_endpoints[].service_name",
        "endpoint-service",
        lambda w, s: _set(_ec2(w)["endpoints"][0], ServiceName="com.amazonaws.x"),
        r"^VPC endpoint .* does not exist",
    ),
    Drift(
        "vpc_endpoints[].type",
        "endpoint-type",
        lambda w, s: _set(_endpoint(w, s, "Gateway")[0], VpcEndpointType="Interface"),
        r"^VPC endpoint .* does not exist",
    ),
    Drift(
        "vpc_endpoints[].route_tables[]",
        "endpoint-route-tables",
        lambda w, s: _endpoint(w, s, "Gateway")[0]["RouteTableIds"].pop(),
        r"^VPC endpoint .*: route tables differ",
    ),
    Drift(
        "vpc_endpoints[].subnets[]",
        "endpoint-subnets",
        lambda w, s: _endpoint(w, s, "Interface")[0]["SubnetIds"].pop(),
        r"^VPC endpoint .*: subnets differ",
    ),
    Drift(
        "vpc_endpoints[].security_groups[]",
        "endpoint-security-groups",
        lambda w, s: _set(_endpoint(w, s, "Interface")[0], Groups=[]),
        r"^VPC endpoint .*: security groups ",
    ),
    Drift(
        "security_groups[].name",
        "security-group-deleted",
        lambda w, s: _ec2(w)["security_groups"].pop(),
        r"^security group .* does not exist",
    ),
    Drift(
        "security_groups[].description",
        "security-group-description",
        lambda w, s: _set(_ec2(w)["security_groups"][0], Description="x"),
        r"^security group .*: description is x, want ",
    ),
    *_rules("ingress"),
    *_rules("egress"),
    Drift(
        "security_groups[].ingress[].self",
        "ingress-self",
        lambda w, s: _set(
            _perm(w, s, "ingress", "self")[1]["UserIdGroupPairs"][0], GroupId="sg-other"
        ),
        "rules to add",
    ),
    Drift(
        "security_groups[].egress[]",
        "egress-rule-added",
        lambda w, s: _sg(w, s, lambda g: not g["egress"])[0]["IpPermissionsEgress"].append(
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ),
        r"^security group .*: rules .* to remove \[\('egress'",
    ),
    Drift(
        "flow_logs.enabled",
        "flow-log-deleted",
        lambda w, s: _ec2(w)["flow_logs"].clear(),
        r"^VPC flow log does not exist",
    ),
    Drift(
        "flow_logs.log_group",
        "flow-log-group-deleted",
        lambda w, s: w.d("logs")["groups"].clear(),
        r"^log group .* does not exist",
    ),
    Drift(
        "flow_logs.role_name",
        "flow-log-role",
        lambda w, s: _set(
            _ec2(w)["flow_logs"][0], DeliverLogsPermissionArn="arn:aws:iam::1:role/other"
        ),
        r"^VPC flow log: delivery role is .*other, want .*flow-logs",
    ),
    Drift(
        "flow_logs.retention_days",
        "flow-log-retention",
        lambda w, s: _set(w.d("logs")["groups"][0], retentionInDays=1),
        r"^log group .*: retention",
    ),
    Drift(
        "flow_logs.traffic_type",
        "flow-log-traffic",
        lambda w, s: _set(_ec2(w)["flow_logs"][0], TrafficType="REJECT"),
        r"^VPC flow log: traffic type",
    ),
]


# --------------------------------------------------------------------------- security
def _key(w, s, n=0):
    key = s["kms_keys"][n]
    return w.d("kms", key["region"])["keys"]["alias/" + key["alias"]]


def _role(w, s, pred=lambda r: True):
    want = next(r for r in s["iam_roles"] if pred(r))
    return w.d("iam")["roles"][want["name"]], want


def _secret(w, s, pred=lambda x: True):
    want = next(x for x in s["secrets"] if pred(x))
    return w.d("secretsmanager")["secrets"][want["name"]], want


def _dr_key_missing(w, s):
    key = next(k for k in s["kms_keys"] if k["region"] != s["region"])
    del w.d("kms", key["region"])["keys"]["alias/" + key["alias"]]


def _trust(w, s, **change):
    doc = _role(w, s)[0]["role"]["AssumeRolePolicyDocument"]
    doc["Statement"][0].update(change)


def _inline_doc(w, s):
    role, want = _role(w, s, lambda r: r["inline_policies"])
    doc = role["inline"][want["inline_policies"][0]["name"]]
    return doc


SECURITY = [
    Drift(
        "kms_keys[].alias",
        "kms-alias",
        lambda w, s: w.d("kms")["keys"].pop("alias/" + s["kms_keys"][0]["alias"]),
        r"^KMS key alias/.* does not exist",
    ),
    Drift(
        "kms_keys[].region",
        "kms-region",
        _dr_key_missing,
        r"^KMS key alias/.* \(us-west-2\) does not exist",
    ),
    Drift(
        "kms_keys[].description",
        "kms-description",
        lambda w, s: _set(_key(w, s)["meta"], Description="x"),
        r"^KMS key .*: description differs",
    ),
    Drift(
        "kms_keys[].policy",
        "kms-key-policy-statement-removed",
        lambda w, s: _key(w, s)["policy"]["Statement"].pop(),
        r"^KMS key .*: key policy differs",
    ),
    Drift(
        "kms_keys[].policy.Statement[].Condition",
        "kms-key-policy-condition",
        lambda w, s: next(
            st for st in _key(w, s)["policy"]["Statement"] if st.get("Condition")
        ).pop("Condition"),
        r"^KMS key .*: key policy differs",
    ),
    Drift(
        INVARIANT + "KMS key enabled",
        "kms-disabled",
        lambda w, s: _set(_key(w, s)["meta"], KeyState="Disabled"),
        r"^KMS key .* is Disabled",
    ),
    Drift(
        INVARIANT + "KMS key rotation",
        "kms-rotation",
        lambda w, s: _set(_key(w, s), rotation=False),
        r"^KMS key .*: rotation is off",
    ),
    Drift(
        "tags.*",
        "kms-tags",
        lambda w, s: _key(w, s)["tags"].pop("CostCenter"),
        r"^KMS key .*: tags differ",
    ),
    Drift(
        "tags.*",
        "role-tags",
        lambda w, s: _drop_tag(_role(w, s)[0]["role"]),
        r"^IAM role .*: tags differ",
    ),
    Drift(
        "tags.*",
        "secret-tags",
        lambda w, s: _drop_tag(_secret(w, s)[0]),
        r"^secret .*: tags differ",
    ),
    Drift(
        "iam_roles[].name",
        "role-deleted",
        lambda w, s: w.d("iam")["roles"].pop(s["iam_roles"][0]["name"]),
        r"^IAM role .* does not exist",
    ),
    Drift(
        "iam_roles[].trust.Statement[].Principal.Service",
        "trust-principal",
        lambda w, s: _trust(w, s, Principal={"AWS": "arn:aws:iam::1:root"}),
        r"^IAM role .*: trust policy differs",
    ),
    Drift(
        "iam_roles[].trust.Statement[].Action",
        "trust-action",
        lambda w, s: _trust(w, s, Action="sts:AssumeRoleWithWebIdentity"),
        r"^IAM role .*: trust policy differs",
    ),
    Drift(
        "iam_roles[].trust.Statement[].Effect",
        "trust-effect",
        lambda w, s: _trust(w, s, Effect="Deny"),
        r"^IAM role .*: trust policy differs",
    ),
    Drift(
        "iam_roles[].trust.Version",
        "trust-version",
        lambda w, s: _set(_role(w, s)[0]["role"]["AssumeRolePolicyDocument"], Version="2008-10-17"),
        r"^IAM role .*: trust policy differs",
    ),
    Drift(
        "iam_roles[].managed_policies[]",
        "managed-policy-attached",
        lambda w, s: _role(w, s)[0]["attached"].append(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ),
        r"^IAM role .*: managed policies differ",
    ),
    Drift(
        "iam_roles[].inline_policies[].name",
        "inline-policy-renamed",
        lambda w, s: _rename_first_inline_policy(*_role(w, s, lambda r: r["inline_policies"])),
        r"^IAM role .*: inline policy names differ",
    ),
    Drift(
        "iam_roles[].inline_policies[]",
        "inline-policy-added",
        lambda w, s: _role(w, s, lambda r: not r["inline_policies"])[0]["inline"].update(
            x={"Version": "2012-10-17", "Statement": []}
        ),
        r"^IAM role .*: inline policy names differ",
    ),
    Drift(
        "iam_roles[].inline_policies[].document.Statement[].Action[]",
        "inline-action",
        lambda w, s: _inline_doc(w, s)["Statement"][0]["Action"].append("s3:*"),
        r"^IAM role .*: policy .* differs",
    ),
    Drift(
        "iam_roles[].inline_policies[].document.Statement[].Resource[]",
        "inline-resource",
        lambda w, s: _set(_inline_doc(w, s)["Statement"][0], Resource=["*"]),
        r"^IAM role .*: policy .* differs",
    ),
    Drift(
        "iam_roles[].inline_policies[].document.Statement[].Effect",
        "inline-effect",
        lambda w, s: _set(_inline_doc(w, s)["Statement"][0], Effect="Deny"),
        r"^IAM role .*: policy .* differs",
    ),
    Drift(
        "iam_roles[].inline_policies[].document.Version",
        "inline-version",
        lambda w, s: _set(_inline_doc(w, s), Version="2008-10-17"),
        r"^IAM role .*: policy .* differs",
    ),
    Drift(
        "iam_roles[].instance_profile",
        "instance-profile-deleted",
        lambda w, s: _role(w, s, lambda r: r["instance_profile"])[0]["profiles"].clear(),
        r"^instance profile .* does not exist",
    ),
    Drift(
        "secrets[].name",
        "secret-deleted",
        lambda w, s: w.d("secretsmanager")["secrets"].pop(s["secrets"][0]["name"]),
        r"^secret .* does not exist",
    ),
    Drift(
        INVARIANT + "secret not scheduled for deletion",
        "secret-scheduled-for-deletion",
        lambda w, s: _set(_secret(w, s)[0], DeletedDate="2026-12-01"),
        r"^secret .* is scheduled for deletion",
    ),
    Drift(
        "secrets[].description",
        "secret-description",
        lambda w, s: _set(_secret(w, s)[0], Description="x"),
        r"^secret .*: description differs",
    ),
    Drift(
        "secrets[].kms_purpose",
        "secret-kms-key",
        lambda w, s: _set(_secret(w, s)[0], KmsKeyId="arn:aws:kms:us-east-1:1:key/other"),
        r"^secret .*: KMS key differs",
    ),
    Drift(
        "secrets[].replica_regions[]",
        "secret-replica",
        lambda w, s: _set(_secret(w, s, lambda x: x["replica_regions"])[0], ReplicationStatus=[]),
        r"^secret .*: replica regions differ",
    ),
]


# --------------------------------------------------------------------------- kinesis
def _stream(w, s, region=None):
    return w.d("kinesis", region)["streams"][s["streams"][0]["name"]]


KINESIS = [
    Drift(
        "streams[].name",
        "stream-deleted",
        lambda w, s: w.d("kinesis")["streams"].clear(),
        r"^stream .* does not exist",
    ),
    Drift(
        "streams[].shards",
        "stream-shards",
        lambda w, s: _set(_stream(w, s)["summary"], OpenShardCount=99),
        r"^stream .*: 99 shards, want ",
    ),
    Drift(
        "streams[].retention_hours",
        "stream-retention",
        lambda w, s: _set(_stream(w, s)["summary"], RetentionPeriodHours=24),
        r"^stream .*: retention",
    ),
    Drift(
        "key_alias",
        "stream-key",
        lambda w, s: _set(_stream(w, s)["summary"], KeyId="arn:aws:kms:us-east-1:1:key/other"),
        r"^stream .*: not encrypted with ",
    ),
    Drift(
        INVARIANT + "stream encryption",
        "stream-unencrypted",
        lambda w, s: _set(_stream(w, s)["summary"], EncryptionType="NONE"),
        r"^stream .*: not encrypted with ",
    ),
    Drift(
        INVARIANT + "stream status",
        "stream-deleting",
        lambda w, s: _set(_stream(w, s)["summary"], StreamStatus="DELETING"),
        r"^stream .* is DELETING",
    ),
    Drift(
        "tags.*",
        "stream-tags",
        lambda w, s: _stream(w, s)["tags"].pop("CostCenter"),
        r"^stream .*: tags differ",
    ),
    Drift(
        "dr_region",
        "dr-stream-deleted",
        lambda w, s: w.d("kinesis", s["dr_region"])["streams"].clear(),
        r"^stream .* \(us-west-2\) does not exist",
    ),
]


# --------------------------------------------------------------------------- s3
def _bucket(w, s, which, pred=lambda b: True):
    want = next(b for b in s[which] if pred(b))
    region = s["region"] if which == "buckets" else s["dr_region"]
    return w.d("s3", region)["buckets"][want["name"]], want


def _block(flag):
    return lambda w, s: _bucket(w, s, "buckets")[0]["public_access_block"][
        "PublicAccessBlockConfiguration"
    ].update({flag: False})


def _sse(w, s, which="buckets"):
    rules = _bucket(w, s, which)[0]["encryption"]["ServerSideEncryptionConfiguration"]["Rules"]
    return rules[0]


def _lifecycle_rule(w, s):
    bucket, _want = _bucket(w, s, "buckets", lambda b: b["lifecycle"])
    return bucket["lifecycle"]["Rules"][0]


def _with(key):
    def pick(w, s):
        bucket, _want = _bucket(w, s, "buckets", lambda b: b["lifecycle"])
        return next(r for r in bucket["lifecycle"]["Rules"] if key in r)

    return pick


def _s3_cases(which):
    label = "" if which == "buckets" else "dr-"
    return [
        Drift(
            f"{which}[].name",
            f"{label}bucket-deleted",
            lambda w, s: w.d("s3", s["region"] if which == "buckets" else s["dr_region"])[
                "buckets"
            ].pop(s[which][0]["name"]),
            r"^bucket .* does not exist",
        ),
        Drift(
            f"{which}[].encryption",
            f"{label}bucket-encryption",
            lambda w, s: _set(
                _sse(w, s, which), ApplyServerSideEncryptionByDefault={"SSEAlgorithm": "AES256"}
            ),
            r"^bucket .*: encryption is AES256, want aws:kms",
        ),
        Drift(
            f"{which}[].encryption",
            f"{label}bucket-encryption-removed",
            lambda w, s: _bucket(w, s, which)[0].pop("encryption"),
            r"^bucket .*: encryption is None, want aws:kms",
        ),
        Drift(
            f"{which}[].object_lock.mode",
            f"{label}object-lock-mode",
            lambda w, s: _bucket(w, s, which, lambda b: b["object_lock"])[0]["object_lock"][
                "ObjectLockConfiguration"
            ]["Rule"]["DefaultRetention"].update(Mode="GOVERNANCE"),
            r"^bucket .*: object lock differs",
        ),
        Drift(
            f"{which}[].object_lock.days",
            f"{label}object-lock-days",
            lambda w, s: _bucket(w, s, which, lambda b: b["object_lock"])[0]["object_lock"][
                "ObjectLockConfiguration"
            ]["Rule"]["DefaultRetention"].update(Days=1),
            r"^bucket .*: object lock differs",
        ),
        Drift(
            f"{which}[].replicate_to",
            f"{label}replication-destination",
            lambda w, s: _bucket(w, s, "buckets", lambda b: b["replicate_to"])[0]["replication"][
                "ReplicationConfiguration"
            ]["Rules"][0]["Destination"].update(Bucket="arn:aws:s3:::x"),
            r"^bucket .*: replication to .* is not configured",
        ),
    ]


S3 = [
    *_s3_cases("buckets"),
    *_s3_cases("dr_buckets"),
    Drift(
        "dr_buckets[].lifecycle",
        "dr-copy-lifecycle",
        lambda w, s: _bucket(w, s, "dr_buckets", lambda b: b["lifecycle"])[0]["lifecycle"]["Rules"][
            0
        ].update(Expiration={"Days": 1}),
        r"^bucket .*-dr: lifecycle",
    ),
    Drift(
        "dr_buckets[].policy",
        "dr-copy-policy-deleted",
        lambda w, s: _bucket(w, s, "dr_buckets", lambda b: b["policy"])[0].pop("policy"),
        r"^bucket .*-dr: no bucket policy",
    ),
    Drift(
        "kms_alias",
        "bucket-kms-key",
        lambda w, s: _sse(w, s)["ApplyServerSideEncryptionByDefault"].update(
            KMSMasterKeyID="arn:aws:kms:us-east-1:1:key/other"
        ),
        r"^bucket .*: not encrypted with alias/",
    ),
    Drift(
        INVARIANT + "S3 bucket key",
        "bucket-key",
        lambda w, s: _set(_sse(w, s), BucketKeyEnabled=False),
        r"^bucket .*: S3 Bucket Key is not enabled",
    ),
    Drift(
        INVARIANT + "versioning",
        "versioning-suspended",
        lambda w, s: _set(_bucket(w, s, "buckets")[0], versioning={"Status": "Suspended"}),
        r"^bucket .*: versioning is not enabled",
    ),
    *[
        Drift(
            INVARIANT + "public access block " + flag,
            "public-access-" + flag,
            _block(flag),
            rf"^bucket .*: public access is not fully blocked \({flag}",
        )
        for flag in (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
    ],
    Drift(
        INVARIANT + "public access block",
        "public-access-block-deleted",
        lambda w, s: _bucket(w, s, "buckets")[0].pop("public_access_block"),
        r"^bucket .*: public access is not fully blocked",
    ),
    Drift(
        INVARIANT + "object ownership",
        "object-ownership",
        lambda w, s: _set(
            _bucket(w, s, "buckets")[0],
            ownership={"OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}},
        ),
        r"^bucket .*: object ownership is not BucketOwnerEnforced",
    ),
    Drift(
        "tags.*",
        "bucket-tags",
        lambda w, s: _bucket(w, s, "buckets")[0]["tagging"]["TagSet"].pop(),
        r"^bucket .*: tags differ",
    ),
    Drift(
        "buckets[].policy",
        "bucket-policy-deleted",
        lambda w, s: _bucket(w, s, "buckets", lambda b: b["policy"])[0].pop("policy"),
        r"^bucket .*: no bucket policy",
    ),
    Drift(
        "buckets[].policy.Statement[].Resource",
        "bucket-policy-resource",
        lambda w, s: _bucket(w, s, "buckets", lambda b: b["policy"])[0]["policy"]["Statement"][
            -1
        ].update(Resource="arn:aws:s3:::x/*"),
        r"^bucket .*: bucket policy differs",
    ),
    Drift(
        "buckets[].lifecycle[].id",
        "lifecycle-id",
        lambda w, s: _set(_lifecycle_rule(w, s), ID="x"),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].lifecycle[].prefix",
        "lifecycle-prefix",
        lambda w, s: _set(_lifecycle_rule(w, s), Filter={"Prefix": "x/"}),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].lifecycle[].transitions[].days",
        "lifecycle-transition-days",
        lambda w, s: _with("Transitions")(w, s)["Transitions"][0].update(Days=1),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].lifecycle[].transitions[].storage_class",
        "lifecycle-transition-class",
        lambda w, s: _with("Transitions")(w, s)["Transitions"][0].update(
            StorageClass="DEEP_ARCHIVE"
        ),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].lifecycle[].expiration_days",
        "lifecycle-expiration",
        lambda w, s: _with("Expiration")(w, s)["Expiration"].update(Days=1),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].lifecycle[].noncurrent_expiration_days",
        "lifecycle-noncurrent",
        lambda w, s: _with("NoncurrentVersionExpiration")(w, s)[
            "NoncurrentVersionExpiration"
        ].update(NoncurrentDays=1),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].lifecycle[].abort_multipart_days",
        "lifecycle-abort-multipart",
        lambda w, s: _with("AbortIncompleteMultipartUpload")(w, s)[
            "AbortIncompleteMultipartUpload"
        ].update(DaysAfterInitiation=99),
        r"^bucket .*: lifecycle ",
    ),
    Drift(
        "buckets[].replication_role_arn",
        "replication-role",
        lambda w, s: _bucket(w, s, "buckets", lambda b: b["replicate_to"])[0]["replication"][
            "ReplicationConfiguration"
        ].update(Role="arn:aws:iam::1:role/other"),
        r"^bucket .*: replication to .* is not configured",
    ),
    Drift(
        "replication_role",
        "replication-role-deleted",
        lambda w, s: w.d("iam")["roles"].clear(),
        r"^IAM role .* does not exist",
    ),
]


# --------------------------------------------------------------------------- dns
def _r53(w):
    return w.d("route53")


def _check(w):
    return _r53(w)["checks"][0]["HealthCheckConfig"]


def _record(w):
    return _r53(w)["records"][0]


def _regional(w):
    return next(r for r in _r53(w)["records"] if not r.get("SetIdentifier"))


def _alias_drifts(field, id_prefix, record, name):
    """Each alias field of a record drifted (the failover pairs' and the regions' own
    records are compared alike): target, hosted zone, evaluate target health."""

    def alias(w):
        return record(w)["AliasTarget"]

    return [
        Drift(
            f"{field}[].alias.dns_name",
            id_prefix + "target",
            lambda w, s: alias(w).update(DNSName="elsewhere.elb.amazonaws.com."),
            rf"^record {name} differs: alias target is elsewhere",
        ),
        Drift(
            f"{field}[].alias.zone_id",
            id_prefix + "zone",
            lambda w, s: alias(w).update(HostedZoneId="Z-OTHER"),
            rf"^record {name} differs: alias hosted zone is Z-OTHER",
        ),
        Drift(
            f"{field}[].alias.evaluate_target_health",
            id_prefix + "evaluate",
            lambda w, s: alias(w).update(EvaluateTargetHealth=False),
            rf"^record {name} differs: evaluate target health is False",
        ),
    ]


DNS = [
    Drift(
        "zone",
        "zone-deleted",
        lambda w, s: _r53(w)["zones"].clear(),
        r"^hosted zone .* does not exist",
    ),
    Drift(
        "tags.*",
        "zone-tags",
        lambda w, s: _r53(w)["zone_tags"]["Z1"].pop("CostCenter"),
        r"^zone .*: tags differ",
    ),
    Drift(
        "tags.*",
        "health-check-tags",
        lambda w, s: _r53(w)["check_tags"]["hc-0"].pop("CostCenter"),
        r"^health check .*: tags differ",
    ),
    Drift(
        "health_checks[].name",
        "health-check-name",
        lambda w, s: _r53(w)["check_tags"]["hc-0"].update(Name="x"),
        r"^health check .* does not exist",
    ),
    Drift(
        "health_checks[].fqdn",
        "health-check-fqdn",
        lambda w, s: _check(w).update(FullyQualifiedDomainName="x.invalid"),
        r"^health check .*x\.invalid",
    ),
    Drift(
        "health_checks[].port",
        "health-check-port",
        lambda w, s: _check(w).update(Port=8443),
        r"^health check .*8443",
    ),
    Drift(
        "health_checks[].path",
        "health-check-path",
        lambda w, s: _check(w).update(ResourcePath="/x"),
        r"^health check .*/x",
    ),
    Drift(
        INVARIANT + "health check type HTTPS",
        "health-check-type",
        lambda w, s: _check(w).update(Type="HTTP"),
        r"^health check .*'HTTP'",
    ),
    Drift(
        "interval",
        "health-check-interval",
        lambda w, s: _check(w).update(RequestInterval=99),
        r"^health check .*99",
    ),
    Drift(
        "failure_threshold",
        "health-check-threshold",
        lambda w, s: _check(w).update(FailureThreshold=9),
        r"^health check .*9",
    ),
    Drift(
        "records[].fqdn",
        "record-name",
        lambda w, s: _record(w).update(Name="x.invalid."),
        r"^record .* does not exist",
    ),
    Drift(
        "records[].type",
        "record-type",
        lambda w, s: _record(w).update(Type="TXT"),
        r"^record .* does not exist",
    ),
    Drift(
        "records[].identifier",
        "record-identifier",
        lambda w, s: _record(w).update(SetIdentifier="x"),
        r"^record .* does not exist",
    ),
    Drift(
        "records[].failover",
        "record-failover",
        lambda w, s: _record(w).update(Failover="SECONDARY"),
        r"^record .* differs: failover is SECONDARY",
    ),
    *_alias_drifts("records", "record-alias-", _record, r".*"),
    Drift(
        INVARIANT + "a failover record aliases, with no values of its own",
        "record-plain-values",
        lambda w, s: _record(w).update(
            AliasTarget=None, TTL=60, ResourceRecords=[{"Value": "203.0.113.7"}]
        ),
        r"^record .* differs: alias is no alias",
    ),
    Drift(
        INVARIANT + "no other type under a pair's name and identifier",
        "record-stale-cname",
        lambda w, s: _r53(w)["records"].append(
            dict(_record(w), Type="CNAME", AliasTarget=None, ResourceRecords=[{"Value": "x"}])
        ),
        r"a CNAME record is in the way",
    ),
    Drift(
        "regional_records[].fqdn",
        "regional-record-deleted",
        lambda w, s: _r53(w)["records"].remove(_regional(w)),
        r"^record \S+ does not exist",
    ),
    Drift(
        "regional_records[].type",
        "regional-record-type",
        lambda w, s: _regional(w).update(Type="AAAA"),
        r"^record \S+ does not exist",
    ),
    *_alias_drifts("regional_records", "regional-record-", _regional, r"\S+"),
    Drift(
        "records[].health_check",
        "record-health-check",
        lambda w, s: _record(w).update(HealthCheckId="hc-x"),
        r"^record .* differs: health check is hc-x",
    ),
]


# --------------------------------------------------------------------------- fleet
def _inst(w):
    return _ec2(w)["instances"][0]


def _template_data(w):
    return _ec2(w)["template_versions"][0]["LaunchTemplateData"]


FLEET = [
    Drift(
        "instances[].name",
        "instance-name",
        lambda w, s: _retag(_inst(w), Name="x"),
        r"^instance .* does not exist",
    ),
    Drift(
        "instances[].instance_type",
        "instance-type",
        lambda w, s: _set(_inst(w), InstanceType="t3.micro"),
        r"^instance .*: instance type is t3\.micro",
    ),
    Drift(
        "instances[].extra_enis",
        "instance-eni-detached",
        lambda w, s: _inst(w)["NetworkInterfaces"].pop(),
        r"^instance .*: extra ENIs is 0, want 1",
    ),
    Drift(
        "subnet_id",
        "instance-subnet",
        lambda w, s: _set(_inst(w), SubnetId="subnet-x"),
        r"^instance .*: subnet is subnet-x",
    ),
    Drift(
        "security_group_ids[]",
        "instance-security-groups",
        lambda w, s: _set(_inst(w)["NetworkInterfaces"][0], Groups=[{"GroupId": "sg-x"}]),
        r"^instance .*: security groups is \['sg-x'\]",
    ),
    Drift(
        "instance_profile_arn",
        "instance-profile",
        lambda w, s: _set(_inst(w), IamInstanceProfile={"Arn": "arn:x"}),
        r"^instance .*: instance profile is arn:x",
    ),
    Drift(
        "tenancy",
        "instance-tenancy",
        lambda w, s: _inst(w)["Placement"].update(Tenancy="host"),
        r"^instance .*: tenancy is host",
    ),
    Drift(
        "placement_group",
        "instance-placement-group",
        lambda w, s: _inst(w)["Placement"].update(GroupName="x"),
        r"^instance .*: placement group is x",
    ),
    Drift(
        "tags.*",
        "instance-tags",
        lambda w, s: _drop_tag(_inst(w)),
        r"^instance .*: tags differ",
    ),
    Drift(
        INVARIANT + "instance running",
        "instance-stopped",
        lambda w, s: _inst(w)["State"].update(Name="stopped"),
        r"^instance .*: state is stopped",
    ),
    Drift(
        INVARIANT + "IMDSv2",
        "instance-imdsv1",
        lambda w, s: _inst(w)["MetadataOptions"].update(HttpTokens="optional"),
        r"^instance .*: IMDSv2.* is optional, want required",
    ),
    Drift(
        INVARIANT + "metadata endpoint",
        "instance-metadata-endpoint",
        lambda w, s: _inst(w)["MetadataOptions"].update(HttpEndpoint="disabled"),
        r"^instance .*: metadata endpoint is disabled, want enabled",
    ),
    Drift(
        INVARIANT + "metadata hop limit",
        "instance-metadata-hop-limit",
        lambda w, s: _inst(w)["MetadataOptions"].update(HttpPutResponseHopLimit=2),
        r"^instance .*: metadata hop limit is 2, want 1",
    ),
    Drift(
        INVARIANT + "EBS optimized",
        "instance-ebs-optimized",
        lambda w, s: _set(_inst(w), EbsOptimized=False),
        r"^instance .*: EBS optimized is False, want True",
    ),
    Drift(
        "launch_template.name",
        "template-deleted",
        lambda w, s: _ec2(w)["templates"].clear(),
        r"^launch template .* does not exist",
    ),
    Drift(
        "launch_template.name",
        "instance-not-from-template",
        lambda w, s: _retag(_inst(w), **{"aws:ec2launchtemplate:id": "lt-x"}),
        r"^instance .*: launch template is lt-x",
    ),
    Drift(
        "launch_template.image_id",
        "template-ami",
        lambda w, s: _template_data(w).pop("ImageId"),
        r"^launch template .*: no AMI",
    ),
    Drift(
        "launch_template.instance_profile_arn",
        "template-profile",
        lambda w, s: _set(_template_data(w), IamInstanceProfile={"Arn": "arn:x"}),
        r"^launch template .*: instance profile is arn:x",
    ),
    Drift(
        "launch_template.security_group_ids[]",
        "template-security-groups",
        lambda w, s: _set(_template_data(w)["NetworkInterfaces"][0], Groups=["sg-x"]),
        r"^launch template .*: security groups is \['sg-x'\]",
    ),
    Drift(
        "launch_template.subnet_id",
        "template-subnet",
        lambda w, s: _set(_template_data(w)["NetworkInterfaces"][0], SubnetId="subnet-x"),
        r"^launch template .*: subnet is subnet-x",
    ),
    Drift(
        "launch_template.kms_key_arn",
        "template-root-key",
        lambda w, s: _template_data(w)["BlockDeviceMappings"][0]["Ebs"].update(KmsKeyId="k"),
        r"^launch template .*: root volume KMS key is k",
    ),
    Drift(
        "launch_template.root_device",
        "template-root-device",
        lambda w, s: _template_data(w)["BlockDeviceMappings"][0].update(DeviceName="/dev/sda1"),
        r"^launch template .*: no root volume /dev/xvda",
    ),
    Drift(
        "launch_template.root_volume_size",
        "template-root-size",
        lambda w, s: _template_data(w)["BlockDeviceMappings"][0]["Ebs"].update(VolumeSize=8),
        r"^launch template .*: root volume size is 8",
    ),
    Drift(
        INVARIANT + "launch template IMDSv2",
        "template-imdsv1",
        lambda w, s: _template_data(w)["MetadataOptions"].update(HttpTokens="optional"),
        r"^launch template .*: IMDSv2 \(HttpTokens\) is optional",
    ),
    Drift(
        INVARIANT + "launch template encrypted root volume",
        "template-unencrypted",
        lambda w, s: _template_data(w)["BlockDeviceMappings"][0]["Ebs"].update(Encrypted=False),
        r"^launch template .*: root volume encrypted is False",
    ),
    Drift(
        INVARIANT + "launch template default version",
        "template-default-version",
        lambda w, s: _ec2(w)["templates"][0].update(LatestVersionNumber=2),
        r"^launch template .*: default version 1 is not the latest \(2\)",
    ),
    Drift(
        "launch_template.name",
        "template-tags",
        lambda w, s: next(iter(_ec2(w)["resource_tags"].values())).pop("CostCenter"),
        r"^launch template .*: tags differ",
    ),
]


# --------------------------------------------------------------------------- eks
def _cluster(w, s):
    return w.d("eks")["clusters"][s["cluster"]["name"]]


def _vpc_config(w, s):
    return _cluster(w, s)["resourcesVpcConfig"]


def _ng(w, s):
    return w.d("eks")["nodegroups"][s["nodegroups"][0]["name"]]


def _public_cidrs(w, s):
    """Public access matters only while the endpoint is public: open it on both sides
    first, then change the CIDRs AWS reports."""
    s["cluster"]["endpoint_public_access"] = True
    s["cluster"]["public_access_cidrs"] = ["198.18.0.0/15"]
    _vpc_config(w, s).update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"])


def _scaling(key, value):
    return lambda w, s: _ng(w, s)["scalingConfig"].update({key: value})


def _oidc(w):
    (provider,) = w.d("iam")["oidc"].values()
    return provider


def _irsa(w, s):
    return w.d("iam")["roles"][s["irsa_roles"][0]["name"]]


def _trust_condition(w, s):
    return _irsa(w, s)["role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]


def _sub_keys(w, s):
    return [k for k in _trust_condition(w, s)["StringEquals"] if k.endswith(":sub")]


EKS = [
    Drift(
        "cluster.name",
        "cluster-deleted",
        lambda w, s: w.d("eks")["clusters"].clear(),
        r"^EKS cluster .* does not exist",
    ),
    Drift(
        "cluster.version",
        "cluster-version",
        lambda w, s: _set(_cluster(w, s), version="1.34"),
        r"^EKS cluster .*: Kubernetes 1\.34 -> ",
    ),
    Drift(
        "cluster.role_arn",
        "cluster-role",
        lambda w, s: _set(_cluster(w, s), roleArn="arn:x"),
        r"^EKS cluster .*: cluster role differs",
    ),
    Drift(
        "cluster.subnet_ids[]",
        "cluster-subnets",
        lambda w, s: _vpc_config(w, s)["subnetIds"].pop(),
        r"^EKS cluster .*: subnets differ",
    ),
    Drift(
        "cluster.security_group_ids[]",
        "cluster-security-groups",
        lambda w, s: _vpc_config(w, s)["securityGroupIds"].append("sg-x"),
        r"^EKS cluster .*: additional security groups differ",
    ),
    Drift(
        "cluster.endpoint_private_access",
        "cluster-private-endpoint",
        lambda w, s: _vpc_config(w, s).update(endpointPrivateAccess=False),
        r"^EKS cluster .*: API endpoint private=False",
    ),
    Drift(
        "cluster.endpoint_public_access",
        "cluster-public-endpoint",
        lambda w, s: _vpc_config(w, s).update(endpointPublicAccess=True),
        r"^EKS cluster .*: API endpoint private=True public=True",
    ),
    Drift(
        "cluster.public_access_cidrs[]",
        "cluster-public-cidrs",
        _public_cidrs,
        r"^EKS cluster .*: API endpoint ",
    ),
    Drift(
        "cluster.logging_types[]",
        "cluster-logging",
        lambda w, s: _set(_cluster(w, s), logging={"clusterLogging": []}),
        r"^EKS cluster .*: control-plane logs \[\]",
    ),
    Drift(
        "cluster.secrets_kms_key_arn",
        "cluster-secrets-key",
        lambda w, s: _set(_cluster(w, s), encryptionConfig=[]),
        r"^EKS cluster .*: secrets encryption key is None",
    ),
    Drift(
        INVARIANT + "cluster status",
        "cluster-failed",
        lambda w, s: _set(_cluster(w, s), status="FAILED"),
        r"^EKS cluster .* is FAILED",
    ),
    Drift(
        "tags.*",
        "cluster-tags",
        lambda w, s: _cluster(w, s)["tags"].pop("CostCenter"),
        r"^EKS cluster .*: tags differ",
    ),
    Drift(
        "tags.*",
        "nodegroup-tags",
        lambda w, s: _ng(w, s)["tags"].pop("CostCenter"),
        r"^node group .*: tags differ",
    ),
    Drift(
        "nodegroups[].name",
        "nodegroup-deleted",
        lambda w, s: w.d("eks")["nodegroups"].clear(),
        r"^node group .* does not exist",
    ),
    Drift(
        INVARIANT + "node group status",
        "nodegroup-degraded",
        lambda w, s: _set(_ng(w, s), status="DEGRADED"),
        r"^node group .* is DEGRADED",
    ),
    Drift(
        "nodegroups[].node_role_arn",
        "nodegroup-role",
        lambda w, s: _set(_ng(w, s), nodeRole="arn:x"),
        r"^node group .*: node role is arn:x",
    ),
    Drift(
        "nodegroups[].subnet_ids[]",
        "nodegroup-subnets",
        lambda w, s: _ng(w, s)["subnets"].pop(),
        r"^node group .*: subnets is ",
    ),
    Drift(
        "nodegroups[].instance_types[]",
        "nodegroup-instance-types",
        lambda w, s: _set(_ng(w, s), instanceTypes=["t3.micro"]),
        r"^node group .*: instance types is \['t3\.micro'\]",
    ),
    Drift(
        "nodegroups[].capacity_type",
        "nodegroup-capacity",
        lambda w, s: _set(_ng(w, s), capacityType="SPOT"),
        r"^node group .*: capacity type is SPOT",
    ),
    Drift(
        "nodegroups[].ami_type",
        "nodegroup-ami",
        lambda w, s: _set(_ng(w, s), amiType="BOTTLEROCKET_x86_64"),
        r"^node group .*: AMI type is BOTTLEROCKET_x86_64",
    ),
    Drift(
        "nodegroups[].disk_size",
        "nodegroup-disk",
        lambda w, s: _set(_ng(w, s), diskSize=20),
        r"^node group .*: disk size is 20",
    ),
    Drift(
        "nodegroups[].min_size",
        "nodegroup-min",
        _scaling("minSize", 0),
        r"^node group .*: scaling min/max/desired 0/",
    ),
    Drift(
        "nodegroups[].max_size",
        "nodegroup-max",
        _scaling("maxSize", 99),
        r"^node group .*: scaling min/max/desired \d+/99/",
    ),
    Drift(
        "nodegroups[].desired_size",
        "nodegroup-desired",
        _scaling("desiredSize", 7),
        r"^node group .*: scaling min/max/desired \d+/\d+/7,",
    ),
    Drift(
        "nodegroups[].max_unavailable",
        "nodegroup-max-unavailable",
        lambda w, s: _set(_ng(w, s), updateConfig={"maxUnavailable": 5}),
        r"^node group .*: update config maxUnavailable",
    ),
    Drift(
        "nodegroups[].labels.*",
        "nodegroup-labels",
        lambda w, s: _ng(w, s)["labels"].update(extra="x"),
        r"^node group .*: labels ",
    ),
    Drift(
        INVARIANT + "OIDC provider exists",
        "oidc-provider-deleted",
        lambda w, s: w.d("iam")["oidc"].clear(),
        r"^OIDC provider oidc\.eks\..* does not exist",
    ),
    Drift(
        "oidc_provider.client_ids[]",
        "oidc-provider-audience",
        lambda w, s: _oidc(w)["ClientIDList"].append("other"),
        r"^OIDC provider .*: audiences \['other', 'sts\.amazonaws\.com'\]",
    ),
    Drift(
        "tags.*",
        "oidc-provider-tags",
        lambda w, s: _set(_oidc(w), Tags=[]),
        r"^OIDC provider .*: tags differ",
    ),
    Drift(
        "irsa_roles[].name",
        "irsa-role-deleted",
        lambda w, s: w.d("iam")["roles"].pop(s["irsa_roles"][0]["name"]),
        r"^IRSA role .*-order-api \(trading/order-api\) does not exist",
    ),
    Drift(
        "irsa_roles[].namespace",
        "irsa-trust-namespace",
        lambda w, s: _trust_condition(w, s)["StringEquals"].update(
            {k: "system:serviceaccount:default:order-api" for k in _sub_keys(w, s)}
        ),
        r"^IRSA role .*order-api .*: trust policy differs",
    ),
    Drift(
        "irsa_roles[].service_account",
        "irsa-trust-service-account",
        lambda w, s: _trust_condition(w, s)["StringEquals"].update(
            {k: "system:serviceaccount:trading:default" for k in _sub_keys(w, s)}
        ),
        r"^IRSA role .*order-api .*: trust policy differs",
    ),
    Drift(
        # The trust's provider is the cluster's (any role: keyed on the role's presence).
        "irsa_roles[].name",
        "irsa-trust-provider",
        lambda w, s: _irsa(w, s)["role"]["AssumeRolePolicyDocument"]["Statement"][0].update(
            Principal={"Federated": "arn:aws:iam::123456789012:oidc-provider/elsewhere"}
        ),
        r"^IRSA role .*: trust policy differs",
    ),
    Drift(
        # The DR cluster's statement gone: its pods would get no credentials after failover.
        "irsa_peer_issuers[]",
        "irsa-trust-dr-cluster",
        lambda w, s: _irsa(w, s)["role"]["AssumeRolePolicyDocument"]["Statement"].pop(),
        r"^IRSA role .*: trust policy differs .* of the 2 cluster\(s\)\)$",
    ),
    Drift(
        "irsa_roles[].description",
        "irsa-description",
        lambda w, s: _set(_irsa(w, s)["role"], Description="x"),
        r"^IRSA role .*: description differs",
    ),
    Drift(
        # The environment's tags, on the roles (keyed on the roles: the DR copy has none).
        "irsa_roles[].name",
        "irsa-tags",
        lambda w, s: _set(_irsa(w, s)["role"], Tags=[]),
        r"^IRSA role .*: tags differ",
    ),
    Drift(
        "irsa_roles[].managed_policies[]",
        "irsa-managed-policies",
        lambda w, s: _irsa(w, s)["attached"].append("arn:aws:iam::aws:policy/AdministratorAccess"),
        r"^IRSA role .*: managed policies differ",
    ),
    Drift(
        "irsa_roles[].inline_policies[].name",
        "irsa-inline-name",
        lambda w, s: _irsa(w, s)["inline"].update(extra={"Statement": []}),
        r"^IRSA role .*: inline policy names differ",
    ),
    Drift(
        "irsa_roles[].inline_policies[].document",
        "irsa-inline-document",
        lambda w, s: _irsa(w, s)["inline"]["order-api-irsa"]["Statement"][0].update(Resource="*"),
        r"^IRSA role .*: policy order-api-irsa differs",
    ),
]


EKS += [
    Drift(
        "addons[].name",
        "addon-deleted",
        lambda w, s: w.d("eks")["addons"].pop("coredns"),
        r"^add-on coredns does not exist",
    ),
    Drift(
        "addons[].version",
        "addon-version",
        lambda w, s: _set(w.d("eks")["addons"]["coredns"], addonVersion="v0.9.0-eksbuild.1"),
        r"^add-on coredns: version v0\.9\.0-eksbuild\.1 -> v1\.0\.0-eksbuild\.2",
    ),
    Drift(
        "addons[].service_account_role_arn",
        "addon-role",
        lambda w, s: _set(
            w.d("eks")["addons"]["aws-ebs-csi-driver"], serviceAccountRoleArn="arn:x"
        ),
        r"^add-on aws-ebs-csi-driver: service account role arn:x -> ",
    ),
    Drift(
        "addons[].configuration_values",
        "addon-configuration",
        lambda w, s: _set(w.d("eks")["addons"]["vpc-cni"], configurationValues='{"env": {}}'),
        r"^add-on vpc-cni: configuration values differ",
    ),
    Drift(
        "addons[].name",
        "addon-degraded",
        lambda w, s: _set(w.d("eks")["addons"]["coredns"], status="DEGRADED"),
        r"^add-on coredns is DEGRADED",
    ),
    Drift(
        "addons[].name",
        "addon-tags",
        lambda w, s: w.d("eks")["addons"]["coredns"]["tags"].pop("CostCenter"),
        r"^add-on coredns: tags differ",
    ),
]


# --------------------------------------------------------------------------- rds
def _db(w, s, which="primary"):
    if which == "primary":
        return w.d("rds")["instances"][s["primary"]["identifier"]]
    rep = next(r for r in s["replicas"] if r.get("dr") == (which == "dr"))
    return w.d("rds", rep["region"])["instances"][rep["identifier"]]


def _db_set(which="primary", **values):
    return lambda w, s: _db(w, s, which).update(values)


def _db_cases(which, prefix, label):
    return [
        Drift(
            f"{prefix}.instance_class",
            f"{which}-class",
            _db_set(which, DBInstanceClass="db.t3.micro"),
            rf"^{label}.*: instance class is db\.t3\.micro",
        ),
        Drift(
            f"{prefix}.kms_key_arn",
            f"{which}-kms-key",
            _db_set(which, KmsKeyId="arn:x"),
            rf"^{label}.*: KMS key is arn:x",
        ),
        Drift(
            f"{prefix}.monitoring_interval",
            f"{which}-monitoring",
            _db_set(which, MonitoringInterval=0),
            rf"^{label}.*: monitoring interval is 0",
        ),
        Drift(
            f"{prefix}.deletion_protection",
            f"{which}-deletion-protection",
            _db_set(which, DeletionProtection=False),
            rf"^{label}.*: deletion protection is False, want True",
        ),
        Drift(
            f"{prefix}.performance_insights",
            f"{which}-performance-insights",
            _db_set(which, PerformanceInsightsEnabled=False),
            rf"^{label}.*: Performance Insights is False, want True",
        ),
        Drift(
            f"{prefix}.security_group_ids[]",
            f"{which}-security-groups",
            _db_set(which, VpcSecurityGroups=[{"VpcSecurityGroupId": "sg-x"}]),
            rf"^{label}.*: security groups is \['sg-x'\]",
        ),
        Drift(
            INVARIANT + "storage encrypted",
            f"{which}-unencrypted",
            _db_set(which, StorageEncrypted=False),
            rf"^{label}.*: storage encrypted is False",
        ),
        Drift(
            INVARIANT + "not publicly accessible",
            f"{which}-public",
            _db_set(which, PubliclyAccessible=True),
            rf"^{label}.*: publicly accessible is True",
        ),
    ]


RDS = [
    Drift(
        "subnet_group.name",
        "subnet-group-deleted",
        lambda w, s: w.d("rds")["subnet_groups"].clear(),
        r"^DB subnet group .* does not exist",
    ),
    Drift(
        "subnet_group.subnet_ids[]",
        "subnet-group-subnets",
        lambda w, s: w.d("rds")["subnet_groups"][s["subnet_group"]["name"]]["Subnets"].pop(),
        r"^DB subnet group .*: subnets ",
    ),
    Drift(
        "dr_subnet_group.name",
        "dr-subnet-group-deleted",
        lambda w, s: w.d("rds", s["dr_subnet_group"]["region"])["subnet_groups"].clear(),
        r"^DB subnet group .* \(us-west-2\) does not exist",
    ),
    Drift(
        "dr_subnet_group.region",
        "dr-subnet-group-region",
        lambda w, s: w.data.pop(("rds", s["dr_subnet_group"]["region"])),
        r"^DB subnet group .* \(us-west-2\) does not exist",
    ),
    Drift(
        "dr_subnet_group.subnet_ids[]",
        "dr-subnet-group-subnets",
        lambda w, s: w.d("rds", s["dr_subnet_group"]["region"])["subnet_groups"][
            s["dr_subnet_group"]["name"]
        ]["Subnets"].pop(),
        r"^DB subnet group .* \(us-west-2\): subnets ",
    ),
    Drift(
        "tags.*",
        "subnet-group-tags",
        lambda w, s: next(iter(w.d("rds")["tags"].values())).pop("CostCenter"),
        r"^DB subnet group .*: tags differ",
    ),
    Drift(
        "parameter_group.name",
        "parameter-group-deleted",
        lambda w, s: w.d("rds")["parameter_groups"].clear(),
        r"^DB parameter group .* does not exist",
    ),
    Drift(
        "parameter_group.name",
        "instance-parameter-group",
        _db_set(DBParameterGroups=[{"DBParameterGroupName": "default.postgres16"}]),
        r"^DB instance .*: parameter group is \['default\.postgres16'\]",
    ),
    Drift(
        "parameter_group.family",
        "parameter-group-family",
        lambda w, s: next(iter(w.d("rds")["parameter_groups"].values())).update(
            DBParameterGroupFamily="postgres15"
        ),
        r"^DB parameter group .*: family postgres15",
    ),
    Drift(
        "parameter_group.parameters.*",
        "parameter-value",
        lambda w, s: next(iter(w.d("rds")["parameters"].values())).update(max_connections="5"),
        r"^DB parameter group .*: max_connections is 5",
    ),
    Drift(
        "primary.identifier",
        "primary-deleted",
        lambda w, s: w.d("rds")["instances"].pop(s["primary"]["identifier"]),
        r"^DB instance .* does not exist",
    ),
    *_db_cases("primary", "primary", "DB instance"),
    Drift(
        "primary.engine_version",
        "primary-engine-version",
        _db_set(EngineVersion="15.9"),
        r"^DB instance .*: engine version is False",
    ),
    Drift(
        INVARIANT + "engine postgres",
        "primary-engine",
        _db_set(Engine="mysql"),
        r"^DB instance .*: engine is mysql",
    ),
    Drift(
        "primary.allocated_storage",
        "primary-storage",
        _db_set(AllocatedStorage=20),
        r"^DB instance .*: allocated storage is False",
    ),
    Drift(
        "primary.max_allocated_storage",
        "primary-max-storage",
        _db_set(MaxAllocatedStorage=None),
        r"^DB instance .*: max allocated storage is None",
    ),
    Drift(
        "primary.storage_type",
        "primary-storage-type",
        _db_set(StorageType="gp2"),
        r"^DB instance .*: storage type is gp2",
    ),
    Drift("primary.iops", "primary-iops", _db_set(Iops=3000), r"^DB instance .*: IOPS is 3000"),
    Drift(
        "primary.storage_throughput",
        "primary-throughput",
        _db_set(StorageThroughput=125),
        r"^DB instance .*: storage throughput is 125",
    ),
    Drift(
        "primary.multi_az",
        "primary-multi-az",
        _db_set(MultiAZ=False),
        r"^DB instance .*: Multi-AZ is False",
    ),
    Drift(
        "primary.backup_retention",
        "primary-backup-retention",
        _db_set(BackupRetentionPeriod=1),
        r"^DB instance .*: backup retention is 1",
    ),
    Drift(
        "primary.backup_window",
        "primary-backup-window",
        _db_set(PreferredBackupWindow="10:00-11:00"),
        r"^DB instance .*: backup window is 10:00-11:00",
    ),
    Drift(
        "primary.maintenance_window",
        "primary-maintenance-window",
        _db_set(PreferredMaintenanceWindow="sun:10:00-sun:11:00"),
        r"^DB instance .*: maintenance window is sun:10:00-sun:11:00",
    ),
    Drift(
        "primary.cloudwatch_logs_exports[]",
        "primary-log-exports",
        _db_set(EnabledCloudwatchLogsExports=[]),
        r"^DB instance .*: CloudWatch log exports is \[\]",
    ),
    Drift(
        INVARIANT + "copy tags to snapshots",
        "primary-copy-tags",
        _db_set(CopyTagsToSnapshot=False),
        r"^DB instance .*: copy tags to snapshots is False",
    ),
    Drift(
        "subnet_group.name",
        "primary-subnet-group",
        _db_set(DBSubnetGroup={"DBSubnetGroupName": "default"}),
        r"^DB instance .*: subnet group is default",
    ),
    Drift(
        "primary.tags.*",
        "primary-backup-tag",
        lambda w, s: _set(
            _db(w, s), TagList=[t for t in _db(w, s)["TagList"] if t["Key"] != "Backup"]
        ),
        r"^DB instance .*: tags differ .*Backup",
    ),
    Drift(
        "replicas[].identifier",
        "replica-deleted",
        lambda w, s: w.d("rds", s["replicas"][0]["region"])["instances"].pop(
            s["replicas"][0]["identifier"]
        ),
        r"^read replica .* does not exist",
    ),
    Drift(
        "replicas[].region",
        "dr-replica-region",
        lambda w, s: w.d("rds", "us-west-2")["instances"].clear(),
        r"^read replica .* \(us-west-2\) does not exist",
    ),
    Drift(
        INVARIANT + "replica source",
        "replica-source",
        _db_set("replica", ReadReplicaSourceDBInstanceIdentifier="other"),
        r"^read replica .*: replicates other",
    ),
    *_db_cases("replica", "replicas[]", "read replica"),
    *_db_cases("dr", "replicas[]", r"read replica .* \(us-west-2\)"),
    Drift(
        "replicas[].subnet_group",
        "dr-replica-subnet-group",
        lambda w, s: _db(w, s, "dr")["DBSubnetGroup"].update(DBSubnetGroupName="default"),
        r"^read replica .*: subnet group is default",
    ),
    Drift(
        "replicas[].subnet_ids[]",
        "dr-replica-subnets",
        lambda w, s: _db(w, s, "dr")["DBSubnetGroup"]["Subnets"].pop(),
        r"^read replica .*: subnets is ",
    ),
    Drift(
        "replicas[].backup_retention",
        "dr-replica-backups",
        _db_set("dr", BackupRetentionPeriod=0),
        r"^read replica .*: backup retention is 0",
    ),
    Drift(
        "tags.*",
        "replica-tags",
        lambda w, s: _db(w, s, "replica")["TagList"].pop(),
        r"^read replica .*: tags differ",
    ),
]


# --------------------------------------------------------------------------- elasticache
def _rg(w, s):
    return w.d("elasticache")["groups"][s["replication_group"]["replication_group_id"]]


def _member(w, s):
    return next(iter(w.d("elasticache")["members"].values()))


def _rg_set(**values):
    return lambda w, s: _rg(w, s).update(values)


def _member_set(**values):
    return lambda w, s: _member(w, s).update(values)


RG = "replication_group"
ELASTICACHE = [
    Drift(
        "subnet_group.name",
        "cache-subnet-group-deleted",
        lambda w, s: w.d("elasticache")["subnet_groups"].clear(),
        r"^cache subnet group .* does not exist",
    ),
    Drift(
        "subnet_group.subnet_ids[]",
        "cache-subnet-group-subnets",
        lambda w, s: next(iter(w.d("elasticache")["subnet_groups"].values()))["Subnets"].pop(),
        r"^cache subnet group .*: subnets differ",
    ),
    Drift(
        f"{RG}.replication_group_id",
        "group-deleted",
        lambda w, s: w.d("elasticache")["groups"].clear(),
        r"^replication group .* does not exist",
    ),
    Drift(
        f"{RG}.description",
        "group-description",
        _rg_set(Description="x"),
        r"^replication group .*: description is x",
    ),
    Drift(
        f"{RG}.cache_node_type",
        "group-node-type",
        _rg_set(CacheNodeType="cache.t3.micro"),
        r"^replication group .*: node type is cache\.t3\.micro",
    ),
    Drift(
        f"{RG}.num_cache_clusters",
        "group-members",
        lambda w, s: _rg(w, s)["MemberClusters"].pop(),
        r"^replication group .*: 2 member clusters, want 3",
    ),
    Drift(
        f"{RG}.automatic_failover",
        "group-failover",
        _rg_set(AutomaticFailover="disabled"),
        r"^replication group .*: automatic failover is False",
    ),
    Drift(
        f"{RG}.multi_az",
        "group-multi-az",
        _rg_set(MultiAZ="disabled"),
        r"^replication group .*: Multi-AZ is False",
    ),
    Drift(
        f"{RG}.at_rest_encryption",
        "group-at-rest",
        _rg_set(AtRestEncryptionEnabled=False),
        r"^replication group .*: encryption at rest ",
    ),
    Drift(
        f"{RG}.kms_key_id",
        "group-kms-key",
        _rg_set(KmsKeyId="arn:x"),
        r"^replication group .*: KMS key is arn:x",
    ),
    Drift(
        f"{RG}.transit_encryption",
        "group-in-transit",
        _rg_set(TransitEncryptionEnabled=False),
        r"^replication group .*: encryption in transit is False",
    ),
    Drift(
        f"{RG}.auth_token_required",
        "group-auth",
        _rg_set(AuthTokenEnabled=False),
        r"^replication group .*: AUTH is not enabled",
    ),
    Drift(
        f"{RG}.snapshot_retention_limit",
        "group-snapshot-retention",
        _rg_set(SnapshotRetentionLimit=0),
        r"^replication group .*: snapshot retention is 0",
    ),
    Drift(
        f"{RG}.snapshot_window",
        "group-snapshot-window",
        _rg_set(SnapshotWindow="10:00-11:00"),
        r"^replication group .*: snapshot window is 10:00-11:00",
    ),
    Drift(
        f"{RG}.engine_version",
        "member-engine-version",
        _member_set(EngineVersion="6.2"),
        r"^replication group .*: engine version is 6\.2",
    ),
    Drift(
        f"{RG}.security_group_ids[]",
        "member-security-groups",
        _member_set(SecurityGroups=[{"SecurityGroupId": "sg-x"}]),
        r"^replication group .*: security groups is \['sg-x'\]",
    ),
    Drift(
        f"{RG}.cache_parameter_group_name",
        "member-parameter-group",
        _member_set(CacheParameterGroup={"CacheParameterGroupName": "custom"}),
        r"^replication group .*: parameter group is custom",
    ),
    Drift(
        f"{RG}.cache_subnet_group_name",
        "member-subnet-group",
        _member_set(CacheSubnetGroupName="other"),
        r"^replication group .*: subnet group is other",
    ),
    Drift(
        f"{RG}.preferred_maintenance_window",
        "member-maintenance-window",
        _member_set(PreferredMaintenanceWindow="mon:10:00-mon:11:00"),
        r"^replication group .*: maintenance window is mon:10:00-mon:11:00",
    ),
    Drift(
        INVARIANT + "group available",
        "group-failed",
        _rg_set(Status="create-failed"),
        r"^replication group .* is create-failed",
    ),
    Drift(
        "tags.*",
        "group-tags",
        lambda w, s: next(iter(w.d("elasticache")["tags"].values())).pop("CostCenter"),
        r"^replication group .*: tags differ",
    ),
]


# --------------------------------------------------------------------------- backup
def _vault(w, s, n=0):
    want = s["vaults"][n]
    return w.d("backup", want["region"])["vaults"][want["name"]]


def _rule(w, s):
    return w.d("backup")["plan_details"]["plan-1"]["BackupPlan"]["Rules"][0]


def _selection(w, s):
    return w.d("backup")["selection_details"]["sel-1"]


def _alarm(w, s):
    return w.d("cloudwatch")["alarms"][0]


def _rule_set(**values):
    return lambda w, s: _rule(w, s).update(values)


def _alarm_set(**values):
    return lambda w, s: _alarm(w, s).update(values)


BACKUP = [
    Drift(
        "vaults[].name",
        "vault-deleted",
        lambda w, s: w.d("backup", s["vaults"][0]["region"])["vaults"].clear(),
        r"^backup vault .* does not exist",
    ),
    Drift(
        "vaults[].region",
        "dr-vault-deleted",
        lambda w, s: w.d("backup", s["vaults"][1]["region"])["vaults"].clear(),
        r"^backup vault .* \(us-west-2\) does not exist",
    ),
    Drift(
        "vaults[].key_arn",
        "vault-key",
        lambda w, s: _vault(w, s).update(EncryptionKeyArn="arn:x"),
        r"^backup vault .*: encrypted with arn:x",
    ),
    Drift(
        "tags.*",
        "vault-tags",
        lambda w, s: w.d("backup", s["vaults"][0]["region"])["tags"][
            _vault(w, s)["BackupVaultArn"]
        ].pop("CostCenter"),
        r"^backup vault .*: tags differ",
    ),
    Drift(
        "tags.*",
        "plan-tags",
        lambda w, s: w.d("backup")["tags"][
            w.d("backup")["plan_details"]["plan-1"]["BackupPlanArn"]
        ].pop("CostCenter"),
        r"^backup plan .*: tags differ",
    ),
    Drift(
        "plan.name",
        "plan-deleted",
        lambda w, s: w.d("backup")["plans"].clear(),
        r"^backup plan .* does not exist",
    ),
    Drift(
        "plan.rules[].name",
        "rule-renamed",
        _rule_set(RuleName="x"),
        r"^backup plan .*: rule x is not in the spec",
    ),
    Drift(
        "plan.rules[].vault",
        "rule-vault",
        _rule_set(TargetBackupVaultName="x"),
        r"rule .*: target vault is x",
    ),
    Drift(
        "plan.rules[].schedule",
        "rule-schedule",
        _rule_set(ScheduleExpression="x"),
        r"rule .*: schedule is x",
    ),
    Drift(
        "plan.rules[].start_window",
        "rule-start",
        _rule_set(StartWindowMinutes=1),
        r"rule .*: start window is 1,",
    ),
    Drift(
        "plan.rules[].completion_window",
        "rule-completion",
        _rule_set(CompletionWindowMinutes=1),
        r"rule .*: completion window is 1,",
    ),
    Drift(
        "plan.rules[].delete_after_days",
        "rule-retention",
        _rule_set(Lifecycle={"DeleteAfterDays": 1}),
        r"rule .*: retention \(days\) is 1,",
    ),
    Drift(
        INVARIANT + "no cold storage",
        "rule-cold-storage",
        lambda w, s: _rule(w, s)["Lifecycle"].update(MoveToColdStorageAfterDays=10),
        r"rule .*: cold storage after \(days\) is 10",
    ),
    Drift(
        "plan.rules[].copy_to[].vault_arn",
        "rule-copy-vault",
        lambda w, s: _rule(w, s)["CopyActions"][0].update(DestinationBackupVaultArn="arn:x"),
        r"rule .*: copies is \[\('arn:x'",
    ),
    Drift(
        "plan.rules[].copy_to[].delete_after_days",
        "rule-copy-retention",
        lambda w, s: _rule(w, s)["CopyActions"][0].update(Lifecycle={"DeleteAfterDays": 1}),
        r"rule .*: copies is \[\('arn:.*', 1\)\]",
    ),
    Drift(
        "selection.enabled",
        "selection-deleted",
        lambda w, s: w.d("backup")["selections"].clear(),
        r"^backup selection .* does not exist",
    ),
    Drift(
        "selection.name",
        "selection-renamed",
        lambda w, s: w.d("backup")["selections"]["plan-1"][0].update(SelectionName="x"),
        r"^backup selection .* does not exist",
    ),
    Drift(
        "selection.iam_role_arn",
        "selection-role",
        lambda w, s: _selection(w, s).update(IamRoleArn="arn:x"),
        r"^backup selection .*: role is arn:x",
    ),
    Drift(
        "selection.resources[]",
        "selection-resources",
        lambda w, s: _selection(w, s).update(Resources=["arn:aws:rds:*"]),
        r"^backup selection .*: resources are ",
    ),
    Drift(
        "selection.conditions[].key",
        "selection-condition-key",
        lambda w, s: _selection(w, s)["Conditions"]["StringEquals"][0].update(
            ConditionKey="aws:ResourceTag/x"
        ),
        r"^backup selection .*: tag conditions are ",
    ),
    Drift(
        "selection.conditions[].value",
        "selection-condition-value",
        lambda w, s: _selection(w, s)["Conditions"]["StringEquals"][0].update(ConditionValue="x"),
        r"^backup selection .*: tag conditions are ",
    ),
    Drift(
        INVARIANT + "selection has only the spec's conditions",
        "selection-extra-condition",
        lambda w, s: _selection(w, s).update(NotResources=["arn:x"]),
        r"^backup selection .*: has conditions beyond",
    ),
    Drift(
        "alarms[].name",
        "alarm-deleted",
        lambda w, s: w.d("cloudwatch")["alarms"].pop(0),
        r"^alarm .* does not exist",
    ),
    Drift(
        "alarms[].namespace",
        "alarm-namespace",
        _alarm_set(Namespace="x"),
        r"^alarm .*: namespace is x",
    ),
    Drift("alarms[].metric", "alarm-metric", _alarm_set(MetricName="x"), r"^alarm .*: metric is x"),
    Drift(
        "alarms[].dimensions.*",
        "alarm-dimensions",
        _alarm_set(Dimensions=[]),
        r"^alarm .*: dimensions is \[\]",
    ),
    Drift(
        "alarms[].statistic",
        "alarm-statistic",
        _alarm_set(Statistic="Average"),
        r"^alarm .*: statistic is Average",
    ),
    Drift(
        "alarms[].comparison",
        "alarm-comparison",
        _alarm_set(ComparisonOperator="LessThanThreshold"),
        r"^alarm .*: comparison is LessThanThreshold",
    ),
    Drift(
        "alarms[].threshold",
        "alarm-threshold",
        _alarm_set(Threshold=99.0),
        r"^alarm .*: threshold is 99\.0",
    ),
    Drift("alarms[].period", "alarm-period", _alarm_set(Period=60), r"^alarm .*: period is 60,"),
    Drift(
        "alarms[].evaluation_periods",
        "alarm-evaluation",
        _alarm_set(EvaluationPeriods=99),
        r"^alarm .*: evaluation periods is 99",
    ),
    Drift(
        "alarms[].datapoints_to_alarm",
        "alarm-datapoints",
        _alarm_set(DatapointsToAlarm=99),
        r"^alarm .*: datapoints to alarm is 99",
    ),
    Drift(
        "alarms[].treat_missing_data",
        "alarm-missing-data",
        _alarm_set(TreatMissingData="ignore"),
        r"^alarm .*: missing data is ignore",
    ),
    Drift(
        "alarms[].actions[]",
        "alarm-actions",
        _alarm_set(AlarmActions=["arn:x"]),
        r"^alarm .*: alarm actions is \['arn:x'\]",
    ),
    Drift(
        INVARIANT + "alarm actions enabled",
        "alarm-actions-disabled",
        _alarm_set(ActionsEnabled=False),
        r"^alarm .*: actions enabled is False",
    ),
    Drift(
        "alarms[].description",
        "alarm-description",
        _alarm_set(AlarmDescription="x"),
        r"^alarm .*: description is x",
    ),
]


# --------------------------------------------------------------------------- dr-state
def _ssm(w, s, n=0):
    return w.d("ssm", s["regions"][n])


def _param(w, s, record="active", n=0):
    return _ssm(w, s, n)["parameters"][f"{s['prefix']}/{record}"]


DR_STATE = [
    Drift(
        "prefix",
        "records-moved",
        lambda w, s: _ssm(w, s)["parameters"].clear(),
        r"^DR state /.* \(us-east-1\) does not exist",
    ),
    Drift(
        "regions[]",
        "dr-region-records-deleted",
        lambda w, s: _ssm(w, s, 1)["parameters"].clear(),
        r"^DR state /.* \(us-west-2\) does not exist",
    ),
    Drift(
        "records[]",
        "epoch-record-deleted",
        lambda w, s: _ssm(w, s)["parameters"].pop(f"{s['prefix']}/epochs/00000001"),
        r"^DR state /.*/epochs/00000001 \(us-east-1\) does not exist",
    ),
    Drift(
        INVARIANT + "a DR record",
        "record-garbled",
        lambda w, s: _param(w, s).update(Value="not json"),
        r"^DR state .* is not a DR record",
    ),
    Drift(
        INVARIANT + "an active region of the spec's",
        "record-other-region",
        lambda w, s: _param(w, s).update(
            Value=json.dumps(dict(json.loads(_param(w, s)["Value"]), active_region="eu-west-1"))
        ),
        r"^DR state .* names eu-west-1, not one of",
    ),
]


# --------------------------------------------------------------------------- audit
def _ct(w):
    return next(iter(w.d("cloudtrail")["trails"].values()))


def _trail(w):
    return _ct(w)["trail"]


def _selector(w):
    return _ct(w)["selectors"]["EventSelectors"][0]


def _cfg(w, s, n=-1):
    """AWS Config's answers in one region of the spec (default the last: the DR region)."""
    return w.d("config", s["config"]["regions"][n])


def _audit_role(w, s, which):
    if which == "cloudwatch":
        return w.d("iam")["roles"][s["trail"]["cloudwatch"]["role_name"]]
    return w.d("iam")["roles"][s["config"]["role"]["name"]]


def _first_inline_statement(w, s, which):
    return next(iter(_audit_role(w, s, which)["inline"].values()))["Statement"][0]


def _config_rule(w, s):
    return next(iter(_cfg(w, s)["rules"].values()))


AUDIT = [
    Drift(
        "trail.name",
        "trail-deleted",
        lambda w, s: w.d("cloudtrail")["trails"].clear(),
        r"^trail .* does not exist",
    ),
    Drift(
        "trail.bucket",
        "trail-bucket",
        lambda w, s: _set(_trail(w), S3BucketName="other"),
        r"^trail .*: bucket is 'other'",
    ),
    Drift(
        INVARIANT + "no S3 key prefix",
        "trail-key-prefix",
        lambda w, s: _set(_trail(w), S3KeyPrefix="x"),
        r"^trail .*: S3 key prefix is 'x'",
    ),
    Drift(
        INVARIANT + "multi-region",
        "trail-single-region",
        lambda w, s: _set(_trail(w), IsMultiRegionTrail=False),
        r"^trail .*: multi-region is False",
    ),
    Drift(
        INVARIANT + "log file validation",
        "trail-validation-off",
        lambda w, s: _set(_trail(w), LogFileValidationEnabled=False),
        r"^trail .*: log file validation is False",
    ),
    Drift(
        INVARIANT + "global service events",
        "trail-global-events-off",
        lambda w, s: _set(_trail(w), IncludeGlobalServiceEvents=False),
        r"^trail .*: global service events is False",
    ),
    Drift(
        "trail.kms_key_arn",
        "trail-kms-key",
        lambda w, s: _trail(w).pop("KmsKeyId"),
        r"^trail .*: KMS key is None",
    ),
    Drift(
        INVARIANT + "logging",
        "trail-logging-stopped",
        lambda w, s: _set(_ct(w)["status"], IsLogging=False),
        r"^trail .*: logging is stopped",
    ),
    Drift(
        "trail.read_write_type",
        "trail-write-only",
        lambda w, s: _set(_selector(w), ReadWriteType="WriteOnly"),
        r"^trail .*: event selectors are ",
    ),
    Drift(
        "trail.exclude_management_event_sources[]",
        "trail-excluded-source",
        lambda w, s: _set(_selector(w), ExcludeManagementEventSources=["kms.amazonaws.com"]),
        r"^trail .*: event selectors are ",
    ),
    Drift(
        INVARIANT + "management events",
        "trail-no-management-events",
        lambda w, s: _set(_selector(w), IncludeManagementEvents=False),
        r"^trail .*: event selectors are ",
    ),
    Drift(
        INVARIANT + "no data events",
        "trail-data-events",
        lambda w, s: _set(
            _selector(w), DataResources=[{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]
        ),
        r"^trail .*: event selectors are ",
    ),
    Drift(
        INVARIANT + "basic event selectors",
        "trail-advanced-selectors",
        lambda w, s: _ct(w)["selectors"].update(
            EventSelectors=[], AdvancedEventSelectors=[{"Name": "x", "FieldSelectors": []}]
        ),
        r"^trail .*: records with advanced event selectors",
    ),
    Drift(
        INVARIANT + "event selectors",
        "trail-no-selectors",
        lambda w, s: _ct(w)["selectors"].update(EventSelectors=[]),
        r"^trail .*: records no event selectors",
    ),
    Drift(
        "tags.*",
        "trail-tags",
        lambda w, s: _ct(w)["tags"].pop("CostCenter"),
        r"^trail .*: tags differ",
    ),
    Drift(
        "trail.cloudwatch.log_group_arn",
        "trail-log-group",
        lambda w, s: _set(_trail(w), CloudWatchLogsLogGroupArn=None),
        r"^trail .*: CloudWatch Logs group is None",
    ),
    Drift(
        "trail.cloudwatch.role_arn",
        "trail-log-role",
        lambda w, s: _set(_trail(w), CloudWatchLogsRoleArn="arn:aws:iam::1:role/x"),
        r"^trail .*: CloudWatch Logs role is ",
    ),
    Drift(
        "trail.cloudwatch.log_group",
        "log-group-deleted",
        lambda w, s: w.d("logs")["groups"].clear(),
        r"^log group .* does not exist",
    ),
    Drift(
        "trail.cloudwatch.retention_days",
        "log-group-retention",
        lambda w, s: _set(w.d("logs")["groups"][0], retentionInDays=1),
        r"^log group .*: retention is 1 days",
    ),
    Drift(
        "tags.*",
        "log-group-tags",
        lambda w, s: next(iter(w.d("logs")["group_tags"].values())).clear(),
        r"^log group .*: tags differ",
    ),
    *[
        Drift(
            f"{prefix}.{field}",
            f"{which}-role-{name}",
            mutate,
            needle,
        )
        for which, prefix in (("cloudwatch", "trail.cloudwatch"), ("config", "config.role"))
        for field, name, mutate, needle in (
            (
                "role_name" if which == "cloudwatch" else "name",
                "deleted",
                lambda w, s, which=which: w.d("iam")["roles"].pop(
                    _audit_role(w, s, which)["role"]["RoleName"]
                ),
                r"^IAM role .* does not exist",
            ),
            (
                "trust",
                "trust",
                lambda w, s, which=which: _audit_role(w, s, which)["role"][
                    "AssumeRolePolicyDocument"
                ]["Statement"][0].update(Principal={"Service": "ec2.amazonaws.com"}),
                r"^IAM role .*: trust policy differs",
            ),
            (
                "policy_name",
                "policy-renamed",
                lambda w, s, which=which: _rename_first_inline_policy(
                    _audit_role(w, s, which),
                    {"inline_policies": [{"name": next(iter(_audit_role(w, s, which)["inline"]))}]},
                ),
                r"^IAM role .*: inline policies are ",
            ),
            (
                "policy",
                "policy",
                lambda w, s, which=which: _first_inline_statement(w, s, which).update(Resource="*"),
                r"^IAM role .*: policy .* differs",
            ),
        )
    ],
    Drift(
        "config.role.managed_policies[]",
        "config-role-managed-policy",
        lambda w, s: _audit_role(w, s, "config")["attached"].clear(),
        r"^IAM role .*: managed policies are \[\]",
    ),
    Drift(
        "tags.*",
        "config-role-tags",
        lambda w, s: _drop_tag(_audit_role(w, s, "config")["role"]),
        r"^IAM role .*: tags differ",
    ),
    Drift(
        "config.name",
        "recorder-deleted",
        lambda w, s: _cfg(w, s)["recorders"].clear(),
        r"^configuration recorder .* does not exist \(us-west-2\)",
    ),
    Drift(
        "config.regions[]",
        "recorder-missing-in-the-region",
        lambda w, s: _cfg(w, s, 0)["recorders"].clear(),
        r"^configuration recorder .* does not exist \(us-east-1\)",
    ),
    Drift(
        INVARIANT + "one recorder per region",
        "recorder-of-someone-else",
        lambda w, s: _cfg(w, s)["recorders"][0].update(name="default"),
        r"^Config in us-west-2: the region already has the recorder default",
    ),
    Drift(
        "config.role.arn",
        "recorder-role",
        lambda w, s: _cfg(w, s)["recorders"][0].update(roleARN="arn:aws:iam::1:role/x"),
        r"^configuration recorder .*: role is arn:aws:iam::1:role/x",
    ),
    Drift(
        INVARIANT + "all supported resource types",
        "recorder-some-types",
        lambda w, s: _cfg(w, s)["recorders"][0]["recordingGroup"].update(allSupported=False),
        r"^configuration recorder .*: allSupported is False",
    ),
    Drift(
        "config.global_resources_region",
        "recorder-global-types",
        lambda w, s: _cfg(w, s, 0)["recorders"][0]["recordingGroup"].update(
            includeGlobalResourceTypes=False
        ),
        r"^configuration recorder .*: includeGlobalResourceTypes is False, want True",
    ),
    Drift(
        INVARIANT + "recording",
        "recorder-stopped",
        lambda w, s: _cfg(w, s)["status"].update({s["config"]["name"]: False}),
        r"^configuration recorder .* \(us-west-2\) is not recording",
    ),
    Drift(
        "config.bucket",
        "channel-bucket",
        lambda w, s: _cfg(w, s)["channels"][0].update(s3BucketName="other"),
        r"^delivery channel .*: bucket is 'other'",
    ),
    Drift(
        "config.kms_key_arn",
        "channel-kms-key",
        lambda w, s: _cfg(w, s)["channels"][0].pop("s3KmsKeyArn"),
        r"^delivery channel .*: KMS key is None",
    ),
    Drift(
        "config.delivery_frequency",
        "channel-frequency",
        lambda w, s: _cfg(w, s)["channels"][0].update(
            configSnapshotDeliveryProperties={"deliveryFrequency": "One_Hour"}
        ),
        r"^delivery channel .*: snapshot frequency is 'One_Hour'",
    ),
    Drift(
        INVARIANT + "no delivery channel prefix",
        "channel-prefix",
        lambda w, s: _cfg(w, s)["channels"][0].update(s3KeyPrefix="x"),
        r"^delivery channel .*: S3 key prefix is 'x'",
    ),
    Drift(
        "config.name",
        "channel-deleted",
        lambda w, s: _cfg(w, s)["channels"].clear(),
        r"^delivery channel .* does not exist",
    ),
    Drift(
        "config.rules[].name",
        "rule-deleted",
        lambda w, s: _cfg(w, s)["rules"].pop(s["config"]["rules"][-1]["name"]),
        r"^Config rule .* does not exist \(us-west-2\)",
    ),
    Drift(
        "config.rules[].identifier",
        "rule-identifier",
        lambda w, s: _config_rule(w, s)["Source"].update(SourceIdentifier="EC2_STOPPED_INSTANCE"),
        r"^Config rule .*: identifier is 'EC2_STOPPED_INSTANCE'",
    ),
    Drift(
        INVARIANT + "AWS managed rule",
        "rule-owner",
        lambda w, s: _config_rule(w, s)["Source"].update(Owner="CUSTOM_LAMBDA"),
        r"^Config rule .*: source is 'CUSTOM_LAMBDA'",
    ),
    Drift(
        "config.rules[].resource_types[]",
        "rule-scope",
        lambda w, s: _config_rule(w, s).pop("Scope"),
        r"^Config rule .*: resource types is \[\]",
    ),
    Drift(
        # The default rules have no parameters (an empty map is no field): a parameter
        # added by hand is drift all the same.
        INVARIANT + "rule parameters as the spec says",
        "rule-parameters",
        lambda w, s: _config_rule(w, s).update(InputParameters='{"kmsId": "x"}'),
        r"^Config rule .*: parameters is ",
    ),
    Drift(
        "config.rules[].description",
        "rule-description",
        lambda w, s: _config_rule(w, s).update(Description="x"),
        r"^Config rule .*: description is 'x'",
    ),
    Drift(
        INVARIANT + "rule active",
        "rule-deleting",
        lambda w, s: _config_rule(w, s).update(ConfigRuleState="DELETING"),
        r"^Config rule .*: state is 'DELETING'",
    ),
    Drift(
        "tags.*",
        "rule-tags",
        lambda w, s: next(iter(_cfg(w, s)["tags"].values())).clear(),
        r"^Config rule .* \(us-west-2\): tags differ",
    ),
]


# --------------------------------------------------------------------------- alarms
def _sns_topic(w, s, n=0, region=0):
    entry = s["regions"][region]
    return w.d("sns", entry["region"])["topics"][entry["topics"][n]["arn"]]


def _cw_alarm(w, s, region=0):
    return w.d("cloudwatch", s["regions"][region]["region"])["alarms"][0]


def _cw_alarm_set(**values):
    return lambda w, s: _cw_alarm(w, s).update(values)


def _subscription(w, s, kind):
    """A topic's subscription whose spec entry has `kind` (endpoint, secret); both entries."""
    for entry in s["regions"]:
        for want in entry["topics"]:
            for n, sub in enumerate(want["subscriptions"]):
                if kind in sub:
                    got = w.d("sns", entry["region"])["topics"][want["arn"]]
                    return got["subscriptions"][n], sub
    raise LookupError(kind)


def _secret_rotated(w, s):
    """The secret now holds another endpoint than the one subscribed."""
    _got, want = _subscription(w, s, "secret")
    home = s["regions"][0]["region"]
    w.d("secretsmanager", home)["values"][want["secret"]] = "https://events.example.invalid/new"


def _topic_moved(w, s):
    topics = w.d("sns", s["regions"][0]["region"])["topics"]
    topics["arn:aws:sns:us-east-1:1:elsewhere"] = topics.pop(s["regions"][0]["topics"][0]["arn"])


def _extra_owned_alarm(w, s):
    alarm = copy.deepcopy(_cw_alarm(w, s))
    alarm["AlarmName"] = s["owned"][0] + "gone-lag"
    w.d("cloudwatch", s["regions"][0]["region"])["alarms"].append(alarm)


ALARMS = [
    Drift(
        "regions[].topics[].name",
        "topic-deleted",
        lambda w, s: w.d("sns", s["regions"][0]["region"])["topics"].clear(),
        r"^topic .* \(us-east-1\) does not exist",
    ),
    Drift(
        "regions[].region",
        "dr-topics-deleted",
        lambda w, s: w.d("sns", s["regions"][1]["region"])["topics"].clear(),
        r"^topic .* \(us-west-2\) does not exist",
    ),
    Drift(
        "regions[].topics[].arn",
        "topic-elsewhere",
        _topic_moved,
        r"^topic .* does not exist",
    ),
    Drift(
        "regions[].topics[].key_arn",
        "topic-unencrypted",
        lambda w, s: _sns_topic(w, s)["attributes"].pop("KmsMasterKeyId"),
        r"^topic .*: encrypted with nothing",
    ),
    Drift(
        "regions[].topics[].display_name",
        "topic-display-name",
        lambda w, s: _sns_topic(w, s)["attributes"].update(DisplayName="x"),
        r"^topic .*: display name is 'x'",
    ),
    Drift(
        "tags",
        "topic-tag-removed",
        lambda w, s: _sns_topic(w, s)["tags"].pop("CostCenter"),
        r"^topic .*: tags differ",
    ),
    Drift(
        "tags",
        "alarm-tag-removed",
        lambda w, s: w.d("cloudwatch", s["regions"][0]["region"])["tags"].clear(),
        r"^alarm .*: tags differ",
    ),
    Drift(
        "regions[].topics[].subscriptions[].protocol",
        "subscription-protocol",
        lambda w, s: _subscription(w, s, "endpoint")[0].update(Protocol="email"),
        r"^topic .*: no https subscription to https://",
    ),
    Drift(
        "regions[].topics[].subscriptions[].endpoint",
        "subscription-endpoint",
        lambda w, s: _subscription(w, s, "endpoint")[0].update(Endpoint="https://127.0.0.1:9/x"),
        r"^topic .*: no https subscription to https://",
    ),
    Drift(
        "regions[].topics[].subscriptions[].secret",
        "subscription-secret-rotated",
        _secret_rotated,
        r"^topic .*: no https subscription to https://events\.example\.invalid/\.\.\.",
    ),
    Drift(
        INVARIANT + "no confirmed subscription beyond the spec's",
        "subscription-extra",
        lambda w, s: _sns_topic(w, s)["subscriptions"].append(
            {"SubscriptionArn": "arn:aws:sns:x", "Protocol": "email", "Endpoint": "a@b.invalid"}
        ),
        r"^topic .*: email subscription to a@b\.invalid is not in the spec",
    ),
    Drift(
        "regions[].alarms[].name",
        "alarm-deleted",
        lambda w, s: w.d("cloudwatch", s["regions"][0]["region"])["alarms"].pop(0),
        r"^alarm .* does not exist",
    ),
    Drift(
        "regions[].alarms[].namespace",
        "alarm-namespace",
        _cw_alarm_set(Namespace="x"),
        r"^alarm .*: namespace is x",
    ),
    Drift(
        "regions[].alarms[].metric",
        "alarm-metric",
        _cw_alarm_set(MetricName="x"),
        r"^alarm .*: metric is x",
    ),
    Drift(
        "regions[].alarms[].dimensions.*",
        "alarm-dimensions",
        _cw_alarm_set(Dimensions=[]),
        r"^alarm .*: dimensions is \[\]",
    ),
    Drift(
        "regions[].alarms[].statistic",
        "alarm-statistic",
        _cw_alarm_set(Statistic="SampleCount"),
        r"^alarm .*: statistic is SampleCount",
    ),
    Drift(
        "regions[].alarms[].comparison",
        "alarm-comparison",
        _cw_alarm_set(ComparisonOperator="LessThanLowerThreshold"),
        r"^alarm .*: comparison is LessThanLowerThreshold",
    ),
    Drift(
        "regions[].alarms[].threshold",
        "alarm-threshold",
        _cw_alarm_set(Threshold=12345.0),
        r"^alarm .*: threshold is 12345\.0",
    ),
    Drift(
        "regions[].alarms[].period",
        "alarm-period",
        _cw_alarm_set(Period=10),
        r"^alarm .*: period is 10,",
    ),
    Drift(
        "regions[].alarms[].evaluation_periods",
        "alarm-evaluation",
        _cw_alarm_set(EvaluationPeriods=99),
        r"^alarm .*: evaluation periods is 99",
    ),
    Drift(
        "regions[].alarms[].datapoints_to_alarm",
        "alarm-datapoints",
        _cw_alarm_set(DatapointsToAlarm=99),
        r"^alarm .*: datapoints to alarm is 99",
    ),
    Drift(
        "regions[].alarms[].treat_missing_data",
        "alarm-missing-data",
        _cw_alarm_set(TreatMissingData="ignore"),
        r"^alarm .*: missing data is ignore",
    ),
    Drift(
        "regions[].alarms[].actions[]",
        "alarm-actions",
        _cw_alarm_set(AlarmActions=["arn:x"]),
        r"^alarm .*: alarm actions is \['arn:x'\]",
    ),
    Drift(
        INVARIANT + "OK actions are the alarm actions",
        "alarm-ok-actions",
        _cw_alarm_set(OKActions=[]),
        r"^alarm .*: OK actions is \[\]",
    ),
    Drift(
        INVARIANT + "alarm actions enabled",
        "alarm-actions-disabled",
        _cw_alarm_set(ActionsEnabled=False),
        r"^alarm .*: actions enabled is False",
    ),
    Drift(
        "regions[].alarms[].description",
        "alarm-description",
        _cw_alarm_set(AlarmDescription="x"),
        r"^alarm .*: description is x",
    ),
    Drift(
        "owned[]",
        "alarm-of-a-resource-gone",
        _extra_owned_alarm,
        r"^alarm .*-gone-lag \(us-east-1\) is not in the spec",
    ),
]


TABLE = {
    "network": NETWORK,
    "security": SECURITY,
    "kinesis": KINESIS,
    "s3": S3,
    "dns": DNS,
    "fleet": FLEET,
    "eks": EKS,
    "rds": RDS,
    "elasticache": ELASTICACHE,
    "backup": BACKUP,
    "dr-state": DR_STATE,
    "audit": AUDIT,
    "alarms": ALARMS,
}

# Spec fields no drift case changes, each with the reason it is not a comparison.
NOT_COMPARED = {
    "network": {
        "region": "the region the module describes (aws_layer_state's region): a resource "
        "elsewhere is a missing one, which every other case shows",
        "nat_gateways[].az": "the zone of nat_gateways[].subnet, compared through the subnet",
        "security_groups[].key": "the key of outputs.security_groups; the name carries it",
    },
    "security": {
        "region": "the region the secrets are described in (the module's region)",
        "kms_keys[].purpose": "the key of outputs.kms_keys; the alias carries it",
        "iam_roles[].key": "the key of outputs.iam_roles; the role name carries it",
        "secrets[].key": "the key of outputs.secrets; the secret name carries it",
        "secrets[].username": "inside the secret's value, which the state call never reads "
        "(no secret value in a describe answer or a log)",
    },
    "kinesis": {"streams[].key": "the key of outputs.streams; the stream name carries it"},
    "s3": {
        "region": "where the buckets are described (their names are global)",
        "dr_region": "where the DR buckets are described; dr_buckets[].name covers them",
        "buckets[].key": "the key of outputs.buckets; the bucket name carries it",
        "dr_buckets[].key": "the key of outputs.dr_buckets; the bucket name carries it",
        "dr_buckets[].replicate_to": "always none: DR copies replicate nowhere",
    },
    "dns": {
        "health_checks[].record": "builds health_checks[].name (compared)",
        "health_checks[].role": "builds health_checks[].name (compared)",
        "records[].key": "the key of outputs.records",
        "regional_records[].key": "the key of outputs.regional",
        "regional_records[].region": "builds regional_records[].fqdn (compared)",
    },
    "fleet": {
        "region": "the region the module describes (aws_layer_state's region)",
        "kms_key_arn": "the launch template's root-volume key (launch_template.kms_key_arn, "
        "compared); an instance's existing root volume keeps the key it was created with "
        "(EC2 cannot re-encrypt a volume in place)",
    },
    "eks": {
        "region": "the region the module describes (aws_layer_state's region)",
        "nodegroups[].key": "the key of outputs.nodegroups; the node group name carries it",
        "nodegroups[].failover_min_size": "an output: the minSize the DR runbook sets at "
        "failover, not a state of the standby",
        "irsa_roles[].key": "the key of outputs.irsa_roles; the role name carries it",
    },
    "rds": {
        "region": "the region the module describes (aws_layer_state's region)",
        "master_secret_arn": "an output (the security layer owns and compares the secret)",
        "replicas[].key": "the key of outputs.replicas",
        "replicas[].dr": "which replica is the DR one, for the converge; region and "
        "subnet group (compared) follow from it",
        "check_performance_insights": "a lab switch (inventories/lab/group_vars/all/"
        "aws_lab.yml: moto does not model Performance Insights); true in production",
        "check_replica_subnets": "a lab switch (aws_lab.yml: moto reports a cross-region "
        "replica's subnet group as the source region's); true in production",
    },
    "elasticache": {
        "auth_secret_arn": "an output (the security layer owns and compares the secret)",
        "strict_member_count": "a lab switch (aws_lab.yml: moto reports one member whatever "
        "the count); true in production",
        "describe_members": "a lab switch (aws_lab.yml: moto hides the members from "
        "DescribeCacheClusters); true in production, where a describe error is an error",
    },
    "backup": {
        "vaults[].key": "the key of outputs.vaults; the vault name carries it",
        "plan.region": "where the plan is described (the primary region)",
        "alarms[].key": "the key of outputs.alarms; the alarm name carries it",
    },
    "dr-state": {
        "tags.*": "set when a record is created; an existing record is never written again "
        "(ssm_parameter's overwrite_value never leaves its tags too), so that no converge "
        "can race a DR runbook's write. Re-tagging without touching the value needs the "
        "dr_state module (docs/aws.md, the DR state row)",
    },
    "audit": {
        "region": "the trail's home region: the region the module describes it in",
        "account_id": "builds outputs.trail.arn (an output)",
        "config.enabled": "whether AWS Config is described at all (off: nothing of it is "
        "managed, so there is nothing to compare)",
    },
    "alarms": {
        "prefix": "builds the topic and alarm names (compared)",
        "regions[].topics[].severity": "builds the topic's name (compared)",
        "regions[].alarms[].key": "the rule the alarm comes from: named in its description "
        "(compared)",
        "regions[].alarms[].severity": "picks the alarm's topic (its actions, compared) and "
        "opens its description (compared)",
    },
}


# The edge layer's cases live in a module of their own.
from .aws_edge_drifts import EDGE, EDGE_MAPS, EDGE_NOT_COMPARED  # noqa: E402

TABLE["edge"] = EDGE
NOT_COMPARED["edge"] = EDGE_NOT_COMPARED
MAPS.update(EDGE_MAPS)


def _spec_fields(layer):
    out = set()
    for inventory in INVENTORIES:
        out |= set(leaves(spec_of(layer, inventory)))
    return out


def _covers(field, leaf):
    return (
        leaf == field
        or leaf.startswith(field + ".")
        or leaf.startswith(field + "[")
        or field.startswith(leaf + ".")
        or field.startswith(leaf + "[")
    )


def _state_layer(layer):
    return STATE_LAYER.get(layer, layer)


def _applies(drift, layer, spec):
    """A case runs on a spec that has its field (a none or empty field has nothing to
    drift: the fleet's launch_template is none outside the DR region)."""
    if drift.field.startswith(INVARIANT):
        return not drift.field.startswith(INVARIANT + "launch template") or bool(
            spec.get("launch_template")
        )
    return any(
        leaf == drift.field
        or leaf.startswith(drift.field + ".")
        or leaf.startswith(drift.field + "[")
        for leaf in leaves(spec)
    )


def _cases():
    out = []
    for layer in LAYERS:
        spec = spec_of(layer)
        for drift in TABLE[_state_layer(layer)]:
            if _applies(drift, layer, spec):
                out.append(pytest.param(layer, drift, id=f"{layer}:{drift.name}"))
    return out


@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_spec_field_is_drifted_or_explained(layer):
    """A field of the rendered spec (production or lab) that no case drifts and no reason
    explains fails here: add the comparison to the layer's state function, and a case."""
    state = _state_layer(layer)
    fields = [d.field for d in TABLE[state] if not d.field.startswith(INVARIANT)]
    explained = NOT_COMPARED[state]
    missing = [
        leaf
        for leaf in sorted(_spec_fields(layer))
        if leaf not in explained and not any(_covers(f, leaf) for f in fields)
    ]
    assert not missing, f"{layer}: spec fields without a drift case: {missing}"


@pytest.mark.parametrize("state", sorted(TABLE))
def test_the_table_names_only_fields_the_specs_have(state):
    layers = [layer for layer in LAYERS if _state_layer(layer) == state]
    fields = set().union(*(_spec_fields(layer) for layer in layers))
    stale = [
        d.field
        for d in TABLE[state]
        if not d.field.startswith(INVARIANT) and not any(_covers(d.field, f) for f in fields)
    ]
    stale += [f for f in NOT_COMPARED[state] if f not in fields]
    assert not stale, f"{state}: the table names fields no spec has: {stale}"
    names = [d.name for d in TABLE[state]]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("layer", list(LAYERS))
def test_a_converged_world_has_no_differences(layer, inventory):
    spec = spec_of(layer, inventory)
    differences, _outputs = build(layer, spec).state(layer, spec)
    assert differences == []


@pytest.mark.parametrize(("layer", "drift"), _cases())
def test_one_drifted_field_is_reported(layer, drift):
    spec = spec_of(layer)
    world = build(layer, spec)
    drift.mutate(world, spec)
    differences, _outputs = world.state(layer, spec)
    assert any(re.search(drift.needle, d) for d in differences), (drift.field, differences)


def test_every_layer_has_cases_and_most_fields_are_compared():
    """The table is not a formality: each layer drifts several fields, and the reasons
    for not comparing are the exception."""
    for layer in LAYERS:
        cases = [d for d in TABLE[_state_layer(layer)] if _applies(d, layer, spec_of(layer))]
        assert len(cases) >= 4, layer
        assert len(NOT_COMPARED[_state_layer(layer)]) < len(cases), layer
