# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EKS cluster and managed node group: what differs between AWS and the desired state.

Pure functions (no boto3), shared by the modules ``aws_eks_cluster`` / ``aws_eks_nodegroup``
(which turn the differences into update calls) and by the layer state function (which
reports them), so "converged" means the same thing to both. Desired states use the module
option names; current states are the EKS API's describe_cluster / describe_nodegroup dicts.
"""

from __future__ import annotations

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def _minor(version):
    """'1.35' -> (1, 35); None for anything else."""
    try:
        major, minor = str(version).split(".")[:2]
        return int(major), int(minor)
    except (TypeError, ValueError):
        return None


def version_step(current, desired):
    """How to get from the cluster's version to the desired one.

    Returns ``(action, message)``: action is ``None`` (same), ``"upgrade"`` (exactly one
    minor up, what UpdateClusterVersion accepts) or ``"refuse"`` (a downgrade, a jump of
    more than one minor, or an unparsable version: EKS cannot do it in one step).
    """
    if str(current) == str(desired):
        return None, ""
    have, want = _minor(current), _minor(desired)
    if have is None or want is None:
        return "refuse", f"cannot compare Kubernetes versions {current!r} and {desired!r}"
    if want < have:
        return (
            "refuse",
            f"Kubernetes {desired} is older than the cluster's {current}: EKS cannot downgrade",
        )
    if want[0] != have[0] or want[1] - have[1] > 1:
        return (
            "refuse",
            f"Kubernetes {current} -> {desired} skips a minor version: EKS upgrades one minor at a "
            f"time, set {have[0]}.{have[1] + 1} first",
        )
    return "upgrade", f"Kubernetes {current} -> {desired}"


def enabled_log_types(cluster):
    """The control-plane log types a cluster has enabled, sorted."""
    out = set()
    for entry in (cluster.get("logging") or {}).get("clusterLogging", []):
        if entry.get("enabled"):
            out.update(entry.get("types", []))
    return sorted(out)


def logging_payload(types):
    """The ``logging`` argument of CreateCluster / UpdateClusterConfig for these types."""
    enabled = sorted(set(types))
    disabled = sorted(set(LOG_TYPES) - set(enabled))
    payload = [{"types": enabled, "enabled": True}] if enabled else []
    if disabled:
        payload.append({"types": disabled, "enabled": False})
    return {"clusterLogging": payload}


def _secrets_key(cluster):
    for entry in cluster.get("encryptionConfig") or []:
        if "secrets" in entry.get("resources", []):
            return (entry.get("provider") or {}).get("keyArn")
    return None


def cluster_differences(current, desired):
    """Differences of an existing cluster from the desired one.

    Returns a list of ``(kind, message)``: kind is ``version``, ``endpoint``, ``logging``
    (each fixed by an update call), ``encryption`` (fixed by AssociateEncryptionConfig
    when the cluster has none) or ``immutable`` (needs a new cluster).
    """
    out = []
    action, message = version_step(current.get("version"), desired["version"])
    if action:
        out.append(("version" if action == "upgrade" else "immutable", message))
    vpc = current.get("resourcesVpcConfig") or {}
    if sorted(vpc.get("subnetIds", [])) != sorted(desired["subnet_ids"]):
        out.append(("immutable", "subnets differ (EKS keeps a cluster's subnets)"))
    if sorted(vpc.get("securityGroupIds", [])) != sorted(desired.get("security_group_ids") or []):
        out.append(("immutable", "additional security groups differ"))
    if current.get("roleArn") != desired["role_arn"]:
        out.append(("immutable", "cluster role differs (EKS keeps a cluster's role)"))
    want_cidrs = sorted(desired.get("public_access_cidrs") or ["0.0.0.0/0"])
    have_cidrs = sorted(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"])
    if (
        bool(vpc.get("endpointPrivateAccess")) != bool(desired["endpoint_private_access"])
        or bool(vpc.get("endpointPublicAccess")) != bool(desired["endpoint_public_access"])
        or (desired["endpoint_public_access"] and have_cidrs != want_cidrs)
    ):
        out.append(
            (
                "endpoint",
                f"API endpoint private={vpc.get('endpointPrivateAccess')} "
                f"public={vpc.get('endpointPublicAccess')}, want "
                f"private={desired['endpoint_private_access']} "
                f"public={desired['endpoint_public_access']}",
            )
        )
    if enabled_log_types(current) != sorted(desired.get("logging_types") or []):
        out.append(
            (
                "logging",
                f"control-plane logs {enabled_log_types(current)}, want "
                f"{sorted(desired.get('logging_types') or [])}",
            )
        )
    want_key = desired.get("secrets_kms_key_arn")
    have_key = _secrets_key(current)
    if want_key and have_key != want_key:
        kind = "encryption" if not have_key else "immutable"
        out.append((kind, f"secrets encryption key is {have_key}, want {want_key}"))
    return out


def endpoint_payload(desired):
    payload = {
        "endpointPrivateAccess": bool(desired["endpoint_private_access"]),
        "endpointPublicAccess": bool(desired["endpoint_public_access"]),
    }
    if desired["endpoint_public_access"] and desired.get("public_access_cidrs"):
        payload["publicAccessCidrs"] = list(desired["public_access_cidrs"])
    return payload


def nodegroup_differences(current, desired):
    """Differences of an existing managed node group from the desired one.

    Returns ``(config_update, messages, immutable)``: ``config_update`` is the keyword
    arguments of UpdateNodegroupConfig (empty when scaling, labels and update settings all
    match), ``messages`` says what differs, ``immutable`` lists what only a new node group
    can change (instance types, capacity type, AMI type, disk, subnets, role).
    """
    update = {}
    messages = []
    scaling = current.get("scalingConfig") or {}
    want_scaling = {
        "minSize": int(desired["min_size"]),
        "maxSize": int(desired["max_size"]),
        "desiredSize": int(desired["desired_size"]),
    }
    if {k: scaling.get(k) for k in want_scaling} != want_scaling:
        update["scalingConfig"] = want_scaling
        messages.append(
            f"scaling min/max/desired {scaling.get('minSize')}/{scaling.get('maxSize')}/"
            f"{scaling.get('desiredSize')}, want {want_scaling['minSize']}/"
            f"{want_scaling['maxSize']}/{want_scaling['desiredSize']}"
        )
    have_labels = current.get("labels") or {}
    want_labels = {str(k): str(v) for k, v in (desired.get("labels") or {}).items()}
    if have_labels != want_labels:
        labels = {}
        to_set = {k: v for k, v in want_labels.items() if have_labels.get(k) != v}
        to_remove = sorted(set(have_labels) - set(want_labels))
        if to_set:
            labels["addOrUpdateLabels"] = to_set
        if to_remove:
            labels["removeLabels"] = to_remove
        update["labels"] = labels
        messages.append(f"labels {have_labels}, want {want_labels}")
    want_unavailable = int(desired.get("max_unavailable") or 1)
    if (current.get("updateConfig") or {}).get("maxUnavailable") != want_unavailable:
        update["updateConfig"] = {"maxUnavailable": want_unavailable}
        messages.append(f"update config maxUnavailable, want {want_unavailable}")

    immutable = []
    checks = (
        (
            "instance types",
            sorted(current.get("instanceTypes") or []),
            sorted(desired["instance_types"]),
        ),
        ("capacity type", current.get("capacityType"), desired["capacity_type"]),
        ("AMI type", current.get("amiType"), desired["ami_type"]),
        ("disk size", current.get("diskSize"), int(desired["disk_size"])),
        ("subnets", sorted(current.get("subnets") or []), sorted(desired["subnet_ids"])),
        ("node role", current.get("nodeRole"), desired["node_role_arn"]),
    )
    for label, have, want in checks:
        if have != want:
            immutable.append(f"{label} is {have}, want {want}")
    return update, messages, immutable


def scaling_errors(min_size, max_size, desired_size):
    """Why a scaling config is invalid (empty when valid): 0 <= min <= desired <= max, max >= 1."""
    errors = []
    if int(min_size) < 0:
        errors.append("min_size must be 0 or more")
    if int(max_size) < 1:
        errors.append("max_size must be at least 1")
    if not int(min_size) <= int(desired_size) <= int(max_size):
        errors.append(
            f"need min_size <= desired_size <= max_size, got {min_size}/{desired_size}/{max_size}"
        )
    return errors
