#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_elb_attributes
short_description: Set attributes of an Elastic Load Balancing v2 load balancer
version_added: "0.2.0"
description:
  - Describe-first; sets only the attributes given (access logs, deletion protection, idle
    timeout, header handling, WAF fail-open ...) that differ, in one
    ModifyLoadBalancerAttributes call, and leaves the others alone.
  - amazon.aws.elb_application_lb compares its attribute options by reading keys a new load
    balancer may not answer (moto omits C(access_logs.s3.enabled) and
    C(idle_timeout.timeout_seconds) until they are set, and the module fails with
    C('access_logs_s3_enabled')); this module treats a key AWS does not answer as one to set.
author:
  - tradeops engineers (@tradeops)
options:
  load_balancer_arn:
    description: ARN of the load balancer.
    type: str
    required: true
  attributes:
    description:
      - The attributes to set, by their AWS keys (C(access_logs.s3.enabled),
        C(routing.http.drop_invalid_header_fields.enabled), ...). Values are sent as strings
        (C(true)/C(false) for booleans).
    type: dict
    required: true
extends_documentation_fragment:
  - tradeops.platform.aws
"""

EXAMPLES = r"""
- name: Access logs to the logs bucket, invalid headers dropped
  tradeops.platform.aws_elb_attributes:
    load_balancer_arn: "{{ alb.load_balancer_arn }}"
    attributes:
      access_logs.s3.enabled: "true"
      access_logs.s3.bucket: tradeops-lab-123456789012-logs
      access_logs.s3.prefix: alb
      routing.http.drop_invalid_header_fields.enabled: "true"
"""

RETURN = r"""
attributes:
  description: The load balancer's attributes after the call (all keys AWS answers).
  returned: always
  type: dict
  sample: {"access_logs.s3.enabled": "true", "deletion_protection.enabled": "true"}
changed_attributes:
  description: The keys that were (or in check mode would be) set, with their new values.
  returned: always
  type: dict
  sample: {"idle_timeout.timeout_seconds": "300"}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402


def as_value(value):
    """The string AWS stores for an attribute value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            load_balancer_arn=dict(type="str", required=True),
            attributes=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    arn = module.params["load_balancer_arn"]
    want = {key: as_value(value) for key, value in module.params["attributes"].items()}
    elbv2 = module.client("elbv2")
    try:
        answer = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not describe the attributes of {arn}")
    got = {a["Key"]: a.get("Value") for a in answer}
    change = {key: value for key, value in want.items() if got.get(key) != value}
    if change and not module.check_mode:
        try:
            answer = elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=arn,
                Attributes=[{"Key": k, "Value": v} for k, v in sorted(change.items())],
            )["Attributes"]
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not set the attributes of {arn}")
        got.update({a["Key"]: a.get("Value") for a in answer})
    module.exit_json(changed=bool(change), attributes=got, changed_attributes=change)


if __name__ == "__main__":
    main()
