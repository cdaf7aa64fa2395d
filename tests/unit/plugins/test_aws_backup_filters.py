"""Filters of AWS Backup (plugins/filter/aws_backup.py): the home region's plan and alarms the
backup layer builds, the DR region's plan and alarms re-protect builds while that region is
active, and what keeps them one definition: the layer's spec as its role renders it and the
dr role's copies of the backup layer's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.aws_backup import (
    FilterModule,
    aws_backup_alarms,
    aws_backup_plan,
    aws_backup_plan_rules,
    aws_backup_reprotect,
    aws_backup_selection_conditions,
)
from jinja2.nativetypes import NativeEnvironment

from .aws_specs import earlier_outputs
from .aws_specs import render as render_spec

ROOT = Path(__file__).resolve().parents[3]
HOME, DR = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
RULES = [
    {
        "name": "daily",
        "schedule": "cron(0 5 ? * * *)",
        "retention_days": 30,
        "dr_retention_days": 7,
    },
    {
        "name": "weekly",
        "schedule": "cron(0 5 ? * SUN *)",
        "retention_days": "90",
        "dr_retention_days": 90,
    },
]
HOME_VAULT_ARN = f"arn:aws:backup:{HOME}:{ACCOUNT}:backup-vault:p-lab"
DR_VAULT_ARN = f"arn:aws:backup:{DR}:{ACCOUNT}:backup-vault:p-lab-dr"


def plan(active=None, rules=None):
    return aws_backup_plan(rules or RULES, "p-lab", ACCOUNT, HOME, DR, "60", 480, active)


def test_the_home_plan_keeps_its_points_at_home_and_copies_them_to_the_dr_vault():
    got = plan()
    assert {k: v for k, v in got.items() if k != "rules"} == {
        "name": "p-lab",
        "region": HOME,
        "vault": "p-lab",
        "vault_arn": HOME_VAULT_ARN,
        "copy_region": DR,
        "copy_vault": "p-lab-dr",
        "copy_vault_arn": DR_VAULT_ARN,
        "selection_name": "p-lab-tagged",
    }
    assert got["rules"] == [
        {
            "name": "daily",
            "vault": "p-lab",
            "schedule": "cron(0 5 ? * * *)",
            "start_window": 60,
            "completion_window": 480,
            "delete_after_days": 30,
            "copy_to": [{"vault_arn": DR_VAULT_ARN, "delete_after_days": 7}],
        },
        {
            "name": "weekly",
            "vault": "p-lab",
            "schedule": "cron(0 5 ? * SUN *)",
            "start_window": 60,
            "completion_window": 480,
            "delete_after_days": 90,
            "copy_to": [{"vault_arn": DR_VAULT_ARN, "delete_after_days": 90}],
        },
    ]
    assert plan(HOME) == got


def test_with_the_dr_region_active_the_same_rules_fill_the_dr_vault_and_copy_home():
    got = plan(DR)
    assert (got["name"], got["region"], got["vault"], got["vault_arn"]) == (
        "p-lab-dr",
        DR,
        "p-lab-dr",
        DR_VAULT_ARN,
    )
    assert (got["copy_region"], got["copy_vault"], got["copy_vault_arn"]) == (
        HOME,
        "p-lab",
        HOME_VAULT_ARN,
    )
    assert got["selection_name"] == "p-lab-tagged"
    home = plan()
    for mine, theirs in zip(got["rules"], home["rules"], strict=True):
        # The same schedule, windows and retentions; only the two vaults trade places.
        assert mine["vault"] == "p-lab-dr" and mine["copy_to"][0]["vault_arn"] == HOME_VAULT_ARN
        for key in ("name", "schedule", "start_window", "completion_window", "delete_after_days"):
            assert mine[key] == theirs[key]
        assert mine["copy_to"][0]["delete_after_days"] == theirs["copy_to"][0]["delete_after_days"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((RULES, "", ACCOUNT, HOME, DR, 60, 480), "the backup name is empty"),
        ((RULES, "p", ACCOUNT, HOME, HOME, 60, 480), "must be two different regions"),
        ((RULES, "p", ACCOUNT, HOME, "", 60, 480), "must be two different regions"),
        ((RULES, "p", ACCOUNT, HOME, DR, 60, 480, "eu-west-1"), "must be us-east-1 or us-west-2"),
        (([], "p", ACCOUNT, HOME, DR, 60, 480), "at least one rule"),
        (([{"name": "daily", "retention_days": 1}], "p", ACCOUNT, HOME, DR, 60, 480),
         "has no schedule"),
        (
            ([dict(RULES[0], retention_days=0)], "p", ACCOUNT, HOME, DR, 60, 480),
            "rule daily: retention_days must be at least 1 day, got 0",
        ),
        (
            ([dict(RULES[0], dr_retention_days="a")], "p", ACCOUNT, HOME, DR, 60, 480),
            "rule daily: dr_retention_days must be a number of days",
        ),
    ],
    ids=["no-name", "same-regions", "no-dr-region", "foreign-active", "no-rules", "no-schedule",
         "zero-days", "not-days"],
)  # fmt: skip
def test_a_plan_that_cannot_be_built_says_why(args, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        aws_backup_plan(*args)


def test_the_rules_become_backup_plans_module_arguments():
    assert aws_backup_plan_rules(plan(DR)["rules"][:1]) == [
        {
            "rule_name": "daily",
            "target_backup_vault_name": "p-lab-dr",
            "schedule_expression": "cron(0 5 ? * * *)",
            "start_window_minutes": 60,
            "completion_window_minutes": 480,
            "lifecycle": {"delete_after_days": 30},
            "copy_actions": [
                {
                    "destination_backup_vault_arn": HOME_VAULT_ARN,
                    "lifecycle": {"delete_after_days": 7},
                }
            ],
        }
    ]
    assert aws_backup_plan_rules(None) == []


def test_selection_conditions_require_every_tag():
    assert aws_backup_selection_conditions({"Backup": "true", "Tier": 1}) == [
        {"condition_key": "aws:ResourceTag/Backup", "condition_value": "true"},
        {"condition_key": "aws:ResourceTag/Tier", "condition_value": "1"},
    ]
    assert aws_backup_selection_conditions(None) == []


RESOURCES = [
    f"arn:aws:rds:{HOME}:{ACCOUNT}:db:*",
    f"arn:aws:ec2:{HOME}:{ACCOUNT}:volume/*",
    "arn:aws:iam::123456789012:role/x",  # global: no region to move
]


def reprotect(protect, resources=None, max_age_hours=26, alarm_actions=None):
    return aws_backup_reprotect(
        RULES,
        name="p-lab",
        account_id=ACCOUNT,
        home_region=HOME,
        dr_region=DR,
        protect_region=protect,
        start_window=60,
        completion_window=480,
        resources=RESOURCES if resources is None else resources,
        max_age_hours=max_age_hours,
        alarm_actions=alarm_actions,
    )


def test_reprotecting_home_wants_the_dr_regions_plan_with_its_resources():
    got = reprotect(HOME)
    assert (got["state"], got["region"]) == ("present", DR)
    assert got["plan"] == plan(DR)
    assert got["resources"] == [
        f"arn:aws:rds:{DR}:{ACCOUNT}:db:*",
        f"arn:aws:ec2:{DR}:{ACCOUNT}:volume/*",
        "arn:aws:iam::123456789012:role/x",
    ]


def test_reprotecting_the_dr_region_wants_that_plan_gone_and_never_names_the_home_plan():
    got = reprotect(DR)
    assert (got["state"], got["region"], got["plan"]["name"]) == ("absent", DR, "p-lab-dr")
    assert got["plan"]["name"] != plan()["name"]
    # Its alarms go with it, the home vault's never: only the DR vault's names.
    assert [a["name"] for a in got["alarms"]] == ["p-lab-dr-backup-failed", "p-lab-dr-backup-age"]
    home_names = {a["name"] for a in aws_backup_alarms("p-lab", HOME, 26)}
    assert not home_names & {a["name"] for a in got["alarms"]}


SNS_DR = f"arn:aws:sns:{DR}:{ACCOUNT}:alerts"
SNS_HOME = f"arn:aws:sns:{HOME}:{ACCOUNT}:alerts"


def test_the_alarms_watch_one_vaults_failed_and_completed_jobs():
    failed, age = aws_backup_alarms("p-lab-dr", DR, "30", [SNS_DR])
    runbook = "(docs/runbooks/restore.md#when-an-aws-backup-job-fails)"
    failed_text = f"BackupFailed: an AWS Backup job into p-lab-dr failed in the last hour {runbook}"
    assert failed == {
        "key": "failed",
        "name": "p-lab-dr-backup-failed",
        "namespace": "AWS/Backup",
        "metric": "NumberOfBackupJobsFailed",
        "dimensions": {"BackupVaultName": "p-lab-dr"},
        "statistic": "Sum",
        "comparison": "GreaterThanOrEqualToThreshold",
        "threshold": 1,
        "period": 3600,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "treat_missing_data": "notBreaching",
        "actions": [SNS_DR],
        "description": failed_text,
    }
    assert age == {
        "key": "age",
        "name": "p-lab-dr-backup-age",
        "namespace": "AWS/Backup",
        "metric": "NumberOfBackupJobsCompleted",
        "dimensions": {"BackupVaultName": "p-lab-dr"},
        "statistic": "Sum",
        "comparison": "LessThanThreshold",
        "threshold": 1,
        "period": 3600,
        "evaluation_periods": 30,
        "datapoints_to_alarm": 30,
        "treat_missing_data": "breaching",
        "actions": [SNS_DR],
        "description": f"BackupTooOld: no AWS Backup job into p-lab-dr completed in 30 h {runbook}",
    }
    assert [a["actions"] for a in aws_backup_alarms("p-lab", HOME, 26)] == [[], []]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("", DR, 26), "the vault name is empty"),
        (("v", DR, "a day"), "max_age_hours must be a number of hours"),
        (("v", DR, 1), "max_age_hours must be 2 to 168 .*got 1"),
        (("v", DR, 169), "max_age_hours must be 2 to 168 .*got 169"),
        (("v", DR, 26, SNS_DR), "a list of SNS topic ARNs"),
        (("v", DR, 26, [f"arn:aws:lambda:{DR}:{ACCOUNT}:function:x"]), "notify SNS topics only"),
        (("v", DR, 26, [SNS_HOME]), f"live in {DR}.*{SNS_HOME} is in {HOME}"),
    ],
    ids=["no-vault", "not-hours", "too-few-hours", "too-many-hours", "actions-not-a-list",
         "not-sns", "topic-of-another-region"],
)  # fmt: skip
def test_alarms_that_cannot_be_built_say_why(args, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        aws_backup_alarms(*args)


def test_reprotecting_home_wants_the_dr_vaults_alarms_in_the_dr_region():
    got = reprotect(HOME, max_age_hours=30, alarm_actions=[SNS_DR])
    assert got["alarms"] == aws_backup_alarms("p-lab-dr", DR, 30, [SNS_DR])
    # The DR vault (the DR region's plan's own), with the same rules as the home vault's.
    assert {a["dimensions"]["BackupVaultName"] for a in got["alarms"]} == {got["plan"]["vault"]}
    home = aws_backup_alarms("p-lab", HOME, 30, [])
    strip = ("name", "dimensions", "description", "actions")
    assert [{k: v for k, v in a.items() if k not in strip} for a in got["alarms"]] == [
        {k: v for k, v in a.items() if k not in strip} for a in home
    ]
    # Re-protecting home checks them: a home region's topic cannot notify from the DR region.
    with pytest.raises(AnsibleFilterError, match=f"live in {DR}.*dr_backup_alarm_actions"):
        reprotect(HOME, alarm_actions=[SNS_HOME])
    with pytest.raises(AnsibleFilterError, match="2 to 168"):
        reprotect(HOME, max_age_hours=200)


def test_back_home_the_alarms_are_named_whatever_the_actions_and_age():
    """Removing them needs only their names: the dr role's default actions are the home
    region's (aws_backup_alarm_actions), which must not keep them from going."""
    got = reprotect(DR, max_age_hours="x", alarm_actions=[SNS_HOME])
    assert [(a["name"], a["actions"]) for a in got["alarms"]] == [
        ("p-lab-dr-backup-failed", []),
        ("p-lab-dr-backup-age", []),
    ]


def test_reprotect_refuses_a_third_region_and_what_is_no_arn():
    with pytest.raises(AnsibleFilterError, match="not eu-west-1"):
        reprotect("eu-west-1")
    with pytest.raises(AnsibleFilterError, match="'rds:db' is not an ARN pattern"):
        reprotect(HOME, resources=["rds:db"])
    assert reprotect(HOME, resources=[])["resources"] == []


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "aws_backup_plan",
        "aws_backup_alarms",
        "aws_backup_plan_rules",
        "aws_backup_selection_conditions",
        "aws_backup_reprotect",
    }


# ---- the dr role's copies of the backup layer's defaults -----------------------------------
# roles/dr cannot see roles/aws_backup's defaults: its dr_backup_* default to the inventory's
# aws_backup_* and else to the same values. Rendered without any aws_backup_* set, they
# must equal the backup layer's own defaults.
MIRRORED = {
    "dr_backup_name": "aws_backup_name",
    "dr_backup_rules": "aws_backup_rules",
    "dr_backup_start_window_minutes": "aws_backup_start_window_minutes",
    "dr_backup_completion_window_minutes": "aws_backup_completion_window_minutes",
    "dr_backup_selection_enabled": "aws_backup_selection_enabled",
    "dr_backup_resources": "aws_backup_resources",
    "dr_backup_selection_tags": "aws_backup_selection_tags",
    "dr_backup_max_age_hours": "aws_backup_max_age_hours",
    "dr_backup_alarm_actions": "aws_backup_alarm_actions",
}
CONTEXT = {
    "tradeops_project": "tradeops",
    "tradeops_environment": "lab",
    "aws_region": HOME,
    "aws_account_id": ACCOUNT,
}


def render(value):
    if isinstance(value, str):
        return NativeEnvironment().from_string(value).render(CONTEXT)
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("dr_name", list(MIRRORED))
def test_the_dr_roles_backup_defaults_are_the_backup_layers(dr_name):
    dr = yaml.safe_load((ROOT / "roles/dr/defaults/main.yml").read_text())
    layer = yaml.safe_load((ROOT / "roles/aws_backup/defaults/main.yml").read_text())
    layer_name = MIRRORED[dr_name]
    assert f"{{{{ {layer_name} | default(" in " ".join(dr[dr_name].split()), dr[dr_name]
    assert render(dr[dr_name]) == render(layer[layer_name])


# ---- the backup layer's own spec -----------------------------------------------------------
@pytest.mark.parametrize("inventory", ["production", "lab"])
def test_the_filter_plans_exactly_the_backup_layers_spec(inventory):
    """roles/aws_backup/vars/main.yml builds its spec in Jinja (aws_specs.py renders the
    layers' specs in-process, where no collection filter loads); converge.yml and re-protect
    take the plan from this filter: both must be the same plan."""
    spec = render_spec("backup", inventory)
    layer = yaml.safe_load((ROOT / "roles/aws_backup/defaults/main.yml").read_text())
    home, dr = spec["plan"]["region"], spec["vaults"][1]["region"]
    account = spec["plan"]["rules"][0]["copy_to"][0]["vault_arn"].split(":")[4]
    got = aws_backup_plan(
        layer["aws_backup_rules"],
        spec["plan"]["name"],
        account,
        home,
        dr,
        layer["aws_backup_start_window_minutes"],
        layer["aws_backup_completion_window_minutes"],
    )
    assert got["rules"] == spec["plan"]["rules"]
    assert (got["name"], got["region"]) == (spec["plan"]["name"], home)
    assert [got["vault"], got["copy_vault"]] == [v["name"] for v in spec["vaults"]]
    assert got["selection_name"] == spec["selection"]["name"]
    # The DR region's plan fills the DR vault the layer made, and copies to its home vault.
    reverse = aws_backup_plan(
        layer["aws_backup_rules"],
        spec["plan"]["name"],
        account,
        home,
        dr,
        60,
        480,
        active_region=dr,
    )
    assert (reverse["region"], reverse["vault"]) == (dr, spec["vaults"][1]["name"])
    assert reverse["copy_vault_arn"].endswith(f":{home}:{account}:backup-vault:{got['vault']}")


@pytest.mark.parametrize("inventory", ["production", "lab"])
def test_the_filter_describes_exactly_the_backup_layers_alarms(inventory):
    """roles/aws_backup/vars/main.yml builds its alarms in Jinja (__aws_backup_alarms); re-protect
    takes the DR vault's from aws_backup_alarms: the home vault's from the filter must be the
    layer's, so the DR vault's are the same alarms on the other vault."""
    spec = render_spec("backup", inventory)
    layer = yaml.safe_load((ROOT / "roles/aws_backup/defaults/main.yml").read_text())
    for path in sorted((ROOT / "inventories" / inventory / "group_vars" / "all").glob("*.yml")):
        layer.update(
            {
                k: v
                for k, v in (yaml.safe_load(path.read_text()) or {}).items()
                if k
                in (
                    "aws_backup_max_age_hours",
                    "aws_backup_alarm_actions",
                    "aws_backup_alarm_severity",
                )
            }
        )
    home_vault = spec["vaults"][0]["name"]
    region = spec["plan"]["region"]
    # Besides aws_backup_alarm_actions, the alarms layer's topic of the severity (its outputs).
    topics = earlier_outputs(region, spec["vaults"][1]["region"])["alarms"]["topics"]
    actions = layer["aws_backup_alarm_actions"] + [topics[layer["aws_backup_alarm_severity"]]]
    got = aws_backup_alarms(home_vault, region, layer["aws_backup_max_age_hours"], actions)
    assert got == spec["alarms"]
    assert actions[-1] == f"arn:aws:sns:{region}:{ACCOUNT}:alarms-warning"
    # Named after their vault: the layer's <name>-backup-*, re-protect's <name>-dr-backup-*
    # on the layer's DR vault (the DR region's plan's own).
    assert [a["name"] for a in got] == [f"{home_vault}-backup-failed", f"{home_vault}-backup-age"]
    dr_vault = spec["vaults"][1]["name"]
    assert dr_vault == f"{home_vault}-dr"
