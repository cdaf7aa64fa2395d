# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja wrappers around module_utils.aws_irsa (docs: plugins/filter/<name>.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import (
    IrsaError,
    irsa_roles,
    provider_arn,
    trust_policy,
)


def aws_irsa_roles(definitions, prefix):
    """aws_eks_irsa_roles -> the roles the eks layer creates (names, policies)."""
    try:
        return irsa_roles(prefix, definitions)
    except IrsaError as exc:
        raise AnsibleFilterError(f"aws_irsa_roles: {exc}") from exc


def aws_irsa_trust(role, issuer, account_id, partition="aws"):
    """One IRSA role (an element of aws_irsa_roles) -> its trust policy for this issuer."""
    if not issuer:
        raise AnsibleFilterError("aws_irsa_trust: the cluster's OIDC issuer is empty")
    return trust_policy(
        provider_arn(account_id, issuer, partition),
        issuer,
        role["namespace"],
        role["service_account"],
    )


class FilterModule:
    def filters(self):
        return {"aws_irsa_roles": aws_irsa_roles, "aws_irsa_trust": aws_irsa_trust}
