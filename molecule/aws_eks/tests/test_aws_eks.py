"""aws_eks's effect in the scenario's moto: the primary cluster and the DR region's warm
standby (eks-dr), their node groups, OIDC providers and the IRSA roles, as the lab's plan
says (roles/aws_eks/defaults), in the prepared networks with the security layer's roles and
data keys. Not here: the managed add-ons (moto has no add-on API: the lab's spec lists none)."""

from __future__ import annotations

import pytest

DR = "us-west-2"
CLUSTER = "tradeops-lab"
LOGS = {"api", "audit", "authenticator", "controllerManager", "scheduler"}
# name: (instance types, capacity, min, max, desired) of the primary's groups.
GROUPS = {
    "general": (["t3.xlarge"], "ON_DEMAND", 3, 10, 3),
    "compute-spot": (["c6i.2xlarge", "c6a.2xlarge", "c5.2xlarge"], "SPOT", 2, 20, 2),
    "memory": (["r6i.xlarge"], "ON_DEMAND", 1, 5, 1),
}
IRSA_ROLES = {
    "tradeops-lab-order-api": "trading:order-api",
    "tradeops-lab-risk-worker": "trading:risk-worker",
    "tradeops-lab-cluster-autoscaler": "kube-system:cluster-autoscaler",
    "tradeops-lab-ebs-csi-driver": "kube-system:ebs-csi-controller-sa",
}
REGIONS = [("us-east-1", "network"), (DR, "network-dr")]


def _cluster(aws, region):
    return aws("eks", region).describe_cluster(name=CLUSTER)["cluster"]


def _groups(aws, region):
    eks = aws("eks", region)
    return {
        name: eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=name)["nodegroup"]
        for name in eks.list_nodegroups(clusterName=CLUSTER)["nodegroups"]
    }


def _issuer_host(aws, region):
    return _cluster(aws, region)["identity"]["oidc"]["issuer"].removeprefix("https://")


@pytest.mark.parametrize(("region", "layer"), REGIONS)
def test_private_endpoint_in_the_private_subnets_behind_the_nodes_group(
    aws, outputs, region, layer
):
    network = outputs(layer)
    cluster = _cluster(aws, region)
    assert cluster["status"] == "ACTIVE" and cluster["version"] == "1.35"
    vpc = cluster["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False
    assert set(vpc["subnetIds"]) == {s["id"] for s in network["subnets"]["private"]}
    assert vpc["securityGroupIds"] == [network["security_groups"]["nodes"]]
    assert cluster["roleArn"] == outputs("security")["iam_roles"]["eks-cluster"]


@pytest.mark.parametrize("region", ["us-east-1", DR])
def test_every_control_plane_log_and_secrets_encrypted_with_the_data_key(
    aws, outputs, region, standard_tags
):
    cluster = _cluster(aws, region)
    enabled = {t for e in cluster["logging"]["clusterLogging"] if e["enabled"] for t in e["types"]}
    assert enabled == LOGS
    (encryption,) = cluster["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    assert (
        encryption["provider"]["keyArn"] == (outputs("security")["kms_keys"]["data"][region]["arn"])
    )
    assert set(cluster["tags"]) >= standard_tags


def test_primary_node_groups_as_planned_in_the_private_subnets(aws, outputs):
    groups = _groups(aws, "us-east-1")
    assert set(groups) == set(GROUPS)
    private = {s["id"] for s in outputs("network")["subnets"]["private"]}
    for name, (types, capacity, low, high, desired) in GROUPS.items():
        group = groups[name]
        assert group["instanceTypes"] == types, name
        assert group["capacityType"] == capacity, name
        assert group["scalingConfig"] == {"minSize": low, "maxSize": high, "desiredSize": desired}
        assert set(group["subnets"]) == private, name
        assert group["nodeRole"] == outputs("security")["iam_roles"]["eks-nodes"], name
        assert group["amiType"] == "AL2023_x86_64_STANDARD", name
        assert group["updateConfig"] == {"maxUnavailable": 1}, name


def test_dr_node_groups_are_warm_standbys_of_the_primarys(aws, outputs):
    groups = _groups(aws, DR)
    assert set(groups) == set(GROUPS)
    private = {s["id"] for s in outputs("network-dr")["subnets"]["private"]}
    for name, plan in GROUPS.items():
        types, capacity, high = plan[0], plan[1], plan[3]
        group = groups[name]
        assert group["scalingConfig"] == {"minSize": 1, "maxSize": high, "desiredSize": 1}
        assert (group["instanceTypes"], group["capacityType"]) == (types, capacity), name
        assert set(group["subnets"]) == private, name


def test_each_cluster_has_its_oidc_provider(aws, outputs, tags, standard_tags):
    iam = aws("iam")
    providers = {
        p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    }
    for region in ("us-east-1", DR):
        host = _issuer_host(aws, region)
        (arn,) = [a for a in providers if a.endswith(":oidc-provider/" + host)]
        got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        assert got["ClientIDList"] == ["sts.amazonaws.com"], region
        assert set(tags(got)) >= standard_tags, region
    assert outputs("eks")["oidc_provider_arn"].endswith(
        ":oidc-provider/" + _issuer_host(aws, "us-east-1")
    )


def test_irsa_roles_trust_only_their_service_account_in_both_clusters(aws, outputs):
    iam = aws("iam")
    trusted = outputs("eks")["irsa_trusted_providers"]
    hosts = [_issuer_host(aws, region) for region in ("us-east-1", DR)]
    assert [arn.split(":oidc-provider/")[1] for arn in trusted] == hosts
    for name, subject in IRSA_ROLES.items():
        statements = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"]
        assert len(statements) == 2, name
        for statement, provider, host in zip(statements, trusted, hosts, strict=True):
            assert statement["Principal"] == {"Federated": provider}, name
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity", name
            assert statement["Condition"]["StringEquals"] == {
                f"{host}:sub": f"system:serviceaccount:{subject}",
                f"{host}:aud": "sts.amazonaws.com",
            }, name
    # The DR copy makes no roles of its own: the primary's serve both clusters.
    assert outputs("eks-dr")["irsa_roles"] == {}


def test_irsa_roles_get_least_privilege_policies(aws):
    iam = aws("iam")
    attached = iam.list_attached_role_policies(RoleName="tradeops-lab-ebs-csi-driver")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    ]
    assert iam.list_role_policies(RoleName="tradeops-lab-order-api")["PolicyNames"] == [
        "order-api-irsa"
    ]
    document = iam.get_role_policy(RoleName="tradeops-lab-order-api", PolicyName="order-api-irsa")[
        "PolicyDocument"
    ]
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert "secretsmanager:GetSecretValue" in actions
    assert not [a for a in actions if a.endswith(":*") or a == "*"]
