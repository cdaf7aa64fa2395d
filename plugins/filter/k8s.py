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


def k8s_workload_manifests(spec):
    """The k8s_workloads spec -> [{file, manifest}] in apply order."""
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"k8s_workload_manifests: a dict spec, not {type(spec).__name__}")
    try:
        objects = workload_manifests(spec)
    except ManifestError as exc:
        raise AnsibleFilterError(f"k8s_workload_manifests: {exc}") from exc
    return [
        {"file": manifest_filename(index, obj), "manifest": obj}
        for index, obj in enumerate(objects, start=1)
    ]


class FilterModule:
    def filters(self):
        return {"k8s_workload_manifests": k8s_workload_manifests}
