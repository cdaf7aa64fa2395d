"""Re-protect turns AWS Backup's cross-region copy around (roles/dr, reprotect_backup.yml),
against the backup tests' moto (with the selection calls, moto_selections.py).

The backup layer builds the home plan tradeops-lab in us-east-1 (vault tradeops-lab, copies
to tradeops-lab-dr in us-west-2). With us-west-2 active, re-protecting us-east-1 adds the
plan tradeops-lab-dr in us-west-2: the same rules, kept in tradeops-lab-dr, copied to
tradeops-lab at home, with its tag-based selection, and the backup layer's two alarms on the
jobs of tradeops-lab-dr in us-west-2 (tradeops-lab-dr-backup-failed, -backup-age); run again
it changes nothing; back home, re-protecting us-west-2 removes plan and alarms and leaves the
home plan and the home vault's alarms (the backup layer's, in us-east-1) as they were. The
step runs through reprotect_backup.yml (a test playbook around the dr role's task file), not
the whole runbook: the guard, the DR state and the databases need the lab. The tests run
in file order, on a moto of their own: moto keeps every deleted backup plan and refuses its
name for a new one, so the home plan test_aws_backup.py tore down could not be built again
on its moto.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..aws.apilog import ApiLog
from ..support import MotoServer, ansible_env, run_playbook
from .conftest import SECURITY_INPUTS, api_log, moto_with_selections, plan_rules, wanted_rules

pytestmark = pytest.mark.moto

PLAYBOOK = "tests/integration/aws_backup/reprotect_backup.yml"
HOME, DR = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
NAME = "tradeops-lab"
DR_PLAN = f"{NAME}-dr"  # the DR vault's name, in the DR region
HOME_VAULT_ARN = f"arn:aws:backup:{HOME}:{ACCOUNT}:backup-vault:{NAME}"
SELECTION = f"{NAME}-tagged"
# The alarms on the jobs of the DR vault, in the DR region; the home vault's are the layer's.
DR_ALARMS = {f"{DR_PLAN}-backup-failed", f"{DR_PLAN}-backup-age"}
HOME_ALARMS = {f"{NAME}-backup-failed", f"{NAME}-backup-age"}
# The selection is managed here, as in test_aws_backup.py (the lab's stock moto has none).
WITH_SELECTION = {"aws_backup_selection_enabled": True}


def _run(api, outputs, playbook, *args):
    mark = api.mark()
    env = ansible_env(TRADEOPS_MOTO_PORT=str(api.port), TRADEOPS_AWS_OUTPUTS_DIR=str(outputs))
    proc = run_playbook(playbook, *args, env=env)
    return proc, api.since(mark)


@pytest.fixture(scope="module")
def backup_moto(tmp_path_factory) -> Iterator[MotoServer]:
    """This module's moto (stock moto plus the selection calls, as conftest.py's)."""
    yield from moto_with_selections(tmp_path_factory, "reprotect-moto")


@pytest.fixture(scope="module")
def backup_api(backup_moto) -> Iterator[ApiLog]:
    yield from api_log(backup_moto)


@pytest.fixture(scope="module")
def backup_outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reprotect-outputs")


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dr-runs")


@pytest.fixture(scope="module")
def layers(backup_api, backup_outputs):
    """The security layer (keys, backup role) and the backup layer with its selection, as
    site.yml leaves them: the backup layer's outputs."""
    # One run of both layers, one after the other (security first: the registry's order).
    layers = {"tradeops_aws_layers": ["security", "backup"]}
    extra = json.dumps({**SECURITY_INPUTS, **WITH_SELECTION, **layers})
    proc, _ = _run(backup_api, backup_outputs, "playbooks/aws/sequential.yml", "-e", extra)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads((backup_outputs / "backup.json").read_text())


def reprotect(api, outputs, records, protect, *args):
    """The step, re-protecting `protect` (the other region active); its record's step."""
    active = DR if protect == HOME else HOME
    run_id = f"reprotect-{protect}-{uuid.uuid4().hex[:8]}"
    extra = dict(
        WITH_SELECTION,
        dr_source=active,
        dr_target=protect,
        dr_record_id=run_id,
        dr_records_dir=str(records),
    )
    proc, calls = _run(api, outputs, PLAYBOOK, "-e", json.dumps(extra), *args)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    record = json.loads((records / f"{run_id}.json").read_text())
    (step,) = [s for s in record["steps"] if s["id"] == "copy_backups"]
    return proc, calls, step


def plans(moto, region) -> dict[str, str]:
    listed = moto.client("backup", region).list_backup_plans()["BackupPlansList"]
    return {p["BackupPlanName"]: p["BackupPlanId"] for p in listed}


def alarms(moto, region) -> dict[str, dict]:
    """The region's metric alarms by name, without their state (CloudWatch evaluates them)."""
    listed = moto.client("cloudwatch", region).describe_alarms(AlarmTypes=["MetricAlarm"])
    state = ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp",
             "StateTransitionedTimestamp")  # fmt: skip
    return {
        a["AlarmName"]: {k: v for k, v in a.items() if k not in state}
        for a in listed["MetricAlarms"]
    }


def task_changed(stdout: str, task: str) -> bool:
    out = stdout.split(f"TASK [tradeops.platform.dr : {task}")[1].split("TASK [")[0]
    return "changed: [localhost]" in out


@pytest.fixture(scope="module")
def home_alarms(layers, backup_moto):
    """The backup layer's alarms on the home vault, as they stand before any re-protect."""
    got = alarms(backup_moto, HOME)
    assert set(got) == HOME_ALARMS, got
    return got


@pytest.fixture(scope="module")
def home_plan(layers, backup_moto):
    """The backup layer's plan as it stands before any re-protect."""
    backup = backup_moto.client("backup", HOME)
    got = backup.get_backup_plan(BackupPlanId=plans(backup_moto, HOME)[NAME])
    return got["BackupPlanId"], got["VersionId"], got["BackupPlan"]["Rules"]


ALARM_TASK = "Backup | the DR vault's alarms on AWS Backup's job metrics"


def test_check_mode_shows_the_plan_and_changes_nothing(
    home_plan, home_alarms, backup_moto, backup_api, backup_outputs, records
):
    proc, calls, _step = reprotect(backup_api, backup_outputs, records, HOME, "--check", "--diff")
    assert not ApiLog.mutating(calls), calls
    assert task_changed(proc.stdout, "Backup | the DR region's plan, kept there and copied to")
    assert task_changed(proc.stdout, ALARM_TASK)
    assert DR_PLAN not in plans(backup_moto, DR)
    assert not alarms(backup_moto, DR)


@pytest.fixture(scope="module")
def reprotected_home(home_plan, home_alarms, backup_api, backup_outputs, records):
    return reprotect(backup_api, backup_outputs, records, HOME)


def test_reprotect_home_with_the_dr_region_active_adds_the_dr_regions_plan(
    reprotected_home, home_plan, layers, backup_moto
):
    _proc, calls, step = reprotected_home
    assert ApiLog.mutating(calls) == {
        "CreateBackupPlan": 1,
        "CreateBackupSelection": 1,
        "PutMetricAlarm": 2,
    }, calls
    assert step["outcome"] == "done", step
    assert f"plan {DR_PLAN} in {DR} keeps its recovery points in {DR_PLAN}" in step["detail"]
    assert f"alarms {DR_PLAN}-backup-failed, {DR_PLAN}-backup-age on {DR_PLAN}" in step["detail"]
    assert step["data"]["copy_vault_arn"] == HOME_VAULT_ARN
    assert set(step["data"]["alarms"]) == DR_ALARMS and step["data"]["alarms_before"] == []
    backup = backup_moto.client("backup", DR)
    got = backup.get_backup_plan(BackupPlanId=plans(backup_moto, DR)[DR_PLAN])
    # The backup layer's own ARN of the home vault (its outputs) is where the copies go.
    assert layers["vaults"]["primary"]["arn"] == HOME_VAULT_ARN
    assert plan_rules(got["BackupPlan"]["Rules"]) == wanted_rules(DR_PLAN, HOME_VAULT_ARN)
    tags = backup.list_tags(ResourceArn=got["BackupPlanArn"])["Tags"]
    assert tags["tradeops:dr"] == "reprotect" and tags["Environment"] == "lab", tags
    # Its selection: the DR region's RDS and EBS resources with every tag, the backup role.
    (listed,) = backup.list_backup_selections(BackupPlanId=got["BackupPlanId"])[
        "BackupSelectionsList"
    ]
    selection = backup.get_backup_selection(
        BackupPlanId=got["BackupPlanId"], SelectionId=listed["SelectionId"]
    )["BackupSelection"]
    assert selection["SelectionName"] == SELECTION
    assert sorted(selection["Resources"]) == sorted(
        [
            f"arn:aws:rds:{DR}:{ACCOUNT}:db:*",
            f"arn:aws:rds:{DR}:{ACCOUNT}:cluster:*",
            f"arn:aws:ec2:{DR}:{ACCOUNT}:volume/*",
        ]
    )
    assert sorted(
        (c["ConditionKey"], c["ConditionValue"]) for c in selection["Conditions"]["StringEquals"]
    ) == [("aws:ResourceTag/Backup", "true"), ("aws:ResourceTag/Environment", "lab")]
    # The home plan is the backup layer's: untouched, and the only plan at home.
    assert plans(backup_moto, HOME) == {NAME: home_plan[0]}
    assert (
        backup_moto.client("backup", HOME).get_backup_plan(BackupPlanId=home_plan[0])["VersionId"]
        == home_plan[1]
    )


def test_reprotect_home_alarms_the_dr_vaults_jobs_in_the_dr_region(
    reprotected_home, home_alarms, backup_moto
):
    got = alarms(backup_moto, DR)
    assert set(got) == DR_ALARMS, got
    failed, age = got[f"{DR_PLAN}-backup-failed"], got[f"{DR_PLAN}-backup-age"]
    home_failed, home_age = home_alarms[f"{NAME}-backup-failed"], home_alarms[f"{NAME}-backup-age"]
    for alarm, home in ((failed, home_failed), (age, home_age)):
        assert alarm["AlarmArn"].split(":")[3] == DR
        assert alarm["Dimensions"] == [{"Name": "BackupVaultName", "Value": DR_PLAN}]
        # The backup layer's alarm, on the DR vault: the same metric, thresholds, periods and
        # missing-data rule (26 hours: the lab's aws_backup_max_age_hours, the dr default's).
        for key in ("Namespace", "MetricName", "Statistic", "ComparisonOperator", "Threshold",
                    "Period", "EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData",
                    "AlarmActions", "OKActions"):  # fmt: skip
            assert alarm.get(key) == home.get(key), (key, alarm, home)
        assert alarm["AlarmDescription"] == home["AlarmDescription"].replace(
            f" into {NAME} ", f" into {DR_PLAN} "
        )
    assert age["EvaluationPeriods"] == 26 and failed["TreatMissingData"] == "notBreaching"
    # The home vault's alarms are the backup layer's, untouched.
    assert alarms(backup_moto, HOME) == home_alarms


def test_reprotect_home_again_changes_nothing(
    reprotected_home, backup_moto, backup_api, backup_outputs, records
):
    before = plans(backup_moto, DR)
    proc, calls, step = reprotect(backup_api, backup_outputs, records, HOME)
    assert not ApiLog.mutating(calls), calls
    assert step["outcome"] == "skipped" and step["detail"].endswith("(already)"), step
    assert set(step["data"]["alarms_before"]) == DR_ALARMS, step
    assert not task_changed(proc.stdout, "Backup | the DR region's plan, kept there and copied to")
    assert plans(backup_moto, DR) == before
    assert set(alarms(backup_moto, DR)) == DR_ALARMS
    # --check on it reports nothing either.
    proc, calls, step = reprotect(backup_api, backup_outputs, records, HOME, "--check")
    assert not ApiLog.mutating(calls), calls
    assert step["outcome"] == "skipped", step


def test_check_mode_back_home_shows_the_removal_and_changes_nothing(
    reprotected_home, backup_moto, backup_api, backup_outputs, records
):
    before = plans(backup_moto, DR)
    proc, calls, _step = reprotect(backup_api, backup_outputs, records, DR, "--check")
    assert not ApiLog.mutating(calls), calls
    assert task_changed(proc.stdout, "Backup | the DR vault's alarms in")
    assert task_changed(proc.stdout, "Backup | the DR region's plan]")
    assert plans(backup_moto, DR) == before
    assert set(alarms(backup_moto, DR)) == DR_ALARMS


@pytest.fixture(scope="module")
def reprotected_dr(reprotected_home, backup_api, backup_outputs, records):
    return reprotect(backup_api, backup_outputs, records, DR)


def test_reprotect_the_dr_region_removes_that_plan_and_keeps_the_home_plan(
    reprotected_dr, home_plan, home_alarms, backup_moto
):
    _proc, calls, step = reprotected_dr
    # The selection first: AWS (and the test's moto) refuse to delete a plan that has one.
    assert ApiLog.mutating(calls) == {
        "DeleteAlarms": 2,
        "DeleteBackupSelection": 1,
        "DeleteBackupPlan": 1,
    }, calls
    assert step["outcome"] == "done", step
    assert f"plan {DR_PLAN} in {DR} removed" in step["detail"], step
    assert f"{DR_PLAN}-backup-failed" in step["detail"] and "alarms" in step["detail"], step
    assert set(step["data"]["alarms_before"]) == DR_ALARMS, step
    assert DR_PLAN not in plans(backup_moto, DR)
    # The DR vault's alarms are gone; the home vault's (the backup layer's) are as they were.
    assert not alarms(backup_moto, DR)
    assert alarms(backup_moto, HOME) == home_alarms
    assert plans(backup_moto, HOME) == {NAME: home_plan[0]}
    home = backup_moto.client("backup", HOME).get_backup_plan(BackupPlanId=home_plan[0])
    assert (home["VersionId"], home["BackupPlan"]["Rules"]) == home_plan[1:]


def test_reprotect_the_dr_region_again_changes_nothing(
    reprotected_dr, backup_api, backup_outputs, records
):
    _proc, calls, step = reprotect(backup_api, backup_outputs, records, DR)
    assert not ApiLog.mutating(calls), calls
    assert step["outcome"] == "skipped" and "already absent" in step["detail"], step
    assert f"alarms {DR_PLAN}-backup-failed, {DR_PLAN}-backup-age already absent" in step["detail"]
    assert step["data"]["alarms_before"] == [], step
