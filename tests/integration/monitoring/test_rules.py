"""Alert rules: promtool checks every rule file and runs every unit-test case file, and
every alert has a case where it fires and one where it does not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES = sorted((ROOT / "roles" / "monitoring_assets" / "files" / "rules").glob("*.yml"))
CASES = sorted((Path(__file__).parent / "rules").glob("*_test.yml"))
PROMTOOL = shutil.which("promtool")


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Not a skip: `./dev setup` installs it (Debian package prometheus, lab/debian-packages.txt).
    assert PROMTOOL, "promtool missing: install the Debian package prometheus (./dev setup)"
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.name)
def test_rule_file_is_valid(path):
    proc = promtool("check", "rules", str(path), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_rule_cases_pass(path):
    proc = promtool("test", "rules", path.name, cwd=path.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_rule_file_has_a_case_file():
    tested = set()
    for case in CASES:
        for rule_file in yaml.safe_load(case.read_text())["rule_files"]:
            tested.add((case.parent / rule_file).resolve())
    assert {p.resolve() for p in RULES} <= tested


def test_every_alert_fires_in_one_case_and_stays_silent_in_another():
    alerts = {
        rule["alert"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    fires, silent = set(), set()
    for case in CASES:
        for test in yaml.safe_load(case.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    assert alerts - fires == set(), "alerts without a firing case"
    assert alerts - silent == set(), "alerts without a silent case"
    assert {"critical", "warning", "info"} == {
        rule["labels"]["severity"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
