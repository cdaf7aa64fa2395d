#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_metric_alarms
short_description: A set of CloudWatch metric alarms, tagged, in one call
version_added: "0.2.0"
description:
  - Makes a region's CloudWatch metric alarms those of I(alarms), in one module run. It
    describes them (one DescribeAlarms per name prefix and per 100 names), puts only the
    alarms that are missing or differ (PutMetricAlarm), tags them, and with
    I(purge_prefixes) deletes the alarms under those name prefixes that are not listed (a
    resource gone, a rule switched off). Supports check mode and diff.
  - With I(state=absent) it deletes the listed alarms and those under I(purge_prefixes).
  - amazon.aws.cloudwatch_metric_alarm manages one alarm per run (a process each) and
    cannot tag one.
  - An alarm notifies its I(actions) on ALARM and on OK, and is always enabled; tags given
    at creation go with PutMetricAlarm, later changes with TagResource / UntagResource.
author:
  - tradeops engineers (@tradeops)
options:
  alarms:
    description:
      - The alarms, in the alarms layer's spec format (C(tradeops.platform.aws_alarms_spec)).
        With I(state=absent), only the names matter.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The alarm's name.
        type: str
        required: true
      namespace:
        description: The metric's namespace (C(AWS/RDS) ...).
        type: str
      metric:
        description: The metric's name.
        type: str
      dimensions:
        description: The metric's dimensions (name - value).
        type: dict
        default: {}
      statistic:
        description: The statistic compared (C(Average), C(Maximum), C(Minimum), C(Sum) ...).
        type: str
      comparison:
        description: The comparison operator (C(GreaterThanThreshold) ...).
        type: str
      threshold:
        description: The threshold, in the metric's unit.
        type: float
      period:
        description: The period in seconds.
        type: int
      evaluation_periods:
        description: The number of periods evaluated.
        type: int
      datapoints_to_alarm:
        description: How many of them must breach.
        type: int
      treat_missing_data:
        description: How missing data counts.
        type: str
        choices: [breaching, notBreaching, ignore, missing]
        default: missing
      actions:
        description: ARNs notified on ALARM and on OK (SNS topics of the alarm's region).
        type: list
        elements: str
        default: []
      description:
        description: The alarm's description.
        type: str
        default: ""
      key:
        description: Ignored (the spec's rule name).
        type: str
      severity:
        description: Ignored (the spec's severity, in the description and actions already).
        type: str
  purge_prefixes:
    description:
      - Name prefixes this call owns. An alarm whose name starts with one of them and that is
        not in I(alarms) is deleted; with I(state=absent), every alarm under them is.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
  - tradeops.platform.state
"""

EXAMPLES = r"""
- name: The layer's alarms in the region
  tradeops.platform.aws_metric_alarms:
    alarms:
      - name: tradeops-prod-rds-cpu
        namespace: AWS/RDS
        metric: CPUUtilization
        dimensions: {DBInstanceIdentifier: tradeops-prod-pg}
        statistic: Average
        comparison: GreaterThanThreshold
        threshold: 80
        period: 300
        evaluation_periods: 3
        datapoints_to_alarm: 3
        treat_missing_data: missing
        actions: [arn:aws:sns:us-east-1:123456789012:tradeops-prod-alarms-warning]
        description: "WARNING: CPU of tradeops-prod-pg above 80 %"
    purge_prefixes: [tradeops-prod-rds-]
    tags:
      Environment: prod

- name: Remove every alarm under the prefixes
  tradeops.platform.aws_metric_alarms:
    purge_prefixes: [tradeops-staging-rds-, tradeops-staging-ec2-]
    state: absent
"""

RETURN = r"""
alarms:
  description: The alarms listed, name to ARN (empty ARN for one check mode would create).
  returned: always
  type: dict
  sample:
    tradeops-prod-rds-cpu: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:tradeops-prod-rds-cpu"
created:
  description: Alarms put for the first time.
  returned: always
  type: list
  elements: str
updated:
  description: Existing alarms put again (a setting differed).
  returned: always
  type: list
  elements: str
retagged:
  description: Alarms whose tags were changed.
  returned: always
  type: list
  elements: str
deleted:
  description: Alarms deleted.
  returned: always
  type: list
  elements: str
"""

import contextlib  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.tradeops.platform.plugins.module_utils.aws_alarms import (  # noqa: E402
    BATCH,
    alarm_tags,
    describe_alarms,
    owned,
    put_alarm_args,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import (  # noqa: E402
    alarm_differences,
    tag_changes,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError

_PRESENT = (
    "namespace",
    "metric",
    "statistic",
    "comparison",
    "threshold",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
)


def _delete(cloudwatch, names, check_mode):
    if not check_mode:
        for start in range(0, len(names), BATCH):
            cloudwatch.delete_alarms(AlarmNames=names[start : start + BATCH])


def main():
    alarm = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str"),
        metric=dict(type="str"),
        dimensions=dict(type="dict", default={}),
        statistic=dict(type="str"),
        comparison=dict(type="str"),
        threshold=dict(type="float"),
        period=dict(type="int"),
        evaluation_periods=dict(type="int"),
        datapoints_to_alarm=dict(type="int"),
        treat_missing_data=dict(
            type="str",
            default="missing",
            choices=["breaching", "notBreaching", "ignore", "missing"],
        ),
        actions=dict(type="list", elements="str", default=[]),
        description=dict(type="str", default=""),
        key=dict(type="str", no_log=False),
        severity=dict(type="str"),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            alarms=dict(type="list", elements="dict", default=[], options=alarm),
            purge_prefixes=dict(type="list", elements="str", default=[]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted = {a["name"]: a for a in p["alarms"]}
    if len(wanted) != len(p["alarms"]):
        module.fail_json(msg="alarms: a name is listed twice")
    prefixes = p["purge_prefixes"]
    cloudwatch = module.client("cloudwatch")
    try:
        found = describe_alarms(cloudwatch, list(wanted), prefixes)
    except (BotoCoreError, ClientError) as err:
        module.fail_json_aws(err, msg="Could not describe the alarms")
    result = dict(changed=False, alarms={}, created=[], updated=[], retagged=[], deleted=[])

    if p["state"] == "absent":
        gone = sorted(n for n in found if n in wanted or owned(n, prefixes))
        try:
            _delete(cloudwatch, gone, module.check_mode)
        except (BotoCoreError, ClientError) as err:
            module.fail_json_aws(err, msg="Could not delete the alarms")
        result.update(changed=bool(gone), deleted=gone)
        module.exit_json(**result, diff={"before": {"alarms": gone}, "after": {"alarms": []}})

    missing = [
        f"{name}: {key}"
        for name, want in wanted.items()
        for key in _PRESENT
        if want.get(key) in (None, "")
    ]
    if missing:
        module.fail_json(msg=f"alarms: settings missing ({', '.join(missing)})")
    before, after = {}, {}
    try:
        for name, want in wanted.items():
            got = found.get(name)
            differences = alarm_differences(want, got)
            if differences:
                before[name] = "absent" if got is None else "; ".join(differences)
                after[name] = "present"
                args = put_alarm_args(want)
                if got is None and p["tags"]:
                    args["Tags"] = [{"Key": k, "Value": v} for k, v in p["tags"].items()]
                if not module.check_mode:
                    cloudwatch.put_metric_alarm(**args)
                result["created" if got is None else "updated"].append(name)
            arn = (got or {}).get("AlarmArn", "")
            if got is not None and p["tags"] is not None:
                to_set, to_remove = tag_changes(
                    alarm_tags(cloudwatch, arn), p["tags"], p["purge_tags"]
                )
                if to_set or to_remove:
                    result["retagged"].append(name)
                    before.setdefault(name, f"tags to set {to_set}, to remove {to_remove}")
                    after.setdefault(name, "tagged")
                    if not module.check_mode:
                        if to_remove:
                            cloudwatch.untag_resource(ResourceARN=arn, TagKeys=to_remove)
                        if to_set:
                            cloudwatch.tag_resource(
                                ResourceARN=arn,
                                Tags=[{"Key": k, "Value": v} for k, v in to_set.items()],
                            )
            result["alarms"][name] = arn
        extra = sorted(n for n in found if owned(n, prefixes) and n not in wanted)
        for name in extra:
            before[name] = "present"
            after[name] = "absent"
        _delete(cloudwatch, extra, module.check_mode)
        result["deleted"] = extra
        if result["created"] and not module.check_mode:
            now = describe_alarms(cloudwatch, result["created"], ())
            result["alarms"].update(
                {n: now.get(n, {}).get("AlarmArn", "") for n in result["created"]}
            )
    except (BotoCoreError, ClientError) as err:
        module.fail_json_aws(err, msg="Could not converge the alarms")
    result["changed"] = bool(
        result["created"] or result["updated"] or result["retagged"] or result["deleted"]
    )
    module.exit_json(**result, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
