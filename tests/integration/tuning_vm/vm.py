"""The boot-time tuning VM: its cached disk (lab/vm/build.sh) and a qemu process.

The disk is built once per recipe (the hash of lab/vm/build.sh + packages.txt) under the
checkout's .cache/vm/<hash>/; every test boots a copy-on-write overlay of it, so the
cached disk never changes. qemu runs with user-mode networking restricted to the guest
(restrict=on: no traffic leaves it) and only ssh forwarded, on 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..support import ROOT

BUILD = ROOT / "lab" / "vm" / "build.sh"
CACHE = ROOT / ".cache" / "vm"


def recipe_hash() -> str:
    return subprocess.run(
        ["bash", str(BUILD), "--recipe-hash"], capture_output=True, text=True, check=True
    ).stdout.strip()


@dataclass
class Image:
    dir: Path
    built_now: bool
    build_seconds: float

    @property
    def disk(self) -> Path:
        return self.dir / "disk.raw"

    @property
    def key(self) -> Path:
        return self.dir / "id_ed25519"


def image() -> Image:
    """The cached disk of this recipe, built (under a lock) when it is not there."""
    key = recipe_hash()
    out = CACHE / key
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "disk.raw").is_file():
            return Image(out, False, 0.0)
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        proc = subprocess.run(
            ["bash", str(BUILD), str(out)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            shutil.rmtree(out, ignore_errors=True)
            raise RuntimeError(f"lab/vm/build.sh failed:\n{proc.stdout}\n{proc.stderr}")
        return Image(out, True, time.monotonic() - started)


def accelerators() -> list[str]:
    """The accelerators to try, in order: KVM when /dev/kvm is usable, then TCG.

    TRADEOPS_VM_ACCEL=tcg (or kvm) forces one (to measure it, or where KVM misbehaves).
    """
    forced = os.environ.get("TRADEOPS_VM_ACCEL", "")
    if forced:
        return [forced]
    kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
    return [*(["kvm"] if kvm else []), "tcg"]


# Under KVM, SeaBIOS hands over to GRUB, which writes to the serial console, within a
# second or two. A KVM that starts but never runs the guest (nested KVM on some hosts:
# qemu neither fails nor falls back) shows nothing: after this long, TCG is used instead.
KVM_PROBE_SECONDS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class VM:
    """One qemu process booting an overlay of the image; ssh on 127.0.0.1:<port>."""

    image: Image
    workdir: Path
    cpus: int = 4
    memory_mb: int = 2048
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen | None = None
    accel: str = ""
    timings: dict = field(default_factory=dict)

    @property
    def console(self) -> Path:
        return self.workdir / "console.log"

    def cpu_model(self) -> str:
        """The guest CPU for self.accel.

        KVM: the host's CPU, without arch-capabilities (under nested KVM qemu aborts
        setting that MSR: "failed to set MSR 0x10a") and without svm/vmx (no kvm module
        to load in the guest). TCG: qemu64. TCG's "max" model (qemu 7.2) breaks Debian
        12's userland in this guest: writes to /etc fail with EINVAL, mounts "finish
        without a mount", systemd-udevd cannot set up its namespace, so ssh took ~5 min
        to answer instead of ~30 s. Nothing in the scenario needs a newer CPU model.
        """
        return "host,-arch-capabilities,-svm,-vmx" if self.accel == "kvm" else "qemu64"

    def command(self) -> list[str]:
        """qemu's command line for self.accel."""
        half = self.cpus // 2
        node_mb = self.memory_mb // 2
        return [
            "qemu-system-x86_64",
            "-accel", self.accel,
            # pc (i440fx) and -nodefaults: no VGA, AHCI, CD-ROM or parallel port for udev
            # to load drivers for; virtio disk and NIC, and the serial console.
            "-machine", "pc",
            "-nodefaults",
            "-cpu", self.cpu_model(),
            "-smp", f"{self.cpus},sockets=2,cores={half},threads=1",
            "-m", f"{self.memory_mb}M",
            "-object", f"memory-backend-ram,id=m0,size={node_mb}M",
            "-object", f"memory-backend-ram,id=m1,size={node_mb}M",
            "-numa", f"node,nodeid=0,cpus=0-{half - 1},memdev=m0",
            "-numa", f"node,nodeid=1,cpus={half}-{self.cpus - 1},memdev=m1",
            "-drive", f"file={self.workdir / 'overlay.qcow2'},if=virtio,format=qcow2",
            # The guest's side of the user-mode network is in the benchmarking range, like
            # the lab's; restrict=on: nothing leaves it but the forwarded ssh port.
            "-netdev", f"user,id=n0,net=198.19.254.0/24,restrict=on,"
                       f"hostfwd=tcp:127.0.0.1:{self.port}-:22",
            "-device", "virtio-net-pci,netdev=n0",
            "-display", "none",
            "-serial", f"file:{self.console}",
            "-monitor", "none",
            "-pidfile", str(self.workdir / "qemu.pid"),
        ]  # fmt: skip

    def start(self) -> None:
        """Boot an overlay of the image with the first accelerator that runs the guest."""
        candidates = accelerators()
        for accel in candidates:
            self.accel = accel
            overlay = self.workdir / "overlay.qcow2"
            overlay.unlink(missing_ok=True)
            self.console.unlink(missing_ok=True)
            subprocess.run(
                ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                 "-b", str(self.image.disk), str(overlay)],
                check=True,
            )  # fmt: skip
            self._log = open(self.workdir / f"qemu-{accel}.log", "wb")  # noqa: SIM115 - stop()
            self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT)
            if accel != "kvm" or accel == candidates[-1] or self._guest_runs():
                return
            self.stop()

    def _guest_runs(self) -> bool:
        deadline = time.monotonic() + KVM_PROBE_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.console.exists() and self.console.stat().st_size > 0:
                return True
            time.sleep(0.5)
        return False

    def ssh_args(self) -> list[str]:
        return [
            "ssh", "-i", str(self.image.key), "-p", str(self.port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "root@127.0.0.1",
        ]  # fmt: skip

    def ssh(self, command: str, timeout: int = 60) -> str:
        proc = subprocess.run(
            [*self.ssh_args(), command], capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise AssertionError(f"ssh {command!r}: {proc.returncode} {proc.stderr}")
        return proc.stdout

    def wait_for_ssh(self, timeout: float = 300) -> float:
        """Seconds until sshd answers a command."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"qemu exited ({self.proc.returncode}): {self.tail()}")
            try:
                subprocess.run(
                    [*self.ssh_args(), "true"], capture_output=True, timeout=15, check=True
                )
                return time.monotonic() - started
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                time.sleep(1)
        raise RuntimeError(f"the VM's ssh did not answer in {timeout:.0f}s: {self.tail()}")

    def tail(self) -> str:
        parts = []
        for path in (self.workdir / f"qemu-{self.accel}.log", self.console):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def inventory(self) -> Path:
        path = self.workdir / "hosts.yml"
        path.write_text(
            "all:\n  children:\n    tuning_vm:\n      hosts:\n        tuning-vm:\n"
            "          ansible_host: 127.0.0.1\n"
            f"          ansible_port: {self.port}\n"
            "          ansible_user: root\n"
            f"          ansible_ssh_private_key_file: {self.image.key}\n"
            # Ansible's default ssh_args without -C: compressing the already compressed
            # module payloads costs the emulated CPU more than it saves on loopback.
            "          ansible_ssh_args: -o ControlMaster=auto -o ControlPersist=60s\n"
            "          ansible_ssh_common_args: >-\n"
            "            -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n"
            "          ansible_python_interpreter: /usr/bin/python3\n"
        )
        return path

    def cpu_seconds(self) -> float | None:
        """CPU seconds qemu has used (user + system): the emulation's cost, load aside."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        self.proc = None


# The last VM's timings, for the terminal summary (conftest.py).
TIMINGS: dict = {}
