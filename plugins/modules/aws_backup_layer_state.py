#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_backup_layer_state
short_description: Describe the tradeops AWS Backup layer in one call and compare it with its spec
version_added: "0.1.0"
description:
  - Read-only. Describes the backup layer (the vaults in the primary and DR regions, the
    backup plan with its rules and copy actions, the tag-based resource selection) and
    compares it with the desired I(spec); returns the differences and the layer's outputs.
  - The same contract as M(tradeops.platform.aws_layer_state) for the other layers. The
    aws_backup role calls it before its tasks, to skip a converged layer without a single
    mutating call, and after them, to verify and publish outputs.
  - With C(spec.selection.enabled=false) the selection is neither read nor compared (the
    lab's stock moto has no backup selection API); the outputs say C(managed=false).
  - Never changes anything; C(changed) is always false. Runs the same in check mode.
author:
  - tradeops engineers (@tradeops)
options:
  spec:
    description:
      - The desired state of the layer, as built by the aws_backup role from its variables
        (roles/aws_backup/vars/main.yml).
    type: dict
    required: true
  outputs_path:
    description:
      - When set and the layer is converged, write I(outputs) there as JSON (rewritten only
        when its content changes). Nothing is written in check mode.
    type: path
  fail_on_difference:
    description: Fail, listing the differences, when the layer is not converged (verify).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Is the backup layer converged?
  tradeops.platform.aws_backup_layer_state:
    spec: "{{ __aws_backup_spec }}"
    outputs_path: "{{ aws_outputs_dir }}/backup.json"
  register: __aws_backup_before
"""

RETURN = r"""
converged:
  description: True when the layer matches its spec.
  returned: always
  type: bool
  sample: true
differences:
  description: What differs from the spec, one sentence each; empty when converged.
  returned: always
  type: list
  elements: str
  sample: ["backup vault tradeops-lab-dr (us-west-2) does not exist"]
outputs:
  description: Vaults (name, ARN, region, key), the plan (name, id, ARN, version) and the selection.
  returned: always
  type: dict
  sample:
    vaults:
      primary:
        name: tradeops-lab
        arn: arn:aws:backup:us-east-1:123456789012:backup-vault:tradeops-lab
        region: us-east-1
        key_arn: arn:aws:kms:us-east-1:123456789012:key/1c2b60e5-323a-400c-818b-4b2855ed87f1
    plan: {name: tradeops-lab, id: 8a7e1d2c-0000-4000-8000-000000000000}
    selection: {name: tradeops-lab-tagged, managed: false}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import (  # noqa: E402
    backup_state,
    write_outputs,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            spec=dict(type="dict", required=True),
            outputs_path=dict(type="path"),
            fail_on_difference=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    cache = {}

    def clients(service, region=None):
        key = (service, region)
        if key not in cache:
            cache[key] = module.client(service, region=region) if region else module.client(service)
        return cache[key]

    try:
        differences, outputs = backup_state(clients, module.params["spec"])
    except Exception as err:
        module.fail_json_aws(err, msg="Could not describe the backup layer")
    result = dict(
        changed=False, converged=not differences, differences=differences, outputs=outputs
    )
    if differences and module.params["fail_on_difference"]:
        module.fail_json(
            msg="The backup layer differs from its spec after converging: "
            + "; ".join(differences),
            **result,
        )
    if not differences and module.params["outputs_path"] and not module.check_mode:
        write_outputs(module.params["outputs_path"], outputs)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
