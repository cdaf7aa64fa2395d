# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster-level objects the platform needs on EKS, as manifests built from data.

* The Cluster Autoscaler (kube-system): its ServiceAccount with the IRSA role the eks layer
  creates (module_utils/aws_irsa.py names it), the RBAC of its upstream manifest
  (cluster-autoscaler-autodiscover.yaml) and its Deployment. It discovers the node groups
  by the tags EKS puts on their Auto Scaling groups (k8s.io/cluster-autoscaler/enabled and
  k8s.io/cluster-autoscaler/<cluster>) - the same tags the IAM role's scaling statement is
  conditioned on, so it can only resize this cluster's groups. Settings: seeds/003.
* The default StorageClass: gp3 EBS volumes through the EBS CSI driver (ebs.csi.aws.com,
  the aws-ebs-csi-driver add-on), encrypted; the monitoring stack's volumes ask for it.

These live outside the companions' namespace, so the companions' rules (Guaranteed QoS in
whole cores, a default-deny policy per namespace) do not apply to them: a default-deny
policy in kube-system would cut CoreDNS off. Their own rules are checked here.
"""

from __future__ import annotations

import json
import re

from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import (
    ANNOTATION,
    IrsaError,
    role_arn_from_prefix,
)
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_quantity import (
    QuantityError,
    parse_quantity,
)

MANAGED_BY = "app.kubernetes.io/managed-by"
NAME = "app.kubernetes.io/name"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
EBS_CSI = "ebs.csi.aws.com"
KIND_ORDER = (
    "StorageClass",
    "ServiceAccount",
    "ClusterRole",
    "Role",
    "ClusterRoleBinding",
    "RoleBinding",
    "Deployment",
    "PodDisruptionBudget",
)
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
_EBS_TYPES = ("gp3", "gp2", "io1", "io2", "st1", "sc1")


class ClusterManifestError(ValueError):
    """A spec that cannot become valid manifests; the message names the field."""


def _fail(where, message):
    raise ClusterManifestError(f"{where}: {message}")


def _meta(spec, name, namespace=None, labels=None, annotations=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {**spec.get("labels", {}), MANAGED_BY: "tradeops.platform", **(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return meta


# --------------------------------------------------------------------------- storage
def storage_class(spec):
    sc = spec["storage_class"]
    where = "storage_class"
    volume_type = sc.get("type", "gp3")
    if volume_type not in _EBS_TYPES:
        _fail(f"{where}.type", f"{volume_type!r}: one of {', '.join(_EBS_TYPES)}")
    if not sc.get("encrypted", True):
        _fail(f"{where}.encrypted", "volumes are encrypted on this platform (seeds: EBS KMS)")
    parameters = {"type": volume_type, "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    if sc.get("kms_key_id"):
        parameters["kmsKeyId"] = str(sc["kms_key_id"])
    reclaim = sc.get("reclaim_policy", "Delete")
    if reclaim not in ("Delete", "Retain"):
        _fail(f"{where}.reclaim_policy", f"{reclaim!r}: Delete or Retain")
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _meta(
            spec,
            sc.get("name", volume_type),
            annotations={DEFAULT_CLASS: "true" if sc.get("default", True) else "false"},
        ),
        "provisioner": EBS_CSI,
        "parameters": parameters,
        "reclaimPolicy": reclaim,
        # Created in the zone of the pod that claims it (EBS volumes are zonal).
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


# --------------------------------------------------------------------------- autoscaler
_CLUSTER_RULES = [
    ([""], ["events", "endpoints"], ["create", "patch"], None),
    ([""], ["pods/eviction"], ["create"], None),
    ([""], ["pods/status"], ["update"], None),
    ([""], ["endpoints"], ["get", "update"], ["cluster-autoscaler"]),
    ([""], ["nodes"], ["watch", "list", "get", "update"], None),
    (
        [""],
        [
            "namespaces",
            "pods",
            "services",
            "replicationcontrollers",
            "persistentvolumeclaims",
            "persistentvolumes",
        ],
        ["watch", "list", "get"],
        None,
    ),
    (["extensions"], ["replicasets", "daemonsets"], ["watch", "list", "get"], None),
    (["policy"], ["poddisruptionbudgets"], ["watch", "list"], None),
    (["apps"], ["statefulsets", "replicasets", "daemonsets"], ["watch", "list", "get"], None),
    (
        ["storage.k8s.io"],
        ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"],
        ["watch", "list", "get"],
        None,
    ),
    (["batch", "extensions"], ["jobs"], ["get", "list", "watch", "patch"], None),
    (["coordination.k8s.io"], ["leases"], ["create"], None),
    (["coordination.k8s.io"], ["leases"], ["get", "update"], ["cluster-autoscaler"]),
    (
        ["resource.k8s.io"],
        ["resourceclaims", "resourceslices", "deviceclasses"],
        ["watch", "list", "get"],
        None,
    ),
]
_NAMESPACE_RULES = [
    ([""], ["configmaps"], ["create", "list", "watch"], None),
    (
        [""],
        ["configmaps"],
        ["delete", "get", "update", "watch"],
        ["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
    ),
]


def _rules(table):
    out = []
    for groups, resources, verbs, names in table:
        rule = {"apiGroups": groups, "resources": resources, "verbs": verbs}
        if names:
            rule["resourceNames"] = names
        out.append(rule)
    return out


def _duration(value, where):
    if not isinstance(value, str) or not _DURATION.match(value):
        _fail(where, f"{value!r} is not a duration (10s, 10m, 1h)")
    return value


def autoscaler_args(spec):
    """The Cluster Autoscaler's command-line flags (seeds/003's settings)."""
    ca = spec["autoscaler"]
    where = "autoscaler"
    cluster = spec.get("cluster_name")
    if not cluster:
        _fail("cluster_name", "empty: the autoscaler discovers the node groups by it")
    threshold = ca.get("scale_down_utilization_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        _fail(f"{where}.scale_down_utilization_threshold", f"{threshold!r} is not a number")
    if not 0 < threshold <= 1:
        _fail(f"{where}.scale_down_utilization_threshold", f"{threshold} is not in (0, 1]")
    expander = ca.get("expander", "least-waste")
    if expander not in ("least-waste", "most-pods", "random", "priority", "price"):
        _fail(f"{where}.expander", f"{expander!r} is not an expander")
    tags = f"k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}"
    return [
        "--cloud-provider=aws",
        "--namespace=kube-system",
        f"--node-group-auto-discovery=asg:tag={tags}",
        f"--scan-interval={_duration(ca.get('scan_interval', '10s'), f'{where}.scan_interval')}",
        "--scale-down-delay-after-add="
        + _duration(
            ca.get("scale_down_delay_after_add", "10m"), f"{where}.scale_down_delay_after_add"
        ),
        "--scale-down-unneeded-time="
        + _duration(ca.get("scale_down_unneeded_time", "10m"), f"{where}.scale_down_unneeded_time"),
        f"--scale-down-utilization-threshold={threshold}",
        f"--expander={expander}",
        "--balance-similar-node-groups=true",
        "--skip-nodes-with-system-pods=false",
        "--skip-nodes-with-local-storage=false",
        "--stderrthreshold=info",
        "--v=2",
    ]


def autoscaler_objects(spec):
    ca = spec["autoscaler"]
    where = "autoscaler"
    name = "cluster-autoscaler"
    namespace = "kube-system"
    if not ca.get("image"):
        _fail(f"{where}.image", "empty: give the Cluster Autoscaler image of the cluster's minor")
    try:
        role_arn = role_arn_from_prefix(spec.get("irsa_role_arn_prefix"), name)
    except IrsaError as exc:
        _fail(f"{where}.irsa", str(exc))
    resources = {"cpu": str(ca.get("cpu", "100m")), "memory": str(ca.get("memory", "600Mi"))}
    try:
        for value in resources.values():
            parse_quantity(value)
    except QuantityError as exc:
        _fail(f"{where}.resources", str(exc))
    labels = {NAME: name}
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(spec, name, namespace, labels, {ANNOTATION: role_arn}),
        "automountServiceAccountToken": True,
    }
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    rbac = "rbac.authorization.k8s.io"
    container = {
        "name": name,
        "image": str(ca["image"]),
        "imagePullPolicy": "IfNotPresent",
        "command": ["./cluster-autoscaler"],
        "args": autoscaler_args(spec),
        "env": [{"name": "AWS_REGION", "value": str(spec.get("region", ""))}],
        # Requests = limits: the autoscaler is never the pod the kubelet evicts first.
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, name, namespace, labels),
        "spec": {
            # One leader at a time (a lease); a second replica only waits.
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    # Never evicted by a scale-down of its own node.
                    "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                },
                "spec": {
                    "serviceAccountName": name,
                    "priorityClassName": "system-cluster-critical",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65534,
                        "runAsGroup": 65534,
                        "fsGroup": 65534,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Not on spot capacity: a reclaimed node would take the scaler with it.
                    "nodeSelector": {"eks.amazonaws.com/capacityType": "ON_DEMAND"},
                    "containers": [container],
                },
            },
        },
    }
    return [
        account,
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRole",
            "metadata": _meta(spec, name, labels=labels),
            "rules": _rules(_CLUSTER_RULES),
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "Role",
            "metadata": _meta(spec, name, namespace, labels),
            "rules": _rules(_NAMESPACE_RULES),
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(spec, name, labels=labels),
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": name},
            "subjects": subject,
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": _meta(spec, name, namespace, labels),
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
            "subjects": subject,
        },
        deployment,
    ]


def cluster_manifests(spec):
    """The spec -> the cluster-level manifests (dicts), in apply order."""
    objects = []
    if (spec.get("storage_class") or {}).get("enabled", True) and spec.get("storage_class"):
        objects.append(storage_class(spec))
    if (spec.get("autoscaler") or {}).get("enabled", True) and spec.get("autoscaler"):
        objects.extend(autoscaler_objects(spec))
    objects.sort(key=lambda obj: KIND_ORDER.index(obj["kind"]))
    return json.loads(json.dumps(objects))
