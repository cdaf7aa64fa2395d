#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_wafv2_logging
short_description: Send a WAFv2 web ACL's logs to a destination, with headers redacted
version_added: "0.2.0"
description:
  - Neither amazon.aws nor community.aws manages a web ACL's logging configuration. This
    module does, describe-first (GetLoggingConfiguration); a converged configuration costs
    one read call.
  - The resource it manages is the logging configuration - with I(state=present) the web
    ACL logs to I(destination_arn), with I(state=absent) it does not log.
  - The destination is a CloudWatch Logs group, an S3 bucket or a Data Firehose stream whose
    name starts with C(aws-waf-logs-) (AWS refuses others).
author:
  - tradeops engineers (@tradeops)
options:
  web_acl_arn:
    description: ARN of the web ACL.
    type: str
    required: true
  destination_arn:
    description:
      - ARN of the log destination (a CloudWatch Logs group without the trailing C(:*)).
        Required with I(state=present).
    type: str
  redacted_headers:
    description: Request headers whose values never reach the logs (API keys, session cookies).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The web ACL's logs to CloudWatch Logs, credentials redacted
  tradeops.platform.aws_wafv2_logging:
    web_acl_arn: "{{ acl.arn }}"
    destination_arn: "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-tradeops-lab"
    redacted_headers: [authorization, cookie]
"""

RETURN = r"""
logging_configuration:
  description: The logging configuration after the call (absent when there is none).
  returned: when it exists
  type: dict
  sample: {"ResourceArn": "arn:aws:wafv2:...", "LogDestinationConfigs": ["arn:aws:logs:..."]}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_edge import (  # noqa: E402
    error_code,
    logging_differences,
    redacted_fields,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import (  # noqa: E402
    delete_if_exists,
)

MISSING = ("WAFNonexistentItemException",)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            web_acl_arn=dict(type="str", required=True),
            destination_arn=dict(type="str"),
            redacted_headers=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["destination_arn"])],
        supports_check_mode=True,
    )
    p = module.params
    wafv2 = module.client("wafv2")
    try:
        current = wafv2.get_logging_configuration(ResourceArn=p["web_acl_arn"])[
            "LoggingConfiguration"
        ]
    except Exception as err:
        if error_code(err) not in MISSING:
            module.fail_json_aws(err, msg=f"Could not read the logging of {p['web_acl_arn']}")
        current = None
    if p["state"] == "absent":
        delete_if_exists(
            module,
            current is not None,
            lambda: wafv2.delete_logging_configuration(ResourceArn=p["web_acl_arn"]),
            f"Could not stop the logging of {p['web_acl_arn']}",
        )
    want = {"destination": p["destination_arn"], "redacted_headers": p["redacted_headers"]}
    if current is not None and not logging_differences(current, want):
        module.exit_json(changed=False, logging_configuration=current)
    config = {
        "ResourceArn": p["web_acl_arn"],
        "LogDestinationConfigs": [p["destination_arn"]],
    }
    if p["redacted_headers"]:
        config["RedactedFields"] = redacted_fields(p["redacted_headers"])
    if not module.check_mode:
        try:
            config = wafv2.put_logging_configuration(LoggingConfiguration=config)[
                "LoggingConfiguration"
            ]
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not set the logging of {p['web_acl_arn']}")
    module.exit_json(changed=True, logging_configuration=config)


if __name__ == "__main__":
    main()
