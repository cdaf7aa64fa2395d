"""The engine rollout in a lab of its own: deploy, upgrade, a failing canary, the freeze.

Drives `tradeops` as an operator does (lab up, run playbooks/hosts/engine.yml against the
lab inventory, whose cloud engines come from moto through amazon.aws.aws_ec2), then
reads each engine host from inside its container: where `current` points, which version
the engine serves and what the engine itself reports about its placement. The tests
depend on each other's order (pytest keeps file order): v1 -> freeze refusal -> v2 under
override -> v3 canary fails -> redeploy v2 (idempotent) -> --check -> checksum mismatch.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from ..support import ROOT, VENV_BIN, lab_environment, tradeops
from .enginelab import engine_lab

pytestmark = pytest.mark.lab

LAB = "engtest"
ENGINES = ["engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1"]
# Inside the lab's NYSE-like window (Tue 2026-03-10 11:00 EDT); enforced only on demand.
FROZEN = ["engine_rollout_freeze_enforce=true", "engine_rollout_freeze_now=2026-03-10T15:00:00Z"]
TIMINGS: dict[str, float] = {}


def podman_exec(env, host: str, *cmd: str) -> str:
    out = subprocess.run(
        ["podman", "exec", f"{LAB}-{host}", *cmd],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout


HEALTH = (
    "import json, urllib.request, urllib.error\n"
    "try:\n"
    "    r = urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=5)\n"
    "except urllib.error.HTTPError as e:\n"
    "    r = e\n"
    "print(json.dumps({'status': r.status, 'body': json.load(r)}))\n"
)


def engine_state(env, host: str) -> dict:
    """current link, installed releases, engine pid and /health, read on the host."""
    current = podman_exec(env, host, "readlink", "/opt/refengine/current").strip()
    releases = podman_exec(env, host, "ls", "/opt/refengine/releases").split()
    pid = podman_exec(env, host, "systemctl", "show", "-P", "MainPID", "refengine").strip()
    health = json.loads(podman_exec(env, host, "python3", "-c", HEALTH))
    return {"current": current, "releases": releases, "pid": pid, "health": health}


def deploy(env, tmp_path: Path, *args: str, label: str | None = None):
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    started = time.monotonic()
    proc = tradeops("run", "playbooks/hosts/engine.yml", "--report", str(report), *args, env=env)
    if label:
        TIMINGS[label] = round(time.monotonic() - started, 1)
    data = json.loads(report.read_text()) if report.is_file() else {}
    return proc, data


def extra(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("-e", pair)]


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str]:
    return lab_environment(LAB, "198.19.57.0/24")


@pytest.fixture(scope="module")
def lab(lab_env):
    with engine_lab(lab_env, TIMINGS, "lab up + engine instances") as up:
        yield up
    print(f"\nengine rollout timings (s): {json.dumps(TIMINGS)}")


@pytest.fixture(scope="module")
def canary(lab, lab_env) -> str:
    out = subprocess.run(
        [str(VENV_BIN / "ansible"), "engines[0]", "--list-hosts"],
        cwd=ROOT,
        env=lab_env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()[-1].strip()


@pytest.fixture(scope="module")
def isolated_cpus(lab, lab_env) -> str:
    """The isolated CPUs of the profile engine_tuning applies to the engines."""
    out = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "--host", "engine-bm-1"],
        cwd=ROOT,
        env=lab_env,
        capture_output=True,
        text=True,
        check=True,
    )
    hostvars = json.loads(out.stdout)
    profile = hostvars.get("engine_tuning_profile") or {}
    if not profile:
        name = hostvars["engine_tuning_profile_name"]
        profile = yaml.safe_load(
            (ROOT / "roles/engine_tuning/files/profiles" / f"{name}.yml").read_text()
        )
    return str(profile["cpu"]["isolated"])


def test_v1_reaches_every_engine(lab, lab_env, tmp_path):
    proc, report = deploy(lab_env, tmp_path, *extra("engine_deploy_version=1.0.0"), label="v1")
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert set(ENGINES) <= set(report["hosts"])
    for host in ENGINES:
        state = engine_state(lab_env, host)
        assert state["current"] == "releases/1.0.0", host
        assert state["health"]["status"] == 200, (host, state["health"])
        assert state["health"]["body"]["version"] == "1.0.0", host


def test_engine_runs_where_the_profile_says(lab, lab_env, isolated_cpus):
    from ansible_collections.tradeops.platform.plugins.module_utils.cpuset import (
        format_cpulist,
        parse_cpulist,
    )

    for host in ENGINES:
        placement = json.loads(podman_exec(lab_env, host, "cat", "/etc/refengine/placement.json"))
        body = engine_state(lab_env, host)["health"]["body"]
        seen = body["placement"]
        # Pinning: from inside the process, the profile's isolated CPUs, nothing else.
        assert seen["cpu_affinity_list"] == format_cpulist(parse_cpulist(isolated_cpus)), host
        # Locking: proven where the host can grant it; where it cannot (the unprivileged
        # lab containers) the role said so and the engine reports the same refusal.
        if placement["memlock"]:
            assert seen["mlockall"]["ok"] is True, (host, seen["mlockall"])
            assert seen["locked_memory_kb"] > 0, host
        else:
            assert any("memory locking" in r for r in placement["left_out"]), placement
            assert seen["mlockall"] == {
                "requested": True,
                "ok": False,
                "error": seen["mlockall"]["error"],
            }
            assert "RLIMIT_MEMLOCK" in seen["mlockall"]["error"]
            assert seen["locked_memory_kb"] == 0
        if placement["sched_policy"] == "fifo":
            assert seen["sched_policy"] == "SCHED_FIFO", host
        else:
            assert any("real-time" in r for r in placement["left_out"]), placement
            assert seen["sched_policy"] == "SCHED_OTHER", host
        assert body["config"]["db"]["password"] == "***redacted***"
        # The unit: a dedicated non-root user, hardened.
        show = podman_exec(
            lab_env,
            host,
            "systemctl",
            "show",
            "refengine",
            "-p",
            "User,NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,CPUAffinity,LimitMEMLOCK",
        )
        props = dict(line.split("=", 1) for line in show.splitlines() if "=" in line)
        assert props["User"] == "refengine"
        assert props["NoNewPrivileges"] == "yes"
        assert props["ProtectSystem"] == "strict"
        assert props["ProtectHome"] == "yes"
        assert props["PrivateTmp"] == "yes"
        assert props["LimitMEMLOCK"] == "infinity"
        pid = engine_state(lab_env, host)["pid"]
        status = podman_exec(lab_env, host, "cat", f"/proc/{pid}/status")
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        assert uid != "0", f"{host}: the engine runs as root"
        mode = podman_exec(lab_env, host, "stat", "-c", "%a %U %G", "/etc/refengine/engine.json")
        assert mode.split() == ["640", "root", "refengine"]


def test_freeze_refuses_a_deploy_without_override(lab, lab_env, tmp_path):
    before = {h: engine_state(lab_env, h) for h in ENGINES}
    proc, _ = deploy(lab_env, tmp_path, *extra("engine_deploy_version=2.0.0", *FROZEN))
    assert proc.returncode != 0
    assert "change freeze in force" in proc.stderr + proc.stdout
    for host in ENGINES:
        after = engine_state(lab_env, host)
        assert after["current"] == "releases/1.0.0", host
        assert after["releases"] == before[host]["releases"], host
        assert after["pid"] == before[host]["pid"], host


def test_v2_inside_the_freeze_with_override_is_recorded(lab, lab_env, tmp_path):
    audit = tmp_path.parent / "engine-freeze-audit.jsonl"
    reason = "CHG-42: venue certificate rotation"
    proc, report = deploy(
        lab_env,
        tmp_path,
        *extra(
            "engine_deploy_version=2.0.0",
            *FROZEN,
            f"engine_rollout_override_reason='{reason}'",
            f"engine_rollout_audit_log={audit}",
        ),
        label="v2 (override)",
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["override_reason"] == reason
    assert records[0]["decision"] == "overridden"
    assert records[0]["version"] == "2.0.0"
    assert "overridden" in report["summary"]["change freeze"]
    for host in ENGINES:
        state = engine_state(lab_env, host)
        assert state["current"] == "releases/2.0.0", host
        assert state["health"]["body"]["version"] == "2.0.0", host
        assert {"1.0.0", "2.0.0"} <= set(state["releases"]), host


def test_v3_fails_its_canary_which_is_rolled_back_and_the_rollout_stops(
    lab, lab_env, tmp_path, canary
):
    before = {h: engine_state(lab_env, h) for h in ENGINES}
    proc, report = deploy(lab_env, tmp_path, *extra("engine_deploy_version=3.0.0"), label="v3")
    assert proc.returncode == 4, proc.stderr[-5000:]
    assert "rolled back to 2.0.0" in proc.stderr
    assert {f["host"] for f in report["failures"]} == {canary}
    # The canary: 3.0.0 was installed and tried, then current went back to 2.0.0.
    state = engine_state(lab_env, canary)
    assert state["current"] == "releases/2.0.0"
    assert state["health"]["status"] == 200
    assert state["health"]["body"]["version"] == "2.0.0"
    assert "3.0.0" in state["releases"]
    # Every other engine: not reached, so nothing changed, not even a restart.
    for host in ENGINES:
        if host == canary:
            continue
        after = engine_state(lab_env, host)
        assert after["current"] == "releases/2.0.0", host
        assert after["releases"] == before[host]["releases"], host
        assert after["pid"] == before[host]["pid"], host
        assert after["health"]["body"]["version"] == "2.0.0", host
        assert report["hosts"].get(host, {}).get("changed", 0) == 0, host


def test_deploying_the_same_version_again_changes_nothing(lab, lab_env, tmp_path):
    pids = {h: engine_state(lab_env, h)["pid"] for h in ENGINES}
    args = extra("engine_deploy_version=2.0.0")
    proc, report = deploy(lab_env, tmp_path, *args, label="v2 again")
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert {h: c["changed"] for h, c in report["hosts"].items() if c["changed"]} == {}
    assert {h: engine_state(lab_env, h)["pid"] for h in ENGINES} == pids


def test_check_mode_reports_no_change(lab, lab_env, tmp_path):
    proc, report = deploy(lab_env, tmp_path, "--check", *extra("engine_deploy_version=2.0.0"))
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert report["check"] is True
    assert {h: c["changed"] for h, c in report["hosts"].items() if c["changed"]} == {}


def test_checksum_mismatch_is_refused_and_nothing_replaced(lab, lab_env, tmp_path):
    host = "engine-bm-1"
    before = engine_state(lab_env, host)
    artifact = ROOT / ".cache/artifacts/refengine/refengine-1.0.0.tar.gz"
    proc, _ = deploy(
        lab_env,
        tmp_path,
        "--limit",
        host,
        *extra(
            "engine_deploy_version=9.9.9",
            f"engine_deploy_artifact_src={artifact}",
            "engine_deploy_artifact_sha256=" + "0" * 64,
        ),
    )
    assert proc.returncode == 4, proc.stderr[-3000:]
    said = " ".join(proc.stderr.split())  # the reason is shown whole, wrapped
    assert "expected 0000000000" in said, said[-3000:]
    assert "nothing on engine-bm-1 was replaced" in said, said[-3000:]
    after = engine_state(lab_env, host)
    assert (after["current"], after["releases"], after["pid"]) == (
        before["current"],
        before["releases"],
        before["pid"],
    )
    assert "9.9.9" not in after["releases"]
