"""aws_backup's effect in the scenario's moto: the vaults of both regions encrypted with
their data keys, the plan's rules (daily, weekly, monthly) kept in the primary vault and
copied to the DR vault, and the alarms on AWS Backup's job metrics to the prepared alarms
layer's warning topic. Not here: the tag-based selection, which moto has no API for (the lab
switches it off, inventories/lab/group_vars/all/backup.yml)."""

from __future__ import annotations

import pytest

DR = "us-west-2"
VAULTS = {"us-east-1": "tradeops-lab", DR: "tradeops-lab-dr"}
# rule: (schedule, retention days in each vault)
RULES = {
    "daily": ("cron(0 5 ? * * *)", 30),
    "weekly": ("cron(0 5 ? * SUN *)", 90),
    "monthly": ("cron(0 5 1 * ? *)", 365),
}


@pytest.fixture(scope="module")
def plan(aws):
    backup = aws("backup")
    (summary,) = [
        p
        for p in backup.list_backup_plans()["BackupPlansList"]
        if p["BackupPlanName"] == "tradeops-lab"
    ]
    return backup.get_backup_plan(BackupPlanId=summary["BackupPlanId"])


@pytest.mark.parametrize("region", list(VAULTS))
def test_a_vault_per_region_encrypted_with_its_data_key(aws, outputs, region, standard_tags):
    backup = aws("backup", region)
    vault = backup.describe_backup_vault(BackupVaultName=VAULTS[region])
    assert vault["EncryptionKeyArn"] == outputs("security")["kms_keys"]["data"][region]["arn"]
    tags = backup.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]
    assert set(tags) >= standard_tags and tags["Environment"] == "lab"


def test_the_plan_keeps_each_rule_in_the_primary_vault_and_copies_it_to_dr(plan):
    rules = {r["RuleName"]: r for r in plan["BackupPlan"]["Rules"]}
    assert set(rules) == set(RULES)
    dr_vault = f"arn:aws:backup:{DR}:123456789012:backup-vault:{VAULTS[DR]}"
    for name, (schedule, days) in RULES.items():
        rule = rules[name]
        assert rule["TargetBackupVaultName"] == VAULTS["us-east-1"], name
        assert rule["ScheduleExpression"] == schedule, name
        assert rule["Lifecycle"]["DeleteAfterDays"] == days, name
        assert (rule["StartWindowMinutes"], rule["CompletionWindowMinutes"]) == (60, 480), name
        (copy,) = rule["CopyActions"]
        assert copy["DestinationBackupVaultArn"] == dr_vault, name
        assert copy["Lifecycle"]["DeleteAfterDays"] == days, name


def test_the_plan_carries_the_standard_tags(aws, plan, standard_tags):
    tags = aws("backup").list_tags(ResourceArn=plan["BackupPlanArn"])["Tags"]
    assert set(tags) >= standard_tags


def test_failed_and_missing_backups_alarm_the_warning_topic(aws, outputs):
    warning = outputs("alarms")["topics"]["warning"]
    found = {
        a["AlarmName"]: a
        for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix="tradeops-lab-backup-")[
            "MetricAlarms"
        ]
    }
    assert set(found) == {"tradeops-lab-backup-failed", "tradeops-lab-backup-age"}
    failed, age = found["tradeops-lab-backup-failed"], found["tradeops-lab-backup-age"]
    for alarm in (failed, age):
        assert alarm["Namespace"] == "AWS/Backup"
        assert alarm["Dimensions"] == [{"Name": "BackupVaultName", "Value": VAULTS["us-east-1"]}]
        assert alarm["AlarmActions"] == alarm["OKActions"] == [warning]
    assert (failed["MetricName"], failed["ComparisonOperator"], failed["Threshold"]) == (
        "NumberOfBackupJobsFailed",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert (age["MetricName"], age["ComparisonOperator"], age["EvaluationPeriods"]) == (
        "NumberOfBackupJobsCompleted",
        "LessThanThreshold",
        26,
    )
