"""One lab for the whole platform's end-to-end tests (this package).

test_lab.py brings it up and converges it with site.yml as a user does (first run,
re-run, check mode, a failing run, a failed region), then test_lab_dr.py runs an
operator's DR day on the same converged lab, and its last test takes the lab down. One
converge of eight hosts and fourteen AWS layers serves both: it is the most expensive
thing in the suite (CI's budget is 60 minutes on 2 cores).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from ..support import _free_port, ansible_env, tradeops

LAB = "tolab"
SUBNET = "198.19.250.0/24"


def podman_names(kind: str, env: dict[str, str]) -> list[str]:
    """Names of the containers ("ps") or networks labelled as this package's lab."""
    label = f"label=io.tradeops.lab={LAB}"
    if kind == "ps":
        args = ["ps", "-a", "--filter", label, "--format", "{{.Names}}"]
    else:
        args = ["network", "ls", "--filter", label, "--format", "{{.Name}}"]
    out = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="package")
def lab_env(tmp_path_factory) -> dict[str, str]:
    return ansible_env(
        TRADEOPS_LAB_NAME=LAB,
        TRADEOPS_LAB_SUBNET=SUBNET,
        TRADEOPS_MOTO_PORT=str(_free_port()),
        TRADEOPS_AWS_OUTPUTS_DIR=str(tmp_path_factory.mktemp("outputs")),
    )


@pytest.fixture(scope="package")
def lab(lab_env):
    first = tradeops("lab", "up", "--json", env=lab_env)
    try:
        assert first.returncode == 0, first.stderr
        yield json.loads(first.stdout)
    finally:  # a lab that came up only half way is removed too
        for region in ("us-east-1", "us-west-2"):
            tradeops("lab", "restore-region", region, env=lab_env)
        down = tradeops("lab", "down", env=lab_env)
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="package")
def first_site(lab, lab_env, tmp_path_factory) -> dict:
    """The report of site.yml's first run on the new lab (it converges the lab)."""
    report = tmp_path_factory.mktemp("first-site") / "report.json"
    proc = tradeops("run", "site", "--report", str(report), env=lab_env, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(report.read_text())
