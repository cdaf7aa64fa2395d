"""Each AWS layer's spec as its role builds it, rendered in-process from the role's own
defaults/main.yml and vars/main.yml and an inventory's group_vars/all (no AWS, no play).

The drift table (test_aws_drift_fields.py) is generated from these specs: a field a role
adds to its spec appears here without anyone listing it, so a field the layer's state
function does not compare cannot go unnoticed.

Precedence follows Ansible's: role defaults < inventory group_vars < role vars < the few
values a run gets from earlier layers (their outputs files, the zones the preflight reads).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import filter_loader
from ansible.template import Templar
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"

# layer name (as site.yml knows it, from the collection's registry) -> (role, spec
# variable, DR copy)
LAYERS = {
    entry.name: (f"aws_{entry.role}", f"__aws_{entry.role}_spec", entry.dr)
    for entry in aws_layers.LAYERS
}

# The state function each layer runs (aws_layer_state: a layer is described by its role's
# name; the DR copies are the same layer described in the DR region).
STATE_LAYER = {
    entry.name: entry.role.replace("_", "-")
    for entry in aws_layers.LAYERS
    if entry.name != entry.role.replace("_", "-")
}


def _region_ids(region: str) -> dict:
    short = region.replace("-", "")
    return {
        "kms": f"arn:aws:kms:{region}:{ACCOUNT}:key/data-{short}",
        "subnets": {
            tier: [
                {"id": f"subnet-{tier}-{short}-{n}", "az": f"{region}{z}", "cidr": "", "name": ""}
                for n, z in enumerate("abc")
            ]
            for tier in ("public", "private", "database")
        },
        "groups": {k: f"sg-{k}-{short}" for k in ("alb", "nodes", "rds", "redis", "endpoints")},
    }


def earlier_outputs(region: str, dr_region: str) -> dict:
    """The earlier layers' outputs a layer's spec reads (network, network-dr, security)."""
    out = {}
    for layer, where in (("network", region), ("network-dr", dr_region)):
        ids = _region_ids(where)
        out[layer] = {
            "vpc_id": f"vpc-{where}",
            "subnets": ids["subnets"],
            "security_groups": ids["groups"],
        }
    iam = f"arn:aws:iam::{ACCOUNT}"
    out["security"] = {
        "kms_keys": {"data": {r: {"arn": _region_ids(r)["kms"]} for r in (region, dr_region)}},
        "iam_roles": {
            k: f"{iam}:role/{k}" for k in ("eks-cluster", "eks-nodes", "rds-monitoring", "backup")
        },
        "instance_profiles": {"engine": f"{iam}:instance-profile/engine"},
        "secrets": {
            k: f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{k}"
            for k in ("rds-master", "redis-auth")
        },
    }
    # The DR state at epoch 1: the primary region is active (the DR copies are standbys).
    out["dr-state"] = {"active_region": region, "epoch": 1}
    # The load balancers the DNS layer aliases (edge, edge-dr) and the names they serve.
    for layer, where in (("edge", region), ("edge-dr", dr_region)):
        out[layer] = {
            "load_balancer": {
                "dns_name": f"tradeops-x-1.{where}.elb.amazonaws.com",
                "canonical_hosted_zone_id": f"Z-ELB-{where}",
            },
            "hosts": [],
        }
    # The S3 layer's buckets (the audit layer reads the compliance and logs buckets).
    prefix = f"tradeops-x-{ACCOUNT}"
    out["s3"] = {
        "buckets": {k: {"name": f"{prefix}-{k}"} for k in ("backups", "logs", "compliance")},
        "object_locked": [f"{prefix}-compliance"],
        # The edge-dr layer writes its access logs to logs-dr.
        "dr_buckets": {k: {"name": f"{prefix}-{k}-dr"} for k in ("backups", "logs", "compliance")},
    }
    # What the alarms layer watches: the RDS primary and replicas (the DR one in the DR
    # region), the Redis members, the streams, both regions' engines.
    out["rds"] = {
        "primary": {"identifier": "db-1"},
        "replicas": {
            "replica-1": {"identifier": "db-1-replica-1", "region": region},
            "dr": {"identifier": "db-1-dr", "region": dr_region},
        },
    }
    out["elasticache"] = {"replication_group_id": "rg", "members": ["rg-001", "rg-002"]}
    # The DR cluster's issuer (the primary's IRSA roles trust its OIDC provider too).
    out["eks-dr"] = {
        "cluster": {"oidc_issuer": f"https://oidc.eks.{dr_region}.amazonaws.com/id/DR"}
    }
    out["kinesis"] = {"streams": {"market-data": {"name": "market-data"}}}
    for layer, where in (("fleet", region), ("fleet-dr", dr_region)):
        out[layer] = {"region": where, "instances": {f"engine-{where}": {"id": f"i-{where}"}}}
    # The alarms layer's topics, which AWS Backup's alarms notify too.
    topic = f"arn:aws:sns:{region}:{ACCOUNT}:alarms"
    out["alarms"] = {"topics": {s: f"{topic}-{s}" for s in ("critical", "warning")}}
    return out


def _outputs_file(raw: str, dr: bool) -> str | None:
    """Which outputs file a role variable reads with lookup('tradeops.platform.aws_outputs')."""
    if "lookup('tradeops.platform.aws_outputs'" not in raw:
        return None
    if "'s3'" in raw:
        return "s3"
    for name in ("edge-dr", "edge"):
        if f"'{name}'" in raw:
            return name
    layers = ("dr-state", "security", "network-dr", "eks-dr", "rds", "elasticache", "kinesis")
    layers += ("fleet-dr",)
    for name in (*layers, "fleet", "alarms"):
        if f"'{name}'" in raw:
            return name
    if "network" in raw:
        return "network-dr" if dr else "network"
    raise AssertionError(f"an outputs lookup this renderer does not know: {raw}")


def register_collection_filters() -> None:
    """Make this collection's filters resolvable as tradeops.platform.<filter> here.

    A run resolves them through Ansible's collection loader, which only a real run installs
    (and which cannot take over once the tests have imported the collection as plain Python
    from collections/). A role's vars may call them (aws_network's spec does), so they are
    put in the filter loader's cache under their FQCNs, wrapped as Ansible wraps any filter:
    the templating (lazy arguments, errors) is the same as in a run."""
    filter_loader._ensure_non_collection_wrappers()
    cache = filter_loader._cached_non_collection_wrappers
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        module = importlib.import_module(
            f"ansible_collections.tradeops.platform.plugins.filter.{path.stem}"
        )
        for name, func in module.FilterModule().filters().items():
            fqcn = f"tradeops.platform.{name}"
            if fqcn not in cache:
                cache[fqcn] = filter_loader._wrap_func(fqcn, fqcn, func)


def render(layer: str, inventory: str) -> dict:
    """The layer's spec for inventories/<inventory>, with made-up earlier-layer outputs
    (the variables that read an outputs file get its content directly: no lookup plugin
    runs here)."""
    role, variable, dr = LAYERS[layer]
    register_collection_filters()
    loader = DataLoader()

    def load(path: Path) -> dict:
        if not path.is_file():
            return {}
        return loader.load_from_file(str(path), trusted_as_template=True) or {}

    variables: dict = {}
    variables.update(load(ROOT / "roles" / role / "defaults" / "main.yml"))
    for path in sorted((ROOT / "inventories" / inventory / "group_vars" / "all").glob("*.yml")):
        variables.update(load(path))
    variables.update(load(ROOT / "roles" / role / "vars" / "main.yml"))
    templar = Templar(loader=loader, variables=variables)
    region = templar.template(variables["aws_region"])
    dr_region = templar.template(variables.get("aws_dr_region", region))
    earlier = earlier_outputs(region, dr_region)
    for name, raw in list(variables.items()):
        which = _outputs_file(str(raw), dr) if name.startswith("__") else None
        if which:
            variables[name] = earlier[which]
    variables.update(
        aws_outputs_dir="/nonexistent/outputs",
        tradeops_aws_dr=dr,
        # The preflight's DescribeAvailabilityZones (aws_network reads it).
        __aws_network_region_azs=[f"{dr_region if dr else region}{z}" for z in "abcdef"],
        tradeops_lab_moto_url="http://127.0.0.1:5000",
        ansible_config_file=str(ROOT / "ansible.cfg"),
    )
    templar = Templar(loader=loader, variables=variables)
    return _plain(templar.template(variables[variable]))


def _plain(value):
    """Tagged template results to plain Python (what the module receives as JSON)."""
    return json.loads(json.dumps(value))
