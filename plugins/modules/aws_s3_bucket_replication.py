#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_s3_bucket_replication
short_description: Manage the replication configuration of an S3 bucket
version_added: "0.1.0"
description:
  - amazon.aws.s3_bucket has no replication option. This module manages a bucket's whole
    replication configuration (role + rules), describe-first; a converged bucket costs one
    read call and no write.
  - The resource it manages is the replication configuration - with I(state=absent) the
    bucket does not replicate.
  - Both buckets must have versioning enabled. Objects encrypted with SSE-KMS replicate only
    when I(rules[].replica_kms_key_id) is set (the rule then selects SSE-KMS objects).
author:
  - tradeops engineers (@tradeops)
options:
  bucket:
    description: Source bucket.
    type: str
    required: true
  role_arn:
    description: IAM role S3 assumes to replicate. Required for I(state=present).
    type: str
  rules:
    description: Replication rules (all objects of the bucket; one rule per destination).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Rule id.
        type: str
        required: true
      priority:
        description: Rule priority (higher wins when rules overlap).
        type: int
        default: 1
      destination_bucket:
        description: Name of the destination bucket (usually in the DR region).
        type: str
        required: true
      storage_class:
        description: Storage class of the replicas.
        type: str
        default: STANDARD
      replica_kms_key_id:
        description: KMS key (ARN) in the destination region to encrypt the replicas with.
        type: str
      delete_marker_replication:
        description:
          - Replicate delete markers too.
          - Off keeps a deletion in the source from hiding the DR copy.
        type: bool
        default: false
  strict_compare:
    description:
      - Compare every field of the configuration. When false, fields the service did not
        return are not compared (moto drops C(SourceSelectionCriteria) and answers
        C(DeleteMarkerReplication=Disabled)); a lab-only setting.
    type: bool
    default: true
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: Replicate the backups to the DR region
  tradeops.platform.aws_s3_bucket_replication:
    bucket: tradeops-prod-backups
    role_arn: arn:aws:iam::123456789012:role/tradeops-prod-s3-replication
    rules:
      - id: to-dr
        destination_bucket: tradeops-prod-backups-dr
        replica_kms_key_id: "{{ dr_data_key_arn }}"
"""

RETURN = r"""
replication_configuration:
  description: The replication configuration in force (as sent to or read from S3).
  returned: when I(state=present)
  type: dict
  sample: {"Role": "arn:aws:iam::123456789012:role/replication", "Rules": []}
"""

import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import (  # noqa: E402
    delete_if_exists,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError


def desired_configuration(params):
    rules = []
    for rule in params["rules"]:
        destination = {
            "Bucket": "arn:aws:s3:::" + rule["destination_bucket"],
            "StorageClass": rule["storage_class"],
        }
        built = {
            "ID": rule["id"],
            "Priority": rule["priority"],
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {
                "Status": "Enabled" if rule["delete_marker_replication"] else "Disabled"
            },
            "Destination": destination,
        }
        if rule.get("replica_kms_key_id"):
            destination["EncryptionConfiguration"] = {"ReplicaKmsKeyID": rule["replica_kms_key_id"]}
            built["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
        rules.append(built)
    return {"Role": params["role_arn"], "Rules": rules}


def matches(current, desired, strict):
    """True when the current configuration says what the desired one says."""
    if current.get("Role") != desired["Role"] or len(current.get("Rules", [])) != len(
        desired["Rules"]
    ):
        return False
    by_id = {r.get("ID"): r for r in current.get("Rules", [])}
    for want in desired["Rules"]:
        got = by_id.get(want["ID"])
        if got is None:
            return False
        for key, value in want.items():
            if key not in got and not strict:
                continue
            if key == "DeleteMarkerReplication" and not strict:
                continue
            if key == "Filter" and got.get(key) in ({}, {"Prefix": ""}, None):
                continue
            if got.get(key) != value:
                return False
    return True


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True),
            role_arn=dict(type="str"),
            rules=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    id=dict(type="str", required=True),
                    priority=dict(type="int", default=1),
                    destination_bucket=dict(type="str", required=True),
                    storage_class=dict(type="str", default="STANDARD"),
                    replica_kms_key_id=dict(type="str"),
                    delete_marker_replication=dict(type="bool", default=False),
                ),
            ),
            strict_compare=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["role_arn", "rules"])],
        supports_check_mode=True,
    )
    p = module.params
    s3 = module.client("s3")
    try:
        current = s3.get_bucket_replication(Bucket=p["bucket"])["ReplicationConfiguration"]
    except (BotoCoreError, ClientError) as err:
        code = getattr(err, "response", {}).get("Error", {}).get("Code")
        if code == "NoSuchBucket" and p["state"] == "absent":
            module.exit_json(changed=False)
        if code != "ReplicationConfigurationNotFoundError":
            module.fail_json_aws(err, msg=f"Could not read the replication of {p['bucket']}")
        current = None

    if p["state"] == "absent":
        delete_if_exists(
            module,
            current is not None,
            lambda: s3.delete_bucket_replication(Bucket=p["bucket"]),
            f"Could not remove the replication of {p['bucket']}",
            errors=(BotoCoreError, ClientError),
        )

    desired = desired_configuration(p)
    if current is not None and matches(current, desired, p["strict_compare"]):
        module.exit_json(changed=False, replication_configuration=current)
    if not module.check_mode:
        try:
            s3.put_bucket_replication(Bucket=p["bucket"], ReplicationConfiguration=desired)
        except (BotoCoreError, ClientError) as err:
            module.fail_json_aws(err, msg=f"Could not configure the replication of {p['bucket']}")
    module.exit_json(changed=True, replication_configuration=desired)


if __name__ == "__main__":
    main()
