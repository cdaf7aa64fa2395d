#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: eks_nodegroup_scaling
short_description: Raise an EKS managed node group's minimum size (DR scale-up)
version_added: "0.2.0"
description:
  - Makes an existing managed node group hold at least O(min_size) nodes by raising its
    C(minSize) (and C(desiredSize) only as far as the new minimum needs, since EKS refuses a
    desired size below the minimum). The cluster autoscaler owns C(desiredSize) above that.
  - Never lowers a size; a group already at or above O(min_size) is left alone
    (C(changed=false)). The group's C(maxSize) is never raised; a group whose maximum is below
    O(min_size) is an error (raise its maximum in the inventory and converge first).
  - Used by the DR runbooks to scale the standby region's warm footprint at takeover.
author:
  - tradeops engineers (@tradeops)
options:
  cluster_name:
    description: The EKS cluster.
    type: str
    required: true
  name:
    description: The managed node group.
    type: str
    required: true
  min_size:
    description: The smallest number of nodes the group must keep.
    type: int
    required: true
  wait_timeout:
    description:
      - Seconds to wait for the group to be C(ACTIVE) again after the update.
    type: int
    default: 900
extends_documentation_fragment:
  - tradeops.platform.aws
  - tradeops.platform.wait
"""

EXAMPLES = r"""
- name: The DR general node group keeps at least 3 nodes
  tradeops.platform.eks_nodegroup_scaling:
    region: us-west-2
    cluster_name: tradeops-prod-dr
    name: general
    min_size: 3
"""

RETURN = r"""
before:
  description: The group's scaling configuration before (minSize, maxSize, desiredSize).
  returned: always
  type: dict
after:
  description: The scaling configuration asked for (the same as before when unchanged).
  returned: always
  type: dict
"""

import time  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402


def plan(scaling, min_size):
    """The new scaling config, or None when the group already keeps min_size nodes."""
    if scaling.get("maxSize", 0) < min_size:
        raise ValueError(
            f"maxSize {scaling.get('maxSize')} is below the wanted minimum {min_size}: raise the "
            "group's maximum in the inventory and converge site.yml first"
        )
    if scaling.get("minSize", 0) >= min_size:
        return None
    return {
        "minSize": min_size,
        "maxSize": scaling["maxSize"],
        "desiredSize": max(scaling.get("desiredSize", 0), min_size),
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster_name=dict(type="str", required=True),
            name=dict(type="str", required=True),
            min_size=dict(type="int", required=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=900),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = module.client("eks")
    try:
        group = client.describe_nodegroup(clusterName=p["cluster_name"], nodegroupName=p["name"])
        scaling = group["nodegroup"].get("scalingConfig") or {}
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not describe node group {p['name']}")
    try:
        wanted = plan(scaling, p["min_size"])
    except ValueError as err:
        module.fail_json(msg=f"node group {p['name']}: {err}", before=scaling)
    if wanted is None:
        module.exit_json(changed=False, before=scaling, after=scaling)
    if module.check_mode:
        module.exit_json(changed=True, before=scaling, after=wanted)
    try:
        client.update_nodegroup_config(
            clusterName=p["cluster_name"], nodegroupName=p["name"], scalingConfig=wanted
        )
        deadline = time.monotonic() + p["wait_timeout"]
        while p["wait"]:
            status = client.describe_nodegroup(
                clusterName=p["cluster_name"], nodegroupName=p["name"]
            )
            if status["nodegroup"].get("status") == "ACTIVE":
                break
            if time.monotonic() > deadline:
                module.fail_json(
                    msg=f"node group {p['name']} not ACTIVE after {p['wait_timeout']} s"
                )
            time.sleep(5)
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not scale node group {p['name']}")
    module.exit_json(changed=True, before=scaling, after=wanted)


if __name__ == "__main__":
    main()
