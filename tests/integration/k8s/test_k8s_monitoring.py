"""The k8s_monitoring role as an operator runs it (playbooks/k8s/site.yml), on the controller.

No Kubernetes API server runs here and the chart cannot be downloaded: the values, the
Alertmanager configuration and the dashboard manifests are rendered and validated in full
(promtool, amtool and the Kubernetes schemas, as the role itself does, and again here); of
the apply path, what happens before anything is sent (the cluster unreachable, of another
version, or no helm) is tested against a /version endpoint on 127.0.0.1. The chart's own
templates are not rendered and nothing is installed (docs/monitoring.md, "On EKS").
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from ..support import ROOT, _free_port, ansible_env, tradeops
from .test_k8s_workloads import VersionOnly, kubeconfig

RULES = ROOT / "roles" / "monitoring_assets" / "files" / "rules"
DASHBOARDS = ROOT / "roles" / "monitoring_assets" / "files" / "dashboards"
# A receiver's credential, read at run time as a vault or Secrets Manager lookup would be:
# the command line (and so the run's artifacts) holds only the lookup, never the value.
SECRET = "pd-routing-key-tradeops-test-7f3a"
RECEIVERS = [
    {
        "name": "critical",
        "pagerduty_configs": [
            {"routing_key": "{{ lookup('ansible.builtin.file', tradeops_test_secret) }}"}
        ],
    },
    {"name": "warning", "webhook_configs": [{"url": "http://127.0.0.1:9/alerts"}]},
    {"name": "info"},
]


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.render = root / "monitoring"
        self.secret = root / "secret"
        self.secret.write_text(SECRET)
        self.receivers = root / "receivers.json"
        self.receivers.write_text(
            json.dumps(
                {
                    "k8s_monitoring_alertmanager_receivers": RECEIVERS,
                    "tradeops_test_secret": str(self.secret),
                    # As the lab's hosts have it: the overridden file goes to promtool on stdin.
                    "k8s_monitoring_alert_overrides": {"TuningDrift": {"for": "10s"}},
                }
            )
        )

    def run(self, *args: str, ok: bool = True, render: Path | None = None):
        report = self.root / "report.json"
        proc = tradeops(
            "run", "k8s/site", "-i", "inventories/lab/hosts.yml", "--tags", "k8s_monitoring",
            "--report", str(report),
            "-e", f"@{self.receivers}",
            "-e", f"k8s_monitoring_render_dir={render or self.render}",
            *args,
            env=ansible_env(),
        )  # fmt: skip
        assert (proc.returncode == 0) == ok, proc.stdout[-4000:] + proc.stderr[-2000:]
        return json.loads(report.read_text()), proc

    def override(self, name: str, data: dict) -> str:
        path = self.root / f"{name}.json"
        path.write_text(json.dumps(data))
        return f"@{path}"


def changed(report: dict) -> int:
    return report["hosts"]["localhost"]["changed"]


def artifacts(proc) -> Path:
    return Path(re.search(r"artifacts: (\S+)", proc.stdout + proc.stderr).group(1))


def leaks(proc) -> list[str]:
    """The files of the run's artifacts (events, stdout, ...) that hold the secret."""
    return [
        str(path)
        for path in artifacts(proc).rglob("*")
        if path.is_file() and SECRET in path.read_text(errors="replace")
    ]


def tool(*argv: str) -> subprocess.CompletedProcess[str]:
    # Not a skip: `./dev setup` installs both (lab/debian-packages.txt).
    assert shutil.which(argv[0]), f"{argv[0]} missing: ./dev setup installs it"
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def converged(tmp_path_factory):
    """One workspace rendered once: the tests below read it, and re-run the role on it."""
    workspace = Workspace(tmp_path_factory.mktemp("k8s-monitoring"))
    report, proc = workspace.run()
    return workspace, report, proc


def test_values_carry_every_rule_group_and_pass_promtool(converged, tmp_path):
    workspace, report, _proc = converged
    assert changed(report) == 4  # the directory, the two values files, the manifests
    values = yaml.safe_load((workspace.render / "values.yaml").read_text())
    rules_map = values["additionalPrometheusRulesMap"]
    sources = sorted(RULES.glob("*.yml"))
    assert sources
    assert sorted(rules_map) == sorted("tradeops-" + p.stem.replace("_", "-") for p in sources)
    for path in sources:
        groups = rules_map["tradeops-" + path.stem.replace("_", "-")]["groups"]
        expected = yaml.safe_load(path.read_text())["groups"]
        for rule in (r for group in expected for r in group["rules"]):
            if rule.get("alert") == "TuningDrift":
                rule["for"] = "10s"
        assert groups == expected, path.name
        # The rendered part, as the operator will hand it to Prometheus, checks clean.
        rendered = tmp_path / path.name
        rendered.write_text(yaml.safe_dump({"groups": groups}))
        proc = tool("promtool", "check", "rules", str(rendered))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    prometheus = values["prometheus"]["prometheusSpec"]
    assert prometheus["retention"] == "30d"
    assert prometheus["externalLabels"] == {"environment": "lab", "cluster": "tradeops-lab"}
    assert prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"] == {
        "requests": {"storage": "200Gi"}
    }
    for component in (
        "prometheusOperator",
        "kube-state-metrics",
        "prometheus-node-exporter",
        "grafana",
    ):
        assert values[component]["resources"]["requests"]["memory"], component
        assert values[component]["resources"]["limits"]["memory"], component
    summary = report["summary"]["k8s monitoring"]
    assert summary.startswith("kube-prometheus-stack 67.8.0: ")
    assert f"{len(sources)} rule files" in summary
    assert "not applied: no kubeconfig" in summary


def test_alertmanager_config_passes_amtool_and_its_secret_stays_in_its_file(converged, tmp_path):
    workspace, report, proc = converged
    secret_file = workspace.render / "alertmanager-values.yaml"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    config = yaml.safe_load(secret_file.read_text())["alertmanager"]["config"]
    assert config["receivers"][0]["pagerduty_configs"][0]["routing_key"] == SECRET
    routes = {tuple(r["matchers"]): r["receiver"] for r in config["route"]["routes"]}
    assert routes == {
        ('alertname=~"Watchdog|InfoInhibitor"',): "null",
        ('severity="critical"',): "critical",
        ('severity="warning"',): "warning",
        ('severity="info"',): "info",
    }
    extracted = tmp_path / "alertmanager.yml"
    extracted.write_text(yaml.safe_dump(config))
    checked = tool("amtool", "check-config", str(extracted))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Nowhere else: not the public values, the run's output, its report or its artifacts.
    assert SECRET not in (workspace.render / "values.yaml").read_text()
    assert SECRET not in proc.stdout + proc.stderr
    assert SECRET not in json.dumps(report)
    assert leaks(proc) == []


def test_second_run_changes_nothing_and_check_diff_changes_nothing(converged):
    workspace, _report, _proc = converged
    assert changed(workspace.run()[0]) == 0
    values = workspace.render / "values.yaml"
    secret_file = workspace.render / "alertmanager-values.yaml"
    stale = workspace.render / "manifests" / "99-configmap-retired.yaml"
    values.write_text(values.read_text() + "# edited by hand\n")
    secret_file.write_text(secret_file.read_text() + "# edited by hand\n")
    stale.write_text("kind: ConfigMap\n")
    report, proc = workspace.run("--check", "--diff")
    assert report["check"] is True
    assert changed(report) == 3  # exactly the three edits, and nothing is written
    assert values.read_text().endswith("# edited by hand\n") and stale.exists()
    shown = (artifacts(proc) / "stdout").read_text()  # the play's own output, with diffs
    assert "-# edited by hand" in shown  # the public values' diff is shown ...
    assert leaks(proc) == []  # ... the secret one's is not
    assert changed(workspace.run()[0]) == 3
    assert not values.read_text().endswith("# edited by hand\n") and not stale.exists()


@pytest.mark.parametrize(
    ("override", "task", "message"),
    [
        ("broken-rule", "Preflight | every rule file passes promtool",
         'rules/zz_broken.yml: 5:15: group "broken", rule 1, "Broken": could not parse expression'),
        ({"k8s_monitoring_alertmanager_severity_routes": {"critical": {"receiver": "pager"}}},
         "Preflight | build the Helm values, the dashboard manifests and the routes by severity",
         "k8s_monitoring_alertmanager_severity_routes.critical.receiver: pager is not in "
         "k8s_monitoring_alertmanager_receivers"),
        ({"k8s_monitoring_alertmanager_receivers": [
            {"name": "critical", "webhook_configs": [{"url": "http://127.0.0. 1/" + SECRET}]},
            {"name": "warning"}, {"name": "info"}]},
         "Preflight | the Alertmanager configuration passes amtool",
         'parse "<hidden>": invalid character " " in host name'),
        ({"k8s_monitoring_resources": {"prometheus": {"requests": {"cpu": "1", "memory": "4Gi"}}}},
         "Preflight | build the Helm values, the dashboard manifests and the routes by severity",
         "k8s_monitoring_resources: components are"),
        ({"k8s_monitoring_retention_size": "190GB"},
         "Preflight | build the Helm values, the dashboard manifests and the routes by severity",
         "k8s_monitoring_retention_size: 190GB leaves too little of the 200Gi volume"),
        ({"k8s_monitoring_chart": {"name": "kube-prometheus-stack", "version": ">=67",
                                   "repo_url": "https://prometheus-community.github.io/helm-charts"}},
         "Preflight | versions, names and paths",
         "k8s_monitoring_chart.version must pin one chart version"),
    ],
    ids=["broken-rule", "undefined-receiver", "bad-receiver-setting", "resources", "retention-size",
         "chart-range"],
)  # fmt: skip
def test_bad_input_fails_in_preflight_naming_it_with_nothing_written(
    tmp_path, override, task, message
):
    workspace = Workspace(tmp_path)
    if override == "broken-rule":
        rules = tmp_path / "rules"
        shutil.copytree(RULES, rules)
        (rules / "zz_broken.yml").write_text(
            "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: up ==\n"
        )
        override = {"k8s_monitoring_rules_dir": str(rules)}
    report, proc = workspace.run("-e", workspace.override("override", override), ok=False)
    failure = report["failures"][0]
    assert failure["task"] == task, failure
    assert message in failure["message"], failure["message"]
    assert SECRET not in proc.stdout + proc.stderr + json.dumps(report)
    assert not workspace.render.exists()


def test_an_unreachable_cluster_fails_before_anything_is_sent(converged):
    workspace, _report, _proc = converged
    config = kubeconfig(workspace.root / "kubeconfig-unreachable", _free_port())  # nothing listens
    report, _ = workspace.run("-e", f"k8s_monitoring_kubeconfig={config}", ok=False)
    failure = report["failures"][0]
    assert failure["task"] == "Apply | reach the cluster and read its version"
    assert "Connection refused" in failure["message"]


class Recording(VersionOnly):
    """VersionOnly, remembering every method it was asked: only reads may arrive."""

    methods: ClassVar[list[str]] = []

    def do_GET(self):
        self.methods.append("GET")
        super().do_GET()

    def do_POST(self):
        self.methods.append("POST")
        self.send_response(500)
        self.end_headers()

    do_PATCH = do_PUT = do_DELETE = do_POST


@pytest.mark.parametrize(
    ("version", "task", "message"),
    [
        ("1.34", "Apply | the cluster runs the version the manifests were validated for",
         "runs Kubernetes v1.34.2, the manifests were validated for 1.35"),
        ("1.35", "Apply | helm runs",
         "install Helm 3 on the controller or set k8s_monitoring_helm_binary"),
    ],
    ids=["other-version", "no-helm"],
)  # fmt: skip
def test_the_guards_refuse_before_anything_is_sent(converged, version, task, message):
    workspace, _report, _proc = converged
    handler = type("Handler", (Recording,), {"version": version, "methods": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = kubeconfig(workspace.root / f"kubeconfig-{version}", server.server_address[1])
        report, _ = workspace.run(
            "-e", f"k8s_monitoring_kubeconfig={config}",
            "-e", f"k8s_monitoring_helm_binary={workspace.root / 'no-such-helm'}",
            ok=False,
        )  # fmt: skip
    finally:
        server.shutdown()
    failure = report["failures"][0]
    assert failure["task"] == task, failure["message"]
    assert message in failure["message"]
    assert handler.methods and set(handler.methods) == {"GET"}
