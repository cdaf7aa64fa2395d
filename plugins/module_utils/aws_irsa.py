# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM roles for Kubernetes service accounts (IRSA): the one definition of their names.

The eks layer creates, for its cluster, an IAM OIDC provider (the cluster's issuer) and
one IAM role per service account that calls AWS; k8s_workloads annotates those service
accounts with the role's ARN (``eks.amazonaws.com/role-arn``). Both take the role's name
from ``role_name`` here, so the annotation names the role the eks layer creates (a unit
test holds this for every shipped inventory).

A role trusts exactly one service account, in each cluster of the platform (the primary's
and the DR region's: IAM names are global, so the same annotation works in the cluster that
takes over at failover): one statement per cluster, ``sts:AssumeRoleWithWebIdentity`` by
that cluster's OIDC provider, with ``<issuer>:sub`` = ``system:serviceaccount:<ns>:<sa>``
and ``<issuer>:aud`` = ``sts.amazonaws.com``.
"""

from __future__ import annotations

import re

AUDIENCE = "sts.amazonaws.com"
ANNOTATION = "eks.amazonaws.com/role-arn"
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ARN_PREFIX = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(.*)$")


class IrsaError(ValueError):
    """A definition that cannot give a valid IAM role; the message names the field."""


def issuer_host(issuer):
    """The issuer URL without its scheme: the OIDC provider's name and condition-key prefix.

    ``https://oidc.eks.us-east-1.amazonaws.com/id/ABC/``
    -> ``oidc.eks.us-east-1.amazonaws.com/id/ABC``
    """
    text = str(issuer or "").strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    return text.rstrip("/")


def provider_arn(account_id, issuer, partition="aws"):
    """ARN of the IAM OIDC provider of an issuer (what IAM names it)."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer_host(issuer)}"


def trusted_providers(account_id, issuers, partition="aws"):
    """``[(provider_arn, issuer), ...]`` of the clusters' issuers, in order, each once
    (empty ones, a cluster not built yet, left out)."""
    out, seen = [], set()
    for issuer in issuers:
        if issuer and issuer_host(issuer) not in seen:
            seen.add(issuer_host(issuer))
            out.append((provider_arn(account_id, issuer, partition), issuer))
    return out


def role_name(prefix, name):
    """The IAM role of ``name``: ``<prefix><name>`` (e.g. tradeops-lab-order-api)."""
    full = f"{prefix}{name}"
    if not _ROLE_NAME.match(full):
        raise IrsaError(
            f"IRSA role name {full!r} is not a valid IAM role name (at most 64 of "
            "letters, digits and +=,.@_-): shorten the prefix or the service's name"
        )
    return full


def role_arn_from_prefix(arn_prefix, name):
    """The role ARN k8s_workloads annotates: ``arn:aws:iam::<account>:role/<prefix>`` + name."""
    match = _ARN_PREFIX.match(str(arn_prefix or ""))
    if not match:
        raise IrsaError(
            f"irsa_role_arn_prefix {arn_prefix!r} is not "
            "arn:aws:iam::<12-digit account>:role/<prefix>"
        )
    partition, account, prefix = match.groups()
    return f"arn:{partition}:iam::{account}:role/{role_name(prefix, name)}"


def subject(namespace, service_account):
    return f"system:serviceaccount:{namespace}:{service_account}"


def trust_policy(providers, namespace, service_account):
    """The trust policy of a service account's role: one statement per cluster.

    ``providers``: ``[(provider_arn, issuer), ...]``, the primary cluster's first (the DR
    cluster's after it, once it exists)."""
    statements = []
    for provider, issuer in providers:
        host = issuer_host(issuer)
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": subject(namespace, service_account),
                        f"{host}:aud": AUDIENCE,
                    }
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def irsa_roles(prefix, definitions):
    """The roles the eks layer creates, from its definitions (``aws_eks_irsa_roles``).

    Each definition: ``name`` (the role is ``<prefix><name>``), ``namespace``,
    ``service_account`` (default: ``name``), ``description``, ``statements`` (the inline
    policy, least privilege) and ``managed_policies`` (ARNs). Returns one dict per role:
    key, name, namespace, service_account, description, managed_policies and
    inline_policies ([{name, document}], the eks layer's spec and the converge's input).
    """
    out = []
    seen = {}
    for index, item in enumerate(definitions or []):
        where = f"aws_eks_irsa_roles[{index}]"
        if not isinstance(item, dict) or not item.get("name"):
            raise IrsaError(f"{where}: a dict with at least name and namespace")
        name = str(item["name"])
        namespace = str(item.get("namespace") or "")
        account = str(item.get("service_account") or name)
        fields = (("name", name), ("namespace", namespace), ("service_account", account))
        for field, value in fields:
            if not _DNS_LABEL.match(value):
                raise IrsaError(f"{where}.{field}: {value!r} is not a DNS label")
        full = role_name(prefix, name)
        if full in seen:
            raise IrsaError(f"{where}: role {full} is defined twice ({seen[full]})")
        seen[full] = where
        statements = item.get("statements") or []
        managed = sorted(item.get("managed_policies") or [])
        if not statements and not managed:
            raise IrsaError(f"{where} ({name}): no statements and no managed_policies")
        out.append(
            {
                "key": name,
                "name": full,
                "namespace": namespace,
                "service_account": account,
                "description": str(item.get("description") or f"IRSA: {namespace}/{account}"),
                "managed_policies": managed,
                "inline_policies": (
                    [
                        {
                            "name": f"{name}-irsa",
                            "document": {"Version": "2012-10-17", "Statement": statements},
                        }
                    ]
                    if statements
                    else []
                ),
            }
        )
    return out
