"""What the reference engine's /health shows, and where it listens.

/health carries the engine's (redacted) configuration only for a client on the engine's own
host (loopback); the network gets what the deploy's health gate and the monitoring need
(status, version, uptime, problems, placement, feeds, orders). A bind to one address of the
host (its management address) listens on loopback too, for the host's own tools.

The handler is driven in-process over a socket pair, with the client address a peer on the
lab network would have: no traffic leaves the process.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from pathlib import Path

import pytest

ENGINE_DIR = Path(__file__).resolve().parents[3] / "lab" / "reference_engine"
sys.path.insert(0, str(ENGINE_DIR))
from refengine.config import load  # noqa: E402
from refengine.engine import Engine, listen_addresses, make_handler, shows_config  # noqa: E402

LAB_PEER = "198.18.0.31"  # mon-1 of the default lab: Prometheus scraping over the lab network


@pytest.mark.parametrize(
    ("bind", "addresses"),
    [
        ("198.18.0.12", ["198.18.0.12", "127.0.0.1"]),  # the host's lab/management address
        ("127.0.0.1", ["127.0.0.1"]),
        ("127.0.0.2", ["127.0.0.2"]),
        ("0.0.0.0", ["0.0.0.0"]),  # already every address, loopback included
    ],
)
def test_a_management_address_bind_also_listens_on_loopback(bind, addresses):
    assert listen_addresses(bind) == addresses


@pytest.mark.parametrize(
    ("client", "shown"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        (LAB_PEER, False),
        ("198.19.80.1", False),
        ("not-an-address", False),
    ],
)
def test_the_configuration_is_shown_to_loopback_clients_only(client, shown):
    assert shows_config(client) is shown


class FakeServer:
    """What BaseHTTPRequestHandler reads from its server."""

    server_name = "refengine.lab.invalid"
    server_port = 8080


def get(engine: Engine, client: str, path: str) -> tuple[int, dict]:
    """GET path through the engine's handler, as a client at `client` would."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.sendall(f"GET {path} HTTP/1.0\r\nHost: engine\r\n\r\n".encode())
        handler = threading.Thread(
            target=make_handler(engine), args=(theirs, (client, 50000), FakeServer())
        )
        handler.start()
        handler.join(timeout=10)
        theirs.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := ours.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture
def engine(tmp_path) -> Engine:
    config = tmp_path / "engine.json"
    config.write_text(
        json.dumps(
            {
                "engine": {"name": "engine-c5n-1", "region": "us-east-1"},
                "http": {"bind": "198.18.0.11", "port": 8080},
                "feed": {"udp_bind": "127.0.0.1", "udp_port": 0},
                "db": {"host": "db.lab.invalid", "user": "engine", "password": "hunter2-db"},
            }
        )
    )
    info = {"name": "refengine", "version": "2.0.0", "fault": None}
    return Engine(load(str(config)), info)


def test_the_network_gets_the_health_gate_s_fields_without_the_configuration(engine):
    status, body = get(engine, LAB_PEER, "/health")
    assert status == 200
    assert "config" not in body
    # What engine_deploy's health gate and its report read, and the monitoring's view.
    for key in ("status", "version", "uptime_seconds", "problems", "placement", "feeds", "orders"):
        assert key in body, key
    assert body["version"] == "2.0.0" and body["status"] == "ok"
    assert "hunter2" not in json.dumps(body) and "db.lab.invalid" not in json.dumps(body)


def test_the_engine_s_own_host_gets_the_redacted_configuration(engine):
    status, body = get(engine, "127.0.0.1", "/health")
    assert status == 200
    assert body["config"]["http"] == {"bind": "198.18.0.11", "port": 8080}
    assert body["config"]["db"]["password"] == "***redacted***"


def test_ready_never_carries_the_configuration(engine):
    for client in ("127.0.0.1", LAB_PEER):
        status, body = get(engine, client, "/ready")
        assert status == 200 and "config" not in json.dumps(body), client
