"""alertmanager's effect on the monitoring host: the service, its configuration routing
by severity (checked by amtool), and the running Alertmanager serving that routing."""

import json
import re

import pytest
import yaml

testinfra_hosts = ["podman://molecule-alertmanager"]

CONFIG = "/etc/prometheus/alertmanager.yml"
ROUTES = {
    "critical": {"group_wait": "10s", "group_interval": "1m", "repeat_interval": "1h"},
    "warning": {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"},
    "info": {"group_wait": "5m", "group_interval": "30m", "repeat_interval": "24h"},
}


@pytest.fixture(scope="module")
def config(host) -> dict:
    return yaml.safe_load(host.file(CONFIG).content_string)


def test_alertmanager_is_installed_running_and_enabled(host):
    assert host.package("prometheus-alertmanager").is_installed
    service = host.service("prometheus-alertmanager")
    assert service.is_running
    assert service.is_enabled
    assert host.socket("tcp://0.0.0.0:9093").is_listening


def test_the_flags_name_the_configuration_and_turn_gossip_off(host):
    flags = host.file("/etc/default/prometheus-alertmanager")
    assert flags.mode == 0o644
    args = re.search(r'^ARGS="(.*)"$', flags.content_string, re.M).group(1).split()
    assert f"--config.file={CONFIG}" in args
    assert "--web.listen-address=0.0.0.0:9093" in args
    assert "--cluster.listen-address=" in args


def test_the_configuration_is_readable_by_prometheus_only_and_valid(host):
    config = host.file(CONFIG)
    assert config.user == "root"
    assert config.group == "prometheus"
    assert config.mode == 0o640
    host.run_expect([0], f"amtool check-config {CONFIG}")


def test_the_configuration_routes_every_severity_to_its_receiver(config):
    route = config["route"]
    assert route["receiver"] == "warning"
    assert route["group_by"] == ["alertname", "environment", "instance"]
    routes = {r["receiver"]: r for r in route["routes"]}
    assert set(routes) == set(ROUTES)
    for severity, timing in ROUTES.items():
        assert routes[severity]["matchers"] == [f'severity="{severity}"']
        for key, value in timing.items():
            assert routes[severity][key] == value, (severity, key)
    assert {r["name"] for r in config["receivers"]} == {"critical", "warning", "info"}
    assert config["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("severity=critical", "critical"),
        ("severity=warning", "warning"),
        ("severity=info", "info"),
        ("severity=other", "warning"),
    ],
)
def test_amtool_routes_an_alert_by_its_severity(host, labels, receiver):
    out = host.check_output(
        f"amtool config routes test --config.file={CONFIG} alertname=X {labels}"
    )
    assert out.strip() == receiver


def test_the_running_alertmanager_serves_that_configuration(host):
    status = json.loads(host.check_output("curl -fsS http://127.0.0.1:9093/api/v2/status"))
    running = yaml.safe_load(status["config"]["original"])
    assert {r["receiver"] for r in running["route"]["routes"]} == set(ROUTES)
    assert status["cluster"]["status"] == "disabled"
