"""EKS managed add-ons: the module aws_eks_addon and module_utils/aws_eks_addons.

moto has no EKS add-on API (CreateAddon, DescribeAddon ... answer 500), so the module is
played against botocore's Stubber: every request the module sends is validated against the
EKS service model (parameter names, types, required members) and every answer below is
validated against the model's output shape, as AWS documents it (EKS API reference,
DescribeAddon / DescribeAddonVersions / CreateAddon / UpdateAddon). The lab skips the
add-on step and says so (roles/aws_eks; README, "what is exercised").
"""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks_addons import (
    AddonError,
    addon_differences,
    addon_status_problem,
    canonical_configuration,
    resolve_version,
    version_key,
)
from ansible_collections.tradeops.platform.plugins.modules import aws_eks_addon
from botocore.stub import ANY, Stubber

from .docs import documented_options

CLUSTER = "tradeops-production"
ROLE = "arn:aws:iam::123456789012:role/tradeops-production-ebs-csi-driver"
WHEN = datetime(2026, 12, 1, tzinfo=UTC)

# DescribeAddonVersions(addonName=aws-ebs-csi-driver, kubernetesVersion=1.35), trimmed to
# three versions: the newest is not the default (AWS marks a tested one default).
VERSIONS = {
    "addons": [
        {
            "addonName": "aws-ebs-csi-driver",
            "type": "storage",
            "addonVersions": [
                {
                    "addonVersion": "v1.53.0-eksbuild.1",
                    "architecture": ["amd64", "arm64"],
                    "compatibilities": [
                        {
                            "clusterVersion": "1.35",
                            "platformVersions": ["*"],
                            "defaultVersion": False,
                        }
                    ],
                    "requiresConfiguration": False,
                },
                {
                    "addonVersion": "v1.52.1-eksbuild.1",
                    "architecture": ["amd64", "arm64"],
                    "compatibilities": [
                        {
                            "clusterVersion": "1.35",
                            "platformVersions": ["*"],
                            "defaultVersion": True,
                        }
                    ],
                    "requiresConfiguration": False,
                },
                {
                    "addonVersion": "v1.51.0-eksbuild.2",
                    "architecture": ["amd64", "arm64"],
                    "compatibilities": [
                        {
                            "clusterVersion": "1.35",
                            "platformVersions": ["*"],
                            "defaultVersion": False,
                        },
                        {
                            "clusterVersion": "1.34",
                            "platformVersions": ["*"],
                            "defaultVersion": True,
                        },
                    ],
                    "requiresConfiguration": False,
                },
            ],
            "publisher": "eks",
            "owner": "aws",
        }
    ]
}


def addon(version="v1.52.1-eksbuild.1", status="ACTIVE", role=ROLE, tags=None, **extra):
    out = {
        "addonName": "aws-ebs-csi-driver",
        "clusterName": CLUSTER,
        "status": status,
        "addonVersion": version,
        "health": {"issues": []},
        "addonArn": f"arn:aws:eks:us-east-1:123456789012:addon/{CLUSTER}/aws-ebs-csi-driver/abc",
        "createdAt": WHEN,
        "modifiedAt": WHEN,
        "tags": {"Environment": "production"} if tags is None else tags,
    }
    if role:
        out["serviceAccountRoleArn"] = role
    out.update(extra)
    return {"addon": out}


CLUSTER_DESCRIBED = {
    "cluster": {
        "name": CLUSTER,
        "arn": f"arn:aws:eks:us-east-1:123456789012:cluster/{CLUSTER}",
        "version": "1.35",
        "status": "ACTIVE",
    }
}
ARGS = {
    "cluster_name": CLUSTER,
    "name": "aws-ebs-csi-driver",
    "service_account_role_arn": ROLE,
    "tags": {"Environment": "production"},
    "region": "us-east-1",
}
KEYS = {"clusterName": CLUSTER, "addonName": "aws-ebs-csi-driver"}


@pytest.fixture
def eks(monkeypatch):
    client = boto3.client(
        "eks", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, **kw: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def run(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        aws_eks_addon.main()
    return exc.value.code, json.loads(out.getvalue())


def expect_resolution(stub):
    stub.add_response("describe_cluster", CLUSTER_DESCRIBED, {"name": CLUSTER})
    stub.add_response(
        "describe_addon_versions",
        copy.deepcopy(VERSIONS),
        {"addonName": "aws-ebs-csi-driver", "kubernetesVersion": "1.35"},
    )


def not_found(stub):
    stub.add_client_error(
        "describe_addon",
        service_error_code="ResourceNotFoundException",
        service_message="No addon: aws-ebs-csi-driver found in cluster: tradeops-production",
        http_status_code=404,
        expected_params=KEYS,
    )


# --------------------------------------------------------------------------- versions
def test_default_latest_and_explicit_versions_for_the_cluster():
    addons = VERSIONS["addons"]
    assert resolve_version(addons, "1.35", "default") == "v1.52.1-eksbuild.1"
    assert resolve_version(addons, "1.35", "latest") == "v1.53.0-eksbuild.1"
    assert resolve_version(addons, "1.34", "default") == "v1.51.0-eksbuild.2"
    assert resolve_version(addons, "1.35", "v1.50.0-eksbuild.1") == "v1.50.0-eksbuild.1"
    with pytest.raises(AddonError, match=r"Kubernetes 1\.20"):
        resolve_version(addons, "1.20", "default")
    assert version_key("v1.19.2-eksbuild.10") > version_key("v1.19.2-eksbuild.9")
    assert version_key("nonsense") == ()


def test_differences_update_what_differs_and_never_downgrade():
    current = addon(version="v1.51.0-eksbuild.2", role="")["addon"]
    want = {"version": "v1.52.1-eksbuild.1", "service_account_role_arn": ROLE}
    update, messages, notes = addon_differences(current, want)
    assert update == {"addonVersion": "v1.52.1-eksbuild.1", "serviceAccountRoleArn": ROLE}
    assert len(messages) == 2 and notes == []
    newer = addon(version="v1.53.0-eksbuild.1")["addon"]
    update, messages, notes = addon_differences(newer, want)
    assert (update, messages) == ({}, [])
    assert notes == [
        "add-on aws-ebs-csi-driver: v1.53.0-eksbuild.1 is newer than v1.52.1-eksbuild.1; "
        "EKS cannot downgrade it, left as is"
    ]
    configured = addon(configurationValues='{"controller": {"replicaCount": 2}}')["addon"]
    same = dict(want, configuration_values={"controller": {"replicaCount": 2}})
    assert addon_differences(configured, same)[0] == {}
    assert canonical_configuration(" ") == ""


def test_an_unhealthy_addon_is_named_with_its_issues():
    degraded = addon(
        status="DEGRADED",
        health={"issues": [{"code": "InsufficientNumberOfReplicas", "message": "0 of 2 ready"}]},
    )["addon"]
    assert addon_status_problem(degraded) == (
        "add-on aws-ebs-csi-driver is DEGRADED (InsufficientNumberOfReplicas: 0 of 2 ready)"
    )
    assert addon_status_problem(addon()["addon"]) == ""


# --------------------------------------------------------------------------- the module
def test_create_at_the_default_version_with_its_irsa_role(eks):
    not_found(eks)
    expect_resolution(eks)
    eks.add_response(
        "create_addon",
        addon(status="CREATING"),
        {
            **KEYS,
            "addonVersion": "v1.52.1-eksbuild.1",
            "resolveConflicts": "OVERWRITE",
            "serviceAccountRoleArn": ROLE,
            "tags": {"Environment": "production"},
        },
    )
    eks.add_response("describe_addon", addon(), KEYS)  # the waiter: ACTIVE at once
    eks.add_response("describe_addon", addon(), KEYS)
    rc, out = run(ARGS)
    assert rc == 0, out
    assert out["changed"] and out["changes"] == [
        "create add-on aws-ebs-csi-driver v1.52.1-eksbuild.1"
    ]
    assert out["addon"]["service_account_role_arn"] == ROLE
    assert out["addon"]["tags"] == {"Environment": "production"}


def test_converged_is_one_describe_per_call_and_no_write(eks):
    eks.add_response("describe_addon", addon(), KEYS)
    expect_resolution(eks)
    rc, out = run(ARGS)
    assert (rc, out["changed"], out["changes"], out["version"]) == (
        0,
        False,
        [],
        "v1.52.1-eksbuild.1",
    )


def test_update_version_and_role_in_one_call_then_tags(eks):
    eks.add_response("describe_addon", addon(version="v1.51.0-eksbuild.2", role="", tags={}), KEYS)
    expect_resolution(eks)
    eks.add_response(
        "update_addon",
        {
            "update": {
                "id": "b5f0-4c1a",
                "status": "InProgress",
                "type": "AddonUpdate",
                "params": [{"type": "AddonVersion", "value": "v1.52.1-eksbuild.1"}],
                "createdAt": WHEN,
                "errors": [],
            }
        },
        {
            **KEYS,
            "resolveConflicts": "OVERWRITE",
            "addonVersion": "v1.52.1-eksbuild.1",
            "serviceAccountRoleArn": ROLE,
        },
    )
    eks.add_response("describe_addon", addon(), KEYS)  # the waiter
    eks.add_response(
        "tag_resource", {}, {"resourceArn": ANY, "tags": {"Environment": "production"}}
    )
    eks.add_response("describe_addon", addon(), KEYS)
    rc, out = run(ARGS)
    assert rc == 0, out
    assert out["changes"] == [
        "add-on aws-ebs-csi-driver: version v1.51.0-eksbuild.2 -> v1.52.1-eksbuild.1",
        f"add-on aws-ebs-csi-driver: service account role none -> {ROLE}",
        "tags: set ['Environment'], remove []",
    ]


def test_check_mode_reads_only(eks):
    eks.add_response("describe_addon", addon(version="v1.51.0-eksbuild.2"), KEYS)
    expect_resolution(eks)
    rc, out = run(ARGS, check_mode=True)
    assert rc == 0 and out["changed"], out
    not_found(eks)
    expect_resolution(eks)
    rc, out = run(ARGS, check_mode=True)
    assert out["changes"] == ["create add-on aws-ebs-csi-driver v1.52.1-eksbuild.1"]


def test_a_newer_installed_version_is_left_and_noted(eks):
    eks.add_response("describe_addon", addon(version="v1.53.0-eksbuild.1"), KEYS)
    expect_resolution(eks)
    rc, out = run(ARGS)
    assert (rc, out["changed"]) == (0, False)
    assert "cannot downgrade" in out["notes"][0]


def test_a_degraded_addon_fails_the_task(eks):
    bad = addon(
        status="DEGRADED",
        health={"issues": [{"code": "AccessDenied", "message": "sts:AssumeRoleWithWebIdentity"}]},
    )
    eks.add_response("describe_addon", bad, KEYS)
    expect_resolution(eks)
    rc, out = run(ARGS)
    assert rc == 1 and "is DEGRADED (AccessDenied" in out["msg"], out


def test_delete_and_absent(eks):
    eks.add_response("describe_addon", addon(), KEYS)
    eks.add_response("delete_addon", addon(status="DELETING"), KEYS)
    not_found(eks)  # the waiter: gone
    rc, out = run(dict(ARGS, state="absent"))
    assert (rc, out["changed"]) == (0, True), out
    not_found(eks)
    rc, out = run(dict(ARGS, state="absent"))
    assert (rc, out["changed"]) == (0, False)


def test_options_are_documented():
    assert set(documented_options(aws_eks_addon)) == {
        "cluster_name",
        "name",
        "version",
        "service_account_role_arn",
        "configuration_values",
        "resolve_conflicts",
        "wait",
        "wait_timeout",
        "state",
    }


def test_addon_specs_name_the_layers_own_irsa_roles():
    from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks_addons import (
        addon_specs,
    )

    roles = [{"key": "ebs-csi-driver", "name": "tradeops-lab-ebs-csi-driver"}]
    addons = [
        {"name": "vpc-cni"},
        {"name": "coredns", "version": "v1.11.4-eksbuild.2"},
        {"name": "aws-ebs-csi-driver", "irsa_role": "ebs-csi-driver"},
        {
            "name": "kube-proxy",
            "irsa_role": "not-a-layer-role",
            "configuration_values": {"b": 1, "a": 2},
        },
    ]
    assert addon_specs(addons, roles, "123456789012") == [
        {
            "name": "vpc-cni",
            "version": "default",
            "service_account_role_arn": "",
            "configuration_values": "",
        },
        {
            "name": "coredns",
            "version": "v1.11.4-eksbuild.2",
            "service_account_role_arn": "",
            "configuration_values": "",
        },
        {
            "name": "aws-ebs-csi-driver",
            "version": "default",
            "service_account_role_arn": (
                "arn:aws:iam::123456789012:role/tradeops-lab-ebs-csi-driver"
            ),
            "configuration_values": "",
        },
        {
            "name": "kube-proxy",
            "version": "default",
            "service_account_role_arn": "",
            "configuration_values": '{"a": 2, "b": 1}',
        },
    ]
    assert addon_specs(None, roles, "123456789012") == []
