#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_backup_vault
short_description: An AWS Backup vault encrypted with a customer-managed KMS key
version_added: "0.1.0"
description:
  - Creates, tags or deletes one AWS Backup vault. Describes it first; changes only what
    differs; supports check mode and diff.
  - A vault's encryption key is fixed at creation. A vault that exists with another key is
    an error (the recovery points in it stay encrypted with the old key); move to a new
    vault name instead.
  - amazon.aws.backup_vault does the same but treats only C(AccessDeniedException) as "no
    such vault" (what AWS answers); the lab's moto answers C(ResourceNotFoundException),
    so that module cannot create a vault there. This module accepts both.
author:
  - tradeops engineers (@tradeops)
options:
  name:
    description: The vault's name (2 to 50 letters, digits, hyphens, underscores).
    type: str
    required: true
  encryption_key_arn:
    description:
      - ARN of the KMS key that encrypts the vault's recovery points. Required to create
        a vault; compared with an existing vault's key.
    type: str
  purge_recovery_points:
    description:
      - With I(state=absent), delete the vault's recovery points first (AWS refuses to
        delete a vault that holds any). Only for environments being torn down; a vault
        with recovery points is otherwise left, and the module fails saying how many.
    type: bool
    default: false
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The DR region's vault, encrypted with the DR data key
  tradeops.platform.aws_backup_vault:
    name: tradeops-prod-dr
    region: us-west-2
    encryption_key_arn: arn:aws:kms:us-west-2:123456789012:key/1c2b60e5-323a-400c-818b-4b2855ed87f1
    tags:
      Environment: prod
      Project: tradeops

- name: Remove a staging vault with what is in it
  tradeops.platform.aws_backup_vault:
    name: tradeops-staging
    purge_recovery_points: true
    state: absent
"""

RETURN = r"""
vault:
  description: The vault as described after the call (empty when absent).
  returned: always
  type: dict
  sample:
    name: tradeops-prod-dr
    arn: arn:aws:backup:us-west-2:123456789012:backup-vault:tradeops-prod-dr
    encryption_key_arn: arn:aws:kms:us-west-2:123456789012:key/1c2b60e5-323a-400c-818b-4b2855ed87f1
    recovery_points: 0
    tags: {Environment: prod}
"""

import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import (  # noqa: E402
    describe_vault,
    tag_changes,
    user_tags,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError


def _view(described, tags):
    if not described:
        return {}
    return {
        "name": described["BackupVaultName"],
        "arn": described["BackupVaultArn"],
        "encryption_key_arn": described.get("EncryptionKeyArn"),
        "recovery_points": described.get("NumberOfRecoveryPoints", 0),
        "tags": user_tags(tags),
    }


def _delete_recovery_points(backup, name):
    paginator = backup.get_paginator("list_recovery_points_by_backup_vault")
    for page in paginator.paginate(BackupVaultName=name):
        for point in page.get("RecoveryPoints", []):
            backup.delete_recovery_point(
                BackupVaultName=name, RecoveryPointArn=point["RecoveryPointArn"]
            )


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            encryption_key_arn=dict(type="str", no_log=False),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            purge_recovery_points=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"]
    backup = module.client("backup")
    try:
        current = describe_vault(backup, name)
        current_tags = (
            backup.list_tags(ResourceArn=current["BackupVaultArn"])["Tags"] if current else {}
        )
    except (BotoCoreError, ClientError) as err:
        module.fail_json_aws(err, msg=f"Could not describe backup vault {name}")
    before = _view(current, current_tags)

    if p["state"] == "absent":
        if current is None:
            module.exit_json(changed=False, vault={}, diff={"before": {}, "after": {}})
        points = current.get("NumberOfRecoveryPoints", 0)
        if points and not p["purge_recovery_points"]:
            module.fail_json(
                msg=f"Backup vault {name} holds {points} recovery point(s); AWS deletes only"
                " empty vaults. Set purge_recovery_points to delete them (teardown only).",
                vault=before,
            )
        if not module.check_mode:
            try:
                if points:
                    _delete_recovery_points(backup, name)
                backup.delete_backup_vault(BackupVaultName=name)
            except (BotoCoreError, ClientError) as err:
                module.fail_json_aws(err, msg=f"Could not delete backup vault {name}")
        module.exit_json(changed=True, vault={}, diff={"before": before, "after": {}})

    desired_tags = p["tags"] if p["tags"] is not None else user_tags(current_tags)
    if current is None:
        if not p["encryption_key_arn"]:
            module.fail_json(msg=f"encryption_key_arn is required to create backup vault {name}")
        after = {
            "name": name,
            "arn": "",
            "encryption_key_arn": p["encryption_key_arn"],
            "recovery_points": 0,
            "tags": desired_tags,
        }
        if not module.check_mode:
            try:
                kwargs = dict(BackupVaultName=name, EncryptionKeyArn=p["encryption_key_arn"])
                if desired_tags:
                    kwargs["BackupVaultTags"] = desired_tags
                backup.create_backup_vault(**kwargs)
                created = describe_vault(backup, name)
                after = _view(created, desired_tags)
            except (BotoCoreError, ClientError) as err:
                module.fail_json_aws(err, msg=f"Could not create backup vault {name}")
        module.exit_json(changed=True, vault=after, diff={"before": {}, "after": after})

    if p["encryption_key_arn"] and current.get("EncryptionKeyArn") != p["encryption_key_arn"]:
        module.fail_json(
            msg=f"Backup vault {name} is encrypted with {current.get('EncryptionKeyArn')}, not"
            f" {p['encryption_key_arn']}. A vault's key cannot change: create a vault under a"
            " new name with the new key and move the plan to it.",
            vault=before,
        )
    to_set, to_remove = tag_changes(current_tags, desired_tags, p["purge_tags"])
    if not to_set and not to_remove:
        module.exit_json(changed=False, vault=before, diff={"before": before, "after": before})
    kept = {k: v for k, v in before["tags"].items() if k not in to_remove}
    after = dict(before, tags={**kept, **to_set})
    if not module.check_mode:
        try:
            if to_remove:
                backup.untag_resource(ResourceArn=current["BackupVaultArn"], TagKeyList=to_remove)
            if to_set:
                backup.tag_resource(ResourceArn=current["BackupVaultArn"], Tags=to_set)
        except (BotoCoreError, ClientError) as err:
            module.fail_json_aws(err, msg=f"Could not tag backup vault {name}")
    module.exit_json(changed=True, vault=after, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
