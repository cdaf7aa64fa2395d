# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja wrapper around module_utils.aws_eks_addons (docs: plugins/filter/<name>.yml)."""

from __future__ import annotations

from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks_addons import (
    addon_specs,
)


def aws_eks_addon_specs(addons, irsa_roles, account_id, partition="aws"):
    """aws_eks_addons -> the eks layer's add-on spec (role ARNs of its IRSA roles)."""
    return addon_specs(addons, irsa_roles, account_id, partition)


class FilterModule:
    def filters(self):
        return {"aws_eks_addon_specs": aws_eks_addon_specs}
