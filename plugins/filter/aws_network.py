# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the network layer (roles/aws_network/vars/main.yml): its subnets and its spec.

The rules live in module_utils/aws_network.py (unit-tested); these are thin wrappers.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils import aws_network
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def aws_network_subnets(plan, name, azs):
    """An address plan {tier: [cidr]} -> the layer's subnets [{name, tier, az, cidr, public}]."""
    try:
        return aws_network.subnet_list(name, plain(plan), plain(azs))
    except aws_network.NetworkSpecError as exc:
        raise AnsibleFilterError(f"aws_network_subnets: {exc}") from exc


def aws_network_spec(
    name,
    region,
    vpc_cidr,
    azs,
    subnets,
    nat_gateways,
    vpc_endpoints,
    security_groups,
    tags,
    flow_logs,
):
    """The network layer's desired state (what converge builds and aws_layer_state checks)."""
    try:
        return aws_network.network_spec(
            name,
            region,
            vpc_cidr,
            plain(azs),
            plain(subnets),
            nat_gateways,
            plain(vpc_endpoints),
            plain(security_groups),
            plain(tags),
            plain(flow_logs),
        )
    except aws_network.NetworkSpecError as exc:
        raise AnsibleFilterError(f"aws_network_spec: {exc}") from exc


def aws_network_address_problems(vpc_cidr, subnets, other_vpc_cidr=None):
    """An address plan's problems: {outside, overlaps, misaligned, vpc_overlap}."""
    return aws_network.address_problems(vpc_cidr, plain(subnets), other_vpc_cidr)


def aws_network_rule_problems(groups):
    """Security-group rules without exactly one known peer: ["<key>: <rule>"]."""
    return aws_network.rule_problems(plain(groups))


class FilterModule:
    def filters(self):
        return {
            "aws_network_subnets": aws_network_subnets,
            "aws_network_spec": aws_network_spec,
            "aws_network_address_problems": aws_network_address_problems,
            "aws_network_rule_problems": aws_network_rule_problems,
        }
