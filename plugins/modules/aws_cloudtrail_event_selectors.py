#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_cloudtrail_event_selectors
short_description: Record management events (and no data events) on a CloudTrail trail
version_added: "0.1.0"
description:
  - amazon.aws.cloudtrail creates the trail but does not manage what it records. This
    module sets the trail's event selectors to exactly one basic selector - management
    events of the given I(read_write_type), without the excluded event sources, no data
    events - and replaces whatever else the trail has (advanced selectors, data events).
  - Describe-first; a converged trail costs one read call. In check mode, a trail that does
    not exist yet is reported as changed (its selectors would be set).
author:
  - tradeops engineers (@tradeops)
options:
  trail_name:
    description: The trail's name or ARN (from its home region).
    type: str
    required: true
  read_write_type:
    description: Which management events - C(All), C(ReadOnly) or C(WriteOnly).
    type: str
    default: All
    choices: [All, ReadOnly, WriteOnly]
  exclude_management_event_sources:
    description: Event sources left out (C(kms.amazonaws.com), C(rdsdata.amazonaws.com)).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: Record every management event of the trail
  tradeops.platform.aws_cloudtrail_event_selectors:
    trail_name: tradeops-lab
    read_write_type: All
"""

RETURN = r"""
event_selectors:
  description: The trail's event selectors after the module ran.
  returned: always
  type: list
  elements: dict
  sample: [{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [],
            "ExcludeManagementEventSources": []}]
differences:
  description: What differed before the module ran.
  returned: always
  type: list
  elements: str
  sample: ["records no event selectors (no management events)"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import (  # noqa: E402
    error_code,
    management_selector,
    selector_differences,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            trail_name=dict(type="str", required=True),
            read_write_type=dict(
                type="str", default="All", choices=["All", "ReadOnly", "WriteOnly"]
            ),
            exclude_management_event_sources=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = module.client("cloudtrail")
    want = management_selector(p["read_write_type"], p["exclude_management_event_sources"])
    try:
        answer = client.get_event_selectors(TrailName=p["trail_name"])
    except Exception as err:
        if module.check_mode and error_code(err) == "TrailNotFoundException":
            # --check before the trail exists (its task was only reported): it would be set.
            module.exit_json(
                changed=True, event_selectors=[want], differences=["the trail does not exist yet"]
            )
        module.fail_json_aws(err, msg=f"Could not read the event selectors of {p['trail_name']}")
    differences = selector_differences(want, answer)
    if differences and not module.check_mode:
        try:
            client.put_event_selectors(TrailName=p["trail_name"], EventSelectors=[want])
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not set the event selectors of {p['trail_name']}")
    selectors = [want] if differences else answer.get("EventSelectors", [])
    module.exit_json(changed=bool(differences), event_selectors=selectors, differences=differences)


if __name__ == "__main__":
    main()
