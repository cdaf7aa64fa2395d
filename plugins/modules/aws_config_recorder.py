#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_config_recorder
short_description: Manage the AWS Config configuration recorder of a region, and whether it records
version_added: "0.1.0"
description:
  - Describe-first; a converged recorder costs two read calls and no write.
  - community.aws.config_recorder cannot start or stop recording, has no check mode, and
    compares what it sends with AWS's whole answer (which adds the recording strategy,
    exclusions and mode), so it writes the recorder again on every run. This module compares
    the settings it manages only (the role, all supported types, global resource types).
  - AWS allows one recorder per region and account; when the region already has a recorder
    of another name the module fails and names it, instead of replacing it.
  - Starting the recorder needs a delivery channel (community.aws.config_delivery_channel),
    so create the recorder, then the channel, then call this module again with
    I(recording=true). I(state=absent) stops the recorder and deletes it.
author:
  - tradeops engineers (@tradeops)
options:
  name:
    description: The recorder's name.
    type: str
    required: true
  role_arn:
    description:
      - The IAM role AWS Config reads resource configurations with.
      - Required for I(state=present).
    type: str
  all_supported:
    description: Record every resource type AWS Config supports in the region.
    type: bool
    default: true
  include_global_resource_types:
    description:
      - Record global resource types (IAM users, groups, roles, policies) as well.
      - Set it in one region only, or every region records the same global resources.
    type: bool
    default: false
  recording:
    description:
      - C(true) starts the recorder, C(false) stops it; unset leaves it as it is.
      - Starting fails unless the region has a delivery channel.
    type: bool
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The recorder (all resource types; IAM in this region)
  tradeops.platform.aws_config_recorder:
    name: tradeops-lab
    role_arn: arn:aws:iam::123456789012:role/tradeops-lab-config
    include_global_resource_types: true

- name: Recording, once the delivery channel exists
  tradeops.platform.aws_config_recorder:
    name: tradeops-lab
    role_arn: arn:aws:iam::123456789012:role/tradeops-lab-config
    include_global_resource_types: true
    recording: true

- name: Stop and delete it
  tradeops.platform.aws_config_recorder:
    name: tradeops-lab
    state: absent
"""

RETURN = r"""
recorder:
  description:
    - The recorder as AWS describes it.
    - Absent when deleted or, in check mode, not created yet.
  returned: when it exists
  type: dict
  sample: {"name": "tradeops-lab", "roleARN": "arn:aws:iam::123456789012:role/tradeops-lab-config",
           "recordingGroup": {"allSupported": true, "includeGlobalResourceTypes": true}}
recording:
  description: Whether the recorder records after the module ran.
  returned: always
  type: bool
  sample: true
differences:
  description: What differed from the options before the module ran.
  returned: always
  type: list
  elements: str
  sample: ["configuration recorder tradeops-lab: includeGlobalResourceTypes is False, want True"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import (  # noqa: E402
    describe_recorders,
    recorder_differences,
    recorder_payload,
    recording,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import (  # noqa: E402
    delete_if_exists,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            role_arn=dict(type="str"),
            all_supported=dict(type="bool", default=True),
            include_global_resource_types=dict(type="bool", default=False),
            recording=dict(type="bool"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["role_arn"])],
        supports_check_mode=True,
    )
    p = module.params
    config = module.client("config")
    try:
        recorders = describe_recorders(config)
        current = next((r for r in recorders if r.get("name") == p["name"]), None)
        is_recording = recording(config, p["name"]) if current else False
    except Exception as err:
        module.fail_json_aws(err, msg="Could not describe the configuration recorders")

    if p["state"] == "absent":

        def delete():
            if is_recording:
                config.stop_configuration_recorder(ConfigurationRecorderName=p["name"])
            config.delete_configuration_recorder(ConfigurationRecorderName=p["name"])

        delete_if_exists(
            module,
            current is not None,
            delete,
            f"Could not delete the recorder {p['name']}",
            recording=False,
            differences=[],
        )

    if current is None and recorders:
        module.fail_json(
            msg=(
                f"The region already has the configuration recorder {recorders[0].get('name')}"
                " and AWS allows one per region and account (an organization's recorder?):"
                " leave AWS Config to it, or remove it first"
            )
        )
    want = recorder_payload(
        p["name"], p["role_arn"], p["all_supported"], p["include_global_resource_types"]
    )
    differences = recorder_differences(want, current)
    changed = bool(differences)
    try:
        if differences and not module.check_mode:
            config.put_configuration_recorder(ConfigurationRecorder=want)
        if p["recording"] is not None and p["recording"] != is_recording:
            differences.append(
                f"configuration recorder {p['name']} is "
                + ("not recording" if p["recording"] else "recording")
            )
            changed = True
            if not module.check_mode:
                if p["recording"]:
                    config.start_configuration_recorder(ConfigurationRecorderName=p["name"])
                else:
                    config.stop_configuration_recorder(ConfigurationRecorderName=p["name"])
            is_recording = p["recording"]
        after = current
        if changed and not module.check_mode:
            after = next(
                (r for r in describe_recorders(config) if r.get("name") == p["name"]), None
            )
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not converge the recorder {p['name']}")
    result = dict(changed=changed, recording=is_recording, differences=differences)
    if after is not None:
        result["recorder"] = after
    module.exit_json(**result)


if __name__ == "__main__":
    main()
