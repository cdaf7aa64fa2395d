"""Fixtures of the AWS layer tests: a recording proxy in front of the session's moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .apilog import ApiLog


@pytest.fixture(scope="session")
def aws_api(moto) -> Iterator[ApiLog]:
    """Every call of the playbooks goes through this proxy (its port is the lab's moto port)."""
    log = ApiLog(moto.port)
    yield log
    log.stop()


@pytest.fixture(scope="session")
def outputs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("aws-outputs")


def pytest_collection_modifyitems(items) -> None:
    """test_aws_layers.py's teardown tests (test_teardown_*) run after every other test of
    the file: each layer's tests sit in a section of their own at the end of the file, on
    the platform the `created` fixture built, and a section's test_teardown_* check runs
    after the teardown itself. The file's other tests keep their order."""
    positions = [i for i, item in enumerate(items) if item.path.name == "test_aws_layers.py"]
    module = sorted(
        (items[i] for i in positions), key=lambda item: item.name.startswith("test_teardown")
    )
    for i, item in zip(positions, module, strict=True):
        items[i] = item
