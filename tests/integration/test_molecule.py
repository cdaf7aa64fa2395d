"""Every role's molecule scenario passes its whole sequence (create, converge, idempotence,
check, [side effect,] verify, destroy): molecule/<role>/, on systemd containers of the lab's
image or a moto of the scenario's own (CONTRIBUTING.md, "Testing a role").

Each scenario runs as `./dev molecule <role>` would, with an ephemeral directory of its
own, and its duration is printed. tests/run.sh runs this file and test_molecule_aws.py in
streams of their own: the AWS roles' scenarios there, the others here with the two AWS
scenarios that build nearly the whole AWS half first (HERE_TOO), so both streams take
about as long (some 15 minutes each on an idle machine)."""

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
HERE_TOO = ("aws_alarms", "aws_backup")
HERE = [s for s in SCENARIOS if not s.startswith("aws_") or s in HERE_TOO]


def molecule_test(scenario: str, tmp_path: Path) -> None:
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


def test_every_role_has_a_scenario_named_after_it():
    assert SCENARIOS == ROLES, {
        "roles without a scenario": sorted(set(ROLES) - set(SCENARIOS)),
        "scenarios of no role": sorted(set(SCENARIOS) - set(ROLES)),
    }


@pytest.mark.parametrize("scenario", HERE)
def test_molecule_scenario(scenario: str, tmp_path: Path):
    molecule_test(scenario, tmp_path)
