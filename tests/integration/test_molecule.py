"""Every role's molecule scenario passes its whole sequence (create, converge, idempotence,
check, [side effect,] verify, destroy): molecule/<role>/, on systemd containers of the lab's
image or a moto of the scenario's own (docs/operations.md, "Testing a role").

Each scenario runs as `molecule test -s <role>` would from the checkout, with an ephemeral
directory of its own, and its duration is printed (the note of #21 quotes them)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tradeops.lab import Lab

from .support import ROOT, VENV_BIN, ansible_env

pytestmark = pytest.mark.lab

SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def test_every_scenario_is_named_after_a_role():
    roles = {p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir()}
    assert SCENARIOS
    assert set(SCENARIOS) <= roles, set(SCENARIOS) - roles


@pytest.mark.parametrize("scenario", SCENARIOS)
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
