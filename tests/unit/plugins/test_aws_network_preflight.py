"""The network preflight's address and rule checks (module_utils/aws_network.py, behind
the filters aws_network_address_problems and aws_network_rule_problems): explicit cases,
and random plans against Python's ipaddress as the oracle."""

from __future__ import annotations

import ipaddress
import random

import pytest
from ansible_collections.tradeops.platform.plugins.filter.aws_network import FilterModule
from ansible_collections.tradeops.platform.plugins.module_utils.aws_network import (
    address_problems,
    rule_problems,
)


def subnets(*cidrs):
    return [{"name": f"s{n}", "cidr": cidr} for n, cidr in enumerate(cidrs)]


def test_a_sound_plan_has_no_problems():
    got = address_problems("10.0.0.0/16", subnets("10.0.1.0/24", "10.0.2.0/24"), "10.1.0.0/16")
    assert got == {"outside": [], "overlaps": [], "misaligned": [], "vpc_overlap": False}


def test_outside_overlapping_and_misaligned_subnets_are_named():
    got = address_problems(
        "10.0.0.0/16",
        subnets("10.0.1.0/24", "10.0.1.128/25", "10.1.0.0/24", "10.0.3.5/24", "9.255.255.0/23"),
    )
    assert got["outside"] == ["9.255.255.0/23", "10.1.0.0/24"]
    assert got["overlaps"] == ["10.0.1.0/24 and 10.0.1.128/25"]
    assert got["misaligned"] == ["10.0.3.5/24", "9.255.255.0/23"]


def test_a_misaligned_vpc_and_overlapping_vpcs():
    got = address_problems("10.0.0.1/16", [], "10.0.128.0/17")
    assert got["misaligned"] == ["10.0.0.1/16"]
    assert got["vpc_overlap"] is True
    assert address_problems("10.0.0.0/16", [], "10.1.0.0/16")["vpc_overlap"] is False


def test_malformed_cidrs_are_left_to_the_first_check():
    got = address_problems("10.0.0.0/16", subnets("10.0.1.0", "300.0.0.0/24", "10.0.2.0/33"))
    assert got == {"outside": [], "overlaps": [], "misaligned": [], "vpc_overlap": False}


def _oracle(vpc_cidr, cidrs):
    """The same checks with ipaddress. A range runs from the address as written (host bits
    and all, as the preflight always read it) for 2^(32-prefix) addresses."""

    def span(cidr):
        address, prefix = cidr.split("/")
        first = int(ipaddress.IPv4Address(address))
        return first, first + ipaddress.ip_network(f"0.0.0.0/{prefix}").num_addresses - 1

    vpc = span(vpc_cidr)
    spans = [span(c) for c in cidrs]
    pairs = list(zip(cidrs, spans, strict=True))
    outside = [c for c, (lo, hi) in pairs if lo < vpc[0]] + [
        c for c, (lo, hi) in pairs if hi > vpc[1]
    ]
    overlaps = [
        f"{cidrs[i]} and {cidrs[j]}"
        for i in range(len(spans))
        for j in range(i + 1, len(spans))
        if spans[i][0] <= spans[j][1] and spans[j][0] <= spans[i][1]
    ]
    misaligned = [
        c
        for c in [vpc_cidr, *cidrs]
        if str(ipaddress.ip_network(c, strict=False).network_address) != c.split("/")[0]
    ]
    return {"outside": outside, "overlaps": overlaps, "misaligned": misaligned}


@pytest.mark.parametrize("seed", range(200))
def test_random_plans_agree_with_ipaddress(seed):
    rng = random.Random(seed)

    def cidr(low, high):
        prefix = rng.randint(low, high)
        address = ipaddress.IPv4Address(
            rng.choice([0x0A000000, 0x0A000000 + rng.randrange(1 << 17)])
        )
        if rng.random() < 0.7:  # mostly aligned, as people write them
            address = ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address
        return f"{address}/{prefix}"

    vpc = cidr(16, 20)
    plan = [cidr(20, 28) for n in range(rng.randint(0, 9))]
    got = address_problems(vpc, subnets(*plan))
    assert {k: got[k] for k in ("outside", "overlaps", "misaligned")} == _oracle(vpc, plan)


GROUPS = [
    {"key": "alb", "ingress": [{"cidr": "0.0.0.0/0", "ports": [443]}]},
    {
        "key": "nodes",
        "ingress": [{"group": "alb", "ports": [8080]}, {"self": True, "proto": "all"}],
    },
]


def test_rules_with_one_known_peer_pass():
    assert rule_problems(GROUPS) == []


def test_rules_without_exactly_one_known_peer_are_named():
    bad = [
        {"key": "rds", "ingress": [{"group": "nodez", "ports": [5432]}]},
        {"key": "redis", "egress": [{"cidr": "10.0.0.0/8", "group": "rds"}, {"ports": [1]}]},
        {"key": "x", "ingress": [{"self": False, "ports": [2]}]},
    ]
    assert rule_problems(GROUPS + bad) == [
        'rds: {"group": "nodez", "ports": [5432]}',
        'redis: {"cidr": "10.0.0.0/8", "group": "rds"}',
        'redis: {"ports": [1]}',
        'x: {"self": false, "ports": [2]}',
    ]


def test_the_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["aws_network_rule_problems"](GROUPS) == []
    assert filters["aws_network_address_problems"]("10.0.0.0/16", [])["vpc_overlap"] is False
