#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_eks_cluster
short_description: Manage an EKS cluster (endpoint access, control-plane logs, secrets key)
version_added: "0.1.0"
description:
  - community.aws.eks_cluster has no option for the API endpoint's private/public access,
    for control-plane logging or for envelope encryption of secrets, and cannot upgrade.
    This module manages one cluster, describe-first; a converged cluster costs one read call.
  - An existing cluster is brought to the desired state with the EKS update calls, one at a
    time as EKS requires - UpdateClusterVersion (one minor version per run, never down),
    UpdateClusterConfig for the endpoint and for logging, AssociateEncryptionConfig when the
    cluster has no secrets key yet. Subnets, security groups, the role and a secrets key
    already set cannot change in place; the module fails and says so.
author:
  - tradeops engineers (@tradeops)
options:
  name:
    description: Name of the cluster.
    type: str
    required: true
  version:
    description: Kubernetes version C(major.minor), e.g. C(1.35). Required for I(state=present).
    type: str
  role_arn:
    description: ARN of the cluster's IAM role. Required for I(state=present).
    type: str
  subnet_ids:
    description: Subnets of the control plane's network interfaces (at least two zones).
    type: list
    elements: str
    default: []
  security_group_ids:
    description: Additional security groups of the control plane's network interfaces.
    type: list
    elements: str
    default: []
  endpoint_private_access:
    description: Whether the API server is reachable from inside the VPC.
    type: bool
    default: true
  endpoint_public_access:
    description: Whether the API server is reachable from the internet (see I(public_access_cidrs)).
    type: bool
    default: false
  public_access_cidrs:
    description: CIDRs allowed to the public endpoint (only with I(endpoint_public_access=true)).
    type: list
    elements: str
    default: []
  logging_types:
    description: Control-plane log types sent to CloudWatch Logs; the others are switched off.
    type: list
    elements: str
    choices: [api, audit, authenticator, controllerManager, scheduler]
    default: [api, audit, authenticator, controllerManager, scheduler]
  secrets_kms_key_arn:
    description: KMS key ARN for envelope encryption of Kubernetes secrets; empty for none.
    type: str
    default: ""
  wait_timeout:
    description:
      - Seconds to wait for the cluster to be C(ACTIVE) (or deleted) after a change.
    type: int
    default: 1800
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
  - tradeops.platform.wait
"""

EXAMPLES = r"""
- name: Private EKS cluster with every control-plane log
  tradeops.platform.aws_eks_cluster:
    name: tradeops-production
    version: "1.35"
    role_arn: "{{ eks_cluster_role_arn }}"
    subnet_ids: "{{ private_subnet_ids }}"
    endpoint_private_access: true
    endpoint_public_access: false
    secrets_kms_key_arn: "{{ data_key_arn }}"
    tags:
      Environment: production
"""

RETURN = r"""
cluster:
  description: The cluster as EKS describes it (snake_case), after any change; empty when absent.
  returned: always
  type: dict
  sample: {"name": "tradeops-lab", "version": "1.35", "status": "ACTIVE"}
changes:
  description: What was (or, in check mode, would be) changed, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["Kubernetes 1.34 -> 1.35"]
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks import (  # noqa: E402
    LOG_TYPES,
    cluster_differences,
    endpoint_payload,
    logging_payload,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import converge_arn_tags  # noqa: E402


def describe(client, name):
    try:
        return client.describe_cluster(name=name)["cluster"]
    except client.exceptions.ResourceNotFoundException:
        return None


def wait_for(module, client, name, deleted=False):
    if not module.params["wait"]:
        return
    delay = 10
    attempts = max(1, module.params["wait_timeout"] // delay)
    waiter = client.get_waiter("cluster_deleted" if deleted else "cluster_active")
    waiter.wait(name=name, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})


def output(cluster):
    if not cluster:
        return {}
    tags = cluster.get("tags") or {}
    out = camel_dict_to_snake_dict(dict(cluster, tags={}))
    out["tags"] = tags
    out.pop("certificate_authority", None)
    return out


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            version=dict(type="str"),
            role_arn=dict(type="str"),
            subnet_ids=dict(type="list", elements="str", default=[]),
            security_group_ids=dict(type="list", elements="str", default=[]),
            endpoint_private_access=dict(type="bool", default=True),
            endpoint_public_access=dict(type="bool", default=False),
            public_access_cidrs=dict(type="list", elements="str", default=[]),
            logging_types=dict(
                type="list", elements="str", choices=list(LOG_TYPES), default=list(LOG_TYPES)
            ),
            secrets_kms_key_arn=dict(type="str", default="", no_log=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1800),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["version", "role_arn", "subnet_ids"])],
        supports_check_mode=True,
    )
    p = module.params
    client = module.client("eks")
    changes = []
    try:
        current = describe(client, p["name"])
        if p["state"] == "absent":
            if current:
                changes.append(f"delete cluster {p['name']}")
                if not module.check_mode:
                    client.delete_cluster(name=p["name"])
                    wait_for(module, client, p["name"], deleted=True)
            module.exit_json(changed=bool(changes), changes=changes, cluster={})

        if current is None:
            changes.append(f"create cluster {p['name']} (Kubernetes {p['version']})")
            if module.check_mode:
                module.exit_json(changed=True, changes=changes, cluster={})
            kwargs = dict(
                name=p["name"],
                version=p["version"],
                roleArn=p["role_arn"],
                resourcesVpcConfig=dict(
                    subnetIds=p["subnet_ids"],
                    securityGroupIds=p["security_group_ids"],
                    **endpoint_payload(p),
                ),
                logging=logging_payload(p["logging_types"]),
                tags=p["tags"] or {},
            )
            if p["secrets_kms_key_arn"]:
                kwargs["encryptionConfig"] = [
                    {"resources": ["secrets"], "provider": {"keyArn": p["secrets_kms_key_arn"]}}
                ]
            client.create_cluster(**kwargs)
            wait_for(module, client, p["name"])
            module.exit_json(
                changed=True, changes=changes, cluster=output(describe(client, p["name"]))
            )

        differences = cluster_differences(current, p)
        immutable = [m for kind, m in differences if kind == "immutable"]
        if immutable:
            module.fail_json(
                msg=f"EKS cluster {p['name']} cannot be changed in place: " + "; ".join(immutable),
                cluster=output(current),
            )
        # EKS runs one update at a time: each call waits for the cluster to be ACTIVE again.
        for kind, message in differences:
            changes.append(message)
            if module.check_mode:
                continue
            if kind == "version":
                client.update_cluster_version(name=p["name"], version=p["version"])
            elif kind == "endpoint":
                client.update_cluster_config(name=p["name"], resourcesVpcConfig=endpoint_payload(p))
            elif kind == "logging":
                client.update_cluster_config(
                    name=p["name"], logging=logging_payload(p["logging_types"])
                )
            elif kind == "encryption":
                client.associate_encryption_config(
                    clusterName=p["name"],
                    encryptionConfig=[
                        {"resources": ["secrets"], "provider": {"keyArn": p["secrets_kms_key_arn"]}}
                    ],
                )
            wait_for(module, client, p["name"])

        tagged = converge_arn_tags(module, client, current["arn"], current.get("tags"))
        if tagged:
            changes.append(tagged)
        if changes and not module.check_mode:
            current = describe(client, p["name"])
    except Exception as err:  # botocore ClientError / WaiterError
        module.fail_json_aws(err, msg=f"Could not converge EKS cluster {p['name']}")
    module.exit_json(changed=bool(changes), changes=changes, cluster=output(current))


if __name__ == "__main__":
    main()
