#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_eks_nodegroup
short_description: Manage an EKS managed node group; scaling is a change of min/max/desired
version_added: "0.1.0"
description:
  - Manages one managed node group, describe-first; a converged group costs one read call.
  - Scaling (min/max/desired), Kubernetes labels and the rolling-update setting are
    changed in place with one UpdateNodegroupConfig call. Instance types, capacity type,
    AMI type, disk size, subnets and the node role can only change with a new node group;
    the module fails and says so rather than replacing nodes behind the operator's back.
  - Tags come from the node group's own description (not ListTagsForResource), so the
    module reads one resource with one call.
author:
  - tradeops engineers (@tradeops)
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
  name:
    description: Name of the node group.
    type: str
    required: true
  node_role_arn:
    description: ARN of the nodes' IAM role. Required for I(state=present).
    type: str
  subnet_ids:
    description: Subnets the nodes are launched in.
    type: list
    elements: str
    default: []
  instance_types:
    description: EC2 instance types (several help Spot capacity).
    type: list
    elements: str
    default: []
  capacity_type:
    description: On-demand or Spot capacity.
    type: str
    default: ON_DEMAND
    choices: [ON_DEMAND, SPOT]
  ami_type:
    description: EKS AMI type (Amazon Linux 2023 for current Kubernetes versions).
    type: str
    default: AL2023_x86_64_STANDARD
  disk_size:
    description: Root volume size of each node in GiB.
    type: int
    default: 100
  min_size:
    description: Fewest nodes.
    type: int
    default: 1
  max_size:
    description: Most nodes.
    type: int
    default: 1
  desired_size:
    description: Nodes wanted now (between I(min_size) and I(max_size)).
    type: int
    default: 1
  max_unavailable:
    description: Nodes replaced at a time during an update of the group.
    type: int
    default: 1
  labels:
    description: Kubernetes labels of the nodes.
    type: dict
    default: {}
  wait_timeout:
    description:
      - Seconds to wait for the node group to be C(ACTIVE) (or deleted) after a change.
    type: int
    default: 1800
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
  - tradeops.platform.wait
"""

EXAMPLES = r"""
- name: General-purpose node group, scaled by changing the numbers
  tradeops.platform.aws_eks_nodegroup:
    cluster_name: tradeops-production
    name: general
    node_role_arn: "{{ eks_node_role_arn }}"
    subnet_ids: "{{ private_subnet_ids }}"
    instance_types: [t3.xlarge]
    min_size: 3
    max_size: 10
    desired_size: 3
    tags:
      Environment: production
"""

RETURN = r"""
nodegroup:
  description: The node group as EKS describes it (snake_case), after any change; empty if absent.
  returned: always
  type: dict
  sample: {"nodegroup_name": "general", "scaling_config": {"min_size": 3, "desired_size": 3}}
changes:
  description: What was (or, in check mode, would be) changed, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["scaling min/max/desired 3/10/3, want 3/10/5"]
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks import (  # noqa: E402
    nodegroup_differences,
    scaling_errors,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import converge_arn_tags  # noqa: E402


def describe(client, cluster, name):
    try:
        return client.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
    except client.exceptions.ResourceNotFoundException:
        return None


def wait_for(module, client, deleted=False):
    if not module.params["wait"]:
        return
    delay = 10
    attempts = max(1, module.params["wait_timeout"] // delay)
    waiter = client.get_waiter("nodegroup_deleted" if deleted else "nodegroup_active")
    waiter.wait(
        clusterName=module.params["cluster_name"],
        nodegroupName=module.params["name"],
        WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
    )


def output(group):
    if not group:
        return {}
    tags = group.get("tags") or {}
    labels = group.get("labels") or {}
    out = camel_dict_to_snake_dict(dict(group, tags={}, labels={}))
    out.update(tags=tags, labels=labels)
    return out


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster_name=dict(type="str", required=True),
            name=dict(type="str", required=True),
            node_role_arn=dict(type="str"),
            subnet_ids=dict(type="list", elements="str", default=[]),
            instance_types=dict(type="list", elements="str", default=[]),
            capacity_type=dict(type="str", default="ON_DEMAND", choices=["ON_DEMAND", "SPOT"]),
            ami_type=dict(type="str", default="AL2023_x86_64_STANDARD"),
            disk_size=dict(type="int", default=100),
            min_size=dict(type="int", default=1),
            max_size=dict(type="int", default=1),
            desired_size=dict(type="int", default=1),
            max_unavailable=dict(type="int", default=1),
            labels=dict(type="dict", default={}),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1800),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["node_role_arn", "subnet_ids", "instance_types"])],
        supports_check_mode=True,
    )
    p = module.params
    label = f"{p['cluster_name']}/{p['name']}"
    errors = scaling_errors(p["min_size"], p["max_size"], p["desired_size"])
    if p["state"] == "present" and errors:
        module.fail_json(msg=f"node group {label}: " + "; ".join(errors))
    client = module.client("eks")
    changes = []
    try:
        current = describe(client, p["cluster_name"], p["name"])
        if p["state"] == "absent":
            if current:
                changes.append(f"delete node group {label}")
                if not module.check_mode:
                    client.delete_nodegroup(clusterName=p["cluster_name"], nodegroupName=p["name"])
                    wait_for(module, client, deleted=True)
            module.exit_json(changed=bool(changes), changes=changes, nodegroup={})

        if current is None:
            changes.append(f"create node group {label}")
            if module.check_mode:
                module.exit_json(changed=True, changes=changes, nodegroup={})
            client.create_nodegroup(
                clusterName=p["cluster_name"],
                nodegroupName=p["name"],
                nodeRole=p["node_role_arn"],
                subnets=p["subnet_ids"],
                instanceTypes=p["instance_types"],
                capacityType=p["capacity_type"],
                amiType=p["ami_type"],
                diskSize=p["disk_size"],
                scalingConfig={
                    "minSize": p["min_size"],
                    "maxSize": p["max_size"],
                    "desiredSize": p["desired_size"],
                },
                updateConfig={"maxUnavailable": p["max_unavailable"]},
                labels={str(k): str(v) for k, v in p["labels"].items()},
                tags=p["tags"] or {},
            )
            wait_for(module, client)
            current = describe(client, p["cluster_name"], p["name"])

        update, messages, immutable = nodegroup_differences(current, p)
        if immutable:
            module.fail_json(
                msg=f"node group {label} cannot be changed in place (create a new group and "
                "delete this one): " + "; ".join(immutable),
                nodegroup=output(current),
            )
        if update:
            # After a create this only fills in what CreateNodegroup did not keep.
            changes.extend(messages)
            if not module.check_mode:
                client.update_nodegroup_config(
                    clusterName=p["cluster_name"], nodegroupName=p["name"], **update
                )
                wait_for(module, client)
        tagged = converge_arn_tags(module, client, current["nodegroupArn"], current.get("tags"))
        if tagged:
            changes.append(tagged)
        if changes and not module.check_mode:
            current = describe(client, p["cluster_name"], p["name"])
    except Exception as err:  # botocore ClientError / WaiterError
        module.fail_json_aws(err, msg=f"Could not converge node group {label}")
    module.exit_json(changed=bool(changes), changes=changes, nodegroup=output(current))


if __name__ == "__main__":
    main()
