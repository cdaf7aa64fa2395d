"""The network layer's spec (module_utils/aws_network.py, filters aws_network_subnets and
aws_network_spec), as roles/aws_network/vars/main.yml builds it.

The expected values are the ones the role's Jinja produced before the rules moved to Python
(issue #20): names, NAT gateways per mode, route tables, endpoints and security groups.
"""

from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.aws_network import (
    FilterModule,
    aws_network_spec,
    aws_network_subnets,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_network import (
    NetworkSpecError,
    nat_gateways,
    network_spec,
    route_tables,
    security_groups,
    subnet_list,
    vpc_endpoints,
)

from .aws_specs import ROOT, render

DEFAULTS = yaml.safe_load((ROOT / "roles/aws_network/defaults/main.yml").read_text())
PLAN = DEFAULTS["aws_network_subnets"]
AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]
NAME = "p-lab"


def _names(items):
    return [item["name"] for item in items]


# ---- subnets ------------------------------------------------------------------------------
def test_subnets_tier_by_tier_the_nth_cidr_in_the_nth_zone():
    subnets = subnet_list(NAME, PLAN, AZS)
    assert subnets[0] == {
        "name": "p-lab-public-a",
        "tier": "public",
        "az": "us-east-1a",
        "cidr": "10.0.101.0/24",
        "public": True,
    }
    assert subnets[4] == {
        "name": "p-lab-private-b",
        "tier": "private",
        "az": "us-east-1b",
        "cidr": "10.0.2.0/24",
        "public": False,
    }
    assert _names(subnets) == [
        f"p-lab-{tier}-{z}" for tier in ("public", "private", "database") for z in "abc"
    ]
    assert [s["cidr"] for s in subnets] == PLAN["public"] + PLAN["private"] + PLAN["database"]


def test_a_cidr_beyond_the_zones_has_no_zone_and_a_missing_tier_no_subnet():
    # The preflight's zone check runs before the zones are read: there the list is [].
    subnets = subnet_list(NAME, {"public": ["10.0.1.0/24", "10.0.2.0/24"]}, ["eu-west-1c"])
    assert subnets == [
        {
            "name": "p-lab-public-c",
            "tier": "public",
            "az": "eu-west-1c",
            "cidr": "10.0.1.0/24",
            "public": True,
        },
        {
            "name": "p-lab-public-",
            "tier": "public",
            "az": "",
            "cidr": "10.0.2.0/24",
            "public": True,
        },
    ]
    assert subnet_list(NAME, {}, AZS) == []
    alone = aws_network_subnets({"database": ["10.0.9.0/24"]}, NAME, [])
    assert alone[0]["name"] == "p-lab-database-"


# ---- NAT gateways -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "zones"),
    [("per_az", "abc"), ("single", "a"), ("none", "")],
)
def test_nat_gateways_per_mode(mode, zones):
    nats = nat_gateways(NAME, subnet_list(NAME, PLAN, AZS), mode)
    assert nats == [
        {
            "name": f"p-lab-nat-{z}",
            "eip_name": f"p-lab-nat-eip-{z}",
            "subnet": f"p-lab-public-{z}",
            "az": f"us-east-1{z}",
        }
        for z in zones
    ]


def test_an_unknown_nat_mode_is_refused():
    with pytest.raises(NetworkSpecError, match="per_az, single, none"):
        nat_gateways(NAME, [], "two")


# ---- route tables -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "via"),
    [("per_az", ["a", "b", "c"]), ("single", ["a", "a", "a"]), ("none", [None, None, None])],
)
def test_route_tables_private_routes_through_the_zones_nat_else_the_first(mode, via):
    subnets = subnet_list(NAME, PLAN, AZS)
    tables = route_tables(NAME, subnets, nat_gateways(NAME, subnets, mode))
    assert tables[0] == {
        "name": "p-lab-public",
        "subnets": ["p-lab-public-a", "p-lab-public-b", "p-lab-public-c"],
        "routes": [{"dest": "0.0.0.0/0", "igw": True}],
    }
    assert tables[1:4] == [
        {
            "name": f"p-lab-private-{z}",
            "subnets": [f"p-lab-private-{z}"],
            "routes": [{"dest": "0.0.0.0/0", "nat": f"p-lab-nat-{nat}"}] if nat else [],
        }
        for z, nat in zip("abc", via, strict=True)
    ]
    assert tables[4:] == [
        {
            "name": "p-lab-database",
            "subnets": ["p-lab-database-a", "p-lab-database-b", "p-lab-database-c"],
            "routes": [],
        }
    ]


def test_more_private_subnets_than_nats_use_the_first_nat():
    subnets = subnet_list(NAME, {"public": ["10.0.1.0/24"], "private": PLAN["private"]}, AZS)
    tables = route_tables(NAME, subnets, nat_gateways(NAME, subnets, "per_az"))
    assert [t["routes"] for t in tables[1:4]] == [[{"dest": "0.0.0.0/0", "nat": "p-lab-nat-a"}]] * 3
    # No public subnet: public and database tables exist, empty.
    tables = route_tables(NAME, [], [])
    assert tables == [
        {"name": "p-lab-public", "subnets": [], "routes": [{"dest": "0.0.0.0/0", "igw": True}]},
        {"name": "p-lab-database", "subnets": [], "routes": []},
    ]


# ---- endpoints ----------------------------------------------------------------------------
def test_gateway_endpoints_on_the_non_public_tables_interface_endpoints_in_private_subnets():
    subnets = subnet_list(NAME, PLAN, AZS)
    tables = route_tables(NAME, subnets, nat_gateways(NAME, subnets, "single"))
    groups = DEFAULTS["aws_network_security_groups"]
    endpoints = vpc_endpoints(
        NAME, "us-east-1", DEFAULTS["aws_network_vpc_endpoints"], tables, subnets, groups
    )
    non_public = ["p-lab-private-a", "p-lab-private-b", "p-lab-private-c", "p-lab-database"]
    assert endpoints == [
        {
            "service": "s3",
            "type": "Gateway",
            "service_name": "com.amazonaws.us-east-1.s3",
            "route_tables": non_public,
            "subnets": [],
            "security_groups": [],
        },
        {
            "service": "dynamodb",
            "type": "Gateway",
            "service_name": "com.amazonaws.us-east-1.dynamodb",
            "route_tables": non_public,
            "subnets": [],
            "security_groups": [],
        },
        {
            "service": "kinesis-streams",
            "type": "Interface",
            "service_name": "com.amazonaws.us-east-1.kinesis-streams",
            "route_tables": [],
            "subnets": ["p-lab-private-a", "p-lab-private-b", "p-lab-private-c"],
            "security_groups": ["p-lab-endpoints"],
        },
    ]
    # Without an `endpoints` group, an interface endpoint gets no group.
    other = [g for g in groups if g["key"] != "endpoints"]
    sqs = [{"service": "sqs", "type": "Interface"}]
    alone = vpc_endpoints(NAME, "eu-west-1", sqs, [], [], other)
    assert alone == [
        {
            "service": "sqs",
            "type": "Interface",
            "service_name": "com.amazonaws.eu-west-1.sqs",
            "route_tables": [],
            "subnets": [],
            "security_groups": [],
        }
    ]
    with pytest.raises(NetworkSpecError, match="without type"):
        vpc_endpoints(NAME, "eu-west-1", [{"service": "sqs"}], [], [], other)


# ---- security groups ----------------------------------------------------------------------
def test_security_groups_take_aws_names_and_group_peers_are_renamed():
    groups = security_groups(NAME, DEFAULTS["aws_network_security_groups"])
    assert [(g["key"], g["name"]) for g in groups] == [
        ("alb", "p-lab-alb"),
        ("nodes", "p-lab-nodes"),
        ("rds", "p-lab-rds"),
        ("redis", "p-lab-redis"),
        ("endpoints", "p-lab-endpoints"),
    ]
    nodes = groups[1]
    assert nodes["description"] == "EKS nodes and engine hosts"
    assert nodes["ingress"] == [
        {"proto": "tcp", "ports": [7999], "group": "p-lab-alb", "description": "API from the ALB"},
        {
            "proto": "tcp",
            "ports": [8080],
            "group": "p-lab-alb",
            "description": "WebSocket from the ALB",
        },
        {
            "proto": "tcp",
            "ports": [443],
            "cidr": "vpc",
            "description": "Kubernetes API from the VPC",
        },
        {"proto": "all", "self": True, "description": "node to node"},
    ]
    assert groups[2]["egress"] == []
    # The rule's keys keep their order (group in its place); the input is not changed.
    assert list(nodes["ingress"][0]) == ["proto", "ports", "group", "description"]
    assert DEFAULTS["aws_network_security_groups"][1]["ingress"][0]["group"] == "alb"
    # A group without a direction has an empty one.
    assert security_groups(NAME, [{"key": "x", "description": "d"}]) == [
        {"key": "x", "name": "p-lab-x", "description": "d", "ingress": [], "egress": []}
    ]


# ---- the whole spec -----------------------------------------------------------------------
def _spec(**change):
    args = {
        "name": NAME,
        "region": "us-east-1",
        "vpc_cidr": "10.0.0.0/16",
        "azs": AZS,
        "subnets": PLAN,
        "nat_gateways": "per_az",
        "vpc_endpoints": DEFAULTS["aws_network_vpc_endpoints"],
        "security_groups": DEFAULTS["aws_network_security_groups"],
        "tags": {"Environment": "lab"},
        "flow_logs": {"enabled": True, "retention_days": 90},
    }
    args.update(change)
    return aws_network_spec(**args)


def test_the_spec_keeps_its_fields_in_order_and_passes_tags_and_flow_logs_through():
    spec = _spec()
    assert list(spec) == [
        "name",
        "region",
        "vpc_cidr",
        "tags",
        "subnets",
        "nat_gateways",
        "route_tables",
        "vpc_endpoints",
        "security_groups",
        "flow_logs",
    ]
    assert (spec["name"], spec["region"], spec["vpc_cidr"]) == (NAME, "us-east-1", "10.0.0.0/16")
    assert spec["tags"] == {"Environment": "lab"}
    assert spec["flow_logs"] == {"enabled": True, "retention_days": 90}
    assert spec["subnets"] == subnet_list(NAME, PLAN, AZS)
    assert _names(spec["nat_gateways"]) == ["p-lab-nat-a", "p-lab-nat-b", "p-lab-nat-c"]
    assert _names(spec["route_tables"]) == [
        "p-lab-public",
        "p-lab-private-a",
        "p-lab-private-b",
        "p-lab-private-c",
        "p-lab-database",
    ]


def test_the_spec_filter_reports_a_bad_nat_mode_as_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="aws_network_spec: nat_gateways"):
        _spec(nat_gateways="per_region")


def test_the_filters_have_their_documentation():
    for name in FilterModule().filters():
        doc = yaml.safe_load((ROOT / "plugins/filter" / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name


# ---- the role renders it (vars/main.yml through Ansible's templating) ---------------------
@pytest.mark.parametrize(
    ("layer", "inventory", "region", "cidr", "nat_zones"),
    [
        ("network", "production", "us-east-1", "10.0", "abc"),
        ("network-dr", "production", "us-west-2", "10.1", "abc"),
        ("network", "lab", "us-east-1", "10.0", "abc"),
        ("network-dr", "lab", "us-west-2", "10.1", "a"),
    ],
)
def test_the_role_builds_this_spec(layer, inventory, region, cidr, nat_zones):
    spec = render(layer, inventory)
    name = f"tradeops-{inventory}"
    azs = [f"{region}{z}" for z in "abc"]
    plan = {
        "public": [f"{cidr}.{n}.0/24" for n in (101, 102, 103)],
        "private": [f"{cidr}.{n}.0/24" for n in (1, 2, 3)],
        "database": [f"{cidr}.{n}.0/24" for n in (11, 12, 13)],
    }
    want = network_spec(
        name,
        region,
        f"{cidr}.0.0/16",
        azs,
        plan,
        "per_az" if nat_zones == "abc" else "single",
        DEFAULTS["aws_network_vpc_endpoints"],
        DEFAULTS["aws_network_security_groups"],
        spec["tags"],
        spec["flow_logs"],
    )
    assert spec == want
    assert _names(spec["nat_gateways"]) == [f"{name}-nat-{z}" for z in nat_zones]
    assert spec["subnets"][3]["name"] == f"{name}-private-a"
    assert spec["tags"]["Environment"] == inventory
    flow_role = f"{name}-{'dr-' if layer.endswith('-dr') else ''}flow-logs"
    assert spec["flow_logs"] == {
        "enabled": True,
        "log_group": f"/tradeops/{inventory}/vpc-flow-logs/{name}",
        "role_name": flow_role,
        "retention_days": 90,
        "traffic_type": "ALL",
    }
