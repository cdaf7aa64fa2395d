# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit layer: a multi-region CloudTrail trail and AWS Config (recorder, delivery
channel, managed rules).

``audit_state(clients, spec)`` has the signature of the layer functions in ``aws_state``
(describe everything the layer owns with read calls only, compare it with ``spec``, return
``(differences, outputs)``); the module ``aws_layer_state`` runs it (layer ``audit``).

The pure functions below compare one describe answer with its desired state. The modules
``aws_cloudtrail_event_selectors``, ``aws_config_recorder`` and ``aws_config_rules`` use
the same functions to decide whether to call AWS, so "converged" means the same thing to
the converge and to the state call. They are unit-tested on AWS's documented answers
(tests/unit/plugins/test_aws_audit.py).

The spec, as roles/aws_audit/vars/main.yml builds it::

    {"tags": {...}, "region": "us-east-1", "account_id": "123456789012",
     "trail": {"name", "bucket", "kms_key_arn", "read_write_type",
               "exclude_management_event_sources": [...],
               "cloudwatch": None | {"log_group", "log_group_arn", "retention_days",
                                     "role_name", "role_arn", "trust", "policy_name",
                                     "policy"}},
     "config": {"enabled": bool, "name", "regions": [...], "global_resources_region",
                "bucket", "kms_key_arn", "delivery_frequency",
                "role": {"name", "arn", "trust", "managed_policies", "policy_name", "policy"},
                "rules": [{"name", "identifier", "resource_types", "parameters",
                           "description"}]}}
"""

from __future__ import annotations

import json

from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import (
    canonical_policy,
    diff_tags,
    tag_dict,
)

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - reported by AnsibleAWSModule
    ClientError = Exception

READ_WRITE_TYPES = ("All", "ReadOnly", "WriteOnly")
DELIVERY_FREQUENCIES = ("One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours")
MISSING_RECORDER = "NoSuchConfigurationRecorderException"
MISSING_CHANNEL = "NoSuchDeliveryChannelException"
MISSING_RULE = "NoSuchConfigRuleException"


def error_code(err):
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


# --------------------------------------------------------------------------- CloudTrail
def find_trail(trail_list, name, region):
    """Our trail in a DescribeTrails answer: by name, in its home region.

    DescribeTrails(trailNameList=[name]) answers only that trail on AWS; moto ignores the
    list and answers every trail of the region, so the answer is filtered here."""
    for trail in trail_list or []:
        if trail.get("Name") == name and trail.get("HomeRegion", region) == region:
            return trail
    return None


def management_selector(read_write_type="All", exclude_sources=()):
    """The one event selector the trail records with: management events, read and
    write (or as asked), no data events."""
    return {
        "ReadWriteType": read_write_type,
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": sorted(exclude_sources or []),
    }


def normalize_selectors(answer):
    """A GetEventSelectors answer as comparable data: (basic selectors, advanced ones)."""
    basic = []
    for sel in answer.get("EventSelectors") or []:
        basic.append(
            {
                "ReadWriteType": sel.get("ReadWriteType", "All"),
                "IncludeManagementEvents": bool(sel.get("IncludeManagementEvents", True)),
                "DataResources": sel.get("DataResources") or [],
                "ExcludeManagementEventSources": sorted(
                    sel.get("ExcludeManagementEventSources") or []
                ),
            }
        )
    return basic, list(answer.get("AdvancedEventSelectors") or [])


def selector_differences(want, answer):
    """What differs between a trail's GetEventSelectors answer and its one management
    selector (``want``: management_selector's result). Empty when they are the same."""
    basic, advanced = normalize_selectors(answer)
    if advanced:
        return ["records with advanced event selectors, want one basic selector"]
    if basic == [want]:
        return []
    if not basic:
        return ["records no event selectors (no management events)"]
    return [f"event selectors are {basic}, want {[want]}"]


def trail_differences(want, trail, status, selectors, tags, desired_tags):
    """What differs between our trail (DescribeTrails entry, GetTrailStatus,
    GetEventSelectors and ListTags answers) and the spec's ``trail``."""
    label = f"trail {want['name']}"
    if trail is None:
        return [f"{label} does not exist"]
    out = []
    checks = [
        ("bucket", trail.get("S3BucketName"), want["bucket"]),
        ("S3 key prefix", trail.get("S3KeyPrefix") or "", ""),
        ("multi-region", trail.get("IsMultiRegionTrail"), True),
        ("log file validation", trail.get("LogFileValidationEnabled"), True),
        ("global service events", trail.get("IncludeGlobalServiceEvents"), True),
        ("KMS key", trail.get("KmsKeyId"), want["kms_key_arn"]),
    ]
    cloudwatch = want.get("cloudwatch")
    if cloudwatch:
        checks += [
            (
                "CloudWatch Logs group",
                trail.get("CloudWatchLogsLogGroupArn"),
                cloudwatch["log_group_arn"],
            ),
            ("CloudWatch Logs role", trail.get("CloudWatchLogsRoleArn"), cloudwatch["role_arn"]),
        ]
    for what, got, wanted in checks:
        if got != wanted:
            out.append(f"{label}: {what} is {got!r}, want {wanted!r}")
    if not (status or {}).get("IsLogging"):
        out.append(f"{label}: logging is stopped")
    out.extend(
        f"{label}: {d}"
        for d in selector_differences(
            management_selector(
                want["read_write_type"], want.get("exclude_management_event_sources")
            ),
            selectors or {},
        )
    )
    diff_tags(label, tags, desired_tags, out)
    return out


# --------------------------------------------------------------------------- IAM roles
def role_differences(iam, want, tags):
    """An IAM role of this layer: trust, managed policies, its one inline policy, tags.
    Returns (differences, arn or None)."""
    label = f"IAM role {want['name']}"
    try:
        role = iam.get_role(RoleName=want["name"])["Role"]
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return [f"{label} does not exist"], None
        raise
    out = []
    if canonical_policy(role.get("AssumeRolePolicyDocument")) != canonical_policy(want["trust"]):
        out.append(f"{label}: trust policy differs")
    attached = {
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=want["name"])["AttachedPolicies"]
    }
    if attached != set(want.get("managed_policies") or []):
        out.append(
            f"{label}: managed policies are {sorted(attached)}, "
            f"want {sorted(want.get('managed_policies') or [])}"
        )
    inline = set(iam.list_role_policies(RoleName=want["name"])["PolicyNames"])
    if inline != {want["policy_name"]}:
        out.append(f"{label}: inline policies are {sorted(inline)}, want [{want['policy_name']!r}]")
    else:
        doc = iam.get_role_policy(RoleName=want["name"], PolicyName=want["policy_name"])
        if canonical_policy(doc["PolicyDocument"]) != canonical_policy(want["policy"]):
            out.append(f"{label}: policy {want['policy_name']} differs")
    diff_tags(label, tag_dict(role.get("Tags")), tags, out)
    return out, role["Arn"]


def _log_group_differences(logs, cloudwatch, tags):
    group = cloudwatch["log_group"]
    found = [
        g
        for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if g["logGroupName"] == group
    ]
    if not found:
        return [f"log group {group} does not exist"]
    out = []
    if found[0].get("retentionInDays") != cloudwatch["retention_days"]:
        out.append(
            f"log group {group}: retention is {found[0].get('retentionInDays')} days, "
            f"want {cloudwatch['retention_days']}"
        )
    got = logs.list_tags_log_group(logGroupName=group).get("tags", {})
    diff_tags(f"log group {group}", got, tags, out)
    return out


# --------------------------------------------------------------------------- AWS Config
def recorder_payload(name, role_arn, all_supported=True, include_global=False):
    """The PutConfigurationRecorder argument of the recorder we want."""
    return {
        "name": name,
        "roleARN": role_arn,
        "recordingGroup": {
            "allSupported": bool(all_supported),
            "includeGlobalResourceTypes": bool(include_global),
        },
    }


def recorder_differences(want, recorder):
    """What differs between a DescribeConfigurationRecorders entry and recorder_payload's
    result (AWS adds recordingStrategy, exclusions and the recording mode: defaults, not
    compared)."""
    label = f"configuration recorder {want['name']}"
    if recorder is None:
        return [f"{label} does not exist"]
    out = []
    if recorder.get("roleARN") != want["roleARN"]:
        out.append(f"{label}: role is {recorder.get('roleARN')}, want {want['roleARN']}")
    group = recorder.get("recordingGroup") or {}
    for key, value in want["recordingGroup"].items():
        if bool(group.get(key, False)) != value:
            out.append(f"{label}: {key} is {group.get(key)}, want {value}")
    return out


def channel_differences(want, channel):
    """A DescribeDeliveryChannels entry against the delivery channel we want ({name,
    bucket, kms_key_arn, delivery_frequency})."""
    label = f"delivery channel {want['name']}"
    if channel is None:
        return [f"{label} does not exist"]
    out = []
    checks = [
        ("bucket", channel.get("s3BucketName"), want["bucket"]),
        ("S3 key prefix", channel.get("s3KeyPrefix") or "", ""),
        ("KMS key", channel.get("s3KmsKeyArn"), want["kms_key_arn"]),
        (
            "snapshot frequency",
            (channel.get("configSnapshotDeliveryProperties") or {}).get("deliveryFrequency"),
            want["delivery_frequency"],
        ),
    ]
    for what, got, wanted in checks:
        if got != wanted:
            out.append(f"{label}: {what} is {got!r}, want {wanted!r}")
    return out


def rule_payload(rule):
    """The PutConfigRule argument of one managed rule of the spec ({name, identifier,
    resource_types, parameters, description})."""
    payload = {
        "ConfigRuleName": rule["name"],
        "Description": rule.get("description") or "",
        "Source": {"Owner": "AWS", "SourceIdentifier": rule["identifier"]},
        "ConfigRuleState": "ACTIVE",
    }
    if rule.get("resource_types"):
        payload["Scope"] = {"ComplianceResourceTypes": sorted(rule["resource_types"])}
    if rule.get("parameters"):
        payload["InputParameters"] = json.dumps(
            {k: str(v) for k, v in rule["parameters"].items()}, sort_keys=True
        )
    return payload


def _parameters(text):
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return text
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else value


def rule_differences(rule, got):
    """A DescribeConfigRules entry against one rule of the spec (what rule_payload sends)."""
    label = f"Config rule {rule['name']}"
    if got is None:
        return [f"{label} does not exist"]
    want = rule_payload(rule)
    out = []
    checks = [
        ("source", got.get("Source", {}).get("Owner"), "AWS"),
        ("identifier", got.get("Source", {}).get("SourceIdentifier"), rule["identifier"]),
        (
            "resource types",
            sorted((got.get("Scope") or {}).get("ComplianceResourceTypes") or []),
            sorted(rule.get("resource_types") or []),
        ),
        (
            "parameters",
            _parameters(got.get("InputParameters")),
            _parameters(want.get("InputParameters")),
        ),
        ("description", got.get("Description") or "", want["Description"]),
        ("state", got.get("ConfigRuleState"), "ACTIVE"),
    ]
    for what, have, wanted in checks:
        if have != wanted:
            out.append(f"{label}: {what} is {have!r}, want {wanted!r}")
    return out


def describe_recorders(config):
    """Every configuration recorder of the region (AWS allows one)."""
    return config.describe_configuration_recorders().get("ConfigurationRecorders", [])


def recording(config, name):
    """Whether the named recorder records (False when it does not exist)."""
    try:
        status = config.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])
    except ClientError as err:
        if error_code(err) == MISSING_RECORDER:
            return False
        raise
    return any(s.get("recording") for s in status.get("ConfigurationRecordersStatus", []))


def describe_rules(config):
    """Every Config rule of the region by name (DescribeConfigRules pages)."""
    rules = {}
    kwargs = {}
    while True:
        page = config.describe_config_rules(**kwargs)
        for rule in page.get("ConfigRules", []):
            rules[rule["ConfigRuleName"]] = rule
        if not page.get("NextToken"):
            return rules
        kwargs["NextToken"] = page["NextToken"]


def _config_region_state(config, spec, region, tags, differences):
    want = spec["config"]
    out = {"recorder": want["name"], "delivery_channel": want["name"], "rules": {}}
    recorders = describe_recorders(config)
    mine = next((r for r in recorders if r.get("name") == want["name"]), None)
    if mine is None and recorders:
        differences.append(
            f"Config in {region}: the region already has the recorder "
            f"{recorders[0].get('name')} (AWS allows one per region)"
        )
    include_global = region == want["global_resources_region"]
    differences.extend(
        f"{d} ({region})"
        for d in recorder_differences(
            recorder_payload(want["name"], want["role"]["arn"], True, include_global), mine
        )
    )
    if mine is not None and not recording(config, want["name"]):
        differences.append(f"configuration recorder {want['name']} ({region}) is not recording")
    channels = config.describe_delivery_channels().get("DeliveryChannels", [])
    channel = next((c for c in channels if c.get("name") == want["name"]), None)
    differences.extend(
        f"{d} ({region})"
        for d in channel_differences(
            {
                "name": want["name"],
                "bucket": want["bucket"],
                "kms_key_arn": want["kms_key_arn"],
                "delivery_frequency": want["delivery_frequency"],
            },
            channel,
        )
    )
    rules = describe_rules(config)
    for rule in want["rules"]:
        got = rules.get(rule["name"])
        differences.extend(f"{d} ({region})" for d in rule_differences(rule, got))
        if got is None:
            continue
        out["rules"][rule["name"]] = got["ConfigRuleArn"]
        got_tags = tag_dict(
            config.list_tags_for_resource(ResourceArn=got["ConfigRuleArn"]).get("Tags")
        )
        diff_tags(f"Config rule {rule['name']} ({region})", got_tags, tags, differences)
    return out


# --------------------------------------------------------------------------- the layer
def audit_state(clients, spec):
    """The trail (in ``spec["region"]``, its home region) and, when enabled, AWS Config in
    each region of ``spec["config"]["regions"]``."""
    differences = []
    tags = spec["tags"]
    region = spec["region"]
    want = spec["trail"]
    outputs = {
        "trail": {
            "name": want["name"],
            "arn": f"arn:aws:cloudtrail:{region}:{spec['account_id']}:trail/{want['name']}",
            "home_region": region,
            "bucket": want["bucket"],
            "kms_key_arn": want["kms_key_arn"],
        },
        "config": {"enabled": bool(spec["config"]["enabled"])},
    }
    ct = clients("cloudtrail")
    trails = ct.describe_trails(trailNameList=[want["name"]], includeShadowTrails=False)
    trail = find_trail(trails.get("trailList"), want["name"], region)
    if trail is None:
        differences.extend(trail_differences(want, None, None, None, {}, tags))
    else:
        outputs["trail"]["arn"] = trail["TrailARN"]
        differences.extend(
            trail_differences(
                want,
                trail,
                ct.get_trail_status(Name=trail["TrailARN"]),
                ct.get_event_selectors(TrailName=trail["TrailARN"]),
                tag_dict(
                    ct.list_tags(ResourceIdList=[trail["TrailARN"]])["ResourceTagList"][0].get(
                        "TagsList"
                    )
                ),
                tags,
            )
        )
    iam = clients("iam")
    cloudwatch = want.get("cloudwatch")
    if cloudwatch:
        outputs["trail"]["log_group"] = cloudwatch["log_group"]
        differences.extend(_log_group_differences(clients("logs"), cloudwatch, tags))
        found, _arn = role_differences(
            iam,
            {
                "name": cloudwatch["role_name"],
                "trust": cloudwatch["trust"],
                "managed_policies": [],
                "policy_name": cloudwatch["policy_name"],
                "policy": cloudwatch["policy"],
            },
            tags,
        )
        differences.extend(found)

    config = spec["config"]
    if config["enabled"]:
        found, role_arn = role_differences(iam, config["role"], tags)
        differences.extend(found)
        outputs["config"].update(role_arn=role_arn, bucket=config["bucket"], regions={})
        for where in config["regions"]:
            outputs["config"]["regions"][where] = _config_region_state(
                clients("config", where), spec, where, tags, differences
            )
    return differences, outputs
