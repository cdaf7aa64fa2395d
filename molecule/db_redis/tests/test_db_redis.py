"""db_redis's effect on the host: a Redis primary that answers only with the password,
bound to the host's own address and loopback, and configured to stay so."""

import ipaddress
import socket

import pytest

testinfra_hosts = ["podman://molecule-db-redis"]

SUBNET = ipaddress.ip_network("198.18.86.0/24")
PORT = 6379


@pytest.fixture(scope="module")
def address(host) -> str:
    """The container's address on the scenario's network (the one the role binds)."""
    found = [a for a in host.interface("eth0").addresses if ipaddress.ip_address(a) in SUBNET]
    assert len(found) == 1, found
    return found[0]


class Secret(bytes):
    """A password that shows as <secret> in pytest's reports (tracebacks print arguments)."""

    def __repr__(self) -> str:
        return "<secret>"


@pytest.fixture(scope="module")
def password(ephemeral) -> Secret:
    """The Redis password the lab's group_vars generated for this scenario (a password
    lookup beside molecule's ansible.cfg, in the scenario's ephemeral directory)."""
    return Secret((ephemeral / ".cache" / "lab" / "redis-password").read_bytes().strip())


def ask(address: str, *commands: bytes, password: Secret | None = None) -> bytes:
    """Send RESP inline commands from the controller (AUTH first with a password), then
    QUIT; everything Redis replied."""
    data = b""
    auth = [Secret(b"AUTH " + password)] if password is not None else []
    with socket.create_connection((address, PORT), timeout=5) as conn:
        conn.sendall(b"".join(c + b"\r\n" for c in (*auth, *commands, b"QUIT")))
        try:
            while chunk := conn.recv(4096):
                data += chunk
        except TimeoutError:
            pass
    return data


def test_redis_runs_and_starts_at_boot(host):
    service = host.service("redis-server")
    assert service.is_running
    assert service.is_enabled


def test_redis_listens_on_the_host_address_and_loopback_only(host, address):
    assert host.socket(f"tcp://{address}:{PORT}").is_listening
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening
    assert not host.socket(f"tcp://:::{PORT}").is_listening


def test_an_unauthenticated_ping_is_refused(address):
    assert ask(address, b"PING").startswith(b"-NOAUTH")


def test_a_wrong_password_is_refused(address):
    reply = ask(address, b"AUTH not-the-password-at-all", b"PING").split(b"\r\n")
    assert reply[0].startswith(b"-WRONGPASS"), reply
    assert reply[1].startswith(b"-NOAUTH"), reply


# Only the replies are asserted on: the password never reaches an assertion message.
def test_an_authenticated_ping_answers(address, password):
    assert ask(address, b"PING", password=password).startswith(b"+OK\r\n+PONG\r\n")


def test_it_is_a_primary_with_the_lab_limits(address, password):
    reply = ask(address, b"INFO replication", b"CONFIG GET maxmemory-policy", password=password)
    assert reply.startswith(b"+OK\r\n")
    assert b"\r\nrole:master\r\n" in reply
    assert b"\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n" in reply


def test_redis_conf_is_readable_by_redis_only_and_holds_the_settings(host, address):
    conf = host.file("/etc/redis/redis.conf")
    assert conf.user == "redis"
    assert conf.group == "redis"
    assert conf.mode == 0o640
    # The lines without secrets; requirepass only counted (its value is never read here).
    lines = host.check_output("grep -E '^(bind|port|protected-mode|include) ' %s", conf.path)
    settings = dict(line.split(" ", 1) for line in lines.splitlines())
    assert settings == {
        "bind": f"{address} 127.0.0.1",
        "port": str(PORT),
        "protected-mode": "yes",
        "include": "/etc/redis/tradeops-replication.conf",
    }
    assert host.check_output("grep -c '^requirepass ' %s", conf.path) == "1"
