"""prometheus's effect on the monitoring host: the service, its configuration and rules
from the inventory and the shared rule files, and Prometheus answering queries."""

import json
import urllib.parse

import pytest
import testinfra
import yaml

testinfra_hosts = ["podman://molecule-prometheus"]

ENGINE = "molecule-prometheus-engine"
MONITORING = "molecule-prometheus"
RULE_FILES = {"engine", "host_latency", "tuning", "hosts", "data", "dr", "drift"}


def api(host, path: str, **params) -> dict:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    answer = json.loads(
        host.check_output(f"curl -fsS 'http://127.0.0.1:9090/api/v1/{path}{query}'")
    )
    assert answer["status"] == "success", answer
    return answer["data"]


@pytest.fixture(scope="module")
def engine_address() -> str:
    engine = testinfra.get_host(f"podman://{ENGINE}")
    return engine.check_output("ip -4 -o addr show eth0").split()[3].split("/")[0]


@pytest.fixture(scope="module")
def config(host) -> dict:
    return yaml.safe_load(host.file("/etc/prometheus/prometheus.yml").content_string)


def test_prometheus_is_installed_running_and_enabled(host):
    assert host.package("prometheus").is_installed
    service = host.service("prometheus")
    assert service.is_running
    assert service.is_enabled
    assert host.socket("tcp://0.0.0.0:9090").is_listening


def test_the_flags_set_the_retention_and_the_configuration(host):
    flags = host.file("/etc/default/prometheus")
    assert flags.mode == 0o644
    assert "--storage.tsdb.retention.time=30d" in flags.content_string
    assert "--config.file=/etc/prometheus/prometheus.yml" in flags.content_string


def test_the_configuration_file_is_readable_by_prometheus_only(host):
    config = host.file("/etc/prometheus/prometheus.yml")
    assert config.user == "root"
    assert config.group == "prometheus"
    assert config.mode == 0o640


def test_the_configuration_has_the_lab_intervals_and_labels(config):
    assert config["global"]["scrape_interval"] == "5s"
    assert config["global"]["evaluation_interval"] == "5s"
    assert config["global"]["external_labels"] == {"environment": "lab"}
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:9093"
    ]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_the_scrape_targets_come_from_the_inventory(config, engine_address):
    targets = {
        (job["job_name"], static["labels"]["instance"]): static["targets"]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
    }
    # node on every host of engines/monitoring, the engine (it has a version) on the
    # engine host, prometheus and alertmanager on the monitoring host
    assert set(targets) == {
        ("node", ENGINE),
        ("node", MONITORING),
        ("engine", ENGINE),
        ("prometheus", MONITORING),
        ("alertmanager", MONITORING),
    }
    assert targets[("node", ENGINE)] == [f"{engine_address}:9100"]
    assert targets[("engine", ENGINE)] == [f"{engine_address}:8080"]


def test_exactly_the_shared_rule_files_are_in_place(host):
    rules = host.file("/etc/prometheus/rules")
    assert rules.is_directory
    assert {name.removesuffix(".yml") for name in rules.listdir()} == RULE_FILES
    for name in RULE_FILES:
        rule_file = host.file(f"/etc/prometheus/rules/{name}.yml")
        assert rule_file.user == "root"
        assert rule_file.mode == 0o644
    host.run_expect([0], "promtool check rules /etc/prometheus/rules/*.yml")


def test_prometheus_answers_and_scrapes_the_engine_node_exporter(host, engine_address):
    up = {
        (r["metric"]["job"], r["metric"]["instance"]): r["value"][1]
        for r in api(host, "query", query="up")["result"]
    }
    assert up[("node", ENGINE)] == "1"
    assert up[("prometheus", MONITORING)] == "1"
    scraped = api(host, "query", query=f'node_uname_info{{instance="{ENGINE}"}}')["result"]
    assert scraped
    assert scraped[0]["metric"]["nodename"] == ENGINE


def test_the_rules_are_loaded_with_the_lab_override(host):
    alerts = {
        rule["name"]: rule
        for group in api(host, "rules", type="alert")["groups"]
        for rule in group["rules"]
    }
    assert "TuningDrift" in alerts
    # the lab's prometheus_alert_overrides: TuningDrift fires after 10s
    assert alerts["TuningDrift"]["duration"] == 10
