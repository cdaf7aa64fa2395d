"""The k8s_workloads role's spec as the role builds it, rendered in-process from its
defaults/main.yml and vars/main.yml and an inventory's group_vars/all (no play, no files:
the flows' outside parties are made up, as aws_specs.py makes up earlier layers' outputs).
"""

from __future__ import annotations

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from .aws_specs import ROOT, _plain, register_collection_filters

# The flows' outside parties (the network layer's outputs give them in a run).
ENDPOINTS = {
    "alb": ["198.18.101.0/24"],
    "postgresql": ["198.18.11.0/24"],
    "redis": ["198.18.11.0/24"],
    "aws-apis": ["198.18.0.0/16"],
}


def render_k8s_spec(inventory: str, variable: str = "__k8s_workloads_spec") -> dict:
    """A k8s_workloads spec variable (__k8s_workloads_spec, __k8s_workloads_cluster_spec)."""
    role = "k8s_workloads"
    register_collection_filters()
    loader = DataLoader()

    def load(path):
        if not path.is_file():
            return {}
        return loader.load_from_file(str(path), trusted_as_template=True) or {}

    variables: dict = {}
    variables.update(load(ROOT / "roles" / role / "defaults" / "main.yml"))
    for path in sorted((ROOT / "inventories" / inventory / "group_vars" / "all").glob("*.yml")):
        variables.update(load(path))
    variables.update(load(ROOT / "roles" / role / "vars" / "main.yml"))
    variables.update(
        __k8s_workloads_parties=ENDPOINTS,
        ansible_config_file=str(ROOT / "ansible.cfg"),
        tradeops_lab_moto_url="http://127.0.0.1:5000",
    )
    templar = Templar(loader=loader, variables=variables)
    return _plain(templar.template(variables[variable]))
