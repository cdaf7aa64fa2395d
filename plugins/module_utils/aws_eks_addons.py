# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EKS managed add-ons: which version to run, what differs from the desired state.

Pure functions (no boto3), shared by the module ``aws_eks_addon`` (which turns the
differences into CreateAddon / UpdateAddon calls) and the eks layer's state function
(which reports them), so "converged" means the same to both. Current states are
describe_addon's ``addon`` dicts; version lists are describe_addon_versions' answers.

A desired version is explicit (``v1.19.2-eksbuild.1``), ``default`` (the version EKS marks
default for the cluster's Kubernetes version) or ``latest`` (the newest one compatible with
it). EKS cannot downgrade an add-on: an installed version newer than the desired one is
left alone and reported, never "fixed".
"""

from __future__ import annotations

import json
import re

SYMBOLIC = ("default", "latest")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-eksbuild\.(\d+))?")


class AddonError(ValueError):
    """No version of the add-on fits the cluster (the message says why)."""


def version_key(version):
    """``v1.19.2-eksbuild.3`` -> (1, 19, 2, 3), for ordering; () when unparsable."""
    match = _VERSION.match(str(version or ""))
    if not match:
        return ()
    return tuple(int(part or 0) for part in match.groups())


def _compatible(info, kubernetes_version):
    for compat in info.get("compatibilities") or []:
        if compat.get("clusterVersion") == str(kubernetes_version):
            return compat
    return None


def resolve_version(versions, kubernetes_version, wanted):
    """The concrete version for ``wanted`` on a cluster of ``kubernetes_version``.

    ``versions`` is describe_addon_versions(addonName=..., kubernetesVersion=...)'s
    ``addons`` list (one entry for the add-on, with its ``addonVersions``).
    """
    wanted = str(wanted or "default")
    candidates = []
    for addon in versions or []:
        for info in addon.get("addonVersions") or []:
            compat = _compatible(info, kubernetes_version)
            if compat is not None:
                candidates.append((info["addonVersion"], bool(compat.get("defaultVersion"))))
    if wanted not in SYMBOLIC:
        return wanted
    if not candidates:
        raise AddonError(f"no version is compatible with Kubernetes {kubernetes_version}")
    if wanted == "default":
        defaults = [v for v, is_default in candidates if is_default]
        if defaults:
            return max(defaults, key=version_key)
    return max((v for v, _default in candidates), key=version_key)


def addon_specs(addons, irsa_roles, account_id, partition="aws"):
    """The eks layer's add-ons (``aws_eks_addons``) as its spec lists them: name, version
    (``default`` unless given), the ARN of the IRSA role an add-on names (``irsa_role``, a
    key of the layer's IRSA roles; '' when none or not one of them) and its configuration
    values as JSON text ('' for none)."""
    names = {role["key"]: role["name"] for role in irsa_roles or []}
    out = []
    for addon in addons or []:
        role = names.get(addon.get("irsa_role") or "")
        conf = addon.get("configuration_values") or {}
        out.append(
            {
                "name": addon["name"],
                "version": str(addon.get("version") or "default"),
                "service_account_role_arn": (
                    f"arn:{partition}:iam::{account_id}:role/{role}" if role else ""
                ),
                "configuration_values": json.dumps(conf, sort_keys=True) if conf else "",
            }
        )
    return out


def canonical_configuration(value):
    """Configuration values (JSON or YAML text, or data) in one comparable form; '' for none."""
    if value in (None, "", {}):
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value.strip()
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def addon_differences(current, desired):
    """Differences of an installed add-on from the desired one.

    ``desired``: version (concrete), service_account_role_arn ('' for the node role),
    configuration_values. Returns ``(update, messages, notes)``: ``update`` is the keyword
    arguments of UpdateAddon that bring it there (empty when nothing to do), ``messages``
    what differs, ``notes`` what is reported but left (a newer version than desired).
    """
    update, messages, notes = {}, [], []
    name = current.get("addonName", "")
    have = current.get("addonVersion", "")
    want = desired["version"]
    if have != want:
        if version_key(have) and version_key(want) and version_key(have) > version_key(want):
            notes.append(
                f"add-on {name}: {have} is newer than {want}; EKS cannot downgrade it, left as is"
            )
        else:
            update["addonVersion"] = want
            messages.append(f"add-on {name}: version {have} -> {want}")
    have_role = current.get("serviceAccountRoleArn") or ""
    want_role = desired.get("service_account_role_arn") or ""
    if have_role != want_role:
        update["serviceAccountRoleArn"] = want_role
        messages.append(
            f"add-on {name}: service account role {have_role or 'none'} -> {want_role or 'none'}"
        )
    have_conf = canonical_configuration(current.get("configurationValues"))
    want_conf = canonical_configuration(desired.get("configuration_values"))
    if have_conf != want_conf:
        update["configurationValues"] = desired.get("configuration_values") or ""
        if isinstance(update["configurationValues"], dict):
            update["configurationValues"] = json.dumps(update["configurationValues"])
        messages.append(f"add-on {name}: configuration values differ")
    return update, messages, notes


def addon_status_problem(current):
    """A message when the add-on is not healthy (ACTIVE, or UPDATING/CREATING in a change)."""
    status = current.get("status")
    if status in ("ACTIVE", "CREATING", "UPDATING"):
        return ""
    issues = (current.get("health") or {}).get("issues") or []
    detail = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in issues[:3])
    return f"add-on {current.get('addonName')} is {status}" + (f" ({detail})" if detail else "")
