"""Fixtures for the scenarios' testinfra verifiers (molecule/<role>/tests/).

Host scenarios name their container in `testinfra_hosts` and use testinfra's `host`.
AWS scenarios read their own moto (molecule/_shared/create.yml started it) with `aws`:
    def test_x(aws): aws("ec2").describe_vpcs()
the layers' outputs files with `outputs`, a resource's tags with `tags`, and the
standard tag keys with `standard_tags`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ephemeral() -> Path:
    """The scenario's ephemeral directory (molecule exports it to the verifier)."""
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


@pytest.fixture(scope="session")
def moto_url(ephemeral) -> str:
    port = (ephemeral / "moto" / "port").read_text().strip()
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def aws(moto_url):
    """aws(service, region='us-east-1'): a boto3 client of the scenario's moto."""
    import boto3

    def client(service: str, region: str = "us-east-1"):
        return boto3.client(
            service,
            endpoint_url=moto_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture(scope="session")
def outputs(ephemeral):
    """outputs(layer): the layer's outputs file as the role saved it (<layer>.json)."""

    def read(layer: str) -> dict:
        return json.loads((ephemeral / "aws-outputs" / f"{layer}.json").read_text())

    return read


@pytest.fixture(scope="session")
def standard_tags() -> set[str]:
    """The tag keys every AWS resource carries: tradeops_tags of the lab environment the
    scenarios run with (inventories/lab/group_vars/all/platform.yml)."""
    import yaml

    platform = Path(__file__).parents[1] / "inventories/lab/group_vars/all/platform.yml"
    return set(yaml.safe_load(platform.read_text())["tradeops_tags"])


@pytest.fixture(scope="session")
def tags():
    """tags(resource): a resource's Tags list ([{Key, Value}]) as a dict."""
    return lambda resource: {t["Key"]: t["Value"] for t in resource.get("Tags", [])}
