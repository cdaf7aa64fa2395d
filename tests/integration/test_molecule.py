"""Every molecule scenario passes its whole sequence (create, converge, idempotence,
check, verify, destroy) on a container of the lab's base image."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tradeops.lab import Lab

from .support import ROOT, VENV_BIN, ansible_env

pytestmark = pytest.mark.lab

SCENARIOS = sorted(p.name for p in (ROOT / "molecule").iterdir() if (p / "molecule.yml").is_file())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str, tmp_path: Path):
    env = ansible_env(
        TRADEOPS_LAB_IMAGE=Lab(root=ROOT).image_ref(),
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
    )
    proc = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "-s", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1500,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]
