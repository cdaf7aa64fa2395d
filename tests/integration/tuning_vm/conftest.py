"""The boot-time tuning VM scenario: `pytest -m vm` selects it."""

from __future__ import annotations

import json

from .vm import TIMINGS


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: boots a qemu VM of lab/vm/build.sh's disk")


def pytest_terminal_summary(terminalreporter):
    """The VM scenario's timings (also in timings.json in the test's tmp dir)."""
    if TIMINGS:
        terminalreporter.section("tuning VM timings")
        terminalreporter.write_line(json.dumps(TIMINGS, indent=2))
