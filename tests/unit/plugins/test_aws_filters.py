"""Filters of the AWS layer roles: security-group rules as module arguments, and the
results of loops run as async jobs."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.aws import (
    FilterModule,
    aws_async_results,
    aws_ids_by_name,
    aws_kms_unnamed_keys,
    aws_s3_bucket_kms_key,
    aws_s3_replication_policy,
    aws_security_group_rules,
)

IDS = {"p-lab-alb": "sg-alb", "p-lab-nodes": "sg-nodes"}


def test_every_peer_kind_becomes_its_module_argument():
    group = {
        "name": "p-lab-nodes",
        "ingress": [
            {"proto": "tcp", "ports": [7999], "group": "p-lab-alb", "description": "API"},
            {"proto": "all", "self": True},
            {"proto": "tcp", "ports": ["30000-32767"], "cidr": "vpc"},
        ],
        "egress": [{"proto": "-1", "cidr": "0.0.0.0/0", "description": "out"}],
    }
    rules = aws_security_group_rules(group, IDS, "10.0.0.0/16")
    assert rules["ingress"] == [
        {"proto": "tcp", "rule_desc": "API", "ports": ["7999"], "group_id": "sg-alb"},
        {"proto": "-1", "group_id": "sg-nodes"},
        {"proto": "tcp", "ports": ["30000-32767"], "cidr_ip": "10.0.0.0/16"},
    ]
    assert rules["egress"] == [{"proto": "-1", "rule_desc": "out", "cidr_ip": "0.0.0.0/0"}]


def test_a_group_without_rules_has_empty_lists():
    assert aws_security_group_rules({"name": "p-lab-alb"}, IDS, "10.0.0.0/16") == {
        "ingress": [],
        "egress": [],
    }


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"proto": "tcp", "ports": [22]}, "a rule without a peer"),
        ({"proto": "tcp", "ports": [22], "group": "p-lab-db"}, "no security group p-lab-db"),
    ],
)
def test_bad_rules_fail_with_the_group_named(rule, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        aws_security_group_rules({"name": "p-lab-alb", "ingress": [rule]}, IDS, "10.0.0.0/16")


def test_async_results_carry_the_launch_items():
    launched = {"results": [{"ansible_job_id": "j1", "item": {"name": "a"}}]}
    waited = {
        "results": [
            {"finished": 1, "changed": True, "group_id": "sg-1", "item": launched["results"][0]}
        ]
    }
    assert aws_async_results(launched, waited) == [
        {"finished": 1, "changed": True, "group_id": "sg-1", "item": {"name": "a"}}
    ]


def test_async_results_of_an_inline_loop_are_the_launch_results():
    launched = {"results": [{"changed": False, "group_id": "sg-1", "item": {"name": "a"}}]}
    # async_status skipped: every item ran inline (tradeops_aws_async=false)
    assert aws_async_results(launched, {"results": []}) == launched["results"]
    assert aws_async_results(launched, {"skipped": True}) == launched["results"]


def test_ids_by_name_from_loop_results_with_check_mode_placeholders():
    results = [
        {"item": {"name": "a"}, "subnet": {"id": "subnet-1"}},
        {"item": {"name": "b"}, "changed": True},  # check mode: nothing created
    ]
    assert aws_ids_by_name(results, "subnet.id") == {"a": "subnet-1", "b": "check-mode"}


def test_ids_by_name_leaves_out_elements_without_id_when_asked():
    found = [{"tags": {"Name": "eip-a"}, "allocation_id": "eipalloc-1"}]
    launched = [{"item": {"eip_name": "eip-b"}, "skipped": True}]
    assert aws_ids_by_name(found, "allocation_id", name_key="tags.Name", missing=None) == {
        "eip-a": "eipalloc-1"
    }
    assert aws_ids_by_name(launched, "allocation_id", name_key="item.eip_name", missing=None) == {}
    assert aws_ids_by_name(None, "allocation_id") == {}


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "aws_security_group_rules",
        "aws_async_results",
        "aws_ids_by_name",
        "aws_kms_unnamed_keys",
        "aws_s3_replication_policy",
        "aws_s3_bucket_kms_key",
    }


# ---- aws_kms_unnamed_keys ------------------------------------------------------------------
TAGS = {"Project": "tradeops", "Environment": "lab"}
WANTED = [
    {"alias": "tradeops-lab-data", "description": "data", "region": "us-east-1"},
    {"alias": "tradeops-lab-logs", "description": "logs", "region": "us-east-1"},
]


def key(key_id, description, aliases=(), state="Enabled", tags=None, created="2026-12-07T00:00"):
    return {
        "key_id": key_id,
        "description": description,
        "aliases": list(aliases),
        "key_state": state,
        "tags": dict(TAGS if tags is None else tags),
        "creation_date": created,
    }


def test_kms_a_key_left_without_its_alias_is_named_not_duplicated():
    found = {
        "results": [
            {"kms_keys": [key("k-old", "data", created="1"), key("k-new", "data", created="2")]},
            {"kms_keys": [key("k-logs", "logs", aliases=["alias/tradeops-lab-logs"])]},
        ]
    }
    assert aws_kms_unnamed_keys(found, WANTED, TAGS) == [
        {"alias": "tradeops-lab-data", "key_id": "k-new", "region": "us-east-1"}
    ]


@pytest.mark.parametrize(
    "candidate",
    [
        key("k1", "data", aliases=["alias/someone-else"]),  # named: another's key
        key("k1", "data", state="PendingDeletion"),
        key("k1", "another description"),
        key("k1", "data", tags={"Project": "tradeops", "Environment": "prod"}),
    ],
)
def test_kms_keys_that_are_not_ours_to_name_are_left_alone(candidate):
    found = {"results": [{"kms_keys": [candidate]}, {"kms_keys": []}]}
    assert aws_kms_unnamed_keys(found, WANTED, TAGS) == []


def test_kms_an_alias_that_exists_needs_nothing():
    found = {"results": [{"kms_keys": [key("k1", "data", aliases=["alias/tradeops-lab-data"]),
                                       key("k2", "data")]}, {"kms_keys": []}]}  # fmt: skip
    assert aws_kms_unnamed_keys(found, WANTED, TAGS) == []


def test_kms_a_lookup_skipped_because_the_alias_exists_needs_nothing():
    found = {"results": [{"skipped": True}, {"kms_keys": [key("k9", "logs")]}]}
    assert aws_kms_unnamed_keys(found, WANTED, TAGS) == [
        {"alias": "tradeops-lab-logs", "key_id": "k9", "region": "us-east-1"}
    ]


def test_kms_lookups_must_match_the_wanted_keys():
    with pytest.raises(AnsibleFilterError, match="1 lookups for 2 wanted"):
        aws_kms_unnamed_keys({"results": [{"kms_keys": []}]}, WANTED, TAGS)


# ---- S3 replication ---------------------------------------------------------------------------
def test_the_replication_policy_reads_the_sources_and_writes_the_destinations_only():
    policy = aws_s3_replication_policy(
        ["p-backups", "p-compliance"], ["p-backups-dr"], "123456789012", "us-east-1", "us-west-2"
    )
    by_action = {s["Action"][0]: s["Resource"] for s in policy["Statement"]}
    assert by_action == {
        "s3:GetReplicationConfiguration": ["arn:aws:s3:::p-backups", "arn:aws:s3:::p-compliance"],
        "s3:GetObjectVersionForReplication": [
            "arn:aws:s3:::p-backups/*",
            "arn:aws:s3:::p-compliance/*",
        ],
        "s3:ReplicateObject": ["arn:aws:s3:::p-backups-dr/*"],
        "kms:Decrypt": ["arn:aws:kms:us-east-1:123456789012:key/*"],
        "kms:Encrypt": ["arn:aws:kms:us-west-2:123456789012:key/*"],
    }
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    with pytest.raises(AnsibleFilterError, match="lists"):
        aws_s3_replication_policy("p-backups", [], "1", "a", "b")


def test_a_bucket_s_kms_key_is_read_from_its_default_encryption():
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k"}
    }
    info = {
        "buckets": [{"bucket_encryption": {"ServerSideEncryptionConfiguration": {"Rules": [rule]}}}]
    }
    assert aws_s3_bucket_kms_key(info) == "k"
    sse_s3 = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    info["buckets"][0]["bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"] = [sse_s3]
    assert aws_s3_bucket_kms_key(info) == ""
    assert aws_s3_bucket_kms_key({"skipped": True}) == ""
    assert aws_s3_bucket_kms_key({"buckets": [{}]}) == ""
