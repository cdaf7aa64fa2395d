#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_sns_topic
short_description: An SNS topic encrypted with a KMS key, with its subscriptions and tags
version_added: "0.2.0"
description:
  - Creates, updates or deletes one standard SNS topic. Describes it first; changes only
    what differs (encryption key, display name, tags, subscriptions); supports check mode
    and diff, on a topic that does not exist too.
  - community.aws.sns_topic cannot set a topic's KMS key (C(KmsMasterKeyId)), and in check
    mode fails on a topic that does not exist yet.
  - Subscriptions are compared by protocol and endpoint. With I(purge_subscriptions), a
    confirmed subscription not listed is removed; a pending one cannot be (SNS has no ARN
    for it until it is confirmed, and drops it when it never is), and is reported.
  - Endpoints are not logged (an HTTPS integration URL often carries its key).
author:
  - tradeops engineers (@tradeops)
options:
  name:
    description: The topic's name (1 to 256 letters, digits, hyphens, underscores).
    type: str
    required: true
  kms_master_key_id:
    description:
      - The KMS key that encrypts the topic's messages (its ARN, id or alias), compared as
        given with the topic's C(KmsMasterKeyId). Empty, the topic is not encrypted.
      - For CloudWatch alarms to publish to an encrypted topic, the key policy must let the
        service principal C(cloudwatch.amazonaws.com) use C(kms:Decrypt) and
        C(kms:GenerateDataKey*).
    type: str
    default: ""
  display_name:
    description: The topic's display name (the sender name of e-mail notifications).
    type: str
    default: ""
  subscriptions:
    description: The topic's subscriptions.
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: The protocol.
        type: str
        required: true
        choices: [email, https]
      endpoint:
        description: The address (e-mail) or URL (https).
        type: str
        required: true
  purge_subscriptions:
    description: Remove the confirmed subscriptions not in I(subscriptions).
    type: bool
    default: true
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The critical alarms' topic, encrypted with the data key
  tradeops.platform.aws_sns_topic:
    name: tradeops-prod-alarms-critical
    kms_master_key_id: arn:aws:kms:us-east-1:123456789012:key/1c2b60e5-323a-400c-818b-4b2855ed87f1
    display_name: tradeops-prod critical alarms
    subscriptions:
      - protocol: https
        endpoint: "{{ lookup('amazon.aws.secretsmanager_secret', 'tradeops/alarms/critical') }}"
    tags:
      Environment: prod
  no_log: true

- name: Remove it, with its subscriptions
  tradeops.platform.aws_sns_topic:
    name: tradeops-staging-alarms-critical
    state: absent
"""

RETURN = r"""
topic:
  description: The topic as described after the call (empty when absent; endpoints masked).
  returned: always
  type: dict
  sample:
    name: tradeops-prod-alarms-critical
    arn: arn:aws:sns:us-east-1:123456789012:tradeops-prod-alarms-critical
    kms_master_key_id: arn:aws:kms:us-east-1:123456789012:key/1c2b60e5-323a-400c-818b-4b2855ed87f1
    display_name: tradeops-prod critical alarms
    subscriptions: [{protocol: https, endpoint: "https://events.example.com/..."}]
    pending: 0
    tags: {Environment: prod}
"""

import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import (  # noqa: E402
    shown,
    subscription_changes,
    topic_attributes,
    topic_subscriptions,
    topic_tags,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import (  # noqa: E402
    tag_changes,
    user_tags,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError


def find_topic(sns, name):
    """The ARN of the topic of this name in the client's region, or None."""
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                return topic["TopicArn"]
    return None


def _view(name, arn, attrs, subs, tags):
    if not arn:
        return {}
    return {
        "name": name,
        "arn": arn,
        "kms_master_key_id": attrs.get("KmsMasterKeyId", ""),
        "display_name": attrs.get("DisplayName", ""),
        "subscriptions": sorted(
            (
                {"protocol": s["protocol"], "endpoint": shown(s["protocol"], s["endpoint"])}
                for s in subs
            ),
            key=lambda s: (s["protocol"], s["endpoint"]),
        ),
        "pending": sum(1 for s in subs if s.get("pending")),
        "tags": user_tags(tags),
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            kms_master_key_id=dict(type="str", default="", no_log=False),
            display_name=dict(type="str", default=""),
            subscriptions=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    protocol=dict(type="str", required=True, choices=["email", "https"]),
                    endpoint=dict(type="str", required=True, no_log=True),
                ),
            ),
            purge_subscriptions=dict(type="bool", default=True),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"]
    sns = module.client("sns")
    try:
        arn = find_topic(sns, name)
        attrs = (topic_attributes(sns, arn) or {}) if arn else {}
        subs = topic_subscriptions(sns, arn) if arn else []
        tags = topic_tags(sns, arn) if arn else {}
    except (BotoCoreError, ClientError) as err:
        module.fail_json_aws(err, msg=f"Could not describe SNS topic {name}")
    before = _view(name, arn, attrs, subs, tags)

    if p["state"] == "absent":
        if not arn:
            module.exit_json(changed=False, topic={}, diff={"before": {}, "after": {}})
        if not module.check_mode:
            try:
                for sub in subs:
                    if not sub["pending"]:
                        sns.unsubscribe(SubscriptionArn=sub["arn"])
                sns.delete_topic(TopicArn=arn)
            except (BotoCoreError, ClientError) as err:
                module.fail_json_aws(err, msg=f"Could not delete SNS topic {name}")
        module.exit_json(changed=True, topic={}, diff={"before": before, "after": {}})

    want_subs = [{"protocol": s["protocol"], "endpoint": s["endpoint"]} for s in p["subscriptions"]]
    desired_tags = p["tags"] if p["tags"] is not None else user_tags(tags)
    changed = False
    try:
        if not arn:
            changed = True
            attributes = {}
            if p["kms_master_key_id"]:
                attributes["KmsMasterKeyId"] = p["kms_master_key_id"]
            if p["display_name"]:
                attributes["DisplayName"] = p["display_name"]
            if not module.check_mode:
                kwargs = dict(Name=name, Attributes=attributes)
                if desired_tags:
                    kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in desired_tags.items()]
                arn = sns.create_topic(**kwargs)["TopicArn"]
            attrs, tags = dict(attributes), dict(desired_tags)
        else:
            for attr, value in (
                ("KmsMasterKeyId", p["kms_master_key_id"]),
                ("DisplayName", p["display_name"]),
            ):
                if attrs.get(attr, "") != value:
                    changed = True
                    if not module.check_mode:
                        sns.set_topic_attributes(
                            TopicArn=arn, AttributeName=attr, AttributeValue=value
                        )
                    attrs[attr] = value
            to_set, to_remove = tag_changes(tags, desired_tags, p["purge_tags"])
            if to_set or to_remove:
                changed = True
                if not module.check_mode:
                    if to_remove:
                        sns.untag_resource(ResourceArn=arn, TagKeys=to_remove)
                    if to_set:
                        sns.tag_resource(
                            ResourceArn=arn,
                            Tags=[{"Key": k, "Value": v} for k, v in to_set.items()],
                        )
                tags = {**{k: v for k, v in tags.items() if k not in to_remove}, **to_set}
        to_add, to_remove_subs = subscription_changes(want_subs, subs)
        if not p["purge_subscriptions"]:
            to_remove_subs = []
        for protocol, endpoint in to_add:
            changed = True
            pending = True
            if not module.check_mode:
                sub_arn = sns.subscribe(
                    TopicArn=arn, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True
                ).get("SubscriptionArn", "")
                # The ARN comes back at once; the subscription is pending until the endpoint
                # confirms it (an HTTPS endpoint answers SNS's confirmation request).
                got = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
                pending = str(got.get("PendingConfirmation", "true")).lower() == "true"
            subs.append({"protocol": protocol, "endpoint": endpoint, "arn": "", "pending": pending})
        for sub in to_remove_subs:
            changed = True
            if not module.check_mode:
                sns.unsubscribe(SubscriptionArn=sub["arn"])
            subs.remove(sub)
    except (BotoCoreError, ClientError) as err:
        module.fail_json_aws(err, msg=f"Could not converge SNS topic {name}")
    after = _view(name, arn or f"(new) {name}", attrs, subs, tags)
    module.exit_json(changed=changed, topic=after, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
