"""pytest fixtures for the plugin tests (helpers live in hosts.py)."""

from __future__ import annotations

import socket
import time
from contextlib import suppress

import pytest

from .hosts import MACHINES


@pytest.fixture(params=MACHINES)
def machine(request):
    return request.param


@pytest.fixture
def black_hole():
    """A 127.0.0.1 port whose accept queue is full: a connection to it times out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    fillers = []
    for _filler in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for filler in fillers:
        filler.close()
    sock.close()
