# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Backup for the managed services (RDS, EBS): vault helpers and the backup layer's state.

``backup_state(clients, spec)`` has the signature of the layer functions in ``aws_state``
(describe everything the layer owns with read calls only, compare it with ``spec``, return
``(differences, outputs)``); the ``aws_layer_state`` module runs it (layer ``backup``). The pure
comparison functions (``vault_differences``, ``plan_rule_differences``,
``selection_differences``) are unit-tested on recorded answers.

The spec, as roles/aws_backup/vars/main.yml builds it::

    {"tags": {...},
     "vaults": [{"key": "primary", "name": ..., "region": ..., "key_arn": ...}, ...],
     "plan": {"name": ..., "region": ..., "rules": [
         {"name", "vault", "schedule", "start_window", "completion_window",
          "delete_after_days", "copy_to": [{"vault_arn", "delete_after_days"}]}]},
     "selection": {"enabled": bool, "name": ..., "iam_role_arn": ...,
                   "resources": [...], "conditions": [{"key": ..., "value": ...}]},
     "alarms": [{"key", "name", "namespace", "metric", "dimensions": {...}, "statistic",
                 "comparison", "threshold", "period", "evaluation_periods",
                 "datapoints_to_alarm", "treat_missing_data", "actions": [...],
                 "description"}]}
"""

from __future__ import annotations

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - reported by AnsibleAWSModule
    ClientError = Exception

# A missing vault: AWS answers AccessDeniedException, moto ResourceNotFoundException.
MISSING_VAULT_CODES = ("AccessDeniedException", "ResourceNotFoundException")


def error_code(err):
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


def describe_vault(client, name):
    """The vault's DescribeBackupVault answer, or None when it does not exist."""
    try:
        return client.describe_backup_vault(BackupVaultName=name)
    except ClientError as err:
        if error_code(err) in MISSING_VAULT_CODES:
            return None
        raise


def user_tags(tags):
    return {k: v for k, v in (tags or {}).items() if not k.startswith("aws:")}


def tag_changes(actual, desired, purge):
    """(to_set, to_remove) turning the actual tags into the desired ones."""
    actual = user_tags(actual)
    to_set = {k: v for k, v in desired.items() if actual.get(k) != v}
    to_remove = sorted(set(actual) - set(desired)) if purge else []
    return to_set, to_remove


def vault_differences(want, got, got_tags, tags):
    """What differs between a described vault and its spec entry."""
    where = f"backup vault {want['name']} ({want['region']})"
    if got is None:
        return [f"{where} does not exist"]
    out = []
    if got.get("EncryptionKeyArn") != want["key_arn"]:
        out.append(
            f"{where}: encrypted with {got.get('EncryptionKeyArn')}, want {want['key_arn']}"
            " (a vault's key cannot change: a new vault is needed)"
        )
    to_set, to_remove = tag_changes(got_tags, tags, purge=True)
    if to_set or to_remove:
        out.append(f"{where}: tags differ (to set {to_set}, to remove {to_remove})")
    return out


def _copy_actions(items):
    return sorted(
        (c.get("DestinationBackupVaultArn"), (c.get("Lifecycle") or {}).get("DeleteAfterDays"))
        for c in items or []
    )


def plan_rule_differences(plan_name, want_rules, got_rules):
    """What differs between a plan's rules (GetBackupPlan) and the spec's."""
    out = []
    got_by_name = {r.get("RuleName"): r for r in got_rules or []}
    want_names = {r["name"] for r in want_rules}
    for extra in sorted(set(got_by_name) - want_names):
        out.append(f"backup plan {plan_name}: rule {extra} is not in the spec")
    for want in want_rules:
        got = got_by_name.get(want["name"])
        where = f"backup plan {plan_name}, rule {want['name']}"
        if got is None:
            out.append(f"{where} does not exist")
            continue
        lifecycle = got.get("Lifecycle") or {}
        checks = (
            ("target vault", got.get("TargetBackupVaultName"), want["vault"]),
            ("schedule", got.get("ScheduleExpression"), want["schedule"]),
            ("start window", got.get("StartWindowMinutes"), want["start_window"]),
            ("completion window", got.get("CompletionWindowMinutes"), want["completion_window"]),
            ("retention (days)", lifecycle.get("DeleteAfterDays"), want["delete_after_days"]),
            ("cold storage after (days)", lifecycle.get("MoveToColdStorageAfterDays"), None),
            (
                "copies",
                _copy_actions(got.get("CopyActions")),
                sorted((c["vault_arn"], c["delete_after_days"]) for c in want["copy_to"]),
            ),
        )
        for what, actual, desired in checks:
            if actual != desired:
                out.append(f"{where}: {what} is {actual}, want {desired}")
        got_rp_tags = user_tags(got.get("RecoveryPointTags"))
        if "recovery_point_tags" in want and got_rp_tags != want["recovery_point_tags"]:
            out.append(
                f"{where}: recovery point tags are {got_rp_tags},"
                f" want {want['recovery_point_tags']}"
            )
    return out


def _conditions(selection):
    cond = (selection.get("Conditions") or {}).get("StringEquals") or []
    return sorted((c.get("ConditionKey"), c.get("ConditionValue")) for c in cond)


def selection_differences(want, got):
    """What differs between a selection (GetBackupSelection's BackupSelection) and the spec."""
    where = f"backup selection {want['name']}"
    if got is None:
        return [f"{where} does not exist"]
    out = []
    if got.get("IamRoleArn") != want["iam_role_arn"]:
        out.append(f"{where}: role is {got.get('IamRoleArn')}, want {want['iam_role_arn']}")
    if sorted(got.get("Resources") or []) != sorted(want["resources"]):
        out.append(f"{where}: resources are {got.get('Resources')}, want {want['resources']}")
    desired = sorted(("aws:ResourceTag/" + c["key"], str(c["value"])) for c in want["conditions"])
    if _conditions(got) != desired:
        out.append(f"{where}: tag conditions are {_conditions(got)}, want {desired}")
    others = (got.get("Conditions") or {}).copy()
    others.pop("StringEquals", None)
    if got.get("ListOfTags") or got.get("NotResources") or any(others.values()):
        out.append(f"{where}: has conditions beyond the spec's tag conditions")
    return out


def alarm_differences(want, got):
    """What differs between a CloudWatch alarm (DescribeAlarms' MetricAlarms entry) and its
    spec entry: the alarms on AWS Backup's job metrics (BackupFailed, backup age)."""
    where = f"alarm {want['name']}"
    if got is None:
        return [f"{where} does not exist"]
    checks = (
        ("namespace", got.get("Namespace"), want["namespace"]),
        ("metric", got.get("MetricName"), want["metric"]),
        (
            "dimensions",
            sorted((d.get("Name"), d.get("Value")) for d in got.get("Dimensions") or []),
            sorted((str(k), str(v)) for k, v in want["dimensions"].items()),
        ),
        ("statistic", got.get("Statistic"), want["statistic"]),
        ("comparison", got.get("ComparisonOperator"), want["comparison"]),
        ("threshold", float(got.get("Threshold", "nan")), float(want["threshold"])),
        ("period", got.get("Period"), int(want["period"])),
        ("evaluation periods", got.get("EvaluationPeriods"), int(want["evaluation_periods"])),
        (
            "datapoints to alarm",
            got.get("DatapointsToAlarm", got.get("EvaluationPeriods")),
            int(want["datapoints_to_alarm"]),
        ),
        ("missing data", got.get("TreatMissingData", "missing"), want["treat_missing_data"]),
        ("alarm actions", sorted(got.get("AlarmActions") or []), sorted(want["actions"])),
        ("OK actions", sorted(got.get("OKActions") or []), sorted(want["actions"])),
        ("actions enabled", got.get("ActionsEnabled", True), True),
        ("description", got.get("AlarmDescription"), want["description"]),
    )
    return [
        f"{where}: {what} is {have}, want {wanted}"
        for what, have, wanted in checks
        if have != wanted
    ]


def _find_plan(backup, name):
    for page in backup.get_paginator("list_backup_plans").paginate():
        for plan in page.get("BackupPlansList", []):
            if plan.get("BackupPlanName") == name and not plan.get("DeletionDate"):
                return plan
    return None


def _find_selection(backup, plan_id, name):
    for page in backup.get_paginator("list_backup_selections").paginate(BackupPlanId=plan_id):
        for sel in page.get("BackupSelectionsList", []):
            if sel.get("SelectionName") == name:
                return sel
    return None


def backup_state(clients, spec):
    differences = []
    outputs = {"vaults": {}, "plan": {}, "selection": {}}
    tags = spec["tags"]
    for want in spec["vaults"]:
        backup = clients("backup", want["region"])
        got = describe_vault(backup, want["name"])
        got_tags = backup.list_tags(ResourceArn=got["BackupVaultArn"])["Tags"] if got else {}
        differences.extend(vault_differences(want, got, got_tags, tags))
        if got:
            outputs["vaults"][want["key"]] = {
                "name": want["name"],
                "arn": got["BackupVaultArn"],
                "region": want["region"],
                "key_arn": got.get("EncryptionKeyArn"),
            }

    plan_spec = spec["plan"]
    backup = clients("backup", plan_spec["region"])
    plan = _find_plan(backup, plan_spec["name"])
    if plan is None:
        differences.append(f"backup plan {plan_spec['name']} does not exist")
    else:
        got = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])
        differences.extend(
            plan_rule_differences(
                plan_spec["name"], plan_spec["rules"], got.get("BackupPlan", {}).get("Rules")
            )
        )
        plan_tags = backup.list_tags(ResourceArn=got["BackupPlanArn"])["Tags"]
        to_set, to_remove = tag_changes(plan_tags, tags, purge=True)
        if to_set or to_remove:
            differences.append(
                f"backup plan {plan_spec['name']}: tags differ"
                f" (to set {to_set}, to remove {to_remove})"
            )
        outputs["plan"] = {
            "name": plan_spec["name"],
            "id": got["BackupPlanId"],
            "arn": got["BackupPlanArn"],
            "version_id": got.get("VersionId"),
        }

    sel_spec = spec["selection"]
    if not sel_spec.get("enabled", True):
        # Not managed here (the lab: moto has no selection API); say so in the outputs.
        outputs["selection"] = {"name": sel_spec["name"], "managed": False}
    elif plan is not None:
        found = _find_selection(backup, plan["BackupPlanId"], sel_spec["name"])
        got = None
        if found:
            got = backup.get_backup_selection(
                BackupPlanId=plan["BackupPlanId"], SelectionId=found["SelectionId"]
            )["BackupSelection"]
            outputs["selection"] = {
                "name": sel_spec["name"],
                "id": found["SelectionId"],
                "managed": True,
            }
        differences.extend(selection_differences(sel_spec, got))
    else:
        differences.append(f"backup selection {sel_spec['name']} does not exist")

    alarms = spec.get("alarms") or []
    if alarms:
        outputs["alarms"] = {}
        cloudwatch = clients("cloudwatch", plan_spec["region"])
        got_alarms = {}
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNames=[a["name"] for a in alarms], AlarmTypes=["MetricAlarm"]
        ):
            for alarm in page.get("MetricAlarms", []):
                got_alarms[alarm["AlarmName"]] = alarm
        for want in alarms:
            got = got_alarms.get(want["name"])
            differences.extend(alarm_differences(want, got))
            if got:
                outputs["alarms"][want["key"]] = {
                    "name": got["AlarmName"],
                    "arn": got.get("AlarmArn"),
                }
    return differences, outputs
