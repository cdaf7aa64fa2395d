# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja wrapper around module_utils.k8s_cluster (docs: plugins/filter/<name>.yml).

A file of its own: ansible-core 2.19 fails to load a filter of a file while another filter
of that file is running (plugins/filter/k8s.py's note)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import ANNOTATION
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_cluster import (
    ClusterManifestError,
    cluster_manifests,
)
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_manifests import (
    manifest_filename,
)


def k8s_cluster_manifests(spec, start=1):
    """The cluster objects' spec -> [{file, manifest}] in apply order, numbered from start."""
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"k8s_cluster_manifests: a dict spec, not {type(spec).__name__}")
    try:
        objects = cluster_manifests(spec)
    except ClusterManifestError as exc:
        raise AnsibleFilterError(f"k8s_cluster_manifests: {exc}") from exc
    return [
        {"file": manifest_filename(index, obj), "manifest": obj}
        for index, obj in enumerate(objects, start=int(start))
    ]


def k8s_irsa_unknown_roles(rendered, eks_outputs):
    """The IRSA annotations of rendered manifests ([{file, manifest}]) whose role the eks
    layer's outputs do not name (verified roles: outputs.irsa_roles[*].arn), as
    "<namespace>/<service account>: <role ARN>". Outputs without irsa_roles (an older eks
    layer's) check nothing."""
    known = (eks_outputs or {}).get("irsa_roles")
    if known is None:
        return []
    arns = {role.get("arn") for role in known.values()}
    out = []
    for item in rendered or []:
        meta = item["manifest"].get("metadata") or {}
        arn = (meta.get("annotations") or {}).get(ANNOTATION)
        if arn and arn not in arns:
            out.append(f"{meta.get('namespace')}/{meta.get('name')}: {arn}")
    return out


class FilterModule:
    def filters(self):
        return {
            "k8s_cluster_manifests": k8s_cluster_manifests,
            "k8s_irsa_unknown_roles": k8s_irsa_unknown_roles,
        }
