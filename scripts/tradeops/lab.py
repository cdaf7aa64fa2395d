"""The lab: moto behind a region gate on loopback, and systemd host containers on a
podman network, each host in a region that can be failed.

Everything `up` creates is named "<lab>-<name>" and labelled io.tradeops.lab=<lab>;
`down` removes exactly the objects with that label, and the moto and gate processes whose
pid files it wrote, nothing else.

The lab's AWS endpoint (the topology's moto port, TRADEOPS_MOTO_PORT) is the region gate
(regiongate.py), on 127.0.0.1 and on the network's gateway (what the containers use);
moto runs behind it on a free internal port. `fail_region` makes the gate refuse the
region's API calls and pauses the region's host containers; `restore_region` undoes it.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import paths, regiongate

LABEL = "io.tradeops.lab"


class LabError(Exception):
    """Something the operator has to fix; the message says what."""


LAB_RANGE = ipaddress.ip_network("198.18.0.0/15")


@dataclass(frozen=True)
class HostSpec:
    name: str
    address: int
    region: str
    stands_in_for: str = ""


# The fleet benchmark's extra engine hosts: on-premises bare metal like engine-bm-1, at
# host numbers from here up in the lab's /24 (the topology's hosts stay below it).
EXTRA_ENGINE_FIRST_ADDRESS = 100


def fleet_hosts(hosts: list[HostSpec], engines: int | None, region: str) -> list[HostSpec]:
    """The topology's hosts, with extra bare-metal engine hosts (engine-bm-2, -3, ...) in
    ``region`` up to ``engines`` engine hosts in all (None: the topology's own)."""
    have = [h for h in hosts if h.name.startswith("engine-")]
    if engines is None or engines == len(have):
        return list(hosts)
    if engines < len(have):
        raise LabError(
            f"TRADEOPS_LAB_ENGINES={engines}: the lab has {len(have)} engine hosts of its own "
            "(lab/topology.yml); it can add engine hosts, not remove them"
        )
    extra = engines - len(have)
    if EXTRA_ENGINE_FIRST_ADDRESS + extra > 254:
        raise LabError(
            f"TRADEOPS_LAB_ENGINES={engines}: at most {254 - EXTRA_ENGINE_FIRST_ADDRESS} extra "
            "engine hosts fit in the lab's /24"
        )
    taken = {h.name for h in hosts}
    out, number = list(hosts), 1
    while extra:
        number += 1
        name = f"engine-bm-{number}"
        if name in taken:
            continue
        address = EXTRA_ENGINE_FIRST_ADDRESS + len(out) - len(hosts)
        out.append(HostSpec(name, address, region, "extra on-premises engine (fleet benchmark)"))
        extra -= 1
    return out


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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _process_pid(pidfile: Path, marker: str) -> int | None:
    """The pid in pidfile, only if that process's command line contains marker."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if marker in cmdline else None


def _stop_process(pidfile: Path, marker: str) -> bool:
    """SIGTERM (then SIGKILL after 5 s) the process of pidfile if it is ours, wait until it
    is gone; drop the file."""
    pid = _process_pid(pidfile, marker)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    # The process may end on its own between any two of these steps (a killed test run's
    # moto, say): gone is what we want.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, 5.0):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)  # a killed process is gone only once it is reaped
    pidfile.unlink(missing_ok=True)
    return True


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _gone(pid: int) -> bool:
    """The process has exited and been reaped (here, if it is this process's child)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return not Path(f"/proc/{pid}").exists()


def _sts_probe(url: str, region: str) -> tuple[int, bytes] | None:
    """STS GetCallerIdentity signed (in form) for region: (status, body), None if no answer."""
    request = urllib.request.Request(
        url + "/", data=regiongate.STS_PROBE, headers=regiongate.sts_headers(region)
    )
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (OSError, urllib.error.URLError):
        return None


class Lab:
    def __init__(self, root: Path | None = None, name: str | None = None, port: int | None = None):
        self.root = root or paths.project_root()
        self.topology = yaml.safe_load((self.root / "lab" / "topology.yml").read_text())
        self.name = name or os.environ.get("TRADEOPS_LAB_NAME", "tradeops")
        env_port = os.environ.get("TRADEOPS_MOTO_PORT")
        self.moto_host = self.topology["moto"]["host"]
        # The lab's AWS endpoint port: the region gate's (moto itself is behind it).
        self.moto_port = int(port or env_port or self.topology["moto"]["port"])
        self.regions: list[str] = list(self.topology["moto"]["regions"])
        self.state = paths.state_dir(self.root) / self.name
        self.hosts = [HostSpec(**h) for h in self.topology["hosts"]]
        # TRADEOPS_LAB_ENGINES: more engine hosts than the topology's (the fleet benchmark);
        # the extra ones are listed in fleet_inventory, which a run adds with -i.
        engines = os.environ.get("TRADEOPS_LAB_ENGINES")
        self.extra_hosts = fleet_hosts(
            self.hosts, int(engines) if engines else None, self.regions[0]
        )
        self.extra_hosts = self.extra_hosts[len(self.hosts) :]
        self.hosts += self.extra_hosts
        for host in self.hosts:
            if host.region not in self.regions:
                raise LabError(
                    f"lab/topology.yml: host {host.name} is in region {host.region}, which is "
                    f"not one of the lab's regions ({', '.join(self.regions)})"
                )
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
    def gateway(self) -> str:
        """The lab network's gateway: the machine, as the containers see it."""
        return str(self.subnet[1])

    @property
    def moto_url(self) -> str:
        """The lab's AWS endpoint on the controller (the region gate, in front of moto)."""
        return f"http://{self.moto_host}:{self.moto_port}"

    @property
    def aws_endpoint_for_hosts(self) -> str:
        """The lab's AWS endpoint as a lab container reaches it (the gate on the gateway)."""
        return f"http://{self.gateway}:{self.moto_port}"

    def image_ref(self) -> str:
        """The base image tag carries a hash of its recipe: a changed recipe is a new tag."""
        digest = hashlib.sha256()
        for rel in self.topology["image"]["recipe"]:
            digest.update(rel.encode())
            digest.update((self.root / "lab" / rel).read_bytes())
        return f"{self.topology['image']['name']}:{digest.hexdigest()[:12]}"

    # ---- regions -------------------------------------------------------------------
    def hosts_in_region(self, region: str) -> list[str]:
        """The names of the lab's hosts in region (topology order)."""
        return [h.name for h in self.hosts if h.region == region]

    def _check_region(self, region: str) -> None:
        if region not in self.regions:
            raise LabError(
                f"{region!r} is not a region of the lab; its regions are "
                f"{', '.join(self.regions)} (lab/topology.yml)"
            )

    @property
    def failed_regions_file(self) -> Path:
        return self.state / "failed-regions"

    def failed_regions(self) -> list[str]:
        """The regions the gate refuses now (sorted)."""
        return sorted(regiongate.read_failed_regions(self.failed_regions_file))

    @contextlib.contextmanager
    def _regions_locked(self):
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "failed-regions.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write_failed_regions(self, regions: set[str]) -> None:
        if not regions:
            self.failed_regions_file.unlink(missing_ok=True)
            return
        text = "# regions the lab's gate refuses (tradeops lab fail-region); one a line\n"
        text += "".join(f"{r}\n" for r in sorted(regions))
        tmp = self.failed_regions_file.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.failed_regions_file)

    def fail_region(self, region: str) -> dict[str, Any]:
        """Fail region: the gate refuses its API calls at once, its hosts are paused.

        Idempotent. Returns what happened to each of the region's hosts."""
        self._check_region(region)
        with self._regions_locked():
            self._write_failed_regions(set(self.failed_regions()) | {region})
        states = self.container_states()
        hosts = {}
        for host in self.hosts_in_region(region):
            name = self.container(host)
            state = states.get(name, {}).get("state")
            if state == "running":
                self.podman("pause", name)
                hosts[host] = "paused"
            elif state == "paused":
                hosts[host] = "already paused"
            else:
                hosts[host] = state or "absent"
        return {
            "lab": self.name,
            "region": region,
            "failed_regions": self.failed_regions(),
            "hosts": hosts,
            "fleet_inventory": str(self.fleet_inventory) if self.extra_hosts else None,
        }

    def restore_region(self, region: str) -> dict[str, Any]:
        """Undo fail_region: unpause the region's hosts, then let its API calls through.

        Idempotent."""
        self._check_region(region)
        states = self.container_states()
        hosts = {}
        for host in self.hosts_in_region(region):
            name = self.container(host)
            state = states.get(name, {}).get("state")
            if state == "paused":
                self.podman("unpause", name)
                hosts[host] = "unpaused"
            else:
                hosts[host] = state or "absent"
        with self._regions_locked():
            self._write_failed_regions(set(self.failed_regions()) - {region})
        return {
            "lab": self.name,
            "region": region,
            "failed_regions": self.failed_regions(),
            "hosts": hosts,
        }

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

    def container_states(self) -> dict[str, dict[str, str]]:
        """{container: {"state": running|paused|exited|..., "image": ref}}, one podman call."""
        out = self.podman(
            "ps", "-a", "--filter", f"label={LABEL}={self.name}", "--format", "json"
        ).stdout
        return {
            c["Names"][0]: {"state": c.get("State", ""), "image": c.get("Image", "")}
            for c in json.loads(out or "[]")
        }

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

    # ---- moto (behind the gate, on an internal port) ---------------------------------
    @property
    def moto_pidfile(self) -> Path:
        return self.state / "moto.pid"

    @property
    def moto_portfile(self) -> Path:
        return self.state / "moto.port"

    @property
    def moto_logfile(self) -> Path:
        return self.state / "moto.log"

    def upstream_port(self) -> int | None:
        """moto's internal port (recorded by ensure_moto), or None."""
        try:
            return int(self.moto_portfile.read_text().strip())
        except (OSError, ValueError):
            return None

    @property
    def upstream_url(self) -> str | None:
        port = self.upstream_port()
        return f"http://{self.moto_host}:{port}" if port else None

    def moto_healthy(self) -> bool:
        """moto itself answers a real API call (STS GetCallerIdentity), quickly."""
        url = self.upstream_url
        answer = _sts_probe(url, self.regions[0]) if url else None
        return bool(answer and answer[0] == 200 and b"<Account>" in answer[1])

    def moto_pid(self) -> int | None:
        """The pid of *our* moto: from the pid file, and only if that process is moto."""
        return _process_pid(self.moto_pidfile, "moto_server")

    def ensure_moto(self, log=print) -> None:
        if self.moto_pid() and self.moto_healthy():
            return
        self.stop_moto()  # ours, but not answering (or a stale pid file)
        self.state.mkdir(parents=True, exist_ok=True)
        port = free_port(self.moto_host)
        moto_server = Path(sys.executable).parent / "moto_server"
        env = dict(self.env, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        with open(self.moto_logfile, "ab") as logf:
            proc = subprocess.Popen(
                [str(moto_server), "-H", self.moto_host, "-p", str(port)],
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.moto_pidfile.write_text(f"{proc.pid}\n")
        self.moto_portfile.write_text(f"{port}\n")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(
                    f"moto exited at start (code {proc.returncode}); see {self.moto_logfile}"
                )
            if self.moto_healthy():
                log(f"moto listening on {self.upstream_url} (behind the gate)")
                return
            time.sleep(0.2)
        raise LabError(
            f"moto did not answer on {self.upstream_url} within 30 s; see {self.moto_logfile}"
        )

    def stop_moto(self) -> bool:
        stopped = _stop_process(self.moto_pidfile, "moto_server")
        self.moto_portfile.unlink(missing_ok=True)
        return stopped

    # ---- the region gate (the lab's AWS endpoint) -------------------------------------
    @property
    def gate_pidfile(self) -> Path:
        return self.state / "gate.pid"

    @property
    def gate_logfile(self) -> Path:
        """The gate's own messages (start-up, errors)."""
        return self.state / "gate.log"

    @property
    def gate_requests_file(self) -> Path:
        """One JSON line per request the gate saw."""
        return self.state / "gate.jsonl"

    @property
    def gate_listen(self) -> list[str]:
        return [f"{self.moto_host}:{self.moto_port}", f"{self.gateway}:{self.moto_port}"]

    def _gate_args(self) -> list[str]:
        args = []
        for address in self.gate_listen:
            args += ["--listen", address]
        return [
            *args,
            "--upstream",
            f"{self.moto_host}:{self.upstream_port()}",
            "--failed-regions",
            str(self.failed_regions_file),
            "--log",
            str(self.gate_requests_file),
        ]

    def gate_pid(self) -> int | None:
        """The pid of *our* gate: from the pid file, and only if that process is the gate."""
        return _process_pid(self.gate_pidfile, "tradeops.regiongate")

    def _gate_is_current(self, pid: int) -> bool:
        """The running gate listens where it should and relays to the current moto."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            return False
        return argv[3:-1] == self._gate_args()

    def gate_healthy(self) -> bool:
        """A real STS call through the gate answers, signed for a region that is not failed.

        With every region failed, the gate's own refusal is the healthy answer."""
        failed = set(self.failed_regions())
        live = [r for r in self.regions if r not in failed]
        answer = _sts_probe(self.moto_url, live[0] if live else self.regions[0])
        if answer is None:
            return False
        if live:
            return answer[0] == 200 and b"<Account>" in answer[1]
        return answer[0] == 503 and b"tradeops lab fail-region" in answer[1]

    def _port_taken(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex((self.moto_host, self.moto_port)) == 0

    def ensure_gate(self, log=print) -> None:
        pid = self.gate_pid()
        if pid and self._gate_is_current(pid) and self.gate_healthy():
            return
        self.stop_gate()
        if self._port_taken():
            raise LabError(
                f"something else already answers on {self.moto_url}: stop it or choose "
                f"another port with TRADEOPS_MOTO_PORT"
            )
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.gate_logfile, "ab") as logf:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tradeops.regiongate", *self._gate_args()],
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        self.gate_pidfile.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(
                    f"the region gate exited at start (code {proc.returncode}); "
                    f"see {self.gate_logfile}"
                )
            if self.gate_healthy():
                log(f"region gate on {', '.join(self.gate_listen)} -> moto")
                return
            time.sleep(0.1)
        raise LabError(
            f"the region gate did not answer on {self.moto_url} within 15 s; "
            f"see {self.gate_logfile}"
        )

    def stop_gate(self) -> bool:
        return _stop_process(self.gate_pidfile, "tradeops.regiongate")

    def gate_log(self, since: datetime.datetime | float | None = None) -> list[dict[str, Any]]:
        """The gate's request log, parsed; only entries at or after `since` (a datetime or
        epoch seconds) when given."""
        if isinstance(since, int | float):
            since = datetime.datetime.fromtimestamp(since, datetime.UTC)
        entries = []
        try:
            lines = self.gate_requests_file.read_text().splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            if not line.strip():
                continue
            entry = json.loads(line)
            if since is None or datetime.datetime.fromisoformat(entry["time"]) >= since:
                entries.append(entry)
        return entries

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
            self.gateway,
            self.network,
        )

    def _inspect(self, container: str) -> dict[str, Any] | None:
        proc = self.podman("container", "inspect", container, check=False)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout)[0]

    def ensure_host(self, host: HostSpec, image: str, failed: set[str] | None = None) -> str:
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
        if info["State"].get("Status") == "paused":
            if host.region in (failed or set()):
                return "kept paused"  # its region is failed: up does not undo that
            self.podman("unpause", name)
            return "unpaused"
        if not info["State"]["Running"]:
            self.podman("start", name)
            return "started"
        return "running"

    def wait_for_systemd(self, timeout: float = 180) -> None:
        states = self.container_states()
        pending = {
            self.container(h.name)
            for h in self.hosts
            if states.get(self.container(h.name), {}).get("state") != "paused"
        }
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

    @property
    def fleet_inventory(self) -> Path:
        """An inventory of the extra engine hosts (TRADEOPS_LAB_ENGINES), written by up():
        `-i inventories/lab -i <this>`. Each names its container: the lab inventory's
        constructed source runs before this file's hosts exist."""
        return self.state / "fleet.yml"

    def write_fleet_inventory(self) -> None:
        hosts = {
            h.name: {"tradeops_region": h.region, "ansible_host": self.container(h.name)}
            for h in self.extra_hosts
        }
        groups = {"engines": {"children": {"engines_baremetal": {"hosts": hosts}}}}
        self.state.mkdir(parents=True, exist_ok=True)
        self.fleet_inventory.write_text(
            "# Written by `tradeops lab up` (TRADEOPS_LAB_ENGINES): the extra engine hosts.\n"
            + yaml.safe_dump({"all": {"children": groups}}, sort_keys=False)
        )

    # ---- the verbs -------------------------------------------------------------------
    def up(self, log=print) -> dict[str, str]:
        if self.extra_hosts:
            self.write_fleet_inventory()
        image = self.ensure_image(log)
        self.ensure_network()
        failed = set(self.failed_regions())
        states = {h.name: self.ensure_host(h, image, failed) for h in self.hosts}
        self.ensure_moto(log)
        self.ensure_gate(log)
        self.wait_for_systemd()
        # A failed region stays failed: hosts of it made or started just now are paused.
        for region in sorted(failed):
            for host, what in self.fail_region(region)["hosts"].items():
                if what == "paused":
                    states[host] += ", paused"
        return states

    def down(self) -> dict[str, list[str]]:
        removed: dict[str, list[str]] = {"containers": [], "networks": [], "processes": []}
        for name, info in self.container_states().items():
            if info["state"] == "paused":  # a failed region's host: thaw it to remove it
                self.podman("unpause", name, check=False)
            self.podman("rm", "-f", "-t", "2", name)
            removed["containers"].append(name)
        for name in self.lab_networks():
            self.podman("network", "rm", name)
            removed["networks"].append(name)
        if self.stop_gate():
            removed["processes"].append("regiongate")
        if self.stop_moto():
            removed["processes"].append("moto_server")
        # A new lab starts with every region up.
        with self._regions_locked():
            self._write_failed_regions(set())
        return removed

    def status(self) -> dict[str, Any]:
        image = self.image_ref()
        failed = self.failed_regions()
        containers = self.container_states()
        hosts = {}
        for host in self.hosts:
            info = containers.get(self.container(host.name))
            if info is None:
                hosts[host.name] = "absent"
                continue
            state = info["state"]
            if state == "paused" and host.region in failed:
                state = f"paused (region {host.region} failed)"
            if info["image"] and info["image"] != image:
                state += " (older image: lab down && lab up to rebuild)"
            hosts[host.name] = state
        return {
            "lab": self.name,
            "aws_endpoint": self.moto_url,
            "aws_endpoint_for_hosts": self.aws_endpoint_for_hosts,
            "gate": {
                "url": self.moto_url,
                "listen": self.gate_listen,
                "pid": self.gate_pid(),
                "healthy": self.gate_healthy(),
                "requests_log": str(self.gate_requests_file),
            },
            "moto": {
                "url": self.upstream_url,
                "pid": self.moto_pid(),
                "healthy": self.moto_healthy(),
            },
            "network": self.network if self.network in self.lab_networks() else None,
            "image": image,
            "failed_regions": failed,
            "regions": {
                region: {"failed": region in failed, "hosts": self.hosts_in_region(region)}
                for region in self.regions
            },
            "hosts": hosts,
        }

    def missing(self, status: dict[str, Any] | None = None) -> list[str]:
        """What keeps the lab from being up, one part a line (empty: it is up).

        moto, the gate, the network and every host container must be up; a failed region's
        hosts count as up while paused (that is what failing a region means)."""
        status = status or self.status()
        parts = []
        moto, gate = status["moto"], status["gate"]
        if not moto["healthy"]:
            if moto["pid"]:
                parts.append(
                    f"moto (pid {moto['pid']}) does not answer on {moto['url']}; "
                    f"see {self.moto_logfile}"
                )
            else:
                parts.append("moto is not running (behind the gate)")
        if not gate["healthy"]:
            if gate["pid"]:
                parts.append(
                    f"the region gate (the lab's AWS endpoint, pid {gate['pid']}) does not "
                    f"answer on {gate['url']}" + ("" if moto["healthy"] else " (moto is down)")
                )
            else:
                parts.append(
                    f"the region gate (the lab's AWS endpoint {gate['url']}) is not running"
                )
        if not status["network"]:
            parts.append(f"the lab network {self.network} does not exist")
        down = [
            f"{self.container(host)} ({state})"
            for host, state in status["hosts"].items()
            if not (state.startswith("running") or state.startswith("paused (region"))
        ]
        if down:
            parts.append("host containers not running: " + ", ".join(down))
        return parts

    def require_up(self) -> None:
        """LabError naming every missing part, unless the lab is up."""
        parts = self.missing()
        if parts:
            raise LabError(
                f"the lab {self.name} is not up: "
                + "; ".join(parts)
                + ". Run `tradeops lab up` (it starts what is missing; `tradeops lab status` shows "
                "the rest)"
            )

    def is_up(self) -> bool:
        """moto, the gate, the network and every host are up; a failed region's hosts
        count as up while paused (that is what failing a region means)."""
        return not self.missing()
