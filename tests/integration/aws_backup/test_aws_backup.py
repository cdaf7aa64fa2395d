"""The backup layer (roles/aws_backup) against a moto of its own: preflight, create, no-op,
check mode, drift, teardown. The layer runs alone as an operator runs it:
playbooks/aws/sequential.yml -e '{"tradeops_aws_layers": ["backup"]}' (the security layer
likewise), and goes with playbooks/aws/teardown.yml and the same list.

The tests run in file order and share one account: invalid inputs first (on an empty
account: nothing may be created), then the security layer (keys, backup role) once, the
backup layer built on it, teardown last. moto has no backup selection API; these tests'
moto adds it (moto_selections.py, AWS's answer shapes), so the tag-based selection of RDS
and EBS runs here through amazon.aws.backup_selection with aws_backup_selection_enabled
true (the lab inventory's stock moto keeps it false).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ..aws.apilog import ApiLog
from ..support import ansible_env, run_playbook
from .conftest import SECURITY_INPUTS, plan_rules, wanted_rules

pytestmark = pytest.mark.moto

SEQUENTIAL = "playbooks/aws/sequential.yml"
TEARDOWN = "playbooks/aws/teardown.yml"
BACKUP_ONLY = ("-e", json.dumps({"tradeops_aws_layers": ["backup"]}))
CASES = "tests/integration/aws_backup/preflight_cases.yml"
REGION, DR_REGION = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
VAULT, DR_VAULT = "tradeops-lab", "tradeops-lab-dr"
SELECTION = "tradeops-lab-tagged"
STANDARD_TAGS = {
    "Environment": "lab",
    "Project": "tradeops",
    "CostCenter": "lab",
    "Team": "devops",
    "Compliance": "none",
}
# The selection is managed here (see the docstring).
WITH_SELECTION = ("-e", json.dumps({"aws_backup_selection_enabled": True}))


def _env(api, outputs: Path) -> dict[str, str]:
    return ansible_env(
        TRADEOPS_MOTO_PORT=str(api.port),
        TRADEOPS_AWS_OUTPUTS_DIR=str(outputs),
        ANSIBLE_SHOW_CUSTOM_STATS="true",
    )


def _run(api, outputs, playbook, *args):
    mark = api.mark()
    proc = run_playbook(playbook, *args, env=_env(api, outputs))
    return proc, api.since(mark)


def _backup(api, outputs, *args):
    return _run(api, outputs, SEQUENTIAL, *BACKUP_ONLY, *WITH_SELECTION, *args)


def _teardown(api, outputs, *args):
    return _run(api, outputs, TEARDOWN, *WITH_SELECTION, *args)


def _recap(stdout: str) -> dict[str, int]:
    for line in stdout.split("PLAY RECAP")[-1].splitlines():
        match = re.match(r"^localhost\s+:\s+(.*)$", line.strip())
        if match:
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}
    raise AssertionError(f"no recap in:\n{stdout[-3000:]}")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _rule(name="daily", **kw):
    return dict(
        {
            "name": name,
            "schedule": "cron(0 5 ? * * *)",
            "retention_days": 30,
            "dr_retention_days": 30,
        },
        **kw,
    )


def test_invalid_input_fails_in_preflight_before_any_api_call(
    backup_moto, backup_api, backup_outputs
):
    """The whole playbook: preflight stops it before the backup service or CloudWatch is
    called at all (the cases below check the other inputs' messages)."""
    extra = {"aws_backup_rules": [_rule(), _rule("weekly", retention_days=0)]}
    proc, calls = _backup(backup_api, backup_outputs, "-e", json.dumps(extra))
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert (
        "aws_backup_rules entry weekly: retention_days (0) and dr_retention_days (30)"
        " must be 1 to 36500 days" in _flat(proc.stdout)
    ), proc.stdout[-3000:]
    assert "Preflight" in proc.stdout.split("fatal:")[0].rsplit("TASK [", 1)[-1]
    # Reads only (inventory, account guard); the backup service was never called.
    assert not ApiLog.mutating(calls), calls
    assert not [c for c in calls if "Backup" in c or "Alarm" in c], calls  # not even a read
    for region in (REGION, DR_REGION):
        assert not backup_moto.client("backup", region).list_backup_vaults()["BackupVaultList"]


_VALID = {
    "aws_backup_name": VAULT,
    "aws_backup_rules": [_rule(), _rule("weekly", schedule="cron(0 5 ? * SUN *)")],
    "aws_backup_dr_region": DR_REGION,
    "aws_backup_start_window_minutes": 60,
    "aws_backup_completion_window_minutes": 480,
    "aws_backup_resources": [
        f"arn:aws:rds:{REGION}:{ACCOUNT}:db:*",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/*",
    ],
    "aws_backup_selection_tags": {"Backup": "true", "Environment": "lab"},
    "aws_backup_max_age_hours": 26,
    "aws_backup_alarm_actions": [],
}
# id -> (what differs from _VALID, a piece of the expected message; "" = it passes)
_CASES = {
    "valid": ({}, ""),
    "dr-retention-too-long": (
        {"aws_backup_rules": [_rule(dr_retention_days=36501)]},
        "aws_backup_rules entry daily: retention_days (30) and dr_retention_days (36501)"
        " must be 1 to 36500 days",
    ),
    "no-schedule-expression": (
        {"aws_backup_rules": [_rule(schedule="daily")]},
        "schedule an AWS Backup cron(...) or rate(...) expression (got daily)",
    ),
    "duplicate-rule": (
        {"aws_backup_rules": [_rule(), _rule()]},
        "aws_backup_rules must list at least one rule, each with its own name",
    ),
    "no-rules": ({"aws_backup_rules": []}, "aws_backup_rules must list at least one rule"),
    "no-dr-region": ({"aws_backup_dr_region": ""}, "aws_backup_dr_region must name the DR region"),
    "dr-region-is-the-primary": (
        {"aws_backup_dr_region": REGION},
        'and differ from aws_region (us-east-1); got "us-east-1"',
    ),
    "completion-window-too-short": (
        {"aws_backup_completion_window_minutes": 90},
        "aws_backup_completion_window_minutes at least 60 more (got 60 / 90)",
    ),
    "selection-without-tags": (
        {"aws_backup_selection_tags": {}},
        "without tags the selection would back up every resource of those types",
    ),
    "selection-of-an-s3-bucket": (
        {"aws_backup_resources": ["arn:aws:s3:::tradeops-lab-*"]},
        "aws_backup_resources must list RDS or EC2 ARN patterns",
    ),
    "max-age-beyond-7-days": (
        {"aws_backup_max_age_hours": 200},
        "aws_backup_max_age_hours must be 2 to 168",
    ),
    "alarm-action-not-sns": (
        {"aws_backup_alarm_actions": ["arn:aws:lambda:us-east-1:123456789012:function:x"]},
        "aws_backup_alarm_actions SNS topic ARNs (got ['arn:aws:lambda:",
    ),
}


@pytest.fixture(scope="module")
def preflight_messages(backup_api, backup_outputs, tmp_path_factory):
    """Every case of _CASES through the role's preflight, in one ansible-playbook run."""
    work = tmp_path_factory.mktemp("preflight")
    cases = [{"id": k, "vars": dict(_VALID, **change)} for k, (change, _) in _CASES.items()]
    (work / "cases.json").write_text(json.dumps(cases))
    proc, calls = _run(
        backup_api,
        backup_outputs,
        CASES,
        "-e",
        json.dumps({"cases_file": str(work / "cases.json"), "results_file": str(work / "out")}),
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    # Data checks only: the lab inventory's aws_ec2 source reads, nothing else is called.
    assert set(calls) <= {"DescribeInstances"}, calls
    return json.loads((work / "out").read_text())


@pytest.mark.parametrize("case", list(_CASES))
def test_preflight_names_what_is_wrong(preflight_messages, case):
    needle = _CASES[case][1]
    got = _flat(preflight_messages[case])
    if needle:
        assert needle in got, got
    else:
        assert got == "", got


@pytest.fixture(scope="module")
def security(backup_api, backup_outputs):
    layers = {"tradeops_aws_layers": ["security"]}
    proc, _ = _run(
        backup_api, backup_outputs, SEQUENTIAL, "-e", json.dumps(dict(SECURITY_INPUTS, **layers))
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads((backup_outputs / "security.json").read_text())


@pytest.fixture(scope="module")
def created(security, backup_api, backup_outputs):
    proc, calls = _backup(backup_api, backup_outputs)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc, calls


def test_create_builds_both_vaults_the_plan_the_selection_and_the_alarms(created, backup_outputs):
    proc, calls = created
    # vaults, plan, selection, alarms
    assert _recap(proc.stdout)["changed"] == 4, proc.stdout[-4000:]
    assert ApiLog.mutating(calls) == {
        "CreateBackupVault": 2,
        "CreateBackupPlan": 1,
        "CreateBackupSelection": 1,
        "PutMetricAlarm": 2,
    }, calls
    outputs = json.loads((backup_outputs / "backup.json").read_text())
    assert set(outputs["vaults"]) == {"primary", "dr"}
    assert outputs["selection"]["name"] == SELECTION and outputs["selection"]["managed"]
    assert outputs["plan"]["name"] == VAULT and outputs["plan"]["id"]
    assert set(outputs["alarms"]) == {"failed", "age"}
    summary = _flat(proc.stdout.split("CUSTOM STATS")[-1])
    assert "daily/30/30, weekly/90/90, monthly/365/365" in summary, summary
    assert "selection: RDS/EBS tagged Backup=true, Environment=lab" in summary, summary


def test_vaults_are_encrypted_with_each_regions_data_key(created, security, backup_moto):
    for region, name in ((REGION, VAULT), (DR_REGION, DR_VAULT)):
        backup = backup_moto.client("backup", region)
        vault = backup.describe_backup_vault(BackupVaultName=name)
        assert vault["EncryptionKeyArn"] == security["kms_keys"]["data"][region]["arn"]
        assert f":{region}:" in vault["EncryptionKeyArn"]
        assert f":{region}:{ACCOUNT}:key/" in vault["EncryptionKeyArn"]  # a CMK, not aws/backup
        tags = backup.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]
        assert STANDARD_TAGS.items() <= tags.items() and "ManagedBy" in tags, tags


def test_the_plan_carries_the_standard_tags(created, backup_moto):
    backup = backup_moto.client("backup", REGION)
    (plan,) = backup.list_backup_plans()["BackupPlansList"]
    tags = backup.list_tags(ResourceArn=plan["BackupPlanArn"])["Tags"]
    assert STANDARD_TAGS.items() <= tags.items() and "ManagedBy" in tags, tags


def _selection(moto):
    backup = moto.client("backup", REGION)
    (plan,) = backup.list_backup_plans()["BackupPlansList"]
    listed = backup.list_backup_selections(BackupPlanId=plan["BackupPlanId"])
    return plan, listed["BackupSelectionsList"]


def test_selection_takes_rds_and_ebs_by_tag_with_the_backup_role(created, security, backup_moto):
    plan, listed = _selection(backup_moto)
    assert [s["SelectionName"] for s in listed] == [SELECTION]
    got = backup_moto.client("backup", REGION).get_backup_selection(
        BackupPlanId=plan["BackupPlanId"], SelectionId=listed[0]["SelectionId"]
    )["BackupSelection"]
    assert got["IamRoleArn"] == security["iam_roles"]["backup"]
    assert sorted(got["Resources"]) == sorted(
        [
            f"arn:aws:rds:{REGION}:{ACCOUNT}:db:*",  # RDS instances
            f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:*",  # Aurora clusters
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/*",  # EBS volumes
        ]
    )
    # Only resources with EVERY tag: StringEquals conditions (ANDed), not ListOfTags (ORed).
    assert sorted(
        (c["ConditionKey"], c["ConditionValue"]) for c in got["Conditions"]["StringEquals"]
    ) == [("aws:ResourceTag/Backup", "true"), ("aws:ResourceTag/Environment", "lab")]
    assert not got["ListOfTags"] and not got["NotResources"]
    others = {k: v for k, v in got["Conditions"].items() if k != "StringEquals"}
    assert not any(others.values()), others


def test_plan_rules_keep_their_retention_and_copy_to_the_dr_vault(
    created, backup_moto, backup_outputs
):
    backup = backup_moto.client("backup", REGION)
    plans = list(backup.list_backup_plans()["BackupPlansList"])
    assert [p["BackupPlanName"] for p in plans] == [VAULT]
    rules = backup.get_backup_plan(BackupPlanId=plans[0]["BackupPlanId"])["BackupPlan"]["Rules"]
    dr_arn = json.loads((backup_outputs / "backup.json").read_text())["vaults"]["dr"]["arn"]
    assert dr_arn == f"arn:aws:backup:{DR_REGION}:123456789012:backup-vault:{DR_VAULT}"
    got = plan_rules(rules)
    assert got == wanted_rules(VAULT, dr_arn)
    # seed 003: the daily snapshots are kept 30 days, and copied cross-region.
    assert got["daily"][4] == {"DeleteAfterDays": 30}
    assert set(got) == {"daily", "weekly", "monthly"}
    # The copies go to the DR region's vault, which the DR region's data key encrypts.
    assert all(f":{DR_REGION}:" in r[5][0]["DestinationBackupVaultArn"] for r in got.values())


def test_alarms_watch_the_primary_vaults_jobs(created, backup_moto):
    cloudwatch = backup_moto.client("cloudwatch", REGION)
    alarms = {
        a["AlarmName"]: a
        for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{VAULT}-backup-")["MetricAlarms"]
    }
    assert set(alarms) == {f"{VAULT}-backup-failed", f"{VAULT}-backup-age"}
    failed, age = alarms[f"{VAULT}-backup-failed"], alarms[f"{VAULT}-backup-age"]
    for alarm in (failed, age):
        assert alarm["Namespace"] == "AWS/Backup"
        assert alarm["Dimensions"] == [{"Name": "BackupVaultName", "Value": VAULT}]
        assert alarm["Period"] == 3600 and alarm["Statistic"] == "Sum"
    assert (failed["MetricName"], failed["ComparisonOperator"], failed["Threshold"]) == (
        "NumberOfBackupJobsFailed",
        "GreaterThanOrEqualToThreshold",
        1.0,
    )
    assert failed["TreatMissingData"] == "notBreaching"
    assert (age["MetricName"], age["ComparisonOperator"], age["Threshold"]) == (
        "NumberOfBackupJobsCompleted",
        "LessThanThreshold",
        1.0,
    )
    # 26 hours, every one of them without a completed job (no data counts as none).
    assert age["EvaluationPeriods"] == age["DatapointsToAlarm"] == 26
    assert age["TreatMissingData"] == "breaching"
    assert "docs/runbooks/restore.md#when-an-aws-backup-job-fails" in failed["AlarmDescription"]


def test_rerun_changes_nothing_and_makes_no_mutating_call(created, backup_api, backup_outputs):
    proc, calls = _backup(backup_api, backup_outputs)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]
    # The layer is converged: the shared lifecycle (roles/aws_layer) skips its converge.
    assert re.search(r"Converge the layer\] \**\s+skipping: \[localhost\]", proc.stdout), [
        line for line in proc.stdout.splitlines() if "Converge" in line
    ]
    assert not ApiLog.mutating(calls), ApiLog.mutating(calls)


def test_check_mode_on_converged_reports_nothing(created, backup_api, backup_outputs):
    proc, calls = _backup(backup_api, backup_outputs, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["changed"] == 0, proc.stdout[-4000:]
    assert not ApiLog.mutating(calls)


@pytest.fixture(scope="module")
def drifted(created, backup_moto):
    """Three hand-made drifts at once (one run to find them, one to repair them): the DR
    vault deleted, the selection removed, the backup-age alarm loosened."""
    backup_moto.client("backup", DR_REGION).delete_backup_vault(BackupVaultName=DR_VAULT)
    plan, listed = _selection(backup_moto)
    backup_moto.client("backup", REGION).delete_backup_selection(
        BackupPlanId=plan["BackupPlanId"], SelectionId=listed[0]["SelectionId"]
    )
    cloudwatch = backup_moto.client("cloudwatch", REGION)
    (age,) = cloudwatch.describe_alarms(AlarmNames=[f"{VAULT}-backup-age"])["MetricAlarms"]
    keep = ("MetricName", "Namespace", "Statistic", "Dimensions", "Period", "Threshold")
    cloudwatch.put_metric_alarm(
        AlarmName=age["AlarmName"],
        ComparisonOperator=age["ComparisonOperator"],
        EvaluationPeriods=168,
        TreatMissingData="notBreaching",
        **{k: age[k] for k in keep},
    )


def test_check_mode_on_drift_names_it_and_changes_nothing(drifted, backup_api, backup_outputs):
    proc, calls = _backup(backup_api, backup_outputs, "--check", "--diff", "-v")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert not ApiLog.mutating(calls), calls
    flat = _flat(proc.stdout)
    assert f"backup vault {DR_VAULT} ({DR_REGION}) does not exist" in flat, flat[-4000:]
    assert f"backup selection {SELECTION} does not exist" in flat, flat[-4000:]
    assert f"alarm {VAULT}-backup-age: evaluation periods is 168, want 26" in flat, flat[-4000:]
    for task in ("Vaults", "Selection", "Alarms"):
        out = proc.stdout.split(f"TASK [tradeops.platform.aws_backup : {task}")[1]
        assert "changed: [localhost]" in out.split("TASK [")[0], out[:2000]


def test_drift_is_repaired_with_exactly_one_call_each(
    drifted, backup_moto, backup_api, backup_outputs
):
    proc, calls = _backup(backup_api, backup_outputs)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert _recap(proc.stdout)["changed"] == 3, proc.stdout[-4000:]
    assert ApiLog.mutating(calls) == {
        "CreateBackupVault": 1,
        "CreateBackupSelection": 1,
        "PutMetricAlarm": 1,
    }, calls
    vault = backup_moto.client("backup", DR_REGION).describe_backup_vault(BackupVaultName=DR_VAULT)
    assert ":us-west-2:" in vault["EncryptionKeyArn"]
    assert [s["SelectionName"] for s in _selection(backup_moto)[1]] == [SELECTION]
    cloudwatch = backup_moto.client("cloudwatch", REGION)
    (age,) = cloudwatch.describe_alarms(AlarmNames=[f"{VAULT}-backup-age"])["MetricAlarms"]
    assert (age["EvaluationPeriods"], age["TreatMissingData"]) == (26, "breaching")


def test_a_changed_retention_is_noticed_and_shown_in_check_mode(
    created, backup_moto, backup_api, backup_outputs
):
    """moto has no UpdateBackupPlan (500, not implemented): the update itself runs on AWS
    only; offline, the state call must notice the new retention and --check show it."""
    rules = [_rule("daily", retention_days=35, dr_retention_days=35)]
    proc, calls = _backup(
        backup_api,
        backup_outputs,
        "--check",
        "--diff",
        "-v",
        "-e",
        json.dumps({"aws_backup_rules": rules}),
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert not ApiLog.mutating(calls), calls
    flat = _flat(proc.stdout)
    for rule in ("daily", "weekly", "monthly"):
        assert f"rule {rule}" in flat, flat[-4000:]
    assert "rule daily: retention (days) is 30, want 35" in flat, flat[-4000:]
    assert "rule weekly is not in the spec" in flat and "rule monthly is not in the spec" in flat
    plan_task = proc.stdout.split("TASK [tradeops.platform.aws_backup : Plan")[1].split("TASK [")[0]
    assert "changed: [localhost]" in plan_task, plan_task
    vault_task = proc.stdout.split("TASK [tradeops.platform.aws_backup : Vaults")[1]
    assert "changed: [localhost]" not in vault_task.split("TASK [")[0], vault_task[:2000]


# ------------------------------------------------------------------ teardown (last)
def test_teardown_refuses_without_confirmation(created, backup_api, backup_outputs):
    proc, calls = _teardown(backup_api, backup_outputs, *BACKUP_ONLY)
    assert proc.returncode != 0
    assert "aws_teardown_confirm=lab" in proc.stdout
    assert not ApiLog.mutating(calls)


def test_teardown_refuses_the_keys_while_the_backup_layer_stands_on_them(
    created, backup_api, backup_outputs
):
    security_only = json.dumps({"tradeops_aws_layers": ["security"]})
    proc, calls = _teardown(
        backup_api, backup_outputs, "-e", security_only, "-e", "aws_teardown_confirm=lab"
    )
    assert proc.returncode != 0
    assert "Refusing to tear down security: backup (built on security)" in _flat(proc.stdout)
    assert not ApiLog.mutating(calls), calls
    assert (backup_outputs / "security.json").exists()


def test_a_layer_teardown_alone_refuses_even_confirmed(created, backup_api, backup_outputs):
    """roles/aws_backup's teardown.yml is reached only through roles/aws_teardown."""
    proc, calls = _run(
        backup_api,
        backup_outputs,
        "tests/integration/aws_backup/layer_teardown_alone.yml",
        "-e",
        "aws_teardown_confirm=lab",
    )
    assert proc.returncode != 0
    flat = _flat(proc.stdout)
    assert "teardown runs only from roles/aws_teardown, after its preflight" in flat, flat[-3000:]
    assert not ApiLog.mutating(calls), calls


def test_teardown_removes_the_alarms_the_selection_the_plan_and_both_vaults(
    created, backup_moto, backup_api, backup_outputs
):
    proc, calls = _teardown(
        backup_api, backup_outputs, *BACKUP_ONLY, "-e", "aws_teardown_confirm=lab"
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert ApiLog.mutating(calls) == {
        "DeleteAlarms": 2,
        "DeleteBackupSelection": 1,  # before the plan: AWS refuses a plan with selections
        "DeleteBackupPlan": 1,
        "DeleteBackupVault": 2,
    }, calls
    assert not backup_moto.client("backup", REGION).list_backup_plans()["BackupPlansList"]
    alarms = backup_moto.client("cloudwatch", REGION).describe_alarms(AlarmNamePrefix=VAULT)
    assert not alarms["MetricAlarms"]
    for region in (REGION, DR_REGION):
        assert not backup_moto.client("backup", region).list_backup_vaults()["BackupVaultList"]
    assert not (backup_outputs / "backup.json").exists()
    # Only the layer named: the security layer it was built on stays.
    assert (backup_outputs / "security.json").exists()
