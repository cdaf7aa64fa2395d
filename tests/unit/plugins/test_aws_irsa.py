"""IAM roles for service accounts (IRSA): names, trust, the OIDC provider module.

The eks layer creates an IAM role per service account that calls AWS, trusted through the
cluster's OIDC provider; k8s_workloads annotates the service accounts with those roles'
ARNs. An annotation naming a role nobody creates fails nobody until a pod calls AWS, so
the two are held together here on the specs as the roles render them, for every shipped
inventory (module_utils/aws_irsa.py names both).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.tradeops.platform.plugins.module_utils import aws_irsa
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import eks_state
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_cluster import (
    cluster_manifests,
)
from ansible_collections.tradeops.platform.plugins.module_utils.k8s_manifests import (
    workload_manifests,
)
from ansible_collections.tradeops.platform.plugins.modules import iam_oidc_provider
from moto import mock_aws

from .aws_specs import ACCOUNT, ROOT, render
from .docs import documented_options
from .k8s_specs import render_k8s_spec

INVENTORIES = ["lab", "production"]
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF"


# --------------------------------------------------------------------------- names, trust
def test_role_names_and_arns_come_from_one_function():
    assert aws_irsa.role_name("tradeops-lab-", "order-api") == "tradeops-lab-order-api"
    arn = aws_irsa.role_arn_from_prefix(f"arn:aws:iam::{ACCOUNT}:role/tradeops-lab-", "order-api")
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/tradeops-lab-order-api"
    with pytest.raises(aws_irsa.IrsaError, match="not a valid IAM role name"):
        aws_irsa.role_name("p-" * 30, "a-long-service-name")
    with pytest.raises(aws_irsa.IrsaError, match="is not arn:aws:iam"):
        aws_irsa.role_arn_from_prefix("tradeops-lab-", "order-api")


DR_ISSUER = "https://oidc.eks.us-west-2.amazonaws.com/id/FEDCBA9876543210"


def test_the_trust_is_one_service_account_in_each_cluster():
    provider = aws_irsa.provider_arn(ACCOUNT, ISSUER + "/")
    assert provider == (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF"
    )
    # The DR cluster not built yet (empty issuer), an issuer given twice: one statement.
    trusted = aws_irsa.trusted_providers(ACCOUNT, [ISSUER, "", ISSUER + "/"])
    assert trusted == [(provider, ISSUER)]
    (statement,) = aws_irsa.trust_policy(trusted, "trading", "order-api")["Statement"]
    assert statement["Principal"] == {"Federated": provider}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    host = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{host}:sub": "system:serviceaccount:trading:order-api",
            f"{host}:aud": "sts.amazonaws.com",
        }
    }
    # With the DR cluster: a statement of its own, its issuer's keys, the same subject.
    trusted = aws_irsa.trusted_providers(ACCOUNT, [ISSUER, DR_ISSUER])
    primary, dr = aws_irsa.trust_policy(trusted, "trading", "order-api")["Statement"]
    assert primary == statement
    dr_host = "oidc.eks.us-west-2.amazonaws.com/id/FEDCBA9876543210"
    assert dr["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{dr_host}"}
    assert dr["Condition"]["StringEquals"] == {
        f"{dr_host}:sub": "system:serviceaccount:trading:order-api",
        f"{dr_host}:aud": "sts.amazonaws.com",
    }


@pytest.mark.parametrize(
    ("definitions", "message"),
    [
        ([{"name": "Order_API", "namespace": "trading", "statements": [{}]}], r"\.name: .*DNS"),
        ([{"name": "a", "namespace": "", "statements": [{}]}], r"\.namespace: "),
        ([{"name": "a", "namespace": "x"}], "no statements and no managed_policies"),
        (
            [
                {"name": "a", "namespace": "x", "statements": [{}]},
                {"name": "a", "namespace": "y", "statements": [{}]},
            ],
            "defined twice",
        ),
    ],
)
def test_bad_definitions_are_refused_naming_the_entry(definitions, message):
    with pytest.raises(aws_irsa.IrsaError, match=message):
        aws_irsa.irsa_roles("tradeops-lab-", definitions)


# --------------------------------------------------------------------------- the two roles
def _annotations(inventory):
    """(namespace, service account, role ARN) of every IRSA annotation k8s_workloads renders
    (the companions and the cluster objects: the Cluster Autoscaler)."""
    objects = workload_manifests(render_k8s_spec(inventory)) + cluster_manifests(
        render_k8s_spec(inventory, "__k8s_workloads_cluster_spec")
    )
    for obj in objects:
        role = (obj["metadata"].get("annotations") or {}).get(aws_irsa.ANNOTATION)
        if role:
            assert obj["kind"] == "ServiceAccount", obj
            yield obj["metadata"]["namespace"], obj["metadata"]["name"], role


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_irsa_annotation_names_a_role_the_eks_layer_creates(inventory):
    """For each annotation: the eks layer creates a role of that ARN (its account, its name),
    and that role trusts exactly that namespace/service account."""
    eks = render("eks", inventory)
    account = render_k8s_spec(inventory)["irsa_role_arn_prefix"].split(":")[4]
    created = {f"arn:aws:iam::{account}:role/{role['name']}": role for role in eks["irsa_roles"]}
    annotated = list(_annotations(inventory))
    names = {service_account for _namespace, service_account, _arn in annotated}
    assert {"order-api", "risk-worker", "cluster-autoscaler"} <= names, annotated
    for namespace, service_account, arn in annotated:
        assert arn in created, f"{namespace}/{service_account}: {arn} is no role of the eks layer"
        role = created[arn]
        assert (role["namespace"], role["service_account"]) == (namespace, service_account)
    # And the eks layer's own: the account is the inventory's (not the made-up outputs').
    assert (
        account
        == yaml.safe_load(
            (ROOT / "inventories" / inventory / "group_vars" / "all" / "aws.yml").read_text()
        )["aws_account_id"]
    )


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_only_the_primary_copy_creates_irsa_roles(inventory):
    """IAM names are global: the DR copy makes its cluster's OIDC provider, no roles."""
    assert render("eks-dr", inventory)["irsa_roles"] == []
    assert render("eks-dr", inventory)["oidc_provider"]["client_ids"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_irsa_policies_name_what_the_other_layers_create(inventory):
    """Secrets, streams and the data key the IRSA policies name exist (security, kinesis)."""
    security = render("security", inventory)
    streams = {s["name"] for s in render("kinesis", inventory)["streams"]}
    secrets = {s["name"] for s in security["secrets"]}
    aliases = {"alias/" + k["alias"] for k in security["kms_keys"]}
    seen = {"secret": 0, "stream": 0, "alias": 0}
    for role in render("eks", inventory)["irsa_roles"]:
        for policy in role["inline_policies"]:
            for statement in policy["document"]["Statement"]:
                resources = statement["Resource"]
                for arn in [resources] if isinstance(resources, str) else resources:
                    if ":secret:" in arn:
                        name = arn.split(":secret:", 1)[1].removesuffix("-*")
                        assert name in secrets, (role["name"], arn)
                        seen["secret"] += 1
                    if ":stream/" in arn:
                        assert arn.split(":stream/", 1)[1] in streams, (role["name"], arn)
                        seen["stream"] += 1
                alias = (
                    statement.get("Condition", {})
                    .get("ForAnyValue:StringLike", {})
                    .get("kms:ResourceAliases")
                )
                if alias:
                    assert alias in aliases, (role["name"], alias)
                    seen["alias"] += 1
    assert all(seen.values()), seen


def test_the_autoscaler_may_only_scale_this_clusters_node_groups():
    eks = render("eks", "production")
    (role,) = [r for r in eks["irsa_roles"] if r["key"] == "cluster-autoscaler"]
    assert (role["namespace"], role["service_account"]) == ("kube-system", "cluster-autoscaler")
    statements = role["inline_policies"][0]["document"]["Statement"]
    (scale,) = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    cluster = eks["cluster"]["name"]
    assert scale["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned",
        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
    }
    # Nothing but reads on "*" outside the tag condition.
    for statement in statements:
        if statement is not scale and statement["Resource"] == ["*"]:
            verbs = [a.split(":", 1)[1] for a in statement["Action"]]
            assert all(v.startswith(("Describe", "Get")) for v in verbs), statement


# --------------------------------------------------------------------------- the module
def run_module(args, check_mode=False):
    args = dict(args, region="us-east-1")
    if check_mode:
        args["_ansible_check_mode"] = True
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out), pytest.raises(SystemExit) as exc:
        iam_oidc_provider.main()
    return exc.value.code, json.loads(out.getvalue())


@pytest.fixture
def iam(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # As the lab's moto: the AWS managed policies exist (the EBS CSI driver's).
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def test_oidc_provider_create_noop_update_delete(iam):
    args = {"url": ISSUER, "tags": {"Environment": "lab"}}
    rc, out = run_module(args, check_mode=True)
    assert (rc, out["changed"], out["arn"]) == (0, True, "")
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []

    rc, out = run_module(args)
    assert rc == 0 and out["changed"], out
    arn = out["arn"]
    assert arn.endswith(":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["sts.amazonaws.com"]

    rc, out = run_module(args)
    assert (rc, out["changed"], out["changes"]) == (0, False, [])

    rc, out = run_module(dict(args, tags={"Environment": "lab", "Team": "devops"}))
    assert out["changed"] and out["provider"]["tags"] == {"Environment": "lab", "Team": "devops"}

    rc, out = run_module({"url": ISSUER, "state": "absent"}, check_mode=True)
    assert out["changed"] and iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    rc, out = run_module({"url": ISSUER, "state": "absent"})
    assert out["changed"] and not iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    rc, out = run_module({"url": ISSUER, "state": "absent"})
    assert (rc, out["changed"]) == (0, False)


def test_oidc_provider_options_are_documented():
    documented = set(documented_options(iam_oidc_provider))
    assert documented == {"url", "client_ids", "thumbprints", "state"}


# --------------------------------------------------------------------------- describe
def test_eks_state_compares_the_provider_and_roles_on_moto(iam):
    """The state call against moto's EKS and IAM: missing, then converged (as the converge
    makes them, with the same module_utils: trusted by this cluster and the DR cluster),
    then one role's trust drifted, then one that trusts only the primary cluster."""
    spec = dict(render("eks", "lab"), irsa_peer_issuers=[DR_ISSUER])
    eks = boto3.client("eks", region_name="us-east-1")
    want = spec["cluster"]
    eks.create_cluster(
        name=want["name"],
        version=want["version"],
        roleArn=want["role_arn"],
        resourcesVpcConfig={"subnetIds": want["subnet_ids"]},
    )

    def clients(service, region=None):
        return boto3.client(service, region_name=region or "us-east-1")

    differences, _outputs = eks_state(clients, spec)
    assert any(d.startswith("OIDC provider ") and "does not exist" in d for d in differences)
    assert sum("IRSA role" in d and "does not exist" in d for d in differences) == len(
        spec["irsa_roles"]
    )

    issuer = eks.describe_cluster(name=want["name"])["cluster"]["identity"]["oidc"]["issuer"]
    tags = [{"Key": k, "Value": v} for k, v in spec["tags"].items()]
    provider = iam.create_open_id_connect_provider(
        Url=issuer, ClientIDList=["sts.amazonaws.com"], Tags=tags
    )["OpenIDConnectProviderArn"]
    both = aws_irsa.trusted_providers(ACCOUNT, [issuer, DR_ISSUER])
    for role in spec["irsa_roles"]:
        trust = aws_irsa.trust_policy(both, role["namespace"], role["service_account"])
        iam.create_role(
            RoleName=role["name"],
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=role["description"],
            Tags=tags,
        )
        for arn in role["managed_policies"]:
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=arn)
        for policy in role["inline_policies"]:
            iam.put_role_policy(
                RoleName=role["name"],
                PolicyName=policy["name"],
                PolicyDocument=json.dumps(policy["document"]),
            )
    differences, outputs = eks_state(clients, spec)
    iam_differences = [d for d in differences if "IRSA" in d or "OIDC" in d]
    assert iam_differences == []
    assert outputs["oidc_provider_arn"] == provider
    assert set(outputs["irsa_roles"]) == {r["key"] for r in spec["irsa_roles"]}
    assert outputs["irsa_trusted_providers"] == [arn for arn, _issuer in both]

    role = spec["irsa_roles"][0]
    drifted = f"IRSA role {role['name']} ({role['namespace']}/{role['service_account']}): "
    drifted += "trust policy differs (not its service account through the OIDC providers of "
    drifted += "the 2 cluster(s))"
    other = aws_irsa.trust_policy(both, "default", role["service_account"])
    iam.update_assume_role_policy(RoleName=role["name"], PolicyDocument=json.dumps(other))
    differences, _outputs = eks_state(clients, spec)
    assert [d for d in differences if "IRSA" in d] == [drifted]
    # Trusted by the primary cluster only: the DR cluster's pods would get no credentials
    # after a failover.
    primary_only = aws_irsa.trust_policy(both[:1], role["namespace"], role["service_account"])
    iam.update_assume_role_policy(RoleName=role["name"], PolicyDocument=json.dumps(primary_only))
    differences, _outputs = eks_state(clients, spec)
    assert [d for d in differences if "IRSA" in d] == [drifted]
