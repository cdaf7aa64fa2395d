"""The lab: a moto server on loopback and systemd host containers on a podman network.

Everything `up` creates is named "<lab>-<name>" and labelled io.tradeops.lab=<lab>;
`down` removes exactly the objects with that label, and the moto process whose pid file
it wrote, nothing else.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import paths

LABEL = "io.tradeops.lab"


class LabError(Exception):
    """Something the operator has to fix; the message says what."""


LAB_RANGE = ipaddress.ip_network("198.18.0.0/15")


@dataclass(frozen=True)
class HostSpec:
    name: str
    address: int
    stands_in_for: str = ""


def lab_subnet(value: str) -> ipaddress.IPv4Network:
    """A /24 (or larger) inside 198.18.0.0/15, or a LabError saying why not."""
    try:
        subnet = ipaddress.ip_network(value)
    except ValueError as err:
        raise LabError(f"lab subnet {value!r} is not a network: {err}") from None
    if not isinstance(subnet, ipaddress.IPv4Network) or not subnet.subnet_of(LAB_RANGE):
        raise LabError(f"lab subnet {value} must lie inside {LAB_RANGE} (the benchmarking range)")
    if subnet.prefixlen > 24:
        raise LabError(f"lab subnet {value} is too small: use a /24 or larger")
    return subnet


class Lab:
    def __init__(self, root: Path | None = None, name: str | None = None, port: int | None = None):
        self.root = root or paths.project_root()
        self.topology = yaml.safe_load((self.root / "lab" / "topology.yml").read_text())
        self.name = name or os.environ.get("TRADEOPS_LAB_NAME", "tradeops")
        env_port = os.environ.get("TRADEOPS_MOTO_PORT")
        self.moto_host = self.topology["moto"]["host"]
        self.moto_port = int(port or env_port or self.topology["moto"]["port"])
        self.state = paths.state_dir(self.root) / self.name
        self.hosts = [HostSpec(**h) for h in self.topology["hosts"]]
        self.subnet = lab_subnet(
            os.environ.get("TRADEOPS_LAB_SUBNET") or self.topology["network"]["subnet"]
        )
        self.env = dict(os.environ)
        self.env.setdefault("CONTAINERS_CONF", str(self.root / "lab" / "containers.conf"))

    # ---- names -------------------------------------------------------------------
    @property
    def network(self) -> str:
        return f"{self.name}-{self.topology['network']['name']}"

    def container(self, host: str) -> str:
        return f"{self.name}-{host}"

    def ip(self, host: HostSpec) -> str:
        return str(self.subnet[host.address])

    @property
    def moto_url(self) -> str:
        return f"http://{self.moto_host}:{self.moto_port}"

    def image_ref(self) -> str:
        """The base image tag carries a hash of its recipe: a changed recipe is a new tag."""
        digest = hashlib.sha256()
        for rel in self.topology["image"]["recipe"]:
            digest.update(rel.encode())
            digest.update((self.root / "lab" / rel).read_bytes())
        return f"{self.topology['image']['name']}:{digest.hexdigest()[:12]}"

    # ---- podman ------------------------------------------------------------------
    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["podman", *args], env=self.env, capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise LabError(f"podman {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def _lines(self, *args: str) -> list[str]:
        return [line.strip() for line in self.podman(*args).stdout.splitlines() if line.strip()]

    def lab_containers(self) -> list[str]:
        return self._lines(
            "ps", "-a", "--filter", f"label={LABEL}={self.name}", "--format", "{{.Names}}"
        )

    def lab_networks(self) -> list[str]:
        return self._lines(
            "network", "ls", "--filter", f"label={LABEL}={self.name}", "--format", "{{.Name}}"
        )

    # ---- image -------------------------------------------------------------------
    def ensure_image(self, log=print) -> str:
        ref = self.image_ref()
        if self.podman("image", "exists", ref, check=False).returncode == 0:
            return ref
        log(f"building the lab base image {ref} (debootstrap, about a minute, once)")
        build = self.root / "lab" / "image" / "build.sh"
        proc = subprocess.run(["bash", str(build), ref], env=self.env, check=False)
        if proc.returncode != 0:
            raise LabError(f"building {ref} failed (see the messages above)")
        self._prune_images(keep=ref)
        return ref

    def _prune_images(self, keep: str) -> None:
        """Drop base images of older recipes; one still used by a container stays."""
        repo = self.topology["image"]["name"]
        tags = self._lines(
            "images", "--filter", f"reference={repo}", "--format", "{{.Repository}}:{{.Tag}}"
        )
        for tag in tags:
            if tag != keep:
                self.podman("rmi", tag, check=False)

    # ---- moto --------------------------------------------------------------------
    @property
    def moto_pidfile(self) -> Path:
        return self.state / "moto.pid"

    @property
    def moto_logfile(self) -> Path:
        return self.state / "moto.log"

    def moto_healthy(self) -> bool:
        """Healthy means it answers a real API call (STS GetCallerIdentity), quickly."""
        request = urllib.request.Request(
            self.moto_url + "/",
            data=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20000101/"
                f"{self.topology['moto']['regions'][0]}/sts/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                return response.status == 200 and b"<Account>" in response.read()
        except (OSError, urllib.error.URLError):
            return False

    def moto_pid(self) -> int | None:
        """The pid of *our* moto: from the pid file, and only if that process is moto."""
        try:
            pid = int(self.moto_pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if "moto_server" in cmdline else None

    def ensure_moto(self, log=print) -> None:
        if self.moto_pid() and self.moto_healthy():
            return
        if self.moto_healthy():
            raise LabError(
                f"something else already answers on {self.moto_url}: stop it or choose "
                f"another port with TRADEOPS_MOTO_PORT"
            )
        self.state.mkdir(parents=True, exist_ok=True)
        moto_server = Path(sys.executable).parent / "moto_server"
        env = dict(self.env, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        with open(self.moto_logfile, "ab") as logf:
            proc = subprocess.Popen(
                [str(moto_server), "-H", self.moto_host, "-p", str(self.moto_port)],
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.moto_pidfile.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(
                    f"moto exited at start (code {proc.returncode}); see {self.moto_logfile}"
                )
            if self.moto_healthy():
                log(f"moto listening on {self.moto_url}")
                return
            time.sleep(0.2)
        raise LabError(
            f"moto did not answer on {self.moto_url} within 30 s; see {self.moto_logfile}"
        )

    def stop_moto(self) -> bool:
        pid = self.moto_pid()
        if pid is None:
            self.moto_pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        self.moto_pidfile.unlink(missing_ok=True)
        return True

    # ---- network and hosts ---------------------------------------------------------
    def ensure_network(self) -> None:
        if self.network in self.lab_networks():
            return
        self.podman(
            "network",
            "create",
            "--label",
            f"{LABEL}={self.name}",
            "--subnet",
            str(self.subnet),
            "--gateway",
            str(self.subnet[1]),
            self.network,
        )

    def _inspect(self, container: str) -> dict[str, Any] | None:
        proc = self.podman("container", "inspect", container, check=False)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout)[0]

    def ensure_host(self, host: HostSpec, image: str) -> str:
        name = self.container(host.name)
        info = self._inspect(name)
        if info is None:
            self.podman(
                "run",
                "-d",
                "--name",
                name,
                "--hostname",
                host.name,
                "--network",
                self.network,
                "--ip",
                self.ip(host),
                "--label",
                f"{LABEL}={self.name}",
                "--label",
                f"io.tradeops.host={host.name}",
                "--systemd=always",
                image,
            )
            return "created"
        if not info["State"]["Running"]:
            self.podman("start", name)
            return "started"
        return "running"

    def wait_for_systemd(self, timeout: float = 90) -> None:
        pending = {self.container(h.name) for h in self.hosts}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                proc = self.podman("exec", name, "systemctl", "is-system-running", check=False)
                if proc.stdout.strip() in ("running", "degraded"):
                    pending.discard(name)
            if pending:
                time.sleep(0.5)
        if pending:
            raise LabError(f"systemd did not come up in: {', '.join(sorted(pending))}")

    # ---- the verbs -------------------------------------------------------------------
    def up(self, log=print) -> dict[str, str]:
        image = self.ensure_image(log)
        self.ensure_network()
        states = {h.name: self.ensure_host(h, image) for h in self.hosts}
        self.ensure_moto(log)
        self.wait_for_systemd()
        return states

    def down(self) -> dict[str, list[str]]:
        removed: dict[str, list[str]] = {"containers": [], "networks": [], "processes": []}
        for name in self.lab_containers():
            self.podman("rm", "-f", "-t", "2", name)
            removed["containers"].append(name)
        for name in self.lab_networks():
            self.podman("network", "rm", name)
            removed["networks"].append(name)
        if self.stop_moto():
            removed["processes"].append("moto_server")
        return removed

    def status(self) -> dict[str, Any]:
        image = self.image_ref()
        hosts = {}
        for host in self.hosts:
            info = self._inspect(self.container(host.name))
            if info is None:
                hosts[host.name] = "absent"
            else:
                state = "running" if info["State"]["Running"] else info["State"]["Status"]
                if info.get("ImageName") and info["ImageName"] != image:
                    state += " (older image: lab down && lab up to rebuild)"
                hosts[host.name] = state
        return {
            "lab": self.name,
            "moto": {"url": self.moto_url, "pid": self.moto_pid(), "healthy": self.moto_healthy()},
            "network": self.network if self.network in self.lab_networks() else None,
            "image": image,
            "hosts": hosts,
        }

    def is_up(self) -> bool:
        status = self.status()
        return bool(status["moto"]["healthy"] and status["network"]) and all(
            state.startswith("running") for state in status["hosts"].values()
        )
