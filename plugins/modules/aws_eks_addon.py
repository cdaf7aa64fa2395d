#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_eks_addon
short_description: Manage an EKS managed add-on (vpc-cni, coredns, kube-proxy, EBS CSI driver ...)
version_added: "0.1.0"
description:
  - Neither amazon.aws nor community.aws manages EKS add-ons. This module manages one
    add-on of one cluster, describe-first; a converged add-on costs DescribeAddon (and, for
    a symbolic version, DescribeCluster and DescribeAddonVersions).
  - The version is explicit, or C(default) (what EKS marks default for the cluster's
    Kubernetes version) or C(latest) (the newest compatible one), resolved on every run;
    when EKS moves its default, the next run updates the add-on.
  - An existing add-on is brought to the version, service account role and configuration
    values given with one UpdateAddon call. EKS cannot downgrade an add-on; an installed
    version newer than the desired one is left as it is and reported in RV(notes).
  - Not exercised offline - moto has no EKS add-on API; unit-tested against botocore's
    EKS service model (tests/unit/plugins/test_aws_eks_addon.py).
author:
  - tradeops engineers (@tradeops)
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
  name:
    description:
      - Name of the add-on, e.g. C(vpc-cni), C(coredns), C(kube-proxy), C(aws-ebs-csi-driver).
    type: str
    required: true
  version:
    description:
      - The add-on version (C(v1.19.2-eksbuild.1)), or C(default) or C(latest) for the
        cluster's Kubernetes version.
    type: str
    default: default
  service_account_role_arn:
    description:
      - IAM role of the add-on's service account (IRSA), e.g. the EBS CSI driver's.
      - Empty for none (the add-on then uses the node role's permissions).
    type: str
    default: ""
  configuration_values:
    description: The add-on's configuration values (JSON text or a dict); empty for none.
    type: raw
    default: ""
  resolve_conflicts:
    description:
      - What EKS does with fields of the add-on's objects changed in the cluster.
      - V(OVERWRITE) brings them back to the add-on's values, V(PRESERVE) keeps them (on update),
        V(NONE) fails on a conflict.
    type: str
    default: OVERWRITE
    choices: [OVERWRITE, PRESERVE, NONE]
  wait_timeout:
    description: Seconds to wait for the add-on to be C(ACTIVE) (or deleted) after a change.
    type: int
    default: 1200
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
  - tradeops.platform.wait
"""

EXAMPLES = r"""
- name: EBS CSI driver at the cluster version's default, with its IRSA role
  tradeops.platform.aws_eks_addon:
    cluster_name: tradeops-production
    name: aws-ebs-csi-driver
    version: default
    service_account_role_arn: arn:aws:iam::123456789012:role/tradeops-production-ebs-csi-driver
    tags:
      Environment: production
"""

RETURN = r"""
addon:
  description: The add-on as EKS describes it (snake_case), after any change; empty when absent.
  returned: always
  type: dict
  sample: {"addon_name": "coredns", "addon_version": "v1.11.4-eksbuild.2", "status": "ACTIVE"}
version:
  description: The concrete version the desired one resolved to (empty when absent).
  returned: always
  type: str
  sample: v1.11.4-eksbuild.2
changes:
  description: What was (or, in check mode, would be) changed, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["add-on coredns: version v1.11.3-eksbuild.1 -> v1.11.4-eksbuild.2"]
notes:
  description: What differs but is left alone (an installed version newer than desired).
  returned: always
  type: list
  elements: str
"""

import json  # noqa: E402

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_eks_addons import (  # noqa: E402
    SYMBOLIC,
    AddonError,
    addon_differences,
    addon_status_problem,
    resolve_version,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import converge_arn_tags  # noqa: E402


def describe(client, cluster, name):
    try:
        return client.describe_addon(clusterName=cluster, addonName=name)["addon"]
    except client.exceptions.ResourceNotFoundException:
        return None


def concrete_version(client, cluster, name, wanted):
    if wanted not in SYMBOLIC:
        return wanted
    kubernetes = client.describe_cluster(name=cluster)["cluster"]["version"]
    versions = client.describe_addon_versions(addonName=name, kubernetesVersion=kubernetes)
    return resolve_version(versions.get("addons"), kubernetes, wanted)


def wait_for(module, client, cluster, name, deleted=False):
    if not module.params["wait"]:
        return
    delay = 10
    attempts = max(1, module.params["wait_timeout"] // delay)
    waiter = client.get_waiter("addon_deleted" if deleted else "addon_active")
    waiter.wait(
        clusterName=cluster, addonName=name, WaiterConfig={"Delay": delay, "MaxAttempts": attempts}
    )


def output(addon):
    if not addon:
        return {}
    tags = addon.get("tags") or {}
    out = camel_dict_to_snake_dict(dict(addon, tags={}))
    out["tags"] = tags
    return out


def configuration_text(value):
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value or ""


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster_name=dict(type="str", required=True),
            name=dict(type="str", required=True),
            version=dict(type="str", default="default"),
            service_account_role_arn=dict(type="str", default=""),
            configuration_values=dict(type="raw", default=""),
            resolve_conflicts=dict(
                type="str", default="OVERWRITE", choices=["OVERWRITE", "PRESERVE", "NONE"]
            ),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1200),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cluster, name = p["cluster_name"], p["name"]
    client = module.client("eks")
    changes, notes, version = [], [], ""
    try:
        current = describe(client, cluster, name)
        if p["state"] == "absent":
            if current:
                changes.append(f"delete add-on {name}")
                if not module.check_mode:
                    client.delete_addon(clusterName=cluster, addonName=name)
                    wait_for(module, client, cluster, name, deleted=True)
            module.exit_json(
                changed=bool(changes), changes=changes, notes=notes, version="", addon={}
            )

        version = concrete_version(client, cluster, name, p["version"])
        desired = dict(
            version=version,
            service_account_role_arn=p["service_account_role_arn"],
            configuration_values=configuration_text(p["configuration_values"]),
        )
        if current is None:
            changes.append(f"create add-on {name} {version}")
            if module.check_mode:
                module.exit_json(
                    changed=True, changes=changes, notes=notes, version=version, addon={}
                )
            kwargs = dict(
                clusterName=cluster,
                addonName=name,
                addonVersion=version,
                resolveConflicts=p["resolve_conflicts"],
                tags=p["tags"] or {},
            )
            if desired["service_account_role_arn"]:
                kwargs["serviceAccountRoleArn"] = desired["service_account_role_arn"]
            if desired["configuration_values"]:
                kwargs["configurationValues"] = desired["configuration_values"]
            client.create_addon(**kwargs)
            wait_for(module, client, cluster, name)
            module.exit_json(
                changed=True,
                changes=changes,
                notes=notes,
                version=version,
                addon=output(describe(client, cluster, name)),
            )

        update, messages, notes = addon_differences(current, desired)
        if update:
            changes.extend(messages)
            if not module.check_mode:
                client.update_addon(
                    clusterName=cluster,
                    addonName=name,
                    resolveConflicts=p["resolve_conflicts"],
                    **update,
                )
                wait_for(module, client, cluster, name)
        tagged = converge_arn_tags(module, client, current["addonArn"], current.get("tags"))
        if tagged:
            changes.append(tagged)
        if changes and not module.check_mode:
            current = describe(client, cluster, name)
        problem = addon_status_problem(current or {})
        if problem and not module.check_mode:
            module.fail_json(msg=problem, addon=output(current), changes=changes)
    except AddonError as err:
        module.fail_json(msg=f"EKS add-on {name} on {cluster}: {err}")
    except Exception as err:  # botocore ClientError / WaiterError
        module.fail_json_aws(err, msg=f"Could not converge EKS add-on {name} on {cluster}")
    module.exit_json(
        changed=bool(changes), changes=changes, notes=notes, version=version, addon=output(current)
    )


if __name__ == "__main__":
    main()
