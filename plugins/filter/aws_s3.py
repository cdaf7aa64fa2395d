# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the S3 layer (roles/aws_s3/tasks/preflight.yml).

The rules live in module_utils/aws_s3.py (unit-tested); this is a thin wrapper.
Documentation for each filter lives in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.module_utils.aws_s3 import bucket_problems
from ansible_collections.tradeops.platform.plugins.module_utils.plain import plain


def aws_s3_bucket_problems(buckets):
    """aws_s3_buckets -> what is wrong with their lifecycle rules and object locks."""
    if not isinstance(buckets, list):
        raise AnsibleFilterError("aws_s3_bucket_problems: aws_s3_buckets must be a list")
    return bucket_problems(plain(buckets))


class FilterModule:
    def filters(self):
        return {"aws_s3_bucket_problems": aws_s3_bucket_problems}
