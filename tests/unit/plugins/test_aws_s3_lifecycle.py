"""Unit tests for the S3 lifecycle rule prefix (module_utils/aws_state.py): the backups
bucket's repository prefixes are compared by it (roles/aws_s3, docs/backups.md)."""

from __future__ import annotations

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import (
    lifecycle_rule_prefix,
)


@pytest.mark.parametrize(
    ("rule", "prefix"),
    [
        ({"ID": "a", "Filter": {"Prefix": "restic/"}}, "restic/"),
        (
            {"ID": "a", "Filter": {"And": {"Prefix": "archive/", "ObjectSizeGreaterThan": 1}}},
            "archive/",
        ),
        ({"ID": "a", "Filter": {}}, ""),
        ({"ID": "a", "Prefix": "legacy/"}, "legacy/"),
        ({"ID": "a"}, ""),
    ],
)
def test_lifecycle_rule_prefix(rule, prefix):
    assert lifecycle_rule_prefix(rule) == prefix
