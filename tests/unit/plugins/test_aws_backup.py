"""Unit tests for the backup layer's comparisons (module_utils/aws_backup.py), on answers
shaped as AWS returns them."""

from __future__ import annotations

import pytest
from ansible_collections.tradeops.platform.plugins.module_utils.aws_backup import (
    alarm_differences,
    backup_state,
    describe_vault,
    plan_rule_differences,
    selection_differences,
    tag_changes,
    vault_differences,
)
from botocore.exceptions import ClientError

KEY = "arn:aws:kms:us-east-1:123456789012:key/1c2b60e5-323a-400c-818b-4b2855ed87f1"
DR_VAULT = "arn:aws:backup:us-west-2:123456789012:backup-vault:tradeops-prod-dr"
TAGS = {"Environment": "prod", "Project": "tradeops"}
WANT_VAULT = {"key": "primary", "name": "tradeops-prod", "region": "us-east-1", "key_arn": KEY}
WANT_RULE = {
    "name": "daily",
    "vault": "tradeops-prod",
    "schedule": "cron(0 5 ? * * *)",
    "start_window": 60,
    "completion_window": 480,
    "delete_after_days": 30,
    "copy_to": [{"vault_arn": DR_VAULT, "delete_after_days": 30}],
}
# GetBackupPlan's BackupPlan.Rules[0], as AWS answers for the rule above.
GOT_RULE = {
    "RuleName": "daily",
    "TargetBackupVaultName": "tradeops-prod",
    "ScheduleExpression": "cron(0 5 ? * * *)",
    "StartWindowMinutes": 60,
    "CompletionWindowMinutes": 480,
    "Lifecycle": {"DeleteAfterDays": 30},
    "RuleId": "874e86a8-64f3-4471-a5fd-4c07eca31f54",
    "CopyActions": [{"Lifecycle": {"DeleteAfterDays": 30}, "DestinationBackupVaultArn": DR_VAULT}],
    "ScheduleExpressionTimezone": "Etc/UTC",
}
WANT_SELECTION = {
    "enabled": True,
    "name": "tradeops-prod-tagged",
    "iam_role_arn": "arn:aws:iam::123456789012:role/tradeops-prod-backup",
    "resources": ["arn:aws:rds:us-east-1:123456789012:db:*", "arn:aws:ec2:us-east-1:*:volume/*"],
    "conditions": [{"key": "Backup", "value": "true"}, {"key": "Environment", "value": "prod"}],
}
GOT_SELECTION = {
    "SelectionName": "tradeops-prod-tagged",
    "IamRoleArn": "arn:aws:iam::123456789012:role/tradeops-prod-backup",
    "Resources": ["arn:aws:ec2:us-east-1:*:volume/*", "arn:aws:rds:us-east-1:123456789012:db:*"],
    "ListOfTags": [],
    "NotResources": [],
    "Conditions": {
        "StringEquals": [
            {"ConditionKey": "aws:ResourceTag/Environment", "ConditionValue": "prod"},
            {"ConditionKey": "aws:ResourceTag/Backup", "ConditionValue": "true"},
        ],
        "StringNotEquals": [],
        "StringLike": [],
        "StringNotLike": [],
    },
}


def test_vault_converged():
    got = {"BackupVaultName": "tradeops-prod", "EncryptionKeyArn": KEY}
    assert vault_differences(WANT_VAULT, got, dict(TAGS, **{"aws:x": "1"}), TAGS) == []


def test_vault_missing_wrong_key_and_tags():
    assert vault_differences(WANT_VAULT, None, {}, TAGS) == [
        "backup vault tradeops-prod (us-east-1) does not exist"
    ]
    got = {"EncryptionKeyArn": KEY.replace("1c2b", "ffff")}
    (key_diff, tag_diff) = vault_differences(WANT_VAULT, got, {"Owner": "x"}, TAGS)
    assert "cannot change" in key_diff
    assert "to remove ['Owner']" in tag_diff


def test_tag_changes_keep_aws_tags_and_purge_only_when_asked():
    actual = {"Environment": "old", "Extra": "1", "aws:backup:source-resource": "x"}
    assert tag_changes(actual, TAGS, purge=True) == (TAGS, ["Extra"])
    assert tag_changes(actual, TAGS, purge=False) == (TAGS, [])


def test_plan_converged():
    assert plan_rule_differences("p", [WANT_RULE], [GOT_RULE]) == []


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"Lifecycle": {"DeleteAfterDays": 7}}, "retention (days) is 7, want 30"),
        ({"Lifecycle": {"DeleteAfterDays": 30, "MoveToColdStorageAfterDays": 1}}, "cold storage"),
        ({"CopyActions": []}, "copies is []"),
        ({"TargetBackupVaultName": "other"}, "target vault is other"),
        ({"ScheduleExpression": "cron(0 1 ? * * *)"}, "schedule"),
        ({"RuleName": "hourly"}, "rule hourly is not in the spec"),
    ],
)
def test_plan_differences(change, needle):
    diffs = plan_rule_differences("p", [WANT_RULE], [dict(GOT_RULE, **change)])
    assert any(needle in d for d in diffs), diffs


def test_plan_with_daily_weekly_monthly_rules_in_any_order():
    weekly = dict(WANT_RULE, name="weekly", schedule="cron(0 5 ? * SUN *)", delete_after_days=90)
    monthly = dict(WANT_RULE, name="monthly", schedule="cron(0 5 1 * ? *)", delete_after_days=365)
    got_weekly = dict(
        GOT_RULE,
        RuleName="weekly",
        ScheduleExpression="cron(0 5 ? * SUN *)",
        Lifecycle={"DeleteAfterDays": 90},
    )
    got_monthly = dict(
        GOT_RULE,
        RuleName="monthly",
        ScheduleExpression="cron(0 5 1 * ? *)",
        Lifecycle={"DeleteAfterDays": 365},
    )
    want = [WANT_RULE, weekly, monthly]
    assert plan_rule_differences("p", want, [got_monthly, GOT_RULE, got_weekly]) == []
    # The monthly rule lost, the weekly one kept 30 days: two differences, named.
    got_weekly_short = dict(got_weekly, Lifecycle={"DeleteAfterDays": 30})
    diffs = plan_rule_differences("p", want, [GOT_RULE, got_weekly_short])
    assert diffs == [
        "backup plan p, rule weekly: retention (days) is 30, want 90",
        "backup plan p, rule monthly does not exist",
    ]


def test_plan_copy_retention_differs():
    got = dict(
        GOT_RULE,
        CopyActions=[{"Lifecycle": {"DeleteAfterDays": 1}, "DestinationBackupVaultArn": DR_VAULT}],
    )
    (diff,) = plan_rule_differences("p", [WANT_RULE], [got])
    assert "copies" in diff


def test_selection_converged_whatever_the_order():
    assert selection_differences(WANT_SELECTION, GOT_SELECTION) == []


def test_selection_tag_value_compared_as_the_string_aws_stores():
    """A YAML boolean tag value (Backup: true) is sent as its string, as the role's
    `value | string` renders it; the comparison must not see a difference."""
    want = dict(WANT_SELECTION, conditions=[{"key": "Backup", "value": True}])
    got = dict(
        GOT_SELECTION,
        Conditions={
            "StringEquals": [{"ConditionKey": "aws:ResourceTag/Backup", "ConditionValue": "True"}]
        },
    )
    assert selection_differences(want, got) == []


def test_selection_differences():
    assert selection_differences(WANT_SELECTION, None) == [
        "backup selection tradeops-prod-tagged does not exist"
    ]
    got = dict(GOT_SELECTION, IamRoleArn="arn:aws:iam::123456789012:role/other")
    assert "role is" in selection_differences(WANT_SELECTION, got)[0]
    got = dict(
        GOT_SELECTION, Conditions={"StringEquals": GOT_SELECTION["Conditions"]["StringEquals"][:1]}
    )
    assert "tag conditions" in selection_differences(WANT_SELECTION, got)[0]
    got = dict(GOT_SELECTION, ListOfTags=[{"ConditionType": "STRINGEQUALS"}])
    assert "beyond" in selection_differences(WANT_SELECTION, got)[0]


class _Backup:
    def __init__(self, code):
        self.code = code

    def describe_backup_vault(self, BackupVaultName):
        raise ClientError({"Error": {"Code": self.code, "Message": BackupVaultName}}, "Describe")


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException"])
def test_missing_vault_is_none_as_aws_and_moto_answer(code):
    assert describe_vault(_Backup(code), "v") is None


def test_other_errors_are_raised():
    with pytest.raises(ClientError):
        describe_vault(_Backup("ThrottlingException"), "v")


WANT_ALARM = {
    "key": "age",
    "name": "tradeops-prod-backup-age",
    "namespace": "AWS/Backup",
    "metric": "NumberOfBackupJobsCompleted",
    "dimensions": {"BackupVaultName": "tradeops-prod"},
    "statistic": "Sum",
    "comparison": "LessThanThreshold",
    "threshold": 1,
    "period": 3600,
    "evaluation_periods": 26,
    "datapoints_to_alarm": 26,
    "treat_missing_data": "breaching",
    "actions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
    "description": "BackupTooOld",
}
# DescribeAlarms' MetricAlarms entry for the alarm above.
GOT_ALARM = {
    "AlarmName": "tradeops-prod-backup-age",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:tradeops-prod-backup-age",
    "AlarmDescription": "BackupTooOld",
    "ActionsEnabled": True,
    "OKActions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
    "InsufficientDataActions": [],
    "StateValue": "OK",
    "MetricName": "NumberOfBackupJobsCompleted",
    "Namespace": "AWS/Backup",
    "Statistic": "Sum",
    "Dimensions": [{"Name": "BackupVaultName", "Value": "tradeops-prod"}],
    "Period": 3600,
    "EvaluationPeriods": 26,
    "DatapointsToAlarm": 26,
    "Threshold": 1.0,
    "ComparisonOperator": "LessThanThreshold",
    "TreatMissingData": "breaching",
}


def test_alarm_converged():
    assert alarm_differences(WANT_ALARM, GOT_ALARM) == []
    assert alarm_differences(WANT_ALARM, None) == ["alarm tradeops-prod-backup-age does not exist"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"TreatMissingData": "notBreaching"}, "missing data is notBreaching, want breaching"),
        ({"EvaluationPeriods": 168}, "evaluation periods is 168, want 26"),
        ({"DatapointsToAlarm": 1}, "datapoints to alarm is 1, want 26"),
        ({"AlarmActions": []}, "alarm actions is []"),
        ({"ActionsEnabled": False}, "actions enabled is False"),
        ({"Dimensions": [{"Name": "BackupVaultName", "Value": "x"}]}, "dimensions"),
        ({"Threshold": 2.0}, "threshold is 2.0, want 1.0"),
    ],
)
def test_alarm_differences(change, needle):
    diffs = alarm_differences(WANT_ALARM, dict(GOT_ALARM, **change))
    assert len(diffs) == 1 and needle in diffs[0], diffs


def test_alarm_without_datapoints_to_alarm_means_all_periods():
    got = {k: v for k, v in GOT_ALARM.items() if k != "DatapointsToAlarm"}
    assert alarm_differences(WANT_ALARM, got) == []
    assert alarm_differences(dict(WANT_ALARM, datapoints_to_alarm=3), got) == [
        "alarm tradeops-prod-backup-age: datapoints to alarm is 26, want 3"
    ]


class _Paginator:
    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **_kwargs):
        return iter(self.pages)


class _Account:
    """Read-only backup and cloudwatch clients answering from recorded shapes."""

    def __init__(self, vaults, plans, alarms):
        self.vaults, self.plans, self.alarms = vaults, plans, alarms
        self.calls = []

    def __call__(self, service, region):
        self.region = region
        return self

    def describe_backup_vault(self, BackupVaultName):
        self.calls.append("DescribeBackupVault")
        key = (self.region, BackupVaultName)
        if key not in self.vaults:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "Describe")
        return self.vaults[key]

    def list_tags(self, ResourceArn):
        return {"Tags": dict(TAGS)}

    def get_paginator(self, name):
        self.calls.append(name)
        if name == "list_backup_plans":
            return _Paginator([{"BackupPlansList": list(self.plans)}])
        if name == "describe_alarms":
            return _Paginator([{"MetricAlarms": list(self.alarms)}])
        raise AssertionError(f"unexpected paginator {name}")

    def get_backup_plan(self, BackupPlanId):
        return self.plans[0]["full"]


def _spec():
    dr = dict(WANT_VAULT, key="dr", name="tradeops-prod-dr", region="us-west-2")
    return {
        "tags": TAGS,
        "vaults": [WANT_VAULT, dr],
        "plan": {"name": "tradeops-prod", "region": "us-east-1", "rules": [WANT_RULE]},
        "selection": dict(WANT_SELECTION, enabled=False),
        "alarms": [WANT_ALARM],
    }


def _vault(region, name):
    return {
        "BackupVaultName": name,
        "BackupVaultArn": f"arn:aws:backup:{region}:123456789012:backup-vault:{name}",
        "EncryptionKeyArn": KEY,
    }


def _account(alarms=(GOT_ALARM,), dr=True):
    vaults = {("us-east-1", "tradeops-prod"): _vault("us-east-1", "tradeops-prod")}
    if dr:
        vaults[("us-west-2", "tradeops-prod-dr")] = _vault("us-west-2", "tradeops-prod-dr")
    plan = {
        "BackupPlanName": "tradeops-prod",
        "BackupPlanId": "id-1",
        "full": {
            "BackupPlanId": "id-1",
            "BackupPlanArn": "arn:aws:backup:us-east-1:123456789012:backup-plan:id-1",
            "VersionId": "v1",
            "BackupPlan": {"Rules": [GOT_RULE]},
        },
    }
    return _Account(vaults, [plan], list(alarms))


def test_backup_state_converged_with_selection_unmanaged():
    account = _account()
    differences, outputs = backup_state(account, _spec())
    assert differences == []
    assert set(outputs["vaults"]) == {"primary", "dr"}
    assert outputs["selection"] == {"name": "tradeops-prod-tagged", "managed": False}
    assert outputs["alarms"]["age"]["name"] == "tradeops-prod-backup-age"
    assert "list_backup_selections" not in account.calls  # moto has no such API


def test_backup_state_names_what_is_missing():
    differences, outputs = backup_state(_account(alarms=(), dr=False), _spec())
    assert differences == [
        "backup vault tradeops-prod-dr (us-west-2) does not exist",
        "alarm tradeops-prod-backup-age does not exist",
    ]
    assert set(outputs["vaults"]) == {"primary"} and outputs["alarms"] == {}
