# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network layer's desired state (roles/aws_network), built from its variables.

roles/aws_network/vars/main.yml calls these through the filters aws_network_subnets and
aws_network_spec; the tasks converge from the spec and aws_layer_state compares AWS with
it. Names: every resource is <name>-<what>[-<zone letter>], the zone letter being the
last character of the availability zone ('' when the plan has more subnets than zones).
"""

from __future__ import annotations

import json

TIERS = ("public", "private", "database")
NAT_MODES = ("per_az", "single", "none")
ANYWHERE = "0.0.0.0/0"


class NetworkSpecError(ValueError):
    """The variables cannot describe a network (the preflight says why in its terms)."""


def _zone_letter(az):
    return str(az)[-1:]


def _need(item, key, what):
    if not isinstance(item, dict) or key not in item:
        raise NetworkSpecError(f"{what} without {key}: {item!r}")
    return item[key]


def subnet_list(name, plan, azs):
    """The subnets of an address plan {tier: [cidr, ...]}, tier by tier (public, private,
    database), the n-th CIDR of a tier in the n-th zone of `azs`."""
    out = []
    azs = list(azs or [])
    for tier in TIERS:
        for index, cidr in enumerate((plan or {}).get(tier) or []):
            az = azs[index] if index < len(azs) else ""
            out.append(
                {
                    "name": f"{name}-{tier}-{_zone_letter(az)}",
                    "tier": tier,
                    "az": az,
                    "cidr": cidr,
                    "public": tier == "public",
                }
            )
    return out


def _tier(subnets, tier):
    return [subnet for subnet in subnets if subnet["tier"] == tier]


def nat_gateways(name, subnets, mode):
    """NAT gateways (and their elastic IPs) in the public subnets: one per zone (per_az),
    one in the first zone (single) or none."""
    public = _tier(subnets, "public")
    counts = {"per_az": len(public), "single": 1, "none": 0}
    if mode not in counts:
        raise NetworkSpecError(f"nat_gateways must be one of {', '.join(NAT_MODES)} (got {mode!r})")
    return [
        {
            "name": f"{name}-nat-{_zone_letter(subnet['az'])}",
            "eip_name": f"{name}-nat-eip-{_zone_letter(subnet['az'])}",
            "subnet": subnet["name"],
            "az": subnet["az"],
        }
        for subnet in public[: counts[mode]]
    ]


def route_tables(name, subnets, nats):
    """One public table (default route to the internet gateway), one per private subnet
    (default route to the NAT of its zone, else the first NAT, else none), one for the
    database subnets (no default route)."""
    out = [
        {
            "name": f"{name}-public",
            "subnets": [subnet["name"] for subnet in _tier(subnets, "public")],
            "routes": [{"dest": ANYWHERE, "igw": True}],
        }
    ]
    for index, subnet in enumerate(_tier(subnets, "private")):
        nat = nats[index] if index < len(nats) else (nats[0] if nats else None)
        out.append(
            {
                "name": f"{name}-private-{_zone_letter(subnet['az'])}",
                "subnets": [subnet["name"]],
                "routes": [{"dest": ANYWHERE, "nat": nat["name"]}] if nat else [],
            }
        )
    out.append(
        {
            "name": f"{name}-database",
            "subnets": [subnet["name"] for subnet in _tier(subnets, "database")],
            "routes": [],
        }
    )
    return out


def vpc_endpoints(name, region, endpoints, tables, subnets, groups):
    """Gateway endpoints attach to every route table but the public one; interface
    endpoints sit in the private subnets, behind <name>-endpoints when that group exists."""
    keys = [group.get("key") for group in groups or []]
    private = [subnet["name"] for subnet in _tier(subnets, "private")]
    out = []
    for endpoint in endpoints or []:
        service = _need(endpoint, "service", "a VPC endpoint")
        kind = _need(endpoint, "type", "a VPC endpoint")
        out.append(
            {
                "service": service,
                "type": kind,
                "service_name": f"com.amazonaws.{region}.{service}",
                "route_tables": [t["name"] for t in tables if t["name"] != f"{name}-public"]
                if kind == "Gateway"
                else [],
                "subnets": list(private) if kind == "Interface" else [],
                "security_groups": [f"{name}-endpoints"]
                if kind == "Interface" and "endpoints" in keys
                else [],
            }
        )
    return out


def security_groups(name, groups):
    """The groups with their AWS names (<name>-<key>); a rule's `group` peer becomes that
    group's AWS name, every other field of a rule is kept as it is."""
    out = []
    for group in groups or []:
        key = _need(group, "key", "a security group")
        rules = {}
        for direction in ("ingress", "egress"):
            rules[direction] = [
                dict(rule, group=f"{name}-{rule['group']}") if "group" in rule else dict(rule)
                for rule in group.get(direction) or []
            ]
        out.append(
            {
                "key": key,
                "name": f"{name}-{key}",
                "description": _need(group, "description", "a security group"),
                "ingress": rules["ingress"],
                "egress": rules["egress"],
            }
        )
    return out


def network_spec(
    name,
    region,
    vpc_cidr,
    azs,
    subnets,
    nat_mode,
    endpoints,
    groups,
    tags,
    flow_logs,
):
    """The whole spec of the layer: the address plan `subnets` ({tier: [cidr]}) laid over
    the zones `azs`, NAT gateways as `nat_mode` says, route tables, endpoints, security
    groups; `tags` and `flow_logs` as given."""
    subnet_items = subnet_list(name, subnets, azs)
    nats = nat_gateways(name, subnet_items, nat_mode)
    tables = route_tables(name, subnet_items, nats)
    return {
        "name": name,
        "region": region,
        "vpc_cidr": vpc_cidr,
        "tags": tags,
        "subnets": subnet_items,
        "nat_gateways": nats,
        "route_tables": tables,
        "vpc_endpoints": vpc_endpoints(name, region, endpoints, tables, subnet_items, groups),
        "security_groups": security_groups(name, groups),
        "flow_logs": flow_logs,
    }


def _range(cidr):
    """'10.0.1.0/24' -> (first, last, aligned): the addresses as integers, and whether the
    address is the network's own (no host bits). None when it is not an IPv4 CIDR (the
    preflight's first check names those)."""
    try:
        address, prefix = str(cidr).split("/")
        octets = [int(part) for part in address.split(".")]
        prefix = int(prefix)
    except ValueError:
        return None
    if len(octets) != 4 or not all(0 <= o <= 255 for o in octets) or not 0 <= prefix <= 32:
        return None
    first = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3]
    size = 2 ** (32 - prefix)
    return first, first + size - 1, first % size == 0


def _overlap(one, other):
    return one[0] <= other[1] and other[0] <= one[1]


def address_problems(vpc_cidr, subnets, other_vpc_cidr=None):
    """What is wrong with an address plan, by kind: subnets not inside the VPC
    (`outside`), pairs of subnets that share addresses (`overlaps`, "a and b"), CIDRs with
    host bits set (`misaligned`, the VPC's too), and whether the VPC overlaps
    `other_vpc_cidr` (the other region's VPC: `vpc_overlap`). Malformed CIDRs are left
    out (the preflight's first check names them)."""
    vpc = _range(vpc_cidr)
    ranges = [(s["cidr"], _range(s["cidr"])) for s in subnets or []]
    ranges = [(cidr, r) for cidr, r in ranges if r]
    out = {"outside": [], "overlaps": [], "misaligned": [], "vpc_overlap": False}
    if vpc:
        out["outside"] = [cidr for cidr, r in ranges if r[0] < vpc[0]] + [
            cidr for cidr, r in ranges if r[1] > vpc[1]
        ]
        if not vpc[2]:
            out["misaligned"].append(vpc_cidr)
    for index, (cidr, r) in enumerate(ranges):
        for other, r2 in ranges[index + 1 :]:
            if _overlap(r, r2):
                out["overlaps"].append(f"{cidr} and {other}")
    out["misaligned"] += [cidr for cidr, r in ranges if not r[2]]
    other = _range(other_vpc_cidr) if other_vpc_cidr else None
    out["vpc_overlap"] = bool(vpc and other and _overlap(vpc, other))
    return out


def rule_problems(groups):
    """Security-group rules that do not name exactly one peer (cidr, group or self), or
    name a group that is not in the list: "<key>: <rule as JSON>" each."""
    keys = [group.get("key") for group in groups or []]
    out = []
    for group in groups or []:
        for rule in list(group.get("ingress") or []) + list(group.get("egress") or []):
            peers = sum(["cidr" in rule, "group" in rule, bool(rule.get("self"))])
            if peers != 1 or ("group" in rule and rule["group"] not in keys):
                out.append(f"{group.get('key')}: {json.dumps(rule)}")
    return out
