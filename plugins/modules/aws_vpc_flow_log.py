#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_vpc_flow_log
short_description: Manage the VPC flow log of a VPC delivered to CloudWatch Logs
version_added: "0.1.0"
description:
  - Neither amazon.aws nor community.aws has a flow-log module. This one manages one flow
    log per (VPC, log group), describe-first; a converged flow log costs one read call.
  - A flow log cannot be modified in place; a different traffic type or delivery role
    replaces it (delete, then create).
author:
  - tradeops engineers (@tradeops)
options:
  vpc_id:
    description: The VPC whose traffic is logged.
    type: str
    required: true
  log_group_name:
    description:
      - CloudWatch Logs group the records go to.
      - Create it with amazon.aws.cloudwatchlogs_log_group.
    type: str
    required: true
  deliver_logs_permission_arn:
    description:
      - ARN of the IAM role that lets the flow-log service write to the group.
      - Required for I(state=present).
    type: str
  traffic_type:
    description: Which traffic to log.
    type: str
    default: ALL
    choices: [ACCEPT, REJECT, ALL]
  max_aggregation_interval:
    description: Seconds over which packets are aggregated into one record.
    type: int
    default: 600
    choices: [60, 600]
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: Log all VPC traffic to CloudWatch Logs
  tradeops.platform.aws_vpc_flow_log:
    vpc_id: "{{ vpc_id }}"
    log_group_name: /tradeops/lab/vpc-flow-logs
    deliver_logs_permission_arn: "{{ flow_log_role_arn }}"
    traffic_type: ALL
    tags:
      Environment: lab
"""

RETURN = r"""
flow_log_id:
  description: Id of the flow log (absent when I(state=absent) or, in check mode, not yet created).
  returned: when it exists
  type: str
  sample: fl-0123456789abcdef0
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import converge_tags  # noqa: E402


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            log_group_name=dict(type="str", required=True),
            deliver_logs_permission_arn=dict(type="str"),
            traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
            max_aggregation_interval=dict(type="int", default=600, choices=[60, 600]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["deliver_logs_permission_arn"])],
        supports_check_mode=True,
    )
    p = module.params
    ec2 = module.client("ec2")
    try:
        found = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [p["vpc_id"]]}])[
            "FlowLogs"
        ]
    except Exception as err:
        module.fail_json_aws(err, msg="Could not describe flow logs")
    found = [f for f in found if f.get("LogGroupName") == p["log_group_name"]]
    changed = False

    def delete(ids):
        if not module.check_mode:
            ec2.delete_flow_logs(FlowLogIds=ids)

    if p["state"] == "absent":
        if found:
            delete([f["FlowLogId"] for f in found])
            changed = True
        module.exit_json(changed=changed)

    current = found[0] if found else None
    if current and (
        current.get("TrafficType") != p["traffic_type"]
        or current.get("DeliverLogsPermissionArn") != p["deliver_logs_permission_arn"]
    ):
        delete([current["FlowLogId"]])
        current = None
        changed = True
    try:
        if current is None:
            changed = True
            if module.check_mode:
                module.exit_json(changed=True)
            created = ec2.create_flow_logs(
                ResourceIds=[p["vpc_id"]],
                ResourceType="VPC",
                TrafficType=p["traffic_type"],
                LogDestinationType="cloud-watch-logs",
                LogGroupName=p["log_group_name"],
                DeliverLogsPermissionArn=p["deliver_logs_permission_arn"],
                MaxAggregationInterval=p["max_aggregation_interval"],
                TagSpecifications=[
                    {
                        "ResourceType": "vpc-flow-log",
                        "Tags": ansible_dict_to_boto3_tag_list(p["tags"] or {}),
                    }
                ],
            )
            if created.get("Unsuccessful"):
                module.fail_json(
                    msg="Could not create the flow log", unsuccessful=created["Unsuccessful"]
                )
            module.exit_json(changed=True, flow_log_id=created["FlowLogIds"][0])
        flow_log_id = current["FlowLogId"]
        if converge_tags(
            module,
            boto3_tag_list_to_ansible_dict(current.get("Tags", [])),
            tag=lambda tags: ec2.create_tags(
                Resources=[flow_log_id], Tags=ansible_dict_to_boto3_tag_list(tags)
            ),
            untag=lambda keys: ec2.delete_tags(
                Resources=[flow_log_id], Tags=[{"Key": k} for k in keys]
            ),
        ):
            changed = True
    except Exception as err:
        module.fail_json_aws(err, msg="Could not converge the flow log")
    module.exit_json(changed=changed, flow_log_id=flow_log_id)


if __name__ == "__main__":
    main()
