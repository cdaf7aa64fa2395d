#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudtrail_trail_deletion
short_description: Delete a CloudTrail trail by its name, from its home region
version_added: "0.1.0"
description:
  - Deletes one trail whose home region is the module's region. A trail that does not
    exist there is no change.
  - amazon.aws.cloudtrail (state=absent) does the same but always passes the trail's ARN,
    which the lab's moto ignores (it deletes by name only, and answers success), and it
    takes the first trail of DescribeTrails' answer for the named one (moto ignores the
    name filter). This module finds the trail by name and deletes it by name, which AWS
    accepts as well.
author:
  - tradeops engineers (@tradeops)
options:
  name:
    description: The trail's name.
    type: str
    required: true
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: Delete the environment's trail
  tradeops.platform.cloudtrail_trail_deletion:
    name: tradeops-lab
"""

RETURN = r"""
trail_arn:
  description: The ARN of the trail deleted (or, in check mode, that would be).
  returned: when the trail existed
  type: str
  sample: arn:aws:cloudtrail:us-east-1:123456789012:trail/tradeops-lab
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import (  # noqa: E402
    find_trail,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(name=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    name = module.params["name"]
    client = module.client("cloudtrail")
    try:
        answer = client.describe_trails(trailNameList=[name], includeShadowTrails=False)
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not describe the trail {name}")
    trail = find_trail(answer.get("trailList"), name, module.region)
    if trail is None:
        module.exit_json(changed=False)
    if not module.check_mode:
        try:
            client.delete_trail(Name=name)
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not delete the trail {name}")
    module.exit_json(changed=True, trail_arn=trail["TrailARN"])


if __name__ == "__main__":
    main()
