"""monitoring_assets' effect: the facts naming the rule files and dashboard specs (as
converge.yml recorded them), pointing at files the consumers can use."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
ROLE_FILES = PROJECT / "roles" / "monitoring_assets" / "files"


@pytest.fixture(scope="module")
def facts(ephemeral) -> dict:
    return json.loads((ephemeral / "monitoring_assets.json").read_text())


def defaults(role: str) -> dict:
    return yaml.safe_load((PROJECT / "roles" / role / "defaults" / "main.yml").read_text())


def test_the_facts_are_absolute_paths_of_the_role_files(facts):
    rules = Path(facts["monitoring_assets_rules_dir"])
    dashboards = Path(facts["monitoring_assets_dashboards_dir"])
    assert rules.is_absolute()
    assert dashboards.is_absolute()
    # through the collections/ link, the checkout's own files
    assert rules.resolve() == (ROLE_FILES / "rules").resolve()
    assert dashboards.resolve() == (ROLE_FILES / "dashboards").resolve()


def test_every_rule_file_prometheus_loads_is_there_and_valid(facts):
    rules = Path(facts["monitoring_assets_rules_dir"])
    names = defaults("prometheus")["prometheus_rule_files"]
    files = [rules / f"{name}.yml" for name in names]
    assert all(f.is_file() for f in files), [f for f in files if not f.is_file()]
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian's prometheus, ./dev setup) is needed to check the rules"
    subprocess.run([promtool, "check", "rules", *map(str, files)], check=True)


def test_every_dashboard_grafana_renders_has_a_spec(facts):
    dashboards = Path(facts["monitoring_assets_dashboards_dir"])
    for name in defaults("grafana")["grafana_dashboards"]:
        spec = yaml.safe_load((dashboards / f"{name}.yml").read_text())
        assert spec["uid"] and spec["title"], name
        assert spec["panels"], name
        assert all(panel["targets"] for panel in spec["panels"]), name
