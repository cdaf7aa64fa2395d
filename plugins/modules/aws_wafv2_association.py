#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_wafv2_association
short_description: Associate a regional WAFv2 web ACL with a resource (an Application Load Balancer)
version_added: "0.2.0"
description:
  - Describe-first through GetWebACLForResource, the resource's side of the association; a
    resource protected by another web ACL is moved to this one (a resource has at most one).
  - The resource it manages is the association - with I(state=present) I(resource_arn) is
    protected by I(web_acl_arn), with I(state=absent) it is protected by no web ACL.
  - community.aws.wafv2_resources reads the web ACL's side (ListResourcesForWebACL), which moto
    does not implement (HTTP 500); both calls are documented AWS APIs, this module needs only
    the one moto answers.
author:
  - tradeops engineers (@tradeops)
options:
  resource_arn:
    description: ARN of the protected resource (a load balancer, an API Gateway stage ...).
    type: str
    required: true
  web_acl_arn:
    description: ARN of the web ACL. Required with I(state=present).
    type: str
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The load balancer behind the web ACL
  tradeops.platform.aws_wafv2_association:
    resource_arn: "{{ alb.load_balancer_arn }}"
    web_acl_arn: "{{ acl.arn }}"
"""

RETURN = r"""
web_acl_arn:
  description: The web ACL protecting the resource after the call (empty when none).
  returned: always
  type: str
  sample: arn:aws:wafv2:us-east-1:123456789012:regional/webacl/tradeops-lab/0a1b2c3d
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resource_arn=dict(type="str", required=True),
            web_acl_arn=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        required_if=[("state", "present", ["web_acl_arn"])],
        supports_check_mode=True,
    )
    p = module.params
    wafv2 = module.client("wafv2")
    try:
        found = wafv2.get_web_acl_for_resource(ResourceArn=p["resource_arn"]).get("WebACL") or {}
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not read the web ACL of {p['resource_arn']}")
    current = found.get("ARN", "")
    want = p["web_acl_arn"] if p["state"] == "present" else ""
    if current == want:
        module.exit_json(changed=False, web_acl_arn=current)
    if not module.check_mode:
        try:
            if want:
                # AssociateWebACL replaces another web ACL's association on AWS.
                wafv2.associate_web_acl(WebACLArn=want, ResourceArn=p["resource_arn"])
            else:
                wafv2.disassociate_web_acl(ResourceArn=p["resource_arn"])
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not change the web ACL of {p['resource_arn']}")
    module.exit_json(changed=True, web_acl_arn=want)


if __name__ == "__main__":
    main()
