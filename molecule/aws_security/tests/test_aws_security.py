"""aws_security's effect in the scenario's moto: the data key of each region (rotation,
key policy), the IAM roles (one service each, no wildcard grant), the generated secrets
(never printed here: only their shape is asserted)."""

from __future__ import annotations

import json

import pytest

REGIONS = ("us-east-1", "us-west-2")
ACCOUNT = "123456789012"
ROLES = {
    "eks-cluster": "eks.amazonaws.com",
    "eks-nodes": "ec2.amazonaws.com",
    "engine": "ec2.amazonaws.com",
    "rds-monitoring": "monitoring.rds.amazonaws.com",
    "backup": "backup.amazonaws.com",
}


def _as_list(value):
    return [value] if isinstance(value, str) else list(value)


def _key(aws, region):
    return aws("kms", region).describe_key(KeyId="alias/tradeops-lab-data")["KeyMetadata"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_data_key_is_enabled_with_rotation_in_each_region(aws, outputs, region, standard_tags):
    key = _key(aws, region)
    kms = aws("kms", region)
    assert key["KeyState"] == "Enabled"
    assert key["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
    assert set(tags) >= standard_tags
    assert outputs("security")["kms_keys"]["data"][region]["arn"] == key["Arn"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_key_policy_grants_cloudtrail_and_cloudwatch_narrowly(aws, region):
    key = _key(aws, region)
    policy = json.loads(
        aws("kms", region).get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    root = by_sid["Enable IAM User Permissions"]
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    trail = by_sid["Allow CloudTrail to encrypt logs"]
    assert trail["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trail["Action"] == "kms:GenerateDataKey*"
    assert trail["Condition"]["StringLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    )
    alarms = by_sid["Allow CloudWatch alarms to publish to encrypted topics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # Only the account root may do everything with the key.
    wide = [s["Sid"] for s in policy["Statement"] if s["Action"] in ("kms:*", "*")]
    assert wide == ["Enable IAM User Permissions"]


def test_each_role_trusts_its_one_service(aws, outputs, tags, standard_tags):
    iam = aws("iam")
    for key, service in ROLES.items():
        role = iam.get_role(RoleName=f"tradeops-lab-{key}")["Role"]
        trust = role["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": service}], key
        assert [s["Action"] for s in trust["Statement"]] == ["sts:AssumeRole"], key
        assert set(tags(role)) >= standard_tags, key
        assert outputs("security")["iam_roles"][key] == role["Arn"]


def test_inline_policies_are_least_privilege(aws):
    iam = aws("iam")
    seen = {}
    for key in ROLES:
        name = f"tradeops-lab-{key}"
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            if isinstance(doc, str):
                doc = json.loads(doc)
            seen[f"{key}/{policy}"] = doc["Statement"]
    assert set(seen) == {"eks-nodes/backups-write-only", "engine/engine-runtime"}
    for where, statements in seen.items():
        for st in statements:
            assert "*" not in _as_list(st["Action"]), where
            assert "*" not in _as_list(st["Resource"]), where
    assert seen["eks-nodes/backups-write-only"][0]["Action"] == ["s3:PutObject"]
    assert seen["eks-nodes/backups-write-only"][0]["Resource"] == [
        f"arn:aws:s3:::tradeops-lab-{ACCOUNT}-backups/*"
    ]


def test_managed_policies_only_where_aws_requires_them(aws):
    iam = aws("iam")
    attached = {
        key: sorted(
            p["PolicyName"]
            for p in iam.list_attached_role_policies(RoleName=f"tradeops-lab-{key}")[
                "AttachedPolicies"
            ]
        )
        for key in ROLES
    }
    assert attached == {
        "eks-cluster": ["AmazonEKSClusterPolicy"],
        "eks-nodes": [
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
        ],
        "engine": ["AmazonSSMManagedInstanceCore"],
        "rds-monitoring": ["AmazonRDSEnhancedMonitoringRole"],
        "backup": ["AWSBackupServiceRolePolicyForBackup"],
    }


def test_the_engine_role_has_its_instance_profile(aws, outputs):
    profile = aws("iam").get_instance_profile(InstanceProfileName="tradeops-lab-engine")
    roles = [r["RoleName"] for r in profile["InstanceProfile"]["Roles"]]
    assert roles == ["tradeops-lab-engine"]
    assert outputs("security")["instance_profiles"]["engine"] == profile["InstanceProfile"]["Arn"]


@pytest.mark.parametrize("key", ["rds-master", "redis-auth"])
def test_secrets_are_encrypted_with_the_data_key_and_replicated(aws, key):
    sm = aws("secretsmanager")
    secret = sm.describe_secret(SecretId=f"tradeops-lab/{key}")
    data_key = _key(aws, "us-east-1")
    assert secret["KmsKeyId"] in (
        "alias/tradeops-lab-data",
        data_key["KeyId"],
        data_key["Arn"],
    )
    assert [r["Region"] for r in secret.get("ReplicationStatus", [])] == ["us-west-2"]
    # Generated once: converge, idempotence and check left one version.
    versions = sm.list_secret_version_ids(SecretId=f"tradeops-lab/{key}")["Versions"]
    assert len(versions) == 1


@pytest.mark.parametrize(
    ("key", "fields"), [("rds-master", {"username", "password"}), ("redis-auth", {"token"})]
)
def test_secret_values_are_generated_40_letters_and_digits(aws, key, fields):
    value = json.loads(
        aws("secretsmanager").get_secret_value(SecretId=f"tradeops-lab/{key}")["SecretString"]
    )
    # Booleans only, so that a failure never prints the value.
    shape = set(value) == fields
    generated = next(v for k, v in value.items() if k != "username")
    well_formed = len(generated) == 40 and generated.isascii() and generated.isalnum()
    assert shape, f"{key}: fields differ"
    assert well_formed, f"{key}: the generated value is not 40 letters and digits"
    if "username" in fields:
        assert value["username"] == "tradeops_admin"
