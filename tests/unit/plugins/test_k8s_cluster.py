"""The cluster-level objects k8s_workloads renders: Cluster Autoscaler and gp3 StorageClass.

Built from the role's spec as it renders for every shipped inventory, validated against the
Kubernetes schemas of the role's version (strict), and held to what the eks layer creates:
the autoscaler's IRSA role, the cluster whose node-group tags it discovers, the tags its IAM
role may scale. The monitoring stack's volumes name the StorageClass.
"""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.k8s_cluster import (
    k8s_cluster_manifests,
    k8s_irsa_unknown_roles,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import ANNOTATION
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_cluster import (
    DEFAULT_CLASS,
    ClusterManifestError,
    cluster_manifests,
)

from .aws_specs import ROOT, render
from .k8s_specs import render_k8s_spec

INVENTORIES = ["lab", "production"]


def spec_of(inventory="production"):
    return render_k8s_spec(inventory, "__k8s_workloads_cluster_spec")


def by_kind(objects):
    return {obj["kind"]: obj for obj in objects}


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_the_objects_are_valid_for_the_roles_kubernetes_version(inventory):
    defaults = yaml.safe_load((ROOT / "roles/k8s_workloads/defaults/main.yml").read_text())
    version = defaults["k8s_workloads_kubernetes_version"] + ".0"
    objects = cluster_manifests(spec_of(inventory))
    assert [o["kind"] for o in objects] == [
        "StorageClass",
        "ServiceAccount",
        "ClusterRole",
        "Role",
        "ClusterRoleBinding",
        "RoleBinding",
        "Deployment",
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)  # raises on a schema error
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tradeops.platform"


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_the_autoscaler_scales_the_eks_layers_cluster_with_its_irsa_role(inventory):
    objects = by_kind(cluster_manifests(spec_of(inventory)))
    eks = render("eks", inventory)
    cluster = eks["cluster"]["name"]
    account = objects["ServiceAccount"]
    assert account["metadata"]["namespace"] == "kube-system"
    (role,) = [r for r in eks["irsa_roles"] if r["key"] == "cluster-autoscaler"]
    assert account["metadata"]["annotations"][ANNOTATION].endswith(":role/" + role["name"])
    assert (role["namespace"], role["service_account"]) == ("kube-system", "cluster-autoscaler")
    args = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    discovery = f"k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}"
    assert f"--node-group-auto-discovery=asg:tag={discovery}" in args
    # The IAM role may scale exactly the groups discovered by those tags.
    statements = role["inline_policies"][0]["document"]["Statement"]
    (scale,) = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert set(scale["Condition"]["StringEquals"]) == {
        f"aws:ResourceTag/{tag}" for tag in discovery.split(",")
    }


def test_the_autoscaler_has_the_seeds_settings_and_runs_restricted_on_demand():
    deployment = by_kind(cluster_manifests(spec_of()))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # seeds/003, "Cluster Autoscaler": scan 10s, scale-down delay 10m, unneeded 10m, 50 %.
    for flag in (
        "--scan-interval=10s",
        "--scale-down-delay-after-add=10m",
        "--scale-down-unneeded-time=10m",
        "--scale-down-utilization-threshold=0.5",
        "--cloud-provider=aws",
        "--balance-similar-node-groups=true",
    ):
        assert flag in container["args"], flag
    assert container["image"] == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.0"
    assert container["env"] == [{"name": "AWS_REGION", "value": "us-east-1"}]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert pod["nodeSelector"] == {"eks.amazonaws.com/capacityType": "ON_DEMAND"}
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert deployment["spec"]["replicas"] == 1


def test_the_autoscaler_rbac_binds_its_service_account_only():
    objects = by_kind(cluster_manifests(spec_of()))
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        assert objects[kind]["subjects"] == [
            {"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}
        ]
    verbs = {v for rule in objects["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert "*" not in verbs and "delete" not in verbs
    writes = [
        rule["resources"]
        for rule in objects["ClusterRole"]["rules"]
        if {"update", "patch"} & set(rule["verbs"]) and not rule.get("resourceNames")
    ]
    # Writes without a name: events and endpoints (patch), nodes (taints), pod status, jobs.
    assert sorted(r for rs in writes for r in rs) == [
        "endpoints",
        "events",
        "jobs",
        "nodes",
        "pods/status",
    ]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_the_default_storage_class_is_encrypted_gp3_for_the_monitoring_stack(inventory):
    sc = by_kind(cluster_manifests(spec_of(inventory)))["StorageClass"]
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3"
    assert sc["parameters"]["encrypted"] == "true"
    assert sc["metadata"]["annotations"] == {DEFAULT_CLASS: "true"}
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True
    monitoring = yaml.safe_load((ROOT / "roles/k8s_monitoring/defaults/main.yml").read_text())
    storage = monitoring["k8s_monitoring_storage"]
    assert storage["storage_class"] == sc["metadata"]["name"]


def _changed(path, value):
    spec = copy.deepcopy(spec_of())
    *parents, last = path.split(".")
    target = spec
    for key in parents:
        target = target[key]
    target[last] = value
    return spec


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("storage_class.encrypted", False, r"storage_class\.encrypted"),
        ("storage_class.type", "standard", r"storage_class\.type"),
        ("storage_class.reclaim_policy", "Recycle", r"storage_class\.reclaim_policy"),
        ("autoscaler.scan_interval", "10", r"autoscaler\.scan_interval"),
        ("autoscaler.scale_down_utilization_threshold", 50, r"threshold: 50 is not in"),
        ("autoscaler.expander", "cheapest", r"autoscaler\.expander"),
        ("autoscaler.image", "", r"autoscaler\.image"),
        ("autoscaler.memory", "lots", r"autoscaler\.resources"),
        ("irsa_role_arn_prefix", "tradeops-lab-", r"autoscaler\.irsa"),
        ("cluster_name", "", r"cluster_name"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(path, value, message):
    with pytest.raises(ClusterManifestError, match=message):
        cluster_manifests(_changed(path, value))


def test_each_part_can_be_switched_off_and_the_filter_numbers_after_the_companions():
    spec = spec_of()
    items = k8s_cluster_manifests(spec, start=30)
    assert items[0]["file"] == "30-storageclass-gp3.yaml"
    assert items[-1]["file"] == "36-deployment-cluster-autoscaler.yaml"
    spec["autoscaler"]["enabled"] = False
    assert [i["manifest"]["kind"] for i in k8s_cluster_manifests(spec)] == ["StorageClass"]
    spec["storage_class"]["enabled"] = False
    assert k8s_cluster_manifests(spec) == []
    with pytest.raises(AnsibleFilterError, match=r"storage_class\.encrypted"):
        k8s_cluster_manifests(_changed("storage_class.encrypted", False))


def test_annotations_naming_no_verified_role_are_found():
    """k8s_workloads' preflight, where the eks layer's outputs exist: every annotation must
    name a role the layer verified (outputs.irsa_roles)."""
    rendered = k8s_cluster_manifests(spec_of("lab"))
    (account,) = [i["manifest"] for i in rendered if i["manifest"]["kind"] == "ServiceAccount"]
    arn = account["metadata"]["annotations"][ANNOTATION]
    verified = {"irsa_roles": {"cluster-autoscaler": {"name": arn.split("/")[-1], "arn": arn}}}
    assert k8s_irsa_unknown_roles(rendered, verified) == []
    assert k8s_irsa_unknown_roles(rendered, {"irsa_roles": {}}) == [
        f"kube-system/cluster-autoscaler: {arn}"
    ]
    # An older eks layer's outputs (no irsa_roles) check nothing.
    assert k8s_irsa_unknown_roles(rendered, {"cluster": {}}) == []
