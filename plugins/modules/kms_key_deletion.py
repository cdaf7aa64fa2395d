#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_key_deletion
short_description: Schedule the deletion of a KMS key by its key id
version_added: "0.1.0"
description:
  - Schedules the deletion of one customer-managed KMS key, after a pending window in
    which the deletion can still be cancelled. A key already pending deletion is left as
    it is (no change).
  - amazon.aws.kms_key (state=absent) does the same but always passes the key ARN, which
    the lab's moto answers with an internal error; this module passes the key id, which
    AWS accepts as well.
author:
  - tradeops engineers (@tradeops)
options:
  key_id:
    description: The key id (not an alias, not an ARN).
    type: str
    required: true
  pending_window:
    description: Days before the key is deleted (7 to 30).
    type: int
    default: 30
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: Schedule the data key's deletion in a week
  tradeops.platform.kms_key_deletion:
    key_id: 1c2b60e5-323a-400c-818b-4b2855ed87f1
    region: us-west-2
    pending_window: 7
"""

RETURN = r"""
key_state:
  description: The key's state after the call (C(PendingDeletion) unless in check mode).
  returned: always
  type: str
  sample: PendingDeletion
"""

import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "key_id": {"type": "str", "required": True},
            "pending_window": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    key_id = module.params["key_id"]
    window = module.params["pending_window"]
    if not 7 <= window <= 30:
        module.fail_json(msg=f"pending_window must be 7 to 30 days, got {window}")
    kms = module.client("kms")
    try:
        state = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NotFoundException":
            module.exit_json(changed=False, key_state="absent")
        module.fail_json_aws(err, msg=f"Could not describe KMS key {key_id}")
    except BotoCoreError as err:
        module.fail_json_aws(err, msg=f"Could not describe KMS key {key_id}")
    if state in ("PendingDeletion", "PendingReplicaDeletion"):
        module.exit_json(changed=False, key_state=state)
    if not module.check_mode:
        try:
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=window)
        except (BotoCoreError, ClientError) as err:
            module.fail_json_aws(err, msg=f"Could not schedule the deletion of KMS key {key_id}")
        state = "PendingDeletion"
    module.exit_json(changed=True, key_state=state)


if __name__ == "__main__":
    main()
