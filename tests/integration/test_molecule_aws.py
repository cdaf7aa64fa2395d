"""The AWS roles' molecule scenarios (molecule/aws_*/, each against a moto of its own) but
those test_molecule.py runs: a stream of their own beside the other roles'."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_molecule import HERE, SCENARIOS, molecule_test

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s not in HERE])
def test_molecule_scenario(scenario: str, tmp_path: Path):
    molecule_test(scenario, tmp_path)
