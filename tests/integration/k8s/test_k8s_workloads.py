"""The k8s_workloads role as an operator runs it (playbooks/k8s/site.yml), on the controller.

No Kubernetes API server runs here. The render, its validation, idempotence, check mode and
the removal of retired manifests are the role's molecule scenario (molecule/k8s_workloads);
here: bad input refused in preflight, and of the apply path what happens before any object
is sent (the cluster unreachable, or running another version than the manifests were
validated for), against a /version endpoint on 127.0.0.1. Applying objects is not
exercised offline (README).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from ..support import _free_port, ansible_env, tradeops

# A network layer's outputs with CIDRs unlike the role defaults: the policies must use these.
NETWORK = {
    "vpc_id": "vpc-0123",
    "vpc_cidr": "10.20.0.0/16",
    "subnets": {
        "public": [{"id": "subnet-p1", "az": "us-east-1a", "cidr": "10.20.101.0/24", "name": "p1"}],
        "private": [{"id": "subnet-a1", "az": "us-east-1a", "cidr": "10.20.1.0/24", "name": "a1"}],
        "database": [
            {"id": "subnet-d1", "az": "us-east-1a", "cidr": "10.20.11.0/24", "name": "d1"},
            {"id": "subnet-d2", "az": "us-east-1b", "cidr": "10.20.12.0/24", "name": "d2"},
        ],
    },
}


@pytest.fixture
def workspace(tmp_path: Path) -> dict:
    network = tmp_path / "network.json"
    network.write_text(json.dumps(NETWORK))
    return {"network": network, "render": tmp_path / "workloads", "tmp": tmp_path}


def run(workspace: dict, *args: str, ok: bool = True) -> dict:
    report = workspace["tmp"] / "report.json"
    proc = tradeops(
        # Only this role's play: the k8s_monitoring play of k8s/site has its own test.
        "run", "k8s/site", "-i", "inventories/lab/hosts.yml", "--tags", "k8s_workloads",
        "--report", str(report),
        "-e", f"k8s_workloads_network_outputs={workspace['network']}",
        "-e", f"k8s_workloads_render_dir={workspace['render']}",
        *args,
        env=ansible_env(),
    )  # fmt: skip
    assert (proc.returncode == 0) == ok, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(report.read_text())


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"k8s_workloads_services": {"order-api": {"image": "a:1", "cpu": 1.5, "memory": "1Gi"}},
          "k8s_workloads_flows": []},
         "services.order-api.cpu"),
        ({"k8s_workloads_flows": [{"from": "order-api", "to": "mainframe", "port": 1}]},
         "mainframe"),
        ({"k8s_workloads_kubernetes_version": "1.99"}, "no schemas for Kubernetes 1.99"),
        ({"k8s_workloads_namespace": "Trading"}, "k8s_workloads_namespace must be a DNS label"),
        ({"k8s_workloads_network_outputs": "/nonexistent/network.json"},
         "Run the network layer first"),
    ],
    ids=["fractional-cpu", "unknown-party", "unknown-version", "namespace", "no-network"],
)  # fmt: skip
def test_bad_input_fails_in_preflight_before_any_file_is_written(workspace, override, message):
    overrides = workspace["tmp"] / "override.json"
    overrides.write_text(json.dumps(override))
    report = run(workspace, "-e", f"@{overrides}", ok=False)
    failure = report["failures"][0]
    assert failure["task"].startswith("Preflight"), failure
    assert message in failure["message"], failure["message"]
    assert not workspace["render"].exists()


class VersionOnly(BaseHTTPRequestHandler):
    """An API server that answers only discovery: what the role reads before applying."""

    version = "1.34"

    def do_GET(self):
        major, minor = self.version.split(".")
        answers = {
            "/version": {"major": major, "minor": minor, "gitVersion": f"v{self.version}.2"},
            "/api": {"kind": "APIVersions", "versions": ["v1"]},
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
            # kubernetes' discovery client lists the core group's resources too.
            "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": []},
        }
        body = json.dumps(answers.get(self.path.split("?")[0], {})).encode()
        self.send_response(200 if self.path.split("?")[0] in answers else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "lab", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "lab", "user": {}}],
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
                "current-context": "lab",
            }
        )
    )
    return path


def test_an_unreachable_cluster_fails_before_any_object_is_sent(workspace):
    config = kubeconfig(workspace["tmp"] / "kubeconfig", _free_port())  # nothing listens
    report = run(workspace, "-e", f"k8s_workloads_kubeconfig={config}", ok=False)
    failure = report["failures"][0]
    assert failure["task"] == "Apply | reach the cluster and read its version"
    assert "Connection refused" in failure["message"]


def test_a_cluster_of_another_version_is_refused_before_any_object_is_sent(workspace):
    server = ThreadingHTTPServer(("127.0.0.1", 0), VersionOnly)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = kubeconfig(workspace["tmp"] / "kubeconfig", server.server_address[1])
        report = run(workspace, "-e", f"k8s_workloads_kubeconfig={config}", ok=False)
    finally:
        server.shutdown()
    failure = report["failures"][0]
    assert failure["task"] != "Apply | reach the cluster and read its version", failure["message"]
    wanted_task = "Apply | the cluster runs the version the manifests were validated for"
    assert failure["task"] == wanted_task
    assert "runs Kubernetes v1.34.2" in failure["message"]
    assert "validated for 1.35" in failure["message"]
