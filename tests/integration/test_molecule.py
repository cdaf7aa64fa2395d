"""Every role's molecule scenario passes its whole sequence (create, converge, idempotence,
check, [side effect,] verify, destroy): molecule/<role>/, on systemd containers of the lab's
image or a moto of the scenario's own (CONTRIBUTING.md, "Testing a role").

Each scenario runs as `./dev molecule <role>` would, with an ephemeral directory of its
own, and its duration is printed. All 35 take about 40 minutes of wall time on an idle
2-core machine (the AWS ones build the layers they need first): beside the other suites
that is beyond CI's 60 minutes (a CI-equivalent run with all of them in two streams of
their own was heading for some 80). So `./dev test` runs the cheap ones (IN_CI: under
about 40 s each on an idle machine, one of each kind: containers, moto, the controller,
and engine_tuning, whose idempotence step proves the settled skip of host_state and whose
side effect proves a moved item is repaired), and every other scenario is marked `full`:
`./dev test-full` runs them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tradeops.lab import Lab

from .support import ROOT, VENV_BIN, ansible_env

pytestmark = pytest.mark.lab

SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())
IN_CI = (
    "aws_account",
    "aws_dr_state",
    "aws_security",
    "backup_common",
    "db_redis",
    "dr",
    "engine_rollout",
    "engine_tuning",
    "grafana",
    "host_baseline",
    "k8s_monitoring",
    "k8s_workloads",
    "monitoring_assets",
    "node_exporter",
)


def test_every_role_has_a_scenario_named_after_it():
    assert SCENARIOS == ROLES, {
        "roles without a scenario": sorted(set(ROLES) - set(SCENARIOS)),
        "scenarios of no role": sorted(set(SCENARIOS) - set(ROLES)),
    }
    assert set(IN_CI) <= set(SCENARIOS)


@pytest.mark.parametrize(
    "scenario",
    [pytest.param(s, marks=() if s in IN_CI else pytest.mark.full) for s in SCENARIOS],
)
def test_molecule_scenario(scenario: str, tmp_path: Path):
    env = ansible_env(
        TRADEOPS_LAB_IMAGE=Lab(root=ROOT).image_ref(),
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
        NO_COLOR="1",
    )
    started = time.monotonic()
    proc = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "-s", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1500,
    )
    print(f"molecule test -s {scenario}: {time.monotonic() - started:.0f} s")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]
