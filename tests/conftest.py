"""Shared pytest set-up: make the checkout importable as ansible_collections.tradeops.platform."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# collections/ansible_collections/tradeops/platform links to the checkout; with
# collections/ on sys.path, plugin code imports exactly as Ansible imports it.
sys.path.insert(0, str(ROOT / "collections"))


def pytest_configure(config) -> None:
    # Beyond CI's 60-minute budget on 2 cores: `./dev test-full` runs these (README).
    config.addinivalue_line("markers", "full: a proof too long for CI's budget (./dev test-full)")
