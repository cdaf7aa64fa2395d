"""Monitoring in a lab of its own: the real Prometheus on mon-1 scrapes every host's
node_exporter and every engine, the rules pass promtool there, every Grafana panel's
query returns data where the lab can have it, a de-tuned host fires TuningDrift, and a
second run and --check change nothing.

The textfile metrics are written by their owners, never by this test: engine_tuning's
verify writes tradeops_tuning.prom on a lab engine host (the test de-tunes that host's own
eth0 and runs the verify), and the backup agents' job wrapper writes the backup
freshness file for a job of the test's.

The AWS layer runs first (network, security, fleet) so the cloud engine hosts exist and the
aws_ec2 inventory finds them; then playbooks/hosts/monitoring.yml. The engine is
started by the test itself (the reference engine, bound where Prometheus can reach it):
its deploy is the engine role's business, its scrape is this one's.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from ..support import ROOT, lab_environment, tradeops

pytestmark = pytest.mark.lab

# A lab of its own; TRADEOPS_TEST_MONITORING_LAB / _SUBNET pick another name and /24 (to run
# it beside another copy of this test).
LAB = os.environ.get("TRADEOPS_TEST_MONITORING_LAB", "montest")
SUBNET = os.environ.get("TRADEOPS_TEST_MONITORING_SUBNET", "198.19.62.0/24")
MON_ADDRESS = str(ipaddress.ip_network(SUBNET)[31])  # mon-1's host number (lab/topology.yml)
ENGINES = {"engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1"}
# node_exporter runs on engines:monitoring:databases (playbooks/hosts/monitoring.yml).
HOSTS = ENGINES | {"mon-1", "db-east-1", "db-west-1"}
# The engine host whose tuning the test verifies and de-tunes (an aws_ec2 host).
TUNED = "engine-c5n-2"
MON = f"{LAB}-mon-1"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"

# Panels whose metrics cannot exist in the lab, and why.
EXCLUDED = {
    "node_ethtool_bw_in_allowance_exceeded": "veth has no ENA shaping counters",
    "node_ethtool_bw_out_allowance_exceeded": "veth has no ENA shaping counters",
    "node_ethtool_pps_allowance_exceeded": "veth has no ENA shaping counters",
    "node_ethtool_conntrack_allowance_exceeded": "veth has no ENA shaping counters",
    "node_ethtool_linklocal_allowance_exceeded": "veth has no ENA shaping counters",
    "pg_replication_lag_seconds": "no PostgreSQL replica or exporter in the lab",
    "tradeops_tuning_isolated_cpu": (
        "the lab's engine hosts are containers: CPU isolation is the machine's kernel, not "
        "theirs, so engine_tuning writes no tradeops_tuning_isolated_cpu there (promtool "
        "cases prove InterruptsOnIsolatedCPU)"
    ),
}
BACKUP_JOB = ROOT / "roles" / "backup_common" / "files" / "tradeops_backup_job.py"
RULES = ROOT / "roles" / "monitoring_assets" / "files" / "rules"


def podman(*args: str, env, check: bool = True, stdin: str | None = None):
    return subprocess.run(
        ["podman", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def run(playbook: str, env, tmp_path: Path, *args: str) -> dict:
    report = tmp_path / f"report-{time.monotonic_ns()}.json"
    proc = tradeops("run", playbook, "--report", str(report), *args, env=env)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(report.read_text())


def api(env, path: str, port: int = 9090) -> dict:
    """GET an API of mon-1 from inside its container (tests reach only their own lab)."""
    code = (
        "import sys, urllib.request; "
        f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{port}' + sys.argv[1], "
        "timeout=20).read().decode())"
    )
    out = podman("exec", MON, "python3", "-c", code, path, env=env)
    return json.loads(out.stdout)


def query(env, expr: str) -> dict:
    return api(env, "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))


def wait_for(predicate, timeout: float = 120, step: float = 3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    return last


def host_file(env, host: str, path: str) -> str:
    return podman("exec", f"{LAB}-{host}", "cat", path, env=env).stdout


def set_channels(env, host: str, rx: int, tx: int) -> dict:
    """ethtool -L on the container's own eth0, from the machine (nsenter into its network
    namespace: the container lacks CAP_NET_ADMIN); returns the channels read back."""
    pid = podman("inspect", "--format", "{{.State.Pid}}", f"{LAB}-{host}", env=env).stdout.strip()
    nsenter = ["nsenter", "--target", pid, "--net", "ethtool"]
    subprocess.run([*nsenter, "-L", "eth0", "rx", str(rx), "tx", str(tx)], check=True, timeout=30)
    out = subprocess.run(
        [*nsenter, "-l", "eth0"], check=True, timeout=30, capture_output=True, text=True
    ).stdout
    current = out.split("Current hardware settings:")[1]
    return {k: int(v) for k, v in (line.split(":") for line in current.splitlines()[1:3])}


def verify_tuning(env, tmp_path: Path) -> dict:
    """engine_tuning's verify on the tuned host, as the TuningDrift runbook says to run it."""
    started = time.monotonic()
    report = run("hosts/tuning", env, tmp_path, "--tags", "verify", "--limit", TUNED)
    report["_seconds"] = time.monotonic() - started
    return report


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str]:
    return lab_environment(LAB, SUBNET)


@pytest.fixture(scope="module")
def lab(lab_env, tmp_path_factory):
    up = tradeops("lab", "up", "--json", env=lab_env)
    assert up.returncode == 0, up.stderr
    try:
        # The cloud engine hosts exist once the fleet is provisioned (in moto).
        run("site", lab_env, tmp_path_factory.mktemp("aws"), "--tags", "network,security,fleet")
        yield lab_env
    finally:
        down = tradeops("lab", "down", env=lab_env)
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def converged(lab, tmp_path_factory):
    started = time.monotonic()
    report = run("hosts/monitoring", lab, tmp_path_factory.mktemp("mon"))
    report["_seconds"] = time.monotonic() - started
    return report


@pytest.fixture(scope="module")
def engines_serving(converged, lab):
    """The reference engine on every engine host, listening where Prometheus reaches it,
    fed a few hundred ticks so its histogram has data."""
    source = ROOT / "lab" / "reference_engine"
    config = {"http": {"bind": "0.0.0.0", "port": 8080}, "feed": {"udp_bind": "127.0.0.1"}}
    ticks = "\n".join(
        json.dumps({"symbol": "AAPL", "bid": 189.1, "ask": 189.12, "seq": i}) for i in range(1, 301)
    )
    feeder = (
        "import socket, sys, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for line in sys.stdin.read().splitlines():\n"
        "    s.sendto(line.encode(), ('127.0.0.1', 9000)); time.sleep(0.002)\n"
    )
    for host in sorted(ENGINES):
        ctr = f"{LAB}-{host}"
        podman("exec", ctr, "mkdir", "-p", "/opt/refengine-montest", env=lab)
        for part in ("bin", "refengine"):
            podman("cp", str(source / part), f"{ctr}:/opt/refengine-montest/", env=lab)
        cfg = dict(config, engine={"name": host})
        podman(
            "exec", "-i", ctr, "sh", "-c", "cat > /opt/refengine-montest/engine.json",
            env=lab, stdin=json.dumps(cfg),
        )  # fmt: skip
        podman(
            "exec", ctr, "systemd-run", "--unit", "refengine-montest", "/usr/bin/python3", "-I",
            "/opt/refengine-montest/bin/refengine",
            "--config", "/opt/refengine-montest/engine.json",
            env=lab,
        )  # fmt: skip
    time.sleep(2)
    for host in sorted(ENGINES):
        podman("exec", "-i", f"{LAB}-{host}", "python3", "-c", feeder, env=lab, stdin=ticks)
    return lab


def targets_by_job(env) -> dict[str, dict[str, str]]:
    answer = api(env, "/api/v1/targets?state=active")
    jobs: dict[str, dict[str, str]] = {}
    for target in answer["data"]["activeTargets"]:
        labels = target["labels"]
        jobs.setdefault(labels["job"], {})[labels["instance"]] = target["health"]
    return jobs


def test_run_ends_with_the_prometheus_address_and_health(converged):
    summary = converged["summary"]
    assert summary["prometheus"].startswith(f"http://{MON_ADDRESS}:9090"), summary
    assert summary["monitoring health"].startswith("targets up "), summary
    assert converged["failures"] == []
    print(f"first monitoring run: {converged['_seconds']:.0f} s")


def test_every_host_exporter_is_a_target_and_up(converged, lab):
    jobs = targets_by_job(lab)
    assert set(jobs["node"]) == HOSTS
    assert set(jobs["engine"]) == ENGINES
    assert set(jobs["prometheus"]) == {"mon-1"}
    assert set(jobs["alertmanager"]) == {"mon-1"}
    up = wait_for(lambda: all(h == "up" for h in targets_by_job(lab)["node"].values()), 60)
    assert up, targets_by_job(lab)["node"]


def test_every_engine_is_a_target_and_up_once_it_serves(engines_serving):
    lab = engines_serving
    up = wait_for(lambda: set(targets_by_job(lab)["engine"].values()) == {"up"}, 90)
    assert up, targets_by_job(lab)["engine"]
    # The engine's own `up` is kept apart from Prometheus' scrape health.
    assert len(query(lab, 'engine_up{job="engine"}')["data"]["result"]) == len(ENGINES)


def test_rules_pass_promtool_on_the_monitoring_host(converged, lab, tmp_path):
    """The same cases as tests/integration/monitoring/test_rules.py, run by the promtool
    of the monitoring host (the version that evaluates them), and the rule files that
    are deployed check clean."""
    stage = tmp_path / "promtool"
    shutil.copytree(RULES, stage / "rules")
    cases = stage / "cases"
    cases.mkdir()
    for case in (Path(__file__).parent / "rules").glob("*_test.yml"):
        text = case.read_text().replace(f"../../../../{RULES.relative_to(ROOT)}/", "../rules/")
        (cases / case.name).write_text(text)
    podman("exec", MON, "rm", "-rf", "/tmp/promtool-cases", env=lab)
    podman("cp", str(stage), f"{MON}:/tmp/promtool-cases", env=lab)
    names = sorted(p.name for p in cases.iterdir())
    tested = podman(
        "exec", "-w", "/tmp/promtool-cases/cases", MON, "promtool", "test", "rules", *names,
        env=lab, check=False,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    checked = podman(
        "exec", MON, "sh", "-c", "promtool check rules /etc/prometheus/rules/*.yml", env=lab,
        check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


STAMP = "tradeops_tuning_last_verify_timestamp_seconds "


def without_stamp(text: str) -> tuple[list[str], int]:
    """The file's lines but the verify timestamp, and the timestamp."""
    lines = text.splitlines()
    stamp = next(int(line.split()[1]) for line in lines if line.startswith(STAMP))
    return [line for line in lines if not line.startswith(STAMP)], stamp


@pytest.fixture(scope="module")
def tuning_verified(converged, lab, tmp_path_factory):
    """The role's verify on TUNED writes tradeops_tuning.prom (a second run with nothing
    changed reports no change: the engine_tuning molecule scenario's idempotence step runs
    the whole role twice, and tests/unit/plugins/test_tuning_metrics.py the change rule)."""
    report = verify_tuning(lab, tmp_path_factory.mktemp("tuning"))
    print(f"tuning verify: {report['_seconds']:.0f} s")
    return report, host_file(lab, TUNED, f"{TEXTFILE_DIR}/tradeops_tuning.prom")


def test_tuning_verify_writes_its_metrics(tuning_verified):
    report, text = tuning_verified
    assert report["hosts"][TUNED]["changed"] >= 1  # the file is new
    # A container: its own eth0 is judged, the machine's kernel is not.
    assert 'tradeops_tuning_check_ok{check="nic.eth0.channels.rx"} 1' in text
    assert 'tradeops_tuning_check_ok{check="nic.eth0.channels.tx"} 1' in text
    assert "tradeops_tuning_kernel_judged 0" in text
    assert 'tradeops_tuning_profile_info{profile="lab"} 1' in text
    assert abs(without_stamp(text)[1] - time.time()) < 600


def test_textfile_contracts_reach_prometheus_and_drift_fires(tuning_verified, lab, tmp_path):
    def series(expr):
        return query(lab, expr)["data"]["result"]

    ok = wait_for(lambda: series(f'tradeops_tuning_check_ok{{instance="{TUNED}"}} == 1'), 60)
    assert {r["metric"]["check"] for r in ok} == {"nic.eth0.channels.rx", "nic.eth0.channels.tx"}
    assert series("tradeops_tuning_check_ok == 0") == []
    not_judged = series(f'tradeops_tuning_checks{{instance="{TUNED}",status="not_judged"}}')
    assert not_judged and float(not_judged[0]["value"][1]) > 0

    # A backup job of the test's own, run through the backup agents' job wrapper (the
    # program the backup roles install): it writes tradeops_backup_<job>.prom itself.
    podman("cp", str(BACKUP_JOB), f"{MON}:/tmp/tradeops-backup-job-montest.py", env=lab)
    podman(
        "exec", MON, "python3", "/tmp/tradeops-backup-job-montest.py", "--job", "montest",
        "--textfile-dir", TEXTFILE_DIR, "--", "true",
        env=lab,
    )  # fmt: skip

    def drifting():
        return sorted(
            (r["metric"]["instance"], r["metric"]["check"])
            for r in series("tradeops_tuning_check_ok == 0")
        )

    def drift_alert():
        alerts = api(lab, "/api/v1/alerts")["data"]["alerts"]
        return [
            a
            for a in alerts
            if a["labels"]["alertname"] == "TuningDrift" and a["state"] == "firing"
        ]

    # De-tune the host: more channels on its eth0 than its profile wants (the container's
    # own network namespace, nothing of the machine's kernel), then the role's verify.
    assert set_channels(lab, TUNED, rx=2, tx=2) == {"RX": 2, "TX": 2}
    try:
        detuned = verify_tuning(lab, tmp_path)
        assert detuned["hosts"][TUNED]["changed"] == 1  # the metrics, nothing else
        written = host_file(lab, TUNED, f"{TEXTFILE_DIR}/tradeops_tuning.prom")
        assert 'tradeops_tuning_check_ok{check="nic.eth0.channels.rx"} 0' in written
        assert wait_for(drifting, 60) == [
            (TUNED, "nic.eth0.channels.rx"),
            (TUNED, "nic.eth0.channels.tx"),
        ]
        want = {(TUNED, "nic.eth0.channels.rx"), (TUNED, "nic.eth0.channels.tx")}

        def fired():
            return {(a["labels"]["instance"], a["labels"]["check"]) for a in drift_alert()}

        assert wait_for(lambda: fired() == want, 120), api(lab, "/api/v1/alerts")
        firing = drift_alert()
        assert firing[0]["labels"]["severity"] == "warning"
        # ... and Alertmanager has it, routed by severity.
        delivered = wait_for(
            lambda: [
                a
                for a in api(lab, "/api/v2/alerts", port=9093)
                if a["labels"]["alertname"] == "TuningDrift"
            ],
            60,
        )
        assert delivered and delivered[0]["receivers"][0]["name"] == "warning"
    finally:
        restored = set_channels(lab, TUNED, rx=1, tx=1)
    assert restored == {"RX": 1, "TX": 1}
    # The next verify says so, and the drift is gone from Prometheus; the file says what it
    # said before the de-tuning, with a later verify time.
    assert verify_tuning(lab, tmp_path)["hosts"][TUNED]["changed"] == 1
    assert wait_for(lambda: drifting() == [], 60)
    lines, stamp = without_stamp(host_file(lab, TUNED, f"{TEXTFILE_DIR}/tradeops_tuning.prom"))
    assert lines == without_stamp(tuning_verified[1])[0]
    assert stamp > without_stamp(tuning_verified[1])[1]

    backup = wait_for(
        lambda: series('tradeops_backup_last_success_timestamp_seconds{backup_job="montest"}'), 60
    )
    assert backup and "exported_job" not in backup[0]["metric"]


def dashboards(env) -> dict[str, dict]:
    listing = podman(
        "exec", MON, "sh", "-c", "ls /var/lib/grafana/dashboards/tradeops/*.json", env=env
    ).stdout.split()
    return {
        Path(p).stem: json.loads(podman("exec", MON, "cat", p, env=env).stdout) for p in listing
    }


def test_grafana_files_are_provisioned(converged, lab):
    boards = dashboards(lab)
    assert set(boards) == {"fleet_tuning", "engine_latency", "nic_ena", "host_resources"}
    datasource = podman(
        "exec", MON, "cat", "/etc/grafana/provisioning/datasources/tradeops.yml", env=lab
    )
    assert 'uid: "prometheus"' in datasource.stdout
    for board in boards.values():
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == "prometheus"


def test_every_grafana_panel_query_parses_and_returns_series(engines_serving, lab, converged):
    # The textfile and engine tests above have fed the metrics the panels read.
    wait_for(lambda: query(lab, "rate(messages_processed_total[1m])")["data"]["result"], 60)
    empty, excluded, checked = [], [], 0
    for name, board in dashboards(lab).items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$__rate_interval", "1m").replace("$instance", ".+")
                answer = query(lab, expr)  # a parse error is an HTTP 400: podman exec fails
                assert answer["status"] == "success", (name, panel["title"], answer)
                checked += 1
                reason = next((why for metric, why in EXCLUDED.items() if metric in expr), None)
                if reason:
                    excluded.append((panel["title"], reason))
                elif not answer["data"]["result"]:
                    empty.append(f"{name} / {panel['title']}: {expr}")
    assert empty == [], "panels without data:\n" + "\n".join(empty)
    assert checked > 30
    print(f"{checked} panel queries checked; excluded: {sorted(set(excluded))}")


def test_second_run_and_check_mode_change_nothing(converged, lab, tmp_path):
    again = run("hosts/monitoring", lab, tmp_path)
    assert {h: c["changed"] for h, c in again["hosts"].items() if c["changed"]} == {}
    check = run("hosts/monitoring", lab, tmp_path, "--check")
    assert check["check"] is True
    assert {h: c["changed"] for h, c in check["hosts"].items() if c["changed"]} == {}
