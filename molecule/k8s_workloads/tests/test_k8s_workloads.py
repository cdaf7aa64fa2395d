"""k8s_workloads' effect: the render directory holds valid manifests built from the
network layer's outputs, and only the current ones (the side effect's retired one is gone)."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml


@pytest.fixture(scope="module")
def manifests(ephemeral) -> dict[str, dict]:
    render = ephemeral / "workloads"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(render.iterdir())}


@pytest.fixture(scope="module")
def network() -> dict:
    return json.loads((Path(__file__).parents[1] / "network.json").read_text())


def test_every_manifest_is_valid_for_the_clusters_version(manifests):
    assert next(iter(manifests)) == "01-namespace-trading.yaml"
    for name, obj in manifests.items():
        kubernetes_validate.validate(obj, "1.35.0", strict=True)  # raises on a schema error
        assert obj["metadata"]["labels"]["tradeops.io/environment"] == "lab", name


def test_the_retired_manifest_was_removed(manifests):
    assert "99-service-retired.yaml" not in manifests


def test_network_policies_use_the_network_layers_cidrs(manifests, network):
    policy = manifests["07-networkpolicy-order-api.yaml"]["spec"]
    peers = [peer for rule in policy["ingress"] for peer in rule["from"]]
    public = network["subnets"]["public"][0]["cidr"]
    assert {"ipBlock": {"cidr": public}} in peers
    egress = {
        (peer["ipBlock"]["cidr"], rule["ports"][0]["port"])
        for rule in policy["egress"]
        for peer in rule["to"]
        if "ipBlock" in peer
    }
    databases = [s["cidr"] for s in network["subnets"]["database"]]
    assert egress == {
        *((cidr, 5432) for cidr in databases),
        *((cidr, 6379) for cidr in databases),
        (network["vpc_cidr"], 443),
    }


def test_images_come_from_the_accounts_registry(manifests):
    deployment = manifests["10-deployment-order-api.yaml"]["spec"]["template"]["spec"]
    image = deployment["containers"][0]["image"]
    assert image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/order-api:1.0.0"
