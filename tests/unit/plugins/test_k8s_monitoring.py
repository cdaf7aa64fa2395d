"""Filters of the k8s_monitoring role: kube-prometheus-stack's values from the host
monitoring's sources (rule files, severity routes, dashboards), and their refusals."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.tradeops.platform.plugins.filter.k8s_monitoring import (
    FilterModule,
    k8s_monitoring_alertmanager,
    k8s_monitoring_redact,
    k8s_monitoring_values,
)
from ansible_collections.tradeops.platform.plugins.filter.monitoring import (
    monitoring_grafana_dashboard,
    monitoring_severity_route,
)

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "roles/monitoring_assets/files/rules"
DASHBOARDS = ROOT / "roles/monitoring_assets/files/dashboards"
DEFAULTS = yaml.safe_load((ROOT / "roles/k8s_monitoring/defaults/main.yml").read_text())
SECRET = "pd-routing-key-never-shown-0000"


def spec() -> dict:
    """The role's spec (vars/main.yml) from its defaults and the repository's sources."""
    return {
        "namespace": DEFAULTS["k8s_monitoring_namespace"],
        "labels": {"tradeops.io/environment": "lab"},
        "rules": {p.name: p.read_text() for p in sorted(RULES.glob("*.yml"))},
        "alert_overrides": {},
        "dashboards": {
            p.stem: yaml.safe_load(p.read_text()) for p in sorted(DASHBOARDS.glob("*.yml"))
        },
        "dashboards_folder": DEFAULTS["k8s_monitoring_dashboards_folder"],
        "grafana_datasource_uid": DEFAULTS["k8s_monitoring_grafana_datasource_uid"],
        "grafana_admin_secret": DEFAULTS["k8s_monitoring_grafana_admin_secret"],
        "retention_time": DEFAULTS["k8s_monitoring_retention_time"],
        "retention_size": DEFAULTS["k8s_monitoring_retention_size"],
        "alertmanager_retention": DEFAULTS["k8s_monitoring_alertmanager_retention"],
        "external_labels": {"environment": "lab", "cluster": "tradeops-lab"},
        "storage": copy.deepcopy(DEFAULTS["k8s_monitoring_storage"]),
        "resources": copy.deepcopy(DEFAULTS["k8s_monitoring_resources"]),
    }


def am_spec() -> dict:
    return {
        "receivers": [
            {"name": "critical", "pagerduty_configs": [{"routing_key": SECRET}]},
            {"name": "warning"},
            {"name": "info"},
        ],
        "severity_routes": copy.deepcopy(DEFAULTS["k8s_monitoring_alertmanager_severity_routes"]),
        "default_receiver": "warning",
        "group_by": DEFAULTS["k8s_monitoring_alertmanager_group_by"],
        "inhibit_rules": DEFAULTS["k8s_monitoring_alertmanager_inhibit_rules"],
        "resolve_timeout": "5m",
        "watchdog_receiver": "",
    }


def refused(function, value) -> str:
    with pytest.raises(AnsibleFilterError) as info:
        function(value)
    return str(info.value)


def test_every_rule_group_of_every_rule_file_goes_in_unchanged():
    out = k8s_monitoring_values(spec())
    rules_map = out["values"]["additionalPrometheusRulesMap"]
    files = sorted(RULES.glob("*.yml"))
    assert files, "no rule files in roles/monitoring_assets/files/rules"
    assert sorted(rules_map) == sorted("tradeops-" + p.stem.replace("_", "-") for p in files)
    for path in files:
        source = yaml.safe_load(path.read_text())["groups"]
        assert rules_map["tradeops-" + path.stem.replace("_", "-")]["groups"] == source, path.name
    assert [rule["file"] for rule in out["rules"]] == [p.name for p in files]


def test_values_carry_retention_resources_storage_and_the_dashboards_sidecar():
    values = k8s_monitoring_values(spec())["values"]
    prometheus = values["prometheus"]["prometheusSpec"]
    assert prometheus["retention"] == "30d"
    assert prometheus["retentionSize"] == "170GB"
    assert prometheus["resources"] == {
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"memory": "8Gi"},
    }
    claim = prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert claim["resources"]["requests"]["storage"] == "200Gi"
    assert values["alertmanager"]["alertmanagerSpec"]["retention"] == "120h"
    assert values["alertmanager"]["alertmanagerSpec"]["resources"]["limits"]["memory"] == "256Mi"
    for path in (
        ("grafana",),
        ("prometheusOperator",),
        ("kube-state-metrics",),
        ("prometheus-node-exporter",),
    ):
        node = values
        for key in path:
            node = node[key]
        assert set(node["resources"]) == {"requests", "limits"}, path
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"]) == ("grafana_dashboard", "1")
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in values["grafana"]
    assert "config" not in values["alertmanager"]  # the secrets live in the other file


def test_values_yaml_reads_back_as_the_values():
    out = k8s_monitoring_values(spec())
    assert yaml.safe_load(out["values_yaml"]) == out["values"]
    assert k8s_monitoring_values(spec())["values_yaml"] == out["values_yaml"]  # deterministic


def test_dashboards_are_configmaps_holding_the_host_sides_json():
    manifests = k8s_monitoring_values(spec())["manifests"]
    assert manifests[0]["manifest"]["kind"] == "Namespace"
    assert manifests[0]["file"] == "01-namespace-monitoring.yaml"
    maps = [m["manifest"] for m in manifests[1:]]
    assert len(maps) == len(list(DASHBOARDS.glob("*.yml")))
    for path, configmap in zip(sorted(DASHBOARDS.glob("*.yml")), maps, strict=True):
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert configmap["metadata"]["namespace"] == "monitoring"
        model = monitoring_grafana_dashboard(yaml.safe_load(path.read_text()), "prometheus")
        assert json.loads(configmap["data"][f"{path.stem}.json"]) == model
    for item in manifests:
        kubernetes_validate.validate(item["manifest"], "1.35.0", strict=True)


def test_alert_overrides_apply_and_must_name_real_alerts():
    given = spec()
    given["alert_overrides"] = {"TuningDrift": {"for": "10s"}}
    rules_map = k8s_monitoring_values(given)["values"]["additionalPrometheusRulesMap"]
    drift = [
        rule
        for body in rules_map.values()
        for group in body["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "TuningDrift"
    ]
    assert [rule["for"] for rule in drift] == ["10s"]
    given["alert_overrides"] = {"NoSuchAlert": {"for": "1m"}}
    assert (
        "k8s_monitoring_alert_overrides: name alerts no rule file defines: NoSuchAlert"
        in refused(k8s_monitoring_values, given)
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["resources"].pop("grafana"), "k8s_monitoring_resources: components are"),
        (lambda s: s["resources"]["prometheus"]["limits"].pop("memory"),
         "k8s_monitoring_resources.prometheus.limits.memory: required"),
        (lambda s: s["resources"]["alertmanager"]["requests"].update(cpu="2"),
         "k8s_monitoring_resources.alertmanager.requests.cpu: 2 is more than its limit 500m"),
        (lambda s: s["resources"]["grafana"]["requests"].update(memory="lots"),
         "k8s_monitoring_resources.grafana.requests.memory: 'lots' is not a quantity"),
        (lambda s: s["storage"].update(prometheus="100Gi"),
         "k8s_monitoring_retention_size: 170GB leaves too little of the 100Gi volume"),
        (lambda s: s.update(retention_size="170G"),
         "k8s_monitoring_retention_size: '170G' is not a size"),
        (lambda s: s.update(retention_time="30 days"), "k8s_monitoring_retention_time"),
        (lambda s: s.update(alertmanager_retention="5d"), "k8s_monitoring_alertmanager_retention"),
        (lambda s: s["external_labels"].update(prometheus="x"),
         "k8s_monitoring_external_labels: prometheus: the Prometheus operator sets these itself"),
        (lambda s: s["rules"].update({"broken.yml": "groups: {}"}),
         "k8s_monitoring_rules_dir: broken.yml is not a Prometheus rule file"),
        (lambda s: s["rules"].update({"bad.yml": "groups: [\n"}),
         "k8s_monitoring_rules_dir: bad.yml is not YAML"),
        (lambda s: s.update(rules={}), "k8s_monitoring_rules_dir: holds no rule files"),
        (lambda s: s["dashboards"].update(copy_of_fleet=dict(s["dashboards"]["fleet_tuning"])),
         "share the uid tradeops-fleet-tuning"),
        (lambda s: s.update(namespace="Monitoring"), "k8s_monitoring_namespace: 'Monitoring'"),
        (lambda s: s.update(grafana_admin_secret=""), "k8s_monitoring_grafana_admin_secret"),
    ],
    ids=[
        "component-missing", "no-memory-limit", "request-over-limit", "bad-quantity",
        "retention-size-over-volume", "retention-size-unit", "retention-time", "am-retention",
        "operator-label", "not-a-rule-file", "not-yaml", "no-rules", "duplicate-uid",
        "namespace", "admin-secret",
    ],
)  # fmt: skip
def test_a_spec_that_cannot_give_a_working_release_is_refused_naming_the_field(change, message):
    given = spec()
    change(given)
    assert message in refused(k8s_monitoring_values, given)


def test_retention_size_may_take_85_percent_of_the_volume_and_no_more():
    given = spec()
    given["storage"]["prometheus"] = "100Gi"
    given["retention_size"] = "85GB"
    assert (
        k8s_monitoring_values(given)["values"]["prometheus"]["prometheusSpec"]["retentionSize"]
        == "85GB"
    )
    given["retention_size"] = "86GB"
    assert "at most 85% of it, 85GB" in refused(k8s_monitoring_values, given)
    given["retention_size"] = ""
    assert (
        "retentionSize"
        not in k8s_monitoring_values(given)["values"]["prometheus"]["prometheusSpec"]
    )


def test_an_empty_storage_class_uses_the_clusters_default():
    given = spec()
    given["storage"]["storage_class"] = ""
    values = k8s_monitoring_values(given)["values"]
    claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert "storageClassName" not in claim
    assert "storageClassName" not in values["grafana"]["persistence"]


def test_routes_are_the_host_sides_with_the_charts_plumbing_dropped_first():
    out = k8s_monitoring_alertmanager(am_spec())
    route = out["config"]["route"]
    assert route["receiver"] == "warning"
    assert route["routes"][0] == {
        "receiver": "null",
        "matchers": ['alertname=~"Watchdog|InfoInhibitor"'],
        "continue": False,
    }
    expected = [
        monitoring_severity_route({"key": severity, "value": value})
        for severity, value in DEFAULTS["k8s_monitoring_alertmanager_severity_routes"].items()
    ]
    assert route["routes"][1:] == expected
    assert [r["name"] for r in out["config"]["receivers"]] == [
        "critical",
        "warning",
        "info",
        "null",
    ]
    assert yaml.safe_load(out["values_yaml"]) == {"alertmanager": {"config": out["config"]}}
    assert yaml.safe_load(out["config_yaml"]) == out["config"]


def test_the_public_part_holds_no_secret():
    out = k8s_monitoring_alertmanager(am_spec())
    assert SECRET in out["values_yaml"]
    assert SECRET not in json.dumps(out["public"])
    assert out["public"]["silent_receivers"] == ["warning", "info"]
    assert out["public"]["routes"] == {"critical": "critical", "warning": "warning", "info": "info"}
    assert out["public"]["summary"] == "routes critical->critical, warning->warning, info->info"


def test_a_named_watchdog_receiver_gets_the_plumbing():
    given = am_spec()
    given["receivers"].append(
        {"name": "deadman", "webhook_configs": [{"url": "https://example.invalid/"}]}
    )
    given["watchdog_receiver"] = "deadman"
    config = k8s_monitoring_alertmanager(given)["config"]
    assert config["route"]["routes"][0]["receiver"] == "deadman"
    assert "null" not in [r["name"] for r in config["receivers"]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["severity_routes"]["critical"].update(receiver="pager"),
         "k8s_monitoring_alertmanager_severity_routes.critical.receiver: pager is not in "
         "k8s_monitoring_alertmanager_receivers (defined: critical, warning, info)"),
        (lambda s: s.update(default_receiver="nobody"),
         "k8s_monitoring_alertmanager_default_receiver: 'nobody' is not in"),
        (lambda s: s.update(watchdog_receiver="deadman"),
         "k8s_monitoring_alertmanager_watchdog_receiver: deadman is not in"),
        (lambda s: s["receivers"][0].update(pagerduty_config=[{"routing_key": SECRET}]),
         "k8s_monitoring_alertmanager_receivers[0] (critical): unknown key pagerduty_config"),
        (lambda s: s["receivers"][1].update(slack_configs={"api_url": SECRET}),
         "k8s_monitoring_alertmanager_receivers[1] (warning).slack_configs: a non-empty list"),
        (lambda s: s["receivers"].append({"name": "info"}), "the name info is used twice"),
        (lambda s: s["receivers"].append({"email_configs": [{"to": SECRET}]}),
         "k8s_monitoring_alertmanager_receivers[3]: a receiver needs a name"),
        (lambda s: s["severity_routes"]["info"].update(wait="1m"),
         "k8s_monitoring_alertmanager_severity_routes.info: monitoring_severity_route"),
        (lambda s: s.update(resolve_timeout="soon"), "k8s_monitoring_alertmanager_resolve_timeout"),
    ],
    ids=["undefined-route-receiver", "default", "watchdog", "unknown-integration", "not-a-list",
         "duplicate", "no-name", "route-key", "resolve-timeout"],
)  # fmt: skip
def test_a_bad_receiver_or_route_is_refused_naming_it_and_never_its_secret(change, message):
    given = am_spec()
    change(given)
    text = refused(k8s_monitoring_alertmanager, given)
    assert message in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        # amtool 0.25's own words (Debian bookworm), for a webhook URL with a blank in it.
        ("Checking '/dev/stdin'  FAILED: parse \"https://hooks.example.invalid/T0/B0 s3cret\": "
         "invalid character \" \" in host name\n\namtool: error: failed to validate 1 file(s)\n",
         "Checking '/dev/stdin' FAILED: parse \"<hidden>\": invalid character \" \" in host name "
         "amtool: error: failed to validate 1 file(s)"),
        ("FAILED: undefined receiver \"pager\" used in route",
         "FAILED: undefined receiver \"pager\" used in route"),
        ("bad url https://hooks.slack.com/services/T0/B0/s3cret here", "bad url <url> here"),
        (None, ""),
    ],
    ids=["go-url-error", "receiver-name-kept", "bare-url", "nothing"],
)  # fmt: skip
def test_redact_masks_settings_amtool_quotes(output, shown):
    assert k8s_monitoring_redact(output) == shown
    assert "s3cret" not in k8s_monitoring_redact(output)


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "k8s_monitoring_values",
        "k8s_monitoring_alertmanager",
        "k8s_monitoring_redact",
    }
