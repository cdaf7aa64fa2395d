# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin Jinja wrappers around module_utils.aws_irsa (docs: plugins/filter/<name>.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import (
    IrsaError,
    irsa_roles,
    trust_policy,
    trusted_providers,
)


def aws_irsa_roles(definitions, prefix):
    """aws_eks_irsa_roles -> the roles the eks layer creates (names, policies)."""
    try:
        return irsa_roles(prefix, definitions)
    except IrsaError as exc:
        raise AnsibleFilterError(f"aws_irsa_roles: {exc}") from exc


def aws_irsa_trust(role, issuers, account_id, partition="aws"):
    """One IRSA role (an element of aws_irsa_roles) -> its trust policy for the clusters'
    issuers (a list, the primary's first; a single issuer is a list of one)."""
    if isinstance(issuers, str):
        issuers = [issuers]
    trusted = trusted_providers(account_id, issuers or [], partition)
    if not trusted:
        raise AnsibleFilterError("aws_irsa_trust: no OIDC issuer (the cluster's is empty)")
    return trust_policy(trusted, role["namespace"], role["service_account"])


class FilterModule:
    def filters(self):
        return {"aws_irsa_roles": aws_irsa_roles, "aws_irsa_trust": aws_irsa_trust}
