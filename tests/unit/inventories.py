"""The shipped inventories (inventories/lab, staging, production) as Ansible reads them,
without their cloud sources: the engine instances those would find come from the
inventory's own fleet (aws_fleet_instances, aws_fleet_dr_instances), in the groups the
sources put them in (engines_ec2 and the keyed group type_<instance type>), with
tradeops_region. Shared by tests/unit/test_shipped_inventories.py and
tests/integration/aws/test_inventories_preflight.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
INVENTORIES = ("lab", "staging", "production")
# Where they are (a test may point this at an older copy, to show what it lacked).
INVENTORY_DIR = ROOT / "inventories"
# The keyed group every cloud source defines on the instance type (checked in cloud_instances).
TYPE_GROUP = {"key": "instance_type | replace('.', '_')", "prefix": "type"}


def group_vars(inventory: str, group: str = "all") -> dict:
    """The literal values of an inventory's group_vars/<group>/*.yml (untemplated)."""
    out: dict = {}
    for path in sorted((INVENTORY_DIR / inventory / "group_vars" / group).glob("*.yml")):
        out.update(yaml.safe_load(path.read_text()) or {})
    return out


def cloud_instances(inventory: str) -> dict[str, dict]:
    """{name: {tradeops_region, instance_type, group}} of the engine instances the cloud
    sources would find: the inventory's fleet, primary and DR."""
    sources = sorted((INVENTORY_DIR / inventory).glob("cloud-*.aws_ec2.yml"))
    assert sources, f"{inventory} has no cloud source"
    for source in sources:
        assert TYPE_GROUP in yaml.safe_load(source.read_text())["keyed_groups"], source
    values = group_vars(inventory)
    hosts = {}
    for key, region in (
        ("aws_fleet_instances", values["aws_region"]),
        ("aws_fleet_dr_instances", values["aws_dr_region"]),
    ):
        for instance in values.get(key) or []:
            hosts[instance["name"]] = {
                "tradeops_region": region,
                "instance_type": instance["instance_type"],
                "group": "type_" + instance["instance_type"].replace(".", "_"),
            }
    return hosts


def overlay(inventory: str, where: Path) -> Path:
    """An inventory file with the cloud instances, beside the shipped static hosts.yml."""
    instances = cloud_instances(inventory)
    groups: dict[str, dict] = {}
    for name, host in instances.items():
        groups.setdefault(host["group"], {"hosts": {}})["hosts"][name] = {}
    data = {
        "all": {
            "children": {
                "engines": {
                    "children": {
                        "engines_ec2": {
                            "hosts": {
                                name: {"tradeops_region": host["tradeops_region"]}
                                for name, host in instances.items()
                            }
                        }
                    }
                },
                **groups,
            }
        }
    }
    path = where / f"{inventory}-cloud.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def sources(inventory: str, where: Path) -> list[str]:
    """-i arguments: the shipped static hosts and the cloud instances' stand-in."""
    return [
        "-i",
        str(INVENTORY_DIR / inventory / "hosts.yml"),
        "-i",
        str(overlay(inventory, where)),
    ]


def listed(inventory: str, where: Path) -> dict:
    """ansible-inventory --list of the inventory (groups and every host's variables, as
    Ansible merges them; templates are not evaluated, so no lookup runs)."""
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), *sources(inventory, where), "--list"],
        cwd=ROOT,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)
