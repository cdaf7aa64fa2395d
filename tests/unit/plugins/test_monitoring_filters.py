"""Filters of the monitoring roles: scrape targets from an inventory, rule overrides,
Grafana dashboards from their specs, Alertmanager severity routes, target health."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.monitoring import (
    FilterModule,
    monitoring_alert_names,
    monitoring_grafana_dashboard,
    monitoring_rules_override,
    monitoring_scrape_configs,
    monitoring_scrape_targets,
    monitoring_severity_route,
    monitoring_targets_summary,
)

ROOT = Path(__file__).resolve().parents[3]
JOBS = yaml.safe_load((ROOT / "roles/prometheus/defaults/main.yml").read_text())[
    "prometheus_scrape_jobs"
]
RULES = ROOT / "roles/monitoring_assets/files/rules"
DASHBOARDS = ROOT / "roles/monitoring_assets/files/dashboards"

# The lab's shape: cloud engines carry moto's 10.x private address in their hostvars,
# which must never become a target; the facts' address (the container's) must.
HOSTVARS = {
    "engine-c5n-1": {
        "ansible_host": "tradeops-engine-c5n-1",
        "private_ip_address": "10.0.1.5",
        "ansible_facts": {"default_ipv4": {"address": "198.18.0.11"}},
        "engine_deploy_version": "2.0.0",
        "engine_deploy_http_bind": "0.0.0.0",
    },
    "engine-bm-1": {
        "ansible_host": "tradeops-engine-bm-1",
        "ansible_facts": {"default_ipv4": {"address": "198.18.0.21"}},
        "engine_deploy_version": "2.0.0",
        "engine_deploy_http_bind": "127.0.0.1",
        "engine_deploy_http_port": 8181,
        "node_exporter_port": 9200,
    },
    "mon-1": {
        "ansible_host": "tradeops-mon-1",
        "ansible_facts": {"default_ipv4": {"address": "198.18.0.31"}},
        "monitoring_postgres_exporter_port": 9187,
    },
    "db-1": {"monitoring_address": "198.18.0.41", "monitoring_postgres_exporter_port": 9187},
}
GROUPS = {
    "all": ["engine-c5n-1", "engine-bm-1", "mon-1", "db-1"],
    "engines": ["engine-c5n-1", "engine-bm-1"],
    "monitoring": ["mon-1"],
    "databases": ["db-1"],
}


def by_job(targets):
    out = {}
    for t in targets:
        out.setdefault(t["job"], {})[t["host"]] = t
    return out


def test_targets_come_from_the_inventory_groups_and_addresses():
    targets = by_job(monitoring_scrape_targets(JOBS, HOSTVARS, GROUPS))
    assert set(targets) == {"node", "engine", "prometheus", "alertmanager", "postgres"}
    # every platform host's node_exporter, the self-managed databases' included
    assert set(targets["node"]) == {"engine-c5n-1", "engine-bm-1", "mon-1", "db-1"}
    assert targets["node"]["engine-c5n-1"]["address"] == "198.18.0.11"
    assert targets["node"]["engine-bm-1"]["port"] == 9200  # the host's own port
    assert targets["node"]["mon-1"]["port"] == 9100
    assert set(targets["engine"]) == {"engine-c5n-1", "engine-bm-1"}
    assert targets["engine"]["engine-bm-1"]["port"] == 8181
    assert targets["engine"]["engine-bm-1"]["loopback_bind"] is True
    assert targets["engine"]["engine-c5n-1"]["loopback_bind"] is False
    # exporters only where the host declares them; an explicit address wins
    assert set(targets["postgres"]) == {"mon-1", "db-1"}
    assert targets["postgres"]["db-1"]["address"] == "198.18.0.41"
    every_address = {t["address"] for t in monitoring_scrape_targets(JOBS, HOSTVARS, GROUPS)}
    assert not any(a.startswith("10.") for a in every_address)


def test_a_concrete_bind_address_is_the_target_address():
    hostvars = {"e": {"engine_deploy_version": "1", "engine_deploy_http_bind": "198.18.0.99"}}
    [target] = monitoring_scrape_targets([JOBS[1]], hostvars, {"engines": ["e"]})
    assert (target["address"], target["port"]) == ("198.18.0.99", 8080)


def test_address_falls_back_to_ansible_host_then_the_name():
    jobs = [{"job": "node", "groups": ["all"], "port": 9100}]
    targets = monitoring_scrape_targets(
        jobs, {"a": {"ansible_host": "a.lab"}, "b": {}}, {"all": ["a", "b"]}
    )
    assert [t["address"] for t in targets] == ["a.lab", "b"]


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ("node", "must be a list"),
        ([{"groups": ["all"]}], "without a name"),
        ([{"job": "x", "groups": ["all"]}], "has no port"),
        ([{"job": "x", "groups": ["all"], "port": "http"}], "is not a number"),
    ],
)
def test_bad_job_specs_are_refused(jobs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        monitoring_scrape_targets(jobs, {"a": {}}, {"all": ["a"]})


def test_scrape_configs_label_instances_by_inventory_name_and_keep_relabelling():
    targets = monitoring_scrape_targets(JOBS, HOSTVARS, GROUPS)
    configs = {c["job_name"]: c for c in monitoring_scrape_configs(targets, JOBS, {"env": "lab"})}
    assert "redis" not in configs  # no targets, no job
    node = configs["node"]
    by_instance = {c["labels"]["instance"]: c for c in node["static_configs"]}
    assert by_instance["engine-bm-1"] == {
        "targets": ["198.18.0.21:9200"],
        "labels": {"env": "lab", "instance": "engine-bm-1"},
    }
    assert node["metric_relabel_configs"][0]["target_label"] == "backup_job"
    engine = configs["engine"]
    assert engine["metric_relabel_configs"][0]["replacement"] == "engine_up"
    assert engine["metrics_path"] == "/metrics"


def test_ipv6_targets_are_bracketed():
    hostvars = {"a": {"monitoring_address": "2001:db8::1"}}
    jobs = [{"job": "node", "groups": ["all"], "port": 9100}]
    targets = monitoring_scrape_targets(jobs, hostvars, {"all": ["a"]})
    config = monitoring_scrape_configs(targets, jobs)[0]
    assert config["static_configs"][0]["targets"] == ["[2001:db8::1]:9100"]


def test_rule_overrides_change_only_the_named_alert():
    source = (RULES / "tuning.yml").read_text()
    assert monitoring_rules_override(source, {}) == source
    assert monitoring_rules_override(source, {"EngineDown": {"for": "1s"}}) == source
    out = yaml.safe_load(
        monitoring_rules_override(
            source, {"TuningDrift": {"for": "10s", "labels": {"team": "latency"}}}
        )
    )
    rules = {r["alert"]: r for r in out["groups"][0]["rules"]}
    assert rules["TuningDrift"]["for"] == "10s"
    assert rules["TuningDrift"]["labels"] == {
        "severity": "warning",
        "area": "tuning",
        "team": "latency",
    }
    assert rules["TuningRebootPending"]["for"] == "10m"


def test_rule_overrides_refuse_unknown_keys_and_non_rule_files():
    with pytest.raises(AnsibleFilterError, match="may set only"):
        monitoring_rules_override((RULES / "tuning.yml").read_text(), {"TuningDrift": {"x": 1}})
    with pytest.raises(AnsibleFilterError, match="not a Prometheus rule file"):
        monitoring_rules_override("a: 1", {})


def test_alert_names_of_every_rule_file():
    names = monitoring_alert_names([p.read_text() for p in sorted(RULES.glob("*.yml"))])
    assert {"EngineTickToTradeP99High", "TuningDrift", "ClockOffsetBeyondRTS25"} <= set(names)
    assert names == sorted(set(names))


@pytest.mark.parametrize("path", sorted(DASHBOARDS.glob("*.yml")), ids=lambda p: p.stem)
def test_dashboards_render_on_the_grid_with_one_datasource(path):
    board = monitoring_grafana_dashboard(yaml.safe_load(path.read_text()), "prom")
    assert board["uid"].startswith("tradeops-")
    seen = set()
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & seen, f"{panel['title']} overlaps another panel"
        seen |= cells
        assert panel["datasource"] == {"type": "prometheus", "uid": "prom"}
        assert [t["refId"] for t in panel["targets"]] == [
            chr(65 + i) for i in range(len(panel["targets"]))
        ]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_dashboard_spec_errors():
    with pytest.raises(AnsibleFilterError, match="needs uid"):
        monitoring_grafana_dashboard({"title": "x", "panels": [{}]})
    with pytest.raises(AnsibleFilterError, match="has no targets"):
        monitoring_grafana_dashboard({"uid": "u", "title": "t", "panels": [{"title": "p"}]})


def test_severity_routes():
    route = monitoring_severity_route(
        {"key": "critical", "value": {"receiver": "pager", "repeat_interval": "1h"}}
    )
    assert route == {
        "receiver": "pager",
        "matchers": ['severity="critical"'],
        "repeat_interval": "1h",
        "continue": False,
    }
    with pytest.raises(AnsibleFilterError, match="needs a receiver"):
        monitoring_severity_route({"key": "info", "value": {}})
    with pytest.raises(AnsibleFilterError, match="unknown keys"):
        monitoring_severity_route({"key": "info", "value": {"receiver": "r", "wait": "1s"}})


def test_target_health_summary():
    answer = {
        "status": "success",
        "data": {
            "activeTargets": [
                {"labels": {"job": "node", "instance": "a"}, "health": "up"},
                {"labels": {"job": "node", "instance": "b"}, "health": "down"},
                {"labels": {"job": "engine", "instance": "a"}, "health": "unknown"},
            ]
        },
    }
    summary = monitoring_targets_summary(answer)
    assert summary["up"] == 1 and summary["total"] == 3
    assert summary["line"] == "targets up 1/3; not up: engine/a, node/b"
    assert monitoring_targets_summary({"data": {"activeTargets": []}})["line"] == "targets up 0/0"


def test_every_filter_has_its_documentation():
    for name in FilterModule().filters():
        doc = yaml.safe_load((ROOT / "plugins/filter" / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name
