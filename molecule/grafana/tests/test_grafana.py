"""grafana's effect on the monitoring host where the package is not installed (the lab):
the provisioning files, with their owners and modes, the Prometheus datasource, and the
dashboards rendered from monitoring_assets' specs."""

import json
import os
from pathlib import Path

import pytest
import yaml

testinfra_hosts = ["podman://molecule-grafana"]

PROVISIONING = "/etc/grafana/provisioning"
DASHBOARDS_DIR = "/var/lib/grafana/dashboards/tradeops"
DASHBOARDS = ("fleet_tuning", "engine_latency", "nic_ena", "host_resources")
SPECS = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "roles/monitoring_assets/files/dashboards"


def test_grafana_itself_is_not_installed(host):
    # the lab's grafana_install_package: false (no vendor repository, no package)
    assert not host.package("grafana").is_installed
    assert not host.file("/etc/apt/sources.list.d/grafana.sources").exists


@pytest.mark.parametrize(
    "path", [f"{PROVISIONING}/datasources", f"{PROVISIONING}/dashboards", DASHBOARDS_DIR]
)
def test_the_provisioning_directories(host, path):
    directory = host.file(path)
    assert directory.is_directory
    assert directory.user == "root"
    assert directory.mode == 0o755


def test_the_datasource_is_the_local_prometheus(host):
    datasource = host.file(f"{PROVISIONING}/datasources/tradeops.yml")
    assert datasource.user == "root"
    assert datasource.group == "root"  # grafana's group only once the package made it
    assert datasource.mode == 0o640
    doc = yaml.safe_load(datasource.content_string)
    assert doc["apiVersion"] == 1
    [source] = doc["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"] == "prometheus"
    assert source["url"] == "http://127.0.0.1:9090"
    assert source["isDefault"] is True
    assert source["editable"] is False


def test_the_dashboard_provider_reads_the_dashboards_directory(host):
    provider = host.file(f"{PROVISIONING}/dashboards/tradeops.yml")
    assert provider.user == "root"
    assert provider.mode == 0o640
    [entry] = yaml.safe_load(provider.content_string)["providers"]
    assert entry["type"] == "file"
    assert entry["folder"] == "tradeops"
    assert entry["options"]["path"] == DASHBOARDS_DIR
    assert entry["allowUiUpdates"] is False


def test_exactly_the_configured_dashboards_are_there(host):
    assert sorted(host.file(DASHBOARDS_DIR).listdir()) == sorted(f"{d}.json" for d in DASHBOARDS)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_each_dashboard_is_its_spec_rendered_on_the_prometheus_datasource(host, name):
    dashboard_file = host.file(f"{DASHBOARDS_DIR}/{name}.json")
    assert dashboard_file.user == "root"
    assert dashboard_file.mode == 0o644
    dashboard = json.loads(dashboard_file.content_string)
    spec = yaml.safe_load((SPECS / f"{name}.yml").read_text())
    assert dashboard["uid"] == spec["uid"]
    assert dashboard["title"] == spec["title"]
    assert [p["title"] for p in dashboard["panels"]] == [p["title"] for p in spec["panels"]]
    for panel, panel_spec in zip(dashboard["panels"], spec["panels"], strict=True):
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        assert [t["expr"] for t in panel["targets"]] == [t["expr"] for t in panel_spec["targets"]]
