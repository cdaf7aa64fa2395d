"""The DR runbooks on the lab test_lab.py converged, with real data moving between regions.

The lab (conftest.py: its own name, subnet and moto behind the region gate) converged by
site.yml:
PostgreSQL and Redis on db-east-1 (primary) streaming to db-west-1, engines in both
regions (us-west-2's fenced until it is active), the DR state at epoch 1. A load
generator (lab/loadgen/orders.py) places sequence-numbered orders through the engines for
the whole module, so every move is judged on acknowledged orders: an acknowledged order
missing from the new primary is lost.

The tests depend on each other's order (pytest keeps file order), as an operator's day
would: status and preflight -> refusals that change nothing -> a lagging replica and a
parity mismatch fail preflight -> switchover (RPO 0) -> the old region's engines refuse to
start -> reprotect -> failback killed after promotion, resumed -> reprotect -> the home
region cut: a failover refused without an estimate, then done with no call to the cut
region, losing at most what it disclosed -> the cut region restored: its leftover engines
are stopped by the fence's watchdog -> lab down leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..support import ROOT, tradeops
from .conftest import LAB, SUBNET, podman_names
from .drlab import EAST, EAST_ENGINES, PREFIX, WEST, DrLab

pytestmark = pytest.mark.lab

RATE = 20  # orders per second
RECORDS = ROOT / ".cache" / "dr" / "runs"


@pytest.fixture(scope="module")
def drlab(lab, lab_env, first_site, tmp_path_factory, pytestconfig):
    """The package's lab, converged (first_site), as a DrLab."""
    drlab = DrLab(LAB, SUBNET, tmp_path_factory.mktemp("dr"), env=lab_env)
    yield drlab
    # In every CI log, passed or not: the runbooks' times and the RTO/RPO measured.
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    line = f"DR lab timings (s): {json.dumps(drlab.timings)}"
    if reporter:
        reporter.write_line(line)
    else:
        print(line)


@pytest.fixture(scope="module")
def load(drlab):
    generator = drlab.load(RATE)
    try:
        generator.wait_for_acks_from(EAST, after=0)
        yield generator
    finally:
        generator.stop()


def said(proc) -> str:
    """What the CLI printed, whitespace folded (it wraps long failure messages)."""
    return " ".join(proc.stderr.split())


def unchanged(drlab):
    """What a refused run must leave alone: epoch 1, east primary, east engines running."""
    records = drlab.dr_state()
    assert {r["epoch"] for r in records.values()} == {1}, records
    assert not drlab.in_recovery("db-east-1") and drlab.in_recovery("db-west-1")
    assert drlab.engine_active("engine-c5n-1") == "active"


# ---- the day -----------------------------------------------------------------------------
def test_status_and_preflight_on_a_converged_lab(drlab, load):
    proc, _ = drlab.dr("status", label="status")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "us-east-1 at epoch 1" in said(proc)
    proc, _ = drlab.dr("preflight", label="preflight")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "ok   postgresql_lag" in proc.stderr
    metrics = drlab.sh("mon-1", "cat /var/lib/prometheus/node-exporter/tradeops_dr.prom").stdout
    assert 'tradeops_dr_ready{environment="lab",standby="us-west-2"} 1' in metrics
    assert 'check="postgresql_lag"} 1' in metrics
    # The DR engine is installed, fenced, and stopped; the home region's engines run.
    assert drlab.engine_active("engine-west-1") != "active"
    assert drlab.engine_active("engine-c5n-1") == "active"


def test_refusals_change_nothing(drlab, load):
    proc, _ = drlab.dr("switchover")
    assert proc.returncode == 3 and "--confirm" in proc.stderr
    unchanged(drlab)
    proc, _ = drlab.dr("switchover", "--confirm", "lab:us-east-1", "--new-run")
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "--confirm lab:us-west-2" in said(proc)
    unchanged(drlab)
    # Inside the change freeze, without a reason.
    freeze = json.dumps(
        {
            "dr_freeze": {
                "timezone": "America/New_York",
                "windows": [{"days": ["mon-fri"], "start": "09:30", "end": "16:00"}],
            },
            "dr_freeze_now": "2026-03-10T15:00:00Z",
        }
    )
    proc, _ = drlab.dr("switchover", "--confirm", "lab:us-west-2", "--new-run", "-e", freeze)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "change freeze in force" in said(proc)
    unchanged(drlab)
    # Another operator's run holds the lock.
    lock = {
        "owner": "alice@ops-1",
        "run_id": "20261206T000000Z-switchover-1",
        "verb": "switchover",
        "acquired_at": "2026-12-06T00:00:00Z",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    drlab.ssm(WEST).put_parameter(Name=f"{PREFIX}/lock", Value=json.dumps(lock), Type="String")
    try:
        proc, _ = drlab.dr("switchover", "--confirm", "lab:us-west-2", "--new-run")
        assert proc.returncode == 4, proc.stderr[-3000:]
        assert "alice@ops-1" in said(proc)
        unchanged(drlab)
    finally:
        drlab.ssm(WEST).delete_parameter(Name=f"{PREFIX}/lock")
    # The standby is not ready (lag over the budget): the move is refused at the freeze, and
    # the lock it took is released (it was kept for its whole TTL: the freeze play had no
    # AWS connection for the release), so the operator's next command is not refused.
    drlab.psql("db-west-1", "SELECT pg_wal_replay_pause()")
    try:
        time.sleep(3)
        proc, _ = drlab.dr(
            "switchover", "--confirm", "lab:us-west-2", "--new-run", "-e", "dr_lag_budget_seconds=1"
        )
    finally:
        drlab.psql("db-west-1", "SELECT pg_wal_replay_resume()")
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "is not ready" in said(proc) and "postgresql_lag" in said(proc)
    lock = drlab.ssm(WEST).get_parameters(Names=[f"{PREFIX}/lock"])
    assert lock["InvalidParameters"] == [f"{PREFIX}/lock"], said(proc)[-2000:]  # no lock
    unchanged(drlab)


def test_preflight_fails_on_a_lagging_replica_and_a_parity_mismatch(drlab, load):
    drlab.psql("db-west-1", "SELECT pg_wal_replay_pause()")
    try:
        time.sleep(3)
        proc, _ = drlab.dr("preflight", "-e", "dr_lag_budget_seconds=1")
        assert proc.returncode == 4, proc.stderr[-3000:]
        assert "FAIL postgresql_lag" in proc.stderr
    finally:
        drlab.psql("db-west-1", "SELECT pg_wal_replay_resume()")
    import boto3

    ec2 = boto3.client(
        "ec2",
        endpoint_url=drlab.lab.moto_url,
        region_name=WEST,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["lab"]}])["Vpcs"]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
    )["SecurityGroups"]
    group = next(g for g in groups if g["GroupName"] != "default")
    rule = [
        {
            "IpProtocol": "tcp",
            "FromPort": 2222,
            "ToPort": 2222,
            "IpRanges": [{"CidrIp": "198.18.0.0/24"}],
        }
    ]
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=rule)
    try:
        proc, _ = drlab.dr("preflight")
        assert proc.returncode == 4, proc.stderr[-3000:]
        assert "FAIL sg_parity" in proc.stderr and "2222" in proc.stderr
    finally:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=rule)
    unchanged(drlab)


def test_switchover_loses_no_acknowledged_order(drlab, load):
    before = load.last_seq()
    proc, report = drlab.dr("switchover", "--confirm", "lab:us-west-2", label="switchover")
    assert proc.returncode == 0, proc.stderr[-6000:]
    record = report["dr_record"]
    assert record["status"] == "succeeded"
    assert record["rto"]["seconds"] is not None
    assert record["rpo"]["measured_seconds"] == 0
    drlab.timings["switchover RTO"] = record["rto"]["seconds"]
    fresh = load.wait_for_acks_from(WEST, after=before)
    drlab.timings["switchover client outage"] = load.outage_after(before)
    assert not drlab.in_recovery("db-west-1")
    # Every order acknowledged up to the first one in us-west-2 is in the new primary.
    assert load.lost(drlab.seqs("db-west-1"), upto=fresh[0]["seq"]) == []
    records = drlab.dr_state()
    assert records[EAST] == records[WEST] and records[WEST]["active_region"] == WEST
    assert records[WEST]["epoch"] == 2
    assert all(drlab.engine_active(h) != "active" for h in EAST_ENGINES)
    # The record went to the target region's compliance bucket too.
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=drlab.lab.moto_url,
        region_name=WEST,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    key = f"dr/runs/{record['run_id']}.json"
    body = s3.get_object(Bucket="tradeops-lab-123456789012-compliance-dr", Key=key)["Body"]
    assert json.loads(body.read())["run_id"] == record["run_id"]


def test_the_old_regions_engines_refuse_to_start(drlab):
    start = drlab.sh("engine-c5n-1", "systemctl start refengine", check=False)
    assert start.returncode != 0
    journal = drlab.sh("engine-c5n-1", "journalctl -u refengine -n 20 --no-pager").stdout
    assert "names us-west-2, not us-east-1: fenced" in journal
    assert drlab.engine_active("engine-c5n-1") != "active"


def test_reprotect_builds_a_new_standby_and_keeps_the_old_data(drlab, load):
    # The database role alone never replaces a data directory it was not told to.
    refused = drlab.entry(
        "db-east-1", "db_postgresql", "rebuild_standby",
        f"db_postgresql_primary_address={drlab.address('db-west-1')}",
    )  # fmt: skip
    assert refused.returncode != 0 and "db_postgresql_rebuild_ok=true" in refused.stdout, (
        refused.stdout[-3000:]
    )
    assert not drlab.in_recovery("db-east-1")
    assert (
        drlab.sh("db-east-1", "ls -d /var/lib/postgresql/15/main.forensics-*", check=False).stdout
        == ""
    )
    proc, _ = drlab.dr("reprotect", "--confirm", "lab:us-east-1", label="reprotect east")
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert drlab.in_recovery("db-east-1")
    assert drlab.psql("db-east-1", "SELECT status FROM pg_stat_wal_receiver") == "streaming"
    kept = drlab.sh("db-east-1", "ls -d /var/lib/postgresql/15/main.forensics-*").stdout
    assert len(kept.split()) == 1
    assert drlab.dr_state()[EAST]["epoch"] == 2
    # Objects written in the active DR region flow home: each DR bucket copy replicates to
    # its home bucket (the s3 layer's home -> DR rules stay as they were).
    assert drlab.s3_replication(WEST) == {
        bucket: {"to-home": bucket.removesuffix("-dr")} for bucket in drlab.replicated_copies()
    }
    assert drlab.replicated_copies(), "the lab's s3 layer replicates no bucket"
    for bucket in drlab.replicated_copies():
        assert drlab.s3_replication(EAST, bucket.removesuffix("-dr")) == {
            bucket.removesuffix("-dr"): {"to-dr": bucket}
        }
    # AWS Backup: the active DR region backs up too, copying home (roles/dr reprotect_backup).
    backup = drlab.aws("backup", WEST)
    (plan,) = [
        p for p in backup.list_backup_plans()["BackupPlansList"]
        if p["BackupPlanName"] == "tradeops-lab-dr"
    ]  # fmt: skip
    rules = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]
    assert {r["TargetBackupVaultName"] for r in rules} == {"tradeops-lab-dr"}
    assert {c["DestinationBackupVaultArn"] for r in rules for c in r["CopyActions"]} == {
        f"arn:aws:backup:{EAST}:123456789012:backup-vault:tradeops-lab"
    }
    # ... and its jobs are alarmed there, as the home vault's are at home.
    alarms = drlab.aws("cloudwatch", WEST).describe_alarms(AlarmNamePrefix="tradeops-lab-dr-")
    assert {(a["AlarmName"], a["Dimensions"][0]["Value"]) for a in alarms["MetricAlarms"]} == {
        ("tradeops-lab-dr-backup-failed", "tradeops-lab-dr"),
        ("tradeops-lab-dr-backup-age", "tradeops-lab-dr"),
    }


def test_failback_killed_after_promotion_resumes_without_promoting_again(drlab, load):
    before_records = {p.name for p in RECORDS.glob("*-failback-*.json")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tradeops"), "dr", "failback", "-i", "inventories/lab",
         "--confirm", "lab:us-east-1"],
        env=drlab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 900
    record_path = None
    while time.monotonic() < deadline:
        fresh = [p for p in RECORDS.glob("*-failback-*.json") if p.name not in before_records]
        if fresh:
            record_path = fresh[0]
            steps = json.loads(record_path.read_text()).get("steps", [])
            if any(s["id"] == "promote" and s.get("outcome") == "done" for s in steps):
                break
        time.sleep(0.3)
    else:
        raise AssertionError("the failback never finished its promotion")
    # Kill it all: the CLI, ansible-runner and ansible-playbook (its own session).
    os.killpg(proc.pid, signal.SIGKILL)
    subprocess.run(["pkill", "-KILL", "-f", "playbooks/dr/failback.yml"], check=False)
    proc.wait(timeout=30)
    assert not drlab.in_recovery("db-east-1")
    run_id = record_path.stem
    before = load.last_seq()
    again, report = drlab.dr("failback", "--confirm", "lab:us-east-1", label="failback resumed")
    assert again.returncode == 0, again.stderr[-6000:]
    assert f"resuming failback run {run_id}" in again.stderr
    record = report["dr_record"]
    assert record["run_id"] == run_id and record["status"] == "succeeded"
    drlab.timings["failback (killed, resumed) RTO"] = record["rto"]["seconds"]
    drlab.timings["failback RPO"] = record["rpo"]["measured_seconds"]
    epochs = [s for s in record["steps"] if s["id"] == "epoch"]
    assert [s["outcome"] for s in epochs] == ["done", "skipped"]  # claimed once
    promotions = [s for s in record["steps"] if s["id"] == "promote"]
    # The databases were promoted once; the resumed run found them primaries. (moto keeps
    # a promoted RDS replica's source, so the RDS call repeats there and the step counts as
    # done; on AWS a resumed run skips it.)
    assert len(promotions) == 2 and promotions[0]["outcome"] == "done", promotions
    again_detail = promotions[1]["detail"]
    assert "PostgreSQL already a primary; Redis already a primary" in again_detail, promotions
    assert promotions[1]["outcome"] == ("done" if "RDS promoted" in again_detail else "skipped")
    records = drlab.dr_state()
    assert records[EAST]["epoch"] == 3 and records[EAST]["active_region"] == EAST
    fresh = load.wait_for_acks_from(EAST, after=before)
    assert load.lost(drlab.seqs("db-east-1"), upto=fresh[0]["seq"]) == []


def test_reprotect_the_dr_region(drlab, load):
    proc, _ = drlab.dr("reprotect", "--confirm", "lab:us-west-2", label="reprotect west")
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert drlab.in_recovery("db-west-1")
    # Home again: the DR copies replicate no more, as site.yml left them.
    assert drlab.s3_replication(WEST) == {bucket: {} for bucket in drlab.replicated_copies()}
    # ... and the DR region's backup plan is gone; the home plan (the backup layer's) stays.
    plan_names = {
        region: {
            p["BackupPlanName"]
            for p in drlab.aws("backup", region).list_backup_plans()["BackupPlansList"]
        }
        for region in (EAST, WEST)
    }
    assert "tradeops-lab-dr" not in plan_names[WEST] and "tradeops-lab" in plan_names[EAST]
    left = drlab.aws("cloudwatch", WEST).describe_alarms(AlarmNamePrefix="tradeops-lab-dr-")
    assert left["MetricAlarms"] == []


def test_failover_with_the_home_region_cut(drlab, load):
    proc, _ = drlab.dr("status", label="status before the cut")
    assert proc.returncode == 0, proc.stderr[-4000:]
    last = RECORDS / "last-readiness.json"
    disclosed_lag = json.loads(last.read_text())["lag_seconds"]["postgresql"]
    assert disclosed_lag is not None
    # Over the budget and not accepted: refused before anything changes. The standby stops
    # replaying while orders keep coming, then the home region is cut: what it received and
    # has not replayed is its own replay lag, the estimate, over a 1 s budget. (Paused after
    # the cut, it would have nothing left to replay: lag 0.)
    west_before = drlab.dr_state_of(WEST)
    drlab.psql("db-west-1", "SELECT pg_wal_replay_pause()")
    replaying = False
    try:
        time.sleep(4)
        drlab.lab.fail_region(EAST)
        refused, _ = drlab.dr(
            "failover", "--target-region", WEST, "--confirm", "lab:us-west-2", "--new-run",
            "-e", "dr_rpo_budget_seconds=1", label="failover refused (lag over budget)",
        )  # fmt: skip
        # 3: the runbook refused (its record says so) before anything changed
        assert refused.returncode == 3, refused.stderr[-4000:]
        assert "s budget" in said(refused) and "--accept-data-loss" in said(refused)
        assert "Nothing has been changed" in said(refused)
        assert drlab.dr_state_of(WEST) == west_before
        assert drlab.in_recovery("db-west-1")
        drlab.psql("db-west-1", "SELECT pg_wal_replay_resume()")
        replaying = True
        time.sleep(1)
        cut_seq = load.last_seq()
        # The lag comes from the DR region's own standby (its replay position), so the
        # failover needs nothing of the cut region to disclose it. (Hiding the last
        # readiness record no longer makes the loss unknown: that refusal case is gone.)
        started = time.time()
        proc, report = drlab.dr(
            "failover", "--target-region", WEST, "--confirm", "lab:us-west-2", "--new-run",
            label="failover",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-6000:]
        record = report["dr_record"]
        drlab.timings["failover RTO"] = record["rto"]["seconds"]
        # No call of the runbook's reached the cut region (the DR hosts' own fence checks
        # come from their lab addresses, not from the controller).
        calls = [
            e
            for e in drlab.lab.gate_log(since=started)
            if e.get("region") == EAST and e.get("client") == "127.0.0.1"
        ]
        assert calls == [], calls[:5]
        assert not drlab.in_recovery("db-west-1")
        fresh = load.wait_for_acks_from(WEST, after=cut_seq)
        drlab.timings["failover client outage"] = load.outage_after(cut_seq)
        gone = load.lost(drlab.seqs("db-west-1"), upto=fresh[0]["seq"])
        estimate = float(record["rpo"]["estimate_seconds"])
        assert estimate >= float(disclosed_lag)
        # At most what the disclosed lag allowed, and the order in flight when it died.
        assert len(gone) <= math.ceil(estimate * RATE) + 1, (gone, estimate)
        drlab.timings["failover lost orders"] = len(gone)
    finally:
        if not replaying:  # still a standby only if the refusal held
            drlab.sh("db-west-1", "runuser -u postgres -- psql -XAtq -d trading -c "
                     "'SELECT pg_wal_replay_resume()'", check=False)  # fmt: skip
        drlab.lab.restore_region(EAST)
    # The cut region's engine was running when it died; back, the fence's watchdog stops it
    # (a newer epoch names us-west-2), and none can be started there.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and any(
        drlab.engine_active(h) == "active" for h in EAST_ENGINES
    ):
        time.sleep(2)
    assert all(drlab.engine_active(h) != "active" for h in EAST_ENGINES)
    assert drlab.sh("engine-c5n-2", "systemctl start refengine", check=False).returncode != 0


def test_a_converge_that_names_a_stale_active_region_refuses(drlab):
    # us-west-2 took over; a databases converge told us-east-1 is active must not demote
    # the promoted primary nor promote the old one.
    proc = tradeops(
        "run", "playbooks/hosts/databases.yml", "-e", "tradeops_active_region=us-east-1",
        env=drlab.env,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "Rebuild it only on purpose" in said(proc)
    assert not drlab.in_recovery("db-west-1")


def test_the_rds_layer_refuses_to_undo_the_failover(drlab):
    # The promoted replica differs from the RDS layer's spec (primary in us-east-1): a
    # site.yml converge must say so and leave the promoted database alone.
    rds = drlab.aws("rds", WEST)
    before = [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]]
    proc = tradeops("run", "site", "--tags", "rds", env=drlab.env)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert f"The DR state names {WEST} as the active region" in said(proc), said(proc)[-3000:]
    after = rds.describe_db_instances()["DBInstances"]
    # (moto keeps a promoted replica's source on it: the identifiers are what can change)
    assert [d["DBInstanceIdentifier"] for d in after] == before


def test_lab_down_leaves_nothing_behind(lab_env, load):
    # Runs last in the package (pytest keeps file order); the fixture's own down is then a
    # no-op, which is what idempotent means.
    load.stop()
    status = json.loads(tradeops("lab", "status", "--json", env=lab_env).stdout)
    assert status["moto"]["pid"], "moto should be running before down"
    assert status["gate"]["pid"], "the gate should be running before down"
    pids = (status["moto"]["pid"], status["gate"]["pid"])
    down = tradeops("lab", "down", env=lab_env)
    assert down.returncode == 0, down.stderr
    assert podman_names("ps", lab_env) == []
    assert podman_names("network", lab_env) == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    after = tradeops("lab", "status", env=lab_env)
    assert after.returncode == 3
