#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_config_rules
short_description: Manage AWS Config managed rules of a region, tagged, in one call
version_added: "0.1.0"
description:
  - Describe-first - one DescribeConfigRules (paged) and a ListTagsForResource per rule; a
    rule is written only when it differs, a tag only when it is missing or different.
  - With I(state=present) the listed rules are created or updated; with I(state=absent)
    they are deleted.
  - AWS managed rules only (owner C(AWS), identifiers such as C(ENCRYPTED_VOLUMES)).
    Rules not listed are left alone (other teams', Security Hub's).
  - community.aws.config_rule has no tags and no check mode, and against moto its first
    create fails (it indexes an empty describe answer).
author:
  - tradeops engineers (@tradeops)
options:
  rules:
    description:
      - The rules. With I(state=absent) only their names are read.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The rule's name.
        type: str
        required: true
      identifier:
        description: The AWS managed rule's identifier (required for I(state=present)).
        type: str
      resource_types:
        description:
          - Resource types that trigger an evaluation (the rule's scope).
          - Empty - every type the rule knows.
        type: list
        elements: str
        default: []
      parameters:
        description: The rule's input parameters (values are sent as strings).
        type: dict
        default: {}
      description:
        description: What the rule checks.
        type: str
        default: ""
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: Encrypted volumes and no SSH from anywhere
  tradeops.platform.aws_config_rules:
    rules:
      - name: encrypted-volumes
        identifier: ENCRYPTED_VOLUMES
        resource_types: ["AWS::EC2::Volume"]
      - name: restricted-ssh
        identifier: INCOMING_SSH_DISABLED
        resource_types: ["AWS::EC2::SecurityGroup"]
    tags:
      Environment: lab

- name: Delete them
  tradeops.platform.aws_config_rules:
    rules: [{name: encrypted-volumes}, {name: restricted-ssh}]
    state: absent
"""

RETURN = r"""
rules:
  description: The ARN of each rule by name (rules created in check mode are absent).
  returned: always
  type: dict
  sample:
    encrypted-volumes: "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abc123"
differences:
  description: What differed before the module ran, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["Config rule restricted-ssh does not exist"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import (  # noqa: E402
    describe_rules,
    rule_differences,
    rule_payload,
)


def _present(module, config, current):
    p = module.params
    differences, arns = [], {}
    for rule in p["rules"]:
        if not rule.get("identifier"):
            module.fail_json(msg=f"rule {rule['name']}: identifier is required (state=present)")
        got = current.get(rule["name"])
        found = rule_differences(rule, got)
        differences.extend(found)
        if found and not module.check_mode:
            kwargs = {"ConfigRule": rule_payload(rule)}
            if got is None and p["tags"]:
                kwargs["Tags"] = ansible_dict_to_boto3_tag_list(p["tags"])
            config.put_config_rule(**kwargs)
        if got is None:
            if not module.check_mode:
                arns[rule["name"]] = describe_rules(config)[rule["name"]]["ConfigRuleArn"]
            continue
        arn = arns[rule["name"]] = got["ConfigRuleArn"]
        if p["tags"] is None:
            continue
        have = boto3_tag_list_to_ansible_dict(
            config.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
        )
        to_set, to_unset = compare_aws_tags(have, p["tags"], p["purge_tags"])
        if to_set or to_unset:
            differences.append(f"Config rule {rule['name']}: tags differ")
            if not module.check_mode:
                if to_unset:
                    config.untag_resource(ResourceArn=arn, TagKeys=to_unset)
                if to_set:
                    config.tag_resource(
                        ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set)
                    )
    return differences, arns


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            rules=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    identifier=dict(type="str"),
                    resource_types=dict(type="list", elements="str", default=[]),
                    parameters=dict(type="dict", default={}),
                    description=dict(type="str", default=""),
                ),
            ),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    config = module.client("config")
    try:
        current = describe_rules(config)
    except Exception as err:
        module.fail_json_aws(err, msg="Could not describe the Config rules")
    try:
        if module.params["state"] == "absent":
            gone = [r["name"] for r in module.params["rules"] if r["name"] in current]
            if not module.check_mode:
                for name in gone:
                    config.delete_config_rule(ConfigRuleName=name)
            module.exit_json(
                changed=bool(gone),
                rules={},
                differences=[f"Config rule {name} exists" for name in gone],
            )
        differences, arns = _present(module, config, current)
    except Exception as err:
        module.fail_json_aws(err, msg="Could not converge the Config rules")
    module.exit_json(changed=bool(differences), rules=arns, differences=differences)


if __name__ == "__main__":
    main()
