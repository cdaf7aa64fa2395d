# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of AWS Backup: the backup plan of the region that runs the platform.

The vault and plan names, the rules and their cross-region copies in both directions: the
backup layer (roles/aws_backup) builds the home region's plan, which keeps each recovery
point in the home vault and copies it to the DR vault; re-protecting home while the DR
region is active (roles/dr, reprotect_backup.yml) builds the same rules in the DR region,
kept in the DR vault and copied home, and re-protecting the DR region once home again
removes that plan. Both turn the rules into amazon.aws.backup_plan's and
amazon.aws.backup_selection's options with the filters here. The alarms on AWS Backup's job
metrics of a vault (aws_backup_alarms) follow the plan the same way: the backup layer's on the
home vault, re-protect's on the DR vault in the DR region while the DR region's plan fills it.
The layer's spec itself (roles/aws_backup/vars/main.yml) stays Jinja: the tests render the
layers' specs in-process (tests/unit/plugins/aws_specs.py); its unit test holds
aws_backup_plan and aws_backup_alarms equal to that spec. Documentation for each filter lives
in plugins/filter/<filter>.yml.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# The DR region's vault is <name>-dr; so is the plan that fills it while the DR region is
# active (a vault name is 2 to 50 characters, a plan name 1 to 50: the backup layer's
# preflight keeps <name> to 47).
DR_SUFFIX = "-dr"
SELECTION_SUFFIX = "-tagged"
_RULE_KEYS = ("name", "schedule", "retention_days", "dr_retention_days")
# The alarms on a vault's job metrics: AWS Backup publishes them per vault, hourly periods;
# CloudWatch evaluates at most 7 days of them (168), and the backup-age alarm needs two.
ALARM_PERIOD = 3600
MAX_AGE_HOURS = (2, 168)
_SNS_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):[0-9]{12}:[A-Za-z0-9_-]+$")
_ALARM_RUNBOOK = "docs/runbooks/restore.md#when-an-aws-backup-job-fails"


def _vault_arn(region, account_id, vault):
    return f"arn:aws:backup:{region}:{account_id}:backup-vault:{vault}"


def _days(rule, key):
    try:
        days = int(rule[key])
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            f"aws_backup rule {rule.get('name')}: {key} must be a number of days, got {rule[key]!r}"
        ) from None
    if days < 1:
        raise AnsibleFilterError(
            f"aws_backup rule {rule.get('name')}: {key} must be at least 1 day, got {days}"
        )
    return days


def aws_backup_plan(
    rules,
    name,
    account_id,
    home_region,
    dr_region,
    start_window,
    completion_window,
    active_region=None,
):
    """The backup plan of the active region (default: the home region).

    At home (the backup layer's plan): plan and vault <name> in home_region; each rule keeps
    its recovery points retention_days there and copies them to the vault <name>-dr of
    dr_region, kept dr_retention_days. With the DR region active: plan and vault <name>-dr
    in dr_region, copies to the vault <name> at home. The rules are the same, with the two
    vaults' parts swapped: retention_days is the retention where the platform runs (the
    plan's own vault), dr_retention_days that of the copy in the other region.

    Returns {name, region, vault, vault_arn, copy_region, copy_vault, copy_vault_arn,
    selection_name, rules}, rules in the backup layer's spec format: {name, vault, schedule,
    start_window, completion_window, delete_after_days, copy_to: [{vault_arn,
    delete_after_days}]} (module_utils/aws_backup.py compares them with AWS's answer)."""
    if not name:
        raise AnsibleFilterError("aws_backup_plan: the backup name is empty")
    if not home_region or not dr_region or home_region == dr_region:
        raise AnsibleFilterError(
            f"aws_backup_plan: the home region ({home_region!r}) and the DR region "
            f"({dr_region!r}) must be two different regions"
        )
    active = active_region or home_region
    if active not in (home_region, dr_region):
        raise AnsibleFilterError(
            f"aws_backup_plan: the active region must be {home_region} or {dr_region}, not {active}"
        )
    if not isinstance(rules, (list, tuple)) or not rules:
        raise AnsibleFilterError(f"aws_backup_plan: at least one rule is needed, got {rules!r}")
    home_vault, dr_vault = name, name + DR_SUFFIX
    if active == home_region:
        plan_name, vault, copy_region, copy_vault = name, home_vault, dr_region, dr_vault
    else:
        plan_name, vault, copy_region, copy_vault = dr_vault, dr_vault, home_region, home_vault
    copy_vault_arn = _vault_arn(copy_region, account_id, copy_vault)
    out_rules = []
    for rule in rules:
        missing = [k for k in _RULE_KEYS if not isinstance(rule, dict) or rule.get(k) in (None, "")]
        if missing:
            raise AnsibleFilterError(f"aws_backup_plan: rule {rule!r} has no {', '.join(missing)}")
        out_rules.append(
            {
                "name": rule["name"],
                "vault": vault,
                "schedule": rule["schedule"],
                "start_window": int(start_window),
                "completion_window": int(completion_window),
                "delete_after_days": _days(rule, "retention_days"),
                "copy_to": [
                    {
                        "vault_arn": copy_vault_arn,
                        "delete_after_days": _days(rule, "dr_retention_days"),
                    }
                ],
            }
        )
    return {
        "name": plan_name,
        "region": active,
        "vault": vault,
        "vault_arn": _vault_arn(active, account_id, vault),
        "copy_region": copy_region,
        "copy_vault": copy_vault,
        "copy_vault_arn": copy_vault_arn,
        # Selection names are per plan: both plans' selections carry the same name.
        "selection_name": name + SELECTION_SUFFIX,
        "rules": out_rules,
    }


def _alarms(vault, max_age_hours, actions):
    return [
        {
            "key": "failed",
            "name": f"{vault}-backup-failed",
            "namespace": "AWS/Backup",
            "metric": "NumberOfBackupJobsFailed",
            "dimensions": {"BackupVaultName": vault},
            "statistic": "Sum",
            "comparison": "GreaterThanOrEqualToThreshold",
            "threshold": 1,
            "period": ALARM_PERIOD,
            "evaluation_periods": 1,
            "datapoints_to_alarm": 1,
            "treat_missing_data": "notBreaching",
            "actions": list(actions),
            "description": (
                f"BackupFailed: an AWS Backup job into {vault} failed in the last hour"
                f" ({_ALARM_RUNBOOK})"
            ),
        },
        {
            "key": "age",
            "name": f"{vault}-backup-age",
            "namespace": "AWS/Backup",
            "metric": "NumberOfBackupJobsCompleted",
            "dimensions": {"BackupVaultName": vault},
            "statistic": "Sum",
            "comparison": "LessThanThreshold",
            "threshold": 1,
            "period": ALARM_PERIOD,
            # Every one of the last N hours without a completed job (no data counts as none).
            "evaluation_periods": max_age_hours,
            "datapoints_to_alarm": max_age_hours,
            "treat_missing_data": "breaching",
            "actions": list(actions),
            "description": (
                f"BackupTooOld: no AWS Backup job into {vault} completed in {max_age_hours} h"
                f" ({_ALARM_RUNBOOK})"
            ),
        },
    ]


def aws_backup_alarms(vault, region, max_age_hours, actions=None):
    """The CloudWatch alarms on AWS Backup's job metrics of one vault, in its region.

    <vault>-backup-failed: a backup job into the vault failed within the hour;
    <vault>-backup-age: no backup job into it completed in each of the last max_age_hours
    hours (2 to 168). Both notify actions (SNS topic ARNs of the vault's region: CloudWatch
    refuses an alarm action in another region) on ALARM and on OK. The backup layer's alarms
    are those of the home vault <name> (roles/aws_backup/vars/main.yml, held equal by its
    unit test), re-protect's those of the DR vault <name>-dr in the DR region.

    Returns a list of {key, name, namespace, metric, dimensions, statistic, comparison,
    threshold, period, evaluation_periods, datapoints_to_alarm, treat_missing_data, actions,
    description}: the backup layer's spec format (module_utils/aws_backup.py compares them
    with AWS's answer)."""
    if not vault:
        raise AnsibleFilterError("aws_backup_alarms: the vault name is empty")
    try:
        hours = int(max_age_hours)
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            f"aws_backup_alarms: max_age_hours must be a number of hours, got {max_age_hours!r}"
        ) from None
    low, high = MAX_AGE_HOURS
    if not low <= hours <= high:
        raise AnsibleFilterError(
            f"aws_backup_alarms: max_age_hours must be {low} to {high} (CloudWatch evaluates"
            f" hourly periods over at most 7 days), got {hours}"
        )
    if isinstance(actions, str) or not isinstance(actions, (list, tuple, type(None))):
        raise AnsibleFilterError(
            f"aws_backup_alarms: actions must be a list of SNS topic ARNs, got {actions!r}"
        )
    actions = [str(a) for a in actions or []]
    for arn in actions:
        match = _SNS_TOPIC.match(arn)
        if not match:
            raise AnsibleFilterError(
                f"aws_backup_alarms: the alarms of {vault} notify SNS topics only, got {arn!r}"
            )
        if match.group(1) != region:
            raise AnsibleFilterError(
                f"aws_backup_alarms: the alarms of {vault} live in {region}, and CloudWatch"
                f" accepts only an SNS topic of the alarm's own region: {arn} is in"
                f" {match.group(1)}"
            )
    return _alarms(vault, hours, actions)


def aws_backup_plan_rules(rules):
    """A plan's rules (aws_backup_plan's `rules`) as amazon.aws.backup_plan's `rules` option.

    No recovery_point_tags: amazon.aws.backup_plan camel-cases their keys."""
    return [
        {
            "rule_name": rule["name"],
            "target_backup_vault_name": rule["vault"],
            "schedule_expression": rule["schedule"],
            "start_window_minutes": rule["start_window"],
            "completion_window_minutes": rule["completion_window"],
            "lifecycle": {"delete_after_days": rule["delete_after_days"]},
            "copy_actions": [
                {
                    "destination_backup_vault_arn": copy["vault_arn"],
                    "lifecycle": {"delete_after_days": copy["delete_after_days"]},
                }
                for copy in rule["copy_to"]
            ],
        }
        for rule in rules or []
    ]


def aws_backup_selection_conditions(tags):
    """{tag: value} -> amazon.aws.backup_selection's conditions.string_equals (resources with
    EVERY tag: StringEquals conditions are ANDed, unlike ListOfTags)."""
    return [
        {"condition_key": f"aws:ResourceTag/{key}", "condition_value": str(value)}
        for key, value in (tags or {}).items()
    ]


def _in_region(arn, region):
    parts = str(arn).split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise AnsibleFilterError(f"aws_backup_reprotect: {arn!r} is not an ARN pattern")
    if parts[3]:  # regional services only (a global ARN has no region to move)
        parts[3] = region
    return ":".join(parts)


def aws_backup_reprotect(
    rules,
    name,
    account_id,
    home_region,
    dr_region,
    protect_region,
    start_window,
    completion_window,
    resources=None,
    *,
    max_age_hours,
    alarm_actions=None,
):
    """What re-protecting protect_region wants of AWS Backup.

    The backup layer's plan backs up the home region and copies to the DR region; nothing
    backs up the DR region while it runs the platform. Re-protecting home (the DR region
    active) wants the DR region's plan (aws_backup_plan with the DR region active) and the
    alarms on the DR vault's jobs (aws_backup_alarms of the DR vault, in the DR region):
    state present. Re-protecting the DR region (home again) wants them gone: state absent.
    The home plan and the home vault's alarms are the backup layer's and are never touched.

    Returns {state, region (the DR region, where that plan and those alarms live), plan,
    resources, alarms}: resources are the selection's ARN patterns (the backup layer's, of
    the home region) moved to the DR region. With state absent only the alarms' names
    matter: max_age_hours and alarm_actions are not checked then, and the alarms carry no
    actions (a default taken from the home region's actions must not keep a re-protect back
    home from removing them)."""
    if protect_region not in (home_region, dr_region) or home_region == dr_region:
        raise AnsibleFilterError(
            f"aws_backup_reprotect: re-protect protects the home region {home_region} or the "
            f"DR region {dr_region}, not {protect_region}"
        )
    home_plan = (rules, name, account_id, home_region, dr_region, start_window, completion_window)
    plan = aws_backup_plan(*home_plan, active_region=dr_region)
    state = "present" if protect_region == home_region else "absent"
    if state == "present":
        try:
            alarms = aws_backup_alarms(plan["vault"], dr_region, max_age_hours, alarm_actions)
        except AnsibleFilterError as err:
            raise AnsibleFilterError(
                f"aws_backup_reprotect: {err.message} (roles/dr: dr_backup_max_age_hours,"
                " dr_backup_alarm_actions, by default the backup layer's aws_backup_max_age_hours"
                " and aws_backup_alarm_actions)"
            ) from None
    else:
        alarms = _alarms(plan["vault"], _hours_or_default(max_age_hours), [])
    return {
        "state": state,
        "region": dr_region,
        "plan": plan,
        "resources": [_in_region(arn, dr_region) for arn in resources or []],
        "alarms": alarms,
    }


def _hours_or_default(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return MAX_AGE_HOURS[0]


class FilterModule:
    def filters(self):
        return {
            "aws_backup_plan": aws_backup_plan,
            "aws_backup_alarms": aws_backup_alarms,
            "aws_backup_plan_rules": aws_backup_plan_rules,
            "aws_backup_selection_conditions": aws_backup_selection_conditions,
            "aws_backup_reprotect": aws_backup_reprotect,
        }
