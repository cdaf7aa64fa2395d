"""The lab end to end, as a user drives it: lab up, run site, re-run, fail a
region and restore it (the DR day follows on the same lab: test_lab_dr.py, which ends
with lab down).

Uses a lab of its own (name, /24 inside 198.18.0.0/15, moto port: conftest.py), so a
developer's running lab is left alone.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tradeops.lab import Lab

from ..support import AWS_LAYERS, ROOT, VENV_BIN, tradeops
from .conftest import LAB, podman_names

pytestmark = pytest.mark.lab

EAST = {"engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1", "mon-1", "db-east-1"}
WEST = {"engine-west-1", "db-west-1"}
HOSTS = EAST | WEST
DATABASES = {"db-east-1", "db-west-1"}
# engine-west-1's container body is found through the inventory only once the fleet
# layer launches its instance in us-west-2 and cloud.aws_ec2.yml lists that region.
DR_CLOUD = {"engine-west-1"}


def run_site(lab_env, tmp_path: Path, *args: str) -> dict:
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    # A whole site run on a machine running other suites beside it: minutes, not seconds.
    proc = tradeops("run", "site", "--report", str(report), *args, env=lab_env, timeout=2700)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(report.read_text())


def test_lab_up_creates_every_host_on_its_own_network(lab, lab_env):
    assert set(lab["hosts"]) == HOSTS
    assert all(state == "running" for state in lab["hosts"].values())
    assert {r: set(info["hosts"]) for r, info in lab["regions"].items()} == {
        "us-east-1": EAST,
        "us-west-2": WEST,
    }
    assert lab["failed_regions"] == []
    # moto behind the gate: the gate on the lab's AWS port (loopback and the gateway).
    port = lab_env["TRADEOPS_MOTO_PORT"]
    assert lab["moto"]["healthy"] and lab["gate"]["healthy"]
    assert lab["gate"]["url"] == lab["aws_endpoint"] == f"http://127.0.0.1:{port}"
    assert lab["gate"]["listen"] == [f"127.0.0.1:{port}", f"198.19.250.1:{port}"]
    assert lab["moto"]["url"] != lab["gate"]["url"]
    assert lab["aws_endpoint_for_hosts"] == f"http://198.19.250.1:{port}"
    assert sorted(podman_names("ps", lab_env)) == sorted(f"{LAB}-{h}" for h in HOSTS)
    assert podman_names("network", lab_env) == [f"{LAB}-net"]


def test_lab_up_again_changes_nothing(lab, lab_env):
    again = tradeops("lab", "up", "--json", env=lab_env)
    assert again.returncode == 0, again.stderr
    assert set(json.loads(again.stdout)["actions"].values()) == {"running"}


def inventory_hosts(lab_env) -> set[str]:
    """The hosts the lab inventory has now (the static file and the aws_ec2 source)."""
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", "inventories/lab", "--list"],
        cwd=ROOT,
        env=lab_env,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(proc.stdout)["_meta"]["hostvars"])


def test_site_reaches_every_host_through_the_real_inventory(first_site, lab_env):
    report = first_site
    # Cloud engines only exist once site.yml provisioned them in moto (amazon.aws through
    # the lab's module_defaults) and the aws_ec2 inventory found them.
    # The AWS layers run as pseudo-hosts aws-<layer> (playbooks/aws/site.yml).
    aws_layers = {f"aws-{layer}" for layer in AWS_LAYERS}
    inventory = inventory_hosts(lab_env)
    assert inventory >= HOSTS - DR_CLOUD
    reached = HOSTS & inventory
    assert set(report["hosts"]) == reached | {"localhost"} | aws_layers
    assert report["failures"] == []
    fleet = set(report["summary"]["engine fleet"])
    assert {"engine-c5n-1", "engine-c5n-2", "engine-metal-1"} <= fleet <= HOSTS
    # The main job is provision + tune + deploy + monitoring: its summary ends with the
    # Prometheus address and the health of every target.
    assert report["summary"]["prometheus"].startswith("http://198.19.250.")
    assert report["summary"]["monitoring health"].startswith("targets up "), report["summary"]
    # Each host of the baseline play (engines, monitoring) has a local fact that says
    # where it sits in the platform: read it on the host.
    for host in reached - DATABASES:
        out = subprocess.run(
            ["podman", "exec", f"{LAB}-{host}", "cat", "/etc/ansible/facts.d/tradeops.fact"],
            env=lab_env,
            capture_output=True,
            text=True,
            check=True,
        )
        fact = json.loads(out.stdout)
        assert fact["environment"] == "lab"
        assert ("engines" in fact["groups"]) == host.startswith("engine")


# The second run on one host of each kind (a cloud and a DR-region engine, both databases,
# the monitoring host) and every AWS layer, for CI's budget: the other engine hosts run the
# same roles. Check mode is each role's molecule scenario's (molecule/<role>: check on a
# converged instance), the AWS half's (aws/test_aws_layers.py) and the engine rollout's
# (engine/test_engine_deploy.py).
KINDS = "localhost:aws_layers:engine-c5n-1:engine-west-1:db-east-1:db-west-1:mon-1"


# tradeops_skip_settled=false: every role runs its whole converge, settled or not, so this
# proves the roles' own idempotence (the settled skip is engine_tuning's scenario's, whose
# idempotence step is settled and whose side effect must be repaired).
def test_second_run_changes_nothing(first_site, lab_env, tmp_path):
    again = run_site(lab_env, tmp_path, "--limit", KINDS, "-e", "tradeops_skip_settled=false")
    assert {"engine-c5n-1", "engine-west-1", "db-east-1", "mon-1"} <= set(again["hosts"])
    assert {h: c["changed"] for h, c in again["hosts"].items() if c["changed"]} == {}
    # the first run left each host role's record (the next run may skip a settled host)
    for host, roles in (
        ("engine-c5n-1", ("engine_tuning", "backup_restic")),
        ("mon-1", ("backup_restic",)),
    ):
        for role in roles:
            record = f"/var/lib/tradeops/host-state/{role}.json"
            out = subprocess.run(
                ["podman", "exec", f"{LAB}-{host}", "stat", "-c", "%a", record],
                env=lab_env,
                capture_output=True,
                text=True,
                check=True,
            )
            assert out.stdout.strip() == "600", (host, record)


def test_failure_is_reported_with_its_exit_code(lab, lab_env):
    proc = tradeops(
        "run",
        "site",
        "--tags",
        "baseline",
        "--limit",
        "mon-1",
        "-e",
        "host_baseline_timezone=Mars/Olympus",
        env=lab_env,
    )
    assert proc.returncode == 4
    # The reason is shown whole, wrapped to the terminal: compare it unwrapped.
    assert "Mars/Olympus is not a time zone on mon-1" in " ".join(proc.stderr.split())


def sts(lab_env, region: str):
    """An STS client of the controller, signed for region, through the lab's gate."""
    return boto3.client(
        "sts",
        region_name=region,
        endpoint_url=f"http://127.0.0.1:{lab_env['TRADEOPS_MOTO_PORT']}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def container_states(lab_env) -> dict[str, str]:
    out = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label=io.tradeops.lab={LAB}", "--format", "json"],
        env=lab_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {c["Names"][0].removeprefix(f"{LAB}-"): c["State"] for c in json.loads(out)}


# The lab's static hosts and the source that names their containers.
STATIC_SOURCES = ["-i", "inventories/lab/hosts.yml", "-i", "inventories/lab/lab.constructed.yml"]


def ping(lab_env, pattern: str) -> str:
    """An ad-hoc ping of the lab's static hosts (the aws_ec2 source needs us-east-1's EC2
    API, which is down while that region is failed)."""
    proc = subprocess.run(
        [str(VENV_BIN / "ansible"), pattern, *STATIC_SOURCES, "-m", "ping"],
        cwd=ROOT,
        env=lab_env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout


# Run in the DR region's engine host: SSM of both regions through the gate on the gateway.
FROM_A_HOST = """
import boto3, sys
from botocore.config import Config
from botocore.exceptions import ClientError
for region in ("us-west-2", "us-east-1"):
    ssm = boto3.client("ssm", region_name=region, endpoint_url=sys.argv[1],
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=Config(retries={"max_attempts": 1}))
    try:
        ssm.describe_parameters(MaxResults=1)
        print(region, "ok")
    except ClientError as err:
        print(region, err.response["ResponseMetadata"]["HTTPStatusCode"])
"""


def test_failing_a_region_takes_its_api_and_hosts_down_until_restored(lab, lab_env, monkeypatch):
    for key in ("TRADEOPS_LAB_NAME", "TRADEOPS_LAB_SUBNET", "TRADEOPS_MOTO_PORT"):
        monkeypatch.setenv(key, lab_env[key])
    api = Lab()  # the API tests (and the DR tests) use, on this test's lab
    assert api.hosts_in_region("us-west-2") == ["engine-west-1", "db-west-1"]
    started = time.time()
    failed = tradeops("lab", "fail-region", "us-east-1", "--json", env=lab_env)
    assert failed.returncode == 0, failed.stderr
    try:
        assert json.loads(failed.stdout)["hosts"] == dict.fromkeys(
            api.hosts_in_region("us-east-1"), "paused"
        )
        assert api.failed_regions() == ["us-east-1"]
        # AWS: us-east-1 refused at once by the gate, us-west-2 answered by moto.
        with pytest.raises(ClientError) as refused:
            sts(lab_env, "us-east-1").get_caller_identity()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert "lab: region us-east-1 is failed (tradeops lab fail-region)" in str(refused.value)
        assert sts(lab_env, "us-west-2").get_caller_identity()["Account"] == "123456789012"
        calls = [
            (e["region"], e["refused"], e["status"])
            for e in api.gate_log(since=started)
            if (e["service"], e["action"]) == ("sts", "GetCallerIdentity")
        ]
        assert ("us-east-1", True, 503) in calls and ("us-west-2", False, 200) in calls
        # Hosts: the region's containers are frozen, the other region's run.
        states = container_states(lab_env)
        assert {h: states[h] for h in HOSTS} == {
            **dict.fromkeys(EAST, "paused"),
            **dict.fromkeys(WEST, "running"),
        }
        out = ping(lab_env, "databases:monitoring")
        assert "db-east-1 | UNREACHABLE!" in out and "mon-1 | UNREACHABLE!" in out, out
        assert f"container {LAB}-db-east-1 is paused" in out
        assert "db-west-1 | SUCCESS" in out, out
        # The DR region's host reaches AWS on the lab gateway: its own region answers.
        probe = subprocess.run(
            [
                *("podman", "exec", f"{LAB}-engine-west-1", "python3", "-c", FROM_A_HOST),
                api.aws_endpoint_for_hosts,
            ],
            env=lab_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.stdout.splitlines() == ["us-west-2 ok", "us-east-1 503"], probe
        from_host = {
            (e["region"], e["refused"])
            for e in api.gate_log(since=started)
            if e["service"] == "ssm" and e["client"] == "198.19.250.41"  # engine-west-1
        }
        assert from_host == {("us-west-2", False), ("us-east-1", True)}
        # The lab counts as up (that is what it was asked to be), and says what is failed.
        status = tradeops("lab", "status", "--json", env=lab_env)
        assert status.returncode == 0, status.stdout
        shown = json.loads(status.stdout)
        assert shown["failed_regions"] == ["us-east-1"]
        assert shown["hosts"]["db-east-1"] == "paused (region us-east-1 failed)"
        # Idempotent.
        again = json.loads(
            tradeops("lab", "fail-region", "us-east-1", "--json", env=lab_env).stdout
        )
        assert set(again["hosts"].values()) == {"already paused"}
        # lab up does not undo a failure.
        up = tradeops("lab", "up", "--json", env=lab_env)
        assert up.returncode == 0, up.stderr
        actions = json.loads(up.stdout)["actions"]
        assert {h: actions[h] for h in HOSTS} == {
            **dict.fromkeys(EAST, "kept paused"),
            **dict.fromkeys(WEST, "running"),
        }
        assert api.failed_regions() == ["us-east-1"]
    finally:
        restored = tradeops("lab", "restore-region", "us-east-1", "--json", env=lab_env)
    assert restored.returncode == 0, restored.stderr
    assert set(json.loads(restored.stdout)["hosts"].values()) == {"unpaused"}
    assert api.failed_regions() == []
    assert sts(lab_env, "us-east-1").get_caller_identity()["Account"] == "123456789012"
    assert set(container_states(lab_env).values()) == {"running"}
    out = ping(lab_env, "databases:monitoring:engines_baremetal")
    assert out.count("| SUCCESS") == 4, out
    again = json.loads(tradeops("lab", "restore-region", "us-east-1", "--json", env=lab_env).stdout)
    assert set(again["hosts"].values()) == {"running"}
    assert tradeops("lab", "status", env=lab_env).returncode == 0
