"""The site lab's end-to-end tests (this package): test_lab.py converges it as a user does
(first run, re-run, check mode, a failing run, a failed region), test_lab_dr.py runs an
operator's DR day on the same converge, and its last test takes the lab down. The lab
itself is session-wide (tests/integration/conftest.py): other suites use its converge too.
"""

from __future__ import annotations

import subprocess

import pytest

from ..conftest import SITE_LAB as LAB
from ..conftest import SITE_LAB_SUBNET as SUBNET

__all__ = ["LAB", "SUBNET", "podman_names"]


def podman_names(kind: str, env: dict[str, str]) -> list[str]:
    """Names of the containers ("ps") or networks labelled as this package's lab."""
    label = f"label=io.tradeops.lab={LAB}"
    if kind == "ps":
        args = ["ps", "-a", "--filter", label, "--format", "{{.Names}}"]
    else:
        args = ["network", "ls", "--filter", label, "--format", "{{.Name}}"]
    out = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="session")
def lab_env(site_lab_env) -> dict[str, str]:
    return site_lab_env


@pytest.fixture(scope="session")
def lab(site_lab) -> dict:
    return site_lab


@pytest.fixture(scope="session")
def first_site(site_converged) -> dict:
    return site_converged
