"""Backups that restore: the backup roles in a lab of their own, with real round trips.

A lab of its own (tobackup, 198.19.61.0/24, its own moto), whose engine-bm-1 also plays a
database host (group `databases` from a test inventory file). The repositories are the
lab's moto S3 behind a TLS front on the lab gateway (s3tls.py; pgBackRest speaks S3 over
TLS only), named lab-s3 in the host's /etc/hosts, with a CA the test makes.

The tests depend on each other's order (pytest keeps file order) and follow
docs/runbooks/restore.md step by step:
converge -> --check (no secret in the diff) -> restic round trip -> PostgreSQL PITR ->
failures (unreachable repository, wrong password: loud, and in the metrics) ->
restic retention. Each role's idempotence is its molecule scenario's
(molecule/backup_restic, molecule/backup_pgbackrest).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..support import _free_port, lab_environment, run_playbook, tradeops
from .s3tls import make_ca

pytestmark = pytest.mark.lab

LAB = "tobackup"
SUBNET = "198.19.61.0/24"
HOST = "engine-bm-1"
PLAYBOOK = "playbooks/hosts/backup.yml"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
PGDATA = "/var/lib/postgresql/15/main"
PG_SERVICE = "postgresql@15-main"
BUCKET = "tradeops-lab-123456789012-backups"
TREE = "/var/log/tradeops/roundtrip"
TIMINGS: dict[str, float] = {}


# ---- helpers -------------------------------------------------------------------------
def sh(env, script: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    """A shell script on the lab host (as root, like an operator's shell there)."""
    proc = subprocess.run(
        ["podman", "exec", f"{LAB}-{HOST}", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{script!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def psql(env, sql: str, db: str = "trades") -> str:
    return sh(
        env, f"runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d {db} -c {quote(sql)}"
    ).stdout.strip()


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def converge(env, inventory: Path, *args: str, label: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = run_playbook(
        PLAYBOOK, "-i", "inventories/lab", "-i", str(inventory), "--limit", HOST, *args, env=env
    )
    TIMINGS[label] = round(time.monotonic() - started, 1)
    return proc


def recap(proc: subprocess.CompletedProcess) -> dict[str, int]:
    match = re.search(rf"^{HOST}\s*:\s*(.*)$", proc.stdout, re.MULTILINE)
    assert match, proc.stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def changed_tasks(proc: subprocess.CompletedProcess) -> list[str]:
    tasks, current = [], ""
    for line in proc.stdout.splitlines():
        if line.startswith("TASK ["):
            current = line
        elif line.startswith("changed:"):
            tasks.append(current)
    return tasks


def metrics(env, job: str) -> dict[str, float]:
    text = sh(env, f"cat {TEXTFILE_DIR}/tradeops_backup_{job}.prom").stdout
    found = re.findall(
        r'^tradeops_backup_(\w+)\{job="' + re.escape(job) + r'"\} (\S+)$', text, re.M
    )
    return {name: float(value) for name, value in found}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    return _free_port()


# ---- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_env(tmp_path_factory) -> dict[str, str]:
    return lab_environment(LAB, SUBNET, TRADEOPS_BACKUP_S3_PORT=str(_free_port()))


@pytest.fixture(scope="module")
def lab(lab_env, tmp_path_factory):
    """lab up, the TLS front on the gateway, bucket + KMS key in moto; lab down at the end."""
    import boto3

    work = tmp_path_factory.mktemp("backup")
    started = time.monotonic()
    gateway = str(ipaddress.ip_network(SUBNET)[1])
    front = None
    up = tradeops("lab", "up", "--json", env=lab_env)
    try:
        assert up.returncode == 0, up.stderr
        cert, key = make_ca(work)
        port = lab_env["TRADEOPS_BACKUP_S3_PORT"]
        log = open(work / "s3tls.log", "wb")  # noqa: SIM115 - closed below
        front = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("s3tls.py")),
                gateway,
                port,
                str(cert),
                str(key),
                lab_env["TRADEOPS_MOTO_PORT"],
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((gateway, int(port)), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the TLS front did not start"
                time.sleep(0.2)
        moto = dict(
            endpoint_url=f"http://127.0.0.1:{lab_env['TRADEOPS_MOTO_PORT']}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3 = boto3.client("s3", **moto)
        s3.create_bucket(Bucket=BUCKET)
        key_id = boto3.client("kms", **moto).create_key(Description="lab backups")["KeyMetadata"][
            "KeyId"
        ]
        env = dict(lab_env, TRADEOPS_BACKUP_S3_CA=str(cert), TRADEOPS_BACKUP_KMS_KEY_ID=key_id)
        # The lab's stand-in for DNS: the repository's name on the lab gateway.
        sh(env, f"grep -q ' lab-s3$' /etc/hosts || echo '{gateway} lab-s3' >> /etc/hosts")
        inventory = work / "databases.yml"
        inventory.write_text(
            f"all:\n  children:\n    databases:\n      hosts:\n        {HOST}: {{}}\n"
        )
        TIMINGS["lab up + TLS front"] = round(time.monotonic() - started, 1)
        yield {"env": env, "inventory": inventory, "s3": s3, "kms_key": key_id}
    finally:
        if front is not None:
            front.terminate()
            front.wait(timeout=10)
        down = tradeops("lab", "down", env=lab_env)
        print(f"\nbackup lab timings (s): {json.dumps(TIMINGS)}")
        assert down.returncode == 0, down.stderr


# ---- converge, --check ------------------------------------------------------------------
def test_converge_backs_up_and_records_success(lab):
    env = lab["env"]
    proc = converge(env, lab["inventory"], label="converge")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "restic backup on engine-bm-1" in proc.stdout and "full backup ok" in proc.stdout
    for job in ("restic", "pgbackrest"):
        m = metrics(env, job)
        assert m["last_run_success"] == 1 and m["last_run_exit_code"] == 0, m
        assert time.time() - 600 < m["last_success_timestamp_seconds"] <= time.time() + 5, m
        assert m["max_age_seconds"] == 93600, m
    # Secrets: root-only env file, postgres-only pgbackrest.conf, never in the output.
    modes = sh(
        env, "stat -c '%a %U %n' /etc/tradeops-restic/restic.env /etc/pgbackrest.conf"
    ).stdout
    assert (
        "600 root /etc/tradeops-restic/restic.env" in modes
        and "600 postgres /etc/pgbackrest.conf" in modes
    )
    cipher = sh(env, "sed -n 's/^repo1-cipher-pass=//p' /etc/pgbackrest.conf").stdout.strip()
    assert len(cipher) >= 20 and cipher not in proc.stdout
    # Server-side encryption with the configured KMS key, on what pgBackRest wrote.
    listing = lab["s3"].list_objects_v2(Bucket=BUCKET, Prefix=f"pgbackrest/{HOST}/backup/")
    head = lab["s3"].head_object(Bucket=BUCKET, Key=listing["Contents"][0]["Key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == lab["kms_key"]
    # Every timer is scheduled.
    timers = sh(env, "systemctl list-timers --all --no-legend 'tradeops-*'").stdout
    for unit in (
        "restic-backup",
        "restic-forget",
        "restic-check",
        "pgbackrest-full",
        "pgbackrest-diff",
        "pgbackrest-check",
        "pgbackrest-verify",
    ):
        assert f"tradeops-{unit}.timer" in timers, timers


def test_check_diff_on_a_converged_host_changes_nothing(lab):
    # every task in check mode, not the settled skip: the diff of each is in the output
    proc = converge(
        lab["env"],
        lab["inventory"],
        "--check",
        "--diff",
        "-e",
        "tradeops_skip_settled=false",
        label="check",
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert recap(proc)["changed"] == 0, changed_tasks(proc)
    assert "RESTIC_PASSWORD" not in proc.stdout and "cipher-pass=" not in proc.stdout


# ---- restic: back up a tree, delete it, restore, compare every file --------------------
HASHES = (
    f"cd {TREE} && find . \\( -type f -o -type l \\) -print0 | sort -z | xargs -0 sha256sum; "
    "find . -printf '%p %m %y\\n' | sort"
)


def test_restic_round_trip(lab):
    env = lab["env"]
    sh(
        env,
        f"mkdir -p {TREE}/a/b/c {TREE}/empty && cd {TREE} && "
        "for i in 1 2 3 4 5 6 7 8; do head -c $((i * 7919)) /dev/urandom > a/file$i.bin; done && "
        "head -c 3000000 /dev/urandom > a/b/c/large.bin && "
        "printf 'fills\\n' > 'a/b/name with spaces.log' && "
        ": > a/zero && chmod 0640 a/file1.bin && ln -s a/file2.bin link",
    )
    before = sh(env, HASHES).stdout
    assert before.count("\n") > 15
    started = time.monotonic()
    # The scheduled job, run now (runbook: "take a backup now").
    sh(env, "systemctl start tradeops-restic-backup.service")
    sh(env, f"rm -rf {TREE}")
    # The runbook's restore: latest snapshot, only the lost tree, to its place.
    sh(env, f"tradeops-restic restic restore latest --target / --include {TREE}")
    TIMINGS["restic backup + restore"] = round(time.monotonic() - started, 1)
    assert sh(env, HASHES).stdout == before
    assert metrics(env, "restic")["last_run_success"] == 1


# ---- PostgreSQL point-in-time recovery ---------------------------------------------------
CHECKSUM = (
    "SELECT count(*) || ':' || md5(string_agg(id || '=' || payload, ',' ORDER BY id)) FROM fills"
)


def insert(env, first: int, last: int) -> None:
    psql(
        env,
        "INSERT INTO fills SELECT g, md5(g::text) || ':' || g * 17 "
        f"FROM generate_series({first}, {last}) g",
    )


def test_postgresql_point_in_time_recovery(lab):
    env = lab["env"]
    started = time.monotonic()
    psql(env, "CREATE DATABASE trades", db="postgres")
    psql(env, "CREATE TABLE fills (id integer PRIMARY KEY, payload text NOT NULL)")
    insert(env, 1, 1000)
    # A backup (the scheduled differential, run now) of the first rows.
    sh(env, "systemctl start tradeops-pgbackrest-diff.service")
    insert(env, 1001, 2000)
    expected = psql(env, CHECKSUM)
    # The instant to recover to: after every row above committed, before any row below.
    target = psql(
        env,
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
    )
    time.sleep(1.1)
    insert(env, 2001, 3000)
    assert psql(env, CHECKSUM).startswith("3000:")
    # The WAL with the later rows reaches the repository (pgbackrest check waits for it).
    sh(env, "runuser -u postgres -- pgbackrest --stanza=main check")
    # Disaster: the cluster's data directory is gone.
    sh(
        env,
        f"systemctl stop {PG_SERVICE} && rm -rf {PGDATA} && "
        f"install -d -o postgres -g postgres -m 0700 {PGDATA}",
    )
    # The runbook's PITR restore.
    sh(
        env,
        "runuser -u postgres -- pgbackrest --stanza=main --type=time "
        f"--target={quote(target)} --target-action=promote restore",
    )
    sh(env, f"systemctl start {PG_SERVICE}")
    deadline = time.monotonic() + 60
    while psql(env, "SELECT pg_is_in_recovery()", db="postgres") != "f":
        assert time.monotonic() < deadline, "PostgreSQL did not leave recovery"
        time.sleep(0.5)
    TIMINGS["pitr (rows, backup, restore)"] = round(time.monotonic() - started, 1)
    assert psql(env, CHECKSUM) == expected
    assert expected.startswith("2000:")
    # The restored cluster archives again, on its new timeline.
    sh(env, "runuser -u postgres -- pgbackrest --stanza=main check")


# ---- failures are loud, and the metrics show them ---------------------------------------
def test_unreachable_restic_repository_fails_loudly(lab):
    env = lab["env"]
    good = metrics(env, "restic")
    repo = f"backup_restic_repository=s3:https://127.0.0.1:{closed_port()}/{BUCKET}/restic/{HOST}"
    proc = converge(
        env, lab["inventory"], "--tags", "backup_restic", "-e", repo, label="restic unreachable"
    )
    assert proc.returncode != 0
    assert "The restic backup on engine-bm-1 failed" in proc.stdout
    bad = metrics(env, "restic")
    assert bad["last_run_success"] == 0 and bad["last_run_exit_code"] != 0, bad
    assert bad["last_success_timestamp_seconds"] == good["last_success_timestamp_seconds"]
    assert bad["last_run_timestamp_seconds"] > good["last_run_timestamp_seconds"]
    # The scheduled unit itself failed (systemd, and so any unit-failure alert, sees it).
    state = sh(env, "systemctl is-failed tradeops-restic-backup.service", check=False)
    assert state.stdout.strip() == "failed"


def test_wrong_restic_password_fails_loudly(lab):
    env = lab["env"]
    proc = converge(
        env,
        lab["inventory"],
        "--tags",
        "backup_restic",
        "-e",
        "backup_restic_password=not-the-repository-password",
        label="restic wrong password",
    )
    assert proc.returncode != 0
    assert "The restic backup on engine-bm-1 failed" in proc.stdout
    assert "not-the-repository-password" not in proc.stdout
    journal = sh(env, "journalctl -u tradeops-restic-backup.service -n 30 --no-pager").stdout
    assert "wrong password" in journal or "no key found" in journal, journal
    assert metrics(env, "restic")["last_run_success"] == 0


# pgBackRest retries a refused connection until io-timeout and waits archive-timeout for
# WAL: short ones, so a failure takes seconds, not minutes.
FAIL_FAST = {"io-timeout": 2, "db-timeout": 30, "archive-timeout": 5}


def test_unreachable_pgbackrest_repository_fails_loudly(lab):
    env = lab["env"]
    good = metrics(env, "pgbackrest")
    proc = converge(
        env,
        lab["inventory"],
        "--tags",
        "backup_pgbackrest",
        "-e",
        "backup_pgbackrest_s3_endpoint=127.0.0.1",
        "-e",
        f"backup_pgbackrest_s3_port={closed_port()}",
        "-e",
        json.dumps({"backup_pgbackrest_extra_options": FAIL_FAST}),
        label="pgbackrest unreachable",
    )
    assert proc.returncode != 0
    assert "unable to" in proc.stdout.lower() or "connection refused" in proc.stdout.lower(), (
        proc.stdout[-3000:]
    )
    run = sh(env, "systemctl start tradeops-pgbackrest-full.service", check=False)
    assert run.returncode != 0
    bad = metrics(env, "pgbackrest")
    assert bad["last_run_success"] == 0 and bad["last_run_exit_code"] != 0, bad
    assert bad["last_success_timestamp_seconds"] == good["last_success_timestamp_seconds"]


# ---- restic retention: forget --prune removes exactly what the policy says --------------
# Snapshot times (UTC noon unless noted). With keep daily 3, weekly 2, monthly 2:
#   daily   -> 03-12, 03-11, 03-10 (the 12:00 one: the last of its day)
#   weekly  -> 03-12 (ISO week 11), 03-02 (week 10)
#   monthly -> 03-12 (March), 02-20 (February)
SNAPSHOTS = [
    "2026-01-15 12:00:00",
    "2026-02-10 12:00:00",
    "2026-02-20 12:00:00",
    "2026-03-02 12:00:00",
    "2026-03-09 12:00:00",
    "2026-03-10 09:00:00",
    "2026-03-10 12:00:00",
    "2026-03-11 12:00:00",
    "2026-03-12 12:00:00",
]
RETENTION = {
    "backup_restic_keep_daily": 3,
    "backup_restic_keep_weekly": 2,
    "backup_restic_keep_monthly": 2,
    "backup_restic_verify_run": False,
}
KEPT = {
    "2026-02-20 12:00:00",
    "2026-03-02 12:00:00",
    "2026-03-10 12:00:00",
    "2026-03-11 12:00:00",
    "2026-03-12 12:00:00",
}


def test_restic_retention_removes_only_what_it_should(lab):
    env = lab["env"]
    proc = converge(
        env,
        lab["inventory"],
        "--tags",
        "backup_restic",
        "-e",
        f"backup_restic_repository=s3:https://lab-s3:{env['TRADEOPS_BACKUP_S3_PORT']}/{BUCKET}/restic-retention/{HOST}",
        "-e",
        json.dumps(RETENTION),
        label="retention converge",
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    sh(env, "tradeops-restic restic init")
    for when in SNAPSHOTS:
        sh(
            env,
            f"tradeops-restic restic backup --host {HOST} --tag tradeops "
            f"--time '{when}' /etc/hostname",
        )
    sh(env, "systemctl start tradeops-restic-forget.service")
    snapshots = json.loads(sh(env, "tradeops-restic restic snapshots --json").stdout)
    # restic shows times in the host's zone (the lab's hosts keep UTC).
    left = {s["time"][:19].replace("T", " ") for s in snapshots}
    assert left == KEPT
    assert metrics(env, "restic-forget")["last_run_success"] == 1
    # The pruned repository is sound.
    sh(env, "tradeops-restic check")
