"""The DR runbooks on a lab of their own, with real data moving between the regions.

A lab (todr, 198.19.65.0/24, its own moto behind the region gate) converged by site.yml:
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
are stopped by the fence's watchdog.
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

from ..support import ROOT, _free_port, ansible_env, tradeops

pytestmark = pytest.mark.lab

LAB = "todr"
SUBNET = "198.19.65.0/24"
PREFIX = "/tradeops/lab/dr"
EAST, WEST = "us-east-1", "us-west-2"
EAST_ENGINES = ["engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1"]
RATE = 20  # orders per second
TIMINGS: dict[str, float] = {}


def address(host: str) -> str:
    numbers = {
        "engine-c5n-1": 11,
        "engine-c5n-2": 12,
        "engine-metal-1": 13,
        "engine-bm-1": 21,
        "engine-west-1": 41,
        "db-east-1": 51,
        "db-west-1": 52,
    }
    return SUBNET.rsplit(".", 1)[0] + f".{numbers[host]}"


# ---- helpers ---------------------------------------------------------------------------
def sh(env, host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["podman", "exec", f"{LAB}-{host}", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{host}: {script!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def psql(env, host: str, sql: str) -> str:
    return sh(env, host, f'runuser -u postgres -- psql -XAtq -d trading -c "{sql}"').stdout.strip()


def seqs(env, host: str) -> set[int]:
    return {int(line) for line in psql(env, host, "SELECT seq FROM orders").split() if line}


def dr(env, verb: str, *args: str, label: str | None = None, timeout: int = 900):
    report = Path(env["TRADEOPS_DR_TEST_DIR"]) / f"{verb}-{time.monotonic_ns()}.json"
    started = time.monotonic()
    proc = tradeops(
        "dr",
        verb,
        "-i",
        "inventories/lab",
        "--report",
        str(report),
        *args,
        env=env,
        timeout=timeout,
    )
    if label:
        TIMINGS[label] = round(time.monotonic() - started, 1)
    data = json.loads(report.read_text()) if report.is_file() else {}
    return proc, data


def ssm_records(moto_url: str) -> dict[str, dict]:
    import boto3

    out = {}
    for region in (EAST, WEST):
        client = boto3.client(
            "ssm",
            endpoint_url=moto_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        out[region] = json.loads(
            client.get_parameter(Name=f"{PREFIX}/active")["Parameter"]["Value"]
        )
    return out


def engine_active(env, host: str) -> str:
    return sh(env, host, "systemctl is-active refengine", check=False).stdout.strip()


def in_recovery(env, host: str) -> bool:
    return psql(env, host, "SELECT pg_is_in_recovery()") == "t"


class Load:
    """The load generator, running for the whole module."""

    def __init__(self, directory: Path):
        self.acks = directory / "acks.jsonl"
        self.status = directory / "status.json"
        engines = [*EAST_ENGINES, "engine-west-1"]
        argv = [
            sys.executable,
            str(ROOT / "lab/loadgen/orders.py"),
            "--rate",
            str(RATE),
            "--duration",
            "3600",
            "--start-seq",
            "1",
            "--acks",
            str(self.acks),
            "--status",
            str(self.status),
        ]
        for host in engines:
            argv += ["--engine", f"http://{address(host)}:8080"]
        self._log = open(directory / "loadgen.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self._log)

    def acked(self) -> list[dict]:
        return [json.loads(line) for line in self.acks.read_text().splitlines() if line.strip()]

    def wait_for_acks_from(self, region: str, after: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [a for a in self.acked() if a["seq"] > after and a.get("region") == region]
            if len(fresh) >= RATE:
                return fresh
            time.sleep(0.5)
        raise AssertionError(
            f"no orders acknowledged in {region} after seq {after}: {self.acked()[-3:]}"
        )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self._log.close()


def lost(load: Load, present: set[int], upto: int | None = None) -> list[int]:
    acked = {a["seq"] for a in load.acked() if upto is None or a["seq"] <= upto}
    return sorted(acked - present)


# ---- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_env(tmp_path_factory) -> dict[str, str]:
    port = _free_port()
    directory = tmp_path_factory.mktemp("dr")
    return ansible_env(
        TRADEOPS_LAB_NAME=LAB,
        TRADEOPS_LAB_SUBNET=SUBNET,
        TRADEOPS_MOTO_PORT=str(port),
        TRADEOPS_AWS_OUTPUTS_DIR=str(directory / "outputs"),
        TRADEOPS_DR_TEST_DIR=str(directory),
    )


@pytest.fixture(scope="module")
def lab(lab_env):
    sys.path.insert(0, str(ROOT / "scripts"))
    from tradeops.lab import Lab

    started = time.monotonic()
    up = tradeops("lab", "up", "--json", env=lab_env)
    try:
        assert up.returncode == 0, up.stderr
        os.environ.update(
            {
                k: lab_env[k]
                for k in ("TRADEOPS_LAB_NAME", "TRADEOPS_LAB_SUBNET", "TRADEOPS_MOTO_PORT")
            }
        )
        the_lab = Lab()
        site = tradeops("run", "site", "-i", "inventories/lab", env=lab_env, timeout=2400)
        assert site.returncode == 0, site.stderr[-6000:]
        TIMINGS["lab up + site"] = round(time.monotonic() - started, 1)
        yield the_lab
    finally:
        for region in (EAST, WEST):
            tradeops("lab", "restore-region", region, env=lab_env)
        down = tradeops("lab", "down", env=lab_env)
        print(f"\nDR lab timings (s): {json.dumps(TIMINGS)}")
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def load(lab, lab_env):
    generator = Load(Path(lab_env["TRADEOPS_DR_TEST_DIR"]))
    try:
        generator.wait_for_acks_from(EAST, after=0)
        yield generator
    finally:
        generator.stop()


# ---- the day -----------------------------------------------------------------------------
def test_status_and_preflight_on_a_converged_lab(lab, lab_env, load):
    proc, _ = dr(lab_env, "status", label="status")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "us-east-1 at epoch 1" in proc.stderr
    proc, _ = dr(lab_env, "preflight", label="preflight")
    assert proc.returncode == 0, proc.stderr[-4000:]
    metrics = sh(lab_env, "mon-1", "cat /var/lib/prometheus/node-exporter/tradeops_dr.prom").stdout
    assert 'tradeops_dr_ready{environment="lab",standby="us-west-2"} 1' in metrics
    assert 'check="postgresql_lag"} 1' in metrics
    # The DR engine is installed, fenced, and stopped.
    assert engine_active(lab_env, "engine-west-1") != "active"
    assert engine_active(lab_env, "engine-c5n-1") == "active"


def unchanged(lab, lab_env):
    records = ssm_records(lab.moto_url)
    assert {r["epoch"] for r in records.values()} == {1}, records
    assert not in_recovery(lab_env, "db-east-1") and in_recovery(lab_env, "db-west-1")
    assert engine_active(lab_env, "engine-c5n-1") == "active"


def test_refusals_change_nothing(lab, lab_env, load):
    proc, _ = dr(lab_env, "switchover")
    assert proc.returncode == 3 and "--confirm" in proc.stderr
    proc, _ = dr(lab_env, "switchover", "--confirm", "lab:us-east-1")
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "confirm with --confirm lab:us-west-2" in proc.stderr
    unchanged(lab, lab_env)
    # Another operator's run holds the lock.
    import boto3

    ssm = boto3.client(
        "ssm",
        endpoint_url=lab.moto_url,
        region_name=WEST,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    lock = {
        "owner": "alice@ops-1",
        "run_id": "20261206T000000Z-switchover-1",
        "verb": "switchover",
        "acquired_at": "2026-12-06T00:00:00Z",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    ssm.put_parameter(Name=f"{PREFIX}/lock", Value=json.dumps(lock), Type="String")
    try:
        proc, _ = dr(lab_env, "switchover", "--confirm", "lab:us-west-2", "--new-run")
        assert proc.returncode in (3, 4), proc.stderr[-3000:]
        assert "alice@ops-1" in proc.stderr
        unchanged(lab, lab_env)
    finally:
        ssm.delete_parameter(Name=f"{PREFIX}/lock")


def test_preflight_fails_on_a_lagging_replica_and_a_parity_mismatch(lab, lab_env, load):
    psql(lab_env, "db-west-1", "SELECT pg_wal_replay_pause()")
    try:
        time.sleep(3)
        proc, _ = dr(lab_env, "preflight", "-e", "dr_lag_budget_seconds=1")
        assert proc.returncode == 4, proc.stderr[-3000:]
        assert "postgresql_lag" in proc.stderr
    finally:
        psql(lab_env, "db-west-1", "SELECT pg_wal_replay_resume()")
    import boto3

    ec2 = boto3.client(
        "ec2",
        endpoint_url=lab.moto_url,
        region_name=WEST,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["lab"]}])["Vpcs"][0][
        "VpcId"
    ]
    group = next(
        g
        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
            "SecurityGroups"
        ]
        if g["GroupName"] != "default"
    )
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
        proc, _ = dr(lab_env, "preflight")
        assert proc.returncode == 4, proc.stderr[-3000:]
        assert "sg_parity" in proc.stderr and "2222" in proc.stderr
    finally:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=rule)
    unchanged(lab, lab_env)


def test_switchover_loses_no_acknowledged_order(lab, lab_env, load):
    before = max(a["seq"] for a in load.acked())
    proc, report = dr(lab_env, "switchover", "--confirm", "lab:us-west-2", label="switchover")
    assert proc.returncode == 0, proc.stderr[-6000:]
    record = report["dr_record"]
    assert record["status"] == "succeeded"
    assert record["rto"]["seconds"] is not None
    TIMINGS["switchover RTO"] = record["rto"]["seconds"]
    fresh = load.wait_for_acks_from(WEST, after=before)
    assert not in_recovery(lab_env, "db-west-1")
    # Every order acknowledged up to the first DR ack is in the new primary: RPO 0.
    assert lost(load, seqs(lab_env, "db-west-1"), upto=fresh[0]["seq"]) == []
    records = ssm_records(lab.moto_url)
    assert records[EAST] == records[WEST] and records[WEST]["active_region"] == WEST
    assert records[WEST]["epoch"] == 2
    assert all(engine_active(lab_env, h) != "active" for h in EAST_ENGINES)


def test_the_old_regions_engines_refuse_to_start(lab, lab_env):
    start = sh(lab_env, "engine-c5n-1", "systemctl start refengine", check=False)
    assert start.returncode != 0
    journal = sh(lab_env, "engine-c5n-1", "journalctl -u refengine -n 20 --no-pager").stdout
    assert "names us-west-2, not us-east-1: fenced" in journal
    assert engine_active(lab_env, "engine-c5n-1") != "active"


def test_reprotect_builds_a_new_standby_and_keeps_the_old_data(lab, lab_env, load):
    proc, _ = dr(lab_env, "reprotect", "--confirm", "lab:us-east-1", label="reprotect east")
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert in_recovery(lab_env, "db-east-1")
    assert psql(lab_env, "db-east-1", "SELECT status FROM pg_stat_wal_receiver") == "streaming"
    kept = sh(lab_env, "db-east-1", "ls -d /var/lib/postgresql/15/main.forensics-*").stdout.split()
    assert len(kept) == 1


def kill_runbook(pattern: str) -> None:
    subprocess.run(["pkill", "-KILL", "-f", pattern], check=False)


def test_failback_killed_after_promotion_resumes_without_promoting_again(lab, lab_env, load):
    records_dir = ROOT / ".cache" / "dr" / "runs"
    before = {p.name for p in records_dir.glob("*-failback-*.json")}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "tradeops"),
            "dr",
            "failback",
            "-i",
            "inventories/lab",
            "--confirm",
            "lab:us-east-1",
        ],
        env=lab_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    record_path = None
    while time.monotonic() < deadline:
        new = [p for p in records_dir.glob("*-failback-*.json") if p.name not in before]
        if new:
            record_path = new[0]
            steps = json.loads(record_path.read_text()).get("steps", [])
            if any(s["id"] == "promote" and s.get("outcome") == "done" for s in steps):
                break
        time.sleep(0.3)
    else:
        raise AssertionError("the failback never finished its promotion")
    os.killpg(proc.pid, signal.SIGKILL)
    kill_runbook("playbooks/dr/failback.yml")
    proc.wait(timeout=30)
    assert not in_recovery(lab_env, "db-east-1")
    run_id = record_path.stem
    again, report = dr(lab_env, "failback", "--confirm", "lab:us-east-1", label="failback resumed")
    assert again.returncode == 0, again.stderr[-6000:]
    assert f"resuming failback run {run_id}" in again.stderr
    record = report["dr_record"]
    assert record["run_id"] == run_id and record["status"] == "succeeded"
    epochs = [s for s in record["steps"] if s["id"] == "epoch"]
    assert epochs[-1]["outcome"] == "skipped"  # not claimed twice
    records = ssm_records(lab.moto_url)
    assert records[EAST]["epoch"] == 3 and records[EAST]["active_region"] == EAST
    before_seq = max(a["seq"] for a in load.acked())
    fresh = load.wait_for_acks_from(EAST, after=before_seq)
    assert lost(load, seqs(lab_env, "db-east-1"), upto=fresh[0]["seq"]) == []


def test_reprotect_the_dr_region(lab, lab_env, load):
    proc, _ = dr(lab_env, "reprotect", "--confirm", "lab:us-west-2", label="reprotect west")
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert in_recovery(lab_env, "db-west-1")


def test_failover_with_the_home_region_cut(lab, lab_env, load):
    proc, _ = dr(lab_env, "status", label="status before the cut")
    assert proc.returncode == 0, proc.stderr[-4000:]
    last = ROOT / ".cache" / "dr" / "runs" / "last-readiness.json"
    disclosed_lag = json.loads(last.read_text())["lag_seconds"]["postgresql"]
    cut = lab.fail_region(EAST)
    assert cut
    cut_at = time.time()
    try:
        # Without a lag figure the loss is unknown: refused without --accept-data-loss.
        aside = last.with_suffix(".aside")
        last.rename(aside)
        try:
            proc, report = dr(
                lab_env, "failover", "--target-region", WEST, "--confirm", "lab:us-west-2"
            )
        finally:
            aside.rename(last)
        assert proc.returncode in (3, 4), proc.stderr[-3000:]
        assert "UNKNOWN" in proc.stderr and "--accept-data-loss" in proc.stderr
        assert in_recovery(lab_env, "db-west-1")
        started = time.time()
        proc, report = dr(
            lab_env,
            "failover",
            "--target-region",
            WEST,
            "--confirm",
            "lab:us-west-2",
            "--new-run",
            label="failover",
        )
        assert proc.returncode == 0, proc.stderr[-6000:]
        record = report["dr_record"]
        TIMINGS["failover RTO"] = record["rto"]["seconds"]
        # No call of the runbook's reached the cut region (the hosts' own fence checks
        # come from their lab addresses).
        calls = [
            e
            for e in lab.gate_log(since=started)
            if e.get("region") == EAST and e.get("client") == "127.0.0.1"
        ]
        assert calls == [], calls[:5]
        assert not in_recovery(lab_env, "db-west-1")
        before = max(a["seq"] for a in load.acked())
        fresh = load.wait_for_acks_from(WEST, after=before)
        gone = lost(load, seqs(lab_env, "db-west-1"), upto=fresh[0]["seq"])
        estimate = record["rpo"]["estimate_seconds"]
        assert estimate is not None and float(estimate) >= float(disclosed_lag or 0)
        # At most what the disclosed lag allowed (orders in flight when the region died).
        assert len(gone) <= math.ceil(float(estimate) * RATE) + 1, (gone, estimate)
        TIMINGS["failover lost orders"] = len(gone)
        TIMINGS["cut -> DR acks s"] = round(time.time() - cut_at, 1)
    finally:
        lab.restore_region(EAST)
    # The cut region's engines were running when it died; back, the fence's watchdog stops
    # them (a newer epoch names us-west-2), and they cannot be started.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
        engine_active(lab_env, h) == "active" for h in EAST_ENGINES
    ):
        time.sleep(1)
    assert all(engine_active(lab_env, h) != "active" for h in EAST_ENGINES)
    assert sh(lab_env, "engine-c5n-2", "systemctl start refengine", check=False).returncode != 0
