"""Shared pytest set-up: make the checkout importable as ansible_collections.tradeops.platform."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# collections/ansible_collections/tradeops/platform links to the checkout; with
# collections/ on sys.path, plugin code imports exactly as Ansible imports it.
sys.path.insert(0, str(ROOT / "collections"))
