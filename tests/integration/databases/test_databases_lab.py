"""The DR data path, for real: PostgreSQL and Redis on db-east-1 and db-west-1 in a lab of
their own (todb, 198.19.73.0/24), converged by playbooks/hosts/databases.yml and moved
between regions through the roles' DR entry points (tests/integration/databases/entry.yml
calls them as a runbook would), while the reference engine takes orders in both regions
and lab/loadgen/orders.py keeps placing them: RPO and the outage measured on real data.

The tests depend on each other's order (pytest keeps file order):
converge -> idempotent -> --check -> replication and status -> the drill (fence east,
wait until west caught up, promote west; no acked order lost) -> rebuild east as west's
standby (the old directory moved aside) -> Redis promote / rebuild.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..support import ROOT, _free_port, ansible_env, run_playbook, tradeops

pytestmark = pytest.mark.lab

LAB = "todb"
SUBNET = "198.19.73.0/24"
PREFIX = "198.19.73"
EAST, WEST = "db-east-1", "db-west-1"
ADDRESS = {EAST: f"{PREFIX}.51", WEST: f"{PREFIX}.52"}
# The engines of the drill: engine-bm-1 (us-east-1, static) and engine-west-1 (us-west-2),
# each writing to its own region's database; the test inventory puts engine-west-1 (an EC2
# instance in a full lab) in group engines so that pg_hba lets it in.
ENGINES = {"engine-bm-1": (f"{PREFIX}.21", EAST), "engine-west-1": (f"{PREFIX}.41", WEST)}
PGDATA = "/var/lib/postgresql/15/main"
PLAYBOOK = "playbooks/hosts/databases.yml"
ENTRY = "tests/integration/databases/entry.yml"
CACHE = ROOT / ".cache" / "lab"
TIMINGS: dict[str, float] = {}


# ---- helpers -------------------------------------------------------------------------
def sh(env, host: str, script: str, check: bool = True, timeout: int = 120):
    proc = subprocess.run(
        ["podman", "exec", f"{LAB}-{host}", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{host}: {script!r} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def psql(env, host: str, sql: str, db: str = "trading") -> str:
    return sh(
        env, host, f"runuser -u postgres -- psql -XAtq -d {db} -c {quote(sql)}"
    ).stdout.strip()


def redis(env, host: str, *args: str) -> str:
    password = (CACHE / "redis-password").read_text().strip()
    command = " ".join(quote(a) for a in args)
    return sh(
        env, host, f"REDISCLI_AUTH={quote(password)} redis-cli --no-auth-warning {command}"
    ).stdout.strip()


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def playbook(env, inventory: Path, *args: str, label: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = run_playbook(
        *args[:1], "-i", "inventories/lab/hosts.yml", "-i", str(inventory), *args[1:], env=env
    )
    TIMINGS[label] = round(time.monotonic() - started, 1)
    return proc


def converge(env, inventory: Path, *args: str, label: str) -> subprocess.CompletedProcess:
    return playbook(env, inventory, PLAYBOOK, *args, label=label)


def entry(env, inventory, tmp, host, role, name, *extra, label=None, check=True) -> dict:
    """An entry point on one host; the role's status afterwards."""
    out = tmp / f"{host}-{role}-{name}.json"
    out.unlink(missing_ok=True)
    args = ["-e", f"target={host}", "-e", f"role={role}", "-e", f"entry={name}", "-e", f"out={out}"]
    for item in extra:
        args += ["-e", item]
    proc = playbook(env, inventory, ENTRY, *args, label=label or f"{role} {name} on {host}")
    if check:
        assert proc.returncode == 0, proc.stdout[-5000:]
        return json.loads(out.read_text())
    return {"rc": proc.returncode, "stdout": proc.stdout}


def recap(proc) -> dict[str, dict[str, int]]:
    found = re.findall(r"^(\S+)\s*:\s*(ok=.*)$", proc.stdout, re.MULTILINE)
    assert found, proc.stdout[-3000:]
    return {h: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)} for h, rest in found}


def changed_tasks(proc) -> list[str]:
    tasks, current = [], ""
    for line in proc.stdout.splitlines():
        if line.startswith("TASK ["):
            current = line
        elif line.startswith("changed:"):
            tasks.append(current)
    return tasks


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(interval)


# ---- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    env = ansible_env(
        TRADEOPS_LAB_NAME=LAB, TRADEOPS_LAB_SUBNET=SUBNET, TRADEOPS_MOTO_PORT=str(_free_port())
    )
    work = tmp_path_factory.mktemp("databases")
    inventory = work / "engines.yml"
    inventory.write_text(
        "all:\n  children:\n    engines:\n      hosts:\n"
        "        engine-west-1:\n          tradeops_region: us-west-2\n"
    )
    started = time.monotonic()
    up = tradeops("lab", "up", "--json", env=env)
    try:
        assert up.returncode == 0, up.stderr
        TIMINGS["lab up"] = round(time.monotonic() - started, 1)
        yield {"env": env, "inventory": inventory, "tmp": work}
    finally:
        down = tradeops("lab", "down", env=env)
        print(f"\ndatabases lab timings (s): {json.dumps(TIMINGS)}")
        assert down.returncode == 0, down.stderr


# ---- converge, idempotence, --check --------------------------------------------------
def test_converge_makes_a_primary_and_a_streaming_standby(lab):
    env = lab["env"]
    proc = converge(env, lab["inventory"], label="converge")
    assert proc.returncode == 0, proc.stdout[-8000:]
    assert psql(env, EAST, "SELECT pg_is_in_recovery()") == "f"
    assert psql(env, WEST, "SELECT pg_is_in_recovery()") == "t"
    replicas = psql(
        env, EAST, "SELECT application_name, client_addr, state FROM pg_stat_replication"
    )
    assert replicas == f"db_west_1|{ADDRESS[WEST]}|streaming"
    slot = psql(env, EAST, "SELECT slot_name, active FROM pg_replication_slots")
    assert slot == "db_west_1|t"
    assert psql(env, EAST, "SHOW max_slot_wal_keep_size") == "256MB"
    # Listens on its own address only; pg_hba names the engines and the peer, nothing else.
    listening = sh(env, EAST, "cat /proc/net/tcp").stdout
    assert ":1538 00000000:0000 0A" in listening  # 5432 listening ...
    assert "00000000:1538 00000000:0000 0A" not in listening  # ... but not on 0.0.0.0
    hba = sh(env, EAST, "grep -v '^#' /etc/postgresql/15/main/pg_hba.conf").stdout
    networks = set(re.findall(r"(\d+\.\d+\.\d+\.\d+/\d+)", hba))
    assert networks == {
        f"{ENGINES['engine-bm-1'][0]}/32",
        f"{ENGINES['engine-west-1'][0]}/32",
        f"{ADDRESS[WEST]}/32",
    }, hba
    # The application account may read and insert orders, nothing more.
    grants = psql(
        env,
        EAST,
        "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM "
        "information_schema.role_table_grants WHERE grantee = 'engine' AND table_name = 'orders'",
    )
    assert grants == "INSERT,SELECT"
    # Secrets: never in the output; files readable by their service only.
    for name in ("engine-db-password", "db-replication-password", "redis-password"):
        assert (CACHE / name).read_text().strip() not in proc.stdout
    modes = sh(env, WEST, "stat -c '%a %U %n' /var/lib/postgresql/.pgpass /etc/redis/redis.conf")
    assert "600 postgres /var/lib/postgresql/.pgpass" in modes.stdout
    assert "640 redis /etc/redis/redis.conf" in modes.stdout
    # Redis: the primary in the active region, the replica linked to it, a password always.
    assert "role:master" in redis(env, EAST, "INFO", "replication")
    info = redis(env, WEST, "INFO", "replication")
    assert "role:slave" in info and f"master_host:{ADDRESS[EAST]}" in info
    assert "master_link_status:up" in info
    anonymous = sh(env, WEST, f"redis-cli -h {ADDRESS[WEST]} PING", check=False)
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr


def test_second_run_changes_nothing(lab):
    proc = converge(lab["env"], lab["inventory"], label="idempotent")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert all(r["changed"] == 0 for r in recap(proc).values()), changed_tasks(proc)


def test_check_diff_on_converged_hosts_changes_nothing(lab):
    proc = converge(lab["env"], lab["inventory"], "--check", "--diff", label="check")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert all(r["changed"] == 0 for r in recap(proc).values()), changed_tasks(proc)
    assert "requirepass" not in proc.stdout


# ---- replication and status ------------------------------------------------------------
def test_a_row_on_the_primary_appears_on_the_standby_and_status_reports_lag(lab):
    env, inv, tmp = lab["env"], lab["inventory"], lab["tmp"]
    psql(
        env,
        EAST,
        "INSERT INTO orders (seq, client_order_id, symbol, side, qty, price, region,"
        " engine) VALUES (1000000, 'probe-1', 'AAPL', 'buy', 1, 1.5, 'us-east-1', 'test')",
    )
    wait_until(
        lambda: psql(env, WEST, "SELECT count(*) FROM orders WHERE seq = 1000000") == "1",
        10,
        "the row on the standby",
    )
    west = entry(env, inv, tmp, WEST, "db_postgresql", "status")
    assert west["role"] == "standby" and west["streaming"] and west["sender_host"] == ADDRESS[EAST]
    assert west["lag_basis"] == "primary" and west["primary_reachable"]
    assert west["lag_bytes"] == 0 and west["lag_seconds"] == 0 and west["max_seq"] == 1000000
    assert west["replay_lsn"] == west["current_wal_lsn"]
    east = entry(env, inv, tmp, EAST, "db_postgresql", "status")
    assert east["role"] == "primary" and east["writable"] and not east["fenced"]
    assert [r["name"] for r in east["replicas"]] == ["db_west_1"]
    assert east["slots"][0]["active"] and east["slots"][0]["wal_status"] == "reserved"
    # With replay paused on the standby, both measures of lag show it.
    psql(env, WEST, "SELECT pg_wal_replay_pause()", db="postgres")
    try:
        psql(env, EAST, "INSERT INTO orders (seq, client_order_id) VALUES (1000001, 'probe-2')")
        time.sleep(1.2)
        behind = entry(env, inv, tmp, WEST, "db_postgresql", "status")
        assert behind["lag_bytes"] > 0 and behind["lag_seconds"] >= 1, behind
        assert behind["max_seq"] == 1000000
    finally:
        psql(env, WEST, "SELECT pg_wal_replay_resume()", db="postgres")
    psql(env, EAST, "DELETE FROM orders WHERE seq >= 1000000")


# ---- the drill: engines in both regions, the load generator, fence, promote ------------
def start_engine(env, host: str, db_host: str, region: str) -> str:
    src = ROOT / "lab" / "reference_engine"
    subprocess.run(
        ["podman", "cp", str(src), f"{LAB}-{host}:/opt/refengine-drill"],
        env=env,
        check=True,
        capture_output=True,
    )
    config = {
        "engine": {"name": host, "region": region},
        "http": {"bind": "0.0.0.0", "port": 8080},
        "feed": {"udp_bind": "127.0.0.1", "udp_port": 9000},
        "orders": {"enabled": True, "required": False, "connect_timeout": 1},
        "db": {
            "host": ADDRESS[db_host],
            "port": 5432,
            "name": "trading",
            "user": "engine",
            "password": (CACHE / "engine-db-password").read_text().strip(),
        },
    }
    sh(
        env,
        host,
        f"umask 077 && printf '%s' {quote(json.dumps(config))} > /etc/refengine-drill.json",
    )
    sh(
        env,
        host,
        "systemd-run --unit=refengine-drill --collect /usr/bin/python3 -I "
        "/opt/refengine-drill/bin/refengine --config /etc/refengine-drill.json",
    )
    url = f"http://{ENGINES[host][0]}:8080"
    wait_until(
        lambda: (
            sh(
                env,
                host,
                'python3 -c "import urllib.request; urllib.request.'
                "urlopen('http://127.0.0.1:8080/health', timeout=2)\"",
                check=False,
            ).returncode
            == 0
        ),
        20,
        f"the engine on {host}",
    )
    return url


def test_the_drill_loses_no_acknowledged_order(lab):
    env, inv, tmp = lab["env"], lab["inventory"], lab["tmp"]
    urls = [
        start_engine(env, host, db, region)
        for host, db, region in (
            ("engine-bm-1", EAST, "us-east-1"),
            ("engine-west-1", WEST, "us-west-2"),
        )
    ]
    acks, status = tmp / "acks.jsonl", tmp / "status.json"
    loadgen = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "lab" / "loadgen" / "orders.py"),
            "--engine",
            urls[0],
            "--engine",
            urls[1],
            "--rate",
            "20",
            "--timeout",
            "2",
            "--acks",
            str(acks),
            "--status",
            str(status),
            "--start-seq",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def state():
        return json.loads(status.read_text()) if status.is_file() else {"acked": 0}

    try:
        wait_until(lambda: state()["acked"] >= 30, 60, "30 orders acked by the east engine")
        assert state()["per_engine"][urls[0]] == state()["acked"]
        started = time.monotonic()
        # 1. Fence the primary: writes stop; the engines answer 503 (read-only, standby).
        fenced = entry(env, inv, tmp, EAST, "db_postgresql", "fence", label="drill: fence")
        assert fenced["fenced"] and not fenced["writable"]
        wait_until(lambda: state()["failure_streak"]["attempts"] > 0, 20, "a failure streak")
        assert "read_only" in state()["failure_streak"]["last_error"]
        # 2. The standby has every byte the fenced primary wrote.
        entry(
            env,
            inv,
            tmp,
            WEST,
            "db_postgresql",
            "wait_caught_up",
            f"db_postgresql_caught_up_lsn={fenced['current_wal_lsn']}",
            label="drill: caught up",
        )
        # 3. Promote it: orders flow again, through the west engine.
        promoted = entry(env, inv, tmp, WEST, "db_postgresql", "promote", label="drill: promote")
        assert promoted["role"] == "primary" and promoted["writable"] and promoted["timeline"] == 2
        TIMINGS["drill: fence -> writable"] = round(time.monotonic() - started, 1)
        after = state()["acked"]
        wait_until(lambda: state()["per_engine"][urls[1]] >= 20, 60, "orders acked in the west")
        # Fencing is idempotent, and the fenced old primary still refuses writes.
        again = entry(env, inv, tmp, EAST, "db_postgresql", "fence", label="drill: fence again")
        assert again["fenced"]
    finally:
        loadgen.send_signal(signal.SIGTERM)
        _out, err = loadgen.communicate(timeout=20)
    assert loadgen.returncode == 0, err
    assert state()["acked"] > after
    present = tmp / "present.txt"
    present.write_text(psql(env, WEST, "SELECT seq FROM orders ORDER BY seq") + "\n")
    verify = subprocess.run(
        [
            sys.executable,
            str(ROOT / "lab" / "loadgen" / "verify.py"),
            "--acks",
            str(acks),
            "--present",
            str(present),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(verify.stdout)
    TIMINGS["drill: client-observed outage"] = report["longest_gap"]["seconds"]
    assert verify.returncode == 0 and report["lost"] == [], report
    assert report["acks_by_region"].keys() == {"us-east-1", "us-west-2"}
    assert report["longest_gap"]["from"] == urls[0] and report["longest_gap"]["to"] == urls[1]
    # The rows carry the region and engine that committed them.
    regions = psql(
        env,
        WEST,
        "SELECT region || ':' || engine || ':' || count(*) FROM orders "
        "GROUP BY region, engine ORDER BY region",
    )
    assert regions.splitlines()[0].startswith("us-east-1:engine-bm-1:")
    assert regions.splitlines()[1].startswith("us-west-2:engine-west-1:")
    lab["last_seq"] = report["acked_seq_range"][1]
    for host in ENGINES:
        sh(env, host, "systemctl stop refengine-drill", check=False)


# ---- rebuild the old primary as the new one's standby ----------------------------------
def test_rebuild_standby_moves_the_old_directory_aside(lab):
    env, inv, tmp = lab["env"], lab["inventory"], lab["tmp"]
    new_primary = f"db_postgresql_primary_address={ADDRESS[WEST]}"
    refused = entry(
        env,
        inv,
        tmp,
        EAST,
        "db_postgresql",
        "rebuild_standby",
        new_primary,
        label="rebuild refused",
        check=False,
    )
    assert refused["rc"] != 0 and "db_postgresql_rebuild_ok=true" in refused["stdout"]
    assert sh(env, EAST, f"ls -d {PGDATA}.forensics-* 2>/dev/null", check=False).stdout == ""
    old_max = psql(env, EAST, "SELECT max(seq) FROM orders")
    rebuilt = entry(
        env,
        inv,
        tmp,
        EAST,
        "db_postgresql",
        "rebuild_standby",
        new_primary,
        "db_postgresql_rebuild_ok=true",
        label="rebuild",
    )
    assert rebuilt["role"] == "standby" and rebuilt["streaming"]
    assert rebuilt["sender_host"] == ADDRESS[WEST] and rebuilt["timeline"] == 2
    forensics = sh(env, EAST, f"ls -d {PGDATA}.forensics-*").stdout.split()
    assert len(forensics) == 1 and re.search(r"\.forensics-\d{8}T\d{6}Z$", forensics[0])
    assert (
        sh(
            env, EAST, f"test -s {forensics[0]}/PG_VERSION && test -d {forensics[0]}/base"
        ).returncode
        == 0
    )
    assert old_max and int(old_max) > 0
    # The new standby follows the new primary.
    psql(env, WEST, "INSERT INTO orders (seq, client_order_id) VALUES (2000000, 'after-rebuild')")
    wait_until(
        lambda: psql(env, EAST, "SELECT count(*) FROM orders WHERE seq = 2000000") == "1",
        15,
        "the new primary's row on the rebuilt standby",
    )
    slot = psql(env, WEST, "SELECT slot_name || ':' || active FROM pg_replication_slots")
    assert slot == "db_east_1:true"
    again = entry(
        env, inv, tmp, EAST, "db_postgresql", "rebuild_standby", new_primary, label="rebuild again"
    )
    assert again["streaming"]
    assert len(sh(env, EAST, f"ls -d {PGDATA}.forensics-*").stdout.split()) == 1


# ---- Redis: the same moves --------------------------------------------------------------
def test_redis_replicates_promotes_and_rebuilds(lab):
    env, inv, tmp = lab["env"], lab["inventory"], lab["tmp"]
    assert redis(env, EAST, "SET", "drill:before", "east") == "OK"
    wait_until(lambda: redis(env, WEST, "GET", "drill:before") == "east", 10, "the key on west")
    status = entry(env, inv, tmp, WEST, "db_redis", "status")
    assert status["role"] == "replica" and status["link_up"] and status["lag_bytes"] == 0
    promoted = entry(env, inv, tmp, WEST, "db_redis", "promote", label="redis promote")
    assert promoted["role"] == "primary"
    assert redis(env, WEST, "SET", "drill:after", "west") == "OK"
    assert (
        "replicaof"
        not in sh(
            env, WEST, "grep -v '^#' /etc/redis/tradeops-replication.conf", check=False
        ).stdout
    )
    rebuilt = entry(
        env,
        inv,
        tmp,
        EAST,
        "db_redis",
        "rebuild_replica",
        f"db_redis_primary_address={ADDRESS[WEST]}",
        label="redis rebuild",
    )
    assert rebuilt["role"] == "replica" and rebuilt["master_host"] == ADDRESS[WEST]
    assert rebuilt["link_up"]
    wait_until(lambda: redis(env, EAST, "GET", "drill:after") == "west", 10, "west's key on east")
    assert (
        f"replicaof {ADDRESS[WEST]} 6379"
        in sh(env, EAST, "cat /etc/redis/tradeops-replication.conf").stdout
    )
    again = entry(env, inv, tmp, WEST, "db_redis", "promote", label="redis promote again")
    assert again["role"] == "primary"


# ---- the converge follows the DR state, never the other way round ----------------------
def test_a_converge_with_a_stale_active_region_refuses(lab):
    env, inv = lab["env"], lab["inventory"]
    # West was promoted, east rebuilt as its standby; a converge that still names east
    # active (no DR state moved in this lab) refuses to touch the promoted cluster.
    proc = converge(env, inv, label="converge, stale active region")
    assert proc.returncode != 0 and "A converge never promotes" in proc.stdout
    assert psql(env, WEST, "SELECT pg_is_in_recovery()") == "f"
    assert psql(env, EAST, "SELECT status FROM pg_stat_wal_receiver") == "streaming"
