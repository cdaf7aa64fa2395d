"""The lab end to end, as a user drives it: lab up, run site, re-run, check, lab down.

Uses a lab of its own (name, /24 inside 198.18.0.0/15, moto port), so a developer's
running lab is left alone.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .support import AWS_LAYERS, _free_port, ansible_env, tradeops

pytestmark = pytest.mark.lab

LAB = "tolab"
HOSTS = {"engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1", "mon-1"}


def podman_names(kind: str, env: dict[str, str]) -> list[str]:
    """Names of the containers ("ps") or networks labelled as this test's lab."""
    label = f"label=io.tradeops.lab={LAB}"
    if kind == "ps":
        args = ["ps", "-a", "--filter", label, "--format", "{{.Names}}"]
    else:
        args = ["network", "ls", "--filter", label, "--format", "{{.Name}}"]
    out = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str]:
    return ansible_env(
        TRADEOPS_LAB_NAME=LAB,
        TRADEOPS_LAB_SUBNET="198.19.250.0/24",
        TRADEOPS_MOTO_PORT=str(_free_port()),
    )


@pytest.fixture(scope="module")
def lab(lab_env):
    first = tradeops("lab", "up", "--json", env=lab_env)
    assert first.returncode == 0, first.stderr
    yield json.loads(first.stdout)
    down = tradeops("lab", "down", env=lab_env)
    assert down.returncode == 0, down.stderr


def run_site(lab_env, tmp_path: Path, *args: str) -> dict:
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    proc = tradeops("run", "site", "--report", str(report), *args, env=lab_env)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(report.read_text())


def test_lab_up_creates_every_host_on_its_own_network(lab, lab_env):
    assert set(lab["hosts"]) == HOSTS
    assert all(state == "running" for state in lab["hosts"].values())
    assert lab["moto"]["healthy"]
    assert sorted(podman_names("ps", lab_env)) == sorted(f"{LAB}-{h}" for h in HOSTS)
    assert podman_names("network", lab_env) == [f"{LAB}-net"]


def test_lab_up_again_changes_nothing(lab, lab_env):
    again = tradeops("lab", "up", "--json", env=lab_env)
    assert again.returncode == 0, again.stderr
    assert set(json.loads(again.stdout)["actions"].values()) == {"running"}


@pytest.fixture(scope="module")
def first_site(lab, lab_env, tmp_path_factory) -> dict:
    """The report of site.yml's first run on the new lab (it converges the lab)."""
    return run_site(lab_env, tmp_path_factory.mktemp("first-site"))


def test_site_reaches_every_host_through_the_real_inventory(first_site, lab_env):
    report = first_site
    # Cloud engines only exist once site.yml provisioned them in moto (amazon.aws through
    # the lab's module_defaults) and the aws_ec2 inventory found them.
    # The AWS layers run as pseudo-hosts aws-<layer> (playbooks/aws/site.yml).
    aws_layers = {f"aws-{layer}" for layer in AWS_LAYERS}
    assert set(report["hosts"]) == HOSTS | {"localhost"} | aws_layers
    assert report["failures"] == []
    assert report["summary"]["engine fleet"] == ["engine-c5n-1", "engine-c5n-2", "engine-metal-1"]
    # The main job is provision + tune + deploy + monitoring: its summary ends with the
    # Prometheus address and the health of every target.
    assert report["summary"]["prometheus"].startswith("http://198.19.250.")
    assert report["summary"]["monitoring health"].startswith("targets up "), report["summary"]
    # Each host's local fact says where it sits in the platform: read it on the host.
    for host in HOSTS:
        out = subprocess.run(
            ["podman", "exec", f"{LAB}-{host}", "cat", "/etc/ansible/facts.d/tradeops.fact"],
            env=lab_env,
            capture_output=True,
            text=True,
            check=True,
        )
        fact = json.loads(out.stdout)
        assert fact["environment"] == "lab"
        assert ("engines" in fact["groups"]) == host.startswith("engine")


def test_second_run_and_check_mode_change_nothing(first_site, lab_env, tmp_path):
    again = run_site(lab_env, tmp_path)
    assert {h: c["changed"] for h, c in again["hosts"].items() if c["changed"]} == {}
    check = run_site(lab_env, tmp_path, "--check")
    assert check["check"] is True
    assert {h: c["changed"] for h, c in check["hosts"].items() if c["changed"]} == {}


def test_failure_is_reported_with_its_exit_code(lab, lab_env):
    proc = tradeops(
        "run",
        "site",
        "--tags",
        "baseline",
        "--limit",
        "mon-1",
        "-e",
        "host_baseline_timezone=Mars/Olympus",
        env=lab_env,
    )
    assert proc.returncode == 4
    assert "Mars/Olympus is not a time zone on mon-1" in proc.stderr


def test_lab_down_leaves_nothing_behind(lab_env):
    # Runs last in this module (pytest keeps file order); the fixture's own down is
    # then a no-op, which is what idempotent means.
    status = json.loads(tradeops("lab", "status", "--json", env=lab_env).stdout)
    assert status["moto"]["pid"], "moto should be running before down"
    moto_pid = status["moto"]["pid"]
    down = tradeops("lab", "down", env=lab_env)
    assert down.returncode == 0, down.stderr
    assert podman_names("ps", lab_env) == []
    assert podman_names("network", lab_env) == []
    assert not Path(f"/proc/{moto_pid}").exists()
    after = tradeops("lab", "status", env=lab_env)
    assert after.returncode == 3
