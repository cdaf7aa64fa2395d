"""k8s_monitoring's effect: values carrying every rule group of the host monitoring (and
passing promtool), an Alertmanager configuration amtool accepts, dashboards as valid
ConfigMaps, and nothing in the render directory but the role's current files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ASSETS = Path(__file__).parents[3] / "roles" / "monitoring_assets" / "files"


@pytest.fixture(scope="module")
def render(ephemeral) -> Path:
    return ephemeral / "monitoring"


def _tool(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert shutil.which(argv[0]), f"{argv[0]} missing: ./dev setup installs it"
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)


def test_values_carry_every_rule_group_and_pass_promtool(render, tmp_path):
    values = yaml.safe_load((render / "values.yaml").read_text())
    rules_map = values["additionalPrometheusRulesMap"]
    sources = sorted((ASSETS / "rules").glob("*.yml"))
    assert sources
    assert sorted(rules_map) == sorted("tradeops-" + p.stem.replace("_", "-") for p in sources)
    for name, body in rules_map.items():
        rendered = tmp_path / f"{name}.yml"
        rendered.write_text(yaml.safe_dump({"groups": body["groups"]}))
        check = _tool("promtool", "check", "rules", str(rendered))
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_hand_edit_was_put_back(render):
    assert "# edited by hand" not in (render / "values.yaml").read_text()


def test_alertmanager_configuration_passes_amtool(render, tmp_path):
    values = yaml.safe_load((render / "alertmanager-values.yaml").read_text())
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(values["alertmanager"]["config"]))
    check = _tool("amtool", "check-config", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    routes = values["alertmanager"]["config"]["route"]["routes"]
    assert {r["matchers"][0] for r in routes} >= {'severity="critical"', 'severity="warning"'}


def test_dashboards_are_configmaps_valid_for_the_clusters_version(render):
    files = sorted((render / "manifests").iterdir())
    assert files[0].name == "01-namespace-monitoring.yaml"
    assert "99-configmap-retired.yaml" not in [p.name for p in files]
    maps = [yaml.safe_load(p.read_text()) for p in files[1:]]
    names = sorted(key for m in maps for key in m["data"])
    assert names == sorted(f"{p.stem}.json" for p in (ASSETS / "dashboards").glob("*.yml"))
    for path in files:
        kubernetes_validate.validate(yaml.safe_load(path.read_text()), "1.35.0", strict=True)
    for configmap in maps:
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        (text,) = configmap["data"].values()
        assert json.loads(text)["panels"]
