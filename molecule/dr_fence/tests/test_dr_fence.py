"""dr_fence's effect on the host: the fence script, its configuration, the engine unit's
ExecStartPre= drop-in and the watchdog; after the side effect's failover to us-west-2
(epoch 2), the engine was stopped by the watchdog and the fence refuses to start it."""

import json

import pytest

testinfra_hosts = ["podman://molecule-dr-fence"]

SCRIPT = "/usr/local/libexec/tradeops/tradeops-dr-fence"
CONFIG = "/etc/tradeops/dr-fence.json"
DROPIN = "/etc/systemd/system/refengine.service.d/50-tradeops-dr-fence.conf"
GATEWAY = "198.18.89.1"


def journal(host, unit: str) -> list[str]:
    return host.check_output("journalctl -q -o cat --no-pager -u %s", unit).splitlines()


def test_the_fence_script_is_installed(host):
    script = host.file(SCRIPT)
    assert (script.user, script.group, script.mode) == ("root", "root", 0o755)
    assert script.content_string.startswith("#!/usr/bin/python3 -I\n")
    assert host.package("python3-boto3").is_installed


def test_the_configuration_names_the_state_the_region_and_the_lab_endpoint(host):
    config = host.file(CONFIG)
    assert (config.user, config.group, config.mode) == ("root", "root", 0o600)
    settings = json.loads(config.content_string)
    assert settings["prefix"] == "/tradeops/lab/dr"
    assert settings["regions"] == ["us-east-1", "us-west-2"]
    assert settings["region"] == "us-east-1"
    assert settings["endpoint_url"] == f"http://{GATEWAY}:5000"
    assert sorted(settings) == [
        "access_key",
        "endpoint_url",
        "prefix",
        "region",
        "regions",
        "secret_key",
    ]


def test_the_engine_unit_asks_the_fence_before_it_starts(host):
    dropin = host.file(DROPIN)
    assert (dropin.user, dropin.mode) == ("root", 0o644)
    assert f"ExecStartPre=+{SCRIPT} --config {CONFIG}\n" in dropin.content_string
    # systemd has read it (the role reloads before anything may start the unit)
    assert DROPIN in host.check_output("systemctl show -P DropInPaths refengine")
    assert SCRIPT in host.check_output("systemctl show -P ExecStartPre refengine")


def test_the_watchdog_timer_runs_and_starts_at_boot(host):
    timer = host.service("tradeops-dr-fence-watch.timer")
    assert timer.is_enabled
    assert timer.is_running
    # the lab's interval (inventories/lab/group_vars/all/dr_runbooks.yml)
    unit = host.file("/etc/systemd/system/tradeops-dr-fence-watch.timer").content_string
    assert "OnUnitActiveSec=30s\n" in unit
    service = host.file("/etc/systemd/system/tradeops-dr-fence-watch.service").content_string
    assert "--enforce refengine.service" in service


def test_the_fence_read_the_state_through_the_lab_endpoint(host, ephemeral):
    """Every SSM read of the fence went through the region gate on the gateway."""
    (address,) = [a for a in host.interface("eth0").addresses if a.startswith("198.18.89.")]
    log = ephemeral / "regiongate" / "requests.log"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [c for c in calls if c.get("client") == address]
    assert {(c["region"], c["service"], c["action"]) for c in mine} == {
        ("us-east-1", "ssm", "GetParameter"),
        ("us-west-2", "ssm", "GetParameter"),
    }


def test_the_engine_was_allowed_to_start_under_epoch_1(host):
    """The side effect started it; its ExecStartPre= printed the fence's decision."""
    decisions = [json.loads(line) for line in journal(host, "refengine") if line.startswith("{")]
    allowed = [d for d in decisions if d["allowed"]]
    assert allowed, decisions
    assert allowed[0]["authoritative"]["epoch"] == 1
    assert allowed[0]["authoritative"]["active_region"] == "us-east-1"


def test_the_watchdog_stopped_the_engine_after_the_failover(host):
    assert not host.service("refengine").is_running
    runs = [
        json.loads(line)
        for line in journal(host, "tradeops-dr-fence-watch.service")
        if line.startswith("{")
    ]
    stops = [r for r in runs if r.get("stopped")]
    assert stops, runs
    assert stops[0]["stopped"] == ["refengine.service"]
    assert stops[0]["superseded"] is True
    assert stops[0]["authoritative"]["epoch"] == 2


@pytest.fixture(scope="module")
def start_attempt(host):
    """Try to start the engine now that epoch 2 names us-west-2 (the fence must refuse)."""
    return host.run("systemctl start refengine")


def test_the_fence_refuses_to_start_the_engine(host, start_attempt):
    assert start_attempt.rc != 0
    assert not host.service("refengine").is_running
    refusal = json.loads([line for line in journal(host, "refengine") if line.startswith("{")][-1])
    assert refusal["allowed"] is False
    assert (
        refusal["reason"] == "epoch 2 (us-east-1, us-west-2) names us-west-2, not us-east-1: fenced"
    )


def test_the_fence_itself_says_fenced(host):
    answer = host.run("%s --config %s", SCRIPT, CONFIG)
    assert answer.rc == 1
    decision = json.loads(answer.stdout)
    assert decision["allowed"] is False
    assert decision["own_region"] == "us-east-1"
    assert decision["unreachable"] == {}
    assert {r: rec["epoch"] for r, rec in decision["records"].items()} == {
        "us-east-1": 2,
        "us-west-2": 2,
    }
