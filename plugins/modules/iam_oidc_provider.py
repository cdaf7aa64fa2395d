#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_oidc_provider
short_description: Manage an IAM OpenID Connect identity provider (e.g. an EKS cluster's issuer)
version_added: "0.1.0"
description:
  - Neither amazon.aws nor community.aws has a module for IAM OIDC providers. This one
    manages the provider of one issuer URL, describe-first; a converged provider costs one
    list and one get call.
  - The provider's audiences (client ids) and tags are brought to the options given; the
    thumbprints only when I(thumbprints) is given (IAM no longer needs them for the
    well-known issuers such as EKS's, and keeps its own).
  - Used by the eks layer (roles/aws_eks) for the cluster's issuer, which IAM roles for
    service accounts (IRSA) trust.
author:
  - tradeops engineers (@tradeops)
options:
  url:
    description:
      - The issuer URL, C(https://...) (for EKS, describe_cluster's C(identity.oidc.issuer)).
    type: str
    required: true
  client_ids:
    description: The audiences the provider accepts; others are removed.
    type: list
    elements: str
    default: [sts.amazonaws.com]
  thumbprints:
    description:
      - SHA-1 thumbprints of the issuer's certificate chain (40 hex digits each).
      - Empty (the default) leaves them to IAM on create and untouched afterwards.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The EKS cluster's OIDC provider
  tradeops.platform.iam_oidc_provider:
    url: "{{ cluster.identity.oidc.issuer }}"
    client_ids: [sts.amazonaws.com]
    tags:
      Environment: production
    state: present
"""

RETURN = r"""
arn:
  description: ARN of the provider; empty when absent (or not yet created in check mode).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC
provider:
  description:
    - The provider as IAM describes it (url, client_id_list, thumbprint_list, tags as a dict).
  returned: always
  type: dict
changes:
  description: What was (or, in check mode, would be) changed, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create OIDC provider oidc.eks.us-east-1.amazonaws.com/id/ABC"]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_irsa import issuer_host  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_module import (  # noqa: E402
    converge_tags,
    delete_if_exists,
)


def find(client, url):
    """The ARN of the provider of this issuer, or None (IAM names it by host and path)."""
    suffix = ":oidc-provider/" + issuer_host(url)
    for item in client.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
        if item["Arn"].endswith(suffix):
            return item["Arn"]
    return None


def describe(client, arn):
    got = client.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    return {
        "url": got.get("Url", ""),
        "client_id_list": sorted(got.get("ClientIDList") or []),
        "thumbprint_list": sorted(got.get("ThumbprintList") or []),
        "tags": boto3_tag_list_to_ansible_dict(got.get("Tags") or []),
    }


def converge_audiences(module, client, arn, current):
    want = set(module.params["client_ids"])
    have = set(current["client_id_list"])
    changes = []
    for client_id in sorted(want - have):
        changes.append(f"add audience {client_id}")
        if not module.check_mode:
            client.add_client_id_to_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, ClientID=client_id
            )
    for client_id in sorted(have - want):
        changes.append(f"remove audience {client_id}")
        if not module.check_mode:
            client.remove_client_id_from_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, ClientID=client_id
            )
    thumbprints = sorted(t.lower() for t in module.params["thumbprints"])
    if thumbprints and thumbprints != [t.lower() for t in current["thumbprint_list"]]:
        changes.append("replace thumbprints")
        if not module.check_mode:
            client.update_open_id_connect_provider_thumbprint(
                OpenIDConnectProviderArn=arn, ThumbprintList=thumbprints
            )
    return changes


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            client_ids=dict(type="list", elements="str", default=["sts.amazonaws.com"]),
            thumbprints=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    url = p["url"] if "://" in p["url"] else "https://" + p["url"]
    name = issuer_host(url)
    if not name:
        module.fail_json(msg="url is empty: give the issuer URL (https://...)")
    client = module.client("iam")
    changes = []
    try:
        arn = find(client, url)
        if p["state"] == "absent":
            delete_if_exists(
                module,
                arn,
                lambda: client.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn),
                msg=f"Could not delete OIDC provider {name}",
                arn="",
                provider={},
                changes=[f"delete OIDC provider {name}"] if arn else [],
            )
        if arn is None:
            changes.append(f"create OIDC provider {name}")
            if module.check_mode:
                module.exit_json(changed=True, changes=changes, arn="", provider={})
            kwargs = dict(Url=url, ClientIDList=p["client_ids"])
            if p["thumbprints"]:
                kwargs["ThumbprintList"] = p["thumbprints"]
            if p["tags"]:
                kwargs["Tags"] = ansible_dict_to_boto3_tag_list(p["tags"])
            arn = client.create_open_id_connect_provider(**kwargs)["OpenIDConnectProviderArn"]
            module.exit_json(changed=True, changes=changes, arn=arn, provider=describe(client, arn))
        current = describe(client, arn)
        changes.extend(converge_audiences(module, client, arn, current))
        tagged = converge_tags(
            module,
            current["tags"],
            tag=lambda tags: client.tag_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags)
            ),
            untag=lambda keys: client.untag_open_id_connect_provider(
                OpenIDConnectProviderArn=arn, TagKeys=keys
            ),
        )
        if tagged:
            changes.append(tagged)
        if changes and not module.check_mode:
            current = describe(client, arn)
    except Exception as err:  # botocore ClientError
        module.fail_json_aws(err, msg=f"Could not converge OIDC provider {name}")
    module.exit_json(changed=bool(changes), changes=changes, arn=arn, provider=current)


if __name__ == "__main__":
    main()
