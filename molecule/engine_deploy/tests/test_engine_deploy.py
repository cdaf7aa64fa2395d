"""engine_deploy's effect on the host: release 2.0.0 current and serving under the hardened
unit with the placement the lab profile asks for, after the faulty 3.0.0 (side effect) was
tried and rolled back."""

import ipaddress
import json

import pytest

testinfra_hosts = ["podman://molecule-engine-deploy"]

SUBNET = ipaddress.ip_network("198.18.88.0/24")
PORT = 8080
BASE = "/opt/refengine"
# The lab profile's isolated CPUs (inventories/lab/group_vars/engines/tuning.yml).
ISOLATED = "1"

HEALTH = (
    "import json, sys, urllib.request, urllib.error\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
    "except urllib.error.HTTPError as e:\n"
    "    r = e\n"
    "print(json.dumps({'status': r.status, 'body': json.load(r)}))\n"
)


@pytest.fixture(scope="module")
def address(host) -> str:
    """The container's address on the scenario's network (the one the engine binds)."""
    found = [a for a in host.interface("eth0").addresses if ipaddress.ip_address(a) in SUBNET]
    assert len(found) == 1, found
    return found[0]


def health(host, url: str) -> dict:
    """GET url from inside the container: {status, body}."""
    return json.loads(host.check_output("python3 -c %s %s", HEALTH, url))


@pytest.fixture(scope="module")
def local_health(host) -> dict:
    return health(host, f"http://127.0.0.1:{PORT}/health")


@pytest.fixture(scope="module")
def placement(host) -> dict:
    return json.loads(host.file("/etc/refengine/placement.json").content_string)


def test_current_is_the_previous_release_after_the_rollback(host):
    current = host.file(f"{BASE}/current")
    assert current.is_symlink
    assert current.linked_to == f"{BASE}/releases/2.0.0"


@pytest.mark.parametrize("version", ["2.0.0", "3.0.0"])
def test_the_releases_are_the_artifacts_built_on_the_controller(host, ephemeral, version):
    """2.0.0 deployed, 3.0.0 installed and tried by the side effect; each from its artifact."""
    artifact = ephemeral / ".cache/artifacts/refengine" / f"refengine-{version}.tar.gz.sha256"
    sha256 = artifact.read_text().split()[0]
    release = f"{BASE}/releases/{version}"
    marker = json.loads(host.file(f"{release}/.tradeops-release.json").content_string)
    assert marker == {"version": version, "sha256": sha256, "source": f"refengine-{version}.tar.gz"}
    assert host.file(f"{release}/VERSION").content_string == f"{version}\n"


def test_the_engine_runs_and_starts_at_boot_as_its_own_user(host):
    service = host.service("refengine")
    assert service.is_running
    assert service.is_enabled
    pid = host.check_output("systemctl show -P MainPID refengine")
    assert host.check_output("ps -o user= -p %s", pid) == "refengine"


def test_the_unit_is_hardened(host):
    show = host.check_output(
        "systemctl show refengine -p User,NoNewPrivileges,ProtectSystem,ProtectHome,"
        "PrivateTmp,LimitMEMLOCK,CapabilityBoundingSet"
    )
    props = dict(line.split("=", 1) for line in show.splitlines())
    assert props["User"] == "refengine"
    assert props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict"
    assert props["ProtectHome"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["LimitMEMLOCK"] == "infinity"


def test_the_configuration_is_readable_by_the_engine_only(host):
    config = host.file("/etc/refengine/engine.json")
    assert (config.user, config.group, config.mode) == ("root", "refengine", 0o640)


def test_the_engine_listens_on_the_host_address_and_loopback(host, address):
    assert host.socket(f"tcp://{address}:{PORT}").is_listening
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening


def test_2_0_0_serves_healthy_and_ready(host, address, local_health):
    assert local_health["status"] == 200, local_health
    assert local_health["body"]["version"] == "2.0.0"
    assert health(host, f"http://127.0.0.1:{PORT}/ready")["status"] == 200
    # on the host's address too, without the configuration (loopback clients only)
    remote = health(host, f"http://{address}:{PORT}/health")
    assert remote["status"] == 200
    assert remote["body"]["version"] == "2.0.0"
    assert "config" not in remote["body"]


def test_the_engine_runs_where_the_profile_says(local_health, placement):
    seen = local_health["body"]["placement"]
    assert placement["cpu_affinity"] == ISOLATED
    assert seen["cpu_affinity_list"] == ISOLATED
    # What the unprivileged container refused, the role said, and the engine reports the same.
    if placement["sched_policy"] == "fifo":
        assert seen["sched_policy"] == "SCHED_FIFO"
    else:
        assert any("real-time" in r for r in placement["left_out"]), placement
        assert seen["sched_policy"] == "SCHED_OTHER"
    if placement["memlock"]:
        assert seen["mlockall"]["ok"] is True, seen["mlockall"]
    else:
        assert any("memory locking" in r for r in placement["left_out"]), placement
        assert seen["mlockall"]["ok"] is False


def test_the_configuration_comes_from_the_inventory_secrets_redacted(host, local_health):
    config = local_health["body"]["config"]
    assert config["engine"]["name"] == host.backend.get_hostname()
    assert config["engine"]["region"] == "us-east-1"
    assert config["risk"] == {"max_order_qty": 1000, "max_notional": 1000000}
    assert config["db"]["password"] == "***redacted***"
