# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja wrappers around module_utils.k8s_manifests (docs: plugins/filter/<name>.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_manifests import (
    ManifestError,
    manifest_filename,
    workload_manifests,
)
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def k8s_workload_manifests(spec):
    """The k8s_workloads spec -> [{file, manifest}] in apply order."""
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"k8s_workload_manifests: a dict spec, not {type(spec).__name__}")
    try:
        # plain: the rules deep-copy the spec, and a deep copy of Ansible's lazy container
        # copies the whole templating context with it
        objects = workload_manifests(plain(spec))
    except ManifestError as exc:
        raise AnsibleFilterError(f"k8s_workload_manifests: {exc}") from exc
    return [
        {"file": manifest_filename(index, obj), "manifest": obj}
        for index, obj in enumerate(objects, start=1)
    ]


def k8s_network_endpoints(outputs):
    """The network layer's outputs -> the flows' outside parties, name -> CIDRs.

    alb sits in the public subnets, PostgreSQL and Redis in the database subnets, and the
    AWS APIs the IRSA pods call are the VPC's interface endpoints.
    """
    if not isinstance(outputs, dict):
        raise AnsibleFilterError("k8s_network_endpoints: the network layer's outputs, a dict")
    subnets = outputs.get("subnets") or {}
    missing = [tier for tier in ("public", "database") if not subnets.get(tier)]
    if missing or not outputs.get("vpc_cidr"):
        absent = [f"subnets.{tier}" for tier in missing] + (
            [] if outputs.get("vpc_cidr") else ["vpc_cidr"]
        )
        raise AnsibleFilterError(
            f"k8s_network_endpoints: the network outputs lack {', '.join(absent)}: "
            "is the network layer converged?"
        )

    def cidrs(tier):
        return [subnet["cidr"] for subnet in subnets[tier]]

    return {
        "alb": cidrs("public"),
        "postgresql": cidrs("database"),
        "redis": cidrs("database"),
        "aws-apis": [outputs["vpc_cidr"]],
    }


class FilterModule:
    def filters(self):
        return {
            "k8s_workload_manifests": k8s_workload_manifests,
            "k8s_network_endpoints": k8s_network_endpoints,
        }
