"""The audit layer's comparisons (plugins/module_utils/aws_audit.py) on AWS's documented
answers and on what moto answers, and its describe function on the unit tests' AWS
worlds (tests/unit/plugins/aws_worlds.py).

test_aws_drift_fields.py drifts every field of the layer's spec one at a time; this file
holds what the modules and the state call must agree on: AWS answers more than the
modules send (a recorder's recording strategy and mode, a rule's evaluation modes), moto
answers less (no event selectors on a new trail, no InputParameters) or ignores a filter
(DescribeTrails' trailNameList), and neither may read as drift."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_audit import (
    audit_state,
    channel_differences,
    describe_rules,
    find_trail,
    management_selector,
    recorder_differences,
    recorder_payload,
    rule_differences,
    rule_payload,
    selector_differences,
    trail_differences,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_state import canonical_policy

from .aws_specs import render
from .aws_worlds import build

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/tradeops-prod"
GROUP_ARN = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/tradeops/prod/cloudtrail:*"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/tradeops-prod-cloudtrail-logs"

# DescribeTrails on AWS (API reference, with this layer's settings): the key as its ARN,
# the log group's ARN with :*, HasCustomEventSelectors once selectors were put.
AWS_TRAIL = {
    "Name": "tradeops-prod",
    "S3BucketName": "tradeops-prod-111122223333-compliance",
    "IncludeGlobalServiceEvents": True,
    "IsMultiRegionTrail": True,
    "HomeRegion": "us-east-1",
    "TrailARN": TRAIL_ARN,
    "LogFileValidationEnabled": True,
    "CloudWatchLogsLogGroupArn": GROUP_ARN,
    "CloudWatchLogsRoleArn": ROLE_ARN,
    "KmsKeyId": KEY,
    "HasCustomEventSelectors": True,
    "HasInsightSelectors": False,
    "IsOrganizationTrail": False,
}
# GetEventSelectors of a trail recording every management event (AWS's default for a new
# trail, and what aws_cloudtrail_event_selectors puts).
AWS_SELECTORS = {
    "TrailARN": TRAIL_ARN,
    "EventSelectors": [
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ],
}
# GetEventSelectors of a trail someone switched to advanced event selectors.
AWS_ADVANCED = {
    "TrailARN": TRAIL_ARN,
    "AdvancedEventSelectors": [
        {
            "Name": "Management events selector",
            "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
        }
    ],
}
# DescribeConfigurationRecorders on AWS since the 2023 recording-strategy and 2024
# recording-mode additions: more than PutConfigurationRecorder was sent.
AWS_RECORDER = {
    "name": "tradeops-prod",
    "roleARN": f"arn:aws:iam::{ACCOUNT}:role/tradeops-prod-config",
    "recordingGroup": {
        "allSupported": True,
        "includeGlobalResourceTypes": True,
        "resourceTypes": [],
        "exclusionByResourceTypes": {"resourceTypes": []},
        "recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"},
    },
    "recordingMode": {"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []},
    "recordingScope": "PAID",
}
# DescribeConfigRules on AWS for a managed rule created without parameters.
AWS_RULE = {
    "ConfigRuleName": "restricted-ssh",
    "ConfigRuleArn": f"arn:aws:config:us-east-1:{ACCOUNT}:config-rule/config-rule-a1b2c3",
    "ConfigRuleId": "config-rule-a1b2c3",
    "Description": "No security group allows SSH (TCP 22) from 0.0.0.0/0 or ::/0.",
    "Scope": {"ComplianceResourceTypes": ["AWS::EC2::SecurityGroup"]},
    "Source": {"Owner": "AWS", "SourceIdentifier": "INCOMING_SSH_DISABLED"},
    "InputParameters": "{}",
    "ConfigRuleState": "ACTIVE",
    "EvaluationModes": [{"Mode": "DETECTIVE"}],
}
RULE = {
    "name": "restricted-ssh",
    "identifier": "INCOMING_SSH_DISABLED",
    "resource_types": ["AWS::EC2::SecurityGroup"],
    "parameters": {},
    "description": "No security group allows SSH (TCP 22) from 0.0.0.0/0 or ::/0.",
}
WANT_TRAIL = {
    "name": "tradeops-prod",
    "bucket": "tradeops-prod-111122223333-compliance",
    "kms_key_arn": KEY,
    "read_write_type": "All",
    "exclude_management_event_sources": [],
    "cloudwatch": {"log_group_arn": GROUP_ARN, "role_arn": ROLE_ARN},
}
TAGS = {"Environment": "production"}


def _trail(**change):
    return trail_differences(
        WANT_TRAIL, dict(AWS_TRAIL, **change), {"IsLogging": True}, AWS_SELECTORS, TAGS, TAGS
    )


def test_the_trail_as_aws_describes_it_is_converged():
    assert _trail() == []


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"IsMultiRegionTrail": False}, "multi-region is False"),
        ({"LogFileValidationEnabled": False}, "log file validation is False"),
        ({"KmsKeyId": None}, "KMS key is None"),
        ({"S3BucketName": "elsewhere"}, "bucket is 'elsewhere'"),
        ({"S3KeyPrefix": "ct"}, "S3 key prefix is 'ct'"),
        ({"CloudWatchLogsLogGroupArn": GROUP_ARN[:-2]}, "CloudWatch Logs group"),
    ],
)
def test_each_trail_setting_is_compared(change, needle):
    assert any(needle in d for d in _trail(**change)), _trail(**change)


def test_a_stopped_trail_is_drift():
    found = trail_differences(
        WANT_TRAIL, AWS_TRAIL, {"IsLogging": False}, AWS_SELECTORS, TAGS, TAGS
    )
    assert found == ["trail tradeops-prod: logging is stopped"]


def test_without_cloudwatch_in_the_spec_its_settings_are_not_compared():
    want = dict(WANT_TRAIL, cloudwatch=None)
    got = {k: v for k, v in AWS_TRAIL.items() if not k.startswith("CloudWatch")}
    assert trail_differences(want, got, {"IsLogging": True}, AWS_SELECTORS, TAGS, TAGS) == []


def test_the_trail_is_found_by_name_even_where_the_filter_is_ignored():
    """moto answers every trail of the region whatever trailNameList says."""
    other = dict(AWS_TRAIL, Name="org-trail", TrailARN=TRAIL_ARN.replace("tradeops-prod", "o"))
    shadow = dict(AWS_TRAIL, HomeRegion="eu-west-1")
    assert find_trail([other, AWS_TRAIL], "tradeops-prod", "us-east-1") is AWS_TRAIL
    assert find_trail([shadow], "tradeops-prod", "us-east-1") is None
    assert find_trail([], "tradeops-prod", "us-east-1") is None


def test_event_selectors():
    want = management_selector()
    assert selector_differences(want, AWS_SELECTORS) == []
    # moto: a new trail has no selectors at all (AWS gives it the one above).
    assert selector_differences(want, {"TrailARN": TRAIL_ARN, "EventSelectors": []}) == [
        "records no event selectors (no management events)"
    ]
    assert selector_differences(want, AWS_ADVANCED) == [
        "records with advanced event selectors, want one basic selector"
    ]
    write_only = copy.deepcopy(AWS_SELECTORS)
    write_only["EventSelectors"][0]["ReadWriteType"] = "WriteOnly"
    assert selector_differences(want, write_only)
    assert selector_differences(management_selector("WriteOnly"), write_only) == []
    # An answer without the optional keys (an older selector) reads as their defaults.
    bare = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}
    assert selector_differences(want, bare) == []
    excluded = management_selector("All", ["rdsdata.amazonaws.com", "kms.amazonaws.com"])
    assert excluded["ExcludeManagementEventSources"] == [
        "kms.amazonaws.com",
        "rdsdata.amazonaws.com",
    ]


def test_the_recorder_as_aws_describes_it_is_converged():
    want = recorder_payload("tradeops-prod", AWS_RECORDER["roleARN"], True, True)
    assert recorder_differences(want, AWS_RECORDER) == []
    # moto's answer (no recordingMode) too.
    moto = {k: v for k, v in AWS_RECORDER.items() if k not in ("recordingMode", "recordingScope")}
    assert recorder_differences(want, moto) == []


def test_recorder_differences():
    want = recorder_payload("tradeops-prod", AWS_RECORDER["roleARN"], True, False)
    assert recorder_differences(want, AWS_RECORDER) == [
        "configuration recorder tradeops-prod: includeGlobalResourceTypes is True, want False"
    ]
    assert recorder_differences(want, None) == [
        "configuration recorder tradeops-prod does not exist"
    ]
    other_role = dict(AWS_RECORDER, roleARN="arn:aws:iam::1:role/x")
    assert (
        "role is arn:aws:iam::1:role/x"
        in recorder_differences(
            recorder_payload("tradeops-prod", AWS_RECORDER["roleARN"], True, True), other_role
        )[0]
    )


def test_delivery_channel():
    want = {
        "name": "tradeops-prod",
        "bucket": "b-logs",
        "kms_key_arn": KEY,
        "delivery_frequency": "TwentyFour_Hours",
    }
    got = {
        "name": "tradeops-prod",
        "s3BucketName": "b-logs",
        "s3KmsKeyArn": KEY,
        "configSnapshotDeliveryProperties": {"deliveryFrequency": "TwentyFour_Hours"},
    }
    assert channel_differences(want, got) == []
    assert channel_differences(want, dict(got, s3KeyPrefix="config")) == [
        "delivery channel tradeops-prod: S3 key prefix is 'config', want ''"
    ]
    assert channel_differences(want, None) == ["delivery channel tradeops-prod does not exist"]


def test_the_rule_as_aws_describes_it_is_converged():
    assert rule_differences(RULE, AWS_RULE) == []
    # moto: no InputParameters, no EvaluationModes.
    moto = {k: v for k, v in AWS_RULE.items() if k not in ("InputParameters", "EvaluationModes")}
    assert rule_differences(RULE, moto) == []


def test_rule_payload_and_parameters():
    payload = rule_payload(dict(RULE, parameters={"kmsId": "alias/x", "n": 3}))
    assert payload["Source"] == {"Owner": "AWS", "SourceIdentifier": "INCOMING_SSH_DISABLED"}
    assert payload["Scope"] == {"ComplianceResourceTypes": ["AWS::EC2::SecurityGroup"]}
    assert json.loads(payload["InputParameters"]) == {"kmsId": "alias/x", "n": "3"}
    assert "InputParameters" not in rule_payload(RULE)
    with_params = dict(AWS_RULE, InputParameters='{"n": "3", "kmsId": "alias/x"}')
    assert rule_differences(dict(RULE, parameters={"kmsId": "alias/x", "n": 3}), with_params) == []
    assert rule_differences(RULE, with_params) == [
        "Config rule restricted-ssh: parameters is {'n': '3', 'kmsId': 'alias/x'}, want {}"
    ]


def test_describe_rules_follows_next_token():
    class Pages:
        def __init__(self):
            self.calls = []

        def describe_config_rules(self, **kwargs):
            self.calls.append(kwargs)
            if not kwargs:
                return {"ConfigRules": [AWS_RULE], "NextToken": "t"}
            return {"ConfigRules": [dict(AWS_RULE, ConfigRuleName="other")]}

    pages = Pages()
    assert set(describe_rules(pages)) == {"restricted-ssh", "other"}
    assert pages.calls == [{}, {"NextToken": "t"}]


def test_canonical_policy_ignores_form_not_meaning():
    a = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
        ],
    }
    b = {
        "Statement": [
            {"Resource": "*", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Effect": "Allow"},
            {"Action": "s3:PutObject", "Effect": "Allow", "Resource": ["arn:aws:s3:::b/*"]},
        ],
        "Version": "2012-10-17",
    }
    assert canonical_policy(a) == canonical_policy(json.dumps(b))
    b["Statement"][1]["Condition"] = {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*"}}
    assert canonical_policy(a) != canonical_policy(b)


# --------------------------------------------------------------------------- the layer
@pytest.mark.parametrize("inventory", ["production", "lab"])
def test_the_layer_on_a_converged_world(inventory):
    spec = render("audit", inventory)
    differences, outputs = build("audit", spec).state("audit", spec)
    assert differences == []
    assert outputs["trail"]["arn"].endswith(":trail/" + spec["trail"]["name"])
    assert outputs["trail"]["bucket"].endswith("-compliance")
    assert set(outputs["config"]["regions"]) == {"us-east-1", "us-west-2"}
    for region in outputs["config"]["regions"].values():
        assert set(region["rules"]) == {
            "encrypted-volumes",
            "rds-storage-encrypted",
            "s3-bucket-level-public-access-prohibited",
            "restricted-ssh",
        }


def test_the_specs_put_the_trail_and_config_where_aws_allows():
    for inventory in ("production", "lab"):
        spec = render("audit", inventory)
        # The trail into the Object Lock bucket, AWS Config not (it cannot deliver there).
        assert spec["trail"]["bucket"].endswith("-compliance")
        assert spec["config"]["bucket"].endswith("-logs")
        assert spec["config"]["enabled"] is True
        assert spec["config"]["global_resources_region"] == spec["region"]
        assert spec["trail"]["cloudwatch"]["log_group_arn"].endswith(":*")


def test_with_config_off_nothing_of_it_is_described():
    spec = render("audit", "production")
    spec["config"]["enabled"] = False
    world = build("audit", spec)
    used = []
    clients = world.clients

    def recording_clients(service, region=None):
        used.append(service)
        return clients(service, region)

    differences, outputs = audit_state(recording_clients, spec)
    assert differences == []
    assert "config" not in used
    assert outputs["config"] == {"enabled": False}


def test_a_recorder_of_another_name_is_reported_not_replaced():
    spec = render("audit", "production")
    world = build("audit", spec)
    world.d("config", "us-west-2")["recorders"][0]["name"] = "default"
    differences, _outputs = world.state("audit", spec)
    assert (
        "Config in us-west-2: the region already has the recorder default"
        " (AWS allows one per region)" in differences
    )
