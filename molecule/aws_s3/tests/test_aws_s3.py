"""aws_s3's effect in the scenario's moto: the lab's buckets (the role's default set) and
their DR copies - versioned, encrypted (the data key of their region, or SSE-S3 for the
load balancers' logs), private, ACLs off, tagged - and what each bucket is for: lifecycle
tiers that never expire the backup repositories, Object Lock and CloudTrail's delivery on
the compliance bucket, the load balancers' log delivery, replication to the DR region."""

from __future__ import annotations

import json

import pytest

PREFIX = "tradeops-lab-123456789012"
ACCOUNT = "123456789012"
# bucket key -> (region, encryption)
BUCKETS = {
    "backups": ("us-east-1", "aws:kms"),
    "logs": ("us-east-1", "AES256"),
    "market-data": ("us-east-1", "aws:kms"),
    "compliance": ("us-east-1", "aws:kms"),
    "backups-dr": ("us-west-2", "aws:kms"),
    "compliance-dr": ("us-west-2", "aws:kms"),
    "logs-dr": ("us-west-2", "AES256"),
}


def _s3(aws, key):
    return aws("s3", BUCKETS[key][0])


def _policy(aws, key):
    return json.loads(_s3(aws, key).get_bucket_policy(Bucket=f"{PREFIX}-{key}")["Policy"])


def test_the_buckets_exist_in_their_regions_and_no_other(aws):
    for region in ("us-east-1", "us-west-2"):
        s3 = aws("s3", region)
        for key, plan in BUCKETS.items():
            if plan[0] == region:
                location = s3.get_bucket_location(Bucket=f"{PREFIX}-{key}")["LocationConstraint"]
                assert (location or "us-east-1") == region, key
    names = sorted(b["Name"] for b in aws("s3").list_buckets()["Buckets"])
    assert names == sorted(f"{PREFIX}-{key}" for key in BUCKETS)


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_is_versioned(aws, key):
    status = _s3(aws, key).get_bucket_versioning(Bucket=f"{PREFIX}-{key}").get("Status")
    assert status == "Enabled"


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_is_encrypted_as_planned(aws, outputs, key):
    region, algorithm = BUCKETS[key]
    rules = _s3(aws, key).get_bucket_encryption(Bucket=f"{PREFIX}-{key}")[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    sse = rules[0]["ApplyServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == algorithm
    if algorithm == "aws:kms":
        data_key = outputs("security")["kms_keys"]["data"][region]
        assert sse["KMSMasterKeyID"] in ("alias/tradeops-lab-data", data_key["arn"])
        assert rules[0]["BucketKeyEnabled"] is True


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_is_private_with_acls_disabled(aws, key):
    s3 = _s3(aws, key)
    block = s3.get_public_access_block(Bucket=f"{PREFIX}-{key}")["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    owner = s3.get_bucket_ownership_controls(Bucket=f"{PREFIX}-{key}")["OwnershipControls"]
    assert [r["ObjectOwnership"] for r in owner["Rules"]] == ["BucketOwnerEnforced"]


@pytest.mark.parametrize("key", BUCKETS)
def test_bucket_carries_the_standard_tags(aws, tags, key, standard_tags):
    tagging = _s3(aws, key).get_bucket_tagging(Bucket=f"{PREFIX}-{key}")
    assert set(tags({"Tags": tagging["TagSet"]})) >= standard_tags


def _rules(aws, key):
    got = _s3(aws, key).get_bucket_lifecycle_configuration(Bucket=f"{PREFIX}-{key}")["Rules"]
    return {r["ID"]: r for r in got}


def _prefix(rule):
    filt = rule.get("Filter", {})
    return filt.get("Prefix", filt.get("And", {}).get("Prefix", rule.get("Prefix", "")))


def test_backup_repositories_are_never_tiered_or_expired(aws):
    rules = _rules(aws, "backups")
    assert set(rules) == {"restic-repositories", "pgbackrest-repositories", "archive-tiers"}
    for rule_id, prefix in (
        ("restic-repositories", "restic/"),
        ("pgbackrest-repositories", "pgbackrest/"),
    ):
        rule = rules[rule_id]
        assert _prefix(rule) == prefix
        assert "Transitions" not in rule and "Expiration" not in rule
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    archive = rules["archive-tiers"]
    assert _prefix(archive) == "archive/"
    assert sorted((t["Days"], t["StorageClass"]) for t in archive["Transitions"]) == [
        (30, "STANDARD_IA"),
        (90, "GLACIER"),
    ]
    assert archive["Expiration"]["Days"] == 365


def test_market_data_and_logs_tiers(aws):
    tiers = _rules(aws, "market-data")["tiers"]
    assert sorted((t["Days"], t["StorageClass"]) for t in tiers["Transitions"]) == [
        (30, "STANDARD_IA"),
        (90, "GLACIER"),
    ]
    for key in ("logs", "logs-dr"):
        assert _rules(aws, key)["expire"]["Expiration"]["Days"] == 90


@pytest.mark.parametrize("key", ["compliance", "compliance-dr"])
def test_compliance_buckets_have_object_lock_in_compliance_mode(aws, key):
    lock = _s3(aws, key).get_object_lock_configuration(Bucket=f"{PREFIX}-{key}")[
        "ObjectLockConfiguration"
    ]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert lock["Rule"]["DefaultRetention"]["Days"] == 2555


def test_cloudtrail_may_deliver_into_the_compliance_bucket_only_under_awslogs(aws):
    bucket = f"{PREFIX}-compliance"
    by_sid = {s["Sid"]: s for s in _policy(aws, "compliance")["Statement"]}
    assert by_sid["AWSCloudTrailAclCheck"]["Action"] == "s3:GetBucketAcl"
    write = by_sid["AWSCloudTrailWrite"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*"


@pytest.mark.parametrize("key", ["logs", "logs-dr"])
def test_load_balancers_may_write_access_logs_under_alb(aws, key):
    statements = _policy(aws, key)["Statement"]
    resources = [
        r
        for s in statements
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert f"arn:aws:s3:::{PREFIX}-{key}/alb/AWSLogs/{ACCOUNT}/*" in resources
    assert all(r.startswith(f"arn:aws:s3:::{PREFIX}-{key}") for r in resources)


def test_buckets_without_a_purpose_for_a_policy_have_none(aws):
    for key in ("backups", "market-data", "backups-dr", "compliance-dr"):
        with pytest.raises(aws("s3").exceptions.ClientError):
            _s3(aws, key).get_bucket_policy(Bucket=f"{PREFIX}-{key}")


@pytest.mark.parametrize("key", ["backups", "compliance"])
def test_replication_to_the_dr_copy_with_the_dr_data_key(aws, outputs, key):
    config = aws("s3").get_bucket_replication(Bucket=f"{PREFIX}-{key}")["ReplicationConfiguration"]
    assert config["Role"] == f"arn:aws:iam::{ACCOUNT}:role/tradeops-lab-s3-replication"
    enabled = [r for r in config["Rules"] if r["Status"] == "Enabled"]
    assert [r["Destination"]["Bucket"] for r in enabled] == [f"arn:aws:s3:::{PREFIX}-{key}-dr"]
    dr_key = outputs("security")["kms_keys"]["data"]["us-west-2"]["arn"]
    assert enabled[0]["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == dr_key
    assert outputs("s3")["replication_role_arn"] == config["Role"]


def test_the_replication_role_is_s3s_and_reads_and_writes_only_those_buckets(aws):
    iam = aws("iam")
    role = iam.get_role(RoleName="tradeops-lab-s3-replication")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "s3.amazonaws.com"}]
    doc = iam.get_role_policy(RoleName="tradeops-lab-s3-replication", PolicyName="replicate-to-dr")[
        "PolicyDocument"
    ]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    buckets = {f"{PREFIX}-{k}" for k in ("backups", "compliance", "backups-dr", "compliance-dr")}
    for st in doc["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        assert "*" not in actions and "s3:*" not in actions
        for resource in [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]:
            if resource.startswith("arn:aws:s3:::"):
                assert resource[len("arn:aws:s3:::") :].split("/")[0] in buckets, resource
            else:
                assert resource.startswith("arn:aws:kms:"), resource
