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
