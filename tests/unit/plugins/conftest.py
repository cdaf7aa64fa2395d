"""pytest fixtures for the plugin tests (helpers live in hosts.py)."""

from __future__ import annotations

import pytest

from .hosts import MACHINES


@pytest.fixture(params=MACHINES)
def machine(request):
    return request.param
