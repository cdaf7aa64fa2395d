"""Day-2 operations on the converged site lab (issue 22): plan, drift, the run history,
the fleet report in a real headless Chromium.

It runs on the session's site lab right after test_lab.py converged it (tests/integration/
conftest.py): no lab or converge of its own. Plan and drift are kept to the AWS layers
network, security and fleet and to engine tuning on two engine hosts (--limit), as an
operator scopes them. Then, as an operator would:

1. `tradeops plan` on the converged lab: exit 0, "no changes", and no AWS call but reads
   (the region gate logs every call);
2. engine-c5n-2 de-tuned (its own eth0: rx channels 1 -> 2) and a security-group rule
   added by hand (boto3 against the lab's AWS): plan exits 2 and names exactly those two;
3. `tradeops drift`: both are drift (the desired state is the converge's), and the
   metrics file says so;
4. the tuning verify refreshes the host's metrics, `tradeops report fleet` writes the HTML,
   and Chromium renders it: the table holds the lab's engine hosts, the de-tuned one fails;
5. `tradeops runs list|show` shows the runs with operator, AWS caller and revision.

The NIC is restored and the rule removed at the end (the DR day runs on this lab later).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tradeops.lab import Lab

from ..conftest import SITE_LAB
from ..support import tradeops
from .browser import READ_PAGE, Browser, available

# Twenty minutes beside the other suites (plans and drift are check-mode runs): beyond
# CI's budget, run by `./dev test-full` (README, "Tests").
pytestmark = [pytest.mark.lab, pytest.mark.full]

LAB = SITE_LAB
LAYERS = ["network", "security", "fleet"]
SCOPE = [
    "-e",
    json.dumps({"tradeops_aws_layers": LAYERS}),
    "--tags",
    ",".join([*LAYERS, "kernel_tuning"]),
]
TUNED = ["engine-c5n-1", "engine-c5n-2"]
LIMIT = ["--limit", ":".join(["localhost", "aws_layers", *TUNED])]
DETUNED = "engine-c5n-2"
# The rule added by hand: a lab address range (198.18.0.0/15), a port no flow uses.
HAND_RULE = {"port": 2222, "cidr": "198.18.99.0/24"}
READ_ONLY = ("Describe", "List", "Get")
TIMINGS: dict[str, float] = {}


def timed(name: str, *args: str, env: dict[str, str], timeout: int = 1200):
    started = time.monotonic()
    proc = tradeops(*args, env=env, timeout=timeout)
    TIMINGS[name] = round(time.monotonic() - started, 1)
    return proc


def podman(*args: str, env) -> str:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def set_rx_channels(env, host: str, rx: int) -> int:
    """ethtool -L on the container's own eth0 (nsenter into its network namespace: the
    container lacks CAP_NET_ADMIN); returns rx read back."""
    pid = podman("inspect", "--format", "{{.State.Pid}}", f"{LAB}-{host}", env=env).strip()
    nsenter = ["nsenter", "--target", pid, "--net", "ethtool"]
    subprocess.run([*nsenter, "-L", "eth0", "rx", str(rx)], check=True, timeout=30)
    out = subprocess.run(
        [*nsenter, "-l", "eth0"], check=True, timeout=30, capture_output=True, text=True
    ).stdout
    current = out.split("Current hardware settings:")[1]
    return int(current.split("RX:")[1].split()[0])


def ec2(env):
    return boto3.client(
        "ec2",
        endpoint_url=f"http://127.0.0.1:{env['TRADEOPS_MOTO_PORT']}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 2}),
    )


def engines_group(env) -> dict:
    """The security group of the de-tuned engine host's instance (the network layer's)."""
    client = ec2(env)
    reservations = client.describe_instances(
        Filters=[
            {"Name": "tag:Name", "Values": [DETUNED]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )["Reservations"]
    [instance] = [i for r in reservations for i in r["Instances"]]
    group_id = instance["NetworkInterfaces"][0]["Groups"][0]["GroupId"]
    return client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


@pytest.fixture(scope="module")
def converged(site_lab_env, site_converged):
    """The site lab, converged by test_lab.py's first site run."""
    yield site_lab_env
    print("dayto timings (s):", json.dumps(TIMINGS))


def plan(env, tmp_path: Path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / f"{name}.json"
    proc = timed(name, "plan", *SCOPE, *LIMIT, "--report", str(out), *extra, env=env)
    data = json.loads(out.read_text()) if out.exists() else {}
    return proc, data


def test_day2(converged, tmp_path):
    env = converged
    lab = Lab(name=LAB, port=int(env["TRADEOPS_MOTO_PORT"]))

    # 1. converged: no changes, and only reads against AWS
    started = time.time()
    proc, data = plan(env, tmp_path, "plan (converged)")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-6000:]
    assert "no changes" in proc.stdout
    assert data["changes"] == [] and data["status"] == "no changes"
    calls = lab.gate_log(since=started)
    assert calls, "the plan made no AWS call at all (is the gate logging?)"
    mutating = sorted({c["action"] for c in calls if not str(c["action"]).startswith(READ_ONLY)})
    assert mutating == [], f"plan made mutating AWS calls: {mutating}"

    # 2. a host de-tuned and a rule added by hand: exactly those two
    group = engines_group(env)
    permission = {
        "IpProtocol": "tcp",
        "FromPort": HAND_RULE["port"],
        "ToPort": HAND_RULE["port"],
        "IpRanges": [{"CidrIp": HAND_RULE["cidr"]}],
    }
    assert set_rx_channels(env, DETUNED, 2) == 2
    ec2(env).authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[permission])
    try:
        proc, data = plan(env, tmp_path, "plan (drifted)")
        assert proc.returncode == 2, proc.stdout + proc.stderr[-6000:]
        changes = data["changes"]
        assert len(changes) == 2, json.dumps(changes, indent=2)
        by_scope = {c["scope"]: c for c in changes}
        rule = by_scope["aws"]
        assert (rule["target"], rule["what"]) == ("network", f"security group {group['GroupName']}")
        wanted_text = f"ingress tcp {HAND_RULE['port']} from {HAND_RULE['cidr']}"
        assert rule["current"] == [wanted_text] and rule["wanted"] == []
        tuning = by_scope["host"]
        assert (tuning["target"], tuning["what"]) == (DETUNED, "tuning check nic.eth0.channels.rx")
        assert (tuning["current"], tuning["wanted"]) == (2, 1)
        for word in (group["GroupName"], wanted_text, "nic.eth0.channels.rx", "2 to change"):
            assert word in proc.stdout, proc.stdout

        # 3. drift: both are drift, and the metrics say so
        metrics = tmp_path / "tradeops_drift.prom"
        drift = timed("drift", "drift", *SCOPE, *LIMIT, "--json", "--metrics-file", str(metrics),
                      env=env)  # fmt: skip
        assert drift.returncode == 2, drift.stderr[-6000:]
        result = json.loads(drift.stdout)
        assert sorted((c["target"], c["drift"]["status"]) for c in result["drift"]) == [
            (DETUNED, "drift"),
            ("network", "drift"),
        ]
        text = metrics.read_text()
        assert 'tradeops_drift_items{environment="lab",scope="aws",target="network"} 1' in text
        assert (
            f'tradeops_drift_items{{environment="lab",scope="host",target="{DETUNED}"}} 1' in text
        )

        # 4. the verify refreshes the metrics; the report, rendered by Chromium
        verify = timed("verify", "run", "hosts/tuning", "--tags", "verify", "--limit", DETUNED,
                       env=env)  # fmt: skip
        assert verify.returncode == 0, verify.stderr[-6000:]
        page = tmp_path / "fleet.html"
        report = timed("report fleet", "report", "fleet", "--html", str(page), env=env)
        assert report.returncode == 0, report.stdout + report.stderr[-6000:]
        assert DETUNED in report.stdout and "FAIL 1/" in report.stdout
        check_in_browser(page, tmp_path)
    finally:
        set_rx_channels(env, DETUNED, 1)
        ec2(env).revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[permission])

    # 5. the history: the converge, the plans, the drift, the verify
    listed = tradeops("runs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    commands = [r["command"] for r in rows]
    assert commands[:5] == ["run", "drift", "plan", "plan", "run"], rows
    for row in rows:
        assert row["operator"] and row["revision"] and row["revision"] != "unknown"
        assert row["aws_caller"].startswith("arn:aws:"), row
    assert rows[2]["changes"] == 2 and rows[3]["changes"] == 0
    shown = tradeops("runs", "show", str(rows[2]["id"]), env=env)
    assert shown.returncode == 0 and "nic.eth0.channels.rx" in shown.stdout, shown.stdout
    text = tradeops("runs", "list", env=env).stdout
    assert "OPERATOR" in text and rows[0]["revision"] in text


def check_in_browser(page: Path, tmp_path: Path) -> None:
    why = available()
    if why:
        pytest.fail(why)
    browser = Browser(tmp_path)
    try:
        browser.open(page)
        seen = browser.run(READ_PAGE)
        browser.screenshot(tmp_path / "fleet.png")
    finally:
        browser.quit()
    assert seen["title"] == "Fleet report: lab" and seen["height"] > 200
    assert seen["resources"] == 0  # nothing fetched: the file is self-contained
    rows = {r["host"]: r for r in seen["rows"]}
    # the lab's engine hosts: the fleet's instances, the bare-metal host, and the DR
    # region's standby engine (lab/topology.yml gained it with the DR work)
    assert set(rows) == {
        "engine-c5n-1", "engine-c5n-2", "engine-metal-1", "engine-bm-1", "engine-west-1"
    }  # fmt: skip
    assert all(r["visible"] for r in rows.values())
    assert rows[DETUNED]["status"] == "failing"
    assert rows[DETUNED]["cells"]["tuning"] == "fail"
    assert rows[DETUNED]["failing_checks"] == ["nic.eth0.channels.rx"]
    assert rows["engine-c5n-1"]["cells"]["tuning"] == "ok"
    assert seen["fail_badge_background"] == "rgb(255, 235, 233)"  # the CSS applied
