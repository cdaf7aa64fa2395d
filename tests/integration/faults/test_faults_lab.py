"""Fault injection on a lab of its own: the platform fails safe under faults and bad input.

One lab for every case (its own name, /24 and moto port), engine hosts from moto through
the real inventory path, and `tradeops` driven as an operator drives it. Plays are kept to
the engine hosts (the DR fence off, batches of two) or to two AWS layers, never a whole
site.yml. Every case compares the lab before and after: what is outside the failed part
has not changed. In file order (the cases build on each other):

  refusals      a stopped host container; a malformed inventory outside the checkout; a
                misspelt tag, --skip-tags, a --limit that matches nothing; a paused host
                (exit 5): nothing changes
  preflight     one host's bad input stops the engine rollout before any host changes; a
                tuning profile that does not fit is shown whole and nothing is tuned
  lost host     an engine host stopped mid-rollout stops it after its batch (the next batch
                untouched); once back, the same command continues
  /health       the engines listen on their own lab address and loopback, and show their
                configuration to loopback clients only
  full disk     the release cannot be installed: the previous release keeps running
  Ctrl-C        during a host play and during the AWS layers: exit 130, no process left,
                temporary files removed; the re-run converges without duplicates
  moto down     mid-run: the AWS layers fail, the hosts are untouched, the next run is
                refused naming moto
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tradeops.runner import run_processes

from ..engine.enginelab import aws, engine_lab
from ..support import ROOT, VENV_BIN, lab_environment, tradeops

pytestmark = pytest.mark.lab

LAB = "faults"
SUBNET = "198.19.80.0/24"
# Engine deploys of this suite: the DR fence (its own tests cover it) off, batches of two.
DEPLOY = [
    "playbooks/hosts/engine.yml",
    "-e",
    "dr_fence_enabled=false",
    "-e",
    "engine_rollout_serial=2",
]
AWS_LAYERS = ["playbooks/aws/site.yml", "-e", '{"tradeops_aws_layers": ["security", "kinesis"]}']
# engine_tuning's lab profile made impossible three ways (the tuning problem list).
BAD_PROFILE = {
    "engine_tuning_profile": {
        "name": "toobig",
        "cpu": {"housekeeping": "0", "isolated": "0-71"},
        "hugepages": {"default_size": "1G", "pages": [{"size": "1G", "count": 4096}]},
        "irq": {"owner": "irqbalance"},
        "clock": {"source": "ntp", "servers": ["127.0.0.1"]},
    }
}
FULL_DISK_MB = 4
TIMINGS: dict[str, float] = {}


# ---------------------------------------------------------------------------- helpers


def podman(env, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=check, timeout=120
    )


def on_host(env, host: str, script: str, check: bool = True) -> str:
    return podman(env, "exec", f"{LAB}-{host}", "sh", "-c", script, check=check).stdout


def cli(env, *args: str, report: Path | None = None, label: str | None = None):
    """tradeops as an operator runs it: (process, report dict or {})."""
    extra = ["--report", str(report)] if report else []
    if report:
        report.unlink(missing_ok=True)
    started = time.monotonic()
    proc = tradeops(*args[:2], *extra, *args[2:], env=env)
    if label:
        TIMINGS[label] = round(time.monotonic() - started, 1)
    data = json.loads(report.read_text()) if report and report.is_file() else {}
    return proc, data


class Running:
    """tradeops in the background, its stderr collected line by line."""

    def __init__(self, env, *args: str, report: Path):
        report.unlink(missing_ok=True)
        self.report = report
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "tradeops"), *args[:2], "--report", str(report), *args[2:]],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, needle: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {needle!r}:\n{self.output[-4000:]}")
            time.sleep(0.2)

    def finish(self, timeout: float = 900) -> tuple[int, dict]:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        data = json.loads(self.report.read_text()) if self.report.is_file() else {}
        return self.proc.returncode, data

    @property
    def output(self) -> str:
        return "".join(self.lines)


def engine_state(env, host: str) -> dict:
    """Where current points, the releases, the engine's pid, stray downloads, on the host."""
    out = on_host(
        env,
        host,
        "readlink /opt/refengine/current || echo none; "
        "ls /opt/refengine/releases 2>/dev/null | tr '\\n' ' '; echo; "
        "systemctl show -P MainPID refengine 2>/dev/null || echo 0; "
        "ls -a /opt/refengine 2>/dev/null | grep -c '^.incoming' || true",
        check=False,
    ).splitlines()
    return {
        "current": out[0].strip(),
        "releases": sorted(out[1].split()),
        "pid": out[2].strip(),
        "incoming": int(out[3].strip() or 0),
    }


HEALTH = (
    "import json, sys, urllib.request, urllib.error\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
    "except urllib.error.HTTPError as e:\n"
    "    r = e\n"
    "print(json.dumps({'status': r.status, 'body': json.load(r)}))\n"
)


def health(env, host: str, url: str = "http://127.0.0.1:8080/health") -> dict:
    return json.loads(podman(env, "exec", f"{LAB}-{host}", "python3", "-c", HEALTH, url).stdout)


def cloud(env) -> dict:
    """What the AWS layers of this suite own in moto, per region."""
    seen = {}
    for region in ("us-east-1", "us-west-2"):
        kms = aws(env, "kms", region)
        aliases = [
            a for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")
        ]
        seen[region] = {
            "keys": sorted(k["KeyId"] for k in kms.list_keys()["Keys"]),
            "aliases": sorted((a["AliasName"], a.get("TargetKeyId")) for a in aliases),
            "streams": sorted(aws(env, "kinesis", region).list_streams()["StreamNames"]),
            "secrets": sorted(
                s["Name"] for s in aws(env, "secretsmanager", region).list_secrets()["SecretList"]
            ),
        }
    seen["roles"] = sorted(r["RoleName"] for r in aws(env, "iam").list_roles()["Roles"])
    seen["instances"] = sorted(
        i["InstanceId"]
        for r in aws(env, "ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
    )
    return seen


def containers(env) -> dict[str, str]:
    out = podman(
        env, "ps", "-a", "--filter", f"label=io.tradeops.lab={LAB}", "--format", "json"
    ).stdout
    return {c["Names"][0].removeprefix(f"{LAB}-"): c["State"] for c in json.loads(out)}


def snapshot(env, engines: list[str]) -> dict:
    return {
        "containers": containers(env),
        "engines": {host: engine_state(env, host) for host in engines},
        "cloud": cloud(env),
    }


def inventory_copy(tmp_path: Path) -> Path:
    """The lab inventory, copied outside the checkout (any inventory path must work)."""
    copy = tmp_path / "elsewhere" / "lab"
    shutil.copytree(ROOT / "inventories" / "lab", copy)
    return copy


def no_run_left(run_id: str) -> None:
    deadline = time.monotonic() + 10
    while run_processes(run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run_processes(run_id) == []
    assert not (ROOT / ".cache" / "runs" / run_id / "tmp").exists()


# ---------------------------------------------------------------------------- the lab


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory) -> dict[str, str]:
    return lab_environment(
        LAB,
        SUBNET,
        # facts of this lab's hosts only (the checkout's cache is shared by every lab)
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path_factory.mktemp("facts")),
    )


@pytest.fixture(scope="module")
def lab(lab_env):
    started = time.monotonic()
    try:
        with engine_lab(lab_env, TIMINGS, "lab up") as up:
            yield up
    finally:
        shutil.rmtree(ROOT / ".cache" / "aws" / f"lab-moto{lab_env['TRADEOPS_MOTO_PORT']}", True)
        TIMINGS["whole suite"] = round(time.monotonic() - started, 1)
        print(f"\nfault suite timings (s): {json.dumps(TIMINGS)}")


@pytest.fixture(scope="module")
def engines(lab, lab_env) -> list[str]:
    """The engine hosts in rollout order: the canary first, the bare-metal host last."""
    out = subprocess.run(
        [str(VENV_BIN / "ansible"), "engines", "--list-hosts"],
        cwd=ROOT,
        env=lab_env,
        capture_output=True,
        text=True,
        check=True,
    )
    hosts = [line.strip() for line in out.stdout.splitlines()[1:] if line.strip()]
    assert len(hosts) == 4 and hosts[-1] == "engine-bm-1", hosts
    return hosts


@pytest.fixture(scope="module")
def full_disk_host(lab, lab_env, engines) -> str:
    """engine-bm-1 keeps its releases on a small tmpfs of its own (mounted in the
    container's mount namespace only: nothing of the machine changes)."""
    host = engines[-1]
    pid = podman(lab_env, "inspect", "-f", "{{.State.Pid}}", f"{LAB}-{host}").stdout.strip()
    subprocess.run(
        [
            "nsenter",
            "-t",
            pid,
            "-m",
            "--",
            "sh",
            "-c",
            f"mkdir -p /opt/refengine && mount -t tmpfs -o size={FULL_DISK_MB}m,mode=0755 "
            "faults-disk /opt/refengine",
        ],
        check=True,
        timeout=30,
    )
    return host


# ---------------------------------------------------------------------------- refusals


def test_a_stopped_host_container_is_named_in_the_refusal(lab, lab_env, engines, tmp_path):
    before = snapshot(lab_env, engines)
    podman(lab_env, "stop", "-t", "2", f"{LAB}-mon-1")
    try:
        proc, report = cli(lab_env, "run", *DEPLOY, report=tmp_path / "r.json")
        assert proc.returncode == 3, proc.stderr
        assert f"host containers not running: {LAB}-mon-1 (exited)" in proc.stderr
        assert "tradeops lab up" in proc.stderr and report == {}
    finally:
        assert tradeops("lab", "up", env=lab_env).returncode == 0
    assert snapshot(lab_env, engines) == before


def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(
    lab, lab_env, engines, tmp_path
):
    before = snapshot(lab_env, engines)
    # A malformed group_vars file in an inventory outside the checkout: file and line.
    copy = inventory_copy(tmp_path)
    broken = copy / "group_vars" / "monitoring" / "broken.yml"
    broken.write_text("prometheus_retention: [15d\nprometheus_port: 9090\n")
    proc, _ = cli(lab_env, "run", *DEPLOY, "-i", str(copy))
    assert proc.returncode == 3, proc.stderr
    assert f"{broken}:2:16: YAML syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr
    # An inventory that parses but says something Ansible would skip: file and line.
    broken.unlink()
    hosts = copy / "hosts.yml"
    hosts.write_text(
        hosts.read_text().replace("    monitoring:\n      hosts:", "    monitoring:\n      host:")
    )
    proc, _ = cli(lab_env, "run", *DEPLOY, "-i", str(copy))
    assert proc.returncode == 3, proc.stderr
    assert f"{hosts}:" in proc.stderr and "group monitoring has a key 'host'" in proc.stderr
    # A misspelt tag, a misspelt skip-tag, a limit that matches nothing: exit 2.
    proc, _ = cli(lab_env, "run", "site", "--tags", "netwrok")
    assert proc.returncode == 2, proc.stderr
    assert "did you mean 'network'" in proc.stderr and "kernel_tuning" in proc.stderr
    proc, _ = cli(lab_env, "run", *DEPLOY, "--skip-tags", "verfiy")
    assert proc.returncode == 2 and "did you mean 'verify'" in proc.stderr, proc.stderr
    proc, _ = cli(lab_env, "run", *DEPLOY, "--limit", "engine-nosuch-9")
    assert proc.returncode == 2 and "--limit engine-nosuch-9 matches no host" in proc.stderr
    proc, _ = cli(lab_env, "run", *DEPLOY, "--limit", "mon-1")  # in the inventory, not a target
    assert proc.returncode == 2, proc.stderr
    assert "matches no host that a play of playbooks/hosts/engine.yml targets" in proc.stderr
    assert snapshot(lab_env, engines) == before


def test_a_paused_host_is_unreachable_exit_5(lab, lab_env, engines, tmp_path):
    host = engines[2]
    before = snapshot(lab_env, engines)
    copy = inventory_copy(tmp_path)  # not the lab's own path: no lab refusal
    podman(lab_env, "pause", f"{LAB}-{host}")
    try:
        proc, report = cli(
            lab_env,
            "run",
            "playbooks/hosts/tuning.yml",
            "-i",
            str(copy),
            "--limit",
            host,
            "--tags",
            "preflight",
            report=tmp_path / "r.json",
        )
    finally:
        podman(lab_env, "unpause", f"{LAB}-{host}")
    assert proc.returncode == 5, proc.stderr
    assert report["status"] == "unreachable"
    assert f"UNREACHABLE {host}:" in proc.stderr
    assert f"container {LAB}-{host} is paused" in " ".join(proc.stderr.split())
    assert snapshot(lab_env, engines) == before


# ---------------------------------------------------------------------------- preflight


def test_tags_preflight_passes_on_a_healthy_lab(lab, lab_env, engines, tmp_path):
    # An empty fact cache: what a fresh controller (or an expired cache) has.
    env = dict(lab_env, ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"))
    before = snapshot(lab_env, engines)
    proc, report = cli(
        env, "run", "playbooks/hosts/site.yml", "--tags", "preflight", report=tmp_path / "r.json"
    )
    assert snapshot(lab_env, engines) == before
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {h for h, c in report["hosts"].items() if c["changed"]} == set()


def test_one_host_s_failed_preflight_stops_the_rollout_before_any_host_changes(
    lab, lab_env, engines, full_disk_host, tmp_path
):
    before = snapshot(lab_env, engines)
    copy = inventory_copy(tmp_path)
    (copy / "host_vars").mkdir()
    (copy / "host_vars" / f"{engines[-1]}.yml").write_text("engine_deploy_keep_releases: 1\n")
    proc, report = cli(
        lab_env,
        "run",
        *DEPLOY,
        "-i",
        str(copy),
        "-e",
        "engine_deploy_version=1.0.0",
        report=tmp_path / "r.json",
        label="preflight stops the rollout",
    )
    assert proc.returncode == 4, proc.stderr
    assert {f["host"] for f in report["failures"]} == {engines[-1]}
    assert "engine_deploy_keep_releases must be at least 2" in proc.stderr
    assert all(report["hosts"][h]["changed"] == 0 for h in engines), report["hosts"]
    assert snapshot(lab_env, engines) == before  # not even the canary was touched


def test_a_tuning_profile_that_does_not_fit_is_shown_whole_and_nothing_is_tuned(
    lab, lab_env, engines, tmp_path
):
    host = engines[-1]
    files = "ls /etc/sysctl.d /etc/systemd/system /etc/default 2>/dev/null | md5sum"
    before, on_disk = snapshot(lab_env, engines), on_host(lab_env, host, files)
    proc, report = cli(
        lab_env,
        "run",
        "playbooks/hosts/tuning.yml",
        "--limit",
        host,
        "-e",
        json.dumps(BAD_PROFILE),
        report=tmp_path / "r.json",
    )
    assert proc.returncode == 4, proc.stderr
    shown = " ".join(proc.stderr.split())
    for problem in (
        "are not online on this host",
        "cpu.isolated: overlaps cpu.housekeeping on CPUs 0",
        "fix: make housekeeping and isolated disjoint",
        "hugepages.pages: node 0 needs 4194304 MiB of hugepages",
        "fix: reserve fewer pages on that node",
    ):
        assert problem in shown, problem
    assert report["hosts"][host]["changed"] == 0
    assert on_host(lab_env, host, files) == on_disk
    assert snapshot(lab_env, engines) == before


# ---------------------------------------------------------------------------- a lost host


def test_a_host_lost_mid_rollout_stops_it_after_its_batch(
    lab, lab_env, engines, full_disk_host, tmp_path
):
    canary, lost, batch_mate, next_batch = engines
    run = Running(
        lab_env, "run", *DEPLOY, "-e", "engine_deploy_version=1.0.0", report=tmp_path / "r.json"
    )
    started = time.monotonic()
    run.wait_for("PLAY Engine | rolling batches")
    podman(lab_env, "stop", "-t", "2", f"{LAB}-{lost}")
    code, report = run.finish()
    TIMINGS["lost host run"] = round(time.monotonic() - started, 1)
    assert code == 4, run.output[-5000:]
    assert f"UNREACHABLE {lost}:" in run.output
    assert f"The engine rollout stops after this batch: {lost}" in " ".join(run.output.split())
    assert report["hosts"][lost]["unreachable"] == 1
    for host in (canary, batch_mate):
        assert engine_state(lab_env, host)["current"] == "releases/1.0.0", host
        assert health(lab_env, host)["body"]["version"] == "1.0.0", host
    # The next batch was never started: nothing installed, not even the directories.
    assert engine_state(lab_env, next_batch)["releases"] == []
    assert report["hosts"][next_batch]["changed"] == 0


def test_the_same_command_continues_once_the_host_is_back(lab, lab_env, engines, tmp_path):
    canary, lost, batch_mate, next_batch = engines
    assert tradeops("lab", "up", env=lab_env).returncode == 0
    done = {h: engine_state(lab_env, h) for h in (canary, batch_mate)}
    proc, report = cli(
        lab_env,
        "run",
        *DEPLOY,
        "-e",
        "engine_deploy_version=1.0.0",
        report=tmp_path / "r.json",
        label="re-run after the host is back",
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    for host in engines:
        assert engine_state(lab_env, host)["current"] == "releases/1.0.0", host
        assert health(lab_env, host)["status"] == 200, host
    for host, state in done.items():  # deployed before: not changed, not restarted
        assert report["hosts"][host]["changed"] == 0, host
        assert engine_state(lab_env, host) == state, host
    assert report["hosts"][lost]["changed"] > 0 and report["hosts"][next_batch]["changed"] > 0


# ---------------------------------------------------------------------------- /health


def test_engines_listen_on_their_own_address_and_show_config_on_loopback_only(
    lab, lab_env, engines
):
    topology = yaml.safe_load((ROOT / "lab" / "topology.yml").read_text())
    prefix = SUBNET.rsplit(".", 1)[0]
    addresses = {h["name"]: f"{prefix}.{h['address']}" for h in topology["hosts"]}
    for host in engines:
        listening = on_host(lab_env, host, "ss -Hltn 'sport = :8080' | awk '{print $4}' | sort")
        assert listening.split() == sorted([f"{addresses[host]}:8080", "127.0.0.1:8080"]), host
        local = health(lab_env, host)
        assert local["body"]["config"]["http"]["bind"] == addresses[host]
        # From the monitoring host, over the lab network: the gate's fields, no configuration.
        remote = health(lab_env, "mon-1", f"http://{addresses[host]}:8080/health")
        assert remote["status"] == 200 and remote["body"]["version"] == "1.0.0"
        assert "config" not in remote["body"]
        assert {"placement", "uptime_seconds", "problems"} <= set(remote["body"])


# ---------------------------------------------------------------------------- a full disk


def test_a_full_disk_during_deploy_keeps_the_previous_release_running(
    lab, lab_env, engines, full_disk_host, tmp_path
):
    host = full_disk_host
    before = snapshot(lab_env, engines)
    # Fill the host's release filesystem (its own small tmpfs) to the last byte.
    on_host(lab_env, host, "dd if=/dev/zero of=/opt/refengine/.filler bs=4096 2>/dev/null; true")
    try:
        proc, report = cli(
            lab_env,
            "run",
            *DEPLOY,
            "--limit",
            host,
            "-e",
            "engine_deploy_version=2.0.0",
            report=tmp_path / "r.json",
            label="full disk",
        )
    finally:
        on_host(lab_env, host, "rm -f /opt/refengine/.filler")
    assert proc.returncode == 4, proc.stderr[-5000:]
    assert "No space left on device" in proc.stderr
    assert {f["host"] for f in report["failures"]} == {host}
    after = snapshot(lab_env, engines)
    assert after["engines"][host]["current"] == "releases/1.0.0"
    assert after["engines"][host]["pid"] == before["engines"][host]["pid"]  # still running
    assert health(lab_env, host)["body"]["version"] == "1.0.0"
    for other in engines[:-1]:
        assert after["engines"][other] == before["engines"][other], other
    assert after["cloud"] == before["cloud"] and after["containers"] == before["containers"]


# ---------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_a_host_play_stops_everything_and_the_re_run_converges(
    lab, lab_env, engines, tmp_path
):
    host = engines[2]
    before = snapshot(lab_env, engines)
    run = Running(
        lab_env,
        "run",
        *DEPLOY,
        "--limit",
        host,
        "-e",
        "engine_deploy_version=2.0.0",
        report=tmp_path / "r.json",
    )
    run.wait_for("Install | send the artifact")
    sent = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    code, report = run.finish(timeout=120)
    TIMINGS["Ctrl-C to exit (host play)"] = round(time.monotonic() - sent, 1)
    assert code == 130, run.output[-5000:]
    assert report["status"] == "interrupted" and "INTERRUPTED" in run.output
    no_run_left(report["run_id"])
    assert on_host(lab_env, host, "pgrep -f '[A]nsiballZ' || true").strip() == ""
    for other in engines:
        if other != host:
            assert engine_state(lab_env, other) == before["engines"][other], other
    # The same command again: converges, the release once, no stray download.
    proc, report = cli(
        lab_env,
        "run",
        *DEPLOY,
        "--limit",
        host,
        "-e",
        "engine_deploy_version=2.0.0",
        report=tmp_path / "r2.json",
        label="re-run after Ctrl-C (host play)",
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    state = engine_state(lab_env, host)
    assert state["current"] == "releases/2.0.0" and state["incoming"] == 0
    assert state["releases"] == ["1.0.0", "2.0.0"]
    assert health(lab_env, host)["body"]["version"] == "2.0.0"


def test_ctrl_c_during_the_aws_layers_stops_everything_and_the_re_run_has_no_duplicates(
    lab, lab_env, engines, tmp_path
):
    before = snapshot(lab_env, engines)
    run = Running(lab_env, "run", *AWS_LAYERS, report=tmp_path / "r.json")
    run.wait_for("KMS | which aliases exist")  # the security layer's converge has begun
    time.sleep(1)
    sent = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    code, report = run.finish(timeout=120)
    TIMINGS["Ctrl-C to exit (AWS layers)"] = round(time.monotonic() - sent, 1)
    assert code == 130, run.output[-5000:]
    assert report["status"] == "interrupted"
    # the layer waits and async jobs too; the layers' marker directory lived in the run's
    # own temporary directory (TMPDIR), which is gone (not /tmp: other suites run beside)
    no_run_left(report["run_id"])
    proc, report = cli(lab_env, "run", *AWS_LAYERS, report=tmp_path / "r2.json", label="AWS re-run")
    assert proc.returncode == 0, proc.stderr[-5000:]
    after = snapshot(lab_env, engines)
    for region in ("us-east-1", "us-west-2"):
        seen = after["cloud"][region]
        # one customer key per alias, none orphaned by the interrupted create
        assert sorted(target for _, target in seen["aliases"]) == seen["keys"], seen
        assert seen["streams"] == ["tradeops-lab-market-data", "tradeops-lab-order-events"]
    assert len(after["cloud"]["roles"]) == len(set(after["cloud"]["roles"]))
    assert after["engines"] == before["engines"] and after["containers"] == before["containers"]
    assert after["cloud"]["instances"] == before["cloud"]["instances"]


def test_a_failed_aws_preflight_stops_the_whole_run_before_the_host_layers(
    lab, lab_env, engines, tmp_path
):
    before = snapshot(lab_env, engines)
    # Two layers, one with a bad input: the other passes its preflight, and the run must
    # still stop before any layer starts. (With the bad layer alone, every host of the
    # preflight play fails and Ansible itself ends the run there.)
    bad = {"tradeops_aws_layers": ["security", "kinesis"], "aws_security_secret_length": 8}
    proc, report = cli(
        lab_env,
        "run",
        "site",
        "--tags",
        "security,kinesis,preflight",
        "-e",
        json.dumps(bad),
        report=tmp_path / "r.json",
        label="failed AWS preflight",
    )
    assert proc.returncode == 4, proc.stderr[-5000:]
    shown = " ".join(proc.stderr.split())
    assert "aws_security_secret_length" in shown
    assert "no layer has been started, and the run stops here" in shown
    # Neither the Kubernetes nor the host layers of site.yml started.
    assert "PLAY Hosts |" not in proc.stderr and "PLAY Kubernetes |" not in proc.stderr
    assert set(report["hosts"]) <= {"localhost", "aws-security", "aws-kinesis"}, report["hosts"]
    assert report["hosts"]["aws-kinesis"]["changed"] == 0, report["hosts"]
    assert snapshot(lab_env, engines) == before


# ---------------------------------------------------------------------------- moto down


def test_moto_down_mid_run_fails_the_aws_layers_only_and_the_next_run_names_it(
    lab, lab_env, engines, tmp_path
):
    before = {host: engine_state(lab_env, host) for host in engines}
    run = Running(lab_env, "run", *AWS_LAYERS, report=tmp_path / "r.json")
    # After every layer's preflight, before the describe of every layer (on a converged lab
    # that one describe is the run's only AWS call after preflight: the layers are settled).
    run.wait_for("Remember that this layer's inputs passed")
    pidfile = ROOT / ".lab" / LAB / "moto.pid"
    os.kill(int(pidfile.read_text()), signal.SIGKILL)  # this lab's moto, by its pid file
    code, report = run.finish(timeout=600)
    assert code == 4, run.output[-5000:]
    failed = {f["host"] for f in report["failures"]}
    assert failed and failed <= {"aws-security", "aws-kinesis", "localhost"}, failed
    assert {host: engine_state(lab_env, host) for host in engines} == before
    proc, _ = cli(lab_env, "run", *DEPLOY)
    assert proc.returncode == 3, proc.stderr
    assert "moto" in proc.stderr and "does not answer" in proc.stderr
