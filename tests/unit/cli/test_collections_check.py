from __future__ import annotations

from pathlib import Path

from tradeops.collections_check import check

ROOT = Path(__file__).resolve().parents[3]


def test_installed_collections_match_requirements():
    assert check(ROOT / "requirements.yml") == []


def test_a_version_drift_is_reported(tmp_path):
    (tmp_path / "requirements.yml").write_text(
        "collections:\n  - {name: amazon.aws, version: '0.0.1'}\n"
        "  - {name: no.such, version: '1.0.0'}\n"
    )
    problems = check(tmp_path / "requirements.yml")
    assert any("amazon.aws is 10." in p and "0.0.1" in p for p in problems)
    assert any("no.such is not installed" in p for p in problems)
    assert any("must link to the checkout" in p for p in problems)
