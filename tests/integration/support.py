"""Helpers for the integration tests: a private moto server, running playbooks of the checkout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tradeops.runner import fact_cache_dir

ROOT = Path(__file__).resolve().parents[2]
# The collection's registry of AWS layers, imported as Ansible imports it (the benchmarks
# import this module outside pytest, without tests/conftest.py's path).
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.tradeops.platform.plugins.module_utils import aws_layers  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def tradeops(
    *args: str, env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """The tradeops CLI of the checkout's venv, as an operator runs it."""
    return subprocess.run(
        [str(VENV_BIN / "tradeops"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


# The AWS layers of playbooks/aws/site.yml, from the collection's registry: each runs as
# the pseudo-host aws-<layer> (the -dr layers are the DR region's copies of network, fleet
# and EKS; dr-state is the DR state in SSM of both regions).
AWS_LAYERS = tuple(aws_layers.names())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """A moto server of the test session's own, on 127.0.0.1 and a free port.

    `command` replaces the moto_server executable (it gets the same -H/-p arguments), for
    a test that starts moto with extra routes of its own."""

    def __init__(self, log: Path, command: list[str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        command = command or [str(VENV_BIN / "moto_server")]
        self.proc = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto did not start on {self.url}; see {log}")

    def reset(self) -> None:
        """Forget every resource in every region."""
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        # A reset rebuilds every service's backends in every region: under CI's three
        # streams it took more than 10 s twice (a TimeoutError, not a test's failure).
        urllib.request.urlopen(request, timeout=120).close()

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


def ansible_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.setdefault("CONTAINERS_CONF", str(ROOT / "lab" / "containers.conf"))
    env.update(extra)
    # Host facts of this lab only, where tradeops keeps them (labs name their hosts alike,
    # and the tests' direct ansible-playbook runs do not go through tradeops).
    lab = env.get("TRADEOPS_LAB_NAME")
    if lab and "ANSIBLE_CACHE_PLUGIN_CONNECTION" not in extra:
        cache = fact_cache_dir(ROOT, (ROOT / "inventories" / "lab").resolve(), lab)
        env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(cache)
    # A run history of this lab's own: suites run side by side (tests/run.sh), and one
    # SQLite file written by several runs at once would make them wait on its lock.
    if lab and "TRADEOPS_ARA_DIR" not in extra:
        env["TRADEOPS_ARA_DIR"] = str(ROOT / ".cache" / "ara" / f"test-{lab}")
    return env


def lab_environment(name: str, subnet: str, **extra: str) -> dict[str, str]:
    """The environment of a lab of a suite's own: its name, its /24 of the lab network, a
    moto port of its own (a suite runs beside the others, tests/run.sh)."""
    return ansible_env(
        TRADEOPS_LAB_NAME=name,
        TRADEOPS_LAB_SUBNET=subnet,
        TRADEOPS_MOTO_PORT=str(_free_port()),
        **extra,
    )


def run_playbook(
    playbook: str, *args: str, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook from the checkout (tests drive Ansible as an operator would)."""
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), playbook, *args],
        cwd=ROOT,
        env=env or ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{playbook} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
        )
    return proc
