"""Integration fixtures (helpers live in support.py).

The site lab: one lab for the whole session's end-to-end tests (tests/integration/lab/ and
the suites that need a converged platform). test_lab.py converges it as a user does, the
day-2 and production-defaults tests use that converge, and the DR day runs last on it and
takes it down. One converge of eight hosts and fourteen AWS layers serves all of them: it
is the most expensive thing in the suite (CI's budget is 60 minutes on 2 cores).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import MotoServer, lab_environment, tradeops

HERE = Path(__file__).resolve().parent
SITE_LAB = "tolab"
SITE_LAB_SUBNET = "198.19.250.0/24"
# The site lab's users, in the order they run (after every other test of the session): the
# converge first, the DR day last (it moves the platform between regions and ends with
# lab down). A module not listed keeps its place.
SITE_LAB_ORDER = (
    "lab/test_lab.py",
    "dayto/test_dayto_lab.py",
    "production_defaults/test_production_defaults.py",
    "lab/test_lab_dr.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        try:
            module = item.path.relative_to(HERE).as_posix()
        except ValueError:
            return 0
        return SITE_LAB_ORDER.index(module) + 1 if module in SITE_LAB_ORDER else 0

    items.sort(key=rank)  # stable: file order within each module is kept


@pytest.fixture(scope="session")
def moto(tmp_path_factory) -> Iterator[MotoServer]:
    """Session-wide moto; tests that need an empty account call moto.reset()."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def site_lab_env(tmp_path_factory) -> dict[str, str]:
    state = tmp_path_factory.mktemp("site-lab")
    return lab_environment(
        SITE_LAB,
        SITE_LAB_SUBNET,
        TRADEOPS_AWS_OUTPUTS_DIR=str(state / "aws-outputs"),
        # the run history and drift state of this lab's runs (not the checkout's)
        TRADEOPS_ARA_DIR=str(state / "ara"),
        TRADEOPS_DRIFT_DIR=str(state / "drift"),
    )


@pytest.fixture(scope="session")
def site_lab(site_lab_env) -> Iterator[dict]:
    """The site lab, up (`tradeops lab up --json`'s answer)."""
    first = tradeops("lab", "up", "--json", env=site_lab_env)
    try:
        assert first.returncode == 0, first.stderr
        yield json.loads(first.stdout)
    finally:  # a lab that came up only half way is removed too
        for region in ("us-east-1", "us-west-2"):
            tradeops("lab", "restore-region", region, env=site_lab_env)
        down = tradeops("lab", "down", env=site_lab_env)
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="session")
def site_converged(site_lab, site_lab_env, tmp_path_factory) -> dict:
    """The report of site.yml's first run on the new site lab (it converges the lab)."""
    report = tmp_path_factory.mktemp("first-site") / "report.json"
    proc = tradeops("run", "site", "--report", str(report), env=site_lab_env, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(report.read_text())
