"""The security layer's policies grant what the other layers need, on what they create.

The IAM policies it writes name S3 buckets the s3 layer creates, and the data key lets
CloudWatch notify the alarms layer's encrypted topics.

A policy that names a bucket nobody creates grants nothing and fails nobody: the engine
nodes' backup policy once named `tradeops-<env>-backups` while the bucket is
`tradeops-<env>-<account>-backups`, and no run noticed. Checked on the specs as the roles
render them, for every inventory."""

from __future__ import annotations

import fnmatch

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import (
    key_allows_cloudwatch,
)

from .aws_specs import render

INVENTORIES = ["lab", "production"]


def _s3_resources(security_spec):
    """(role, policy, bucket pattern) of every S3 ARN in the roles' inline policies."""
    for role in security_spec["iam_roles"]:
        for policy in role["inline_policies"]:
            for statement in policy["document"]["Statement"]:
                resources = statement.get("Resource", [])
                for arn in [resources] if isinstance(resources, str) else resources:
                    if arn.startswith("arn:aws:s3:::"):
                        bucket = arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]
                        yield role["name"], policy["name"], bucket


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_bucket_an_iam_policy_names_is_one_the_s3_layer_creates(inventory):
    s3 = render("s3", inventory)
    buckets = [b["name"] for b in s3["buckets"] + s3["dr_buckets"]]
    named = list(_s3_resources(render("security", inventory)))
    assert named, "no IAM policy names an S3 bucket: the test checks nothing"
    unknown = [n for n in named if not fnmatch.filter(buckets, n[2])]
    assert not unknown, f"policies name buckets the s3 layer does not create: {unknown}"


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_the_data_key_lets_cloudwatch_notify_the_alarm_topics(inventory):
    """Without the grant AWS drops every alarm notification to a KMS-encrypted topic (the
    alarms layer's summary would say NOT DELIVERED)."""
    keys = [k for k in render("security", inventory)["kms_keys"] if k["purpose"] == "data"]
    assert {k["region"] for k in keys} >= {"us-east-1", "us-west-2"}
    assert all(key_allows_cloudwatch(k["policy"]) for k in keys), keys
