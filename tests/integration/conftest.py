"""Integration fixtures (helpers live in support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import MotoServer


@pytest.fixture(scope="session")
def moto(tmp_path_factory) -> Iterator[MotoServer]:
    """Session-wide moto; tests that need an empty account call moto.reset()."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()
